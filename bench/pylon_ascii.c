/*
 * How fast is the Pylontech ASCII parser? Builds a stream of real frames from the
 * fact sheet (PYL-01/06/03/12/05: requests, a single-pack and a 3-pack analog reply,
 * a 0x92 exchange) repeated to BYTES, then measures, over REPEAT passes:
 *   framer   bl_stream_push in 4 KiB chunks: frames found, LENID/LCHKSUM/CHKSUM checked
 *   decode   framer + session (request/answer matching) + layout decode into the record
 * usage: bench_pylon_ascii [MBYTES=16] [REPEAT=5]     (prints MB/s, best of REPEAT)
 */
#include "bmslink/rs485.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const frames[] = {
    "~20024642E00202FD33",
    "~20024600F07A00020F0D170D140D150D150D180D170D140D150D150D180D170D140D150D150D18050C0B0BEF0BF00BED0C0B00C9C447FFFF04"
    "FFFF00120172B90186A0E2D1",
    "~20024642E002FFFD09",
    "~20024600914211030F0CE70CE80CE60CE70CE80CE80CE80CE60CE50CE60CE80CE70CEA0CE50CE6050B910B870B870B870B87FFE6C18982DC02"
    "C350001F0F0CE20CE60CE60CE10CE50CE70CE60CE30CE20CE50CE30CE90CE70CE90CE9050B910B870B870B870B87FFE7C17082DC02C350001F0F"
    "0CE20CE50CE50CE20CE30CE30CE40CE50CE60CE60CE30CE40CE40CE60CE6050B910B7D0B7D0B7D0B7DFFE5C16082DC02C350001FB476",
    "~20024692E00202FD2E",
    "~20024600B014026EF05AA0022BFDD5C0F915",
};

typedef struct {
    bool decode;
    bl_rs_session_t sess;
    bl_record_t rec, packs[BL_RS_MAX_PACKS];
    uint8_t info[2048];
    uint64_t frames, decoded, bad;
} ctx_t;

static void on_ev(void *p, const bl_stream_ev_t *ev)
{
    ctx_t *c = p;
    bl_rs_frame_t f;
    bl_rsr_t why;
    if (ev->kind != BL_SEV_FRAME) {
        c->bad++;
        return;
    }
    c->frames++;
    if (!c->decode)
        return;
    if (bl_rs_session_frame(&c->sess, ev->data, ev->len, c->info, sizeof c->info, &f, &why) == 0 && !f.request &&
        f.msg != NULL &&
        bl_rs_decode(c->sess.c, f.msg, f.pl, f.plen, f.group ? 1 : -1, 0, &c->rec, c->packs, BL_RS_MAX_PACKS, NULL) == 0)
        c->decoded++;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double run(const uint8_t *buf, size_t len, bool decode, ctx_t *c)
{
    static uint8_t fb[BL_STREAM_PYLON_MAX + 64];
    bl_stream_t st;
    double t0;
    memset(c, 0, sizeof *c);
    c->decode = decode;
    bl_rs_session_init(&c->sess, bl_protocol_find("pylon-rs485"));
    bl_record_init(&c->rec);
    bl_stream_init(&st, BL_FRAMING_PYLON, fb, sizeof fb, on_ev, c);
    t0 = now_s();
    for (size_t i = 0; i < len; i += 4096)
        bl_stream_push(&st, buf + i, len - i < 4096 ? len - i : 4096);
    bl_stream_flush(&st);
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 16, len = 0, cap = mb << 20;
    int repeat = argc > 2 ? atoi(argv[2]) : 5;
    uint8_t *buf = malloc(cap + 4096);
    double best[2] = { 1e9, 1e9 };
    ctx_t *c = malloc(sizeof *c);

    if (buf == NULL || c == NULL || mb == 0 || repeat < 1)
        return 2;
    while (len < cap)
        for (size_t i = 0; i < sizeof frames / sizeof frames[0] && len < cap; i++) {
            size_t n = strlen(frames[i]);
            memcpy(buf + len, frames[i], n);
            buf[len + n] = '\r';
            len += n + 1;
        }
    for (int r = 0; r < repeat; r++)
        for (int d = 0; d < 2; d++) {
            double t = run(buf, len, d == 1, c);
            if (t < best[d])
                best[d] = t;
        }
    printf("stream %.1f MB of Pylontech ASCII frames (%llu frames, %llu rejects)\n", (double)len / 1e6,
           (unsigned long long)c->frames, (unsigned long long)c->bad);
    printf("framer (frames + LENID/LCHKSUM/CHKSUM): %8.1f MB/s\n", (double)len / 1e6 / best[0]);
    printf("framer + session + layout decode:       %8.1f MB/s (%llu answers decoded)\n", (double)len / 1e6 / best[1],
           (unsigned long long)c->decoded);
    {
        int rc = c->bad ? 1 : 0;
        free(buf);
        free(c);
        return rc;
    }
}
