/*
 * The diagnosis of byte captures (src/engines/diagnose_rs485.c, docs/design.md "Diagnosis"):
 * what the framer and the session say about each frame becomes the reject cause the analysers
 * count — checksum, unknown data id, the battery's error code, noise — and the capture lines'
 * clock is kept honest (lines without a time, time running backwards). Frames from the fact
 * sheets' vectors (rs485-daly-jbd.md DLY-01/03, JBD-01), altered by hand where a comment says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bmslink/diagnose.h"

#define T0 UINT64_C(1718000000000000)
#define SAMPLE 16

typedef struct {
    bl_diag_t d;
    bl_cap_frame_t sample[SAMPLE];
    uint64_t lines[SAMPLE];
    bl_diag_finding_t out[32];
} rig_t;

static rig_t *rig(const char *proto)
{
    rig_t *r = calloc(1, sizeof *r);
    bl_diag_cfg_t cfg;
    assert_non_null(r);
    memset(&cfg, 0, sizeof cfg);
    cfg.proto = bl_protocol_find(proto);
    assert_non_null(cfg.proto);
    assert_int_equal(bl_diag_init(&r->d, &cfg, r->sample, r->lines, SAMPLE, r->out, 32), 0);
    return r;
}

static const uint8_t dly01[13] = { 0xA5, 0x40, 0x90, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x7D };
static const uint8_t dly03[13] = { 0xA5, 0x01, 0x90, 0x08, 0x00, 0x82, 0x00, 0x00, 0x75, 0x30, 0x01, 0xF3, 0x59 };

/* DLY-01 then DLY-03: a poll and its answer (13.0 V); DLY-03 with its sum 0x5A instead of 0x59:
 * a checksum reject; an answer for data id 0x99, which no row defines (A5 01 99 08 + zeros, sum
 * A5+01+99+08 = 0x147 -> 47): nobody asked for it, an unknown id; three bytes 00 11 22 between
 * frames: noise, a malformed item */
static void test_daly_causes_become_reject_counts(void **state)
{
    rig_t *r = rig("daly");
    uint8_t bad[13], unknown[13] = { 0xA5, 0x01, 0x99, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x47 };
    const uint8_t noise[3] = { 0x00, 0x11, 0x22 };
    (void)state;
    memcpy(bad, dly03, 13);
    bad[12] = 0x5A;
    bl_diag_bytes(&r->d, dly01, 13, T0, true, 1);
    bl_diag_bytes(&r->d, dly03, 13, T0 + 50000u, true, 2);
    bl_diag_bytes(&r->d, bad, 13, T0 + 1000000u, true, 3);
    bl_diag_bytes(&r->d, noise, 3, T0 + 1500000u, true, 4);
    bl_diag_bytes(&r->d, unknown, 13, T0 + 2000000u, true, 5);
    bl_diag_finish(&r->d);
    assert_int_equal(r->d.i2b, 1);
    assert_int_equal(r->d.b2i, 1);
    assert_int_equal(r->d.rec.f[BL_F_VOLTAGE].value, 13000);
    assert_int_equal(r->d.rs_rej[BL_RSR_CHECKSUM], 1);
    assert_int_equal(r->d.rejected[BL_REJ_CHECKSUM], 1);
    assert_int_equal(r->d.rs_noise, 3);
    assert_int_equal(r->d.rs_rej[BL_RSR_NOISE], 1);
    assert_int_equal(r->d.rs_rej[BL_RSR_UNSOLICITED], 1);
    assert_int_equal(r->d.rejected[BL_REJ_UNKNOWN_ID], 1);
    free(r);
}

/* JBD-01 (read 0x03) answered with status 0x80 and no data (DD 03 80 00, checksum
 * 0x10000 - 0x80 = FF80, 77): an error code, counted as such, not data */
static void test_jbd_error_status_is_an_error_code(void **state)
{
    rig_t *r = rig("jbd");
    const uint8_t q[7] = { 0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77 };
    const uint8_t a[7] = { 0xDD, 0x03, 0x80, 0x00, 0xFF, 0x80, 0x77 };
    (void)state;
    bl_diag_bytes(&r->d, q, 7, T0, true, 1);
    bl_diag_bytes(&r->d, a, 7, T0 + 50000u, true, 2);
    bl_diag_finish(&r->d);
    assert_int_equal(r->d.rs_err_code, 1);
    assert_int_equal(r->d.rs_rej[BL_RSR_ERROR_CODE], 1);
    assert_int_equal(r->d.rejected[BL_REJ_RESERVED], 1);
    assert_false(r->d.rec.f[BL_F_VOLTAGE].valid);
    free(r);
}

/* Lines without a time are counted and take no part in the clock; a line earlier than the one
 * before is counted as time running backwards and held at the last time */
static void test_the_capture_clock(void **state)
{
    rig_t *r = rig("daly");
    (void)state;
    bl_diag_bytes(&r->d, dly01, 13, 0, false, 1);
    bl_diag_bytes(&r->d, dly03, 13, 0, false, 2);
    bl_diag_bytes(&r->d, dly01, 13, T0 + 5000000u, true, 3);
    bl_diag_bytes(&r->d, dly03, 13, T0 + 4000000u, true, 4); /* a second before its poll */
    bl_diag_finish(&r->d);
    assert_int_equal(r->d.frames, 4);
    assert_int_equal(r->d.no_ts, 2);
    assert_int_equal(r->d.back_in_time, 1);
    free(r);
}

/* A Modbus map has no frames to diagnose in a byte capture: not supported */
static void test_modbus_maps_are_not_byte_captures(void **state)
{
    rig_t *r = calloc(1, sizeof *r);
    bl_diag_cfg_t cfg;
    (void)state;
    assert_non_null(r);
    memset(&cfg, 0, sizeof cfg);
    cfg.proto = bl_protocol_find("pace-modbus");
    assert_int_equal(bl_diag_init(&r->d, &cfg, r->sample, r->lines, SAMPLE, r->out, 32), BL_ENOTSUP);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daly_causes_become_reject_counts),
        cmocka_unit_test(test_jbd_error_status_is_an_error_code),
        cmocka_unit_test(test_the_capture_clock),
        cmocka_unit_test(test_modbus_maps_are_not_byte_captures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
