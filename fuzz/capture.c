/* Fuzz the capture line parsers (candump -L, candump, ASC) and the log writer. */
#include "bmslink/capture.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bl_capture_t c;
    bl_cap_frame_t f;
    bl_line_err_t e;
    char out[256];
    size_t start = 0;

    if (size == 0)
        return 0;
    /* first byte picks the format; the rest is lines */
    bl_capture_init(&c, (bl_capfmt_t)(data[0] % 4));
    for (size_t i = 1; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            size_t from = start ? start : 1;
            int rc = bl_capture_parse(&c, (const char *)data + from, i - from, &f, &e);
            if (rc == 1) {
                if (f.f.len > BL_CAN_MAX_DATA)
                    __builtin_trap();
                (void)bl_capture_format_log(&f, out, sizeof out);
            } else if (rc < 0 && (e.what == NULL || e.col == 0)) {
                __builtin_trap(); /* every reject names what and where */
            }
            start = i + 1;
        }
    }
    return 0;
}
