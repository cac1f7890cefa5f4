/*
 * SolaX "Triple Power" HV (T-BAT) and FoxESS HV2600 / ECS4100: the 29-bit 0x187x
 * family, 500 kbit/s, little endian. The inverter polls with 0x1871; the battery
 * answers only to polls.
 *   solax   X1/X3 Hybrid G4, X3-Ultra, FoxESS AC1/KH (M): announce -> contactor
 *           state machine, contactors open after 2 s without a poll
 *   foxess  H1, H3, H3 Smart/Pro, KH, KP (M-L): 0x1871 byte 0/4 select what to send
 * Fact sheet protocols/can-others.md §A, §B (BE SOLAX-CAN, FOXESS-CAN, WIKI).
 */
#include "table.h"

/* 0x1872: max / min voltage, max charge / discharge current */
static const bl_signal_t slx_0x1872[] = {
    SIG_NUM("MaxVoltage", BL_F_CVL, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("MinVoltage", BL_F_DVL, LE_AT(2), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("MaxChargeCurrent", BL_F_CCL, LE_AT(4), 16, BL_LE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_NUM("MaxDischargeCurrent", BL_F_DCL, LE_AT(6), 16, BL_LE, 0, 100, 0, A(0), A(3000), "A"),
};

/* 0x1873: voltage, current (S16 0.1 A, + charging per the emulator's data layer, M),
 * SOC 1 %, remaining energy 0.01 kWh */
static const bl_signal_t slx_0x1873[] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("Current", BL_F_CURRENT, LE_AT(2), 16, BL_LE, S_SIGNED, 100, 0, A(-3000), A(3000), "A"),
    SIG_NUM("SOC", BL_F_SOC, LE_AT(4), 8, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_RAW("Byte5", LE_AT(5), 8, BL_LE, 0, 0),
    SIG_NUM("RemainingEnergy", BL_F_NONE, LE_AT(6), 16, BL_LE, 0, 10, 0, 0, 0, "kWh"),
};

/* 0x1874: temperature extremes; bytes 4-7 cell max / min, which the emulator rescales
 * into 3.0-3.5 V and sends in 0.1 V units (L): read, not mapped */
static const bl_signal_t slx_0x1874[] = {
    SIG_NUM("MaxTemperature", BL_F_TEMP_MAX, LE_AT(0), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("MinTemperature", BL_F_TEMP_MIN, LE_AT(2), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("MaxCellVoltageScaled", BL_F_NONE, LE_AT(4), 16, BL_LE, BL_SF_UNVERIFIED, 100, 0, 0, 0, "V"),
    SIG_NUM("MinCellVoltageScaled", BL_F_NONE, LE_AT(6), 16, BL_LE, BL_SF_UNVERIFIED, 100, 0, 0, 0, "V"),
};

/* 0x1875: average temperature, number of slave modules, contactor (0 off, 1 on: the
 * session state of the announce / contactor machine) */
static const bl_signal_t slx_0x1875[] = {
    SIG_NUM("AverageTemperature", BL_F_TEMP, LE_AT(0), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("SlaveModules", BL_F_MODULE_COUNT, LE_AT(2), 8, BL_LE, 0, 1000, 0, 0, 0, ""),
    SIG_RAW("Byte3", LE_AT(3), 8, BL_LE, 0, 0),
    SIG_STATE("Contactor", LE_AT(4), 8),
    SIG_RAW("Bytes5to7", LE_AT(5), 24, BL_LE, 0, 0),
};

/* 0x1876: max temperature, max cell mV, min temperature, min cell mV */
static const bl_signal_t slx_0x1876[] = {
    SIG_NUM("MaxTemperature", BL_F_NONE, LE_AT(0), 16, BL_LE, S_SIGNED | BL_SF_UNVERIFIED, 100, 0, 0, 0, "C"),
    SIG_NUM("MaxCellVoltage", BL_F_CELL_V_MAX, LE_AT(2), 16, BL_LE, 0, 1, 0, V(0), V(5), "V"),
    SIG_NUM("MinTemperature", BL_F_NONE, LE_AT(4), 16, BL_LE, S_SIGNED | BL_SF_UNVERIFIED, 100, 0, 0, 0, "C"),
    SIG_NUM("MinCellVoltage", BL_F_CELL_V_MIN, LE_AT(6), 16, BL_LE, 0, 1, 0, V(0), V(5), "V"),
};

/* 0x1877: battery type enum (identity: 131 = T-BAT-SYS-HV-R2.5), firmware, role
 * (0x02 master, 0x10..0x40 slave 1-4) */
static const bl_signal_t slx_0x1877[] = {
    SIG_RAW("Bytes0to3", LE_AT(0), 32, BL_LE, 0, 0),
    SIG_RAW("BatteryType", LE_AT(4), 8, BL_LE, 0, 131),
    SIG_RAW("Byte5", LE_AT(5), 8, BL_LE, 0, 0),
    SIG_VERSION("Firmware", BL_F_FIRMWARE, 6, 1, 0),
    SIG_RAW("Role", LE_AT(7), 8, BL_LE, 0, 0x02),
};

/* 0x1878: voltage (a copy of 0x1873's), total capacity in Wh */
static const bl_signal_t slx_0x1878[] = {
    SIG_NUM("Voltage", BL_F_NONE, LE_AT(0), 16, BL_LE, 0, 100, 0, 0, 0, "V"),
    SIG_RAW("Bytes23", LE_AT(2), 16, BL_LE, 0, 0),
    SIG_NUM("TotalCapacity", BL_F_NONE, LE_AT(4), 32, BL_LE, 0, 1, 0, 0, 0, "kWh"),
};

/* 0x187E (X3-Ultra): total capacity Wh, SOH %, SOC % */
static const bl_signal_t slx_0x187e[] = {
    SIG_NUM("TotalCapacity", BL_F_NONE, LE_AT(0), 32, BL_LE, 0, 1, 0, 0, 0, "kWh"),
    SIG_NUM("SOH", BL_F_SOH, LE_AT(4), 8, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOC", BL_F_NONE, LE_AT(5), 8, BL_LE, 0, 1000, 0, 0, 0, "%"),
    SIG_RAW("Bytes67", LE_AT(6), 16, BL_LE, 0, 0),
};

/* 0x1879-0x187D: partly unknown (0x187A carries 01 50) */
static const bl_signal_t slx_raw[] = {
    SIG_RAW("Bytes0to3", LE_AT(0), 32, BL_LE, 0, 0),
    SIG_RAW("Bytes4to7", LE_AT(4), 32, BL_LE, 0, 0),
};

/* 0x1801: the contactor answer, "in the same style" as the inverter's 0x1871 02 00 01 00 0x */
static const bl_signal_t slx_0x1801[] = {
    SIG_RAW("Command", LE_AT(0), 8, BL_LE, 0, 2),
    SIG_RAW("Byte1", LE_AT(1), 8, BL_LE, 0, 0),
    SIG_RAW("Byte2", LE_AT(2), 8, BL_LE, 0, 1),
    SIG_RAW("Byte3", LE_AT(3), 8, BL_LE, 0, 0),
    SIG_STATE("Contactor", LE_AT(4), 8),
    SIG_RAW("Bytes5to7", LE_AT(5), 24, BL_LE, 0, 0),
};

/* 0x1881 / 0x1882: serial number, slot index + 7 ASCII */
static const bl_signal_t slx_0x1881[] = {
    SIG_RAW("Slot", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_TEXTX("Serial1", BL_SK_ASCII, BL_F_NONE, 1, 7, 0, NULL, BL_SF_PAD_NUL, -1),
};
static const bl_signal_t slx_0x1882[] = {
    SIG_RAW("Slot", LE_AT(0), 8, BL_LE, 0, 1),
    SIG_TEXTX("Serial2", BL_SK_ASCII, BL_F_NONE, 1, 7, 0, NULL, BL_SF_PAD_NUL, -1),
};

/* 0x1871, inverter poll: byte 0 command (1 poll, 2 contactor, 3 timestamp, 5 serial),
 * byte 4 the contactor request (SolaX) or what to send (FoxESS) */
static const bl_signal_t slx_0x1871[] = {
    SIG_RAW("Command", LE_AT(0), 8, BL_LE, 0, 1),
    SIG_RAW("Byte1", LE_AT(1), 8, BL_LE, 0, 0),
    SIG_RAW("Byte2", LE_AT(2), 8, BL_LE, 0, 1),
    SIG_RAW("Byte3", LE_AT(3), 8, BL_LE, 0, 0),
    SIG_RAW("ContactorRequest", LE_AT(4), 8, BL_LE, 0, 0),
    SIG_RAW("Bytes5to7", LE_AT(5), 24, BL_LE, 0, 0),
};

static const bl_message_t slx_msgs[] = {
    MSG(0x1872, 1, BL_DIR_B2I, "limits", slx_0x1872, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x1873, 1, BL_DIR_B2I, "voltage_current_soc", slx_0x1873, 8, 5, 0, BL_MF_ON_REQUEST),
    MSG(0x1874, 1, BL_DIR_B2I, "temperature_cell_extremes", slx_0x1874, 8, 4, 0, BL_MF_ON_REQUEST),
    MSG(0x1875, 1, BL_DIR_B2I, "temperature_modules_contactor", slx_0x1875, 8, 5, 0, BL_MF_ON_REQUEST),
    MSG(0x1876, 1, BL_DIR_B2I, "cell_extremes", slx_0x1876, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x1877, 1, BL_DIR_B2I, "type_firmware_role", slx_0x1877, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x1878, 1, BL_DIR_B2I, "voltage_capacity", slx_0x1878, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x1879, 1, BL_DIR_B2I, "unknown_0x1879", slx_raw, 8, 0, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x187A, 1, BL_DIR_B2I, "unknown_0x187a", slx_raw, 8, 0, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x187B, 1, BL_DIR_B2I, "unknown_0x187b", slx_raw, 8, 0, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x187C, 1, BL_DIR_B2I, "unknown_0x187c", slx_raw, 8, 0, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x187D, 1, BL_DIR_B2I, "unknown_0x187d", slx_raw, 8, 0, 0, BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG(0x187E, 1, BL_DIR_B2I, "capacity_soh_soc_ultra", slx_0x187e, 8, 6, 0,
        BL_MF_ON_REQUEST | BL_MF_DECODE_ONLY),
    MSG_EMPTY(0x100A001, 1, BL_DIR_B2I, "announce", 0, BL_MF_ON_REQUEST),
    MSG(0x1801, 1, BL_DIR_B2I, "contactor_reply", slx_0x1801, 8, 5, 0, BL_MF_ON_REQUEST),
    MSG(0x1881, 1, BL_DIR_B2I, "serial_1", slx_0x1881, 8, 1, 0, BL_MF_ON_REQUEST),
    MSG(0x1882, 1, BL_DIR_B2I, "serial_2", slx_0x1882, 8, 1, 0, BL_MF_ON_REQUEST),
    MSG(0x1871, 1, BL_DIR_I2B, "poll", slx_0x1871, 8, 1, 0, BL_MF_REQUEST | BL_MF_KEEPALIVE),
};

#define SLX_DATA 0x1872, 0x1873, 0x1874, 0x1875, 0x1876, 0x1877, 0x1878
#define ANNOUNCE BL_BIT(0)
#define CLOSED BL_BIT(1)

/* The emulator's state machine (§A): in ANNOUNCE each poll gets the data and the empty
 * 0x100A001; "02 00 01 00 01" closes the contactor, "02 00 01 00 00" opens it. */
static const bl_trigger_t slx_triggers[] = {
    TRIG(0x1871, 1, 0, 0xFF, 0x01, ANNOUNCE, KEEP, BL_TA_RESPOND, 1000, IDS(SLX_DATA, 0x100A001),
         "poll while announcing: data and the empty announce frame 0x100A001"),
    TRIG(0x1871, 1, 0, 0xFF, 0x01, CLOSED, KEEP, BL_TA_RESPOND, 1000, IDS(SLX_DATA),
         "poll with the contactor closed: data"),
    TRIG2(0x1871, 1, 0, 0xFF, 0x02, 4, 0xFF, 0x01, 0, 1, BL_TA_RESPOND, 0, IDS(0x1801, 0x1875),
          "close the contactor: answer on 0x1801, contactor on in 0x1875"),
    TRIG2(0x1871, 1, 0, 0xFF, 0x02, 4, 0xFF, 0x00, 0, 0, BL_TA_RESPOND, 0, IDS(0x1801, 0x1875),
          "open the contactor: back to announcing"),
    TRIG(0x1871, 1, 0, 0xFF, 0x05, 0, KEEP, BL_TA_RESPOND, 0, IDS(0x1881, 0x1882), "serial-number request"),
};

static const char *const slx_states[] = { "announce", "contactor_closed" };

static const bl_idfact_t slx_ids[] = {
    IDF(
        "0x1877 byte 4 (BatteryType)",
        "131",
        "T-BAT-SYS-HV-R2.5, 16S LFP per module, 2-13 modules, 89.6-759.2 V: accepted by ARM firmware 1.57"),
    IDF("0x1877 byte 4 (BatteryType)", "80 (0x50)", "96S with module count 0; SolaX ARM 1.57 rejects it: IE102"),
    IDF(
        "0x1877 byte 4 + 0x1875 byte 2",
        "131 with 8 / 7 / 10 modules (108S / 98S / 139S), 84 with 4 (75S), 91 with 6 (56S)",
        "type and module count must match the pack voltage or the inverter shows BattVoltFault"),
    IDF(
        "CAN hardware",
        "isolated transceiver, own channel",
        "SolaX CAN can float ~110 V against PE; the inverter has an internal 120 ohm"),
};

const bl_protocol_t bl_proto_solax = {
    .name = "solax",
    .title = "SolaX Triple Power HV (T-BAT) battery CAN (X1/X3 Hybrid G4, X3-Ultra; 29-bit poll/answer)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_MEDIUM,
    .id_bits = 29,
    .byte_order = BL_LE,
    .bitrate = 500000,
    .timeout_ms = 10000, /* answers come per poll */
    .msgs = slx_msgs,
    .nmsgs = BL_ARRAY_LEN(slx_msgs),
    /* no alarm frame is known: the safe state is 0 A limits */
    .handshake = DOC("the inverter polls 0x1871 (its rate is not given; below 2 s) and the battery only answers: "
                     "ANNOUNCE (data + empty 0x100A001) until 02 00 01 00 01 closes the contactor (answer 0x1801, "
                     "0x1875 byte 4 = 1), 02 00 01 00 00 opens it, 05 asks for the serial (0x1881/0x1882)"),
    .identity = DOC("battery type (0x1877 byte 4) and module count (0x1875 byte 2) against the pack voltage"),
    .on_timeout = DOC("the battery opens its contactors after 2 s without a 0x1871 poll"),
    .sources = DOC("BE (SOLAX-CAN), WIKI (solax)"),
    .triggers = slx_triggers,
    .ntriggers = BL_ARRAY_LEN(slx_triggers),
    .states = slx_states,
    .nstates = BL_ARRAY_LEN(slx_states),
    .link_timeout_ms = 2000,
    .idfacts = slx_ids,
    .nidfacts = BL_ARRAY_LEN(slx_ids),
};

static const uint32_t slx_ultra_add[] = { 0x187E, 0 };

const bl_protocol_t bl_proto_solax_ultra = {
    .name = "solax:x3-ultra",
    .title = "SolaX for the X3-Ultra: also sends 0x187E (capacity, SOH, SOC)",
    .base = &bl_proto_solax,
    .bus = BL_BUS_CAN,
    .confidence = BL_CONF_MEDIUM,
    .send_add = slx_ultra_add,
    .sources = DOC("BE (SOLAX-CAN)"),
};

/* ======================= FoxESS ======================= */

/* 0x1874: cell max / min in mV (remapped into 2.5-3.4 V for non-LFP packs) */
static const bl_signal_t fox_0x1874[] = {
    SIG_NUM("MaxTemperature", BL_F_TEMP_MAX, LE_AT(0), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("MinTemperature", BL_F_TEMP_MIN, LE_AT(2), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("MaxCellVoltage", BL_F_CELL_V_MAX, LE_AT(4), 16, BL_LE, 0, 1, 0, V(0), V(5), "V"),
    SIG_NUM("MinCellVoltage", BL_F_CELL_V_MIN, LE_AT(6), 16, BL_LE, 0, 1, 0, V(0), V(5), "V"),
};

/* 0x1875: operational packs, module count (1-8, 50 V steps), contactor, cycle count */
static const bl_signal_t fox_0x1875[] = {
    SIG_NUM("AverageTemperature", BL_F_TEMP, LE_AT(0), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_RAW("OperationalPacks", LE_AT(2), 8, BL_LE, 0, 0),
    SIG_NUM("ModuleCount", BL_F_MODULE_COUNT, LE_AT(3), 8, BL_LE, 0, 1000, 0, 0, 0, ""),
    SIG_RAW("Contactor", LE_AT(4), 8, BL_LE, 0, 1),
    SIG_RAW("Byte5", LE_AT(5), 8, BL_LE, 0, 0),
    SIG_NUM("CycleCount", BL_F_CYCLE_COUNT, LE_AT(6), 16, BL_LE, 0, 1000, 0, 0, 0, ""),
};

/* 0x1876: byte 0 bit 0 = charge not allowed (full); the cell extremes of SolaX's layout
 * are sent from the record but 0x1874 is where they are read */
static const bl_signal_t fox_0x1876[] = {
    SIG_BOOLX("ChargeNotAllowed", BL_F_CHARGE_ENABLE, BIT_AT(0, 0), 1, BL_LE, BL_SF_INVERT, 0, -1),
    SIG_RAW("Byte0Bits1to7", BIT_AT(0, 1), 7, BL_LE, 0, 0),
    SIG_RAW("Byte1", LE_AT(1), 8, BL_LE, 0, 0),
    SIG_NUM("MaxCellVoltage", BL_F_CELL_V_MAX, LE_AT(2), 16, BL_LE, BL_SF_NO_STORE, 1, 0, V(0), V(5), "V"),
    SIG_RAW("Bytes45", LE_AT(4), 16, BL_LE, 0, 0),
    SIG_NUM("MinCellVoltage", BL_F_CELL_V_MIN, LE_AT(6), 16, BL_LE, BL_SF_NO_STORE, 1, 0, V(0), V(5), "V"),
};

/* 0x1877: byte 0 0x02 = pack error, battery type (main) / subtype (packs), firmware,
 * byte 7 0x01 main or pack index << 4. Types tested up to 134 ("S28-H2.0"), subtype 131. */
static const bl_signal_t fox_0x1877[] = {
    SIG_ALARM("PackError", BL_AC_ALARM, BL_A_INTERNAL, 0, BIT_AT(0, 1)),
    SIG_RAW("Bytes1to3", LE_AT(1), 24, BL_LE, 0, 0),
    SIG_RAW("BatteryType", LE_AT(4), 8, BL_LE, 0, 131),
    SIG_RAW("Byte5", LE_AT(5), 8, BL_LE, 0, 0),
    SIG_VERSION("Firmware", BL_F_FIRMWARE, 6, 1, 0),
    SIG_RAW("Role", LE_AT(7), 8, BL_LE, 0, 0x01),
};

/* 0x1879: byte 1 0x35 charging / 0x2B discharging */
static const bl_signal_t fox_0x1879[] = {
    SIG_RAW("Byte0", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_RAW("ChargeState", LE_AT(1), 8, BL_LE, 0, 0),
    SIG_RAW("Bytes2to7", LE_AT(2), 48, BL_LE, 0, 0),
};

/* 0x1871 from a FoxESS inverter: byte 0 0x01 + byte 4 selects the answer, 0x02 ack,
 * 0x03 timestamp YY MM DD hh mm ss in bytes 2-7, 0x05 serial numbers */
static const bl_signal_t fox_0x1871[] = {
    SIG_RAW("Command", LE_AT(0), 8, BL_LE, 0, 1),
    SIG_RAW("Byte1", LE_AT(1), 8, BL_LE, 0, 0),
    SIG_RAW("Bytes2to3", LE_AT(2), 16, BL_LE, 0, 0),
    SIG_RAW("Select", LE_AT(4), 8, BL_LE, 0, 0),
    SIG_RAW("Bytes5to7", LE_AT(5), 24, BL_LE, 0, 0),
};

static const bl_message_t fox_msgs[] = {
    MSG(0x1872, 1, BL_DIR_B2I, "limits", slx_0x1872, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x1873, 1, BL_DIR_B2I, "voltage_current_soc", slx_0x1873, 8, 5, 0, BL_MF_ON_REQUEST),
    MSG(0x1874, 1, BL_DIR_B2I, "temperature_cell_extremes", fox_0x1874, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x1875, 1, BL_DIR_B2I, "temperature_modules_contactor_cycles", fox_0x1875, 8, 5, 0, BL_MF_ON_REQUEST),
    MSG(0x1876, 1, BL_DIR_B2I, "charge_flag_cells", fox_0x1876, 8, 1, 0, BL_MF_ON_REQUEST),
    MSG(0x1877, 1, BL_DIR_B2I, "error_type_firmware_role", fox_0x1877, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x1878, 1, BL_DIR_B2I, "voltage_capacity", slx_0x1878, 8, 8, 0, BL_MF_ON_REQUEST),
    MSG(0x1879, 1, BL_DIR_B2I, "charge_state", fox_0x1879, 8, 2, 0, BL_MF_ON_REQUEST),
    MSG(0x1881, 1, BL_DIR_B2I, "serial_1", slx_0x1881, 8, 1, 0, BL_MF_ON_REQUEST),
    MSG(0x1882, 1, BL_DIR_B2I, "serial_2", slx_0x1882, 8, 1, 0, BL_MF_ON_REQUEST),
    MSG(0x1871, 1, BL_DIR_I2B, "poll", fox_0x1871, 8, 1, 0, BL_MF_REQUEST | BL_MF_KEEPALIVE),
};

static const bl_trigger_t fox_triggers[] = {
    TRIG2(0x1871, 1, 0, 0xFF, 0x01, 4, 0xFF, 0x00, 0, KEEP, BL_TA_RESPOND, 1000, IDS(SLX_DATA, 0x1879),
          "BMS info request (every 1 s)"),
    TRIG2(0x1871, 1, 0, 0xFF, 0x01, 4, 0xFF, 0x01, 0, KEEP, 0, 0, NULL,
          "individual pack status (0x0C05-0x0C0C: layout not known, not answered)"),
    TRIG2(0x1871, 1, 0, 0xFF, 0x01, 4, 0xFF, 0x04, 0, KEEP, 0, 0, NULL,
          "cell voltages (0x0C1D-0x0CA9: layout not known, not answered)"),
    TRIG(0x1871, 1, 0, 0xFF, 0x02, 0, KEEP, 0, 0, NULL, "acknowledge"),
    TRIG(0x1871, 1, 0, 0xFF, 0x03, 0, KEEP, 0, 6000, NULL, "timestamp YY MM DD hh mm ss (about every 6 s)"),
    TRIG(0x1871, 1, 0, 0xFF, 0x05, 0, KEEP, BL_TA_RESPOND, 0, IDS(0x1881, 0x1882), "serial numbers"),
};

static const bl_idfact_t fox_ids[] = {
    IDF(
        "0x1877 byte 4 (BatteryType)",
        "up to 134 (\"S28-H2.0\"); subtype 131 in tests",
        "type (main) / subtype (packs) the inverter accepts"),
    IDF("0x1875 byte 3 (ModuleCount)", "1-8", "50 V per module: must match the pack voltage"),
};

const bl_protocol_t bl_proto_foxess = {
    .name = "foxess",
    .title = "FoxESS HV2600 / ECS4100 battery CAN (H1, H3, KH, KP; SolaX 0x187x family)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_LOW,
    .id_bits = 29,
    .byte_order = BL_LE,
    .bitrate = 500000,
    .timeout_ms = 10000,
    .msgs = fox_msgs,
    .nmsgs = BL_ARRAY_LEN(fox_msgs),
    .safe = { [BL_AC_ALARM] = AM(BL_A_INTERNAL) },
    .handshake = DOC("the inverter polls 0x1871: 01 .. 00 BMS info every 1 s (answer 0x1872-0x1879), 01 .. 01 pack "
                     "status, 01 .. 04 cell voltages, 02 ack, 03 timestamp every ~6 s, 05 serial numbers"),
    .identity = DOC("battery type / subtype (0x1877 byte 4) and module count (0x1875 byte 3, 50 V steps)"),
    .on_timeout = DOC("not documented"),
    .sources = DOC("BE (FOXESS-CAN, after FozzieUK/FoxESS-Canbus-Protocol), WIKI (foxess_h1_h3_ac1_kh)"),
    .triggers = fox_triggers,
    .ntriggers = BL_ARRAY_LEN(fox_triggers),
    .idfacts = fox_ids,
    .nidfacts = BL_ARRAY_LEN(fox_ids),
};
