/*
 * SMA Sunny Island external-BMS core rows reused by every 0x35x protocol.
 * Fact sheet protocols/can-sma-si.md §3-§4 (SMA TI FSS-ConnectingBat-TI-en-10,
 * confirmed by a BYD LVS capture, DFCH).
 */
#include "smacore.h"

/*
 * 0x351-0x356 as the SMA TI defines them (§3): LE, unused fields sent as
 * "invalid" (0xFFFF unsigned, 0x8000 signed) so the SI keeps its default.
 * Ranges are plausibility limits of a 48 V system; DCL is read as a magnitude.
 */
const bl_signal_t bl_smacore_0x351[4] = {
    SIG_NUM("ChargeVoltage", BL_F_CVL, LE_AT(0), 16, BL_LE, BL_SF_INVALID, 100, 0, V(0), V(100), "V"),
    SIG_NUM("ChargeCurrentLimit", BL_F_CCL, LE_AT(2), 16, BL_LE, S_SIGNED | BL_SF_INVALID, 100, 0, A(0),
            A(3276.7), "A"),
    SIG_NUM("DischargeCurrentLimit", BL_F_DCL, LE_AT(4), 16, BL_LE, S_SIGNED | BL_SF_INVALID | BL_SF_ABS, 100, 0,
            A(0), A(3276.7), "A"),
    SIG_NUM("DischargeVoltage", BL_F_DVL, LE_AT(6), 16, BL_LE, BL_SF_INVALID, 100, 0, V(0), V(100), "V"),
};

/* SOC and SOH in 1 %; bytes 4-5 the 0.01 % SOC the SI prefers when present (0 on
 * zero-padded BYD frames: absent, VIC-04) */
const bl_signal_t bl_smacore_0x355[3] = {
    SIG_NUM("SOC", BL_F_SOC, LE_AT(0), 16, BL_LE, BL_SF_INVALID, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOH", BL_F_SOH, LE_AT(2), 16, BL_LE, BL_SF_INVALID, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOCHiRes", BL_F_SOC, LE_AT(4), 16, BL_LE, BL_SF_ZERO_ABSENT | BL_SF_INVALID, 10, 0, PCT(0), PCT(100),
            "%"),
};

const bl_signal_t bl_smacore_0x356[3] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, LE_AT(0), 16, BL_LE, S_SIGNED | BL_SF_INVALID, 10, 0, V(0), V(100), "V"),
    SIG_NUM("Current", BL_F_CURRENT, LE_AT(2), 16, BL_LE, S_SIGNED | BL_SF_INVALID, 100, 0, A(-3000), A(3000), "A"),
    SIG_NUM("Temperature", BL_F_TEMP, LE_AT(4), 16, BL_LE, S_SIGNED | BL_SF_INVALID, 100, 0, C(-50), C(100), "C"),
};

const bl_signal_t bl_smacore_0x35b[1] = {
    SIG_RAW("Events", LE_AT(0), 64, BL_LE, 0, 0),
};

const bl_signal_t bl_smacore_0x35e[1] = {
    SIG_ASCII("ManufacturerName", BL_F_MANUFACTURER, 0, 8, 0, NULL),
};

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
