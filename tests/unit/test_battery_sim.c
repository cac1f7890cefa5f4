/*
 * The simulated LiFePO4 pack and its BMS (include/bmslink/battery_sim.h):
 * physics sanity and BMS rules, values worked out by hand from the default
 * parameters (16S 100 Ah, 0.6 mOhm per cell, CVL 3.45 V/cell, the LFP OCV table
 * in src/engines/battery_sim.c) with the cell spread switched off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/battery_sim.h"

static bl_bsim_params_t prm;
static bl_bsim_t b;

/* 16S 100 Ah, every cell identical, no balancing current */
static void uniform(void)
{
    bl_bsim_defaults(&prm, 16, 100000);
    prm.spread_capacity_ppm = prm.spread_soc_ppm = prm.spread_r_ppm = prm.spread_temp_mdegC = 0;
    prm.balance_mA = 0;
}

static void run(int32_t req_mA, uint64_t from_ms, uint64_t to_ms)
{
    for (uint64_t t = from_ms + 1000; t <= to_ms; t += 1000)
        (void)bl_bsim_step(&b, req_mA, t);
}

/* OCV table: 50 % -> 3.300 V per cell; 16 cells at rest -> 52.800 V */
static void test_rest_voltage_is_the_ocv_plateau(void **state)
{
    (void)state;
    uniform();
    assert_int_equal(bl_bsim_init(&b, &prm, 50000, 25000, 0), 0);
    assert_int_equal(b.cell_min_mV, 3300);
    assert_int_equal(b.cell_max_mV, 3300);
    assert_int_equal(b.v_mV, 52800);
}

/* OCV table between 40 % (3.290 V) and 50 % (3.300 V): 45 % -> 3.295 V */
static void test_ocv_is_interpolated_between_points(void **state)
{
    (void)state;
    uniform();
    assert_int_equal(bl_bsim_init(&b, &prm, 45000, 25000, 0), 0);
    assert_int_equal(b.cell_max_mV, 3295);
}

/* 50 A charge: I x R = 50 A x 0.6 mOhm = 30 mV per cell, 480 mV per pack. One second
 * moves SOC by 50 A x 1 s / 360000 A s = 0.0139 %, which moves the OCV by under 0.01 mV. */
static void test_charge_current_raises_voltage_by_i_times_r(void **state)
{
    (void)state;
    uniform();
    assert_int_equal(bl_bsim_init(&b, &prm, 50000, 25000, 0), 0);
    assert_int_equal(bl_bsim_step(&b, 50000, 1000), 50000);
    assert_int_equal(b.cell_max_mV, 3330);
    assert_int_equal(b.v_mV, 53280);
}

/* Below 25 °C the resistance rises 2 %/°C: at 0 °C x1.5 = 0.9 mOhm; -20 A -> -18 mV per cell.
 * The second moves SOC by -20 A x 1 s / 360000 A s = -0.0056 %: the OCV goes from 3.3000 V to
 * 3.29999 V, which reads 3.299 V at mV resolution. */
static void test_resistance_rises_in_the_cold(void **state)
{
    (void)state;
    uniform();
    prm.heat_capacity_J_per_K = 1000000000; /* hold the temperature */
    assert_int_equal(bl_bsim_init(&b, &prm, 50000, 0, 0), 0);
    (void)bl_bsim_step(&b, -20000, 1000);
    assert_int_equal(b.cell_min_mV, 3299 - 18);
}

/* SOC conservation: every cell holds its start charge + the integral of the current
 * - what balancing bled, to the microcoulomb; the test integrates the requests itself. */
static void test_charge_is_conserved_exactly(void **state)
{
    static const int32_t profile[] = { 40000, -35000, 0, 12345, -60000, 7, -1, 50000 };
    int64_t q0[BL_BSIM_MAX_CELLS], in = 0;
    uint64_t t = 0;
    (void)state;
    bl_bsim_defaults(&prm, 16, 100000); /* with spread and balancing */
    assert_int_equal(bl_bsim_init(&b, &prm, 60000, 25000, 0), 0);
    memcpy(q0, b.q_uC, sizeof q0);
    for (unsigned k = 0; k < 8; k++)
        for (unsigned s = 0; s < 600; s++) {
            t += 1000;
            in += (int64_t)bl_bsim_step(&b, profile[k], t) * 1000;
        }
    assert_true(in == b.in_uC);
    for (unsigned c = 0; c < 16; c++)
        assert_true(b.q_uC[c] == q0[c] + in - b.bleed_uC[c]);
}

/* Thermal: 100 A through 16 x 0.6 mOhm = 96 W; with 100 kJ/K and no cooling half an hour
 * heats the pack by 96 W x 1800 s / 100000 J/K = 1.728 K. */
static void test_joule_heating_follows_i_squared_r(void **state)
{
    (void)state;
    uniform();
    prm.heat_capacity_J_per_K = 100000;
    prm.cooling_mW_per_K = 0;
    prm.prot[8].trip = 10000000; /* keep the charge over-current protection out of the way */
    prm.prot[8].warn = 10000000;
    assert_int_equal(bl_bsim_init(&b, &prm, 20000, 25000, 0), 0);
    run(100000, 0, 1800000);
    assert_true(b.temp_udegC == 25000000 + 1728000);
}

/* Coulomb counter with +1 % gain error: after 50 Ah in, the BMS counted 50.5 Ah:
 * SOC 20 % + 50.5 % = 70.5 % while the true SOC is 70 %. */
static void test_counter_drift_follows_the_sensor_gain(void **state)
{
    (void)state;
    uniform();
    prm.sensor_gain_ppm = 10000;
    assert_int_equal(bl_bsim_init(&b, &prm, 20000, 25000, 0), 0);
    run(50000, 0, 3600000);
    assert_int_equal(b.soc_mpct, 70500);
    assert_int_equal(bl_bsim_true_soc(&b), 70000);
}

/* Recalibration at full: the highest cell at full_cell_mV (3.45 V = OCV at 100 %) with the
 * current below the tail (C/20 = 5 A) sets the counter to 100 %, whatever it drifted to. */
static void test_counter_recalibrates_at_full(void **state)
{
    (void)state;
    uniform();
    prm.sensor_gain_ppm = -50000; /* counts 5 % short */
    assert_int_equal(bl_bsim_init(&b, &prm, 90000, 25000, 0), 0);
    run(20000, 0, 1800000);             /* +10 Ah: true 100 %, counted 99.5 % */
    assert_int_equal(bl_bsim_true_soc(&b), 100000);
    assert_true(b.soc_mpct < 100000);
    (void)bl_bsim_step(&b, 0, 1801000); /* at rest at 3.45 V */
    assert_int_equal(b.soc_mpct, 100000);
}

/* Recalibration at empty: the lowest cell at empty_cell_mV (2.9 V, 2 % on the OCV table) */
static void test_counter_recalibrates_at_empty(void **state)
{
    (void)state;
    uniform();
    assert_int_equal(bl_bsim_init(&b, &prm, 2000, 25000, 0), 0);
    assert_int_equal(b.cell_min_mV, 2900);
    assert_int_equal(b.soc_mpct, 0);
}

/* CELL_OV: trip 3.65 V after 2 s, release at 3.40 V after 2 s (defaults). The tripped
 * protection raises cell_over_voltage in alarms and protections and opens the charge path. */
static void test_cell_over_voltage_trips_after_its_delay(void **state)
{
    (void)state;
    uniform();
    assert_int_equal(bl_bsim_init(&b, &prm, 50000, 25000, 0), 0);
    bl_bsim_override_cell(&b, 3, 3700);
    (void)bl_bsim_step(&b, 0, 1000); /* condition seen at 1 s */
    (void)bl_bsim_step(&b, 0, 2000);
    assert_false(b.active[BL_AC_PROTECTION] & (1u << BL_A_CELL_OV));
    assert_false(b.active[BL_AC_WARNING] & (1u << BL_A_CELL_OV)); /* the warning waits its delay too */
    (void)bl_bsim_step(&b, 0, 3000); /* 2 s later */
    assert_true(b.active[BL_AC_PROTECTION] & (1u << BL_A_CELL_OV));
    assert_true(b.active[BL_AC_ALARM] & (1u << BL_A_CELL_OV));
    assert_true(b.active[BL_AC_WARNING] & (1u << BL_A_CELL_OV));
    assert_int_equal(b.ccl_mA, 0);
    assert_int_equal(b.trips[BL_A_CELL_OV], 1);
    /* the charge path is open: a charge request does not flow, a discharge does */
    assert_int_equal(bl_bsim_step(&b, 10000, 4000), 0);
    assert_int_equal(bl_bsim_step(&b, -10000, 5000), -10000);
}

static void test_cell_over_voltage_releases_with_hysteresis(void **state)
{
    (void)state;
    uniform();
    assert_int_equal(bl_bsim_init(&b, &prm, 50000, 25000, 0), 0);
    bl_bsim_override_cell(&b, 0, 3700);
    run(0, 0, 3000);
    assert_true(b.active[BL_AC_PROTECTION] & (1u << BL_A_CELL_OV));
    /* 3.50 V: below the trip level but above the 3.40 V release: stays tripped */
    bl_bsim_override_cell(&b, 0, 3500);
    run(0, 3000, 60000);
    assert_true(b.active[BL_AC_PROTECTION] & (1u << BL_A_CELL_OV));
    /* 3.39 V: released after the 2 s release delay, not before */
    bl_bsim_override_cell(&b, 0, 3390);
    (void)bl_bsim_step(&b, 0, 61000);
    (void)bl_bsim_step(&b, 0, 62000);
    assert_true(b.active[BL_AC_PROTECTION] & (1u << BL_A_CELL_OV));
    (void)bl_bsim_step(&b, 0, 63000);
    assert_false(b.active[BL_AC_PROTECTION] & (1u << BL_A_CELL_OV));
    assert_int_equal(b.trips[BL_A_CELL_OV], 1);
}

/* A glitch shorter than the delay never trips */
static void test_short_glitch_does_not_trip(void **state)
{
    (void)state;
    uniform();
    assert_int_equal(bl_bsim_init(&b, &prm, 50000, 25000, 0), 0);
    bl_bsim_override_cell(&b, 0, 3700);
    (void)bl_bsim_step(&b, 0, 1000);
    (void)bl_bsim_step(&b, 0, 2000);
    bl_bsim_override_cell(&b, -1, 0);
    run(0, 2000, 20000);
    assert_int_equal(b.trips[BL_A_CELL_OV], 0);
}

/* Cold-charge block: at -5 °C the charge derating curve gives 0 (no charge below 0 °C),
 * charge_enable is false, and after 5 s the charge under-temperature protection opens the path */
static void test_no_charging_below_zero_celsius(void **state)
{
    bl_record_t r;
    (void)state;
    uniform();
    prm.heat_capacity_J_per_K = 1000000000;
    assert_int_equal(bl_bsim_init(&b, &prm, 50000, -5000, 0), 0);
    assert_int_equal(b.ccl_mA, 0);
    assert_int_equal(b.dcl_mA, 50000 * 450 / 1000); /* dcl_temp: -10 °C 0.3, 0 °C 0.6 -> 0.45 */
    run(0, 0, 5000);
    assert_true(b.active[BL_AC_PROTECTION] & (1u << BL_A_CHG_UT));
    assert_int_equal(bl_bsim_step(&b, 10000, 6000), 0);
    bl_record_init(&r);
    bl_bsim_record(&b, &r, 6000);
    assert_int_equal(r.f[BL_F_CHARGE_ENABLE].value, 0);
    assert_int_equal(r.f[BL_F_DISCHARGE_ENABLE].value, 1);
}

/* Taper near full: at 95 % (OCV 3.35 V, below the 3.40 V cell taper) the SOC curve gives 0.5:
 * CCL = 0.5 C x 0.5 = 25.0 A for 100 Ah */
static void test_ccl_tapers_near_full(void **state)
{
    (void)state;
    uniform();
    assert_int_equal(bl_bsim_init(&b, &prm, 95000, 25000, 0), 0);
    assert_int_equal(b.ccl_mA, 25000);
    assert_int_equal(b.dcl_mA, 50000);
    assert_int_equal(b.cvl_mV, 55200);
    assert_int_equal(b.dvl_mV, 48000);
}

/* Low SOC: DCL tapers (10 % -> 0.5) and force charge I is requested at 5 % (PYL12: SOC window) */
static void test_low_soc_derates_dcl_and_requests_force_charge(void **state)
{
    (void)state;
    uniform();
    assert_int_equal(bl_bsim_init(&b, &prm, 10000, 25000, 0), 0);
    assert_int_equal(b.dcl_mA, 25000);
    assert_int_equal(b.force_charge, 0);
    assert_int_equal(bl_bsim_init(&b, &prm, 4000, 25000, 0), 0);
    assert_int_equal(b.force_charge, 1);
    /* cleared at 10 % (hysteresis), not at 6 % */
    run(10000, 0, 3600 * 1000 / 5);  /* +2 Ah = +2 % */
    assert_int_equal(b.force_charge, 1);
    run(10000, 3600 * 1000 / 5, 3600 * 1000 * 4 / 5 + 1000);  /* +6 Ah */
    assert_int_equal(b.force_charge, 0);
}

/* Full-charge request (PYL12): SOC has not reached 97 % for 30 days; cleared at 97 % */
static void test_full_charge_request_after_30_days(void **state)
{
    (void)state;
    uniform();
    prm.sensor_offset_mA = 0;
    assert_int_equal(bl_bsim_init(&b, &prm, 60000, 25000, 0), 0);
    (void)bl_bsim_step(&b, 0, UINT64_C(30) * 86400000 - 1000);
    assert_int_equal(b.full_charge_req, 0);
    (void)bl_bsim_step(&b, 0, UINT64_C(30) * 86400000);
    assert_int_equal(b.full_charge_req, 1);
}

/* Passive balancing bleeds the cells above 3.40 V that stand 10 mV above the lowest */
static void test_balancing_bleeds_the_high_cell(void **state)
{
    (void)state;
    uniform();
    prm.balance_mA = 100;
    assert_int_equal(bl_bsim_init(&b, &prm, 99000, 25000, 0), 0);
    b.q_uC[5] += (int64_t)100000 * 3600000 / 100; /* cell 6 holds 1 % more */
    (void)bl_bsim_step(&b, 0, 1000);
    run(0, 1000, 61000);
    assert_true(b.bleed_uC[5] == (int64_t)100 * 60000);
    assert_true(b.bleed_uC[0] == 0);
}

/* The spread comes from the seed: the same seed gives the same pack, another seed another */
static void test_spread_is_deterministic(void **state)
{
    bl_bsim_t a;
    (void)state;
    bl_bsim_defaults(&prm, 16, 100000);
    assert_int_equal(bl_bsim_init(&a, &prm, 50000, 25000, 0), 0);
    assert_int_equal(bl_bsim_init(&b, &prm, 50000, 25000, 0), 0);
    assert_memory_equal(a.cap_uC, b.cap_uC, sizeof a.cap_uC);
    prm.seed = 2;
    assert_int_equal(bl_bsim_init(&b, &prm, 50000, 25000, 0), 0);
    assert_true(memcmp(a.cap_uC, b.cap_uC, sizeof a.cap_uC) != 0);
}

static void test_bad_parameters_are_refused_with_a_reason(void **state)
{
    (void)state;
    uniform();
    prm.cells = 3;
    assert_non_null(bl_bsim_check(&prm));
    assert_int_equal(bl_bsim_init(&b, &prm, 50000, 25000, 0), BL_EINVAL);
    uniform();
    prm.cvl_cell_mV = 2900;
    assert_string_equal(bl_bsim_check(&prm), "limits: charge voltage per cell must be above the discharge voltage");
    uniform();
    prm.ocv.x[3] = prm.ocv.x[2];
    assert_non_null(bl_bsim_check(&prm));
}

/* The record carries every canonical battery field the BMS knows, and all alarms as known */
static void test_record_is_complete(void **state)
{
    bl_record_t r;
    (void)state;
    uniform();
    assert_int_equal(bl_bsim_init(&b, &prm, 50000, 25000, 0), 0);
    bl_record_init(&r);
    bl_bsim_record(&b, &r, 0);
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
        assert_true(r.f[f].valid);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 52800);
    assert_int_equal(r.f[BL_F_CAPACITY].value, 100000);
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "BMSLINK");
    assert_int_equal(r.known[BL_AC_ALARM], BL_A_ALL);
    assert_int_equal(r.active[BL_AC_ALARM], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rest_voltage_is_the_ocv_plateau),
        cmocka_unit_test(test_ocv_is_interpolated_between_points),
        cmocka_unit_test(test_charge_current_raises_voltage_by_i_times_r),
        cmocka_unit_test(test_resistance_rises_in_the_cold),
        cmocka_unit_test(test_charge_is_conserved_exactly),
        cmocka_unit_test(test_joule_heating_follows_i_squared_r),
        cmocka_unit_test(test_counter_drift_follows_the_sensor_gain),
        cmocka_unit_test(test_counter_recalibrates_at_full),
        cmocka_unit_test(test_counter_recalibrates_at_empty),
        cmocka_unit_test(test_cell_over_voltage_trips_after_its_delay),
        cmocka_unit_test(test_cell_over_voltage_releases_with_hysteresis),
        cmocka_unit_test(test_short_glitch_does_not_trip),
        cmocka_unit_test(test_no_charging_below_zero_celsius),
        cmocka_unit_test(test_ccl_tapers_near_full),
        cmocka_unit_test(test_low_soc_derates_dcl_and_requests_force_charge),
        cmocka_unit_test(test_full_charge_request_after_30_days),
        cmocka_unit_test(test_balancing_bleeds_the_high_cell),
        cmocka_unit_test(test_spread_is_deterministic),
        cmocka_unit_test(test_bad_parameters_are_refused_with_a_reason),
        cmocka_unit_test(test_record_is_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
