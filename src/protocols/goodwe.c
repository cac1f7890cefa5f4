/*
 * GoodWe low-voltage CAN ("BMS Protocol (CAN) for Solar Inverter Family V1.2"), as
 * one visibly buggy implementation has it: 11-bit, little endian, 500 kbit/s assumed.
 * Confidence L: needs an official document before use. GoodWe ET 40/50 K accept only
 * GoodWe Lynx C or BYD.
 * Fact sheet protocols/can-others.md §E (AR; ANCH).
 */
#include "table.h"

/* 0x453: number of packs (its bytes are not given: byte 0, inferred) */
static const bl_signal_t gw_0x453[] = {
    SIG_NUM("PackCount", BL_F_MODULE_COUNT, LE_AT(0), 8, BL_LE, BL_SF_UNVERIFIED, 1000, 0, 0, 0, ""),
};

/* 0x455: U16 alarms + U16 warnings; the implementation's bit lists overlap and contradict
 * each other, so no bit is mapped to a canonical alarm */
static const bl_signal_t gw_0x455[] = {
    SIG_RAW("AlarmWord", LE_AT(0), 16, BL_LE, 0, 0),
    SIG_RAW("WarningWord", LE_AT(2), 16, BL_LE, 0, 0),
};

/* 0x456: charge voltage, CCL, DCL (positive), discharge voltage */
static const bl_signal_t gw_0x456[] = {
    SIG_NUM("ChargeVoltage", BL_F_CVL, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(100), "V"),
    SIG_NUM("ChargeCurrentLimit", BL_F_CCL, LE_AT(2), 16, BL_LE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_NUM("DischargeCurrentLimit", BL_F_DCL, LE_AT(4), 16, BL_LE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_NUM("DischargeVoltage", BL_F_DVL, LE_AT(6), 16, BL_LE, 0, 100, 0, V(0), V(100), "V"),
};

/* 0x457: SOC, SOH (0.01 % per that implementation) */
static const bl_signal_t gw_0x457[] = {
    SIG_NUM("SOC", BL_F_SOC, LE_AT(0), 16, BL_LE, BL_SF_UNVERIFIED, 10, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOH", BL_F_SOH, LE_AT(2), 16, BL_LE, BL_SF_UNVERIFIED, 10, 0, PCT(0), PCT(100), "%"),
};

/* 0x458: voltage 0.1 V, current 0.1 A, temperature 0.1 °C */
static const bl_signal_t gw_0x458[] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(100), "V"),
    SIG_NUM("Current", BL_F_CURRENT, LE_AT(2), 16, BL_LE, S_SIGNED | BL_SF_UNVERIFIED, 100, 0, A(-3000), A(3000), "A"),
    SIG_NUM("Temperature", BL_F_TEMP, LE_AT(4), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
};

static const bl_message_t gw_msgs[] = {
    MSG(0x453, 0, BL_DIR_B2I, "pack_count", gw_0x453, 8, 1, 1000, 0),
    MSG(0x455, 0, BL_DIR_B2I, "alarms_warnings", gw_0x455, 8, 4, 1000, BL_MF_DECODE_ONLY),
    MSG(0x456, 0, BL_DIR_B2I, "limits", gw_0x456, 8, 8, 1000, 0),
    MSG(0x457, 0, BL_DIR_B2I, "soc_soh", gw_0x457, 8, 4, 1000, 0),
    MSG(0x458, 0, BL_DIR_B2I, "voltage_current_temperature", gw_0x458, 8, 6, 1000, 0),
};

const bl_protocol_t bl_proto_goodwe_lv = {
    .name = "goodwe-lv",
    .title = "GoodWe low-voltage BMS CAN V1.2 (one buggy implementation; reference only, needs the official document)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_BATTERY,
    .confidence = BL_CONF_LOW,
    .id_bits = 11,
    .byte_order = BL_LE,
    .bitrate = 500000,
    .timeout_ms = 0,
    .msgs = gw_msgs,
    .nmsgs = BL_ARRAY_LEN(gw_msgs),
    .handshake = DOC("the battery broadcasts 0x453-0x458 (period not documented: 1 s here); no inverter frame is "
                     "known"),
    .identity = DOC("not documented; GoodWe ET 40/50 K accept only GoodWe Lynx C or BYD"),
    .on_timeout = DOC("not documented"),
    .sources = DOC("AR (GoodWe processor), ANCH"),
};
