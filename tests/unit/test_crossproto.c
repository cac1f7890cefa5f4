/*
 * One canonical record, encoded by every CAN protocol (everything its battery side
 * sends) and decoded back: every field comes back within that protocol's
 * resolution, or the capability table says the protocol does not carry it. One
 * alarm at a time: it comes back raised in every protocol that declares it, and
 * only alarms declared as sharing its bit come with it.
 *
 * The record: a 16-cell LFP pack, values chosen off every protocol's grid
 * (55.55 % SOC, -12.34 A, 3.201 V cell) so rounding is exercised.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bmslink/protocol.h"

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
    bl_record_set(r, BL_F_FORCE_CHARGE, 0, 0, 0);
    bl_record_set(r, BL_F_FULL_CHARGE_REQ, 1, 0, 0);
    bl_record_set(r, BL_F_MODULE_COUNT, 4, 0, 0);
    bl_record_set(r, BL_F_CAPACITY, 280000, 0, 0);
    bl_record_set(r, BL_F_CYCLE_COUNT, 123, 0, 0);
    bl_record_set_str(r, BL_F_MANUFACTURER, "ACME", 4, 0);
    bl_record_set_str(r, BL_F_MODEL, "Stack-16", 8, 0);
    bl_record_set_str(r, BL_F_FIRMWARE, "3.24", 4, 0);
}

/* every message the battery side sends, every selector value */
static void encode_decode_all(bl_can_codec_t *c, const bl_record_t *in, bl_record_t *out)
{
    bl_record_init(out);
    for (unsigned j = 0; j < c->n; j++) {
        const bl_message_t *m = c->msg[j];
        if (m->dir != BL_DIR_B2I || !c->sends[j])
            continue;
        for (unsigned mux = 0; mux < (m->nmux ? m->nmux : 1u); mux++) {
            bl_can_frame_t f;
            bl_encoded_t res;
            bl_decoded_t d;
            if (bl_can_encode(c, m, mux, in, 0, 0, 0, &f, &res) != 0) {
                print_error("%s: 0x%X %s does not encode the record (row %u)\n", c->p->name, (unsigned)m->id, m->name,
                            res.sig);
                fail();
            }
            if (bl_can_decode(c, &f, 0, out, &d) != 0) {
                print_error("%s: own frame 0x%X rejected: %s\n", c->p->name, (unsigned)m->id, bl_reject_str(d.why));
                fail();
            }
        }
    }
}

/* version strings compare by their numbers: "03.24" (hex-digit bytes) is 3.24; a 1-byte
 * version field keeps only the first number; the trailing ".0" of a 3-byte one is padding */
static bool same_version(const char *want, const char *got)
{
    unsigned w[4] = { 0 }, g[4] = { 0 };
    int nw = sscanf(want, "%u.%u.%u.%u", &w[0], &w[1], &w[2], &w[3]);
    int ng = sscanf(got, "%u.%u.%u.%u", &g[0], &g[1], &g[2], &g[3]);
    for (int i = 0; i < ng; i++)
        if (g[i] != w[i] && !(i >= nw && g[i] == 0))
            return false;
    return ng > 0;
}

static void test_one_record_through_every_protocol(void **state)
{
    size_t np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    bl_record_t in;
    unsigned protos = 0, compared = 0;
    (void)state;

    make_record(&in);
    for (size_t k = 0; k < np; k++) {
        bl_can_codec_t c;
        bl_caps_t caps;
        bl_record_t out;
        if (bl_can_codec_init(&c, all[k]) < 0)
            continue;
        protos++;
        bl_proto_caps_sent(all[k], &caps);
        encode_decode_all(&c, &in, &out);
        for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
            const bl_field_info_t *fi = bl_field_info(f);
            bool carried = (caps.fields & BL_BIT(f)) != 0;
            if (carried != (out.f[f].valid != 0)) {
                print_error("%s: %s %s by the capability table but %s back\n", all[k]->name, fi->key,
                            carried ? "carried" : "lost", out.f[f].valid ? "came" : "did not come");
                fail();
            }
            if (!carried)
                continue;
            compared++;
            if (fi->kind == BL_FK_STR) {
                const char *want = bl_record_str(&in, f), *got = bl_record_str(&out, f);
                if (f == BL_F_FIRMWARE ? !same_version(want, got) : strncmp(want, got, caps.text[f]) != 0) {
                    print_error("%s: %s \"%s\" came back as \"%s\"\n", all[k]->name, fi->key, want, got);
                    fail();
                }
                continue;
            }
            {
                int64_t want = in.f[f].value, got = out.f[f].value;
                int64_t step = fi->kind == BL_FK_INT ? 1 : caps.step[f];
                if (got - want > step / 2 + 1 || want - got > step / 2 + 1) {
                    print_error("%s: %s %lld came back as %lld (step %lld)\n", all[k]->name, fi->key,
                                (long long)want, (long long)got, (long long)step);
                    fail();
                }
            }
        }
    }
    print_message("%u protocols, %u field values compared\n", protos, compared);
    assert_true(protos >= 14);
}

static void test_one_alarm_at_a_time_through_every_protocol(void **state)
{
    size_t np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    unsigned checked = 0;
    (void)state;

    for (size_t k = 0; k < np; k++) {
        bl_can_codec_t c;
        bl_caps_t caps;
        if (bl_can_codec_init(&c, all[k]) < 0)
            continue;
        bl_proto_caps_sent(all[k], &caps);
        for (unsigned cls = 0; cls < BL_AC_COUNT; cls++)
            for (unsigned a = 0; a < BL_A_COUNT; a++) {
                bl_record_t in, out;
                bl_alarm_mask_t am = (bl_alarm_mask_t)(1U << a), extra;
                make_record(&in); /* fresh limits: no safe-state alarms */
                in.known[cls] = BL_A_ALL;
                in.active[cls] = am;
                encode_decode_all(&c, &in, &out);
                if (((out.active[cls] & am) != 0) != ((caps.alarms[cls] & am) != 0)) {
                    print_error("%s: %s %s: declared %s, came back %s\n", all[k]->name, bl_alarm_class_str(cls),
                                bl_alarm_str(a), (caps.alarms[cls] & am) ? "carried" : "lost",
                                (out.active[cls] & am) ? "raised" : "not raised");
                    fail();
                }
                /* anything else raised must share a bit with it, as the table declares */
                extra = (bl_alarm_mask_t)(out.active[cls] & ~am);
                if (extra && (!(caps.shared[cls] & am) || (extra & ~caps.shared[cls]))) {
                    print_error("%s: %s %s raised others (0x%X) without a declared shared bit\n", all[k]->name,
                                bl_alarm_class_str(cls), bl_alarm_str(a), extra);
                    fail();
                }
                for (unsigned o = 0; o < BL_AC_COUNT; o++)
                    if (o != cls && out.active[o]) {
                        print_error("%s: %s %s leaked into %s\n", all[k]->name, bl_alarm_class_str(cls),
                                    bl_alarm_str(a), bl_alarm_class_str(o));
                        fail();
                    }
                checked++;
            }
    }
    print_message("%u alarm round trips\n", checked);
}

/* The safe state, through every protocol: with no limits known nothing lets current flow,
 * and every protocol that declares safe-state alarms raises them. */
static void test_no_limits_means_the_safe_state_everywhere(void **state)
{
    size_t np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    (void)state;

    for (size_t k = 0; k < np; k++) {
        bl_can_codec_t c;
        bl_record_t in, out;
        bl_caps_t caps;
        if (bl_can_codec_init(&c, all[k]) < 0)
            continue;
        bl_proto_caps_sent(all[k], &caps);
        make_record(&in);
        bl_record_clear(&in, BL_F_CCL);
        bl_record_clear(&in, BL_F_DCL);
        bl_record_clear(&in, BL_F_CVL);
        encode_decode_all(&c, &in, &out);
        if (out.f[BL_F_CCL].valid)
            assert_int_equal(out.f[BL_F_CCL].value, 0);
        if (out.f[BL_F_DCL].valid)
            assert_int_equal(out.f[BL_F_DCL].value, 0);
        for (unsigned cls = 0; cls < BL_AC_COUNT; cls++) {
            bl_alarm_mask_t want = (bl_alarm_mask_t)(bl_proto_safe(all[k], cls) & caps.alarms[cls]);
            if ((out.active[cls] & want) != want) {
                print_error("%s: safe state should raise %s 0x%X, got 0x%X\n", all[k]->name,
                            bl_alarm_class_str(cls), want, out.active[cls]);
                fail();
            }
        }
        /* a protocol with current limits must carry them: a battery that cannot say "stop" is no battery */
        assert_true(caps.fields & BL_BIT(BL_F_CCL));
        assert_true(caps.fields & BL_BIT(BL_F_DCL));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_record_through_every_protocol),
        cmocka_unit_test(test_one_alarm_at_a_time_through_every_protocol),
        cmocka_unit_test(test_no_limits_means_the_safe_state_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
