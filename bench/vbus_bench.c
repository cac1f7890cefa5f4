/*
 * vbus_bench [FRAMES [LATENCY_FRAMES]]: frames/s through virtual:NAME, written by one thread and read and
 * decoded (Pylon LV into the canonical record) by another, and the time from a write to
 * the frame being decoded, at 1 frame per ms.
 */
#include "live_bench.h"

#include <pthread.h>
#include <time.h>

static uint64_t frames = 1000000;
static uint64_t lat_frames = 2000; /* argv[2] */
static volatile uint64_t consumed;

static void *writer(void *arg)
{
    bl_transport_t *t = arg;
    for (uint64_t i = 0; i < frames; i++) {
        bl_cap_frame_t cf;
        memset(&cf, 0, sizeof cf);
        cf.f = bench_frame(i);
        /* keep the reader's queue from overflowing: the number is delivered frames */
        while (i - __atomic_load_n(&consumed, __ATOMIC_RELAXED) > 4000)
            sched_yield();
        if (bl_transport_write(t, &cf) != 0) {
            fprintf(stderr, "vbus_bench: write: %s\n", t->err);
            exit(1);
        }
    }
    return NULL;
}

static void throughput(void)
{
    bl_transport_t w, r;
    bl_can_codec_t c;
    bl_record_t rec;
    pthread_t th;
    char err[256];
    uint64_t t0, got = 0, decoded = 0;

    if (bl_transport_open(&w, "virtual:bench", 0, err, sizeof err) || bl_transport_open(&r, "virtual:bench", 0, err, sizeof err)) {
        fprintf(stderr, "vbus_bench: %s\n", err);
        exit(1);
    }
    bl_can_codec_init(&c, bl_protocol_find("pylon-lv"));
    bl_record_init(&rec);
    t0 = bl_clock_mono_ns();
    pthread_create(&th, NULL, writer, &w);
    while (got < frames) {
        bl_cap_frame_t f;
        if (bl_transport_read(&r, &f, 1000, NULL) != 1)
            break;
        got++;
        __atomic_store_n(&consumed, got, __ATOMIC_RELAXED);
        decoded += bl_can_decode(&c, &f.f, f.ts_us / 1000u, &rec, NULL) == 0;
    }
    pthread_join(th, NULL);
    double s = (double)(bl_clock_mono_ns() - t0) / 1e9;
    printf("virtual bus: %llu frames written, %llu read and decoded (%llu ok), %llu dropped, in %.3f s: %.0f frames/s\n",
           (unsigned long long)frames, (unsigned long long)got, (unsigned long long)decoded,
           (unsigned long long)r.stats.rx_drop, s, (double)got / s);
    bl_transport_close(&w);
    bl_transport_close(&r);
}

/* ---- latency: one frame per ms; frame i was written at sent_ns[i] ---- */

static uint64_t sent_ns[4096];

static void *pacer(void *arg)
{
    bl_transport_t *t = arg;
    struct timespec ms = { 0, 1000000 };
    for (uint64_t i = 0; i < lat_frames; i++) {
        bl_cap_frame_t cf;
        memset(&cf, 0, sizeof cf);
        cf.f = bench_frame(i);
        sent_ns[i % 4096] = bl_clock_mono_ns();
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        bl_transport_write(t, &cf);
        nanosleep(&ms, NULL);
    }
    return NULL;
}

static void latency(void)
{
    bl_transport_t w, r;
    bl_can_codec_t c;
    bl_record_t rec;
    pthread_t th;
    char err[256];
    static uint64_t lat[2000];
    size_t n = 0;

    bl_transport_open(&w, "virtual:lat", 0, err, sizeof err);
    bl_transport_open(&r, "virtual:lat", 0, err, sizeof err);
    bl_can_codec_init(&c, bl_protocol_find("pylon-lv"));
    bl_record_init(&rec);
    pthread_create(&th, NULL, pacer, &w);
    while (n < lat_frames) {
        bl_cap_frame_t f;
        if (bl_transport_read(&r, &f, 2000, NULL) != 1)
            break;
        bl_can_decode(&c, &f.f, f.ts_us / 1000u, &rec, NULL);
        lat[n] = bl_clock_mono_ns() - sent_ns[n % 4096];
        n++;
    }
    pthread_join(th, NULL);
    bench_latency("virtual bus latency", lat, n);
    bl_transport_close(&w);
    bl_transport_close(&r);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        frames = strtoull(argv[1], NULL, 10);
    if (argc > 2 && strtoull(argv[2], NULL, 10) > 0 && strtoull(argv[2], NULL, 10) <= 2000)
        lat_frames = strtoull(argv[2], NULL, 10);
    throughput();
    latency();
    return 0;
}
