/*
 * Sessions of byte protocols: whole frames become messages (who asked what,
 * who answered), answers are matched to their requests, and both roles get
 * their frames: the inverter side its requests, the battery side its answers.
 */
#include "bmslink/rs485.h"

#include <string.h>

int bl_rs_session_init(bl_rs_session_t *s, const bl_protocol_t *p)
{
    memset(s, 0, sizeof *s);
    s->p = p;
    s->c = bl_rs_codec(p);
    if (s->c == NULL || s->c->kind == BL_RSK_MODBUS)
        return BL_EINVAL;
    return 0;
}

static bl_rs_pend_t *pend_find(bl_rs_session_t *s, uint8_t addr)
{
    for (unsigned i = 0; i < BL_ARRAY_LEN(s->pend); i++)
        if (s->pend[i].used && s->pend[i].addr == addr)
            return &s->pend[i];
    return NULL;
}

static void pend_add(bl_rs_session_t *s, uint8_t addr, uint16_t cmd, bool group)
{
    bl_rs_pend_t *p = pend_find(s, addr);
    if (p == NULL) {
        p = &s->pend[s->next];
        s->next = (uint8_t)((s->next + 1u) % BL_ARRAY_LEN(s->pend));
    }
    p->used = 1;
    p->addr = addr;
    p->cmd = cmd;
    p->group = group;
}

/* Return codes of the Pylon family (§5): a frame with one of these in CID2 answers a request. */
static bool is_rtn(uint8_t c)
{
    return (c >= 0x01 && c <= 0x07) || c == 0x90 || c == 0x91 || (c >= 0xE1 && c <= 0xE4);
}

/* layouts that fit any payload say nothing about which command it was */
static bool rest_only(const bl_rs_msg_t *m)
{
    return m->rsp == NULL ||
           (m->nrsp == 1 && (m->rsp[0].op == BL_RI_REST || (m->rsp[0].sig.kind == BL_SK_ASCII && m->rsp[0].size == 0)));
}

/* The layouts an answer without its request may have, in the order they are tried: what
 * inverters poll first, then every command. *at (0 to start) moves on; NULL at the end. */
static const bl_rs_msg_t *candidate(const bl_rs485_codec_t *c, unsigned *at)
{
    unsigned npoll = 0;
    while (c->poll != NULL && c->poll[npoll])
        npoll++;
    for (; *at < npoll + c->nmsgs; ++*at) {
        const bl_rs_msg_t *m = *at < npoll ? bl_rs_msg(c, c->poll[*at]) : &c->msgs[*at - npoll];
        if (m != NULL && !rest_only(m) && (*at < npoll || m->nrsp > 0)) {
            ++*at;
            return m;
        }
    }
    return NULL;
}

/* An answer without its request: the command whose layout the payload fits, trying
 * what inverters poll first. */
const bl_rs_msg_t *bl_rs_infer(const bl_rs485_codec_t *c, const uint8_t *pl, size_t n)
{
    const bl_rs_msg_t *m;
    for (unsigned at = 0; (m = candidate(c, &at)) != NULL;)
        if (bl_rs_fits(c, m, pl, n))
            return m;
    return NULL;
}

static bool listed(const uint16_t *ids, size_t nids, uint16_t id)
{
    for (size_t i = 0; i < nids; i++)
        if (ids[i] == id)
            return true;
    return false;
}

const bl_rs_msg_t *bl_rs_session_infer(bl_rs_session_t *s, bl_rs_frame_t *f, const uint16_t *ids, size_t nids,
                                       uint64_t now_ms, bl_record_t *rec, uint32_t *fields, bool *decoded)
{
    return bl_rs_session_infer_memo(s, f, ids, nids, now_ms, rec, fields, decoded, NULL, 0);
}

const bl_rs_msg_t *bl_rs_session_infer_memo(bl_rs_session_t *s, bl_rs_frame_t *f, const uint16_t *ids, size_t nids,
                                            uint64_t now_ms, bl_record_t *rec, uint32_t *fields, bool *decoded,
                                            bl_rs_memo_t *memo, size_t nmemo)
{
    const bl_rs_msg_t *m;
    const bl_rs_memo_t *hit = bl_rs_memo_find(memo, nmemo, f->pl, f->plen);
    *decoded = false;
    if (fields != NULL)
        *fields = 0;
    if (hit != NULL) {
        /* these bytes were inferred and decoded before: the same command, the same stores */
        m = hit->msg;
        bl_rs_memo_replay(hit, now_ms, rec, fields);
        *decoded = true;
    } else {
        /* the first layout that fits, as bl_rs_infer() finds it: a decode succeeds exactly
         * when the check would, and stores nothing when it fails */
        for (unsigned at = 0; (m = candidate(s->c, &at)) != NULL;) {
            if (listed(ids, nids, m->id)) {
                if (bl_rs_decode_into(s->c, m, f->pl, f->plen, now_ms, rec, fields,
                                      bl_rs_memo_slot(memo, nmemo, m, true)) == 0) {
                    *decoded = true;
                    break;
                }
            } else if (bl_rs_fits(s->c, m, f->pl, f->plen)) {
                break;
            }
        }
    }
    f->infer = false;
    f->msg = m;
    if (m == NULL) {
        s->rejected[BL_RSR_UNSOLICITED]++;
        return NULL;
    }
    f->cmd = m->id;
    f->inferred = true;
    return m;
}

static int pylon_frame(bl_rs_session_t *s, const uint8_t *frame, size_t n, uint8_t *buf, size_t cap,
                       bl_rs_frame_t *f, bl_rsr_t *why)
{
    bl_pyl_frame_t pf;
    bl_rs_pend_t *pend;

    if (bl_pyl_parse(frame, n, buf, cap, &pf, why, NULL, NULL) < 0)
        return BL_EBADMSG;
    f->ver = pf.ver;
    f->cid1 = pf.cid1;
    f->addr = pf.adr;
    f->pl = buf;
    f->plen = pf.info_len;
    pend = pend_find(s, pf.adr);
    if (pf.cid2 != 0x00 && !(pend != NULL && is_rtn(pf.cid2)) && bl_rs_msg(s->c, pf.cid2) != NULL) {
        f->request = true;
        f->cmd = pf.cid2;
        f->msg = bl_rs_msg(s->c, pf.cid2);
        f->group = (f->msg->flags & BL_RMF_GROUP) && pf.info_len == 1 && buf[0] == 0xFF;
        pend_add(s, pf.adr, f->cmd, f->group);
        s->requests++;
        return 0;
    }
    if (pf.cid2 != 0x00 && !is_rtn(pf.cid2)) {
        /* a command this dialect does not define: a request the battery answers RTN 04 */
        f->request = true;
        f->cmd = pf.cid2;
        s->rejected[BL_RSR_UNKNOWN_CMD]++;
        s->requests++;
        return 0;
    }
    s->replies++;
    f->rtn = pf.cid2;
    if (f->rtn != 0)
        s->rejected[BL_RSR_ERROR_CODE]++;
    if (pend != NULL) {
        f->cmd = pend->cmd;
        f->group = pend->group != 0;
        f->msg = bl_rs_msg(s->c, pend->cmd);
        pend->used = 0;
        return 0;
    }
    f->cmd = BL_RS_CMD_UNKNOWN;
    if (f->rtn == 0 && f->plen > 0 && s->defer_infer) {
        f->infer = true; /* the caller's bl_rs_session_infer() */
        return 0;
    }
    if (f->rtn == 0 && f->plen > 0 && (f->msg = bl_rs_infer(s->c, f->pl, f->plen)) != NULL) {
        f->cmd = f->msg->id;
        f->inferred = true;
        return 0;
    }
    if (f->rtn == 0 && f->plen == 0)
        return 0; /* a bare "normal" (0x4F, writes): nothing to decode */
    s->rejected[BL_RSR_UNSOLICITED]++;
    return 0;
}

int bl_rs_session_frame(bl_rs_session_t *s, const uint8_t *frame, size_t n, uint8_t *buf, size_t cap,
                        bl_rs_frame_t *f, bl_rsr_t *why)
{
    memset(f, 0, sizeof *f);
    *why = BL_RSR_NONE;
    switch (s->c->framing) {
    case BL_FRAMING_PYLON:
        return pylon_frame(s, frame, n, buf, cap, f, why);
    case BL_FRAMING_DALY:
        if (n != 13) {
            *why = BL_RSR_LENGTH;
            return BL_EBADMSG;
        }
        f->addr = frame[1];
        f->cmd = frame[2];
        f->pl = frame + 4;
        f->plen = 8;
        /* the host writes from 0x40.. (0x80 is probed too); boards answer from 0x01.. */
        f->request = frame[1] >= 0x40;
        break;
    case BL_FRAMING_JBD:
        if (n < 7 || (size_t)frame[3] + 7u != n) {
            *why = BL_RSR_LENGTH;
            return BL_EBADMSG;
        }
        f->request = frame[1] == 0xA5 || frame[1] == 0x5A;
        f->cmd = f->request ? frame[2] : frame[1];
        f->rtn = f->request ? 0 : frame[2];
        f->pl = frame + 4;
        f->plen = frame[3];
        if (!f->request && f->rtn != 0)
            s->rejected[BL_RSR_ERROR_CODE]++;
        break;
    case BL_FRAMING_JK:
        /* 4E 57 LENGTH terminal(4) cmd source transport info record(4) 68 00 00 sum16 (§3) */
        if (n < 20) {
            *why = BL_RSR_LENGTH;
            return BL_EBADMSG;
        }
        f->cmd = frame[8];
        f->addr = frame[9]; /* the source: 0 BMS, 1 Bluetooth, 2 GPS, 3 PC */
        f->request = frame[10] == 0;
        f->pl = frame + 11;
        f->plen = n - 11 - 9;
        break;
    default:
        *why = BL_RSR_SYNTAX;
        return BL_EBADMSG;
    }
    f->msg = bl_rs_msg(s->c, f->cmd);
    if (f->msg == NULL)
        s->rejected[BL_RSR_UNKNOWN_CMD]++;
    if (f->request)
        s->requests++;
    else
        s->replies++;
    return 0;
}

/* ---- the inverter side: requests ------------------------------------------------ */

int bl_rs_request(const bl_protocol_t *p, uint8_t addr, uint16_t cmd, bool group, uint8_t *out, size_t cap)
{
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    const bl_rs_msg_t *m = bl_rs_msg(c, cmd);
    uint8_t info[1];
    size_t ni = 0;

    if (c == NULL || m == NULL)
        return BL_ENOENT;
    switch (c->framing) {
    case BL_FRAMING_PYLON:
        if (m->req == BL_REQ_ADR)
            info[ni++] = (group && (m->flags & BL_RMF_GROUP)) ? 0xFF : addr;
        else if (m->req == BL_REQ_ONE)
            info[ni++] = 0x01;
        else if (m->req == BL_REQ_LAYOUT)
            return BL_ENOTSUP; /* set / switch commands: not something a poller sends */
        return bl_pyl_build(c->pyl->ver, addr, c->pyl->cid1, (uint8_t)cmd, info, ni, out, cap);
    case BL_FRAMING_DALY:
        return bl_daly_build(addr, (uint8_t)cmd, NULL, out, cap);
    case BL_FRAMING_JBD:
        return bl_jbd_build(0xA5, (uint8_t)cmd, NULL, 0, out, cap);
    case BL_FRAMING_JK:
        /* from the PC (source 3), INFO 0x00 (JK-01) */
        info[0] = 0x00;
        return bl_jk_build((uint8_t)cmd, 0x03, 0x00, info, 1, out, cap);
    default:
        return BL_ENOTSUP;
    }
}

/* ---- the battery side: answers ------------------------------------------------- */

static int silent(bl_rs_answer_t *res, const char *why)
{
    res->silent = true;
    res->why = why;
    return 0;
}

static int pylon_reply(const bl_pyl_dialect_t *d, uint8_t addr, uint8_t rtn, const uint8_t *info, size_t n,
                       uint8_t *out, size_t cap, bl_rs_answer_t *res)
{
    int rc = bl_pyl_build(d->ver, addr, d->cid1, rtn, info, n, out, cap);
    if (rc > 0) {
        res->rtn = rtn;
        res->frames = 1;
    }
    return rc;
}

static int pylon_answer(const bl_protocol_t *p, const bl_rs485_codec_t *c, uint8_t my_addr, const bl_rs_frame_t *f,
                        const bl_record_t *rec, uint64_t now_ms, uint64_t stale_ms, uint8_t *out, size_t cap,
                        bl_rs_answer_t *res)
{
    const bl_pyl_dialect_t *d = c->pyl;
    const bl_rs_msg_t *m = f->msg;
    uint8_t info[1024];
    uint8_t cmd = f->addr;
    int n;

    if (!f->request)
        return silent(res, "not a request");
    if (f->addr != my_addr)
        return silent(res, "for another address");
    if (m == NULL) {
        res->why = "command not defined by this dialect";
        return pylon_reply(d, my_addr, d->rtn_bad_cid2, NULL, 0, out, cap, res);
    }
    if (m->req == BL_REQ_ADR && f->plen >= 1 && f->pl[0] != f->addr && !f->group && d->rtn_bad_adr) {
        res->why = "INFO command byte differs from ADR";
        return pylon_reply(d, my_addr, d->rtn_bad_adr, NULL, 0, out, cap, res);
    }
    if (m->flags & BL_RMF_WRITE) {
        res->why = "refused: the emulated battery does not change its state on request";
        return pylon_reply(d, my_addr, d->rtn_bad_cid2, NULL, 0, out, cap, res);
    }
    if (m->rsp == NULL)
        return pylon_reply(d, my_addr, 0x00, NULL, 0, out, cap, res); /* 0x4F, 0x90: the header says it */
    if (m->flags & BL_RMF_NO_REPLY) {
        res->why = "refused: the reply layout is not known well enough to send";
        return pylon_reply(d, my_addr, d->rtn_bad_cid2, NULL, 0, out, cap, res);
    }
    if (f->group)
        cmd = 1; /* one emulated battery: a group of one pack */
    n = bl_rs_encode(p, m, cmd, rec, now_ms, stale_ms, info, sizeof info, &res->enc);
    if (n < 0)
        return n;
    if (res->enc.stale_data) {
        if (d->rtn_no_data == 0)
            return silent(res, "battery data is stale and the dialect has no code for it");
        res->why = "battery data is stale";
        return pylon_reply(d, my_addr, d->rtn_no_data, NULL, 0, out, cap, res);
    }
    return pylon_reply(d, my_addr, 0x00, info, (size_t)n, out, cap, res);
}

static int daly_answer(const bl_protocol_t *p, const bl_rs485_codec_t *c, uint8_t my_addr, const bl_rs_frame_t *f,
                       const bl_record_t *rec, uint64_t now_ms, uint64_t stale_ms, uint8_t *out, size_t cap,
                       bl_rs_answer_t *res)
{
    uint8_t data[8], from;
    int n;

    if (!f->request)
        return silent(res, "not a request");
    if (f->addr != my_addr)
        return silent(res, "for another board");
    if (f->msg == NULL || f->msg->rsp == NULL)
        return silent(res, "unknown data id (Daly has no error reply)");
    if (f->msg->flags & (BL_RMF_WRITE | BL_RMF_NO_REPLY))
        return silent(res, "refused: writes and unknown layouts get no answer");
    from = (uint8_t)(my_addr - 0x3F); /* board 1 answers 0x40 from 0x01 (§1.1) */
    if (f->cmd == 0x95 || f->cmd == 0x96) {
        /* several frames: one per 3 cells (0x95) or 7 sensors (0x96), numbered from 1 */
        bool cells = f->cmd == 0x95;
        int32_t tmin, tmax;
        unsigned k = cells ? bl_rs_cell_count(rec) : 2;
        if (!bl_field_fresh(&rec->f[BL_F_VOLTAGE], now_ms, stale_ms) ||
            (!cells && (!bl_field_fresh(&rec->f[BL_F_TEMP_MIN], now_ms, stale_ms) ||
                        !bl_field_fresh(&rec->f[BL_F_TEMP_MAX], now_ms, stale_ms))))
            return silent(res, "battery data is stale (Daly has no error reply)");
        tmin = rec->f[BL_F_TEMP_MIN].value;
        tmax = rec->f[BL_F_TEMP_MAX].value;
        for (unsigned fr = 0; fr * (cells ? 3u : 7u) < k; fr++) {
            memset(data, 0, sizeof data);
            data[0] = (uint8_t)(fr + 1u);
            for (unsigned j = 0; j < (cells ? 3u : 7u); j++) {
                unsigned i = fr * (cells ? 3u : 7u) + j;
                if (i >= k)
                    break;
                if (cells) {
                    int32_t mv = bl_rs_cell_value(rec, i, k, now_ms, stale_ms);
                    data[1 + 2 * j] = (uint8_t)(mv >> 8);
                    data[2 + 2 * j] = (uint8_t)mv;
                } else {
                    int32_t t = (i == 0 ? tmin : tmax) / 1000 + 40;
                    data[1 + j] = (uint8_t)(t < 0 ? 0 : t > 255 ? 255 : t);
                }
            }
            if ((size_t)res->frames * 13u + 13u > cap)
                return BL_ENOSPC;
            (void)bl_daly_build(from, (uint8_t)f->cmd, data, out + (size_t)res->frames * 13u,
                                cap - (size_t)res->frames * 13u);
            res->frames++;
        }
        return res->frames * 13;
    }
    n = bl_rs_encode(p, f->msg, 0, rec, now_ms, stale_ms, data, sizeof data, &res->enc);
    if (n < 0)
        return n;
    if (res->enc.stale_data)
        return silent(res, "battery data is stale (Daly has no error reply)");
    res->frames = 1;
    (void)c;
    return bl_daly_build(from, (uint8_t)f->cmd, data, out, cap);
}

static int jbd_answer(const bl_protocol_t *p, const bl_rs_frame_t *f, const bl_record_t *rec, uint64_t now_ms,
                      uint64_t stale_ms, uint8_t *out, size_t cap, bl_rs_answer_t *res)
{
    uint8_t data[255];
    int n;

    if (!f->request)
        return silent(res, "not a request");
    res->frames = 1;
    if (f->msg == NULL || f->msg->rsp == NULL || (f->msg->flags & (BL_RMF_WRITE | BL_RMF_NO_REPLY))) {
        res->rtn = 0x80;
        res->why = f->msg == NULL ? "unknown register" : "refused: the emulated battery does not change on request";
        return bl_jbd_build((uint8_t)f->cmd, 0x80, NULL, 0, out, cap);
    }
    n = bl_rs_encode(p, f->msg, 0, rec, now_ms, stale_ms, data, sizeof data, &res->enc);
    if (n < 0)
        return n;
    if (res->enc.stale_data) {
        res->rtn = 0x80;
        res->why = "battery data is stale";
        return bl_jbd_build((uint8_t)f->cmd, 0x80, NULL, 0, out, cap);
    }
    return bl_jbd_build((uint8_t)f->cmd, 0x00, data, (size_t)n, out, cap);
}

static int jk_answer(const bl_protocol_t *p, const bl_rs_frame_t *f, const bl_record_t *rec, uint64_t now_ms,
                     uint64_t stale_ms, uint8_t *out, size_t cap, bl_rs_answer_t *res)
{
    uint8_t info[1024];
    int n;

    if (!f->request)
        return silent(res, "not a request");
    /* JK has no error answer: what the battery role cannot answer honestly, it does not */
    if (f->msg == NULL || f->msg->rsp == NULL || (f->msg->flags & (BL_RMF_WRITE | BL_RMF_NO_REPLY)))
        return silent(res, f->msg == NULL ? "unknown command" : "refused: only read-all is answered");
    n = bl_rs_encode(p, f->msg, 0, rec, now_ms, stale_ms, info, sizeof info, &res->enc);
    if (n < 0)
        return n;
    if (res->enc.stale_data)
        return silent(res, "battery data is stale (JK has no error reply)");
    res->frames = 1;
    return bl_jk_build((uint8_t)f->cmd, 0x00, 0x01, info, (size_t)n, out, cap);
}

int bl_rs_answer(const bl_protocol_t *p, uint8_t my_addr, const bl_rs_frame_t *f, const bl_record_t *rec,
                 uint64_t now_ms, uint64_t stale_ms, uint8_t *out, size_t cap, bl_rs_answer_t *res)
{
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    bl_rs_answer_t local;

    if (res == NULL)
        res = &local;
    memset(res, 0, sizeof *res);
    if (c == NULL)
        return silent(res, "not a byte protocol");
    switch (c->framing) {
    case BL_FRAMING_PYLON:
        return pylon_answer(p, c, my_addr, f, rec, now_ms, stale_ms, out, cap, res);
    case BL_FRAMING_DALY:
        return daly_answer(p, c, my_addr, f, rec, now_ms, stale_ms, out, cap, res);
    case BL_FRAMING_JBD:
        return jbd_answer(p, f, rec, now_ms, stale_ms, out, cap, res);
    case BL_FRAMING_JK:
        return jk_answer(p, f, rec, now_ms, stale_ms, out, cap, res);
    default:
        return silent(res, "no battery role for this framing");
    }
}

int bl_rs_answer_reject(const bl_protocol_t *p, uint8_t my_addr, const uint8_t *frame, size_t n, bl_rsr_t why,
                        uint8_t *out, size_t cap, bl_rs_answer_t *res)
{
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    unsigned adr = 0;

    memset(res, 0, sizeof *res);
    if (c == NULL || c->framing != BL_FRAMING_PYLON || n < 5 || frame[0] != '~')
        return silent(res, "nothing to answer");
    for (unsigned i = 3; i < 5; i++) {
        uint8_t ch = frame[i];
        unsigned v = (ch >= '0' && ch <= '9') ? (unsigned)(ch - '0')
                     : (ch >= 'A' && ch <= 'F') ? (unsigned)(ch - 'A' + 10)
                                                : 16u;
        if (v > 15)
            return silent(res, "address unreadable");
        adr = adr << 4 | v;
    }
    if (adr != my_addr)
        return silent(res, "for another address");
    if (why == BL_RSR_CHECKSUM) {
        res->why = "request checksum wrong";
        return pylon_reply(c->pyl, my_addr, c->pyl->rtn_bad_chksum, NULL, 0, out, cap, res);
    }
    if (why == BL_RSR_LCHKSUM) {
        res->why = "request length checksum wrong";
        return pylon_reply(c->pyl, my_addr, c->pyl->rtn_bad_lchksum, NULL, 0, out, cap, res);
    }
    return silent(res, "malformed request");
}
