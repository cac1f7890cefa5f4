/*
 * SolaX Triple Power HV and FoxESS against protocols/vectors/can/others.csv (SLX-*: emulator
 * payloads and frames derived from can-others.md §A) and the §A/§B state machines.
 */
#include "cantest.h"

#define B2I BL_DIR_B2I

static bl_can_codec_t slx;

static int setup(void **state)
{
    (void)state;
    codec_for(&slx, "solax");
    return 0;
}

/* SLX-04: 0x0F50 = 3920 -> 392.0 V, 0x0E10 -> 360.0 V, 0x012C = 300 -> 30.0 A, 0x015E -> 35.0 A */
static void test_slx04_limits(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&slx, "500F100E2C015E01", 0x1872, 1, &r);
    assert_int_equal(VALUE(r, BL_F_CVL), 392000);
    assert_int_equal(VALUE(r, BL_F_DVL), 360000);
    assert_int_equal(VALUE(r, BL_F_CCL), 30000);
    assert_int_equal(VALUE(r, BL_F_DCL), 35000);
}

/* SLX-05: 0x0F24 = 3876 -> 387.6 V, 0xFFB2 = -78 -> -7.8 A, SOC 0x3A = 58 %, remaining energy
 * 0x05DC = 1500 -> 15.00 kWh */
static void test_slx05_measurements(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&slx, "240FB2FF3A00DC05", 0x1873, 1, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 387600);
    assert_int_equal(VALUE(r, BL_F_CURRENT), -7800);
    assert_int_equal(VALUE(r, BL_F_SOC), 58000);
    assert_int_equal(d.val[4], 15000);
}

/* SLX-06: battery type 0x50 = 80 (rejected by ARM 1.57), firmware 0x22 = 34, role 2 (master);
 * an empty record sends type 131, the type ARM 1.57 accepts */
static void test_slx06_battery_type(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&slx, "0000000050002202", 0x1877, 1, &r);
    assert_int_equal(d.val[1], 80000);
    assert_string_equal(bl_record_str(&r, BL_F_FIRMWARE), "34");
    assert_int_equal(d.val[4], 2000);
    bl_record_init(&r);
    f = encode_ok(&slx, 0x1877, 1, B2I, 0, &r, NULL);
    assert_int_equal(f.data[4], 131);
    assert_int_equal(f.data[7], 0x02);
}

/* SLX-03: the announce frame has no data bytes */
static void test_slx03_announce_is_empty(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    decode_ok(&slx, "", 0x100A001, 1, &r);
    assert_int_equal(decode_bad(&slx, "00", 0x100A001, 1), BL_REJ_LENGTH);
    f = encode_ok(&slx, 0x100A001, 1, B2I, 0, &r, NULL);
    assert_int_equal(f.len, 0);
    assert_true(f.flags & BL_CAN_EXT);
}

/* §A state machine: ANNOUNCE answers each poll with the data and 0x100A001; SLX-01 closes the
 * contactor (0x1801 answers in the same style, 0x1875 byte 4 = 1), SLX-02 opens it, 05 asks
 * for the serial; 2 s without a poll opens the contactor */
static void test_announce_contactor_state_machine(void **state)
{
    bl_can_codec_t c;
    bl_reaction_t re;
    bl_can_frame_t f, out;
    bl_record_t r;
    (void)state;
    codec_for(&c, "solax");
    bl_record_init(&r);
    assert_false(c.started);
    assert_int_equal(c.state, 0);
    f = vec(0x1871, 1, "0100010000000000");
    assert_int_equal(bl_can_react(&c, &f, 1000, &re), 1);
    assert_int_equal(re.n, 8);
    assert_int_equal(re.send[7]->id, 0x100A001);
    f = vec(0x1871, 1, "0200010001000000"); /* SLX-01 */
    bl_can_react(&c, &f, 1500, &re);
    assert_int_equal(re.state_before, 0);
    assert_int_equal(c.state, 1);
    assert_int_equal(re.n, 2);
    out = encode_ok(&c, 0x1801, 1, B2I, 0, &r, NULL);
    assert_bytes(&out, "0200010001000000"); /* "in the same style" as the request */
    out = encode_ok(&c, 0x1875, 1, B2I, 0, &r, NULL);
    assert_int_equal(out.data[4], 1);
    f = vec(0x1871, 1, "0100010000000000"); /* contactor closed: data, no announce */
    bl_can_react(&c, &f, 2000, &re);
    assert_int_equal(re.n, 7);
    f = vec(0x1871, 1, "0500010000000000");
    bl_can_react(&c, &f, 2500, &re);
    assert_int_equal(re.n, 2);
    assert_int_equal(re.send[0]->id, 0x1881);
    f = vec(0x1871, 1, "0200010000000000"); /* SLX-02 */
    bl_can_react(&c, &f, 3000, &re);
    assert_int_equal(c.state, 0);
    out = encode_ok(&c, 0x1801, 1, B2I, 0, &r, NULL);
    assert_bytes(&out, "0200010000000000");
    f = vec(0x1871, 1, "0200010001000000"); /* closed again ... */
    bl_can_react(&c, &f, 3500, &re);
    assert_int_equal(c.state, 1);
    assert_true(bl_can_link_check(&c, 5499));
    assert_false(bl_can_link_check(&c, 5500)); /* ... and 2 s without a poll opens it */
    assert_int_equal(c.state, 0);
}

/* the X3-Ultra variant also sends 0x187E (capacity, SOH, SOC) */
static void test_x3_ultra_sends_0x187e(void **state)
{
    bl_can_codec_t c;
    (void)state;
    codec_for(&c, "solax:x3-ultra");
    assert_true(bl_can_sends(&c, bl_can_msg(&c, 0x187E, 1, B2I)));
    assert_false(bl_can_sends(&slx, bl_can_msg(&slx, 0x187E, 1, B2I)));
}

/* FoxESS (§B): 01 .. 00 asks for the BMS info (0x1872-0x1879); pack status and cell requests
 * have no known answer layout; 0x1876 byte 0 bit 0 = charge not allowed; 0x1877 byte 0 0x02 =
 * pack error. Frame 0x1874 derived here: 25.0 / 18.0 C, cells 0x0D0C = 3.340 V, 0x0D02 = 3.330 V */
static void test_foxess(void **state)
{
    bl_can_codec_t c;
    bl_reaction_t re;
    bl_can_frame_t f;
    bl_record_t r;
    (void)state;
    codec_for(&c, "foxess");
    bl_record_init(&r);
    f = vec(0x1871, 1, "0100000000000000");
    bl_can_react(&c, &f, 1000, &re);
    assert_int_equal(re.n, 8);
    assert_int_equal(re.send[7]->id, 0x1879);
    f = vec(0x1871, 1, "0100000001000000");
    assert_int_equal(bl_can_react(&c, &f, 2000, &re), 1);
    assert_int_equal(re.n, 0);
    decode_ok(&c, "0100000000000000", 0x1876, 1, &r);
    assert_int_equal(VALUE(r, BL_F_CHARGE_ENABLE), 0);
    decode_ok(&c, "0200000083000001", 0x1877, 1, &r);
    assert_int_equal(r.active[BL_AC_ALARM], 1U << BL_A_INTERNAL);
    decode_ok(&c, "FA00B4000C0D020D", 0x1874, 1, &r);
    assert_int_equal(VALUE(r, BL_F_CELL_V_MAX), 3340);
    assert_int_equal(VALUE(r, BL_F_CELL_V_MIN), 3330);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slx04_limits),
        cmocka_unit_test(test_slx05_measurements),
        cmocka_unit_test(test_slx06_battery_type),
        cmocka_unit_test(test_slx03_announce_is_empty),
        cmocka_unit_test(test_announce_contactor_state_machine),
        cmocka_unit_test(test_x3_ultra_sends_0x187e),
        cmocka_unit_test(test_foxess),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
