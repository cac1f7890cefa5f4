/*
 * Pylontech high-voltage CAN (Force H1/H2, SC0500 family; "Pylon HV" on Hoymiles,
 * Deye HV, Sofar HYD, SAJ H2, Felicity, Solxpow, Ferroamp, Solis).
 * 29-bit ids, 500 kbit/s. The PCS polls with 0x4200; the battery answers with a
 * burst and never broadcasts on its own. Response ids carry the battery group
 * address in their low digit (0x4210 group 0, 0x4211 group 1).
 * Three field encodings exist in the field (§7), selected by name:
 *   pylon-hv / pylon-hv:le-offset  spec: LE, current +30000, temperature +1000
 *   pylon-hv:le                    LE, no offsets (Solxpow default)
 *   pylon-hv:be                    BE, no offsets (Battery-Emulator default)
 * Fact sheet protocols/can-pylon-hv.md (DIYF, ORB, AR, BEB, BE, WIKI, ISSUES).
 */
#include "table.h"

#define ADDR 0x1FFFFFF0u /* low hex digit of the id = group address */
#define OFS BL_SF_VAR_OFFSET

/* §4 0x4210: pile voltage, current (raw = I x 10 + 30000, + charging), BMS temperature
 * (raw = T x 10 + 1000), SOC, SOH */
static const bl_signal_t phv_0x4210[] = {
    SIG_NUM("PileVoltage", BL_F_VOLTAGE, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("PileCurrent", BL_F_CURRENT, LE_AT(2), 16, BL_LE, OFS, 100, A(-3000), A(-3000), A(3000), "A"),
    SIG_NUM("BmsTemperature", BL_F_TEMP, LE_AT(4), 16, BL_LE, OFS, 100, C(-100), C(-50), C(100), "C"),
    SIG_NUM("SOC", BL_F_SOC, LE_AT(6), 8, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOH", BL_F_SOH, LE_AT(7), 8, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
};

/* 0x4220: charge / discharge cut-off voltages, max charge / discharge currents with
 * the -3000 A offset. The discharge limit's sign is disputed (negative in the
 * Sermatec reading, positive in other implementations and GCE BMSes): decode the
 * magnitude; encode it positive, as the field-proven emulator payload does (PHV-02). */
static const bl_signal_t phv_0x4220[] = {
    SIG_NUM("ChargeCutoffVoltage", BL_F_CVL, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("DischargeCutoffVoltage", BL_F_DVL, LE_AT(2), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("MaxChargeCurrent", BL_F_CCL, LE_AT(4), 16, BL_LE, OFS, 100, A(-3000), A(0), A(3000), "A"),
    SIG_NUM("MaxDischargeCurrent", BL_F_DCL, LE_AT(6), 16, BL_LE, OFS | BL_SF_ABS, 100, A(-3000), A(0), A(3000),
            "A"),
};

/* 0x4230: cell voltage extremes (1 mV) and the numbers of those cells */
static const bl_signal_t phv_0x4230[] = {
    SIG_NUM("MaxCellVoltage", BL_F_CELL_V_MAX, LE_AT(0), 16, BL_LE, 0, 1, 0, V(0), V(5), "V"),
    SIG_NUM("MinCellVoltage", BL_F_CELL_V_MIN, LE_AT(2), 16, BL_LE, 0, 1, 0, V(0), V(5), "V"),
    SIG_RAW("MaxCellNumber", LE_AT(4), 16, BL_LE, 0, 0),
    SIG_RAW("MinCellNumber", LE_AT(6), 16, BL_LE, 0, 0),
};

/* 0x4240: cell temperature extremes (0.1 °C, +1000) and their cell numbers */
static const bl_signal_t phv_0x4240[] = {
    SIG_NUM("MaxCellTemperature", BL_F_TEMP_MAX, LE_AT(0), 16, BL_LE, OFS, 100, C(-100), C(-50), C(100), "C"),
    SIG_NUM("MinCellTemperature", BL_F_TEMP_MIN, LE_AT(2), 16, BL_LE, OFS, 100, C(-100), C(-50), C(100), "C"),
    SIG_RAW("MaxTempCellNumber", LE_AT(4), 16, BL_LE, 0, 0),
    SIG_RAW("MinTempCellNumber", LE_AT(6), 16, BL_LE, 0, 0),
};

/*
 * 0x4250: byte 0 basic status (bits 0-2: 0 sleep, 1 charge, 2 discharge, 3 idle;
 * bit 3 forced-charge request, bit 4 balance-charge request: the majority reading,
 * M), bytes 1-2 cycle period, byte 3 error bits, bytes 4-5 alarm word, bytes 6-7
 * protection word (same bit positions, table C, H). The words are LE: bits 8-11
 * live in bytes 5 / 7. Bits 12-15 are reserved: a sender setting them is reported.
 */
#define PHV_WORD(cls, b, pfx)                                                                          \
    SIG_ALARM(pfx "CellUnderVoltage", cls, BL_A_CELL_UV, 0, BIT_AT(b, 0)),                             \
    SIG_ALARM(pfx "CellOverVoltage", cls, BL_A_CELL_OV, 0, BIT_AT(b, 1)),                              \
    SIG_ALARM(pfx "PileUnderVoltage", cls, BL_A_PACK_UV, 0, BIT_AT(b, 2)),                             \
    SIG_ALARM(pfx "PileOverVoltage", cls, BL_A_PACK_OV, 0, BIT_AT(b, 3)),                              \
    SIG_ALARM(pfx "ChargeUnderTemperature", cls, BL_A_CHG_UT, 0, BIT_AT(b, 4)),                        \
    SIG_ALARM(pfx "ChargeOverTemperature", cls, BL_A_CHG_OT, 0, BIT_AT(b, 5)),                         \
    SIG_ALARM(pfx "DischargeUnderTemperature", cls, BL_A_DSG_UT, 0, BIT_AT(b, 6)),                     \
    SIG_ALARM(pfx "DischargeOverTemperature", cls, BL_A_DSG_OT, 0, BIT_AT(b, 7)),                      \
    SIG_ALARM(pfx "ChargeOverCurrent", cls, BL_A_CHG_OC, 0, BIT_AT(b + 1, 0)),                         \
    SIG_ALARM(pfx "DischargeOverCurrent", cls, BL_A_DSG_OC, 0, BIT_AT(b + 1, 1)),                      \
    SIG_ALARMF(pfx "ModuleUnderVoltage", cls, BL_A_PACK_UV, 0, BIT_AT(b + 1, 2), BL_SF_DECODE_ONLY),   \
    SIG_ALARMF(pfx "ModuleOverVoltage", cls, BL_A_PACK_OV, 0, BIT_AT(b + 1, 3), BL_SF_DECODE_ONLY),    \
    SIG_RAW(pfx "Reserved", BIT_AT(b + 1, 4), 4, BL_LE, BL_SF_CHECK, 0)

static const bl_signal_t phv_0x4250[] = {
    SIG_RAW("BasicStatus", BIT_AT(0, 0), 3, BL_LE, 0, 3),
    SIG_BOOL("ForcedChargeRequest", BL_F_FORCE_CHARGE, BIT_AT(0, 3)),
    SIG_BOOL("BalanceChargeRequest", BL_F_FULL_CHARGE_REQ, BIT_AT(0, 4)),
    SIG_RAW("CyclePeriod", LE_AT(1), 16, BL_LE, 0, 0),
    /* table B, error byte: several sensor / hardware errors mean internal_fault; bit 7
     * ("other error") is the one the encoder raises */
    SIG_ALARMF("ErrorVoltageSensor", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(3, 0), BL_SF_DECODE_ONLY),
    SIG_ALARMF("ErrorTemperatureSensor", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(3, 1), BL_SF_DECODE_ONLY),
    SIG_ALARM("ErrorInternalComm", BL_AC_ALARM, BL_A_COMM, 0, BIT_AT(3, 2)),
    SIG_ALARMF("ErrorInputOverVoltage", BL_AC_ALARM, BL_A_PACK_OV, 0, BIT_AT(3, 3), BL_SF_DECODE_ONLY),
    SIG_ALARMF("ErrorInputReversal", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(3, 4), BL_SF_DECODE_ONLY),
    SIG_ALARMF("ErrorRelayCheck", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(3, 5), BL_SF_DECODE_ONLY),
    SIG_ALARMF("ErrorBatteryDamage", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(3, 6), BL_SF_DECODE_ONLY),
    SIG_ALARM("ErrorOther", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(3, 7)),
    PHV_WORD(BL_AC_ALARM, 4, "Alarm"),
    PHV_WORD(BL_AC_PROTECTION, 6, "Protection"),
};

/* 0x4260 / 0x4270: module voltage (1 mV) and temperature extremes with module numbers */
static const bl_signal_t phv_0x4260[] = {
    SIG_NUM("MaxModuleVoltage", BL_F_NONE, LE_AT(0), 16, BL_LE, 0, 1, 0, 0, 0, "V"),
    SIG_NUM("MinModuleVoltage", BL_F_NONE, LE_AT(2), 16, BL_LE, 0, 1, 0, 0, 0, "V"),
    SIG_RAW("MaxModuleNumber", LE_AT(4), 16, BL_LE, 0, 0),
    SIG_RAW("MinModuleNumber", LE_AT(6), 16, BL_LE, 0, 0),
};
/* the module temperature extremes are sent from the cell temperature extremes (the best
 * a record has), but read back they do not overwrite them */
static const bl_signal_t phv_0x4270[] = {
    SIG_NUM("MaxModuleTemperature", BL_F_TEMP_MAX, LE_AT(0), 16, BL_LE, OFS | BL_SF_NO_STORE, 100, C(-100), C(-50),
            C(100), "C"),
    SIG_NUM("MinModuleTemperature", BL_F_TEMP_MIN, LE_AT(2), 16, BL_LE, OFS | BL_SF_NO_STORE, 100, C(-100), C(-50),
            C(100), "C"),
    SIG_RAW("MaxModuleNumber", LE_AT(4), 16, BL_LE, 0, 0),
    SIG_RAW("MinModuleNumber", LE_AT(6), 16, BL_LE, 0, 0),
};

/* 0x4280: 0xAA = charge (discharge) forbidden, anything else allowed; bytes 2-7 reserved */
static const bl_signal_t phv_0x4280[] = {
    SIG_BOOLX("ChargeForbidden", BL_F_CHARGE_ENABLE, LE_AT(0), 8, BL_LE, BL_SF_MATCH | BL_SF_INVERT, 0xAA, -1),
    SIG_BOOLX("DischargeForbidden", BL_F_DISCHARGE_ENABLE, LE_AT(1), 8, BL_LE, BL_SF_MATCH | BL_SF_INVERT, 0xAA, -1),
};

/* 0x4290: fault extension, byte 0 bits 3-7 (M, two sources); all internal faults */
static const bl_signal_t phv_0x4290[] = {
    SIG_ALARMF("FaultSafetyFunction", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(0, 3), BL_SF_DECODE_ONLY),
    SIG_ALARMF("FaultSelfTest", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(0, 4), BL_SF_DECODE_ONLY),
    SIG_ALARMF("FaultInternalBus", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(0, 5), BL_SF_DECODE_ONLY),
    SIG_ALARMF("FaultBmic", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(0, 6), BL_SF_DECODE_ONLY),
    SIG_ALARMF("FaultShutdownCircuit", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(0, 7), BL_SF_DECODE_ONLY),
};

/* 0x7310: hardware version (0 none, 1 ver A, 2 ver B), HW V/R, software major.minor */
static const bl_signal_t phv_0x7310[] = {
    SIG_RAW("HardwareVersion", LE_AT(0), 8, BL_LE, 0, 1),
    SIG_RAW("HardwareV", LE_AT(2), 8, BL_LE, 0, 0),
    SIG_RAW("HardwareR", LE_AT(3), 8, BL_LE, 0, 0),
    SIG_VERSION("SoftwareVersion", BL_F_FIRMWARE, 4, 2, 0),
    SIG_RAW("DevMasterVersion", LE_AT(6), 8, BL_LE, 0, 0),
    SIG_RAW("DevSubVersion", LE_AT(7), 8, BL_LE, 0, 0),
};

/* 0x7320: geometry. Bytes 0-1 are used as total series cells by two implementations;
 * inverters compare the geometry with the measured voltage (voltage-range faults).
 * Capacity must be 16-bit (SAJ H2: > 255 Ah). */
static const bl_signal_t phv_0x7320[] = {
    SIG_RAW("TotalCells", LE_AT(0), 16, BL_LE, 0, 0),
    SIG_NUM("ModulesInSeries", BL_F_MODULE_COUNT, LE_AT(2), 8, BL_LE, 0, 1000, 0, 0, 0, ""),
    SIG_RAW("CellsPerModule", LE_AT(3), 8, BL_LE, 0, 0),
    SIG_NUM("VoltageLevel", BL_F_NONE, LE_AT(4), 16, BL_LE, 0, 1000, 0, 0, 0, "V"),
    SIG_NUM("Capacity", BL_F_CAPACITY, LE_AT(6), 16, BL_LE, 0, 1000, 0, 0, 0, "Ah"),
};

/* 0x7330 / 0x7340 (and Deye's 0x42E0 / 0x42F0): manufacturer name, 2 x 8 ASCII.
 * Inverters check it: "PYLONTECH" split as "PYLONTEC" + "H" (PHV-18/19), Deye wants "Deye". */
static const bl_signal_t phv_name1[] = {
    SIG_TEXTX("ManufacturerName1", BL_SK_ASCII, BL_F_MANUFACTURER, 0, 8, 0, "PYLONTECH", BL_SF_PAD_NUL, -1),
};
static const bl_signal_t phv_name2[] = {
    SIG_TEXTX("ManufacturerName2", BL_SK_ASCII, BL_F_MANUFACTURER, 0, 8, 8, "PYLONTECH", BL_SF_PAD_NUL, -1),
};

/* 0x8250 (+addr): answer to 0x8240, 0xAA = mask accepted */
static const bl_signal_t phv_0x8250[] = {
    SIG_RAW("MaskAccepted", LE_AT(0), 8, BL_LE, 0, 0xAA),
};

/* ---- PCS -> BMS ---- */

/* 0x4200: byte 0 = 0x00 ensemble information, 0x02 system equipment information,
 * 0x01 cell data (vendor frames, not answered here); bytes 1-7 zero */
static const bl_signal_t phv_0x4200[] = {
    SIG_RAW("RequestType", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_RAW("Zero", LE_AT(1), 56, BL_LE, 0, 0),
};
/* 0x8200: 0x55 enter sleep, 0xAA quit sleep (a PCS emulator repeats 0xAA every 1 s) */
static const bl_signal_t phv_0x8200[] = { SIG_RAW("SleepCommand", LE_AT(0), 8, BL_LE, 0, 0xAA) };
/* 0x8210: 0xAA = charge / discharge command (closes the relay after a protection) */
static const bl_signal_t phv_0x8210[] = {
    SIG_RAW("ChargeCommand", LE_AT(0), 8, BL_LE, 0, 0xAA),
    SIG_RAW("DischargeCommand", LE_AT(1), 8, BL_LE, 0, 0xAA),
};
/* 0x8240: 0xAA = mask the external-communication fault for 5 minutes */
static const bl_signal_t phv_0x8240[] = { SIG_RAW("MaskExternalCommFault", LE_AT(0), 8, BL_LE, 0, 0xAA) };
/* 0x3010: heartbeat 01 00 ... from one PCS emulator (L); also Growatt HV's heartbeat id */
static const bl_signal_t phv_0x3010[] = { SIG_RAW("Heartbeat", LE_AT(0), 8, BL_LE, 0, 1) };

static const bl_message_t phv_msgs[] = {
    MSGX(0x4210, ADDR, 1, BL_DIR_B2I, "voltage_current_temperature_soc", phv_0x4210, 8, 8, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x4220, ADDR, 1, BL_DIR_B2I, "limits", phv_0x4220, 8, 8, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x4230, ADDR, 1, BL_DIR_B2I, "cell_voltage_extremes", phv_0x4230, 8, 8, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x4240, ADDR, 1, BL_DIR_B2I, "cell_temperature_extremes", phv_0x4240, 8, 8, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x4250, ADDR, 1, BL_DIR_B2I, "status_alarm_protection", phv_0x4250, 8, 8, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x4260, ADDR, 1, BL_DIR_B2I, "module_voltage_extremes", phv_0x4260, 8, 8, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x4270, ADDR, 1, BL_DIR_B2I, "module_temperature_extremes", phv_0x4270, 8, 8, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x4280, ADDR, 1, BL_DIR_B2I, "forbidden_marks", phv_0x4280, 8, 2, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x4290, ADDR, 1, BL_DIR_B2I, "fault_extension", phv_0x4290, 8, 1, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x42E0, ADDR, 1, BL_DIR_B2I, "manufacturer_name_1_deye", phv_name1, 8, 1, 0,
         BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY, 0),
    MSGX(0x42F0, ADDR, 1, BL_DIR_B2I, "manufacturer_name_2_deye", phv_name2, 8, 1, 0,
         BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY, 0),
    MSGX(0x7310, ADDR, 1, BL_DIR_B2I, "versions", phv_0x7310, 8, 6, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x7320, ADDR, 1, BL_DIR_B2I, "geometry", phv_0x7320, 8, 8, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x7330, ADDR, 1, BL_DIR_B2I, "manufacturer_name_1", phv_name1, 8, 1, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x7340, ADDR, 1, BL_DIR_B2I, "manufacturer_name_2", phv_name2, 8, 1, 0, BL_MF_ON_REQUEST, 0),
    MSGX(0x8250, ADDR, 1, BL_DIR_B2I, "mask_reply", phv_0x8250, 8, 1, 0, BL_MF_ON_REQUEST, 0),
    MSG(0x4200, 1, BL_DIR_I2B, "request", phv_0x4200, 8, 1, 1000, BL_MF_REQUEST | BL_MF_KEEPALIVE),
    MSG(0x8200, 1, BL_DIR_I2B, "sleep_wake", phv_0x8200, 8, 1, 1000, BL_MF_KEEPALIVE),
    MSG(0x8210, 1, BL_DIR_I2B, "charge_discharge_command", phv_0x8210, 8, 2, 1000, 0),
    MSG(0x8240, 1, BL_DIR_I2B, "mask_external_comm_fault", phv_0x8240, 8, 1, 0, BL_MF_REQUEST),
    MSG(0x3010, 1, BL_DIR_I2B, "pcs_heartbeat", phv_0x3010, 8, 1, 1000, BL_MF_KEEPALIVE | BL_MF_DECODE_ONLY),
};

static const bl_trigger_t phv_triggers[] = {
    TRIG(0x4200, 1, 0, 0xFF, 0x00, 0, KEEP, BL_TA_RESPOND, 1000,
         IDS(0x4210, 0x4220, 0x4230, 0x4240, 0x4250, 0x4260, 0x4270, 0x4280, 0x4290),
         "ensemble information request: the burst 0x4210-0x4290"),
    TRIG(0x4200, 1, 0, 0xFF, 0x02, 0, KEEP, BL_TA_RESPOND, 1000, IDS(0x7310, 0x7320, 0x7330, 0x7340),
         "system equipment request: versions, geometry, manufacturer name"),
    TRIG(0x8240, 1, 0, 0xFF, 0xAA, 0, KEEP, BL_TA_RESPOND, 0, IDS(0x8250),
         "mask the external-communication fault for 5 minutes: accepted (0xAA)"),
    TRIG(0x8200, 1, 0, 0xFF, 0x55, 0, 1, 0, 0, NULL, "enter sleep (no reply)"),
    TRIG(0x8200, 1, 0, 0xFF, 0xAA, 0, 0, 0, 1000, NULL, "quit sleep / stay awake (no reply)"),
};

static const char *const phv_states[] = { "awake", "sleep" };

static const bl_idfact_t phv_ids[] = {
    IDF(
        "0x7330/0x7340 (ManufacturerName)",
        "\"PYLONTECH\" / \"PYLON\" / \"Deye\"",
        "Deye running Pylon HV wants \"Deye\"; Hoymiles shows the brand as Pylontech"),
    IDF(
        "0x7320 (geometry)",
        "cells, modules in series, cells per module, voltage level, Ah",
        "inverters compare it with the measured voltage: a wrong geometry gives voltage-range faults; Ah must be "
        "16-bit (SAJ H2)"),
    IDF(
        "response id low digit",
        "0 or 1",
        "Sofar HYD with battery address 01 ignores 0x4210: answer on 0x4211 (bmslink: --address 1)"),
    IDF(
        "field encoding",
        "le-offset / le / be",
        "Hoymiles, Deye, Sofar, Ferroamp need the spec (LE + offsets); Solxpow / Wattsonic LE without offsets"),
};

const bl_protocol_t bl_proto_pylon_hv = {
    .name = "pylon-hv",
    .title = "Pylontech high-voltage CAN (29-bit request/response; spec LE encoding, +30000 A / +1000 C offsets)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_MEDIUM, /* frames and scaling H; bits and the DCL sign M */
    .id_bits = 29,
    .byte_order = BL_LE,
    .bitrate = 500000,
    .timeout_ms = 10000, /* answers come every PCS request (1 s): stale after 10 requests */
    .msgs = phv_msgs,
    .nmsgs = BL_ARRAY_LEN(phv_msgs),
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .handshake = DOC("the PCS sends 0x4200 (byte 0: 0x00 ensemble, 0x02 system equipment) about every 1 s, the "
                     "battery answers with a burst and never broadcasts; a PCS emulator also sends 0x3010, 0x8200 AA "
                     "(stay awake) and 0x8210 every 1 s. 0x8240 AA masks the external-communication fault for 5 min"),
    .identity = DOC("manufacturer string (0x7330/0x7340), geometry (0x7320) against the measured voltage, the group "
                    "address in the response ids"),
    .on_timeout = DOC("a Pylontech HV BMS raises external communication fail and opens its relay when the PCS falls "
                      "silent (timeout not documented; unless masked by 0x8240); emulators call the inverter missing "
                      "after 60 s"),
    .sources = DOC("DIYF, ORB, AR, BEB, BE, WIKI, ISSUES (BE PR #1631)"),
    .triggers = phv_triggers,
    .ntriggers = BL_ARRAY_LEN(phv_triggers),
    .states = phv_states,
    .nstates = BL_ARRAY_LEN(phv_states),
    .addr_shift = 0,
    .link_timeout_ms = 60000,
    .idfacts = phv_ids,
    .nidfacts = BL_ARRAY_LEN(phv_ids),
};

/* The spec encoding under its explicit name: no table differences. */
const bl_protocol_t bl_proto_pylon_hv_le_offset = {
    .name = "pylon-hv:le-offset",
    .title = "Pylon HV, spec encoding (same as pylon-hv): LE, current +30000, temperature +1000",
    .base = &bl_proto_pylon_hv,
    .bus = BL_BUS_CAN,
    .confidence = BL_CONF_MEDIUM,
    .sources = DOC("DIYF, ORB, BEB (spec V1.17/V1.18/V1.26), WIKI"),
};

const bl_protocol_t bl_proto_pylon_hv_le = {
    .name = "pylon-hv:le",
    .title = "Pylon HV, LE without offsets: plain S16 current / temperature / limits (Solxpow, Wattsonic default)",
    .base = &bl_proto_pylon_hv,
    .bus = BL_BUS_CAN,
    .confidence = BL_CONF_MEDIUM,
    .vflags = BL_VAR_NO_OFFSET,
    .sources = DOC("BE (SOLXPOW-CAN), WIKI (solxpow)"),
};

const bl_protocol_t bl_proto_pylon_hv_be = {
    .name = "pylon-hv:be",
    .title = "Pylon HV, big endian without offsets (Battery-Emulator's default inverter-side setting)",
    .base = &bl_proto_pylon_hv,
    .bus = BL_BUS_CAN,
    .confidence = BL_CONF_LOW,
    .vflags = BL_VAR_BE | BL_VAR_NO_OFFSET,
    .sources = DOC("BE (PYLON-CAN, PR #1631)"),
};
