/* URI dispatch and the capture-file backend. Live backends register below. */
#include "bmslink/transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    (void)timeout_ms;

    for (;;) {
        int rc = bl_lr_next(&c->lr, &line, &len);
        if (rc == 0)
            return BL_ENOENT;
        if (rc < 0)
            return BL_EIO;
        c->t->line = c->lr.line;
        if (c->lr.too_long) {
            err->why = BL_REJ_TOO_LONG;
            err->what = "line longer than 4096 bytes (binary data?)";
            err->col = BL_LINE_MAX;
            c->t->stats.rx_bad++;
            return BL_EBADMSG;
        }
        rc = bl_capture_parse(&c->cap, line, len, f, err);
        if (rc == 0)
            continue;
        if (rc < 0) {
            c->t->stats.rx_bad++;
            return BL_EBADMSG;
        }
        c->t->stats.rx++;
        if (f->f.flags & BL_CAN_ERR)
            c->t->stats.rx_err_frames++;
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
    int rc;

    if (c == NULL)
        return BL_ENOMEM;
    rc = bl_lr_open(&c->lr, path);
    if (rc < 0) {
        snprintf(errbuf, errlen, "%s", strerror(-rc));
        free(c);
        return BL_EIO;
    }
    bl_capture_init(&c->cap, (bl_capfmt_t)fmt);
    c->t = t;
    t->ops = &capfile_ops;
    t->ctx = c;
    t->kind = "file";
    t->live = false;
    return 0;
}

int bl_transport_open(bl_transport_t *t, const char *uri, unsigned fmt, char *errbuf, size_t errlen)
{
    memset(t, 0, sizeof *t);
    snprintf(t->uri, sizeof t->uri, "%s", uri);
    if (errlen)
        errbuf[0] = '\0';
    if (strncmp(uri, "file:", 5) == 0)
        return open_file(t, uri + 5, fmt, errbuf, errlen);
    if (strchr(uri, ':') != NULL && strchr(uri, '/') == NULL) {
        /* scheme:rest that is not a path: a live backend this build lacks */
        static const char *const schemes[] = { "socketcan:", "slcan:", "serial:", "modbus-rtu:",
                                               "modbus-tcp:", "virtual:", "sim:" };
        for (size_t i = 0; i < BL_ARRAY_LEN(schemes); i++)
            if (strncmp(uri, schemes[i], strlen(schemes[i])) == 0) {
                snprintf(errbuf, errlen, "this build cannot open %.*s sources yet", (int)strlen(schemes[i]) - 1,
                         schemes[i]);
                return BL_ENOTSUP;
            }
    }
    return open_file(t, uri, fmt, errbuf, errlen);
}

int bl_transport_read(bl_transport_t *t, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err)
{
    return t->ops->read(t->ctx, f, timeout_ms, err);
}

int bl_transport_write(bl_transport_t *t, const bl_cap_frame_t *f)
{
    int rc;
    if (t->ops->write == NULL)
        return BL_ENOTSUP;
    rc = t->ops->write(t->ctx, f);
    if (rc == 0)
        t->stats.tx++;
    return rc;
}

void bl_transport_close(bl_transport_t *t)
{
    if (t->ops != NULL && t->ops->close != NULL)
        t->ops->close(t->ctx);
    t->ops = NULL;
    t->ctx = NULL;
}
