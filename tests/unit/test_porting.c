/*
 * The porting example (examples/porting/port.c) as firmware would run it: frames and bytes
 * arrive through the interrupt entry points, the main loop polls with the time, and the
 * board's hooks (faked here) see what goes out. docs/porting.md walks through the same code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "port.h"
#include "bmslink/rs485.h"

extern const bl_protocol_t bl_proto_pylon_lv, bl_proto_pylon_hv, bl_proto_pylon_rs485;

/* ---- the fake board ---- */
static bl_can_frame_t sent[256];
static unsigned nsent;
static unsigned mailbox_free = 1000; /* frames the CAN peripheral accepts before it is full */
static uint8_t uart_out[2048];
static size_t uart_len;
static uint64_t bms_alive_until = BL_NEVER; /* the BMS stops measuring after this */

bool hal_can_send(const bl_can_frame_t *f)
{
    if (mailbox_free == 0)
        return false;
    mailbox_free--;
    if (nsent < 256)
        sent[nsent++] = *f;
    return true;
}

void hal_rs485_write(const uint8_t *d, size_t n)
{
    memcpy(uart_out + uart_len, d, n);
    uart_len += n;
}

/* a 16S 100 Ah pack at 53.2 V, 60 % SOC, 25 °C, CCL 80 A, DCL 100 A, CVL 56.0 V, DVL 48.0 V */
void hal_bms_fill(bl_record_t *r, uint64_t now_ms)
{
    uint64_t t = now_ms > bms_alive_until ? bms_alive_until : now_ms; /* a dead BMS stops stamping */
    bl_record_set(r, BL_F_SOC, 60000, 0, t);
    bl_record_set(r, BL_F_SOH, 100000, 0, t);
    bl_record_set(r, BL_F_VOLTAGE, 53200, 2, t);
    bl_record_set(r, BL_F_CURRENT, -12300, 1, t);
    bl_record_set(r, BL_F_TEMP, 25000, 1, t);
    bl_record_set(r, BL_F_CVL, 56000, 1, t);
    bl_record_set(r, BL_F_CCL, 80000, 1, t);
    bl_record_set(r, BL_F_DCL, 100000, 1, t);
    bl_record_set(r, BL_F_DVL, 48000, 1, t);
    bl_record_set(r, BL_F_TEMP_MIN, 24000, 1, t);
    bl_record_set(r, BL_F_TEMP_MAX, 26000, 1, t);
    bl_record_set(r, BL_F_CELL_V_MIN, 3320, 3, t);
    bl_record_set(r, BL_F_CELL_V_MAX, 3330, 3, t);
    bl_record_set(r, BL_F_CAPACITY, 100000, 1, t);
    bl_record_set(r, BL_F_CYCLE_COUNT, 12, 0, t);
    bl_record_set(r, BL_F_MODULE_COUNT, 1, 0, t);
    bl_record_set(r, BL_F_CHARGE_ENABLE, 1, 0, t);
    bl_record_set(r, BL_F_DISCHARGE_ENABLE, 1, 0, t);
}

static int reset(void **state)
{
    (void)state;
    nsent = 0;
    uart_len = 0;
    mailbox_free = 1000;
    bms_alive_until = BL_NEVER;
    return 0;
}

static const bl_can_frame_t *last_with_id(uint32_t id)
{
    for (unsigned i = nsent; i-- > 0;)
        if (sent[i].id == id)
            return &sent[i];
    return NULL;
}

static unsigned count_id(uint32_t id)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nsent; i++)
        n += sent[i].id == id;
    return n;
}

/* run the main loop the way a tickless firmware does: sleep until the time it returns */
static void run_until(uint64_t *now, uint64_t end)
{
    while (*now < end) {
        uint64_t next = port_poll(*now);
        *now = next > end ? end : (next <= *now ? *now + 1 : next);
    }
}

/* Pylon LV: the battery speaks first, 0x351 every second carries CVL, CCL, DCL (fact sheet
 * can-pylon-lv.md: u16 LE, 0.1 V / 0.1 A): 56.0 V = 560 = 0x0230, 80 A = 0x0320, 100 A = 0x03E8. */
static void test_pylon_lv_broadcasts_the_bms_limits_every_second(void **state)
{
    uint64_t now = 0;
    const bl_can_frame_t *f;
    (void)state;
    assert_int_equal(port_init(&bl_proto_pylon_lv, NULL, 0, 0), 0);
    run_until(&now, 10000);
    assert_in_range(count_id(0x351), 10, 11);
    f = last_with_id(0x351);
    assert_non_null(f);
    assert_int_equal(f->data[0] | f->data[1] << 8, 560);
    assert_int_equal(f->data[2] | f->data[3] << 8, 800);
    assert_int_equal(f->data[4] | f->data[5] << 8, 1000);
    f = last_with_id(0x355); /* SOC 60 %, SOH 100 % */
    assert_non_null(f);
    assert_int_equal(f->data[0], 60);
    assert_int_equal(f->data[2], 100);
}

/* The BMS stops refreshing its data: after the protocol's timeout the limits go to 0 A. */
static void test_a_silent_bms_puts_the_inverter_in_the_safe_state(void **state)
{
    uint64_t now = 0;
    const bl_can_frame_t *f;
    (void)state;
    assert_int_equal(port_init(&bl_proto_pylon_lv, NULL, 0, 0), 0);
    bms_alive_until = 5000;
    run_until(&now, 60000);
    f = last_with_id(0x351);
    assert_non_null(f);
    assert_int_equal(f->data[2] | f->data[3] << 8, 0);
    assert_int_equal(f->data[4] | f->data[5] << 8, 0);
    assert_true(port_stats()->can_safe_frames > 0);
}

/* Full mailboxes delay frames; none is lost or reordered. */
static void test_frames_wait_for_a_free_mailbox(void **state)
{
    uint64_t now = 0;
    (void)state;
    assert_int_equal(port_init(&bl_proto_pylon_lv, NULL, 0, 0), 0);
    mailbox_free = 0;
    run_until(&now, 5);
    assert_int_equal(nsent, 0);
    assert_true(port_stats()->can_tx_busy > 0);
    mailbox_free = 1000;
    run_until(&now, 10);
    assert_true(nsent >= 6); /* the whole first burst, in order, 0x351 first */
    assert_int_equal(sent[0].id, 0x351);
}

/* Pylon HV: the inverter speaks first; 0x4200 with byte 0 = 0 asks for the ensemble
 * information, answered with 0x4210 onwards (fact sheet can-pylon-hv.md). */
static void test_pylon_hv_answers_the_inverters_request(void **state)
{
    uint64_t now = 0;
    bl_can_frame_t req = { .id = 0x4200, .len = 8, .flags = BL_CAN_EXT, .data = { 0 } };
    (void)state;
    assert_int_equal(port_init(&bl_proto_pylon_hv, NULL, 0, 0), 0);
    run_until(&now, 3000);
    assert_int_equal(count_id(0x4210), 0); /* not before the inverter asks */
    port_can_rx_isr(&req);
    run_until(&now, 3100);
    assert_true(count_id(0x4210) >= 1);
    assert_true(port_stats()->can_rx >= 1);
}

/* Pylontech RS485: the 0x42 request of vector PYL-01, one byte per interrupt, is answered
 * by the pack at ADR 2 with a frame whose checksums verify and whose RTN is 0. */
static void test_rs485_request_byte_by_byte_gets_a_verified_answer(void **state)
{
    static const char req[] = "~20024642E00202FD33\r";
    uint8_t info[256];
    bl_pyl_frame_t f;
    bl_rsr_t why;
    uint32_t got, want;
    uint64_t now = 0;
    (void)state;
    assert_int_equal(port_init(NULL, &bl_proto_pylon_rs485, 2, 0), 0);
    for (size_t i = 0; i < sizeof req - 1; i++)
        port_uart_rx_isr((const uint8_t *)&req[i], 1);
    run_until(&now, 10);
    assert_true(uart_len > 18);
    assert_int_equal(uart_out[0], '~');
    assert_int_equal(bl_pyl_parse(uart_out, uart_len, info, sizeof info, &f, &why, &got, &want), 0);
    assert_int_equal(f.adr, 2);
    assert_int_equal(f.cid2, 0); /* RTN 0: normal */
}

/* A request with a wrong checksum is answered with the checksum error code, not with data. */
static void test_rs485_bad_checksum_is_answered_with_an_error_code(void **state)
{
    static const char req[] = "~20024642E00202FD34\r";
    uint8_t info[64];
    bl_pyl_frame_t f;
    bl_rsr_t why;
    uint32_t got, want;
    uint64_t now = 0;
    (void)state;
    assert_int_equal(port_init(NULL, &bl_proto_pylon_rs485, 2, 0), 0);
    port_uart_rx_isr((const uint8_t *)req, sizeof req - 1);
    run_until(&now, 10);
    assert_int_equal(port_stats()->rs485_rejects > 0, 1);
    assert_int_equal(bl_pyl_parse(uart_out, uart_len, info, sizeof info, &f, &why, &got, &want), 0);
    assert_int_equal(f.cid2, 0x02); /* RTN 0x02: CHKSUM error (rs485-pylontech.md §5) */
}

static void test_a_protocol_on_the_wrong_bus_is_refused(void **state)
{
    (void)state;
    assert_true(port_init(NULL, &bl_proto_pylon_lv, 2, 0) < 0);     /* a CAN protocol on the UART */
    assert_true(port_init(&bl_proto_pylon_rs485, NULL, 0, 0) < 0);  /* and the other way round */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pylon_lv_broadcasts_the_bms_limits_every_second, reset),
        cmocka_unit_test_setup(test_a_silent_bms_puts_the_inverter_in_the_safe_state, reset),
        cmocka_unit_test_setup(test_frames_wait_for_a_free_mailbox, reset),
        cmocka_unit_test_setup(test_pylon_hv_answers_the_inverters_request, reset),
        cmocka_unit_test_setup(test_rs485_request_byte_by_byte_gets_a_verified_answer, reset),
        cmocka_unit_test_setup(test_rs485_bad_checksum_is_answered_with_an_error_code, reset),
        cmocka_unit_test_setup(test_a_protocol_on_the_wrong_bus_is_refused, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
