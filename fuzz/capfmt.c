/* Fuzz the TRC and GVRET CSV line parsers (issue #12), then write every frame they return with
 * every writer: a reader never returns what a writer cannot take, and no writer overruns. */
#include "bmslink/capture.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const bl_capfmt_t in_fmt[] = { BL_FMT_AUTO, BL_FMT_TRC, BL_FMT_GVRET };
static const struct {
    bl_capfmt_t fmt;
    unsigned ver;
} out_fmt[] = { { BL_FMT_CANDUMP_LOG, 0 }, { BL_FMT_ASC, 0 },  { BL_FMT_TRC, 11 },   { BL_FMT_TRC, 20 },
                { BL_FMT_TRC, 21 },        { BL_FMT_GVRET, 0 }, { BL_FMT_PCAP, 0 }, { BL_FMT_PCAPNG, 0 } };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bl_capw_t w[sizeof out_fmt / sizeof out_fmt[0]];
    static uint8_t out[BL_CAPW_ROOM];
    bl_capture_t c;
    bl_cap_frame_t f;
    bl_line_err_t e;
    size_t start = 1;

    if (size == 0)
        return 0;
    bl_capture_init(&c, in_fmt[data[0] % 3]);
    for (size_t k = 0; k < sizeof out_fmt / sizeof out_fmt[0]; k++)
        if (bl_capw_init(&w[k], out_fmt[k].fmt, out_fmt[k].ver) != 0)
            __builtin_trap();
    for (size_t i = 1; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            int rc = bl_capture_parse(&c, (const char *)data + start, i - start, &f, &e);
            if (rc == 1) {
                if (f.f.len > BL_CAN_MAX_DATA || (!(f.f.flags & BL_CAN_FD) && f.f.len > 8))
                    __builtin_trap();
                for (size_t k = 0; k < sizeof out_fmt / sizeof out_fmt[0]; k++) {
                    int n = bl_capw_frame(&w[k], &f, out, sizeof out);
                    if (n < 0 || (size_t)n > sizeof out)
                        __builtin_trap();
                }
            } else if (rc < 0 && (e.what == NULL || e.col == 0)) {
                __builtin_trap(); /* every reject names what and where */
            }
            start = i + 1;
        }
    }
    for (size_t k = 0; k < sizeof out_fmt / sizeof out_fmt[0]; k++)
        if (bl_capw_trailer(&w[k], out, sizeof out) < 0)
            __builtin_trap();
    return 0;
}
