/*
 * Daly "A5" UART/RS485 protocol: 13-byte frames A5 addr id 08 data[8] sum8,
 * host address 0x40 (board 1), the battery answers from 0x01. Data big
 * endian. Fact sheet protocols/rs485-daly-jbd.md §1 (DALY-ESPH, DALY-GBA, DSB,
 * ESPH-DALY): framing H, field map M, current sign L.
 *
 * The sign of the current differs between firmwares (§1.4): "daly" reads
 * raw - 30000 (0.1 A) as positive = charging, "daly:inverted-current" the
 * opposite — a per-device setting that the protocol name makes visible.
 */
#include "rs_table.h"

#define DALY_CURRENT(mu, off) R_NUM("Current", BL_F_CURRENT, 2, 0, mu, off, A(-3000), A(3553.5), "A")

/* 0x90: total voltage 0.1 V, "gather" voltage 0.1 V, current raw - 30000 in 0.1 A, SOC 0.1 % */
static const bl_rs_item_t daly_0x90[] = {
    R_NUM("TotalVoltage", BL_F_VOLTAGE, 2, 0, 100, 0, V(0), V(6553.5), "V"),
    R_NUM("GatherVoltage", BL_F_NONE, 2, 0, 100, 0, 0, 0, "V"),
    DALY_CURRENT(100, A(-3000)),
    R_NUM("SOC", BL_F_SOC, 2, 0, 100, 0, PCT(0), PCT(100), "%"),
};
/* the same frame with the opposite current sign: (30000 - raw) x 0.1 A */
static const bl_rs_item_t daly_inv_0x90[] = {
    R_NUM("TotalVoltage", BL_F_VOLTAGE, 2, 0, 100, 0, V(0), V(6553.5), "V"),
    R_NUM("GatherVoltage", BL_F_NONE, 2, 0, 100, 0, 0, 0, "V"),
    R_NUM("Current", BL_F_CURRENT, 2, 0, -100, A(3000), A(-3553.5), A(3000), "A"),
    R_NUM("SOC", BL_F_SOC, 2, 0, 100, 0, PCT(0), PCT(100), "%"),
};
/* 0x91: max cell mV and its number, min cell mV and its number */
static const bl_rs_item_t daly_0x91[] = {
    R_NUM("MaxCellVoltage", BL_F_CELL_V_MAX, 2, 0, 1, 0, V(0), V(5), "V"),
    R_RAW("MaxCellNumber", 1),
    R_NUM("MinCellVoltage", BL_F_CELL_V_MIN, 2, 0, 1, 0, V(0), V(5), "V"),
    R_RAW("MinCellNumber", 1),
    R_RAW("Reserved", 2),
};
/* 0x92: temperatures in °C + 40 */
static const bl_rs_item_t daly_0x92[] = {
    R_NUM("MaxTemperature", BL_F_TEMP_MAX, 1, 0, 1000, C(-40), C(-40), C(215), "C"),
    R_RAW("MaxTemperatureSensor", 1),
    R_NUM("MinTemperature", BL_F_TEMP_MIN, 1, 0, 1000, C(-40), C(-40), C(215), "C"),
    R_RAW("MinTemperatureSensor", 1),
    R_RAW("Reserved", 4),
};
/* 0x93: state (0 idle, 1 charging, 2 discharging), charge / discharge MOSFET,
 * BMS life, remaining capacity mAh. A BMS without limits allows charging
 * exactly while its charge MOSFET is on: that is its charge enable. */
static const bl_rs_item_t daly_0x93[] = {
    R_RAW("State", 1),
    R_BOOL("ChargeMos", BL_F_CHARGE_ENABLE, 0, 0),
    R_RAW("ChargeMosByte", 1),
    R_BOOL("DischargeMos", BL_F_DISCHARGE_ENABLE, 0, 0),
    R_RAW("DischargeMosByte", 1),
    R_RAW("BmsLife", 1),
    R_NUMX("RemainingCapacity", BL_F_NONE, 4, 0, 1, 1, 0, 0, 0, "Ah", BL_SLOT_REMAIN),
};
/* 0x94: cell count, temperature sensors, charger, load, DIO, cycles */
static const bl_rs_item_t daly_0x94[] = {
    R_COUNT("CellCount", BL_SLOT_M, 0),
    R_COUNT("TemperatureSensors", BL_SLOT_N, 2),
    R_RAW("ChargerPresent", 1),
    R_RAW("LoadPresent", 1),
    R_RAW("DioStates", 1),
    R_NUM("CycleCount", BL_F_CYCLE_COUNT, 2, 0, 1000, 0, 0, 0, ""),
    R_RAW("Reserved", 1),
};
/* 0x95: frame number, 3 cells (mV); one frame per 3 cells */
static const bl_rs_item_t daly_0x95[] = {
    R_RAW("FrameNumber", 1),
    R_NUM("Cell1", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("Cell2", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_NUM("Cell3", BL_F_NONE, 2, 0, 1, 0, 0, 0, "V"),
    R_RAW("Reserved", 1),
};
/* 0x96: frame number, 7 temperatures °C + 40 */
static const bl_rs_item_t daly_0x96[] = {
    R_RAW("FrameNumber", 1),
    R_ARR("Temperature", BL_SLOT_NONE, 7, 1, 0, 1000, C(-40), 0, 0, "C", BL_AGG_NONE, 0, 0),
};
/* raw rows stay within 4 bytes: their milli-value must fit 64 bits */
static const bl_rs_item_t daly_0x97[] = { R_RAW("BalanceCells1To32", 4), R_RAW("BalanceCells33To64", 4) };
/* 0x98 failure bits as one driver reads them (L): byte 0 voltage, 1 temperature,
 * 2 current / SOC; pre-alarms are warnings, alarms alarms. Over-current: bits
 * 0-1 charge, 2-3 discharge under this protocol's sign. */
#define DALY_0x98(chg_oc, dsg_oc)                                                                             \
    R_BIT("HighVoltagePreAlarm1", BL_AC_WARNING, BL_A_CELL_OV, AM(BL_A_PACK_OV), 0, 0),                       \
    R_BIT("HighVoltagePreAlarm2", BL_AC_WARNING, BL_A_CELL_OV, AM(BL_A_PACK_OV), 0, 1),                       \
    R_BIT("HighVoltagePreAlarm3", BL_AC_WARNING, BL_A_CELL_OV, AM(BL_A_PACK_OV), 0, 2),                       \
    R_BIT("HighVoltagePreAlarm4", BL_AC_WARNING, BL_A_CELL_OV, AM(BL_A_PACK_OV), 0, 3),                       \
    R_BIT("HighVoltageAlarm1", BL_AC_ALARM, BL_A_CELL_OV, AM(BL_A_PACK_OV), 0, 4),                            \
    R_BIT("HighVoltageAlarm2", BL_AC_ALARM, BL_A_CELL_OV, AM(BL_A_PACK_OV), 0, 5),                            \
    R_BIT("LowVoltagePreAlarm", BL_AC_WARNING, BL_A_CELL_UV, AM(BL_A_PACK_UV), 0, 6),                         \
    R_BIT("LowVoltageAlarm", BL_AC_ALARM, BL_A_CELL_UV, AM(BL_A_PACK_UV), 0, 7),                              \
    R_RAW("VoltageFaults", 1),                                                                                \
    R_BIT("ChargeHighTemperaturePreAlarm", BL_AC_WARNING, BL_A_CHG_OT, 0, 0, 0),                              \
    R_BIT("ChargeHighTemperatureAlarm", BL_AC_ALARM, BL_A_CHG_OT, 0, 0, 1),                                   \
    R_BIT("ChargeLowTemperaturePreAlarm", BL_AC_WARNING, BL_A_CHG_UT, 0, 0, 2),                               \
    R_BIT("ChargeLowTemperatureAlarm", BL_AC_ALARM, BL_A_CHG_UT, 0, 0, 3),                                    \
    R_BIT("DischargeHighTemperaturePreAlarm", BL_AC_WARNING, BL_A_DSG_OT, 0, 0, 4),                           \
    R_BIT("DischargeHighTemperatureAlarm", BL_AC_ALARM, BL_A_DSG_OT, 0, 0, 5),                                \
    R_BIT("DischargeLowTemperaturePreAlarm", BL_AC_WARNING, BL_A_DSG_UT, 0, 0, 6),                            \
    R_BIT("DischargeLowTemperatureAlarm", BL_AC_ALARM, BL_A_DSG_UT, 0, 0, 7),                                 \
    R_RAW("TemperatureFaults", 1),                                                                            \
    R_BIT("OverCurrentAPreAlarm", BL_AC_WARNING, chg_oc, 0, 0, 0),                                            \
    R_BIT("OverCurrentAAlarm", BL_AC_ALARM, chg_oc, 0, 0, 1),                                                 \
    R_BIT("OverCurrentBPreAlarm", BL_AC_WARNING, dsg_oc, 0, 0, 2),                                            \
    R_BIT("OverCurrentBAlarm", BL_AC_ALARM, dsg_oc, 0, 0, 3),                                                 \
    R_FLAG("SocLowPreAlarm", 0, 6),                                                                           \
    R_FLAG("SocLowAlarm", 0, 7),                                                                              \
    R_RAW("CurrentSocFaults", 1),                                                                             \
    R_RAW("CellDifferenceFaults", 1),                                                                         \
    R_RAW("MosFaults", 1),                                                                                    \
    R_RAW("OtherFaults", 2),                                                                                  \
    R_RAW("FaultCode", 1)

static const bl_rs_item_t daly_0x98[] = { DALY_0x98(BL_A_CHG_OC, BL_A_DSG_OC) };
static const bl_rs_item_t daly_inv_0x98[] = { DALY_0x98(BL_A_DSG_OC, BL_A_CHG_OC) };
/* 0x50: rated capacity mAh, nominal cell voltage mV */
static const bl_rs_item_t daly_0x50[] = {
    R_NUM("RatedCapacity", BL_F_CAPACITY, 4, 0, 1, 0, 0, 0, "Ah"),
    R_NUM("NominalCellVoltage", BL_F_NONE, 4, 0, 1, 0, 0, 0, "V"),
};
static const bl_rs_item_t daly_raw8[] = { R_RAW("Data0To3", 4), R_RAW("Data4To7", 4) };

#define DALY_MSGS(m90, m98)                                                                                   \
    RMSG(0x90, "soc_totals", m90, BL_REQ_NONE, 0), RMSG(0x91, "cell_voltage_extremes", daly_0x91, BL_REQ_NONE, 0), \
    RMSG(0x92, "temperature_extremes", daly_0x92, BL_REQ_NONE, 0),                                           \
    RMSG(0x93, "mosfet_capacity", daly_0x93, BL_REQ_NONE, 0), RMSG(0x94, "status", daly_0x94, BL_REQ_NONE, 0), \
    RMSG(0x95, "cell_voltages", daly_0x95, BL_REQ_NONE, 0),                                                   \
    RMSG(0x96, "temperatures", daly_0x96, BL_REQ_NONE, 0), RMSG(0x97, "balance_state", daly_0x97, BL_REQ_NONE, 0), \
    RMSG(0x98, "failure_codes", m98, BL_REQ_NONE, 0), RMSG(0x50, "rated_parameters", daly_0x50, BL_REQ_NONE, 0), \
    RMSG(0x53, "battery_type_date", daly_raw8, BL_REQ_NONE, BL_RMF_NO_REPLY),                                \
    RMSG(0x57, "battery_code", daly_raw8, BL_REQ_NONE, BL_RMF_NO_REPLY),                                     \
    RMSG(0xD9, "discharge_mos_switch", daly_raw8, BL_REQ_NONE, BL_RMF_WRITE),                                 \
    RMSG(0xDA, "charge_mos_switch", daly_raw8, BL_REQ_NONE, BL_RMF_WRITE)

static const bl_rs_msg_t daly_msgs[] = { DALY_MSGS(daly_0x90, daly_0x98) };
static const bl_rs_msg_t daly_inv_msgs[] = { DALY_MSGS(daly_inv_0x90, daly_inv_0x98) };

/* one driver: 20 ms before each request, 0.5 s read timeout, 3 retries */
static const uint8_t daly_poll[] = { 0x90, 0x91, 0x92, 0x93, 0x94, 0x98, 0 };
static const uint8_t daly_poll_once[] = { 0x50, 0 };

#define DALY_CODEC(mt, neg)                                                                                 \
    {                                                                                                         \
        .kind = BL_RSK_DALY, .framing = BL_FRAMING_DALY, .data_bits = 8, .parity = 'N', .stop_bits = 1,       \
        .addr_default = 0x40, .addr_min = 0x40, .addr_max = 0x4F, .poll_ms = 1000, .reply_ms = 500,           \
        .gap_ms = 20, .msgs = mt, .nmsgs = BL_ARRAY_LEN(mt), .poll = daly_poll,                           \
        .poll_once = daly_poll_once, .reply_addr = 0x01, .pyl = NULL, .map = NULL, .current_negated = neg     \
    }

static const bl_rs485_codec_t daly_codec = DALY_CODEC(daly_msgs, false);
static const bl_rs485_codec_t daly_inv_codec = DALY_CODEC(daly_inv_msgs, true);

const bl_protocol_t bl_proto_daly = {
    .name = "daly",
    .title = "Daly A5 UART/RS485 (Daly smart BMS; monitors and gateways read it)",
    .bus = BL_BUS_RS485,
    .first = BL_FIRST_INVERTER,
    .confidence = BL_CONF_MEDIUM,
    .byte_order = BL_BE,
    .baud = 9600,
    .serial = "9600 8N1; host address 0x40 (board 1; 0x41.. further boards), replies from 0x01; 0.5 s "
              "reply timeout, up to 3 retries; some firmware never answers some ids (not a link failure)",
    .timeout_ms = 10000,
    .rs485 = &daly_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .handshake = "none: the host asks each data id (0x90..0x98), the BMS answers with one 13-byte frame "
                 "(0x95/0x96: one per 3 cells / 7 sensors)",
    .identity = "none on the wire beyond 0x50 rated capacity; current sign differs between firmwares",
    .on_timeout = "the host retries; the battery role stays silent when its data is stale (no error code "
                  "exists)",
    .sources = "DALY-ESPH, DALY-GBA, DSB (daly.py), ESPH-DALY",
};

const bl_protocol_t bl_proto_daly_inverted = {
    .name = "daly:inverted-current",
    .title = "Daly A5 with the firmware current sign inverted (raw > 30000 = discharging)",
    .base = &bl_proto_daly,
    .bus = BL_BUS_RS485,
    .confidence = BL_CONF_LOW,
    .rs485 = &daly_inv_codec,
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM) },
    .sources = "DSB (daly.py, invert-current option)",
};
