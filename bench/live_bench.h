/* Shared pieces of the live-transport benchmarks: frames to send, latency statistics. */
#ifndef BL_LIVE_BENCH_H
#define BL_LIVE_BENCH_H

#include "bmslink/protocol.h"
#include "bmslink/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One Pylon LV cycle (can-pylon-lv.md §3): what a battery broadcasts every second. */
static const struct {
    uint32_t id;
    uint8_t len;
    uint8_t d[8];
} bench_cycle[6] = {
    { 0x351, 8, { 0x14, 0x02, 0xE8, 0x03, 0xB0, 0x04, 0xD6, 0x01 } },
    { 0x355, 4, { 0x4C, 0x00, 0x63, 0x00 } },
    { 0x356, 6, { 0x75, 0x14, 0x83, 0xFF, 0xEA, 0x00 } },
    { 0x359, 7, { 0x00, 0x00, 0x00, 0x00, 0x02, 0x50, 0x4E } },
    { 0x35C, 2, { 0xC0, 0x00 } },
    { 0x35E, 8, { 'P', 'Y', 'L', 'O', 'N', ' ', ' ', ' ' } },
};

static inline bl_can_frame_t bench_frame(uint64_t i)
{
    bl_can_frame_t f;
    memset(&f, 0, sizeof f);
    f.id = bench_cycle[i % 6].id;
    f.len = bench_cycle[i % 6].len;
    memcpy(f.data, bench_cycle[i % 6].d, f.len);
    return f;
}

static int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* "latency ... p50 p99 max" in microseconds from nanosecond samples (sorted in place). */
static inline void bench_latency(const char *what, uint64_t *ns, size_t n)
{
    if (n == 0) {
        printf("%s: no samples\n", what);
        return;
    }
    qsort(ns, n, sizeof *ns, bench_cmp_u64);
    printf("%s: %zu frames, frame written -> record decoded: min %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us\n",
           what, n, ns[0] / 1e3, ns[n / 2] / 1e3, ns[n * 99 / 100] / 1e3, ns[n - 1] / 1e3);
}

#endif
