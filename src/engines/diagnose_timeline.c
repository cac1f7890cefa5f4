/*
 * The timeline of a capture for charts, in a fixed number of buckets: when the
 * capture outgrows them, neighbours merge and every bucket covers twice the time.
 * Flat memory for any length of capture.
 */
#include "diagnose_int.h"

#include <string.h>

#define TL_FIRST_WIDTH_US 1000000u /* a bucket starts as one second */

static const uint8_t tl_field[BL_TL_NVALS] = {
    [BL_TL_SOC] = BL_F_SOC, [BL_TL_VOLTAGE] = BL_F_VOLTAGE, [BL_TL_CURRENT] = BL_F_CURRENT,
    [BL_TL_CCL] = BL_F_CCL, [BL_TL_DCL] = BL_F_DCL,
};

static void merge(bl_diag_bucket_t *a, const bl_diag_bucket_t *b)
{
    for (unsigned k = 0; k < BL_TL_NVALS; k++) {
        if (!(b->have & (1u << k)))
            continue;
        if (!(a->have & (1u << k))) {
            a->lo[k] = b->lo[k];
            a->hi[k] = b->hi[k];
        } else {
            a->lo[k] = b->lo[k] < a->lo[k] ? b->lo[k] : a->lo[k];
            a->hi[k] = b->hi[k] > a->hi[k] ? b->hi[k] : a->hi[k];
        }
        a->last[k] = b->last[k];
        a->have = (uint8_t)(a->have | (1u << k));
    }
    a->frames += b->frames;
    a->battery += b->battery;
    a->inverter += b->inverter;
    a->errors += b->errors;
}

static void halve(bl_diag_t *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->ntl; i += 2, n++) {
        bl_diag_bucket_t b = d->tl[i];
        if (i + 1 < d->ntl)
            merge(&b, &d->tl[i + 1]);
        d->tl[n] = b;
    }
    d->ntl = n;
    d->tl_width_us *= 2u;
}

static bl_diag_bucket_t *bucket(bl_diag_t *d, uint64_t t_us)
{
    uint64_t idx;

    if (d->tl == NULL || d->cap_tl < 2)
        return NULL;
    if (d->tl_width_us == 0) {
        d->tl_width_us = TL_FIRST_WIDTH_US;
        d->tl_start_us = t_us;
    }
    if (t_us < d->tl_start_us)
        t_us = d->tl_start_us;
    while ((idx = (t_us - d->tl_start_us) / d->tl_width_us) >= d->cap_tl) {
        if (d->tl_width_us > UINT64_MAX / 4u) { /* a time span no capture has: keep the last bucket */
            idx = d->cap_tl - 1u;
            break;
        }
        halve(d);
    }
    while (d->ntl <= idx) {
        bl_diag_bucket_t *b = &d->tl[d->ntl];
        memset(b, 0, sizeof *b);
        b->t0_us = d->tl_start_us + d->ntl * d->tl_width_us;
        d->ntl++;
    }
    /* merged buckets keep their first start time; refresh it for the current width */
    d->tl[idx].t0_us = d->tl_start_us + idx * d->tl_width_us;
    return &d->tl[idx];
}

void dg_timeline_frame(bl_diag_t *d, const dg_ctx_t *c)
{
    bl_diag_bucket_t *b;

    if (!c->has_ts || (b = bucket(d, c->t_us)) == NULL)
        return;
    b->frames++;
    if (c->rc != 0) {
        if (c->why != BL_REJ_UNKNOWN_ID)
            b->errors++;
        return;
    }
    if (c->b2i)
        b->battery++;
    else
        b->inverter++;
    for (unsigned k = 0; k < BL_TL_NVALS; k++) {
        unsigned fid = tl_field[k];
        int32_t v;
        if (!(c->fields & BL_BIT(fid)))
            continue;
        v = d->rec.f[fid].value;
        if (!(b->have & (1u << k))) {
            b->lo[k] = b->hi[k] = v;
            b->have = (uint8_t)(b->have | (1u << k));
        }
        b->lo[k] = v < b->lo[k] ? v : b->lo[k];
        b->hi[k] = v > b->hi[k] ? v : b->hi[k];
        b->last[k] = v;
    }
}

void dg_timeline_bad(bl_diag_t *d, uint64_t t_us)
{
    bl_diag_bucket_t *b;
    if (t_us == 0 || !d->ready || (b = bucket(d, t_us)) == NULL)
        return;
    b->errors++;
}
