/*
 * Capture text formats, one line at a time: candump -L logs
 * "(1700000000.123456) can0 351#1402...", candump's default output with or
 * without timestamps ("  can0  351   [8]  14 02 ..."), and Vector ASC
 * ("   0.002000 1  351   Rx   d 8 14 02 ..."). Pure: the caller reads the
 * file and hands over lines (without the line end).
 */
#ifndef BMSLINK_CAPTURE_H
#define BMSLINK_CAPTURE_H

#include "bmslink/base.h"
#include "bmslink/frame.h"

typedef enum {
    BL_FMT_AUTO = 0,
    BL_FMT_CANDUMP_LOG, /* candump -L / -l, python-can .log */
    BL_FMT_CANDUMP,     /* candump default output, any -t mode, -x, -a */
    BL_FMT_ASC,         /* Vector ASC (log2asc) */
    BL_FMT_HEX485,      /* RS485 bytes as hex lines */
    BL_FMT_COUNT
} bl_capfmt_t;

const char *bl_capfmt_str(unsigned fmt); /* "candump", "asc", ... ("auto") */
/* Format by --format name: "candump" (both candump styles), "log", "asc", "hex485"; BL_FMT_COUNT when unknown. */
unsigned bl_capfmt_by_name(const char *name);

#define BL_BUS_NAME_MAX 16

typedef struct {
    uint64_t ts_us;  /* capture time, microseconds */
    uint8_t has_ts;  /* 0: the line had no timestamp */
    char dir;        /* 'R' received, 'T' transmitted, 0 unknown */
    char bus[BL_BUS_NAME_MAX];
    bl_can_frame_t f;
} bl_cap_frame_t;

typedef struct {
    bl_reject_t why;  /* BL_REJ_SYNTAX, BL_REJ_LENGTH */
    const char *what; /* static text naming what is wrong */
    uint16_t col;     /* 1-based column where it went wrong */
} bl_line_err_t;

/* Per-file parser state (ASC: its date header; delta timestamps). */
typedef struct {
    bl_capfmt_t fmt;
    uint64_t asc_base_us; /* ASC "date" header as epoch µs, 0 when absent */
} bl_capture_t;

void bl_capture_init(bl_capture_t *c, bl_capfmt_t fmt);

/*
 * Parse one line. In BL_FMT_AUTO the first line that parses fixes the format.
 * @retval 1           *out holds a frame
 * @retval 0           nothing to decode (blank, comment, header, continuation)
 * @retval BL_EBADMSG  err says why; *out undefined
 */
int bl_capture_parse(bl_capture_t *c, const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err);

/* Which format a line looks like (BL_FMT_AUTO when none). */
bl_capfmt_t bl_capture_sniff(const char *line, size_t len);

/* Write f as a candump -L line (no newline) into buf. Returns the length, or BL_ENOSPC. */
int bl_capture_format_log(const bl_cap_frame_t *f, char *buf, size_t size);

/* Days-from-civil helper shared by the date parsers: UTC epoch seconds. */
int64_t bl_epoch_from_civil(int year, unsigned month, unsigned day, unsigned h, unsigned m, unsigned s);

#endif
