/*
 * Pylontech low-voltage CAN V1.2 (2018-04-08), 48 V packs. Little endian,
 * 11-bit, 500 kbit/s, battery broadcasts every 1 s, inverter keep-alive 0x305.
 * Fact sheet protocols/can-pylon-lv.md (PYL12 official PDF, SFL13 capture,
 * DIY, BE, AR).
 */
#include "smacore.h"

/* §3 0x351: CVL, CCL, DCL (+ DVL, not in V1.2 but sent by real US5000 packs).
 * DCL is a magnitude; one quoted sample carried it negative: decode abs(). */
static const bl_signal_t pylon_lv_0x351[] = {
    SIG_NUM("ChargeVoltage", BL_F_CVL, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(100), "V"),
    SIG_NUM("ChargeCurrentLimit", BL_F_CCL, LE_AT(2), 16, BL_LE, S_SIGNED, 100, 0, A(0), A(3276.7), "A"),
    SIG_NUM("DischargeCurrentLimit", BL_F_DCL, LE_AT(4), 16, BL_LE, S_SIGNED | BL_SF_ABS, 100, 0, A(0),
            A(3276.8), "A"),
    SIG_NUM("DischargeVoltage", BL_F_DVL, LE_AT(6), 16, BL_LE, 0, 100, 0, V(0), V(100), "V"),
};

/* §3 0x355: SOC, SOH in 1 %; bytes 4-5 high-resolution SOC (0.01 %) on newer
 * firmware, seen as 00 00 on real packs: 0 means "not sent". */
static const bl_signal_t pylon_lv_0x355[] = {
    SIG_NUM("SOC", BL_F_SOC, LE_AT(0), 16, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOH", BL_F_SOH, LE_AT(2), 16, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOCHiRes", BL_F_SOC, LE_AT(4), 16, BL_LE, BL_SF_ZERO_ABSENT, 10, 0, PCT(0), PCT(100), "%"),
};

/* §3 0x356: voltage 0.01 V, current 0.1 A (+ charging), temperature 0.1 °C, no offset.
 * Ranges are plausibility limits for a 48 V LFP system. */
static const bl_signal_t pylon_lv_0x356[] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, LE_AT(0), 16, BL_LE, S_SIGNED, 10, 0, V(0), V(100), "V"),
    SIG_NUM("Current", BL_F_CURRENT, LE_AT(2), 16, BL_LE, S_SIGNED, 100, 0, A(-3000), A(3000), "A"),
    SIG_NUM("Temperature", BL_F_TEMP, LE_AT(4), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
};

/* §3 0x359: protection bytes 0-1, alarm bytes 2-3 (same bit positions),
 * module count, "PN". Pylontech names cell *or* module faults, and
 * temperature faults without a direction: one bit stands for both alarms. */
#define PYLON_BITS(cls, b, pfx)                                                                       \
    SIG_ALARM(pfx "OverVoltage", cls, BL_A_CELL_OV, AM(BL_A_PACK_OV), BIT_AT(b, 1)),                  \
    SIG_ALARM(pfx "UnderVoltage", cls, BL_A_CELL_UV, AM(BL_A_PACK_UV), BIT_AT(b, 2)),                 \
    SIG_ALARM(pfx "OverTemperature", cls, BL_A_CHG_OT, AM(BL_A_DSG_OT), BIT_AT(b, 3)),                \
    SIG_ALARM(pfx "UnderTemperature", cls, BL_A_CHG_UT, AM(BL_A_DSG_UT), BIT_AT(b, 4)),               \
    SIG_ALARM(pfx "DischargeOverCurrent", cls, BL_A_DSG_OC, 0, BIT_AT(b, 7)),                         \
    SIG_ALARM(pfx "ChargeOverCurrent", cls, BL_A_CHG_OC, 0, BIT_AT(b + 1, 0))

static const bl_signal_t pylon_lv_0x359[] = {
    PYLON_BITS(BL_AC_PROTECTION, 0, "Protection"),
    SIG_ALARM("ProtectionSystemError", BL_AC_PROTECTION, BL_A_INTERNAL, 0, BIT_AT(1, 3)),
    PYLON_BITS(BL_AC_ALARM, 2, "Alarm"),
    SIG_ALARM("AlarmInternalCommFail", BL_AC_ALARM, BL_A_COMM, 0, BIT_AT(3, 3)),
    SIG_NUM("ModuleCount", BL_F_MODULE_COUNT, LE_AT(4), 8, BL_LE, 0, 1000, 0, 0, 0, ""),
    SIG_ASCII("Marker", BL_F_NONE, 5, 2, 0, "PN"),
};

/* §3 0x35C: request flags. Force charge I (bit 5) and II (bit 4) both mean
 * force_charge: US2000B uses only bit 5, newer packs bit 4. */
static const bl_signal_t pylon_lv_0x35c[] = {
    SIG_BOOL("ChargeEnable", BL_F_CHARGE_ENABLE, BIT_AT(0, 7)),
    SIG_BOOL("DischargeEnable", BL_F_DISCHARGE_ENABLE, BIT_AT(0, 6)),
    SIG_BOOL("ForceChargeI", BL_F_FORCE_CHARGE, BIT_AT(0, 5)),
    SIG_BOOL("ForceChargeII", BL_F_FORCE_CHARGE, BIT_AT(0, 4)),
    SIG_BOOL("FullChargeRequest", BL_F_FULL_CHARGE_REQ, BIT_AT(0, 3)),
};

/* §3 0x35E: "PYLON" padded with spaces; some send DLC 7 or "PYTES" (5 bytes). */
static const bl_signal_t pylon_lv_0x35e[] = {
    SIG_ASCII("ManufacturerName", BL_F_MANUFACTURER, 0, 8, 0, "PYLON"),
};

/* §3 0x305: inverter keep-alive, 8 x 0x00 every 1 s. */
static const bl_signal_t pylon_lv_0x305[] = {
    SIG_RAW("KeepAlive", LE_AT(0), 64, BL_LE, 0, 0),
};

/* The decoder accepts DLC 1..8 and reads only the bytes it needs (§1). The
 * newer-firmware frames 0x35A/0x35F are understood but not sent (see :v13). */
static const bl_message_t pylon_lv_msgs[] = {
    MSG(0x351, 0, BL_DIR_B2I, "charge_discharge_limits", pylon_lv_0x351, 8, 2, 1000, 0),
    MSG(0x355, 0, BL_DIR_B2I, "soc_soh", pylon_lv_0x355, 4, 2, 1000, 0),
    MSG(0x356, 0, BL_DIR_B2I, "voltage_current_temperature", pylon_lv_0x356, 6, 2, 1000, 0),
    MSG(0x359, 0, BL_DIR_B2I, "protection_alarm", pylon_lv_0x359, 7, 4, 1000, 0),
    MSG(0x35C, 0, BL_DIR_B2I, "request_flags", pylon_lv_0x35c, 2, 1, 1000, 0),
    MSG(0x35E, 0, BL_DIR_B2I, "manufacturer", pylon_lv_0x35e, 8, 1, 1000, 0),
    MSG(0x35A, 0, BL_DIR_B2I, "alarms_warnings", bl_smacore_0x35a, 8, 8, 1000, BL_MF_DECODE_ONLY),
    MSG(0x35F, 0, BL_DIR_B2I, "battery_info", bl_smacore_0x35f, 8, 2, 1000, BL_MF_DECODE_ONLY),
    MSG(0x305, 0, BL_DIR_I2B, "keepalive", pylon_lv_0x305, 8, 0, 1000, BL_MF_KEEPALIVE),
};

const bl_protocol_t bl_proto_pylon_lv = {
    .name = "pylon-lv",
    .title = "Pylontech low-voltage CAN V1.2 (48 V; Deye/Sunsynk, Sol-Ark, Luxpower, Solis, Sofar LV)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_BATTERY,
    .confidence = BL_CONF_HIGH,
    .id_bits = 11,
    .byte_order = BL_LE,
    .bitrate = 500000,
    .timeout_ms = 0, /* none documented: 10 x the 1 s period */
    .msgs = pylon_lv_msgs,
    .nmsgs = BL_ARRAY_LEN(pylon_lv_msgs),
    /* safe state (§4): CCL = DCL = 0, enable flags cleared, and these raised */
    .safe = { [BL_AC_ALARM] = AM(BL_A_COMM), [BL_AC_PROTECTION] = AM(BL_A_INTERNAL) },
    .handshake = "none: the battery broadcasts 0x351-0x35E every 1 s unsolicited; the inverter answers "
                 "0x305 (8 x 0x00) every 1 s, some inverters late or never",
    .identity = "0x35E \"PYLON\" (compare trimmed); 0x359 byte 4 module count drives the inverter's "
                "capacity assumptions",
    .on_timeout = "not specified in V1.2: inverter-specific BMS communication fault, limits fall back "
                  "to the inverter's own",
    .sources = "PYL12 (Pylontech CAN V1.2 2018-04-08), SFL13, SFLR, DIY, BE, AR",
};

/* Newer US5000 firmware (SFL13 capture): 0x355 with 6 bytes, 0x35A and 0x35F
 * instead of 0x359 and 0x35C. */
static const bl_signal_t pylon_lv_v13_0x355[] = {
    SIG_NUM("SOC", BL_F_SOC, LE_AT(0), 16, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOH", BL_F_SOH, LE_AT(2), 16, BL_LE, 0, 1000, 0, PCT(0), PCT(100), "%"),
    SIG_RAW("SOCHiRes", LE_AT(4), 16, BL_LE, 0, 0), /* sent as 00 00 by this firmware */
};

static const bl_message_t pylon_lv_v13_msgs[] = {
    MSG(0x355, 0, BL_DIR_B2I, "soc_soh", pylon_lv_v13_0x355, 6, 2, 1000, 0),
};

static const uint32_t pylon_lv_v13_omit[] = { 0x359, 0x35C, 0 };
static const uint32_t pylon_lv_v13_add[] = { 0x35A, 0x35F, 0 };

const bl_protocol_t bl_proto_pylon_lv_v13 = {
    .name = "pylon-lv:v13",
    .title = "Pylontech LV, newer US5000 firmware: 0x35A/0x35F replace 0x359/0x35C, 6-byte 0x355",
    .base = &bl_proto_pylon_lv,
    .bus = BL_BUS_CAN,
    .confidence = BL_CONF_MEDIUM,
    .extra = pylon_lv_v13_msgs,
    .nextra = BL_ARRAY_LEN(pylon_lv_v13_msgs),
    .send_omit = pylon_lv_v13_omit,
    .send_add = pylon_lv_v13_add,
    .safe = { [BL_AC_ALARM] = AM(BL_A_INTERNAL) },
    .sources = "SFL13 (one capture of two US5000 stacks)",
};

/* Sol-Ark LV as emulated by Battery-Emulator: 0x356 voltage in 0.1 V (§3, §7). */
static const bl_signal_t pylon_lv_solark_0x356[] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, LE_AT(0), 16, BL_LE, S_SIGNED, 100, 0, V(0), V(100), "V"),
    SIG_NUM("Current", BL_F_CURRENT, LE_AT(2), 16, BL_LE, S_SIGNED, 100, 0, A(-3000), A(3000), "A"),
    SIG_NUM("Temperature", BL_F_TEMP, LE_AT(4), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
};

static const bl_message_t pylon_lv_solark_msgs[] = {
    MSG(0x356, 0, BL_DIR_B2I, "voltage_current_temperature", pylon_lv_solark_0x356, 6, 2, 1000, 0),
};

const bl_protocol_t bl_proto_pylon_lv_solark = {
    .name = "pylon-lv:sol-ark",
    .title = "Pylontech LV as the Sol-Ark v1.3 emulation sends it: 0x356 voltage in 0.1 V",
    .base = &bl_proto_pylon_lv,
    .bus = BL_BUS_CAN,
    .confidence = BL_CONF_LOW,
    .extra = pylon_lv_solark_msgs,
    .nextra = BL_ARRAY_LEN(pylon_lv_solark_msgs),
    .handshake = "Sol-Ark answers every correctly received battery frame with 0x305 (zeros)",
    .sources = "BE (SOL-ARK-LV-CAN)",
};
