/*
 * The lossy-mapping table (bmslink protocols --map A B), from the capability tables.
 * Expectations are worked from the fact sheets' field definitions, not from the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bmslink/lossy.h"

static bl_lossy_t m;

static void map(const char *a, const char *b)
{
    assert_int_equal(bl_lossy_map(bl_protocol_find(a), bl_protocol_find(b), &m), 0);
}

/* Re-quantizing: values on A's grid rounded to B's grid; the worst distance */
static void test_requantization_error(void **state)
{
    (void)state;
    assert_int_equal(bl_lossy_requant_error(10, 0, 1000, 0), 500);  /* SOC 0.01 % -> 1 %: 0.5 % */
    assert_int_equal(bl_lossy_requant_error(1000, 0, 10, 0), 0);    /* 1 % -> 0.01 %: exact */
    assert_int_equal(bl_lossy_requant_error(10, 0, 100, 0), 50);    /* 0.01 V -> 0.1 V: 0.05 V */
    assert_int_equal(bl_lossy_requant_error(1, 0, 25, 0), 12);      /* mV -> SMA HV 25 mV cells: 12 mV */
    assert_int_equal(bl_lossy_requant_error(100, -3000000, 100, 0), 0); /* offsets on the same grid */
    assert_int_equal(bl_lossy_requant_error(100, 50, 100, 0), 50);  /* grids shifted by half a step */
    assert_int_equal(bl_lossy_requant_error(300, 0, 200, 0), 100);  /* 0.3 -> 0.2 steps: 0.3 lands 0.1 off */
}

/* SMA SI (0x355 with 0.01 % SOC) to Pylon LV (0x355 sent with DLC 4: 1 % only) */
static void test_sma_si_to_pylon_lv(void **state)
{
    (void)state;
    map("sma-si", "pylon-lv");
    assert_int_equal(m.field[BL_F_SOC].status, BL_LOSSY_DEGRADES);
    assert_int_equal(m.field[BL_F_SOC].max_error, 500);
    assert_int_equal(m.field[BL_F_SOC].step_a, 10);
    assert_int_equal(m.field[BL_F_SOC].step_b, 1000);
    assert_int_equal(m.field[BL_F_VOLTAGE].status, BL_LOSSY_PASSES); /* 0.01 V both */
    assert_int_equal(m.field[BL_F_CCL].status, BL_LOSSY_PASSES);
    assert_int_equal(m.field[BL_F_CELL_V_MIN].status, BL_LOSSY_ABSENT); /* SMA SI has no cell data */
    /* SMA's "battery high voltage" pair and Pylon's "over-voltage" bit both stand for pack + cell */
    assert_int_equal(m.alarm[BL_AC_ALARM][BL_A_PACK_OV].status, BL_LOSSY_DEGRADES);
    assert_true(m.alarm[BL_AC_ALARM][BL_A_PACK_OV].why & BL_LW_SHARED);
    assert_true(m.alarm[BL_AC_ALARM][BL_A_PACK_OV].merged & (1U << BL_A_CELL_OV));
    /* Pylon LV carries charge / discharge over-current on bits of their own */
    assert_int_equal(m.alarm[BL_AC_ALARM][BL_A_CHG_OC].status, BL_LOSSY_PASSES);
    /* short circuit and imbalance have no Pylon LV bit */
    assert_int_equal(m.alarm[BL_AC_ALARM][BL_A_SHORT].status, BL_LOSSY_LOST);
    assert_int_equal(m.alarm[BL_AC_ALARM][BL_A_IMBALANCE].status, BL_LOSSY_LOST);
    /* Pylon LV's communication-fault bit has nothing behind it: it will always say "not raised" */
    assert_int_equal(m.alarm[BL_AC_ALARM][BL_A_COMM].status, BL_LOSSY_ABSENT);
    assert_true(m.alarm[BL_AC_ALARM][BL_A_COMM].why & BL_LW_CLAIMS_OK);
}

/* BYD HVS decodes no alarm at all (0x190 undecoded): every alarm of the source is lost */
static void test_everything_alarm_is_lost_towards_byd(void **state)
{
    (void)state;
    map("growatt-lv", "byd-hvs");
    for (unsigned k = 0; k < BL_AC_COUNT; k++)
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            assert_true(m.alarm[k][a].status == BL_LOSSY_LOST || m.alarm[k][a].status == BL_LOSSY_ABSENT);
    assert_true(m.alarms[BL_LOSSY_LOST] > 0);
    assert_int_equal(m.alarms[BL_LOSSY_PASSES] + m.alarms[BL_LOSSY_DEGRADES], 0);
    /* the flags go too: BYD has no enable bits */
    assert_int_equal(m.field[BL_F_CHARGE_ENABLE].status, BL_LOSSY_LOST);
    /* Growatt LV's 0.01 V pack voltage into BYD's 0.1 V */
    assert_int_equal(m.field[BL_F_VOLTAGE].max_error, 50);
}

/* An alarm the inverter side has only in another class: lost, with the class a gateway could use */
static void test_alarm_in_another_class(void **state)
{
    (void)state;
    map("victron", "pylon-lv");
    assert_int_equal(m.alarm[BL_AC_ALARM][BL_A_INTERNAL].status, BL_LOSSY_LOST);
    assert_true(m.alarm[BL_AC_ALARM][BL_A_INTERNAL].why & BL_LW_CLASS);
    assert_int_equal(m.alarm[BL_AC_ALARM][BL_A_INTERNAL].to_class, BL_AC_PROTECTION);
    assert_int_equal(m.alarm[BL_AC_WARNING][BL_A_CELL_OV].to_class, BL_AC_ALARM);
}

/* Range and text: Growatt HV accepts charge limits up to 300 A; BYD names the maker in 3 bytes */
static void test_range_and_text(void **state)
{
    (void)state;
    map("sma-si", "growatt-hv");
    assert_int_equal(m.field[BL_F_CCL].status, BL_LOSSY_DEGRADES);
    assert_true(m.field[BL_F_CCL].why & BL_LW_RANGE);
    assert_int_equal(m.field[BL_F_CCL].hi_b, 300000);
    map("pylon-lv", "byd-hvs");
    assert_int_equal(m.field[BL_F_MANUFACTURER].status, BL_LOSSY_DEGRADES);
    assert_int_equal(m.field[BL_F_MANUFACTURER].text_a, 8);
    assert_int_equal(m.field[BL_F_MANUFACTURER].text_b, 3);
    /* module count: Pylon LV has it, BYD does not */
    assert_int_equal(m.field[BL_F_MODULE_COUNT].status, BL_LOSSY_LOST);
}

/* Unverified rows are marked (Growatt LV's current sign is not stated) */
static void test_unverified_is_marked(void **state)
{
    (void)state;
    map("growatt-lv", "pylon-lv");
    assert_true(m.field[BL_F_CURRENT].why & BL_LW_UNVERIFIED);
    assert_false(m.field[BL_F_VOLTAGE].why & BL_LW_UNVERIFIED);
}

/* Counts add up; a missing protocol is an error, not an empty table */
static void test_counts_and_errors(void **state)
{
    unsigned n = 0;
    (void)state;
    map("pylon-hv", "solax");
    for (unsigned s = 0; s < BL_LOSSY_COUNT; s++)
        n += m.fields[s];
    assert_int_equal(n, BL_F_BATTERY_COUNT);
    assert_int_equal(bl_lossy_map(NULL, bl_protocol_find("solax"), &m), BL_EINVAL);
    assert_string_equal(bl_lossy_status_str(BL_LOSSY_DEGRADES), "degrades");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requantization_error),
        cmocka_unit_test(test_sma_si_to_pylon_lv),
        cmocka_unit_test(test_everything_alarm_is_lost_towards_byd),
        cmocka_unit_test(test_alarm_in_another_class),
        cmocka_unit_test(test_range_and_text),
        cmocka_unit_test(test_unverified_is_marked),
        cmocka_unit_test(test_counts_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
