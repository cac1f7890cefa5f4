/* Fuzz the pcap / pcapng record parser (issue #12) as the transport drives it: the buffer is
 * handed over in growing pieces (BL_EAGAIN asks for more), records are skipped by their
 * lengths, and every frame must fit a CAN frame and come back through the candump -L writer. */
#include "bmslink/capture.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bl_pcap_t p;
    bl_cap_frame_t f;
    bl_line_err_t e;
    char line[256];
    size_t pos = 0, have;

    bl_pcap_init(&p);
    if (size == 0)
        return 0;
    have = size < 64 ? size : 64; /* start with a small window, as a pipe delivers it */
    while (pos < size) {
        size_t adv = 0;
        int rc = bl_pcap_next(&p, data + pos, have, &adv, &f, &e);
        if (rc == BL_EAGAIN) {
            if (adv == 0 || adv > BL_PCAP_BLOCK_MAX)
                __builtin_trap(); /* it must say how much it needs, and never more than the cap */
            if (pos + adv > size || have >= size - pos)
                break; /* the file ends inside a record */
            have = adv > size - pos ? size - pos : adv;
            continue;
        }
        if (rc == BL_EBADMSG) {
            if (e.what == NULL)
                __builtin_trap();
            if (adv == 0)
                break;
        } else if (rc == 1) {
            if (adv > have || f.f.len > BL_CAN_MAX_DATA || (!(f.f.flags & BL_CAN_FD) && f.f.len > 8))
                __builtin_trap();
            if (bl_capture_format_log(&f, line, sizeof line) < 0)
                __builtin_trap();
        } else if (rc != 0) {
            __builtin_trap();
        }
        if (adv >= size - pos)
            break;
        pos += adv;
        have = size - pos < 64 ? size - pos : 64;
    }
    return 0;
}
