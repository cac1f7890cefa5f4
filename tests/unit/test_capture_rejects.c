/*
 * Capture lines that are not what they claim to be, format by format (CLI.md: candump -L,
 * candump default output, Vector ASC): each is refused with its cause — BL_REJ_SYNTAX when the
 * text does not parse, BL_REJ_LENGTH when the byte count disagrees with the DLC or the frame
 * type — and the column where reading stopped. Beside them the rarer lines that are valid.
 * Columns are counted by hand on the line in each row (1-based).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/capture.h"

typedef struct {
    bl_capfmt_t fmt;
    const char *line;
    bl_reject_t why;
    unsigned col; /* 0: not checked */
} bad_t;

/*                   1         2         3         4
 *          1234567890123456789012345678901234567890 */
#define TS "(1700000000.000000) can0 "   /* 25 characters: the id starts in column 26 */

static const bad_t bad[] = {
    /* candump -L */
    { BL_FMT_CANDUMP_LOG, TS "351#14_", BL_REJ_SYNTAX, 33 },         /* '_' (col 32) needs a DLC digit */
    { BL_FMT_CANDUMP_LOG, TS "351##G0", BL_REJ_SYNTAX, 31 },         /* FD flags digit: 'G' */
    { BL_FMT_CANDUMP_LOG, TS "800#00", BL_REJ_SYNTAX, 29 },          /* 0x800 > 0x7FF */
    { BL_FMT_CANDUMP_LOG, TS "40000000#00", BL_REJ_SYNTAX, 34 },     /* bit 30: beyond 29 bits */
    { BL_FMT_CANDUMP_LOG, TS "3510#00", BL_REJ_SYNTAX, 26 },         /* 4 digits: neither form */
    { BL_FMT_CANDUMP_LOG, TS "351 00", BL_REJ_SYNTAX, 29 },          /* no '#' */
    { BL_FMT_CANDUMP_LOG, TS "351#1", BL_REJ_SYNTAX, 30 },           /* half a byte */
    { BL_FMT_CANDUMP_LOG, TS "351#R9", BL_REJ_SYNTAX, 31 },          /* remote DLC 9: text after the frame */
    { BL_FMT_CANDUMP_LOG, "(1700000000.000000)", BL_REJ_SYNTAX, 20 }, /* no interface */
    { BL_FMT_CANDUMP_LOG, "(2023-13-14 22:13:20) can0 351#00", BL_REJ_SYNTAX, 0 }, /* month 13 */
    { BL_FMT_CANDUMP_LOG, "(2023-11-14 24:13:20) can0 351#00", BL_REJ_SYNTAX, 0 }, /* hour 24 */
    { BL_FMT_CANDUMP_LOG, "(2023-11-14T22:13:20) can0 351#00", BL_REJ_SYNTAX, 0 }, /* ISO 'T' */
    { BL_FMT_CANDUMP_LOG, "(1234567890123.5) can0 351#00", BL_REJ_SYNTAX, 0 },    /* 13 digits of seconds */
    /* candump -tA dates: YYYY-MM-DD hh:mm:ss, each separator and each range checked */
    { BL_FMT_CANDUMP_LOG, "(2023-11/14 22:13:20) can0 351#00", BL_REJ_SYNTAX, 0 },
    { BL_FMT_CANDUMP_LOG, "(2023-11-14_22:13:20) can0 351#00", BL_REJ_SYNTAX, 0 },
    { BL_FMT_CANDUMP_LOG, "(2023-11-14 22.13:20) can0 351#00", BL_REJ_SYNTAX, 0 },
    { BL_FMT_CANDUMP_LOG, "(2023-11-14 22:13.20) can0 351#00", BL_REJ_SYNTAX, 0 },
    { BL_FMT_CANDUMP_LOG, "(2023-00-14 22:13:20) can0 351#00", BL_REJ_SYNTAX, 0 },
    { BL_FMT_CANDUMP_LOG, "(2023-11-00 22:13:20) can0 351#00", BL_REJ_SYNTAX, 0 },
    { BL_FMT_CANDUMP_LOG, "(2023-11-32 22:13:20) can0 351#00", BL_REJ_SYNTAX, 0 },
    { BL_FMT_CANDUMP_LOG, "(2023-11-14 22:60:20) can0 351#00", BL_REJ_SYNTAX, 0 },
    { BL_FMT_CANDUMP_LOG, "(2023-11-14 22:13:61) can0 351#00", BL_REJ_SYNTAX, 0 }, /* 60: a leap second */
    { BL_FMT_CANDUMP_LOG, "(2023-11-14 22:13:20 can0 351#00", BL_REJ_SYNTAX, 0 },  /* no ')' */
    { BL_FMT_CANDUMP_LOG, "(1700000000.000000) averyveryverylongbus 351#00", BL_REJ_SYNTAX, 21 }, /* >= 16 */
    /* candump default output */
    { BL_FMT_CANDUMP, "  can0  351   [9]  00 00 00 00 00 00 00 00 00", BL_REJ_LENGTH, 18 },
    { BL_FMT_CANDUMP, "  can0  351   [2]  01", BL_REJ_LENGTH, 22 },    /* fewer bytes than [2] */
    { BL_FMT_CANDUMP, "  can0  351   [1]  01 02", BL_REJ_LENGTH, 23 }, /* more bytes than [1] */
    { BL_FMT_CANDUMP, "  can0  351   [1]  0G", BL_REJ_SYNTAX, 20 },
    { BL_FMT_CANDUMP, "  can0  351   [1]  012", BL_REJ_SYNTAX, 20 },   /* three digits are no byte */
    { BL_FMT_CANDUMP, "  can0  351   [x]", BL_REJ_SYNTAX, 16 },
    { BL_FMT_CANDUMP, "  can0  351   8  00", BL_REJ_SYNTAX, 15 },
    { BL_FMT_CANDUMP, "(1700000000.0 can0  351   [1]  00", BL_REJ_SYNTAX, 0 },
    { BL_FMT_CANDUMP, "  can0  351   [65]", BL_REJ_LENGTH, 0 }, /* two digits: CAN FD, at most 64 */
    { BL_FMT_CANDUMP, "  can0  351   [1", BL_REJ_SYNTAX, 17 },
    /* Vector ASC */
    { BL_FMT_ASC, "   0.500000 1  351   Xx   d 1 01", BL_REJ_SYNTAX, 22 },
    { BL_FMT_ASC, "   0.500000 1  351   Rx   q 1 01", BL_REJ_SYNTAX, 27 },
    { BL_FMT_ASC, "   0.500000 1  351   Rx   d 9 01", BL_REJ_LENGTH, 30 },  /* classic CAN: DLC <= 8 */
    { BL_FMT_ASC, "   0.500000 1  351   Rx   d 16 01", BL_REJ_SYNTAX, 31 }, /* no DLC is 16: after "16" */
    { BL_FMT_ASC, "   0.500000 1  351   Rx   d", BL_REJ_SYNTAX, 28 },
    { BL_FMT_ASC, "   0.500000 1  800   Rx   d 0", BL_REJ_SYNTAX, 19 },    /* 29-bit ids end in 'x' */
    { BL_FMT_ASC, "   0.500000 1  3FFFFFFFx   Rx   d 0", BL_REJ_SYNTAX, 25 },
    { BL_FMT_ASC, "   0.500000 1  123456789   Rx   d 0", BL_REJ_SYNTAX, 0 },  /* 9 hex digits */
    { BL_FMT_ASC, "   0.500000 1  Rx   d 0", BL_REJ_SYNTAX, 0 },              /* no id */
    { BL_FMT_ASC, "   0.500000 X  351   Rx   d 0", BL_REJ_SYNTAX, 13 },     /* channel */
    { BL_FMT_ASC, "   x.5 1  351   Rx   d 0", BL_REJ_SYNTAX, 4 },
    { BL_FMT_ASC, "   0.5 CANFD 1 Rx 351 1 0 g 1 00", BL_REJ_SYNTAX, 0 },      /* dlc not a hex digit */
    { BL_FMT_ASC, "   0.5 CANFD 1 Rx 351 1 0 15 65", BL_REJ_LENGTH, 0 },       /* 65 > 64 bytes */
    { BL_FMT_ASC, "   0.5 CANFD 1 Rx 351 1 0 2 2 01", BL_REJ_LENGTH, 0 },      /* 1 of 2 bytes */
    /* not a capture line at all */
    { BL_FMT_AUTO, "hello world", BL_REJ_SYNTAX, 1 },
    { BL_FMT_AUTO, "(1700000000.0) no frame here", BL_REJ_SYNTAX, 1 },
    { BL_FMT_HEX485, "01 03 00 00", BL_REJ_SYNTAX, 1 },                   /* a byte capture, not CAN */
};

static void test_each_bad_line_names_its_cause_and_column(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bl_capture_t c;
        bl_cap_frame_t f;
        bl_line_err_t e = { BL_REJ_NONE, NULL, 0 };
        bl_capture_init(&c, bad[i].fmt);
        if (bl_capture_parse(&c, bad[i].line, strlen(bad[i].line), &f, &e) != BL_EBADMSG || e.why != bad[i].why ||
            (bad[i].col && e.col != bad[i].col) || e.what == NULL)
            fail_msg("row %zu \"%s\": why %d col %u (%s), want why %d col %u", i, bad[i].line, (int)e.why,
                     (unsigned)e.col, e.what ? e.what : "-", (int)bad[i].why, bad[i].col);
    }
}

/* A classic CAN FD frame holds 64 bytes: the 65th is BL_REJ_LENGTH */
static void test_log_line_with_65_fd_bytes_is_too_long(void **state)
{
    char line[64 + 2 * 65];
    bl_capture_t c;
    bl_cap_frame_t f;
    bl_line_err_t e;
    (void)state;
    strcpy(line, TS "351##0");
    for (int i = 0; i < 65; i++)
        strcat(line, "AA");
    bl_capture_init(&c, BL_FMT_CANDUMP_LOG);
    assert_int_equal(bl_capture_parse(&c, line, strlen(line), &f, &e), BL_EBADMSG);
    assert_int_equal(e.why, BL_REJ_LENGTH);
    assert_int_equal(e.col, 32 + 2 * 64); /* "351##0" is columns 26..31: data from 32, the 65th byte after 64 pairs */
    line[strlen(line) - 2] = '\0';       /* 64 bytes */
    assert_int_equal(bl_capture_parse(&c, line, strlen(line), &f, &e), 1);
    assert_int_equal(f.f.len, 64);
    assert_true(f.f.flags & BL_CAN_FD);
}

static int parse(bl_capture_t *c, const char *line, bl_cap_frame_t *f)
{
    bl_line_err_t e;
    return bl_capture_parse(c, line, strlen(line), f, &e);
}

/* candump -tA writes "(2023-11-14 22:13:20.5)": 2023-11-14 22:13:20 UTC is 1 700 000 000 s,
 * ".5" half a second; python-can's trailing " R" is the direction; "351#R5" a remote frame of 5;
 * "_C" the raw DLC of a classic frame (ignored) */
static void test_log_lines_in_their_rarer_forms(void **state)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    (void)state;
    bl_capture_init(&c, BL_FMT_CANDUMP_LOG);
    assert_int_equal(parse(&c, "(2023-11-14 22:13:20.5) can0 351#00 R", &f), 1);
    assert_true(f.ts_us == UINT64_C(1700000000500000));
    assert_int_equal(f.dir, 'R');
    assert_int_equal(parse(&c, "(2023-11-14 22:13:20.1234567) vcan1 351#R5", &f), 1);
    assert_true(f.ts_us == UINT64_C(1700000000123456)); /* six digits kept */
    assert_string_equal(f.bus, "vcan1");
    assert_true(f.f.flags & BL_CAN_RTR);
    assert_int_equal(f.f.len, 5);
    assert_int_equal(parse(&c, TS "351#0102_C", &f), 1);
    assert_int_equal(f.f.len, 2);
    assert_int_equal(parse(&c, TS "351#01.02.03", &f), 1); /* can-utils' dotted bytes */
    assert_int_equal(f.f.len, 3);
    assert_int_equal(f.f.data[2], 0x03);
}

/* candump -x: "TX - -" before the id sets the direction; "remote request" a remote frame of [2];
 * -a's ASCII column and "ERRORFRAME" may follow the bytes */
static void test_candump_lines_in_their_rarer_forms(void **state)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    (void)state;
    bl_capture_init(&c, BL_FMT_CANDUMP);
    assert_int_equal(parse(&c, "  can0  TX - -  351   [1]  41", &f), 1);
    assert_int_equal(f.dir, 'T');
    assert_int_equal(f.f.data[0], 0x41);
    assert_int_equal(parse(&c, "  can0  351   [2]  remote request", &f), 1);
    assert_true(f.f.flags & BL_CAN_RTR);
    assert_int_equal(f.f.len, 2);
    assert_int_equal(parse(&c, "  can0  351   [1]  41   'A'", &f), 1);
    assert_int_equal(parse(&c, "  can0  20000004   [8]  00 00 00 00 00 00 00 00   ERRORFRAME", &f), 1);
    assert_true(f.f.flags & BL_CAN_ERR);
    assert_int_equal(f.f.id, 0x004);
    /* candump -e continuation lines start with a tab: nothing to decode */
    assert_int_equal(parse(&c, "\tcontroller-problem{rx-error-warning}", &f), 0);
}

/* ASC: the "date" header fixes the epoch, read as UTC with am/pm: "Tue Nov 24 06:40:21.123 pm 2026"
 * is 2026-11-24 18:40:21.123 = 1 700 000 000 s (2023-11-14 22:13:20) + 1106 days (2024 is a leap
 * year) - 3 h 32 min 59 s = 1 795 545 621.123 s; a frame at 0.5 s is 0.5 s later. "12:05:00 am"
 * is five past midnight. */
static void test_asc_date_header_with_am_pm(void **state)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    (void)state;
    bl_capture_init(&c, BL_FMT_AUTO);
    assert_int_equal(parse(&c, "date Tue Nov 24 06:40:21.123 pm 2026", &f), 0);
    assert_int_equal(c.fmt, BL_FMT_ASC);
    assert_int_equal(parse(&c, "   0.500000 1  351   Rx   d 1 01", &f), 1);
    assert_true(f.ts_us == UINT64_C(1795545621623000));
    bl_capture_init(&c, BL_FMT_ASC);
    assert_int_equal(parse(&c, "date Tue Nov 24 12:05:00 am 2026", &f), 0);
    assert_true(c.asc_base_us == (UINT64_C(1795545621) - 18 * 3600 - 35 * 60 - 21) * 1000000u);
    bl_capture_init(&c, BL_FMT_ASC); /* "12:05:00 pm" is noon, not midnight */
    assert_int_equal(parse(&c, "date Tue Nov 24 12:05:00 pm 2026", &f), 0);
    assert_true(c.asc_base_us == (UINT64_C(1795545621) - 6 * 3600 - 35 * 60 - 21) * 1000000u);
    /* a header that does not parse leaves the epoch at 0: times stay relative */
    bl_capture_init(&c, BL_FMT_ASC);
    assert_int_equal(parse(&c, "date Tue Foo 24 12:05:00 am 2026", &f), 0);
    assert_int_equal(parse(&c, "date Tue Nov 24 12-05:00 2026", &f), 0);
    assert_int_equal(parse(&c, "date Tue Nov 32 12:05:00 2026", &f), 0);
    assert_int_equal(parse(&c, "date Tue Nov 24 12:05-00 2026", &f), 0);
    assert_int_equal(parse(&c, "date Tue Nov 24 24:05:00 2026", &f), 0);
    assert_int_equal(parse(&c, "date Tue Nov 24 12:05:00 26", &f), 0);
    assert_true(c.asc_base_us == 0);
}

/* ASC lines beside plain data: events, remote frames, error frames, CAN FD, channel 2 = can1 */
static void test_asc_lines_in_their_rarer_forms(void **state)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    (void)state;
    bl_capture_init(&c, BL_FMT_ASC);
    assert_int_equal(parse(&c, "   0.000000 Start of measurement", &f), 0);
    assert_int_equal(parse(&c, "Begin Triggerblock Tue Nov 24 06:40:21 pm 2026", &f), 0);
    assert_int_equal(parse(&c, "   0.100000 2  351   Rx   r 2", &f), 1);
    assert_string_equal(f.bus, "can1");
    assert_true(f.f.flags & BL_CAN_RTR);
    assert_int_equal(f.f.len, 2);
    assert_int_equal(parse(&c, "   0.200000 1  ErrorFrame", &f), 1);
    assert_true(f.f.flags & BL_CAN_ERR);
    assert_int_equal(parse(&c, "   0.300000 CANFD 1 Tx 1ABCDEFx 1 0 2 2 01 02", &f), 1);
    assert_int_equal(f.dir, 'T');
    assert_true(f.f.flags & BL_CAN_FD);
    assert_true(f.f.flags & BL_CAN_EXT);
    assert_int_equal(f.f.id, 0x1ABCDEF);
    assert_int_equal(f.f.len, 2);
    assert_int_equal(parse(&c, "   0.150000 1  351   Rx   r", &f), 1); /* remote, no DLC: 0 */
    assert_int_equal(f.f.len, 0);
    assert_int_equal(parse(&c, "   0.160000 Statistic: D 0 R 0 XD 0 XR 0 E 0 O 0 B 0.00%", &f), 0);
    assert_int_equal(parse(&c, "   0.170000 SV: 1 0 1 ::a = 1", &f), 0);
    assert_int_equal(parse(&c, "   0.400000 12  351   Tx   d 0", &f), 1);
    assert_string_equal(f.bus, "can11");
    assert_int_equal(f.dir, 'T');
}

/* Sniffing: a line with a digit first and "Rx" is ASC; "(..) .. [n]" candump; comments are
 * nothing; the names --format takes */
static void test_format_sniffing_and_names(void **state)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    (void)state;
    assert_int_equal(bl_capture_sniff("   1.0 1 351 Rx d 0", 19), BL_FMT_ASC);
    assert_int_equal(bl_capture_sniff("(1.0) can0 351 [1] 00", 21), BL_FMT_CANDUMP);
    assert_int_equal(bl_capture_sniff("base hex timestamps absolute", 28), BL_FMT_ASC);
    assert_int_equal(bl_capture_sniff("12 34 56", 8), BL_FMT_AUTO);
    assert_int_equal(bl_capture_sniff("   ", 3), BL_FMT_AUTO);
    bl_capture_init(&c, BL_FMT_AUTO);
    assert_int_equal(parse(&c, "  # a comment", &f), 0);
    assert_int_equal(parse(&c, "// another", &f), 0);
    assert_int_equal(c.fmt, BL_FMT_AUTO); /* comments fix no format */
    assert_int_equal(bl_capfmt_by_name("candump"), BL_FMT_AUTO);
    assert_int_equal(bl_capfmt_by_name("log"), BL_FMT_CANDUMP_LOG);
    assert_int_equal(bl_capfmt_by_name("candump-log"), BL_FMT_CANDUMP_LOG);
    assert_int_equal(bl_capfmt_by_name("asc"), BL_FMT_ASC);
    assert_int_equal(bl_capfmt_by_name("hex485"), BL_FMT_HEX485);
    assert_int_equal(bl_capfmt_by_name("blf"), BL_FMT_COUNT); /* Vector BLF: not read */
    assert_string_equal(bl_capfmt_str(BL_FMT_HEX485), "hex485");
    assert_string_equal(bl_capfmt_str(BL_FMT_COUNT), "auto");
}

/* candump -L out: a remote frame without a DLC is "351#R"; no bus name writes can0; a classic
 * frame keeps 8 bytes; a buffer one byte short is BL_ENOSPC */
static void test_format_log_edges(void **state)
{
    bl_cap_frame_t f;
    char buf[128];
    (void)state;
    memset(&f, 0, sizeof f);
    f.ts_us = UINT64_C(1700000000000001);
    f.f.id = 0x351;
    f.f.flags = BL_CAN_RTR;
    assert_int_equal(bl_capture_format_log(&f, buf, sizeof buf), 30);
    assert_string_equal(buf, "(1700000000.000001) can0 351#R");
    assert_int_equal(bl_capture_format_log(&f, buf, 31), 30); /* 30 characters and the NUL */
    assert_int_equal(bl_capture_format_log(&f, buf, 30), BL_ENOSPC);
    f.f.flags = 0;
    f.f.len = 9;
    memset(f.f.data, 0x11, 9);
    assert_int_equal(bl_capture_format_log(&f, buf, sizeof buf), 29 + 16);
    assert_string_equal(buf + 29, "1111111111111111");
}

/* Timestamps that are valid: without a fraction, with more than six fraction digits (cut to
 * microseconds), a date without a fraction (2023-11-14 22:13:20 UTC = 1 700 000 000 s), and a
 * leap second (:60) which counts as the next second */
static void test_timestamps_in_every_form(void **state)
{
    static const struct {
        const char *line;
        uint64_t us;
    } ok[] = {
        { "(1700000000) can0 351#00", UINT64_C(1700000000000000) },
        { "(1700000000.1234567) can0 351#00", UINT64_C(1700000000123456) },
        { "(2023-11-14 22:13:20) can0 351#00", UINT64_C(1700000000000000) },
        { "(2023-11-14 22:13:60) can0 351#00", UINT64_C(1700000040000000) },
    };
    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        bl_capture_t c;
        bl_cap_frame_t f;
        bl_line_err_t e;
        bl_capture_init(&c, BL_FMT_CANDUMP_LOG);
        assert_int_equal(bl_capture_parse(&c, ok[i].line, strlen(ok[i].line), &f, &e), 1);
        if (f.ts_us != ok[i].us)
            fail_msg("%s: %llu", ok[i].line, (unsigned long long)f.ts_us);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_bad_line_names_its_cause_and_column),
        cmocka_unit_test(test_log_line_with_65_fd_bytes_is_too_long),
        cmocka_unit_test(test_log_lines_in_their_rarer_forms),
        cmocka_unit_test(test_timestamps_in_every_form),
        cmocka_unit_test(test_candump_lines_in_their_rarer_forms),
        cmocka_unit_test(test_asc_date_header_with_am_pm),
        cmocka_unit_test(test_asc_lines_in_their_rarer_forms),
        cmocka_unit_test(test_format_sniffing_and_names),
        cmocka_unit_test(test_format_log_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
