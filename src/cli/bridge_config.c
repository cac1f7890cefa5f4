/*
 * bmslink bridge --config FILE: the bridge's options as a YAML file, read with the scenario
 * and site-limits files' helpers (src/loaders/yamldoc.h), so a service is configured in one
 * place (/etc/bmslink/bridge.yaml, contrib/systemd/). Options given on the command line win
 * over the file; a bad file is "bmslink: FILE:LINE: key: why" and exit 2.
 *
 *   from: slcan:/dev/ttyACM0@500000    in_protocol: pylon-lv
 *   to: socketcan:can1                 out_protocol: sma-si
 *   packs: [pylon-lv=slcan:/dev/ttyACM1@500000, {protocol: pylon-lv, source: socketcan:can2}]
 *   policy, stale, hold, address, interval, no_early, json, record, watchdog
 *   site_limits: FILE, or the site-limits keys inline
 *   mqtt: mqtt://HOST, or {url, id, user, password_file, cafile, capath, cert, key, insecure}
 *
 * Relative file names in the file are relative to the file's directory (a unit's working
 * directory is /).
 */
#include "../loaders/yamldoc.h"
#include "bridge.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const top_keys[] = { "from",     "in_protocol", "to",      "out_protocol", "packs",
                                        "policy",   "stale",       "hold",    "address",      "interval",
                                        "no_early", "json",        "record",  "watchdog",     "site_limits",
                                        "mqtt",     NULL };
static const char *const mqtt_keys[] = { "url", "id", "user", "password_file", "cafile", "capath",
                                         "cert", "key", "insecure", NULL };
static const char *const pack_keys[] = { "protocol", "source", NULL };

typedef struct {
    ydoc_t y;
    br_t *b;
    char *arena;   /* strings kept for the run: b->cfg_text */
    size_t used, cap;
    const char *dir; /* the file's directory with its '/', "" when none */
    size_t dirlen;
} cfgp_t;

/* A copy of s (with the file's directory in front when rel and s is relative) in the arena. */
static const char *keep(cfgp_t *c, const char *s, bool rel)
{
    size_t pre = rel && s[0] != '/' ? c->dirlen : 0, n = strlen(s);
    char *d;
    if (c->used + pre + n + 1 > c->cap)
        return NULL; /* cannot happen: the arena is sized from the text */
    d = c->arena + c->used;
    memcpy(d, c->dir, pre);
    memcpy(d + pre, s, n + 1);
    c->used += pre + n + 1;
    return d;
}

static bool str_of(cfgp_t *c, const yaml_node_t *n, const char *what, bool rel, const char **out)
{
    const char *s;
    if (!ystr(&c->y, n, what, &s))
        return false;
    if (s[0] == '\0')
        return yfail(&c->y, n, "%s: empty", what);
    *out = keep(c, s, rel);
    return *out != NULL || yfail(&c->y, n, "%s: out of memory", what);
}

/* A source or destination: capture files are relative to the file's directory, URIs are not. */
static bool uri_of(cfgp_t *c, const yaml_node_t *n, const char *what, const char **out)
{
    const char *s;
    if (!ystr(&c->y, n, what, &s))
        return false;
    return str_of(c, n, what, strcmp(bl_transport_scheme(s), "file") == 0 && strcmp(s, "-") != 0 &&
                                  strncmp(s, "file:", 5) != 0, out);
}

static bool protocol_of(cfgp_t *c, const yaml_node_t *n, const char *what, const bl_protocol_t **out)
{
    const char *s;
    if (!ystr(&c->y, n, what, &s))
        return false;
    if ((*out = bl_protocol_find(s)) == NULL)
        return yfail(&c->y, n, "%s: unknown protocol '%s' (bmslink protocols lists them)", what, s);
    return true;
}

static bool no_twice(cfgp_t *c, const yaml_node_t *map)
{
    for (size_t i = 0; i < ymap_len(map); i++)
        for (size_t j = 0; j < i; j++) {
            yaml_node_t *kn;
            const char *k = ymap_key(&c->y, map, i, &kn);
            if (strcmp(k, ymap_key(&c->y, map, j, NULL)) == 0)
                return yfail(&c->y, kn, "%s: given twice", k);
        }
    return true;
}

static bool one_pack(cfgp_t *c, const yaml_node_t *n)
{
    br_t *b = c->b;
    const bl_protocol_t *p;
    const char *uri;

    if (b->npacks >= BL_GW_MAX_PACKS - 1) /* --from is one more */
        return yfail(&c->y, n, "packs: at most %d packs with from", BL_GW_MAX_PACKS);
    if (yis_scalar(n)) {
        const char *s, *eq;
        char name[64];
        if (!ystr(&c->y, n, "packs", &s))
            return false;
        eq = strchr(s, '=');
        if (eq == NULL || eq == s || eq[1] == '\0' || (size_t)(eq - s) >= sizeof name)
            return yfail(&c->y, n, "packs: '%s': expected PROTOCOL=SRC (e.g. pylon-lv=socketcan:can2)", s);
        memcpy(name, s, (size_t)(eq - s));
        name[eq - s] = '\0';
        if ((p = bl_protocol_find(name)) == NULL)
            return yfail(&c->y, n, "packs: unknown protocol '%s' (bmslink protocols lists them)", name);
        if ((uri = keep(c, eq + 1, strcmp(bl_transport_scheme(eq + 1), "file") == 0 && strcmp(eq + 1, "-") != 0 &&
                                       strncmp(eq + 1, "file:", 5) != 0)) == NULL)
            return yfail(&c->y, n, "packs: out of memory");
    } else if (yis_map(n)) {
        yaml_node_t *pn = ymap_get(&c->y, n, "protocol"), *sn = ymap_get(&c->y, n, "source");
        if (!ymap_only(&c->y, n, "a pack", pack_keys))
            return false;
        if (pn == NULL || sn == NULL)
            return yfail(&c->y, n, "packs: a pack needs protocol: and source:");
        if (!protocol_of(c, pn, "protocol", &p) || !uri_of(c, sn, "source", &uri))
            return false;
    } else {
        return yfail(&c->y, n, "packs: each pack is PROTOCOL=SRC or {protocol: P, source: SRC}");
    }
    b->pack[b->npacks].uri = uri;
    b->pack[b->npacks].p = p;
    b->npacks++;
    return true;
}

static bool mqtt_of(cfgp_t *c, const yaml_node_t *n)
{
    br_t *b = c->b;
    cli_mqtt_auth_t *a = &b->mqtt_auth;
    yaml_node_t *v;
    const char *url = NULL;

    if (yis_scalar(n))
        return b->mqtt_url != NULL || str_of(c, n, "mqtt", false, &b->mqtt_url);
    if (!yis_map(n))
        return yfail(&c->y, n, "mqtt: a URL (mqtt://HOST) or {url: ..., user: ..., ...}");
    if (!ymap_only(&c->y, n, "mqtt", mqtt_keys) || !no_twice(c, n))
        return false;
    if ((v = ymap_get(&c->y, n, "url")) == NULL)
        return yfail(&c->y, n, "mqtt: url: is missing (mqtt://HOST[:PORT][/PREFIX] or mqtts://...)");
    if (!str_of(c, v, "url", false, &url))
        return false;
    if (b->mqtt_url != NULL)
        return true; /* --mqtt on the command line: a different broker, none of these settings */
    b->mqtt_url = url;
#define OPT_STR(key, field, rel)                                                                                       \
    if ((v = ymap_get(&c->y, n, key)) != NULL && field == NULL && !str_of(c, v, key, rel, &field))                     \
        return false;
    OPT_STR("id", b->mqtt_id, false)
    OPT_STR("user", a->user, false)
    OPT_STR("password_file", a->password_file, true)
    OPT_STR("cafile", a->cafile, true)
    OPT_STR("capath", a->capath, true)
    OPT_STR("cert", a->certfile, true)
    OPT_STR("key", a->keyfile, true)
#undef OPT_STR
    if ((v = ymap_get(&c->y, n, "insecure")) != NULL) {
        bool on;
        if (!ybool(&c->y, v, "insecure", &on))
            return false;
        a->insecure = a->insecure || on;
    }
    return true;
}

/* A duration key into *ms unless the command line set it (non-zero). */
static bool dur_of(cfgp_t *c, const yaml_node_t *root, const char *key, uint64_t min_ms, uint64_t *ms)
{
    yaml_node_t *n = ymap_get(&c->y, root, key);
    uint64_t v;
    if (n == NULL)
        return true;
    if (!ydur(&c->y, n, key, &v))
        return false;
    if (v < min_ms)
        return yfail(&c->y, n, "%s: at least %llu ms", key, (unsigned long long)min_ms);
    if (*ms == 0)
        *ms = v;
    return true;
}

static bool flag_of(cfgp_t *c, const yaml_node_t *root, const char *key, bool *flag)
{
    yaml_node_t *n = ymap_get(&c->y, root, key);
    bool on;
    if (n == NULL)
        return true;
    if (!ybool(&c->y, n, key, &on))
        return false;
    *flag = *flag || on;
    return true;
}

static bool walk(cfgp_t *c, const char **from, const bl_protocol_t **in, bool cli_packs)
{
    br_t *b = c->b;
    yaml_node_t *root = ydoc_root(&c->y), *n;
    const bl_protocol_t *p;
    const char *s;

    if (root == NULL)
        return yfail(&c->y, NULL, "empty: no bridge settings in it (from:, in_protocol:, to:, out_protocol:, ...)");
    if (!yis_map(root))
        return yfail(&c->y, root, "expected 'key: value' lines (e.g. from: slcan:/dev/ttyACM0@500000)");
    if (!ymap_only(&c->y, root, "bridge config", top_keys) || !no_twice(c, root))
        return false;
    if ((n = ymap_get(&c->y, root, "from")) != NULL && (*from != NULL ? !ystr(&c->y, n, "from", &s)
                                                                     : !uri_of(c, n, "from", from)))
        return false;
    if ((n = ymap_get(&c->y, root, "in_protocol")) != NULL) {
        if (!protocol_of(c, n, "in_protocol", &p))
            return false;
        if (*in == NULL)
            *in = p;
    }
    if ((n = ymap_get(&c->y, root, "to")) != NULL && (b->to != NULL ? !ystr(&c->y, n, "to", &s)
                                                                     : !uri_of(c, n, "to", &b->to)))
        return false;
    if ((n = ymap_get(&c->y, root, "out_protocol")) != NULL) {
        if (!protocol_of(c, n, "out_protocol", &p))
            return false;
        if (b->out_p == NULL)
            b->out_p = p;
    }
    if ((n = ymap_get(&c->y, root, "packs")) != NULL) {
        if (!yis_seq(n))
            return yfail(&c->y, n, "packs: a list (- pylon-lv=socketcan:can2)");
        for (size_t i = 0; i < yseq_len(n); i++) {
            unsigned had = b->npacks;
            if (!one_pack(c, yseq_at(&c->y, n, i)))
                return false;
            if (cli_packs)
                b->npacks = had; /* checked, not used: --pack on the command line replaces the list */
        }
    }
    if ((n = ymap_get(&c->y, root, "policy")) != NULL) {
        unsigned pol;
        if (!ystr(&c->y, n, "policy", &s))
            return false;
        if ((pol = bl_gw_policy_by_name(s)) == BL_GW_POLICY_COUNT)
            return yfail(&c->y, n, "policy: '%s' is not a policy (conservative, sum)", s);
        if (b->policy < 0)
            b->policy = (int)pol;
    }
    if (!dur_of(c, root, "stale", 1, &b->stale_ms) || !dur_of(c, root, "hold", 1, &b->hold_ms) ||
        !dur_of(c, root, "interval", 10, &b->interval_ms))
        return false;
    if ((n = ymap_get(&c->y, root, "watchdog")) != NULL && yis_scalar(n) &&
        strcmp((const char *)n->data.scalar.value, "off") == 0) {
        if (b->watchdog_ms == 0)
            b->watchdog_ms = BR_WATCHDOG_OFF;
    } else if (!dur_of(c, root, "watchdog", 50, &b->watchdog_ms)) {
        return false;
    }
    if ((n = ymap_get(&c->y, root, "address")) != NULL) {
        int64_t v;
        if (!yint(&c->y, n, "address", 0, 255, &v))
            return false;
        if (b->addr == 0)
            b->addr = (uint32_t)v;
    }
    if (!flag_of(c, root, "no_early", &b->no_early) || !flag_of(c, root, "json", &b->json))
        return false;
    if ((n = ymap_get(&c->y, root, "record")) != NULL && b->record_path == NULL &&
        !str_of(c, n, "record", true, &b->record_path))
        return false;
    if ((n = ymap_get(&c->y, root, "site_limits")) != NULL && b->site_path == NULL) {
        if (yis_scalar(n)) {
            if (!str_of(c, n, "site_limits", true, &b->site_path))
                return false;
        } else if (yis_map(n)) {
            if (!cli_site_walk(&c->y, n, &b->site))
                return false;
        } else {
            return yfail(&c->y, n, "site_limits: a file name or the site-limits keys (charge_current_limit_A: ...)");
        }
    }
    if ((n = ymap_get(&c->y, root, "mqtt")) != NULL && !mqtt_of(c, n))
        return false;
    return true;
}

int br_config_parse(br_t *b, const char *name, char *text, size_t len, const char **from, const bl_protocol_t **in,
                    bool cli_packs, char *err, size_t errlen)
{
    cfgp_t c;
    const char *slash = strrchr(name, '/');
    bool ok;

    memset(&c, 0, sizeof c);
    c.b = b;
    c.dir = name;
    c.dirlen = slash ? (size_t)(slash - name) + 1 : 0;
    /* every string kept is a scalar of the text, at most once, with the directory in front */
    c.cap = len + (len / 2 + 16) * (c.dirlen + 1) + 64;
    if ((c.arena = malloc(c.cap)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        return BL_EXIT_IO;
    }
    err[0] = '\0';
    if (!ydoc_parse(&c.y, name, text, len, err, errlen)) {
        free(c.arena);
        return BL_EXIT_USAGE;
    }
    ok = walk(&c, from, in, cli_packs);
    ydoc_free(&c.y);
    free(b->cfg_text);
    b->cfg_text = c.arena;
    return ok ? BL_EXIT_OK : BL_EXIT_USAGE;
}

int br_config_load(br_t *b, const char **from, const bl_protocol_t **in, bool cli_packs)
{
    char err[600];
    size_t len;
    char *text = bl_load_file(b->config_path, &len, err, sizeof err);
    int rc;

    if (text == NULL) {
        cli_err("--config %s", err);
        return BL_EXIT_IO;
    }
    rc = br_config_parse(b, b->config_path, text, len, from, in, cli_packs, err, sizeof err);
    free(text);
    if (rc != BL_EXIT_OK)
        cli_err("%s", err);
    return rc;
}
