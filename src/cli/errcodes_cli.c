/* The shipped table of inverter error codes for explain, profiles and diagnose (errcodes_cli.h). */
#include "errcodes_cli.h"

#include "bmslink/model.h"
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *cli_errcodes_path(void)
{
    static char buf[PATH_MAX];
    const char *env = getenv("BMSLINK_ERRORCODES");

    if (env != NULL && *env)
        return env;
    return cli_share_path("errorcodes.yaml", false, buf, sizeof buf);
}

const bl_errcode_file_t *cli_errcodes(void)
{
    static bl_errcode_file_t *t;
    static bool tried;
    char err[512];

    if (tried)
        return t;
    tried = true;
    if ((t = malloc(sizeof *t)) == NULL) {
        cli_err("out of memory");
        return NULL;
    }
    if (bl_errcodes_load(t, cli_errcodes_path(), err, sizeof err) != 0) {
        cli_err("%s", err);
        free(t);
        t = NULL;
    }
    return t;
}

void cli_ec_text(bl_out_t *o, const bl_errcode_t *e, const char *in)
{
    out_printf(o, "%s%s %s (%s%s%s)\n", in, e->brand, e->code, bl_ec_severity_str(e->severity), e->name ? ", " : "",
               e->name ? e->name : "");
    out_printf(o, "%s  meaning:  %s\n", in, e->meaning);
    out_printf(o, "%s  check:    %s\n", in, e->check);
    out_printf(o, "%s  causes:   ", in);
    if (e->ncauses == 0)
        out_str(o, "none that bmslink diagnose detects yet");
    for (unsigned i = 0; i < e->ncauses; i++)
        out_printf(o, "%s%s", i ? ", " : "", e->causes[i]);
    if (e->after_ms)
        out_printf(o, " (shown after %u s)", (unsigned)(e->after_ms / 1000u));
    out_ch(o, '\n');
    if (e->nprofiles || e->firmware) {
        out_printf(o, "%s  applies:  ", in);
        for (unsigned i = 0; i < e->nprofiles; i++)
            out_printf(o, "%s%s", i ? ", " : "", e->profiles[i]);
        if (e->firmware)
            out_printf(o, "%sfirmware %s", e->nprofiles ? ", " : "", e->firmware);
        out_ch(o, '\n');
    }
    out_printf(o, "%s  source:   %s (confidence %s)\n", in, e->source, e->confidence);
}

static void str_list(bl_out_t *o, const char *k, const char *const *v, unsigned n)
{
    j_key(o, k);
    j_arr(o);
    for (unsigned i = 0; i < n; i++)
        j_str_el(o, v[i]);
    j_end_arr(o);
}

void cli_ec_json(bl_out_t *o, const bl_errcode_t *e)
{
    j_obj(o);
    j_kstr(o, "brand", e->brand);
    j_kstr(o, "code", e->code);
    j_kstr(o, "name", e->name);
    j_kstr(o, "severity", bl_ec_severity_str(e->severity));
    j_kstr(o, "meaning", e->meaning);
    j_kstr(o, "check", e->check);
    str_list(o, "causes", e->causes, e->ncauses);
    if (e->after_ms)
        j_kmilli(o, "after_s", e->after_ms, 0);
    else
        j_knull(o, "after_s");
    str_list(o, "aliases", e->aliases, e->naliases);
    str_list(o, "profiles", e->profiles, e->nprofiles);
    j_kstr(o, "firmware", e->firmware);
    j_kstr(o, "source", e->source);
    j_kstr(o, "confidence", e->confidence);
    j_end_obj(o);
}

/* does the finding raise this cause word */
static bool cause_hits(const char *c, const bl_diag_finding_t *f)
{
    unsigned a;

    if (strcmp(c, f->id) == 0 || strcmp(c, bl_diag_problem_str(f->problem)) == 0)
        return true;
    if (strncmp(c, "alarm.", 6) == 0 && (a = bl_alarm_by_name(c + 6)) < BL_A_COUNT)
        return ((f->alarms[BL_AC_ALARM] | f->alarms[BL_AC_PROTECTION]) >> a & 1u) != 0;
    if (strncmp(c, "warning.", 8) == 0 && (a = bl_alarm_by_name(c + 8)) < BL_A_COUNT)
        return (f->alarms[BL_AC_WARNING] >> a & 1u) != 0;
    return false;
}

size_t cli_ec_for_finding(const bl_errcode_file_t *t, const bl_diag_finding_t *f, const char *brand,
                          const char *profile, const char *fw, uint16_t *idx, size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; t != NULL && i < t->n && k < cap; i++) {
        const bl_errcode_t *e = &t->e[i];
        bool hit = false;
        if (!bl_ec_applies(e, brand, profile) || (e->firmware && fw && strcmp(e->firmware, fw) != 0))
            continue;
        /* shown only once the condition lasted long enough (a silence of 30 s is no F952) */
        if (e->after_ms && f->span_us < (uint64_t)e->after_ms * 1000u)
            continue;
        for (unsigned c = 0; c < e->ncauses && !hit; c++)
            hit = cause_hits(e->causes[c], f);
        if (hit)
            idx[k++] = (uint16_t)i;
    }
    return k;
}
