/*
 * The gateway: packs that speak protocol A in, one battery that speaks
 * protocol B out. It reads N packs (each with its own protocol, codec, link
 * state and timeout), keeps the inverter side in B's session (periodic
 * messages at B's periods, answers to polls and handshakes from B's trigger
 * rows, B's link watch), and between the two aggregates the packs into one
 * record by a documented policy (docs/design.md "Gateway"):
 *
 *   current, capacity, modules    sum                 every pack in use must report it
 *   voltage                        mean; packs further apart than v_tolerance are flagged
 *   SOC, SOH                       weighted by capacity (equal weights when one is unknown: flagged)
 *   temperature                    mean; its extremes and the cell extremes min / max
 *   CVL                            min     DVL   max
 *   CCL, DCL                       conservative: N x the smallest pack limit; sum: the sum of the
 *                                  limits; both never more than min(limit_i / share_i), the most each
 *                                  pack can take given its share (capacity_i / sum of capacities)
 *   charge / discharge enable      AND     force / full charge request   OR      alarms   OR
 *
 * A pack is *in use* while it has been heard within its timeout and every
 * limit its protocol carries is fresh; only packs in use feed the record, so
 * a pack that goes silent is dropped and the limits shrink (and the inverter
 * gets a communication_fault warning). With no pack in use every limit is
 * invalid and B's encoder sends its safe state (0 A, its safe alarms). Site
 * limits (cables, fuses) clamp the result, and each clamp is reported. A
 * limit never leaves older than the input protocol's timeout: the record is
 * rebuilt at every step, and the step is due again when a field would expire.
 *
 * Freestanding: no allocation, no I/O, no clock. The caller owns the
 * instance and the pack array, passes now_ms (monotonic) and moves frames:
 * bl_gw_rx() for every frame that arrives, bl_gw_step() when it returns,
 * frames to send leave through cfg.tx.
 */
#ifndef BMSLINK_GATEWAY_H
#define BMSLINK_GATEWAY_H

#include "bmslink/protocol.h"
#include "bmslink/rs485.h"

#define BL_GW_MAX_PACKS 16
#define BL_GW_INVERTER 0xFFu /* port of the inverter side; packs are ports 0..npacks-1 */
#define BL_GW_MAX_SLOTS 16   /* requests a pack's inverter role sends on its own */

/* How CCL / DCL of several packs combine. */
typedef enum {
    BL_GW_CONSERVATIVE = 0, /* N x the smallest limit (default) */
    BL_GW_SUM,              /* the sum of the limits */
    BL_GW_POLICY_COUNT
} bl_gw_policy_t;

const char *bl_gw_policy_str(unsigned p);      /* "conservative", "sum" */
unsigned bl_gw_policy_by_name(const char *s);  /* BL_GW_POLICY_COUNT when unknown */

/* What a pack's link is doing. "Never heard" and "heard, then lost" are different facts. */
typedef enum {
    BL_GW_LINK_UNKNOWN = 0, /* never heard */
    BL_GW_LINK_ACTIVE,      /* heard within its timeout */
    BL_GW_LINK_TIMEOUT      /* heard, then silent past its timeout */
} bl_gw_link_t;

const char *bl_gw_link_str(unsigned l); /* "unknown", "active", "timeout" */

/* Site limits: what the cables, fuses and contactors between packs and inverter
 * allow. 0 = no limit of that kind. Milli-units of the record. */
typedef struct {
    int32_t ccl_mA; /* highest charge current limit sent */
    int32_t dcl_mA; /* highest discharge current limit sent */
    int32_t cvl_mV; /* highest charge voltage limit sent */
    int32_t dvl_mV; /* lowest discharge voltage limit sent */
    int32_t capacity_mAh; /* nominal capacity sent while no pack reports one (SMA SI needs >= 100 Ah) */
} bl_gw_site_t;

/* Why a field of the output differs from what the policy computed. */
typedef enum {
    BL_GW_CLAMP_SITE = 0, /* the site limit is lower (higher for DVL) */
    BL_GW_CLAMP_WIRE,     /* the output protocol cannot carry more: sent at its maximum */
    BL_GW_CLAMP_COUNT
} bl_gw_clamp_t;

/* Flags of one aggregation (bl_gw_agg_t.flags). */
enum {
    BL_GW_F_SAFE = 1u << 0,             /* no pack in use: the output is in its safe state */
    BL_GW_F_DEGRADED = 1u << 1,         /* some packs are not in use: limits shrank */
    BL_GW_F_V_MISMATCH = 1u << 2,       /* pack voltages further apart than v_tolerance */
    BL_GW_F_SOC_UNWEIGHTED = 1u << 3,   /* a pack reports no capacity: SOC / shares by equal weights */
    BL_GW_F_CVL_UNSENDABLE = 1u << 4    /* CVL below what the output protocol can carry: withheld */
};

/* The result of one aggregation: who took part, what bounded the limits, what was clamped. */
typedef struct {
    uint16_t used;          /* BL_BIT(pack) in use */
    uint16_t heard;         /* BL_BIT(pack) heard within its timeout (used or not) */
    uint8_t nused;
    uint32_t flags;         /* BL_GW_F_* */
    int32_t v_spread_mV;    /* highest - lowest pack voltage among packs in use */
    int64_t policy_mA[2];   /* CCL, DCL as the policy computed them, before clamps (-1: invalid) */
    int64_t share_cap_mA[2];/* CCL, DCL: the most the packs can take given their shares (-1: invalid) */
    uint8_t bound_by[2];    /* pack whose limit / share bounds CCL, DCL (0xFF: none) */
    uint32_t clamped[BL_GW_CLAMP_COUNT]; /* BL_BIT(field) clamped, per reason */
    int32_t before_clamp[BL_F_BATTERY_COUNT]; /* value before the clamp, for fields in clamped[] */
    uint32_t fields;        /* BL_BIT(field) valid in the output */
    uint32_t derived;       /* BL_BIT(field): no pack carries it: derived (enable = its limit > 0 A,
                               capacity from the site limits) */
    bl_alarm_mask_t folded; /* raised protections (alarms) sent as alarms (protections): the output lacks the class */
} bl_gw_agg_t;

/* Events, reported once per change (never per frame). */
typedef enum {
    BL_GW_EV_PACK_UP = 0,   /* a = pack: heard (first time, or again) */
    BL_GW_EV_PACK_LOST,     /* a = pack: silent past its timeout, dropped from the limits */
    BL_GW_EV_PACK_USED,     /* a = pack: in use (all its limits fresh) */
    BL_GW_EV_PACK_UNUSED,   /* a = pack: no longer in use (a limit went stale), b = field that did */
    BL_GW_EV_SAFE_ENTER,    /* no pack in use: the output sends the safe state */
    BL_GW_EV_SAFE_LEAVE,
    BL_GW_EV_CLAMP,         /* a = field, b = bl_gw_clamp_t, c = value before, d = after: a clamp began */
    BL_GW_EV_V_MISMATCH,    /* a = 1 began / 0 ended, c = spread mV */
    BL_GW_EV_INV_UP,        /* the inverter was heard */
    BL_GW_EV_INV_LOST,      /* the inverter went silent past the output protocol's link timeout */
    BL_GW_EV_OUT_REFUSED,   /* a = message id: a value did not fit and the frame was not sent (b = field) */
    BL_GW_EV_REJECT,        /* a = port, b = bl_reject_t: the first reject of this cause on this port */
    BL_GW_EV_REJECT_RS,     /* a = port, b = bl_rsr_t: the same for a byte-protocol port */
    BL_GW_EV_COUNT
} bl_gw_ev_kind_t;

const char *bl_gw_ev_str(unsigned k); /* "pack_up", "pack_lost", ... */

typedef struct {
    uint8_t kind; /* bl_gw_ev_kind_t */
    uint64_t t_ms;
    int32_t a, b;
    int64_t c, d;
} bl_gw_event_t;

/* What a frame handed to cfg.tx is. */
typedef struct {
    const bl_message_t *msg;  /* its row */
    bl_encoded_t enc;         /* substitutions (invalid or stale fields), clamps */
    bool safe_state;          /* a limit the output carries is missing: the protocol's safe state */
    bool answer;              /* sent in answer to a request (not periodic) */
    bool early;               /* sent before its period because a limit shrank or an alarm rose */
} bl_gw_txinfo_t;

/* Scratch memory of one byte-protocol (RS485) port: frame assembly, Pylon INFO bytes, the
 * decoded values of the last reply, an answer being built. Caller-owned, one per port. */
typedef struct {
    uint8_t frame[BL_STREAM_PYLON_MAX + 64];
    uint8_t info[2048];
    uint8_t out[4200];
    bl_rs_decoded_t dec;
} bl_gw_rsbuf_t;

typedef struct {
    const bl_protocol_t *out;  /* the inverter's protocol (B) */
    uint8_t policy;            /* bl_gw_policy_t */
    int32_t v_tolerance_mV;    /* 0: 1000 mV */
    uint64_t stale_ms;         /* 0: each input protocol's timeout (CLI --stale) */
    uint64_t hold_ms;          /* after init the output waits this long for every pack (0: 3000 ms) */
    uint32_t early_gap_ms;     /* an early frame comes at least this long after the last one of its
                                  message (0: a fifth of its period, at least 50 ms) */
    uint32_t out_addr;         /* address put into addressed output ids (Pylon HV group) */
    bool no_early;             /* keep strictly to the output periods (no early frames) */
    bool poll_packs;           /* act as each pack's inverter: its polls, keep-alives, handshakes */
    bool play_inverter;        /* also play the inverter's own requests on the output (offline translation) */
    bl_gw_site_t site;
    /* frames to send: port BL_GW_INVERTER or a pack index; info is NULL for requests */
    void (*tx)(void *ctx, unsigned port, const bl_can_frame_t *f, const bl_gw_txinfo_t *info);
    /* bytes to send on a byte-protocol port (RS485): requests to packs, answers to the inverter */
    void (*tx_bytes)(void *ctx, unsigned port, const uint8_t *d, size_t n, const bl_gw_txinfo_t *info);
    bl_gw_rsbuf_t *out_buf;    /* an RS485 output: its scratch memory (borrowed to the end) */
    void (*on_event)(void *ctx, const bl_gw_event_t *e);
    void *ctx;
} bl_gw_cfg_t;

/* A byte-protocol port: the framer, the session, and (towards a pack) the poll schedule. */
typedef struct {
    const bl_rs485_codec_t *c;
    bl_gw_rsbuf_t *buf;      /* borrowed from init to the end */
    bl_rs_session_t sess;
    bl_stream_t st;
    uint8_t addr;            /* the BMS polled (pack) / the battery we are (output) */
    uint16_t cmd;            /* request outstanding (BL_RS_CMD_UNKNOWN: none) */
    uint8_t idx;             /* position in the poll list */
    bool once_done;          /* the identity commands were asked */
    uint64_t deadline_ms;    /* the outstanding request's answer is due before this */
    uint64_t next_ms;        /* the next request may go */
    uint64_t cycle_ms;       /* start of the current poll cycle */
    uint64_t first_ms;       /* first good reply, BL_NEVER: none */
    uint32_t answered;       /* BL_BIT(poll list index) answered at least once */
    uint64_t now_ms;         /* time of the bytes being pushed */
    void *gw;                /* the gateway the framer reports to */
    unsigned port;
    /* counters, only incremented */
    uint32_t requests, replies, timeouts, rejected[BL_RSR_COUNT];
} bl_gw_rs_t;

/* One request the gateway sends on its own (as a pack's inverter, or the inverter it plays). */
typedef struct {
    const bl_message_t *m;
    uint32_t period_ms;  /* 0: once per detection */
    uint64_t next_ms;
    uint8_t byte, mask, value, byte2, mask2, value2; /* selector the trigger row matches */
    uint8_t kind;        /* internal: periodic, hello (until the peer answers), command (once it does) */
    uint8_t done;
} bl_gw_slot_t;

/* The inverter role towards one peer, from its protocol's tables. */
typedef struct {
    bl_can_codec_t codec;    /* I2B encoding; its session mirrors the state our requests put the peer in */
    bl_gw_slot_t slot[BL_GW_MAX_SLOTS];
    uint8_t nslots;
    bool detected;           /* the peer has answered */
} bl_gw_poller_t;

typedef struct {
    const bl_protocol_t *p;
    uint8_t bus;             /* bl_bus_t of p: CAN frames, or RS485 bytes */
    bl_can_codec_t codec;    /* CAN: decodes the pack; a rejected frame stores nothing */
    bl_gw_rs_t rs;           /* RS485: polled as its inverter would; a rejected reply stores nothing */
    bl_record_t rec;         /* what the pack said, each field with the time it was seen */
    uint64_t stale_ms;       /* limits older than this are not used (input timeout or cfg.stale_ms) */
    uint64_t window_ms[BL_F_BATTERY_COUNT]; /* other fields: max(stale_ms, 3 x their message period); 0 = never */
    uint64_t alarm_window_ms;
    uint32_t limits;         /* BL_BIT(field): the limits its protocol carries (all must be fresh) */
    uint64_t cycle;          /* BL_BIT(codec message): one whole cycle of what it sends */
    uint64_t seen_msgs;      /* BL_BIT(codec message): decoded at least once */
    uint64_t heard_ms;       /* last frame decoded, BL_NEVER: never */
    uint8_t link;            /* bl_gw_link_t */
    bool used;               /* in use at the last step */
    bl_gw_poller_t poll;     /* cfg.poll_packs */
    /* counters, only incremented */
    uint32_t rx, rx_other, rx_rejected[BL_REJ_COUNT], tx, lost, dropped;
} bl_gw_pack_t;

typedef struct {
    bl_gw_cfg_t cfg;
    bl_gw_pack_t *packs;     /* borrowed from bl_gw_init to the end */
    /* output: the battery role in protocol B */
    bl_gw_rs_t ors;          /* RS485 output: framer and session of the inverter's requests */
    uint64_t play_next_ms;   /* RS485 output with cfg.play_inverter: the next request played */
    bl_can_codec_t out;
    uint64_t next_ms[BL_CAN_MAX_MSGS];
    uint64_t sent_ms[BL_CAN_MAX_MSGS];
    uint32_t carries[BL_CAN_MAX_MSGS];  /* BL_BIT(field) of the limits and flags each message carries */
    bl_alarm_mask_t carries_alarm[BL_CAN_MAX_MSGS];
    const bl_message_t *queue[BL_REACT_MAX];
    bl_gw_poller_t inv_play; /* cfg.play_inverter */
    bl_caps_t out_caps;      /* what B sends, for the wire clamp */
    bl_record_t agg;         /* what the inverter is told (rebuilt every step) */
    bl_gw_agg_t rep;         /* how agg was made */
    bl_record_t told;        /* limits and flags as last put on the wire */
    bl_record_t inv;         /* what the inverter reported (inv_* fields) */
    uint64_t start_ms, now_ms;
    uint32_t clamp_state[BL_GW_CLAMP_COUNT];
    uint32_t rejects_seen[BL_GW_MAX_PACKS + 1]; /* BL_BIT(reason) already reported per port */
    uint32_t rs_rejects_seen[BL_GW_MAX_PACKS + 1];
    /* counters, only incremented */
    uint64_t steps, tx, tx_early, tx_answers, tx_refused, tx_safe, rx_inv, rx_inv_rejected[BL_REJ_COUNT];
    uint64_t safe_entered, clamps, substituted;
    bl_alarm_mask_t told_alarms; /* alarms (any class) as last put on the wire */
    uint8_t npacks;
    uint8_t out_bus;         /* bl_bus_t of cfg.out */
    uint8_t play_idx;
    uint8_t nqueue;
    uint8_t inv_link;        /* bl_gw_link_t of the inverter */
    bool holding;            /* waiting for the packs after init */
    bool safe;               /* no pack in use */
    bool out_safe;           /* the output is in its safe state (a limit it carries is missing) */
    bool v_mismatch;
} bl_gw_t;

/*
 * Start a gateway at now_ms. packs[0..npacks) is borrowed until the end;
 * each must have been set up with bl_gw_pack_init(). cfg is copied.
 * @retval 0           ready
 * @retval BL_EINVAL   cfg->out is a Modbus map, npacks is 0 or above BL_GW_MAX_PACKS, a site
 *                     limit is negative, cfg->tx is NULL, an RS485 side without cfg.tx_bytes,
 *                     an RS485 output without cfg.out_buf
 * @retval BL_ENOMEM   a protocol has more messages than a codec holds
 */
int bl_gw_init(bl_gw_t *gw, const bl_gw_cfg_t *cfg, bl_gw_pack_t *packs, size_t npacks, uint64_t now_ms);

/*
 * Set up pack slot k for protocol p. stale_ms 0: the protocol's timeout.
 * @retval 0 ready  @retval BL_EINVAL p is NULL or not a CAN protocol  @retval BL_ENOMEM
 */
int bl_gw_pack_init(bl_gw_pack_t *k, const bl_protocol_t *p, uint64_t stale_ms);

/*
 * Set up pack slot k for a byte protocol (RS485: Pylontech ASCII, Daly, JBD, JK), polled
 * at address addr (< 0: the protocol's default) with its poll list and timing. buf is
 * kept until the end. Modbus maps are read by a host's Modbus client, not here.
 * @retval 0 ready  @retval BL_EINVAL p is NULL, not a byte protocol, a Modbus map, or addr out of range
 */
int bl_gw_pack_init_rs(bl_gw_pack_t *k, const bl_protocol_t *p, uint64_t stale_ms, int addr, bl_gw_rsbuf_t *buf);

/*
 * A frame arrived on port (a pack index, or BL_GW_INVERTER) at now_ms.
 * Pack frames are decoded into that pack (all or nothing; rejects counted by
 * cause); inverter frames update B's session and may owe answers, which the
 * next bl_gw_step() sends. Error and remote frames are counted, never used.
 * @retval 0           used
 * @retval BL_EBADMSG  rejected (counted; the first of each cause is an event)
 * @retval BL_EINVAL   no such port
 */
int bl_gw_rx(bl_gw_t *gw, unsigned port, const bl_can_frame_t *f, uint64_t now_ms);

/*
 * Bytes arrived on a byte-protocol port at now_ms: a pack's replies (decoded into that pack,
 * all or nothing, rejects counted by bl_rsr_t) or the inverter's requests, answered at once
 * from the current record through cfg.tx_bytes (the safe state when the limits are missing).
 * @retval >= 0        whole frames taken
 * @retval BL_EINVAL   no such port, or the port speaks CAN
 */
int bl_gw_rx_bytes(bl_gw_t *gw, unsigned port, const uint8_t *d, size_t n, uint64_t now_ms);

/*
 * Advance to now_ms (monotonic, never before the last call): rebuild the
 * record from the packs in use, send what is due through cfg.tx (answers
 * owed, periodic messages, early frames for a shrinking limit, requests to
 * the packs). Returns when it next needs to run (a period, a field that will
 * expire, a link timeout); BL_NEVER when nothing is pending.
 */
uint64_t bl_gw_step(bl_gw_t *gw, uint64_t now_ms);

/*
 * The aggregation alone (pure): the record of packs[0..n) at now_ms by the
 * policy in cfg (policy, v_tolerance_mV, site; cfg->out may be NULL: no wire
 * clamp). out gets the fields; rep (may be NULL) says how.
 */
void bl_gw_aggregate(const bl_gw_cfg_t *cfg, const bl_caps_t *out_caps, const bl_gw_pack_t *packs, size_t n,
                     uint64_t now_ms, bl_record_t *out, bl_gw_agg_t *rep);

/*
 * The source of pack `port` is gone (device unplugged, interface down): forget what it said
 * (its record, the time it was last heard) so it leaves the limits at the next bl_gw_step()
 * instead of at the end of its timeout; with no pack left the output is in its safe state.
 * Frames that arrive later bring it back as a new pack would (pack_up, then pack_used).
 * @retval 0 forgotten  @retval BL_EINVAL no such pack
 */
int bl_gw_pack_gone(bl_gw_t *gw, unsigned port);

/* true when pack k is in use at now_ms (heard within its timeout, every limit it carries fresh). */
bool bl_gw_pack_usable(const bl_gw_pack_t *k, uint64_t now_ms, unsigned *why_field);

#endif
