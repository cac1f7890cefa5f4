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
} capfile_t;

static int capfile_read(void *ctx, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err)
{
    capfile_t *c = ctx;
    const char *line;
    size_t len;

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
