/* Capture files line by line: large reads, bounded lines, line numbers. */
#include "bmslink/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BL_LR_BUF (1u << 20)

int bl_lr_open(bl_linereader_t *r, const char *path)
{
    memset(r, 0, sizeof *r);
    if (strcmp(path, "-") == 0) {
        r->fd = 0;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0)
            return -errno;
        r->own_fd = true;
    }
    r->buf = malloc(BL_LR_BUF);
    if (r->buf == NULL) {
        if (r->own_fd)
            close(r->fd);
        return -ENOMEM;
    }
    return 0;
}

/* Refill: keep the unparsed tail, read more. Returns bytes read, 0 at EOF, -errno. */
static ssize_t refill(bl_linereader_t *r)
{
    ssize_t n;
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    do {
        n = read(r->fd, r->buf + r->len, BL_LR_BUF - r->len);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    r->len += (size_t)n;
    return n;
}

int bl_lr_next(bl_linereader_t *r, const char **line, size_t *len)
{
    r->too_long = false;
    for (;;) {
        char *start, *nl;
        size_t avail;
        ssize_t n;

        if (r->skipping) { /* the rest of an overlong line */
            char *e = memchr(r->buf + r->pos, '\n', r->len - r->pos);
            if (e != NULL) {
                r->pos = (size_t)(e - r->buf) + 1;
                r->skipping = false;
            } else {
                r->pos = r->len;
                if (r->eof)
                    return 0;
                if ((n = refill(r)) < 0)
                    return (int)n;
                if (n == 0)
                    r->eof = true;
                continue;
            }
        }
        start = r->buf + r->pos;
        avail = r->len - r->pos;
        nl = memchr(start, '\n', avail < BL_LINE_MAX + 1 ? avail : BL_LINE_MAX + 1);
        if (nl != NULL) {
            size_t k = (size_t)(nl - start);
            r->pos += k + 1;
            if (k > 0 && start[k - 1] == '\r')
                k--;
            r->line++;
            *line = start;
            *len = k;
            return 1;
        }
        if (avail > BL_LINE_MAX) {
            /* hand out the first BL_LINE_MAX bytes flagged, skip the rest next time */
            r->too_long = true;
            r->skipping = true;
            r->line++;
            r->pos += BL_LINE_MAX;
            *line = start;
            *len = BL_LINE_MAX;
            return 1;
        }
        if (r->eof) {
            if (avail == 0)
                return 0;
            r->pos = r->len;
            r->line++;
            *line = start;
            *len = avail;
            if (start[avail - 1] == '\r')
                (*len)--;
            return 1;
        }
        if ((n = refill(r)) < 0)
            return (int)n;
        if (n == 0)
            r->eof = true;
    }
}

ssize_t bl_lr_fill(bl_linereader_t *r, size_t want, bool once)
{
    if (want > BL_LR_BUF / 2)
        want = BL_LR_BUF / 2; /* room left after refill() keeps the unread tail */
    while (r->len - r->pos < want && !r->eof) {
        ssize_t n = refill(r);
        if (n < 0)
            return n;
        if (n == 0)
            r->eof = true;
        if (once)
            break;
    }
    return (ssize_t)(r->len - r->pos);
}

int bl_lr_skip(bl_linereader_t *r, uint64_t n)
{
    size_t avail = r->len - r->pos;
    if (n <= avail) {
        r->pos += (size_t)n;
        return 0;
    }
    n -= avail;
    r->pos = r->len = 0;
    while (n > 0) { /* read and drop: a pipe cannot seek, and a cut-off record must show */
        ssize_t k = read(r->fd, r->buf, n < BL_LR_BUF ? (size_t)n : BL_LR_BUF);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0) {
            r->eof = true;
            return 1;
        }
        n -= (uint64_t)k;
    }
    return 0;
}

bool bl_lr_ready(const bl_linereader_t *r)
{
    size_t avail = r->len - r->pos;
    if (r->eof || avail > BL_LINE_MAX)
        return true;
    return avail > 0 && memchr(r->buf + r->pos, '\n', avail) != NULL;
}

void bl_lr_close(bl_linereader_t *r)
{
    if (r->own_fd && r->fd >= 0)
        close(r->fd);
    free(r->buf);
    r->buf = NULL;
    r->fd = -1;
}
