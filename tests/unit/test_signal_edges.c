/*
 * The signal engine at its edges (DBC semantics, signal.h): writes that do not fit, 64-bit
 * fields, constants, the physical range a row can carry (invalid markers, "zero = absent",
 * magnitudes, the row's own limits), saturation of huge raw values, decimals of odd steps.
 * Expected values worked out by hand in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/signal.h"

static bl_signal_t sig(uint8_t start, uint8_t len, uint8_t order, uint16_t flags, int32_t mul, int32_t div,
                       int32_t offset)
{
    bl_signal_t s;
    memset(&s, 0, sizeof s);
    s.name = "S";
    s.unit = "";
    s.start = start;
    s.len = len;
    s.order = order;
    s.flags = flags;
    s.mul = mul;
    s.div = div;
    s.offset = offset;
    s.kind = BL_SK_NUM;
    s.field = BL_F_NONE;
    s.mux = -1;
    return s;
}

/* A 16-bit field at byte 6 needs 8 bytes: into a 6-byte frame it does not go, and the frame
 * is left as it was; a field of 0 bits or one running past bit 63 fits nowhere */
static void test_put_that_does_not_fit_is_an_error_and_writes_nothing(void **state)
{
    uint8_t d[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    const uint8_t same[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    bl_signal_t s = sig(48, 16, BL_LE, 0, 1000, 1, 0), none = sig(0, 0, BL_LE, 0, 1000, 1, 0);
    bl_signal_t past = sig(7, 16, BL_BE, 0, 1000, 1, 0);
    (void)state;
    assert_int_equal(bl_sig_raw_put(&s, d, 6, 0xFFFF), BL_ERANGE);
    assert_int_equal(bl_sig_raw_put(&none, d, 8, 1), BL_ERANGE);
    past.start = 63; /* Motorola MSB at byte 7 bit 7 (position 56): 16 bits would end at 72 */
    assert_int_equal(bl_sig_raw_put(&past, d, 8, 1), BL_ERANGE);
    assert_memory_equal(d, same, 8);
    /* Motorola 12 bits, MSB byte 0 bit 3: writes 0xABC as byte 0 low nibble A, byte 1 BC */
    {
        bl_signal_t m = sig(3, 12, BL_BE, 0, 1000, 1, 0);
        uint8_t z[2] = { 0xF0, 0x00 };
        assert_int_equal(bl_sig_raw_put(&m, z, 2, 0xFABC), 0); /* masked to 12 bits */
        assert_int_equal(z[0], 0xFA);
        assert_int_equal(z[1], 0xBC);
    }
}

/* Two's complement by the field's width: 0xFFF in 12 signed bits is -1, 0x7FF is +2047;
 * a 64-bit signed field is the word itself */
static void test_sign_extension_by_field_width(void **state)
{
    bl_signal_t s12 = sig(0, 12, BL_LE, BL_SF_SIGNED, 1000, 1, 0), s64 = sig(0, 64, BL_LE, BL_SF_SIGNED, 1, 1, 0);
    bl_signal_t u12 = sig(0, 12, BL_LE, 0, 1000, 1, 0);
    (void)state;
    assert_int_equal(bl_sig_raw_value(&s12, 0xFFF), -1);
    assert_int_equal(bl_sig_raw_value(&s12, 0x7FF), 2047);
    assert_int_equal(bl_sig_raw_value(&u12, 0xFFF), 4095);
    assert_true(bl_sig_raw_value(&s64, UINT64_MAX) == -1);
}

/* A constant (mul 0) encodes its default whatever the value; 64-bit fields take any
 * int64 step count: +-5e12 milli at 1 milli a step is +-5e12 raw, negative only when signed */
static void test_constants_and_64_bit_encodes(void **state)
{
    bl_signal_t k = sig(0, 8, BL_LE, 0, 0, 1, 0), s64 = sig(0, 64, BL_LE, BL_SF_SIGNED, 1, 1, 0);
    bl_signal_t u64 = sig(0, 64, BL_LE, 0, 1, 1, 0);
    int64_t raw;
    (void)state;
    k.def = 0x5A;
    assert_int_equal(bl_sig_from_milli(&k, 123456, &raw), 0);
    assert_int_equal(raw, 0x5A);
    assert_int_equal(bl_sig_from_milli(&s64, -5000000000000, &raw), 0);
    assert_true(raw == -5000000000000);
    assert_int_equal(bl_sig_from_milli(&u64, 5000000000000, &raw), 0);
    assert_true(raw == 5000000000000);
    assert_int_equal(bl_sig_from_milli(&u64, -1, &raw), BL_ERANGE);
    assert_int_equal(raw, 0);
    /* a negative step: -100 milli a raw unit, so -250 milli is raw +2.5 -> 3 (half away from 0) */
    {
        bl_signal_t neg = sig(0, 8, BL_LE, 0, -100, 1, 0);
        assert_int_equal(bl_sig_from_milli(&neg, -250, &raw), 0);
        assert_int_equal(raw, 3);
    }
}

/* Raw values beyond 2^31 times a big step would overflow int64: they saturate at
 * +-INT64_MAX/4, and a magnitude (BL_SF_ABS) folds the negative one positive */
static void test_huge_raw_values_saturate(void **state)
{
    bl_signal_t s = sig(0, 64, BL_LE, BL_SF_SIGNED, 1000000, 1, 0), a;
    const int64_t lim = INT64_MAX / 4;
    (void)state;
    a = s;
    a.flags |= BL_SF_ABS;
    assert_true(bl_sig_to_milli(&s, INT64_C(1) << 50) == lim);
    assert_true(bl_sig_to_milli(&s, -(INT64_C(1) << 50)) == -lim);
    assert_true(bl_sig_to_milli(&a, -(INT64_C(1) << 50)) == lim);
    s.mul = -1000000; /* a negative step flips the side it saturates on */
    assert_true(bl_sig_to_milli(&s, INT64_C(1) << 50) == -lim);
    /* 2^40 at 1000 a step is 1.0995e15, well inside: no saturation */
    s.mul = 1000;
    assert_true(bl_sig_to_milli(&s, INT64_C(1) << 40) == (INT64_C(1) << 40) * 1000);
}

/* The physical range a row can carry:
 *  - 8-bit unsigned, 1 V steps: 0..255 V; with the SMA invalid marker 0xFF: 0..254 V
 *  - 8-bit signed with the marker 0x80: -127..127 (the marker is not a value)
 *  - "zero means absent": 1..255
 *  - a magnitude (ABS) of a signed 8-bit field: what the encoder sends, 0..127, never negative
 *  - the row's own limits cut it: min 10 V, max 100 V
 *  - no bits: nothing (0..0) */
static void test_range_a_row_can_carry(void **state)
{
    bl_signal_t u = sig(0, 8, BL_LE, 0, 1000, 1, 0), s = sig(0, 8, BL_LE, BL_SF_SIGNED | BL_SF_INVALID, 1000, 1, 0);
    int64_t lo, hi;
    (void)state;
    bl_sig_range(&u, &lo, &hi);
    assert_true(lo == 0 && hi == 255000);
    u.flags = BL_SF_INVALID;
    bl_sig_range(&u, &lo, &hi);
    assert_true(lo == 0 && hi == 254000);
    bl_sig_range(&s, &lo, &hi);
    assert_true(lo == -127000 && hi == 127000);
    u.flags = BL_SF_ZERO_ABSENT;
    bl_sig_range(&u, &lo, &hi);
    assert_true(lo == 1000 && hi == 255000);
    s.flags = BL_SF_SIGNED | BL_SF_ABS;
    bl_sig_range(&s, &lo, &hi);
    assert_true(lo == 0 && hi == 127000);
    u.flags = 0;
    u.min = 10000;
    u.max = 100000;
    bl_sig_range(&u, &lo, &hi);
    assert_true(lo == 10000 && hi == 100000);
    u.len = 0;
    bl_sig_range(&u, &lo, &hi);
    assert_true(lo == 0 && hi == 0);
}

/* 64-bit rows: the raw range is held to +-INT64_MAX/1024 (about +-9.007e15) so that scaling
 * cannot overflow; at 1 milli a step that is the physical range too */
static void test_range_of_64_bit_rows(void **state)
{
    bl_signal_t s = sig(0, 64, BL_LE, BL_SF_SIGNED, 1, 1, 0), u = sig(0, 64, BL_LE, 0, 1, 1, 0);
    int64_t lo, hi;
    (void)state;
    bl_sig_range(&s, &lo, &hi);
    assert_true(lo == INT64_MIN / 1024 && hi == INT64_MAX / 1024);
    bl_sig_range(&u, &lo, &hi);
    assert_true(lo == 0 && hi == INT64_MAX / 1024);
}

/* Decimals worth printing: only numbers have them; a step of 1/3 milli-unit (mul 1, div 3)
 * is not a whole number of milli: all three; an offset of 0.05 (50 milli) needs two */
static void test_decimals_of_odd_steps(void **state)
{
    bl_signal_t third = sig(0, 16, BL_LE, 0, 1, 3, 0), off = sig(0, 16, BL_LE, 0, 1000, 1, 50);
    bl_signal_t alarm = sig(0, 1, BL_LE, 0, 1000, 1, 0);
    (void)state;
    alarm.kind = BL_SK_ALARM;
    assert_int_equal(bl_sig_decimals(&third), 3);
    assert_int_equal(bl_sig_decimals(&off), 2);
    assert_int_equal(bl_sig_decimals(&alarm), 0);
}

/* Byte-order variants apply to whole-byte fields only: a 16-bit field starting at bit 4
 * stays Intel; the offset variant leaves rows without BL_SF_VAR_OFFSET alone */
static void test_variants_leave_unaligned_fields_and_fixed_offsets_alone(void **state)
{
    bl_signal_t odd = sig(4, 16, BL_LE, 0, 1000, 1, 0), fixed = sig(0, 16, BL_LE, 0, 100, 1, -3000000), out;
    (void)state;
    bl_sig_variant(&odd, BL_VAR_BE, &out);
    assert_int_equal(out.order, BL_LE);
    assert_int_equal(out.start, 4);
    bl_sig_variant(&fixed, BL_VAR_NO_OFFSET, &out);
    assert_int_equal(out.offset, -3000000);
    assert_false(out.flags & BL_SF_SIGNED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_that_does_not_fit_is_an_error_and_writes_nothing),
        cmocka_unit_test(test_sign_extension_by_field_width),
        cmocka_unit_test(test_constants_and_64_bit_encodes),
        cmocka_unit_test(test_huge_raw_values_saturate),
        cmocka_unit_test(test_range_a_row_can_carry),
        cmocka_unit_test(test_range_of_64_bit_rows),
        cmocka_unit_test(test_decimals_of_odd_steps),
        cmocka_unit_test(test_variants_leave_unaligned_fields_and_fixed_offsets_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
