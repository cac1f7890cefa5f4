/* Helpers for the gateway specs: a gateway whose output frames are collected, packs set by hand. */
#ifndef BL_TESTS_GWTEST_H
#define BL_TESTS_GWTEST_H

#include "cantest.h"

#include "bmslink/gateway.h"

#define GW_SENT_MAX 4096

typedef struct {
    uint64_t t_ms;
    unsigned port;
    bl_can_frame_t f;
    bool info;            /* a battery-role frame (not a request) */
    bool safe, early, answer;
    uint32_t substituted;
} gw_sent_t;

typedef struct {
    uint64_t t_ms;
    unsigned port;
    size_t n;
    uint8_t d[256];
    bool answer, safe;
} gw_bytes_t;

typedef struct {
    bl_gw_t gw;
    bl_gw_pack_t packs[BL_GW_MAX_PACKS];
    gw_bytes_t bytes[512];
    unsigned nbytes;
    gw_sent_t sent[GW_SENT_MAX];
    unsigned nsent;
    bl_gw_event_t ev[256];
    unsigned nev;
    uint64_t next;        /* when bl_gw_step wants to run */
} gw_rig_t;

static inline void rig_tx(void *ctx, unsigned port, const bl_can_frame_t *f, const bl_gw_txinfo_t *info)
{
    gw_rig_t *r = ctx;
    gw_sent_t *s;
    if (r->nsent >= GW_SENT_MAX)
        return;
    s = &r->sent[r->nsent++];
    memset(s, 0, sizeof *s);
    s->t_ms = r->gw.now_ms;
    s->port = port;
    s->f = *f;
    if (info != NULL) {
        s->info = true;
        s->safe = info->safe_state;
        s->early = info->early;
        s->answer = info->answer;
        s->substituted = info->enc.substituted;
    }
}

static inline void rig_tx_bytes(void *ctx, unsigned port, const uint8_t *d, size_t n, const bl_gw_txinfo_t *info)
{
    gw_rig_t *r = ctx;
    gw_bytes_t *b;
    if (r->nbytes >= BL_ARRAY_LEN(r->bytes))
        return;
    b = &r->bytes[r->nbytes++];
    memset(b, 0, sizeof *b);
    b->t_ms = r->gw.now_ms;
    b->port = port;
    b->n = n < sizeof b->d ? n : sizeof b->d;
    memcpy(b->d, d, b->n);
    b->answer = info != NULL && info->answer;
    b->safe = info != NULL && info->safe_state;
}

static inline void rig_event(void *ctx, const bl_gw_event_t *e)
{
    gw_rig_t *r = ctx;
    if (r->nev < BL_ARRAY_LEN(r->ev))
        r->ev[r->nev++] = *e;
}

static inline void rig_cfg(gw_rig_t *r, bl_gw_cfg_t *cfg, const char *out)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->out = bl_protocol_find(out);
    assert_non_null(cfg->out);
    cfg->tx = rig_tx;
    cfg->tx_bytes = rig_tx_bytes;
    cfg->on_event = rig_event;
    cfg->ctx = r;
}

/* n packs of protocol `in`, output `out`, started at t0 */
static inline void rig_start(gw_rig_t *r, const bl_gw_cfg_t *cfg, const char *in, unsigned n, uint64_t t0)
{
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(bl_gw_pack_init(&r->packs[i], bl_protocol_find(in), cfg->stale_ms), 0);
    assert_int_equal(bl_gw_init(&r->gw, cfg, r->packs, n, t0), 0);
    r->nsent = 0;
    r->nbytes = 0;
    r->nev = 0;
    r->next = t0;
}

/* Run every step that falls due up to and including t. */
static inline void rig_advance(gw_rig_t *r, uint64_t t)
{
    while (r->next <= t) {
        uint64_t now = r->next;
        r->next = bl_gw_step(&r->gw, now);
        assert_true(r->next > now);
    }
}

/* A frame arrives on port at t (after every step due before it), then the engine steps at t. */
static inline int rig_rx(gw_rig_t *r, unsigned port, uint32_t id, int ext, const char *hex, uint64_t t)
{
    bl_can_frame_t f = vec(id, ext, hex);
    int rc;
    if (t > 0)
        rig_advance(r, t - 1);
    rc = bl_gw_rx(&r->gw, port, &f, t);
    r->next = bl_gw_step(&r->gw, t);
    return rc;
}

/* Set a field of pack k by hand, as if a frame had carried it at t. */
static inline void pack_set(gw_rig_t *r, unsigned k, unsigned field, int32_t v, uint64_t t)
{
    bl_record_set(&r->packs[k].rec, field, v, 1, t);
    r->packs[k].heard_ms = t;
    r->packs[k].link = BL_GW_LINK_ACTIVE;
}

/* The limits of a pylon-lv pack by hand (mV, mA) */
static inline void pack_limits(gw_rig_t *r, unsigned k, int32_t cvl, int32_t ccl, int32_t dcl, int32_t dvl, uint64_t t)
{
    pack_set(r, k, BL_F_CVL, cvl, t);
    pack_set(r, k, BL_F_CCL, ccl, t);
    pack_set(r, k, BL_F_DCL, dcl, t);
    pack_set(r, k, BL_F_DVL, dvl, t);
}

/* The last frame sent to port with this id, NULL when none. */
static inline const gw_sent_t *last_sent(const gw_rig_t *r, unsigned port, uint32_t id)
{
    for (unsigned i = r->nsent; i-- > 0;)
        if (r->sent[i].port == port && r->sent[i].f.id == id)
            return &r->sent[i];
    return NULL;
}

static inline unsigned count_sent(const gw_rig_t *r, unsigned port, uint32_t id)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->nsent; i++)
        n += r->sent[i].port == port && r->sent[i].f.id == id;
    return n;
}

static inline bool has_event(const gw_rig_t *r, unsigned kind, int32_t a)
{
    for (unsigned i = 0; i < r->nev; i++)
        if (r->ev[i].kind == kind && r->ev[i].a == a)
            return true;
    return false;
}

#endif
