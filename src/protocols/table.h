/*
 * Row builders for protocol tables (internal to src/protocols).
 *
 * Physical values are milli-units: a 0.1 V step is mul 100, a 1 % step is
 * mul 1000, a 0.01 % step is mul 10, a 0.1 A step is mul 100. Ranges are
 * given with the V(), A(), C(), PCT() helpers so rows read in real units.
 */
#ifndef BL_PROTOCOLS_TABLE_H
#define BL_PROTOCOLS_TABLE_H

#include "bmslink/protocol.h"

/*
 * Human documentation in the tables (handshake rules, identity facts, trigger notes,
 * sources) is for the tools. A firmware that shows no text builds with -DBL_NO_DOCS and
 * keeps those bytes (about 2 KB of flash per protocol); the rows that drive the codec and
 * the session stay.
 */
#ifdef BL_NO_DOCS
#define DOC(x) NULL
#else
#define DOC(x) x
#endif
/* identity fact row: where, value, what an inverter does with it */
#define IDF(w, v, m) { DOC(w), DOC(v), DOC(m) }

#define V(x) ((int32_t)((x) * 1000))   /* volts -> mV */
#define A(x) ((int32_t)((x) * 1000))   /* amps -> mA */
#define C(x) ((int32_t)((x) * 1000))   /* °C -> m°C */
#define PCT(x) ((int32_t)((x) * 1000)) /* % -> 0.001 % */
#define N(x) ((int32_t)((x) * 1000))   /* count -> milli-count */

#define S_SIGNED BL_SF_SIGNED

/* scaled number: raw * mul / div + offset (milli), range lo..hi (milli) */
#define SIG_NUMX(nm, fld, st, ln, ord, flg, mu, dv, off, lo, hi, un, mx)                                   \
    {                                                                                                     \
        .name = (nm), .unit = (un), .text = NULL, .mul = (mu), .div = (dv), .offset = (off), .min = (lo), \
        .max = (hi), .def = 0, .flags = (uint16_t)(flg), .also = 0, .kind = BL_SK_NUM, .field = (fld),   \
        .alarm = BL_A_COUNT, .aclass = 0, .start = (st), .len = (ln), .order = (ord), .str_off = 0,      \
        .mux = (mx)                                                                                       \
    }
#define SIG_NUM(nm, fld, st, ln, ord, flg, mu, off, lo, hi, un) \
    SIG_NUMX(nm, fld, st, ln, ord, flg, mu, 1, off, lo, hi, un, -1)

/* constant / unmapped raw value sent as `dflt`; BL_SF_CHECK in flg makes decode insist on it */
#define SIG_RAWX(nm, st, ln, ord, flg, dflt, mx)                                                          \
    {                                                                                                     \
        .name = (nm), .unit = "", .text = NULL, .mul = 1000, .div = 1, .offset = 0, .min = 0, .max = 0,  \
        .def = (dflt), .flags = (uint16_t)(flg), .also = 0, .kind = BL_SK_NUM, .field = BL_F_NONE,       \
        .alarm = BL_A_COUNT, .aclass = 0, .start = (st), .len = (ln), .order = (ord), .str_off = 0,      \
        .mux = (mx)                                                                                       \
    }
#define SIG_RAW(nm, st, ln, ord, flg, dflt) SIG_RAWX(nm, st, ln, ord, flg, dflt, -1)

/* boolean flag at bit st (len 1) or a byte matched against dflt (BL_SF_MATCH) */
#define SIG_BOOLX(nm, fld, st, ln, ord, flg, dflt, mx)                                                   \
    {                                                                                                     \
        .name = (nm), .unit = "", .text = NULL, .mul = 1000, .div = 1, .offset = 0, .min = 0, .max = 0,  \
        .def = (dflt), .flags = (uint16_t)(flg), .also = 0, .kind = BL_SK_BOOL, .field = (fld),          \
        .alarm = BL_A_COUNT, .aclass = 0, .start = (st), .len = (ln), .order = (ord), .str_off = 0,      \
        .mux = (mx)                                                                                       \
    }
#define SIG_BOOL(nm, fld, st) SIG_BOOLX(nm, fld, st, 1, BL_LE, 0, 0, -1)

/* alarm bit (kind BL_SK_ALARM) or SMA pair (BL_SK_PAIR) for canonical alarm al (+ also mask) */
#define SIG_ALX(nm, knd, cls, al, als, st, ln, mx)                                                        \
    {                                                                                                     \
        .name = (nm), .unit = "", .text = NULL, .mul = 1000, .div = 1, .offset = 0, .min = 0, .max = 0,  \
        .def = 0, .flags = 0, .also = (bl_alarm_mask_t)(als), .kind = (knd), .field = BL_F_NONE,         \
        .alarm = (al), .aclass = (cls), .start = (st), .len = (ln), .order = BL_LE, .str_off = 0,        \
        .mux = (mx)                                                                                       \
    }
#define SIG_ALARM(nm, cls, al, als, st) SIG_ALX(nm, BL_SK_ALARM, cls, al, als, st, 1, -1)
#define SIG_PAIR(nm, cls, al, als, st) SIG_ALX(nm, BL_SK_PAIR, cls, al, als, st, 2, -1)

/* ASCII text: nbytes at byte b, stored at offset so in the record string; txt when no field */
#define SIG_TEXTX(nm, knd, fld, b, nbytes, so, txt, flg, mx)                                              \
    {                                                                                                     \
        .name = (nm), .unit = "", .text = (txt), .mul = 1000, .div = 1, .offset = 0, .min = 0, .max = 0, \
        .def = 0, .flags = (uint16_t)(flg), .also = 0, .kind = (knd), .field = (fld),                    \
        .alarm = BL_A_COUNT, .aclass = 0, .start = (uint8_t)((b)*8), .len = (uint8_t)((nbytes)*8),       \
        .order = BL_LE, .str_off = (so), .mux = (mx)                                                      \
    }
#define SIG_ASCII(nm, fld, b, nbytes, so, txt) SIG_TEXTX(nm, BL_SK_ASCII, fld, b, nbytes, so, txt, 0, -1)
#define SIG_VERSION(nm, fld, b, nbytes, flg) SIG_TEXTX(nm, BL_SK_VERSION, fld, b, nbytes, 0, NULL, flg, -1)

/* multiplexer selector */
#define SIG_MUX(nm, st, ln, ord)                                                                          \
    {                                                                                                     \
        .name = (nm), .unit = "", .text = NULL, .mul = 1000, .div = 1, .offset = 0, .min = 0, .max = 0,  \
        .def = 0, .flags = 0, .also = 0, .kind = BL_SK_MUX, .field = BL_F_NONE, .alarm = BL_A_COUNT,     \
        .aclass = 0, .start = (st), .len = (ln), .order = (ord), .str_off = 0, .mux = -1                  \
    }

#define MSG(idv, ex, dr, nm, sigarr, dl, dlmin, per, flg)                                                  \
    {                                                                                                     \
        .id = (idv), .id_mask = 0, .name = (nm), .sigs = (sigarr), .nsigs = BL_ARRAY_LEN(sigarr),        \
        .ext = (ex), .dir = (dr), .dlc = (dl), .dlc_min = (dlmin), .nmux = 0, .flags = (flg),            \
        .period_ms = (per)                                                                                \
    }

/* A message with an address mask (free id bits = battery / group address), a multiplexer
 * count (selector values 0..nmx-1 are sent) or both. */
#define MSGX(idv, msk, ex, dr, nm, sigarr, dl, dlmin, per, flg, nmx)                                      \
    {                                                                                                     \
        .id = (idv), .id_mask = (msk), .name = (nm), .sigs = (sigarr), .nsigs = BL_ARRAY_LEN(sigarr),    \
        .ext = (ex), .dir = (dr), .dlc = (dl), .dlc_min = (dlmin), .nmux = (nmx), .flags = (flg),        \
        .period_ms = (per)                                                                                \
    }
/* A frame without data bytes (announce, quick stop): accepts DLC 0 only. */
#define MSG_EMPTY(idv, ex, dr, nm, per, flg)                                                              \
    {                                                                                                     \
        .id = (idv), .id_mask = 0, .name = (nm), .sigs = NULL, .nsigs = 0, .ext = (ex), .dir = (dr),      \
        .dlc = 0, .dlc_min = 0, .nmux = 0, .flags = (uint16_t)((flg) | BL_MF_EMPTY), .period_ms = (per)   \
    }

/* raw value that carries the session state of the trigger table (e.g. SolaX contactor 0/1) */
#define SIG_STATE(nm, st, ln)                                                                             \
    {                                                                                                     \
        .name = (nm), .unit = "", .text = NULL, .mul = 1000, .div = 1, .offset = 0, .min = 0, .max = 0,  \
        .def = 0, .flags = BL_SF_STATE, .also = 0, .kind = BL_SK_NUM, .field = BL_F_NONE,               \
        .alarm = BL_A_COUNT, .aclass = 0, .start = (st), .len = (ln), .order = BL_LE, .str_off = 0,      \
        .mux = -1                                                                                         \
    }

/* alarm bit with extra flags (BL_SF_DECODE_ONLY: read, but another row carries it on encode) */
#define SIG_ALARMF(nm, cls, al, als, st, flg)                                                             \
    {                                                                                                     \
        .name = (nm), .unit = "", .text = NULL, .mul = 1000, .div = 1, .offset = 0, .min = 0, .max = 0,  \
        .def = 0, .flags = (uint16_t)(flg), .also = (bl_alarm_mask_t)(als), .kind = BL_SK_ALARM,          \
        .field = BL_F_NONE, .alarm = (al), .aclass = (cls), .start = (st), .len = 1, .order = BL_LE,     \
        .str_off = 0, .mux = -1                                                                           \
    }
#define SIG_PAIRF(nm, cls, al, als, st, flg)                                                              \
    {                                                                                                     \
        .name = (nm), .unit = "", .text = NULL, .mul = 1000, .div = 1, .offset = 0, .min = 0, .max = 0,  \
        .def = 0, .flags = (uint16_t)(flg), .also = (bl_alarm_mask_t)(als), .kind = BL_SK_PAIR,           \
        .field = BL_F_NONE, .alarm = (al), .aclass = (cls), .start = (st), .len = 2, .order = BL_LE,     \
        .str_off = 0, .mux = -1                                                                           \
    }

/* 2-bit pair with no canonical alarm, always sent as code `code` (SMA HV: 2 = not triggered) */
#define SIG_PAIRC(nm, cls, code, st)                                                                      \
    {                                                                                                     \
        .name = (nm), .unit = "", .text = NULL, .mul = 1000, .div = 1, .offset = 0, .min = 0, .max = 0,  \
        .def = (code), .flags = 0, .also = 0, .kind = BL_SK_PAIR, .field = BL_F_NONE,                    \
        .alarm = BL_A_COUNT, .aclass = (cls), .start = (st), .len = 2, .order = BL_LE, .str_off = 0,     \
        .mux = -1                                                                                         \
    }

/* 0-terminated id list for trigger answers */
#define IDS(...) ((const uint32_t[]){ __VA_ARGS__, 0 })

/* trigger row: inverter frame `rq` with (data[b] & m) == v in states `ins` -> action, answers */
#define TRIG(rq, ex, b, m, v, ins, nxt, act, per, rsp, txt)                                               \
    {                                                                                                     \
        .req = (rq), .ext = (ex), .byte = (b), .mask = (m), .value = (v), .byte2 = 0, .mask2 = 0,         \
        .value2 = 0, .in_states = (ins), .next_state = (nxt), .action = (act), .period_ms = (per),        \
        .resp = (rsp), .what = DOC(txt)                                                                   \
    }
#define TRIG2(rq, ex, b, m, v, b2, m2, v2, ins, nxt, act, per, rsp, txt)                                  \
    {                                                                                                     \
        .req = (rq), .ext = (ex), .byte = (b), .mask = (m), .value = (v), .byte2 = (b2), .mask2 = (m2),   \
        .value2 = (v2), .in_states = (ins), .next_state = (nxt), .action = (act), .period_ms = (per),     \
        .resp = (rsp), .what = DOC(txt)                                                                   \
    }
#define KEEP BL_STATE_KEEP
#define ANY BL_TRIG_ANY

/* Little-endian byte-aligned helpers: byte offset -> DBC start bit. */
#define LE_AT(byte) ((uint8_t)((byte)*8))
/* Big-endian (Motorola) field starting at byte: DBC start bit is the MSB of that byte. */
#define BE_AT(byte) ((uint8_t)((byte)*8 + 7))
/* bit b of byte B (bit 0 = LSB) */
#define BIT_AT(B, b) ((uint8_t)((B)*8 + (b)))

/* Alarm masks */
#define AM(x) ((bl_alarm_mask_t)(1U << (x)))

#endif
