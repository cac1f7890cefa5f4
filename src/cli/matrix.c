/*
 * bmslink matrix run|show|export|diff|runs|reference [--db FILE]
 * The compatibility matrix: `run` validates a battery against inverter profiles and
 * stores every result as it is judged (matrix_store.c); `show` prints the table an
 * installer and a product manager read (inverter model | interface | firmware |
 * supported functions | test status | required settings); `export` writes it as
 * html, csv, md or json (CLI.md); `diff` compares a run against its battery's
 * reference run and lists what changed.
 */
#include "matrix.h"

#include "cli.h"
#include "sim_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink matrix run --battery SRC|sim:PROTOCOL --inverter all|PROFILE... [--scenario FILE]\n"
    "                          [--report FILE.html] [--reference] [--db FILE]\n"
    "       bmslink matrix show [--run ID | --battery SRC | --all] [--db FILE]\n"
    "       bmslink matrix export --format html|csv|md|json [--run ID | --battery SRC | --all] [-o FILE] [--db FILE]\n"
    "       bmslink matrix diff [--run ID] [--ref ID] [--json] [--db FILE]\n"
    "       bmslink matrix runs [--db FILE]\n"
    "       bmslink matrix reference RUN_ID [--unset] [--db FILE]\n"
    "  The compatibility matrix in a SQLite file (default bmslink-matrix.db): every validation run\n"
    "  (battery, firmware, scenario), every inverter's result with its checks, evidence frames and\n"
    "  required settings. Each result is committed as soon as it is judged.\n"
    "  run        validate (as bmslink validate) and store; --reference marks the run as the\n"
    "             reference of its battery; --report also writes the HTML report\n"
    "  show       the latest run (or --run ID, the latest of --battery SRC, --all: the latest result\n"
    "             of every battery and inverter)\n"
    "  export     the same rows as html, csv, md or json (one object per row, CLI.md)\n"
    "  diff       a run (default the latest) against the reference run of the same battery (or --ref):\n"
    "             what changed per inverter and check; exit 1 when something got worse\n"
    "  runs       every run: time, battery, firmware, counts, finished or interrupted\n"
    "  reference  mark a stored run as its battery's reference\n"
    "examples:\n"
    "  bmslink matrix run --battery sim:pylon-lv --inverter all --reference\n"
    "  bmslink matrix show\n"
    "  bmslink matrix export --format md > matrix.md\n"
    "  bmslink matrix run --battery sim:pylon-lv --inverter all --scenario fw-1.1.yaml && bmslink matrix diff\n";

typedef struct {
    const char *db, *battery, *scenario, *report, *firmware, *protocol, *format, *output, *sel_battery;
    char *inverters[64];
    unsigned ninv;
    int64_t run, ref;
    uint64_t duration_ms;
    bool reference, unset, all, json;
} mx_opts_t;

enum {
    OPT_DB = 256, OPT_BATTERY, OPT_INVERTER, OPT_SCENARIO, OPT_REPORT, OPT_FIRMWARE, OPT_DURATION, OPT_FORMAT,
    OPT_RUN, OPT_REF, OPT_REFERENCE, OPT_UNSET, OPT_ALL, OPT_JSON
};

static bool parse_id(const char *s, int64_t *id)
{
    uint64_t v;
    if (!cli_parse_count(s, &v) || v == 0 || v > INT64_MAX)
        return false;
    *id = (int64_t)v;
    return true;
}

static int parse(int argc, char **argv, mx_opts_t *mo)
{
    static const struct option opts[] = {
        { "db", required_argument, 0, OPT_DB },           { "battery", required_argument, 0, OPT_BATTERY },
        { "inverter", required_argument, 0, OPT_INVERTER }, { "scenario", required_argument, 0, OPT_SCENARIO },
        { "report", required_argument, 0, OPT_REPORT },   { "firmware", required_argument, 0, OPT_FIRMWARE },
        { "duration", required_argument, 0, OPT_DURATION }, { "format", required_argument, 0, OPT_FORMAT },
        { "run", required_argument, 0, OPT_RUN },         { "ref", required_argument, 0, OPT_REF },
        { "reference", no_argument, 0, OPT_REFERENCE },   { "unset", no_argument, 0, OPT_UNSET },
        { "all", no_argument, 0, OPT_ALL },               { "json", no_argument, 0, OPT_JSON },
        { "protocol", required_argument, 0, 'p' },        { "output", required_argument, 0, 'o' },
        { "help", no_argument, 0, 'h' },                  { 0, 0, 0, 0 } };
    int ch;

    memset(mo, 0, sizeof *mo);
    mo->db = MX_DEFAULT_DB;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "p:o:h", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_DB: mo->db = optarg; break;
        case OPT_BATTERY: mo->battery = optarg; break;
        case OPT_INVERTER:
            if (mo->ninv >= BL_ARRAY_LEN(mo->inverters))
                return cli_usage_err(usage, "matrix", "too many --inverter options");
            mo->inverters[mo->ninv++] = optarg;
            break;
        case OPT_SCENARIO: mo->scenario = optarg; break;
        case OPT_REPORT: mo->report = optarg; break;
        case OPT_FIRMWARE: mo->firmware = optarg; break;
        case OPT_FORMAT: mo->format = optarg; break;
        case OPT_REFERENCE: mo->reference = true; break;
        case OPT_UNSET: mo->unset = true; break;
        case OPT_ALL: mo->all = true; break;
        case OPT_JSON: mo->json = true; break;
        case 'p': mo->protocol = optarg; break;
        case 'o': mo->output = optarg; break;
        case OPT_RUN:
            if (!parse_id(optarg, &mo->run))
                return cli_usage_err(usage, "matrix", "bad --run '%s' (a run id: bmslink matrix runs)", optarg);
            break;
        case OPT_REF:
            if (!parse_id(optarg, &mo->ref))
                return cli_usage_err(usage, "matrix", "bad --ref '%s' (a run id: bmslink matrix runs)", optarg);
            break;
        case OPT_DURATION:
            if (!cli_parse_duration(optarg, &mo->duration_ms) || mo->duration_ms == 0)
                return cli_usage_err(usage, "matrix", "bad --duration '%s' (e.g. 90s, 15m, 2h)", optarg);
            break;
        case 'h': return -1;
        default: return cli_usage_err(usage, "matrix", "unknown option '%s'", argv[optind - 1]);
        }
    }
    return BL_EXIT_OK;
}

/* ---- run -------------------------------------------------------------------------------------- */

static int cmd_run(const mx_opts_t *mo)
{
    vr_opts_t o;
    bl_profile_file_t *pf = NULL;
    vr_result_t *rs = NULL;
    bl_scenario_t *scn = NULL;
    mx_db_t *db = NULL;
    mx_run_info_t ri;
    FILE *report = NULL;
    int64_t run_id = 0;
    unsigned n = 0, ran = 0;
    int rc;
    bool tty = cli_stderr_tty();

    if (mo->battery == NULL)
        return cli_usage_err(usage, "matrix", "run: --battery SRC|sim:PROTOCOL is required");
    if (mo->ninv == 0)
        return cli_usage_err(usage, "matrix", "run: --inverter all|PROFILE is required");
    memset(&o, 0, sizeof o);
    o.verb = "matrix";
    if ((rc = cli_val_battery("matrix", mo->battery, mo->protocol, &o)) != BL_EXIT_OK)
        return rc;
    if (mo->report != NULL && (report = fopen(mo->report, "w")) == NULL) {
        cli_err("matrix: %s: %s", mo->report, strerror(errno));
        return BL_EXIT_IO;
    }
    if ((scn = malloc(sizeof *scn)) == NULL) {
        cli_err("matrix: out of memory");
        rc = BL_EXIT_IO;
        goto done;
    }
    if (mo->scenario != NULL) {
        if ((rc = cli_scenario_load("matrix", mo->scenario, scn)) != BL_EXIT_OK)
            goto done;
    } else {
        bl_val_scenario(scn);
    }
    o.scenario_path = mo->scenario;
    o.scn = scn;
    o.firmware = mo->firmware;
    o.duration_ms = mo->duration_ms;
    o.timeline = mo->report != NULL;
    if ((rc = vr_profiles("matrix", (char **)mo->inverters, mo->ninv, &pf, &n)) != BL_EXIT_OK)
        goto done;
    if ((rs = calloc(n ? n : 1, sizeof *rs)) == NULL) {
        cli_err("matrix: out of memory");
        rc = BL_EXIT_IO;
        goto done;
    }
    if ((rc = mx_open(mo->db, true, &db)) != 0)
        goto done;
    memset(&ri, 0, sizeof ri);
    ri.battery = mo->battery;
    ri.protocol = o.bp != NULL ? o.bp->name : o.live ? NULL : "native";
    ri.manufacturer = o.live ? NULL : scn->battery.manufacturer;
    ri.model = o.live ? NULL : scn->battery.model;
    ri.firmware = o.live ? NULL : scn->battery.firmware;
    ri.scenario = o.live ? "live" : scn->name;
    ri.live = o.live;
    ri.reference = mo->reference;
    if ((rc = mx_run_begin(db, &ri, &run_id)) != 0)
        goto done;
    for (unsigned i = 0; i < n; i++) {
        if (tty)
            fprintf(stderr, "\rbmslink: matrix: run %lld: %u/%u %-24s", (long long)run_id, i + 1, n, pf[i].p.name);
        rc = vr_run(&o, &pf[i], &rs[i]);
        if (rc == BL_EXIT_IO)
            goto done;
        if (rc != BL_EXIT_OK && n == 1) {
            cli_err("matrix: %s: %s", pf[i].p.name, rs[i].why);
            goto done;
        }
        ran += rs[i].ran;
        if ((rc = mx_run_result(db, run_id, &rs[i])) != 0)
            goto done;
        if (!o.timeline)
            vr_free(&rs[i]);
    }
    if (tty)
        fputs("\r\033[K", stderr);
    if ((rc = mx_run_end(db, run_id)) != 0)
        goto done;
    if (mo->report != NULL) {
        char title[256];
        int err;
        snprintf(title, sizeof title, "bmslink validation: %s (matrix run %lld)", mo->battery, (long long)run_id);
        err = vr_report_html(report, rs, n, title);
        report = NULL;
        if (err != 0) {
            cli_err("matrix: %s: %s", mo->report, strerror(err));
            rc = BL_EXIT_IO;
            goto done;
        }
    }
    printf("run %lld: %s against %u inverter profile%s, %u tested; stored in %s%s%s\n", (long long)run_id,
           mo->battery, n, n == 1 ? "" : "s", ran, mo->db, mo->report ? "; report " : "", mo->report ? mo->report : "");
    fflush(stdout);
    rc = ran == 0 ? BL_EXIT_USAGE : BL_EXIT_OK;
    if (ran == 0)
        cli_err("matrix: %s: no inverter could be tested against this battery", mo->battery);
done:
    if (report != NULL)
        fclose(report);
    mx_close(db);
    for (unsigned i = 0; rs != NULL && i < n; i++)
        vr_free(&rs[i]);
    free(rs);
    free(pf);
    free(scn);
    return rc;
}

/* ---- show and export ------------------------------------------------------------------------------ */

/* The functions that work: the checks that passed, detect and settings aside (they are the
 * preconditions); nothing when the battery was never detected. Compact form for the terminal:
 * "all but X, Y" when most passed. */
static void functions_text(char *buf, size_t n, const mx_row_t *r, bool compact)
{
    size_t k = 0;
    unsigned pass = 0, total = 0;
    buf[0] = '\0';
    if (strcmp(r->fn[BL_VC_DETECT], "pass") != 0) {
        snprintf(buf, n, "-");
        return;
    }
    for (unsigned i = 0; i < BL_VC_COUNT; i++)
        if (i != BL_VC_DETECT && i != BL_VC_SETTINGS) {
            total++;
            pass += strcmp(r->fn[i], "pass") == 0;
        }
    if (compact && pass == total) {
        snprintf(buf, n, "all");
        return;
    }
    if (compact && pass * 2 > total) {
        k = (size_t)snprintf(buf, n, "all but");
        for (unsigned i = 0; i < BL_VC_COUNT && k < n; i++)
            if (i != BL_VC_DETECT && i != BL_VC_SETTINGS && strcmp(r->fn[i], "pass") != 0)
                k += (size_t)snprintf(buf + k, n - k, " %s", bl_val_check_str(i));
        return;
    }
    for (unsigned i = 0; i < BL_VC_COUNT && k < n; i++)
        if (i != BL_VC_DETECT && i != BL_VC_SETTINGS && strcmp(r->fn[i], "pass") == 0)
            k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? " " : "", bl_val_check_str(i));
    if (k == 0)
        snprintf(buf, n, "-");
}

static void settings_text(char *buf, size_t n, const mx_row_t *r, const char *sep)
{
    size_t k = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < r->nsettings && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? sep : "", r->settings[i]);
    if (r->nsettings == 0)
        snprintf(buf, n, "-");
}

static int select_rows(mx_db_t *db, const mx_opts_t *mo, mx_row_t **rows, size_t *n)
{
    mx_select_t sel;
    int rc;
    memset(&sel, 0, sizeof sel);
    sel.run_id = mo->run;
    sel.battery = mo->sel_battery;
    sel.latest_each = mo->all;
    if ((rc = mx_rows(db, &sel, rows, n)) != 0)
        return rc;
    if (*n == 0 && (mo->run || mo->sel_battery)) {
        cli_err("matrix: %s: no results for %s%s", mo->db, mo->run ? "run " : "battery ",
                mo->run ? "that id (bmslink matrix runs lists them)" : mo->sel_battery);
        free(*rows);
        *rows = NULL;
        return BL_EXIT_USAGE;
    }
    return 0;
}

static void show_table(bl_out_t *o, const mx_row_t *rows, size_t n)
{
    const char *bat = NULL;
    int64_t run = 0;
    out_printf(o, "%-24s %-30s %-16s %-9s %-40s %s\n", "INVERTER MODEL", "INTERFACE", "FIRMWARE", "STATUS",
               "SUPPORTED FUNCTIONS", "REQUIRED SETTINGS");
    for (size_t i = 0; i < n; i++) {
        const mx_row_t *r = &rows[i];
        char model[100], fn[200], st[600];
        if (bat == NULL || strcmp(bat, r->battery) != 0 || run != r->run_id) {
            out_printf(o, "-- battery %s%s%s, run %lld\n", r->battery, r->battery_firmware[0] ? ", firmware " : "",
                       r->battery_firmware, (long long)r->run_id);
            bat = r->battery;
            run = r->run_id;
        }
        snprintf(model, sizeof model, "%s", r->inverter);
        functions_text(fn, sizeof fn, r, true);
        settings_text(st, sizeof st, r, "; ");
        out_printf(o, "%-24.24s %-30.30s %-16.16s %-9s %-40s %s\n", model, r->interface, r->firmware, r->status, fn,
                   st);
    }
}

static void csv_field(bl_out_t *o, const char *s)
{
    out_ch(o, '"');
    for (; *s; s++) {
        if (*s == '"')
            out_ch(o, '"');
        out_ch(o, *s);
    }
    out_ch(o, '"');
}

static void md_cell(bl_out_t *o, const char *s)
{
    out_str(o, " ");
    for (; *s; s++) {
        if (*s == '|')
            out_str(o, "\\|");
        else
            out_ch(o, *s == '\n' ? ' ' : *s);
    }
    out_str(o, " |");
}

static void export_json(bl_out_t *o, const mx_row_t *rows, size_t n)
{
    out_ch(o, '[');
    for (size_t i = 0; i < n; i++) {
        const mx_row_t *r = &rows[i];
        out_str(o, i ? ",\n" : "\n");
        o->first = true;
        j_obj(o);
        j_kstr(o, "inverter_model", r->inverter_model);
        j_kstr(o, "inverter", r->inverter);
        j_kstr(o, "interface", r->interface);
        j_kstr(o, "firmware", r->firmware);
        j_key(o, "functions");
        j_obj(o);
        for (unsigned k = 0; k < BL_VC_COUNT; k++)
            j_kstr(o, bl_val_check_str(k), r->fn[k][0] ? r->fn[k] : "untested");
        j_end_obj(o);
        j_kstr(o, "status", r->status);
        j_key(o, "required_settings");
        j_arr(o);
        for (unsigned k = 0; k < r->nsettings; k++)
            j_str_el(o, r->settings[k]);
        j_end_arr(o);
        j_kstr(o, "battery", r->battery);
        j_kstr(o, "battery_protocol", r->battery_protocol);
        j_kstr(o, "battery_firmware", r->battery_firmware);
        j_kstr(o, "note", r->note);
        j_kstr(o, "tested_at", r->tested_at);
        j_kint(o, "run_id", r->run_id);
        j_end_obj(o);
    }
    out_str(o, n ? "\n]\n" : "]\n");
}

static void export_csv(bl_out_t *o, const mx_row_t *rows, size_t n)
{
    out_str(o, "inverter_model,inverter,interface,firmware,supported_functions,status,required_settings,battery,"
               "battery_protocol,battery_firmware,tested_at,run_id");
    for (unsigned k = 0; k < BL_VC_COUNT; k++)
        out_printf(o, ",%s", bl_val_check_str(k));
    out_str(o, "\r\n");
    for (size_t i = 0; i < n; i++) {
        const mx_row_t *r = &rows[i];
        char fn[200], st[600];
        const char *cells[11];
        functions_text(fn, sizeof fn, r, false);
        settings_text(st, sizeof st, r, "; ");
        cells[0] = r->inverter_model;
        cells[1] = r->inverter;
        cells[2] = r->interface;
        cells[3] = r->firmware;
        cells[4] = fn;
        cells[5] = r->status;
        cells[6] = st;
        cells[7] = r->battery;
        cells[8] = r->battery_protocol;
        cells[9] = r->battery_firmware;
        cells[10] = r->tested_at;
        for (unsigned c = 0; c < BL_ARRAY_LEN(cells); c++) {
            if (c)
                out_ch(o, ',');
            csv_field(o, cells[c]);
        }
        out_printf(o, ",%lld", (long long)r->run_id);
        for (unsigned k = 0; k < BL_VC_COUNT; k++)
            out_printf(o, ",%s", r->fn[k][0] ? r->fn[k] : "untested");
        out_str(o, "\r\n");
    }
}

static void export_md(bl_out_t *o, const mx_row_t *rows, size_t n)
{
    out_str(o, "| inverter model | interface | firmware | supported functions | test status | required settings |\n"
               "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        const mx_row_t *r = &rows[i];
        char fn[200], st[600], model[400];
        functions_text(fn, sizeof fn, r, false);
        settings_text(st, sizeof st, r, "<br>");
        snprintf(model, sizeof model, "%s (%s)", r->inverter_model, r->inverter);
        out_str(o, "|");
        md_cell(o, model);
        md_cell(o, r->interface);
        md_cell(o, r->firmware);
        md_cell(o, fn);
        md_cell(o, r->status);
        md_cell(o, st);
        out_ch(o, '\n');
    }
    if (n > 0)
        out_printf(o, "\nBattery %s (%s%s%s), run %lld, tested %s with bmslink " BL_VERSION_STRING ".\n",
                   rows[0].battery, rows[0].battery_protocol, rows[0].battery_firmware[0] ? ", firmware " : "",
                   rows[0].battery_firmware, (long long)rows[0].run_id, rows[0].tested_at);
}

static void export_html(bl_out_t *o, const mx_row_t *rows, size_t n)
{
    vr_html_head(o, "bmslink compatibility matrix");
    out_str(o, "<header><h1>Compatibility matrix</h1><p>");
    if (n > 0) {
        out_str(o, "battery ");
        vr_html_esc(o, rows[0].battery);
        out_str(o, " &middot; ");
    }
    out_printf(o, "%zu result%s</p></header>\n<main><section><table><thead><tr><th>inverter model</th>"
                  "<th>interface</th><th>firmware</th><th>supported functions</th><th>test status</th>"
                  "<th>required settings</th></tr></thead><tbody>\n",
               n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const mx_row_t *r = &rows[i];
        char fn[200];
        functions_text(fn, sizeof fn, r, false);
        out_str(o, "<tr><td>");
        vr_html_esc(o, r->inverter_model);
        out_str(o, "<br><span class=\"meta\">");
        vr_html_esc(o, r->inverter);
        out_str(o, "</span></td><td>");
        vr_html_esc(o, r->interface);
        out_str(o, "</td><td>");
        vr_html_esc(o, r->firmware);
        out_str(o, "</td><td>");
        vr_html_esc(o, fn);
        out_printf(o, "</td><td><span class=\"b %s\">%s</span>", r->status, r->status);
        if (r->note[0]) {
            out_str(o, "<br><span class=\"meta\">");
            vr_html_esc(o, r->note);
            out_str(o, "</span>");
        }
        out_str(o, "</td><td>");
        for (unsigned k = 0; k < r->nsettings; k++) {
            out_str(o, k ? "<br><code>" : "<code>");
            vr_html_esc(o, r->settings[k]);
            out_str(o, "</code>");
        }
        out_str(o, "</td></tr>\n");
    }
    out_str(o, "</tbody></table></section></main>\n");
    vr_html_tail(o);
}

static int cmd_show_export(const mx_opts_t *mo, bool export)
{
    static const char *const formats[] = { "html", "csv", "md", "json" };
    mx_db_t *db = NULL;
    mx_row_t *rows = NULL;
    size_t n = 0;
    unsigned fmt = 0;
    FILE *fp = stdout;
    bl_out_t *o = NULL;
    int rc;

    if (export) {
        if (mo->format == NULL)
            return cli_usage_err(usage, "matrix", "export: --format html|csv|md|json is required");
        for (fmt = 0; fmt < BL_ARRAY_LEN(formats) && strcmp(formats[fmt], mo->format) != 0; fmt++)
            ;
        if (fmt == BL_ARRAY_LEN(formats))
            return cli_usage_err(usage, "matrix", "export: unknown --format '%s' (html, csv, md, json)", mo->format);
    }
    if ((rc = mx_open(mo->db, false, &db)) != 0)
        return rc;
    if ((rc = select_rows(db, mo, &rows, &n)) != 0)
        goto done;
    if (mo->output != NULL && (fp = fopen(mo->output, "w")) == NULL) {
        cli_err("matrix: %s: %s", mo->output, strerror(errno));
        rc = BL_EXIT_IO;
        goto done;
    }
    if ((o = malloc(sizeof *o)) == NULL) {
        rc = BL_EXIT_IO;
        goto done;
    }
    out_init(o, fp);
    if (!export) {
        if (n == 0)
            out_printf(o, "%s: no results yet (bmslink matrix run --battery sim:PROTOCOL --inverter all)\n", mo->db);
        else
            show_table(o, rows, n);
    } else if (fmt == 0) {
        export_html(o, rows, n);
    } else if (fmt == 1) {
        export_csv(o, rows, n);
    } else if (fmt == 2) {
        export_md(o, rows, n);
    } else {
        export_json(o, rows, n);
    }
    out_flush(o);
    if (ferror(fp) || (fp != stdout && fclose(fp) != 0)) {
        cli_err("matrix: %s: write failed", mo->output ? mo->output : "stdout");
        fp = stdout;
        rc = BL_EXIT_IO;
        goto done;
    }
    fp = stdout;
    rc = BL_EXIT_OK;
done:
    if (fp != stdout)
        fclose(fp);
    free(o);
    free(rows);
    mx_close(db);
    return rc;
}

/* ---- runs and reference ---------------------------------------------------------------------------- */

static int cmd_runs(const mx_opts_t *mo)
{
    mx_db_t *db = NULL;
    mx_runinfo_t *runs = NULL;
    size_t n = 0;
    int rc;

    if ((rc = mx_open(mo->db, false, &db)) != 0)
        return rc;
    if ((rc = mx_runs(db, &runs, &n)) == 0) {
        printf("%-5s %-20s %-11s %-24s %-14s %-10s %s\n", "RUN", "STARTED", "STATE", "BATTERY", "PROTOCOL", "FIRMWARE",
               "PASS/PARTIAL/FAIL/UNTESTED");
        for (size_t i = 0; i < n; i++) {
            const mx_runinfo_t *r = &runs[i];
            printf("%-5lld %-20s %-11s %-24s %-14s %-10s %u/%u/%u/%u%s\n", (long long)r->run_id, r->started,
                   r->finished[0] ? "finished" : "interrupted", r->battery, r->protocol, r->firmware[0] ? r->firmware : "-",
                   r->counts[0], r->counts[1], r->counts[2], r->counts[3], r->reference ? "  reference" : "");
        }
        if (n == 0)
            printf("%s: no runs yet\n", mo->db);
    }
    free(runs);
    mx_close(db);
    return rc;
}

static int cmd_reference(const mx_opts_t *mo, int argc, char **argv)
{
    mx_db_t *db = NULL;
    int64_t id;
    int rc;

    if (optind >= argc || !parse_id(argv[optind], &id))
        return cli_usage_err(usage, "matrix", "reference: give a RUN_ID (bmslink matrix runs lists them)");
    if ((rc = mx_open(mo->db, false, &db)) != 0)
        return rc;
    rc = mx_set_reference(db, id, !mo->unset);
    if (rc == 0)
        printf("run %lld %s\n", (long long)id, mo->unset ? "is no longer a reference" : "is now the reference of its battery");
    mx_close(db);
    return rc;
}

/* ---- diff: the regression view ---------------------------------------------------------------------- */

static int rank(const char *status)
{
    /* better is higher */
    return strcmp(status, "pass") == 0 ? 3 : strcmp(status, "partial") == 0 ? 2 : strcmp(status, "fail") == 0 ? 1 : 0;
}

static int rank_check(const char *s)
{
    return strcmp(s, "pass") == 0 ? 2 : strcmp(s, "skip") == 0 ? 1 : 0;
}

static const mx_row_t *find(const mx_row_t *rows, size_t n, const char *inverter)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].inverter, inverter) == 0)
            return &rows[i];
    return NULL;
}

static int cmd_diff(const mx_opts_t *mo)
{
    mx_db_t *db = NULL;
    mx_row_t *cur = NULL, *ref = NULL;
    size_t nc = 0, nr = 0;
    mx_select_t sel;
    int64_t run, refid;
    unsigned worse = 0, better = 0, same = 0;
    bl_out_t *o = NULL;
    int rc;

    if ((rc = mx_open(mo->db, false, &db)) != 0)
        return rc;
    run = mo->run ? mo->run : mx_latest_run(db, NULL);
    refid = mo->ref ? mo->ref : mx_reference_for(db, run);
    if (run == 0) {
        cli_err("matrix: %s: no runs yet", mo->db);
        rc = BL_EXIT_USAGE;
        goto done;
    }
    if (refid == 0) {
        cli_err("matrix: %s: run %lld has no reference run of the same battery: mark one with bmslink matrix "
                "reference RUN_ID (or matrix run --reference), or give --ref RUN_ID",
                mo->db, (long long)run);
        rc = BL_EXIT_USAGE;
        goto done;
    }
    memset(&sel, 0, sizeof sel);
    sel.run_id = run;
    if ((rc = mx_rows(db, &sel, &cur, &nc)) != 0)
        goto done;
    sel.run_id = refid;
    if ((rc = mx_rows(db, &sel, &ref, &nr)) != 0)
        goto done;
    if (nc == 0 || nr == 0) {
        cli_err("matrix: %s: run %lld has no results", mo->db, (long long)(nc == 0 ? run : refid));
        rc = BL_EXIT_USAGE;
        goto done;
    }
    if ((o = malloc(sizeof *o)) == NULL) {
        rc = BL_EXIT_IO;
        goto done;
    }
    out_init(o, stdout);
    if (mo->json) {
        o->first = true;
        j_obj(o);
        j_kint(o, "run_id", run);
        j_kint(o, "reference_run_id", refid);
        j_kstr(o, "battery", cur[0].battery);
        j_kstr(o, "battery_firmware", cur[0].battery_firmware);
        j_kstr(o, "reference_battery_firmware", ref[0].battery_firmware);
        j_key(o, "changes");
        j_arr(o);
    } else {
        out_printf(o, "run %lld (%s, firmware %s) against reference run %lld (firmware %s):\n", (long long)run,
                   cur[0].battery, cur[0].battery_firmware[0] ? cur[0].battery_firmware : "-", (long long)refid,
                   ref[0].battery_firmware[0] ? ref[0].battery_firmware : "-");
    }
    for (size_t i = 0; i < nc + nr; i++) {
        const mx_row_t *c = i < nc ? &cur[i] : NULL, *r = i < nc ? find(ref, nr, cur[i].inverter) : &ref[i - nc];
        if (i >= nc && find(cur, nc, r->inverter) != NULL)
            continue; /* seen from the current side */
        if (c != NULL && r != NULL && strcmp(c->status, r->status) == 0) {
            bool changed = false;
            for (unsigned k = 0; k < BL_VC_COUNT && !changed; k++)
                changed = strcmp(c->fn[k], r->fn[k]) != 0;
            if (!changed) {
                same++;
                continue;
            }
        }
        {
            int d = c == NULL ? -1 : r == NULL ? 0 : rank(c->status) - rank(r->status);
            const char *inv = c != NULL ? c->inverter : r->inverter;
            bool worse_check = false;
            for (unsigned k = 0; c != NULL && r != NULL && k < BL_VC_COUNT; k++)
                worse_check = worse_check || rank_check(c->fn[k]) < rank_check(r->fn[k]);
            if (d < 0 || (d == 0 && worse_check))
                worse++;
            else
                better++;
            if (mo->json) {
                j_obj(o);
                j_kstr(o, "inverter", inv);
                j_kstr(o, "was", r != NULL ? r->status : "absent");
                j_kstr(o, "now", c != NULL ? c->status : "absent");
                j_kbool(o, "regression", d < 0 || (d == 0 && worse_check));
                j_key(o, "checks");
                j_obj(o);
                for (unsigned k = 0; c != NULL && r != NULL && k < BL_VC_COUNT; k++)
                    if (strcmp(c->fn[k], r->fn[k]) != 0) {
                        j_key(o, bl_val_check_str(k));
                        j_obj(o);
                        j_kstr(o, "was", r->fn[k][0] ? r->fn[k] : "untested");
                        j_kstr(o, "now", c->fn[k][0] ? c->fn[k] : "untested");
                        j_kstr(o, "observed", c->fn_obs[k]);
                        j_end_obj(o);
                    }
                j_end_obj(o);
                j_end_obj(o);
                continue;
            }
            out_printf(o, "  %s %-24s %s -> %s\n", d < 0 || (d == 0 && worse_check) ? "WORSE " : "better", inv,
                       r != NULL ? r->status : "(absent)", c != NULL ? c->status : "(absent)");
            for (unsigned k = 0; c != NULL && r != NULL && k < BL_VC_COUNT; k++)
                if (strcmp(c->fn[k], r->fn[k]) != 0)
                    out_printf(o, "      %-16s %s -> %s: %s\n", bl_val_check_str(k), r->fn[k][0] ? r->fn[k] : "untested",
                               c->fn[k][0] ? c->fn[k] : "untested", c->fn_obs[k]);
        }
    }
    if (mo->json) {
        j_end_arr(o);
        j_kint(o, "worse", worse);
        j_kint(o, "better", better);
        j_kint(o, "unchanged", same);
        j_end_obj(o);
        out_ch(o, '\n');
    } else {
        out_printf(o, "%u worse, %u better, %u unchanged\n", worse, better, same);
    }
    out_flush(o);
    rc = worse ? BL_EXIT_FAIL : BL_EXIT_OK;
done:
    free(o);
    free(cur);
    free(ref);
    mx_close(db);
    return rc;
}

int verb_matrix(int argc, char **argv)
{
    mx_opts_t mo;
    const char *sub;
    int rc;

    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
            return cli_help(usage);
        return cli_usage_err(usage, "matrix", "say what to do: run, show, export, diff, runs or reference");
    }
    sub = argv[1];
    if ((rc = parse(argc - 1, argv + 1, &mo)) != BL_EXIT_OK)
        return rc < 0 ? cli_help(usage) : rc;
    if (strcmp(sub, "run") == 0) {
        if (optind < argc - 1)
            return cli_usage_err(usage, "matrix", "unexpected argument '%s'", argv[optind + 1]);
        return cmd_run(&mo);
    }
    if (strcmp(sub, "reference") == 0)
        return cmd_reference(&mo, argc - 1, argv + 1);
    if (optind < argc - 1)
        return cli_usage_err(usage, "matrix", "unexpected argument '%s'", argv[optind + 1]);
    mo.sel_battery = mo.battery;
    if (strcmp(sub, "show") == 0)
        return cmd_show_export(&mo, false);
    if (strcmp(sub, "export") == 0)
        return cmd_show_export(&mo, true);
    if (strcmp(sub, "diff") == 0)
        return cmd_diff(&mo);
    if (strcmp(sub, "runs") == 0)
        return cmd_runs(&mo);
    return cli_usage_err(usage, "matrix", "unknown command '%s' (run, show, export, diff, runs, reference)", sub);
}
