/*
 * bench/matrix: the compatibility matrix of every protocol against every inverter profile
 * in simulated time, on one core. Issue #8: < 10 s.
 *
 *   build/bench/bl_bench_matrix [BMSLINK] [PROFILE_DIR]
 *
 * 1. the engine: for every protocol (variants included) and every shipped profile, the
 *    built-in 30-minute validation session judged in process (bl_val_sim_run), CPU time
 *    of this process (CLOCK_PROCESS_CPUTIME_ID: a loaded, shared machine does not inflate
 *    it). Pairs that cannot run (another bus, a Modbus map) cost their refusal.
 * 2. the command a user types: `bmslink matrix run --battery sim:P --inverter all` once per
 *    protocol into one fresh SQLite file, the children pinned to CPU 0, their CPU time
 *    (getrusage RUSAGE_CHILDREN) and the wall time: process start, profile loading, every
 *    session, every result committed in its own transaction.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_setaffinity */
#endif
#include "bmslink/simload.h"
#include "bmslink/validate.h"

#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BL_PROFILES_DIR
#define BL_PROFILES_DIR "share/profiles"
#endif
#ifndef BL_CLI_PATH
#define BL_CLI_PATH "build/bmslink"
#endif
#ifndef BL_BUILD_DESC
#define BL_BUILD_DESC "unknown build"
#endif

extern char **environ;

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double children_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int engine(const bl_profile_file_t *pf, int n)
{
    static bl_scenario_t scn;
    static bl_val_sim_t vs;
    static bl_val_check_t out[BL_VC_COUNT];
    size_t np;
    const bl_protocol_t *const *ps = bl_protocols(&np);
    unsigned pairs = 0, ran = 0, verdict[3] = { 0 };
    double t0 = cpu_ms(), t;

    bl_val_scenario(&scn);
    for (size_t i = 0; i < np; i++)
        for (int k = 0; k < n; k++) {
            bl_val_sim_cfg_t cfg;
            memset(&cfg, 0, sizeof cfg);
            cfg.battery = ps[i];
            cfg.profile = &pf[k].p;
            cfg.scn = &scn;
            cfg.firmware = -1;
            pairs++;
            if (pf[k].p.proto == NULL || bl_val_sim_run(&vs, &cfg, out) < 0)
                continue;
            ran++;
            for (unsigned c = 0; c < BL_VC_COUNT; c++)
                verdict[out[c].status <= BL_VS_SKIP ? out[c].status : BL_VS_SKIP]++;
        }
    t = cpu_ms() - t0;
    printf("engine: %zu protocols x %d profiles = %u pairs, %u ran (the rest on another bus or a Modbus map)\n", np, n,
           pairs, ran);
    printf("        checks: %u pass, %u fail, %u skip\n", verdict[BL_VS_PASS], verdict[BL_VS_FAIL], verdict[BL_VS_SKIP]);
    printf("        %.0f ms CPU on one core (%.2f ms per pair that ran)\n", t, ran ? t / ran : 0.0);
    return t < 10000.0 ? 0 : 1;
}

static int command(const char *cli)
{
    char db[] = "/tmp/bl_bench_matrix_XXXXXX";
    char dbfile[sizeof db + 16];
    size_t np;
    const bl_protocol_t *const *ps = bl_protocols(&np);
    double c0 = children_ms(), w0 = wall_ms(), c, w;
    unsigned refused = 0;
    cpu_set_t one;
    int rc = 0;

    if (mkdtemp(db) == NULL) {
        perror("bl_bench_matrix: mkdtemp");
        return 1;
    }
    snprintf(dbfile, sizeof dbfile, "%s/m.db", db);
    /* pinned to one core, as the issue measures it; children inherit the mask */
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    (void)sched_setaffinity(0, sizeof one, &one);
    for (size_t i = 0; i < np; i++) {
        char bat[96];
        char *argv[] = { (char *)cli, "matrix", "run", "--db", dbfile, "--battery", bat, "--inverter", "all", NULL };
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int st = 0;

        snprintf(bat, sizeof bat, "sim:%s", ps[i]->name);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1 /* O_WRONLY */, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
        if (posix_spawn(&pid, cli, &fa, NULL, argv, environ) != 0) {
            perror("bl_bench_matrix: posix_spawn");
            posix_spawn_file_actions_destroy(&fa);
            rc = 1;
            break;
        }
        posix_spawn_file_actions_destroy(&fa);
        waitpid(pid, &st, 0);
        /* 0: stored; 2: every pair refused (a Modbus battery) -- also stored, as untested */
        if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 2)) {
            fprintf(stderr, "bl_bench_matrix: %s matrix run --battery %s failed (status %d)\n", cli, bat, st);
            rc = 1;
        }
        refused += WIFEXITED(st) && WEXITSTATUS(st) == 2;
    }
    c = children_ms() - c0;
    w = wall_ms() - w0;
    printf("command: bmslink matrix run --battery sim:P --inverter all, for each of the %zu protocols P (%u of them\n"
           "         Modbus maps, every pair untested), into one SQLite file, pinned to CPU 0:\n"
           "         %.0f ms CPU, %.0f ms wall\n",
           np, refused, c, w);
    unlink(dbfile);
    rmdir(db);
    return rc ? rc : c < 10000.0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *cli = argc > 1 ? argv[1] : BL_CLI_PATH;
    const char *dir = argc > 2 ? argv[2] : bl_profiles_dir(BL_PROFILES_DIR);
    bl_profile_file_t *pf = NULL;
    int n = bl_profiles_load_dir(dir, &pf, NULL, NULL), rc;

    if (n <= 0) {
        fprintf(stderr, "usage: bl_bench_matrix [BMSLINK] [PROFILE_DIR]  (no profiles in %s)\n", dir);
        return 2;
    }
    printf("the compatibility matrix, every protocol x every profile, built-in 30-minute session, %s\n",
           BL_BUILD_DESC);
    rc = engine(pf, n);
    rc |= command(cli);
    printf("issue #8 budget: < 10 s on one core: %s\n", rc ? "OVER" : "met");
    free(pf);
    return rc;
}
