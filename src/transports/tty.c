/* termios serial ports: raw mode, baud, parity, optional RS485 mode. */
#include "bmslink/tty.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/serial.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static const struct {
    uint32_t baud;
    speed_t code;
} rates[] = {
    { 1200, B1200 },     { 2400, B2400 },     { 4800, B4800 },     { 9600, B9600 },
    { 19200, B19200 },   { 38400, B38400 },   { 57600, B57600 },   { 115200, B115200 },
    { 230400, B230400 }, { 460800, B460800 }, { 500000, B500000 }, { 921600, B921600 },
    { 1000000, B1000000 }, { 2000000, B2000000 }, { 3000000, B3000000 },
};

int bl_tty_parse(const char *spec, uint32_t dflt_baud, bl_tty_cfg_t *cfg, const char **why)
{
    const char *at = strchr(spec, '@');
    size_t n = at ? (size_t)(at - spec) : strlen(spec);

    memset(cfg, 0, sizeof *cfg);
    cfg->baud = dflt_baud;
    cfg->data_bits = 8;
    cfg->parity = 'N';
    cfg->stop_bits = 1;
    if (n == 0 || n >= sizeof cfg->dev) {
        *why = "expected a device path";
        return BL_EINVAL;
    }
    memcpy(cfg->dev, spec, n);
    cfg->dev[n] = '\0';
    if (at == NULL)
        return 0;
    char *end;
    unsigned long b = strtoul(at + 1, &end, 10);
    if (end == at + 1 || b == 0 || b > 4000000) {
        *why = "expected a baud rate after '@'";
        return BL_EINVAL;
    }
    cfg->baud = (uint32_t)b;
    if (*end == '\0')
        return 0;
    if (*end != ',' || strlen(end) != 4 || end[1] < '5' || end[1] > '8' ||
        strchr("NEO", end[2]) == NULL || (end[3] != '1' && end[3] != '2')) {
        *why = "expected framing like ,8N1 ,8E1 ,7O2 after the baud rate";
        return BL_EINVAL;
    }
    cfg->data_bits = (uint8_t)(end[1] - '0');
    cfg->parity = end[2];
    cfg->stop_bits = (uint8_t)(end[3] - '0');
    return 0;
}

int bl_tty_open(const bl_tty_cfg_t *cfg, bool rs485, bool *rs485_ok)
{
    struct termios t;
    speed_t sp = 0;
    int fd;

    for (size_t i = 0; i < BL_ARRAY_LEN(rates); i++)
        if (rates[i].baud == cfg->baud)
            sp = rates[i].code;
    if (sp == 0)
        return -EINVAL;
    fd = open(cfg->dev, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (tcgetattr(fd, &t) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    cfmakeraw(&t);
    t.c_cflag &= (tcflag_t) ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cflag |= cfg->data_bits == 5 ? CS5 : cfg->data_bits == 6 ? CS6 : cfg->data_bits == 7 ? CS7 : CS8;
    if (cfg->parity != 'N')
        t.c_cflag |= PARENB | (cfg->parity == 'O' ? PARODD : 0);
    if (cfg->stop_bits == 2)
        t.c_cflag |= CSTOPB;
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    cfsetispeed(&t, sp);
    cfsetospeed(&t, sp);
    if (tcsetattr(fd, TCSANOW, &t) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (rs485_ok != NULL)
        *rs485_ok = false;
    if (rs485) {
        struct serial_rs485 r;
        memset(&r, 0, sizeof r);
        r.flags = SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND;
        if (ioctl(fd, TIOCSRS485, &r) == 0 && rs485_ok != NULL)
            *rs485_ok = true;
    }
    return fd;
}

long bl_tty_read(int fd, void *buf, size_t len, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int rc;
    ssize_t n;

    do {
        rc = poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    if (rc == 0)
        return 0;
    if ((p.revents & (POLLHUP | POLLERR)) && !(p.revents & POLLIN))
        return -EIO;
    n = read(fd, buf, len);
    if (n < 0)
        return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
    if (n == 0)
        return -EIO; /* end of file on a tty: the other side is gone */
    return n;
}

long bl_tty_write(int fd, const void *buf, size_t len, int timeout_ms)
{
    const uint8_t *p = buf;
    size_t done = 0;

    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        struct pollfd pf = { .fd = fd, .events = POLLOUT };
        int rc = poll(&pf, 1, timeout_ms);
        if (rc == 0)
            return -ETIMEDOUT;
        if (rc < 0 && errno != EINTR)
            return -errno;
    }
    return (long)done;
}

void bl_tty_close(int fd)
{
    if (fd >= 0)
        close(fd);
}
