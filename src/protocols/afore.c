/*
 * Afore battery CAN (AF17K-THA; BYD HVS is recommended instead). 11-bit, 500 kbit/s,
 * little endian. The inverter sends 0x305 every 1 s (ASCII brand + status); the
 * battery answers with 0x350-0x35A each time. NOTE: 0x350-0x35A clash with the Pylon /
 * SMA 0x35x family (0x351 = limits there, SOC here): decode by bus profile, not id.
 * Fact sheet protocols/can-others.md §F (BE AFORE-CAN, WIKI). M-L.
 */
#include "table.h"

/* 0x350: voltage 0.1 V, current raw = I x 10 + 5000 (+ charging), temperature raw =
 * T x 10 + 1000 (AFR-01) */
static const bl_signal_t afr_0x350[] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("Current", BL_F_CURRENT, LE_AT(2), 16, BL_LE, 0, 100, A(-500), A(-500), A(500), "A"),
    SIG_NUM("Temperature", BL_F_TEMP, LE_AT(4), 16, BL_LE, 0, 100, C(-100), C(-50), C(100), "C"),
};

/* 0x351: SOC, SOH, SOC max / min, enable flags, BMS state (0 init, 1 normal, 2 standby,
 * 3 warning, 4 fault), cell count */
static const bl_signal_t afr_0x351[] = {
    SIG_NUM("SOC", BL_F_SOC, LE_AT(0), 8, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOH", BL_F_SOH, LE_AT(1), 8, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOCMax", BL_F_NONE, LE_AT(2), 8, BL_LE, 0, 1000, 0, 0, 0, "%"),
    SIG_NUM("SOCMin", BL_F_NONE, LE_AT(3), 8, BL_LE, 0, 1000, 0, 0, 0, "%"),
    SIG_BOOL("ChargeEnable", BL_F_CHARGE_ENABLE, BIT_AT(4, 0)),
    SIG_BOOL("DischargeEnable", BL_F_DISCHARGE_ENABLE, BIT_AT(4, 1)),
    SIG_RAW("BmsState", BIT_AT(4, 5), 3, BL_LE, 0, 1),
    SIG_RAW("CellCount", LE_AT(6), 16, BL_LE, 0, 0),
};

/* 0x352: max charge / discharge current, max / min voltage */
static const bl_signal_t afr_0x352[] = {
    SIG_NUM("MaxChargeCurrent", BL_F_CCL, LE_AT(0), 16, BL_LE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_NUM("MaxDischargeCurrent", BL_F_DCL, LE_AT(2), 16, BL_LE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_NUM("MaxVoltage", BL_F_CVL, LE_AT(4), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("MinVoltage", BL_F_DVL, LE_AT(6), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
};

/* 0x354: cell voltage extremes (mV) and cell numbers; 0x355: cell temperature extremes
 * (0.1 °C +1000) and numbers. Four U16 each, in the listed order (inferred, as Pylon HV). */
static const bl_signal_t afr_0x354[] = {
    SIG_NUM("MaxCellVoltage", BL_F_CELL_V_MAX, LE_AT(0), 16, BL_LE, BL_SF_UNVERIFIED, 1, 0, V(0), V(5), "V"),
    SIG_NUM("MinCellVoltage", BL_F_CELL_V_MIN, LE_AT(2), 16, BL_LE, BL_SF_UNVERIFIED, 1, 0, V(0), V(5), "V"),
    SIG_RAW("MaxCellNumber", LE_AT(4), 16, BL_LE, 0, 0),
    SIG_RAW("MinCellNumber", LE_AT(6), 16, BL_LE, 0, 0),
};
static const bl_signal_t afr_0x355[] = {
    SIG_NUM("MaxCellTemperature", BL_F_TEMP_MAX, LE_AT(0), 16, BL_LE, BL_SF_UNVERIFIED, 100, C(-100), C(-50), C(100),
            "C"),
    SIG_NUM("MinCellTemperature", BL_F_TEMP_MIN, LE_AT(2), 16, BL_LE, BL_SF_UNVERIFIED, 100, C(-100), C(-50), C(100),
            "C"),
    SIG_RAW("MaxTempCellNumber", LE_AT(4), 16, BL_LE, 0, 0),
    SIG_RAW("MinTempCellNumber", LE_AT(6), 16, BL_LE, 0, 0),
};

/* 0x353 fault words, 0x356 cell protection limits (mV), 0x357 warning word: layouts not
 * given; read raw, not sent (a zero "no fault" word would be a claim bmslink cannot make) */
static const bl_signal_t afr_raw[] = {
    SIG_RAW("Bytes0to3", LE_AT(0), 32, BL_LE, 0, 0),
    SIG_RAW("Bytes4to7", LE_AT(4), 32, BL_LE, 0, 0),
};

/* 0x305 from the inverter: ASCII brand in bytes 0-4, status in byte 7 */
static const bl_signal_t afr_0x305[] = {
    SIG_TEXTX("InverterBrand", BL_SK_ASCII, BL_F_NONE, 0, 5, 0, "AFORE", 0, -1),
    SIG_RAW("Bytes56", LE_AT(5), 16, BL_LE, 0, 0),
    SIG_NUM("InverterStatus", BL_F_INV_STATE, LE_AT(7), 8, BL_LE, 0, 1000, 0, 0, 0, ""),
};

static const bl_message_t afr_msgs[] = {
    MSG(0x350, 0, BL_DIR_B2I, "voltage_current_temperature", afr_0x350, 8, 6, 0, BL_MF_ON_REQUEST),
    MSG(0x351, 0, BL_DIR_B2I, "soc_soh_flags_state", afr_0x351, 8, 5, 0, BL_MF_ON_REQUEST),
    MSG(0x352, 0, BL_DIR_B2I, "limits", afr_0x352, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x353, 0, BL_DIR_B2I, "faults", afr_raw, 8, 0, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x354, 0, BL_DIR_B2I, "cell_voltage_extremes", afr_0x354, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x355, 0, BL_DIR_B2I, "cell_temperature_extremes", afr_0x355, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x356, 0, BL_DIR_B2I, "cell_protection_limits", afr_raw, 8, 0, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x357, 0, BL_DIR_B2I, "warnings", afr_raw, 8, 0, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x305, 0, BL_DIR_I2B, "inverter_brand_status", afr_0x305, 8, 5, 1000, BL_MF_REQUEST | BL_MF_KEEPALIVE),
};

static const bl_trigger_t afr_triggers[] = {
    TRIG(0x305, 0, ANY, 0, 0, 0, KEEP, BL_TA_RESPOND, 1000, IDS(0x350, 0x351, 0x352, 0x354, 0x355),
         "brand + status every 1 s: the battery answers with its data frames"),
};

static const bl_idfact_t afr_ids[] = {
    IDF("ids 0x350-0x35A", "clash with Pylon LV / SMA 0x351-0x35F", "a bus with both cannot be decoded by id alone"),
    IDF("0x305 bytes 0-4", "inverter brand, ASCII", "the poll; on a Pylon LV bus 0x305 is an all-zero keep-alive"),
};

const bl_protocol_t bl_proto_afore = {
    .name = "afore",
    .title = "Afore battery CAN (AF17K-THA; answers the 0x305 brand poll; ids clash with the 0x35x family)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_LOW,
    .id_bits = 11,
    .byte_order = BL_LE,
    .bitrate = 500000,
    .timeout_ms = 10000,
    .msgs = afr_msgs,
    .nmsgs = BL_ARRAY_LEN(afr_msgs),
    /* fault / warning words have no known layout: safe state = 0 A limits, flags cleared */
    .handshake = DOC("the inverter sends 0x305 (ASCII brand, status in byte 7) every 1 s; the battery replies with "
                     "0x350-0x35A each time"),
    .identity = DOC("the inverter's brand string in 0x305; battery identity not documented"),
    .on_timeout = DOC("not documented"),
    .sources = DOC("BE (AFORE-CAN), WIKI (afore)"),
    .triggers = afr_triggers,
    .ntriggers = BL_ARRAY_LEN(afr_triggers),
    .idfacts = afr_ids,
    .nidfacts = BL_ARRAY_LEN(afr_ids),
};
