/*
 * Modbus RTU and TCP through libmodbus: client reads, a server that answers
 * from a register map, and captured RTU frames checked by libmodbus. No
 * Modbus framing or CRC is written here; libmodbus does all of it.
 */
#include "bmslink/modbus.h"
#include "bmslink/tty.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef BL_HAVE_LIBMODBUS
#include <modbus/modbus.h>
#include <sys/select.h>
#include <unistd.h>
#endif

int bl_mb_parse_uri(const char *uri, uint32_t dflt_baud, int dflt_unit, bl_mb_link_t *l, char *err, size_t errlen)
{
    char spec[256], *hash;

    memset(l, 0, sizeof *l);
    l->unit = dflt_unit;
    l->listen_fd = l->client_fd = -1;
    if (strncmp(uri, "modbus-tcp:", 11) == 0) {
        l->tcp = true;
        uri += 11;
    } else if (strncmp(uri, "modbus-rtu:", 11) == 0) {
        uri += 11;
    } else {
        snprintf(err, errlen, "expected modbus-rtu:DEV@BAUD[,8N1]#UNIT or modbus-tcp:HOST:PORT#UNIT");
        return BL_EINVAL;
    }
    if (strlen(uri) >= sizeof spec) {
        snprintf(err, errlen, "URI too long");
        return BL_EINVAL;
    }
    snprintf(spec, sizeof spec, "%s", uri);
    hash = strrchr(spec, '#');
    if (hash != NULL) {
        char *end;
        long u = strtol(hash + 1, &end, 0);
        if (end == hash + 1 || *end != '\0' || u < 0 || u > 255) {
            snprintf(err, errlen, "expected a unit id 0..255 after '#', got '%s'", hash + 1);
            return BL_EINVAL;
        }
        l->unit = (int)u;
        *hash = '\0';
    }
    if (l->tcp) {
        char *end;
        long port;
        char *colon = strrchr(spec, ':');
        if (colon == NULL || colon == spec) {
            snprintf(err, errlen, "expected HOST:PORT (e.g. modbus-tcp:127.0.0.1:502#1)");
            return BL_EINVAL;
        }
        port = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535) {
            snprintf(err, errlen, "expected a TCP port 1..65535 after ':', got '%s'", colon + 1);
            return BL_EINVAL;
        }
        *colon = '\0';
        if (strlen(spec) >= sizeof l->dev) {
            snprintf(err, errlen, "host name too long");
            return BL_EINVAL;
        }
        memcpy(l->dev, spec, strlen(spec) + 1);
        l->port = (int)port;
        return 0;
    }
    {
        bl_tty_cfg_t cfg;
        const char *why = NULL;
        if (bl_tty_parse(spec, dflt_baud, &cfg, &why) < 0) {
            snprintf(err, errlen, "%s (modbus-rtu:DEV@BAUD[,8N1]#UNIT)", why);
            return BL_EINVAL;
        }
        memcpy(l->dev, cfg.dev, sizeof l->dev);
        l->baud = cfg.baud;
        l->parity = cfg.parity;
        l->data_bits = cfg.data_bits;
        l->stop_bits = cfg.stop_bits;
    }
    if (l->unit > 247) {
        snprintf(err, errlen, "Modbus RTU unit ids are 0..247, got %d", l->unit);
        return BL_EINVAL;
    }
    return 0;
}

#ifndef BL_HAVE_LIBMODBUS

static int no_lib(char *err, size_t errlen)
{
    snprintf(err, errlen, "this build has no libmodbus (install libmodbus-dev and rebuild)");
    return BL_ENOTSUP;
}

int bl_mb_client_open(bl_mb_link_t *l, uint32_t reply_ms, char *err, size_t errlen)
{
    (void)l, (void)reply_ms;
    return no_lib(err, errlen);
}

int bl_mb_read(bl_mb_link_t *l, const bl_mb_block_t *b, uint16_t *regs, int *exc, char *err, size_t errlen)
{
    (void)l, (void)b, (void)regs, (void)exc;
    return no_lib(err, errlen);
}

int bl_mb_server_open(bl_mb_link_t *l, char *err, size_t errlen)
{
    (void)l;
    return no_lib(err, errlen);
}

int bl_mb_serve(bl_mb_link_t *l, int timeout_ms, bl_mb_handler_t h, void *hctx, bl_mb_request_t *rq, char *err,
                size_t errlen)
{
    (void)l, (void)timeout_ms, (void)h, (void)hctx, (void)rq;
    return no_lib(err, errlen);
}

void bl_mb_close(bl_mb_link_t *l)
{
    (void)l;
}

int bl_mb_parse_rtu(const uint8_t *frame, size_t n, bl_mb_adu_t *a, bl_rsr_t *why)
{
    (void)frame, (void)n, (void)a;
    *why = BL_RSR_NONE;
    return BL_ENOTSUP;
}

#else

static void set_timeout_ms(modbus_t *ctx, uint32_t ms, bool indication)
{
    uint32_t s = ms / 1000u, us = (ms % 1000u) * 1000u;
    if (s == 0 && us == 0)
        us = 1000; /* 0/0 means "wait forever" to libmodbus */
    if (indication)
        modbus_set_indication_timeout(ctx, s, us);
    else
        modbus_set_response_timeout(ctx, s, us);
}

static int new_ctx(bl_mb_link_t *l, char *err, size_t errlen)
{
    if (l->tcp) {
        char port[16];
        snprintf(port, sizeof port, "%d", l->port);
        l->ctx = modbus_new_tcp_pi(l->dev, port);
    } else {
        l->ctx = modbus_new_rtu(l->dev, (int)l->baud, l->parity, l->data_bits, l->stop_bits);
    }
    if (l->ctx == NULL) {
        snprintf(err, errlen, "%s: %s", l->dev, modbus_strerror(errno));
        return BL_EIO;
    }
    if (!l->tcp && modbus_set_slave(l->ctx, l->unit) < 0) {
        snprintf(err, errlen, "unit %d: %s", l->unit, modbus_strerror(errno));
        return BL_EINVAL;
    }
    if (l->tcp)
        modbus_set_slave(l->ctx, l->unit);
    return 0;
}

static void rtu_mode(bl_mb_link_t *l)
{
    /* a pty has no RS485 mode (ENOTTY): the caller says so, it is not an error */
    l->rs485_mode = modbus_rtu_set_serial_mode(l->ctx, MODBUS_RTU_RS485) == 0;
}

int bl_mb_client_open(bl_mb_link_t *l, uint32_t reply_ms, char *err, size_t errlen)
{
    int rc = new_ctx(l, err, errlen);
    if (rc < 0)
        return rc;
    set_timeout_ms(l->ctx, reply_ms, false);
    modbus_set_error_recovery(l->ctx, MODBUS_ERROR_RECOVERY_PROTOCOL);
    if (modbus_connect(l->ctx) < 0) {
        snprintf(err, errlen, "%s%s%.0d: %s", l->dev, l->tcp ? ":" : "", l->tcp ? l->port : 0, modbus_strerror(errno));
        modbus_free(l->ctx);
        l->ctx = NULL;
        return BL_EIO;
    }
    if (!l->tcp)
        rtu_mode(l);
    return 0;
}

int bl_mb_read(bl_mb_link_t *l, const bl_mb_block_t *b, uint16_t *regs, int *exc, char *err, size_t errlen)
{
    uint8_t bits[2000];
    int rc, e;

    *exc = 0;
    l->requests++;
    switch (b->table) {
    case BL_MB_HR: rc = modbus_read_registers(l->ctx, b->start, b->count, regs); break;
    case BL_MB_IR: rc = modbus_read_input_registers(l->ctx, b->start, b->count, regs); break;
    case BL_MB_CO: rc = modbus_read_bits(l->ctx, b->start, b->count > 2000 ? 2000 : b->count, bits); break;
    default: rc = modbus_read_input_bits(l->ctx, b->start, b->count > 2000 ? 2000 : b->count, bits); break;
    }
    if (rc >= 0) {
        l->replies++;
        if (b->table == BL_MB_CO || b->table == BL_MB_DI)
            for (int i = 0; i < rc; i++)
                regs[i] = bits[i] ? 1 : 0;
        return 0;
    }
    e = errno;
    snprintf(err, errlen, "%s", modbus_strerror(e));
    if (e == ETIMEDOUT) {
        l->timeouts++;
        return BL_ETIMEDOUT;
    }
    if (e > MODBUS_ENOBASE && e <= EMBXGTAR) {
        l->exceptions++;
        *exc = e - MODBUS_ENOBASE;
        return BL_EBADMSG;
    }
    if (e == EMBBADCRC || e == EMBBADDATA || e == EMBBADSLAVE || e == EMBMDATA || e == EMBBADEXC || e == EMBUNKEXC) {
        l->crc_errors++;
        return BL_EBADMSG;
    }
    return BL_EIO;
}

int bl_mb_server_open(bl_mb_link_t *l, char *err, size_t errlen)
{
    int rc = new_ctx(l, err, errlen);
    if (rc < 0)
        return rc;
    if (l->tcp) {
        l->listen_fd = modbus_tcp_pi_listen(l->ctx, 1);
        if (l->listen_fd < 0) {
            snprintf(err, errlen, "listen on %s:%d: %s", l->dev, l->port, modbus_strerror(errno));
            return BL_EIO;
        }
        return 0;
    }
    if (modbus_connect(l->ctx) < 0) {
        snprintf(err, errlen, "%s: %s", l->dev, modbus_strerror(errno));
        return BL_EIO;
    }
    rtu_mode(l);
    return 0;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static int tcp_accept(bl_mb_link_t *l, int timeout_ms)
{
    fd_set rs;
    struct timeval tv = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000 };
    int rc;
    FD_ZERO(&rs);
    FD_SET(l->listen_fd, &rs);
    do {
        rc = select(l->listen_fd + 1, &rs, NULL, NULL, timeout_ms < 0 ? NULL : &tv);
    } while (rc < 0 && errno == EINTR);
    if (rc <= 0)
        return rc;
    l->client_fd = modbus_tcp_pi_accept(l->ctx, &l->listen_fd);
    return l->client_fd < 0 ? -1 : 1;
}

static void tcp_drop(bl_mb_link_t *l)
{
    if (l->client_fd >= 0)
        close(l->client_fd);
    l->client_fd = -1;
    modbus_set_socket(l->ctx, -1);
}

/* One mapping holding exactly the table and range of the request. */
static modbus_mapping_t *mapping_for(const bl_mb_request_t *rq, const uint16_t *vals)
{
    modbus_mapping_t *m;
    unsigned s = rq->start, c = rq->count;
    switch (rq->table) {
    case BL_MB_CO: m = modbus_mapping_new_start_address(s, c, 0, 0, 0, 0, 0, 0); break;
    case BL_MB_DI: m = modbus_mapping_new_start_address(0, 0, s, c, 0, 0, 0, 0); break;
    case BL_MB_HR: m = modbus_mapping_new_start_address(0, 0, 0, 0, s, c, 0, 0); break;
    default: m = modbus_mapping_new_start_address(0, 0, 0, 0, 0, 0, s, c); break;
    }
    if (m == NULL || vals == NULL)
        return m;
    for (unsigned i = 0; i < c; i++) {
        switch (rq->table) {
        case BL_MB_CO: m->tab_bits[i] = vals[i] ? 1 : 0; break;
        case BL_MB_DI: m->tab_input_bits[i] = vals[i] ? 1 : 0; break;
        case BL_MB_HR: m->tab_registers[i] = vals[i]; break;
        default: m->tab_input_registers[i] = vals[i]; break;
        }
    }
    return m;
}

/* What the request asks, from its PDU. false: a function this server does not offer. */
static bool request_of(const uint8_t *req, int hl, int len, bl_mb_request_t *rq, uint16_t *wv)
{
    const uint8_t *pdu = req + hl;
    memset(rq, 0, sizeof *rq);
    rq->fc = pdu[0];
    rq->start = be16(pdu + 1);
    switch (rq->fc) {
    case 1: rq->table = BL_MB_CO; rq->count = be16(pdu + 3); return true;
    case 2: rq->table = BL_MB_DI; rq->count = be16(pdu + 3); return true;
    case 3: rq->table = BL_MB_HR; rq->count = be16(pdu + 3); return true;
    case 4: rq->table = BL_MB_IR; rq->count = be16(pdu + 3); return true;
    case 5:
        rq->table = BL_MB_CO, rq->count = 1, rq->write = true;
        wv[0] = be16(pdu + 3) == 0xFF00 ? 1 : 0;
        break;
    case 6:
        rq->table = BL_MB_HR, rq->count = 1, rq->write = true;
        wv[0] = be16(pdu + 3);
        break;
    case 16:
        rq->table = BL_MB_HR, rq->count = be16(pdu + 3), rq->write = true;
        if (rq->count > 123 || hl + 6 + 2 * rq->count > len)
            return false;
        for (size_t i = 0; i < rq->count; i++)
            wv[i] = be16(pdu + 6 + 2 * i);
        break;
    default:
        return false;
    }
    rq->wvals = wv;
    return true;
}

int bl_mb_serve(bl_mb_link_t *l, int timeout_ms, bl_mb_handler_t h, void *hctx, bl_mb_request_t *rqo, char *err,
                size_t errlen)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
    uint16_t vals[2000], wv[128];
    bl_mb_request_t rq;
    modbus_mapping_t *map;
    int rc, hl, exc;

    if (l->tcp && l->client_fd < 0) {
        rc = tcp_accept(l, timeout_ms);
        if (rc <= 0) {
            if (rc < 0)
                snprintf(err, errlen, "accept: %s", strerror(errno));
            return rc < 0 ? BL_EIO : 0;
        }
    }
    set_timeout_ms(l->ctx, timeout_ms < 0 ? 3600000u : (uint32_t)timeout_ms, true);
    rc = modbus_receive(l->ctx, req);
    if (rc < 0) {
        int e = errno;
        if (e == ETIMEDOUT)
            return 0;
        if (e == EMBBADCRC || e == EMBBADDATA || e == EMBMDATA) {
            l->crc_errors++;
            snprintf(err, errlen, "%s", modbus_strerror(e));
            return BL_EBADMSG;
        }
        if (l->tcp) {
            tcp_drop(l); /* the client went away: wait for the next one */
            return 0;
        }
        snprintf(err, errlen, "%s: %s", l->dev, modbus_strerror(e));
        return BL_EIO;
    }
    if (rc == 0)
        return 0; /* a request for another unit on the RTU bus */
    hl = modbus_get_header_length(l->ctx);
    l->requests++;
    if (l->tcp && req[hl - 1] != l->unit && req[hl - 1] != 0xFF) {
        /* TCP: a unit this server is not (a gateway answers 0x0B) */
        l->exceptions++;
        modbus_reply_exception(l->ctx, req, MODBUS_EXCEPTION_GATEWAY_TARGET);
        return 0;
    }
    if (!request_of(req, hl, rc, &rq, wv)) {
        l->exceptions++;
        modbus_reply_exception(l->ctx, req, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
        return 1;
    }
    rq.unit = req[hl - 1];
    if (rq.count == 0 || rq.count > ((rq.table == BL_MB_CO || rq.table == BL_MB_DI) ? 2000u : 125u)) {
        l->exceptions++;
        modbus_reply_exception(l->ctx, req, MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
        return 1;
    }
    exc = h(hctx, &rq, vals);
    if (rqo != NULL)
        *rqo = rq;
    if (exc != 0) {
        l->exceptions++;
        modbus_reply_exception(l->ctx, req, (unsigned)exc);
        return 1;
    }
    map = mapping_for(&rq, rq.write ? NULL : vals);
    if (map == NULL) {
        modbus_reply_exception(l->ctx, req, MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE);
        return 1;
    }
    modbus_reply(l->ctx, req, rc, map); /* libmodbus frames the answer, CRC included */
    modbus_mapping_free(map);
    l->replies++;
    return 1;
}

void bl_mb_close(bl_mb_link_t *l)
{
    if (l->ctx == NULL)
        return;
    if (l->tcp) {
        tcp_drop(l);
        if (l->listen_fd >= 0)
            close(l->listen_fd);
        l->listen_fd = -1;
    }
    modbus_close(l->ctx);
    modbus_free(l->ctx);
    l->ctx = NULL;
}

/* Feed the bytes to libmodbus through a pipe and let it read one message: exact
 * when it consumed every byte and the CRC held. */
static int libmodbus_reads(const uint8_t *frame, size_t n, bool indication, uint8_t *msg, int *err)
{
    int fds[2], rc;
    modbus_t *ctx;
    uint8_t extra;

    *err = 0;
    if (pipe(fds) < 0) {
        *err = errno;
        return -1;
    }
    if (write(fds[1], frame, n) != (ssize_t)n) {
        *err = errno;
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    close(fds[1]);
    ctx = modbus_new_rtu("/dev/null", 9600, 'N', 8, 1);
    if (ctx == NULL) {
        *err = errno;
        close(fds[0]);
        return -1;
    }
    modbus_set_slave(ctx, frame[0]);
    modbus_set_socket(ctx, fds[0]);
    set_timeout_ms(ctx, 50, true);
    set_timeout_ms(ctx, 50, false);
    rc = indication ? modbus_receive(ctx, msg) : modbus_receive_confirmation(ctx, msg);
    if (rc < 0)
        *err = errno;
    else if (read(fds[0], &extra, 1) == 1)
        rc = -2; /* bytes left over: not this reading */
    modbus_set_socket(ctx, -1);
    modbus_free(ctx);
    close(fds[0]);
    return rc;
}

int bl_mb_parse_rtu(const uint8_t *frame, size_t n, bl_mb_adu_t *a, bl_rsr_t *why)
{
    uint8_t msg[MODBUS_RTU_MAX_ADU_LENGTH];
    int rq, rs, e1, e2;

    memset(a, 0, sizeof *a);
    *why = BL_RSR_NONE;
    if (n < 4 || n > MODBUS_RTU_MAX_ADU_LENGTH) {
        *why = BL_RSR_LENGTH;
        return BL_EBADMSG;
    }
    if (frame[0] > 247) {
        *why = BL_RSR_ADDRESS; /* libmodbus takes unit ids 0..247 on RTU */
        return BL_EBADMSG;
    }
    rq = libmodbus_reads(frame, n, true, msg, &e1);
    rs = rq == (int)n ? -1 : libmodbus_reads(frame, n, false, msg, &e2);
    a->unit = frame[0];
    a->fc = frame[1];
    if (rq == (int)n) {
        a->request = true;
        a->start = be16(frame + 2);
        a->count = (a->fc == 5 || a->fc == 6) ? 1 : be16(frame + 4);
        if (a->fc == 5 || a->fc == 6) {
            a->data = frame + 4;
            a->ndata = 2;
        } else if (a->fc == 15 || a->fc == 16) {
            a->data = frame + 7;
            a->ndata = frame[6];
        }
        return 0;
    }
    if (rs == (int)n) {
        if (a->fc & 0x80) {
            a->exception = frame[2];
        } else if (a->fc <= 4) {
            a->byte_count = frame[2];
            a->data = frame + 3;
            a->ndata = frame[2];
        } else {
            a->start = be16(frame + 2);
            a->count = be16(frame + 4);
        }
        return 0;
    }
    *why = (e1 == EMBBADCRC || e2 == EMBBADCRC) ? BL_RSR_CHECKSUM : BL_RSR_LENGTH;
    return BL_EBADMSG;
}

#endif
