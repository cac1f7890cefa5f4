/*
 * The HTML report of a diagnosis: one self-contained file (inline CSS and SVG, no
 * script, no network), the findings with their evidence lines, and a timeline chart
 * of the capture: current against the charge / discharge limits, SOC and voltage,
 * battery frames and errors per slice, a marker where each finding starts.
 */
#include "cli.h"
#include "diagnose_cli.h"
#include "errcodes_cli.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define W 1000      /* chart width, px */
#define PL 60       /* left margin */
#define PR 60       /* right margin */
#define PH 170      /* panel height */
#define GAP 34      /* space between panels */
#define STRIP 18    /* the frames / errors strip */

static void esc(FILE *fp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default: fputc(*s, fp); break;
        }
    }
}

static const char *sev_class(unsigned s)
{
    static const char *const n[] = { "error", "warning", "info" };
    return s < 3 ? n[s] : "info";
}

static const char *sev_color(unsigned s)
{
    static const char *const n[] = { "#c62828", "#ef8f00", "#1565c0" };
    return s < 3 ? n[s] : "#555";
}

static void utc(uint64_t us, char *buf, size_t n)
{
    time_t t = (time_t)(us / 1000000u);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, n, "%llu s", (unsigned long long)(us / 1000000u));
}

typedef struct {
    uint64_t t0, t1;   /* time range, µs */
    double lo, hi;     /* value range */
    int top;           /* panel top, px */
} scale_t;

static double xs(const scale_t *s, uint64_t t)
{
    double span = (double)(s->t1 > s->t0 ? s->t1 - s->t0 : 1u);
    return PL + (double)(t - s->t0) / span * (W - PL - PR);
}

static double ys(const scale_t *s, double v)
{
    double span = s->hi > s->lo ? s->hi - s->lo : 1.0;
    return s->top + PH - (v - s->lo) / span * PH;
}

/* a polyline of the buckets' last values of series k (gaps where a bucket has none) */
static void series(FILE *fp, const dx_result_t *r, const scale_t *s, unsigned k, double sign, double unit,
                   const char *style, const char *name)
{
    bool open = false;
    for (size_t i = 0; i < r->ntl; i++) {
        const bl_diag_bucket_t *b = &r->tl[i];
        double x, y;
        if (!(b->have & (1u << k))) {
            if (open)
                fputs("\"/>\n", fp);
            open = false;
            continue;
        }
        x = xs(s, b->t0_us);
        y = ys(s, sign * b->last[k] / unit);
        if (!open)
            fprintf(fp, "<polyline class=\"%s\" %s points=\"", name, style);
        fprintf(fp, "%.1f,%.1f ", x, y);
        open = true;
    }
    if (open)
        fputs("\"/>\n", fp);
}

/* the band between each bucket's lowest and highest value of series k */
static void band(FILE *fp, const dx_result_t *r, const scale_t *s, unsigned k, double unit, const char *fill)
{
    for (size_t i = 0; i < r->ntl; i++) {
        const bl_diag_bucket_t *b = &r->tl[i];
        double x0, x1, y0, y1;
        if (!(b->have & (1u << k)) || b->lo[k] == b->hi[k])
            continue;
        x0 = xs(s, b->t0_us);
        x1 = i + 1 < r->ntl ? xs(s, r->tl[i + 1].t0_us) : x0 + 1.0;
        y0 = ys(s, b->hi[k] / unit);
        y1 = ys(s, b->lo[k] / unit);
        fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x0, y0,
                x1 - x0 > 0.5 ? x1 - x0 : 0.5, y1 - y0 > 0.5 ? y1 - y0 : 0.5, fill);
    }
}

static void axis(FILE *fp, const scale_t *s, const char *label, bool right)
{
    double step = (s->hi - s->lo) / 4.0;
    fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"frame\"/>\n", PL, s->top, W - PL - PR, PH);
    for (int i = 0; i <= 4; i++) {
        double v = s->lo + step * i, y = ys(s, v);
        fprintf(fp, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", PL, W - PR, y, y);
        fprintf(fp, "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"%s\">%.4g</text>\n", right ? W - PR + 4 : PL - 4,
                y + 4, right ? "start" : "end", v);
    }
    fprintf(fp, "<text x=\"%d\" y=\"%d\" class=\"label\" text-anchor=\"%s\">", right ? W - 4 : 4, s->top - 6,
            right ? "end" : "start");
    esc(fp, label);
    fputs("</text>\n", fp);
}

static void range_of(const dx_result_t *r, unsigned k, double unit, double sign, double *lo, double *hi, bool *any)
{
    for (size_t i = 0; i < r->ntl; i++) {
        const bl_diag_bucket_t *b = &r->tl[i];
        double a, c;
        if (!(b->have & (1u << k)))
            continue;
        a = sign * b->lo[k] / unit;
        c = sign * b->hi[k] / unit;
        if (a > c) {
            double t = a;
            a = c;
            c = t;
        }
        if (!*any || a < *lo)
            *lo = a;
        if (!*any || c > *hi)
            *hi = c;
        *any = true;
    }
}

static void time_axis(FILE *fp, const scale_t *s, int y)
{
    uint64_t span = s->t1 - s->t0;
    for (int i = 0; i <= 5; i++) {
        uint64_t t = s->t0 + span / 5u * (uint64_t)i;
        uint64_t sec = (t - s->t0) / 1000000u;
        fprintf(fp, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">+%llu:%02llu:%02llu</text>\n",
                xs(s, t), y, (unsigned long long)(sec / 3600u), (unsigned long long)(sec / 60u % 60u),
                (unsigned long long)(sec % 60u));
    }
}

static void markers(FILE *fp, const dx_result_t *r, const scale_t *s, int top, int bottom)
{
    for (size_t i = 0; i < r->nf; i++) {
        const bl_diag_finding_t *f = &r->d->out[i];
        uint64_t t = f->nev ? f->ev[0].ts_us : f->at_us;
        double x;
        if (t < s->t0 || t > s->t1 || (f->nev && !f->ev[0].has_ts))
            continue;
        x = xs(s, t);
        fprintf(fp, "<g class=\"marker\"><title>%zu. %s: ", i + 1, bl_diag_problem_str(f->problem));
        esc(fp, f->cause);
        fprintf(fp, "</title><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-dasharray=\"3,3\"/>"
                    "<a href=\"#f%zu\"><circle cx=\"%.1f\" cy=\"%d\" r=\"8\" fill=\"%s\"/>"
                    "<text x=\"%.1f\" y=\"%d\" class=\"mnum\" text-anchor=\"middle\">%zu</text></a></g>\n",
                x, x, top, bottom, sev_color(f->severity), i + 1, x, top - 10, sev_color(f->severity), x, top - 6,
                i + 1);
    }
}

static void chart(FILE *fp, const dx_result_t *r)
{
    scale_t a, b, v;
    bool any = false, anyv = false;
    double lo = 0, hi = 0, vlo = 0, vhi = 0;
    int strip_top, height;

    if (r->ntl == 0) {
        fputs("<p class=\"none\">No timeline: the capture has no timestamps.</p>\n", fp);
        return;
    }
    memset(&a, 0, sizeof a);
    a.t0 = r->tl[0].t0_us;
    a.t1 = r->d->last_us > a.t0 ? r->d->last_us : a.t0 + 1000000u;
    range_of(r, BL_TL_CURRENT, 1000.0, 1.0, &lo, &hi, &any);
    range_of(r, BL_TL_CCL, 1000.0, 1.0, &lo, &hi, &any);
    range_of(r, BL_TL_DCL, 1000.0, -1.0, &lo, &hi, &any);
    if (!any || lo == hi) {
        lo -= 1.0;
        hi += 1.0;
    }
    a.lo = lo - (hi - lo) * 0.05;
    a.hi = hi + (hi - lo) * 0.05;
    a.top = 30;
    b = a;
    b.top = a.top + PH + GAP;
    b.lo = 0;
    b.hi = 100;
    range_of(r, BL_TL_VOLTAGE, 1000.0, 1.0, &vlo, &vhi, &anyv);
    v = b;
    v.lo = anyv ? vlo - (vhi - vlo) * 0.1 - 0.1 : 0;
    v.hi = anyv ? vhi + (vhi - vlo) * 0.1 + 0.1 : 1;
    strip_top = b.top + PH + 28;
    height = strip_top + 2 * STRIP + 36;

    fprintf(fp, "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
                "height=\"%d\" role=\"img\" aria-label=\"timeline of the capture\">\n",
            W, height, W, height);
    /* panel 1: current and its limits */
    axis(fp, &a, "current A (+ charging); limits: CCL, -DCL", false);
    if (a.lo < 0 && a.hi > 0)
        fprintf(fp, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"zero\"/>\n", PL, W - PR, ys(&a, 0),
                ys(&a, 0));
    band(fp, r, &a, BL_TL_CURRENT, 1000.0, "#90caf9");
    series(fp, r, &a, BL_TL_CCL, 1.0, 1000.0, "stroke=\"#2e7d32\" stroke-width=\"1.5\"", "ccl");
    series(fp, r, &a, BL_TL_DCL, -1.0, 1000.0, "stroke=\"#8e24aa\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\"", "dcl");
    series(fp, r, &a, BL_TL_CURRENT, 1.0, 1000.0, "stroke=\"#1565c0\" stroke-width=\"1.2\"", "current");
    /* panel 2: SOC and voltage */
    axis(fp, &b, "SOC %", false);
    axis(fp, &v, "voltage V", true);
    series(fp, r, &v, BL_TL_VOLTAGE, 1.0, 1000.0, "stroke=\"#6d4c41\" stroke-width=\"1.2\"", "voltage");
    series(fp, r, &b, BL_TL_SOC, 1.0, 1000.0, "stroke=\"#00897b\" stroke-width=\"2\"", "soc");
    /* strips: battery frames present, errors */
    fprintf(fp, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">battery</text>\n", PL - 4, strip_top + 13);
    fprintf(fp, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">errors</text>\n", PL - 4,
            strip_top + STRIP + 13);
    for (size_t i = 0; i < r->ntl; i++) {
        const bl_diag_bucket_t *bk = &r->tl[i];
        double x0 = xs(&a, bk->t0_us), x1 = i + 1 < r->ntl ? xs(&a, r->tl[i + 1].t0_us) : x0 + 2.0;
        double w = x1 - x0 > 0.6 ? x1 - x0 : 0.6;
        fprintf(fp, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", x0, strip_top + 2, w,
                STRIP - 4, bk->battery ? "#a5d6a7" : "#ef9a9a");
        if (bk->errors)
            fprintf(fp, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#c62828\"><title>%u errors"
                        "</title></rect>\n",
                    x0, strip_top + STRIP + 2, w, STRIP - 4, (unsigned)bk->errors);
    }
    time_axis(fp, &a, strip_top + 2 * STRIP + 16);
    markers(fp, r, &a, a.top, strip_top + 2 * STRIP);
    /* legend */
    fprintf(fp, "<g class=\"legend\" transform=\"translate(%d,%d)\">"
                "<line x1=\"0\" x2=\"18\" y1=\"0\" y2=\"0\" stroke=\"#1565c0\" stroke-width=\"2\"/><text x=\"22\" y=\"4\">current</text>"
                "<line x1=\"90\" x2=\"108\" y1=\"0\" y2=\"0\" stroke=\"#2e7d32\" stroke-width=\"2\"/><text x=\"112\" y=\"4\">CCL</text>"
                "<line x1=\"160\" x2=\"178\" y1=\"0\" y2=\"0\" stroke=\"#8e24aa\" stroke-width=\"2\" stroke-dasharray=\"5,3\"/>"
                "<text x=\"182\" y=\"4\">-DCL</text>"
                "<line x1=\"240\" x2=\"258\" y1=\"0\" y2=\"0\" stroke=\"#00897b\" stroke-width=\"2\"/><text x=\"262\" y=\"4\">SOC</text>"
                "<line x1=\"310\" x2=\"328\" y1=\"0\" y2=\"0\" stroke=\"#6d4c41\" stroke-width=\"2\"/><text x=\"332\" y=\"4\">voltage</text>"
                "</g>\n</svg>\n",
            PL + 250, 12);
}

/* what the --inverter's display would show for a finding (share/errorcodes.yaml) */
static void report_codes(FILE *fp, const dx_result_t *r, const bl_diag_finding_t *f)
{
    uint16_t idx[CLI_EC_SHOW];
    size_t n = r->codes ? cli_ec_for_finding(r->codes, f, r->brand, r->inverter, r->firmware, idx, CLI_EC_SHOW) : 0;

    if (n == 0)
        return;
    fputs("<p><b>The inverter would show:</b></p>\n<ul class=\"codes\">\n", fp);
    for (size_t k = 0; k < n; k++) {
        const bl_errcode_t *e = &r->codes->e[idx[k]];
        fputs("<li><code>", fp);
        esc(fp, e->code);
        fprintf(fp, "</code> %s", bl_ec_severity_str(e->severity));
        if (e->name) {
            fputs(", ", fp);
            esc(fp, e->name);
        }
        fputs(": ", fp);
        esc(fp, e->meaning);
        fputs(" <i>Check:</i> ", fp);
        esc(fp, e->check);
        fputs(" <small>(", fp);
        esc(fp, e->source);
        fprintf(fp, ", confidence %s)</small></li>\n", e->confidence);
    }
    fputs("</ul>\n", fp);
}

static void findings(FILE *fp, const dx_result_t *r)
{
    char buf[DX_TEXT], ts[48];

    if (r->nf == 0) {
        fputs("<p class=\"ok\">No problem found.</p>\n", fp);
        return;
    }
    for (size_t i = 0; i < r->nf; i++) {
        const bl_diag_finding_t *f = &r->d->out[i];
        fprintf(fp, "<section class=\"finding %s\" id=\"f%zu\">\n<h3>%zu. <span class=\"sev\">%s</span> %s "
                    "<small>(%s)</small></h3>\n<p><b>Cause:</b> ",
                sev_class(f->severity), i + 1, i + 1, bl_diag_severity_str(f->severity),
                bl_diag_problem_str(f->problem), f->id);
        esc(fp, f->cause);
        fputs("</p>\n<p><b>Fix:</b> ", fp);
        esc(fp, f->fix);
        fputs("</p>\n", fp);
        report_codes(fp, r, f);
        if (f->nev > 0) {
            fputs("<table class=\"ev\"><tr><th>line</th><th>time</th><th>log line</th><th>shows</th></tr>\n", fp);
            for (unsigned e = 0; e < f->nev; e++) {
                const bl_diag_ev_t *ev = &f->ev[e];
                if (ev->has_ts)
                    utc(ev->ts_us, ts, sizeof ts);
                else
                    snprintf(ts, sizeof ts, "-");
                fprintf(fp, "<tr><td>%llu</td><td>%s</td><td><code>", (unsigned long long)ev->line, ts);
                esc(fp, dx_line_text(r, ev, buf, sizeof buf));
                fputs("</code></td><td>", fp);
                esc(fp, ev->note);
                fputs("</td></tr>\n", fp);
            }
            fputs("</table>\n", fp);
        }
        fputs("</section>\n", fp);
    }
}

static const char style[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1080px;color:#222;padding:0 12px}"
    "h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:26px 0 8px;border-bottom:1px solid #ddd}"
    "h3{font-size:15px;margin:0 0 6px}.meta{color:#555}.meta b{color:#222}"
    ".finding{border-left:5px solid #999;background:#fafafa;padding:10px 14px;margin:12px 0}"
    ".finding.error{border-color:#c62828}.finding.warning{border-color:#ef8f00}.finding.info{border-color:#1565c0}"
    ".error .sev{color:#c62828}.warning .sev{color:#ef8f00}.info .sev{color:#1565c0}.sev{text-transform:uppercase}"
    "table.ev{border-collapse:collapse;width:100%;font-size:12.5px}table.ev td,table.ev th{border-top:1px solid #e4e4e4;"
    "padding:3px 6px;text-align:left;vertical-align:top}table.ev code{white-space:pre-wrap;word-break:break-all}"
    "svg{max-width:100%;height:auto;background:#fff;border:1px solid #e0e0e0}"
    ".frame{fill:none;stroke:#bbb}.grid{stroke:#eee}.zero{stroke:#999}polyline{fill:none}"
    ".tick{font-size:11px;fill:#555}.label{font-size:12px;fill:#333}.mnum{font-size:10px;fill:#fff;font-weight:bold}"
    ".legend text{font-size:11px;fill:#333}.ok{color:#2e7d32;font-weight:bold}footer{color:#777;margin-top:30px;"
    "font-size:12px}";

int dx_report_html(const dx_result_t *r, const char *path)
{
    const bl_diag_t *d = r->d;
    FILE *fp = fopen(path, "w");
    unsigned count[BL_DSEV_COUNT] = { 0 };
    int err = 0;

    if (fp == NULL)
        return -errno;
    for (size_t i = 0; i < r->nf; i++)
        count[d->out[i].severity]++;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>bmslink diagnose: ",
          fp);
    esc(fp, r->src);
    fprintf(fp, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Diagnosis of ", style);
    esc(fp, r->src);
    fputs("</h1>\n<p class=\"meta\">", fp);
    fprintf(fp, "<b>%u</b> error%s, <b>%u</b> warning%s, <b>%u</b> info &middot; protocol <b>", count[0],
            count[0] == 1 ? "" : "s", count[1], count[1] == 1 ? "" : "s", count[2]);
    esc(fp, d->p ? d->p->name : "none fits");
    fprintf(fp, "</b> (%s)", r->detected ? "detected" : d->cfg.proto ? "-p" : "inverter profile");
    if (r->inverter) {
        fputs(" &middot; inverter <b>", fp);
        esc(fp, r->inverter);
        fputs("</b>", fp);
    }
    fprintf(fp, " &middot; %llu frames", (unsigned long long)d->frames);
    if (d->have_ts) {
        char t0[48], t1[48];
        utc(d->first_us, t0, sizeof t0);
        utc(d->last_us, t1, sizeof t1);
        fprintf(fp, " from %s to %s", t0, t1);
    }
    fprintf(fp, "<br>loop <b>%s</b>: ", bl_diag_loop_str(d->loop));
    esc(fp, d->loop_reason);
    fputs("</p>\n<h2>Timeline</h2>\n", fp);
    chart(fp, r);
    fputs("<h2>Findings</h2>\n", fp);
    findings(fp, r);
    if (d->nnotes > 0) {
        fputs("<h2>Notes</h2>\n<ul>\n", fp);
        for (unsigned i = 0; i < d->nnotes; i++) {
            fputs("<li>", fp);
            esc(fp, d->notes[i]);
            fputs("</li>\n", fp);
        }
        fputs("</ul>\n", fp);
    }
    fprintf(fp, "<footer>bmslink %s diagnose &middot; evidence lines are lines of the capture</footer>\n"
                "</body>\n</html>\n",
            BL_VERSION_STRING);
    if (ferror(fp))
        err = errno ? -errno : -EIO;
    if (fclose(fp) != 0 && err == 0)
        err = -errno;
    return err;
}
