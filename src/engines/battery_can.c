/* The battery role on CAN for any protocol table (include/bmslink/battery_can.h). */
#include "bmslink/battery_can.h"

#include <string.h>

#define BIT64(n) (UINT64_C(1) << (n))

const char *bl_link_str(unsigned l)
{
    static const char *const n[] = { "unknown", "active", "timeout" };
    return l < BL_ARRAY_LEN(n) ? n[l] : "unknown";
}

static void emit(bl_batcan_t *b, uint64_t now, uint8_t kind, int32_t a, const bl_can_frame_t *f)
{
    bl_sim_event_t e;
    if (b->on_event == NULL)
        return;
    memset(&e, 0, sizeof e);
    e.t_ms = now;
    e.kind = kind;
    e.a = a;
    if (f != NULL) {
        e.frame = *f;
        e.has_frame = 1;
    }
    b->on_event(b->ev_ctx, &e);
}

int bl_batcan_init(bl_batcan_t *b, const bl_protocol_t *p, uint64_t now_ms)
{
    int rc;
    memset(b, 0, sizeof *b);
    if ((rc = bl_can_codec_init(&b->codec, p)) < 0)
        return rc;
    bl_record_init(&b->inv);
    b->link_timeout_ms = 60000;
    b->stale_ms = bl_proto_timeout_ms(p);
    b->started = bl_proto_root(p)->first == BL_FIRST_BATTERY;
    for (unsigned j = 0; j < BL_CAN_MAX_MSGS; j++)
        b->next_ms[j] = now_ms;
    return 0;
}

/* Everything the battery sends on request (the whole answer set of the protocol). */
static uint64_t answers(const bl_batcan_t *b)
{
    uint64_t m = 0;
    for (unsigned j = 0; j < b->codec.n; j++) {
        const bl_message_t *msg = b->codec.msg[j];
        if (msg->dir == BL_DIR_B2I && b->codec.sends[j] && (msg->flags & BL_MF_ON_REQUEST))
            m |= BIT64(j);
    }
    return m;
}

void bl_batcan_rx(bl_batcan_t *b, const bl_can_frame_t *f, uint64_t now_ms)
{
    bl_decoded_t d;

    if (bl_can_decode(&b->codec, f, now_ms, &b->inv, &d) < 0) {
        b->rx_rejected[d.why]++;
        return;
    }
    if (d.msg->dir != BL_DIR_I2B)
        return; /* another battery on the bus, or our own echo */
    b->rx++;
    b->peer_seen_ms = now_ms;
    if (b->link != BL_LINK_ACTIVE) {
        b->link = BL_LINK_ACTIVE;
        emit(b, now_ms, BL_EV_LINK, 1, f);
    }
    if (!b->started) {
        /* the inverter spoke first: periodic sending starts now */
        b->started = 1;
        for (unsigned j = 0; j < b->codec.n; j++)
            b->next_ms[j] = now_ms;
    }
    if (d.msg->flags & BL_MF_REQUEST) {
        b->requests++;
        b->pending |= answers(b);
    }
}

static bool encode(bl_batcan_t *b, const bl_message_t *m, unsigned mux, const bl_record_t *rec, uint64_t now,
                   bl_can_frame_t *out)
{
    if (bl_can_encode(&b->codec, m, mux, rec, now, b->stale_ms, 0, out, &b->last_enc) < 0) {
        b->tx_refused++;
        return false;
    }
    b->tx++;
    if (b->last_enc.safe_state)
        b->safe_frames++;
    for (uint32_t s = b->last_enc.substituted; s; s &= s - 1u)
        b->substituted++;
    return true;
}

/* Send message j (every selector value of a multiplexed one, in turn). */
static unsigned send(bl_batcan_t *b, unsigned j, const bl_record_t *rec, uint64_t now, bl_can_frame_t *out,
                     unsigned cap)
{
    const bl_message_t *m = b->codec.msg[j];
    unsigned n = 0, count = m->nmux ? m->nmux : 1u;

    for (unsigned k = 0; k < count && n < cap; k++) {
        unsigned mux = m->nmux ? k : 0;
        if (encode(b, m, mux, rec, now, &out[n]))
            n++;
    }
    return n;
}

static void mark(uint8_t *which, unsigned from, unsigned to, unsigned j)
{
    for (unsigned k = from; which != NULL && k < to; k++)
        which[k] = (uint8_t)j;
}

unsigned bl_batcan_tx(bl_batcan_t *b, const bl_record_t *rec, uint64_t now_ms, bl_can_frame_t *out, unsigned cap,
                      uint64_t *next_ms, uint8_t *which)
{
    unsigned n = 0;
    uint64_t next = BL_NEVER;

    if (b->link == BL_LINK_ACTIVE && now_ms - b->peer_seen_ms >= b->link_timeout_ms) {
        b->link = BL_LINK_TIMEOUT;
        emit(b, now_ms, BL_EV_LINK, 0, NULL);
    }
    for (unsigned j = 0; j < b->codec.n; j++) {
        const bl_message_t *m = b->codec.msg[j];
        if (m->dir != BL_DIR_B2I || !b->codec.sends[j])
            continue;
        if (b->pending & BIT64(j)) {
            unsigned k = send(b, j, rec, now_ms, out + n, cap - n);
            if (k == 0 && n >= cap)
                continue; /* no room: stays pending */
            mark(which, n, n + k, j);
            n += k;
            b->pending &= ~BIT64(j);
            continue;
        }
        if (!b->started || m->period_ms == 0 || (m->flags & BL_MF_ON_REQUEST))
            continue;
        if (now_ms >= b->next_ms[j] && n < cap) {
            unsigned k = send(b, j, rec, now_ms, out + n, cap - n);
            mark(which, n, n + k, j);
            n += k;
            b->next_ms[j] += m->period_ms;
            if (b->next_ms[j] <= now_ms)
                b->next_ms[j] = now_ms + m->period_ms;
        }
        if (b->next_ms[j] < next)
            next = b->next_ms[j];
    }
    if (b->pending)
        next = now_ms;
    if (next_ms != NULL)
        *next_ms = next;
    return n;
}
