/* Typed access to a libyaml document tree (see yamldoc.h). */
#include "yamldoc.h"

#include "bmslink/base.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ydoc_parse(ydoc_t *y, const char *name, const char *text, size_t len, char *err, size_t errlen)
{
    yaml_parser_t parser;
    bool ok;

    memset(y, 0, sizeof *y);
    y->name = name;
    y->err = err;
    y->errlen = errlen;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: yaml: cannot initialise the parser", name);
        return false;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    ok = yaml_parser_load(&parser, &y->doc) != 0;
    if (!ok) {
        snprintf(err, errlen, "%s:%lu: yaml: %s%s%s", name, (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                 parser.context ? parser.context : "");
    } else {
        y->loaded = true; /* an empty document has no root: callers decide what that means */
    }
    yaml_parser_delete(&parser);
    return ok;
}

void ydoc_free(ydoc_t *y)
{
    if (y->loaded)
        yaml_document_delete(&y->doc);
    y->loaded = false;
}

yaml_node_t *ydoc_root(ydoc_t *y)
{
    return yaml_document_get_root_node(&y->doc);
}

unsigned yline(const yaml_node_t *n)
{
    return n != NULL ? (unsigned)n->start_mark.line + 1u : 1u;
}

bool yfail(ydoc_t *y, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    int k = snprintf(y->err, y->errlen, "%s:%u: ", y->name, yline(n));
    if (k < 0 || (size_t)k >= y->errlen)
        return false;
    va_start(ap, fmt);
    vsnprintf(y->err + k, y->errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return false;
}

bool yis_map(const yaml_node_t *n)
{
    return n != NULL && n->type == YAML_MAPPING_NODE;
}

bool yis_seq(const yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SEQUENCE_NODE;
}

bool yis_scalar(const yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE;
}

size_t ymap_len(const yaml_node_t *map)
{
    return yis_map(map) ? (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start) : 0;
}

const char *ymap_key(ydoc_t *y, const yaml_node_t *map, size_t i, yaml_node_t **key_node)
{
    yaml_node_t *k = yaml_document_get_node(&y->doc, map->data.mapping.pairs.start[i].key);
    if (key_node != NULL)
        *key_node = k;
    return yis_scalar(k) ? (const char *)k->data.scalar.value : "";
}

yaml_node_t *ymap_val(ydoc_t *y, const yaml_node_t *map, size_t i)
{
    return yaml_document_get_node(&y->doc, map->data.mapping.pairs.start[i].value);
}

yaml_node_t *ymap_get(ydoc_t *y, const yaml_node_t *map, const char *key)
{
    for (size_t i = 0; i < ymap_len(map); i++)
        if (strcmp(ymap_key(y, map, i, NULL), key) == 0)
            return ymap_val(y, map, i);
    return NULL;
}

bool ymap_only(ydoc_t *y, const yaml_node_t *map, const char *what, const char *const *keys)
{
    for (size_t i = 0; i < ymap_len(map); i++) {
        yaml_node_t *kn;
        const char *k = ymap_key(y, map, i, &kn);
        bool ok = false;
        char known[400];
        size_t o = 0;
        for (const char *const *p = keys; *p != NULL; p++)
            if (strcmp(*p, k) == 0)
                ok = true;
        if (ok)
            continue;
        known[0] = '\0';
        for (const char *const *p = keys; *p != NULL && o + 2 < sizeof known; p++) {
            int w = snprintf(known + o, sizeof known - o, "%s%s", o ? ", " : "", *p);
            if (w < 0)
                break;
            o += (size_t)w;
        }
        return yfail(y, kn, "%s: unknown key '%s' (known: %s)", what, k, known);
    }
    return true;
}

size_t yseq_len(const yaml_node_t *seq)
{
    return yis_seq(seq) ? (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start) : 0;
}

yaml_node_t *yseq_at(ydoc_t *y, const yaml_node_t *seq, size_t i)
{
    return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

bool ystr(ydoc_t *y, const yaml_node_t *n, const char *what, const char **out)
{
    if (!yis_scalar(n))
        return yfail(y, n, "%s: expected a single value", what);
    *out = (const char *)n->data.scalar.value;
    return true;
}

bool parse_milli(const char *s, int64_t *out)
{
    int64_t v = 0;
    int neg = 0, dec = -1, digits = 0, round = 0;

    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    for (; *s; s++) {
        if (*s == '.' && dec < 0) {
            dec = 0;
            continue;
        }
        if (*s < '0' || *s > '9')
            return false;
        digits++;
        if (dec >= 3) {
            if (dec == 3 && *s >= '5')
                round = 1;
            dec++;
            continue;
        }
        /* 2^40 leaves room for the x1000 to milli-units below (2^50 overflowed: fuzz/battery) */
        if (v > INT64_C(1) << 40)
            return false;
        v = v * 10 + (*s - '0');
        if (dec >= 0)
            dec++;
    }
    if (digits == 0)
        return false;
    for (int d = dec < 0 ? 0 : (dec > 3 ? 3 : dec); d < 3; d++)
        v *= 10;
    v += round;
    *out = neg ? -v : v;
    return true;
}

bool ymilli(ydoc_t *y, const yaml_node_t *n, const char *what, int64_t lo, int64_t hi, int64_t *out)
{
    const char *s = "";
    int64_t v;
    if (!ystr(y, n, what, &s))
        return false;
    if (!parse_milli(s, &v))
        return yfail(y, n, "%s: '%s' is not a number", what, s);
    if (v < lo || v > hi)
        return yfail(y, n, "%s: %s is outside %lld.%03lld..%lld.%03lld", what, s, (long long)(lo / 1000),
                     (long long)((lo < 0 ? -lo : lo) % 1000), (long long)(hi / 1000), (long long)(hi % 1000));
    *out = v;
    return true;
}

bool yint(ydoc_t *y, const yaml_node_t *n, const char *what, int64_t lo, int64_t hi, int64_t *out)
{
    const char *s = "", *p;
    int64_t v = 0;
    unsigned base = 10;
    bool neg = false;

    if (!ystr(y, n, what, &s))
        return false;
    p = s;
    if (*p == '-')
        neg = *p++ == '-';
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (*p == '\0')
        return yfail(y, n, "%s: '%s' is not an integer", what, s);
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            return yfail(y, n, "%s: '%s' is not an integer", what, s);
        if (v > (INT64_C(1) << 55))
            return yfail(y, n, "%s: '%s' is too large", what, s);
        v = v * (int64_t)base + (int64_t)d;
    }
    if (neg)
        v = -v;
    if (v < lo || v > hi)
        return yfail(y, n, "%s: %s is outside %lld..%lld", what, s, (long long)lo, (long long)hi);
    *out = v;
    return true;
}

bool ybool(ydoc_t *y, const yaml_node_t *n, const char *what, bool *out)
{
    const char *s = "";
    if (!ystr(y, n, what, &s))
        return false;
    if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "on") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "off") == 0) {
        *out = false;
        return true;
    }
    return yfail(y, n, "%s: '%s' is not true or false", what, s);
}

/* one or two decimal digits; advances *s */
static bool two_digits(const char **s, unsigned *out)
{
    const char *p = *s;
    unsigned v = 0, n = 0;
    while (n < 2 && *p >= '0' && *p <= '9') {
        v = v * 10u + (unsigned)(*p++ - '0');
        n++;
    }
    *s = p;
    *out = v;
    return n > 0;
}

/* "HH:MM" or "HH:MM:SS" */
static bool time_of_day(const char *s, uint64_t *ms)
{
    unsigned h = 0, m = 0, sec = 0;
    if (!two_digits(&s, &h) || *s++ != ':' || !two_digits(&s, &m))
        return false;
    if (*s == ':' && (s++, !two_digits(&s, &sec)))
        return false;
    if (*s != '\0' || h > 24 || m > 59 || sec > 59 || (h == 24 && (m || sec)))
        return false;
    *ms = ((uint64_t)h * 3600u + (uint64_t)m * 60u + sec) * 1000u;
    return true;
}

bool ydur(ydoc_t *y, const yaml_node_t *n, const char *what, uint64_t *ms)
{
    static const struct {
        const char *sfx;
        int64_t mul;
    } units[] = { { "ms", 1 }, { "s", 1000 }, { "min", 60000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 } };
    const char *s = "";
    char num[64];
    int64_t milli;

    if (!ystr(y, n, what, &s))
        return false;
    if (strchr(s, ':') != NULL) {
        if (!time_of_day(s, ms))
            return yfail(y, n, "%s: '%s' is not a time of day (HH:MM or HH:MM:SS)", what, s);
        return true;
    }
    for (size_t u = 0; u <= BL_ARRAY_LEN(units); u++) {
        size_t sl = strlen(s), fl = u < BL_ARRAY_LEN(units) ? strlen(units[u].sfx) : 0;
        int64_t mul = u < BL_ARRAY_LEN(units) ? units[u].mul : 1000; /* no suffix: seconds */
        if (u < BL_ARRAY_LEN(units) && (sl <= fl || strcmp(s + sl - fl, units[u].sfx) != 0))
            continue;
        if (sl - fl >= sizeof num)
            break;
        memcpy(num, s, sl - fl);
        num[sl - fl] = '\0';
        /* "5m" must not read as "5" + "m" of "ms": ms is tried first */
        if (!parse_milli(num, &milli) || milli < 0)
            break;
        if (milli > INT64_C(1) << 40)
            return yfail(y, n, "%s: '%s' is too long", what, s);
        *ms = (uint64_t)(milli * mul / 1000);
        return true;
    }
    return yfail(y, n, "%s: '%s' is not a duration (e.g. 500ms, 90s, 15m, 2h, 1.5h, 30d)", what, s);
}

char *bl_load_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t got;
        if (n + 4096 > cap) {
            char *nb;
            if (cap > (size_t)16 << 20) {
                snprintf(err, errlen, "%s: larger than 16 MiB", path);
                goto fail;
            }
            cap = cap ? cap * 2 : 65536;
            if ((nb = realloc(buf, cap)) == NULL) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    fclose(fp);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    fclose(fp);
    free(buf);
    return NULL;
}

