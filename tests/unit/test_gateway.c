/*
 * The gateway, rule by rule (include/bmslink/gateway.h, docs/design.md "Gateway").
 * Values are worked out by hand from the cited vectors
 * (../shared/protocols/vectors/can, one CSV per family) and the policy's formulas.
 */
#include "gwtest.h"

static gw_rig_t rig;

/* ---- the aggregation policy (pure) ---- */

static bl_gw_agg_t aggregate(unsigned n, uint64_t now, const bl_caps_t *caps, bl_gw_cfg_t *cfg, bl_record_t *out)
{
    bl_gw_agg_t rep;
    bl_gw_aggregate(cfg, caps, rig.packs, n, now, out, &rep);
    return rep;
}

static void packs_init(const char *proto, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(bl_gw_pack_init(&rig.packs[i], bl_protocol_find(proto), 0), 0);
}

/* current and capacity sum: +10 A and -4 A are +6 A; 100 Ah and 200 Ah are 300 Ah */
static void test_current_and_capacity_sum(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    (void)state;
    packs_init("pylon-lv", 2);
    for (unsigned k = 0; k < 2; k++)
        pack_limits(&rig, k, 53200, 100000, 100000, 46000, 0);
    pack_set(&rig, 0, BL_F_CURRENT, 10000, 0);
    pack_set(&rig, 1, BL_F_CURRENT, -4000, 0);
    pack_set(&rig, 0, BL_F_CAPACITY, 100000, 0);
    pack_set(&rig, 1, BL_F_CAPACITY, 200000, 0);
    aggregate(2, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CURRENT].value, 6000);
    assert_int_equal(out.f[BL_F_CAPACITY].value, 300000);
}

/* SOC by capacity: (50 % x 100 Ah + 80 % x 200 Ah) / 300 Ah = 70 % */
static void test_soc_is_weighted_by_capacity(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_gw_agg_t rep;
    (void)state;
    packs_init("pylon-lv", 2);
    for (unsigned k = 0; k < 2; k++)
        pack_limits(&rig, k, 53200, 100000, 100000, 46000, 0);
    pack_set(&rig, 0, BL_F_SOC, 50000, 0);
    pack_set(&rig, 1, BL_F_SOC, 80000, 0);
    pack_set(&rig, 0, BL_F_CAPACITY, 100000, 0);
    pack_set(&rig, 1, BL_F_CAPACITY, 200000, 0);
    rep = aggregate(2, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_SOC].value, 70000);
    assert_false(rep.flags & BL_GW_F_SOC_UNWEIGHTED);
}

/* Without a capacity from every pack, SOC is the plain mean (50 + 80) / 2 = 65 %, and flagged */
static void test_soc_without_capacity_is_flagged(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_gw_agg_t rep;
    (void)state;
    packs_init("pylon-lv", 2);
    for (unsigned k = 0; k < 2; k++)
        pack_limits(&rig, k, 53200, 100000, 100000, 46000, 0);
    pack_set(&rig, 0, BL_F_SOC, 50000, 0);
    pack_set(&rig, 1, BL_F_SOC, 80000, 0);
    pack_set(&rig, 0, BL_F_CAPACITY, 100000, 0);
    rep = aggregate(2, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_SOC].value, 65000);
    assert_true(rep.flags & BL_GW_F_SOC_UNWEIGHTED);
    assert_false(out.f[BL_F_CAPACITY].valid); /* a sum over some packs would be a claim */
}

/* Conservative: 3 x the smallest limit, 3 x 80 A = 240 A, bounded by pack 1. With equal
 * shares the sum policy cannot give more: pack 1 would carry 1/3 of 270 A = 90 A > 80 A. */
static void test_conservative_is_n_times_the_smallest_limit(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_gw_agg_t rep;
    (void)state;
    packs_init("pylon-lv", 3);
    pack_limits(&rig, 0, 53200, 100000, 100000, 46000, 0);
    pack_limits(&rig, 1, 53200, 80000, 100000, 46000, 0);
    pack_limits(&rig, 2, 53200, 90000, 100000, 46000, 0);
    rep = aggregate(3, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CCL].value, 240000);
    assert_int_equal(out.f[BL_F_DCL].value, 300000);
    assert_int_equal(rep.bound_by[0], 1);
    cfg.policy = BL_GW_SUM;
    rep = aggregate(3, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CCL].value, 240000);
    assert_int_equal(rep.share_cap_mA[0], 240000);
}

/* Shares by capacity. A 100 Ah / 50 A, B 200 Ah / 100 A: A takes 1/3, so the bank may take
 * 50 x 3 = 150 A (B: 100 x 3/2 = 150 A). Conservative 2 x 50 = 100 A; sum 150 A.
 * Swapped capacities (A 200 Ah / 50 A): A takes 2/3, so at most 50 x 3/2 = 75 A for both
 * policies although 2 x 50 = 100 A and 50 + 100 = 150 A. */
static void test_no_pack_gets_more_than_its_share_allows(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_gw_agg_t rep;
    (void)state;
    packs_init("pylon-lv", 2);
    pack_limits(&rig, 0, 53200, 50000, 50000, 46000, 0);
    pack_limits(&rig, 1, 53200, 100000, 100000, 46000, 0);
    pack_set(&rig, 0, BL_F_CAPACITY, 100000, 0);
    pack_set(&rig, 1, BL_F_CAPACITY, 200000, 0);
    rep = aggregate(2, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CCL].value, 100000);
    assert_int_equal(rep.share_cap_mA[0], 150000);
    cfg.policy = BL_GW_SUM;
    aggregate(2, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CCL].value, 150000);

    pack_set(&rig, 0, BL_F_CAPACITY, 200000, 0);
    pack_set(&rig, 1, BL_F_CAPACITY, 100000, 0);
    rep = aggregate(2, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CCL].value, 75000);
    assert_int_equal(rep.bound_by[0], 0);
    cfg.policy = BL_GW_CONSERVATIVE;
    rep = aggregate(2, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CCL].value, 75000);
    assert_int_equal(rep.policy_mA[0], 75000);
}

/* CVL is the lowest (52.8 V), DVL the highest (46.0 V): PLV-05 and PLV-14 */
static void test_cvl_is_the_min_and_dvl_the_max(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_can_frame_t a = vec(0x351, 0, "1002C012C012C201"), b = vec(0x351, 0, "1402740E740ECC01");
    (void)state;
    packs_init("pylon-lv", 2);
    assert_int_equal(bl_can_decode(&rig.packs[0].codec, &a, 0, &rig.packs[0].rec, NULL), 0);
    assert_int_equal(bl_can_decode(&rig.packs[1].codec, &b, 0, &rig.packs[1].rec, NULL), 0);
    rig.packs[0].heard_ms = rig.packs[1].heard_ms = 0;
    aggregate(2, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CVL].value, 52800);
    assert_int_equal(out.f[BL_F_DVL].value, 46000);
    assert_int_equal(out.f[BL_F_CCL].value, 740000); /* 2 x min(480 A, 370 A) */
}

/* Voltage: the mean; 52.0 V and 53.5 V are 1.5 V apart (> 1 V tolerance): flagged. 0.9 V is not. */
static void test_voltage_disagreement_is_flagged(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_gw_agg_t rep;
    (void)state;
    packs_init("pylon-lv", 2);
    for (unsigned k = 0; k < 2; k++)
        pack_limits(&rig, k, 53200, 100000, 100000, 46000, 0);
    pack_set(&rig, 0, BL_F_VOLTAGE, 52000, 0);
    pack_set(&rig, 1, BL_F_VOLTAGE, 53500, 0);
    rep = aggregate(2, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_VOLTAGE].value, 52750);
    assert_int_equal(rep.v_spread_mV, 1500);
    assert_true(rep.flags & BL_GW_F_V_MISMATCH);
    pack_set(&rig, 1, BL_F_VOLTAGE, 52900, 0);
    rep = aggregate(2, 0, NULL, &cfg, &out);
    assert_false(rep.flags & BL_GW_F_V_MISMATCH);
    cfg.v_tolerance_mV = 500;
    rep = aggregate(2, 0, NULL, &cfg, &out);
    assert_true(rep.flags & BL_GW_F_V_MISMATCH);
}

/* Pylon LV has no documented timeout: 10 x 1 s. Pack 1's limits from t = 0 are fresh at
 * 10 000 ms and stale at 10 001 ms: it is dropped, the bank's limit shrinks from 200 A to
 * 100 A and the inverter gets a communication_fault warning. */
static void test_a_stale_pack_is_dropped_and_the_limits_shrink(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_gw_agg_t rep;
    (void)state;
    packs_init("pylon-lv", 2);
    pack_limits(&rig, 0, 53200, 100000, 100000, 46000, 9000);
    pack_limits(&rig, 1, 53200, 100000, 100000, 46000, 0);
    rep = aggregate(2, 10000, NULL, &cfg, &out);
    assert_int_equal(rep.nused, 2);
    assert_int_equal(out.f[BL_F_CCL].value, 200000);
    assert_false(out.active[BL_AC_WARNING] & (1u << BL_A_COMM));
    rep = aggregate(2, 10001, NULL, &cfg, &out);
    assert_int_equal(rep.nused, 1);
    assert_int_equal(rep.used, 1);
    assert_int_equal(out.f[BL_F_CCL].value, 100000);
    assert_true(rep.flags & BL_GW_F_DEGRADED);
    assert_true(out.active[BL_AC_WARNING] & (1u << BL_A_COMM));
}

/* No pack in use: nothing is valid, the output goes to its safe state */
static void test_no_fresh_pack_means_the_safe_state(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_gw_agg_t rep;
    (void)state;
    packs_init("pylon-lv", 2);
    pack_limits(&rig, 0, 53200, 100000, 100000, 46000, 0);
    pack_limits(&rig, 1, 53200, 100000, 100000, 46000, 0);
    rep = aggregate(2, 10001, NULL, &cfg, &out);
    assert_true(rep.flags & BL_GW_F_SAFE);
    assert_int_equal(rep.fields, 0);
    assert_false(out.f[BL_F_CCL].valid);
    assert_false(out.f[BL_F_SOC].valid);
}

/* A pack that still talks but whose limits are older than the timeout is not in use:
 * telemetry at 9 500 ms does not keep 0x351 from t = 0 alive at 10 001 ms */
static void test_a_limit_older_than_the_timeout_is_never_used(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_gw_agg_t rep;
    unsigned why;
    (void)state;
    packs_init("pylon-lv", 1);
    pack_limits(&rig, 0, 53200, 100000, 100000, 46000, 0);
    pack_set(&rig, 0, BL_F_VOLTAGE, 52000, 9500);
    assert_false(bl_gw_pack_usable(&rig.packs[0], 10001, &why));
    assert_int_equal(why, BL_F_CVL);
    rep = aggregate(1, 10001, NULL, &cfg, &out);
    assert_true(rep.flags & BL_GW_F_SAFE);
    assert_false(out.f[BL_F_CCL].valid);
}

/* --stale overrides the protocol's timeout */
static void test_stale_option_overrides_the_timeout(void **state)
{
    (void)state;
    assert_int_equal(bl_gw_pack_init(&rig.packs[0], bl_protocol_find("pylon-lv"), 3000), 0);
    pack_limits(&rig, 0, 53200, 100000, 100000, 46000, 0);
    assert_true(bl_gw_pack_usable(&rig.packs[0], 3000, NULL));
    assert_false(bl_gw_pack_usable(&rig.packs[0], 3001, NULL));
}

/* Site limits: 370 A -> 125 A (fuse), DVL 46.0 V -> 47.0 V; each clamp is reported with the value before */
static void test_site_limits_clamp_and_say_so(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_gw_agg_t rep;
    (void)state;
    cfg.site.ccl_mA = 125000;
    cfg.site.dcl_mA = 400000;
    cfg.site.cvl_mV = 56000;
    cfg.site.dvl_mV = 47000;
    packs_init("pylon-lv", 1);
    pack_limits(&rig, 0, 53200, 370000, 370000, 46000, 0);
    rep = aggregate(1, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CCL].value, 125000);
    assert_int_equal(out.f[BL_F_DCL].value, 370000);
    assert_int_equal(out.f[BL_F_CVL].value, 53200);
    assert_int_equal(out.f[BL_F_DVL].value, 47000);
    assert_int_equal(rep.clamped[BL_GW_CLAMP_SITE], BL_BIT(BL_F_CCL) | BL_BIT(BL_F_DVL));
    assert_int_equal(rep.before_clamp[BL_F_CCL], 370000);
    assert_int_equal(rep.before_clamp[BL_F_DVL], 46000);
    assert_int_equal(rep.policy_mA[0], 370000);
}

/* A pack in protection (PLV-11: cell over-voltage, charge and discharge over-current) with
 * CCL 0 A: the bank cannot charge (2 x 0 A) and the protection is raised for all */
static void test_a_pack_in_protection_stops_its_direction_for_the_bank(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_can_frame_t f = vec(0x359, 0, "8201000801504E");
    (void)state;
    packs_init("pylon-lv", 2);
    pack_limits(&rig, 0, 53200, 100000, 100000, 46000, 0);
    pack_limits(&rig, 1, 53200, 0, 100000, 46000, 0);
    assert_int_equal(bl_can_decode(&rig.packs[1].codec, &f, 0, &rig.packs[1].rec, NULL), 0);
    aggregate(2, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CCL].value, 0);
    assert_int_equal(out.f[BL_F_DCL].value, 200000);
    assert_true(out.active[BL_AC_PROTECTION] & (1u << BL_A_CELL_OV));
    assert_true(out.active[BL_AC_PROTECTION] & (1u << BL_A_CHG_OC));
    assert_true(out.active[BL_AC_ALARM] & (1u << BL_A_COMM));
}

/* An output without a protection class (SMA SI) gets the protection as an alarm */
static void test_protections_fold_into_alarms_when_the_output_has_none(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_gw_agg_t rep;
    bl_caps_t caps;
    bl_can_frame_t f = vec(0x359, 0, "8201000801504E");
    (void)state;
    bl_proto_caps_sent(bl_protocol_find("sma-si"), &caps);
    assert_int_equal(caps.alarms[BL_AC_PROTECTION], 0);
    packs_init("pylon-lv", 1);
    pack_limits(&rig, 0, 53200, 0, 100000, 46000, 0);
    assert_int_equal(bl_can_decode(&rig.packs[0].codec, &f, 0, &rig.packs[0].rec, NULL), 0);
    rep = aggregate(1, 0, &caps, &cfg, &out);
    assert_true(out.active[BL_AC_ALARM] & (1u << BL_A_CELL_OV));
    assert_true(out.active[BL_AC_ALARM] & (1u << BL_A_DSG_OC));
    assert_true(rep.folded & (1u << BL_A_CELL_OV));
}

/* Charge enable is the AND, force charge the OR (PLV-03 C0: both enabled; PLV-12 A8:
 * discharge forbidden, force charge I, full charge request) */
static void test_enables_and_requests(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_can_frame_t a = vec(0x35C, 0, "C000"), b = vec(0x35C, 0, "A800");
    (void)state;
    packs_init("pylon-lv", 2);
    pack_limits(&rig, 0, 53200, 100000, 100000, 46000, 0);
    pack_limits(&rig, 1, 53200, 100000, 100000, 46000, 0);
    assert_int_equal(bl_can_decode(&rig.packs[0].codec, &a, 0, &rig.packs[0].rec, NULL), 0);
    assert_int_equal(bl_can_decode(&rig.packs[1].codec, &b, 0, &rig.packs[1].rec, NULL), 0);
    aggregate(2, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CHARGE_ENABLE].value, 1);
    assert_int_equal(out.f[BL_F_DISCHARGE_ENABLE].value, 0);
    assert_int_equal(out.f[BL_F_FORCE_CHARGE].value, 1);
    assert_int_equal(out.f[BL_F_FULL_CHARGE_REQ].value, 1);
}

/* SMA SI batteries send no enable flags: a limit above 0 A is the permission, said as derived */
static void test_enables_derive_from_the_limits_when_no_pack_sends_them(void **state)
{
    bl_gw_cfg_t cfg = { 0 };
    bl_record_t out;
    bl_gw_agg_t rep;
    (void)state;
    packs_init("sma-si", 1);
    pack_limits(&rig, 0, 56000, 100000, 0, 44000, 0);
    rep = aggregate(1, 0, NULL, &cfg, &out);
    assert_int_equal(out.f[BL_F_CHARGE_ENABLE].value, 1);
    assert_int_equal(out.f[BL_F_DISCHARGE_ENABLE].value, 0);
    assert_int_equal(rep.derived, BL_BIT(BL_F_CHARGE_ENABLE) | BL_BIT(BL_F_DISCHARGE_ENABLE));
}

/* ---- the engine: frames in, frames out ---- */

/* One Pylon LV pack into an SMA SI: PLV-14 limits, PLV-08 SOC, SMA-04 telemetry go out with
 * the same bytes (both use the SMA core layout): 53.2 V, 370 A, 370 A, 46 V. A whole cycle
 * of the pack's messages: PLV-15 (10 modules, no alarm), PLV-03 (enabled), PLV-04 ("PYLON"). */
static void send_pack_second(unsigned k, uint64_t t)
{
    assert_int_equal(rig_rx(&rig, k, 0x351, 0, "1402740E740ECC01", t), 0);
    assert_int_equal(rig_rx(&rig, k, 0x355, 0, "1A006400", t), 0);
    assert_int_equal(rig_rx(&rig, k, 0x356, 0, "5A146301FA00", t), 0);
    assert_int_equal(rig_rx(&rig, k, 0x359, 0, "000000000A504E", t), 0);
    assert_int_equal(rig_rx(&rig, k, 0x35C, 0, "C000", t), 0);
    assert_int_equal(rig_rx(&rig, k, 0x35E, 0, "50594C4F4E202020", t), 0);
}

static void test_one_pack_passes_through(void **state)
{
    bl_gw_cfg_t cfg;
    const gw_sent_t *s;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    rig_start(&rig, &cfg, "pylon-lv", 1, 0);
    send_pack_second(0, 1000);
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_non_null(s);
    assert_int_equal(s->t_ms, 1000);
    assert_bytes(&s->f, "1402740E740ECC01");
    assert_false(s->safe);
    s = last_sent(&rig, BL_GW_INVERTER, 0x355); /* SOC 26 %, SOH 100 %, SOC 26.00 % in 0.01 % */
    assert_bytes(&s->f, "1A006400280A");
    s = last_sent(&rig, BL_GW_INVERTER, 0x356);
    assert_bytes(&s->f, "5A146301FA00");
}

/* Two equal packs: 2 x 370 A = 740 A = 0x1CE8; current 2 x 35.5 A = 71 A = 0x02C6 */
static void test_two_packs_add_up(void **state)
{
    bl_gw_cfg_t cfg;
    const gw_sent_t *s;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    rig_start(&rig, &cfg, "pylon-lv", 2, 0);
    send_pack_second(0, 1000);
    assert_int_equal(count_sent(&rig, BL_GW_INVERTER, 0x351), 0); /* held: pack 1 not there yet */
    send_pack_second(1, 1000);
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_non_null(s);
    assert_bytes(&s->f, "1402E81CE81CCC01");
    s = last_sent(&rig, BL_GW_INVERTER, 0x356);
    assert_bytes(&s->f, "5A14C602FA00");
}

/* The output keeps its 1 s period; when the pack falls silent (last frames at 5 800 ms) the
 * limits expire at 15 801 ms and the safe state leaves at once (an early frame), 0 A */
static void test_the_output_keeps_its_period_and_fails_safe(void **state)
{
    bl_gw_cfg_t cfg;
    const gw_sent_t *s;
    unsigned before;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    rig_start(&rig, &cfg, "pylon-lv", 1, 0);
    for (uint64_t t = 500; t <= 4500; t += 1000)
        send_pack_second(0, t);
    send_pack_second(0, 5800);
    rig_advance(&rig, 15800);
    /* 500, 1500, ..., 15500: 16 frames, none safe, none early */
    assert_int_equal(count_sent(&rig, BL_GW_INVERTER, 0x351), 16);
    for (unsigned i = 0; i < rig.nsent; i++)
        assert_false(rig.sent[i].safe || rig.sent[i].early);
    before = rig.nsent;
    rig_advance(&rig, 15801);
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_true(rig.nsent > before);
    assert_int_equal(s->t_ms, 15801);
    assert_true(s->early);
    assert_true(s->safe);
    assert_int_equal(s->f.data[2] | s->f.data[3] | s->f.data[4] | s->f.data[5], 0); /* CCL, DCL 0 A */
    assert_true(s->substituted & BL_BIT(BL_F_CCL));
    assert_int_equal(last_sent(&rig, BL_GW_INVERTER, 0x35A)->f.data[0] & 3u, 1u); /* general alarm raised */
    assert_true(has_event(&rig, BL_GW_EV_PACK_LOST, 0));
    assert_true(has_event(&rig, BL_GW_EV_SAFE_ENTER, 0));
    /* the period goes on through the silence, in the safe state */
    rig_advance(&rig, 30500);
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_int_equal(s->t_ms, 30500);
    assert_true(s->safe);
    /* the pack comes back: limits again */
    send_pack_second(0, 31000);
    assert_true(has_event(&rig, BL_GW_EV_SAFE_LEAVE, 0));
    rig_advance(&rig, 31500);
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_int_equal(s->t_ms, 31500);
    assert_bytes(&s->f, "1402740E740ECC01");
    /* the general alarm the safe state raised (0x35A bits 0-1 = 01) is cleared (10) once the
     * pack is back, not left as "no information" (00), which would keep the SI in its fault */
    s = last_sent(&rig, BL_GW_INVERTER, 0x35A);
    assert_int_equal(s->t_ms, 31500);
    assert_int_equal(s->f.data[0] & 3u, 2u);
}

/* A source known to be gone (bl_gw_pack_gone: the bridge's adapter unplugged at 1 000 ms) is
 * dropped at once, not at the end of Pylon LV's 10 s timeout: one pack left of two gets 1 x
 * 370 A; the last one gone is the safe state at the same millisecond; a pack that comes back
 * starts from nothing (what it said before the loss is not used). */
static void test_a_gone_source_is_dropped_at_once(void **state)
{
    bl_gw_cfg_t cfg;
    const gw_sent_t *s;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    rig_start(&rig, &cfg, "pylon-lv", 2, 0);
    send_pack_second(0, 1000);
    send_pack_second(1, 1000);
    assert_bytes(&last_sent(&rig, BL_GW_INVERTER, 0x351)->f, "1402E81CE81CCC01");
    assert_int_equal(bl_gw_pack_gone(&rig.gw, 1), 0);
    assert_int_equal(bl_gw_pack_gone(&rig.gw, 2), BL_EINVAL);
    rig.next = bl_gw_step(&rig.gw, 1050); /* the bridge steps as soon as it has said it */
    rig_advance(&rig, 1200);
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_int_equal(s->t_ms, 1200); /* early: a fifth of the period after 1 000 */
    assert_bytes(&s->f, "1402740E740ECC01");
    assert_true(has_event(&rig, BL_GW_EV_PACK_LOST, 1));
    assert_int_equal(bl_gw_pack_gone(&rig.gw, 0), 0);
    rig.next = bl_gw_step(&rig.gw, 1250);
    rig_advance(&rig, 1400);
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_int_equal(s->t_ms, 1400);
    assert_true(s->safe);
    assert_int_equal(s->f.data[2] | s->f.data[3] | s->f.data[4] | s->f.data[5], 0);
    assert_true(has_event(&rig, BL_GW_EV_SAFE_ENTER, 0));
    /* one frame of pack 0 after its return is not a whole record: still safe */
    assert_int_equal(rig_rx(&rig, 0, 0x35E, 0, "50594C4F4E202020", 1500), 0);
    rig_advance(&rig, 2300); /* and the periodic frame at 2 000 ms */
    assert_true(last_sent(&rig, BL_GW_INVERTER, 0x351)->safe);
}

/* A shrinking limit does not wait for the period: CCL 370 A -> 0 A at 1 300 ms leaves at 1 300 ms */
static void test_a_shrinking_limit_leaves_early(void **state)
{
    bl_gw_cfg_t cfg;
    const gw_sent_t *s;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    rig_start(&rig, &cfg, "pylon-lv", 1, 0);
    send_pack_second(0, 1000);
    assert_int_equal(rig_rx(&rig, 0, 0x351, 0, "14020000740ECC01", 1300), 0);
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_int_equal(s->t_ms, 1300);
    assert_true(s->early);
    assert_bytes(&s->f, "14020000740ECC01");
    /* a growing one waits for the period */
    assert_int_equal(rig_rx(&rig, 0, 0x351, 0, "1402740E740ECC01", 1600), 0);
    assert_int_equal(last_sent(&rig, BL_GW_INVERTER, 0x351)->t_ms, 1300);
    rig_advance(&rig, 2000);
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_int_equal(s->t_ms, 2000);
    assert_false(s->early);
    assert_bytes(&s->f, "1402740E740ECC01");
    /* --no-early keeps strictly to the periods */
    cfg.no_early = true;
    rig_start(&rig, &cfg, "pylon-lv", 1, 0);
    send_pack_second(0, 1000);
    assert_int_equal(rig_rx(&rig, 0, 0x351, 0, "14020000740ECC01", 1300), 0);
    assert_int_equal(last_sent(&rig, BL_GW_INVERTER, 0x351)->t_ms, 1000);
}

/* A value that failed decoding never reaches the inverter: PLV-09 carries 128.4 C (range
 * -50..100 C), so its 49.42 V is not stored; a 1-byte 0x351 (DLC below 2) is rejected */
static void test_a_frame_that_failed_decoding_is_never_forwarded(void **state)
{
    bl_gw_cfg_t cfg;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    rig_start(&rig, &cfg, "pylon-lv", 1, 0);
    assert_int_equal(rig_rx(&rig, 0, 0x356, 0, "4E1302030405", 100), BL_EBADMSG);
    assert_false(rig.packs[0].rec.f[BL_F_VOLTAGE].valid);
    assert_int_equal(rig.packs[0].rx_rejected[BL_REJ_RANGE], 1);
    assert_true(has_event(&rig, BL_GW_EV_REJECT, 0));
    assert_int_equal(rig_rx(&rig, 0, 0x351, 0, "14", 200), BL_EBADMSG);
    assert_int_equal(rig.packs[0].rx_rejected[BL_REJ_LENGTH], 1);
    assert_false(rig.packs[0].rec.f[BL_F_CVL].valid);
    assert_int_equal(rig.packs[0].heard_ms, BL_NEVER); /* rejects do not keep a pack alive */
}

/* Until every pack is in use (or hold_ms passed) the output says nothing, then the safe state */
static void test_the_output_waits_for_the_packs_then_fails_safe(void **state)
{
    bl_gw_cfg_t cfg;
    const gw_sent_t *s;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    rig_start(&rig, &cfg, "pylon-lv", 1, 0);
    rig_advance(&rig, 2999);
    assert_int_equal(rig.nsent, 0);
    rig_advance(&rig, 3000);
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_non_null(s);
    assert_int_equal(s->t_ms, 3000);
    assert_true(s->safe);
}

/* The output begins once every pack has sent a whole cycle: no first frame with blanks */
static void test_the_output_begins_after_a_whole_cycle(void **state)
{
    bl_gw_cfg_t cfg;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    rig_start(&rig, &cfg, "pylon-lv", 1, 0);
    assert_int_equal(rig_rx(&rig, 0, 0x351, 0, "1402740E740ECC01", 1000), 0);
    assert_int_equal(rig_rx(&rig, 0, 0x355, 0, "1A006400", 1001), 0);
    assert_int_equal(rig_rx(&rig, 0, 0x356, 0, "5A146301FA00", 1002), 0);
    assert_int_equal(rig.nsent, 0);
    assert_true(rig.gw.holding);
    assert_int_equal(rig_rx(&rig, 0, 0x359, 0, "000000000A504E", 1003), 0);
    assert_int_equal(rig_rx(&rig, 0, 0x35C, 0, "C000", 1004), 0);
    assert_int_equal(rig_rx(&rig, 0, 0x35E, 0, "50594C4F4E202020", 1005), 0);
    assert_false(rig.gw.holding);
    assert_bytes(&last_sent(&rig, BL_GW_INVERTER, 0x35E)->f, "50594C4F4E202020");
    assert_int_equal(last_sent(&rig, BL_GW_INVERTER, 0x351)->t_ms, 1005);
}

/* A nominal capacity from the site limits fills in where no pack reports one (the SI's 0x35F
 * bytes 4-5: 200 Ah = 0x00C8), and is said to be derived */
static void test_the_site_capacity_fills_in(void **state)
{
    bl_gw_cfg_t cfg;
    const gw_sent_t *s;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    cfg.site.capacity_mAh = 200000;
    rig_start(&rig, &cfg, "pylon-lv", 1, 0);
    send_pack_second(0, 1000);
    s = last_sent(&rig, BL_GW_INVERTER, 0x35F);
    assert_non_null(s);
    assert_int_equal(s->f.data[4], 0xC8);
    assert_int_equal(s->f.data[5], 0x00);
    assert_true(rig.gw.rep.derived & BL_BIT(BL_F_CAPACITY));
}

/* Pylon HV out: the PCS's 0x4200 byte 0 = 0x00 gets the burst 0x4210..0x4290, 0x02 gets 0x7310..0x7340 */
static void test_polls_are_answered_by_the_trigger_rows(void **state)
{
    static const uint32_t burst[] = { 0x4210, 0x4220, 0x4230, 0x4240, 0x4250, 0x4260, 0x4270, 0x4280, 0x4290 };
    bl_gw_cfg_t cfg;
    unsigned first;
    (void)state;
    rig_cfg(&rig, &cfg, "pylon-hv");
    rig_start(&rig, &cfg, "pylon-lv", 1, 0);
    assert_int_equal(rig_rx(&rig, BL_GW_INVERTER, 0x4200, 1, "0000000000000000", 500), 0);
    assert_int_equal(rig.nsent, 0); /* no pack yet: nothing to say */
    send_pack_second(0, 1000);
    assert_int_equal(rig.nsent, 0); /* the PCS speaks first: nothing unasked */
    first = rig.nsent;
    assert_int_equal(rig_rx(&rig, BL_GW_INVERTER, 0x4200, 1, "0000000000000000", 1100), 0);
    assert_int_equal(rig.nsent - first, BL_ARRAY_LEN(burst));
    for (unsigned i = 0; i < BL_ARRAY_LEN(burst); i++) {
        assert_int_equal(rig.sent[first + i].f.id, burst[i]);
        assert_true(rig.sent[first + i].answer);
        assert_int_equal(rig.sent[first + i].t_ms, 1100);
    }
    first = rig.nsent;
    assert_int_equal(rig_rx(&rig, BL_GW_INVERTER, 0x4200, 1, "0200000000000000", 1200), 0);
    assert_int_equal(rig.nsent - first, 4);
    assert_int_equal(rig.sent[first].f.id, 0x7310);
    assert_int_equal(rig.sent[first + 3].f.id, 0x7340);
}

/* A Pylon HV pack waits for its PCS: the gateway plays it (0x4200 00 and 02 every second) */
static void test_packs_that_wait_for_their_inverter_are_polled(void **state)
{
    bl_gw_cfg_t cfg;
    unsigned n00 = 0, n02 = 0;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    cfg.poll_packs = true;
    rig_start(&rig, &cfg, "pylon-hv", 1, 0);
    rig_advance(&rig, 2000);
    for (unsigned i = 0; i < rig.nsent; i++) {
        if (rig.sent[i].port != 0 || rig.sent[i].f.id != 0x4200)
            continue;
        assert_true(rig.sent[i].f.flags & BL_CAN_EXT);
        n00 += rig.sent[i].f.data[0] == 0x00;
        n02 += rig.sent[i].f.data[0] == 0x02;
    }
    assert_int_equal(n00, 3); /* 0, 1000, 2000 ms */
    assert_int_equal(n02, 3);
}

/* A SolaX pack opens its contactor without the inverter's command: once it answers, the
 * gateway closes it (SLX-01: 02 00 01 00 01), once per detection */
static void test_a_solax_pack_gets_its_contactor_closed_once(void **state)
{
    bl_gw_cfg_t cfg;
    unsigned closes = 0, polls = 0;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    cfg.poll_packs = true;
    rig_start(&rig, &cfg, "solax", 1, 0);
    rig_advance(&rig, 50);
    assert_int_equal(rig_rx(&rig, 0, 0x1872, 1, "500F100E2C015E01", 100), 0);
    rig_advance(&rig, 3000);
    for (unsigned i = 0; i < rig.nsent; i++) {
        const bl_can_frame_t *f = &rig.sent[i].f;
        if (rig.sent[i].port != 0 || f->id != 0x1871)
            continue;
        polls += f->data[0] == 0x01;
        if (f->data[0] == 0x02) {
            closes++;
            assert_int_equal(rig.sent[i].t_ms, 100);
            assert_int_equal(f->data[4], 0x01);
        }
    }
    assert_int_equal(closes, 1);
    assert_true(polls >= 3);
}

/* 16 packs of 370 A are 5 920 A; SMA SI's 0x351 carries at most 3 276.7 A: sent at that, said */
static void test_a_limit_beyond_the_wire_is_sent_at_its_maximum(void **state)
{
    bl_gw_cfg_t cfg;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    rig_start(&rig, &cfg, "pylon-lv", 16, 0);
    for (unsigned k = 0; k < 16; k++)
        pack_limits(&rig, k, 53200, 370000, 370000, 46000, 0);
    rig.next = bl_gw_step(&rig.gw, 0);
    assert_int_equal(rig.gw.agg.f[BL_F_CCL].value, 3276700);
    assert_true(rig.gw.rep.clamped[BL_GW_CLAMP_WIRE] & BL_BIT(BL_F_CCL));
    assert_int_equal(rig.gw.rep.before_clamp[BL_F_CCL], 5920000);
    assert_true(has_event(&rig, BL_GW_EV_CLAMP, BL_F_CCL));
}

/* Bad configuration is refused with BL_EINVAL */
static void test_bad_configuration_is_refused(void **state)
{
    bl_gw_cfg_t cfg;
    (void)state;
    rig_cfg(&rig, &cfg, "sma-si");
    packs_init("pylon-lv", 1);
    assert_int_equal(bl_gw_init(&rig.gw, &cfg, rig.packs, 0, 0), BL_EINVAL);
    assert_int_equal(bl_gw_init(&rig.gw, &cfg, rig.packs, BL_GW_MAX_PACKS + 1, 0), BL_EINVAL);
    cfg.site.ccl_mA = -1;
    assert_int_equal(bl_gw_init(&rig.gw, &cfg, rig.packs, 1, 0), BL_EINVAL);
    cfg.site.ccl_mA = 0;
    cfg.policy = BL_GW_POLICY_COUNT;
    assert_int_equal(bl_gw_init(&rig.gw, &cfg, rig.packs, 1, 0), BL_EINVAL);
    cfg.policy = 0;
    cfg.tx = NULL;
    assert_int_equal(bl_gw_init(&rig.gw, &cfg, rig.packs, 1, 0), BL_EINVAL);
    assert_int_equal(bl_gw_pack_init(&rig.packs[0], NULL, 0), BL_EINVAL);
    assert_int_equal(bl_gw_rx(&rig.gw, 3, &(bl_can_frame_t){ 0 }, 0), BL_EINVAL);
    assert_int_equal(bl_gw_policy_by_name("sum"), BL_GW_SUM);
    assert_int_equal(bl_gw_policy_by_name("all"), BL_GW_POLICY_COUNT);
    assert_string_equal(bl_gw_link_str(BL_GW_LINK_TIMEOUT), "timeout");
    assert_string_equal(bl_gw_ev_str(BL_GW_EV_SAFE_ENTER), "safe_enter");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_and_capacity_sum),
        cmocka_unit_test(test_soc_is_weighted_by_capacity),
        cmocka_unit_test(test_soc_without_capacity_is_flagged),
        cmocka_unit_test(test_conservative_is_n_times_the_smallest_limit),
        cmocka_unit_test(test_no_pack_gets_more_than_its_share_allows),
        cmocka_unit_test(test_cvl_is_the_min_and_dvl_the_max),
        cmocka_unit_test(test_voltage_disagreement_is_flagged),
        cmocka_unit_test(test_a_stale_pack_is_dropped_and_the_limits_shrink),
        cmocka_unit_test(test_no_fresh_pack_means_the_safe_state),
        cmocka_unit_test(test_a_limit_older_than_the_timeout_is_never_used),
        cmocka_unit_test(test_stale_option_overrides_the_timeout),
        cmocka_unit_test(test_site_limits_clamp_and_say_so),
        cmocka_unit_test(test_a_pack_in_protection_stops_its_direction_for_the_bank),
        cmocka_unit_test(test_protections_fold_into_alarms_when_the_output_has_none),
        cmocka_unit_test(test_enables_and_requests),
        cmocka_unit_test(test_enables_derive_from_the_limits_when_no_pack_sends_them),
        cmocka_unit_test(test_one_pack_passes_through),
        cmocka_unit_test(test_two_packs_add_up),
        cmocka_unit_test(test_a_gone_source_is_dropped_at_once),
        cmocka_unit_test(test_the_output_keeps_its_period_and_fails_safe),
        cmocka_unit_test(test_a_shrinking_limit_leaves_early),
        cmocka_unit_test(test_a_frame_that_failed_decoding_is_never_forwarded),
        cmocka_unit_test(test_the_output_waits_for_the_packs_then_fails_safe),
        cmocka_unit_test(test_the_output_begins_after_a_whole_cycle),
        cmocka_unit_test(test_the_site_capacity_fills_in),
        cmocka_unit_test(test_polls_are_answered_by_the_trigger_rows),
        cmocka_unit_test(test_packs_that_wait_for_their_inverter_are_polled),
        cmocka_unit_test(test_a_solax_pack_gets_its_contactor_closed_once),
        cmocka_unit_test(test_a_limit_beyond_the_wire_is_sent_at_its_maximum),
        cmocka_unit_test(test_bad_configuration_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
