/*
 * The signal engine: DBC semantics over a byte buffer.
 *
 * A signal row means what a DBC signal means: start bit, length, byte order
 * (Intel = little endian, Motorola = big endian with the DBC start bit on the
 * most significant bit), signedness, scale, offset, min/max, unit. Physical
 * values are integers in milli-units:
 *
 *     milli = raw * mul / div + offset        (rounded half away from zero)
 *
 * so 0.1 V is { .mul = 100, .div = 1 } and 0.1 mV is { .mul = 1, .div = 10 }.
 * A negative mul marks a wire whose sign is the opposite of the canonical one.
 * Pure functions over caller buffers: no allocation, no I/O, no clock.
 */
#ifndef BMSLINK_SIGNAL_H
#define BMSLINK_SIGNAL_H

#include "bmslink/base.h"
#include "bmslink/model.h"

typedef enum { BL_LE = 0, BL_BE = 1 } bl_byte_order_t;

typedef enum {
    BL_SK_NUM = 0, /* scaled integer -> numeric field */
    BL_SK_BOOL,    /* flag -> bool field (see BL_SF_MATCH / BL_SF_INVERT) */
    BL_SK_ALARM,   /* 1 bit: set = canonical alarm .alarm raised in class .aclass */
    BL_SK_PAIR,    /* SMA 2-bit pair: 01 raised, 10 cleared, 00 and 11 = no information */
    BL_SK_ASCII,   /* len/8 bytes of text starting at byte start/8 */
    BL_SK_VERSION, /* len/8 bytes rendered "a.b[.c.d]" (decimal, or hex digits with BL_SF_HEXVER) */
    BL_SK_MUX      /* the multiplexer selector of the message */
} bl_sig_kind_t;

enum {
    BL_SF_SIGNED = 1u << 0,     /* two's complement raw */
    BL_SF_ABS = 1u << 1,        /* decode the magnitude: a limit some senders put negative */
    BL_SF_INVALID = 1u << 2,    /* all-ones (unsigned) / most negative (signed) raw = not available */
    BL_SF_ZERO_ABSENT = 1u << 3,/* raw 0 = not sent */
    BL_SF_INVERT = 1u << 4,     /* bool: the wire says the opposite ("charge forbidden") */
    BL_SF_MATCH = 1u << 5,      /* bool: true iff raw == .def (e.g. 0xAA) */
    BL_SF_HEXVER = 1u << 6,     /* version bytes are hex digits (0x17 -> "17") */
    BL_SF_PAD_NUL = 1u << 7,    /* ASCII padding is NUL, not space */
    BL_SF_VAR_OFFSET = 1u << 8, /* offset that "no offset" protocol variants drop (and go signed) */
    BL_SF_CHECK = 1u << 9,      /* constant: decode rejects a raw value other than .def */
    BL_SF_STATE = 1u << 10,     /* raw = the session state of the trigger table (SolaX contactor) */
    BL_SF_UNVERIFIED = 1u << 11,/* one source, or inferred (sign, unit, position): shown as such */
    BL_SF_DECODE_ONLY = 1u << 12,/* alarm bit read but never raised by the encoder: several bits mean
                                   one canonical alarm and another row is the one that carries it */
    BL_SF_NO_STORE = 1u << 13   /* encode from .field, but decode does not store it there: a related
                                   quantity (module vs cell temperature) that must not overwrite it */
};

typedef struct {
    const char *name;   /* the protocol's own signal name (DBC / JSON "signals") */
    const char *unit;   /* physical unit: "V", "A", "C", "%", "Ah", "kWh", "" */
    const char *text;   /* ASCII: constant text sent when no field feeds the signal */
    int32_t mul, div;   /* milli = raw * mul / div + offset; div 0 means 1 */
    int32_t offset;     /* milli-units */
    int32_t min, max;   /* plausible physical range in milli-units; min == max: unchecked */
    int32_t def;        /* raw sent when nothing feeds the signal; match value for BL_SF_MATCH */
    uint16_t flags;     /* BL_SF_* */
    bl_alarm_mask_t also; /* alarms: more canonical alarms that this bit also stands for on encode */
    uint8_t kind;       /* bl_sig_kind_t */
    uint8_t field;      /* bl_field_id_t, or BL_F_NONE */
    uint8_t alarm;      /* bl_alarm_id_t for BL_SK_ALARM / BL_SK_PAIR */
    uint8_t aclass;     /* bl_alarm_class_t for BL_SK_ALARM / BL_SK_PAIR */
    uint8_t start;      /* DBC start bit: LSB (Intel) or MSB (Motorola) */
    uint8_t len;        /* bits, 1..64 */
    uint8_t order;      /* bl_byte_order_t */
    uint8_t str_off;    /* ASCII: offset of these bytes inside the record string */
    int16_t mux;        /* -1: always present; else only when the selector == mux */
} bl_signal_t;

/* Extract the raw bits of s from data[0..len). Returns BL_ERANGE when the
 * signal does not fit in len bytes (e.g. an optional trailing field). */
int bl_sig_raw_get(const bl_signal_t *s, const uint8_t *data, size_t len, uint64_t *raw);
/* Insert raw (masked to s->len bits) into data[0..len). BL_ERANGE when it does not fit. */
int bl_sig_raw_put(const bl_signal_t *s, uint8_t *data, size_t len, uint64_t raw);

/* The first 8 bytes of a frame as two 64-bit words, loaded once per frame so
 * that every signal of the frame is a shift and a mask. */
typedef struct {
    uint64_t le, be;
    size_t len; /* bytes the frame really has */
} bl_sig_words_t;

void bl_sig_words_load(const uint8_t *data, size_t len, bl_sig_words_t *w);
/* Bits of a len-bit field. */
static inline uint64_t bl_sig_len_mask(unsigned len)
{
    return len >= 64 ? UINT64_MAX : ((UINT64_C(1) << len) - 1u);
}

/*
 * Position of the signal in a 64-bit view of the first 8 bytes. Intel: bit i
 * of the little-endian word is byte i/8 bit i%8, so the LSB is at `start`.
 * Motorola: number bits of the big-endian word from the top (byte 0 bit 7 =
 * position 0); the DBC start bit names the MSB, whose position is
 * (start/8)*8 + 7 - start%8, and the signal runs `len` positions down from it.
 * Returns the number of bytes the signal needs, 0 when it cannot fit in 8.
 * Inline: the codec calls it for every row of every frame.
 */
static inline unsigned bl_sig_bytes_needed(const bl_signal_t *s)
{
    unsigned end;
    if (s->len == 0 || s->len > 64)
        return 0;
    if (s->order == BL_LE)
        end = (unsigned)s->start + s->len;
    else
        end = ((unsigned)s->start / 8u) * 8u + 7u - (unsigned)s->start % 8u + s->len;
    if (end > 64)
        return 0;
    return (end + 7u) / 8u;
}

/* As bl_sig_raw_get() on the loaded frame. */
static inline int bl_sig_raw_from(const bl_signal_t *s, const bl_sig_words_t *w, uint64_t *raw)
{
    unsigned nb = bl_sig_bytes_needed(s);

    if (nb == 0 || nb > w->len)
        return BL_ERANGE;
    if (s->order == BL_LE) {
        *raw = (w->le >> s->start) & bl_sig_len_mask(s->len);
    } else {
        unsigned msb = ((unsigned)s->start / 8u) * 8u + 7u - (unsigned)s->start % 8u;
        *raw = (w->be >> (64u - msb - s->len)) & bl_sig_len_mask(s->len);
    }
    return 0;
}
/* The encode side: as bl_sig_raw_put() into the word of s's byte order (start from
 * zeroed words with .len = the frame's length). BL_ERANGE when s does not fit. */
static inline int bl_sig_raw_into(const bl_signal_t *s, bl_sig_words_t *w, uint64_t raw)
{
    unsigned nb = bl_sig_bytes_needed(s);
    uint64_t fmask = bl_sig_len_mask(s->len);
    unsigned sh;

    if (nb == 0 || nb > w->len)
        return BL_ERANGE;
    raw &= fmask;
    if (s->order == BL_LE) {
        sh = s->start;
        w->le = (w->le & ~(fmask << sh)) | (raw << sh);
    } else {
        unsigned msb = ((unsigned)s->start / 8u) * 8u + 7u - (unsigned)s->start % 8u;
        sh = 64u - msb - s->len;
        w->be = (w->be & ~(fmask << sh)) | (raw << sh);
    }
    return 0;
}
/* OR both words into data[0..len) (at most 8 bytes): the frame the raw_into calls built. */
void bl_sig_words_store(const bl_sig_words_t *w, uint8_t *data, size_t len);

/* Sign-extend / interpret raw per s->flags. */
int64_t bl_sig_raw_value(const bl_signal_t *s, uint64_t raw);
/* raw -> milli-units (mul/div/offset, BL_SF_ABS). */
int64_t bl_sig_to_milli(const bl_signal_t *s, int64_t rawval);
/* milli-units -> raw integer, rounded to the nearest step. Returns BL_ERANGE
 * (and the clamped raw in *raw) when it does not fit in the signal's bits. */
int bl_sig_from_milli(const bl_signal_t *s, int64_t milli, int64_t *raw);

/* true when raw is the signal's "not available" marker (BL_SF_INVALID). */
bool bl_sig_is_invalid_marker(const bl_signal_t *s, uint64_t raw);
/* The marker itself. */
uint64_t bl_sig_invalid_marker(const bl_signal_t *s);

/* a / b rounded half away from zero (b > 0), with the steps tables use as compile-time
 * divisors (a multiply, not a divide) */
static inline int64_t bl_sig_div_round_any(int64_t a, int64_t b)
{
    if (a >= 0)
        return (a + b / 2) / b;
    return -((-a + b / 2) / b);
}
static inline int64_t bl_sig_div_round(int64_t a, int64_t b)
{
    switch (b) {
    case 1: return a;
    case 10: return bl_sig_div_round_any(a, 10);
    case 100: return bl_sig_div_round_any(a, 100);
    case 1000: return bl_sig_div_round_any(a, 1000);
    default: return bl_sig_div_round_any(a, b);
    }
}

/*
 * Inline forms for the codecs' per-value work (every row of every frame passes here):
 * the same results as bl_sig_raw_value(), bl_sig_is_invalid_marker() and
 * bl_sig_to_milli(); the last handles the common case (no divisor, a raw value that
 * cannot overflow the product) inline and calls bl_sig_to_milli() for the rest.
 */
static inline int64_t bl_sig_value(const bl_signal_t *s, uint64_t raw)
{
    if ((s->flags & BL_SF_SIGNED) && s->len < 64 && (raw >> (s->len - 1u)) & 1u)
        return (int64_t)(raw | ~bl_sig_len_mask(s->len));
    return (int64_t)raw;
}
static inline bool bl_sig_marker(const bl_signal_t *s, uint64_t raw)
{
    if (!(s->flags & BL_SF_INVALID) || s->len == 0) /* a row without bits has no marker */
        return false;
    return raw == ((s->flags & BL_SF_SIGNED) ? UINT64_C(1) << (s->len - 1u) : bl_sig_len_mask(s->len));
}
static inline int64_t bl_sig_milli(const bl_signal_t *s, int64_t rawval)
{
    if (s->div <= 1 && rawval <= INT32_MAX && rawval >= -INT32_MAX) {
        int64_t milli = rawval * s->mul + s->offset;
        return ((s->flags & BL_SF_ABS) && milli < 0) ? -milli : milli;
    }
    return bl_sig_to_milli(s, rawval);
}

/* bl_sig_from_milli() with the common rows inline (no divisor, a scale, fewer than 63 bits). */
static inline int bl_sig_raw_for(const bl_signal_t *s, int64_t milli, int64_t *raw)
{
    int64_t num, r, lo, hi;
    if (s->mul == 0 || s->div > 1 || s->len == 0 || s->len >= 63)
        return bl_sig_from_milli(s, milli, raw);
    num = milli - s->offset;
    r = s->mul > 0 ? bl_sig_div_round(num, s->mul) : bl_sig_div_round(-num, -(int64_t)s->mul);
    if (s->flags & BL_SF_SIGNED) {
        hi = (int64_t)(UINT64_C(1) << (s->len - 1u)) - 1;
        lo = -hi - 1;
    } else {
        lo = 0;
        hi = (int64_t)bl_sig_len_mask(s->len);
    }
    *raw = r < lo ? lo : r > hi ? hi : r;
    return r < lo || r > hi ? BL_ERANGE : 0;
}

/* Decimals that represent one step of the signal (0..3). */
uint8_t bl_sig_decimals(const bl_signal_t *s);
/* bl_sig_decimals() with the common rows inline: no divisor, no offset, a power-of-ten step. */
static inline uint8_t bl_sig_dec(const bl_signal_t *s)
{
    if (s->kind == BL_SK_NUM && s->div <= 1 && s->offset == 0) {
        switch (s->mul) {
        case 1000: case -1000: return 0;
        case 100: case -100: return 1;
        case 10: case -10: return 2;
        case 1: case -1: return 3;
        default: break;
        }
    }
    return bl_sig_decimals(s);
}

/* true when s has a physical range to check. */
static inline bool bl_sig_has_range(const bl_signal_t *s)
{
    return s->min != s->max;
}

/* Physical range (milli-units) a numeric row can carry: its raw range through the scale
 * ("not available" marker and "0 = absent" excluded, a magnitude folded to >= 0),
 * narrowed to its plausibility range when it has one. */
void bl_sig_range(const bl_signal_t *s, int64_t *lo, int64_t *hi);

/* Effective row after applying protocol variant flags (byte order swap, offsets dropped). */
#define BL_VAR_BE 0x01u        /* every multi-byte signal big endian */
#define BL_VAR_NO_OFFSET 0x02u /* BL_SF_VAR_OFFSET signals: plain signed, no offset */
void bl_sig_variant(const bl_signal_t *in, unsigned vflags, bl_signal_t *out);

#endif
