/* The signal engine against hand-derived bit layouts (DBC semantics). */
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

/* Intel 16 bits at byte 0: 0x14 0x02 -> 0x0214 = 532 */
static void test_intel_reads_low_byte_first(void **state)
{
    const uint8_t d[] = { 0x14, 0x02 };
    bl_signal_t s = sig(0, 16, BL_LE, 0, 100, 1, 0);
    uint64_t raw;
    (void)state;
    assert_int_equal(bl_sig_raw_get(&s, d, sizeof d, &raw), 0);
    assert_int_equal(raw, 532);
    assert_int_equal(bl_sig_to_milli(&s, (int64_t)raw), 53200); /* 0.1 V steps -> 53.2 V */
}

/* Motorola 16 bits, DBC start bit 7 (MSB of byte 0): 0x02 0x14 -> 0x0214 */
static void test_motorola_start_bit_names_the_msb(void **state)
{
    const uint8_t d[] = { 0x02, 0x14 };
    bl_signal_t s = sig(7, 16, BL_BE, 0, 1000, 1, 0);
    uint64_t raw;
    (void)state;
    assert_int_equal(bl_sig_raw_get(&s, d, sizeof d, &raw), 0);
    assert_int_equal(raw, 0x0214);
}

/* Motorola 12 bits from byte 0 bit 3: byte 0 bits 3..0 then byte 1 bits 7..0.
 * 0x0A 0xBC -> 0xA (high nibble of the value) 0xBC -> 0xABC. The upper nibble
 * of byte 0 belongs to another signal and must not leak in. */
static void test_motorola_crosses_bytes_downwards(void **state)
{
    const uint8_t d[] = { 0xFA, 0xBC };
    bl_signal_t s = sig(3, 12, BL_BE, 0, 1000, 1, 0);
    uint64_t raw;
    (void)state;
    assert_int_equal(bl_sig_raw_get(&s, d, sizeof d, &raw), 0);
    assert_int_equal(raw, 0xABC);
}

/* Intel 12 bits from bit 4: 0xB0 0xCA -> word 0xCAB0 >> 4 = 0xCAB */
static void test_intel_unaligned(void **state)
{
    const uint8_t d[] = { 0xB0, 0xCA };
    bl_signal_t s = sig(4, 12, BL_LE, 0, 1000, 1, 0);
    uint64_t raw;
    (void)state;
    assert_int_equal(bl_sig_raw_get(&s, d, sizeof d, &raw), 0);
    assert_int_equal(raw, 0xCAB);
}

static void test_put_writes_only_its_bits(void **state)
{
    uint8_t d[2] = { 0xF0, 0x00 };
    bl_signal_t s = sig(3, 12, BL_BE, 0, 1000, 1, 0);
    (void)state;
    assert_int_equal(bl_sig_raw_put(&s, d, sizeof d, 0xABC), 0);
    assert_int_equal(d[0], 0xFA); /* high nibble 0xF kept */
    assert_int_equal(d[1], 0xBC);
    s = sig(4, 12, BL_LE, 0, 1000, 1, 0);
    d[0] = 0x0F;
    d[1] = 0;
    assert_int_equal(bl_sig_raw_put(&s, d, sizeof d, 0xCAB), 0);
    assert_int_equal(d[0], 0xBF); /* low nibble 0xF kept */
    assert_int_equal(d[1], 0xCA);
}

/* 0xFF9C as S16 = -100; at 0.1 A that is -10.0 A; with BL_SF_ABS +10.0 A */
static void test_signed_values_and_magnitudes(void **state)
{
    const uint8_t d[] = { 0x9C, 0xFF };
    bl_signal_t s = sig(0, 16, BL_LE, BL_SF_SIGNED, 100, 1, 0);
    uint64_t raw;
    (void)state;
    assert_int_equal(bl_sig_raw_get(&s, d, sizeof d, &raw), 0);
    assert_int_equal(bl_sig_raw_value(&s, raw), -100);
    assert_int_equal(bl_sig_to_milli(&s, -100), -10000);
    s.flags |= BL_SF_ABS;
    assert_int_equal(bl_sig_to_milli(&s, -100), 10000);
}

/* Pylon HV current: raw = I x 10 + 30000 -> 0.1 A steps with -3000 A offset.
 * raw 29500 -> -50.0 A; 50.0 A -> raw 30500. */
static void test_offsets_apply_after_scaling(void **state)
{
    bl_signal_t s = sig(0, 16, BL_LE, 0, 100, 1, -3000000);
    int64_t raw;
    (void)state;
    assert_int_equal(bl_sig_to_milli(&s, 29500), -50000);
    assert_int_equal(bl_sig_from_milli(&s, 50000, &raw), 0);
    assert_int_equal(raw, 30500);
}

/* Rounding is half away from zero, both ways. 0.1 mV steps: raw 33255 ->
 * 3325.5 mV -> 3326 mV. 53.25 V at 0.1 V -> 532.5 -> 533; -0.05 A -> -1. */
static void test_rounding_is_half_away_from_zero(void **state)
{
    bl_signal_t fine = sig(0, 16, BL_LE, 0, 1, 10, 0);
    bl_signal_t volts = sig(0, 16, BL_LE, 0, 100, 1, 0);
    bl_signal_t amps = sig(0, 16, BL_LE, BL_SF_SIGNED, 100, 1, 0);
    int64_t raw;
    (void)state;
    assert_int_equal(bl_sig_to_milli(&fine, 33255), 3326);
    assert_int_equal(bl_sig_to_milli(&fine, -33255), -3326);
    assert_int_equal(bl_sig_from_milli(&volts, 53250, &raw), 0);
    assert_int_equal(raw, 533);
    assert_int_equal(bl_sig_from_milli(&amps, -50, &raw), 0);
    assert_int_equal(raw, -1);
}

/* 7000 A does not fit a S16 of 0.1 A (max 3276.7 A): error, clamped raw reported */
static void test_encode_out_of_raw_range_is_an_error(void **state)
{
    bl_signal_t s = sig(0, 16, BL_LE, BL_SF_SIGNED, 100, 1, 0);
    bl_signal_t u = sig(0, 8, BL_LE, 0, 1000, 1, 0);
    int64_t raw;
    (void)state;
    assert_int_equal(bl_sig_from_milli(&s, 7000000, &raw), BL_ERANGE);
    assert_int_equal(raw, 32767);
    assert_int_equal(bl_sig_from_milli(&s, -7000000, &raw), BL_ERANGE);
    assert_int_equal(raw, -32768);
    assert_int_equal(bl_sig_from_milli(&u, -1000, &raw), BL_ERANGE); /* -1 into unsigned */
    assert_int_equal(raw, 0);
}

static void test_a_signal_beyond_the_frame_is_absent(void **state)
{
    const uint8_t d[6] = { 0 };
    bl_signal_t s = sig(48, 16, BL_LE, 0, 100, 1, 0); /* bytes 6-7 of a 6-byte frame */
    bl_signal_t too_wide = sig(60, 16, BL_LE, 0, 100, 1, 0);
    uint64_t raw;
    (void)state;
    assert_int_equal(bl_sig_raw_get(&s, d, sizeof d, &raw), BL_ERANGE);
    assert_int_equal(bl_sig_raw_get(&too_wide, d, 8, &raw), BL_ERANGE);
}

static void test_64_bit_signals(void **state)
{
    const uint8_t d[8] = { 1, 2, 3, 4, 5, 6, 7, 0x88 };
    bl_signal_t le = sig(0, 64, BL_LE, 0, 1000, 1, 0);
    bl_signal_t be = sig(7, 64, BL_BE, 0, 1000, 1, 0);
    uint64_t raw;
    (void)state;
    assert_int_equal(bl_sig_raw_get(&le, d, 8, &raw), 0);
    assert_true(raw == UINT64_C(0x8807060504030201));
    assert_int_equal(bl_sig_raw_get(&be, d, 8, &raw), 0);
    assert_true(raw == UINT64_C(0x0102030405060788));
}

/* SMA "invalid": 0x8000 in signed fields, 0xFFFF in unsigned ones */
static void test_invalid_markers(void **state)
{
    bl_signal_t s = sig(0, 16, BL_LE, BL_SF_SIGNED | BL_SF_INVALID, 100, 1, 0);
    bl_signal_t u = sig(0, 16, BL_LE, BL_SF_INVALID, 100, 1, 0);
    (void)state;
    assert_true(bl_sig_is_invalid_marker(&s, 0x8000));
    assert_false(bl_sig_is_invalid_marker(&s, 0xFFFF));
    assert_true(bl_sig_is_invalid_marker(&u, 0xFFFF));
    assert_int_equal(bl_sig_invalid_marker(&u), 0xFFFF);
}

static void test_decimals_follow_the_step(void **state)
{
    (void)state;
    bl_signal_t a = sig(0, 16, BL_LE, 0, 100, 1, 0), b = sig(0, 16, BL_LE, 0, 10, 1, 0);
    bl_signal_t c = sig(0, 16, BL_LE, 0, 1000, 1, 0), d = sig(0, 8, BL_LE, 0, 25, 1, 0);
    bl_signal_t k = sig(0, 16, BL_LE, 0, 1000, 1, -273000);
    assert_int_equal(bl_sig_decimals(&a), 1);
    assert_int_equal(bl_sig_decimals(&b), 2);
    assert_int_equal(bl_sig_decimals(&c), 0);
    assert_int_equal(bl_sig_decimals(&d), 3); /* 25 mV steps: 3.325 V */
    assert_int_equal(bl_sig_decimals(&k), 0);
}

/* Variant "BE": an Intel 16-bit field at byte 2 becomes Motorola with its MSB at byte 2 */
static void test_variant_swaps_whole_byte_fields_only(void **state)
{
    bl_signal_t s = sig(16, 16, BL_LE, 0, 100, 1, -3000000), out;
    bl_signal_t nibble = sig(4, 4, BL_LE, 0, 1000, 1, 0);
    const uint8_t d[4] = { 0, 0, 0x75, 0x30 };
    uint64_t raw;
    (void)state;
    s.flags |= BL_SF_VAR_OFFSET;
    bl_sig_variant(&s, BL_VAR_BE | BL_VAR_NO_OFFSET, &out);
    assert_int_equal(out.order, BL_BE);
    assert_int_equal(out.start, 23);
    assert_int_equal(out.offset, 0);
    assert_true(out.flags & BL_SF_SIGNED);
    assert_int_equal(bl_sig_raw_get(&out, d, sizeof d, &raw), 0);
    assert_int_equal(raw, 0x7530);
    bl_sig_variant(&nibble, BL_VAR_BE, &out);
    assert_int_equal(out.order, BL_LE);
    assert_int_equal(out.start, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intel_reads_low_byte_first),
        cmocka_unit_test(test_motorola_start_bit_names_the_msb),
        cmocka_unit_test(test_motorola_crosses_bytes_downwards),
        cmocka_unit_test(test_intel_unaligned),
        cmocka_unit_test(test_put_writes_only_its_bits),
        cmocka_unit_test(test_signed_values_and_magnitudes),
        cmocka_unit_test(test_offsets_apply_after_scaling),
        cmocka_unit_test(test_rounding_is_half_away_from_zero),
        cmocka_unit_test(test_encode_out_of_raw_range_is_an_error),
        cmocka_unit_test(test_a_signal_beyond_the_frame_is_absent),
        cmocka_unit_test(test_64_bit_signals),
        cmocka_unit_test(test_invalid_markers),
        cmocka_unit_test(test_decimals_follow_the_step),
        cmocka_unit_test(test_variant_swaps_whole_byte_fields_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
