/*
 * A simulated validation session (include/bmslink/validate.h): the closed loop of
 * src/engines/sim.c run through the built-in validation script (or the caller's
 * scenario), every control step handed to the judge with what only a simulation
 * knows -- the BMS's own values, the limits it put on the bus, the paths its
 * protections opened, the windows in which its frames were lost.
 */
#include "bmslink/validate.h"

#include <string.h>

#define MIN_MS(m) ((uint64_t)(m) * 60000u)
#define SEC_MS(s) ((uint64_t)(s) * 1000u)
#define SESSION_MS MIN_MS(30)

static void ev_temp(bl_scn_event_t *e, uint64_t at, uint64_t dur, int32_t mdegC)
{
    e->kind = BL_SE_OVER_TEMP;
    e->at_ms = at;
    e->for_ms = dur;
    e->a = mdegC;
}

void bl_val_scenario(bl_scenario_t *s)
{
    /* charging on PV for ten minutes (4.7 kW surplus, ~88 A), then a 4 kW load (~77 A out) */
    static const uint64_t pv_at[] = { 0, MIN_MS(10), MIN_MS(10) + SEC_MS(1), SESSION_MS };
    static const int32_t pv_w[] = { 5000, 5000, 0, 0 };
    static const int32_t load_w[] = { 300, 300, 4000, 4000 };
    bl_scn_event_t *e;

    bl_scn_defaults(s);
    memset(s->name, 0, sizeof s->name);
    memcpy(s->name, "validation", 11);
    s->daily = 0;
    s->start_ms = 0;
    s->duration_ms = SESSION_MS;
    s->start_soc_mpct = 60000;
    s->pv.n = s->load.n = (uint8_t)BL_ARRAY_LEN(pv_at);
    for (unsigned i = 0; i < BL_ARRAY_LEN(pv_at); i++) {
        s->pv.at_ms[i] = s->load.at_ms[i] = pv_at[i];
        s->pv.v[i] = pv_w[i];
        s->load.v[i] = load_w[i];
    }
    s->ambient.n = 1;
    s->ambient.at_ms[0] = 0;
    s->ambient.v[0] = 25000;
    memset(s->ev, 0, sizeof s->ev);
    e = s->ev;
    /* charge: a step of CCL (48 C: the derating curve gives 58 A), back up after 2 min */
    ev_temp(e++, MIN_MS(3), MIN_MS(2), 48000);
    /* charge: CCL derates to 0 at 56 C, then the charge over-temperature protection trips */
    ev_temp(e++, MIN_MS(6), SEC_MS(90), 56000);
    /* charge: -2 C: no charging below 0 C (CCL 0 A), the charge under-temperature protection */
    ev_temp(e++, MIN_MS(8) + SEC_MS(30), SEC_MS(60), -2000);
    /* discharge: a step of DCL (54 C: the derating curve gives ~50 A), a warning, no protection */
    ev_temp(e++, MIN_MS(12), MIN_MS(2), 54000);
    /* discharge: DCL derates to 0 at 61 C, the discharge over-temperature protection trips */
    ev_temp(e++, MIN_MS(15), SEC_MS(60), 61000);
    /* discharge: -22 C: DCL 0 A, the discharge under-temperature protection */
    ev_temp(e++, MIN_MS(17), SEC_MS(60), -22000);
    /* an internal fault raised twice for 8 s */
    e->kind = BL_SE_ALARM_BURST;
    e->at_ms = MIN_MS(19);
    e->aclass = BL_AC_ALARM;
    e->alarms = (bl_alarm_mask_t)(1u << BL_A_INTERNAL);
    e->period_ms = 20000;
    e->on_ms = 8000;
    e->count = 2;
    e++;
    /* four minutes of silence: longer than any profile's timeout (180 s) */
    e->kind = BL_SE_COMM_LOSS;
    e->at_ms = MIN_MS(21);
    e->for_ms = MIN_MS(4);
    e++;
    s->nev = (uint8_t)(e - s->ev);
}

/* The battery's frames do not reach the inverter: lost, the controller off the bus, or
 * the inverter's port at another bitrate (it reads only error frames). */
static bool silent(const bl_sim_t *s)
{
    const bl_faults_t *f = &s->faults;
    return f->comm_loss || f->bus_off || (f->bitrate ? f->bitrate : s->port_bitrate) != s->bat_bitrate;
}

static void on_sample(void *ctx, const bl_sim_sample_t *smp)
{
    bl_val_sim_t *vs = ctx;
    const bl_sim_t *s = &vs->sim;
    bl_val_sample_t v;

    memset(&v, 0, sizeof v);
    v.t_ms = smp->t_ms;
    v.inv = smp->inv;
    v.out = smp->out;
    v.bms = &s->rec;
    v.wire = &s->wire;
    v.raised = s->sent.active;
    v.v_mV = s->bat.v_mV;
    v.v_known = 1;
    v.blocked = s->bat.block;
    v.silent = silent(s);
    bl_val_sample(&vs->val, &v);
    if (vs->cfg.on_sample != NULL)
        vs->cfg.on_sample(vs->cfg.ctx, smp, &v);
}

static void on_event(void *ctx, const bl_sim_event_t *e)
{
    bl_val_sim_t *vs = ctx;
    bl_val_event(&vs->val, e);
    if (vs->cfg.on_event != NULL)
        vs->cfg.on_event(vs->cfg.ctx, e);
}

#define CHUNK_MS 10000u /* how often the run asks the judge whether to go on */

int bl_val_sim_run(bl_val_sim_t *vs, const bl_val_sim_cfg_t *cfg, bl_val_check_t out[BL_VC_COUNT])
{
    bl_sim_cfg_t sc;
    bl_val_cfg_t vc;
    uint64_t end, t;
    int rc;

    memset(&sc, 0, sizeof sc);
    vs->cfg = *cfg;
    vs->stopped_early = 0;
    sc.battery_proto = cfg->battery;
    sc.profile = cfg->profile;
    sc.scn = cfg->scn;
    sc.firmware = cfg->firmware;
    sc.sample_ms = cfg->scn->step_ms ? cfg->scn->step_ms : 1000u;
    sc.ctx = vs;
    sc.on_sample = on_sample;
    sc.on_event = on_event;
    if ((rc = bl_sim_init(&vs->sim, &sc)) < 0)
        return rc;
    memset(&vc, 0, sizeof vc);
    vc.battery = cfg->battery;
    vc.profile = cfg->profile;
    vc.start_ms = cfg->scn->start_ms;
    vc.step_ms = vs->sim.step_ms;
    vc.capacity_mAh = cfg->scn->battery.capacity_mAh;
    if ((rc = bl_val_init(&vs->val, &vc)) < 0)
        return rc;
    end = cfg->scn->start_ms + (cfg->duration_ms ? cfg->duration_ms : cfg->scn->duration_ms ? cfg->scn->duration_ms
                                                                                           : SESSION_MS);
    for (t = cfg->scn->start_ms; t < end;) {
        uint64_t next = end - t > CHUNK_MS ? t + CHUNK_MS : end;
        (void)bl_sim_run(&vs->sim, next);
        t = next;
        if (bl_val_hopeless(&vs->val)) {
            vs->stopped_early = 1; /* never detected: nothing else can be judged */
            break;
        }
    }
    vs->end_ms = t;
    bl_val_finish(&vs->val, t, out);
    return 0;
}
