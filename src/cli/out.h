/* Buffered output and JSON writing for the command line (fast: no printf per value). */
#ifndef BL_CLI_OUT_H
#define BL_CLI_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *fp;
    size_t n;
    bool first; /* no comma before the next JSON member / element */
    char buf[1 << 16];
} bl_out_t;

void out_init(bl_out_t *o, FILE *fp);
void out_flush(bl_out_t *o);
void out_mem(bl_out_t *o, const char *s, size_t n);
void out_str(bl_out_t *o, const char *s);
void out_ch(bl_out_t *o, char ch);
void out_printf(bl_out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_u64(bl_out_t *o, uint64_t v);
void out_i64(bl_out_t *o, int64_t v);
/* milli-units with dec decimals (0..3), e.g. 53200, 1 -> "53.2" */
void out_milli(bl_out_t *o, int64_t milli, unsigned dec);
/* seconds.micros from microseconds */
void out_ts(bl_out_t *o, uint64_t us);
void out_hex(bl_out_t *o, const uint8_t *d, size_t n);
/* JSON string with escapes */
void out_jstr(bl_out_t *o, const char *s);
void out_jstrn(bl_out_t *o, const char *s, size_t n);

/* JSON structure helpers: they insert commas */
void j_obj(bl_out_t *o);           /* { */
void j_end_obj(bl_out_t *o);       /* } */
void j_arr(bl_out_t *o);           /* [ */
void j_end_arr(bl_out_t *o);       /* ] */
void j_key(bl_out_t *o, const char *k); /* "k": */
void j_sep(bl_out_t *o);           /* comma unless first */
void j_kstr(bl_out_t *o, const char *k, const char *v); /* null when v == NULL */
void j_kint(bl_out_t *o, const char *k, int64_t v);
void j_kbool(bl_out_t *o, const char *k, bool v);
void j_knull(bl_out_t *o, const char *k);
void j_kmilli(bl_out_t *o, const char *k, int64_t milli, unsigned dec);
void j_str_el(bl_out_t *o, const char *v); /* array element */

#endif
