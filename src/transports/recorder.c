/* --record FILE: every frame a transport reads or writes, as candump -L lines (can-utils'
 * canplayer, log2asc and python-can's CanutilsLogReader read them), or in the format FILE's
 * extension names (.asc, .trc, .csv, .pcap, .pcapng: issue #12). bmslink convert writes
 * through the same recorder. */
#include "bmslink/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REC_BUF (64u * 1024u)
#define REC_FLUSH_MS 500u

struct bl_recorder {
    int fd;
    bool own_fd;
    int err;           /* first failed write: -errno, latched */
    unsigned flags;    /* BL_REC_* */
    char path[256];
    uint64_t frames;   /* handed to bl_recorder_add */
    uint64_t pending;  /* frames in buf */
    uint64_t lost;     /* frames that never reached the file */
    uint64_t last_ms;  /* last write-out */
    bl_capw_t w;
    size_t n;
    uint8_t buf[REC_BUF];
};

unsigned bl_capfmt_by_ext(const char *path, unsigned *ver)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    static const struct {
        const char *ext;
        unsigned fmt, ver;
    } exts[] = { { "log", BL_FMT_CANDUMP_LOG, 0 }, { "candump", BL_FMT_CANDUMP_LOG, 0 }, { "asc", BL_FMT_ASC, 0 },
                 { "trc", BL_FMT_TRC, 21 },         { "csv", BL_FMT_GVRET, 0 },          { "pcap", BL_FMT_PCAP, 0 },
                 { "cap", BL_FMT_PCAP, 0 },         { "pcapng", BL_FMT_PCAPNG, 0 },      { "ntar", BL_FMT_PCAPNG, 0 } };

    if (ver != NULL)
        *ver = 0;
    if (dot == NULL || (slash != NULL && dot < slash))
        return BL_FMT_COUNT;
    for (size_t i = 0; i < BL_ARRAY_LEN(exts); i++)
        if (strcasecmp(dot + 1, exts[i].ext) == 0) {
            if (ver != NULL)
                *ver = exts[i].ver;
            return exts[i].fmt;
        }
    return BL_FMT_COUNT;
}

bl_recorder_t *bl_recorder_open_fmt(const char *path, unsigned fmt, unsigned ver, unsigned flags, char *errbuf,
                                    size_t errlen)
{
    bl_recorder_t *r = malloc(sizeof *r);

    if (r == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    memset(r, 0, offsetof(bl_recorder_t, buf));
    if (bl_capw_init(&r->w, (bl_capfmt_t)fmt, ver) < 0) {
        snprintf(errbuf, errlen, "bmslink cannot write %s captures", bl_capfmt_str(fmt));
        free(r);
        return NULL;
    }
    if (strcmp(path, "-") == 0) {
        r->fd = 1;
    } else {
        r->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (r->fd < 0) {
            snprintf(errbuf, errlen, "%s", strerror(errno));
            free(r);
            return NULL;
        }
        r->own_fd = true;
    }
    r->flags = flags;
    snprintf(r->path, sizeof r->path, "%s", path);
    r->last_ms = bl_clock_mono_ms();
    return r;
}

bl_recorder_t *bl_recorder_open(const char *path, char *errbuf, size_t errlen)
{
    unsigned ver, fmt = bl_capfmt_by_ext(path, &ver);
    if (fmt == BL_FMT_COUNT)
        fmt = BL_FMT_CANDUMP_LOG; /* any other name: candump -L, as before */
    return bl_recorder_open_fmt(path, fmt, ver, 0, errbuf, errlen);
}

static void write_out(bl_recorder_t *r, size_t *done)
{
    while (*done < r->n && r->err == 0) {
        ssize_t w = write(r->fd, r->buf + *done, r->n - *done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            r->err = w < 0 ? -errno : -EIO;
        else
            *done += (size_t)w;
    }
}

int bl_recorder_flush(bl_recorder_t *r)
{
    size_t done = 0;

    if (r == NULL)
        return 0;
    r->last_ms = bl_clock_mono_ms();
    write_out(r, &done);
    if (r->err != 0)
        r->lost += r->pending; /* frames of a buffer that did not make it whole */
    r->n = 0;
    r->pending = 0;
    return r->err;
}

void bl_recorder_tick(bl_recorder_t *r)
{
    if (r != NULL && r->n > 0 && !(r->flags & BL_REC_CAPTURE_TIME) && bl_clock_mono_ms() - r->last_ms >= REC_FLUSH_MS)
        bl_recorder_flush(r);
}

void bl_recorder_add(bl_recorder_t *r, const bl_cap_frame_t *f)
{
    bl_cap_frame_t c;
    int k;

    if (r == NULL)
        return;
    r->frames++;
    if (r->err != 0) {
        r->lost++;
        return;
    }
    if (r->n + BL_CAPW_ROOM > sizeof r->buf)
        bl_recorder_flush(r);
    c = *f;
    if (!c.has_ts && !(r->flags & BL_REC_CAPTURE_TIME)) { /* a frame with no time of its own gets the time it was logged */
        c.ts_us = bl_clock_wall_us();
        c.has_ts = 1;
    }
    k = bl_capw_frame(&r->w, &c, r->buf + r->n, BL_CAPW_ROOM);
    if (k < 0) {
        r->lost++;
        return;
    }
    r->n += (size_t)k;
    r->pending++;
    bl_recorder_tick(r);
}

int bl_recorder_close(bl_recorder_t *r, char *errbuf, size_t errlen)
{
    int rc, k;

    if (r == NULL)
        return 0;
    if (r->n + BL_CAPW_ROOM > sizeof r->buf)
        bl_recorder_flush(r);
    k = bl_capw_trailer(&r->w, r->buf + r->n, BL_CAPW_ROOM);
    if (k > 0)
        r->n += (size_t)k;
    rc = bl_recorder_flush(r);
    if (r->own_fd && close(r->fd) < 0 && rc == 0)
        rc = -errno;
    if (rc != 0)
        snprintf(errbuf, errlen, "%s: %llu of %llu frames not written: %s", r->path, (unsigned long long)r->lost,
                 (unsigned long long)r->frames, strerror(-rc));
    free(r);
    return rc;
}

uint64_t bl_recorder_frames(const bl_recorder_t *r)
{
    return r ? r->frames : 0;
}

const char *bl_recorder_path(const bl_recorder_t *r)
{
    return r ? r->path : "";
}

const bl_capw_t *bl_recorder_writer(const bl_recorder_t *r)
{
    return r ? &r->w : NULL;
}
