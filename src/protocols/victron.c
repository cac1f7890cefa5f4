/*
 * Victron GX "CAN-bus BMS" profile (Venus OS): the SMA 0x35x core plus the
 * Victron extras 0x360-0x382. 11-bit (Venus ignores 29-bit frames), 500 kbit/s,
 * little endian, every frame about every 1 s.
 * Fact sheet protocols/can-victron.md (DFCH BYD LVS <-> Venus OS 3.00 capture,
 * DIYV, HN, WECAN, ANCH).
 */
#include "smacore.h"

/* 0x35F as BYD sends it to a GX: the minor version byte is two hex digits
 * (0x17 -> "17", firmware 1.17; VIC-09) */
static const bl_signal_t victron_0x35f[] = {
    SIG_ASCII("BatteryType", BL_F_NONE, 0, 2, 0, "LI"),
    SIG_VERSION("BmsVersion", BL_F_FIRMWARE, 2, 2, BL_SF_HEXVER),
    SIG_NUM("Capacity", BL_F_CAPACITY, LE_AT(4), 16, BL_LE, 0, 1000, 0, 0, 0, "Ah"),
    SIG_RAW("ManufacturerId", LE_AT(6), 16, BL_LE, 0, 0),
};

/* 0x360: unknown, zero on BYD (VIC-10) */
static const bl_signal_t victron_0x360[] = {
    SIG_RAW("Unknown", LE_AT(0), 64, BL_LE, 0, 0),
};

/* 0x370 / 0x371: BMS / device name, 2 x 8 ASCII */
static const bl_signal_t victron_0x370[] = {
    SIG_ASCII("BmsName1", BL_F_MODEL, 0, 8, 0, NULL),
};
static const bl_signal_t victron_0x371[] = {
    SIG_ASCII("BmsName2", BL_F_MODEL, 0, 8, 8, NULL),
};

/* 0x372: module counts. "Online" is the number of modules in service: module_count.
 * Bytes 2-5 "seem ignored by Venus" (DFCH, L). */
static const bl_signal_t victron_0x372[] = {
    SIG_NUM("ModulesOnline", BL_F_MODULE_COUNT, LE_AT(0), 16, BL_LE, 0, 1000, 0, 0, 0, ""),
    SIG_RAW("ModulesBlockingCharge", LE_AT(2), 16, BL_LE, 0, 0),
    SIG_RAW("ModulesBlockingDischarge", LE_AT(4), 16, BL_LE, 0, 0),
    SIG_RAW("ModulesOffline", LE_AT(6), 16, BL_LE, 0, 0),
};

/* 0x373: cell voltage extremes in mV, cell temperature extremes in KELVIN
 * (°C = raw - 273; the capture agrees with 0x356 only read so, §3) */
static const bl_signal_t victron_0x373[] = {
    SIG_NUM("MinCellVoltage", BL_F_CELL_V_MIN, LE_AT(0), 16, BL_LE, 0, 1, 0, V(0), V(5), "V"),
    SIG_NUM("MaxCellVoltage", BL_F_CELL_V_MAX, LE_AT(2), 16, BL_LE, 0, 1, 0, V(0), V(5), "V"),
    SIG_NUM("MinCellTemperature", BL_F_TEMP_MIN, LE_AT(4), 16, BL_LE, 0, 1000, C(-273), C(-50), C(100), "C"),
    SIG_NUM("MaxCellTemperature", BL_F_TEMP_MAX, LE_AT(6), 16, BL_LE, 0, 1000, C(-273), C(-50), C(100), "C"),
};

/* 0x374-0x377: ids of the extreme cells / modules, ASCII (no canonical field) */
static const bl_signal_t victron_0x374[] = { SIG_ASCII("MinVoltageCellId", BL_F_NONE, 0, 8, 0, NULL) };
static const bl_signal_t victron_0x375[] = { SIG_ASCII("MaxVoltageCellId", BL_F_NONE, 0, 8, 0, NULL) };
static const bl_signal_t victron_0x376[] = { SIG_ASCII("MinTemperatureCellId", BL_F_NONE, 0, 8, 0, NULL) };
static const bl_signal_t victron_0x377[] = { SIG_ASCII("MaxTemperatureCellId", BL_F_NONE, 0, 8, 0, NULL) };

/* 0x378: energy counters, 0.1 kWh per the capture's annotation (kWh in one map, L) */
static const bl_signal_t victron_0x378[] = {
    SIG_NUM("EnergyCharged", BL_F_NONE, LE_AT(0), 32, BL_LE, BL_SF_UNVERIFIED, 100, 0, 0, 0, "kWh"),
    SIG_NUM("EnergyDischarged", BL_F_NONE, LE_AT(4), 32, BL_LE, BL_SF_UNVERIFIED, 100, 0, 0, 0, "kWh"),
};

/* 0x379: installed capacity, 1 Ah. capacity_Ah comes from 0x35F (the capture's
 * "available" capacity), so one field never flips between two sources. */
static const bl_signal_t victron_0x379[] = {
    SIG_NUM("InstalledCapacity", BL_F_NONE, LE_AT(0), 16, BL_LE, 0, 1000, 0, 0, 0, "Ah"),
};

/* 0x380 / 0x381 serial number, 0x382 product name (BYD: "PREMIUM"), ASCII, L */
static const bl_signal_t victron_0x380[] = { SIG_ASCII("Serial1", BL_F_NONE, 0, 8, 0, NULL) };
static const bl_signal_t victron_0x381[] = { SIG_ASCII("Serial2", BL_F_NONE, 0, 8, 0, NULL) };
static const bl_signal_t victron_0x382[] = { SIG_TEXTX("ProductName", BL_SK_ASCII, BL_F_NONE, 0, 8, 0, NULL,
                                                       BL_SF_PAD_NUL, -1) };

/* §4 GX -> battery: 0x305 and 0x306 eight zeros, 0x307 12 34 56 78 "VIC" 00 */
static const bl_signal_t gx_0x305[] = { SIG_RAW("KeepAlive", LE_AT(0), 64, BL_LE, 0, 0) };
static const bl_signal_t gx_0x306[] = { SIG_RAW("BatteryPresent", LE_AT(0), 64, BL_LE, 0, 0) };
static const bl_signal_t gx_0x307[] = {
    SIG_RAW("Magic", LE_AT(0), 32, BL_LE, 0, 0x78563412),
    SIG_TEXTX("Vendor", BL_SK_ASCII, BL_F_NONE, 4, 4, 0, "VIC", BL_SF_PAD_NUL, -1),
};

static const bl_message_t victron_msgs[] = {
    MSG(0x351, 0, BL_DIR_B2I, "charge_discharge_limits", bl_smacore_0x351, 8, 2, 1000, 0),
    MSG(0x355, 0, BL_DIR_B2I, "soc_soh", bl_smacore_0x355, 6, 2, 1000, 0),
    MSG(0x356, 0, BL_DIR_B2I, "voltage_current_temperature", bl_smacore_0x356, 6, 2, 1000, 0),
    MSG(0x35A, 0, BL_DIR_B2I, "alarms_warnings", bl_smacore_0x35a, 8, 8, 1000, 0),
    MSG(0x35B, 0, BL_DIR_B2I, "events", bl_smacore_0x35b, 8, 0, 1000, BL_MF_DECODE_ONLY),
    MSG(0x35E, 0, BL_DIR_B2I, "manufacturer", bl_smacore_0x35e, 8, 1, 1000, 0),
    MSG(0x35F, 0, BL_DIR_B2I, "battery_info", victron_0x35f, 8, 2, 1000, 0),
    MSG(0x360, 0, BL_DIR_B2I, "unknown_0x360", victron_0x360, 8, 0, 1000, BL_MF_DECODE_ONLY),
    MSG(0x370, 0, BL_DIR_B2I, "bms_name_1", victron_0x370, 8, 1, 1000, 0),
    MSG(0x371, 0, BL_DIR_B2I, "bms_name_2", victron_0x371, 8, 1, 1000, 0),
    MSG(0x372, 0, BL_DIR_B2I, "module_counts", victron_0x372, 8, 2, 1000, 0),
    MSG(0x373, 0, BL_DIR_B2I, "cell_extremes", victron_0x373, 8, 8, 1000, 0),
    MSG(0x374, 0, BL_DIR_B2I, "min_voltage_cell_id", victron_0x374, 8, 1, 1000, BL_MF_DECODE_ONLY),
    MSG(0x375, 0, BL_DIR_B2I, "max_voltage_cell_id", victron_0x375, 8, 1, 1000, BL_MF_DECODE_ONLY),
    MSG(0x376, 0, BL_DIR_B2I, "min_temperature_cell_id", victron_0x376, 8, 1, 1000, BL_MF_DECODE_ONLY),
    MSG(0x377, 0, BL_DIR_B2I, "max_temperature_cell_id", victron_0x377, 8, 1, 1000, BL_MF_DECODE_ONLY),
    MSG(0x378, 0, BL_DIR_B2I, "energy_counters", victron_0x378, 8, 8, 1000, BL_MF_DECODE_ONLY),
    MSG(0x379, 0, BL_DIR_B2I, "installed_capacity", victron_0x379, 8, 2, 1000, BL_MF_DECODE_ONLY),
    MSG(0x380, 0, BL_DIR_B2I, "serial_1", victron_0x380, 8, 1, 1000, BL_MF_DECODE_ONLY),
    MSG(0x381, 0, BL_DIR_B2I, "serial_2", victron_0x381, 8, 1, 1000, BL_MF_DECODE_ONLY),
    MSG(0x382, 0, BL_DIR_B2I, "product_name", victron_0x382, 8, 1, 1000, BL_MF_DECODE_ONLY),
    MSG(0x305, 0, BL_DIR_I2B, "gx_keepalive", gx_0x305, 8, 0, 1000, BL_MF_KEEPALIVE),
    MSG(0x306, 0, BL_DIR_I2B, "gx_battery_present", gx_0x306, 8, 0, 1000, BL_MF_KEEPALIVE),
    MSG(0x307, 0, BL_DIR_I2B, "gx_hello", gx_0x307, 8, 0, 1000, BL_MF_KEEPALIVE),
};

static const bl_idfact_t victron_ids[] = {
    IDF(
        "GX BMS-Can port profile",
        "CAN-bus BMS (500 kbit/s)",
        "discards non-BMS traffic; \"VE.Can & CAN-bus BMS (250 kbit/s)\" for 250 k batteries"),
    IDF(
        "0x35E (ManufacturerName)",
        "\"PYLON\" / \"BYD\" / other",
        "the GX names the battery from the frame set and this string; DVCC quirks follow the product: Pylontech CVL "
        "held near 52.4-52.8 V on 15-cell packs unless CVL > 54 V, BYD float 55 V / 40 A when CCL = 0, LG CVL capped "
        "at 57.3 V"),
    IDF(
        "0x351 ChargeVoltage",
        "never 0 V",
        "the GX treats CVL = 0 as over-voltage: stop charging with CVL = the present voltage and CCL = 0"),
    IDF("0x351 DischargeCurrentLimit", "0 A", "Multis / Quattros in island mode shut down at DCL = 0"),
};

const bl_protocol_t bl_proto_victron = {
    .name = "victron",
    .title = "Victron GX CAN-bus BMS profile (SMA 0x35x core + 0x370-0x382 extras)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_BATTERY,
    .confidence = BL_CONF_MEDIUM, /* core H (SMA), extras M (one capture + one implementation) */
    .id_bits = 11,
    .byte_order = BL_LE,
    .bitrate = 500000,
    .timeout_ms = 0,
    .msgs = victron_msgs,
    .nmsgs = BL_ARRAY_LEN(victron_msgs),
    .safe = { [BL_AC_ALARM] = AM(BL_A_INTERNAL) },
    .handshake = DOC("none: the battery broadcasts every frame about every 1 s; the GX sends 0x305/0x306 (zeros) and "
                     "0x307 (\"VIC\"); with no battery present it sends 0x305 and 0x307 rapidly. Batteries may "
                     "ignore every GX frame"),
    .identity = DOC("frame set + 0x35E string name the battery on the GX; slow or irregular frames show it as "
                    "disconnected"),
    .on_timeout = DOC("GX timeout value not documented (gap); the device shows as disconnected"),
    .sources = DOC("DFCH, DIYV, HN, WECAN, ANCH, SMA"),
    .idfacts = victron_ids,
    .nidfacts = BL_ARRAY_LEN(victron_ids),
};
