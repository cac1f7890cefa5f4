/* Protocol metadata resolution (variants inherit from their base) and capabilities. */
#include "bmslink/protocol.h"
#include "bmslink/rs485.h"

#include <string.h>

const bl_protocol_t *bl_proto_root(const bl_protocol_t *p)
{
    while (p->base != NULL)
        p = p->base;
    return p;
}

uint32_t bl_proto_bitrate(const bl_protocol_t *p)
{
    for (; p != NULL; p = p->base)
        if (p->bitrate)
            return p->bitrate;
    return 0;
}

static uint32_t shortest_period(const bl_protocol_t *p)
{
    uint32_t best = 0;
    for (; p != NULL; p = p->base) {
        const bl_message_t *const lists[2] = { p->msgs, p->extra };
        const unsigned counts[2] = { p->nmsgs, p->nextra };
        for (unsigned l = 0; l < 2; l++)
            for (unsigned i = 0; lists[l] != NULL && i < counts[l]; i++) {
                const bl_message_t *m = &lists[l][i];
                if (m->dir == BL_DIR_B2I && m->period_ms && (best == 0 || m->period_ms < best))
                    best = m->period_ms;
            }
    }
    return best;
}

uint32_t bl_proto_timeout_ms(const bl_protocol_t *p)
{
    uint32_t per;
    for (const bl_protocol_t *q = p; q != NULL; q = q->base)
        if (q->timeout_ms)
            return q->timeout_ms;
    /* CLI.md: where a protocol documents no timeout, 10 x the message period */
    per = shortest_period(p);
    return per ? 10u * per : 10000u;
}

/* ---- byte protocols: serial baud (a variant may change it) ---- */
uint32_t bl_proto_baud(const bl_protocol_t *p)
{
    for (; p != NULL; p = p->base)
        if (p->baud)
            return p->baud;
    return 0;
}

const char *bl_proto_serial(const bl_protocol_t *p)
{
    for (; p != NULL; p = p->base)
        if (p->serial != NULL)
            return p->serial;
    return NULL;
}

const char *bl_conf_str(unsigned c)
{
    static const char *const s[] = { "high", "medium", "low" };
    return c < BL_ARRAY_LEN(s) ? s[c] : "low";
}

const char *bl_bus_str(unsigned b)
{
    static const char *const s[] = { "can", "rs485", "modbus" };
    return b < BL_ARRAY_LEN(s) ? s[b] : "can";
}

uint32_t bl_proto_link_timeout_ms(const bl_protocol_t *p)
{
    for (; p != NULL; p = p->base)
        if (p->link_timeout_ms)
            return p->link_timeout_ms;
    return 0;
}

const bl_trigger_t *bl_proto_triggers(const bl_protocol_t *p, size_t *n)
{
    for (; p != NULL; p = p->base)
        if (p->triggers != NULL) {
            *n = p->ntriggers;
            return p->triggers;
        }
    *n = 0;
    return NULL;
}

const char *const *bl_proto_states(const bl_protocol_t *p, size_t *n)
{
    for (; p != NULL; p = p->base)
        if (p->states != NULL) {
            *n = p->nstates;
            return p->states;
        }
    *n = 0;
    return NULL;
}

const bl_idfact_t *bl_proto_idfacts(const bl_protocol_t *p, size_t *n)
{
    for (; p != NULL; p = p->base)
        if (p->idfacts != NULL) {
            *n = p->nidfacts;
            return p->idfacts;
        }
    *n = 0;
    return NULL;
}

const char *bl_proto_handshake(const bl_protocol_t *p)
{
    for (; p != NULL; p = p->base)
        if (p->handshake != NULL)
            return p->handshake;
    return NULL;
}

const char *bl_proto_identity(const bl_protocol_t *p)
{
    for (; p != NULL; p = p->base)
        if (p->identity != NULL)
            return p->identity;
    return NULL;
}

const char *bl_proto_on_timeout(const bl_protocol_t *p)
{
    for (; p != NULL; p = p->base)
        if (p->on_timeout != NULL)
            return p->on_timeout;
    return NULL;
}

bl_alarm_mask_t bl_proto_safe(const bl_protocol_t *p, unsigned k)
{
    bl_alarm_mask_t m = 0;
    if (k >= BL_AC_COUNT)
        return 0;
    for (; p != NULL; p = p->base) /* a variant raises its own safe alarms and its base's */
        m = (bl_alarm_mask_t)(m | p->safe[k]);
    return m;
}

/* ---- capabilities ------------------------------------------------------ */

static int64_t i64min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t i64max(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int32_t clamp32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

static void caps_row(const bl_signal_t *s, bl_caps_t *caps, bool *seen_verified)
{
    unsigned f = s->field;
    int64_t lo, hi;

    if (s->kind == BL_SK_ALARM || s->kind == BL_SK_PAIR) {
        bl_alarm_mask_t am = (bl_alarm_mask_t)(((s->alarm < BL_A_COUNT) ? (1U << s->alarm) : 0U) | s->also);
        caps->alarms[s->aclass] |= am;
        if (s->also)
            caps->shared[s->aclass] |= am;
        return;
    }
    if (f >= BL_F_BATTERY_COUNT || (s->flags & BL_SF_NO_STORE))
        return;
    if (!(s->flags & BL_SF_UNVERIFIED))
        seen_verified[f] = true;
    if (s->kind == BL_SK_ASCII || s->kind == BL_SK_VERSION) {
        unsigned n = s->kind == BL_SK_ASCII ? s->str_off + s->len / 8u : 3u * (s->len / 8u) + s->len / 8u - 1u;
        caps->fields |= BL_BIT(f);
        caps->step[f] = 1;
        if (n > caps->text[f])
            caps->text[f] = (uint8_t)(n > 255 ? 255 : n);
        return;
    }
    if (s->kind == BL_SK_BOOL) {
        lo = 0;
        hi = 1;
        if (!(caps->fields & BL_BIT(f)) || caps->step[f] > 1)
            caps->step[f] = 1, caps->origin[f] = 0;
    } else if (s->kind == BL_SK_NUM && !(s->flags & BL_SF_STATE)) {
        int32_t d = s->div > 0 ? s->div : 1;
        int32_t step = s->mul < 0 ? -s->mul : s->mul;
        step = step / d > 0 ? step / d : 1;
        bl_sig_range(s, &lo, &hi);
        if (!(caps->fields & BL_BIT(f)) || step < caps->step[f]) {
            caps->step[f] = step;
            caps->origin[f] = s->offset;
        }
    } else {
        return;
    }
    if (!(caps->fields & BL_BIT(f))) {
        caps->lo[f] = clamp32(lo);
        caps->hi[f] = clamp32(hi);
    } else {
        caps->lo[f] = clamp32(i64min(caps->lo[f], lo));
        caps->hi[f] = clamp32(i64max(caps->hi[f], hi));
    }
    caps->fields |= BL_BIT(f);
}

/* Bytes a row occupies (as the signal engine counts them), to see whether the
 * encoder's DLC sends it. */
static unsigned row_end_byte(const bl_signal_t *s)
{
    unsigned end;
    if (s->order == BL_LE)
        end = (unsigned)s->start + s->len;
    else
        end = (unsigned)s->start / 8u * 8u + 7u - (unsigned)s->start % 8u + s->len;
    return (end + 7u) / 8u;
}

static void caps_fill(const bl_protocol_t *p, bl_caps_t *caps, bool sent)
{
    bl_can_codec_t c;
    bool verified[BL_F_COUNT] = { false };

    memset(caps, 0, sizeof *caps);
    /* ---- byte protocols (RS485, Modbus) describe themselves: rs_layout.c ---- */
    if (bl_proto_root(p)->bus != BL_BUS_CAN) {
        bl_rs_caps(p, caps);
        return;
    }
    if (bl_can_codec_init(&c, p) < 0)
        return;
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        if (m->dir != BL_DIR_B2I || (sent && !c.sends[j]))
            continue;
        for (unsigned i = 0; i < m->nsigs; i++) {
            bl_signal_t s;
            bl_can_sig(&c, m, i, &s);
            if (sent && (row_end_byte(&s) > m->dlc || (s.flags & BL_SF_DECODE_ONLY)))
                continue;
            if (sent && s.mux >= 0 && (unsigned)s.mux >= m->nmux)
                continue;
            caps_row(&s, caps, verified);
        }
    }
    /* an alarm carried by a bit of its own somewhere is not only shared */
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        if (m->dir != BL_DIR_B2I || (sent && !c.sends[j]))
            continue;
        for (unsigned i = 0; i < m->nsigs; i++) {
            const bl_signal_t *s = &m->sigs[i];
            if (sent && (row_end_byte(s) > m->dlc || (s->flags & BL_SF_DECODE_ONLY)))
                continue;
            if ((s->kind == BL_SK_ALARM || s->kind == BL_SK_PAIR) && s->also == 0 && s->alarm < BL_A_COUNT)
                caps->shared[s->aclass] &= (bl_alarm_mask_t)~(1U << s->alarm);
        }
    }
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
        if ((caps->fields & BL_BIT(f)) && !verified[f])
            caps->unverified |= BL_BIT(f);
}

void bl_proto_caps(const bl_protocol_t *p, bl_caps_t *caps)
{
    caps_fill(p, caps, false);
}

void bl_proto_caps_sent(const bl_protocol_t *p, bl_caps_t *caps)
{
    caps_fill(p, caps, true);
}
