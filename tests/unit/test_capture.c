/* Capture line formats: candump -L, candump default (all -t styles, -x, -a), Vector ASC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/capture.h"

static int parse(bl_capture_t *c, const char *line, bl_cap_frame_t *f, bl_line_err_t *e)
{
    return bl_capture_parse(c, line, strlen(line), f, e);
}

/* can-utils lib.h: "(1345212884.318850) can0 123#1122334455667788" */
static void test_log_line(void **state)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    bl_line_err_t e;
    (void)state;
    bl_capture_init(&c, BL_FMT_AUTO);
    assert_int_equal(parse(&c, "(1700000000.250000) can0 351#1402E803E8032C01", &f, &e), 1);
    assert_int_equal(c.fmt, BL_FMT_CANDUMP_LOG);
    assert_true(f.ts_us == UINT64_C(1700000000250000));
    assert_string_equal(f.bus, "can0");
    assert_int_equal(f.f.id, 0x351);
    assert_int_equal(f.f.len, 8);
    assert_int_equal(f.f.flags, 0);
    assert_int_equal(f.f.data[7], 0x01);
}

static void test_log_extended_remote_error_fd(void **state)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    bl_line_err_t e;
    (void)state;
    bl_capture_init(&c, BL_FMT_CANDUMP_LOG);
    assert_int_equal(parse(&c, "(1.000001) vcan0 00004210#0102 R", &f, &e), 1); /* python-can "R" */
    assert_int_equal(f.f.flags, BL_CAN_EXT);
    assert_int_equal(f.f.id, 0x4210);
    assert_int_equal(f.dir, 'R');
    assert_int_equal(parse(&c, "(1.0) can0 123#R", &f, &e), 1);
    assert_int_equal(f.f.flags, BL_CAN_RTR);
    assert_int_equal(f.ts_us, 1000000);
    assert_int_equal(parse(&c, "(1.0) can0 20000004#0004000000000000", &f, &e), 1);
    assert_int_equal(f.f.flags, BL_CAN_ERR);
    assert_int_equal(f.f.id, 4);
    assert_int_equal(parse(&c, "(1.0) can0 123##1112233", &f, &e), 1);
    assert_int_equal(f.f.flags, BL_CAN_FD | BL_CAN_BRS); /* the flags digit is kept */
    assert_int_equal(f.f.len, 3);
    assert_int_equal(parse(&c, "(1.0) can0 123#11.22.33", &f, &e), 1); /* can-utils dots */
    assert_int_equal(f.f.len, 3);
    assert_int_equal(parse(&c, "(1.0) can0 123#", &f, &e), 1); /* DLC 0 */
    assert_int_equal(f.f.len, 0);
}

static void test_log_errors_say_where(void **state)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    bl_line_err_t e;
    (void)state;
    bl_capture_init(&c, BL_FMT_CANDUMP_LOG);
    assert_int_equal(parse(&c, "(1.0) can0 3511402", &f, &e), BL_EBADMSG);
    assert_int_equal(e.why, BL_REJ_SYNTAX);
    assert_string_equal(e.what, "CAN id must be 3 (11-bit) or 8 (29-bit) hex digits");
    assert_int_equal(e.col, 12); /* the column where the id starts */
    assert_int_equal(parse(&c, "(1.0) can0 351#14020", &f, &e), BL_EBADMSG);
    assert_string_equal(e.what, "data must be pairs of hex digits");
    assert_int_equal(parse(&c, "(1.0) can0 351#ZZ", &f, &e), BL_EBADMSG);
    assert_int_equal(parse(&c, "can0 351#1402", &f, &e), BL_EBADMSG);
    assert_int_equal(parse(&c, "(1.0) can0 1234#11", &f, &e), BL_EBADMSG);
    assert_int_equal(parse(&c, "(1.0) can0 951#11", &f, &e), BL_EBADMSG); /* > 0x7FF */
    assert_int_equal(parse(&c, "(1.0) can0 351#11 junk", &f, &e), BL_EBADMSG);
    assert_int_equal(parse(&c, "(1.0)", &f, &e), BL_EBADMSG);
    assert_int_equal(parse(&c, "", &f, &e), 0);      /* blank */
    assert_int_equal(parse(&c, "# note", &f, &e), 0); /* comment */
}

/* a classic frame with 9 bytes parses; the codec rejects it naming the id (CLI.md example) */
static void test_log_overlong_classic_frame_reaches_the_codec(void **state)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    bl_line_err_t e;
    (void)state;
    bl_capture_init(&c, BL_FMT_CANDUMP_LOG);
    assert_int_equal(parse(&c, "(1.0) can0 351#112233445566778899", &f, &e), 1);
    assert_int_equal(f.f.len, 9);
}

/* candump default output, no timestamp, -ta, -tA (date), -x, -a, remote */
static void test_candump_default_styles(void **state)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    bl_line_err_t e;
    (void)state;
    bl_capture_init(&c, BL_FMT_AUTO);
    assert_int_equal(parse(&c, "  can0  351   [8]  14 02 E8 03 E8 03 2C 01", &f, &e), 1);
    assert_int_equal(c.fmt, BL_FMT_CANDUMP);
    assert_false(f.has_ts);
    assert_int_equal(f.f.id, 0x351);
    assert_int_equal(f.f.data[0], 0x14);
    assert_int_equal(parse(&c, " (1700000000.250000)  can0  351   [2]  14 02", &f, &e), 1);
    assert_true(f.has_ts);
    assert_true(f.ts_us == UINT64_C(1700000000250000));
    /* -tA: 2023-11-14 22:13:20 UTC = 1700000000 */
    assert_int_equal(parse(&c, " (2023-11-14 22:13:20.250000)  can0  351   [2]  14 02", &f, &e), 1);
    assert_true(f.ts_us == UINT64_C(1700000000250000));
    assert_int_equal(parse(&c, "  can0  TX - -  18FF50E5   [2]  01 02", &f, &e), 1);
    assert_int_equal(f.dir, 'T');
    assert_int_equal(f.f.flags, BL_CAN_EXT);
    assert_int_equal(parse(&c, "  can0  35E   [8]  50 59 4C 4F 4E 20 20 20   'PYLON   '", &f, &e), 1);
    assert_int_equal(parse(&c, "  can0  123   [0]  remote request", &f, &e), 1);
    assert_int_equal(f.f.flags, BL_CAN_RTR);
    assert_int_equal(parse(&c, "  can0  351   [8]  14 02", &f, &e), BL_EBADMSG);
    assert_int_equal(e.why, BL_REJ_LENGTH);
    assert_int_equal(parse(&c, "  can0  351   [2]  14 02 03", &f, &e), BL_EBADMSG);
    assert_int_equal(parse(&c, "  can0  351   [9]  14", &f, &e), BL_EBADMSG);
}

/* log2asc output for (1700000000.25) can0 351#1402E803E8032C01 etc. */
static void test_asc_from_log2asc(void **state)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    bl_line_err_t e;
    (void)state;
    bl_capture_init(&c, BL_FMT_AUTO);
    assert_int_equal(parse(&c, "date Tue Nov 14 22:13:20 2023", &f, &e), 0);
    assert_int_equal(c.fmt, BL_FMT_ASC);
    assert_int_equal(parse(&c, "base hex  timestamps absolute", &f, &e), 0);
    assert_int_equal(parse(&c, "no internal events logged", &f, &e), 0);
    assert_int_equal(parse(&c, "   0.250000 1  351             Rx   d 8 14 02 E8 03 E8 03 2C 01", &f, &e), 1);
    assert_true(f.ts_us == UINT64_C(1700000000250000));
    assert_string_equal(f.bus, "can0");
    assert_int_equal(f.f.id, 0x351);
    assert_int_equal(f.f.len, 8);
    assert_int_equal(parse(&c, "   0.010000 1  18FF50E5x       Rx   d 2 01 02", &f, &e), 1);
    assert_int_equal(f.f.flags, BL_CAN_EXT);
    assert_int_equal(f.f.id, 0x18FF50E5);
    assert_int_equal(parse(&c, "   0.750000 1  123             Rx   r 0", &f, &e), 1);
    assert_int_equal(f.f.flags, BL_CAN_RTR);
    assert_int_equal(parse(&c, "   1.250000 1  ErrorFrame", &f, &e), 1);
    assert_int_equal(f.f.flags, BL_CAN_ERR);
    assert_int_equal(parse(&c, "   1.750000 CANFD   1 Rx        123                                   1 0 3  3 11 22 33   "
                               "130000  130     3000 0 0 0 0 0",
                           &f, &e),
                     1);
    assert_int_equal(f.f.flags, BL_CAN_FD | BL_CAN_BRS); /* brs 1 esi 0 */
    assert_int_equal(f.f.len, 3);
    assert_int_equal(f.f.data[2], 0x33);
    assert_int_equal(parse(&c, "   1.0 1  351   Rx   d 8 14 02", &f, &e), BL_EBADMSG);
    assert_int_equal(parse(&c, "   1.0 1  351   Xx   d 2 14 02", &f, &e), BL_EBADMSG);
}

/* Our writer produces what can-utils and python-can read (checked there too) */
static void test_format_log(void **state)
{
    bl_cap_frame_t f;
    char buf[256];
    (void)state;
    memset(&f, 0, sizeof f);
    f.ts_us = UINT64_C(1700000000000001);
    strcpy(f.bus, "vcan0");
    f.f.id = 0x4210;
    f.f.flags = BL_CAN_EXT;
    f.f.len = 2;
    f.f.data[0] = 0xAB;
    f.f.data[1] = 0x01;
    assert_int_equal(bl_capture_format_log(&f, buf, sizeof buf), 39);
    assert_string_equal(buf, "(1700000000.000001) vcan0 00004210#AB01");
    f.f.flags = BL_CAN_RTR;
    f.f.id = 0x123;
    bl_capture_format_log(&f, buf, sizeof buf);
    /* a remote frame keeps its DLC, as candump -L prints it (cangen -R: "2E7#R4") */
    assert_string_equal(buf, "(1700000000.000001) vcan0 123#R2");
    f.f.len = 0;
    bl_capture_format_log(&f, buf, sizeof buf);
    assert_string_equal(buf, "(1700000000.000001) vcan0 123#R");
    assert_int_equal(bl_capture_format_log(&f, buf, 10), BL_ENOSPC);
}

static void test_civil_dates(void **state)
{
    (void)state;
    assert_int_equal(bl_epoch_from_civil(1970, 1, 1, 0, 0, 0), 0);
    assert_int_equal(bl_epoch_from_civil(2023, 11, 14, 22, 13, 20), 1700000000);
    assert_int_equal(bl_epoch_from_civil(2000, 2, 29, 0, 0, 0), 951782400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_line),
        cmocka_unit_test(test_log_extended_remote_error_fd),
        cmocka_unit_test(test_log_errors_say_where),
        cmocka_unit_test(test_log_overlong_classic_frame_reaches_the_codec),
        cmocka_unit_test(test_candump_default_styles),
        cmocka_unit_test(test_asc_from_log2asc),
        cmocka_unit_test(test_format_log),
        cmocka_unit_test(test_civil_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
