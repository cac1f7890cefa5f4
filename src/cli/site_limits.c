/*
 * bmslink bridge --site-limits FILE: YAML through libyaml, as the scenario
 * files. Values are decimal numbers in the key's unit, read exactly into
 * milli-units (no floating point, no locale).
 */
#include "bridge.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <yaml.h>

typedef struct {
    const char *key;
    int32_t max_milli; /* largest value accepted */
} site_key_t;

static const site_key_t keys[] = {
    { "charge_current_limit_A", 100000000 },   /* 100 kA: anything larger is a typo */
    { "discharge_current_limit_A", 100000000 },
    { "charge_voltage_limit_V", 2000000 },     /* 2 kV */
    { "discharge_voltage_limit_V", 2000000 },
    { "voltage_tolerance_V", 2000000 },
    { "capacity_Ah", 100000000 },
    { "policy", 0 },
};

/* "125", "56.0", "0.5": exact decimal with up to 3 places into milli-units. */
static bool parse_milli(const char *s, int64_t *out)
{
    int64_t v = 0, frac = 0;
    int places = 0;
    bool digits = false;

    if (*s == '+')
        s++;
    for (; *s >= '0' && *s <= '9'; s++, digits = true) {
        v = v * 10 + (*s - '0');
        if (v > INT64_MAX / 10000)
            return false;
    }
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++, digits = true) {
            if (places == 3)
                return false; /* finer than a milli-unit: refuse rather than round a limit */
            frac = frac * 10 + (*s - '0');
            places++;
        }
    if (!digits || *s != '\0')
        return false;
    while (places++ < 3)
        frac *= 10;
    *out = v * 1000 + frac;
    return true;
}

typedef struct {
    const char *name;
    char *err;
    size_t errlen;
} ctx_t;

/* "NAME:LINE: what: why" into the caller's buffer; a usage error (bad content) */
static int fail(const ctx_t *c, const yaml_node_t *n, const char *fmt, const char *a, const char *b)
{
    char msg[400];
    snprintf(msg, sizeof msg, fmt, a, b);
    snprintf(c->err, c->errlen, "%s:%lu: %s", c->name, n ? (unsigned long)n->start_mark.line + 1 : 1UL, msg);
    return BL_EXIT_USAGE;
}

static int set_key(const ctx_t *c, const site_key_t *k, const yaml_node_t *v, cli_site_file_t *out)
{
    const char *s = (const char *)v->data.scalar.value;
    int64_t milli;

    if (strcmp(k->key, "policy") == 0) {
        unsigned p = bl_gw_policy_by_name(s);
        if (p == BL_GW_POLICY_COUNT)
            return fail(c, v, "policy: '%s' is not a policy (conservative, sum)%s", s, "");
        out->policy = (int)p;
        return BL_EXIT_OK;
    }
    if (!parse_milli(s, &milli))
        return fail(c, v, "%s: '%s' is not a number >= 0 with at most 3 decimals", k->key, s);
    if (milli == 0 || milli > k->max_milli)
        return fail(c, v, "%s: %s is out of range (above 0, at most the plausible maximum)", k->key, s);
    if (strcmp(k->key, "charge_current_limit_A") == 0)
        out->site.ccl_mA = (int32_t)milli;
    else if (strcmp(k->key, "discharge_current_limit_A") == 0)
        out->site.dcl_mA = (int32_t)milli;
    else if (strcmp(k->key, "charge_voltage_limit_V") == 0)
        out->site.cvl_mV = (int32_t)milli;
    else if (strcmp(k->key, "discharge_voltage_limit_V") == 0)
        out->site.dvl_mV = (int32_t)milli;
    else if (strcmp(k->key, "capacity_Ah") == 0)
        out->site.capacity_mAh = (int32_t)milli;
    else
        out->v_tolerance_mV = (int32_t)milli;
    return BL_EXIT_OK;
}

static int walk(const ctx_t *c, yaml_document_t *doc, cli_site_file_t *out)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    unsigned seen = 0;

    if (root == NULL)
        return fail(c, NULL, "empty: no limits in it (keys: charge_current_limit_A, ...)%s%s", "", "");
    if (root->type != YAML_MAPPING_NODE)
        return fail(c, root, "expected 'key: value' lines (e.g. charge_current_limit_A: 125)%s%s", "", "");
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(doc, pr->key), *v = yaml_document_get_node(doc, pr->value);
        const char *name = k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
        unsigned i;
        int rc;
        for (i = 0; i < BL_ARRAY_LEN(keys); i++)
            if (strcmp(name, keys[i].key) == 0)
                break;
        if (i == BL_ARRAY_LEN(keys))
            return fail(c, k, "unknown key '%s' (known: charge_current_limit_A, discharge_current_limit_A, "
                        "charge_voltage_limit_V, discharge_voltage_limit_V, capacity_Ah, policy, voltage_tolerance_V)%s", name, "");
        if (seen & (1u << i))
            return fail(c, k, "%s: given twice%s", name, "");
        seen |= 1u << i;
        if (v == NULL || v->type != YAML_SCALAR_NODE)
            return fail(c, v ? v : k, "%s: expected a single value%s", name, "");
        if ((rc = set_key(c, &keys[i], v, out)) != BL_EXIT_OK)
            return rc;
    }
    if (out->site.cvl_mV && out->site.dvl_mV && out->site.dvl_mV >= out->site.cvl_mV)
        return fail(c, root, "discharge_voltage_limit_V must be below charge_voltage_limit_V%s%s", "", "");
    return BL_EXIT_OK;
}

int cli_site_parse(const char *name, const char *text, size_t len, cli_site_file_t *out, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    ctx_t c = { name, err, errlen };
    int rc;

    memset(out, 0, sizeof *out);
    out->policy = -1;
    err[0] = '\0';
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: cannot start the YAML parser", name);
        return BL_EXIT_IO;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%lu: yaml: %s%s%s", name, (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                 parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return BL_EXIT_USAGE;
    }
    rc = walk(&c, &doc, out);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}
