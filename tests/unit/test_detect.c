/*
 * Detection: traffic of every protocol family (both sides, as its tables send it) is
 * recognized as that family; same id with a different meaning is reported as a clash
 * (0x351: limits in Pylon LV, SOC in Afore; 0x305: keep-alive, SI measurements, brand).
 */
#include "cantest.h"

#include "bmslink/detect.h"

#define MAXF 600

static bl_cap_frame_t frames[MAXF];

static void make_record(bl_record_t *r)
{
    bl_record_init(r);
    bl_record_set(r, BL_F_SOC, 55550, 2, 0);
    bl_record_set(r, BL_F_SOH, 98000, 0, 0);
    bl_record_set(r, BL_F_VOLTAGE, 51234, 3, 0);
    bl_record_set(r, BL_F_CURRENT, -12340, 2, 0);
    bl_record_set(r, BL_F_TEMP, 24500, 1, 0);
    bl_record_set(r, BL_F_TEMP_MIN, 21200, 1, 0);
    bl_record_set(r, BL_F_TEMP_MAX, 26800, 1, 0);
    bl_record_set(r, BL_F_CELL_V_MIN, 3201, 3, 0);
    bl_record_set(r, BL_F_CELL_V_MAX, 3345, 3, 0);
    bl_record_set(r, BL_F_CVL, 56000, 1, 0);
    bl_record_set(r, BL_F_CCL, 100000, 1, 0);
    bl_record_set(r, BL_F_DCL, 120000, 1, 0);
    bl_record_set(r, BL_F_DVL, 44000, 1, 0);
    bl_record_set(r, BL_F_CHARGE_ENABLE, 1, 0, 0);
    bl_record_set(r, BL_F_DISCHARGE_ENABLE, 1, 0, 0);
    bl_record_set(r, BL_F_MODULE_COUNT, 4, 0, 0);
    bl_record_set(r, BL_F_CAPACITY, 280000, 0, 0);
    bl_record_set_str(r, BL_F_MANUFACTURER, "ACME", 4, 0);
}

/* Three rounds of everything both sides of p send. */
static size_t traffic_of(const bl_protocol_t *p)
{
    bl_can_codec_t c;
    bl_record_t r;
    size_t n = 0;

    assert_int_equal(bl_can_codec_init(&c, p), 0);
    make_record(&r);
    for (unsigned round = 0; round < 3; round++)
        for (unsigned j = 0; j < c.n; j++) {
            const bl_message_t *m = c.msg[j];
            if (!c.sends[j])
                continue;
            for (unsigned mux = 0; mux < (m->nmux ? m->nmux : 1u) && n < MAXF; mux++) {
                memset(&frames[n], 0, sizeof frames[n]);
                assert_int_equal(bl_can_encode(&c, m, mux, &r, 0, 0, 0, &frames[n].f, NULL), 0);
                frames[n].ts_us = (uint64_t)(round * 1000000u + j * 1000u);
                frames[n].has_ts = 1;
                n++;
            }
        }
    return n;
}

static void test_every_family_is_recognized_from_its_own_traffic(void **state)
{
    size_t np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    unsigned families = 0;
    (void)state;

    for (size_t k = 0; k < np; k++) {
        bl_detect_score_t sc[8];
        size_t n, ns;
        if (all[k]->base != NULL || all[k]->bus != BL_BUS_CAN)
            continue; /* variants are told apart by the next test */
        n = traffic_of(all[k]);
        ns = bl_detect_can(frames, n, sc, BL_ARRAY_LEN(sc));
        assert_true(ns >= 1);
        if (sc[0].p != all[k]) {
            print_error("%s traffic detected as %s (%u vs %u frames decode)\n", all[k]->name, sc[0].p->name,
                        sc[0].decoded, ns > 1 ? sc[1].decoded : 0);
            fail();
        }
        assert_int_equal(sc[0].decoded, sc[0].frames);
        assert_true(sc[0].b2i > 0);
        families++;
    }
    print_message("%u families recognized from their own traffic\n", families);
    assert_true(families >= 14);
}

static size_t rank_of(const bl_detect_score_t *sc, size_t ns, const char *name)
{
    for (size_t i = 0; i < ns; i++)
        if (strcmp(sc[i].p->name, name) == 0)
            return i;
    return ns;
}

/* Variants: the frames their batteries send tell them apart (Pylon LV V1.2 sends 0x359/0x35C,
 * the newer firmware 0x35A/0x35F); encodings by the plausibility of what they decode */
static void test_variants_are_told_apart(void **state)
{
    static const char *const names[] = { "pylon-lv", "pylon-hv", "pylon-hv:le", "pylon-hv:be" };
    bl_detect_score_t sc[8];
    size_t n, ns;
    (void)state;
    for (size_t i = 0; i < BL_ARRAY_LEN(names); i++) {
        n = traffic_of(bl_protocol_find(names[i]));
        assert_true(bl_detect_can(frames, n, sc, BL_ARRAY_LEN(sc)) >= 1);
        if (strcmp(sc[0].p->name, names[i]) != 0) {
            print_error("%s traffic detected as %s\n", names[i], sc[0].p->name);
            fail();
        }
    }
    /* the newer Pylon firmware speaks the SMA core: its frames alone cannot tell it from
     * sma-si (decode reports that as ambiguous), but never from Pylon V1.2 */
    n = traffic_of(bl_protocol_find("pylon-lv:v13"));
    ns = bl_detect_can(frames, n, sc, BL_ARRAY_LEN(sc));
    assert_true(rank_of(sc, ns, "pylon-lv:v13") < rank_of(sc, ns, "pylon-lv"));
    assert_int_equal(sc[rank_of(sc, ns, "pylon-lv:v13")].decoded, n);
}

/* Two lone 0x351 frames (PLV-01 capture bytes): Pylon LV and Afore both decode them. The
 * choice falls on the better documented protocol and the clash is reported as ambiguous. */
static void test_0x351_alone_is_ambiguous(void **state)
{
    bl_detect_score_t sc[8];
    bl_detect_clash_t cl[8];
    size_t ns, nc;
    bool afore = false;
    (void)state;
    memset(frames, 0, 2 * sizeof frames[0]);
    frames[0].f = vec(0x351, 0, "1402C012C012C201");
    frames[1].f = frames[0].f;
    ns = bl_detect_can(frames, 2, sc, BL_ARRAY_LEN(sc));
    assert_true(ns >= 2);
    assert_string_equal(sc[0].p->name, "pylon-lv");
    nc = bl_detect_clashes(frames, 2, sc, ns, cl, BL_ARRAY_LEN(cl));
    for (size_t i = 0; i < nc; i++)
        if (strcmp(cl[i].b->name, "afore") == 0) {
            afore = true;
            assert_true(cl[i].ambiguous);
            assert_int_equal(cl[i].id, 0x351);
            assert_string_equal(cl[i].ma->name, "charge_discharge_limits");
            assert_string_equal(cl[i].mb->name, "soc_soh_flags_state");
            assert_int_equal(cl[i].frames, 2);
        }
    assert_true(afore);
    /* the SMA family reads 0x351 the same way: no clash with it */
    for (size_t i = 0; i < nc; i++)
        assert_true(strcmp(cl[i].b->name, "sma-si") != 0);
}

/* The VIC-* captures (BYD LVS <-> Venus OS) are Victron: its extras decide */
static void test_victron_capture(void **state)
{
    static const struct { uint32_t id; const char *hex; } cap[] = {
        { 0x305, "0000000000000000" }, { 0x306, "0000000000000000" }, { 0x351, "480200050005AE01" },
        { 0x355, "4300640000000000" }, { 0x356, "BE14F9FF8C000000" }, { 0x35A, "AAAAAAAAAAAAAAAA" },
        { 0x35B, "0000000000000000" }, { 0x35E, "4259440000000000" }, { 0x35F, "4C69011769000000" },
        { 0x360, "0000000000000000" }, { 0x372, "0200000000000000" }, { 0x374, "3200000000000000" },
        { 0x382, "5052454D49554D00" },
    };
    bl_detect_score_t sc[8];
    (void)state;
    memset(frames, 0, sizeof cap / sizeof cap[0] * sizeof frames[0]);
    for (size_t i = 0; i < BL_ARRAY_LEN(cap); i++)
        frames[i].f = vec(cap[i].id, 0, cap[i].hex);
    assert_true(bl_detect_can(frames, BL_ARRAY_LEN(cap), sc, BL_ARRAY_LEN(sc)) >= 1);
    assert_string_equal(sc[0].p->name, "victron");
    assert_int_equal(sc[0].decoded, BL_ARRAY_LEN(cap));
    assert_true(sc[0].i2b == 2 && sc[0].b2i == 11); /* both sides talking */
}

/* Nothing known: no score; error frames are not looked at */
static void test_unknown_traffic(void **state)
{
    bl_detect_score_t sc[8];
    (void)state;
    memset(frames, 0, 2 * sizeof frames[0]);
    frames[0].f = vec(0x7FF, 0, "00");
    frames[1].f = vec(0x1FFFFFFF, 1, "00");
    assert_int_equal(bl_detect_can(frames, 2, sc, BL_ARRAY_LEN(sc)), 0);
    frames[0].f.flags = BL_CAN_ERR;
    frames[0].f.id = 0x351;
    assert_int_equal(bl_detect_can(frames, 1, sc, BL_ARRAY_LEN(sc)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_family_is_recognized_from_its_own_traffic),
        cmocka_unit_test(test_variants_are_told_apart),
        cmocka_unit_test(test_0x351_alone_is_ambiguous),
        cmocka_unit_test(test_victron_capture),
        cmocka_unit_test(test_unknown_traffic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
