/*
 * bmslink inside BMS firmware: the glue a port writes (port.c) and the four hooks
 * the board provides (hal_*). The core never calls the hardware and never reads a
 * clock: interrupts drop bytes and frames into rings, the main loop hands them to
 * bmslink with the time, and bmslink says when it next needs to run.
 */
#ifndef BL_PORT_H
#define BL_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bmslink/frame.h"
#include "bmslink/model.h"
#include "bmslink/protocol.h"

/* ---- provided by the board (the worked example in docs/porting.md) ---- */

/* Queue one frame on the CAN peripheral. false: mailboxes full, try again later. */
bool hal_can_send(const bl_can_frame_t *f);
/* Write bytes to the RS485 UART and return when the last stop bit has left
 * (the driver enables the transceiver's DE pin before and releases it after). */
void hal_rs485_write(const uint8_t *d, size_t n);
/* The BMS's own measurements and limits into rec, each stamped with now_ms;
 * fields it does not know stay invalid (they go out in the safe state). */
void hal_bms_fill(bl_record_t *rec, uint64_t now_ms);

/* ---- called by the board ---- */

/* Set up both links. Either may be NULL. Name the protocol objects themselves
 * (extern const bl_protocol_t bl_proto_pylon_lv, ...): the linker then keeps only
 * those tables, where bl_protocol_find("name") would pull in every protocol.
 * 0 ok, BL_EINVAL a protocol on the wrong bus. */
int port_init(const bl_protocol_t *can, const bl_protocol_t *rs485, uint8_t rs485_addr, uint64_t now_ms);
/* From the CAN receive interrupt: one received frame (copied; dropped and counted when full). */
void port_can_rx_isr(const bl_can_frame_t *f);
/* From the UART receive interrupt: received bytes. */
void port_uart_rx_isr(const uint8_t *d, size_t n);
/* From the main loop or an RTOS task: do what is due at now_ms; returns when to run next
 * (the board may sleep until then or until an interrupt). */
uint64_t port_poll(uint64_t now_ms);

/* Counters for a debug console; only ever incremented. */
typedef struct {
    uint32_t can_rx, can_rx_dropped, can_tx, can_tx_busy, can_safe_frames;
    uint32_t uart_rx_dropped, rs485_answers, rs485_rejects;
} port_stats_t;
const port_stats_t *port_stats(void);

#endif
