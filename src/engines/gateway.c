/* The gateway: N packs in, one battery out (include/bmslink/gateway.h). */
#include "bmslink/gateway.h"

#include <string.h>

/* ---- names ------------------------------------------------------------- */

const char *bl_gw_policy_str(unsigned p)
{
    static const char *const n[] = { "conservative", "sum" };
    return p < BL_ARRAY_LEN(n) ? n[p] : "conservative";
}

unsigned bl_gw_policy_by_name(const char *s)
{
    for (unsigned p = 0; p < BL_GW_POLICY_COUNT; p++)
        if (s != NULL && strcmp(s, bl_gw_policy_str(p)) == 0)
            return p;
    return BL_GW_POLICY_COUNT;
}

const char *bl_gw_link_str(unsigned l)
{
    static const char *const n[] = { "unknown", "active", "timeout" };
    return l < BL_ARRAY_LEN(n) ? n[l] : "unknown";
}

const char *bl_gw_ev_str(unsigned k)
{
    static const char *const n[] = { "pack_up",  "pack_lost",   "pack_used", "pack_unused",
                                     "safe_enter", "safe_leave", "clamp",     "voltage_mismatch",
                                     "inverter_up", "inverter_lost", "output_refused", "reject", "reject_rs" };
    return k < BL_ARRAY_LEN(n) ? n[k] : "unknown";
}

/* ---- the aggregation policy, as data ------------------------------------ */

enum { OP_NONE = 0, OP_SUM, OP_MEAN, OP_WMEAN, OP_MIN, OP_MAX, OP_AND, OP_OR, OP_FIRST, OP_CLIMIT };
enum { NEED_ALL = 0, NEED_ANY }; /* ALL: valid only when every pack in use reports it */

static const struct {
    uint8_t op, need;
} rule[BL_F_BATTERY_COUNT] = {
    [BL_F_SOC] = { OP_WMEAN, NEED_ALL },
    [BL_F_SOH] = { OP_WMEAN, NEED_ALL },
    [BL_F_VOLTAGE] = { OP_MEAN, NEED_ALL },
    [BL_F_CURRENT] = { OP_SUM, NEED_ALL },
    [BL_F_TEMP] = { OP_MEAN, NEED_ALL },
    [BL_F_TEMP_MIN] = { OP_MIN, NEED_ALL },
    [BL_F_TEMP_MAX] = { OP_MAX, NEED_ALL },
    [BL_F_CELL_V_MIN] = { OP_MIN, NEED_ALL },
    [BL_F_CELL_V_MAX] = { OP_MAX, NEED_ALL },
    [BL_F_CVL] = { OP_MIN, NEED_ALL },
    [BL_F_CCL] = { OP_CLIMIT, NEED_ALL },
    [BL_F_DCL] = { OP_CLIMIT, NEED_ALL },
    [BL_F_DVL] = { OP_MAX, NEED_ALL },
    [BL_F_CHARGE_ENABLE] = { OP_AND, NEED_ANY },
    [BL_F_DISCHARGE_ENABLE] = { OP_AND, NEED_ANY },
    [BL_F_FORCE_CHARGE] = { OP_OR, NEED_ANY },
    [BL_F_FULL_CHARGE_REQ] = { OP_OR, NEED_ANY },
    [BL_F_MODULE_COUNT] = { OP_SUM, NEED_ALL },
    [BL_F_CAPACITY] = { OP_SUM, NEED_ALL },
    [BL_F_CYCLE_COUNT] = { OP_MAX, NEED_ANY },
    [BL_F_MANUFACTURER] = { OP_FIRST, NEED_ANY },
    [BL_F_MODEL] = { OP_FIRST, NEED_ANY },
    [BL_F_FIRMWARE] = { OP_FIRST, NEED_ANY },
};

#define LIMITS (BL_BIT(BL_F_CVL) | BL_BIT(BL_F_CCL) | BL_BIT(BL_F_DCL) | BL_BIT(BL_F_DVL))
#define FLAGS_DOWN (BL_BIT(BL_F_CHARGE_ENABLE) | BL_BIT(BL_F_DISCHARGE_ENABLE))
#define V_TOLERANCE_DEFAULT_MV 1000
#define HOLD_DEFAULT_MS 3000u
#define EARLY_GAP_DIV 5u        /* an early frame comes at least a fifth of the period after the last one */
#define EARLY_GAP_MIN_MS 50u    /* (SMA SI: each id at most every 200 ms, can-sma-si.md) */
#define HELLO_RETRY_MS 10000u  /* a request that wakes a peer repeats until it answers */
#define KEEPALIVE_MS 1000u     /* a keep-alive whose period no document gives */
#define WINDOW_PERIODS 3u      /* telemetry is fresh for 3 of its message periods (at least the timeout) */

static bool is_limit(unsigned f)
{
    return f < 32 && (LIMITS & BL_BIT(f)) != 0;
}

/* Fresh at now: valid and not older than win (0 = never stale). */
static bool fresh(const bl_field_t *f, uint64_t now, uint64_t win)
{
    return bl_field_fresh(f, now, win);
}

static uint64_t field_window(const bl_gw_pack_t *k, unsigned f)
{
    return is_limit(f) ? k->stale_ms : k->window_ms[f];
}

static bool heard(const bl_gw_pack_t *k, uint64_t now)
{
    return k->heard_ms != BL_NEVER && (now <= k->heard_ms || now - k->heard_ms <= k->stale_ms);
}

bool bl_gw_pack_usable(const bl_gw_pack_t *k, uint64_t now_ms, unsigned *why_field)
{
    if (why_field != NULL)
        *why_field = BL_F_NONE;
    if (!heard(k, now_ms))
        return false;
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
        if ((k->limits & BL_BIT(f)) && !fresh(&k->rec.f[f], now_ms, k->stale_ms)) {
            if (why_field != NULL)
                *why_field = f;
            return false;
        }
    return true;
}

static bool alarms_fresh(const bl_gw_pack_t *k, unsigned c, uint64_t now)
{
    uint64_t seen = k->rec.alarm_seen_ms[c];
    if (k->rec.known[c] == 0)
        return false;
    return k->alarm_window_ms == 0 || now <= seen || now - seen <= k->alarm_window_ms;
}

/* Weights for SOC / SOH / shares: capacities when every pack in use reports one. */
static bool weights(const bl_gw_pack_t *packs, size_t n, uint16_t used, uint64_t now, int64_t *w)
{
    bool by_cap = true;
    for (size_t i = 0; i < n; i++) {
        const bl_field_t *c = &packs[i].rec.f[BL_F_CAPACITY];
        if (!(used & BL_BIT(i)))
            continue;
        if (!fresh(c, now, field_window(&packs[i], BL_F_CAPACITY)) || c->value <= 0)
            by_cap = false;
    }
    for (size_t i = 0; i < n; i++)
        w[i] = by_cap ? packs[i].rec.f[BL_F_CAPACITY].value : 1;
    return by_cap;
}

typedef struct {
    int64_t v[BL_GW_MAX_PACKS];
    uint8_t who[BL_GW_MAX_PACKS];
    unsigned n;
    uint64_t seen;
    uint8_t dec;
} contrib_t;

static void gather(const bl_gw_pack_t *packs, size_t n, uint16_t used, unsigned f, uint64_t now, contrib_t *c)
{
    c->n = 0;
    c->seen = BL_NEVER;
    c->dec = 0;
    for (size_t i = 0; i < n; i++) {
        const bl_field_t *x = &packs[i].rec.f[f];
        if (!(used & BL_BIT(i)) || !fresh(x, now, field_window(&packs[i], f)))
            continue;
        c->v[c->n] = x->value;
        c->who[c->n++] = (uint8_t)i;
        if (x->seen_ms < c->seen)
            c->seen = x->seen_ms;
        if (x->dec > c->dec)
            c->dec = x->dec;
    }
}

static int64_t clamp32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
}

/* Divide rounding half away from zero (SOC and means keep their decimals honestly). */
static int64_t div_round(int64_t a, int64_t b)
{
    if (b == 0)
        return 0;
    if ((a < 0) != (b < 0))
        return (a - b / 2) / b;
    return (a + b / 2) / b;
}

static bool combine(unsigned op, const contrib_t *c, const int64_t *w, int64_t *out)
{
    int64_t acc = 0, wsum = 0;
    if (c->n == 0)
        return false;
    switch (op) {
    case OP_SUM:
        for (unsigned i = 0; i < c->n; i++)
            acc += c->v[i];
        break;
    case OP_MEAN:
        for (unsigned i = 0; i < c->n; i++)
            acc += c->v[i];
        acc = div_round(acc, (int64_t)c->n);
        break;
    case OP_WMEAN:
        for (unsigned i = 0; i < c->n; i++) {
            acc += c->v[i] * w[c->who[i]];
            wsum += w[c->who[i]];
        }
        acc = div_round(acc, wsum);
        break;
    case OP_MIN:
    case OP_AND:
        acc = c->v[0];
        for (unsigned i = 1; i < c->n; i++)
            acc = c->v[i] < acc ? c->v[i] : acc;
        break;
    case OP_MAX:
    case OP_OR:
        acc = c->v[0];
        for (unsigned i = 1; i < c->n; i++)
            acc = c->v[i] > acc ? c->v[i] : acc;
        break;
    case OP_FIRST:
        acc = c->v[0];
        break;
    default:
        return false;
    }
    *out = clamp32(acc);
    return true;
}

/*
 * CCL / DCL: with share_i = w_i / W, pack i takes share_i of the total, so the
 * total may not exceed L_i / share_i = L_i * W / w_i for any i (rounded down).
 * The policy value (N x min, or the sum) is capped by that.
 */
static bool current_limit(const bl_gw_cfg_t *cfg, const contrib_t *c, const int64_t *w, unsigned nused,
                          int64_t *out, int64_t *share_cap, uint8_t *bound)
{
    int64_t wsum = 0, sum = 0, minl = INT64_MAX, cap = INT64_MAX, pol;
    uint8_t by_min = 0xFF, by_cap = 0xFF;

    if (c->n == 0 || c->n < nused)
        return false;
    for (unsigned i = 0; i < c->n; i++)
        wsum += w[c->who[i]];
    for (unsigned i = 0; i < c->n; i++) {
        int64_t wi = w[c->who[i]], li = c->v[i] < 0 ? 0 : c->v[i];
        int64_t ci = wi > 0 ? li * wsum / wi : 0;
        sum += li;
        if (li < minl) {
            minl = li;
            by_min = c->who[i];
        }
        if (ci < cap) {
            cap = ci;
            by_cap = c->who[i];
        }
    }
    pol = cfg->policy == BL_GW_SUM ? sum : (int64_t)c->n * minl;
    *share_cap = cap;
    *bound = cfg->policy == BL_GW_SUM ? by_cap : by_min;
    if (cap < pol) {
        pol = cap;
        *bound = by_cap;
    }
    *out = pol;
    return true;
}

static void set_field(bl_record_t *r, unsigned f, int64_t v, uint8_t dec, uint64_t seen)
{
    r->f[f].value = (int32_t)clamp32(v);
    r->f[f].valid = 1;
    r->f[f].dec = dec;
    r->f[f].seen_ms = seen;
}

static void clamp_field(bl_record_t *out, bl_gw_agg_t *rep, unsigned f, int64_t to, unsigned why)
{
    if (!(rep->clamped[0] & BL_BIT(f)) && !(rep->clamped[1] & BL_BIT(f)))
        rep->before_clamp[f] = out->f[f].value;
    rep->clamped[why] |= BL_BIT(f);
    out->f[f].value = (int32_t)to;
}

/* v on the grid origin + k x step, rounded toward -inf (up: toward +inf). */
static int64_t on_grid(int64_t v, int64_t step, int64_t origin, bool up)
{
    int64_t d = v - origin, q;
    if (step <= 1)
        return v;
    q = d / step;
    if (d % step != 0 && (d < 0) != up)
        q += up ? 1 : -1;
    return origin + q * step;
}

/* Put the limits on the output's grid toward the safe side: an encoder rounding to the nearest
 * step would send 370.5 A as 371 A on a 1 A wire. */
static void quantize(const bl_caps_t *caps, bl_record_t *out)
{
    static const uint8_t lim[] = { BL_F_CVL, BL_F_CCL, BL_F_DCL, BL_F_DVL };
    for (unsigned i = 0; i < BL_ARRAY_LEN(lim); i++) {
        unsigned f = lim[i];
        if (out->f[f].valid && (caps->fields & BL_BIT(f)))
            out->f[f].value = (int32_t)clamp32(on_grid(out->f[f].value, caps->step[f], caps->origin[f], f == BL_F_DVL));
    }
}

/* Site and wire limits: the lower (for DVL the higher) wins, and it is said. */
static void clamp_limits(const bl_gw_cfg_t *cfg, const bl_caps_t *caps, bl_record_t *out, bl_gw_agg_t *rep)
{
    static const uint8_t down[] = { BL_F_CCL, BL_F_DCL, BL_F_CVL };
    const int32_t site_down[] = { cfg->site.ccl_mA, cfg->site.dcl_mA, cfg->site.cvl_mV };

    for (unsigned i = 0; i < BL_ARRAY_LEN(down); i++) {
        unsigned f = down[i];
        if (!out->f[f].valid)
            continue;
        if (site_down[i] > 0 && out->f[f].value > site_down[i])
            clamp_field(out, rep, f, site_down[i], BL_GW_CLAMP_SITE);
        if (caps != NULL && (caps->fields & BL_BIT(f)) && out->f[f].value > caps->hi[f])
            clamp_field(out, rep, f, caps->hi[f], BL_GW_CLAMP_WIRE);
    }
    if (out->f[BL_F_DVL].valid) {
        if (cfg->site.dvl_mV > 0 && out->f[BL_F_DVL].value < cfg->site.dvl_mV)
            clamp_field(out, rep, BL_F_DVL, cfg->site.dvl_mV, BL_GW_CLAMP_SITE);
        if (caps != NULL && (caps->fields & BL_BIT(BL_F_DVL)) && out->f[BL_F_DVL].value < caps->lo[BL_F_DVL])
            clamp_field(out, rep, BL_F_DVL, caps->lo[BL_F_DVL], BL_GW_CLAMP_WIRE);
    }
    /* a charge voltage below what the output can say cannot be raised to fit: withheld (safe state) */
    if (caps != NULL && out->f[BL_F_CVL].valid && (caps->fields & BL_BIT(BL_F_CVL)) &&
        out->f[BL_F_CVL].value < caps->lo[BL_F_CVL]) {
        out->f[BL_F_CVL].valid = 0;
        rep->flags |= BL_GW_F_CVL_UNSENDABLE;
    }
    if (caps != NULL && out->f[BL_F_DVL].valid && (caps->fields & BL_BIT(BL_F_DVL)) &&
        out->f[BL_F_DVL].value > caps->hi[BL_F_DVL])
        out->f[BL_F_DVL].valid = 0;
    if (caps != NULL)
        quantize(caps, out);
}

/* No pack says whether charging / discharging is allowed, but each gave its limit: a limit
 * above 0 A is the permission (the flags an output protocol needs would else go out cleared). */
static void derive_enables(bl_record_t *out, bl_gw_agg_t *rep)
{
    static const uint8_t flag[] = { BL_F_CHARGE_ENABLE, BL_F_DISCHARGE_ENABLE };
    static const uint8_t lim[] = { BL_F_CCL, BL_F_DCL };
    for (unsigned i = 0; i < BL_ARRAY_LEN(flag); i++) {
        if (out->f[flag[i]].valid || !out->f[lim[i]].valid)
            continue;
        set_field(out, flag[i], out->f[lim[i]].value > 0, 0, out->f[lim[i]].seen_ms);
        rep->derived |= BL_BIT(flag[i]);
    }
}

static void aggregate_alarms(const bl_gw_pack_t *packs, size_t n, uint16_t used, uint64_t now, bl_record_t *out,
                             bool degraded)
{
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        uint64_t seen = BL_NEVER;
        for (size_t i = 0; i < n; i++) {
            const bl_record_t *r = &packs[i].rec;
            if (!(used & BL_BIT(i)) || !alarms_fresh(&packs[i], c, now))
                continue;
            out->active[c] = (bl_alarm_mask_t)(out->active[c] | (r->active[c] & r->known[c]));
            out->known[c] = (bl_alarm_mask_t)(out->known[c] | r->known[c]);
            if (r->alarm_seen_ms[c] < seen)
                seen = r->alarm_seen_ms[c];
        }
        out->alarm_seen_ms[c] = seen == BL_NEVER ? now : seen;
    }
    if (degraded) { /* a pack dropped out: the inverter hears of it as a warning */
        out->active[BL_AC_WARNING] = (bl_alarm_mask_t)(out->active[BL_AC_WARNING] | (1u << BL_A_COMM));
        out->known[BL_AC_WARNING] = (bl_alarm_mask_t)(out->known[BL_AC_WARNING] | (1u << BL_A_COMM));
    }
}

/* An alarm the output cannot carry in its class goes out in the other severe class: a pack in
 * protection (Pylon LV 0x359 bytes 0-1) must reach an SMA SI, which has alarms and warnings only. */
static void fold(bl_record_t *out, const bl_caps_t *caps, unsigned from, unsigned to, bl_gw_agg_t *rep)
{
    bl_alarm_mask_t movable = (bl_alarm_mask_t)(~caps->alarms[from] & caps->alarms[to]);
    bl_alarm_mask_t act = (bl_alarm_mask_t)(out->active[from] & movable);
    bl_alarm_mask_t known = (bl_alarm_mask_t)(out->known[from] & movable);

    if (known == 0)
        return;
    out->active[to] = (bl_alarm_mask_t)(out->active[to] | act);
    out->known[to] = (bl_alarm_mask_t)(out->known[to] | known);
    rep->folded = (bl_alarm_mask_t)(rep->folded | act);
}

void bl_gw_aggregate(const bl_gw_cfg_t *cfg, const bl_caps_t *out_caps, const bl_gw_pack_t *packs, size_t n,
                     uint64_t now_ms, bl_record_t *out, bl_gw_agg_t *rep)
{
    bl_gw_agg_t local;
    int64_t w[BL_GW_MAX_PACKS];
    int32_t tol = cfg->v_tolerance_mV > 0 ? cfg->v_tolerance_mV : V_TOLERANCE_DEFAULT_MV;
    contrib_t c;

    if (rep == NULL)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    rep->policy_mA[0] = rep->policy_mA[1] = rep->share_cap_mA[0] = rep->share_cap_mA[1] = -1;
    rep->bound_by[0] = rep->bound_by[1] = 0xFF;
    bl_record_init(out);
    if (n > BL_GW_MAX_PACKS)
        n = BL_GW_MAX_PACKS;
    for (size_t i = 0; i < n; i++) {
        if (heard(&packs[i], now_ms))
            rep->heard |= (uint16_t)BL_BIT(i);
        if (bl_gw_pack_usable(&packs[i], now_ms, NULL)) {
            rep->used |= (uint16_t)BL_BIT(i);
            rep->nused++;
        }
    }
    if (rep->nused == 0) {
        rep->flags |= BL_GW_F_SAFE;
        for (unsigned k = 0; k < BL_AC_COUNT; k++)
            out->alarm_seen_ms[k] = now_ms;
        return;
    }
    if (rep->nused < n)
        rep->flags |= BL_GW_F_DEGRADED;
    if (!weights(packs, n, rep->used, now_ms, w) && rep->nused > 1)
        rep->flags |= BL_GW_F_SOC_UNWEIGHTED;

    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
        int64_t v;
        gather(packs, n, rep->used, f, now_ms, &c);
        if (c.n == 0 || (rule[f].need == NEED_ALL && c.n < rep->nused))
            continue;
        if (rule[f].op == OP_CLIMIT) {
            unsigned d = f == BL_F_CCL ? 0 : 1;
            if (!current_limit(cfg, &c, w, rep->nused, &v, &rep->share_cap_mA[d], &rep->bound_by[d]))
                continue;
            rep->policy_mA[d] = v;
        } else if (rule[f].op == OP_FIRST) {
            const char *s = bl_record_str(&packs[c.who[0]].rec, f);
            bl_record_set_str(out, f, s, strlen(s), packs[c.who[0]].rec.f[f].seen_ms);
            continue;
        } else if (!combine(rule[f].op, &c, w, &v)) {
            continue;
        }
        set_field(out, f, v, c.dec, c.seen);
        if (f == BL_F_VOLTAGE && c.n > 1) {
            int64_t lo = c.v[0], hi = c.v[0];
            for (unsigned i = 1; i < c.n; i++) {
                lo = c.v[i] < lo ? c.v[i] : lo;
                hi = c.v[i] > hi ? c.v[i] : hi;
            }
            rep->v_spread_mV = (int32_t)clamp32(hi - lo);
            if (hi - lo > tol)
                rep->flags |= BL_GW_F_V_MISMATCH;
        }
    }
    aggregate_alarms(packs, n, rep->used, now_ms, out, (rep->flags & BL_GW_F_DEGRADED) != 0);
    if (out_caps != NULL) {
        fold(out, out_caps, BL_AC_PROTECTION, BL_AC_ALARM, rep);
        fold(out, out_caps, BL_AC_ALARM, BL_AC_PROTECTION, rep);
    }
    clamp_limits(cfg, out_caps, out, rep);
    derive_enables(out, rep);
    if (!out->f[BL_F_CAPACITY].valid && cfg->site.capacity_mAh > 0) {
        /* the packs do not say it, the installer did (SMA SI needs >= 100 Ah nominal) */
        set_field(out, BL_F_CAPACITY, cfg->site.capacity_mAh, 0, now_ms);
        rep->derived |= BL_BIT(BL_F_CAPACITY);
    }
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
        if (out->f[f].valid)
            rep->fields |= BL_BIT(f);
}

/* ---- packs -------------------------------------------------------------- */

/* Longest period of a periodic battery message carrying field f (or alarms when f == BL_F_NONE). */
static uint32_t longest_period(const bl_can_codec_t *c, unsigned f, bool *carried)
{
    uint32_t per = 0;
    *carried = false;
    for (unsigned j = 0; j < c->n; j++) {
        const bl_message_t *m = c->msg[j];
        if (m->dir != BL_DIR_B2I)
            continue;
        for (unsigned i = 0; i < m->nsigs; i++) {
            const bl_signal_t *s = &m->sigs[i];
            bool alarm = s->kind == BL_SK_ALARM || s->kind == BL_SK_PAIR;
            if (f == BL_F_NONE ? !alarm : (alarm || s->field != f || (s->flags & BL_SF_NO_STORE)))
                continue;
            *carried = true;
            if (!(m->flags & BL_MF_ON_REQUEST) && m->period_ms > per)
                per = m->period_ms;
        }
    }
    return per;
}

static uint64_t window_for(const bl_can_codec_t *c, unsigned f, uint64_t stale)
{
    bool any;
    uint64_t per = longest_period(c, f, &any);
    uint64_t w = per * WINDOW_PERIODS;
    return w > stale ? w : stale;
}

static void poller_init(bl_gw_poller_t *pl, const bl_protocol_t *p);

/* The messages a battery of this protocol sends in one cycle: its periodic ones, or (where the
 * inverter speaks first) the answers to the requests an inverter repeats. */
static uint64_t cycle_mask(const bl_can_codec_t *c)
{
    size_t nt;
    const bl_trigger_t *t = bl_proto_triggers(c->p, &nt);
    uint64_t mask = 0;

    for (unsigned j = 0; j < c->n; j++) {
        const bl_message_t *m = c->msg[j];
        if (m->dir == BL_DIR_B2I && c->sends[j] && m->period_ms > 0 && !(m->flags & BL_MF_ON_REQUEST))
            mask |= UINT64_C(1) << j;
    }
    for (size_t i = 0; i < nt; i++) {
        if (t[i].period_ms == 0 || !(t[i].action & BL_TA_RESPOND))
            continue;
        for (const uint32_t *id = t[i].resp; id != NULL && *id != 0; id++)
            for (unsigned j = 0; j < c->n; j++)
                if (c->msg[j]->dir == BL_DIR_B2I && c->sends[j] && (c->msg[j]->id & ~c->msg[j]->id_mask) == 0 &&
                    c->msg[j]->id == *id)
                    mask |= UINT64_C(1) << j;
    }
    return mask;
}

static unsigned codec_index(const bl_can_codec_t *c, const bl_message_t *m)
{
    for (unsigned j = 0; j < c->n; j++)
        if (c->msg[j] == m)
            return j;
    return 64;
}

int bl_gw_pack_init(bl_gw_pack_t *k, const bl_protocol_t *p, uint64_t stale_ms)
{
    int rc;
    bl_caps_t caps;

    memset(k, 0, sizeof *k);
    if (p == NULL || bl_proto_root(p)->bus != BL_BUS_CAN)
        return BL_EINVAL;
    if ((rc = bl_can_codec_init(&k->codec, p)) < 0)
        return rc;
    k->p = p;
    k->bus = BL_BUS_CAN;
    bl_record_init(&k->rec);
    k->stale_ms = stale_ms ? stale_ms : bl_proto_timeout_ms(p);
    k->heard_ms = BL_NEVER;
    bl_proto_caps(p, &caps);
    k->limits = caps.fields & (BL_BIT(BL_F_CVL) | BL_BIT(BL_F_CCL) | BL_BIT(BL_F_DCL));
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
        /* identity is sent once (or on request): it holds while the pack is in use */
        k->window_ms[f] = bl_field_info(f)->kind == BL_FK_STR ? 0 : window_for(&k->codec, f, k->stale_ms);
    }
    k->alarm_window_ms = window_for(&k->codec, BL_F_NONE, k->stale_ms);
    k->cycle = cycle_mask(&k->codec);
    poller_init(&k->poll, p);
    return 0;
}

static void rs_frame_cb(void *ctx, const bl_stream_ev_t *ev);

static int rs_port_init(bl_gw_rs_t *rs, const bl_protocol_t *p, int addr, bl_gw_rsbuf_t *buf)
{
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    int rc;

    memset(rs, 0, sizeof *rs);
    if (c == NULL || buf == NULL || c->kind == BL_RSK_MODBUS)
        return BL_EINVAL;
    if (addr >= 0 && (addr < c->addr_min || addr > c->addr_max))
        return BL_EINVAL;
    rs->c = c;
    rs->buf = buf;
    rs->addr = (uint8_t)(addr >= 0 ? addr : c->addr_default);
    rs->cmd = BL_RS_CMD_UNKNOWN;
    rs->first_ms = BL_NEVER;
    if ((rc = bl_rs_session_init(&rs->sess, p)) < 0)
        return rc;
    return bl_stream_init(&rs->st, c->framing, buf->frame, sizeof buf->frame, rs_frame_cb, rs);
}

int bl_gw_pack_init_rs(bl_gw_pack_t *k, const bl_protocol_t *p, uint64_t stale_ms, int addr, bl_gw_rsbuf_t *buf)
{
    int rc;
    bl_caps_t caps;

    memset(k, 0, sizeof *k);
    if (p == NULL || bl_proto_root(p)->bus == BL_BUS_CAN)
        return BL_EINVAL;
    if ((rc = rs_port_init(&k->rs, p, addr, buf)) < 0)
        return rc;
    k->p = p;
    k->bus = bl_proto_root(p)->bus;
    bl_record_init(&k->rec);
    k->stale_ms = stale_ms ? stale_ms : bl_proto_timeout_ms(p);
    k->heard_ms = BL_NEVER;
    bl_proto_caps(p, &caps);
    k->limits = caps.fields & (BL_BIT(BL_F_CVL) | BL_BIT(BL_F_CCL) | BL_BIT(BL_F_DCL));
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
        /* a poll cycle brings everything: fresh for the timeout, or 3 cycles where that is longer */
        uint64_t w = (uint64_t)k->rs.c->poll_ms * WINDOW_PERIODS;
        k->window_ms[f] = bl_field_info(f)->kind == BL_FK_STR ? 0 : w > k->stale_ms ? w : k->stale_ms;
    }
    k->alarm_window_ms = k->window_ms[BL_F_SOC];
    return 0;
}

/* ---- the inverter role towards a peer (requests from its tables) --------- */

enum { SLOT_PERIODIC = 0, SLOT_HELLO, SLOT_COMMAND };

static bool same_request(const bl_gw_slot_t *s, const bl_message_t *m, const bl_trigger_t *t)
{
    return s->m == m && s->byte == t->byte && s->mask == t->mask && s->value == t->value &&
           s->byte2 == t->byte2 && s->mask2 == t->mask2 && s->value2 == t->value2;
}

static bl_gw_slot_t *add_slot(bl_gw_poller_t *pl, const bl_message_t *m, uint32_t period, uint8_t kind)
{
    bl_gw_slot_t *s;
    if (m == NULL || pl->nslots >= BL_GW_MAX_SLOTS)
        return NULL;
    s = &pl->slot[pl->nslots++];
    memset(s, 0, sizeof *s);
    s->m = m;
    s->period_ms = period;
    s->kind = kind;
    s->byte = BL_TRIG_ANY;
    return s;
}

/*
 * What an inverter sends on its own, from the trigger rows: requests with a
 * period; rows that wake a battery (start + answer, no period: BYD
 * identification, SMA HV pairing) until it answers; rows that move its
 * session forward (SolaX: close the contactor) once it has; then the inverter
 * messages with a period, and keep-alives without one every second.
 */
static void poller_init(bl_gw_poller_t *pl, const bl_protocol_t *p)
{
    size_t nt;
    const bl_trigger_t *t = bl_proto_triggers(p, &nt);

    memset(pl, 0, sizeof *pl);
    if (bl_can_codec_init(&pl->codec, p) < 0)
        return;
    for (size_t i = 0; i < nt; i++) {
        const bl_message_t *m = bl_can_msg(&pl->codec, t[i].req, t[i].ext, BL_DIR_I2B);
        bl_trigger_kind_t kind = bl_trigger_kind(&t[i]);
        bool hello = kind == BL_TK_HELLO, cmd = kind == BL_TK_COMMAND;
        bl_gw_slot_t *s;
        bool dup = false;
        if (m == NULL || kind == BL_TK_NONE)
            continue;
        for (unsigned k = 0; k < pl->nslots; k++)
            dup = dup || same_request(&pl->slot[k], m, &t[i]);
        s = dup ? NULL
                : add_slot(pl, m, hello ? HELLO_RETRY_MS : t[i].period_ms,
                           hello ? SLOT_HELLO : cmd ? SLOT_COMMAND : SLOT_PERIODIC);
        if (s == NULL)
            continue;
        s->byte = t[i].byte;
        s->mask = t[i].mask;
        s->value = t[i].value;
        s->byte2 = t[i].byte2;
        s->mask2 = t[i].mask2;
        s->value2 = t[i].value2;
    }
    for (unsigned j = 0; j < pl->codec.n; j++) {
        const bl_message_t *m = pl->codec.msg[j];
        bool covered = false;
        uint32_t period = m->period_ms;
        if (m->dir != BL_DIR_I2B || !pl->codec.sends[j] || (m->flags & BL_MF_ON_REQUEST))
            continue;
        for (unsigned k = 0; k < pl->nslots; k++)
            covered = covered || (pl->slot[k].m == m && pl->slot[k].kind == SLOT_PERIODIC);
        if (covered)
            continue;
        if (period == 0 && (m->flags & BL_MF_KEEPALIVE) && !(m->flags & BL_MF_REQUEST))
            period = KEEPALIVE_MS;
        if (period > 0)
            (void)add_slot(pl, m, period, SLOT_PERIODIC);
    }
}

static void poller_start(bl_gw_poller_t *pl, uint64_t now)
{
    for (unsigned k = 0; k < pl->nslots; k++) {
        pl->slot[k].next_ms = now;
        pl->slot[k].done = 0;
    }
}

static void force(bl_can_frame_t *f, uint8_t byte, uint8_t mask, uint8_t value)
{
    if (byte == BL_TRIG_ANY || mask == 0 || byte >= 8)
        return;
    if (f->len <= byte)
        f->len = (uint8_t)(byte + 1u);
    f->data[byte] = (uint8_t)((f->data[byte] & ~mask) | (value & mask));
}

/* Send the requests due at now; values (inv_* fields) come from inv, stale after inv_stale. */
static uint64_t poller_run(bl_gw_t *gw, bl_gw_poller_t *pl, unsigned port, const bl_record_t *inv,
                           uint64_t inv_stale, uint64_t now, bool feed_back)
{
    uint64_t next = BL_NEVER;

    for (unsigned k = 0; k < pl->nslots; k++) {
        bl_gw_slot_t *s = &pl->slot[k];
        bl_can_frame_t f;
        if (s->kind == SLOT_HELLO && pl->detected)
            continue;
        if (s->kind == SLOT_COMMAND) {
            if (!pl->detected)
                s->done = 0;
            if (!pl->detected || s->done)
                continue;
            s->next_ms = now; /* due now, once per detection */
        }
        if (now >= s->next_ms) {
            s->done = 1;
            if (bl_can_encode(&pl->codec, s->m, 0, inv, now, inv_stale, BL_ENC_CLAMP, &f, NULL) == 0) {
                force(&f, s->byte, s->mask, s->value);
                force(&f, s->byte2, s->mask2, s->value2);
                (void)bl_can_react(&pl->codec, &f, now, NULL); /* the state our request puts the peer in */
                gw->cfg.tx(gw->cfg.ctx, port, &f, NULL);
                if (port != BL_GW_INVERTER)
                    gw->packs[port].tx++;
                if (feed_back)
                    (void)bl_gw_rx(gw, BL_GW_INVERTER, &f, now);
            }
            s->next_ms = s->period_ms ? (s->next_ms + s->period_ms > now ? s->next_ms + s->period_ms
                                                                         : now + s->period_ms)
                                      : BL_NEVER;
        }
        if (s->kind != SLOT_COMMAND && s->next_ms < next)
            next = s->next_ms;
    }
    return next;
}

/* ---- init --------------------------------------------------------------- */

static void emit(bl_gw_t *gw, unsigned kind, int32_t a, int32_t b, int64_t c, int64_t d)
{
    bl_gw_event_t e;
    if (gw->cfg.on_event == NULL)
        return;
    e.kind = (uint8_t)kind;
    e.t_ms = gw->now_ms;
    e.a = a;
    e.b = b;
    e.c = c;
    e.d = d;
    gw->cfg.on_event(gw->cfg.ctx, &e);
}

/* Row k of m as the codec's variant reads it; false when it lies beyond the length m is sent with. */
static bool fits(const bl_gw_t *gw, const bl_message_t *m, unsigned k, bl_signal_t *s)
{
    uint8_t probe[BL_CAN_MAX_DATA] = { 0 };
    bl_can_sig(&gw->out, m, k, s);
    if (s->kind == BL_SK_ASCII || s->kind == BL_SK_VERSION)
        return s->start / 8u < m->dlc;
    return bl_sig_raw_put(s, probe, m->dlc, 0) == 0;
}

/* The narrowest range every sent row of a limit field can carry (so that no encoder has to clamp a limit). */
static void wire_ranges(bl_gw_t *gw)
{
    static const uint8_t lim[] = { BL_F_CVL, BL_F_CCL, BL_F_DCL, BL_F_DVL };
    bl_proto_caps_sent(gw->cfg.out, &gw->out_caps);
    for (unsigned i = 0; i < BL_ARRAY_LEN(lim); i++) {
        unsigned f = lim[i];
        bool any = false;
        int64_t lo = INT32_MIN, hi = INT32_MAX, step = 1, origin = 0;
        for (unsigned j = 0; j < gw->out.n; j++) {
            const bl_message_t *m = gw->out.msg[j];
            if (m->dir != BL_DIR_B2I || !gw->out.sends[j])
                continue;
            for (unsigned k = 0; k < m->nsigs; k++) {
                bl_signal_t s;
                int64_t a, b;
                if (!fits(gw, m, k, &s) || s.kind != BL_SK_NUM || s.field != f)
                    continue;
                bl_sig_range(&s, &a, &b);
                lo = a > lo ? a : lo;
                hi = b < hi ? b : hi;
                any = true;
                /* the coarsest whole step of a row: limits are put on it toward the safe side */
                a = s.mul < 0 ? -(int64_t)s.mul : s.mul;
                b = s.div > 0 ? s.div : 1;
                if (a % b == 0 && a / b > step) {
                    step = a / b;
                    origin = s.offset;
                }
            }
        }
        if (any) {
            gw->out_caps.fields |= BL_BIT(f);
            gw->out_caps.lo[f] = (int32_t)clamp32(lo);
            gw->out_caps.hi[f] = (int32_t)clamp32(hi);
            gw->out_caps.step[f] = (int32_t)clamp32(step);
            gw->out_caps.origin[f] = (int32_t)clamp32(origin);
        } else {
            gw->out_caps.fields &= ~(uint32_t)BL_BIT(f);
        }
    }
}

/* An RS485 output: the same from its layout rows (the replies the battery role sends). */
static void rs_wire_ranges(bl_gw_t *gw)
{
    static const uint8_t lim[] = { BL_F_CVL, BL_F_CCL, BL_F_DCL, BL_F_DVL };
    const bl_rs485_codec_t *c = gw->ors.c;

    bl_proto_caps_sent(gw->cfg.out, &gw->out_caps);
    for (unsigned i = 0; i < BL_ARRAY_LEN(lim); i++) {
        unsigned f = lim[i];
        int64_t lo = INT32_MIN, hi = INT32_MAX, step = 1, origin = 0;
        bool any = false;
        for (unsigned j = 0; j < c->nmsgs; j++) {
            const bl_rs_msg_t *m = &c->msgs[j];
            if (m->rsp == NULL || (m->flags & (BL_RMF_NO_REPLY | BL_RMF_WRITE)))
                continue;
            for (unsigned r = 0; r < m->nrsp; r++) {
                const bl_signal_t *sg = &m->rsp[r].sig;
                int64_t a, b;
                if (m->rsp[r].op != BL_RI_FIELD || sg->kind != BL_SK_NUM || sg->field != f)
                    continue;
                bl_sig_range(sg, &a, &b);
                lo = a > lo ? a : lo;
                hi = b < hi ? b : hi;
                any = true;
                a = sg->mul < 0 ? -(int64_t)sg->mul : sg->mul;
                b = sg->div > 0 ? sg->div : 1;
                if (a % b == 0 && a / b > step) {
                    step = a / b;
                    origin = sg->offset;
                }
            }
        }
        if (!any) {
            gw->out_caps.fields &= ~(uint32_t)BL_BIT(f);
            continue;
        }
        gw->out_caps.fields |= BL_BIT(f);
        gw->out_caps.lo[f] = (int32_t)clamp32(lo);
        gw->out_caps.hi[f] = (int32_t)clamp32(hi);
        gw->out_caps.step[f] = (int32_t)clamp32(step);
        gw->out_caps.origin[f] = (int32_t)clamp32(origin);
    }
}

/* Which limits, flags and alarms each output message carries (what an early frame is for). */
static void carried(bl_gw_t *gw)
{
    for (unsigned j = 0; j < gw->out.n; j++) {
        const bl_message_t *m = gw->out.msg[j];
        gw->carries[j] = 0;
        gw->carries_alarm[j] = 0;
        if (m->dir != BL_DIR_B2I)
            continue;
        for (unsigned k = 0; k < m->nsigs; k++) {
            bl_signal_t s;
            if (!fits(gw, m, k, &s))
                continue;
            if (s.kind == BL_SK_ALARM || s.kind == BL_SK_PAIR) {
                if (!(s.flags & BL_SF_DECODE_ONLY) && s.alarm < BL_A_COUNT)
                    gw->carries_alarm[j] = (bl_alarm_mask_t)(gw->carries_alarm[j] | (1u << s.alarm) | s.also);
            } else if (s.field < 32 && (is_limit(s.field) || (FLAGS_DOWN & BL_BIT(s.field)))) {
                gw->carries[j] |= BL_BIT(s.field);
            }
        }
    }
}

int bl_gw_init(bl_gw_t *gw, const bl_gw_cfg_t *cfg, bl_gw_pack_t *packs, size_t npacks, uint64_t now_ms)
{
    memset(gw, 0, sizeof *gw);
    if (cfg == NULL || cfg->tx == NULL || cfg->out == NULL || packs == NULL || npacks == 0 ||
        npacks > BL_GW_MAX_PACKS || cfg->policy >= BL_GW_POLICY_COUNT || cfg->site.ccl_mA < 0 ||
        cfg->site.dcl_mA < 0 || cfg->site.cvl_mV < 0 || cfg->site.dvl_mV < 0 || cfg->site.capacity_mAh < 0)
        return BL_EINVAL;
    for (size_t i = 0; i < npacks; i++)
        if (packs[i].p == NULL || (packs[i].bus != BL_BUS_CAN && cfg->tx_bytes == NULL))
            return BL_EINVAL;
    gw->out_bus = bl_proto_root(cfg->out)->bus;
    if (gw->out_bus == BL_BUS_CAN) {
        int rc = bl_can_codec_init(&gw->out, cfg->out);
        if (rc < 0)
            return rc;
    } else {
        if (cfg->tx_bytes == NULL ||
            rs_port_init(&gw->ors, cfg->out, cfg->out_addr ? (int)cfg->out_addr : -1, cfg->out_buf) < 0)
            return BL_EINVAL;
        gw->ors.gw = gw;
        gw->ors.port = BL_GW_INVERTER;
    }
    gw->cfg = *cfg;
    if (gw->cfg.hold_ms == 0)
        gw->cfg.hold_ms = HOLD_DEFAULT_MS;
    gw->out.addr = cfg->out_addr;
    gw->packs = packs;
    gw->npacks = (uint8_t)npacks;
    gw->start_ms = gw->now_ms = now_ms;
    gw->holding = true;
    gw->safe = true; /* nothing to forward yet: leaving this is not news, entering it later is */
    bl_record_init(&gw->agg);
    bl_record_init(&gw->told);
    bl_record_init(&gw->inv);
    if (gw->out_bus == BL_BUS_CAN) {
        wire_ranges(gw);
        carried(gw);
    } else {
        rs_wire_ranges(gw);
    }
    for (size_t i = 0; i < npacks; i++)
        if (packs[i].bus != BL_BUS_CAN) {
            packs[i].rs.gw = gw;
            packs[i].rs.port = (unsigned)i;
            packs[i].rs.next_ms = packs[i].rs.cycle_ms = now_ms;
        }
    for (unsigned j = 0; j < BL_CAN_MAX_MSGS; j++) {
        gw->next_ms[j] = now_ms;
        gw->sent_ms[j] = BL_NEVER;
    }
    for (size_t i = 0; i < npacks; i++)
        poller_start(&packs[i].poll, now_ms);
    if (cfg->play_inverter && gw->out_bus == BL_BUS_CAN) {
        poller_init(&gw->inv_play, cfg->out);
        poller_start(&gw->inv_play, now_ms);
    }
    return 0;
}

/* ---- receive ------------------------------------------------------------- */

static int rejected(bl_gw_t *gw, unsigned port, bl_reject_t why)
{
    unsigned slot = port == BL_GW_INVERTER ? gw->npacks : port;
    if (!(gw->rejects_seen[slot] & BL_BIT(why))) {
        gw->rejects_seen[slot] |= BL_BIT(why);
        emit(gw, BL_GW_EV_REJECT, (int32_t)(port == BL_GW_INVERTER ? -1 : (int32_t)port), (int32_t)why, 0, 0);
    }
    return BL_EBADMSG;
}

static void queue_answers(bl_gw_t *gw, const bl_reaction_t *r)
{
    for (unsigned k = 0; k < r->n; k++) {
        bool dup = false;
        for (unsigned q = 0; q < gw->nqueue; q++)
            dup = dup || gw->queue[q] == r->send[k];
        if (!dup && gw->nqueue < BL_ARRAY_LEN(gw->queue))
            gw->queue[gw->nqueue++] = r->send[k];
    }
}

static int rx_inverter(bl_gw_t *gw, const bl_can_frame_t *f, uint64_t now)
{
    bl_decoded_t d;
    bl_reaction_t r;
    bool was_started = gw->out.started;

    if (bl_can_decode(&gw->out, f, now, &gw->inv, &d) < 0) {
        gw->rx_inv_rejected[d.why]++;
        return rejected(gw, BL_GW_INVERTER, d.why);
    }
    if (d.msg->dir != BL_DIR_I2B)
        return 0; /* another battery on the inverter's bus: not a request to us */
    gw->rx_inv++;
    if (gw->inv_link != BL_GW_LINK_ACTIVE) {
        gw->inv_link = BL_GW_LINK_ACTIVE;
        emit(gw, BL_GW_EV_INV_UP, 0, 0, 0, 0);
    }
    if (bl_can_react(&gw->out, f, now, &r) > 0)
        queue_answers(gw, &r);
    if (gw->out.started && !was_started)
        for (unsigned j = 0; j < gw->out.n; j++)
            gw->next_ms[j] = now; /* the inverter spoke first: the periodic messages start now */
    return 0;
}

static int rx_pack(bl_gw_t *gw, unsigned i, const bl_can_frame_t *f, uint64_t now)
{
    bl_gw_pack_t *k = &gw->packs[i];
    bl_decoded_t d;

    if (bl_can_decode(&k->codec, f, now, &k->rec, &d) < 0) {
        k->rx_rejected[d.why]++;
        return rejected(gw, i, d.why);
    }
    if (d.msg->dir != BL_DIR_B2I) {
        k->rx_other++; /* an inverter's request on the pack's bus proves nothing about the pack */
        return 0;
    }
    k->rx++;
    k->heard_ms = now;
    {
        unsigned j = codec_index(&k->codec, d.msg);
        if (j < 64)
            k->seen_msgs |= UINT64_C(1) << j;
    }
    k->poll.detected = true;
    if (k->link != BL_GW_LINK_ACTIVE) {
        k->link = BL_GW_LINK_ACTIVE;
        emit(gw, BL_GW_EV_PACK_UP, (int32_t)i, 0, 0, 0);
    }
    return 0;
}

int bl_gw_pack_gone(bl_gw_t *gw, unsigned port)
{
    bl_gw_pack_t *k;
    if (port >= gw->npacks)
        return BL_EINVAL;
    k = &gw->packs[port];
    /* nothing it said before the loss may outlive it: a reconnected pack starts from nothing */
    bl_record_init(&k->rec);
    k->heard_ms = BL_NEVER;
    k->seen_msgs = 0;
    return 0;
}

int bl_gw_rx(bl_gw_t *gw, unsigned port, const bl_can_frame_t *f, uint64_t now_ms)
{
    if (port != BL_GW_INVERTER && port >= gw->npacks)
        return BL_EINVAL;
    if ((port == BL_GW_INVERTER ? gw->out_bus : gw->packs[port].bus) != BL_BUS_CAN)
        return BL_EINVAL; /* a byte-protocol port: bl_gw_rx_bytes */
    if (now_ms > gw->now_ms)
        gw->now_ms = now_ms;
    if (f->flags & BL_CAN_ERR) {
        if (port != BL_GW_INVERTER)
            gw->packs[port].rx_rejected[BL_REJ_ERROR_FRAME]++;
        else
            gw->rx_inv_rejected[BL_REJ_ERROR_FRAME]++;
        return BL_EBADMSG; /* the transport tracks the bus state; an error frame carries no data */
    }
    return port == BL_GW_INVERTER ? rx_inverter(gw, f, now_ms) : rx_pack(gw, port, f, now_ms);
}

/* ---- byte protocols (RS485) --------------------------------------------- */

static void refresh(bl_gw_t *gw, uint64_t now_ms);

static void rs_reject(bl_gw_t *gw, bl_gw_rs_t *rs, unsigned why)
{
    unsigned slot = rs->port == BL_GW_INVERTER ? gw->npacks : rs->port;
    if (why >= BL_RSR_COUNT)
        why = BL_RSR_SYNTAX;
    rs->rejected[why]++;
    if (!(gw->rs_rejects_seen[slot] & BL_BIT(why))) {
        gw->rs_rejects_seen[slot] |= BL_BIT(why);
        emit(gw, BL_GW_EV_REJECT_RS, rs->port == BL_GW_INVERTER ? -1 : (int32_t)rs->port, (int32_t)why, 0, 0);
    }
}

static int poll_index(const bl_gw_rs_t *rs, uint16_t cmd)
{
    const uint8_t *list = rs->c->poll;
    for (int i = 0; list != NULL && list[i] != 0 && i < 32; i++)
        if (list[i] == cmd)
            return i;
    return -1;
}

/* A pack's reply: decoded into its record, all or nothing. */
static void rs_pack_frame(bl_gw_t *gw, bl_gw_pack_t *k, const bl_rs_frame_t *f)
{
    bl_gw_rs_t *rs = &k->rs;
    uint64_t now = rs->now_ms;
    int at;

    if (f->request)
        return; /* an inverter's request (a capture, or our own echo on a 2-wire bus) */
    if (rs->c->kind == BL_RSK_PYLON && f->addr != rs->addr) {
        rs_reject(gw, rs, BL_RSR_ADDRESS); /* another pack's answer, or a second master's */
        return;
    }
    if (f->rtn != 0 || f->msg == NULL) {
        rs_reject(gw, rs, f->rtn != 0 ? BL_RSR_ERROR_CODE : BL_RSR_UNKNOWN_CMD);
        return;
    }
    if (bl_rs_decode(rs->c, f->msg, f->pl, f->plen, f->group ? 1 : 0, now, &k->rec, NULL, 0, &rs->buf->dec) < 0) {
        rs_reject(gw, rs, rs->buf->dec.why);
        return;
    }
    rs->replies++;
    if (rs->cmd == f->cmd || rs->cmd == BL_RS_CMD_UNKNOWN || f->inferred) {
        rs->cmd = BL_RS_CMD_UNKNOWN; /* answered: the next request may go after the gap */
        rs->next_ms = now + rs->c->gap_ms;
    }
    if ((at = poll_index(rs, f->cmd)) >= 0)
        rs->answered |= BL_BIT(at);
    if (rs->first_ms == BL_NEVER)
        rs->first_ms = now;
    k->rx++;
    k->heard_ms = now;
    if (k->link != BL_GW_LINK_ACTIVE) {
        k->link = BL_GW_LINK_ACTIVE;
        emit(gw, BL_GW_EV_PACK_UP, (int32_t)rs->port, 0, 0, 0);
    }
}

/* The inverter's request to the battery we are: answered at once from the current record. */
static void rs_out_frame(bl_gw_t *gw, const bl_rs_frame_t *f)
{
    bl_gw_rs_t *rs = &gw->ors;
    bl_rs_answer_t res;
    bl_gw_txinfo_t info;
    int n;

    if (!f->request)
        return; /* another battery's answer on the inverter's bus */
    gw->rx_inv++;
    if (gw->inv_link != BL_GW_LINK_ACTIVE) {
        gw->inv_link = BL_GW_LINK_ACTIVE;
        emit(gw, BL_GW_EV_INV_UP, 0, 0, 0, 0);
    }
    refresh(gw, rs->now_ms);
    if (gw->holding)
        return; /* not ready to say anything: the inverter sees no battery yet */
    if (gw->rep.nused == 0) {
        /* no pack in use: every value is stale, and the dialect says so (Pylon RTN 0x91, 0 A in
         * 0x92), which a record of absent fields would not: those are a protocol's gaps */
        bl_record_t stale = gw->agg;
        for (unsigned k = 0; k < BL_F_BATTERY_COUNT; k++) {
            stale.f[k].valid = 1;
            stale.f[k].seen_ms = 0;
        }
        n = bl_rs_answer(gw->cfg.out, rs->addr, f, &stale, rs->now_ms + 2u, 1, rs->buf->out, sizeof rs->buf->out, &res);
    } else {
        n = bl_rs_answer(gw->cfg.out, rs->addr, f, &gw->agg, rs->now_ms, 0, rs->buf->out, sizeof rs->buf->out, &res);
    }
    if (n <= 0)
        return; /* silent: another address, or nothing honest to say (res.why) */
    memset(&info, 0, sizeof info);
    info.answer = true;
    info.safe_state = res.enc.safe_state;
    info.enc.substituted = res.enc.substituted;
    info.enc.clamped = res.enc.clamped;
    gw->tx++;
    gw->tx_answers++;
    if (info.safe_state)
        gw->tx_safe++;
    for (uint32_t b = res.enc.substituted; b; b &= b - 1u)
        gw->substituted++;
    gw->cfg.tx_bytes(gw->cfg.ctx, BL_GW_INVERTER, rs->buf->out, (size_t)n, &info);
}

static void rs_frame_cb(void *ctx, const bl_stream_ev_t *ev)
{
    bl_gw_rs_t *rs = ctx;
    bl_gw_t *gw = rs->gw;
    bl_rs_frame_t f;
    bl_rsr_t why;

    if (gw == NULL)
        return;
    if (ev->kind != BL_SEV_FRAME) {
        rs_reject(gw, rs, ev->kind == BL_SEV_NOISE ? BL_RSR_NOISE : ev->why);
        if (rs->port == BL_GW_INVERTER && ev->kind == BL_SEV_REJECT) {
            /* a Pylon pack answers a bad checksum with its error code (§5); others stay silent */
            bl_rs_answer_t res;
            int n = bl_rs_answer_reject(gw->cfg.out, rs->addr, ev->data, ev->len, (bl_rsr_t)ev->why, rs->buf->out,
                                        sizeof rs->buf->out, &res);
            if (n > 0 && !gw->holding)
                gw->cfg.tx_bytes(gw->cfg.ctx, BL_GW_INVERTER, rs->buf->out, (size_t)n, NULL);
        }
        return;
    }
    if (bl_rs_session_frame(&rs->sess, ev->data, ev->len, rs->buf->info, sizeof rs->buf->info, &f, &why) < 0) {
        rs_reject(gw, rs, why);
        return;
    }
    if (rs->port == BL_GW_INVERTER)
        rs_out_frame(gw, &f);
    else
        rs_pack_frame(gw, &gw->packs[rs->port], &f);
}

int bl_gw_rx_bytes(bl_gw_t *gw, unsigned port, const uint8_t *d, size_t n, uint64_t now_ms)
{
    bl_gw_rs_t *rs;
    uint64_t before;

    if (port != BL_GW_INVERTER && port >= gw->npacks)
        return BL_EINVAL;
    if ((port == BL_GW_INVERTER ? gw->out_bus : gw->packs[port].bus) == BL_BUS_CAN)
        return BL_EINVAL;
    rs = port == BL_GW_INVERTER ? &gw->ors : &gw->packs[port].rs;
    if (now_ms > gw->now_ms)
        gw->now_ms = now_ms;
    rs->now_ms = now_ms;
    before = rs->st.frames;
    bl_stream_push(&rs->st, d, n);
    return (int)(rs->st.frames - before);
}

/* The next command of a pack's poll list: the identity ones once, then the list each poll_ms. */
static uint16_t rs_next_cmd(bl_gw_rs_t *rs, uint64_t now, uint64_t *wait)
{
    const uint8_t *once = rs->c->poll_once, *list = rs->c->poll;
    if (!rs->once_done) {
        if (once != NULL && once[rs->idx] != 0)
            return once[rs->idx++];
        rs->once_done = true;
        rs->idx = 0;
    }
    if (list == NULL || list[0] == 0) {
        *wait = BL_NEVER;
        return BL_RS_CMD_UNKNOWN;
    }
    if (list[rs->idx] == 0) { /* the cycle is through: the next one starts a poll period after this one */
        if (now < rs->cycle_ms + rs->c->poll_ms) {
            *wait = rs->cycle_ms + rs->c->poll_ms;
            return BL_RS_CMD_UNKNOWN;
        }
        rs->idx = 0;
    }
    if (rs->idx == 0)
        rs->cycle_ms = now;
    return list[rs->idx++];
}

/* The inverter role towards a byte-protocol pack: one request at a time, reply_ms to answer. */
static uint64_t rs_poll(bl_gw_t *gw, unsigned i, uint64_t now)
{
    bl_gw_pack_t *k = &gw->packs[i];
    bl_gw_rs_t *rs = &k->rs;
    uint8_t req[96];
    uint64_t wait = BL_NEVER;
    uint16_t cmd;
    int n;

    if (rs->cmd != BL_RS_CMD_UNKNOWN) {
        if (now < rs->deadline_ms)
            return rs->deadline_ms;
        rs->timeouts++; /* no answer in time: counted, the cycle goes on */
        rs_reject(gw, rs, BL_RSR_TIMEOUT);
        rs->cmd = BL_RS_CMD_UNKNOWN;
        rs->next_ms = now + rs->c->gap_ms;
    }
    if (now < rs->next_ms)
        return rs->next_ms;
    if ((cmd = rs_next_cmd(rs, now, &wait)) == BL_RS_CMD_UNKNOWN)
        return wait;
    n = bl_rs_request(k->p, rs->addr, cmd, false, req, sizeof req);
    if (n <= 0) {
        rs->next_ms = now + rs->c->gap_ms; /* nothing this poller can ask: not the link's fault */
        return rs->next_ms;
    }
    rs->cmd = cmd;
    rs->deadline_ms = now + (rs->c->reply_ms ? rs->c->reply_ms : 500u);
    rs->requests++;
    k->tx++;
    gw->cfg.tx_bytes(gw->cfg.ctx, i, req, (size_t)n, NULL);
    return rs->deadline_ms;
}

/* The inverter's polls played on an RS485 output (offline translation): its poll list every
 * poll_ms, gap_ms apart, each sent out and fed back as if the inverter had asked. */
static uint64_t rs_play(bl_gw_t *gw, uint64_t now)
{
    bl_gw_rs_t *rs = &gw->ors;
    const uint8_t *list = rs->c->poll;
    uint8_t req[96];
    int n;

    if (list == NULL || list[0] == 0)
        return BL_NEVER;
    if (gw->play_next_ms == 0)
        gw->play_next_ms = now;
    if (now < gw->play_next_ms)
        return gw->play_next_ms;
    if (list[gw->play_idx] == 0)
        gw->play_idx = 0;
    n = bl_rs_request(gw->cfg.out, rs->addr, list[gw->play_idx], false, req, sizeof req);
    gw->play_idx++;
    gw->play_next_ms = list[gw->play_idx] == 0 ? now + rs->c->poll_ms - (uint64_t)(gw->play_idx - 1u) * rs->c->gap_ms
                                               : now + rs->c->gap_ms;
    if (gw->play_next_ms <= now)
        gw->play_next_ms = now + 1u;
    if (n > 0) {
        gw->cfg.tx_bytes(gw->cfg.ctx, BL_GW_INVERTER, req, (size_t)n, NULL);
        (void)bl_gw_rx_bytes(gw, BL_GW_INVERTER, req, (size_t)n, now);
    }
    return gw->play_next_ms;
}

/* ---- step ---------------------------------------------------------------- */

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* When the record will next change by itself: a field or a pack expiring. */
static uint64_t next_expiry(const bl_gw_t *gw, uint64_t now)
{
    uint64_t next = BL_NEVER;
    for (unsigned i = 0; i < gw->npacks; i++) {
        const bl_gw_pack_t *k = &gw->packs[i];
        if (k->heard_ms == BL_NEVER)
            continue;
        if (k->heard_ms + k->stale_ms >= now)
            next = earliest(next, k->heard_ms + k->stale_ms + 1u);
        for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
            uint64_t w = field_window(k, f);
            const bl_field_t *x = &k->rec.f[f];
            if (x->valid && w != 0 && x->seen_ms + w >= now)
                next = earliest(next, x->seen_ms + w + 1u);
        }
        for (unsigned c = 0; c < BL_AC_COUNT; c++)
            if (k->rec.known[c] && k->alarm_window_ms && k->rec.alarm_seen_ms[c] + k->alarm_window_ms >= now)
                next = earliest(next, k->rec.alarm_seen_ms[c] + k->alarm_window_ms + 1u);
    }
    return next;
}

static void pack_events(bl_gw_t *gw, uint64_t now)
{
    for (unsigned i = 0; i < gw->npacks; i++) {
        bl_gw_pack_t *k = &gw->packs[i];
        unsigned why;
        bool used = bl_gw_pack_usable(k, now, &why);
        if (k->link == BL_GW_LINK_ACTIVE && !heard(k, now)) {
            k->link = BL_GW_LINK_TIMEOUT;
            k->lost++;
            k->poll.detected = false; /* a hello wakes it again; commands repeat once it answers */
            emit(gw, BL_GW_EV_PACK_LOST, (int32_t)i, 0, (int64_t)k->stale_ms, 0);
        }
        if (used && !k->used)
            emit(gw, BL_GW_EV_PACK_USED, (int32_t)i, 0, 0, 0);
        else if (!used && k->used) {
            k->dropped++;
            emit(gw, BL_GW_EV_PACK_UNUSED, (int32_t)i, (int32_t)why, 0, 0);
        }
        k->used = used;
    }
}

static void agg_events(bl_gw_t *gw)
{
    const bl_gw_agg_t *rep = &gw->rep;
    bool safe = (rep->flags & BL_GW_F_SAFE) != 0, vm = (rep->flags & BL_GW_F_V_MISMATCH) != 0;

    if (safe != gw->safe) {
        gw->safe = safe;
        if (safe)
            gw->safe_entered++;
        if (safe || gw->safe_entered > 0)
            emit(gw, safe ? BL_GW_EV_SAFE_ENTER : BL_GW_EV_SAFE_LEAVE, 0, 0, 0, 0);
    }
    if (vm != gw->v_mismatch) {
        gw->v_mismatch = vm;
        emit(gw, BL_GW_EV_V_MISMATCH, vm, 0, rep->v_spread_mV, 0);
    }
    for (unsigned why = 0; why < BL_GW_CLAMP_COUNT; why++) {
        uint32_t began = rep->clamped[why] & ~gw->clamp_state[why];
        for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
            if (began & BL_BIT(f)) {
                gw->clamps++;
                emit(gw, BL_GW_EV_CLAMP, (int32_t)f, (int32_t)why, rep->before_clamp[f], gw->agg.f[f].value);
            }
        gw->clamp_state[why] = rep->clamped[why];
    }
}

/* A byte-protocol pack has answered every command of its poll list, or a poll period has
 * passed since its first reply (a capture of another poller may never ask some of them). */
static bool rs_cycle_done(const bl_gw_pack_t *k, uint64_t now)
{
    const uint8_t *list = k->rs.c->poll;
    uint32_t all = 0;
    for (unsigned i = 0; list != NULL && list[i] != 0 && i < 32; i++)
        all |= BL_BIT(i);
    if ((k->rs.answered & all) == all)
        return true;
    return k->rs.first_ms != BL_NEVER && now - k->rs.first_ms >= k->rs.c->poll_ms;
}

/* Every pack in use and heard through a whole cycle of its messages: the output may begin
 * (else its first frames would carry blanks that the next cycle fills). */
static bool packs_ready(const bl_gw_t *gw, uint64_t now)
{
    for (unsigned i = 0; i < gw->npacks; i++) {
        const bl_gw_pack_t *k = &gw->packs[i];
        if (!bl_gw_pack_usable(k, now, NULL))
            return false;
        if (k->bus == BL_BUS_CAN ? (k->seen_msgs & k->cycle) != k->cycle : !rs_cycle_done(k, now))
            return false;
    }
    return true;
}

static void tell(bl_gw_t *gw, unsigned j)
{
    bl_alarm_mask_t any = 0, told = 0;
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
        if (gw->carries[j] & BL_BIT(f))
            gw->told.f[f] = gw->agg.f[f];
    for (unsigned c = 0; c < BL_AC_COUNT; c++) /* the safe state's alarms were raised by the encoder */
        any = (bl_alarm_mask_t)(any | gw->agg.active[c] | (gw->out_safe ? bl_proto_safe(gw->cfg.out, c) : 0));
    told = gw->told_alarms;
    gw->told_alarms = (bl_alarm_mask_t)((told & ~gw->carries_alarm[j]) | (any & gw->carries_alarm[j]));
}

static bool send_msg(bl_gw_t *gw, unsigned j, bool answer, bool early)
{
    const bl_message_t *m = gw->out.msg[j];
    unsigned count = m->nmux ? m->nmux : 1u;
    bool sent = false;

    for (unsigned k = 0; k < count; k++) {
        bl_can_frame_t f;
        bl_gw_txinfo_t info;
        memset(&info, 0, sizeof info);
        info.msg = m;
        info.answer = answer;
        info.early = early;
        /* limits are within the wire's range already (clamp_limits): BL_ENC_CLAMP only ever
         * saturates a measurement (current of many packs), and says so in info.enc.clamped */
        if (bl_can_encode(&gw->out, m, k, &gw->agg, gw->now_ms, 0, BL_ENC_CLAMP, &f, &info.enc) < 0) {
            gw->tx_refused++;
            emit(gw, BL_GW_EV_OUT_REFUSED, (int32_t)m->id, info.enc.sig < m->nsigs ? m->sigs[info.enc.sig].field : 0xFF,
                 0, 0);
            continue;
        }
        gw->tx++;
        info.safe_state = gw->out_safe;
        if (info.safe_state)
            gw->tx_safe++;
        for (uint32_t s = info.enc.substituted; s; s &= s - 1u)
            gw->substituted++;
        if (early)
            gw->tx_early++;
        if (answer)
            gw->tx_answers++;
        gw->cfg.tx(gw->cfg.ctx, BL_GW_INVERTER, &f, &info);
        sent = true;
    }
    if (sent) {
        gw->sent_ms[j] = gw->now_ms;
        tell(gw, j);
    }
    return sent;
}

static unsigned msg_index(const bl_gw_t *gw, const bl_message_t *m)
{
    for (unsigned j = 0; j < gw->out.n; j++)
        if (gw->out.msg[j] == m)
            return j;
    return gw->out.n;
}

/* The inverter was told more than the record allows now: a limit shrank, a flag or alarm came. */
static bool worse(const bl_gw_t *gw, unsigned j)
{
    bl_alarm_mask_t any = 0;
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
        const bl_field_t *now = &gw->agg.f[f], *was = &gw->told.f[f];
        if (!(gw->carries[j] & BL_BIT(f)) || !was->valid)
            continue;
        if (!now->valid)
            return true;
        if (f == BL_F_DVL ? now->value > was->value : now->value < was->value)
            return true;
    }
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        any = (bl_alarm_mask_t)(any | gw->agg.active[c] | (gw->out_safe ? bl_proto_safe(gw->cfg.out, c) : 0));
    return (any & ~gw->told_alarms & gw->carries_alarm[j]) != 0;
}

static uint64_t output(bl_gw_t *gw, uint64_t now)
{
    uint64_t next = BL_NEVER;
    unsigned q;

    for (q = 0; q < gw->nqueue; q++) {
        unsigned j = msg_index(gw, gw->queue[q]);
        if (j < gw->out.n)
            (void)send_msg(gw, j, true, false);
    }
    gw->nqueue = 0;
    for (unsigned j = 0; j < gw->out.n; j++) {
        const bl_message_t *m = gw->out.msg[j];
        bool periodic = m->period_ms > 0 && !(m->flags & BL_MF_ON_REQUEST);
        if (m->dir != BL_DIR_B2I || !gw->out.sends[j] || !periodic || !gw->out.started)
            continue;
        if (now >= gw->next_ms[j]) {
            (void)send_msg(gw, j, false, false);
            gw->next_ms[j] += m->period_ms;
            if (gw->next_ms[j] <= now)
                gw->next_ms[j] = now + m->period_ms;
        } else if (!gw->cfg.no_early && worse(gw, j)) {
            uint64_t gap = gw->cfg.early_gap_ms ? gw->cfg.early_gap_ms : m->period_ms / EARLY_GAP_DIV;
            uint64_t ok = gw->sent_ms[j] == BL_NEVER ? now : gw->sent_ms[j] + (gap < EARLY_GAP_MIN_MS ? EARLY_GAP_MIN_MS : gap);
            if (now >= ok)
                (void)send_msg(gw, j, false, true);
            else
                next = earliest(next, ok);
        }
        next = earliest(next, gw->next_ms[j]);
    }
    return next;
}

static void inverter_link(bl_gw_t *gw, uint64_t now)
{
    bool was = gw->out.started;
    if (!bl_can_link_check(&gw->out, now) && gw->inv_link == BL_GW_LINK_ACTIVE &&
        bl_proto_link_timeout_ms(gw->cfg.out) != 0) {
        gw->inv_link = BL_GW_LINK_TIMEOUT;
        emit(gw, BL_GW_EV_INV_LOST, 0, 0, 0, 0);
    }
    if (was && !gw->out.started)
        gw->nqueue = 0; /* the session fell back: nothing owed any more */
}

/* The record as it stands at now: packs in and out of use, the aggregate, its events. */
static void refresh(bl_gw_t *gw, uint64_t now_ms)
{
    pack_events(gw, now_ms);
    bl_gw_aggregate(&gw->cfg, &gw->out_caps, gw->packs, gw->npacks, now_ms, &gw->agg, &gw->rep);
    if (gw->rep.nused > 0)
        /* the alarms of the output's safe state are the gateway's own: when it is not in that state
         * it knows they are clear, and says so (an SMA pair "00" would leave the SI in the fault
         * the safe state raised) */
        for (unsigned c = 0; c < BL_AC_COUNT; c++)
            gw->agg.known[c] = (bl_alarm_mask_t)(gw->agg.known[c] | bl_proto_safe(gw->cfg.out, c));
    gw->out_safe = gw->out_bus == BL_BUS_CAN ? bl_can_safe_needed(&gw->out, &gw->agg, now_ms, 0)
                                             : bl_rs_limits_stale(&gw->agg, now_ms, 0);
    agg_events(gw);
}

uint64_t bl_gw_step(bl_gw_t *gw, uint64_t now_ms)
{
    uint64_t next;
    uint64_t inv_stale = bl_proto_timeout_ms(gw->cfg.out);

    if (now_ms < gw->now_ms)
        now_ms = gw->now_ms; /* monotonic: a late call does not go back in time */
    gw->now_ms = now_ms;
    gw->steps++;
    refresh(gw, now_ms);
    if (gw->out_bus == BL_BUS_CAN)
        inverter_link(gw, now_ms);
    next = next_expiry(gw, now_ms);
    if (gw->cfg.poll_packs)
        for (unsigned i = 0; i < gw->npacks; i++)
            next = earliest(next, gw->packs[i].bus == BL_BUS_CAN
                                      ? poller_run(gw, &gw->packs[i].poll, i, &gw->inv, inv_stale, now_ms, false)
                                      : rs_poll(gw, i, now_ms));
    if (gw->holding && (packs_ready(gw, now_ms) || now_ms - gw->start_ms >= gw->cfg.hold_ms)) {
        gw->holding = false;
        for (unsigned j = 0; j < gw->out.n; j++)
            gw->next_ms[j] = now_ms;
        if (gw->cfg.play_inverter)
            poller_start(&gw->inv_play, now_ms);
    }
    if (gw->holding) {
        gw->nqueue = 0; /* no answers before the packs are there: the inverter sees no battery yet */
        for (unsigned i = 0; i < gw->npacks; i++) /* a byte-protocol pack's first poll period ends */
            if (gw->packs[i].bus != BL_BUS_CAN && gw->packs[i].rs.first_ms != BL_NEVER &&
                gw->packs[i].rs.first_ms + gw->packs[i].rs.c->poll_ms > now_ms)
                next = earliest(next, gw->packs[i].rs.first_ms + gw->packs[i].rs.c->poll_ms);
        return earliest(next, gw->start_ms + gw->cfg.hold_ms);
    }
    if (gw->out_bus != BL_BUS_CAN) { /* an RS485 battery only answers (bl_gw_rx_bytes) */
        if (gw->cfg.play_inverter)
            next = earliest(next, rs_play(gw, now_ms));
        return next <= now_ms ? now_ms + 1u : next;
    }
    if (gw->cfg.play_inverter) {
        gw->inv_play.detected = gw->tx > 0;
        next = earliest(next, poller_run(gw, &gw->inv_play, BL_GW_INVERTER, &gw->inv, 0, now_ms, true));
    }
    next = earliest(next, output(gw, now_ms));
    if (gw->out.peer_seen_ms != BL_NEVER && bl_proto_link_timeout_ms(gw->cfg.out))
        next = earliest(next, gw->out.peer_seen_ms + bl_proto_link_timeout_ms(gw->cfg.out));
    return next <= now_ms ? now_ms + 1u : next;
}
