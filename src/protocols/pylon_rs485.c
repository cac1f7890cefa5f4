/*
 * Pylontech-style ASCII-hex RS485 ("Pylon LV 485", YD/T 1363.3 family) and its
 * dialects as table differences: Pylontech V3.3, Seplos V2, PACE v25, EG4
 * LifePower4 and Daren DR-1363. Fact sheet protocols/rs485-pylontech.md
 * (PYL33, PYL28, SEP20, SSB, PACE485, PBT, NK20/NK25, EG4DOC, DSB, BE, AR,
 * ISSUES-485). Offsets below are of decoded INFO bytes; fields are big endian.
 */
#include "rs_table.h"

/* ---- Pylontech V3.3 (§6) ------------------------------------------------- */

/* §6.1 0x42 analog values, one block per pack: M cells (mV), N temperatures
 * (0.1 K, 2731; T1 is the BMS board, T2.. the cells), current S16 100 mA,
 * module voltage mV, remaining / total capacity mAh (0xFFFF above 65 Ah: then
 * P = 4 and the U24 values carry them), cycles. Pylontech sends no SOC: it is
 * remaining / total. */
static const bl_rs_item_t pyl_0x42[] = {
    R_COUNT("CellCount", BL_SLOT_M, 0),
    R_ARR("CellVoltage", BL_SLOT_M, 0, 2, 0, 1, 0, V(0), V(5), "V", BL_AGG_CELLS, 0, 0),
    R_COUNT("TemperatureCount", BL_SLOT_N, 5),
    R_ARR("Temperature", BL_SLOT_N, 0, 2, S_SIGNED, 100, KELVIN_2731, C(-60), C(150), "C", BL_AGG_TEMPS, 1, 0),
    R_NUM("Current", BL_F_CURRENT, 2, S_SIGNED, 100, 0, A(-3276.8), A(3276.7), "A"),
    R_NUM("ModuleVoltage", BL_F_VOLTAGE, 2, 0, 1, 0, V(0), V(65.535), "V"),
    R_NUMX("RemainingCapacity1", BL_F_NONE, 2, BL_SF_INVALID, 1, 1, 0, 0, 0, "Ah", BL_SLOT_REMAIN),
    R_COUNT("UserItems", BL_SLOT_P, 4),
    R_NUMX("TotalCapacity1", BL_F_CAPACITY, 2, BL_SF_INVALID, 1, 1, 0, 0, 0, "Ah", BL_SLOT_FULL),
    R_NUM("CycleCount", BL_F_CYCLE_COUNT, 2, 0, 1000, 0, 0, 0, ""),
    R_IF(BL_SLOT_P, 4, 2),
    R_NUMX("RemainingCapacity2", BL_F_NONE, 3, 0, 1, 1, 0, 0, 0, "Ah", BL_SLOT_REMAIN),
    R_NUMX("TotalCapacity2", BL_F_CAPACITY, 3, 0, 1, 1, 0, 0, 0, "Ah", BL_SLOT_FULL),
};

/* §6.2 0x44 alarm info: state bytes (0 normal, 1 below, 2 above the limit),
 * then status 1 (protections), status 2-5 (switches, cells). The states name
 * a cell or module and a temperature without direction: one code stands for
 * the charge and the discharge alarm. A live stack added a trailing 0x00. */
static const bl_rs_item_t pyl_0x44[] = {
    R_COUNT("CellCount", BL_SLOT_M, 0),
    R_STATES("CellState", BL_SLOT_M, 0, BL_AC_ALARM, BL_A_CELL_UV, 0, BL_A_CELL_OV, 0),
    R_COUNT("TemperatureCount", BL_SLOT_N, 5),
    R_STATES("TemperatureState", BL_SLOT_N, 0, BL_AC_ALARM, BL_A_CHG_UT, AM(BL_A_DSG_UT), BL_A_CHG_OT,
             AM(BL_A_DSG_OT)),
    R_STATE("ChargeCurrentState", BL_AC_ALARM, BL_A_COUNT, 0, BL_A_CHG_OC, 0),
    R_STATE("ModuleVoltageState", BL_AC_ALARM, BL_A_PACK_UV, 0, BL_A_PACK_OV, 0),
    R_STATE("DischargeCurrentState", BL_AC_ALARM, BL_A_COUNT, 0, BL_A_DSG_OC, 0),
    R_BIT("ModuleUnderVoltage", BL_AC_PROTECTION, BL_A_PACK_UV, 0, 0, 7),
    R_BIT("ChargeOverTemperature", BL_AC_PROTECTION, BL_A_CHG_OT, 0, 0, 6),
    R_BIT("DischargeOverTemperature", BL_AC_PROTECTION, BL_A_DSG_OT, 0, 0, 5),
    R_BIT("DischargeOverCurrent", BL_AC_PROTECTION, BL_A_DSG_OC, 0, 0, 4),
    R_BIT("ChargeOverCurrent", BL_AC_PROTECTION, BL_A_CHG_OC, 0, 0, 2),
    R_BIT("CellUnderVoltage", BL_AC_PROTECTION, BL_A_CELL_UV, 0, 0, 1),
    R_BIT("ModuleOverVoltage", BL_AC_PROTECTION, BL_A_PACK_OV, 0, 0, 0),
    R_RAW("Status1", 1),
    R_FLAG("UsingPackPower", 0, 3),
    R_FLAG("DischargeMosfetOn", 0, 2),
    R_FLAG("ChargeMosfetOn", 0, 1),
    R_RAW("Status2", 1),
    R_FLAG("EffectiveChargeCurrent", 0, 7),
    R_FLAG("EffectiveDischargeCurrent", 0, 6),
    R_FLAG("FullyCharged", 0, 3),
    R_RAW("Status3", 1),
    R_RAW("Status4", 1),
    R_RAW("Status5", 1),
};

/* §6.3 0x47 system parameters (M: spec only). No canonical fields: these are
 * the pack's thresholds, not its live limits. */
static const bl_rs_item_t pyl_0x47[] = {
    R_RAW("InfoFlag", 1),
    R_NUM("CellHighVoltageLimit", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("CellLowVoltageAlarm", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("CellUnderVoltageProtect", BL_F_NONE, 2, S_SIGNED, 1, 0, 0, 0, "V"),
    R_NUM("ChargeHighTemperatureLimit", BL_F_NONE, 2, S_SIGNED, 100, KELVIN_2731, 0, 0, "C"),
    R_NUM("ChargeLowTemperatureLimit", BL_F_NONE, 2, S_SIGNED, 100, KELVIN_2731, 0, 0, "C"),
    R_NUM("ChargeCurrentLimit", BL_F_NONE, 2, S_SIGNED, 100, 0, 0, 0, "A"),
    R_NUM("ModuleHighVoltageLimit", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("ModuleLowVoltageAlarm", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("ModuleUnderVoltageProtect", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("DischargeHighTemperatureLimit", BL_F_NONE, 2, S_SIGNED, 100, KELVIN_2731, 0, 0, "C"),
    R_NUM("DischargeLowTemperatureLimit", BL_F_NONE, 2, S_SIGNED, 100, KELVIN_2731, 0, 0, "C"),
    R_NUM("DischargeCurrentLimit", BL_F_NONE, 2, S_SIGNED, 100, 0, 0, 0, "A"),
};

/* §6 0x51 manufacturer info: device name 10, software version 2, manufacturer 20. */
static const bl_rs_item_t pyl_0x51[] = {
    R_TEXT("DeviceName", BL_F_MODEL, 10, "BMSLINK"),
    R_VER("SoftwareVersion", BL_F_FIRMWARE, 2, 0),
    R_TEXT("ManufacturerName", BL_F_MANUFACTURER, 20, "BMSLINK"),
};

/* §6.4 0x92 charge/discharge management (H), what inverters act on. Limits in
 * 0.1 A; real packs send the discharge limit negative (0xFE0C = -50.0 A), so
 * the row is negated: decode takes the magnitude, encode sends it as they do. */
static const bl_rs_item_t pyl_0x92[] = {
    R_NUM("ChargeVoltageLimit", BL_F_CVL, 2, 0, 1, 0, V(0), V(65.535), "V"),
    R_NUM("DischargeVoltageLimit", BL_F_DVL, 2, 0, 1, 0, V(0), V(65.535), "V"),
    R_NUM("ChargeCurrentLimit", BL_F_CCL, 2, S_SIGNED | BL_SF_ABS, 100, 0, A(0), A(3276.8), "A"),
    R_NUM("DischargeCurrentLimit", BL_F_DCL, 2, S_SIGNED | BL_SF_ABS, -100, 0, A(0), A(3276.8), "A"),
    R_BOOL("ChargeEnable", BL_F_CHARGE_ENABLE, 0, 7),
    R_BOOL("DischargeEnable", BL_F_DISCHARGE_ENABLE, 0, 6),
    R_BOOL("ChargeImmediately1", BL_F_FORCE_CHARGE, 0, 5),
    R_BOOL("ChargeImmediately2", BL_F_FORCE_CHARGE, 0, 4),
    R_BOOL("FullChargeRequest", BL_F_FULL_CHARGE_REQ, 0, 3),
    R_RAW("Status", 1),
};

/* 0x93 module serial number: command + 16 ASCII */
static const bl_rs_item_t pyl_0x93[] = {
    R_TEXT("SerialNumber", BL_F_NONE, 16, "BMSLINK-SIM-0001"),
};

/* 0x94 set charge/discharge management (request): ADR + 4 x U16 */
static const bl_rs_item_t pyl_0x94_req[] = {
    R_RAW("Command", 1),
    R_NUM("ChargeVoltage", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("DischargeVoltage", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("MaxChargeCurrent", BL_F_NONE, 2, S_SIGNED, 100, 0, 0, 0, "A"),
    R_NUM("MaxDischargeCurrent", BL_F_NONE, 2, S_SIGNED, 100, 0, 0, 0, "A"),
};

/* 0x96 software version: command + manufacture version (2) + main-line version (3) */
static const bl_rs_item_t pyl_0x96[] = {
    R_VER("ManufactureVersion", BL_F_NONE, 2, 0),
    R_VER("MainlineVersion", BL_F_FIRMWARE, 3, 0),
};

/* §6, §8: undocumented 0x82 with INFO 85 20 switches the RS232 console out of protocol mode */
static const bl_rs_item_t pyl_0x82_req[] = { R_RAW("Switch", 2) };

/* §7 system commands of Sunsynk/Deye-family inverters (M layout, L units) */
static const bl_rs_item_t pyl_0x60[] = {
    R_TEXT("SystemName", BL_F_MODEL, 10, "BMSLINK"),
    R_TEXT("ManufacturerName", BL_F_MANUFACTURER, 20, "BMSLINK"),
    R_VER("SoftwareVersion", BL_F_FIRMWARE, 2, 0),
    R_COUNTF("ModuleCount", BL_SLOT_K, BL_F_MODULE_COUNT),
    R_TEXTS("ModuleSerial", BL_SLOT_K, 16, "BMSLINK-SIM"),
};

/* 0x61: current in 10 mA (two emulators; the manual contradicts itself),
 * temperatures 0.1 K offset 2731 */
static const bl_rs_item_t pyl_0x61[] = {
    R_NUM("SystemVoltage", BL_F_VOLTAGE, 2, 0, 1, 0, V(0), V(65.535), "V"),
    R_NUM("SystemCurrent", BL_F_CURRENT, 2, S_SIGNED, 10, 0, A(-327.68), A(327.67), "A"),
    R_NUM("SystemSOC", BL_F_SOC, 1, 0, 1000, 0, PCT(0), PCT(100), "%"),
    R_NUM("AverageCycles", BL_F_NONE, 2, 0, 1000, 0, 0, 0, ""),
    R_NUM("MaxCycles", BL_F_CYCLE_COUNT, 2, 0, 1000, 0, 0, 0, ""),
    R_NUM("AverageSOH", BL_F_SOH, 1, 0, 1000, 0, PCT(0), PCT(100), "%"),
    R_NUM("MinSOH", BL_F_NONE, 1, 0, 1000, 0, 0, 0, "%"),
    R_NUM("MaxCellVoltage", BL_F_CELL_V_MAX, 2, 0, 1, 0, V(0), V(5), "V"),
    R_RAW("MaxCellVoltageId", 2),
    R_NUM("MinCellVoltage", BL_F_CELL_V_MIN, 2, 0, 1, 0, V(0), V(5), "V"),
    R_RAW("MinCellVoltageId", 2),
    R_NUM("AverageCellTemperature", BL_F_TEMP, 2, 0, 100, KELVIN_2731, C(-60), C(150), "C"),
    R_NUM("MaxCellTemperature", BL_F_TEMP_MAX, 2, 0, 100, KELVIN_2731, C(-60), C(150), "C"),
    R_RAW("MaxCellTemperatureId", 2),
    R_NUM("MinCellTemperature", BL_F_TEMP_MIN, 2, 0, 100, KELVIN_2731, C(-60), C(150), "C"),
    R_RAW("MinCellTemperatureId", 2),
    R_NUM("AverageMosfetTemperature", BL_F_NONE, 2, 0, 100, KELVIN_2731, 0, 0, "C"),
    R_NUM("MaxMosfetTemperature", BL_F_NONE, 2, 0, 100, KELVIN_2731, 0, 0, "C"),
    R_RAW("MaxMosfetTemperatureId", 2),
    R_NUM("MinMosfetTemperature", BL_F_NONE, 2, 0, 100, KELVIN_2731, 0, 0, "C"),
    R_RAW("MinMosfetTemperatureId", 2),
    R_NUM("AverageBmsTemperature", BL_F_NONE, 2, 0, 100, KELVIN_2731, 0, 0, "C"),
    R_NUM("MaxBmsTemperature", BL_F_NONE, 2, 0, 100, KELVIN_2731, 0, 0, "C"),
    R_RAW("MaxBmsTemperatureId", 2),
    R_NUM("MinBmsTemperature", BL_F_NONE, 2, 0, 100, KELVIN_2731, 0, 0, "C"),
    R_RAW("MinBmsTemperatureId", 2),
};

/* 0x62 system alarm/protection bits (one implementation, L) */
#define SYS_V_T_BITS(cls, b)                                                                                  \
    R_BIT(b "PackVoltageHigh", cls, BL_A_PACK_OV, 0, 0, 7),                                                   \
    R_BIT(b "PackVoltageLow", cls, BL_A_PACK_UV, 0, 0, 6),                                                    \
    R_BIT(b "CellVoltageHigh", cls, BL_A_CELL_OV, 0, 0, 5),                                                   \
    R_BIT(b "CellVoltageLow", cls, BL_A_CELL_UV, 0, 0, 4),                                                    \
    R_BIT(b "CellTemperatureHigh", cls, BL_A_CHG_OT, AM(BL_A_DSG_OT), 0, 3),                                  \
    R_BIT(b "CellTemperatureLow", cls, BL_A_CHG_UT, AM(BL_A_DSG_UT), 0, 2)

static const bl_rs_item_t pyl_0x62[] = {
    SYS_V_T_BITS(BL_AC_WARNING, "Warning"),
    R_BIT("WarningCellDifference", BL_AC_WARNING, BL_A_IMBALANCE, 0, 0, 0),
    R_RAW("Warning1", 1),
    R_BIT("WarningChargeOverCurrent", BL_AC_WARNING, BL_A_CHG_OC, 0, 0, 6),
    R_BIT("WarningDischargeOverCurrent", BL_AC_WARNING, BL_A_DSG_OC, 0, 0, 5),
    R_BIT("WarningInternalCommunication", BL_AC_WARNING, BL_A_COMM, 0, 0, 4),
    R_RAW("Warning2", 1),
    SYS_V_T_BITS(BL_AC_PROTECTION, "Protection"),
    R_RAW("Protection1", 1),
    R_BIT("ProtectionChargeOverCurrent", BL_AC_PROTECTION, BL_A_CHG_OC, 0, 0, 6),
    R_BIT("ProtectionDischargeOverCurrent", BL_AC_PROTECTION, BL_A_DSG_OC, 0, 0, 5),
    R_BIT("ProtectionOtherFault", BL_AC_PROTECTION, BL_A_INTERNAL, 0, 0, 3),
    R_RAW("Protection2", 1),
};

/* 0x63 system charge/discharge management: limits in 0.1 A (as 0x92 on real
 * packs; one implementation reads 0.01 A), status b7 charge enable, b6
 * discharge enable, b5 charge immediately, b4 full-charge request. */
static const bl_rs_item_t pyl_0x63[] = {
    R_NUM("ChargeVoltageLimit", BL_F_CVL, 2, 0, 1, 0, V(0), V(65.535), "V"),
    R_NUM("DischargeVoltageLimit", BL_F_DVL, 2, 0, 1, 0, V(0), V(65.535), "V"),
    R_NUM("ChargeCurrentLimit", BL_F_CCL, 2, 0, 100, 0, A(0), A(6553.5), "A"),
    R_NUM("DischargeCurrentLimit", BL_F_DCL, 2, S_SIGNED | BL_SF_ABS, 100, 0, A(0), A(3276.8), "A"),
    R_BOOL("ChargeEnable", BL_F_CHARGE_ENABLE, 0, 7),
    R_BOOL("DischargeEnable", BL_F_DISCHARGE_ENABLE, 0, 6),
    R_BOOL("ChargeImmediately", BL_F_FORCE_CHARGE, 0, 5),
    R_BOOL("FullChargeRequest", BL_F_FULL_CHARGE_REQ, 0, 4),
    R_RAW("Status", 1),
};

static const bl_rs_msg_t pyl_msgs[] = {
    RMSG_NORSP(0x4F, "protocol_version", BL_REQ_NONE, 0),
    RMSG(0x51, "manufacturer_info", pyl_0x51, BL_REQ_NONE, 0),
    RMSG(0x42, "analog_values", pyl_0x42, BL_REQ_ADR, BL_RMF_GROUP | BL_RMF_FLAG_CMD),
    RMSG(0x44, "alarm_info", pyl_0x44, BL_REQ_ADR, BL_RMF_GROUP | BL_RMF_FLAG_CMD | BL_RMF_TRAILING),
    RMSG(0x47, "system_parameters", pyl_0x47, BL_REQ_NONE, 0),
    RMSG(0x92, "charge_discharge_management", pyl_0x92, BL_REQ_ADR, BL_RMF_CMD),
    RMSG(0x93, "serial_number", pyl_0x93, BL_REQ_ADR, BL_RMF_CMD),
    RMSG_REQONLY(0x94, "set_charge_discharge_management", pyl_0x94_req, BL_RMF_WRITE),
    RMSG_NORSP(0x95, "turn_off_module", BL_REQ_ADR, BL_RMF_WRITE),
    RMSG(0x96, "software_version", pyl_0x96, BL_REQ_ADR, BL_RMF_CMD),
    RMSG(0x60, "system_basic_info", pyl_0x60, BL_REQ_ONE, 0),
    RMSG(0x61, "system_analog_data", pyl_0x61, BL_REQ_ONE, 0),
    RMSG(0x62, "system_alarm_protection", pyl_0x62, BL_REQ_ONE, 0),
    RMSG(0x63, "system_charge_discharge_management", pyl_0x63, BL_REQ_ONE, 0),
    RMSG_NORSP(0x64, "shut_down_pack", BL_REQ_ONE, BL_RMF_WRITE),
    RMSG_REQONLY(0x82, "console_switch", pyl_0x82_req, BL_RMF_WRITE),
};

static const bl_pyl_dialect_t pyl_dialect = {
    .ver = 0x20,
    .cid1 = 0x46,
    .rtn_no_data = 0x91, /* "internal communication error": the pack lost its own data */
    .rtn_bad_cid2 = 0x04,
    .rtn_bad_chksum = 0x02,
    .rtn_bad_lchksum = 0x03,
    .rtn_bad_adr = 0x90,
    .derive_soc = true,
};

/* A Voltronic "PYL" inverter asks 0x42 and 0x92 (never 0x44); monitors add 0x44. */
static const uint8_t pyl_poll[] = { 0x42, 0x44, 0x92, 0 };
static const uint8_t pyl_poll_once[] = { 0x51, 0x96, 0 };

static const bl_rs485_codec_t pyl_codec = {
    .kind = BL_RSK_PYLON,
    .framing = BL_FRAMING_PYLON,
    .data_bits = 8,
    .parity = 'N',
    .stop_bits = 1,
    .addr_default = 0x02,
    .addr_min = 0x02,
    .addr_max = 0xFE,
    .poll_ms = 1000,
    .reply_ms = 500,
    .gap_ms = 100,
    .msgs = pyl_msgs,
    .nmsgs = BL_ARRAY_LEN(pyl_msgs),
    .poll = pyl_poll,
    .poll_once = pyl_poll_once,
    .pyl = &pyl_dialect,
};

const bl_protocol_t bl_proto_pylon_rs485 = {
    .name = "pylon-rs485",
    .title = "Pylontech RS485 ASCII V3.3 (US/UP/UF series; Voltronic/MPP \"PYL\", Sunsynk/Deye system commands)",
    .bus = BL_BUS_RS485,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_HIGH,
    .byte_order = BL_BE,
    .baud = 9600,
    .serial = "9600 8N1 (pack DIP 1 on; 115200 with it off, after a restart); ADR = n + 0x10 x group, "
              "master n = 2, slaves 3..13; host polls, INFO byte = ADR (0xFF: whole group from the master); "
              "0x94 must repeat within 10 s; inverter side polls about every 1 s",
    .timeout_ms = 10000,
    .rs485 = &pyl_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM), [BL_AC_PROTECTION] = AM(BL_A_INTERNAL) },
    .handshake = "none: the inverter polls (0x42 analog, 0x44 alarms, 0x92 limits; Sunsynk 0x60-0x63), the "
                 "pack answers within about 500 ms",
    .identity = "0x51 device and manufacturer names; Voltronic acts only on 0x42 presence and 0x92 "
                "limits/flags, so alarms must also clear the 0x92 enable bits",
    .on_timeout = "inverter-specific BMS communication fault; the pack reverts 0x94 settings after 10 s; "
                  "the battery role answers RTN 0x91 when its own data is stale and sends 0 A limits with "
                  "charge/discharge disabled in 0x92",
    .sources = "PYL33 (Pylontech RS485 V3.3 2018-08-21), PYL28, PP, TC, IZ, FHEM, BE, AR, ISSUES-485",
};

/* ---- Seplos V2 (§9.1, H) ----------------------------------------------------- */

/* 0x42: current 10 mA, voltage 10 mV, capacities 10 mAh, SOC/SOH 0.1 %,
 * temperatures 4 cells then ambient and power (0.1 K, 2731) */
static const bl_rs_item_t sep_0x42[] = {
    R_COUNT("CellCount", BL_SLOT_M, 0),
    R_ARR("CellVoltage", BL_SLOT_M, 0, 2, 0, 1, 0, V(0), V(5), "V", BL_AGG_CELLS, 0, 0),
    R_COUNT("TemperatureCount", BL_SLOT_N, 6),
    R_ARR("Temperature", BL_SLOT_N, 0, 2, S_SIGNED, 100, KELVIN_2731, C(-60), C(150), "C", BL_AGG_TEMPS, 0, 2),
    R_NUM("Current", BL_F_CURRENT, 2, S_SIGNED, 10, 0, A(-327.68), A(327.67), "A"),
    R_NUM("TotalVoltage", BL_F_VOLTAGE, 2, 0, 10, 0, V(0), V(655.35), "V"),
    R_NUMX("ResidualCapacity", BL_F_NONE, 2, 0, 10, 1, 0, 0, 0, "Ah", BL_SLOT_REMAIN),
    R_COUNT("UserItems", BL_SLOT_P, 10),
    R_NUMX("BatteryCapacity", BL_F_CAPACITY, 2, 0, 10, 1, 0, 0, 0, "Ah", BL_SLOT_FULL),
    R_NUM("SOC", BL_F_SOC, 2, 0, 100, 0, PCT(0), PCT(100), "%"),
    R_NUM("RatedCapacity", BL_F_NONE, 2, 0, 10, 0, 0, 0, "Ah"),
    R_NUM("CycleCount", BL_F_CYCLE_COUNT, 2, 0, 1000, 0, 0, 0, ""),
    R_NUM("SOH", BL_F_SOH, 2, 0, 100, 0, PCT(0), PCT(100), "%"),
    R_NUM("PortVoltage", BL_F_NONE, 2, 0, 10, 0, 0, 0, "V"),
    R_RAW("Reserved1", 4),
    R_RAW("Reserved2", 4),
};

/* 0x44: state bytes, then 20 bytes of events (alarm = warning level, protect = protection) */
static const bl_rs_item_t sep_0x44[] = {
    R_COUNT("CellCount", BL_SLOT_M, 0),
    R_STATES("CellAlarm", BL_SLOT_M, 0, BL_AC_WARNING, BL_A_CELL_UV, 0, BL_A_CELL_OV, 0),
    R_COUNT("TemperatureCount", BL_SLOT_N, 6),
    R_STATES("TemperatureAlarm", BL_SLOT_N, 0, BL_AC_WARNING, BL_A_CHG_UT, AM(BL_A_DSG_UT), BL_A_CHG_OT,
             AM(BL_A_DSG_OT)),
    R_STATE("CurrentAlarm", BL_AC_WARNING, BL_A_COUNT, 0, BL_A_CHG_OC, AM(BL_A_DSG_OC)),
    R_STATE("TotalVoltageAlarm", BL_AC_WARNING, BL_A_PACK_UV, 0, BL_A_PACK_OV, 0),
    R_COUNT("UserItems", BL_SLOT_P, 20),
    R_BIT("VoltageSensorFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 0),
    R_BIT("TemperatureSensorFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 1),
    R_BIT("CurrentSensorFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 2),
    R_BIT("CellVoltageDropout", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 4),
    R_BIT("ChargeSwitchFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 5),
    R_BIT("DischargeSwitchFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 6),
    R_RAW("AlarmEvent1", 1),
    R_BIT("CellHighVoltageAlarm", BL_AC_WARNING, BL_A_CELL_OV, 0, 0, 0),
    R_BIT("CellOverVoltageProtect", BL_AC_PROTECTION, BL_A_CELL_OV, 0, 0, 1),
    R_BIT("CellLowVoltageAlarm", BL_AC_WARNING, BL_A_CELL_UV, 0, 0, 2),
    R_BIT("CellUnderVoltageProtect", BL_AC_PROTECTION, BL_A_CELL_UV, 0, 0, 3),
    R_BIT("PackHighVoltageAlarm", BL_AC_WARNING, BL_A_PACK_OV, 0, 0, 4),
    R_BIT("PackOverVoltageProtect", BL_AC_PROTECTION, BL_A_PACK_OV, 0, 0, 5),
    R_BIT("PackLowVoltageAlarm", BL_AC_WARNING, BL_A_PACK_UV, 0, 0, 6),
    R_BIT("PackUnderVoltageProtect", BL_AC_PROTECTION, BL_A_PACK_UV, 0, 0, 7),
    R_RAW("AlarmEvent2", 1),
    R_BIT("ChargeHighTemperatureAlarm", BL_AC_WARNING, BL_A_CHG_OT, 0, 0, 0),
    R_BIT("ChargeOverTemperatureProtect", BL_AC_PROTECTION, BL_A_CHG_OT, 0, 0, 1),
    R_BIT("ChargeLowTemperatureAlarm", BL_AC_WARNING, BL_A_CHG_UT, 0, 0, 2),
    R_BIT("ChargeUnderTemperatureProtect", BL_AC_PROTECTION, BL_A_CHG_UT, 0, 0, 3),
    R_BIT("DischargeHighTemperatureAlarm", BL_AC_WARNING, BL_A_DSG_OT, 0, 0, 4),
    R_BIT("DischargeOverTemperatureProtect", BL_AC_PROTECTION, BL_A_DSG_OT, 0, 0, 5),
    R_BIT("DischargeLowTemperatureAlarm", BL_AC_WARNING, BL_A_DSG_UT, 0, 0, 6),
    R_BIT("DischargeUnderTemperatureProtect", BL_AC_PROTECTION, BL_A_DSG_UT, 0, 0, 7),
    R_RAW("AlarmEvent3", 1),
    R_RAW("AlarmEvent4", 1),
    R_BIT("ChargeOverCurrentAlarm", BL_AC_WARNING, BL_A_CHG_OC, 0, 0, 0),
    R_BIT("ChargeOverCurrentProtect", BL_AC_PROTECTION, BL_A_CHG_OC, 0, 0, 1),
    R_BIT("DischargeOverCurrentAlarm", BL_AC_WARNING, BL_A_DSG_OC, 0, 0, 2),
    R_BIT("DischargeOverCurrentProtect", BL_AC_PROTECTION, BL_A_DSG_OC, 0, 0, 3),
    R_BIT("TransientOverCurrentProtect", BL_AC_PROTECTION, BL_A_DSG_OC, 0, 0, 4),
    R_BIT("OutputShortCircuitProtect", BL_AC_PROTECTION, BL_A_SHORT, 0, 0, 5),
    R_BIT("ShortCircuitLockout", BL_AC_PROTECTION, BL_A_SHORT, 0, 0, 7),
    R_RAW("AlarmEvent5", 1),
    R_RAW("AlarmEvent6", 1),
    R_FLAG("DischargeSwitchOn", 0, 0),
    R_FLAG("ChargeSwitchOn", 0, 1),
    R_FLAG("CurrentLimitSwitchOn", 0, 2),
    R_FLAG("HeatingSwitchOn", 0, 3),
    R_RAW("OnOffState", 1),
    R_RAW("Equalisation", 2),
    R_FLAG("Discharging", 0, 0),
    R_FLAG("Charging", 0, 1),
    R_FLAG("FloatingCharge", 0, 2),
    R_FLAG("Standby", 0, 4),
    R_FLAG("Shutdown", 0, 5),
    R_RAW("SystemState", 1),
    R_RAW("Disconnection", 2),
    R_RAW("AlarmEvent7", 1),
    R_BIT("EepromFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 0),
    R_BIT("RtcError", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 1),
    R_RAW("AlarmEvent8", 1),
    R_RAW("Reserved1", 4),
    R_RAW("Reserved2", 2),
};

static const bl_rs_item_t sep_rest[] = { R_REST("Data") };

/* §9.1: other Seplos V2 commands are known by number; their layouts are not in the sheet */
static const bl_rs_msg_t sep_msgs[] = {
    RMSG_NORSP(0x4F, "protocol_version", BL_REQ_NONE, 0),
    RMSG(0x51, "manufacturer_info", pyl_0x51, BL_REQ_NONE, 0),
    RMSG(0x42, "telemetry", sep_0x42, BL_REQ_ADR, BL_RMF_FLAG_CMD),
    RMSG(0x44, "telesignalling", sep_0x44, BL_REQ_ADR, BL_RMF_FLAG_CMD | BL_RMF_TRAILING),
    RMSG(0x45, "telecontrol", sep_rest, BL_REQ_NONE, BL_RMF_WRITE),
    RMSG(0x47, "get_parameters", sep_rest, BL_REQ_NONE, BL_RMF_NO_REPLY),
    RMSG(0x49, "set_parameters", sep_rest, BL_REQ_NONE, BL_RMF_WRITE),
    RMSG(0x4B, "history", sep_rest, BL_REQ_NONE, BL_RMF_NO_REPLY),
    RMSG(0x4D, "get_time", sep_rest, BL_REQ_NONE, BL_RMF_NO_REPLY),
    RMSG(0x4E, "set_time", sep_rest, BL_REQ_NONE, BL_RMF_WRITE),
};

static const bl_pyl_dialect_t sep_dialect = {
    .ver = 0x20,
    .cid1 = 0x46,
    .rtn_no_data = 0xE3, /* "device fault" (Seplos V2.0 RTN table) */
    .rtn_bad_cid2 = 0x04,
    .rtn_bad_chksum = 0x02,
    .rtn_bad_lchksum = 0x03,
    .rtn_bad_adr = 0x05,
    .derive_soc = false,
};

static const uint8_t sep_poll[] = { 0x42, 0x44, 0 };
static const uint8_t sep_poll_once[] = { 0x51, 0 };

static const bl_rs485_codec_t sep_codec = {
    .kind = BL_RSK_PYLON,
    .framing = BL_FRAMING_PYLON,
    .data_bits = 8,
    .parity = 'N',
    .stop_bits = 1,
    .addr_default = 0x00,
    .addr_min = 0x00,
    .addr_max = 0x0F,
    .poll_ms = 5000,
    .reply_ms = 500,
    .gap_ms = 100,
    .msgs = sep_msgs,
    .nmsgs = BL_ARRAY_LEN(sep_msgs),
    .poll = sep_poll,
    .poll_once = sep_poll_once,
    .pyl = &sep_dialect,
};

const bl_protocol_t bl_proto_pylon_rs485_seplos = {
    .name = "pylon-rs485:seplos-v2",
    .title = "Seplos BMS V2.0 (Pylontech frame, 10 mA / 10 mV units, SOC and SOH carried)",
    .base = &bl_proto_pylon_rs485,
    .bus = BL_BUS_RS485,
    .confidence = BL_CONF_HIGH,
    .baud = 19200,
    .serial = "19200 8N1 on many units (the document says 9600); ADR = DIP 0..15, INFO byte = ADR; reply "
              "within 500 ms; poll every 5 s (dbus-serialbattery)",
    .rs485 = &sep_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM), [BL_AC_PROTECTION] = AM(BL_A_INTERNAL) },
    .sources = "SEP20 (Seplos V2.0), SSB, DSB",
};

/* ---- PACE v25 (§9.2, H) -------------------------------------------------------- */

/* 0x42: temperatures offset 2730 (4 cells, MOSFET, ambient), current 10 mA,
 * voltage mV, capacities 10 mAh, P = 3; no SOC: remaining / full */
static const bl_rs_item_t pace_0x42[] = {
    R_COUNT("CellCount", BL_SLOT_M, 0),
    R_ARR("CellVoltage", BL_SLOT_M, 0, 2, 0, 1, 0, V(0), V(5), "V", BL_AGG_CELLS, 0, 0),
    R_COUNT("TemperatureCount", BL_SLOT_N, 6),
    R_ARR("Temperature", BL_SLOT_N, 0, 2, S_SIGNED, 100, KELVIN_2730, C(-60), C(150), "C", BL_AGG_TEMPS, 0, 2),
    R_NUM("Current", BL_F_CURRENT, 2, S_SIGNED, 10, 0, A(-327.68), A(327.67), "A"),
    R_NUM("TotalVoltage", BL_F_VOLTAGE, 2, 0, 1, 0, V(0), V(65.535), "V"),
    R_NUMX("RemainingCapacity", BL_F_NONE, 2, 0, 10, 1, 0, 0, 0, "Ah", BL_SLOT_REMAIN),
    R_COUNT("UserItems", BL_SLOT_P, 3),
    R_NUMX("FullCapacity", BL_F_CAPACITY, 2, 0, 10, 1, 0, 0, 0, "Ah", BL_SLOT_FULL),
    R_NUM("CycleCount", BL_F_CYCLE_COUNT, 2, 0, 1000, 0, 0, 0, ""),
    R_NUM("DesignCapacity", BL_F_NONE, 2, 0, 10, 0, 0, 0, "Ah"),
};

static const bl_rs_item_t pace_0x44[] = {
    R_COUNT("CellCount", BL_SLOT_M, 0),
    R_STATES("CellWarning", BL_SLOT_M, 0, BL_AC_WARNING, BL_A_CELL_UV, 0, BL_A_CELL_OV, 0),
    R_COUNT("TemperatureCount", BL_SLOT_N, 6),
    R_STATES("TemperatureWarning", BL_SLOT_N, 0, BL_AC_WARNING, BL_A_CHG_UT, AM(BL_A_DSG_UT), BL_A_CHG_OT,
             AM(BL_A_DSG_OT)),
    R_STATE("ChargeCurrentWarning", BL_AC_WARNING, BL_A_COUNT, 0, BL_A_CHG_OC, 0),
    R_STATE("TotalVoltageWarning", BL_AC_WARNING, BL_A_PACK_UV, 0, BL_A_PACK_OV, 0),
    R_STATE("DischargeCurrentWarning", BL_AC_WARNING, BL_A_COUNT, 0, BL_A_DSG_OC, 0),
    R_BIT("ShortCircuitProtect", BL_AC_PROTECTION, BL_A_SHORT, 0, 0, 6),
    R_BIT("DischargeOverCurrentProtect", BL_AC_PROTECTION, BL_A_DSG_OC, 0, 0, 5),
    R_BIT("ChargeOverCurrentProtect", BL_AC_PROTECTION, BL_A_CHG_OC, 0, 0, 4),
    R_BIT("PackUnderVoltageProtect", BL_AC_PROTECTION, BL_A_PACK_UV, 0, 0, 3),
    R_BIT("PackOverVoltageProtect", BL_AC_PROTECTION, BL_A_PACK_OV, 0, 0, 2),
    R_BIT("CellUnderVoltageProtect", BL_AC_PROTECTION, BL_A_CELL_UV, 0, 0, 1),
    R_BIT("CellOverVoltageProtect", BL_AC_PROTECTION, BL_A_CELL_OV, 0, 0, 0),
    R_RAW("ProtectState1", 1),
    R_FLAG("FullyCharged", 0, 7),
    R_BIT("LowDischargeTemperatureProtect", BL_AC_PROTECTION, BL_A_DSG_UT, 0, 0, 3),
    R_BIT("LowChargeTemperatureProtect", BL_AC_PROTECTION, BL_A_CHG_UT, 0, 0, 2),
    R_BIT("HighDischargeTemperatureProtect", BL_AC_PROTECTION, BL_A_DSG_OT, 0, 0, 1),
    R_BIT("HighChargeTemperatureProtect", BL_AC_PROTECTION, BL_A_CHG_OT, 0, 0, 0),
    R_RAW("ProtectState2", 1),
    R_FLAG("Heartbeat", 0, 7),
    R_FLAG("Charging", 0, 5),
    R_FLAG("ReverseConnection", 0, 4),
    R_FLAG("Discharging", 0, 3),
    R_FLAG("DischargeMosOn", 0, 2),
    R_FLAG("ChargeMosOn", 0, 1),
    R_FLAG("CurrentLimiterOn", 0, 0),
    R_RAW("SystemState", 1),
    R_RAW("ControlState", 1),
    R_BIT("SamplingFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 5),
    R_BIT("CellFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 4),
    R_BIT("NtcFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 2),
    R_BIT("DischargeMosFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 1),
    R_BIT("ChargeMosFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 0),
    R_RAW("FaultState", 1),
    R_RAW("BalanceState1", 1),
    R_RAW("BalanceState2", 1),
    R_BIT("DischargeOverCurrentWarning", BL_AC_WARNING, BL_A_DSG_OC, 0, 0, 5),
    R_BIT("ChargeOverCurrentWarning", BL_AC_WARNING, BL_A_CHG_OC, 0, 0, 4),
    R_BIT("PackUnderVoltageWarning", BL_AC_WARNING, BL_A_PACK_UV, 0, 0, 3),
    R_BIT("PackOverVoltageWarning", BL_AC_WARNING, BL_A_PACK_OV, 0, 0, 2),
    R_BIT("CellUnderVoltageWarning", BL_AC_WARNING, BL_A_CELL_UV, 0, 0, 1),
    R_BIT("CellOverVoltageWarning", BL_AC_WARNING, BL_A_CELL_OV, 0, 0, 0),
    R_RAW("WarnState1", 1),
    R_FLAG("LowSocWarning", 0, 7),
    R_BIT("LowDischargeTemperatureWarning", BL_AC_WARNING, BL_A_DSG_UT, 0, 0, 3),
    R_BIT("LowChargeTemperatureWarning", BL_AC_WARNING, BL_A_CHG_UT, 0, 0, 2),
    R_BIT("HighDischargeTemperatureWarning", BL_AC_WARNING, BL_A_DSG_OT, 0, 0, 1),
    R_BIT("HighChargeTemperatureWarning", BL_AC_WARNING, BL_A_CHG_OT, 0, 0, 0),
    R_RAW("WarnState2", 1), /* the document mislabels it "Protect state 2" */
};

/* 0xC1 hardware/software version text, 0xC2 product serial (PBmsTools captures) */
static const bl_rs_item_t pace_0xc1[] = { R_TEXT("VersionText", BL_F_FIRMWARE, 20, "BMSLINK-1.0") };
static const bl_rs_item_t pace_0xc2[] = { R_TEXT("SerialNumber", BL_F_NONE, 0, "BMSLINK-SIM-0001") };
/* 0x99 switch command: the reply echoes the switch code and its state */
static const bl_rs_item_t pace_0x99_req[] = { R_RAW("SwitchCode", 1) };
static const bl_rs_item_t pace_0x99[] = { R_RAW("SwitchCode", 1), R_RAW("State", 1) };
static const bl_rs_item_t pace_mos_req[] = { R_RAW("Off", 1) };
static const bl_rs_item_t pace_mos[] = { R_RAW("State", 1) };
/* 0xAF full-charge settings: pack voltage mV, current mA, SOC alarm % */
static const bl_rs_item_t pace_0xaf[] = {
    R_NUM("FullChargeVoltage", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("FullChargeCurrent", BL_F_NONE, 2, 0, 1, 0, 0, 0, "A"),
    R_NUM("SocLowAlarm", BL_F_NONE, 1, 0, 1000, 0, 0, 0, "%"),
};
/* 0xB1 time: year - 2000, month, day, hour, minute, second */
static const bl_rs_item_t pace_0xb1[] = {
    R_RAW("Year", 1), R_RAW("Month", 1), R_RAW("Day", 1), R_RAW("Hour", 1), R_RAW("Minute", 1), R_RAW("Second", 1),
};
/* 0xD1 read / 0xD0 write cell over-voltage settings (write CID2 = read CID2 - 1) */
static const bl_rs_item_t pace_cell_ov[] = {
    R_RAW("Index", 1),
    R_NUM("CellOverVoltageAlarm", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("CellOverVoltageProtect", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("CellOverVoltageRelease", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("Delay", BL_F_NONE, 1, 0, 100, 0, 0, 0, "s"),
};
/* 0xEB read / 0xEC write the communication-protocol selection */
static const bl_rs_item_t pace_proto[] = { R_RAW("CanProtocolId", 1), R_RAW("Rs485ProtocolId", 1), R_RAW("Mode", 1) };
static const bl_rs_item_t pace_0xa1_req[] = { R_RAW("RecordIndex", 2) };
static const bl_rs_item_t pace_rest[] = { R_REST("Data") };

static const bl_rs_msg_t pace_msgs[] = {
    RMSG_NORSP(0x4F, "protocol_version", BL_REQ_NONE, 0),
    RMSG(0x42, "analog_values", pace_0x42, BL_REQ_ADR, BL_RMF_FLAG_CMD),
    RMSG(0x44, "warning_info", pace_0x44, BL_REQ_ADR, BL_RMF_FLAG_CMD | BL_RMF_TRAILING),
    RMSG_NORSP(0x90, "confirm_pack_address", BL_REQ_NONE, 0),
    RMSG(0xC1, "version_info", pace_0xc1, BL_REQ_NONE, 0),
    RMSG(0xC2, "serial_number", pace_0xc2, BL_REQ_NONE, 0),
    RMSG_REQ(0x99, "switch_command", pace_0x99, pace_0x99_req, BL_RMF_WRITE),
    RMSG_REQ(0x9A, "charge_mos_switch", pace_mos, pace_mos_req, BL_RMF_WRITE),
    RMSG_REQ(0x9B, "discharge_mos_switch", pace_mos, pace_mos_req, BL_RMF_WRITE),
    RMSG_REQONLY(0x9C, "reboot", pace_mos_req, BL_RMF_WRITE),
    RMSG_REQ(0xA1, "history_record", pace_rest, pace_0xa1_req, BL_RMF_NO_REPLY),
    RMSG(0xAF, "full_charge_settings", pace_0xaf, BL_REQ_NONE, BL_RMF_NO_REPLY),
    RMSG(0xB1, "read_time", pace_0xb1, BL_REQ_NONE, BL_RMF_NO_REPLY),
    RMSG(0xD1, "cell_over_voltage_settings", pace_cell_ov, BL_REQ_NONE, BL_RMF_NO_REPLY),
    RMSG_REQONLY(0xD0, "write_cell_over_voltage_settings", pace_cell_ov, BL_RMF_WRITE),
    RMSG(0xEB, "protocol_selection", pace_proto, BL_REQ_NONE, BL_RMF_NO_REPLY),
    RMSG_REQONLY(0xEC, "write_protocol_selection", pace_proto, BL_RMF_WRITE),
};

static const bl_pyl_dialect_t pace_dialect = {
    .ver = 0x25,
    .cid1 = 0x46,
    .rtn_no_data = 0, /* the v25 document defines no such code: stay silent */
    .rtn_bad_cid2 = 0x04,
    .rtn_bad_chksum = 0x02,
    .rtn_bad_lchksum = 0x03,
    .rtn_bad_adr = 0,
    .derive_soc = true,
};

static const uint8_t pace_poll[] = { 0x42, 0x44, 0 };
static const uint8_t pace_poll_once[] = { 0xC1, 0xC2, 0 };

static const bl_rs485_codec_t pace_codec = {
    .kind = BL_RSK_PYLON,
    .framing = BL_FRAMING_PYLON,
    .data_bits = 8,
    .parity = 'N',
    .stop_bits = 1,
    .addr_default = 0x01,
    .addr_min = 0x00,
    .addr_max = 0x0F,
    .poll_ms = 2000,
    .reply_ms = 1000,
    .gap_ms = 200,
    .msgs = pace_msgs,
    .nmsgs = BL_ARRAY_LEN(pace_msgs),
    .poll = pace_poll,
    .poll_once = pace_poll_once,
    .pyl = &pace_dialect,
};

const bl_protocol_t bl_proto_pylon_rs485_pace = {
    .name = "pylon-rs485:pace-v25",
    .title = "PACE BMS RS485 v25 (VER 0x25; PBmsTools; Jakiper, many rack batteries)",
    .base = &bl_proto_pylon_rs485,
    .bus = BL_BUS_RS485,
    .confidence = BL_CONF_HIGH,
    .baud = 9600,
    .serial = "9600 8N1 (some 19200); ADR 0 stand-alone, 1 master, 2..15 slaves (DIP); reply within 500 ms "
              "(document) to 1 s (drivers); more than 100 ms between requests",
    .rs485 = &pace_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM), [BL_AC_PROTECTION] = AM(BL_A_INTERNAL) },
    .sources = "PACE485 (PACE RS485 2018-06-15), PBT, NK25",
};

/* ---- EG4 LifePower4 (§9.3, M-H): CID1 0x4A, empty request INFO ---------------------- */

/* 0x42: declares N = 4 and sends 6 temperatures (4 cells, ambient, MOSFET) */
static const bl_rs_item_t eg4_0x42[] = {
    R_COUNT("CellCount", BL_SLOT_M, 0),
    R_ARR("CellVoltage", BL_SLOT_M, 0, 2, 0, 1, 0, V(0), V(5), "V", BL_AGG_CELLS, 0, 0),
    R_COUNT("TemperatureCount", BL_SLOT_N, 4),
    R_ARR("Temperature", BL_SLOT_N, 2, 2, S_SIGNED, 100, KELVIN_2731, C(-60), C(150), "C", BL_AGG_TEMPS, 0, 2),
    R_NUM("Current", BL_F_CURRENT, 2, S_SIGNED, 10, 0, A(-327.68), A(327.67), "A"),
    R_NUM("PackVoltage", BL_F_VOLTAGE, 2, 0, 10, 0, V(0), V(655.35), "V"),
    R_NUMX("RemainingCapacity", BL_F_NONE, 2, 0, 10, 1, 0, 0, 0, "Ah", BL_SLOT_REMAIN),
    R_NUMX("FullCapacity", BL_F_CAPACITY, 2, 0, 10, 1, 0, 0, 0, "Ah", BL_SLOT_FULL),
    R_NUM("CycleCount", BL_F_CYCLE_COUNT, 2, 0, 1000, 0, 0, 0, ""),
    R_COUNT("UserItems", BL_SLOT_P, 15),
    R_NUM("SOC", BL_F_SOC, 2, 0, 1000, 0, PCT(0), PCT(100), "%"),
    R_NUM("SOH", BL_F_SOH, 2, 0, 1000, 0, PCT(0), PCT(100), "%"),
    R_NUM("MaxCellVoltage", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("MinCellVoltage", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("CellVoltageDelta", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("MaxCellTemperature", BL_F_NONE, 2, S_SIGNED, 100, KELVIN_2731, 0, 0, "C"),
    R_NUM("MinCellTemperature", BL_F_NONE, 2, S_SIGNED, 100, KELVIN_2731, 0, 0, "C"),
    R_NUM("CumulativeCharge", BL_F_NONE, 4, 0, 10, 0, 0, 0, "Ah"),
    R_NUM("CumulativeDischarge", BL_F_NONE, 4, 0, 10, 0, 0, 0, "Ah"),
    R_NUM("CumulativeChargeEnergy", BL_F_NONE, 4, 0, 1, 0, 0, 0, "kWh"),
    R_NUM("CumulativeDischargeEnergy", BL_F_NONE, 4, 0, 1, 0, 0, 0, "kWh"),
    R_NUM("CumulativeChargeTime", BL_F_NONE, 4, 0, 1000, 0, 0, 0, "h"),
    R_NUM("CumulativeDischargeTime", BL_F_NONE, 4, 0, 1000, 0, 0, 0, "h"),
    R_NUM("ChargeCount", BL_F_NONE, 2, 0, 1000, 0, 0, 0, ""),
    R_NUM("DischargeCount", BL_F_NONE, 2, 0, 1000, 0, 0, 0, ""),
};

static const bl_rs_item_t eg4_0x44[] = {
    R_COUNT("CellCount", BL_SLOT_M, 0),
    R_STATES("CellAlarm", BL_SLOT_M, 0, BL_AC_WARNING, BL_A_CELL_UV, 0, BL_A_CELL_OV, 0),
    R_COUNT("TemperatureCount", BL_SLOT_N, 4),
    R_STATES("TemperatureAlarm", BL_SLOT_N, 2, BL_AC_WARNING, BL_A_CHG_UT, AM(BL_A_DSG_UT), BL_A_CHG_OT,
             AM(BL_A_DSG_OT)),
    R_STATE("CurrentAlarm", BL_AC_WARNING, BL_A_COUNT, 0, BL_A_CHG_OC, AM(BL_A_DSG_OC)),
    R_STATE("VoltageAlarm", BL_AC_WARNING, BL_A_PACK_UV, 0, BL_A_PACK_OV, 0),
    R_COUNT("UserItems", BL_SLOT_P, 9),
    R_FLAG("BalanceModuleOn", 0, 0),
    R_BIT("CellDeltaAlarm", BL_AC_WARNING, BL_A_IMBALANCE, 0, 0, 4),
    R_BIT("ChargeMosFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 5),
    R_BIT("DischargeMosFault", BL_AC_ALARM, BL_A_INTERNAL, 0, 0, 6),
    R_RAW("BalanceEvent", 1),
    R_BIT("CellOverVoltageAlarm", BL_AC_WARNING, BL_A_CELL_OV, 0, 0, 0),
    R_BIT("CellOverVoltageProtect", BL_AC_PROTECTION, BL_A_CELL_OV, 0, 0, 1),
    R_BIT("CellUnderVoltageAlarm", BL_AC_WARNING, BL_A_CELL_UV, 0, 0, 2),
    R_BIT("CellUnderVoltageProtect", BL_AC_PROTECTION, BL_A_CELL_UV, 0, 0, 3),
    R_BIT("PackOverVoltageAlarm", BL_AC_WARNING, BL_A_PACK_OV, 0, 0, 4),
    R_BIT("PackOverVoltageProtect", BL_AC_PROTECTION, BL_A_PACK_OV, 0, 0, 5),
    R_BIT("PackUnderVoltageAlarm", BL_AC_WARNING, BL_A_PACK_UV, 0, 0, 6),
    R_BIT("PackUnderVoltageProtect", BL_AC_PROTECTION, BL_A_PACK_UV, 0, 0, 7),
    R_RAW("VoltageEvent", 1),
    /* 16-bit word, big endian: bit k of the word is bit k%8 of byte 1 - k/8 */
    R_BIT("ChargeHighTemperatureAlarm", BL_AC_WARNING, BL_A_CHG_OT, 0, 1, 0),
    R_BIT("ChargeHighTemperatureProtect", BL_AC_PROTECTION, BL_A_CHG_OT, 0, 1, 1),
    R_BIT("ChargeLowTemperatureAlarm", BL_AC_WARNING, BL_A_CHG_UT, 0, 1, 2),
    R_BIT("ChargeLowTemperatureProtect", BL_AC_PROTECTION, BL_A_CHG_UT, 0, 1, 3),
    R_BIT("DischargeHighTemperatureAlarm", BL_AC_WARNING, BL_A_DSG_OT, 0, 1, 4),
    R_BIT("DischargeHighTemperatureProtect", BL_AC_PROTECTION, BL_A_DSG_OT, 0, 1, 5),
    R_BIT("DischargeLowTemperatureAlarm", BL_AC_WARNING, BL_A_DSG_UT, 0, 1, 6),
    R_BIT("DischargeLowTemperatureProtect", BL_AC_PROTECTION, BL_A_DSG_UT, 0, 1, 7),
    R_RAW("TemperatureEvent", 2),
    R_BIT("ChargeOverCurrentAlarm", BL_AC_WARNING, BL_A_CHG_OC, 0, 0, 0),
    R_BIT("ChargeOverCurrentProtect", BL_AC_PROTECTION, BL_A_CHG_OC, 0, 0, 1),
    R_BIT("DischargeOverCurrentAlarm", BL_AC_WARNING, BL_A_DSG_OC, 0, 0, 2),
    R_BIT("DischargeOverCurrentProtect", BL_AC_PROTECTION, BL_A_DSG_OC, 0, 0, 3),
    R_BIT("DischargeOverCurrent2Protect", BL_AC_PROTECTION, BL_A_DSG_OC, 0, 0, 4),
    R_BIT("ShortCircuitProtect", BL_AC_PROTECTION, BL_A_SHORT, 0, 0, 5),
    R_BIT("ShortCircuitLockout", BL_AC_PROTECTION, BL_A_SHORT, 0, 0, 7),
    R_RAW("CurrentEvent", 1),
    R_FLAG("SocLow", 0, 0),
    R_RAW("RemainingCapacityAlarm", 1),
    R_FLAG("DischargeMos", 0, 0),
    R_FLAG("ChargeMos", 0, 1),
    R_FLAG("ChargeLimiter", 0, 2),
    R_FLAG("Heater", 0, 3),
    R_RAW("FetStatus", 1),
    R_FLAG("Discharging", 0, 0),
    R_FLAG("Charging", 0, 1),
    R_FLAG("Standby", 0, 3),
    R_RAW("SystemStatus", 1),
    R_RAW("BalanceStatus", 4),
    R_RAW("Reserved", 1),
};

/* 0x4D date and time: year U16, month, day, hour, minute, second */
static const bl_rs_item_t eg4_0x4d[] = {
    R_NUM("Year", BL_F_NONE, 2, 0, 1000, 0, 0, 0, ""),
    R_RAW("Month", 1), R_RAW("Day", 1), R_RAW("Hour", 1), R_RAW("Minute", 1), R_RAW("Second", 1),
};

static const bl_rs_msg_t eg4_msgs[] = {
    RMSG(0x42, "analog_values", eg4_0x42, BL_REQ_NONE, BL_RMF_FLAG_CMD),
    RMSG(0x44, "alarm_info", eg4_0x44, BL_REQ_NONE, BL_RMF_FLAG_CMD | BL_RMF_TRAILING),
    RMSG(0x47, "parameters", pace_rest, BL_REQ_NONE, BL_RMF_NO_REPLY),
    RMSG(0x51, "manufacturer_info", pace_rest, BL_REQ_NONE, BL_RMF_NO_REPLY),
    RMSG(0x4D, "date_time", eg4_0x4d, BL_REQ_NONE, BL_RMF_NO_REPLY),
};

static const bl_pyl_dialect_t eg4_dialect = {
    .ver = 0x20,
    .cid1 = 0x4A,
    .rtn_no_data = 0, /* no documented code: stay silent */
    .rtn_bad_cid2 = 0x04,
    .rtn_bad_chksum = 0x02,
    .rtn_bad_lchksum = 0x03,
    .rtn_bad_adr = 0,
    .derive_soc = false,
};

static const uint8_t eg4_poll[] = { 0x42, 0x44, 0 };
static const uint8_t none_once[] = { 0 };

static const bl_rs485_codec_t eg4_codec = {
    .kind = BL_RSK_PYLON,
    .framing = BL_FRAMING_PYLON,
    .data_bits = 8,
    .parity = 'N',
    .stop_bits = 1,
    .addr_default = 0x01,
    .addr_min = 0x00,
    .addr_max = 0x0F,
    .poll_ms = 2000,
    .reply_ms = 1000,
    .gap_ms = 200,
    .msgs = eg4_msgs,
    .nmsgs = BL_ARRAY_LEN(eg4_msgs),
    .poll = eg4_poll,
    .poll_once = none_once,
    .pyl = &eg4_dialect,
};

const bl_protocol_t bl_proto_pylon_rs485_eg4 = {
    .name = "pylon-rs485:eg4",
    .title = "EG4 LifePower4 (Qualtech BMS, CID1 0x4A, empty request INFO, 15 user items)",
    .base = &bl_proto_pylon_rs485,
    .bus = BL_BUS_RS485,
    .confidence = BL_CONF_MEDIUM,
    .baud = 9600,
    .serial = "9600 8N1; packs DIP 1..15, 0 = master; request INFO empty (LENID 0)",
    .rs485 = &eg4_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM), [BL_AC_PROTECTION] = AM(BL_A_INTERNAL) },
    .sources = "EG4DOC (EG4 LifePower4 protocol), NK20 (live frames)",
};

/* ---- Daren DR-1363 (§9.4, L-M): reply layouts are a gap in the sheet ------------------ */

static const bl_rs_item_t drn_0xb0_req[] = {
    R_RAW("Group", 1), R_RAW("Operation", 1), R_RAW("Module", 1), R_RAW("Function", 1), R_RAW("Length", 1),
};

static const bl_rs_msg_t drn_msgs[] = {
    RMSG(0x42, "realtime_data", pace_rest, BL_REQ_ADR, BL_RMF_NO_REPLY),
    RMSG(0x47, "cell_parameters", pace_rest, BL_REQ_ADR, BL_RMF_NO_REPLY),
    RMSG(0x51, "manufacturer_info", pace_rest, BL_REQ_NONE, BL_RMF_NO_REPLY),
    RMSG_REQ(0xB0, "service", pace_rest, drn_0xb0_req, BL_RMF_NO_REPLY),
};

static const bl_pyl_dialect_t drn_dialect = {
    .ver = 0x22,
    .cid1 = 0x4A,
    .rtn_no_data = 0,
    .rtn_bad_cid2 = 0x04,
    .rtn_bad_chksum = 0x02,
    .rtn_bad_lchksum = 0x03,
    .rtn_bad_adr = 0,
    .derive_soc = false,
};

static const uint8_t drn_poll[] = { 0x42, 0 };

static const bl_rs485_codec_t drn_codec = {
    .kind = BL_RSK_PYLON,
    .framing = BL_FRAMING_PYLON,
    .data_bits = 8,
    .parity = 'N',
    .stop_bits = 1,
    .addr_default = 0x01,
    .addr_min = 0x01,
    .addr_max = 0x0F,
    .poll_ms = 2000,
    .reply_ms = 1000,
    .gap_ms = 200,
    .msgs = drn_msgs,
    .nmsgs = BL_ARRAY_LEN(drn_msgs),
    .poll = drn_poll,
    .poll_once = none_once,
    .pyl = &drn_dialect,
};

const bl_protocol_t bl_proto_pylon_rs485_daren = {
    .name = "pylon-rs485:daren",
    .title = "Daren DR-1363 / KS48100 (VER 0x22, CID1 0x4A): requests and frames; reply layouts unknown",
    .base = &bl_proto_pylon_rs485,
    .bus = BL_BUS_RS485,
    .confidence = BL_CONF_LOW,
    .baud = 9600,
    .serial = "9600 or 19200 8N1; ADR 1..; drivers wait 0.4-1.0 s for a reply",
    .rs485 = &drn_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .sources = "DSB (daren_485.py, ks48100.py)",
};
