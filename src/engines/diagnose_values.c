/*
 * Value analysers: is the SOC there, at its period, moving with the charge that flows,
 * consistent with the voltage, on the right scale (soc_missing_or_wrong); does the
 * current's sign agree with what the voltage and SOC do (current_sign_inverted); do
 * measurements repeat unchanged beyond plausibility (stale_data).
 *
 * Charge is counted exactly in mA x ms (µC) from the battery's own current; judgements
 * that need the capacity take it from --capacity, the capture, or an assumption that
 * the finding states.
 */
#include "diagnose_int.h"

#include <string.h>

#define SOC_JUMP_MIN 5000          /* 5 %: a step this large between two SOC frames ... */
#define SOC_JUMP_WINDOW_US 60000000u /* ... within a minute */
#define SOC_FROZEN_FRAC 20         /* frozen: 1/20 = 5 % of the capacity moved, SOC unchanged */
#define SOC_EDGE 2000              /* 2 %: a SOC held at 98-100 % / 0-2 % is a BMS waiting for its calibration point */
#define REST_MAX_MA 2000           /* at rest: below 2 A ... */
#define REST_US 60000000u          /* ... for a minute: the voltage is close to the open-circuit voltage */
#define STEP_MIN_MA 10000          /* a current step of 10 A or more ... */
#define STEP_MIN_MV 20             /* ... moves the voltage by the IR drop, at least 20 mV */
#define STEP_WINDOW_US 5000000u    /* between two measurements at most 5 s apart */
#define STALE_MIN_US 300000000u    /* 5 min of identical voltage and current with current flowing */
#define STALE_MIN_MA 1000
#define V_FROZEN_FRAC 10           /* voltage frozen while 10 % of the capacity moved */

/* capacity for coulomb counting: --capacity, the capture, or assumed from the voltage class */
static void capacity(bl_diag_t *d)
{
    const bl_field_t *cap = &d->rec.f[BL_F_CAPACITY];
    const bl_field_t *mods = &d->rec.f[BL_F_MODULE_COUNT];
    const bl_field_t *v = &d->rec.f[BL_F_VOLTAGE];

    if (d->cfg.capacity_mAh > 0) {
        d->cap_mAh = d->cfg.capacity_mAh;
        d->cap_src = 0;
    } else if (cap->valid && cap->value >= 5000) {
        d->cap_mAh = cap->value;
        d->cap_src = 1;
    } else {
        /* an assumption on the large side, so that frozen / inconsistent SOC is not claimed
         * too early: 48 V systems 100 Ah per module (200 Ah when unknown), HV strings 100 Ah */
        bool lv = !v->valid || v->value < 100000;
        d->cap_mAh = lv ? (mods->valid && mods->value > 0 && mods->value < 64 ? mods->value * 100000 : 200000)
                        : 100000;
        d->cap_src = 2;
    }
}

static int64_t pct_of_cap(const bl_diag_t *d, int64_t q_uC)
{
    /* µC -> 0.001 % of the capacity: q / (cap_mAh x 3 600 000 µC/mAh) x 100 000, i.e.
     * q / (cap_mAh x 36): no product that can overflow */
    return d->cap_mAh > 0 ? q_uC / ((int64_t)d->cap_mAh * 36) : 0;
}

/* magnitudes of sums that saturate at +-INT64_MAX (never INT64_MIN) */
static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

/* charge sums saturate: a capture of absurd currents over absurd times must not wrap */
static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < -INT64_MAX - b)
        return -INT64_MAX;
    return a + b;
}

/* Average cell voltage candidates: from the cells when the protocol carries them, else
 * the pack voltage over the cell count given (--cells, --battery), else over the
 * plausible LFP cell counts (the one nearest 3.2 V/cell +-1). */
static bool cell_avg(const bl_diag_t *d, int32_t out[3], unsigned *n)
{
    const bl_field_t *lo = &d->rec.f[BL_F_CELL_V_MIN], *hi = &d->rec.f[BL_F_CELL_V_MAX];
    const bl_field_t *v = &d->rec.f[BL_F_VOLTAGE];
    int32_t cells;

    if (lo->valid && hi->valid && lo->value > 1000 && hi->value < 5000) {
        out[0] = (lo->value + hi->value) / 2;
        *n = 1;
        return true;
    }
    if (!v->valid || v->value < 8000)
        return false;
    if (d->cfg.bat != NULL && d->cfg.bat->cells > 0) { /* --cells / --battery: no guessing */
        out[0] = v->value / d->cfg.bat->cells;
        *n = 1;
        return true;
    }
    cells = (v->value + 1600) / 3200;
    *n = 0;
    for (int32_t k = cells - 1; k <= cells + 1; k++)
        if (k >= 2)
            out[(*n)++] = v->value / k;
    return *n > 0;
}

static void soc_rest(bl_diag_t *d, const dg_ctx_t *c, int32_t i_mA)
{
    int32_t avg[3];
    unsigned n = 0, low = 0, high = 0;
    int32_t soc = d->rec.f[BL_F_SOC].value;

    if (!c->has_ts)
        return;
    if (i_mA > REST_MAX_MA || i_mA < -REST_MAX_MA) {
        d->rest_since_us = 0;
        d->rest_judged = false;
        return;
    }
    if (d->rest_since_us == 0) {
        d->rest_since_us = c->t_us;
        if (d->soc_rest_bad == 0) /* the rest that is judged first keeps its start as evidence */
            dg_mark(&d->rest_start_m, c, i_mA, 0, 0);
        return;
    }
    if (d->rest_judged || c->t_us - d->rest_since_us < REST_US || !d->rec.f[BL_F_SOC].valid || !cell_avg(d, avg, &n))
        return;
    d->rest_judged = true;
    for (unsigned k = 0; k < n; k++) {
        low += avg[k] < 3200;  /* LFP at rest below 3.20 V/cell is below ~20 % */
        high += avg[k] > 3380; /* ... above 3.38 V/cell only when nearly full */
    }
    if ((soc >= 90000 && low == n) || (soc <= 10000 && high == n)) {
        if (d->soc_rest_bad++ == 0) {
            dg_mark(&d->soc_rest_m, c, soc, d->rec.f[BL_F_VOLTAGE].value, avg[n / 2]);
        }
    }
}

static void soc_frame(bl_diag_t *d, const dg_ctx_t *c)
{
    int32_t soc = d->rec.f[BL_F_SOC].value;

    if (d->soc_frames++ == 0) {
        d->soc_first = d->soc_last = d->soc_min = d->soc_max = soc;
        dg_mark(&d->soc_first_m, c, soc, 0, 0);
        dg_mark(&d->soc_change_m, c, soc, 0, 0);
        d->v_at_soc_max = d->rec.f[BL_F_VOLTAGE].valid ? d->rec.f[BL_F_VOLTAGE].value : 0;
        dg_mark(&d->soc_last_m, c, soc, 0, 0);
        return;
    }
    if (soc != d->soc_last) {
        int64_t step = (int64_t)soc - d->soc_last;
        int64_t dt = c->has_ts && d->soc_last_m.has_ts ? (int64_t)(c->t_us - d->soc_last_m.ts_us) : 0;
        /* what the current could have moved in that time, generously (3x the largest current) */
        int64_t can = pct_of_cap(d, (int64_t)d->iabs_max_mA * ((dt < 60000000 ? dt : 60000000) / 1000) * 3);
        int64_t mag = step < 0 ? -step : step;
        if (mag >= SOC_JUMP_MIN && mag > can && (!c->has_ts || (uint64_t)dt <= SOC_JUMP_WINDOW_US)) {
            if (soc == 100000 || soc == 0) {
                if (d->soc_recal++ == 0)
                    dg_mark(&d->soc_recal_m, c, soc, d->soc_last, 0);
            } else {
                d->soc_jumps++;
                if (mag > (d->soc_jump_by < 0 ? -(int64_t)d->soc_jump_by : d->soc_jump_by)) {
                    d->soc_jump_by = (int32_t)(step > INT32_MAX ? INT32_MAX : step < -INT32_MAX ? -INT32_MAX : step);
                    d->soc_jump_a = d->soc_last_m;
                    dg_mark(&d->soc_jump_b, c, soc, d->soc_last, 0);
                }
            }
        }
        d->soc_q_uC = 0;
        dg_mark(&d->soc_change_m, c, soc, 0, 0);
    }
    if (soc < d->soc_min)
        d->soc_min = soc;
    if (soc > d->soc_max || (soc == d->soc_max && d->v_at_soc_max == 0)) {
        d->soc_max = soc;
        d->v_at_soc_max = d->rec.f[BL_F_VOLTAGE].valid ? d->rec.f[BL_F_VOLTAGE].value : 0;
    }
    d->soc_last = soc;
    dg_mark(&d->soc_last_m, c, soc, 0, 0);
}

/* charge since the last current sample: the previous current held until now */
static void count(bl_diag_t *d, const dg_ctx_t *c, int32_t i_mA)
{
    if (d->i_have && c->has_ts && c->t_us >= d->i_last_us && c->t_us - d->i_last_us <= d->stale_ms * 1000u &&
        c->t_us - d->i_last_us <= 3600000000u) {
        int64_t q = (int64_t)d->i_last_mA * (int64_t)((c->t_us - d->i_last_us) / 1000u);
        int32_t soc = d->rec.f[BL_F_SOC].value;
        d->q_uC = sat_add(d->q_uC, q);
        d->soc_q_uC = sat_add(d->soc_q_uC, q);
        d->v_q_uC = sat_add(d->v_q_uC, q);
        /* SOC held at a calibration point (full while charging, empty while discharging) is normal */
        if (d->rec.f[BL_F_SOC].valid && !(d->soc_q_uC > 0 && soc >= 100000 - SOC_EDGE) &&
            !(d->soc_q_uC < 0 && soc <= SOC_EDGE) && abs64(d->soc_q_uC) > abs64(d->soc_frozen_q)) {
            d->soc_frozen_q = d->soc_q_uC;
            d->soc_frozen_a = d->soc_change_m;
            dg_mark(&d->soc_frozen_b, c, soc, i_mA, 0);
        }
        if (abs64(d->v_q_uC) > abs64(d->v_frozen_q)) {
            d->v_frozen_q = d->v_q_uC;
            d->v_frozen_a = d->v_change_m;
            dg_mark(&d->v_frozen_b, c, d->rec.f[BL_F_VOLTAGE].value, i_mA, 0);
        }
    }
    d->i_last_mA = i_mA;
    d->i_last_us = c->t_us;
    d->i_have = c->has_ts;
    if ((i_mA < 0 ? -(int64_t)i_mA : i_mA) > d->iabs_max_mA)
        d->iabs_max_mA = i_mA < 0 ? (i_mA == INT32_MIN ? INT32_MAX : -i_mA) : i_mA;
}

/* The IR drop: a current step moves the terminal voltage the same way (V = OCV + I R).
 * A current that reads backwards makes every step go the other way. */
static void sign_step(bl_diag_t *d, const dg_ctx_t *c, int32_t i_mA, int32_t v_mV)
{
    if (!c->has_ts)
        return;
    if (d->step_have && c->t_us - d->step_us <= STEP_WINDOW_US) {
        int64_t di = (int64_t)i_mA - d->step_i_mA, dv = (int64_t)v_mV - d->step_v_mV;
        if ((di >= STEP_MIN_MA || di <= -STEP_MIN_MA) && (dv >= STEP_MIN_MV || dv <= -STEP_MIN_MV)) {
            if ((di > 0) == (dv > 0)) {
                d->steps_agree++;
            } else if (d->steps_disagree++ == 0) {
                d->step_a = d->step_prev_m;
                dg_mark(&d->step_b, c, i_mA, v_mV, 0);
            }
        }
    }
    d->step_i_mA = i_mA;
    d->step_v_mV = v_mV;
    d->step_us = c->t_us;
    d->step_have = true;
    dg_mark(&d->step_prev_m, c, i_mA, v_mV, 0);
}

static void stale(bl_diag_t *d, const dg_ctx_t *c, int32_t i_mA, int32_t v_mV)
{
    if (!d->st_have || i_mA != d->st_i || v_mV != d->st_v) {
        d->st_have = true;
        d->st_i = i_mA;
        d->st_v = v_mV;
        dg_mark(&d->st_since_m, c, v_mV, i_mA, 0);
        return;
    }
    if (c->has_ts && (i_mA >= STALE_MIN_MA || i_mA <= -STALE_MIN_MA) && d->st_since_m.has_ts &&
        c->t_us - d->st_since_m.ts_us > d->st_worst_us) {
        d->st_worst_us = c->t_us - d->st_since_m.ts_us;
        d->st_worst_a = d->st_since_m;
        dg_mark(&d->st_worst_b, c, v_mV, i_mA, 0);
    }
}

static void soc_scale_reject(bl_diag_t *d, const dg_ctx_t *c)
{
    bl_signal_t s;
    int64_t v;
    const bl_decoded_t *dec = c->dec;

    if (dec->why != BL_REJ_RANGE || dec->msg == NULL)
        return;
    bl_can_sig(&d->codec, dec->msg, dec->sig, &s);
    v = dec->val[dec->sig];
    /* read in 0.01 % the value would be a SOC: the sender used the finer unit */
    if (s.field == BL_F_SOC && v > s.max && v / 100 >= 0 && v / 100 <= 100000) {
        if (d->soc_scale_hi++ == 0)
            dg_mark(&d->soc_scale_m, c, v, 0, 0);
        else
            dg_mark(&d->soc_scale_last, c, v, 0, 0);
    }
}

void dg_values_frame(bl_diag_t *d, const dg_ctx_t *c)
{
    uint32_t fl;
    const bl_field_t *fi = &d->rec.f[BL_F_CURRENT], *fv = &d->rec.f[BL_F_VOLTAGE];

    if (c->rc != 0) {
        if (c->dec != NULL && c->dec->msg != NULL)
            soc_scale_reject(d, c);
        return;
    }
    if (!c->b2i)
        return;
    fl = c->fields;
    if (fl & BL_BIT(BL_F_VOLTAGE)) {
        if (!d->v_first_have) {
            d->v_first_mV = fv->value;
            d->v_first_have = true;
            dg_mark(&d->v_change_m, c, fv->value, 0, 0);
        } else if (fv->value != d->v_now_mV) {
            d->v_q_uC = 0;
            dg_mark(&d->v_change_m, c, fv->value, 0, 0);
        }
        d->v_now_mV = fv->value;
        d->v_seen_us = c->t_us;
    }
    if (fl & BL_BIT(BL_F_CURRENT)) {
        if (d->cap_mAh == 0 || d->cap_src == 2)
            capacity(d);
        count(d, c, fi->value);
        if (fv->valid && (!c->has_ts || c->t_us - d->v_seen_us <= 2000000u)) {
            sign_step(d, c, fi->value, fv->value);
            stale(d, c, fi->value, fv->value);
        }
        soc_rest(d, c, fi->value);
    }
    if (fl & BL_BIT(BL_F_SOC))
        soc_frame(d, c);
}

/* ---- conclusions ---------------------------------------------------------------------- */

static const char *cap_text(const bl_diag_t *d)
{
    static const char *const t[] = { "--capacity", "from the capture", "assumed; --capacity sets it" };
    return t[d->cap_src < 3 ? d->cap_src : 2];
}

static bool soc_carried(const bl_diag_t *d, const bl_message_t **m)
{
    if (d->rs) {
        *m = NULL; /* RS485: the answers the inverter polls for */
        return (d->caps.fields & BL_BIT(BL_F_SOC)) != 0;
    }
    for (unsigned i = 0; i < d->codec.n; i++) {
        const bl_message_t *mm = d->codec.msg[i];
        if (mm->dir != BL_DIR_B2I || !d->codec.sends[i])
            continue;
        for (unsigned k = 0; k < mm->nsigs; k++)
            if (mm->sigs[k].field == BL_F_SOC && mm->sigs[k].kind == BL_SK_NUM) {
                *m = mm;
                return true;
            }
    }
    return false;
}

static int msg_idx(const bl_diag_t *d, const bl_message_t *m)
{
    for (unsigned i = 0; i < d->codec.n; i++)
        if (d->codec.msg[i] == m)
            return (int)i;
    return -1;
}

/* does the voltage move with the reported SOC (both up or both down)? */
static bool voltage_follows_soc(const bl_diag_t *d)
{
    int64_t dv = (int64_t)d->v_now_mV - d->v_first_mV;
    int64_t ds = (int64_t)d->soc_last - d->soc_first;
    return d->v_first_have && dv != 0 && ((dv > 0) == (ds > 0));
}

static void sign_inverted(bl_diag_t *d)
{
    bl_diag_finding_t *f;
    int64_t ds = (int64_t)d->soc_last - d->soc_first, dq = pct_of_cap(d, d->q_uC);
    /* three steps the wrong way and four in five overall: a measurement taken a moment apart can
     * disagree once, a backwards current disagrees every time */
    bool steps = d->steps_disagree >= 3 && d->steps_disagree * 10u >= (d->steps_agree + d->steps_disagree) * 8u;
    /* SOC and voltage both against the counted charge; a SOC that jumps or recalibrates says
     * nothing about the current */
    bool trend = d->soc_frames >= 2 && abs64(ds) >= 5000 && abs64(dq) >= 5000 && (ds > 0) != (dq > 0) &&
                 d->soc_jumps == 0 && d->soc_recal == 0 && voltage_follows_soc(d) &&
                 d->steps_agree <= d->steps_disagree;

    if (!steps && !trend)
        return;
    f = dg_add(d, BL_DP_SIGN_INVERTED, BL_DSEV_ERROR, "current_sign", steps ? d->step_a.ts_us : d->soc_first_m.ts_us);
    if (f == NULL)
        return;
    dg_fmt(f->cause, sizeof f->cause, "the current's sign is backwards (%s: + is charging):",
           d->p->name);
    if (steps)
        dg_cat(f->cause, sizeof f->cause,
               " at %u of %u current steps the voltage moved the other way (a larger charge current must raise the "
               "terminal voltage)",
               (unsigned)d->steps_disagree, (unsigned)(d->steps_agree + d->steps_disagree));
    if (d->soc_frames >= 2 && (ds > 0) != (dq > 0) && abs64(dq) >= 3000)
        dg_cat(f->cause, sizeof f->cause, "%s the SOC went %m %% -> %m %% while the counted current says %s%m %%",
               steps ? ";" : "", DG_M(d->soc_first, 0), DG_M(d->soc_last, 0), dq > 0 ? "+" : "", DG_M(dq, 1));
    dg_ev(f, &d->step_a, "%m A, %m V", DG_M(d->step_a.a, 1), DG_M(d->step_a.b, 2));
    dg_ev(f, &d->step_b, "%m A, %m V: current %s, voltage %s", DG_M(d->step_b.a, 1), DG_M(d->step_b.b, 2),
          d->step_b.a > d->step_a.a ? "up" : "down", d->step_b.b > d->step_a.b ? "up" : "down");
    if (d->soc_frames >= 2 && (ds > 0) != (dq > 0) && abs64(dq) >= 3000) { /* only when the SOC tells it */
        dg_ev(f, &d->soc_first_m, "SOC %m %%", DG_M(d->soc_first, 0));
        dg_ev(f, &d->soc_last_m, "SOC %m %%", DG_M(d->soc_last, 0));
    }
    dg_fmt(f->fix, sizeof f->fix,
           "Fix the sign at the sender: the BMS's current direction setting or shunt orientation, or the protocol "
           "variant (some firmwares send discharge as positive). An inverter fed a backwards current charges when "
           "it should stop and its SOC logic runs the wrong way.");
}

static void soc_findings(bl_diag_t *d)
{
    bl_diag_finding_t *f;
    const bl_message_t *sm = NULL;
    char mn[64];

    if (d->p == NULL || d->b2i == 0 || !soc_carried(d, &sm))
        return;
    if (sm != NULL)
        dg_msg_name(sm, mn, sizeof mn);
    else
        dg_fmt(mn, sizeof mn, "its answers");
    if (d->soc_scale_hi > 0) {
        f = dg_add(d, BL_DP_SOC, BL_DSEV_ERROR, "soc_scale", d->soc_scale_m.ts_us);
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause,
                   "SOC sent in 0.01 %% units where %s carries 1 %%: %u frames read %m %%, which is %m %% in 0.01 %% "
                   "units; receivers reject them, so the SOC is missing",
                   d->p->name, (unsigned)d->soc_scale_hi, DG_M(d->soc_scale_m.a, 0), DG_M(d->soc_scale_m.a / 100, 2));
            dg_ev(f, &d->soc_scale_m, "SOC raw reads %m %%", DG_M(d->soc_scale_m.a, 0));
            dg_ev(f, &d->soc_scale_last, "still %m %%", DG_M(d->soc_scale_last.a, 0));
            dg_fmt(f->fix, sizeof f->fix,
                   "Send the SOC in whole per cent in %s (a firmware or gateway unit bug), or choose the protocol "
                   "variant that carries 0.01 %%.",
                   mn);
        }
    }
    if (d->soc_frames == 0) {
        if (d->soc_scale_hi == 0 && (f = dg_add(d, BL_DP_SOC, BL_DSEV_ERROR, "soc_absent", d->first_b2i.ts_us)) != NULL) {
            if (d->rs)
                dg_fmt(f->cause, sizeof f->cause,
                       "no SOC in %l answers: the inverter never asked for a command that carries it, or the battery's "
                       "answers lack it; inverters show 0 %% or refuse the battery",
                       DG_L(d->b2i));
            else
                dg_fmt(f->cause, sizeof f->cause,
                       "no SOC: %s carries it in %s, which never arrived in %l battery frames; inverters show 0 %% or "
                       "refuse the battery",
                       d->p->name, mn, DG_L(d->b2i));
            dg_ev(f, &d->first_b2i, "battery frame, no SOC");
            dg_ev(f, &d->last_b2i, "last battery frame, still no SOC");
            dg_fmt(f->fix, sizeof f->fix, "Make the BMS send %s (protocol version / firmware).", mn);
        }
        return;
    }
    /* the SOC message at its period */
    {
        int mi = sm != NULL ? msg_idx(d, sm) : -1;
        const bl_diag_msgstat_t *s = mi >= 0 ? &d->ms[mi] : NULL;
        if (s != NULL && s->n >= 3 && sm->period_ms > 0 && d->have_ts) {
            uint64_t mean = (s->last_us - s->first_us) / (s->n - 1u), per = (uint64_t)sm->period_ms * 1000u;
            if (mean > per * 2u && mean > per + 500000u &&
                (f = dg_add(d, BL_DP_SOC, BL_DSEV_WARNING, "soc_period", s->first_us)) != NULL) {
                dg_fmt(f->cause, sizeof f->cause,
                       "the SOC message %s comes every %T on average, %s sends it every %T; the longest wait %T",
                       mn, DG_T(mean), d->p->name, DG_T(per), DG_T(s->gap_us));
                dg_ev(f, &s->gap_a, "SOC");
                dg_ev(f, &s->gap_b, "next SOC %T later", DG_T(s->gap_us));
                dg_fmt(f->fix, sizeof f->fix,
                       "Send %s every %T: an inverter that sees the SOC seldom shows it late and may time it out.", mn,
                       DG_T(per));
            }
        }
    }
    capacity(d);
    /* frozen while the current flowed */
    if (abs64(d->soc_frozen_q) >= (int64_t)d->cap_mAh * (3600000 / SOC_FROZEN_FRAC) &&
        (f = dg_add(d, BL_DP_SOC, BL_DSEV_ERROR, "soc_frozen", d->soc_frozen_a.ts_us)) != NULL) {
        dg_fmt(f->cause, sizeof f->cause,
               "the SOC stood at %m %% for %T while %m Ah %s (%m %% of %m Ah, %s)", DG_M(d->soc_frozen_a.a, 0),
               DG_T(dg_span(&d->soc_frozen_a, &d->soc_frozen_b)), DG_M(abs64(d->soc_frozen_q) / 3600000, 1),
               d->soc_frozen_q > 0 ? "went in" : "came out", DG_M(abs64(pct_of_cap(d, d->soc_frozen_q)), 1),
               DG_M(d->cap_mAh, 0), cap_text(d));
        dg_ev(f, &d->soc_frozen_a, "SOC %m %%", DG_M(d->soc_frozen_a.a, 0));
        dg_ev(f, &d->soc_frozen_b, "still %m %% at %m A", DG_M(d->soc_frozen_b.a, 0), DG_M(d->soc_frozen_b.b, 1));
        dg_fmt(f->fix, sizeof f->fix,
               "The BMS's SOC estimate is stuck (a frozen value in its firmware, or a gateway repeating an old "
               "frame): restart the BMS, update its firmware; check that the gateway forwards fresh values.");
    }
    if (d->soc_jumps > 0 && (f = dg_add(d, BL_DP_SOC, d->soc_jumps >= 3 ? BL_DSEV_ERROR : BL_DSEV_WARNING, "soc_jump",
                                        d->soc_jump_a.ts_us)) != NULL) {
        dg_fmt(f->cause, sizeof f->cause,
               "the SOC jumped %N; the largest step %m %% -> %m %% in %T, far more than the current could move",
               (unsigned)d->soc_jumps, DG_M(d->soc_jump_a.a, 0), DG_M(d->soc_jump_b.a, 0),
               DG_T(dg_span(&d->soc_jump_a, &d->soc_jump_b)));
        dg_ev(f, &d->soc_jump_a, "SOC %m %%", DG_M(d->soc_jump_a.a, 0));
        dg_ev(f, &d->soc_jump_b, "SOC %m %%", DG_M(d->soc_jump_b.a, 0));
        dg_fmt(f->fix, sizeof f->fix,
               "Jumps come from a BMS recalibrating often (capacity or cell settings wrong), two packs answering on "
               "one id, or a gateway mixing sources: check the BMS's capacity setting and that one SOC source reaches "
               "the inverter.");
    }
    if (d->soc_recal > 0 && (f = dg_add(d, BL_DP_SOC, BL_DSEV_INFO, "soc_recalibration", d->soc_recal_m.ts_us)) != NULL) {
        dg_fmt(f->cause, sizeof f->cause, "the SOC was reset to %m %% from %m %% (%N): the BMS recalibrated at a "
               "full or empty point", DG_M(d->soc_recal_m.a, 0), DG_M(d->soc_recal_m.b, 0), (unsigned)d->soc_recal);
        dg_ev(f, &d->soc_recal_m, "SOC %m %% (was %m %%)", DG_M(d->soc_recal_m.a, 0), DG_M(d->soc_recal_m.b, 0));
        dg_fmt(f->fix, sizeof f->fix,
               "Normal now and then; large resets mean the coulomb counter drifts: check the BMS's capacity setting.");
    }
    if (d->soc_rest_bad > 0 && (f = dg_add(d, BL_DP_SOC, BL_DSEV_WARNING, "soc_vs_voltage", d->soc_rest_m.ts_us)) != NULL) {
        dg_fmt(f->cause, sizeof f->cause,
               "at rest the SOC reads %m %% but the pack shows %m V (about %m V per LFP cell), which means a %s "
               "battery",
               DG_M(d->soc_rest_m.a, 0), DG_M(d->soc_rest_m.b, 2), DG_M(d->soc_rest_m.c, 2),
               d->soc_rest_m.a >= 50000 ? "nearly empty" : "nearly full");
        dg_ev(f, &d->rest_start_m, "the current stops: from here the voltage settles to the cells' rest voltage");
        dg_ev(f, &d->soc_rest_m, "SOC %m %%, %m V at rest", DG_M(d->soc_rest_m.a, 0), DG_M(d->soc_rest_m.b, 2));
        dg_fmt(f->fix, sizeof f->fix,
               "Let the BMS recalibrate (a full charge to its full point), check its capacity and cell-count "
               "settings; a SOC far from the voltage makes the inverter stop too early or too late.");
    }
    /* 1 % units in a 0.01 % field: the SOC never rises above 1 % while the pack is not empty */
    if (d->caps.step[BL_F_SOC] > 0 && d->caps.step[BL_F_SOC] <= 10 && d->soc_frames >= 5 && d->soc_max <= 1000 &&
        d->v_at_soc_max > 0) {
        int32_t avg[3];
        unsigned n = 0, ok = 0;
        if (cell_avg(d, avg, &n))
            for (unsigned k = 0; k < n; k++)
                ok += avg[k] >= 3150;
        if (n > 0 && ok == n && (f = dg_add(d, BL_DP_SOC, BL_DSEV_ERROR, "soc_scale", d->soc_first_m.ts_us)) != NULL) {
            dg_fmt(f->cause, sizeof f->cause,
                   "SOC sent in 1 %% units where %s carries 0.01 %%: it never exceeds %m %% while the pack is at %m V, "
                   "not empty; the inverter reads an empty battery",
                   d->p->name, DG_M(d->soc_max, 2), DG_M(d->v_at_soc_max, 2));
            dg_ev(f, &d->soc_first_m, "SOC reads %m %%", DG_M(d->soc_first, 2));
            dg_ev(f, &d->soc_last_m, "SOC reads %m %%", DG_M(d->soc_last, 2));
            dg_fmt(f->fix, sizeof f->fix, "Send the SOC in 0.01 %% units in %s (x100), as %s defines it.", mn,
                   d->p->name);
        }
    }
    /* SOC against the counted charge over the whole capture */
    if (!dg_find(d, BL_DP_SIGN_INVERTED) && d->soc_frames >= 2 && d->cap_src != 2) {
        int64_t ds = (int64_t)d->soc_last - d->soc_first, dq = pct_of_cap(d, d->q_uC);
        bool opposite = abs64(ds) >= 3000 && abs64(dq) >= 3000 && (ds > 0) != (dq > 0);
        bool ratio = abs64(dq) >= 5000 && abs64(ds) >= 1000 && (ds > 0) == (dq > 0) &&
                     (abs64(ds) > abs64(dq) * 3 || abs64(dq) > abs64(ds) * 3);
        if ((opposite || ratio) &&
            (f = dg_add(d, BL_DP_SOC, opposite ? BL_DSEV_ERROR : BL_DSEV_WARNING, "soc_vs_coulomb",
                        d->soc_first_m.ts_us)) != NULL) {
            dg_fmt(f->cause, sizeof f->cause,
                   "the SOC moved %m %% -> %m %% while the current counted %s%m Ah (%s%m %% of %m Ah, %s)",
                   DG_M(d->soc_first, 0), DG_M(d->soc_last, 0), d->q_uC > 0 ? "+" : "", DG_M(d->q_uC / 3600000, 1),
                   dq > 0 ? "+" : "", DG_M(dq, 1), DG_M(d->cap_mAh, 0), cap_text(d));
            dg_ev(f, &d->soc_first_m, "SOC %m %%", DG_M(d->soc_first, 0));
            dg_ev(f, &d->soc_last_m, "SOC %m %%", DG_M(d->soc_last, 0));
            dg_fmt(f->fix, sizeof f->fix,
                   "Check the BMS's capacity setting against the pack (a wrong capacity makes the SOC run too fast "
                   "or too slow) and its current sensor calibration.");
        }
    }
}

static void stale_findings(bl_diag_t *d)
{
    bl_diag_finding_t *f;

    if (d->st_worst_us >= STALE_MIN_US &&
        (f = dg_add(d, BL_DP_STALE_DATA, BL_DSEV_ERROR, "values_repeat", d->st_worst_a.ts_us)) != NULL) {
        dg_fmt(f->cause, sizeof f->cause,
               "voltage and current repeat unchanged for %T (%m V, %m A) while current flows: real measurements "
               "move; the sender repeats an old value",
               DG_T(d->st_worst_us), DG_M(d->st_worst_a.a, 2), DG_M(d->st_worst_a.b, 1));
        dg_ev(f, &d->st_worst_a, "%m V, %m A", DG_M(d->st_worst_a.a, 2), DG_M(d->st_worst_a.b, 1));
        dg_ev(f, &d->st_worst_b, "still %m V, %m A %T later", DG_M(d->st_worst_b.a, 2), DG_M(d->st_worst_b.b, 1),
              DG_T(d->st_worst_us));
        dg_fmt(f->fix, sizeof f->fix,
               "A BMS or gateway is sending a cached frame: check that the gateway's source is alive (it must send "
               "the safe state, not the last values, when its input stops) and restart the BMS.");
    } else if (abs64(d->v_frozen_q) >= (int64_t)d->cap_mAh * (3600000 / V_FROZEN_FRAC) && d->cap_mAh > 0 &&
               dg_span(&d->v_frozen_a, &d->v_frozen_b) >= STALE_MIN_US &&
               (f = dg_add(d, BL_DP_STALE_DATA, BL_DSEV_ERROR, "voltage_frozen", d->v_frozen_a.ts_us)) != NULL) {
        dg_fmt(f->cause, sizeof f->cause,
               "the pack voltage stood at %m V for %T while %m Ah %s (%m %% of %m Ah, %s): a real pack's voltage moves",
               DG_M(d->v_frozen_a.a, 2), DG_T(dg_span(&d->v_frozen_a, &d->v_frozen_b)),
               DG_M(abs64(d->v_frozen_q) / 3600000, 1), d->v_frozen_q > 0 ? "went in" : "came out",
               DG_M(abs64(pct_of_cap(d, d->v_frozen_q)), 1), DG_M(d->cap_mAh, 0), cap_text(d));
        dg_ev(f, &d->v_frozen_a, "%m V", DG_M(d->v_frozen_a.a, 2));
        dg_ev(f, &d->v_frozen_b, "still %m V at %m A", DG_M(d->v_frozen_b.a, 2), DG_M(d->v_frozen_b.b, 1));
        dg_fmt(f->fix, sizeof f->fix,
               "The voltage field is stuck at the sender (BMS firmware, gateway cache): the inverter's voltage "
               "regulation runs on a value that does not change.");
    }
}

void dg_values_finish(bl_diag_t *d)
{
    if (d->p == NULL)
        return;
    capacity(d);
    sign_inverted(d);
    soc_findings(d);
    stale_findings(d);
}
