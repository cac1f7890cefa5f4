/* Drawing helpers of the live views (view.h). */
#include "view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

void view_screen_init(view_screen_t *sc, bl_out_t *o, bool tty)
{
    struct winsize ws;

    sc->o = o;
    sc->cols = 80;
    sc->rows = 1000;
    sc->lines = 0;
    sc->tty = tty;
    if (tty && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        sc->cols = ws.ws_col;
        sc->rows = ws.ws_row;
    }
    sc->color = tty && getenv("NO_COLOR") == NULL;
}

void view_line(view_screen_t *sc, const char *fmt, ...)
{
    char b[512];
    va_list ap;
    int n;

    if (sc->tty && sc->lines + 1 >= sc->rows)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof b)
        n = (int)sizeof b - 1;
    if (sc->tty && (unsigned)n > sc->cols) {
        /* cut at the width, counting UTF-8 sequences as one column */
        unsigned cols = 0;
        int i = 0;
        for (; i < n && cols < sc->cols; i++)
            if (((unsigned char)b[i] & 0xC0u) != 0x80u)
                cols++;
        while (i < n && ((unsigned char)b[i] & 0xC0u) == 0x80u)
            i++;
        n = i;
    }
    out_mem(sc->o, b, (size_t)n);
    if (sc->tty)
        out_str(sc->o, "\033[K");
    out_ch(sc->o, '\n');
    sc->lines++;
}

const char *view_hl(const view_screen_t *sc, bool on)
{
    return sc->color ? (on ? "\033[1;31m" : "\033[0m") : "";
}

void view_fmt_milli(char *b, size_t n, int64_t milli, unsigned dec)
{
    static const int64_t step[4] = { 1000, 100, 10, 1 };
    int64_t a = milli < 0 ? -milli : milli;
    if (dec > 3)
        dec = 3;
    a = (a + step[dec] / 2) / step[dec];
    if (dec == 0)
        snprintf(b, n, "%s%lld", milli < 0 && a ? "-" : "", (long long)a);
    else {
        int64_t div = dec == 1 ? 10 : dec == 2 ? 100 : 1000;
        snprintf(b, n, "%s%lld.%0*lld", milli < 0 && a ? "-" : "", (long long)(a / div), (int)dec,
                 (long long)(a % div));
    }
}

void view_fmt_value(const bl_record_t *r, unsigned id, char *b, size_t n)
{
    const bl_field_info_t *fi = bl_field_info(id);
    const bl_field_t *f = &r->f[id];
    char v[40];

    switch (fi->kind) {
    case BL_FK_BOOL: snprintf(b, n, "%s", f->value ? "yes" : "no"); return;
    case BL_FK_INT: snprintf(b, n, "%ld", (long)f->value); return;
    case BL_FK_STR: snprintf(b, n, "%s", bl_record_str(r, id)); return;
    default:
        view_fmt_milli(v, sizeof v, f->value, f->dec);
        snprintf(b, n, "%s %s", v, fi->unit);
        return;
    }
}

void view_fmt_age(uint64_t age_ms, char *b, size_t n)
{
    if (age_ms < 10000)
        snprintf(b, n, "%.1f s", (double)age_ms / 1000.0);
    else if (age_ms < 600000)
        snprintf(b, n, "%llu s", (unsigned long long)(age_ms / 1000u));
    else
        snprintf(b, n, "%llu min", (unsigned long long)(age_ms / 60000u));
}
