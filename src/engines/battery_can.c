/* The battery role on CAN for any protocol table (include/bmslink/battery_can.h). */
#include "bmslink/battery_can.h"

#include <string.h>

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
    b->link_timeout_ms = bl_proto_link_timeout_ms(p) ? bl_proto_link_timeout_ms(p) : 60000u;
    b->stale_ms = bl_proto_timeout_ms(p);
    for (unsigned j = 0; j < BL_CAN_MAX_MSGS; j++)
        b->next_ms[j] = now_ms;
    return 0;
}

static void restart_periodic(bl_batcan_t *b, uint64_t now_ms)
{
    for (unsigned j = 0; j < b->codec.n; j++)
        b->next_ms[j] = now_ms;
}

void bl_batcan_rx(bl_batcan_t *b, const bl_can_frame_t *f, uint64_t now_ms)
{
    bl_decoded_t d;
    bl_reaction_t r;
    bool was_started = b->codec.started, repeat;

    if (bl_can_decode_memo(&b->codec, f, now_ms, &b->inv, &d, b->memo, &repeat) < 0) {
        b->rx_rejected[d.why]++;
        return;
    }
    if (d.msg->dir != BL_DIR_I2B)
        return; /* another battery on the bus, or our own echo */
    b->rx++;
    if (b->link != BL_LINK_ACTIVE) {
        b->link = BL_LINK_ACTIVE;
        emit(b, now_ms, BL_EV_LINK, 1, f);
    }
    /* the trigger rows say what this frame asks: answers, a new session state, start */
    if (bl_can_react(&b->codec, f, now_ms, &r) > 0 && r.n > 0)
        b->requests++;
    for (unsigned k = 0; k < r.n; k++) {
        bool dup = false;
        for (unsigned q = 0; q < b->nqueue; q++)
            dup = dup || b->queue[q] == r.send[k];
        if (dup)
            continue;
        if (b->nqueue < BL_ARRAY_LEN(b->queue))
            b->queue[b->nqueue++] = r.send[k];
        else
            b->queue_full++;
    }
    if (b->codec.started && !was_started)
        restart_periodic(b, now_ms); /* the inverter spoke first: periodic sending starts now */
}

static bool encode(bl_batcan_t *b, unsigned j, const bl_message_t *m, unsigned mux, const bl_record_t *rec,
                   uint64_t now, bl_can_frame_t *out)
{
    if (bl_can_encode_memo(&b->codec, m, mux, rec, now, b->stale_ms, 0, out, &b->last_enc, &b->emo[j]) < 0) {
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

/* Send message m, the codec's message j (every selector value of a multiplexed one). */
static unsigned send(bl_batcan_t *b, unsigned j, const bl_record_t *rec, uint64_t now, bl_can_frame_t *out,
                     unsigned cap)
{
    const bl_message_t *m = b->codec.msg[j];
    unsigned n = 0, count = m->nmux ? m->nmux : 1u;

    for (unsigned k = 0; k < count && n < cap; k++)
        if (encode(b, j, m, m->nmux ? k : 0, rec, now, &out[n]))
            n++;
    return n;
}

static unsigned index_of(const bl_batcan_t *b, const bl_message_t *m)
{
    for (unsigned j = 0; j < b->codec.n; j++)
        if (b->codec.msg[j] == m)
            return j;
    return 0;
}

static void mark(uint8_t *which, unsigned from, unsigned to, unsigned j)
{
    for (unsigned k = from; which != NULL && k < to; k++)
        which[k] = (uint8_t)j;
}

static void watch_link(bl_batcan_t *b, uint64_t now_ms)
{
    bool was_started = b->codec.started;

    /* the protocol's own watch: a lost link resets the session (SolaX opens its contactors) */
    (void)bl_can_link_check(&b->codec, now_ms);
    if (was_started && !b->codec.started)
        b->nqueue = 0;
    /* lost: silent past the timeout, or the codec's own watch fired first (peer_seen reset) */
    if (b->link == BL_LINK_ACTIVE &&
        (b->codec.peer_seen_ms == BL_NEVER || now_ms - b->codec.peer_seen_ms >= b->link_timeout_ms)) {
        b->link = BL_LINK_TIMEOUT;
        emit(b, now_ms, BL_EV_LINK, 0, NULL);
    }
}

unsigned bl_batcan_tx(bl_batcan_t *b, const bl_record_t *rec, uint64_t now_ms, bl_can_frame_t *out, unsigned cap,
                      uint64_t *next_ms, uint8_t *which)
{
    unsigned n = 0, q = 0;
    uint64_t next = BL_NEVER;

    watch_link(b, now_ms);
    /* answers first, in order */
    for (; q < b->nqueue && n < cap; q++) {
        unsigned j = index_of(b, b->queue[q]);
        unsigned k = send(b, j, rec, now_ms, out + n, cap - n);
        mark(which, n, n + k, j);
        n += k;
    }
    for (unsigned k = q; k < b->nqueue; k++) /* what did not fit moves to the front */
        b->queue[k - q] = b->queue[k];
    b->nqueue = (uint8_t)(b->nqueue - q);
    for (unsigned j = 0; j < b->codec.n; j++) {
        const bl_message_t *m = b->codec.msg[j];
        if (m->dir != BL_DIR_B2I || !b->codec.sends[j])
            continue;
        if (!b->codec.started || m->period_ms == 0 || (m->flags & BL_MF_ON_REQUEST))
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
    if (b->nqueue)
        next = now_ms;
    /* a watched link must be checked even while nothing is due */
    if (b->link == BL_LINK_ACTIVE && b->codec.peer_seen_ms != BL_NEVER &&
        b->codec.peer_seen_ms + b->link_timeout_ms > now_ms && b->codec.peer_seen_ms + b->link_timeout_ms < next)
        next = b->codec.peer_seen_ms + b->link_timeout_ms;
    if (next_ms != NULL)
        *next_ms = next;
    return n;
}
