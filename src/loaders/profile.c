/*
 * Inverter profiles (YAML, parsed by libyaml) into bl_inv_profile_t. A profile
 * is data: who the inverter is, how it is wired and set, what it watches, what
 * it does when the data stops, and its quirks -- each citing its source. The
 * behaviours themselves are implemented once in src/engines/inverter.c.
 */
#include "bmslink/simload.h"
#include "yamldoc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *pool_dup(bl_profile_file_t *pf, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d;
    if (pf->used + n > sizeof pf->pool)
        return NULL;
    d = pf->pool + pf->used;
    memcpy(d, s, n);
    pf->used += n;
    return d;
}

static bool text(ydoc_t *y, bl_profile_file_t *pf, const yaml_node_t *n, const char *what, const char **out)
{
    const char *s;
    if (!ystr(y, n, what, &s))
        return false;
    if ((*out = pool_dup(pf, s)) == NULL)
        return yfail(y, n, "%s: the profile's text is too long (%d bytes in all)", what, BL_PROFILE_POOL);
    return true;
}

static bool code(ydoc_t *y, const yaml_node_t *n, const char *what, char *dst)
{
    const char *s;
    if (!ystr(y, n, what, &s))
        return false;
    if (strlen(s) >= BL_EV_CODE_MAX)
        return yfail(y, n, "%s: '%s' is longer than %d characters", what, s, BL_EV_CODE_MAX - 1);
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

static bool opt_text(ydoc_t *y, bl_profile_file_t *pf, const yaml_node_t *map, const char *key, const char **out)
{
    yaml_node_t *v = ymap_get(y, map, key);
    return v == NULL || text(y, pf, v, key, out);
}

static bool opt_milli(ydoc_t *y, const yaml_node_t *map, const char *key, int64_t lo, int64_t hi, int32_t *out)
{
    yaml_node_t *v = ymap_get(y, map, key);
    int64_t x;
    if (v == NULL)
        return true;
    if (!ymilli(y, v, key, lo, hi, &x))
        return false;
    *out = (int32_t)x;
    return true;
}

static bool msg_id(ydoc_t *y, const yaml_node_t *n, const char *what, uint32_t *id)
{
    int64_t x;
    if (yis_scalar(n) && strcmp((const char *)n->data.scalar.value, "any") == 0) {
        *id = 0;
        return true;
    }
    if (!yint(y, n, what, 1, 0x1FFFFFFF, &x))
        return false;
    *id = (uint32_t)x;
    return true;
}

static bool text_list(ydoc_t *y, bl_profile_file_t *pf, const yaml_node_t *n, const char *what, const char **out,
                      uint8_t *count, unsigned max)
{
    if (!yis_seq(n))
        return yfail(y, n, "%s: expected a list", what);
    if (yseq_len(n) > max)
        return yfail(y, n, "%s: at most %u entries", what, max);
    *count = 0;
    for (size_t i = 0; i < yseq_len(n); i++)
        if (!text(y, pf, yseq_at(y, n, i), what, &out[(*count)++]))
            return false;
    return true;
}

static int fw_index(const bl_inv_profile_t *p, const char *name)
{
    for (unsigned i = 0; i < p->nfw; i++)
        if (strcmp(p->firmware[i], name) == 0)
            return (int)i;
    return -1;
}

/* A message the profile names must be a battery message of its protocol (when this build has it). */
static bool check_b2i(ydoc_t *y, const yaml_node_t *n, const bl_inv_profile_t *p, uint32_t id)
{
    bl_can_codec_t c;
    if (id == 0 || p->proto == NULL || bl_proto_root(p->proto)->bus != BL_BUS_CAN ||
        bl_can_codec_init(&c, p->proto) < 0)
        return true;
    for (unsigned j = 0; j < c.n; j++)
        if (c.msg[j]->id == id && c.msg[j]->dir == BL_DIR_B2I)
            return true;
    return yfail(y, n, "0x%X is not a battery message of protocol %s", (unsigned)id, p->protocol_name);
}

static bool check_signal(ydoc_t *y, const yaml_node_t *n, const bl_inv_profile_t *p, uint32_t id, const char *sig)
{
    bl_can_codec_t c;
    if (p->proto == NULL || bl_proto_root(p->proto)->bus != BL_BUS_CAN || bl_can_codec_init(&c, p->proto) < 0)
        return true;
    for (unsigned j = 0; j < c.n; j++)
        if (c.msg[j]->id == id && c.msg[j]->dir == BL_DIR_B2I)
            for (unsigned i = 0; i < c.msg[j]->nsigs; i++)
                if (strcmp(c.msg[j]->sigs[i].name, sig) == 0)
                    return true;
    return yfail(y, n, "signal: 0x%X of protocol %s has no signal '%s'", (unsigned)id, p->protocol_name, sig);
}

/* ---- sections ------------------------------------------------------------------------ */

static bool settings(ydoc_t *y, bl_profile_file_t *pf, const yaml_node_t *n)
{
    static const char *const keys[] = { "name", "value", "source", "on_wrong", "code", NULL };
    static const char *const wrong[BL_INV_WRONG_COUNT] = { "ignore_bms", "not_detected", "fault", "info" };
    bl_inv_profile_t *p = &pf->p;

    if (!yis_seq(n) || yseq_len(n) > BL_INV_MAX_SETTINGS)
        return yfail(y, n, "required_settings: expected a list of at most %d", BL_INV_MAX_SETTINGS);
    for (size_t i = 0; i < yseq_len(n); i++) {
        yaml_node_t *m = yseq_at(y, n, i), *v;
        bl_inv_setting_t *s = &p->settings[p->nsettings];
        if (!yis_map(m))
            return yfail(y, m, "required_settings: each is {name:, value:, source:}");
        if (!ymap_only(y, m, "required_settings", keys))
            return false;
        if ((v = ymap_get(y, m, "name")) == NULL || !text(y, pf, v, "name", &s->name) ||
            (v = ymap_get(y, m, "value")) == NULL || !text(y, pf, v, "value", &s->required) ||
            (v = ymap_get(y, m, "source")) == NULL || !text(y, pf, v, "source", &s->source))
            return v == NULL ? yfail(y, m, "required_settings: name, value and source are required") : false;
        s->on_wrong = BL_INV_WRONG_NOT_DETECTED;
        if ((v = ymap_get(y, m, "on_wrong")) != NULL) {
            const char *w;
            unsigned k;
            if (!ystr(y, v, "on_wrong", &w))
                return false;
            for (k = 0; k < BL_INV_WRONG_COUNT && strcmp(wrong[k], w) != 0; k++)
                ;
            if (k == BL_INV_WRONG_COUNT)
                return yfail(y, v, "on_wrong: '%s' (ignore_bms, not_detected, fault or info)", w);
            s->on_wrong = (uint8_t)k;
        }
        if ((v = ymap_get(y, m, "code")) != NULL && !code(y, v, "code", s->code))
            return false;
        p->nsettings++;
    }
    return true;
}

static bool power(ydoc_t *y, const yaml_node_t *n, bl_inv_profile_t *p)
{
    static const char *const keys[] = { "max_charge_W", "max_discharge_W", "soc_min_pct", "soc_min_offgrid_pct",
                                        "soc_hysteresis_pct", "force_charge_A", "full_charge", NULL };
    yaml_node_t *v;
    int32_t w;
    bool b;

    if (!yis_map(n) || !ymap_only(y, n, "power", keys))
        return yis_map(n) ? false : yfail(y, n, "power: expected a mapping");
    w = p->max_charge_W * 1000;
    if (!opt_milli(y, n, "max_charge_W", 0, 1000000000, &w))
        return false;
    p->max_charge_W = w / 1000;
    w = p->max_discharge_W * 1000;
    if (!opt_milli(y, n, "max_discharge_W", 0, 1000000000, &w))
        return false;
    p->max_discharge_W = w / 1000;
    if (!opt_milli(y, n, "soc_min_pct", 0, 100000, &p->soc_min_mpct) ||
        !opt_milli(y, n, "soc_min_offgrid_pct", 0, 100000, &p->soc_min_offgrid_mpct) ||
        !opt_milli(y, n, "soc_hysteresis_pct", 0, 100000, &p->soc_hyst_mpct) ||
        !opt_milli(y, n, "force_charge_A", 0, 10000000, &p->force_charge_mA))
        return false;
    if ((v = ymap_get(y, n, "full_charge")) != NULL) {
        if (!ybool(y, v, "full_charge", &b))
            return false;
        p->uses_full_charge = b;
    }
    return true;
}

static bool own_limits(ydoc_t *y, const yaml_node_t *n, bl_inv_profile_t *p)
{
    static const char *const keys[] = { "cvl_V", "ccl_A", "dcl_A", "dvl_V", NULL };
    if (!yis_map(n) || !ymap_only(y, n, "own_limits", keys))
        return yis_map(n) ? false : yfail(y, n, "own_limits: expected a mapping");
    return opt_milli(y, n, "cvl_V", 0, 1000000, &p->own_cvl_mV) && opt_milli(y, n, "ccl_A", 0, 10000000, &p->own_ccl_mA) &&
           opt_milli(y, n, "dcl_A", 0, 10000000, &p->own_dcl_mA) && opt_milli(y, n, "dvl_V", 0, 1000000, &p->own_dvl_mV);
}

static bool uses(ydoc_t *y, const yaml_node_t *n, bl_inv_profile_t *p)
{
    if (!yis_seq(n))
        return yfail(y, n, "uses: expected a list of canonical field names (and 'alarms')");
    p->uses = 0;
    for (size_t i = 0; i < yseq_len(n); i++) {
        yaml_node_t *e = yseq_at(y, n, i);
        const char *k;
        unsigned f;
        if (!ystr(y, e, "uses", &k))
            return false;
        if (strcmp(k, "alarms") == 0) {
            p->uses |= BL_INV_USES_ALARMS;
            continue;
        }
        if ((f = bl_field_by_key(k)) >= BL_F_BATTERY_COUNT)
            return yfail(y, e, "uses: '%s' is not a canonical battery field", k);
        p->uses |= (uint32_t)BL_BIT(f);
    }
    return true;
}

static bool value_of(ydoc_t *y, const yaml_node_t *n, unsigned f, int32_t *out)
{
    const bl_field_info_t *fi = bl_field_info(f);
    int64_t x;
    bool b;
    if (fi->kind == BL_FK_BOOL) {
        if (!ybool(y, n, fi->key, &b))
            return false;
        *out = b;
        return true;
    }
    if (fi->kind == BL_FK_STR)
        return yfail(y, n, "defaults: %s is text; only numbers and flags have defaults", fi->key);
    if (fi->kind == BL_FK_INT) {
        if (!yint(y, n, fi->key, 0, INT32_MAX, &x))
            return false;
    } else if (!ymilli(y, n, fi->key, -(INT64_C(1) << 31) + 1, (INT64_C(1) << 31) - 1, &x)) {
        return false;
    }
    *out = (int32_t)x;
    return true;
}

static bool timeouts(ydoc_t *y, bl_profile_file_t *pf, const yaml_node_t *n)
{
    static const char *const keys[] = { "message", "after", "action", "code", "defaults", "source", NULL };
    bl_inv_profile_t *p = &pf->p;

    if (!yis_seq(n) || yseq_len(n) > BL_INV_MAX_TIMEOUTS)
        return yfail(y, n, "timeouts: expected a list of at most %d", BL_INV_MAX_TIMEOUTS);
    for (size_t i = 0; i < yseq_len(n); i++) {
        yaml_node_t *m = yseq_at(y, n, i), *v;
        bl_inv_timeout_t *t = &p->timeouts[p->ntimeouts];
        const char *a;
        uint64_t ms;

        if (!yis_map(m) || !ymap_only(y, m, "timeouts", keys))
            return yis_map(m) ? false : yfail(y, m, "timeouts: each is {message:, after:, action:, source:}");
        if ((v = ymap_get(y, m, "message")) == NULL || !msg_id(y, v, "message", &t->msg_id) ||
            !check_b2i(y, v, p, t->msg_id) ||
            (v = ymap_get(y, m, "after")) == NULL || !ydur(y, v, "after", &ms) ||
            (v = ymap_get(y, m, "action")) == NULL || !ystr(y, v, "action", &a) ||
            (v = ymap_get(y, m, "source")) == NULL || !text(y, pf, v, "source", &t->source))
            return v == NULL ? yfail(y, m, "timeouts: message, after, action and source are required") : false;
        if (ms == 0 || ms > UINT32_MAX)
            return yfail(y, m, "after: must be above 0 and below 49 days");
        t->after_ms = (uint32_t)ms;
        if ((t->action = (uint8_t)bl_inv_action_by_name(a)) == BL_INV_ACT_COUNT)
            return yfail(y, ymap_get(y, m, "action"),
                         "action: '%s' (none, defaults, warning, standby, fault or cut_output)", a);
        if ((v = ymap_get(y, m, "code")) != NULL && !code(y, v, "code", t->code))
            return false;
        if ((v = ymap_get(y, m, "defaults")) != NULL) {
            if (!yis_map(v) || ymap_len(v) > BL_INV_MAX_DEFAULTS)
                return yfail(y, v, "defaults: a mapping of at most %d canonical fields", BL_INV_MAX_DEFAULTS);
            for (size_t k = 0; k < ymap_len(v); k++) {
                yaml_node_t *kn;
                const char *key = ymap_key(y, v, k, &kn);
                unsigned f = bl_field_by_key(key);
                if (f >= BL_F_BATTERY_COUNT)
                    return yfail(y, kn, "defaults: '%s' is not a canonical battery field", key);
                t->def[t->ndef].field = (uint8_t)f;
                if (!value_of(y, ymap_val(y, v, k), f, &t->def[t->ndef].value))
                    return false;
                t->ndef++;
            }
        }
        p->ntimeouts++;
    }
    return true;
}

/* Parameters each quirk takes, beyond id/what/source/firmware/code. */
static const char *const *quirk_keys(unsigned q)
{
    static const char *const none[] = { "id", "what", "source", "firmware", "code", NULL };
    static const char *const current[] = { "id", "what", "source", "firmware", "code", "current_A", NULL };
    static const char *const delay[] = { "id", "what", "source", "firmware", "code", "delay", NULL };
    static const char *const cap[] = { "id", "what", "source", "firmware", "code", "manufacturer", "if_cvl_at_most_V",
                                       "cap_V", NULL };
    static const char *const flt[] = { "id", "what", "source", "firmware", "code", "manufacturer", "float_V",
                                       "current_A", NULL };
    static const char *const type[] = { "id", "what", "source", "firmware", "code", "message", "signal", "values",
                                        NULL };
    static const char *const name[] = { "id", "what", "source", "firmware", "code", "manufacturer", NULL };
    static const char *const period[] = { "id", "what", "source", "firmware", "code", "period", NULL };
    switch (q) {
    case BL_QK_CHARGES_AT_CCL_ZERO: return current;
    case BL_QK_CVL_REDUCTION_DELAY: return delay;
    case BL_QK_CVL_CAP_BY_NAME: return cap;
    case BL_QK_CCL_ZERO_FLOAT_BY_NAME: return flt;
    case BL_QK_REJECTS_BATTERY_TYPE: return type;
    case BL_QK_REQUIRES_MANUFACTURER: return name;
    case BL_QK_KEEPALIVE_PERIOD: return period;
    default: return none;
    }
}

static bool need(ydoc_t *y, const yaml_node_t *m, const char *key, yaml_node_t **v)
{
    if ((*v = ymap_get(y, m, key)) == NULL)
        return yfail(y, m, "this quirk needs %s:", key);
    return true;
}

static bool manufacturer(ydoc_t *y, const yaml_node_t *m, bl_inv_quirk_t *q)
{
    yaml_node_t *v;
    const char *s;
    if (!need(y, m, "manufacturer", &v) || !ystr(y, v, "manufacturer", &s))
        return false;
    if (strlen(s) >= sizeof q->text)
        return yfail(y, v, "manufacturer: too long");
    memcpy(q->text, s, strlen(s) + 1);
    return true;
}

static bool milli_param(ydoc_t *y, const yaml_node_t *m, const char *key, bool required, int32_t *out)
{
    yaml_node_t *v = ymap_get(y, m, key);
    int64_t x;
    if (v == NULL)
        return required ? yfail(y, m, "this quirk needs %s:", key) : true;
    if (!ymilli(y, v, key, 0, INT32_MAX, &x))
        return false;
    *out = (int32_t)x;
    return true;
}

static bool quirk_params(ydoc_t *y, const yaml_node_t *m, const bl_inv_profile_t *p, bl_inv_quirk_t *q)
{
    yaml_node_t *v;
    uint64_t ms;
    const char *s;

    switch (q->id) {
    case BL_QK_CHARGES_AT_CCL_ZERO: return milli_param(y, m, "current_A", false, &q->param[0]);
    case BL_QK_CVL_REDUCTION_DELAY:
    case BL_QK_KEEPALIVE_PERIOD: {
        const char *key = q->id == BL_QK_CVL_REDUCTION_DELAY ? "delay" : "period";
        if (!need(y, m, key, &v) || !ydur(y, v, key, &ms))
            return false;
        if (ms == 0 || ms > INT32_MAX)
            return yfail(y, v, "%s: above 0, below 24 days", key);
        q->param[0] = (int32_t)ms;
        return true;
    }
    case BL_QK_CVL_CAP_BY_NAME:
        return manufacturer(y, m, q) && milli_param(y, m, "if_cvl_at_most_V", true, &q->param[0]) &&
               milli_param(y, m, "cap_V", true, &q->param[1]);
    case BL_QK_CCL_ZERO_FLOAT_BY_NAME:
        return manufacturer(y, m, q) && milli_param(y, m, "float_V", true, &q->param[0]) &&
               milli_param(y, m, "current_A", true, &q->param[1]);
    case BL_QK_REQUIRES_MANUFACTURER: return manufacturer(y, m, q);
    case BL_QK_REJECTS_BATTERY_TYPE:
        if (!need(y, m, "message", &v) || !msg_id(y, v, "message", &q->msg_id) || !check_b2i(y, v, p, q->msg_id) ||
            !need(y, m, "signal", &v) || !ystr(y, v, "signal", &s))
            return false;
        if (strlen(s) >= sizeof q->text)
            return yfail(y, v, "signal: too long");
        memcpy(q->text, s, strlen(s) + 1);
        if (!check_signal(y, v, p, q->msg_id, q->text))
            return false;
        if (!need(y, m, "values", &v))
            return false;
        if (!yis_seq(v) || yseq_len(v) == 0 || yseq_len(v) > BL_INV_MAX_PARAMS)
            return yfail(y, v, "values: a list of 1..%d raw values", BL_INV_MAX_PARAMS);
        for (size_t i = 0; i < yseq_len(v); i++) {
            int64_t x;
            if (!yint(y, yseq_at(y, v, i), "values", 0, INT32_MAX, &x))
                return false;
            q->param[q->nparam++] = (int32_t)x;
        }
        return true;
    default: return true;
    }
}

static bool quirks(ydoc_t *y, bl_profile_file_t *pf, const yaml_node_t *n)
{
    bl_inv_profile_t *p = &pf->p;

    if (!yis_seq(n) || yseq_len(n) > BL_INV_MAX_QUIRKS)
        return yfail(y, n, "quirks: expected a list of at most %d", BL_INV_MAX_QUIRKS);
    for (size_t i = 0; i < yseq_len(n); i++) {
        yaml_node_t *m = yseq_at(y, n, i), *v;
        bl_inv_quirk_t *q = &p->quirks[p->nquirks];
        const char *id;

        if (!yis_map(m))
            return yfail(y, m, "quirks: each is {id:, what:, source:}");
        if ((v = ymap_get(y, m, "id")) == NULL || !ystr(y, v, "id", &id))
            return v == NULL ? yfail(y, m, "quirks: id is required") : false;
        if ((q->id = (uint8_t)bl_quirk_by_name(id)) == BL_QK_COUNT) {
            char known[700];
            size_t o = 0;
            for (unsigned k = 0; k < BL_QK_COUNT && o + 2 < sizeof known; k++) {
                int w = snprintf(known + o, sizeof known - o, "%s%s", k ? ", " : "", bl_quirk_str(k));
                if (w < 0)
                    break;
                o += (size_t)w;
            }
            return yfail(y, v, "quirks: unknown id '%s' (known: %s)", id, known);
        }
        if (!ymap_only(y, m, id, quirk_keys(q->id)))
            return false;
        /* every behaviour cites where it was seen */
        if ((v = ymap_get(y, m, "what")) == NULL || !text(y, pf, v, "what", &q->what) ||
            (v = ymap_get(y, m, "source")) == NULL || !text(y, pf, v, "source", &q->source))
            return v == NULL ? yfail(y, m, "%s: what and source are required", id) : false;
        if ((v = ymap_get(y, m, "code")) != NULL && !code(y, v, "code", q->code))
            return false;
        if ((v = ymap_get(y, m, "firmware")) != NULL) {
            if (!yis_seq(v) || yseq_len(v) == 0)
                return yfail(y, v, "firmware: a list of this profile's firmware variants");
            for (size_t k = 0; k < yseq_len(v); k++) {
                const char *fw;
                int fi;
                if (!ystr(y, yseq_at(y, v, k), "firmware", &fw))
                    return false;
                if ((fi = fw_index(p, fw)) < 0)
                    return yfail(y, yseq_at(y, v, k), "firmware: '%s' is not one of the profile's firmware variants", fw);
                q->fw_mask |= (uint32_t)BL_BIT(fi);
            }
        }
        if (!quirk_params(y, m, p, q))
            return false;
        p->nquirks++;
    }
    return true;
}

static bool alarm_codes(ydoc_t *y, const yaml_node_t *n, bl_inv_profile_t *p)
{
    if (!yis_map(n))
        return yfail(y, n, "alarm_codes: expected a mapping of canonical alarm names to codes");
    for (size_t i = 0; i < ymap_len(n); i++) {
        yaml_node_t *kn;
        const char *k = ymap_key(y, n, i, &kn);
        unsigned a = bl_alarm_by_name(k);
        if (a == BL_A_COUNT)
            return yfail(y, kn, "alarm_codes: '%s' is not a canonical alarm name", k);
        if (!code(y, ymap_val(y, n, i), k, p->alarm_code[a]))
            return false;
    }
    return true;
}

static bool enum_key(ydoc_t *y, const yaml_node_t *map, const char *key, const char *const *names, unsigned n,
                     uint8_t *out)
{
    yaml_node_t *v = ymap_get(y, map, key);
    const char *s;
    if (v == NULL)
        return true;
    if (!ystr(y, v, key, &s))
        return false;
    for (unsigned i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) {
            *out = (uint8_t)i;
            return true;
        }
    return yfail(y, v, "%s: '%s' is not one of %s, %s%s%s", key, s, names[0], names[1], n > 2 ? ", " : "",
                 n > 2 ? names[2] : "");
}

static bool profile(ydoc_t *y, bl_profile_file_t *pf)
{
    static const char *const keys[] = { "name", "brand", "family", "models", "firmware", "protocol", "interface",
                                        "bitrate", "baud", "wiring", "required_settings", "power", "own_limits",
                                        "uses", "detect", "on_alarm", "on_warning", "restart", "alarm_codes",
                                        "timeouts", "quirks", "sources", NULL };
    static const char *const buses[] = { "can", "rs485", "modbus" };
    static const char *const alarm_rx[] = { "ignore", "stop_direction", "standby" };
    bl_inv_profile_t *p = &pf->p;
    yaml_node_t *root = ydoc_root(y), *v;
    int64_t x;

    if (!yis_map(root))
        return yfail(y, root, "a profile is a mapping (name:, brand:, protocol:, quirks:, ...)");
    if (!ymap_only(y, root, "profile", keys))
        return false;
    if ((v = ymap_get(y, root, "name")) == NULL || !text(y, pf, v, "name", &p->name) ||
        (v = ymap_get(y, root, "brand")) == NULL || !text(y, pf, v, "brand", &p->brand) ||
        (v = ymap_get(y, root, "protocol")) == NULL || !text(y, pf, v, "protocol", &p->protocol_name))
        return v == NULL ? yfail(y, root, "profile: name, brand and protocol are required") : false;
    if (!opt_text(y, pf, root, "family", &p->family) || !opt_text(y, pf, root, "wiring", &p->interface_note) ||
        !opt_text(y, pf, root, "sources", &p->sources))
        return false;
    if ((v = ymap_get(y, root, "models")) != NULL && !text_list(y, pf, v, "models", p->models, &p->nmodels, BL_INV_MAX_MODELS))
        return false;
    if ((v = ymap_get(y, root, "firmware")) != NULL && !text_list(y, pf, v, "firmware", p->firmware, &p->nfw, BL_INV_MAX_FW))
        return false;
    if (!enum_key(y, root, "interface", buses, 3, &p->bus))
        return false;
    p->proto = bl_protocol_find(p->protocol_name); /* NULL: not in this build, reported by the caller */
    if (p->proto != NULL && bl_proto_root(p->proto)->bus != p->bus)
        return yfail(y, ymap_get(y, root, "interface"), "interface: %s, but protocol %s is a %s protocol",
                     buses[p->bus], p->protocol_name, bl_bus_str(bl_proto_root(p->proto)->bus));
    if ((v = ymap_get(y, root, "bitrate")) != NULL) {
        if (!yint(y, v, "bitrate", 10000, 1000000, &x))
            return false;
        p->bitrate = (uint32_t)x;
    }
    if ((v = ymap_get(y, root, "baud")) != NULL) {
        if (!yint(y, v, "baud", 300, 1000000, &x))
            return false;
        p->baud = (uint32_t)x;
    }
    if ((v = ymap_get(y, root, "required_settings")) != NULL && !settings(y, pf, v))
        return false;
    if ((v = ymap_get(y, root, "power")) != NULL && !power(y, v, p))
        return false;
    if ((v = ymap_get(y, root, "own_limits")) != NULL && !own_limits(y, v, p))
        return false;
    if ((v = ymap_get(y, root, "uses")) != NULL && !uses(y, v, p))
        return false;
    if ((v = ymap_get(y, root, "detect")) != NULL) {
        if (!yis_seq(v) || yseq_len(v) > BL_INV_MAX_DETECT)
            return yfail(y, v, "detect: a list of at most %d message ids", BL_INV_MAX_DETECT);
        for (size_t i = 0; i < yseq_len(v); i++)
            if (!msg_id(y, yseq_at(y, v, i), "detect", &p->detect[p->ndetect]) ||
                !check_b2i(y, yseq_at(y, v, i), p, p->detect[p->ndetect++]))
                return false;
    }
    if (!enum_key(y, root, "on_alarm", alarm_rx, 3, &p->on_alarm) ||
        !enum_key(y, root, "on_warning", alarm_rx, 3, &p->on_warning))
        return false;
    if ((v = ymap_get(y, root, "restart")) != NULL) {
        uint64_t ms;
        if (!ydur(y, v, "restart", &ms))
            return false;
        p->restart_ms = (uint32_t)(ms > UINT32_MAX ? UINT32_MAX : ms);
    }
    if ((v = ymap_get(y, root, "alarm_codes")) != NULL && !alarm_codes(y, v, p))
        return false;
    if ((v = ymap_get(y, root, "timeouts")) != NULL && !timeouts(y, pf, v))
        return false;
    if ((v = ymap_get(y, root, "quirks")) != NULL && !quirks(y, pf, v))
        return false;
    return true;
}

int bl_profile_parse(bl_profile_file_t *pf, const char *name, const char *text_, size_t len, char *err, size_t errlen)
{
    ydoc_t y;
    bool ok;

    memset(pf, 0, sizeof *pf);
    bl_inv_profile_defaults(&pf->p);
    /* a longer path is cut: it only names the file in messages */
    size_t nl = strlen(name) < sizeof pf->path - 1 ? strlen(name) : sizeof pf->path - 1;
    memcpy(pf->path, name, nl);
    pf->path[nl] = '\0';
    if (!ydoc_parse(&y, name, text_, len, err, errlen)) {
        ydoc_free(&y);
        return BL_EINVAL;
    }
    ok = profile(&y, pf);
    ydoc_free(&y);
    return ok ? 0 : BL_EINVAL;
}

int bl_profile_load(bl_profile_file_t *pf, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *t = bl_load_file(path, &len, err, errlen);
    int rc;
    if (t == NULL) {
        memset(pf, 0, sizeof *pf);
        return BL_ENOENT;
    }
    rc = bl_profile_parse(pf, path, t, len, err, errlen);
    free(t);
    return rc;
}

const char *bl_profiles_dir(const char *fallback)
{
    const char *e = getenv("BMSLINK_PROFILES");
    return e != NULL && *e ? e : fallback;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const bl_profile_file_t *)a)->p.name, ((const bl_profile_file_t *)b)->p.name);
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int bl_profiles_load_dir(const char *dir, bl_profile_file_t **out, void (*err_fn)(void *ctx, const char *msg), void *ctx)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL, err[512], path[1024];
    size_t n = 0, cap = 0;
    bl_profile_file_t *pf;
    int loaded = 0;

    *out = NULL;
    if (d == NULL)
        return BL_ENOENT;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".yaml") != 0 || de->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof *names);
            if (nn == NULL)
                break;
            names = nn;
        }
        if ((names[n] = strdup(de->d_name)) != NULL)
            n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, by_str);
    pf = calloc(n ? n : 1, sizeof *pf);
    for (size_t i = 0; pf != NULL && i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (bl_profile_load(&pf[loaded], path, err, sizeof err) == 0)
            loaded++;
        else if (err_fn != NULL)
            err_fn(ctx, err);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (pf == NULL)
        return BL_ENOMEM;
    qsort(pf, (size_t)loaded, sizeof *pf, by_name);
    *out = pf;
    return loaded;
}
