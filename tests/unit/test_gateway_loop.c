/*
 * The gateway in closed loop, in simulated time: simulated packs (the battery simulator, each
 * speaking its protocol through the library's battery role) -> the gateway -> an inverter
 * model running a shipped profile, whose current flows back into the packs, split between
 * them in proportion to their capacity (parallel packs of one chemistry). CAN -> CAN,
 * RS485 -> CAN and CAN -> RS485; a pack that drops out, all packs silent, a pack in
 * protection, mismatched packs. Checked all along:
 *   - every limit the inverter decodes is within the policy's bound computed from what each
 *     pack last put on the wire, and only while that is fresh (the test's own log);
 *   - no pack carries more current than its own BMS allows (the simulator's truth) for longer than
 *     it takes its next report to reach the inverter: one period of its protocol and a tick.
 */
#include "gwtest.h"

#include "bmslink/battery_can.h"
#include "bmslink/battery_sim.h"
#include "bmslink/simload.h"

#include <stdio.h>

#define TICK_MS 100u
#define NPACK 4
#define TOL_MA 2000     /* measurement margin */
#define REPORT_MS 1100u /* a pack's limits travel once a second (+ a tick): the most an overload may last */

typedef struct {
    bl_bsim_params_t prm;
    bl_bsim_t bat;
    bl_record_t rec;      /* what its BMS reports */
    bool rs;              /* speaks an RS485 protocol (answers the gateway's polls) */
    bl_batcan_t can;
    bl_rs_session_t sess;
    bl_stream_t st;
    uint8_t fbuf[BL_STREAM_PYLON_MAX + 64], info[2048], out[4200];
    bool silent;          /* comm loss: nothing it sends arrives */
    /* the test's own log: the limits it last put on the wire, and when */
    int64_t ccl, dcl;
    uint64_t said_ms;
    int32_t i_mA;         /* current through it in the last tick */
    uint64_t over_ms;     /* how long it has carried more than its BMS allows, in a row */
    uint64_t worst_over_ms;
} lpack_t;

static struct {
    const bl_protocol_t *pp;
    unsigned n;
    lpack_t p[NPACK];
    bl_gw_t gw;
    bl_gw_pack_t gp[NPACK];
    bl_gw_rsbuf_t rsbuf[NPACK + 1];
    bl_gw_cfg_t cfg;
    bl_profile_file_t pf;
    bl_inv_t inv;
    bl_stream_t inv_st;   /* RS485 inverter: its framer */
    uint8_t inv_fbuf[BL_STREAM_PYLON_MAX + 64];
    uint64_t now;
    int32_t pv_W, load_W;
    /* checks */
    unsigned limits_seen, bound_violations, safe_seen;
    char why[256];
    int64_t max_charge_mA, max_discharge_mA;
} L;

/* ---- the policy's bound from the test's own log ---- */

static bool fresh_pack(unsigned i)
{
    return L.p[i].said_ms != BL_NEVER && L.now - L.p[i].said_ms <= L.gp[i].stale_ms;
}

static int64_t bound(unsigned dir)
{
    int64_t w = 0, minl = INT64_MAX, cap = INT64_MAX;
    unsigned nf = 0;
    bool by_cap = true;
    for (unsigned i = 0; i < L.n; i++)
        if (fresh_pack(i)) {
            nf++;
            by_cap = by_cap && L.gp[i].rec.f[BL_F_CAPACITY].valid;
        }
    if (nf == 0)
        return 0;
    for (unsigned i = 0; i < L.n; i++)
        if (fresh_pack(i))
            w += by_cap ? L.p[i].prm.capacity_mAh : 1;
    for (unsigned i = 0; i < L.n; i++) {
        int64_t li, wi;
        if (!fresh_pack(i))
            continue;
        li = dir ? L.p[i].dcl : L.p[i].ccl;
        wi = by_cap ? L.p[i].prm.capacity_mAh : 1;
        minl = li < minl ? li : minl;
        cap = li * w / wi < cap ? li * w / wi : cap;
    }
    return (int64_t)nf * minl < cap ? (int64_t)nf * minl : cap;
}

/* What the inverter just decoded from us, against the bound. */
static void judge_rx(void)
{
    for (unsigned d = 0; d < 2; d++) {
        const bl_field_t *f = &L.inv.rx.f[d ? BL_F_DCL : BL_F_CCL];
        int64_t b;
        if (!f->valid || f->seen_ms != L.now || L.why[0])
            continue;
        L.limits_seen++;
        b = bound(d);
        if (b == 0)
            L.safe_seen++;
        if (f->value > b) {
            L.bound_violations++;
            snprintf(L.why, sizeof L.why, "%s %d mA sent at %llu ms, the policy allows %lld mA", d ? "DCL" : "CCL",
                     (int)f->value, (unsigned long long)L.now, (long long)b);
        }
    }
}

/* ---- wiring ---- */

static void to_inverter_frame(const bl_can_frame_t *f)
{
    bl_inv_rx(&L.inv, f, L.now);
    judge_rx();
}

static void inv_frame_cb(void *ctx, const bl_stream_ev_t *ev)
{
    (void)ctx;
    if (ev->kind == BL_SEV_FRAME) {
        bl_inv_rx_bytes(&L.inv, ev->data, ev->len, L.now);
        judge_rx();
    }
}

/* The test's log of what a pack said: its record's limits when a frame carrying them left. */
static void log_said(unsigned i)
{
    L.p[i].ccl = L.p[i].rec.f[BL_F_CCL].value;
    L.p[i].dcl = L.p[i].rec.f[BL_F_DCL].value;
    L.p[i].said_ms = L.now;
}

static void rs_pack_cb(void *ctx, const bl_stream_ev_t *ev)
{
    lpack_t *p = ctx;
    unsigned i = (unsigned)(p - L.p);
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_rsr_t why;
    int n;

    if (ev->kind != BL_SEV_FRAME || p->silent)
        return;
    if (bl_rs_session_frame(&p->sess, ev->data, ev->len, p->info, sizeof p->info, &f, &why) < 0)
        return;
    n = bl_rs_answer(L.pp, 0x02, &f, &p->rec, L.now, 0, p->out, sizeof p->out, &res);
    if (n <= 0)
        return;
    if (f.cmd == 0x92)
        log_said(i);
    (void)bl_gw_rx_bytes(&L.gw, i, p->out, (size_t)n, L.now);
}

static void gw_tx(void *ctx, unsigned port, const bl_can_frame_t *f, const bl_gw_txinfo_t *info)
{
    (void)ctx;
    (void)info;
    if (port == BL_GW_INVERTER)
        to_inverter_frame(f);
    else if (!L.p[port].silent)
        bl_batcan_rx(&L.p[port].can, f, L.now);
}

static void gw_tx_bytes(void *ctx, unsigned port, const uint8_t *d, size_t n, const bl_gw_txinfo_t *info)
{
    (void)ctx;
    (void)info;
    if (port == BL_GW_INVERTER)
        bl_stream_push(&L.inv_st, d, n);
    else
        bl_stream_push(&L.p[port].st, d, n);
}

/* ---- setup ---- */

static void setup(const char *pack_proto, const char *profile, unsigned n, const int32_t *cap_Ah,
                  const int32_t *soc_pct)
{
    char path[512], err[512];
    memset(&L, 0, sizeof L);
    L.pp = bl_protocol_find(pack_proto);
    assert_non_null(L.pp);
    L.n = n;
    snprintf(path, sizeof path, "%s/share/profiles/%s.yaml", BL_SOURCE_DIR, profile);
    if (bl_profile_load(&L.pf, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(bl_inv_init(&L.inv, &L.pf.p, 0, 0), 0);
    assert_int_equal(bl_stream_init(&L.inv_st, BL_FRAMING_PYLON, L.inv_fbuf, sizeof L.inv_fbuf, inv_frame_cb, NULL), 0);
    for (unsigned i = 0; i < n; i++) {
        lpack_t *p = &L.p[i];
        bl_bsim_defaults(&p->prm, 16, cap_Ah[i] * 1000);
        p->prm.seed = 1000u + i;
        assert_int_equal(bl_bsim_init(&p->bat, &p->prm, soc_pct[i] * 1000, 25000, 0), 0);
        bl_record_init(&p->rec);
        p->said_ms = BL_NEVER;
        p->rs = bl_proto_root(L.pp)->bus != BL_BUS_CAN;
        if (p->rs) {
            assert_int_equal(bl_rs_session_init(&p->sess, L.pp), 0);
            assert_int_equal(bl_stream_init(&p->st, bl_rs_codec(L.pp)->framing, p->fbuf, sizeof p->fbuf, rs_pack_cb, p),
                             0);
            assert_int_equal(bl_gw_pack_init_rs(&L.gp[i], L.pp, 0, -1, &L.rsbuf[i]), 0);
        } else {
            assert_int_equal(bl_batcan_init(&p->can, L.pp, 0), 0);
            assert_int_equal(bl_gw_pack_init(&L.gp[i], L.pp, 0), 0);
        }
    }
    memset(&L.cfg, 0, sizeof L.cfg);
    L.cfg.out = L.pf.p.proto;
    L.cfg.tx = gw_tx;
    L.cfg.tx_bytes = gw_tx_bytes;
    L.cfg.out_buf = &L.rsbuf[NPACK];
    L.cfg.poll_packs = true;
    assert_int_equal(bl_gw_init(&L.gw, &L.cfg, L.gp, n, 0), 0);
}

/* ---- one tick of the world ---- */

static void tick(void)
{
    bl_can_frame_t fr[64];
    uint64_t nx;
    bl_inv_env_t env;
    bl_inv_out_t out;
    int64_t wsum = 0;
    int32_t i_total;

    /* packs: their BMS reports, the CAN ones broadcast or answer */
    for (unsigned i = 0; i < L.n; i++) {
        lpack_t *p = &L.p[i];
        bl_bsim_record(&p->bat, &p->rec, L.now);
        if (p->rs)
            continue;
        unsigned k = bl_batcan_tx(&p->can, &p->rec, L.now, fr, BL_ARRAY_LEN(fr), &nx, NULL);
        for (unsigned j = 0; j < k && !p->silent; j++) {
            bl_decoded_t d;
            bl_record_t scratch;
            bl_can_codec_t *c = &p->can.codec;
            bl_record_init(&scratch);
            if (bl_can_decode(c, &fr[j], L.now, &scratch, &d) == 0 && (d.fields & BL_BIT(BL_F_CCL)))
                log_said(i);
            (void)bl_gw_rx(&L.gw, i, &fr[j], L.now);
        }
    }
    (void)bl_gw_step(&L.gw, L.now);
    /* the inverter's own frames (keep-alives, polls) */
    if (bl_proto_root(L.cfg.out)->bus == BL_BUS_CAN) {
        unsigned k = bl_inv_tx(&L.inv, L.now, fr, BL_ARRAY_LEN(fr), &nx);
        for (unsigned j = 0; j < k; j++) {
            (void)bl_gw_rx(&L.gw, BL_GW_INVERTER, &fr[j], L.now);
            (void)bl_gw_step(&L.gw, L.now);
        }
    } else {
        uint8_t req[256];
        int k = bl_inv_tx_bytes(&L.inv, L.now, req, sizeof req, &nx);
        if (k > 0)
            (void)bl_gw_rx_bytes(&L.gw, BL_GW_INVERTER, req, (size_t)k, L.now);
    }
    /* the inverter decides; its current splits between the packs whose path is open */
    memset(&env, 0, sizeof env);
    env.pv_W = L.pv_W;
    env.load_W = L.load_W;
    env.grid = 1;
    env.v_mV = L.p[0].bat.v_mV;
    env.temp_mdegC = 25000;
    for (unsigned i = 0; i < L.n; i++)
        env.i_mA += L.p[i].i_mA;
    bl_inv_step(&L.inv, &env, L.now, &out);
    i_total = out.i_mA;
    L.max_charge_mA = i_total > L.max_charge_mA ? i_total : L.max_charge_mA;
    L.max_discharge_mA = -i_total > L.max_discharge_mA ? -i_total : L.max_discharge_mA;
    for (unsigned i = 0; i < L.n; i++) {
        uint8_t blocked = i_total > 0 ? BL_BSIM_BLOCK_CHARGE : BL_BSIM_BLOCK_DISCHARGE;
        if (!(L.p[i].bat.block & blocked))
            wsum += L.p[i].prm.capacity_mAh;
    }
    L.now += TICK_MS;
    for (unsigned i = 0; i < L.n; i++) {
        lpack_t *p = &L.p[i];
        uint8_t blocked = i_total > 0 ? BL_BSIM_BLOCK_CHARGE : BL_BSIM_BLOCK_DISCHARGE;
        int32_t share = (wsum == 0 || (p->bat.block & blocked)) ? 0
                                                                 : (int32_t)((int64_t)i_total * p->prm.capacity_mAh / wsum);
        int32_t lim = share > 0 ? p->bat.ccl_mA : p->bat.dcl_mA;
        p->i_mA = bl_bsim_step(&p->bat, share, L.now);
        p->over_ms = (p->i_mA < 0 ? -p->i_mA : p->i_mA) > lim + TOL_MA ? p->over_ms + TICK_MS : 0;
        if (p->over_ms > p->worst_over_ms)
            p->worst_over_ms = p->over_ms;
    }
}

static void run_to(uint64_t t)
{
    while (L.now < t && !L.why[0])
        tick();
}

static void expect_clean(void)
{
    if (L.why[0])
        fail_msg("%s", L.why);
    assert_true(L.limits_seen > 100);
    for (unsigned i = 0; i < L.n; i++)
        if (L.p[i].worst_over_ms > REPORT_MS)
            fail_msg("pack %u carried more than its BMS allowed for %llu ms", i,
                     (unsigned long long)L.p[i].worst_over_ms);
}

/* ---- scenarios ---- */

/* CAN -> CAN: two Pylon LV packs behind one SMA Sunny Island, PV charging then load at night */
static void test_can_to_can_two_packs_into_a_sunny_island(void **state)
{
    static const int32_t cap[] = { 100, 100 }, soc[] = { 50, 52 };
    (void)state;
    setup("pylon-lv", "sma-sunny-island", 2, cap, soc);
    L.pv_W = 4000;
    L.load_W = 500;
    run_to(20 * 60000u);
    assert_true(L.max_charge_mA > 20000); /* it charged, at a real current */
    assert_int_equal(L.inv.state, BL_INV_RUN);
    L.pv_W = 0;
    L.load_W = 3000;
    run_to(40 * 60000u);
    assert_true(L.max_discharge_mA > 20000);
    expect_clean();
    assert_int_equal(L.gw.rep.nused, 2);
    assert_int_equal(L.safe_seen, 0);
}

/* A pack drops out: the limits shrink to what the other can take; then both go silent: the
 * inverter gets 0 A and stops; they come back: it runs again */
static void test_a_pack_drops_out_then_all_go_silent(void **state)
{
    static const int32_t cap[] = { 100, 100 }, soc[] = { 50, 50 };
    (void)state;
    setup("pylon-lv", "sma-sunny-island", 2, cap, soc);
    L.pv_W = 0;
    L.load_W = 5000; /* more than one pack's 50 A DCL at 48 V */
    run_to(5 * 60000u);
    assert_true(L.max_discharge_mA > 60000); /* two packs: above one pack's limit */
    L.p[1].silent = true;
    run_to(6 * 60000u);
    assert_int_equal(L.gw.rep.nused, 1);
    L.max_discharge_mA = 0;
    run_to(10 * 60000u);
    assert_true(L.max_discharge_mA <= L.p[0].bat.dcl_mA + TOL_MA); /* the bank shrank to one pack */
    L.p[0].silent = true;
    run_to(10 * 60000u + 10000u + 500u); /* 10 s after its last frame, and a tick */
    assert_true(L.gw.safe);
    run_to(11 * 60000u);
    assert_int_equal(L.p[0].i_mA, 0);
    assert_int_equal(L.p[1].i_mA, 0);
    assert_true(L.safe_seen > 0);
    L.p[0].silent = L.p[1].silent = false;
    run_to(13 * 60000u);
    assert_false(L.gw.safe);
    assert_true(L.p[0].i_mA < 0);
    expect_clean();
}

/* A pack in protection (over-temperature reading): its BMS opens its paths and raises the
 * protection; the bank's limits go to 0 A and the Sunny Island stops on the alarm */
static void test_a_pack_in_protection_stops_the_bank(void **state)
{
    static const int32_t cap[] = { 100, 100 }, soc[] = { 60, 60 };
    (void)state;
    setup("pylon-lv", "sma-sunny-island", 2, cap, soc);
    L.pv_W = 0;
    L.load_W = 2000;
    run_to(3 * 60000u);
    assert_true(L.p[0].i_mA < -10000);
    bl_bsim_override_temp(&L.p[1].bat, true, 75000);
    run_to(6 * 60000u);
    assert_true(L.p[1].bat.active[BL_AC_PROTECTION] != 0 || L.p[1].bat.active[BL_AC_ALARM] != 0);
    assert_true(L.gw.agg.active[BL_AC_ALARM] != 0); /* protections fold into the SI's alarms */
    assert_int_equal(L.p[0].i_mA, 0);
    assert_int_equal(L.p[1].i_mA, 0);
    expect_clean();
}

/* Mismatched packs: 100 Ah at 30 % and 200 Ah at 70 % (Victron protocol: capacities on the wire);
 * the smaller pack bounds the bank by its share (a third of the current) */
static void test_mismatched_packs_share_by_capacity(void **state)
{
    static const int32_t cap[] = { 100, 200 }, soc[] = { 30, 70 };
    (void)state;
    setup("victron", "sma-sunny-island", 2, cap, soc);
    L.pv_W = 6000;
    L.load_W = 0;
    run_to(15 * 60000u);
    assert_true(L.gw.rep.share_cap_mA[0] >= 0);
    assert_false(L.gw.rep.flags & BL_GW_F_SOC_UNWEIGHTED);
    L.pv_W = 0;
    L.load_W = 6000;
    run_to(30 * 60000u);
    expect_clean();
}

/* RS485 -> CAN: two Pylontech RS485 packs polled by the gateway, into a Sunny Island */
static void test_rs485_packs_into_a_sunny_island(void **state)
{
    static const int32_t cap[] = { 100, 100 }, soc[] = { 50, 50 };
    (void)state;
    setup("pylon-rs485", "sma-sunny-island", 2, cap, soc);
    L.pv_W = 3000;
    L.load_W = 500;
    run_to(10 * 60000u);
    assert_true(L.max_charge_mA > 10000);
    assert_int_equal(L.gw.rep.nused, 2);
    assert_true(L.gp[0].rs.replies > 100);
    expect_clean();
}

/* CAN -> RS485: two Pylon LV packs answered to a Voltronic inverter polling Pylontech RS485 */
static void test_can_packs_into_a_voltronic_on_rs485(void **state)
{
    static const int32_t cap[] = { 100, 100 }, soc[] = { 50, 50 };
    (void)state;
    setup("pylon-lv", "voltronic-axpert", 2, cap, soc);
    L.pv_W = 3000;
    L.load_W = 500;
    run_to(10 * 60000u);
    assert_true(L.inv.detected);
    assert_true(L.max_charge_mA > 10000);
    L.p[0].silent = L.p[1].silent = true; /* silent packs: the inverter gets 0 A in 0x92 */
    run_to(11 * 60000u);
    assert_true(L.gw.safe);
    assert_int_equal(L.p[0].i_mA, 0);
    expect_clean();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_can_to_can_two_packs_into_a_sunny_island),
        cmocka_unit_test(test_a_pack_drops_out_then_all_go_silent),
        cmocka_unit_test(test_a_pack_in_protection_stops_the_bank),
        cmocka_unit_test(test_mismatched_packs_share_by_capacity),
        cmocka_unit_test(test_rs485_packs_into_a_sunny_island),
        cmocka_unit_test(test_can_packs_into_a_voltronic_on_rs485),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
