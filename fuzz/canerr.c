/* Fuzz the error-frame interpreter: any id, length and bytes. */
#include "bmslink/canerr.h"
#include "bmslink/slcan.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bl_can_frame_t f;
    bl_canerr_t e;

    if (size < 5)
        return 0;
    memset(&f, 0, sizeof f);
    f.id = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
    f.flags = data[4] & 0x0Fu;
    f.len = (uint8_t)(size - 5 > 64 ? 64 : size - 5);
    memcpy(f.data, data + 5, f.len);
    if (bl_canerr_parse(&f, &e) == 0) {
        if (e.state >= BL_CANST_COUNT || bl_bus_state_str(e.state) == NULL)
            __builtin_trap();
    } else if (f.flags & BL_CAN_ERR) {
        __builtin_trap();
    }
    (void)bl_slcan_status_state(data[4]);
    return 0;
}
