/* Fuzz the inverter profile parser (libyaml tree -> bl_inv_profile_t); what parses and has a
 * protocol of this build must start an inverter and take a step. */
#include "bmslink/simload.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bl_profile_file_t pf;
static bl_inv_t inv;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    bl_inv_env_t env = { .pv_W = 1000, .load_W = 500, .grid = 1, .v_mV = 52000 };
    bl_inv_out_t out;

    if (bl_profile_parse(&pf, "fuzz.yaml", (const char *)data, size, err, sizeof err) != 0) {
        if (strncmp(err, "fuzz.yaml:", 10) != 0)
            __builtin_trap();
        return 0;
    }
    if (bl_inv_init(&inv, &pf.p, 0, 0) == 0)
        bl_inv_step(&inv, &env, 1000, &out);
    return 0;
}
