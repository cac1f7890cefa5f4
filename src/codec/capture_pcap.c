/*
 * pcap and pcapng files of SocketCAN traffic: a pure record parser (the transport reads the
 * file and hands over bytes; nothing here reads past them) and the writers.
 *
 * Sources: the pcap file format (draft-ietf-opsawg-pcap), the pcapng format
 * (draft-ietf-opsawg-pcapng: SHB, IDB with if_name / if_tsresol / if_tsoffset, EPB with
 * epb_flags, SPB, the obsolete packet block), and tcpdump.org's LINKTYPE_CAN_SOCKETCAN (227):
 * the id word in network byte order (0x80000000 29-bit, 0x40000000 remote, 0x20000000 error
 * frame), the payload length, the CAN FD flags (0x01 bit rate switch, 0x02 error state
 * indicator, 0x04 FD frame), two reserved bytes, the data. A frame is CAN FD when its FD flag is
 * set or its packet is 72 bytes (CANFD_MTU) long; a CAN XL frame (0x80 in the fifth byte) is
 * named and skipped. Also read: Linux cooked captures (SLL 113, SLL2 276) of the CAN and CAN FD
 * protocols, and tshark's export of candump logs (WIRESHARK_UPPER_PDU 252, dissector
 * "can-hostendian", "can-bigendian" or "canfd"); in those the CAN header is in the byte order
 * of the host that wrote the file, which is the file's own.
 */
#include "capture_lex.h"

#define PCAP_MAGIC_US 0xA1B2C3D4u
#define PCAP_MAGIC_NS 0xA1B23C4Du
#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_BOM 0x1A2B3C4Du
#define PCAPNG_IDB 1u
#define PCAPNG_OPB 2u
#define PCAPNG_SPB 3u
#define PCAPNG_EPB 6u
#define PCAP_MAX_RECORD 262144u /* libpcap / Wireshark's largest standard packet */

#define SCAN_EFF 0x80000000u
#define SCAN_RTR 0x40000000u
#define SCAN_ERR 0x20000000u
#define CANFD_BRS 0x01u
#define CANFD_ESI 0x02u
#define CANFD_FDF 0x04u
#define CANXL_XLF 0x80u
#define CAN_MTU 16u
#define CANFD_MTU 72u

static uint16_t rd16(const uint8_t *b, bool be)
{
    return be ? (uint16_t)((unsigned)b[0] << 8 | b[1]) : (uint16_t)((unsigned)b[1] << 8 | b[0]);
}

static uint32_t rd32(const uint8_t *b, bool be)
{
    return be ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
              : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

void bl_pcap_init(bl_pcap_t *p)
{
    memset(p, 0, sizeof *p);
}

bl_capfmt_t bl_pcap_sniff(const uint8_t *buf, size_t len)
{
    uint32_t m;
    if (len < 4)
        return BL_FMT_AUTO;
    m = rd32(buf, false);
    if (m == PCAP_MAGIC_US || m == PCAP_MAGIC_NS || rd32(buf, true) == PCAP_MAGIC_US ||
        rd32(buf, true) == PCAP_MAGIC_NS)
        return BL_FMT_PCAP;
    if (m == PCAPNG_SHB)
        return BL_FMT_PCAPNG;
    return BL_FMT_AUTO;
}

const char *bl_linktype_str(unsigned lt)
{
    switch (lt) {
    case 0: return "null/loopback";
    case 1: return "Ethernet";
    case 101: return "raw IP";
    case BL_LINKTYPE_LINUX_SLL: return "Linux cooked (SLL)";
    case BL_LINKTYPE_CAN_SOCKETCAN: return "SocketCAN";
    case BL_LINKTYPE_WIRESHARK_UPPER_PDU: return "Wireshark upper PDU";
    case BL_LINKTYPE_LINUX_SLL2: return "Linux cooked (SLL2)";
    default: return "unknown";
    }
}

static bool linktype_can(unsigned lt)
{
    return lt == BL_LINKTYPE_CAN_SOCKETCAN || lt == BL_LINKTYPE_LINUX_SLL || lt == BL_LINKTYPE_LINUX_SLL2 ||
           lt == BL_LINKTYPE_WIRESHARK_UPPER_PDU;
}

static int bad(bl_line_err_t *err, bl_reject_t why, const char *what)
{
    err->why = why;
    err->what = what;
    err->col = 0;
    return BL_EBADMSG;
}

/* ---- the SocketCAN header (16 or 72 bytes) ---- */

/* be: byte order of the id word; force_fd: the encapsulation says CAN FD.
 * 1 frame, 0 not CAN after all, BL_EBADMSG. */
static int socketcan(const uint8_t *h, size_t n, bool be, bool force_fd, bl_cap_frame_t *out, bl_line_err_t *err)
{
    uint32_t w;
    unsigned len;
    bool fd;
    bl_can_frame_t *f = &out->f;

    if (n < 8)
        return bad(err, BL_REJ_LENGTH, "CAN header cut short (under 8 bytes)");
    if (h[4] & CANXL_XLF)
        return bad(err, BL_REJ_SYNTAX, "CAN XL frame (bmslink reads classic CAN and CAN FD)");
    w = rd32(h, be);
    len = h[4];
    fd = force_fd || (h[5] & CANFD_FDF) != 0 || n == CANFD_MTU;
    f->flags = 0;
    if (w & SCAN_ERR) {
        f->flags = BL_CAN_ERR;
        f->id = w & BL_CAN_EFF_MASK;
        fd = false;
    } else if (w & SCAN_EFF) {
        f->flags = BL_CAN_EXT;
        f->id = w & BL_CAN_EFF_MASK;
    } else {
        if ((w & BL_CAN_EFF_MASK) > BL_CAN_SFF_MASK)
            return bad(err, BL_REJ_SYNTAX, "11-bit id above 0x7FF");
        f->id = w & BL_CAN_SFF_MASK;
    }
    if (w & SCAN_RTR) {
        if (fd)
            return bad(err, BL_REJ_SYNTAX, "a CAN FD frame cannot be a remote request");
        if (len > 8)
            return bad(err, BL_REJ_LENGTH, "remote request with a DLC over 8");
        f->flags |= BL_CAN_RTR;
        f->len = (uint8_t)len;
        return 1;
    }
    if (len > (fd ? 64u : 8u))
        return bad(err, BL_REJ_LENGTH, fd ? "CAN FD payload over 64 bytes" : "classic CAN payload over 8 bytes");
    if (len > n - 8u)
        return bad(err, BL_REJ_LENGTH, "packet cut short: fewer data bytes captured than its length says");
    if (fd)
        f->flags = (uint8_t)(f->flags | BL_CAN_FD | ((h[5] & CANFD_BRS) ? BL_CAN_BRS : 0u) |
                             ((h[5] & CANFD_ESI) ? BL_CAN_ESI : 0u));
    f->len = (uint8_t)len;
    memcpy(f->data, h + 8, len);
    return 1;
}

/* a packet of interface ifc: strip the encapsulation, read the CAN header */
static int payload(const bl_pcap_t *p, const bl_pcap_if_t *ifc, const uint8_t *d, size_t n, bl_cap_frame_t *out,
                   bl_line_err_t *err)
{
    bool be = p->be != 0;
    switch (ifc->linktype) {
    case BL_LINKTYPE_CAN_SOCKETCAN:
        return socketcan(d, n, true, false, out, err);
    case BL_LINKTYPE_LINUX_SLL: {
        uint16_t proto;
        if (n < 16)
            return bad(err, BL_REJ_SYNTAX, "cooked (SLL) header cut short");
        proto = rd16(d + 14, true);
        if (proto != 0x000C && proto != 0x000D)
            return 0;
        out->dir = rd16(d, true) == 4 ? 'T' : 'R'; /* packet type 4: sent by us */
        return socketcan(d + 16, n - 16, be, proto == 0x000D, out, err);
    }
    case BL_LINKTYPE_LINUX_SLL2: {
        uint16_t proto;
        if (n < 20)
            return bad(err, BL_REJ_SYNTAX, "cooked (SLL2) header cut short");
        proto = rd16(d, true);
        if (proto != 0x000C && proto != 0x000D)
            return 0;
        out->dir = d[10] == 4 ? 'T' : 'R';
        return socketcan(d + 20, n - 20, be, proto == 0x000D, out, err);
    }
    case BL_LINKTYPE_WIRESHARK_UPPER_PDU: {
        size_t o = 0;
        int kind = 0; /* 1 host endian, 2 big endian, 3 CAN FD (host endian) */
        for (;;) {
            uint16_t tag, tl;
            if (o + 4 > n)
                return bad(err, BL_REJ_SYNTAX, "exported-PDU tags run past the packet");
            tag = rd16(d + o, true);
            tl = rd16(d + o + 2, true);
            o += 4;
            if (tag == 0)
                break;
            if (tl > n - o)
                return bad(err, BL_REJ_SYNTAX, "exported-PDU tag runs past the packet");
            if (tag == 12 || tag == 1) { /* EXP_PDU_TAG_DISSECTOR_NAME, _PROTO_NAME */
                size_t k = 0;
                while (k < tl && d[o + k] != 0)
                    k++;
                if (lex_is((const char *)d + o, k, "can-hostendian"))
                    kind = 1;
                else if (lex_is((const char *)d + o, k, "can-bigendian"))
                    kind = 2;
                else if (lex_is((const char *)d + o, k, "canfd"))
                    kind = 3;
            }
            o += tl;
        }
        if (kind == 0)
            return 0;
        return socketcan(d + o, n - o, kind == 2 ? true : be, kind == 3, out, err);
    }
    default:
        return 0;
    }
}

static void set_bus(const bl_pcap_t *p, unsigned iface, bl_cap_frame_t *out)
{
    const bl_pcap_if_t *ifc = &p->ifs[iface];
    if (ifc->name[0]) {
        memcpy(out->bus, ifc->name, sizeof out->bus);
        return;
    }
    memcpy(out->bus, "can", 3);
    if (iface >= 10) {
        out->bus[3] = (char)('0' + iface / 10u);
        out->bus[4] = (char)('0' + iface % 10u);
        out->bus[5] = '\0';
    } else {
        out->bus[3] = (char)('0' + iface);
        out->bus[4] = '\0';
    }
}

/* ---- pcap ---- */

static int pcap_header(bl_pcap_t *p, const uint8_t *b, size_t len, size_t *adv, bl_line_err_t *err)
{
    uint32_t m;
    *adv = 24;
    if (len < 24)
        return BL_EAGAIN;
    m = rd32(b, false);
    p->be = m != PCAP_MAGIC_US && m != PCAP_MAGIC_NS;
    m = rd32(b, p->be);
    p->nsec = m == PCAP_MAGIC_NS;
    *adv = 0;
    if (rd16(b + 4, p->be) != 2)
        return bad(err, BL_REJ_SYNTAX, "pcap major version is not 2");
    p->snaplen = rd32(b + 16, p->be);
    p->kind = 1;
    p->nif = 1;
    memset(&p->ifs[0], 0, sizeof p->ifs[0]);
    p->ifs[0].linktype = (uint16_t)(rd32(b + 20, p->be) & 0xFFFFu);
    p->ifs[0].can = linktype_can(p->ifs[0].linktype);
    p->ifs[0].tsres = p->nsec ? 9 : 6;
    if (!p->ifs[0].can) /* say what it is when it is a common one: a capture of the wrong interface */
        return bad(err, BL_REJ_SYNTAX,
                   p->ifs[0].linktype == 1     ? "an Ethernet capture (link type 1), not CAN (SocketCAN is 227)"
                   : p->ifs[0].linktype == 101 ? "a raw IP capture (link type 101), not CAN (SocketCAN is 227)"
                   : p->ifs[0].linktype == 0   ? "a loopback capture (link type 0), not CAN (SocketCAN is 227)"
                                               : "the capture's link type carries no CAN frames (SocketCAN is 227)");
    *adv = 24;
    return 0;
}

static int pcap_record(bl_pcap_t *p, const uint8_t *b, size_t len, size_t *adv, bl_cap_frame_t *out,
                       bl_line_err_t *err)
{
    uint32_t incl, frac;
    int rc;

    *adv = 16;
    if (len < 16)
        return BL_EAGAIN;
    incl = rd32(b + 8, p->be);
    if (incl > PCAP_MAX_RECORD) {
        *adv = 0;
        return bad(err, BL_REJ_SYNTAX, "record length over 262144 bytes: the file is damaged from here on");
    }
    *adv = 16u + incl;
    if (*adv > BL_PCAP_BLOCK_MAX) { /* the whole record, header included, is what would be asked for */
        p->packets++;
        return bad(err, BL_REJ_SYNTAX, "packet far too long for a CAN frame: skipped");
    }
    if (len < *adv)
        return BL_EAGAIN;
    p->packets++;
    frac = rd32(b + 4, p->be);
    if (frac >= (p->nsec ? 1000000000u : 1000000u))
        return bad(err, BL_REJ_SYNTAX, "timestamp fraction of a second over 1 s");
    out->ts_us = (uint64_t)rd32(b, p->be) * 1000000u + (p->nsec ? frac / 1000u : frac);
    out->has_ts = 1;
    set_bus(p, 0, out);
    rc = payload(p, &p->ifs[0], b + 16, incl, out, err);
    if (rc == 0)
        p->other++;
    return rc;
}

/* ---- pcapng ---- */

static void idb_options(bl_pcap_if_t *ifc, const uint8_t *o, size_t n, bool be, bl_line_err_t *err, int *rc)
{
    size_t k = 0;
    while (k + 4 <= n) {
        uint16_t code = rd16(o + k, be), ol = rd16(o + k + 2, be);
        const uint8_t *v = o + k + 4;
        if (code == 0)
            return;
        if (ol > n - k - 4) {
            *rc = bad(err, BL_REJ_SYNTAX, "interface option runs past its block");
            return;
        }
        if (code == 2) { /* if_name */
            size_t m = 0;
            while (m < ol && m < BL_BUS_NAME_MAX - 1 && v[m] != 0 && v[m] > ' ' && v[m] < 0x7F)
                m++;
            memcpy(ifc->name, v, m);
            ifc->name[m] = '\0';
        } else if (code == 9 && ol >= 1) { /* if_tsresol */
            uint8_t r = v[0] & 0x7Fu;
            if ((v[0] & 0x80u) ? r > 63 : r > 19)
                *rc = bad(err, BL_REJ_SYNTAX, "if_tsresol out of range");
            else {
                ifc->tsres = r;
                ifc->tsres_pow2 = (v[0] & 0x80u) != 0;
            }
        } else if (code == 14 && ol >= 8) { /* if_tsoffset, seconds */
            uint64_t hi = rd32(v + (be ? 0 : 4), be), lo = rd32(v + (be ? 4 : 0), be);
            int64_t off = (int64_t)(hi << 32 | lo);
            if (off > INT64_C(100000000000) || off < -INT64_C(100000000000))
                *rc = bad(err, BL_REJ_SYNTAX, "if_tsoffset over 3000 years: ignored");
            else
                ifc->tsoff_s = off;
        }
        k += 4u + (((size_t)ol + 3u) & ~(size_t)3u);
    }
}

static uint64_t ts_us_of(const bl_pcap_if_t *ifc, uint64_t ts)
{
    uint64_t us;
    unsigned r = ifc->tsres;
    if (ifc->tsres_pow2) {
        uint64_t whole = r >= 64 ? 0 : ts >> r, part = r == 0 ? 0 : ts & ((UINT64_C(1) << r) - 1u);
        unsigned sh = r;
        if (sh > 44) { /* keep part * 10^6 inside 64 bits */
            part >>= sh - 44;
            sh = 44;
        }
        us = whole * 1000000u + ((part * 1000000u) >> sh);
    } else if (r <= 6) {
        us = ts;
        for (unsigned i = r; i < 6; i++)
            us *= 10u;
    } else {
        uint64_t div = 1;
        for (unsigned i = 6; i < r; i++)
            div *= 10u;
        us = ts / div;
    }
    if (ifc->tsoff_s < 0 && (uint64_t)(-ifc->tsoff_s) * 1000000u > us)
        return 0;
    return us + (uint64_t)(ifc->tsoff_s * 1000000);
}

static int shb(bl_pcap_t *p, const uint8_t *b, size_t len, size_t *adv, bl_line_err_t *err)
{
    uint32_t bom, tl;
    *adv = 16;
    if (len < 16)
        return BL_EAGAIN;
    *adv = 0;
    bom = rd32(b + 8, false);
    if (bom == PCAPNG_BOM)
        p->be = 0;
    else if (rd32(b + 8, true) == PCAPNG_BOM)
        p->be = 1;
    else
        return bad(err, BL_REJ_SYNTAX, "section header with a bad byte-order magic");
    tl = rd32(b + 4, p->be);
    if (tl < 28 || tl % 4u)
        return bad(err, BL_REJ_SYNTAX, "section header length is not a multiple of 4 of at least 28");
    if (rd16(b + 12, p->be) != 1)
        return bad(err, BL_REJ_SYNTAX, "pcapng major version is not 1");
    p->kind = 2;
    p->nif = 0;
    *adv = tl;
    return 0;
}

static int idb(bl_pcap_t *p, const uint8_t *b, size_t len, size_t tl, bl_line_err_t *err)
{
    bl_pcap_if_t ifc;
    int rc = 0;

    if (tl > BL_PCAP_BLOCK_MAX) { /* keep the numbering: an interface that is never read */
        if (p->nif < BL_PCAP_MAX_IF)
            memset(&p->ifs[p->nif], 0, sizeof p->ifs[0]);
        p->nif++;
        return bad(err, BL_REJ_SYNTAX, "interface block over 64 KiB: its packets are skipped");
    }
    if (len < tl)
        return BL_EAGAIN;
    if (tl < 20)
        return bad(err, BL_REJ_SYNTAX, "interface block shorter than 20 bytes");
    memset(&ifc, 0, sizeof ifc);
    ifc.linktype = rd16(b + 8, p->be);
    ifc.can = linktype_can(ifc.linktype);
    ifc.tsres = 6;
    idb_options(&ifc, b + 16, tl - 20, p->be != 0, err, &rc);
    if (p->nif < BL_PCAP_MAX_IF)
        p->ifs[p->nif] = ifc;
    p->nif++;
    return rc;
}

/* epb_flags (option 2) of an enhanced packet block: the direction */
static char epb_dir(const uint8_t *o, size_t n, bool be)
{
    size_t k = 0;
    while (k + 4 <= n) {
        uint16_t code = rd16(o + k, be), ol = rd16(o + k + 2, be);
        if (code == 0 || ol > n - k - 4)
            break;
        if (code == 2 && ol >= 4) {
            uint32_t fl = rd32(o + k + 4, be) & 3u;
            return fl == 1 ? 'R' : fl == 2 ? 'T' : 0;
        }
        k += 4u + (((size_t)ol + 3u) & ~(size_t)3u);
    }
    return 0;
}

/* EPB, SPB, OPB. *need: the bytes to see first when BL_EAGAIN. */
static int packet(bl_pcap_t *p, uint32_t type, const uint8_t *b, size_t len, size_t tl, size_t *need,
                  bl_cap_frame_t *out, bl_line_err_t *err)
{
    uint32_t iface = 0, cap;
    size_t hdr = type == PCAPNG_SPB ? 12 : 28, body = tl - 4u; /* less the trailing length */
    uint64_t ts = 0;
    bool has_ts = true;
    int rc;

    if (tl < hdr + 4u) {
        p->packets++;
        return bad(err, BL_REJ_SYNTAX, "packet block shorter than its header");
    }
    if (len < hdr) {
        *need = hdr;
        return BL_EAGAIN;
    }
    if (type == PCAPNG_EPB)
        iface = rd32(b + 8, p->be);
    else if (type == PCAPNG_OPB)
        iface = rd16(b + 8, p->be);
    if (iface < p->nif && iface < BL_PCAP_MAX_IF && p->ifs[iface].can && tl <= BL_PCAP_BLOCK_MAX && len < tl) {
        *need = tl;
        return BL_EAGAIN;
    }
    p->packets++;
    if (iface >= p->nif)
        return bad(err, BL_REJ_SYNTAX, "packet of an interface no interface block described");
    if (iface >= BL_PCAP_MAX_IF)
        return bad(err, BL_REJ_SYNTAX, "packet of an interface beyond the 32 bmslink follows");
    if (!p->ifs[iface].can) {
        p->other++;
        return 0;
    }
    if (tl > BL_PCAP_BLOCK_MAX)
        return bad(err, BL_REJ_SYNTAX, "packet block far too long for a CAN frame: skipped");
    if (type == PCAPNG_SPB) {
        cap = rd32(b + 8, p->be); /* original length; the block holds what was captured */
        if (cap > body - hdr)
            cap = (uint32_t)(body - hdr);
        has_ts = false;
    } else {
        ts = (uint64_t)rd32(b + 12, p->be) << 32 | rd32(b + 16, p->be);
        cap = rd32(b + 20, p->be);
        if (cap > body - hdr)
            return bad(err, BL_REJ_SYNTAX, "captured length runs past the packet block");
    }
    out->has_ts = has_ts;
    out->ts_us = has_ts ? ts_us_of(&p->ifs[iface], ts) : 0;
    set_bus(p, iface, out);
    if (type == PCAPNG_EPB) {
        size_t oo = hdr + (((size_t)cap + 3u) & ~(size_t)3u);
        if (oo < body)
            out->dir = epb_dir(b + oo, body - oo, p->be != 0);
    }
    rc = payload(p, &p->ifs[iface], b + hdr, cap, out, err);
    if (rc == 0)
        p->other++;
    return rc;
}

static int pcapng_block(bl_pcap_t *p, const uint8_t *b, size_t len, size_t *adv, bl_cap_frame_t *out,
                        bl_line_err_t *err)
{
    uint32_t type, tl;
    int rc;

    *adv = 12;
    if (len < 12)
        return BL_EAGAIN;
    if (rd32(b, false) == PCAPNG_SHB)
        return shb(p, b, len, adv, err);
    if (p->kind != 2) {
        *adv = 0;
        return bad(err, BL_REJ_SYNTAX, "a pcapng file starts with a section header block");
    }
    type = rd32(b, p->be);
    tl = rd32(b + 4, p->be);
    if (tl < 12 || tl % 4u) {
        *adv = 0;
        return bad(err, BL_REJ_SYNTAX, "block length is not a multiple of 4 of at least 12: the file is damaged "
                                       "from here on");
    }
    *adv = tl;
    if (type == PCAPNG_IDB) {
        rc = idb(p, b, len, tl, err);
    } else if (type == PCAPNG_EPB || type == PCAPNG_SPB || type == PCAPNG_OPB) {
        size_t need = tl;
        rc = packet(p, type, b, len, tl, &need, out, err);
        if (rc == BL_EAGAIN)
            *adv = need;
    } else {
        return 0; /* name resolution, statistics, journal, custom: nothing for CAN */
    }
    if (rc == BL_EAGAIN)
        return rc;
    /* a block read whole ends with its length again */
    if (rc >= 0 && tl <= len && rd32(b + tl - 4, p->be) != tl) {
        *adv = 0;
        return bad(err, BL_REJ_SYNTAX, "block length at the end differs from the one at the start: the file "
                                       "is damaged from here on");
    }
    return rc;
}

int bl_pcap_next(bl_pcap_t *p, const uint8_t *buf, size_t len, size_t *adv, bl_cap_frame_t *out, bl_line_err_t *err)
{
    memset(out, 0, offsetof(bl_cap_frame_t, f) + offsetof(bl_can_frame_t, data));
    *adv = 0;
    if (p->kind == 0) {
        if (len < 4) {
            *adv = 4;
            return BL_EAGAIN;
        }
        switch (bl_pcap_sniff(buf, len)) {
        case BL_FMT_PCAP:
            return pcap_header(p, buf, len, adv, err);
        case BL_FMT_PCAPNG:
            return pcapng_block(p, buf, len, adv, out, err);
        default:
            return bad(err, BL_REJ_SYNTAX, "not a pcap or pcapng file (no magic number at the start)");
        }
    }
    if (p->kind == 1)
        return pcap_record(p, buf, len, adv, out, err);
    return pcapng_block(p, buf, len, adv, out, err);
}

/* ---- writers ---- */

static void wr16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* the SocketCAN header and data as the kernel hands them to libpcap: 16 or 72 bytes */
static size_t can_bytes(const bl_can_frame_t *f, uint8_t *b)
{
    bool fd = (f->flags & BL_CAN_FD) != 0 && !(f->flags & (BL_CAN_RTR | BL_CAN_ERR));
    size_t n = fd ? CANFD_MTU : CAN_MTU;
    uint32_t w = f->id & ((f->flags & (BL_CAN_EXT | BL_CAN_ERR)) ? BL_CAN_EFF_MASK : BL_CAN_SFF_MASK);
    unsigned len = f->len > (fd ? 64u : 8u) ? (fd ? 64u : 8u) : f->len;

    memset(b, 0, n);
    if (f->flags & BL_CAN_ERR)
        w |= SCAN_ERR;
    else if (f->flags & BL_CAN_EXT)
        w |= SCAN_EFF;
    if ((f->flags & BL_CAN_RTR) && !(f->flags & BL_CAN_ERR))
        w |= SCAN_RTR;
    b[0] = (uint8_t)(w >> 24);
    b[1] = (uint8_t)(w >> 16);
    b[2] = (uint8_t)(w >> 8);
    b[3] = (uint8_t)w;
    b[4] = (uint8_t)len;
    if (fd)
        b[5] = (uint8_t)(CANFD_FDF | ((f->flags & BL_CAN_BRS) ? CANFD_BRS : 0u) |
                         ((f->flags & BL_CAN_ESI) ? CANFD_ESI : 0u));
    if (!(f->flags & BL_CAN_RTR) || (f->flags & BL_CAN_ERR))
        memcpy(b + 8, f->data, len);
    return n;
}

/* pcap, little endian, microseconds, snaplen 262144, LINKTYPE_CAN_SOCKETCAN */
size_t bl_pcapw_header(uint8_t *b)
{
    wr32(b, PCAP_MAGIC_US);
    wr16(b + 4, 2);
    wr16(b + 6, 4);
    wr32(b + 8, 0);
    wr32(b + 12, 0);
    wr32(b + 16, PCAP_MAX_RECORD);
    wr32(b + 20, BL_LINKTYPE_CAN_SOCKETCAN);
    return 24;
}

size_t bl_pcapw_record(const bl_cap_frame_t *f, uint64_t ts_us, uint8_t *b)
{
    size_t n = can_bytes(&f->f, b + 16);
    wr32(b, (uint32_t)(ts_us / 1000000u));
    wr32(b + 4, (uint32_t)(ts_us % 1000000u));
    wr32(b + 8, (uint32_t)n);
    wr32(b + 12, (uint32_t)n);
    return 16 + n;
}

static size_t opt(uint8_t *b, uint16_t code, const void *v, size_t n)
{
    size_t padded = (n + 3u) & ~(size_t)3u;
    wr16(b, code);
    wr16(b + 2, (uint16_t)n);
    memset(b + 4, 0, padded);
    memcpy(b + 4, v, n);
    return 4 + padded;
}

size_t bl_pcapngw_shb(uint8_t *b)
{
    static const char app[] = "bmslink " BL_VERSION_STRING;
    size_t n = 24;
    wr32(b, PCAPNG_SHB);
    wr32(b + 8, PCAPNG_BOM);
    wr16(b + 12, 1);
    wr16(b + 14, 0);
    wr32(b + 16, 0xFFFFFFFFu); /* section length: not given */
    wr32(b + 20, 0xFFFFFFFFu);
    n += opt(b + n, 4, app, sizeof app - 1); /* shb_userappl */
    wr32(b + n, 0);                          /* opt_endofopt */
    n += 4;
    wr32(b + 4, (uint32_t)(n + 4));
    wr32(b + n, (uint32_t)(n + 4));
    return n + 4;
}

size_t bl_pcapngw_idb(const char *name, uint8_t *b)
{
    size_t n = 16, k = strlen(name);
    wr16(b + 8, BL_LINKTYPE_CAN_SOCKETCAN);
    wr16(b + 10, 0);
    wr32(b + 12, 0); /* snaplen: no limit */
    wr32(b, PCAPNG_IDB);
    if (k > 0)
        n += opt(b + n, 2, name, k); /* if_name */
    {
        uint8_t res = 6; /* if_tsresol: microseconds (the default, written for readers that want it) */
        n += opt(b + n, 9, &res, 1);
    }
    wr32(b + n, 0);
    n += 4;
    wr32(b + 4, (uint32_t)(n + 4));
    wr32(b + n, (uint32_t)(n + 4));
    return n + 4;
}

size_t bl_pcapngw_epb(unsigned iface, const bl_cap_frame_t *f, uint64_t ts_us, uint8_t *b)
{
    size_t n = can_bytes(&f->f, b + 28), o = 28 + n;
    wr32(b, PCAPNG_EPB);
    wr32(b + 8, iface);
    wr32(b + 12, (uint32_t)(ts_us >> 32));
    wr32(b + 16, (uint32_t)ts_us);
    wr32(b + 20, (uint32_t)n);
    wr32(b + 24, (uint32_t)n);
    if (f->dir == 'R' || f->dir == 'T') {
        uint8_t fl[4];
        wr32(fl, f->dir == 'R' ? 1u : 2u); /* epb_flags: inbound / outbound */
        o += opt(b + o, 2, fl, 4);
        wr32(b + o, 0);
        o += 4;
    }
    wr32(b + 4, (uint32_t)(o + 4));
    wr32(b + o, (uint32_t)(o + 4));
    return o + 4;
}
