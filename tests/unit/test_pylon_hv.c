/*
 * Pylontech HV CAN against protocols/vectors/can/pylon-hv.csv (Battery-Emulator default
 * payloads and frames derived from can-pylon-hv.md). Each test names its vector.
 */
#include "cantest.h"

#define B2I BL_DIR_B2I
#define I2B BL_DIR_I2B

static bl_can_codec_t hv;

static int setup(void **state)
{
    (void)state;
    codec_for(&hv, "pylon-hv");
    return 0;
}

/* PHV-01: 0x09A5 = 2469 -> 246.9 V; current raw 0x7530 = 30000 -> 0 A; temperature raw
 * 0x049D = 1181 -> 118.1 - 100 = 18.1 C; SOC 0x2E = 46 %, SOH 0x64 = 100 % */
static void test_phv01_offsets(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&hv, "A50930759D042E64", 0x4210, 1, &r);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 246900);
    assert_int_equal(VALUE(r, BL_F_CURRENT), 0);
    assert_int_equal(VALUE(r, BL_F_TEMP), 18100);
    assert_int_equal(VALUE(r, BL_F_SOC), 46000);
    assert_int_equal(VALUE(r, BL_F_SOH), 100000);
}

/* PHV-02: 0x0A8C = 2700 -> 270.0 V, 0x07E9 = 2025 -> 202.5 V; limits raw 0x794A = 31050 ->
 * 105.0 A. The discharge limit comes with a POSITIVE offset here: the magnitude is taken */
static void test_phv02_positive_discharge_limit(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&hv, "8C0AE9074A794A79", 0x4220, 1, &r);
    assert_int_equal(VALUE(r, BL_F_CVL), 270000);
    assert_int_equal(VALUE(r, BL_F_DVL), 202500);
    assert_int_equal(VALUE(r, BL_F_CCL), 105000);
    assert_int_equal(VALUE(r, BL_F_DCL), 105000);
}

/* PHV-17: charging not allowed (raw 30000 = 0 A); the discharge limit sent NEGATIVE, raw
 * 0x733A = 29498 -> -50.2 A: the canonical limit is the magnitude, 50.2 A */
static void test_phv17_negative_discharge_limit_is_a_magnitude(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    decode_ok(&hv, "100E400B30753A73", 0x4220, 1, &r);
    assert_int_equal(VALUE(r, BL_F_CVL), 360000);
    assert_int_equal(VALUE(r, BL_F_DVL), 288000);
    assert_int_equal(VALUE(r, BL_F_CCL), 0);
    assert_int_equal(VALUE(r, BL_F_DCL), 50200);
}

/* PHV-12 / 13 / 14: the same pack (384.0 V, -25.3 A, 25.0 C, 80 %, 99 %) in the three
 * encodings. Each variant reads its own bytes to the same values... */
static void test_phv12_13_14_three_encodings_same_values(void **state)
{
    static const struct { const char *proto, *hex; } enc[] = {
        { "pylon-hv", "000F3374E2045063" },           /* PHV-12 spec: 0x7433 = 29747 -> -25.3 A */
        { "pylon-hv:le-offset", "000F3374E2045063" }, /* the same, by its explicit name */
        { "pylon-hv:le", "000F03FFFA005063" },        /* PHV-13: 0xFF03 = -253, 0x00FA = 250 */
        { "pylon-hv:be", "0F00FF0300FA5063" },        /* PHV-14: the same words big endian */
    };
    (void)state;
    for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++) {
        bl_can_codec_t c;
        bl_record_t r;
        codec_for(&c, enc[i].proto);
        bl_record_init(&r);
        decode_ok(&c, enc[i].hex, 0x4210, 1, &r);
        assert_int_equal(VALUE(r, BL_F_VOLTAGE), 384000);
        assert_int_equal(VALUE(r, BL_F_CURRENT), -25300);
        assert_int_equal(VALUE(r, BL_F_TEMP), 25000);
        assert_int_equal(VALUE(r, BL_F_SOC), 80000);
        assert_int_equal(VALUE(r, BL_F_SOH), 99000);
    }
}

/* ...and writes exactly those bytes from the same record. */
static void test_phv12_13_14_three_encodings_same_bytes(void **state)
{
    static const struct { const char *proto, *hex; } enc[] = {
        { "pylon-hv", "000F3374E2045063" },
        { "pylon-hv:le", "000F03FFFA005063" },
        { "pylon-hv:be", "0F00FF0300FA5063" },
    };
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_VOLTAGE, 384000, 1, 0);
    bl_record_set(&r, BL_F_CURRENT, -25300, 1, 0);
    bl_record_set(&r, BL_F_TEMP, 25000, 1, 0);
    bl_record_set(&r, BL_F_SOC, 80000, 0, 0);
    bl_record_set(&r, BL_F_SOH, 99000, 0, 0);
    for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++) {
        bl_can_codec_t c;
        bl_can_frame_t f;
        codec_for(&c, enc[i].proto);
        f = encode_ok(&c, 0x4210, 1, B2I, 0, &r, NULL);
        assert_int_equal(f.id, 0x4210);
        assert_true(f.flags & BL_CAN_EXT);
        assert_bytes(&f, enc[i].hex);
    }
}

/* The wrong encoding is caught by the plausibility ranges: the spec bytes read as "le"
 * give 0x7433 = 2974.7 A... and 0x04E2 = 125.0 C, outside -50..100 C */
static void test_spec_bytes_read_as_plain_le_are_rejected(void **state)
{
    bl_can_codec_t c;
    (void)state;
    codec_for(&c, "pylon-hv:le");
    assert_int_equal(decode_bad(&c, "000F3374E2045063", 0x4210, 1), BL_REJ_RANGE);
    codec_for(&c, "pylon-hv:be");
    assert_int_equal(decode_bad(&c, "000F3374E2045063", 0x4210, 1), BL_REJ_RANGE);
}

/* PHV-15: byte 0 0x0A: status 2 (discharge), bit 3 forced-charge request; byte 3 0x04: internal
 * communication error; alarm word 0x0201: bit 0 cell under-voltage, bit 9 (byte 5 bit 1)
 * discharge over-current; protection word 0x0004: bit 2 pile under-voltage */
static void test_phv15_status_error_alarm_protection(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&hv, "0A00000401020400", 0x4250, 1, &r);
    assert_int_equal(d.val[0], 2000); /* BasicStatus 2, in milli-units as every number row */
    assert_int_equal(VALUE(r, BL_F_FORCE_CHARGE), 1);
    assert_int_equal(VALUE(r, BL_F_FULL_CHARGE_REQ), 0);
    assert_int_equal(r.active[BL_AC_ALARM], (1U << BL_A_COMM) | (1U << BL_A_CELL_UV) | (1U << BL_A_DSG_OC));
    assert_int_equal(r.active[BL_AC_PROTECTION], 1U << BL_A_PACK_UV);
}

/* Table C bits 12-15 are reserved: a frame setting one is reported, not read */
static void test_reserved_alarm_bits_are_rejected(void **state)
{
    (void)state;
    assert_int_equal(decode_bad(&hv, "0300000000100000", 0x4250, 1), BL_REJ_RESERVED);
    assert_int_equal(decode_bad(&hv, "0300000000000080", 0x4250, 1), BL_REJ_RESERVED);
}

/* PHV-16: 0xAA = charging forbidden, 0x00 = discharging allowed */
static void test_phv16_forbidden_marks(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    decode_ok(&hv, "AA00000000000000", 0x4280, 1, &r);
    assert_int_equal(VALUE(r, BL_F_CHARGE_ENABLE), 0);
    assert_int_equal(VALUE(r, BL_F_DISCHARGE_ENABLE), 1);
    f = encode_ok(&hv, 0x4280, 1, B2I, 0, &r, NULL);
    assert_bytes(&f, "AA00000000000000");
}

/* PHV-18 / PHV-19: "PYLONTEC" + "H" is one name; an empty record sends exactly these bytes */
static void test_phv18_19_manufacturer_in_two_frames(void **state)
{
    bl_record_t r, empty;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    decode_ok(&hv, "50594C4F4E544543", 0x7330, 1, &r);
    decode_ok(&hv, "4800000000000000", 0x7340, 1, &r);
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "PYLONTECH");
    bl_record_init(&empty);
    f = encode_ok(&hv, 0x7330, 1, B2I, 0, &empty, NULL);
    assert_bytes(&f, "50594C4F4E544543");
    f = encode_ok(&hv, 0x7340, 1, B2I, 0, &empty, NULL);
    assert_bytes(&f, "4800000000000000");
}

/* PHV-08 / PHV-09: software 1.2; geometry 120 cells, 4 modules in series, 30 cells each,
 * 384 V level, 0x0025 = 37 Ah */
static void test_phv08_09_versions_and_geometry(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    (void)state;
    bl_record_init(&r);
    decode_ok(&hv, "0100020101020000", 0x7310, 1, &r);
    assert_string_equal(bl_record_str(&r, BL_F_FIRMWARE), "1.2");
    d = decode_ok(&hv, "7800041E80012500", 0x7320, 1, &r);
    assert_int_equal(VALUE(r, BL_F_MODULE_COUNT), 4);
    assert_int_equal(VALUE(r, BL_F_CAPACITY), 37000);
    assert_int_equal(d.val[0], 120000); /* TotalCells, raw */
    assert_int_equal(d.val[3], 384000); /* VoltageLevel */
}

/* PHV-22: group address 1 answers on 0x4211 (Sofar, Ferroamp); encode for address 1 */
static void test_phv22_group_address(void **state)
{
    bl_record_t r;
    bl_decoded_t d;
    bl_can_codec_t c;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    d = decode_ok(&hv, "A50930759D042E64", 0x4211, 1, &r);
    assert_int_equal(d.addr, 1);
    assert_int_equal(VALUE(r, BL_F_VOLTAGE), 246900);
    codec_for(&c, "pylon-hv");
    c.addr = 1;
    f = encode_ok(&c, 0x4210, 1, B2I, 0, &r, NULL);
    assert_int_equal(f.id, 0x4211);
    f = encode_ok(&c, 0x4200, 1, I2B, 0, &r, NULL); /* requests carry no address */
    assert_int_equal(f.id, 0x4200);
}

/* 29-bit only; every data frame is 8 bytes */
static void test_rejects(void **state)
{
    (void)state;
    assert_int_equal(decode_bad(&hv, "A50930759D042E64", 0x4210, 0), BL_REJ_ID_LENGTH);
    assert_int_equal(decode_bad(&hv, "A50930759D042E", 0x4210, 1), BL_REJ_LENGTH);
    assert_int_equal(decode_bad(&hv, "A50930759D042E64", 0x4310, 1), BL_REJ_UNKNOWN_ID);
}

/* Module temperatures are sent from the cell extremes (26.8 C -> raw 1268 = 0x04F4) but read
 * back they do not overwrite them */
static void test_module_temperatures(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_TEMP_MAX, 26800, 1, 0);
    bl_record_set(&r, BL_F_TEMP_MIN, 21200, 1, 0); /* 1212 = 0x04BC */
    f = encode_ok(&hv, 0x4270, 1, B2I, 0, &r, NULL);
    assert_int_equal(f.data[0], 0xF4);
    assert_int_equal(f.data[1], 0x04);
    assert_int_equal(f.data[2], 0xBC);
    bl_record_init(&r);
    decode_ok(&hv, "7E04620405000100", 0x4270, 1, &r); /* PHV-07 */
    assert_false(VALID(r, BL_F_TEMP_MAX));
}

/* Safe state: no limits -> 0 A (raw 30000), both forbidden marks, internal comm error raised */
static void test_safe_state(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    bl_record_init(&r);
    f = encode_ok(&hv, 0x4220, 1, B2I, 0, &r, NULL);
    assert_int_equal(f.data[4] | f.data[5] << 8, 30000);
    assert_int_equal(f.data[6] | f.data[7] << 8, 30000);
    f = encode_ok(&hv, 0x4280, 1, B2I, 0, &r, NULL);
    assert_bytes(&f, "AAAA000000000000");
    f = encode_ok(&hv, 0x4250, 1, B2I, 0, &r, NULL);
    assert_true(f.data[3] & 0x04);
}

/* PHV-10 / PHV-11 and the command frames drive the session (can-pylon-hv.md §3, §5) */
static void test_requests_get_their_bursts(void **state)
{
    bl_can_codec_t c;
    bl_reaction_t re;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "pylon-hv");
    assert_false(c.started); /* the battery never speaks first */
    f = vec(0x4200, 1, "0000000000000000"); /* PHV-10 */
    assert_int_equal(bl_can_react(&c, &f, 1000, &re), 1);
    assert_int_equal(re.n, 9);
    assert_int_equal(re.send[0]->id, 0x4210);
    assert_int_equal(re.send[8]->id, 0x4290);
    f = vec(0x4200, 1, "0200000000000000"); /* PHV-11 */
    assert_int_equal(bl_can_react(&c, &f, 2000, &re), 1);
    assert_int_equal(re.n, 4);
    assert_int_equal(re.send[0]->id, 0x7310);
    assert_int_equal(re.send[3]->id, 0x7340);
    f = vec(0x8240, 1, "AA00000000000000"); /* mask the external-comm fault: accepted */
    assert_int_equal(bl_can_react(&c, &f, 3000, &re), 1);
    assert_int_equal(re.send[0]->id, 0x8250);
    f = vec(0x8200, 1, "5500000000000000"); /* enter sleep */
    bl_can_react(&c, &f, 4000, &re);
    assert_int_equal(c.state, 1);
    f = vec(0x8200, 1, "AA00000000000000"); /* PHV-20: quit sleep */
    bl_can_react(&c, &f, 5000, &re);
    assert_int_equal(c.state, 0);
    f = vec(0x4200, 0, "0000000000000000"); /* 11-bit: not this protocol's PCS */
    assert_int_equal(bl_can_react(&c, &f, 6000, &re), 0);
    assert_int_equal(c.peer_seen_ms, 5000);
    assert_true(bl_can_link_check(&c, 5000 + 59999));
    assert_false(bl_can_link_check(&c, 5000 + 60000));
    assert_int_equal(c.links_lost, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phv01_offsets),
        cmocka_unit_test(test_phv02_positive_discharge_limit),
        cmocka_unit_test(test_phv17_negative_discharge_limit_is_a_magnitude),
        cmocka_unit_test(test_phv12_13_14_three_encodings_same_values),
        cmocka_unit_test(test_phv12_13_14_three_encodings_same_bytes),
        cmocka_unit_test(test_spec_bytes_read_as_plain_le_are_rejected),
        cmocka_unit_test(test_phv15_status_error_alarm_protection),
        cmocka_unit_test(test_reserved_alarm_bits_are_rejected),
        cmocka_unit_test(test_phv16_forbidden_marks),
        cmocka_unit_test(test_phv18_19_manufacturer_in_two_frames),
        cmocka_unit_test(test_phv08_09_versions_and_geometry),
        cmocka_unit_test(test_phv22_group_address),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_module_temperatures),
        cmocka_unit_test(test_safe_state),
        cmocka_unit_test(test_requests_get_their_bursts),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
