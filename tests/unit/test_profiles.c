/*
 * Each shipped inverter profile's quirks, reproduced in the closed loop against
 * a simulated battery speaking the profile's own protocol, each test naming the
 * fact-sheet rule the profile cites. A profile whose protocol this build lacks
 * is skipped with a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simtest.h"

#define NEED(proto)                                                                                     \
    do {                                                                                                \
        if (!have(proto)) {                                                                             \
            printf("# skipped: protocol %s not in this build\n", proto);                                \
            skip();                                                                                     \
        }                                                                                               \
    } while (0)

/* ---- SMA Sunny Island (sma-si) -------------------------------------------------------------- */

/* can-sma-si.md §6 (SMA TI): 60 s without 0x355 -> F952 ExtBMSTimeout, standby, SOC default 0 % */
static void test_sunny_island_f952_after_60_s_without_0x355(void **state)
{
    const bl_sim_event_t *e;
    (void)state;
    NEED("sma-si");
    profile("sma-sunny-island");
    scenario("events:\n  - {at: 1h, for: 3m, event: comm_loss}\n");
    simulate("sma-si", -1, H(1) + MIN(2));
    e = first(BL_EV_INV_TIMEOUT, 0x355);
    assert_non_null(e);
    assert_string_equal(e->code, "F952");
    assert_int_equal(e->t_ms, H(1) + 60000 - 1000); /* the last 0x355 came at 0:59:59 */
    assert_int_equal(sim.inv.state, BL_INV_STANDBY);
    assert_string_equal(sim.inv.code, "F952");
    assert_int_equal(sim.inv.view.f[BL_F_SOC].value, 0);
    assert_int_equal(sim.out.i_mA, 0);
    /* 60 s without 0x351 as well: W952, its defaults 54 V / 0 A / 0 A / 42 V */
    assert_non_null(first(BL_EV_INV_TIMEOUT, 0x351));
    assert_int_equal(sim.inv.view.f[BL_F_CCL].value, 0);
    bl_sim_run(&sim, H(1) + MIN(3) + 11000);
    assert_int_equal(sim.inv.state, BL_INV_RUN);
}

/* can-sma-si.md §7 (SMA TI): CVL below the battery voltage: the SI discharges down to it and
 * ignores DCL. The battery's firmware forces 0x351 ChargeVoltage to 50.0 V (raw 500) at night. */
static void test_sunny_island_discharges_to_a_low_cvl_past_dcl(void **state)
{
    (void)state;
    NEED("sma-si");
    profile("sma-sunny-island");
    scenario("battery: {dcl_max_A: 40}\n"
             "events:\n  - {at: \"02:00\", for: 2m, event: signal, name: ChargeVoltage, raw: 500}\n");
    simulate("sma-si", -1, H(2) + MIN(1));
    assert_int_equal(sim.wire.f[BL_F_CVL].value, 50000);
    assert_true(sim.out.i_mA < -40000); /* 6000 W / 52 V ~ 115 A, past DCL 40 A, with 300 W of load */
    assert_true(sim.inv.quirk_acted[BL_QK_DISCHARGE_TO_CVL] >= 1);
    assert_true(sim.viol_ms[BL_VIOL_DCL] > 0);
}

/* can-sma-si.md §4: any alarm -> standby until it clears; the SI shows it as F9xx */
static void test_sunny_island_alarm_standby_with_its_code(void **state)
{
    (void)state;
    NEED("sma-si");
    profile("sma-sunny-island");
    scenario("events:\n  - {at: 1h, for: 30s, event: alarm_burst, alarms: [charge_over_temperature], period: 60s,"
             " on: 30s, count: 1}\n");
    simulate("sma-si", -1, H(1) + 10000);
    assert_int_equal(sim.inv.state, BL_INV_FAULT);
    assert_string_equal(sim.inv.code, "F925");
    bl_sim_run(&sim, H(1) + 30000 + 11000);
    assert_int_equal(sim.inv.state, BL_INV_RUN);
}

/* can-sma-si.md §7: DCL is not honoured off-grid. At 2 °C the BMS derates DCL to about 68 %
 * (dcl_temp 0.6 at 0 °C .. 1.0 at 10 °C: ~68 A for 200 Ah; no alarm, so the SI keeps running);
 * a 5 kW off-grid load at about 53 V takes ~94 A from the battery anyway. (At -5 °C the cold-
 * charge protection trips, an alarm, and the SI stands by with F926: any alarm stops it.) */
static void test_sunny_island_off_grid_ignores_dcl(void **state)
{
    (void)state;
    NEED("sma-si");
    profile("sma-sunny-island");
    scenario("grid: false\nambient_C: 2\nload: 5000\npv: 0\nstart_soc_pct: 80\n");
    simulate("sma-si", -1, MIN(10));
    assert_true(sim.wire.f[BL_F_DCL].value < 75000); /* derated from 100 A */
    assert_true(-sim.out.i_mA > sim.wire.f[BL_F_DCL].value + 20000);
    assert_true(sim.inv.quirk_acted[BL_QK_IGNORES_DCL_OFFGRID] >= 1);
}

/* ---- Victron GX (victron) ---------------------------------------------------------------------- */

/* can-victron.md §5 (DIYV): CVL = 0 is read as over-voltage */
static void test_victron_cvl_zero_faults(void **state)
{
    (void)state;
    NEED("victron");
    profile("victron-gx");
    scenario("events:\n  - {at: 1h, for: 1m, event: signal, name: ChargeVoltage, raw: 0}\n");
    simulate("victron", -1, H(1) + 2000);
    assert_int_equal(sim.inv.state, BL_INV_FAULT);
    assert_string_equal(sim.inv.code, "overvoltage");
}

/* can-victron.md §5 (GX manual, DVCC): Multis in island mode shut down when DCL is 0.
 * A discharge over-temperature (61 °C reading) makes the BMS send DCL 0 off-grid */
static void test_victron_island_shutdown_at_dcl_zero(void **state)
{
    (void)state;
    NEED("victron");
    profile("victron-gx");
    scenario("grid: false\nevents:\n  - {at: \"20:00\", for: 5m, event: over_temperature, C: 61}\n");
    simulate("victron", -1, H(20) + MIN(1));
    assert_int_equal(sim.wire.f[BL_F_DCL].value, 0);
    assert_int_equal(sim.inv.state, BL_INV_OFF);
    assert_string_equal(sim.inv.code, "dcl-zero");
    assert_true(sim.out.unserved_W > 0);
}

/* can-victron.md §5 (dvcc.py): a 'PYLON' with CVL <= 54 V is held at 52.4 V: a 16S pack whose
 * BMS asks 53.2 V (3.325 V per cell) is under-charged (can-pylon-lv.md §8.7). 52.4 V / 16 =
 * 3.275 V per cell is 30 % on the OCV table: a sunny day ends near 30 % instead of full. */
static void test_victron_holds_a_pylon_at_52_4_v(void **state)
{
    (void)state;
    NEED("victron");
    profile("victron-gx");
    scenario("start_soc_pct: 20\nbattery: {manufacturer: PYLON, cvl_cell_V: 3.325}\n");
    simulate("victron", -1, H(16));
    assert_int_equal(sim.inv.cvl_eff_mV, 52400);
    assert_true(sim.soc_max_mpct < 32000);
    assert_true(sim.inv.quirk_acted[BL_QK_CVL_CAP_BY_NAME] >= 1);
    /* the same pack under another name charges to its own 53.2 V, about 70 % on the OCV table */
    scenario("start_soc_pct: 20\nbattery: {manufacturer: ACME, cvl_cell_V: 3.325}\n");
    simulate("victron", -1, H(16));
    assert_true(sim.soc_max_mpct > 65000);
}

/* can-victron.md §5 (dvcc.py): a BYD at CCL 0 is floated at 55 V with 40 A: charging goes on
 * while a cell reads 3.60 V (the BMS's charge derating is 0 there, its protection trips only
 * at 3.65 V) and the BMS has sent CCL 0 -- with its charge flag stuck at 1 */
static void test_victron_floats_a_byd_through_ccl_zero(void **state)
{
    (void)state;
    NEED("victron");
    profile("victron-gx");
    scenario("battery: {manufacturer: BYD}\n"
             "events:\n  - {at: \"10:00\", event: frozen_field, field: charge_enable}\n"
             "  - {at: \"10:00:30\", for: 1m, event: cell_over_voltage, cell: 3, V: 3.6}\n");
    simulate("victron", -1, H(10) + 40000);
    assert_int_equal(sim.wire.f[BL_F_CCL].value, 0);
    assert_int_equal(sim.inv.cvl_eff_mV, 55000);
    assert_true(sim.out.i_mA > 0);
    assert_true(sim.viol_ms[BL_VIOL_CCL] > 0);
}

/* ---- Deye / Sunsynk HV (byd-hvs, pylon-hv) --------------------------------------------------------- */

/* can-byd-hvs.md §6 (WIKI): Deye ignores the current limits of 0x110 near full */
static void test_deye_hv_ignores_byd_current_limits(void **state)
{
    (void)state;
    NEED("byd-hvs");
    profile("deye-sunsynk-hv");
    scenario("battery: {cells: 128, capacity_Ah: 50}\npv: [[\"06:00\", 0], [\"12:00\", 9000], [\"18:00\", 0]]\n");
    simulate("byd-hvs", -1, H(12));
    assert_true(sim.inv.quirk_acted[BL_QK_IGNORES_CURRENT_LIMITS] >= 1);
    assert_true(sim.viol_ms[BL_VIOL_CCL] > 0);
}

/* can-pylon-hv.md §8 (WIKI): Deye on Pylon HV needs the manufacturer name "Deye" */
static void test_deye_hv_pylon_needs_the_name_deye(void **state)
{
    (void)state;
    NEED("pylon-hv");
    profile("deye-hv-pylon");
    scenario("battery: {cells: 96, capacity_Ah: 50}\n");
    simulate("pylon-hv", -1, MIN(1));
    assert_int_equal(sim.inv.state, BL_INV_WAIT);
    assert_string_equal(sim.inv.code, "BMS-name");
    scenario("battery: {cells: 96, capacity_Ah: 50, manufacturer: Deye}\n");
    simulate("pylon-hv", -1, MIN(1));
    assert_int_equal(sim.inv.state, BL_INV_RUN);
}

/* ---- firmware that refuses batteries (byd-hvs) ---------------------------------------------------- */

/* can-byd-hvs.md §1 (WIKI): old Solis firmware shows BatName-FAIL; GoodWe ARM 17(449) blocks batteries */
static void test_solis_old_firmware_and_goodwe_arm_17_449(void **state)
{
    (void)state;
    NEED("byd-hvs");
    profile("solis-hv");
    scenario("battery: {cells: 128, capacity_Ah: 50}\n");
    simulate("byd-hvs", 0, MIN(1));
    assert_int_equal(sim.inv.state, BL_INV_RUN);
    simulate("byd-hvs", 1, MIN(1));
    assert_int_equal(sim.inv.state, BL_INV_FAULT);
    assert_string_equal(sim.inv.code, "BatName-FAIL");
    profile("goodwe-et");
    simulate("byd-hvs", 1, MIN(1));
    assert_string_equal(sim.inv.code, "ARM-17-449");
}

/* ---- SolaX (solax) ------------------------------------------------------------------------------------ */

/* can-others.md §A (WIKI): SolaX ARM 1.57 rejects battery type 80 with IE102; 131 passes. The
 * battery announces, the inverter closes the contactor (0x1801, 0x1875 byte 4 = 1). */
static void test_solax_arm_1_57_rejects_type_80(void **state)
{
    (void)state;
    NEED("solax");
    profile("solax-x3-g4");
    scenario("battery: {cells: 96, capacity_Ah: 50}\n");
    simulate("solax", 1, MIN(1));
    assert_int_equal(sim.inv.battery_type, 131);
    assert_int_equal(sim.inv.state, BL_INV_RUN);
    assert_int_equal(sim.bcan.codec.state, 1); /* contactor closed */
    scenario("battery: {cells: 96, capacity_Ah: 50}\n"
             "events:\n  - {at: 0s, event: signal, name: BatteryType, raw: 80}\n");
    simulate("solax", 1, MIN(1));
    assert_int_equal(sim.inv.state, BL_INV_FAULT);
    assert_string_equal(sim.inv.code, "IE102");
    simulate("solax", 0, MIN(1)); /* the default firmware accepts it */
    assert_int_equal(sim.inv.state, BL_INV_RUN);
}

/* can-others.md §A (BE): the battery opens its contactors after 2 s without 0x1871 */
static void test_solax_battery_opens_after_2_s_without_polls(void **state)
{
    (void)state;
    NEED("solax");
    profile("solax-x3-g4");
    scenario("battery: {cells: 96, capacity_Ah: 50}\n"
             "events:\n  - {at: 1m, for: 5s, event: comm_loss, direction: both}\n");
    simulate("solax", -1, MIN(1) + 4000);
    assert_int_equal(sim.bcan.codec.state, 0);
    assert_true(sim.bcan.codec.links_lost >= 1);
}

/* ---- Growatt SPF (growatt-lv) ------------------------------------------------------------------------ */

/* can-growatt.md §A.1 (SPF manual): "when the communication fails, the inverter cuts off output" */
static void test_growatt_spf_cuts_output_on_comm_loss(void **state)
{
    (void)state;
    NEED("growatt-lv");
    profile("growatt-spf");
    scenario("events:\n  - {at: 1h, for: 1m, event: comm_loss}\n");
    simulate("growatt-lv", -1, H(1) + 30000);
    assert_int_equal(sim.inv.state, BL_INV_OFF);
    assert_int_equal(sim.out.unserved_W, 300);
    bl_sim_run(&sim, H(1) + MIN(2));
    assert_int_equal(sim.inv.state, BL_INV_RUN);
}

/* ---- Sungrow SBR (sungrow) at 250 kbit/s ------------------------------------------------------------- */

/* can-others.md §D: SBR runs at 250 kbit/s; a 500 kbit/s battery is only error frames to it */
static void test_sungrow_sbr_needs_250_kbit(void **state)
{
    (void)state;
    NEED("sungrow");
    profile("sungrow-sbr");
    scenario("");
    simulate("pylon-lv", -1, MIN(1));
    assert_int_equal(sim.inv.state, BL_INV_WAIT);
    assert_true(sim.inv.rx_rejected[BL_REJ_ERROR_FRAME] > 0);
    simulate("sungrow", -1, MIN(1));
    assert_int_equal(sim.inv.state, BL_INV_RUN);
}

/* ---- Voltronic / Axpert "PYL" (pylon-rs485) -------------------------------------------------------- */

/* inverter-settings.md §2, §2.1: the inverter is the master on RS485 and polls ADR 0x02 (0x42 analog,
 * 0x44 alarms, 0x92 limits every second; identity once); it acts on the 0x92 limits */
static void test_voltronic_polls_and_follows_0x92(void **state)
{
    (void)state;
    NEED("pylon-rs485");
    profile("voltronic-axpert");
    scenario("start: \"06:00\"\nstart_soc_pct: 90\n");
    simulate("pylon-rs485", -1, H(14));
    assert_int_equal(sim.inv.state, BL_INV_RUN);
    assert_true(sim.frames[BL_SIDE_INVERTER][BL_FATE_DELIVERED] >= 3u * 8u * 3600u); /* 3 polls a second */
    assert_int_equal(sim.inv.rs_no_answer, 0);
    assert_true(sim.charged_mJ > 0);
    assert_limits_respected();
}

/* inverter-settings.md §3: no documented reaction; the profile's bmslink default: a fault 10 s after the
 * answers stop; RS485 at another baud rate is garbage to the battery: never detected */
static void test_voltronic_comm_loss_and_wrong_baud(void **state)
{
    (void)state;
    NEED("pylon-rs485");
    profile("voltronic-axpert");
    scenario("events:\n  - {at: 1h, for: 1m, event: comm_loss}\n");
    simulate("pylon-rs485", -1, H(1) + 30000);
    assert_int_equal(sim.inv.state, BL_INV_FAULT);
    assert_string_equal(sim.inv.code, "BMS-comm");
    assert_true(sim.inv.rs_no_answer > 0);
    scenario("inverter: {bitrate: 19200}\n");
    simulate("pylon-rs485", -1, MIN(1));
    assert_int_equal(sim.inv.state, BL_INV_WAIT);
    assert_true(sim.frames[BL_SIDE_INVERTER][BL_FATE_CORRUPTED] > 0);
}

/* ---- every profile with a protocol of this build runs its own protocol obediently or per its quirks ---- */

static void test_every_runnable_profile_detects_its_own_protocol(void **state)
{
    bl_profile_file_t *all = NULL;
    char dir[512];
    int n;
    (void)state;
    snprintf(dir, sizeof dir, "%s/share/profiles", BL_SOURCE_DIR);
    n = bl_profiles_load_dir(dir, &all, NULL, NULL);
    for (int i = 0; i < n; i++) {
        const bl_inv_profile_t *p = &all[i].p;
        bool need_name = false;
        if (p->proto == NULL || bl_proto_root(p->proto)->bus == BL_BUS_MODBUS)
            continue;
        pf = all[i];
        for (unsigned q = 0; q < p->nquirks; q++)
            need_name = need_name || p->quirks[q].id == BL_QK_REQUIRES_MANUFACTURER;
        scenario(need_name ? "battery: {manufacturer: Deye}\n" : "");
        simulate(p->protocol_name, 0, MIN(2));
        if (sim.inv.state != BL_INV_RUN)
            fail_msg("%s on %s: %s %s", p->name, p->protocol_name, bl_inv_state_str(sim.inv.state), sim.inv.code);
    }
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sunny_island_f952_after_60_s_without_0x355),
        cmocka_unit_test(test_sunny_island_discharges_to_a_low_cvl_past_dcl),
        cmocka_unit_test(test_sunny_island_alarm_standby_with_its_code),
        cmocka_unit_test(test_sunny_island_off_grid_ignores_dcl),
        cmocka_unit_test(test_victron_cvl_zero_faults),
        cmocka_unit_test(test_victron_island_shutdown_at_dcl_zero),
        cmocka_unit_test(test_victron_holds_a_pylon_at_52_4_v),
        cmocka_unit_test(test_victron_floats_a_byd_through_ccl_zero),
        cmocka_unit_test(test_deye_hv_ignores_byd_current_limits),
        cmocka_unit_test(test_deye_hv_pylon_needs_the_name_deye),
        cmocka_unit_test(test_solis_old_firmware_and_goodwe_arm_17_449),
        cmocka_unit_test(test_solax_arm_1_57_rejects_type_80),
        cmocka_unit_test(test_solax_battery_opens_after_2_s_without_polls),
        cmocka_unit_test(test_growatt_spf_cuts_output_on_comm_loss),
        cmocka_unit_test(test_sungrow_sbr_needs_250_kbit),
        cmocka_unit_test(test_voltronic_polls_and_follows_0x92),
        cmocka_unit_test(test_voltronic_comm_loss_and_wrong_baud),
        cmocka_unit_test(test_every_runnable_profile_detects_its_own_protocol),
    };
    (void)count;
    (void)assert_limits_respected;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
