/*
 * Byte protocols on RS485/RS232/UART: the stream framer, the Pylontech-style
 * ASCII-hex protocol and its dialects, Daly "A5", JBD "DD..77", and Modbus
 * register maps as data. Portable core: no allocation, no I/O, no clock;
 * every buffer belongs to the caller, time is an argument.
 *
 * Layers:
 *   bl_stream_*    bytes in (any chunking) -> whole frames or rejects with a reason
 *   bl_pyl_*       Pylontech ASCII frame <-> header + INFO bytes, checksums
 *   bl_rs_*        a payload (INFO, Daly data, JBD data) <-> canonical record,
 *                  by walking the layout rows of each protocol file in src/protocols
 *   bl_mb_*        Modbus register images <-> canonical record by map rows
 *                  (framing and CRC of Modbus itself belong to libmodbus)
 */
#ifndef BMSLINK_RS485_H
#define BMSLINK_RS485_H

#include "bmslink/base.h"
#include "bmslink/model.h"
#include "bmslink/protocol.h"
#include "bmslink/signal.h"

/* ---- reasons ----------------------------------------------------------- */

/* Why a byte-protocol frame or exchange was rejected. Instances count each
 * cause in an array of BL_RSR_COUNT counters that only ever increment. */
typedef enum {
    BL_RSR_NONE = 0,
    BL_RSR_CHECKSUM,    /* frame checksum (CHKSUM, sum8, sum16) does not verify */
    BL_RSR_LCHKSUM,     /* Pylon LENGTH: the 4-bit length checksum does not verify */
    BL_RSR_LENGTH,      /* length field disagrees with the bytes that arrived */
    BL_RSR_SYNTAX,      /* a character / byte that cannot be there (non-hex in ASCII, bad end byte) */
    BL_RSR_TRUNCATED,   /* a frame was cut short (new start of frame, or end of input) */
    BL_RSR_TOO_LONG,    /* longer than the protocol allows or the caller's buffer holds */
    BL_RSR_NOISE,       /* bytes outside any frame (wrong baud, line noise, another protocol) */
    BL_RSR_ERROR_CODE,  /* the device answered with an error (Pylon RTN != 0, JBD status, Modbus exception) */
    BL_RSR_ADDRESS,     /* a frame for / from another address than expected */
    BL_RSR_UNKNOWN_CMD, /* a command / register this protocol does not define */
    BL_RSR_LAYOUT,      /* payload does not fit the command's layout (counts, sizes) */
    BL_RSR_RANGE,       /* a value outside its plausible range */
    BL_RSR_TIMEOUT,     /* no answer before the deadline (poller) */
    BL_RSR_UNSOLICITED, /* an answer nobody asked for (no request pending) */
    BL_RSR_COUNT
} bl_rsr_t;

/* Stable snake_case key ("checksum", "length_checksum", ...). */
const char *bl_rsr_str(unsigned why);

/* ---- checksums (pure) -------------------------------------------------- */

/* Pylon LCHKSUM of a 12-bit LENID: (16 - nibble sum mod 16) & 0xF (0 when the sum is a multiple of 16). */
uint8_t bl_pyl_lchksum(uint16_t lenid);
/* Pylon CHKSUM over ASCII characters (VER..INFO, SOI excluded): (~sum + 1) & 0xFFFF. */
uint16_t bl_pyl_chksum(const uint8_t *ascii, size_t n);
/* Daly: sum of bytes & 0xFF. */
uint8_t bl_sum8(const uint8_t *d, size_t n);
/* JBD: 0x10000 - sum of bytes (16 bit). */
uint16_t bl_jbd_sum16(const uint8_t *d, size_t n);
/* JK 4E57: 16-bit sum of bytes. */
uint16_t bl_sum16(const uint8_t *d, size_t n);

/* ---- the stream framer ------------------------------------------------- */

typedef enum {
    BL_FRAMING_PYLON = 0, /* '~' ... CR, ASCII hex, LCHKSUM + CHKSUM */
    BL_FRAMING_DALY,      /* A5 addr id 08 data[8] sum8: 13 bytes */
    BL_FRAMING_JBD,       /* DD b1 b2 len data[len] sum16 77 */
    BL_FRAMING_JK,        /* 4E 57 len16 ... 68 00 00 sum16 */
    BL_FRAMING_COUNT
} bl_framing_t;

const char *bl_framing_str(unsigned f);

typedef enum {
    BL_SEV_FRAME = 0, /* a whole frame that verified: data/len */
    BL_SEV_REJECT,    /* a frame-like run of bytes that did not: why, got/want */
    BL_SEV_NOISE      /* len bytes outside any frame were skipped */
} bl_stream_evkind_t;

typedef struct {
    uint8_t kind;        /* bl_stream_evkind_t */
    uint8_t why;         /* bl_rsr_t for BL_SEV_REJECT (BL_RSR_NOISE for BL_SEV_NOISE) */
    const uint8_t *data; /* the frame / rejected bytes; borrowed until the callback returns */
    size_t len;
    uint64_t offset;     /* stream offset of the first byte (counts every byte pushed) */
    uint32_t got, want;  /* checksum or length as carried and as expected (rejects) */
} bl_stream_ev_t;

typedef void (*bl_stream_cb_t)(void *ctx, const bl_stream_ev_t *ev);

typedef struct {
    uint8_t framing;     /* bl_framing_t */
    uint8_t *buf;        /* caller-owned assembly buffer */
    size_t cap;
    size_t len;          /* bytes of the frame being assembled */
    size_t noise;        /* noise bytes not reported yet */
    uint64_t noise_off;  /* stream offset of the first of them */
    uint64_t offset;     /* stream offset of buf[0] */
    uint64_t total;      /* bytes pushed so far */
    bl_stream_cb_t cb;
    void *ctx;
    /* statistics, only ever incremented */
    uint64_t frames;
    uint64_t noise_bytes;
    uint32_t rejected[BL_RSR_COUNT];
} bl_stream_t;

/* Longest frame of each framing: Pylon 18 + 4095 characters, JBD 4 + 255 + 3,
 * JK up to its 16-bit LENGTH (the buffer caps it). */
#define BL_STREAM_PYLON_MAX (18u + 4095u)
#define BL_STREAM_BUF_MIN 64u

/*
 * Start a framer. buf (cap bytes, >= BL_STREAM_BUF_MIN) is kept until the end.
 * Frames longer than cap are rejected BL_RSR_TOO_LONG.
 * @retval 0 ready  @retval BL_EINVAL unknown framing or cap too small
 */
int bl_stream_init(bl_stream_t *s, unsigned framing, uint8_t *buf, size_t cap, bl_stream_cb_t cb, void *ctx);

/*
 * Push bytes in any chunking: one byte at a time or 4 KiB at once gives the
 * same events in the same order. The callback runs for every whole frame,
 * every reject (with its reason) and every run of noise (reported when the
 * next frame starts, or at bl_stream_flush). After a reject the framer
 * resynchronises on the next start byte inside the rejected bytes.
 */
void bl_stream_push(bl_stream_t *s, const uint8_t *data, size_t n);

/* End of input: a partial frame becomes BL_RSR_TRUNCATED, pending noise is reported. */
void bl_stream_flush(bl_stream_t *s);

/* ---- Pylontech ASCII frames --------------------------------------------- */

typedef struct {
    uint8_t ver, adr, cid1, cid2;
    uint16_t lenid;       /* INFO characters (2 per byte) */
    const uint8_t *info;  /* decoded INFO bytes (caller buffer) */
    size_t info_len;
    uint16_t chksum;      /* as carried */
} bl_pyl_frame_t;

/*
 * Parse one whole frame '~' .. CR (the CR may be absent). info_buf receives
 * the INFO bytes (at most cap; after a reject its contents are undefined).
 * Checks hex syntax, LENID against the characters present, LCHKSUM and CHKSUM.
 * @retval 0           *f filled
 * @retval BL_EBADMSG  *why says which check failed; got/want (may be NULL) the values
 */
int bl_pyl_parse(const uint8_t *frame, size_t n, uint8_t *info_buf, size_t cap, bl_pyl_frame_t *f,
                 bl_rsr_t *why, uint32_t *got, uint32_t *want);

/*
 * Build '~' VER ADR CID1 CID2 LENGTH INFO CHKSUM CR (upper-case hex) into out.
 * @retval > 0         bytes written
 * @retval BL_ENOSPC   out too small
 * @retval BL_EINVAL   info_len > 2047
 */
int bl_pyl_build(uint8_t ver, uint8_t adr, uint8_t cid1, uint8_t cid2, const uint8_t *info, size_t info_len,
                 uint8_t *out, size_t cap);

/* ---- layouts: payload <-> record ---------------------------------------- */

/* What one layout row does at the cursor. */
typedef enum {
    BL_RI_FIELD = 0, /* sig at the cursor, cursor += size (size 0: bits of the next FIELD's bytes;
                      * ASCII with size 0: the rest of the payload) */
    BL_RI_COUNT,     /* U8 count into count slot .slot, cursor += 1 (and into sig.field when set); encode
                      * sends the record's sig.field, the cell count (slot M) or .sig.def */
    BL_RI_ARRAY,     /* count[.slot] + .adjust elements of .size bytes, sig applied to each
                      * (ASCII elements: text blocks, e.g. one serial number per module) */
    BL_RI_IF,        /* when count[.slot] < .sig.def, skip the next .size rows (decode and encode) */
    BL_RI_OPTIONAL,  /* the payload may end here (trailing fields of newer firmware) */
    BL_RI_REST,      /* the rest of the payload, shown as hex (reserved / vendor bytes) */
    BL_RI_ITEMS      /* the rest is "id, value" items; the rows after this one describe them by .id
                      * (JK 4E57): a FIELD row's value follows its id, an ARRAY row's id is followed
                      * by a length byte and length / .size elements */
} bl_ri_op_t;

/* Value conversions a scale and offset cannot say (JK 4E57, rs485-daly-jbd.md §3). */
typedef enum {
    BL_CONV_NONE = 0,
    BL_CONV_JK_TEMP,    /* raw > 100 means -(raw - 100) °C */
    BL_CONV_JK_CURRENT, /* item 0xC0 = 1: bit 15 = charging, bits 0..14 the magnitude; else raw - 10000 */
    BL_CONV_CELL_NO     /* array elements start with their 1-based number (JK 0x79) */
} bl_conv_t;

/* What an array's elements stand for in the record. */
typedef enum {
    BL_AGG_NONE = 0,
    BL_AGG_CELLS,  /* cell voltages: min -> cell_voltage_min_V, max -> cell_voltage_max_V */
    BL_AGG_TEMPS,  /* temperatures: min/max/average of elements [lo, n - back) */
    BL_AGG_STATES  /* state codes: 0x01 raises sig.alarm, 0x02 raises .alarm_hi, other non-zero internal_fault */
} bl_agg_t;

#define BL_ADJ_FILL (-128)

/* Scratch slots: values that feed derived fields (SOC from capacities). */
enum {
    BL_SLOT_NONE = 0,
    BL_SLOT_REMAIN, /* remaining capacity, mAh */
    BL_SLOT_FULL,   /* full / total capacity, mAh */
    BL_SLOT_M,      /* counts: cells */
    BL_SLOT_N,      /* temperatures */
    BL_SLOT_P,      /* user-defined items */
    BL_SLOT_K,      /* another count */
    BL_SLOT_COUNT
};

typedef struct {
    bl_signal_t sig;   /* name, unit, scaling, field/alarm; start/len/order relative to the cursor */
    uint8_t op;        /* bl_ri_op_t */
    uint8_t size;      /* bytes consumed (per element for arrays); BL_RI_IF: rows to skip */
    uint8_t slot;      /* BL_SLOT_*: value kept (FIELD), count written (COUNT) or read (ARRAY, IF) */
    int8_t adjust;     /* ARRAY: elements = count + adjust (EG4 declares N = 4 and sends 6);
                        * BL_ADJ_FILL: as many as the rest of the payload holds (JBD cells) */
    uint8_t agg;       /* bl_agg_t */
    uint8_t agg_lo;    /* first element that feeds the aggregate */
    uint8_t agg_back;  /* elements at the end that do not */
    uint8_t alarm_hi;  /* BL_AGG_STATES: alarm for code 0x02 (sig.alarm + sig.also for 0x01) */
    uint8_t id;        /* BL_RI_ITEMS: the item id this row describes */
    uint8_t conv;      /* bl_conv_t */
    bl_alarm_mask_t also_hi; /* BL_AGG_STATES: more alarms code 0x02 stands for */
} bl_rs_item_t;

enum {
    BL_RMF_GROUP = 1u << 0,     /* Pylon 0x42/0x44: INFO 0xFF asks the master for the whole group */
    BL_RMF_FLAG_CMD = 1u << 1,  /* payload starts with INFOFLAG + command (ADR or pack count) */
    BL_RMF_CMD = 1u << 5,       /* payload starts with the command byte (= ADR) */
    BL_RMF_TRAILING = 1u << 2,  /* tolerate trailing bytes (a live stack added one to 0x44) */
    BL_RMF_WRITE = 1u << 3,     /* a command that changes the device (set / switch / shut down) */
    BL_RMF_NO_REPLY = 1u << 4   /* the battery role does not answer it (layout unknown) */
};

/* Request INFO of a Pylon-family command. */
typedef enum {
    BL_REQ_NONE = 0, /* LENID 0 */
    BL_REQ_ADR,      /* one byte = ADR (0xFF for a group query where allowed) */
    BL_REQ_ONE,      /* one byte 0x01 (system commands as one implementation sends them) */
    BL_REQ_LAYOUT    /* the request rows */
} bl_req_t;

/* One command / data id / register of a byte protocol. */
typedef struct {
    const char *name;          /* snake_case message name (JSON "message") */
    const bl_rs_item_t *rsp;   /* response payload rows (NULL: no payload) */
    const bl_rs_item_t *rqi;   /* request payload rows (BL_REQ_LAYOUT) */
    uint16_t id;               /* Pylon CID2, Daly data id, JBD register */
    uint8_t nrsp;
    uint8_t req;               /* bl_req_t */
    uint8_t nrqi;
    uint8_t flags;             /* BL_RMF_* */
    uint8_t frames;            /* Daly: frames in a multi-frame reply (0: derived from the cell count) */
} bl_rs_msg_t;

/* Pylon-family dialect: frame constants and the command table. */
typedef struct {
    uint8_t ver;               /* VER this dialect sends */
    uint8_t cid1;              /* 0x46 LiFePO4, 0x4A EG4/Daren */
    uint8_t rtn_no_data;       /* RTN the battery role answers when its data is stale */
    uint8_t rtn_bad_cid2, rtn_bad_chksum, rtn_bad_lchksum, rtn_bad_adr;
    bool derive_soc;           /* SOC = remaining / full capacity when the block has no SOC */
} bl_pyl_dialect_t;

typedef enum { BL_RSK_PYLON = 0, BL_RSK_DALY, BL_RSK_JBD, BL_RSK_MODBUS, BL_RSK_JK } bl_rs_kind_t;

struct bl_mb_map;

/* The codec of a byte protocol: bl_protocol_t.rs485 points here. */
typedef struct bl_rs485_codec {
    uint8_t kind;              /* bl_rs_kind_t */
    uint8_t framing;           /* bl_framing_t (not for Modbus) */
    uint8_t data_bits, parity, stop_bits; /* 8, 'N', 1 */
    uint8_t addr_default;      /* Pylon ADR, Daly host id, Modbus unit */
    uint8_t addr_min, addr_max;/* valid addresses */
    uint32_t poll_ms;          /* inverter role: one poll cycle */
    uint32_t reply_ms;         /* how long to wait for an answer */
    uint32_t gap_ms;           /* minimum gap between requests */
    const bl_rs_msg_t *msgs;
    uint8_t nmsgs;
    const uint8_t *poll;       /* commands the inverter role asks each cycle (0-terminated) */
    const uint8_t *poll_once;  /* asked once at start (identity; 0-terminated) */
    uint8_t reply_addr;        /* Daly: the battery answers from this address (host address - 0x3F) */
    const bl_pyl_dialect_t *pyl;
    const struct bl_mb_map *map;
    bool current_negated;      /* the table negates the wire current (per-device sign setting) */
} bl_rs485_codec_t;

/* The resolved codec of a protocol (variants inherit), NULL for CAN protocols. */
const bl_rs485_codec_t *bl_rs_codec(const bl_protocol_t *p);
/* Message row of a command id, NULL when unknown. */
const bl_rs_msg_t *bl_rs_msg(const bl_rs485_codec_t *c, unsigned id);

/* One decoded value, for the "signals" of a message. */
typedef struct {
    const bl_rs_item_t *item; /* layout row (NULL for Modbus map rows) */
    const bl_signal_t *sig;   /* the value's signal: name, unit, kind */
    uint16_t off;     /* payload offset of the value (Modbus: register address) */
    uint16_t n;       /* ARRAY: elements in arr[]; ASCII: bytes at off */
    uint16_t arr;     /* ARRAY: index of the first element in bl_rs_decoded_t.arr */
    uint8_t pack;     /* block (pack) index */
    int64_t v;        /* milli-units (NUM), 0/1 (BOOL, ALARM), raw (REST: byte count) */
} bl_rs_val_t;

#define BL_RS_MAX_VALS 320
#define BL_RS_MAX_ARR 1024
#define BL_RS_MAX_PACKS 16

typedef struct {
    bl_rsr_t why;            /* BL_RSR_NONE when decoded */
    uint16_t at;             /* payload offset where the layout failed */
    const bl_rs_msg_t *msg;
    uint8_t npacks;          /* blocks in the payload; group replies: > 0 and group set */
    bool group;
    uint8_t flag, cmd;       /* INFOFLAG and command byte when the layout has them */
    uint32_t fields;         /* BL_BIT(field) set in the record */
    uint32_t derived;        /* BL_BIT(field) computed from other values (SOC from capacities) */
    bl_alarm_mask_t active[BL_AC_COUNT], known[BL_AC_COUNT];
    uint16_t nvals, narr;
    bool vals_full;          /* more values than fit: the record is complete, the list is not */
    bl_rs_val_t vals[BL_RS_MAX_VALS];
    int32_t arr[BL_RS_MAX_ARR];
} bl_rs_decoded_t;

/*
 * Decode a payload with m's response rows into *rec (all or nothing: on a
 * reject nothing is stored). A group payload (group = true) is INFOFLAG,
 * pack count, one block per pack: each block goes into packs[i] (when
 * packs != NULL) and their aggregate into *rec (voltage mean, current sum,
 * SOC from summed capacities, extremes of cells and temperatures).
 * group < 0: decide from the lengths (one block that fills the payload, else
 * a pack count whose blocks do).
 * @param d  may be NULL (then no values are listed)
 * @retval 0           decoded
 * @retval BL_EBADMSG  d->why: BL_RSR_LAYOUT (d->at), BL_RSR_RANGE
 */
int bl_rs_decode(const bl_rs485_codec_t *c, const bl_rs_msg_t *m, const uint8_t *pl, size_t n, int group,
                 uint64_t now_ms, bl_record_t *rec, bl_record_t *packs, size_t max_packs, bl_rs_decoded_t *d);

/*
 * As bl_rs_decode() for a caller that wants the record only (no packs, no value list):
 * the same result, *rec changed the same way. *fields (may be NULL) = BL_BIT(field) of
 * the battery fields the payload set (0 on a reject).
 */
int bl_rs_decode_rec(const bl_rs485_codec_t *c, const bl_rs_msg_t *m, const uint8_t *pl, size_t n, int group,
                     uint64_t now_ms, bl_record_t *rec, uint32_t *fields);

/*
 * A decoded payload kept so that the same bytes, when they come back (most answers repeat
 * second after second), are stored again without walking the layout: the fields the payload
 * set (seen_ms = now_ms), their text, the alarms. One per command (or per command an answer
 * was inferred as); the caller owns them, zeroed before first use.
 */
#define BL_RS_MEMO_PL 160
typedef struct {
    const bl_rs_msg_t *msg; /* the command decoded (inferred: what the bytes were inferred as) */
    uint8_t ok, inferred;
    int8_t group;
    uint16_t n;
    uint8_t pl[BL_RS_MEMO_PL];
    uint32_t set;           /* BL_BIT(field) stored */
    bl_record_t stage;      /* those fields, their strings, the alarm masks */
} bl_rs_memo_t;

/* bl_rs_decode_rec() with memos (memo[0..nmemo), may be NULL): the same result, *rec and
 * *fields the same. A payload longer than BL_RS_MEMO_PL is decoded in full every time. */
int bl_rs_decode_memo(const bl_rs485_codec_t *c, const bl_rs_msg_t *m, const uint8_t *pl, size_t n, int group,
                      uint64_t now_ms, bl_record_t *rec, uint32_t *fields, bl_rs_memo_t *memo, size_t nmemo);

/* The memo parts bl_rs_session_infer_memo() is built of: the memo for command m (its own,
 * else a free one, else one by its id; NULL without memos), the inferred memo holding
 * pl[0..n) (NULL: none), storing a memo again, and bl_rs_decode_rec(..., -1, ...) that
 * keeps what it stored in mo (may be NULL). */
bl_rs_memo_t *bl_rs_memo_slot(bl_rs_memo_t *memo, size_t nmemo, const bl_rs_msg_t *m, bool inferred);
const bl_rs_memo_t *bl_rs_memo_find(const bl_rs_memo_t *memo, size_t nmemo, const uint8_t *pl, size_t n);
void bl_rs_memo_replay(const bl_rs_memo_t *mo, uint64_t now_ms, bl_record_t *rec, uint32_t *fields);
int bl_rs_decode_into(const bl_rs485_codec_t *c, const bl_rs_msg_t *m, const uint8_t *pl, size_t n,
                      uint64_t now_ms, bl_record_t *rec, uint32_t *fields, bl_rs_memo_t *mo);

/* true when bl_rs_decode(c, m, pl, n, -1, ...) would decode the payload (its layout fits and
 * every value is in range); stores nothing. */
bool bl_rs_fits(const bl_rs485_codec_t *c, const bl_rs_msg_t *m, const uint8_t *pl, size_t n);

/* What an encoder did with the record. */
typedef struct {
    uint32_t substituted;  /* BL_BIT(field): invalid or stale, sent as the safe value */
    uint32_t clamped;      /* BL_BIT(field): did not fit the wire field, sent as its nearest value */
    uint32_t derived;      /* BL_BIT(field): values computed from others (cells spread, capacities) */
    bool safe_state;       /* a limit was not fresh: limits 0 A, enables cleared, alarm raised */
    bool stale_data;       /* telemetry fields the message needs are not fresh */
} bl_rs_encoded_t;

/* true when any current/voltage limit is invalid or older than stale_ms (0: never stale). */
bool bl_rs_limits_stale(const bl_record_t *rec, uint64_t now_ms, uint64_t stale_ms);

/*
 * Encode m's response payload from *rec (the battery role) for protocol p.
 * Invalid or stale fields are sent as their safe value (0 A limits, enable
 * flags cleared, p's safe-state alarms raised when a limit is not fresh) and
 * listed in res; a record without cell voltages gets cell_count cells spread
 * between cell_voltage_min_V and _max_V so that they add up to voltage_V.
 * @param cmd   the command byte of FLAG_CMD layouts (ADR, or pack count 1)
 * @retval >= 0        payload bytes written
 * @retval BL_ENOSPC   out too small
 * @retval BL_ENOTSUP  m has no response layout
 */
int bl_rs_encode(const bl_protocol_t *p, const bl_rs_msg_t *m, uint8_t cmd, const bl_record_t *rec,
                 uint64_t now_ms, uint64_t stale_ms, uint8_t *out, size_t cap, bl_rs_encoded_t *res);

/* Aggregate packs[0..n) into *rec (see bl_rs_decode); sets module_count = n. */
void bl_rs_aggregate(const bl_record_t *packs, size_t n, uint64_t now_ms, bl_record_t *rec);

/* Cells the encoder sends for a record: voltage_V over the mean of the cell extremes
 * (3.3 V per LFP cell without them), 1..32. */
unsigned bl_rs_cell_count(const bl_record_t *rec);

/* Capabilities of a byte protocol (bl_proto_caps calls it). */
void bl_rs_caps(const bl_protocol_t *p, bl_caps_t *caps);

/* Cell i of k the encoder sends for a record (milli-V): the first at the minimum, the
 * second at the maximum, the rest equal so that the sum is the pack voltage. */
int32_t bl_rs_cell_value(const bl_record_t *rec, unsigned i, unsigned k, uint64_t now_ms, uint64_t stale_ms);

/* ---- sessions: frames <-> messages, both roles ------------------------------ */

#define BL_RS_CMD_UNKNOWN 0xFFFFu

/* A whole frame taken apart: who, which command, request or answer, payload. */
typedef struct {
    bool request;          /* from the host (inverter side) */
    bool group;            /* Pylon: a whole-group request (INFO 0xFF) or the reply to one */
    bool inferred;         /* a reply whose command was inferred from its layout (no request seen) */
    uint8_t addr;          /* Pylon ADR, Daly address byte, JBD 0 */
    uint8_t rtn;           /* reply code: Pylon RTN, JBD status; 0 = normal */
    uint8_t ver, cid1;     /* Pylon header */
    uint16_t cmd;          /* the command asked, or answered (BL_RS_CMD_UNKNOWN) */
    const bl_rs_msg_t *msg;/* its row, NULL when unknown */
    const uint8_t *pl;     /* payload: INFO bytes, Daly data[8], JBD data */
    size_t plen;
    bool infer;            /* defer_infer: an answer whose command is left to bl_rs_session_infer() */
} bl_rs_frame_t;

typedef struct {
    uint8_t addr, group, used;
    uint16_t cmd;
} bl_rs_pend_t;

/* What one side has seen: requests waiting for their answer. */
typedef struct {
    const bl_protocol_t *p;
    const bl_rs485_codec_t *c;
    bl_rs_pend_t pend[8];
    uint8_t next;
    uint64_t requests, replies;
    uint32_t rejected[BL_RSR_COUNT]; /* message-level causes, only ever incremented */
    bool defer_infer;      /* set by the caller after init: answers without their request are not
                              inferred by bl_rs_session_frame() (f->infer set, f->cmd unknown);
                              the caller infers and decodes them at once with bl_rs_session_infer() */
} bl_rs_session_t;

/* @retval 0  @retval BL_EINVAL p is not a byte protocol (Modbus maps have no frames here) */
int bl_rs_session_init(bl_rs_session_t *s, const bl_protocol_t *p);

/*
 * Take apart a frame the framer accepted. Requests are remembered per address
 * so that their answer is decoded by the right layout (Pylon answers carry
 * only a return code); an answer with no request seen gets its command
 * inferred from the layouts (f->inferred).
 * buf (cap bytes) receives Pylon INFO bytes; f->pl may point into frame or buf.
 * @retval 0           *f filled (a reply with rtn != 0 is counted BL_RSR_ERROR_CODE)
 * @retval BL_EBADMSG  *why: BL_RSR_SYNTAX / TOO_LONG (frame), UNKNOWN_CMD
 */
int bl_rs_session_frame(bl_rs_session_t *s, const uint8_t *frame, size_t n, uint8_t *buf, size_t cap,
                        bl_rs_frame_t *f, bl_rsr_t *why);

/* The command whose reply layout fits a payload (what inverters poll first), NULL when
 * none does: for answers whose request was not seen, or did not match them. */
const bl_rs_msg_t *bl_rs_infer(const bl_rs485_codec_t *c, const uint8_t *pl, size_t n);

/*
 * For a session with defer_infer, answer f with f->infer set: the command bl_rs_infer()
 * names (f->cmd, f->msg, f->inferred as bl_rs_session_frame() would have set them;
 * BL_RSR_UNSOLICITED counted when none fits), found by decoding, not only checking, the
 * layouts of ids[0..nids): when the command is one of those, its payload is in *rec as
 * bl_rs_decode_rec(c, f->msg, f->pl, f->plen, -1, now_ms, rec, fields) leaves it and
 * *decoded is true; else *rec is untouched. One walk per layout tried instead of a check
 * and then a decode.
 */
const bl_rs_msg_t *bl_rs_session_infer(bl_rs_session_t *s, bl_rs_frame_t *f, const uint16_t *ids, size_t nids,
                                       uint64_t now_ms, bl_record_t *rec, uint32_t *fields, bool *decoded);

/* bl_rs_session_infer() with memos (memo[0..nmemo), may be NULL): the same result, *f, *s,
 * *rec, *fields and *decoded; payload bytes inferred and decoded before are stored again
 * from their memo without trying the layouts (the answer is a function of the bytes). */
const bl_rs_msg_t *bl_rs_session_infer_memo(bl_rs_session_t *s, bl_rs_frame_t *f, const uint16_t *ids, size_t nids,
                                            uint64_t now_ms, bl_record_t *rec, uint32_t *fields, bool *decoded,
                                            bl_rs_memo_t *memo, size_t nmemo);

/* Inverter role: the request frame for cmd to addr (Pylon group = INFO 0xFF).
 * @retval > 0 bytes  @retval BL_ENOENT unknown command  @retval BL_ENOSPC */
int bl_rs_request(const bl_protocol_t *p, uint8_t addr, uint16_t cmd, bool group, uint8_t *out, size_t cap);

typedef struct {
    bool silent;           /* no answer: another address, or nothing honest to say */
    uint8_t rtn;           /* code sent (Pylon RTN, JBD status) */
    uint8_t frames;        /* frames written (Daly 0x95 / 0x96 answer with several) */
    const char *why;       /* why an error code / silence (static text), NULL when normal */
    bl_rs_encoded_t enc;   /* substitutions, safe state */
} bl_rs_answer_t;

/*
 * Battery role: the answer to request f for the battery at my_addr, from *rec.
 * Limits that are not fresh go out in the safe state (0 A, charge/discharge
 * disabled); telemetry that is not fresh is answered with the dialect's error
 * code (Pylon RTN 0x91, JBD status 0x80) or not at all where none exists;
 * commands that would change the device are refused.
 * @retval >= 0  bytes written to out (0: silent, res->why says why)
 * @retval BL_ENOSPC
 */
int bl_rs_answer(const bl_protocol_t *p, uint8_t my_addr, const bl_rs_frame_t *f, const bl_record_t *rec,
                 uint64_t now_ms, uint64_t stale_ms, uint8_t *out, size_t cap, bl_rs_answer_t *res);

/* Battery role, a request that failed its checks (why from the framer): a Pylon
 * pack at that address answers RTN 0x02 / 0x03 (§5); other protocols stay silent. */
int bl_rs_answer_reject(const bl_protocol_t *p, uint8_t my_addr, const uint8_t *frame, size_t n, bl_rsr_t why,
                        uint8_t *out, size_t cap, bl_rs_answer_t *res);

/* ---- Daly / JBD frames ---------------------------------------------------- */

/* Daly request/response frame: A5 addr id 08 data[8] sum. Returns 13 or BL_ENOSPC. */
int bl_daly_build(uint8_t addr, uint8_t id, const uint8_t data[8], uint8_t *out, size_t cap);
/* JBD frame: DD b1 b2 len data sum16 77 (request: b1 = A5/5A, b2 = register; response:
 * b1 = register, b2 = status). Returns the length or BL_ENOSPC / BL_EINVAL (len > 255). */
int bl_jbd_build(uint8_t b1, uint8_t b2, const uint8_t *data, size_t len, uint8_t *out, size_t cap);

/* JK 4E57 frame: 4E 57 LENGTH terminal(0) cmd source transport info record(0) 68 00 00 sum16.
 * transport 0 = request, 1 = response. Returns the length or BL_ENOSPC / BL_EINVAL. */
int bl_jk_build(uint8_t cmd, uint8_t source, uint8_t transport, const uint8_t *info, size_t len, uint8_t *out,
                size_t cap);

/* ---- Modbus register maps ------------------------------------------------ */

typedef enum { BL_MB_HR = 0, BL_MB_IR, BL_MB_CO, BL_MB_DI } bl_mb_table_t;

const char *bl_mb_table_str(unsigned t); /* "hr", "ir", "co", "di" */
/* Read function code of a table: 3, 4, 1, 2. */
uint8_t bl_mb_read_fc(unsigned t);

enum {
    BL_MBF_WORDSWAP = 1u << 0, /* 32-bit value sent low word first (Seplos V3 EIA) */
    BL_MBF_WRITE = 1u << 1,    /* a register the inverter writes (watchdog, setpoints) */
    BL_MBF_AGG_CELL = 1u << 2, /* one cell voltage: min/max over these rows -> cell_voltage_min/max_V */
    BL_MBF_AGG_TEMP = 1u << 3, /* one cell temperature: min/max/mean -> temp_min/max_C, temperature_C */
    BL_MBF_ABSENT_7FFF = 1u << 4, /* 0x7FFF = sensor / cell not present (Felicity) */
    BL_MBF_REMAIN = 1u << 5      /* remaining capacity: the battery role sends capacity x SOC */
};

/* One value in the map: sig positions are relative to the first register's high byte
 * (register = big endian); bits of coils / discrete inputs use one bit per address. */
typedef struct {
    uint16_t addr;    /* zero-based wire address */
    uint8_t table;    /* bl_mb_table_t */
    uint8_t words;    /* registers (or bits) the value spans */
    uint8_t flags;    /* BL_MBF_* */
    bl_signal_t sig;
} bl_mb_reg_t;

/* One read the client makes per poll cycle. */
typedef struct {
    const char *name; /* snake_case (JSON "message") */
    uint8_t table;
    uint16_t start, count;
    uint8_t once;     /* identity: read once at start */
} bl_mb_block_t;

typedef struct bl_mb_map {
    const bl_mb_reg_t *regs;
    uint16_t nregs;
    const bl_mb_block_t *blocks;
    uint8_t nblocks;
    uint8_t addr_step;  /* 1, or 2 where each register address names a byte offset (JK-PB) */
    uint16_t max_read;  /* registers per request the device accepts */
} bl_mb_map_t;

/*
 * Decode the registers of one block read (regs[0] is the block's start;
 * coils/discrete inputs one value 0/1 per entry) into *rec. All or nothing.
 * @retval 0           decoded (d lists the values when not NULL)
 * @retval BL_EBADMSG  d->why BL_RSR_RANGE
 */
int bl_mb_decode(const bl_mb_map_t *map, const bl_mb_block_t *b, const uint16_t *regs, size_t n,
                 uint64_t now_ms, bl_record_t *rec, bl_rs_decoded_t *d);

/*
 * Fill regs[0..count) with what the map serves at table/start from *rec (the
 * battery role). Addresses the map does not define are BL_ENOENT (a device
 * answers exception 02); stale or invalid fields are sent as their safe value.
 * @retval 0          filled
 * @retval BL_ENOENT  *bad_addr is not in the map
 */
int bl_mb_encode(const bl_protocol_t *p, const bl_mb_map_t *map, unsigned table, uint16_t start, uint16_t count, const bl_record_t *rec,
                 uint64_t now_ms, uint64_t stale_ms, uint16_t *regs, uint16_t *bad_addr, bl_rs_encoded_t *res);

/* The row that holds (table, addr), NULL when none. */
const bl_mb_reg_t *bl_mb_find(const bl_mb_map_t *map, unsigned table, uint16_t addr);

#endif
