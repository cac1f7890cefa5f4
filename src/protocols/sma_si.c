/*
 * SMA Sunny Island external-BMS CAN (48 V, SI 6.0H-11 / 8.0H-11, firmware >= 2.1).
 * 11-bit, 500 kbit/s, little endian; the battery broadcasts 0x351-0x35F about
 * every 1 s, the SI sends its own measurements on 0x305-0x307.
 * Fact sheet protocols/can-sma-si.md (SMA official TI, DFCH capture, DIYV, BE).
 */
#include "smacore.h"

/* §5 0x305: the SI's measurements. Its current is NEGATIVE while charging
 * (opposite of the battery's 0x356): mul -100 turns it canonical (SMA-06). */
static const bl_signal_t si_0x305[] = {
    SIG_NUM("BatteryVoltage", BL_F_INV_VOLTAGE, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(100), "V"),
    SIG_NUM("BatteryCurrent", BL_F_INV_CURRENT, LE_AT(2), 16, BL_LE, S_SIGNED, -100, 0, A(-3000), A(3000), "A"),
    SIG_NUM("BatteryTemperature", BL_F_INV_TEMP, LE_AT(4), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
    SIG_NUM("SOC", BL_F_INV_SOC, LE_AT(6), 16, BL_LE, S_SIGNED, 100, 0, PCT(0), PCT(100), "%"),
};

/* §5 0x306: SOH, charging procedure (10 with an external BMS), operating state
 * (0 -, 1 operating, 3 warning, 4 failure), active error number, CV set-point */
static const bl_signal_t si_0x306[] = {
    SIG_NUM("SOH", BL_F_NONE, LE_AT(0), 16, BL_LE, 0, 1000, 0, 0, 0, "%"),
    SIG_RAW("ChargingProcedure", LE_AT(2), 8, BL_LE, 0, 10),
    SIG_NUM("OperatingState", BL_F_INV_STATE, LE_AT(3), 8, BL_LE, 0, 1000, 0, 0, 0, ""),
    SIG_NUM("ErrorMessage", BL_F_INV_ERROR, LE_AT(4), 16, BL_LE, 0, 1000, 0, 0, 0, ""),
    SIG_NUM("ChargeVoltageSetpoint", BL_F_NONE, LE_AT(6), 16, BL_LE, 0, 100, 0, 0, 0, "V"),
};

/* §5 0x307: relay state, bit-coded */
static const bl_signal_t si_0x307[] = {
    SIG_RAW("RelayState", LE_AT(0), 16, BL_LE, 0, 0),
};

static const bl_message_t sma_si_msgs[] = {
    MSG(0x351, 0, BL_DIR_B2I, "charge_discharge_limits", bl_smacore_0x351, 8, 2, 1000, 0),
    MSG(0x355, 0, BL_DIR_B2I, "soc_soh", bl_smacore_0x355, 6, 2, 1000, 0),
    MSG(0x356, 0, BL_DIR_B2I, "voltage_current_temperature", bl_smacore_0x356, 6, 2, 1000, 0),
    MSG(0x35A, 0, BL_DIR_B2I, "alarms_warnings", bl_smacore_0x35a, 8, 8, 1000, 0),
    MSG(0x35B, 0, BL_DIR_B2I, "events", bl_smacore_0x35b, 8, 0, 1000, BL_MF_DECODE_ONLY),
    MSG(0x35E, 0, BL_DIR_B2I, "manufacturer", bl_smacore_0x35e, 8, 1, 1000, 0),
    MSG(0x35F, 0, BL_DIR_B2I, "battery_info", bl_smacore_0x35f, 8, 2, 1000, 0),
    /* §3: remote quick stop, no data bytes: the SI goes to standby at once */
    MSG_EMPTY(0x00F, 0, BL_DIR_B2I, "quick_stop", 0, BL_MF_EVENT),
    MSG(0x305, 0, BL_DIR_I2B, "si_battery_measurements", si_0x305, 8, 8, 1000, BL_MF_KEEPALIVE),
    MSG(0x306, 0, BL_DIR_I2B, "si_state", si_0x306, 8, 8, 1000, 0),
    MSG(0x307, 0, BL_DIR_I2B, "si_relays", si_0x307, 2, 2, 1000, 0),
};

static const bl_idfact_t sma_si_ids[] = {
    IDF("SI parameter 003.06 BatTyp", "LiIon_Ext-BMS", "the SI reads an external BMS only with this battery type"),
    IDF("SI parameter 003.09 BatCpyNom", ">= 100 Ah", "nominal capacity; the SI does not accept less than 100 Ah"),
    IDF("0x35F bytes 0-1 (BatteryType)", "\"LI\"", "battery type text; BYD LVS sends \"Li\""),
    IDF("0x351 ChargeVoltage", "41.0-63.0 V", "outside this range the SI silently keeps its last good value"),
};

const bl_protocol_t bl_proto_sma_si = {
    .name = "sma-si",
    .title = "SMA Sunny Island external-BMS CAN (48 V, SI 6.0H-11 / 8.0H-11)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_BATTERY,
    .confidence = BL_CONF_HIGH,
    .id_bits = 11,
    .byte_order = BL_LE,
    .bitrate = 500000,
    .timeout_ms = 0, /* data stale after 10 x 1 s; the SI itself waits 60 s (on_timeout) */
    .msgs = sma_si_msgs,
    .nmsgs = BL_ARRAY_LEN(sma_si_msgs),
    /* safe state: CCL = DCL = 0 A (in the SI's accepted range, so obeyed), CVL/DVL "invalid"
     * (the SI falls back to 54 V / 42 V), and the general alarm: the SI goes to standby */
    .safe = { [BL_AC_ALARM] = AM(BL_A_INTERNAL) },
    .handshake = DOC("none: the battery broadcasts 0x351-0x35F about every 1 s (each id at most every 200 ms); the "
                     "SI sends 0x305-0x307 every 1 s (a cycle may be skipped); 0x00F (no data) stops the SI"),
    .identity = DOC("no string check; the SI needs BatTyp = LiIon_Ext-BMS and a nominal capacity >= 100 Ah"),
    .on_timeout = DOC("no 0x355 for 60 s: error F952 ExtBMSTimeout, SI to standby; no 0x351 for 60 s: warning W952; "
                      "then defaults CVL 54 V, currents 0 A, DVL 42 V, SOC 0 % (battery-protection shutdown)"),
    .sources = DOC("SMA (TI FSS-ConnectingBat-TI-en-10), DFCH, SFL13, DIYV, BE, AR, HN, WIKI"),
    .idfacts = sma_si_ids,
    .nidfacts = BL_ARRAY_LEN(sma_si_ids),
};
