/* Serial ports (termios) for slcan adapters and RS485 lines: the one place that knows termios. */
#ifndef BMSLINK_TTY_H
#define BMSLINK_TTY_H

#include "bmslink/base.h"

typedef struct {
    char dev[128];
    uint32_t baud;
    uint8_t data_bits; /* 5..8 */
    char parity;       /* 'N', 'E', 'O' */
    uint8_t stop_bits; /* 1, 2 */
} bl_tty_cfg_t;

/* "DEV@BAUD[,8N1]" -> cfg (defaults: 8N1, baud = dflt_baud when "@BAUD" is absent).
 * Returns 0, or BL_EINVAL with why set to a static reason. */
int bl_tty_parse(const char *spec, uint32_t dflt_baud, bl_tty_cfg_t *cfg, const char **why);

/* Open raw, non-blocking, with the settings; returns an fd or -errno.
 * rs485: try TIOCSRS485; *rs485_ok tells whether the driver took it. */
int bl_tty_open(const bl_tty_cfg_t *cfg, bool rs485, bool *rs485_ok);

/* Read what is there within timeout_ms (< 0 waits): bytes read, 0 on timeout, -errno (EIO when the
 * other end went away: a pty closed, an adapter unplugged). */
long bl_tty_read(int fd, void *buf, size_t len, int timeout_ms);
/* Write everything (waits while the driver is busy, up to timeout_ms); bytes written or -errno. */
long bl_tty_write(int fd, const void *buf, size_t len, int timeout_ms);
void bl_tty_close(int fd);

#endif
