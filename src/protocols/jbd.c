/*
 * JBD / LLT / Xiaoxiang "DD .. 77" UART/RS485 protocol: request DD A5 reg len
 * data chk 77, response DD reg status len data chk 77, checksum 0x10000 - sum
 * from byte 2. Big endian. Fact sheet protocols/rs485-daly-jbd.md §2 (JBD
 * document with worked examples; DSB lltjbd.py): H.
 */
#include "rs_table.h"

/* 0x03 basic info (§2.3) */
static const bl_rs_item_t jbd_0x03[] = {
    R_NUM("TotalVoltage", BL_F_VOLTAGE, 2, 0, 10, 0, V(0), V(655.35), "V"),
    R_NUM("Current", BL_F_CURRENT, 2, S_SIGNED, 10, 0, A(-327.68), A(327.67), "A"),
    R_NUMX("RemainingCapacity", BL_F_NONE, 2, 0, 10, 1, 0, 0, 0, "Ah", BL_SLOT_REMAIN),
    R_NUMX("NominalCapacity", BL_F_CAPACITY, 2, 0, 10, 1, 0, 0, 0, "Ah", BL_SLOT_FULL),
    R_NUM("CycleCount", BL_F_CYCLE_COUNT, 2, 0, 1000, 0, 0, 0, ""),
    R_RAW("ProductionDate", 2),
    R_RAW("BalanceLow", 2),
    R_RAW("BalanceHigh", 2),
    /* protection bits, 16-bit big endian: bit k is bit k%8 of byte 1 - k/8 */
    R_BIT("CellOverVoltage", BL_AC_PROTECTION, BL_A_CELL_OV, 0, 1, 0),
    R_BIT("CellUnderVoltage", BL_AC_PROTECTION, BL_A_CELL_UV, 0, 1, 1),
    R_BIT("PackOverVoltage", BL_AC_PROTECTION, BL_A_PACK_OV, 0, 1, 2),
    R_BIT("PackUnderVoltage", BL_AC_PROTECTION, BL_A_PACK_UV, 0, 1, 3),
    R_BIT("ChargeOverTemperature", BL_AC_PROTECTION, BL_A_CHG_OT, 0, 1, 4),
    R_BIT("ChargeUnderTemperature", BL_AC_PROTECTION, BL_A_CHG_UT, 0, 1, 5),
    R_BIT("DischargeOverTemperature", BL_AC_PROTECTION, BL_A_DSG_OT, 0, 1, 6),
    R_BIT("DischargeUnderTemperature", BL_AC_PROTECTION, BL_A_DSG_UT, 0, 1, 7),
    R_BIT("ChargeOverCurrent", BL_AC_PROTECTION, BL_A_CHG_OC, 0, 0, 0),
    R_BIT("DischargeOverCurrent", BL_AC_PROTECTION, BL_A_DSG_OC, 0, 0, 1),
    R_BIT("ShortCircuit", BL_AC_PROTECTION, BL_A_SHORT, 0, 0, 2),
    R_BIT("FrontEndIcError", BL_AC_PROTECTION, BL_A_INTERNAL, 0, 0, 3),
    R_FLAG("SoftwareMosLock", 0, 4),
    R_RAW("Protection", 2),
    R_RAW("SoftwareVersion", 1),
    R_NUM("RSOC", BL_F_SOC, 1, 0, 1000, 0, PCT(0), PCT(100), "%"),
    /* FET state: a BMS without limits charges exactly while its charge FET is on */
    R_BOOL("ChargeFet", BL_F_CHARGE_ENABLE, 0, 0),
    R_BOOL("DischargeFet", BL_F_DISCHARGE_ENABLE, 0, 1),
    R_RAW("FetState", 1),
    R_COUNT("CellCount", BL_SLOT_M, 0),
    R_COUNT("NtcCount", BL_SLOT_N, 2),
    R_ARR("Temperature", BL_SLOT_N, 0, 2, 0, 100, KELVIN_2731, C(-60), C(150), "C", BL_AGG_TEMPS, 0, 0),
    R_OPTIONAL,
    R_REST("Extension"),
};

/* 0x04 cell voltages: length / 2 cells, mV */
static const bl_rs_item_t jbd_0x04[] = {
    R_ARR("CellVoltage", BL_SLOT_NONE, BL_ADJ_FILL, 2, 0, 1, 0, V(0), V(5), "V", BL_AGG_CELLS, 0, 0),
};
static const bl_rs_item_t jbd_0x05[] = { R_TEXT("Version", BL_F_FIRMWARE, 0, "BMSLINK-1.0") };
static const bl_rs_item_t jbd_0x06[] = { R_TEXT("UserData", BL_F_NONE, 0, "") };
static const bl_rs_item_t jbd_0xe1_req[] = {
    R_RAW("Reserved", 1),
    R_FLAG("ChargeMosOff", 0, 0),
    R_FLAG("DischargeMosOff", 0, 1),
    R_RAW("MosControl", 1),
};

static const bl_rs_msg_t jbd_msgs[] = {
    RMSG(0x03, "basic_info", jbd_0x03, BL_REQ_NONE, 0),
    RMSG(0x04, "cell_voltages", jbd_0x04, BL_REQ_NONE, 0),
    RMSG(0x05, "version", jbd_0x05, BL_REQ_NONE, 0),
    RMSG(0x06, "user_data", jbd_0x06, BL_REQ_NONE, BL_RMF_NO_REPLY),
    RMSG_REQONLY(0xE1, "mos_control", jbd_0xe1_req, BL_RMF_WRITE),
};

static const uint8_t jbd_poll[] = { 0x03, 0x04, 0 };
static const uint8_t jbd_poll_once[] = { 0x05, 0 };

static const bl_rs485_codec_t jbd_codec = {
    .kind = BL_RSK_JBD,
    .framing = BL_FRAMING_JBD,
    .data_bits = 8,
    .parity = 'N',
    .stop_bits = 1,
    .addr_default = 0x00,
    .addr_min = 0x00,
    .addr_max = 0x00,
    .poll_ms = 1000,
    .reply_ms = 500,
    .gap_ms = 50,
    .msgs = jbd_msgs,
    .nmsgs = BL_ARRAY_LEN(jbd_msgs),
    .poll = jbd_poll,
    .poll_once = jbd_poll_once,
};

const bl_protocol_t bl_proto_jbd = {
    .name = "jbd",
    .title = "JBD / LLT / Xiaoxiang / Overkill smart BMS (DD A5 .. 77), UART, RS232 or RS485",
    .bus = BL_BUS_RS485,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_HIGH,
    .byte_order = BL_BE,
    .baud = 9600,
    .serial = "9600 8N1; no address (point to point); the host reads register 0x03 (basic info) and 0x04 "
              "(cells), about every 1 s",
    .timeout_ms = 10000,
    .rs485 = &jbd_codec,
    .safe = { [BL_AC_PROTECTION] = AM(BL_A_INTERNAL) },
    .handshake = "none: the host reads registers; the BMS answers with status 0x00 (or 0x80: error)",
    .identity = "register 0x05 version text",
    .on_timeout = "the host retries; the battery role answers status 0x80 when its data is stale",
    .sources = "JBD (RS485-english-OBSOLETE.pdf), DSB (lltjbd.py)",
};
