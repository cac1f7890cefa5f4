/*
 * Transports (hosted layer): one interface over capture files, SocketCAN,
 * slcan adapters, serial lines and the in-process virtual bus, opened by the
 * URIs of CLI.md. Codecs stay pure; every descriptor lives here.
 */
#ifndef BMSLINK_TRANSPORT_H
#define BMSLINK_TRANSPORT_H

#include "bmslink/base.h"
#include "bmslink/capture.h"

typedef struct {
    /* 1 = *f holds a frame; 0 = nothing before the deadline; BL_ENOENT = end of
     * stream; BL_EBADMSG = a malformed item was skipped (err says why);
     * other < 0 = I/O failure. timeout_ms < 0 waits forever. */
    int (*read)(void *ctx, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err);
    int (*write)(void *ctx, const bl_cap_frame_t *f); /* 0 or < 0 BL_E* */
    void (*close)(void *ctx);
} bl_transport_ops_t;

typedef struct {
    uint64_t rx, tx;         /* frames */
    uint64_t rx_bad;         /* malformed items skipped */
    uint64_t rx_err_frames;  /* CAN error frames seen */
} bl_transport_stats_t;

typedef struct {
    const bl_transport_ops_t *ops;
    void *ctx;
    char uri[256];
    const char *kind;     /* "file", "socketcan", "slcan", "serial", "virtual" */
    bool live;            /* false for capture files */
    uint64_t line;        /* capture files: line number of the last item read */
    bl_transport_stats_t stats;
} bl_transport_t;

/*
 * Open a source/sink by URI: PATH, file:PATH or - (capture file), and the live
 * backends that this build has. fmt forces a capture format (BL_FMT_AUTO detects).
 * @retval 0          opened
 * @retval BL_EINVAL  the URI does not parse (errbuf says why): a usage error
 * @retval other < 0  cannot open (errbuf says why): an I/O error
 */
int bl_transport_open(bl_transport_t *t, const char *uri, unsigned fmt, char *errbuf, size_t errlen);
int bl_transport_read(bl_transport_t *t, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err);
int bl_transport_write(bl_transport_t *t, const bl_cap_frame_t *f);
void bl_transport_close(bl_transport_t *t);

/* ---- capture files, line by line (used by the file backend and by RS485 hex captures) ---- */

#define BL_LINE_MAX 4096

typedef struct {
    int fd;
    bool own_fd;
    bool eof;
    bool too_long;     /* the last line was longer than BL_LINE_MAX and was cut */
    bool skipping;     /* inside the rest of an overlong line */
    uint64_t line;     /* number of the line last returned, 1-based */
    size_t len, pos;   /* valid bytes in buf, parse position */
    char *buf;         /* heap, BL_LR_BUF bytes */
} bl_linereader_t;

/* path "-" reads stdin. Returns 0 or -errno. */
int bl_lr_open(bl_linereader_t *r, const char *path);
/* 1 = *line and *len hold the next line (no line end); 0 = end of file; < 0 = -errno */
int bl_lr_next(bl_linereader_t *r, const char **line, size_t *len);
void bl_lr_close(bl_linereader_t *r);

#endif
