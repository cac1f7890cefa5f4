/*
 * The simulated battery behind 'emulate battery': the pack and BMS of
 * src/engines/battery_sim.c stepped in real time, with the scenario's
 * battery-side faults (faults.h). One per process.
 */
#include "bmslink/faults.h"
#include "emulate.h"

#include <string.h>

#define STEP_MS 1000u       /* physics and BMS step, as in the closed loop */
#define INV_FRESH_MS 5000u  /* the inverter's reported current counts this long */

typedef struct {
    bl_bsim_t bat;
    bl_faults_t faults;
    const bl_scenario_t *scn;
    bl_record_t raw;        /* what the BMS knows, before firmware faults */
    int32_t i_mA;           /* current flowing until the next step */
    bool started;
    uint64_t base_ms;       /* the caller's clock at its first step() */
} simsrc_t;

static simsrc_t src;

/* What flows: the inverter's own measurement while it sends one, else an obedient power
 * stage following the scenario's PV and load within the BMS's limits. */
static int32_t current_now(const bl_battery_source_t *s, const simsrc_t *ss, uint64_t now)
{
    const bl_record_t *inv = s->inv;
    const bl_scenario_t *scn = ss->scn;
    int64_t net_W, i;
    int32_t v = ss->bat.v_mV > 1000 ? ss->bat.v_mV : 1000;

    if (inv != NULL && bl_field_fresh(&inv->f[BL_F_INV_CURRENT], now, INV_FRESH_MS))
        return inv->f[BL_F_INV_CURRENT].value;
    net_W = (int64_t)bl_scn_profile_at(&scn->pv, now, scn->daily) - bl_scn_profile_at(&scn->load, now, scn->daily);
    i = net_W * 1000000 / v;
    if (i > ss->bat.ccl_mA)
        i = ss->bat.ccl_mA;
    if (i < -ss->bat.dcl_mA)
        i = -ss->bat.dcl_mA;
    return (int32_t)i;
}

/* The record's times in the caller's clock (the simulator runs on the scenario's). */
static void to_caller_clock(bl_record_t *r, int64_t off)
{
    for (unsigned f = 0; f < BL_F_COUNT; f++)
        if (r->f[f].valid)
            r->f[f].seen_ms = (uint64_t)((int64_t)r->f[f].seen_ms + off);
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        r->alarm_seen_ms[c] = (uint64_t)((int64_t)r->alarm_seen_ms[c] + off);
}

static const bl_record_t *sim_step(bl_battery_source_t *s, uint64_t caller_ms)
{
    simsrc_t *ss = s->ctx;
    uint64_t now_ms;

    /* any caller clock (the CAN roles pass the scenario clock, RS485 the monotonic one):
     * the simulation runs on the scenario's, from its start */
    if (!ss->started)
        ss->base_ms = caller_ms;
    now_ms = s->clock0_ms + (caller_ms > ss->base_ms ? caller_ms - ss->base_ms : 0);
    /* catch up in whole steps: the physics does not care how late the caller is */
    while (ss->bat.now_ms + STEP_MS <= now_ms) {
        uint64_t t = ss->bat.now_ms + STEP_MS;
        bl_faults_step(&ss->faults, t, &ss->raw);
        ss->bat.ambient_mdegC = bl_scn_profile_at(&ss->scn->ambient, t, ss->scn->daily);
        (void)bl_bsim_step(&ss->bat, ss->i_mA, t);
        ss->i_mA = current_now(s, ss, t);
        bl_bsim_record(&ss->bat, &ss->raw, t);
    }
    if (!ss->started) {
        bl_bsim_record(&ss->bat, &ss->raw, ss->bat.now_ms);
        ss->started = true;
    }
    bl_faults_record(&ss->faults, &ss->raw, &s->rec, ss->bat.now_ms);
    to_caller_clock(&s->rec, (int64_t)caller_ms - (int64_t)now_ms);
    s->silent = ss->faults.comm_loss || ss->faults.bus_off;
    s->deaf = ss->faults.bus_off || ss->faults.comm_loss_both;
    return &s->rec;
}

static void sim_wire(bl_battery_source_t *s, const bl_can_codec_t *c, bl_can_frame_t *f)
{
    simsrc_t *ss = s->ctx;
    bl_faults_wire(&ss->faults, c, f);
}

int cli_battery_source_sim(bl_battery_source_t *s, const struct bl_scenario *scn)
{
    int rc;
    memset(s, 0, sizeof *s);
    memset(&src, 0, sizeof src);
    bl_record_init(&s->rec);
    bl_record_init(&src.raw);
    src.scn = scn;
    rc = bl_bsim_init(&src.bat, &scn->battery, scn->start_soc_mpct,
                      bl_scn_profile_at(&scn->ambient, scn->start_ms, scn->daily), scn->start_ms);
    if (rc < 0)
        return rc;
    bl_faults_init(&src.faults, scn, &src.bat);
    s->ctx = &src;
    s->step = sim_step;
    s->wire = sim_wire;
    s->clock0_ms = scn->start_ms;
    return 0;
}

void cli_battery_source_events(bl_battery_source_t *s, bl_sim_event_fn fn, void *ctx)
{
    simsrc_t *ss = s->ctx;
    if (ss == NULL || s->step != sim_step)
        return;
    ss->bat.on_event = fn;
    ss->bat.ev_ctx = ctx;
    ss->faults.on_event = fn;
    ss->faults.ev_ctx = ctx;
}
