/*
 * Sofar extended, Sungrow SBR, Afore, Schneider and GoodWe LV against
 * protocols/vectors/can/others.csv (SOF-*, SGR-*, AFR-*, SCH-*: emulator payloads and frames
 * derived from can-others.md). Each test names its vector.
 */
#include "cantest.h"

#define B2I BL_DIR_B2I

/* SOF-01: 29-bit 0x351 for battery 0: 0x08C6 = 2246 -> 224.6 V, 0x00FA -> 25.0 A twice,
 * 0x0780 = 1920 -> 192.0 V; SOF-06: the same payload from battery 1 on 0x1351 */
static void test_sof01_06_battery_address(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    bl_decoded_t d;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "sofar");
    bl_record_init(&r);
    d = decode_ok(&c, "C608FA00FA008007", 0x351, 1, &r);
    assert_int_equal(d.addr, 0);
    assert_int_equal(VALUE(r, BL_F_CVL), 224600);
    assert_int_equal(VALUE(r, BL_F_CCL), 25000);
    assert_int_equal(VALUE(r, BL_F_DCL), 25000);
    assert_int_equal(VALUE(r, BL_F_DVL), 192000);
    d = decode_ok(&c, "C608FA00FA008007", 0x1351, 1, &r);
    assert_int_equal(d.addr, 1);
    c.addr = 1;
    f = encode_ok(&c, 0x351, 1, B2I, 0, &r, NULL);
    assert_int_equal(f.id, 0x1351);
    assert_bytes(&f, "C608FA00FA008007");
    c.addr = 16;
    f = encode_ok(&c, 0x351, 1, B2I, 0, &r, NULL);
    assert_int_equal(f.id, 0x10351);
}

/* SOF-02 / SOF-03 / SOF-04: SOC 0x31 = 49 %, SOH 100 %; voltage in 0.1 V (not 0.01 V as Pylon
 * LV): 0x0836 = 2102 -> 210.2 V, 0x0010 -> 1.6 A, 0x00D0 -> 20.8 C; name "AMASS" */
static void test_sof02_04_measurements_and_name(void **state)
{
    bl_can_codec_t c, plv;
    bl_record_t r;
    (void)state;
    codec_for(&c, "sofar");
    bl_record_init(&r);
    decode_ok(&c, "31006400FFFFF600", 0x355, 1, &r);
    assert_int_equal(VALUE(r, BL_F_SOC), 49000);
    assert_int_equal(VALUE(r, BL_F_SOH), 100000);
    decode_ok(&c, "36081000D0000100", 0x356, 1, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 210200);
    assert_int_equal(VALUE(r, BL_F_CURRENT), 1600);
    assert_int_equal(VALUE(r, BL_F_TEMP), 20800);
    decode_ok(&c, "414D415353000000", 0x35E, 1, &r);
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "AMASS");
    /* an 11-bit Pylon LV decoder must not take these 29-bit frames */
    codec_for(&plv, "pylon-lv");
    assert_int_equal(decode_bad(&plv, "36081000D0000100", 0x356, 1), BL_REJ_ID_LENGTH);
}

/* SOF-05: remote command 0, byte 1 bits 0 and 1: discharge and charge enabled */
static void test_sof05_enable_flags(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    (void)state;
    codec_for(&c, "sofar");
    bl_record_init(&r);
    decode_ok(&c, "0003000000000000", 0x30F, 1, &r);
    assert_int_equal(VALUE(r, BL_F_DISCHARGE_ENABLE), 1);
    assert_int_equal(VALUE(r, BL_F_CHARGE_ENABLE), 1);
}

/* SGR-01 / SGR-02: 0x704 current 0xFF83 = -125 -> -12.5 A; 0x504 carries the opposite sign
 * (wire 0x007D = +12.5 A) and reads as the same -12.5 A; both written from one record */
static void test_sgr01_02_inverted_copy(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "sungrow");
    assert_int_equal(bl_proto_bitrate(c.p), 250000);
    bl_record_init(&r);
    decode_ok(&c, "A00F83FFA00FFA00", 0x704, 0, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 400000);
    assert_int_equal(VALUE(r, BL_F_CURRENT), -12500);
    assert_int_equal(VALUE(r, BL_F_TEMP), 25000);
    bl_record_init(&r);
    decode_ok(&c, "A00F7D00A00FFA00", 0x504, 0, &r);
    assert_int_equal(VALUE(r, BL_F_CURRENT), -12500);
    f = encode_ok(&c, 0x704, 0, B2I, 0, &r, NULL);
    assert_bytes(&f, "A00F83FF0000FA00"); /* VoltageCopy has no field: 0 */
    f = encode_ok(&c, 0x504, 0, B2I, 0, &r, NULL);
    assert_int_equal(f.data[2], 0x7D);
    assert_int_equal(f.data[3], 0x00);
}

/* AFR-01: 0x0FA0 -> 400.0 V; current raw 0x1405 = 5125 -> 512.5 - 500 = +12.5 A (charging);
 * temperature raw 0x04E2 = 1250 -> 125.0 - 100 = 25.0 C. The battery answers the 0x305 poll. */
static void test_afr01_offsets_and_poll(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    bl_reaction_t re;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "afore");
    bl_record_init(&r);
    decode_ok(&c, "A00F0514E2040000", 0x350, 0, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 400000);
    assert_int_equal(VALUE(r, BL_F_CURRENT), 12500);
    assert_int_equal(VALUE(r, BL_F_TEMP), 25000);
    f = vec(0x305, 0, "41464F5245000001"); /* "AFORE", status 1 */
    assert_false(c.started);
    assert_int_equal(bl_can_react(&c, &f, 1000, &re), 1);
    assert_int_equal(re.n, 5);
    assert_int_equal(re.send[0]->id, 0x350);
}

/* SCH-01: big-endian 32-bit: 0x0000ABE0 = 44000 -> 440.00 V, 0xFFFFF830 = -2000 -> -20.00 A */
static void test_sch01_32_bit_big_endian(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "schneider");
    bl_record_init(&r);
    decode_ok(&c, "0000ABE0FFFFF830", 0x323, 1, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 440000);
    assert_int_equal(VALUE(r, BL_F_CURRENT), -20000);
    f = encode_ok(&c, 0x323, 1, B2I, 0, &r, NULL);
    assert_bytes(&f, "0000ABE0FFFFF830");
}

/* GoodWe LV is low confidence and says so; derived frame: 0x0230 -> 56.0 V, 0x03E8 -> 100.0 A,
 * 0x04B0 -> 120.0 A, 0x01B8 -> 44.0 V */
static void test_goodwe_low_confidence(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    bl_caps_t caps;
    (void)state;
    codec_for(&c, "goodwe-lv");
    assert_int_equal(c.p->confidence, BL_CONF_LOW);
    bl_record_init(&r);
    decode_ok(&c, "3002E803B004B801", 0x456, 0, &r);
    assert_int_equal(VALUE(r, BL_F_CVL), 56000);
    assert_int_equal(VALUE(r, BL_F_CCL), 100000);
    assert_int_equal(VALUE(r, BL_F_DCL), 120000);
    assert_int_equal(VALUE(r, BL_F_DVL), 44000);
    bl_proto_caps(c.p, &caps);
    assert_true(caps.unverified & BL_BIT(BL_F_SOC)); /* the 0.01 % reading is one source's */
    assert_false(caps.unverified & BL_BIT(BL_F_CVL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sof01_06_battery_address),
        cmocka_unit_test(test_sof02_04_measurements_and_name),
        cmocka_unit_test(test_sof05_enable_flags),
        cmocka_unit_test(test_sgr01_02_inverted_copy),
        cmocka_unit_test(test_afr01_offsets_and_poll),
        cmocka_unit_test(test_sch01_32_bit_big_endian),
        cmocka_unit_test(test_goodwe_low_confidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
