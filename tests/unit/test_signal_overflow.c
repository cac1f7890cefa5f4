/*
 * A 64-bit raw field (Pylon LV 0x305 "KeepAlive", 8 bytes that real inverters
 * send as zeros but others fill) times its scale does not fit int64: it must
 * saturate, never wrap (the sign would flip) and never be undefined behaviour
 * (the sanitizer build aborts on it). Found by cangen's random frames in the
 * SocketCAN conformance run under UBSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/protocol.h"

static void test_huge_raw_saturates_with_its_sign(void **state)
{
    bl_signal_t s;
    (void)state;
    memset(&s, 0, sizeof s);
    s.mul = 1000;
    s.div = 1;
    s.len = 64;
    s.kind = BL_SK_NUM;
    assert_true(bl_sig_to_milli(&s, INT64_MAX) > INT64_MAX / 8);
    assert_true(bl_sig_to_milli(&s, INT64_MIN + 1) < -(INT64_MAX / 8));
    assert_true(bl_sig_to_milli(&s, (int64_t)1 << 40) > 0);
    /* below 2^31 nothing changes: 12345 raw at 1000 milli per unit */
    assert_int_equal(bl_sig_to_milli(&s, 12345), 12345000);
    s.mul = -1000; /* a negative scale flips the sign, still without wrapping */
    assert_true(bl_sig_to_milli(&s, INT64_MAX) < 0);
    assert_true(bl_sig_to_milli(&s, INT64_MIN + 1) > 0);
    s.flags = BL_SF_ABS; /* a magnitude stays a magnitude */
    assert_true(bl_sig_to_milli(&s, INT64_MAX) > 0);
    s.flags = 0;
    s.mul = 0; /* a constant row: no scale, no division */
    assert_int_equal(bl_sig_to_milli(&s, INT64_MAX), 0);
}

static void test_pylon_keepalive_with_any_bytes_decodes_safely(void **state)
{
    static const uint8_t patterns[][8] = {
        { 0x55, 0x2D, 0x1A, 0x83, 0x4F, 0x7D, 0x70, 0x70 },
        { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F },
        { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80 },
        { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF },
    };
    bl_can_codec_t c;
    bl_record_t r;
    (void)state;
    assert_int_equal(bl_can_codec_init(&c, bl_protocol_find("pylon-lv")), 0);
    bl_record_init(&r);
    for (size_t i = 0; i < BL_ARRAY_LEN(patterns); i++) {
        bl_can_frame_t f = { .id = 0x305, .len = 8 };
        bl_decoded_t d;
        memcpy(f.data, patterns[i], 8);
        (void)bl_can_decode(&c, &f, 1000, &r, &d); /* accepted or rejected, but defined */
        assert_non_null(d.msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_raw_saturates_with_its_sign),
        cmocka_unit_test(test_pylon_keepalive_with_any_bytes_decodes_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
