/* Capture line parsers: candump -L, candump default output, Vector ASC; the dispatch to
 * TRC and GVRET CSV (capture_trc.c, capture_gvret.c). */
#include "bmslink/capture.h"

#include <string.h>

#define CAN_ERR_FLAG 0x20000000u

typedef struct {
    const char *p, *start, *end;
} cur_t;

/* hex digit value, -1 for anything else (a table: this is the hot loop of every decode) */
static const int8_t hex_tab[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static int hexval(char ch)
{
    return hex_tab[(unsigned char)ch] - 1;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static void skip_ws(cur_t *c)
{
    while (c->p < c->end && is_space(*c->p))
        c->p++;
}

static bool at_end(const cur_t *c)
{
    return c->p >= c->end;
}

static size_t tok_len(const cur_t *c)
{
    const char *q = c->p;
    while (q < c->end && !is_space(*q))
        q++;
    return (size_t)(q - c->p);
}

static bool tok_is(const cur_t *c, const char *word)
{
    size_t n = strlen(word);
    return tok_len(c) == n && memcmp(c->p, word, n) == 0;
}

static int fail(bl_line_err_t *err, const cur_t *c, bl_reject_t why, const char *what)
{
    err->why = why;
    err->what = what;
    err->col = (uint16_t)((c->p > c->end ? c->end : c->p) - c->start + 1);
    return BL_EBADMSG;
}

/* seconds[.fraction] -> microseconds; false when no digits or more than 12 */
static bool parse_seconds(cur_t *c, uint64_t *us)
{
    const char *p = c->p, *e = c->end, *start = p;
    uint64_t s = 0, frac = 0;
    unsigned nf = 0;

    while (p < e && (unsigned)(*p - '0') < 10u)
        s = s * 10u + (uint64_t)(*p++ - '0');
    if (p == start || p - start > 12)
        return false;
    if (p < e && *p == '.') {
        p++;
        while (p < e && (unsigned)(*p - '0') < 10u) {
            if (nf < 6) {
                frac = frac * 10u + (uint64_t)(*p - '0');
                nf++;
            }
            p++;
        }
    }
    for (; nf < 6; nf++)
        frac *= 10u;
    c->p = p;
    *us = s * 1000000u + frac;
    return true;
}

int64_t bl_epoch_from_civil(int year, unsigned month, unsigned day, unsigned h, unsigned m, unsigned s)
{
    /* days from 1970-01-01 in the proleptic Gregorian calendar */
    int y = year - (month <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153u * (month > 2 ? month - 3u : month + 9u) + 2u) / 5u + day - 1u;
    unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
    int64_t days = (int64_t)era * 146097 + (int64_t)doe - 719468;
    return days * 86400 + (int64_t)h * 3600 + (int64_t)m * 60 + (int64_t)s;
}

static unsigned read_uint(cur_t *c, unsigned maxdig, unsigned *nd)
{
    unsigned v = 0;
    *nd = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && *nd < maxdig) {
        v = v * 10u + (unsigned)(*c->p++ - '0');
        (*nd)++;
    }
    return v;
}

/* "YYYY-MM-DD hh:mm:ss.uuuuuu" (candump -tA) -> epoch µs (UTC) */
static bool parse_datetime(cur_t *c, uint64_t *us)
{
    unsigned nd, y, mo, d, h, mi, s;
    uint64_t frac = 0;

    y = read_uint(c, 4, &nd);
    if (nd != 4 || at_end(c) || *c->p++ != '-')
        return false;
    mo = read_uint(c, 2, &nd);
    if (nd == 0 || at_end(c) || *c->p++ != '-')
        return false;
    d = read_uint(c, 2, &nd);
    if (nd == 0 || at_end(c) || *c->p++ != ' ')
        return false;
    h = read_uint(c, 2, &nd);
    if (nd == 0 || at_end(c) || *c->p++ != ':')
        return false;
    mi = read_uint(c, 2, &nd);
    if (nd == 0 || at_end(c) || *c->p++ != ':')
        return false;
    s = read_uint(c, 2, &nd);
    if (nd == 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return false;
    if (c->p < c->end && *c->p == '.') {
        unsigned nf = 0;
        c->p++;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (nf < 6) {
                frac = frac * 10u + (uint64_t)(*c->p - '0');
                nf++;
            }
            c->p++;
        }
        while (nf < 6) {
            frac *= 10u;
            nf++;
        }
    }
    *us = (uint64_t)bl_epoch_from_civil((int)y, mo, d, h, mi, s) * 1000000u + frac;
    return true;
}

/* "(ts)" in either seconds or date form */
static bool parse_paren_ts(cur_t *c, uint64_t *us)
{
    bool ok;
    if (at_end(c) || *c->p != '(')
        return false;
    c->p++;
    if (c->end - c->p >= 10 && c->p[4] == '-')
        ok = parse_datetime(c, us);
    else
        ok = parse_seconds(c, us);
    if (!ok || at_end(c) || *c->p != ')')
        return false;
    c->p++;
    return true;
}

static bool copy_bus(cur_t *c, char *bus)
{
    size_t n = tok_len(c);
    if (n == 0 || n >= BL_BUS_NAME_MAX)
        return false;
    memcpy(bus, c->p, n);
    bus[n] = '\0';
    c->p += n;
    return true;
}

/* hex id of 3 (11-bit) or 8 (29-bit) digits, as can-utils writes them */
static int parse_id(cur_t *c, bl_can_frame_t *f, bl_line_err_t *err, bool asc, bool dec)
{
    uint32_t id = 0;
    unsigned n = 0;
    const char *at = c->p;

    if (dec) { /* ASC "base dec": 849 is 0x351, 304087040x is 0x12200000 extended */
        uint64_t d = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && n < 10) {
            d = d * 10u + (uint64_t)(*c->p - '0');
            c->p++;
            n++;
        }
        if (n == 0 || (c->p < c->end && *c->p >= '0' && *c->p <= '9'))
            return fail(err, c, BL_REJ_SYNTAX, "expected a decimal CAN id (base dec)");
        if (d > BL_CAN_EFF_MASK)
            return fail(err, c, BL_REJ_SYNTAX, "29-bit id out of range");
        id = (uint32_t)d;
        n = 1;
    } else {
        int v;
        while (c->p < c->end && (v = hexval(*c->p)) >= 0 && n < 9) {
            id = (id << 4) | (uint32_t)v;
            c->p++;
            n++;
        }
    }
    if (asc) {
        /* ASC: any number of digits, 'x' suffix marks a 29-bit id */
        if (n == 0 || n > 8)
            return fail(err, c, BL_REJ_SYNTAX, "expected a hex CAN id");
        if (c->p < c->end && *c->p == 'x') {
            c->p++;
            f->flags |= BL_CAN_EXT;
            if (id > BL_CAN_EFF_MASK)
                return fail(err, c, BL_REJ_SYNTAX, "29-bit id out of range");
        } else if (id > BL_CAN_SFF_MASK) {
            return fail(err, c, BL_REJ_SYNTAX, "11-bit id out of range (29-bit ids end in 'x')");
        }
        f->id = id;
        return 0;
    }
    if (n == 3) {
        if (id > BL_CAN_SFF_MASK)
            return fail(err, c, BL_REJ_SYNTAX, "11-bit id out of range");
    } else if (n == 8) {
        if (id & CAN_ERR_FLAG)
            f->flags |= BL_CAN_ERR;
        else if (id > BL_CAN_EFF_MASK)
            return fail(err, c, BL_REJ_SYNTAX, "29-bit id out of range");
        else
            f->flags |= BL_CAN_EXT;
        id &= BL_CAN_EFF_MASK;
    } else {
        c->p = at;
        return fail(err, c, BL_REJ_SYNTAX, "CAN id must be 3 (11-bit) or 8 (29-bit) hex digits");
    }
    f->id = id;
    return 0;
}

/* "351#1402..." / "351#R" / "351#R5" / "351##1AABB" */
static int parse_log_frame(cur_t *c, bl_can_frame_t *f, bl_line_err_t *err)
{
    int rc = parse_id(c, f, err, false, false);

    if (rc < 0)
        return rc;
    if (at_end(c) || *c->p != '#')
        return fail(err, c, BL_REJ_SYNTAX, "expected '#' after the CAN id");
    c->p++;
    if (c->p < c->end && *c->p == 'R') {
        c->p++;
        f->flags |= BL_CAN_RTR;
        if (c->p < c->end && hexval(*c->p) >= 0 && hexval(*c->p) <= 8)
            f->len = (uint8_t)hexval(*c->p++);
        return 0;
    }
    if (c->p < c->end && *c->p == '#') {
        c->p++;
        if (at_end(c) || hexval(*c->p) < 0)
            return fail(err, c, BL_REJ_SYNTAX, "expected the CAN FD flags digit after '##'");
        /* the digit is canfd_frame.flags: 1 bit rate switch, 2 error state indicator */
        f->flags = (uint8_t)(f->flags | BL_CAN_FD | ((hexval(*c->p) & 1) ? BL_CAN_BRS : 0u) |
                             ((hexval(*c->p) & 2) ? BL_CAN_ESI : 0u));
        c->p++;
    }
    while (c->p < c->end && !is_space(*c->p)) {
        int hi, lo;
        if (*c->p == '.') { /* can-utils allows dots between bytes */
            c->p++;
            continue;
        }
        if (*c->p == '_') /* classic CAN raw DLC suffix "_C" */
            break;
        hi = hexval(*c->p);
        lo = c->p + 1 < c->end ? hexval(c->p[1]) : -1;
        if (hi < 0 || lo < 0)
            return fail(err, c, BL_REJ_SYNTAX, "data must be pairs of hex digits");
        /* a classic frame with more than 8 bytes still reaches the codec,
         * which rejects it naming the id ("dlc 9, expected 2..8") */
        if (f->len >= BL_CAN_MAX_DATA)
            return fail(err, c, BL_REJ_LENGTH, "more than 64 data bytes");
        f->data[f->len++] = (uint8_t)(hi << 4 | lo);
        c->p += 2;
    }
    if (c->p < c->end && *c->p == '_') {
        c->p++;
        if (at_end(c) || hexval(*c->p) < 0)
            return fail(err, c, BL_REJ_SYNTAX, "expected a hex DLC after '_'");
        c->p++;
    }
    return 0;
}

static int parse_log(const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err)
{
    cur_t c = { line, line, line + len };
    int rc;

    skip_ws(&c);
    if (!parse_paren_ts(&c, &out->ts_us))
        return fail(err, &c, BL_REJ_SYNTAX, "expected a timestamp \"(seconds.micros)\"");
    out->has_ts = 1;
    skip_ws(&c);
    if (!copy_bus(&c, out->bus))
        return fail(err, &c, BL_REJ_SYNTAX, "expected an interface name");
    skip_ws(&c);
    if ((rc = parse_log_frame(&c, &out->f, err)) < 0)
        return rc;
    skip_ws(&c);
    /* python-can writes a trailing R (received) or T (transmitted) */
    if (!at_end(&c) && tok_len(&c) == 1 && (*c.p == 'R' || *c.p == 'T')) {
        out->dir = *c.p;
        c.p++;
        skip_ws(&c);
    }
    if (!at_end(&c))
        return fail(err, &c, BL_REJ_SYNTAX, "unexpected text after the frame");
    return 1;
}

static int parse_bytes(cur_t *c, bl_can_frame_t *f, unsigned count, bl_line_err_t *err, bool dec)
{
    for (unsigned i = 0; i < count; i++) {
        unsigned v = 0, nd = 0;
        skip_ws(c);
        if (at_end(c))
            return fail(err, c, BL_REJ_LENGTH, "fewer data bytes than the DLC says");
        if (dec) {
            v = read_uint(c, 3, &nd);
            if (nd == 0 || v > 255)
                return fail(err, c, BL_REJ_SYNTAX, "data must be decimal bytes (base dec)");
        } else {
            int hi = hexval(*c->p), lo = c->p + 1 < c->end ? hexval(c->p[1]) : -1;
            if (hi < 0 || lo < 0 || (c->p + 2 < c->end && !is_space(c->p[2])))
                return fail(err, c, BL_REJ_SYNTAX, "data must be pairs of hex digits");
            v = (unsigned)(hi << 4 | lo);
            c->p += 2;
        }
        f->data[f->len++] = (uint8_t)v;
    }
    return 0;
}

/* "[ (ts)]  can0  [TX - -]  351   [8]  14 02 74 0E 74 0E CC 01  ['ascii'] [ERRORFRAME]" */
static int parse_candump(const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err)
{
    cur_t c = { line, line, line + len };
    unsigned dlc = 0, nd;
    int rc;

    skip_ws(&c);
    if (!at_end(&c) && *c.p == '(') {
        if (!parse_paren_ts(&c, &out->ts_us))
            return fail(err, &c, BL_REJ_SYNTAX, "malformed timestamp");
        out->has_ts = 1;
        skip_ws(&c);
    }
    if (!copy_bus(&c, out->bus))
        return fail(err, &c, BL_REJ_SYNTAX, "expected an interface name");
    skip_ws(&c);
    if (tok_is(&c, "TX") || tok_is(&c, "RX")) { /* candump -x: direction, BRS, ESI */
        out->dir = *c.p;
        for (int i = 0; i < 3; i++) {
            c.p += tok_len(&c);
            skip_ws(&c);
        }
    }
    if ((rc = parse_id(&c, &out->f, err, false, false)) < 0)
        return rc;
    skip_ws(&c);
    if (at_end(&c) || *c.p != '[')
        return fail(err, &c, BL_REJ_SYNTAX, "expected \"[dlc]\" after the CAN id");
    c.p++;
    dlc = read_uint(&c, 2, &nd);
    if (nd == 0 || at_end(&c) || *c.p != ']')
        return fail(err, &c, BL_REJ_SYNTAX, "malformed \"[dlc]\"");
    c.p++;
    if (nd == 2)
        out->f.flags |= BL_CAN_FD;
    if (dlc > ((out->f.flags & BL_CAN_FD) ? 64u : 8u))
        return fail(err, &c, BL_REJ_LENGTH, "DLC larger than the frame type allows");
    skip_ws(&c);
    if (tok_is(&c, "remote")) {
        out->f.flags |= BL_CAN_RTR;
        out->f.len = (uint8_t)dlc;
        return 1;
    }
    if ((rc = parse_bytes(&c, &out->f, dlc, err, false)) < 0)
        return rc;
    skip_ws(&c);
    /* what may follow: -a ASCII column, ERRORFRAME marker */
    if (!at_end(&c) && *c.p != '\'' && !tok_is(&c, "ERRORFRAME"))
        return fail(err, &c, BL_REJ_LENGTH, "more data bytes than the DLC says");
    return 1;
}

static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* "date Tue Nov 14 22:13:20 2023" or "date Wed Nov 24 06:40:21.123 pm 2026" (read as UTC) */
static void parse_asc_date(bl_capture_t *st, cur_t *c)
{
    unsigned nd, day, h, mi, s, year, mo = 0, ms = 0;

    c->p += tok_len(c); /* "date" */
    skip_ws(c);
    c->p += tok_len(c); /* weekday */
    skip_ws(c);
    for (mo = 0; mo < 12; mo++)
        if (tok_len(c) == 3 && memcmp(c->p, months[mo], 3) == 0)
            break;
    if (mo == 12)
        return;
    c->p += 3;
    skip_ws(c);
    day = read_uint(c, 2, &nd);
    skip_ws(c);
    h = read_uint(c, 2, &nd);
    if (at_end(c) || *c->p++ != ':')
        return;
    mi = read_uint(c, 2, &nd);
    if (at_end(c) || *c->p++ != ':')
        return;
    s = read_uint(c, 2, &nd);
    if (!at_end(c) && *c->p == '.') {
        c->p++;
        ms = read_uint(c, 3, &nd);
    }
    skip_ws(c);
    if (tok_is(c, "pm") || tok_is(c, "am") || tok_is(c, "PM") || tok_is(c, "AM")) {
        if ((*c->p | 0x20) == 'p' && h < 12)
            h += 12;
        if ((*c->p | 0x20) == 'a' && h == 12)
            h = 0;
        c->p += 2;
        skip_ws(c);
    }
    year = read_uint(c, 4, &nd);
    if (nd != 4 || day == 0 || day > 31 || h > 23 || mi > 59 || s > 60)
        return;
    st->asc_base_us = (uint64_t)bl_epoch_from_civil((int)year, mo + 1, day, h, mi, s) * 1000000u + (uint64_t)ms * 1000u;
}

/* "Begin Triggerblock Tue Nov 14 22:13:20.000 2023": the time the timestamps count from.
 * Vector writes the same date as the "date" line; python-can writes the file's creation
 * time there and the first frame's time here, so this one wins when both are given. */
static void parse_asc_trigger(bl_capture_t *st, cur_t *c)
{
    c->p += tok_len(c); /* "Begin" */
    skip_ws(c);
    if (!tok_is(c, "Triggerblock") && !tok_is(c, "TriggerBlock"))
        return;
    parse_asc_date(st, c); /* skips "Triggerblock" as it skips "date" */
}

static bool asc_header(bl_capture_t *st, cur_t *c)
{
    static const char *const words[] = { "base", "internal", "no", "Begin", "End", "//", "begin", "end" };
    if (tok_is(c, "date")) {
        parse_asc_date(st, c);
        return true;
    }
    if (tok_is(c, "Begin")) {
        parse_asc_trigger(st, c);
        return true;
    }
    if (tok_is(c, "base")) {
        /* "base hex|dec timestamps absolute|relative": the number base of ids and data */
        c->p += 4;
        skip_ws(c);
        st->asc_dec = tok_is(c, "dec");
        return true;
    }
    for (size_t i = 0; i < BL_ARRAY_LEN(words); i++)
        if (tok_is(c, words[i]))
            return true;
    return (c->end - c->p >= 2 && c->p[0] == '/' && c->p[1] == '/');
}

/* "   0.002000 1  351   Rx   d 8 14 02 ..." (log2asc / Vector ASC) */
static int parse_asc(bl_capture_t *st, const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err)
{
    cur_t c = { line, line, line + len };
    unsigned ch, nd, dlc;
    uint64_t rel;
    int rc;
    bool fd = false;

    skip_ws(&c);
    if (asc_header(st, &c))
        return 0;
    if (!parse_seconds(&c, &rel))
        return fail(err, &c, BL_REJ_SYNTAX, "expected an ASC timestamp (seconds)");
    out->ts_us = st->asc_base_us + rel;
    out->has_ts = 1;
    skip_ws(&c);
    if (tok_is(&c, "Start") || tok_is(&c, "Statistic:") || tok_is(&c, "SV:") || tok_is(&c, "Trigger"))
        return 0; /* events, not frames */
    if (tok_is(&c, "CANFD")) {
        fd = true;
        c.p += 5;
        skip_ws(&c);
    }
    ch = read_uint(&c, 3, &nd);
    if (nd == 0)
        return fail(err, &c, BL_REJ_SYNTAX, "expected an ASC channel number");
    out->bus[0] = 'c', out->bus[1] = 'a', out->bus[2] = 'n';
    {
        unsigned n = ch > 0 ? ch - 1 : 0, k = 3;
        char tmp[4];
        unsigned t = 0;
        do {
            tmp[t++] = (char)('0' + n % 10);
            n /= 10;
        } while (n && t < 3);
        while (t)
            out->bus[k++] = tmp[--t];
        out->bus[k] = '\0';
    }
    skip_ws(&c);
    if (tok_is(&c, "ErrorFrame")) {
        /* ASC says an error frame came, not its kind: a bus error, as can-utils' asc2log reads it */
        out->f.flags |= BL_CAN_ERR;
        out->f.id = 0x80u; /* CAN_ERR_BUSERROR */
        out->f.len = 8;
        memset(out->f.data, 0, 8);
        return 1;
    }
    if (fd) { /* CANFD ch dir id [name] brs esi dlc len data... */
        out->dir = tok_is(&c, "Tx") ? 'T' : 'R';
        c.p += tok_len(&c);
        skip_ws(&c);
    }
    if ((rc = parse_id(&c, &out->f, err, true, st->asc_dec)) < 0)
        return rc;
    skip_ws(&c);
    if (fd) {
        unsigned v[4];
        for (int i = 0; i < 4; i++) {
            if (i == 2 && !at_end(&c) && hexval(*c.p) >= 0 && tok_len(&c) == 1) { /* the DLC is one hex digit */
                v[i] = (unsigned)hexval(*c.p++);
                nd = 1;
            } else {
                v[i] = read_uint(&c, 2, &nd);
            }
            if (nd == 0)
                return fail(err, &c, BL_REJ_SYNTAX, "malformed CANFD line");
            skip_ws(&c);
        }
        if (v[3] > 64)
            return fail(err, &c, BL_REJ_LENGTH, "CAN FD data length over 64");
        out->f.flags = (uint8_t)(out->f.flags | BL_CAN_FD | (v[0] ? BL_CAN_BRS : 0u) | (v[1] ? BL_CAN_ESI : 0u));
        return (rc = parse_bytes(&c, &out->f, v[3], err, st->asc_dec)) < 0 ? rc : 1;
    }
    if (tok_is(&c, "Rx") || tok_is(&c, "Tx")) {
        out->dir = *c.p == 'R' ? 'R' : 'T';
        c.p += 2;
        skip_ws(&c);
    } else {
        return fail(err, &c, BL_REJ_SYNTAX, "expected Rx or Tx");
    }
    if (tok_is(&c, "r")) {
        c.p++;
        skip_ws(&c);
        out->f.flags |= BL_CAN_RTR;
        dlc = read_uint(&c, 1, &nd);
        out->f.len = (uint8_t)(nd ? dlc : 0);
        return 1;
    }
    if (!tok_is(&c, "d"))
        return fail(err, &c, BL_REJ_SYNTAX, "expected 'd' (data) or 'r' (remote)");
    c.p++;
    skip_ws(&c);
    dlc = read_uint(&c, 2, &nd);
    if (nd == 0 || dlc > 15)
        return fail(err, &c, BL_REJ_SYNTAX, "malformed DLC");
    if (dlc > 8)
        return fail(err, &c, BL_REJ_LENGTH, "DLC over 8 in a classic CAN frame");
    if ((rc = parse_bytes(&c, &out->f, dlc, err, st->asc_dec)) < 0)
        return rc;
    return 1;
}

bl_capfmt_t bl_capture_sniff(const char *line, size_t len)
{
    cur_t c = { line, line, line + len };
    skip_ws(&c);
    if (at_end(&c))
        return BL_FMT_AUTO;
    if (bl_trc_sniff(line, len))
        return BL_FMT_TRC;
    if (bl_gvret_sniff(line, len))
        return BL_FMT_GVRET;
    if (tok_is(&c, "date") || tok_is(&c, "base"))
        return BL_FMT_ASC;
    if (*c.p == '(') {
        /* log lines have "id#"; candump default lines have "[dlc]" */
        for (const char *q = c.p; q < c.end; q++) {
            if (*q == '#')
                return BL_FMT_CANDUMP_LOG;
            if (*q == '[')
                return BL_FMT_CANDUMP;
        }
        return BL_FMT_AUTO;
    }
    if (*c.p >= '0' && *c.p <= '9') {
        for (const char *q = c.p; q < c.end; q++)
            if ((q[0] == 'R' || q[0] == 'T') && q + 1 < c.end && q[1] == 'x')
                return BL_FMT_ASC;
    }
    for (const char *q = c.p; q < c.end; q++)
        if (*q == '[')
            return BL_FMT_CANDUMP;
    return BL_FMT_AUTO;
}

void bl_capture_init(bl_capture_t *c, bl_capfmt_t fmt)
{
    memset(c, 0, sizeof *c);
    c->fmt = fmt;
}

int bl_capture_parse(bl_capture_t *c, const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err)
{
    cur_t cur = { line, line, line + len };
    bl_capfmt_t fmt = c->fmt;

    memset(out, 0, offsetof(bl_cap_frame_t, f) + offsetof(bl_can_frame_t, data));
    skip_ws(&cur);
    if (at_end(&cur) || *cur.p == '#' || (cur.end - cur.p >= 2 && cur.p[0] == '/' && cur.p[1] == '/'))
        return 0; /* blank or comment */
    if (fmt == BL_FMT_AUTO && *cur.p == ';') { /* PEAK TRC header */
        c->fmt = BL_FMT_TRC;
        fmt = BL_FMT_TRC;
    }
    if (len > 0 && line[0] == '\t' && fmt == BL_FMT_CANDUMP)
        return 0; /* candump -e error description continuation */
    if (fmt == BL_FMT_AUTO) {
        fmt = bl_capture_sniff(line, len);
        if (fmt == BL_FMT_AUTO)
            return fail(err, &cur, BL_REJ_SYNTAX, "not a candump, candump -L, ASC, TRC or GVRET CSV line");
        c->fmt = fmt;
    }
    switch (fmt) {
    case BL_FMT_CANDUMP_LOG:
        return parse_log(line, len, out, err);
    case BL_FMT_CANDUMP:
        return parse_candump(line, len, out, err);
    case BL_FMT_ASC:
        return parse_asc(c, line, len, out, err);
    case BL_FMT_TRC:
        return bl_trc_parse(c, line, len, out, err);
    case BL_FMT_GVRET:
        return bl_gvret_parse(c, line, len, out, err);
    default:
        return fail(err, &cur, BL_REJ_SYNTAX, "not a CAN capture format");
    }
}

static const char hexdig[] = "0123456789ABCDEF";

int bl_capture_format_log(const bl_cap_frame_t *f, char *buf, size_t size)
{
    char tmp[32 + BL_BUS_NAME_MAX + 2 * BL_CAN_MAX_DATA + 16];
    size_t o = 0;
    uint64_t s = f->ts_us / 1000000u, us = f->ts_us % 1000000u;
    char dig[24];
    unsigned nd = 0;
    uint32_t id = f->f.id;
    unsigned idlen = 3;

    tmp[o++] = '(';
    do {
        dig[nd++] = (char)('0' + s % 10u);
        s /= 10u;
    } while (s);
    while (nd)
        tmp[o++] = dig[--nd];
    tmp[o++] = '.';
    for (int i = 5; i >= 0; i--) {
        tmp[o + (size_t)i] = (char)('0' + us % 10u);
        us /= 10u;
    }
    o += 6;
    tmp[o++] = ')';
    tmp[o++] = ' ';
    for (const char *b = f->bus[0] ? f->bus : "can0"; *b && o < 40; b++)
        tmp[o++] = *b;
    tmp[o++] = ' ';
    if (f->f.flags & BL_CAN_ERR) {
        id = (id & BL_CAN_EFF_MASK) | CAN_ERR_FLAG;
        idlen = 8;
    } else if (f->f.flags & BL_CAN_EXT) {
        idlen = 8;
    }
    for (int i = (int)idlen - 1; i >= 0; i--)
        tmp[o++] = hexdig[(id >> (4 * i)) & 15u];
    tmp[o++] = '#';
    if (f->f.flags & BL_CAN_RTR) {
        tmp[o++] = 'R';
        /* candump -L writes a remote frame's DLC after the R ("2E7#R4"): keep it */
        if (f->f.len > 0 && f->f.len <= 8)
            tmp[o++] = hexdig[f->f.len];
    } else {
        unsigned n = f->f.len;
        if (f->f.flags & BL_CAN_FD) {
            tmp[o++] = '#';
            tmp[o++] = hexdig[((f->f.flags & BL_CAN_BRS) ? 1u : 0u) | ((f->f.flags & BL_CAN_ESI) ? 2u : 0u)];
        } else if (n > 8) {
            n = 8;
        }
        for (unsigned i = 0; i < n; i++) {
            tmp[o++] = hexdig[f->f.data[i] >> 4];
            tmp[o++] = hexdig[f->f.data[i] & 15u];
        }
    }
    if (o + 1 > size)
        return BL_ENOSPC;
    memcpy(buf, tmp, o);
    buf[o] = '\0';
    return (int)o;
}

const char *bl_capfmt_str(unsigned fmt)
{
    static const char *const s[BL_FMT_COUNT] = { "auto", "candump-log", "candump", "asc", "hex485",
                                                 "trc", "gvret", "pcap", "pcapng" };
    return fmt < BL_FMT_COUNT ? s[fmt] : "auto";
}

unsigned bl_capfmt_by_name(const char *name)
{
    if (strcmp(name, "candump") == 0 || strcmp(name, "auto") == 0)
        return BL_FMT_AUTO; /* either candump style, told apart per file */
    if (strcmp(name, "log") == 0 || strcmp(name, "candump-log") == 0)
        return BL_FMT_CANDUMP_LOG;
    if (strcmp(name, "asc") == 0)
        return BL_FMT_ASC;
    if (strcmp(name, "hex485") == 0)
        return BL_FMT_HEX485;
    if (strcmp(name, "trc") == 0)
        return BL_FMT_TRC;
    if (strcmp(name, "gvret") == 0 || strcmp(name, "csv") == 0 || strcmp(name, "savvycan") == 0)
        return BL_FMT_GVRET;
    if (strcmp(name, "pcap") == 0)
        return BL_FMT_PCAP;
    if (strcmp(name, "pcapng") == 0)
        return BL_FMT_PCAPNG;
    return BL_FMT_COUNT;
}

bool bl_capfmt_binary(unsigned fmt)
{
    return fmt == BL_FMT_PCAP || fmt == BL_FMT_PCAPNG;
}
