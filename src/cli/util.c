/* Error messages, usage, option values shared by every verb. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void cli_err(const char *fmt, ...)
{
    va_list ap;
    fputs("bmslink: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_err(const char *usage, const char *verb, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bmslink: %s: ", verb);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return BL_EXIT_USAGE;
}

int cli_help(const char *text)
{
    fputs(text, stdout);
    return BL_EXIT_OK;
}

bool cli_parse_count(const char *s, uint64_t *n)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > UINT64_MAX / 10u - 9u)
            return false;
        v = v * 10u + (uint64_t)(*s - '0');
    }
    *n = v;
    return true;
}

bool cli_parse_duration(const char *s, uint64_t *ms)
{
    uint64_t v = 0, frac = 0, fdiv = 1, mul;
    const char *p = s;

    if (s == NULL || *s < '0' || *s > '9')
        return false;
    while (*p >= '0' && *p <= '9') {
        if (v > UINT64_MAX / 10u - 9u)
            return false;
        v = v * 10u + (uint64_t)(*p++ - '0');
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9' && fdiv < 1000000u) {
            frac = frac * 10u + (uint64_t)(*p++ - '0');
            fdiv *= 10u;
        }
    }
    if (strcmp(p, "ms") == 0)
        mul = 1;
    else if (*p == '\0' || strcmp(p, "s") == 0)
        mul = 1000;
    else if (strcmp(p, "m") == 0 || strcmp(p, "min") == 0)
        mul = 60000;
    else if (strcmp(p, "h") == 0)
        mul = 3600000;
    else if (strcmp(p, "d") == 0)
        mul = 86400000;
    else
        return false;
    if (v > UINT64_MAX / mul / 2u)
        return false;
    *ms = v * mul + frac * mul / fdiv;
    return true;
}

const bl_protocol_t *cli_protocol(const char *verb, const char *name)
{
    const bl_protocol_t *p = bl_protocol_find(name);
    size_t n;
    const bl_protocol_t *const *all;

    if (p != NULL)
        return p;
    all = bl_protocols(&n);
    fprintf(stderr, "bmslink: %s: unknown protocol '%s'; known: ", verb, name);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", all[i]->name);
    fputc('\n', stderr);
    return NULL;
}

void cli_json_field(bl_out_t *o, const bl_record_t *r, unsigned id)
{
    const bl_field_info_t *fi = bl_field_info(id);
    const bl_field_t *f = &r->f[id];
    switch (fi->kind) {
    case BL_FK_BOOL:
        out_str(o, f->value ? "true" : "false");
        break;
    case BL_FK_INT:
        out_i64(o, f->value);
        break;
    case BL_FK_STR:
        out_jstr(o, bl_record_str(r, id));
        break;
    default:
        out_milli(o, f->value, f->dec);
        break;
    }
    o->first = false;
}

void cli_json_fields(bl_out_t *o, const char *key, const bl_record_t *r, uint32_t mask)
{
    j_key(o, key);
    j_obj(o);
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++) {
        if (!(mask & BL_BIT(i)) || !r->f[i].valid)
            continue;
        j_key(o, bl_field_info(i)->key);
        cli_json_field(o, r, i);
    }
    j_end_obj(o);
}

void cli_json_alarms(bl_out_t *o, const bl_alarm_mask_t active[BL_AC_COUNT])
{
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        j_key(o, bl_alarm_class_str(c));
        j_arr(o);
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (active[c] & (1U << a))
                j_str_el(o, bl_alarm_str(a));
        j_end_arr(o);
    }
}

bool cli_stderr_tty(void)
{
    return isatty(2) == 1;
}
