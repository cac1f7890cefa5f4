/* Protocol metadata resolution (variants inherit from their base) and capabilities. */
#include "bmslink/protocol.h"

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

void bl_proto_caps(const bl_protocol_t *p, bl_caps_t *caps)
{
    bl_can_codec_t c;

    memset(caps, 0, sizeof *caps);
    if (bl_can_codec_init(&c, p) < 0)
        return;
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        if (m->dir != BL_DIR_B2I)
            continue;
        for (unsigned i = 0; i < m->nsigs; i++) {
            bl_signal_t s;
            bl_can_sig(&c, m, i, &s);
            if (s.kind == BL_SK_ALARM || s.kind == BL_SK_PAIR) {
                bl_alarm_mask_t am = (bl_alarm_mask_t)(((s.alarm < BL_A_COUNT) ? (1U << s.alarm) : 0U) | s.also);
                caps->alarms[s.aclass] |= am;
                if (s.also)
                    caps->shared[s.aclass] |= am;
                continue;
            }
            if (s.field >= BL_F_BATTERY_COUNT)
                continue;
            caps->fields |= BL_BIT(s.field);
            if (s.kind == BL_SK_NUM) {
                int32_t d = s.div > 0 ? s.div : 1;
                int32_t step = s.mul < 0 ? -s.mul : s.mul;
                step = step / d > 0 ? step / d : 1;
                if (caps->step[s.field] == 0 || step < caps->step[s.field])
                    caps->step[s.field] = step;
            } else if (caps->step[s.field] == 0) {
                caps->step[s.field] = 1;
            }
        }
    }
    /* an alarm carried by a bit of its own somewhere is not only shared */
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        if (m->dir != BL_DIR_B2I)
            continue;
        for (unsigned i = 0; i < m->nsigs; i++) {
            const bl_signal_t *s = &m->sigs[i];
            if ((s->kind == BL_SK_ALARM || s->kind == BL_SK_PAIR) && s->also == 0 && s->alarm < BL_A_COUNT)
                caps->shared[s->aclass] &= (bl_alarm_mask_t)~(1U << s->alarm);
        }
    }
}
