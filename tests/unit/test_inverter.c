/*
 * Inverter models (include/bmslink/inverter.h): each behaviour of bl_quirk_t
 * reproduced against frames of the real pylon-lv encoder, named after the
 * fact-sheet rule it implements; and the obedient baseline it departs from.
 *
 * The battery here says what the test wants: a pack at 52.0 V with limits set
 * per test. The inverter's power stage: 5000 W; 5000 W of PV surplus at
 * 52.0 V is 5000 / 52.0 = 96.15 A. Charge currents are rounded down to the mA,
 * discharge currents that cover a load up (so the load is covered).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/inverter.h"

#include "inverter_rig.h"

/* ---- the obedient baseline ------------------------------------------------------------ */

/* An obedient inverter charges at min(PV surplus, CCL): 96 A of surplus, CCL 50 A -> 50 A */
static void test_obedient_charges_within_ccl(void **state)
{
    (void)state;
    start();
    assert_int_equal(run(5, 5000, 0, true, NULL), 50000);
    assert_int_equal(v.state, BL_INV_RUN);
}

/* ... discharges at min(load, DCL): 3000 W at 52 V = 57.69 A, DCL 50 A -> -50 A */
static void test_obedient_discharges_within_dcl(void **state)
{
    (void)state;
    start();
    assert_int_equal(run(5, 0, 3000, true, NULL), -50000);
}

/* ... stops when the flags say so (can-pylon-lv.md §8.3: send both flags and zero limits) */
static void test_obedient_honours_enable_flags(void **state)
{
    (void)state;
    set(BL_F_CHARGE_ENABLE, 0);
    start();
    assert_int_equal(run(5, 5000, 0, true, NULL), 0);
}

/* ... stops discharging at its own SOC floor (10 %), resumes 5 % above it */
static void test_obedient_stops_at_its_soc_floor(void **state)
{
    (void)state;
    set(BL_F_SOC, 10000);
    start();
    assert_int_equal(run(3, 0, 1000, true, NULL), 0);
    set(BL_F_SOC, 14000);
    assert_int_equal(run(3, 0, 1000, true, NULL), 0);
    set(BL_F_SOC, 15000);
    assert_true(run(3, 0, 1000, true, NULL) < 0);
}

/* ... waits for 0x351 and 0x355 before it runs, and counts a rejected frame without using it */
static void test_waits_for_detection_and_counts_rejects(void **state)
{
    bl_inv_out_t o;
    bl_inv_env_t env = { .pv_W = 5000, .grid = true, .v_mV = V_PACK };
    bl_can_frame_t bad = { .id = 0x351, .len = 9 };
    (void)state;
    start();
    bl_inv_step(&v, &env, 1000, &o);
    assert_int_equal(v.state, BL_INV_WAIT);
    assert_int_equal(o.i_mA, 0);
    bl_inv_rx(&v, &bad, 1000);
    assert_int_equal(v.rx_rejected[BL_REJ_LENGTH], 1);
    assert_int_equal(v.state, BL_INV_WAIT);
}

/* ---- timeouts ------------------------------------------------------------------------- */

/* SMA SI rule (can-sma-si.md §6): 60 s without 0x355 -> F952 standby, defaults SOC 0 %;
 * back to running after the restart delay once 0x355 returns */
static void test_timeout_standby_with_defaults_and_restart(void **state)
{
    bl_inv_timeout_t *t = &p.timeouts[p.ntimeouts++];
    (void)state;
    t->msg_id = 0x355;
    t->after_ms = 60000;
    t->action = BL_INV_ACT_STANDBY;
    strcpy(t->code, "F952");
    t->def[0].field = BL_F_SOC;
    t->def[0].value = 0;
    t->ndef = 1;
    start();
    /* 1000 W / 52.0 V = 19.2308 A, rounded up to the mA so the battery covers the whole load */
    assert_int_equal(run(2, 0, 1000, true, NULL), -19231);
    /* the battery stops sending 0x355: drop it from the codec's send set */
    for (unsigned j = 0; j < bc.n; j++)
        if (bc.msg[j]->id == 0x355)
            bc.sends[j] = 0;
    run(59, 0, 1000, true, NULL);
    assert_int_equal(v.state, BL_INV_RUN);
    assert_int_equal(run(1, 0, 1000, true, NULL), 0);
    assert_int_equal(v.state, BL_INV_STANDBY);
    assert_string_equal(v.code, "F952");
    assert_true(v.view.f[BL_F_SOC].valid);
    assert_int_equal(v.view.f[BL_F_SOC].value, 0);
    for (unsigned j = 0; j < bc.n; j++)
        if (bc.msg[j]->id == 0x355)
            bc.sends[j] = 1;
    /* 0x355 is back at the first of these seconds; running again 10 s (restart_ms) later */
    run(10, 0, 1000, true, NULL);
    assert_int_equal(v.state, BL_INV_STANDBY);
    run(1, 0, 1000, true, NULL);
    assert_int_equal(v.state, BL_INV_RUN);
}

/* Growatt SPF (can-growatt.md §A.1): "when the communication fails, the inverter cuts off output" */
static void test_timeout_cut_output_drops_the_load(void **state)
{
    bl_inv_timeout_t *t = &p.timeouts[p.ntimeouts++];
    bl_inv_out_t o;
    (void)state;
    t->msg_id = 0;
    t->after_ms = 10000;
    t->action = BL_INV_ACT_CUT_OUTPUT;
    start();
    run(2, 0, 800, true, NULL);
    for (unsigned j = 0; j < bc.n; j++)
        bc.sends[j] = 0;
    run(10, 0, 800, true, &o);
    assert_int_equal(v.state, BL_INV_OFF);
    assert_int_equal(o.unserved_W, 800);
}

/* ---- quirks ---------------------------------------------------------------------------- */

/* Deye + BYD HVS (can-byd-hvs.md §6, WIKI): ignores CCL/DCL; stops only at SOC 0/100 % */
static void test_deye_ignores_current_limits(void **state)
{
    (void)state;
    add_quirk(BL_QK_IGNORES_CURRENT_LIMITS, 0, 0, NULL, NULL);
    set(BL_F_CCL, 20000);
    start();
    assert_int_equal(run(5, 5000, 0, true, NULL), 5000LL * 1000000 / V_PACK);
    assert_int_equal(v.quirk_acted[BL_QK_IGNORES_CURRENT_LIMITS], 1);
    set(BL_F_SOC, 100000);
    assert_int_equal(run(2, 5000, 0, true, NULL), 0);
    /* ... and discharges down to 0 %, past an obedient inverter's 10 % floor */
    set(BL_F_SOC, 5000);
    assert_true(run(3, 0, 1000, true, NULL) < 0);
}

/* Sofar LV (can-pylon-lv.md §8.1, DIY): ignores 0 V / 0 A in 0x351 */
static void test_sofar_ignores_zero_limits(void **state)
{
    (void)state;
    add_quirk(BL_QK_IGNORES_ZERO_LIMITS, 0, 0, NULL, NULL);
    set(BL_F_CCL, 0);
    start();
    assert_int_equal(run(5, 2000, 0, true, NULL), 2000LL * 1000000 / V_PACK);
    assert_true(v.quirk_acted[BL_QK_IGNORES_ZERO_LIMITS] >= 1);
    /* the 0.1 A "stop" one BMS sends instead is obeyed */
    set(BL_F_CCL, 100);
    assert_int_equal(run(2, 2000, 0, true, NULL), 100);
}

/* Victron GX (can-victron.md §5, DIYV): CVL = 0 is an over-voltage fault */
static void test_victron_cvl_zero_is_overvoltage(void **state)
{
    (void)state;
    add_quirk(BL_QK_CVL_ZERO_OVERVOLTAGE, 0, 0, NULL, "overvoltage");
    start();
    run(2, 0, 0, true, NULL);
    set(BL_F_CVL, 0);
    run(1, 5000, 0, true, NULL);
    assert_int_equal(v.state, BL_INV_FAULT);
    assert_string_equal(v.code, "overvoltage");
}

/* Victron Multi (can-victron.md §5, GX manual): off-grid, DCL = 0 shuts the inverter down */
static void test_victron_island_shutdown_at_dcl_zero(void **state)
{
    bl_inv_out_t o;
    (void)state;
    add_quirk(BL_QK_ISLAND_SHUTDOWN_DCL_ZERO, 0, 0, NULL, "dcl-zero");
    set(BL_F_DCL, 0);
    start();
    run(2, 0, 700, true, &o); /* on the grid: nothing happens */
    assert_int_equal(v.state, BL_INV_RUN);
    run(1, 0, 700, false, &o);
    assert_int_equal(v.state, BL_INV_OFF);
    assert_int_equal(o.unserved_W, 700);
}

/* SMA SI (can-sma-si.md §7): CVL below the voltage -> discharges down to it ignoring DCL */
static void test_sunny_island_discharges_to_cvl_ignoring_dcl(void **state)
{
    (void)state;
    add_quirk(BL_QK_DISCHARGE_TO_CVL, 0, 0, NULL, NULL);
    set(BL_F_CVL, 51000);
    set(BL_F_DCL, 10000);
    start();
    /* no load at all, yet it discharges at its 5000 W maximum: 96.15 A, past DCL 10 A */
    assert_int_equal(run(3, 0, 0, true, NULL), -(5000LL * 1000000 / V_PACK));
    assert_int_equal(v.quirk_acted[BL_QK_DISCHARGE_TO_CVL], 1);
}

/* SMA SI (can-sma-si.md §7): DCL is not honoured off-grid */
static void test_sunny_island_ignores_dcl_off_grid(void **state)
{
    (void)state;
    add_quirk(BL_QK_IGNORES_DCL_OFFGRID, 0, 0, NULL, NULL);
    set(BL_F_DCL, 10000);
    start();
    assert_int_equal(run(3, 0, 3000, true, NULL), -10000);
    assert_int_equal(run(3, 0, 3000, false, NULL), -57693); /* 3000 W / 52.0 V = 57.6923 A, rounded up */
}

/* SMA SI (can-sma-si.md §7): a CVL reduction takes effect about 10 s later */
static void test_sunny_island_cvl_reduction_delay(void **state)
{
    (void)state;
    add_quirk(BL_QK_CVL_REDUCTION_DELAY, 10000, 0, NULL, NULL);
    start();
    run(3, 5000, 0, true, NULL);
    assert_int_equal(v.cvl_eff_mV, 55200);
    set(BL_F_CVL, 53000); /* first heard at the next second; followed 10 s after that */
    run(10, 5000, 0, true, NULL);
    assert_int_equal(v.cvl_eff_mV, 55200);
    run(1, 5000, 0, true, NULL);
    assert_int_equal(v.cvl_eff_mV, 53000);
    set(BL_F_CVL, 55200); /* an increase applies at once */
    run(1, 5000, 0, true, NULL);
    assert_int_equal(v.cvl_eff_mV, 55200);
}

/* SMA SI (can-sma-si.md §4): any alarm -> standby until it clears; the code is the SI's */
static void test_sunny_island_any_alarm_standby(void **state)
{
    (void)state;
    add_quirk(BL_QK_ANY_ALARM_STANDBY, 0, 0, NULL, NULL);
    strcpy(p.alarm_code[BL_A_CHG_OT], "F925");
    p.restart_ms = 5000;
    start();
    run(2, 0, 500, true, NULL);
    rec.active[BL_AC_ALARM] = 1u << BL_A_CHG_OT;
    assert_int_equal(run(1, 0, 500, true, NULL), 0);
    assert_int_equal(v.state, BL_INV_FAULT);
    assert_string_equal(v.code, "F925");
    rec.active[BL_AC_ALARM] = 0;
    rec.active[BL_AC_WARNING] = 1u << BL_A_CHG_OT; /* warnings are only logged */
    run(5, 0, 500, true, NULL); /* cleared at the first of these seconds, restart 5 s later */
    assert_int_equal(v.state, BL_INV_FAULT);
    run(1, 0, 500, true, NULL);
    assert_int_equal(v.state, BL_INV_RUN);
}

/* Victron MPPT (can-victron.md §5, venus#1358): regulates on CVL, may charge at CCL = 0 */
static void test_victron_mppt_charges_at_ccl_zero(void **state)
{
    (void)state;
    add_quirk(BL_QK_CHARGES_AT_CCL_ZERO, 0, 0, NULL, NULL);
    set(BL_F_CCL, 0);
    start();
    assert_int_equal(run(5, 1040, 0, true, NULL), 20000); /* 1040 W / 52.0 V */
}

/* Victron DVCC (can-victron.md §5, dvcc.py): a 'PYLON' with CVL <= 54 V is held at 52.4 V */
static void test_victron_caps_a_15s_pylontech(void **state)
{
    (void)state;
    add_quirk(BL_QK_CVL_CAP_BY_NAME, 54000, 52400, "PYLON", NULL);
    set(BL_F_CVL, 53200);
    start();
    run(2, 5000, 0, true, NULL);
    assert_int_equal(v.cvl_eff_mV, 52400);
    set(BL_F_CVL, 55200); /* above 54 V: taken as it is */
    run(1, 5000, 0, true, NULL);
    assert_int_equal(v.cvl_eff_mV, 55200);
}

/* Victron DVCC (can-victron.md §5, dvcc.py): a BYD with CCL = 0 floats at 55 V with 40 A */
static void test_victron_floats_a_byd_at_ccl_zero(void **state)
{
    (void)state;
    add_quirk(BL_QK_CCL_ZERO_FLOAT_BY_NAME, 55000, 40000, "BYD", NULL);
    bl_record_set_str(&rec, BL_F_MANUFACTURER, "BYD", 3, now);
    set(BL_F_CCL, 0);
    start();
    assert_int_equal(run(5, 5000, 0, true, NULL), 40000);
    assert_int_equal(v.cvl_eff_mV, 55000);
}

/* SolaX ARM 1.57 (can-others.md §A, WIKI): battery type 80 -> IE102. The mechanism reads a
 * named raw signal; pylon-lv's 0x359 ModuleCount stands in for SolaX 0x1877 BatteryType. */
static void test_rejected_battery_type_faults(void **state)
{
    (void)state;
    add_quirk(BL_QK_REJECTS_BATTERY_TYPE, 2, 0, "ModuleCount", "IE102");
    p.quirks[0].msg_id = 0x359;
    p.quirks[0].nparam = 1;
    start();
    run(2, 5000, 0, true, NULL);
    assert_int_equal(v.battery_type, 2);
    assert_int_equal(v.state, BL_INV_FAULT);
    assert_string_equal(v.code, "IE102");
    set(BL_F_MODULE_COUNT, 3);
    run(11, 5000, 0, true, NULL);
    assert_int_equal(v.state, BL_INV_RUN);
}

/* Deye on Pylon HV (can-pylon-hv.md §8, WIKI): the manufacturer must read "Deye" */
static void test_deye_requires_its_manufacturer_name(void **state)
{
    (void)state;
    add_quirk(BL_QK_REQUIRES_MANUFACTURER, 0, 0, "Deye", "BMS-name");
    start();
    assert_int_equal(run(3, 5000, 0, true, NULL), 0);
    assert_int_equal(v.state, BL_INV_WAIT);
    bl_record_set_str(&rec, BL_F_MANUFACTURER, "Deye", 4, now);
    assert_true(run(3, 5000, 0, true, NULL) > 0);
    assert_int_equal(v.state, BL_INV_RUN);
}

/* can-pylon-lv.md §8.3 (BE): inverters honour either the flags or the zero limits */
static void test_flag_blind_inverter_charges_with_charge_disabled(void **state)
{
    (void)state;
    add_quirk(BL_QK_IGNORES_ENABLE_FLAGS, 0, 0, NULL, NULL);
    set(BL_F_CHARGE_ENABLE, 0);
    start();
    assert_int_equal(run(5, 5000, 0, true, NULL), 50000);
    set(BL_F_CCL, 0); /* the zero limit stops it */
    assert_int_equal(run(2, 5000, 0, true, NULL), 0);
}

/* inverter-settings.md §3 (ANCH diyBMSv4ESP32#194): kept discharging after the BMS stopped */
static void test_keeps_discharging_on_a_silent_battery(void **state)
{
    bl_inv_timeout_t *t = &p.timeouts[p.ntimeouts++];
    (void)state;
    t->msg_id = 0;
    t->after_ms = 10000;
    t->action = BL_INV_ACT_STANDBY;
    add_quirk(BL_QK_KEEPS_LAST_VALUES, 0, 0, NULL, NULL);
    start();
    run(2, 0, 1000, true, NULL);
    for (unsigned j = 0; j < bc.n; j++)
        bc.sends[j] = 0;
    assert_true(run(60, 0, 1000, true, NULL) < 0);
    assert_int_equal(v.state, BL_INV_RUN);
    assert_int_equal(v.timeouts_seen, 1);
}

/* Deye (can-pylon-lv.md §4, yambms#268): 0x305 late, about every 2 h */
static void test_deye_sends_its_keepalive_every_two_hours(void **state)
{
    bl_can_frame_t out[8];
    uint64_t next;
    unsigned sent = 0;
    (void)state;
    add_quirk(BL_QK_KEEPALIVE_PERIOD, 7200000, 0, NULL, NULL);
    start();
    for (uint64_t t = 0; t <= 4 * 3600000u; t += 1000)
        sent += bl_inv_tx(&v, t, out, 8, &next);
    assert_int_equal(sent, 3); /* at 0 h, 2 h, 4 h */
}

/* the default: pylon-lv's 0x305 every 1 s (can-pylon-lv.md §3), all zeros */
static void test_pylon_keepalive_every_second(void **state)
{
    bl_can_frame_t out[8];
    uint64_t next;
    const uint8_t zeros[8] = { 0 };
    (void)state;
    start();
    assert_int_equal(bl_inv_tx(&v, 0, out, 8, &next), 1);
    assert_int_equal(out[0].id, 0x305);
    assert_int_equal(out[0].len, 8);
    assert_memory_equal(out[0].data, zeros, 8);
    assert_int_equal(next, 1000);
    assert_int_equal(bl_inv_tx(&v, 500, out, 8, &next), 0);
}

/* can-pylon-hv.md section 5: a PCS sends one 0x4200 a second, byte 0 cycling through the
 * requests the battery answers (0x00 ensemble, 0x02 system equipment), next to 0x8200 AA */
static void test_pylon_hv_requests_take_turns(void **state)
{
    bl_can_frame_t out[8];
    uint64_t next;
    uint8_t sel[4];
    (void)state;
    p.proto = bl_protocol_find("pylon-hv");
    assert_non_null(p.proto);
    p.ndetect = 0;
    start();
    for (unsigned s = 0; s < 4; s++) {
        unsigned n = bl_inv_tx(&v, 1000u * s, out, 8, &next), req = 0;
        for (unsigned k = 0; k < n; k++)
            if (out[k].id == 0x4200) {
                sel[s] = out[k].data[0];
                req++;
            }
        assert_int_equal(req, 1);
        assert_int_equal(next, 1000u * (s + 1));
    }
    assert_int_equal(sel[0], 0x00);
    assert_int_equal(sel[1], 0x02);
    assert_int_equal(sel[2], 0x00);
    assert_int_equal(sel[3], 0x02);
}

/* yambms#268: an inverter that never sends the keep-alive */
static void test_silent_inverter_sends_nothing(void **state)
{
    bl_can_frame_t out[8];
    uint64_t next;
    (void)state;
    add_quirk(BL_QK_NO_KEEPALIVE, 0, 0, NULL, NULL);
    start();
    assert_int_equal(bl_inv_tx(&v, 0, out, 8, &next), 0);
    assert_int_equal(next, BL_NEVER);
}

/* GoodWe ARM 17(449) (can-byd-hvs.md §1): blocks battery use; only under that firmware */
static void test_firmware_that_blocks_the_battery(void **state)
{
    static const char *fw[] = { "default", "ARM 17(449)" };
    (void)state;
    p.firmware[0] = fw[0];
    p.firmware[1] = fw[1];
    p.nfw = 2;
    add_quirk(BL_QK_BLOCKS_BATTERY, 0, 0, NULL, "ARM-17-449");
    p.quirks[0].fw_mask = 1u << 1;
    start();
    assert_true(run(3, 5000, 0, true, NULL) > 0);
    assert_int_equal(bl_inv_set_firmware(&v, 1), 0);
    assert_int_equal(run(1, 5000, 0, true, NULL), 0);
    assert_int_equal(v.state, BL_INV_FAULT);
    assert_string_equal(v.code, "ARM-17-449");
    assert_int_equal(bl_inv_set_firmware(&v, 2), BL_EINVAL);
}

/* a setting that makes the inverter blind to the battery (not_detected) keeps it waiting */
static void test_wrong_setting_keeps_it_waiting(void **state)
{
    (void)state;
    p.settings[0].name = "battery_type";
    p.settings[0].required = "Pylon";
    p.settings[0].source = "test";
    p.settings[0].on_wrong = BL_INV_WRONG_NOT_DETECTED;
    strcpy(p.settings[0].code, "no-BMS");
    p.nsettings = 1;
    start();
    assert_int_equal(bl_inv_set_setting(&v, "battery_type", "Lead-acid"), 0);
    assert_int_equal(bl_inv_set_setting(&v, "nope", "x"), BL_ENOENT);
    assert_int_equal(run(3, 5000, 0, true, NULL), 0);
    assert_int_equal(v.state, BL_INV_WAIT);
    assert_string_equal(v.code, "no-BMS");
}

/* a protocol this build lacks cannot run */
static void test_profile_without_protocol_is_refused(void **state)
{
    (void)state;
    p.proto = NULL;
    assert_int_equal(bl_inv_init(&v, &p, 0, 0), BL_ENOTSUP);
}

static void test_quirk_names_round_trip(void **state)
{
    (void)state;
    for (unsigned q = 0; q < BL_QK_COUNT; q++)
        assert_int_equal(bl_quirk_by_name(bl_quirk_str(q)), q);
    assert_int_equal(bl_quirk_by_name("flies"), BL_QK_COUNT);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_obedient_charges_within_ccl),
        T(test_obedient_discharges_within_dcl),
        T(test_obedient_honours_enable_flags),
        T(test_obedient_stops_at_its_soc_floor),
        T(test_waits_for_detection_and_counts_rejects),
        T(test_timeout_standby_with_defaults_and_restart),
        T(test_timeout_cut_output_drops_the_load),
        T(test_deye_ignores_current_limits),
        T(test_sofar_ignores_zero_limits),
        T(test_victron_cvl_zero_is_overvoltage),
        T(test_victron_island_shutdown_at_dcl_zero),
        T(test_sunny_island_discharges_to_cvl_ignoring_dcl),
        T(test_sunny_island_ignores_dcl_off_grid),
        T(test_sunny_island_cvl_reduction_delay),
        T(test_sunny_island_any_alarm_standby),
        T(test_victron_mppt_charges_at_ccl_zero),
        T(test_victron_caps_a_15s_pylontech),
        T(test_victron_floats_a_byd_at_ccl_zero),
        T(test_rejected_battery_type_faults),
        T(test_deye_requires_its_manufacturer_name),
        T(test_flag_blind_inverter_charges_with_charge_disabled),
        T(test_keeps_discharging_on_a_silent_battery),
        T(test_deye_sends_its_keepalive_every_two_hours),
        T(test_pylon_keepalive_every_second),
        T(test_pylon_hv_requests_take_turns),
        T(test_silent_inverter_sends_nothing),
        T(test_firmware_that_blocks_the_battery),
        T(test_wrong_setting_keeps_it_waiting),
        T(test_profile_without_protocol_is_refused),
        T(test_quirk_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
