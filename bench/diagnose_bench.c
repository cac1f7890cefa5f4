/*
 * diagnose_bench [FRAMES]: the diagnosis engine on a FRAMES-frame candump -L capture held
 * in memory (default 1 000 000): split into lines, parse (bl_capture_parse), diagnose
 * (bl_diag_frame, bl_diag_finish). The capture is a Pylon LV site over hours with what
 * the analysers look for: current steps, limit changes, alarms, silences, error frames,
 * malformed lines. Building the text is not timed; the rest runs on one core.
 *
 * Prints CPU and wall time, frames/s, and the engine's memory, which is the same for any
 * length of capture (the instance, the 400-frame sample, the findings, the timeline).
 */
#include "bmslink/capture.h"
#include "bmslink/diagnose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t put(char *buf, size_t at, const bl_cap_frame_t *f)
{
    int n = bl_capture_format_log(f, buf + at, 128);
    if (n < 0)
        return at;
    buf[at + (size_t)n] = '\n';
    return at + (size_t)n + 1u;
}

/* the capture: 7 frames a second, a minute of error frames and malformed lines now and then */
static char *make(unsigned long frames, size_t *len)
{
    char *buf = malloc((size_t)frames * 48u + 4096u);
    size_t at = 0;
    unsigned long k = 0;
    uint64_t t_us = UINT64_C(1718000000000000);
    int32_t i_dA = 0;
    int64_t q_dAs = 0; /* charge counted, 0.1 A x s: a 200 Ah pack moves 1 % per 72 000 */
    bl_cap_frame_t f;

    if (buf == NULL)
        return NULL;
    memset(&f, 0, sizeof f);
    f.has_ts = 1;
    strcpy(f.bus, "can0");
    for (unsigned long s = 0; k < frames; s++, t_us += 1000000u) {
        int ccl = (s / 600) % 3 == 2 ? 200 : 1000; /* a derating every half hour */
        int v;
        int32_t soc;
        if ((s / 900) % 2 == 0)
            i_dA = i_dA < 400 ? i_dA + 40 : 400 + (int)(s % 7);
        else
            i_dA = i_dA > -400 ? i_dA - 40 : -400 - (int)(s % 5);
        q_dAs += i_dA;
        soc = 50 + (int32_t)(q_dAs / 72000);
        v = 5200 + i_dA * 8 / 100 + soc * 2; /* 8 mOhm and a slope of the OCV */
        if (s % 5000 > 4985) /* a 15 s silence every 5000 s */
            continue;
        {
            const uint8_t l[8] = { 0x14, 0x02, (uint8_t)ccl, (uint8_t)(ccl >> 8), 0xE8, 0x03, 0xE0, 0x01 };
            const uint8_t c[4] = { (uint8_t)soc, 0, 99, 0 };
            const uint8_t m[6] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)i_dA, (uint8_t)(i_dA >> 8), 0xFA, 0 };
            const uint8_t a[7] = { 0, 0, (uint8_t)(s % 3000 < 20 ? 0x02 : 0), 0, 2, 'P', 'N' };
            const uint8_t e[2] = { 0xC0, 0 };
            const uint8_t n[8] = { 'P', 'Y', 'L', 'O', 'N', ' ', ' ', ' ' };
            const uint8_t z[8] = { 0 };
            const struct { uint32_t id; const uint8_t *d; uint8_t n; uint32_t dt; } row[] = {
                { 0x351, l, 8, 0 }, { 0x355, c, 4, 1250 }, { 0x356, m, 6, 2500 }, { 0x359, a, 7, 3750 },
                { 0x35C, e, 2, 5000 }, { 0x35E, n, 8, 6250 }, { 0x305, z, 8, 500000 } };
            for (size_t r = 0; r < sizeof row / sizeof row[0] && k < frames; r++, k++) {
                f.ts_us = t_us + row[r].dt;
                f.f.id = row[r].id;
                f.f.flags = 0;
                f.f.len = row[r].n;
                memcpy(f.f.data, row[r].d, row[r].n);
                at = put(buf, at, &f);
            }
        }
        if (s % 7200 == 100 && k < frames) { /* a bus error */
            f.ts_us = t_us + 700000u;
            f.f.id = 0x088;
            f.f.flags = BL_CAN_ERR;
            f.f.len = 8;
            memset(f.f.data, 0, 8);
            at = put(buf, at, &f);
            k++;
        }
        if (s % 9000 == 200)
            at += (size_t)sprintf(buf + at, "(%llu.800000) can0 35#1\n", (unsigned long long)(t_us / 1000000u));
    }
    *len = at;
    return buf;
}

int main(int argc, char **argv)
{
    unsigned long frames = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000ul;
    static bl_diag_t d;
    static bl_cap_frame_t sample[400];
    static uint64_t sample_line[400];
    static bl_diag_finding_t out[48];
    static bl_diag_bucket_t tl[600];
    bl_diag_cfg_t cfg;
    bl_capture_t cap;
    size_t len = 0, start = 0, nf;
    uint64_t line = 0, parsed = 0;
    double c0, w0, cpu, wall;
    char *buf = make(frames, &len);

    if (buf == NULL || frames == 0) {
        fprintf(stderr, "diagnose_bench: out of memory\n");
        return 1;
    }
    memset(&cfg, 0, sizeof cfg);
    c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    w0 = now_s(CLOCK_MONOTONIC);
    if (bl_diag_init(&d, &cfg, sample, sample_line, 400, out, 48) < 0)
        return 1;
    bl_diag_timeline(&d, tl, 600);
    bl_capture_init(&cap, BL_FMT_AUTO);
    for (size_t i = 0; i < len; i++) {
        bl_cap_frame_t f;
        bl_line_err_t e;
        int rc;
        if (buf[i] != '\n')
            continue;
        line++;
        rc = bl_capture_parse(&cap, buf + start, i - start, &f, &e);
        if (rc == 1) {
            bl_diag_frame(&d, &f, line);
            parsed++;
        } else if (rc < 0) {
            bl_diag_bad_line(&d, line, e.why);
        }
        start = i + 1;
    }
    nf = bl_diag_finish(&d);
    cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    wall = now_s(CLOCK_MONOTONIC) - w0;
    printf("diagnose_bench: %llu frames (%.1f MB candump -L, %llu lines), protocol %s, %zu findings, loop %s\n",
           (unsigned long long)parsed, (double)len / 1e6, (unsigned long long)line, d.p ? d.p->name : "none", nf,
           bl_diag_loop_str(d.loop));
    printf("  parse + diagnose: %.3f s CPU, %.3f s wall, %.0f frames/s, %.0f ns/frame (one core)\n", cpu, wall,
           (double)parsed / cpu, cpu * 1e9 / (double)parsed);
    printf("  engine memory: %zu bytes, the same for any length (instance %zu, sample %zu, findings %zu, "
           "timeline %zu)\n",
           sizeof d + sizeof sample + sizeof sample_line + sizeof out + sizeof tl, sizeof d,
           sizeof sample + sizeof sample_line, sizeof out, sizeof tl);
    for (size_t i = 0; i < nf; i++)
        printf("  %-7s %s (%s)\n", bl_diag_severity_str(out[i].severity), bl_diag_problem_str(out[i].problem),
               out[i].id);
    free(buf);
    return cpu < 1.0 || frames < 1000000ul ? 0 : 1;
}
