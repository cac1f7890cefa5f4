/*
 * slcan_bench [FRAMES [LATENCY_FRAMES]]: frames/s through the slcan path — a pseudo-terminal pair, the
 * adapter's side played by a thread that answers the open sequence and then writes
 * Lawicel lines as fast as the pty takes them, bmslink's slcan transport reading,
 * parsing and the Pylon LV table decoding into the canonical record — and the time from
 * a line being written to the pty to its frame being decoded, at 1 frame per ms.
 */
#include "bmslink/slcan.h"
#include "live_bench.h"

#include <fcntl.h>
#include <pthread.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static uint64_t frames = 200000;
static int master = -1;
static volatile int adapter_ready;
static int paced; /* 1: one frame per ms (latency), 0: as fast as possible */
static uint64_t sent_ns[4096];

static void put(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(master, s, n);
        if (w > 0) {
            s += w;
            n -= (size_t)w;
        }
    }
}

/* Answer commands until the channel is open (CR, V with a version), then play frames. */
static void *adapter(void *arg)
{
    char line[64], big[64 * 1024];
    size_t ll = 0, bl = 0;
    struct timespec ms = { 0, 1000000 };
    (void)arg;
    for (int open = 0; !open;) {
        char c;
        if (read(master, &c, 1) != 1)
            continue;
        if (c != '\r') {
            if (ll < sizeof line - 1)
                line[ll++] = c;
            continue;
        }
        if (ll == 1 && line[0] == 'V')
            put("V1013\r", 6);
        else if (ll > 0)
            put("\r", 1);
        open = ll == 1 && line[0] == 'O';
        ll = 0;
    }
    adapter_ready = 1;
    for (uint64_t i = 0; i < frames; i++) {
        bl_can_frame_t f = bench_frame(i);
        int n = bl_slcan_format(&f, big + bl, sizeof big - bl);
        bl += (size_t)n;
        if (paced) {
            sent_ns[i % 4096] = bl_clock_mono_ns();
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            put(big, bl);
            bl = 0;
            nanosleep(&ms, NULL);
        } else if (bl > sizeof big - BL_SLCAN_LINE_MAX) {
            put(big, bl);
            bl = 0;
        }
    }
    put(big, bl);
    return NULL;
}

static void run(const char *what)
{
    bl_transport_t t;
    bl_can_codec_t c;
    bl_record_t rec;
    pthread_t th;
    char err[256], uri[128];
    uint64_t got = 0, decoded = 0, t0;
    static uint64_t lat[4096];
    size_t n = 0;
    struct termios tio;

    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
        perror("slcan_bench: pty");
        exit(1);
    }
    tcgetattr(master, &tio);
    cfmakeraw(&tio);
    tcsetattr(master, TCSANOW, &tio);
    adapter_ready = 0;
    pthread_create(&th, NULL, adapter, NULL);
    snprintf(uri, sizeof uri, "slcan:%s@500000", ptsname(master));
    if (bl_transport_open(&t, uri, 0, err, sizeof err) != 0) {
        fprintf(stderr, "slcan_bench: %s\n", err);
        exit(1);
    }
    bl_can_codec_init(&c, bl_protocol_find("pylon-lv"));
    bl_record_init(&rec);
    t0 = bl_clock_mono_ns();
    while (got < frames) {
        bl_cap_frame_t f;
        bl_line_err_t le;
        int rc = bl_transport_read(&t, &f, 2000, &le);
        if (rc == 0 || (rc < 0 && rc != BL_EBADMSG)) {
            fprintf(stderr, "slcan_bench: read stopped after %llu frames: %s (%s), %llu lost\n", (unsigned long long)got,
                    rc == 0 ? "nothing for 2 s" : bl_strerror(rc), t.err, (unsigned long long)t.stats.rx_drop);
            break;
        }
        if (rc != 1)
            continue;
        decoded += bl_can_decode(&c, &f.f, f.ts_us / 1000u, &rec, NULL) == 0;
        if (paced && n < 2000)
            lat[n++] = bl_clock_mono_ns() - sent_ns[got % 4096];
        got++;
    }
    double s = (double)(bl_clock_mono_ns() - t0) / 1e9;
    pthread_join(th, NULL);
    if (paced)
        bench_latency(what, lat, n);
    else
        printf("%s: %llu lines written, %llu frames read and decoded (%llu ok), %llu malformed, in %.3f s: %.0f frames/s\n",
               what, (unsigned long long)frames, (unsigned long long)got, (unsigned long long)decoded,
               (unsigned long long)t.stats.rx_bad, s, (double)got / s);
    bl_transport_close(&t);
    close(master);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        frames = strtoull(argv[1], NULL, 10);
    run("slcan pty");
    paced = 1;
    frames = 2000;
    if (argc > 2 && strtoull(argv[2], NULL, 10) > 0 && strtoull(argv[2], NULL, 10) <= 2000)
        frames = strtoull(argv[2], NULL, 10);
    run("slcan pty latency");
    return 0;
}
