/* bmslink diagnose: what the verb, its report and its profile adapter share. */
#ifndef BL_DIAGNOSE_CLI_H
#define BL_DIAGNOSE_CLI_H

#include "bmslink/diagnose.h"
#include "bmslink/errload.h"

#include <stdio.h>

#define DX_FINDINGS 48
#define DX_TIMELINE 600
#define DX_SAMPLE 400
#define DX_TEXT 256

/* The log line behind one piece of evidence. */
typedef struct {
    uint64_t line;
    char text[DX_TEXT];
} dx_line_t;

typedef struct {
    const char *src;            /* as the user named it */
    const char *inverter;       /* --inverter NAME, or NULL */
    bool detected;              /* the protocol came from the traffic, not -p / the profile */
    bl_diag_t *d;
    size_t nf;
    bl_diag_bucket_t *tl;
    size_t ntl;
    dx_line_t *lines;           /* evidence lines, sorted by line */
    size_t nlines;
    char bus[BL_BUS_NAME_MAX];
    uint64_t lines_read;        /* lines of the capture (files) */
    const bl_errcode_file_t *codes; /* inverter error codes (with --inverter), or NULL */
    const char *brand, *firmware;   /* the profile's brand, --firmware */
} dx_result_t;

/* Text of the log line at `line` (the capture's own line, or the frame re-written as
 * candump -L when the source cannot be read again); never NULL. */
const char *dx_line_text(const dx_result_t *r, const bl_diag_ev_t *e, char *buf, size_t n);

/* Write the self-contained HTML report. 0, or -errno (the file could not be written). */
int dx_report_html(const dx_result_t *r, const char *path);

/*
 * The facts of inverter profile `name` under firmware variant `fw` (NULL: the profile's
 * default) for the analysers; borrowed strings live in storage the adapter owns until the
 * process ends. 0; BL_ENOENT an unknown profile or firmware (a usage error; err says why,
 * or is empty when the loader already printed it); BL_ENOTSUP no profiles in this build;
 * another < 0 an unreadable profile file.
 */
int dx_inverter_facts(const char *name, const char *fw, bl_diag_inverter_t *inv, char *err, size_t errlen);
/* The brand of the profile dx_inverter_facts() loaded ("SMA"), NULL before or without one. */
const char *dx_inverter_brand(void);

#endif
