/* Fuzz the gateway engine: packs of any CAN protocols, any frames on any port at any time,
 * an output in any CAN protocol with the inverter's polls played. Checks the engine's
 * promise on the way: with no pack in use, no current limit leaves. */
#include "bmslink/gateway.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bl_gw_t gw;
static bl_gw_pack_t packs[4];

static void tx(void *ctx, unsigned port, const bl_can_frame_t *f, const bl_gw_txinfo_t *info)
{
    (void)ctx;
    (void)port;
    if (f->len > 8)
        __builtin_trap();
    /* a frame sent while no pack is in use carries no current limit but 0 A */
    if (info != NULL && gw.rep.nused == 0 && (gw.agg.f[BL_F_CCL].valid || gw.agg.f[BL_F_DCL].valid))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t np, pos = 4;
    const bl_protocol_t *const *all = bl_protocols(&np);
    const bl_protocol_t *can[64];
    size_t ncan = 0;
    bl_gw_cfg_t cfg;
    unsigned n;
    uint64_t now = 1000;

    if (size < 5)
        return 0;
    for (size_t i = 0; i < np && ncan < 64; i++)
        if (bl_proto_root(all[i])->bus == BL_BUS_CAN)
            can[ncan++] = all[i];
    n = 1u + data[0] % 4u;
    memset(&cfg, 0, sizeof cfg);
    cfg.out = can[data[1] % ncan];
    cfg.tx = tx;
    cfg.policy = data[2] & 1u;
    cfg.poll_packs = (data[2] & 2u) != 0;
    cfg.play_inverter = (data[2] & 4u) != 0;
    cfg.no_early = (data[2] & 8u) != 0;
    cfg.site.ccl_mA = (data[2] & 16u) ? 50000 : 0;
    cfg.stale_ms = (data[2] & 32u) ? 2000 : 0;
    for (unsigned k = 0; k < n; k++)
        if (bl_gw_pack_init(&packs[k], can[(data[3] + k * 7u) % ncan], cfg.stale_ms) < 0)
            return 0;
    if (bl_gw_init(&gw, &cfg, packs, n, now) < 0)
        return 0;
    /* events: [port][dt][sel][id][len] data...; sel & 0x80 picks a real id of that side's protocol */
    while (pos + 5 <= size) {
        unsigned port = data[pos] % (n + 1u);
        const bl_can_codec_t *c = port == n ? &gw.out : &packs[port].codec;
        bl_can_frame_t f;
        uint8_t sel = data[pos + 2];
        memset(&f, 0, sizeof f);
        now += (uint64_t)data[pos + 1] * 53u;
        if (sel & 0x80) {
            const bl_message_t *m = c->msg[sel % c->n];
            f.id = m->id | (uint32_t)(data[pos + 3] & 0x1Fu);
            f.flags = m->ext ? BL_CAN_EXT : 0;
        } else {
            f.id = ((uint32_t)sel << 8 | data[pos + 3]) & BL_CAN_SFF_MASK;
            f.flags = (uint8_t)(sel & (BL_CAN_RTR | BL_CAN_ERR));
        }
        f.len = (uint8_t)(data[pos + 4] % 9u);
        pos += 5;
        for (unsigned i = 0; i < f.len && pos < size; i++)
            f.data[i] = data[pos++];
        (void)bl_gw_rx(&gw, port == n ? BL_GW_INVERTER : port, &f, now);
        uint64_t next = bl_gw_step(&gw, now);
        if (next <= now)
            __builtin_trap(); /* the engine must always move time forward */
        if (data[pos - 1] & 1u) { /* sometimes let time run to the engine's next deadline */
            now = next > now + 60000u ? now + 60000u : next;
            (void)bl_gw_step(&gw, now);
        }
    }
    return 0;
}
