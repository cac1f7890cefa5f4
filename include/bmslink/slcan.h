/*
 * slcan (Lawicel ASCII) framing, both directions, pure: bytes in, events out.
 * The transport (src/transports/slcan.c) owns the serial port; this file only
 * knows the line syntax of the CAN232/CANUSB manual and its common dialects:
 *
 *   tIIILDD..[TTTT]\r       11-bit data frame, L = 0..8, optional ms timestamp (Z1)
 *   TIIIIIIIILDD..[TTTT]\r  29-bit data frame
 *   rIIIL[TTTT]\r, RIIIIIIIIL[TTTT]\r   remote frames
 *   d/D/b/B                 CAN FD frames (CANable 2 dialect, L = DLC code 0..F)
 *   \r = ok, \a (BEL) = refused, z\r / Z\r = frame queued, Fxx\r status,
 *   Vxxxx\r / vxxxx\r version, Nxxxx\r serial number.
 * Lines a second host sends (O, C, S6, ...) are recognised and skipped: on a
 * pty joined to another slcan host they are normal traffic, not garbage.
 */
#ifndef BMSLINK_SLCAN_H
#define BMSLINK_SLCAN_H

#include "bmslink/base.h"
#include "bmslink/frame.h"

/* 'T' + 8 id + 1 dlc + 128 data (FD) + 4 timestamp = 142; room for a little more */
#define BL_SLCAN_LINE_MAX 160

typedef enum {
    BL_SLCAN_NONE = 0,   /* every byte used, no event complete */
    BL_SLCAN_FRAME,      /* ev->frame (and ev->ts_ms when has_ts) */
    BL_SLCAN_OK,         /* a bare CR: the last command was accepted */
    BL_SLCAN_BEL,        /* BEL: the last command or frame was refused */
    BL_SLCAN_TX_ACK,     /* "z" / "Z": the adapter queued a frame we sent */
    BL_SLCAN_STATUS,     /* "Fxx": ev->status holds the flags (bl_slcan_status_state) */
    BL_SLCAN_INFO,       /* "V..", "v..", "N..": ev->text holds the reply */
    BL_SLCAN_HOST_CMD,   /* a command line from another host ("O", "S6", ...): skipped */
    BL_SLCAN_BAD         /* ev->why, ev->what, ev->col say what is wrong with the line */
} bl_slcan_kind_t;

typedef struct {
    uint8_t kind;        /* bl_slcan_kind_t */
    bool has_ts;         /* the frame carried the adapter's timestamp */
    uint16_t ts_ms;      /* 0..59999, wraps every minute */
    uint8_t status;      /* BL_SLCAN_STATUS */
    char text[16];       /* BL_SLCAN_INFO, BL_SLCAN_HOST_CMD: the line, NUL-terminated, cut at 15 */
    bl_reject_t why;     /* BL_SLCAN_BAD: BL_REJ_SYNTAX, BL_REJ_LENGTH, BL_REJ_TOO_LONG */
    const char *what;    /* BL_SLCAN_BAD: static text */
    uint16_t col;        /* BL_SLCAN_BAD: 1-based column in the line */
    bl_can_frame_t frame;
} bl_slcan_event_t;

typedef struct {
    char line[BL_SLCAN_LINE_MAX];
    size_t len;
    bool skipping;                   /* dropping the rest of an overlong line */
    uint32_t rejected[BL_REJ_COUNT]; /* BAD events by cause; only ever incremented */
    uint32_t frames;                 /* frames parsed */
} bl_slcan_rx_t;

void bl_slcan_rx_init(bl_slcan_rx_t *p);

/*
 * Feed received bytes; stops at the first complete event.
 * @return bytes used (call again with the rest); *ev->kind is BL_SLCAN_NONE
 *         when all len bytes were used without completing an event.
 * Never reads past buf[len); any byte sequence is safe.
 */
size_t bl_slcan_push(bl_slcan_rx_t *p, const uint8_t *buf, size_t len, bl_slcan_event_t *ev);

/*
 * Write f as an slcan line, CR included (no NUL added).
 * @retval > 0        length
 * @retval BL_EINVAL  slcan cannot carry it: error frame, id out of range for
 *                    its length, classic length > 8, CAN FD remote frame,
 *                    an FD length with no DLC code
 * @retval BL_ENOSPC  size too small (BL_SLCAN_LINE_MAX always suffices)
 */
int bl_slcan_format(const bl_can_frame_t *f, char *buf, size_t size);

/* Command index n of "Sn" for a standard bitrate (bit/s), or BL_EINVAL. */
int bl_slcan_bitrate_code(uint32_t bitrate);
/* The standard bitrates S0..S8, slowest first. */
const uint32_t *bl_slcan_bitrates(size_t *n);

#endif
