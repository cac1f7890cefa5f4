/*
 * Modbus register maps of LiFePO4 BMSes as data: address, table, width,
 * scaling and canonical field per value, and the blocks a client reads.
 * Modbus framing and CRC are libmodbus's (src/transports/modbus.c); this file
 * only says what the registers mean. Fact sheet protocols/rs485-modbus-maps.md
 * (PACEMB, SV3DOC, SV3, JKPB, JKPB-DSB, SYSSI-JK, DSB, BE, DALYREG).
 * Addresses are zero-based PDU addresses.
 */
#include "rs_table.h"

#define HR BL_MB_HR
#define IR BL_MB_IR
#define CO BL_MB_CO
#define CELL BL_MBF_AGG_CELL
#define TEMP BL_MBF_AGG_TEMP
#define WS BL_MBF_WORDSWAP
#define ABS0 BL_SF_ZERO_ABSENT

#define CELLROW(a, t, nm, fl) MB_NUM(a, t, 1, CELL | (fl), nm, BL_F_NONE, ABS0, 1, 1, 0, V(0), V(5), "V")

#define CODEC_MB(mp, addr0, lo, hi, per, rep, gap)                                                            \
    {                                                                                                         \
        .kind = BL_RSK_MODBUS, .framing = 0, .data_bits = 8, .parity = 'N', .stop_bits = 1,                   \
        .addr_default = (addr0), .addr_min = (lo), .addr_max = (hi), .poll_ms = (per), .reply_ms = (rep),     \
        .gap_ms = (gap), .msgs = NULL, .nmsgs = 0, .poll = NULL, .poll_once = NULL, .pyl = NULL,              \
        .map = &(mp)                                                                                          \
    }

/* ---- PACE Modbus V1.3 (§1, M-H): FC03, decimal addresses ------------------------- */

/* bitmap A (warnings, reg 9) and B (protections, reg 10) share most positions */
#define PACE_VI_BITS(a, cls)                                                                                  \
    MB_BIT(a, HR, 1, 0, "CellOverVoltage", cls, BL_A_CELL_OV, 0),                                            \
    MB_BIT(a, HR, 1, 1, "CellUnderVoltage", cls, BL_A_CELL_UV, 0),                                           \
    MB_BIT(a, HR, 1, 2, "PackOverVoltage", cls, BL_A_PACK_OV, 0),                                            \
    MB_BIT(a, HR, 1, 3, "PackUnderVoltage", cls, BL_A_PACK_UV, 0),                                           \
    MB_BIT(a, HR, 1, 4, "ChargeOverCurrent", cls, BL_A_CHG_OC, 0),                                           \
    MB_BIT(a, HR, 1, 5, "DischargeOverCurrent", cls, BL_A_DSG_OC, 0),                                        \
    MB_BIT(a, HR, 1, 8, "ChargeHighTemperature", cls, BL_A_CHG_OT, 0),                                       \
    MB_BIT(a, HR, 1, 9, "DischargeHighTemperature", cls, BL_A_DSG_OT, 0),                                    \
    MB_BIT(a, HR, 1, 10, "ChargeLowTemperature", cls, BL_A_CHG_UT, 0),                                       \
    MB_BIT(a, HR, 1, 11, "DischargeLowTemperature", cls, BL_A_DSG_UT, 0)

static const bl_mb_reg_t pace_regs[] = {
    MB_NUM(0, HR, 1, 0, "Current", BL_F_CURRENT, S_SIGNED, 10, 1, 0, A(-327.68), A(327.67), "A"),
    MB_NUM(1, HR, 1, 0, "PackVoltage", BL_F_VOLTAGE, 0, 10, 1, 0, V(0), V(655.35), "V"),
    MB_NUM(2, HR, 1, 0, "SOC", BL_F_SOC, 0, 1000, 1, 0, PCT(0), PCT(100), "%"),
    MB_NUM(3, HR, 1, 0, "SOH", BL_F_SOH, 0, 1000, 1, 0, PCT(0), PCT(100), "%"),
    MB_NUM(4, HR, 1, BL_MBF_REMAIN, "RemainingCapacity", BL_F_NONE, 0, 10, 1, 0, 0, 0, "Ah"),
    MB_NUM(5, HR, 1, 0, "FullCapacity", BL_F_CAPACITY, 0, 10, 1, 0, 0, 0, "Ah"),
    MB_NUM(6, HR, 1, 0, "DesignCapacity", BL_F_NONE, 0, 10, 1, 0, 0, 0, "Ah"),
    MB_NUM(7, HR, 1, 0, "CycleCount", BL_F_CYCLE_COUNT, 0, 1000, 1, 0, 0, 0, ""),
    PACE_VI_BITS(9, BL_AC_WARNING),
    MB_RAW(9, HR, 1, "WarningFlags"),
    PACE_VI_BITS(10, BL_AC_PROTECTION),
    MB_BIT(10, HR, 1, 6, "ShortCircuit", BL_AC_PROTECTION, BL_A_SHORT, 0),
    MB_RAW(10, HR, 1, "ProtectionFlags"),
    MB_BIT(11, HR, 1, 0, "ChargeMosFault", BL_AC_ALARM, BL_A_INTERNAL, 0),
    MB_BIT(11, HR, 1, 1, "DischargeMosFault", BL_AC_ALARM, BL_A_INTERNAL, 0),
    MB_BIT(11, HR, 1, 2, "TemperatureSensorFault", BL_AC_ALARM, BL_A_INTERNAL, 0),
    MB_BIT(11, HR, 1, 4, "CellFault", BL_AC_ALARM, BL_A_INTERNAL, 0),
    MB_BIT(11, HR, 1, 5, "SamplingCommunicationFault", BL_AC_ALARM, BL_A_INTERNAL, 0),
    /* a BMS without limits charges exactly while its charge MOSFET is on */
    MB_BOOL(11, HR, 1, 10, "ChargeMosOn", BL_F_CHARGE_ENABLE),
    MB_BOOL(11, HR, 1, 11, "DischargeMosOn", BL_F_DISCHARGE_ENABLE),
    MB_RAW(11, HR, 1, "StatusFlags"),
    MB_RAW(12, HR, 1, "BalanceStatus"),
    CELLROW(15, HR, "Cell1", 0), CELLROW(16, HR, "Cell2", 0), CELLROW(17, HR, "Cell3", 0),
    CELLROW(18, HR, "Cell4", 0), CELLROW(19, HR, "Cell5", 0), CELLROW(20, HR, "Cell6", 0),
    CELLROW(21, HR, "Cell7", 0), CELLROW(22, HR, "Cell8", 0), CELLROW(23, HR, "Cell9", 0),
    CELLROW(24, HR, "Cell10", 0), CELLROW(25, HR, "Cell11", 0), CELLROW(26, HR, "Cell12", 0),
    CELLROW(27, HR, "Cell13", 0), CELLROW(28, HR, "Cell14", 0), CELLROW(29, HR, "Cell15", 0),
    CELLROW(30, HR, "Cell16", 0),
    /* 0.1 °C here, not kelvin as in the PACE ASCII protocol */
    MB_NUM(31, HR, 1, TEMP, "CellTemperature1", BL_F_NONE, S_SIGNED, 100, 1, 0, C(-60), C(150), "C"),
    MB_NUM(32, HR, 1, TEMP, "CellTemperature2", BL_F_NONE, S_SIGNED, 100, 1, 0, C(-60), C(150), "C"),
    MB_NUM(33, HR, 1, TEMP, "CellTemperature3", BL_F_NONE, S_SIGNED, 100, 1, 0, C(-60), C(150), "C"),
    MB_NUM(34, HR, 1, TEMP, "CellTemperature4", BL_F_NONE, S_SIGNED, 100, 1, 0, C(-60), C(150), "C"),
    MB_NUM(35, HR, 1, 0, "MosfetTemperature", BL_F_NONE, S_SIGNED, 100, 1, 0, 0, 0, "C"),
    MB_NUM(36, HR, 1, 0, "AmbientTemperature", BL_F_NONE, S_SIGNED, 100, 1, 0, 0, 0, "C"),
    MB_TEXT(150, HR, 10, "Version", BL_F_FIRMWARE, "BMSLINK-1.0"),
    MB_TEXT(160, HR, 10, "ModelSerial", BL_F_MODEL, "BMSLINK-SIM"),
    MB_TEXT(170, HR, 10, "PackSerial", BL_F_NONE, "BMSLINK-SIM-0001"),
};

static const bl_mb_block_t pace_blocks[] = {
    { "analog", HR, 0, 59, 0 },   /* PMB-01: registers 0..58 in one read */
    { "version", HR, 150, 30, 1 },
};

static const bl_mb_map_t pace_map = {
    pace_regs, BL_ARRAY_LEN(pace_regs), pace_blocks, BL_ARRAY_LEN(pace_blocks), 1, 125,
};
static const bl_rs485_codec_t pace_codec = CODEC_MB(pace_map, 1, 1, 15, 2000, 200, 100);

const bl_protocol_t bl_proto_pace_modbus = {
    .name = "pace-modbus",
    .title = "PACE BMS Modbus RTU V1.3 (FC03 registers 0..179)",
    .bus = BL_BUS_MODBUS,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_MEDIUM,
    .byte_order = BL_BE,
    .baud = 9600,
    .serial = "9600 8N1; unit = DIP 1..15; FC03 reads of up to 125 registers; reply within 200 ms, more "
              "than 100 ms between requests",
    .timeout_ms = 10000,
    .rs485 = &pace_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .handshake = "none: the master reads registers 0..58 (live) and 150..179 (identity)",
    .identity = "registers 150..179: version, model and pack serial (20 ASCII each)",
    .on_timeout = "the master times out (200 ms) and retries; the battery role answers exception 04 when "
                  "its data is stale",
    .sources = "PACEMB (PACE Modbus V1.3 2017-06-27)",
};

/* ---- Seplos V3 / XZH (§2, H): FC04 registers, FC01 bits; EIA 32-bit low word first -------- */

#define SV3_V_BITS(a)                                                                                         \
    MB_BIT(a + 0, CO, 1, 0, "CellHighVoltageAlarm", BL_AC_WARNING, BL_A_CELL_OV, 0),                          \
    MB_BIT(a + 1, CO, 1, 0, "CellOverVoltageProtect", BL_AC_PROTECTION, BL_A_CELL_OV, 0),                     \
    MB_BIT(a + 2, CO, 1, 0, "CellLowVoltageAlarm", BL_AC_WARNING, BL_A_CELL_UV, 0),                           \
    MB_BIT(a + 3, CO, 1, 0, "CellUnderVoltageProtect", BL_AC_PROTECTION, BL_A_CELL_UV, 0),                    \
    MB_BIT(a + 4, CO, 1, 0, "PackHighVoltageAlarm", BL_AC_WARNING, BL_A_PACK_OV, 0),                          \
    MB_BIT(a + 5, CO, 1, 0, "PackOverVoltageProtect", BL_AC_PROTECTION, BL_A_PACK_OV, 0),                     \
    MB_BIT(a + 6, CO, 1, 0, "PackLowVoltageAlarm", BL_AC_WARNING, BL_A_PACK_UV, 0),                           \
    MB_BIT(a + 7, CO, 1, 0, "PackUnderVoltageProtect", BL_AC_PROTECTION, BL_A_PACK_UV, 0)
#define SV3_T_BITS(a)                                                                                         \
    MB_BIT(a + 0, CO, 1, 0, "ChargeHighTemperatureAlarm", BL_AC_WARNING, BL_A_CHG_OT, 0),                     \
    MB_BIT(a + 1, CO, 1, 0, "ChargeOverTemperatureProtect", BL_AC_PROTECTION, BL_A_CHG_OT, 0),                \
    MB_BIT(a + 2, CO, 1, 0, "ChargeLowTemperatureAlarm", BL_AC_WARNING, BL_A_CHG_UT, 0),                      \
    MB_BIT(a + 3, CO, 1, 0, "ChargeUnderTemperatureProtect", BL_AC_PROTECTION, BL_A_CHG_UT, 0),               \
    MB_BIT(a + 4, CO, 1, 0, "DischargeHighTemperatureAlarm", BL_AC_WARNING, BL_A_DSG_OT, 0),                  \
    MB_BIT(a + 5, CO, 1, 0, "DischargeOverTemperatureProtect", BL_AC_PROTECTION, BL_A_DSG_OT, 0),             \
    MB_BIT(a + 6, CO, 1, 0, "DischargeLowTemperatureAlarm", BL_AC_WARNING, BL_A_DSG_UT, 0),                   \
    MB_BIT(a + 7, CO, 1, 0, "DischargeUnderTemperatureProtect", BL_AC_PROTECTION, BL_A_DSG_UT, 0)
#define SV3_I_BITS(a)                                                                                         \
    MB_BIT(a + 0, CO, 1, 0, "ChargeCurrentAlarm", BL_AC_WARNING, BL_A_CHG_OC, 0),                             \
    MB_BIT(a + 1, CO, 1, 0, "ChargeOverCurrentProtect", BL_AC_PROTECTION, BL_A_CHG_OC, 0),                    \
    MB_BIT(a + 2, CO, 1, 0, "ChargeOverCurrent2Protect", BL_AC_PROTECTION, BL_A_CHG_OC, 0),                   \
    MB_BIT(a + 3, CO, 1, 0, "DischargeCurrentAlarm", BL_AC_WARNING, BL_A_DSG_OC, 0),                          \
    MB_BIT(a + 4, CO, 1, 0, "DischargeOverCurrentProtect", BL_AC_PROTECTION, BL_A_DSG_OC, 0),                 \
    MB_BIT(a + 5, CO, 1, 0, "DischargeOverCurrent2Protect", BL_AC_PROTECTION, BL_A_DSG_OC, 0),                \
    MB_BIT(a + 6, CO, 1, 0, "ShortCircuitProtect", BL_AC_PROTECTION, BL_A_SHORT, 0)
#define SV3_STATE_BITS(a)                                                                                     \
    MB_BOOL(a + 0, CO, 1, 0, "Discharging", BL_F_NONE), MB_BOOL(a + 1, CO, 1, 0, "Charging", BL_F_NONE),     \
    MB_BOOL(a + 2, CO, 1, 0, "FloatCharging", BL_F_NONE), MB_BOOL(a + 3, CO, 1, 0, "FullyCharged", BL_F_NONE), \
    MB_BOOL(a + 4, CO, 1, 0, "Standby", BL_F_NONE), MB_BOOL(a + 5, CO, 1, 0, "TurnedOff", BL_F_NONE)
#define SV3_FET_BITS(a)                                                                                       \
    MB_BOOL(a + 0, CO, 1, 0, "DischargeFetOn", BL_F_DISCHARGE_ENABLE),                                       \
    MB_BOOL(a + 1, CO, 1, 0, "ChargeFetOn", BL_F_CHARGE_ENABLE),                                             \
    MB_BOOL(a + 2, CO, 1, 0, "LimiterFetOn", BL_F_NONE), MB_BOOL(a + 3, CO, 1, 0, "HeatingOn", BL_F_NONE)
#define SV3_FAULT_BITS(a)                                                                                     \
    MB_BIT(a + 0, CO, 1, 0, "NtcFault", BL_AC_ALARM, BL_A_INTERNAL, 0),                                       \
    MB_BIT(a + 1, CO, 1, 0, "AfeFault", BL_AC_ALARM, BL_A_INTERNAL, 0),                                       \
    MB_BIT(a + 2, CO, 1, 0, "ChargeMosShort", BL_AC_ALARM, BL_A_INTERNAL, 0),                                 \
    MB_BIT(a + 3, CO, 1, 0, "DischargeMosShort", BL_AC_ALARM, BL_A_INTERNAL, 0),                              \
    MB_BIT(a + 4, CO, 1, 0, "CellFault", BL_AC_ALARM, BL_A_INTERNAL, 0),                                      \
    MB_BIT(a + 5, CO, 1, 0, "WireBreak", BL_AC_ALARM, BL_A_INTERNAL, 0)

#define SV3_TEMP(a, nm, fld, fl) MB_NUM(a, IR, 1, fl, nm, fld, 0, 100, 1, KELVIN_2731, C(-60), C(150), "C")

static const bl_mb_reg_t sv3_regs[] = {
    /* PIA pack info A, 0x1000 x 17 (SV3-08) */
    MB_NUM(0x1000, IR, 1, 0, "PackVoltage", BL_F_VOLTAGE, 0, 10, 1, 0, V(0), V(655.35), "V"),
    MB_NUM(0x1001, IR, 1, 0, "Current", BL_F_CURRENT, S_SIGNED, 10, 1, 0, A(-327.68), A(327.67), "A"),
    MB_NUM(0x1002, IR, 1, BL_MBF_REMAIN, "RemainingCapacity", BL_F_NONE, 0, 10, 1, 0, 0, 0, "Ah"),
    MB_NUM(0x1003, IR, 1, 0, "TotalCapacity", BL_F_CAPACITY, 0, 10, 1, 0, 0, 0, "Ah"),
    MB_NUM(0x1004, IR, 1, 0, "TotalDischargedCapacity", BL_F_NONE, 0, 10000, 1, 0, 0, 0, "Ah"),
    MB_NUM(0x1005, IR, 1, 0, "SOC", BL_F_SOC, 0, 100, 1, 0, PCT(0), PCT(100), "%"),
    MB_NUM(0x1006, IR, 1, 0, "SOH", BL_F_SOH, 0, 100, 1, 0, PCT(0), PCT(100), "%"),
    MB_NUM(0x1007, IR, 1, 0, "CycleCount", BL_F_CYCLE_COUNT, 0, 1000, 1, 0, 0, 0, ""),
    MB_NUM(0x1008, IR, 1, 0, "AverageCellVoltage", BL_F_NONE, 0, 1, 1, 0, 0, 0, "V"),
    SV3_TEMP(0x1009, "AverageCellTemperature", BL_F_TEMP, 0),
    MB_NUM(0x100A, IR, 1, 0, "MaxCellVoltage", BL_F_CELL_V_MAX, 0, 1, 1, 0, V(0), V(5), "V"),
    MB_NUM(0x100B, IR, 1, 0, "MinCellVoltage", BL_F_CELL_V_MIN, 0, 1, 1, 0, V(0), V(5), "V"),
    SV3_TEMP(0x100C, "MaxCellTemperature", BL_F_TEMP_MAX, 0),
    SV3_TEMP(0x100D, "MinCellTemperature", BL_F_TEMP_MIN, 0),
    MB_RAW(0x100E, IR, 1, "Reserved"),
    MB_NUM(0x100F, IR, 1, 0, "MaxDischargeCurrent", BL_F_DCL, 0, 1000, 1, 0, A(0), A(65535), "A"),
    MB_NUM(0x1010, IR, 1, 0, "MaxChargeCurrent", BL_F_CCL, 0, 1000, 1, 0, A(0), A(65535), "A"),
    /* PIB pack info B, 0x1100 x 26: cells, cell temperatures; 0x1114..0x1117 read
     * 0x0AAB (0.0 °C) on real packs: reserved, not sensors */
    CELLROW(0x1100, IR, "Cell1", 0), CELLROW(0x1101, IR, "Cell2", 0), CELLROW(0x1102, IR, "Cell3", 0),
    CELLROW(0x1103, IR, "Cell4", 0), CELLROW(0x1104, IR, "Cell5", 0), CELLROW(0x1105, IR, "Cell6", 0),
    CELLROW(0x1106, IR, "Cell7", 0), CELLROW(0x1107, IR, "Cell8", 0), CELLROW(0x1108, IR, "Cell9", 0),
    CELLROW(0x1109, IR, "Cell10", 0), CELLROW(0x110A, IR, "Cell11", 0), CELLROW(0x110B, IR, "Cell12", 0),
    CELLROW(0x110C, IR, "Cell13", 0), CELLROW(0x110D, IR, "Cell14", 0), CELLROW(0x110E, IR, "Cell15", 0),
    CELLROW(0x110F, IR, "Cell16", 0),
    SV3_TEMP(0x1110, "CellTemperature1", BL_F_NONE, TEMP), SV3_TEMP(0x1111, "CellTemperature2", BL_F_NONE, TEMP),
    SV3_TEMP(0x1112, "CellTemperature3", BL_F_NONE, TEMP), SV3_TEMP(0x1113, "CellTemperature4", BL_F_NONE, TEMP),
    MB_RAW(0x1114, IR, 2, "Reserved1"),
    MB_RAW(0x1116, IR, 2, "Reserved2"),
    SV3_TEMP(0x1118, "AmbientTemperature", BL_F_NONE, 0),
    SV3_TEMP(0x1119, "PowerTemperature", BL_F_NONE, 0),
    /* SPA system parameters (SV3-12 from the LCD's poll) and the PCS request */
    MB_RAW(0x1300, IR, 1, "NtcCount"),
    MB_RAW(0x1301, IR, 1, "CellsInSeries"),
    MB_NUM(0x1302, IR, 1, 0, "PackHighVoltageRecover", BL_F_NONE, 0, 10, 1, 0, 0, 0, "V"),
    MB_NUM(0x1303, IR, 1, 0, "PackHighVoltageAlarm", BL_F_NONE, 0, 10, 1, 0, 0, 0, "V"),
    MB_NUM(0x1304, IR, 1, 0, "PackOverVoltageRecover", BL_F_NONE, 0, 10, 1, 0, 0, 0, "V"),
    MB_NUM(0x1305, IR, 1, 0, "PackOverVoltageProtect", BL_F_NONE, 0, 10, 1, 0, 0, 0, "V"),
    MB_NUM(0x1306, IR, 1, 0, "PackLowVoltageRecover", BL_F_NONE, 0, 10, 1, 0, 0, 0, "V"),
    MB_NUM(0x1307, IR, 1, 0, "PackLowVoltageAlarm", BL_F_NONE, 0, 10, 1, 0, 0, 0, "V"),
    MB_NUM(0x1308, IR, 1, 0, "PackUnderVoltageRecover", BL_F_NONE, 0, 10, 1, 0, 0, 0, "V"),
    MB_NUM(0x1309, IR, 1, 0, "PackUnderVoltageProtect", BL_F_NONE, 0, 10, 1, 0, 0, 0, "V"),
    MB_NUM(0x130A, IR, 1, 0, "CellHighVoltageRecover", BL_F_NONE, 0, 1, 1, 0, 0, 0, "V"),
    MB_NUM(0x130B, IR, 1, 0, "CellHighVoltageAlarm", BL_F_NONE, 0, 1, 1, 0, 0, 0, "V"),
    MB_NUM(0x130C, IR, 1, 0, "CellOverVoltageRecover", BL_F_NONE, 0, 1, 1, 0, 0, 0, "V"),
    MB_NUM(0x130D, IR, 1, 0, "CellOverVoltageProtect", BL_F_NONE, 0, 1, 1, 0, 0, 0, "V"),
    /* current thresholds: the discharge ones read back negative although the map says UINT16 (SV3-12) */
    MB_NUM(0x131B, IR, 1, 0, "DischargeLowCurrentRecover", BL_F_NONE, S_SIGNED, 1000, 1, 0, 0, 0, "A"),
    MB_NUM(0x131C, IR, 1, 0, "DischargeLowCurrentAlarm", BL_F_NONE, S_SIGNED, 1000, 1, 0, 0, 0, "A"),
    MB_NUM(0x131D, IR, 1, 0, "DischargeOverCurrentProtect", BL_F_NONE, S_SIGNED, 1000, 1, 0, 0, 0, "A"),
    MB_NUM(0x1365, IR, 1, 0, "PcsRequestChargeVoltage", BL_F_CVL, 0, 10, 1, 0, V(0), V(655.35), "V"),
    MB_NUM(0x1366, IR, 1, 0, "PcsRequestChargeCurrent", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "A"),
    MB_NUM(0x1367, IR, 1, 0, "PcsRequestDischargeCurrent", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "A"),
    /* VIA version strings, natural order although the map says "little end first" (SV3-04) */
    MB_TEXT(0x1700, IR, 10, "FactoryName", BL_F_MANUFACTURER, "BMSLINK"),
    MB_TEXT(0x170A, IR, 10, "DeviceName", BL_F_MODEL, "BMSLINK-SIM"),
    MB_TEXT(0x1714, IR, 1, "FirmwareVersion", BL_F_FIRMWARE, "10"),
    MB_TEXT(0x1715, IR, 15, "BmsSerial", BL_F_NONE, "BMSLINK-SIM-0001"),
    MB_TEXT(0x1724, IR, 15, "PackSerial", BL_F_NONE, "BMSLINK-SIM-0001"),
    /* PCT: the inverter protocol the pack speaks on CAN (SV3-06: a Deye over Pylon CAN at 500 kbit/s) */
    MB_RAW(0x1800, IR, 1, "InverterProtocolType"),
    MB_NUM(0x1801, IR, 1, 0, "PcsBaud", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "kbit/s"),
    MB_TEXT(0x1802, IR, 16, "PcsName", BL_F_NONE, ""),
    MB_TEXT(0x1812, IR, 16, "ProtocolName", BL_F_NONE, ""),
    MB_TEXT(0x1822, IR, 1, "ProtocolVersion", BL_F_NONE, ""),
    /* EIA bank aggregate from the master pack, 32-bit values low word first (SV3-13) */
    MB_NUM(0x2000, IR, 2, WS, "BankVoltage", BL_F_VOLTAGE, 0, 10, 1, 0, V(0), V(655.35), "V"),
    MB_NUM(0x2002, IR, 2, WS, "BankCurrent", BL_F_CURRENT, S_SIGNED, 100, 1, 0, A(-30000), A(30000), "A"),
    MB_NUM(0x2004, IR, 2, WS | BL_MBF_REMAIN, "BankRemainingCapacity", BL_F_NONE, 0, 10, 1, 0, 0, 0, "Ah"),
    MB_NUM(0x2006, IR, 2, WS, "BankTotalCapacity", BL_F_CAPACITY, 0, 10, 1, 0, 0, 0, "Ah"),
    MB_NUM(0x2008, IR, 2, WS, "BankDischargedCapacity", BL_F_NONE, 0, 10000, 1, 0, 0, 0, "Ah"),
    MB_NUM(0x200A, IR, 2, WS, "BankRatedCapacity", BL_F_NONE, 0, 10, 1, 0, 0, 0, "Ah"),
    MB_NUM(0x200C, IR, 2, WS, "OnlinePacks", BL_F_NONE, 0, 1000, 1, 0, 0, 0, ""),
    MB_NUM(0x200E, IR, 2, WS, "ProtectedPacks", BL_F_NONE, 0, 1000, 1, 0, 0, 0, ""),
    MB_NUM(0x2010, IR, 2, WS, "BankMaxDischargeCurrent", BL_F_DCL, 0, 100, 1, 0, A(0), A(30000), "A"),
    MB_NUM(0x2012, IR, 2, WS, "BankMaxChargeCurrent", BL_F_CCL, 0, 100, 1, 0, A(0), A(30000), "A"),
    MB_NUM(0x2014, IR, 1, 0, "SuggestedPackOverVoltage", BL_F_NONE, 0, 100, 1, 0, 0, 0, "V"),
    MB_NUM(0x2015, IR, 1, 0, "SuggestedPackUnderVoltage", BL_F_NONE, 0, 100, 1, 0, 0, 0, "V"),
    MB_NUM(0x2016, IR, 1, 0, "PackCount", BL_F_MODULE_COUNT, 0, 1000, 1, 0, 0, 0, ""),
    MB_NUM(0x2017, IR, 1, 0, "BankCycles", BL_F_CYCLE_COUNT, 0, 1000, 1, 0, 0, 0, ""),
    MB_NUM(0x2018, IR, 1, 0, "BankSOC", BL_F_SOC, 0, 100, 1, 0, PCT(0), PCT(100), "%"),
    MB_NUM(0x2019, IR, 1, 0, "BankSOH", BL_F_SOH, 0, 100, 1, 0, PCT(0), PCT(100), "%"),
    /* PIC / EIC bit blocks (FC01): TB09 state, TB02 voltage, TB03 temperature,
     * TB05 current, TB07 FET, TB15 hard faults (SV3-02) */
    SV3_STATE_BITS(0x1240), SV3_V_BITS(0x1248), SV3_T_BITS(0x1250), SV3_I_BITS(0x1260), SV3_FET_BITS(0x1278),
    SV3_FAULT_BITS(0x1288),
    SV3_STATE_BITS(0x2200), SV3_V_BITS(0x2208), SV3_T_BITS(0x2210), SV3_I_BITS(0x2220), SV3_FET_BITS(0x2238),
    SV3_FAULT_BITS(0x2248),
};

static const bl_mb_block_t sv3_blocks[] = {
    { "pack_info_a", IR, 0x1000, 17, 0 },
    { "pack_info_b", IR, 0x1100, 26, 0 },
    { "pack_bits", CO, 0x1240, 80, 0 },
    { "pcs_request", IR, 0x1365, 3, 0 },
    { "version", IR, 0x1700, 51, 1 },
};

static const bl_mb_map_t sv3_map = {
    sv3_regs, BL_ARRAY_LEN(sv3_regs), sv3_blocks, BL_ARRAY_LEN(sv3_blocks), 1, 125,
};
static const bl_rs485_codec_t sv3_codec = CODEC_MB(sv3_map, 0, 0, 0x7F, 2000, 500, 50);

const bl_protocol_t bl_proto_seplos_v3 = {
    .name = "seplos-v3",
    .title = "Seplos V3 / XZH BMS Modbus RTU (48100/48200 packs; FC04 registers, FC01 bits)",
    .bus = BL_BUS_MODBUS,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_HIGH,
    .byte_order = BL_BE,
    .baud = 19200,
    .serial = "19200 8N1; unit = DIP 0x00..0x7F (0x00 is the bank master and polls 0x01..0x0F itself; an "
              "LCD at 0xE0 may poll too: do not collide); FC04 0x1000 (pack A), 0x1100 (cells), FC01 "
              "0x1240 (alarm bits); 32-bit bank values low word first",
    .timeout_ms = 10000,
    .rs485 = &sv3_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .handshake = "none: the master polls; in a bank the pack with id 0 is the master",
    .identity = "FC04 0x1700: factory name, device name, firmware, serials; 0x1800: the inverter protocol "
                "the pack speaks on CAN",
    .on_timeout = "the master times out and retries; the battery role answers exception 04 when its data "
                  "is stale",
    .sources = "SV3DOC (XZH Modbus map V0.1 2023-02-09), SV3 (bus capture), DSB (seplosv3.py)",
};

static const bl_mb_block_t sv3_bank_blocks[] = {
    { "bank_info", IR, 0x2000, 26, 0 },
    { "bank_bits", CO, 0x2200, 80, 0 },
    { "version", IR, 0x1700, 51, 1 },
};
static const bl_mb_map_t sv3_bank_map = {
    sv3_regs, BL_ARRAY_LEN(sv3_regs), sv3_bank_blocks, BL_ARRAY_LEN(sv3_bank_blocks), 1, 125,
};
static const bl_rs485_codec_t sv3_bank_codec = CODEC_MB(sv3_bank_map, 0, 0, 0, 2000, 500, 50);

const bl_protocol_t bl_proto_seplos_v3_bank = {
    .name = "seplos-v3:bank",
    .title = "Seplos V3 bank aggregate from the master pack (EIA 0x2000, EIC 0x2200)",
    .base = &bl_proto_seplos_v3,
    .bus = BL_BUS_MODBUS,
    .confidence = BL_CONF_MEDIUM,
    .serial = "19200 8N1; unit 0x00 (the master pack); FC04 0x2000 x 26, FC01 0x2200 x 80; one master "
              "firmware answers exception 02 for EIB",
    .rs485 = &sv3_bank_codec,
    .sources = "SV3DOC, SV3 (SV3-01/02 capture), SV3-13 (derived)",
};

/* ---- JK-PB inverter BMS (§3, M-H): FC03, register address = block base + byte offset ---- */

#define JKCELL(i) MB_NUM(0x1200 + 2 * (i), HR, 1, CELL, "Cell" #i, BL_F_NONE, ABS0, 1, 1, 0, V(0), V(5), "V")
#define JK_BIT(b, nm, cls, al) MB_BIT(0x12A0, HR, 2, b, nm, cls, al, 0)
#define JKTEMP(a, nm) MB_NUM(a, HR, 1, TEMP, nm, BL_F_NONE, S_SIGNED, 100, 1, 0, C(-60), C(150), "C")

static const bl_mb_reg_t jk_regs[] = {
    JKCELL(0), JKCELL(1), JKCELL(2), JKCELL(3), JKCELL(4), JKCELL(5), JKCELL(6), JKCELL(7),
    JKCELL(8), JKCELL(9), JKCELL(10), JKCELL(11), JKCELL(12), JKCELL(13), JKCELL(14), JKCELL(15),
    JKCELL(16), JKCELL(17), JKCELL(18), JKCELL(19), JKCELL(20), JKCELL(21), JKCELL(22), JKCELL(23),
    JKCELL(24), JKCELL(25), JKCELL(26), JKCELL(27), JKCELL(28), JKCELL(29), JKCELL(30), JKCELL(31),
    MB_NUM(0x1240, HR, 2, 0, "CellPresent", BL_F_NONE, 0, 1000, 1, 0, 0, 0, ""),
    MB_NUM(0x1244, HR, 1, 0, "AverageCellVoltage", BL_F_NONE, 0, 1, 1, 0, 0, 0, "V"),
    MB_NUM(0x1246, HR, 1, 0, "MaxCellDelta", BL_F_NONE, 0, 1, 1, 0, 0, 0, "V"),
    MB_BYTE(0x1248, HR, 1, 0, "MaxCellNumber", BL_F_NONE, 0, 1000, 0, 0, 0, ""),
    MB_BYTE(0x1248, HR, 0, 0, "MinCellNumber", BL_F_NONE, 0, 1000, 0, 0, 0, ""),
    MB_NUM(0x128A, HR, 1, 0, "MosfetTemperature", BL_F_NONE, S_SIGNED, 100, 1, 0, 0, 0, "C"),
    MB_NUM(0x1290, HR, 2, 0, "PackVoltage", BL_F_VOLTAGE, 0, 1, 1, 0, V(0), V(1000), "V"),
    MB_NUM(0x1294, HR, 2, 0, "PackPower", BL_F_NONE, 0, 1, 1, 0, 0, 0, "W"),
    MB_NUM(0x1298, HR, 2, 0, "PackCurrent", BL_F_CURRENT, S_SIGNED, 1, 1, 0, A(-2000), A(2000), "A"),
    JKTEMP(0x129C, "BatteryTemperature1"),
    JKTEMP(0x129E, "BatteryTemperature2"),
    JK_BIT(1, "MosOverTemperature", BL_AC_ALARM, BL_A_INTERNAL),
    JK_BIT(3, "CurrentSensorFault", BL_AC_ALARM, BL_A_INTERNAL),
    JK_BIT(4, "CellOverVoltage", BL_AC_PROTECTION, BL_A_CELL_OV),
    JK_BIT(5, "PackOverVoltage", BL_AC_PROTECTION, BL_A_PACK_OV),
    JK_BIT(6, "ChargeOverCurrent", BL_AC_PROTECTION, BL_A_CHG_OC),
    JK_BIT(7, "ChargeShortCircuit", BL_AC_PROTECTION, BL_A_SHORT),
    JK_BIT(8, "ChargeOverTemperature", BL_AC_PROTECTION, BL_A_CHG_OT),
    JK_BIT(9, "ChargeUnderTemperature", BL_AC_PROTECTION, BL_A_CHG_UT),
    JK_BIT(10, "InternalCommunication", BL_AC_ALARM, BL_A_COMM),
    JK_BIT(11, "CellUnderVoltage", BL_AC_PROTECTION, BL_A_CELL_UV),
    JK_BIT(12, "PackUnderVoltage", BL_AC_PROTECTION, BL_A_PACK_UV),
    JK_BIT(13, "DischargeOverCurrent", BL_AC_PROTECTION, BL_A_DSG_OC),
    JK_BIT(14, "DischargeShortCircuit", BL_AC_PROTECTION, BL_A_SHORT),
    JK_BIT(15, "DischargeOverTemperature", BL_AC_PROTECTION, BL_A_DSG_OT),
    JK_BIT(22, "TemperatureSensorFault", BL_AC_ALARM, BL_A_INTERNAL),
    MB_NUM(0x12A0, HR, 2, 0, "AlarmBits", BL_F_NONE, 0, 1000, 1, 0, 0, 0, ""),
    MB_NUM(0x12A4, HR, 1, 0, "BalanceCurrent", BL_F_NONE, S_SIGNED, 1, 1, 0, 0, 0, "A"),
    MB_BYTE(0x12A6, HR, 1, 0, "BalanceState", BL_F_NONE, 0, 1000, 0, 0, 0, ""),
    MB_BYTE(0x12A6, HR, 0, 0, "SOC", BL_F_SOC, 0, 1000, 0, PCT(0), PCT(100), "%"),
    MB_NUM(0x12A8, HR, 2, BL_MBF_REMAIN, "RemainingCapacity", BL_F_NONE, S_SIGNED, 1, 1, 0, 0, 0, "Ah"),
    MB_NUM(0x12AC, HR, 2, 0, "FullChargeCapacity", BL_F_CAPACITY, 0, 1, 1, 0, 0, 0, "Ah"),
    MB_NUM(0x12B0, HR, 2, 0, "CycleCount", BL_F_CYCLE_COUNT, 0, 1000, 1, 0, 0, 0, ""),
    MB_NUM(0x12B4, HR, 2, 0, "TotalCycleCapacity", BL_F_NONE, 0, 1, 1, 0, 0, 0, "Ah"),
    MB_BYTE(0x12B8, HR, 1, 0, "SOH", BL_F_SOH, 0, 1000, 0, PCT(0), PCT(100), "%"),
    MB_BYTE(0x12B8, HR, 0, 0, "PrechargeState", BL_F_NONE, 0, 1000, 0, 0, 0, ""),
    MB_NUM(0x12BC, HR, 2, 0, "RunTime", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "s"),
    MB_BYTEBOOL(0x12C0, HR, 1, "ChargeMos", BL_F_CHARGE_ENABLE),
    MB_BYTEBOOL(0x12C0, HR, 0, "DischargeMos", BL_F_DISCHARGE_ENABLE),
    MB_NUM(0x12E4, HR, 1, 0, "PackVoltage10mV", BL_F_NONE, 0, 10, 1, 0, 0, 0, "V"),
    JKTEMP(0x12F8, "BatteryTemperature3"),
    JKTEMP(0x12FA, "BatteryTemperature4"),
    JKTEMP(0x12FC, "BatteryTemperature5"),
    /* settings: the configured charge / discharge current limits are what JK's
     * own inverter CAN reports as CCL / DCL */
    MB_NUM(0x102C, HR, 2, 0, "MaxChargeCurrent", BL_F_CCL, 0, 1, 1, 0, A(0), A(2000), "A"),
    MB_NUM(0x1038, HR, 2, 0, "MaxDischargeCurrent", BL_F_DCL, 0, 1, 1, 0, A(0), A(2000), "A"),
    MB_TEXT(0x1400, HR, 8, "DeviceId", BL_F_MODEL, "BMSLINK-SIM"),
    MB_TEXT(0x1410, HR, 4, "HardwareVersion", BL_F_NONE, "1.0"),
    MB_TEXT(0x1418, HR, 4, "SoftwareVersion", BL_F_FIRMWARE, "1.0"),
};

/* about 40 registers per read work, 128 fail (§3): the status block in four reads */
static const bl_mb_block_t jk_blocks[] = {
    { "status_cells", HR, 0x1200, 40, 0 },
    { "status_temperatures", HR, 0x1250, 40, 0 },
    { "status_alarms", HR, 0x12A0, 40, 0 },
    { "status_tail", HR, 0x12F0, 8, 0 },
    { "current_limits", HR, 0x102C, 8, 0 },
    { "device_info", HR, 0x1400, 16, 1 },
};

static const bl_mb_map_t jk_map = {
    jk_regs, BL_ARRAY_LEN(jk_regs), jk_blocks, BL_ARRAY_LEN(jk_blocks), 2, 40,
};
static const bl_rs485_codec_t jk_codec = CODEC_MB(jk_map, 1, 1, 15, 2000, 500, 100);

const bl_protocol_t bl_proto_jk_pb = {
    .name = "jk-pb",
    .title = "JK-PB inverter BMS RS485 Modbus V1.0/V1.1 (JK_PB2A16S20P ...)",
    .bus = BL_BUS_MODBUS,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_MEDIUM,
    .byte_order = BL_BE,
    .baud = 115200,
    .serial = "115200 8N1; unit = DIP 1..15 (0 = this pack is the bus master: do not poll it); FC03, "
              "address = block base + byte offset; at most about 40 registers per read; 100 ms or more "
              "between requests",
    .timeout_ms = 10000,
    .rs485 = &jk_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .handshake = "none for FC03; plain polling misses often unless the FC10 trigger traffic of a JK master "
                 "is on the bus",
    .identity = "0x1400 device id, hardware and software version",
    .on_timeout = "the master retries; the battery role answers exception 04 when its data is stale",
    .sources = "JKPB (JK-PB Modbus V1.0/V1.1), JKPB-DSB, SYSSI-JK",
};

/* ---- EG4-LL (§4, L-M): FC03 live block 0x0000 x 39 ------------------------------------ */

#define EGCELL(a, nm) CELLROW(a, HR, nm, 0)
#define EGTEMP(a, hi, nm) MB_BYTE(a, HR, hi, TEMP, nm, BL_F_NONE, S_SIGNED, 1000, 0, C(-60), C(127), "C")

static const bl_mb_reg_t eg4ll_regs[] = {
    MB_NUM(0, HR, 1, 0, "PackVoltage", BL_F_VOLTAGE, 0, 10, 1, 0, V(0), V(655.35), "V"),
    MB_NUM(1, HR, 1, 0, "Current", BL_F_CURRENT, S_SIGNED, 10, 1, 0, A(-327.68), A(327.67), "A"),
    EGCELL(2, "Cell1"), EGCELL(3, "Cell2"), EGCELL(4, "Cell3"), EGCELL(5, "Cell4"), EGCELL(6, "Cell5"),
    EGCELL(7, "Cell6"), EGCELL(8, "Cell7"), EGCELL(9, "Cell8"), EGCELL(10, "Cell9"), EGCELL(11, "Cell10"),
    EGCELL(12, "Cell11"), EGCELL(13, "Cell12"), EGCELL(14, "Cell13"), EGCELL(15, "Cell14"),
    EGCELL(16, "Cell15"), EGCELL(17, "Cell16"),
    MB_NUM(18, HR, 1, 0, "MosfetTemperature", BL_F_NONE, S_SIGNED, 1000, 1, 0, 0, 0, "C"),
    MB_NUM(21, HR, 1, BL_MBF_REMAIN, "RemainingCapacity", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "Ah"),
    MB_NUM(22, HR, 1, 0, "MaxChargeCurrent", BL_F_CCL, 0, 1000, 1, 0, A(0), A(1000), "A"),
    MB_NUM(23, HR, 1, 0, "SOH", BL_F_SOH, 0, 1000, 1, 0, PCT(0), PCT(100), "%"),
    MB_NUM(24, HR, 1, 0, "SOC", BL_F_SOC, 0, 1000, 1, 0, PCT(0), PCT(100), "%"),
    MB_BYTE(25, HR, 1, 0, "HeaterState", BL_F_NONE, 0, 1000, 0, 0, 0, ""),
    MB_RAW(26, HR, 1, "WarningBits"),
    MB_RAW(27, HR, 1, "ProtectionBits"),
    MB_RAW(28, HR, 1, "ErrorBits"),
    MB_NUM(29, HR, 2, 0, "CycleCount", BL_F_CYCLE_COUNT, 0, 1000, 1, 0, 0, 0, ""),
    /* full capacity in mA·s: / 3 600 000 -> Ah, / 3600 -> mAh */
    MB_NUM(31, HR, 2, 0, "FullCapacity", BL_F_CAPACITY, 0, 1, 3600, 0, 0, 0, "Ah"),
    EGTEMP(33, 1, "Temperature1"), EGTEMP(33, 0, "Temperature2"),
    EGTEMP(34, 1, "Temperature3"), EGTEMP(34, 0, "Temperature4"),
    MB_RAW(36, HR, 1, "CellCount"),
    MB_TEXT(0x0069, HR, 23, "ModelSerial", BL_F_MODEL, "BMSLINK-SIM"),
};

static const bl_mb_block_t eg4ll_blocks[] = {
    { "live", HR, 0x0000, 39, 0 },
    { "model", HR, 0x0069, 23, 1 },
};
static const bl_mb_map_t eg4ll_map = {
    eg4ll_regs, BL_ARRAY_LEN(eg4ll_regs), eg4ll_blocks, BL_ARRAY_LEN(eg4ll_blocks), 1, 125,
};
static const bl_rs485_codec_t eg4ll_codec = CODEC_MB(eg4ll_map, 1, 1, 0x10, 2000, 1000, 100);

const bl_protocol_t bl_proto_eg4_ll = {
    .name = "eg4-ll",
    .title = "EG4-LL (Lithium-Lux) battery Modbus RTU, FC03 live block",
    .bus = BL_BUS_MODBUS,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_LOW,
    .byte_order = BL_BE,
    .baud = 9600,
    .serial = "9600 8N1; unit = DIP (daisy-chained packs e.g. 0x01, 0x10); FC03 0x0000 x 39; CH341 "
              "adapters may need 40-60 s after opening before the first reply",
    .timeout_ms = 10000,
    .rs485 = &eg4ll_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .handshake = "none: the master reads the live block",
    .identity = "0x0069 x 23: model and serial text",
    .on_timeout = "the master retries; the battery role answers exception 04 when its data is stale",
    .sources = "DSB (eg4_ll.py)",
};

/* ---- BYD HVM towards Fronius (§5, M): slave 21, power limits in W ---------------------- */

static const bl_mb_reg_t bydhvm_regs[] = {
    MB_NUM(202, HR, 1, 0, "TotalCapacityWh", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "Wh"),
    /* the emulator's max / min voltage are the limits the inverter keeps to */
    MB_NUM(205, HR, 1, 0, "MaxVoltage", BL_F_CVL, 0, 100, 1, 0, V(0), V(1000), "V"),
    MB_NUM(206, HR, 1, 0, "MinVoltage", BL_F_DVL, 0, 100, 1, 0, V(0), V(1000), "V"),
    MB_RAW(300, HR, 1, "Status"),
    MB_RAW(302, HR, 1, "ChargeDischargeState"),
    MB_NUM(303, HR, 1, 0, "SOC", BL_F_SOC, 0, 10, 1, 0, PCT(0), PCT(100), "%"),
    MB_NUM(304, HR, 1, 0, "TotalCapacityWh2", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "Wh"),
    MB_NUM(305, HR, 1, 0, "RemainingEnergy", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "Wh"),
    MB_NUM(306, HR, 1, 0, "MaxDischargePower", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "W"),
    MB_NUM(307, HR, 1, 0, "MaxChargePower", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "W"),
    MB_NUM(308, HR, 1, 0, "DcVoltage", BL_F_VOLTAGE, 0, 100, 1, 0, V(0), V(1000), "V"),
    /* charging is negative on this wire (a power, not a current) */
    MB_NUM(309, HR, 1, 0, "DcPower", BL_F_NONE, S_SIGNED, -1000, 1, 0, 0, 0, "W"),
    MB_NUM(310, HR, 1, 0, "InnerVoltage", BL_F_NONE, 0, 100, 1, 0, 0, 0, "V"),
    MB_NUM(311, HR, 1, 0, "InnerPower", BL_F_NONE, S_SIGNED, 1000, 1, 0, 0, 0, "W"),
    MB_NUM(312, HR, 1, 0, "MinTemperature", BL_F_TEMP_MIN, S_SIGNED, 100, 1, 0, C(-60), C(150), "C"),
    MB_NUM(313, HR, 1, 0, "MaxTemperature", BL_F_TEMP_MAX, S_SIGNED, 100, 1, 0, C(-60), C(150), "C"),
    MB_NUM(316, HR, 2, 0, "TotalChargedEnergy", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "Wh"),
    MB_NUM(320, HR, 2, 0, "TotalDischargedEnergy", BL_F_NONE, 0, 1000, 1, 0, 0, 0, "Wh"),
    MB_NUM(322, HR, 1, 0, "DeviceTemperature", BL_F_NONE, S_SIGNED, 100, 1, 0, 0, 0, "C"),
    MB_NUM(323, HR, 1, 0, "SOH", BL_F_SOH, 0, 10, 1, 0, PCT(0), PCT(100), "%"),
    { .addr = 401, .table = HR, .words = 1, .flags = BL_MBF_WRITE, .sig = SIG_RAW("Watchdog", BE_AT(0), 16, BL_BE, 0, 0) },
};

static const bl_mb_block_t bydhvm_blocks[] = {
    { "limits", HR, 202, 5, 0 },
    { "state", HR, 300, 24, 0 },
};
static const bl_mb_map_t bydhvm_map = {
    bydhvm_regs, BL_ARRAY_LEN(bydhvm_regs), bydhvm_blocks, BL_ARRAY_LEN(bydhvm_blocks), 1, 125,
};
static const bl_rs485_codec_t bydhvm_codec = CODEC_MB(bydhvm_map, 21, 21, 21, 1000, 500, 50);

const bl_protocol_t bl_proto_byd_hvm = {
    .name = "byd-hvm",
    .title = "BYD Battery-Box Premium HVM over Modbus RTU as Fronius Symo/Primo GEN24 reads it",
    .bus = BL_BUS_MODBUS,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_MEDIUM,
    .byte_order = BL_BE,
    .baud = 9600,
    .serial = "9600 8N1 RS485; unit 21; FC03/06/10/17; the inverter writes register 401 every 60 s "
              "(0x00FF / 0xFF00 alternating)",
    .timeout_ms = 120000,
    .rs485 = &bydhvm_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .handshake = "Fronius writes the watchdog register 401 every 60 s; no write for long = inverter lost",
    .identity = "registers 100..: manufacturer \"BYD\", model \"Battery-Box Premium HV\" (layout not in the "
                "fact sheet)",
    .on_timeout = "carries power limits (W), not current limits: a gateway converts with the pack voltage",
    .sources = "BE (BYD-MODBUS)",
};

/* ---- Felicity (§6, L): FC03 id 1 --------------------------------------------------------- */

#define FELCELL(a, nm) MB_NUM(a, HR, 1, CELL | BL_MBF_ABSENT_7FFF, nm, BL_F_NONE, 0, 1, 1, 0, V(0), V(5), "V")

static const bl_mb_reg_t fel_regs[] = {
    MB_RAW(4866, HR, 3, "StatusAndFaults"),
    MB_NUM(4870, HR, 1, 0, "Voltage", BL_F_VOLTAGE, 0, 10, 1, 0, V(0), V(655.35), "V"),
    MB_NUM(4871, HR, 1, 0, "Current", BL_F_CURRENT, S_SIGNED, 100, 1, 0, A(-3276.8), A(3276.7), "A"),
    MB_RAW(4874, HR, 1, "BmsTemperature"), /* unit not in the fact sheet */
    MB_RAW(4875, HR, 1, "SocRaw"),         /* unit not in the fact sheet */
    MB_NUM(4892, HR, 1, 0, "ChargeVoltageLimit", BL_F_CVL, 0, 10, 1, 0, V(0), V(655.35), "V"),
    MB_NUM(4893, HR, 1, 0, "DischargeVoltageLimit", BL_F_DVL, 0, 10, 1, 0, V(0), V(655.35), "V"),
    MB_NUM(4894, HR, 1, 0, "ChargeCurrentLimit", BL_F_CCL, 0, 100, 1, 0, A(0), A(6553.5), "A"),
    MB_NUM(4895, HR, 1, 0, "DischargeCurrentLimit", BL_F_DCL, 0, 100, 1, 0, A(0), A(6553.5), "A"),
    FELCELL(4906, "Cell1"), FELCELL(4907, "Cell2"), FELCELL(4908, "Cell3"), FELCELL(4909, "Cell4"),
    FELCELL(4910, "Cell5"), FELCELL(4911, "Cell6"), FELCELL(4912, "Cell7"), FELCELL(4913, "Cell8"),
    FELCELL(4914, "Cell9"), FELCELL(4915, "Cell10"), FELCELL(4916, "Cell11"), FELCELL(4917, "Cell12"),
    FELCELL(4918, "Cell13"), FELCELL(4919, "Cell14"), FELCELL(4920, "Cell15"), FELCELL(4921, "Cell16"),
};

static const bl_mb_block_t fel_blocks[] = {
    { "status", HR, 4866, 10, 0 },
    { "limits", HR, 4892, 4, 0 },
    { "cells", HR, 4906, 16, 0 },
};
static const bl_mb_map_t fel_map = {
    fel_regs, BL_ARRAY_LEN(fel_regs), fel_blocks, BL_ARRAY_LEN(fel_blocks), 1, 125,
};
static const bl_rs485_codec_t fel_codec = CODEC_MB(fel_map, 1, 1, 1, 2000, 500, 50);

const bl_protocol_t bl_proto_felicity = {
    .name = "felicity",
    .title = "Felicity battery Modbus RTU (FC03 4866..4921; one driver)",
    .bus = BL_BUS_MODBUS,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_LOW,
    .byte_order = BL_BE,
    .baud = 9600,
    .serial = "9600 8N1; unit 1; FC03; one driver inverts the current sign (unverified)",
    .timeout_ms = 10000,
    .rs485 = &fel_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .handshake = "none: the master reads status, limits and cells",
    .identity = "63492 serial, 63499 firmware (layout not in the fact sheet)",
    .on_timeout = "the battery role answers exception 04 when its data is stale",
    .sources = "DSB (felicity.py)",
};

/* ---- Daly "D2" Modbus (§6, L: documented from BLE captures) ----------------------------- */

#define D2CELL(i) CELLROW((i), HR, "Cell" #i, 0)
#define D2TEMP(i) MB_NUM(0x20 + (i), HR, 1, TEMP, "Temperature" #i, BL_F_NONE, ABS0, 1000, 1, C(-40), C(-40), C(150), "C")

static const bl_mb_reg_t d2_regs[] = {
    D2CELL(0), D2CELL(1), D2CELL(2), D2CELL(3), D2CELL(4), D2CELL(5), D2CELL(6), D2CELL(7),
    D2CELL(8), D2CELL(9), D2CELL(10), D2CELL(11), D2CELL(12), D2CELL(13), D2CELL(14), D2CELL(15),
    D2TEMP(0), D2TEMP(1), D2TEMP(2), D2TEMP(3), D2TEMP(4), D2TEMP(5), D2TEMP(6), D2TEMP(7),
    MB_NUM(0x28, HR, 1, 0, "TotalVoltage", BL_F_VOLTAGE, 0, 100, 1, 0, V(0), V(6553.5), "V"),
    MB_NUM(0x29, HR, 1, 0, "Current", BL_F_CURRENT, 0, 100, 1, A(-3000), A(-3000), A(3553.5), "A"),
    MB_NUM(0x2A, HR, 1, 0, "SOC", BL_F_SOC, 0, 100, 1, 0, PCT(0), PCT(100), "%"),
};

static const bl_mb_block_t d2_blocks[] = { { "live", HR, 0x0000, 0x2B, 0 } };
static const bl_mb_map_t d2_map = { d2_regs, BL_ARRAY_LEN(d2_regs), d2_blocks, BL_ARRAY_LEN(d2_blocks), 1, 125 };
static const bl_rs485_codec_t d2_codec = CODEC_MB(d2_map, 0xD2, 0xD2, 0xD2, 1000, 500, 50);

const bl_protocol_t bl_proto_daly_d2 = {
    .name = "daly-d2",
    .title = "Daly newer \"D2\" Modbus map (unit 0xD2; from BLE captures, RS485 use unverified)",
    .bus = BL_BUS_MODBUS,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_LOW,
    .byte_order = BL_BE,
    .baud = 9600,
    .serial = "9600 8N1; unit 0xD2; FC03 0x0000 x 43",
    .timeout_ms = 10000,
    .rs485 = &d2_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .handshake = "none: the master reads the live block",
    .identity = "none",
    .on_timeout = "the battery role answers exception 04 when its data is stale",
    .sources = "DALYREG",
};
