/*
 * Payloads of byte protocols <-> the canonical record, by walking layout rows.
 *
 * A layout is a list of rows read at a moving cursor: fixed fields (a
 * bl_signal_t relative to the cursor, so scaling and flags mean what they mean
 * for CAN), counts (M cells, N temperatures, P user items), arrays sized by a
 * count, and conditions on a count (Pylontech's U24 capacities when P >= 4).
 * Dialects are different rows, never different code.
 */
#include "bmslink/rs485.h"

#include <string.h>

/* The per-value helpers of the walk: inlined where the compiler would call them (every
 * value of every payload passes through them). */
#if defined(__GNUC__)
#define HOT static inline __attribute__((always_inline))
#else
#define HOT static inline
#endif

const bl_rs485_codec_t *bl_rs_codec(const bl_protocol_t *p)
{
    for (; p != NULL; p = p->base)
        if (p->rs485 != NULL)
            return p->rs485;
    return NULL;
}

const bl_rs_msg_t *bl_rs_msg(const bl_rs485_codec_t *c, unsigned id)
{
    for (unsigned i = 0; c != NULL && i < c->nmsgs; i++)
        if (c->msgs[i].id == id)
            return &c->msgs[i];
    return NULL;
}

/* ---- decode ------------------------------------------------------------ */

/* Extremes and sums over packs (and over the elements of one array). */
typedef struct {
    unsigned n;
    int64_t v_sum, i_sum, soc_sum, soh_sum, t_sum, rem_sum, full_sum;
    unsigned v_n, i_n, soc_n, soh_n, t_n, cap_n;
    int32_t cmin, cmax, tmin, tmax;
    bool cmin_ok, cmax_ok, tmin_ok, tmax_ok;
    int32_t cycles;
    bool cycles_ok;
    uint8_t dec[BL_F_BATTERY_COUNT];
    bl_alarm_mask_t known[BL_AC_COUNT], active[BL_AC_COUNT];
} agg_t;

typedef struct {
    const bl_rs485_codec_t *c;
    const uint8_t *pl;
    size_t n;
    size_t pos;
    uint8_t counts[BL_SLOT_COUNT];
    int64_t slot[BL_SLOT_COUNT];
    bool slot_ok[BL_SLOT_COUNT];
    uint8_t pack;
    uint64_t now;
    bl_record_t *rec; /* staging record of this block; NULL: check the layout only, store nothing */
    uint32_t set;     /* BL_BIT(field) of the fields this block stored into rec (the only valid ones) */
    bl_rs_decoded_t *d;
    bool jk_new;      /* JK item 0xC0 = 1: the newer current encoding */
} walk_t;

/* A field of the staging record. The stage is not cleared before a block (only its alarm
 * masks are): a field is valid when its bit is in w->set, and only those are committed. */
static void put_field(walk_t *w, unsigned id, int32_t value, uint8_t dec)
{
    bl_field_t *f = &w->rec->f[id];
    f->value = value;
    f->valid = 1;
    f->dec = dec;
    f->_pad = 0;
    f->seen_ms = w->now;
    w->set |= (uint32_t)BL_BIT(id);
}

/* Bytes of a whole-byte big-endian field at the cursor (what almost every layout row is),
 * 0 for any other row. */
static inline size_t be_bytes(const bl_signal_t *s)
{
    return (s->order == BL_BE && s->start == 7 && (s->len & 7u) == 0 && s->len != 0 && s->len <= 64) ? s->len / 8u
                                                                                                       : 0;
}

static inline uint64_t be_read(const uint8_t *p, size_t nb)
{
    uint64_t v = 0;
    for (size_t i = 0; i < nb; i++)
        v = v << 8 | p[i];
    return v;
}

/* Raw bits of s in p[0..avail), as bl_sig_raw_get() reads them: whole-byte big-endian
 * fields and the bits of one byte directly, anything else through the signal engine. */
HOT int raw_at(const bl_signal_t *s, const uint8_t *p, size_t avail, uint64_t *raw)
{
    size_t nb = be_bytes(s);
    if (nb != 0) {
        if (nb > avail)
            return BL_ERANGE;
        *raw = be_read(p, nb);
        return 0;
    }
    /* bits of the first byte (flag and alarm rows) */
    if (s->order == BL_LE && s->len != 0 && (unsigned)s->start + s->len <= 8u && avail >= 1) {
        *raw = ((uint64_t)p[0] >> s->start) & bl_sig_len_mask(s->len);
        return 0;
    }
    return bl_sig_raw_get(s, p, avail, raw);
}

static void list_slow(walk_t *w, const bl_rs_item_t *it, size_t off, int64_t v, uint16_t n, uint16_t arr)
{
    bl_rs_val_t *x;
    if (w->d->nvals >= BL_RS_MAX_VALS) {
        w->d->vals_full = true;
        return;
    }
    x = &w->d->vals[w->d->nvals++];
    x->item = it;
    x->sig = &it->sig;
    x->off = (uint16_t)off;
    x->n = n;
    x->arr = arr;
    x->pack = w->pack;
    x->v = v;
}

/* One value for the caller's list (bl_rs_decoded_t), when it asked for one. */
static inline void list_val(walk_t *w, const bl_rs_item_t *it, size_t off, int64_t v, uint16_t n, uint16_t arr)
{
    if (w->d != NULL)
        list_slow(w, it, off, v, n, arr);
}

static bl_alarm_mask_t alarm_mask(const bl_signal_t *s)
{
    return (bl_alarm_mask_t)(((s->alarm < BL_A_COUNT) ? (1U << s->alarm) : 0U) | s->also);
}

/* The value of raw for s. Returns a reject cause; *present false when the wire says
 * "not available". */
HOT bl_rsr_t value_of(const bl_signal_t *s, uint64_t raw, int64_t *val, bool *present)
{
    *present = false;
    switch (s->kind) {
    case BL_SK_NUM:
        if (bl_sig_marker(s, raw) || ((s->flags & BL_SF_ZERO_ABSENT) && raw == 0))
            return BL_RSR_NONE;
        *val = bl_sig_milli(s, bl_sig_value(s, raw));
        *present = true;
        if (bl_sig_has_range(s) && (*val < s->min || *val > s->max))
            return BL_RSR_RANGE;
        /* a canonical field is an int32 of milli-units: a wire value beyond it is not plausible */
        if (s->field < BL_F_BATTERY_COUNT && (*val > INT32_MAX || *val < INT32_MIN))
            return BL_RSR_RANGE;
        return BL_RSR_NONE;
    case BL_SK_BOOL: {
        bool v = (s->flags & BL_SF_MATCH) ? raw == (uint64_t)(uint32_t)s->def : raw != 0;
        *val = (s->flags & BL_SF_INVERT) ? !v : v;
        break;
    }
    default:
        *val = raw != 0;
        break;
    }
    *present = true;
    return BL_RSR_NONE;
}

/* One scalar value at p (avail bytes): value_of() the raw bits there, BL_RSR_LAYOUT when they
 * are not there. */
HOT bl_rsr_t scalar(const bl_signal_t *s, const uint8_t *p, size_t avail, int64_t *val, bool *present)
{
    uint64_t raw;
    *present = false;
    if (raw_at(s, p, avail, &raw) < 0)
        return BL_RSR_LAYOUT;
    return value_of(s, raw, val, present);
}

static void store_num(walk_t *w, const bl_signal_t *s, int64_t v)
{
    const bl_field_info_t *fi = bl_field_info(s->field);
    if (fi == NULL || s->field >= BL_F_BATTERY_COUNT || w->rec == NULL)
        return;
    if (fi->kind == BL_FK_INT)
        put_field(w, s->field, (int32_t)(v / 1000), 0);
    else if (fi->kind == BL_FK_BOOL)
        put_field(w, s->field, v != 0, 0);
    else
        put_field(w, s->field, (int32_t)v, bl_sig_dec(s));
}

static void store_text(walk_t *w, const bl_signal_t *s, const uint8_t *p, size_t n)
{
    char buf[BL_STR_MAX];
    char *dst;
    size_t o = 0;
    if (w->rec == NULL || (dst = bl_record_str_mut(w->rec, s->field)) == NULL)
        return;
    if (s->kind == BL_SK_VERSION) {
        for (size_t i = 0; i < n && o + 5 < sizeof buf; i++) {
            unsigned v = p[i];
            if (i > 0)
                buf[o++] = '.';
            if (s->flags & BL_SF_HEXVER) {
                buf[o++] = "0123456789ABCDEF"[v >> 4];
                buf[o++] = "0123456789ABCDEF"[v & 15u];
                continue;
            }
            if (v >= 100)
                buf[o++] = (char)('0' + v / 100);
            if (v >= 10)
                buf[o++] = (char)('0' + (v / 10) % 10);
            buf[o++] = (char)('0' + v % 10);
        }
    } else {
        for (size_t i = 0; i < n && o < sizeof buf - 1; i++) {
            if (p[i] == 0)
                break;
            buf[o++] = (p[i] >= 0x20 && p[i] < 0x7F) ? (char)p[i] : '?';
        }
        while (o > 0 && buf[o - 1] == ' ')
            o--;
        /* leading spaces too: "  PYLON" names the same maker */
        size_t lead = 0;
        while (lead < o && buf[lead] == ' ')
            lead++;
        if (lead > 0) {
            memmove(buf, buf + lead, o - lead);
            o -= lead;
        }
    }
    if (!(w->set >> s->field & 1u))
        memset(dst, 0, BL_STR_MAX); /* the stage is not cleared: the whole slot is committed */
    bl_record_set_str(w->rec, s->field, buf, o, w->now);
    w->set |= (uint32_t)BL_BIT(s->field);
}

/* What a scale and an offset cannot say (JK 4E57 §3): temperatures above 100 are below
 * zero, and the current's sign is a bit on newer firmware, an offset of 10000 before. */
static bl_rsr_t convert(const walk_t *w, const bl_rs_item_t *it, const uint8_t *p, size_t n, int64_t *v, bool *present)
{
    const bl_signal_t *s = &it->sig;
    uint64_t raw;
    int64_t x;

    if (raw_at(s, p, n, &raw) < 0)
        return BL_RSR_LAYOUT;
    switch (it->conv) {
    case BL_CONV_JK_TEMP:
        x = raw > 100 ? -((int64_t)raw - 100) : (int64_t)raw;
        *v = x * 1000;
        break;
    case BL_CONV_JK_CURRENT:
        if (w->jk_new)
            x = (raw & 0x8000u) ? (int64_t)(raw & 0x7FFFu) : -(int64_t)(raw & 0x7FFFu);
        else
            x = (int64_t)raw - 10000;
        *v = x * 10; /* 10 mA */
        break;
    default:
        return BL_RSR_NONE;
    }
    *present = true;
    if (bl_sig_has_range(s) && (*v < s->min || *v > s->max))
        return BL_RSR_RANGE;
    return BL_RSR_NONE;
}

static bl_rsr_t do_field(walk_t *w, const bl_rs_item_t *it)
{
    const bl_signal_t *s = &it->sig;
    const uint8_t *p = w->pl + w->pos;
    size_t avail = w->n - w->pos;
    int64_t v = 0;
    bool present;
    bl_rsr_t why;

    if (it->size > avail)
        return BL_RSR_LAYOUT;
    if (s->kind == BL_SK_ASCII || s->kind == BL_SK_VERSION) {
        size_t n = (it->size == 0 && s->kind == BL_SK_ASCII) ? avail : it->size;
        if (s->field < BL_F_BATTERY_COUNT)
            store_text(w, s, p, n);
        list_val(w, it, w->pos, 0, (uint16_t)n, 0);
        w->pos += n;
        return BL_RSR_NONE;
    }
    why = scalar(s, p, it->size ? it->size : avail, &v, &present);
    if (why != BL_RSR_LAYOUT && it->conv != BL_CONV_NONE)
        why = convert(w, it, p, it->size, &v, &present);
    if (why == BL_RSR_RANGE) {
        list_val(w, it, w->pos, v, 0, 0); /* shown: what the wire said */
        return why;
    }
    if (why != BL_RSR_NONE)
        return why;
    if (present) {
        if (w->rec == NULL) {
            /* checking the layout only */
        } else if (s->kind == BL_SK_ALARM) {
            bl_alarm_mask_t am = alarm_mask(s);
            w->rec->known[s->aclass] |= am;
            if (v)
                w->rec->active[s->aclass] |= am;
            w->rec->alarm_seen_ms[s->aclass] = w->now;
        } else if (s->kind == BL_SK_BOOL && s->field < BL_F_BATTERY_COUNT && (w->set >> s->field & 1u)) {
            /* two bits for one flag (force charge 1 and 2): either sets it */
            put_field(w, s->field, (int32_t)(v || w->rec->f[s->field].value), 0);
        } else {
            store_num(w, s, v);
        }
        if (it->slot != BL_SLOT_NONE && it->slot < BL_SLOT_COUNT) {
            w->slot[it->slot] = v;
            w->slot_ok[it->slot] = true;
        }
        list_val(w, it, w->pos, v, 0, 0);
    } else {
        list_val(w, it, w->pos, INT64_MIN, 0, 0); /* "not available" on the wire */
    }
    w->pos += it->size;
    return BL_RSR_NONE;
}

static void states_alarm(walk_t *w, const bl_rs_item_t *it, int64_t code)
{
    const bl_signal_t *s = &it->sig;
    bl_alarm_mask_t lo = alarm_mask(s);
    bl_alarm_mask_t hi = (bl_alarm_mask_t)((it->alarm_hi < BL_A_COUNT ? 1U << it->alarm_hi : 0U) | it->also_hi);
    if (w->rec == NULL)
        return;
    w->rec->known[s->aclass] |= (bl_alarm_mask_t)(lo | hi);
    w->rec->alarm_seen_ms[s->aclass] = w->now;
    if (code == 1)
        w->rec->active[s->aclass] |= lo;
    else if (code == 2)
        w->rec->active[s->aclass] |= hi;
    else if (code != 0) /* 0xF0 "other error", vendor codes */
        w->rec->active[s->aclass] |= (bl_alarm_mask_t)(1U << BL_A_INTERNAL);
}

static bl_rsr_t do_array(walk_t *w, const bl_rs_item_t *it)
{
    const bl_signal_t *s = &it->sig;
    int cnt = (int)w->counts[it->slot] + it->adjust;
    size_t k = cnt > 0 ? (size_t)cnt : 0;
    uint16_t first = w->d ? w->d->narr : 0;
    if (it->adjust == BL_ADJ_FILL)
        k = it->size ? (w->n - w->pos) / it->size : 0;
    if (s->kind == BL_SK_ASCII) {
        /* text blocks: listed, not stored (serial numbers of the modules) */
        if (k * it->size > w->n - w->pos)
            return BL_RSR_LAYOUT;
        list_val(w, it, w->pos, 0, (uint16_t)k, 0);
        w->pos += k * it->size;
        return BL_RSR_NONE;
    }
    uint16_t stored = 0;
    size_t lo = it->agg_lo, hi = k > it->agg_back ? k - it->agg_back : 0;
    int64_t mn = INT64_MAX, mx = INT64_MIN, sum = 0;
    unsigned used = 0;
    const uint8_t *q = w->pl + w->pos;
    size_t nb = be_bytes(s); /* decided once for every element */
    uint64_t last = 0;       /* the previous element's raw value: equal ones (cells of a */
    int64_t v = 0;           /* balanced pack, normal states) are worth the same */
    bool present = false;

    if (k * it->size > w->n - w->pos)
        return BL_RSR_LAYOUT;
    if (nb > it->size)
        nb = 0; /* does not fit an element: raw_at() says so */
    for (size_t e = 0; e < k; e++, q += it->size) {
        uint64_t raw;
        bool same;
        if (nb != 0)
            raw = be_read(q, nb);
        else if (raw_at(s, q, it->size, &raw) < 0)
            return BL_RSR_LAYOUT;
        same = e > 0 && raw == last;
        if (!same) {
            bl_rsr_t why;
            v = 0;
            why = value_of(s, raw, &v, &present);
            if (why != BL_RSR_NONE)
                return why;
            last = raw;
        }
        if (w->d != NULL && w->d->narr < BL_RS_MAX_ARR) {
            w->d->arr[w->d->narr++] = present ? (int32_t)v : INT32_MIN;
            stored++;
        } else if (w->d != NULL) {
            w->d->vals_full = true;
        }
        if (!present)
            continue;
        if (it->agg == BL_AGG_STATES) {
            if (!same) /* the same code again changes nothing */
                states_alarm(w, it, v / 1000);
            continue;
        }
        if (e < lo || e >= hi)
            continue;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        sum += v;
        used++;
    }
    if (w->rec == NULL) {
        /* checking the layout only */
    } else if (used > 0 && it->agg == BL_AGG_CELLS) {
        uint8_t dec = bl_sig_dec(s);
        put_field(w, BL_F_CELL_V_MIN, (int32_t)mn, dec);
        put_field(w, BL_F_CELL_V_MAX, (int32_t)mx, dec);
    } else if (used > 0 && it->agg == BL_AGG_TEMPS) {
        int64_t avg = sum >= 0 ? (sum + used / 2) / used : -((-sum + used / 2) / used);
        uint8_t dec = bl_sig_dec(s);
        put_field(w, BL_F_TEMP_MIN, (int32_t)mn, dec);
        put_field(w, BL_F_TEMP_MAX, (int32_t)mx, dec);
        put_field(w, BL_F_TEMP, (int32_t)avg, dec);
    }
    list_val(w, it, w->pos, 0, stored, first);
    w->pos += k * it->size;
    return BL_RSR_NONE;
}

/* First row describing item id among rows[0..n), or n. */
static unsigned item_row(const bl_rs_item_t *rows, unsigned n, uint8_t id)
{
    unsigned i = 0;
    while (i < n && rows[i].id != id)
        i++;
    return i;
}

/* Bytes the value of the item at pl[at] (its id) takes after the id, or 0 when unknown. */
static size_t item_size(const bl_rs_item_t *rows, unsigned n, const uint8_t *pl, size_t len, size_t at)
{
    unsigned i = item_row(rows, n, pl[at]);
    size_t sz = 0;
    if (i == n)
        return 0;
    if (rows[i].op == BL_RI_ARRAY)
        return at + 1 < len ? 1u + pl[at + 1] : 0;
    for (; i < n && rows[i].id == pl[at]; i++)
        sz += rows[i].size;
    return sz;
}

static bl_rsr_t walk(walk_t *w, const bl_rs_item_t *rows, unsigned nrows);

/* "id, value" items (JK 4E57): a value's size comes from its id's rows, so an unknown id
 * ends the list as a layout error (its size is unknown). */
static bl_rsr_t do_items(walk_t *w, const bl_rs_item_t *rows, unsigned n)
{
    /* the current encoding depends on item 0xC0, which comes late: look for it first */
    for (size_t at = w->pos; at < w->n;) {
        size_t sz = item_size(rows, n, w->pl, w->n, at);
        if (sz == 0 || at + 1 + sz > w->n)
            break;
        if (w->pl[at] == 0xC0)
            w->jk_new = w->pl[at + 1] == 0x01;
        at += 1 + sz;
    }
    while (w->pos < w->n) {
        uint8_t id = w->pl[w->pos];
        unsigned i = item_row(rows, n, id), j = i;
        bl_rsr_t why;
        if (i == n)
            return BL_RSR_LAYOUT;
        w->pos++;
        while (j < n && rows[j].id == id)
            j++;
        if (rows[i].op == BL_RI_ARRAY) {
            if (w->pos >= w->n || rows[i].size == 0 || w->pl[w->pos] % rows[i].size != 0)
                return BL_RSR_LAYOUT;
            w->counts[rows[i].slot] = (uint8_t)(w->pl[w->pos] / rows[i].size);
            w->pos++;
        }
        why = walk(w, rows + i, j - i);
        if (why != BL_RSR_NONE)
            return why;
    }
    return BL_RSR_NONE;
}

/* Walk rows over one block; w->pos ends where the block ends. */
static bl_rsr_t walk(walk_t *w, const bl_rs_item_t *rows, unsigned nrows)
{
    for (unsigned i = 0; i < nrows; i++) {
        const bl_rs_item_t *it = &rows[i];
        bl_rsr_t why = BL_RSR_NONE;
        switch (it->op) {
        case BL_RI_FIELD:
            why = do_field(w, it);
            break;
        case BL_RI_COUNT:
            if (w->pos >= w->n)
                return BL_RSR_LAYOUT;
            w->counts[it->slot] = w->pl[w->pos];
            if (it->sig.field < BL_F_BATTERY_COUNT)
                store_num(w, &it->sig, (int64_t)w->pl[w->pos] * 1000);
            list_val(w, it, w->pos, (int64_t)w->pl[w->pos] * 1000, 0, 0);
            w->pos++;
            break;
        case BL_RI_ARRAY:
            why = do_array(w, it);
            break;
        case BL_RI_IF:
            if (w->counts[it->slot] < it->sig.def)
                i += it->size;
            break;
        case BL_RI_OPTIONAL:
            if (w->pos == w->n)
                return BL_RSR_NONE;
            break;
        case BL_RI_ITEMS:
            /* the rows after this one describe items, not positions */
            return do_items(w, rows + i + 1, nrows - i - 1);
        default: /* BL_RI_REST */
            list_val(w, it, w->pos, (int64_t)(w->n - w->pos), (uint16_t)(w->n - w->pos), 0);
            w->pos = w->n;
            break;
        }
        if (why != BL_RSR_NONE)
            return why;
    }
    return BL_RSR_NONE;
}

static void agg_init(agg_t *a)
{
    memset(a, 0, sizeof *a);
}

static void agg_take(agg_t *a, const bl_record_t *r)
{
    const bl_field_t *f = r->f;
    a->n++;
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if (f[i].valid && f[i].dec > a->dec[i])
            a->dec[i] = f[i].dec;
    if (f[BL_F_VOLTAGE].valid)
        a->v_sum += f[BL_F_VOLTAGE].value, a->v_n++;
    if (f[BL_F_CURRENT].valid)
        a->i_sum += f[BL_F_CURRENT].value, a->i_n++;
    if (f[BL_F_SOC].valid)
        a->soc_sum += f[BL_F_SOC].value, a->soc_n++;
    if (f[BL_F_SOH].valid)
        a->soh_sum += f[BL_F_SOH].value, a->soh_n++;
    if (f[BL_F_TEMP].valid)
        a->t_sum += f[BL_F_TEMP].value, a->t_n++;
    if (f[BL_F_CAPACITY].valid && f[BL_F_SOC].valid) {
        a->full_sum += f[BL_F_CAPACITY].value;
        a->rem_sum += (int64_t)f[BL_F_CAPACITY].value * f[BL_F_SOC].value / 100000;
        a->cap_n++;
    }
#define MINMAX(fid, v, ok, cmp)                                                                               \
    if (f[fid].valid && (!(ok) || f[fid].value cmp(v))) {                                                     \
        v = f[fid].value;                                                                                     \
        ok = true;                                                                                            \
    }
    MINMAX(BL_F_CELL_V_MIN, a->cmin, a->cmin_ok, <)
    MINMAX(BL_F_CELL_V_MAX, a->cmax, a->cmax_ok, >)
    MINMAX(BL_F_TEMP_MIN, a->tmin, a->tmin_ok, <)
    MINMAX(BL_F_TEMP_MAX, a->tmax, a->tmax_ok, >)
    MINMAX(BL_F_CYCLE_COUNT, a->cycles, a->cycles_ok, >)
#undef MINMAX
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        a->known[c] |= r->known[c];
        a->active[c] |= r->active[c];
    }
}

static int32_t mean(int64_t sum, unsigned n)
{
    return (int32_t)(sum >= 0 ? (sum + n / 2) / n : -((-sum + n / 2) / n));
}

static void agg_put(const agg_t *a, uint64_t now, bl_record_t *rec)
{
    if (a->v_n)
        bl_record_set(rec, BL_F_VOLTAGE, mean(a->v_sum, a->v_n), a->dec[BL_F_VOLTAGE], now);
    if (a->i_n)
        bl_record_set(rec, BL_F_CURRENT, (int32_t)a->i_sum, a->dec[BL_F_CURRENT], now);
    /* packs of different sizes: SOC of the stack is charge over capacity, not a mean */
    if (a->cap_n == a->n && a->full_sum > 0)
        bl_record_set(rec, BL_F_SOC, (int32_t)(a->rem_sum * 100000 / a->full_sum), a->dec[BL_F_SOC], now);
    else if (a->soc_n)
        bl_record_set(rec, BL_F_SOC, mean(a->soc_sum, a->soc_n), a->dec[BL_F_SOC], now);
    if (a->cap_n == a->n && a->full_sum > 0 && a->full_sum <= INT32_MAX)
        bl_record_set(rec, BL_F_CAPACITY, (int32_t)a->full_sum, a->dec[BL_F_CAPACITY], now);
    if (a->soh_n)
        bl_record_set(rec, BL_F_SOH, mean(a->soh_sum, a->soh_n), a->dec[BL_F_SOH], now);
    if (a->t_n)
        bl_record_set(rec, BL_F_TEMP, mean(a->t_sum, a->t_n), a->dec[BL_F_TEMP], now);
    if (a->cmin_ok)
        bl_record_set(rec, BL_F_CELL_V_MIN, a->cmin, a->dec[BL_F_CELL_V_MIN], now);
    if (a->cmax_ok)
        bl_record_set(rec, BL_F_CELL_V_MAX, a->cmax, a->dec[BL_F_CELL_V_MAX], now);
    if (a->tmin_ok)
        bl_record_set(rec, BL_F_TEMP_MIN, a->tmin, a->dec[BL_F_TEMP_MIN], now);
    if (a->tmax_ok)
        bl_record_set(rec, BL_F_TEMP_MAX, a->tmax, a->dec[BL_F_TEMP_MAX], now);
    if (a->cycles_ok)
        bl_record_set(rec, BL_F_CYCLE_COUNT, a->cycles, 0, now);
    bl_record_set(rec, BL_F_MODULE_COUNT, (int32_t)a->n, 0, now);
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        if (a->known[c] == 0)
            continue;
        rec->active[c] = (bl_alarm_mask_t)((rec->active[c] & ~a->known[c]) | a->active[c]);
        rec->known[c] |= a->known[c];
        rec->alarm_seen_ms[c] = now;
    }
}

void bl_rs_aggregate(const bl_record_t *packs, size_t n, uint64_t now_ms, bl_record_t *rec)
{
    agg_t a;
    agg_init(&a);
    for (size_t i = 0; i < n; i++)
        agg_take(&a, &packs[i]);
    if (n > 0)
        agg_put(&a, now_ms, rec);
}

/* Derived fields of one block: SOC from remaining / full capacity where the
 * dialect carries no SOC (Pylontech, PACE), and the capacity itself. */
static void derive(walk_t *w, bl_rs_decoded_t *d)
{
    const bl_pyl_dialect_t *dl = w->c->pyl;
    if (w->rec == NULL || dl == NULL || !dl->derive_soc || (w->set >> BL_F_SOC & 1u))
        return;
    if (!w->slot_ok[BL_SLOT_REMAIN] || !w->slot_ok[BL_SLOT_FULL] || w->slot[BL_SLOT_FULL] <= 0)
        return;
    int64_t soc = w->slot[BL_SLOT_REMAIN] * 100000 / w->slot[BL_SLOT_FULL];
    if (soc < 0 || soc > 100000)
        return; /* remaining above full: no SOC rather than an impossible one */
    put_field(w, BL_F_SOC, (int32_t)soc, 1);
    if (d != NULL)
        d->derived |= (uint32_t)BL_BIT(BL_F_SOC);
}

/* Decode one block into the staging record (NULL: check only); a reject cause. A full stage
 * is cleared first (its copy goes to the caller's packs, its fields to the aggregate); else
 * only its alarm masks are, and w->set says which fields hold values. */
static bl_rsr_t block(walk_t *w, const bl_rs_msg_t *m, bl_record_t *stage, bool full, bl_rs_decoded_t *d)
{
    bl_rsr_t why;
    if (stage != NULL && full) {
        bl_record_init(stage);
    } else if (stage != NULL) {
        memset(stage->known, 0, sizeof stage->known);
        memset(stage->active, 0, sizeof stage->active);
    }
    memset(w->counts, 0, sizeof w->counts);
    memset(w->slot_ok, 0, sizeof w->slot_ok);
    w->rec = stage;
    w->set = 0;
    why = walk(w, m->rsp, m->nrsp);
    if (why == BL_RSR_NONE)
        derive(w, d);
    return why;
}

/* What the caller is told about a committed stage: its fields and alarms. */
static void tell(const bl_record_t *stage, uint32_t set, bl_rs_decoded_t *d, uint32_t *fields)
{
    set &= (uint32_t)(BL_BIT(BL_F_BATTERY_COUNT) - 1u);
    if (fields != NULL)
        *fields = set;
    if (d == NULL)
        return;
    d->fields |= set;
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        d->known[c] |= stage->known[c];
        d->active[c] |= stage->active[c];
    }
}

/* bl_record_merge() of a stage whose valid fields are exactly those in set. */
static void commit(bl_record_t *rec, const bl_record_t *stage, uint32_t set, bl_rs_decoded_t *d, uint32_t *fields)
{
    for (uint32_t m = set; m != 0; m &= m - 1u) {
        unsigned i = (unsigned)__builtin_ctz(m);
        rec->f[i] = stage->f[i];
        if (i >= BL_F_MANUFACTURER && i <= BL_F_FIRMWARE)
            memcpy(rec->str[i - BL_F_MANUFACTURER], stage->str[i - BL_F_MANUFACTURER], BL_STR_MAX);
    }
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        bl_alarm_mask_t k = stage->known[c];
        rec->active[c] = (bl_alarm_mask_t)((rec->active[c] & ~k) | (stage->active[c] & k));
        rec->known[c] |= k;
        if (k)
            rec->alarm_seen_ms[c] = stage->alarm_seen_ms[c];
    }
    tell(stage, set, d, fields);
}

/* commit() of a stage that was cleared first: its valid fields are the ones it holds. */
static uint32_t commit_full(bl_record_t *rec, const bl_record_t *stage, bl_rs_decoded_t *d)
{
    uint32_t set = 0;
    for (unsigned i = 0; i < BL_F_COUNT; i++)
        if (stage->f[i].valid)
            set |= (uint32_t)BL_BIT(i);
    commit(rec, stage, set, d, NULL);
    return set;
}

/* Keep what a decode of pl[0..n) committed, when storing it again at another time is the
 * same as decoding again then: every value stamped now_ms. */
static void memo_keep(bl_rs_memo_t *mo, const bl_rs_msg_t *m, int group, const uint8_t *pl, size_t n,
                      const bl_record_t *stage, uint32_t set, uint64_t now_ms)
{
    if (mo == NULL)
        return;
    mo->ok = 0;
    if (n > sizeof mo->pl)
        return;
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        if (stage->known[c] && stage->alarm_seen_ms[c] != now_ms)
            return;
    memset(&mo->stage, 0, sizeof mo->stage);
    for (uint32_t b = set; b != 0; b &= b - 1u) {
        unsigned i = (unsigned)__builtin_ctz(b);
        if (stage->f[i].seen_ms != now_ms)
            return;
        mo->stage.f[i] = stage->f[i];
        if (i >= BL_F_MANUFACTURER && i <= BL_F_FIRMWARE)
            memcpy(mo->stage.str[i - BL_F_MANUFACTURER], stage->str[i - BL_F_MANUFACTURER], BL_STR_MAX);
    }
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        mo->stage.known[c] = stage->known[c];
        mo->stage.active[c] = stage->active[c];
    }
    mo->msg = m;
    mo->group = (int8_t)(group < 0 ? -1 : group > 0 ? 1 : 0);
    mo->n = (uint16_t)n;
    memcpy(mo->pl, pl, n);
    mo->set = set;
    mo->ok = 1;
}

/* commit() of the memo's stage, stamped now_ms. */
static void memo_replay(const bl_rs_memo_t *mo, uint64_t now_ms, bl_record_t *rec, uint32_t *fields)
{
    const bl_record_t *stage = &mo->stage;
    for (uint32_t b = mo->set; b != 0; b &= b - 1u) {
        unsigned i = (unsigned)__builtin_ctz(b);
        rec->f[i] = stage->f[i];
        rec->f[i].seen_ms = now_ms;
        if (i >= BL_F_MANUFACTURER && i <= BL_F_FIRMWARE)
            memcpy(rec->str[i - BL_F_MANUFACTURER], stage->str[i - BL_F_MANUFACTURER], BL_STR_MAX);
    }
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        bl_alarm_mask_t k = stage->known[c];
        rec->active[c] = (bl_alarm_mask_t)((rec->active[c] & ~k) | (stage->active[c] & k));
        rec->known[c] |= k;
        if (k)
            rec->alarm_seen_ms[c] = now_ms;
    }
    if (fields != NULL)
        *fields = mo->set & (uint32_t)(BL_BIT(BL_F_BATTERY_COUNT) - 1u);
}

static void reset_vals(bl_rs_decoded_t *d, uint16_t nvals, uint16_t narr)
{
    if (d != NULL) {
        d->nvals = nvals;
        d->narr = narr;
        d->vals_full = false;
    }
}

/* Try the payload as count blocks after the header; exact fit or tolerated trailing.
 * a == NULL: one block, nothing aggregated (the stage is not cleared, see block()). */
static bl_rsr_t try_blocks(walk_t *w, const bl_rs_msg_t *m, size_t count, bl_record_t *stage, bl_record_t *packs,
                           size_t max_packs, agg_t *a, bl_rs_decoded_t *d)
{
    for (size_t k = 0; k < count; k++) {
        bl_rsr_t why;
        w->pack = (uint8_t)k;
        why = block(w, m, stage, a != NULL, d);
        if (why != BL_RSR_NONE)
            return why;
        if (stage == NULL || a == NULL)
            continue;
        agg_take(a, stage);
        if (packs != NULL && k < max_packs)
            packs[k] = *stage;
    }
    return BL_RSR_NONE;
}

static bool fits(const walk_t *w, const bl_rs_msg_t *m)
{
    if (w->pos == w->n)
        return true;
    /* a live Pylontech stack sent one extra 0x00 after 0x44's status 5 (§6.2) */
    return (m->flags & BL_RMF_TRAILING) && w->n - w->pos <= 2;
}

/* bl_rs_decode(); rec == NULL checks the layout only (stores nothing, whatever d, packs);
 * *fields (may be NULL) = BL_BIT(field) of the fields stored into rec. */
static int decode(const bl_rs485_codec_t *c, const bl_rs_msg_t *m, const uint8_t *pl, size_t n, int group,
                  uint64_t now_ms, bl_record_t *rec, bl_record_t *packs, size_t max_packs, bl_rs_decoded_t *d,
                  uint32_t *fields, bl_rs_memo_t *mo)
{
    walk_t w;
    bl_record_t stage; /* not cleared: only the fields a block sets (w.set) are read back */
    /* cppcheck-suppress uninitvar */
    bl_record_t *st = rec != NULL ? &stage : NULL;
    agg_t a;
    size_t hdr = 0;
    bl_rsr_t why;

    if (fields != NULL)
        *fields = 0;
    if (d != NULL)
        memset(d, 0, offsetof(bl_rs_decoded_t, vals));
    memset(&w, 0, sizeof w);
    w.c = c;
    w.pl = pl;
    w.n = n;
    w.now = now_ms;
    w.d = d;
    if (d != NULL)
        d->msg = m;
    if (m->rsp == NULL || m->nrsp == 0) {
        if (n == 0)
            return 0;
        if (d != NULL) {
            d->why = BL_RSR_LAYOUT; /* a payload where the command has none */
            d->at = 0;
        }
        return BL_EBADMSG;
    }
    if (m->flags & BL_RMF_FLAG_CMD) {
        if (n < 2) {
            if (d != NULL)
                d->why = BL_RSR_LAYOUT, d->at = (uint16_t)n;
            return BL_EBADMSG;
        }
        hdr = 2;
        if (d != NULL)
            d->flag = pl[0], d->cmd = pl[1];
    } else if (m->flags & BL_RMF_CMD) {
        if (n < 1) {
            if (d != NULL)
                d->why = BL_RSR_LAYOUT, d->at = 0;
            return BL_EBADMSG;
        }
        hdr = 1;
        if (d != NULL)
            d->cmd = pl[0];
    }

    /* one block that fills the payload */
    if (group <= 0) {
        w.pos = hdr;
        why = try_blocks(&w, m, 1, st, NULL, 0, NULL, d);
        if (why == BL_RSR_NONE && fits(&w, m)) {
            if (rec != NULL) {
                commit(rec, &stage, w.set, d, fields);
                memo_keep(mo, m, group, pl, n, &stage, w.set, now_ms);
            }
            if (d != NULL)
                d->npacks = 1;
            return 0;
        }
        if (group == 0 || !(m->flags & BL_RMF_GROUP) || pl[1] < 1 || pl[1] > BL_RS_MAX_PACKS) {
            if (d != NULL) {
                d->why = why != BL_RSR_NONE ? why : BL_RSR_LAYOUT;
                d->at = (uint16_t)w.pos;
            }
            return BL_EBADMSG;
        }
        reset_vals(d, 0, 0);
    }

    /* a group reply: the command byte is the pack count (§4) */
    if (!(m->flags & BL_RMF_GROUP) || hdr == 0 || pl[1] < 1 || pl[1] > BL_RS_MAX_PACKS) {
        if (d != NULL)
            d->why = BL_RSR_LAYOUT, d->at = 1;
        return BL_EBADMSG;
    }
    agg_init(&a);
    w.pos = hdr;
    why = try_blocks(&w, m, pl[1], st, packs, max_packs, &a, d);
    if (why != BL_RSR_NONE || !fits(&w, m)) {
        if (d != NULL) {
            d->why = why != BL_RSR_NONE ? why : BL_RSR_LAYOUT;
            d->at = (uint16_t)w.pos;
        }
        return BL_EBADMSG;
    }
    if (rec == NULL)
        return 0;
    /* the aggregate, through a staging record: all or nothing */
    bl_record_init(&stage);
    agg_put(&a, now_ms, &stage);
    memo_keep(mo, m, group, pl, n, &stage, commit_full(rec, &stage, d), now_ms);
    if (fields != NULL)
        for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
            if (stage.f[i].valid)
                *fields |= (uint32_t)BL_BIT(i);
    if (d != NULL) {
        d->npacks = pl[1];
        d->group = true;
    }
    return 0;
}

int bl_rs_decode(const bl_rs485_codec_t *c, const bl_rs_msg_t *m, const uint8_t *pl, size_t n, int group,
                 uint64_t now_ms, bl_record_t *rec, bl_record_t *packs, size_t max_packs, bl_rs_decoded_t *d)
{
    return decode(c, m, pl, n, group, now_ms, rec, packs, max_packs, d, NULL, NULL);
}

int bl_rs_decode_rec(const bl_rs485_codec_t *c, const bl_rs_msg_t *m, const uint8_t *pl, size_t n, int group,
                     uint64_t now_ms, bl_record_t *rec, uint32_t *fields)
{
    return decode(c, m, pl, n, group, now_ms, rec, NULL, 0, NULL, fields, NULL);
}

/* The memo for command m (inferred or asked): its own, else a free one, else one by its id. */
bl_rs_memo_t *bl_rs_memo_slot(bl_rs_memo_t *memo, size_t nmemo, const bl_rs_msg_t *m, bool inferred)
{
    bl_rs_memo_t *free_one = NULL;
    if (memo == NULL || nmemo == 0)
        return NULL;
    for (size_t i = 0; i < nmemo; i++) {
        if (memo[i].ok && memo[i].msg == m && memo[i].inferred == inferred)
            return &memo[i];
        if (!memo[i].ok && free_one == NULL)
            free_one = &memo[i];
    }
    if (free_one == NULL)
        free_one = &memo[m->id % nmemo];
    free_one->ok = 0;
    free_one->inferred = inferred;
    return free_one;
}

int bl_rs_decode_memo(const bl_rs485_codec_t *c, const bl_rs_msg_t *m, const uint8_t *pl, size_t n, int group,
                      uint64_t now_ms, bl_record_t *rec, uint32_t *fields, bl_rs_memo_t *memo, size_t nmemo)
{
    bl_rs_memo_t *mo = bl_rs_memo_slot(memo, nmemo, m, false);
    int8_t g = (int8_t)(group < 0 ? -1 : group > 0 ? 1 : 0);
    if (mo != NULL && mo->ok && mo->group == g && mo->n == n && memcmp(mo->pl, pl, n) == 0) {
        memo_replay(mo, now_ms, rec, fields);
        return 0;
    }
    return decode(c, m, pl, n, group, now_ms, rec, NULL, 0, NULL, fields, mo);
}

/* An inferred answer: the memo that holds these bytes, or NULL. */
const bl_rs_memo_t *bl_rs_memo_find(const bl_rs_memo_t *memo, size_t nmemo, const uint8_t *pl, size_t n)
{
    for (size_t i = 0; memo != NULL && i < nmemo; i++)
        if (memo[i].ok && memo[i].inferred && memo[i].n == n && memcmp(memo[i].pl, pl, n) == 0)
            return &memo[i];
    return NULL;
}

void bl_rs_memo_replay(const bl_rs_memo_t *mo, uint64_t now_ms, bl_record_t *rec, uint32_t *fields)
{
    memo_replay(mo, now_ms, rec, fields);
}

int bl_rs_decode_into(const bl_rs485_codec_t *c, const bl_rs_msg_t *m, const uint8_t *pl, size_t n,
                      uint64_t now_ms, bl_record_t *rec, uint32_t *fields, bl_rs_memo_t *mo)
{
    return decode(c, m, pl, n, -1, now_ms, rec, NULL, 0, NULL, fields, mo);
}

bool bl_rs_fits(const bl_rs485_codec_t *c, const bl_rs_msg_t *m, const uint8_t *pl, size_t n)
{
    return decode(c, m, pl, n, -1, 0, NULL, NULL, 0, NULL, NULL, NULL) == 0;
}

/* ---- encode (the battery role) ---------------------------------------------- */

typedef struct {
    const bl_protocol_t *p;
    const bl_record_t *rec;
    uint64_t now, stale;
    uint8_t *out;
    size_t cap, pos;
    uint8_t counts[BL_SLOT_COUNT];
    int64_t slot[BL_SLOT_COUNT];
    bool slot_ok[BL_SLOT_COUNT];
    bl_rs_encoded_t *res;
} enc_t;

static bool is_limit(unsigned f)
{
    return f == BL_F_CVL || f == BL_F_CCL || f == BL_F_DCL || f == BL_F_DVL;
}

bool bl_rs_limits_stale(const bl_record_t *rec, uint64_t now_ms, uint64_t stale_ms)
{
    return !bl_field_fresh(&rec->f[BL_F_CVL], now_ms, stale_ms) ||
           !bl_field_fresh(&rec->f[BL_F_CCL], now_ms, stale_ms) ||
           !bl_field_fresh(&rec->f[BL_F_DCL], now_ms, stale_ms);
}

/* Field value in milli-units (counts scaled up), or false: substituted. */
static bool get(enc_t *e, unsigned f, int64_t *v)
{
    const bl_field_info_t *fi = bl_field_info(f);
    if (fi == NULL || f >= BL_F_BATTERY_COUNT)
        return false;
    if (!bl_field_fresh(&e->rec->f[f], e->now, e->stale)) {
        const bl_field_t *x = &e->rec->f[f];
        e->res->substituted |= (uint32_t)BL_BIT(f);
        /* telemetry that was there and went old is stale data (the dialect's error code); a field
         * the record never had (a translation from a protocol that does not carry it) is sent
         * as its safe value, or no reply could ever be built from such a source */
        if (!is_limit(f) && fi->kind != BL_FK_BOOL && fi->kind != BL_FK_STR && (x->valid || x->seen_ms != 0))
            e->res->stale_data = true;
        return false;
    }
    *v = e->rec->f[f].value;
    if (fi->kind == BL_FK_INT)
        *v *= 1000;
    return true;
}

/* milli -> raw for sig; out of the wire's range: the "not available" marker where the
 * signal has one (Pylon sends 0xFFFF mAh above 65 Ah), else the nearest value. */
static uint64_t to_raw(enc_t *e, const bl_signal_t *s, int64_t milli, unsigned field)
{
    int64_t r;
    if (bl_sig_has_range(s) && (milli < s->min || milli > s->max)) {
        milli = milli < s->min ? s->min : s->max;
        if (field < BL_F_BATTERY_COUNT)
            e->res->clamped |= (uint32_t)BL_BIT(field);
    }
    if (bl_sig_raw_for(s, milli, &r) < 0) {
        if (s->flags & BL_SF_INVALID)
            return bl_sig_invalid_marker(s);
        if (field < BL_F_BATTERY_COUNT)
            e->res->clamped |= (uint32_t)BL_BIT(field);
    }
    return (uint64_t)r;
}

static inline void be_write(uint8_t *p, size_t nb, uint64_t raw)
{
    for (size_t i = nb; i-- > 0; raw >>= 8)
        p[i] = (uint8_t)raw;
}

static bool put_raw(enc_t *e, const bl_signal_t *s, size_t at, size_t room, uint64_t raw)
{
    uint8_t *p = e->out + at;
    size_t nb = be_bytes(s);
    /* the whole-byte big-endian field and the bits of one byte, as raw_at() reads them */
    if (nb != 0) {
        if (nb > room)
            return false;
        be_write(p, nb, raw);
        return true;
    }
    if (s->order == BL_LE && s->len != 0 && (unsigned)s->start + s->len <= 8u && room >= 1) {
        unsigned m = (unsigned)bl_sig_len_mask(s->len) << s->start;
        p[0] = (uint8_t)((p[0] & ~m) | (((unsigned)raw << s->start) & m));
        return true;
    }
    return bl_sig_raw_put(s, p, room, raw) == 0;
}

static bool alarm_raised(const enc_t *e, unsigned cls, bl_alarm_mask_t m)
{
    if (e->rec->active[cls] & m)
        return true;
    if (!e->res->safe_state)
        return false;
    for (const bl_protocol_t *q = e->p; q != NULL; q = q->base)
        if (q->safe[cls] & m)
            return true;
    return false;
}

static void put_text(enc_t *e, const bl_signal_t *s, size_t n)
{
    const char *t = s->text;
    const char *fs = bl_record_str(e->rec, s->field);
    uint8_t pad = (s->flags & BL_SF_PAD_NUL) ? 0 : ' ';
    size_t tl;
    if (fs != NULL && e->rec->f[s->field].valid)
        t = fs;
    if (s->kind == BL_SK_VERSION) {
        /* "a.b.c" -> bytes a, b, c (hex digits with BL_SF_HEXVER) */
        unsigned base = (s->flags & BL_SF_HEXVER) ? 16u : 10u, v = 0;
        size_t k = 0;
        bool any = false;
        memset(e->out + e->pos, 0, n);
        for (const char *q = t ? t : ""; k < n; q++) {
            unsigned dig = 99;
            if (*q >= '0' && *q <= '9')
                dig = (unsigned)(*q - '0');
            else if (base == 16 && *q >= 'A' && *q <= 'F')
                dig = (unsigned)(*q - 'A' + 10);
            if (dig < base) {
                v = v * base + dig;
                any = true;
                continue;
            }
            if (any)
                e->out[e->pos + k++] = (uint8_t)v;
            v = 0;
            any = false;
            if (*q == '\0')
                break;
        }
        return;
    }
    tl = t != NULL ? strlen(t) : 0;
    for (size_t i = 0; i < n; i++)
        e->out[e->pos + i] = i < tl ? (uint8_t)t[i] : pad;
}

static void enc_field(enc_t *e, const bl_rs_item_t *it)
{
    const bl_signal_t *s = &it->sig;
    size_t room = e->cap - e->pos;
    int64_t v = 0;
    uint64_t raw;

    switch (s->kind) {
    case BL_SK_ASCII:
    case BL_SK_VERSION:
        put_text(e, s, it->size);
        return;
    case BL_SK_ALARM:
        raw = alarm_raised(e, s->aclass, alarm_mask(s)) ? 1u : 0u;
        break;
    case BL_SK_BOOL: {
        bool on = get(e, s->field, &v) && v != 0;
        /* the safe state stops charge and discharge, and asks for nothing */
        if (e->res->safe_state)
            on = false;
        if (s->flags & BL_SF_INVERT)
            on = !on;
        raw = (s->flags & BL_SF_MATCH) ? (on ? (uint64_t)(uint32_t)s->def : 0u) : (on ? 1u : 0u);
        break;
    }
    default:
        if (s->field < BL_F_BATTERY_COUNT) {
            if (!get(e, s->field, &v))
                v = 0; /* safe value: 0 A limits; stale telemetry is flagged in res */
            raw = to_raw(e, s, v, s->field);
        } else if (it->slot != BL_SLOT_NONE && it->slot < BL_SLOT_COUNT) {
            raw = e->slot_ok[it->slot] ? to_raw(e, s, e->slot[it->slot], BL_F_NONE)
                                       : ((s->flags & BL_SF_INVALID) ? bl_sig_invalid_marker(s) : 0u);
        } else {
            /* a constant; 0 leaves the bytes alone (the bit rows before a status
             * byte's raw row have written it) */
            if (s->def == 0)
                return;
            raw = (uint64_t)(int64_t)s->def;
        }
        break;
    }
    (void)put_raw(e, s, e->pos, room, raw);
}

/* What the cells of a record that carries only the extremes are made of (read once per
 * array: the same fields every cell reads, marked substituted or derived the same way). */
typedef struct {
    int64_t vmin, vmax, vpack;
    bool hmin, hmax, hp;
} cells_t;

static void cells_get(enc_t *e, cells_t *c)
{
    c->vmin = c->vmax = c->vpack = 0;
    c->hmin = get(e, BL_F_CELL_V_MIN, &c->vmin);
    c->hmax = get(e, BL_F_CELL_V_MAX, &c->vmax);
    c->hp = get(e, BL_F_VOLTAGE, &c->vpack);
    e->res->derived |= (uint32_t)BL_BIT(BL_F_CELL_V_MIN);
}

/* Cell voltages of a record that carries only the extremes: the first cell at the
 * minimum, the second at the maximum, the others equal so that all add up to the
 * pack voltage (kept between the extremes). */
static int64_t cell_of(const cells_t *x, size_t i, size_t k)
{
    int64_t rest;
    if (!x->hp && !(x->hmin && x->hmax))
        return 0;
    if (!x->hmin || !x->hmax) {
        int64_t c = x->vpack / (int64_t)k;
        return c;
    }
    if (i == 0 || k == 1)
        return x->vmin;
    if (i == 1)
        return x->vmax;
    if (!x->hp)
        return (x->vmin + x->vmax) / 2;
    rest = x->vpack - x->vmin - x->vmax;
    /* spread the remainder so that the sum is exact where the extremes allow it */
    int64_t each = rest / (int64_t)(k - 2), extra = rest - each * (int64_t)(k - 2);
    int64_t c = each + ((int64_t)(i - 2) < extra ? 1 : 0);
    return c < x->vmin ? x->vmin : c > x->vmax ? x->vmax : c;
}

static int64_t cell_value(enc_t *e, size_t i, size_t k)
{
    cells_t x;
    cells_get(e, &x);
    return cell_of(&x, i, k);
}

int32_t bl_rs_cell_value(const bl_record_t *rec, unsigned i, unsigned k, uint64_t now_ms, uint64_t stale_ms)
{
    bl_rs_encoded_t res;
    enc_t e;
    memset(&e, 0, sizeof e);
    memset(&res, 0, sizeof res);
    e.rec = rec;
    e.now = now_ms;
    e.stale = stale_ms;
    e.res = &res;
    return (int32_t)cell_value(&e, i, k ? k : 1);
}

static int64_t temp_value(enc_t *e, const bl_rs_item_t *it, size_t i, size_t k)
{
    int64_t t = 0, x;
    bool ht = get(e, BL_F_TEMP, &t);
    size_t hi = k > it->agg_back ? k - it->agg_back : 0;
    e->res->derived |= (uint32_t)BL_BIT(BL_F_TEMP);
    if (i == it->agg_lo && i < hi && get(e, BL_F_TEMP_MIN, &x))
        return x;
    if (i == (size_t)it->agg_lo + 1u && i < hi && get(e, BL_F_TEMP_MAX, &x))
        return x;
    if (!ht && get(e, BL_F_TEMP_MAX, &x))
        return x;
    return t;
}

static int64_t state_value(const enc_t *e, const bl_rs_item_t *it)
{
    bl_alarm_mask_t lo = alarm_mask(&it->sig);
    bl_alarm_mask_t hi = (bl_alarm_mask_t)((it->alarm_hi < BL_A_COUNT ? 1U << it->alarm_hi : 0U) | it->also_hi);
    if (alarm_raised(e, it->sig.aclass, hi))
        return 2000;
    if (alarm_raised(e, it->sig.aclass, lo))
        return 1000;
    return 0;
}

static void enc_array(enc_t *e, const bl_rs_item_t *it, size_t k)
{
    cells_t cells;
    size_t nb = be_bytes(&it->sig); /* decided once for every element */
    int64_t state = 0, last = 0;
    uint64_t raw = 0;
    if (it->agg == BL_AGG_CELLS && k > 0)
        cells_get(e, &cells);
    if (it->agg == BL_AGG_STATES && k > 0)
        state = state_value(e, it); /* one code for every element */
    for (size_t i = 0; i < k; i++) {
        int64_t v;
        switch (it->agg) {
        case BL_AGG_CELLS: v = cell_of(&cells, i, k); break;
        case BL_AGG_TEMPS: v = temp_value(e, it, i, k); break;
        case BL_AGG_STATES: v = state; break;
        default: v = it->sig.def; break;
        }
        /* an element is no record field: its raw value depends on v alone */
        if (i == 0 || v != last)
            raw = to_raw(e, &it->sig, v, BL_F_NONE);
        last = v;
        if (nb != 0 && nb <= it->size)
            be_write(e->out + e->pos + i * it->size, nb, raw);
        else
            (void)put_raw(e, &it->sig, e->pos + i * it->size, it->size, raw);
    }
}

static size_t text_len(const enc_t *e, const bl_signal_t *s)
{
    const char *fs = bl_record_str(e->rec, s->field);
    if (fs != NULL && e->rec->f[s->field].valid)
        return strlen(fs);
    return s->text != NULL ? strlen(s->text) : 0;
}

static uint8_t count_value(enc_t *e, const bl_rs_item_t *it)
{
    int64_t v;
    if (it->slot == BL_SLOT_M)
        return (uint8_t)bl_rs_cell_count(e->rec);
    if (it->sig.field < BL_F_BATTERY_COUNT && get(e, it->sig.field, &v)) {
        v /= 1000;
        return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    return (uint8_t)it->sig.def;
}

/* The inverse of convert(): what a JK item carries for a record value. */
static void enc_conv(enc_t *e, const bl_rs_item_t *it)
{
    int64_t v = 0, raw;
    if (!get(e, it->sig.field, &v))
        v = 0;
    if (it->conv == BL_CONV_JK_TEMP) {
        int64_t t = (v >= 0 ? v + 500 : v - 500) / 1000;
        raw = t >= 0 ? t : 100 - t;
    } else { /* BL_CONV_JK_CURRENT, sent with item 0xC0 = 1: bit 15 = charging */
        int64_t u = (v >= 0 ? v : -v) / 10;
        raw = (u > 0x7FFF ? 0x7FFF : u) | (v >= 0 ? 0x8000 : 0);
    }
    (void)put_raw(e, &it->sig, e->pos, e->cap - e->pos, (uint64_t)raw);
}

/* "id, value" items in table order (JK 4E57 read-all answer). */
static int enc_items(enc_t *e, const bl_rs_item_t *rows, unsigned n)
{
    for (unsigned j = 0; j < n;) {
        uint8_t id = rows[j].id;
        unsigned k = j;
        while (k < n && rows[k].id == id)
            k++;
        if (e->pos + 2 > e->cap)
            return BL_ENOSPC;
        e->out[e->pos++] = id;
        if (rows[j].op == BL_RI_ARRAY) {
            const bl_rs_item_t *it = &rows[j];
            unsigned cells = bl_rs_cell_count(e->rec);
            if (e->pos + 1 + (size_t)cells * it->size > e->cap)
                return BL_ENOSPC;
            e->out[e->pos++] = (uint8_t)(cells * it->size);
            cells_t x;
            if (cells > 0)
                cells_get(e, &x);
            for (unsigned c = 0; c < cells; c++, e->pos += it->size) {
                if (it->conv == BL_CONV_CELL_NO)
                    e->out[e->pos] = (uint8_t)(c + 1u);
                (void)put_raw(e, &it->sig, e->pos, it->size, to_raw(e, &it->sig, cell_of(&x, c, cells), BL_F_NONE));
            }
            j = k;
            continue;
        }
        for (; j < k; j++) {
            if (e->pos + rows[j].size > e->cap)
                return BL_ENOSPC;
            if (rows[j].conv == BL_CONV_JK_TEMP || rows[j].conv == BL_CONV_JK_CURRENT)
                enc_conv(e, &rows[j]);
            else
                enc_field(e, &rows[j]);
            e->pos += rows[j].size;
        }
    }
    return 0;
}

unsigned bl_rs_cell_count(const bl_record_t *rec)
{
    const bl_field_t *v = &rec->f[BL_F_VOLTAGE], *lo = &rec->f[BL_F_CELL_V_MIN], *hi = &rec->f[BL_F_CELL_V_MAX];
    /* the pack voltage over the mean cell voltage; without cell extremes, 3.3 V per
     * LFP cell at rest (52.8 V -> 16, 26.4 V -> 8) */
    int32_t cell = (lo->valid && hi->valid && lo->value > 0 && hi->value > 0) ? (lo->value + hi->value) / 2 : 3300;
    int32_t n = v->valid ? (v->value + cell / 2) / cell : 16;
    return (unsigned)(n < 1 ? 1 : n > 32 ? 32 : n);
}

int bl_rs_encode(const bl_protocol_t *p, const bl_rs_msg_t *m, uint8_t cmd, const bl_record_t *rec,
                 uint64_t now_ms, uint64_t stale_ms, uint8_t *out, size_t cap, bl_rs_encoded_t *res)
{
    bl_rs_encoded_t local;
    enc_t e;

    if (res == NULL)
        res = &local;
    memset(res, 0, sizeof *res);
    if (m->rsp == NULL)
        return BL_ENOTSUP;
    memset(&e, 0, sizeof e);
    e.p = p;
    e.rec = rec;
    e.now = now_ms;
    e.stale = stale_ms;
    e.out = out;
    e.cap = cap;
    e.res = res;
    memset(out, 0, cap);
    res->safe_state = bl_rs_limits_stale(rec, now_ms, stale_ms);
    /* the capacity slots feed rows that use them; a message without such rows must not be
     * called stale (or substituted) for a capacity it does not carry, so no get() here */
    if (bl_field_fresh(&rec->f[BL_F_CAPACITY], now_ms, stale_ms)) {
        int64_t full = rec->f[BL_F_CAPACITY].value;
        e.slot[BL_SLOT_FULL] = full;
        e.slot_ok[BL_SLOT_FULL] = true;
        if (bl_field_fresh(&rec->f[BL_F_SOC], now_ms, stale_ms)) {
            e.slot[BL_SLOT_REMAIN] = full * rec->f[BL_F_SOC].value / 100000;
            e.slot_ok[BL_SLOT_REMAIN] = true;
        }
    }
    if (m->flags & BL_RMF_FLAG_CMD) {
        if (cap < 2)
            return BL_ENOSPC;
        out[0] = 0x00; /* INFOFLAG: no unread alarm or switch change */
        out[1] = cmd;
        e.pos = 2;
    } else if (m->flags & BL_RMF_CMD) {
        if (cap < 1)
            return BL_ENOSPC;
        out[0] = cmd;
        e.pos = 1;
    }
    for (unsigned i = 0; i < m->nrsp; i++) {
        const bl_rs_item_t *it = &m->rsp[i];
        switch (it->op) {
        case BL_RI_FIELD:
            if (it->size == 0 && it->sig.kind == BL_SK_ASCII) {
                /* text to the end of the payload: as long as the text */
                size_t tl = text_len(&e, &it->sig);
                if (e.pos + tl > cap)
                    return BL_ENOSPC;
                put_text(&e, &it->sig, tl);
                e.pos += tl;
                break;
            }
            if (e.pos + it->size > cap || (it->size == 0 && e.pos + 1 > cap))
                return BL_ENOSPC;
            enc_field(&e, it);
            e.pos += it->size;
            break;
        case BL_RI_COUNT:
            if (e.pos + 1 > cap)
                return BL_ENOSPC;
            e.counts[it->slot] = count_value(&e, it);
            if (it->slot == BL_SLOT_M)
                res->derived |= (uint32_t)BL_BIT(BL_F_CELL_V_MIN);
            out[e.pos++] = e.counts[it->slot];
            break;
        case BL_RI_ARRAY: {
            int cnt = (int)e.counts[it->slot] + it->adjust;
            size_t k = cnt > 0 ? (size_t)cnt : 0;
            if (it->adjust == BL_ADJ_FILL)
                k = bl_rs_cell_count(rec);
            if (e.pos + k * it->size > cap)
                return BL_ENOSPC;
            memset(out + e.pos, 0, k * it->size);
            if (it->sig.kind == BL_SK_ASCII) {
                for (size_t j = 0; j < k; j++, e.pos += it->size)
                    put_text(&e, &it->sig, it->size);
                break;
            }
            enc_array(&e, it, k);
            e.pos += k * it->size;
            break;
        }
        case BL_RI_IF:
            if (e.counts[it->slot] < it->sig.def)
                i += it->size;
            break;
        case BL_RI_ITEMS: {
            int rc = enc_items(&e, m->rsp + i + 1, m->nrsp - i - 1u);
            if (rc < 0)
                return rc;
            return (int)e.pos;
        }
        default: /* OPTIONAL, REST: nothing more to send */
            break;
        }
    }
    return (int)e.pos;
}

/* ---- capabilities --------------------------------------------------------- */

static void cap_field(bl_caps_t *caps, unsigned f, const bl_signal_t *s)
{
    int32_t step = 1;
    if (f >= BL_F_BATTERY_COUNT)
        return;
    caps->fields |= (uint32_t)BL_BIT(f);
    if (s != NULL && s->kind == BL_SK_NUM) {
        int32_t d = s->div > 0 ? s->div : 1;
        step = (s->mul < 0 ? -s->mul : s->mul) / d;
        if (step < 1)
            step = 1;
    }
    if (caps->step[f] == 0 || step < caps->step[f])
        caps->step[f] = step;
}

static void cap_sig(bl_caps_t *caps, const bl_signal_t *s)
{
    if (s->kind == BL_SK_ALARM || s->kind == BL_SK_PAIR) {
        bl_alarm_mask_t am = alarm_mask(s);
        caps->alarms[s->aclass] |= am;
        if (s->also)
            caps->shared[s->aclass] |= am;
        return;
    }
    if (s->field < BL_F_BATTERY_COUNT)
        cap_field(caps, s->field, s);
}

static void cap_rows(bl_caps_t *caps, const bl_rs_item_t *rows, unsigned n, bool *remain, bool *full)
{
    for (unsigned i = 0; i < n; i++) {
        const bl_rs_item_t *it = &rows[i];
        if (it->slot == BL_SLOT_REMAIN)
            *remain = true;
        if (it->slot == BL_SLOT_FULL)
            *full = true;
        if (it->op == BL_RI_FIELD) {
            cap_sig(caps, &it->sig);
        } else if (it->op == BL_RI_ARRAY && it->agg == BL_AGG_CELLS) {
            cap_field(caps, BL_F_CELL_V_MIN, &it->sig);
            cap_field(caps, BL_F_CELL_V_MAX, &it->sig);
        } else if (it->op == BL_RI_ARRAY && it->agg == BL_AGG_TEMPS) {
            cap_field(caps, BL_F_TEMP, &it->sig);
            cap_field(caps, BL_F_TEMP_MIN, &it->sig);
            cap_field(caps, BL_F_TEMP_MAX, &it->sig);
        } else if (it->op == BL_RI_ARRAY && it->agg == BL_AGG_STATES) {
            bl_alarm_mask_t lo = alarm_mask(&it->sig);
            bl_alarm_mask_t hi = (bl_alarm_mask_t)((it->alarm_hi < BL_A_COUNT ? 1U << it->alarm_hi : 0U) | it->also_hi);
            caps->alarms[it->sig.aclass] |= (bl_alarm_mask_t)(lo | hi | (1U << BL_A_INTERNAL));
            if (it->sig.also || it->also_hi)
                caps->shared[it->sig.aclass] |= (bl_alarm_mask_t)(lo | hi);
        }
    }
}

void bl_rs_caps(const bl_protocol_t *p, bl_caps_t *caps)
{
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    bool remain = false, full = false;

    memset(caps, 0, sizeof *caps);
    if (c == NULL)
        return;
    for (unsigned j = 0; j < c->nmsgs; j++) {
        const bl_rs_msg_t *m = &c->msgs[j];
        if (m->rsp != NULL)
            cap_rows(caps, m->rsp, m->nrsp, &remain, &full);
        if (m->flags & BL_RMF_GROUP)
            cap_field(caps, BL_F_MODULE_COUNT, NULL);
    }
    if (c->pyl != NULL && c->pyl->derive_soc && remain && full)
        cap_field(caps, BL_F_SOC, NULL);
    if (c->map != NULL)
        for (unsigned i = 0; i < c->map->nregs; i++)
            if (!(c->map->regs[i].flags & BL_MBF_WRITE))
                cap_sig(caps, &c->map->regs[i].sig);
    /* an alarm with a bit of its own somewhere is not only shared */
    for (unsigned j = 0; j < c->nmsgs; j++)
        for (unsigned i = 0; c->msgs[j].rsp != NULL && i < c->msgs[j].nrsp; i++) {
            const bl_signal_t *s = &c->msgs[j].rsp[i].sig;
            if (c->msgs[j].rsp[i].op == BL_RI_FIELD && s->kind == BL_SK_ALARM && s->also == 0 && s->alarm < BL_A_COUNT)
                caps->shared[s->aclass] &= (bl_alarm_mask_t)~(1U << s->alarm);
        }
}

/* ---- Modbus register maps -------------------------------------------------- */

const char *bl_mb_table_str(unsigned t)
{
    static const char *const s[] = { "hr", "ir", "co", "di" };
    return t < BL_ARRAY_LEN(s) ? s[t] : "?";
}

uint8_t bl_mb_read_fc(unsigned t)
{
    static const uint8_t fc[] = { 3, 4, 1, 2 };
    return t < BL_ARRAY_LEN(fc) ? fc[t] : 3;
}

static bool bits_table(unsigned t)
{
    return t == BL_MB_CO || t == BL_MB_DI;
}

const bl_mb_reg_t *bl_mb_find(const bl_mb_map_t *map, unsigned table, uint16_t addr)
{
    unsigned step = map->addr_step ? map->addr_step : 1u;
    for (unsigned i = 0; i < map->nregs; i++) {
        const bl_mb_reg_t *r = &map->regs[i];
        if (r->table == table && addr >= r->addr && addr < (unsigned)r->addr + r->words * step &&
            (addr - r->addr) % step == 0)
            return r;
    }
    return NULL;
}

/* The row's value as big-endian bytes, words swapped back where the device sends
 * the low word first. */
static void row_bytes(const bl_mb_reg_t *r, const uint16_t *w, uint8_t *b)
{
    for (size_t i = 0; i < r->words; i++) {
        size_t k = (r->flags & BL_MBF_WORDSWAP) ? r->words - 1u - i : i;
        b[2 * i] = (uint8_t)(w[k] >> 8);
        b[2 * i + 1] = (uint8_t)w[k];
    }
}

static void mb_list(bl_rs_decoded_t *d, const bl_mb_reg_t *r, int64_t v, const uint8_t *text, size_t nb)
{
    bl_rs_val_t *x;
    if (d == NULL)
        return;
    if (d->nvals >= BL_RS_MAX_VALS) {
        d->vals_full = true;
        return;
    }
    x = &d->vals[d->nvals++];
    memset(x, 0, sizeof *x);
    x->sig = &r->sig;
    x->off = r->addr;
    x->v = v;
    if (text != NULL) {
        /* text bytes kept in arr[] (one per element) for the caller to print */
        x->n = (uint16_t)nb;
        x->arr = d->narr;
        for (size_t k = 0; k < nb && d->narr < BL_RS_MAX_ARR; k++)
            d->arr[d->narr++] = text[k];
    }
}

typedef struct {
    int64_t mn, mx, sum;
    unsigned n;
    uint8_t dec;
} ext_t;

static void ext_take(ext_t *x, int64_t v, uint8_t dec)
{
    if (x->n == 0 || v < x->mn)
        x->mn = v;
    if (x->n == 0 || v > x->mx)
        x->mx = v;
    x->sum += v;
    x->n++;
    x->dec = dec > x->dec ? dec : x->dec;
}

int bl_mb_decode(const bl_mb_map_t *map, const bl_mb_block_t *blk, const uint16_t *regs, size_t n,
                 uint64_t now_ms, bl_record_t *rec, bl_rs_decoded_t *d)
{
    unsigned step = map->addr_step ? map->addr_step : 1u;
    bl_record_t stage;
    walk_t w;
    ext_t cells, temps;

    if (d != NULL)
        memset(d, 0, offsetof(bl_rs_decoded_t, vals));
    memset(&w, 0, sizeof w);
    memset(&cells, 0, sizeof cells);
    memset(&temps, 0, sizeof temps);
    bl_record_init(&stage);
    w.rec = &stage;
    w.now = now_ms;
    w.d = d;
    for (unsigned i = 0; i < map->nregs; i++) {
        const bl_mb_reg_t *r = &map->regs[i];
        const bl_signal_t *s = &r->sig;
        uint8_t b[2 * 32];
        size_t idx, nb;
        int64_t v = 0;
        bool present;
        bl_rsr_t why;

        if (r->table != blk->table || r->addr < blk->start || (r->addr - blk->start) % step != 0)
            continue;
        idx = (r->addr - blk->start) / step;
        if (bits_table(r->table)) {
            if (idx >= n)
                continue;
            b[0] = regs[idx] ? 1 : 0;
            nb = 1;
        } else {
            if (idx + r->words > n || r->words > 32)
                continue;
            row_bytes(r, regs + idx, b);
            nb = (size_t)2 * r->words;
        }
        if (s->kind == BL_SK_ASCII || s->kind == BL_SK_VERSION) {
            if (s->field < BL_F_BATTERY_COUNT)
                store_text(&w, s, b, nb);
            mb_list(d, r, 0, b, nb);
            continue;
        }
        if ((r->flags & BL_MBF_ABSENT_7FFF) && nb == 2 && b[0] == 0x7F && b[1] == 0xFF) {
            mb_list(d, r, INT64_MIN, NULL, 0);
            continue;
        }
        why = scalar(s, b, nb, &v, &present);
        mb_list(d, r, present ? v : INT64_MIN, NULL, 0);
        if (why != BL_RSR_NONE) {
            if (d != NULL) {
                d->why = why;
                d->at = r->addr;
            }
            return BL_EBADMSG;
        }
        if (!present)
            continue;
        if (r->flags & BL_MBF_AGG_CELL)
            ext_take(&cells, v, bl_sig_dec(s));
        if (r->flags & BL_MBF_AGG_TEMP)
            ext_take(&temps, v, bl_sig_dec(s));
        if (s->kind == BL_SK_ALARM) {
            bl_alarm_mask_t am = alarm_mask(s);
            stage.known[s->aclass] |= am;
            if (v)
                stage.active[s->aclass] |= am;
            stage.alarm_seen_ms[s->aclass] = now_ms;
        } else if (s->kind == BL_SK_BOOL && s->field < BL_F_BATTERY_COUNT && stage.f[s->field].valid) {
            bl_record_set(&stage, s->field, (int32_t)(v || stage.f[s->field].value), 0, now_ms);
        } else {
            store_num(&w, s, v);
        }
    }
    if (cells.n) {
        bl_record_set(&stage, BL_F_CELL_V_MIN, (int32_t)cells.mn, cells.dec, now_ms);
        bl_record_set(&stage, BL_F_CELL_V_MAX, (int32_t)cells.mx, cells.dec, now_ms);
    }
    if (temps.n) {
        bl_record_set(&stage, BL_F_TEMP_MIN, (int32_t)temps.mn, temps.dec, now_ms);
        bl_record_set(&stage, BL_F_TEMP_MAX, (int32_t)temps.mx, temps.dec, now_ms);
        bl_record_set(&stage, BL_F_TEMP, mean(temps.sum, temps.n), temps.dec, now_ms);
    }
    commit_full(rec, &stage, d);
    return 0;
}

/* Is addr inside one of the map's poll blocks (a device answers those whole)? */
static bool in_block(const bl_mb_map_t *map, unsigned table, uint16_t addr)
{
    unsigned step = map->addr_step ? map->addr_step : 1u;
    for (unsigned i = 0; i < map->nblocks; i++) {
        const bl_mb_block_t *b = &map->blocks[i];
        if (b->table == table && addr >= b->start && addr < (unsigned)b->start + (unsigned)b->count * step)
            return true;
    }
    return false;
}

/* Position of row r among the map's rows with the same aggregate flag, and their number. */
static unsigned agg_index(const bl_mb_map_t *map, const bl_mb_reg_t *r, unsigned flag, unsigned *total)
{
    unsigned idx = 0, n = 0;
    for (unsigned i = 0; i < map->nregs; i++) {
        if (!(map->regs[i].flags & flag) || map->regs[i].table != r->table)
            continue;
        if (&map->regs[i] == r)
            idx = n;
        n++;
    }
    *total = n;
    return idx;
}

/* The bytes one row sends, big endian, words in the row's order on the wire. */
static void mb_row_encode(enc_t *e, const bl_mb_map_t *map, const bl_mb_reg_t *r, uint8_t *b, size_t nb)
{
    bl_rs_item_t it;
    unsigned total;

    memset(b, 0, nb);
    e->out = b;
    e->cap = nb;
    e->pos = 0;
    if (r->sig.kind == BL_SK_ASCII || r->sig.kind == BL_SK_VERSION) {
        put_text(e, &r->sig, nb);
        return;
    }
    memset(&it, 0, sizeof it);
    it.sig = r->sig;
    it.size = (uint8_t)nb;
    if (r->flags & (BL_MBF_AGG_CELL | BL_MBF_AGG_TEMP)) {
        bool cell = (r->flags & BL_MBF_AGG_CELL) != 0;
        unsigned idx = agg_index(map, r, cell ? BL_MBF_AGG_CELL : BL_MBF_AGG_TEMP, &total);
        unsigned k = cell ? bl_rs_cell_count(e->rec) : total;
        if (idx >= k) {
            /* a cell the pack does not have */
            uint64_t absent = (r->flags & BL_MBF_ABSENT_7FFF) ? 0x7FFFu : 0u;
            (void)put_raw(e, &r->sig, 0, nb, absent);
            return;
        }
        int64_t v = cell ? cell_value(e, idx, k) : temp_value(e, &it, idx, k);
        (void)put_raw(e, &r->sig, 0, nb, to_raw(e, &r->sig, v, BL_F_NONE));
        return;
    }
    if (r->flags & BL_MBF_REMAIN)
        it.slot = BL_SLOT_REMAIN;
    enc_field(e, &it);
}

int bl_mb_encode(const bl_protocol_t *p, const bl_mb_map_t *map, unsigned table, uint16_t start, uint16_t count,
                 const bl_record_t *rec, uint64_t now_ms, uint64_t stale_ms, uint16_t *regs, uint16_t *bad_addr,
                 bl_rs_encoded_t *res)
{
    unsigned step = map->addr_step ? map->addr_step : 1u;
    bl_rs_encoded_t local;
    enc_t e;

    if (res == NULL)
        res = &local;
    memset(res, 0, sizeof *res);
    memset(&e, 0, sizeof e);
    e.p = p;
    e.rec = rec;
    e.now = now_ms;
    e.stale = stale_ms;
    e.res = res;
    res->safe_state = bl_rs_limits_stale(rec, now_ms, stale_ms);
    {
        int64_t soc, full;
        if (get(&e, BL_F_CAPACITY, &full) && get(&e, BL_F_SOC, &soc)) {
            e.slot[BL_SLOT_REMAIN] = full * soc / 100000;
            e.slot_ok[BL_SLOT_REMAIN] = true;
        }
    }
    for (unsigned k = 0; k < count; k++) {
        uint32_t a = start + k * step;
        bool any = false;

        regs[k] = 0;
        /* every row covering this address adds its bits (a raw status register and its flag rows) */
        for (unsigned i = 0; a <= 0xFFFF && i < map->nregs; i++) {
            const bl_mb_reg_t *r = &map->regs[i];
            uint8_t b[2 * 32];
            size_t wi;
            if (r->table != table || a < r->addr || a >= (unsigned)r->addr + r->words * step ||
                (a - r->addr) % step != 0 || r->words > 32)
                continue;
            any = true;
            if (bits_table(table)) {
                mb_row_encode(&e, map, r, b, 1);
                regs[k] |= b[0] & 1u;
                continue;
            }
            mb_row_encode(&e, map, r, b, (size_t)2 * r->words);
            wi = (size_t)(a - r->addr) / step;
            if (r->flags & BL_MBF_WORDSWAP)
                wi = r->words - 1u - wi;
            regs[k] |= (uint16_t)(b[2 * wi] << 8 | b[2 * wi + 1]);
        }
        if (any || (a <= 0xFFFF && in_block(map, table, (uint16_t)a)))
            continue; /* a gap inside a block the device answers whole: reads 0 */
        if (bad_addr != NULL)
            *bad_addr = (uint16_t)a;
        return BL_ENOENT;
    }
    return 0;
}
