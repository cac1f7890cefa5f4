/*
 * The firmware side of bmslink: CAN battery role (bl_batcan_*) and the RS485 battery
 * role (framer + session + answer) driven from interrupt rings. Everything here is
 * static and sized at compile time: no heap, no libc beyond memcpy/memset/strcmp.
 */
#include "port.h"

#include <string.h>

#include "bmslink/battery_can.h"
#include "bmslink/rs485.h"

/* ---- single-producer / single-consumer rings: the ISR writes head, the loop writes tail.
 * On a single-core Cortex-M, volatile indices written after the data are enough; on a core
 * with a write buffer or cache between ISR and loop (M7), put a __DMB() before each index store. */
#define CAN_RING 32u  /* frames: 32 x 72 B; one Pylon HV burst is 8 */
#define UART_RING 512u /* bytes: a whole Pylon request is 18..40 characters */

static bl_can_frame_t can_ring[CAN_RING];
static volatile uint16_t can_head, can_tail;
static uint8_t uart_ring[UART_RING];
static volatile uint16_t uart_head, uart_tail;

static port_stats_t stats;

/* ---- CAN battery role ---- */
static bool can_on;
static bl_batcan_t bat;
static bl_record_t rec; /* refreshed by the BMS before every send */
static bl_can_frame_t pending[16];
static unsigned npending, sent_from;
static uint64_t can_next_ms = BL_NEVER;

/* ---- RS485 battery role ---- */
static bool rs_on;
static const bl_protocol_t *rs_proto;
static uint8_t rs_addr;
static bl_stream_t framer;
static uint8_t frame_buf[256];  /* longest request the battery answers; longer ones are rejected */
static bl_rs_session_t session;
static uint8_t info_buf[128];
static uint8_t answer_buf[512]; /* a 16-cell Pylon analog answer is ~150 characters */
static uint64_t rs_now_ms;

const port_stats_t *port_stats(void)
{
    return &stats;
}

void port_can_rx_isr(const bl_can_frame_t *f)
{
    uint16_t h = can_head, next = (uint16_t)((h + 1u) % CAN_RING);
    if (next == can_tail) {
        stats.can_rx_dropped++;
        return;
    }
    can_ring[h] = *f;
    can_head = next;
}

void port_uart_rx_isr(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t h = uart_head, next = (uint16_t)((h + 1u) % UART_RING);
        if (next == uart_tail) {
            stats.uart_rx_dropped++; /* the framer will reject the torn frame, never misread it */
            return;
        }
        uart_ring[h] = d[i];
        uart_head = next;
    }
}

/* The framer calls this for every whole frame, reject and noise run. */
static void on_rs485(void *ctx, const bl_stream_ev_t *ev)
{
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_rsr_t why;
    int n;

    (void)ctx;
    if (ev->kind == BL_SEV_REJECT) {
        /* a Pylon pack at the addressed ADR answers a bad checksum with an error code */
        stats.rs485_rejects++;
        n = bl_rs_answer_reject(rs_proto, rs_addr, ev->data, ev->len, (bl_rsr_t)ev->why, answer_buf,
                                sizeof answer_buf, &res);
    } else if (ev->kind == BL_SEV_FRAME) {
        if (bl_rs_session_frame(&session, ev->data, ev->len, info_buf, sizeof info_buf, &f, &why) < 0 || !f.request)
            return; /* another pack's answer on the shared bus */
        hal_bms_fill(&rec, rs_now_ms);
        n = bl_rs_answer(rs_proto, rs_addr, &f, &rec, rs_now_ms, bl_proto_timeout_ms(rs_proto), answer_buf,
                         sizeof answer_buf, &res);
    } else {
        return;
    }
    if (n > 0) {
        hal_rs485_write(answer_buf, (size_t)n);
        stats.rs485_answers++;
    }
}

int port_init(const bl_protocol_t *can, const bl_protocol_t *rs485, uint8_t rs485_addr, uint64_t now_ms)
{
    bl_record_init(&rec);
    can_on = rs_on = false;
    npending = sent_from = 0;
    if (can != NULL) {
        if (bl_batcan_init(&bat, can, now_ms) < 0)
            return BL_EINVAL;
        can_on = true;
        can_next_ms = now_ms;
    }
    if (rs485 != NULL) {
        const bl_rs485_codec_t *c = bl_rs_codec(rs485);
        rs_proto = rs485;
        if (c == NULL || c->kind == BL_RSK_MODBUS || bl_rs_session_init(&session, rs_proto) < 0 ||
            bl_stream_init(&framer, c->framing, frame_buf, sizeof frame_buf, on_rs485, NULL) < 0)
            return BL_EINVAL;
        rs_addr = rs485_addr;
        rs_on = true;
    }
    return 0;
}

static void poll_can(uint64_t now_ms)
{
    while (can_tail != can_head) {
        bl_batcan_rx(&bat, &can_ring[can_tail], now_ms); /* polls, handshakes, keep-alives */
        can_tail = (uint16_t)((can_tail + 1u) % CAN_RING);
        stats.can_rx++;
        can_next_ms = now_ms; /* an answer may be owed now */
    }
    if (sent_from == npending && now_ms >= can_next_ms) {
        hal_bms_fill(&rec, now_ms);
        npending = bl_batcan_tx(&bat, &rec, now_ms, pending, 16, &can_next_ms, NULL);
        sent_from = 0;
    }
    /* frames the mailboxes did not take wait here; fresh ones are not built over them */
    while (sent_from < npending) {
        if (!hal_can_send(&pending[sent_from])) {
            stats.can_tx_busy++;
            if (can_next_ms > now_ms + 1u)
                can_next_ms = now_ms + 1u;
            return;
        }
        sent_from++;
        stats.can_tx++;
    }
    stats.can_safe_frames = bat.safe_frames;
}

uint64_t port_poll(uint64_t now_ms)
{
    uint64_t next = BL_NEVER;

    if (rs_on) {
        uint8_t chunk[64];
        size_t n = 0;
        rs_now_ms = now_ms;
        while (uart_tail != uart_head) {
            chunk[n++] = uart_ring[uart_tail];
            uart_tail = (uint16_t)((uart_tail + 1u) % UART_RING);
            if (n == sizeof chunk) {
                bl_stream_push(&framer, chunk, n);
                n = 0;
            }
        }
        if (n)
            bl_stream_push(&framer, chunk, n);
    }
    if (can_on) {
        poll_can(now_ms);
        next = sent_from < npending ? now_ms + 1u : can_next_ms;
    }
    return next;
}
