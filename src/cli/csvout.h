/*
 * decode --csv (issue #12): the canonical record as a time series for spreadsheets. One row per
 * time step: a capture timestamp at which what the row shows changed (a value, a field turning
 * stale, an alarm), or every --step of capture time; one column per canonical field that
 * appears (its JSON key, which carries the unit: voltage_V, current_A, soc_pct, ...), and the
 * alarm classes the protocol reports on; a cell is blank while its field has not been received
 * or is stale. Captures are buffered to learn the columns; live sources stream, with a column
 * for each field the protocol carries.
 */
#ifndef BL_CLI_CSVOUT_H
#define BL_CLI_CSVOUT_H

#include "bmslink/model.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct csvout csvout_t;

/* step_us 0: a row whenever the row would change. stale_ms 0: fields never go stale.
 * stream_fields != 0: write rows to fp as they come, with these columns (BL_BIT(field));
 * 0: buffer until csvout_finish. NULL when out of memory. */
csvout_t *csvout_new(FILE *fp, uint64_t step_us, uint64_t stale_ms, uint32_t stream_fields);
/* Before a frame at ts changes r: the --step rows due before ts. */
void csvout_before(csvout_t *c, const bl_record_t *r, uint64_t ts_us, bool has_ts);
/* After a frame at ts changed r: the row of this time step, if it differs. */
void csvout_after(csvout_t *c, const bl_record_t *r, uint64_t ts_us, bool has_ts);
/* Write out what is buffered (header first) and free. 0, or -1 when the output failed or
 * memory ran out (a message was printed). */
int csvout_finish(csvout_t *c, const bl_record_t *r);
/* Should the rows of this source stream (a live bus, a pipe, a FIFO, a tty), rather than be
 * buffered until its end (a capture file)? */
bool csvout_streams(const char *uri);
/* Rows written or buffered so far. */
uint64_t csvout_rows(const csvout_t *c);

#endif
