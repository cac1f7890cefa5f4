/*
 * The codec extensions the CAN families brought, at their edges: what a session ignores,
 * version text both ways, clamping, the per-message alarm memory, address bits of the
 * protocols that have none, empty frames.
 */
#include "cantest.h"

/* Remote and error frames, battery frames and other protocols' frames move no session */
static void test_react_ignores_what_is_not_the_inverter(void **state)
{
    bl_can_codec_t c;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "solax");
    f = vec(0x1871, 1, "0100010000000000");
    f.flags |= BL_CAN_RTR;
    assert_int_equal(bl_can_react(&c, &f, 1000, NULL), 0);
    f.flags = BL_CAN_ERR;
    assert_int_equal(bl_can_react(&c, &f, 1000, NULL), 0);
    f = vec(0x1872, 1, "500F100E2C015E01"); /* the battery's own frame */
    assert_int_equal(bl_can_react(&c, &f, 1000, NULL), 0);
    assert_int_equal(c.peer_seen_ms, BL_NEVER);
    assert_false(bl_can_link_check(&c, 5000)); /* never seen: no link, nothing lost */
    assert_int_equal(c.links_lost, 0);
    f = vec(0x1871, 1, "0100010000000000");
    assert_int_equal(bl_can_react(&c, &f, 6000, NULL), 1); /* a NULL reaction is allowed */
    assert_int_equal(c.reactions, 1);
}

/* Where the battery speaks first the session starts at once and is not watched */
static void test_battery_first_protocols_need_no_trigger(void **state)
{
    bl_can_codec_t c;
    (void)state;
    codec_for(&c, "pylon-lv");
    assert_true(c.started);
    assert_true(bl_can_link_check(&c, 1000000));
    assert_int_equal(bl_proto_link_timeout_ms(c.p), 0);
}

/* Version bytes: decimal up to 255 ("1.255"), hex digits on encode ("01.2B" -> 0x01 0x2B) */
static void test_version_text_both_ways(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "pylon-hv");
    bl_record_init(&r);
    decode_ok(&c, "0100020101FF0000", 0x7310, 1, &r); /* software bytes 4-5: 1.255 */
    assert_string_equal(bl_record_str(&r, BL_F_FIRMWARE), "1.255");
    codec_for(&c, "byd-hvs");
    bl_record_set_str(&r, BL_F_FIRMWARE, "01.2b", 5, 0);
    f = encode_ok(&c, 0x250, 0, BL_DIR_B2I, 0, &r, NULL);
    assert_int_equal(f.data[0], 0x01);
    assert_int_equal(f.data[1], 0x2B);
}

/* A value the raw field cannot hold: an error, or a reported clamp to the raw limit */
static void test_value_beyond_the_raw_field(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    bl_can_frame_t f;
    bl_encoded_t res;
    const bl_message_t *m;
    (void)state;
    codec_for(&c, "victron");
    m = bl_can_msg(&c, 0x372, 0, BL_DIR_B2I);
    bl_record_init(&r);
    bl_record_set(&r, BL_F_MODULE_COUNT, 70000, 0, 0); /* U16 holds 65535 */
    assert_int_equal(bl_can_encode(&c, m, 0, &r, 0, 0, 0, &f, &res), BL_ERANGE);
    assert_int_equal(res.why, BL_REJ_RANGE);
    assert_int_equal(bl_can_encode(&c, m, 0, &r, 0, 0, BL_ENC_CLAMP, &f, &res), 0);
    assert_true(res.clamped & BL_BIT(BL_F_MODULE_COUNT));
    assert_int_equal(f.data[0] | f.data[1] << 8, 0xFFFF);
}

/* An alarm two messages carry stays raised while either reports it (Pylon HV 0x4250 bit 7
 * "other error" and 0x4290 faults both mean internal_fault) */
static void test_alarm_memory_per_message(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    bl_alarm_mask_t internal = 1U << BL_A_INTERNAL;
    (void)state;
    codec_for(&c, "pylon-hv");
    bl_record_init(&r);
    decode_ok(&c, "0300000000000000", 0x4250, 1, &r);
    decode_ok(&c, "1000000000000000", 0x4290, 1, &r); /* self-test abnormal */
    assert_true(r.active[BL_AC_ALARM] & internal);
    decode_ok(&c, "0300000000000000", 0x4250, 1, &r); /* 0x4250 clear: 0x4290 still raises it */
    assert_true(r.active[BL_AC_ALARM] & internal);
    decode_ok(&c, "0000000000000000", 0x4290, 1, &r); /* now both clear */
    assert_false(r.active[BL_AC_ALARM] & internal);
    assert_true(r.known[BL_AC_ALARM] & internal);
}

/* A protocol without addressed ids ignores the codec's address on encode */
static void test_address_only_where_ids_have_room(void **state)
{
    bl_can_codec_t c;
    bl_record_t r;
    bl_can_frame_t f;
    (void)state;
    codec_for(&c, "byd-hvs");
    c.addr = 3;
    bl_record_init(&r);
    f = encode_ok(&c, 0x110, 0, BL_DIR_B2I, 0, &r, NULL);
    assert_int_equal(f.id, 0x110);
}

/* Codec init refuses what it cannot walk */
static void test_codec_init_errors(void **state)
{
    bl_can_codec_t c;
    (void)state;
    assert_int_equal(bl_can_codec_init(&c, NULL), BL_EINVAL);
    assert_null(bl_can_msg(&c, 0x351, 0, BL_DIR_B2I));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_react_ignores_what_is_not_the_inverter),
        cmocka_unit_test(test_battery_first_protocols_need_no_trigger),
        cmocka_unit_test(test_version_text_both_ways),
        cmocka_unit_test(test_value_beyond_the_raw_field),
        cmocka_unit_test(test_alarm_memory_per_message),
        cmocka_unit_test(test_address_only_where_ids_have_room),
        cmocka_unit_test(test_codec_init_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
