/*
 * Modbus RTU and TCP through libmodbus (hosted layer): a client that reads a
 * register map's blocks, a server that answers from a map, and the parsing of
 * captured RTU frames. bmslink never frames Modbus or computes its CRC itself:
 * every byte on the wire goes through libmodbus.
 *
 * URIs (CLI.md): "modbus-rtu:DEV@BAUD[,8N1]#UNIT", "modbus-tcp:HOST:PORT#UNIT".
 */
#ifndef BMSLINK_MODBUS_H
#define BMSLINK_MODBUS_H

#include "bmslink/base.h"
#include "bmslink/rs485.h"

struct _modbus; /* libmodbus' modbus_t */

typedef struct {
    struct _modbus *ctx;
    bool tcp;
    char dev[128];        /* RTU device / TCP host */
    uint32_t baud;
    char parity;
    uint8_t data_bits, stop_bits;
    int port;             /* TCP */
    int unit;             /* slave id / unit identifier */
    bool rs485_mode;      /* RTU: the driver took RS485 mode */
    int listen_fd, client_fd; /* TCP server */
    uint64_t requests, replies, exceptions, crc_errors, timeouts;
} bl_mb_link_t;

/*
 * Parse a modbus-rtu: / modbus-tcp: URI. dflt_unit is used when "#UNIT" is absent.
 * @retval 0  @retval BL_EINVAL (err says why)
 */
int bl_mb_parse_uri(const char *uri, uint32_t dflt_baud, int dflt_unit, bl_mb_link_t *l, char *err, size_t errlen);

/* Client: connect (RTU: open the port; TCP: connect). reply_ms is the response timeout.
 * @retval 0  @retval BL_EIO (err says why)  @retval BL_ENOTSUP libmodbus is not in this build */
int bl_mb_client_open(bl_mb_link_t *l, uint32_t reply_ms, char *err, size_t errlen);

/*
 * Read one block (FC 1/2/3/4 by table). regs receives count values (bits: 0/1).
 * @retval 0             read
 * @retval BL_ETIMEDOUT  no answer
 * @retval BL_EBADMSG    *exc holds the exception code (or 0 for a bad CRC / frame)
 * @retval BL_EIO        the link failed (err says why)
 */
int bl_mb_read(bl_mb_link_t *l, const bl_mb_block_t *b, uint16_t *regs, int *exc, char *err, size_t errlen);

/* Server: open the port (RTU) or listen (TCP).  @retval 0  @retval BL_EIO */
int bl_mb_server_open(bl_mb_link_t *l, char *err, size_t errlen);

/* What a request asked, handed to the server's callback. */
typedef struct {
    uint8_t fc, table;     /* function code; bl_mb_table_t */
    uint16_t start, count; /* first address, registers or bits */
    bool write;            /* FC 5/6/15/16 */
    const uint16_t *wvals; /* written values (write) */
    int unit;
} bl_mb_request_t;

/* Fill regs[0..count) for a read, or accept a write. Return 0, or a Modbus exception
 * code (2 illegal address, 4 device failure, ...) to answer with. */
typedef int (*bl_mb_handler_t)(void *ctx, const bl_mb_request_t *rq, uint16_t *regs);

/*
 * Wait up to timeout_ms for one request and answer it.
 * @retval 1             a request was answered (rq filled when not NULL)
 * @retval 0             nothing arrived (or a request for another unit)
 * @retval BL_EBADMSG    a frame failed libmodbus' checks (CRC): counted, not answered
 * @retval BL_EIO        the link failed
 */
int bl_mb_serve(bl_mb_link_t *l, int timeout_ms, bl_mb_handler_t h, void *hctx, bl_mb_request_t *rq, char *err,
                size_t errlen);

void bl_mb_close(bl_mb_link_t *l);

/* A captured Modbus RTU frame taken apart by libmodbus. */
typedef struct {
    bool request;
    uint8_t unit, fc;
    uint8_t exception;      /* fc & 0x80 answers */
    uint16_t start, count;  /* requests (and write answers) */
    uint8_t byte_count;     /* read answers */
    const uint8_t *data;    /* read answers: the data bytes; write requests: the values */
    size_t ndata;
} bl_mb_adu_t;

/*
 * Check and take apart one RTU frame (address, function, data, CRC) with
 * libmodbus, as a request (indication) or as an answer (confirmation): the
 * reading that consumes every byte with a good CRC wins.
 * @retval 0            *a filled (a->data points into frame)
 * @retval BL_EBADMSG   *why: BL_RSR_CHECKSUM (CRC), BL_RSR_LENGTH (neither reading fits)
 * @retval BL_ENOTSUP   libmodbus is not in this build
 */
int bl_mb_parse_rtu(const uint8_t *frame, size_t n, bl_mb_adu_t *a, bl_rsr_t *why);

#endif
