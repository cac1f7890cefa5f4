/*
 * bmslink explain CODE: what an inverter's battery-related fault or warning code means,
 * what makes it appear and what to check; with a diagnose cause (gap, cvl_zero,
 * alarm.short_circuit) the codes that cause shows as.
 */
#include "bmslink/diagnose.h"
#include "cli.h"
#include "errcodes_cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink explain [--brand BRAND] [--json] CODE | CAUSE\n"
    "       bmslink explain --list [--brand BRAND] [--json]\n"
    "       bmslink explain --causes [--json]\n"
    "  What an inverter's battery-related fault or warning code means, what makes it appear and\n"
    "  what to check. CODE as the display shows it, in any case, with or without spaces: F952,\n"
    "  f 952, ie102; a bare number (952) or the start of a code (F92) lists every code it fits.\n"
    "  CAUSE: a diagnose finding id (gap, cvl_zero, identity_rejected), a problem\n"
    "  (communication_fault) or alarm.NAME / warning.NAME: the codes inverters show for it.\n"
    "  --brand B   only that brand's codes (SMA, SolaX, Deye, Solis: bmslink explain --list)\n"
    "  --list      every code in the table;  --causes  the diagnose causes codes are tied to\n"
    "  --json      one JSON object\n"
    "  The table is share/errorcodes.yaml ($BMSLINK_ERRORCODES overrides it).\n"
    "exit status: 0 found, 2 unknown code or brand (close codes are suggested), 3 unreadable table\n"
    "examples:\n"
    "  bmslink explain F952\n"
    "  bmslink explain --brand solax ie102\n"
    "  bmslink explain 952 --json\n"
    "  bmslink explain gap\n";

#define MAX_HITS 64

typedef struct {
    const char *brand;
    bool json, list, causes;
} ex_opts_t;

static const char *match_str(bl_ec_match_t m)
{
    static const char *const n[] = { "none", "exact", "alias", "number", "prefix" };
    return (unsigned)m < sizeof n / sizeof n[0] ? n[m] : "none";
}

/* --brand names one of the table's brands (any case), or it is a usage error listing them */
static int check_brand(const bl_errcode_file_t *t, const char *brand)
{
    char known[256];
    size_t at = 0;

    if (brand == NULL)
        return BL_EXIT_OK;
    for (size_t i = 0; i < t->n; i++)
        if (bl_ec_brand_is(&t->e[i], brand))
            return BL_EXIT_OK;
    known[0] = '\0';
    for (size_t i = 0; i < t->n && at < sizeof known; i++)
        if (i == 0 || strcmp(t->e[i].brand, t->e[i - 1].brand) != 0)
            at += (size_t)snprintf(known + at, sizeof known - at, "%s%s", at ? ", " : "", t->e[i].brand);
    cli_err("explain: unknown brand '%s' (brands with codes: %s)", brand, known);
    return BL_EXIT_USAGE;
}

static void json_codes(bl_out_t *o, const bl_errcode_file_t *t, const uint16_t *idx, size_t n)
{
    j_key(o, "codes");
    j_arr(o);
    for (size_t i = 0; i < n; i++)
        cli_ec_json(o, &t->e[idx[i]]);
    j_end_arr(o);
}

static int list_all(bl_out_t *o, const bl_errcode_file_t *t, const ex_opts_t *x)
{
    uint16_t idx[BL_EC_MAX];
    size_t n = 0;

    for (size_t i = 0; i < t->n; i++)
        if (bl_ec_brand_is(&t->e[i], x->brand))
            idx[n++] = (uint16_t)i;
    if (x->json) { /* the shape of a look-up, so one reader takes both */
        j_obj(o);
        j_knull(o, "query");
        j_kstr(o, "match", "list");
        j_knull(o, "cause");
        json_codes(o, t, idx, n);
        j_end_obj(o);
        out_ch(o, '\n');
        return BL_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        const bl_errcode_t *e = &t->e[idx[i]];
        out_printf(o, "%-10s %-14s %-8s %s\n", e->brand, e->code, bl_ec_severity_str(e->severity),
                   e->name ? e->name : "");
    }
    out_printf(o, "%u codes (bmslink explain CODE for one)\n", (unsigned)n);
    return BL_EXIT_OK;
}

static int list_causes(bl_out_t *o, const ex_opts_t *x)
{
    size_t n;
    const bl_diag_cause_t *c = bl_diag_causes(&n);

    if (x->json) {
        j_arr(o);
        for (size_t i = 0; i < n; i++) {
            j_obj(o);
            j_kstr(o, "id", c[i].id);
            j_kstr(o, "problem", bl_diag_problem_str(c[i].problem));
            j_kstr(o, "what", c[i].what);
            j_end_obj(o);
        }
        j_end_arr(o);
        out_ch(o, '\n');
        return BL_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++)
        out_printf(o, "%-24s %-24s %s\n", c[i].id, bl_diag_problem_str(c[i].problem), c[i].what);
    out_str(o, "also: every problem name, and alarm.NAME / warning.NAME for a canonical alarm the battery raises\n");
    return BL_EXIT_OK;
}

static const bl_diag_cause_t *cause_row(const char *id)
{
    size_t n;
    const bl_diag_cause_t *c = bl_diag_causes(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].id, id) == 0)
            return &c[i];
    return NULL;
}

/* a diagnose cause: the codes that list it */
static int explain_cause(bl_out_t *o, const bl_errcode_file_t *t, const char *q, const ex_opts_t *x)
{
    uint16_t idx[BL_EC_MAX];
    size_t n = 0;
    const bl_diag_cause_t *row = cause_row(q);

    for (size_t i = 0; i < t->n; i++)
        if (bl_ec_brand_is(&t->e[i], x->brand) && bl_ec_has_cause(&t->e[i], q))
            idx[n++] = (uint16_t)i;
    if (x->json) {
        j_obj(o);
        j_kstr(o, "query", q);
        j_kstr(o, "match", "cause");
        j_key(o, "cause");
        j_obj(o);
        j_kstr(o, "id", q);
        j_kstr(o, "problem", row ? bl_diag_problem_str(row->problem) : NULL);
        j_kstr(o, "what", row ? row->what : NULL);
        j_end_obj(o);
        json_codes(o, t, idx, n);
        j_end_obj(o);
        out_ch(o, '\n');
        return BL_EXIT_OK;
    }
    out_printf(o, "diagnose cause %s", q);
    if (row != NULL)
        out_printf(o, " (%s): %s", bl_diag_problem_str(row->problem), row->what);
    out_ch(o, '\n');
    if (n == 0) {
        out_printf(o, "no inverter code in the table is tied to it%s%s\n", x->brand ? " for " : "",
                   x->brand ? x->brand : "");
        return BL_EXIT_OK;
    }
    out_printf(o, "inverters show it as %u code%s:\n", (unsigned)n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        out_ch(o, '\n');
        cli_ec_text(o, &t->e[idx[i]], "");
    }
    return BL_EXIT_OK;
}

static int unknown(const bl_errcode_file_t *t, const char *q, const ex_opts_t *x)
{
    uint16_t idx[6];
    size_t n = bl_ec_suggest(t->e, t->n, q, x->brand, idx, BL_ARRAY_LEN(idx));
    char close[256];
    size_t at = 0;

    close[0] = '\0';
    for (size_t i = 0; i < n && at < sizeof close; i++)
        at += (size_t)snprintf(close + at, sizeof close - at, "%s%s %s", i ? ", " : "", t->e[idx[i]].brand,
                               t->e[idx[i]].code);
    cli_err("explain: unknown code '%s'%s%s: %s%s", q, x->brand ? " for " : "", x->brand ? x->brand : "",
            n ? "close: " : "no close code; bmslink explain --list shows the table", close);
    return BL_EXIT_USAGE;
}

static int explain(bl_out_t *o, const bl_errcode_file_t *t, const char *q, const ex_opts_t *x)
{
    uint16_t idx[MAX_HITS];
    bl_ec_match_t how;
    size_t n = bl_ec_find(t->e, t->n, q, x->brand, idx, MAX_HITS, &how);

    if (n == 0)
        return bl_diag_cause_valid(q) ? explain_cause(o, t, q, x) : unknown(t, q, x);
    if (n > MAX_HITS)
        n = MAX_HITS;
    if (x->json) {
        j_obj(o);
        j_kstr(o, "query", q);
        j_kstr(o, "match", match_str(how));
        j_knull(o, "cause");
        json_codes(o, t, idx, n);
        j_end_obj(o);
        out_ch(o, '\n');
        return BL_EXIT_OK;
    }
    if (n > 1)
        out_printf(o, "%u codes fit '%s'%s:\n\n", (unsigned)n, q,
                   how == BL_EC_MATCH_PREFIX ? " (codes that start so)"
                   : how == BL_EC_MATCH_NUMBER ? " (the same number on several codes)"
                                               : " (several brands)");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            out_ch(o, '\n');
        cli_ec_text(o, &t->e[idx[i]], "");
    }
    return BL_EXIT_OK;
}

int verb_explain(int argc, char **argv)
{
    static const struct option opts[] = { { "brand", required_argument, 0, 'b' }, { "json", no_argument, 0, 'j' },
                                          { "list", no_argument, 0, 'l' },        { "causes", no_argument, 0, 'c' },
                                          { "help", no_argument, 0, 'h' },        { 0, 0, 0, 0 } };
    ex_opts_t x = { 0 };
    char query[128] = "";
    const bl_errcode_file_t *t;
    bl_out_t *o;
    int ch, rc;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "b:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': x.brand = optarg; break;
        case 'j': x.json = true; break;
        case 'l': x.list = true; break;
        case 'c': x.causes = true; break;
        case 'h': return cli_help(usage);
        default: return cli_usage_err(usage, "explain", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!x.list && !x.causes && optind >= argc)
        return cli_usage_err(usage, "explain", "no CODE (e.g. F952, IE102) or diagnose cause (e.g. gap)");
    if ((x.list || x.causes) && optind < argc)
        return cli_usage_err(usage, "explain", "--list and --causes take no CODE ('%s' is extra)", argv[optind]);
    /* "bmslink explain F 952": the words of one code, as a display spaces them */
    for (int i = optind; i < argc && !x.list && !x.causes; i++) {
        size_t l = strlen(query);
        if (snprintf(query + l, sizeof query - l, "%s%s", l ? " " : "", argv[i]) >= (int)(sizeof query - l))
            return cli_usage_err(usage, "explain", "CODE too long");
    }
    if ((t = cli_errcodes()) == NULL)
        return BL_EXIT_IO;
    if ((rc = check_brand(t, x.brand)) != BL_EXIT_OK)
        return rc;
    if ((o = malloc(sizeof *o)) == NULL)
        return BL_EXIT_IO;
    out_init(o, stdout);
    rc = x.causes ? list_causes(o, &x) : x.list ? list_all(o, t, &x) : explain(o, t, query, &x);
    out_flush(o);
    free(o);
    return rc;
}
