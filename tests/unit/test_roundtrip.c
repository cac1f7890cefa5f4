/*
 * Every CAN protocol, every message (both directions), every row: encode -> decode
 * comes back within the row's resolution over its whole valid range, edges
 * included; flags, alarm bits and text survive; an empty record encodes to the
 * safe state and that frame decodes without a reject. Table-driven: a new
 * protocol is covered the moment it is registered.
 *
 * The expectations are the row's own declared step and range (the table is the
 * specification); the literal byte layouts are checked by the per-family tests
 * against cited vectors, not here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bmslink/protocol.h"

static unsigned n_checked;

static void fail_at(const bl_protocol_t *p, const bl_message_t *m, const bl_signal_t *s, const char *what,
                    long long a, long long b)
{
    print_error("%s 0x%X %s.%s: %s (%lld vs %lld)\n", p->name, (unsigned)m->id, m->name, s ? s->name : "-", what, a,
                b);
    fail();
}

static int32_t step_of(const bl_signal_t *s)
{
    int32_t d = s->div > 0 ? s->div : 1, m = s->mul < 0 ? -s->mul : s->mul;
    return m / d > 0 ? m / d : 1;
}

static bool row_is_sent(const bl_message_t *m, const bl_signal_t *s)
{
    unsigned end;
    if (s->order == BL_LE)
        end = (unsigned)s->start + s->len;
    else
        end = (unsigned)s->start / 8u * 8u + 7u - (unsigned)s->start % 8u + s->len;
    return (end + 7u) / 8u <= m->dlc;
}

/* a value of the field a row carries, as the record stores it */
static void put(bl_record_t *r, unsigned field, int64_t milli)
{
    const bl_field_info_t *fi = bl_field_info(field);
    bl_record_set(r, field, (int32_t)(fi->kind == BL_FK_INT ? milli / 1000 : milli), 3, 0);
}

/* Sweep one numeric row: 41 points over its range plus both edges and one step in. */
static void sweep_num(bl_can_codec_t *c, const bl_message_t *m, unsigned mux, unsigned i)
{
    bl_signal_t s;
    int64_t lo, hi, step;
    const bl_field_info_t *fi;

    bl_can_sig(c, m, i, &s);
    fi = bl_field_info(s.field);
    if (fi == NULL || (s.flags & (BL_SF_NO_STORE | BL_SF_STATE)) || !row_is_sent(m, &s))
        return;
    bl_sig_range(&s, &lo, &hi);
    step = step_of(&s);
    if (fi->kind == BL_FK_INT) { /* counts: whole numbers only */
        lo = (lo + 999) / 1000 * 1000;
        hi = hi / 1000 * 1000;
        if (hi > INT32_MAX / 2)
            hi = 1000000; /* a count of a million is enough to prove the scaling */
    }
    if (hi - lo > (int64_t)INT32_MAX)
        hi = lo + INT32_MAX;
    for (int k = -2; k <= 42; k++) {
        int64_t v = k == -2 ? lo : k == -1 ? lo + step : k == 41 ? hi - step : k == 42 ? hi : lo + (hi - lo) * k / 40;
        bl_record_t r, back;
        bl_can_frame_t f;
        bl_decoded_t d;
        int rc;

        if (v < lo || v > hi)
            continue;
        if (fi->kind == BL_FK_INT)
            v = v / 1000 * 1000;
        bl_record_init(&r);
        bl_record_init(&back);
        put(&r, s.field, v);
        rc = bl_can_encode(c, m, mux, &r, 0, 0, 0, &f, NULL);
        if (rc != 0)
            fail_at(c->p, m, &s, "encode failed inside the row's range", v, rc);
        rc = bl_can_decode(c, &f, 0, &back, &d);
        if (rc != 0)
            fail_at(c->p, m, &s, "own frame rejected", v, d.why);
        if (!(d.have >> i & 1u))
            fail_at(c->p, m, &s, "row missing from its own frame", v, 0);
        /* rounding to the nearest step: at most half a step (+1 milli for odd steps) */
        if (d.val[i] - v > step / 2 + 1 || v - d.val[i] > step / 2 + 1)
            fail_at(c->p, m, &s, "round trip off by more than half a step", d.val[i], v);
        n_checked++;
    }
}

static void check_bool(bl_can_codec_t *c, const bl_message_t *m, unsigned mux, unsigned i)
{
    bl_signal_t s;
    bl_can_sig(c, m, i, &s);
    if (s.field >= BL_F_COUNT || !row_is_sent(m, &s))
        return;
    for (int v = 0; v <= 1; v++) {
        bl_record_t r, back;
        bl_can_frame_t f;
        bl_record_init(&r);
        bl_record_init(&back);
        bl_record_set(&r, s.field, v, 0, 0);
        assert_int_equal(bl_can_encode(c, m, mux, &r, 0, 0, 0, &f, NULL), 0);
        assert_int_equal(bl_can_decode(c, &f, 0, &back, NULL), 0);
        if (!back.f[s.field].valid || back.f[s.field].value != v)
            fail_at(c->p, m, &s, "flag did not come back", back.f[s.field].value, v);
        n_checked++;
    }
}

static void check_alarm(bl_can_codec_t *c, const bl_message_t *m, unsigned mux, unsigned i)
{
    bl_signal_t s;
    bl_alarm_mask_t am;
    bl_can_sig(c, m, i, &s);
    if (s.alarm >= BL_A_COUNT || (s.flags & BL_SF_DECODE_ONLY) || !row_is_sent(m, &s))
        return;
    am = (bl_alarm_mask_t)(1U << s.alarm);
    for (int v = 0; v <= 1; v++) {
        bl_record_t r, back;
        bl_can_frame_t f;
        bl_record_init(&r);
        bl_record_init(&back);
        /* every limit fresh so the safe state does not raise alarms of its own */
        bl_record_set(&r, BL_F_CVL, 50000, 1, 0);
        bl_record_set(&r, BL_F_CCL, 10000, 1, 0);
        bl_record_set(&r, BL_F_DCL, 10000, 1, 0);
        r.known[s.aclass] = BL_A_ALL;
        r.active[s.aclass] = v ? am : 0;
        assert_int_equal(bl_can_encode(c, m, mux, &r, 0, 0, 0, &f, NULL), 0);
        assert_int_equal(bl_can_decode(c, &f, 0, &back, NULL), 0);
        if (((back.active[s.aclass] & am) != 0) != v)
            fail_at(c->p, m, &s, "alarm did not come back", back.active[s.aclass], v);
        if (!(back.known[s.aclass] & am))
            fail_at(c->p, m, &s, "alarm not reported as known", back.known[s.aclass], am);
        n_checked++;
    }
}

static void check_text(bl_can_codec_t *c, const bl_message_t *m, unsigned i)
{
    static const char sample[] = "AbcDef1Ghi2Jkl3Mno4Pqr5Stu6";
    bl_signal_t s;
    bl_record_t r, back;
    const char *got;
    size_t first = 0, n;

    bl_can_sig(c, m, i, &s);
    if (s.kind != BL_SK_ASCII || bl_field_info(s.field) == NULL || !row_is_sent(m, &s))
        return;
    bl_record_init(&r);
    bl_record_init(&back);
    bl_record_set_str(&r, s.field, sample, strlen(sample), 0);
    /* every piece of a multi-frame / multiplexed string, in order */
    for (unsigned j = 0; j < c->n; j++) {
        const bl_message_t *mm = c->msg[j];
        for (unsigned mux = 0; mux < (mm->nmux ? mm->nmux : 1u); mux++) {
            bl_can_frame_t f;
            bool carries = false;
            for (unsigned k = 0; k < mm->nsigs; k++)
                carries = carries || (mm->sigs[k].kind == BL_SK_ASCII && mm->sigs[k].field == s.field &&
                                      mm->dir == m->dir);
            if (!carries)
                continue;
            assert_int_equal(bl_can_encode(c, mm, mux, &r, 0, 0, 0, &f, NULL), 0);
            assert_int_equal(bl_can_decode(c, &f, 0, &back, NULL), 0);
        }
    }
    got = bl_record_str(&back, s.field);
    first = s.str_off;
    n = s.len / 8u;
    if (strncmp(got + first, sample + first, n) != 0 && strlen(got) > first)
        fail_at(c->p, m, &s, "text piece did not come back", (long long)strlen(got), (long long)(first + n));
    n_checked++;
}

/* An empty record: every limit substituted, the safe state raised, and the frame still
 * decodes (a safe frame that the protocol's own decoder rejects would be no safe frame). */
static void check_safe_frame(bl_can_codec_t *c, const bl_message_t *m, unsigned mux)
{
    bl_record_t r, back;
    bl_can_frame_t f;
    bl_encoded_t res;
    bl_decoded_t d;

    bl_record_init(&r);
    bl_record_init(&back);
    if (bl_can_encode(c, m, mux, &r, 0, 0, 0, &f, &res) != 0)
        fail_at(c->p, m, NULL, "empty record does not encode", res.sig, 0);
    if (bl_can_decode(c, &f, 0, &back, &d) != 0)
        fail_at(c->p, m, d.msg && d.sig < m->nsigs ? &m->sigs[d.sig] : NULL, "safe frame rejected", d.why, 0);
    if (back.f[BL_F_CCL].valid && back.f[BL_F_CCL].value != 0)
        fail_at(c->p, m, NULL, "safe frame carries a charge current", back.f[BL_F_CCL].value, 0);
    if (back.f[BL_F_DCL].valid && back.f[BL_F_DCL].value != 0)
        fail_at(c->p, m, NULL, "safe frame carries a discharge current", back.f[BL_F_DCL].value, 0);
    if (back.f[BL_F_CHARGE_ENABLE].valid && back.f[BL_F_CHARGE_ENABLE].value != 0)
        fail_at(c->p, m, NULL, "safe frame allows charging", 1, 0);
    if (back.f[BL_F_DISCHARGE_ENABLE].valid && back.f[BL_F_DISCHARGE_ENABLE].value != 0)
        fail_at(c->p, m, NULL, "safe frame allows discharging", 1, 0);
    n_checked++;
}

static void test_every_row_of_every_protocol_round_trips(void **state)
{
    size_t np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    unsigned protos = 0, msgs = 0;
    (void)state;

    for (size_t k = 0; k < np; k++) {
        bl_can_codec_t c;
        if (bl_can_codec_init(&c, all[k]) < 0)
            continue; /* RS485 / Modbus */
        protos++;
        for (unsigned j = 0; j < c.n; j++) {
            const bl_message_t *m = c.msg[j];
            msgs++;
            for (unsigned mux = 0; mux < (m->nmux ? m->nmux : 1u); mux++) {
                check_safe_frame(&c, m, mux);
                for (unsigned i = 0; i < m->nsigs; i++) {
                    if (m->sigs[i].mux >= 0 && (unsigned)m->sigs[i].mux != mux)
                        continue;
                    switch (m->sigs[i].kind) {
                    case BL_SK_NUM: sweep_num(&c, m, mux, i); break;
                    case BL_SK_BOOL: check_bool(&c, m, mux, i); break;
                    case BL_SK_ALARM:
                    case BL_SK_PAIR: check_alarm(&c, m, mux, i); break;
                    case BL_SK_ASCII: check_text(&c, m, i); break;
                    default: break;
                    }
                }
            }
        }
    }
    print_message("round trips: %u protocols, %u messages, %u checks\n", protos, msgs, n_checked);
    assert_true(protos >= 14);
}

/* A record with every field set (values the encoder clamps into each row's range) and alarms. */
static void fill(bl_record_t *r, unsigned seed)
{
    bl_record_init(r);
    for (unsigned f = 0; f < BL_F_COUNT; f++)
        bl_record_set(r, f, (int32_t)(seed * 7919u + f * 1237u) % 60000, 3, 0);
    bl_record_set_str(r, BL_F_MANUFACTURER, "MEMO-TEST-MAKER", 15, 0);
    bl_record_set_str(r, BL_F_MODEL, "MODEL-X", 7, 0);
    for (unsigned k = 0; k < BL_AC_COUNT; k++) {
        r->active[k] = (bl_alarm_mask_t)(seed * 0x5A5Bu >> k);
        r->known[k] = (bl_alarm_mask_t)(r->active[k] | 0x0F0Fu);
    }
}

/* bl_can_decode_memo() stores exactly what bl_can_decode() stores: every message of every CAN
 * protocol, each frame twice (the second from the memo) with the record disturbed in between,
 * then with other bytes (a full decode again); the records, alarm states and counters agree. */
static void test_decode_memo_stores_what_decode_stores(void **state)
{
    static bl_can_memo_t memo[BL_CAN_MAX_MSGS];
    size_t np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    unsigned repeats = 0;
    (void)state;

    for (size_t k = 0; k < np; k++) {
        bl_can_codec_t enc, a, b;
        bl_record_t ra, rb;
        if (bl_can_codec_init(&enc, all[k]) < 0)
            continue;
        (void)bl_can_codec_init(&a, all[k]);
        (void)bl_can_codec_init(&b, all[k]);
        memset(memo, 0, sizeof memo);
        bl_record_init(&ra);
        bl_record_init(&rb);
        for (unsigned seed = 1; seed <= 3; seed++) {
            bl_record_t src;
            fill(&src, seed / 2u); /* seeds 2 and 3 say the same: repeats across rounds too */
            for (unsigned j = 0; j < enc.n; j++) {
                const bl_message_t *m = enc.msg[j];
                for (unsigned mux = 0; mux < (m->nmux ? m->nmux : 1u); mux++) {
                    bl_can_frame_t f;
                    bl_decoded_t da, db;
                    bool rep;
                    if (bl_can_encode(&enc, m, mux, &src, 0, 0, BL_ENC_CLAMP, &f, NULL) != 0)
                        continue;
                    for (unsigned again = 0; again < 2; again++) {
                        uint64_t now = seed * 1000u + again;
                        int rca = bl_can_decode_memo(&a, &f, now, &ra, &da, memo, &rep);
                        int rcb = bl_can_decode(&b, &f, now, &rb, &db);
                        assert_int_equal(rca, rcb);
                        repeats += rep;
                        assert_memory_equal(&ra, &rb, sizeof ra);
                        assert_int_equal(da.fields, db.fields);
                        assert_memory_equal(da.active, db.active, sizeof da.active);
                        assert_memory_equal(da.known, db.known, sizeof da.known);
                        /* another message may overwrite the same fields in between */
                        for (unsigned fl = 0; fl < BL_F_COUNT; fl++) {
                            bl_record_set(&ra, fl, -1, 0, now);
                            bl_record_set(&rb, fl, -1, 0, now);
                        }
                    }
                }
            }
        }
        assert_memory_equal(a.msg_active, b.msg_active, sizeof a.msg_active);
        assert_int_equal(a.decoded, b.decoded);
        assert_memory_equal(a.rejected, b.rejected, sizeof a.rejected);
    }
    print_message("decode memo: %u frames stored again from the memo\n", repeats);
    assert_true(repeats > 100);
}

/* bl_can_encode_memo() makes exactly what bl_can_encode() makes: every message of every CAN
 * protocol over a sequence of records (the same again, a field changed, fields going stale,
 * alarms and text changed, the session state moved); frames, results and return values agree. */
static void test_encode_memo_makes_what_encode_makes(void **state)
{
    static bl_can_ememo_t memo[2][BL_CAN_MAX_MSGS]; /* without and with a stale time */
    size_t np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    unsigned frames = 0;
    (void)state;

    for (size_t k = 0; k < np; k++) {
        bl_can_codec_t c;
        bl_record_t r;
        if (bl_can_codec_init(&c, all[k]) < 0)
            continue;
        memset(memo, 0, sizeof memo);
        fill(&r, 1);
        for (unsigned step = 0; step < 12; step++) {
            uint64_t now = 1000u * step;
            switch (step) {
            case 2: bl_record_set(&r, BL_F_CCL, 0, 1, 0); break;     /* a value changes */
            case 3: bl_record_set(&r, BL_F_SOC, 55000, 1, 0); break;
            case 5: r.active[BL_AC_ALARM] ^= 0x3u; break;            /* alarms change */
            case 6: r.known[BL_AC_WARNING] = 0; break;
            case 7: bl_record_set_str(&r, BL_F_MANUFACTURER, "OTHER", 5, 0); break;
            case 8: bl_record_clear(&r, BL_F_MODEL); break;
            case 9: c.state = 1; break;                              /* the session moves */
            case 10: fill(&r, 2); break;
            default: break;
            }
            for (unsigned j = 0; j < c.n; j++) {
                const bl_message_t *m = c.msg[j];
                for (unsigned mux = 0; mux < (m->nmux ? m->nmux : 1u); mux++) {
                    for (unsigned stale = 0; stale < 2; stale++) {
                        /* stale_ms 2500: the fields set at 0 go stale from step 3 on */
                        uint64_t st = stale ? 2500u : 0u;
                        bl_can_frame_t fa, fb;
                        bl_encoded_t ea, eb;
                        int ra = bl_can_encode_memo(&c, m, mux, &r, now, st, BL_ENC_CLAMP, &fa, &ea, &memo[stale][j]);
                        int rb = bl_can_encode(&c, m, mux, &r, now, st, BL_ENC_CLAMP, &fb, &eb);
                        assert_int_equal(ra, rb);
                        assert_memory_equal(&fa, &fb, sizeof fa);
                        assert_memory_equal(&ea, &eb, sizeof ea);
                        frames++;
                    }
                }
            }
        }
    }
    print_message("encode memo: %u frames compared\n", frames);
    assert_true(frames > 1000);
}

/* Every row fits its message and no two rows of a message overlap (mux siblings aside):
 * a table typo would silently corrupt a neighbour. */
static void test_rows_fit_and_do_not_overlap(void **state)
{
    size_t np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    (void)state;

    for (size_t k = 0; k < np; k++) {
        bl_can_codec_t c;
        if (bl_can_codec_init(&c, all[k]) < 0)
            continue;
        for (unsigned j = 0; j < c.n; j++) {
            const bl_message_t *m = c.msg[j];
            uint8_t used[BL_MAX_SIGS][8];
            assert_true(m->nsigs <= BL_MAX_SIGS);
            assert_true(m->dlc <= 8 && m->dlc_min <= m->dlc);
            memset(used, 0, sizeof used);
            for (unsigned i = 0; i < m->nsigs; i++) {
                bl_signal_t s;
                uint8_t ones[8] = { 0 };
                bl_can_sig(&c, m, i, &s);
                if (s.kind == BL_SK_ASCII || s.kind == BL_SK_VERSION) {
                    unsigned b0 = s.start / 8u, b1 = s.start / 8u + s.len / 8u;
                    if (b1 > 8)
                        fail_at(c.p, m, &s, "text beyond 8 bytes", b1, 8);
                    for (unsigned b = b0; b < b1 && b < 8; b++)
                        ones[b] = 0xFF;
                } else if (bl_sig_raw_put(&s, ones, 8, UINT64_MAX) != 0) {
                    fail_at(c.p, m, &s, "row does not fit in 8 bytes", s.start, s.len);
                }
                for (unsigned q = 0; q < i; q++) {
                    bool siblings = m->sigs[q].mux >= 0 && m->sigs[i].mux >= 0 && m->sigs[q].mux != m->sigs[i].mux;
                    for (unsigned b = 0; b < 8 && !siblings; b++)
                        if (used[q][b] & ones[b])
                            fail_at(c.p, m, &s, "rows overlap", q, i);
                }
                memcpy(used[i], ones, 8);
            }
        }
    }
}

/* Every trigger row names messages the protocol has, in the right direction. */
static void test_trigger_rows_name_real_messages(void **state)
{
    size_t np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    (void)state;

    for (size_t k = 0; k < np; k++) {
        bl_can_codec_t c;
        size_t nt, ns;
        const bl_trigger_t *t;
        if (bl_can_codec_init(&c, all[k]) < 0)
            continue;
        t = bl_proto_triggers(all[k], &nt);
        (void)bl_proto_states(all[k], &ns);
        for (size_t i = 0; i < nt; i++) {
            if (bl_can_msg(&c, t[i].req, t[i].ext, BL_DIR_I2B) == NULL) {
                print_error("%s: trigger on 0x%X: no such inverter message\n", all[k]->name, (unsigned)t[i].req);
                fail();
            }
            for (const uint32_t *id = t[i].resp; id != NULL && *id; id++) {
                const bl_message_t *m = bl_can_msg(&c, *id, t[i].ext, BL_DIR_B2I);
                if (m == NULL || !bl_can_sends(&c, m)) {
                    print_error("%s: trigger answers 0x%X, which the battery does not send\n", all[k]->name,
                                (unsigned)*id);
                    fail();
                }
            }
            if (t[i].next_state != BL_STATE_KEEP)
                assert_true(t[i].next_state < (ns ? ns : 1));
            assert_non_null(t[i].what);
        }
        /* an inverter-first protocol needs a row that starts the battery or answers it */
        if (bl_proto_root(all[k])->first == BL_FIRST_INVERTER) {
            bool answers = false;
            for (size_t i = 0; i < nt; i++)
                answers = answers || (t[i].action & (BL_TA_START | BL_TA_RESPOND));
            if (!answers) {
                print_error("%s: the inverter speaks first but nothing makes the battery answer\n", all[k]->name);
                fail();
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row_of_every_protocol_round_trips),
        cmocka_unit_test(test_decode_memo_stores_what_decode_stores),
        cmocka_unit_test(test_encode_memo_makes_what_encode_makes),
        cmocka_unit_test(test_rows_fit_and_do_not_overlap),
        cmocka_unit_test(test_trigger_rows_name_real_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
