/*
 * Daly A5 and JBD DD..77 (rs485-daly-jbd.md) and the Modbus register maps
 * (rs485-modbus-maps.md) against their vectors; sessions that match answers
 * to requests; the battery role's answers. Expected values by hand from the
 * hex in each comment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bmslink/protocol.h"
#include "bmslink/rs485.h"

static bl_rs_decoded_t dec;
static uint8_t buf[2048];

static const bl_protocol_t *P(const char *name)
{
    const bl_protocol_t *p = bl_protocol_find(name);
    assert_non_null(p);
    return p;
}

/* Take a frame apart and decode its payload as the session says. */
static int frame_decode(bl_rs_session_t *s, const uint8_t *fr, size_t n, bl_rs_frame_t *f, bl_record_t *r)
{
    bl_rsr_t why;
    assert_int_equal(bl_rs_session_frame(s, fr, n, buf, sizeof buf, f, &why), 0);
    if (f->msg == NULL)
        return BL_ENOENT;
    return bl_rs_decode(s->c, f->msg, f->pl, f->plen, f->group ? 1 : -1, 1000, r, NULL, 0, &dec);
}

/* DLY-03 (esphome issue log): 0x0082 = 130 -> 13.0 V, current 0x7530 = 30000 -> 0 A,
 * SOC 0x01F3 = 499 -> 49.9 % */
static void test_daly_0x90_offset_30000_current(void **state)
{
    const uint8_t fr[] = { 0xA5, 0x01, 0x90, 0x08, 0x00, 0x82, 0x00, 0x00, 0x75, 0x30, 0x01, 0xF3, 0x59 };
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_rs_session_init(&s, P("daly")), 0);
    assert_int_equal(frame_decode(&s, fr, sizeof fr, &f, &r), 0);
    assert_false(f.request);
    assert_int_equal(f.cmd, 0x90);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 13000);
    assert_int_equal(r.f[BL_F_CURRENT].value, 0);
    assert_int_equal(r.f[BL_F_SOC].value, 49900);
}

/* DLY-05: current raw 0x749A = 29850: -15.0 A with the default sign, +15.0 A on the
 * firmware with the inverted sign; voltage 0x020B = 52.3 V, SOC 0x02F3 = 75.5 % */
static void test_daly_current_sign_is_a_per_device_setting(void **state)
{
    const uint8_t fr[] = { 0xA5, 0x01, 0x90, 0x08, 0x02, 0x0B, 0x00, 0x00, 0x74, 0x9A, 0x02, 0xF3, 0x4E };
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_rs_session_init(&s, P("daly")), 0);
    assert_int_equal(frame_decode(&s, fr, sizeof fr, &f, &r), 0);
    assert_int_equal(r.f[BL_F_CURRENT].value, -15000);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 52300);
    assert_int_equal(r.f[BL_F_SOC].value, 75500);
    assert_int_equal(bl_rs_session_init(&s, P("daly:inverted-current")), 0);
    assert_int_equal(frame_decode(&s, fr, sizeof fr, &f, &r), 0);
    assert_int_equal(r.f[BL_F_CURRENT].value, 15000);
    assert_true(bl_rs_codec(P("daly:inverted-current"))->current_negated);
}

/* DLY-04: max cell 0x0CB5 = 3253 mV (cell 2), min 0x0CB2 = 3250 mV (cell 1) */
static void test_daly_0x91_cell_extremes(void **state)
{
    const uint8_t fr[] = { 0xA5, 0x01, 0x91, 0x08, 0x0C, 0xB5, 0x02, 0x0C, 0xB2, 0x01, 0x00, 0x03, 0xC4 };
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_rs_session_init(&s, P("daly")), 0);
    assert_int_equal(frame_decode(&s, fr, sizeof fr, &f, &r), 0);
    assert_int_equal(r.f[BL_F_CELL_V_MAX].value, 3253);
    assert_int_equal(r.f[BL_F_CELL_V_MIN].value, 3250);
}

/* DLY-01 / DLY-02: the host's requests, built byte for byte */
static void test_daly_requests_equal_the_vectors(void **state)
{
    const uint8_t dly01[] = { 0xA5, 0x40, 0x90, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x7D };
    const uint8_t dly02[] = { 0xA5, 0x40, 0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x7E };
    uint8_t out[16];
    (void)state;
    assert_int_equal(bl_rs_request(P("daly"), 0x40, 0x90, false, out, sizeof out), 13);
    assert_memory_equal(out, dly01, 13);
    assert_int_equal(bl_rs_request(P("daly"), 0x40, 0x91, false, out, sizeof out), 13);
    assert_memory_equal(out, dly02, 13);
}

/* JBD-02: 0x1700 = 5888 x 10 mV = 58.88 V, current 0, remaining 0x02D0 = 7.2 Ah of
 * 0x03E8 = 10 Ah, RSOC 0x48 = 72 %, FET 0x03 (both on), 2 NTC: 0x0B76 = 2934 -> 20.3 °C,
 * 0x0B82 = 2946 -> 21.5 °C */
static void test_jbd_0x03_basic_info(void **state)
{
    const uint8_t fr[] = { 0xDD, 0x03, 0x00, 0x1B, 0x17, 0x00, 0x00, 0x00, 0x02, 0xD0, 0x03, 0xE8, 0x00, 0x00,
                           0x20, 0x78, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x48, 0x03, 0x0F, 0x02, 0x0B,
                           0x76, 0x0B, 0x82, 0xFB, 0xFF, 0x77 };
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_rs_session_init(&s, P("jbd")), 0);
    assert_int_equal(frame_decode(&s, fr, sizeof fr, &f, &r), 0);
    assert_false(f.request);
    assert_int_equal(f.rtn, 0);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 58880);
    assert_int_equal(r.f[BL_F_CURRENT].value, 0);
    assert_int_equal(r.f[BL_F_CAPACITY].value, 10000);
    assert_int_equal(r.f[BL_F_SOC].value, 72000);
    assert_int_equal(r.f[BL_F_CHARGE_ENABLE].value, 1);
    assert_int_equal(r.f[BL_F_DISCHARGE_ENABLE].value, 1);
    assert_int_equal(r.f[BL_F_TEMP_MIN].value, 20300);
    assert_int_equal(r.f[BL_F_TEMP_MAX].value, 21500);
    assert_int_equal(r.active[BL_AC_PROTECTION], 0);
}

/* JBD-04: 15 cells, 0x0F37 = 3895 mV lowest, 0x0F66 = 3942 mV highest */
static void test_jbd_0x04_cells_count_from_the_length(void **state)
{
    const uint8_t fr[] = { 0xDD, 0x04, 0x00, 0x1E, 0x0F, 0x66, 0x0F, 0x63, 0x0F, 0x63, 0x0F, 0x64, 0x0F, 0x3E,
                           0x0F, 0x63, 0x0F, 0x37, 0x0F, 0x5B, 0x0F, 0x65, 0x0F, 0x3B, 0x0F, 0x63, 0x0F, 0x63,
                           0x0F, 0x3C, 0x0F, 0x66, 0x0F, 0x3D, 0xF9, 0xF9, 0x77 };
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_rs_session_init(&s, P("jbd")), 0);
    assert_int_equal(frame_decode(&s, fr, sizeof fr, &f, &r), 0);
    assert_int_equal(dec.vals[0].n, 15);
    assert_int_equal(r.f[BL_F_CELL_V_MIN].value, 3895);
    assert_int_equal(r.f[BL_F_CELL_V_MAX].value, 3942);
}

/* JBD-06: version text "0123456789" */
static void test_jbd_0x05_version_text(void **state)
{
    const uint8_t fr[] = { 0xDD, 0x05, 0x00, 0x0A, 0x30, 0x31, 0x32, 0x33, 0x34,
                           0x35, 0x36, 0x37, 0x38, 0x39, 0xFD, 0xE9, 0x77 };
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_rs_session_init(&s, P("jbd")), 0);
    assert_int_equal(frame_decode(&s, fr, sizeof fr, &f, &r), 0);
    assert_string_equal(bl_record_str(&r, BL_F_FIRMWARE), "0123456789");
}

/* JBD-01 and JBD-03: read requests DD A5 03 00 FF FD 77, DD A5 04 00 FF FC 77 */
static void test_jbd_requests_equal_the_vectors(void **state)
{
    const uint8_t jbd01[] = { 0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77 };
    const uint8_t jbd03[] = { 0xDD, 0xA5, 0x04, 0x00, 0xFF, 0xFC, 0x77 };
    uint8_t out[16];
    (void)state;
    assert_int_equal(bl_rs_request(P("jbd"), 0, 0x03, false, out, sizeof out), 7);
    assert_memory_equal(out, jbd01, 7);
    assert_int_equal(bl_rs_request(P("jbd"), 0, 0x04, false, out, sizeof out), 7);
    assert_memory_equal(out, jbd03, 7);
}

/* A JBD error reply (status 0x80) is counted as an error code */
static void test_jbd_error_status_is_counted(void **state)
{
    uint8_t fr[16];
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_rsr_t why;
    int n = bl_jbd_build(0x03, 0x80, NULL, 0, fr, sizeof fr);
    (void)state;
    assert_int_equal(bl_rs_session_init(&s, P("jbd")), 0);
    assert_int_equal(bl_rs_session_frame(&s, fr, (size_t)n, buf, sizeof buf, &f, &why), 0);
    assert_int_equal(f.rtn, 0x80);
    assert_int_equal(s.rejected[BL_RSR_ERROR_CODE], 1);
}

/* A Pylon answer is decoded with its request's layout; a CID2 0x04 answer is an error code */
static void test_pylon_session_matches_answers_to_requests(void **state)
{
    const char *req = "~20024692E00202FD2E\r";              /* PYL-12 */
    const char *rsp = "~20024600B014026EF05AA0022BFDD5C0F915\r"; /* PYL-05 */
    const char *err = "~200246040000FDAE\r";                  /* RTN 0x04, Python reference checksum */
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_record_t r;
    bl_rsr_t why;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_rs_session_init(&s, P("pylon-rs485")), 0);
    assert_int_equal(bl_rs_session_frame(&s, (const uint8_t *)req, strlen(req), buf, sizeof buf, &f, &why), 0);
    assert_true(f.request);
    assert_int_equal(f.cmd, 0x92);
    assert_int_equal(frame_decode(&s, (const uint8_t *)rsp, strlen(rsp), &f, &r), 0);
    assert_false(f.request);
    assert_false(f.inferred);
    assert_int_equal(f.cmd, 0x92);
    assert_int_equal(r.f[BL_F_CVL].value, 28400);
    /* an answer nobody asked for: the layout says which command it was */
    assert_int_equal(frame_decode(&s, (const uint8_t *)rsp, strlen(rsp), &f, &r), 0);
    assert_true(f.inferred);
    assert_int_equal(f.cmd, 0x92);
    assert_int_equal(bl_rs_session_frame(&s, (const uint8_t *)req, strlen(req), buf, sizeof buf, &f, &why), 0);
    assert_int_equal(bl_rs_session_frame(&s, (const uint8_t *)err, strlen(err), buf, sizeof buf, &f, &why), 0);
    assert_int_equal(f.rtn, 0x04);
    assert_int_equal(f.cmd, 0x92);
    assert_int_equal(s.rejected[BL_RSR_ERROR_CODE], 1);
}

static void healthy(bl_record_t *r, uint64_t now)
{
    bl_record_init(r);
    bl_record_set(r, BL_F_VOLTAGE, 52800, 2, now);
    bl_record_set(r, BL_F_CURRENT, 0, 1, now);
    bl_record_set(r, BL_F_SOC, 80000, 0, now);
    bl_record_set(r, BL_F_SOH, 98000, 0, now);
    bl_record_set(r, BL_F_TEMP, 25000, 1, now);
    bl_record_set(r, BL_F_TEMP_MIN, 24000, 1, now);
    bl_record_set(r, BL_F_TEMP_MAX, 26000, 1, now);
    bl_record_set(r, BL_F_CELL_V_MIN, 3297, 3, now);
    bl_record_set(r, BL_F_CELL_V_MAX, 3303, 3, now);
    bl_record_set(r, BL_F_CVL, 55200, 1, now);
    bl_record_set(r, BL_F_CCL, 100000, 1, now);
    bl_record_set(r, BL_F_DCL, 100000, 1, now);
    bl_record_set(r, BL_F_DVL, 48000, 1, now);
    bl_record_set(r, BL_F_CHARGE_ENABLE, 1, 0, now);
    bl_record_set(r, BL_F_DISCHARGE_ENABLE, 1, 0, now);
    bl_record_set(r, BL_F_CAPACITY, 200000, 0, now);
    bl_record_set(r, BL_F_CYCLE_COUNT, 42, 0, now);
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        r->known[c] = BL_A_ALL;
}

/* Both inverter sessions take answer a[0..n) apart; the plain one infers and decodes as
 * bl_rs_session_infer() and bl_rs_decode_rec() do, the other through the memos: the same
 * command, fields, records and counters. */
static unsigned memo_compare(bl_rs_session_t *sa, bl_rs_session_t *sm, const uint8_t *a, size_t n, uint64_t now,
                             bl_record_t *ra, bl_record_t *rm, bl_rs_memo_t *memo, const uint16_t *ids, size_t nids)
{
    static uint8_t ba[2048], bm[2048];
    bl_rs_frame_t fa, fm;
    bl_rsr_t wa, wm;
    uint32_t fla = 0, flm = 0;
    bool da = false, dm = false;
    int rca = bl_rs_session_frame(sa, a, n, ba, sizeof ba, &fa, &wa);
    int rcm = bl_rs_session_frame(sm, a, n, bm, sizeof bm, &fm, &wm);

    assert_int_equal(rca, rcm);
    if (rca < 0 || fa.request || fa.rtn != 0)
        return 0;
    assert_int_equal(fa.infer, fm.infer);
    if (fa.infer) {
        const bl_rs_msg_t *xa = bl_rs_session_infer(sa, &fa, ids, nids, now, ra, &fla, &da);
        const bl_rs_msg_t *xm = bl_rs_session_infer_memo(sm, &fm, ids, nids, now, rm, &flm, &dm, memo, 4);
        assert_ptr_equal(xa, xm);
        assert_int_equal(fa.cmd, fm.cmd);
        assert_int_equal(fa.inferred, fm.inferred);
    }
    assert_int_equal(da, dm);
    if (!da && fa.msg != NULL) {
        int ea = bl_rs_decode_rec(sa->c, fa.msg, fa.pl, fa.plen, fa.group ? 1 : -1, now, ra, &fla);
        int em = bl_rs_decode_memo(sm->c, fm.msg, fm.pl, fm.plen, fm.group ? 1 : -1, now, rm, &flm, memo, 4);
        assert_int_equal(ea, em);
    }
    assert_int_equal(fla, flm);
    assert_memory_equal(ra, rm, sizeof *ra);
    assert_memory_equal(sa->rejected, sm->rejected, sizeof sa->rejected);
    return 1;
}

/* bl_rs_decode_memo() and bl_rs_session_infer_memo() store exactly what the plain calls
 * store: every command of every byte protocol answered by the battery role, the same answer
 * again (from the memo) and a changed one, inferred (the request unseen) and matched to its
 * request, the records disturbed in between. */
static void test_rs_memo_stores_what_decode_stores(void **state)
{
    static bl_rs_memo_t memo[4];
    size_t np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    unsigned answers = 0;
    (void)state;

    for (size_t k = 0; k < np; k++) {
        const bl_rs485_codec_t *c = bl_rs_codec(all[k]);
        uint16_t ids[64];
        size_t nids = 0;
        if (c == NULL || c->kind == BL_RSK_MODBUS)
            continue;
        for (unsigned i = 0; i < c->nmsgs && nids < 64; i++)
            ids[nids++] = c->msgs[i].id;
        for (unsigned see_request = 0; see_request < 2; see_request++) {
            bl_rs_session_t sb, sa, sm;
            bl_record_t ra, rm;
            memset(memo, 0, sizeof memo);
            assert_int_equal(bl_rs_session_init(&sb, all[k]), 0);
            assert_int_equal(bl_rs_session_init(&sa, all[k]), 0);
            assert_int_equal(bl_rs_session_init(&sm, all[k]), 0);
            sa.defer_infer = sm.defer_infer = true;
            bl_record_init(&ra);
            bl_record_init(&rm);
            for (unsigned round = 0; round < 3; round++) {
                for (unsigned i = 0; i < c->nmsgs; i++) {
                    uint8_t q[256], out[1024];
                    bl_rs_frame_t f;
                    bl_rs_answer_t res;
                    bl_rsr_t why;
                    bl_record_t r;
                    uint64_t now = 1000u + round;
                    int n = bl_rs_request(all[k], c->addr_default, c->msgs[i].id, false, q, sizeof q), len;
                    if (n <= 0 || bl_rs_session_frame(&sb, q, (size_t)n, buf, sizeof buf, &f, &why) < 0 || !f.request)
                        continue;
                    healthy(&r, now);
                    if (round == 2) /* another answer */
                        bl_record_set(&r, BL_F_SOC, 55500, 0, now);
                    len = bl_rs_answer(all[k], c->addr_default, &f, &r, now, 10000, out, sizeof out, &res);
                    if (len <= 0)
                        continue;
                    if (see_request) {
                        bl_rs_frame_t fx;
                        (void)bl_rs_session_frame(&sa, q, (size_t)n, buf, sizeof buf, &fx, &why);
                        (void)bl_rs_session_frame(&sm, q, (size_t)n, buf, sizeof buf, &fx, &why);
                    }
                    answers += memo_compare(&sa, &sm, out, (size_t)len, now, &ra, &rm, memo, ids, nids);
                    /* something else changes the record in between */
                    for (unsigned fl = 0; fl < BL_F_COUNT; fl++) {
                        bl_record_set(&ra, fl, -7, 0, now);
                        bl_record_set(&rm, fl, -7, 0, now);
                    }
                    ra.active[BL_AC_ALARM] = rm.active[BL_AC_ALARM] = 0x5555u;
                }
            }
        }
    }
    print_message("rs memo: %u answers compared\n", answers);
    assert_true(answers > 50);
}

/* The battery role: PYL-01 (0x42 to ADR 2) gets an answer from ADR 2 with RTN 0 and a
 * block for 16 cells; a request for ADR 3 gets none; an undefined CID2 gets RTN 0x04 */
static void test_pylon_battery_answers_its_own_address_only(void **state)
{
    const char *q42 = "~20024642E00202FD33\r", *q42b = "~20034642E00203FD31\r";
    uint8_t out[512];
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_rsr_t why;
    bl_pyl_frame_t pf;
    bl_record_t r;
    int n;
    (void)state;
    healthy(&r, 1000);
    assert_int_equal(bl_rs_session_init(&s, P("pylon-rs485")), 0);
    assert_int_equal(bl_rs_session_frame(&s, (const uint8_t *)q42, strlen(q42), buf, sizeof buf, &f, &why), 0);
    n = bl_rs_answer(P("pylon-rs485"), 0x02, &f, &r, 1500, 10000, out, sizeof out, &res);
    assert_true(n > 0);
    assert_int_equal(bl_pyl_parse(out, (size_t)n, buf, sizeof buf, &pf, &why, NULL, NULL), 0);
    assert_int_equal(pf.adr, 0x02);
    assert_int_equal(pf.cid2, 0x00);
    assert_int_equal(buf[1], 0x02);
    assert_int_equal(buf[2], 16);
    assert_int_equal(bl_rs_session_frame(&s, (const uint8_t *)q42b, strlen(q42b), buf, sizeof buf, &f, &why), 0);
    assert_int_equal(bl_rs_answer(P("pylon-rs485"), 0x02, &f, &r, 1500, 10000, out, sizeof out, &res), 0);
    assert_true(res.silent);
    {
        uint8_t q[32];
        n = bl_pyl_build(0x20, 0x02, 0x46, 0x33, NULL, 0, q, sizeof q);
        assert_int_equal(bl_rs_session_frame(&s, q, (size_t)n, buf, sizeof buf, &f, &why), 0);
        n = bl_rs_answer(P("pylon-rs485"), 0x02, &f, &r, 1500, 10000, out, sizeof out, &res);
        assert_int_equal(bl_pyl_parse(out, (size_t)n, buf, sizeof buf, &pf, &why, NULL, NULL), 0);
        assert_int_equal(pf.cid2, 0x04);
    }
}

/* Stale telemetry: the pack answers RTN 0x91 instead of old values; a write (0x94) is refused */
static void test_pylon_battery_with_stale_data_answers_an_error_code(void **state)
{
    const char *q42 = "~20024642E00202FD33\r";
    uint8_t out[512], q[64], set[9] = { 0x02, 0xD0, 0x02, 0xAF, 0xC8, 0x00, 0xC8, 0xFE, 0x0C };
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_rsr_t why;
    bl_pyl_frame_t pf;
    bl_record_t r;
    int n;
    (void)state;
    healthy(&r, 1000);
    assert_int_equal(bl_rs_session_init(&s, P("pylon-rs485")), 0);
    assert_int_equal(bl_rs_session_frame(&s, (const uint8_t *)q42, strlen(q42), buf, sizeof buf, &f, &why), 0);
    n = bl_rs_answer(P("pylon-rs485"), 0x02, &f, &r, 60000, 10000, out, sizeof out, &res);
    assert_int_equal(bl_pyl_parse(out, (size_t)n, buf, sizeof buf, &pf, &why, NULL, NULL), 0);
    assert_int_equal(pf.cid2, 0x91);
    assert_int_equal(pf.info_len, 0);
    n = bl_pyl_build(0x20, 0x02, 0x46, 0x94, set, sizeof set, q, sizeof q);
    assert_int_equal(bl_rs_session_frame(&s, q, (size_t)n, buf, sizeof buf, &f, &why), 0);
    n = bl_rs_answer(P("pylon-rs485"), 0x02, &f, &r, 1500, 10000, out, sizeof out, &res);
    assert_int_equal(bl_pyl_parse(out, (size_t)n, buf, sizeof buf, &pf, &why, NULL, NULL), 0);
    assert_int_equal(pf.cid2, 0x04);
}

/* A request with a wrong checksum for our address gets RTN 0x02 (§5) */
static void test_pylon_battery_answers_a_bad_checksum_with_rtn_02(void **state)
{
    const char *bad = "~20024642E00202FD34\r";
    uint8_t out[64];
    bl_rs_answer_t res;
    bl_pyl_frame_t pf;
    bl_rsr_t why;
    int n;
    (void)state;
    n = bl_rs_answer_reject(P("pylon-rs485"), 0x02, (const uint8_t *)bad, strlen(bad), BL_RSR_CHECKSUM, out,
                            sizeof out, &res);
    assert_int_equal(bl_pyl_parse(out, (size_t)n, buf, sizeof buf, &pf, &why, NULL, NULL), 0);
    assert_int_equal(pf.cid2, 0x02);
}

/* Daly battery role: 0x95 for a 16-cell record is six frames (3 cells each), numbered 1..6 */
static void test_daly_battery_sends_one_cell_frame_per_three_cells(void **state)
{
    const uint8_t q[] = { 0xA5, 0x40, 0x95, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x82 };
    uint8_t out[256];
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_rsr_t why;
    bl_record_t r;
    int n;
    (void)state;
    healthy(&r, 1000);
    assert_int_equal(bl_rs_session_init(&s, P("daly")), 0);
    assert_int_equal(bl_rs_session_frame(&s, q, sizeof q, buf, sizeof buf, &f, &why), 0);
    assert_true(f.request);
    n = bl_rs_answer(P("daly"), 0x40, &f, &r, 1500, 10000, out, sizeof out, &res);
    assert_int_equal(n, 6 * 13);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(out[13 * i + 1], 0x01);
        assert_int_equal(out[13 * i + 4], i + 1);
    }
    assert_int_equal(out[5] << 8 | out[6], 3297);  /* cell 1: the minimum */
    assert_int_equal(out[7] << 8 | out[8], 3303);  /* cell 2: the maximum */
}

/* SV3-08 (Seplos V3 bus capture), FC04 0x1000 x 17: 0x14CD = 53.25 V, 0xFF77 = -1.37 A,
 * 0x80E8 = 330 Ah, SOC 0x0340 = 83.2 %, SOH 0x03E7 = 99.9 %, 10 cycles, cells 3327..3328 mV,
 * temperatures 0x0B7F/0x0B81/0x0B7E -> 21.2/21.4/21.1 °C, limits 0x00B4 = 180 A */
static void test_seplos_v3_pack_info_a(void **state)
{
    const uint16_t regs[] = { 0x14CD, 0xFF77, 0x6B40, 0x80E8, 0x0122, 0x0340, 0x03E7, 0x000A, 0x0CFF,
                              0x0B7F, 0x0D00, 0x0CFF, 0x0B81, 0x0B7E, 0x0000, 0x00B4, 0x00B4 };
    const bl_rs485_codec_t *c = bl_rs_codec(P("seplos-v3"));
    const bl_mb_block_t b = { "pack_info_a", BL_MB_IR, 0x1000, 17, 0 };
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_mb_decode(c->map, &b, regs, 17, 1000, &r, &dec), 0);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 53250);
    assert_int_equal(r.f[BL_F_CURRENT].value, -1370);
    assert_int_equal(r.f[BL_F_CAPACITY].value, 330000);
    assert_int_equal(r.f[BL_F_SOC].value, 83200);
    assert_int_equal(r.f[BL_F_SOH].value, 99900);
    assert_int_equal(r.f[BL_F_CYCLE_COUNT].value, 10);
    assert_int_equal(r.f[BL_F_CELL_V_MAX].value, 3328);
    assert_int_equal(r.f[BL_F_CELL_V_MIN].value, 3327);
    assert_int_equal(r.f[BL_F_TEMP].value, 21200);
    assert_int_equal(r.f[BL_F_TEMP_MAX].value, 21400);
    assert_int_equal(r.f[BL_F_TEMP_MIN].value, 21100);
    assert_int_equal(r.f[BL_F_CCL].value, 180000);
    assert_int_equal(r.f[BL_F_DCL].value, 180000);
}

/* SV3-13: EIA 0x2000 x 4, 32-bit values low word first: 0x0000_1450 = 5200 x 10 mV,
 * 0xFFFF_FFE7 = -25 x 100 mA */
static void test_seplos_v3_bank_values_are_low_word_first(void **state)
{
    const uint16_t regs[] = { 0x1450, 0x0000, 0xFFE7, 0xFFFF };
    const bl_rs485_codec_t *c = bl_rs_codec(P("seplos-v3:bank"));
    const bl_mb_block_t b = { "bank_info", BL_MB_IR, 0x2000, 4, 0 };
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_mb_decode(c->map, &b, regs, 4, 1000, &r, &dec), 0);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 52000);
    assert_int_equal(r.f[BL_F_CURRENT].value, -2500);
}

/* SV3-02: FC01 0x2200 x 80, 10 bytes: TB09 = 0x01 (discharging), TB07 (byte 7) = 0x43:
 * discharge FET on (bit 0), charge FET on (bit 1) */
static void test_seplos_v3_bit_block(void **state)
{
    const uint8_t bytes[] = { 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x43, 0x00, 0x00 };
    uint16_t bits[80];
    const bl_rs485_codec_t *c = bl_rs_codec(P("seplos-v3:bank"));
    const bl_mb_block_t b = { "bank_bits", BL_MB_CO, 0x2200, 80, 0 };
    bl_record_t r;
    (void)state;
    for (unsigned i = 0; i < 80; i++)
        bits[i] = (bytes[i / 8] >> (i % 8)) & 1u;
    bl_record_init(&r);
    assert_int_equal(bl_mb_decode(c->map, &b, bits, 80, 1000, &r, &dec), 0);
    assert_int_equal(r.f[BL_F_DISCHARGE_ENABLE].value, 1);
    assert_int_equal(r.f[BL_F_CHARGE_ENABLE].value, 1);
    assert_int_equal(r.active[BL_AC_PROTECTION], 0);
    assert_true(r.known[BL_AC_PROTECTION] & (1U << BL_A_SHORT));
}

/* PMB-03 (derived from the PACE Modbus map): 0xFB2E = -1234 x 10 mA, 0x14C0 = 5312 x 10 mV,
 * SOC 0x57 = 87 %, SOH 0x63 = 99 % */
static void test_pace_modbus_first_registers(void **state)
{
    const uint16_t regs[] = { 0xFB2E, 0x14C0, 0x0057, 0x0063 };
    const bl_rs485_codec_t *c = bl_rs_codec(P("pace-modbus"));
    const bl_mb_block_t b = { "analog", BL_MB_HR, 0, 4, 0 };
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_mb_decode(c->map, &b, regs, 4, 1000, &r, &dec), 0);
    assert_int_equal(r.f[BL_F_CURRENT].value, -12340);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 53120);
    assert_int_equal(r.f[BL_F_SOC].value, 87000);
    assert_int_equal(r.f[BL_F_SOH].value, 99000);
}

/* The battery role on Modbus: PACE registers 0..3 from a record (52.8 V -> 5280,
 * 80 % -> 80), an unmapped address is BL_ENOENT (exception 02), a reserved gap inside
 * the live block reads 0 */
static void test_pace_modbus_served_registers(void **state)
{
    const bl_protocol_t *p = P("pace-modbus");
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    uint16_t regs[64], bad = 0;
    bl_record_t r;
    (void)state;
    healthy(&r, 1000);
    assert_int_equal(bl_mb_encode(p, c->map, BL_MB_HR, 0, 4, &r, 1500, 10000, regs, &bad, NULL), 0);
    assert_int_equal(regs[0], 0);
    assert_int_equal(regs[1], 5280);
    assert_int_equal(regs[2], 80);
    assert_int_equal(regs[3], 98);
    assert_int_equal(bl_mb_encode(p, c->map, BL_MB_HR, 13, 2, &r, 1500, 10000, regs, &bad, NULL), 0);
    assert_int_equal(regs[0], 0);
    assert_int_equal(bl_mb_encode(p, c->map, BL_MB_HR, 400, 1, &r, 1500, 10000, regs, &bad, NULL), BL_ENOENT);
    assert_int_equal(bad, 400);
}

/* JK-PB addresses are byte offsets: a read at 0x1290 of 4 registers returns the U32
 * pack voltage (0x1290, 0x1292 in JK's numbering) then the U32 power */
static void test_jk_pb_byte_addressed_u32(void **state)
{
    const bl_protocol_t *p = P("jk-pb");
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    uint16_t regs[4], bad;
    const bl_mb_block_t b = { "t", BL_MB_HR, 0x1290, 4, 0 };
    bl_record_t r, back;
    (void)state;
    healthy(&r, 1000);
    assert_int_equal(bl_mb_encode(p, c->map, BL_MB_HR, 0x1290, 4, &r, 1500, 10000, regs, &bad, NULL), 0);
    assert_int_equal(regs[0], 0x0000);
    assert_int_equal(regs[1], 52800); /* 0x0000_CE40 mV */
    bl_record_init(&back);
    assert_int_equal(bl_mb_decode(c->map, &b, regs, 4, 1000, &back, &dec), 0);
    assert_int_equal(back.f[BL_F_VOLTAGE].value, 52800);
}

/* Safety on Modbus: limits older than the stale time are served as 0 A */
static void test_modbus_stale_limits_are_served_as_zero(void **state)
{
    const bl_protocol_t *p = P("seplos-v3");
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    uint16_t regs[2], bad;
    bl_rs_encoded_t res;
    bl_record_t r;
    (void)state;
    healthy(&r, 1000);
    assert_int_equal(bl_mb_encode(p, c->map, BL_MB_IR, 0x100F, 2, &r, 60000, 10000, regs, &bad, &res), 0);
    assert_true(res.safe_state);
    assert_int_equal(regs[0], 0);
    assert_int_equal(regs[1], 0);
    assert_int_equal(bl_mb_encode(p, c->map, BL_MB_IR, 0x100F, 2, &r, 1500, 10000, regs, &bad, &res), 0);
    assert_int_equal(regs[0], 100);
    assert_int_equal(regs[1], 100);
}

/* JK-01: the read-all request (command 0x06, source 3 = PC, INFO 0x00), byte for byte */
static void test_jk_read_all_request_equals_the_vector(void **state)
{
    const uint8_t jk01[] = { 0x4E, 0x57, 0x00, 0x13, 0x00, 0x00, 0x00, 0x00, 0x06, 0x03, 0x00,
                             0x00, 0x00, 0x00, 0x00, 0x00, 0x68, 0x00, 0x00, 0x01, 0x29 };
    uint8_t out[32];
    (void)state;
    assert_int_equal(bl_rs_request(P("jk-4e57"), 0, 0x06, false, out, sizeof out), 21);
    assert_memory_equal(out, jk01, 21);
}

/* JK-02, the vendor's read-all answer: its checksum does not verify (decode-only), its
 * items do: 0x79 0x3C = 20 cells, lowest 0x0E9A = 3738 mV (cell 12), highest 0x0F05 = 3845 mV
 * (cells 6 and 8) -- the vector's expected column says 3777 / 3841, which no cell of the
 * frame carries: bmslink follows the bytes --, 0x82 0x001E = 30 °C,
 * 0x83 0x1DBC = 76.12 V, 0x84 0x2710 = 0 A (no 0xC0 item: raw - 10000), 0x85 0x47 = 71 %,
 * 0x87 cycles 1, 0x8C 0x000B: both MOSFETs on, 0xAA 0x28 = 40 Ah, 0xB7 "NW_1_0_0_200428" */
static void test_jk_read_all_items(void **state)
{
    static const char hex[] =
        "793C010EF9020EF8030F01040F03050F02060F05070F02080F05090EFB0A0EC80B0ECB0C0E9A0D0EC50E0EC60F0ECB100EC1"
        "110ECD120ECB130EBC140EC280001B81001E82001E831DBC8427108547860287000189000000008A00148B00008C000B8E20D08F15E0"
        "901068911036920004930AF0940B5495000496012C9700289800049900149A00049B10369C00649D009E00649F0050A00050A10046"
        "A20014A30064A40064A5FFECA6FFF6A7FFECA8FFF6A914AA00000028AB00AC00AD03E8AE01AF01B0000AB114B2000000000000000000"
        "00B301B43630333030303031B532303034B600000001B74E575F315F305F305F323030343238";
    uint8_t pl[400];
    size_t n = 0;
    const bl_rs485_codec_t *c = bl_rs_codec(P("jk-4e57"));
    bl_record_t r;
    (void)state;
    for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
        char b[3] = { hex[i], hex[i + 1], 0 };
        pl[n++] = (uint8_t)strtoul(b, NULL, 16);
    }
    bl_record_init(&r);
    assert_int_equal(bl_rs_decode(c, bl_rs_msg(c, 0x06), pl, n, 0, 1, &r, NULL, 0, &dec), 0);
    assert_int_equal(r.f[BL_F_CELL_V_MIN].value, 3738);
    assert_int_equal(r.f[BL_F_CELL_V_MAX].value, 3845);
    assert_int_equal(r.f[BL_F_TEMP].value, 30000);
    assert_int_equal(r.f[BL_F_VOLTAGE].value, 76120);
    assert_int_equal(r.f[BL_F_CURRENT].value, 0);
    assert_int_equal(r.f[BL_F_SOC].value, 71000);
    assert_int_equal(r.f[BL_F_CYCLE_COUNT].value, 1);
    assert_int_equal(r.f[BL_F_CAPACITY].value, 40000);
    assert_int_equal(r.f[BL_F_CHARGE_ENABLE].value, 1);
    assert_int_equal(r.f[BL_F_DISCHARGE_ENABLE].value, 1);
    assert_string_equal(bl_record_str(&r, BL_F_FIRMWARE), "NW_1_0_0_200428");
}

/* The current encoding of newer firmware (item 0xC0 = 1): bit 15 set = charging,
 * 0x83E8 = +10.00 A; 0x03E8 = -10.00 A; the old one: 0x2328 = 9000 -> -10.00 A */
static void test_jk_current_encodings(void **state)
{
    const bl_rs485_codec_t *c = bl_rs_codec(P("jk-4e57"));
    const uint8_t newchg[] = { 0x84, 0x83, 0xE8, 0xC0, 0x01 }, newdsg[] = { 0x84, 0x03, 0xE8, 0xC0, 0x01 };
    const uint8_t old[] = { 0x84, 0x23, 0x28 };
    const uint8_t cold[] = { 0x82, 0x00, 0x69 }; /* 105 -> -5 °C */
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_rs_decode(c, bl_rs_msg(c, 0x06), newchg, sizeof newchg, 0, 1, &r, NULL, 0, NULL), 0);
    assert_int_equal(r.f[BL_F_CURRENT].value, 10000);
    assert_int_equal(bl_rs_decode(c, bl_rs_msg(c, 0x06), newdsg, sizeof newdsg, 0, 1, &r, NULL, 0, NULL), 0);
    assert_int_equal(r.f[BL_F_CURRENT].value, -10000);
    assert_int_equal(bl_rs_decode(c, bl_rs_msg(c, 0x06), old, sizeof old, 0, 1, &r, NULL, 0, NULL), 0);
    assert_int_equal(r.f[BL_F_CURRENT].value, -10000);
    assert_int_equal(bl_rs_decode(c, bl_rs_msg(c, 0x06), cold, sizeof cold, 0, 1, &r, NULL, 0, NULL), 0);
    assert_int_equal(r.f[BL_F_TEMP].value, -5000);
}

/* An item id the table does not know cannot be skipped (its size is unknown): layout reject */
static void test_jk_unknown_item_is_a_layout_reject(void **state)
{
    const bl_rs485_codec_t *c = bl_rs_codec(P("jk-4e57"));
    const uint8_t pl[] = { 0x85, 0x47, 0x88, 0x01, 0x02 };
    bl_record_t r;
    (void)state;
    bl_record_init(&r);
    assert_int_equal(bl_rs_decode(c, bl_rs_msg(c, 0x06), pl, sizeof pl, 0, 1, &r, NULL, 0, &dec), BL_EBADMSG);
    assert_int_equal(dec.why, BL_RSR_LAYOUT);
    assert_false(r.f[BL_F_SOC].valid);
}

/* The battery role answers read-all with a frame that verifies and carries 0xC0 = 1:
 * charging 12.3 A is 0x8000 | 1230 = 0x84CE */
static void test_jk_battery_answer(void **state)
{
    const uint8_t q[] = { 0x4E, 0x57, 0x00, 0x13, 0x00, 0x00, 0x00, 0x00, 0x06, 0x03, 0x00,
                          0x00, 0x00, 0x00, 0x00, 0x00, 0x68, 0x00, 0x00, 0x01, 0x29 };
    uint8_t out[1200];
    bl_rs_session_t s;
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_rsr_t why;
    bl_record_t r, back;
    int n;
    (void)state;
    healthy(&r, 1000);
    bl_record_set(&r, BL_F_CURRENT, 12300, 1, 1000);
    assert_int_equal(bl_rs_session_init(&s, P("jk-4e57")), 0);
    assert_int_equal(bl_rs_session_frame(&s, q, sizeof q, buf, sizeof buf, &f, &why), 0);
    assert_true(f.request);
    n = bl_rs_answer(P("jk-4e57"), 0, &f, &r, 1500, 10000, out, sizeof out, &res);
    assert_true(n > 100);
    assert_int_equal(out[n - 5], 0x68);
    assert_int_equal(((unsigned)out[n - 2] << 8 | out[n - 1]), bl_sum16(out, (size_t)n - 4));
    assert_int_equal(bl_rs_session_frame(&s, out, (size_t)n, buf, sizeof buf, &f, &why), 0);
    assert_false(f.request);
    bl_record_init(&back);
    assert_int_equal(bl_rs_decode(s.c, f.msg, f.pl, f.plen, 0, 1, &back, NULL, 0, NULL), 0);
    assert_int_equal(back.f[BL_F_CURRENT].value, 12300);
    assert_int_equal(back.f[BL_F_VOLTAGE].value, 52800);
    assert_int_equal(back.f[BL_F_CELL_V_MIN].value, 3297);
    for (size_t i = 11; i + 2 < (size_t)n; i++)
        if (out[i] == 0x84) { /* the first 0x84 after the 0x79 cell list is the current item */
            if (out[i + 1] == 0x84 && out[i + 2] == 0xCE)
                return;
        }
    fail_msg("no 0x84 item with 0x84CE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daly_0x90_offset_30000_current),
        cmocka_unit_test(test_daly_current_sign_is_a_per_device_setting),
        cmocka_unit_test(test_daly_0x91_cell_extremes),
        cmocka_unit_test(test_daly_requests_equal_the_vectors),
        cmocka_unit_test(test_jbd_0x03_basic_info),
        cmocka_unit_test(test_jbd_0x04_cells_count_from_the_length),
        cmocka_unit_test(test_jbd_0x05_version_text),
        cmocka_unit_test(test_jbd_requests_equal_the_vectors),
        cmocka_unit_test(test_jbd_error_status_is_counted),
        cmocka_unit_test(test_pylon_session_matches_answers_to_requests),
        cmocka_unit_test(test_pylon_battery_answers_its_own_address_only),
        cmocka_unit_test(test_pylon_battery_with_stale_data_answers_an_error_code),
        cmocka_unit_test(test_pylon_battery_answers_a_bad_checksum_with_rtn_02),
        cmocka_unit_test(test_daly_battery_sends_one_cell_frame_per_three_cells),
        cmocka_unit_test(test_seplos_v3_pack_info_a),
        cmocka_unit_test(test_seplos_v3_bank_values_are_low_word_first),
        cmocka_unit_test(test_seplos_v3_bit_block),
        cmocka_unit_test(test_pace_modbus_first_registers),
        cmocka_unit_test(test_pace_modbus_served_registers),
        cmocka_unit_test(test_jk_pb_byte_addressed_u32),
        cmocka_unit_test(test_modbus_stale_limits_are_served_as_zero),
        cmocka_unit_test(test_jk_read_all_request_equals_the_vector),
        cmocka_unit_test(test_jk_read_all_items),
        cmocka_unit_test(test_jk_current_encodings),
        cmocka_unit_test(test_jk_unknown_item_is_a_layout_reject),
        cmocka_unit_test(test_jk_battery_answer),
        cmocka_unit_test(test_rs_memo_stores_what_decode_stores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
