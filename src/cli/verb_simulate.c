/*
 * bmslink simulate --battery PROTOCOL --inverter PROFILE [--scenario FILE]
 *                  [--duration D] [--json]
 * The closed loop entirely in memory with injected time (src/engines/sim.c):
 * a timeline of what the battery did and sent and what the inverter did,
 * the events with frame evidence, and a summary. Integer arithmetic all the
 * way: the same inputs give byte-identical output.
 */
#include "bmslink/capture.h"
#include "cli.h"
#include "sim_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink simulate --battery PROTOCOL --inverter PROFILE [--scenario FILE] [--duration D]\n"
    "                        [--firmware NAME] [--sample D] [--log FILE] [--json]\n"
    "  Run a simulated LiFePO4 battery (with its BMS) speaking PROTOCOL against an inverter\n"
    "  model (bmslink profiles) in a closed loop, every frame through the real encoder and\n"
    "  decoder, with injected time: a simulated day takes milliseconds.\n"
    "  --battery P      protocol the simulated battery speaks (bmslink protocols)\n"
    "  --inverter NAME  inverter profile, or a path to a profile .yaml\n"
    "  --scenario FILE  load/PV/ambient profiles, battery parameters, inverter settings and\n"
    "                   timed fault events (YAML); default: a built-in day, 16S 200 Ah at 50 %\n"
    "  --duration D     simulated time (500ms, 90s, 15m, 24h, 7d); default the scenario's, or 24h\n"
    "  --firmware NAME  inverter firmware variant (default: the scenario's, or the profile's first)\n"
    "  --sample D       timeline interval (default 15m)\n"
    "  --log FILE       write the bus traffic as a candump -L log (bus sim0)\n"
    "  --json           one JSON object: timeline, events, summary\n"
    "example:\n"
    "  bmslink simulate --battery pylon-lv --inverter deye-sunsynk-lv --duration 24h\n";

#define LOG_BASE_US UINT64_C(1700000000000000) /* fixed epoch for logs: the same run, the same bytes */

typedef struct {
    uint64_t t_ms;
    int32_t soc, soc_true, v, i, temp, cmin, cmax, cvl, ccl, dcl, dvl;
    uint8_t chg_en, dsg_en, force, full, state, block;
    bl_alarm_mask_t active[BL_AC_COUNT];
    char code[BL_EV_CODE_MAX];
    uint8_t vvalid; /* inverter view: bit 0 soc, 1 cvl, 2 ccl, 3 dcl */
    int32_t v_soc, v_cvl, v_ccl, v_dcl;
    int32_t pv, load, grid, unserved;
    uint32_t viol, unsafe;
} sample_t;

typedef struct {
    sample_t *s;
    size_t ns, cs;
    bl_sim_event_t *e;
    size_t ne, ce;
    FILE *log;
    int log_err;
    bl_sim_t *sim;
    bool oom;
} run_t;

static void *grow(void *p, size_t *cap, size_t n, size_t size, bool *oom)
{
    void *np;
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 256;
    if ((np = realloc(p, *cap * size)) == NULL) {
        *oom = true;
        return p;
    }
    return np;
}

static void on_sample(void *ctx, const bl_sim_sample_t *smp)
{
    run_t *r = ctx;
    const bl_bsim_t *b = smp->bat;
    const bl_record_t *v = &smp->inv->view;
    sample_t *s;

    r->s = grow(r->s, &r->cs, r->ns, sizeof *r->s, &r->oom);
    if (r->ns >= r->cs)
        return;
    s = &r->s[r->ns++];
    memset(s, 0, sizeof *s);
    s->t_ms = smp->t_ms;
    s->soc = smp->sent->f[BL_F_SOC].value;
    s->soc_true = bl_bsim_true_soc(b);
    s->v = b->v_mV;
    s->i = b->i_mA;
    s->temp = smp->sent->f[BL_F_TEMP].value;
    s->cmin = b->cell_min_mV;
    s->cmax = b->cell_max_mV;
    s->cvl = b->cvl_mV;
    s->ccl = b->ccl_mA;
    s->dcl = b->dcl_mA;
    s->dvl = b->dvl_mV;
    s->chg_en = b->ccl_mA > 0;
    s->dsg_en = b->dcl_mA > 0;
    s->force = b->force_charge;
    s->full = b->full_charge_req;
    s->block = b->block;
    memcpy(s->active, smp->sent->active, sizeof s->active);
    s->state = smp->inv->state;
    memcpy(s->code, smp->inv->code, sizeof s->code);
    s->vvalid = (uint8_t)((v->f[BL_F_SOC].valid ? 1 : 0) | (v->f[BL_F_CVL].valid ? 2 : 0) |
                          (v->f[BL_F_CCL].valid ? 4 : 0) | (v->f[BL_F_DCL].valid ? 8 : 0));
    s->v_soc = v->f[BL_F_SOC].value;
    s->v_cvl = smp->inv->cvl_eff_mV;
    s->v_ccl = v->f[BL_F_CCL].value;
    s->v_dcl = v->f[BL_F_DCL].value;
    s->pv = smp->env->pv_W;
    s->load = smp->env->load_W;
    s->grid = smp->out->grid_W;
    s->unserved = smp->out->unserved_W;
    s->viol = smp->violations;
    s->unsafe = smp->unsafe;
}

static void on_event(void *ctx, const bl_sim_event_t *e)
{
    run_t *r = ctx;
    r->e = grow(r->e, &r->ce, r->ne, sizeof *r->e, &r->oom);
    if (r->ne < r->ce)
        r->e[r->ne++] = *e;
}

/* RS485: one frame a line, "(ts) HEXBYTES" (a hex485 capture bmslink decode reads) */
static void on_bytes(void *ctx, uint64_t t_ms, uint8_t from, const uint8_t *b, size_t n, uint8_t fate)
{
    run_t *r = ctx;
    uint64_t us = LOG_BASE_US + t_ms * 1000u;
    (void)from;
    if (r->log == NULL || r->log_err || fate != BL_FATE_DELIVERED)
        return;
    if (fprintf(r->log, "(%llu.%06llu) ", (unsigned long long)(us / 1000000u), (unsigned long long)(us % 1000000u)) < 0)
        r->log_err = errno ? errno : EIO;
    for (size_t i = 0; i < n; i++)
        fprintf(r->log, "%02X", b[i]);
    if (fputc('\n', r->log) == EOF)
        r->log_err = errno ? errno : EIO;
}

static void on_frame(void *ctx, uint64_t t_ms, uint8_t from, const bl_can_frame_t *f, uint8_t fate)
{
    run_t *r = ctx;
    bl_cap_frame_t cf;
    char line[256];
    int n;

    (void)from;
    if (r->log == NULL || r->log_err || (fate != BL_FATE_DELIVERED && fate != BL_FATE_CORRUPTED))
        return; /* a frame lost to comm loss or bus-off never reached the wire */
    memset(&cf, 0, sizeof cf);
    cf.ts_us = LOG_BASE_US + t_ms * 1000u;
    cf.has_ts = 1;
    memcpy(cf.bus, "sim0", 5);
    cf.f = *f;
    n = bl_capture_format_log(&cf, line, sizeof line);
    if (n < 0)
        return;
    line[n] = '\n';
    if (fwrite(line, 1, (size_t)n + 1, r->log) != (size_t)n + 1)
        r->log_err = errno ? errno : EIO;
}

/* ---- timeline ------------------------------------------------------------------------------ */

static void alarm_words(bl_out_t *o, const bl_alarm_mask_t *a)
{
    bool any = false;
    for (unsigned c = BL_AC_COUNT; c-- > 0;)
        for (unsigned k = 0; k < BL_A_COUNT; k++)
            if (a[c] >> k & 1u) {
                out_printf(o, "%s%c:%s", any ? "," : "", "AWP"[c], bl_alarm_str(k));
                any = true;
            }
    if (!any)
        out_ch(o, '-');
}

/* milli-units as text with dec decimals (truncated toward zero, sign kept) */
static const char *mstr(char *buf, size_t n, int64_t v, unsigned dec)
{
    static const int64_t div[] = { 1000, 100, 10, 1 };
    int64_t a = v < 0 ? -v : v;
    if (dec == 0)
        snprintf(buf, n, "%s%lld", v < 0 && a >= 1000 ? "-" : "", (long long)(a / 1000));
    else
        snprintf(buf, n, "%s%lld.%0*lld", v < 0 && a / div[dec] > 0 ? "-" : "", (long long)(a / 1000), (int)dec,
                 (long long)(a % 1000 / div[dec]));
    return buf;
}

static void row_text(bl_out_t *o, const sample_t *s)
{
    char b[9][24];
    out_str(o, "  ");
    out_clock(o, s->t_ms);
    out_printf(o, " %5s %5s %6s %7s %5s %6s %6s %6s  %-8s %-9s ", mstr(b[0], 24, s->soc, 1),
               mstr(b[1], 24, s->soc_true, 1), mstr(b[2], 24, s->v, 2), mstr(b[3], 24, s->i, 1),
               mstr(b[4], 24, s->temp, 1), mstr(b[5], 24, s->cvl, 1), mstr(b[6], 24, s->ccl, 1),
               mstr(b[7], 24, s->dcl, 1), bl_inv_state_str(s->state), s->code[0] ? s->code : "-");
    alarm_words(o, s->active);
    if (s->viol) {
        out_str(o, "  EXCEEDED:");
        for (unsigned k = 0; k < BL_VIOL_COUNT; k++)
            if (s->viol >> k & 1u)
                out_printf(o, " %s", bl_viol_str(k));
    }
    out_ch(o, '\n');
}

static void j_alarm_arrays(bl_out_t *o, const bl_alarm_mask_t *a)
{
    cli_json_alarms(o, a);
}

static void j_viol(bl_out_t *o, const char *key, uint32_t m)
{
    j_key(o, key);
    j_arr(o);
    for (unsigned k = 0; k < BL_VIOL_COUNT; k++)
        if (m >> k & 1u)
            j_str_el(o, bl_viol_str(k));
    j_end_arr(o);
}

static void row_json(bl_out_t *o, const sample_t *s)
{
    j_obj(o);
    j_kmilli(o, "t_s", (int64_t)s->t_ms, 3);
    j_kmilli(o, "soc_pct", s->soc, 3);
    j_kmilli(o, "soc_true_pct", s->soc_true, 3);
    j_kmilli(o, "voltage_V", s->v, 3);
    j_kmilli(o, "current_A", s->i, 3);
    j_kmilli(o, "temperature_C", s->temp, 1);
    j_kmilli(o, "cell_voltage_min_V", s->cmin, 3);
    j_kmilli(o, "cell_voltage_max_V", s->cmax, 3);
    j_kmilli(o, "charge_voltage_limit_V", s->cvl, 3);
    j_kmilli(o, "charge_current_limit_A", s->ccl, 1);
    j_kmilli(o, "discharge_current_limit_A", s->dcl, 1);
    j_kmilli(o, "discharge_voltage_limit_V", s->dvl, 3);
    j_kbool(o, "charge_enable", s->chg_en);
    j_kbool(o, "discharge_enable", s->dsg_en);
    j_kbool(o, "force_charge", s->force);
    j_kbool(o, "full_charge_request", s->full);
    j_alarm_arrays(o, s->active);
    j_key(o, "inverter");
    j_obj(o);
    j_kstr(o, "state", bl_inv_state_str(s->state));
    j_kstr(o, "code", s->code);
    if (s->vvalid & 1)
        j_kmilli(o, "soc_pct", s->v_soc, 3);
    else
        j_knull(o, "soc_pct");
    if (s->v_cvl > 0)
        j_kmilli(o, "charge_voltage_limit_V", s->v_cvl, 3);
    else
        j_knull(o, "charge_voltage_limit_V");
    if (s->vvalid & 4)
        j_kmilli(o, "charge_current_limit_A", s->v_ccl, 1);
    else
        j_knull(o, "charge_current_limit_A");
    if (s->vvalid & 8)
        j_kmilli(o, "discharge_current_limit_A", s->v_dcl, 1);
    else
        j_knull(o, "discharge_current_limit_A");
    j_end_obj(o);
    j_kint(o, "pv_W", s->pv);
    j_kint(o, "load_W", s->load);
    j_kint(o, "grid_W", s->grid);
    j_kint(o, "unserved_W", s->unserved);
    j_viol(o, "limits_exceeded", s->viol);
    j_viol(o, "unsafe", s->unsafe);
    j_end_obj(o);
}

/* ---- summary ------------------------------------------------------------------------------- */

static void kwh(bl_out_t *o, int64_t mJ)
{
    out_milli(o, mJ / 3600000, 2); /* mJ / 3.6e6 = Wh; milli-kWh = Wh */
}

static void summary_text(bl_out_t *o, const bl_sim_t *s)
{
    static const char *const fates[BL_FATE_COUNT] = { "delivered", "dropped", "bus-off", "corrupted" };
    const bl_inv_t *v = &s->inv;

    out_str(o, "summary:\n");
    for (unsigned side = 0; side < 2; side++) {
        out_printf(o, "  frames %s:", side == BL_SIDE_BATTERY ? "battery -> inverter" : "inverter -> battery");
        for (unsigned f = 0; f < BL_FATE_COUNT; f++)
            out_printf(o, " %llu %s%s", (unsigned long long)s->frames[side][f], fates[f], f + 1 < BL_FATE_COUNT ? "," : "\n");
    }
    out_printf(o, "  inverter decoded %u battery frames", (unsigned)v->rx_frames);
    for (unsigned k = 1; k < BL_REJ_COUNT; k++)
        if (v->rx_rejected[k])
            out_printf(o, ", rejected %u (%s)", (unsigned)v->rx_rejected[k], bl_reject_str(k));
    out_printf(o, "; battery heard %u inverter frames", (unsigned)s->bcan.rx);
    for (unsigned k = 1; k < BL_REJ_COUNT; k++)
        if (s->bcan.rx_rejected[k])
            out_printf(o, ", rejected %u (%s)", (unsigned)s->bcan.rx_rejected[k], bl_reject_str(k));
    out_ch(o, '\n');
    out_printf(o, "  battery encoder: %u frames, %u in the safe state, %u field substitutions, %u refused\n",
               (unsigned)s->bcan.tx, (unsigned)s->bcan.safe_frames, (unsigned)s->bcan.substituted,
               (unsigned)s->bcan.tx_refused);
    out_str(o, "  energy kWh: charged ");
    kwh(o, s->charged_mJ);
    out_str(o, ", discharged ");
    kwh(o, s->discharged_mJ);
    out_str(o, ", grid import ");
    kwh(o, s->import_mJ);
    out_str(o, ", export ");
    kwh(o, s->export_mJ);
    out_str(o, ", load not served ");
    kwh(o, s->unserved_mJ);
    out_str(o, ", PV curtailed ");
    kwh(o, s->curtailed_mJ);
    out_str(o, "\n  battery: true SOC ");
    out_milli(o, s->soc_min_mpct, 1);
    out_str(o, "..");
    out_milli(o, s->soc_max_mpct, 1);
    out_str(o, " %, voltage ");
    out_milli(o, s->v_min_mV, 2);
    out_str(o, "..");
    out_milli(o, s->v_max_mV, 2);
    out_str(o, " V, hottest ");
    out_milli(o, s->t_max_mdegC, 1);
    out_str(o, " C, protections tripped:");
    {
        bool any = false;
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (s->bat.trips[a]) {
                out_printf(o, " %s x%u", bl_alarm_str(a), (unsigned)s->bat.trips[a]);
                any = true;
            }
        out_str(o, any ? "\n" : " none\n");
    }
    out_str(o, "  limits exceeded (vs what the battery sent):");
    {
        bool any = false;
        for (unsigned k = 0; k < BL_VIOL_COUNT; k++)
            if (s->viol_ms[k]) {
                out_printf(o, " %s ", bl_viol_str(k));
                out_milli(o, (int64_t)s->viol_ms[k], 0);
                out_str(o, " s");
                any = true;
            }
        out_str(o, any ? "\n" : " none\n");
    }
    out_str(o, "  quirks that acted:");
    {
        bool any = false;
        for (unsigned q = 0; q < BL_QK_COUNT; q++)
            if (v->quirk_acted[q]) {
                out_printf(o, " %s x%u", bl_quirk_str(q), (unsigned)v->quirk_acted[q]);
                any = true;
            }
        out_str(o, any ? "\n" : " none\n");
    }
    out_printf(o, "  inverter at the end: %s%s%s, %u faults, %u timeouts\n", bl_inv_state_str(v->state),
               v->code[0] ? " " : "", v->code, (unsigned)v->faults, (unsigned)v->timeouts_seen);
}

static void summary_json(bl_out_t *o, const bl_sim_t *s)
{
    static const char *const fates[BL_FATE_COUNT] = { "delivered", "dropped", "bus_off", "corrupted" };
    const bl_inv_t *v = &s->inv;

    j_key(o, "summary");
    j_obj(o);
    j_key(o, "frames");
    j_obj(o);
    for (unsigned side = 0; side < 2; side++) {
        j_key(o, side == BL_SIDE_BATTERY ? "battery" : "inverter");
        j_obj(o);
        for (unsigned f = 0; f < BL_FATE_COUNT; f++)
            j_kint(o, fates[f], (int64_t)s->frames[side][f]);
        j_end_obj(o);
    }
    j_end_obj(o);
    j_key(o, "inverter_rx");
    j_obj(o);
    j_kint(o, "decoded", v->rx_frames);
    j_key(o, "rejected");
    j_obj(o);
    for (unsigned k = 1; k < BL_REJ_COUNT; k++)
        if (v->rx_rejected[k])
            j_kint(o, bl_reject_str(k), v->rx_rejected[k]);
    j_end_obj(o);
    j_end_obj(o);
    j_key(o, "battery_rx");
    j_obj(o);
    j_kint(o, "decoded", s->bcan.rx);
    j_key(o, "rejected");
    j_obj(o);
    for (unsigned k = 1; k < BL_REJ_COUNT; k++)
        if (s->bcan.rx_rejected[k])
            j_kint(o, bl_reject_str(k), s->bcan.rx_rejected[k]);
    j_end_obj(o);
    j_end_obj(o);
    j_key(o, "battery_tx");
    j_obj(o);
    j_kint(o, "frames", s->bcan.tx);
    j_kint(o, "safe_state_frames", s->bcan.safe_frames);
    j_kint(o, "substituted_fields", s->bcan.substituted);
    j_kint(o, "refused", s->bcan.tx_refused);
    j_end_obj(o);
    j_key(o, "energy_kWh");
    j_obj(o);
    j_kmilli(o, "charged", s->charged_mJ / 3600000, 3);
    j_kmilli(o, "discharged", s->discharged_mJ / 3600000, 3);
    j_kmilli(o, "grid_import", s->import_mJ / 3600000, 3);
    j_kmilli(o, "grid_export", s->export_mJ / 3600000, 3);
    j_kmilli(o, "unserved", s->unserved_mJ / 3600000, 3);
    j_kmilli(o, "curtailed", s->curtailed_mJ / 3600000, 3);
    j_end_obj(o);
    j_kmilli(o, "soc_true_min_pct", s->soc_min_mpct, 3);
    j_kmilli(o, "soc_true_max_pct", s->soc_max_mpct, 3);
    j_kmilli(o, "voltage_min_V", s->v_min_mV, 3);
    j_kmilli(o, "voltage_max_V", s->v_max_mV, 3);
    j_kmilli(o, "temperature_max_C", s->t_max_mdegC, 1);
    j_key(o, "protection_trips");
    j_obj(o);
    for (unsigned a = 0; a < BL_A_COUNT; a++)
        if (s->bat.trips[a])
            j_kint(o, bl_alarm_str(a), s->bat.trips[a]);
    j_end_obj(o);
    j_key(o, "limits_exceeded_s");
    j_obj(o);
    for (unsigned k = 0; k < BL_VIOL_COUNT; k++)
        j_kmilli(o, bl_viol_str(k), (int64_t)s->viol_ms[k], 3);
    j_end_obj(o);
    j_key(o, "unsafe_s");
    j_obj(o);
    for (unsigned k = 0; k < BL_VIOL_COUNT; k++)
        j_kmilli(o, bl_viol_str(k), (int64_t)s->unsafe_ms[k], 3);
    j_end_obj(o);
    j_key(o, "quirks_acted");
    j_obj(o);
    for (unsigned q = 0; q < BL_QK_COUNT; q++)
        if (v->quirk_acted[q])
            j_kint(o, bl_quirk_str(q), v->quirk_acted[q]);
    j_end_obj(o);
    j_kstr(o, "inverter_state", bl_inv_state_str(v->state));
    j_kstr(o, "inverter_code", v->code);
    j_kint(o, "inverter_faults", v->faults);
    j_kint(o, "inverter_timeouts", v->timeouts_seen);
    j_end_obj(o);
}

/* ---- the verb -------------------------------------------------------------------------------- */

typedef struct {
    const char *battery, *inverter, *scenario, *firmware, *log;
    uint64_t duration_ms, sample_ms;
    bool json, have_duration;
} sim_opts_t;

enum { OPT_BATTERY = 256, OPT_INVERTER, OPT_SCENARIO, OPT_DURATION, OPT_FIRMWARE, OPT_SAMPLE, OPT_LOG, OPT_JSON };

static int parse(int argc, char **argv, sim_opts_t *so)
{
    static const struct option opts[] = {
        { "battery", required_argument, 0, OPT_BATTERY },   { "inverter", required_argument, 0, OPT_INVERTER },
        { "scenario", required_argument, 0, OPT_SCENARIO }, { "duration", required_argument, 0, OPT_DURATION },
        { "firmware", required_argument, 0, OPT_FIRMWARE }, { "sample", required_argument, 0, OPT_SAMPLE },
        { "log", required_argument, 0, OPT_LOG },           { "json", no_argument, 0, OPT_JSON },
        { "help", no_argument, 0, 'h' },                    { 0, 0, 0, 0 } };
    int ch;

    memset(so, 0, sizeof *so);
    so->sample_ms = UINT64_C(15) * 60000u;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_BATTERY: so->battery = optarg; break;
        case OPT_INVERTER: so->inverter = optarg; break;
        case OPT_SCENARIO: so->scenario = optarg; break;
        case OPT_FIRMWARE: so->firmware = optarg; break;
        case OPT_LOG: so->log = optarg; break;
        case OPT_JSON: so->json = true; break;
        case OPT_DURATION:
            if (!cli_parse_duration(optarg, &so->duration_ms) || so->duration_ms == 0)
                return cli_usage_err(usage, "simulate", "bad --duration '%s' (e.g. 90s, 15m, 24h, 7d)", optarg);
            so->have_duration = true;
            break;
        case OPT_SAMPLE:
            if (!cli_parse_duration(optarg, &so->sample_ms) || so->sample_ms == 0)
                return cli_usage_err(usage, "simulate", "bad --sample '%s' (e.g. 1s, 1m, 15m)", optarg);
            break;
        case 'h': return -1;
        default: return cli_usage_err(usage, "simulate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_err(usage, "simulate", "unexpected argument '%s'", argv[optind]);
    if (so->battery == NULL)
        return cli_usage_err(usage, "simulate", "--battery PROTOCOL is required");
    if (so->inverter == NULL)
        return cli_usage_err(usage, "simulate", "--inverter PROFILE is required");
    return BL_EXIT_OK;
}

static int fw_index(const bl_inv_profile_t *p, const char *name)
{
    for (unsigned i = 0; i < p->nfw; i++)
        if (strcmp(p->firmware[i], name) == 0)
            return (int)i;
    fprintf(stderr, "bmslink: simulate: profile %s has no firmware '%s'; known: ", p->name, name);
    for (unsigned i = 0; i < p->nfw; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", p->firmware[i]);
    fputc('\n', stderr);
    return -1;
}

static int init_error(int rc, const bl_sim_t *s, const bl_scenario_t *scn, const sim_opts_t *so)
{
    if (rc == BL_EINVAL && s->bad_event >= 0 && s->brs == NULL &&
        bl_proto_root(s->cfg.battery_proto)->bus != BL_BUS_CAN) {
        const bl_scn_event_t *e = &scn->ev[s->bad_event];
        cli_err("%s:%u: event %s: sign, unit and raw-value faults act on CAN rows; %s is an RS485 protocol",
                so->scenario ? so->scenario : "scenario", (unsigned)e->line, bl_scn_kind_str(e->kind), so->battery);
        return BL_EXIT_USAGE;
    }
    if (rc == BL_ENOTSUP) {
        cli_err("simulate: the battery speaks %s (%s), the inverter %s expects %s (%s): they are not on the same bus",
                so->battery, bl_bus_str(bl_proto_root(s->cfg.battery_proto)->bus), s->cfg.profile->name,
                s->cfg.profile->protocol_name, bl_bus_str(bl_proto_root(s->cfg.profile->proto)->bus));
        return BL_EXIT_USAGE;
    }
    if (s->bad_event >= 0) {
        const bl_scn_event_t *e = &scn->ev[s->bad_event];
        cli_err("%s:%u: event %s: profile %s has no %s '%s'", so->scenario ? so->scenario : "scenario",
                (unsigned)e->line, bl_scn_kind_str(e->kind), s->cfg.profile->name,
                e->kind == BL_SE_FIRMWARE ? "firmware" : "setting", e->name);
        return BL_EXIT_USAGE;
    }
    if (rc == BL_ENOENT) {
        cli_err("%s: inverter settings or firmware name the profile %s does not have",
                so->scenario ? so->scenario : "scenario", s->cfg.profile->name);
        return BL_EXIT_USAGE;
    }
    cli_err("simulate: cannot start the loop: %s", bl_strerror(rc));
    return BL_EXIT_USAGE;
}

static void print_text(bl_out_t *o, const run_t *r, const bl_sim_t *s, const sim_opts_t *so, uint64_t dur)
{
    const bl_inv_profile_t *p = s->cfg.profile;
    const bl_bsim_params_t *bp = &s->cfg.scn->battery;
    size_t ei = 0;

    out_printf(o, "bmslink simulate: battery %s (simulated %uS %d Ah LFP, %s, start %d %%)\n", so->battery,
               (unsigned)bp->cells, (int)(bp->capacity_mAh / 1000), bp->model, (int)(s->cfg.scn->start_soc_mpct / 1000));
    out_printf(o, "  inverter %s: %s, firmware %s, protocol %s\n", p->name, p->family ? p->family : p->brand,
               p->nfw ? p->firmware[s->inv.fw] : "-", p->protocol_name);
    out_printf(o, "  scenario %s, from ", s->cfg.scn->name);
    out_clock(o, s->cfg.scn->start_ms);
    out_str(o, " for ");
    out_clock(o, dur);
    out_printf(o, " in %u ms steps\n", (unsigned)s->step_ms);
    if (strcmp(bl_proto_root(s->cfg.battery_proto)->name, bl_proto_root(p->proto)->name) != 0)
        out_printf(o, "  note: the battery speaks %s, the inverter expects %s\n", so->battery, p->protocol_name);
    out_str(o, "\n      time    SOC% true%      V       I A   T C  CVL V  CCL A  DCL A  inverter code      "
               "alarms (A: alarm, W: warning, P: protection)\n");
    for (size_t i = 0; i < r->ns; i++) {
        while (ei < r->ne && r->e[ei].t_ms <= r->s[i].t_ms)
            cli_event_text(o, &r->e[ei++], s->cfg.scn, s->cfg.profile);
        row_text(o, &r->s[i]);
    }
    while (ei < r->ne)
        cli_event_text(o, &r->e[ei++], s->cfg.scn, s->cfg.profile);
    out_ch(o, '\n');
    summary_text(o, s);
}

static void print_json(bl_out_t *o, const run_t *r, const bl_sim_t *s, const sim_opts_t *so, uint64_t dur)
{
    const bl_inv_profile_t *p = s->cfg.profile;
    j_obj(o);
    j_kstr(o, "battery", so->battery);
    j_kstr(o, "inverter", p->name);
    j_kstr(o, "brand", p->brand);
    j_kstr(o, "firmware", p->nfw ? p->firmware[s->inv.fw] : "");
    j_kstr(o, "inverter_protocol", p->protocol_name);
    j_kstr(o, "scenario", s->cfg.scn->name);
    j_kmilli(o, "start_s", (int64_t)s->cfg.scn->start_ms, 3);
    j_kmilli(o, "duration_s", (int64_t)dur, 3);
    j_kint(o, "step_ms", s->step_ms);
    j_kmilli(o, "sample_s", (int64_t)so->sample_ms, 3);
    j_key(o, "timeline");
    j_arr(o);
    for (size_t i = 0; i < r->ns; i++)
        row_json(o, &r->s[i]);
    j_end_arr(o);
    j_key(o, "events");
    j_arr(o);
    for (size_t i = 0; i < r->ne; i++)
        cli_event_json(o, &r->e[i], s->cfg.scn, s->cfg.profile);
    j_end_arr(o);
    summary_json(o, s);
    j_end_obj(o);
    out_ch(o, '\n');
}

int verb_simulate(int argc, char **argv)
{
    sim_opts_t so;
    const bl_protocol_t *bp;
    bl_profile_file_t *pf = NULL;
    bl_scenario_t *scn = NULL;
    bl_sim_t *s = NULL;
    bl_out_t *o = NULL;
    run_t run;
    bl_sim_cfg_t cfg;
    uint64_t dur;
    int rc;

    if ((rc = parse(argc, argv, &so)) != BL_EXIT_OK)
        return rc < 0 ? cli_help(usage) : rc;
    if ((bp = cli_protocol("simulate", so.battery)) == NULL)
        return BL_EXIT_USAGE;
    if (bl_proto_root(bp)->bus == BL_BUS_MODBUS) {
        cli_err("simulate: %s is a Modbus register map: the closed loop runs CAN and RS485 byte protocols", bp->name);
        return BL_EXIT_USAGE;
    }
    memset(&run, 0, sizeof run);
    pf = malloc(sizeof *pf);
    scn = malloc(sizeof *scn);
    s = malloc(sizeof *s);
    o = malloc(sizeof *o);
    if (pf == NULL || scn == NULL || s == NULL || o == NULL) {
        cli_err("simulate: out of memory");
        rc = BL_EXIT_IO;
        goto out;
    }
    if ((rc = cli_profile_load("simulate", so.inverter, pf)) != BL_EXIT_OK)
        goto out;
    if (!cli_profile_runnable("simulate", pf)) {
        rc = BL_EXIT_USAGE;
        goto out;
    }
    if ((rc = cli_scenario_load("simulate", so.scenario, scn)) != BL_EXIT_OK)
        goto out;
    memset(&cfg, 0, sizeof cfg);
    cfg.battery_proto = bp;
    cfg.profile = &pf->p;
    cfg.scn = scn;
    cfg.firmware = so.firmware != NULL ? fw_index(&pf->p, so.firmware) : -1;
    if (so.firmware != NULL && cfg.firmware < 0) {
        rc = BL_EXIT_USAGE;
        goto out;
    }
    cfg.sample_ms = (uint32_t)(so.sample_ms > UINT32_MAX ? UINT32_MAX : so.sample_ms);
    cfg.ctx = &run;
    cfg.on_sample = on_sample;
    cfg.on_event = on_event;
    cfg.on_frame = on_frame;
    cfg.on_bytes = on_bytes;
    if (so.log != NULL && (run.log = fopen(so.log, "w")) == NULL) {
        cli_err("simulate: %s: %s", so.log, strerror(errno));
        rc = BL_EXIT_IO;
        goto out;
    }
    run.sim = s;
    if ((rc = bl_sim_init(s, &cfg)) < 0) {
        rc = init_error(rc, s, scn, &so);
        goto out;
    }
    dur = so.have_duration ? so.duration_ms : scn->duration_ms ? scn->duration_ms : UINT64_C(86400000);
    bl_sim_run(s, scn->start_ms + dur);
    if (run.oom) {
        cli_err("simulate: out of memory for the timeline (use a longer --sample)");
        rc = BL_EXIT_IO;
        goto out;
    }
    out_init(o, stdout);
    if (so.json)
        print_json(o, &run, s, &so, dur);
    else
        print_text(o, &run, s, &so, dur);
    out_flush(o);
    rc = BL_EXIT_OK;
    if (run.log != NULL && (fflush(run.log) != 0 || run.log_err)) {
        cli_err("simulate: %s: %s", so.log, strerror(run.log_err ? run.log_err : errno));
        rc = BL_EXIT_IO;
    }
out:
    if (run.log != NULL)
        fclose(run.log);
    free(run.s);
    free(run.e);
    free(pf);
    free(scn);
    free(s);
    free(o);
    return rc;
}
