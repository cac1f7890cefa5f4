/*
 * SMA Sunny Island external-BMS core rows reused by every 0x35x protocol.
 * Fact sheet protocols/can-sma-si.md §3-§4 (SMA TI FSS-ConnectingBat-TI-en-10,
 * confirmed by a BYD LVS capture, DFCH).
 */
#include "smacore.h"

/*
 * 0x35A: each item is a 2-bit pair, even bit "raised", odd bit "cleared":
 * 01 active, 10 OK, 00/11 no information (a zero-filled frame reports nothing).
 * Bytes 0-3 are alarms, bytes 4-7 the same items as warnings.
 */
#define PAIRS(cls, b, pfx)                                                                     \
    SIG_PAIR(pfx "General", cls, BL_A_INTERNAL, 0, BIT_AT(b, 0)),                              \
    SIG_PAIR(pfx "HighVoltage", cls, BL_A_PACK_OV, AM(BL_A_CELL_OV), BIT_AT(b, 2)),            \
    SIG_PAIR(pfx "LowVoltage", cls, BL_A_PACK_UV, AM(BL_A_CELL_UV), BIT_AT(b, 4)),             \
    SIG_PAIR(pfx "HighTemperature", cls, BL_A_DSG_OT, 0, BIT_AT(b, 6)),                        \
    SIG_PAIR(pfx "LowTemperature", cls, BL_A_DSG_UT, 0, BIT_AT(b + 1, 0)),                     \
    SIG_PAIR(pfx "HighTempCharge", cls, BL_A_CHG_OT, 0, BIT_AT(b + 1, 2)),                     \
    SIG_PAIR(pfx "LowTempCharge", cls, BL_A_CHG_UT, 0, BIT_AT(b + 1, 4)),                      \
    SIG_PAIR(pfx "HighDischargeCurrent", cls, BL_A_DSG_OC, 0, BIT_AT(b + 1, 6)),               \
    SIG_PAIR(pfx "HighChargeCurrent", cls, BL_A_CHG_OC, 0, BIT_AT(b + 2, 0)),                  \
    SIG_PAIR(pfx "Contactor", cls, BL_A_COUNT, 0, BIT_AT(b + 2, 2)),                           \
    SIG_PAIR(pfx "ShortCircuit", cls, BL_A_SHORT, 0, BIT_AT(b + 2, 4)),                        \
    SIG_PAIR(pfx "BmsInternal", cls, BL_A_INTERNAL, 0, BIT_AT(b + 2, 6)),                      \
    SIG_PAIR(pfx "CellImbalance", cls, BL_A_IMBALANCE, 0, BIT_AT(b + 3, 0)),                   \
    SIG_PAIR(pfx "Reserved1", cls, BL_A_COUNT, 0, BIT_AT(b + 3, 2)),                           \
    SIG_PAIR(pfx "Reserved2", cls, BL_A_COUNT, 0, BIT_AT(b + 3, 4)),                           \
    SIG_PAIR(pfx "Generator", cls, BL_A_COUNT, 0, BIT_AT(b + 3, 6))

const bl_signal_t bl_smacore_0x35a[32] = {
    PAIRS(BL_AC_ALARM, 0, "Alarm"),
    PAIRS(BL_AC_WARNING, 4, "Warning"),
};

const bl_signal_t bl_smacore_0x35f[4] = {
    SIG_ASCII("BatteryType", BL_F_NONE, 0, 2, 0, "LI"),
    SIG_VERSION("BmsVersion", BL_F_FIRMWARE, 2, 2, 0),
    SIG_NUM("Capacity", BL_F_CAPACITY, LE_AT(4), 16, BL_LE, 0, 1000, 0, 0, 0, "Ah"),
    SIG_RAW("ManufacturerId", LE_AT(6), 16, BL_LE, 0, 0),
};
