/*
 * Error frames and bus state. Layout from linux/can/error.h (the SocketCAN
 * ABI, also what candump -L logs as "2000xxxx#..."): class bits in the id,
 * 0x004 controller (status in data[1]: 0x01 rx overflow, 0x04/0x08 rx/tx
 * warning, 0x10/0x20 rx/tx passive, 0x40 back to active), 0x040 bus-off,
 * 0x100 restarted, 0x200 error counters in data[6] (tx) and data[7] (rx).
 * ISO 11898-1 fault confinement: a counter at 96 warns, at 128 the node is
 * error-passive. Lawicel "F" flags: 0x04 error warning, 0x08 data overrun,
 * 0x20 error passive, 0x80 bus error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bmslink/canerr.h"

static bl_can_frame_t errf(uint32_t classes, uint8_t d1, uint8_t d6, uint8_t d7)
{
    bl_can_frame_t f = { .id = classes, .len = 8, .flags = BL_CAN_ERR };
    f.data[1] = d1;
    f.data[6] = d6;
    f.data[7] = d7;
    return f;
}

static void test_busoff_class_means_bus_off(void **state)
{
    bl_can_frame_t f = errf(0x040, 0, 0, 0);
    bl_canerr_t e;
    (void)state;
    assert_int_equal(bl_canerr_parse(&f, &e), 0);
    assert_int_equal(e.classes, BL_CANERR_BUSOFF);
    assert_int_equal(e.state, BL_CANST_BUS_OFF);
}

static void test_controller_status_bits(void **state)
{
    static const struct {
        uint8_t d1;
        uint8_t state;
        bool overflow;
    } cases[] = {
        { 0x20, BL_CANST_PASSIVE, false }, /* tx passive */
        { 0x10, BL_CANST_PASSIVE, false }, /* rx passive */
        { 0x08, BL_CANST_WARNING, false }, /* tx warning */
        { 0x04, BL_CANST_WARNING, false }, /* rx warning */
        { 0x40, BL_CANST_ACTIVE, false },  /* recovered */
        { 0x01, BL_CANST_UNKNOWN, true },  /* rx overflow says nothing about the state */
        { 0x28, BL_CANST_PASSIVE, false }, /* passive outranks warning */
    };
    bl_canerr_t e;
    (void)state;
    for (size_t i = 0; i < BL_ARRAY_LEN(cases); i++) {
        bl_can_frame_t f = errf(0x004, cases[i].d1, 0, 0);
        assert_int_equal(bl_canerr_parse(&f, &e), 0);
        assert_int_equal(e.crtl, cases[i].d1);
        assert_int_equal(e.state, cases[i].state);
        assert_int_equal(e.overflow, cases[i].overflow);
    }
}

static void test_bus_off_outranks_the_rest_of_the_frame(void **state)
{
    bl_can_frame_t f = errf(0x040 | 0x004 | 0x200, 0x20, 250, 0);
    bl_canerr_t e;
    (void)state;
    bl_canerr_parse(&f, &e);
    assert_int_equal(e.state, BL_CANST_BUS_OFF);
    assert_true(e.have_counters);
    assert_int_equal(e.tx_errors, 250);
}

static void test_restarted_is_active_again(void **state)
{
    bl_can_frame_t f = errf(0x100, 0, 0, 0);
    bl_canerr_t e;
    (void)state;
    bl_canerr_parse(&f, &e);
    assert_int_equal(e.state, BL_CANST_ACTIVE);
}

static void test_counters_alone_follow_fault_confinement(void **state)
{
    bl_canerr_t e;
    bl_can_frame_t f;
    (void)state;
    f = errf(0x200, 0, 128, 0);
    bl_canerr_parse(&f, &e);
    assert_int_equal(e.state, BL_CANST_PASSIVE);
    f = errf(0x200, 0, 0, 128); /* the receive counter alone */
    bl_canerr_parse(&f, &e);
    assert_int_equal(e.state, BL_CANST_PASSIVE);
    f = errf(0x200, 0, 0, 127);
    bl_canerr_parse(&f, &e);
    assert_int_equal(e.state, BL_CANST_WARNING);
    f = errf(0x200, 0, 96, 0);
    bl_canerr_parse(&f, &e);
    assert_int_equal(e.state, BL_CANST_WARNING);
    f = errf(0x200, 0, 95, 95);
    bl_canerr_parse(&f, &e);
    assert_int_equal(e.state, BL_CANST_ACTIVE);
}

/* No-ACK and protocol errors are news, but not a state of their own. */
static void test_ack_and_protocol_errors_keep_the_state(void **state)
{
    bl_can_frame_t f = errf(0x020 | 0x008, 0, 0, 0);
    bl_canerr_t e;
    (void)state;
    f.data[2] = 0x04; /* stuff error */
    f.data[3] = 0x0A; /* in the data field */
    bl_canerr_parse(&f, &e);
    assert_int_equal(e.state, BL_CANST_UNKNOWN);
    assert_int_equal(e.prot, 0x04);
    assert_int_equal(e.prot_loc, 0x0A);
}

/* A short error frame reads the missing bytes as zero: no read past len. */
static void test_short_error_frame_is_safe(void **state)
{
    bl_can_frame_t f = errf(0x004 | 0x200, 0x20, 200, 0);
    bl_canerr_t e;
    (void)state;
    f.len = 2;
    bl_canerr_parse(&f, &e);
    assert_int_equal(e.crtl, 0x20);
    assert_int_equal(e.tx_errors, 0);
}

/* 0x010 transceiver: data[4] says which wire (0x04 CAN-H no wire, 0x40 CAN-L no wire) */
static void test_transceiver_status(void **state)
{
    bl_can_frame_t f = errf(0x010, 0, 0, 0);
    bl_canerr_t e;
    (void)state;
    f.data[4] = 0x04;
    bl_canerr_parse(&f, &e);
    assert_int_equal(e.trx, 0x04);
    assert_int_equal(e.state, BL_CANST_UNKNOWN);
}

static void test_data_frame_is_not_an_error_frame(void **state)
{
    bl_can_frame_t f = { .id = 0x040, .len = 8 };
    bl_canerr_t e;
    (void)state;
    assert_int_equal(bl_canerr_parse(&f, &e), BL_EINVAL);
    assert_int_equal(e.classes, 0);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(bl_bus_state_str(BL_CANST_BUS_OFF), "bus-off");
    assert_string_equal(bl_bus_state_str(BL_CANST_PASSIVE), "error-passive");
    assert_string_equal(bl_bus_state_str(99), "unknown");
    assert_string_equal(bl_canerr_class_str(BL_CANERR_ACK), "no-ack");
    assert_null(bl_canerr_class_str(0x3));
}

static void test_slcan_status_flags(void **state)
{
    (void)state;
    assert_int_equal(bl_slcan_status_state(0x00), BL_CANST_ACTIVE);
    assert_int_equal(bl_slcan_status_state(0x04), BL_CANST_WARNING);
    assert_int_equal(bl_slcan_status_state(0x24), BL_CANST_PASSIVE);
    assert_int_equal(bl_slcan_status_state(0x80), BL_CANST_ACTIVE); /* a bus error alone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busoff_class_means_bus_off),
        cmocka_unit_test(test_controller_status_bits),
        cmocka_unit_test(test_bus_off_outranks_the_rest_of_the_frame),
        cmocka_unit_test(test_restarted_is_active_again),
        cmocka_unit_test(test_counters_alone_follow_fault_confinement),
        cmocka_unit_test(test_ack_and_protocol_errors_keep_the_state),
        cmocka_unit_test(test_short_error_frame_is_safe),
        cmocka_unit_test(test_transceiver_status),
        cmocka_unit_test(test_data_frame_is_not_an_error_frame),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_slcan_status_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
