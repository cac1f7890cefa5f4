/* URI dispatch, the capture-file backend, and what every backend shares: counting,
 * bus state, recording. */
#include "bmslink/transport.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- clocks ---- */

uint64_t bl_clock_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t bl_clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bl_clock_mono_ms(void)
{
    return bl_clock_mono_ns() / 1000000u;
}

/* ---- capture files (and pipes) ---- */

typedef struct {
    bl_linereader_t lr;
    bl_capture_t cap;
    bl_transport_t *t;
    /* ---- issue #12: binary captures ---- */
    uint8_t mode;   /* 0 not known yet, 1 lines, 2 records (pcap, pcapng), 3 binary of no known format */
    bool dead;      /* a binary capture whose record lengths were lost, or that ended mid-record */
    uint64_t off;   /* file offset of lr.buf[lr.pos] in record mode */
    bl_pcap_t pcap;
} capfile_t;

/* Wait up to timeout_ms for bytes on a live source. 1 readable, 0 not (or a signal), BL_EIO. */
static int wait_bytes(capfile_t *c, int timeout_ms)
{
    struct pollfd p = { .fd = c->lr.fd, .events = POLLIN };
    int rc = poll(&p, 1, timeout_ms);
    if (rc == 0 || (rc < 0 && errno == EINTR))
        return 0;
    if (rc < 0) {
        snprintf(c->t->err, sizeof c->t->err, "poll: %s", strerror(errno));
        return BL_EIO;
    }
    return 1;
}

/* A NUL, or more than 1 in 32 control bytes other than tab, CR, LF, FF, in the first 512:
 * no text capture looks like that (UTF-8 comments are fine: bytes >= 0x80 count as text). */
static bool looks_binary(const uint8_t *b, size_t n)
{
    size_t ctl = 0;
    if (n > 512)
        n = 512;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == 0)
            return true;
        if ((b[i] < 0x20 && b[i] != '\t' && b[i] != '\r' && b[i] != '\n' && b[i] != '\f') || b[i] == 0x7f)
            ctl++;
    }
    return ctl * 32u > n;
}

/* Text or records? A forced format says; else the first four bytes (a pcap or pcapng magic).
 * 1 decided, 0 not yet (a live source with nothing to read), BL_EIO. */
static int decide_mode(capfile_t *c, int timeout_ms)
{
    if (c->t->fmt != BL_FMT_AUTO) {
        c->mode = bl_capfmt_binary(c->t->fmt) ? 2 : 1;
    } else {
        while (c->lr.len - c->lr.pos < 4 && !c->lr.eof) {
            ssize_t n;
            int rc;
            if (c->t->live && (rc = wait_bytes(c, timeout_ms)) <= 0)
                return rc;
            n = bl_lr_fill(&c->lr, 4, c->t->live);
            if (n < 0) {
                snprintf(c->t->err, sizeof c->t->err, "read: %s", strerror((int)-n));
                return BL_EIO;
            }
        }
        c->mode = bl_pcap_sniff((const uint8_t *)c->lr.buf + c->lr.pos, c->lr.len - c->lr.pos) != BL_FMT_AUTO ? 2 : 1;
        /* Control bytes at the start: binary data of a format bmslink does not read (BLF, MF4,
         * a zip...). Said once, at offset 0, instead of a malformed line for every few bytes. */
        if (c->mode == 1 && looks_binary((const uint8_t *)c->lr.buf + c->lr.pos, c->lr.len - c->lr.pos))
            c->mode = 3;
    }
    c->t->binary = c->mode >= 2;
    if (c->mode == 2)
        c->t->cap_fmt = bl_pcap_sniff((const uint8_t *)c->lr.buf + c->lr.pos, c->lr.len - c->lr.pos);
    return 1;
}

static int record_fail(capfile_t *c, bl_line_err_t *err, const char *what)
{
    c->dead = true;
    c->t->offset = c->off;
    err->why = BL_REJ_SYNTAX;
    err->what = what;
    err->col = 0;
    return BL_EBADMSG;
}

/* pcap / pcapng: bl_pcap_next on the bytes the line reader buffers */
static int capfile_read_records(capfile_t *c, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err)
{
    for (;;) {
        size_t avail = c->lr.len - c->lr.pos, adv = 0;
        int rc;

        if (c->dead)
            return BL_ENOENT;
        rc = bl_pcap_next(&c->pcap, (const uint8_t *)c->lr.buf + c->lr.pos, avail, &adv, f, err);
        if (rc == BL_EAGAIN) {
            ssize_t n;
            if (c->lr.eof) {
                if (avail == 0 && c->pcap.kind != 0)
                    return BL_ENOENT;
                return record_fail(c, err, c->pcap.kind == 0 ? "file too short for a pcap or pcapng header"
                                                             : "the file ends inside a record (a truncated capture)");
            }
            if (c->t->live && (rc = wait_bytes(c, timeout_ms)) <= 0)
                return rc;
            n = bl_lr_fill(&c->lr, adv, c->t->live);
            if (n < 0) {
                snprintf(c->t->err, sizeof c->t->err, "read: %s", strerror((int)-n));
                return BL_EIO;
            }
            continue;
        }
        c->t->offset = c->off;
        c->t->line = c->pcap.packets;
        if (rc == BL_EBADMSG && adv == 0) {
            c->dead = true; /* the record lengths cannot be trusted from here on */
            return rc;
        }
        c->off += adv;
        {
            int sk = bl_lr_skip(&c->lr, adv);
            if (sk < 0) {
                snprintf(c->t->err, sizeof c->t->err, "read: %s", strerror(-sk));
                return BL_EIO;
            }
            if (sk == 1 && rc >= 0)
                return record_fail(c, err, "the file ends inside a record (a truncated capture)");
        }
        if (rc != 0)
            return rc;
    }
}

static int capfile_read(void *ctx, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err)
{
    capfile_t *c = ctx;
    const char *line;
    size_t len;

    if (c->mode == 0) {
        int rc = decide_mode(c, timeout_ms);
        if (rc <= 0)
            return rc;
    }
    if (c->mode == 2)
        return capfile_read_records(c, f, timeout_ms, err);
    if (c->mode == 3) {
        if (c->dead)
            return BL_ENOENT;
        return record_fail(c, err, "binary data that is not a pcap or pcapng capture (text captures and those two are read)");
    }
    for (;;) {
        int rc;
        /* A pipe or FIFO is live: wait for a whole line no longer than asked. A
         * writer that stops mid-line is rare (candump writes whole lines). */
        if (c->t->live && !bl_lr_ready(&c->lr)) {
            struct pollfd p = { .fd = c->lr.fd, .events = POLLIN };
            rc = poll(&p, 1, timeout_ms);
            if (rc == 0 || (rc < 0 && errno == EINTR))
                return 0;
            if (rc < 0) {
                snprintf(c->t->err, sizeof c->t->err, "poll: %s", strerror(errno));
                return BL_EIO;
            }
        }
        rc = bl_lr_next(&c->lr, &line, &len);
        if (rc == 0)
            return BL_ENOENT;
        if (rc < 0) {
            snprintf(c->t->err, sizeof c->t->err, "read: %s", strerror(-rc));
            return BL_EIO;
        }
        c->t->line = c->lr.line;
        if (c->lr.too_long) {
            err->why = BL_REJ_TOO_LONG;
            err->what = "line longer than 4096 bytes (binary data?)";
            err->col = BL_LINE_MAX;
            return BL_EBADMSG;
        }
        rc = bl_capture_parse(&c->cap, line, len, f, err);
        c->t->cap_fmt = c->cap.fmt;
        if (rc == 0)
            continue;
        if (rc < 0)
            return BL_EBADMSG;
        return 1;
    }
}

static void capfile_close(void *ctx)
{
    capfile_t *c = ctx;
    bl_lr_close(&c->lr);
    free(c);
}

static const bl_transport_ops_t capfile_ops = { capfile_read, NULL, capfile_close };

static int open_file(bl_transport_t *t, const char *path, unsigned fmt, char *errbuf, size_t errlen)
{
    capfile_t *c = calloc(1, sizeof *c);
    struct stat st;
    int rc;

    if (c == NULL)
        return BL_ENOMEM;
    rc = bl_lr_open(&c->lr, path);
    if (rc < 0) {
        snprintf(errbuf, errlen, "%s", strerror(-rc));
        free(c);
        return BL_EIO;
    }
    if (fstat(c->lr.fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(errbuf, errlen, "is a directory");
        bl_lr_close(&c->lr);
        free(c);
        return BL_EIO;
    }
    bl_capture_init(&c->cap, (bl_capfmt_t)fmt);
    bl_pcap_init(&c->pcap);
    c->t = t;
    t->ops = &capfile_ops;
    t->ctx = c;
    t->kind = "file";
    t->ts_source = "capture";
    /* a regular file is replayed as fast as it reads; anything else (a pipe
     * from candump, a FIFO, a terminal) is a live source */
    t->live = fstat(c->lr.fd, &st) == 0 && !S_ISREG(st.st_mode);
    t->fd = t->live ? c->lr.fd : -1;
    return 0;
}

/* ---- dispatch ---- */

static const struct {
    const char *scheme;
    bl_transport_open_fn open;
} backends[] = {
    { "socketcan", bl_socketcan_open },
    { "slcan", bl_slcan_open },
    { "virtual", bl_vbus_open },
    /* ---- more backends: add yours on its own line below ---- */
};

/* Schemes of CLI.md this build may lack. */
static const char *const known_schemes[] = { "socketcan", "slcan", "serial", "modbus-rtu", "modbus-tcp", "virtual",
                                             "sim" };

const char *bl_transport_where(const bl_transport_t *t, char *buf, size_t n)
{
    if (t->binary)
        snprintf(buf, n, "%s:offset %llu", t->uri, (unsigned long long)t->offset);
    else if (t->line > 0 && strcmp(t->kind ? t->kind : "", "file") == 0)
        snprintf(buf, n, "%s:%llu", t->uri, (unsigned long long)t->line);
    else
        snprintf(buf, n, "%s", t->uri);
    return buf;
}

const char *bl_transport_scheme(const char *uri)
{
    for (size_t i = 0; i < BL_ARRAY_LEN(known_schemes); i++) {
        size_t n = strlen(known_schemes[i]);
        if (strncmp(uri, known_schemes[i], n) == 0 && uri[n] == ':')
            return known_schemes[i];
    }
    return "file";
}

int bl_transport_open(bl_transport_t *t, const char *uri, unsigned fmt, char *errbuf, size_t errlen)
{
    const char *scheme = bl_transport_scheme(uri);
    int rc;

    memset(t, 0, sizeof *t);
    t->fd = -1;
    t->fmt = fmt;
    if (strlen(uri) >= sizeof t->uri) {
        snprintf(errbuf, errlen, "URI longer than %zu characters", sizeof t->uri - 1);
        return BL_EINVAL;
    }
    snprintf(t->uri, sizeof t->uri, "%s", uri);
    if (errlen)
        errbuf[0] = '\0';
    if (strncmp(uri, "file:", 5) == 0)
        return open_file(t, uri + 5, fmt, errbuf, errlen);
    if (strcmp(scheme, "file") == 0)
        return open_file(t, uri, fmt, errbuf, errlen);
    for (size_t i = 0; i < BL_ARRAY_LEN(backends); i++)
        if (strcmp(scheme, backends[i].scheme) == 0) {
            rc = backends[i].open(t, uri + strlen(scheme) + 1, errbuf, errlen);
            if (rc < 0) {
                t->ops = NULL;
                t->ctx = NULL;
            }
            return rc;
        }
    snprintf(errbuf, errlen, "this build cannot open %s: sources yet", scheme);
    return BL_ENOTSUP;
}

int bl_transport_reopen(bl_transport_t *t, char *errbuf, size_t errlen)
{
    bl_transport_t keep = *t;
    char uri[sizeof t->uri];
    int rc;

    snprintf(uri, sizeof uri, "%s", t->uri);
    bl_transport_close(t);
    rc = bl_transport_open(t, uri, keep.fmt, errbuf, errlen);
    t->stats = keep.stats;
    t->notify = keep.notify;
    t->notify_user = keep.notify_user;
    t->rec = keep.rec;
    t->err_classes = keep.err_classes;
    if (rc < 0) {
        t->ops = NULL;
        t->ctx = NULL;
        t->down = true;
        snprintf(t->err, sizeof t->err, "%s", errbuf);
        return rc;
    }
    t->stats.reconnects++;
    bl_transport_note(t, "reconnected");
    return 0;
}

void bl_transport_set_recorder(bl_transport_t *t, bl_recorder_t *rec)
{
    t->rec = rec;
}

/* ---- shared accounting ---- */

void bl_transport_note(bl_transport_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof t->err, fmt, ap);
    va_end(ap);
    if (t->notify != NULL)
        t->notify(t->notify_user, t, t->err);
}

void bl_transport_set_bus_state(bl_transport_t *t, bl_bus_state_t s)
{
    bl_bus_state_t old = (bl_bus_state_t)t->bus_state;

    if (s == old || s == BL_CANST_UNKNOWN)
        return;
    t->bus_state = (uint8_t)s;
    if (s == BL_CANST_WARNING)
        t->stats.warning++;
    else if (s == BL_CANST_PASSIVE)
        t->stats.passive++;
    else if (s == BL_CANST_BUS_OFF)
        t->stats.bus_off++;
    if (old == BL_CANST_UNKNOWN && s == BL_CANST_ACTIVE)
        return; /* the first all-clear is not news */
    if (s == BL_CANST_BUS_OFF)
        bl_transport_note(t, "bus-off: the controller stopped (too many errors: wiring, termination or bitrate?)");
    else
        bl_transport_note(t, "bus state %s (was %s)", bl_bus_state_str(s), bl_bus_state_str(old));
}

void bl_transport_error_frame(bl_transport_t *t, const bl_can_frame_t *f)
{
    bl_canerr_t e;
    uint32_t fresh;

    if (bl_canerr_parse(f, &e) < 0)
        return;
    t->stats.rx_err_frames++;
    if (e.overflow)
        t->stats.rx_drop++;
    fresh = e.classes & ~t->err_classes & ~(uint32_t)(BL_CANERR_CRTL | BL_CANERR_BUSOFF | BL_CANERR_RESTARTED |
                                                      BL_CANERR_CNT);
    t->err_classes |= e.classes;
    for (uint32_t b = 1; fresh != 0 && b < (1u << BL_CANERR_NCLASSES); b <<= 1)
        if (fresh & b) {
            const char *why = b == BL_CANERR_ACK ? " (nobody acknowledged: alone on the bus, or wrong bitrate)"
                              : b == BL_CANERR_PROT ? " (bit, form or stuff errors: bitrate or wiring?)"
                                                      : "";
            bl_transport_note(t, "error frame: %s%s", bl_canerr_class_str(b), why);
        }
    if (e.overflow)
        bl_transport_note(t, "controller buffer overflow: frames were lost");
    bl_transport_set_bus_state(t, (bl_bus_state_t)e.state);
}

void bl_transport_bad(bl_transport_t *t, bl_reject_t why)
{
    t->stats.rx_bad++;
    if ((unsigned)why < BL_REJ_COUNT)
        t->stats.bad[why]++;
}

/* ---- the calls every verb makes ---- */

int bl_transport_read(bl_transport_t *t, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err)
{
    bl_line_err_t dummy;
    int rc;

    if (err == NULL)
        err = &dummy;
    if (t->ops == NULL) {
        snprintf(t->err, sizeof t->err, "not open");
        return BL_EIO;
    }
    rc = t->ops->read(t->ctx, f, timeout_ms, err);
    if (rc == 1) {
        t->stats.rx++;
        if (f->f.flags & BL_CAN_ERR)
            bl_transport_error_frame(t, &f->f);
        if (t->rec != NULL)
            bl_recorder_add(t->rec, f);
    } else if (rc == BL_EBADMSG) {
        bl_transport_bad(t, err->why);
    }
    if (t->rec != NULL && rc != 1)
        bl_recorder_tick(t->rec); /* idle: a good moment to write out */
    return rc;
}

int bl_transport_write(bl_transport_t *t, const bl_cap_frame_t *f)
{
    int rc;

    if (t->ops == NULL) {
        snprintf(t->err, sizeof t->err, "not open");
        return BL_EIO;
    }
    if (t->ops->write == NULL) {
        snprintf(t->err, sizeof t->err, "a %s source is read-only", t->kind);
        return BL_ENOTSUP;
    }
    rc = t->ops->write(t->ctx, f);
    if (rc == 0) {
        t->stats.tx++;
        if (t->rec != NULL) {
            bl_cap_frame_t c = *f;
            c.ts_us = bl_clock_wall_us();
            c.has_ts = 1;
            c.dir = 'T';
            memcpy(c.bus, t->bus, sizeof c.bus);
            bl_recorder_add(t->rec, &c);
        }
    } else {
        t->stats.tx_fail++;
    }
    return rc;
}

void bl_transport_close(bl_transport_t *t)
{
    if (t->ops != NULL && t->ops->close != NULL)
        t->ops->close(t->ctx);
    if (t->rec != NULL)
        bl_recorder_flush(t->rec);
    t->ops = NULL;
    t->ctx = NULL;
    t->fd = -1;
}
