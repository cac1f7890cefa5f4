/* Fuzz every CAN protocol's decoder (and re-encode what it decoded). */
#include "bmslink/protocol.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    bl_can_codec_t c;
    bl_record_t r;
    size_t pos = 0;

    if (size < 2)
        return 0;
    const bl_protocol_t *p = all[data[0] % np];
    if (bl_can_codec_init(&c, p) < 0)
        return 0;
    bl_record_init(&r);
    pos = 1;
    /* frames: [flags][id selector / raw id 4 bytes][len][data...] */
    while (pos + 6 <= size) {
        bl_can_frame_t f;
        bl_decoded_t d;
        uint8_t sel = data[pos];
        memset(&f, 0, sizeof f);
        f.flags = (uint8_t)(data[pos + 1] & (BL_CAN_EXT | BL_CAN_RTR | BL_CAN_ERR | BL_CAN_FD));
        if (sel & 0x80) /* a real id of the protocol, so the tables are exercised */
            f.id = c.msg[sel % c.n]->id | (uint32_t)(data[pos + 2] & 0x0F), f.flags = c.msg[sel % c.n]->ext ? BL_CAN_EXT : 0;
        else
            f.id = ((uint32_t)data[pos + 2] << 8 | data[pos + 3]) & BL_CAN_EFF_MASK;
        f.len = (uint8_t)(data[pos + 4] % 10);
        pos += 5;
        for (unsigned i = 0; i < f.len && pos < size; i++)
            f.data[i] = data[pos++];
        if (bl_can_decode(&c, &f, pos, &r, &d) == 0 && d.msg != NULL) {
            bl_can_frame_t out;
            (void)bl_can_encode(&c, d.msg, 0, &r, pos, 5, BL_ENC_CLAMP, &out, NULL);
        } else if (d.why == BL_REJ_NONE) {
            __builtin_trap(); /* a reject always has a reason */
        }
    }
    return 0;
}
