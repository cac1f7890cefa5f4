/*
 * The battery simulator's parameters (battery_sim.h: bl_bsim_check) are checked before a run,
 * one rule each, and the answer names the parameter a profile author has to fix; curves
 * interpolate linearly and hold their end values. Limits as battery_sim.h states them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/battery_sim.h"

static bl_bsim_params_t p;

static int fresh(void **state)
{
    (void)state;
    bl_bsim_defaults(&p, 16, 100000);
    return 0;
}

/* the reply starts with the parameter's name */
static void expect_bad(const char *name)
{
    const char *why = bl_bsim_check(&p);
    assert_non_null(why);
    if (strncmp(why, name, strlen(name)) != 0)
        fail_msg("\"%s\" does not name %s", why, name);
    bl_bsim_defaults(&p, 16, 100000);
}

/* 16 cells of 100 Ah with the built-in curves pass */
static void test_defaults_pass(void **state)
{
    (void)state;
    assert_null(bl_bsim_check(&p));
    p.cells = 96; /* an HV string: 3 groups of 32 */
    assert_null(bl_bsim_check(&p));
    p.cells = 33; /* 3 groups of 11 */
    assert_null(bl_bsim_check(&p));
}

/* cells: 4..32 in series, or up to 512 as groups of 8..32: 3, 37 (prime) and 513 are not */
static void test_cell_counts_outside_the_rule(void **state)
{
    (void)state;
    p.cells = 3;
    expect_bad("cells");
    p.cells = 37;
    expect_bad("cells");
    p.cells = 513;
    expect_bad("cells");
}

/* capacity 1..10000 Ah, resistance above 0 and at most 1000 mOhm, heat capacity above 0,
 * cooling not negative, current limits not negative, CVL above DVL above 0 */
static void test_each_physical_limit_is_named(void **state)
{
    (void)state;
    p.capacity_mAh = 999;
    expect_bad("capacity_Ah");
    p.capacity_mAh = 10000001;
    expect_bad("capacity_Ah");
    p.r_cell_uohm = 0;
    expect_bad("cell_resistance_mohm");
    p.r_cell_uohm = 1000001;
    expect_bad("cell_resistance_mohm");
    p.heat_capacity_J_per_K = 0;
    expect_bad("thermal");
    p.cooling_mW_per_K = -1;
    expect_bad("thermal");
    p.ccl_max_mA = -1;
    expect_bad("limits");
    p.dcl_max_mA = -1;
    expect_bad("limits");
    p.dvl_cell_mV = p.cvl_cell_mV;
    expect_bad("limits");
    p.dvl_cell_mV = 0;
    expect_bad("limits");
}

/* spreads: not negative, at most 20 % (200 000 ppm), resistance 50 % */
static void test_spreads_beyond_their_bounds(void **state)
{
    (void)state;
    p.spread_capacity_ppm = 200001;
    expect_bad("spread");
    p.spread_soc_ppm = -1;
    expect_bad("spread");
    p.spread_soc_ppm = 200001;
    expect_bad("spread");
    p.spread_r_ppm = 500001;
    expect_bad("spread");
    p.spread_r_ppm = -1;
    expect_bad("spread");
    p.spread_temp_mdegC = -1;
    expect_bad("spread");
    p.spread_r_ppm = 500000; /* the bound itself is allowed */
    assert_null(bl_bsim_check(&p));
}

/* curves: 1..24 points with x increasing; protections: at most 16 rows of known alarms */
static void test_curves_and_protection_rows(void **state)
{
    (void)state;
    p.ocv.n = 0;
    expect_bad("ocv");
    p.ocv.n = BL_BSIM_CURVE_MAX + 1;
    expect_bad("ocv");
    p.dcl_temp.n = 2;
    p.dcl_temp.x[0] = 10;
    p.dcl_temp.x[1] = 10; /* not increasing */
    expect_bad("derating dcl_temp");
    p.ccl_cell.n = 2;
    p.ccl_cell.x[0] = 3500;
    p.ccl_cell.x[1] = 3400;
    expect_bad("derating ccl_cell");
    p.nprot = BL_BSIM_MAX_PROT + 1;
    expect_bad("protections");
    p.nprot = 1;
    p.prot[0].alarm = BL_A_COUNT;
    expect_bad("protections");
    p.nprot = 1;
    p.prot[0].alarm = BL_A_CELL_OV;
    p.prot[0].qty = BL_BQ_COUNT;
    expect_bad("protections");
}

/* Through (0, 0) and (100, 1000): -5 -> 0 (held), 50 -> 500, 100 -> 1000, 150 -> 1000 (held);
 * a curve of no points is 0 */
static void test_curves_interpolate_and_hold_their_ends(void **state)
{
    bl_bsim_curve_t c;
    (void)state;
    memset(&c, 0, sizeof c);
    assert_int_equal(bl_bsim_curve(&c, 42), 0);
    c.n = 2;
    c.x[1] = 100;
    c.y[1] = 1000;
    assert_int_equal(bl_bsim_curve(&c, -5), 0);
    assert_int_equal(bl_bsim_curve(&c, 50), 500);
    assert_int_equal(bl_bsim_curve(&c, 100), 1000);
    assert_int_equal(bl_bsim_curve(&c, 150), 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_pass, fresh),
        cmocka_unit_test_setup(test_cell_counts_outside_the_rule, fresh),
        cmocka_unit_test_setup(test_each_physical_limit_is_named, fresh),
        cmocka_unit_test_setup(test_spreads_beyond_their_bounds, fresh),
        cmocka_unit_test_setup(test_curves_and_protection_rows, fresh),
        cmocka_unit_test_setup(test_curves_interpolate_and_hold_their_ends, fresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
