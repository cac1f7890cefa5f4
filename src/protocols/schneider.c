/*
 * Schneider "SE BMS Communication Protocol V2" (Schneider XW Pro via a gateway;
 * "testing ongoing" in its one implementation). 29-bit, 500 kbit/s, BIG endian,
 * 32-bit voltages and currents in 0.01 V / 0.01 A.
 * Fact sheet protocols/can-others.md §G (BE SCHNEIDER-CAN, WIKI). L-M.
 */
#include "table.h"

/* 0x321: max charge voltage, min discharge voltage, U32 0.01 V */
static const bl_signal_t sch_0x321[] = {
    SIG_NUM("MaxChargeVoltage", BL_F_CVL, BE_AT(0), 32, BL_BE, 0, 10, 0, V(0), V(1000), "V"),
    SIG_NUM("MinDischargeVoltage", BL_F_DVL, BE_AT(4), 32, BL_BE, 0, 10, 0, V(0), V(1000), "V"),
};

/* 0x322: max charge / discharge current, S32 0.01 A; read as magnitudes */
static const bl_signal_t sch_0x322[] = {
    SIG_NUM("MaxChargeCurrent", BL_F_CCL, BE_AT(0), 32, BL_BE, S_SIGNED | BL_SF_ABS, 10, 0, A(0), A(3000), "A"),
    SIG_NUM("MaxDischargeCurrent", BL_F_DCL, BE_AT(4), 32, BL_BE, S_SIGNED | BL_SF_ABS, 10, 0, A(0), A(3000), "A"),
};

/* 0x323: voltage U32 0.01 V, current S32 0.01 A (sign not confirmed, SCH-01) */
static const bl_signal_t sch_0x323[] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, BE_AT(0), 32, BL_BE, 0, 10, 0, V(0), V(1000), "V"),
    SIG_NUM("Current", BL_F_CURRENT, BE_AT(4), 32, BL_BE, S_SIGNED | BL_SF_UNVERIFIED, 10, 0, A(-3000), A(3000), "A"),
};

/* 0x324: temperature 0.1 °C, SOC 0.1 % (widths not given: 16-bit each, inferred) */
static const bl_signal_t sch_0x324[] = {
    SIG_NUM("Temperature", BL_F_TEMP, BE_AT(0), 16, BL_BE, S_SIGNED | BL_SF_UNVERIFIED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("SOC", BL_F_SOC, BE_AT(2), 16, BL_BE, BL_SF_UNVERIFIED, 100, 0, PCT(0), PCT(100), "%"),
    SIG_RAW("Reserved", BE_AT(4), 32, BL_BE, 0, 0),
};

/* 0x325: commands / warnings / faults as U16 enums (values not given) */
static const bl_signal_t sch_0x325[] = {
    SIG_RAW("Commands", BE_AT(0), 16, BL_BE, 0, 0),
    SIG_RAW("Warnings", BE_AT(2), 16, BL_BE, 0, 0),
    SIG_RAW("Faults", BE_AT(4), 16, BL_BE, 0, 0),
    SIG_RAW("Reserved", BE_AT(6), 16, BL_BE, 0, 0),
};

/* 0x326: state, cycle count, SOH %, capacity Ah (16-bit each in this order, inferred) */
static const bl_signal_t sch_0x326[] = {
    SIG_RAW("State", BE_AT(0), 16, BL_BE, 0, 0),
    SIG_NUM("CycleCount", BL_F_CYCLE_COUNT, BE_AT(2), 16, BL_BE, BL_SF_UNVERIFIED, 1000, 0, 0, 0, ""),
    SIG_NUM("SOH", BL_F_SOH, BE_AT(4), 16, BL_BE, BL_SF_UNVERIFIED, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("Capacity", BL_F_CAPACITY, BE_AT(6), 16, BL_BE, BL_SF_UNVERIFIED, 1000, 0, 0, 0, "Ah"),
};

/* 0x327 cell temperature / voltage extremes (units not given), 0x328 lifetime Wh,
 * 0x330-0x332 manufacturer id, model id (issued by Schneider) and a 20-character serial */
static const bl_signal_t sch_raw[] = {
    SIG_RAW("Bytes0to3", BE_AT(0), 32, BL_BE, 0, 0),
    SIG_RAW("Bytes4to7", BE_AT(4), 32, BL_BE, 0, 0),
};

/* 0x320: protocol version, from the inverter (value layout not given) */
static const bl_signal_t sch_0x320[] = {
    SIG_RAW("ProtocolVersion", BE_AT(0), 16, BL_BE, 0, 2),
};

static const bl_message_t sch_msgs[] = {
    MSG(0x321, 1, BL_DIR_B2I, "voltage_limits", sch_0x321, 8, 8, 1000, 0),
    MSG(0x322, 1, BL_DIR_B2I, "current_limits", sch_0x322, 8, 8, 1000, 0),
    MSG(0x323, 1, BL_DIR_B2I, "voltage_current", sch_0x323, 8, 8, 1000, 0),
    MSG(0x324, 1, BL_DIR_B2I, "temperature_soc", sch_0x324, 8, 4, 1000, 0),
    MSG(0x325, 1, BL_DIR_B2I, "commands_warnings_faults", sch_0x325, 8, 6, 1000, BL_MF_DECODE_ONLY),
    MSG(0x326, 1, BL_DIR_B2I, "state_cycles_soh_capacity", sch_0x326, 8, 8, 1000, 0),
    MSG(0x327, 1, BL_DIR_B2I, "cell_extremes", sch_raw, 8, 0, 1000, BL_MF_DECODE_ONLY),
    MSG(0x328, 1, BL_DIR_B2I, "lifetime_energy", sch_raw, 8, 0, 1000, BL_MF_DECODE_ONLY),
    MSG(0x330, 1, BL_DIR_B2I, "manufacturer_id", sch_raw, 8, 0, 0, BL_MF_DECODE_ONLY),
    MSG(0x331, 1, BL_DIR_B2I, "model_id", sch_raw, 8, 0, 0, BL_MF_DECODE_ONLY),
    MSG(0x332, 1, BL_DIR_B2I, "serial", sch_raw, 8, 0, 0, BL_MF_DECODE_ONLY),
    MSG(0x320, 1, BL_DIR_I2B, "protocol_version", sch_0x320, 8, 2, 1000, BL_MF_KEEPALIVE),
};

static const bl_idfact_t sch_ids[] = {
    IDF("0x330-0x331", "manufacturer id + model id", "issued by Schneider on request: an unknown id is not accepted"),
    IDF("0x332", "20-character serial", "sent in reversed order"),
};

const bl_protocol_t bl_proto_schneider = {
    .name = "schneider",
    .title = "Schneider SE BMS Communication Protocol V2 (XW Pro via gateway; 29-bit, big endian, 0.01 V/A U32)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_BATTERY,
    .confidence = BL_CONF_LOW,
    .id_bits = 29,
    .byte_order = BL_BE,
    .bitrate = 500000,
    .timeout_ms = 0,
    .msgs = sch_msgs,
    .nmsgs = BL_ARRAY_LEN(sch_msgs),
    .handshake = DOC("the battery sends 0x321-0x328 (period not documented: 1 s here); the inverter states its "
                     "protocol version on 0x320"),
    .identity = DOC("manufacturer and model ids issued by Schneider (0x330/0x331)"),
    .on_timeout = DOC("not documented"),
    .sources = DOC("BE (SCHNEIDER-CAN), WIKI (schneider)"),
    .idfacts = sch_ids,
    .nidfacts = BL_ARRAY_LEN(sch_ids),
};
