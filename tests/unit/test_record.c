/* The canonical record: validity, age, strings, merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bmslink/model.h"

#include <string.h>

static void test_a_new_record_has_no_valid_field(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    for (unsigned i = 0; i < BL_F_COUNT; i++)
        assert_false(r.f[i].valid);
    assert_int_equal(r.known[BL_AC_ALARM], 0);
}

static void test_zero_is_a_value_not_absence(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_CCL, 0, 1, 1000);
    assert_true(r.f[BL_F_CCL].valid);
    assert_int_equal(r.f[BL_F_CCL].value, 0);
    assert_int_equal(r.f[BL_F_CCL].seen_ms, 1000);
    bl_record_clear(&r, BL_F_CCL);
    assert_false(r.f[BL_F_CCL].valid);
}

static void test_a_field_is_stale_only_after_its_timeout(void **state)
{
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_SOC, 50000, 0, 1000);
    assert_true(bl_field_fresh(&r.f[BL_F_SOC], 11000, 10000));  /* exactly 10 s old */
    assert_false(bl_field_fresh(&r.f[BL_F_SOC], 11001, 10000)); /* older */
    assert_true(bl_field_fresh(&r.f[BL_F_SOC], 999999, 0));     /* 0 = never stale */
    assert_false(bl_field_fresh(&r.f[BL_F_SOH], 1000, 10000));  /* never sent */
}

static void test_strings_are_trimmed_and_bounded(void **state)
{
    bl_record_t r;
    char longtxt[64];
    (void)state;
    bl_record_init(&r);
    bl_record_set_str(&r, BL_F_MANUFACTURER, "PYLON   ", 8, 5);
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "PYLON");
    assert_true(r.f[BL_F_MANUFACTURER].valid);
    memset(longtxt, 'A', sizeof longtxt);
    bl_record_set_str(&r, BL_F_MODEL, longtxt, sizeof longtxt, 5);
    assert_int_equal(strlen(bl_record_str(&r, BL_F_MODEL)), BL_STR_MAX - 1);
    assert_null(bl_record_str(&r, BL_F_SOC));
}

static void test_field_names_are_the_cli_contract(void **state)
{
    (void)state;
    assert_string_equal(bl_field_info(BL_F_CURRENT)->key, "current_A");
    assert_string_equal(bl_field_info(BL_F_CVL)->key, "charge_voltage_limit_V");
    assert_int_equal(bl_field_by_key("discharge_current_limit_A"), BL_F_DCL);
    assert_int_equal(bl_field_by_key("nonsense"), BL_F_NONE);
    assert_string_equal(bl_alarm_str(BL_A_COMM), "communication_fault");
    assert_int_equal(bl_alarm_by_name("cell_imbalance"), BL_A_IMBALANCE);
    assert_int_equal(bl_alarm_by_name("nonsense"), BL_A_COUNT);
    assert_null(bl_field_info(BL_F_COUNT));
}

static void test_merge_takes_valid_fields_and_known_alarms(void **state)
{
    bl_record_t a, b;
    (void)state;
    bl_record_init(&a);
    bl_record_init(&b);
    bl_record_set(&a, BL_F_SOC, 10000, 0, 1);
    bl_record_set(&a, BL_F_SOH, 90000, 0, 1);
    bl_record_set(&b, BL_F_SOC, 20000, 0, 2);
    a.active[BL_AC_ALARM] = (bl_alarm_mask_t)(1U << BL_A_CELL_OV);
    a.known[BL_AC_ALARM] = (bl_alarm_mask_t)(1U << BL_A_CELL_OV);
    b.known[BL_AC_ALARM] = (bl_alarm_mask_t)(1U << BL_A_CELL_OV); /* b says: cleared */
    bl_record_merge(&a, &b);
    assert_int_equal(a.f[BL_F_SOC].value, 20000);
    assert_int_equal(a.f[BL_F_SOH].value, 90000);
    assert_int_equal(a.active[BL_AC_ALARM], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_new_record_has_no_valid_field),
        cmocka_unit_test(test_zero_is_a_value_not_absence),
        cmocka_unit_test(test_a_field_is_stale_only_after_its_timeout),
        cmocka_unit_test(test_strings_are_trimmed_and_bounded),
        cmocka_unit_test(test_field_names_are_the_cli_contract),
        cmocka_unit_test(test_merge_takes_valid_fields_and_known_alarms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
