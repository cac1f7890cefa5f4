/*
 * Sofar "BMS (Extended)" HV multi-battery CAN (HYD 5-20KTL-3PH, battery type
 * "GENERAL"). 29-bit, 500 kbit/s, little endian: the Pylon/SMA id numbers with
 * other scaling (0x356 voltage in 0.1 V), each battery on id + (battery id << 12)
 * (battery 0 -> 0x351, battery 1 -> 0x1351, ... up to 16). The battery sends every
 * 1 s; the inverter queries rarely (0x605 / 0x705).
 * Fact sheet protocols/can-others.md §C (BE SOFAR-CAN; Sofar documents not read). M-L.
 */
#include "table.h"

#define ADDR 0x1FFE0FFFu /* bits 12-16: battery id 0..16 */

/* 0x351: max voltage, max charge current, max discharge current, min voltage */
static const bl_signal_t sof_0x351[] = {
    SIG_NUM("MaxVoltage", BL_F_CVL, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("MaxChargeCurrent", BL_F_CCL, LE_AT(2), 16, BL_LE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_NUM("MaxDischargeCurrent", BL_F_DCL, LE_AT(4), 16, BL_LE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_NUM("MinVoltage", BL_F_DVL, LE_AT(6), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
};

/* 0x355: byte 0 SOC %, byte 2 SOH %; bytes 4-7 as the emulator fills them (FF FF F6 00,
 * meaning not given) */
static const bl_signal_t sof_0x355[] = {
    SIG_NUM("SOC", BL_F_SOC, LE_AT(0), 8, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_RAW("Byte1", LE_AT(1), 8, BL_LE, 0, 0),
    SIG_NUM("SOH", BL_F_SOH, LE_AT(2), 8, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_RAW("Byte3", LE_AT(3), 8, BL_LE, 0, 0),
    SIG_RAW("Bytes45", LE_AT(4), 16, BL_LE, 0, 0xFFFF),
    SIG_RAW("Bytes67", LE_AT(6), 16, BL_LE, 0, 0),
};

/* 0x356: voltage in 0.1 V (not 0.01 V as Pylon LV), current S16 0.1 A, temperature
 * 0.1 °C (the emulator sends its max temperature, SOF-03) */
static const bl_signal_t sof_0x356[] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("Current", BL_F_CURRENT, LE_AT(2), 16, BL_LE, S_SIGNED, 100, 0, A(-3000), A(3000), "A"),
    SIG_NUM("Temperature", BL_F_TEMP, LE_AT(4), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
};

/* 0x359: parallel packs, modules in series, CAN protocol version, cells in series */
static const bl_signal_t sof_0x359[] = {
    SIG_RAW("ParallelPacks", LE_AT(0), 8, BL_LE, 0, 1),
    SIG_NUM("ModulesInSeries", BL_F_MODULE_COUNT, LE_AT(1), 8, BL_LE, 0, 1000, 0, 0, 0, ""),
    SIG_RAW("CanProtocolVersion", LE_AT(2), 8, BL_LE, 0, 0),
    SIG_RAW("CellsInSeries", LE_AT(3), 8, BL_LE, 0, 0),
};

/* 0x35A: alarms, sent only on change (>= 200 ms apart); layout not given: read raw */
static const bl_signal_t sof_0x35a[] = {
    SIG_RAW("AlarmBytes0to3", LE_AT(0), 32, BL_LE, 0, 0),
    SIG_RAW("AlarmBytes4to7", LE_AT(4), 32, BL_LE, 0, 0),
};

/* 0x35E: name, 8 ASCII (SOF-04 "AMASS") */
static const bl_signal_t sof_0x35e[] = {
    SIG_TEXTX("Name", BL_SK_ASCII, BL_F_MANUFACTURER, 0, 8, 0, NULL, BL_SF_PAD_NUL, -1),
};

/* 0x35F: type (0x01 Li-ion), BMS version (3 bytes), capacity Ah, manufacturer id */
static const bl_signal_t sof_0x35f[] = {
    SIG_RAW("BatteryType", LE_AT(0), 8, BL_LE, 0, 0x01),
    SIG_VERSION("BmsVersion", BL_F_FIRMWARE, 1, 3, 0),
    SIG_NUM("Capacity", BL_F_CAPACITY, LE_AT(4), 16, BL_LE, 0, 1000, 0, 0, 0, "Ah"),
    SIG_RAW("ManufacturerId", LE_AT(6), 16, BL_LE, 0, 0),
};

/* 0x30F: remote command, byte 0 0 = normal, byte 1 bit 0 discharge / bit 1 charge enable;
 * about 1 Hz only while non-zero (SOF-05) */
static const bl_signal_t sof_0x30f[] = {
    SIG_RAW("RemoteCommand", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_BOOL("DischargeEnable", BL_F_DISCHARGE_ENABLE, BIT_AT(1, 0)),
    SIG_BOOL("ChargeEnable", BL_F_CHARGE_ENABLE, BIT_AT(1, 1)),
};

/* inverter queries: 0x605 byte 0 target pack, byte 1 inquiry id, byte 2 sub-target;
 * 0x705 history / faults, byte 2 record number. Only the addressed pack replies. */
static const bl_signal_t sof_0x605[] = {
    SIG_RAW("TargetPack", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_RAW("InquiryId", LE_AT(1), 8, BL_LE, 0, 0),
    SIG_RAW("SubTarget", LE_AT(2), 8, BL_LE, 0, 0),
};
static const bl_signal_t sof_0x705[] = {
    SIG_RAW("TargetPack", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_RAW("Byte1", LE_AT(1), 8, BL_LE, 0, 0),
    SIG_RAW("RecordNumber", LE_AT(2), 8, BL_LE, 0, 0),
};

static const bl_message_t sof_msgs[] = {
    MSGX(0x351, ADDR, 1, BL_DIR_B2I, "limits", sof_0x351, 8, 8, 1000, 0, 0),
    MSGX(0x355, ADDR, 1, BL_DIR_B2I, "soc_soh", sof_0x355, 8, 3, 1000, 0, 0),
    MSGX(0x356, ADDR, 1, BL_DIR_B2I, "voltage_current_temperature", sof_0x356, 8, 6, 1000, 0, 0),
    MSGX(0x359, ADDR, 1, BL_DIR_B2I, "composition", sof_0x359, 8, 4, 1000, 0, 0),
    MSGX(0x35A, ADDR, 1, BL_DIR_B2I, "alarms", sof_0x35a, 8, 0, 0, BL_MF_EVENT | BL_MF_DECODE_ONLY, 0),
    MSGX(0x35E, ADDR, 1, BL_DIR_B2I, "name", sof_0x35e, 8, 1, 1000, 0, 0),
    MSGX(0x35F, ADDR, 1, BL_DIR_B2I, "type_version_capacity", sof_0x35f, 8, 6, 1000, 0, 0),
    MSGX(0x30F, ADDR, 1, BL_DIR_B2I, "remote_command", sof_0x30f, 8, 2, 1000, BL_MF_EVENT, 0),
    MSG(0x605, 1, BL_DIR_I2B, "query", sof_0x605, 8, 3, 0, BL_MF_REQUEST),
    MSG(0x705, 1, BL_DIR_I2B, "history_query", sof_0x705, 8, 3, 0, BL_MF_REQUEST),
};

static const bl_idfact_t sof_ids[] = {
    IDF("inverter battery type", "GENERAL", "with a per-battery address; alternatively \"Pylontech\" + pylon-hv"),
    IDF("id + (battery id << 12)", "battery 0..16", "each battery on its own ids (bmslink: --address N)"),
    IDF("0x35E (Name)", "8 ASCII", "shown by the inverter"),
};

const bl_protocol_t bl_proto_sofar = {
    .name = "sofar",
    .title = "Sofar BMS (Extended) HV multi-battery CAN (HYD-3PH, type GENERAL; 29-bit 0x351.. + id << 12)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_BATTERY,
    .confidence = BL_CONF_LOW,
    .id_bits = 29,
    .byte_order = BL_LE,
    .bitrate = 500000,
    .timeout_ms = 0,
    .msgs = sof_msgs,
    .nmsgs = BL_ARRAY_LEN(sof_msgs),
    .addr_shift = 12,
    /* 0x35A's layout is not given: the safe state is 0 A limits and the enable flags cleared */
    .handshake = DOC("the battery sends 0x351-0x35F every 1 s, 0x35A on change, 0x30F while non-zero; the inverter "
                     "queries 0x605 / 0x705 rarely and only the addressed pack replies (0x670-0x6C0, 0x770-0x784: "
                     "layouts not known, not answered)"),
    .identity = DOC("battery address in the ids; name in 0x35E"),
    .on_timeout = DOC("Sofar polls rarely: the emulator treats the link as always alive"),
    .sources = DOC("BE (SOFAR-CAN), WIKI (sofar, zcs_azzurro)"),
    .idfacts = sof_ids,
    .nidfacts = BL_ARRAY_LEN(sof_ids),
};
