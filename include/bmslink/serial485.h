/*
 * The RS485/RS232/UART byte transport (hosted layer): "serial:DEV@BAUD[,8N1][#ADDR]".
 * Bytes in, bytes out, with deadlines; framing belongs to bl_stream_* (rs485.h).
 * Built on the termios helpers of tty.h.
 */
#ifndef BMSLINK_SERIAL485_H
#define BMSLINK_SERIAL485_H

#include "bmslink/base.h"
#include "bmslink/tty.h"

typedef struct {
    int fd;
    bl_tty_cfg_t cfg;
    int addr;            /* "#ADDR" of the URI (decimal or 0x hex), -1 when absent */
    bool rs485_mode;     /* the driver took TIOCSRS485 (a pty or a plain UART does not) */
    uint64_t rx_bytes, tx_bytes;
} bl_serial485_t;

/*
 * Parse "serial:DEV@BAUD[,8N1][#ADDR]" (the "serial:" prefix may be absent).
 * @retval 0          *s filled (not opened)
 * @retval BL_EINVAL  err says what is wrong with the URI
 */
int bl_serial485_parse(const char *uri, uint32_t dflt_baud, bl_serial485_t *s, char *err, size_t errlen);

/* Open the parsed port raw, with its baud and framing; tries RS485 mode.
 * @retval 0  @retval < 0 -errno (err says why) */
int bl_serial485_open(bl_serial485_t *s, char *err, size_t errlen);

/* Bytes that arrive within timeout_ms (< 0 waits): > 0 count, 0 on timeout, < 0 -errno
 * (-EIO when the other end went away). */
long bl_serial485_read(bl_serial485_t *s, uint8_t *buf, size_t n, int timeout_ms);
/* Write all of d within timeout_ms: 0, or < 0 -errno. */
int bl_serial485_write(bl_serial485_t *s, const uint8_t *d, size_t n, int timeout_ms);
void bl_serial485_close(bl_serial485_t *s);

#endif
