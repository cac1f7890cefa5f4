/*
 * Every reject cause and documented BL_E* of rs485.h, provoked on purpose
 * (STYLE.md §9). Frames are the sheets' vectors with one thing broken, or
 * built byte by byte in the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/rs485.h"

typedef struct {
    uint8_t kind[16], why[16];
    uint32_t got[16], want[16];
    size_t len[16], n;
} evs_t;

static void rec_ev(void *ctx, const bl_stream_ev_t *e)
{
    evs_t *l = ctx;
    if (l->n < 16) {
        l->kind[l->n] = e->kind;
        l->why[l->n] = e->why;
        l->got[l->n] = e->got;
        l->want[l->n] = e->want;
        l->len[l->n] = e->len;
        l->n++;
    }
}

static uint8_t sbuf[4096];

static evs_t feed(unsigned framing, const uint8_t *d, size_t n, size_t cap)
{
    bl_stream_t s;
    evs_t l;
    memset(&l, 0, sizeof l);
    assert_int_equal(bl_stream_init(&s, framing, sbuf, cap, rec_ev, &l), 0);
    bl_stream_push(&s, d, n);
    bl_stream_flush(&s);
    return l;
}

static const bl_protocol_t *P(const char *name)
{
    const bl_protocol_t *p = bl_protocol_find(name);
    assert_non_null(p);
    return p;
}

/* JK 4E57 (rs485-daly-jbd.md §3): LENGTH = frame length - 2 must allow the fixed parts
 * (20 bytes at least); LENGTH 0x0003 is a length reject */
static void test_jk_length_below_the_fixed_parts(void **state)
{
    const uint8_t d[] = { 0x4E, 0x57, 0x00, 0x03, 0x00 };
    evs_t l = feed(BL_FRAMING_JK, d, sizeof d, sizeof sbuf);
    (void)state;
    assert_int_equal(l.why[0], BL_RSR_LENGTH);
    assert_int_equal(l.got[0], 5);
}

/* LENGTH 0xFFFF needs a frame of 65537 bytes: more than the buffer, rejected at once */
static void test_jk_length_beyond_the_buffer(void **state)
{
    const uint8_t d[] = { 0x4E, 0x57, 0xFF, 0xFF };
    evs_t l = feed(BL_FRAMING_JK, d, sizeof d, 256);
    (void)state;
    assert_int_equal(l.why[0], BL_RSR_TOO_LONG);
    assert_int_equal(l.want[0], 256);
}

/* JK-01 with its end byte 0x68 changed to 0x69: the end is not where LENGTH puts it */
static void test_jk_end_byte_must_be_0x68(void **state)
{
    const uint8_t d[] = { 0x4E, 0x57, 0x00, 0x13, 0x00, 0x00, 0x00, 0x00, 0x06, 0x03, 0x00,
                          0x00, 0x00, 0x00, 0x00, 0x00, 0x69, 0x00, 0x00, 0x01, 0x2A };
    evs_t l = feed(BL_FRAMING_JK, d, sizeof d, sizeof sbuf);
    (void)state;
    assert_int_equal(l.why[0], BL_RSR_LENGTH);
    assert_int_equal(l.got[0], 0x69);
}

/* a lone 'N' (0x4E) in other traffic is noise, not a broken frame; JK-01 after it is whole */
static void test_jk_lone_n_is_noise(void **state)
{
    const uint8_t d[] = { 0x4E, 0x41, 0x4E, 0x57, 0x00, 0x13, 0x00, 0x00, 0x00, 0x00, 0x06, 0x03, 0x00,
                          0x00, 0x00, 0x00, 0x00, 0x00, 0x68, 0x00, 0x00, 0x01, 0x29 };
    evs_t l = feed(BL_FRAMING_JK, d, sizeof d, sizeof sbuf);
    (void)state;
    assert_int_equal(l.n, 2);
    assert_int_equal(l.kind[0], BL_SEV_NOISE);
    assert_int_equal(l.len[0], 2);
    assert_int_equal(l.kind[1], BL_SEV_FRAME);
}

/* JBD: DD then neither a request (A5/5A) nor a status (00/80): a syntax reject at byte 3 */
static void test_jbd_neither_request_nor_status(void **state)
{
    const uint8_t d[] = { 0xDD, 0x03, 0x11, 0x00 };
    evs_t l = feed(BL_FRAMING_JBD, d, sizeof d, sizeof sbuf);
    (void)state;
    assert_int_equal(l.why[0], BL_RSR_SYNTAX);
    assert_int_equal(l.got[0], 0x11);
}

/* bl_pyl_parse on its own: no '~', too short, odd INFO, INFO larger than the caller's buffer */
static void test_pyl_parse_rejects(void **state)
{
    uint8_t info[4];
    bl_pyl_frame_t f;
    bl_rsr_t why;
    uint32_t got, want;
    const char *pyl05 = "~20024600B014026EF05AA0022BFDD5C0F915"; /* 10 INFO bytes */
    (void)state;
    assert_int_equal(bl_pyl_parse((const uint8_t *)"20024642", 8, info, 4, &f, &why, &got, &want), BL_EBADMSG);
    assert_int_equal(why, BL_RSR_SYNTAX);
    assert_int_equal(bl_pyl_parse((const uint8_t *)"~200246", 7, info, 4, &f, &why, &got, &want), BL_EBADMSG);
    assert_int_equal(why, BL_RSR_LENGTH);
    assert_int_equal(bl_pyl_parse((const uint8_t *)"~20024642E00202FD3", 18, info, 4, &f, &why, NULL, NULL),
                     BL_EBADMSG);
    assert_int_equal(why, BL_RSR_LENGTH); /* 17 characters: an odd count */
    assert_int_equal(bl_pyl_parse((const uint8_t *)pyl05, strlen(pyl05), info, 4, &f, &why, &got, &want), BL_EBADMSG);
    assert_int_equal(why, BL_RSR_TOO_LONG);
    assert_int_equal(got, 10);
    assert_int_equal(want, 4);
}

/* builders: INFO above 2047 bytes, too little room; Daly and JBD the same */
static void test_builders_refuse_what_does_not_fit(void **state)
{
    static uint8_t big[2048], out[32];
    (void)state;
    assert_int_equal(bl_pyl_build(0x20, 2, 0x46, 0x42, big, sizeof big, out, sizeof out), BL_EINVAL);
    assert_int_equal(bl_daly_build(0x40, 0x90, NULL, out, 12), BL_ENOSPC);
    assert_int_equal(bl_jbd_build(0xA5, 0x03, big, 256, out, sizeof out), BL_EINVAL);
    assert_int_equal(bl_jbd_build(0xA5, 0x03, big, 4, out, 10), BL_ENOSPC);
}

/* the inverter side: an unknown command, a set command, no room */
static void test_requests_refuse_unknown_and_write_commands(void **state)
{
    uint8_t out[64];
    (void)state;
    assert_int_equal(bl_rs_request(P("pylon-rs485"), 2, 0x33, false, out, sizeof out), BL_ENOENT);
    assert_int_equal(bl_rs_request(P("pylon-rs485"), 2, 0x94, false, out, sizeof out), BL_ENOTSUP);
    assert_int_equal(bl_rs_request(P("pylon-rs485"), 2, 0x42, false, out, 10), BL_ENOSPC);
    assert_int_equal(bl_rs_request(P("pylon-lv"), 2, 0x42, false, out, sizeof out), BL_ENOENT);
}

/* sessions are for framed byte protocols; a Modbus map has none */
static void test_session_refuses_modbus_and_can(void **state)
{
    bl_rs_session_t s;
    (void)state;
    assert_int_equal(bl_rs_session_init(&s, P("seplos-v3")), BL_EINVAL);
    assert_int_equal(bl_rs_session_init(&s, P("pylon-lv")), BL_EINVAL);
}

/* a Pylon answer that nobody asked for and that fits no layout: counted unsolicited */
static void test_session_counts_an_answer_without_request(void **state)
{
    static uint8_t buf[256];
    const uint8_t junk[] = { 0xAB, 0xCD, 0xEF };
    uint8_t fr[64];
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_rsr_t why;
    int n = bl_pyl_build(0x20, 0x02, 0x46, 0x00, junk, sizeof junk, fr, sizeof fr);
    (void)state;
    assert_int_equal(bl_rs_session_init(&s, P("pylon-rs485")), 0);
    assert_int_equal(bl_rs_session_frame(&s, fr, (size_t)n, buf, sizeof buf, &f, &why), 0);
    assert_false(f.request);
    assert_int_equal(f.cmd, BL_RS_CMD_UNKNOWN);
    assert_int_equal(s.rejected[BL_RSR_UNSOLICITED], 1);
}

/* Daly answers with an id the sheet does not define: unknown command */
static void test_daly_unknown_data_id(void **state)
{
    static uint8_t buf[64];
    uint8_t fr[13];
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_rsr_t why;
    (void)state;
    assert_int_equal(bl_daly_build(0x01, 0x77, NULL, fr, sizeof fr), 13);
    assert_int_equal(bl_rs_session_init(&s, P("daly")), 0);
    assert_int_equal(bl_rs_session_frame(&s, fr, sizeof fr, buf, sizeof buf, &f, &why), 0);
    assert_null(f.msg);
    assert_int_equal(s.rejected[BL_RSR_UNKNOWN_CMD], 1);
}

/* Range: a JBD cell voltage of 0xFFFF mV (65.5 V) is outside 0..5 V: the whole answer is
 * rejected, nothing stored (all or nothing) */
static void test_range_reject_stores_nothing(void **state)
{
    const bl_rs485_codec_t *c = bl_rs_codec(P("jbd"));
    const uint8_t cells[] = { 0x0F, 0x66, 0xFF, 0xFF };
    bl_rs_decoded_t d;
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_rs_decode(c, bl_rs_msg(c, 0x04), cells, sizeof cells, 0, 1, &r, NULL, 0, &d), BL_EBADMSG);
    assert_int_equal(d.why, BL_RSR_RANGE);
    assert_false(r.f[BL_F_CELL_V_MIN].valid);
}

/* Modbus range: Seplos V3 SOC 0x03E9 = 100.1 % cannot be */
static void test_modbus_range_reject(void **state)
{
    const bl_rs485_codec_t *c = bl_rs_codec(P("seplos-v3"));
    const uint16_t regs[] = { 0x14CD, 0xFF77, 0x6B40, 0x80E8, 0x0122, 0x03E9 };
    const bl_mb_block_t b = { "t", BL_MB_IR, 0x1000, 6, 0 };
    bl_rs_decoded_t d;
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_mb_decode(c->map, &b, regs, 6, 1, &r, &d), BL_EBADMSG);
    assert_int_equal(d.why, BL_RSR_RANGE);
    assert_int_equal(d.at, 0x1005);
    assert_false(r.f[BL_F_VOLTAGE].valid);
}

/* the encoder: a command with no reply layout, and an answer that does not fit */
static void test_encode_refuses_and_reports_no_room(void **state)
{
    const bl_protocol_t *p = P("pylon-rs485");
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    uint8_t out[8];
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_VOLTAGE, 52800, 2, 0);
    assert_int_equal(bl_rs_encode(p, bl_rs_msg(c, 0x4F), 2, &r, 0, 0, out, sizeof out, NULL), BL_ENOTSUP);
    assert_int_equal(bl_rs_encode(p, bl_rs_msg(c, 0x42), 2, &r, 0, 0, out, sizeof out, NULL), BL_ENOSPC);
}

/* the names of every reason are stable keys */
static void test_reason_names(void **state)
{
    (void)state;
    assert_string_equal(bl_rsr_str(BL_RSR_LCHKSUM), "length_checksum");
    assert_string_equal(bl_rsr_str(BL_RSR_ERROR_CODE), "error_code");
    assert_string_equal(bl_rsr_str(BL_RSR_COUNT), "unknown");
    assert_string_equal(bl_framing_str(BL_FRAMING_JBD), "jbd-dd77");
    assert_string_equal(bl_framing_str(99), "unknown");
    assert_string_equal(bl_mb_table_str(BL_MB_CO), "co");
    assert_int_equal(bl_mb_read_fc(BL_MB_IR), 4);
}

/* JBD battery role: a write (DD 5A ..) is answered with status 0x80, not obeyed */
static void test_jbd_battery_refuses_writes(void **state)
{
    static uint8_t buf[64];
    const uint8_t wr[] = { 0xDD, 0x5A, 0xE1, 0x02, 0x00, 0x02, 0xFF, 0x1B, 0x77 }; /* JBD-08 */
    uint8_t out[32];
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_rsr_t why;
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_rs_session_init(&s, P("jbd")), 0);
    assert_int_equal(bl_rs_session_frame(&s, wr, sizeof wr, buf, sizeof buf, &f, &why), 0);
    assert_true(f.request);
    assert_int_equal(bl_rs_answer(P("jbd"), 0, &f, &r, 0, 0, out, sizeof out, &res), 7);
    assert_int_equal(out[2], 0x80);
    assert_int_equal(out[1], 0xE1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jk_length_below_the_fixed_parts),
        cmocka_unit_test(test_jk_length_beyond_the_buffer),
        cmocka_unit_test(test_jk_end_byte_must_be_0x68),
        cmocka_unit_test(test_jk_lone_n_is_noise),
        cmocka_unit_test(test_jbd_neither_request_nor_status),
        cmocka_unit_test(test_pyl_parse_rejects),
        cmocka_unit_test(test_builders_refuse_what_does_not_fit),
        cmocka_unit_test(test_requests_refuse_unknown_and_write_commands),
        cmocka_unit_test(test_session_refuses_modbus_and_can),
        cmocka_unit_test(test_session_counts_an_answer_without_request),
        cmocka_unit_test(test_daly_unknown_data_id),
        cmocka_unit_test(test_range_reject_stores_nothing),
        cmocka_unit_test(test_modbus_range_reject),
        cmocka_unit_test(test_encode_refuses_and_reports_no_room),
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_jbd_battery_refuses_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
