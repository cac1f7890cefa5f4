/* One validation session, simulated or live, and its text and JSON (validate_run.h). */
#include "validate_run.h"

#include "bmslink/lossy.h"
#include "cli.h"
#include "emulate.h"
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
    snprintf(r->scenario, sizeof r->scenario, "%s", o->live ? "live" : o->scn->name);
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

int vr_run(const vr_opts_t *o, const bl_profile_file_t *pf, vr_result_t *r)
{
    memset(r, 0, sizeof *r);
    r->stride = 1;
    describe(o, &pf->p, r);
    return o->live ? run_live(o, pf, r) : run_sim(o, pf, r);
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
               r->bat_firmware[0] ? ", firmware " : "", r->bat_firmware, r->live ? "live" : "simulated",
               r->live ? "" : " ", r->live ? "" : r->scenario);
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
    j_kstr(o, "mode", r->live ? "live" : "simulated");
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
