/*
 * Pylontech-style ASCII RS485 and its dialects against the vectors of
 * protocols/vectors/rs485/{pylontech,seplos-v2,pace-v25,eg4-daren}.csv and
 * the rules of rs485-pylontech.md. Each test names its vector; expected
 * values are worked out by hand from the hex in the comment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bmslink/rs485.h"

static uint8_t info[2048];
static bl_rs_decoded_t dec;
static bl_record_t packs[BL_RS_MAX_PACKS];

/* Parse a frame as the sheet prints it (without CR); assert it is well formed. */
static bl_pyl_frame_t frame(const char *text)
{
    bl_pyl_frame_t f;
    bl_rsr_t why;
    assert_int_equal(bl_pyl_parse((const uint8_t *)text, strlen(text), info, sizeof info, &f, &why, NULL, NULL), 0);
    return f;
}

/* INFO bytes of a frame whose checksum is wrong in print (decode-only vectors) */
static size_t info_of(const char *text)
{
    size_t n = strlen(text), k = 0;
    for (size_t i = 13; i + 4 < n; i += 2) {
        char b[3] = { text[i], text[i + 1], 0 };
        info[k++] = (uint8_t)strtoul(b, NULL, 16);
    }
    return k;
}

static int decode(const char *proto, unsigned cid2, size_t n, int group, bl_record_t *r)
{
    const bl_protocol_t *p = bl_protocol_find(proto);
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    assert_non_null(c);
    bl_record_init(r);
    return bl_rs_decode(c, bl_rs_msg(c, cid2), info, n, group, 1000, r, packs, BL_RS_MAX_PACKS, &dec);
}

/* §3 LCHKSUM table: LENID -> LENGTH's high nibble */
static void test_lchksum_is_the_inverted_nibble_sum_mod_16(void **state)
{
    (void)state;
    assert_int_equal(bl_pyl_lchksum(0), 0x0);
    assert_int_equal(bl_pyl_lchksum(2), 0xE);
    assert_int_equal(bl_pyl_lchksum(4), 0xC);
    assert_int_equal(bl_pyl_lchksum(0x012), 0xD);
    assert_int_equal(bl_pyl_lchksum(0x014), 0xB);
    assert_int_equal(bl_pyl_lchksum(0x04C), 0x0); /* nibble sum 16 wraps to 0, PACE-07 */
    assert_int_equal(bl_pyl_lchksum(0x07A), 0xF);
    assert_int_equal(bl_pyl_lchksum(0x0F0), 0x1);
    assert_int_equal(bl_pyl_lchksum(0x1DC), 0x6);
}

/* PYL-11: "1203400456ABCEFE" sums to 0x038F; two's complement 0xFC71 */
static void test_chksum_is_the_twos_complement_of_the_character_sum(void **state)
{
    (void)state;
    assert_int_equal(bl_pyl_chksum((const uint8_t *)"1203400456ABCEFE", 16), 0xFC71);
}

/* PYL-01 (V3.3 example): VER 20, ADR 02, CID1 46, CID2 42, LENGTH E002, INFO 02 */
static void test_request_header_fields(void **state)
{
    bl_pyl_frame_t f = frame("~20024642E00202FD33");
    (void)state;
    assert_int_equal(f.ver, 0x20);
    assert_int_equal(f.adr, 0x02);
    assert_int_equal(f.cid1, 0x46);
    assert_int_equal(f.cid2, 0x42);
    assert_int_equal(f.lenid, 2);
    assert_int_equal(f.info_len, 1);
    assert_int_equal(f.info[0], 0x02);
}

/* bmslink's own requests are byte-for-byte the published ones */
static void test_built_requests_equal_the_vectors(void **state)
{
    uint8_t out[64], adr = 0x02, ff = 0xFF;
    (void)state;
    assert_int_equal(bl_pyl_build(0x20, 0x02, 0x46, 0x42, &adr, 1, out, sizeof out), 20);
    assert_memory_equal(out, "~20024642E00202FD33\r", 20); /* PYL-01 */
    assert_int_equal(bl_pyl_build(0x20, 0x02, 0x46, 0x92, &adr, 1, out, sizeof out), 20);
    assert_memory_equal(out, "~20024692E00202FD2E\r", 20); /* PYL-12 */
    assert_int_equal(bl_pyl_build(0x20, 0x02, 0x46, 0x44, &adr, 1, out, sizeof out), 20);
    assert_memory_equal(out, "~20024644E00202FD31\r", 20); /* PYL-13 */
    assert_int_equal(bl_pyl_build(0x20, 0x02, 0x46, 0x4F, NULL, 0, out, sizeof out), 18);
    assert_memory_equal(out, "~2002464F0000FD98\r", 18); /* PYL-14 */
    assert_int_equal(bl_pyl_build(0x20, 0x02, 0x46, 0x42, &ff, 1, out, sizeof out), 20);
    assert_memory_equal(out, "~20024642E002FFFD09\r", 20); /* PYL-16 */
    assert_int_equal(bl_pyl_build(0x28, 0x02, 0x46, 0x42, &adr, 1, out, sizeof out), 20);
    assert_memory_equal(out, "~28024642E00202FD2B\r", 20); /* PYL-17, Voltronic VER */
    assert_int_equal(bl_pyl_build(0x20, 0x01, 0x4A, 0x42, NULL, 0, out, sizeof out), 18);
    assert_memory_equal(out, "~20014A420000FDA2\r", 18); /* EG4-01 */
    assert_int_equal(bl_pyl_build(0x20, 0x02, 0x46, 0x42, &adr, 1, out, 18), BL_ENOSPC);
}

/* PYL-06, a live 100 Ah pack charging: cells 0x0D14..0x0D18 (3348..3352 mV), T 0x0C0B =
 * 3083 -> 35.2 °C (BMS), cells 0x0BEF 0x0BF0 0x0BED 0x0C0B -> 32.4 32.5 32.2 35.2 °C,
 * current 0x00C9 = 201 x 100 mA = 20.1 A, voltage 0xC447 = 50247 mV, P = 4,
 * remaining 0x0172B9 = 94905 mAh, total 0x0186A0 = 100000 mAh, cycles 0x0012 = 18 */
static void test_0x42_single_pack_units_of_v33(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f = frame("~20024600F07A00020F0D170D140D150D150D180D170D140D150D150D180D170D140D150D150D18050C0B0B"
                             "EF0BF00BED0C0B00C9C447FFFF04FFFF00120172B90186A0E2D1");
    (void)state;
    assert_int_equal(decode("pylon-rs485", 0x42, f.info_len, -1, &r), 0);
    assert_false(dec.group);
    assert_int_equal(dec.cmd, 0x02);
    assert_int_equal(r.f[BL_F_CURRENT].value, 20100);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 50247);
    assert_int_equal(r.f[BL_F_CELL_V_MIN].value, 3348);
    assert_int_equal(r.f[BL_F_CELL_V_MAX].value, 3352);
    assert_int_equal(r.f[BL_F_TEMP_MIN].value, 32200);
    assert_int_equal(r.f[BL_F_TEMP_MAX].value, 35200);
    assert_int_equal(r.f[BL_F_TEMP].value, 33075); /* mean of the four cell sensors, not the BMS board */
    assert_int_equal(r.f[BL_F_CAPACITY].value, 100000);
    assert_int_equal(r.f[BL_F_CYCLE_COUNT].value, 18);
    /* Pylontech sends no SOC: 94905 / 100000 */
    assert_int_equal(r.f[BL_F_SOC].value, 94905);
    assert_true(dec.derived & BL_BIT(BL_F_SOC));
}

/* PYL-02: the V3.3 "74 Ah" example; its printed CHKSUM E1A2 is wrong (E27A), so the
 * frame is rejected and only its INFO is decoded: 0x00CA58 = 51800 mAh of 0x012110 = 74000 */
static void test_0x42_decode_only_example_with_the_wrong_checksum(void **state)
{
    static const char pyl02[] =
        "~20024600F07A11020F0D450D440D450D440D450D440D3E0D450D4A0D4A0D4B0D4A0D4A0D4A0D4A050BC30BC30BC30BCD0BCD"
        "0000C725FFFF04FFFF000200CA58012110E1A2";
    bl_pyl_frame_t f;
    bl_rsr_t why;
    uint32_t got, want;
    bl_record_t r;
    (void)state;
    assert_int_equal(bl_pyl_parse((const uint8_t *)pyl02, strlen(pyl02), info, sizeof info, &f, &why, &got, &want),
                     BL_EBADMSG);
    assert_int_equal(why, BL_RSR_CHECKSUM);
    assert_int_equal(got, 0xE1A2);
    assert_int_equal(want, 0xE27A);
    assert_int_equal(decode("pylon-rs485", 0x42, info_of(pyl02), -1, &r), 0);
    assert_int_equal(dec.flag, 0x11);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 50981);
    assert_int_equal(r.f[BL_F_CURRENT].value, 0);
    assert_int_equal(r.f[BL_F_CAPACITY].value, 74000);
    assert_int_equal(r.f[BL_F_SOC].value, 70000); /* 51800 / 74000 = 70 % */
    assert_int_equal(r.f[BL_F_CELL_V_MIN].value, 3390);
    assert_int_equal(r.f[BL_F_CELL_V_MAX].value, 3403);
    assert_int_equal(r.f[BL_F_CYCLE_COUNT].value, 2);
}

/* PYL-04, UP2500 (8 cells, 24 V): current 0xFFFA = -6 -> -0.6 A, voltage 0x680E = 26638 mV,
 * remaining 0x0174E4 = 95460 mAh, total 0x01B198 = 111000 mAh */
static void test_0x42_up2500_eight_cells_negative_current(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f = frame("~20024600D05E1002080D020D020D020D030D000D010D010D03050B7D0B690B690B690B73FFFA680EFFFF"
                             "04FFFF00000174E401B198E906");
    (void)state;
    assert_int_equal(decode("pylon-rs485", 0x42, f.info_len, -1, &r), 0);
    assert_int_equal(dec.flag, 0x10);
    assert_int_equal(r.f[BL_F_CURRENT].value, -600);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 26638);
    assert_int_equal(r.f[BL_F_CAPACITY].value, 111000);
    assert_int_equal(r.f[BL_F_SOC].value, 86000); /* 95460 / 111000 = 86.0 % */
    assert_int_equal(r.f[BL_F_CELL_V_MIN].value, 3328);
    assert_int_equal(r.f[BL_F_CELL_V_MAX].value, 3331);
}

/* PYL-03, a whole-group reply from three US2000-class packs (P = 2): the second byte is
 * the pack count 3. Pack currents 0xFFE6 0xFFE7 0xFFE5 -> -2.6 -2.5 -2.7 A; voltages
 * 0xC189 0xC170 0xC160 -> 49545 49520 49504 mV; each 0x82DC = 33500 of 0xC350 = 50000 mAh. */
static void test_0x42_group_reply_lists_packs_and_aggregates_them(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f = frame(
        "~20024600914211030F0CE70CE80CE60CE70CE80CE80CE80CE60CE50CE60CE80CE70CEA0CE50CE6050B910B870B870B870B87FFE6"
        "C18982DC02C350001F0F0CE20CE60CE60CE10CE50CE70CE60CE30CE20CE50CE30CE90CE70CE90CE9050B910B870B870B870B87"
        "FFE7C17082DC02C350001F0F0CE20CE50CE50CE20CE30CE30CE40CE50CE60CE60CE30CE40CE40CE60CE6050B910B7D0B7D0B7D0B7D"
        "FFE5C16082DC02C350001FB476");
    (void)state;
    assert_int_equal(decode("pylon-rs485", 0x42, f.info_len, -1, &r), 0);
    assert_true(dec.group);
    assert_int_equal(dec.npacks, 3);
    assert_int_equal(packs[0].f[BL_F_CURRENT].value, -2600);
    assert_int_equal(packs[1].f[BL_F_VOLTAGE].value, 49520);
    assert_int_equal(packs[2].f[BL_F_CURRENT].value, -2700);
    assert_int_equal(packs[2].f[BL_F_TEMP_MIN].value, 21000);
    /* the aggregate: currents add up, voltage is the mean (parallel packs), SOC is
     * charge over capacity: 3 x 33500 / 3 x 50000 = 67 % */
    assert_int_equal(r.f[BL_F_CURRENT].value, -7800);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 49523); /* 148569 / 3 = 49523 */
    assert_int_equal(r.f[BL_F_SOC].value, 67000);
    assert_int_equal(r.f[BL_F_CAPACITY].value, 150000);
    assert_int_equal(r.f[BL_F_MODULE_COUNT].value, 3);
    assert_int_equal(r.f[BL_F_CELL_V_MIN].value, 3297); /* 0x0CE1, pack 2 cell 4 */
    assert_int_equal(r.f[BL_F_CELL_V_MAX].value, 3306); /* 0x0CEA, pack 1 cell 13 */
    assert_int_equal(r.f[BL_F_TEMP_MIN].value, 21000);  /* 0x0B7D = 2941 */
    assert_int_equal(r.f[BL_F_TEMP_MAX].value, 22000);
    assert_int_equal(r.f[BL_F_CYCLE_COUNT].value, 31);
}

/* the same reply read as one pack does not fit: without -1 (guess) it is a layout reject */
static void test_0x42_group_reply_read_as_one_pack_is_a_layout_reject(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f = frame(
        "~20024600914211030F0CE70CE80CE60CE70CE80CE80CE80CE60CE50CE60CE80CE70CEA0CE50CE6050B910B870B870B870B87FFE6"
        "C18982DC02C350001F0F0CE20CE60CE60CE10CE50CE70CE60CE30CE20CE50CE30CE90CE70CE90CE9050B910B870B870B870B87"
        "FFE7C17082DC02C350001F0F0CE20CE50CE50CE20CE30CE30CE40CE50CE60CE60CE30CE40CE40CE60CE6050B910B7D0B7D0B7D0B7D"
        "FFE5C16082DC02C350001FB476");
    (void)state;
    assert_int_equal(decode("pylon-rs485", 0x42, f.info_len, 0, &r), BL_EBADMSG);
    assert_int_equal(dec.why, BL_RSR_LAYOUT);
    assert_false(r.f[BL_F_VOLTAGE].valid); /* all or nothing */
}

/* M = 15 cells announced, two sent (frame built with a Python reference: FAA8) */
static void test_0x42_counts_larger_than_the_payload_are_a_layout_reject(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f = frame("~20024600200E11020F0D450D44FAA8");
    (void)state;
    assert_int_equal(decode("pylon-rs485", 0x42, f.info_len, -1, &r), BL_EBADMSG);
    assert_int_equal(dec.why, BL_RSR_LAYOUT);
}

/* PYL-05, UP2500 0x92: CVL 0x6EF0 = 28400 mV, DVL 0x5AA0 = 23200 mV, CCL 0x022B = 555 ->
 * 55.5 A, DCL 0xFDD5 = -555 -> a 55.5 A magnitude, status 0xC0 */
static void test_0x92_limits_tenths_of_amps_dcl_sent_negative(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f = frame("~20024600B014026EF05AA0022BFDD5C0F915");
    (void)state;
    assert_int_equal(decode("pylon-rs485", 0x92, f.info_len, 0, &r), 0);
    assert_int_equal(dec.cmd, 0x02);
    assert_int_equal(r.f[BL_F_CVL].value, 28400);
    assert_int_equal(r.f[BL_F_DVL].value, 23200);
    assert_int_equal(r.f[BL_F_CCL].value, 55500);
    assert_int_equal(r.f[BL_F_DCL].value, 55500);
    assert_int_equal(r.f[BL_F_CHARGE_ENABLE].value, 1);
    assert_int_equal(r.f[BL_F_DISCHARGE_ENABLE].value, 1);
    assert_int_equal(r.f[BL_F_FORCE_CHARGE].value, 0);
    assert_int_equal(r.f[BL_F_FULL_CHARGE_REQ].value, 0);
}

/* PYL-07: 0xD002 = 53250 mV, 0xAFC8 = 45000 mV, 0x00C8 = 20.0 A, 0xFE0C = -50.0 A */
static void test_0x92_from_adr_3(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f = frame("~20034600B01403D002AFC800C8FE0CC0F913");
    (void)state;
    assert_int_equal(f.adr, 0x03);
    assert_int_equal(decode("pylon-rs485", 0x92, f.info_len, 0, &r), 0);
    assert_int_equal(r.f[BL_F_CVL].value, 53250);
    assert_int_equal(r.f[BL_F_DVL].value, 45000);
    assert_int_equal(r.f[BL_F_CCL].value, 20000);
    assert_int_equal(r.f[BL_F_DCL].value, 50000);
}

/* The battery role answers 0x92 as real packs do: a negative discharge limit, and the
 * enable bits from the record. 53.2 V = 0xCFD0, 48.0 V = 0xBB80, 100.0 A = 0x03E8,
 * -100.0 A = 0xFC18, status 0xC0. */
static void test_0x92_encoded_like_a_real_pack(void **state)
{
    const bl_protocol_t *p = bl_protocol_find("pylon-rs485");
    bl_record_t r;
    bl_rs_encoded_t res;
    uint8_t out[16];
    const uint8_t want[] = { 0x02, 0xCF, 0xD0, 0xBB, 0x80, 0x03, 0xE8, 0xFC, 0x18, 0xC0 };
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_CVL, 53200, 1, 1000);
    bl_record_set(&r, BL_F_DVL, 48000, 1, 1000);
    bl_record_set(&r, BL_F_CCL, 100000, 1, 1000);
    bl_record_set(&r, BL_F_DCL, 100000, 1, 1000);
    bl_record_set(&r, BL_F_CHARGE_ENABLE, 1, 0, 1000);
    bl_record_set(&r, BL_F_DISCHARGE_ENABLE, 1, 0, 1000);
    bl_record_set(&r, BL_F_FORCE_CHARGE, 0, 0, 1000);
    bl_record_set(&r, BL_F_FULL_CHARGE_REQ, 0, 0, 1000);
    assert_int_equal(bl_rs_encode(p, bl_rs_msg(bl_rs_codec(p), 0x92), 0x02, &r, 2000, 10000, out, sizeof out, &res),
                     10);
    assert_memory_equal(out, want, sizeof want);
    assert_false(res.safe_state);
}

/* Safety: limits older than the stale time leave 0x92 as 0 A with charge and discharge
 * disabled (Voltronic acts on nothing else), and the encoder says so. */
static void test_0x92_with_stale_limits_is_the_safe_state(void **state)
{
    const bl_protocol_t *p = bl_protocol_find("pylon-rs485");
    bl_record_t r;
    bl_rs_encoded_t res;
    uint8_t out[16];
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_CVL, 53200, 1, 1000);
    bl_record_set(&r, BL_F_CCL, 100000, 1, 1000);
    bl_record_set(&r, BL_F_DCL, 100000, 1, 1000);
    bl_record_set(&r, BL_F_CHARGE_ENABLE, 1, 0, 1000);
    bl_record_set(&r, BL_F_DISCHARGE_ENABLE, 1, 0, 1000);
    assert_int_equal(bl_rs_encode(p, bl_rs_msg(bl_rs_codec(p), 0x92), 0x02, &r, 20000, 10000, out, sizeof out, &res),
                     10);
    assert_true(res.safe_state);
    assert_true(res.substituted & BL_BIT(BL_F_CCL));
    assert_int_equal(out[5], 0x00); /* CCL 0 */
    assert_int_equal(out[6], 0x00);
    assert_int_equal(out[7], 0x00); /* DCL 0 */
    assert_int_equal(out[8], 0x00);
    assert_int_equal(out[9] & 0xC0, 0x00); /* charge and discharge disabled */
}

/* A 0x42 answer for a 200 Ah record: above 65 Ah, the U16 capacities are 0xFFFF and the
 * P = 4 U24 values carry 160000 of 200000 mAh (80 %). */
static void test_0x42_encode_above_65ah_uses_the_u24_capacities(void **state)
{
    const bl_protocol_t *p = bl_protocol_find("pylon-rs485");
    bl_record_t r, back;
    uint8_t out[256];
    int n;
    (void)state;
    bl_record_init(&r);
    bl_record_set(&r, BL_F_VOLTAGE, 52800, 2, 1000);
    bl_record_set(&r, BL_F_CURRENT, -12300, 1, 1000);
    bl_record_set(&r, BL_F_SOC, 80000, 0, 1000);
    bl_record_set(&r, BL_F_CAPACITY, 200000, 0, 1000);
    bl_record_set(&r, BL_F_CELL_V_MIN, 3290, 3, 1000);
    bl_record_set(&r, BL_F_CELL_V_MAX, 3310, 3, 1000);
    bl_record_set(&r, BL_F_TEMP, 25000, 1, 1000);
    bl_record_set(&r, BL_F_CYCLE_COUNT, 42, 0, 1000);
    n = bl_rs_encode(p, bl_rs_msg(bl_rs_codec(p), 0x42), 0x02, &r, 1000, 10000, out, sizeof out, NULL);
    /* flag, cmd, M = 16 (52.8 V / 3.2 V), 32 cell bytes, N = 5, 10 temp bytes, current,
     * voltage, remaining 1, P, total 1, cycles, remaining 2, total 2: 2+1+32+1+10+2+2+2+1+2+2+3+3 */
    assert_int_equal(n, 63);
    assert_int_equal(out[2], 16);
    assert_int_equal(out[3] << 8 | out[4], 3290);
    assert_int_equal(out[5] << 8 | out[6], 3310);
    assert_int_equal(out[46] << 8 | out[47], 0xFF85); /* -12.3 A = -123 x 100 mA */
    assert_int_equal(out[48] << 8 | out[49], 52800);
    assert_int_equal(out[50] << 8 | out[51], 0xFFFF);
    assert_int_equal(out[52], 4);
    assert_int_equal(out[53] << 8 | out[54], 0xFFFF);
    assert_int_equal(out[55] << 8 | out[56], 42);
    assert_int_equal(out[57] << 16 | out[58] << 8 | out[59], 160000);
    assert_int_equal(out[60] << 16 | out[61] << 8 | out[62], 200000);
    /* the 16 cells add up to the pack voltage */
    {
        int sum = 0;
        for (int i = 0; i < 16; i++)
            sum += out[3 + 2 * i] << 8 | out[4 + 2 * i];
        assert_int_equal(sum, 52800);
    }
    memcpy(info, out, (size_t)n);
    assert_int_equal(decode("pylon-rs485", 0x42, (size_t)n, 0, &back), 0);
    assert_int_equal(back.f[BL_F_SOC].value, 80000);
}

/* PACE-04 (PACE v25 document): temperatures offset 2730 (0x0BAA = 2986 -> 25.6 °C),
 * voltage 0xCF94 = 53140 mV (mV, not 10 mV), remaining 0x06D6 = 1750 x 10 mAh,
 * full 0x1388 = 5000 x 10 mAh, no SOC on the wire: 17.5 / 50 = 35 % */
static void test_pace_0x42_offset_2730_and_10mah(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f = frame("~25024600F07A0002100D370CE50D080CED0D060CE70D1D0CEB0CF80CFA0CFB0D070CE10CF10CC20D0606"
                             "0BAA0BAC0BA60BA70BA90BB20000CF9406D603138800001388E261");
    (void)state;
    assert_int_equal(f.ver, 0x25);
    assert_int_equal(decode("pylon-rs485:pace-v25", 0x42, f.info_len, 0, &r), 0);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 53140);
    assert_int_equal(r.f[BL_F_CAPACITY].value, 50000);
    assert_int_equal(r.f[BL_F_SOC].value, 35000);
    /* cells 1-4 only: 0x0BAA 0x0BAC 0x0BA6 0x0BA7 -> 25.6 25.8 25.2 25.3 */
    assert_int_equal(r.f[BL_F_TEMP_MIN].value, 25200);
    assert_int_equal(r.f[BL_F_TEMP_MAX].value, 25800);
    assert_int_equal(r.f[BL_F_CELL_V_MIN].value, 3266); /* 0x0CC2 */
    assert_int_equal(r.f[BL_F_CELL_V_MAX].value, 3383); /* 0x0D37 */
}

/* PACE-07: a quiet pack: no warnings, protections or faults; system state 0x0E */
static void test_pace_0x44_quiet_pack_reports_no_alarms_but_knows_them(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f = frame("~25014600004C000110000000000000000000000000000000000600000000000000000000000E0000000000"
                             "00EF3A");
    (void)state;
    assert_int_equal(decode("pylon-rs485:pace-v25", 0x44, f.info_len, 0, &r), 0);
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        assert_int_equal(r.active[c], 0);
    assert_true(r.known[BL_AC_PROTECTION] & (1U << BL_A_SHORT));
    assert_true(r.known[BL_AC_WARNING] & (1U << BL_A_CELL_OV));
}

/* SEP-03: 0x51 from a Seplos pack: "1101-SP15 ", version 02 07, "CANProtocol:Sofar   " */
static void test_seplos_0x51_identity(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f = frame("~20004600C040313130312D5350313520020743414E50726F746F636F6C3A536F666172202020F046");
    (void)state;
    assert_int_equal(decode("pylon-rs485:seplos-v2", 0x51, f.info_len, 0, &r), 0);
    assert_string_equal(bl_record_str(&r, BL_F_MODEL), "1101-SP15");
    assert_string_equal(bl_record_str(&r, BL_F_FIRMWARE), "2.7");
    assert_string_equal(bl_record_str(&r, BL_F_MANUFACTURER), "CANProtocol:Sofar");
}

/* EG4-02: N = 4 declared, 6 temperatures follow; voltage 0x13FD = 5117 x 10 mV,
 * full 0x2710 = 10000 x 10 mAh, SOC 0x0000 %, SOH 0x0064 = 100 % */
static void test_eg4_0x42_six_temperatures_for_n_4(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f = frame("~20014A00A0CA0101100C540C810C810C820C810C810C810C810C820C820C820C820C820C820C820C7E040B"
                             "CD0BCD0BCD0BCD0BD70BD7000013FD0000271000000F000000640C820C54002E0BCD0BCD000000150000003C"
                             "0000000A0000001D00000000000000000002001DD300");
    (void)state;
    assert_int_equal(f.cid1, 0x4A);
    assert_int_equal(decode("pylon-rs485:eg4", 0x42, f.info_len, 0, &r), 0);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 51170);
    assert_int_equal(r.f[BL_F_CAPACITY].value, 100000);
    assert_int_equal(r.f[BL_F_SOC].value, 0);
    assert_int_equal(r.f[BL_F_SOH].value, 100000);
    assert_int_equal(r.f[BL_F_TEMP_MAX].value, 29000); /* cells 0x0BCD = 2989; ambient/MOSFET 30 °C excluded */
    assert_int_equal(r.f[BL_F_CELL_V_MIN].value, 3156);
    assert_int_equal(r.f[BL_F_CELL_V_MAX].value, 3202);
}

/* EG4-04 (live 0x44): FET status 0x03 (both MOSFETs on), system status 0x02 (charging) */
static void test_eg4_0x44_status_bytes(void **state)
{
    bl_record_t r;
    bl_pyl_frame_t f =
        frame("~20014A007054100110000000000000000000000000000000000400000000000000000900000000000003020000000000EDC3");
    const bl_rs_val_t *fet = NULL, *sys = NULL;
    (void)state;
    assert_int_equal(decode("pylon-rs485:eg4", 0x44, f.info_len, 0, &r), 0);
    for (unsigned i = 0; i < dec.nvals; i++) {
        if (strcmp(dec.vals[i].sig->name, "FetStatus") == 0)
            fet = &dec.vals[i];
        if (strcmp(dec.vals[i].sig->name, "SystemStatus") == 0)
            sys = &dec.vals[i];
    }
    assert_non_null(fet);
    assert_non_null(sys);
    assert_int_equal(fet->v, 3000);
    assert_int_equal(sys->v, 2000);
    assert_int_equal(r.active[BL_AC_PROTECTION], 0);
}

/* 0x44 state code 0x02 on a cell is a cell over-voltage alarm (V3.3 §6.2), built from a
 * single-pack frame: flag 00, ADR 02, M 1, state 02, N 1, state 00, three 00 states,
 * status 1 = 0x01 (module over-voltage protection), statuses 2-5 */
static void test_0x44_states_and_status1_bits(void **state)
{
    const uint8_t p44[] = { 0x00, 0x02, 0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x06, 0x00, 0x00, 0x00, 0x00 };
    bl_record_t r;
    (void)state;
    memcpy(info, p44, sizeof p44);
    assert_int_equal(decode("pylon-rs485", 0x44, sizeof p44, 0, &r), 0);
    assert_true(r.active[BL_AC_ALARM] & (1U << BL_A_CELL_OV));
    assert_false(r.active[BL_AC_ALARM] & (1U << BL_A_CELL_UV));
    assert_true(r.active[BL_AC_PROTECTION] & (1U << BL_A_PACK_OV));
    assert_false(r.active[BL_AC_PROTECTION] & (1U << BL_A_PACK_UV));
    /* a live stack added one 0x00 after status 5: tolerated */
    info[sizeof p44] = 0x00;
    assert_int_equal(decode("pylon-rs485", 0x44, sizeof p44 + 1, 0, &r), 0);
}

/* capabilities: 0x92 makes the limits and flags visible; SOC is carried (derived) */
static void test_capabilities_come_from_the_tables(void **state)
{
    bl_caps_t caps;
    (void)state;
    bl_proto_caps(bl_protocol_find("pylon-rs485"), &caps);
    assert_true(caps.fields & BL_BIT(BL_F_CCL));
    assert_true(caps.fields & BL_BIT(BL_F_DCL));
    assert_true(caps.fields & BL_BIT(BL_F_SOC));
    assert_true(caps.fields & BL_BIT(BL_F_CELL_V_MIN));
    assert_true(caps.alarms[BL_AC_PROTECTION] & (1U << BL_A_PACK_OV));
    bl_proto_caps(bl_protocol_find("pylon-rs485:pace-v25"), &caps);
    assert_false(caps.fields & BL_BIT(BL_F_CCL)); /* PACE ASCII carries no limits */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lchksum_is_the_inverted_nibble_sum_mod_16),
        cmocka_unit_test(test_chksum_is_the_twos_complement_of_the_character_sum),
        cmocka_unit_test(test_request_header_fields),
        cmocka_unit_test(test_built_requests_equal_the_vectors),
        cmocka_unit_test(test_0x42_single_pack_units_of_v33),
        cmocka_unit_test(test_0x42_decode_only_example_with_the_wrong_checksum),
        cmocka_unit_test(test_0x42_up2500_eight_cells_negative_current),
        cmocka_unit_test(test_0x42_group_reply_lists_packs_and_aggregates_them),
        cmocka_unit_test(test_0x42_group_reply_read_as_one_pack_is_a_layout_reject),
        cmocka_unit_test(test_0x42_counts_larger_than_the_payload_are_a_layout_reject),
        cmocka_unit_test(test_0x92_limits_tenths_of_amps_dcl_sent_negative),
        cmocka_unit_test(test_0x92_from_adr_3),
        cmocka_unit_test(test_0x92_encoded_like_a_real_pack),
        cmocka_unit_test(test_0x92_with_stale_limits_is_the_safe_state),
        cmocka_unit_test(test_0x42_encode_above_65ah_uses_the_u24_capacities),
        cmocka_unit_test(test_pace_0x42_offset_2730_and_10mah),
        cmocka_unit_test(test_pace_0x44_quiet_pack_reports_no_alarms_but_knows_them),
        cmocka_unit_test(test_seplos_0x51_identity),
        cmocka_unit_test(test_eg4_0x42_six_temperatures_for_n_4),
        cmocka_unit_test(test_eg4_0x44_status_bytes),
        cmocka_unit_test(test_0x44_states_and_status1_bits),
        cmocka_unit_test(test_capabilities_come_from_the_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
