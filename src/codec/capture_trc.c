/*
 * PEAK PCAN-View / PCAN-Explorer trace files (.trc), as "PEAK CAN TRC File Format"
 * (PEAK-System, version 2.1 of the document) describes them:
 *
 *   1.0  "     1)      1841  0001  8  00 00 ..."               no header, integer ms
 *   1.1  "     1)      1841.0  Rx         0001  8  00 00 ..."  type Rx/Tx/Warng/Error
 *   1.2  adds the bus before the type, 1.3 a reserved "-" after the id
 *   2.0  ";$COLUMNS=N,O,T,I,d,l,D"   "      1      1059.900 DT     0300 Rx 7 00 ..."
 *   2.1  ";$COLUMNS=N,O,T,B,I,d,R,L,D" with the bus, a reserved column and the DLC
 *
 * Offsets are milliseconds from ;$STARTTIME (days since 1899-12-30, the fraction is the time
 * of day). PCAN-View writes local time; bmslink reads and writes it as UTC, as it does ASC
 * dates. Ids have 4 hex digits (11-bit) or 8 (29-bit): more than 4 digits is a 29-bit id, as
 * python-can reads them (its writer uses 7 digits). 2.x types: DT data, FD / FB / FE / BI
 * CAN FD (plain, bit rate switch, error state indicator, both), RR remote request, ST
 * hardware status, EC error counters, ER error frame, EV event. 1.1 has "Warng" status lines.
 *
 * Status and error lines become SocketCAN error frames (linux/can/error.h), so a PCAN trace
 * of a bus going bus-off is judged like a candump of one: the status word's PCAN-Basic bits
 * (BUSLIGHT 0x04, BUSHEAVY/BUSWARNING 0x08, BUSOFF 0x10, BUSPASSIVE 0x40000, OVERRUN 0x02,
 * XMTFULL 0x01) map onto the controller-state class; an error frame's five bytes (PCAN-Basic:
 * type 1 bit / 2 form / 4 stuff / 8 other, direction 0 tx / 1 rx, position, rx and tx
 * counters) onto the protocol-violation class and the counters.
 */
#include "bmslink/canerr.h"
#include "capture_lex.h"

#define PCAN_XMTFULL 0x00001u
#define PCAN_OVERRUN 0x00002u
#define PCAN_BUSLIGHT 0x00004u
#define PCAN_BUSHEAVY 0x00008u
#define PCAN_BUSOFF 0x00010u
#define PCAN_BUSPASSIVE 0x40000u

#define CAN_ERR_FLAG_BIT 0x20000000u

/* epoch day of 1899-12-30, the day OLE automation dates count from */
#define OLE_EPOCH_DAYS 25569u

static const uint8_t fd_len[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64 };

bool bl_trc_parse_starttime(const char *s, size_t len, uint64_t *us)
{
    size_t i = 0;
    uint64_t days = 0, frac = 0, day_us;
    unsigned nf = 0;

    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (i >= 7)
            return false;
        days = days * 10u + (uint64_t)(s[i++] - '0');
    }
    if (i == 0)
        return false;
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (nf < 15) {
                frac = frac * 10u + (uint64_t)(s[i] - '0');
                nf++;
            }
    }
    while (i < len && lex_space(s[i]))
        i++;
    if (i != len)
        return false;
    /* fraction of a day -> µs: frac * 86 400 000 000 / 10^nf, exact in 64 bits */
    if (nf >= 8) {
        uint64_t div = 1;
        for (unsigned k = 8; k < nf; k++)
            div *= 10u;
        day_us = (frac * 864u + div / 2u) / div;
    } else {
        day_us = frac * 864u;
        for (unsigned k = nf; k < 8; k++)
            day_us *= 10u;
    }
    if (days < OLE_EPOCH_DAYS) { /* before 1970: not a real start time (some writers put 0) */
        *us = 0;
        return true;
    }
    *us = (days - OLE_EPOCH_DAYS) * UINT64_C(86400000000) + day_us;
    return true;
}

bool bl_trc_sniff(const char *line, size_t len)
{
    lex_t c = { line, line, line + len };
    size_t n;
    lex_ws(&c);
    if (lex_end(&c))
        return false;
    if (*c.p == ';')
        return true;
    /* 1.x data line: "N)" */
    n = lex_tok(&c, 0);
    return n >= 2 && c.p[n - 1] == ')' && c.p[0] >= '0' && c.p[0] <= '9';
}

/* The bus of TRC bus number b (1-based): "can<b-1>" */
static void bus_name(char *bus, unsigned b)
{
    unsigned n = b > 0 ? b - 1u : 0u, k = 3;
    char tmp[4];
    unsigned t = 0;
    memcpy(bus, "can", 3);
    do {
        tmp[t++] = (char)('0' + n % 10u);
        n /= 10u;
    } while (n && t < 3);
    while (t)
        bus[k++] = tmp[--t];
    bus[k] = '\0';
}

/* PCAN status word -> SocketCAN error frame (controller state class) */
static void status_frame(bl_can_frame_t *f, uint32_t st)
{
    f->flags = BL_CAN_ERR;
    f->len = 8;
    memset(f->data, 0, 8);
    if (st & PCAN_BUSOFF) {
        f->id = BL_CANERR_BUSOFF;
        return;
    }
    f->id = BL_CANERR_CRTL;
    if (st & PCAN_BUSPASSIVE)
        f->data[1] = BL_CANERR_CRTL_RX_PASSIVE | BL_CANERR_CRTL_TX_PASSIVE;
    else if (st & (PCAN_BUSHEAVY | PCAN_BUSLIGHT))
        f->data[1] = BL_CANERR_CRTL_RX_WARNING | BL_CANERR_CRTL_TX_WARNING;
    else if (st & (PCAN_OVERRUN | PCAN_XMTFULL))
        f->data[1] = (uint8_t)(((st & PCAN_OVERRUN) ? BL_CANERR_CRTL_RX_OVERFLOW : 0u) |
                               ((st & PCAN_XMTFULL) ? BL_CANERR_CRTL_TX_OVERFLOW : 0u));
    else
        f->data[1] = BL_CANERR_CRTL_ACTIVE;
}

/* PCAN error frame bytes (type, direction, position, rx, tx counters) -> SocketCAN */
static void error_frame(bl_can_frame_t *f, const uint8_t *d, unsigned n)
{
    uint8_t prot = 0;
    f->flags = BL_CAN_ERR;
    f->id = BL_CANERR_PROT;
    if (n >= 1)
        prot = (uint8_t)(d[0] & 0x07u); /* bit, form, stuff: the same bits as linux/can/error.h */
    if (n >= 2 && d[1] == 0)
        prot |= 0x80u; /* CAN_ERR_PROT_TX */
    memset(f->data, 0, 8);
    f->data[2] = prot;
    if (n >= 5) {
        f->id |= BL_CANERR_CNT;
        f->data[6] = d[4]; /* tx */
        f->data[7] = d[3]; /* rx */
    }
    f->len = 8;
}

static int read_bytes(lex_t *c, uint8_t *d, unsigned n, bl_line_err_t *err)
{
    for (unsigned i = 0; i < n; i++) {
        int hi, lo;
        lex_ws(c);
        if (lex_end(c))
            return lex_fail(err, c, BL_REJ_LENGTH, "fewer data bytes than the length says");
        hi = lex_hex(c->p[0]);
        lo = c->p + 1 < c->end ? lex_hex(c->p[1]) : -1;
        if (hi < 0 || lo < 0 || (c->p + 2 < c->end && !lex_space(c->p[2])))
            return lex_fail(err, c, BL_REJ_SYNTAX, "data must be pairs of hex digits");
        d[i] = (uint8_t)(hi << 4 | lo);
        c->p += 2;
    }
    return 0;
}

/* the id column: 4 hex digits (or fewer) 11-bit, more 29-bit */
static int read_id(lex_t *c, bl_can_frame_t *f, bl_line_err_t *err)
{
    size_t n = lex_tok(c, 0);
    uint32_t id;
    if (!lex_uhex(c->p, n, &id))
        return lex_fail(err, c, BL_REJ_SYNTAX, "expected a hex CAN id");
    if (n > 4) {
        if (id > BL_CAN_EFF_MASK)
            return lex_fail(err, c, BL_REJ_SYNTAX, "29-bit id out of range");
        f->flags |= BL_CAN_EXT;
    } else if (id > BL_CAN_SFF_MASK) {
        return lex_fail(err, c, BL_REJ_SYNTAX, "11-bit id out of range (29-bit ids have 8 digits)");
    }
    f->id = id;
    c->p += n;
    return 0;
}

static bool is_dir(const char *s, size_t n)
{
    return lex_is(s, n, "Rx") || lex_is(s, n, "Tx");
}

/* "     1)      1841.0  [bus]  Rx         0001  [-]  8  00 00 ... [BUSHEAVY]" */
static int parse_v1(bl_capture_t *st, const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err)
{
    lex_t c = { line, line, line + len };
    size_t n;
    uint64_t v, off;
    unsigned dlc, bus = 1;
    char type = 'R'; /* R, T, W (Warng), E (Error) */
    int rc;

    lex_ws(&c);
    n = lex_tok(&c, 0);
    if (n < 2 || c.p[n - 1] != ')' || !lex_udec(c.p, n - 1, 10, &v))
        return lex_fail(err, &c, BL_REJ_SYNTAX, "expected a message number \"N)\"");
    c.p += n;
    lex_ws(&c);
    n = lex_tok(&c, 0);
    if (!lex_ms_to_us(c.p, n, &off))
        return lex_fail(err, &c, BL_REJ_SYNTAX, "expected a time offset in ms");
    c.p += n;
    lex_ws(&c);
    n = lex_tok(&c, 0);
    if (n > 0 && n <= 2 && c.p[0] >= '0' && c.p[0] <= '9' && st->trc_ver >= 12) { /* 1.2, 1.3: bus */
        if (!lex_udec(c.p, n, 2, &v) || v == 0 || v > 16)
            return lex_fail(err, &c, BL_REJ_SYNTAX, "bus must be 1..16");
        bus = (unsigned)v;
        c.p += n;
        lex_ws(&c);
        n = lex_tok(&c, 0);
    }
    if (is_dir(c.p, n)) {
        type = c.p[0];
    } else if (lex_is(c.p, n, "Warng")) {
        type = 'W';
    } else if (lex_is(c.p, n, "Error")) {
        type = 'E';
    } else if (st->trc_ver >= 11) {
        return lex_fail(err, &c, BL_REJ_SYNTAX, "expected the type Rx, Tx, Warng or Error");
    } else {
        n = 0; /* 1.0: no type column */
    }
    c.p += n;
    lex_ws(&c);
    if (type == 'W' || type == 'E') {
        n = lex_tok(&c, 0); /* FFFFFFFF or a code */
        c.p += n;
    } else if ((rc = read_id(&c, &out->f, err)) < 0) {
        return rc;
    }
    lex_ws(&c);
    if (!lex_end(&c) && *c.p == '-' && lex_tok(&c, 0) == 1) { /* 1.3 reserved */
        c.p++;
        lex_ws(&c);
    }
    n = lex_tok(&c, 0);
    if (!lex_udec(c.p, n, 1, &v) || v > 8)
        return lex_fail(err, &c, BL_REJ_SYNTAX, "expected a data length 0..8");
    dlc = (unsigned)v;
    c.p += n;
    lex_ws(&c);
    out->ts_us = st->trc_base_us + off;
    out->has_ts = 1;
    bus_name(out->bus, bus);
    out->dir = type == 'T' ? 'T' : 'R';
    n = lex_tok(&c, 0);
    if (lex_is(c.p, n, "RTR")) {
        if (type == 'W' || type == 'E')
            return lex_fail(err, &c, BL_REJ_SYNTAX, "a status line cannot be a remote frame");
        out->f.flags |= BL_CAN_RTR;
        out->f.len = (uint8_t)dlc;
        return 1;
    }
    if (type == 'W' || type == 'E') {
        uint8_t d[8];
        if ((rc = read_bytes(&c, d, dlc, err)) < 0)
            return rc;
        out->f.flags = 0;
        if (type == 'W') {
            uint32_t stw = 0;
            for (unsigned i = 0; i < dlc && i < 4; i++)
                stw = stw << 8 | d[i];
            lex_ws(&c); /* the status as text, when the bytes say nothing */
            n = lex_tok(&c, 0);
            if (stw == 0 && lex_is(c.p, n, "BUSOFF"))
                stw = PCAN_BUSOFF;
            else if (stw == 0 && lex_is(c.p, n, "BUSHEAVY"))
                stw = PCAN_BUSHEAVY;
            else if (stw == 0 && lex_is(c.p, n, "BUSLIGHT"))
                stw = PCAN_BUSLIGHT;
            status_frame(&out->f, stw);
        } else {
            error_frame(&out->f, d, dlc);
        }
        return 1;
    }
    if ((rc = read_bytes(&c, out->f.data, dlc, err)) < 0)
        return rc;
    out->f.len = (uint8_t)dlc;
    lex_ws(&c);
    if (!lex_end(&c))
        return lex_fail(err, &c, BL_REJ_LENGTH, "more data bytes than the length says");
    return 1;
}

/*
 * The rest of a 2.x status (ST), error (ER) or error-counter (EC) line, after its type. Writers
 * disagree on these lines: PCAN-View leaves the id blank and may leave out the length, so the
 * columns cannot be counted. Read loosely: a bus number when the file has one, anything up to
 * and including Rx/Tx (the id column, blank or "-"), a reserved "-", then the bytes, the first
 * of which is a length when it is written as one (not two hex digits, or the type's own length
 * followed by that many bytes).
 */
static int parse_v2_status(const bl_capture_t *st, lex_t *c, char t0, char t1, unsigned bus_col, bl_cap_frame_t *out,
                           bl_line_err_t *err)
{
    const unsigned want = t0 == 'S' ? 4u : t1 == 'C' ? 2u : 5u;
    unsigned bus = 1, ntok = 0, first = 0;
    const char *p0;
    uint8_t d[64];
    uint64_t v;
    lex_t r;

    lex_ws(c);
    if (bus_col && lex_udec(c->p, lex_tok(c, 0), 2, &v) && v <= 16) {
        bus = v ? (unsigned)v : 1u;
        c->p += lex_tok(c, 0);
    }
    for (r = *c;;) { /* up to and including Rx/Tx, when the line has one */
        size_t n;
        lex_ws(&r);
        if ((n = lex_tok(&r, 0)) == 0)
            break;
        if (is_dir(r.p, n)) {
            out->dir = r.p[0];
            r.p += n;
            *c = r;
            break;
        }
        r.p += n;
    }
    lex_ws(c);
    if (lex_tok(c, 0) == 1 && c->p[0] == '-')
        c->p++;
    p0 = c->p;
    for (r = *c;; ntok++) { /* count what is left */
        size_t n;
        lex_ws(&r);
        if ((n = lex_tok(&r, 0)) == 0)
            break;
        if (ntok == 0 && lex_udec(r.p, n, 2, &v) && ((n != 2 && v < 64) || v == want))
            first = (unsigned)v + 1u; /* a length, if exactly that many bytes follow */
        r.p += n;
    }
    if (first != 0 && first == ntok) {
        lex_ws(c);
        c->p += lex_tok(c, 0);
        ntok--;
    } else {
        c->p = p0;
    }
    if (ntok > 64)
        return lex_fail(err, c, BL_REJ_LENGTH, "status data over 64 bytes");
    if (read_bytes(c, d, ntok, err) < 0)
        return BL_EBADMSG;
    out->ts_us += st->trc_base_us;
    out->has_ts = 1;
    bus_name(out->bus, bus);
    if (out->dir == 0)
        out->dir = 'R';
    out->f.flags = 0;
    if (t0 == 'S') {
        uint32_t stw = 0;
        for (unsigned i = 0; i < ntok && i < 4; i++)
            stw = stw << 8 | d[i];
        status_frame(&out->f, stw);
    } else if (t1 == 'C') { /* error counters: rx, tx */
        out->f.flags = BL_CAN_ERR;
        out->f.id = BL_CANERR_CNT;
        out->f.len = 8;
        memset(out->f.data, 0, 8);
        out->f.data[7] = ntok > 0 ? d[0] : 0;
        out->f.data[6] = ntok > 1 ? d[1] : 0;
    } else {
        error_frame(&out->f, d, ntok);
    }
    return 1;
}

static void default_columns(bl_capture_t *st)
{
    static const char v20[] = "NOTIdlD", v21[] = "NOTBIdRLD";
    const char *cols = st->trc_ver >= 21 ? v21 : v20;
    st->trc_ncols = (uint8_t)strlen(cols);
    memcpy(st->trc_cols, cols, st->trc_ncols);
}

/* One 2.x line, column by column as ;$COLUMNS says. */
static int parse_v2(bl_capture_t *st, const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err)
{
    lex_t c = { line, line, line + len };
    uint64_t off = 0, v;
    unsigned bus = 1, dlen = 0;
    int have_len = 0, have_dlc = 0, rc;
    char t0 = 0, t1 = 0;
    bool got_off = false;

    if (st->trc_ncols == 0)
        default_columns(st);
    for (unsigned k = 0; k < st->trc_ncols; k++) {
        char col = st->trc_cols[k];
        size_t n;
        lex_ws(&c);
        if (col == 'D')
            break; /* data: the rest of the line */
        n = lex_tok(&c, 0);
        if (n == 0) {
            if (t0 == 'E' && t1 == 'V')
                return 0;
            return lex_fail(err, &c, BL_REJ_SYNTAX, "line ends before its last column");
        }
        switch (col) {
        case 'N':
            if (!lex_udec(c.p, n, 10, &v))
                return lex_fail(err, &c, BL_REJ_SYNTAX, "expected a message number");
            break;
        case 'O':
            if (!lex_ms_to_us(c.p, n, &off))
                return lex_fail(err, &c, BL_REJ_SYNTAX, "expected a time offset in ms");
            got_off = true;
            break;
        case 'T':
            if (n != 2)
                return lex_fail(err, &c, BL_REJ_SYNTAX, "expected a type (DT, FD, FB, FE, BI, RR, ST, EC, ER, EV)");
            t0 = c.p[0];
            t1 = c.p[1];
            if (t0 == 'E' && t1 == 'V')
                return 0; /* an event: text, no frame */
            if (!((t0 == 'D' && t1 == 'T') || (t0 == 'F' && (t1 == 'D' || t1 == 'B' || t1 == 'E')) ||
                  (t0 == 'B' && t1 == 'I') || (t0 == 'R' && t1 == 'R') || (t0 == 'S' && t1 == 'T') ||
                  (t0 == 'E' && (t1 == 'C' || t1 == 'R'))))
                return lex_fail(err, &c, BL_REJ_SYNTAX, "expected a type (DT, FD, FB, FE, BI, RR, ST, EC, ER, EV)");
            if (t0 == 'S' || t0 == 'E') {
                unsigned bus_col = 0;
                if (!got_off)
                    return lex_fail(err, &c, BL_REJ_SYNTAX, ";$COLUMNS lacks the time offset (O) before the type (T)");
                c.p += n;
                bus_col = k + 1 < st->trc_ncols && st->trc_cols[k + 1] == 'B';
                out->ts_us = off;
                return parse_v2_status(st, &c, t0, t1, bus_col, out, err);
            }
            break;
        case 'B':
            if (lex_is(c.p, n, "-"))
                break;
            if (!lex_udec(c.p, n, 2, &v) || v > 16)
                return lex_fail(err, &c, BL_REJ_SYNTAX, "bus must be 1..16");
            bus = v ? (unsigned)v : 1u;
            break;
        case 'I':
            if (lex_is(c.p, n, "-")) {
                if (t0 == 'D' || t0 == 'F' || t0 == 'B' || t0 == 'R')
                    return lex_fail(err, &c, BL_REJ_SYNTAX, "expected a hex CAN id");
                break;
            }
            if ((rc = read_id(&c, &out->f, err)) < 0)
                return rc;
            continue;
        case 'd':
            if (is_dir(c.p, n))
                out->dir = c.p[0];
            else
                return lex_fail(err, &c, BL_REJ_SYNTAX, "expected Rx or Tx");
            break;
        case 'l':
            if (!lex_udec(c.p, n, 2, &v) || v > 64)
                return lex_fail(err, &c, BL_REJ_SYNTAX, "expected a data length 0..64");
            dlen = (unsigned)v;
            have_len = 1;
            break;
        case 'L':
            if (!lex_udec(c.p, n, 2, &v) || v > 15)
                return lex_fail(err, &c, BL_REJ_SYNTAX, "expected a DLC 0..15");
            if (!have_len)
                dlen = (unsigned)v;
            have_dlc = 1;
            break;
        default: /* R (reserved) and columns this reader does not know */
            break;
        }
        c.p += n;
    }
    if (!got_off || t0 == 0)
        return lex_fail(err, &c, BL_REJ_SYNTAX, ";$COLUMNS lacks the time offset (O) or the type (T)");
    out->ts_us = st->trc_base_us + off;
    out->has_ts = 1;
    bus_name(out->bus, bus);
    if (out->dir == 0)
        out->dir = 'R';
    if (!have_len && !have_dlc)
        return lex_fail(err, &c, BL_REJ_SYNTAX, ";$COLUMNS lacks the data length (l or L)");
    if (t0 == 'R') { /* remote request: the length is the DLC asked for, no data */
        out->f.flags |= BL_CAN_RTR;
        out->f.len = (uint8_t)(dlen > 8 ? 8 : dlen);
        return 1;
    }
    if (t0 == 'D') {
        if (!have_len && dlen > 8)
            dlen = 8; /* classic DLC 9..15 means 8 bytes */
        if (dlen > 8)
            return lex_fail(err, &c, BL_REJ_LENGTH, "a classic CAN frame (DT) has at most 8 bytes");
    } else {
        out->f.flags = (uint8_t)(out->f.flags | BL_CAN_FD | ((t1 == 'B' || t0 == 'B') ? BL_CAN_BRS : 0u) |
                                 ((t1 == 'E' || t0 == 'B') ? BL_CAN_ESI : 0u));
        if (!have_len)
            dlen = fd_len[dlen & 15u];
    }
    if ((rc = read_bytes(&c, out->f.data, dlen, err)) < 0)
        return rc;
    out->f.len = (uint8_t)dlen;
    lex_ws(&c);
    if (!lex_end(&c))
        return lex_fail(err, &c, BL_REJ_LENGTH, "more data bytes than the length says");
    return 1;
}

/* ";$KEY=value" header lines */
static int parse_header(bl_capture_t *st, lex_t *c, bl_line_err_t *err)
{
    const char *v;
    size_t n;

    if (c->end - c->p < 2 || c->p[1] != '$')
        return 0; /* a comment */
    v = memchr(c->p, '=', (size_t)(c->end - c->p));
    if (v == NULL)
        return 0;
    n = (size_t)(v - c->p);
    v++;
    if (lex_is(c->p, n, ";$FILEVERSION")) {
        lex_t t = { v, c->start, c->end };
        size_t k = lex_tok(&t, 0);
        if (k == 3 && v[1] == '.' && (v[0] == '1' || v[0] == '2') && v[2] >= '0' && v[2] <= '9') {
            st->trc_ver = (uint8_t)((v[0] - '0') * 10 + (v[2] - '0'));
            if (st->trc_ver > 21 || (st->trc_ver > 13 && st->trc_ver < 20)) {
                c->p = v;
                return lex_fail(err, c, BL_REJ_SYNTAX, "TRC version not supported (1.0-1.3, 2.0, 2.1)");
            }
            st->trc_ncols = 0;
            return 0;
        }
        c->p = v;
        return lex_fail(err, c, BL_REJ_SYNTAX, "malformed $FILEVERSION (expected 1.1, 2.0, 2.1, ...)");
    }
    if (lex_is(c->p, n, ";$STARTTIME")) {
        if (!bl_trc_parse_starttime(v, (size_t)(c->end - v), &st->trc_base_us)) {
            c->p = v;
            return lex_fail(err, c, BL_REJ_SYNTAX, "malformed $STARTTIME (expected days.fraction)");
        }
        return 0;
    }
    if (lex_is(c->p, n, ";$COLUMNS")) {
        unsigned k = 0;
        const char *p = v;
        bool data_last = false;
        while (p < c->end && !lex_space(*p)) {
            if (k >= BL_TRC_MAX_COLS || (p + 1 < c->end && p[1] != ',' && !lex_space(p[1]))) {
                c->p = p;
                return lex_fail(err, c, BL_REJ_SYNTAX, "malformed $COLUMNS (single letters separated by commas)");
            }
            st->trc_cols[k++] = *p;
            data_last = *p == 'D';
            p++;
            if (p < c->end && *p == ',')
                p++;
        }
        if (k == 0 || !data_last) {
            c->p = v;
            st->trc_ncols = 0;
            return lex_fail(err, c, BL_REJ_SYNTAX, "$COLUMNS must end with the data column D");
        }
        st->trc_ncols = (uint8_t)k;
        return 0;
    }
    return 0;
}

int bl_trc_parse(bl_capture_t *st, const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err)
{
    lex_t c = { line, line, line + len };

    if (st->trc_ver == 0)
        st->trc_ver = 10; /* no $FILEVERSION (yet): 1.0, or a 1.x whose type column tells */
    lex_ws(&c);
    if (lex_end(&c))
        return 0;
    if (*c.p == ';')
        return parse_header(st, &c, err);
    if (st->trc_ver >= 20)
        return parse_v2(st, line, len, out, err);
    return parse_v1(st, line, len, out, err);
}

/* ---- writer ---- */

/* ;$STARTTIME with 12 decimals: one step is 0.0864 µs, so the µs read back are exact */
static void w_starttime(wbuf_t *b, uint64_t us)
{
    uint64_t days = us / UINT64_C(86400000000) + OLE_EPOCH_DAYS, day_us = us % UINT64_C(86400000000);
    uint64_t frac = (day_us * 10000u + 432u) / 864u;
    if (frac >= UINT64_C(1000000000000)) {
        frac -= UINT64_C(1000000000000);
        days++;
    }
    w_udec(b, days, 0, ' ');
    w_ch(b, '.');
    w_udec(b, frac, 12, '0');
}

/* "14.11.2023 22:13:20.000.0", as PCAN-View writes its start time */
static void w_human(wbuf_t *b, uint64_t us)
{
    unsigned y, m, d, wd;
    uint64_t sod = (us / 1000000u) % 86400u;
    lex_civil(us / UINT64_C(86400000000), &y, &m, &d, &wd);
    w_udec(b, d, 2, '0');
    w_ch(b, '.');
    w_udec(b, m, 2, '0');
    w_ch(b, '.');
    w_udec(b, y, 4, '0');
    w_ch(b, ' ');
    w_udec(b, sod / 3600u, 2, '0');
    w_ch(b, ':');
    w_udec(b, sod / 60u % 60u, 2, '0');
    w_ch(b, ':');
    w_udec(b, sod % 60u, 2, '0');
    w_ch(b, '.');
    w_udec(b, us / 1000u % 1000u, 3, '0');
    w_str(b, ".0");
}

void bl_trcw_header(wbuf_t *b, unsigned ver, uint64_t start_us)
{
    w_str(b, ver == 11 ? ";$FILEVERSION=1.1\r\n" : ver == 20 ? ";$FILEVERSION=2.0\r\n" : ";$FILEVERSION=2.1\r\n");
    w_str(b, ";$STARTTIME=");
    w_starttime(b, start_us);
    w_str(b, "\r\n");
    if (ver == 20)
        w_str(b, ";$COLUMNS=N,O,T,I,d,l,D\r\n");
    else if (ver != 11)
        w_str(b, ";$COLUMNS=N,O,T,B,I,d,R,L,D\r\n");
    w_str(b, ";\r\n;   Start time: ");
    w_human(b, start_us);
    w_str(b, " (UTC)\r\n;   Generated by bmslink " BL_VERSION_STRING "\r\n"
             ";-------------------------------------------------------------------------------\r\n");
    if (ver == 11)
        w_str(b, ";   Message Number\r\n"
                 ";   |         Time Offset (ms)\r\n"
                 ";   |         |        Type\r\n"
                 ";   |         |        |        ID (hex)\r\n"
                 ";   |         |        |        |     Data Length\r\n"
                 ";   |         |        |        |     |   Data Bytes (hex) ...\r\n"
                 ";   |         |        |        |     |   |\r\n"
                 ";---+--   ----+----  --+--  ----+---  +  -+ -- -- -- -- -- -- --\r\n");
    else if (ver == 20)
        w_str(b, ";   Message   Time    Type ID     Rx/Tx\r\n"
                 ";   Number    Offset  |    [hex]  |  Data Length\r\n"
                 ";   |         [ms]    |    |      |  |  Data [hex] ...\r\n"
                 ";   |         |       |    |      |  |  |\r\n"
                 ";---+-- ------+------ +- --+----- +- +- +- -- -- -- -- -- -- --\r\n");
    else
        w_str(b, ";   Message   Time    Type    ID     Rx/Tx\r\n"
                 ";   Number    Offset  |  Bus  [hex]  |  Reserved\r\n"
                 ";   |         [ms]    |  |    |      |  |  Data Length Code\r\n"
                 ";   |         |       |  |    |      |  |  |    Data [hex] ...\r\n"
                 ";   |         |       |  |    |      |  |  |    |\r\n"
                 ";---+-- ------+------ +- +- --+----- +- +- +--- +- -- -- -- -- -- -- --\r\n");
}

static void w_data(wbuf_t *b, const uint8_t *d, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (i)
            w_ch(b, ' ');
        w_hex(b, d[i], 2);
    }
}

/* the id column: 4 digits for 11-bit ids, 8 for 29-bit, right-aligned in 8 */
static void w_id(wbuf_t *b, const bl_can_frame_t *f)
{
    if (f->flags & BL_CAN_EXT) {
        w_hex(b, f->id & BL_CAN_EFF_MASK, 8);
    } else {
        w_str(b, "    ");
        w_hex(b, f->id & BL_CAN_SFF_MASK, 4);
    }
}

/* What an error frame says in PCAN terms: a status word (bus state), or an error frame's
 * five bytes. A protocol violation is an error line (its counters imply the state) unless the
 * format has no error lines (1.1: prefer_status) or the frame says bus-off. Returns 1 status
 * (*st), 2 error (e[5]). */
static int pcan_error(const bl_can_frame_t *f, uint32_t *st, uint8_t e[5], bool prefer_status)
{
    bl_canerr_t ce;
    int ok = bl_canerr_parse(f, &ce);
    if (ok == 0 && (ce.state != BL_CANST_UNKNOWN || ce.overflow) &&
        (prefer_status || (ce.classes & BL_CANERR_BUSOFF) || !(ce.classes & BL_CANERR_PROT))) {
        *st = ce.state == BL_CANST_BUS_OFF   ? PCAN_BUSOFF
              : ce.state == BL_CANST_PASSIVE ? PCAN_BUSPASSIVE
              : ce.state == BL_CANST_WARNING ? PCAN_BUSHEAVY
              : ce.state == BL_CANST_ACTIVE  ? 0u
                                             : (((ce.crtl & BL_CANERR_CRTL_RX_OVERFLOW) ? PCAN_OVERRUN : 0u) |
                                               ((ce.crtl & BL_CANERR_CRTL_TX_OVERFLOW) ? PCAN_XMTFULL : 0u));
        return 1;
    }
    e[0] = (uint8_t)((ce.classes & BL_CANERR_PROT) && (ce.prot & 7u) ? (ce.prot & 7u) : 8u);
    e[1] = (uint8_t)((ce.classes & BL_CANERR_PROT) && (ce.prot & 0x80u) ? 0u : 1u);
    e[2] = 0;
    e[3] = (uint8_t)(ce.have_counters ? ce.rx_errors : 0u);
    e[4] = (uint8_t)(ce.have_counters ? ce.tx_errors : 0u);
    return 2;
}

static unsigned dlc_of(unsigned len)
{
    unsigned k = 0;
    while (k < 15 && fd_len[k] < len)
        k++;
    return k;
}

bool bl_trcw_frame(wbuf_t *b, unsigned ver, uint64_t n, uint64_t off_us, unsigned chan, const bl_cap_frame_t *cf,
                   bl_capw_loss_t *loss)
{
    const bl_can_frame_t *f = &cf->f;
    const char *dir = cf->dir == 'T' ? "Tx" : "Rx";
    uint32_t st = 0;
    uint8_t e[5], sb[4];
    int kind = (f->flags & BL_CAN_ERR) ? pcan_error(f, &st, e, ver == 11) : 0;
    bool fd = (f->flags & BL_CAN_FD) && !(f->flags & (BL_CAN_RTR | BL_CAN_ERR));
    unsigned len = f->len > (fd ? 64u : 8u) ? (fd ? 64u : 8u) : f->len;

    sb[0] = (uint8_t)(st >> 24);
    sb[1] = (uint8_t)(st >> 16);
    sb[2] = (uint8_t)(st >> 8);
    sb[3] = (uint8_t)st;
    if (ver == 11) {
        if (fd) {
            loss->dropped_fd++;
            return false;
        }
        if (kind == 2) {
            loss->dropped_err++;
            return false;
        }
        if (off_us % 100u)
            loss->ts_rounded++;
        w_udec(b, n, 6, ' ');
        w_ch(b, ')');
        w_fixed(b, (off_us + 50u) / 100u, 1, 12);
        if (kind == 1) {
            loss->err_reduced++;
            w_str(b, "  Warng  FFFFFFFF  4  ");
            w_data(b, sb, 4);
            w_str(b, st & PCAN_BUSOFF ? "  BUSOFF" : st & PCAN_BUSPASSIVE ? "  BUSPASSIVE" : st & PCAN_BUSHEAVY ? "  BUSHEAVY" : "");
            w_str(b, "\r\n");
            return true;
        }
        w_str(b, "  ");
        w_str(b, dir);
        w_str(b, "     ");
        w_id(b, f);
        w_str(b, "  ");
        w_udec(b, len, 0, ' ');
        w_str(b, "  ");
        if (f->flags & BL_CAN_RTR)
            w_str(b, "RTR");
        else
            w_data(b, f->data, len);
        w_str(b, "\r\n");
        return true;
    }
    w_udec(b, n, 7, ' ');
    w_ch(b, ' ');
    w_fixed(b, off_us, 3, 13);
    w_ch(b, ' ');
    if (kind)
        w_str(b, kind == 1 ? "ST" : "ER");
    else if (f->flags & BL_CAN_RTR)
        w_str(b, "RR");
    else if (!fd)
        w_str(b, "DT");
    else
        w_str(b, (f->flags & BL_CAN_BRS) ? ((f->flags & BL_CAN_ESI) ? "BI" : "FB") : (f->flags & BL_CAN_ESI) ? "FE" : "FD");
    w_ch(b, ' ');
    if (ver != 20) {
        w_udec(b, chan, 2, ' ');
        w_ch(b, ' ');
    }
    if (kind) {
        loss->err_reduced++;
        w_str(b, "       -");
    } else {
        w_id(b, f);
    }
    w_ch(b, ' ');
    w_str(b, dir);
    w_ch(b, ' ');
    if (ver != 20)
        w_str(b, "-  ");
    {
        /* 2.1 gives the DLC, 2.0 the byte count */
        unsigned shown = kind == 1 ? 4u : kind == 2 ? 5u : ver == 20 ? len : fd ? dlc_of(len) : len;
        unsigned bytes = kind == 1 ? 4u : kind == 2 ? 5u : fd ? fd_len[dlc_of(len)] : len;
        const uint8_t *d = kind == 1 ? sb : kind == 2 ? e : f->data;
        uint8_t pad[64];
        if (ver == 20 && fd)
            bytes = len;
        w_udec(b, shown, 0, ' ');
        w_str(b, shown < 10 ? "    " : "   ");
        if (f->flags & BL_CAN_RTR && !kind) {
            w_str(b, "\r\n");
            return true;
        }
        if (bytes > len && !kind) { /* an FD length that is no DLC size: padded with zeros */
            memset(pad, 0, sizeof pad);
            memcpy(pad, f->data, len);
            d = pad;
        }
        w_data(b, d, bytes);
    }
    w_str(b, "\r\n");
    return true;
}
