/*
 * The battery role on a CAN bus, for any protocol table: broadcast the
 * battery's messages at their periods when the battery speaks first, stay
 * silent until the inverter has spoken when it does not, answer what the
 * protocol's trigger rows say (bl_can_react: polls, pairing, contactor
 * commands, session states), follow the inverter's keep-alive (link active /
 * missing; a lost link resets the session as the table says), and hear what
 * the inverter reports (inv_* fields).
 * Every frame goes through the table codec, so invalid or stale fields leave
 * in the protocol's safe state.
 *
 * Freestanding; time is an argument; the caller owns the instance.
 */
#ifndef BMSLINK_BATTERY_CAN_H
#define BMSLINK_BATTERY_CAN_H

#include "bmslink/protocol.h"
#include "bmslink/simevent.h"

typedef enum {
    BL_LINK_UNKNOWN = 0, /* inverter never heard */
    BL_LINK_ACTIVE,      /* heard within the link timeout */
    BL_LINK_TIMEOUT      /* heard, then lost */
} bl_link_t;

const char *bl_link_str(unsigned l);

typedef struct {
    bl_can_codec_t codec;     /* its session (state, started, peer_seen_ms) is the protocol's trigger table */
    uint64_t next_ms[BL_CAN_MAX_MSGS];
    const bl_message_t *queue[BL_REACT_MAX * 2]; /* answers owed, in the order the rows gave them */
    uint8_t nqueue;
    uint8_t link;             /* bl_link_t */
    uint32_t link_timeout_ms; /* inverter missing after this silence: the protocol's, else 60 s (Battery-Emulator) */
    uint64_t stale_ms;        /* fields older than this go out as the safe value (init: the protocol timeout) */
    bl_record_t inv;          /* what the inverter told us */
    bl_can_memo_t memo[BL_CAN_MAX_MSGS]; /* what each message's last bytes stored (bl_can_decode_memo) */
    bl_can_ememo_t emo[BL_CAN_MAX_MSGS]; /* what each message last read and sent (bl_can_encode_memo) */
    /* counters, only incremented */
    uint32_t rx, rx_rejected[BL_REJ_COUNT], requests;
    uint32_t tx, tx_refused;  /* refused: a value out of the signal's range (nothing sent) */
    uint32_t safe_frames;     /* frames sent in the protocol's safe state */
    uint32_t substituted;     /* fields replaced by their safe value, summed over frames */
    uint32_t queue_full;      /* answers dropped: more owed than the queue holds */
    bl_encoded_t last_enc;    /* result of the last encode */
    bl_sim_event_fn on_event;
    void *ev_ctx;
} bl_batcan_t;

/*
 * @retval 0          ready
 * @retval BL_EINVAL  not a CAN protocol
 */
int bl_batcan_init(bl_batcan_t *b, const bl_protocol_t *p, uint64_t now_ms);

/* A frame from the bus: inverter messages update the link and may trigger answers. */
void bl_batcan_rx(bl_batcan_t *b, const bl_can_frame_t *f, uint64_t now_ms);

/*
 * Frames the battery sends at now_ms from rec into out[0..cap). Returns the
 * count; *next_ms = when it next has something to send (BL_NEVER: nothing
 * until the inverter speaks). Frames that do not fit wait for the next call.
 * which (may be NULL, else cap entries): the codec message index of each frame.
 */
unsigned bl_batcan_tx(bl_batcan_t *b, const bl_record_t *rec, uint64_t now_ms, bl_can_frame_t *out, unsigned cap,
                      uint64_t *next_ms, uint8_t *which);

#endif
