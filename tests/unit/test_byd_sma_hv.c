/*
 * BYD HVS and SMA HV (both big endian, BYD conventions) against
 * protocols/vectors/can/byd-hvs.csv and sma-hv.csv (emulator payloads and frames
 * derived from can-byd-hvs.md / can-sma-hv.md). Each test names its vector.
 */
#include "cantest.h"

#define B2I BL_DIR_B2I

static bl_can_codec_t byd, smh;

static int setup(void **state)
{
    (void)state;
    codec_for(&byd, "byd-hvs");
    codec_for(&smh, "sma-hv");
    return 0;
}

/* BYD-01: BE; 0x10E0 = 4320 -> 432.0 V, 0x0D20 = 3360 -> 336.0 V, then the DISCHARGE limit
 * 0x00FA = 250 -> 25.0 A before the CHARGE limit 0x00C8 = 200 -> 20.0 A */
static void test_byd01_limits_discharge_before_charge(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    decode_ok(&byd, "10E00D2000FA00C8", 0x110, 0, &r);
    assert_int_equal(VALUE(r, BL_F_CVL), 432000);
    assert_int_equal(VALUE(r, BL_F_DVL), 336000);
    assert_int_equal(VALUE(r, BL_F_DCL), 25000);
    assert_int_equal(VALUE(r, BL_F_CCL), 20000);
    f = encode_ok(&byd, 0x110, 0, B2I, 0, &r, NULL);
    assert_bytes(&f, "10E00D2000FA00C8");
}

/* BYD-02: SOC 0x15B3 = 5555 -> 55.55 %, SOH 0x26AC = 9900 -> 99.00 %, remaining 0x0116 = 278 ->
 * 27.8 Ah, full 0x01F4 = 500 -> 50.0 Ah */
static void test_byd02_soc_in_hundredths(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&byd, "15B326AC011601F4", 0x150, 0, &r);
    assert_int_equal(VALUE(r, BL_F_SOC), 55550);
    assert_int_equal(VALUE(r, BL_F_SOH), 99000);
    assert_int_equal(VALUE(r, BL_F_CAPACITY), 50000);
    assert_int_equal(d.val[2], 27800);
}

/* BYD-03: 0x0F4B = 3915 -> 391.5 V, 0xFF85 = -123 -> -12.3 A (discharging), 0x00D7 -> 21.5 C */
static void test_byd03_current_sign(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&byd, "0F4BFF8500D70308", 0x1D0, 0, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 391500);
    assert_int_equal(VALUE(r, BL_F_CURRENT), -12300);
    assert_int_equal(VALUE(r, BL_F_TEMP), 21500);
}

/* BYD-04: 0x00F0 -> 24.0 C, 0x00C3 -> 19.5 C */
static void test_byd04_temperature_extremes(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&byd, "00F000C300000000", 0x210, 0, &r);
    assert_int_equal(VALUE(r, BL_F_TEMP_MAX), 24000);
    assert_int_equal(VALUE(r, BL_F_TEMP_MIN), 19500);
}

/* BYD-06: capacity 0x00F0 = 240 -> 24.0 kWh (energy, not capacity_Ah); firmware bytes 03 29 */
static void test_byd06_capacity_is_energy(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&byd, "0329006600F00209", 0x250, 0, &r);
    assert_int_equal(d.val[3], 24000);
    assert_false(VALID(r, BL_F_CAPACITY));
    assert_string_equal(bl_record_str(&r, BL_F_FIRMWARE), "03.29");
}

/* BYD-07/08/09-12: the identity frames an empty record sends are the emulator's bytes, and the
 * four multiplexed 0x3D0 frames read back as one model name */
static void test_byd_identity_frames(void **state)
{
    static const char *model[4] = { "0042617474657279", "012D426F78205072", "02656D69756D2048",
                                    "0356530000000000" };
    bl_record_t empty, r;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&empty);
    bl_record_init(&r);
    f = encode_ok(&byd, 0x290, 0, B2I, 0, &empty, NULL);
    assert_bytes(&f, "063710D900000000");
    f = encode_ok(&byd, 0x2D0, 0, B2I, 0, &empty, NULL);
    assert_bytes(&f, "0042594400000000");
    for (unsigned i = 0; i < 4; i++) {
        f = encode_ok(&byd, 0x3D0, 0, B2I, i, &empty, NULL);
        assert_bytes(&f, model[i]);
        decode_ok(&byd, model[i], 0x3D0, 0, &r);
    }
    assert_string_equal(bl_record_str(&r, BL_F_MODEL), "Battery-Box Premium HVS");
    decode_ok(&byd, "0042594400000000", 0x2D0, 0, &r);
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "BYD");
}

/* BYD-14/15/16: the inverter's frames: 0x0F3C -> 390.0 V, 0x012C -> 30.0 C; SOC 0x022B = 555 ->
 * 55.5 %; time 0x65A1B2C3 = 1705095875 s */
static void test_byd14_16_inverter_frames(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    decode_ok(&byd, "0F3C0000012C0000", 0x091, 0, &r);
    assert_int_equal(VALUE(r, BL_F_INV_VOLTAGE), 390000);
    assert_int_equal(VALUE(r, BL_F_INV_TEMP), 30000);
    decode_ok(&byd, "022B000000000000", 0x0D1, 0, &r);
    assert_int_equal(VALUE(r, BL_F_INV_SOC), 55500);
    d = decode_ok(&byd, "65A1B2C300000000", 0x111, 0, &r);
    assert_true(d.val[0] == INT64_C(1705095875000));
}

/* can-byd-hvs.md §2, §5: silent until the inverter talks; BYD-13 asks for the identity set;
 * 60 s of silence and the battery goes quiet again */
static void test_byd_waits_for_the_inverter(void **state)
{
    bl_can_codec_t c;
    bl_reaction_t re;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "byd-hvs");
    assert_false(c.started);
    f = vec(0x191, 0, "0000000000000000");
    bl_can_react(&c, &f, 1000, &re);
    assert_true(c.started);
    assert_true(re.started);
    assert_int_equal(re.n, 0);
    f = vec(0x151, 0, "0100000000000000"); /* BYD-13 */
    bl_can_react(&c, &f, 2000, &re);
    assert_int_equal(re.n, 4);
    assert_int_equal(re.send[0]->id, 0x250);
    assert_int_equal(re.send[3]->id, 0x3D0);
    assert_int_equal(re.send[3]->nmux, 4); /* all four name frames */
    f = vec(0x151, 0, "0044657965000000"); /* bit 0 clear: a brand, no identity request */
    bl_can_react(&c, &f, 3000, &re);
    assert_int_equal(re.n, 0);
    assert_true(bl_can_link_check(&c, 62999));
    assert_false(bl_can_link_check(&c, 63000));
    assert_false(c.started);
}

/* SMH-01: 0x1240 = 4672 -> 467.2 V, 0x0C80 -> 320.0 V, 0x0100 = 256 -> 25.6 A both */
static void test_smh01_limits(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&smh, "12400C8001000100", 0x358, 0, &r);
    assert_int_equal(VALUE(r, BL_F_CVL), 467200);
    assert_int_equal(VALUE(r, BL_F_DVL), 320000);
    assert_int_equal(VALUE(r, BL_F_DCL), 25600);
    assert_int_equal(VALUE(r, BL_F_CCL), 25600);
}

/* SMH-02 / SMH-03: SOC 0x0406 = 1030 -> 10.30 %, SOH 100.00 %; 0x1062 = 4194 -> 419.4 V, 0 A,
 * 12.0 C, battery state 2 (stop) */
static void test_smh02_03_soc_and_state(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    decode_ok(&smh, "04062710001900FA", 0x3D8, 0, &r);
    assert_int_equal(VALUE(r, BL_F_SOC), 10300);
    assert_int_equal(VALUE(r, BL_F_SOH), 100000);
    d = decode_ok(&smh, "1062000000780208", 0x4D8, 0, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 419400);
    assert_int_equal(VALUE(r, BL_F_CURRENT), 0);
    assert_int_equal(VALUE(r, BL_F_TEMP), 12000);
    assert_int_equal(d.val[3], 2000);
}

/* SMH-14: cells in 25 mV steps: 0x84 = 132 -> 3.300 V, 0x86 = 134 -> 3.350 V; sum 400.0 V */
static void test_smh14_cells_in_25_mv(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    decode_ok(&smh, "00FA00B40FA08486", 0x518, 0, &r);
    assert_int_equal(VALUE(r, BL_F_TEMP_MAX), 25000);
    assert_int_equal(VALUE(r, BL_F_TEMP_MIN), 18000);
    assert_int_equal(VALUE(r, BL_F_CELL_V_MIN), 3300);
    assert_int_equal(VALUE(r, BL_F_CELL_V_MAX), 3350);
    bl_record_set(&r, BL_F_CELL_V_MIN, 3312, 3, 0); /* 3312 / 25 = 132.48 -> 132 */
    f = encode_ok(&smh, 0x518, 0, B2I, 0, &r, NULL);
    assert_int_equal(f.data[6], 0x84);
}

/* SMH-05 / SMH-06 / SMH-07: module count 4 and 3, software 3.24 in hex digits, "BYD" */
static void test_smh05_07_identity(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&smh, "0324000400660409", 0x558, 0, &r);
    assert_int_equal(VALUE(r, BL_F_MODULE_COUNT), 4);
    assert_string_equal(bl_record_str(&r, BL_F_FIRMWARE), "03.24");
    decode_ok(&smh, "0313000300660407", 0x558, 0, &r);
    assert_int_equal(VALUE(r, BL_F_MODULE_COUNT), 3);
    decode_ok(&smh, "0042594400000000", 0x5D8, 0, &r);
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "BYD");
}

/* SMH-09/10/11: all AA = nothing triggered; A6 = byte 0 pair 2 (cell over-voltage) triggered;
 * byte 2 6A = pair 4 (internal battery hardware fault) triggered */
static void test_smh09_11_fault_pairs(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&smh, "AAAAAAAAAAAAAAAA", 0x158, 0, &r);
    assert_int_equal(r.active[BL_AC_ALARM] | r.active[BL_AC_WARNING], 0);
    decode_ok(&smh, "A6AAAAAAAAAAAAAA", 0x158, 0, &r);
    assert_int_equal(r.active[BL_AC_ALARM], 1U << BL_A_CELL_OV);
    decode_ok(&smh, "AAAA6AAAAAAAAAAA", 0x158, 0, &r);
    assert_int_equal(r.active[BL_AC_ALARM], 1U << BL_A_INTERNAL);
}

/* A battery whose limits went stale sends exactly what the H/SBS emulator sends while its
 * contactors may not close (SMH-11): every item "not triggered", internal hardware fault on */
static void test_stale_battery_sends_the_contactor_refused_frame(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    bl_encoded_t res;
    (void)state;
    bl_record_init(&r);
    decode_ok(&smh, "AAAAAAAAAAAAAAAA", 0x158, 0, &r); /* everything known, nothing raised */
    f = encode_ok(&smh, 0x158, 0, B2I, 0, &r, &res);
    assert_true(res.safe_state);
    assert_bytes(&f, "AAAA6AAAAAAAAAAA");
    bl_record_set(&r, BL_F_CVL, 450000, 1, 0);
    bl_record_set(&r, BL_F_CCL, 25000, 1, 0);
    bl_record_set(&r, BL_F_DCL, 30000, 1, 0);
    f = encode_ok(&smh, 0x158, 0, B2I, 0, &r, &res); /* limits fresh again: all clear */
    assert_false(res.safe_state);
    assert_bytes(&f, "AAAAAAAAAAAAAAAA");
}

/* can-sma-hv.md §3: pairing on 0x5E7 (or 0x660) gets the identity set, then the data */
static void test_smh_pairing(void **state)
{
    bl_can_codec_t c;
    bl_reaction_t re;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "sma-hv");
    assert_false(c.started);
    f = vec(0x5E7, 0, "0000000000000000");
    bl_can_react(&c, &f, 1000, &re);
    assert_true(c.started);
    assert_int_equal(re.n, 10);
    assert_int_equal(re.send[0]->id, 0x558);
    assert_int_equal(re.send[3]->id, 0x618);
    assert_int_equal(re.send[9]->id, 0x4D8);
    f = vec(0x563, 0, "0102030405060708"); /* one of the init frames 0x560-0x567 */
    assert_int_equal(bl_can_react(&c, &f, 2000, &re), 0);
    assert_int_equal(c.peer_seen_ms, 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byd01_limits_discharge_before_charge),
        cmocka_unit_test(test_byd02_soc_in_hundredths),
        cmocka_unit_test(test_byd03_current_sign),
        cmocka_unit_test(test_byd04_temperature_extremes),
        cmocka_unit_test(test_byd06_capacity_is_energy),
        cmocka_unit_test(test_byd_identity_frames),
        cmocka_unit_test(test_byd14_16_inverter_frames),
        cmocka_unit_test(test_byd_waits_for_the_inverter),
        cmocka_unit_test(test_smh01_limits),
        cmocka_unit_test(test_smh02_03_soc_and_state),
        cmocka_unit_test(test_smh14_cells_in_25_mv),
        cmocka_unit_test(test_smh05_07_identity),
        cmocka_unit_test(test_smh09_11_fault_pairs),
        cmocka_unit_test(test_stale_battery_sends_the_contactor_refused_frame),
        cmocka_unit_test(test_smh_pairing),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
