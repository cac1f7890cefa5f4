/*
 * Clash reports at their edges (detect.h, docs/design.md "detect"): with one candidate there
 * is nothing to clash with; error frames are not readings; a short list keeps the rivals that
 * fit about as well (the ambiguous ones) before the others, and counts each (rival, id) once
 * with its frames. 0x351 1402C012C012C201 is Pylon LV charge/discharge limits and Afore SOC
 * (can-pylon-lv.md, can-others.md): the same bytes, two readings.
 */
#include "cantest.h"

#include "bmslink/detect.h"

static bl_cap_frame_t frames[4];

static size_t three_351_and_an_error_frame(void)
{
    memset(frames, 0, sizeof frames);
    frames[0].f = vec(0x351, 0, "1402C012C012C201");
    frames[1].f = frames[0].f;
    frames[2].f.flags = BL_CAN_ERR; /* error frame with id 0x351's bits: not a reading */
    frames[2].f.id = 0x351;
    frames[2].f.len = 8;
    frames[3].f = frames[0].f;
    return 4;
}

static void test_one_candidate_has_no_rival(void **state)
{
    bl_detect_score_t sc[8];
    bl_detect_clash_t cl[8];
    size_t n = three_351_and_an_error_frame(), ns;
    (void)state;
    ns = bl_detect_can(frames, n, sc, BL_ARRAY_LEN(sc));
    assert_true(ns >= 2);
    assert_int_equal(bl_detect_clashes(frames, n, sc, 1, cl, BL_ARRAY_LEN(cl)), 0);
    assert_int_equal(bl_detect_clashes(frames, n, sc, 0, cl, BL_ARRAY_LEN(cl)), 0);
}

/* Three data frames clash, the error frame does not: frames = 3 for every rival */
static void test_error_frames_are_not_clashes(void **state)
{
    bl_detect_score_t sc[8];
    bl_detect_clash_t cl[8];
    size_t n = three_351_and_an_error_frame(), ns, nc;
    bool afore = false;
    (void)state;
    ns = bl_detect_can(frames, n, sc, BL_ARRAY_LEN(sc));
    nc = bl_detect_clashes(frames, n, sc, ns, cl, BL_ARRAY_LEN(cl));
    assert_true(nc >= 1);
    for (size_t i = 0; i < nc; i++) {
        assert_int_equal(cl[i].id, 0x351);
        assert_int_equal(cl[i].ext, 0);
        assert_int_equal(cl[i].frames, 3);
        afore |= strcmp(cl[i].b->name, "afore") == 0;
    }
    assert_true(afore);
}

/* Room for one clash: it is an ambiguous rival's, and the list does not overflow */
static void test_a_short_list_keeps_the_ambiguous_rivals(void **state)
{
    bl_detect_score_t sc[8];
    bl_detect_clash_t cl[2];
    size_t n = three_351_and_an_error_frame(), ns;
    (void)state;
    ns = bl_detect_can(frames, n, sc, BL_ARRAY_LEN(sc));
    memset(cl, 0, sizeof cl);
    assert_int_equal(bl_detect_clashes(frames, n, sc, ns, cl, 1), 1);
    assert_true(cl[0].ambiguous);
    assert_ptr_equal(cl[0].a, sc[0].p);
    assert_null(cl[1].a); /* untouched */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_candidate_has_no_rival),
        cmocka_unit_test(test_error_frames_are_not_clashes),
        cmocka_unit_test(test_a_short_list_keeps_the_ambiguous_rivals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
