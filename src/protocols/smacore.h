/* Rows shared by the SMA 0x35x family (sma-si, victron, pylon-lv:v13). */
#ifndef BL_PROTOCOLS_SMACORE_H
#define BL_PROTOCOLS_SMACORE_H

#include "table.h"

/* 0x351: CVL, CCL, DCL, DVL (0.1 V / 0.1 A); 0xFFFF / 0x8000 = "not available" */
extern const bl_signal_t bl_smacore_0x351[4];
/* 0x355: SOC, SOH (1 %), optional high-resolution SOC (0.01 %) */
extern const bl_signal_t bl_smacore_0x355[3];
/* 0x356: voltage 0.01 V, current 0.1 A (+ charging), temperature 0.1 °C */
extern const bl_signal_t bl_smacore_0x356[3];
/* 0x35A: alarms (bytes 0-3) and warnings (bytes 4-7) as SMA 2-bit pairs */
extern const bl_signal_t bl_smacore_0x35a[32];
/* 0x35B: events, 8 bytes (BYD sends zeros) */
extern const bl_signal_t bl_smacore_0x35b[1];
/* 0x35E: manufacturer name, 8 ASCII */
extern const bl_signal_t bl_smacore_0x35e[1];
/* 0x35F: battery type "LI", BMS version (decimal bytes), capacity Ah, reserved */
extern const bl_signal_t bl_smacore_0x35f[4];

#endif
