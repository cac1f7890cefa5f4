/*
 * bench/simulate: how long a simulated 24 h closed loop takes on one core, at the
 * protocols' real periods, every frame through the real encoder and decoder.
 *
 *   build/bl_bench_sim [REPEAT] [PROFILE_DIR]
 *
 * For every shipped profile whose protocol this build has, the battery speaks the
 * profile's protocol over the built-in day; prints the best and the median of REPEAT
 * runs (default 7) in ms per simulated day, the frames per simulated day and the
 * frames per second, all in CPU time of one core (CLOCK_PROCESS_CPUTIME_ID: a shared,
 * loaded machine does not inflate it). Issue #7: < 200 ms, target < 100 ms.
 */
#include "bmslink/simload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BL_PROFILES_DIR
#define BL_PROFILES_DIR "share/profiles"
#endif
#ifndef BL_BUILD_DESC
#define BL_BUILD_DESC "unknown build"
#endif

/* CPU time of this process: what one core spends, whoever else shares the machine */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static bl_scenario_t scn;
    static bl_sim_t sim;
    bl_profile_file_t *pf = NULL;
    int repeat = argc > 1 ? atoi(argv[1]) : 7;
    const char *dir = argc > 2 ? argv[2] : bl_profiles_dir(BL_PROFILES_DIR);
    int n = bl_profiles_load_dir(dir, &pf, NULL, NULL);
    double worst[2] = { 0, 0 }; /* CAN, byte protocols (RS485) */
    const char *bus_name[2] = { "CAN", "RS485" };
    int rc = 0;

    if (n <= 0 || repeat < 1 || repeat > 100) {
        fprintf(stderr, "usage: bl_bench_sim [REPEAT 1..100] [PROFILE_DIR]  (no profiles in %s)\n", dir);
        return 2;
    }
    bl_scn_defaults(&scn);
    printf("simulated 24 h, built-in day (16S 200 Ah, 1 s control steps), best/median of %d runs, CPU time, %s\n",
           repeat, BL_BUILD_DESC);
    printf("  %-24s %-12s %9s %9s %10s %12s\n", "inverter profile", "protocol", "best ms", "median ms",
           "frames", "frames/s");
    for (int i = 0; i < n; i++) {
        const bl_inv_profile_t *p = &pf[i].p;
        bl_sim_cfg_t cfg;
        double t[100];
        uint64_t frames;

        if (p->proto == NULL || bl_proto_root(p->proto)->bus == BL_BUS_MODBUS)
            continue;
        memset(&cfg, 0, sizeof cfg);
        cfg.battery_proto = p->proto;
        cfg.profile = p;
        cfg.scn = &scn;
        cfg.firmware = -1;
        for (int r = 0; r < repeat; r++) {
            double t0;
            if (bl_sim_init(&sim, &cfg) != 0) {
                fprintf(stderr, "bl_bench_sim: %s: cannot start\n", p->name);
                return 1;
            }
            t0 = now_ms();
            bl_sim_run(&sim, UINT64_C(86400000));
            t[r] = now_ms() - t0;
        }
        qsort(t, (size_t)repeat, sizeof t[0], cmp_double);
        frames = sim.frames[0][BL_FATE_DELIVERED] + sim.frames[1][BL_FATE_DELIVERED]; /* RS485: whole frames */
        printf("  %-24s %-12s %9.1f %9.1f %10llu %12.0f\n", p->name, p->protocol_name, t[0], t[repeat / 2],
               (unsigned long long)frames, (double)frames / (t[0] / 1e3));
        int bus = bl_proto_root(p->proto)->bus == BL_BUS_CAN ? 0 : 1;
        if (t[0] > worst[bus])
            worst[bus] = t[0];
    }
    for (int b = 0; b < 2; b++) {
        if (worst[b] == 0)
            continue;
        printf("slowest %s profile: %.1f ms per simulated day (must be < 200 ms, target < 100 ms): %s\n",
               bus_name[b], worst[b], worst[b] < 100 ? "on target" : worst[b] < 200 ? "within the limit" : "TOO SLOW");
        rc |= worst[b] >= 200;
    }
    free(pf);
    return rc;
}
