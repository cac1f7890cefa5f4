/* bmslink decode: captures (and live sources) into messages and canonical fields. */
#include "bmslink/detect.h"
#include "bmslink/transport.h"
#include "cli.h"
#include "csvout.h"
#include "live.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink decode [-p PROTOCOL] [--json | --summary] [options] SOURCE...\n"
    "  Decode CAN frames into messages and canonical fields (current > 0 = charging).\n"
    "  SOURCE: a capture file (candump -L log, candump output, Vector ASC, PEAK TRC, SavvyCAN GVRET\n"
    "          CSV, pcap / pcapng of SocketCAN), file:PATH or -,\n"
    "          or a live bus: socketcan:IFACE, slcan:DEV[@BITRATE], virtual:NAME\n"
    "  RS485/Modbus: hex485 captures (hex byte lines or ~ASCII frames, optional timestamps),\n"
    "  serial:DEV@BAUD[,8N1][#ADDR], modbus-rtu:DEV@BAUD[,8N1]#UNIT, modbus-tcp:HOST:PORT#UNIT\n"
    "  (live sources: bmslink polls the BMS as the inverter, retrying with backoff)\n"
    "  Without -p the protocol is detected from the traffic and the choice is reported.\n"
    "  -p, --protocol NAME  protocol or variant (bmslink protocols lists them)\n"
    "      --json           one JSON object per frame (NDJSON)\n"
    "      --summary        one JSON object: counts, reject reasons, last record\n"
    "      --csv            the canonical record as CSV for spreadsheets: a row per capture timestamp at\n"
    "                       which a value changed (or per --step), a column per field that appears (its\n"
    "                       key carries the unit), alarm classes; blank = not received yet, or stale\n"
    "      --step D         with --csv: one row every D of capture time (resampled: 1s, 500ms)\n"
    "      --format F       force the capture format: candump, log, asc, trc, gvret, pcap, pcapng, hex485\n"
    "      --stale D        fields older than D count as stale (default: the protocol's timeout)\n"
    "  -n, --count N        stop after N frames\n"
    "      --duration D     stop after D (capture time; wall time on a live bus: 500ms, 90s, 15m, 24h)\n"
    "      --record FILE    live buses: also log every frame to FILE as candump -L\n"
    "  -q, --quiet          do not list rejected lines on stderr (they are still counted)\n"
    "examples:\n"
    "  bmslink decode -p pylon-lv --summary share/captures/pylon-lv-sample.log\n"
    "  candump -L can0 | bmslink decode -p pylon-lv --json -\n"
    "  bmslink decode -p pylon-lv --count 100 --record can.log slcan:/dev/ttyACM0@500000\n"
    "Ctrl-C stops a live decode cleanly: the record is flushed and the counters are printed.\n";

#define DETECT_SAMPLE 400
#define MSG_LIMIT 20 /* per source: problems listed on stderr before going quiet */
#define LIVE_DETECT_MS 3000 /* live: detect the protocol after this much traffic at most */
#define LIVE_SLICE_MS 200   /* live: longest wait before looking at the stop conditions */
#define LIVE_SILENT_MS 5000 /* live: say so when nothing arrived for this long */
#define LIVE_FLUSH_MS 100   /* live: longest time output waits in the buffer */

typedef struct {
    const char *src;
    uint64_t line; /* binary captures: the record's byte offset */
    bool binary;
    bl_cap_frame_t f;
} pending_t;

typedef struct {
    /* options */
    const bl_protocol_t *p;
    bool json, summary, quiet;
    unsigned fmt;
    uint64_t stale_ms, count, duration_ms;
    const char *record_path;
    bl_recorder_t *recorder;
    uint64_t flushed_ms;
    /* state */
    bl_can_codec_t codec;
    bool ready;
    bl_record_t rec;
    bl_out_t out;
    uint64_t frames, decoded, errors;
    uint64_t reasons[BL_REJ_COUNT];
    uint64_t first_ts, last_ts;
    bool have_ts, stop;
    /* per source */
    unsigned shown, suppressed;
    bool binary;              /* the source is a pcap/pcapng: "line" numbers are byte offsets */
    /* --csv (issue #12) */
    bool csv_wanted, csv_stream;
    uint64_t step_us;
    csvout_t *csv;
    /* detection buffer */
    pending_t *pend;
    size_t npend;
} session_t;

static void problem(session_t *s, const char *src, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(session_t *s, const char *src, uint64_t line, const char *fmt, ...)
{
    va_list ap;
    if (s->quiet)
        return;
    if (s->shown >= MSG_LIMIT) {
        s->suppressed++;
        return;
    }
    s->shown++;
    if (s->binary)
        fprintf(stderr, "bmslink: %s:offset %llu: ", src, (unsigned long long)line);
    else if (line > 0)
        fprintf(stderr, "bmslink: %s:%llu: ", src, (unsigned long long)line);
    else
        fprintf(stderr, "bmslink: %s: ", src);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void id_text(const bl_can_frame_t *f, char *buf, size_t n)
{
    snprintf(buf, n, (f->flags & (BL_CAN_EXT | BL_CAN_ERR)) ? "0x%08X" : "0x%03X", (unsigned)f->id);
}

/* Reason text of a rejected frame, as CLI.md shows it ("dlc 9, expected 2..8"). */
static void reason_text(const session_t *s, const bl_can_frame_t *f, const bl_decoded_t *d, char *buf, size_t n)
{
    bl_signal_t sig;
    switch (d->why) {
    case BL_REJ_LENGTH:
        snprintf(buf, n, "dlc %u, expected %u..%u", f->len, d->dlc_min, d->dlc_max);
        break;
    case BL_REJ_UNKNOWN_ID:
        snprintf(buf, n, "unknown id");
        break;
    case BL_REJ_ID_LENGTH:
        snprintf(buf, n, "id length: %s uses this id with %s ids, frame has %s", s->p->name,
                 (f->flags & BL_CAN_EXT) ? "11-bit" : "29-bit", (f->flags & BL_CAN_EXT) ? "29-bit" : "11-bit");
        break;
    case BL_REJ_RANGE: {
        char v[32], lo[32], hi[32];
        bl_can_sig(&s->codec, d->msg, d->sig, &sig);
        snprintf(v, sizeof v, "%.*f", bl_sig_decimals(&sig), (double)d->val[d->sig] / 1000.0);
        snprintf(lo, sizeof lo, "%g", sig.min / 1000.0);
        snprintf(hi, sizeof hi, "%g", sig.max / 1000.0);
        snprintf(buf, n, "range: %s %s %s outside %s..%s", sig.name, v, sig.unit, lo, hi);
        break;
    }
    case BL_REJ_RESERVED:
        bl_can_sig(&s->codec, d->msg, d->sig, &sig);
        snprintf(buf, n, "reserved bits: %s, expected 0x%X", sig.name, (unsigned)sig.def);
        break;
    case BL_REJ_REMOTE:
        snprintf(buf, n, "remote frame");
        break;
    case BL_REJ_ERROR_FRAME:
        snprintf(buf, n, "error frame (class 0x%X)", (unsigned)f->id);
        break;
    default:
        snprintf(buf, n, "%s", bl_reject_str(d->why));
        break;
    }
}

static void json_signals(session_t *s, const bl_cap_frame_t *cf, const bl_decoded_t *d)
{
    bl_out_t *o = &s->out;
    const bl_message_t *m = d->msg;
    j_key(o, "signals");
    j_obj(o);
    for (unsigned i = 0; m != NULL && i < m->nsigs && i < BL_MAX_SIGS; i++) {
        bl_signal_t sig;
        if (!(d->have >> i & 1u))
            continue;
        bl_can_sig(&s->codec, m, i, &sig);
        j_key(o, sig.name);
        j_obj(o);
        j_key(o, "value");
        if (sig.kind == BL_SK_ASCII || sig.kind == BL_SK_VERSION) {
            size_t b = sig.start / 8u, k = sig.len / 8u;
            if (b + k > cf->f.len)
                k = cf->f.len - b;
            if (sig.kind == BL_SK_ASCII) {
                size_t e = k;
                while (e > 0 && (cf->f.data[b + e - 1] == ' ' || cf->f.data[b + e - 1] == 0))
                    e--;
                out_jstrn(o, (const char *)cf->f.data + b, e);
            } else {
                out_ch(o, '"');
                for (size_t q = 0; q < k; q++)
                    out_printf(o, (sig.flags & BL_SF_HEXVER) ? "%s%02X" : "%s%u", q ? "." : "", cf->f.data[b + q]);
                out_ch(o, '"');
            }
        } else if (sig.kind == BL_SK_NUM) {
            out_milli(o, d->val[i], bl_sig_decimals(&sig));
        } else {
            out_i64(o, d->val[i]);
        }
        o->first = false;
        j_kstr(o, "unit", sig.kind == BL_SK_NUM ? sig.unit : "");
        j_end_obj(o);
    }
    j_end_obj(o);
}

static void json_frame(session_t *s, const bl_cap_frame_t *cf, const bl_decoded_t *d, int rc)
{
    bl_out_t *o = &s->out;
    char id[16];

    id_text(&cf->f, id, sizeof id);
    o->first = true;
    j_obj(o);
    j_key(o, "ts");
    if (cf->has_ts)
        out_ts(o, cf->ts_us);
    else
        out_str(o, "null");
    o->first = false;
    j_kstr(o, "bus", cf->bus);
    j_kstr(o, "id", id);
    j_kint(o, "dlc", cf->f.len);
    j_key(o, "data");
    out_ch(o, '"');
    out_hex(o, cf->f.data, (cf->f.flags & BL_CAN_RTR) ? 0 : cf->f.len);
    out_ch(o, '"');
    o->first = false;
    j_kstr(o, "protocol", s->p->name);
    j_kstr(o, "message", d->msg ? d->msg->name : NULL);
    if (rc == 0) {
        cli_json_fields(o, "fields", &s->rec, d->fields);
        json_signals(s, cf, d);
        cli_json_alarms(o, d->active);
        j_knull(o, "error");
    } else {
        char reason[160];
        if (d->why == BL_REJ_RANGE || d->why == BL_REJ_RESERVED)
            json_signals(s, cf, d); /* what the frame said, for the diagnosis */
        reason_text(s, &cf->f, d, reason, sizeof reason);
        j_kstr(o, "error", reason);
    }
    j_end_obj(o);
    out_ch(o, '\n');
}

static void text_frame(session_t *s, const bl_cap_frame_t *cf, const bl_decoded_t *d, int rc)
{
    bl_out_t *o = &s->out;
    char id[16];

    id_text(&cf->f, id, sizeof id);
    if (cf->has_ts)
        out_ts(o, cf->ts_us);
    else
        out_ch(o, '-');
    out_printf(o, " %s %s [%u] ", cf->bus, id, cf->f.len);
    out_hex(o, cf->f.data, (cf->f.flags & BL_CAN_RTR) ? 0 : cf->f.len);
    if (rc < 0) {
        char reason[160];
        reason_text(s, &cf->f, d, reason, sizeof reason);
        out_printf(o, "  REJECTED: %s\n", reason);
        return;
    }
    out_printf(o, "  %s", d->msg->name);
    for (unsigned i = 0; i < d->msg->nsigs && i < BL_MAX_SIGS; i++) {
        bl_signal_t sig;
        if (!(d->have >> i & 1u))
            continue;
        bl_can_sig(&s->codec, d->msg, i, &sig);
        if (sig.kind == BL_SK_NUM && sig.field != BL_F_NONE) {
            out_printf(o, " %s=", sig.name);
            out_milli(o, d->val[i], bl_sig_decimals(&sig));
            if (sig.unit[0])
                out_printf(o, "%s", sig.unit);
        } else if (sig.kind == BL_SK_BOOL) {
            out_printf(o, " %s=%d", sig.name, (int)d->val[i]);
        } else if (sig.kind == BL_SK_ASCII && sig.field != BL_F_NONE) {
            out_printf(o, " %s=\"%s\"", sig.name, bl_record_str(&s->rec, sig.field));
        }
    }
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (d->active[c] & (1U << a))
                out_printf(o, " %s:%s", c == BL_AC_PROTECTION ? "PROTECTION" : c == BL_AC_WARNING ? "warning" : "ALARM",
                           bl_alarm_str(a));
    out_ch(o, '\n');
}

static void process(session_t *s, const char *src, uint64_t line, const bl_cap_frame_t *cf)
{
    bl_decoded_t d;
    uint64_t ms = cf->ts_us / 1000u;
    int rc;

    if (cf->has_ts) {
        if (!s->have_ts) {
            s->first_ts = cf->ts_us;
            s->have_ts = true;
        }
        if (s->duration_ms && cf->ts_us - s->first_ts > s->duration_ms * 1000u) {
            s->stop = true;
            return;
        }
        s->last_ts = cf->ts_us;
    }
    s->frames++;
    if (s->csv)
        csvout_before(s->csv, &s->rec, cf->ts_us, cf->has_ts);
    rc = bl_can_decode(&s->codec, &cf->f, ms, &s->rec, &d);
    if (s->csv)
        csvout_after(s->csv, &s->rec, cf->ts_us, cf->has_ts);
    if (rc == 0) {
        s->decoded++;
    } else {
        s->errors++;
        s->reasons[d.why]++;
        if (d.why != BL_REJ_UNKNOWN_ID || !s->json) {
            char id[16], reason[160];
            id_text(&cf->f, id, sizeof id);
            reason_text(s, &cf->f, &d, reason, sizeof reason);
            problem(s, src, line, "%s: %s", id, reason);
        }
    }
    if (s->json)
        json_frame(s, cf, &d, rc);
    else if (!s->summary && !s->csv_wanted)
        text_frame(s, cf, &d, rc);
    if (s->count && s->frames >= s->count)
        s->stop = true;
}

/* Where the chosen protocol and a rival read the same id differently (issue 4: ambiguity is
 * reported, never guessed silently): rivals that fit about as well one line each, the
 * others in one note, each family once. */
static void report_clashes(const bl_cap_frame_t *frames, size_t n, const bl_detect_score_t *sc, size_t nsc)
{
    bl_detect_clash_t cl[24];
    size_t nc = bl_detect_clashes(frames, n, sc, nsc, cl, BL_ARRAY_LEN(cl));
    bool noted = false;

    for (size_t i = 0; i < nc; i++)
        if (cl[i].ambiguous)
            fprintf(stderr, "bmslink: decode: ambiguous: %s 0x%0*X is %s in %s but %s in %s (%u frames); "
                            "name the protocol with -p if %s is wrong\n",
                    cl[i].ext ? "29-bit" : "11-bit", cl[i].ext ? 8 : 3, (unsigned)cl[i].id, cl[i].ma->name,
                    cl[i].a->name, cl[i].mb->name, cl[i].b->name, (unsigned)cl[i].frames, cl[i].a->name);
    for (size_t i = 0; i < nc; i++) {
        bool dup = false;
        if (cl[i].ambiguous)
            continue;
        for (size_t k = 0; k < i; k++) /* this id and this family already named */
            dup = dup || (!cl[k].ambiguous && cl[k].id == cl[i].id && bl_proto_root(cl[k].b) == bl_proto_root(cl[i].b));
        if (dup)
            continue;
        fprintf(stderr, noted ? ", 0x%0*X (%s %s)" : "bmslink: decode: note: read differently by protocols that fit "
                                                     "less well: 0x%0*X (%s %s)",
                cl[i].ext ? 8 : 3, (unsigned)cl[i].id, bl_proto_root(cl[i].b)->name, cl[i].mb->name);
        noted = true;
    }
    if (noted)
        fputc('\n', stderr);
}

static int choose_protocol(session_t *s)
{
    bl_detect_score_t sc[8];
    size_t n;
    bl_cap_frame_t *tmp = malloc((s->npend ? s->npend : 1) * sizeof *tmp);

    if (tmp == NULL)
        return BL_EXIT_IO;
    for (size_t i = 0; i < s->npend; i++)
        tmp[i] = s->pend[i].f;
    n = bl_detect_can(tmp, s->npend, sc, BL_ARRAY_LEN(sc));
    if (n == 0 || sc[0].decoded == 0) {
        free(tmp);
        cli_err("decode: no known protocol matches this traffic (%zu frames looked at); name one with -p",
                s->npend);
        return BL_EXIT_IO;
    }
    s->p = sc[0].p;
    fprintf(stderr, "bmslink: decode: detected %s: %u of %u frames decode, %u of its message ids seen (%s)",
            s->p->name, sc[0].decoded, sc[0].frames, sc[0].ids,
            sc[0].b2i && sc[0].i2b ? "battery and inverter talking" : sc[0].b2i ? "battery talking" : "inverter talking");
    for (size_t i = 1; i < n && i < 4; i++)
        if (sc[i].decoded * 10u >= sc[0].decoded * 8u)
            fprintf(stderr, "; %s also fits (%u decode)", sc[i].p->name, sc[i].decoded);
    fputc('\n', stderr);
    report_clashes(tmp, s->npend, sc, n);
    free(tmp);
    return 0;
}

static int ensure_ready(session_t *s)
{
    int rc;
    if (s->ready)
        return 0;
    if (s->p == NULL && (rc = choose_protocol(s)) != 0)
        return rc;
    if (bl_can_codec_init(&s->codec, s->p) < 0) {
        cli_err("decode: %s is not a CAN protocol; this build decodes CAN captures only", s->p->name);
        return BL_EXIT_USAGE;
    }
    if (s->stale_ms == 0)
        s->stale_ms = bl_proto_timeout_ms(s->p);
    if (s->csv_wanted && s->csv == NULL) {
        bl_caps_t caps;
        bl_proto_caps(s->p, &caps);
        s->csv = csvout_new(stdout, s->step_us, s->stale_ms,
                            s->csv_stream ? (caps.fields ? caps.fields : (uint32_t)(BL_BIT(BL_F_BATTERY_COUNT) - 1u)) : 0);
        if (s->csv == NULL)
            return BL_EXIT_IO;
    }
    s->ready = true;
    for (size_t i = 0; i < s->npend && !s->stop; i++) {
        s->binary = s->pend[i].binary;
        process(s, s->pend[i].src, s->pend[i].line, &s->pend[i].f);
    }
    s->npend = 0;
    return 0;
}

/* Live sources: stop conditions, silence, the time to decide on a protocol. 1 = stop reading. */
static int live_tick(session_t *s, bl_transport_t *t, uint64_t start_ms, uint64_t *last_rx_ms, uint64_t first_ms)
{
    uint64_t now = bl_clock_mono_ms();
    int rc;

    if (now - s->flushed_ms >= LIVE_FLUSH_MS) { /* a reader down the pipe sees frames as they come */
        out_flush(&s->out);
        s->flushed_ms = now;
    }
    if (live_stopped())
        return 1;
    if (s->duration_ms && now - start_ms >= s->duration_ms) {
        s->stop = true;
        return 1;
    }
    if (now - *last_rx_ms >= LIVE_SILENT_MS) {
        bl_transport_note(t, "no frames for %llu s (bus idle, wrong bitrate, or not connected?)",
                          (unsigned long long)((now - *last_rx_ms) / 1000u));
        *last_rx_ms = now; /* again after as long */
    }
    if (!s->ready && s->npend > 0 && now - first_ms >= LIVE_DETECT_MS && (rc = ensure_ready(s)) != 0)
        return rc;
    return 0;
}

static int read_source(session_t *s, const char *uri)
{
    bl_transport_t t;
    int rc;
    bool any = false;
    uint64_t start_ms = bl_clock_mono_ms(), last_rx_ms = start_ms, first_ms = 0;

    if ((rc = live_open(&t, uri, s->fmt, s->recorder)) != 0)
        return rc;
    if (!t.live) {
        t.notify = NULL; /* a capture: problems are listed per line below */
        bl_transport_set_recorder(&t, NULL);
    } else {
        live_signals();
    }
    s->shown = s->suppressed = 0;
    while (!s->stop) {
        bl_cap_frame_t cf;
        bl_line_err_t le;
        if (t.live && (rc = live_tick(s, &t, start_ms, &last_rx_ms, first_ms)) != 0) {
            if (rc == 1)
                break;
            bl_transport_close(&t);
            return rc;
        }
        rc = bl_transport_read(&t, &cf, t.live ? LIVE_SLICE_MS : -1, &le);
        if (rc == 0)
            continue;
        if (rc == BL_ENOENT)
            break;
        s->binary = t.binary;
        if (rc == BL_EBADMSG) {
            s->errors++;
            s->reasons[le.why]++;
            if (le.col)
                problem(s, uri, t.binary ? t.offset : t.line, "%s (column %u)", le.what, le.col);
            else
                problem(s, uri, t.binary ? t.offset : t.line, "%s", le.what);
            continue;
        }
        if (rc < 0) {
            if (t.live)
                cli_err("%s: %s", uri, t.err[0] ? t.err : bl_strerror(rc));
            else
                cli_err("%s:%llu: read error: %s", uri, (unsigned long long)t.line, t.err[0] ? t.err : bl_strerror(rc));
            if (t.live)
                live_print_stats(stderr, &t);
            bl_transport_close(&t);
            return BL_EXIT_IO;
        }
        any = true;
        last_rx_ms = bl_clock_mono_ms();
        if (first_ms == 0)
            first_ms = last_rx_ms;
        if (!s->ready) {
            s->pend[s->npend].src = uri;
            s->pend[s->npend].line = t.binary ? t.offset : t.line;
            s->pend[s->npend].binary = t.binary;
            s->pend[s->npend].f = cf;
            if (++s->npend == DETECT_SAMPLE && (rc = ensure_ready(s)) != 0) {
                bl_transport_close(&t);
                return rc;
            }
            continue;
        }
        process(s, uri, t.binary ? t.offset : t.line, &cf);
    }
    if (s->suppressed)
        fprintf(stderr, "bmslink: %s: %u more problems not listed (counted in --summary)\n", uri, s->suppressed);
    if (t.live) {
        if (!s->quiet || live_stopped())
            live_print_stats(stderr, &t);
    } else if (!any && t.stats.rx_bad == 0) {
        cli_err("%s: no CAN frames (empty capture?)", uri);
    } else if (!any) {
        cli_err("%s: no CAN frames: none of %llu %s is a CAN frame of a format bmslink reads", uri,
                (unsigned long long)t.stats.rx_bad, t.binary ? "records" : "lines");
    }
    bl_transport_close(&t);
    return 0;
}

static void print_summary(session_t *s)
{
    bl_out_t *o = &s->out;
    uint32_t stale = 0;

    o->first = true;
    j_obj(o);
    j_kstr(o, "protocol", s->p ? s->p->name : NULL);
    j_kint(o, "frames", (int64_t)s->frames);
    j_kint(o, "decoded", (int64_t)s->decoded);
    j_kint(o, "errors", (int64_t)s->errors);
    j_key(o, "error_reasons");
    j_obj(o);
    for (unsigned r = 1; r < BL_REJ_COUNT; r++)
        if (s->reasons[r])
            j_kint(o, bl_reject_str((bl_reject_t)r), (int64_t)s->reasons[r]);
    j_end_obj(o);
    j_key(o, "first_ts");
    if (s->have_ts)
        out_ts(o, s->first_ts);
    else
        out_str(o, "null");
    o->first = false;
    j_key(o, "last_ts");
    if (s->have_ts)
        out_ts(o, s->last_ts);
    else
        out_str(o, "null");
    o->first = false;
    cli_json_fields(o, "record", &s->rec, UINT32_MAX);
    cli_json_alarms(o, s->rec.active);
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if (s->have_ts && !bl_field_fresh(&s->rec.f[i], s->last_ts / 1000u, s->stale_ms) && s->rec.f[i].valid)
            stale |= BL_BIT(i);
    j_key(o, "stale_fields");
    j_arr(o);
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if (stale & BL_BIT(i))
            j_str_el(o, bl_field_info(i)->key);
    j_end_arr(o);
    j_kint(o, "stale_after_ms", (int64_t)s->stale_ms);
    j_end_obj(o);
    out_ch(o, '\n');
}

static void print_text_tail(session_t *s)
{
    bl_out_t *o = &s->out;
    out_printf(o, "\n%s: %llu frames, %llu decoded, %llu rejected", s->p ? s->p->name : "?",
               (unsigned long long)s->frames, (unsigned long long)s->decoded, (unsigned long long)s->errors);
    for (unsigned r = 1; r < BL_REJ_COUNT; r++)
        if (s->reasons[r])
            out_printf(o, ", %s %llu", bl_reject_str((bl_reject_t)r), (unsigned long long)s->reasons[r]);
    out_str(o, "\nlast record:\n");
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++) {
        const bl_field_info_t *fi = bl_field_info(i);
        if (!s->rec.f[i].valid)
            continue;
        out_printf(o, "  %-27s ", fi->key);
        cli_json_field(o, &s->rec, i);
        if (s->have_ts && !bl_field_fresh(&s->rec.f[i], s->last_ts / 1000u, s->stale_ms))
            out_str(o, "   (stale)");
        out_ch(o, '\n');
    }
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        out_printf(o, "  %-27s", bl_alarm_class_str(c));
        if (!s->rec.active[c])
            out_str(o, " none");
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (s->rec.active[c] & (1U << a))
                out_printf(o, " %s", bl_alarm_str(a));
        out_ch(o, '\n');
    }
}

enum { OPT_FORMAT = 256, OPT_STALE, OPT_DURATION, OPT_SUMMARY, OPT_JSON, OPT_RECORD, OPT_CSV, OPT_STEP };

int verb_decode(int argc, char **argv)
{
    static const struct option opts[] = {
        { "protocol", required_argument, 0, 'p' }, { "json", no_argument, 0, OPT_JSON },
        { "summary", no_argument, 0, OPT_SUMMARY }, { "format", required_argument, 0, OPT_FORMAT },
        { "stale", required_argument, 0, OPT_STALE }, { "count", required_argument, 0, 'n' },
        { "duration", required_argument, 0, OPT_DURATION }, { "quiet", no_argument, 0, 'q' },
        { "record", required_argument, 0, OPT_RECORD },
        { "csv", no_argument, 0, OPT_CSV }, { "step", required_argument, 0, OPT_STEP }, /* issue #12 */
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    session_t *s = calloc(1, sizeof *s);
    int ch, rc = BL_EXIT_OK;

    if (s == NULL)
        return BL_EXIT_IO;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "p:n:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            if ((s->p = cli_protocol("decode", optarg)) == NULL)
                rc = BL_EXIT_USAGE;
            break;
        case OPT_JSON: s->json = true; break;
        case OPT_SUMMARY: s->summary = true; break;
        case 'q': s->quiet = true; break;
        case OPT_RECORD: s->record_path = optarg; break;
        case OPT_CSV: s->csv_wanted = true; break;
        case OPT_STEP:
            if (!cli_parse_duration(optarg, &s->step_us) || s->step_us == 0)
                rc = cli_usage_err(usage, "decode", "bad --step '%s' (e.g. 1s, 500ms, 1m)", optarg);
            s->step_us *= 1000u;
            break;
        case OPT_FORMAT:
            s->fmt = bl_capfmt_by_name(optarg);
            if (s->fmt == BL_FMT_COUNT)
                rc = cli_usage_err(usage, "decode", "unknown --format '%s' (candump, log, asc, trc, gvret, pcap, "
                                                    "pcapng, hex485)", optarg);
            break;
        case OPT_STALE:
            if (!cli_parse_duration(optarg, &s->stale_ms) || s->stale_ms == 0)
                rc = cli_usage_err(usage, "decode", "bad --stale '%s' (e.g. 500ms, 10s, 5m)", optarg);
            break;
        case OPT_DURATION:
            if (!cli_parse_duration(optarg, &s->duration_ms))
                rc = cli_usage_err(usage, "decode", "bad --duration '%s' (e.g. 500ms, 90s, 15m, 24h)", optarg);
            break;
        case 'n':
            if (!cli_parse_count(optarg, &s->count))
                rc = cli_usage_err(usage, "decode", "bad --count '%s'", optarg);
            break;
        case 'h':
            free(s);
            return cli_help(usage);
        default:
            rc = cli_usage_err(usage, "decode", "unknown option '%s'", argv[optind - 1]);
            break;
        }
        if (rc != BL_EXIT_OK) {
            free(s);
            return rc;
        }
    }
    if (s->json && s->summary) {
        free(s);
        return cli_usage_err(usage, "decode", "--json and --summary exclude each other");
    }
    if (s->csv_wanted && (s->json || s->summary)) {
        free(s);
        return cli_usage_err(usage, "decode", "--csv excludes --json and --summary");
    }
    if (s->step_us && !s->csv_wanted) {
        free(s);
        return cli_usage_err(usage, "decode", "--step goes with --csv");
    }
    for (int i = optind; i < argc; i++) /* a live bus streams its rows; captures are read whole first */
        s->csv_stream = s->csv_stream || csvout_streams(argv[i]);
    if (optind >= argc) {
        free(s);
        return cli_usage_err(usage, "decode", "no SOURCE (a capture file, or - for stdin)");
    }
    /* ---- RS485 / Modbus: byte protocols, hex485 captures, serial:/modbus-* (decode_rs485.c) ---- */
    if (cli_decode_rs485_wanted(s->p, s->fmt, argc - optind, argv + optind)) {
        cli_decode_opts_t ro = { s->p,        s->json,  s->summary,     s->quiet,      s->fmt,
                                 s->stale_ms, s->count, s->duration_ms, s->record_path, s->csv_wanted,
                                 s->step_us };
        free(s);
        return cli_decode_rs485(&ro, argc - optind, argv + optind);
    }
    s->pend = malloc(DETECT_SAMPLE * sizeof *s->pend);
    if (s->pend == NULL) {
        free(s);
        return BL_EXIT_IO;
    }
    bl_record_init(&s->rec);
    out_init(&s->out, stdout);
    if ((rc = live_record_open(s->record_path, &s->recorder)) != 0)
        goto out;
    if (s->p != NULL && (rc = ensure_ready(s)) != 0)
        goto out;
    for (int i = optind; i < argc && !s->stop; i++) {
        int r = read_source(s, argv[i]);
        if (r != 0) {
            rc = r;
            goto out;
        }
    }
    if (!s->ready && s->npend > 0 && (rc = ensure_ready(s)) != 0)
        goto out;
    if (s->frames == 0) {
        rc = BL_EXIT_IO;
        if (s->summary)
            print_summary(s);
        goto out;
    }
    if (s->summary)
        print_summary(s);
    else if (s->csv) {
        if (csvout_finish(s->csv, &s->rec) != 0)
            rc = BL_EXIT_IO;
        s->csv = NULL;
    } else if (!s->json)
        print_text_tail(s);
out:
    if (s->csv != NULL)
        (void)csvout_finish(s->csv, &s->rec);
    out_flush(&s->out);
    if (live_record_close(s->recorder) != 0 && rc == BL_EXIT_OK)
        rc = BL_EXIT_IO;
    free(s->pend);
    free(s);
    return rc;
}
