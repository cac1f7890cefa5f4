/* The RS485 / RS232 / UART byte transport: "serial:DEV@BAUD[,8N1][#ADDR]" on termios (tty.c). */
#include "bmslink/serial485.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>

int bl_serial485_parse(const char *uri, uint32_t dflt_baud, bl_serial485_t *s, char *err, size_t errlen)
{
    char spec[256];
    const char *why = NULL, *hash;

    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->addr = -1;
    if (strncmp(uri, "serial:", 7) == 0)
        uri += 7;
    if (strlen(uri) >= sizeof spec) {
        snprintf(err, errlen, "URI too long");
        return BL_EINVAL;
    }
    snprintf(spec, sizeof spec, "%s", uri);
    hash = strrchr(spec, '#');
    if (hash != NULL) {
        char *end;
        long a = strtol(hash + 1, &end, 0);
        if (end == hash + 1 || *end != '\0' || a < 0 || a > 255) {
            snprintf(err, errlen, "expected an address 0..255 after '#' (e.g. #2 or #0x12), got '%s'", hash + 1);
            return BL_EINVAL;
        }
        s->addr = (int)a;
        spec[hash - spec] = '\0';
    }
    if (bl_tty_parse(spec, dflt_baud, &s->cfg, &why) < 0) {
        snprintf(err, errlen, "%s (serial:DEV@BAUD[,8N1][#ADDR], e.g. serial:/dev/ttyUSB0@9600,8N1#2)", why);
        return BL_EINVAL;
    }
    return 0;
}

int bl_serial485_open(bl_serial485_t *s, char *err, size_t errlen)
{
    int fd = bl_tty_open(&s->cfg, true, &s->rs485_mode);
    if (fd < 0) {
        if (fd == -EINVAL)
            snprintf(err, errlen, "%s: %u baud is not a rate this port can be set to", s->cfg.dev,
                     (unsigned)s->cfg.baud);
        else
            snprintf(err, errlen, "%s: %s", s->cfg.dev, strerror(-fd));
        return fd;
    }
    s->fd = fd;
    return 0;
}

long bl_serial485_read(bl_serial485_t *s, uint8_t *buf, size_t n, int timeout_ms)
{
    long r = bl_tty_read(s->fd, buf, n, timeout_ms);
    if (r > 0)
        s->rx_bytes += (uint64_t)r;
    return r;
}

int bl_serial485_write(bl_serial485_t *s, const uint8_t *d, size_t n, int timeout_ms)
{
    long r = bl_tty_write(s->fd, d, n, timeout_ms);
    if (r < 0)
        return (int)r;
    s->tx_bytes += (uint64_t)r;
    /* half-duplex: the line is ours until the last bit left the UART */
    (void)tcdrain(s->fd);
    return 0;
}

void bl_serial485_close(bl_serial485_t *s)
{
    if (s->fd >= 0)
        bl_tty_close(s->fd);
    s->fd = -1;
}
