/*
 * SMA Sunny Island external-BMS CAN and the Victron GX CAN-bus BMS profile against
 * protocols/vectors/can/sma-si.csv (derived from the SMA TI, can-sma-si.md) and
 * victron.csv (a BYD LVS <-> Venus OS 3.00 capture, DFCH). Each test names its vector.
 */
#include "cantest.h"

#define B2I BL_DIR_B2I
#define I2B BL_DIR_I2B

static bl_can_codec_t si, vic;

static int setup(void **state)
{
    (void)state;
    codec_for(&si, "sma-si");
    codec_for(&vic, "victron");
    return 0;
}

/* SMA-01: 0x0230 = 560 -> 56.0 V, 0x03E8 = 1000 -> 100.0 A, 0x04B0 = 1200 -> 120.0 A,
 * 0x01B8 = 440 -> 44.0 V */
static void test_sma01_limits_are_le_tenths(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&si, "3002E803B004B801", 0x351, 0, &r);
    assert_int_equal(VALUE(r, BL_F_CVL), 56000);
    assert_int_equal(VALUE(r, BL_F_CCL), 100000);
    assert_int_equal(VALUE(r, BL_F_DCL), 120000);
    assert_int_equal(VALUE(r, BL_F_DVL), 44000);
}

/* SMA-02: 0x8000 (signed) and 0xFFFF (unsigned) mean "not sent", not -3276.8 A / 6553.5 V */
static void test_sma02_invalid_markers_leave_fields_unset(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&si, "3002E8030080FFFF", 0x351, 0, &r);
    assert_int_equal(VALUE(r, BL_F_CVL), 56000);
    assert_int_equal(VALUE(r, BL_F_CCL), 100000);
    assert_false(VALID(r, BL_F_DCL));
    assert_false(VALID(r, BL_F_DVL));
}

/* SMA-03: SOC 0x4B = 75 %, SOH 0x62 = 98 %, bytes 4-5 0x1D77 = 7543 -> 75.43 %: the SI uses the
 * high-resolution value when present */
static void test_sma03_high_resolution_soc_wins(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&si, "4B006200771D", 0x355, 0, &r);
    assert_int_equal(VALUE(r, BL_F_SOC), 75430);
    assert_int_equal(r.f[BL_F_SOC].dec, 2);
    assert_int_equal(VALUE(r, BL_F_SOH), 98000);
}

/* SMA-04: 0x145A = 5210 -> 52.10 V, 0x0163 = 355 -> +35.5 A (charging), 0x00FA = 250 -> 25.0 C */
static void test_sma04_measurements(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&si, "5A146301FA00", 0x356, 0, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 52100);
    assert_int_equal(VALUE(r, BL_F_CURRENT), 35500);
    assert_int_equal(VALUE(r, BL_F_TEMP), 25000);
}

/* SMA-05: byte 0 A6 = 10 10 01 10: pair 2 (high voltage) = 01 raised, the others 10 cleared;
 * byte 5 A9: its pair 1 (low temperature, warning) = 01 raised */
static void test_sma05_alarm_pairs(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&si, "A6AAAAAAAAA9AAAA", 0x35A, 0, &r);
    /* "battery high voltage" stands for pack and cell over-voltage */
    assert_int_equal(r.active[BL_AC_ALARM], (1U << BL_A_PACK_OV) | (1U << BL_A_CELL_OV));
    assert_int_equal(r.active[BL_AC_WARNING], 1U << BL_A_DSG_UT);
    assert_true(r.known[BL_AC_ALARM] & (1U << BL_A_INTERNAL)); /* "general" 10: cleared, known */
}

/* SMA-06: the SI's own 0x305 reports charging current NEGATIVE: 0xFF38 = -200 -> -20.0 A on the
 * wire, +20.0 A canonical. 0x0212 -> 53.0 V, 0x00F0 -> 24.0 C, 0x0320 = 800 -> 80.0 % */
static void test_sma06_si_current_is_negated(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&si, "120238FFF0002003", 0x305, 0, &r);
    assert_int_equal(d.msg->dir, BL_DIR_I2B);
    assert_int_equal(VALUE(r, BL_F_INV_VOLTAGE), 53000);
    assert_int_equal(VALUE(r, BL_F_INV_CURRENT), 20000);
    assert_int_equal(VALUE(r, BL_F_INV_TEMP), 24000);
    assert_int_equal(VALUE(r, BL_F_INV_SOC), 80000);
    assert_false(VALID(r, BL_F_CURRENT)); /* the battery's own current is not the SI's */
}

/* SMA-07: SOH 100, charging procedure 10, operating state 1 (operating), error 0,
 * set-point 0x0228 = 552 -> 55.2 V */
static void test_sma07_si_state(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&si, "64000A0100002802", 0x306, 0, &r);
    assert_int_equal(VALUE(r, BL_F_INV_STATE), 1);
    assert_int_equal(VALUE(r, BL_F_INV_ERROR), 0);
    assert_int_equal(d.val[4], 55200);
}

/* SMA-08: remote quick stop has no data bytes; one with data is not it */
static void test_sma08_quick_stop_has_no_data(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&si, "", 0x00F, 0, &r);
    assert_string_equal(d.msg->name, "quick_stop");
    assert_int_equal(decode_bad(&si, "00", 0x00F, 0), BL_REJ_LENGTH);
}

/* The SI keeps its last good value for an "invalid" field but obeys 0 A (can-sma-si.md §2):
 * with no limits the current limits go out as 0 A, the voltages as 0xFFFF (SI defaults) */
static void test_stale_limits_are_zero_amps_not_invalid(void **state)
{
    bl_record_t r;
    bl_encoded_t res;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_DCL, 50000, 1, 0); /* 500 = 0x01F4 */
    f = encode_ok(&si, 0x351, 0, B2I, 0, &r, &res);
    assert_bytes(&f, "FFFF0000F401FFFF");
    assert_true(res.substituted & BL_BIT(BL_F_CCL));
    assert_true(res.substituted & BL_BIT(BL_F_CVL));
    assert_false(res.substituted & BL_BIT(BL_F_DCL));
}

/* Encoding SMA-03's values gives SMA-03's bytes: 75.43 % -> 75 (0x4B) and 7543 (0x1D77) */
static void test_encode_soc_both_resolutions(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_SOC, 75430, 2, 0);
    bl_record_set(&r, BL_F_SOH, 98000, 0, 0);
    f = encode_ok(&si, 0x355, 0, B2I, 0, &r, NULL);
    assert_bytes(&f, "4B006200771D");
}

/* Safe state on the SI: "general" alarm raised (pair 01 in bits 0-1), so the SI stands by */
static void test_safe_state_raises_the_general_alarm(void **state)
{
    bl_record_t r;
    bl_encoded_t res;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    f = encode_ok(&si, 0x35A, 0, B2I, 0, &r, &res);
    assert_true(res.safe_state);
    assert_int_equal(f.data[0] & 0x03, 0x01);
    assert_int_equal(f.data[2] >> 6, 0x01); /* BMS internal */
    assert_int_equal(f.data[4], 0x00);      /* warnings: no information */
}

/* VIC-03 capture: 0x0248 = 584 -> 58.4 V, 0x0500 = 1280 -> 128.0 A twice, 0x01AE = 430 -> 43.0 V */
static void test_vic03_limits(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&vic, "480200050005AE01", 0x351, 0, &r);
    assert_int_equal(VALUE(r, BL_F_CVL), 58400);
    assert_int_equal(VALUE(r, BL_F_CCL), 128000);
    assert_int_equal(VALUE(r, BL_F_DCL), 128000);
    assert_int_equal(VALUE(r, BL_F_DVL), 43000);
}

/* VIC-04 capture: DLC 8 zero padded: bytes 4-5 = 0 are padding, not a 0.00 % SOC */
static void test_vic04_zero_padding_is_not_soc(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&vic, "4300640000000000", 0x355, 0, &r);
    assert_int_equal(VALUE(r, BL_F_SOC), 67000);
    assert_int_equal(VALUE(r, BL_F_SOH), 100000);
}

/* VIC-05 capture: 0x14BE = 5310 -> 53.10 V, 0xFFF9 = -7 -> -0.7 A while discharging, 14.0 C */
static void test_vic05_discharge_is_negative(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&vic, "BE14F9FF8C000000", 0x356, 0, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 53100);
    assert_int_equal(VALUE(r, BL_F_CURRENT), -700);
    assert_int_equal(VALUE(r, BL_F_TEMP), 14000);
}

/* VIC-06 capture: every pair 10: everything known, nothing raised */
static void test_vic06_all_ok(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&vic, "AAAAAAAAAAAAAAAA", 0x35A, 0, &r);
    assert_int_equal(r.active[BL_AC_ALARM] | r.active[BL_AC_WARNING], 0);
    assert_true(r.known[BL_AC_ALARM] & (1U << BL_A_IMBALANCE));
    assert_true(r.known[BL_AC_WARNING] & (1U << BL_A_INTERNAL));
}

/* VIC-08 / VIC-09 / VIC-11 captures: "BYD" (NUL padded), 105 Ah, firmware 1.17 as hex digits
 * (0x17 shown as "17"), 2 modules online */
static void test_vic_identity_and_modules(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&vic, "4259440000000000", 0x35E, 0, &r);
    decode_ok(&vic, "4C69011769000000", 0x35F, 0, &r);
    decode_ok(&vic, "0200000000000000", 0x372, 0, &r);
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "BYD");
    assert_int_equal(VALUE(r, BL_F_CAPACITY), 105000);
    assert_string_equal(bl_record_str(&r, BL_F_FIRMWARE), "01.17");
    assert_int_equal(VALUE(r, BL_F_MODULE_COUNT), 2);
}

/* VIC-17: cells 0x0CDC = 3.292 V, 0x0D0E = 3.342 V; temperatures in kelvin: 0x0122 = 290 K ->
 * 17 C, 0x0128 = 296 K -> 23 C */
static void test_vic17_cell_temperatures_are_kelvin(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&vic, "DC0C0E0D22012801", 0x373, 0, &r);
    assert_int_equal(VALUE(r, BL_F_CELL_V_MIN), 3292);
    assert_int_equal(VALUE(r, BL_F_CELL_V_MAX), 3342);
    assert_int_equal(VALUE(r, BL_F_TEMP_MIN), 17000);
    assert_int_equal(VALUE(r, BL_F_TEMP_MAX), 23000);
}

/* VIC-01 / VIC-16 captures: the GX's 0x305 is eight zeros (a keep-alive, no measurement);
 * 0x382 "PREMIUM" is a product name, not the model field */
static void test_vic_gx_keepalive_and_product_name(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&vic, "0000000000000000", 0x305, 0, &r);
    assert_true(d.msg->flags & BL_MF_KEEPALIVE);
    assert_int_equal(d.fields, 0);
    d = decode_ok(&vic, "5052454D49554D00", 0x382, 0, &r);
    assert_string_equal(d.msg->name, "product_name");
    assert_false(VALID(r, BL_F_MODEL));
}

/* The GX's hello on 0x307 (can-victron.md §4): 12 34 56 78 "VIC" 00 */
static void test_encode_gx_hello(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    f = encode_ok(&vic, 0x307, 0, I2B, 0, &r, NULL);
    assert_bytes(&f, "1234567856494300");
}

/* Never CVL = 0 towards a GX (it means over-voltage there): a missing CVL goes out "invalid" */
static void test_victron_never_sends_cvl_zero(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    f = encode_ok(&vic, 0x351, 0, B2I, 0, &r, NULL);
    assert_int_equal(f.data[0], 0xFF);
    assert_int_equal(f.data[1], 0xFF);
}

/* Victron ignores 29-bit frames: the same id extended is not this protocol */
static void test_victron_rejects_29_bit(void **state)
{
    (void)state;
    assert_int_equal(decode_bad(&vic, "480200050005AE01", 0x351, 1), BL_REJ_ID_LENGTH);
    assert_int_equal(decode_bad(&vic, "4802", 0x373, 0), BL_REJ_LENGTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sma01_limits_are_le_tenths),
        cmocka_unit_test(test_sma02_invalid_markers_leave_fields_unset),
        cmocka_unit_test(test_sma03_high_resolution_soc_wins),
        cmocka_unit_test(test_sma04_measurements),
        cmocka_unit_test(test_sma05_alarm_pairs),
        cmocka_unit_test(test_sma06_si_current_is_negated),
        cmocka_unit_test(test_sma07_si_state),
        cmocka_unit_test(test_sma08_quick_stop_has_no_data),
        cmocka_unit_test(test_stale_limits_are_zero_amps_not_invalid),
        cmocka_unit_test(test_encode_soc_both_resolutions),
        cmocka_unit_test(test_safe_state_raises_the_general_alarm),
        cmocka_unit_test(test_vic03_limits),
        cmocka_unit_test(test_vic04_zero_padding_is_not_soc),
        cmocka_unit_test(test_vic05_discharge_is_negative),
        cmocka_unit_test(test_vic06_all_ok),
        cmocka_unit_test(test_vic_identity_and_modules),
        cmocka_unit_test(test_vic17_cell_temperatures_are_kelvin),
        cmocka_unit_test(test_vic_gx_keepalive_and_product_name),
        cmocka_unit_test(test_encode_gx_hello),
        cmocka_unit_test(test_victron_never_sends_cvl_zero),
        cmocka_unit_test(test_victron_rejects_29_bit),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
