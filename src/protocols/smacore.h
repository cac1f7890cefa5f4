/* Rows shared by the SMA 0x35x family (sma-si, victron, pylon-lv:v13). */
#ifndef BL_PROTOCOLS_SMACORE_H
#define BL_PROTOCOLS_SMACORE_H

#include "table.h"

/* 0x35A: alarms (bytes 0-3) and warnings (bytes 4-7) as SMA 2-bit pairs */
extern const bl_signal_t bl_smacore_0x35a[32];
/* 0x35F: battery type "LI", BMS version (decimal bytes), capacity Ah, reserved */
extern const bl_signal_t bl_smacore_0x35f[4];

#endif
