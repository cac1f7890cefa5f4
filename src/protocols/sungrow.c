/*
 * Sungrow SBR battery CAN (SBR064-SBR256 emulation; SH-RS/RT/T that are not BYD-
 * compatible, SH8.0/10RS accept only SBR). 250 kbit/s (the only one here), 11-bit,
 * little endian. Battery data in 0x7xx, copied to 0x0xx / 0x5xx; 0x504 carries the
 * current of 0x704 with the OPPOSITE sign.
 * Fact sheet protocols/can-others.md §D (BE SUNGROW-CAN, WIKI, ANCH #670). M-L.
 */
#include "table.h"

/* 0x701: max voltage, min voltage, max charge current, max discharge current */
static const bl_signal_t sgr_0x701[] = {
    SIG_NUM("MaxVoltage", BL_F_CVL, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("MinVoltage", BL_F_DVL, LE_AT(2), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("MaxChargeCurrent", BL_F_CCL, LE_AT(4), 16, BL_LE, 0, 100, 0, A(0), A(3000), "A"),
    SIG_NUM("MaxDischargeCurrent", BL_F_DCL, LE_AT(6), 16, BL_LE, 0, 100, 0, A(0), A(3000), "A"),
};

/* 0x702: SOC and SOH in 0.01 %, remaining and capacity in Wh (U16, the emulator clamps) */
static const bl_signal_t sgr_0x702[] = {
    SIG_NUM("SOC", BL_F_SOC, LE_AT(0), 16, BL_LE, 0, 10, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("SOH", BL_F_SOH, LE_AT(2), 16, BL_LE, 0, 10, 0, PCT(0), PCT(100), "%"),
    SIG_NUM("RemainingEnergy", BL_F_NONE, LE_AT(4), 16, BL_LE, 0, 1, 0, 0, 0, "kWh"),
    SIG_NUM("CapacityEnergy", BL_F_NONE, LE_AT(6), 16, BL_LE, 0, 1, 0, 0, 0, "kWh"),
};

/* 0x703: charged / discharged energy, U32 Wh */
static const bl_signal_t sgr_0x703[] = {
    SIG_NUM("ChargedEnergy", BL_F_NONE, LE_AT(0), 32, BL_LE, 0, 1, 0, 0, 0, "kWh"),
    SIG_NUM("DischargedEnergy", BL_F_NONE, LE_AT(4), 32, BL_LE, 0, 1, 0, 0, 0, "kWh"),
};

/* 0x704: voltage, current (+ charging), the voltage again, temperature (SGR-01) */
static const bl_signal_t sgr_0x704[] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("Current", BL_F_CURRENT, LE_AT(2), 16, BL_LE, S_SIGNED, 100, 0, A(-3000), A(3000), "A"),
    SIG_NUM("VoltageCopy", BL_F_NONE, LE_AT(4), 16, BL_LE, 0, 100, 0, 0, 0, "V"),
    SIG_NUM("Temperature", BL_F_TEMP, LE_AT(6), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
};

/* 0x504: 0x704's copy with the current sign inverted (mul -100: canonical = -wire, SGR-02) */
static const bl_signal_t sgr_0x504[] = {
    SIG_NUM("Voltage", BL_F_VOLTAGE, LE_AT(0), 16, BL_LE, 0, 100, 0, V(0), V(1000), "V"),
    SIG_NUM("CurrentInverted", BL_F_CURRENT, LE_AT(2), 16, BL_LE, S_SIGNED, -100, 0, A(-3000), A(3000), "A"),
    SIG_NUM("VoltageCopy", BL_F_NONE, LE_AT(4), 16, BL_LE, 0, 100, 0, 0, 0, "V"),
    SIG_NUM("Temperature", BL_F_TEMP, LE_AT(6), 16, BL_LE, S_SIGNED, 100, 0, C(-50), C(100), "C"),
};

/* 0x706: max / min temperature, max / min cell mV. The sheet lists the four values in
 * this order without bytes: placed as four U16 in order (inferred). */
static const bl_signal_t sgr_0x706[] = {
    SIG_NUM("MaxTemperature", BL_F_TEMP_MAX, LE_AT(0), 16, BL_LE, S_SIGNED | BL_SF_UNVERIFIED, 100, 0, C(-50),
            C(100), "C"),
    SIG_NUM("MinTemperature", BL_F_TEMP_MIN, LE_AT(2), 16, BL_LE, S_SIGNED | BL_SF_UNVERIFIED, 100, 0, C(-50),
            C(100), "C"),
    SIG_NUM("MaxCellVoltage", BL_F_CELL_V_MAX, LE_AT(4), 16, BL_LE, BL_SF_UNVERIFIED, 1, 0, V(0), V(5), "V"),
    SIG_NUM("MinCellVoltage", BL_F_CELL_V_MIN, LE_AT(6), 16, BL_LE, BL_SF_UNVERIFIED, 1, 0, V(0), V(5), "V"),
};

/* 0x500 byte 7: SOC % (a coarse copy; SOC is read from 0x702), 0x005 byte 1: end-stop
 * (full when the charge limit is 0, empty when SOC is 0) */
static const bl_signal_t sgr_0x500[] = {
    SIG_RAW("Bytes0to6", LE_AT(0), 56, BL_LE, 0, 0),
    SIG_NUM("SOC", BL_F_SOC, LE_AT(7), 8, BL_LE, BL_SF_NO_STORE, 1000, 0, PCT(0), PCT(100), "%"),
};
static const bl_signal_t sgr_0x005[] = {
    SIG_RAW("Byte0", LE_AT(0), 8, BL_LE, 0, 0),
    SIG_RAW("EndStop", LE_AT(1), 8, BL_LE, 0, 0),
};

/* frames named in the sheet without a layout: model id (0x705), nameplate (0x707), cell
 * temperatures / voltages in 0.1 mV (0x713-0x718), cell type (0x71A), dates / serials */
static const bl_signal_t sgr_raw[] = {
    SIG_RAW("Bytes0to3", LE_AT(0), 32, BL_LE, 0, 0),
    SIG_RAW("Bytes4to7", LE_AT(4), 32, BL_LE, 0, 0),
};

/* inverter: 0x100 run (~1.25 s), 0x101 init (bytes 0-3 epoch time), 0x102, 0x103
 * (multiplexed serial / version), 0x1E0 Modbus-RTU tunnelled in CAN (SOC thresholds) */
static const bl_signal_t sgr_0x101[] = {
    SIG_NUMX("EpochTime", BL_F_NONE, LE_AT(0), 32, BL_LE, 0, 1000, 1, 0, 0, 0, "s", -1),
    SIG_RAW("Bytes4to7", LE_AT(4), 32, BL_LE, 0, 0),
};

#define SGR_RAW(idv, nm) MSG(idv, 0, BL_DIR_B2I, nm, sgr_raw, 8, 0, 0, BL_MF_DECODE_ONLY)

static const bl_message_t sgr_msgs[] = {
    MSG(0x701, 0, BL_DIR_B2I, "limits", sgr_0x701, 8, 8, 1000, 0),
    MSG(0x702, 0, BL_DIR_B2I, "soc_soh_energy", sgr_0x702, 8, 4, 1000, 0),
    MSG(0x703, 0, BL_DIR_B2I, "energy_counters", sgr_0x703, 8, 8, 1000, 0),
    MSG(0x704, 0, BL_DIR_B2I, "voltage_current_temperature", sgr_0x704, 8, 8, 1000, 0),
    MSG(0x706, 0, BL_DIR_B2I, "temperature_cell_extremes", sgr_0x706, 8, 8, 1000, 0),
    MSG(0x504, 0, BL_DIR_B2I, "voltage_current_temperature_inverted", sgr_0x504, 8, 8, 1000, 0),
    MSG(0x500, 0, BL_DIR_B2I, "soc_copy", sgr_0x500, 8, 8, 1000, 0),
    MSG(0x005, 0, BL_DIR_B2I, "end_stop", sgr_0x005, 8, 2, 1000, BL_MF_DECODE_ONLY),
    SGR_RAW(0x705, "model_voltage"),
    SGR_RAW(0x707, "nameplate_modules"),
    SGR_RAW(0x713, "cell_min_max_1"),
    SGR_RAW(0x714, "cell_min_max_2"),
    SGR_RAW(0x71A, "cell_type"),
    MSG(0x100, 0, BL_DIR_I2B, "run", sgr_raw, 8, 0, 1250, BL_MF_KEEPALIVE),
    MSG(0x101, 0, BL_DIR_I2B, "init", sgr_0x101, 8, 4, 0, BL_MF_REQUEST),
    MSG(0x102, 0, BL_DIR_I2B, "inverter_0x102", sgr_raw, 8, 0, 0, 0),
    MSG(0x103, 0, BL_DIR_I2B, "serial_version", sgr_raw, 8, 0, 0, 0),
    MSG(0x1E0, 0, BL_DIR_I2B, "modbus_tunnel", sgr_raw, 8, 0, 0, 0),
};

static const bl_trigger_t sgr_triggers[] = {
    TRIG(0x101, 0, ANY, 0, 0, 0, KEEP, BL_TA_START | BL_TA_RESPOND, 0,
         IDS(0x701, 0x702, 0x703, 0x704, 0x706, 0x504, 0x500),
         "init: the battery's init burst (its exact content is not documented: the data set)"),
    TRIG(0x100, 0, ANY, 0, 0, 0, KEEP, 0, 1250, NULL, "run: inverter alive"),
};

static const bl_idfact_t sgr_ids[] = {
    IDF("bit rate", "250 kbit/s", "cannot share a bus with 500 k devices"),
    IDF("inverter battery setting", "SBR", "SH8.0/10RS accept only SBR; other SH models also BYD HVS"),
    IDF("0x1E0 Modbus tunnel", "registers 0x4DE2...", "SOC thresholds: cut-off 5 %, emergency 3 %, idle trigger 2 %"),
};

const bl_protocol_t bl_proto_sungrow = {
    .name = "sungrow",
    .title = "Sungrow SBR battery CAN (SH-RS/RT/T; 250 kbit/s, 11-bit, 0x7xx with 0x5xx copies)",
    .bus = BL_BUS_CAN,
    .first = BL_FIRST_BATTERY,
    .confidence = BL_CONF_LOW,
    .id_bits = 11,
    .byte_order = BL_LE,
    .bitrate = 250000,
    .timeout_ms = 0,
    .msgs = sgr_msgs,
    .nmsgs = BL_ARRAY_LEN(sgr_msgs),
    .handshake = DOC("the battery sends its 0x7xx data (period not documented: 1 s here) with 0x5xx/0x0xx copies; "
                     "the inverter sends 0x100 run (~1.25 s), 0x101 init (answered with the data set), 0x102/0x103 "
                     "and a Modbus tunnel on 0x1E0. Sungrow is slow on CAN"),
    .identity = DOC("model id 8420 + module count (0x705), nameplate (0x707), cell type 0x42 IEC / 0x44 non-IEC "
                    "(0x71A); layouts not documented"),
    .on_timeout = DOC("Sungrow is slow: battery-side timeouts must be long (an SH5.0RS also probes with Pylon HV "
                      "0x4200)"),
    .sources = DOC("BE (SUNGROW-CAN), WIKI (sungrow), ANCH (BE #670)"),
    .triggers = sgr_triggers,
    .ntriggers = BL_ARRAY_LEN(sgr_triggers),
    .idfacts = sgr_ids,
    .nidfacts = BL_ARRAY_LEN(sgr_ids),
};
