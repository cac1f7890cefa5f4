/*
 * SavvyCAN's native CSV, the "GVRET" format (SavvyCAN framefileio.cpp, saveNativeCSVFile /
 * loadNativeCSVFile):
 *
 *   Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8
 *   166064000,0000021A,false,Rx,0,8,FE,36,12,FE,69,05,07,AD,
 *
 * The time stamp is in microseconds (the GVRET board's clock, or the epoch when SavvyCAN
 * used the system time); a value with a '.' is read as seconds. Older files have no Dir
 * column; the header says which, and without a header the fourth field tells (Rx / Tx, or a
 * bus number). The id is hex, Extended true/false, Bus counts from 0 (read as can<Bus>), LEN
 * is the byte count (over 8: a CAN FD frame). Data fields after LEN bytes are ignored, as
 * SavvyCAN ignores its padding. The format has no remote, error or FD-flag columns.
 */
#include "capture_lex.h"

#define GV_MAX_FIELDS (6 + 64 + 4)

typedef struct {
    const char *s;
    size_t n;
} field_t;

/* split at commas, trimming blanks; returns the number of fields */
static unsigned split(const char *line, size_t len, field_t *f, unsigned max)
{
    unsigned k = 0;
    const char *p = line, *e = line + len;
    for (;;) {
        const char *q = p, *a, *b;
        while (q < e && *q != ',')
            q++;
        a = p;
        b = q;
        while (a < b && lex_space(*a))
            a++;
        while (b > a && lex_space(b[-1]))
            b--;
        if (k < max) {
            f[k].s = a;
            f[k].n = (size_t)(b - a);
        }
        k++;
        if (q >= e)
            break;
        p = q + 1;
    }
    return k;
}

static bool is_header(const field_t *f, unsigned n)
{
    return n >= 5 && lex_is_ci(f[0].s, f[0].n, "time stamp") && lex_is_ci(f[1].s, f[1].n, "id");
}

bool bl_gvret_sniff(const char *line, size_t len)
{
    field_t f[8];
    unsigned n = split(line, len, f, 8);
    uint64_t v;
    uint32_t id;
    if (is_header(f, n))
        return true;
    /* a row without the header: number, hex id, true/false, ... */
    return n >= 5 && lex_udec(f[0].s, f[0].n, 20, &v) && lex_uhex(f[1].s, f[1].n, &id) &&
           (lex_is_ci(f[2].s, f[2].n, "true") || lex_is_ci(f[2].s, f[2].n, "false"));
}

/* "166064000" µs, or "1700000000.123456" seconds */
static bool read_ts(const field_t *f, uint64_t *us)
{
    const char *dot = memchr(f->s, '.', f->n);
    uint64_t s, frac = 0;
    if (dot == NULL)
        return lex_udec(f->s, f->n, 20, us) && *us < UINT64_MAX / 2u;
    if (!lex_udec(f->s, (size_t)(dot - f->s), 12, &s))
        return false;
    {
        size_t k = (size_t)(f->s + f->n - dot - 1);
        unsigned nf = 0;
        for (size_t i = 0; i < k; i++) {
            char ch = dot[1 + i];
            if (ch < '0' || ch > '9')
                return false;
            if (nf < 6) {
                frac = frac * 10u + (uint64_t)(ch - '0');
                nf++;
            }
        }
        for (; nf < 6; nf++)
            frac *= 10u;
    }
    *us = s * 1000000u + frac;
    return true;
}

static int bad(bl_line_err_t *err, const char *line, const field_t *f, bl_reject_t why, const char *what)
{
    err->why = why;
    err->what = what;
    err->col = (uint16_t)(f->s - line + 1);
    return BL_EBADMSG;
}

static void bus_name(char *bus, uint64_t b)
{
    char tmp[4];
    unsigned t = 0, k = 3;
    memcpy(bus, "can", 3);
    do {
        tmp[t++] = (char)('0' + b % 10u);
        b /= 10u;
    } while (b && t < 3);
    while (t)
        bus[k++] = tmp[--t];
    bus[k] = '\0';
}

int bl_gvret_parse(bl_capture_t *c, const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err)
{
    field_t f[GV_MAX_FIELDS];
    unsigned n = split(line, len, f, GV_MAX_FIELDS), k;
    uint64_t v, blen;
    uint32_t id;
    bool ext;

    if (n > GV_MAX_FIELDS)
        n = GV_MAX_FIELDS; /* fields past 64 data bytes are never read */
    if (n == 1 && f[0].n == 0)
        return 0;
    if (is_header(f, n)) {
        c->gv_dir = 2;
        for (unsigned i = 2; i < n; i++)
            if (lex_is_ci(f[i].s, f[i].n, "dir"))
                c->gv_dir = 1;
        return 0;
    }
    if (n < 5)
        return bad(err, line, &f[n - 1], BL_REJ_SYNTAX, "expected Time Stamp,ID,Extended,[Dir,]Bus,LEN,data...");
    if (!read_ts(&f[0], &out->ts_us))
        return bad(err, line, &f[0], BL_REJ_SYNTAX, "expected a time stamp (microseconds)");
    out->has_ts = 1;
    if (!lex_uhex(f[1].s, f[1].n, &id))
        return bad(err, line, &f[1], BL_REJ_SYNTAX, "expected a hex CAN id");
    if (lex_is_ci(f[2].s, f[2].n, "true") || lex_is(f[2].s, f[2].n, "1"))
        ext = true;
    else if (lex_is_ci(f[2].s, f[2].n, "false") || lex_is(f[2].s, f[2].n, "0"))
        ext = false;
    else
        return bad(err, line, &f[2], BL_REJ_SYNTAX, "Extended must be true or false");
    if (id > (ext ? BL_CAN_EFF_MASK : BL_CAN_SFF_MASK))
        return bad(err, line, &f[1], BL_REJ_SYNTAX, ext ? "29-bit id out of range" : "11-bit id out of range");
    out->f.id = id;
    out->f.flags = ext ? BL_CAN_EXT : 0;
    k = 3;
    if (c->gv_dir == 1 || (c->gv_dir == 0 && f[3].n > 0 && (f[3].s[0] == 'R' || f[3].s[0] == 'T'))) {
        if (!lex_is_ci(f[3].s, f[3].n, "rx") && !lex_is_ci(f[3].s, f[3].n, "tx"))
            return bad(err, line, &f[3], BL_REJ_SYNTAX, "Dir must be Rx or Tx");
        out->dir = (char)(f[3].s[0] & ~0x20);
        k = 4;
    }
    if (n < k + 2)
        return bad(err, line, &f[n - 1], BL_REJ_SYNTAX, "expected Bus,LEN after the id");
    if (!lex_udec(f[k].s, f[k].n, 3, &v) || v > 255)
        return bad(err, line, &f[k], BL_REJ_SYNTAX, "Bus must be a number 0..255");
    bus_name(out->bus, v);
    if (!lex_udec(f[k + 1].s, f[k + 1].n, 2, &blen) || blen > 64)
        return bad(err, line, &f[k + 1], BL_REJ_SYNTAX, "LEN must be 0..64");
    if (blen > 8)
        out->f.flags |= BL_CAN_FD;
    k += 2;
    for (unsigned i = 0; i < blen; i++) {
        uint32_t b;
        if (k + i >= n || f[k + i].n == 0)
            return bad(err, line, &f[(k + i < n ? k + i : n - 1)], BL_REJ_LENGTH, "fewer data bytes than LEN says");
        if (f[k + i].n > 2 || !lex_uhex(f[k + i].s, f[k + i].n, &b))
            return bad(err, line, &f[k + i], BL_REJ_SYNTAX, "data must be hex bytes");
        out->f.data[i] = (uint8_t)b;
    }
    out->f.len = (uint8_t)blen;
    for (unsigned i = k + (unsigned)blen; i < n; i++) { /* padding: empty or hex */
        uint32_t b;
        if (f[i].n != 0 && (f[i].n > 2 || !lex_uhex(f[i].s, f[i].n, &b)))
            return bad(err, line, &f[i], BL_REJ_SYNTAX, "unexpected text after the data bytes");
    }
    return 1;
}
