/*
 * Writing captures in every format bmslink reads: candump -L, Vector ASC, PEAK TRC (1.1, 2.0,
 * 2.1), SavvyCAN GVRET CSV, pcap and pcapng (LINKTYPE_CAN_SOCKETCAN). Pure: the caller owns
 * the buffer and the file. What a format cannot hold is counted per frame in w->loss, never
 * dropped silently:
 *
 *   format     bus                    direction  remote  error frames        CAN FD          time
 *   candump -L name                   -          yes     yes (exact)         yes, flags      1 µs
 *   ASC        channel 1.. (can0 = 1) Rx/Tx      yes     "ErrorFrame" only   yes, flags      1 µs
 *   TRC 2.1    bus 1..16              Rx/Tx      yes     status / error type yes, flags      1 µs
 *   TRC 2.0    -                      Rx/Tx      yes     status / error type yes, flags      1 µs
 *   TRC 1.1    -                      Rx/Tx      yes     status only         no              0.1 ms
 *   GVRET CSV  bus 0..                Rx/Tx      no      no                  > 8 bytes only  1 µs
 *   pcap       -                      -          yes     yes (exact)         yes, flags      1 µs
 *   pcapng     interface name         yes        yes     yes (exact)         yes, flags      1 µs
 */
#include "bmslink/canerr.h"
#include "capture_lex.h"

static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const wdays[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

int bl_capw_init(bl_capw_t *w, bl_capfmt_t fmt, unsigned ver)
{
    memset(w, 0, sizeof *w);
    switch (fmt) {
    case BL_FMT_CANDUMP_LOG:
    case BL_FMT_ASC:
    case BL_FMT_GVRET:
    case BL_FMT_PCAP:
    case BL_FMT_PCAPNG:
        break;
    case BL_FMT_TRC:
        if (ver == 0)
            ver = 21;
        if (ver != 11 && ver != 20 && ver != 21)
            return BL_EINVAL;
        w->ver = (uint8_t)ver;
        break;
    default:
        return BL_EINVAL;
    }
    w->fmt = fmt;
    return 0;
}

/* ---- buses ---- */

typedef enum { BUS_NAMES, BUS_NUMBERS, BUS_NONE } busmodel_t;

static busmodel_t bus_model(const bl_capw_t *w, unsigned *first, unsigned *last)
{
    *first = 0;
    *last = 255;
    switch (w->fmt) {
    case BL_FMT_CANDUMP_LOG:
    case BL_FMT_PCAPNG:
        return BUS_NAMES;
    case BL_FMT_ASC:
        *first = 1;
        return BUS_NUMBERS;
    case BL_FMT_GVRET:
        return BUS_NUMBERS;
    case BL_FMT_TRC:
        *first = 1;
        *last = 16;
        return w->ver == 21 ? BUS_NUMBERS : BUS_NONE;
    default:
        return BUS_NONE;
    }
}

static void can_name(char *out, size_t size, unsigned n)
{
    wbuf_t b = { out, 0, size - 1, false };
    w_str(&b, "can");
    w_udec(&b, n, 0, ' ');
    out[b.n] = '\0';
}

void bl_capw_bus_readback(const bl_capw_t *w, unsigned i, char *out, size_t size)
{
    unsigned first, last;
    busmodel_t m = bus_model(w, &first, &last);

    if (size == 0)
        return;
    if (i >= w->nbus) {
        out[0] = '\0';
        return;
    }
    if (m == BUS_NAMES && w->bus[i][0]) {
        size_t n = strlen(w->bus[i]);
        if (n >= size)
            n = size - 1;
        memcpy(out, w->bus[i], n);
        out[n] = '\0';
    } else if (m == BUS_NAMES) {
        can_name(out, size, w->fmt == BL_FMT_PCAPNG ? i : 0u);
    } else if (m == BUS_NUMBERS) {
        can_name(out, size, w->chan[i] - first);
    } else {
        can_name(out, size, 0);
    }
}

/* the number in "can3", "vcan3", "slcan0" */
static bool trailing_number(const char *s, unsigned *n)
{
    size_t k = strlen(s), i = k;
    unsigned v = 0, mul = 1;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9' && k - i < 3)
        i--;
    if (i == k)
        return false;
    for (size_t j = k; j > i; j--) {
        v += (unsigned)(s[j - 1] - '0') * mul;
        mul *= 10u;
    }
    *n = v;
    return true;
}

/* index of the bus in w->bus (added on first sight); *renamed when it does not read back the same */
static unsigned bus_of(bl_capw_t *w, const char *name, bool *renamed, bool *is_new)
{
    unsigned first, last, want = 0, i;
    busmodel_t m = bus_model(w, &first, &last);
    char back[BL_BUS_NAME_MAX];

    *is_new = false;
    if (name[0] == '\0')
        name = "can0";
    for (i = 0; i < w->nbus; i++)
        if (strcmp(w->bus[i], name) == 0)
            break;
    if (i == w->nbus) {
        if (w->nbus == BL_CAPW_MAX_BUS) {
            *renamed = true; /* more buses than bmslink tracks: they share the last one */
            return BL_CAPW_MAX_BUS - 1u;
        }
        *is_new = true;
        memcpy(w->bus[i], name, strlen(name) + 1);
        if (m == BUS_NUMBERS) {
            unsigned n = first + (trailing_number(name, &want) ? want : 0u);
            for (;;) {
                bool used = false;
                for (unsigned k = 0; k < w->nbus; k++)
                    used = used || w->chan[k] == n;
                if (!used || n >= last)
                    break;
                n++;
            }
            w->chan[i] = (uint8_t)(n > last ? last : n);
        } else {
            w->chan[i] = (uint8_t)i;
        }
        w->nbus++;
    }
    bl_capw_bus_readback(w, i, back, sizeof back);
    *renamed = strcmp(back, name) != 0;
    return i;
}

/* ---- ASC ---- */

/* "Tue Nov 14 10:13:20.000 pm 2023" */
static void asc_date(wbuf_t *b, uint64_t us)
{
    unsigned y, m, d, wd, h;
    uint64_t sod = us / 1000000u % 86400u;
    lex_civil(us / UINT64_C(86400000000), &y, &m, &d, &wd);
    h = (unsigned)(sod / 3600u);
    w_str(b, wdays[wd]);
    w_ch(b, ' ');
    w_str(b, mon[m - 1]);
    w_ch(b, ' ');
    w_udec(b, d, 2, '0');
    w_ch(b, ' ');
    w_udec(b, h % 12u == 0 ? 12u : h % 12u, 2, '0');
    w_ch(b, ':');
    w_udec(b, sod / 60u % 60u, 2, '0');
    w_ch(b, ':');
    w_udec(b, sod % 60u, 2, '0');
    w_ch(b, '.');
    w_udec(b, us / 1000u % 1000u, 3, '0');
    w_str(b, h >= 12 ? " pm " : " am ");
    w_udec(b, y, 4, '0');
}

static void asc_header(wbuf_t *b, uint64_t base)
{
    w_str(b, "date ");
    asc_date(b, base);
    w_str(b, "\nbase hex  timestamps absolute\ninternal events logged\n// version 9.0.0\n"
             "// bmslink " BL_VERSION_STRING ": dates in UTC\nBegin Triggerblock ");
    asc_date(b, base);
    w_str(b, "\n   0.000000 Start of measurement\n");
}

static void asc_frame(wbuf_t *b, uint64_t off, unsigned ch, const bl_cap_frame_t *cf, bl_capw_loss_t *loss)
{
    const bl_can_frame_t *f = &cf->f;
    const char *dir = cf->dir == 'T' ? "Tx" : "Rx";
    size_t id0;

    w_fixed(b, off, 6, 11);
    w_ch(b, ' ');
    if (f->flags & BL_CAN_ERR) {
        /* ASC keeps that an error frame came, not its class; can-utils' asc2log reads it as a
         * bus error, and so does bmslink */
        bool plain = f->id == BL_CANERR_BUSERROR;
        for (unsigned i = 0; plain && i < f->len && i < BL_CAN_MAX_DATA; i++)
            plain = f->data[i] == 0;
        if (!plain)
            loss->err_reduced++;
        w_udec(b, ch, 0, ' ');
        w_str(b, "  ErrorFrame\n");
        return;
    }
    if ((f->flags & BL_CAN_FD) && !(f->flags & BL_CAN_RTR)) {
        unsigned k = 0, len = f->len < 64u ? f->len : 64u;
        static const uint8_t fdl[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64 };
        /* cppcheck-suppress knownConditionTrueFalse ; false positive: len is the frame's 0..64 */
        while (k < 15 && fdl[k] < len)
            k++;
        w_str(b, "CANFD ");
        w_udec(b, ch, 3, ' ');
        w_ch(b, ' ');
        w_str(b, dir);
        w_str(b, "   ");
        id0 = b->n;
        if (f->flags & BL_CAN_EXT) {
            w_hex(b, f->id, 8);
            w_ch(b, 'x');
        } else {
            w_hex(b, f->id, 3);
        }
        while (b->n - id0 < 9)
            w_ch(b, ' ');
        w_str(b, "                                  ");
        w_udec(b, (f->flags & BL_CAN_BRS) ? 1u : 0u, 0, ' ');
        w_ch(b, ' ');
        w_udec(b, (f->flags & BL_CAN_ESI) ? 1u : 0u, 0, ' ');
        w_ch(b, ' ');
        w_hex(b, k, 1);
        w_ch(b, ' ');
        w_udec(b, len, 2, ' ');
        /* cppcheck-suppress knownConditionTrueFalse ; false positive: len is the frame's 0..64 */
        for (unsigned i = 0; i < len; i++) {
            w_ch(b, ' ');
            w_hex(b, f->data[i], 2);
        }
        /* message duration, length, flags (0x1000 EDL, 0x2000 BRS, 0x4000 ESI), crc, bit timings */
        w_str(b, "        0    0 ");
        w_hex(b, 0x1000u | ((f->flags & BL_CAN_BRS) ? 0x2000u : 0u) | ((f->flags & BL_CAN_ESI) ? 0x4000u : 0u), 8);
        w_str(b, "        0        0        0        0        0\n");
        return;
    }
    w_udec(b, ch, 0, ' ');
    w_str(b, "  ");
    id0 = b->n;
    if (f->flags & BL_CAN_EXT) {
        w_hex(b, f->id, 8);
        w_ch(b, 'x');
    } else {
        w_hex(b, f->id, 3);
    }
    while (b->n - id0 < 15)
        w_ch(b, ' ');
    w_ch(b, ' ');
    w_str(b, dir);
    w_str(b, "   ");
    if (f->flags & BL_CAN_RTR) {
        w_str(b, "r ");
        w_udec(b, f->len > 8 ? 8u : f->len, 0, ' ');
        w_ch(b, '\n');
        return;
    }
    w_str(b, "d ");
    w_udec(b, f->len > 8 ? 8u : f->len, 0, ' ');
    for (unsigned i = 0; i < f->len && i < 8; i++) {
        w_ch(b, ' ');
        w_hex(b, f->data[i], 2);
    }
    w_ch(b, '\n');
}

/* ---- GVRET CSV ---- */

static void gvret_frame(wbuf_t *b, uint64_t ts, unsigned bus, const bl_cap_frame_t *cf)
{
    const bl_can_frame_t *f = &cf->f;
    unsigned len = f->len < 64u ? f->len : 64u;
    w_udec(b, ts, 0, ' ');
    w_ch(b, ',');
    w_hex(b, f->id, 8);
    w_str(b, (f->flags & BL_CAN_EXT) ? ",true," : ",false,");
    w_str(b, cf->dir == 'T' ? "Tx," : "Rx,");
    w_udec(b, bus, 0, ' ');
    w_ch(b, ',');
    w_udec(b, len, 0, ' ');
    w_ch(b, ',');
    /* cppcheck-suppress knownConditionTrueFalse ; false positive: len is the frame's 0..64 */
    for (unsigned i = 0; i < len; i++) {
        w_hex(b, f->data[i], 2);
        w_ch(b, ',');
    }
    w_ch(b, '\n');
}

/* ---- the dispatcher ---- */

static void header(bl_capw_t *w, wbuf_t *b, uint64_t first_us)
{
    w->started = true;
    switch (w->fmt) {
    case BL_FMT_ASC:
        w->base_us = first_us / 1000u * 1000u; /* the date line has milliseconds */
        asc_header(b, w->base_us);
        break;
    case BL_FMT_TRC:
        w->base_us = first_us;
        bl_trcw_header(b, w->ver, w->base_us);
        break;
    case BL_FMT_GVRET:
        w_str(b, "Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8\n");
        break;
    case BL_FMT_PCAP:
        b->n += bl_pcapw_header((uint8_t *)b->b + b->n);
        break;
    case BL_FMT_PCAPNG:
        b->n += bl_pcapngw_shb((uint8_t *)b->b + b->n);
        break;
    default:
        break;
    }
}

int bl_capw_frame(bl_capw_t *w, const bl_cap_frame_t *f, uint8_t *buf, size_t size)
{
    wbuf_t b = { (char *)buf, 0, size, false };
    bl_cap_frame_t c = *f;
    unsigned i, first, last;
    bool renamed, is_new, fd = (f->f.flags & BL_CAN_FD) && !(f->f.flags & (BL_CAN_RTR | BL_CAN_ERR));
    busmodel_t bm = bus_model(w, &first, &last);
    uint64_t off = 0;

    if (size < BL_CAPW_ROOM)
        return BL_ENOSPC;
    if (!c.has_ts) {
        c.ts_us = w->last_us;
        c.has_ts = 1;
        w->loss.no_ts++;
    }
    /* what the format cannot hold at all */
    if (w->fmt == BL_FMT_GVRET && (f->f.flags & (BL_CAN_RTR | BL_CAN_ERR))) {
        if (f->f.flags & BL_CAN_ERR)
            w->loss.dropped_err++;
        else
            w->loss.dropped_rtr++;
        return 0;
    }
    if (!w->started)
        header(w, &b, c.ts_us);
    w->last_us = c.ts_us;
    if (w->fmt == BL_FMT_ASC || w->fmt == BL_FMT_TRC) {
        if (c.ts_us < w->base_us)
            w->loss.ts_backwards++;
        else
            off = c.ts_us - w->base_us;
    }
    if (w->fmt == BL_FMT_CANDUMP_LOG) { /* names are written as they are */
        i = 0;
        is_new = renamed = false;
    } else {
        i = bus_of(w, c.bus, &renamed, &is_new);
    }
    if (renamed)
        w->loss.bus_renamed++;
    if (f->dir == 'T' && (w->fmt == BL_FMT_CANDUMP_LOG || w->fmt == BL_FMT_PCAP))
        w->loss.dir_lost++; /* read back without a direction, as received frames are */
    if (fd && w->fmt == BL_FMT_GVRET) {
        if (f->f.len <= 8)
            w->loss.fd_as_classic++;
        if (f->f.flags & (BL_CAN_BRS | BL_CAN_ESI))
            w->loss.fd_flags_lost++;
    }
    switch (w->fmt) {
    case BL_FMT_CANDUMP_LOG: {
        int k;
        if (bm == BUS_NAMES && c.bus[0] == '\0')
            memcpy(c.bus, "can0", 5);
        k = bl_capture_format_log(&c, (char *)buf + b.n, size - b.n - 1);
        if (k < 0)
            return k;
        b.n += (size_t)k;
        w_ch(&b, '\n');
        break;
    }
    case BL_FMT_ASC:
        asc_frame(&b, off, w->chan[i], &c, &w->loss);
        break;
    case BL_FMT_TRC:
        if (!bl_trcw_frame(&b, w->ver, w->n + 1u, off, w->chan[i], &c, &w->loss))
            return (int)b.n; /* the header, if it was the first frame */
        break;
    case BL_FMT_GVRET:
        gvret_frame(&b, c.ts_us, w->chan[i], &c);
        break;
    case BL_FMT_PCAP:
        b.n += bl_pcapw_record(&c, c.ts_us, buf + b.n);
        break;
    case BL_FMT_PCAPNG:
        if (is_new)
            b.n += bl_pcapngw_idb(w->bus[i], buf + b.n);
        b.n += bl_pcapngw_epb(w->chan[i], &c, c.ts_us, buf + b.n);
        break;
    default:
        return BL_EINVAL;
    }
    if (b.full)
        return BL_ENOSPC;
    w->n++;
    return (int)b.n;
}

int bl_capw_trailer(bl_capw_t *w, uint8_t *buf, size_t size)
{
    wbuf_t b = { (char *)buf, 0, size, false };
    if (size < BL_CAPW_ROOM)
        return BL_ENOSPC;
    if (!w->started)
        header(w, &b, 0);
    if (w->fmt == BL_FMT_ASC)
        w_str(&b, "End TriggerBlock\n");
    return b.full ? BL_ENOSPC : (int)b.n;
}
