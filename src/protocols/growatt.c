/*
 * Growatt battery CAN, three unrelated protocols:
 *   growatt-lv   "BMS CAN-Bus-protocol-low-voltage" V1.04 (SPF/SPH LV): 11-bit, BE,
 *                the inverter polls 0x301 every 1 s, the BMS answers 0x311-0x321 (H)
 *   growatt-hv   "BMS CAN-Bus-protocol High Voltage" V1.10 (SPH/SPA BH-UP): 29-bit, BE,
 *                the BMS sends every 1 s only after the PCS heartbeat 0x3010 (M)
 *   growatt-wit  "BATTERY BMS CAN COMMUNICATION PROTOCOL" V1.1 (WIT 50-100K): 29-bit,
 *                LE, 0x1AxxFFF3 frames after the PCS heartbeat 0x1AB5 (M-L)
 * Fact sheet protocols/can-growatt.md (GRW104 official PDF, BE GROWATT-*, WIKI, ANCH).
 */
#include "table.h"

/* ======================= A. Growatt LV V1.04 ======================= */

/* 0x311: CV, CCL, DCL (0.1 V / 0.1 A), status word (BE: bits 0-7 in byte 7, 8-15 in
 * byte 6). The document says the inverter does no special control on the status. */
static const bl_signal_t glv_0x311[] = {
    SIG_NUM("ChargeVoltage", BL_F_CVL, BE_AT(0), 16, BL_BE, 0, 100, 0, V(0), V(100), "V"),
    SIG_NUM("ChargeCurrentLimit", BL_F_CCL, BE_AT(2), 16, BL_BE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_NUM("DischargeCurrentLimit", BL_F_DCL, BE_AT(4), 16, BL_BE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_RAW("State", BIT_AT(7, 0), 2, BL_LE, 0, 0), /* 0 soft-start, 1 standby, 2 charging, 3 discharging */
    SIG_RAW("ErrorByteValid", BIT_AT(7, 2), 1, BL_LE, 0, 0),
    SIG_RAW("CellBalancing", BIT_AT(7, 3), 1, BL_LE, 0, 0),
    SIG_RAW("Sleep", BIT_AT(7, 4), 1, BL_LE, 0, 0),
    SIG_BOOL("OutputDischargeEnabled", BL_F_DISCHARGE_ENABLE, BIT_AT(7, 5)),
    SIG_BOOL("OutputChargeEnabled", BL_F_CHARGE_ENABLE, BIT_AT(7, 6)),
    SIG_RAW("TerminalOpen", BIT_AT(7, 7), 1, BL_LE, 0, 0),
    SIG_RAW("MasterBoxMode", BIT_AT(6, 0), 2, BL_LE, 0, 0), /* 0 single, 1 parallel, 2 parallel ready */
    SIG_RAW("InverterStatus", BIT_AT(6, 2), 2, BL_LE, 0, 0),
};

/* 0x312: protection tables P1/P2 (bytes 0-1), alarm tables A1/A2 (bytes 2-3), pack
 * count, manufacturer code, total cells. P1/A1 bits 0-2 are M (flattened PDF table). */
static const bl_signal_t glv_0x312[] = {
    SIG_ALARMF("P1SoftStartFail", BL_AC_PROTECTION, BL_A_INTERNAL, 0, BIT_AT(0, 0), BL_SF_DECODE_ONLY),
    SIG_ALARM("P1ModuleUnderVoltage", BL_AC_PROTECTION, BL_A_PACK_UV, 0, BIT_AT(0, 1)),
    SIG_ALARM("P1ModuleOverVoltage", BL_AC_PROTECTION, BL_A_PACK_OV, 0, BIT_AT(0, 2)),
    SIG_ALARM("P1CellUnderVoltage", BL_AC_PROTECTION, BL_A_CELL_UV, 0, BIT_AT(0, 3)),
    SIG_ALARM("P1CellOverVoltage", BL_AC_PROTECTION, BL_A_CELL_OV, 0, BIT_AT(0, 4)),
    SIG_ALARM("P1ShortCircuit", BL_AC_PROTECTION, BL_A_SHORT, 0, BIT_AT(0, 5)),
    SIG_ALARM("P1ChargeOverCurrent", BL_AC_PROTECTION, BL_A_CHG_OC, 0, BIT_AT(0, 6)),
    SIG_ALARM("P1DischargeOverCurrent", BL_AC_PROTECTION, BL_A_DSG_OC, 0, BIT_AT(0, 7)),
    SIG_ALARM("P2DeltaVFail", BL_AC_PROTECTION, BL_A_IMBALANCE, 0, BIT_AT(1, 2)),
    SIG_ALARM("P2SystemError", BL_AC_PROTECTION, BL_A_INTERNAL, 0, BIT_AT(1, 3)),
    SIG_ALARM("P2ChargeUnderTemperature", BL_AC_PROTECTION, BL_A_CHG_UT, 0, BIT_AT(1, 4)),
    SIG_ALARM("P2DischargeUnderTemperature", BL_AC_PROTECTION, BL_A_DSG_UT, 0, BIT_AT(1, 5)),
    SIG_ALARM("P2ChargeOverTemperature", BL_AC_PROTECTION, BL_A_CHG_OT, 0, BIT_AT(1, 6)),
    SIG_ALARM("P2DischargeOverTemperature", BL_AC_PROTECTION, BL_A_DSG_OT, 0, BIT_AT(1, 7)),
    SIG_ALARM("A1ModuleLowVoltage", BL_AC_ALARM, BL_A_PACK_UV, 0, BIT_AT(2, 1)),
    SIG_ALARM("A1ModuleHighVoltage", BL_AC_ALARM, BL_A_PACK_OV, 0, BIT_AT(2, 2)),
    SIG_ALARM("A1CellLowVoltage", BL_AC_ALARM, BL_A_CELL_UV, 0, BIT_AT(2, 3)),
    SIG_ALARM("A1CellHighVoltage", BL_AC_ALARM, BL_A_CELL_OV, 0, BIT_AT(2, 4)),
    SIG_ALARM("A1ChargeOverCurrent", BL_AC_ALARM, BL_A_CHG_OC, 0, BIT_AT(2, 6)),
    SIG_ALARM("A1DischargeOverCurrent", BL_AC_ALARM, BL_A_DSG_OC, 0, BIT_AT(2, 7)),
    SIG_ALARM("A2InternalCommFail", BL_AC_ALARM, BL_A_COMM, 0, BIT_AT(3, 0)),
    SIG_RAW("A2PackBeforeTurnOff", BIT_AT(3, 1), 1, BL_LE, 0, 0),
    SIG_ALARM("A2DeltaVFail", BL_AC_ALARM, BL_A_IMBALANCE, 0, BIT_AT(3, 2)),
    SIG_ALARM("A2ChargeUnderTemperature", BL_AC_ALARM, BL_A_CHG_UT, 0, BIT_AT(3, 4)),
    SIG_ALARM("A2DischargeUnderTemperature", BL_AC_ALARM, BL_A_DSG_UT, 0, BIT_AT(3, 5)),
    SIG_ALARM("A2ChargeOverTemperature", BL_AC_ALARM, BL_A_CHG_OT, 0, BIT_AT(3, 6)),
    SIG_ALARM("A2DischargeOverTemperature", BL_AC_ALARM, BL_A_DSG_OT, 0, BIT_AT(3, 7)),
    SIG_NUM("PackCount", BL_F_MODULE_COUNT, LE_AT(4), 8, BL_LE, 0, 1000, 0, N(0), N(254), ""),
    SIG_RAW("ManufacturerCode", BE_AT(5), 16, BL_BE, 0, 0),
    SIG_RAW("TotalCells", LE_AT(7), 8, BL_LE, 0, 0),
};

/* 0x313: voltage 0.01 V, current 0.1 A (sign not stated: + charging assumed, unverified),
 * max cell temperature, SOC, SOH in bits 0-6 (bit 7 "SOH flag": unsafe to use) */
static const bl_signal_t glv_0x313[] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, BE_AT(0), 16, BL_BE, S_SIGNED, 10, 0, V(0), V(100), "V"),
    SIG_NUM("Current", BL_F_CURRENT, BE_AT(2), 16, BL_BE, S_SIGNED | BL_SF_UNVERIFIED, 100, 0, A(-3000), A(3000),
            "A"),
    SIG_NUM("MaxCellTemperature", BL_F_TEMP_MAX, BE_AT(4), 16, BL_BE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("SOC", BL_F_SOC, LE_AT(6), 8, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOH", BL_F_SOH, BIT_AT(7, 0), 7, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_RAW("SOHFlag", BIT_AT(7, 7), 1, BL_LE, 0, 0),
};

/* 0x314: capacities in 10 mAh, cell delta in mV, cycle count */
static const bl_signal_t glv_0x314[] = {
    SIG_NUM("RemainingCapacity", BL_F_NONE, BE_AT(0), 16, BL_BE, 0, 10, 0, 0, 0, "Ah"),
    SIG_NUM("FullChargeCapacity", BL_F_CAPACITY, BE_AT(2), 16, BL_BE, 0, 10, 0, 0, 0, "Ah"),
    SIG_NUM("CellDeltaVoltage", BL_F_NONE, BE_AT(4), 16, BL_BE, 0, 1, 0, 0, 0, "V"),
    SIG_NUM("CycleCount", BL_F_CYCLE_COUNT, BE_AT(6), 16, BL_BE, 0, 1000, 0, 0, 0, ""),
};

/* 0x315-0x318: cells 1-16 in mV, optional (not sent in parallel operation) */
#define GLV_CELLS(n)                                                                                   \
    SIG_NUM("Cell" #n "a", BL_F_NONE, BE_AT(0), 16, BL_BE, 0, 1, 0, 0, 0, "V"),                        \
    SIG_NUM("Cell" #n "b", BL_F_NONE, BE_AT(2), 16, BL_BE, 0, 1, 0, 0, 0, "V"),                        \
    SIG_NUM("Cell" #n "c", BL_F_NONE, BE_AT(4), 16, BL_BE, 0, 1, 0, 0, 0, "V"),                        \
    SIG_NUM("Cell" #n "d", BL_F_NONE, BE_AT(6), 16, BL_BE, 0, 1, 0, 0, 0, "V")
static const bl_signal_t glv_0x315[] = { GLV_CELLS(1) };
static const bl_signal_t glv_0x316[] = { GLV_CELLS(2) };
static const bl_signal_t glv_0x317[] = { GLV_CELLS(3) };
static const bl_signal_t glv_0x318[] = { GLV_CELLS(4) };

/* 0x319: request flags + chemistry (table R), cell extremes in mV and where they are.
 * Force charge I is the one Growatt uses (SOC window 5-10 %); II is unused. */
static const bl_signal_t glv_0x319[] = {
    SIG_BOOL("ChargeEnable", BL_F_CHARGE_ENABLE, BIT_AT(0, 7)),
    SIG_BOOL("DischargeEnable", BL_F_DISCHARGE_ENABLE, BIT_AT(0, 6)),
    SIG_BOOL("ForceChargeI", BL_F_FORCE_CHARGE, BIT_AT(0, 5)),
    SIG_RAW("ForceChargeII", BIT_AT(0, 4), 1, BL_LE, 0, 0),
    SIG_RAW("Chemistry", BIT_AT(0, 0), 2, BL_LE, 0, 0), /* 0 LFP, 1 NMC, 2 LTO */
    SIG_NUM("MaxCellVoltage", BL_F_CELL_V_MAX, BE_AT(1), 16, BL_BE, 0, 1, 0, V(0), V(5), "V"),
    SIG_NUM("MinCellVoltage", BL_F_CELL_V_MIN, BE_AT(3), 16, BL_BE, 0, 1, 0, V(0), V(5), "V"),
    SIG_RAW("MaxCellNumber", LE_AT(5), 8, BL_LE, 0, 0),
    SIG_RAW("MinCellNumber", LE_AT(6), 8, BL_LE, 0, 0),
    SIG_RAW("FaultPackId", LE_AT(7), 8, BL_LE, 0, 0),
};

/* 0x320: manufacturer (2 ASCII capitals), hardware / software version (1-9), date-time
 * U32 (s bits 0-5, min 6-11, h 12-16, day 17-21, month 22-25, year-2000 26-31) */
static const bl_signal_t glv_0x320[] = {
    SIG_ASCII("Manufacturer", BL_F_MANUFACTURER, 0, 2, 0, NULL),
    SIG_RAW("HardwareVersion", LE_AT(2), 8, BL_LE, 0, 1),
    SIG_VERSION("SoftwareVersion", BL_F_FIRMWARE, 3, 1, 0),
    SIG_RAW("DateTime", BE_AT(4), 32, BL_BE, 0, 0),
};

/* 0x321: update status, progress, programming pack id, success count */
static const bl_signal_t glv_0x321[] = {
    SIG_RAW("UpdateStatus", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_RAW("Progress", LE_AT(1), 8, BL_LE, 0, 0),
    SIG_RAW("ProgrammingPack", LE_AT(2), 8, BL_LE, 0, 0),
    SIG_RAW("SuccessCount", LE_AT(3), 8, BL_LE, 0, 0),
};

/* 0x301: the inverter's poll, 11 22 33 44 55 66 77 88 every 1 s (GRW-01) */
static const bl_signal_t glv_0x301[] = {
    SIG_RAW("Poll1", BE_AT(0), 32, BL_BE, 0, 0x11223344),
    SIG_RAW("Poll2", BE_AT(4), 32, BL_BE, 0, 0x55667788),
};

static const bl_message_t glv_msgs[] = {
    MSG(0x311, 0, BL_DIR_B2I, "limits_status", glv_0x311, 8, 6, 0, BL_MF_ON_REQUEST),
    MSG(0x312, 0, BL_DIR_B2I, "protection_alarm_packs", glv_0x312, 8, 4, 0, BL_MF_ON_REQUEST),
    MSG(0x313, 0, BL_DIR_B2I, "voltage_current_temperature_soc", glv_0x313, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x314, 0, BL_DIR_B2I, "capacity_cycles", glv_0x314, 8, 4, 0, BL_MF_ON_REQUEST),
    MSG(0x315, 0, BL_DIR_B2I, "cells_1_4", glv_0x315, 8, 2, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x316, 0, BL_DIR_B2I, "cells_5_8", glv_0x316, 8, 2, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x317, 0, BL_DIR_B2I, "cells_9_12", glv_0x317, 8, 2, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x318, 0, BL_DIR_B2I, "cells_13_16", glv_0x318, 8, 2, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x319, 0, BL_DIR_B2I, "flags_cell_extremes", glv_0x319, 8, 5, 0, BL_MF_ON_REQUEST),
    MSG(0x320, 0, BL_DIR_B2I, "manufacturer_version_time", glv_0x320, 8, 2, 0, BL_MF_ON_REQUEST),
    MSG(0x321, 0, BL_DIR_B2I, "update_status", glv_0x321, 8, 4, 0, BL_MF_ON_REQUEST),
    MSG(0x301, 0, BL_DIR_I2B, "poll", glv_0x301, 8, 0, 1000, BL_MF_REQUEST | BL_MF_KEEPALIVE),
};

static const bl_trigger_t glv_triggers[] = {
    TRIG(0x301, 0, ANY, 0, 0, 0, KEEP, BL_TA_RESPOND, 1000,
         IDS(0x311, 0x312, 0x313, 0x314, 0x319, 0x320, 0x321),
         "poll: the BMS answers with its data frames (cells 0x315-0x318 are optional)"),
};

static const bl_idfact_t glv_ids[] = {
    IDF("0x312 byte 4 (PackCount)", "1-254", "packs in parallel"),
    IDF("0x320 bytes 0-1", "2 ASCII capitals", "manufacturer name"),
    IDF("battery CAN menu", "\"Growatt\" (V1.04; newer menus V1.08)", "the battery's protocol setting"),
};

const bl_protocol_t bl_proto_growatt_lv = {
    .name = "growatt-lv",
    .title = "Growatt low-voltage BMS CAN V1.04 (SPF/SPH LV; big endian, answers the 0x301 poll)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_HIGH,
    .id_bits = 11,
    .byte_order = BL_BE,
    .bitrate = 500000,
    .timeout_ms = 10000, /* answers every 1 s poll */
    .msgs = glv_msgs,
    .nmsgs = BL_ARRAY_LEN(glv_msgs),
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM), [BL_AC_PROTECTION] = AM(BL_A_INTERNAL) },
    .handshake = DOC("the inverter sends 0x301 (11 22 33 44 55 66 77 88) every 1 s; the BMS answers each with "
                     "0x311-0x321"),
    .identity = DOC("manufacturer code (0x312) and name (0x320); no check documented"),
    .on_timeout = DOC("Growatt SPF: when the communication fails, the inverter cuts off its output"),
    .sources = DOC("GRW104 (official PDF), BE (GROWATT-LV-CAN), MANUAL, ANCH"),
    .triggers = glv_triggers,
    .ntriggers = BL_ARRAY_LEN(glv_triggers),
    .idfacts = glv_ids,
    .nidfacts = BL_ARRAY_LEN(glv_ids),
};

/* ======================= B. Growatt HV V1.10 ======================= */

/* 0x3110: charge voltage, current limits (CCL 0-300 A), status bits */
static const bl_signal_t ghv_0x3110[] = {
    SIG_NUM("ChargeVoltage", BL_F_CVL, BE_AT(0), 16, BL_BE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("ChargeCurrentLimit", BL_F_CCL, BE_AT(2), 16, BL_BE, 0, 100, 0, A(0), A(300), "A"),
    SIG_NUM("DischargeCurrentLimit", BL_F_DCL, BE_AT(4), 16, BL_BE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_RAW("BatteryNormal", BIT_AT(6, 4), 1, BL_LE, 0, 1),
    SIG_RAW("IsoDetected", BIT_AT(6, 5), 1, BL_LE, 0, 0),
    SIG_RAW("State", BIT_AT(7, 0), 2, BL_LE, 0, 1), /* 1 idle, 2 charge, 3 discharge */
    SIG_BOOLX("DischargeForbidden", BL_F_DISCHARGE_ENABLE, BIT_AT(7, 5), 1, BL_LE, BL_SF_INVERT, 0, -1),
    SIG_BOOLX("ChargeForbidden", BL_F_CHARGE_ENABLE, BIT_AT(7, 6), 1, BL_LE, BL_SF_INVERT, 0, -1),
};

/* 0x3130: voltage, current (-300..300 A; sign convention not stated), max cell
 * temperature, SOC, SOH bits 0-6 (bit 7 flag) */
static const bl_signal_t ghv_0x3130[] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, BE_AT(0), 16, BL_BE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("Current", BL_F_CURRENT, BE_AT(2), 16, BL_BE, S_SIGNED | BL_SF_UNVERIFIED, 100, 0, A(-300), A(300), "A"),
    SIG_NUM("MaxCellTemperature", BL_F_TEMP_MAX, BE_AT(4), 16, BL_BE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("SOC", BL_F_SOC, LE_AT(6), 8, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOH", BL_F_SOH, BIT_AT(7, 0), 7, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_RAW("SOHFlag", BIT_AT(7, 7), 1, BL_LE, 0, 0),
};

/* frames whose byte layout the fact sheet does not give: named, read raw, not sent */
static const bl_signal_t ghv_raw[] = {
    SIG_RAW("Bytes0to3", BE_AT(0), 32, BL_BE, 0, 0),
    SIG_RAW("Bytes4to7", BE_AT(4), 32, BL_BE, 0, 0),
};

/* PCS -> BMS */
static const bl_signal_t ghv_0x3010[] = {
    SIG_RAW("SendCounter", BE_AT(0), 16, BL_BE, 0, 0),
    SIG_RAW("SafetySpecification", LE_AT(2), 8, BL_LE, 0, 0),
};
static const bl_signal_t ghv_0x3020[] = {
    SIG_RAW("ChargeCommand", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_RAW("DischargeCommand", LE_AT(1), 8, BL_LE, 0, 0),
    SIG_RAW("ShieldExternalCommFailure", LE_AT(2), 8, BL_LE, 0, 0),
    SIG_RAW("ClearBatteryFault", LE_AT(3), 8, BL_LE, 0, 0),
    SIG_RAW("IsoDetectionCommand", LE_AT(4), 8, BL_LE, 0, 0),
    SIG_RAW("SleepWake", LE_AT(7), 8, BL_LE, 0, 0),
};
static const bl_signal_t ghv_0x3030[] = {
    SIG_NUMX("UnixTime", BL_F_NONE, BE_AT(0), 32, BL_BE, 0, 1000, 1, 0, 0, 0, "s", -1),
    SIG_RAW("PcsWorkingStatus", LE_AT(7), 8, BL_LE, 0, 0),
};

#define GHV_RAW(idv, nm) MSG(idv, 1, BL_DIR_B2I, nm, ghv_raw, 8, 0, 1000, BL_MF_DECODE_ONLY)

static const bl_message_t ghv_msgs[] = {
    MSG(0x3110, 1, BL_DIR_B2I, "limits_status", ghv_0x3110, 8, 8, 1000, 0),
    MSG(0x3130, 1, BL_DIR_B2I, "voltage_current_temperature_soc", ghv_0x3130, 8, 8, 1000, 0),
    GHV_RAW(0x3120, "protection_alarm"),
    GHV_RAW(0x3140, "capacities_manufacturer"),
    GHV_RAW(0x3150, "cutoff_voltage_temperature_cells"),
    GHV_RAW(0x3160, "fault_flags_cell_locations"),
    GHV_RAW(0x3170, "temperature_locations_balancing"),
    GHV_RAW(0x3180, "packs_cells_pack_number"),
    GHV_RAW(0x3190, "status_cell_extremes_faulty_pack"),
    GHV_RAW(0x3200, "name_hardware_cutoff"),
    GHV_RAW(0x3210, "upgrade"),
    GHV_RAW(0x3220, "derating_faults_force_charge_energy"),
    GHV_RAW(0x3230, "serial_number"),
    GHV_RAW(0x3240, "lifetime_energy"),
    GHV_RAW(0x3250, "fault_history"),
    GHV_RAW(0x3260, "debug_1"),
    GHV_RAW(0x3270, "debug_2"),
    GHV_RAW(0x3280, "product_version"),
    GHV_RAW(0x3290, "dtc"),
    GHV_RAW(0x3F00, "internal_alarm"),
    MSG(0x3010, 1, BL_DIR_I2B, "pcs_heartbeat", ghv_0x3010, 8, 2, 1000, BL_MF_KEEPALIVE),
    MSG(0x3020, 1, BL_DIR_I2B, "pcs_control", ghv_0x3020, 8, 1, 1000, 0),
    MSG(0x3030, 1, BL_DIR_I2B, "pcs_time_status", ghv_0x3030, 8, 4, 1000, 0),
};

static const bl_trigger_t ghv_triggers[] = {
    TRIG(0x3010, 1, ANY, 0, 0, 0, KEEP, BL_TA_START, 1000, NULL,
         "PCS heartbeat: the BMS starts its 1 s frames once the PCS is alive"),
};

const bl_protocol_t bl_proto_growatt_hv = {
    .name = "growatt-hv",
    .title = "Growatt high-voltage BMS CAN V1.10 (SPH/SPA BH-UP; 29-bit, big endian)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_MEDIUM,
    .id_bits = 29,
    .byte_order = BL_BE,
    .bitrate = 500000,
    .timeout_ms = 0,
    .msgs = ghv_msgs,
    .nmsgs = BL_ARRAY_LEN(ghv_msgs),
    /* alarm / protection layouts (0x3120, 0x3160) are not decoded: safe state = 0 A limits
     * and the charge / discharge forbidden bits */
    .handshake = DOC("the PCS sends 0x3010 heartbeat, 0x3020 control and 0x3030 time every 1 s; the BMS sends its 1 "
                     "s frames only after the PCS is alive. bmslink sends 0x3110 and 0x3130, the frames whose layout "
                     "is known; the PCS may want more (gap)"),
    .identity = DOC("plays an \"HVC 60050-A1\" BMS in the emulator; Growatt SPH has no battery-protocol setting"),
    .on_timeout = DOC("not documented"),
    .sources = DOC("BE (GROWATT-HV-CAN), WIKI, ANCH"),
    .triggers = ghv_triggers,
    .ntriggers = BL_ARRAY_LEN(ghv_triggers),
};

/* ======================= C. Growatt WIT V1.1 ======================= */

#define WIT(x) (0x1A00u | (x))
#define WIT_BMS(x) ((WIT(x) << 16) | 0xFFF3u) /* 0xC7 -> 0x1AC7FFF3 */
#define WIT_PCS(x) (WIT(x) << 16)             /* 0xB5 -> 0x1AB5xxxx, low bits not given: any (mask) */

/* 0x1AC3 (100 ms): max charge / discharge current (0-1000 A), max charge / min discharge
 * voltage. The fact sheet lists the four fields in this order, not their bytes: inferred. */
static const bl_signal_t wit_0x1ac3[] = {
    SIG_NUM("MaxChargeCurrent", BL_F_CCL, LE_AT(0), 16, BL_LE, BL_SF_UNVERIFIED, 100, 0, A(0), A(1000), "A"),
    SIG_NUM("MaxDischargeCurrent", BL_F_DCL, LE_AT(2), 16, BL_LE, BL_SF_UNVERIFIED, 100, 0, A(0), A(1000), "A"),
    SIG_NUM("MaxChargeVoltage", BL_F_CVL, LE_AT(4), 16, BL_LE, BL_SF_UNVERIFIED, 100, 0, V(0), V(1500), "V"),
    SIG_NUM("MinDischargeVoltage", BL_F_DVL, LE_AT(6), 16, BL_LE, BL_SF_UNVERIFIED, 100, 0, V(0), V(1500), "V"),
};
/* 0x1AC4 (100 ms): CV voltage in bytes 4-5 */
static const bl_signal_t wit_0x1ac4[] = {
    SIG_RAW("Bytes0to3", LE_AT(0), 32, BL_LE, 0, 0),
    SIG_NUM("CvVoltage", BL_F_NONE, LE_AT(4), 16, BL_LE, 0, 100, 0, 0, 0, "V"),
    SIG_RAW("Bytes67", LE_AT(6), 16, BL_LE, 0, 0),
};
/* 0x1AC7 (100 ms): voltage in bytes 2-3, current in bytes 4-5 with raw = I x 10 + 10000
 * (sign not confirmed, GRW-09) */
static const bl_signal_t wit_0x1ac7[] = {
    SIG_RAW("Bytes01", LE_AT(0), 16, BL_LE, 0, 0),
    SIG_NUM("Voltage", BL_F_VOLTAGE, LE_AT(2), 16, BL_LE, 0, 100, 0, V(0), V(1500), "V"),
    SIG_NUM("Current", BL_F_CURRENT, LE_AT(4), 16, BL_LE, BL_SF_UNVERIFIED, 100, A(-1000), A(-1000), A(1000), "A"),
    SIG_RAW("Bytes67", LE_AT(6), 16, BL_LE, 0, 0),
};
static const bl_signal_t wit_raw[] = {
    SIG_RAW("Bytes0to3", LE_AT(0), 32, BL_LE, 0, 0),
    SIG_RAW("Bytes4to7", LE_AT(4), 32, BL_LE, 0, 0),
};
/* PCS heartbeat (1 s): frame counter LE */
static const bl_signal_t wit_0x1ab5[] = {
    SIG_RAW("FrameCounter", LE_AT(0), 16, BL_LE, 0, 0),
};

#define WIT_RAW_B(x, nm, per) MSG(WIT_BMS(x), 1, BL_DIR_B2I, nm, wit_raw, 8, 0, per, BL_MF_DECODE_ONLY)
#define WIT_RAW_P(x, nm, per, flg) MSGX(WIT_PCS(x), 0x1FFF0000u, 1, BL_DIR_I2B, nm, wit_raw, 8, 0, per, flg, 0)

static const bl_message_t wit_msgs[] = {
    MSG(WIT_BMS(0xC3), 1, BL_DIR_B2I, "limits", wit_0x1ac3, 8, 8, 100, 0),
    MSG(WIT_BMS(0xC4), 1, BL_DIR_B2I, "cv_voltage", wit_0x1ac4, 8, 6, 100, 0),
    MSG(WIT_BMS(0xC7), 1, BL_DIR_B2I, "voltage_current", wit_0x1ac7, 8, 6, 100, 0),
    /* layouts not given: state + charge/discharge flags (0x1AC5), SOC/SOH/rated capacity
     * (0x1AC6), composition (0x1AC0), events (0x1AC2, 0x1A80, 0x1A82) */
    WIT_RAW_B(0xC5, "state_flags", 100),
    WIT_RAW_B(0xC6, "soc_soh_capacity", 500),
    WIT_RAW_B(0xC0, "composition", 2000),
    WIT_RAW_B(0xC2, "event_1", 0),
    WIT_RAW_B(0x80, "event_2", 0),
    WIT_RAW_B(0x82, "event_3", 0),
    MSGX(WIT_PCS(0xB5), 0x1FFF0000u, 1, BL_DIR_I2B, "pcs_heartbeat", wit_0x1ab5, 8, 2, 1000, BL_MF_KEEPALIVE, 0),
    WIT_RAW_P(0xB6, "pcs_date_time", 0, 0),
    WIT_RAW_P(0xB7, "pcs_status", 0, 0),
    WIT_RAW_P(0xB8, "pcs_bus_voltage_setting", 50, 0),
    WIT_RAW_P(0xBE, "pcs_product_info", 0, BL_MF_EVENT),
};

static const bl_trigger_t wit_triggers[] = {
    TRIG(WIT_PCS(0xB5), 1, ANY, 0, 0, 0, KEEP, BL_TA_START, 1000, NULL,
         "PCS heartbeat: the BMS starts sending (100 ms / 500 ms / 2 s frames)"),
};

const bl_protocol_t bl_proto_growatt_wit = {
    .name = "growatt-wit",
    .title = "Growatt WIT battery BMS CAN V1.1 (WIT 50-100K-HU/AU; 29-bit 0x1AxxFFF3, little endian)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_LOW,
    .id_bits = 29,
    .byte_order = BL_LE,
    .bitrate = 500000,
    .timeout_ms = 0,
    .msgs = wit_msgs,
    .nmsgs = BL_ARRAY_LEN(wit_msgs),
    .handshake = DOC("the BMS waits for the PCS heartbeat 0x1AB5 (1 s) before sending; cycle tolerance +-5 %. The "
                     "PCS ids' low 16 bits are not given (matched as any); SOC/SOH (0x1AC5/0x1AC6) layouts are not "
                     "known, so bmslink cannot send them (gap)"),
    .identity = DOC("product info exchange 0x1ABE -> 0x1AC2/0x1A80/0x1A82 events (layouts not known)"),
    .on_timeout = DOC("not documented"),
    .sources = DOC("BE (GROWATT-WIT-CAN)"),
    .triggers = wit_triggers,
    .ntriggers = BL_ARRAY_LEN(wit_triggers),
};
