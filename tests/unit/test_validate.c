/*
 * Closed-loop validation (include/bmslink/validate.h), read like the specification.
 *
 * Part 1 feeds the judge hand-made timelines: the values, limits and times are written
 * here and the verdicts worked out by hand from the rules of validate.h (tolerances,
 * latency = 2 x the message period + 2 control steps, a step followed within 5 s + the
 * message period). Pylon LV sends every message each second (can-pylon-lv.md §3), so for
 * it: latency 4 s, a current-limit step must be followed within 6 s. Its encoder sends SOC in
 * whole percent (0x355 goes out with DLC 4: the 0.01 % SOCHiRes bytes 4-5 stay home), so the
 * SOC tolerance is 0.5 % + one 1 % step = 1.5 %.
 *
 * Part 2 runs the closed loop: each check passes on an obedient pair and fails on a
 * session built to make it fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bmslink/simload.h"
#include "bmslink/validate.h"

/* ---- part 1: the judge on hand-made timelines ----------------------------------------------- */

static bl_inv_profile_t prof;
static bl_inv_t inv;
static bl_val_t val;
static bl_record_t bms;
static bl_inv_out_t drive;
static bl_val_check_t out[BL_VC_COUNT];
static uint8_t blocked, silent;

#define S(x) ((uint64_t)(x) * 1000u)

static void judge_setup(const char *protocol)
{
    bl_val_cfg_t cfg;

    bl_inv_profile_defaults(&prof);
    prof.name = "test";
    prof.protocol_name = protocol;
    prof.proto = bl_protocol_find(protocol);
    assert_non_null(prof.proto);
    prof.ntimeouts = 1;
    prof.timeouts[0].msg_id = 0;
    prof.timeouts[0].after_ms = 10000;
    prof.timeouts[0].action = BL_INV_ACT_STANDBY;
    assert_int_equal(bl_inv_init(&inv, &prof, 0, 0), 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.battery = prof.proto;
    cfg.profile = &prof;
    cfg.step_ms = 1000;
    cfg.capacity_mAh = 200000;
    assert_int_equal(bl_val_init(&val, &cfg), 0);
    bl_record_init(&bms);
    bl_record_set(&bms, BL_F_SOC, 60000, 2, 0);
    bl_record_set(&bms, BL_F_VOLTAGE, 53000, 2, 0);
    bl_record_set(&bms, BL_F_CURRENT, 0, 1, 0);
    bl_record_set(&bms, BL_F_TEMP, 25000, 1, 0);
    bl_record_set(&bms, BL_F_CVL, 55200, 1, 0);
    bl_record_set(&bms, BL_F_CCL, 100000, 1, 0);
    bl_record_set(&bms, BL_F_DCL, 100000, 1, 0);
    bl_record_set(&bms, BL_F_DVL, 48000, 1, 0);
    bl_record_set(&bms, BL_F_CHARGE_ENABLE, 1, 0, 0);
    bl_record_set(&bms, BL_F_DISCHARGE_ENABLE, 1, 0, 0);
    memset(&drive, 0, sizeof drive);
    blocked = silent = 0;
    /* an inverter that runs and shows exactly what the battery has */
    inv.detected = 1;
    inv.state = BL_INV_RUN;
    inv.rx = bms;
    inv.view = bms;
}

/* One second of the session: what the inverter was told is what the BMS has. */
static void at(uint64_t t_s)
{
    bl_val_sample_t s;
    memset(&s, 0, sizeof s);
    s.t_ms = S(t_s);
    s.inv = &inv;
    s.out = &drive;
    s.bms = &bms;
    s.wire = &bms;
    s.v_mV = bms.f[BL_F_VOLTAGE].value;
    s.v_known = 1;
    s.blocked = blocked;
    s.silent = silent;
    bl_val_sample(&val, &s);
}

static void run(uint64_t from_s, uint64_t to_s)
{
    for (uint64_t t = from_s; t <= to_s; t++)
        at(t);
}

static void finish(uint64_t end_s)
{
    bl_val_finish(&val, S(end_s), out);
}

static void assert_check(unsigned id, unsigned status, uint64_t at_ms)
{
    if (out[id].status != status || out[id].at_ms != at_ms)
        fail_msg("%s: %s at %llu ms, expected %s at %llu ms: %s", bl_val_check_str(id),
                 bl_val_status_str(out[id].status), (unsigned long long)out[id].at_ms, bl_val_status_str(status),
                 (unsigned long long)at_ms, out[id].observed);
}

/* CCL 50 A; from 10 s the inverter charges at 55 A, 5 A over (tolerance 1 A + half the 0.1 A
 * step = 1.05 A), for 20 s: longer than the 6 s allowed, so the check fails at 10 s. */
static void test_charge_current_over_ccl_longer_than_allowed_fails_at_its_start(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    bl_record_set(&bms, BL_F_CCL, 50000, 1, 0);
    drive.i_mA = 40000;
    run(0, 9);
    drive.i_mA = 55000;
    run(10, 29);
    drive.i_mA = 40000;
    run(30, 40);
    finish(40);
    assert_check(BL_VC_CHARGE_LIMITS, BL_VS_FAIL, S(10));
    assert_non_null(strstr(out[BL_VC_CHARGE_LIMITS].observed, "drove 55.0 A with charge_current_limit_A 50.0 A"));
    assert_check(BL_VC_DISCHARGE_LIMITS, BL_VS_SKIP, BL_NEVER); /* it never discharged */
}

/* CCL steps 100 -> 20 A at 10 s; the inverter keeps 88 A for 5 s (< 6 s), then holds 20 A:
 * the step was followed in time. */
static void test_ccl_step_followed_within_the_allowed_time_passes(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    drive.i_mA = 88000;
    run(0, 9);
    bl_record_set(&bms, BL_F_CCL, 20000, 1, 0);
    run(10, 14);
    drive.i_mA = 20000;
    run(15, 40);
    finish(40);
    assert_check(BL_VC_CHARGE_LIMITS, BL_VS_PASS, S(10));
    assert_non_null(strstr(out[BL_VC_CHARGE_LIMITS].observed, "1 limit step followed"));
}

/* 2 s more (7 s at 88 A) is over the 6 s: the same step fails. */
static void test_ccl_step_followed_too_late_fails(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    drive.i_mA = 88000;
    run(0, 9);
    bl_record_set(&bms, BL_F_CCL, 20000, 1, 0);
    run(10, 16);
    drive.i_mA = 20000;
    run(17, 40);
    finish(40);
    assert_check(BL_VC_CHARGE_LIMITS, BL_VS_FAIL, S(10));
}

/* Charge disabled by the flag with CCL still 100 A: the flag is a limit of 0 A. */
static void test_charging_with_charge_disabled_fails(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    drive.i_mA = 30000;
    run(0, 4);
    bl_record_set(&bms, BL_F_CHARGE_ENABLE, 0, 0, 0);
    run(5, 30);
    finish(30);
    assert_check(BL_VC_CHARGE_LIMITS, BL_VS_FAIL, S(5));
    assert_non_null(strstr(out[BL_VC_CHARGE_LIMITS].observed, "with charging disabled"));
}

/* A limit that never changed nor held the current back proved nothing: skipped. */
static void test_a_limit_never_exercised_is_skipped(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    drive.i_mA = 30000;
    run(0, 30);
    finish(30);
    assert_check(BL_VC_CHARGE_LIMITS, BL_VS_SKIP, BL_NEVER);
}

/* Discharging 80 A against DCL 50 A for 20 s fails discharge_limits, not charge_limits. */
static void test_discharge_over_dcl_fails_discharge_limits(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    bl_record_set(&bms, BL_F_DCL, 50000, 1, 0);
    drive.i_mA = -80000;
    run(0, 20);
    finish(20);
    assert_check(BL_VC_DISCHARGE_LIMITS, BL_VS_FAIL, 0);
    assert_check(BL_VC_CHARGE_LIMITS, BL_VS_SKIP, BL_NEVER);
}

/* SOC shown 62 % while the battery has 60 %: 2 % off, over the 1.5 % tolerance. Judging
 * starts one latency (4 s) after the inverter runs, so the first failure is at 4 s. */
static void test_soc_shown_two_percent_off_fails(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    bl_record_set(&inv.view, BL_F_SOC, 62000, 2, 0);
    run(0, 20);
    finish(20);
    assert_check(BL_VC_SOC, BL_VS_FAIL, S(4));
    assert_non_null(strstr(out[BL_VC_SOC].observed, "the battery has 60.0 %, the inverter shows 62.0 %"));
}

/* 1.5 % off is within 1.5 %. */
static void test_soc_within_tolerance_passes(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    bl_record_set(&inv.view, BL_F_SOC, 61500, 2, 0);
    run(0, 20);
    finish(20);
    assert_check(BL_VC_SOC, BL_VS_PASS, S(4));
}

/* The battery's SOC moves to 62 % at 10 s; the inverter shows it 3 s later: within the 4 s
 * latency. 5 s later is not: at 14 s every value of the last 4 s is 62 %. */
static void test_soc_shown_late_within_latency_passes_beyond_fails(void **state)
{
    (void)state;
    for (unsigned late = 3; late <= 5; late += 2) {
        judge_setup("pylon-lv");
        run(0, 9);
        bl_record_set(&bms, BL_F_SOC, 62000, 2, 0);
        run(10, 9 + late);
        bl_record_set(&inv.view, BL_F_SOC, 62000, 2, 0);
        run(10 + late, 30);
        finish(30);
        if (late == 3)
            assert_check(BL_VC_SOC, BL_VS_PASS, S(4));
        else
            assert_check(BL_VC_SOC, BL_VS_FAIL, S(14)); /* 10 s + 4 s latency: still the old value */
    }
}

/* The battery charges at +50 A, the inverter shows -50 A: the current check names the sign. */
static void test_current_with_inverted_sign_fails_and_says_so(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    bl_record_set(&bms, BL_F_CURRENT, 50000, 1, 0);
    inv.view = bms;
    bl_record_set(&inv.view, BL_F_CURRENT, -50000, 1, 0);
    run(0, 20);
    finish(20);
    assert_check(BL_VC_CURRENT, BL_VS_FAIL, S(4));
    assert_non_null(strstr(out[BL_VC_CURRENT].observed, "sign inverted"));
    assert_non_null(strstr(out[BL_VC_CURRENT].observed, "the battery charges at 50.0 A, the inverter shows -50.0 A"));
}

/* Without the BMS's own values (a live battery) the sign is judged by the SOC: SOC rising
 * 1.5 % while the current shown says discharging at 100 A for 108 s (6 Ah = 3 % of 200 Ah). */
static void test_live_current_sign_judged_against_the_soc(void **state)
{
    bl_val_sample_t s;
    (void)state;
    judge_setup("pylon-lv");
    bl_record_set(&inv.view, BL_F_CURRENT, -100000, 1, 0);
    for (uint64_t t = 0; t <= 108; t++) {
        bl_record_set(&inv.view, BL_F_SOC, (int32_t)(60000 + t * 1500 / 108), 2, 0);
        inv.rx = inv.view;
        memset(&s, 0, sizeof s);
        s.t_ms = S(t);
        s.inv = &inv;
        s.out = &drive;
        bl_val_sample(&val, &s);
    }
    finish(108);
    assert_check(BL_VC_CURRENT, BL_VS_FAIL, 0);
    assert_non_null(strstr(out[BL_VC_CURRENT].observed, "sign inverted: the SOC shown moved 1.5 %"));
}

/* Silent from 100 s; standby 10 s later (its timeout): within 10 + 5 s. */
static void test_comm_loss_safe_within_the_timeout_passes(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    drive.i_mA = -40000;
    run(0, 99);
    silent = 1;
    run(100, 109);
    inv.state = BL_INV_STANDBY;
    drive.i_mA = 0;
    run(110, 200);
    silent = 0;
    inv.state = BL_INV_RUN;
    run(201, 230);
    finish(230);
    assert_check(BL_VC_COMM_LOSS, BL_VS_PASS, S(110));
    assert_non_null(strstr(out[BL_VC_COMM_LOSS].observed, "safe after 10 s"));
}

/* Still discharging 40 A at 116 s, 16 s after the silence began: fails at the silence. */
static void test_comm_loss_still_driving_past_the_timeout_fails(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    drive.i_mA = -40000;
    run(0, 99);
    silent = 1;
    run(100, 200);
    finish(200);
    assert_check(BL_VC_COMM_LOSS, BL_VS_FAIL, S(100));
}

/* A silence shorter than the timeout proves nothing either way. */
static void test_comm_loss_shorter_than_the_timeout_is_skipped(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    drive.i_mA = -40000;
    run(0, 99);
    silent = 1;
    run(100, 105);
    silent = 0;
    run(106, 130);
    finish(130);
    assert_check(BL_VC_COMM_LOSS, BL_VS_SKIP, BL_NEVER);
}

/* The BMS opens the charge path at 50 s; the inverter stops 3 s later: in time (5 s + 1 s). */
static void test_protection_stopped_in_time_passes(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    drive.i_mA = 60000;
    run(0, 49);
    blocked = BL_BSIM_BLOCK_CHARGE;
    run(50, 52);
    drive.i_mA = 0;
    run(53, 80);
    finish(80);
    assert_check(BL_VC_PROTECTION, BL_VS_PASS, S(50));
    assert_non_null(strstr(out[BL_VC_PROTECTION].observed, "stopped within 3 s"));
}

/* ... and one that keeps charging fails at the moment the path opened. */
static void test_protection_ignored_fails(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    drive.i_mA = 60000;
    run(0, 49);
    blocked = BL_BSIM_BLOCK_CHARGE;
    run(50, 80);
    finish(80);
    assert_check(BL_VC_PROTECTION, BL_VS_FAIL, S(50));
}

/* A charge over-temperature protection raised at 20 s reaches the inverter at 21 s. */
static void test_alarm_that_reaches_the_inverter_passes(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    run(0, 19);
    bms.active[BL_AC_PROTECTION] = 1u << BL_A_CHG_OT;
    at(20);
    inv.rx.active[BL_AC_PROTECTION] = 1u << BL_A_CHG_OT;
    run(21, 40);
    finish(40);
    assert_check(BL_VC_ALARMS, BL_VS_PASS, S(21));
}

/* The same alarm never shown: Pylon LV carries it (0x359 bit 3), so it is missed. */
static void test_alarm_the_mapping_carries_but_never_arrives_fails(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    run(0, 19);
    bms.active[BL_AC_PROTECTION] = 1u << BL_A_CHG_OT;
    run(20, 40);
    finish(40);
    assert_check(BL_VC_ALARMS, BL_VS_FAIL, S(20));
}

/* BYD HVS decodes no alarm bit (can-byd-hvs.md): an alarm it cannot carry is flagged lost,
 * not failed. */
static void test_alarm_lost_by_the_mapping_is_flagged_not_failed(void **state)
{
    (void)state;
    judge_setup("byd-hvs");
    run(0, 19);
    bms.active[BL_AC_ALARM] = 1u << BL_A_INTERNAL;
    run(20, 40);
    finish(40);
    assert_check(BL_VC_ALARMS, BL_VS_PASS, S(0));
    assert_non_null(strstr(out[BL_VC_ALARMS].observed, "lost by the mapping (internal_fault)"));
}

/* Never running: detect fails at its deadline (the 10 s timeout, at least 10 s) and the
 * session is hopeless from then on; the other measurements are skipped. */
static void test_never_running_fails_detect_at_the_deadline(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    inv.detected = 0;
    inv.state = BL_INV_WAIT;
    run(0, 10);
    assert_false(bl_val_hopeless(&val));
    at(11);
    assert_true(bl_val_hopeless(&val));
    finish(11);
    assert_check(BL_VC_DETECT, BL_VS_FAIL, S(10));
    assert_check(BL_VC_SOC, BL_VS_SKIP, BL_NEVER);
    assert_check(BL_VC_CHARGE_LIMITS, BL_VS_SKIP, BL_NEVER);
}

/* A required setting that differs fails settings, with the value seen and its effect. */
static void test_a_wrong_setting_fails_settings(void **state)
{
    (void)state;
    judge_setup("pylon-lv");
    prof.nsettings = 1;
    prof.settings[0].name = "battery_type";
    prof.settings[0].required = "Pylon CAN";
    prof.settings[0].on_wrong = BL_INV_WRONG_NOT_DETECTED;
    run(0, 4);
    inv.setting_value[0] = "Lead-acid";
    run(5, 10);
    finish(10);
    assert_check(BL_VC_SETTINGS, BL_VS_FAIL, S(5));
    assert_string_equal(out[BL_VC_SETTINGS].observed, "battery_type was Lead-acid (battery not detected)");
}

/* Versions compare by number: BYD HVS sends 1.0 as the bytes 01 00, read "01.00". */
static void test_firmware_versions_compare_by_number(void **state)
{
    static const struct {
        const char *seen;
        unsigned status;
    } cases[] = { { "01.00", BL_VS_PASS }, { "1.0.0", BL_VS_PASS }, { "1.1", BL_VS_FAIL }, { "10.0", BL_VS_FAIL } };
    (void)state;
    for (unsigned i = 0; i < BL_ARRAY_LEN(cases); i++) {
        judge_setup("byd-hvs");
        bl_record_set_str(&bms, BL_F_FIRMWARE, "1.0", 3, 0);
        bl_record_set_str(&inv.rx, BL_F_FIRMWARE, cases[i].seen, strlen(cases[i].seen), 0);
        run(0, 5);
        finish(5);
        if (out[BL_VC_FIRMWARE].status != cases[i].status)
            fail_msg("%s: %s", cases[i].seen, out[BL_VC_FIRMWARE].observed);
    }
}

/* ---- part 2: the closed loop ------------------------------------------------------------------- */

static bl_profile_file_t pf;
static bl_scenario_t scn;
static bl_val_sim_t vs;

static void load_profile(const char *dir, const char *name)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/%s/%s.yaml", BL_SOURCE_DIR, dir, name);
    if (bl_profile_load(&pf, path, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static bl_scn_event_t *add_event(unsigned kind, uint64_t at_ms, uint64_t for_ms)
{
    bl_scn_event_t *e = &scn.ev[scn.nev++];
    memset(e, 0, sizeof *e);
    e->kind = (uint8_t)kind;
    e->at_ms = at_ms;
    e->for_ms = for_ms;
    return e;
}

static void validate(const char *battery)
{
    bl_val_sim_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.battery = bl_protocol_find(battery);
    cfg.profile = &pf.p;
    cfg.scn = &scn;
    cfg.firmware = -1;
    assert_non_null(cfg.battery);
    assert_int_equal(bl_val_sim_run(&vs, &cfg, out), 0);
}

/* Only the checks in fail_mask fail; nothing else does. */
static void assert_fails_exactly(uint32_t fail_mask)
{
    for (unsigned i = 0; i < BL_VC_COUNT; i++) {
        bool want = (fail_mask >> i & 1u) != 0, got = out[i].status == BL_VS_FAIL;
        if (want != got)
            fail_msg("%s is %s: %s", bl_val_check_str(i), bl_val_status_str(out[i].status), out[i].observed);
    }
}

#define F(c) (1u << (c))

static void test_obedient_pairs_pass_every_check(void **state)
{
    static const struct {
        const char *profile, *battery;
    } pairs[] = { { "generic-pylon-lv", "pylon-lv" }, { "sma-sunny-island", "sma-si" }, { "solis-hv", "byd-hvs" },
                  { "victron-gx", "victron" },        { "voltronic-axpert", "pylon-rs485" } };
    (void)state;
    for (unsigned i = 0; i < BL_ARRAY_LEN(pairs); i++) {
        load_profile("share/profiles", pairs[i].profile);
        bl_val_scenario(&scn);
        validate(pairs[i].battery);
        assert_fails_exactly(0);
        /* the session exercised what it is built to exercise */
        for (unsigned c = 0; c < BL_VC_COUNT; c++)
            if (out[c].status == BL_VS_SKIP && c != BL_VC_FIRMWARE && c != BL_VC_VOLTAGE && c != BL_VC_CURRENT &&
                c != BL_VC_TEMPERATURE)
                fail_msg("%s x %s: %s skipped: %s", pairs[i].profile, pairs[i].battery, bl_val_check_str(c),
                         out[c].observed);
        assert_false(vs.stopped_early);
    }
}

/* The battery's frames at another bitrate for the whole session: never detected. */
static void test_detect_fails_on_a_wrong_bitrate(void **state)
{
    (void)state;
    load_profile("share/profiles", "generic-pylon-lv");
    bl_val_scenario(&scn);
    add_event(BL_SE_WRONG_BITRATE, 0, 0)->a = 250000;
    validate("pylon-lv");
    assert_check(BL_VC_DETECT, BL_VS_FAIL, S(10));
    assert_true(vs.stopped_early);
}

/* Deye HV on Pylon HV wants the manufacturer "Deye" (can-pylon-hv.md §8): refused. */
static void test_detect_fails_when_the_identity_is_refused(void **state)
{
    (void)state;
    load_profile("share/profiles", "deye-hv-pylon");
    bl_val_scenario(&scn);
    validate("pylon-hv");
    assert_check(BL_VC_DETECT, BL_VS_FAIL, S(60));
    assert_non_null(strstr(out[BL_VC_DETECT].observed, "BMS-name"));
    /* and with the name it wants, it runs (once the name frames came: within a second) */
    memcpy(scn.battery.manufacturer, "Deye", 5);
    validate("pylon-hv");
    assert_int_equal(out[BL_VC_DETECT].status, BL_VS_PASS);
    assert_true(out[BL_VC_DETECT].at_ms <= S(1));
}

/* The SOC frozen on the wire from the start: the inverter shows a stale SOC. */
static void test_soc_fails_when_the_battery_freezes_it(void **state)
{
    (void)state;
    load_profile("share/profiles", "generic-pylon-lv");
    bl_val_scenario(&scn);
    add_event(BL_SE_FROZEN_FIELD, 0, 0)->field = BL_F_SOC;
    validate("pylon-lv");
    assert_fails_exactly(F(BL_VC_SOC));
}

/* The voltage sent 10 % high (a unit bug in the battery's firmware). */
static void test_voltage_fails_on_a_scaling_error(void **state)
{
    bl_scn_event_t *e;
    (void)state;
    load_profile("share/profiles", "generic-pylon-lv");
    bl_val_scenario(&scn);
    e = add_event(BL_SE_SCALING, 0, 0);
    e->field = BL_F_VOLTAGE;
    e->a = 1100;
    e->b = 1000;
    validate("pylon-lv");
    assert_check(BL_VC_VOLTAGE, BL_VS_FAIL, S(4));
    assert_int_equal(out[BL_VC_SOC].status, BL_VS_PASS);
}

/* A battery that inverts the current sign fails current, and says so. */
static void test_current_fails_when_the_battery_inverts_the_sign(void **state)
{
    (void)state;
    load_profile("share/profiles", "generic-pylon-lv");
    bl_val_scenario(&scn);
    add_event(BL_SE_WRONG_SIGN, 0, 0);
    validate("pylon-lv");
    assert_fails_exactly(F(BL_VC_CURRENT));
    assert_non_null(strstr(out[BL_VC_CURRENT].observed, "sign inverted"));
}

/* The temperature frozen at 1 min, before the pack reads 48 C (3 min): at 3 min 4 s the
 * latency window holds only 48 C, the inverter still shows 25 C. */
static void test_temperature_fails_when_the_battery_freezes_it(void **state)
{
    (void)state;
    load_profile("share/profiles", "generic-pylon-lv");
    bl_val_scenario(&scn);
    add_event(BL_SE_FROZEN_FIELD, S(60), 0)->field = BL_F_TEMP;
    validate("pylon-lv");
    assert_check(BL_VC_TEMPERATURE, BL_VS_FAIL, S(184));
}

/* An inverter that ignores CCL fails charge_limits at the first step (3 min, 48 C). */
static void test_charge_limits_fail_on_an_inverter_that_ignores_ccl(void **state)
{
    (void)state;
    load_profile("tests/data/profiles", "ignores-ccl");
    bl_val_scenario(&scn);
    validate("pylon-lv");
    assert_check(BL_VC_CHARGE_LIMITS, BL_VS_FAIL, S(180));
    assert_check(BL_VC_DISCHARGE_LIMITS, BL_VS_FAIL, S(720));
    assert_int_equal(out[BL_VC_PROTECTION].status, BL_VS_PASS); /* it still stops on alarms */
}

/* DCL ignored off-grid, the grid lost while it discharges: discharge_limits fails at the
 * DCL step (12 min, 54 C); charging was on-grid and obeyed. */
static void test_discharge_limits_fail_off_grid_on_an_inverter_that_ignores_dcl_there(void **state)
{
    (void)state;
    load_profile("tests/data/profiles", "dcl-offgrid");
    bl_val_scenario(&scn);
    add_event(BL_SE_GRID, S(600), 0);
    validate("pylon-lv");
    assert_fails_exactly(F(BL_VC_DISCHARGE_LIMITS));
    assert_check(BL_VC_DISCHARGE_LIMITS, BL_VS_FAIL, S(720));
}

/* The battery never sets its temperature alarm bits (its firmware forces them to 0): the
 * protections the mapping carries never reach the inverter. */
static void test_alarms_fail_when_the_battery_never_sets_the_bits(void **state)
{
    static const char *const bits[] = { "ProtectionOverTemperature", "AlarmOverTemperature",
                                         "ProtectionUnderTemperature", "AlarmUnderTemperature" };
    (void)state;
    load_profile("share/profiles", "generic-pylon-lv");
    bl_val_scenario(&scn);
    for (unsigned i = 0; i < BL_ARRAY_LEN(bits); i++) {
        bl_scn_event_t *e = add_event(BL_SE_SIGNAL, 0, 0);
        memcpy(e->name, bits[i], strlen(bits[i]) + 1);
        e->a = 0;
    }
    validate("pylon-lv");
    assert_check(BL_VC_ALARMS, BL_VS_FAIL, S(365)); /* 56 C at 6 min, tripped after 5 s */
}

/* An inverter that ignores limits, enable flags and alarms drives into an open path. */
static void test_protection_fails_on_an_inverter_that_ignores_it(void **state)
{
    (void)state;
    load_profile("tests/data/profiles", "reckless");
    bl_val_scenario(&scn);
    validate("pylon-lv");
    assert_check(BL_VC_PROTECTION, BL_VS_FAIL, S(365));
}

/* Silence on a profile without a safe state: comm_loss fails at the silence (21 min). The
 * reference profile's unsafe-legacy firmware keeps its last values: the same. */
static void test_comm_loss_fails_without_a_safe_state(void **state)
{
    bl_val_sim_cfg_t cfg;
    (void)state;
    load_profile("tests/data/profiles", "no-safe-state");
    bl_val_scenario(&scn);
    validate("pylon-lv");
    assert_fails_exactly(F(BL_VC_COMM_LOSS));
    assert_check(BL_VC_COMM_LOSS, BL_VS_FAIL, S(1260));

    load_profile("share/profiles", "generic-pylon-lv");
    memset(&cfg, 0, sizeof cfg);
    cfg.battery = bl_protocol_find("pylon-lv");
    cfg.profile = &pf.p;
    cfg.scn = &scn;
    cfg.firmware = 1; /* unsafe-legacy */
    assert_int_equal(bl_val_sim_run(&vs, &cfg, out), 0);
    assert_fails_exactly(F(BL_VC_COMM_LOSS));
    assert_non_null(strstr(out[BL_VC_COMM_LOSS].observed, "keeps_last_values_on_silence"));
}

/* BYD HVS carries the firmware as two bytes; forced to 2.09 the battery reports a version it
 * does not run. */
static void test_firmware_fails_when_the_battery_reports_another_version(void **state)
{
    bl_scn_event_t *e;
    (void)state;
    load_profile("share/profiles", "solis-hv");
    bl_val_scenario(&scn);
    validate("byd-hvs");
    assert_int_equal(out[BL_VC_FIRMWARE].status, BL_VS_PASS);
    e = add_event(BL_SE_SIGNAL, 0, 0);
    memcpy(e->name, "FirmwareVersion", 16);
    e->a = 0x0902; /* little endian: the bytes 02 09 */
    validate("byd-hvs");
    assert_fails_exactly(F(BL_VC_FIRMWARE));
}

/* A required setting left wrong: settings fails (and the battery is not detected). */
static void test_settings_fail_on_a_wrong_setting(void **state)
{
    (void)state;
    load_profile("share/profiles", "generic-pylon-lv");
    bl_val_scenario(&scn);
    memcpy(scn.setting_name[0], "battery_type", 13);
    memcpy(scn.setting_value[0], "Lead-acid", 10);
    scn.nsettings = 1;
    validate("pylon-lv");
    assert_check(BL_VC_SETTINGS, BL_VS_FAIL, 0);
    assert_check(BL_VC_DETECT, BL_VS_FAIL, S(10));
}

/* The same session twice gives the same verdicts, byte for byte. */
static void test_validation_is_deterministic(void **state)
{
    static bl_val_check_t first[BL_VC_COUNT];
    (void)state;
    load_profile("share/profiles", "victron-gx");
    bl_val_scenario(&scn);
    validate("pylon-lv");
    memcpy(first, out, sizeof first);
    validate("pylon-lv");
    assert_memory_equal(first, out, sizeof first);
}

/* share/scenarios/validation.yaml is the built-in session, field for field. */
static void test_the_shipped_validation_file_is_the_built_in_session(void **state)
{
    static bl_scenario_t file;
    char path[512], err[512];
    (void)state;
    bl_val_scenario(&scn);
    snprintf(path, sizeof path, "%s/share/scenarios/validation.yaml", BL_SOURCE_DIR);
    if (bl_scenario_load(&file, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    for (unsigned i = 0; i < file.nev; i++)
        file.ev[i].line = 0; /* where the file defines it */
    assert_string_equal(file.name, scn.name);
    assert_int_equal(file.start_ms, scn.start_ms);
    assert_int_equal(file.duration_ms, scn.duration_ms);
    assert_int_equal(file.start_soc_mpct, scn.start_soc_mpct);
    assert_int_equal(file.daily, scn.daily);
    assert_int_equal(file.grid, scn.grid);
    assert_memory_equal(&file.pv, &scn.pv, sizeof scn.pv);
    assert_memory_equal(&file.load, &scn.load, sizeof scn.load);
    assert_memory_equal(&file.ambient, &scn.ambient, sizeof scn.ambient);
    assert_memory_equal(&file.battery, &scn.battery, sizeof scn.battery);
    assert_int_equal(file.nev, scn.nev);
    assert_memory_equal(file.ev, scn.ev, sizeof scn.ev[0] * scn.nev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_charge_current_over_ccl_longer_than_allowed_fails_at_its_start),
        cmocka_unit_test(test_ccl_step_followed_within_the_allowed_time_passes),
        cmocka_unit_test(test_ccl_step_followed_too_late_fails),
        cmocka_unit_test(test_charging_with_charge_disabled_fails),
        cmocka_unit_test(test_a_limit_never_exercised_is_skipped),
        cmocka_unit_test(test_discharge_over_dcl_fails_discharge_limits),
        cmocka_unit_test(test_soc_shown_two_percent_off_fails),
        cmocka_unit_test(test_soc_within_tolerance_passes),
        cmocka_unit_test(test_soc_shown_late_within_latency_passes_beyond_fails),
        cmocka_unit_test(test_current_with_inverted_sign_fails_and_says_so),
        cmocka_unit_test(test_live_current_sign_judged_against_the_soc),
        cmocka_unit_test(test_comm_loss_safe_within_the_timeout_passes),
        cmocka_unit_test(test_comm_loss_still_driving_past_the_timeout_fails),
        cmocka_unit_test(test_comm_loss_shorter_than_the_timeout_is_skipped),
        cmocka_unit_test(test_protection_stopped_in_time_passes),
        cmocka_unit_test(test_protection_ignored_fails),
        cmocka_unit_test(test_alarm_that_reaches_the_inverter_passes),
        cmocka_unit_test(test_alarm_the_mapping_carries_but_never_arrives_fails),
        cmocka_unit_test(test_alarm_lost_by_the_mapping_is_flagged_not_failed),
        cmocka_unit_test(test_never_running_fails_detect_at_the_deadline),
        cmocka_unit_test(test_a_wrong_setting_fails_settings),
        cmocka_unit_test(test_firmware_versions_compare_by_number),
        cmocka_unit_test(test_obedient_pairs_pass_every_check),
        cmocka_unit_test(test_detect_fails_on_a_wrong_bitrate),
        cmocka_unit_test(test_detect_fails_when_the_identity_is_refused),
        cmocka_unit_test(test_soc_fails_when_the_battery_freezes_it),
        cmocka_unit_test(test_voltage_fails_on_a_scaling_error),
        cmocka_unit_test(test_current_fails_when_the_battery_inverts_the_sign),
        cmocka_unit_test(test_temperature_fails_when_the_battery_freezes_it),
        cmocka_unit_test(test_charge_limits_fail_on_an_inverter_that_ignores_ccl),
        cmocka_unit_test(test_discharge_limits_fail_off_grid_on_an_inverter_that_ignores_dcl_there),
        cmocka_unit_test(test_alarms_fail_when_the_battery_never_sets_the_bits),
        cmocka_unit_test(test_protection_fails_on_an_inverter_that_ignores_it),
        cmocka_unit_test(test_comm_loss_fails_without_a_safe_state),
        cmocka_unit_test(test_firmware_fails_when_the_battery_reports_another_version),
        cmocka_unit_test(test_settings_fail_on_a_wrong_setting),
        cmocka_unit_test(test_validation_is_deterministic),
        cmocka_unit_test(test_the_shipped_validation_file_is_the_built_in_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
