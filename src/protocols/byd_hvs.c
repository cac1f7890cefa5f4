/*
 * BYD Battery-Box Premium HVS/HVM as HV hybrids expect it (Deye HV, Solis,
 * Sungrow SH, Afore, GoodWe ET/BT). 11-bit, 500 kbit/s, big endian. The battery
 * stays silent until the inverter sends any frame; then 0x110 every 2 s,
 * 0x150/0x1D0/0x210 every 10 s, 0x190 every 60 s, identity on request.
 * Known from one field-proven emulator only (M; constant bytes L).
 * Fact sheet protocols/can-byd-hvs.md (BE BYD-CAN, WIKI).
 */
#include "table.h"

/* 0x110: note the order, DISCHARGE current before CHARGE current (BYD-01) */
static const bl_signal_t byd_0x110[] = {
    SIG_NUM("MaxChargeVoltage", BL_F_CVL, BE_AT(0), 16, BL_BE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("MinDischargeVoltage", BL_F_DVL, BE_AT(2), 16, BL_BE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("MaxDischargeCurrent", BL_F_DCL, BE_AT(4), 16, BL_BE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_NUM("MaxChargeCurrent", BL_F_CCL, BE_AT(6), 16, BL_BE, 0, 100, 0, A(0), A(3000), "A"),
};

/* 0x150: SOC and SOH in 0.01 %, remaining / full-charge capacity 0.1 Ah */
static const bl_signal_t byd_0x150[] = {
    SIG_NUM("SOC", BL_F_SOC, BE_AT(0), 16, BL_BE, 0, 10, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOH", BL_F_SOH, BE_AT(2), 16, BL_BE, 0, 10, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("RemainingCapacity", BL_F_NONE, BE_AT(4), 16, BL_BE, 0, 100, 0, 0, 0, "Ah"),
    SIG_NUM("FullChargeCapacity", BL_F_CAPACITY, BE_AT(6), 16, BL_BE, 0, 100, 0, 0, 0, "Ah"),
};

/* 0x1D0: pack voltage 0.1 V, current S16 0.1 A (+ charging, M), average temperature;
 * bytes 6-7 the emulator's constant 03 08 (meaning unknown, L) */
static const bl_signal_t byd_0x1d0[] = {
    SIG_NUM("PackVoltage", BL_F_VOLTAGE, BE_AT(0), 16, BL_BE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("PackCurrent", BL_F_CURRENT, BE_AT(2), 16, BL_BE, S_SIGNED, 100, 0, A(-3000), A(3000), "A"),
    SIG_NUM("AverageTemperature", BL_F_TEMP, BE_AT(4), 16, BL_BE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_RAW("Constant", BE_AT(6), 16, BL_BE, 0, 0x0308),
};

/* 0x210: temperature extremes */
static const bl_signal_t byd_0x210[] = {
    SIG_NUM("MaxTemperature", BL_F_TEMP_MAX, BE_AT(0), 16, BL_BE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("MinTemperature", BL_F_TEMP_MIN, BE_AT(2), 16, BL_BE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_RAW("Reserved", BE_AT(4), 32, BL_BE, 0, 0),
};

/* 0x190: alarm bits, not decoded by any source; the emulator sends 00 00 03 00 ... (BYD-05) */
static const bl_signal_t byd_0x190[] = {
    SIG_RAW("AlarmBytes01", BE_AT(0), 16, BL_BE, 0, 0),
    SIG_RAW("AlarmByte2", LE_AT(2), 8, BL_LE, 0, 3),
    SIG_RAW("AlarmBytes3to7", BE_AT(3), 40, BL_BE, 0, 0),
};

/* 0x250: firmware (emulator 0x03 0x29), capacity in 0.1 kWh (24 kWh = 240, BYD-06);
 * byte 3 0x66 and bytes 6-7 02 09 unknown */
static const bl_signal_t byd_0x250[] = {
    SIG_VERSION("FirmwareVersion", BL_F_FIRMWARE, 0, 2, BL_SF_HEXVER),
    SIG_RAW("Byte2", LE_AT(2), 8, BL_LE, 0, 0),
    SIG_RAW("Byte3", LE_AT(3), 8, BL_LE, 0, 0x66),
    SIG_NUMX("CapacityEnergy", BL_F_NONE, BE_AT(4), 16, BL_BE, 0, 100, 1, 0, 0, 0, "kWh", -1),
    SIG_RAW("Bytes67", BE_AT(6), 16, BL_BE, 0, 0x0209),
};

/* 0x290: 06 37 10 D9 00 00 00 00, serial or id? (BYD-07, L) */
static const bl_signal_t byd_0x290[] = {
    SIG_RAW("SerialId", BE_AT(0), 32, BL_BE, 0, 0x063710D9),
    SIG_RAW("Reserved", BE_AT(4), 32, BL_BE, 0, 0),
};

/* 0x2D0: 00 'B' 'Y' 'D' 00 00 00 00 */
static const bl_signal_t byd_0x2d0[] = {
    SIG_RAW("Byte0", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_TEXTX("Manufacturer", BL_SK_ASCII, BL_F_MANUFACTURER, 1, 3, 0, "BYD", BL_SF_PAD_NUL, -1),
    SIG_RAW("Reserved", BE_AT(4), 32, BL_BE, 0, 0),
};

/* 0x3D0: four frames, byte 0 = index, bytes 1-7 ASCII: "Battery-Box Premium HVS" */
static const bl_signal_t byd_0x3d0[] = {
    SIG_MUX("Index", LE_AT(0), 8, BL_LE),
    SIG_TEXTX("Model0", BL_SK_ASCII, BL_F_MODEL, 1, 7, 0, "Battery-Box Premium HVS", BL_SF_PAD_NUL, 0),
    SIG_TEXTX("Model1", BL_SK_ASCII, BL_F_MODEL, 1, 7, 7, "Battery-Box Premium HVS", BL_SF_PAD_NUL, 1),
    SIG_TEXTX("Model2", BL_SK_ASCII, BL_F_MODEL, 1, 7, 14, "Battery-Box Premium HVS", BL_SF_PAD_NUL, 2),
    SIG_TEXTX("Model3", BL_SK_ASCII, BL_F_MODEL, 1, 7, 21, "Battery-Box Premium HVS", BL_SF_PAD_NUL, 3),
};

/* ---- inverter -> battery ---- */

/* 0x151: byte 0 bit 0 = 1 asks for the identity frames; otherwise bytes 1-7 carry
 * the inverter brand in ASCII */
static const bl_signal_t inv_0x151[] = {
    SIG_RAW("IdentificationRequest", LE_AT(0), 1, BL_LE, 0, 1),
    SIG_TEXTX("InverterBrand", BL_SK_ASCII, BL_F_NONE, 1, 7, 0, NULL, BL_SF_PAD_NUL, -1),
};
/* 0x091: the inverter's measurements. Its current raw unit is 0.01 A in the emulator's
 * reading (it divides by 10 to get 0.1 A): L */
static const bl_signal_t inv_0x091[] = {
    SIG_NUM("InverterVoltage", BL_F_INV_VOLTAGE, BE_AT(0), 16, BL_BE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("InverterCurrent", BL_F_INV_CURRENT, BE_AT(2), 16, BL_BE, S_SIGNED | BL_SF_UNVERIFIED, 10, 0, 0, 0, "A"),
    SIG_NUM("InverterTemperature", BL_F_INV_TEMP, BE_AT(4), 16, BL_BE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
};
/* 0x0D1: SOC as the inverter sees it, 0.1 % */
static const bl_signal_t inv_0x0d1[] = {
    SIG_NUM("InverterSOC", BL_F_INV_SOC, BE_AT(0), 16, BL_BE, 0, 100, 0, PCT(0), PCT(100), "%"),
};
/* 0x111: timestamp U32 BE; 0x191: alive only */
static const bl_signal_t inv_0x111[] = {
    SIG_NUMX("Timestamp", BL_F_NONE, BE_AT(0), 32, BL_BE, 0, 1000, 1, 0, 0, 0, "s", -1),
};
static const bl_signal_t inv_0x191[] = { SIG_RAW("Alive", LE_AT(0), 8, BL_LE, 0, 0) };

static const bl_message_t byd_msgs[] = {
    MSG(0x110, 0, BL_DIR_B2I, "limits", byd_0x110, 8, 8, 2000, 0),
    MSG(0x150, 0, BL_DIR_B2I, "soc_soh_capacity", byd_0x150, 8, 8, 10000, 0),
    MSG(0x1D0, 0, BL_DIR_B2I, "voltage_current_temperature", byd_0x1d0, 8, 6, 10000, 0),
    MSG(0x210, 0, BL_DIR_B2I, "temperature_extremes", byd_0x210, 8, 4, 10000, 0),
    MSG(0x190, 0, BL_DIR_B2I, "alarms", byd_0x190, 8, 8, 60000, 0),
    MSG(0x250, 0, BL_DIR_B2I, "firmware_capacity", byd_0x250, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x290, 0, BL_DIR_B2I, "serial", byd_0x290, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x2D0, 0, BL_DIR_B2I, "manufacturer", byd_0x2d0, 8, 4, 0, BL_MF_ON_REQUEST),
    MSGX(0x3D0, 0, 0, BL_DIR_B2I, "model_name", byd_0x3d0, 8, 2, 0, BL_MF_ON_REQUEST, 4),
    MSG(0x151, 0, BL_DIR_I2B, "identification_or_brand", inv_0x151, 8, 1, 0, BL_MF_REQUEST | BL_MF_KEEPALIVE),
    MSG(0x091, 0, BL_DIR_I2B, "inverter_measurements", inv_0x091, 8, 6, 0, BL_MF_KEEPALIVE),
    MSG(0x0D1, 0, BL_DIR_I2B, "inverter_soc", inv_0x0d1, 8, 2, 0, BL_MF_KEEPALIVE),
    MSG(0x111, 0, BL_DIR_I2B, "inverter_time", inv_0x111, 8, 4, 0, BL_MF_KEEPALIVE),
    MSG(0x191, 0, BL_DIR_I2B, "inverter_alive", inv_0x191, 8, 0, 0, BL_MF_KEEPALIVE),
};

#define BYD_IDENT IDS(0x250, 0x290, 0x2D0, 0x3D0)

static const bl_trigger_t byd_triggers[] = {
    TRIG(0x151, 0, 0, 0x01, 0x01, 0, KEEP, BL_TA_START | BL_TA_RESPOND, 0, BYD_IDENT,
         "identification request: firmware, serial, \"BYD\", the 4 model-name frames"),
    TRIG(0x151, 0, 0, 0x01, 0x00, 0, KEEP, BL_TA_START, 0, NULL, "inverter brand: the inverter is there"),
    TRIG(0x091, 0, ANY, 0, 0, 0, KEEP, BL_TA_START, 0, NULL, "inverter measurements: start the periodic frames"),
    TRIG(0x0D1, 0, ANY, 0, 0, 0, KEEP, BL_TA_START, 0, NULL, "inverter SOC: start the periodic frames"),
    TRIG(0x111, 0, ANY, 0, 0, 0, KEEP, BL_TA_START, 0, NULL, "inverter time: start the periodic frames"),
    TRIG(0x191, 0, ANY, 0, 0, 0, KEEP, BL_TA_START, 0, NULL, "inverter alive: start the periodic frames"),
};

static const bl_idfact_t byd_ids[] = {
    IDF(
        "0x2D0 / 0x3D0",
        "\"BYD\" / \"Battery-Box Premium HVS\"",
        "Solis battery model \"BYD-HVS/HVM/HVL\"; BatName-FAIL on old Solis firmware"),
    IDF(
        "0x110 current limits",
        "ignored by Deye",
        "Deye stops only at SOC 0 / 100 % or the pack voltage limit (an emulator forces SOC to 100 % at CCL 0, 0 % "
        "at DCL 0)"),
    IDF("0x110 MaxChargeVoltage", "Deye's charge target", "keep it away from the design limit to avoid voltage events"),
    IDF("GoodWe ARM firmware", "17(449)", "blocks battery use"),
};

const bl_protocol_t bl_proto_byd_hvs = {
    .name = "byd-hvs",
    .title = "BYD Battery-Box Premium HVS/HVM as HV hybrids expect it (Deye HV, Solis, Sungrow SH, GoodWe)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_MEDIUM,
    .id_bits = 11,
    .byte_order = BL_BE,
    .bitrate = 500000,
    .timeout_ms = 0, /* 10 x the 2 s limits period */
    .msgs = byd_msgs,
    .nmsgs = BL_ARRAY_LEN(byd_msgs),
    /* 0x190's alarm bits are not decoded by any source: the safe state is 0 A limits only */
    .handshake = DOC("the battery is silent until the inverter sends any of 0x091/0x0D1/0x111/0x151/0x191; then "
                     "0x110 every 2 s, 0x150/0x1D0/0x210 every 10 s, 0x190 every 60 s; identity frames at start-up "
                     "and on 0x151 byte 0 bit 0"),
    .identity = DOC("\"BYD\" (0x2D0) and the model name (0x3D0); Solis needs battery model BYD-HVS/HVM/HVL"),
    .on_timeout = DOC("inverter-side reaction not documented (gap); the emulator calls the inverter missing after 60 "
                      "s (180 s for slow Sungrow)"),
    .sources = DOC("BE (BYD-CAN), WIKI"),
    .triggers = byd_triggers,
    .ntriggers = BL_ARRAY_LEN(byd_triggers),
    .link_timeout_ms = 60000,
    .idfacts = byd_ids,
    .nidfacts = BL_ARRAY_LEN(byd_ids),
};
