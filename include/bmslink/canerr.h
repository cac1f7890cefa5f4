/*
 * CAN error frames and bus state. A controller reports trouble as error frames
 * (SocketCAN's layout: the class bits in the id, details in the data bytes; the
 * same frames appear in candump logs as "20000004#..."), and an slcan adapter
 * reports it in its status flags ("F" command). Both become one bus state.
 * Pure and freestanding: the layouts are ABI facts of linux/can/error.h and of
 * the Lawicel protocol, written here as constants.
 */
#ifndef BMSLINK_CANERR_H
#define BMSLINK_CANERR_H

#include "bmslink/base.h"
#include "bmslink/frame.h"

/* Error classes: the id bits of an error frame (linux/can/error.h). */
enum {
    BL_CANERR_TX_TIMEOUT = 0x001u,
    BL_CANERR_LOSTARB = 0x002u,
    BL_CANERR_CRTL = 0x004u,     /* controller status in data[1] */
    BL_CANERR_PROT = 0x008u,     /* protocol violation in data[2], location data[3] */
    BL_CANERR_TRX = 0x010u,      /* transceiver status in data[4] */
    BL_CANERR_ACK = 0x020u,      /* no ACK: nobody else on the bus, or wrong bitrate */
    BL_CANERR_BUSOFF = 0x040u,
    BL_CANERR_BUSERROR = 0x080u,
    BL_CANERR_RESTARTED = 0x100u,
    BL_CANERR_CNT = 0x200u,      /* error counters in data[6] (tx), data[7] (rx) */
    BL_CANERR_NCLASSES = 10
};

/* data[1] bits of BL_CANERR_CRTL */
enum {
    BL_CANERR_CRTL_RX_OVERFLOW = 0x01u,
    BL_CANERR_CRTL_TX_OVERFLOW = 0x02u,
    BL_CANERR_CRTL_RX_WARNING = 0x04u,
    BL_CANERR_CRTL_TX_WARNING = 0x08u,
    BL_CANERR_CRTL_RX_PASSIVE = 0x10u,
    BL_CANERR_CRTL_TX_PASSIVE = 0x20u,
    BL_CANERR_CRTL_ACTIVE = 0x40u
};

/* ISO 11898-1 fault confinement: counters at 96 warn, at 128 the node turns
 * error-passive, above 255 (tx) it goes bus-off. */
#define BL_CAN_WARNING_LIMIT 96u
#define BL_CAN_PASSIVE_LIMIT 128u

typedef enum {
    BL_CANST_UNKNOWN = 0, /* nothing said yet (no error frame, no status) */
    BL_CANST_ACTIVE,      /* error-active: normal */
    BL_CANST_WARNING,     /* an error counter passed 96 */
    BL_CANST_PASSIVE,     /* error-passive: this node no longer flags errors */
    BL_CANST_BUS_OFF,     /* bus-off: the controller stopped sending and receiving */
    BL_CANST_COUNT
} bl_bus_state_t;

/* "unknown", "error-active", "error-warning", "error-passive", "bus-off" */
const char *bl_bus_state_str(unsigned s);

typedef struct {
    uint32_t classes;      /* BL_CANERR_* bits */
    uint8_t state;         /* bl_bus_state_t this frame reports, BL_CANST_UNKNOWN if none */
    uint8_t crtl;          /* data[1] when BL_CANERR_CRTL */
    uint8_t prot, prot_loc;/* data[2], data[3] when BL_CANERR_PROT */
    uint8_t trx;           /* data[4] when BL_CANERR_TRX */
    bool have_counters;
    uint8_t tx_errors, rx_errors;
    bool overflow;         /* the controller lost frames (rx or tx buffer overflow) */
} bl_canerr_t;

/*
 * Interpret an error frame (f->flags has BL_CAN_ERR, f->id the class bits).
 * Data bytes beyond f->len read as 0, as the kernel pads them.
 * @retval 0          *e filled
 * @retval BL_EINVAL  not an error frame; *e cleared
 */
int bl_canerr_parse(const bl_can_frame_t *f, bl_canerr_t *e);

/* Short name of one class bit ("bus-off", "no-ack", ...); NULL for other values. */
const char *bl_canerr_class_str(uint32_t bit);

/* Lawicel "F" status flags (CAN232/CANUSB manual). No bus-off flag exists;
 * passive is the worst state an adapter can report this way. */
enum {
    BL_SLCAN_ST_RX_FULL = 0x01u,
    BL_SLCAN_ST_TX_FULL = 0x02u,
    BL_SLCAN_ST_WARNING = 0x04u,
    BL_SLCAN_ST_OVERRUN = 0x08u,
    BL_SLCAN_ST_PASSIVE = 0x20u,
    BL_SLCAN_ST_ARB_LOST = 0x40u,
    BL_SLCAN_ST_BUS_ERROR = 0x80u
};

/* Bus state an slcan status byte says (active when no error flag is set). */
bl_bus_state_t bl_slcan_status_state(uint8_t status);

#endif
