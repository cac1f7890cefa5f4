/*
 * The transport layer without hardware: URI syntax (CLI.md "Sources and
 * sinks"), the virtual bus's promises (every other endpoint gets every frame
 * in order, never its own; a full queue drops and counts; error frames move
 * the bus state; deadlines hold), the candump -L recorder, reopen, and a pipe
 * read as a live source. The same behaviour over real wires is the job of
 * tests/conformance/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <termios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmslink/transport.h"

static bl_cap_frame_t frame(uint32_t id, uint8_t flags, uint8_t len, uint8_t first)
{
    bl_cap_frame_t f;
    memset(&f, 0, sizeof f);
    f.f.id = id;
    f.f.flags = flags;
    f.f.len = len;
    for (uint8_t i = 0; i < len; i++)
        f.f.data[i] = (uint8_t)(first + i);
    return f;
}

static void open_ok(bl_transport_t *t, const char *uri)
{
    char err[256];
    int rc = bl_transport_open(t, uri, BL_FMT_AUTO, err, sizeof err);
    if (rc != 0)
        fail_msg("open %s: %s", uri, err);
}

static void test_slcan_uri(void **state)
{
    bl_slcan_cfg_t c;
    const char *why = NULL;
    (void)state;
    assert_int_equal(bl_slcan_parse("/dev/ttyACM0@250000", &c, &why), 0);
    assert_string_equal(c.dev, "/dev/ttyACM0");
    assert_int_equal(c.bitrate, 250000);
    assert_true(c.bitrate_given);
    assert_int_equal(c.tty_baud, 115200);
    assert_int_equal(bl_slcan_parse("/dev/ttyUSB1", &c, &why), 0);
    assert_int_equal(c.bitrate, 500000); /* CLI.md: default 500000 */
    assert_false(c.bitrate_given);
    assert_int_equal(bl_slcan_parse("/dev/x@125k,tty=921600,listen", &c, &why), 0);
    assert_int_equal(c.bitrate, 125000);
    assert_int_equal(c.tty_baud, 921600);
    assert_true(c.listen_only);
    assert_int_equal(bl_slcan_parse("/dev/x@1M", &c, &why), 0);
    assert_int_equal(c.bitrate, 1000000);
    static const char *const bad[] = { "", "@500000", "/dev/x@", "/dev/x@600000", "/dev/x@500000,speed",
                                       "/dev/x@500000x", "/dev/x,tty=", "/dev/x,tty=0" };
    for (size_t i = 0; i < BL_ARRAY_LEN(bad); i++) {
        why = NULL;
        assert_int_equal(bl_slcan_parse(bad[i], &c, &why), BL_EINVAL);
        assert_non_null(why);
    }
}

static void test_socketcan_and_virtual_names(void **state)
{
    const char *why;
    (void)state;
    assert_int_equal(bl_socketcan_parse("can0", &why), 0);
    assert_int_equal(bl_socketcan_parse("vcan0", &why), 0);
    assert_int_equal(bl_socketcan_parse("", &why), BL_EINVAL);
    assert_int_equal(bl_socketcan_parse("a/b", &why), BL_EINVAL);
    assert_int_equal(bl_socketcan_parse("sixteen-chars-xx", &why), BL_EINVAL);
    assert_int_equal(bl_vbus_parse("test", &why), 0);
    assert_int_equal(bl_vbus_parse("sim.bus-1_a", &why), 0);
    assert_int_equal(bl_vbus_parse("", &why), BL_EINVAL);
    assert_int_equal(bl_vbus_parse("a b", &why), BL_EINVAL);
    assert_int_equal(bl_vbus_parse("thirty-two-characters-are-a-lot", &why), 0);
    assert_int_equal(bl_vbus_parse("thirty-two-characters-are-a-lot!", &why), BL_EINVAL);
}

/* A bad URI is a usage error; a device that cannot be opened is an I/O error naming it. */
static void test_open_errors_say_why(void **state)
{
    bl_transport_t t;
    char err[256];
    (void)state;
    assert_int_equal(bl_transport_open(&t, "virtual:", 0, err, sizeof err), BL_EINVAL);
    assert_int_equal(bl_transport_open(&t, "socketcan:", 0, err, sizeof err), BL_EINVAL);
    assert_int_equal(bl_transport_open(&t, "slcan:/dev/ttyX@7", 0, err, sizeof err), BL_EINVAL);
    assert_non_null(strstr(err, "500000"));
    /* a path with '/' after slcan: is a device, not a file name */
    assert_int_equal(bl_transport_open(&t, "slcan:/nonexistent/ttyACM9@500000", 0, err, sizeof err), BL_EIO);
    assert_non_null(strstr(err, "/nonexistent/ttyACM9"));
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(bl_transport_open(&t, "slcan:/dev/null", 0, err, sizeof err), BL_EIO);
    assert_non_null(strstr(err, "not a serial port"));
    assert_string_equal(bl_transport_scheme("slcan:/dev/ttyACM0"), "slcan");
    assert_string_equal(bl_transport_scheme("capture.log"), "file");
    assert_string_equal(bl_transport_scheme("virtualx:y"), "file");
}

static void test_vbus_every_other_endpoint_gets_every_frame_in_order(void **state)
{
    bl_transport_t a, b, c, other;
    bl_cap_frame_t f;
    (void)state;
    open_ok(&a, "virtual:order");
    open_ok(&b, "virtual:order");
    open_ok(&c, "virtual:order");
    open_ok(&other, "virtual:elsewhere");
    for (uint8_t i = 0; i < 3; i++) {
        bl_cap_frame_t s = frame(0x351u + i, 0, 2, (uint8_t)(0x10 * i));
        assert_int_equal(bl_transport_write(&a, &s), 0);
    }
    bl_cap_frame_t x = frame(0x18FF50E5, BL_CAN_EXT, 8, 1);
    assert_int_equal(bl_transport_write(&a, &x), 0);
    for (bl_transport_t *r = &b; r != NULL; r = r == &b ? &c : NULL) {
        for (uint8_t i = 0; i < 3; i++) {
            assert_int_equal(bl_transport_read(r, &f, 0, NULL), 1);
            assert_int_equal(f.f.id, 0x351u + i);
            assert_int_equal(f.f.len, 2);
            assert_int_equal(f.f.data[0], 0x10 * i);
            assert_true(f.has_ts);
            assert_string_equal(f.bus, "order");
        }
        assert_int_equal(bl_transport_read(r, &f, 0, NULL), 1);
        assert_int_equal(f.f.id, 0x18FF50E5);
        assert_int_equal(f.f.flags, BL_CAN_EXT);
        assert_int_equal(bl_transport_read(r, &f, 0, NULL), 0);
        assert_int_equal(r->stats.rx, 4);
    }
    assert_int_equal(bl_transport_read(&a, &f, 0, NULL), 0);      /* never its own */
    assert_int_equal(bl_transport_read(&other, &f, 0, NULL), 0);  /* another bus */
    assert_int_equal(a.stats.tx, 4);
    bl_transport_close(&a);
    bl_transport_close(&b);
    bl_transport_close(&c);
    bl_transport_close(&other);
}

static void test_vbus_read_keeps_its_deadline(void **state)
{
    bl_transport_t a;
    bl_cap_frame_t f;
    uint64_t t0;
    (void)state;
    open_ok(&a, "virtual:deadline");
    t0 = bl_clock_mono_ms();
    assert_int_equal(bl_transport_read(&a, &f, 60, NULL), 0);
    assert_true(bl_clock_mono_ms() - t0 >= 59);
    t0 = bl_clock_mono_ms();
    assert_int_equal(bl_transport_read(&a, &f, 0, NULL), 0);
    assert_true(bl_clock_mono_ms() - t0 < 20);
    bl_transport_close(&a);
}

static void test_vbus_fd_is_readable_while_frames_wait(void **state)
{
    bl_transport_t a, b;
    bl_cap_frame_t f = frame(0x100, 0, 1, 7);
    struct pollfd p;
    (void)state;
    open_ok(&a, "virtual:pollable");
    open_ok(&b, "virtual:pollable");
    assert_true(b.fd >= 0);
    p = (struct pollfd){ .fd = b.fd, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 0), 0);
    bl_transport_write(&a, &f);
    bl_transport_write(&a, &f);
    assert_int_equal(poll(&p, 1, 0), 1);
    assert_int_equal(bl_transport_read(&b, &f, 0, NULL), 1);
    assert_int_equal(poll(&p, 1, 0), 1); /* one frame still waits */
    assert_int_equal(bl_transport_read(&b, &f, 0, NULL), 1);
    assert_int_equal(poll(&p, 1, 0), 0);
    bl_transport_close(&a);
    bl_transport_close(&b);
}

static unsigned notes;
static char last_note[200];
static void note(void *user, bl_transport_t *t, const char *text)
{
    (void)user;
    (void)t;
    notes++;
    snprintf(last_note, sizeof last_note, "%s", text);
}

/* A slow reader loses the newest frames, as a controller FIFO does, and is told how many. */
static void test_vbus_full_queue_drops_and_counts(void **state)
{
    bl_transport_t a, b;
    bl_cap_frame_t f;
    unsigned got = 0;
    (void)state;
    open_ok(&a, "virtual:overflow");
    open_ok(&b, "virtual:overflow");
    b.notify = note;
    notes = 0;
    for (unsigned i = 0; i < 8192 + 10; i++) {
        f = frame(0x100, 0, 2, 0);
        f.f.data[0] = (uint8_t)(i >> 8);
        f.f.data[1] = (uint8_t)i;
        assert_int_equal(bl_transport_write(&a, &f), 0);
    }
    while (bl_transport_read(&b, &f, 0, NULL) == 1) {
        assert_int_equal(f.f.data[0], (uint8_t)(got >> 8));
        assert_int_equal(f.f.data[1], (uint8_t)got);
        got++;
    }
    assert_int_equal(got, 8192);
    assert_int_equal(b.stats.rx_drop, 10);
    assert_int_equal(notes, 1);
    assert_non_null(strstr(last_note, "10 frames dropped"));
    bl_transport_close(&a);
    bl_transport_close(&b);
}

static void test_vbus_refuses_frames_no_bus_can_carry(void **state)
{
    bl_transport_t a;
    (void)state;
    open_ok(&a, "virtual:refuse");
    bl_cap_frame_t big = frame(0x800, 0, 0, 0);
    bl_cap_frame_t long9 = frame(0x100, 0, 9, 0);
    bl_cap_frame_t fdrtr = frame(0x100, BL_CAN_FD | BL_CAN_RTR, 8, 0);
    assert_int_equal(bl_transport_write(&a, &big), BL_EINVAL);
    assert_non_null(strstr(a.err, "0x7FF"));
    assert_int_equal(bl_transport_write(&a, &long9), BL_EINVAL);
    assert_int_equal(bl_transport_write(&a, &fdrtr), BL_EINVAL);
    assert_int_equal(a.stats.tx, 0);
    assert_int_equal(a.stats.tx_fail, 3);
    bl_transport_close(&a);
}

/* Error frames written on a virtual bus reach the others as a controller would report them. */
static void test_vbus_error_frames_drive_the_bus_state(void **state)
{
    bl_transport_t a, b;
    bl_cap_frame_t f;
    (void)state;
    open_ok(&a, "virtual:errors");
    open_ok(&b, "virtual:errors");
    b.notify = note;
    notes = 0;
    f = frame(0x004, BL_CAN_ERR, 8, 0);
    memset(f.f.data, 0, 8);
    f.f.data[1] = 0x20; /* tx passive */
    bl_transport_write(&a, &f);
    f = frame(0x040, BL_CAN_ERR, 8, 0);
    memset(f.f.data, 0, 8);
    bl_transport_write(&a, &f);
    f = frame(0x100, BL_CAN_ERR, 8, 0);
    memset(f.f.data, 0, 8);
    bl_transport_write(&a, &f);

    assert_int_equal(bl_transport_read(&b, &f, 0, NULL), 1);
    assert_true(f.f.flags & BL_CAN_ERR);
    assert_int_equal(b.bus_state, BL_CANST_PASSIVE);
    assert_int_equal(bl_transport_read(&b, &f, 0, NULL), 1);
    assert_int_equal(b.bus_state, BL_CANST_BUS_OFF);
    assert_non_null(strstr(last_note, "bus-off"));
    assert_int_equal(bl_transport_read(&b, &f, 0, NULL), 1);
    assert_int_equal(b.bus_state, BL_CANST_ACTIVE);
    assert_int_equal(b.stats.rx_err_frames, 3);
    assert_int_equal(b.stats.passive, 1);
    assert_int_equal(b.stats.bus_off, 1);
    assert_int_equal(notes, 3);
    bl_transport_close(&a);
    bl_transport_close(&b);
}

static void test_reopen_keeps_counters(void **state)
{
    bl_transport_t a, b;
    bl_cap_frame_t f = frame(0x100, 0, 1, 1);
    char err[256];
    (void)state;
    open_ok(&a, "virtual:reopen");
    open_ok(&b, "virtual:reopen");
    bl_transport_write(&a, &f);
    assert_int_equal(bl_transport_read(&b, &f, 0, NULL), 1);
    assert_int_equal(bl_transport_reopen(&b, err, sizeof err), 0);
    assert_int_equal(b.stats.rx, 1);
    assert_int_equal(b.stats.reconnects, 1);
    bl_transport_write(&a, &f);
    assert_int_equal(bl_transport_read(&b, &f, 0, NULL), 1);
    assert_int_equal(b.stats.rx, 2);
    bl_transport_close(&a);
    bl_transport_close(&b);
    assert_int_equal(bl_transport_read(&b, &f, 0, NULL), BL_EIO); /* closed */
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    static char buf[4096];
    size_t n;
    assert_non_null(fp);
    n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* candump -L: "(1700000000.123456) can0 351#1402..." — what can-utils' lib.h shows. */
static void test_recorder_writes_candump_log_lines_both_ways(void **state)
{
    bl_transport_t a, b;
    bl_cap_frame_t f, got;
    char path[] = "/tmp/bl-rec-XXXXXX", want[512], err[256];
    int fd = mkstemp(path);
    bl_recorder_t *r;
    (void)state;
    assert_true(fd >= 0);
    close(fd);
    r = bl_recorder_open(path, err, sizeof err);
    assert_non_null(r);
    open_ok(&a, "virtual:rec");
    open_ok(&b, "virtual:rec");
    bl_transport_set_recorder(&b, r);
    f = frame(0x351, 0, 2, 0x14);
    bl_transport_write(&a, &f);
    assert_int_equal(bl_transport_read(&b, &got, 0, NULL), 1);
    f = frame(0x1ABCDEF0, BL_CAN_EXT | BL_CAN_RTR, 0, 0);
    assert_int_equal(bl_transport_write(&b, &f), 0);
    bl_transport_close(&a);
    bl_transport_close(&b);
    assert_int_equal(bl_recorder_frames(r), 2);
    assert_int_equal(bl_recorder_close(r, err, sizeof err), 0);
    snprintf(want, sizeof want, "(%llu.%06llu) rec 351#1415\n", (unsigned long long)(got.ts_us / 1000000u),
             (unsigned long long)(got.ts_us % 1000000u));
    char *text = slurp(path);
    assert_memory_equal(text, want, strlen(want));
    assert_non_null(strstr(text + strlen(want), ") rec 1ABCDEF0#R\n"));
    unlink(path);
}

/* A full disk loses the recording: the caller is told how much and why. */
static void test_recorder_reports_a_failed_write(void **state)
{
    char err[256];
    bl_recorder_t *r;
    bl_cap_frame_t f = frame(0x123, 0, 8, 0);
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    r = bl_recorder_open("/dev/full", err, sizeof err);
    assert_non_null(r);
    f.has_ts = 1;
    for (int i = 0; i < 5; i++)
        bl_recorder_add(r, &f);
    assert_int_equal(bl_recorder_close(r, err, sizeof err), -28);
    assert_non_null(strstr(err, "5 of 5 frames not written"));
    assert_non_null(strstr(err, "No space left"));
    assert_null(bl_recorder_open("/nonexistent/dir/x.log", err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
}

/* A pipe is a live source: reads time out instead of blocking, end of writer = end of stream. */
static void test_pipe_is_read_live(void **state)
{
    int p[2];
    char uri[64];
    bl_transport_t t;
    bl_cap_frame_t f;
    const char *line = "(1700000000.500000) can0 355#4C006300\n";
    (void)state;
    assert_int_equal(pipe(p), 0);
    snprintf(uri, sizeof uri, "/dev/fd/%d", p[0]);
    open_ok(&t, uri);
    assert_true(t.live);
    assert_int_equal(bl_transport_read(&t, &f, 30, NULL), 0);
    assert_int_equal(write(p[1], line, strlen(line)), (ssize_t)strlen(line));
    assert_int_equal(bl_transport_read(&t, &f, 1000, NULL), 1);
    assert_int_equal(f.f.id, 0x355);
    assert_true(f.ts_us == UINT64_C(1700000000500000));
    close(p[1]);
    assert_int_equal(bl_transport_read(&t, &f, 1000, NULL), BL_ENOENT);
    bl_transport_close(&t);
    close(p[0]);
}

/* ---- slcan on a pty, the adapter played by a thread ---- */

static int master = -1;

static void *answer_open(void *arg)
{
    char c, line[16];
    size_t n = 0;
    (void)arg;
    for (;;) { /* CR to every command, a version to V, until O */
        if (read(master, &c, 1) != 1)
            return NULL;
        if (c != '\r') {
            if (n < sizeof line - 1)
                line[n++] = c;
            continue;
        }
        if (n == 1 && line[0] == 'V')
            assert_int_equal(write(master, "V1013\r", 6), 6);
        else if (n > 0)
            assert_int_equal(write(master, "\r", 1), 1);
        if (n == 1 && line[0] == 'O')
            return NULL;
        n = 0;
    }
}

static void open_slcan_pty(bl_transport_t *t)
{
    char uri[128];
    struct termios tio;
    pthread_t th;
    master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    tcgetattr(master, &tio);
    cfmakeraw(&tio);
    tcsetattr(master, TCSANOW, &tio);
    pthread_create(&th, NULL, answer_open, NULL);
    snprintf(uri, sizeof uri, "slcan:%s@250000", ptsname(master));
    open_ok(t, uri);
    pthread_join(th, NULL);
    assert_string_equal(t->info, "adapter version V1013");
    assert_int_equal(t->bitrate, 250000);
}

/* Z1 timestamps count milliseconds 0..59999 and wrap: EA5A (59994) then 0005 (5) is 11 ms later. */
static void test_slcan_adapter_timestamps_unwrap(void **state)
{
    bl_transport_t t;
    bl_cap_frame_t a, b;
    struct timespec ms20 = { 0, 20000000 };
    (void)state;
    open_slcan_pty(&t);
    assert_int_equal(write(master, "t1230EA5A\r", 10), 10);
    assert_int_equal(bl_transport_read(&t, &a, 1000, NULL), 1);
    nanosleep(&ms20, NULL);
    assert_int_equal(write(master, "t12300005\r", 10), 10);
    assert_int_equal(bl_transport_read(&t, &b, 1000, NULL), 1);
    assert_string_equal(t.ts_source, "adapter");
    assert_true(b.ts_us - a.ts_us == 11000);
    bl_transport_close(&t);
    close(master);
}

/* The adapter refuses a frame (BEL): the write already returned, so the refusal is
 * counted and noted when the answer arrives. */
static void test_slcan_bel_to_a_frame_is_counted(void **state)
{
    bl_transport_t t;
    bl_cap_frame_t f = frame(0x351, 0, 2, 1);
    char buf[64];
    (void)state;
    open_slcan_pty(&t);
    t.notify = note;
    notes = 0;
    assert_int_equal(bl_transport_write(&t, &f), 0);
    assert_true(read(master, buf, sizeof buf) > 0); /* "t35120102\r" reached the adapter */
    assert_int_equal(write(master, "\a", 1), 1);
    assert_int_equal(bl_transport_read(&t, &f, 200, NULL), 0);
    assert_int_equal(t.stats.nak, 1);
    assert_int_equal(t.stats.tx_fail, 1);
    assert_non_null(strstr(last_note, "refused frame t35120102 (BEL)"));
    bl_transport_close(&t);
    close(master);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slcan_uri),
        cmocka_unit_test(test_socketcan_and_virtual_names),
        cmocka_unit_test(test_open_errors_say_why),
        cmocka_unit_test(test_vbus_every_other_endpoint_gets_every_frame_in_order),
        cmocka_unit_test(test_vbus_read_keeps_its_deadline),
        cmocka_unit_test(test_vbus_fd_is_readable_while_frames_wait),
        cmocka_unit_test(test_vbus_full_queue_drops_and_counts),
        cmocka_unit_test(test_vbus_refuses_frames_no_bus_can_carry),
        cmocka_unit_test(test_vbus_error_frames_drive_the_bus_state),
        cmocka_unit_test(test_reopen_keeps_counters),
        cmocka_unit_test(test_recorder_writes_candump_log_lines_both_ways),
        cmocka_unit_test(test_recorder_reports_a_failed_write),
        cmocka_unit_test(test_pipe_is_read_live),
        cmocka_unit_test(test_slcan_adapter_timestamps_unwrap),
        cmocka_unit_test(test_slcan_bel_to_a_frame_is_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
