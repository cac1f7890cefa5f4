/*
 * Limit analysers: does the current stay within the limits the battery sends
 * (limits_not_followed: charge / discharge current above CCL / DCL, voltage above
 * CVL, each beyond tolerance for longer than an inverter needs to react; limits of 0
 * that the inverter profile reads as "no limit"; a DCL sent negative), and does
 * anything react to them at all (the loop verdict).
 */
#include "diagnose_int.h"

#include <string.h>

#define HOLD_US 15000000u   /* an inverter follows a new limit within seconds: 15 s beyond it is a violation */
#define REACT_US 30000000u  /* a binding limit: the current must come down within 30 s */

static void hold(bl_diag_hold_t *h, bool cond, int64_t by, const dg_ctx_t *c, const bl_diag_mark_t *lim, int64_t i,
                 int64_t limit)
{
    if (!c->has_ts)
        return;
    if (!cond) {
        if (h->on && h->counted)
            h->total_us += c->t_us - h->since_us;
        h->on = false;
        return;
    }
    if (!h->on) {
        h->on = true;
        h->counted = false;
        h->since_us = c->t_us;
        dg_mark(&h->cur_start, c, i, limit, 0);
        h->cur_limit = *lim;
    }
    if (!h->counted && c->t_us - h->since_us >= HOLD_US) {
        h->counted = true;
        if (h->episodes++ == 0) {
            h->start = h->cur_start;
            h->limit = h->cur_limit;
        }
    }
    if (h->counted && by > h->worst_by) {
        h->worst_by = by;
        dg_mark(&h->worst, c, i, limit, 0);
    }
    if (h->counted && c->t_us - h->since_us > h->worst_us)
        h->worst_us = c->t_us - h->since_us;
}

/* the limit in force: 0 when the battery's enable flag forbids the direction */
static bool limit_of(const bl_diag_t *d, unsigned field, unsigned enable, int32_t *out)
{
    const bl_field_t *l = &d->rec.f[field], *e = &d->rec.f[enable];
    if (e->valid && e->value == 0 && d->caps.fields & BL_BIT(enable)) {
        *out = 0;
        return true;
    }
    if (!l->valid)
        return false;
    *out = l->value;
    return true;
}

static void react_check(bl_diag_t *d, const dg_ctx_t *c, int32_t i_mA)
{
    int64_t mag;
    if (!d->react_on || !c->has_ts)
        return;
    mag = d->react_dir == 0 ? (int64_t)i_mA : -(int64_t)i_mA;
    if (mag <= (int64_t)d->react_limit_mA + dg_tol_current(d->react_limit_mA)) {
        if (d->reacted++ == 0) {
            d->react_ok_a = d->react_limit_m;
            dg_mark(&d->react_ok_b, c, i_mA, d->react_limit_mA, 0);
        }
        d->react_on = false;
    } else if (c->t_us - d->react_t0_us > REACT_US) {
        if (d->not_reacted++ == 0) {
            d->react_bad_a = d->react_limit_m;
            dg_mark(&d->react_bad_b, c, i_mA, d->react_limit_mA, 0);
        }
        d->react_on = false;
    }
}

/* A lower limit that the present current exceeds: what happens next shows the loop. */
static void react_start(bl_diag_t *d, const dg_ctx_t *c, unsigned dir, int32_t limit, int32_t prev)
{
    int32_t i_mA;
    int64_t mag;
    if (!c->has_ts || !dg_current(d, &i_mA) || (int64_t)limit >= (int64_t)prev - dg_tol_current(prev))
        return;
    mag = dir == 0 ? (int64_t)i_mA : -(int64_t)i_mA;
    if (mag <= (int64_t)limit + dg_tol_current(limit))
        return;
    d->react_on = true;
    d->react_dir = (uint8_t)dir;
    d->react_t0_us = c->t_us;
    d->react_limit_mA = limit;
    dg_mark(&d->react_limit_m, c, limit, prev, i_mA);
}

static void negative_dcl(bl_diag_t *d, const dg_ctx_t *c)
{
    const bl_message_t *m = c->dec->msg; /* CAN only: RS485 layouts carry limits signed by design */
    for (unsigned k = 0; k < m->nsigs; k++) {
        bl_signal_t s;
        uint64_t raw;
        int64_t v;
        if (m->sigs[k].field != BL_F_DCL || !(m->sigs[k].flags & BL_SF_ABS))
            continue;
        bl_can_sig(&d->codec, m, k, &s);
        if (bl_sig_raw_get(&s, c->f->data, c->f->len, &raw) < 0)
            continue;
        v = bl_sig_raw_value(&s, raw);
        if ((s.mul > 0 && v < 0) || (s.mul < 0 && v > 0)) {
            if (d->neg_dcl++ == 0)
                dg_mark(&d->neg_dcl_m, c, -bl_sig_to_milli(&s, v), (int64_t)raw, 0);
            else
                dg_mark(&d->neg_dcl_last, c, -bl_sig_to_milli(&s, v), (int64_t)raw, 0);
        }
    }
}

static void limit_updates(bl_diag_t *d, const dg_ctx_t *c)
{
    uint32_t fl = c->fields;
    const bl_record_t *r = &d->rec;

    if (fl & BL_BIT(BL_F_CCL)) {
        int32_t v = r->f[BL_F_CCL].value;
        if (v == 0 && !dg_marked(&d->zero_ccl))
            dg_mark(&d->zero_ccl, c, 0, 0, 0);
        if (!d->lim_have || v != d->ccl_prev) {
            if (d->lim_have)
                react_start(d, c, 0, v, d->ccl_prev);
            dg_mark(&d->ccl_m, c, v, 0, 0);
        }
        d->ccl_lo = !d->lim_have || v < d->ccl_lo ? v : d->ccl_lo;
        d->ccl_hi = !d->lim_have || v > d->ccl_hi ? v : d->ccl_hi;
        d->ccl_prev = v;
    }
    if (fl & BL_BIT(BL_F_DCL)) {
        int32_t v = r->f[BL_F_DCL].value;
        if (v == 0 && !dg_marked(&d->zero_dcl))
            dg_mark(&d->zero_dcl, c, 0, 0, 0);
        if (!d->lim_have || v != d->dcl_prev) {
            if (d->lim_have)
                react_start(d, c, 1, v, d->dcl_prev);
            dg_mark(&d->dcl_m, c, v, 0, 0);
        }
        d->dcl_lo = !d->lim_have || v < d->dcl_lo ? v : d->dcl_lo;
        d->dcl_hi = !d->lim_have || v > d->dcl_hi ? v : d->dcl_hi;
        d->dcl_prev = v;
        if (c->dec != NULL)
            negative_dcl(d, c);
    }
    if (fl & BL_BIT(BL_F_CVL)) {
        int32_t v = r->f[BL_F_CVL].value;
        if (v == 0 && !dg_marked(&d->zero_cvl)) {
            dg_mark(&d->zero_cvl, c, 0, 0, 0);
            d->cvl_before_zero = d->cvl_m;
        }
        if (!dg_marked(&d->cvl_m) || v != d->cvl_m.a)
            dg_mark(&d->cvl_m, c, v, 0, 0);
    }
    if (fl & (BL_BIT(BL_F_CCL) | BL_BIT(BL_F_DCL)))
        d->lim_have = true;
}

static void judge(bl_diag_t *d, const dg_ctx_t *c, int32_t i_mA)
{
    int32_t ccl, dcl;
    const bl_field_t *v = &d->rec.f[BL_F_VOLTAGE], *cvl = &d->rec.f[BL_F_CVL];

    /* current that keeps flowing where a 0 A limit closed the way (zero_limit_ignored) */
    if (!dg_marked(&d->zero_flow) && ((dg_marked(&d->zero_ccl) && d->rec.f[BL_F_CCL].value == 0 && i_mA > 2000) ||
                                      (dg_marked(&d->zero_dcl) && d->rec.f[BL_F_DCL].value == 0 && i_mA < -2000)))
        dg_mark(&d->zero_flow, c, i_mA, 0, 0);
    if (limit_of(d, BL_F_CCL, BL_F_CHARGE_ENABLE, &ccl))
        hold(&d->h_ccl, i_mA > (int64_t)ccl + dg_tol_current(ccl), (int64_t)i_mA - ccl, c, &d->ccl_m, i_mA, ccl);
    if (limit_of(d, BL_F_DCL, BL_F_DISCHARGE_ENABLE, &dcl))
        hold(&d->h_dcl, -(int64_t)i_mA > (int64_t)dcl + dg_tol_current(dcl), -(int64_t)i_mA - dcl, c, &d->dcl_m, i_mA,
             dcl);
    if (v->valid && cvl->valid && cvl->value > 0)
        hold(&d->h_cvl, i_mA > 1000 && v->value > (int64_t)cvl->value + dg_tol_voltage(cvl->value),
             (int64_t)v->value - cvl->value, c, &d->cvl_m, v->value, cvl->value);
    react_check(d, c, i_mA);
}

void dg_limits_frame(bl_diag_t *d, const dg_ctx_t *c)
{
    int32_t i_mA;

    if (c->rc != 0) {
        /* a signed limit sent negative is out of its range: rejected, and named here */
        const bl_decoded_t *dec = c->dec;
        if (dec != NULL && dec->why == BL_REJ_RANGE && dec->msg != NULL && dec->sig < dec->msg->nsigs &&
            (dec->msg->sigs[dec->sig].field == BL_F_DCL || dec->msg->sigs[dec->sig].field == BL_F_CCL) &&
            dec->val[dec->sig] < 0 && d->neg_dcl++ == 0)
            dg_mark(&d->neg_dcl_m, c, dec->val[dec->sig], dec->msg->sigs[dec->sig].field, 1);
        return;
    }
    if (c->b2i)
        limit_updates(d, c);
    if ((c->fields & (BL_BIT(BL_F_CURRENT) | BL_BIT(BL_F_INV_CURRENT))) && dg_current(d, &i_mA))
        judge(d, c, i_mA);
}

/* ---- conclusions ---------------------------------------------------------------------- */

static const char *inv_name(const bl_diag_t *d)
{
    return d->cfg.inv && d->cfg.inv->name ? d->cfg.inv->name : "the inverter";
}

static void exceeded(bl_diag_t *d, const bl_diag_hold_t *h, const char *id, const char *what, const char *lim,
                     bool volts)
{
    bl_diag_finding_t *f;
    int dec = volts ? 2 : 1;
    const char *u = volts ? "V" : "A";

    if (h->episodes == 0 || (f = dg_add(d, BL_DP_LIMITS, BL_DSEV_ERROR, id, h->start.ts_us)) == NULL)
        return;
    dg_fmt(f->cause, sizeof f->cause,
           "the %s went above the %s %N for longer than %T: up to %m %s against %m %s (the longest %T)", what,
           lim, (unsigned)h->episodes, DG_T(HOLD_US), DG_M(h->worst.a, dec), u, DG_M(h->worst.b, dec), u,
           DG_T(h->worst_us));
    if (!volts && h->start.b == 0)
        dg_cat(f->cause, sizeof f->cause, "; a limit of 0 %s (or the enable flag cleared) means stop", u);
    if (!volts && d->cfg.inv && (d->cfg.inv->flags & BL_DIF_IGNORES_CURRENT_LIMITS))
        dg_cat(f->cause, sizeof f->cause, "; %s ignores current limits (profile)", inv_name(d));
    dg_ev(f, &h->limit, "%s %m %s", lim, DG_M(h->limit.a, dec), u);
    dg_ev(f, &h->start, "%m %s, limit %m %s", DG_M(h->start.a, dec), u, DG_M(h->start.b, dec), u);
    dg_ev(f, &h->worst, "%m %s, limit %m %s: the worst", DG_M(h->worst.a, dec), u, DG_M(h->worst.b, dec), u);
    if (volts)
        dg_fmt(f->fix, sizeof f->fix,
               "The inverter charges past the battery's charge voltage limit: set its charge / absorption voltage "
               "to follow the BMS (DVCC on a Victron GX, BMS mode instead of user-defined voltages), and check that "
               "it reads the battery's limit message.");
    else
        dg_fmt(f->fix, sizeof f->fix,
               "Make the inverter follow the battery's %s: select the lithium / BMS battery mode (not lead-acid or "
               "user-defined), enable 'BMS controls the current' where it exists, update firmware that ignores "
               "limits; where it cannot, set its own maximum current below the battery's limit.",
               lim);
}

static void zero_limits(bl_diag_t *d)
{
    const bl_diag_inverter_t *inv = d->cfg.inv;
    bl_diag_finding_t *f;
    uint32_t fl = inv ? inv->flags : 0;

    if ((fl & BL_DIF_IGNORES_ZERO_LIMITS) && (dg_marked(&d->zero_ccl) || dg_marked(&d->zero_dcl)) &&
        (f = dg_add(d, BL_DP_LIMITS, BL_DSEV_ERROR, "zero_limit_ignored",
                    dg_marked(&d->zero_ccl) ? d->zero_ccl.ts_us : d->zero_dcl.ts_us)) != NULL) {
        dg_fmt(f->cause, sizeof f->cause,
               "the battery asks to stop with a %s limit of 0 A, but %s reads 0 A as 'no limit' (profile quirk "
               "ignores_zero_limits)",
               dg_marked(&d->zero_ccl) ? "charge" : "discharge", inv_name(d));
        dg_ev(f, &d->zero_ccl, "charge current limit 0 A");
        dg_ev(f, &d->zero_dcl, "discharge current limit 0 A");
        dg_ev(f, &d->zero_flow, "%m A still flowing", DG_M(d->zero_flow.a, 1));
        dg_fmt(f->fix, sizeof f->fix,
               "Send the smallest non-zero step as 'stop' (0.1 A) together with the enable flags cleared, as BMSes "
               "built for this inverter do (a gateway can do it), or set the inverter's own current limits.");
    }
    if (dg_marked(&d->zero_cvl) &&
        (f = dg_add(d, BL_DP_LIMITS,
                    (fl & (BL_DIF_CVL_ZERO_OVERVOLTAGE | BL_DIF_IGNORES_ZERO_LIMITS)) ? BL_DSEV_ERROR : BL_DSEV_WARNING,
                    "cvl_zero",
                    d->zero_cvl.ts_us)) != NULL) {
        dg_fmt(f->cause, sizeof f->cause,
               "the battery sends a charge voltage limit of 0 V: %s",
               (fl & BL_DIF_CVL_ZERO_OVERVOLTAGE) ? "this inverter reads it as an over-voltage fault (profile)"
               : (fl & BL_DIF_IGNORES_ZERO_LIMITS) ? "this inverter reads it as 'no limit' (profile)"
                                                   : "inverters read it as an over-voltage (Victron) or as no limit");
        dg_ev(f, &d->cvl_before_zero, "charge voltage limit %m V", DG_M(d->cvl_before_zero.a, 1));
        dg_ev(f, &d->zero_cvl, "charge voltage limit 0 V");
        dg_fmt(f->fix, sizeof f->fix,
               "Never send CVL = 0: to stop charging send CCL = 0 and clear the charge enable flag, and keep CVL at "
               "the pack's real charge voltage.");
    }
    if ((fl & BL_DIF_DCL_ZERO_SHUTDOWN) && dg_marked(&d->zero_dcl) &&
        (f = dg_add(d, BL_DP_LIMITS, BL_DSEV_WARNING, "dcl_zero_shutdown", d->zero_dcl.ts_us)) != NULL) {
        dg_fmt(f->cause, sizeof f->cause, "a discharge limit of 0 A: off-grid, %s shuts down at DCL = 0 (profile)",
               inv_name(d));
        dg_ev(f, &d->zero_dcl, "discharge current limit 0 A");
        dg_fmt(f->fix, sizeof f->fix,
               "Keep a small DCL for the inverter's own consumption near empty, or accept the shutdown as the "
               "battery's protection.");
    }
    if ((fl & BL_DIF_IGNORES_CURRENT_LIMITS) && d->lim_have && (d->ccl_lo < d->ccl_hi || d->dcl_lo < d->dcl_hi) &&
        !d->h_ccl.episodes && !d->h_dcl.episodes &&
        (f = dg_add(d, BL_DP_LIMITS, BL_DSEV_WARNING, "current_limits_ignored", d->ccl_m.ts_us)) != NULL) {
        dg_fmt(f->cause, sizeof f->cause,
               "the battery derates its current limits (charge %m..%m A, discharge %m..%m A) but %s ignores CCL/DCL "
               "and stops only at the voltage limits or SOC 0/100 %% (profile)",
               DG_M(d->ccl_lo, 1), DG_M(d->ccl_hi, 1), DG_M(d->dcl_lo, 1), DG_M(d->dcl_hi, 1), inv_name(d));
        dg_ev(f, &d->ccl_m, "charge current limit %m A", DG_M(d->ccl_m.a, 1));
        dg_ev(f, &d->dcl_m, "discharge current limit %m A", DG_M(d->dcl_m.a, 1));
        dg_fmt(f->fix, sizeof f->fix,
               "Set the inverter's own maximum charge / discharge currents at or below the battery's lowest limit.");
    }
}

static void negative(bl_diag_t *d)
{
    bl_diag_finding_t *f;
    if (d->neg_dcl == 0 || (f = dg_add(d, BL_DP_LIMITS, BL_DSEV_WARNING, "negative_limit", d->neg_dcl_m.ts_us)) == NULL)
        return;
    if (d->neg_dcl_m.c == 1)
        dg_fmt(f->cause, sizeof f->cause,
               "a current limit sent negative (%m A) in %u frames: limits are magnitudes; the frames are rejected",
               DG_M(d->neg_dcl_m.a, 1), (unsigned)d->neg_dcl);
    else
        dg_fmt(f->cause, sizeof f->cause,
               "the discharge current limit is sent negative (%m A) in %u frames: bmslink reads the magnitude, but "
               "an inverter reading it unsigned sees a huge limit, or none",
               DG_M(-d->neg_dcl_m.a, 1), (unsigned)d->neg_dcl);
    dg_ev(f, &d->neg_dcl_m, "limit sent as %m A", DG_M(d->neg_dcl_m.c == 1 ? d->neg_dcl_m.a : -d->neg_dcl_m.a, 1));
    dg_ev(f, &d->neg_dcl_last, "still negative");
    dg_fmt(f->fix, sizeof f->fix,
           "Send current limits as positive magnitudes (%s); a gateway can fix the sign on the way.",
           d->p ? d->p->name : "the protocol");
}

static void loop_verdict(bl_diag_t *d)
{
    if (d->reacted > 0) {
        d->loop = BL_LOOP_CLOSED;
        dg_fmt(d->loop_reason, sizeof d->loop_reason,
               "the current came down to the battery's limit %u of %u times it was lowered below the flowing "
               "current (first: limit %m A at line %l, followed at line %l)",
               (unsigned)d->reacted, (unsigned)(d->reacted + d->not_reacted), DG_M(d->react_ok_a.a, 1),
               DG_L(d->react_ok_a.line), DG_L(d->react_ok_b.line));
    } else if (d->not_reacted > 0) {
        d->loop = BL_LOOP_OPEN;
        dg_fmt(d->loop_reason, sizeof d->loop_reason,
               "a limit was lowered below the flowing current %N and nothing followed within %T (first: limit "
               "%m A at line %l, still %m A at line %l)",
               (unsigned)d->not_reacted, DG_T(REACT_US), DG_M(d->react_bad_a.a, 1), DG_L(d->react_bad_a.line),
               DG_M(d->react_bad_b.a, 1), DG_L(d->react_bad_b.line));
    } else if (d->i2b == 0 && d->b2i > 0 && d->other_p != NULL && d->other_i2b > 0) {
        d->loop = BL_LOOP_OPEN;
        dg_fmt(d->loop_reason, sizeof d->loop_reason,
               "the inverter speaks %s, so nothing on the bus answers the battery's %s (%l frames)", d->other_p->name,
               d->p ? d->p->name : "frames", DG_L(d->b2i));
    } else if (d->i2b == 0 && d->b2i > 0) {
        d->loop = BL_LOOP_OPEN;
        dg_fmt(d->loop_reason, sizeof d->loop_reason,
               "only the battery talks (%l frames): no inverter frame answers it, and no limit change showed a "
               "reaction",
               DG_L(d->b2i));
    } else if (d->i2b > 0 && d->b2i > 0) {
        dg_fmt(d->loop_reason, sizeof d->loop_reason,
               "the inverter talks (%l frames) but no limit was lowered below the flowing current, so its reaction "
               "could not be seen",
               DG_L(d->i2b));
    } else {
        dg_fmt(d->loop_reason, sizeof d->loop_reason, "no battery data to judge the loop by");
    }
}

void dg_limits_finish(bl_diag_t *d)
{
    if (d->p != NULL) {
        exceeded(d, &d->h_ccl, "ccl_exceeded", "charge current", "charge current limit", false);
        exceeded(d, &d->h_dcl, "dcl_exceeded", "discharge current", "discharge current limit", false);
        exceeded(d, &d->h_cvl, "cvl_exceeded", "pack voltage while charging", "charge voltage limit", true);
        zero_limits(d);
        negative(d);
    }
    loop_verdict(d);
}
