/*
 * What every verb that reads a live source shares: Ctrl-C and friends stop it
 * cleanly (the loop ends, the recording is flushed, stats are printed), state
 * changes of the transport reach stderr without flooding it, --record FILE
 * logs the traffic as candump -L, and the end-of-run counters read the same
 * everywhere.
 */
#ifndef BL_CLI_LIVE_H
#define BL_CLI_LIVE_H

#include "bmslink/transport.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* SIGINT, SIGTERM, SIGHUP ask the loop to stop (a second SIGINT exits at
 * once, status 130); SIGPIPE is ignored so a closed pipe cannot lose the
 * recording (writes then fail with EPIPE and the verb stops). */
void live_signals(void);
/* true once a stop signal arrived */
bool live_stopped(void);
/* the signal that asked for the stop, 0 when none */
int live_stop_signal(void);
/* ask the loop to stop as a signal would (tests, fatal conditions) */
void live_request_stop(void);

/* A transport notify callback: "bmslink: URI: text" on stderr, at most 10
 * lines per 10 s (then a count of what was held back). user is unused. */
void live_note_stderr(void *user, bl_transport_t *t, const char *text);

/*
 * Open uri for verb, attach rec (may be NULL) and the stderr notes.
 * Prints "bmslink: URI: cannot open: why" and returns the exit code on failure.
 */
int live_open(bl_transport_t *t, const char *uri, unsigned fmt, bl_recorder_t *rec);

/* --record FILE: open it or print why not (*rec = NULL); returns an exit code. */
int live_record_open(const char *path, bl_recorder_t **rec);
/* Flush and close; prints what was lost and returns BL_EXIT_IO on a failed write. */
int live_record_close(bl_recorder_t *rec);

/* One line on fp: "bmslink: URI: 120 frames received, 3 sent, 2 malformed (malformed_line 2), ..." */
void live_print_stats(FILE *fp, const bl_transport_t *t);

/* Wall-clock milliseconds (the time base of live sources). */
uint64_t live_now_ms(void);

#endif
