/*
 * Which protocol is this traffic? Scores every CAN protocol (variants included) on
 * a sample of frames, and says where protocols read the same id differently
 * (0x351: limits in Pylon LV, SOC in Afore) so a choice is never a silent guess.
 * Freestanding: caller-owned arrays, no allocation.
 */
#ifndef BMSLINK_DETECT_H
#define BMSLINK_DETECT_H

#include "bmslink/capture.h"
#include "bmslink/protocol.h"

typedef struct {
    const bl_protocol_t *p;
    uint32_t frames;       /* frames looked at */
    uint32_t known;        /* frames whose id (and id length) the protocol defines */
    uint32_t decoded;      /* frames that decoded without a reject */
    uint32_t ids;          /* distinct message rows of the protocol seen */
    uint32_t rejected;     /* frames with a known id that were rejected (dlc, range, reserved) */
    uint32_t sent_seen;    /* distinct ids seen that this protocol's battery sends */
    uint32_t sent_missing; /* periodic ids its battery sends that never appeared */
    uint32_t b2i, i2b;     /* decoded frames per direction: which side is talking */
} bl_detect_score_t;

/*
 * Score every CAN protocol on frames[0..n). Fills at most max scores, best first:
 * most decoded frames, then fewest rejects, then most of the ids its battery sends
 * seen; with the evidence equal, higher confidence, a base protocol before its
 * variants, fewest periodic ids missing. Protocols that know none of the ids are left out.
 * Returns the number of scores filled.
 */
size_t bl_detect_can(const bl_cap_frame_t *frames, size_t n, bl_detect_score_t *scores, size_t max);

/* An id two protocols both decode, with a different canonical reading. */
typedef struct {
    uint32_t id;
    uint8_t ext;
    bool ambiguous;             /* the rival fits about as well (decodes >= 80 % as many frames) */
    const bl_protocol_t *a, *b; /* the best protocol and the rival */
    const bl_message_t *ma, *mb;/* what each reads the id as */
    uint32_t frames;            /* frames of this id that read differently */
} bl_detect_clash_t;

/*
 * For the best score (scores[0]) and each rival in scores[1..nscores): the ids both
 * decode but read differently (other canonical fields, values or alarms). One entry
 * per (rival, id), ambiguous rivals first. Returns the number filled (at most max).
 */
size_t bl_detect_clashes(const bl_cap_frame_t *frames, size_t n, const bl_detect_score_t *scores, size_t nscores,
                         bl_detect_clash_t *out, size_t max);

#endif
