/* Fuzz the layout walker directly: byte 0 picks a byte protocol, byte 1 one of its
 * messages, byte 2 the group mode; the rest is the payload. Whatever the bytes, the
 * decoder stays inside them, and the encoder answers from what it produced. */
#include "bmslink/rs485.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bl_record_t rec, packs[BL_RS_MAX_PACKS];
    static bl_rs_decoded_t dec;
    static uint8_t out[4200];
    const bl_protocol_t *byte_protos[32];
    size_t np, nb = 0;
    const bl_protocol_t *const *all = bl_protocols(&np);
    const bl_rs485_codec_t *c;
    const bl_rs_msg_t *m;
    int group;

    if (size < 3)
        return 0;
    for (size_t i = 0; i < np && nb < BL_ARRAY_LEN(byte_protos); i++) {
        c = bl_rs_codec(all[i]);
        if (c != NULL && c->kind != BL_RSK_MODBUS)
            byte_protos[nb++] = all[i];
    }
    if (nb == 0)
        return 0;
    c = bl_rs_codec(byte_protos[data[0] % nb]);
    m = &c->msgs[data[1] % c->nmsgs];
    group = (int)(data[2] % 3) - 1;
    bl_record_init(&rec);
    if (bl_rs_decode(c, m, data + 3, size - 3, group, 1000, &rec, packs, data[2] & 0x80 ? 2 : BL_RS_MAX_PACKS, &dec) < 0 &&
        dec.why == BL_RSR_NONE)
        __builtin_trap(); /* a reject always has a reason */
    if (m->rsp != NULL)
        (void)bl_rs_encode(byte_protos[data[0] % nb], m, data[2], &rec, 1000 + data[1], 5000, out,
                           (size_t)(data[1] % 2 ? sizeof out : 16 + data[2]), NULL);
    (void)bl_rs_infer(c, data + 3, size - 3);
    return 0;
}
