/*
 * Scenario files (YAML, parsed by libyaml): the load/PV/ambient profiles, the
 * battery's parameters, the inverter's settings and the timed fault events
 * of a closed-loop simulation. Unknown keys are errors, so a typo never
 * passes silently; every message names FILE:LINE.
 */
#include "bmslink/simload.h"
#include "yamldoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MILLI_MAX (INT64_C(1) << 40)

static bool copy_text(ydoc_t *y, const yaml_node_t *n, const char *what, char *dst, size_t cap)
{
    const char *s;
    if (!ystr(y, n, what, &s))
        return false;
    if (strlen(s) >= cap)
        return yfail(y, n, "%s: '%s' is longer than %zu characters", what, s, cap - 1);
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

static bool get_i32(ydoc_t *y, const yaml_node_t *map, const char *key, int64_t lo, int64_t hi, int32_t *out)
{
    yaml_node_t *n = ymap_get(y, map, key);
    int64_t v;
    if (n == NULL)
        return true;
    if (!ymilli(y, n, key, lo, hi, &v))
        return false;
    *out = (int32_t)v;
    return true;
}

/* ---- profiles over time ---------------------------------------------------------- */

static bool profile(ydoc_t *y, const yaml_node_t *n, const char *what, int64_t lo, int64_t hi, bl_scn_profile_t *p)
{
    int64_t v;
    if (yis_scalar(n)) {
        if (!ymilli(y, n, what, lo, hi, &v))
            return false;
        p->n = 1;
        p->at_ms[0] = 0;
        p->v[0] = (int32_t)(v / 1000);
        return true;
    }
    if (!yis_seq(n) || yseq_len(n) == 0)
        return yfail(y, n, "%s: expected a value or a list of [time, value] points", what);
    if (yseq_len(n) > BL_SCN_MAX_POINTS)
        return yfail(y, n, "%s: %zu points, at most %d", what, yseq_len(n), BL_SCN_MAX_POINTS);
    p->n = 0;
    for (size_t i = 0; i < yseq_len(n); i++) {
        yaml_node_t *pt = yseq_at(y, n, i);
        uint64_t at;
        if (yseq_len(pt) != 2)
            return yfail(y, pt, "%s: a point is [time, value], e.g. [\"07:30\", 1500]", what);
        if (!ydur(y, yseq_at(y, pt, 0), what, &at) || !ymilli(y, yseq_at(y, pt, 1), what, lo, hi, &v))
            return false;
        if (p->n > 0 && at < p->at_ms[p->n - 1])
            return yfail(y, pt, "%s: times must not go backwards", what);
        p->at_ms[p->n] = at;
        p->v[p->n] = (int32_t)v;
        p->n++;
    }
    return true;
}

/* W profiles are stored in W, ambient in m°C */
static bool watts(ydoc_t *y, const yaml_node_t *n, const char *what, bl_scn_profile_t *p)
{
    if (!profile(y, n, what, 0, INT64_C(10000000000), p))
        return false;
    if (!yis_scalar(n))
        for (unsigned i = 0; i < p->n; i++)
            p->v[i] /= 1000;
    return true;
}

static bool ambient(ydoc_t *y, const yaml_node_t *n, bl_scn_profile_t *p)
{
    if (!profile(y, n, "ambient_C", -60000, 100000, p))
        return false;
    if (yis_scalar(n))
        p->v[0] *= 1000;
    return true;
}

/* ---- battery ------------------------------------------------------------------------- */

static bool curve(ydoc_t *y, const yaml_node_t *n, const char *what, int64_t xlo, int64_t xhi, int64_t ylo,
                  int64_t yhi, bl_bsim_curve_t *c)
{
    if (!yis_seq(n) || yseq_len(n) == 0 || yseq_len(n) > BL_BSIM_CURVE_MAX)
        return yfail(y, n, "%s: expected a list of 1..%d [x, y] points", what, BL_BSIM_CURVE_MAX);
    c->n = 0;
    for (size_t i = 0; i < yseq_len(n); i++) {
        yaml_node_t *pt = yseq_at(y, n, i);
        int64_t x, v;
        if (yseq_len(pt) != 2)
            return yfail(y, pt, "%s: a point is [x, y]", what);
        if (!ymilli(y, yseq_at(y, pt, 0), what, xlo, xhi, &x) || !ymilli(y, yseq_at(y, pt, 1), what, ylo, yhi, &v))
            return false;
        if (c->n > 0 && x <= c->x[c->n - 1])
            return yfail(y, pt, "%s: x must increase", what);
        c->x[c->n] = (int32_t)x;
        c->y[c->n] = (int32_t)v;
        c->n++;
    }
    return true;
}

static bool derating(ydoc_t *y, const yaml_node_t *n, bl_bsim_params_t *p)
{
    static const char *const keys[] = { "ccl_soc", "ccl_cell", "ccl_temp", "dcl_soc", "dcl_cell", "dcl_temp", NULL };
    bl_bsim_curve_t *c[] = { &p->ccl_soc, &p->ccl_cell, &p->ccl_temp, &p->dcl_soc, &p->dcl_cell, &p->dcl_temp };
    /* x in %, V or °C; the factor 0..1 */
    const int64_t xlo[] = { 0, 0, -60000, 0, 0, -60000 }, xhi[] = { 100000, 5000, 100000, 100000, 5000, 100000 };

    if (!yis_map(n))
        return yfail(y, n, "derating: expected a mapping");
    if (!ymap_only(y, n, "derating", keys))
        return false;
    for (unsigned i = 0; keys[i] != NULL; i++) {
        yaml_node_t *v = ymap_get(y, n, keys[i]);
        if (v != NULL && !curve(y, v, keys[i], xlo[i], xhi[i], 0, 1000, c[i]))
            return false;
    }
    return true;
}

/* Protection rows: quantity units follow the alarm (V, A, °C; imbalance in V). */
static bool protections(ydoc_t *y, const yaml_node_t *n, bl_bsim_params_t *p)
{
    static const char *const keys[] = { "warn", "warn_release", "trip", "release", "delay", "release_delay", NULL };
    if (!yis_map(n))
        return yfail(y, n, "protections: expected a mapping of alarm names");
    for (size_t i = 0; i < ymap_len(n); i++) {
        yaml_node_t *kn, *row = ymap_val(y, n, i);
        const char *name = ymap_key(y, n, i, &kn);
        unsigned a = bl_alarm_by_name(name);
        bl_bsim_prot_t *pr = NULL;
        uint64_t ms;
        yaml_node_t *d;

        if (a == BL_A_COUNT)
            return yfail(y, kn, "protections: '%s' is not a canonical alarm name", name);
        for (unsigned k = 0; k < p->nprot; k++)
            if (p->prot[k].alarm == a && pr == NULL)
                pr = &p->prot[k];
        if (pr == NULL)
            return yfail(y, kn, "protections: the simulated BMS has no '%s' protection", name);
        if (!yis_map(row) || !ymap_only(y, row, name, keys))
            return yis_map(row) ? false : yfail(y, row, "%s: expected a mapping", name);
        if (!get_i32(y, row, "warn", -MILLI_MAX, MILLI_MAX, &pr->warn) ||
            !get_i32(y, row, "warn_release", -MILLI_MAX, MILLI_MAX, &pr->warn_release) ||
            !get_i32(y, row, "trip", -MILLI_MAX, MILLI_MAX, &pr->trip) ||
            !get_i32(y, row, "release", -MILLI_MAX, MILLI_MAX, &pr->release))
            return false;
        if ((d = ymap_get(y, row, "delay")) != NULL) {
            if (!ydur(y, d, "delay", &ms))
                return false;
            pr->trip_delay_ms = (uint32_t)ms;
        }
        if ((d = ymap_get(y, row, "release_delay")) != NULL) {
            if (!ydur(y, d, "release_delay", &ms))
                return false;
            pr->release_delay_ms = (uint32_t)ms;
        }
        /* a row whose levels cross would trip and release at once */
        if ((pr->flags & BL_BSIM_PF_ABOVE) ? pr->release > pr->trip : pr->release < pr->trip)
            return yfail(y, row, "%s: release must be on the safe side of trip", name);
    }
    return true;
}

/* a sub-mapping of numbers: {key: target, ...} with units scaled by mul (milli -> target) */
typedef struct {
    const char *key;
    int32_t *dst;
    int64_t lo, hi;
    int32_t div; /* target = milli / div */
} numkey_t;

static bool numbers(ydoc_t *y, const yaml_node_t *n, const char *what, const numkey_t *k, unsigned nk)
{
    const char *keys[12];
    if (!yis_map(n))
        return yfail(y, n, "%s: expected a mapping", what);
    for (unsigned i = 0; i < nk && i < 11; i++)
        keys[i] = k[i].key;
    keys[nk < 11 ? nk : 11] = NULL;
    if (!ymap_only(y, n, what, keys))
        return false;
    for (unsigned i = 0; i < nk; i++) {
        yaml_node_t *v = ymap_get(y, n, k[i].key);
        int64_t m;
        if (v == NULL)
            continue;
        if (!ymilli(y, v, k[i].key, k[i].lo, k[i].hi, &m))
            return false;
        *k[i].dst = (int32_t)(m / (k[i].div ? k[i].div : 1));
    }
    return true;
}

static bool battery(ydoc_t *y, const yaml_node_t *n, bl_scenario_t *s)
{
    static const char *const keys[] = { "cells", "capacity_Ah", "modules", "soh_pct", "cell_resistance_mohm",
                                        "resistance_cold_pct_per_C", "ccl_max_A", "dcl_max_A", "cvl_cell_V",
                                        "dvl_cell_V", "manufacturer", "model", "firmware", "seed", "spread",
                                        "sensor", "thermal", "balancing", "recalibration", "force_charge",
                                        "full_charge_request", "protections", "derating", "ocv", NULL };
    bl_bsim_params_t *p = &s->battery;
    yaml_node_t *v;
    int64_t cells = p->cells, cap = p->capacity_mAh, x;
    const char *bad;

    if (!yis_map(n))
        return yfail(y, n, "battery: expected a mapping");
    if (!ymap_only(y, n, "battery", keys))
        return false;
    /* geometry first: the default limits and protections scale with it */
    if ((v = ymap_get(y, n, "cells")) != NULL && !yint(y, v, "cells", 4, BL_BSIM_MAX_STRING, &cells))
        return false;
    if ((v = ymap_get(y, n, "capacity_Ah")) != NULL && !ymilli(y, v, "capacity_Ah", 1000, 10000000, &cap))
        return false;
    if (cells != p->cells || cap != p->capacity_mAh) {
        bl_bsim_defaults(p, (unsigned)cells, (int32_t)cap);
        p->modules = 1;
        snprintf(p->model, sizeof p->model, "SIM-%dS-%dAH", (int)cells, (int)(cap / 1000));
    }
    {
        const numkey_t k[] = {
            { "soh_pct", &p->soh_mpct, 0, 100000, 1 },
            { "cell_resistance_mohm", &p->r_cell_uohm, 1, 1000000, 1 },
            { "resistance_cold_pct_per_C", &p->r_cold_ppm_per_degC, 0, 100000, 100 },
            { "ccl_max_A", &p->ccl_max_mA, 0, 10000000, 1 },
            { "dcl_max_A", &p->dcl_max_mA, 0, 10000000, 1 },
            { "cvl_cell_V", &p->cvl_cell_mV, 2000, 5000, 1 },
            { "dvl_cell_V", &p->dvl_cell_mV, 1000, 5000, 1 },
        };
        for (unsigned i = 0; i < BL_ARRAY_LEN(k); i++) {
            if ((v = ymap_get(y, n, k[i].key)) == NULL)
                continue;
            if (!ymilli(y, v, k[i].key, k[i].lo, k[i].hi, &x))
                return false;
            /* cell_resistance_mohm: mOhm -> µOhm is milli; resistance_cold: % -> ppm is x10 */
            *k[i].dst = k[i].div == 100 ? (int32_t)(x * 10) : (int32_t)x;
        }
    }
    if ((v = ymap_get(y, n, "modules")) != NULL) {
        if (!yint(y, v, "modules", 1, 255, &x))
            return false;
        p->modules = (uint8_t)x;
    }
    if ((v = ymap_get(y, n, "seed")) != NULL) {
        if (!yint(y, v, "seed", 0, UINT32_MAX, &x))
            return false;
        p->seed = (uint32_t)x;
    }
    if ((v = ymap_get(y, n, "manufacturer")) != NULL && !copy_text(y, v, "manufacturer", p->manufacturer, sizeof p->manufacturer))
        return false;
    if ((v = ymap_get(y, n, "model")) != NULL && !copy_text(y, v, "model", p->model, sizeof p->model))
        return false;
    if ((v = ymap_get(y, n, "firmware")) != NULL && !copy_text(y, v, "firmware", p->firmware, sizeof p->firmware))
        return false;
    if ((v = ymap_get(y, n, "spread")) != NULL) {
        int32_t cap_pct = p->spread_capacity_ppm / 10, soc_pct = p->spread_soc_ppm / 10, r_pct = p->spread_r_ppm / 10;
        const numkey_t k[] = { { "capacity_pct", &cap_pct, 0, 20000, 1 },
                               { "soc_pct", &soc_pct, 0, 20000, 1 },
                               { "resistance_pct", &r_pct, 0, 50000, 1 },
                               { "temperature_C", &p->spread_temp_mdegC, 0, 20000, 1 } };
        if (!numbers(y, v, "spread", k, BL_ARRAY_LEN(k)))
            return false;
        p->spread_capacity_ppm = cap_pct * 10; /* 0.001 % -> ppm */
        p->spread_soc_ppm = soc_pct * 10;
        p->spread_r_ppm = r_pct * 10;
    }
    if ((v = ymap_get(y, n, "sensor")) != NULL) {
        int32_t gain = p->sensor_gain_ppm / 10;
        const numkey_t k[] = { { "gain_pct", &gain, -10000, 10000, 1 },
                               { "offset_A", &p->sensor_offset_mA, -100000, 100000, 1 } };
        if (!numbers(y, v, "sensor", k, BL_ARRAY_LEN(k)))
            return false;
        p->sensor_gain_ppm = gain * 10;
    }
    if ((v = ymap_get(y, n, "thermal")) != NULL) {
        const numkey_t k[] = { { "heat_capacity_J_per_K", &p->heat_capacity_J_per_K, 1000, INT64_C(2000000000), 1000 },
                               { "cooling_W_per_K", &p->cooling_mW_per_K, 0, 1000000000, 1 } };
        if (!numbers(y, v, "thermal", k, BL_ARRAY_LEN(k)))
            return false;
    }
    if ((v = ymap_get(y, n, "balancing")) != NULL) {
        const numkey_t k[] = { { "start_cell_V", &p->balance_start_mV, 2000, 5000, 1 },
                               { "delta_V", &p->balance_delta_mV, 0, 1000, 1 },
                               { "current_A", &p->balance_mA, 0, 10000, 1 } };
        if (!numbers(y, v, "balancing", k, BL_ARRAY_LEN(k)))
            return false;
    }
    if ((v = ymap_get(y, n, "recalibration")) != NULL) {
        const numkey_t k[] = { { "full_cell_V", &p->full_cell_mV, 2000, 5000, 1 },
                               { "tail_A", &p->tail_mA, 0, 10000000, 1 },
                               { "empty_cell_V", &p->empty_cell_mV, 1000, 5000, 1 } };
        if (!numbers(y, v, "recalibration", k, BL_ARRAY_LEN(k)))
            return false;
    }
    if ((v = ymap_get(y, n, "force_charge")) != NULL) {
        const numkey_t k[] = { { "on_soc_pct", &p->force_charge_on_mpct, 0, 100000, 1 },
                               { "off_soc_pct", &p->force_charge_off_mpct, 0, 100000, 1 } };
        if (!numbers(y, v, "force_charge", k, BL_ARRAY_LEN(k)))
            return false;
    }
    if ((v = ymap_get(y, n, "full_charge_request")) != NULL) {
        static const char *const fk[] = { "below_soc_pct", "after", NULL };
        yaml_node_t *a;
        if (!yis_map(v) || !ymap_only(y, v, "full_charge_request", fk))
            return yis_map(v) ? false : yfail(y, v, "full_charge_request: expected a mapping");
        if (!get_i32(y, v, "below_soc_pct", 0, 100000, &p->full_charge_soc_mpct))
            return false;
        if ((a = ymap_get(y, v, "after")) != NULL && !ydur(y, a, "after", &p->full_charge_after_ms))
            return false;
    }
    if ((v = ymap_get(y, n, "protections")) != NULL && !protections(y, v, p))
        return false;
    if ((v = ymap_get(y, n, "derating")) != NULL && !derating(y, v, p))
        return false;
    if ((v = ymap_get(y, n, "ocv")) != NULL && !curve(y, v, "ocv", -10000, 200000, 1000, 5000, &p->ocv))
        return false;
    if ((bad = bl_bsim_check(p)) != NULL)
        return yfail(y, n, "battery: %s", bad);
    return true;
}

/* ---- inverter settings ----------------------------------------------------------------- */

static bool inverter(ydoc_t *y, const yaml_node_t *n, bl_scenario_t *s)
{
    static const char *const keys[] = { "firmware", "bitrate", "settings", NULL };
    yaml_node_t *v;
    int64_t x;

    if (!yis_map(n))
        return yfail(y, n, "inverter: expected a mapping");
    if (!ymap_only(y, n, "inverter", keys))
        return false;
    if ((v = ymap_get(y, n, "firmware")) != NULL && !copy_text(y, v, "firmware", s->firmware, sizeof s->firmware))
        return false;
    if ((v = ymap_get(y, n, "bitrate")) != NULL) {
        if (!yint(y, v, "bitrate", 10000, 1000000, &x))
            return false;
        s->inverter_bitrate = (uint32_t)x;
    }
    if ((v = ymap_get(y, n, "settings")) != NULL) {
        if (!yis_map(v))
            return yfail(y, v, "settings: expected a mapping of setting names to values");
        if (ymap_len(v) > BL_SCN_MAX_SETTINGS)
            return yfail(y, v, "settings: at most %d", BL_SCN_MAX_SETTINGS);
        for (size_t i = 0; i < ymap_len(v); i++) {
            yaml_node_t *kn;
            const char *name = ymap_key(y, v, i, &kn);
            if (strlen(name) >= BL_STR_MAX)
                return yfail(y, kn, "settings: name '%s' is too long", name);
            memcpy(s->setting_name[s->nsettings], name, strlen(name) + 1);
            if (!copy_text(y, ymap_val(y, v, i), name, s->setting_value[s->nsettings], BL_STR_MAX))
                return false;
            s->nsettings++;
        }
    }
    return true;
}

/* ---- events ----------------------------------------------------------------------------------- */

static bool field_of(ydoc_t *y, const yaml_node_t *map, uint8_t *field)
{
    yaml_node_t *v = ymap_get(y, map, "field");
    const char *k;
    unsigned f;
    if (v == NULL)
        return yfail(y, map, "this event needs field: (a canonical field name, e.g. soc_pct)");
    if (!ystr(y, v, "field", &k))
        return false;
    f = bl_field_by_key(k);
    if (f >= BL_F_BATTERY_COUNT)
        return yfail(y, v, "field: '%s' is not a canonical battery field", k);
    *field = (uint8_t)f;
    return true;
}

static bool need(ydoc_t *y, const yaml_node_t *map, const char *key, yaml_node_t **out)
{
    if ((*out = ymap_get(y, map, key)) == NULL)
        return yfail(y, map, "this event needs %s:", key);
    return true;
}

static bool alarm_list(ydoc_t *y, const yaml_node_t *n, bl_alarm_mask_t *mask)
{
    *mask = 0;
    if (yis_scalar(n)) {
        unsigned a = bl_alarm_by_name((const char *)n->data.scalar.value);
        if (a == BL_A_COUNT)
            return yfail(y, n, "alarms: '%s' is not a canonical alarm name", (const char *)n->data.scalar.value);
        *mask = (bl_alarm_mask_t)(1u << a);
        return true;
    }
    if (!yis_seq(n) || yseq_len(n) == 0)
        return yfail(y, n, "alarms: expected a list of canonical alarm names");
    for (size_t i = 0; i < yseq_len(n); i++) {
        yaml_node_t *e = yseq_at(y, n, i);
        bl_alarm_mask_t one;
        if (!alarm_list(y, e, &one))
            return false;
        *mask |= one;
    }
    return true;
}

static bool event_params(ydoc_t *y, const yaml_node_t *n, bl_scn_event_t *e)
{
    yaml_node_t *v;
    int64_t x;
    const char *t;
    uint64_t ms;

    switch (e->kind) {
    case BL_SE_COMM_LOSS:
        if ((v = ymap_get(y, n, "direction")) != NULL) {
            if (!ystr(y, v, "direction", &t))
                return false;
            if (strcmp(t, "both") == 0)
                e->a = 1;
            else if (strcmp(t, "battery") != 0)
                return yfail(y, v, "direction: '%s' (battery: its frames are lost; both)", t);
        }
        return true;
    case BL_SE_FROZEN_FIELD:
    case BL_SE_STALE_FIELD: return field_of(y, n, &e->field);
    case BL_SE_SCALING:
        if (!field_of(y, n, &e->field) || !need(y, n, "factor", &v) || !ymilli(y, v, "factor", 1, 1000000000, &x))
            return false;
        e->a = (int32_t)x; /* raw x factor: a / b with b = 1000 */
        e->b = 1000;
        return true;
    case BL_SE_CELL_OV:
        if (!need(y, n, "cell", &v) || !yint(y, v, "cell", 1, BL_BSIM_MAX_CELLS, &x))
            return false;
        e->a = (int32_t)x - 1;
        if (!need(y, n, "V", &v) || !ymilli(y, v, "V", 0, 10000, &x))
            return false;
        e->b = (int32_t)x;
        return true;
    case BL_SE_OVER_TEMP:
        if (!need(y, n, "C", &v) || !ymilli(y, v, "C", -60000, 200000, &x))
            return false;
        e->a = (int32_t)x;
        return true;
    case BL_SE_ALARM_BURST:
        if (!need(y, n, "alarms", &v) || !alarm_list(y, v, &e->alarms))
            return false;
        e->aclass = BL_AC_ALARM;
        if ((v = ymap_get(y, n, "class")) != NULL) {
            unsigned c;
            if (!ystr(y, v, "class", &t))
                return false;
            for (c = 0; c < BL_AC_COUNT && strcmp(bl_alarm_class_str(c), t) != 0; c++)
                ;
            if (c == BL_AC_COUNT)
                return yfail(y, v, "class: '%s' (alarms, warnings or protections)", t);
            e->aclass = (uint8_t)c;
        }
        e->period_ms = 10000;
        if ((v = ymap_get(y, n, "period")) != NULL) {
            if (!ydur(y, v, "period", &ms) || ms == 0 || ms > UINT32_MAX)
                return ms == 0 ? yfail(y, v, "period: must be above 0") : false;
            e->period_ms = (uint32_t)ms;
        }
        if ((v = ymap_get(y, n, "on")) != NULL) {
            if (!ydur(y, v, "on", &ms))
                return false;
            if (ms >= e->period_ms)
                return yfail(y, v, "on: must be shorter than the period");
            e->on_ms = (uint32_t)ms;
        }
        if ((v = ymap_get(y, n, "count")) != NULL) {
            if (!yint(y, v, "count", 1, 1000000, &x))
                return false;
            e->count = (uint32_t)x;
        }
        return true;
    case BL_SE_WRONG_BITRATE:
        if (!need(y, n, "bitrate", &v) || !yint(y, v, "bitrate", 10000, 1000000, &x))
            return false;
        e->a = (int32_t)x;
        return true;
    case BL_SE_SETTING:
        return need(y, n, "name", &v) && copy_text(y, v, "name", e->name, sizeof e->name) &&
               need(y, n, "value", &v) && copy_text(y, v, "value", e->value, sizeof e->value);
    case BL_SE_FIRMWARE: return need(y, n, "variant", &v) && copy_text(y, v, "variant", e->name, sizeof e->name);
    case BL_SE_SIGNAL:
        if (!need(y, n, "name", &v) || !copy_text(y, v, "name", e->name, sizeof e->name) || !need(y, n, "raw", &v) ||
            !yint(y, v, "raw", INT32_MIN, INT32_MAX, &x))
            return false;
        e->a = (int32_t)x;
        return true;
    default: return true; /* wrong_current_sign, bus_off, grid_loss: no parameters */
    }
}

static bool events(ydoc_t *y, const yaml_node_t *n, bl_scenario_t *s)
{
    static const char *const keys[] = { "at", "for", "event", "direction", "field", "factor", "cell", "V", "C",
                                        "alarms", "class", "period", "on", "count", "bitrate", "name", "value",
                                        "variant", "raw", NULL };
    if (!yis_seq(n))
        return yfail(y, n, "events: expected a list");
    if (yseq_len(n) > BL_SCN_MAX_EVENTS)
        return yfail(y, n, "events: %zu events, at most %d", yseq_len(n), BL_SCN_MAX_EVENTS);
    for (size_t i = 0; i < yseq_len(n); i++) {
        yaml_node_t *m = yseq_at(y, n, i), *v;
        bl_scn_event_t *e = &s->ev[s->nev];
        const char *kind;

        memset(e, 0, sizeof *e);
        e->line = yline(m);
        if (!yis_map(m))
            return yfail(y, m, "events: each event is a mapping {at:, event:, ...}");
        if (!ymap_only(y, m, "event", keys))
            return false;
        if (!need(y, m, "event", &v) || !ystr(y, v, "event", &kind))
            return false;
        if ((e->kind = (uint8_t)bl_scn_kind_by_name(kind)) == BL_SE_COUNT) {
            char known[300];
            size_t o = 0;
            for (unsigned k = 0; k < BL_SE_COUNT && o + 2 < sizeof known; k++) {
                int w = snprintf(known + o, sizeof known - o, "%s%s", k ? ", " : "", bl_scn_kind_str(k));
                if (w < 0)
                    break;
                o += (size_t)w;
            }
            return yfail(y, v, "event: unknown kind '%s' (known: %s)", kind, known);
        }
        if (!need(y, m, "at", &v) || !ydur(y, v, "at", &e->at_ms))
            return false;
        if ((v = ymap_get(y, m, "for")) != NULL && !ydur(y, v, "for", &e->for_ms))
            return false;
        if (!event_params(y, m, e))
            return false;
        s->nev++;
    }
    return true;
}

/* ---- top level ------------------------------------------------------------------------------ */

static bool scenario(ydoc_t *y, bl_scenario_t *s)
{
    static const char *const keys[] = { "name", "start", "duration", "start_soc_pct", "grid", "daily", "step", "battery",
                                        "inverter", "load", "pv", "ambient_C", "events", NULL };
    yaml_node_t *root = ydoc_root(y), *v;
    int64_t x;
    bool b;

    if (root == NULL)
        return true; /* an empty file (or only comments): the built-in day */
    if (!yis_map(root))
        return yfail(y, root, "a scenario is a mapping (name:, load:, pv:, events:, ...)");
    if (!ymap_only(y, root, "scenario", keys))
        return false;
    if ((v = ymap_get(y, root, "name")) != NULL && !copy_text(y, v, "name", s->name, sizeof s->name))
        return false;
    if ((v = ymap_get(y, root, "start")) != NULL && !ydur(y, v, "start", &s->start_ms))
        return false;
    if ((v = ymap_get(y, root, "duration")) != NULL && !ydur(y, v, "duration", &s->duration_ms))
        return false;
    if ((v = ymap_get(y, root, "start_soc_pct")) != NULL) {
        if (!ymilli(y, v, "start_soc_pct", 0, 100000, &x))
            return false;
        s->start_soc_mpct = (int32_t)x;
    }
    if ((v = ymap_get(y, root, "grid")) != NULL) {
        if (!ybool(y, v, "grid", &b))
            return false;
        s->grid = b;
    }
    if ((v = ymap_get(y, root, "daily")) != NULL) {
        if (!ybool(y, v, "daily", &b))
            return false;
        s->daily = b;
    }
    if ((v = ymap_get(y, root, "step")) != NULL) {
        uint64_t ms;
        if (!ydur(y, v, "step", &ms))
            return false;
        if (ms < 10 || ms > 60000)
            return yfail(y, v, "step: 10ms..60s");
        s->step_ms = (uint32_t)ms;
    }
    if ((v = ymap_get(y, root, "battery")) != NULL && !battery(y, v, s))
        return false;
    if ((v = ymap_get(y, root, "inverter")) != NULL && !inverter(y, v, s))
        return false;
    if ((v = ymap_get(y, root, "load")) != NULL && !watts(y, v, "load", &s->load))
        return false;
    if ((v = ymap_get(y, root, "pv")) != NULL && !watts(y, v, "pv", &s->pv))
        return false;
    if ((v = ymap_get(y, root, "ambient_C")) != NULL && !ambient(y, v, &s->ambient))
        return false;
    if ((v = ymap_get(y, root, "events")) != NULL && !events(y, v, s))
        return false;
    return true;
}

int bl_scenario_parse(bl_scenario_t *s, const char *name, const char *text, size_t len, char *err, size_t errlen)
{
    ydoc_t y;
    bool ok;

    bl_scn_defaults(s);
    {
        /* unnamed: the file's name */
        const char *base = strrchr(name, '/');
        snprintf(s->name, sizeof s->name, "%s", base != NULL ? base + 1 : name);
    }
    if (!ydoc_parse(&y, name, text, len, err, errlen)) {
        ydoc_free(&y);
        return BL_EINVAL;
    }
    ok = scenario(&y, s);
    ydoc_free(&y);
    return ok ? 0 : BL_EINVAL;
}

int bl_scenario_load(bl_scenario_t *s, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = bl_load_file(path, &len, err, errlen);
    int rc;
    if (text == NULL)
        return BL_ENOENT;
    rc = bl_scenario_parse(s, path, text, len, err, errlen);
    free(text);
    return rc;
}
