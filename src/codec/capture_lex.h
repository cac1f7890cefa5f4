/* Small pieces the TRC and GVRET CSV parsers and the writers share (codec-internal). */
#ifndef BL_CAPTURE_LEX_H
#define BL_CAPTURE_LEX_H

#include "bmslink/capture.h"

#include <string.h>

typedef struct {
    const char *p, *start, *end;
} lex_t;

static inline bool lex_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static inline void lex_ws(lex_t *c)
{
    while (c->p < c->end && lex_space(*c->p))
        c->p++;
}

static inline bool lex_end(const lex_t *c)
{
    return c->p >= c->end;
}

/* length of the token at p (up to a blank, or up to sep when sep != 0) */
static inline size_t lex_tok(const lex_t *c, char sep)
{
    const char *q = c->p;
    while (q < c->end && (sep ? *q != sep : !lex_space(*q)))
        q++;
    return (size_t)(q - c->p);
}

static inline int lex_hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

static inline bool lex_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* case-insensitive ASCII compare of s[0..n) with word */
static inline bool lex_is_ci(const char *s, size_t n, const char *word)
{
    size_t k = strlen(word);
    if (k != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != (word[i] | 0x20))
            return false;
    return true;
}

static inline int lex_fail(bl_line_err_t *err, const lex_t *c, bl_reject_t why, const char *what)
{
    err->why = why;
    err->what = what;
    err->col = (uint16_t)((c->p > c->end ? c->end : c->p) - c->start + 1);
    return BL_EBADMSG;
}

/* decimal digits of s[0..n) -> *v; false when empty, not digits or more than maxdig */
static inline bool lex_udec(const char *s, size_t n, unsigned maxdig, uint64_t *v)
{
    uint64_t x = 0;
    if (n == 0 || n > maxdig)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10u + (uint64_t)(s[i] - '0');
    }
    *v = x;
    return true;
}

/* hex digits of s[0..n) -> *v; false when empty, not hex or more than 8 digits */
static inline bool lex_uhex(const char *s, size_t n, uint32_t *v)
{
    uint32_t x = 0;
    if (n == 0 || n > 8)
        return false;
    for (size_t i = 0; i < n; i++) {
        int d = lex_hex(s[i]);
        if (d < 0)
            return false;
        x = x << 4 | (uint32_t)d;
    }
    *v = x;
    return true;
}

/* "1841.0", "1059.900", "12" (milliseconds) -> microseconds, rounded half up; false when malformed */
static inline bool lex_ms_to_us(const char *s, size_t n, uint64_t *us)
{
    size_t i = 0;
    uint64_t ms = 0, frac = 0;
    unsigned nf = 0;
    bool up = false;

    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (i >= 12)
            return false;
        ms = ms * 10u + (uint64_t)(s[i] - '0');
        i++;
    }
    if (i == 0)
        return false;
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (nf < 3) {
                frac = frac * 10u + (uint64_t)(s[i] - '0');
                nf++;
            } else if (nf == 3) {
                up = s[i] >= '5';
                nf++;
            }
        }
    }
    if (i != n)
        return false;
    for (; nf < 3; nf++)
        frac *= 10u;
    *us = ms * 1000u + frac + (up ? 1u : 0u);
    return true;
}

/* ---- writing ---- */

typedef struct {
    char *b;
    size_t n, size;
    bool full;
} wbuf_t;

static inline void w_ch(wbuf_t *w, char ch)
{
    if (w->n < w->size)
        w->b[w->n++] = ch;
    else
        w->full = true;
}

static inline void w_str(wbuf_t *w, const char *s)
{
    while (*s)
        w_ch(w, *s++);
}

/* unsigned decimal, right-aligned in width (0: no padding) */
static inline void w_udec(wbuf_t *w, uint64_t v, unsigned width, char pad)
{
    char d[24];
    unsigned k = 0;
    do {
        d[k++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    for (unsigned i = k; i < width; i++)
        w_ch(w, pad);
    while (k)
        w_ch(w, d[--k]);
}

static inline void w_hex(wbuf_t *w, uint32_t v, unsigned digits)
{
    static const char hx[] = "0123456789ABCDEF";
    for (int i = (int)digits - 1; i >= 0; i--)
        w_ch(w, hx[(v >> (4 * i)) & 15u]);
}

/* value with dec decimals from an integer in 10^-dec units, right-aligned */
static inline void w_fixed(wbuf_t *w, uint64_t v, unsigned dec, unsigned width)
{
    uint64_t div = 1;
    unsigned intw;
    for (unsigned i = 0; i < dec; i++)
        div *= 10u;
    intw = width > dec + 1u ? width - dec - 1u : 0u;
    w_udec(w, v / div, intw, ' ');
    if (dec) {
        w_ch(w, '.');
        w_udec(w, v % div, dec, '0');
    }
}

/* epoch day -> civil date (the inverse of bl_epoch_from_civil), weekday 0 = Sunday */
static inline void lex_civil(uint64_t days, unsigned *y, unsigned *m, unsigned *d, unsigned *wday)
{
    uint64_t z = days + 719468u, era = z / 146097u, doe = z - era * 146097u;
    uint64_t yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
    uint64_t doy = doe - (365u * yoe + yoe / 4u - yoe / 100u), mp = (5u * doy + 2u) / 153u;
    *d = (unsigned)(doy - (153u * mp + 2u) / 5u + 1u);
    *m = (unsigned)(mp < 10u ? mp + 3u : mp - 9u);
    *y = (unsigned)(yoe + era * 400u + (*m <= 2u ? 1u : 0u));
    *wday = (unsigned)((days + 4u) % 7u);
}

/* ---- writers of each format (capture_write.c puts them together) ---- */

/* pcap / pcapng records: b must hold BL_CAPW_ROOM bytes; they return the bytes written */
size_t bl_pcapw_header(uint8_t *b);
size_t bl_pcapw_record(const bl_cap_frame_t *f, uint64_t ts_us, uint8_t *b);
size_t bl_pcapngw_shb(uint8_t *b);
size_t bl_pcapngw_idb(const char *name, uint8_t *b);
size_t bl_pcapngw_epb(unsigned iface, const bl_cap_frame_t *f, uint64_t ts_us, uint8_t *b);

/* TRC (capture_trc.c): header at the start time; one line, false when the version cannot hold f */
void bl_trcw_header(wbuf_t *b, unsigned ver, uint64_t start_us);
bool bl_trcw_frame(wbuf_t *b, unsigned ver, uint64_t n, uint64_t off_us, unsigned chan, const bl_cap_frame_t *f,
                   bl_capw_loss_t *loss);

#endif
