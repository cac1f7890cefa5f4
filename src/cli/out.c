/* Buffered output and JSON writing. */
#include "out.h"

#include <stdarg.h>
#include <string.h>

void out_init(bl_out_t *o, FILE *fp)
{
    o->fp = fp;
    o->n = 0;
    o->first = true;
}

void out_flush(bl_out_t *o)
{
    if (o->n) {
        fwrite(o->buf, 1, o->n, o->fp);
        o->n = 0;
    }
    fflush(o->fp);
}

void out_mem(bl_out_t *o, const char *s, size_t n)
{
    if (o->n + n > sizeof o->buf) {
        fwrite(o->buf, 1, o->n, o->fp);
        o->n = 0;
        if (n > sizeof o->buf) {
            fwrite(s, 1, n, o->fp);
            return;
        }
    }
    memcpy(o->buf + o->n, s, n);
    o->n += n;
}

void out_str(bl_out_t *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

void out_ch(bl_out_t *o, char ch)
{
    if (o->n + 1 > sizeof o->buf) {
        fwrite(o->buf, 1, o->n, o->fp);
        o->n = 0;
    }
    o->buf[o->n++] = ch;
}

void out_printf(bl_out_t *o, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof tmp)
        n = (int)sizeof tmp - 1;
    out_mem(o, tmp, (size_t)n);
}

void out_u64(bl_out_t *o, uint64_t v)
{
    char d[24];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        out_ch(o, d[--n]);
}

void out_i64(bl_out_t *o, int64_t v)
{
    if (v < 0) {
        out_ch(o, '-');
        out_u64(o, (uint64_t)(-(v + 1)) + 1u);
    } else {
        out_u64(o, (uint64_t)v);
    }
}

void out_milli(bl_out_t *o, int64_t milli, unsigned dec)
{
    static const int64_t p10[4] = { 1000, 100, 10, 1 };
    uint64_t a;
    int64_t step;

    if (dec > 3)
        dec = 3;
    step = p10[dec];
    /* round to the resolution (half away from zero); never print "-0" */
    a = milli < 0 ? (uint64_t)(-(milli + 1)) + 1u : (uint64_t)milli;
    a = (a + (uint64_t)step / 2u) / (uint64_t)step;
    if (milli < 0 && a != 0)
        out_ch(o, '-');
    if (dec == 0) {
        out_u64(o, a);
        return;
    }
    uint64_t div = 1;
    for (unsigned i = 0; i < dec; i++)
        div *= 10u;
    out_u64(o, a / div);
    out_ch(o, '.');
    uint64_t frac = a % div;
    char d[3];
    for (int i = (int)dec - 1; i >= 0; i--) {
        d[i] = (char)('0' + frac % 10u);
        frac /= 10u;
    }
    out_mem(o, d, dec);
}

void out_ts(bl_out_t *o, uint64_t us)
{
    char d[6];
    uint64_t f = us % 1000000u;
    out_u64(o, us / 1000000u);
    out_ch(o, '.');
    for (int i = 5; i >= 0; i--) {
        d[i] = (char)('0' + f % 10u);
        f /= 10u;
    }
    out_mem(o, d, 6);
}

void out_hex(bl_out_t *o, const uint8_t *d, size_t n)
{
    static const char h[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out_ch(o, h[d[i] >> 4]);
        out_ch(o, h[d[i] & 15u]);
    }
}

void out_jstrn(bl_out_t *o, const char *s, size_t n)
{
    static const char h[] = "0123456789abcdef";
    out_ch(o, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out_ch(o, '\\');
            out_ch(o, (char)c);
        } else if (c == '\n') {
            out_mem(o, "\\n", 2);
        } else if (c == '\t') {
            out_mem(o, "\\t", 2);
        } else if (c < 0x20 || c >= 0x7F) {
            out_mem(o, "\\u00", 4);
            out_ch(o, h[c >> 4]);
            out_ch(o, h[c & 15u]);
        } else {
            out_ch(o, (char)c);
        }
    }
    out_ch(o, '"');
}

void out_jstr(bl_out_t *o, const char *s)
{
    out_jstrn(o, s, strlen(s));
}

void j_sep(bl_out_t *o)
{
    if (!o->first)
        out_ch(o, ',');
    o->first = false;
}

void j_obj(bl_out_t *o)
{
    j_sep(o);
    out_ch(o, '{');
    o->first = true;
}

void j_end_obj(bl_out_t *o)
{
    out_ch(o, '}');
    o->first = false;
}

void j_arr(bl_out_t *o)
{
    j_sep(o);
    out_ch(o, '[');
    o->first = true;
}

void j_end_arr(bl_out_t *o)
{
    out_ch(o, ']');
    o->first = false;
}

void j_key(bl_out_t *o, const char *k)
{
    j_sep(o);
    out_jstr(o, k);
    out_ch(o, ':');
    o->first = true; /* the value that follows takes no comma */
}

void j_kstr(bl_out_t *o, const char *k, const char *v)
{
    j_key(o, k);
    if (v == NULL)
        out_str(o, "null");
    else
        out_jstr(o, v);
    o->first = false;
}

void j_kint(bl_out_t *o, const char *k, int64_t v)
{
    j_key(o, k);
    out_i64(o, v);
    o->first = false;
}

void j_kbool(bl_out_t *o, const char *k, bool v)
{
    j_key(o, k);
    out_str(o, v ? "true" : "false");
    o->first = false;
}

void j_knull(bl_out_t *o, const char *k)
{
    j_key(o, k);
    out_str(o, "null");
    o->first = false;
}

void j_kmilli(bl_out_t *o, const char *k, int64_t milli, unsigned dec)
{
    j_key(o, k);
    out_milli(o, milli, dec);
    o->first = false;
}

void j_str_el(bl_out_t *o, const char *v)
{
    j_sep(o);
    out_jstr(o, v);
}
