/*
 * The diagnosis engine: protocol choice on a sample of the capture, then every frame
 * through the table codec and the analysers, then the findings in severity order.
 */
#include "diagnose_int.h"

#include <string.h>

static const char *const problem_names[BL_DP_COUNT] = {
    [BL_DP_BATTERY_NOT_DETECTED] = "battery_not_detected",
    [BL_DP_SOC] = "soc_missing_or_wrong",
    [BL_DP_COMM] = "communication_fault",
    [BL_DP_ALARM_NOT_SHOWN] = "alarm_not_shown",
    [BL_DP_LIMITS] = "limits_not_followed",
    [BL_DP_SHUTDOWN] = "unexpected_shutdown",
    [BL_DP_WRONG_BITRATE] = "wrong_bitrate",
    [BL_DP_WRONG_ID_LENGTH] = "wrong_id_length",
    [BL_DP_WRONG_PROTOCOL] = "wrong_protocol",
    [BL_DP_SIGN_INVERTED] = "current_sign_inverted",
    [BL_DP_STALE_DATA] = "stale_data",
    [BL_DP_BATTERY_MISMATCH] = "battery_mismatch",
};

const char *bl_diag_problem_str(unsigned p)
{
    return p < BL_DP_COUNT ? problem_names[p] : NULL;
}

const char *bl_diag_severity_str(unsigned s)
{
    static const char *const n[BL_DSEV_COUNT] = { "error", "warning", "info" };
    return s < BL_DSEV_COUNT ? n[s] : NULL;
}

const char *bl_diag_loop_str(unsigned l)
{
    static const char *const n[] = { "unknown", "open", "closed" };
    return l < BL_ARRAY_LEN(n) ? n[l] : NULL;
}

/* ---- findings ------------------------------------------------------------------------ */

bl_diag_finding_t *dg_add(bl_diag_t *d, unsigned problem, unsigned severity, const char *id, uint64_t at_us)
{
    bl_diag_finding_t *f;
    if (d->nout >= d->cap_out) {
        d->dropped++;
        return NULL;
    }
    f = &d->out[d->nout++];
    memset(f, 0, sizeof *f);
    f->problem = (uint8_t)problem;
    f->severity = (uint8_t)severity;
    f->because = BL_DP_COUNT;
    f->id = id;
    f->at_us = at_us;
    return f;
}

bl_diag_finding_t *dg_find(bl_diag_t *d, unsigned problem)
{
    for (size_t i = 0; i < d->nout; i++)
        if (d->out[i].problem == problem)
            return &d->out[i];
    return NULL;
}

void dg_mark(bl_diag_mark_t *m, const dg_ctx_t *c, int64_t a, int64_t b, int64_t x)
{
    m->ts_us = c->t_us;
    m->line = c->line;
    m->has_ts = c->has_ts;
    m->has_frame = c->f != NULL;
    if (c->f != NULL) {
        m->f.id = c->f->id;
        m->f.len = c->f->len;
        m->f.flags = c->f->flags;
        memset(m->f.data, 0, sizeof m->f.data);
        memcpy(m->f.data, c->f->data, c->f->len < 8u ? c->f->len : 8u);
    }
    m->a = a;
    m->b = b;
    m->c = x;
}

void dg_ev(bl_diag_finding_t *f, const bl_diag_mark_t *m, const char *fmt, ...)
{
    bl_diag_ev_t *e;
    va_list ap;
    unsigned at;

    if (f == NULL || m == NULL || !dg_marked(m) || f->nev >= BL_DIAG_EV_MAX)
        return;
    for (unsigned i = 0; i < f->nev; i++)
        if (f->ev[i].line == m->line)
            return;
    /* keep the evidence in time (line) order */
    for (at = f->nev; at > 0 && f->ev[at - 1].line > m->line; at--)
        f->ev[at] = f->ev[at - 1];
    e = &f->ev[at];
    f->nev++;
    memset(e, 0, sizeof *e);
    e->ts_us = m->ts_us;
    e->line = m->line;
    e->has_ts = m->has_ts;
    e->has_frame = m->has_frame;
    e->f = m->f;
    va_start(ap, fmt);
    dg_vfmt(e->note, sizeof e->note, fmt, ap);
    va_end(ap);
}

void dg_note(bl_diag_t *d, const char *fmt, ...)
{
    va_list ap;
    if (d->nnotes >= BL_ARRAY_LEN(d->notes))
        return;
    va_start(ap, fmt);
    dg_vfmt(d->notes[d->nnotes++], BL_DIAG_NOTE_MAX, fmt, ap);
    va_end(ap);
}

void dg_msg_name(const bl_message_t *m, char *buf, size_t n)
{
    if (m == NULL)
        dg_fmt(buf, n, "?");
    else
        dg_fmt(buf, n, "%i %s", m->id, (int)m->ext, m->name);
}

uint64_t dg_span(const bl_diag_mark_t *a, const bl_diag_mark_t *b)
{
    if (!a->has_ts || !b->has_ts || b->ts_us < a->ts_us)
        return 0;
    return b->ts_us - a->ts_us;
}

/* ---- judgement helpers --------------------------------------------------------------- */

/* An inverter regulates its current to a few per cent: 2 A or 5 % of the limit, whichever is larger. */
int32_t dg_tol_current(int32_t limit_mA)
{
    int32_t t = limit_mA / 20;
    return t > 2000 ? t : 2000;
}

/* 0.5 % of the voltage limit, at least 0.2 V (one LSB of the coarsest voltage fields is 0.1 V). */
int32_t dg_tol_voltage(int32_t limit_mV)
{
    int32_t t = limit_mV / 200;
    return t > 200 ? t : 200;
}

bool dg_current(const bl_diag_t *d, int32_t *mA)
{
    if (d->rec.f[BL_F_CURRENT].valid) {
        *mA = d->rec.f[BL_F_CURRENT].value;
        return true;
    }
    if (d->rec.f[BL_F_INV_CURRENT].valid) {
        *mA = d->rec.f[BL_F_INV_CURRENT].value;
        return true;
    }
    return false;
}

/* ---- protocol choice ------------------------------------------------------------------- */

typedef struct {
    uint32_t known, decoded, idlen, b2i, i2b;
} fit_t;

/* How well protocol p reads frames[0..n) (only those with skip[i] clear when skip != NULL). */
static void fit(const bl_protocol_t *p, const bl_cap_frame_t *frames, size_t n, const uint8_t *skip, fit_t *out)
{
    bl_can_codec_t c;
    bl_record_t rec;

    memset(out, 0, sizeof *out);
    if (bl_can_codec_init(&c, p) < 0)
        return;
    bl_record_init(&rec);
    for (size_t i = 0; i < n; i++) {
        bl_decoded_t dec;
        if ((frames[i].f.flags & BL_CAN_ERR) || (skip != NULL && skip[i]))
            continue;
        if (bl_can_decode(&c, &frames[i].f, 0, &rec, &dec) == 0) {
            out->decoded++;
            out->known++;
            if (dec.msg->dir == BL_DIR_B2I)
                out->b2i++;
            else
                out->i2b++;
        } else if (dec.why == BL_REJ_ID_LENGTH) {
            out->idlen++;
        } else if (dec.why != BL_REJ_UNKNOWN_ID) {
            out->known++;
        }
    }
}

static void sample_mark(const bl_diag_t *d, size_t i, bl_diag_mark_t *m)
{
    dg_ctx_t c;
    memset(&c, 0, sizeof c);
    c.f = &d->sample[i].f;
    c.line = d->sample_line[i];
    c.has_ts = d->sample[i].has_ts != 0;
    c.t_us = d->sample[i].ts_us;
    dg_mark(m, &c, 0, 0, 0);
}

/*
 * The rest of the traffic: frames the chosen protocol does not know, read by every
 * protocol of another family. A battery broadcasting Pylon LV to an inverter that polls
 * with Pylon HV's 0x4200 shows up here as the inverter's protocol.
 */
static void other_side(bl_diag_t *d)
{
    uint8_t skip[512];
    size_t n = d->nsample, np;
    const bl_protocol_t *const *all = bl_protocols(&np);
    fit_t best;
    bl_can_codec_t c;

    memset(&best, 0, sizeof best);
    if (n > sizeof skip)
        n = sizeof skip;
    if (d->p == NULL || bl_can_codec_init(&c, d->p) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        const bl_can_frame_t *f = &d->sample[i].f;
        skip[i] = 1;
        bl_reject_t why = BL_REJ_NONE;
        if (f->flags & (BL_CAN_ERR | BL_CAN_RTR))
            continue;
        if (bl_can_lookup(&c, f, &why) == NULL && !(d->flip_ext && why == BL_REJ_ID_LENGTH)) {
            skip[i] = 0;
            d->unknown_sample++;
        }
    }
    if (d->unknown_sample < 3)
        return;
    for (size_t k = 0; k < np; k++) {
        fit_t ft;
        if (bl_proto_root(all[k]) == bl_proto_root(d->p) || bl_proto_root(all[k])->bus != BL_BUS_CAN)
            continue;
        fit(all[k], d->sample, n, skip, &ft);
        if (ft.decoded > best.decoded || (ft.decoded == best.decoded && ft.i2b > best.i2b && d->other_p != NULL &&
                                          all[k]->confidence <= d->other_p->confidence)) {
            best = ft;
            d->other_p = all[k];
        }
    }
    /* most of the frames the chosen protocol does not know, not a few stray ones */
    if (d->other_p == NULL || best.decoded < 3 || best.decoded * 2u < d->unknown_sample) {
        d->other_p = NULL;
        return;
    }
    d->other_b2i = best.b2i;
    d->other_i2b = best.i2b;
    if (bl_can_codec_init(&c, d->other_p) < 0)
        return;
    for (size_t i = 0, k = 0; i < n && k < 2; i++) {
        bl_record_t rec;
        if (skip[i])
            continue;
        bl_record_init(&rec);
        if (bl_can_decode(&c, &d->sample[i].f, 0, &rec, NULL) == 0)
            sample_mark(d, i, &d->other_m[k++]);
    }
}

/* An adapter at the wrong bitrate hands over frames whose ids never repeat: whatever a
 * protocol happens to decode among them is chance, not a battery. */
static bool garbage(const bl_diag_t *d, uint32_t decoded)
{
    uint32_t data = 0, distinct = 0;
    for (size_t i = 0; i < d->nsample; i++) {
        const bl_can_frame_t *f = &d->sample[i].f;
        bool seen = false;
        if (f->flags & BL_CAN_ERR)
            continue;
        data++;
        for (size_t k = 0; k < i && !seen; k++)
            seen = !(d->sample[k].f.flags & BL_CAN_ERR) && d->sample[k].f.id == f->id &&
                   ((d->sample[k].f.flags ^ f->flags) & BL_CAN_EXT) == 0;
        distinct += !seen;
    }
    return data >= 20u && decoded * 10u < data && distinct * 3u >= data;
}

static void choose(bl_diag_t *d)
{
    const bl_protocol_t *exp = d->expected;
    const bl_detect_score_t *best = NULL;
    fit_t ef;

    d->nscores = bl_detect_can(d->sample, d->nsample, d->scores, BL_ARRAY_LEN(d->scores));
    if (d->nscores > 0 && d->scores[0].decoded > 0 && !garbage(d, d->scores[0].decoded))
        best = &d->scores[0];
    if (exp == NULL) {
        d->p = best ? best->p : NULL;
    } else {
        fit(exp, d->sample, d->nsample, NULL, &ef);
        d->exp_decoded = ef.decoded;
        d->exp_idlen = ef.idlen;
        d->exp_known = ef.known;
        if (best == NULL || (uint64_t)ef.decoded * 10u >= (uint64_t)best->decoded * 9u) {
            d->p = exp; /* it explains the traffic about as well as anything */
        } else if (ef.idlen >= 3 && ef.idlen * 2u >= ef.idlen + ef.known) {
            /* the right protocol with the other id length: read it as meant, say so */
            d->p = exp;
            d->flip_ext = true;
        } else {
            d->p = best->p; /* what is on the wire; wrong_protocol says the rest */
        }
    }
    if (d->p != NULL && d->p != exp && exp != NULL) {
        bl_can_codec_t c;
        if (bl_can_codec_init(&c, d->p) == 0)
            for (size_t i = 0, k = 0; i < d->nsample && k < 2; i++) {
                bl_record_t rec;
                bl_record_init(&rec);
                if (bl_can_decode(&c, &d->sample[i].f, 0, &rec, NULL) == 0)
                    sample_mark(d, i, &d->best_m[k++]);
            }
    }
    other_side(d);
}

/* Timeouts: --stale, else the inverter's (the shortest on a battery message), else the protocol's. */
static void timeouts(bl_diag_t *d)
{
    const bl_diag_inverter_t *inv = d->cfg.inv;

    d->stale_ms = d->cfg.stale_ms;
    if (inv != NULL)
        for (unsigned i = 0; i < inv->ntimeouts && i < BL_DIAG_INV_TIMEOUTS; i++)
            if (inv->timeouts[i].after_ms > 0 &&
                (d->inv_timeout_ms == 0 || inv->timeouts[i].after_ms < d->inv_timeout_ms))
                d->inv_timeout_ms = inv->timeouts[i].after_ms;
    if (d->stale_ms != 0) {
        dg_fmt(d->timeout_src, sizeof d->timeout_src, "--stale");
    } else if (d->inv_timeout_ms != 0 && inv != NULL) {
        d->stale_ms = d->inv_timeout_ms;
        dg_fmt(d->timeout_src, sizeof d->timeout_src, "%s's timeout", inv->name ? inv->name : "the inverter");
    } else if (d->p != NULL) {
        d->stale_ms = bl_proto_timeout_ms(d->p);
        dg_fmt(d->timeout_src, sizeof d->timeout_src,
               bl_proto_root(d->p)->timeout_ms || d->p->timeout_ms ? "%s's timeout" : "%s: 10 x its period",
               d->p->name);
    }
    if (d->stale_ms == 0) {
        d->stale_ms = 10000;
        dg_fmt(d->timeout_src, sizeof d->timeout_src, "default");
    }
}

static void process(bl_diag_t *d, const bl_cap_frame_t *cf, uint64_t line);

void dg_make_ready(bl_diag_t *d)
{
    d->ready = true;
    if (d->rs)
        d->p = d->expected; /* byte protocols are named (or detected by the tool from their framing) */
    else
        choose(d);
    timeouts(d);
    d->inv_p = d->cfg.via                        ? d->cfg.via
               : d->cfg.inv && d->cfg.inv->proto ? d->cfg.inv->proto
               : d->expected                     ? d->expected
                                                 : d->p;
    if (d->p != NULL && !d->rs && bl_can_codec_init(&d->codec, d->p) < 0)
        d->p = NULL;
    if (d->p != NULL)
        bl_proto_caps(d->p, &d->caps);
    dg_alarms_init(d);
    for (size_t i = 0; i < d->nsample; i++)
        process(d, &d->sample[i], d->sample_line[i]);
    d->nsample = 0;
}

/* ---- the stream ------------------------------------------------------------------------ */

int bl_diag_init(bl_diag_t *d, const bl_diag_cfg_t *cfg, bl_cap_frame_t *sample, uint64_t *sample_line,
                 size_t nsample, bl_diag_finding_t *out, size_t cap)
{
    memset(d, 0, sizeof *d);
    if (cfg == NULL || sample == NULL || sample_line == NULL || nsample == 0 || out == NULL || cap == 0)
        return BL_EINVAL;
    if ((cfg->via != NULL && bl_proto_root(cfg->via)->bus != BL_BUS_CAN) ||
        (cfg->inv != NULL && cfg->inv->proto != NULL && bl_proto_root(cfg->inv->proto)->bus != BL_BUS_CAN))
        return BL_EINVAL;
    d->cfg = *cfg;
    if (cfg->proto != NULL && bl_proto_root(cfg->proto)->bus != BL_BUS_CAN) {
        int rc = dg_rs_init(d, cfg->proto);
        if (rc < 0)
            return rc;
    }
    /* behind a gateway the profile's protocol is the far side's, not this bus's */
    d->expected = cfg->proto ? cfg->proto : (cfg->inv && !cfg->via) ? cfg->inv->proto : NULL;
    d->sample = sample;
    d->sample_line = sample_line;
    d->cap_sample = nsample;
    d->out = out;
    d->cap_out = cap;
    bl_record_init(&d->rec);
    d->loop = BL_LOOP_UNKNOWN;
    return 0;
}

void bl_diag_timeline(bl_diag_t *d, bl_diag_bucket_t *tl, size_t cap)
{
    d->tl = tl;
    d->cap_tl = cap;
    d->ntl = 0;
}

size_t bl_diag_timeline_len(const bl_diag_t *d)
{
    return d->ntl;
}

static int msg_index(const bl_diag_t *d, const bl_message_t *m)
{
    for (unsigned i = 0; i < d->codec.n; i++)
        if (d->codec.msg[i] == m)
            return (int)i;
    return -1;
}

static void process(bl_diag_t *d, const bl_cap_frame_t *cf, uint64_t line)
{
    bl_decoded_t dec;
    bl_can_frame_t fixed;
    dg_ctx_t c;

    memset(&c, 0, sizeof c);
    c.f = &cf->f;
    c.line = line;
    c.has_ts = cf->has_ts != 0;
    c.mi = -1;
    d->frames++;
    if (c.has_ts) {
        if (d->have_ts && cf->ts_us < d->last_us) {
            d->back_in_time++; /* merged or wrapped logs: hold the clock, never go back */
            c.t_us = d->last_us;
        } else {
            c.t_us = cf->ts_us;
        }
        if (!d->have_ts)
            d->first_us = c.t_us;
        d->have_ts = true;
        d->last_us = c.t_us;
    } else {
        d->no_ts++;
    }
    memset(&dec, 0, offsetof(bl_decoded_t, val));
    c.dec = &dec;
    c.rc = BL_EBADMSG;
    if (cf->f.flags & BL_CAN_ERR) {
        dec.why = BL_REJ_ERROR_FRAME;
    } else if (d->p != NULL) {
        if (d->flip_ext && bl_can_lookup(&d->codec, &cf->f, &dec.why) == NULL && dec.why == BL_REJ_ID_LENGTH) {
            c.flipped = true;
            fixed = cf->f;
            fixed.flags ^= BL_CAN_EXT;
            c.f = &fixed;
        }
        c.rc = bl_can_decode(&d->codec, c.f, c.t_us / 1000u, &d->rec, &dec);
        if (dec.msg != NULL)
            c.mi = msg_index(d, dec.msg);
        if (c.rc == 0 && dec.msg != NULL) {
            c.b2i = dec.msg->dir == BL_DIR_B2I;
            c.i2b = !c.b2i;
            c.poll = c.i2b && (dec.msg->flags & (BL_MF_KEEPALIVE | BL_MF_REQUEST));
            c.period_ms = dec.msg->period_ms;
        }
    } else {
        dec.why = BL_REJ_UNKNOWN_ID;
    }
    c.why = (uint8_t)dec.why;
    c.fields = c.rc == 0 ? dec.fields : 0;
    c.alarms = c.rc == 0 && (dec.known[0] | dec.known[1] | dec.known[2]) != 0;
    dg_analyse(d, &c);
}

void dg_analyse(bl_diag_t *d, const dg_ctx_t *c)
{
    /* the shutdown story reads what the limit and alarm analysers saw before this frame */
    dg_link_frame(d, c);
    dg_values_frame(d, c);
    dg_shutdown_frame(d, c);
    dg_limits_frame(d, c);
    dg_alarms_frame(d, c);
    dg_battery_frame(d, c);
    dg_timeline_frame(d, c);
}

void bl_diag_frame(bl_diag_t *d, const bl_cap_frame_t *f, uint64_t line)
{
    if (d->finished)
        return;
    if (f->has_ts) {
        d->last_push_us = f->ts_us > d->last_push_us ? f->ts_us : d->last_push_us;
    }
    d->last_push_line = line;
    if (d->rs) {
        dg_note(d, "CAN frames in an RS485 diagnosis were skipped (line %l)", DG_L(line));
        return;
    }
    if (!d->ready) {
        d->sample[d->nsample] = *f;
        d->sample_line[d->nsample] = line;
        if (++d->nsample == d->cap_sample)
            dg_make_ready(d);
        return;
    }
    process(d, f, line);
}

void bl_diag_bad_line(bl_diag_t *d, uint64_t line, bl_reject_t why)
{
    dg_ctx_t c;
    if (d->finished)
        return;
    (void)why;
    memset(&c, 0, sizeof c);
    c.line = line;
    c.t_us = d->last_push_us;
    c.has_ts = d->last_push_us != 0;
    c.rc = BL_EBADMSG;
    c.mi = -1;
    d->lines_bad++;
    dg_link_bad(d, &c);
    dg_timeline_bad(d, c.t_us);
}

/* Errors first, then warnings, then info; within a severity by the time they start. */
static void sort_findings(bl_diag_t *d)
{
    for (size_t i = 1; i < d->nout; i++) {
        bl_diag_finding_t tmp = d->out[i];
        size_t j = i;
        while (j > 0 && (d->out[j - 1].severity > tmp.severity ||
                         (d->out[j - 1].severity == tmp.severity && d->out[j - 1].at_us > tmp.at_us))) {
            d->out[j] = d->out[j - 1];
            j--;
        }
        d->out[j] = tmp;
    }
}

size_t bl_diag_finish(bl_diag_t *d)
{
    if (d->finished)
        return d->nout;
    if (!d->ready)
        dg_make_ready(d);
    if (d->rs)
        bl_stream_flush(&d->st); /* a frame cut off by the end of the capture is reported */
    d->finished = true;
    if (d->no_ts > 0 && d->have_ts)
        dg_note(d, "%l frames without a timestamp: timing checks used the others", (int64_t)d->no_ts);
    else if (d->no_ts > 0)
        dg_note(d, "the capture has no timestamps: gaps, periods, timeouts and rates were not judged");
    if (d->back_in_time > 0)
        dg_note(d, "time went backwards %l times (merged logs?): those frames were taken at the previous time",
                (int64_t)d->back_in_time);
    dg_link_finish(d);
    dg_values_finish(d);
    dg_limits_finish(d);
    dg_alarms_finish(d);
    dg_shutdown_finish(d);
    dg_battery_finish(d);
    if (d->dropped > 0)
        dg_note(d, "%u more findings did not fit and were dropped", (unsigned)d->dropped);
    sort_findings(d);
    return d->nout;
}

bool bl_diag_has_error(const bl_diag_t *d)
{
    for (size_t i = 0; i < d->nout; i++)
        if (d->out[i].severity == BL_DSEV_ERROR)
            return true;
    return false;
}
