/*
 * The closed loop (include/bmslink/sim.h) with the shipped profiles
 * (share/profiles) and scenarios written in the scenario file format:
 * limits respected by obedient profiles, SOC conservation through the loop,
 * every fault event doing what it says, each profile's quirks reproduced in
 * the loop (naming the fact-sheet source), and determinism.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simtest.h"

/* ---- physics through the loop ------------------------------------------------------------- */

/* Obedient profiles keep every limit the battery sent, over a day that derates hard:
 * from 06:00 to 22:00, start at 90 % (CCL tapers above 90 %), 8 kW of PV, a cold morning
 * (5 °C at dawn: the charge derating runs below 15 °C), an evening load. */
static const char hard_day[] = "name: hard day\n"
                               "start: \"06:00\"\n"
                               "start_soc_pct: 90\n"
                               "ambient_C: [[\"00:00\", 5], [\"06:00\", 5], [\"14:00\", 30], [\"24:00\", 10]]\n"
                               "pv: [[\"06:00\", 0], [\"12:00\", 8000], [\"18:00\", 0]]\n"
                               "load: [[\"00:00\", 400], [\"19:00\", 3000], [\"23:00\", 400]]\n";

static void test_obedient_profiles_respect_the_limits(void **state)
{
    static const char *const obedient[] = { "generic-pylon-lv", "luxpower-eg4-lv", "sol-ark-lv", "deye-sunsynk-lv" };
    (void)state;
    for (unsigned i = 0; i < BL_ARRAY_LEN(obedient); i++) {
        profile(obedient[i]);
        scenario(hard_day);
        simulate("pylon-lv", -1, H(22));
        assert_int_equal(sim.inv.state, BL_INV_RUN);
        assert_true(sim.charged_mJ > 0 && sim.discharged_mJ > 0);
        assert_limits_respected();
        assert_int_equal(sim.unsafe_ms[BL_VIOL_CCL], 0);
        assert_int_equal(sim.unsafe_ms[BL_VIOL_DCL], 0);
        /* and so the BMS never had to protect itself */
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            assert_int_equal(sim.bat.trips[a], 0);
    }
}

/* SOC conservation through the loop: the charge the cells gained is the integral of the
 * current the timeline reports, to the microcoulomb (balancing bleed accounted per cell) */
static void test_charge_is_conserved_through_the_loop(void **state)
{
    int64_t q0[BL_BSIM_MAX_CELLS];
    bl_bsim_t start;
    (void)state;
    profile("generic-pylon-lv");
    scenario(hard_day);
    assert_int_equal(bl_bsim_init(&start, &scn.battery, scn.start_soc_mpct, 5000, 0), 0);
    memcpy(q0, start.q_uC, sizeof q0);
    simulate("pylon-lv", -1, H(22));
    assert_true(flowed_uC == sim.bat.in_uC);
    for (unsigned k = 0; k < sim.bat.groups; k++)
        assert_true(sim.bat.q_uC[k] == q0[k] + flowed_uC - sim.bat.bleed_uC[k]);
}

/* The same scenario gives the same day, event for event and sample for sample */
static void test_the_same_scenario_gives_the_same_run(void **state)
{
    uint64_t h1;
    unsigned n1;
    (void)state;
    profile("deye-sunsynk-lv");
    scenario(hard_day);
    simulate("pylon-lv", -1, H(22));
    h1 = fnv;
    n1 = nev;
    simulate("pylon-lv", -1, H(22));
    assert_true(h1 == fnv);
    assert_int_equal(n1, nev);
}

/* ---- fault events ---------------------------------------------------------------------------- */

/* comm loss for 2 min: the reference inverter stands by 10 s after the last frame
 * (10 x the 1 s period, can-pylon-lv.md §4) and runs again 10 s after the frames return */
static void test_comm_loss_stops_the_inverter_until_the_frames_return(void **state)
{
    const bl_sim_event_t *e;
    (void)state;
    profile("generic-pylon-lv");
    scenario("events:\n  - {at: 2h, for: 2m, event: comm_loss}\n");
    simulate("pylon-lv", -1, H(3));
    assert_int_equal(count(BL_EV_SCENARIO, BL_SE_COMM_LOSS), 1);
    assert_int_equal(sim.frames[BL_SIDE_BATTERY][BL_FATE_DROPPED], 120 * 6);
    e = first(BL_EV_INV_TIMEOUT, 0);
    assert_non_null(e);
    assert_int_equal(e->t_ms, H(2) + 10000 - 1000); /* last frame at 1:59:59 */
    assert_int_equal(count(BL_EV_INV_STATE, -1), 3); /* waiting->running, ->standby, ->running */
    assert_int_equal(sim.inv.state, BL_INV_RUN);
}

/* A stale field is never sent as if it were fresh: once CCL is older than the protocol's
 * timeout the encoder sends 0 A and the safe-state alarms, and the inverter stops charging */
static void test_stale_limit_goes_out_as_the_safe_state(void **state)
{
    (void)state;
    profile("generic-pylon-lv");
    scenario("start_soc_pct: 40\n"
             "events:\n  - {at: \"11:00\", for: 10m, event: stale_field, field: charge_current_limit_A}\n");
    simulate("pylon-lv", -1, H(11) + MIN(5));
    assert_true(sim.bcan.safe_frames > 0);
    assert_int_equal(sim.inv.rx.f[BL_F_CCL].value, 0);
    assert_true(sim.inv.rx.active[BL_AC_ALARM] & (1u << BL_A_COMM));
    assert_int_equal(sim.out.i_mA, 0);
    assert_limits_respected();
}

/* A frozen SOC still looks fresh on the wire: the inverter believes it */
static void test_frozen_field_is_sent_as_it_froze(void **state)
{
    int32_t frozen;
    (void)state;
    profile("generic-pylon-lv");
    scenario("events:\n  - {at: \"10:00\", event: frozen_field, field: soc_pct}\n");
    simulate("pylon-lv", -1, H(10));
    frozen = sim.inv.rx.f[BL_F_SOC].value;
    bl_sim_run(&sim, H(12));
    assert_int_equal(sim.inv.rx.f[BL_F_SOC].value, frozen);
    assert_true(sim.bat.soc_mpct - frozen > 10000); /* the sun charged it >10 % meanwhile */
    assert_int_equal(sim.bcan.safe_frames, 0);
}

/* A sign bug in the battery's firmware: the inverter reads the current negated */
static void test_wrong_current_sign_reaches_the_inverter(void **state)
{
    (void)state;
    profile("generic-pylon-lv");
    scenario("events:\n  - {at: \"09:00\", for: 1h, event: wrong_current_sign}\n");
    simulate("pylon-lv", -1, MIN(9 * 60 + 30));
    assert_true(sim.bat.i_mA > 10000);
    /* pylon-lv carries 0.1 A: the inverter reads -I rounded to 0.1 A */
    assert_int_equal(sim.inv.rx.f[BL_F_CURRENT].value, -((sim.bat.i_mA + 50) / 100 * 100));
}

/* 0.01 V sent as if it were 0.1 V: 52.x V x 10 wraps in 0x356's signed 16 bits to a negative
 * voltage, outside the 0..100 V range: the inverter rejects the frame and counts why */
static void test_scaling_error_is_rejected_by_range(void **state)
{
    (void)state;
    profile("generic-pylon-lv");
    scenario("events:\n  - {at: 1h, for: 1m, event: scaling_error, field: voltage_V, factor: 10}\n");
    simulate("pylon-lv", -1, H(1) + MIN(2));
    assert_int_equal(sim.inv.rx_rejected[BL_REJ_RANGE], 60);
}

/* A cell reading 3.70 V trips cell over-voltage after 2 s; the BMS sends CCL 0 and
 * the protection bit; the obedient inverter stops charging; release after the event */
static void test_cell_over_voltage_event_trips_and_releases(void **state)
{
    const bl_sim_event_t *trip, *rel;
    (void)state;
    profile("generic-pylon-lv");
    scenario("events:\n  - {at: \"10:00\", for: 30s, event: cell_over_voltage, cell: 7, V: 3.7}\n");
    simulate("pylon-lv", -1, H(11));
    trip = first(BL_EV_PROT_TRIP, BL_A_CELL_OV);
    rel = first(BL_EV_PROT_RELEASE, BL_A_CELL_OV);
    assert_non_null(trip);
    assert_non_null(rel);
    assert_int_equal(trip->t_ms, H(10) + 2000);
    assert_int_equal(rel->t_ms, H(10) + 30000 + 2000);
    assert_int_equal(sim.bat.trips[BL_A_CELL_OV], 1);
    assert_limits_respected();
}

/* 60 °C: discharge over-temperature trips (60 °C is its trip level... at 60.5 °C) */
static void test_over_temperature_event_blocks_discharge(void **state)
{
    (void)state;
    profile("generic-pylon-lv");
    scenario("events:\n  - {at: \"20:00\", for: 5m, event: over_temperature, C: 60.5}\n");
    simulate("pylon-lv", -1, H(20) + MIN(1));
    assert_true(sim.bat.active[BL_AC_PROTECTION] & (1u << BL_A_DSG_OT));
    assert_int_equal(sim.bat.dcl_mA, 0);
    assert_int_equal(sim.out.i_mA, 0);
}

/* Alarm bursts: 3 times 5 s of internal_fault every 20 s, then quiet */
static void test_alarm_burst_raises_and_clears(void **state)
{
    (void)state;
    profile("generic-pylon-lv");
    scenario("events:\n  - {at: 1h, event: alarm_burst, alarms: [internal_fault], class: protections,"
             " period: 20s, on: 5s, count: 3}\n");
    simulate("pylon-lv", -1, H(2));
    assert_int_equal(count(BL_EV_SCENARIO, BL_SE_ALARM_BURST), 3);
    assert_int_equal(count(BL_EV_SCENARIO_END, BL_SE_ALARM_BURST), 3);
    assert_int_equal(sim.sent.active[BL_AC_PROTECTION], 0);
}

/* Bus-off: the battery's controller neither sends nor hears; the inverter times out */
static void test_bus_off_silences_the_battery(void **state)
{
    (void)state;
    profile("generic-pylon-lv");
    scenario("events:\n  - {at: 1h, for: 30s, event: bus_off}\n");
    simulate("pylon-lv", -1, H(1) + MIN(2));
    assert_int_equal(sim.frames[BL_SIDE_BATTERY][BL_FATE_BUS_OFF], 30 * 6);
    assert_int_equal(sim.frames[BL_SIDE_INVERTER][BL_FATE_BUS_OFF], 30);
    assert_int_equal(count(BL_EV_INV_TIMEOUT, -1), 1);
}

/* The inverter's port at 250 kbit/s against a 500 kbit/s battery: error frames only */
static void test_wrong_bitrate_is_never_detected(void **state)
{
    (void)state;
    profile("generic-pylon-lv");
    scenario("inverter: {bitrate: 250000}\n");
    simulate("pylon-lv", -1, MIN(1));
    assert_int_equal(sim.frames[BL_SIDE_BATTERY][BL_FATE_DELIVERED], 0);
    assert_true(sim.inv.rx_rejected[BL_REJ_ERROR_FRAME] > 0);
    assert_int_equal(sim.inv.state, BL_INV_WAIT);
}

/* A wrong battery-type setting: the inverter never reads the battery */
static void test_wrong_setting_leaves_the_battery_undetected(void **state)
{
    (void)state;
    profile("luxpower-eg4-lv");
    scenario("events:\n  - {at: 1h, event: setting, name: battery_type, value: Lead-acid}\n");
    simulate("pylon-lv", -1, H(1) + MIN(1));
    assert_int_equal(count(BL_EV_SETTING, 0), 1);
    assert_int_equal(sim.inv.state, BL_INV_WAIT);
    assert_int_equal(sim.out.i_mA, 0);
}

/* Grid loss at night: off-grid the battery carries the load alone */
static void test_grid_loss_runs_the_load_from_the_battery(void **state)
{
    (void)state;
    profile("generic-pylon-lv");
    scenario("events:\n  - {at: \"20:00\", for: 1h, event: grid_loss}\n");
    simulate("pylon-lv", -1, H(20) + MIN(30));
    assert_int_equal(sim.out.grid_W, 0);
    assert_true(sim.out.i_mA < 0);
    assert_int_equal(sim.out.unserved_W, 0);
}

/* ---- each profile's quirks, in the loop ------------------------------------------------------ */

/* sofar-me3000sp: ignores 0 V / 0 A (can-pylon-lv.md §8.1, DIY). A cell reading 3.70 V makes the
 * BMS send CCL 0 while its charge-enable flag is stuck at 1 (a frozen field): the limit alone has
 * to stop the inverter, and the Sofar keeps charging until the BMS's protection opens the path */
static void test_sofar_profile_charges_through_ccl_zero(void **state)
{
    (void)state;
    profile("sofar-me3000sp");
    scenario("events:\n  - {at: \"10:59\", event: frozen_field, field: charge_enable}\n"
             "  - {at: \"11:00\", for: 10m, event: cell_over_voltage, cell: 2, V: 3.7}\n");
    simulate("pylon-lv", -1, H(11) + 1000);
    assert_int_equal(sim.wire.f[BL_F_CCL].value, 0);
    assert_true(sim.out.i_mA > 0);
    assert_true(sim.inv.quirk_acted[BL_QK_IGNORES_ZERO_LIMITS] >= 1);
    assert_true(sim.viol_ms[BL_VIOL_CCL] > 0);
    /* the same day with the reference inverter stops */
    profile("generic-pylon-lv");
    simulate("pylon-lv", -1, H(11) + 1000);
    assert_int_equal(sim.out.i_mA, 0);
}

/* deye-sunsynk-lv, firmware late-keepalive: 0x305 about every 2 h (can-pylon-lv.md §4,
 * yambms#268): the battery's 60 s link timer declares the inverter missing in between */
static void test_deye_late_keepalive_profile(void **state)
{
    (void)state;
    profile("deye-sunsynk-lv");
    scenario("");
    simulate("pylon-lv", 1, H(5));
    assert_int_equal(sim.frames[BL_SIDE_INVERTER][BL_FATE_DELIVERED], 3); /* 0 h, 2 h, 4 h */
    assert_int_equal(count(BL_EV_LINK, 0), 3);
    assert_int_equal(count(BL_EV_LINK, 1), 3);
    assert_int_equal(sim.inv.quirk_acted[BL_QK_KEEPALIVE_PERIOD], 1);
}

/* generic-pylon-lv, firmware unsafe-legacy: keeps discharging on a silent battery
 * (inverter-settings.md §3, diyBMSv4ESP32#194); switched to by a firmware event */
static void test_firmware_switch_to_the_unsafe_legacy_variant(void **state)
{
    (void)state;
    profile("generic-pylon-lv");
    scenario("events:\n  - {at: \"19:00\", event: firmware, variant: unsafe-legacy}\n"
             "  - {at: \"20:00\", for: 30m, event: comm_loss}\n");
    simulate("pylon-lv", -1, H(20) + MIN(20));
    assert_int_equal(sim.inv.state, BL_INV_RUN);
    assert_true(sim.out.i_mA < 0);
    assert_int_equal(sim.inv.quirk_acted[BL_QK_KEEPS_LAST_VALUES], 1);
}

/* profiles whose protocol is in this build load, and every quirk cites a source */
static void test_every_shipped_profile_loads_with_sources(void **state)
{
    bl_profile_file_t *all = NULL;
    char dir[512];
    int n;
    (void)state;
    snprintf(dir, sizeof dir, "%s/share/profiles", BL_SOURCE_DIR);
    n = bl_profiles_load_dir(dir, &all, NULL, NULL);
    assert_true(n >= 12);
    for (int i = 0; i < n; i++) {
        const bl_inv_profile_t *p = &all[i].p;
        for (unsigned q = 0; q < p->nquirks; q++) {
            assert_true(p->quirks[q].source != NULL && strlen(p->quirks[q].source) > 5);
            assert_true(p->quirks[q].what != NULL && strlen(p->quirks[q].what) > 5);
        }
        for (unsigned t = 0; t < p->ntimeouts; t++)
            assert_non_null(p->timeouts[t].source);
        if (p->proto == NULL)
            printf("# %s: protocol %s not in this build yet\n", p->name, p->protocol_name);
    }
    free(all);
}

/* a scenario naming firmware the profile lacks is refused, with the event's line */
static void test_scenario_event_for_a_missing_firmware_is_refused(void **state)
{
    bl_sim_cfg_t cfg;
    (void)state;
    profile("generic-pylon-lv");
    scenario("name: x\nevents:\n  - {at: 1h, event: firmware, variant: nope}\n");
    memset(&cfg, 0, sizeof cfg);
    cfg.battery_proto = bl_protocol_find("pylon-lv");
    cfg.profile = &pf.p;
    cfg.scn = &scn;
    cfg.firmware = -1;
    assert_int_equal(bl_sim_init(&sim, &cfg), BL_ENOENT);
    assert_int_equal(sim.bad_event, 0);
    assert_int_equal(scn.ev[0].line, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_obedient_profiles_respect_the_limits),
        cmocka_unit_test(test_charge_is_conserved_through_the_loop),
        cmocka_unit_test(test_the_same_scenario_gives_the_same_run),
        cmocka_unit_test(test_comm_loss_stops_the_inverter_until_the_frames_return),
        cmocka_unit_test(test_stale_limit_goes_out_as_the_safe_state),
        cmocka_unit_test(test_frozen_field_is_sent_as_it_froze),
        cmocka_unit_test(test_wrong_current_sign_reaches_the_inverter),
        cmocka_unit_test(test_scaling_error_is_rejected_by_range),
        cmocka_unit_test(test_cell_over_voltage_event_trips_and_releases),
        cmocka_unit_test(test_over_temperature_event_blocks_discharge),
        cmocka_unit_test(test_alarm_burst_raises_and_clears),
        cmocka_unit_test(test_bus_off_silences_the_battery),
        cmocka_unit_test(test_wrong_bitrate_is_never_detected),
        cmocka_unit_test(test_wrong_setting_leaves_the_battery_undetected),
        cmocka_unit_test(test_grid_loss_runs_the_load_from_the_battery),
        cmocka_unit_test(test_sofar_profile_charges_through_ccl_zero),
        cmocka_unit_test(test_deye_late_keepalive_profile),
        cmocka_unit_test(test_firmware_switch_to_the_unsafe_legacy_variant),
        cmocka_unit_test(test_every_shipped_profile_loads_with_sources),
        cmocka_unit_test(test_scenario_event_for_a_missing_firmware_is_refused),
    };
    (void)have;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
