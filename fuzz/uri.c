/* Fuzz the live URI parsers (slcan, socketcan, virtual): any text. */
#include "bmslink/slcan.h"
#include "bmslink/transport.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[512];
    bl_slcan_cfg_t c;
    const char *why = NULL;

    if (size >= sizeof s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (bl_slcan_parse(s, &c, &why) == 0) {
        if (c.dev[0] == '\0' || bl_slcan_bitrate_code(c.bitrate) < 0 || c.tty_baud == 0)
            __builtin_trap();
    } else if (why == NULL) {
        __builtin_trap();
    }
    why = NULL;
    if (bl_socketcan_parse(s, &why) < 0 && why == NULL)
        __builtin_trap();
    why = NULL;
    if (bl_vbus_parse(s, &why) < 0 && why == NULL)
        __builtin_trap();
    (void)bl_transport_scheme(s);
    return 0;
}
