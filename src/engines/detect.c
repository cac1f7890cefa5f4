/* Protocol detection by scoring every table on the traffic. */
#include "bmslink/detect.h"

#include <string.h>

static bool better(const bl_detect_score_t *a, const bl_detect_score_t *b)
{
    if (a->decoded != b->decoded)
        return a->decoded > b->decoded;
    if (a->rejected != b->rejected)
        return a->rejected < b->rejected;
    if (a->ids != b->ids)
        return a->ids > b->ids;
    /* a base protocol before its variants, higher confidence first */
    if ((a->p->base == NULL) != (b->p->base == NULL))
        return a->p->base == NULL;
    return a->p->confidence < b->p->confidence;
}

static void score_one(const bl_protocol_t *p, const bl_cap_frame_t *frames, size_t n, bl_detect_score_t *s)
{
    bl_can_codec_t c;
    bl_record_t rec;
    const bl_message_t *seen[BL_CAN_MAX_MSGS];
    size_t nseen = 0;

    memset(s, 0, sizeof *s);
    s->p = p;
    if (bl_can_codec_init(&c, p) < 0)
        return;
    bl_record_init(&rec);
    for (size_t i = 0; i < n; i++) {
        const bl_message_t *m;
        bl_decoded_t d;
        if (frames[i].f.flags & BL_CAN_ERR)
            continue;
        s->frames++;
        m = bl_can_lookup(&c, &frames[i].f, NULL);
        if (m == NULL)
            continue;
        s->known++;
        if (bl_can_decode(&c, &frames[i].f, 0, &rec, &d) == 0)
            s->decoded++;
        else
            s->rejected++;
        size_t k;
        for (k = 0; k < nseen; k++)
            if (seen[k] == m)
                break;
        if (k == nseen && nseen < BL_CAN_MAX_MSGS)
            seen[nseen++] = m;
    }
    s->ids = (uint32_t)nseen;
}

size_t bl_detect_can(const bl_cap_frame_t *frames, size_t n, bl_detect_score_t *scores, size_t max)
{
    size_t np, filled = 0;
    const bl_protocol_t *const *all = bl_protocols(&np);

    for (size_t i = 0; i < np; i++) {
        bl_detect_score_t s;
        size_t at;
        if (bl_proto_root(all[i])->bus != BL_BUS_CAN)
            continue;
        score_one(all[i], frames, n, &s);
        if (s.known == 0)
            continue;
        /* insertion into the sorted list */
        for (at = filled; at > 0 && better(&s, &scores[at - 1]); at--)
            if (at < max)
                scores[at] = scores[at - 1];
        if (at < max) {
            scores[at] = s;
            if (filled < max)
                filled++;
        }
    }
    return filled;
}
