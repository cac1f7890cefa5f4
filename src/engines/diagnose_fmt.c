/*
 * The diagnosis engine's text formatter: the core has no printf, and findings are
 * sentences with numbers in them. A handful of conversions, each with its own
 * argument types (the compiler cannot check them: keep the call sites simple).
 *
 *   %s const char *        %d int          %u unsigned       %l int64_t
 *   %m int64_t milli, int decimals: "53.2"
 *   %i uint32_t id, int ext: "0x351", "0x00001871"
 *   %T int64_t microseconds as a duration: "850 ms", "12.3 s", "4 min 5 s", "2 h 3 min"
 *   %N unsigned count of occurrences: "once", "twice", "3 times"
 *   %% a percent sign
 */
#include "diagnose_int.h"

#include <stdarg.h>

typedef struct {
    char *buf;
    size_t n, at;
} sink_t;

static void put(sink_t *s, char ch)
{
    if (s->at + 1 < s->n)
        s->buf[s->at++] = ch;
}

static void puts_(sink_t *s, const char *str)
{
    if (str == NULL)
        str = "(none)";
    while (*str)
        put(s, *str++);
}

static void put_u64(sink_t *s, uint64_t v, unsigned min_digits)
{
    char tmp[24];
    unsigned k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v > 0 && k < sizeof tmp);
    while (k < min_digits && k < sizeof tmp)
        tmp[k++] = '0';
    while (k > 0)
        put(s, tmp[--k]);
}

static void put_i64(sink_t *s, int64_t v)
{
    if (v < 0) {
        put(s, '-');
        put_u64(s, (uint64_t)(-(v + 1)) + 1u, 1);
    } else {
        put_u64(s, (uint64_t)v, 1);
    }
}

static const uint64_t pow10_[] = { 1, 10, 100, 1000 };

static void put_milli(sink_t *s, int64_t milli, int dec)
{
    uint64_t mag, step, q, p10;
    bool neg = milli < 0;
    unsigned dd = dec < 0 ? 0u : dec > 3 ? 3u : (unsigned)dec;

    p10 = pow10_[dd];
    mag = neg ? (uint64_t)(-(milli + 1)) + 1u : (uint64_t)milli;
    step = 1000u / p10;
    q = (mag + step / 2u) / step; /* in units of 10^-dec, rounded half away from zero */
    if (neg && q != 0)
        put(s, '-');
    put_u64(s, q / p10, 1);
    if (dd > 0) {
        put(s, '.');
        put_u64(s, q % p10, dd);
    }
}

static void put_hex(sink_t *s, uint32_t v, unsigned digits)
{
    static const char hx[] = "0123456789ABCDEF";
    put(s, '0');
    put(s, 'x');
    for (unsigned i = digits; i > 0; i--)
        put(s, hx[(v >> ((i - 1u) * 4u)) & 15u]);
}

static void put_dur(sink_t *s, int64_t us)
{
    uint64_t u = us < 0 ? 0 : (uint64_t)us;
    uint64_t ms = u / 1000u, sec = u / 1000000u;

    if (ms < 1000u) {
        put_u64(s, ms, 1);
        puts_(s, " ms");
    } else if (sec < 60u) {
        put_milli(s, (int64_t)ms, 1);
        puts_(s, " s");
    } else if (sec < 3600u) {
        put_u64(s, sec / 60u, 1);
        puts_(s, " min");
        if (sec % 60u) {
            put(s, ' ');
            put_u64(s, sec % 60u, 1);
            puts_(s, " s");
        }
    } else {
        put_u64(s, sec / 3600u, 1);
        puts_(s, " h");
        if ((sec % 3600u) / 60u) {
            put(s, ' ');
            put_u64(s, (sec % 3600u) / 60u, 1);
            puts_(s, " min");
        }
    }
}

static void vfmt(sink_t *s, const char *fmt, va_list ap)
{
    for (const char *p = fmt; *p; p++) {
        if (*p != '%' || p[1] == '\0') {
            put(s, *p);
            continue;
        }
        switch (*++p) {
        case 's':
            puts_(s, va_arg(ap, const char *));
            break;
        case 'd':
            put_i64(s, va_arg(ap, int));
            break;
        case 'u':
            put_u64(s, va_arg(ap, unsigned), 1);
            break;
        case 'l':
            put_i64(s, va_arg(ap, int64_t));
            break;
        case 'm': {
            int64_t v = va_arg(ap, int64_t);
            put_milli(s, v, va_arg(ap, int));
            break;
        }
        case 'i': {
            uint32_t id = va_arg(ap, uint32_t);
            put_hex(s, id, va_arg(ap, int) ? 8u : 3u);
            break;
        }
        case 'T':
            put_dur(s, va_arg(ap, int64_t));
            break;
        case 'N': {
            unsigned k = va_arg(ap, unsigned);
            if (k == 1)
                puts_(s, "once");
            else if (k == 2)
                puts_(s, "twice");
            else {
                put_u64(s, k, 1);
                puts_(s, " times");
            }
            break;
        }
        default:
            put(s, *p);
            break;
        }
    }
    if (s->n > 0)
        s->buf[s->at] = '\0';
}

void dg_fmt(char *buf, size_t n, const char *fmt, ...)
{
    sink_t s = { buf, n, 0 };
    va_list ap;
    va_start(ap, fmt);
    vfmt(&s, fmt, ap);
    va_end(ap);
}

void dg_vfmt(char *buf, size_t n, const char *fmt, va_list ap)
{
    sink_t s = { buf, n, 0 };
    vfmt(&s, fmt, ap);
}

void dg_cat(char *buf, size_t n, const char *fmt, ...)
{
    sink_t s = { buf, n, 0 };
    va_list ap;
    while (s.at < n && buf[s.at] != '\0')
        s.at++;
    if (s.at >= n)
        return;
    va_start(ap, fmt);
    vfmt(&s, fmt, ap);
    va_end(ap);
}
