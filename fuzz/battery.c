/* Fuzz the battery description parser (diagnose --battery): a file either loads with
 * ratings that fit its cells, or is refused naming the file and line. */
#include "bmslink/errload.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bl_battery_file_t bf;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];

    if (bl_battery_parse(&bf, "fuzz.yaml", (const char *)data, size, err, sizeof err) != 0) {
        if (strncmp(err, "fuzz.yaml:", 10) != 0)
            __builtin_trap();
        return 0;
    }
    if (bf.b.cells < 4 || bf.capacity_mAh <= 0 || (bf.b.cvl_max_mV != 0 && bf.b.cvl_max_mV > bf.b.cells * 3650))
        __builtin_trap();
    return 0;
}
