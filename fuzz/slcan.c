/* Fuzz the slcan line framer: any bytes, any chunking; every frame it accepts
 * formats back into a line that parses to the same frame. */
#include "bmslink/slcan.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const bl_can_frame_t *f)
{
    char line[BL_SLCAN_LINE_MAX];
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    int n = bl_slcan_format(f, line, sizeof line);

    if (n < 0)
        __builtin_trap(); /* whatever the parser accepts, the formatter can write */
    bl_slcan_rx_init(&p);
    bl_slcan_push(&p, (const uint8_t *)line, (size_t)n, &ev);
    if (ev.kind != BL_SLCAN_FRAME || ev.frame.id != f->id || ev.frame.len != f->len || ev.frame.flags != f->flags)
        __builtin_trap();
    if (!(f->flags & BL_CAN_RTR) && memcmp(ev.frame.data, f->data, f->len) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bl_slcan_rx_t p;
    bl_slcan_event_t ev;
    size_t at = 0, chunk;

    if (size == 0)
        return 0;
    chunk = (size_t)(data[0] % 17u) + 1u; /* the first byte picks the chunk size */
    data++;
    size--;
    bl_slcan_rx_init(&p);
    while (at < size) {
        size_t len = size - at < chunk ? size - at : chunk, off = 0;
        while (off < len) {
            size_t used = bl_slcan_push(&p, data + at + off, len - off, &ev);
            if (used > len - off || (used == 0 && ev.kind == BL_SLCAN_NONE))
                __builtin_trap(); /* progress, and never past the input */
            off += used;
            if (ev.kind == BL_SLCAN_FRAME) {
                if (ev.frame.len > 64 || (!(ev.frame.flags & BL_CAN_FD) && ev.frame.len > 8))
                    __builtin_trap();
                check_roundtrip(&ev.frame);
            } else if (ev.kind == BL_SLCAN_BAD && (ev.what == NULL || ev.col == 0 || ev.why == BL_REJ_NONE)) {
                __builtin_trap(); /* every reject names what and where */
            }
        }
        at += len;
    }
    return 0;
}
