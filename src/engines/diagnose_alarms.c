/*
 * alarm_not_shown: alarms the battery raises that never reach the inverter's display,
 * because the inverter-side protocol has no bit for them (the lossy-mapping table,
 * src/engines/lossy.c), they arrive in a message that protocol's inverters do not
 * read, or the inverter's profile ignores battery alarms.
 */
#include "diagnose_int.h"

#include <string.h>

void dg_alarms_init(bl_diag_t *d)
{
    bl_lossy_t lm;

    d->lossy_ok = false;
    if (d->p == NULL || d->inv_p == NULL || bl_lossy_map(d->p, d->inv_p, &lm) != 0)
        return;
    d->lossy_ok = true;
    for (unsigned k = 0; k < BL_AC_COUNT; k++)
        for (unsigned a = 0; a < BL_A_COUNT; a++) {
            d->lossy_status[k][a] = lm.alarm[k][a].status;
            d->lossy_why[k][a] = lm.alarm[k][a].why;
            d->lossy_to[k][a] = lm.alarm[k][a].to_class;
        }
}

/* Can the inverter show alarm a of class k? 0 yes, 1 lost, 2 only in another class. */
static int reach(const bl_diag_t *d, unsigned k, unsigned a)
{
    const bl_diag_inverter_t *inv = d->cfg.inv;
    if (inv != NULL && (inv->flags & BL_DIF_IGNORES_ALARMS))
        return 1;
    if (inv != NULL && (inv->flags & BL_DIF_ALARM_TABLE) && !(inv->shows[k] & (1u << a)))
        return 1;
    if (!d->lossy_ok)
        return 0;
    if (d->lossy_status[k][a] == BL_LOSSY_LOST)
        return (d->lossy_why[k][a] & BL_LW_CLASS) ? 2 : 1;
    if (d->lossy_status[k][a] == BL_LOSSY_DEGRADES && (d->lossy_why[k][a] & BL_LW_CLASS))
        return 2;
    return 0;
}

void dg_alarms_frame(bl_diag_t *d, const dg_ctx_t *c)
{
    if (c->rc != 0 || !c->b2i)
        return;
    /* the last frames that still raise what the inverter cannot show (how long it lasted) */
    if (c->alarms &&
        ((d->rec.active[0] & d->lost[0]) | (d->rec.active[1] & d->lost[1]) | (d->rec.active[2] & d->lost[2])))
        dg_mark(&d->lost_last, c, 0, 0, 0);
    if (c->alarms && ((d->rec.active[0] & d->degraded[0]) | (d->rec.active[1] & d->degraded[1]) |
                      (d->rec.active[2] & d->degraded[2])))
        dg_mark(&d->degraded_last, c, 0, 0, 0);
    for (unsigned k = 0; k < BL_AC_COUNT; k++) {
        bl_alarm_mask_t raised = (bl_alarm_mask_t)(d->rec.active[k] & ~d->alarm_prev[k]);
        d->alarm_prev[k] = d->rec.active[k];
        for (unsigned a = 0; raised && a < BL_A_COUNT; a++) {
            int r;
            if (!(raised & (1u << a)))
                continue;
            r = reach(d, k, a);
            if (r == 1) {
                if (!(d->lost[k] & (1u << a)) && d->nlost_m < BL_ARRAY_LEN(d->lost_m)) {
                    dg_mark(&d->lost_m[d->nlost_m], c, 0, 0, 0);
                    d->lost_k[d->nlost_m] = (uint8_t)k;
                    d->lost_a[d->nlost_m] = (uint8_t)a;
                    d->nlost_m++;
                }
                d->lost[k] = (bl_alarm_mask_t)(d->lost[k] | (1u << a));
            } else if (r == 2) {
                if (!d->degraded[0] && !d->degraded[1] && !d->degraded[2])
                    dg_mark(&d->degraded_m, c, k, a, d->lossy_to[k][a]);
                d->degraded[k] = (bl_alarm_mask_t)(d->degraded[k] | (1u << a));
            }
        }
    }
}

static const char *class_one(unsigned k)
{
    static const char *const n[BL_AC_COUNT] = { "alarm", "warning", "protection" };
    return k < BL_AC_COUNT ? n[k] : "?";
}

static void list(char *buf, size_t n, const bl_alarm_mask_t m[BL_AC_COUNT])
{
    bool first = true;
    for (unsigned k = 0; k < BL_AC_COUNT; k++)
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (m[k] & (1u << a)) {
                dg_cat(buf, n, "%s%s (%s)", first ? "" : ", ", bl_alarm_str(a), class_one(k));
                first = false;
            }
}

void dg_alarms_finish(bl_diag_t *d)
{
    bl_diag_finding_t *f;
    const bl_diag_inverter_t *inv = d->cfg.inv;
    char names[BL_DIAG_TEXT_MAX / 2];

    if (d->lost[0] | d->lost[1] | d->lost[2]) {
        bool prot = d->lost[BL_AC_PROTECTION] != 0;
        f = dg_add(d, BL_DP_ALARM_NOT_SHOWN, prot ? BL_DSEV_ERROR : BL_DSEV_WARNING, "alarm_lost", d->lost_m[0].ts_us);
        if (f == NULL)
            return;
        names[0] = '\0';
        list(names, sizeof names, d->lost);
        if (inv != NULL && (inv->flags & BL_DIF_IGNORES_ALARMS))
            dg_fmt(f->cause, sizeof f->cause, "the battery raised %s; %s does not read battery alarms (profile)", names,
                   inv->name ? inv->name : "the inverter");
        else if (inv != NULL && (inv->flags & BL_DIF_ALARM_TABLE) && (!d->lossy_ok || d->inv_p == d->p))
            dg_fmt(f->cause, sizeof f->cause, "the battery raised %s; %s has no display code for them (profile)",
                   names, inv->name ? inv->name : "the inverter");
        else if (d->inv_p == d->p)
            dg_fmt(f->cause, sizeof f->cause,
                   "the battery raised %s in messages that %s inverters do not read (decode-only rows of %s)", names,
                   d->p->name, d->p->name);
        else
            dg_fmt(f->cause, sizeof f->cause, "the battery raised %s, which %s cannot carry to an inverter speaking %s",
                   names, d->p->name, d->inv_p->name);
        for (unsigned i = 0; i < d->nlost_m; i++)
            dg_ev(f, &d->lost_m[i], "%s raised (%s)", bl_alarm_str(d->lost_a[i]), class_one(d->lost_k[i]));
        dg_ev(f, &d->lost_last, "still raised %T later", DG_T(dg_span(&d->lost_m[0], &d->lost_last)));
        dg_fmt(f->fix, sizeof f->fix,
               "The inverter will not show or act on these: watch the battery itself (bmslink monitor), or have a "
               "gateway map them onto bits the inverter reads (bmslink protocols --map %s %s lists what passes).",
               d->p->name, d->inv_p ? d->inv_p->name : d->p->name);
        if (prot)
            dg_cat(f->fix, sizeof f->fix, " A protection the inverter cannot see ends in a hard stop of the battery.");
    }
    if (d->degraded[0] | d->degraded[1] | d->degraded[2]) {
        f = dg_add(d, BL_DP_ALARM_NOT_SHOWN, BL_DSEV_INFO, "alarm_other_class", d->degraded_m.ts_us);
        if (f == NULL)
            return;
        names[0] = '\0';
        list(names, sizeof names, d->degraded);
        dg_fmt(f->cause, sizeof f->cause, "the battery raised %s, which %s shows only in another class", names,
               d->inv_p ? d->inv_p->name : "the inverter");
        dg_ev(f, &d->degraded_m, "%s raised as %s %s, shown as %s %s", bl_alarm_str((unsigned)d->degraded_m.b),
              d->degraded_m.a == BL_AC_ALARM ? "an" : "a", class_one((unsigned)d->degraded_m.a),
              d->degraded_m.c == BL_AC_ALARM ? "an" : "a", class_one((unsigned)d->degraded_m.c));
        dg_ev(f, &d->degraded_last, "still raised %T later", DG_T(dg_span(&d->degraded_m, &d->degraded_last)));
        dg_fmt(f->fix, sizeof f->fix, "Nothing to change on the wire; know that the inverter's display understates or "
                                      "overstates it.");
    }
}
