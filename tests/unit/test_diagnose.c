/*
 * The diagnosis engine, rule by rule, with frames built by hand from the Pylon LV
 * V1.2 layout (protocols/can-pylon-lv.md §3, vectors PLV-01..09), SolaX 0x1877
 * (can-others.md §A) and Pylontech RS485 (rs485-pylontech.md, vectors PYL-05/12):
 *
 *   0x351 CVL u16le@0 x0.1 V, CCL s16le@2 x0.1 A, DCL s16le@4 x0.1 A, DVL u16le@6 x0.1 V
 *   0x355 SOC u16le@0 1 %, SOH u16le@2 1 %
 *   0x356 voltage s16le@0 x0.01 V, current s16le@2 x0.1 A (+ charging), temperature s16le@4 x0.1 C
 *   0x359 protections bytes 0-1, alarms bytes 2-3 (bit 1 cell/pack over-voltage), byte 4 modules
 *   0x35E manufacturer, ASCII;  0x305 inverter keep-alive, 8 x 00
 *
 * Every test feeds a stream with capture time and line numbers and reads the findings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmslink/canerr.h"
#include "bmslink/diagnose.h"
#include "diagnose_int.h"

#define T0 UINT64_C(1718000000000000)
#define SAMPLE 64

typedef struct {
    bl_diag_t d;
    bl_cap_frame_t sample[SAMPLE];
    uint64_t lines[SAMPLE];
    bl_diag_finding_t out[32];
    uint64_t line;
} rig_t;

static rig_t *rig(const char *proto, const bl_diag_inverter_t *inv)
{
    rig_t *r = calloc(1, sizeof *r);
    bl_diag_cfg_t cfg;
    assert_non_null(r);
    memset(&cfg, 0, sizeof cfg);
    cfg.proto = proto ? bl_protocol_find(proto) : NULL;
    cfg.inv = inv;
    assert_int_equal(bl_diag_init(&r->d, &cfg, r->sample, r->lines, SAMPLE, r->out, 32), 0);
    return r;
}

static bl_cap_frame_t frame(uint32_t id, bool ext, uint64_t t_ms, const uint8_t *b, uint8_t n)
{
    bl_cap_frame_t f;
    memset(&f, 0, sizeof f);
    f.ts_us = T0 + t_ms * 1000u;
    f.has_ts = 1;
    strcpy(f.bus, "can0");
    f.f.id = id;
    f.f.flags = ext ? BL_CAN_EXT : 0;
    f.f.len = n;
    memcpy(f.f.data, b, n);
    return f;
}

static uint64_t push(rig_t *r, uint32_t id, uint64_t t_ms, const uint8_t *b, uint8_t n)
{
    bl_cap_frame_t f = frame(id, id > 0x7FF, t_ms, b, n);
    bl_diag_frame(&r->d, &f, ++r->line);
    return r->line;
}

/* one second of a Pylon LV battery: limits, SOC, V/I/T, alarms, flags, name, and the keep-alive */
typedef struct {
    int ccl_dA, dcl_dA, cvl_dV;
    int soc, v_cV, i_dA;
    uint8_t prot0, alarm2, flags;
    const char *name;
    bool keepalive;
} second_t;

static void pylon_second(rig_t *r, uint64_t t_ms, const second_t *s)
{
    uint8_t l[8] = { (uint8_t)s->cvl_dV, (uint8_t)(s->cvl_dV >> 8), (uint8_t)s->ccl_dA, (uint8_t)(s->ccl_dA >> 8),
                     (uint8_t)s->dcl_dA, (uint8_t)(s->dcl_dA >> 8), 0xE0, 0x01 };
    uint8_t soc[4] = { (uint8_t)s->soc, 0, 100, 0 };
    uint8_t m[6] = { (uint8_t)s->v_cV, (uint8_t)(s->v_cV >> 8), (uint8_t)s->i_dA, (uint8_t)(s->i_dA >> 8), 0xFA, 0 };
    uint8_t al[7] = { s->prot0, 0, s->alarm2, 0, 1, 'P', 'N' };
    uint8_t fl[2] = { s->flags, 0 };
    uint8_t nm[8] = { ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ' };
    static const uint8_t ka[8] = { 0 };
    memcpy(nm, s->name ? s->name : "PYLON", strlen(s->name ? s->name : "PYLON"));
    push(r, 0x351, t_ms, l, 8);
    push(r, 0x355, t_ms + 1, soc, 4);
    push(r, 0x356, t_ms + 2, m, 6);
    push(r, 0x359, t_ms + 3, al, 7);
    push(r, 0x35C, t_ms + 4, fl, 2);
    push(r, 0x35E, t_ms + 5, nm, 8);
    if (s->keepalive)
        push(r, 0x305, t_ms + 500, ka, 8);
}

/* 53.2 V CVL, 100 A limits, SOC 55 %, 52.00 V, 0 A, charge+discharge enabled, keep-alive */
static second_t calm(void)
{
    second_t s = { 1000, 1000, 532, 55, 5200, 0, 0, 0, 0xC0, "PYLON", true };
    return s;
}

static const bl_diag_finding_t *find(rig_t *r, const char *problem, const char *id)
{
    for (size_t i = 0; i < r->d.nout; i++)
        if (strcmp(bl_diag_problem_str(r->out[i].problem), problem) == 0 && (id == NULL || strcmp(r->out[i].id, id) == 0))
            return &r->out[i];
    return NULL;
}

static void no_errors(rig_t *r)
{
    for (size_t i = 0; i < r->d.nout; i++)
        if (r->out[i].severity == BL_DSEV_ERROR)
            fail_msg("unexpected error finding %s (%s): %s", bl_diag_problem_str(r->out[i].problem), r->out[i].id,
                     r->out[i].cause);
}

/* ---- the formatter ------------------------------------------------------------------ */

static void test_fmt_milli_rounds_half_away_from_zero(void **state)
{
    char b[64];
    (void)state;
    dg_fmt(b, sizeof b, "%m|%m|%m|%m", DG_M(53250, 1), DG_M(-1250, 1), DG_M(499, 0), DG_M(7, 3));
    assert_string_equal(b, "53.3|-1.3|0|0.007");
}

static void test_fmt_ids_and_durations(void **state)
{
    char b[128];
    (void)state;
    dg_fmt(b, sizeof b, "%i %i|%T|%T|%T|%T|%N %N %N", DG_ID(0x351, 0), DG_ID(0x1871, 1), DG_T(850000), DG_T(12345678),
           DG_T(245000000), DG_T(INT64_C(7380000000)), 1u, 2u, 3u);
    assert_string_equal(b, "0x351 0x00001871|850 ms|12.3 s|4 min 5 s|2 h 3 min|once twice 3 times");
}

static void test_fmt_never_overflows(void **state)
{
    char b[8];
    (void)state;
    dg_fmt(b, sizeof b, "%s and more", "a long sentence");
    assert_int_equal(strlen(b), 7);
    dg_cat(b, sizeof b, "%d", 5); /* full: nothing appended, still terminated */
    assert_int_equal(strlen(b), 7);
}

/* ---- setup ------------------------------------------------------------------------------- */

static void test_init_refuses_bad_arguments(void **state)
{
    bl_diag_t *d = calloc(1, sizeof *d);
    bl_cap_frame_t s[1];
    uint64_t l[1];
    bl_diag_finding_t o[1];
    bl_diag_cfg_t cfg;
    (void)state;
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(bl_diag_init(d, &cfg, s, l, 0, o, 1), BL_EINVAL);
    assert_int_equal(bl_diag_init(d, &cfg, s, l, 1, o, 0), BL_EINVAL);
    cfg.via = bl_protocol_find("pylon-rs485");
    assert_int_equal(bl_diag_init(d, &cfg, s, l, 1, o, 1), BL_EINVAL);
    cfg.via = NULL;
    cfg.proto = bl_protocol_find("seplos-v3"); /* Modbus register map: no frames on the wire */
    assert_int_equal(bl_diag_init(d, &cfg, s, l, 1, o, 1), BL_ENOTSUP);
    free(d);
}

/* ---- healthy --------------------------------------------------------------------------- */

static void test_healthy_pylon_minute_has_no_error(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    (void)state;
    for (unsigned t = 0; t < 60; t++)
        pylon_second(r, t * 1000u, &(second_t){ 1000, 1000, 532, 55, 5200, 0, 0, 0, 0xC0, "PYLON", true });
    bl_diag_finish(&r->d);
    no_errors(r);
    assert_false(bl_diag_has_error(&r->d));
    assert_ptr_equal(r->d.p, bl_protocol_find("pylon-lv"));
    free(r);
}

/* ---- communication_fault --------------------------------------------------------------- */

/* Pylon LV documents no timeout: 10 x the 1 s period = 10 s. A 12 s silence is a gap; its
 * evidence is the last frame before and the first after. */
static void test_gap_longer_than_ten_periods_is_an_error(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    const bl_diag_finding_t *f;
    uint64_t before, after;
    (void)state;
    for (unsigned t = 0; t < 5; t++)
        pylon_second(r, t * 1000u, &s);
    before = r->line - 1; /* 0x35E of second 4, then its keep-alive */
    s.keepalive = false;
    pylon_second(r, 16000, &s); /* 0x351 at 16 s: 16.0 - 4.005 = 11.995 s after the last battery frame */
    after = r->line - 5;
    bl_diag_finish(&r->d);
    f = find(r, "communication_fault", "gap");
    assert_non_null(f);
    assert_int_equal(f->severity, BL_DSEV_ERROR);
    assert_int_equal(f->nev, 2);
    assert_int_equal(f->ev[0].line, before);
    assert_int_equal(f->ev[1].line, after);
    assert_int_equal(r->d.stale_ms, 10000);
    free(r);
}

static void test_gap_under_the_timeout_is_not_raised(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    (void)state;
    for (unsigned t = 0; t < 5; t++)
        pylon_second(r, t * 1000u, &s);
    pylon_second(r, 13000, &s); /* 13.0 - 4.005 = 8.995 s: within 10 s */
    bl_diag_finish(&r->d);
    assert_null(find(r, "communication_fault", "gap"));
    free(r);
}

/* The inverter's profile says it faults after 5 s without data: that is the timeout. */
static void test_inverter_timeout_overrides_the_protocols(void **state)
{
    bl_diag_inverter_t inv;
    rig_t *r;
    second_t s = calm();
    (void)state;
    memset(&inv, 0, sizeof inv);
    inv.name = "test-inverter";
    inv.proto = bl_protocol_find("pylon-lv");
    inv.timeouts[0].after_ms = 5000;
    inv.ntimeouts = 1;
    r = rig(NULL, &inv);
    pylon_second(r, 0, &s);
    pylon_second(r, 7000, &s); /* 6.995 s silent */
    bl_diag_finish(&r->d);
    assert_int_equal(r->d.stale_ms, 5000);
    assert_non_null(find(r, "communication_fault", "gap"));
    free(r);
}

/* An error frame with the bus-off class (linux/can/error.h CAN_ERR_BUSOFF 0x40). */
static void test_bus_off_error_frame(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    bl_cap_frame_t e = frame(BL_CANERR_BUSOFF, false, 2500, (const uint8_t[8]){ 0 }, 8);
    const bl_diag_finding_t *f;
    (void)state;
    e.f.flags = BL_CAN_ERR;
    pylon_second(r, 0, &s);
    pylon_second(r, 1000, &s);
    bl_diag_frame(&r->d, &e, ++r->line);
    pylon_second(r, 3000, &s);
    bl_diag_finish(&r->d);
    f = find(r, "communication_fault", "bus_off");
    assert_non_null(f);
    assert_int_equal(f->severity, BL_DSEV_ERROR);
    assert_int_equal(f->ev[0].line, 15);
    free(r);
}

/* ---- limits_not_followed ------------------------------------------------------------------ */

/* CCL 20.0 A (0x00C8), current 45.0 A (0x01C2) for 20 s: beyond 20 A + 2 A for more than 15 s. */
static void test_charge_current_above_ccl_for_15_s_is_an_error(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    const bl_diag_finding_t *f;
    (void)state;
    s.ccl_dA = 200;
    s.i_dA = 450;
    for (unsigned t = 0; t < 20; t++)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    f = find(r, "limits_not_followed", "ccl_exceeded");
    assert_non_null(f);
    assert_int_equal(f->severity, BL_DSEV_ERROR);
    assert_int_equal(r->d.h_ccl.worst.a, 45000);
    assert_int_equal(r->d.h_ccl.worst.b, 20000);
    free(r);
}

/* 21.5 A against 20 A is within the 2 A tolerance; 45 A for 14 s is shorter than 15 s. */
static void test_within_tolerance_or_short_is_not_a_violation(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    (void)state;
    s.ccl_dA = 200;
    s.i_dA = 215;
    for (unsigned t = 0; t < 30; t++)
        pylon_second(r, t * 1000u, &s);
    s.i_dA = 450;
    for (unsigned t = 30; t < 44; t++)
        pylon_second(r, t * 1000u, &s);
    s.i_dA = 100;
    for (unsigned t = 44; t < 50; t++)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    assert_null(find(r, "limits_not_followed", "ccl_exceeded"));
    free(r);
}

/* 0x35C ChargeEnable cleared (byte 0 bit 7 = 0): the charge limit in force is 0 A. */
static void test_charge_while_charge_disabled(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    (void)state;
    s.flags = 0x40; /* discharge enable only */
    s.i_dA = 100;   /* 10 A in */
    for (unsigned t = 0; t < 20; t++)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    assert_non_null(find(r, "limits_not_followed", "ccl_exceeded"));
    assert_int_equal(r->d.h_ccl.worst.b, 0);
    free(r);
}

/* A profile whose inverter reads 0 A as "no limit" (Sofar ME3000SP, can-pylon-lv.md §8.1). */
static void test_zero_limit_with_an_inverter_that_ignores_it(void **state)
{
    bl_diag_inverter_t inv;
    rig_t *r;
    second_t s = calm();
    (void)state;
    memset(&inv, 0, sizeof inv);
    inv.name = "sofar-me3000sp";
    inv.proto = bl_protocol_find("pylon-lv");
    inv.flags = BL_DIF_IGNORES_ZERO_LIMITS;
    r = rig(NULL, &inv);
    s.ccl_dA = 0;
    for (unsigned t = 0; t < 5; t++)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    assert_non_null(find(r, "limits_not_followed", "zero_limit_ignored"));
    free(r);
    r = rig("pylon-lv", NULL); /* the same frames without that profile: nothing to say */
    for (unsigned t = 0; t < 5; t++)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    assert_null(find(r, "limits_not_followed", "zero_limit_ignored"));
    free(r);
}

/* DCL s16 -100.0 A (0xFC18): the row reads the magnitude; the sign on the wire is named. */
static void test_negative_dcl_is_named(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    const bl_diag_finding_t *f;
    (void)state;
    s.dcl_dA = -1000;
    for (unsigned t = 0; t < 3; t++)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    f = find(r, "limits_not_followed", "negative_limit");
    assert_non_null(f);
    assert_int_equal(f->severity, BL_DSEV_WARNING);
    assert_int_equal(r->d.neg_dcl, 3);
    assert_int_equal(r->d.rec.f[BL_F_DCL].value, 100000);
    free(r);
}

/* ---- battery_not_detected -------------------------------------------------------------- */

static void test_identity_manufacturer_the_profile_refuses(void **state)
{
    bl_diag_inverter_t inv;
    rig_t *r;
    second_t s = calm();
    const bl_diag_finding_t *f;
    (void)state;
    memset(&inv, 0, sizeof inv);
    inv.name = "strict";
    inv.proto = bl_protocol_find("pylon-lv");
    inv.manufacturer = "PYLON";
    r = rig(NULL, &inv);
    s.name = "PYTES";
    for (unsigned t = 0; t < 3; t++)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    f = find(r, "battery_not_detected", "identity_rejected");
    assert_non_null(f);
    assert_non_null(strstr(f->cause, "\"PYTES\""));
    free(r);
}

/* SolaX 0x1877 byte 4 = 80 (0x50): ARM 1.57 refuses it with IE102 (can-others.md §A). */
static void test_identity_battery_type_the_profile_refuses(void **state)
{
    bl_diag_inverter_t inv;
    rig_t *r;
    const uint8_t t80[8] = { 0, 0, 0, 0, 80, 0, 0x12, 0x02 };
    (void)state;
    memset(&inv, 0, sizeof inv);
    inv.name = "solax-x3-g4";
    inv.proto = bl_protocol_find("solax");
    inv.type_msg = 0x1877;
    inv.type_signal = "BatteryType";
    inv.type_rejected[0] = 80;
    inv.ntype_rejected = 1;
    inv.type_code = "IE102";
    r = rig(NULL, &inv);
    for (unsigned t = 0; t < 5; t++) {
        push(r, 0x1871, t * 1000u, (const uint8_t[8]){ 1, 0, 1, 0, 0, 0, 0, 0 }, 8);
        push(r, 0x1877, t * 1000u + 2, t80, 8);
    }
    bl_diag_finish(&r->d);
    assert_int_equal(r->d.type_raw, 80);
    assert_non_null(find(r, "battery_not_detected", "identity_rejected"));
    free(r);
}

/* Only the inverter's 0x305: no battery, and the loop cannot be judged. */
static void test_keepalive_only_is_no_battery(void **state)
{
    rig_t *r = rig(NULL, NULL);
    static const uint8_t ka[8] = { 0 };
    (void)state;
    for (unsigned t = 0; t < 20; t++)
        push(r, 0x305, t * 1000u, ka, 8);
    bl_diag_finish(&r->d);
    assert_non_null(find(r, "battery_not_detected", "no_battery_frames"));
    assert_int_equal(r->d.loop, BL_LOOP_UNKNOWN);
    free(r);
}

/* 29-bit frames with Pylon LV's ids: read as meant, named. */
static void test_ids_with_the_other_length(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    uint8_t soc[4] = { 55, 0, 100, 0 };
    (void)state;
    for (unsigned t = 0; t < 10; t++) {
        bl_cap_frame_t f = frame(0x355, true, t * 1000u, soc, 4);
        bl_diag_frame(&r->d, &f, ++r->line);
    }
    bl_diag_finish(&r->d);
    assert_true(r->d.flip_ext);
    assert_non_null(find(r, "wrong_id_length", "id_length"));
    assert_non_null(find(r, "battery_not_detected", "wrong_id_length"));
    assert_int_equal(r->d.rec.f[BL_F_SOC].value, 55000); /* the value still read */
    free(r);
}

/* A profile that detects the battery by 0x355, which this battery never sends. */
static void test_the_message_an_inverter_needs_never_comes(void **state)
{
    bl_diag_inverter_t inv;
    rig_t *r;
    const uint8_t lim[8] = { 0x14, 0x02, 0xE8, 0x03, 0xE8, 0x03, 0xE0, 0x01 };
    (void)state;
    memset(&inv, 0, sizeof inv);
    inv.name = "needs-355";
    inv.proto = bl_protocol_find("pylon-lv");
    inv.detect[0] = 0x351;
    inv.detect[1] = 0x355;
    inv.ndetect = 2;
    inv.flags = BL_DIF_NO_KEEPALIVE;
    r = rig(NULL, &inv);
    for (unsigned t = 0; t < 10; t++)
        push(r, 0x351, t * 1000u, lim, 8);
    bl_diag_finish(&r->d);
    assert_non_null(find(r, "battery_not_detected", "missing_detect_message"));
    assert_null(find(r, "battery_not_detected", "no_keepalive")); /* this inverter never sends one */
    free(r);
}

/* The same family, another variant: Pylon HV big endian (pylon-hv:be) on a site set to the LE
 * spec encoding. 0x4210 in BE: 0x0FA0 = 400.0 V, current 0x0064 = +10.0 A, temperature
 * 0x00FA = 25.0 C, SOC 0x37 = 55 %, SOH 0x63 = 99 %. The LE spec reads 0xA00F = 4096.0 V:
 * out of range, so the BE variant explains the traffic and the site's choice is wrong. */
static void test_variant_mismatch_is_wrong_protocol(void **state)
{
    rig_t *r = rig("pylon-hv", NULL);
    const uint8_t be[8] = { 0x0F, 0xA0, 0x00, 0x64, 0x00, 0xFA, 0x37, 0x63 };
    const bl_diag_finding_t *f;
    (void)state;
    for (unsigned t = 0; t < 30; t++) {
        push(r, 0x4200, t * 1000u, (const uint8_t[8]){ 0 }, 8);
        push(r, 0x4210, t * 1000u + 5, be, 8);
    }
    bl_diag_finish(&r->d);
    f = find(r, "wrong_protocol", "protocol_mismatch");
    assert_non_null(f);
    assert_ptr_equal(r->d.p, bl_protocol_find("pylon-hv:be"));
    assert_non_null(strstr(f->cause, "same family"));
    assert_non_null(find(r, "battery_not_detected", "wrong_protocol"));
    assert_int_equal(r->d.rec.f[BL_F_VOLTAGE].value, 400000); /* read as the BE variant: 400.0 V */
    free(r);
}

/* Pylon LV frames and BYD HVS battery frames (0x110 limits, 0x150 SOC) on one bus. */
static void test_two_battery_protocols_on_one_bus(void **state)
{
    rig_t *r = rig(NULL, NULL);
    second_t s = calm();
    const uint8_t byd110[8] = { 0x0F, 0xA0, 0x0B, 0xB8, 0x00, 0xC8, 0x00, 0xC8 };
    const uint8_t byd150[8] = { 0x15, 0x7C, 0x26, 0xAC, 0x01, 0xF4, 0x00, 0x00 };
    (void)state;
    for (unsigned t = 0; t < 30; t++) {
        pylon_second(r, t * 1000u, &s);
        push(r, 0x110, t * 1000u + 700, byd110, 8);
        push(r, 0x150, t * 1000u + 701, byd150, 8);
    }
    bl_diag_finish(&r->d);
    assert_ptr_equal(r->d.p, bl_protocol_find("pylon-lv"));
    assert_non_null(r->d.other_p);
    assert_non_null(find(r, "wrong_protocol", "two_battery_protocols"));
    free(r);
}

/* A profile that ignores current limits while the battery derates, and one that shuts down
 * off-grid at DCL 0 (Victron Multis, can-victron.md). */
static void test_profile_flags_for_limits(void **state)
{
    bl_diag_inverter_t inv;
    rig_t *r;
    second_t s = calm();
    (void)state;
    memset(&inv, 0, sizeof inv);
    inv.name = "deaf-to-limits";
    inv.proto = bl_protocol_find("pylon-lv");
    inv.flags = BL_DIF_IGNORES_CURRENT_LIMITS | BL_DIF_DCL_ZERO_SHUTDOWN;
    r = rig(NULL, &inv);
    for (unsigned t = 0; t < 20; t++) {
        s.ccl_dA = t < 10 ? 1000 : 500;
        s.dcl_dA = t < 15 ? 1000 : 0;
        pylon_second(r, t * 1000u, &s);
    }
    bl_diag_finish(&r->d);
    assert_non_null(find(r, "limits_not_followed", "current_limits_ignored"));
    assert_non_null(find(r, "limits_not_followed", "dcl_zero_shutdown"));
    free(r);
}

/* A profile with an alarm display table without cell_imbalance. */
static void test_alarm_the_display_table_lacks(void **state)
{
    bl_diag_inverter_t inv;
    rig_t *r;
    second_t s = calm();
    (void)state;
    memset(&inv, 0, sizeof inv);
    inv.name = "few-codes";
    inv.proto = bl_protocol_find("pylon-lv");
    inv.flags = BL_DIF_ALARM_TABLE;
    inv.shows[BL_AC_ALARM] = inv.shows[BL_AC_PROTECTION] = (bl_alarm_mask_t)(1u << BL_A_INTERNAL);
    inv.shows[BL_AC_WARNING] = BL_A_ALL;
    r = rig(NULL, &inv);
    pylon_second(r, 0, &s);
    s.alarm2 = 0x02; /* 0x359 byte 2 bit 1: cell / pack over-voltage alarm */
    pylon_second(r, 1000, &s);
    bl_diag_finish(&r->d);
    assert_non_null(find(r, "alarm_not_shown", "alarm_lost"));
    assert_true(r->d.lost[BL_AC_ALARM] & (1u << BL_A_CELL_OV));
    free(r);
}

/* Merged logs: a frame older than the one before it is taken at the previous time. */
static void test_time_going_backwards_is_held(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    (void)state;
    pylon_second(r, 5000, &s);
    pylon_second(r, 1000, &s);
    pylon_second(r, 6000, &s);
    bl_diag_finish(&r->d);
    assert_true(r->d.back_in_time > 0);
    assert_int_equal(r->d.last_us - r->d.first_us, 1500000u); /* 5.000 -> 6.500 s, the keep-alive */
    assert_non_null(strstr(r->d.notes[0], "time went backwards"));
    free(r);
}

/* ---- alarm_not_shown ------------------------------------------------------------------ */

/* 0x359 byte 0 bit 1: the cell/pack over-voltage protection; a profile that reads no alarms. */
static void test_protection_an_inverter_ignores(void **state)
{
    bl_diag_inverter_t inv;
    rig_t *r;
    second_t s = calm();
    const bl_diag_finding_t *f;
    (void)state;
    memset(&inv, 0, sizeof inv);
    inv.name = "deaf";
    inv.proto = bl_protocol_find("pylon-lv");
    inv.flags = BL_DIF_IGNORES_ALARMS;
    r = rig(NULL, &inv);
    pylon_second(r, 0, &s);
    s.prot0 = 0x02;
    pylon_second(r, 1000, &s);
    bl_diag_finish(&r->d);
    f = find(r, "alarm_not_shown", "alarm_lost");
    assert_non_null(f);
    assert_int_equal(f->severity, BL_DSEV_ERROR); /* a protection */
    assert_true(r->d.lost[BL_AC_PROTECTION] & (1u << BL_A_CELL_OV));
    assert_int_equal(f->ev[0].line, 11); /* second 0 is lines 1-7 (with its keep-alive): 0x359 of second 1 is line 11 */
    free(r);
}

/* ---- soc_missing_or_wrong ----------------------------------------------------------------- */

/* SOC 55 -> 80 -> 55 within seconds at 0 A: jumps the current cannot explain. */
static void test_soc_jumps(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    (void)state;
    for (unsigned t = 0; t < 30; t++) {
        s.soc = (t / 5) % 2 ? 80 : 55;
        pylon_second(r, t * 1000u, &s);
    }
    bl_diag_finish(&r->d);
    assert_non_null(find(r, "soc_missing_or_wrong", "soc_jump"));
    assert_int_equal(r->d.soc_jumps, 5);
    free(r);
}

/* SOC 5500 % does not fit Pylon's 0..100 % (range reject); / 100 it would be 55.00 %. */
static void test_soc_in_hundredths(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    const uint8_t soc[4] = { 0x7C, 0x15, 100, 0 }; /* 0x157C = 5500 */
    second_t s = calm();
    (void)state;
    for (unsigned t = 0; t < 5; t++) {
        pylon_second(r, t * 1000u, &s);
        push(r, 0x355, t * 1000u + 700, soc, 4);
    }
    bl_diag_finish(&r->d);
    assert_non_null(find(r, "soc_missing_or_wrong", "soc_scale"));
    assert_int_equal(r->d.soc_scale_hi, 5);
    free(r);
}

/* Found by fuzz/diagnose.c: the share of the capacity was computed as q x 100 000 before
 * dividing, past int64 from 9.2e13 µC. 2999.9 A (29999 dA, inside Pylon's +-3000 A range)
 * for 31 000 s is 2 999 900 mA x 31 000 000 ms = 92 996 900 000 000 µC = 25 832 472 mAh,
 * i.e. 25 832.5 % of the 100 Ah assumed for one module; the SOC stood still all along. */
static void test_large_charge_counts_do_not_overflow(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    const bl_diag_finding_t *f;
    (void)state;
    s.ccl_dA = 30000;
    s.i_dA = 29999;
    s.keepalive = false;
    for (unsigned t = 0; t <= 31000; t++)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    assert_int_equal(r->d.q_uC, INT64_C(92996900000000));
    f = find(r, "soc_missing_or_wrong", "soc_frozen");
    assert_non_null(f);
    assert_non_null(strstr(f->cause, "25832.5 Ah"));
    assert_non_null(strstr(f->cause, "25832.5 % of 100 Ah"));
    free(r);
}

/* ---- current_sign_inverted ---------------------------------------------------------------- */

/* The current steps +40 A / -40 A every 3 s while the voltage steps the other way:
 * 52.00 V at "+40 A" and 52.64 V at "-40 A" (IR drop 8 mOhm x 80 A = 0.64 V, backwards). */
static void test_voltage_moves_against_the_current(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    (void)state;
    for (unsigned t = 0; t < 40; t++) {
        bool up = (t / 3) % 2;
        s.i_dA = up ? 400 : -400;
        s.v_cV = up ? 5200 : 5264;
        pylon_second(r, t * 1000u, &s);
    }
    bl_diag_finish(&r->d);
    assert_true(r->d.steps_disagree >= 5);
    assert_int_equal(r->d.steps_agree, 0);
    assert_non_null(find(r, "current_sign_inverted", "current_sign"));
    free(r);
}

/* ---- stale_data ------------------------------------------------------------------------ */

/* 0x356 repeats 52.00 V / -30.0 A for 6 minutes. */
static void test_repeating_measurements(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    (void)state;
    s.i_dA = -300;
    for (unsigned t = 0; t < 360; t++)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    assert_non_null(find(r, "stale_data", "values_repeat"));
    assert_true(r->d.st_worst_us >= 300000000u);
    free(r);
}

/* ---- the loop ------------------------------------------------------------------------- */

static void test_loop_closed_when_the_current_follows_a_lower_limit(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    (void)state;
    s.i_dA = 450;
    for (unsigned t = 0; t < 10; t++)
        pylon_second(r, t * 1000u, &s);
    s.ccl_dA = 200; /* limit 20 A at 10 s ... */
    pylon_second(r, 10000, &s);
    pylon_second(r, 11000, &s);
    s.i_dA = 200; /* ... followed at 12 s */
    for (unsigned t = 12; t < 20; t++)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    assert_int_equal(r->d.loop, BL_LOOP_CLOSED);
    assert_int_equal(r->d.reacted, 1);
    no_errors(r);
    free(r);
}

static void test_loop_open_when_only_the_battery_talks(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    (void)state;
    s.keepalive = false;
    for (unsigned t = 0; t < 10; t++)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    assert_int_equal(r->d.loop, BL_LOOP_OPEN);
    assert_non_null(find(r, "battery_not_detected", "no_keepalive"));
    free(r);
}

/* ---- unexpected_shutdown --------------------------------------------------------------- */

/* Discharging 45 A; at 40 s the cell under-voltage alarm (0x359 byte 2 bit 2), at 45 s DCL 0,
 * at 46 s the current stops: the story in time order. */
static void test_shutdown_story_in_time_order(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    second_t s = calm();
    const bl_diag_finding_t *f;
    (void)state;
    s.i_dA = -450;
    for (unsigned t = 0; t < 80; t++) {
        if (t == 40)
            s.alarm2 = 0x04;
        if (t == 45)
            s.dcl_dA = 0;
        if (t == 46)
            s.i_dA = 0;
        pylon_second(r, t * 1000u, &s);
    }
    bl_diag_finish(&r->d);
    f = find(r, "unexpected_shutdown", "stopped");
    assert_non_null(f);
    assert_true(f->nev >= 3);
    for (unsigned i = 1; i < f->nev; i++)
        assert_true(f->ev[i].line > f->ev[i - 1].line);
    assert_non_null(strstr(f->cause, "alarm cell_under_voltage"));
    assert_non_null(strstr(f->cause, "discharge limit went to 0 A"));
    free(r);
}

/* ---- capture edge cases --------------------------------------------------------------- */

/* candump without -t: no time, so no gap, period or hold can be judged, and the note says so */
static void test_no_timestamps_no_timing_judgements(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    const uint8_t lim[8] = { 0x14, 0x02, 0xC8, 0x00, 0xE8, 0x03, 0xE0, 0x01 }; /* CCL 20.0 A */
    const uint8_t cur[6] = { 0x50, 0x14, 0xC2, 0x01, 0xFA, 0x00 };             /* 45.0 A in */
    (void)state;
    for (unsigned i = 0; i < 200; i++) {
        bl_cap_frame_t a = frame(0x351, false, 0, lim, 8), b = frame(0x356, false, 0, cur, 6);
        a.has_ts = b.has_ts = 0;
        bl_diag_frame(&r->d, &a, ++r->line);
        bl_diag_frame(&r->d, &b, ++r->line);
    }
    bl_diag_finish(&r->d);
    assert_int_equal(r->d.no_ts, 400);
    assert_null(find(r, "limits_not_followed", NULL));
    assert_null(find(r, "communication_fault", NULL));
    assert_non_null(strstr(r->d.notes[0], "no timestamps"));
    free(r);
}

static void test_findings_that_do_not_fit_are_counted(void **state)
{
    bl_diag_t *d = calloc(1, sizeof *d);
    bl_cap_frame_t s[4];
    uint64_t l[4];
    bl_diag_finding_t o[1];
    bl_diag_cfg_t cfg;
    (void)state;
    memset(&cfg, 0, sizeof cfg);
    cfg.proto = bl_protocol_find("pylon-lv");
    assert_int_equal(bl_diag_init(d, &cfg, s, l, 4, o, 1), 0);
    /* error frames and nothing else: wrong bitrate, and no battery because of it: two findings */
    for (unsigned i = 0; i < 20; i++) {
        bl_cap_frame_t e = frame(BL_CANERR_PROT | BL_CANERR_BUSERROR, false, i * 50u, (const uint8_t[8]){ 0 }, 8);
        e.f.flags = BL_CAN_ERR;
        bl_diag_frame(d, &e, i + 1u);
    }
    assert_int_equal(bl_diag_finish(d), 1);
    assert_int_equal(d->dropped, 1);
    free(d);
}

/* The timeline keeps cap buckets whatever the length: 10 000 s in 8 buckets. */
static void test_timeline_is_flat(void **state)
{
    rig_t *r = rig("pylon-lv", NULL);
    bl_diag_bucket_t tl[8];
    second_t s = calm();
    uint64_t frames = 0;
    (void)state;
    bl_diag_timeline(&r->d, tl, 8);
    s.keepalive = false;
    for (unsigned t = 0; t < 10000; t += 10)
        pylon_second(r, t * 1000u, &s);
    bl_diag_finish(&r->d);
    assert_true(bl_diag_timeline_len(&r->d) <= 8);
    assert_true(bl_diag_timeline_len(&r->d) >= 4);
    for (size_t i = 0; i < bl_diag_timeline_len(&r->d); i++)
        frames += tl[i].frames;
    assert_int_equal(frames, r->d.frames);
    assert_int_equal(tl[0].lo[BL_TL_SOC], 55000);
    free(r);
}

/* ---- RS485 --------------------------------------------------------------------------------- */

/* Pylontech 0x92 request to ADR 02 (PYL-12) and its answer (PYL-05), the answer split over
 * two capture lines: one frame, decoded, evidence on the line where it starts. */
static void test_rs485_frame_split_over_lines(void **state)
{
    rig_t *r = rig("pylon-rs485", NULL);
    const char *req = "~20024692E00202FD2E\r";
    const char *ans1 = "~20024600B014026EF05AA0022B";
    const char *ans2 = "FDD5C0F915\r";
    (void)state;
    bl_diag_bytes(&r->d, (const uint8_t *)req, strlen(req), T0, true, 1);
    bl_diag_bytes(&r->d, (const uint8_t *)ans1, strlen(ans1), T0 + 100000u, true, 2);
    bl_diag_bytes(&r->d, (const uint8_t *)ans2, strlen(ans2), T0 + 100500u, true, 3);
    bl_diag_finish(&r->d);
    assert_int_equal(r->d.i2b, 1);
    assert_int_equal(r->d.b2i, 1);
    assert_true(r->d.rec.f[BL_F_CVL].valid);
    assert_int_equal(r->d.last_b2i.line, 2);
    free(r);
}

/* Pylontech answers with RTN 0x04 (CID2 invalid, vector PYL "~200246040000FDAE"): an error
 * code, not data; and a request its noise and broken checksum (PYL-11, FC72 for FC71). */
static void test_rs485_error_codes_and_broken_frames(void **state)
{
    rig_t *r = rig("pylon-rs485", NULL);
    const char *req = "~20024644E00202FD31\r", *err = "~200246040000FDAE\r", *bad = "~1203400456ABCEFEFC72\r";
    (void)state;
    for (unsigned t = 0; t < 10; t++) {
        bl_diag_bytes(&r->d, (const uint8_t *)req, strlen(req), T0 + t * 1000000u, true, 3u * t + 1u);
        bl_diag_bytes(&r->d, (const uint8_t *)err, strlen(err), T0 + t * 1000000u + 100000u, true, 3u * t + 2u);
        bl_diag_bytes(&r->d, (const uint8_t *)bad, strlen(bad), T0 + t * 1000000u + 200000u, true, 3u * t + 3u);
    }
    bl_diag_finish(&r->d);
    assert_int_equal(r->d.rs_err_code, 10);
    assert_int_equal(r->d.rs_rej[BL_RSR_CHECKSUM], 10);
    assert_non_null(find(r, "battery_not_detected", "no_answer_to_polls"));
    assert_non_null(find(r, "communication_fault", "malformed_burst"));
    free(r);
}

/* Requests to ADR 03 every second and no answer: the battery is not there (or at 02). */
static void test_rs485_polls_without_answers(void **state)
{
    rig_t *r = rig("pylon-rs485", NULL);
    uint8_t b[64];
    const bl_diag_finding_t *f;
    int n = bl_rs_request(bl_protocol_find("pylon-rs485"), 0x03, 0x42, false, b, sizeof b);
    (void)state;
    assert_true(n > 0);
    for (unsigned t = 0; t < 20; t++)
        bl_diag_bytes(&r->d, b, (size_t)n, T0 + t * 1000000u, true, t + 1u);
    bl_diag_finish(&r->d);
    f = find(r, "battery_not_detected", "no_answer_to_polls");
    assert_non_null(f);
    assert_non_null(strstr(f->cause, "0x03"));
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_milli_rounds_half_away_from_zero),
        cmocka_unit_test(test_fmt_ids_and_durations),
        cmocka_unit_test(test_fmt_never_overflows),
        cmocka_unit_test(test_init_refuses_bad_arguments),
        cmocka_unit_test(test_healthy_pylon_minute_has_no_error),
        cmocka_unit_test(test_gap_longer_than_ten_periods_is_an_error),
        cmocka_unit_test(test_gap_under_the_timeout_is_not_raised),
        cmocka_unit_test(test_inverter_timeout_overrides_the_protocols),
        cmocka_unit_test(test_bus_off_error_frame),
        cmocka_unit_test(test_charge_current_above_ccl_for_15_s_is_an_error),
        cmocka_unit_test(test_within_tolerance_or_short_is_not_a_violation),
        cmocka_unit_test(test_charge_while_charge_disabled),
        cmocka_unit_test(test_zero_limit_with_an_inverter_that_ignores_it),
        cmocka_unit_test(test_negative_dcl_is_named),
        cmocka_unit_test(test_identity_manufacturer_the_profile_refuses),
        cmocka_unit_test(test_identity_battery_type_the_profile_refuses),
        cmocka_unit_test(test_keepalive_only_is_no_battery),
        cmocka_unit_test(test_the_message_an_inverter_needs_never_comes),
        cmocka_unit_test(test_variant_mismatch_is_wrong_protocol),
        cmocka_unit_test(test_two_battery_protocols_on_one_bus),
        cmocka_unit_test(test_profile_flags_for_limits),
        cmocka_unit_test(test_alarm_the_display_table_lacks),
        cmocka_unit_test(test_time_going_backwards_is_held),
        cmocka_unit_test(test_ids_with_the_other_length),
        cmocka_unit_test(test_protection_an_inverter_ignores),
        cmocka_unit_test(test_soc_jumps),
        cmocka_unit_test(test_soc_in_hundredths),
        cmocka_unit_test(test_large_charge_counts_do_not_overflow),
        cmocka_unit_test(test_voltage_moves_against_the_current),
        cmocka_unit_test(test_repeating_measurements),
        cmocka_unit_test(test_loop_closed_when_the_current_follows_a_lower_limit),
        cmocka_unit_test(test_loop_open_when_only_the_battery_talks),
        cmocka_unit_test(test_shutdown_story_in_time_order),
        cmocka_unit_test(test_no_timestamps_no_timing_judgements),
        cmocka_unit_test(test_findings_that_do_not_fit_are_counted),
        cmocka_unit_test(test_timeline_is_flat),
        cmocka_unit_test(test_rs485_frame_split_over_lines),
        cmocka_unit_test(test_rs485_polls_without_answers),
        cmocka_unit_test(test_rs485_error_codes_and_broken_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
