/*
 * Link analysers: is the battery on the bus at all (battery_not_detected and its
 * configuration causes wrong_bitrate, wrong_id_length, wrong_protocol), and does the
 * data keep coming (communication_fault: gaps beyond the timeout, error frames,
 * bus-off, bursts of malformed frames, slow messages, lost polls).
 */
#include "diagnose_int.h"

#include <string.h>

#define BURST_WINDOW_US 1000000u  /* malformed items counted per second of capture */
#define BURST_MIN 5u              /* ... a burst is this many in one window */
#define BITRATE_MIN_ERRFRAMES 5u  /* error frames before a bitrate is suspected */
#define SLOW_FACTOR 2u            /* a message slower than twice its period is "slow" */
#define EV_BAD_LINE 100           /* reject_ev.a of a capture line that did not parse */

/* ---- per frame ------------------------------------------------------------------------ */

static void idset_add(bl_diag_t *d, const bl_can_frame_t *f)
{
    uint32_t key = (f->id & BL_CAN_EFF_MASK) + 1u + ((f->flags & BL_CAN_EXT) ? 0x80000000u : 0u);
    uint32_t h = (key * 2654435761u) >> 23; /* 9 bits: BL_DIAG_IDSET slots */

    for (unsigned probe = 0; probe < BL_DIAG_IDSET; probe++) {
        uint32_t *slot = &d->idset[(h + probe) % BL_DIAG_IDSET];
        if (*slot == key)
            return;
        if (*slot == 0) {
            if (d->nids * 4u >= BL_DIAG_IDSET * 3u) { /* keep it fast: count, stop storing */
                d->ids_overflow++;
                return;
            }
            *slot = key;
            d->nids++;
            return;
        }
    }
}

/* the first cap items, on different lines (several rejects of one RS485 line count once) */
static void keep(bl_diag_mark_t *arr, uint8_t *n, unsigned cap, const dg_ctx_t *c, int64_t a)
{
    if (*n < cap && (*n == 0 || arr[*n - 1].line != c->line))
        dg_mark(&arr[(*n)++], c, a, 0, 0);
}

/* timed: the item has a capture time of its own (a malformed line has none: it is counted at
 * the time of the frame before it, and its evidence says no time) */
static void burst_add(bl_diag_t *d, const dg_ctx_t *c, bool timed)
{
    if (d->burst_n == 0 || (c->has_ts && c->t_us - d->burst_t0_us > BURST_WINDOW_US)) {
        d->burst_t0_us = c->t_us;
        d->burst_n = 0;
        dg_mark(&d->burst_first, c, 0, 0, 0);
        d->burst_first.has_ts = timed && c->has_ts;
    }
    d->burst_n++;
    if (d->burst_n == BURST_MIN)
        d->bursts++;
    if (d->burst_n > d->burst_worst) {
        d->burst_worst = d->burst_n;
        d->burst_worst_at = d->burst_first;
        d->burst_worst_at.a = d->burst_n;
    }
}

static void error_frame(bl_diag_t *d, const dg_ctx_t *c)
{
    bl_canerr_t e;
    d->err_frames++;
    if (bl_canerr_parse(c->f, &e) < 0)
        return;
    d->err_classes |= e.classes;
    keep(d->err_ev, &d->nerr_ev, BL_ARRAY_LEN(d->err_ev), c, (int64_t)e.classes);
    if (!dg_marked(&d->first_err))
        dg_mark(&d->first_err, c, (int64_t)e.classes, 0, 0);
    if (e.state == BL_CANST_BUS_OFF || (e.classes & BL_CANERR_BUSOFF)) {
        if (d->busoff++ == 0)
            dg_mark(&d->first_busoff, c, 0, 0, 0);
    } else if (e.state == BL_CANST_PASSIVE) {
        if (d->passive++ == 0)
            dg_mark(&d->first_passive, c, 0, 0, 0);
    } else if (e.state == BL_CANST_WARNING) {
        d->warning_st++;
    }
}

/* Frames of the battery: presence, gaps beyond the timeout. */
static void battery_frame(bl_diag_t *d, const dg_ctx_t *c)
{
    uint64_t limit_us = d->stale_ms * 1000u;

    d->b2i++;
    if (!dg_marked(&d->first_b2i))
        dg_mark(&d->first_b2i, c, 0, 0, 0);
    if (c->has_ts && d->last_b2i.has_ts && c->t_us - d->last_b2i.ts_us > limit_us) {
        uint64_t gap = c->t_us - d->last_b2i.ts_us;
        d->gaps++;
        d->gapx_a = d->last_b2i;
        d->gapx_line = c->line;
        if (gap > d->gap_us) {
            d->gap_us = gap;
            d->gap_a = d->last_b2i;
            dg_mark(&d->gap_b, c, 0, 0, 0);
        }
    }
    dg_mark(&d->last_b2i, c, 0, 0, 0);
    /* identity as the inverter sees it */
    if ((c->fields & BL_BIT(BL_F_MANUFACTURER)) && !dg_marked(&d->manuf_at))
        dg_mark(&d->manuf_at, c, 0, 0, 0);
    if (d->cfg.inv != NULL && d->cfg.inv->type_msg != 0 && d->cfg.inv->type_signal != NULL && c->dec != NULL &&
        c->f != NULL && c->dec->msg->id == d->cfg.inv->type_msg) {
        const bl_message_t *m = c->dec->msg;
        for (unsigned i = 0; i < m->nsigs; i++) {
            bl_signal_t s;
            uint64_t raw;
            bl_can_sig(&d->codec, m, i, &s);
            if (strcmp(s.name, d->cfg.inv->type_signal) != 0 || bl_sig_raw_get(&s, c->f->data, c->f->len, &raw) < 0)
                continue;
            if (!d->type_seen || d->type_raw != (int64_t)raw)
                dg_mark(&d->type_at, c, (int64_t)raw, 0, 0); /* the first frame with this value */
            d->type_raw = (int64_t)raw;
            d->type_seen = true;
        }
    }
    if (d->polls > 0)
        d->answered++;
}

/* The longest silence of the inverter's polls / keep-alives the battery watches. */
static uint64_t inverter_limit_us(const bl_diag_t *d, uint32_t period_ms)
{
    uint32_t lt = bl_proto_link_timeout_ms(d->p);
    if (lt != 0)
        return (uint64_t)lt * 1000u;
    if (period_ms != 0)
        return (uint64_t)period_ms * 10000u; /* 10 x the period, as for battery data */
    return 0;
}

static void inverter_frame(bl_diag_t *d, const dg_ctx_t *c)
{
    bl_reaction_t r;

    d->i2b++;
    if (!dg_marked(&d->first_i2b))
        dg_mark(&d->first_i2b, c, 0, 0, 0);
    if (c->poll) {
        uint64_t lim = inverter_limit_us(d, c->period_ms);
        if (d->polls++ == 0)
            dg_mark(&d->first_poll, c, 0, 0, 0);
        if (lim != 0 && c->has_ts && d->last_poll.has_ts && c->t_us - d->last_poll.ts_us > lim) {
            uint64_t gap = c->t_us - d->last_poll.ts_us;
            d->inv_gaps++;
            if (gap > d->inv_gap_us) {
                d->inv_gap_us = gap;
                d->inv_gap_a = d->last_poll;
                dg_mark(&d->inv_gap_b, c, 0, 0, 0);
            }
        }
        dg_mark(&d->last_poll, c, 0, 0, 0);
    }
    dg_mark(&d->last_i2b, c, 0, 0, 0);
    /* the session the battery would keep: where it restarts, the inverter did not accept it */
    if (c->f != NULL && bl_can_react(&d->codec, c->f, c->t_us / 1000u, &r) > 0) {
        if (r.state_after > d->max_state)
            d->max_state = r.state_after;
        if (r.state_before > 0 && r.state_after == 0)
            d->session_restarts++;
    }
}

static void range_reject(bl_diag_t *d, const dg_ctx_t *c)
{
    const bl_decoded_t *dec = c->dec;
    unsigned field;
    if (dec->msg == NULL || dec->sig >= dec->msg->nsigs)
        return;
    field = dec->msg->sigs[dec->sig].field;
    if (field == BL_F_SOC || field == BL_F_CCL || field == BL_F_DCL)
        return; /* soc_scale, negative_limit */
    if (d->range_n++ == 0)
        dg_mark(&d->range_m, c, dec->val[dec->sig], dec->sig, 0);
    else
        dg_mark(&d->range_last, c, dec->val[dec->sig], dec->sig, 0);
}

void dg_link_frame(bl_diag_t *d, const dg_ctx_t *c)
{
    const bl_decoded_t *dec = c->dec;

    dg_mark(&d->last_any, c, 0, 0, 0);
    if (!dg_marked(&d->first_any))
        d->first_any = d->last_any;
    if (c->f != NULL) {
        idset_add(d, c->f);
        if (c->f->flags & BL_CAN_ERR) {
            error_frame(d, c);
            return;
        }
        if (c->f->flags & BL_CAN_RTR)
            d->rtr++;
    }
    if (c->flipped) {
        d->idlen++;
        keep(d->idlen_ev, &d->nidlen_ev, BL_ARRAY_LEN(d->idlen_ev), c, 0);
    }
    if (c->rc == 0) {
        bl_diag_msgstat_t *ms = c->mi >= 0 ? &d->ms[c->mi] : NULL;
        if (ms != NULL) {
            if (ms->n > 0 && c->has_ts && c->t_us - ms->last_us > ms->gap_us) {
                ms->gap_us = c->t_us - ms->last_us;
                dg_mark(&ms->gap_a, c, 0, 0, 0);
                ms->gap_a.ts_us = ms->last_us;
                ms->gap_a.line = ms->last_line;
                ms->gap_a.f = ms->last_f;
                dg_mark(&ms->gap_b, c, 0, 0, 0);
            }
            if (ms->n++ == 0)
                ms->first_us = c->t_us;
            ms->last_us = c->t_us;
            ms->last_line = c->line;
            ms->last_f = d->last_any.f;
        }
        if (c->b2i)
            battery_frame(d, c);
        else
            inverter_frame(d, c);
        return;
    }
    d->rejected[c->why]++;
    switch (c->why) {
    case BL_REJ_UNKNOWN_ID:
        d->foreign++;
        keep(d->foreign_ev, &d->nforeign_ev, BL_ARRAY_LEN(d->foreign_ev), c, 0);
        break;
    case BL_REJ_ID_LENGTH:
        d->idlen++;
        keep(d->idlen_ev, &d->nidlen_ev, BL_ARRAY_LEN(d->idlen_ev), c, 0);
        break;
    case BL_REJ_RANGE:
        /* well-formed frames with implausible values: the value analysers name the field (SOC
         * scale, negative limits); the rest are counted here */
        if (c->b2i || (dec != NULL && dec->msg != NULL && dec->msg->dir == BL_DIR_B2I))
            d->b2i_bad++;
        if (dec != NULL)
            range_reject(d, c);
        break;
    default:
        if (c->b2i || (dec != NULL && dec->msg != NULL && dec->msg->dir == BL_DIR_B2I))
            d->b2i_bad++;
        keep(d->reject_ev, &d->nreject_ev, BL_ARRAY_LEN(d->reject_ev), c, (int64_t)c->why);
        burst_add(d, c, true);
        break;
    }
}

void dg_link_bad(bl_diag_t *d, const dg_ctx_t *c)
{
    uint8_t n = d->nreject_ev;
    keep(d->reject_ev, &d->nreject_ev, BL_ARRAY_LEN(d->reject_ev), c, EV_BAD_LINE);
    if (d->nreject_ev > n)
        d->reject_ev[n].has_ts = 0; /* the line's own time did not parse */
    burst_add(d, c, false);
}

/* ---- conclusions ---------------------------------------------------------------------- */

static const char *reject_text(const bl_diag_t *d, int64_t why)
{
    switch (why) {
    case BL_REJ_LENGTH: return d->rs ? "wrong length, cut short or does not fit its layout" : "wrong length (DLC)";
    case BL_REJ_RANGE: return "value out of range";
    case BL_REJ_CHECKSUM: return "checksum does not verify";
    case BL_REJ_RESERVED: return d->rs ? "the BMS answered with an error code" : "constant bits wrong";
    case BL_REJ_REMOTE: return "remote frame";
    case BL_REJ_SYNTAX: return d->rs ? "bytes that fit no frame (noise)" : "line does not parse";
    case EV_BAD_LINE: return "line does not parse";
    case BL_REJ_TOO_LONG: return "line too long";
    default: return "rejected";
    }
}

static uint32_t proto_bitrate(const bl_diag_t *d)
{
    const bl_protocol_t *p = d->expected ? d->expected : d->p;
    return p ? bl_proto_bitrate(p) : 0;
}

static void err_classes_text(uint32_t classes, char *buf, size_t n)
{
    buf[0] = '\0';
    for (unsigned b = 0; b < BL_CANERR_NCLASSES; b++)
        if (classes & (1u << b))
            dg_cat(buf, n, "%s%s", buf[0] ? ", " : "", bl_canerr_class_str(1u << b));
}

static uint64_t good(const bl_diag_t *d)
{
    return d->b2i + d->i2b;
}

/* RS485: a serial line at another baud rate than the BMS reads as noise and broken frames */
static bool wrong_baud(bl_diag_t *d)
{
    uint32_t bad = d->rs_rej[BL_RSR_NOISE] + d->rs_rej[BL_RSR_CHECKSUM] + d->rs_rej[BL_RSR_LCHKSUM] +
                   d->rs_rej[BL_RSR_SYNTAX] + d->rs_rej[BL_RSR_LENGTH] + d->rs_rej[BL_RSR_TRUNCATED];
    bl_diag_finding_t *f;

    if (bad < 5 || good(d) * 10u > bad)
        return false;
    f = dg_add(d, BL_DP_WRONG_BITRATE, BL_DSEV_ERROR, "wrong_baud", d->nreject_ev ? d->reject_ev[0].ts_us : d->first_us);
    if (f == NULL)
        return true;
    dg_fmt(f->cause, sizeof f->cause,
           "%l bytes of noise and %u broken %s frames (checksum, length, characters that cannot be there), %l "
           "that decode: the line runs at another baud rate (or parity) than the BMS",
           DG_L(d->rs_noise), (unsigned)(bad - d->rs_rej[BL_RSR_NOISE]), d->p->name, DG_L(good(d)));
    for (unsigned i = 0; i < d->nreject_ev; i++)
        dg_ev(f, &d->reject_ev[i], "%s", reject_text(d, d->reject_ev[i].a));
    dg_fmt(f->fix, sizeof f->fix,
           "Set the inverter (or adapter) to %u baud, 8N1, as %s needs, and the BMS to the same (Pylontech DIP 1 "
           "selects 9600 or 115200 after a restart; Seplos V2 19200; JK 115200); then check A/B wiring.",
           (unsigned)(d->p->baud ? d->p->baud : bl_proto_root(d->p)->baud), d->p->name);
    return true;
}

static bool wrong_bitrate(bl_diag_t *d)
{
    uint64_t data = d->frames - d->err_frames;
    uint32_t br = proto_bitrate(d);
    bool errs = d->err_frames >= BITRATE_MIN_ERRFRAMES && good(d) * 10u <= d->err_frames &&
                (d->err_classes & (BL_CANERR_PROT | BL_CANERR_BUSERROR | BL_CANERR_CRTL | BL_CANERR_ACK |
                                   BL_CANERR_BUSOFF));
    /* an slcan adapter at the wrong bitrate passes no error frames: it hands over garbage,
     * ids that never repeat, that no protocol reads */
    bool garbage = data >= 20u && good(d) * 10u < data && (uint64_t)d->nids * 3u >= data;
    bl_diag_finding_t *f;

    if (!errs && !garbage)
        return false;
    f = dg_add(d, BL_DP_WRONG_BITRATE, BL_DSEV_ERROR, errs ? "error_frames" : "garbage_frames",
               errs ? d->first_err.ts_us : d->first_us);
    if (f == NULL)
        return true;
    if (errs) {
        char cls[160];
        err_classes_text(d->err_classes, cls, sizeof cls);
        dg_fmt(f->cause, sizeof f->cause,
               "%l error frames (%s) and %l frames that decode: the controller cannot read the bus. A bitrate "
               "that differs from the other nodes' gives exactly this",
               DG_L(d->err_frames), cls, DG_L(good(d)));
        for (unsigned i = 0; i < d->nerr_ev; i++) {
            err_classes_text((uint32_t)d->err_ev[i].a, cls, sizeof cls);
            dg_ev(f, &d->err_ev[i], "error frame: %s", cls);
        }
    } else {
        dg_fmt(f->cause, sizeof f->cause,
               "%l frames with %u different ids that no protocol reads (a real bus repeats a few ids): the "
               "adapter samples the bus at the wrong bitrate and hands over garbage",
               DG_L(data), (unsigned)d->nids);
        for (unsigned i = 0; i < d->nforeign_ev; i++)
            dg_ev(f, &d->foreign_ev[i], "id %i read by no protocol", DG_ID(d->foreign_ev[i].f.id,
                                                                           (d->foreign_ev[i].f.flags & BL_CAN_EXT) != 0));
    }
    if (d->cfg.inv != NULL && d->cfg.inv->bitrate != 0 && br != 0 && d->cfg.inv->bitrate != br)
        dg_cat(f->cause, sizeof f->cause, "; the profile %s runs its port at %u bit/s, the protocol at %u bit/s",
               d->cfg.inv->name ? d->cfg.inv->name : "", (unsigned)d->cfg.inv->bitrate, (unsigned)br);
    if (br != 0)
        dg_fmt(f->fix, sizeof f->fix,
               "Set every node and the capture adapter to %u bit/s (%s). Then check termination (120 ohm at "
               "both ends of the bus only) and that CAN-H/CAN-L are not swapped.",
               (unsigned)br, d->expected ? d->expected->name : d->p->name);
    else
        dg_fmt(f->fix, sizeof f->fix,
               "Set the adapter and the inverter's battery port to the battery's bitrate (500 kbit/s for most "
               "battery protocols, 250 kbit/s for Sungrow SBR and Victron VE.Can). Then check termination "
               "(120 ohm at both ends) and CAN-H/CAN-L.");
    return true;
}

static bool wrong_id_length(bl_diag_t *d)
{
    bl_diag_finding_t *f;
    unsigned bits;

    if (d->p == NULL || !(d->flip_ext || (d->idlen >= 3 && d->idlen >= d->b2i + d->i2b)))
        return false;
    bits = bl_proto_root(d->p)->id_bits;
    f = dg_add(d, BL_DP_WRONG_ID_LENGTH, BL_DSEV_ERROR, "id_length", d->nidlen_ev ? d->idlen_ev[0].ts_us : 0);
    if (f == NULL)
        return true;
    dg_fmt(f->cause, sizeof f->cause,
           "%l frames carry %s's ids with %u-bit identifiers; %s uses %u-bit ids. Receivers filter on the id "
           "length, so these frames are ignored (a Victron GX ignores every 29-bit frame)",
           DG_L(d->idlen), d->p->name, bits == 11 ? 29u : 11u, d->p->name, (unsigned)bits);
    for (unsigned i = 0; i < d->nidlen_ev; i++)
        dg_ev(f, &d->idlen_ev[i], "%i as a %u-bit id; %s sends it as %u-bit",
              DG_ID(d->idlen_ev[i].f.id, (d->idlen_ev[i].f.flags & BL_CAN_EXT) != 0), bits == 11 ? 29u : 11u,
              d->p->name, (unsigned)bits);
    dg_fmt(f->fix, sizeof f->fix,
           "Set the sender (BMS, bridge or gateway) to %s identifiers for %s; if a gateway sits in between, "
           "check its output frame type.",
           bits == 11 ? "11-bit standard" : "29-bit extended", d->p->name);
    if (d->flip_ext)
        dg_cat(f->cause, sizeof f->cause, "; the analysis below reads them as %u-bit frames", (unsigned)bits);
    return true;
}

static bool wrong_protocol(bl_diag_t *d)
{
    bl_diag_finding_t *f;
    bool raised = false;
    const bl_protocol_t *e = d->expected;

    if (e != NULL && d->p != NULL && d->p != e && !d->flip_ext) {
        const char *who = d->cfg.proto ? "-p" : "the inverter profile";
        f = dg_add(d, BL_DP_WRONG_PROTOCOL, BL_DSEV_ERROR, "protocol_mismatch", d->best_m[0].ts_us);
        raised = true;
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause,
                   "the site is set to %s (%s) but the traffic is %s: %s reads %u of the %u sample frames, %s %u",
                   e->name, who, d->p->name, d->p->name, (unsigned)d->scores[0].decoded, (unsigned)d->scores[0].frames,
                   e->name, (unsigned)d->exp_decoded);
            if (bl_proto_root(e) == bl_proto_root(d->p))
                dg_cat(f->cause, sizeof f->cause, " (same family, another variant: byte order, offsets or firmware)");
            dg_ev(f, &d->best_m[0], "read as %s", d->p->name);
            dg_ev(f, &d->best_m[1], "read as %s", d->p->name);
            dg_fmt(f->fix, sizeof f->fix,
                   "Make both ends speak one protocol: set the battery's CAN protocol to %s (BMS menu or tool), or "
                   "set the inverter's battery type to the one that expects %s. If neither can change, put a gateway "
                   "in between (bmslink bridge -P %s -p %s).",
                   e->name, d->p->name, d->p->name, e->name);
        }
    }
    if (d->other_p != NULL && d->other_i2b >= 3 && d->other_i2b >= d->other_b2i) {
        f = dg_add(d, BL_DP_WRONG_PROTOCOL, BL_DSEV_ERROR, "inverter_speaks_other", d->other_m[0].ts_us);
        raised = true;
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause,
                   "the battery speaks %s but the inverter speaks %s: %u of its frames are %s inverter messages "
                   "that %s does not know",
                   d->p->name, d->other_p->name, (unsigned)d->other_i2b, d->other_p->name, d->p->name);
            dg_ev(f, &d->first_b2i, "battery: %s", d->p->name);
            dg_ev(f, &d->other_m[0], "inverter: %s", d->other_p->name);
            dg_ev(f, &d->other_m[1], "inverter: %s", d->other_p->name);
            dg_fmt(f->fix, sizeof f->fix,
                   "Set the inverter's battery type to the entry that speaks %s, or set the battery's CAN protocol to "
                   "%s; both ends must use one protocol.",
                   d->p->name, d->other_p->name);
        }
    } else if (d->other_p != NULL && d->other_b2i >= 3) {
        f = dg_add(d, BL_DP_WRONG_PROTOCOL, BL_DSEV_WARNING, "two_battery_protocols", d->other_m[0].ts_us);
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause,
                   "battery frames of two protocols on one bus: %s and %s (%u frames). An inverter that decodes by "
                   "id alone mixes them up",
                   d->p->name, d->other_p->name, (unsigned)d->other_b2i);
            dg_ev(f, &d->first_b2i, "%s", d->p->name);
            dg_ev(f, &d->other_m[0], "%s", d->other_p->name);
            dg_fmt(f->fix, sizeof f->fix,
                   "Give each battery protocol its own bus, or set every BMS on this bus to the same protocol.");
        }
    }
    return raised;
}

/* Identity: the inverter's session never completes, or the profile's checks fail. */
static bool identity_rejected(bl_diag_t *d, bl_diag_finding_t **out)
{
    const bl_diag_inverter_t *inv = d->cfg.inv;
    size_t nst = 0;
    const char *const *st = bl_proto_states(d->p, &nst);
    const char *manuf = bl_record_str(&d->rec, BL_F_MANUFACTURER);
    bl_diag_finding_t *f = NULL;

    if (inv != NULL && inv->manufacturer != NULL && dg_marked(&d->manuf_at) && manuf != NULL &&
        strcmp(manuf, inv->manufacturer) != 0) {
        f = dg_add(d, BL_DP_BATTERY_NOT_DETECTED, BL_DSEV_ERROR, "identity_rejected", d->manuf_at.ts_us);
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause, "identity rejected: %s accepts the battery only as \"%s\"; it sends \"%s\"",
                   inv->name ? inv->name : "the inverter", inv->manufacturer, manuf);
            dg_ev(f, &d->first_b2i, "the battery's first frame");
            dg_ev(f, &d->manuf_at, "manufacturer \"%s\"", manuf);
            dg_ev(f, &d->last_poll, "the inverter still talking");
            dg_fmt(f->fix, sizeof f->fix,
                   "Set the BMS's manufacturer / protocol brand so that it sends \"%s\" (or use a gateway that rewrites "
                   "it), or choose the inverter's generic battery type.",
                   inv->manufacturer);
        }
    }
    if (f == NULL && inv != NULL && d->type_seen) {
        for (unsigned i = 0; i < inv->ntype_rejected && i < BL_DIAG_INV_TYPES; i++) {
            if (inv->type_rejected[i] != d->type_raw)
                continue;
            f = dg_add(d, BL_DP_BATTERY_NOT_DETECTED, BL_DSEV_ERROR, "identity_rejected", d->type_at.ts_us);
            if (f != NULL) {
                dg_fmt(f->cause, sizeof f->cause, "identity rejected: %s refuses %s = %l%s%s",
                       inv->name ? inv->name : "the inverter", inv->type_signal, DG_L(d->type_raw),
                       inv->type_code ? ", fault " : "", inv->type_code ? inv->type_code : "");
                dg_ev(f, &d->first_poll, "inverter poll");
                dg_ev(f, &d->type_at, "%s = %l", inv->type_signal, DG_L(d->type_raw));
                dg_ev(f, &d->last_poll, "still polling: the battery is not taken");
                dg_fmt(f->fix, sizeof f->fix,
                       "Configure the BMS to report a battery type this inverter firmware accepts, or update / "
                       "downgrade the inverter firmware (see bmslink profiles %s).",
                       inv->name ? inv->name : "");
            }
            break;
        }
    }
    /* the inverter polls, the battery answers, and the session never reaches its last state */
    if (f == NULL && nst > 1 && d->polls >= 10 && d->answered >= 10 && (d->max_state + 1u < nst || d->session_restarts > 2)) {
        f = dg_add(d, BL_DP_BATTERY_NOT_DETECTED, BL_DSEV_ERROR, "identity_rejected", d->first_poll.ts_us);
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause,
                   "the inverter polls (%l frames) and the battery answers, but the session %s: the inverter does "
                   "not accept this battery. %s checks: %s",
                   DG_L(d->polls), d->max_state + 1u < nst ? "never leaves its first state" : "keeps restarting",
                   d->p->name, bl_proto_identity(d->p) ? bl_proto_identity(d->p) : "identity fields");
            if (d->max_state + 1u < nst)
                dg_cat(f->cause, sizeof f->cause, " (stuck in \"%s\", never \"%s\")", st[d->max_state], st[nst - 1]);
            dg_ev(f, &d->first_poll, "inverter poll");
            dg_ev(f, &d->type_at, "battery identity");
            dg_ev(f, &d->manuf_at, "battery identity");
            dg_ev(f, &d->last_poll, "still polling");
            dg_fmt(f->fix, sizeof f->fix,
                   "Make the identity the inverter checks match the pack: %s. Inverter firmware updates have changed "
                   "what is accepted: check the firmware against bmslink profiles.",
                   bl_proto_identity(d->p) ? bl_proto_identity(d->p) : "battery type, module count, manufacturer");
        }
    }
    *out = f;
    return f != NULL;
}

static const bl_message_t *keepalive_msg(const bl_diag_t *d)
{
    for (unsigned i = 0; i < d->codec.n; i++)
        if (d->codec.msg[i]->dir == BL_DIR_I2B && (d->codec.msg[i]->flags & BL_MF_KEEPALIVE))
            return d->codec.msg[i];
    return NULL;
}

static const bl_message_t *request_msg(const bl_diag_t *d)
{
    size_t n = 0;
    const bl_trigger_t *t = bl_proto_triggers(d->p, &n);
    for (size_t i = 0; i < n; i++) {
        const bl_message_t *m = bl_can_msg(&d->codec, t[i].req, t[i].ext, BL_DIR_I2B);
        if (m != NULL)
            return m;
    }
    return keepalive_msg(d);
}

/* the battery went quiet before the end of the capture, which kept recording */
static bool battery_stopped(const bl_diag_t *d)
{
    return d->b2i > 0 && d->last_b2i.has_ts && d->last_any.has_ts &&
           d->last_any.ts_us - d->last_b2i.ts_us > d->stale_ms * 1000u;
}

static void explain(bl_diag_finding_t *f, bl_diag_t *d, unsigned because)
{
    bl_diag_finding_t *c = dg_find(d, because);
    if (c == NULL)
        return;
    f->because = (uint8_t)because;
    dg_cat(f->cause, sizeof f->cause, " (cause: %s)", bl_diag_problem_str(because));
    for (unsigned i = 0; i < c->nev && f->nev < 2; i++) {
        bl_diag_mark_t m;
        memset(&m, 0, sizeof m);
        m.ts_us = c->ev[i].ts_us;
        m.line = c->ev[i].line;
        m.has_ts = c->ev[i].has_ts;
        m.has_frame = c->ev[i].has_frame;
        m.f = c->ev[i].f;
        dg_ev(f, &m, "%s", c->ev[i].note);
    }
}

static void not_detected(bl_diag_t *d, bool bitrate, bool idlen, bool protocol)
{
    bl_diag_finding_t *f = NULL;
    const bl_message_t *ka;

    if (d->frames == 0)
        return;
    if (d->p == NULL || d->b2i == 0) {
        bool inv_first = d->p != NULL && bl_proto_root(d->p)->first == BL_FIRST_INVERTER;
        const bl_message_t *req = d->p != NULL ? request_msg(d) : NULL;
        char rn[64];
        const char *pn = d->p != NULL ? d->p->name : "the protocol the inverter expects";
        const char *id = inv_first && d->polls == 0 ? "waiting_for_poll"
                         : inv_first                 ? "no_answer_to_polls"
                                                     : "no_battery_frames";
        f = dg_add(d, BL_DP_BATTERY_NOT_DETECTED, BL_DSEV_ERROR, id, d->first_us);
        if (f == NULL)
            return;
        f->span_us = d->have_ts ? d->last_us - d->first_us : 0;
        if (d->rs)
            dg_fmt(rn, sizeof rn, "its requests");
        else
            dg_msg_name(req, rn, sizeof rn);
        if (d->p == NULL) {
            dg_fmt(f->cause, sizeof f->cause, "no battery: none of the protocols reads this traffic (%l frames, %u ids)",
                   DG_L(d->frames), (unsigned)d->nids);
            dg_ev(f, &d->first_any, "read by no battery protocol");
            dg_ev(f, &d->last_any, "the last frame: still no battery");
        } else if (bitrate || idlen || protocol) {
            dg_fmt(f->cause, sizeof f->cause, "nothing the battery or the inverter says can be read (%l frames)",
                   DG_L(d->frames));
        } else if (inv_first && d->polls == 0) {
            dg_fmt(f->cause, sizeof f->cause,
                   "no battery frames: %s batteries stay silent until the inverter speaks first (%s), and no inverter "
                   "request is in the capture: the battery is waiting for a poll that never comes",
                   d->p->name, rn);
            dg_ev(f, &d->first_any, "first frame of the capture: no %s request", d->p->name);
            dg_ev(f, &d->last_any, "last frame: still no request, no battery");
        } else if (inv_first) {
            dg_fmt(f->cause, sizeof f->cause,
                   "the inverter polls (%l x %s) but the battery never answers", DG_L(d->polls), rn);
            /* Pylontech-family ADR (rs485 pitfall 3): Daly and JK carry no battery address there */
            if (d->rs && d->rsc->kind == BL_RSK_PYLON && d->rs_req_addr >= 0 &&
                d->rsc->addr_default != (uint8_t)d->rs_req_addr)
                dg_cat(f->cause, sizeof f->cause,
                       "; it polls address 0x%s%u, a %s battery answers at its own address (0x%s%u by default): "
                       "check the address / DIP switches",
                       d->rs_req_addr < 16 ? "0" : "", (unsigned)d->rs_req_addr, d->p->name,
                       d->rsc->addr_default < 16 ? "0" : "", (unsigned)d->rsc->addr_default);
            if (d->rs_err_code > 0)
                dg_cat(f->cause, sizeof f->cause, "; %u answers were error codes", (unsigned)d->rs_err_code);
            dg_ev(f, &d->first_poll, "inverter request, no answer");
            dg_ev(f, &d->last_poll, "still no answer");
        } else {
            dg_fmt(f->cause, sizeof f->cause, "no %s battery frame in %l frames", d->p->name, DG_L(d->frames));
            dg_ev(f, &d->first_any, "first frame, not from the battery");
            dg_ev(f, &d->last_any, "the last frame: still no battery");
            if (d->b2i_bad > 0)
                dg_cat(f->cause, sizeof f->cause, "; %l battery frames were rejected", DG_L(d->b2i_bad));
            if (d->i2b > 0)
                dg_cat(f->cause, sizeof f->cause, "; the inverter is talking (%l frames)", DG_L(d->i2b));
            dg_ev(f, &d->first_i2b, "inverter frame, no battery");
        }
        if (bitrate)
            explain(f, d, BL_DP_WRONG_BITRATE);
        else if (idlen)
            explain(f, d, BL_DP_WRONG_ID_LENGTH);
        else if (protocol)
            explain(f, d, BL_DP_WRONG_PROTOCOL);
        if (f->because != BL_DP_COUNT)
            f->id = bl_diag_problem_str(f->because); /* the row of the cause table it is */
        if (f->because != BL_DP_COUNT)
            dg_fmt(f->fix, sizeof f->fix, "Fix the %s finding; then the battery can be read.",
                   bl_diag_problem_str(f->because));
        else if (inv_first && d->polls == 0)
            dg_fmt(f->fix, sizeof f->fix,
                   "Make the inverter poll: set its battery type to the entry that speaks %s, enable its BMS / CAN "
                   "port, check the cable to the inverter's BMS port (pinout: inverter-settings.md section 5).",
                   pn);
        else if (inv_first && d->rs)
            dg_fmt(f->fix, sizeof f->fix,
                   "Wake the battery (power button, or its wake-up for sleeping BMSes), set its RS485 protocol to %s, "
                   "its address (DIP switches) to the one the inverter polls, its baud rate to the inverter's; "
                   "check A/B (not swapped), the jack (RS485, not CAN or console) and termination.",
                   pn);
        else if (inv_first)
            dg_fmt(f->fix, sizeof f->fix,
                   "Wake the battery (power button, DIP or address setting), set its CAN protocol to %s and its "
                   "address / group as the inverter expects, check CAN-H/CAN-L and termination.",
                   pn);
        else
            dg_fmt(f->fix, sizeof f->fix,
                   "Check that the battery is on and its CAN port (not the RS485 or link port) is wired to the "
                   "inverter's BMS port; select the CAN protocol %s on the BMS; check termination.",
                   pn);
        return;
    }
    if (idlen || protocol) {
        f = dg_add(d, BL_DP_BATTERY_NOT_DETECTED, BL_DSEV_ERROR, idlen ? "wrong_id_length" : "wrong_protocol",
                   d->first_b2i.ts_us);
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause, "the battery talks (%l frames) but not in a form the inverter reads",
                   DG_L(d->b2i));
            explain(f, d, idlen ? BL_DP_WRONG_ID_LENGTH : BL_DP_WRONG_PROTOCOL);
            dg_fmt(f->fix, sizeof f->fix, "Fix the %s finding.", bl_diag_problem_str(f->because));
        }
        return;
    }
    if (identity_rejected(d, &f))
        return;
    /* the inverter needs these messages to detect the battery */
    if (d->cfg.inv != NULL)
        for (unsigned i = 0; i < d->cfg.inv->ndetect && i < BL_DIAG_INV_DETECT; i++) {
            const bl_message_t *m = bl_can_msg(&d->codec, d->cfg.inv->detect[i], d->cfg.inv->detect[i] > 0x7FFu,
                                               BL_DIR_B2I);
            int mi = -1;
            char mn[64];
            for (unsigned k = 0; m != NULL && k < d->codec.n; k++)
                if (d->codec.msg[k] == m)
                    mi = (int)k;
            if (mi < 0 || d->ms[mi].n > 0)
                continue;
            f = dg_add(d, BL_DP_BATTERY_NOT_DETECTED, BL_DSEV_ERROR, "missing_detect_message", d->first_b2i.ts_us);
            if (f == NULL)
                return;
            dg_msg_name(m, mn, sizeof mn);
            dg_fmt(f->cause, sizeof f->cause, "%s detects the battery by %s, which never came (%l other battery frames)",
                   d->cfg.inv->name ? d->cfg.inv->name : "the inverter", mn, DG_L(d->b2i));
            dg_ev(f, &d->first_b2i, "battery frame");
            dg_ev(f, &d->last_b2i, "last battery frame");
            dg_fmt(f->fix, sizeof f->fix, "Make the BMS send %s (its firmware / protocol version), or use a gateway that adds it.", mn);
            return;
        }
    /* the inverter never answers the battery: its keep-alive is missing */
    ka = keepalive_msg(d);
    if (ka != NULL && bl_proto_root(d->p)->first == BL_FIRST_BATTERY && d->polls == 0 &&
        (d->cfg.inv == NULL || !(d->cfg.inv->flags & BL_DIF_NO_KEEPALIVE))) {
        bool stopped = battery_stopped(d);
        char kn[64];
        dg_msg_name(ka, kn, sizeof kn);
        f = dg_add(d, BL_DP_BATTERY_NOT_DETECTED, stopped ? BL_DSEV_ERROR : BL_DSEV_WARNING, "no_keepalive",
                   d->first_b2i.ts_us);
        if (f == NULL)
            return;
        dg_fmt(f->cause, sizeof f->cause,
               "the battery broadcasts (%l frames) but the inverter never sends its keep-alive %s: it has not "
               "detected the battery, or is not set to %s",
               DG_L(d->b2i), kn, d->p->name);
        if (stopped)
            dg_cat(f->cause, sizeof f->cause, "; the battery gave up and stopped sending after %T",
                   DG_T(dg_span(&d->first_b2i, &d->last_b2i)));
        dg_ev(f, &d->first_b2i, "battery broadcast, no keep-alive");
        dg_ev(f, &d->last_b2i, stopped ? "the battery's last frame" : "still no keep-alive");
        dg_fmt(f->fix, sizeof f->fix,
               "Set the inverter's battery type / BMS protocol to %s and enable its BMS port; if this capture was "
               "taken on the battery side only, capture the inverter's side too.",
               d->p->name);
    }
}

static void comm(bl_diag_t *d)
{
    bl_diag_finding_t *f;
    const char *react = d->p ? bl_proto_on_timeout(d->p) : NULL;
    uint64_t data = d->frames - d->err_frames;

    if (d->gaps > 0) {
        f = dg_add(d, BL_DP_COMM, BL_DSEV_ERROR, "gap", d->gap_a.ts_us);
        if (f != NULL) {
            f->span_us = d->gap_us;
            dg_fmt(f->cause, sizeof f->cause,
                   "battery data stopped %N for longer than the %T timeout (%s); the longest silence lasted %T",
                   (unsigned)d->gaps, DG_T(d->stale_ms * 1000u), d->timeout_src, DG_T(d->gap_us));
            if (react != NULL)
                dg_cat(f->cause, sizeof f->cause, ". Inverter side: %s", react);
            dg_ev(f, &d->gap_a, "last battery frame before the silence");
            dg_ev(f, &d->gap_b, "first battery frame after %T", DG_T(d->gap_us));
            dg_fmt(f->fix, sizeof f->fix,
                   "Find why the BMS stops sending: loose or long CAN cable, missing termination, BMS rebooting or "
                   "going to sleep, a gateway losing its source. While data is missing the inverter uses its "
                   "defaults or stops.");
        }
    }
    if (battery_stopped(d)) {
        f = dg_add(d, BL_DP_COMM, BL_DSEV_ERROR, "battery_stopped", d->last_b2i.ts_us);
        if (f != NULL) {
            f->span_us = d->last_any.ts_us - d->last_b2i.ts_us;
            dg_fmt(f->cause, sizeof f->cause, "the battery stopped sending %T before the end of the capture (timeout %T)",
                   DG_T(d->last_any.ts_us - d->last_b2i.ts_us), DG_T(d->stale_ms * 1000u));
            if (d->i2b > 0)
                dg_cat(f->cause, sizeof f->cause, " while the inverter kept talking");
            dg_ev(f, &d->last_b2i, "the battery's last frame");
            dg_ev(f, &d->last_any, "end of the capture, no battery frame since");
            dg_fmt(f->fix, sizeof f->fix,
                   "Look at the BMS: a protection or sleep mode that switches its CAN off, a lost session with the "
                   "inverter, power to the BMS board, the CAN cable.");
        }
    }
    if (d->inv_gaps > 0) {
        bool session = bl_proto_root(d->p)->first == BL_FIRST_INVERTER;
        f = dg_add(d, BL_DP_COMM, session ? BL_DSEV_ERROR : BL_DSEV_WARNING, "inverter_gap", d->inv_gap_a.ts_us);
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause,
                   "the inverter's %s stopped %N for longer than %T; the longest silence %T",
                   session ? "polls" : "keep-alive", (unsigned)d->inv_gaps,
                   DG_T(bl_proto_link_timeout_ms(d->p) ? (uint64_t)bl_proto_link_timeout_ms(d->p) * 1000u : 0u),
                   DG_T(d->inv_gap_us));
            if (session)
                dg_cat(f->cause, sizeof f->cause, ": the battery drops its session (%s)",
                       react ? react : "link timeout");
            dg_ev(f, &d->inv_gap_a, "last inverter frame before the silence");
            dg_ev(f, &d->inv_gap_b, "first inverter frame after %T", DG_T(d->inv_gap_us));
            dg_fmt(f->fix, sizeof f->fix,
                   "Check the inverter side: its CAN port, firmware, whether it restarts; a shared bus with another "
                   "master (SolaX / SMA HV want their own CAN channel).");
        }
    }
    if (d->busoff > 0) {
        f = dg_add(d, BL_DP_COMM, BL_DSEV_ERROR, "bus_off", d->first_busoff.ts_us);
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause,
                   "the capture adapter's controller went bus-off %N: so many transmit errors that it left the "
                   "bus (frames are lost while it recovers)",
                   (unsigned)d->busoff);
            dg_ev(f, &d->first_busoff, "bus-off");
            dg_ev(f, &d->first_err, "first error frame");
            dg_fmt(f->fix, sizeof f->fix,
                   "Check termination (two 120 ohm resistors, about 60 ohm between CAN-H and CAN-L with power off), "
                   "the bitrate of every node, stub lengths, grounding and a second node that acknowledges.");
        }
    } else if (d->err_frames > 0 && !dg_find(d, BL_DP_WRONG_BITRATE)) {
        bool many = d->err_frames * 100u >= d->frames || d->passive > 0;
        char cls[160];
        err_classes_text(d->err_classes, cls, sizeof cls);
        f = dg_add(d, BL_DP_COMM, many ? BL_DSEV_ERROR : BL_DSEV_WARNING, d->passive ? "error_passive" : "error_frames",
                   d->first_err.ts_us);
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause, "%l error frames (%s)%s", DG_L(d->err_frames), cls,
                   d->passive ? "; the controller went error-passive" : "");
            for (unsigned i = 0; i < d->nerr_ev; i++) {
                err_classes_text((uint32_t)d->err_ev[i].a, cls, sizeof cls);
                dg_ev(f, &d->err_ev[i], "error frame: %s", cls);
            }
            dg_ev(f, &d->first_passive, "error-passive");
            dg_fmt(f->fix, sizeof f->fix,
                   "Bus errors come from wiring: check termination at both ends, CAN-H/CAN-L polarity, cable length "
                   "and shielding, ground between the devices, and that all nodes use the same bitrate.");
        }
    }
    if (d->range_n > 0) {
        const bl_message_t *m = d->codec.msg[0];
        bl_signal_t s;
        char mn[64];
        for (unsigned i = 0; i < d->codec.n; i++)
            if (d->codec.msg[i]->id == d->range_m.f.id)
                m = d->codec.msg[i];
        bl_can_sig(&d->codec, m, (unsigned)d->range_m.b < m->nsigs ? (unsigned)d->range_m.b : 0u, &s);
        dg_msg_name(m, mn, sizeof mn);
        f = dg_add(d, BL_DP_COMM, (uint64_t)d->range_n * 20u >= data ? BL_DSEV_ERROR : BL_DSEV_WARNING, "out_of_range",
                   d->range_m.ts_us);
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause,
                   "%u battery frames carry values outside the plausible range (first: %s %s %m %s in %s): the "
                   "inverter drops them, so their data is missing",
                   (unsigned)d->range_n, s.name, "=", DG_M(d->range_m.a, 1), s.unit, mn);
            dg_ev(f, &d->range_m, "%s %m %s, out of range", s.name, DG_M(d->range_m.a, 1), s.unit);
            dg_ev(f, &d->range_last, "the last one out of range");
            dg_fmt(f->fix, sizeof f->fix,
                   "Check the BMS's %s (sensor, scaling in its firmware or in a gateway) and that the protocol "
                   "variant matches the sender.",
                   s.name);
        }
    }
    if (!dg_find(d, BL_DP_WRONG_BITRATE) &&
        (d->bursts > 0 ||
         (data > 0 && d->nreject_ev > 0 &&
          (d->lines_bad + d->rejected[BL_REJ_LENGTH] + d->rejected[BL_REJ_RESERVED] + d->rejected[BL_REJ_CHECKSUM] +
           d->rejected[BL_REJ_SYNTAX]) * 20u >= d->lines_bad + data))) {
        uint64_t bad = d->lines_bad + d->rejected[BL_REJ_LENGTH] + d->rejected[BL_REJ_RESERVED] +
                       d->rejected[BL_REJ_REMOTE] + d->rejected[BL_REJ_CHECKSUM] + d->rejected[BL_REJ_SYNTAX];
        bool many = bad * 20u >= d->lines_bad + data;
        f = dg_add(d, BL_DP_COMM, many ? BL_DSEV_ERROR : BL_DSEV_WARNING, "malformed_burst", d->burst_worst_at.ts_us);
        if (f != NULL) {
            dg_fmt(f->cause, sizeof f->cause,
                   "%l malformed frames and lines (%l lines that do not parse, %l frames of the wrong length, %l "
                   "with a bad checksum, %l %s); up to %u within one second",
                   DG_L(bad), DG_L(d->lines_bad), DG_L(d->rejected[BL_REJ_LENGTH]), DG_L(d->rejected[BL_REJ_CHECKSUM]),
                   DG_L(d->rejected[BL_REJ_RESERVED]), d->rs ? "error-code answers" : "with wrong constant bits",
                   (unsigned)d->burst_worst);
            for (unsigned i = 0; i < d->nreject_ev; i++)
                dg_ev(f, &d->reject_ev[i], "%s", reject_text(d, d->reject_ev[i].a));
            dg_ev(f, &d->burst_worst_at, "start of the worst second: %l malformed", DG_L(d->burst_worst_at.a));
            dg_fmt(f->fix, sizeof f->fix,
                   "Bursts of broken frames point at the sender's firmware (wrong DLC, values out of range) or a "
                   "damaged capture (adapter overrun, lines cut); frames the inverter rejects are data it does not get.");
        }
    }
    /* messages slower than their period (Victron marks a slow BMS as disconnected) */
    if (d->p != NULL && d->have_ts)
        for (unsigned i = 0; i < d->codec.n; i++) {
            const bl_message_t *m = d->codec.msg[i];
            const bl_diag_msgstat_t *s = &d->ms[i];
            uint64_t mean, per = (uint64_t)m->period_ms * 1000u;
            bool soc = false;
            char mn[64];
            if (m->dir != BL_DIR_B2I || m->period_ms == 0 || (m->flags & (BL_MF_ON_REQUEST | BL_MF_EVENT)) ||
                s->n < 3)
                continue;
            for (unsigned k = 0; k < m->nsigs; k++)
                soc = soc || m->sigs[k].field == BL_F_SOC;
            mean = (s->last_us - s->first_us) / (s->n - 1u);
            if (soc || mean <= per * SLOW_FACTOR || mean <= per + 500000u || mean > d->stale_ms * 1000u)
                continue;
            f = dg_add(d, BL_DP_COMM, BL_DSEV_WARNING, "slow_period", s->first_us);
            if (f == NULL)
                return;
            dg_msg_name(m, mn, sizeof mn);
            dg_fmt(f->cause, sizeof f->cause, "%s comes every %T on average; %s sends it every %T", mn, DG_T(mean),
                   d->p->name, DG_T(per));
            dg_ev(f, &s->gap_a, "%s", mn);
            dg_ev(f, &s->gap_b, "next one %T later", DG_T(s->gap_us));
            dg_fmt(f->fix, sizeof f->fix,
                   "Make the BMS send every message at its period (%T): inverters mark slow or irregular data as "
                   "lost (a Victron GX shows the BMS disconnected).",
                   DG_T(per));
            break;
        }
}

void dg_link_finish(bl_diag_t *d)
{
    bool bitrate = d->rs ? (d->p != NULL && wrong_baud(d)) : wrong_bitrate(d);
    bool idlen = wrong_id_length(d);
    bool protocol = wrong_protocol(d);

    not_detected(d, bitrate, idlen, protocol);
    if (d->p != NULL)
        comm(d);
}
