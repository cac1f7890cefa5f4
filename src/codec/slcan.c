/* slcan (Lawicel) line framing: a byte-at-a-time line splitter and a table of line kinds. */
#include "bmslink/slcan.h"

#include <string.h>

/* CAN FD DLC codes 9..15 stand for these lengths (ISO 11898-1:2015). */
static const uint8_t fd_len[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64 };

static const uint32_t bitrates[9] = { 10000, 20000, 50000, 100000, 125000, 250000, 500000, 800000, 1000000 };

static const char hexdig[] = "0123456789ABCDEF";

const uint32_t *bl_slcan_bitrates(size_t *n)
{
    *n = BL_ARRAY_LEN(bitrates);
    return bitrates;
}

int bl_slcan_bitrate_code(uint32_t bitrate)
{
    for (size_t i = 0; i < BL_ARRAY_LEN(bitrates); i++)
        if (bitrates[i] == bitrate)
            return (int)i;
    return BL_EINVAL;
}

void bl_slcan_rx_init(bl_slcan_rx_t *p)
{
    memset(p, 0, sizeof *p);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* n hex digits at s; -1 and *bad = offset of the first bad digit */
static int64_t hexnum(const char *s, size_t n, size_t *bad)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(s[i]);
        if (h < 0) {
            *bad = i;
            return -1;
        }
        v = v * 16 + h;
    }
    return v;
}

static void bad(bl_slcan_rx_t *p, bl_slcan_event_t *ev, bl_reject_t why, const char *what, size_t col)
{
    ev->kind = BL_SLCAN_BAD;
    ev->why = why;
    ev->what = what;
    ev->col = (uint16_t)col; /* a line is at most BL_SLCAN_LINE_MAX long */
    p->rejected[why]++;
}

/* t/T/r/R/d/D/b/B lines. Columns in messages are 1-based. */
static void parse_frame(bl_slcan_rx_t *p, const char *s, size_t n, bl_slcan_event_t *ev)
{
    char k = s[0];
    bool ext = (k == 'T' || k == 'R' || k == 'D' || k == 'B');
    bool rtr = (k == 'r' || k == 'R');
    bool fd = (k == 'd' || k == 'D' || k == 'b' || k == 'B');
    size_t idlen = ext ? 8u : 3u, at, nd, off = 0;
    int64_t id, v;
    int dlc;
    uint8_t len;
    bl_can_frame_t *f = &ev->frame;

    if (n < 2 + idlen) {
        bad(p, ev, BL_REJ_SYNTAX, ext ? "frame line shorter than 'T' + 8 id digits + length"
                                      : "frame line shorter than 't' + 3 id digits + length",
            n + 1);
        return;
    }
    if ((id = hexnum(s + 1, idlen, &off)) < 0) {
        bad(p, ev, BL_REJ_SYNTAX, "bad hex digit in the id", 2 + off);
        return;
    }
    if (id > (ext ? (int64_t)BL_CAN_EFF_MASK : (int64_t)BL_CAN_SFF_MASK)) {
        bad(p, ev, BL_REJ_SYNTAX, ext ? "29-bit id above 0x1FFFFFFF" : "11-bit id above 0x7FF", 2);
        return;
    }
    at = 1 + idlen;
    dlc = hexval(s[at]);
    if (dlc < 0 || (!fd && dlc > 9)) {
        bad(p, ev, BL_REJ_SYNTAX, "length is not a digit", at + 1);
        return;
    }
    if (!fd && dlc > 8) {
        bad(p, ev, BL_REJ_LENGTH, "length above 8", at + 1);
        return;
    }
    len = fd ? fd_len[dlc] : (uint8_t)dlc;
    at++;
    nd = rtr ? 0u : 2u * len;
    if (n - at != nd && n - at != nd + 4) {
        bad(p, ev, BL_REJ_LENGTH, rtr ? "characters after a remote frame's length" : "data digits do not match the length",
            (n - at < nd ? n : at + nd) + 1);
        return;
    }
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < nd; i += 2) {
        if ((v = hexnum(s + at + i, 2, &off)) < 0) {
            bad(p, ev, BL_REJ_SYNTAX, "bad hex digit in the data", at + i + off + 1);
            return;
        }
        f->data[i / 2] = (uint8_t)v;
    }
    ev->has_ts = false;
    ev->ts_ms = 0;
    if (n - at == nd + 4) {
        if ((v = hexnum(s + at + nd, 4, &off)) < 0) {
            bad(p, ev, BL_REJ_SYNTAX, "bad hex digit in the timestamp", at + nd + off + 1);
            return;
        }
        if (v > 59999) {
            bad(p, ev, BL_REJ_SYNTAX, "timestamp above 59999 ms", at + nd + 1);
            return;
        }
        ev->has_ts = true;
        ev->ts_ms = (uint16_t)v;
    }
    f->id = (uint32_t)id;
    f->len = len;
    f->flags = (uint8_t)((ext ? BL_CAN_EXT : 0u) | (rtr ? BL_CAN_RTR : 0u) | (fd ? BL_CAN_FD : 0u));
    ev->kind = BL_SLCAN_FRAME;
    p->frames++;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hexval(s[i]) < 0)
            return false;
    return n > 0;
}

static void copy_text(bl_slcan_event_t *ev, const char *s, size_t n)
{
    size_t k = n < sizeof ev->text - 1 ? n : sizeof ev->text - 1;
    memcpy(ev->text, s, k);
    ev->text[k] = '\0';
}

/* One complete line (no terminator), n >= 1. */
static void classify(bl_slcan_rx_t *p, const char *s, size_t n, bl_slcan_event_t *ev)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7E) {
            bad(p, ev, BL_REJ_SYNTAX, "control or non-ASCII byte", i + 1);
            return;
        }
    switch (s[0]) {
    case 't': case 'T': case 'r': case 'R': case 'd': case 'D': case 'b': case 'B':
        parse_frame(p, s, n, ev);
        return;
    case 'z': case 'Z':
        if (n == 1) {
            ev->kind = BL_SLCAN_TX_ACK;
            return;
        }
        if (s[0] == 'Z' && n == 2 && (s[1] == '0' || s[1] == '1')) {
            ev->kind = BL_SLCAN_HOST_CMD; /* another host switching timestamps */
            copy_text(ev, s, n);
            return;
        }
        break;
    case 'F':
        if (n == 3 && all_hex(s + 1, 2)) {
            size_t off = 0;
            ev->kind = BL_SLCAN_STATUS;
            ev->status = (uint8_t)hexnum(s + 1, 2, &off);
            return;
        }
        if (n == 1) {
            ev->kind = BL_SLCAN_HOST_CMD;
            copy_text(ev, s, n);
            return;
        }
        break;
    case 'V': case 'v': case 'N':
        ev->kind = n == 1 ? BL_SLCAN_HOST_CMD : BL_SLCAN_INFO;
        copy_text(ev, s, n);
        return;
    case 'O': case 'C': case 'L':
        if (n == 1) {
            ev->kind = BL_SLCAN_HOST_CMD;
            copy_text(ev, s, n);
            return;
        }
        break;
    case 'S': case 's': case 'M': case 'm': case 'W': case 'X': case 'U': case 'Q':
        if (n <= 9 && all_hex(s + 1, n - 1)) {
            ev->kind = BL_SLCAN_HOST_CMD;
            copy_text(ev, s, n);
            return;
        }
        break;
    default:
        break;
    }
    bad(p, ev, BL_REJ_SYNTAX, "not an slcan frame or adapter reply", 1);
}

size_t bl_slcan_push(bl_slcan_rx_t *p, const uint8_t *buf, size_t len, bl_slcan_event_t *ev)
{
    ev->kind = BL_SLCAN_NONE;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        bool end = (c == '\r' || c == '\n');

        if (p->skipping) {
            if (c != '\a') {
                if (end)
                    p->skipping = false;
                continue;
            }
            p->skipping = false; /* a BEL ends the junk and still counts as an answer */
        }
        if (c == '\a') {
            if (p->len > 0) {
                /* half a line, then a BEL: the half line is lost, say so first */
                bad(p, ev, BL_REJ_SYNTAX, "line cut short by BEL", p->len + 1);
                p->len = 0;
                return i;
            }
            ev->kind = BL_SLCAN_BEL;
            return i + 1;
        }
        if (end) {
            size_t n = p->len;
            if (n == 0) {
                if (c == '\n')
                    continue; /* LF after CR from adapters that send CRLF */
                ev->kind = BL_SLCAN_OK;
                return i + 1;
            }
            p->len = 0;
            classify(p, p->line, n, ev);
            return i + 1;
        }
        if (p->len == sizeof p->line) {
            bad(p, ev, BL_REJ_TOO_LONG, "line longer than any slcan line (garbage or wrong baud rate?)",
                sizeof p->line + 1);
            p->len = 0;
            p->skipping = true;
            return i + 1;
        }
        p->line[p->len++] = (char)c;
    }
    return len;
}

int bl_slcan_format(const bl_can_frame_t *f, char *buf, size_t size)
{
    char tmp[BL_SLCAN_LINE_MAX];
    bool ext = (f->flags & BL_CAN_EXT) != 0, rtr = (f->flags & BL_CAN_RTR) != 0, fd = (f->flags & BL_CAN_FD) != 0;
    unsigned idlen = ext ? 8u : 3u, dlc;
    size_t o = 0;

    if ((f->flags & BL_CAN_ERR) || (fd && rtr) || f->id > (ext ? BL_CAN_EFF_MASK : BL_CAN_SFF_MASK))
        return BL_EINVAL;
    if (fd) {
        for (dlc = 0; dlc < 16 && fd_len[dlc] != f->len; dlc++)
            ;
        if (dlc == 16)
            return BL_EINVAL;
        tmp[o++] = ext ? 'D' : 'd';
    } else {
        if (f->len > 8)
            return BL_EINVAL;
        dlc = f->len;
        tmp[o++] = rtr ? (ext ? 'R' : 'r') : (ext ? 'T' : 't');
    }
    for (int i = (int)idlen - 1; i >= 0; i--)
        tmp[o++] = hexdig[(f->id >> (4 * i)) & 15u];
    tmp[o++] = hexdig[dlc];
    if (!rtr)
        for (unsigned i = 0; i < f->len; i++) {
            tmp[o++] = hexdig[f->data[i] >> 4];
            tmp[o++] = hexdig[f->data[i] & 15u];
        }
    tmp[o++] = '\r';
    if (o > size)
        return BL_ENOSPC;
    memcpy(buf, tmp, o);
    return (int)o;
}
