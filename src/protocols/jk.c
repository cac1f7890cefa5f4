/*
 * JK legacy "4E 57" protocol (JK-B1A24S/B2A24S/BD6A..., RS485 adapter or the UART "GPS"
 * port): 4E 57 LENGTH terminal cmd source transport INFO record 68 00 00 sum16; the
 * read-all answer is a list of "id, value" items whose sizes only the id tells.
 * Fact sheet protocols/rs485-daly-jbd.md §3 (SYSSI-JK docs and captures, DSB jkbms.py):
 * framing H, items M (the vendor's table is shifted against real firmware: the sheet's
 * table follows captures and two implementations).
 */
#include "rs_table.h"

#define JKT(i, nm, fld) I_CONV(i, nm, fld, 2, BL_CONV_JK_TEMP, C(-100), C(155), "C")

static const bl_rs_item_t jk_read_all[] = {
    R_ITEMS,
    /* 0x79: length byte, then (cell number, mV U16) per cell */
    { .sig = SIG_NUMX("CellVoltage", BL_F_NONE, BE_AT(1), 16, BL_BE, 0, 1, 1, 0, V(0), V(5), "V", -1),
      .op = BL_RI_ARRAY, .size = 3, .slot = BL_SLOT_K, .agg = BL_AGG_CELLS, .id = 0x79, .conv = BL_CONV_CELL_NO },
    JKT(0x80, "MosfetTemperature", BL_F_NONE),
    JKT(0x81, "BoxTemperature", BL_F_NONE),
    JKT(0x82, "BatteryTemperature", BL_F_TEMP),
    I_NUM(0x83, "TotalVoltage", BL_F_VOLTAGE, 2, 0, 10, 0, V(0), V(655.35), "V"),
    I_CONV(0x84, "Current", BL_F_CURRENT, 2, BL_CONV_JK_CURRENT, A(-327.68), A(327.67), "A"),
    I_NUM(0x85, "SOC", BL_F_SOC, 1, 0, 1000, 0, PCT(0), PCT(100), "%"),
    I_RAW(0x86, "TemperatureSensors", 1),
    I_NUM(0x87, "CycleCount", BL_F_CYCLE_COUNT, 2, 0, 1000, 0, 0, 0, ""),
    I_NUM(0x89, "TotalCycleCapacity", BL_F_NONE, 4, 0, 1000, 0, 0, 0, "Ah"),
    I_RAW(0x8A, "CellStrings", 2),
    /* 0x8B warnings, 16-bit big endian: bit k is bit k%8 of byte 1 - k/8 */
    I_BIT(0x8B, "ChargeOverVoltage", BL_AC_ALARM, BL_A_PACK_OV, 0, 1, 2),
    I_BIT(0x8B, "DischargeUnderVoltage", BL_AC_ALARM, BL_A_PACK_UV, 0, 1, 3),
    I_BIT(0x8B, "BatteryOverTemperature", BL_AC_ALARM, BL_A_CHG_OT, AM(BL_A_DSG_OT), 1, 4),
    I_BIT(0x8B, "ChargeOverCurrent", BL_AC_ALARM, BL_A_CHG_OC, 0, 1, 5),
    I_BIT(0x8B, "DischargeOverCurrent", BL_AC_ALARM, BL_A_DSG_OC, 0, 1, 6),
    I_BIT(0x8B, "CellDelta", BL_AC_ALARM, BL_A_IMBALANCE, 0, 1, 7),
    I_BIT(0x8B, "BatteryUnderTemperature", BL_AC_ALARM, BL_A_CHG_UT, AM(BL_A_DSG_UT), 0, 1),
    I_BIT(0x8B, "CellOverVoltage", BL_AC_ALARM, BL_A_CELL_OV, 0, 0, 2),
    I_BIT(0x8B, "CellUnderVoltage", BL_AC_ALARM, BL_A_CELL_UV, 0, 0, 3),
    I_RAW(0x8B, "Warnings", 2),
    /* 0x8C status: a BMS without limits charges exactly while its charge MOSFET is on */
    I_BOOL(0x8C, "ChargeMosOn", BL_F_CHARGE_ENABLE, 1, 0),
    I_BOOL(0x8C, "DischargeMosOn", BL_F_DISCHARGE_ENABLE, 1, 1),
    I_RAW(0x8C, "Status", 2),
    I_NUM(0x8E, "PackOverVoltageProtection", BL_F_NONE, 2, 0, 10, 0, 0, 0, "V"),
    I_NUM(0x8F, "PackUnderVoltageProtection", BL_F_NONE, 2, 0, 10, 0, 0, 0, "V"),
    I_NUM(0x90, "CellOverVoltageProtection", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    I_NUM(0x91, "CellOverVoltageRecovery", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    I_NUM(0x92, "CellOverVoltageDelay", BL_F_NONE, 2, 0, 1000, 0, 0, 0, "s"),
    I_NUM(0x93, "CellUnderVoltageProtection", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    I_NUM(0x94, "CellUnderVoltageRecovery", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    I_NUM(0x95, "CellUnderVoltageDelay", BL_F_NONE, 2, 0, 1000, 0, 0, 0, "s"),
    I_NUM(0x96, "CellDeltaProtection", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    I_NUM(0x97, "DischargeOverCurrentProtection", BL_F_NONE, 2, 0, 1000, 0, 0, 0, "A"),
    I_NUM(0x98, "DischargeOverCurrentDelay", BL_F_NONE, 2, 0, 1000, 0, 0, 0, "s"),
    I_NUM(0x99, "ChargeOverCurrentProtection", BL_F_NONE, 2, 0, 1000, 0, 0, 0, "A"),
    I_NUM(0x9A, "ChargeOverCurrentDelay", BL_F_NONE, 2, 0, 1000, 0, 0, 0, "s"),
    I_NUM(0x9B, "BalanceStartVoltage", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    I_NUM(0x9C, "BalanceDelta", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    I_RAW(0x9D, "BalancerSwitch", 1),
    I_RAW(0x9E, "PowerTubeTemperatureProtection", 2),
    I_RAW(0x9F, "PowerTubeTemperatureRecovery", 2),
    I_RAW(0xA0, "BoxTemperatureProtection", 2),
    I_RAW(0xA1, "BoxTemperatureRecovery", 2),
    I_RAW(0xA2, "BatteryTemperatureDifference", 2),
    I_RAW(0xA3, "ChargeHighTemperatureProtection", 2),
    I_RAW(0xA4, "DischargeHighTemperatureProtection", 2),
    I_NUM(0xA5, "ChargeLowTemperatureProtection", BL_F_NONE, 2, S_SIGNED, 1000, 0, 0, 0, "C"),
    I_NUM(0xA6, "ChargeLowTemperatureRecovery", BL_F_NONE, 2, S_SIGNED, 1000, 0, 0, 0, "C"),
    I_NUM(0xA7, "DischargeLowTemperatureProtection", BL_F_NONE, 2, S_SIGNED, 1000, 0, 0, 0, "C"),
    I_NUM(0xA8, "DischargeLowTemperatureRecovery", BL_F_NONE, 2, S_SIGNED, 1000, 0, 0, 0, "C"),
    I_RAW(0xA9, "CellCountSetting", 1),
    I_NUM(0xAA, "CapacitySetting", BL_F_CAPACITY, 4, 0, 1000, 0, 0, 0, "Ah"),
    I_RAW(0xAB, "ChargeMosSwitch", 1),
    I_RAW(0xAC, "DischargeMosSwitch", 1),
    I_RAW(0xAD, "CurrentCalibration", 2),
    I_RAW(0xAE, "BoardAddress", 1),
    I_RAW(0xAF, "BatteryType", 1),
    I_RAW(0xB0, "SleepWait", 2),
    I_RAW(0xB1, "LowCapacityAlarm", 1),
    I_TEXT(0xB2, "Password", BL_F_NONE, 10, ""),
    I_RAW(0xB3, "SpecialChargerSwitch", 1),
    I_TEXT(0xB4, "DeviceId", BL_F_MODEL, 8, "BMSLINK"),
    I_TEXT(0xB5, "ProductionDate", BL_F_NONE, 4, "2401"),
    I_RAW(0xB6, "WorkingTime", 4),
    I_TEXT(0xB7, "SoftwareVersion", BL_F_FIRMWARE, 15, "BMSLINK-1.0"),
    I_RAW(0xB8, "StartCurrentCalibration", 1),
    I_NUM(0xB9, "ActualCapacity", BL_F_NONE, 4, 0, 1000, 0, 0, 0, "Ah"),
    I_TEXT(0xBA, "FactoryId", BL_F_MANUFACTURER, 24, "BMSLINK"),
    /* bmslink answers with the newer current encoding and says so */
    I_CONST(0xC0, "ProtocolVersion", 1, 1),
};

static const bl_rs_item_t jk_rest[] = { R_REST("Data") };

static const bl_rs_msg_t jk_msgs[] = {
    RMSG(0x06, "read_all", jk_read_all, BL_REQ_ONE, 0),
    RMSG(0x03, "read_item", jk_rest, BL_REQ_ONE, BL_RMF_NO_REPLY),
    RMSG(0x02, "write_item", jk_rest, BL_REQ_ONE, BL_RMF_WRITE),
    RMSG(0x01, "activate", jk_rest, BL_REQ_ONE, BL_RMF_NO_REPLY),
    RMSG(0x05, "password", jk_rest, BL_REQ_ONE, BL_RMF_WRITE),
};

static const uint8_t jk_poll[] = { 0x06, 0 };
static const uint8_t jk_none[] = { 0 };

static const bl_rs485_codec_t jk_codec = {
    .kind = BL_RSK_JK,
    .framing = BL_FRAMING_JK,
    .data_bits = 8,
    .parity = 'N',
    .stop_bits = 1,
    .addr_default = 0x00,
    .addr_min = 0x00,
    .addr_max = 0x00,
    .poll_ms = 1000,
    .reply_ms = 1000,
    .gap_ms = 100,
    .msgs = jk_msgs,
    .nmsgs = BL_ARRAY_LEN(jk_msgs),
    .poll = jk_poll,
    .poll_once = jk_none,
};

const bl_protocol_t bl_proto_jk_4e57 = {
    .name = "jk-4e57",
    .title = "JK BMS legacy \"4E 57\" protocol (B1A24S, B2A24S, BD6A ...; RS485 adapter or UART)",
    .bus = BL_BUS_RS485,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_MEDIUM,
    .byte_order = BL_BE,
    .baud = 115200,
    .serial = "115200 8N1; no address (point to point); read-all (command 0x06) at least 100 ms apart, the "
              "answer within 5 s; a sleeping BMS may need command 0x01 first",
    .timeout_ms = 10000,
    .rs485 = &jk_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .handshake = "none: the host sends read-all, the BMS answers with every item",
    .identity = "items 0xB4 device id, 0xB7 software version, 0xBA factory id",
    .on_timeout = "the host retries; the battery role stays silent when its data is stale (no error reply)",
    .sources = "SYSSI-JK (docs and captures), DSB (jkbms.py)",
};
