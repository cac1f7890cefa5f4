/*
 * unexpected_shutdown: the current was flowing and stopped, or the battery went
 * silent; the story is told from the battery's events that led to it (protections,
 * alarms, a limit going to 0, an enable flag cleared, a cell at its limit, a silence
 * on the bus, an inverter error), in time order. Stops with no battery-side event
 * before them are the inverter's choice (PV gone, load off) and are not reported; a
 * charge that stops full is normal.
 */
#include "diagnose_int.h"

#include <string.h>

#define RUN_MA 2000          /* "running": at least 2 A ... */
#define RUN_US 20000000u     /* ... for 20 s */
#define STILL_MA 500         /* stopped: below 0.5 A ... */
#define STILL_US 20000000u   /* ... for 20 s */
#define LOOKBACK_US 600000000u /* events up to 10 min before the stop tell its story */
#define CELL_HI_MV 3600      /* LFP cells at their charge limit (protections trip at 3.60-3.65 V) */
#define CELL_LO_MV 2700      /* ... and at their discharge limit */

enum { EV_PROT = 1, EV_ALARM, EV_LIMIT0, EV_ENABLE0, EV_GAP, EV_BUSOFF, EV_CELL_HI, EV_CELL_LO, EV_INV_ERR, EV_SILENT };

static void push(bl_diag_t *d, unsigned kind, unsigned arg, unsigned arg2, const bl_diag_mark_t *m)
{
    bl_diag_event_t *e = &d->shev[d->shev_head];
    e->kind = (uint8_t)kind;
    e->arg = (uint8_t)arg;
    e->arg2 = (uint8_t)arg2;
    e->m = *m;
    d->shev_head = (uint8_t)((d->shev_head + 1u) % BL_DIAG_SHUT_EVENTS);
    if (d->nshev < BL_DIAG_SHUT_EVENTS)
        d->nshev++;
}

static void events(bl_diag_t *d, const dg_ctx_t *c)
{
    const bl_record_t *r = &d->rec;
    uint32_t fl = c->fields;
    bl_diag_mark_t m;

    dg_mark(&m, c, 0, 0, 0);
    /* one event per class and frame: a bit that stands for several alarms raises them together */
    for (unsigned k = 0; k < BL_AC_COUNT; k++) {
        bl_alarm_mask_t raised = (bl_alarm_mask_t)(r->active[k] & ~d->alarm_prev[k]);
        unsigned a = 0;
        if (k == BL_AC_WARNING || raised == 0)
            continue;
        while (!(raised & (1u << a)))
            a++;
        m.a = raised;
        push(d, k == BL_AC_PROTECTION ? EV_PROT : EV_ALARM, a, k, &m);
    }
    m.a = 0;
    if ((fl & BL_BIT(BL_F_CCL)) && r->f[BL_F_CCL].value == 0 && d->lim_have && d->ccl_prev != 0) {
        m.a = BL_F_CCL;
        push(d, EV_LIMIT0, BL_F_CCL, 0, &m);
    }
    if ((fl & BL_BIT(BL_F_DCL)) && r->f[BL_F_DCL].value == 0 && d->lim_have && d->dcl_prev != 0)
        push(d, EV_LIMIT0, BL_F_DCL, 0, &m);
    for (unsigned fid = BL_F_CHARGE_ENABLE; fid <= BL_F_DISCHARGE_ENABLE; fid++) {
        unsigned bit = 1u << (fid - BL_F_CHARGE_ENABLE);
        if (!(fl & BL_BIT(fid)))
            continue;
        if (r->f[fid].value == 0 && !(d->enable_off & bit))
            push(d, EV_ENABLE0, fid, 0, &m);
        d->enable_off = (uint8_t)(r->f[fid].value == 0 ? (d->enable_off | bit) : (d->enable_off & ~bit));
    }
    if ((fl & BL_BIT(BL_F_CELL_V_MAX)) && r->f[BL_F_CELL_V_MAX].value >= CELL_HI_MV) {
        if (!(d->cell_hi_on & 1u)) {
            m.a = r->f[BL_F_CELL_V_MAX].value;
            push(d, EV_CELL_HI, 0, 0, &m);
        }
        d->cell_hi_on |= 1u;
    } else if (fl & BL_BIT(BL_F_CELL_V_MAX)) {
        d->cell_hi_on = (uint8_t)(d->cell_hi_on & ~1u);
    }
    if ((fl & BL_BIT(BL_F_CELL_V_MIN)) && r->f[BL_F_CELL_V_MIN].value > 0 && r->f[BL_F_CELL_V_MIN].value <= CELL_LO_MV) {
        if (!d->cell_lo_on) {
            m.a = r->f[BL_F_CELL_V_MIN].value;
            push(d, EV_CELL_LO, 0, 0, &m);
        }
        d->cell_lo_on = 1;
    } else if (fl & BL_BIT(BL_F_CELL_V_MIN)) {
        d->cell_lo_on = 0;
    }
}

/* Keep the story of a stop: events before it (and while it settled), oldest first. */
static void story(bl_diag_t *d, const bl_diag_mark_t *stop, int32_t i_mA, bool silent, const bl_diag_mark_t *end)
{
    uint8_t sev = BL_DSEV_COUNT;
    bool only_full = true;
    int32_t soc = d->rec.f[BL_F_SOC].valid ? d->rec.f[BL_F_SOC].value : -1;
    bl_diag_event_t pick[BL_DIAG_SHUT_EVENTS];
    unsigned n = 0;

    for (unsigned i = 0; i < d->nshev; i++) {
        unsigned at = ((unsigned)d->shev_head + BL_DIAG_SHUT_EVENTS - (unsigned)d->nshev + i) % BL_DIAG_SHUT_EVENTS;
        const bl_diag_event_t *e = &d->shev[at];
        if (stop->ts_us > LOOKBACK_US && e->m.ts_us < stop->ts_us - LOOKBACK_US)
            continue;
        if (end != NULL && e->m.line > end->line)
            continue;
        pick[n++] = *e;
        if (e->kind == EV_PROT || e->kind == EV_GAP || e->kind == EV_BUSOFF) {
            sev = BL_DSEV_ERROR;
        } else if (sev != BL_DSEV_ERROR) {
            sev = BL_DSEV_WARNING;
        }
        if (!(e->kind == EV_LIMIT0 || e->kind == EV_ENABLE0 || e->kind == EV_CELL_HI))
            only_full = false;
    }
    if (silent)
        sev = BL_DSEV_ERROR;
    if (n == 0 && !silent)
        return; /* nothing on the battery side: the inverter stopped by itself */
    /* a charge that ends at full, with only the limits closing, is how a charge ends */
    if (!silent && i_mA > 0 && only_full && soc >= 98000)
        return;
    if (!silent && i_mA < 0 && soc >= 0 && soc <= 5000 && sev != BL_DSEV_ERROR)
        sev = BL_DSEV_INFO; /* empty: the battery's discharge end */
    d->shutdowns++;
    if (d->nshut >= BL_ARRAY_LEN(d->shut))
        return;
    d->shut[d->nshut].stop = *stop;
    d->shut[d->nshut].i_mA = i_mA;
    d->shut[d->nshut].soc = soc;
    d->shut[d->nshut].severity = sev;
    /* the first event (where it began) and the last ones before the stop */
    {
        unsigned keep = BL_DIAG_EV_MAX - 1u, k = 0;
        for (unsigned i = 0; i < n; i++)
            if (n <= keep || i == 0 || i >= n - (keep - 1u))
                d->shut[d->nshut].ev[k++] = pick[i];
        d->shut[d->nshut].n = (uint8_t)k;
    }
    d->shut[d->nshut].stop.c = silent;
    d->nshut++;
}

void dg_shutdown_frame(bl_diag_t *d, const dg_ctx_t *c)
{
    int32_t i_mA;
    int64_t mag;

    if (c->rc != 0) {
        if (c->f != NULL && (c->f->flags & BL_CAN_ERR) && d->busoff > 0 && dg_marked(&d->first_busoff) && d->first_busoff.line == c->line) {
            bl_diag_mark_t m;
            dg_mark(&m, c, 0, 0, 0);
            push(d, EV_BUSOFF, 0, 0, &m);
        }
        return;
    }
    if (c->b2i) {
        /* a silence before this frame is part of any story that follows */
        if (d->gapx_line == c->line)
            push(d, EV_GAP, 0, 0, &d->gapx_a);
        events(d, c);
    }
    if (d->rec.f[BL_F_INV_ERROR].valid && (c->fields & BL_BIT(BL_F_INV_ERROR))) {
        int32_t e = d->rec.f[BL_F_INV_ERROR].value;
        if (e != 0 && e != d->inv_err_prev) {
            bl_diag_mark_t m;
            dg_mark(&m, c, e, 0, 0);
            push(d, EV_INV_ERR, 0, 0, &m);
        }
        d->inv_err_prev = e;
    }
    if (!(c->fields & (BL_BIT(BL_F_CURRENT) | BL_BIT(BL_F_INV_CURRENT))) || !dg_current(d, &i_mA) || !c->has_ts)
        return;
    mag = i_mA < 0 ? -(int64_t)i_mA : i_mA;
    if (mag >= RUN_MA) {
        d->stopping = false;
        if (d->run_since_us == 0) {
            d->run_since_us = c->t_us;
            dg_mark(&d->run_m, c, i_mA, 0, 0);
            if (!d->running)
                d->run_i_mA = 0;
        }
        if (c->t_us - d->run_since_us >= RUN_US)
            d->running = true;
        if (mag > (d->run_i_mA < 0 ? -(int64_t)d->run_i_mA : d->run_i_mA))
            d->run_i_mA = i_mA; /* the largest current of the run tells what stopped */
        return;
    }
    d->run_since_us = 0;
    if (mag > STILL_MA || !d->running)
        return;
    if (!d->stopping) {
        d->stopping = true;
        dg_mark(&d->stop_m, c, i_mA, d->run_i_mA, 0);
        return;
    }
    if (c->t_us - d->stop_m.ts_us >= STILL_US) {
        bl_diag_mark_t end;
        dg_mark(&end, c, 0, 0, 0);
        story(d, &d->stop_m, d->run_i_mA, false, &end);
        d->running = false;
        d->stopping = false;
    }
}

static const char *kind_text(const bl_diag_event_t *e, char *buf, size_t n)
{
    switch (e->kind) {
    case EV_PROT:
    case EV_ALARM: {
        unsigned more = 0;
        for (unsigned a = e->arg + 1u; a < BL_A_COUNT; a++)
            more += ((uint32_t)e->m.a >> a) & 1u;
        dg_fmt(buf, n, "%s %s%s raised", e->kind == EV_PROT ? "protection" : "alarm", bl_alarm_str(e->arg),
               more ? " (a bit shared with other alarms)" : "");
        break;
    }
    case EV_LIMIT0: dg_fmt(buf, n, "%s limit went to 0 A", e->arg == BL_F_CCL ? "charge" : "discharge"); break;
    case EV_ENABLE0: dg_fmt(buf, n, "%s enable cleared", e->arg == BL_F_CHARGE_ENABLE ? "charge" : "discharge"); break;
    case EV_GAP: dg_fmt(buf, n, "battery data stopped"); break;
    case EV_BUSOFF: dg_fmt(buf, n, "bus-off"); break;
    case EV_CELL_HI: dg_fmt(buf, n, "highest cell at %m V", DG_M(e->m.a, 3)); break;
    case EV_CELL_LO: dg_fmt(buf, n, "lowest cell at %m V", DG_M(e->m.a, 3)); break;
    case EV_INV_ERR: dg_fmt(buf, n, "inverter error %l", DG_L(e->m.a)); break;
    default: dg_fmt(buf, n, "event"); break;
    }
    return buf;
}

void dg_shutdown_finish(bl_diag_t *d)
{
    /* the battery went silent while current was flowing: the bus went quiet with it */
    if (d->p != NULL && d->running && d->b2i > 0 && d->last_b2i.has_ts && d->last_any.has_ts &&
        d->last_any.ts_us - d->last_b2i.ts_us > d->stale_ms * 1000u) {
        bl_diag_mark_t stop = d->last_b2i;
        stop.a = d->run_i_mA;
        story(d, &stop, d->run_i_mA, true, NULL);
    }
    for (unsigned s = 0; s < d->nshut; s++) {
        bl_diag_finding_t *f;
        char seq[BL_DIAG_TEXT_MAX / 2], t[96];
        const bl_diag_mark_t *stop = &d->shut[s].stop;
        bool silent = stop->c != 0;

        f = dg_add(d, BL_DP_SHUTDOWN, d->shut[s].severity, silent ? "battery_went_silent" : "stopped",
                   d->shut[s].n ? d->shut[s].ev[0].m.ts_us : stop->ts_us);
        if (f == NULL)
            return;
        seq[0] = '\0';
        for (unsigned i = 0; i < d->shut[s].n; i++)
            dg_cat(seq, sizeof seq, "%s%s", i ? " -> " : "", kind_text(&d->shut[s].ev[i], t, sizeof t));
        dg_fmt(f->cause, sizeof f->cause, "%s at up to %m A %s", d->shut[s].i_mA > 0 ? "charging" : "discharging",
               DG_M(d->shut[s].i_mA < 0 ? -d->shut[s].i_mA : d->shut[s].i_mA, 1),
               silent ? "ended with the battery going silent" : "stopped");
        if (seq[0])
            dg_cat(f->cause, sizeof f->cause, ": %s -> %s", seq, silent ? "no more battery frames" : "current 0 A");
        if (d->shut[s].soc >= 0)
            dg_cat(f->cause, sizeof f->cause, " (SOC %m %%)", DG_M(d->shut[s].soc, 0));
        for (unsigned i = 0; i < d->shut[s].n; i++) {
            const bl_diag_event_t *e = &d->shut[s].ev[i];
            dg_ev(f, &e->m, "%s", kind_text(e, t, sizeof t));
            if ((e->kind == EV_PROT || e->kind == EV_ALARM) && e->arg2 < BL_AC_COUNT)
                f->alarms[e->arg2] = (bl_alarm_mask_t)(f->alarms[e->arg2] | (bl_alarm_mask_t)e->m.a);
        }
        if (silent)
            f->span_us = dg_span(stop, &d->last_any);
        dg_ev(f, stop, silent ? "the battery's last frame (current %m A)" : "current %m A: stopped",
              DG_M(silent ? d->shut[s].i_mA : stop->a, 1));
        if (silent)
            dg_ev(f, &d->last_any, "the capture goes on %T without the battery", DG_T(dg_span(stop, &d->last_any)));
        if (d->shut[s].n > 0 && (d->shut[s].ev[0].kind == EV_PROT || d->shut[s].ev[0].kind == EV_ALARM ||
                                 d->shut[s].ev[0].kind == EV_CELL_HI || d->shut[s].ev[0].kind == EV_CELL_LO))
            dg_fmt(f->fix, sizeof f->fix,
                   "The battery protected itself: find what drove it there (%s). Check the inverter follows the "
                   "limits before a protection trips (limits_not_followed), cell balance, temperatures and the "
                   "BMS's protection settings.",
                   kind_text(&d->shut[s].ev[0], t, sizeof t));
        else if (silent || (d->shut[s].n > 0 && (d->shut[s].ev[0].kind == EV_GAP || d->shut[s].ev[0].kind == EV_BUSOFF)))
            dg_fmt(f->fix, sizeof f->fix,
                   "The communication failed first: fix the communication_fault findings; an inverter without "
                   "battery data stops (or runs on defaults).");
        else
            dg_fmt(f->fix, sizeof f->fix,
                   "The battery closed its limits: look at why (temperature derating, cell voltages, SOC settings "
                   "in the BMS) in the lines before the stop.");
    }
    if (d->shutdowns > d->nshut && d->nshut > 0)
        dg_note(d, "%u more stops like these were not listed", (unsigned)(d->shutdowns - d->nshut));
}
