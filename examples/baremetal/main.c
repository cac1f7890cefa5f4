/*
 * Bare-metal bmslink: a battery emulator loop on a Cortex-M4 (qemu mps2-an386).
 * A small pack model changes state every simulated second; bmslink's encoder
 * turns the record into Pylon LV frames (the frames a BMS would put on its CAN
 * peripheral) and the same decoders read them back. Any difference, or an
 * encoder that does not go to the safe state when the data stops, fails the run.
 * Output goes through Arm semihosting; the exit code is the verdict.
 */
#include "bmslink/protocol.h"

#include <stdint.h>
#include <string.h>

#include "semihost.h"

static bl_can_codec_t codec;
static bl_record_t pack, seen;

static void put_uint(char **p, uint32_t v)
{
    char d[10];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        *(*p)++ = d[--n];
}

static void report(const char *what, uint32_t a, uint32_t b)
{
    char line[96], *p = line;
    size_t n = strlen(what);
    memcpy(p, what, n);
    p += n;
    *p++ = ' ';
    put_uint(&p, a);
    *p++ = ' ';
    put_uint(&p, b);
    *p++ = '\n';
    *p = '\0';
    bl_semi_puts(line);
}

/* a 16S 100 Ah pack charging at 50 A, then discharging at 40 A */
static void model(uint32_t s, uint64_t now_ms)
{
    int32_t ma = s < 1800 ? 50000 : -40000;
    int32_t soc = 50000 + (int32_t)((int64_t)(s < 1800 ? s : 3600 - s) * 50000 / 3600 * 50 / 100);
    bl_record_set(&pack, BL_F_SOC, soc / 1000 * 1000, 0, now_ms);
    bl_record_set(&pack, BL_F_SOH, 99000, 0, now_ms);
    bl_record_set(&pack, BL_F_VOLTAGE, 52000 + (int32_t)(s % 400) * 10, 2, now_ms);
    bl_record_set(&pack, BL_F_CURRENT, ma, 1, now_ms);
    bl_record_set(&pack, BL_F_TEMP, 25000 + (int32_t)(s % 50) * 100, 1, now_ms);
    bl_record_set(&pack, BL_F_CVL, 55200, 1, now_ms);
    bl_record_set(&pack, BL_F_CCL, 100000, 1, now_ms);
    bl_record_set(&pack, BL_F_DCL, 100000, 1, now_ms);
    bl_record_set(&pack, BL_F_DVL, 48000, 1, now_ms);
    bl_record_set(&pack, BL_F_CHARGE_ENABLE, 1, 0, now_ms);
    bl_record_set(&pack, BL_F_DISCHARGE_ENABLE, 1, 0, now_ms);
    bl_record_set(&pack, BL_F_MODULE_COUNT, 2, 0, now_ms);
}

static const unsigned compared[] = { BL_F_SOC,  BL_F_SOH, BL_F_VOLTAGE, BL_F_CURRENT, BL_F_TEMP,
                                     BL_F_CVL,  BL_F_CCL, BL_F_DCL,     BL_F_DVL,     BL_F_CHARGE_ENABLE,
                                     BL_F_DISCHARGE_ENABLE, BL_F_MODULE_COUNT };

int main(void)
{
    extern const bl_protocol_t bl_proto_pylon_lv;
    uint32_t frames = 0, bad = 0;

    bl_semi_puts("bmslink bare-metal example: Pylon LV battery emulator on Cortex-M4\n");
    if (bl_can_codec_init(&codec, &bl_proto_pylon_lv) < 0)
        return 1;
    bl_record_init(&pack);
    bl_record_init(&seen);
    for (uint32_t s = 0; s < 3600; s++) {
        uint64_t now = (uint64_t)s * 1000u;
        model(s, now);
        for (unsigned j = 0; j < codec.n; j++) {
            bl_can_frame_t f;
            if (!codec.sends[j] || codec.msg[j]->dir != BL_DIR_B2I)
                continue;
            if (bl_can_encode(&codec, codec.msg[j], 0, &pack, now, 10000, 0, &f, NULL) < 0 ||
                bl_can_decode(&codec, &f, now, &seen, NULL) < 0) {
                bad++;
                continue;
            }
            frames++;
        }
        for (unsigned k = 0; k < BL_ARRAY_LEN(compared); k++)
            if (!seen.f[compared[k]].valid || seen.f[compared[k]].value != pack.f[compared[k]].value) {
                report("mismatch field/second", compared[k], s);
                bad++;
            }
    }
    /* the data stops: 20 s later the encoder must send the safe state */
    {
        bl_can_frame_t f;
        bl_encoded_t res;
        bl_can_encode(&codec, codec.msg[0], 0, &pack, 3620000u, 10000, 0, &f, &res);
        if (f.id != 0x351 || f.data[2] || f.data[3] || f.data[4] || f.data[5] || !(res.substituted & BL_BIT(BL_F_CCL))) {
            bl_semi_puts("stale limits were not replaced by the safe state\n");
            bad++;
        }
    }
    report("frames encoded and decoded, mismatches:", frames, bad);
    bl_semi_puts(bad ? "FAIL\n" : "PASS\n");
    return bad ? 1 : 0;
}
