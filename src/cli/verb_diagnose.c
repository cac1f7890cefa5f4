/*
 * bmslink diagnose: a field capture (or a live bus for a while) through the diagnosis
 * engine; the findings sorted by severity, each with its cause, fix and the log lines
 * that show it; --json as CLI.md fixes it; --report F.html for people.
 */
#include "bmslink/transport.h"
#include "cli.h"
#include "diagnose_cli.h"
#include "errcodes_cli.h"
#include "live.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: bmslink diagnose [-p PROTOCOL] [--inverter PROFILE] [--json] [--report F.html] [options] SOURCE\n"
    "  Read a field capture and say what is wrong between the battery and the inverter, why, with the\n"
    "  log lines that show it and the fix.\n"
    "  SOURCE: a capture file (candump -L log, candump output, Vector ASC, or RS485 bytes as hex485\n"
    "          lines), file:PATH or -, or a live CAN bus for --duration: socketcan:IFACE,\n"
    "          slcan:DEV[@BITRATE], virtual:NAME\n"
    "  -p, --protocol NAME   the protocol the site is set to (default: detected from the traffic)\n"
    "      --inverter NAME   the inverter's profile (bmslink profiles lists them): its timeouts and quirks\n"
    "      --firmware NAME   the inverter's firmware variant (its quirks differ: bmslink profiles NAME)\n"
    "      --via PROTOCOL    the capture is the battery's side of a gateway that speaks PROTOCOL to the\n"
    "                        inverter: alarms and limits are judged by what PROTOCOL carries\n"
    "      --json            one JSON object (CLI.md \"diagnose --json\")\n"
    "      --report FILE     also write a self-contained HTML report with a timeline chart\n"
    "      --format F        force the capture format: candump, log, asc, trc, gvret, pcap, pcapng, hex485\n"
    "      --stale D         battery data older than D is stale (default: the inverter's / protocol's timeout)\n"
    "      --capacity AH     the pack's capacity in Ah, for coulomb counting (default: from the capture)\n"
    "      --cells N         LFP cells in series (default: tried from the pack voltage, +-1)\n"
    "      --battery FILE    the battery's ratings (share/batteries/*.yaml: capacity, cells, voltage and\n"
    "                        current limits); --capacity and --cells override its values\n"
    "  -n, --count N         stop after N frames;  --duration D  after D of capture (or wall) time\n"
    "  -q, --quiet           do not list malformed lines on stderr (they are still judged)\n"
    "exit status: 0 nothing of severity error, 1 an error finding, 2 usage, 3 input or I/O\n"
    "examples:\n"
    "  bmslink diagnose site.log\n"
    "  bmslink diagnose -p pylon-lv --json --report site.html site.log\n"
    "  bmslink diagnose --inverter solax-x3-g4 --firmware \"ARM 1.57\" site.log\n"
    "  bmslink diagnose --inverter sma-sunny-island --battery share/batteries/lfp-16s-100ah.yaml site.log\n"
    "  bmslink diagnose -p pylon-rs485 site.hex\n"
    "  bmslink diagnose --duration 10m slcan:/dev/ttyACM0@500000\n";

#define MSG_LIMIT 20

static const char *file_path(const char *uri);

typedef struct {
    const bl_protocol_t *p, *via;
    const char *inverter, *firmware, *report;
    bool json, quiet, rs, rs_detected;
    unsigned fmt;
    uint64_t stale_ms, count, duration_ms;
    int32_t cap_mAh;
    unsigned cells;
    const char *battery;
    bl_battery_file_t bat;         /* --battery, then --cells / --capacity over it */
    char bat_name[160];
    const bl_errcode_file_t *codes; /* the inverter's codes (with --inverter) */
    const char *brand;
    bl_diag_inverter_t inv;
    bl_diag_t d;
    bl_cap_frame_t sample[DX_SAMPLE];
    uint64_t sample_line[DX_SAMPLE];
    bl_diag_finding_t out[DX_FINDINGS];
    bl_diag_bucket_t tl[DX_TIMELINE];
    dx_line_t lines[DX_FINDINGS * BL_DIAG_EV_MAX];
    dx_result_t r;
    unsigned shown, suppressed;
} dx_t;

/* ---- reading ----------------------------------------------------------------------- */

static void bad_line(dx_t *x, const char *uri, uint64_t line, const bl_line_err_t *le)
{
    bl_diag_bad_line(&x->d, line, le->why);
    if (x->quiet)
        return;
    if (x->shown++ >= MSG_LIMIT) {
        x->suppressed++;
        return;
    }
    fprintf(stderr, "bmslink: %s:%llu: %s (column %u)\n", uri, (unsigned long long)line, le->what, le->col);
}

static int read_source(dx_t *x, const char *uri)
{
    bl_transport_t t;
    int rc;
    uint64_t start_ms = bl_clock_mono_ms(), frames = 0, first_us = 0;
    bool any_ts = false;

    if ((rc = live_open(&t, uri, x->fmt, NULL)) != 0)
        return rc;
    if (!t.live)
        t.notify = NULL; /* a capture: the engine judges error frames itself */
    else
        live_signals();
    for (;;) {
        bl_cap_frame_t cf;
        bl_line_err_t le;
        if (t.live && (live_stopped() || (x->duration_ms && bl_clock_mono_ms() - start_ms >= x->duration_ms)))
            break;
        rc = bl_transport_read(&t, &cf, t.live ? 200 : -1, &le);
        if (rc == 0)
            continue;
        if (rc == BL_ENOENT)
            break;
        if (rc == BL_EBADMSG) {
            bad_line(x, uri, t.line, &le);
            continue;
        }
        if (rc < 0) {
            cli_err("%s:%llu: read error: %s", uri, (unsigned long long)t.line, t.err[0] ? t.err : bl_strerror(rc));
            bl_transport_close(&t);
            return BL_EXIT_IO;
        }
        if (!t.live && cf.has_ts && x->duration_ms) {
            if (!any_ts)
                first_us = cf.ts_us;
            any_ts = true;
            if (cf.ts_us - first_us > x->duration_ms * 1000u)
                break;
        }
        if (frames == 0)
            memcpy(x->r.bus, cf.bus, sizeof x->r.bus);
        bl_diag_frame(&x->d, &cf, t.live ? frames + 1u : t.line);
        if (++frames == x->count && x->count)
            break;
    }
    if (x->suppressed)
        fprintf(stderr, "bmslink: %s: %u more malformed lines not listed\n", uri, x->suppressed);
    x->r.lines_read = t.live ? frames : t.line;
    if (t.live)
        live_print_stats(stderr, &t);
    bl_transport_close(&t);
    if (frames == 0) {
        if (t.stats.rx_bad > 0)
            cli_err("%s: no CAN frames: none of %llu lines is a candump, candump -L or ASC frame", uri,
                    (unsigned long long)t.stats.rx_bad);
        else
            cli_err("%s: no CAN frames (empty capture?)", uri);
        return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

/* RS485 captures: hex485 lines (hex bytes or ~ASCII frames, optional timestamps) into the engine. */
static int read_rs485(dx_t *x, const char *uri)
{
    const char *path = strncmp(uri, "file:", 5) == 0 ? uri + 5 : uri;
    bl_linereader_t lr;
    const char *line;
    size_t len;
    uint64_t bytes_lines = 0, first_us = 0;
    bool any_ts = false;
    static uint8_t b[BL_LINE_MAX];
    int rc;

    if ((rc = bl_lr_open(&lr, path)) < 0) {
        cli_err("%s: cannot open: %s", uri, strerror(-rc));
        return BL_EXIT_IO;
    }
    while ((rc = bl_lr_next(&lr, &line, &len)) == 1) {
        size_t n = 0, col = 0;
        uint64_t ts = 0;
        bool has = false;
        const char *what = "line longer than 4096 bytes";
        int k = lr.too_long ? -1 : cli_hex485_line(line, len, b, sizeof b, &n, &ts, &has, &what, &col);
        if (k < 0) {
            bl_line_err_t le = { BL_REJ_SYNTAX, what, (uint16_t)col };
            bad_line(x, uri, lr.line, &le);
            continue;
        }
        if (k == 0)
            continue;
        if (has && x->duration_ms) {
            if (!any_ts)
                first_us = ts;
            any_ts = true;
            if (ts - first_us > x->duration_ms * 1000u)
                break;
        }
        bl_diag_bytes(&x->d, b, n, ts, has, lr.line);
        if (++bytes_lines == x->count && x->count)
            break;
    }
    x->r.lines_read = lr.line;
    bl_lr_close(&lr);
    if (rc < 0) {
        cli_err("%s: read error: %s", uri, strerror(-rc));
        return BL_EXIT_IO;
    }
    if (x->suppressed)
        fprintf(stderr, "bmslink: %s: %u more malformed lines not listed\n", uri, x->suppressed);
    if (bytes_lines == 0) {
        cli_err("%s: no RS485 bytes: no line holds hex bytes or a ~ASCII frame", uri);
        return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

/* The byte protocol of an RS485 source: -p, else what its framing and checksums say. */
static int rs485_protocol(dx_t *x, char *src)
{
    cli_rs485_detection_t det;
    const char *scheme = bl_transport_scheme(src);

    if (strcmp(scheme, "file") != 0)
        return cli_usage_err(usage, "diagnose", "%s: diagnose reads RS485 captures (hex485 files); record the line "
                                                "first (bmslink decode -p P --record F.hex serial:...)",
                             src);
    if (x->p == NULL) {
        if (strcmp(src, "-") == 0)
            return cli_usage_err(usage, "diagnose", "an RS485 capture on stdin needs -p (the framing is detected "
                                                    "from a file)");
        if (cli_rs485_detect(1, &src, &det) <= 0) {
            cli_err("diagnose: %s: the framing and checksums of no RS485 protocol fit this capture (a wrong baud "
                    "rate, or not a battery line); name the protocol the inverter is set to with -p to have it judged",
                    src);
            return BL_EXIT_IO;
        }
        x->p = det.p;
        x->rs_detected = true;
        fprintf(stderr, "bmslink: diagnose: detected %s: %u frames in the first lines%s%s%s\n", det.p->name,
                det.frames, det.dialect_note ? " (" : "", det.dialect_note ? det.dialect_note : "",
                det.dialect_note ? ")" : "");
    }
    if (bl_proto_root(x->p)->bus == BL_BUS_MODBUS)
        return cli_usage_err(usage, "diagnose", "%s is a Modbus register map: diagnose reads CAN and RS485 byte "
                                                "protocols (Pylontech ASCII family, Daly, JBD, JK)",
                             x->p->name);
    return BL_EXIT_OK;
}

/* ---- evidence lines ------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static const char *file_path(const char *uri)
{
    struct stat st;
    const char *path = strncmp(uri, "file:", 5) == 0 ? uri + 5 : uri;
    if (strcmp(uri, "-") == 0 || strcmp(bl_transport_scheme(uri), "file") != 0)
        return NULL;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return NULL; /* a pipe or FIFO cannot be read twice */
    return path;
}

/* Read the capture again for the lines the evidence names (one pass, in line order). */
static void collect_lines(dx_t *x, const char *uri)
{
    uint64_t want[DX_FINDINGS * BL_DIAG_EV_MAX];
    size_t n = 0, k = 0;
    const char *path = file_path(uri);
    bl_linereader_t lr;
    const char *line;
    size_t len;

    x->r.lines = x->lines;
    x->r.nlines = 0;
    if (path == NULL)
        return;
    for (size_t i = 0; i < x->r.nf; i++)
        for (unsigned e = 0; e < x->out[i].nev; e++)
            if (n < BL_ARRAY_LEN(want))
                want[n++] = x->out[i].ev[e].line;
    if (n == 0 || bl_lr_open(&lr, path) != 0)
        return;
    qsort(want, n, sizeof want[0], cmp_u64);
    while (k < n && bl_lr_next(&lr, &line, &len) == 1) {
        if (lr.line < want[k])
            continue;
        while (k < n && want[k] < lr.line)
            k++;
        if (k < n && want[k] == lr.line) {
            dx_line_t *l = &x->lines[x->r.nlines++];
            size_t m = len < sizeof l->text - 1 ? len : sizeof l->text - 1;
            l->line = lr.line;
            memcpy(l->text, line, m);
            while (m > 0 && (l->text[m - 1] == '\r' || l->text[m - 1] == ' '))
                m--;
            l->text[m] = '\0';
            while (k < n && want[k] == lr.line)
                k++;
        }
    }
    bl_lr_close(&lr);
}

const char *dx_line_text(const dx_result_t *r, const bl_diag_ev_t *e, char *buf, size_t n)
{
    size_t lo = 0, hi = r->nlines;
    bl_cap_frame_t cf;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->lines[mid].line < e->line)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->nlines && r->lines[lo].line == e->line)
        return r->lines[lo].text;
    if (!e->has_frame) {
        snprintf(buf, n, "(line %llu: not a frame)", (unsigned long long)e->line);
        return buf;
    }
    memset(&cf, 0, sizeof cf);
    cf.ts_us = e->ts_us;
    cf.has_ts = e->has_ts;
    snprintf(cf.bus, sizeof cf.bus, "%s", r->bus[0] ? r->bus : "can0");
    cf.f.id = e->f.id;
    cf.f.len = e->f.len > 8 ? 8 : e->f.len;
    cf.f.flags = e->f.flags;
    memcpy(cf.f.data, e->f.data, sizeof e->f.data);
    if (bl_capture_format_log(&cf, buf, n) < 0)
        snprintf(buf, n, "(frame %X)", (unsigned)e->f.id);
    return buf;
}

/* ---- output --------------------------------------------------------------------------- */

static void json_ts(bl_out_t *o, bool has, uint64_t us)
{
    if (has)
        out_ts(o, us);
    else
        out_str(o, "null");
    o->first = false;
}

static void print_json(const dx_t *x, bl_out_t *o)
{
    const bl_diag_t *d = &x->d;
    char buf[DX_TEXT];

    o->first = true;
    j_obj(o);
    j_kstr(o, "source", x->r.src);
    j_kstr(o, "protocol", d->p ? d->p->name : NULL);
    j_kstr(o, "loop", bl_diag_loop_str(d->loop));
    j_kstr(o, "loop_reason", d->loop_reason);
    j_kstr(o, "expected", d->expected ? d->expected->name : NULL);
    j_kstr(o, "inverter_protocol", d->inv_p ? d->inv_p->name : NULL);
    j_kbool(o, "detected", x->r.detected);
    j_kstr(o, "inverter", x->inverter);
    j_kstr(o, "firmware", x->firmware);
    if (d->cfg.bat != NULL) {
        j_key(o, "battery");
        j_obj(o);
        j_kstr(o, "name", d->cfg.bat->name);
        j_kint(o, "cells", d->cfg.bat->cells);
        if (d->cfg.capacity_mAh)
            j_kmilli(o, "capacity_Ah", d->cfg.capacity_mAh, 1);
        else
            j_knull(o, "capacity_Ah");
        j_end_obj(o);
    } else {
        j_knull(o, "battery");
    }
    j_kint(o, "frames", (int64_t)d->frames);
    j_kint(o, "malformed_lines", (int64_t)d->lines_bad);
    j_kint(o, "error_frames", (int64_t)d->err_frames);
    j_key(o, "first_ts");
    json_ts(o, d->have_ts, d->first_us);
    j_key(o, "last_ts");
    json_ts(o, d->have_ts, d->last_us);
    j_kint(o, "timeout_ms", (int64_t)d->stale_ms);
    j_key(o, "notes");
    j_arr(o);
    for (unsigned i = 0; i < d->nnotes; i++)
        j_str_el(o, d->notes[i]);
    j_end_arr(o);
    j_key(o, "findings");
    j_arr(o);
    for (size_t i = 0; i < x->r.nf; i++) {
        const bl_diag_finding_t *f = &x->out[i];
        j_sep(o);
        o->first = true;
        j_obj(o);
        j_kstr(o, "problem", bl_diag_problem_str(f->problem));
        j_kstr(o, "severity", bl_diag_severity_str(f->severity));
        j_kstr(o, "id", f->id);
        j_kstr(o, "because", f->because < BL_DP_COUNT ? bl_diag_problem_str(f->because) : NULL);
        j_kstr(o, "cause", f->cause);
        j_kstr(o, "fix", f->fix);
        if (x->codes != NULL) {
            uint16_t idx[CLI_EC_SHOW];
            size_t n = cli_ec_for_finding(x->codes, f, x->brand, x->inverter, x->firmware, idx, CLI_EC_SHOW);
            j_key(o, "inverter_codes");
            j_arr(o);
            for (size_t k = 0; k < n; k++)
                cli_ec_json(o, &x->codes->e[idx[k]]);
            j_end_arr(o);
        }
        j_key(o, "evidence");
        j_arr(o);
        for (unsigned e = 0; e < f->nev; e++) {
            const bl_diag_ev_t *ev = &f->ev[e];
            j_sep(o);
            o->first = true;
            j_obj(o);
            j_key(o, "ts");
            json_ts(o, ev->has_ts, ev->ts_us);
            j_kint(o, "line", (int64_t)ev->line);
            j_kstr(o, "text", dx_line_text(&x->r, ev, buf, sizeof buf));
            j_kstr(o, "note", ev->note);
            j_end_obj(o);
            o->first = false;
        }
        j_end_arr(o);
        j_end_obj(o);
        o->first = false;
    }
    j_end_arr(o);
    j_end_obj(o);
    out_ch(o, '\n');
}

static const char *upper_sev(unsigned s)
{
    static const char *const n[] = { "ERROR", "WARNING", "INFO" };
    return s < BL_ARRAY_LEN(n) ? n[s] : "?";
}

/* Text wrapped at 100 columns, continuation lines indented. */
static void wrapped(bl_out_t *o, const char *label, const char *text)
{
    size_t col = 4 + strlen(label), width = 100;
    const char *p = text;

    out_printf(o, "    %s", label);
    while (*p) {
        const char *sp = p;
        size_t w;
        while (*sp && *sp != ' ')
            sp++;
        w = (size_t)(sp - p);
        if (col + w > width && col > 4 + strlen(label)) {
            out_printf(o, "\n    %*s", (int)strlen(label), "");
            col = 4 + strlen(label);
        }
        out_mem(o, p, w);
        col += w;
        p = sp;
        if (*p == ' ') {
            out_ch(o, ' ');
            col++;
            p++;
        }
    }
    out_ch(o, '\n');
}

/* "the inverter would show F952 here": the codes of the --inverter profile's brand for a finding */
static void codes_text(const dx_t *x, bl_out_t *o, const bl_diag_finding_t *f)
{
    uint16_t idx[CLI_EC_SHOW];
    char line[BL_DIAG_TEXT_MAX];
    size_t n, at;

    if (x->codes == NULL || (n = cli_ec_for_finding(x->codes, f, x->brand, x->inverter, x->firmware, idx,
                                                    CLI_EC_SHOW)) == 0)
        return;
    at = (size_t)snprintf(line, sizeof line, "the inverter would show ");
    for (size_t k = 0; k < n && at < sizeof line; k++) {
        const bl_errcode_t *e = &x->codes->e[idx[k]];
        at += (size_t)snprintf(line + at, sizeof line - at, "%s%s (%s%s%s)", k ? ", " : "", e->code,
                               bl_ec_severity_str(e->severity), e->name ? ", " : "", e->name ? e->name : "");
    }
    if (at < sizeof line)
        snprintf(line + at, sizeof line - at, " here (bmslink explain %s)", x->codes->e[idx[0]].code);
    wrapped(o, "shows: ", line);
}

static void print_text(const dx_t *x, bl_out_t *o)
{
    const bl_diag_t *d = &x->d;
    unsigned count[BL_DSEV_COUNT] = { 0 };
    char buf[DX_TEXT];

    out_printf(o, "diagnose %s: ", x->r.src);
    if (d->p && d->expected && d->p != d->expected)
        out_printf(o, "%s on the wire (the site is set to %s)", d->p->name, d->expected->name);
    else if (d->p)
        out_printf(o, "%s (%s)", d->p->name,
                   x->r.detected ? "detected from the traffic" : d->cfg.proto ? "-p" : "the inverter profile");
    else
        out_str(o, "no protocol fits");
    out_printf(o, ", %llu frames", (unsigned long long)d->frames);
    if (d->have_ts) {
        uint64_t s = (d->last_us - d->first_us) / 1000000u;
        out_printf(o, " over %llu min %02llu s", (unsigned long long)(s / 60u), (unsigned long long)(s % 60u));
    }
    if (d->lines_bad)
        out_printf(o, ", %llu malformed lines", (unsigned long long)d->lines_bad);
    if (d->err_frames)
        out_printf(o, ", %llu error frames", (unsigned long long)d->err_frames);
    out_ch(o, '\n');
    if (x->inverter)
        out_printf(o, "inverter profile: %s\n", x->inverter);
    if (d->cfg.bat != NULL)
        out_printf(o, "battery: %s, %u LFP cells in series, capacity %s\n", d->cfg.bat->name ? d->cfg.bat->name : "--cells",
                   (unsigned)d->cfg.bat->cells, d->cfg.capacity_mAh ? "given" : "from the capture or assumed");
    out_printf(o, "loop: %s: %s\n", bl_diag_loop_str(d->loop), d->loop_reason);
    for (unsigned i = 0; i < d->nnotes; i++)
        out_printf(o, "note: %s\n", d->notes[i]);
    for (size_t i = 0; i < x->r.nf; i++) {
        const bl_diag_finding_t *f = &x->out[i];
        count[f->severity]++;
        out_printf(o, "\n%-7s %s (%s)\n", upper_sev(f->severity), bl_diag_problem_str(f->problem), f->id);
        wrapped(o, "cause: ", f->cause);
        wrapped(o, "fix:   ", f->fix);
        codes_text(x, o, f);
        for (unsigned e = 0; e < f->nev; e++) {
            const bl_diag_ev_t *ev = &f->ev[e];
            out_printf(o, "    %7llu: %s\n", (unsigned long long)ev->line, dx_line_text(&x->r, ev, buf, sizeof buf));
            out_printf(o, "             ^ %s\n", ev->note);
        }
    }
    if (x->r.nf == 0)
        out_str(o, "\nno problem found\n");
    else
        out_printf(o, "\n%u error%s, %u warning%s, %u info\n", count[0], count[0] == 1 ? "" : "s", count[1],
                   count[1] == 1 ? "" : "s", count[2]);
}

/* ---- options -------------------------------------------------------------------------- */

enum { OPT_JSON = 256, OPT_REPORT, OPT_INVERTER, OPT_FORMAT, OPT_STALE, OPT_CAPACITY, OPT_DURATION, OPT_VIA,
       OPT_FIRMWARE, OPT_CELLS, OPT_BATTERY };

static bool parse_capacity(const char *s, int32_t *mAh)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 1.0 && v <= 100000.0))
        return false;
    *mAh = (int32_t)(v * 1000.0 + 0.5);
    return true;
}

static int options(dx_t *x, int argc, char **argv)
{
    static const struct option opts[] = {
        { "protocol", required_argument, 0, 'p' }, { "inverter", required_argument, 0, OPT_INVERTER },
        { "json", no_argument, 0, OPT_JSON }, { "report", required_argument, 0, OPT_REPORT },
        { "format", required_argument, 0, OPT_FORMAT }, { "stale", required_argument, 0, OPT_STALE },
        { "capacity", required_argument, 0, OPT_CAPACITY }, { "count", required_argument, 0, 'n' },
        { "duration", required_argument, 0, OPT_DURATION }, { "quiet", no_argument, 0, 'q' },
        { "via", required_argument, 0, OPT_VIA }, { "firmware", required_argument, 0, OPT_FIRMWARE },
        { "cells", required_argument, 0, OPT_CELLS }, { "battery", required_argument, 0, OPT_BATTERY },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    int ch;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "p:n:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            if ((x->p = cli_protocol("diagnose", optarg)) == NULL)
                return BL_EXIT_USAGE;
            break;
        case OPT_INVERTER: x->inverter = optarg; break;
        case OPT_FIRMWARE: x->firmware = optarg; break;
        case OPT_VIA:
            if ((x->via = cli_protocol("diagnose", optarg)) == NULL)
                return BL_EXIT_USAGE;
            if (bl_proto_root(x->via)->bus != BL_BUS_CAN)
                return cli_usage_err(usage, "diagnose", "--via %s: not a CAN protocol", x->via->name);
            break;
        case OPT_JSON: x->json = true; break;
        case OPT_REPORT: x->report = optarg; break;
        case 'q': x->quiet = true; break;
        case OPT_FORMAT:
            x->fmt = bl_capfmt_by_name(optarg);
            if (x->fmt == BL_FMT_COUNT)
                return cli_usage_err(usage, "diagnose",
                                     "unknown --format '%s' (candump, log, asc, trc, gvret, pcap, pcapng, hex485)",
                                     optarg);
            break;
        case OPT_STALE:
            if (!cli_parse_duration(optarg, &x->stale_ms) || x->stale_ms == 0)
                return cli_usage_err(usage, "diagnose", "bad --stale '%s' (e.g. 500ms, 10s, 5m)", optarg);
            break;
        case OPT_CAPACITY:
            if (!parse_capacity(optarg, &x->cap_mAh))
                return cli_usage_err(usage, "diagnose", "bad --capacity '%s' (Ah, 1..100000)", optarg);
            break;
        case OPT_CELLS: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v < 4 || v > 255)
                return cli_usage_err(usage, "diagnose", "bad --cells '%s' (cells in series, 4..255)", optarg);
            x->cells = (unsigned)v;
            break;
        }
        case OPT_BATTERY: x->battery = optarg; break;
        case OPT_DURATION:
            if (!cli_parse_duration(optarg, &x->duration_ms))
                return cli_usage_err(usage, "diagnose", "bad --duration '%s' (e.g. 500ms, 90s, 15m, 24h)", optarg);
            break;
        case 'n':
            if (!cli_parse_count(optarg, &x->count))
                return cli_usage_err(usage, "diagnose", "bad --count '%s'", optarg);
            break;
        case 'h':
            return -1;
        default:
            return cli_usage_err(usage, "diagnose", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (x->firmware != NULL && x->inverter == NULL)
        return cli_usage_err(usage, "diagnose", "--firmware names a variant of the --inverter profile");
    if (optind >= argc)
        return cli_usage_err(usage, "diagnose", "no SOURCE (a capture file, or - for stdin)");
    if (optind + 1 < argc)
        return cli_usage_err(usage, "diagnose", "one SOURCE at a time ('%s' is extra)", argv[optind + 1]);
    return BL_EXIT_OK;
}

/* --battery FILE, then --cells / --capacity over it */
static int battery(dx_t *x, bl_diag_cfg_t *cfg)
{
    if (x->battery != NULL) {
        char err[512];
        int rc = bl_battery_load(&x->bat, x->battery, err, sizeof err);
        if (rc != 0) {
            cli_err("%s", err); /* FILE:LINE: what: why, or why it cannot be read */
            return rc == BL_ENOENT ? BL_EXIT_IO : BL_EXIT_USAGE;
        }
        if (cfg->capacity_mAh == 0)
            cfg->capacity_mAh = x->bat.capacity_mAh;
    } else if (x->cells == 0) {
        return BL_EXIT_OK;
    }
    if (x->cells != 0 && x->battery != NULL && x->bat.b.cells != x->cells) {
        /* the file's voltage ratings were for its own cell count */
        fprintf(stderr, "bmslink: diagnose: --cells %u overrides the %u cells of %s (its voltage ratings are not "
                        "used)\n",
                x->cells, (unsigned)x->bat.b.cells, x->bat.name);
        x->bat.b.cvl_max_mV = x->bat.b.dvl_min_mV = x->bat.b.nominal_mV = 0;
        snprintf(x->bat_name, sizeof x->bat_name, "%s with --cells %u", x->bat.name, x->cells);
        x->bat.b.name = x->bat_name;
    }
    if (x->cells != 0) {
        x->bat.b.cells = (uint8_t)x->cells;
        if (x->battery == NULL)
            x->bat.b.name = "--cells";
    }
    cfg->bat = &x->bat.b;
    return BL_EXIT_OK;
}

static int setup(dx_t *x, const char *src)
{
    bl_diag_cfg_t cfg;
    int brc;

    memset(&cfg, 0, sizeof cfg);
    if (x->inverter != NULL) {
        char err[512];
        int rc = dx_inverter_facts(x->inverter, x->firmware, &x->inv, err, sizeof err);
        if ((rc == BL_ENOENT || rc == BL_ENOTSUP) && err[0] != '\0')
            return cli_usage_err(usage, "diagnose", "--inverter %s: %s", x->inverter, err);
        if (rc == BL_ENOENT || rc == BL_ENOTSUP)
            return BL_EXIT_USAGE; /* the loader said why */
        if (rc < 0) {
            if (err[0] != '\0')
                cli_err("diagnose: --inverter %s: %s", x->inverter, err);
            return BL_EXIT_IO;
        }
        if (x->inv.proto == NULL && x->p == NULL)
            fprintf(stderr, "bmslink: diagnose: profile %s names a protocol this build lacks; detecting it\n",
                    x->inverter);
        cfg.inv = &x->inv;
        x->brand = dx_inverter_brand();
        x->codes = cli_errcodes(); /* NULL (said why): the findings go without codes */
    }
    cfg.proto = x->p;
    cfg.via = x->via;
    cfg.stale_ms = x->stale_ms;
    cfg.capacity_mAh = x->cap_mAh;
    if ((brc = battery(x, &cfg)) != BL_EXIT_OK)
        return brc;
    if (bl_diag_init(&x->d, &cfg, x->sample, x->sample_line, DX_SAMPLE, x->out, DX_FINDINGS) < 0)
        return cli_usage_err(usage, "diagnose", "%s cannot be diagnosed with %s%s (a CAN capture needs CAN "
                                                "protocols, an RS485 capture an RS485 byte protocol)",
                             src, x->p ? x->p->name : "", x->via ? " and --via" : "");
    bl_diag_timeline(&x->d, x->tl, DX_TIMELINE);
    x->r.src = src;
    return BL_EXIT_OK;
}

int verb_diagnose(int argc, char **argv)
{
    dx_t *x = calloc(1, sizeof *x);
    bl_out_t *o = malloc(sizeof *o);
    int rc;

    if (x == NULL || o == NULL) {
        free(x);
        free(o);
        cli_err("diagnose: out of memory");
        return BL_EXIT_IO;
    }
    rc = options(x, argc, argv);
    if (rc < 0) {
        rc = cli_help(usage);
        goto out;
    }
    if (rc != BL_EXIT_OK)
        goto out;
    x->rs = cli_decode_rs485_wanted(x->p, x->fmt, 1, &argv[optind]);
    if (x->rs && x->p != NULL && bl_proto_root(x->p)->bus != BL_BUS_CAN &&
        ((x->fmt != BL_FMT_AUTO && x->fmt != BL_FMT_HEX485) ||
         (x->fmt == BL_FMT_AUTO && file_path(argv[optind]) != NULL && !cli_rs485_sniff(file_path(argv[optind]))))) {
        rc = cli_usage_err(usage, "diagnose", "%s is an RS485 protocol, but %s is not an RS485 capture (hex485 "
                                              "lines); for a CAN capture name a CAN protocol",
                           x->p->name, argv[optind]);
        goto out;
    }
    if (x->rs && (rc = rs485_protocol(x, argv[optind])) != BL_EXIT_OK)
        goto out;
    if (!x->rs && x->p != NULL && bl_proto_root(x->p)->bus != BL_BUS_CAN) {
        rc = cli_usage_err(usage, "diagnose", "%s is an RS485 protocol; this source is a CAN capture", x->p->name);
        goto out;
    }
    if ((rc = setup(x, argv[optind])) != BL_EXIT_OK)
        goto out;
    if ((rc = x->rs ? read_rs485(x, argv[optind]) : read_source(x, argv[optind])) != BL_EXIT_OK)
        goto out;
    x->r.nf = bl_diag_finish(&x->d);
    x->r.d = &x->d;
    x->r.detected = (x->d.expected == NULL && x->d.p != NULL) || x->rs_detected;
    x->r.inverter = x->inverter;
    x->r.codes = x->codes;
    x->r.brand = x->brand;
    x->r.firmware = x->firmware;
    x->r.tl = x->tl;
    x->r.ntl = bl_diag_timeline_len(&x->d);
    collect_lines(x, argv[optind]);
    out_init(o, stdout);
    if (x->json)
        print_json(x, o);
    else
        print_text(x, o);
    out_flush(o);
    rc = bl_diag_has_error(&x->d) ? BL_EXIT_FAIL : BL_EXIT_OK;
    if (x->report != NULL) {
        int e = dx_report_html(&x->r, x->report);
        if (e < 0) {
            cli_err("--report %s: cannot write: %s", x->report, strerror(-e));
            rc = BL_EXIT_IO;
        }
    }
out:
    free(o);
    free(x);
    return rc;
}
