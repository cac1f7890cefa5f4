/*
 * A stack of packs as one battery (bl_rs_aggregate, rs485.h; rs485-pylontech.md: a 0x42 answer
 * to INFO 0xFF carries every pack): voltage is the mean, current the sum, SOC the charge over
 * the capacity when every pack has one (packs of different sizes) and the mean otherwise,
 * extremes are the extremes, cycles the most worn pack's, alarms the union of what the packs
 * report. Values worked out by hand in the comments; means round half away from zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bmslink/rs485.h"

static void pack(bl_record_t *r, int32_t mv, int32_t ma, int32_t soc, int32_t soh, int32_t t, int32_t cmin,
                 int32_t cmax, int32_t tmin, int32_t tmax, int32_t cycles)
{
    bl_record_init(r);
    bl_record_set(r, BL_F_VOLTAGE, mv, 2, 100);
    bl_record_set(r, BL_F_CURRENT, ma, 1, 100);
    bl_record_set(r, BL_F_SOC, soc, 0, 100);
    bl_record_set(r, BL_F_SOH, soh, 0, 100);
    bl_record_set(r, BL_F_TEMP, t, 1, 100);
    bl_record_set(r, BL_F_CELL_V_MIN, cmin, 3, 100);
    bl_record_set(r, BL_F_CELL_V_MAX, cmax, 3, 100);
    bl_record_set(r, BL_F_TEMP_MIN, tmin, 1, 100);
    bl_record_set(r, BL_F_TEMP_MAX, tmax, 1, 100);
    bl_record_set(r, BL_F_CYCLE_COUNT, cycles, 0, 100);
}

/* A 100 Ah pack at 80 % beside a 50 Ah pack at 50 %: 80 + 25 = 105 Ah of 150 Ah is 70 %,
 * not the 65 % a mean would say. Voltage (52.00 + 52.20) / 2 = 52.10 V, current
 * 10.0 - 4.0 = 6.0 A, SOH (98 + 96) / 2 = 97 %, temperature (25 + 27) / 2 = 26 °C, cells
 * 3.280..3.310 V, temperatures 23..28 °C, 55 cycles, two modules */
static void test_packs_of_different_sizes(void **state)
{
    bl_record_t p[2], rec;
    (void)state;
    pack(&p[0], 52000, 10000, 80000, 98000, 25000, 3290, 3310, 24000, 26000, 40);
    pack(&p[1], 52200, -4000, 50000, 96000, 27000, 3280, 3300, 23000, 28000, 55);
    bl_record_set(&p[0], BL_F_CAPACITY, 100000, 0, 100);
    bl_record_set(&p[1], BL_F_CAPACITY, 50000, 0, 100);
    bl_record_init(&rec);
    bl_rs_aggregate(p, 2, 500, &rec);
    assert_int_equal(rec.f[BL_F_VOLTAGE].value, 52100);
    assert_int_equal(rec.f[BL_F_VOLTAGE].dec, 2);
    assert_int_equal(rec.f[BL_F_CURRENT].value, 6000);
    assert_int_equal(rec.f[BL_F_SOC].value, 70000);
    assert_int_equal(rec.f[BL_F_CAPACITY].value, 150000);
    assert_int_equal(rec.f[BL_F_SOH].value, 97000);
    assert_int_equal(rec.f[BL_F_TEMP].value, 26000);
    assert_int_equal(rec.f[BL_F_CELL_V_MIN].value, 3280);
    assert_int_equal(rec.f[BL_F_CELL_V_MAX].value, 3310);
    assert_int_equal(rec.f[BL_F_TEMP_MIN].value, 23000);
    assert_int_equal(rec.f[BL_F_TEMP_MAX].value, 28000);
    assert_int_equal(rec.f[BL_F_CYCLE_COUNT].value, 55);
    assert_int_equal(rec.f[BL_F_MODULE_COUNT].value, 2);
    assert_int_equal(rec.f[BL_F_MODULE_COUNT].seen_ms, 500);
}

/* Without a capacity from every pack there is no charge to add: SOC is the mean,
 * (80.000 + 50.001) / 2 = 65.0005 % -> 65.001 % (half away from zero), and no capacity.
 * Below zero the mean rounds away from zero too: (-5.0 - 2.001) / 2 = -3.5005 -> -3.501 °C */
static void test_packs_without_capacity_average_their_soc(void **state)
{
    bl_record_t p[2], rec;
    (void)state;
    pack(&p[0], 52000, 0, 80000, 98000, -5000, 3290, 3310, -6000, -4000, 40);
    pack(&p[1], 52000, 0, 50001, 98000, -2001, 3280, 3300, -3000, -1000, 41);
    bl_record_set(&p[0], BL_F_CAPACITY, 100000, 0, 100); /* only one of the two */
    bl_record_init(&rec);
    bl_rs_aggregate(p, 2, 500, &rec);
    assert_int_equal(rec.f[BL_F_SOC].value, 65001);
    assert_false(rec.f[BL_F_CAPACITY].valid);
    assert_int_equal(rec.f[BL_F_TEMP].value, -3501);
}

/* Alarms: a pack that reports cell under-voltage as a warning makes it the stack's; a class
 * the packs report on but with nothing active clears what the record held; classes no pack
 * reports on are left as they were */
static void test_alarms_are_the_union_of_the_packs(void **state)
{
    const bl_alarm_mask_t uv = (bl_alarm_mask_t)(1u << BL_A_CELL_UV), ov = (bl_alarm_mask_t)(1u << BL_A_CELL_OV);
    bl_record_t p[2], rec;
    (void)state;
    pack(&p[0], 52000, 0, 80000, 98000, 25000, 3290, 3310, 24000, 26000, 40);
    pack(&p[1], 52000, 0, 80000, 98000, 25000, 3290, 3310, 24000, 26000, 40);
    p[0].known[BL_AC_WARNING] = uv | ov;
    p[1].known[BL_AC_WARNING] = uv | ov;
    p[1].active[BL_AC_WARNING] = uv;
    p[0].known[BL_AC_PROTECTION] = ov; /* known, not active */
    bl_record_init(&rec);
    rec.known[BL_AC_PROTECTION] = ov;
    rec.active[BL_AC_PROTECTION] = ov; /* from an earlier answer */
    rec.active[BL_AC_ALARM] = ov;      /* no pack reports this class */
    rec.known[BL_AC_ALARM] = ov;
    bl_rs_aggregate(p, 2, 700, &rec);
    assert_int_equal(rec.active[BL_AC_WARNING], uv);
    assert_int_equal(rec.known[BL_AC_WARNING], uv | ov);
    assert_int_equal(rec.alarm_seen_ms[BL_AC_WARNING], 700);
    assert_int_equal(rec.active[BL_AC_PROTECTION], 0);
    assert_int_equal(rec.active[BL_AC_ALARM], ov);
    assert_int_equal(rec.alarm_seen_ms[BL_AC_ALARM], 0);
}

/* No packs: the record is not touched (no module count of 0 invented) */
static void test_no_packs_change_nothing(void **state)
{
    bl_record_t rec;
    (void)state;
    bl_record_init(&rec);
    bl_rs_aggregate(NULL, 0, 500, &rec);
    assert_false(rec.f[BL_F_MODULE_COUNT].valid);
    assert_false(rec.f[BL_F_VOLTAGE].valid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packs_of_different_sizes),
        cmocka_unit_test(test_packs_without_capacity_average_their_soc),
        cmocka_unit_test(test_alarms_are_the_union_of_the_packs),
        cmocka_unit_test(test_no_packs_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
