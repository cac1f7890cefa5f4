/*
 * The byte-stream framer (rs485.h) against every RS485 vector of the fact
 * sheets: whole frames come out whole, rejects carry their reason, noise is
 * skipped and counted, and the chunking of the input never changes anything
 * (every split point of every vector).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bmslink/rs485.h"
#include "rsvec.h"

#define MAXEV 512

typedef struct {
    uint8_t kind, why;
    size_t len;
    uint64_t offset;
    uint32_t got, want;
    uint8_t head[4];
} ev_t;

typedef struct {
    ev_t ev[MAXEV];
    size_t n;
} evlog_t;

static void record(void *ctx, const bl_stream_ev_t *e)
{
    evlog_t *l = ctx;
    ev_t *x;
    if (l->n >= MAXEV)
        return;
    x = &l->ev[l->n++];
    memset(x, 0, sizeof *x);
    x->kind = e->kind;
    x->why = e->why;
    x->len = e->len;
    x->offset = e->offset;
    x->got = e->got;
    x->want = e->want;
    if (e->data != NULL)
        memcpy(x->head, e->data, e->len < 4 ? e->len : 4);
}

static uint8_t buf[8192];

/* feed data in chunks of at most `chunk` bytes (0: one chunk); split at `at` when chunk == 0 and at > 0 */
static void run(unsigned framing, const uint8_t *d, size_t n, size_t chunk, size_t at, evlog_t *l, size_t cap)
{
    bl_stream_t s;
    memset(l, 0, sizeof *l);
    assert_int_equal(bl_stream_init(&s, framing, buf, cap, record, l), 0);
    if (chunk > 0) {
        for (size_t i = 0; i < n; i += chunk)
            bl_stream_push(&s, d + i, n - i < chunk ? n - i : chunk);
    } else {
        bl_stream_push(&s, d, at);
        bl_stream_push(&s, d + at, n - at);
    }
    bl_stream_flush(&s);
}

static void same(const evlog_t *a, const evlog_t *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_memory_equal(&a->ev[i], &b->ev[i], sizeof a->ev[i]);
}

static unsigned framing_of(const rsvec_t *v)
{
    if (strcmp(v->encoding, "ascii+cr") == 0)
        return BL_FRAMING_PYLON;
    if (strcmp(v->protocol, "daly-a5") == 0)
        return BL_FRAMING_DALY;
    if (strcmp(v->protocol, "jbd") == 0)
        return BL_FRAMING_JBD;
    if (strcmp(v->protocol, "jk-4e57") == 0)
        return BL_FRAMING_JK;
    return BL_FRAMING_COUNT; /* Modbus: framed by libmodbus, not here */
}

static const char *const files[] = { "pylontech.csv", "seplos-v2.csv", "pace-v25.csv", "eg4-daren.csv",
                                     "daly.csv",      "jbd.csv",       "jk-4e57.csv" };
static rsvec_t vecs[128];

/* Every vector the sheet marks good is one whole frame; every one it marks bad is a reject. */
static void test_every_vector_frames_as_the_sheet_says(void **state)
{
    size_t good = 0, bad = 0;
    (void)state;
    for (size_t f = 0; f < BL_ARRAY_LEN(files); f++) {
        size_t n = rsvec_load(files[f], vecs, BL_ARRAY_LEN(vecs));
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            evlog_t l;
            bool ok = strcmp(vecs[i].checksum_ok, "yes") == 0 && strcmp(vecs[i].length_ok, "no") != 0;
            run(framing_of(&vecs[i]), vecs[i].frame, vecs[i].len, 0, 0, &l, sizeof buf);
            if (ok) {
                assert_int_equal(l.n, 1);
                assert_int_equal(l.ev[0].kind, BL_SEV_FRAME);
                assert_int_equal(l.ev[0].len, vecs[i].len);
                good++;
            } else {
                /* after the reject the framer looks for a start inside the rejected bytes:
                 * in JK-02 an 'N' (0x4E) of the payload is one, and is noise */
                assert_true(l.n >= 1);
                assert_int_equal(l.ev[0].kind, BL_SEV_REJECT);
                assert_int_equal(l.ev[0].why, BL_RSR_CHECKSUM);
                for (size_t k = 1; k < l.n; k++)
                    assert_int_not_equal(l.ev[k].kind, BL_SEV_FRAME);
                bad++;
            }
        }
    }
    /* 21 + 8 + 24 + 10 + 6 + 8 + 2 rows; PYL-02, PYL-11, DLY-06, JK-02 are the bad ones */
    assert_int_equal(good + bad, 79);
    assert_int_equal(bad, 4);
}

/* Chunking property: every split point of every vector, and one byte at a time,
 * give exactly the events of one whole push. */
static void test_every_split_point_of_every_vector_gives_the_same_events(void **state)
{
    (void)state;
    for (size_t f = 0; f < BL_ARRAY_LEN(files); f++) {
        size_t n = rsvec_load(files[f], vecs, BL_ARRAY_LEN(vecs));
        for (size_t i = 0; i < n; i++) {
            evlog_t whole, part;
            unsigned fr = framing_of(&vecs[i]);
            run(fr, vecs[i].frame, vecs[i].len, 0, 0, &whole, sizeof buf);
            for (size_t at = 1; at < vecs[i].len; at++) {
                run(fr, vecs[i].frame, vecs[i].len, 0, at, &part, sizeof buf);
                same(&whole, &part);
            }
            run(fr, vecs[i].frame, vecs[i].len, 1, 0, &part, sizeof buf);
            same(&whole, &part);
        }
    }
}

/* A whole vector file as one stream with line noise between frames: any chunk size
 * from 1 byte to 4 KiB gives the same frames, rejects and noise runs. */
static void test_a_noisy_stream_in_any_chunking_gives_the_same_events(void **state)
{
    static uint8_t stream[65536];
    (void)state;
    for (size_t f = 0; f < BL_ARRAY_LEN(files); f++) {
        size_t n = rsvec_load(files[f], vecs, BL_ARRAY_LEN(vecs)), len = 0;
        unsigned fr = framing_of(&vecs[0]);
        evlog_t whole, part;
        static const size_t chunks[] = { 1, 2, 3, 7, 13, 64, 4096 };
        uint32_t x = 12345;
        for (size_t i = 0; i < n; i++) {
            /* a few noise bytes (no start byte of this framing) before each frame */
            for (unsigned k = 0; k < i % 4; k++) {
                x = x * 1103515245u + 12345u;
                uint8_t b = (uint8_t)(x >> 16);
                stream[len++] = (b == 0x7E || b == 0xA5 || b == 0xDD || b == 0x4E) ? 0x00 : b;
            }
            memcpy(stream + len, vecs[i].frame, vecs[i].len);
            len += vecs[i].len;
        }
        run(fr, stream, len, 0, len, &whole, sizeof buf);
        for (size_t c = 0; c < BL_ARRAY_LEN(chunks); c++) {
            run(fr, stream, len, chunks[c], 0, &part, sizeof buf);
            same(&whole, &part);
        }
    }
}

/* PYL-11: the example printed in four vendor documents; "1203400456ABCEFE" sums to
 * 0x038F, so CHKSUM is 0xFC71, not the printed 0xFC72. */
static void test_pylon_printed_example_is_rejected_with_the_correct_checksum(void **state)
{
    uint8_t f[32];
    size_t n = rs_ascii("~1203400456ABCEFEFC72", f);
    evlog_t l;
    (void)state;
    run(BL_FRAMING_PYLON, f, n, 0, 0, &l, sizeof buf);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.ev[0].why, BL_RSR_CHECKSUM);
    assert_int_equal(l.ev[0].got, 0xFC72);
    assert_int_equal(l.ev[0].want, 0xFC71);
}

/* noise before a frame is skipped and reported once, with its size and place */
static void test_noise_before_a_frame_is_counted_and_the_frame_survives(void **state)
{
    uint8_t d[64] = { 0x00, 0xFF, 0x13, 0x55, 0x80 };
    size_t n = 5 + rs_ascii("~20024642E00202FD33", d + 5); /* PYL-01 */
    evlog_t l;
    (void)state;
    run(BL_FRAMING_PYLON, d, n, 0, 0, &l, sizeof buf);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.ev[0].kind, BL_SEV_NOISE);
    assert_int_equal(l.ev[0].len, 5);
    assert_int_equal(l.ev[0].offset, 0);
    assert_int_equal(l.ev[1].kind, BL_SEV_FRAME);
    assert_int_equal(l.ev[1].offset, 5);
}

/* a frame cut short by the next '~' is "truncated"; the next frame is whole */
static void test_pylon_frame_cut_by_the_next_start_is_truncated(void **state)
{
    uint8_t d[64] = "~2002";
    size_t n = 5 + rs_ascii("~2002464F0000FD98", d + 5); /* PYL-14 */
    evlog_t l;
    (void)state;
    run(BL_FRAMING_PYLON, d, n, 0, 0, &l, sizeof buf);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.ev[0].why, BL_RSR_TRUNCATED);
    assert_int_equal(l.ev[0].len, 5);
    assert_int_equal(l.ev[1].kind, BL_SEV_FRAME);
}

/* a binary byte inside an ASCII frame (wrong baud) is a syntax reject */
static void test_pylon_non_hex_character_is_a_syntax_reject(void **state)
{
    uint8_t d[] = { '~', '2', '0', 0x92, '2', '\r' };
    evlog_t l;
    (void)state;
    run(BL_FRAMING_PYLON, d, sizeof d, 0, 0, &l, sizeof buf);
    assert_int_equal(l.ev[0].kind, BL_SEV_REJECT);
    assert_int_equal(l.ev[0].why, BL_RSR_SYNTAX);
    assert_int_equal(l.ev[0].got, 0x92);
}

/* LENID 2 announced, no INFO sent, CHKSUM valid (FD81 computed with a Python reference) */
static void test_pylon_length_field_disagreeing_with_the_frame_is_a_length_reject(void **state)
{
    uint8_t d[32];
    size_t n = rs_ascii("~2002464FE002FD81", d);
    evlog_t l;
    (void)state;
    run(BL_FRAMING_PYLON, d, n, 0, 0, &l, sizeof buf);
    assert_int_equal(l.ev[0].why, BL_RSR_LENGTH);
    assert_int_equal(l.ev[0].got, 2);
    assert_int_equal(l.ev[0].want, 0);
}

/* LENID 0 must carry LCHKSUM 0 (§3); 1 is a length-checksum reject */
static void test_pylon_wrong_lchksum_is_its_own_reject(void **state)
{
    uint8_t d[32];
    size_t n = rs_ascii("~2002464F1000FD97", d);
    evlog_t l;
    (void)state;
    run(BL_FRAMING_PYLON, d, n, 0, 0, &l, sizeof buf);
    assert_int_equal(l.ev[0].why, BL_RSR_LCHKSUM);
    assert_int_equal(l.ev[0].got, 1);
    assert_int_equal(l.ev[0].want, 0);
}

/* DLY-06: DLY-03 with its checksum byte altered (0x5A, correct 0x59) */
static void test_daly_altered_checksum_is_rejected(void **state)
{
    const uint8_t d[] = { 0xA5, 0x01, 0x90, 0x08, 0x00, 0x82, 0x00, 0x00, 0x75, 0x30, 0x01, 0xF3, 0x5A };
    evlog_t l;
    (void)state;
    run(BL_FRAMING_DALY, d, sizeof d, 0, 0, &l, sizeof buf);
    assert_int_equal(l.ev[0].why, BL_RSR_CHECKSUM);
    assert_int_equal(l.ev[0].got, 0x5A);
    assert_int_equal(l.ev[0].want, 0x59);
}

/* A5 01 90 then a whole DLY-03: the length byte of the first is A5, not 08; the
 * framer finds the real frame inside the rejected bytes */
static void test_daly_resynchronises_inside_a_broken_frame(void **state)
{
    const uint8_t d[] = { 0xA5, 0x01, 0x90, 0xA5, 0x01, 0x90, 0x08, 0x00, 0x82, 0x00,
                          0x00, 0x75, 0x30, 0x01, 0xF3, 0x59 };
    evlog_t l;
    (void)state;
    run(BL_FRAMING_DALY, d, sizeof d, 0, 0, &l, sizeof buf);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.ev[0].why, BL_RSR_LENGTH);
    assert_int_equal(l.ev[0].len, 3);
    assert_int_equal(l.ev[0].got, 0xA5);
    assert_int_equal(l.ev[1].kind, BL_SEV_FRAME);
    assert_int_equal(l.ev[1].offset, 3);
    assert_int_equal(l.ev[1].len, 13);
}

/* JBD-01 with its checksum changed: 0x10000 - 0x03 = 0xFFFD */
static void test_jbd_checksum_and_end_byte_are_checked(void **state)
{
    const uint8_t bad_sum[] = { 0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFC, 0x77 };
    const uint8_t bad_end[] = { 0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x78 };
    evlog_t l;
    (void)state;
    run(BL_FRAMING_JBD, bad_sum, sizeof bad_sum, 0, 0, &l, sizeof buf);
    assert_int_equal(l.ev[0].why, BL_RSR_CHECKSUM);
    assert_int_equal(l.ev[0].got, 0xFFFC);
    assert_int_equal(l.ev[0].want, 0xFFFD);
    run(BL_FRAMING_JBD, bad_end, sizeof bad_end, 0, 0, &l, sizeof buf);
    assert_int_equal(l.ev[0].why, BL_RSR_LENGTH);
}

/* JK-02: the vendor's example; its bytes sum to 0x485C, 0x4923 is printed */
static void test_jk_vendor_example_checksum_does_not_verify(void **state)
{
    size_t n = rsvec_load("jk-4e57.csv", vecs, BL_ARRAY_LEN(vecs));
    evlog_t l;
    (void)state;
    assert_int_equal(n, 2);
    run(BL_FRAMING_JK, vecs[1].frame, vecs[1].len, 0, 0, &l, sizeof buf);
    assert_int_equal(l.ev[0].why, BL_RSR_CHECKSUM);
    assert_int_equal(l.ev[0].got, 0x4923);
    assert_int_equal(l.ev[0].want, 0x485C);
}

/* a frame longer than the caller's buffer is rejected, never written past it */
static void test_frame_longer_than_the_buffer_is_too_long(void **state)
{
    size_t n = rsvec_load("pylontech.csv", vecs, BL_ARRAY_LEN(vecs));
    evlog_t l;
    (void)state;
    assert_true(n >= 3);
    run(BL_FRAMING_PYLON, vecs[2].frame, vecs[2].len, 0, 0, &l, 64); /* PYL-03: 259 characters */
    assert_int_equal(l.ev[0].why, BL_RSR_TOO_LONG);
}

/* the end of input inside a frame reports it as truncated */
static void test_end_of_input_inside_a_frame_is_truncated(void **state)
{
    const uint8_t d[] = { 0xDD, 0x03, 0x00, 0x1B, 0x17 };
    evlog_t l;
    (void)state;
    run(BL_FRAMING_JBD, d, sizeof d, 0, 0, &l, sizeof buf);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.ev[0].why, BL_RSR_TRUNCATED);
    assert_int_equal(l.ev[0].len, 5);
}

/* counters only increment and match the events */
static void test_counters_match_the_events(void **state)
{
    uint8_t d[64] = { 0x01, 0x02 };
    size_t n = 2 + rs_ascii("~1203400456ABCEFEFC72", d + 2);
    bl_stream_t s;
    evlog_t l;
    (void)state;
    memset(&l, 0, sizeof l);
    assert_int_equal(bl_stream_init(&s, BL_FRAMING_PYLON, buf, sizeof buf, record, &l), 0);
    bl_stream_push(&s, d, n);
    bl_stream_push(&s, d, n);
    bl_stream_flush(&s);
    assert_int_equal(s.rejected[BL_RSR_CHECKSUM], 2);
    assert_int_equal(s.rejected[BL_RSR_NOISE], 2);
    assert_int_equal(s.noise_bytes, 4);
    assert_int_equal(s.frames, 0);
}

static void test_init_refuses_a_tiny_buffer_or_unknown_framing(void **state)
{
    bl_stream_t s;
    evlog_t l;
    (void)state;
    assert_int_equal(bl_stream_init(&s, BL_FRAMING_PYLON, buf, 8, record, &l), BL_EINVAL);
    assert_int_equal(bl_stream_init(&s, BL_FRAMING_COUNT, buf, sizeof buf, record, &l), BL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_vector_frames_as_the_sheet_says),
        cmocka_unit_test(test_every_split_point_of_every_vector_gives_the_same_events),
        cmocka_unit_test(test_a_noisy_stream_in_any_chunking_gives_the_same_events),
        cmocka_unit_test(test_pylon_printed_example_is_rejected_with_the_correct_checksum),
        cmocka_unit_test(test_noise_before_a_frame_is_counted_and_the_frame_survives),
        cmocka_unit_test(test_pylon_frame_cut_by_the_next_start_is_truncated),
        cmocka_unit_test(test_pylon_non_hex_character_is_a_syntax_reject),
        cmocka_unit_test(test_pylon_length_field_disagreeing_with_the_frame_is_a_length_reject),
        cmocka_unit_test(test_pylon_wrong_lchksum_is_its_own_reject),
        cmocka_unit_test(test_daly_altered_checksum_is_rejected),
        cmocka_unit_test(test_daly_resynchronises_inside_a_broken_frame),
        cmocka_unit_test(test_jbd_checksum_and_end_byte_are_checked),
        cmocka_unit_test(test_jk_vendor_example_checksum_does_not_verify),
        cmocka_unit_test(test_frame_longer_than_the_buffer_is_too_long),
        cmocka_unit_test(test_end_of_input_inside_a_frame_is_truncated),
        cmocka_unit_test(test_counters_match_the_events),
        cmocka_unit_test(test_init_refuses_a_tiny_buffer_or_unknown_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
