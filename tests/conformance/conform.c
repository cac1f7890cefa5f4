/*
 * One transport conformance suite, run unchanged over every CAN transport
 * (see run-all.sh and ../shared/TESTING.md "One test suite across every
 * transport"). It reads only:
 *   BMSLINK_CAN   the URI under test (virtual:test, slcan:PTY@500000, socketcan:vcan0)
 *   CAN_PEER      empty: an in-process peer on a second virtual endpoint;
 *                 else can-peer.py (python-can) runs outside with --echo 1 --dump
 *   TIME_SCALE    multiply every wait by this (10 in the VM)
 *   CONFORM_SENT  write every frame this program sends there, as candump -L,
 *                 so run-all.sh can compare it with what the peer received
 * The peer answers every data frame with the same data and the id plus one,
 * and never answers remote frames; that is all the cases rely on.
 *
 *   conform --frames   prints how many frames the suite sends (the peer's --count)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmslink/transport.h"

#define BURST 200

static const char *uri;
static int scale = 1;
static bl_transport_t t;
static bl_recorder_t *sent_log;
static uint64_t frames_sent;

/* ---- the in-process peer (virtual only): what can-peer.py --echo 1 does ---- */

static bl_transport_t peer;
static pthread_t peer_thread;
static volatile int peer_stop;

static void *peer_main(void *arg)
{
    (void)arg;
    while (!peer_stop) {
        bl_cap_frame_t f;
        if (bl_transport_read(&peer, &f, 50, NULL) != 1)
            continue;
        if (f.f.flags & (BL_CAN_RTR | BL_CAN_ERR))
            continue;
        f.f.id += 1;
        (void)bl_transport_write(&peer, &f);
    }
    return NULL;
}

/* ---- helpers ---- */

static int ms(int base)
{
    return base * scale;
}

static bl_cap_frame_t mk(uint32_t id, uint8_t flags, uint8_t len, uint8_t seed)
{
    bl_cap_frame_t f;
    memset(&f, 0, sizeof f);
    f.f.id = id;
    f.f.flags = flags;
    f.f.len = len;
    for (uint8_t i = 0; i < len && !(flags & BL_CAN_RTR); i++)
        f.f.data[i] = (uint8_t)(seed + 0x11 * i);
    return f;
}

static void send_ok(const bl_cap_frame_t *f)
{
    int rc = bl_transport_write(&t, f);
    if (rc != 0)
        fail_msg("%s: write id 0x%X: %s (%s)", uri, (unsigned)f->f.id, bl_strerror(rc), t.err);
    frames_sent++;
    bl_recorder_add(sent_log, f); /* NULL-safe */
}

/* The next data frame, skipping error frames; fails after the deadline. */
static bl_cap_frame_t recv_ok(int timeout_ms)
{
    uint64_t end = bl_clock_mono_ms() + (uint64_t)timeout_ms;
    bl_cap_frame_t f;
    for (;;) {
        uint64_t now = bl_clock_mono_ms();
        int rc;
        if (now >= end)
            fail_msg("%s: no frame within %d ms", uri, timeout_ms);
        rc = bl_transport_read(&t, &f, (int)(end - now), NULL);
        if (rc == 1 && !(f.f.flags & BL_CAN_ERR))
            return f;
        if (rc < 0 && rc != BL_EBADMSG)
            fail_msg("%s: read: %s (%s)", uri, bl_strerror(rc), t.err);
    }
}

static void expect_echo(const bl_cap_frame_t *sent, uint64_t before_us)
{
    bl_cap_frame_t got = recv_ok(ms(2000));
    uint64_t after_us = bl_clock_wall_us();
    assert_int_equal(got.f.id, sent->f.id + 1);
    assert_int_equal(got.f.flags & (BL_CAN_EXT | BL_CAN_RTR), sent->f.flags & (BL_CAN_EXT | BL_CAN_RTR));
    assert_int_equal(got.f.len, sent->f.len);
    assert_memory_equal(got.f.data, sent->f.data, sent->f.len);
    /* stamped with the wall clock when it arrived (a second of slack for the adapter's own clock) */
    assert_true(got.has_ts);
    assert_true(got.ts_us + 1000000u >= before_us && got.ts_us <= after_us + 1000000u);
    assert_int_equal(got.dir, 'R');
    assert_true(got.bus[0] != '\0');
}

static void drain(void)
{
    bl_cap_frame_t f;
    while (bl_transport_read(&t, &f, ms(100), NULL) == 1)
        ;
}

/* ---- cases ---- */

static void open_tells_what_it_is(void **state)
{
    (void)state;
    assert_true(t.live);
    assert_non_null(t.kind);
    assert_true(t.fd >= 0); /* pollable beside other sources */
    assert_true(t.bus[0] != '\0');
    assert_string_equal(t.uri, uri);
}

static void data_frames_11bit_every_length(void **state)
{
    (void)state;
    for (uint8_t len = 0; len <= 8; len++) {
        bl_cap_frame_t f = mk(0x350u + len * 2u, 0, len, (uint8_t)(0xA0 + len));
        uint64_t before = bl_clock_wall_us();
        send_ok(&f);
        expect_echo(&f, before);
    }
}

static void data_frames_29bit(void **state)
{
    static const uint32_t ids[] = { 0x00000000, 0x18FF50E5, 0x1FFFFFFE, 0x00000800, 0x0CF00400 };
    (void)state;
    for (size_t i = 0; i < BL_ARRAY_LEN(ids); i++) {
        bl_cap_frame_t f = mk(ids[i], BL_CAN_EXT, (uint8_t)(8 - i), (uint8_t)i);
        uint64_t before = bl_clock_wall_us();
        send_ok(&f);
        expect_echo(&f, before);
    }
}

/* The highest 11-bit id, and one that looks like a 29-bit id but is not. */
static void id_edges(void **state)
{
    bl_cap_frame_t f = mk(0x7FE, 0, 1, 0x7F);
    uint64_t before = bl_clock_wall_us();
    (void)state;
    send_ok(&f);
    expect_echo(&f, before);
    f = mk(0x7FE, BL_CAN_EXT, 1, 0x7F); /* same number, other id length: another frame */
    send_ok(&f);
    expect_echo(&f, before);
}

static void a_burst_keeps_its_order(void **state)
{
    uint64_t before = bl_clock_wall_us();
    (void)state;
    for (unsigned i = 0; i < BURST; i++) {
        bl_cap_frame_t f = mk(0x100, 0, 2, 0);
        f.f.data[0] = (uint8_t)(i >> 8);
        f.f.data[1] = (uint8_t)i;
        send_ok(&f);
    }
    for (unsigned i = 0; i < BURST; i++) {
        bl_cap_frame_t got = recv_ok(ms(3000));
        assert_int_equal(got.f.id, 0x101);
        assert_int_equal(got.f.len, 2);
        if (got.f.data[0] != (uint8_t)(i >> 8) || got.f.data[1] != (uint8_t)i)
            fail_msg("%s: echo %u out of order: got %02X%02X", uri, i, got.f.data[0], got.f.data[1]);
        assert_true(got.ts_us + 1000000u >= before);
    }
}

/* Remote frames go out (the peer's dump proves it) and are never echoed. */
static void remote_frames_are_sent(void **state)
{
    bl_cap_frame_t r = mk(0x305, BL_CAN_RTR, 8, 0);
    bl_cap_frame_t e = mk(0x1ABCDE00, BL_CAN_EXT | BL_CAN_RTR, 0, 0);
    bl_cap_frame_t marker = mk(0x310, 0, 1, 0x42);
    uint64_t before = bl_clock_wall_us();
    (void)state;
    send_ok(&r);
    send_ok(&e);
    send_ok(&marker);
    expect_echo(&marker, before); /* the first answer is the marker's: the remote frames got none */
}

static void read_keeps_its_deadline(void **state)
{
    bl_cap_frame_t f;
    uint64_t t0;
    int rc;
    (void)state;
    drain();
    t0 = bl_clock_mono_ms();
    do /* an adapter's status answer is no frame: it may end a read early, never late */
        rc = bl_transport_read(&t, &f, (int)(t0 + 150 - bl_clock_mono_ms()), NULL);
    while (rc == 0 && bl_clock_mono_ms() < t0 + 150);
    assert_int_equal(rc, 0);
    assert_true(bl_clock_mono_ms() - t0 >= 149);
    assert_true(bl_clock_mono_ms() - t0 < 150u + (unsigned)ms(250));
    t0 = bl_clock_mono_ms();
    assert_int_equal(bl_transport_read(&t, &f, 0, NULL), 0);
    assert_true(bl_clock_mono_ms() - t0 < (unsigned)ms(50));
}

/* What no CAN bus can carry is refused before it reaches the wire, with a reason. */
static void impossible_frames_are_refused(void **state)
{
    bl_cap_frame_t big = mk(0x800, 0, 0, 0);
    bl_cap_frame_t huge = mk(0x20000000, BL_CAN_EXT, 0, 0);
    bl_cap_frame_t nine = mk(0x123, 0, 9, 0);
    bl_cap_frame_t ok = mk(0x320, 0, 1, 0x5A);
    uint64_t fails = t.stats.tx_fail, before = bl_clock_wall_us();
    (void)state;
    assert_int_equal(bl_transport_write(&t, &big), BL_EINVAL);
    assert_true(t.err[0] != '\0');
    assert_int_equal(bl_transport_write(&t, &huge), BL_EINVAL);
    assert_int_equal(bl_transport_write(&t, &nine), BL_EINVAL);
    assert_int_equal(t.stats.tx_fail, fails + 3);
    send_ok(&ok);
    expect_echo(&ok, before); /* the next thing on the wire is the good frame */
}

static void counters_count(void **state)
{
    bl_cap_frame_t f = mk(0x330, 0, 3, 1);
    uint64_t tx = t.stats.tx, rx = t.stats.rx, before = bl_clock_wall_us();
    (void)state;
    send_ok(&f);
    expect_echo(&f, before);
    assert_int_equal(t.stats.tx, tx + 1);
    assert_true(t.stats.rx >= rx + 1);
    assert_int_equal(t.stats.rx_drop, 0);
}

static void close_and_reopen(void **state)
{
    char err[256];
    bl_cap_frame_t f = mk(0x340, 0, 4, 9);
    uint64_t before;
    (void)state;
    bl_transport_close(&t);
    assert_int_equal(bl_transport_write(&t, &f), BL_EIO); /* closed: an error, not a crash */
    assert_int_equal(bl_transport_reopen(&t, err, sizeof err), 0);
    assert_int_equal(t.stats.reconnects, 1);
    before = bl_clock_wall_us();
    send_ok(&f);
    expect_echo(&f, before);
}

/* Only a virtual bus can be made to report errors on demand; vcan and the
 * python-can adapter never raise error frames. */
static void error_frames_move_the_bus_state(void **state)
{
    bl_cap_frame_t e = mk(0x040, BL_CAN_ERR, 8, 0), r = mk(0x100, BL_CAN_ERR, 8, 0), f;
    (void)state;
    if (strncmp(uri, "virtual:", 8) != 0)
        skip();
    memset(e.f.data, 0, 8);
    memset(r.f.data, 0, 8);
    assert_int_equal(bl_transport_write(&peer, &e), 0);
    assert_int_equal(bl_transport_read(&t, &f, ms(1000), NULL), 1);
    assert_true(f.f.flags & BL_CAN_ERR);
    assert_int_equal(t.bus_state, BL_CANST_BUS_OFF);
    assert_int_equal(bl_transport_write(&peer, &r), 0);
    assert_int_equal(bl_transport_read(&t, &f, ms(1000), NULL), 1);
    assert_int_equal(t.bus_state, BL_CANST_ACTIVE);
    assert_int_equal(t.stats.bus_off, 1);
}

/* ---- setup ---- */

static int setup(void **state)
{
    char err[256];
    const char *s = getenv("TIME_SCALE"), *peer_uri = getenv("CAN_PEER"), *log = getenv("CONFORM_SENT");
    (void)state;
    uri = getenv("BMSLINK_CAN");
    if (uri == NULL || *uri == '\0')
        uri = "virtual:test";
    if (s != NULL && atoi(s) > 0)
        scale = atoi(s);
    if (log != NULL && *log != '\0' && (sent_log = bl_recorder_open(log, err, sizeof err)) == NULL) {
        fprintf(stderr, "conform: %s: %s\n", log, err);
        return -1;
    }
    if (peer_uri == NULL || *peer_uri == '\0') {
        if (strncmp(uri, "virtual:", 8) != 0) {
            fprintf(stderr, "conform: CAN_PEER is empty but %s is not virtual: who answers?\n", uri);
            return -1;
        }
        if (bl_transport_open(&peer, uri, BL_FMT_AUTO, err, sizeof err) != 0) {
            fprintf(stderr, "conform: peer %s: %s\n", uri, err);
            return -1;
        }
        if (pthread_create(&peer_thread, NULL, peer_main, NULL) != 0)
            return -1;
    }
    if (bl_transport_open(&t, uri, BL_FMT_AUTO, err, sizeof err) != 0) {
        fprintf(stderr, "conform: %s: %s\n", uri, err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bl_transport_close(&t);
    if (peer.ops != NULL) {
        peer_stop = 1;
        pthread_join(peer_thread, NULL);
        bl_transport_close(&peer);
    }
    fprintf(stderr, "conform: %s: %llu frames sent, %llu received, %llu malformed, %llu lost\n", uri,
            (unsigned long long)t.stats.tx, (unsigned long long)t.stats.rx, (unsigned long long)t.stats.rx_bad,
            (unsigned long long)t.stats.rx_drop);
    if (sent_log != NULL) {
        char err[256];
        if (bl_recorder_close(sent_log, err, sizeof err) != 0)
            fprintf(stderr, "conform: %s\n", err);
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* frames the suite sends: 9 + 5 + 2 + BURST + 3 + 1 + 1 + 1 */
    const unsigned total = 9 + 5 + 2 + BURST + 3 + 1 + 1 + 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_tells_what_it_is),
        cmocka_unit_test(data_frames_11bit_every_length),
        cmocka_unit_test(data_frames_29bit),
        cmocka_unit_test(id_edges),
        cmocka_unit_test(a_burst_keeps_its_order),
        cmocka_unit_test(remote_frames_are_sent),
        cmocka_unit_test(read_keeps_its_deadline),
        cmocka_unit_test(impossible_frames_are_refused),
        cmocka_unit_test(counters_count),
        cmocka_unit_test(close_and_reopen),
        cmocka_unit_test(error_frames_move_the_bus_state),
    };
    if (argc > 1 && strcmp(argv[1], "--frames") == 0) {
        printf("%u\n", total);
        return 0;
    }
    return cmocka_run_group_tests_name(getenv("BMSLINK_CAN") ? getenv("BMSLINK_CAN") : "virtual:test", tests, setup,
                                       teardown);
}
