/* Which protocol is this traffic? Scores every CAN protocol on a sample of frames. */
#ifndef BMSLINK_DETECT_H
#define BMSLINK_DETECT_H

#include "bmslink/capture.h"
#include "bmslink/protocol.h"

typedef struct {
    const bl_protocol_t *p;
    uint32_t frames;   /* frames looked at */
    uint32_t known;    /* frames whose id (and id length) the protocol defines */
    uint32_t decoded;  /* frames that decoded without a reject */
    uint32_t ids;      /* distinct ids of the protocol seen */
    uint32_t rejected; /* frames with a known id that were rejected (dlc, range) */
} bl_detect_score_t;

/*
 * Score every CAN protocol (variants included) on frames[0..n). Fills at most
 * max scores, best first: most decoded frames, then fewest rejects, then a
 * base protocol before its variants. Returns the number of scores filled.
 */
size_t bl_detect_can(const bl_cap_frame_t *frames, size_t n, bl_detect_score_t *scores, size_t max);

#endif
