/*
 * Names and lookups at the edges of their tables (model.h, protocol.h, lossy.h, faults.h):
 * an id out of range has no name (NULL) or the documented fallback, an unknown name maps to
 * the COUNT / NONE sentinel, a field id out of range changes nothing; string fields keep at
 * most BL_STR_MAX - 1 bytes without trailing blanks; protocol metadata a protocol does not
 * have is 0 / NULL, whatever the bus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/faults.h"
#include "bmslink/lossy.h"
#include "bmslink/model.h"
#include "bmslink/protocol.h"

static void test_names_out_of_range(void **state)
{
    (void)state;
    assert_null(bl_field_info(BL_F_COUNT));
    assert_int_equal(bl_field_by_key("voltage_mV"), BL_F_NONE); /* the key is voltage_V */
    assert_int_equal(bl_field_by_key("voltage_V"), BL_F_VOLTAGE);
    assert_null(bl_alarm_str(BL_A_COUNT));
    assert_string_equal(bl_alarm_str(BL_A_CELL_OV), "cell_over_voltage");
    assert_int_equal(bl_alarm_by_name("cell_over_voltage"), BL_A_CELL_OV);
    assert_int_equal(bl_alarm_by_name("cell_overvoltage"), BL_A_COUNT);
    assert_null(bl_alarm_class_str(BL_AC_COUNT));
    assert_string_equal(bl_conf_str(0), "high");
    assert_string_equal(bl_conf_str(3), "low");  /* beyond the table: the weakest claim */
    assert_string_equal(bl_bus_str(2), "modbus");
    assert_string_equal(bl_bus_str(3), "can");
    assert_string_equal(bl_lossy_status_str(BL_LOSSY_COUNT), "absent");
    assert_string_equal(bl_scn_kind_str(BL_SE_COUNT), "unknown");
}

/* Field ids out of range are ignored by set/clear; text goes only into the text fields */
static void test_record_ignores_ids_out_of_range(void **state)
{
    bl_record_t r, same;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_COUNT, 1, 0, 5);
    bl_record_clear(&r, BL_F_COUNT);
    bl_record_set_str(&r, BL_F_VOLTAGE, "52.0", 4, 5); /* a number, not a text field */
    bl_record_init(&same);
    assert_memory_equal(&r, &same, sizeof r);
    assert_null(bl_record_str(&r, BL_F_VOLTAGE));
    assert_null(bl_record_str_mut(&r, BL_F_SOC));
}

/* Text fields: trailing blanks and NULs are cut and the value is the length left; more
 * than 31 bytes keep 31 */
static void test_text_fields_are_trimmed_and_bounded(void **state)
{
    const char padded[] = "PYLON\0\0  "; /* 9 bytes as a CAN frame carries them */
    const char *longer = "0123456789012345678901234567890123456789";
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    bl_record_set_str(&r, BL_F_MANUFACTURER, padded, 9, 7);
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "PYLON");
    assert_int_equal(r.f[BL_F_MANUFACTURER].value, 5);
    assert_int_equal(r.f[BL_F_MANUFACTURER].seen_ms, 7);
    bl_record_set_str(&r, BL_F_FIRMWARE, longer, strlen(longer), 8);
    assert_int_equal(strlen(bl_record_str(&r, BL_F_FIRMWARE)), BL_STR_MAX - 1);
    assert_int_equal(r.f[BL_F_FIRMWARE].value, 31);
    bl_record_set_str(&r, BL_F_MODEL, "   ", 3, 9); /* all blank: an empty text, still seen */
    assert_string_equal(bl_record_str(&r, BL_F_MODEL), "");
    assert_int_equal(r.f[BL_F_MODEL].value, 0);
    assert_true(r.f[BL_F_MODEL].valid);
}

/* What a bus does not have: a CAN protocol has no baud and no serial settings, a byte
 * protocol no CAN bitrate (Pylon LV: 500 kbit/s, can-pylon-lv.md; Daly: 9600 baud,
 * rs485-daly-jbd.md); an alarm class out of range has no safe alarms */
static void test_metadata_a_protocol_does_not_have(void **state)
{
    const bl_protocol_t *can = bl_protocol_find("pylon-lv"), *rs = bl_protocol_find("daly");
    (void)state;
    assert_non_null(can);
    assert_non_null(rs);
    assert_int_equal(bl_proto_baud(can), 0);
    assert_null(bl_proto_serial(can));
    assert_int_equal(bl_proto_bitrate(rs), 0);
    assert_int_equal(bl_proto_bitrate(can), 500000);
    assert_int_equal(bl_proto_baud(rs), 9600);
    assert_int_equal(bl_proto_safe(can, BL_AC_COUNT), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_out_of_range),
        cmocka_unit_test(test_record_ignores_ids_out_of_range),
        cmocka_unit_test(test_text_fields_are_trimmed_and_bounded),
        cmocka_unit_test(test_metadata_a_protocol_does_not_have),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
