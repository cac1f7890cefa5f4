/*
 * Protocols as data: messages, signals, periods, directions, who speaks
 * first, timeouts, the safe state — and the table-walking CAN codec.
 *
 * A protocol knows no code of its own: src/protocols/<family>.c holds const
 * tables, this engine walks them. Variants (vendor dialects, firmware
 * versions) are protocols with a .base and only their differences.
 */
#ifndef BMSLINK_PROTOCOL_H
#define BMSLINK_PROTOCOL_H

#include "bmslink/base.h"
#include "bmslink/frame.h"
#include "bmslink/model.h"
#include "bmslink/signal.h"

typedef enum { BL_BUS_CAN = 0, BL_BUS_RS485, BL_BUS_MODBUS } bl_bus_t;
typedef enum { BL_DIR_B2I = 0, BL_DIR_I2B } bl_dir_t; /* battery->inverter, inverter->battery */
typedef enum { BL_FIRST_BATTERY = 0, BL_FIRST_INVERTER } bl_first_t;
typedef enum { BL_CONF_HIGH = 0, BL_CONF_MEDIUM, BL_CONF_LOW } bl_conf_t;

enum {
    BL_MF_ON_REQUEST = 1u << 0, /* sent in answer to a request, not periodically */
    BL_MF_EVENT = 1u << 1,      /* sent on change */
    BL_MF_DECODE_ONLY = 1u << 2,/* understood on decode, not sent by this protocol's encoder */
    BL_MF_KEEPALIVE = 1u << 3,  /* the other side's liveness signal */
    BL_MF_REQUEST = 1u << 4,    /* a poll / request that triggers answers */
    BL_MF_EMPTY = 1u << 5       /* a frame without data bytes (SI quick stop, SolaX announce) */
};

typedef struct {
    uint32_t id;       /* identifier with the address bits zero */
    uint32_t id_mask;  /* bits of the id that must match; 0 = every bit. The other bits are the
                          battery / group address (Pylon HV 0x4211, Sofar 0x1351): see addr_shift */
    const char *name;  /* snake_case message name (JSON "message", DBC BO_) */
    const bl_signal_t *sigs;
    uint8_t nsigs;
    uint8_t ext;       /* 1 = 29-bit identifier */
    uint8_t dir;       /* bl_dir_t */
    uint8_t dlc;       /* length the encoder sends */
    uint8_t dlc_min;   /* shortest length the decoder accepts */
    uint8_t nmux;      /* multiplexed message: selector values 0..nmux-1 are sent */
    uint16_t flags;    /* BL_MF_* */
    uint32_t period_ms;/* 0 = on request / event only */
    uint8_t dlc_max;   /* longest length the decoder accepts; 0 = 8 (BL_MF_EMPTY: none) */
} bl_message_t;

/*
 * Both roles as data: what an inverter frame makes the battery do. The battery
 * emulator and the gateway walk these rows (bl_can_react()); the inverter role
 * sends every row's request every period_ms. A frame of id `req` matches when
 * (data[byte] & mask) == value (and the same for byte2/mask2/value2 when mask2
 * is not 0) and the session is in one of in_states.
 */
enum {
    BL_TA_RESPOND = 1u << 0, /* send resp[] now, in order (every selector value of a multiplexed one) */
    BL_TA_START = 1u << 1    /* the battery may now send its periodic messages (it waited for the inverter) */
};
#define BL_TRIG_ANY 0xFFu   /* .byte: every frame of the request id matches */
#define BL_STATE_KEEP 0xFFu /* .next_state: the session state does not change */

typedef struct {
    uint32_t req;         /* inverter message id (address bits zero) */
    uint8_t ext;          /* 1 = 29-bit */
    uint8_t byte, mask, value;    /* selector; byte BL_TRIG_ANY = any frame of req */
    uint8_t byte2, mask2, value2; /* second selector, mask2 0 = none */
    uint8_t in_states;    /* BL_BIT(state) where the row applies; 0 = every state */
    uint8_t next_state;   /* state after it, or BL_STATE_KEEP */
    uint8_t action;       /* BL_TA_* */
    uint32_t period_ms;   /* inverter role: how often it sends this request; 0 = on event only */
    const uint32_t *resp; /* battery message ids sent in answer, in order, 0-terminated; NULL = none */
    const char *what;     /* one line for humans */
} bl_trigger_t;

/* An identity fact inverters check (manufacturer strings, module counts, type enums). */
typedef struct {
    const char *where; /* "0x1877 byte 4 (BatteryType)" */
    const char *value; /* "131" */
    const char *means; /* what an inverter does with it */
} bl_idfact_t;

struct bl_rs485_codec; /* byte protocols (RS485, Modbus) bring their own codec */

typedef struct bl_protocol {
    const char *name;   /* "pylon-lv", variants "family:variant" */
    const char *title;  /* one line for humans */
    const struct bl_protocol *base; /* a variant: unset members come from base */
    uint8_t bus;        /* bl_bus_t */
    uint8_t first;      /* bl_first_t: who speaks first */
    uint8_t confidence; /* bl_conf_t */
    uint8_t id_bits;    /* 11 or 29 (CAN) */
    uint8_t byte_order; /* bl_byte_order_t of multi-byte fields */
    uint32_t bitrate;   /* CAN bit/s */
    uint32_t baud;      /* serial baud */
    const char *serial; /* serial settings needed, e.g. "9600 8N1, ADR 0x02" */
    uint32_t timeout_ms;/* data stale after this; 0 = 10 x the shortest period */
    const bl_message_t *msgs;
    uint8_t nmsgs;
    /* variant differences */
    const bl_message_t *extra;  /* messages added, or replacing base rows with the same id */
    uint8_t nextra;
    uint32_t vflags;            /* BL_VAR_* applied to every signal */
    const uint32_t *send_omit;  /* ids the variant does not send (0-terminated) */
    const uint32_t *send_add;   /* decode-only ids the variant does send (0-terminated) */
    bl_alarm_mask_t safe[BL_AC_COUNT]; /* alarms raised in the safe state */
    const char *handshake;  /* keep-alive / handshake rules, text */
    const char *identity;   /* identity checks inverters make, text */
    const char *on_timeout; /* what the peer does when the data stops, text */
    const char *sources;    /* fact-sheet source keys */
    const struct bl_rs485_codec *rs485; /* non-CAN codec, NULL for CAN */
    /* both roles as data (variants inherit each of these from their base when unset) */
    const bl_trigger_t *triggers; /* inverter frames -> battery answers */
    const char *const *states;    /* their names, state 0 first (the state after power-up / link loss) */
    const bl_idfact_t *idfacts;   /* identity facts inverters check */
    uint32_t link_timeout_ms;     /* battery role: inverter silent this long = link lost; 0 = not watched */
    uint8_t ntriggers;
    uint8_t nstates;              /* session states of the trigger table (0 or 1: stateless) */
    uint8_t nidfacts;
    uint8_t addr_shift;           /* addressed ids: id = base | (address << addr_shift) */
} bl_protocol_t;

/* ---- registry ---------------------------------------------------------- */

/* Every built-in protocol, variants included, in listing order. */
const bl_protocol_t *const *bl_protocols(size_t *n);
/* By name ("pylon-lv", "pylon-hv:be"); NULL when unknown. */
const bl_protocol_t *bl_protocol_find(const char *name);

/* Resolved members (variants inherit from their base). */
const bl_protocol_t *bl_proto_root(const bl_protocol_t *p);
uint32_t bl_proto_bitrate(const bl_protocol_t *p);
uint32_t bl_proto_timeout_ms(const bl_protocol_t *p);
/* ---- byte protocols: resolved serial baud and settings text (variants may change them) ---- */
uint32_t bl_proto_baud(const bl_protocol_t *p);
const char *bl_proto_serial(const bl_protocol_t *p);
const char *bl_conf_str(unsigned c);  /* "high", "medium", "low" */
const char *bl_bus_str(unsigned b);   /* "can", "rs485", "modbus" */
uint32_t bl_proto_link_timeout_ms(const bl_protocol_t *p); /* 0: not watched */
/* Trigger rows, session states and identity facts (from the first of p's chain that has them). */
const bl_trigger_t *bl_proto_triggers(const bl_protocol_t *p, size_t *n);
const char *const *bl_proto_states(const bl_protocol_t *p, size_t *n);
const bl_idfact_t *bl_proto_idfacts(const bl_protocol_t *p, size_t *n);
/* Text members (handshake, identity, on_timeout) resolved through the chain; NULL when none. */
const char *bl_proto_handshake(const bl_protocol_t *p);
const char *bl_proto_identity(const bl_protocol_t *p);
const char *bl_proto_on_timeout(const bl_protocol_t *p);
/* Safe-state alarms of class k (a variant's own, else its base's). */
bl_alarm_mask_t bl_proto_safe(const bl_protocol_t *p, unsigned k);

/* ---- capabilities ------------------------------------------------------ */

typedef struct {
    uint32_t fields;                 /* BL_BIT(field) for every battery field carried */
    uint32_t unverified;             /* BL_BIT(field): every row carrying it is single-source / inferred */
    int32_t step[BL_F_COUNT];        /* finest step of each field, milli-units (0: not carried);
                                        counts (module_count) are in milli-units too: 1 = 1000 */
    int32_t origin[BL_F_COUNT];      /* a value on that step's grid (the row's offset) */
    int32_t lo[BL_F_COUNT], hi[BL_F_COUNT]; /* widest physical range carried, milli-units */
    uint8_t text[BL_F_COUNT];        /* strings: characters carried */
    bl_alarm_mask_t alarms[BL_AC_COUNT];  /* carried alarms, per class */
    bl_alarm_mask_t shared[BL_AC_COUNT];  /* carried only on a bit shared with other alarms */
} bl_caps_t;

/*
 * Capabilities of the battery -> inverter direction, from the tables.
 * bl_proto_caps: what a decoder of this protocol can learn (every row it reads).
 * bl_proto_caps_sent: what the encoder puts on the wire (messages it sends,
 * rows within the DLC it sends, alarm rows it raises).
 */
void bl_proto_caps(const bl_protocol_t *p, bl_caps_t *caps);
void bl_proto_caps_sent(const bl_protocol_t *p, bl_caps_t *caps);

/* ---- the CAN codec ----------------------------------------------------- */

#define BL_CAN_MAX_MSGS 64
#define BL_CAN_HASH 128 /* lookup slots, a power of two > 1.5 x BL_CAN_MAX_MSGS */
#define BL_MAX_SIGS 64

/* A protocol resolved for fast use; caller-owned, may be static. */
typedef struct {
    const bl_protocol_t *p;
    unsigned vflags;
    uint8_t n;
    const bl_message_t *msg[BL_CAN_MAX_MSGS];
    uint8_t sends[BL_CAN_MAX_MSGS]; /* 1 when the encoder sends msg[i] */
    uint32_t rejected[BL_REJ_COUNT];/* per cause, only ever incremented */
    uint32_t decoded;
    /* the session (battery role): set by bl_can_react() / bl_can_link_check(), read by encode */
    uint32_t addr;         /* address put into addressed ids on encode (caller sets it) */
    uint8_t state;         /* state of the trigger table, 0 after init and after a lost link */
    bool started;          /* periodic messages allowed: the battery speaks first, or a START came */
    uint64_t peer_seen_ms; /* last inverter frame (BL_NEVER: none yet) */
    uint32_t reactions;    /* trigger rows matched, only ever incremented */
    uint32_t links_lost;   /* times the inverter went silent, only ever incremented */
    uint32_t limits_sent;  /* BL_BIT(field): CVL/CCL/DCL rows of the messages it sends (safe-state check) */
    /* what each message last said was raised: an alarm two messages carry (Pylon HV 0x4250
     * error byte and 0x4290 faults) stays raised while either still reports it */
    bl_alarm_mask_t msg_active[BL_CAN_MAX_MSGS][BL_AC_COUNT];
    /* lookup index built by init: exact ids in an open-addressed table (slot = index + 1,
     * 0 empty), addressed ids (id_mask set) in a short list scanned after it */
    uint8_t slot[BL_CAN_HASH];
    uint8_t masked[BL_CAN_MAX_MSGS];
    uint8_t nmasked;
} bl_can_codec_t;

/* @retval 0 ready  @retval BL_EINVAL not a CAN protocol  @retval BL_ENOMEM too many messages */
int bl_can_codec_init(bl_can_codec_t *c, const bl_protocol_t *p);

/* What one frame carried. */
typedef struct {
    bl_reject_t why;         /* BL_REJ_NONE when decoded */
    uint8_t sig;             /* row index of the offending signal (BL_REJ_RANGE, BL_REJ_RESERVED) */
    uint8_t dlc_min, dlc_max;/* accepted lengths (BL_REJ_LENGTH) */
    const bl_message_t *msg; /* matched row, NULL for unknown ids */
    unsigned vflags;         /* variant flags the rows were read with */
    uint32_t addr;           /* address bits of an addressed id (Pylon HV group, Sofar battery id) */
    uint32_t fields;         /* BL_BIT(field) set by this frame */
    bl_alarm_mask_t active[BL_AC_COUNT], known[BL_AC_COUNT];
    uint64_t have;           /* BL_BIT(row) for rows present in the frame */
    int64_t val[BL_MAX_SIGS];/* per row: milli-units (NUM), the raw wire value (BOOL, ALARM, PAIR, MUX):
                                what a DBC decoder shows; the canonical flag is in the record */
} bl_decoded_t;

/* Message row for a frame, or NULL (why set: BL_REJ_UNKNOWN_ID / BL_REJ_ID_LENGTH). */
const bl_message_t *bl_can_lookup(const bl_can_codec_t *c, const bl_can_frame_t *f, bl_reject_t *why);

/*
 * Decode one frame into *rec: fields it carries become valid with seen_ms = now_ms.
 * A frame is all or nothing: when any signal is out of range, nothing is stored.
 * @param d  may be NULL
 * @retval 0           decoded
 * @retval BL_EBADMSG  d->why names the cause; *rec unchanged; counted in c->rejected
 */
int bl_can_decode(bl_can_codec_t *c, const bl_can_frame_t *f, uint64_t now_ms, bl_record_t *rec,
                  bl_decoded_t *d);

/*
 * What decoding one classic frame of a message stored, kept so that the same bytes, when
 * the message repeats them (most do, second after second), are stored again without walking
 * the rows: the same fields with the same values and seen_ms = now_ms, text rows read again
 * from the frame (a later piece of a string keeps what the record holds), the alarms merged
 * with what the other messages say. The caller owns one per codec message (BL_CAN_MAX_MSGS).
 */
#define BL_CAN_MEMO_OPS 12
typedef struct {
    uint32_t id;
    uint8_t len, flags, data[8]; /* the frame */
    uint8_t ok;                  /* 1: the stores below are what decoding it stored */
    uint8_t nops;
    uint8_t row[BL_CAN_MEMO_OPS];   /* row of each store, in the decode's order */
    uint8_t field[BL_CAN_MEMO_OPS]; /* BL_F_NONE: a text row, read again from the frame */
    uint8_t dec[BL_CAN_MEMO_OPS];
    int32_t value[BL_CAN_MEMO_OPS];
    uint32_t fields, addr;
    bl_alarm_mask_t active[BL_AC_COUNT], known[BL_AC_COUNT];
} bl_can_memo_t;

/*
 * bl_can_decode() with a memo per message (memo[BL_CAN_MAX_MSGS], zeroed before the first
 * call): the same outcome in *rec, c and the return value. *repeat is true when the frame
 * repeated the memo's bytes: then d holds all but have and val (0). An error frame, a
 * rejected frame and a message with more stores than BL_CAN_MEMO_OPS are decoded in full.
 */
int bl_can_decode_memo(bl_can_codec_t *c, const bl_can_frame_t *f, uint64_t now_ms, bl_record_t *rec,
                       bl_decoded_t *d, bl_can_memo_t *memo, bool *repeat);

enum {
    BL_ENC_CLAMP = 1u << 0 /* clamp out-of-range values (reported) instead of failing */
};

typedef struct {
    bl_reject_t why;       /* BL_REJ_RANGE on failure */
    uint8_t sig;           /* row that failed */
    uint32_t substituted;  /* BL_BIT(field): encoded as the safe value (invalid or stale) */
    uint32_t clamped;      /* BL_BIT(field): clamped into range (BL_ENC_CLAMP) */
    bool safe_state;       /* the protocol's safe alarms were raised */
} bl_encoded_t;

/* true when any limit the protocol carries is invalid or older than stale_ms:
 * the output must be in the protocol's safe state. */
bool bl_can_safe_needed(const bl_can_codec_t *c, const bl_record_t *rec, uint64_t now_ms,
                        uint64_t stale_ms);

/*
 * Encode message m (selector value mux for multiplexed messages) from *rec.
 * Invalid or stale fields are encoded as their safe value (0 A limits, flags
 * cleared, the signal's "not available" marker where it has one) and listed in
 * res->substituted; alarms of the safe state are added when bl_can_safe_needed().
 * @param stale_ms  0: never stale
 * @retval 0          *out holds the frame
 * @retval BL_ERANGE  a value is out of range (res->sig), nothing sent
 */
int bl_can_encode(const bl_can_codec_t *c, const bl_message_t *m, unsigned mux, const bl_record_t *rec,
                  uint64_t now_ms, uint64_t stale_ms, unsigned opts, bl_can_frame_t *out,
                  bl_encoded_t *res);

/*
 * What encoding one message read and made, kept so that while what it reads is the same it
 * is sent again without walking the rows: the fields its rows read (value and freshness at
 * now_ms), the text it copies, the alarm classes and the safe state its alarm rows use, the
 * session state and address. The caller owns one per codec message, zeroed before first use.
 */
#define BL_CAN_EMEMO_DEPS 8
typedef struct {
    bl_can_frame_t out;
    bl_encoded_t res;
    uint8_t ok, mux, state, ndeps;
    uint8_t dep[BL_CAN_EMEMO_DEPS], fresh[BL_CAN_EMEMO_DEPS];
    int32_t value[BL_CAN_EMEMO_DEPS];
    uint8_t text_field, text_valid; /* text_field BL_F_NONE: no text row reads the record */
    char text[BL_STR_MAX];
    uint8_t aclasses;               /* BL_BIT(class) read by alarm rows */
    uint8_t safe;
    bl_alarm_mask_t active[BL_AC_COUNT], known[BL_AC_COUNT];
    uint32_t addr;
    unsigned opts;
    uint64_t stale_ms;
} bl_can_ememo_t;

/*
 * bl_can_encode() with a memo for message m: the same frame, result and return value. A
 * message whose rows read more than BL_CAN_EMEMO_DEPS fields, or more than one text field,
 * and a failed encode are encoded in full every time.
 */
int bl_can_encode_memo(const bl_can_codec_t *c, const bl_message_t *m, unsigned mux, const bl_record_t *rec,
                       uint64_t now_ms, uint64_t stale_ms, unsigned opts, bl_can_frame_t *out,
                       bl_encoded_t *res, bl_can_ememo_t *memo);

/* Effective signal row i of message m under the codec's variant flags. */
void bl_can_sig(const bl_can_codec_t *c, const bl_message_t *m, unsigned i, bl_signal_t *out);
/* Message row by id (address bits ignored), id length and direction; NULL when none. */
const bl_message_t *bl_can_msg(const bl_can_codec_t *c, uint32_t id, unsigned ext, unsigned dir);
/* true when the codec's encoder sends m */
bool bl_can_sends(const bl_can_codec_t *c, const bl_message_t *m);

/* ---- the session: both roles as data ------------------------------------ */

#define BL_REACT_MAX 24

/* What one inverter frame asks of the battery. */
typedef struct {
    uint8_t n;                              /* messages to send now, in order */
    const bl_message_t *send[BL_REACT_MAX]; /* a multiplexed one: every selector value 0..nmux-1 */
    uint8_t rows;                           /* trigger rows that matched */
    uint8_t state_before, state_after;
    bool started;                           /* periodic sending switched on by this frame */
} bl_reaction_t;

/*
 * Battery role: an inverter -> battery frame arrived. Walks the protocol's
 * trigger rows: updates c->state, c->started, c->peer_seen_ms and fills *r with
 * the answers to send now. Frames that are not inverter messages of this
 * protocol leave the session alone.
 * @retval >= 0  number of trigger rows that matched (0: no answer due)
 */
int bl_can_react(bl_can_codec_t *c, const bl_can_frame_t *f, uint64_t now_ms, bl_reaction_t *r);

/* Inverter role: what an inverter sends for a trigger row on its own initiative. */
typedef enum {
    BL_TK_NONE = 0, /* only ever an answer to something else: not sent unprompted */
    BL_TK_PERIODIC, /* a request with a period (polls, keep-alives) */
    BL_TK_HELLO,    /* no period, starts the battery and gets an answer (BYD identification, SMA HV pairing) */
    BL_TK_COMMAND   /* no period, moves the battery's session on once it is there (contactor close) */
} bl_trigger_kind_t;

bl_trigger_kind_t bl_trigger_kind(const bl_trigger_t *t);

/*
 * Battery role: check the link at now_ms. When the protocol watches it and the
 * inverter has been silent for link_timeout_ms, the session goes back to state 0
 * and, where the inverter speaks first, stops the periodic messages.
 * @retval true   the link is up (or not watched)
 * @retval false  lost (counted once in c->links_lost)
 */
bool bl_can_link_check(bl_can_codec_t *c, uint64_t now_ms);

#endif
