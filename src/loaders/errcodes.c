/*
 * share/errorcodes.yaml (inverter codes by brand) and share/batteries/NAME.yaml (a battery's
 * ratings) through libyaml's document tree (yamldoc.h). Every key is known, every cause
 * is a word of the diagnose vocabulary, every number is in range, or the file is refused
 * with FILE:LINE.
 */
#include "bmslink/errload.h"

#include "yamldoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- error codes ------------------------------------------------------------------------ */

static const char *keep(ydoc_t *y, bl_errcode_file_t *t, const yaml_node_t *n, const char *s)
{
    size_t l = strlen(s) + 1;
    char *p;
    if (t->used + l > sizeof t->arena) {
        yfail(y, n, "texts: the table's texts exceed %u bytes", (unsigned)sizeof t->arena);
        return NULL;
    }
    p = t->arena + t->used;
    memcpy(p, s, l);
    t->used += l;
    return p;
}

/* a required or optional string, kept */
static bool text(ydoc_t *y, bl_errcode_file_t *t, const yaml_node_t *map, const char *key, bool need,
                 const char **out)
{
    yaml_node_t *v = ymap_get(y, map, key);
    const char *s;

    *out = NULL;
    if (v == NULL) {
        if (need)
            return yfail(y, map, "%s: missing (every code says its brand, code, severity, meaning, check, source "
                                 "and confidence)",
                         key);
        return true;
    }
    if (!ystr(y, v, key, &s))
        return false;
    if (need && s[0] == '\0')
        return yfail(y, v, "%s: empty", key);
    return (*out = keep(y, t, v, s)) != NULL;
}

/* a list of strings (a lone scalar is a list of one) */
static bool list(ydoc_t *y, bl_errcode_file_t *t, const yaml_node_t *map, const char *key, const char **out,
                 unsigned max, uint8_t *n)
{
    yaml_node_t *v = ymap_get(y, map, key);
    size_t len;

    *n = 0;
    if (v == NULL)
        return true;
    if (yis_scalar(v)) {
        const char *s;
        if (!ystr(y, v, key, &s) || (out[0] = keep(y, t, v, s)) == NULL)
            return false;
        *n = 1;
        return true;
    }
    if (!yis_seq(v))
        return yfail(y, v, "%s: expected a list", key);
    if ((len = yseq_len(v)) > max)
        return yfail(y, v, "%s: %u entries, at most %u", key, (unsigned)len, max);
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *e = yseq_at(y, v, i);
        const char *s;
        if (!ystr(y, e, key, &s) || (out[i] = keep(y, t, e, s)) == NULL)
            return false;
    }
    *n = (uint8_t)len;
    return true;
}

static bool confidence_ok(const char *c)
{
    static const char *const ok[] = { "H", "M", "L", "M-H", "L-M", "M-L", "H-M" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (c != NULL && strcmp(ok[i], c) == 0)
            return true;
    return false;
}

static bool one_code(ydoc_t *y, bl_errcode_file_t *t, const char *brand, const yaml_node_t *n)
{
    static const char *const keys[] = { "code",   "name",   "severity", "meaning", "check",    "source", "confidence",
                                        "aliases", "profiles", "causes", "after",  "firmware", NULL };
    bl_errcode_t *e;
    const char *sev;
    char norm[BL_EC_NORM];
    yaml_node_t *v;

    if (!yis_map(n))
        return yfail(y, n, "%s: each code is a mapping (code: F952, severity: fault, ...)", brand);
    if (!ymap_only(y, n, "code", keys))
        return false;
    if (t->n >= BL_EC_MAX)
        return yfail(y, n, "code: more than %u codes", BL_EC_MAX);
    e = &t->e[t->n];
    memset(e, 0, sizeof *e);
    e->line = yline(n);
    e->brand = brand;
    if (!text(y, t, n, "code", true, &e->code) || !text(y, t, n, "name", false, &e->name) ||
        !text(y, t, n, "meaning", true, &e->meaning) || !text(y, t, n, "check", true, &e->check) ||
        !text(y, t, n, "source", true, &e->source) || !text(y, t, n, "confidence", true, &e->confidence) ||
        !text(y, t, n, "severity", true, &sev) || !text(y, t, n, "firmware", false, &e->firmware))
        return false;
    if (bl_ec_norm(e->code, norm, sizeof norm) == 0)
        return yfail(y, ymap_get(y, n, "code"), "code: '%s' has no letters or digits (or is longer than %u)", e->code,
                     BL_EC_NORM - 1);
    if ((e->severity = (uint8_t)bl_ec_severity_by_name(sev)) >= BL_EC_SEV_COUNT)
        return yfail(y, ymap_get(y, n, "severity"), "severity: '%s' (fault or warning)", sev);
    if (!confidence_ok(e->confidence))
        return yfail(y, ymap_get(y, n, "confidence"), "confidence: '%s' (H, M, L or a range such as M-L, as the "
                                                      "fact sheets mark it)",
                     e->confidence);
    if (!list(y, t, n, "aliases", e->aliases, BL_EC_ALIASES, &e->naliases) ||
        !list(y, t, n, "profiles", e->profiles, BL_EC_PROFILES, &e->nprofiles) ||
        !list(y, t, n, "causes", e->causes, BL_EC_CAUSES, &e->ncauses))
        return false;
    for (unsigned i = 0; i < e->ncauses; i++)
        if (!bl_diag_cause_valid(e->causes[i]))
            return yfail(y, ymap_get(y, n, "causes"),
                         "causes: '%s' is not a diagnose cause (a finding id such as gap or cvl_zero, a problem such "
                         "as communication_fault, or alarm.NAME / warning.NAME; bmslink explain --causes lists them)",
                         e->causes[i]);
    if ((v = ymap_get(y, n, "after")) != NULL) {
        uint64_t ms;
        if (!ydur(y, v, "after", &ms) || ms > UINT32_MAX)
            return ms > UINT32_MAX ? yfail(y, v, "after: too long") : false;
        e->after_ms = (uint32_t)ms;
    }
    /* the same code twice for one brand would make a look-up ambiguous for nothing */
    for (size_t i = 0; i < t->n; i++) {
        char o[BL_EC_NORM];
        if (strcmp(t->e[i].brand, brand) == 0 && bl_ec_norm(t->e[i].code, o, sizeof o) > 0 && strcmp(o, norm) == 0)
            return yfail(y, ymap_get(y, n, "code"), "code: %s %s is already listed at line %u", brand, e->code,
                         (unsigned)t->e[i].line);
    }
    t->n++;
    return true;
}

static bool codes(ydoc_t *y, bl_errcode_file_t *t)
{
    yaml_node_t *root = ydoc_root(y);

    if (root == NULL || !yis_map(root))
        return yfail(y, root, "file: expected a mapping of brands to lists of codes (SMA: [...])");
    for (size_t i = 0; i < ymap_len(root); i++) {
        yaml_node_t *kn, *v = ymap_val(y, root, i);
        const char *b = ymap_key(y, root, i, &kn), *brand;
        if (b == NULL || b[0] == '\0')
            return yfail(y, kn, "brand: empty");
        if (!yis_seq(v))
            return yfail(y, v, "%s: expected a list of codes", b);
        if ((brand = keep(y, t, kn, b)) == NULL)
            return false;
        for (size_t k = 0; k < yseq_len(v); k++)
            if (!one_code(y, t, brand, yseq_at(y, v, k)))
                return false;
    }
    return true;
}

int bl_errcodes_parse(bl_errcode_file_t *t, const char *name, const char *text_, size_t len, char *err, size_t errlen)
{
    ydoc_t y;
    bool ok;

    t->n = 0;
    t->used = 0;
    if (!ydoc_parse(&y, name, text_, len, err, errlen)) {
        ydoc_free(&y);
        return BL_EINVAL;
    }
    ok = codes(&y, t);
    ydoc_free(&y);
    if (!ok)
        t->n = 0;
    return ok ? 0 : BL_EINVAL;
}

int bl_errcodes_load(bl_errcode_file_t *t, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *s = bl_load_file(path, &len, err, errlen);
    int rc;

    if (s == NULL) {
        t->n = 0;
        return BL_ENOENT;
    }
    rc = bl_errcodes_parse(t, path, s, len, err, errlen);
    free(s);
    return rc;
}

/* ---- battery files ---------------------------------------------------------------------- */

#define CELL_MAX_MV 3650 /* LFP: the highest charge voltage per cell any datasheet allows */
#define CELL_MIN_MV 2000 /* ... and the lowest discharge voltage */

static bool milli_key(ydoc_t *y, const yaml_node_t *map, const char *key, int64_t lo, int64_t hi, int32_t *out)
{
    yaml_node_t *v = ymap_get(y, map, key);
    int64_t m;

    if (v == NULL)
        return true;
    if (!ymilli(y, v, key, lo, hi, &m))
        return false;
    *out = (int32_t)m;
    return true;
}

static const char *const chem_names[] = { "LFP", "LiFePO4", NULL };

static bool battery(ydoc_t *y, bl_battery_file_t *bf)
{
    static const char *const keys[] = { "name", "chemistry", "cells", "capacity_ah", "nominal_v",
                                        "charge_voltage_max_v", "discharge_voltage_min_v", "max_charge_a",
                                        "max_discharge_a", "source", NULL };
    yaml_node_t *root = ydoc_root(y), *v;
    bl_diag_battery_t *b = &bf->b;
    int64_t cells = 0;
    const char *s;

    if (root == NULL || !yis_map(root))
        return yfail(y, root, "file: expected a mapping (cells: 16, capacity_ah: 100, ...)");
    if (!ymap_only(y, root, "battery", keys))
        return false;
    if ((v = ymap_get(y, root, "name")) != NULL) {
        if (!ystr(y, v, "name", &s))
            return false;
        snprintf(bf->name, sizeof bf->name, "%s", s);
    }
    if ((v = ymap_get(y, root, "chemistry")) != NULL) {
        bool ok = false;
        if (!ystr(y, v, "chemistry", &s))
            return false;
        for (const char *const *c = chem_names; *c != NULL; c++)
            ok |= strcmp(*c, s) == 0;
        if (!ok)
            return yfail(y, v, "chemistry: '%s': bmslink judges LFP packs only (LFP or LiFePO4)", s);
    }
    snprintf(bf->chemistry, sizeof bf->chemistry, "LFP");
    if ((v = ymap_get(y, root, "cells")) == NULL)
        return yfail(y, root, "cells: missing (cells in series, 4..255)");
    if (!yint(y, v, "cells", 4, 255, &cells))
        return false;
    b->cells = (uint8_t)cells;
    if (!milli_key(y, root, "capacity_ah", 1000, 100000000, &bf->capacity_mAh) ||
        !milli_key(y, root, "nominal_v", 1000, 1000000, &b->nominal_mV) ||
        !milli_key(y, root, "charge_voltage_max_v", 1000, 1000000, &b->cvl_max_mV) ||
        !milli_key(y, root, "discharge_voltage_min_v", 1000, 1000000, &b->dvl_min_mV) ||
        !milli_key(y, root, "max_charge_a", 0, 2000000, &b->ccl_max_mA) ||
        !milli_key(y, root, "max_discharge_a", 0, 2000000, &b->dcl_max_mA))
        return false;
    if (bf->capacity_mAh == 0)
        return yfail(y, root, "capacity_ah: missing (the pack's capacity in Ah, for coulomb counting)");
    /* the voltages must be those of this many LFP cells: a typo (48 for 58) is caught here */
    if (b->cvl_max_mV > 0 && (b->cvl_max_mV > (int32_t)cells * CELL_MAX_MV || b->cvl_max_mV < (int32_t)cells * 3000))
        return yfail(y, ymap_get(y, root, "charge_voltage_max_v"),
                     "charge_voltage_max_v: %d.%03d V is %d mV per cell over %d cells; LFP charges to 3.00..3.65 V "
                     "per cell",
                     b->cvl_max_mV / 1000, b->cvl_max_mV % 1000, b->cvl_max_mV / (int32_t)cells, (int)cells);
    if (b->dvl_min_mV > 0 && (b->dvl_min_mV < (int32_t)cells * CELL_MIN_MV || b->dvl_min_mV > (int32_t)cells * 3300))
        return yfail(y, ymap_get(y, root, "discharge_voltage_min_v"),
                     "discharge_voltage_min_v: %d.%03d V is %d mV per cell over %d cells; LFP stops discharging at "
                     "2.00..3.30 V per cell",
                     b->dvl_min_mV / 1000, b->dvl_min_mV % 1000, b->dvl_min_mV / (int32_t)cells, (int)cells);
    if (b->nominal_mV > 0 && (b->nominal_mV < (int32_t)cells * 3000 || b->nominal_mV > (int32_t)cells * 3400))
        return yfail(y, ymap_get(y, root, "nominal_v"),
                     "nominal_v: %d.%03d V does not fit %d LFP cells (3.2 V each: %d.%01d V)", b->nominal_mV / 1000,
                     b->nominal_mV % 1000, (int)cells, (int)(cells * 32 / 10), (int)(cells * 32 % 10));
    if (b->cvl_max_mV > 0 && b->dvl_min_mV >= b->cvl_max_mV)
        return yfail(y, ymap_get(y, root, "discharge_voltage_min_v"),
                     "discharge_voltage_min_v: not below charge_voltage_max_v");
    return true;
}

int bl_battery_parse(bl_battery_file_t *bf, const char *name, const char *text_, size_t len, char *err, size_t errlen)
{
    ydoc_t y;
    bool ok;

    memset(bf, 0, sizeof *bf);
    if (!ydoc_parse(&y, name, text_, len, err, errlen)) {
        ydoc_free(&y);
        return BL_EINVAL;
    }
    ok = battery(&y, bf);
    ydoc_free(&y);
    if (bf->name[0] == '\0')
        snprintf(bf->name, sizeof bf->name, "%s", name);
    bf->b.name = bf->name;
    return ok ? 0 : BL_EINVAL;
}

int bl_battery_load(bl_battery_file_t *bf, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *s = bl_load_file(path, &len, err, errlen);
    int rc;

    if (s == NULL) {
        memset(bf, 0, sizeof *bf);
        return BL_ENOENT;
    }
    rc = bl_battery_parse(bf, path, s, len, err, errlen);
    free(s);
    return rc;
}
