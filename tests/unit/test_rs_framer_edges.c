/*
 * The RS485 framer and frame builders at their edges (rs485.h, rs485-pylontech.md §2-3,
 * rs485-daly-jbd.md §3): a framer is not started on bad arguments; a Pylon frame with no CR
 * is cut at the longest frame LENID allows (18 + 4095 characters) as BL_RSR_TOO_LONG; hex
 * digits may be lower case, the checksum being over the characters as sent; a JK frame
 * that does not fit its buffer, or its 16-bit LENGTH, is not built.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/rs485.h"

typedef struct {
    unsigned frames, rejects, noise;
    uint8_t why;
    size_t len;
    uint32_t got, want;
} tally_t;

static void count(void *ctx, const bl_stream_ev_t *e)
{
    tally_t *t = ctx;
    if (e->kind == BL_SEV_FRAME) {
        t->frames++;
    } else if (e->kind == BL_SEV_REJECT) {
        t->rejects++;
        t->why = e->why;
        t->len = e->len;
        t->got = e->got;
        t->want = e->want;
    } else {
        t->noise++;
    }
}

static uint8_t buf[8192];

static void test_a_framer_needs_a_framing_a_buffer_and_a_callback(void **state)
{
    bl_stream_t s;
    tally_t t;
    (void)state;
    assert_int_equal(bl_stream_init(&s, BL_FRAMING_COUNT, buf, sizeof buf, count, &t), BL_EINVAL);
    assert_int_equal(bl_stream_init(&s, BL_FRAMING_PYLON, NULL, sizeof buf, count, &t), BL_EINVAL);
    assert_int_equal(bl_stream_init(&s, BL_FRAMING_PYLON, buf, BL_STREAM_BUF_MIN - 1, count, &t), BL_EINVAL);
    assert_int_equal(bl_stream_init(&s, BL_FRAMING_PYLON, buf, sizeof buf, NULL, &t), BL_EINVAL);
    assert_int_equal(bl_stream_init(&s, BL_FRAMING_PYLON, buf, BL_STREAM_BUF_MIN, count, &t), 0);
}

/* '~' and 4200 hex digits, no CR: at 4114 characters the run is longer than any frame
 * (4113 = 18 + 4095) and is rejected as too long, got 4114, want 4113 */
static void test_a_pylon_frame_without_its_cr_is_cut_as_too_long(void **state)
{
    static uint8_t d[4201];
    bl_stream_t s;
    tally_t t;
    (void)state;
    memset(&t, 0, sizeof t);
    d[0] = '~';
    memset(d + 1, '0', sizeof d - 1);
    assert_int_equal(bl_stream_init(&s, BL_FRAMING_PYLON, buf, sizeof buf, count, &t), 0);
    bl_stream_push(&s, d, sizeof d);
    assert_int_equal(t.frames, 0);
    assert_true(t.rejects >= 1);
    assert_int_equal(t.why, BL_RSR_TOO_LONG);
    assert_int_equal(t.got, BL_STREAM_PYLON_MAX + 1u);
    assert_int_equal(t.want, BL_STREAM_PYLON_MAX);
    assert_int_equal(BL_STREAM_PYLON_MAX, 4113);
}

/* PYL-01 ~20024642E00202FD33 with 'E' written 'e': the characters sum 0x20 more, so CHKSUM is
 * 0x10000 - (0x02CD + 0x20) = 0xFD13 (sent as "fd13"); the frame is PYL-01 all the same */
static void test_lower_case_hex_is_hex(void **state)
{
    const char *low = "~20024642e00202fd13\r", *upper_sum = "~20024642e00202FD33\r";
    uint8_t info[8];
    bl_pyl_frame_t f;
    bl_rsr_t why;
    uint32_t got, want;
    (void)state;
    assert_int_equal(bl_pyl_parse((const uint8_t *)low, strlen(low), info, sizeof info, &f, &why, &got, &want), 0);
    assert_int_equal(f.adr, 0x02);
    assert_int_equal(f.cid2, 0x42);
    assert_int_equal(f.info_len, 1);
    assert_int_equal(info[0], 0x02);
    assert_int_equal(bl_pyl_parse((const uint8_t *)upper_sum, strlen(upper_sum), info, sizeof info, &f, &why, &got,
                                  &want),
                     BL_EBADMSG);
    assert_int_equal(why, BL_RSR_CHECKSUM);
    assert_int_equal(got, 0xFD33);
    assert_int_equal(want, 0xFD13);
}

/* Not a Pylon frame at all: no '~' first (got the byte, want '~'), or nothing */
static void test_a_pylon_frame_starts_with_a_tilde(void **state)
{
    const uint8_t x[] = "20024642E00202FD33\r";
    uint8_t info[8];
    bl_pyl_frame_t f;
    bl_rsr_t why;
    uint32_t got, want;
    (void)state;
    assert_int_equal(bl_pyl_parse(x, sizeof x - 1, info, sizeof info, &f, &why, &got, &want), BL_EBADMSG);
    assert_int_equal(why, BL_RSR_SYNTAX);
    assert_int_equal(got, '2');
    assert_int_equal(want, '~');
    assert_int_equal(bl_pyl_parse(x, 0, info, sizeof info, &f, &why, &got, &want), BL_EBADMSG);
    assert_int_equal(got, 0);
}

/* JK 4E57 (§3): 4E 57, LENGTH (2), terminal (4), cmd, source, transport, INFO, record (4),
 * 68, checksum (4): 20 bytes around the INFO (JK-01: 21 bytes with its one INFO byte, LENGTH
 * 0x0013). 19 bytes of room for an empty INFO is too little; LENGTH counts all but the two
 * start bytes and must fit 16 bits, so 65 518 INFO bytes are too many, 65 517 are not */
static void test_jk_frames_that_do_not_fit(void **state)
{
    static uint8_t info[65518], out[20];
    (void)state;
    assert_int_equal(bl_jk_build(0x06, 0x03, 0x00, NULL, 0, out, 19), BL_ENOSPC);
    assert_int_equal(bl_jk_build(0x06, 0x03, 0x00, NULL, 0, out, 20), 20);
    assert_int_equal(out[2] << 8 | out[3], 18);
    assert_int_equal(bl_jk_build(0x06, 0x03, 0x00, info, sizeof info, out, sizeof out), BL_EINVAL);
    assert_int_equal(bl_jk_build(0x06, 0x03, 0x00, info, sizeof info - 1, out, sizeof out), BL_ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_framer_needs_a_framing_a_buffer_and_a_callback),
        cmocka_unit_test(test_a_pylon_frame_without_its_cr_is_cut_as_too_long),
        cmocka_unit_test(test_lower_case_hex_is_hex),
        cmocka_unit_test(test_a_pylon_frame_starts_with_a_tilde),
        cmocka_unit_test(test_jk_frames_that_do_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
