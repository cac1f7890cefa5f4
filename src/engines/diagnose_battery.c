/*
 * battery_mismatch: the traffic against the battery the user described (--cells,
 * --battery FILE). Does the pack voltage fit the cell count (from the cells the BMS
 * reports when it reports them, else from what an LFP cell can hold), and do the limits
 * the BMS sends stay within the pack's ratings? Without a description nothing is
 * judged here, and the report says what the other analysers assumed instead.
 */
#include "diagnose_int.h"

#include <string.h>

#define LFP_CELL_MAX_MV 3650  /* LFP charge limit per cell (protections trip at 3.60-3.65 V) */
#define LFP_CELL_MIN_MV 2500  /* ... and the discharge floor */
#define CELL_V_HI_MV 3750     /* a pack cannot sit above this per cell (beyond every protection) ... */
#define CELL_V_LO_MV 2000     /* ... nor below this and still talk: the count given is wrong */
#define SPREAD_MAX_MV 300     /* the mean of min and max stands for every cell only when they are close */
#define MIN_JUDGED 3          /* frames with cells before the cell-count check says anything */

enum { L_CVL = 0, L_CCL, L_DCL, L_DVL };

static const uint8_t lim_field[4] = { BL_F_CVL, BL_F_CCL, BL_F_DCL, BL_F_DVL };

static uint8_t cells_of(const bl_diag_t *d)
{
    return d->cfg.bat != NULL ? d->cfg.bat->cells : 0;
}

/* the mean cell voltage when the BMS sends close min and max cells */
static bool mean_cell(const bl_diag_t *d, int32_t *mV)
{
    const bl_field_t *lo = &d->rec.f[BL_F_CELL_V_MIN], *hi = &d->rec.f[BL_F_CELL_V_MAX];

    if (!lo->valid || !hi->valid || lo->value < 1000 || hi->value > 5000 || hi->value < lo->value ||
        hi->value - lo->value > SPREAD_MAX_MV)
        return false;
    *mV = (lo->value + hi->value) / 2;
    return true;
}

void dg_battery_frame(bl_diag_t *d, const dg_ctx_t *c)
{
    const bl_field_t *v = &d->rec.f[BL_F_VOLTAGE];
    int32_t cell;
    uint8_t n = cells_of(d);

    if (c->fields & BL_BIT(BL_F_VOLTAGE) && v->valid && v->value > 0) {
        if (!d->bat.have_v || v->value < d->bat.v_lo) {
            d->bat.v_lo = v->value;
            dg_mark(&d->bat.v_lo_m, c, v->value, 0, 0);
        }
        if (!d->bat.have_v || v->value > d->bat.v_hi) {
            d->bat.v_hi = v->value;
            dg_mark(&d->bat.v_hi_m, c, v->value, 0, 0);
        }
        d->bat.have_v = 1;
        if (n > 0 && mean_cell(d, &cell)) {
            int64_t want = (int64_t)cell * n;
            d->bat.judged++;
            /* more than half a cell away: another number of cells adds up to this voltage */
            if (v->value > want + cell / 2 || v->value < want - cell / 2) {
                if (d->bat.bad++ == 0)
                    dg_mark(&d->bat.bad_m, c, v->value, cell, (v->value + cell / 2) / cell);
            }
        }
    }
    for (unsigned k = 0; k < 4; k++) {
        const bl_field_t *f = &d->rec.f[lim_field[k]];
        bool lower = k == L_DVL; /* the discharge floor is judged by its lowest value */
        if (!(c->fields & BL_BIT(lim_field[k])) || !f->valid || (lower && f->value <= 0))
            continue;
        if (!d->bat.have_lim[k] || (lower ? f->value < d->bat.lim[k] : f->value > d->bat.lim[k])) {
            d->bat.lim[k] = f->value;
            dg_mark(&d->bat.lim_m[k], c, f->value, 0, 0);
        }
        d->bat.have_lim[k] = 1;
    }
}

static void cells_finding(bl_diag_t *d, const bl_diag_battery_t *b)
{
    bl_diag_finding_t *f;
    const char *by = b->name != NULL ? b->name : "--cells";

    if (d->bat.judged >= MIN_JUDGED && d->bat.bad * 2u > d->bat.judged) {
        const bl_diag_mark_t *m = &d->bat.bad_m;
        if ((f = dg_add(d, BL_DP_BATTERY_MISMATCH, BL_DSEV_ERROR, "cells_vs_voltage", m->ts_us)) == NULL)
            return;
        dg_fmt(f->cause, sizeof f->cause,
               "the pack reads %m V with cells at %m V on average: that is %u cells in series, not the %u of %s "
               "(%u of %u frames)",
               DG_M(m->a, 2), DG_M(m->b, 3), (unsigned)m->c, (unsigned)b->cells, by, (unsigned)d->bat.bad,
               (unsigned)d->bat.judged);
        dg_ev(f, m, "%m V pack, %m V mean cell", DG_M(m->a, 2), DG_M(m->b, 3));
        dg_fmt(f->fix, sizeof f->fix,
               "Describe the battery on the wire (--cells %u), or check the BMS's cell-count setting: a BMS set to "
               "the wrong count computes wrong limits and a wrong SOC from its voltages.",
               (unsigned)m->c);
        return;
    }
    if (!d->bat.have_v || d->bat.judged >= MIN_JUDGED)
        return;
    /* no cell voltages on the wire: what an LFP cell can hold bounds the count */
    {
        bool hi = d->bat.v_hi > (int32_t)b->cells * CELL_V_HI_MV;
        bool lo = !hi && d->bat.v_lo < (int32_t)b->cells * CELL_V_LO_MV;
        const bl_diag_mark_t *m = hi ? &d->bat.v_hi_m : &d->bat.v_lo_m;
        if (!hi && !lo)
            return;
        if ((f = dg_add(d, BL_DP_BATTERY_MISMATCH, BL_DSEV_ERROR, "cells_vs_voltage", m->ts_us)) == NULL)
            return;
        dg_fmt(f->cause, sizeof f->cause,
               "the pack reads %m V: %m V per cell over the %u cells of %s, where an LFP cell never sits %s %m V; "
               "about %u cells fit this voltage",
               DG_M(m->a, 2), DG_M(m->a / b->cells, 3), (unsigned)b->cells, by, hi ? "above" : "below",
               DG_M(hi ? CELL_V_HI_MV : CELL_V_LO_MV, 2), (unsigned)((m->a + 1650) / 3300));
        dg_ev(f, m, "%m V pack", DG_M(m->a, 2));
        dg_fmt(f->fix, sizeof f->fix,
               "Check the cell count given (--cells, the battery file) against the pack, and the voltage field's "
               "scale in the protocol.");
    }
}

/* the rating of limit k: the battery file's, else what its LFP cells allow (0: none) */
static int32_t rating(const bl_diag_battery_t *b, unsigned k, bool *from_cells)
{
    *from_cells = false;
    switch (k) {
    case L_CVL:
        if (b->cvl_max_mV > 0)
            return b->cvl_max_mV;
        *from_cells = b->cells > 0;
        return (int32_t)b->cells * LFP_CELL_MAX_MV;
    case L_DVL:
        if (b->dvl_min_mV > 0)
            return b->dvl_min_mV;
        *from_cells = b->cells > 0;
        return (int32_t)b->cells * LFP_CELL_MIN_MV;
    case L_CCL: return b->ccl_max_mA;
    default: return b->dcl_max_mA;
    }
}

static void limits_finding(bl_diag_t *d, const bl_diag_battery_t *b)
{
    static const char *const names[4] = { "charge voltage limit", "charge current limit", "discharge current limit",
                                          "discharge voltage limit" };
    bl_diag_finding_t *f = NULL;
    bool volt_bad = false;
    const char *by = b->name != NULL ? b->name : "--cells";

    for (unsigned k = 0; k < 4; k++) {
        bool cells, volts = k == L_CVL || k == L_DVL, lower = k == L_DVL;
        int32_t r = rating(b, k, &cells), v = d->bat.lim[k];
        int32_t tol = volts ? dg_tol_voltage(r) : dg_tol_current(r);
        if (r <= 0 || !d->bat.have_lim[k] || (lower ? v >= r - tol : v <= r + tol))
            continue;
        if (f == NULL) {
            volt_bad = volts && !lower;
            f = dg_add(d, BL_DP_BATTERY_MISMATCH, BL_DSEV_WARNING, "limit_above_rating", d->bat.lim_m[k].ts_us);
            if (f == NULL)
                return;
            dg_fmt(f->cause, sizeof f->cause, "the BMS sends limits beyond the battery's ratings (%s):", by);
        } else {
            dg_cat(f->cause, sizeof f->cause, ";");
            volt_bad |= volts && !lower;
        }
        dg_cat(f->cause, sizeof f->cause, " %s %m %s %s %m %s%s", names[k], DG_M(v, volts ? 2 : 1), volts ? "V" : "A",
               lower ? "below" : "above", DG_M(r, volts ? 2 : 1), volts ? "V" : "A",
               cells ? (lower ? " (2.5 V per LFP cell)" : " (3.65 V per LFP cell)") : "");
        dg_ev(f, &d->bat.lim_m[k], "%s %m %s", names[k], DG_M(v, volts ? 2 : 1), volts ? "V" : "A");
    }
    if (f == NULL)
        return;
    if (volt_bad)
        f->severity = BL_DSEV_ERROR; /* charging above the cells' limit is a safety problem */
    dg_fmt(f->fix, sizeof f->fix,
           "Set the BMS's charge voltage, current limits and cell count to the pack's datasheet; an inverter "
           "that follows a limit above the rating drives the cells into their protection (or beyond).");
}

void dg_battery_finish(bl_diag_t *d)
{
    const bl_diag_battery_t *b = d->cfg.bat;

    if (b != NULL && b->cells > 0)
        cells_finding(d, b);
    if (b != NULL)
        limits_finding(d, b);
    if ((b == NULL || b->cells == 0) && d->bat.have_v && d->bat.v_hi >= 8000) {
        /* what diagnose_values.c's cell_avg() tries when it has no count: the nearest one +-1 */
        int32_t mid = d->bat.v_lo + (d->bat.v_hi - d->bat.v_lo) / 2, k = (mid + 1600) / 3200;
        dg_note(d, "battery not described: %u..%u LFP cells tried for %m V%s (--battery FILE, --cells, --capacity "
                   "set them)",
                (unsigned)(k > 2 ? k - 1 : 2), (unsigned)(k + 1), DG_M(mid, 2),
                d->cap_src == 2 ? ", capacity assumed" : "");
    }
}
