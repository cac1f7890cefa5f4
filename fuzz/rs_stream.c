/* Fuzz the RS485 byte path: framer (any chunking) -> session -> layout decode -> the
 * battery role's answer from what was decoded. byte 0 picks the protocol, byte 1 the
 * chunk size; the rest is the line. */
#include "bmslink/rs485.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const bl_protocol_t *p;
    bl_rs_session_t sess;
    bl_record_t rec;
    bl_record_t packs[BL_RS_MAX_PACKS];
    bl_rs_decoded_t dec;
    uint8_t info[2048];
    uint8_t out[4200];
    uint64_t now;
} fz_t;

static void on_ev(void *ctx, const bl_stream_ev_t *ev)
{
    fz_t *z = ctx;
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_rsr_t why;

    if (ev->kind == BL_SEV_REJECT) {
        if (ev->why == BL_RSR_NONE)
            __builtin_trap(); /* a reject always has a reason */
        (void)bl_rs_answer_reject(z->p, 0x02, ev->data, ev->len, (bl_rsr_t)ev->why, z->out, sizeof z->out, &res);
        return;
    }
    if (ev->kind != BL_SEV_FRAME)
        return;
    if (bl_rs_session_frame(&z->sess, ev->data, ev->len, z->info, sizeof z->info, &f, &why) < 0)
        return;
    z->now += 100;
    if (f.request) {
        (void)bl_rs_answer(z->p, f.addr, &f, &z->rec, z->now, 5000, z->out, sizeof z->out, &res);
        return;
    }
    if (f.msg != NULL && bl_rs_decode(z->sess.c, f.msg, f.pl, f.plen, f.group ? 1 : -1, z->now, &z->rec, z->packs,
                                      BL_RS_MAX_PACKS, &z->dec) < 0 &&
        z->dec.why == BL_RSR_NONE)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_t z;
    static uint8_t buf[BL_STREAM_PYLON_MAX + 64];
    const bl_protocol_t *byte_protos[32];
    size_t np, nb = 0, chunk;
    const bl_protocol_t *const *all = bl_protocols(&np);
    bl_stream_t st;

    if (size < 2)
        return 0;
    for (size_t i = 0; i < np && nb < BL_ARRAY_LEN(byte_protos); i++) {
        const bl_rs485_codec_t *c = bl_rs_codec(all[i]);
        if (c != NULL && c->kind != BL_RSK_MODBUS)
            byte_protos[nb++] = all[i];
    }
    if (nb == 0)
        return 0;
    memset(&z, 0, sizeof z);
    z.p = byte_protos[data[0] % nb];
    bl_record_init(&z.rec);
    if (bl_rs_session_init(&z.sess, z.p) < 0)
        return 0;
    if (bl_stream_init(&st, bl_rs_codec(z.p)->framing, buf, sizeof buf, on_ev, &z) < 0)
        return 0;
    chunk = (size_t)data[1] % 64 + 1;
    for (size_t i = 2; i < size; i += chunk)
        bl_stream_push(&st, data + i, size - i < chunk ? size - i : chunk);
    bl_stream_flush(&st);
    return 0;
}
