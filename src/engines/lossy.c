/* The lossy-mapping table from two capability tables. */
#include "bmslink/lossy.h"

#include <string.h>

const char *bl_lossy_status_str(unsigned s)
{
    static const char *const n[] = { "passes", "degrades", "lost", "absent" };
    return s < BL_LOSSY_COUNT ? n[s] : "absent";
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b != 0) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a < 0 ? -a : a;
}

static int64_t mod64(int64_t a, int64_t m)
{
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

int32_t bl_lossy_requant_error(int32_t step_a, int32_t origin_a, int32_t step_b, int32_t origin_b)
{
    int64_t sb = step_b, g, r1, half, best = 0;

    if (step_a <= 0 || step_b <= 0)
        return 0;
    /* A's values sit at residues r1 + t*g (mod sb): the worst is the one nearest sb/2 */
    g = gcd64(step_a, sb);
    r1 = mod64((int64_t)origin_a - origin_b, g);
    half = sb / 2;
    for (int k = 0; k < 2; k++) {
        int64_t r = r1 + g * ((half - r1) / g + k);
        if (r < 0 || r >= sb)
            continue;
        if ((r < sb - r ? r : sb - r) > best)
            best = r < sb - r ? r : sb - r;
    }
    return (int32_t)best;
}

static unsigned bits(bl_alarm_mask_t m)
{
    unsigned n = 0;
    for (; m; m = (bl_alarm_mask_t)(m & (m - 1u)))
        n++;
    return n;
}

static bool field_is_number(unsigned f)
{
    const bl_field_info_t *fi = bl_field_info(f);
    return fi->kind == BL_FK_MILLI || fi->kind == BL_FK_INT;
}

static void map_field(const bl_caps_t *ca, const bl_caps_t *cb, unsigned f, bl_lossy_field_t *o)
{
    memset(o, 0, sizeof *o);
    if (!(ca->fields & BL_BIT(f))) {
        o->status = BL_LOSSY_ABSENT;
        return;
    }
    o->step_a = ca->step[f];
    o->lo_a = ca->lo[f];
    o->hi_a = ca->hi[f];
    o->text_a = ca->text[f];
    if ((ca->unverified | cb->unverified) & BL_BIT(f))
        o->why |= BL_LW_UNVERIFIED;
    if (!(cb->fields & BL_BIT(f))) {
        o->status = BL_LOSSY_LOST;
        return;
    }
    o->step_b = cb->step[f];
    o->lo_b = cb->lo[f];
    o->hi_b = cb->hi[f];
    o->text_b = cb->text[f];
    if (bl_field_info(f)->kind == BL_FK_STR) {
        if (o->text_b < o->text_a)
            o->why |= BL_LW_TEXT;
    } else if (field_is_number(f)) {
        o->max_error = bl_lossy_requant_error(ca->step[f], ca->origin[f], cb->step[f], cb->origin[f]);
        if (o->max_error > 0)
            o->why |= BL_LW_STEP;
        if (o->lo_a < o->lo_b || o->hi_a > o->hi_b)
            o->why |= BL_LW_RANGE;
    }
    o->status = (o->why & (BL_LW_STEP | BL_LW_RANGE | BL_LW_TEXT)) ? BL_LOSSY_DEGRADES : BL_LOSSY_PASSES;
}

/* On B's sent rows: the other alarms sharing the least-shared bit that carries alarm a, and
 * whether every row carrying it is a plain bit (which cannot say "no information"). */
static void b_rows(const bl_protocol_t *b, unsigned cls, unsigned a, bl_alarm_mask_t *partners, bool *plain)
{
    bl_can_codec_t c;
    bool found = false;

    *partners = 0;
    *plain = true;
    if (bl_can_codec_init(&c, b) < 0)
        return;
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        if (m->dir != BL_DIR_B2I || !c.sends[j])
            continue;
        for (unsigned i = 0; i < m->nsigs; i++) {
            const bl_signal_t *s = &m->sigs[i];
            bl_alarm_mask_t am;
            if ((s->kind != BL_SK_ALARM && s->kind != BL_SK_PAIR) || s->aclass != cls ||
                (s->flags & BL_SF_DECODE_ONLY))
                continue;
            am = (bl_alarm_mask_t)(((s->alarm < BL_A_COUNT) ? (1U << s->alarm) : 0U) | s->also);
            if (!(am & (1U << a)))
                continue;
            am = (bl_alarm_mask_t)(am & ~(1U << a));
            if (!found || bits(am) < bits(*partners))
                *partners = am;
            found = true;
            if (s->kind == BL_SK_PAIR)
                *plain = false;
        }
    }
}

/* On A's rows (decode side): the alarms a arrives together with when A's bit is shared. */
static bl_alarm_mask_t a_partners(const bl_protocol_t *pa, unsigned cls, unsigned a)
{
    bl_can_codec_t c;
    bl_alarm_mask_t best = 0;
    bool found = false;

    if (bl_can_codec_init(&c, pa) < 0)
        return 0;
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        if (m->dir != BL_DIR_B2I)
            continue;
        for (unsigned i = 0; i < m->nsigs; i++) {
            const bl_signal_t *s = &m->sigs[i];
            bl_alarm_mask_t am;
            if ((s->kind != BL_SK_ALARM && s->kind != BL_SK_PAIR) || s->aclass != cls)
                continue;
            am = (bl_alarm_mask_t)(((s->alarm < BL_A_COUNT) ? (1U << s->alarm) : 0U) | s->also);
            if (!(am & (1U << a)))
                continue;
            am = (bl_alarm_mask_t)(am & ~(1U << a));
            if (!found || bits(am) < bits(best))
                best = am;
            found = true;
        }
    }
    return best;
}

static void map_alarm(const bl_protocol_t *pa, const bl_protocol_t *pb, const bl_caps_t *ca, const bl_caps_t *cb,
                      unsigned cls, unsigned a, bl_lossy_alarm_t *o)
{
    bl_alarm_mask_t bit = (bl_alarm_mask_t)(1U << a), partners;
    bool plain;

    memset(o, 0, sizeof *o);
    o->to_class = (uint8_t)cls;
    if (!(ca->alarms[cls] & bit)) {
        o->status = BL_LOSSY_ABSENT;
        if (cb->alarms[cls] & bit) { /* B will send it with nothing behind it */
            b_rows(pb, cls, a, &partners, &plain);
            if (plain)
                o->why |= BL_LW_CLAIMS_OK;
        }
        return;
    }
    if (!(cb->alarms[cls] & bit)) {
        o->status = BL_LOSSY_LOST;
        for (unsigned k = 0; k < BL_AC_COUNT; k++)
            if (k != cls && (cb->alarms[k] & bit)) { /* a gateway could move it there */
                o->why |= BL_LW_CLASS;
                o->to_class = (uint8_t)k;
                break;
            }
        return;
    }
    b_rows(pb, cls, a, &partners, &plain);
    if (partners) {
        o->why |= BL_LW_SHARED;
        o->merged = partners;
    }
    if (ca->shared[cls] & bit) { /* A's bit already stands for several alarms */
        o->why |= BL_LW_SHARED;
        o->merged = (bl_alarm_mask_t)(o->merged | a_partners(pa, cls, a));
    }
    o->status = o->why ? BL_LOSSY_DEGRADES : BL_LOSSY_PASSES;
}

int bl_lossy_map(const bl_protocol_t *a, const bl_protocol_t *b, bl_lossy_t *out)
{
    bl_caps_t ca, cb;

    memset(out, 0, sizeof *out);
    if (a == NULL || b == NULL || bl_proto_root(a)->bus != BL_BUS_CAN || bl_proto_root(b)->bus != BL_BUS_CAN)
        return BL_EINVAL;
    out->a = a;
    out->b = b;
    bl_proto_caps(a, &ca);
    bl_proto_caps_sent(b, &cb);
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
        map_field(&ca, &cb, f, &out->field[f]);
        out->fields[out->field[f].status]++;
    }
    for (unsigned k = 0; k < BL_AC_COUNT; k++)
        for (unsigned x = 0; x < BL_A_COUNT; x++) {
            map_alarm(a, b, &ca, &cb, k, x, &out->alarm[k][x]);
            if (out->alarm[k][x].status != BL_LOSSY_ABSENT)
                out->alarms[out->alarm[k][x].status]++;
        }
    return 0;
}
