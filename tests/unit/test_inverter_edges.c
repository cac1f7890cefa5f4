/*
 * Inverter models at the edges the quirk specs (test_inverter.c) leave: the battery's charge
 * requests (force charge, full charge), a setting that makes the inverter ignore the BMS, the
 * flag-blind quirk on the discharge side. Same rig: a Pylon LV pack at 52.0 V through the real
 * encoder, a 5000 W power stage (5000 W at 52.0 V = 96.15 A); CCL and DCL 50 A.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/inverter.h"

#include "inverter_rig.h"

/* ---- battery requests and what the inverter does with them ---------------------------- */

/* can-pylon-lv.md 0x35C: "force charge" asks for grid charging. On the grid, with no PV and no
 * load, the inverter charges at its force-charge current (default 10 A, below CCL 50 A); off
 * the grid there is nothing to charge from: 0 A */
static void test_force_charge_request_charges_from_the_grid(void **state)
{
    (void)state;
    set(BL_F_FORCE_CHARGE, 1);
    start();
    assert_int_equal(run(5, 0, 0, true, NULL), 10000);
    assert_int_equal(run(3, 0, 0, false, NULL), 0);
}

/* 0x35C "full charge request": charge at the power stage's maximum, 5000 W / 52.0 V = 96.15 A,
 * held to CCL 50 A; a profile that does not use the request ignores it */
static void test_full_charge_request_charges_at_the_limit(void **state)
{
    (void)state;
    set(BL_F_FULL_CHARGE_REQ, 1);
    start();
    assert_int_equal(run(5, 0, 0, true, NULL), 50000);
    p.uses_full_charge = 0;
    start();
    assert_int_equal(run(5, 0, 0, true, NULL), 0);
}

/* inverter-settings.md: a battery-type setting that makes the inverter run on its own values
 * (lead-acid mode): the BMS's limits and alarms no longer count. PV 96 A of surplus, its own
 * charge limit 20 A -> 20 A, and a protection alarm from the BMS does not stop it */
static void test_a_setting_that_ignores_the_bms_runs_on_its_own_limits(void **state)
{
    (void)state;
    p.settings[0].name = "battery_type";
    p.settings[0].required = "Lithium";
    p.settings[0].source = "test";
    p.settings[0].on_wrong = BL_INV_WRONG_IGNORE_BMS;
    p.nsettings = 1;
    p.own_ccl_mA = 20000;
    p.own_cvl_mV = 56000;
    rec.active[BL_AC_PROTECTION] = (bl_alarm_mask_t)(1u << BL_A_CELL_OV);
    start();
    assert_int_equal(bl_inv_set_setting(&v, "battery_type", "Lead-acid"), 0);
    assert_int_equal(run(5, 5000, 0, true, NULL), 20000);
    assert_int_equal(v.state, BL_INV_RUN);
    assert_int_equal(bl_inv_set_setting(&v, "battery_type", "Lithium"), 0); /* right again */
    assert_int_equal(run(5, 5000, 0, true, NULL), 0); /* cell over-voltage: no charging */
    assert_int_equal(v.state, BL_INV_RUN);
    rec.active[BL_AC_PROTECTION] = 0; /* cleared: the BMS's 50 A again */
    assert_int_equal(run(5, 5000, 0, true, NULL), 50000);
}

/* A flag-blind inverter discharges with discharge disabled (DCL 50 A still holds it:
 * 3000 W / 52.0 V = 57.7 A -> -50 A) and says that quirk acted */
static void test_flag_blind_inverter_discharges_with_discharge_disabled(void **state)
{
    (void)state;
    add_quirk(BL_QK_IGNORES_ENABLE_FLAGS, 0, 0, NULL, NULL);
    set(BL_F_DISCHARGE_ENABLE, 0);
    start();
    assert_int_equal(run(5, 0, 3000, true, NULL), -50000);
    assert_true(v.quirk_acting & BL_BIT(BL_QK_IGNORES_ENABLE_FLAGS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_force_charge_request_charges_from_the_grid, setup),
        cmocka_unit_test_setup(test_full_charge_request_charges_at_the_limit, setup),
        cmocka_unit_test_setup(test_a_setting_that_ignores_the_bms_runs_on_its_own_limits, setup),
        cmocka_unit_test_setup(test_flag_blind_inverter_discharges_with_discharge_disabled, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
