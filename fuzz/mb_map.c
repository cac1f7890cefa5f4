/* Fuzz the Modbus register maps: byte 0 picks a map, byte 1 a block (or an arbitrary
 * start), then registers. Decode a block, then serve arbitrary ranges from the result. */
#include "bmslink/rs485.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bl_record_t rec;
    static bl_rs_decoded_t dec;
    static uint16_t regs[2000];
    const bl_protocol_t *maps[32];
    size_t np, nm = 0, n;
    const bl_protocol_t *const *all = bl_protocols(&np);
    const bl_rs485_codec_t *c;
    bl_mb_block_t b;
    uint16_t bad;

    if (size < 6)
        return 0;
    for (size_t i = 0; i < np && nm < BL_ARRAY_LEN(maps); i++) {
        c = bl_rs_codec(all[i]);
        if (c != NULL && c->kind == BL_RSK_MODBUS)
            maps[nm++] = all[i];
    }
    if (nm == 0)
        return 0;
    c = bl_rs_codec(maps[data[0] % nm]);
    if (data[1] & 0x80) {
        b.name = "fuzz";
        b.table = (uint8_t)(data[1] & 3);
        b.start = (uint16_t)(data[2] << 8 | data[3]);
        b.count = (uint16_t)(data[4] % 126);
    } else {
        b = c->map->blocks[data[1] % c->map->nblocks];
    }
    n = (size - 5) / 2;
    if (n > b.count)
        n = b.count;
    for (size_t i = 0; i < n; i++)
        regs[i] = (uint16_t)(data[5 + 2 * i] << 8 | data[6 + 2 * i]);
    bl_record_init(&rec);
    if (bl_mb_decode(c->map, &b, regs, n, 1000, &rec, &dec) < 0 && dec.why == BL_RSR_NONE)
        __builtin_trap();
    (void)bl_mb_encode(maps[data[0] % nm], c->map, b.table, b.start, (uint16_t)(n ? n : 1), &rec, 1000 + data[4],
                       5000, regs, &bad, NULL);
    return 0;
}
