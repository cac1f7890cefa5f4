/*
 * gw_bench [SIM_SECONDS [SPEEDUP [POLLS]]]: the gateway engine on the in-process virtual bus.
 * (POLLS also scales the throughput run: 400 frames per poll.)
 *
 *  1. latency: an inverter thread polls a Pylon HV battery (0x4200 byte 0 = 0) on
 *     virtual:gwb-inv every millisecond; the gateway thread reads the poll, runs the engine
 *     and writes the 9-frame answer burst (one Pylon LV pack behind it on virtual:gwb-pack).
 *     Reported: the time the engine adds (poll read -> first answer handed to the transport,
 *     inside the gateway thread) and the whole round trip (poll written -> first answer read).
 *  2. throughput: the engine alone, 4 Pylon LV packs into an SMA SI, frames/s.
 *  3. saturation: one pack's frames on a saturated 500 kbit/s bus (back to back, 47 + 8 x DLC
 *     bits each, no stuffing: the most frames per second such a bus carries) for SIM_SECONDS
 *     of simulated time (default 600), written SPEEDUP times faster than real time (default 25)
 *     into virtual:gwb-sat, read by the gateway thread that runs the engine in the simulated
 *     time and writes an SMA SI to virtual:gwb-si. Every frame must arrive and be handled
 *     (dropped 0), and the SI must get every message every second of the simulated time.
 *
 * Exit 1 when a frame was dropped or the output missed a period.
 */
#include "bmslink/gateway.h"
#include "live_bench.h"

#include <pthread.h>
#include <time.h>

static uint64_t sim_seconds = 600, speedup = 25, polls = 5000;

static void die(const char *what, const char *err)
{
    fprintf(stderr, "gw_bench: %s: %s\n", what, err);
    exit(1);
}

static void open_t(bl_transport_t *t, const char *uri)
{
    char err[256];
    if (bl_transport_open(t, uri, 0, err, sizeof err) < 0)
        die(uri, err);
}

static void nap_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    nanosleep(&ts, NULL);
}

/* ---- 1. latency ---- */

typedef struct {
    bl_transport_t *t;
    uint64_t read_ns;   /* when the frame being handled was read */
    uint64_t *added;    /* engine-added latency samples */
    size_t nadded, cap;
    bool first_of_burst;
} lat_gw_t;

static void lat_tx(void *ctx, unsigned port, const bl_can_frame_t *f, const bl_gw_txinfo_t *info)
{
    lat_gw_t *g = ctx;
    bl_cap_frame_t cf;
    (void)info;
    if (port != BL_GW_INVERTER)
        return;
    /* the engine's part ends when it hands the answer to the transport (the write that follows
     * wakes the other thread, and the scheduler's share of that is in the round trip) */
    if (g->first_of_burst && g->nadded < g->cap) {
        g->added[g->nadded++] = bl_clock_mono_ns() - g->read_ns;
        g->first_of_burst = false;
    }
    memset(&cf, 0, sizeof cf);
    cf.f = *f;
    if (bl_transport_write(g->t, &cf) != 0)
        die("gateway write", g->t->err);
}

static volatile int lat_stop;
static uint64_t *rtt;
static size_t nrtt;

static void *inverter(void *arg)
{
    bl_transport_t *t = arg;
    bl_cap_frame_t poll, got;

    memset(&poll, 0, sizeof poll);
    poll.f.id = 0x4200;
    poll.f.flags = BL_CAN_EXT;
    poll.f.len = 8;
    nap_ns(50000000); /* let the gateway see the pack first */
    for (uint64_t i = 0; i < polls; i++) {
        uint64_t t0 = bl_clock_mono_ns();
        unsigned answers = 0;
        if (bl_transport_write(t, &poll) != 0)
            die("inverter write", t->err);
        while (answers < 9 && bl_transport_read(t, &got, 1000, NULL) == 1) {
            if (answers++ == 0 && got.f.id == 0x4210)
                rtt[nrtt++] = bl_clock_mono_ns() - t0;
        }
        if (answers < 9)
            die("latency", "the gateway did not answer a poll with the 9-frame burst");
        nap_ns(1000000);
    }
    lat_stop = 1;
    return NULL;
}

static void latency(void)
{
    static bl_gw_pack_t packs[1];
    static bl_gw_t gw;
    bl_transport_t inv, gwi, pack, gwp;
    bl_gw_cfg_t cfg;
    lat_gw_t g;
    pthread_t th;
    uint64_t sent_pack = 0;

    open_t(&inv, "virtual:gwb-inv");
    open_t(&gwi, "virtual:gwb-inv");
    open_t(&pack, "virtual:gwb-pack");
    open_t(&gwp, "virtual:gwb-pack");
    memset(&g, 0, sizeof g);
    g.t = &gwi;
    g.cap = polls;
    g.added = calloc(polls, sizeof *g.added);
    rtt = calloc(polls, sizeof *rtt);
    memset(&cfg, 0, sizeof cfg);
    cfg.out = bl_protocol_find("pylon-hv");
    cfg.tx = lat_tx;
    cfg.ctx = &g;
    bl_gw_pack_init(&packs[0], bl_protocol_find("pylon-lv"), 0);
    bl_gw_init(&gw, &cfg, packs, 1, bl_clock_mono_ms());
    for (unsigned i = 0; i < 6; i++) { /* one whole cycle of the pack: the output may begin */
        bl_cap_frame_t cf;
        memset(&cf, 0, sizeof cf);
        cf.f = bench_frame(i);
        bl_transport_write(&pack, &cf);
    }
    pthread_create(&th, NULL, inverter, &inv);
    while (!lat_stop) {
        bl_cap_frame_t cf;
        uint64_t now = bl_clock_mono_ms();
        /* the pack keeps talking once a second */
        if (now / 1000u != sent_pack) {
            sent_pack = now / 1000u;
            for (unsigned i = 0; i < 6; i++) {
                bl_cap_frame_t pf;
                memset(&pf, 0, sizeof pf);
                pf.f = bench_frame(i);
                bl_transport_write(&pack, &pf);
            }
        }
        while (bl_transport_read(&gwp, &cf, 0, NULL) == 1)
            bl_gw_rx(&gw, 0, &cf.f, bl_clock_mono_ms());
        if (bl_transport_read(&gwi, &cf, 20, NULL) == 1) {
            g.read_ns = bl_clock_mono_ns();
            g.first_of_burst = true;
            bl_gw_rx(&gw, BL_GW_INVERTER, &cf.f, bl_clock_mono_ms());
            bl_gw_step(&gw, bl_clock_mono_ms());
        } else {
            bl_gw_step(&gw, bl_clock_mono_ms());
        }
    }
    pthread_join(th, NULL);
    qsort(g.added, g.nadded, sizeof *g.added, bench_cmp_u64);
    printf("latency, engine (poll read -> first answer handed to the bus, pylon-lv pack -> pylon-hv): %zu polls, "
           "p50 %.1f us, p99 %.1f us, max %.1f us\n",
           g.nadded, g.added[g.nadded / 2] / 1e3, g.added[g.nadded * 99 / 100] / 1e3, g.added[g.nadded - 1] / 1e3);
    qsort(rtt, nrtt, sizeof *rtt, bench_cmp_u64);
    printf("latency, round trip on the virtual bus (poll written -> first answer read, two threads): "
           "p50 %.1f us, p99 %.1f us\n", rtt[nrtt / 2] / 1e3, rtt[nrtt * 99 / 100] / 1e3);
    free(g.added);
    free(rtt);
    bl_transport_close(&inv);
    bl_transport_close(&gwi);
    bl_transport_close(&pack);
    bl_transport_close(&gwp);
}

/* ---- 2. throughput of the engine alone ---- */

static uint64_t sink_count;

static void count_tx(void *ctx, unsigned port, const bl_can_frame_t *f, const bl_gw_txinfo_t *info)
{
    (void)ctx;
    (void)port;
    (void)f;
    (void)info;
    sink_count++;
}

static void throughput(void)
{
    static bl_gw_pack_t packs[4];
    static bl_gw_t gw;
    bl_gw_cfg_t cfg;
    const uint64_t n = polls * 400u; /* 2 000 000 with the default POLLS */
    uint64_t t0;

    memset(&cfg, 0, sizeof cfg);
    cfg.out = bl_protocol_find("sma-si");
    cfg.tx = count_tx;
    for (unsigned k = 0; k < 4; k++)
        bl_gw_pack_init(&packs[k], bl_protocol_find("pylon-lv"), 0);
    bl_gw_init(&gw, &cfg, packs, 4, 0);
    t0 = bl_clock_mono_ns();
    for (uint64_t i = 0; i < n; i++) {
        bl_can_frame_t f = bench_frame(i);
        uint64_t now = i / 24u; /* 4 packs x 6 frames per simulated ms: far above any bus */
        bl_gw_rx(&gw, (unsigned)((i / 6u) % 4u), &f, now);
        bl_gw_step(&gw, now);
    }
    double s = (double)(bl_clock_mono_ns() - t0) / 1e9;
    printf("throughput, engine alone (4 pylon-lv packs -> sma-si, rx + step per frame): %llu frames in %.3f s: "
           "%.0f frames/s, %.2f us per frame, %llu frames out\n",
           (unsigned long long)n, s, (double)n / s, s * 1e6 / (double)n, (unsigned long long)sink_count);
}

/* ---- 3. a saturated 500 kbit/s bus for SIM_SECONDS of simulated time ---- */

static uint64_t frame_ns(uint64_t i) /* start of frame i on a back-to-back 500 kbit/s bus */
{
    static uint64_t at_cycle = 0, bits_per_cycle = 0;
    if (bits_per_cycle == 0)
        for (unsigned k = 0; k < 6; k++)
            bits_per_cycle += 47u + 8u * bench_cycle[k].len;
    (void)at_cycle;
    uint64_t bits = (i / 6u) * bits_per_cycle;
    for (unsigned k = 0; k < i % 6u; k++)
        bits += 47u + 8u * bench_cycle[k].len;
    return bits * 2000u; /* 2 us per bit at 500 kbit/s */
}

static uint64_t sat_frames;
static volatile uint64_t sat_written;

static void *sat_writer(void *arg)
{
    bl_transport_t *t = arg;
    uint64_t start = bl_clock_mono_ns();
    for (uint64_t i = 0; i < sat_frames; i++) {
        bl_cap_frame_t cf;
        uint64_t due = start + frame_ns(i) / speedup;
        for (uint64_t now = bl_clock_mono_ns(); now < due; now = bl_clock_mono_ns())
            if (due - now > 200000) /* sleep most of the wait, spin the last 0.1 ms */
                nap_ns(due - now - 100000);
        memset(&cf, 0, sizeof cf);
        cf.f = bench_frame(i);
        if (bl_transport_write(t, &cf) != 0)
            die("saturation write", t->err);
        __atomic_store_n(&sat_written, i + 1, __ATOMIC_RELEASE);

    }
    return NULL;
}

typedef struct {
    bl_transport_t *t;
    uint64_t out;
    uint64_t per_id[BL_CAN_MAX_MSGS];
    uint32_t ids[BL_CAN_MAX_MSGS];
    unsigned nids;
} sat_out_t;

static void sat_tx(void *ctx, unsigned port, const bl_can_frame_t *f, const bl_gw_txinfo_t *info)
{
    sat_out_t *o = ctx;
    bl_cap_frame_t cf;
    unsigned k;
    (void)info;
    if (port != BL_GW_INVERTER)
        return;
    memset(&cf, 0, sizeof cf);
    cf.f = *f;
    if (bl_transport_write(o->t, &cf) != 0)
        die("saturation output", o->t->err);
    o->out++;
    for (k = 0; k < o->nids && o->ids[k] != f->id; k++)
        ;
    if (k == o->nids && o->nids < BL_CAN_MAX_MSGS)
        o->ids[o->nids++] = f->id;
    if (k < BL_CAN_MAX_MSGS)
        o->per_id[k]++;
}

static int saturation(void)
{
    static bl_gw_pack_t packs[1];
    static bl_gw_t gw;
    bl_transport_t w, r, si, inv;
    bl_gw_cfg_t cfg;
    sat_out_t o;
    pthread_t th;
    uint64_t got = 0, t0, inv_got = 0, handled = 0;
    int fail = 0;

    sat_frames = 0;
    while (frame_ns(sat_frames) < sim_seconds * 1000000000u)
        sat_frames++;
    open_t(&w, "virtual:gwb-sat");
    open_t(&r, "virtual:gwb-sat");
    open_t(&si, "virtual:gwb-si");
    open_t(&inv, "virtual:gwb-si");
    memset(&o, 0, sizeof o);
    o.t = &si;
    memset(&cfg, 0, sizeof cfg);
    cfg.out = bl_protocol_find("sma-si");
    cfg.tx = sat_tx;
    cfg.ctx = &o;
    bl_gw_pack_init(&packs[0], bl_protocol_find("pylon-lv"), 0);
    bl_gw_init(&gw, &cfg, packs, 1, 0);
    t0 = bl_clock_mono_ns();
    pthread_create(&th, NULL, sat_writer, &w);
    while (got < sat_frames) {
        bl_cap_frame_t cf;
        int rc = bl_transport_read(&r, &cf, 2000, NULL);
        if (rc != 1)
            break;
        uint64_t sim_ms = frame_ns(got) / 1000000u; /* the time this frame was on the simulated bus */
        got++;
        handled += bl_gw_rx(&gw, 0, &cf.f, sim_ms) == 0;
        bl_gw_step(&gw, sim_ms);
        while (bl_transport_read(&inv, &cf, 0, NULL) == 1) /* the SI reads what it gets */
            inv_got++;
    }
    pthread_join(th, NULL);
    bl_gw_step(&gw, sim_seconds * 1000u);
    {
        bl_cap_frame_t cf;
        while (bl_transport_read(&inv, &cf, 0, NULL) == 1)
            inv_got++;
    }
    double s = (double)(bl_clock_mono_ns() - t0) / 1e9;
    printf("saturation, 500 kbit/s back to back (%.0f frames/s) for %llu simulated s at %llux: %llu frames written, "
           "%llu read, %llu decoded, %llu dropped (queue overflow), in %.1f s real\n",
           (double)sat_frames / (double)sim_seconds, (unsigned long long)sim_seconds, (unsigned long long)speedup,
           (unsigned long long)sat_frames, (unsigned long long)got, (unsigned long long)handled,
           (unsigned long long)r.stats.rx_drop, s);
    printf("saturation, output: %llu SMA SI frames (%llu read by the inverter endpoint, %llu dropped), per id:",
           (unsigned long long)o.out, (unsigned long long)inv_got, (unsigned long long)inv.stats.rx_drop);
    for (unsigned k = 0; k < o.nids; k++) {
        printf(" 0x%03X %llu", (unsigned)o.ids[k], (unsigned long long)o.per_id[k]);
        /* every message once a simulated second (+1 for the last step, + early frames: none here) */
        if (o.per_id[k] + 1 < sim_seconds || o.per_id[k] > sim_seconds + 1) {
            fprintf(stderr, "gw_bench: 0x%03X sent %llu times in %llu simulated s\n", (unsigned)o.ids[k],
                    (unsigned long long)o.per_id[k], (unsigned long long)sim_seconds);
            fail = 1;
        }
    }
    printf("\n");
    if (r.stats.rx_drop || got != sat_frames || handled != sat_frames || inv_got != o.out || inv.stats.rx_drop) {
        fprintf(stderr, "gw_bench: %llu of %llu frames read, %llu handled, %llu + %llu dropped, %llu of %llu out read\n",
                (unsigned long long)got, (unsigned long long)sat_frames, (unsigned long long)handled,
                (unsigned long long)r.stats.rx_drop, (unsigned long long)inv.stats.rx_drop, (unsigned long long)inv_got,
                (unsigned long long)o.out);
        fail = 1;
    }
    if (fail)
        fprintf(stderr, "gw_bench: saturation: frames lost or an output period missed\n");
    bl_transport_close(&w);
    bl_transport_close(&r);
    bl_transport_close(&si);
    bl_transport_close(&inv);
    return fail;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1)
        sim_seconds = strtoull(argv[1], NULL, 10);
    if (argc > 2)
        speedup = strtoull(argv[2], NULL, 10);
    if (argc > 3)
        polls = strtoull(argv[3], NULL, 10);
    if (sim_seconds == 0 || speedup == 0 || polls == 0) {
        fprintf(stderr, "usage: gw_bench [SIM_SECONDS [SPEEDUP [POLLS]]]\n");
        return 2;
    }
    latency();
    throughput();
    return saturation();
}
