/*
 * Fuzz the validation judge (src/engines/validate.c) with sessions no simulator would
 * produce: every value the input gives (extremes included), any field valid or not,
 * time jumping forward by up to 255 s, silences, open paths, states and settings in
 * any order. The judge must not overflow, must not read out of its history, and every
 * verdict must name a moment within the session (or none, for a skip).
 *
 * Input: byte 0 picks the protocol pair, then 24 bytes per sample:
 *   [0] time step s   [1] flags: silent, blocked charge/discharge, detected, state bits
 *   [2..5] BMS value  [6..9] shown value  [10..13] limit  [14..17] drive current
 *   [18] field selector (which measurement / limit the values go to)  [19] valid bits
 *   [20..21] alarms raised  [22..23] alarms decoded
 */
#include "bmslink/validate.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const protos[] = { "pylon-lv", "sma-si", "byd-hvs", "pylon-hv", "pylon-rs485", "solax" };
static const uint8_t fields[] = { BL_F_SOC, BL_F_VOLTAGE, BL_F_CURRENT, BL_F_TEMP, BL_F_CVL, BL_F_CCL, BL_F_DCL, BL_F_DVL };

static bl_inv_profile_t prof;
static bl_inv_t inv;
static bl_val_t val;
static bl_record_t bms, wire;
static bl_val_check_t out[BL_VC_COUNT];

static int32_t i32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bl_val_cfg_t cfg;
    bl_inv_out_t drive;
    uint64_t t = 0;

    if (size < 1)
        return 0;
    bl_inv_profile_defaults(&prof);
    prof.name = "fuzz";
    prof.protocol_name = protos[data[0] % (sizeof protos / sizeof protos[0])];
    prof.proto = bl_protocol_find(prof.protocol_name);
    prof.ntimeouts = data[0] & 0x80 ? 0 : 1;
    prof.timeouts[0].after_ms = 10000;
    prof.timeouts[0].action = BL_INV_ACT_STANDBY;
    prof.nsettings = 1;
    prof.settings[0].name = "battery_type";
    prof.settings[0].required = "ok";
    if (bl_inv_init(&inv, &prof, 0, 0) < 0)
        return 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.battery = prof.proto;
    cfg.profile = &prof;
    cfg.step_ms = 1000;
    cfg.capacity_mAh = (data[0] & 0x40) ? 0 : 100000;
    if (bl_val_init(&val, &cfg) != 0)
        __builtin_trap();
    bl_record_init(&bms);
    bl_record_init(&wire);
    memset(&drive, 0, sizeof drive);
    for (size_t off = 1; off + 24 <= size; off += 24) {
        const uint8_t *p = data + off;
        unsigned f = fields[p[18] % sizeof fields];
        bl_val_sample_t s;

        t += p[0] * 1000u;
        bms.f[f].value = i32(p + 2);
        bms.f[f].valid = p[19] & 1u;
        inv.view.f[f].value = i32(p + 6);
        inv.view.f[f].valid = (p[19] >> 1) & 1u;
        inv.rx.f[f] = inv.view.f[f];
        wire.f[BL_F_CCL + (p[18] >> 4) % 3u].value = i32(p + 10);
        wire.f[BL_F_CCL + (p[18] >> 4) % 3u].valid = (p[19] >> 2) & 1u;
        wire.f[BL_F_CHARGE_ENABLE].value = (p[19] >> 3) & 1u;
        wire.f[BL_F_CHARGE_ENABLE].valid = (p[19] >> 4) & 1u;
        drive.i_mA = i32(p + 14);
        bms.active[p[19] >> 6 & 1u ? BL_AC_PROTECTION : BL_AC_WARNING] = (bl_alarm_mask_t)(p[20] | p[21] << 8);
        inv.rx.active[p[19] >> 7] = (bl_alarm_mask_t)(p[22] | p[23] << 8);
        inv.detected = (p[1] >> 3) & 1u;
        inv.state = (uint8_t)((p[1] >> 4) % BL_INV_STATE_COUNT);
        inv.setting_value[0] = (p[1] & 0x80) ? "wrong" : NULL;
        bl_record_set_str(&inv.rx, BL_F_FIRMWARE, (const char *)p + 2, (size_t)(p[18] & 7u), t);
        memset(&s, 0, sizeof s);
        s.t_ms = t;
        s.inv = &inv;
        s.out = &drive;
        s.bms = (p[19] >> 5) & 1u ? &bms : NULL;
        s.wire = &wire;
        s.raised = (p[1] & 0x40) ? bms.active : NULL;
        s.v_mV = i32(p + 2);
        s.v_known = p[1] & 1u;
        s.blocked = (uint8_t)((p[1] >> 1) & 3u);
        s.silent = (p[1] >> 2) & 1u;
        s.silent_since_ms = s.silent && (p[0] & 1u) ? t / 2u : 0;
        bl_val_sample(&val, &s);
        (void)bl_val_hopeless(&val);
    }
    bl_val_finish(&val, t, out);
    for (unsigned i = 0; i < BL_VC_COUNT; i++) {
        if (out[i].id != i || out[i].status > BL_VS_SKIP || out[i].nev > BL_VAL_MAX_EVIDENCE)
            __builtin_trap();
        if (out[i].at_ms != BL_NEVER && out[i].at_ms > t + 200000u)
            __builtin_trap(); /* a verdict names a moment of the session (a deadline may lie past a short one) */
        if (memchr(out[i].expected, 0, sizeof out[i].expected) == NULL ||
            memchr(out[i].observed, 0, sizeof out[i].observed) == NULL)
            __builtin_trap();
    }
    return 0;
}
