/* A CAN frame as every layer sees it. */
#ifndef BMSLINK_FRAME_H
#define BMSLINK_FRAME_H

#include "bmslink/base.h"

#define BL_CAN_EXT 0x01u  /* 29-bit identifier */
#define BL_CAN_RTR 0x02u  /* remote request, no data */
#define BL_CAN_ERR 0x04u  /* error frame: id holds the SocketCAN error class bits */
#define BL_CAN_FD 0x08u   /* CAN FD frame (len up to 64) */
#define BL_CAN_BRS 0x10u  /* CAN FD: bit rate switch (candump "##1", pcap FD flags 0x01) */
#define BL_CAN_ESI 0x20u  /* CAN FD: error state indicator (candump "##2", pcap FD flags 0x02) */

#define BL_CAN_SFF_MASK 0x000007FFu
#define BL_CAN_EFF_MASK 0x1FFFFFFFu
#define BL_CAN_MAX_DATA 64

typedef struct {
    uint32_t id;    /* 11 or 29 bits, no flag bits */
    uint8_t len;    /* data bytes (DLC for classic frames) */
    uint8_t flags;  /* BL_CAN_* */
    uint8_t data[BL_CAN_MAX_DATA];
} bl_can_frame_t;

#endif
