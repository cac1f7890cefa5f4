/* Protocol detection by scoring every table on the traffic, with clash reporting. */
#include "bmslink/detect.h"

#include <string.h>

static bool better(const bl_detect_score_t *a, const bl_detect_score_t *b)
{
    if (a->decoded != b->decoded)
        return a->decoded > b->decoded;
    if (a->rejected != b->rejected)
        return a->rejected < b->rejected;
    /* the same frames explained: prefer the protocol whose battery sends what was seen
     * (Pylon LV V1.2 sends 0x359/0x35C, its :v13 firmware 0x35A/0x35F) */
    if (a->sent_seen != b->sent_seen)
        return a->sent_seen > b->sent_seen;
    /* evidence equal: the better documented protocol, a base before its variants */
    if (a->p->confidence != b->p->confidence)
        return a->p->confidence < b->p->confidence;
    if ((a->p->base == NULL) != (b->p->base == NULL))
        return a->p->base == NULL;
    if (a->sent_missing != b->sent_missing)
        return a->sent_missing < b->sent_missing;
    return a->ids > b->ids;
}

static void score_one(const bl_protocol_t *p, const bl_cap_frame_t *frames, size_t n, bl_detect_score_t *s)
{
    bl_can_codec_t c;
    bl_record_t rec;
    bool seen[BL_CAN_MAX_MSGS];

    memset(s, 0, sizeof *s);
    memset(seen, 0, sizeof seen);
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
        if (bl_can_decode(&c, &frames[i].f, 0, &rec, &d) == 0) {
            s->decoded++;
            if (m->dir == BL_DIR_B2I)
                s->b2i++;
            else
                s->i2b++;
        } else {
            s->rejected++;
        }
        for (unsigned j = 0; j < c.n; j++)
            if (c.msg[j] == m)
                seen[j] = true;
    }
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        bool sent = c.sends[j] && m->dir == BL_DIR_B2I;
        s->ids += seen[j];
        if (sent && seen[j])
            s->sent_seen++;
        /* only what the battery sends by itself can be missed; answers wait for a request */
        if (sent && !seen[j] && m->period_ms && !(m->flags & (BL_MF_ON_REQUEST | BL_MF_EVENT)))
            s->sent_missing++;
    }
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

/* Same canonical reading: the same fields with the same values, the same alarms. */
static bool same_reading(const bl_decoded_t *da, const bl_record_t *ra, const bl_decoded_t *db,
                         const bl_record_t *rb)
{
    if (da->fields != db->fields)
        return false;
    for (unsigned f = 0; f < BL_F_COUNT; f++) {
        const bl_field_info_t *fi = bl_field_info(f);
        if (!(da->fields & BL_BIT(f)))
            continue;
        if (fi->kind == BL_FK_STR) {
            if (strcmp(bl_record_str(ra, f), bl_record_str(rb, f)) != 0)
                return false;
        } else if (ra->f[f].value != rb->f[f].value) {
            return false;
        }
    }
    for (unsigned k = 0; k < BL_AC_COUNT; k++)
        if (da->known[k] != db->known[k] || da->active[k] != db->active[k])
            return false;
    return true;
}

static void add_clash(bl_detect_clash_t *out, size_t *nout, size_t max, const bl_detect_clash_t *c)
{
    for (size_t i = 0; i < *nout; i++)
        if (out[i].b == c->b && out[i].id == c->id && out[i].ext == c->ext) {
            out[i].frames++;
            return;
        }
    if (*nout < max)
        out[(*nout)++] = *c;
}

size_t bl_detect_clashes(const bl_cap_frame_t *frames, size_t n, const bl_detect_score_t *scores, size_t nscores,
                         bl_detect_clash_t *out, size_t max)
{
    size_t nout = 0;
    bl_can_codec_t ca, cb;

    if (nscores < 2 || bl_can_codec_init(&ca, scores[0].p) < 0)
        return 0;
    /* two passes: rivals that fit about as well first, so a short list keeps them */
    for (int pass = 0; pass < 2; pass++)
        for (size_t r = 1; r < nscores; r++) {
            bool ambiguous = (uint64_t)scores[r].decoded * 10u >= (uint64_t)scores[0].decoded * 8u;
            if (ambiguous != (pass == 0) || scores[r].decoded == 0 || bl_can_codec_init(&cb, scores[r].p) < 0)
                continue;
            for (size_t i = 0; i < n; i++) {
                bl_record_t ra, rb;
                bl_decoded_t da, db;
                bl_detect_clash_t c;
                if (frames[i].f.flags & BL_CAN_ERR)
                    continue;
                bl_record_init(&ra);
                bl_record_init(&rb);
                if (bl_can_decode(&ca, &frames[i].f, 0, &ra, &da) != 0 ||
                    bl_can_decode(&cb, &frames[i].f, 0, &rb, &db) != 0 || same_reading(&da, &ra, &db, &rb))
                    continue;
                memset(&c, 0, sizeof c);
                c.id = frames[i].f.id;
                c.ext = (frames[i].f.flags & BL_CAN_EXT) ? 1 : 0;
                c.ambiguous = ambiguous;
                c.a = scores[0].p;
                c.b = scores[r].p;
                c.ma = da.msg;
                c.mb = db.msg;
                c.frames = 1;
                add_clash(out, &nout, max, &c);
            }
        }
    return nout;
}
