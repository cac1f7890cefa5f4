/*
 * Row builders for byte-protocol layouts and Modbus maps (internal to
 * src/protocols). A layout row is a signal read at the cursor of a payload;
 * multi-byte fields are big endian unless the row says otherwise.
 *
 *   R_NUM   a scaled number of n bytes            R_BIT   one bit of the next byte row
 *   R_RAW   bytes shown under their own name      R_FLAG  a named bit with no canonical field
 *   R_COUNT a count that sizes an array           R_ARR   an array sized by a count
 *   R_TEXT  ASCII bytes                            R_IF    skip rows unless a count is big enough
 */
#ifndef BL_PROTOCOLS_RS_TABLE_H
#define BL_PROTOCOLS_RS_TABLE_H

#include "bmslink/rs485.h"
#include "table.h"

#define KELVIN_2731 (-273100) /* 0.1 K, offset 2731: milli-°C = raw * 100 - 273100 */
#define KELVIN_2730 (-273000)

/* n-byte number at the cursor: raw * mu / dv + off (milli), plausible range lo..hi */
#define R_NUMX(nm, fld, n, flg, mu, dv, off, lo, hi, un, sl)                                                     \
    { .sig = SIG_NUMX(nm, fld, BE_AT(0), (n)*8, BL_BE, flg, mu, dv, off, lo, hi, un, -1), .op = BL_RI_FIELD,  \
      .size = (n), .slot = (sl) }
#define R_NUM(nm, fld, n, flg, mu, off, lo, hi, un) R_NUMX(nm, fld, n, flg, mu, 1, off, lo, hi, un, BL_SLOT_NONE)
/* raw value shown under its name (counts, codes, status bytes after their bit rows);
 * at most 4 bytes: the value is kept in milli-units of an int64 */
#define R_RAW(nm, n) { .sig = SIG_RAW(nm, BE_AT(0), (n)*8, BL_BE, 0, 0), .op = BL_RI_FIELD, .size = (n) }
/* a constant the encoder sends (reserved bytes with a fixed value) */
#define R_CONST(nm, n, v) { .sig = SIG_RAW(nm, BE_AT(0), (n)*8, BL_BE, 0, v), .op = BL_RI_FIELD, .size = (n) }
/* bit b (0 = LSB) of byte B of the next row that consumes bytes: alarm / bool / named flag */
#define R_BIT(nm, cls, al, als, B, b)                                                                          \
    { .sig = SIG_ALX(nm, BL_SK_ALARM, cls, al, als, BIT_AT(B, b), 1, -1), .op = BL_RI_FIELD, .size = 0 }
#define R_BOOL(nm, fld, B, b) { .sig = SIG_BOOLX(nm, fld, BIT_AT(B, b), 1, BL_LE, 0, 0, -1), .op = BL_RI_FIELD, .size = 0 }
#define R_FLAG(nm, B, b) R_BOOL(nm, BL_F_NONE, B, b)
#define R_COUNT(nm, sl, dflt) { .sig = SIG_RAW(nm, BE_AT(0), 8, BL_BE, 0, dflt), .op = BL_RI_COUNT, .slot = (sl) }
#define R_COUNTF(nm, sl, fld)                                                                                  \
    { .sig = SIG_NUMX(nm, fld, BE_AT(0), 8, BL_BE, 0, 1000, 1, 0, 0, 0, "", -1), .op = BL_RI_COUNT, .slot = (sl) }
/* array of count[sl] + adj elements of n bytes, aggregated as ag over [alo, count - aback) */
#define R_ARR(nm, sl, adj, n, flg, mu, off, lo, hi, un, ag, alo, aback)                                       \
    { .sig = SIG_NUMX(nm, BL_F_NONE, BE_AT(0), (n)*8, BL_BE, flg, mu, 1, off, lo, hi, un, -1),                \
      .op = BL_RI_ARRAY, .size = (n), .slot = (sl), .adjust = (adj), .agg = (ag), .agg_lo = (alo),            \
      .agg_back = (aback) }
/* state codes (0 normal, 1 below the lower limit, 2 above the upper, other = fault) */
#define R_STATES(nm, sl, adj, cls, lo, lo_also, hi, hi_also)                                                 \
    { .sig = SIG_ALX(nm, BL_SK_NUM, cls, lo, lo_also, 0, 8, -1), .op = BL_RI_ARRAY, .size = 1,               \
      .slot = (sl), .adjust = (adj), .agg = BL_AGG_STATES, .alarm_hi = (hi), .also_hi = (hi_also) }
/* one state byte (an array of one) */
#define R_STATE(nm, cls, lo, lo_also, hi, hi_also) R_STATES(nm, BL_SLOT_NONE, 1, cls, lo, lo_also, hi, hi_also)
#define R_TEXT(nm, fld, n, txt) { .sig = SIG_TEXTX(nm, BL_SK_ASCII, fld, 0, 0, 0, txt, 0, -1), .op = BL_RI_FIELD, .size = (n) }
#define R_TEXTS(nm, sl, n, txt)                                                                                \
    { .sig = SIG_TEXTX(nm, BL_SK_ASCII, BL_F_NONE, 0, 0, 0, txt, 0, -1), .op = BL_RI_ARRAY, .size = (n),      \
      .slot = (sl) }
#define R_VER(nm, fld, n, flg) { .sig = SIG_TEXTX(nm, BL_SK_VERSION, fld, 0, 0, 0, NULL, flg, -1), .op = BL_RI_FIELD, .size = (n) }
#define R_IF(sl, min, nrows) { .sig = SIG_RAW("", 0, 8, BL_LE, 0, min), .op = BL_RI_IF, .size = (nrows), .slot = (sl) }
#define R_OPTIONAL { .sig = SIG_RAW("", 0, 8, BL_LE, 0, 0), .op = BL_RI_OPTIONAL }
#define R_REST(nm) { .sig = SIG_RAW(nm, 0, 8, BL_LE, 0, 0), .op = BL_RI_REST }

/* JK 4E57 items: rows for item id i (the ITEMS row comes first) */
#define R_ITEMS { .sig = SIG_RAW("", 0, 8, BL_LE, 0, 0), .op = BL_RI_ITEMS }
#define I_NUM(i, nm, fld, n, flg, mu, off, lo, hi, un)                                                        \
    { .sig = SIG_NUMX(nm, fld, BE_AT(0), (n)*8, BL_BE, flg, mu, 1, off, lo, hi, un, -1), .op = BL_RI_FIELD,   \
      .size = (n), .id = (i) }
#define I_RAW(i, nm, n) { .sig = SIG_RAW(nm, BE_AT(0), (n)*8, BL_BE, 0, 0), .op = BL_RI_FIELD, .size = (n), .id = (i) }
#define I_CONST(i, nm, n, v) { .sig = SIG_RAW(nm, BE_AT(0), (n)*8, BL_BE, 0, v), .op = BL_RI_FIELD, .size = (n), .id = (i) }
#define I_CONV(i, nm, fld, n, cv, lo, hi, un)                                                                 \
    { .sig = SIG_NUMX(nm, fld, BE_AT(0), (n)*8, BL_BE, 0, 1000, 1, 0, lo, hi, un, -1), .op = BL_RI_FIELD,     \
      .size = (n), .id = (i), .conv = (cv) }
#define I_BIT(i, nm, cls, al, als, B, b)                                                                      \
    { .sig = SIG_ALX(nm, BL_SK_ALARM, cls, al, als, BIT_AT(B, b), 1, -1), .op = BL_RI_FIELD, .size = 0, .id = (i) }
#define I_BOOL(i, nm, fld, B, b)                                                                              \
    { .sig = SIG_BOOLX(nm, fld, BIT_AT(B, b), 1, BL_LE, 0, 0, -1), .op = BL_RI_FIELD, .size = 0, .id = (i) }
#define I_TEXT(i, nm, fld, n, txt)                                                                            \
    { .sig = SIG_TEXTX(nm, BL_SK_ASCII, fld, 0, 0, 0, txt, BL_SF_PAD_NUL, -1), .op = BL_RI_FIELD, .size = (n), .id = (i) }

#define RMSG(cid, nm, rows, rq, fl)                                                                            \
    { .id = (cid), .name = (nm), .rsp = (rows), .nrsp = BL_ARRAY_LEN(rows), .req = (rq), .rqi = NULL,         \
      .nrqi = 0, .flags = (fl), .frames = 0 }
#define RMSG_NORSP(cid, nm, rq, fl)                                                                            \
    { .id = (cid), .name = (nm), .rsp = NULL, .nrsp = 0, .req = (rq), .rqi = NULL, .nrqi = 0, .flags = (fl),  \
      .frames = 0 }
#define RMSG_REQ(cid, nm, rows, rqrows, fl)                                                                    \
    { .id = (cid), .name = (nm), .rsp = (rows), .nrsp = BL_ARRAY_LEN(rows), .req = BL_REQ_LAYOUT,             \
      .rqi = (rqrows), .nrqi = BL_ARRAY_LEN(rqrows), .flags = (fl), .frames = 0 }
#define RMSG_REQONLY(cid, nm, rqrows, fl)                                                                      \
    { .id = (cid), .name = (nm), .rsp = NULL, .nrsp = 0, .req = BL_REQ_LAYOUT, .rqi = (rqrows),               \
      .nrqi = BL_ARRAY_LEN(rqrows), .flags = (fl), .frames = 0 }

/* Modbus map rows: a value at addr in table t spanning w registers (fl: BL_MBF_*) */
#define MB_NUM(a, t, w, fl, nm, fld, sflg, mu, dv, off, lo, hi, un)                                            \
    { .addr = (a), .table = (t), .words = (w), .flags = (fl),                                                  \
      .sig = SIG_NUMX(nm, fld, BE_AT(0), (w)*16, BL_BE, sflg, mu, dv, off, lo, hi, un, -1) }
/* one byte of a register: hi = 1 for the high byte */
#define MB_BYTE(a, t, hi, fl, nm, fld, sflg, mu, off, lo, hiv, un)                                              \
    { .addr = (a), .table = (t), .words = 1, .flags = (fl),                                                    \
      .sig = SIG_NUMX(nm, fld, BE_AT((hi) ? 0 : 1), 8, BL_BE, sflg, mu, 1, off, lo, hiv, un, -1) }
/* raw value (up to 4 registers) shown under its name */
#define MB_RAW(a, t, w, nm) { .addr = (a), .table = (t), .words = (w), .flags = 0, .sig = SIG_RAW(nm, BE_AT(0), (w)*16, BL_BE, 0, 0) }
/* bit b (0 = LSB) of a 16-bit register (w = 1) or of a 32-bit value (w = 2); coils and
 * discrete inputs are one bit each (b = 0) */
#define MB_BITPOS(t, w, b) ((t) >= BL_MB_CO ? 0 : BIT_AT(2 * (w)-1 - (b) / 8, (b) % 8))
#define MB_BIT(a, t, w, b, nm, cls, al, als)                                                                   \
    { .addr = (a), .table = (t), .words = (w), .flags = 0,                                                     \
      .sig = SIG_ALX(nm, BL_SK_ALARM, cls, al, als, MB_BITPOS(t, w, b), 1, -1) }
#define MB_BOOL(a, t, w, b, nm, fld)                                                                           \
    { .addr = (a), .table = (t), .words = (w), .flags = 0,                                                     \
      .sig = SIG_BOOLX(nm, fld, MB_BITPOS(t, w, b), 1, BL_LE, 0, 0, -1) }
/* a byte that is a flag (non-zero = on) */
#define MB_BYTEBOOL(a, t, hi, nm, fld)                                                                         \
    { .addr = (a), .table = (t), .words = 1, .flags = 0,                                                       \
      .sig = SIG_BOOLX(nm, fld, BE_AT((hi) ? 0 : 1), 8, BL_BE, 0, 0, -1) }
#define MB_TEXT(a, t, w, nm, fld, txt)                                                                         \
    { .addr = (a), .table = (t), .words = (w), .flags = 0, .sig = SIG_TEXTX(nm, BL_SK_ASCII, fld, 0, 0, 0, txt, 0, -1) }

#endif
