/*
 * Drawing helpers of the live views (monitor, bridge): values with their unit
 * and the carrying protocol's decimals, ages, and lines of a view that is
 * redrawn in place on a terminal (cut to its width, cleared to the line end).
 */
#ifndef BL_CLI_VIEW_H
#define BL_CLI_VIEW_H

#include "bmslink/model.h"
#include "out.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    bl_out_t *o;
    unsigned cols, rows, lines;
    bool tty, color;
} view_screen_t;

/* A screen on o: the terminal's size when tty (80 x 1000 otherwise), colour unless NO_COLOR. */
void view_screen_init(view_screen_t *sc, bl_out_t *o, bool tty);
/* One line of the view, cut to the terminal width (UTF-8 aware); dropped when the screen is full. */
void view_line(view_screen_t *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Highlight on / off escape ("" without colour). */
const char *view_hl(const view_screen_t *sc, bool on);

/* milli-units with dec decimals (0..3): 53200, 1 -> "53.2" */
void view_fmt_milli(char *b, size_t n, int64_t milli, unsigned dec);
/* A field's value with its unit ("53.2 V", "yes", "PYLON") */
void view_fmt_value(const bl_record_t *r, unsigned id, char *b, size_t n);
/* "0.4 s", "42 s", "12 min" */
void view_fmt_age(uint64_t age_ms, char *b, size_t n);

#endif
