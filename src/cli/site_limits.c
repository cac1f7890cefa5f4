/*
 * bmslink bridge --site-limits FILE: YAML read with the scenario files' helpers
 * (src/loaders/yamldoc.h over libyaml), so both formats say "FILE:LINE: key: why" the same
 * way and read decimals exactly into milli-units (no floating point, no locale).
 */
#include "../loaders/yamldoc.h"
#include "bridge.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char *const keys[] = { "charge_current_limit_A", "discharge_current_limit_A", "charge_voltage_limit_V",
                                    "discharge_voltage_limit_V", "capacity_Ah", "policy", "voltage_tolerance_V",
                                    NULL };

/* A positive limit up to max (milli-units); 0 or less is not a limit but a mistake. */
static bool positive(ydoc_t *y, const yaml_node_t *n, const char *key, int64_t max, int32_t *out)
{
    int64_t v;
    if (!ymilli(y, n, key, 1, max, &v))
        return false;
    *out = (int32_t)v;
    return true;
}

bool cli_site_walk(ydoc_t *y, const yaml_node_t *root, cli_site_file_t *out)
{
    yaml_node_t *n;
    const char *s;

    if (root == NULL)
        return yfail(y, NULL, "empty: no limits in it (keys: charge_current_limit_A, ...)");
    if (!yis_map(root))
        return yfail(y, root, "expected 'key: value' lines (e.g. charge_current_limit_A: 125)");
    if (!ymap_only(y, root, "site limits", keys))
        return false;
    for (size_t i = 0; i < ymap_len(root); i++) /* a key given twice: the second would win silently */
        for (size_t j = 0; j < i; j++) {
            yaml_node_t *kn;
            const char *k = ymap_key(y, root, i, &kn);
            if (strcmp(k, ymap_key(y, root, j, NULL)) == 0)
                return yfail(y, kn, "%s: given twice", k);
        }
    if ((n = ymap_get(y, root, "charge_current_limit_A")) && !positive(y, n, keys[0], 100000000, &out->site.ccl_mA))
        return false;
    if ((n = ymap_get(y, root, "discharge_current_limit_A")) && !positive(y, n, keys[1], 100000000, &out->site.dcl_mA))
        return false;
    if ((n = ymap_get(y, root, "charge_voltage_limit_V")) && !positive(y, n, keys[2], 2000000, &out->site.cvl_mV))
        return false;
    if ((n = ymap_get(y, root, "discharge_voltage_limit_V")) && !positive(y, n, keys[3], 2000000, &out->site.dvl_mV))
        return false;
    if ((n = ymap_get(y, root, "capacity_Ah")) && !positive(y, n, keys[4], 100000000, &out->site.capacity_mAh))
        return false;
    if ((n = ymap_get(y, root, "voltage_tolerance_V")) && !positive(y, n, keys[6], 2000000, &out->v_tolerance_mV))
        return false;
    if ((n = ymap_get(y, root, "policy")) != NULL) {
        unsigned p;
        if (!ystr(y, n, "policy", &s))
            return false;
        if ((p = bl_gw_policy_by_name(s)) == BL_GW_POLICY_COUNT)
            return yfail(y, n, "policy: '%s' is not a policy (conservative, sum)", s);
        out->policy = (int)p;
    }
    if (out->site.cvl_mV && out->site.dvl_mV && out->site.dvl_mV >= out->site.cvl_mV)
        return yfail(y, ymap_get(y, root, "discharge_voltage_limit_V"),
                     "discharge_voltage_limit_V must be below charge_voltage_limit_V");
    return true;
}

int cli_site_parse(const char *name, const char *text, size_t len, cli_site_file_t *out, char *err, size_t errlen)
{
    ydoc_t y;
    bool ok;

    memset(out, 0, sizeof *out);
    out->policy = -1;
    err[0] = '\0';
    if (!ydoc_parse(&y, name, text, len, err, errlen))
        return BL_EXIT_USAGE;
    ok = cli_site_walk(&y, ydoc_root(&y), out);
    ydoc_free(&y);
    if (!ok)
        memset(out, 0, sizeof *out), out->policy = -1;
    return ok ? BL_EXIT_OK : BL_EXIT_USAGE;
}
