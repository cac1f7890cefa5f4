/*
 * Pylontech-style ASCII-hex frames (rs485-pylontech.md §2-3):
 *   ~ VER ADR CID1 CID2 LENGTH INFO CHKSUM CR
 * LENGTH = LCHKSUM (4 bits) | LENID (12 bits, INFO characters); CHKSUM is the
 * two's complement of the sum of the ASCII characters VER..INFO.
 */
#include "bmslink/rs485.h"

static const char hexdig[] = "0123456789ABCDEF";

/* Each character as a hex digit: 0x10 | value, 0 when it is not one (one table look-up
 * per character instead of three range tests: every frame's every character passes here) */
#define HX(ch, v) [ch] = (uint8_t)(0x10u | (v))
static const uint8_t hexv[256] = {
    HX('0', 0),  HX('1', 1),  HX('2', 2),  HX('3', 3),  HX('4', 4),  HX('5', 5),  HX('6', 6),  HX('7', 7),
    HX('8', 8),  HX('9', 9),  HX('A', 10), HX('B', 11), HX('C', 12), HX('D', 13), HX('E', 14), HX('F', 15),
    HX('a', 10), HX('b', 11), HX('c', 12), HX('d', 13), HX('e', 14), HX('f', 15),
};
#undef HX

/* n hex characters (n <= 4, all verified hex) as a number */
static uint32_t hexnum(const uint8_t *p, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 4 | (hexv[p[i]] & 0xFu);
    return v;
}

static int fail(bl_rsr_t *why, uint32_t *got, uint32_t *want, bl_rsr_t w, uint32_t g, uint32_t x)
{
    *why = w;
    if (got != NULL)
        *got = g;
    if (want != NULL)
        *want = x;
    return BL_EBADMSG;
}

/* Characters c[0..n) all hex digits? Their sum into *sum. */
static unsigned hex_sum(const uint8_t *c, size_t n, uint32_t *sum)
{
    unsigned all = 0x10u;
    for (size_t i = 0; i < n; i++) {
        all &= hexv[c[i]];
        *sum += c[i];
    }
    return all;
}

int bl_pyl_parse(const uint8_t *frame, size_t n, uint8_t *info_buf, size_t cap, bl_pyl_frame_t *f,
                 bl_rsr_t *why, uint32_t *got, uint32_t *want)
{
    const uint8_t *c;
    size_t nc, ninfo;
    uint32_t length, chk, sum = 0;
    unsigned all;

    *why = BL_RSR_NONE;
    if (n < 1 || frame[0] != '~')
        return fail(why, got, want, BL_RSR_SYNTAX, n ? frame[0] : 0, '~');
    if (frame[n - 1] == '\r')
        n--;
    c = frame + 1;
    nc = n - 1;
    /* one pass: every character a hex digit, the sum CHKSUM is checked against and, when the
     * frame has the shape of one and the caller's buffer holds it, the INFO bytes (on a reject
     * the buffer's contents are undefined) */
    if (nc >= 16 && (nc - 16) % 2 == 0 && cap != 0 && (nc - 16) / 2 <= cap) {
        const uint8_t *q = c + 12;
        all = hex_sum(c, 12, &sum);
        for (size_t i = 0; i < (nc - 16) / 2; i++, q += 2) {
            unsigned hi = hexv[q[0]], lo = hexv[q[1]];
            all &= hi & lo;
            sum += (uint32_t)q[0] + q[1];
            info_buf[i] = (uint8_t)(hi << 4 | (lo & 0xFu));
        }
        all &= hex_sum(q, 4, &sum);
    } else {
        all = hex_sum(c, nc, &sum);
    }
    if (all == 0) {
        for (size_t i = 0; i < nc; i++)
            if (hexv[c[i]] == 0)
                return fail(why, got, want, BL_RSR_SYNTAX, c[i], (uint32_t)i + 1u);
    }
    /* 12 header characters and 4 of CHKSUM at least; INFO comes in whole bytes */
    if (nc < 16 || (nc - 16) % 2 != 0)
        return fail(why, got, want, BL_RSR_LENGTH, (uint32_t)nc, 16);
    ninfo = nc - 16;
    /* CHKSUM first: it covers every character, so a transmission error shows as one */
    chk = hexnum(c + nc - 4, 4);
    sum -= (uint32_t)c[nc - 4] + c[nc - 3] + c[nc - 2] + c[nc - 1];
    sum = (~sum + 1u) & 0xFFFFu;
    if (chk != sum)
        return fail(why, got, want, BL_RSR_CHECKSUM, chk, sum);
    length = hexnum(c + 8, 4);
    if ((length >> 12) != bl_pyl_lchksum((uint16_t)(length & 0xFFF)))
        return fail(why, got, want, BL_RSR_LCHKSUM, length >> 12, bl_pyl_lchksum((uint16_t)(length & 0xFFF)));
    if ((size_t)(length & 0xFFF) != ninfo)
        return fail(why, got, want, BL_RSR_LENGTH, length & 0xFFF, (uint32_t)ninfo);
    f->ver = (uint8_t)hexnum(c, 2);
    f->adr = (uint8_t)hexnum(c + 2, 2);
    f->cid1 = (uint8_t)hexnum(c + 4, 2);
    f->cid2 = (uint8_t)hexnum(c + 6, 2);
    f->lenid = (uint16_t)(length & 0xFFF);
    f->chksum = (uint16_t)chk;
    f->info = info_buf;
    f->info_len = ninfo / 2;
    if (cap == 0)
        return 0; /* the caller wanted the checks only */
    if (f->info_len > cap)
        return fail(why, got, want, BL_RSR_TOO_LONG, (uint32_t)f->info_len, (uint32_t)cap);
    return 0; /* INFO decoded above */
}

/* digits hex characters of v into o; returns their sum (for CHKSUM) */
static uint32_t put_hex(uint8_t *o, unsigned v, unsigned digits)
{
    uint32_t sum = 0;
    for (unsigned i = 0; i < digits; i++) {
        o[i] = (uint8_t)hexdig[(v >> (4u * (digits - 1u - i))) & 0xFu];
        sum += o[i];
    }
    return sum;
}

int bl_pyl_build(uint8_t ver, uint8_t adr, uint8_t cid1, uint8_t cid2, const uint8_t *info, size_t info_len,
                 uint8_t *out, size_t cap)
{
    size_t need = 1 + 12 + 2 * info_len + 4 + 1;
    uint16_t lenid;
    uint32_t sum;
    uint8_t *o;

    if (info_len > 2047)
        return BL_EINVAL;
    if (cap < need)
        return BL_ENOSPC;
    lenid = (uint16_t)(2 * info_len);
    out[0] = '~';
    sum = put_hex(out + 1, ver, 2);
    sum += put_hex(out + 3, adr, 2);
    sum += put_hex(out + 5, cid1, 2);
    sum += put_hex(out + 7, cid2, 2);
    sum += put_hex(out + 9, (unsigned)bl_pyl_lchksum(lenid) << 12 | lenid, 4);
    /* INFO and the sum CHKSUM is made of in the same pass */
    o = out + 13;
    for (size_t i = 0; i < info_len; i++, o += 2) {
        o[0] = (uint8_t)hexdig[info[i] >> 4];
        o[1] = (uint8_t)hexdig[info[i] & 0xFu];
        sum += (uint32_t)o[0] + o[1];
    }
    (void)put_hex(o, (~sum + 1u) & 0xFFFFu, 4);
    out[need - 1] = '\r';
    return (int)need;
}

int bl_daly_build(uint8_t addr, uint8_t id, const uint8_t data[8], uint8_t *out, size_t cap)
{
    if (cap < 13)
        return BL_ENOSPC;
    out[0] = 0xA5;
    out[1] = addr;
    out[2] = id;
    out[3] = 0x08;
    for (unsigned i = 0; i < 8; i++)
        out[4 + i] = data != NULL ? data[i] : 0;
    out[12] = bl_sum8(out, 12);
    return 13;
}

int bl_jbd_build(uint8_t b1, uint8_t b2, const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
    uint16_t chk;
    if (len > 255)
        return BL_EINVAL;
    if (cap < len + 7)
        return BL_ENOSPC;
    out[0] = 0xDD;
    out[1] = b1;
    out[2] = b2;
    out[3] = (uint8_t)len;
    for (size_t i = 0; i < len; i++)
        out[4 + i] = data[i];
    /* request: register + length + data; response: status + length + data (§2.2) */
    chk = bl_jbd_sum16(out + 2, len + 2);
    out[4 + len] = (uint8_t)(chk >> 8);
    out[5 + len] = (uint8_t)chk;
    out[6 + len] = 0x77;
    return (int)(len + 7);
}

int bl_jk_build(uint8_t cmd, uint8_t source, uint8_t transport, const uint8_t *info, size_t len, uint8_t *out,
                size_t cap)
{
    size_t total = 2 + 2 + 4 + 3 + len + 4 + 1 + 4, at = 0;
    uint16_t sum;
    if (total - 2 > 0xFFFF)
        return BL_EINVAL;
    if (cap < total)
        return BL_ENOSPC;
    out[at++] = 0x4E;
    out[at++] = 0x57;
    /* LENGTH counts every byte after the start bytes, itself and the checksum included (§3) */
    out[at++] = (uint8_t)((total - 2) >> 8);
    out[at++] = (uint8_t)(total - 2);
    for (unsigned i = 0; i < 4; i++)
        out[at++] = 0; /* terminal id */
    out[at++] = cmd;
    out[at++] = source;
    out[at++] = transport;
    for (size_t i = 0; i < len; i++)
        out[at++] = info[i];
    for (unsigned i = 0; i < 4; i++)
        out[at++] = 0; /* record number */
    out[at++] = 0x68;
    sum = bl_sum16(out, at);
    out[at++] = 0;
    out[at++] = 0;
    out[at++] = (uint8_t)(sum >> 8);
    out[at++] = (uint8_t)sum;
    return (int)at;
}
