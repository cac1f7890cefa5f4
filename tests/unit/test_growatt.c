/*
 * Growatt LV V1.04, HV V1.10 and WIT V1.1 against protocols/vectors/can/growatt.csv
 * (the official 0x301 poll and frames derived from can-growatt.md). Each test names its vector.
 */
#include "cantest.h"

#define B2I BL_DIR_B2I
#define I2B BL_DIR_I2B

static bl_can_codec_t lv;

static int setup(void **state)
{
    (void)state;
    codec_for(&lv, "growatt-lv");
    return 0;
}

/* GRW-01 (official example): the inverter's poll is 11 22 33 44 55 66 77 88 */
static void test_grw01_inverter_poll(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    bl_reaction_t re;
    bl_can_codec_t c;
    (void)state;
    bl_record_init(&r);
    f = encode_ok(&lv, 0x301, 0, I2B, 0, &r, NULL);
    assert_bytes(&f, "1122334455667788");
    codec_for(&c, "growatt-lv");
    assert_false(c.started);
    assert_int_equal(bl_can_react(&c, &f, 1000, &re), 1);
    assert_int_equal(re.n, 7); /* 0x311-0x314, 0x319-0x321; cells 0x315-0x318 are optional */
    assert_int_equal(re.send[0]->id, 0x311);
    assert_int_equal(re.send[6]->id, 0x321);
}

/* GRW-02: BE: 0x0230 -> 56.0 V, 0x03E8 -> 100.0 A twice; status word 0x0062: its bits 0-7 are
 * byte 7 = 0110 0010: state 2 (charging), bit 5 discharge enabled, bit 6 charge enabled */
static void test_grw02_status_word_is_big_endian(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&lv, "023003E803E80062", 0x311, 0, &r);
    assert_int_equal(VALUE(r, BL_F_CVL), 56000);
    assert_int_equal(VALUE(r, BL_F_CCL), 100000);
    assert_int_equal(VALUE(r, BL_F_DCL), 100000);
    assert_int_equal(d.val[3], 2000); /* State */
    assert_int_equal(VALUE(r, BL_F_DISCHARGE_ENABLE), 1);
    assert_int_equal(VALUE(r, BL_F_CHARGE_ENABLE), 1);
    assert_int_equal(d.val[10], 0); /* MasterBoxMode, byte 6 */
    f = encode_ok(&lv, 0x311, 0, B2I, 0, &r, NULL);
    assert_bytes(&f, "023003E803E80060"); /* the encoder does not know the state: 0 */
}

/* GRW-03: byte 0 0x10 = P1 bit 4 cell over-voltage (protection); byte 3 0x01 = A2 bit 0
 * internal communication fail (alarm); 2 packs, code 0xAABB, 16 cells */
static void test_grw03_protection_alarm_packs(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&lv, "1000000102AABB10", 0x312, 0, &r);
    assert_int_equal(r.active[BL_AC_PROTECTION], 1U << BL_A_CELL_OV);
    assert_int_equal(r.active[BL_AC_ALARM], 1U << BL_A_COMM);
    assert_int_equal(VALUE(r, BL_F_MODULE_COUNT), 2);
    assert_true(d.val[28] == INT64_C(43707000)); /* ManufacturerCode 0xAABB */
}

/* GRW-04: 0x14C0 = 5312 -> 53.12 V, 0xFF65 = -155 -> -15.5 A, 0x0113 = 275 -> 27.5 C (max cell),
 * SOC 0x4C = 76 %, byte 7 0x62: SOH 98 %, flag 0. With the flag set (0xE2) SOH is still 98 %. */
static void test_grw04_soh_in_seven_bits(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&lv, "14C0FF6501134C62", 0x313, 0, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 53120);
    assert_int_equal(VALUE(r, BL_F_CURRENT), -15500);
    assert_int_equal(VALUE(r, BL_F_TEMP_MAX), 27500);
    assert_int_equal(VALUE(r, BL_F_SOC), 76000);
    assert_int_equal(VALUE(r, BL_F_SOH), 98000);
    decode_ok(&lv, "14C0FF6501134CE2", 0x313, 0, &r);
    assert_int_equal(VALUE(r, BL_F_SOH), 98000);
}

/* GRW-05: capacities in 10 mAh: 0x1F40 = 8000 -> 80 Ah, 0x2710 = 10000 -> 100 Ah; cell delta
 * 12 mV; 0x0159 = 345 cycles */
static void test_grw05_capacity_in_10_mah(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&lv, "1F402710000C0159", 0x314, 0, &r);
    assert_int_equal(d.val[0], 80000);
    assert_int_equal(VALUE(r, BL_F_CAPACITY), 100000);
    assert_int_equal(d.val[2], 12);
    assert_int_equal(VALUE(r, BL_F_CYCLE_COUNT), 345);
}

/* GRW-06: byte 0 0xC0: charge and discharge enable, no force charge, chemistry 0 (LFP);
 * cells 0x0D11 = 3.345 V max (cell 5), 0x0D05 = 3.333 V min (cell 12) */
static void test_grw06_flags_and_cells(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&lv, "C00D110D05050C00", 0x319, 0, &r);
    assert_int_equal(VALUE(r, BL_F_CHARGE_ENABLE), 1);
    assert_int_equal(VALUE(r, BL_F_DISCHARGE_ENABLE), 1);
    assert_int_equal(VALUE(r, BL_F_FORCE_CHARGE), 0);
    assert_int_equal(VALUE(r, BL_F_CELL_V_MAX), 3345);
    assert_int_equal(VALUE(r, BL_F_CELL_V_MIN), 3333);
}

/* GRW-07: "AB", hardware 1, software 2, date-time 0x6162DB5E (2024-05-17 13:45:30 packed) */
static void test_grw07_manufacturer_version_time(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&lv, "414201026162DB5E", 0x320, 0, &r);
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "AB");
    assert_string_equal(bl_record_str(&r, BL_F_FIRMWARE), "2");
    assert_true(d.val[3] == INT64_C(1633868638000));
    /* seconds bits 0-5 = 30, minutes 6-11 = 45, hours 12-16 = 13 */
    assert_int_equal((0x6162DB5Eu >> 0) & 63u, 30);
    assert_int_equal((0x6162DB5Eu >> 6) & 63u, 45);
    assert_int_equal((0x6162DB5Eu >> 12) & 31u, 13);
}

/* Safe state: P2 bit 3 system error and A2 bit 0 internal comm fail raised, 0 A limits */
static void test_safe_state(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    f = encode_ok(&lv, 0x312, 0, B2I, 0, &r, NULL);
    assert_true(f.data[1] & 0x08);
    assert_true(f.data[3] & 0x01);
    f = encode_ok(&lv, 0x311, 0, B2I, 0, &r, NULL);
    assert_int_equal(f.data[2] | f.data[3] | f.data[4] | f.data[5], 0);
    assert_int_equal(f.data[7] & 0x60, 0); /* neither enable bit */
}

/* GRW-08 (HV, 29-bit BE): 0x0FA0 -> 400.0 V, 0xFF38 = -200 -> -20.0 A, 25.0 C, SOC 60, SOH 100;
 * the BMS sends only after the PCS heartbeat 0x3010 */
static void test_grw08_hv_after_heartbeat(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    bl_reaction_t re;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "growatt-hv");
    bl_record_init(&r);
    decode_ok(&c, "0FA0FF3800FA3C64", 0x3130, 1, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 400000);
    assert_int_equal(VALUE(r, BL_F_CURRENT), -20000);
    assert_int_equal(VALUE(r, BL_F_TEMP_MAX), 25000);
    assert_int_equal(VALUE(r, BL_F_SOC), 60000);
    assert_int_equal(VALUE(r, BL_F_SOH), 100000);
    assert_false(c.started);
    f = vec(0x3010, 1, "0001000000000000");
    bl_can_react(&c, &f, 1000, &re);
    assert_true(c.started);
    /* the same id is Pylon HV's PCS heartbeat in one emulator: not the same protocol */
    assert_int_equal(decode_bad(&c, "0FA0FF3800FA3C64", 0x3130, 0), BL_REJ_ID_LENGTH);
}

/* GRW-09 (WIT, 29-bit LE): voltage 0x0FA0 -> 400.0 V in bytes 2-3; current raw 0x2616 = 9750 ->
 * 975.0 - 1000 = -25.0 A in bytes 4-5 */
static void test_grw09_wit_current_offset(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    bl_reaction_t re;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "growatt-wit");
    bl_record_init(&r);
    decode_ok(&c, "0000A00F16260000", 0x1AC7FFF3, 1, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 400000);
    assert_int_equal(VALUE(r, BL_F_CURRENT), -25000);
    f = vec(0x1AB51234, 1, "0100000000000000"); /* PCS heartbeat; its low id bits are not given */
    bl_can_react(&c, &f, 1000, &re);
    assert_true(c.started);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grw01_inverter_poll),
        cmocka_unit_test(test_grw02_status_word_is_big_endian),
        cmocka_unit_test(test_grw03_protection_alarm_packs),
        cmocka_unit_test(test_grw04_soh_in_seven_bits),
        cmocka_unit_test(test_grw05_capacity_in_10_mah),
        cmocka_unit_test(test_grw06_flags_and_cells),
        cmocka_unit_test(test_grw07_manufacturer_version_time),
        cmocka_unit_test(test_safe_state),
        cmocka_unit_test(test_grw08_hv_after_heartbeat),
        cmocka_unit_test(test_grw09_wit_current_offset),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
