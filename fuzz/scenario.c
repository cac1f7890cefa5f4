/* Fuzz the scenario file parser (libyaml tree -> bl_scenario_t), then run what parsed for one
 * simulated minute against an obedient pylon-lv inverter: any parsed scenario must run. */
#include "bmslink/simload.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bl_scenario_t scn;
static bl_profile_file_t pf;
static bl_sim_t sim;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    bl_sim_cfg_t cfg;

    if (bl_scenario_parse(&scn, "fuzz.yaml", (const char *)data, size, err, sizeof err) != 0) {
        if (strncmp(err, "fuzz.yaml:", 10) != 0)
            __builtin_trap(); /* every error names the file and line */
        return 0;
    }
    if (pf.p.name == NULL) {
        static const char prof[] = "name: f\nbrand: f\nprotocol: pylon-lv\ninterface: can\ndetect: [0x351]\n"
                                   "timeouts: [{message: any, after: 10s, action: standby, source: fuzz}]\n";
        if (bl_profile_parse(&pf, "f.yaml", prof, sizeof prof - 1, err, sizeof err) != 0)
            __builtin_trap();
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.battery_proto = bl_protocol_find("pylon-lv");
    cfg.profile = &pf.p;
    cfg.scn = &scn;
    cfg.firmware = -1;
    if (bl_sim_init(&sim, &cfg) == 0)
        bl_sim_run(&sim, 60000);
    return 0;
}
