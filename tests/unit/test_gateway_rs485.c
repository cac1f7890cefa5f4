/*
 * The gateway with a byte protocol on either side: a Pylontech RS485 pack polled by the
 * gateway into an SMA SI on CAN (RS485 -> CAN), and Pylon LV CAN packs answered to an
 * inverter that polls Pylontech RS485 (CAN -> RS485). Frames are the fact-sheet vectors
 * (../shared/protocols/vectors/rs485/pylontech.csv); checksums worked out by hand
 * ((~sum of the ASCII characters + 1) & 0xFFFF, rs485-pylontech.md).
 */
#include "gwtest.h"

static gw_rig_t rig;
static bl_gw_rsbuf_t rsbuf[2];

static void push(unsigned port, const char *ascii, uint64_t t)
{
    char line[300];
    size_t n = strlen(ascii);
    rig_advance(&rig, t > 0 ? t - 1 : 0);
    memcpy(line, ascii, n);
    line[n++] = '\r';
    assert_true(bl_gw_rx_bytes(&rig.gw, port, (const uint8_t *)line, n, t) >= 0);
    rig.next = bl_gw_step(&rig.gw, t);
}

/* the request sent to port at t, as text without its CR; NULL when none */
static const char *request_at(unsigned port, uint64_t t)
{
    static char s[260];
    for (unsigned i = 0; i < rig.nbytes; i++)
        if (rig.bytes[i].port == port && rig.bytes[i].t_ms == t) {
            memcpy(s, rig.bytes[i].d, rig.bytes[i].n);
            s[rig.bytes[i].n && rig.bytes[i].d[rig.bytes[i].n - 1] == '\r' ? rig.bytes[i].n - 1 : rig.bytes[i].n] = 0;
            return s;
        }
    return NULL;
}

static void start_rs_pack(const char *out, uint64_t t0)
{
    bl_gw_cfg_t cfg;
    rig_cfg(&rig, &cfg, out);
    cfg.poll_packs = true;
    assert_int_equal(bl_gw_pack_init_rs(&rig.packs[0], bl_protocol_find("pylon-rs485"), 0, -1, &rsbuf[0]), 0);
    assert_int_equal(bl_gw_init(&rig.gw, &cfg, rig.packs, 1, t0), 0);
    rig.nsent = rig.nbytes = rig.nev = 0;
    rig.next = t0;
}

/* The gateway polls as a Pylontech host: identity once (0x51: PYL-15 exactly), then 0x42 (PYL-01),
 * 0x44 (PYL-13), 0x92 (PYL-12), one at a time, 500 ms for each answer, 100 ms between. */
static void test_a_pylontech_rs485_pack_is_polled_as_its_inverter_would(void **state)
{
    (void)state;
    start_rs_pack("sma-si", 0);
    rig_advance(&rig, 0);
    assert_string_equal(request_at(0, 0), "~200246510000FDAC");
    rig_advance(&rig, 1199);
    assert_non_null(request_at(0, 600)); /* 0x96 after the 0x51 timed out (500 + 100 ms) */
    rig_advance(&rig, 1200);
    assert_string_equal(request_at(0, 1200), "~20024642E00202FD33");
    push(0, "~20024600D05E1002080D020D020D020D030D000D010D010D03050B7D0B690B690B690B73FFFA680EFFFF04FFFF00000174E401"
            "B198E906", 1210);
    assert_int_equal(rig.packs[0].rec.f[BL_F_VOLTAGE].value, 26638); /* PYL-04: 26.638 V, -0.6 A */
    assert_int_equal(rig.packs[0].rec.f[BL_F_CURRENT].value, -600);
    rig_advance(&rig, 1310);
    assert_string_equal(request_at(0, 1310), "~20024644E00202FD31");
    rig_advance(&rig, 1910); /* 0x44 unanswered: timeout at 1810, 0x92 at 1910 */
    assert_string_equal(request_at(0, 1910), "~20024692E00202FD2E");
    assert_int_equal(rig.packs[0].rs.timeouts, 3);
    assert_true(has_event(&rig, BL_GW_EV_REJECT_RS, 0));
}

/* RS485 -> CAN: PYL-05 limits (28.4 V, 55.5 A, 55.5 A, 23.2 V) reach the SMA SI's 0x351 as
 * 0x011C 0x022B 0x022B 0x00E8; nothing goes out before the pack's first poll period is over */
static void test_rs485_pack_to_can_inverter(void **state)
{
    const gw_sent_t *s;
    (void)state;
    start_rs_pack("sma-si", 0);
    rig_advance(&rig, 1200);
    push(0, "~20024600D05E1002080D020D020D020D030D000D010D010D03050B7D0B690B690B690B73FFFA680EFFFF04FFFF00000174E401"
            "B198E906", 1210);
    rig_advance(&rig, 1910);
    push(0, "~20024600B014026EF05AA0022BFDD5C0F915", 1920);
    assert_int_equal(count_sent(&rig, BL_GW_INVERTER, 0x351), 0);
    assert_true(bl_gw_pack_usable(&rig.packs[0], 1920, NULL));
    rig_advance(&rig, 2210); /* a poll period after the first reply */
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_non_null(s);
    assert_int_equal(s->t_ms, 2210);
    assert_bytes(&s->f, "1C012B022B02E800");
    /* the pack stops answering: 10 s after the 0x92 reply its limits are gone, 0 A */
    rig_advance(&rig, 11920);
    assert_false(last_sent(&rig, BL_GW_INVERTER, 0x351)->safe);
    rig_advance(&rig, 11921);
    s = last_sent(&rig, BL_GW_INVERTER, 0x351);
    assert_int_equal(s->t_ms, 11921);
    assert_true(s->safe);
    assert_int_equal(s->f.data[2] | s->f.data[3] | s->f.data[4] | s->f.data[5], 0);
}

/* A reply with a bad checksum (PYL-02 as printed in the spec: E1A2, the sum gives E27A) is
 * rejected and stores nothing */
static void test_a_bad_rs485_reply_is_never_used(void **state)
{
    (void)state;
    start_rs_pack("sma-si", 0);
    rig_advance(&rig, 1200);
    push(0, "~20024600F07A11020F0D450D440D450D440D450D440D3E0D450D4A0D4A0D4B0D4A0D4A0D4A0D4A050BC30BC30BC30BCD0BCD"
            "0000C725FFFF04FFFF000200CA58012110E1A2", 1210);
    assert_false(rig.packs[0].rec.f[BL_F_VOLTAGE].valid);
    assert_int_equal(rig.packs[0].rs.rejected[BL_RSR_CHECKSUM], 1);
    assert_int_equal(rig.packs[0].heard_ms, BL_NEVER);
}

/* CAN -> RS485: two Pylon LV packs (PLV-14 each: 53.2 V, 370 A, 370 A, 46 V) answered to a
 * Pylontech RS485 host's 0x92 (PYL-12): INFO 02 CFD0 B3B0 1CE8 E318 C0 = 53.2 V, 46.0 V, 740 A,
 * -740 A, charge and discharge enabled; checksum F910 */
static void test_can_packs_to_an_rs485_inverter(void **state)
{
    bl_gw_cfg_t cfg;
    unsigned before;
    (void)state;
    rig_cfg(&rig, &cfg, "pylon-rs485");
    cfg.out_buf = &rsbuf[1];
    rig_start(&rig, &cfg, "pylon-lv", 2, 0);
    for (unsigned k = 0; k < 2; k++) {
        assert_int_equal(rig_rx(&rig, k, 0x351, 0, "1402740E740ECC01", 1000), 0);
        assert_int_equal(rig_rx(&rig, k, 0x355, 0, "1A006400", 1000), 0);
        assert_int_equal(rig_rx(&rig, k, 0x356, 0, "5A146301FA00", 1000), 0);
        assert_int_equal(rig_rx(&rig, k, 0x359, 0, "000000000A504E", 1000), 0);
        assert_int_equal(rig_rx(&rig, k, 0x35C, 0, "C000", 1000), 0);
        assert_int_equal(rig_rx(&rig, k, 0x35E, 0, "50594C4F4E202020", 1000), 0);
    }
    before = rig.nbytes;
    push(BL_GW_INVERTER, "~20024692E00202FD2E", 1100);
    assert_int_equal(rig.nbytes, before + 1);
    assert_true(rig.bytes[before].answer);
    assert_false(rig.bytes[before].safe);
    assert_string_equal(request_at(BL_GW_INVERTER, 1100), "~20024600B01402CFD0B3B01CE8E318C0F910");
    /* stale packs: the same question gets the safe state (0 A, enables cleared) */
    before = rig.nbytes;
    push(BL_GW_INVERTER, "~20024692E00202FD2E", 11200);
    assert_int_equal(rig.nbytes, before + 1);
    assert_true(rig.bytes[before].safe);
}

/* A byte-protocol port takes bytes, not frames, and the other way round */
static void test_ports_take_their_own_kind(void **state)
{
    bl_can_frame_t f = vec(0x351, 0, "1402740E740ECC01");
    (void)state;
    start_rs_pack("sma-si", 0);
    assert_int_equal(bl_gw_rx(&rig.gw, 0, &f, 10), BL_EINVAL);
    assert_int_equal(bl_gw_rx_bytes(&rig.gw, BL_GW_INVERTER, (const uint8_t *)"~", 1, 10), BL_EINVAL);
    assert_int_equal(bl_gw_pack_init_rs(&rig.packs[1], bl_protocol_find("pylon-lv"), 0, -1, &rsbuf[1]), BL_EINVAL);
    assert_int_equal(bl_gw_pack_init_rs(&rig.packs[1], bl_protocol_find("pylon-rs485"), 0, 1, &rsbuf[1]), BL_EINVAL);
    assert_int_equal(bl_gw_pack_init_rs(&rig.packs[1], bl_protocol_find("seplos-v3"), 0, -1, &rsbuf[1]), BL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_pylontech_rs485_pack_is_polled_as_its_inverter_would),
        cmocka_unit_test(test_rs485_pack_to_can_inverter),
        cmocka_unit_test(test_a_bad_rs485_reply_is_never_used),
        cmocka_unit_test(test_can_packs_to_an_rs485_inverter),
        cmocka_unit_test(test_ports_take_their_own_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
