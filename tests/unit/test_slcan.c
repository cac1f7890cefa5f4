/*
 * slcan (Lawicel) line framing. Frame lines from the Lawicel CAN232/CANUSB
 * manual: "t4563112233" sends id 0x456, 3 bytes 11 22 33; "T12ABCDEF2AA55"
 * sends 29-bit id 0x12ABCDEF, 2 bytes AA 55; "r/R" are remote frames with a
 * length and no data; with Z1 every received frame ends in a 4-digit hex
 * millisecond timestamp 0000..EA5F (59999). Answers: CR = ok, BEL (0x07) =
 * error, "z"/"Z" = frame queued, "Fxx" = status flags, "Vhhss" = version.
 * S0..S8 select 10, 20, 50, 100, 125, 250, 500, 800 kbit/s and 1 Mbit/s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/slcan.h"

/* Push a whole string, return the first event (and how many bytes it took). */
static size_t push(bl_slcan_rx_t *p, const char *s, bl_slcan_event_t *ev)
{
    return bl_slcan_push(p, (const uint8_t *)s, strlen(s), ev);
}

static void test_lawicel_manual_standard_frame(void **state)
{
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    (void)state;
    bl_slcan_rx_init(&p);
    assert_int_equal(push(&p, "t4563112233\r", &ev), 12);
    assert_int_equal(ev.kind, BL_SLCAN_FRAME);
    assert_int_equal(ev.frame.id, 0x456);
    assert_int_equal(ev.frame.flags, 0);
    assert_int_equal(ev.frame.len, 3);
    assert_int_equal(ev.frame.data[0], 0x11);
    assert_int_equal(ev.frame.data[1], 0x22);
    assert_int_equal(ev.frame.data[2], 0x33);
    assert_false(ev.has_ts);
    assert_int_equal(p.frames, 1);
}

static void test_lawicel_manual_extended_frame(void **state)
{
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    (void)state;
    bl_slcan_rx_init(&p);
    push(&p, "T12ABCDEF2AA55\r", &ev);
    assert_int_equal(ev.kind, BL_SLCAN_FRAME);
    assert_int_equal(ev.frame.id, 0x12ABCDEF);
    assert_int_equal(ev.frame.flags, BL_CAN_EXT);
    assert_int_equal(ev.frame.len, 2);
    assert_int_equal(ev.frame.data[0], 0xAA);
    assert_int_equal(ev.frame.data[1], 0x55);
}

static void test_remote_frames_carry_a_length_but_no_data(void **state)
{
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    (void)state;
    bl_slcan_rx_init(&p);
    push(&p, "r1234\r", &ev);
    assert_int_equal(ev.kind, BL_SLCAN_FRAME);
    assert_int_equal(ev.frame.id, 0x123);
    assert_int_equal(ev.frame.flags, BL_CAN_RTR);
    assert_int_equal(ev.frame.len, 4);
    push(&p, "R123456780\r", &ev);
    assert_int_equal(ev.frame.id, 0x12345678);
    assert_int_equal(ev.frame.flags, BL_CAN_EXT | BL_CAN_RTR);
    assert_int_equal(ev.frame.len, 0);
}

/* Z1: 4 hex digits of milliseconds after the data; EA5F = 59999, the largest. */
static void test_timestamp_after_the_data(void **state)
{
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    (void)state;
    bl_slcan_rx_init(&p);
    push(&p, "t4563112233EA5F\r", &ev);
    assert_int_equal(ev.kind, BL_SLCAN_FRAME);
    assert_int_equal(ev.frame.len, 3);
    assert_true(ev.has_ts);
    assert_int_equal(ev.ts_ms, 59999);
    push(&p, "t4563112233EA60\r", &ev); /* 60000 ms cannot be */
    assert_int_equal(ev.kind, BL_SLCAN_BAD);
    assert_int_equal(ev.why, BL_REJ_SYNTAX);
    assert_int_equal(ev.col, 12);
}

static void test_answers_ok_bel_ack_status_version(void **state)
{
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    (void)state;
    bl_slcan_rx_init(&p);
    assert_int_equal(push(&p, "\r", &ev), 1);
    assert_int_equal(ev.kind, BL_SLCAN_OK);
    assert_int_equal(push(&p, "\a", &ev), 1);
    assert_int_equal(ev.kind, BL_SLCAN_BEL);
    push(&p, "z\r", &ev);
    assert_int_equal(ev.kind, BL_SLCAN_TX_ACK);
    push(&p, "Z\r", &ev);
    assert_int_equal(ev.kind, BL_SLCAN_TX_ACK);
    push(&p, "F25\r", &ev); /* error warning (0x04) + error passive (0x20) + rx fifo full (0x01) */
    assert_int_equal(ev.kind, BL_SLCAN_STATUS);
    assert_int_equal(ev.status, 0x25);
    push(&p, "V1013\r", &ev);
    assert_int_equal(ev.kind, BL_SLCAN_INFO);
    assert_string_equal(ev.text, "V1013");
    push(&p, "NB001\r", &ev);
    assert_int_equal(ev.kind, BL_SLCAN_INFO);
    assert_string_equal(ev.text, "NB001");
}

/* python-can as a second host on the same pty sends its own commands first. */
static void test_another_hosts_commands_are_skipped_not_garbage(void **state)
{
    static const char *const cmds[] = { "O\r", "C\r", "S6\r", "L\r", "s031C\r", "Z1\r", "F\r", "V\r" };
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    (void)state;
    bl_slcan_rx_init(&p);
    for (size_t i = 0; i < BL_ARRAY_LEN(cmds); i++) {
        push(&p, cmds[i], &ev);
        assert_int_equal(ev.kind, BL_SLCAN_HOST_CMD);
    }
    assert_int_equal(p.rejected[BL_REJ_SYNTAX], 0);
}

static void test_every_reject_names_cause_and_column(void **state)
{
    static const struct {
        const char *line;
        bl_reject_t why;
        unsigned col;
    } cases[] = {
        { "t12G0\r", BL_REJ_SYNTAX, 4 },         /* G is no hex digit */
        { "t8000\r", BL_REJ_SYNTAX, 2 },         /* 11-bit ids end at 0x7FF */
        { "T200000000\r", BL_REJ_SYNTAX, 2 },    /* 29-bit ids end at 0x1FFFFFFF */
        { "t1239\r", BL_REJ_LENGTH, 5 },         /* classic CAN has at most 8 bytes */
        { "t123X\r", BL_REJ_SYNTAX, 5 },         /* the length is a digit */
        { "t1232AA\r", BL_REJ_LENGTH, 8 },       /* 2 bytes announced, 1 sent */
        { "t1231AABB\r", BL_REJ_LENGTH, 8 },     /* 1 byte announced, 2 sent (and no 4-digit timestamp) */
        { "t1231AQ\r", BL_REJ_SYNTAX, 7 },       /* bad data digit */
        { "t12\r", BL_REJ_SYNTAX, 4 },           /* shorter than id + length */
        { "r1230AA\r", BL_REJ_LENGTH, 6 },       /* a remote frame has no data */
        { "hello\r", BL_REJ_SYNTAX, 1 },
        { "t12\x01" "0\r", BL_REJ_SYNTAX, 4 },   /* control byte */
    };
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    (void)state;
    for (size_t i = 0; i < BL_ARRAY_LEN(cases); i++) {
        bl_slcan_rx_init(&p);
        push(&p, cases[i].line, &ev);
        assert_int_equal(ev.kind, BL_SLCAN_BAD);
        assert_int_equal(ev.why, cases[i].why);
        assert_int_equal(ev.col, cases[i].col);
        assert_non_null(ev.what);
        assert_int_equal(p.rejected[cases[i].why], 1);
    }
}

/* Garbage with no line end (wrong baud rate) is reported as soon as it
 * outgrows any slcan line, and the next good line still parses. */
static void test_endless_garbage_is_cut_and_parsing_resumes(void **state)
{
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    uint8_t junk[400];
    size_t used;
    (void)state;
    memset(junk, 'x', sizeof junk);
    bl_slcan_rx_init(&p);
    used = bl_slcan_push(&p, junk, sizeof junk, &ev);
    assert_int_equal(ev.kind, BL_SLCAN_BAD);
    assert_int_equal(ev.why, BL_REJ_TOO_LONG);
    assert_int_equal(used, BL_SLCAN_LINE_MAX + 1);
    used += bl_slcan_push(&p, junk + used, sizeof junk - used, &ev);
    assert_int_equal(ev.kind, BL_SLCAN_NONE);
    assert_int_equal(used, sizeof junk);
    push(&p, "\rt1230\r", &ev); /* the CR ends the junk silently, the frame follows */
    assert_int_equal(ev.kind, BL_SLCAN_FRAME);
    assert_int_equal(ev.frame.id, 0x123);
    bl_slcan_rx_init(&p);
    bl_slcan_push(&p, junk, sizeof junk, &ev);
    bl_slcan_push(&p, (const uint8_t *)"zz\r", 3, &ev);
    assert_int_equal(ev.kind, BL_SLCAN_NONE); /* still inside the junk line */
    push(&p, "t1230\r", &ev);
    assert_int_equal(ev.kind, BL_SLCAN_FRAME);
    assert_int_equal(ev.frame.id, 0x123);
}

static void test_half_line_then_bel_reports_both(void **state)
{
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    const char *in = "t12\a";
    size_t used;
    (void)state;
    bl_slcan_rx_init(&p);
    used = push(&p, in, &ev);
    assert_int_equal(ev.kind, BL_SLCAN_BAD);
    assert_int_equal(used, 3);
    used += bl_slcan_push(&p, (const uint8_t *)in + used, strlen(in) - used, &ev);
    assert_int_equal(ev.kind, BL_SLCAN_BEL);
    assert_int_equal(used, 4);
}

static void test_crlf_line_ends_are_accepted(void **state)
{
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    const char *in = "t1230\r\nt1240\r\n";
    size_t used;
    (void)state;
    bl_slcan_rx_init(&p);
    used = push(&p, in, &ev);
    assert_int_equal(ev.frame.id, 0x123);
    used += bl_slcan_push(&p, (const uint8_t *)in + used, strlen(in) - used, &ev);
    assert_int_equal(ev.kind, BL_SLCAN_FRAME);
    assert_int_equal(ev.frame.id, 0x124);
    used += bl_slcan_push(&p, (const uint8_t *)in + used, strlen(in) - used, &ev);
    assert_int_equal(ev.kind, BL_SLCAN_NONE);
    assert_int_equal(used, strlen(in));
}

/* A serial port hands over bytes in any chunks: one byte at a time gives the same events. */
static void test_any_chunking_gives_the_same_events(void **state)
{
    const char *in = "t4563112233\rz\rF00\rT12ABCDEF2AA55EA5F\r\abad\rr1230\r";
    const uint8_t want[] = { BL_SLCAN_FRAME, BL_SLCAN_TX_ACK, BL_SLCAN_STATUS, BL_SLCAN_FRAME,
                             BL_SLCAN_BEL,   BL_SLCAN_BAD,    BL_SLCAN_FRAME };
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    size_t k = 0;
    (void)state;
    bl_slcan_rx_init(&p);
    for (size_t i = 0; i < strlen(in); i++) {
        size_t used = bl_slcan_push(&p, (const uint8_t *)in + i, 1, &ev);
        assert_int_equal(used, 1);
        if (ev.kind != BL_SLCAN_NONE) {
            assert_true(k < sizeof want);
            assert_int_equal(ev.kind, want[k++]);
        }
    }
    assert_int_equal(k, sizeof want);
}

static void test_format_writes_the_manual_lines(void **state)
{
    char b[BL_SLCAN_LINE_MAX];
    bl_can_frame_t f = { .id = 0x456, .len = 3, .data = { 0x11, 0x22, 0x33 } };
    bl_can_frame_t e = { .id = 0x12ABCDEF, .len = 2, .flags = BL_CAN_EXT, .data = { 0xAA, 0x55 } };
    bl_can_frame_t r = { .id = 0x123, .len = 4, .flags = BL_CAN_RTR };
    bl_can_frame_t z = { .id = 0x7FF, .len = 0 };
    (void)state;
    assert_int_equal(bl_slcan_format(&f, b, sizeof b), 12);
    assert_memory_equal(b, "t4563112233\r", 12);
    assert_int_equal(bl_slcan_format(&e, b, sizeof b), 15);
    assert_memory_equal(b, "T12ABCDEF2AA55\r", 15);
    assert_int_equal(bl_slcan_format(&r, b, sizeof b), 6);
    assert_memory_equal(b, "r1234\r", 6);
    assert_int_equal(bl_slcan_format(&z, b, sizeof b), 6);
    assert_memory_equal(b, "t7FF0\r", 6);
}

/* CAN FD: DLC code 9 = 12 bytes (ISO 11898-1:2015) */
static void test_format_fd_uses_the_dlc_code(void **state)
{
    char b[BL_SLCAN_LINE_MAX];
    bl_can_frame_t f = { .id = 0x123, .len = 12, .flags = BL_CAN_FD };
    (void)state;
    assert_int_equal(bl_slcan_format(&f, b, sizeof b), 1 + 3 + 1 + 24 + 1);
    assert_memory_equal(b, "d1239", 5);
    for (size_t i = 5; i < 29; i++)
        assert_int_equal(b[i], '0');
    assert_int_equal(b[29], '\r');
    f.len = 13; /* no DLC code means 13 bytes */
    assert_int_equal(bl_slcan_format(&f, b, sizeof b), BL_EINVAL);
}

static void test_format_refuses_what_slcan_cannot_carry(void **state)
{
    char b[BL_SLCAN_LINE_MAX];
    bl_can_frame_t err = { .id = 0x40, .len = 8, .flags = BL_CAN_ERR };
    bl_can_frame_t big = { .id = 0x800, .len = 0 };
    bl_can_frame_t long9 = { .id = 0x100, .len = 9 };
    bl_can_frame_t fdrtr = { .id = 0x100, .len = 8, .flags = BL_CAN_FD | BL_CAN_RTR };
    bl_can_frame_t ok = { .id = 0x100, .len = 8 };
    (void)state;
    assert_int_equal(bl_slcan_format(&err, b, sizeof b), BL_EINVAL);
    assert_int_equal(bl_slcan_format(&big, b, sizeof b), BL_EINVAL);
    assert_int_equal(bl_slcan_format(&long9, b, sizeof b), BL_EINVAL);
    assert_int_equal(bl_slcan_format(&fdrtr, b, sizeof b), BL_EINVAL);
    assert_int_equal(bl_slcan_format(&ok, b, 10), BL_ENOSPC);
}

static void test_bitrate_commands_s0_to_s8(void **state)
{
    size_t n;
    const uint32_t *all = bl_slcan_bitrates(&n);
    (void)state;
    assert_int_equal(n, 9);
    assert_int_equal(bl_slcan_bitrate_code(10000), 0);
    assert_int_equal(bl_slcan_bitrate_code(125000), 4);
    assert_int_equal(bl_slcan_bitrate_code(500000), 6);
    assert_int_equal(bl_slcan_bitrate_code(800000), 7);
    assert_int_equal(bl_slcan_bitrate_code(1000000), 8);
    assert_int_equal(bl_slcan_bitrate_code(83333), BL_EINVAL);
    assert_int_equal(all[3], 100000);
}

/* CANable 2's slcan-fd dialect: d/D data, b/B with bit-rate switch, DLC code 0..F. */
static void test_fd_lines(void **state)
{
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    char line[200] = "D1234ABCDF";
    (void)state;
    for (int i = 0; i < 64; i++)
        strcat(line, "5a"); /* lower-case hex is hex too */
    strcat(line, "\r");
    bl_slcan_rx_init(&p);
    push(&p, line, &ev);
    assert_int_equal(ev.kind, BL_SLCAN_FRAME);
    assert_int_equal(ev.frame.id, 0x1234ABCD);
    assert_int_equal(ev.frame.flags, BL_CAN_EXT | BL_CAN_FD);
    assert_int_equal(ev.frame.len, 64);
    assert_int_equal(ev.frame.data[63], 0x5A);
    push(&p, "b1239000000000000000000000000\r", &ev);
    assert_int_equal(ev.kind, BL_SLCAN_FRAME);
    assert_int_equal(ev.frame.flags, BL_CAN_FD);
    assert_int_equal(ev.frame.len, 12);
    push(&p, "d123G\r", &ev); /* G is no DLC code */
    assert_int_equal(ev.kind, BL_SLCAN_BAD);
    assert_int_equal(ev.col, 5);
    push(&p, "T1234\r", &ev); /* a 29-bit id needs 8 digits */
    assert_int_equal(ev.kind, BL_SLCAN_BAD);
    assert_non_null(strstr(ev.what, "8 id digits"));
}

/* Lines that look like answers or commands but are not. */
static void test_near_misses_are_garbage(void **state)
{
    static const char *const lines[] = { "F0G\r", "F123\r", "Z2\r", "zz\r", "OX\r", "S6X\r", "s0123456789\r",
                                          "t1230ZZZZ\r", "t12\1770\r" /* DEL */ };
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    (void)state;
    for (size_t i = 0; i < BL_ARRAY_LEN(lines); i++) {
        bl_slcan_rx_init(&p);
        push(&p, lines[i], &ev);
        if (ev.kind != BL_SLCAN_BAD)
            fail_msg("'%s' gave event %d, expected BAD", lines[i], ev.kind);
        assert_int_equal(ev.why, BL_REJ_SYNTAX);
    }
}

/* A BEL inside endless garbage still counts as the adapter's answer. */
static void test_bel_ends_garbage(void **state)
{
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    uint8_t junk[BL_SLCAN_LINE_MAX + 10];
    size_t used;
    (void)state;
    memset(junk, 'q', sizeof junk);
    junk[sizeof junk - 1] = '\a';
    bl_slcan_rx_init(&p);
    used = bl_slcan_push(&p, junk, sizeof junk, &ev);
    assert_int_equal(ev.why, BL_REJ_TOO_LONG);
    used += bl_slcan_push(&p, junk + used, sizeof junk - used, &ev);
    assert_int_equal(ev.kind, BL_SLCAN_BEL);
    assert_int_equal(used, sizeof junk);
}

static void test_format_fd_extended(void **state)
{
    char b[BL_SLCAN_LINE_MAX];
    bl_can_frame_t f = { .id = 0x18FF50E5, .len = 0, .flags = BL_CAN_FD | BL_CAN_EXT };
    (void)state;
    assert_int_equal(bl_slcan_format(&f, b, sizeof b), 11);
    assert_memory_equal(b, "D18FF50E50\r", 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lawicel_manual_standard_frame),
        cmocka_unit_test(test_lawicel_manual_extended_frame),
        cmocka_unit_test(test_remote_frames_carry_a_length_but_no_data),
        cmocka_unit_test(test_timestamp_after_the_data),
        cmocka_unit_test(test_answers_ok_bel_ack_status_version),
        cmocka_unit_test(test_another_hosts_commands_are_skipped_not_garbage),
        cmocka_unit_test(test_every_reject_names_cause_and_column),
        cmocka_unit_test(test_endless_garbage_is_cut_and_parsing_resumes),
        cmocka_unit_test(test_half_line_then_bel_reports_both),
        cmocka_unit_test(test_crlf_line_ends_are_accepted),
        cmocka_unit_test(test_any_chunking_gives_the_same_events),
        cmocka_unit_test(test_format_writes_the_manual_lines),
        cmocka_unit_test(test_format_fd_uses_the_dlc_code),
        cmocka_unit_test(test_format_refuses_what_slcan_cannot_carry),
        cmocka_unit_test(test_bitrate_commands_s0_to_s8),
        cmocka_unit_test(test_fd_lines),
        cmocka_unit_test(test_near_misses_are_garbage),
        cmocka_unit_test(test_bel_ends_garbage),
        cmocka_unit_test(test_format_fd_extended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
