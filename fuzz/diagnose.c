/*
 * Fuzz the whole diagnose path: a random log through the capture parser (or as raw CAN
 * frames, or as RS485 bytes) into the diagnosis engine, then its conclusions. Never a
 * crash, never a hang (the engine is linear in the frames), and what it says holds
 * together: findings fit the array, each has a cause, a fix, at most 5 evidence lines
 * that name lines of the input, and a severity and loop verdict from the vocabulary.
 *
 * First byte: bits 0-1 the path (0, 1 capture text, 2 raw frames, 3 RS485 bytes),
 * bits 2-7 pick the protocol the site is set to (0: detect; CAN or RS485 by the path).
 */
#include "bmslink/diagnose.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SAMPLE 64

static bl_diag_t d;
static bl_cap_frame_t sample[SAMPLE];
static uint64_t sample_line[SAMPLE];
static bl_diag_finding_t out[8];
static bl_diag_bucket_t tl[16];

static const bl_protocol_t *pick(unsigned k, bool can)
{
    size_t n, seen = 0;
    const bl_protocol_t *const *all = bl_protocols(&n);
    if (k == 0)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned bus = bl_proto_root(all[i])->bus;
        if ((bus == BL_BUS_CAN) != can || bus == BL_BUS_MODBUS)
            continue;
        if (++seen == k)
            return all[i];
    }
    return NULL;
}

static void check(uint64_t lines)
{
    size_t n = bl_diag_finish(&d);
    if (n > BL_ARRAY_LEN(out) || d.loop > BL_LOOP_CLOSED)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        const bl_diag_finding_t *f = &out[i];
        if (f->problem >= BL_DP_COUNT || f->severity >= BL_DSEV_COUNT || f->nev > BL_DIAG_EV_MAX ||
            f->cause[0] == '\0' || f->fix[0] == '\0' || f->id == NULL ||
            memchr(f->cause, '\0', sizeof f->cause) == NULL)
            __builtin_trap();
        for (unsigned e = 0; e < f->nev; e++)
            if (f->ev[e].line == 0 || f->ev[e].line > lines || (e > 0 && f->ev[e].line < f->ev[e - 1].line))
                __builtin_trap();
    }
    if (bl_diag_timeline_len(&d) > BL_ARRAY_LEN(tl))
        __builtin_trap();
}

static void text(const uint8_t *p, size_t n)
{
    bl_capture_t c;
    size_t start = 0;
    uint64_t line = 0;
    bl_capture_init(&c, BL_FMT_AUTO);
    for (size_t i = 0; i <= n; i++) {
        bl_cap_frame_t f;
        bl_line_err_t e;
        int rc;
        if (i < n && p[i] != '\n')
            continue;
        line++;
        rc = bl_capture_parse(&c, (const char *)p + start, i - start, &f, &e);
        if (rc == 1)
            bl_diag_frame(&d, &f, line);
        else if (rc < 0)
            bl_diag_bad_line(&d, line, e.why);
        start = i + 1;
    }
    check(line);
}

/* 14-byte records: time step (ms, 2 bytes), id (4, bit 31 = 29-bit, bit 30 = error frame),
 * length, 7 data bytes (the 8th repeats the 7th) */
static void frames(const uint8_t *p, size_t n)
{
    uint64_t t_us = UINT64_C(1700000000000000), line = 0;
    for (size_t at = 0; at + 14 <= n; at += 14) {
        bl_cap_frame_t f;
        uint32_t id = (uint32_t)p[at + 2] << 24 | (uint32_t)p[at + 3] << 16 | (uint32_t)p[at + 4] << 8 | p[at + 5];
        memset(&f, 0, sizeof f);
        t_us += ((uint64_t)p[at] << 8 | p[at + 1]) * 1000u;
        f.ts_us = t_us;
        f.has_ts = (p[at] & 0x80u) ? 0 : 1;
        f.f.flags = (uint8_t)(((id >> 31) ? BL_CAN_EXT : 0u) | (((id >> 30) & 1u) ? BL_CAN_ERR : 0u));
        f.f.id = id & ((f.f.flags & BL_CAN_EXT) ? BL_CAN_EFF_MASK : BL_CAN_SFF_MASK);
        f.f.len = (uint8_t)(p[at + 6] % 9u);
        memcpy(f.f.data, p + at + 7, 7);
        f.f.data[7] = f.f.data[6];
        bl_diag_frame(&d, &f, ++line);
    }
    check(line);
}

/* lines of bytes; a line break is 0x0A */
static void rs485(const uint8_t *p, size_t n)
{
    size_t start = 0;
    uint64_t line = 0, t_us = UINT64_C(1700000000000000);
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '\n')
            continue;
        line++;
        t_us += 100000u;
        bl_diag_bytes(&d, p + start, i - start, t_us, (line % 7u) != 0, line);
        start = i + 1;
    }
    check(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bl_diag_cfg_t cfg;
    unsigned path;

    if (size < 1)
        return 0;
    path = data[0] & 3u;
    memset(&cfg, 0, sizeof cfg);
    cfg.proto = pick(data[0] >> 2, path != 3);
    if (path == 3 && cfg.proto == NULL)
        cfg.proto = bl_protocol_find("pylon-rs485");
    if (bl_diag_init(&d, &cfg, sample, sample_line, SAMPLE, out, BL_ARRAY_LEN(out)) < 0)
        return 0;
    bl_diag_timeline(&d, tl, BL_ARRAY_LEN(tl));
    if (path == 2)
        frames(data + 1, size - 1);
    else if (path == 3)
        rs485(data + 1, size - 1);
    else
        text(data + 1, size - 1);
    return 0;
}
