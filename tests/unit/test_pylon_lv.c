/*
 * Pylontech LV CAN V1.2 against the vectors of protocols/vectors/can/pylon-lv.csv
 * (each test names its vector and source) and the rules of can-pylon-lv.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/protocol.h"

static bl_can_codec_t codec;

static bl_can_frame_t frame(uint32_t id, const uint8_t *d, uint8_t len)
{
    bl_can_frame_t f;
    memset(&f, 0, sizeof f);
    f.id = id;
    f.len = len;
    memcpy(f.data, d, len);
    return f;
}

static int setup(void **state)
{
    (void)state;
    return bl_can_codec_init(&codec, bl_protocol_find("pylon-lv"));
}

/* PLV-01, capture of a US5000 stack (setfirelabs, older firmware):
 * 0x0214 = 532 -> 53.2 V; 0x12C0 = 4800 -> 480.0 A; 0x01C2 = 450 -> 45.0 V */
static void test_0x351_limits_are_le_tenths(void **state)
{
    const uint8_t d[] = { 0x14, 0x02, 0xC0, 0x12, 0xC0, 0x12, 0xC2, 0x01 };
    bl_can_frame_t f = frame(0x351, d, 8);
    bl_record_t r;
    bl_decoded_t dd;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 1000, &r, &dd), 0);
    assert_string_equal(dd.msg->name, "charge_discharge_limits");
    assert_int_equal(r.f[BL_F_CVL].value, 53200);
    assert_int_equal(r.f[BL_F_CCL].value, 480000);
    assert_int_equal(r.f[BL_F_DCL].value, 480000);
    assert_int_equal(r.f[BL_F_DVL].value, 45000);
    assert_int_equal(r.f[BL_F_CVL].seen_ms, 1000);
    assert_int_equal(r.f[BL_F_CVL].dec, 1);
}

/* PLV-13, derived: the official DLC 6 form carries no discharge voltage */
static void test_0x351_dlc6_has_no_discharge_voltage(void **state)
{
    const uint8_t d[] = { 0x14, 0x02, 0xE8, 0x03, 0x00, 0x00 };
    bl_can_frame_t f = frame(0x351, d, 6);
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_int_equal(r.f[BL_F_CCL].value, 100000);
    assert_true(r.f[BL_F_DCL].valid);
    assert_int_equal(r.f[BL_F_DCL].value, 0); /* 0 = discharge not allowed, a real value */
    assert_false(r.f[BL_F_DVL].valid);
}

/* can-pylon-lv.md §3: one quoted sample sent DCL as -10.0 A (0xFF9C): decode abs() */
static void test_0x351_negative_dcl_is_a_magnitude(void **state)
{
    const uint8_t d[] = { 0x14, 0x02, 0xE8, 0x03, 0x9C, 0xFF };
    bl_can_frame_t f = frame(0x351, d, 6);
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_int_equal(r.f[BL_F_DCL].value, 10000);
}

/* PLV-02 capture: 0x58 = 88 %, 0x5E = 94 % */
static void test_0x355_soc_soh_percent(void **state)
{
    const uint8_t d[] = { 0x58, 0x00, 0x5E, 0x00 };
    bl_can_frame_t f = frame(0x355, d, 4);
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_int_equal(r.f[BL_F_SOC].value, 88000);
    assert_int_equal(r.f[BL_F_SOH].value, 94000);
}

/* §3: bytes 4-5 (0.01 %) are 00 00 on real packs: 0 means absent, SOC stays 88 */
static void test_0x355_zero_hires_soc_is_absent(void **state)
{
    const uint8_t d[] = { 0x58, 0x00, 0x5E, 0x00, 0x00, 0x00 };
    const uint8_t hi[] = { 0x58, 0x00, 0x5E, 0x00, 0x63, 0x22 }; /* 0x2263 = 8803 -> 88.03 % */
    bl_can_frame_t f = frame(0x355, d, 6);
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_int_equal(r.f[BL_F_SOC].value, 88000);
    f = frame(0x355, hi, 6);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_int_equal(r.f[BL_F_SOC].value, 88030);
    assert_int_equal(r.f[BL_F_SOC].dec, 2);
}

/* PLV-09 published sample 4E 13 02 03 04 05: 0x134E = 4942 -> 49.42 V,
 * 0x0302 = 770 -> 77.0 A, 0x0504 = 1284 -> 128.4 °C. The note says the
 * placeholder temperature must be flagged: the frame is rejected as a whole. */
static void test_0x356_implausible_temperature_rejects_the_frame(void **state)
{
    const uint8_t d[] = { 0x4E, 0x13, 0x02, 0x03, 0x04, 0x05 };
    bl_can_frame_t f = frame(0x356, d, 6);
    bl_record_t r;
    bl_decoded_t dd;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, &dd), BL_EBADMSG);
    assert_int_equal(dd.why, BL_REJ_RANGE);
    assert_string_equal(dd.msg->sigs[dd.sig].name, "Temperature");
    assert_int_equal(dd.val[0], 49420);
    assert_int_equal(dd.val[1], 77000);
    assert_int_equal(dd.val[2], 128400);
    assert_false(r.f[BL_F_VOLTAGE].valid); /* nothing stored from a rejected frame */
}

/* Current sign: + charging. -20.5 A = -205 = 0xFF33 */
static void test_0x356_discharge_current_is_negative(void **state)
{
    const uint8_t d[] = { 0x4E, 0x13, 0x33, 0xFF, 0xFA, 0x00 };
    bl_can_frame_t f = frame(0x356, d, 6);
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_int_equal(r.f[BL_F_CURRENT].value, -20500);
    assert_int_equal(r.f[BL_F_TEMP].value, 25000);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 49420);
}

/* PLV-11 derived: 82 01 00 08 01 'P' 'N': protection byte 0 bits 1 and 7,
 * byte 1 bit 0; alarm byte 3 bit 3 (internal communication); 1 module */
static void test_0x359_protection_and_alarm_bits(void **state)
{
    const uint8_t d[] = { 0x82, 0x01, 0x00, 0x08, 0x01, 0x50, 0x4E };
    bl_can_frame_t f = frame(0x359, d, 7);
    bl_record_t r;
    bl_alarm_mask_t prot =
        (bl_alarm_mask_t)((1U << BL_A_CELL_OV) | (1U << BL_A_PACK_OV) | (1U << BL_A_DSG_OC) | (1U << BL_A_CHG_OC));
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_int_equal(r.active[BL_AC_PROTECTION], prot);
    assert_int_equal(r.active[BL_AC_ALARM], 1U << BL_A_COMM);
    assert_int_equal(r.f[BL_F_MODULE_COUNT].value, 1);
    /* the frame reported on these alarms even where the bit is clear */
    assert_true(r.known[BL_AC_ALARM] & (1U << BL_A_CELL_OV));
}

/* PLV-15 published sample: 10 modules, no bits */
static void test_0x359_module_count(void **state)
{
    const uint8_t d[] = { 0x00, 0x00, 0x00, 0x00, 0x0A, 0x50, 0x4E };
    bl_can_frame_t f = frame(0x359, d, 7);
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_int_equal(r.f[BL_F_MODULE_COUNT].value, 10);
    assert_int_equal(r.active[BL_AC_PROTECTION], 0);
}

/* PLV-12 derived: A8 = 1010 1000: charge enable, force charge I, full charge request */
static void test_0x35c_request_flags(void **state)
{
    const uint8_t d[] = { 0xA8, 0x00 };
    const uint8_t c0[] = { 0xC0, 0x00 }; /* PLV-03 capture: typical C0 00 */
    bl_can_frame_t f = frame(0x35C, d, 2);
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_int_equal(r.f[BL_F_CHARGE_ENABLE].value, 1);
    assert_int_equal(r.f[BL_F_DISCHARGE_ENABLE].value, 0);
    assert_int_equal(r.f[BL_F_FORCE_CHARGE].value, 1); /* bit 5 set, bit 4 clear: still forced */
    assert_int_equal(r.f[BL_F_FULL_CHARGE_REQ].value, 1);
    f = frame(0x35C, c0, 2);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_int_equal(r.f[BL_F_CHARGE_ENABLE].value, 1);
    assert_int_equal(r.f[BL_F_DISCHARGE_ENABLE].value, 1);
    assert_int_equal(r.f[BL_F_FORCE_CHARGE].value, 0);
}

/* PLV-04 capture: "PYLON" + 3 spaces; Pytes sends 5 bytes */
static void test_0x35e_manufacturer_trimmed(void **state)
{
    const uint8_t d[] = { 'P', 'Y', 'L', 'O', 'N', ' ', ' ', ' ' };
    const uint8_t pytes[] = { 'P', 'Y', 'T', 'E', 'S' };
    bl_can_frame_t f = frame(0x35E, d, 8);
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "PYLON");
    f = frame(0x35E, pytes, 5);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "PYTES");
}

/* PLV-06 capture, newer firmware: 0x35A all zero = "no information", not "all OK" */
static void test_0x35a_zero_pairs_report_nothing(void **state)
{
    const uint8_t d[8] = { 0 };
    const uint8_t ov[8] = { 0xA6, 0xAA, 0xAA, 0xAA, 0, 0, 0, 0 }; /* pair 2 of byte 0 = 01 */
    bl_can_frame_t f = frame(0x35A, d, 8);
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_int_equal(r.known[BL_AC_ALARM], 0);
    assert_int_equal(r.known[BL_AC_WARNING], 0);
    f = frame(0x35A, ov, 8);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, NULL), 0);
    assert_true(r.active[BL_AC_ALARM] & (1U << BL_A_PACK_OV));
    assert_true(r.known[BL_AC_ALARM] & (1U << BL_A_CHG_OC));
    assert_int_equal(r.known[BL_AC_WARNING], 0);
}

/* Every reject cause a CAN frame can provoke */
static void test_rejects_name_their_cause(void **state)
{
    const uint8_t d[9] = { 0x14, 0x02, 0xC0, 0x12, 0xC0, 0x12, 0xC2, 0x01, 0x00 };
    bl_can_frame_t f;
    bl_record_t r;
    bl_decoded_t dd;
    uint32_t before = codec.rejected[BL_REJ_LENGTH];
    (void)state;
    bl_record_init(&r);
    f = frame(0x351, d, 9);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, &dd), BL_EBADMSG);
    assert_int_equal(dd.why, BL_REJ_LENGTH);
    assert_int_equal(dd.dlc_min, 2);
    assert_int_equal(codec.rejected[BL_REJ_LENGTH], before + 1);
    f = frame(0x351, d, 1);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, &dd), BL_EBADMSG);
    assert_int_equal(dd.why, BL_REJ_LENGTH);
    f = frame(0x123, d, 8);
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, &dd), BL_EBADMSG);
    assert_int_equal(dd.why, BL_REJ_UNKNOWN_ID);
    f = frame(0x351, d, 8);
    f.flags = BL_CAN_EXT; /* Sofar-extended reuses 0x351 on 29-bit frames */
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, &dd), BL_EBADMSG);
    assert_int_equal(dd.why, BL_REJ_ID_LENGTH);
    f = frame(0x351, d, 0);
    f.flags = BL_CAN_RTR;
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, &dd), BL_EBADMSG);
    assert_int_equal(dd.why, BL_REJ_REMOTE);
    f = frame(0x4, d, 8);
    f.flags = BL_CAN_ERR;
    assert_int_equal(bl_can_decode(&codec, &f, 0, &r, &dd), BL_EBADMSG);
    assert_int_equal(dd.why, BL_REJ_ERROR_FRAME);
    assert_false(r.f[BL_F_CVL].valid);
}

static const bl_message_t *msg(const bl_can_codec_t *c, uint32_t id)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->msg[i]->id == id)
            return c->msg[i];
    return NULL;
}

/* Encode against a cited literal, PLV-14 (setfirelabs sample quoted by diyBMS):
 * 53.2 V, 370.0 A, 370.0 A, 46.0 V -> 14 02 74 0E 74 0E CC 01 */
static void test_encode_0x351_matches_the_published_sample(void **state)
{
    const uint8_t want[] = { 0x14, 0x02, 0x74, 0x0E, 0x74, 0x0E, 0xCC, 0x01 };
    bl_record_t r;
    bl_can_frame_t f;
    bl_encoded_t res;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_CVL, 53200, 1, 0);
    bl_record_set(&r, BL_F_CCL, 370000, 1, 0);
    bl_record_set(&r, BL_F_DCL, 370000, 1, 0);
    bl_record_set(&r, BL_F_DVL, 46000, 1, 0);
    assert_int_equal(bl_can_encode(&codec, msg(&codec, 0x351), 0, &r, 0, 0, 0, &f, &res), 0);
    assert_int_equal(f.id, 0x351);
    assert_int_equal(f.len, 8);
    assert_memory_equal(f.data, want, 8);
    assert_int_equal(res.substituted, 0);
}

/* Safe state: no CCL known -> CCL 0, reported; alarms of the safe state raised;
 * enable flags cleared (can-pylon-lv.md §4 and §8.3: clear the bit AND send 0 A) */
static void test_encode_without_limits_is_the_safe_state(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    bl_encoded_t res;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_CVL, 53200, 1, 0);
    bl_record_set(&r, BL_F_DCL, 100000, 1, 0);
    bl_record_set(&r, BL_F_CHARGE_ENABLE, 1, 0, 0);
    assert_int_equal(bl_can_encode(&codec, msg(&codec, 0x351), 0, &r, 0, 0, 0, &f, &res), 0);
    assert_int_equal(f.data[2], 0);
    assert_int_equal(f.data[3], 0);
    assert_true(res.substituted & BL_BIT(BL_F_CCL));
    assert_int_equal(bl_can_encode(&codec, msg(&codec, 0x359), 0, &r, 0, 0, 0, &f, &res), 0);
    assert_true(res.safe_state);
    assert_true(f.data[1] & 0x08); /* protection: system error */
    assert_true(f.data[3] & 0x08); /* alarm: internal communication failure */
    assert_int_equal(f.data[5], 'P');
    assert_int_equal(f.data[6], 'N');
    assert_int_equal(bl_can_encode(&codec, msg(&codec, 0x35C), 0, &r, 0, 0, 0, &f, &res), 0);
    assert_int_equal(f.data[0], 0x80); /* charge enable kept; discharge enable unknown -> cleared */
}

/* Never keep sending stale limits: CCL seen at t=0, now t=20 s, stale after 10 s */
static void test_encode_stale_limit_goes_to_zero(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    bl_encoded_t res;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_CVL, 53200, 1, 0);
    bl_record_set(&r, BL_F_CCL, 100000, 1, 0);
    bl_record_set(&r, BL_F_DCL, 100000, 1, 15000);
    assert_int_equal(bl_can_encode(&codec, msg(&codec, 0x351), 0, &r, 20000, 10000, 0, &f, &res), 0);
    assert_int_equal(f.data[2] | f.data[3], 0);
    assert_int_equal(f.data[4], 0xE8); /* DCL 100.0 A still fresh: 1000 = 0x03E8 */
    assert_true(res.substituted & BL_BIT(BL_F_CCL));
    assert_true(res.substituted & BL_BIT(BL_F_CVL));
    assert_false(res.substituted & BL_BIT(BL_F_DCL));
}

/* Out of range is an error, or a reported clamp */
static void test_encode_out_of_range(void **state)
{
    bl_record_t r;
    bl_can_frame_t f;
    bl_encoded_t res;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_CVL, 700000, 1, 0); /* 700 V on a 48 V protocol */
    bl_record_set(&r, BL_F_CCL, 100000, 1, 0);
    bl_record_set(&r, BL_F_DCL, 100000, 1, 0);
    assert_int_equal(bl_can_encode(&codec, msg(&codec, 0x351), 0, &r, 0, 0, 0, &f, &res), BL_ERANGE);
    assert_int_equal(res.why, BL_REJ_RANGE);
    assert_int_equal(res.sig, 0);
    assert_int_equal(bl_can_encode(&codec, msg(&codec, 0x351), 0, &r, 0, 0, BL_ENC_CLAMP, &f, &res), 0);
    assert_true(res.clamped & BL_BIT(BL_F_CVL));
    assert_int_equal(f.data[0] | f.data[1] << 8, 1000); /* clamped to the 100 V plausibility limit */
}

/* Variant :v13 sends 0x35A/0x35F instead of 0x359/0x35C (SFL13) */
static void test_v13_sends_sma_frames(void **state)
{
    bl_can_codec_t v;
    bool s359 = true, s35a = false;
    (void)state;
    assert_int_equal(bl_can_codec_init(&v, bl_protocol_find("pylon-lv:v13")), 0);
    for (unsigned i = 0; i < v.n; i++) {
        if (v.msg[i]->id == 0x359)
            s359 = v.sends[i];
        if (v.msg[i]->id == 0x35A)
            s35a = v.sends[i];
        if (v.msg[i]->id == 0x355)
            assert_int_equal(v.msg[i]->dlc, 6);
    }
    assert_false(s359);
    assert_true(s35a);
}

/* 16 encoded fields come back from the decoder (within resolution) */
static void test_round_trip_over_the_valid_range(void **state)
{
    (void)state;
    for (int32_t ma = -3000000; ma <= 3000000; ma += 12345) {
        bl_record_t r, back;
        bl_can_frame_t f;
        bl_record_init(&r);
        bl_record_init(&back);
        bl_record_set(&r, BL_F_VOLTAGE, 51230, 2, 0);
        bl_record_set(&r, BL_F_CURRENT, ma, 1, 0);
        bl_record_set(&r, BL_F_TEMP, -12300, 1, 0);
        assert_int_equal(bl_can_encode(&codec, msg(&codec, 0x356), 0, &r, 0, 0, 0, &f, NULL), 0);
        assert_int_equal(bl_can_decode(&codec, &f, 0, &back, NULL), 0);
        assert_true(back.f[BL_F_CURRENT].value - ma <= 50 && ma - back.f[BL_F_CURRENT].value <= 50);
        assert_int_equal(back.f[BL_F_VOLTAGE].value, 51230);
        assert_int_equal(back.f[BL_F_TEMP].value, -12300);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_0x351_limits_are_le_tenths),
        cmocka_unit_test(test_0x351_dlc6_has_no_discharge_voltage),
        cmocka_unit_test(test_0x351_negative_dcl_is_a_magnitude),
        cmocka_unit_test(test_0x355_soc_soh_percent),
        cmocka_unit_test(test_0x355_zero_hires_soc_is_absent),
        cmocka_unit_test(test_0x356_implausible_temperature_rejects_the_frame),
        cmocka_unit_test(test_0x356_discharge_current_is_negative),
        cmocka_unit_test(test_0x359_protection_and_alarm_bits),
        cmocka_unit_test(test_0x359_module_count),
        cmocka_unit_test(test_0x35c_request_flags),
        cmocka_unit_test(test_0x35e_manufacturer_trimmed),
        cmocka_unit_test(test_0x35a_zero_pairs_report_nothing),
        cmocka_unit_test(test_rejects_name_their_cause),
        cmocka_unit_test(test_encode_0x351_matches_the_published_sample),
        cmocka_unit_test(test_encode_without_limits_is_the_safe_state),
        cmocka_unit_test(test_encode_stale_limit_goes_to_zero),
        cmocka_unit_test(test_encode_out_of_range),
        cmocka_unit_test(test_v13_sends_sma_frames),
        cmocka_unit_test(test_round_trip_over_the_valid_range),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
