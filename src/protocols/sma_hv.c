/*
 * SMA high-voltage battery CAN (Sunny Boy Storage, Sunny Boy / Sunny Tripower
 * Smart Energy) with a BYD-compatible battery. 11-bit, 500 kbit/s, big endian.
 * The inverter pairs on 0x5E7 / 0x660, the battery answers with its identity and
 * data, then sends cyclically (HVS timing: 0x358 2 s, 0x3D8/0x4D8/0x518 10 s,
 * 0x458 60 s) while the 12 V enable line is high.
 * Known from three variants of one emulator (M; bytes marked L are guesses).
 * Fact sheet protocols/can-sma-hv.md (BE SMA-BYD-H/HVS/SBS, SmaInverterBase, WIKI).
 */
#include "table.h"

/* 0x358: as BYD 0x110, discharge current before charge current */
static const bl_signal_t smh_0x358[] = {
    SIG_NUM("MaxVoltage", BL_F_CVL, BE_AT(0), 16, BL_BE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("MinVoltage", BL_F_DVL, BE_AT(2), 16, BL_BE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("MaxDischargeCurrent", BL_F_DCL, BE_AT(4), 16, BL_BE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_NUM("MaxChargeCurrent", BL_F_CCL, BE_AT(6), 16, BL_BE, 0, 100, 0, A(0), A(3000), "A"),
};

/* 0x3D8: SOC / SOH 0.01 %, remaining capacity 0.1 Ah, bytes 6-7 unknown (00 FA) */
static const bl_signal_t smh_0x3d8[] = {
    SIG_NUM("SOC", BL_F_SOC, BE_AT(0), 16, BL_BE, 0, 10, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOH", BL_F_SOH, BE_AT(2), 16, BL_BE, 0, 10, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("RemainingCapacity", BL_F_NONE, BE_AT(4), 16, BL_BE, 0, 100, 0, 0, 0, "Ah"),
    SIG_RAW("Bytes67", BE_AT(6), 16, BL_BE, 0, 0x00FA),
};

/* 0x4D8: voltage, current (sign not verified: "signed OK?" in the source), average
 * temperature, battery state (3 ready, 2 stop), byte 7 unknown (0x08) */
static const bl_signal_t smh_0x4d8[] = {
    SIG_NUM("PackVoltage", BL_F_VOLTAGE, BE_AT(0), 16, BL_BE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("PackCurrent", BL_F_CURRENT, BE_AT(2), 16, BL_BE, S_SIGNED | BL_SF_UNVERIFIED, 100, 0, A(-3000), A(3000),
            "A"),
    SIG_NUM("AverageTemperature", BL_F_TEMP, BE_AT(4), 16, BL_BE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_RAW("BatteryState", LE_AT(6), 8, BL_LE, 0, 3),
    SIG_RAW("Byte7", LE_AT(7), 8, BL_LE, 0, 0x08),
};

/* 0x518: temperature extremes, sum of cell voltages, cell extremes in 25 mV steps */
static const bl_signal_t smh_0x518[] = {
    SIG_NUM("MaxTemperature", BL_F_TEMP_MAX, BE_AT(0), 16, BL_BE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("MinTemperature", BL_F_TEMP_MIN, BE_AT(2), 16, BL_BE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("CellVoltageSum", BL_F_NONE, BE_AT(4), 16, BL_BE, 0, 100, 0, 0, 0, "V"),
    SIG_NUM("MinCellVoltage", BL_F_CELL_V_MIN, LE_AT(6), 8, BL_LE, 0, 25, 0, V(0), V(5), "V"),
    SIG_NUM("MaxCellVoltage", BL_F_CELL_V_MAX, LE_AT(7), 8, BL_LE, 0, 25, 0, V(0), V(5), "V"),
};

/* 0x458: lifetime energy, Wh in the emulator (unverified, L) */
static const bl_signal_t smh_0x458[] = {
    SIG_NUMX("ChargedEnergy", BL_F_NONE, BE_AT(0), 32, BL_BE, BL_SF_UNVERIFIED, 1, 1, 0, 0, 0, "kWh", -1),
    SIG_NUMX("DischargedEnergy", BL_F_NONE, BE_AT(4), 32, BL_BE, BL_SF_UNVERIFIED, 1, 1, 0, 0, 0, "kWh", -1),
};

/*
 * 0x158: faults (bytes 0-3) and warnings (bytes 4-7) as 2-bit pairs, 01 triggered,
 * 10 not triggered. Item names from the source's byte list (A9/A6/9A/6A); which of the
 * two "high / low temperature" items is charge and which discharge is inferred from the
 * SMA SI 0x35A order the list follows (L). Several items are internal faults: the
 * encoder raises "internal battery hardware fault" (byte 2 pair 4), as the H/SBS
 * variants do while contactors may not close.
 */
/* a pair that is an overload (canonical) in the fault bytes and "self-diagnosis" (no
 * canonical alarm, sent 10) in the warning bytes */
#define SMH_ITEM(nm, cls, al, st)                                                                        \
    {                                                                                                    \
        .name = (nm), .unit = "", .text = NULL, .mul = 1000, .div = 1, .offset = 0, .min = 0, .max = 0, \
        .def = 2, .flags = 0, .also = 0, .kind = BL_SK_PAIR, .field = BL_F_NONE, .alarm = (al),         \
        .aclass = (cls), .start = (st), .len = 2, .order = BL_LE, .str_off = 0, .mux = -1                \
    }
#define SMH_PAIRS(cls, b, pfx, n1, n2, sd)                                                               \
    SIG_PAIRF(pfx "SystemDefect", cls, BL_A_INTERNAL, 0, BIT_AT(b, 0), BL_SF_DECODE_ONLY),               \
    SIG_PAIR(pfx "CellOverVoltage", cls, BL_A_CELL_OV, 0, BIT_AT(b, 2)),                                 \
    SIG_PAIR(pfx "CellUnderVoltage", cls, BL_A_CELL_UV, 0, BIT_AT(b, 4)),                                \
    SIG_PAIR(pfx "HighTemperature", cls, BL_A_DSG_OT, 0, BIT_AT(b, 6)),                                  \
    SIG_PAIR(pfx "LowTemperature", cls, BL_A_DSG_UT, 0, BIT_AT(b + 1, 0)),                               \
    SIG_PAIR(pfx "HighTemperatureCharge", cls, BL_A_CHG_OT, 0, BIT_AT(b + 1, 2)),                        \
    SIG_PAIR(pfx "LowTemperatureCharge", cls, BL_A_CHG_UT, 0, BIT_AT(b + 1, 4)),                         \
    SMH_ITEM(pfx n1, cls, (sd) ? BL_A_COUNT : BL_A_DSG_OC, BIT_AT(b + 1, 6)),                           \
    SMH_ITEM(pfx n2, cls, (sd) ? BL_A_COUNT : BL_A_CHG_OC, BIT_AT(b + 2, 0)),                           \
    SIG_PAIRC(pfx "SwitchPosition", cls, 2, BIT_AT(b + 2, 2)),                                           \
    SIG_PAIR(pfx "ShortCircuit", cls, BL_A_SHORT, 0, BIT_AT(b + 2, 4)),                                  \
    SIG_PAIR(pfx "InternalHardware", cls, BL_A_INTERNAL, 0, BIT_AT(b + 2, 6)),                           \
    SIG_PAIR(pfx "Imbalance", cls, BL_A_IMBALANCE, 0, BIT_AT(b + 3, 0)),                                 \
    SIG_PAIRC(pfx "ServiceLifeExpiry", cls, 2, BIT_AT(b + 3, 2)),                                        \
    SIG_PAIRF(pfx "ThermalManagement", cls, BL_A_INTERNAL, 0, BIT_AT(b + 3, 4), BL_SF_DECODE_ONLY),      \
    SIG_PAIRF(pfx "InternalHardware2", cls, BL_A_INTERNAL, 0, BIT_AT(b + 3, 6), BL_SF_DECODE_ONLY)

/* warnings: byte 5 pair 4 and byte 6 pair 1 are "self-diagnosis" instead of the overloads.
 * Items without a canonical alarm are sent "10, not triggered", as the emulator sends them. */
static const bl_signal_t smh_0x158[] = {
    SMH_PAIRS(BL_AC_ALARM, 0, "Fault", "Overload1", "Overload2", 0),
    SMH_PAIRS(BL_AC_WARNING, 4, "Warning", "SelfDiagnosis1", "SelfDiagnosis2", 1),
};

/* 0x558: identity, e.g. 03 24 00 04 00 66 04 09 ("SW 3.24, 10.24 kWh, 4 modules"): byte 3 =
 * module count; the software minor byte reads as hex digits (0x24 -> "24") */
static const bl_signal_t smh_0x558[] = {
    SIG_VERSION("SoftwareVersion", BL_F_FIRMWARE, 0, 2, BL_SF_HEXVER),
    SIG_RAW("Byte2", LE_AT(2), 8, BL_LE, 0, 0),
    SIG_NUM("ModuleCount", BL_F_MODULE_COUNT, LE_AT(3), 8, BL_LE, 0, 1000, 0, 0, 0, ""),
    SIG_RAW("Byte4", LE_AT(4), 8, BL_LE, 0, 0),
    SIG_RAW("Byte5", LE_AT(5), 8, BL_LE, 0, 0x66),
    SIG_RAW("Bytes67", BE_AT(6), 16, BL_BE, 0, 0x0409),
};

/* 0x598: serial number, bytes 0-3/4 (L) */
static const bl_signal_t smh_0x598[] = {
    SIG_RAW("Serial", BE_AT(0), 32, BL_BE, 0, 0),
    SIG_RAW("SerialHigh", BE_AT(4), 32, BL_BE, 0, 0),
};

/* 0x5D8: 00 'B' 'Y' 'D' 00 00 00 00 */
static const bl_signal_t smh_0x5d8[] = {
    SIG_RAW("Byte0", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_TEXTX("Manufacturer", BL_SK_ASCII, BL_F_MANUFACTURER, 1, 3, 0, "BYD", BL_SF_PAD_NUL, -1),
    SIG_RAW("Reserved", BE_AT(4), 32, BL_BE, 0, 0),
};

/* 0x618: index + 7 ASCII: "Battery-Box Premium HVS" (4 frames) */
static const bl_signal_t smh_0x618[] = {
    SIG_MUX("Index", LE_AT(0), 8, BL_LE),
    SIG_TEXTX("Model0", BL_SK_ASCII, BL_F_MODEL, 1, 7, 0, "Battery-Box Premium HVS", BL_SF_PAD_NUL, 0),
    SIG_TEXTX("Model1", BL_SK_ASCII, BL_F_MODEL, 1, 7, 7, "Battery-Box Premium HVS", BL_SF_PAD_NUL, 1),
    SIG_TEXTX("Model2", BL_SK_ASCII, BL_F_MODEL, 1, 7, 14, "Battery-Box Premium HVS", BL_SF_PAD_NUL, 2),
    SIG_TEXTX("Model3", BL_SK_ASCII, BL_F_MODEL, 1, 7, 21, "Battery-Box Premium HVS", BL_SF_PAD_NUL, 3),
};

/* ---- inverter -> battery ---- */

/* 0x360: inverter voltage and current, BE; units not stated (0.1 V / 0.1 A assumed, L) */
static const bl_signal_t inv_0x360[] = {
    SIG_NUM("InverterVoltage", BL_F_INV_VOLTAGE, BE_AT(0), 16, BL_BE, BL_SF_UNVERIFIED, 100, 0, 0, 0, "V"),
    SIG_NUM("InverterCurrent", BL_F_INV_CURRENT, BE_AT(2), 16, BL_BE, S_SIGNED | BL_SF_UNVERIFIED, 100, 0, 0, 0, "A"),
};
static const bl_signal_t inv_raw[] = { SIG_RAW("Data", BE_AT(0), 64, BL_BE, 0, 0) };
static const bl_signal_t inv_0x420[] = {
    SIG_NUMX("Timestamp", BL_F_NONE, BE_AT(0), 32, BL_BE, 0, 1000, 1, 0, 0, 0, "s", -1),
};
/* 0x5E0: strings, bytes 1-3 "SMA" */
static const bl_signal_t inv_0x5e0[] = {
    SIG_RAW("Byte0", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_TEXTX("Vendor", BL_SK_ASCII, BL_F_NONE, 1, 3, 0, "SMA", BL_SF_PAD_NUL, -1),
};

static const bl_message_t smh_msgs[] = {
    MSG(0x358, 0, BL_DIR_B2I, "limits", smh_0x358, 8, 8, 2000, 0),
    MSG(0x3D8, 0, BL_DIR_B2I, "soc_soh_capacity", smh_0x3d8, 8, 6, 10000, 0),
    MSG(0x4D8, 0, BL_DIR_B2I, "voltage_current_temperature_state", smh_0x4d8, 8, 6, 10000, 0),
    MSG(0x518, 0, BL_DIR_B2I, "temperature_cell_extremes", smh_0x518, 8, 8, 10000, 0),
    MSG(0x458, 0, BL_DIR_B2I, "lifetime_energy", smh_0x458, 8, 8, 60000, 0),
    /* 0x158's period is not listed for the HVS variant (H/SBS: 100 ms): sent with the 10 s group */
    MSG(0x158, 0, BL_DIR_B2I, "faults_warnings", smh_0x158, 8, 8, 10000, 0),
    MSG(0x558, 0, BL_DIR_B2I, "identity", smh_0x558, 8, 4, 0, BL_MF_ON_REQUEST),
    MSG(0x598, 0, BL_DIR_B2I, "serial", smh_0x598, 8, 4, 0, BL_MF_ON_REQUEST),
    MSG(0x5D8, 0, BL_DIR_B2I, "manufacturer", smh_0x5d8, 8, 4, 0, BL_MF_ON_REQUEST),
    MSGX(0x618, 0, 0, BL_DIR_B2I, "model_name", smh_0x618, 8, 2, 0, BL_MF_ON_REQUEST, 4),
    MSG(0x360, 0, BL_DIR_I2B, "inverter_voltage_current", inv_0x360, 8, 4, 0, BL_MF_KEEPALIVE),
    MSG(0x3E0, 0, BL_DIR_I2B, "inverter_alive", inv_raw, 8, 0, 0, BL_MF_KEEPALIVE),
    MSG(0x420, 0, BL_DIR_I2B, "inverter_time", inv_0x420, 8, 4, 0, BL_MF_KEEPALIVE),
    MSGX(0x560, 0x7F8, 0, BL_DIR_I2B, "inverter_init", inv_raw, 8, 0, 0, BL_MF_KEEPALIVE, 0),
    MSG(0x5E0, 0, BL_DIR_I2B, "inverter_strings", inv_0x5e0, 8, 4, 0, BL_MF_KEEPALIVE),
    MSG(0x5E7, 0, BL_DIR_I2B, "pairing_request", inv_raw, 8, 0, 0, BL_MF_REQUEST),
    MSG(0x660, 0, BL_DIR_I2B, "pairing_request_2", inv_raw, 8, 0, 0, BL_MF_REQUEST),
    MSG(0x62C, 0, BL_DIR_I2B, "inverter_alive_2", inv_raw, 8, 0, 0, BL_MF_KEEPALIVE),
};

#define SMH_PAIRING IDS(0x558, 0x598, 0x5D8, 0x618, 0x158, 0x358, 0x3D8, 0x458, 0x518, 0x4D8)

static const bl_trigger_t smh_triggers[] = {
    TRIG(0x5E7, 0, ANY, 0, 0, 0, KEEP, BL_TA_START | BL_TA_RESPOND, 0, SMH_PAIRING,
         "pairing request: identity set, then every data frame; cyclic sending starts"),
    TRIG(0x660, 0, ANY, 0, 0, 0, KEEP, BL_TA_START | BL_TA_RESPOND, 0, SMH_PAIRING,
         "pairing request (second id): as 0x5E7"),
    TRIG(0x360, 0, ANY, 0, 0, 0, KEEP, 0, 0, NULL, "inverter alive"),
    TRIG(0x420, 0, ANY, 0, 0, 0, KEEP, 0, 0, NULL, "inverter time: alive"),
};

static const bl_idfact_t smh_ids[] = {
    IDF(
        "0x5D8 / 0x618",
        "\"BYD\" / \"Battery-Box Premium HVS\" or \"Battery-Box H10.2\"",
        "paired in the SMA installation assistant"),
    IDF("0x558 byte 3", "module count (3, 4, ...)", "with the software version and capacity bytes"),
    IDF(
        "12 V enable line (pin 2)",
        "high",
        "the battery may close its contactors only while the inverter drives it; pairing switches the battery on and "
        "off"),
    IDF("CAN channel", "its own", "the inverter has a built-in 120 ohm and cannot share the bus"),
};

const bl_protocol_t bl_proto_sma_hv = {
    .name = "sma-hv",
    .title = "SMA HV battery CAN (Sunny Boy Storage, SB/STP Smart Energy) with a BYD-compatible battery",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_MEDIUM,
    .id_bits = 11,
    .byte_order = BL_BE,
    .bitrate = 500000,
    .timeout_ms = 0,
    .msgs = smh_msgs,
    .nmsgs = BL_ARRAY_LEN(smh_msgs),
    .safe = { [BL_AC_ALARM] = AM(BL_A_INTERNAL) },
    .handshake = DOC("pairing: the inverter sends 0x5E7 or 0x660, the battery answers 0x558/0x598/0x5D8/0x618 then "
                     "0x158/0x358/0x3D8/0x458/0x518/0x4D8, then cyclic (HVS: 0x358 2 s, 0x3D8/0x4D8/0x518 10 s, "
                     "0x458 60 s, frames >= 250 ms apart; H/SBS: every 100 ms) only while the 12 V enable line is "
                     "high"),
    .identity = DOC("\"BYD\" and model name, module count in 0x558; contactors must open on command during pairing"),
    .on_timeout = DOC("SMA boots slowly: the emulator suppresses 'inverter missing' in a grace window and waits ~180 "
                      "s"),
    .sources = DOC("BE (SMA-BYD-H-CAN, SMA-BYD-HVS-CAN, SMA-SBS-BYD-CAN, SmaInverterBase.h), WIKI"),
    .triggers = smh_triggers,
    .ntriggers = BL_ARRAY_LEN(smh_triggers),
    .link_timeout_ms = 180000,
    .idfacts = smh_ids,
    .nidfacts = BL_ARRAY_LEN(smh_ids),
};
