/* The signal engine: bit extraction, scaling, rounding, ranges (DBC semantics). */
#include "bmslink/signal.h"

#include <string.h>

int bl_sig_raw_get(const bl_signal_t *s, const uint8_t *data, size_t len, uint64_t *raw)
{
    unsigned need = bl_sig_bytes_needed(s);
    uint64_t w = 0;

    if (need == 0 || need > len)
        return BL_ERANGE;
    if (s->order == BL_LE) {
        for (unsigned i = 0; i < need; i++)
            w |= (uint64_t)data[i] << (8u * i);
        *raw = (w >> s->start) & bl_sig_len_mask(s->len);
    } else {
        unsigned msb = ((unsigned)s->start / 8u) * 8u + 7u - (unsigned)s->start % 8u;
        for (unsigned i = 0; i < need; i++)
            w |= (uint64_t)data[i] << (56u - 8u * i);
        *raw = (w >> (64u - msb - s->len)) & bl_sig_len_mask(s->len);
    }
    return 0;
}

void bl_sig_words_load(const uint8_t *data, size_t len, bl_sig_words_t *w)
{
    uint8_t b[8] = { 0 };
    memcpy(b, data, len < 8 ? len : 8);
    /* a fixed-size shift/or of a local array compiles to one load (plus a byte swap) */
    w->le = (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24 |
            (uint64_t)b[4] << 32 | (uint64_t)b[5] << 40 | (uint64_t)b[6] << 48 | (uint64_t)b[7] << 56;
    w->be = (uint64_t)b[7] | (uint64_t)b[6] << 8 | (uint64_t)b[5] << 16 | (uint64_t)b[4] << 24 |
            (uint64_t)b[3] << 32 | (uint64_t)b[2] << 40 | (uint64_t)b[1] << 48 | (uint64_t)b[0] << 56;
    w->len = len;
}

void bl_sig_words_store(const bl_sig_words_t *w, uint8_t *data, size_t len)
{
    /* byte i is bits 8i.. of the LE word and bits 56-8i.. of the BE word: swap the BE word
     * and both are little endian; one combined word, eight byte stores */
    uint64_t v = w->le | __builtin_bswap64(w->be);
    for (size_t i = 0; i < len && i < 8; i++)
        data[i] |= (uint8_t)(v >> (8u * i));
}

int bl_sig_raw_put(const bl_signal_t *s, uint8_t *data, size_t len, uint64_t raw)
{
    unsigned need = bl_sig_bytes_needed(s);
    uint64_t w = 0, m = bl_sig_len_mask(s->len);
    unsigned shift;

    if (need == 0 || need > len)
        return BL_ERANGE;
    raw &= m;
    if (s->order == BL_LE) {
        for (unsigned i = 0; i < need; i++)
            w |= (uint64_t)data[i] << (8u * i);
        shift = s->start;
        w = (w & ~(m << shift)) | (raw << shift);
        for (unsigned i = 0; i < need; i++)
            data[i] = (uint8_t)(w >> (8u * i));
    } else {
        unsigned msb = ((unsigned)s->start / 8u) * 8u + 7u - (unsigned)s->start % 8u;
        for (unsigned i = 0; i < need; i++)
            w |= (uint64_t)data[i] << (56u - 8u * i);
        shift = 64u - msb - s->len;
        w = (w & ~(m << shift)) | (raw << shift);
        for (unsigned i = 0; i < need; i++)
            data[i] = (uint8_t)(w >> (56u - 8u * i));
    }
    return 0;
}

int64_t bl_sig_raw_value(const bl_signal_t *s, uint64_t raw)
{
    return bl_sig_value(s, raw);
}

static int32_t sig_div(const bl_signal_t *s)
{
    return s->div > 0 ? s->div : 1;
}

/* |milli| never exceeds this: far beyond any physical range, and room left for rounding and offset */
#define MILLI_LIMIT (INT64_MAX / 4)

int64_t bl_sig_to_milli(const bl_signal_t *s, int64_t rawval)
{
    int64_t v, m = s->mul;
    /* A raw value above 2^31 (a 64-bit field) times the scale can overflow int64:
     * saturate instead, and let the range check reject it. No compiler builtin:
     * 32-bit targets would need a runtime library call for it. */
    int64_t am = m < 0 ? -m : m;
    if ((rawval > INT32_MAX || rawval < -INT32_MAX) && am > 0) {
        int64_t lim = MILLI_LIMIT / am;
        if (rawval > lim || rawval < -lim) {
            v = (rawval < 0) != (m < 0) ? -MILLI_LIMIT : MILLI_LIMIT;
            return (s->flags & BL_SF_ABS) && v < 0 ? -v : v;
        }
    }
    v = bl_sig_div_round(rawval * m, sig_div(s)) + s->offset;
    if ((s->flags & BL_SF_ABS) && v < 0)
        v = -v;
    return v;
}

int bl_sig_from_milli(const bl_signal_t *s, int64_t milli, int64_t *raw)
{
    int64_t lo, hi, r;
    int64_t num = (milli - s->offset) * sig_div(s);

    if (s->mul == 0) {
        *raw = s->def;
        return 0;
    }
    r = s->mul > 0 ? bl_sig_div_round(num, s->mul) : bl_sig_div_round(-num, -(int64_t)s->mul);
    if (s->flags & BL_SF_SIGNED) {
        lo = s->len >= 64 ? INT64_MIN : -(int64_t)(UINT64_C(1) << (s->len - 1u));
        hi = s->len >= 64 ? INT64_MAX : (int64_t)(UINT64_C(1) << (s->len - 1u)) - 1;
    } else {
        lo = 0;
        hi = s->len >= 63 ? INT64_MAX : (int64_t)bl_sig_len_mask(s->len);
    }
    if (r < lo) {
        *raw = lo;
        return BL_ERANGE;
    }
    if (r > hi) {
        *raw = hi;
        return BL_ERANGE;
    }
    *raw = r;
    return 0;
}

uint64_t bl_sig_invalid_marker(const bl_signal_t *s)
{
    if (s->flags & BL_SF_SIGNED)
        return UINT64_C(1) << (s->len - 1u);
    return bl_sig_len_mask(s->len);
}

bool bl_sig_is_invalid_marker(const bl_signal_t *s, uint64_t raw)
{
    return bl_sig_marker(s, raw);
}

static uint8_t decimals_of(int64_t v)
{
    if (v < 0)
        v = -v;
    if (v % 1000 == 0)
        return 0;
    if (v % 100 == 0)
        return 1;
    if (v % 10 == 0)
        return 2;
    return 3;
}

uint8_t bl_sig_decimals(const bl_signal_t *s)
{
    int32_t d = sig_div(s);
    uint8_t a, b;
    if (s->kind != BL_SK_NUM)
        return 0;
    /* no divisor and no offset: most rows, and no division needed */
    a = d == 1 ? decimals_of(s->mul) : (s->mul % d == 0) ? decimals_of(s->mul / d) : 3;
    b = s->offset == 0 ? 0 : decimals_of(s->offset);
    return a > b ? a : b;
}

void bl_sig_variant(const bl_signal_t *in, unsigned vflags, bl_signal_t *out)
{
    *out = *in;
    /* only whole-byte fields have a byte order to swap */
    if ((vflags & BL_VAR_BE) && in->order == BL_LE && in->len > 8 && in->len % 8 == 0 &&
        in->start % 8 == 0) {
        out->start = (uint8_t)(in->start + 7u); /* MSB of the first byte */
        out->order = BL_BE;
    }
    if ((vflags & BL_VAR_NO_OFFSET) && (in->flags & BL_SF_VAR_OFFSET)) {
        out->offset = 0;
        out->flags = (uint16_t)(out->flags | BL_SF_SIGNED);
    }
}

void bl_sig_range(const bl_signal_t *s, int64_t *lo, int64_t *hi)
{
    int64_t rlo, rhi, a, b;

    if (s->len == 0 || s->len > 64) {
        *lo = *hi = 0;
        return;
    }
    if (s->flags & BL_SF_SIGNED) {
        rlo = s->len >= 64 ? INT64_MIN / 1024 : -(int64_t)(UINT64_C(1) << (s->len - 1u));
        rhi = s->len >= 64 ? INT64_MAX / 1024 : (int64_t)(UINT64_C(1) << (s->len - 1u)) - 1;
    } else {
        rlo = 0;
        rhi = s->len >= 53 ? INT64_MAX / 1024 : (int64_t)bl_sig_len_mask(s->len);
    }
    if ((s->flags & BL_SF_INVALID) && (s->flags & BL_SF_SIGNED)) /* the marker is not a value */
        rlo++;
    else if (s->flags & BL_SF_INVALID)
        rhi--;
    if ((s->flags & BL_SF_ZERO_ABSENT) && rlo == 0)
        rlo = 1;
    {
        bl_signal_t plain = *s; /* the wire's signed range, before abs() folds it */
        plain.flags = (uint16_t)(plain.flags & ~BL_SF_ABS);
        a = bl_sig_to_milli(&plain, rlo);
        b = bl_sig_to_milli(&plain, rhi);
    }
    *lo = a < b ? a : b;
    *hi = a < b ? b : a;
    if ((s->flags & BL_SF_ABS) && *lo < 0) /* a magnitude: the encoder sends it positive */
        *lo = 0;
    if (bl_sig_has_range(s)) {
        *lo = *lo > s->min ? *lo : s->min;
        *hi = *hi < s->max ? *hi : s->max;
    }
}
