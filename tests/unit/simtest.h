/* Helpers of the closed-loop tests: shipped profiles, scenarios in the scenario file format,
 * a run with every event kept and every sample hashed. Included by one test file each. */
#ifndef BL_TESTS_SIMTEST_H
#define BL_TESTS_SIMTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmslink/simload.h"

static bl_profile_file_t pf;
static bl_scenario_t scn;
static bl_sim_t sim;

#define MAX_EV 4096
static bl_sim_event_t ev[MAX_EV];
static unsigned nev;
static int64_t flowed_uC;   /* integral of the current the samples report */
static uint64_t fnv;        /* hash of everything the loop reported */

static void hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        fnv = (fnv ^ b[i]) * UINT64_C(0x100000001b3);
}

static void on_event(void *ctx, const bl_sim_event_t *e)
{
    (void)ctx;
    if (nev < MAX_EV)
        ev[nev++] = *e;
    hash(&e->t_ms, sizeof e->t_ms);
    hash(&e->kind, 1);
    hash(&e->a, sizeof e->a);
    hash(&e->b, sizeof e->b);
}

static void on_sample(void *ctx, const bl_sim_sample_t *s)
{
    (void)ctx;
    flowed_uC += (int64_t)s->bat->i_mA * 1000; /* 1 s samples: the current that flowed in the last step */
    hash(&s->bat->v_mV, sizeof s->bat->v_mV);
    hash(&s->bat->i_mA, sizeof s->bat->i_mA);
    hash(&s->inv->state, 1);
    hash(&s->out->i_mA, sizeof s->out->i_mA);
}

static void profile(const char *name)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/share/profiles/%s.yaml", BL_SOURCE_DIR, name);
    if (bl_profile_load(&pf, path, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static void scenario(const char *yaml)
{
    char err[512];
    if (bl_scenario_parse(&scn, "test.yaml", yaml, strlen(yaml), err, sizeof err) != 0)
        fail_msg("%s", err);
}

static bool have(const char *protocol)
{
    return bl_protocol_find(protocol) != NULL;
}

static void simulate(const char *battery, int fw, uint64_t until_ms)
{
    bl_sim_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.battery_proto = bl_protocol_find(battery);
    cfg.profile = &pf.p;
    cfg.scn = &scn;
    cfg.firmware = fw;
    cfg.sample_ms = 1000;
    cfg.on_event = on_event;
    cfg.on_sample = on_sample;
    nev = 0;
    flowed_uC = 0;
    fnv = UINT64_C(0xcbf29ce484222325);
    assert_non_null(cfg.battery_proto);
    assert_int_equal(bl_sim_init(&sim, &cfg), 0);
    bl_sim_run(&sim, until_ms);
}

static unsigned count(uint8_t kind, int32_t a)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nev; i++)
        if (ev[i].kind == kind && (a < 0 || ev[i].a == a))
            n++;
    return n;
}

static const bl_sim_event_t *first(uint8_t kind, int32_t a)
{
    for (unsigned i = 0; i < nev; i++)
        if (ev[i].kind == kind && (a < 0 || ev[i].a == a))
            return &ev[i];
    return NULL;
}

#define H(x) ((uint64_t)(x) * 3600000u)
#define MIN(x) ((uint64_t)(x) * 60000u)

static void assert_limits_respected(void)
{
    for (unsigned k = 0; k < BL_VIOL_COUNT; k++) {
        if (sim.viol_ms[k])
            fail_msg("%s exceeded for %llu ms", bl_viol_str(k), (unsigned long long)sim.viol_ms[k]);
    }
}

#endif
