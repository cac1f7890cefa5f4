/* The table-walking CAN codec: frame <-> canonical record for any protocol table. */
#include "bmslink/protocol.h"

#include <string.h>

static bool id_listed(const uint32_t *list, uint32_t id)
{
    for (; list != NULL && *list != 0; list++)
        if (*list == id)
            return true;
    return false;
}

static int add_msgs(bl_can_codec_t *c, const bl_message_t *m, unsigned n)
{
    for (unsigned i = 0; i < n; i++, m++) {
        unsigned j;
        for (j = 0; j < c->n; j++)
            if (c->msg[j]->id == m->id && c->msg[j]->ext == m->ext && c->msg[j]->dir == m->dir)
                break;
        if (j == c->n) {
            if (c->n >= BL_CAN_MAX_MSGS)
                return BL_ENOMEM;
            c->n++;
        }
        c->msg[j] = m;
        c->sends[j] = (m->flags & BL_MF_DECODE_ONLY) ? 0 : 1;
    }
    return 0;
}

static int resolve(bl_can_codec_t *c, const bl_protocol_t *p)
{
    int rc;
    if (p->base != NULL && (rc = resolve(c, p->base)) < 0)
        return rc;
    if (p->msgs != NULL && (rc = add_msgs(c, p->msgs, p->nmsgs)) < 0)
        return rc;
    if (p->extra != NULL && (rc = add_msgs(c, p->extra, p->nextra)) < 0)
        return rc;
    for (unsigned j = 0; j < c->n; j++) {
        if (id_listed(p->send_omit, c->msg[j]->id))
            c->sends[j] = 0;
        if (id_listed(p->send_add, c->msg[j]->id))
            c->sends[j] = 1;
    }
    c->vflags |= p->vflags;
    return 0;
}

static bool is_limit(unsigned field);

static unsigned id_hash(uint32_t id, unsigned ext)
{
    uint32_t h = (id ^ (id >> 7) ^ (id >> 13) ^ (id >> 21)) * 0x9E37u + ext * 0x55u;
    return (unsigned)(h >> 3) & (BL_CAN_HASH - 1u);
}

/* Index every message once so that a frame finds its row in O(1), keeping the table
 * order's rule: of two rows for the same id and length, the first wins. */
static void build_index(bl_can_codec_t *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        const bl_message_t *m = c->msg[i];
        unsigned h;
        if (m->id_mask != 0) {
            c->masked[c->nmasked++] = (uint8_t)i;
            continue;
        }
        for (h = id_hash(m->id, m->ext); c->slot[h] != 0; h = (h + 1u) & (BL_CAN_HASH - 1u)) {
            const bl_message_t *o = c->msg[c->slot[h] - 1u];
            if (o->id == m->id && o->ext == m->ext)
                break; /* an earlier row already answers for this id */
        }
        if (c->slot[h] == 0)
            c->slot[h] = (uint8_t)(i + 1u);
    }
}

/* Index of the message for an exact id, or -1. */
static int find_exact(const bl_can_codec_t *c, uint32_t id, unsigned ext)
{
    for (unsigned h = id_hash(id, ext); c->slot[h] != 0; h = (h + 1u) & (BL_CAN_HASH - 1u)) {
        const bl_message_t *m = c->msg[c->slot[h] - 1u];
        if (m->id == id && m->ext == ext)
            return c->slot[h] - 1;
    }
    return -1;
}

int bl_can_codec_init(bl_can_codec_t *c, const bl_protocol_t *p)
{
    int rc;
    memset(c, 0, sizeof *c);
    c->peer_seen_ms = BL_NEVER;
    if (p == NULL || bl_proto_root(p)->bus != BL_BUS_CAN)
        return BL_EINVAL;
    c->p = p;
    /* where the battery speaks first it may send at once; else it waits for the inverter */
    c->started = bl_proto_root(p)->first == BL_FIRST_BATTERY;
    if ((rc = resolve(c, p)) < 0)
        return rc;
    build_index(c);
    /* the limits whose freshness decides the safe state, found once instead of per frame */
    for (unsigned j = 0; j < c->n; j++)
        for (unsigned i = 0; c->sends[j] && c->msg[j]->dir == BL_DIR_B2I && i < c->msg[j]->nsigs; i++) {
            const bl_signal_t *s = &c->msg[j]->sigs[i];
            if (s->kind == BL_SK_NUM && is_limit(s->field))
                c->limits_sent |= (uint32_t)BL_BIT(s->field);
        }
    return 0;
}

const bl_message_t *bl_can_msg(const bl_can_codec_t *c, uint32_t id, unsigned ext, unsigned dir)
{
    for (unsigned i = 0; i < c->n; i++) {
        const bl_message_t *m = c->msg[i];
        uint32_t mask = m->id_mask ? m->id_mask : BL_CAN_EFF_MASK;
        if ((id & mask) == (m->id & mask) && m->ext == ext && m->dir == dir)
            return m;
    }
    return NULL;
}

bool bl_can_sends(const bl_can_codec_t *c, const bl_message_t *m)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->msg[i] == m)
            return c->sends[i] != 0;
    return false;
}

void bl_can_sig(const bl_can_codec_t *c, const bl_message_t *m, unsigned i, bl_signal_t *out)
{
    bl_sig_variant(&m->sigs[i], c->vflags, out);
}

/* The effective row: the table row itself, or a variant copy in *tmp. */
static const bl_signal_t *row(const bl_can_codec_t *c, const bl_message_t *m, unsigned i, bl_signal_t *tmp)
{
    if (c->vflags == 0)
        return &m->sigs[i];
    bl_sig_variant(&m->sigs[i], c->vflags, tmp);
    return tmp;
}

static bool id_matches(const bl_message_t *m, uint32_t id)
{
    uint32_t mask = m->id_mask ? m->id_mask : BL_CAN_EFF_MASK;
    return (id & mask) == (m->id & mask);
}

/* Index of the message a frame belongs to, or -1 (*why says why when why is not NULL). */
static int lookup(const bl_can_codec_t *c, const bl_can_frame_t *f, bl_reject_t *why)
{
    unsigned ext = (f->flags & BL_CAN_EXT) ? 1u : 0u;
    int j = find_exact(c, f->id, ext);
    bool other_len = false;

    if (j >= 0)
        return j;
    for (unsigned k = 0; k < c->nmasked; k++) {
        const bl_message_t *m = c->msg[c->masked[k]];
        if (!id_matches(m, f->id))
            continue;
        if (m->ext == ext)
            return c->masked[k];
        other_len = true;
    }
    if (why != NULL) {
        other_len = other_len || find_exact(c, f->id, ext ^ 1u) >= 0;
        *why = other_len ? BL_REJ_ID_LENGTH : BL_REJ_UNKNOWN_ID;
    }
    return -1;
}

const bl_message_t *bl_can_lookup(const bl_can_codec_t *c, const bl_can_frame_t *f, bl_reject_t *why)
{
    int j = lookup(c, f, why);
    return j >= 0 ? c->msg[j] : NULL;
}

static int reject(bl_can_codec_t *c, bl_decoded_t *d, bl_reject_t why)
{
    d->why = why;
    c->rejected[why]++;
    return BL_EBADMSG;
}

/* Value of the multiplexer selector, or -1 for a message without one. */
static int mux_value(const bl_can_codec_t *c, const bl_message_t *m, const uint8_t *data, size_t len)
{
    for (unsigned i = 0; i < m->nsigs; i++) {
        if (m->sigs[i].kind != BL_SK_MUX)
            continue;
        bl_signal_t s;
        uint64_t raw;
        bl_can_sig(c, m, i, &s);
        if (bl_sig_raw_get(&s, data, len, &raw) < 0)
            return -2;
        return (int)raw;
    }
    return -1;
}

static bl_alarm_mask_t alarm_mask(const bl_signal_t *s)
{
    return (bl_alarm_mask_t)(((s->alarm < BL_A_COUNT) ? (1U << s->alarm) : 0U) | s->also);
}

/* ASCII bytes of a text signal available in this frame: start byte and count. */
static size_t text_span(const bl_signal_t *s, size_t len, size_t *first)
{
    size_t b = s->start / 8u, n = s->len / 8u;
    *first = b;
    if (b >= len)
        return 0;
    return (len - b) < n ? (len - b) : n;
}

/* Decode one row into d->val[i]; returns a reject cause or BL_REJ_NONE. */
static bl_reject_t decode_row(const bl_signal_t *s, const bl_can_frame_t *f, const bl_sig_words_t *w,
                              int64_t *val, bool *present)
{
    uint64_t raw;
    size_t first;

    *present = false;
    if (s->kind == BL_SK_ASCII || s->kind == BL_SK_VERSION) {
        *present = text_span(s, f->len, &first) > 0;
        return BL_REJ_NONE;
    }
    if (bl_sig_raw_from(s, w, &raw) < 0)
        return BL_REJ_NONE; /* beyond this frame's length: an optional trailing field */
    if ((s->flags & BL_SF_CHECK) && raw != (uint64_t)(uint32_t)s->def)
        return BL_REJ_RESERVED;
    switch (s->kind) {
    case BL_SK_NUM:
        if (bl_sig_is_invalid_marker(s, raw) || ((s->flags & BL_SF_ZERO_ABSENT) && raw == 0))
            return BL_REJ_NONE;
        *val = bl_sig_to_milli(s, bl_sig_raw_value(s, raw));
        if (bl_sig_has_range(s) && (*val < s->min || *val > s->max)) {
            *present = true;
            return BL_REJ_RANGE;
        }
        break;
    default: /* BOOL, ALARM, PAIR, MUX: the wire value, as a DBC decoder shows it */
        *val = (int64_t)raw;
        break;
    }
    *present = true;
    return BL_REJ_NONE;
}

static void store_text(const bl_signal_t *s, const bl_can_frame_t *f, bl_record_t *rec, uint64_t now_ms)
{
    size_t first, n = text_span(s, f->len, &first);
    char *dst = bl_record_str_mut(rec, s->field);
    char buf[BL_STR_MAX];
    size_t keep;

    if (dst == NULL || n == 0)
        return;
    if (s->kind == BL_SK_VERSION) {
        size_t o = 0;
        for (size_t i = 0; i < n && o + 4 < sizeof buf; i++) {
            unsigned v = f->data[first + i];
            if (i > 0)
                buf[o++] = '.';
            if (s->flags & BL_SF_HEXVER) {
                buf[o++] = "0123456789ABCDEF"[v >> 4];
                buf[o++] = "0123456789ABCDEF"[v & 15u];
            } else {
                if (v >= 100)
                    buf[o++] = (char)('0' + v / 100);
                if (v >= 10)
                    buf[o++] = (char)('0' + (v / 10) % 10);
                buf[o++] = (char)('0' + v % 10);
            }
        }
        bl_record_set_str(rec, s->field, buf, o, now_ms);
        return;
    }
    /* a piece of a multi-frame string: keep what earlier pieces wrote before str_off */
    keep = s->str_off;
    if (keep > BL_STR_MAX - 1)
        return;
    memcpy(buf, dst, keep);
    for (size_t i = strlen(dst); i < keep; i++)
        buf[i] = ' ';
    if (keep + n > BL_STR_MAX - 1)
        n = BL_STR_MAX - 1 - keep;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = f->data[first + i];
        buf[keep + i] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '\0';
    }
    /* cut at the first NUL the frame carried */
    size_t len = keep + n;
    for (size_t i = keep; i < keep + n; i++)
        if (buf[i] == '\0') {
            len = i;
            break;
        }
    bl_record_set_str(rec, s->field, buf, len, now_ms);
}

/* The alarms of message j's frame in d, merged into the record: "not raised" here clears an
 * alarm only when no other message still raises it. */
static void merge_alarms(bl_can_codec_t *c, unsigned j, const bl_decoded_t *d, uint64_t now_ms, bl_record_t *rec)
{
    for (unsigned k = 0; k < BL_AC_COUNT; k++) {
        bl_alarm_mask_t others = 0;
        if (d->known[k] == 0)
            continue;
        /* the other messages matter only for an alarm raised that this one says is not */
        if (rec->active[k] & d->known[k] & ~d->active[k])
            for (unsigned i = 0; i < c->n; i++)
                if (i != j)
                    others |= c->msg_active[i][k];
        c->msg_active[j][k] = (bl_alarm_mask_t)((c->msg_active[j][k] & ~d->known[k]) | d->active[k]);
        rec->active[k] = (bl_alarm_mask_t)((rec->active[k] & ~(d->known[k] & ~others)) | d->active[k]);
        rec->known[k] |= d->known[k];
        rec->alarm_seen_ms[k] = now_ms;
    }
}

/* One store of a decode, noted in the memo (mo NULL: none kept; too many: none valid). */
static void note(bl_can_memo_t *mo, unsigned row, unsigned field, int32_t value, uint8_t dec)
{
    if (mo == NULL)
        return;
    if (mo->nops >= BL_CAN_MEMO_OPS) {
        mo->ok = 0;
        return;
    }
    mo->row[mo->nops] = (uint8_t)row;
    mo->field[mo->nops] = (uint8_t)field;
    mo->value[mo->nops] = value;
    mo->dec[mo->nops] = dec;
    mo->nops++;
}

static void set(bl_record_t *rec, bl_can_memo_t *mo, unsigned row, unsigned field, int32_t value, uint8_t dec,
                uint64_t now_ms)
{
    bl_record_set(rec, field, value, dec, now_ms);
    note(mo, row, field, value, dec);
}

/* Decode frame f of message j (lookup done); with mo, note what it stores. */
static int decode(bl_can_codec_t *c, const bl_can_frame_t *f, unsigned j, uint64_t now_ms, bl_record_t *rec,
                  bl_decoded_t *d, bl_can_memo_t *mo)
{
    const bl_message_t *m = c->msg[j];
    bl_reject_t why = BL_REJ_NONE;
    int mux;
    uint32_t bools_set = 0;
    bl_sig_words_t w;

    if (f->flags & BL_CAN_RTR)
        return reject(c, d, BL_REJ_REMOTE);
    d->dlc_min = m->dlc_min;
    d->dlc_max = (m->flags & BL_MF_EMPTY) ? 0 : m->dlc_max ? m->dlc_max : 8;
    if (f->len < d->dlc_min || f->len > d->dlc_max)
        return reject(c, d, BL_REJ_LENGTH);
    if (m->id_mask)
        d->addr = (f->id & ~m->id_mask & BL_CAN_EFF_MASK) >> bl_proto_root(c->p)->addr_shift;
    mux = m->nmux ? mux_value(c, m, f->data, f->len) : -1;
    bl_sig_words_load(f->data, f->len, &w);

    for (unsigned i = 0; i < m->nsigs && i < BL_MAX_SIGS; i++) {
        bl_signal_t tmp;
        const bl_signal_t *s = row(c, m, i, &tmp);
        bool present;
        if (s->mux >= 0 && s->mux != mux)
            continue;
        why = decode_row(s, f, &w, &d->val[i], &present);
        if (present)
            d->have |= UINT64_C(1) << i;
        if (why != BL_REJ_NONE) {
            d->sig = (uint8_t)i;
            return reject(c, d, why);
        }
    }

    /* all rows are good: store them */
    if (mo != NULL) {
        mo->ok = f->len <= sizeof mo->data;
        mo->nops = 0;
    }
    for (unsigned i = 0; i < m->nsigs && i < BL_MAX_SIGS; i++) {
        bl_signal_t tmp;
        const bl_signal_t *s;
        const bl_field_info_t *fi;
        if (!(d->have >> i & 1u))
            continue;
        s = row(c, m, i, &tmp);
        if (s->kind == BL_SK_ALARM || s->kind == BL_SK_PAIR) {
            bl_alarm_mask_t am = alarm_mask(s);
            int64_t v = d->val[i];
            bool known = s->kind == BL_SK_ALARM || v == 1 || v == 2;
            bool active = s->kind == BL_SK_ALARM ? v != 0 : v == 1; /* PAIR 01 = raised */
            if (known)
                d->known[s->aclass] |= am;
            if (active)
                d->active[s->aclass] |= am;
            continue;
        }
        fi = bl_field_info(s->field);
        if (fi == NULL || (s->flags & BL_SF_NO_STORE))
            continue;
        d->fields |= BL_BIT(s->field);
        if (s->kind == BL_SK_ASCII || s->kind == BL_SK_VERSION) {
            store_text(s, f, rec, now_ms);
            note(mo, i, BL_F_NONE, 0, 0);
        } else if (s->kind == BL_SK_BOOL) {
            /* several bits may stand for one flag (force charge I and II): OR them */
            uint64_t raw = (uint64_t)d->val[i];
            int32_t v = (s->flags & BL_SF_MATCH) ? raw == (uint64_t)(uint32_t)s->def : raw != 0;
            if (s->flags & BL_SF_INVERT)
                v = !v;
            if (bools_set & BL_BIT(s->field))
                v = v || rec->f[s->field].value;
            bools_set |= BL_BIT(s->field);
            set(rec, mo, i, s->field, v, 0, now_ms);
        } else if (fi->kind == BL_FK_INT) {
            set(rec, mo, i, s->field, (int32_t)(d->val[i] / 1000), 0, now_ms);
        } else {
            set(rec, mo, i, s->field, (int32_t)d->val[i], bl_sig_decimals(s), now_ms);
        }
    }
    merge_alarms(c, j, d, now_ms, rec);
    if (mo != NULL && mo->ok) {
        mo->id = f->id;
        mo->len = f->len;
        mo->flags = f->flags;
        memcpy(mo->data, f->data, f->len);
        mo->fields = d->fields;
        mo->addr = d->addr;
        memcpy(mo->active, d->active, sizeof mo->active);
        memcpy(mo->known, d->known, sizeof mo->known);
    }
    c->decoded++;
    return 0;
}

int bl_can_decode(bl_can_codec_t *c, const bl_can_frame_t *f, uint64_t now_ms, bl_record_t *rec,
                  bl_decoded_t *d)
{
    bool repeat;
    return bl_can_decode_memo(c, f, now_ms, rec, d, NULL, &repeat);
}

static bool same_frame(const bl_can_memo_t *mo, const bl_can_frame_t *f)
{
    return mo->ok && mo->id == f->id && mo->len == f->len && mo->flags == f->flags &&
           memcmp(mo->data, f->data, f->len) == 0;
}

int bl_can_decode_memo(bl_can_codec_t *c, const bl_can_frame_t *f, uint64_t now_ms, bl_record_t *rec,
                       bl_decoded_t *d, bl_can_memo_t *memo, bool *repeat)
{
    bl_decoded_t local;
    bl_reject_t why = BL_REJ_NONE;
    const bl_message_t *m;
    bl_can_memo_t *mo;
    int j;

    *repeat = false;
    if (d == NULL)
        d = &local;
    memset(d, 0, offsetof(bl_decoded_t, val));
    d->vflags = c->vflags;
    if (f->flags & BL_CAN_ERR)
        return reject(c, d, BL_REJ_ERROR_FRAME);
    j = lookup(c, f, &why);
    if (j < 0)
        return reject(c, d, why);
    m = d->msg = c->msg[j];
    mo = memo != NULL ? &memo[j] : NULL;
    if (mo == NULL || !same_frame(mo, f))
        return decode(c, f, (unsigned)j, now_ms, rec, d, mo);

    /* the same bytes again: the same stores, stamped now */
    *repeat = true;
    d->dlc_min = m->dlc_min;
    d->dlc_max = (m->flags & BL_MF_EMPTY) ? 0 : m->dlc_max ? m->dlc_max : 8;
    d->addr = mo->addr;
    d->fields = mo->fields;
    memcpy(d->active, mo->active, sizeof d->active);
    memcpy(d->known, mo->known, sizeof d->known);
    for (unsigned k = 0; k < mo->nops; k++) {
        if (mo->field[k] == BL_F_NONE) {
            bl_signal_t tmp;
            store_text(row(c, m, mo->row[k], &tmp), f, rec, now_ms);
        } else {
            bl_record_set(rec, mo->field[k], mo->value[k], mo->dec[k], now_ms);
        }
    }
    merge_alarms(c, (unsigned)j, d, now_ms, rec);
    c->decoded++;
    return 0;
}

/* ---- encode ------------------------------------------------------------ */

static bool is_limit(unsigned field)
{
    return field == BL_F_CVL || field == BL_F_CCL || field == BL_F_DCL;
}

bool bl_can_safe_needed(const bl_can_codec_t *c, const bl_record_t *rec, uint64_t now_ms,
                        uint64_t stale_ms)
{
    for (uint32_t m = c->limits_sent; m != 0; m &= m - 1u) {
        unsigned f = 0;
        while (!((m >> f) & 1u))
            f++;
        if (!bl_field_fresh(&rec->f[f], now_ms, stale_ms))
            return true;
    }
    return false;
}

/* Parse "a.b.c" (decimal or hex digits) into bytes for a VERSION signal. */
static void version_bytes(const bl_signal_t *s, const char *txt, uint8_t *out, size_t n)
{
    unsigned base = (s->flags & BL_SF_HEXVER) ? 16u : 10u;
    size_t k = 0;
    unsigned v = 0;
    bool any = false;

    for (const char *p = txt;; p++) {
        unsigned dig = 99;
        if (*p >= '0' && *p <= '9')
            dig = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            dig = (unsigned)(*p - 'A' + 10);
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            dig = (unsigned)(*p - 'a' + 10);
        if (dig < base) {
            v = v * base + dig;
            any = true;
            continue;
        }
        if (any && k < n)
            out[k++] = (uint8_t)v;
        v = 0;
        any = false;
        if (*p == '\0')
            break;
    }
}

static int encode_num(const bl_signal_t *s, const bl_record_t *rec, uint64_t now_ms, uint64_t stale_ms,
                      unsigned opts, uint64_t *raw, bl_encoded_t *res)
{
    const bl_field_info_t *fi = bl_field_info(s->field);
    int64_t milli, r;

    if (fi == NULL) {
        *raw = (uint64_t)(int64_t)s->def;
        return 0;
    }
    if (!bl_field_fresh(&rec->f[s->field], now_ms, stale_ms)) {
        res->substituted |= BL_BIT(s->field);
        /* a current limit the battery did not give is 0 A, never "not available": SMA SI keeps
         * its last good value for an invalid field (can-sma-si.md §2), 0 A it obeys */
        if ((s->flags & BL_SF_INVALID) && s->field != BL_F_CCL && s->field != BL_F_DCL) {
            *raw = bl_sig_invalid_marker(s);
            return 0;
        }
        (void)bl_sig_from_milli(s, 0, &r); /* safe value: 0 A, 0 V; clamped into the raw range */
        *raw = (uint64_t)r;
        return 0;
    }
    milli = rec->f[s->field].value;
    if (fi->kind == BL_FK_INT)
        milli *= 1000;
    if (bl_sig_has_range(s) && (milli < s->min || milli > s->max)) {
        if (!(opts & BL_ENC_CLAMP))
            return BL_ERANGE;
        milli = milli < s->min ? s->min : s->max;
        res->clamped |= BL_BIT(s->field);
    }
    if (bl_sig_from_milli(s, milli, &r) < 0) {
        if (!(opts & BL_ENC_CLAMP))
            return BL_ERANGE;
        res->clamped |= BL_BIT(s->field);
    }
    *raw = (uint64_t)r;
    return 0;
}

static uint64_t encode_bool(const bl_signal_t *s, const bl_record_t *rec, uint64_t now_ms,
                            uint64_t stale_ms, bl_encoded_t *res)
{
    bool v = false;
    if (s->field < BL_F_COUNT) {
        if (bl_field_fresh(&rec->f[s->field], now_ms, stale_ms))
            v = rec->f[s->field].value != 0;
        else
            res->substituted |= BL_BIT(s->field); /* flags cleared: no charge / discharge */
    }
    if (s->flags & BL_SF_INVERT)
        v = !v;
    if (s->flags & BL_SF_MATCH)
        return v ? (uint64_t)(uint32_t)s->def : 0u;
    return v ? 1u : 0u;
}

static uint64_t encode_alarm(const bl_can_codec_t *c, const bl_signal_t *s, const bl_record_t *rec,
                             bool safe)
{
    bl_alarm_mask_t am = alarm_mask(s);
    bool active = (rec->active[s->aclass] & am) != 0 || (safe && (c->p->safe[s->aclass] & am) != 0);
    const bl_protocol_t *p = c->p;

    if (s->flags & BL_SF_DECODE_ONLY) /* another row carries this alarm on the wire */
        return (s->kind == BL_SK_PAIR && (rec->known[s->aclass] & am)) ? 2u : 0u;
    if (am == 0) /* an item with no canonical alarm: the row's constant code */
        return (uint64_t)(uint32_t)s->def & (s->kind == BL_SK_PAIR ? 3u : 1u);

    /* variants inherit the safe alarms of their base */
    while (safe && !active && p->base != NULL) {
        p = p->base;
        active = (p->safe[s->aclass] & am) != 0;
    }
    if (s->kind == BL_SK_ALARM)
        return active ? 1u : 0u;
    if (active)
        return 1u;                               /* 01: raised */
    return (rec->known[s->aclass] & am) ? 2u : 0u; /* 10: cleared; 00: no information */
}

static void encode_text(const bl_signal_t *s, const bl_record_t *rec, uint8_t *data, size_t len)
{
    size_t first, n = text_span(s, len, &first);
    const char *txt = s->text;
    const char *fs = bl_record_str(rec, s->field);
    uint8_t pad = (s->flags & BL_SF_PAD_NUL) ? 0 : ' ';

    if (fs != NULL && rec->f[s->field].valid)
        txt = fs;
    if (s->kind == BL_SK_VERSION) {
        memset(data + first, 0, n);
        if (txt != NULL)
            version_bytes(s, txt, data + first, n);
        return;
    }
    size_t tl = txt != NULL ? strlen(txt) : 0;
    for (size_t i = 0; i < n; i++) {
        size_t at = s->str_off + i;
        data[first + i] = at < tl ? (uint8_t)txt[at] : pad;
    }
}

/* What the rows of one encode read: fields, the text field, alarm classes, the safe state. */
typedef struct {
    uint32_t fields;
    unsigned text_field, ntext;
    unsigned aclasses;
    bool safe_used;
} reads_t;

static int encode(const bl_can_codec_t *c, const bl_message_t *m, unsigned mux, const bl_record_t *rec,
                  uint64_t now_ms, uint64_t stale_ms, unsigned opts, bl_can_frame_t *out, bl_encoded_t *res,
                  reads_t *rd)
{
    bool safe = false, safe_checked = false;
    bl_sig_words_t w;

    memset(res, 0, sizeof *res);
    memset(out, 0, sizeof *out);
    out->id = m->id;
    if (m->id_mask) /* an addressed id: this battery's / group's address in the free bits */
        out->id |= (c->addr << bl_proto_root(c->p)->addr_shift) & ~m->id_mask &
                   (m->ext ? BL_CAN_EFF_MASK : BL_CAN_SFF_MASK);
    out->len = m->dlc;
    out->flags = m->ext ? BL_CAN_EXT : 0;
    /* numeric rows are built in two 64-bit words and stored once (text rows write bytes) */
    w.le = w.be = 0;
    w.len = m->dlc < 8 ? m->dlc : 8;

    for (unsigned i = 0; i < m->nsigs; i++) {
        bl_signal_t tmp;
        const bl_signal_t *s = row(c, m, i, &tmp);
        uint64_t raw = 0;
        if (s->mux >= 0 && (unsigned)s->mux != mux)
            continue;
        switch (s->kind) {
        case BL_SK_MUX:
            raw = mux;
            break;
        case BL_SK_NUM:
            if (s->flags & BL_SF_STATE) {
                raw = c->state;
                break;
            }
            if (s->field < BL_F_COUNT)
                rd->fields |= (uint32_t)BL_BIT(s->field);
            if (encode_num(s, rec, now_ms, stale_ms, opts, &raw, res) < 0) {
                res->why = BL_REJ_RANGE;
                res->sig = (uint8_t)i;
                return BL_ERANGE;
            }
            break;
        case BL_SK_BOOL:
            if (s->field < BL_F_COUNT)
                rd->fields |= (uint32_t)BL_BIT(s->field);
            raw = encode_bool(s, rec, now_ms, stale_ms, res);
            break;
        case BL_SK_ALARM:
        case BL_SK_PAIR:
            if (!safe_checked) {
                safe = bl_can_safe_needed(c, rec, now_ms, stale_ms);
                safe_checked = true;
                res->safe_state = safe;
                rd->safe_used = true;
            }
            rd->aclasses |= 1u << s->aclass;
            raw = encode_alarm(c, s, rec, safe);
            break;
        default: /* ASCII, VERSION */
            if (bl_record_str(rec, s->field) != NULL && (rd->ntext == 0 || rd->text_field != s->field)) {
                rd->text_field = s->field;
                rd->ntext++;
            }
            encode_text(s, rec, out->data, out->len);
            continue;
        }
        (void)bl_sig_raw_into(s, &w, raw); /* rows beyond the DLC are not sent */
    }
    bl_sig_words_store(&w, out->data, w.len);
    return 0;
}

int bl_can_encode(const bl_can_codec_t *c, const bl_message_t *m, unsigned mux, const bl_record_t *rec,
                  uint64_t now_ms, uint64_t stale_ms, unsigned opts, bl_can_frame_t *out,
                  bl_encoded_t *res)
{
    bl_encoded_t local;
    reads_t rd;
    memset(&rd, 0, sizeof rd);
    return encode(c, m, mux, rec, now_ms, stale_ms, opts, out, res != NULL ? res : &local, &rd);
}

/* Whether what the memo's encode read is still what rec says at now_ms. */
static bool ememo_same(const bl_can_codec_t *c, const bl_can_ememo_t *e, unsigned mux, const bl_record_t *rec,
                       uint64_t now_ms, uint64_t stale_ms, unsigned opts)
{
    if (!e->ok || e->mux != mux || e->state != c->state || e->addr != c->addr || e->opts != opts ||
        e->stale_ms != stale_ms)
        return false;
    for (unsigned k = 0; k < e->ndeps; k++) {
        const bl_field_t *f = &rec->f[e->dep[k]];
        if (f->value != e->value[k] || bl_field_fresh(f, now_ms, stale_ms) != (e->fresh[k] != 0))
            return false;
    }
    if (e->text_field != BL_F_NONE &&
        ((rec->f[e->text_field].valid != 0) != (e->text_valid != 0) ||
         strcmp(bl_record_str(rec, e->text_field), e->text) != 0))
        return false;
    for (unsigned k = 0; k < BL_AC_COUNT; k++)
        if ((e->aclasses >> k & 1u) && (rec->active[k] != e->active[k] || rec->known[k] != e->known[k]))
            return false;
    return e->safe == 0xFF || bl_can_safe_needed(c, rec, now_ms, stale_ms) == (e->safe != 0);
}

int bl_can_encode_memo(const bl_can_codec_t *c, const bl_message_t *m, unsigned mux, const bl_record_t *rec,
                       uint64_t now_ms, uint64_t stale_ms, unsigned opts, bl_can_frame_t *out,
                       bl_encoded_t *res, bl_can_ememo_t *e)
{
    bl_encoded_t local;
    reads_t rd;
    int rc;

    if (res == NULL)
        res = &local;
    if (ememo_same(c, e, mux, rec, now_ms, stale_ms, opts)) {
        *out = e->out;
        *res = e->res;
        return 0;
    }
    memset(&rd, 0, sizeof rd);
    rc = encode(c, m, mux, rec, now_ms, stale_ms, opts, out, res, &rd);
    e->ok = 0;
    if (rc < 0 || rd.ntext > 1)
        return rc;
    e->ndeps = 0;
    for (uint32_t f = rd.fields; f != 0; f &= f - 1u) {
        unsigned id = 0;
        while (!(f >> id & 1u))
            id++;
        if (e->ndeps >= BL_CAN_EMEMO_DEPS)
            return rc;
        e->dep[e->ndeps] = (uint8_t)id;
        e->value[e->ndeps] = rec->f[id].value;
        e->fresh[e->ndeps] = bl_field_fresh(&rec->f[id], now_ms, stale_ms);
        e->ndeps++;
    }
    e->text_field = BL_F_NONE;
    if (rd.ntext == 1) {
        const char *t = bl_record_str(rec, rd.text_field);
        size_t n = strlen(t);
        if (n >= sizeof e->text)
            return rc;
        memcpy(e->text, t, n + 1u);
        e->text_field = (uint8_t)rd.text_field;
        e->text_valid = rec->f[rd.text_field].valid != 0;
    }
    e->aclasses = (uint8_t)rd.aclasses;
    for (unsigned k = 0; k < BL_AC_COUNT; k++) {
        e->active[k] = rec->active[k];
        e->known[k] = rec->known[k];
    }
    e->safe = rd.safe_used ? (uint8_t)res->safe_state : 0xFF;
    e->mux = (uint8_t)mux;
    e->state = c->state;
    e->addr = c->addr;
    e->opts = opts;
    e->stale_ms = stale_ms;
    e->out = *out;
    e->res = *res;
    e->ok = 1;
    return rc;
}

/* ---- the session: both roles as data ----------------------------------- */

static bool trig_matches(const bl_trigger_t *t, const bl_can_frame_t *f, uint8_t state)
{
    if (t->in_states && !(t->in_states & (1u << state)))
        return false;
    if (t->byte != BL_TRIG_ANY && (t->byte >= f->len || (f->data[t->byte] & t->mask) != t->value))
        return false;
    if (t->mask2 && (t->byte2 >= f->len || (f->data[t->byte2] & t->mask2) != t->value2))
        return false;
    return true;
}

static void react_add(const bl_can_codec_t *c, const bl_trigger_t *t, bl_reaction_t *r)
{
    for (const uint32_t *id = t->resp; id != NULL && *id != 0; id++) {
        const bl_message_t *m = bl_can_msg(c, *id, t->ext, BL_DIR_B2I);
        bool dup = false;
        if (m == NULL) /* a row naming a message the tables lack is caught by the table tests */
            continue;
        for (unsigned k = 0; k < r->n; k++)
            dup = dup || r->send[k] == m;
        if (!dup && r->n < BL_REACT_MAX)
            r->send[r->n++] = m;
    }
}

int bl_can_react(bl_can_codec_t *c, const bl_can_frame_t *f, uint64_t now_ms, bl_reaction_t *r)
{
    bl_reaction_t local;
    size_t nt;
    const bl_trigger_t *t = bl_proto_triggers(c->p, &nt);
    uint8_t ext = (f->flags & BL_CAN_EXT) ? 1 : 0;
    const bl_message_t *m;
    uint8_t state;

    if (r == NULL)
        r = &local;
    memset(r, 0, sizeof *r);
    r->state_before = r->state_after = c->state;
    if (f->flags & (BL_CAN_ERR | BL_CAN_RTR))
        return 0;
    m = bl_can_lookup(c, f, NULL);
    if (m == NULL || m->dir != BL_DIR_I2B)
        return 0; /* not this protocol's inverter: the link is not proven alive by it */
    c->peer_seen_ms = now_ms;
    state = c->state; /* every row sees the state the frame arrived in */
    for (size_t i = 0; i < nt; i++) {
        uint32_t mask = m->id_mask ? m->id_mask : BL_CAN_EFF_MASK;
        if ((t[i].req & mask) != (m->id & mask) || t[i].ext != ext || !trig_matches(&t[i], f, state))
            continue;
        r->rows++;
        c->reactions++;
        if (t[i].next_state != BL_STATE_KEEP)
            c->state = t[i].next_state;
        if ((t[i].action & BL_TA_START) && !c->started)
            c->started = r->started = true;
        if (t[i].action & BL_TA_RESPOND)
            react_add(c, &t[i], r);
    }
    r->state_after = c->state;
    return r->rows;
}

bool bl_can_link_check(bl_can_codec_t *c, uint64_t now_ms)
{
    uint32_t to = bl_proto_link_timeout_ms(c->p);

    if (to == 0 || c->peer_seen_ms == BL_NEVER || now_ms - c->peer_seen_ms < to)
        return to == 0 || c->peer_seen_ms != BL_NEVER;
    /* lost: back to the power-up state (SolaX opens its contactors, BYD goes silent) */
    c->links_lost++;
    c->state = 0;
    c->started = bl_proto_root(c->p)->first == BL_FIRST_BATTERY;
    c->peer_seen_ms = BL_NEVER;
    return false;
}

bl_trigger_kind_t bl_trigger_kind(const bl_trigger_t *t)
{
    bool answered = (t->action & BL_TA_RESPOND) && t->in_states == 0;
    if (t->period_ms != 0)
        return BL_TK_PERIODIC;
    if (answered && (t->action & BL_TA_START))
        return BL_TK_HELLO;
    if (answered && t->next_state != BL_STATE_KEEP && t->next_state != 0)
        return BL_TK_COMMAND;
    return BL_TK_NONE;
}
