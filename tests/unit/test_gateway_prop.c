/*
 * Property: whatever the packs do (limits that jump, packs that fall silent and come back,
 * capacities known or not, mixed protocols, site limits, either policy, any output
 * protocol), no frame the inverter receives carries a limit larger than the policy allows
 * at the moment it was sent. The inverter's side is an independent decoder instance; the
 * bound is checked as the rule reads (each pack's share of the total within its own limit,
 * N x the smallest limit, the site limit), from the test's own log of what each pack said
 * and when, not from the gateway's state.
 *
 * BL_PROP_SEED=N in the environment replays one run; failures print the seed and scenario.
 */
#include "gwtest.h"

#include <stdio.h>
#include <stdlib.h>

static gw_rig_t rig;

static uint64_t rng;
static uint32_t rnd(uint32_t n) /* xorshift64*, 0..n-1 */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)(((rng * UINT64_C(2685821657736338717)) >> 32) % n);
}

static const char *const inputs[] = { "pylon-lv", "sma-si", "victron", "goodwe-lv", "sungrow", "pylon-lv:v13" };
static const char *const outputs[] = { "sma-si",     "pylon-lv",  "victron", "pylon-hv", "solax",
                                       "byd-hvs",    "growatt-lv", "sofar",  "goodwe-lv", "sma-hv" };

typedef struct {
    int64_t ccl, dcl, cvl, dvl, cap; /* mA, mV, mAh (cap 0: not reported) */
    uint64_t said_ms;                /* when it last spoke (BL_NEVER: not yet) */
    uint64_t stale_ms;
    uint64_t quiet_from, quiet_to;   /* silent in [from, to) */
} truth_t;

typedef struct {
    unsigned n;
    truth_t p[BL_GW_MAX_PACKS];
    bl_gw_cfg_t cfg;
    bl_can_codec_t inv;              /* the inverter's own decoder */
    bl_record_t seen;
    unsigned frames, checked, safe_checked;
    char why[256];
} world_t;

static world_t w;

static void violation(const char *fmt, int64_t got, int64_t bound, uint64_t t)
{
    snprintf(w.why, sizeof w.why, fmt, (long long)got, (long long)bound, (unsigned long long)t);
}

/* What the rule allows at t, checked against what the inverter decoded. */
static void check(uint64_t t, const bl_decoded_t *d)
{
    bool fresh[BL_GW_MAX_PACKS];
    unsigned nf = 0;
    bool caps = true;
    int64_t wsum = 0, minc = INT64_MAX, mind = INT64_MAX, sumc = 0, sumd = 0, mincvl = INT64_MAX, maxdvl = 0;

    for (unsigned i = 0; i < w.n; i++) {
        const truth_t *p = &w.p[i];
        fresh[i] = p->said_ms != BL_NEVER && t - p->said_ms <= p->stale_ms;
        if (!fresh[i])
            continue;
        nf++;
        caps = caps && p->cap > 0;
        minc = p->ccl < minc ? p->ccl : minc;
        mind = p->dcl < mind ? p->dcl : mind;
        sumc += p->ccl;
        sumd += p->dcl;
        mincvl = p->cvl < mincvl ? p->cvl : mincvl;
        maxdvl = p->dvl > maxdvl ? p->dvl : maxdvl;
    }
    for (unsigned i = 0; i < w.n; i++)
        if (fresh[i])
            wsum += caps ? w.p[i].cap : 1;
    for (unsigned k = 0; k < 2; k++) {
        unsigned f = k ? BL_F_DCL : BL_F_CCL;
        int64_t got, site = k ? w.cfg.site.dcl_mA : w.cfg.site.ccl_mA;
        if (!(d->fields & BL_BIT(f)) || w.why[0])
            continue;
        got = w.seen.f[f].value;
        w.checked++;
        if (nf == 0) {
            w.safe_checked++;
            if (got != 0)
                violation("no fresh pack, but a current limit of %lld mA went out (bound %lld) at %llu ms", got, 0, t);
            continue;
        }
        for (unsigned i = 0; i < w.n; i++) {
            int64_t wi = caps ? w.p[i].cap : 1, li = k ? w.p[i].dcl : w.p[i].ccl;
            if (fresh[i] && got * wi > li * wsum)
                violation("pack share exceeded: %lld mA total, the pack allows %lld mA at %llu ms", got,
                     li * wsum / wi, t);
        }
        if (w.cfg.policy == BL_GW_CONSERVATIVE && got > (int64_t)nf * (k ? mind : minc))
            violation("conservative: %lld mA > N x min = %lld mA at %llu ms", got, (int64_t)nf * (k ? mind : minc), t);
        if (got > (k ? sumd : sumc))
            violation("%lld mA > the sum of the limits %lld mA at %llu ms", got, k ? sumd : sumc, t);
        if (site > 0 && got > site)
            violation("%lld mA > the site limit %lld mA at %llu ms", got, site, t);
    }
    if ((d->fields & BL_BIT(BL_F_CVL)) && nf > 0 && !w.why[0]) {
        int64_t got = w.seen.f[BL_F_CVL].value;
        if (got > mincvl || (w.cfg.site.cvl_mV > 0 && got > w.cfg.site.cvl_mV))
            violation("CVL %lld mV above the lowest pack's %lld mV at %llu ms", got, mincvl, t);
    }
    if ((d->fields & BL_BIT(BL_F_DVL)) && nf > 0 && !w.why[0]) {
        int64_t got = w.seen.f[BL_F_DVL].value;
        if (got != 0 && got < maxdvl)
            violation("DVL %lld mV below the highest pack's %lld mV at %llu ms", got, maxdvl, t);
    }
}

static void on_tx(void *ctx, unsigned port, const bl_can_frame_t *f, const bl_gw_txinfo_t *info)
{
    bl_decoded_t d;
    (void)ctx;
    if (port != BL_GW_INVERTER || info == NULL)
        return; /* requests (the played inverter, pack polls) carry no limits */
    w.frames++;
    if (bl_can_decode(&w.inv, f, rig.gw.now_ms, &w.seen, &d) == 0)
        check(rig.gw.now_ms, &d);
}

static void pack_says(unsigned i, uint64_t t)
{
    truth_t *p = &w.p[i];
    bl_gw_pack_t *k = &rig.packs[i];
    if (p->said_ms == BL_NEVER || rnd(8) == 0) { /* new limits now and then, 0 A included */
        p->ccl = rnd(5) == 0 ? 0 : (int64_t)rnd(4001) * 100;
        p->dcl = rnd(5) == 0 ? 0 : (int64_t)rnd(4001) * 100;
        p->cvl = 52000 + (int64_t)rnd(61) * 100;
        p->dvl = 40000 + (int64_t)rnd(81) * 100;
    }
    p->said_ms = t;
    bl_record_set(&k->rec, BL_F_CCL, (int32_t)p->ccl, 1, t);
    bl_record_set(&k->rec, BL_F_DCL, (int32_t)p->dcl, 1, t);
    bl_record_set(&k->rec, BL_F_CVL, (int32_t)p->cvl, 1, t);
    bl_record_set(&k->rec, BL_F_DVL, (int32_t)p->dvl, 1, t);
    bl_record_set(&k->rec, BL_F_SOC, 50000, 0, t);
    bl_record_set(&k->rec, BL_F_VOLTAGE, 52000, 2, t);
    if (p->cap > 0)
        bl_record_set(&k->rec, BL_F_CAPACITY, (int32_t)p->cap, 0, t);
    k->heard_ms = t;
    k->link = BL_GW_LINK_ACTIVE;
}

static void scenario(uint64_t seed)
{
    const char *out = outputs[rnd(BL_ARRAY_LEN(outputs))];
    uint64_t t = 0, end = 60000;
    uint64_t due[BL_GW_MAX_PACKS];

    memset(&w, 0, sizeof w);
    w.n = 1 + rnd(5);
    rig_cfg(&rig, &w.cfg, out);
    w.cfg.tx = on_tx;
    w.cfg.play_inverter = true; /* the inverter's polls, for the protocols where it speaks first */
    w.cfg.policy = (uint8_t)rnd(BL_GW_POLICY_COUNT);
    w.cfg.no_early = rnd(4) == 0;
    if (rnd(2))
        w.cfg.site.ccl_mA = 50000 + (int32_t)rnd(300) * 1000;
    if (rnd(2))
        w.cfg.site.dcl_mA = 50000 + (int32_t)rnd(300) * 1000;
    if (rnd(3) == 0)
        w.cfg.site.cvl_mV = 53000 + (int32_t)rnd(4000);
    if (rnd(3) == 0)
        w.cfg.site.dvl_mV = 42000 + (int32_t)rnd(4000);
    assert_int_equal(bl_can_codec_init(&w.inv, w.cfg.out), 0);
    bl_record_init(&w.seen);
    for (unsigned i = 0; i < w.n; i++) {
        truth_t *p = &w.p[i];
        const bl_protocol_t *proto = bl_protocol_find(inputs[rnd(BL_ARRAY_LEN(inputs))]);
        assert_int_equal(bl_gw_pack_init(&rig.packs[i], proto, rnd(3) == 0 ? 2000 + rnd(8000) : 0), 0);
        p->stale_ms = rig.packs[i].stale_ms;
        p->said_ms = BL_NEVER;
        p->cap = rnd(10) < 7 ? (50 + (int64_t)rnd(251)) * 1000 : 0;
        if (rnd(2)) {
            p->quiet_from = rnd(50000);
            p->quiet_to = p->quiet_from + rnd(30000);
        }
        due[i] = rnd(1000);
    }
    assert_int_equal(bl_gw_init(&rig.gw, &w.cfg, rig.packs, w.n, 0), 0);
    rig.next = 0;
    while (t < end && !w.why[0]) {
        uint64_t next = rig.next;
        for (unsigned i = 0; i < w.n; i++)
            next = due[i] < next ? due[i] : next;
        t = next;
        for (unsigned i = 0; i < w.n; i++)
            if (due[i] == t) {
                if (t < w.p[i].quiet_from || t >= w.p[i].quiet_to)
                    pack_says(i, t);
                due[i] = t + 900 + rnd(200);
            }
        rig.next = bl_gw_step(&rig.gw, t);
    }
    if (w.why[0]) {
        print_error("seed %llu: output %s, %u packs, policy %s, site %d/%d mA %d/%d mV:\n  %s\n",
                    (unsigned long long)seed, out, w.n, bl_gw_policy_str(w.cfg.policy), (int)w.cfg.site.ccl_mA,
                    (int)w.cfg.site.dcl_mA, (int)w.cfg.site.cvl_mV, (int)w.cfg.site.dvl_mV, w.why);
        for (unsigned i = 0; i < w.n; i++)
            print_error("  pack %u %s: ccl %lld dcl %lld cap %lld said %llu stale %llu quiet %llu..%llu\n", i,
                        rig.packs[i].p->name, (long long)w.p[i].ccl, (long long)w.p[i].dcl, (long long)w.p[i].cap,
                        (unsigned long long)w.p[i].said_ms, (unsigned long long)w.p[i].stale_ms,
                        (unsigned long long)w.p[i].quiet_from, (unsigned long long)w.p[i].quiet_to);
        fail_msg("the inverter received more than the policy allows");
    }
}

static void test_the_inverter_never_gets_more_than_the_policy_allows(void **state)
{
    const char *env = getenv("BL_PROP_SEED");
    uint64_t first = env ? strtoull(env, NULL, 10) : 1, runs = env ? 1 : 400;
    uint64_t frames = 0, checked = 0, safe = 0;
    (void)state;
    for (uint64_t s = first; s < first + runs; s++) {
        rng = s * UINT64_C(0x9E3779B97F4A7C15) + 1;
        scenario(s);
        frames += w.frames;
        checked += w.checked;
        safe += w.safe_checked;
    }
    /* the property was exercised, in both regimes */
    print_message("%llu runs: %llu frames to the inverter, %llu current limits checked (%llu in the safe state)\n",
                  (unsigned long long)runs, (unsigned long long)frames, (unsigned long long)checked,
                  (unsigned long long)safe);
    assert_true(checked > runs * 20);
    assert_true(safe > 0 || env != NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_inverter_never_gets_more_than_the_policy_allows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
