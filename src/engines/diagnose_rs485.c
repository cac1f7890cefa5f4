/*
 * RS485 captures for the diagnosis: the bytes of each capture line through the byte
 * protocol's framer and session (src/codec/rs_*.c), every whole frame, reject and run
 * of noise becomes one message for the same analysers as CAN frames. The inverter's
 * requests are its polls, the battery's answers its data; checksum failures and noise
 * are the malformed items (and, when nothing else gets through, a wrong baud rate).
 */
#include "diagnose_int.h"

#include <string.h>

/* a byte protocol's cause as the reject reason the analysers count */
static uint8_t reject_of(unsigned why)
{
    switch (why) {
    case BL_RSR_CHECKSUM:
    case BL_RSR_LCHKSUM: return BL_REJ_CHECKSUM;
    case BL_RSR_LENGTH:
    case BL_RSR_TRUNCATED:
    case BL_RSR_TOO_LONG:
    case BL_RSR_LAYOUT: return BL_REJ_LENGTH;
    case BL_RSR_RANGE: return BL_REJ_RANGE;
    case BL_RSR_UNKNOWN_CMD:
    case BL_RSR_ADDRESS:
    case BL_RSR_UNSOLICITED: return BL_REJ_UNKNOWN_ID;
    case BL_RSR_ERROR_CODE: return BL_REJ_RESERVED;
    default: return BL_REJ_SYNTAX;
    }
}

/* the capture line (and its time) of the byte at stream offset off */
static void where(const bl_diag_t *d, uint64_t off, dg_ctx_t *c)
{
    unsigned n = d->rs_nlines;
    c->line = d->last_push_line;
    c->t_us = d->last_push_us;
    c->has_ts = false;
    for (unsigned i = 0; i < n; i++) {
        unsigned at = (d->rs_head + BL_ARRAY_LEN(d->rs_lines) - 1u - i) % BL_ARRAY_LEN(d->rs_lines);
        if (d->rs_lines[at].off <= off) {
            c->line = d->rs_lines[at].line;
            c->t_us = d->rs_lines[at].ts_us;
            c->has_ts = d->rs_lines[at].has_ts != 0;
            return;
        }
    }
}

static void clock(bl_diag_t *d, dg_ctx_t *c)
{
    d->frames++;
    if (!c->has_ts) {
        d->no_ts++;
        return;
    }
    if (d->have_ts && c->t_us < d->last_us) {
        d->back_in_time++;
        c->t_us = d->last_us;
    }
    if (!d->have_ts)
        d->first_us = c->t_us;
    d->have_ts = true;
    d->last_us = c->t_us;
}

static void answer(bl_diag_t *d, const bl_rs_frame_t *f, dg_ctx_t *c)
{
    c->b2i = true;
    if (f->rtn != 0) {
        d->rs_err_code++;
        d->rs_rej[BL_RSR_ERROR_CODE]++;
        c->why = reject_of(BL_RSR_ERROR_CODE);
        return;
    }
    if (f->msg == NULL) {
        d->rs_rej[BL_RSR_UNSOLICITED]++;
        c->why = reject_of(BL_RSR_UNSOLICITED);
        c->b2i = false;
        return;
    }
    if (bl_rs_decode(d->rsc, f->msg, f->pl, f->plen, f->group ? 1 : -1, c->t_us / 1000u, &d->rec, NULL, 0, &d->rsd) <
            0 &&
        d->rsd.why == BL_RSR_LAYOUT && !f->inferred) {
        /* an answer to a request the capture missed: read it by the layout it fits */
        const bl_rs_msg_t *alt = bl_rs_infer(d->rsc, f->pl, f->plen);
        if (alt != NULL && alt != f->msg)
            (void)bl_rs_decode(d->rsc, alt, f->pl, f->plen, -1, c->t_us / 1000u, &d->rec, NULL, 0, &d->rsd);
    }
    if (d->rsd.why != BL_RSR_NONE) {
        d->rs_rej[d->rsd.why]++;
        c->why = reject_of(d->rsd.why);
        return;
    }
    c->rc = 0;
    c->why = BL_REJ_NONE;
    c->fields = d->rsd.fields | d->rsd.derived;
    c->alarms = (d->rsd.known[0] | d->rsd.known[1] | d->rsd.known[2]) != 0;
}

static void on_frame(bl_diag_t *d, const bl_stream_ev_t *ev, dg_ctx_t *c)
{
    bl_rs_frame_t f;
    bl_rsr_t why;

    if (bl_rs_session_frame(&d->sess, ev->data, ev->len, d->rs_info, sizeof d->rs_info, &f, &why) < 0) {
        d->rs_rej[why]++;
        c->why = reject_of(why);
        return;
    }
    if (f.request) {
        d->rs_req_addr = f.addr;
        c->i2b = true;
        c->poll = true;
        c->period_ms = d->rsc->poll_ms;
        c->rc = 0;
        c->why = BL_REJ_NONE;
        return;
    }
    if (d->rs_req_addr >= 0 && d->rsc->kind == BL_RSK_PYLON && f.addr != (uint8_t)d->rs_req_addr)
        d->rs_answer_addr_n++; /* another pack (address) answered than the one polled */
    answer(d, &f, c);
}

static void on_stream(void *ctx, const bl_stream_ev_t *ev)
{
    bl_diag_t *d = ctx;
    dg_ctx_t c;

    memset(&c, 0, sizeof c);
    c.mi = -1;
    c.rc = BL_EBADMSG;
    where(d, ev->offset, &c);
    clock(d, &c);
    switch (ev->kind) {
    case BL_SEV_NOISE:
        d->rs_noise += ev->len;
        d->rs_rej[BL_RSR_NOISE]++;
        c.why = BL_REJ_SYNTAX;
        break;
    case BL_SEV_REJECT:
        d->rs_rej[ev->why < BL_RSR_COUNT ? ev->why : BL_RSR_SYNTAX]++;
        c.why = reject_of(ev->why);
        break;
    default:
        on_frame(d, ev, &c);
        break;
    }
    dg_analyse(d, &c);
}

int dg_rs_init(bl_diag_t *d, const bl_protocol_t *p)
{
    if (bl_proto_root(p)->bus == BL_BUS_MODBUS)
        return BL_ENOTSUP;
    d->rsc = bl_rs_codec(p);
    if (d->rsc == NULL || d->rsc->kind == BL_RSK_MODBUS || bl_rs_session_init(&d->sess, p) < 0 ||
        bl_stream_init(&d->st, d->rsc->framing, d->st_buf, sizeof d->st_buf, on_stream, d) < 0)
        return BL_ENOTSUP;
    d->rs = true;
    d->rs_req_addr = -1;
    return 0;
}

void bl_diag_bytes(bl_diag_t *d, const uint8_t *b, size_t n, uint64_t ts_us, bool has_ts, uint64_t line)
{
    unsigned at;

    if (d->finished || !d->rs)
        return;
    if (!d->ready)
        dg_make_ready(d);
    at = d->rs_head;
    d->rs_lines[at].off = d->st.total;
    d->rs_lines[at].line = line;
    d->rs_lines[at].ts_us = ts_us;
    d->rs_lines[at].has_ts = has_ts;
    d->rs_head = (uint8_t)((at + 1u) % BL_ARRAY_LEN(d->rs_lines));
    if (d->rs_nlines < BL_ARRAY_LEN(d->rs_lines))
        d->rs_nlines++;
    if (has_ts)
        d->last_push_us = ts_us > d->last_push_us ? ts_us : d->last_push_us;
    d->last_push_line = line;
    bl_stream_push(&d->st, b, n);
}
