/*
 * gencapture: a deterministic Pylon LV candump -L capture from a small pack
 * model (charge, taper, discharge), every frame made by bmslink's encoder.
 * Used for the bundled sample capture and for the decode benchmark.
 *
 *   gencapture [--seconds N] [--frames N] [--malformed] [--protocol P]
 *
 * The pack model here is deliberately simple (OCV table + IR, coulomb
 * counting); the real battery simulator lives in src/engines.
 */
#include "bmslink/capture.h"
#include "bmslink/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* LFP cell OCV (mV) at SOC 0, 10, ..., 100 % */
static const int ocv_mv[11] = { 2900, 3200, 3250, 3280, 3300, 3310, 3320, 3330, 3340, 3350, 3450 };

static int ocv(double soc)
{
    int i = (int)(soc / 10.0);
    if (i < 0)
        return ocv_mv[0];
    if (i >= 10)
        return ocv_mv[10];
    return ocv_mv[i] + (int)((ocv_mv[i + 1] - ocv_mv[i]) * (soc - i * 10.0) / 10.0);
}

static void emit(const bl_can_frame_t *f, uint64_t ts_us)
{
    bl_cap_frame_t cf;
    char line[256];
    memset(&cf, 0, sizeof cf);
    cf.ts_us = ts_us;
    strcpy(cf.bus, "can0");
    cf.f = *f;
    if (bl_capture_format_log(&cf, line, sizeof line) > 0)
        puts(line);
}

int main(int argc, char **argv)
{
    const char *proto = "pylon-lv";
    long seconds = 1200, frames = 0;
    int malformed = 0;
    bl_can_codec_t c;
    bl_record_t r;
    double soc = 70.0, temp = 24.0, cap_ah = 100.0;
    long emitted = 0;
    uint64_t t0 = UINT64_C(1700000000000000);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atol(argv[++i]);
        else if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc)
            frames = atol(argv[++i]);
        else if (strcmp(argv[i], "--malformed") == 0)
            malformed = 1;
        else if (strcmp(argv[i], "--protocol") == 0 && i + 1 < argc)
            proto = argv[++i];
        else {
            fprintf(stderr, "usage: gencapture [--seconds N] [--frames N] [--malformed] [--protocol P]\n");
            return 2;
        }
    }
    if (bl_can_codec_init(&c, bl_protocol_find(proto)) < 0) {
        fprintf(stderr, "gencapture: unknown CAN protocol %s\n", proto);
        return 2;
    }
    if (frames > 0)
        seconds = frames; /* at least one frame per second; stop on the frame count */
    bl_record_init(&r);
    for (long s = 0; s < seconds; s++) {
        uint64_t now_ms = (uint64_t)s * 1000u;
        /* charge at 60 A, taper above 95 %, then discharge at 45 A from 97 % */
        static int charging = 1;
        double amps;
        if (charging && soc >= 97.0)
            charging = 0;
        if (!charging && soc <= 20.0)
            charging = 1;
        amps = charging ? (soc > 95.0 ? 60.0 * (100.0 - soc) / 5.0 : 60.0) : -45.0;
        amps += ((s * 7919) % 11 - 5) * 0.1; /* measurement noise, deterministic */
        soc += amps / cap_ah / 3600.0 * 100.0;
        temp += (amps * amps * 0.000004 - (temp - 24.0) * 0.002);
        int cell = ocv(soc) + (int)(amps * 0.9); /* ~0.9 mOhm per cell */
        int ccl = soc > 95.0 ? (int)(60000 * (100.0 - soc) / 5.0) : 100000;
        bl_record_set(&r, BL_F_CVL, 55200, 1, now_ms);
        bl_record_set(&r, BL_F_CCL, ccl < 0 ? 0 : ccl, 1, now_ms);
        bl_record_set(&r, BL_F_DCL, soc < 15.0 ? 20000 : 100000, 1, now_ms);
        bl_record_set(&r, BL_F_DVL, 48000, 1, now_ms);
        bl_record_set(&r, BL_F_SOC, (int32_t)(soc + 0.5) * 1000, 0, now_ms);
        bl_record_set(&r, BL_F_SOH, 99000, 0, now_ms);
        bl_record_set(&r, BL_F_VOLTAGE, 16 * cell / 10 * 10, 2, now_ms);
        bl_record_set(&r, BL_F_CURRENT, (int32_t)(amps * 1000), 1, now_ms);
        bl_record_set(&r, BL_F_TEMP, (int32_t)(temp * 1000), 1, now_ms);
        bl_record_set(&r, BL_F_CHARGE_ENABLE, ccl > 0, 0, now_ms);
        bl_record_set(&r, BL_F_DISCHARGE_ENABLE, 1, 0, now_ms);
        bl_record_set(&r, BL_F_FORCE_CHARGE, 0, 0, now_ms);
        bl_record_set(&r, BL_F_FULL_CHARGE_REQ, 0, 0, now_ms);
        bl_record_set(&r, BL_F_MODULE_COUNT, 2, 0, now_ms);
        bl_record_set_str(&r, BL_F_MANUFACTURER, "PYLON", 5, now_ms);
        /* a cell high-voltage alarm near full */
        r.known[BL_AC_ALARM] = r.known[BL_AC_PROTECTION] = (bl_alarm_mask_t)((1U << BL_A_COUNT) - 1U);
        r.active[BL_AC_ALARM] = (bl_alarm_mask_t)(cell > 3420 ? (1U << BL_A_CELL_OV) : 0);
        r.alarm_seen_ms[BL_AC_ALARM] = now_ms;
        for (unsigned j = 0; j < c.n; j++) {
            bl_can_frame_t f;
            const bl_message_t *m = c.msg[j];
            uint64_t ts = t0 + (uint64_t)s * 1000000u + j * 1250u;
            if (!c.sends[j])
                continue;
            if (m->dir == BL_DIR_I2B) { /* the inverter's keep-alive, half a second later */
                ts += 500000u;
            }
            if (bl_can_encode(&c, m, 0, &r, now_ms, 0, BL_ENC_CLAMP, &f, NULL) < 0)
                continue;
            emit(&f, ts);
            if (frames > 0 && ++emitted >= frames)
                return 0;
        }
        if (malformed && s == seconds / 3) {
            printf("(%llu.%06u) can0 351#1402E8\n", (unsigned long long)(t0 / 1000000u) + (unsigned long long)s, 900000u);
            printf("(%llu.%06u) can0 351#1402E803E8032C0100\n", (unsigned long long)(t0 / 1000000u) + (unsigned long long)s, 910000u);
            printf("(%llu.%06u) can0 123#DEADBEEF\n", (unsigned long long)(t0 / 1000000u) + (unsigned long long)s, 920000u);
            printf("(%llu.%06u) can0 35#1\n", (unsigned long long)(t0 / 1000000u) + (unsigned long long)s, 930000u);
            printf("(%llu.%06u can0 356\n", (unsigned long long)(t0 / 1000000u) + (unsigned long long)s, 940000u);
        }
    }
    return 0;
}
