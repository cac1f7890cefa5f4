/*
 * The battery role of the byte protocols at its edges (rs485-daly-jbd.md, rs485-pylontech.md §5):
 * what a Daly board, a JBD and a JK battery answer, and when they stay silent — another
 * board's request, stale telemetry, writes, data ids they do not know — and what a Pylon
 * pack answers to a request that failed its checks. Expected bytes are worked out by hand
 * from the fact sheets' frame rules in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/rs485.h"

static uint8_t buf[2048];

static const bl_protocol_t *P(const char *name)
{
    const bl_protocol_t *p = bl_protocol_find(name);
    assert_non_null(p);
    return p;
}

/* A record set at t = 1000 ms: fresh until 11000 ms with a 10 s stale time */
static void record_at(bl_record_t *r, int32_t tmin_mc, int32_t tmax_mc)
{
    bl_record_init(r);
    bl_record_set(r, BL_F_VOLTAGE, 52800, 2, 1000);
    bl_record_set(r, BL_F_CURRENT, 0, 1, 1000);
    bl_record_set(r, BL_F_SOC, 80000, 0, 1000);
    bl_record_set(r, BL_F_SOH, 98000, 0, 1000);
    bl_record_set(r, BL_F_TEMP, 25000, 1, 1000);
    bl_record_set(r, BL_F_TEMP_MIN, tmin_mc, 1, 1000);
    bl_record_set(r, BL_F_TEMP_MAX, tmax_mc, 1, 1000);
    bl_record_set(r, BL_F_CELL_V_MIN, 3297, 3, 1000);
    bl_record_set(r, BL_F_CELL_V_MAX, 3303, 3, 1000);
    bl_record_set(r, BL_F_CAPACITY, 200000, 0, 1000);
    bl_record_set(r, BL_F_CYCLE_COUNT, 42, 0, 1000);
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        r->known[c] = BL_A_ALL;
}

static void take(const bl_protocol_t *p, const uint8_t *fr, size_t n, bl_rs_frame_t *f)
{
    bl_rs_session_t s;
    bl_rsr_t why;
    assert_int_equal(bl_rs_session_init(&s, p), 0);
    assert_int_equal(bl_rs_session_frame(&s, fr, n, buf, sizeof buf, f, &why), 0);
    assert_true(f->request);
}

/* Daly request for data id ID from the host at 0x40 (§1.1): A5 40 ID 08, eight zero bytes,
 * checksum = low byte of the sum of the first 12 bytes (DLY-01: A5+40+90+08 = 0x17D -> 7D) */
static void daly_request(uint8_t addr, uint8_t id, uint8_t q[13])
{
    unsigned sum = 0;
    memset(q, 0, 13);
    q[0] = 0xA5;
    q[1] = addr;
    q[2] = id;
    q[3] = 0x08;
    for (int i = 0; i < 12; i++)
        sum += q[i];
    q[12] = (uint8_t)sum;
}

/* 0x96 to board 1: the temperatures in °C + 40, seven a frame, numbered from 1. Two
 * sensors (min 24 °C, max 26 °C) make one frame from 0x01: A5 01 96 08 01 40 42 00 00 00 00 00,
 * checksum A5+01+96+08+01+40+42 = 0x1C7 -> C7 */
static void test_daly_temperatures_are_offset_by_40_in_one_frame(void **state)
{
    const uint8_t want[13] = { 0xA5, 0x01, 0x96, 0x08, 0x01, 0x40, 0x42, 0, 0, 0, 0, 0, 0xC7 };
    uint8_t q[13], out[64];
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_record_t r;
    (void)state;
    record_at(&r, 24000, 26000);
    daly_request(0x40, 0x96, q);
    assert_int_equal(q[12], 0x83); /* A5+40+96+08 = 0x183 */
    take(P("daly"), q, sizeof q, &f);
    assert_int_equal(bl_rs_answer(P("daly"), 0x40, &f, &r, 1500, 10000, out, sizeof out, &res), 13);
    assert_int_equal(res.frames, 1);
    assert_false(res.silent);
    assert_memory_equal(out, want, 13);
}

/* A byte holds 0..255: -50 °C + 40 = -10 goes out as 0, 250 °C + 40 = 290 as 255 */
static void test_daly_temperatures_beyond_a_byte_are_clamped(void **state)
{
    uint8_t q[13], out[64];
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_record_t r;
    (void)state;
    record_at(&r, -50000, 250000);
    daly_request(0x40, 0x96, q);
    take(P("daly"), q, sizeof q, &f);
    assert_int_equal(bl_rs_answer(P("daly"), 0x40, &f, &r, 1500, 10000, out, sizeof out, &res), 13);
    assert_int_equal(out[5], 0);
    assert_int_equal(out[6], 255);
}

/* Daly has no error reply: stale telemetry, a multi-frame answer included, gets silence */
static void test_daly_stays_silent_on_stale_data(void **state)
{
    const uint8_t ids[] = { 0x90, 0x95, 0x96 };
    uint8_t q[13], out[128];
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_record_t r;
    (void)state;
    record_at(&r, 24000, 26000);
    for (size_t i = 0; i < sizeof ids; i++) {
        daly_request(0x40, ids[i], q);
        take(P("daly"), q, sizeof q, &f);
        /* set at 1000 ms, asked at 12000 ms: 11 s old, over the 10 s stale time */
        assert_int_equal(bl_rs_answer(P("daly"), 0x40, &f, &r, 12000, 10000, out, sizeof out, &res), 0);
        assert_true(res.silent);
        assert_string_equal(res.why, "battery data is stale (Daly has no error reply)");
    }
}

/* The host addresses board 2 as 0x41: board 1 (0x40) keeps quiet; so it does for a write
 * (0xDA charge MOSFET switch) and for a data id no row defines (0x99) */
static void test_daly_stays_silent_for_other_boards_writes_and_unknown_ids(void **state)
{
    uint8_t q[13], out[64];
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_record_t r;
    (void)state;
    record_at(&r, 24000, 26000);
    daly_request(0x41, 0x90, q);
    take(P("daly"), q, sizeof q, &f);
    assert_int_equal(bl_rs_answer(P("daly"), 0x40, &f, &r, 1500, 10000, out, sizeof out, &res), 0);
    assert_string_equal(res.why, "for another board");
    daly_request(0x40, 0xDA, q);
    take(P("daly"), q, sizeof q, &f);
    assert_int_equal(bl_rs_answer(P("daly"), 0x40, &f, &r, 1500, 10000, out, sizeof out, &res), 0);
    assert_string_equal(res.why, "refused: writes and unknown layouts get no answer");
    daly_request(0x40, 0x99, q);
    take(P("daly"), q, sizeof q, &f);
    assert_null(f.msg);
    assert_int_equal(bl_rs_answer(P("daly"), 0x40, &f, &r, 1500, 10000, out, sizeof out, &res), 0);
    assert_string_equal(res.why, "unknown data id (Daly has no error reply)");
}

/* 16 cells in 0x95 need six 13-byte frames (78 bytes): 77 bytes of room is no room */
static void test_daly_cell_frames_that_do_not_fit_are_an_error(void **state)
{
    uint8_t q[13], out[78];
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_record_t r;
    (void)state;
    record_at(&r, 24000, 26000);
    daly_request(0x40, 0x95, q);
    take(P("daly"), q, sizeof q, &f);
    assert_int_equal(bl_rs_answer(P("daly"), 0x40, &f, &r, 1500, 10000, out, 77, &res), BL_ENOSPC);
    assert_int_equal(bl_rs_answer(P("daly"), 0x40, &f, &r, 1500, 10000, out, 78, &res), 78);
}

/* An answer is not a request: the battery never answers another board's answer */
static void test_answers_get_no_answer(void **state)
{
    const uint8_t a90[13] = { 0xA5, 0x01, 0x90, 0x08, 0x00, 0x82, 0x00, 0x00, 0x75, 0x30, 0x01, 0xF3, 0x59 }; /* DLY-03 */
    uint8_t out[64];
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_rsr_t why;
    bl_record_t r;
    (void)state;
    record_at(&r, 24000, 26000);
    assert_int_equal(bl_rs_session_init(&s, P("daly")), 0);
    assert_int_equal(bl_rs_session_frame(&s, a90, sizeof a90, buf, sizeof buf, &f, &why), 0);
    assert_false(f.request);
    assert_int_equal(bl_rs_answer(P("daly"), 0x01, &f, &r, 1500, 10000, out, sizeof out, &res), 0);
    assert_string_equal(res.why, "not a request");
}

/* JBD answers what it cannot serve with status 0x80 and no data (§2):
 * DD cmd 80 00, checksum = 0x10000 - (0x80 + 0x00) = FF80, 77 */
static void jbd_expect_refusal(const uint8_t *out, int n, uint8_t cmd)
{
    unsigned ck = 0x10000u - 0x80u;
    assert_int_equal(n, 7);
    assert_int_equal(out[0], 0xDD);
    assert_int_equal(out[1], cmd);
    assert_int_equal(out[2], 0x80);
    assert_int_equal(out[3], 0x00);
    assert_int_equal(out[4] << 8 | out[5], ck);
    assert_int_equal(out[6], 0x77);
}

/* JBD-08 (write 0xE1 MOS control) is refused; a read of a register no row defines (0x07:
 * DD A5 07 00, checksum 0x10000 - 0x07 = FFF9) gets the same code; JBD-01 (read 0x03) on a
 * record 11 s old too */
static void test_jbd_refuses_writes_unknown_registers_and_stale_reads_with_0x80(void **state)
{
    const uint8_t write_e1[] = { 0xDD, 0x5A, 0xE1, 0x02, 0x00, 0x02, 0xFF, 0x1B, 0x77 };
    const uint8_t read_07[] = { 0xDD, 0xA5, 0x07, 0x00, 0xFF, 0xF9, 0x77 };
    const uint8_t read_03[] = { 0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77 };
    uint8_t out[64];
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_record_t r;
    int n;
    (void)state;
    record_at(&r, 24000, 26000);
    take(P("jbd"), write_e1, sizeof write_e1, &f);
    n = bl_rs_answer(P("jbd"), 0, &f, &r, 1500, 10000, out, sizeof out, &res);
    jbd_expect_refusal(out, n, 0xE1);
    assert_string_equal(res.why, "refused: the emulated battery does not change on request");
    take(P("jbd"), read_07, sizeof read_07, &f);
    assert_null(f.msg);
    n = bl_rs_answer(P("jbd"), 0, &f, &r, 1500, 10000, out, sizeof out, &res);
    jbd_expect_refusal(out, n, 0x07);
    assert_string_equal(res.why, "unknown register");
    take(P("jbd"), read_03, sizeof read_03, &f);
    n = bl_rs_answer(P("jbd"), 0, &f, &r, 12000, 10000, out, sizeof out, &res);
    jbd_expect_refusal(out, n, 0x03);
    assert_int_equal(res.rtn, 0x80);
    assert_string_equal(res.why, "battery data is stale");
}

/* JK-01 (read all, cmd 0x06 from the PC): JK has no error answer, so a stale record gets
 * silence; the same frame with cmd 0x07, which no row defines, too */
static void test_jk_stays_silent_on_stale_data_and_unknown_commands(void **state)
{
    uint8_t jk[] = { 0x4E, 0x57, 0x00, 0x13, 0x00, 0x00, 0x00, 0x00, 0x06, 0x03, 0x00, 0x00, 0x00, 0x00,
                     0x00, 0x00, 0x68, 0x00, 0x00, 0x01, 0x29 };
    uint8_t out[1400];
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_record_t r;
    (void)state;
    record_at(&r, 24000, 26000);
    take(P("jk-4e57"), jk, sizeof jk, &f);
    assert_int_equal(f.cmd, 0x06);
    assert_int_equal(bl_rs_answer(P("jk-4e57"), 0, &f, &r, 12000, 10000, out, sizeof out, &res), 0);
    assert_string_equal(res.why, "battery data is stale (JK has no error reply)");
    jk[8] = 0x07;
    jk[20] = 0x2A; /* sum16 of bytes 0..16: 0x129 + 1 */
    take(P("jk-4e57"), jk, sizeof jk, &f);
    assert_null(f.msg);
    assert_int_equal(bl_rs_answer(P("jk-4e57"), 0, &f, &r, 1500, 10000, out, sizeof out, &res), 0);
    assert_string_equal(res.why, "unknown command");
}

/* §5: a request for our address with a wrong LCHKSUM gets RTN 0x03. PYL-01 is
 * ~20024642E00202FD33; its LENGTH E002 with the checksum nibble changed to D is the reject */
static void test_pylon_answers_a_bad_length_checksum_with_rtn_03(void **state)
{
    const char *bad = "~20024642D00202FD33\r";
    uint8_t out[64];
    bl_rs_answer_t res;
    bl_pyl_frame_t pf;
    bl_rsr_t why;
    int n;
    (void)state;
    n = bl_rs_answer_reject(P("pylon-rs485"), 0x02, (const uint8_t *)bad, strlen(bad), BL_RSR_LCHKSUM, out,
                            sizeof out, &res);
    assert_true(n > 0);
    assert_int_equal(bl_pyl_parse(out, (size_t)n, buf, sizeof buf, &pf, &why, NULL, NULL), 0);
    assert_int_equal(pf.adr, 0x02);
    assert_int_equal(pf.cid2, 0x03);
    assert_int_equal(pf.info_len, 0);
    assert_string_equal(res.why, "request length checksum wrong");
}

/* Nothing to say: another pack's address, an address that is not hex, a reject the
 * dialect has no code for, a frame too short to hold an address, a protocol without codes */
static void test_rejected_requests_that_get_no_answer(void **state)
{
    const char *other = "~20034642E00203FD31\r", *garbled = "~20G24642E00202FD33\r", *ok = "~20024642E00202FD33\r";
    const uint8_t daly[13] = { 0xA5, 0x40, 0x90, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x7E };
    uint8_t out[64];
    bl_rs_answer_t res;
    (void)state;
    assert_int_equal(bl_rs_answer_reject(P("pylon-rs485"), 0x02, (const uint8_t *)other, strlen(other),
                                         BL_RSR_CHECKSUM, out, sizeof out, &res), 0);
    assert_string_equal(res.why, "for another address");
    assert_int_equal(bl_rs_answer_reject(P("pylon-rs485"), 0x02, (const uint8_t *)garbled, strlen(garbled),
                                         BL_RSR_CHECKSUM, out, sizeof out, &res), 0);
    assert_string_equal(res.why, "address unreadable");
    assert_int_equal(bl_rs_answer_reject(P("pylon-rs485"), 0x02, (const uint8_t *)ok, strlen(ok), BL_RSR_SYNTAX,
                                         out, sizeof out, &res), 0);
    assert_string_equal(res.why, "malformed request");
    assert_int_equal(bl_rs_answer_reject(P("pylon-rs485"), 0x02, (const uint8_t *)ok, 4, BL_RSR_CHECKSUM, out,
                                         sizeof out, &res), 0);
    assert_string_equal(res.why, "nothing to answer");
    assert_int_equal(bl_rs_answer_reject(P("daly"), 0x40, daly, sizeof daly, BL_RSR_CHECKSUM, out, sizeof out,
                                         &res), 0);
    assert_true(res.silent);
}

/* The session's length rules (rs485-daly-jbd.md): Daly frames are 13 bytes, a JBD frame is
 * its LENGTH byte + 7, a JK frame at least 20 bytes; anything else is BL_RSR_LENGTH */
static void test_session_rejects_frames_of_the_wrong_length(void **state)
{
    const uint8_t daly12[12] = { 0xA5, 0x40, 0x90, 0x08 };
    const uint8_t jbd_long[8] = { 0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77, 0x77 };
    const uint8_t jk19[19] = { 0x4E, 0x57, 0x00, 0x12 };
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_rsr_t why;
    (void)state;
    assert_int_equal(bl_rs_session_init(&s, P("daly")), 0);
    assert_int_equal(bl_rs_session_frame(&s, daly12, sizeof daly12, buf, sizeof buf, &f, &why), BL_EBADMSG);
    assert_int_equal(why, BL_RSR_LENGTH);
    assert_int_equal(bl_rs_session_init(&s, P("jbd")), 0);
    assert_int_equal(bl_rs_session_frame(&s, jbd_long, sizeof jbd_long, buf, sizeof buf, &f, &why), BL_EBADMSG);
    assert_int_equal(why, BL_RSR_LENGTH);
    assert_int_equal(bl_rs_session_init(&s, P("jk-4e57")), 0);
    assert_int_equal(bl_rs_session_frame(&s, jk19, sizeof jk19, buf, sizeof buf, &f, &why), BL_EBADMSG);
    assert_int_equal(why, BL_RSR_LENGTH);
    /* a Modbus map is not a framed byte protocol: no session */
    assert_int_equal(bl_rs_session_init(&s, P("pace-modbus")), BL_EINVAL);
}

/* The inverter's requests are the fact sheets' vectors byte for byte: DLY-01 (0x90 from the
 * host at 0x40), JBD-01 (read 0x03), JK-01 (read all from the PC), PYL-01 (0x42 to ADR 2),
 * PYL-16 (0x42 to the whole group, INFO 0xFF), PYL-10 (0x61: INFO 0x01); a command no row
 * defines is BL_ENOENT */
static void test_requests_are_the_vectors(void **state)
{
    const uint8_t dly01[13] = { 0xA5, 0x40, 0x90, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x7D };
    const uint8_t jbd01[7] = { 0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77 };
    const uint8_t jk01[21] = { 0x4E, 0x57, 0x00, 0x13, 0, 0, 0, 0, 0x06, 0x03, 0x00, 0x00,
                               0,    0,    0,    0,    0x68, 0, 0, 0x01, 0x29 };
    uint8_t out[64];
    (void)state;
    assert_int_equal(bl_rs_request(P("daly"), 0x40, 0x90, false, out, sizeof out), 13);
    assert_memory_equal(out, dly01, 13);
    assert_int_equal(bl_rs_request(P("jbd"), 0, 0x03, false, out, sizeof out), 7);
    assert_memory_equal(out, jbd01, 7);
    assert_int_equal(bl_rs_request(P("jk-4e57"), 0, 0x06, false, out, sizeof out), 21);
    assert_memory_equal(out, jk01, 21);
    assert_int_equal(bl_rs_request(P("pylon-rs485"), 0x02, 0x42, false, out, sizeof out), 20);
    assert_memory_equal(out, "~20024642E00202FD33\r", 20);
    assert_int_equal(bl_rs_request(P("pylon-rs485"), 0x02, 0x42, true, out, sizeof out), 20);
    assert_memory_equal(out, "~20024642E002FFFD09\r", 20);
    assert_int_equal(bl_rs_request(P("pylon-rs485"), 0x02, 0x61, false, out, sizeof out), 20);
    assert_memory_equal(out, "~20024661E00201FD33\r", 20);
    assert_int_equal(bl_rs_request(P("pylon-rs485"), 0x02, 0x99, false, out, sizeof out), BL_ENOENT);
}

/* §5: a 0x42 whose INFO byte (03) is not the pack's ADR (02) gets RTN 0x90 "ADR error".
 * PYL-01 with INFO 03: the characters sum one more, CHKSUM 0xFD33 - 1 = 0xFD32 */
static void test_pylon_answers_a_foreign_info_address_with_rtn_90(void **state)
{
    const char *q = "~20024642E00203FD32\r";
    uint8_t out[64];
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_pyl_frame_t pf;
    bl_rsr_t why;
    bl_record_t r;
    int n;
    (void)state;
    record_at(&r, 24000, 26000);
    take(P("pylon-rs485"), (const uint8_t *)q, strlen(q), &f);
    n = bl_rs_answer(P("pylon-rs485"), 0x02, &f, &r, 1500, 10000, out, sizeof out, &res);
    assert_int_equal(bl_pyl_parse(out, (size_t)n, buf, sizeof buf, &pf, &why, NULL, NULL), 0);
    assert_int_equal(pf.cid2, 0x90);
    assert_int_equal(pf.info_len, 0);
    assert_string_equal(res.why, "INFO command byte differs from ADR");
}

/* 0x4F (protocol version) has no answer layout: the header is the answer (RTN 0, VER 2.0
 * in the header, no INFO); PACE v25 has no "no data" code, so a stale 0x42 gets silence */
static void test_pylon_header_only_answers_and_dialects_without_a_stale_code(void **state)
{
    uint8_t q[32], out[512];
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_pyl_frame_t pf;
    bl_rsr_t why;
    bl_record_t r;
    int n;
    (void)state;
    record_at(&r, 24000, 26000);
    n = bl_rs_request(P("pylon-rs485"), 0x02, 0x4F, false, q, sizeof q);
    assert_true(n > 0);
    take(P("pylon-rs485"), q, (size_t)n, &f);
    n = bl_rs_answer(P("pylon-rs485"), 0x02, &f, &r, 1500, 10000, out, sizeof out, &res);
    assert_int_equal(bl_pyl_parse(out, (size_t)n, buf, sizeof buf, &pf, &why, NULL, NULL), 0);
    assert_int_equal(pf.cid2, 0x00);
    assert_int_equal(pf.ver, 0x20);
    assert_int_equal(pf.info_len, 0);
    n = bl_rs_request(P("pylon-rs485:pace-v25"), 0x02, 0x42, false, q, sizeof q);
    assert_true(n > 0);
    take(P("pylon-rs485:pace-v25"), q, (size_t)n, &f);
    assert_int_equal(bl_rs_answer(P("pylon-rs485:pace-v25"), 0x02, &f, &r, 12000, 10000, out, sizeof out, &res), 0);
    assert_string_equal(res.why, "battery data is stale and the dialect has no code for it");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daly_temperatures_are_offset_by_40_in_one_frame),
        cmocka_unit_test(test_daly_temperatures_beyond_a_byte_are_clamped),
        cmocka_unit_test(test_daly_stays_silent_on_stale_data),
        cmocka_unit_test(test_daly_stays_silent_for_other_boards_writes_and_unknown_ids),
        cmocka_unit_test(test_daly_cell_frames_that_do_not_fit_are_an_error),
        cmocka_unit_test(test_answers_get_no_answer),
        cmocka_unit_test(test_jbd_refuses_writes_unknown_registers_and_stale_reads_with_0x80),
        cmocka_unit_test(test_jk_stays_silent_on_stale_data_and_unknown_commands),
        cmocka_unit_test(test_pylon_answers_a_bad_length_checksum_with_rtn_03),
        cmocka_unit_test(test_rejected_requests_that_get_no_answer),
        cmocka_unit_test(test_session_rejects_frames_of_the_wrong_length),
        cmocka_unit_test(test_requests_are_the_vectors),
        cmocka_unit_test(test_pylon_answers_a_foreign_info_address_with_rtn_90),
        cmocka_unit_test(test_pylon_header_only_answers_and_dialects_without_a_stale_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
