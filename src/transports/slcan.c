/*
 * slcan:DEV[@BITRATE][,tty=BAUD][,listen] — a Lawicel/slcan adapter on a serial
 * port (CANable, CANUSB, USBtin, Arduino slcan firmware, python-can's slcan).
 *
 * Open: clear the adapter's command buffer, close the channel (C), set the
 * bitrate (S0..S8), open (O, or L for listen-only). A BEL answer to S or O is
 * fatal: the adapter refused and would not deliver traffic. No answer at all
 * is tolerated with a note (a second host on a pty never answers).
 * While reading: replies are matched to what we sent by kind (z/Z to frames,
 * Fxx to status requests, CR to commands, BEL to the oldest pending item);
 * the adapter's status (F) is asked for once a second so error-warning and
 * error-passive reach bus_state; adapters that refuse F are not asked again.
 * Timestamps: the adapter's millisecond counter (Z1) when it sends one, kept
 * in step with the host clock; else the time the bytes were read.
 * A device that goes away (adapter unplugged, pty closed) makes read and
 * write return BL_EIO with t->down set; bl_transport_reopen() retries.
 */
#include "bmslink/slcan.h"
#include "bmslink/transport.h"
#include "bmslink/tty.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

#define CMD_TIMEOUT_MS 300   /* an adapter answers a command within a few ms */
#define DRAIN_MS 30          /* answers to the CRs that clear the adapter's command buffer */
#define WRITE_TIMEOUT_MS 500 /* how long a write may wait for the serial driver */
#define STATUS_EVERY_MS 1000
#define PEND_MAX 32
#define PEND_EXPIRE_MS 1000  /* a reply later than this is not coming */
#define TS_RESYNC_US 500000u /* adapter time further than this from the host's: re-anchor */
#define EARLY_MAX 256        /* frames kept while the open sequence still waits for answers */

typedef struct {
    char kind;  /* 'f' frame, 'F' status, 'V' version, 'c' other command */
    uint64_t at_ms;
    char text[24];
} pend_t;

typedef struct {
    bl_transport_t *t;
    int fd;
    bl_slcan_cfg_t cfg;
    bl_slcan_rx_t rx;
    size_t len, pos;
    uint64_t read_us;        /* host time of the bytes being parsed */
    pend_t pend[PEND_MAX];
    unsigned phead, pcount;
    bool status_off;         /* adapter refused F or never answered it */
    unsigned status_unanswered;
    uint64_t next_status_ms;
    bool host_noted;
    /* adapter timestamp, unwrapped */
    bool ts_anchored;
    uint32_t ts_last;        /* last raw counter, 0..59999 */
    uint64_t ts_ext_ms;      /* unwrapped adapter time */
    uint64_t ts_anchor_us;   /* host time at ts_anchor_ext */
    uint64_t ts_anchor_ext;
    char version[16];
    bool opening;            /* O (or L) was sent: frames from now on are traffic, even mid-command */
    unsigned nearly;         /* frames that arrived while a command waited for its answer */
    bl_cap_frame_t early[EARLY_MAX];
    uint8_t buf[4096];
} sl_t;

/* ---- URI ---- */

int bl_slcan_parse(const char *spec, bl_slcan_cfg_t *cfg, const char **why)
{
    size_t n = strcspn(spec, "@,");
    const char *p = spec + n;

    memset(cfg, 0, sizeof *cfg);
    cfg->bitrate = 500000;
    cfg->tty_baud = 115200;
    if (n == 0 || n >= sizeof cfg->dev) {
        *why = "expected a serial device (slcan:/dev/ttyACM0@500000)";
        return BL_EINVAL;
    }
    memcpy(cfg->dev, spec, n);
    cfg->dev[n] = '\0';
    if (*p == '@') {
        char *end;
        unsigned long b = strtoul(p + 1, &end, 10);
        if (end == p + 1) {
            *why = "expected a CAN bitrate in bit/s after '@' (e.g. @500000 or @500k)";
            return BL_EINVAL;
        }
        if (*end == 'k' || *end == 'K')
            b *= 1000u, end++;
        else if (*end == 'M')
            b *= 1000000u, end++;
        if (b > UINT32_MAX || bl_slcan_bitrate_code((uint32_t)b) < 0) {
            *why = "slcan bitrates are 10000, 20000, 50000, 100000, 125000, 250000, 500000, 800000, 1000000";
            return BL_EINVAL;
        }
        cfg->bitrate = (uint32_t)b;
        cfg->bitrate_given = true;
        p = end;
    }
    while (*p == ',') {
        p++;
        if (strncmp(p, "listen", 6) == 0 && (p[6] == ',' || p[6] == '\0')) {
            cfg->listen_only = true;
            p += 6;
        } else if (strncmp(p, "tty=", 4) == 0) {
            char *end;
            unsigned long b = strtoul(p + 4, &end, 10);
            if (end == p + 4 || b == 0 || b > 4000000 || (*end != ',' && *end != '\0')) {
                *why = "expected the serial line speed after tty= (e.g. tty=115200)";
                return BL_EINVAL;
            }
            cfg->tty_baud = (uint32_t)b;
            p = end;
        } else {
            *why = "unknown slcan option (known: tty=BAUD, listen)";
            return BL_EINVAL;
        }
    }
    if (*p != '\0') {
        *why = "unexpected characters after the bitrate";
        return BL_EINVAL;
    }
    return 0;
}

/* ---- pending replies ---- */

static void pend_push(sl_t *s, char kind, const char *text, size_t n)
{
    pend_t *e;
    if (s->pcount == PEND_MAX) { /* forget the oldest: its answer is long overdue */
        s->phead = (s->phead + 1) % PEND_MAX;
        s->pcount--;
    }
    e = &s->pend[(s->phead + s->pcount++) % PEND_MAX];
    e->kind = kind;
    e->at_ms = bl_clock_mono_ms();
    if (n > 0 && text[n - 1] == '\r')
        n--;
    if (n >= sizeof e->text)
        n = sizeof e->text - 1;
    memcpy(e->text, text, n);
    e->text[n] = '\0';
}

static void pend_expire(sl_t *s)
{
    uint64_t now = bl_clock_mono_ms();
    while (s->pcount > 0 && now - s->pend[s->phead].at_ms > PEND_EXPIRE_MS) {
        if (s->pend[s->phead].kind == 'F' && ++s->status_unanswered >= 3)
            s->status_off = true; /* not an adapter that answers F (or no adapter at all) */
        s->phead = (s->phead + 1) % PEND_MAX;
        s->pcount--;
    }
}

/* Take the oldest pending item of a kind (0 = any); false when there is none. */
static bool pend_take(sl_t *s, char kind, pend_t *out)
{
    pend_expire(s);
    for (unsigned i = 0; i < s->pcount; i++) {
        unsigned at = (s->phead + i) % PEND_MAX;
        if (kind != 0 && s->pend[at].kind != kind)
            continue;
        *out = s->pend[at];
        for (unsigned j = i; j + 1 < s->pcount; j++) /* close the gap, keep the order */
            s->pend[(s->phead + j) % PEND_MAX] = s->pend[(s->phead + j + 1) % PEND_MAX];
        s->pcount--;
        return true;
    }
    return false;
}

/* ---- bytes ---- */

static void gone(sl_t *s, long e)
{
    if (!s->t->down)
        bl_transport_note(s->t, "%s went away (%s): adapter unplugged or the other end closed",
                          s->cfg.dev, strerror((int)-e));
    s->t->down = true;
}

/* Read what is there within timeout_ms: > 0 bytes, 0 nothing, -EINTR a signal, other < 0 -errno. */
static long fill(sl_t *s, int timeout_ms)
{
    struct pollfd p = { .fd = s->fd, .events = POLLIN };
    ssize_t n;
    int rc = poll(&p, 1, timeout_ms);

    if (rc == 0)
        return 0;
    if (rc < 0)
        return -errno; /* -EINTR: a signal, the caller decides */
    if ((p.revents & (POLLHUP | POLLERR | POLLNVAL)) && !(p.revents & POLLIN))
        return -EIO;
    n = read(s->fd, s->buf, sizeof s->buf);
    if (n < 0)
        return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
    if (n == 0)
        return -EIO; /* end of file on a tty: the other side is gone */
    s->len = (size_t)n;
    s->pos = 0;
    s->read_us = bl_clock_wall_us();
    return n;
}

static int send_line(sl_t *s, const char *line, size_t n)
{
    long w = bl_tty_write(s->fd, line, n, WRITE_TIMEOUT_MS);
    if (w == (long)n)
        return 0;
    if (w == -ETIMEDOUT) {
        snprintf(s->t->err, sizeof s->t->err, "%s: serial line stalled for %d ms", s->cfg.dev, WRITE_TIMEOUT_MS);
        return BL_EAGAIN;
    }
    gone(s, w < 0 ? w : -EIO);
    return BL_EIO;
}

/* ---- events ---- */

static uint64_t frame_time(sl_t *s, const bl_slcan_event_t *ev)
{
    uint64_t ts;
    if (!ev->has_ts)
        return s->read_us;
    if (!s->ts_anchored) {
        s->ts_anchored = true;
        s->ts_last = ev->ts_ms;
        s->ts_ext_ms = 0;
        s->ts_anchor_ext = 0;
        s->ts_anchor_us = s->read_us;
        s->t->ts_source = "adapter";
        return s->read_us;
    }
    s->ts_ext_ms += (ev->ts_ms + 60000u - s->ts_last) % 60000u;
    s->ts_last = ev->ts_ms;
    ts = s->ts_anchor_us + (s->ts_ext_ms - s->ts_anchor_ext) * 1000u;
    /* a frame cannot arrive after it was read; a gap over a minute hides wraps */
    if (ts > s->read_us || s->read_us - ts > TS_RESYNC_US) {
        s->ts_anchor_us = s->read_us;
        s->ts_anchor_ext = s->ts_ext_ms;
        ts = s->read_us;
    }
    return ts;
}

static void on_status(sl_t *s, uint8_t st)
{
    s->status_unanswered = 0;
    if (st & BL_SLCAN_ST_OVERRUN) {
        s->t->stats.rx_drop++;
        bl_transport_note(s->t, "adapter reports a data overrun: frames were lost");
    }
    if ((st & BL_SLCAN_ST_BUS_ERROR) && !(s->t->err_classes & BL_CANERR_BUSERROR)) {
        s->t->err_classes |= BL_CANERR_BUSERROR;
        bl_transport_note(s->t, "adapter reports bus errors (bitrate, wiring or termination?)");
    }
    bl_transport_set_bus_state(s->t, bl_slcan_status_state(st));
}

static void on_bel(sl_t *s)
{
    pend_t p;
    s->t->stats.nak++;
    if (!pend_take(s, 0, &p)) {
        bl_transport_note(s->t, "adapter answered BEL to nothing we sent");
        return;
    }
    if (p.kind == 'f') {
        s->t->stats.tx_fail++;
        bl_transport_note(s->t, "adapter refused frame %s (BEL): channel closed, queue full or bus-off?", p.text);
    } else if (p.kind == 'F') {
        s->status_off = true; /* this adapter has no status command */
    } else {
        bl_transport_note(s->t, "adapter refused command %s (BEL)", p.text);
    }
}

/* 1 frame in *f, 0 nothing yet, BL_EBADMSG a bad line (err says why) */
static int handle(sl_t *s, const bl_slcan_event_t *ev, bl_cap_frame_t *f, bl_line_err_t *err)
{
    pend_t p;
    switch (ev->kind) {
    case BL_SLCAN_FRAME:
        s->t->line++;
        memset(f, 0, sizeof *f);
        f->f = ev->frame;
        f->ts_us = frame_time(s, ev);
        f->has_ts = 1;
        f->dir = 'R';
        memcpy(f->bus, s->t->bus, sizeof f->bus);
        return 1;
    case BL_SLCAN_BAD:
        s->t->line++;
        err->why = ev->why;
        err->what = ev->what;
        err->col = ev->col;
        return BL_EBADMSG;
    case BL_SLCAN_BEL:
        on_bel(s);
        return 0;
    case BL_SLCAN_TX_ACK:
        (void)pend_take(s, 'f', &p);
        return 0;
    case BL_SLCAN_STATUS:
        (void)pend_take(s, 'F', &p);
        on_status(s, ev->status);
        return 0;
    case BL_SLCAN_INFO:
        if (pend_take(s, 'V', &p))
            snprintf(s->version, sizeof s->version, "%s", ev->text);
        return 0;
    case BL_SLCAN_OK:
        (void)pend_take(s, 'c', &p);
        return 0;
    case BL_SLCAN_HOST_CMD:
        if (!s->host_noted) {
            s->host_noted = true;
            bl_transport_note(s->t, "another slcan host shares this line (it sent '%s'); its commands are skipped",
                              ev->text);
        }
        return 0;
    default:
        return 0;
    }
}

static void ask_status(sl_t *s)
{
    uint64_t now = bl_clock_mono_ms();
    if (s->status_off || now < s->next_status_ms)
        return;
    s->next_status_ms = now + STATUS_EVERY_MS;
    if (send_line(s, "F\r", 2) == 0)
        pend_push(s, 'F', "F", 1);
}

static int sl_read(void *ctx, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err)
{
    sl_t *s = ctx;
    uint64_t deadline = timeout_ms > 0 ? bl_clock_mono_ms() + (uint64_t)timeout_ms : 0;

    if (s->nearly > 0) { /* traffic that arrived while the channel was being opened */
        *f = s->early[0];
        memmove(s->early, s->early + 1, sizeof s->early[0] * --s->nearly);
        return 1;
    }

    for (;;) {
        while (s->pos < s->len) {
            bl_slcan_event_t ev;
            s->pos += bl_slcan_push(&s->rx, s->buf + s->pos, s->len - s->pos, &ev);
            int rc = handle(s, &ev, f, err);
            if (rc != 0)
                return rc;
        }
        if (s->t->down)
            return BL_EIO;
        ask_status(s);
        int wait = timeout_ms;
        if (timeout_ms > 0) {
            uint64_t now = bl_clock_mono_ms();
            wait = now >= deadline ? 0 : (int)(deadline - now);
        }
        if (s->t->down)
            return BL_EIO;
        long n = fill(s, wait > STATUS_EVERY_MS || wait < 0 ? STATUS_EVERY_MS : wait);
        if (n == -EINTR)
            return 0;
        if (n < 0) {
            gone(s, n);
            return BL_EIO;
        }
        if (n == 0 && (timeout_ms == 0 || (timeout_ms > 0 && bl_clock_mono_ms() >= deadline)))
            return 0;
    }
}

static int sl_write(void *ctx, const bl_cap_frame_t *cf)
{
    sl_t *s = ctx;
    char line[BL_SLCAN_LINE_MAX];
    int n;

    if (s->cfg.listen_only) {
        snprintf(s->t->err, sizeof s->t->err, "opened listen-only (,listen): cannot send");
        return BL_ENOTSUP;
    }
    n = bl_slcan_format(&cf->f, line, sizeof line);
    if (n < 0) {
        snprintf(s->t->err, sizeof s->t->err, "slcan cannot carry this frame (error frame, id or length out of range)");
        return BL_EINVAL;
    }
    int rc = send_line(s, line, (size_t)n);
    if (rc == 0)
        pend_push(s, 'f', line, (size_t)n);
    return rc;
}

/* Send a command and wait for its answer: 1 ok, 0 no answer, BL_EBADMSG BEL, BL_EIO gone. */
static int command(sl_t *s, const char *cmd)
{
    char line[16];
    int n = snprintf(line, sizeof line, "%s\r", cmd);
    uint64_t deadline = bl_clock_mono_ms() + CMD_TIMEOUT_MS;

    if (send_line(s, line, (size_t)n) < 0)
        return BL_EIO;
    for (;;) {
        while (s->pos < s->len) {
            bl_slcan_event_t ev;
            s->pos += bl_slcan_push(&s->rx, s->buf + s->pos, s->len - s->pos, &ev);
            if (ev.kind == BL_SLCAN_OK)
                return 1;
            if (ev.kind == BL_SLCAN_BEL)
                return BL_EBADMSG;
            if (ev.kind == BL_SLCAN_INFO && cmd[0] == 'V') {
                snprintf(s->version, sizeof s->version, "%s", ev.text);
                return 1;
            }
            if (ev.kind == BL_SLCAN_FRAME && s->opening) {
                bl_cap_frame_t f;
                bl_line_err_t e;
                if (s->nearly < EARLY_MAX && handle(s, &ev, &f, &e) == 1)
                    s->early[s->nearly++] = f;
                else
                    s->t->stats.rx_drop++;
            }
            /* before O: frames of an earlier session, acks of old frames: not ours */
        }
        uint64_t now = bl_clock_mono_ms();
        if (now >= deadline)
            return 0;
        long r = fill(s, (int)(deadline - now));
        if (r < 0 && r != -EINTR) {
            gone(s, r);
            return BL_EIO;
        }
    }
}

/* Read and drop whatever arrives within ms. 0, or BL_EIO when the device is gone. */
static int drain(sl_t *s, int ms)
{
    uint64_t deadline = bl_clock_mono_ms() + (uint64_t)ms;
    for (uint64_t now = bl_clock_mono_ms(); now < deadline; now = bl_clock_mono_ms()) {
        long r = fill(s, (int)(deadline - now));
        if (r < 0 && r != -EINTR) {
            gone(s, r);
            return BL_EIO;
        }
    }
    s->len = s->pos = 0;
    bl_slcan_rx_init(&s->rx);
    return 0;
}

static void sl_close(void *ctx)
{
    sl_t *s = ctx;
    if (!s->t->down)
        (void)command(s, "C");
    close(s->fd);
    free(s);
}

static const bl_transport_ops_t sl_ops = { sl_read, sl_write, sl_close };

static int open_fail(sl_t *s, int rc, char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int open_fail(sl_t *s, int rc, char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
    return rc;
}

static const char *open_hint(int e)
{
    switch (e) {
    case ENOENT: return " (is the adapter plugged in? ls /dev/serial/by-id)";
    case EACCES: return " (add yourself to the dialout group, or run as root)";
    case ENOTTY: return " (not a serial port)";
    case EINVAL: return " (the serial driver does not take that line speed)";
    default: return "";
    }
}

int bl_slcan_open(bl_transport_t *t, const char *spec, char *errbuf, size_t errlen)
{
    const char *why;
    bl_tty_cfg_t tc;
    sl_t *s;
    char cmd[4];
    int rc;

    if ((s = calloc(1, sizeof *s)) == NULL)
        return BL_ENOMEM;
    s->fd = -1;
    s->t = t;
    if (bl_slcan_parse(spec, &s->cfg, &why) < 0)
        return open_fail(s, BL_EINVAL, errbuf, errlen, "%s", why);
    bl_slcan_rx_init(&s->rx);
    memset(&tc, 0, sizeof tc);
    snprintf(tc.dev, sizeof tc.dev, "%s", s->cfg.dev);
    tc.baud = s->cfg.tty_baud;
    tc.data_bits = 8;
    tc.parity = 'N';
    tc.stop_bits = 1;
    s->fd = bl_tty_open(&tc, false, NULL);
    if (s->fd < 0) {
        int e = -s->fd;
        s->fd = -1;
        return open_fail(s, e == EBUSY ? BL_EBUSY : BL_EIO, errbuf, errlen, "%s: %s%s", s->cfg.dev, strerror(e),
                         open_hint(e));
    }
    /* Another program reading the same adapter would steal half the bytes of every line. */
    if (flock(s->fd, LOCK_EX | LOCK_NB) < 0)
        return open_fail(s, BL_EBUSY, errbuf, errlen, "%s: device busy: another program has it open (%s)", s->cfg.dev,
                         strerror(errno));
    (void)tcflush(s->fd, TCIOFLUSH); /* stale bytes from a previous session */
    t->ops = &sl_ops;
    t->ctx = s;
    t->kind = "slcan";
    t->live = true;
    t->fd = s->fd;
    t->ts_source = "host";
    t->bitrate = s->cfg.bitrate;
    snprintf(t->bus, sizeof t->bus, "slcan0");

    /* Three CRs end any half-typed command in the adapter; their answers are dropped. */
    if (send_line(s, "\r\r\r", 3) < 0 || drain(s, DRAIN_MS) < 0)
        goto gone;
    rc = command(s, "C"); /* BEL here means "was not open": fine */
    if (rc == BL_EIO)
        goto gone;
    bool silent = rc == 0;
    snprintf(cmd, sizeof cmd, "S%d", bl_slcan_bitrate_code(s->cfg.bitrate));
    rc = command(s, cmd);
    if (rc == BL_EIO)
        goto gone;
    if (rc == BL_EBADMSG) {
        t->ops = NULL;
        return open_fail(s, BL_EIO, errbuf, errlen, "%s: adapter refused %s (%u bit/s) with BEL", s->cfg.dev, cmd,
                         (unsigned)s->cfg.bitrate);
    }
    silent = silent && rc == 0;
    /* the version while the channel is still closed: no traffic waits behind the answer */
    if (!silent && command(s, "V") == 1 && s->version[0] != '\0')
        snprintf(t->info, sizeof t->info, "adapter version %s", s->version);
    s->opening = true;
    rc = command(s, s->cfg.listen_only ? "L" : "O");
    if (rc == BL_EIO)
        goto gone;
    if (rc == BL_EBADMSG) {
        t->ops = NULL;
        return open_fail(s, BL_EIO, errbuf, errlen, "%s: adapter refused to open the channel (%s answered BEL)",
                         s->cfg.dev, s->cfg.listen_only ? "L" : "O");
    }
    silent = silent && rc == 0;
    if (silent) {
        s->status_off = true;
        bl_transport_note(t, "%s: no answer to C, %s, O: not a Lawicel adapter, or another host; listening anyway",
                          s->cfg.dev, cmd);
    }
    return 0;
gone:
    t->ops = NULL;
    return open_fail(s, BL_EIO, errbuf, errlen, "%s: the device went away while opening the channel", s->cfg.dev);
}
