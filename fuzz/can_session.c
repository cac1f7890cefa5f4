/* Fuzz the battery-role session (trigger rows, link watch, answers encoded) and detection
 * (scores and clash report) of every CAN protocol with arbitrary frames. */
#include "bmslink/detect.h"
#include "bmslink/lossy.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t np, pos = 2, nf = 0;
    const bl_protocol_t *const *all = bl_protocols(&np);
    bl_cap_frame_t frames[MAXF];
    bl_can_codec_t c;
    bl_record_t r;
    uint64_t now = 0;

    if (size < 3)
        return 0;
    if (bl_can_codec_init(&c, all[data[0] % np]) < 0)
        return 0;
    c.addr = data[1] & 0x1Fu;
    bl_record_init(&r);
    /* frames: [flags][sel][id byte][len][data...]; sel & 0x80 picks a real id of the protocol */
    while (pos + 4 <= size && nf < MAXF) {
        bl_can_frame_t *f = &frames[nf].f;
        uint8_t sel = data[pos + 1];
        bl_reaction_t re;
        memset(&frames[nf], 0, sizeof frames[nf]);
        f->flags = (uint8_t)(data[pos] & (BL_CAN_EXT | BL_CAN_RTR | BL_CAN_ERR));
        if (sel & 0x80) {
            const bl_message_t *m = c.msg[sel % c.n];
            f->id = m->id | (uint32_t)(data[pos + 2] & 0x1Fu);
            f->flags = (uint8_t)((f->flags & BL_CAN_RTR) | (m->ext ? BL_CAN_EXT : 0));
        } else {
            f->id = ((uint32_t)sel << 8 | data[pos + 2]) & BL_CAN_EFF_MASK;
        }
        f->len = (uint8_t)(data[pos + 3] % 9);
        pos += 4;
        for (unsigned i = 0; i < f->len && pos < size; i++)
            f->data[i] = data[pos++];
        now += (uint64_t)(data[pos - 1]) * 37u;
        if (bl_can_react(&c, f, now, &re) > 0) {
            if (re.n > BL_REACT_MAX)
                __builtin_trap();
            for (unsigned k = 0; k < re.n; k++) {
                bl_can_frame_t out;
                for (unsigned mux = 0; mux < (re.send[k]->nmux ? re.send[k]->nmux : 1u); mux++)
                    (void)bl_can_encode(&c, re.send[k], mux, &r, now, 5000, BL_ENC_CLAMP, &out, NULL);
                if (re.send[k]->dir != BL_DIR_B2I)
                    __builtin_trap(); /* answers are battery messages */
            }
        }
        (void)bl_can_decode(&c, f, now, &r, NULL);
        (void)bl_can_link_check(&c, now);
        nf++;
    }
    {
        bl_detect_score_t sc[6];
        bl_detect_clash_t cl[6];
        size_t ns = bl_detect_can(frames, nf, sc, 6);
        (void)bl_detect_clashes(frames, nf, sc, ns, cl, 6);
        for (size_t i = 1; i < ns; i++)
            if (sc[i].decoded > sc[0].decoded)
                __builtin_trap(); /* best first */
    }
    {
        static bl_lossy_t m;
        (void)bl_lossy_map(all[data[0] % np], all[data[1] % np], &m);
    }
    return 0;
}
