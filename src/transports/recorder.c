/* --record FILE: every frame a transport reads or writes, as candump -L lines
 * (can-utils' canplayer, log2asc and python-can's CanutilsLogReader read them). */
#include "bmslink/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REC_BUF (64u * 1024u)
#define REC_LINE 200u /* longest candump -L line: ts, bus, 8-digit id, ##flags, 128 data digits */
#define REC_FLUSH_MS 500u

struct bl_recorder {
    int fd;
    int err;           /* first failed write: -errno, latched */
    char path[256];
    uint64_t frames;   /* handed to bl_recorder_add */
    uint64_t pending;  /* frames in buf */
    uint64_t lost;     /* frames that never reached the file */
    uint64_t last_ms;  /* last write-out */
    size_t n;
    char buf[REC_BUF];
};

bl_recorder_t *bl_recorder_open(const char *path, char *errbuf, size_t errlen)
{
    bl_recorder_t *r = malloc(sizeof *r);

    if (r == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    memset(r, 0, offsetof(bl_recorder_t, buf));
    r->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (r->fd < 0) {
        snprintf(errbuf, errlen, "%s", strerror(errno));
        free(r);
        return NULL;
    }
    snprintf(r->path, sizeof r->path, "%s", path);
    r->last_ms = bl_clock_mono_ms();
    return r;
}

int bl_recorder_flush(bl_recorder_t *r)
{
    size_t done = 0;

    if (r == NULL)
        return 0;
    r->last_ms = bl_clock_mono_ms();
    while (done < r->n && r->err == 0) {
        ssize_t w = write(r->fd, r->buf + done, r->n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            r->err = w < 0 ? -errno : -EIO;
        else
            done += (size_t)w;
    }
    if (r->err != 0) {
        /* count whole lines that did not make it */
        uint64_t lines = 0;
        for (size_t i = done; i < r->n; i++)
            lines += r->buf[i] == '\n';
        r->lost += lines;
    }
    r->n = 0;
    r->pending = 0;
    return r->err;
}

void bl_recorder_tick(bl_recorder_t *r)
{
    if (r != NULL && r->n > 0 && bl_clock_mono_ms() - r->last_ms >= REC_FLUSH_MS)
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
    if (r->n + REC_LINE > sizeof r->buf)
        bl_recorder_flush(r);
    c = *f;
    if (!c.has_ts) /* a frame with no time of its own gets the time it was logged */
        c.ts_us = bl_clock_wall_us();
    k = bl_capture_format_log(&c, r->buf + r->n, REC_LINE);
    if (k < 0) {
        r->lost++;
        return;
    }
    r->n += (size_t)k;
    r->buf[r->n++] = '\n';
    r->pending++;
    bl_recorder_tick(r);
}

int bl_recorder_close(bl_recorder_t *r, char *errbuf, size_t errlen)
{
    int rc;

    if (r == NULL)
        return 0;
    rc = bl_recorder_flush(r);
    if (close(r->fd) < 0 && rc == 0)
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
