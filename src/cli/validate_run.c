/* One validation session, simulated or live, and its text and JSON (validate_run.h). */
#include "validate_run.h"

#include "bmslink/lossy.h"
#include "bmslink/transport.h"
#include "cli.h"
#include "emulate.h"
#include "live.h"
#include "sim_cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_DEFAULT_MS UINT64_C(120000) /* a live session without --duration: two minutes */
#define POINTS_TARGET 1800u              /* chart points per session */
#define MAX_EVENTS 2000u

const char *vr_status_str(unsigned s)
{
    static const char *const n[] = { "pass", "partial", "fail", "untested" };
    return s <= VR_UNTESTED ? n[s] : "untested";
}

/* ---- profiles ------------------------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const bl_profile_file_t *)a)->p.name, ((const bl_profile_file_t *)b)->p.name);
}

int vr_profiles(const char *verb, char **names, unsigned nnames, bl_profile_file_t **out, unsigned *n)
{
    bl_profile_file_t *all = NULL, *sel = NULL;
    unsigned cap = 0, k = 0;
    bool want_all = false;
    int rc = BL_EXIT_OK;

    *out = NULL;
    *n = 0;
    for (unsigned i = 0; i < nnames; i++)
        if (strcmp(names[i], "all") == 0)
            want_all = true;
    if (want_all) {
        int errors = 0;
        int got = bl_profiles_load_dir(cli_profiles_dir(), &all, cli_load_err, &errors);
        if (got <= 0) {
            cli_err("%s: no inverter profiles in %s", verb, cli_profiles_dir());
            free(all);
            return BL_EXIT_IO;
        }
        if (errors > 0) {
            free(all);
            return BL_EXIT_USAGE; /* a broken shipped profile: said above, file and line */
        }
        *out = all;
        *n = (unsigned)got;
        return BL_EXIT_OK;
    }
    for (unsigned i = 0; i < nnames && rc == BL_EXIT_OK; i++) {
        char buf[1024], *save = NULL;
        snprintf(buf, sizeof buf, "%s", names[i]);
        for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
            if (k == cap) {
                bl_profile_file_t *nn = realloc(sel, (cap = cap ? cap * 2 : 4) * sizeof *sel);
                if (nn == NULL) {
                    cli_err("%s: out of memory", verb);
                    rc = BL_EXIT_IO;
                    break;
                }
                sel = nn;
            }
            if ((rc = cli_profile_load(verb, tok, &sel[k])) != BL_EXIT_OK)
                break;
            k++;
        }
    }
    if (rc != BL_EXIT_OK) {
        free(sel);
        return rc;
    }
    if (k > 1)
        qsort(sel, k, sizeof *sel, by_name);
    *out = sel;
    *n = k;
    return BL_EXIT_OK;
}

/* ---- what was tested ---------------------------------------------------------------------------- */

static void describe(const vr_opts_t *o, const bl_inv_profile_t *p, vr_result_t *r)
{
    size_t n = 0;

    snprintf(r->profile, sizeof r->profile, "%s", p->name);
    snprintf(r->brand, sizeof r->brand, "%s", p->brand != NULL ? p->brand : "");
    r->model[0] = '\0';
    for (unsigned i = 0; i < p->nmodels && n < sizeof r->model; i++)
        n += (size_t)snprintf(r->model + n, sizeof r->model - n, "%s%s", i ? ", " : "", p->models[i]);
    if (p->nmodels == 0)
        snprintf(r->model, sizeof r->model, "%s", p->family != NULL ? p->family : p->name);
    if (p->bus == BL_BUS_CAN)
        snprintf(r->interface, sizeof r->interface, "CAN %u kbit/s, %s",
                 (unsigned)((p->bitrate ? p->bitrate : p->proto ? bl_proto_bitrate(p->proto) : 500000u) / 1000u),
                 p->protocol_name);
    else
        snprintf(r->interface, sizeof r->interface, "%s %u baud, %s", p->bus == BL_BUS_RS485 ? "RS485" : "Modbus",
                 (unsigned)(p->baud ? p->baud : p->proto ? bl_proto_baud(p->proto) : 9600u), p->protocol_name);
    snprintf(r->protocol, sizeof r->protocol, "%s", p->protocol_name);
    snprintf(r->inv_firmware, sizeof r->inv_firmware, "%s", p->nfw ? p->firmware[0] : "default");
    snprintf(r->battery, sizeof r->battery, "%s", o->battery);
    r->nsettings = 0;
    for (unsigned i = 0; i < p->nsettings && i < BL_INV_MAX_SETTINGS; i++)
        snprintf(r->settings[r->nsettings++], sizeof r->settings[0], "%s = %s", p->settings[i].name,
                 p->settings[i].required);
    r->live = o->live;
    snprintf(r->scenario, sizeof r->scenario, "%s", o->capture != NULL ? "bench capture" : o->live ? "live" : o->scn->name);
}

static void untested(vr_result_t *r, const char *fmt, const char *a, const char *b)
{
    r->ran = false;
    r->status = VR_UNTESTED;
    snprintf(r->why, sizeof r->why, fmt, a, b);
}

static void verdict(vr_result_t *r)
{
    bool fail = false, crit = false;
    for (unsigned i = 0; i < BL_VC_COUNT; i++)
        if (r->checks[i].status == BL_VS_FAIL) {
            fail = true;
            crit = crit || bl_val_check_critical(i);
        }
    r->ran = true;
    r->status = crit ? VR_FAIL : fail ? VR_PARTIAL : VR_PASS;
}

static void quirks_text(vr_result_t *r, const bl_inv_profile_t *p, uint32_t acted)
{
    size_t n = 0;
    r->quirks[0] = '\0';
    for (unsigned q = 0; q < BL_QK_COUNT; q++) {
        int row = -1;
        if (!(acted >> q & 1u))
            continue;
        for (unsigned i = 0; i < p->nquirks && row < 0; i++)
            if (p->quirks[i].id == q)
                row = (int)i;
        if (n < sizeof r->quirks)
            n += (size_t)snprintf(r->quirks + n, sizeof r->quirks - n, "%s%s%s%s%s", n ? "; " : "", bl_quirk_str(q),
                                  row >= 0 && p->quirks[row].source ? " (" : "",
                                  row >= 0 && p->quirks[row].source ? p->quirks[row].source : "",
                                  row >= 0 && p->quirks[row].source ? ")" : "");
    }
}

/* ---- the timeline for the charts ---------------------------------------------------------------- */

static int32_t shown(const bl_record_t *r, unsigned f)
{
    return r->f[f].valid ? r->f[f].value : INT32_MIN;
}

static int32_t asked(const bl_val_sample_t *s, unsigned f, bool lower)
{
    const bl_record_t *w = s->wire != NULL ? s->wire : &s->inv->rx;
    int32_t a = s->bms != NULL && s->bms->f[f].valid ? s->bms->f[f].value : INT32_MIN;
    int32_t b = w->f[f].valid ? w->f[f].value : INT32_MIN;
    if (a == INT32_MIN)
        return b;
    if (b == INT32_MIN)
        return a;
    return lower ? (a < b ? a : b) : (a > b ? a : b);
}

static void keep_point(vr_result_t *r, const bl_val_sample_t *s, uint64_t t0, unsigned temp_field, int32_t flowed)
{
    const bl_record_t *b = s->bms != NULL ? s->bms : &s->inv->rx;
    const bl_record_t *v = &s->inv->view;
    vr_point_t *p;

    if (r->nsamples++ % r->stride != 0 || r->oom)
        return;
    if (r->npts == r->cpts) {
        size_t nc = r->cpts ? r->cpts * 2 : 512;
        vr_point_t *np = realloc(r->pts, nc * sizeof *np);
        if (np == NULL) {
            r->oom = true;
            return;
        }
        r->pts = np;
        r->cpts = nc;
    }
    p = &r->pts[r->npts++];
    p->t_ms = s->t_ms - t0;
    p->soc = shown(b, BL_F_SOC);
    p->soc_shown = shown(v, BL_F_SOC);
    p->v = s->v_known ? s->v_mV : shown(b, BL_F_VOLTAGE);
    p->v_shown = shown(v, BL_F_VOLTAGE);
    p->i = flowed;
    p->i_shown = shown(v, BL_F_CURRENT);
    p->drive = s->inv->state == BL_INV_RUN ? s->out->i_mA : 0;
    p->temp = shown(b, temp_field);
    p->temp_shown = shown(v, temp_field);
    p->cvl = asked(s, BL_F_CVL, true);
    p->dvl = asked(s, BL_F_DVL, false);
    p->ccl = asked(s, BL_F_CCL, true);
    p->dcl = asked(s, BL_F_DCL, true);
    p->raised = s->raised != NULL ? (bl_alarm_mask_t)(s->raised[0] | s->raised[1] | s->raised[2])
                                  : (bl_alarm_mask_t)(b->active[0] | b->active[1] | b->active[2]);
    p->state = s->inv->state;
    p->silent = s->silent;
    p->blocked = s->blocked;
}

static bool event_kept(unsigned kind)
{
    switch (kind) {
    case BL_EV_PROT_TRIP:
    case BL_EV_PROT_RELEASE:
    case BL_EV_WARN_ON:
    case BL_EV_INV_STATE:
    case BL_EV_INV_DETECT:
    case BL_EV_INV_TIMEOUT:
    case BL_EV_QUIRK:
    case BL_EV_SCENARIO:
    case BL_EV_SCENARIO_END:
    case BL_EV_SETTING:
    case BL_EV_VIOLATION: return true;
    default: return false;
    }
}

static void keep_event(vr_result_t *r, const bl_sim_event_t *e, uint64_t t0)
{
    if (!event_kept(e->kind) || r->nev >= MAX_EVENTS || r->oom)
        return;
    if (r->nev == r->cev) {
        size_t nc = r->cev ? r->cev * 2 : 64;
        bl_sim_event_t *ne = realloc(r->ev, nc * sizeof *ne);
        if (ne == NULL) {
            r->oom = true;
            return;
        }
        r->ev = ne;
        r->cev = nc;
    }
    r->ev[r->nev] = *e;
    r->ev[r->nev].t_ms = e->t_ms >= t0 ? e->t_ms - t0 : 0;
    r->nev++;
}

/* ---- simulated sessions ----------------------------------------------------------------------------- */

typedef struct {
    vr_result_t *r;
    bl_val_sim_t *vs;
    uint64_t t0;
    bool timeline;
} sim_ctx_t;

static void sim_sample(void *ctx, const bl_sim_sample_t *smp, const bl_val_sample_t *vs)
{
    sim_ctx_t *c = ctx;
    if (c->timeline)
        keep_point(c->r, vs, c->t0, c->vs->val.meas[3].field, smp->bat->i_mA);
}

static void sim_event(void *ctx, const bl_sim_event_t *e)
{
    sim_ctx_t *c = ctx;
    if (c->timeline)
        keep_event(c->r, e, c->t0);
}

static int fw_index(const bl_inv_profile_t *p, const char *name)
{
    for (unsigned i = 0; i < p->nfw; i++)
        if (strcmp(p->firmware[i], name) == 0)
            return (int)i;
    return -1;
}

static int run_sim(const vr_opts_t *o, const bl_profile_file_t *pf, vr_result_t *r)
{
    const bl_inv_profile_t *p = &pf->p;
    const bl_protocol_t *bp = o->bp != NULL ? o->bp : p->proto;
    bl_val_sim_t *vs;
    bl_val_sim_cfg_t cfg;
    sim_ctx_t ctx;
    uint64_t dur;
    int rc;

    if (bp != NULL)
        snprintf(r->bat_protocol, sizeof r->bat_protocol, "%s", bp->name);
    snprintf(r->bat_manufacturer, sizeof r->bat_manufacturer, "%s", o->scn->battery.manufacturer);
    snprintf(r->bat_model, sizeof r->bat_model, "%s", o->scn->battery.model);
    snprintf(r->bat_firmware, sizeof r->bat_firmware, "%s", o->scn->battery.firmware);
    if (p->proto == NULL) {
        untested(r, "the profile's protocol %s is not in this build%s", p->protocol_name, "");
        return BL_EXIT_OK;
    }
    if (bl_proto_root(p->proto)->bus == BL_BUS_MODBUS) {
        untested(r, "%s is a Modbus register map: the inverter model runs CAN and RS485 byte protocols%s",
                 p->protocol_name, "");
        return BL_EXIT_OK;
    }
    if (bl_proto_root(bp)->bus == BL_BUS_MODBUS) {
        untested(r, "the battery speaks %s, a Modbus register map: the closed loop runs CAN and RS485%s", bp->name, "");
        return BL_EXIT_OK;
    }
    if (bl_proto_root(bp)->bus != bl_proto_root(p->proto)->bus) {
        untested(r, "the battery speaks %s, the inverter %s: they are not on the same bus", bp->name, p->protocol_name);
        return BL_EXIT_OK;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.battery = bp;
    cfg.profile = p;
    cfg.scn = o->scn;
    cfg.firmware = o->firmware != NULL ? fw_index(p, o->firmware) : -1;
    if (o->firmware != NULL && cfg.firmware < 0) {
        untested(r, "the profile has no firmware '%s'%s", o->firmware, "");
        return BL_EXIT_USAGE;
    }
    dur = o->duration_ms ? o->duration_ms : o->scn->duration_ms ? o->scn->duration_ms : UINT64_C(1800000);
    r->stride = (uint32_t)(dur / (o->scn->step_ms ? o->scn->step_ms : 1000u) / POINTS_TARGET + 1u);
    cfg.duration_ms = dur;
    if ((vs = malloc(sizeof *vs)) == NULL) {
        cli_err("%s: out of memory", o->verb);
        return BL_EXIT_IO;
    }
    ctx.r = r;
    ctx.vs = vs;
    ctx.t0 = o->scn->start_ms;
    ctx.timeline = o->timeline;
    cfg.ctx = &ctx;
    cfg.on_sample = sim_sample;
    cfg.on_event = sim_event;
    rc = bl_val_sim_run(vs, &cfg, r->checks);
    if (rc < 0) {
        if (vs->sim.bad_event >= 0 && vs->sim.bad_event < o->scn->nev) {
            const bl_scn_event_t *e = &o->scn->ev[vs->sim.bad_event];
            snprintf(r->why, sizeof r->why, "%s:%u: event %s: %s", o->scenario_path ? o->scenario_path : "scenario",
                     (unsigned)e->line, bl_scn_kind_str(e->kind),
                     rc == BL_ENOENT ? "names a setting or firmware this profile lacks"
                                     : "not possible with this battery protocol");
        } else {
            snprintf(r->why, sizeof r->why, "the closed loop cannot start: %s", bl_strerror(rc));
        }
        r->ran = false;
        r->status = VR_UNTESTED;
        free(vs);
        return BL_EXIT_USAGE;
    }
    if (vs->sim.inv.fw < p->nfw)
        snprintf(r->inv_firmware, sizeof r->inv_firmware, "%s", p->firmware[vs->sim.inv.fw]);
    r->session_ms = vs->end_ms - o->scn->start_ms;
    r->stopped_early = vs->stopped_early;
    quirks_text(r, p, vs->val.quirks_acted);
    verdict(r);
    free(vs);
    if (r->oom) {
        cli_err("%s: out of memory for the report's timeline", o->verb);
        return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

/* ---- live sessions: the inverter role of emulate inverter drives a real battery ------------------ */

typedef struct {
    vr_result_t *r;
    bl_val_t val;
    uint64_t t0;
    uint32_t silent_after_ms;
    bool timeline;
} live_ctx_t;

/* The battery is silent when nothing of it was decoded for three of its periods (at least 3 s);
 * the silence began with the last frame heard (*since). */
static bool live_silent(const live_ctx_t *c, const bl_inv_t *inv, uint64_t now, uint64_t *since)
{
    uint64_t last = BL_NEVER;
    unsigned n = inv->rs != NULL ? inv->rs_n : inv->codec.n;
    for (unsigned j = 0; j < n && j < BL_CAN_MAX_MSGS; j++)
        if (inv->heard_ms[j] != BL_NEVER && (last == BL_NEVER || inv->heard_ms[j] > last))
            last = inv->heard_ms[j];
    *since = last;
    return last != BL_NEVER && now - last > c->silent_after_ms;
}

static void live_step(void *ctx, const bl_inv_t *inv, const bl_inv_out_t *out, uint64_t now_ms)
{
    live_ctx_t *c = ctx;
    bl_val_sample_t s;
    bl_alarm_mask_t prot = inv->rx.active[BL_AC_PROTECTION];

    memset(&s, 0, sizeof s);
    s.t_ms = now_ms;
    s.inv = inv;
    s.out = out;
    s.v_known = inv->rx.f[BL_F_VOLTAGE].valid;
    s.v_mV = inv->rx.f[BL_F_VOLTAGE].value;
    /* a real battery's open paths: what its protections say, and its enable flags */
    if ((prot & ((1u << BL_A_CELL_OV) | (1u << BL_A_PACK_OV) | (1u << BL_A_CHG_OT) | (1u << BL_A_CHG_UT) |
                 (1u << BL_A_CHG_OC))) ||
        (inv->rx.f[BL_F_CHARGE_ENABLE].valid && !inv->rx.f[BL_F_CHARGE_ENABLE].value))
        s.blocked |= BL_BSIM_BLOCK_CHARGE;
    if ((prot & ((1u << BL_A_CELL_UV) | (1u << BL_A_PACK_UV) | (1u << BL_A_DSG_OT) | (1u << BL_A_DSG_UT) |
                 (1u << BL_A_DSG_OC) | (1u << BL_A_SHORT))) ||
        (inv->rx.f[BL_F_DISCHARGE_ENABLE].valid && !inv->rx.f[BL_F_DISCHARGE_ENABLE].value))
        s.blocked |= BL_BSIM_BLOCK_DISCHARGE;
    s.silent = live_silent(c, inv, now_ms, &s.silent_since_ms);
    bl_val_sample(&c->val, &s);
    if (c->timeline)
        keep_point(c->r, &s, c->t0, c->val.meas[3].field,
                   inv->rx.f[BL_F_CURRENT].valid ? inv->rx.f[BL_F_CURRENT].value : INT32_MIN);
}

static void live_event(void *ctx, const bl_sim_event_t *e)
{
    live_ctx_t *c = ctx;
    bl_val_event(&c->val, e);
    if (c->timeline)
        keep_event(c->r, e, c->t0);
}

static int run_live(const vr_opts_t *o, const bl_profile_file_t *pf, vr_result_t *r)
{
    const bl_inv_profile_t *p = &pf->p;
    const bl_protocol_t *bp = o->bp != NULL ? o->bp : p->proto;
    live_ctx_t *c;
    bl_val_cfg_t vc;
    bl_emulate_opts_t eo;
    int rc;
    uint32_t per = 1000;

    snprintf(r->bat_protocol, sizeof r->bat_protocol, "%s", bp != NULL ? bp->name : p->protocol_name);
    if (p->proto == NULL || bl_proto_root(p->proto)->bus == BL_BUS_MODBUS) {
        untested(r, "the inverter model cannot run %s%s", p->protocol_name, "");
        return BL_EXIT_OK;
    }
    if ((c = calloc(1, sizeof *c)) == NULL) {
        cli_err("%s: out of memory", o->verb);
        return BL_EXIT_IO;
    }
    c->r = r;
    c->t0 = o->scn->start_ms;
    c->timeline = o->timeline;
    if (bl_proto_root(p->proto)->bus == BL_BUS_CAN)
        per = bl_proto_timeout_ms(p->proto) / 10u;
    c->silent_after_ms = 3u * per > 3000u ? 3u * per : 3000u;
    memset(&vc, 0, sizeof vc);
    vc.battery = bp;
    vc.profile = p;
    vc.start_ms = o->scn->start_ms;
    vc.step_ms = 1000;
    if (bl_val_init(&c->val, &vc) < 0) {
        untested(r, "the judge cannot run %s%s", p->protocol_name, "");
        free(c);
        return BL_EXIT_OK;
    }
    r->stride = (uint32_t)((o->duration_ms ? o->duration_ms : LIVE_DEFAULT_MS) / 1000u / POINTS_TARGET + 1u);
    memset(&eo, 0, sizeof eo);
    eo.role = "inverter";
    eo.profile = pf->path;
    eo.on = o->battery;
    eo.scn = o->scn;
    eo.firmware = o->firmware;
    eo.duration_ms = o->duration_ms ? o->duration_ms : LIVE_DEFAULT_MS;
    eo.quiet = true;
    eo.step_ctx = c;
    eo.on_step = live_step;
    eo.on_event = live_event;
    eo.loaded = pf;
    rc = cli_emulate_inverter(&eo);
    if (rc != BL_EXIT_OK) {
        free(c);
        return rc;
    }
    snprintf(r->inv_firmware, sizeof r->inv_firmware, "%s", p->nfw ? p->firmware[c->val.inv_fw] : "default");
    r->session_ms = c->val.last_ms >= c->t0 ? c->val.last_ms - c->t0 : 0;
    bl_val_finish(&c->val, c->val.last_ms, r->checks);
    quirks_text(r, p, c->val.quirks_acted);
    snprintf(r->bat_firmware, sizeof r->bat_firmware, "%s", c->val.firmware_seen);
    verdict(r);
    free(c);
    return BL_EXIT_OK;
}

/* ---- bench captures: a recorded session of a real battery and a real inverter, judged offline ---- */

#define CAP_STEP_MS 1000u      /* the judge's step on the capture's clock */
#define CAP_BAD_SHOWN 5u       /* malformed lines named on stderr, then a count */
#define CAP_WALLCLOCK_US UINT64_C(946684800000000) /* 2000-01-01: below it a timestamp is relative */
#define CAP_MAX_GAP_MS UINT64_C(3600000) /* a longer jump is a pause of the recording, not an hour of bus */

typedef struct {
    const vr_opts_t *o;
    vr_result_t *r;
    const bl_inv_profile_t *p;
    unsigned fw;
    bl_val_cfg_t vc;
    bl_inv_t inv;
    live_ctx_t lc;             /* the judge, silence detection and the timeline, as for a live session */
    uint64_t t0, now, next_step;
    bool started;
    unsigned bad_shown;
    uint64_t gaps;             /* jumps longer than CAP_MAX_GAP_MS */
} cap_ctx_t;

/*
 * One step of the recorded session. The profile's inverter model reads the battery's frames as
 * the real inverter's decoder would (what it is shown, its detection, its timeouts); the current
 * judged against the limits is the one the battery itself measured and reported, i.e. what the
 * real inverter drove -- not what the model would drive.
 */
static void cap_step(cap_ctx_t *c, uint64_t t)
{
    const bl_record_t *rx = &c->inv.rx;
    bl_inv_env_t env;
    bl_inv_out_t model, measured;

    /* the real inverter sent its requests (they are in the capture); the model's session moves
     * on as if it had sent them, so a protocol that waits for a request detects the same way */
    if (c->inv.rs == NULL) {
        bl_can_frame_t scratch[BL_CAN_MAX_MSGS];
        uint64_t next;
        (void)bl_inv_tx(&c->inv, t, scratch, BL_CAN_MAX_MSGS, &next);
    }
    memset(&env, 0, sizeof env);
    env.grid = 1;
    env.v_mV = rx->f[BL_F_VOLTAGE].valid ? rx->f[BL_F_VOLTAGE].value : 0;
    env.i_mA = rx->f[BL_F_CURRENT].valid ? rx->f[BL_F_CURRENT].value : 0;
    env.temp_mdegC = rx->f[BL_F_TEMP].valid ? rx->f[BL_F_TEMP].value : 25000;
    bl_inv_step(&c->inv, &env, t, &model);
    memset(&measured, 0, sizeof measured);
    measured.i_mA = env.i_mA;
    live_step(&c->lc, &c->inv, &measured, t);
}

/* Frames arrive in capture time; the steps due before a frame are taken first. A timestamp
 * that goes backwards (logs merged from two interfaces) is taken as "now". */
static void cap_time(cap_ctx_t *c, uint64_t ts_us)
{
    uint64_t ms = ts_us / 1000u;
    if (!c->started) {
        /* the session starts at the capture's first frame: the model and the judge start there
         * (both were tried at setup, so they start) */
        c->started = true;
        c->t0 = c->now = ms;
        c->next_step = ms + CAP_STEP_MS;
        c->r->cap_first_us = ts_us;
        c->r->cap_wallclock = ts_us >= CAP_WALLCLOCK_US;
        (void)bl_inv_init(&c->inv, c->p, c->fw, ms);
        c->inv.on_event = live_event;
        c->inv.ev_ctx = &c->lc;
        c->vc.start_ms = ms;
        c->lc.t0 = ms;
        (void)bl_val_init(&c->lc.val, &c->vc);
        return;
    }
    if (ms > c->now)
        c->now = ms;
    if (c->now > c->next_step && c->now - c->next_step > CAP_MAX_GAP_MS) {
        /* the recording was paused (or a timestamp is wrong): its first hour is judged as a
         * silence, the rest is not stepped through one second at a time */
        uint64_t until = c->next_step + CAP_MAX_GAP_MS;
        while (c->next_step <= until) {
            cap_step(c, c->next_step);
            c->next_step += CAP_STEP_MS;
        }
        c->next_step += (c->now - c->next_step) / CAP_STEP_MS * CAP_STEP_MS;
        c->gaps++;
    }
    while (c->next_step <= c->now) {
        cap_step(c, c->next_step);
        c->next_step += CAP_STEP_MS;
    }
}

static void cap_bad(cap_ctx_t *c, const char *path, uint64_t line, const char *what, unsigned col)
{
    c->r->cap_bad_lines++;
    if (c->bad_shown++ >= CAP_BAD_SHOWN)
        return;
    if (line == 0) /* a binary capture that is not one: no line to name */
        cli_err("%s: %s", path, what);
    else
        cli_err("%s:%llu: %s (column %u): line skipped", path, (unsigned long long)line, what, col);
}

static int cap_read_can(cap_ctx_t *c, const char *path)
{
    bl_transport_t t;
    uint64_t untimed = 0;
    int rc;

    if ((rc = live_open(&t, path, c->o->capfmt, NULL)) != 0)
        return rc;
    if (t.live) {
        bl_transport_close(&t);
        cli_err("%s: matrix import reads a capture file; a live bus is validated with bmslink validate --battery",
                path);
        return BL_EXIT_USAGE;
    }
    t.notify = NULL;
    for (;;) {
        bl_cap_frame_t cf;
        bl_line_err_t le;
        uint32_t before;
        rc = bl_transport_read(&t, &cf, -1, &le);
        if (rc == BL_ENOENT)
            break;
        if (rc == 0)
            continue;
        if (rc == BL_EBADMSG) {
            cap_bad(c, path, t.line, le.what, le.col);
            continue;
        }
        if (rc < 0) {
            cli_err("%s:%llu: read error: %s", path, (unsigned long long)t.line, t.err[0] ? t.err : bl_strerror(rc));
            bl_transport_close(&t);
            return BL_EXIT_IO;
        }
        if (!cf.has_ts) {
            untimed++;
            continue;
        }
        cap_time(c, cf.ts_us);
        before = c->inv.rx_foreign;
        bl_inv_rx(&c->inv, &cf.f, c->now);
        if (c->inv.rx_foreign != before)
            c->r->cap_frames_inverter++;
    }
    bl_transport_close(&t);
    if (!c->started) {
        if (untimed > 0)
            cli_err("%s: %llu frames but no timestamps: the judge needs the capture's time (record with "
                    "candump -L, candump -t a, or as ASC)", path, (unsigned long long)untimed);
        else if (c->r->cap_bad_lines > 0)
            cli_err("%s: no CAN frames: none of %llu %s is a CAN frame of a format bmslink reads", path,
                    (unsigned long long)c->r->cap_bad_lines, t.binary ? "records" : "lines");
        else
            cli_err("%s: no CAN frames (empty capture?)", path);
        return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

static int cap_read_rs485(cap_ctx_t *c, const char *path)
{
    static uint8_t b[BL_LINE_MAX];
    bl_linereader_t lr;
    const char *line;
    size_t len;
    uint64_t untimed = 0;
    int rc;

    if ((rc = bl_lr_open(&lr, path)) < 0) {
        cli_err("%s: cannot open: %s", path, strerror(-rc));
        return BL_EXIT_IO;
    }
    while ((rc = bl_lr_next(&lr, &line, &len)) == 1) {
        size_t n = 0, col = 0;
        uint64_t ts = 0;
        bool has = false;
        const char *what = "line longer than 4096 bytes";
        uint32_t before;
        int k = lr.too_long ? -1 : cli_hex485_line(line, len, b, sizeof b, &n, &ts, &has, &what, &col);
        if (k < 0) {
            cap_bad(c, path, lr.line, what, (unsigned)col);
            continue;
        }
        if (k == 0)
            continue;
        if (!has) {
            untimed++;
            continue;
        }
        cap_time(c, ts);
        before = c->inv.rx_foreign;
        bl_inv_rx_bytes(&c->inv, b, n, c->now);
        if (c->inv.rx_foreign != before)
            c->r->cap_frames_inverter++;
    }
    bl_lr_close(&lr);
    if (rc < 0) {
        cli_err("%s: read error: %s", path, strerror(-rc));
        return BL_EXIT_IO;
    }
    if (!c->started) {
        if (untimed > 0)
            cli_err("%s: %llu RS485 frames but no timestamps: the judge needs the capture's time", path,
                    (unsigned long long)untimed);
        else
            cli_err("%s: no RS485 bytes: no line holds hex bytes or a ~ASCII frame", path);
        return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

/* A capture's length is known only at its end: its chart keeps about POINTS_TARGET points, and
 * every point where the state, a silence or an open path changes (the bands the report draws). */
static void thin_points(vr_result_t *r)
{
    size_t k = r->npts / POINTS_TARGET + 1u, w = 1;
    for (size_t i = 1; i < r->npts; i++) {
        const vr_point_t *a = &r->pts[w - 1], *b = &r->pts[i];
        if (i % k == 0 || i + 1 == r->npts || a->state != b->state || a->silent != b->silent || a->blocked != b->blocked)
            r->pts[w++] = *b;
    }
    r->npts = w;
}

static int run_capture(const vr_opts_t *o, const bl_profile_file_t *pf, vr_result_t *r)
{
    const bl_inv_profile_t *p = &pf->p;
    const bl_protocol_t *bp = o->bp != NULL ? o->bp : p->proto;
    const char *path = strncmp(o->capture, "file:", 5) == 0 ? o->capture + 5 : o->capture;
    const char *base = strrchr(path, '/');
    cap_ctx_t *c;
    int fw = 0, rc;
    uint32_t per = 1000;

    r->recorded = true;
    snprintf(r->scenario, sizeof r->scenario, "bench capture %s", base != NULL ? base + 1 : path);
    if (p->proto == NULL || bl_proto_root(p->proto)->bus == BL_BUS_MODBUS) {
        cli_err("%s: %s: the inverter model cannot read %s (%s)", o->verb, p->name, p->protocol_name,
                p->proto == NULL ? "not in this build" : "a Modbus register map");
        return BL_EXIT_USAGE;
    }
    if (bp == NULL || bl_proto_root(bp)->bus != bl_proto_root(p->proto)->bus) {
        cli_err("%s: the battery speaks %s, %s reads %s: they are not on the same bus", o->verb,
                bp != NULL ? bp->name : "?", p->name, p->protocol_name);
        return BL_EXIT_USAGE;
    }
    snprintf(r->bat_protocol, sizeof r->bat_protocol, "%s", bp->name);
    if (o->firmware != NULL && (fw = fw_index(p, o->firmware)) < 0)
        fw = 0; /* a bench firmware the profile has no variant for: the default model, the version recorded */
    if ((c = calloc(1, sizeof *c)) == NULL) {
        cli_err("%s: out of memory", o->verb);
        return BL_EXIT_IO;
    }
    c->o = o;
    c->r = r;
    c->p = p;
    c->fw = (unsigned)fw;
    c->vc.battery = bp;
    c->vc.profile = p;
    c->vc.step_ms = CAP_STEP_MS;
    c->vc.recorded = 1;
    c->lc.r = r;
    c->lc.timeline = o->timeline;
    if (bl_inv_init(&c->inv, p, c->fw, 0) < 0 || bl_val_init(&c->lc.val, &c->vc) < 0) {
        cli_err("%s: %s: the inverter model or the judge cannot run %s", o->verb, p->name, p->protocol_name);
        free(c);
        return BL_EXIT_USAGE;
    }
    if (bl_proto_root(p->proto)->bus == BL_BUS_CAN)
        per = bl_proto_timeout_ms(p->proto) / 10u;
    c->lc.silent_after_ms = 3u * per > 3000u ? 3u * per : 3000u;
    rc = bl_proto_root(p->proto)->bus == BL_BUS_CAN ? cap_read_can(c, path) : cap_read_rs485(c, path);
    if (rc != BL_EXIT_OK) {
        free(c);
        return rc;
    }
    if (c->next_step - CAP_STEP_MS < c->now)
        cap_step(c, c->now); /* the last frames are judged too */
    if (c->gaps > 0)
        cli_err("%s: %llu jump%s of the timestamps over an hour: taken as pauses of the recording (the first hour of "
                "each judged as a silence)", path, (unsigned long long)c->gaps, c->gaps == 1 ? "" : "s");
    r->cap_frames_battery = c->inv.rx_frames;
    if (c->inv.rx_frames == 0) {
        size_t k = 0;
        char why[160] = "";
        for (unsigned j = 0; j < BL_REJ_COUNT && k < sizeof why; j++)
            if (c->inv.rx_rejected[j])
                k += (size_t)snprintf(why + k, sizeof why - k, "%s%u %s", k ? ", " : "; rejected: ",
                                      (unsigned)c->inv.rx_rejected[j], bl_reject_str(j));
        cli_err("%s: no battery frame that %s reads (%s)%s; %llu inverter frames: a capture of another bus or "
                "protocol? (bmslink detect %s)", path, p->name, p->protocol_name, why,
                (unsigned long long)r->cap_frames_inverter, path);
        free(c);
        return BL_EXIT_USAGE;
    }
    if (o->firmware != NULL)
        snprintf(r->inv_firmware, sizeof r->inv_firmware, "%s", o->firmware);
    else if (p->nfw)
        snprintf(r->inv_firmware, sizeof r->inv_firmware, "%s", p->firmware[c->inv.fw < p->nfw ? c->inv.fw : 0]);
    r->session_ms = c->now - c->t0;
    if (r->npts > (size_t)2 * POINTS_TARGET)
        thin_points(r);
    bl_val_finish(&c->lc.val, c->now, r->checks);
    quirks_text(r, p, c->lc.val.quirks_acted);
    snprintf(r->bat_manufacturer, sizeof r->bat_manufacturer, "%s", bl_record_str(&c->inv.rx, BL_F_MANUFACTURER));
    snprintf(r->bat_model, sizeof r->bat_model, "%s", bl_record_str(&c->inv.rx, BL_F_MODEL));
    snprintf(r->bat_firmware, sizeof r->bat_firmware, "%s", c->lc.val.firmware_seen);
    verdict(r);
    free(c);
    if (r->oom) {
        cli_err("%s: out of memory for the report's timeline", o->verb);
        return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

int vr_run(const vr_opts_t *o, const bl_profile_file_t *pf, vr_result_t *r)
{
    memset(r, 0, sizeof *r);
    r->stride = 1;
    describe(o, &pf->p, r);
    return o->capture != NULL ? run_capture(o, pf, r) : o->live ? run_live(o, pf, r) : run_sim(o, pf, r);
}

void vr_free(vr_result_t *r)
{
    free(r->pts);
    free(r->ev);
    r->pts = NULL;
    r->ev = NULL;
    r->npts = r->cpts = r->nev = r->cev = 0;
}

/* ---- output ------------------------------------------------------------------------------------ */

static void frame_hex(bl_out_t *o, const bl_val_evidence_t *e)
{
    if (e->frame.flags & BL_CAN_ERR) {
        out_str(o, "error frame");
        return;
    }
    if (e->rs485)
        out_printf(o, "cmd 0x%02X ", (unsigned)e->frame.id);
    else
        out_printf(o, (e->frame.flags & BL_CAN_EXT) ? "0x%08X " : "0x%03X ", (unsigned)e->frame.id);
    out_hex(o, e->frame.data, e->frame.len);
}

void vr_evidence_text(bl_out_t *o, const bl_val_evidence_t *e)
{
    out_clock(o, e->t_ms);
    out_str(o, e->from == BL_SIDE_BATTERY ? " battery " : " inverter ");
    frame_hex(o, e);
    if (e->what[0])
        out_printf(o, " (%s)", e->what);
}

void vr_print_text(bl_out_t *o, const vr_result_t *r)
{
    static const char *const tag[] = { "PASS", "FAIL", "skip" };
    static const char *const word[] = { "PASS", "PARTIAL", "FAIL", "UNTESTED" };

    out_printf(o, "%s: %s %s (%s), firmware %s, %s\n", r->profile, r->brand, r->model[0] ? r->model : "",
               r->protocol, r->inv_firmware, r->interface);
    if (!r->ran) {
        out_printf(o, "  UNTESTED: %s\n\n", r->why);
        return;
    }
    out_printf(o, "  battery %s (%s%s%s), %s session%s%s, ", r->battery, r->bat_protocol,
               r->bat_firmware[0] ? ", firmware " : "", r->bat_firmware,
               r->recorded ? "recorded" : r->live ? "live" : "simulated", r->live ? "" : " ", r->live ? "" : r->scenario);
    out_clock(o, r->session_ms);
    out_str(o, r->stopped_early ? " (stopped: nothing more to judge)\n" : "\n");
    for (unsigned i = 0; i < BL_VC_COUNT; i++) {
        const bl_val_check_t *c = &r->checks[i];
        out_printf(o, "  %s  %-16s ", tag[c->status <= BL_VS_SKIP ? c->status : 2], bl_val_check_str(c->id));
        if (c->at_ms != BL_NEVER)
            out_clock(o, c->at_ms);
        else
            out_str(o, "   -    ");
        out_printf(o, "  %s\n", c->observed);
        if (c->status == BL_VS_FAIL) {
            out_printf(o, "        expected: %s\n", c->expected);
            for (unsigned k = 0; k < c->nev; k++) {
                out_str(o, "        evidence: ");
                vr_evidence_text(o, &c->ev[k]);
                out_ch(o, '\n');
            }
        }
    }
    if (r->quirks[0])
        out_printf(o, "  quirks that acted: %s\n", r->quirks);
    out_str(o, "  installer settings: ");
    for (unsigned i = 0; i < r->nsettings; i++)
        out_printf(o, "%s%s", i ? "; " : "", r->settings[i]);
    out_str(o, r->nsettings ? "\n" : "none\n");
    out_printf(o, "  result: %s", word[r->status <= VR_UNTESTED ? r->status : VR_UNTESTED]);
    if (r->status != VR_PASS) {
        bool first = true;
        out_str(o, " (");
        for (unsigned i = 0; i < BL_VC_COUNT; i++)
            if (r->checks[i].status == BL_VS_FAIL) {
                out_printf(o, "%s%s", first ? "" : ", ", bl_val_check_str(i));
                first = false;
            }
        out_ch(o, ')');
    }
    out_str(o, "\n\n");
}

static void j_evidence(bl_out_t *o, const bl_val_evidence_t *e)
{
    j_obj(o);
    j_kmilli(o, "t_s", (int64_t)e->t_ms, 3);
    j_kstr(o, "from", e->from == BL_SIDE_BATTERY ? "battery" : "inverter");
    if (e->frame.flags & BL_CAN_ERR) {
        j_kstr(o, "id", "error");
    } else {
        char id[24];
        snprintf(id, sizeof id, e->rs485 ? "0x%02X" : "0x%X", (unsigned)e->frame.id);
        j_kstr(o, e->rs485 ? "command" : "id", id);
        if (!e->rs485)
            j_kbool(o, "ext", (e->frame.flags & BL_CAN_EXT) != 0);
    }
    j_key(o, "data");
    out_ch(o, '"');
    out_hex(o, e->frame.data, e->frame.len);
    out_ch(o, '"');
    o->first = false;
    j_kstr(o, "what", e->what);
    j_end_obj(o);
}

void vr_print_json(bl_out_t *o, const vr_result_t *r)
{
    o->first = true;
    j_obj(o);
    j_kstr(o, "battery", r->battery);
    j_kstr(o, "battery_protocol", r->bat_protocol);
    j_kstr(o, "battery_firmware", r->bat_firmware);
    j_kstr(o, "inverter", r->profile);
    j_kstr(o, "inverter_model", r->model);
    j_kstr(o, "brand", r->brand);
    j_kstr(o, "protocol", r->protocol);
    j_kstr(o, "interface", r->interface);
    j_kstr(o, "firmware", r->inv_firmware);
    j_kstr(o, "mode", r->recorded ? "bench" : r->live ? "live" : "simulated");
    j_kstr(o, "scenario", r->scenario);
    j_kmilli(o, "session_s", (int64_t)r->session_ms, 3);
    j_kstr(o, "status", r->status == VR_PASS ? "pass" : "fail");
    j_kstr(o, "matrix_status", vr_status_str(r->status));
    j_key(o, "checks");
    j_arr(o);
    for (unsigned i = 0; i < BL_VC_COUNT; i++) {
        const bl_val_check_t *c = &r->checks[i];
        j_obj(o);
        j_kstr(o, "id", bl_val_check_str(c->id));
        j_kstr(o, "status", bl_val_status_str(c->status));
        if (c->at_ms != BL_NEVER)
            j_kmilli(o, "at_s", (int64_t)c->at_ms, 3);
        else
            j_knull(o, "at_s");
        j_kstr(o, "expected", c->expected);
        j_kstr(o, "observed", c->observed);
        j_key(o, "evidence");
        j_arr(o);
        for (unsigned k = 0; k < c->nev; k++)
            j_evidence(o, &c->ev[k]);
        j_end_arr(o);
        j_end_obj(o);
    }
    j_end_arr(o);
    j_key(o, "required_settings");
    j_arr(o);
    for (unsigned i = 0; i < r->nsettings; i++)
        j_str_el(o, r->settings[i]);
    j_end_arr(o);
    j_kstr(o, "quirks_acted", r->quirks);
    j_end_obj(o);
    out_ch(o, '\n');
}
