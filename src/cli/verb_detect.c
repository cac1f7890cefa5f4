/*
 * bmslink detect: what is on this bus? The protocol comes from scoring every
 * table on the traffic (bl_detect_can); what only a live bus can tell is added
 * here: the bitrate (an slcan adapter is tried at each standard bitrate, in
 * listen-only mode so a wrong guess never disturbs the bus), the id length,
 * and which side talks (battery broadcasting, inverter polling or both), with
 * the evidence behind each answer and a confidence.
 */
#include "bmslink/detect.h"
#include "bmslink/slcan.h"
#include "bmslink/transport.h"
#include "cli.h"
#include "live.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink detect [--json] [options] SOURCE\n"
    "  Name the protocol(s) on a bus or in a capture, the bitrate, the id length and which\n"
    "  side is talking (battery broadcasting, inverter polling, both), with evidence.\n"
    "  SOURCE: a capture file, -, socketcan:IFACE, slcan:DEV[@BITRATE], virtual:NAME\n"
    "  slcan:DEV without @BITRATE: each standard bitrate is tried (listen-only) until one\n"
    "  gives clean frames.\n"
    "      --json           one JSON object\n"
    "      --duration D     live: listen this long (default 5s)\n"
    "  -n, --count N        look at N frames at most (default: 20000)\n"
    "      --probe D        slcan: listen this long at each bitrate (default 2s)\n"
    "      --all-bitrates   slcan: try every bitrate, not only until the first clean one\n"
    "      --record FILE    live: also log every frame to FILE as candump -L\n"
    "      --format F       force the capture format: candump, log, asc, trc, gvret, pcap, pcapng\n"
    "  exit: 0 a protocol was named, 1 frames but no known protocol, 3 no frames\n"
    "examples:\n"
    "  bmslink detect capture.log\n"
    "  bmslink detect --json slcan:/dev/ttyACM0\n";

#define MAX_FRAMES_DEFAULT 20000u
#define MAX_IDS 256

/* Most common bitrates of battery buses first: probing stops at the first clean one. */
static const uint32_t probe_order[] = { 500000, 250000, 125000, 1000000, 800000, 100000, 50000, 20000, 10000 };

typedef struct {
    uint32_t bitrate;
    uint64_t frames, bad, err_frames;
    bool bus_errors, opened, clean;
    char why[300];
} probe_t;

typedef struct {
    uint32_t key;      /* id | ext << 31 */
    uint32_t count;
    uint64_t first_us, last_us;
    uint64_t gap_sum_us; /* for the mean period */
    int8_t dir;        /* -1 unknown, bl_dir_t */
} idinfo_t;

typedef struct {
    /* options */
    bool json, all_bitrates;
    unsigned fmt;
    unsigned shown; /* malformed items listed on stderr */
    uint64_t duration_ms, probe_ms, count;
    const char *uri, *record_path;
    /* traffic */
    bl_cap_frame_t *frames;
    size_t n, cap;
    uint64_t err_frames, bad, ext, std;
    uint8_t bus_state;
    probe_t probes[BL_ARRAY_LEN(probe_order)];
    unsigned nprobes;
    uint32_t bitrate;
    const char *bitrate_source;
    bool live;
    bl_recorder_t *rec;
    const char *ts_source;
    bl_out_t out;
} det_t;

/* ---- collecting ---- */

static void keep(det_t *d, const bl_cap_frame_t *cf)
{
    if (cf->f.flags & BL_CAN_ERR) {
        d->err_frames++;
        return;
    }
    if (d->n < d->cap)
        d->frames[d->n++] = *cf;
    if (cf->f.flags & BL_CAN_EXT)
        d->ext++;
    else
        d->std++;
}

/* Read from an open transport until the window ends. Returns an exit code. */
static int collect(det_t *d, bl_transport_t *t, uint64_t window_ms, probe_t *pr)
{
    uint64_t start = bl_clock_mono_ms();

    for (;;) {
        bl_cap_frame_t cf;
        bl_line_err_t le;
        int rc, wait = -1;

        if (t->live) {
            uint64_t now = bl_clock_mono_ms();
            if (live_stopped() || now - start >= window_ms)
                break;
            wait = (int)(window_ms - (now - start));
            if (wait > 200)
                wait = 200;
        }
        if (d->count && d->n >= d->count)
            break;
        rc = bl_transport_read(t, &cf, wait, &le);
        if (rc == 0)
            continue;
        if (rc == BL_ENOENT)
            break;
        if (rc == BL_EBADMSG) {
            d->bad++;
            if (pr)
                pr->bad++;
            if (d->shown++ < 5) { /* the first few, with their place; all are counted */
                if (t->line > 0)
                    fprintf(stderr, "bmslink: %s:%llu: %s (column %u)\n", t->uri, (unsigned long long)t->line, le.what,
                            le.col);
                else
                    fprintf(stderr, "bmslink: %s: %s (column %u)\n", t->uri, le.what, le.col);
            }
            continue;
        }
        if (rc < 0) {
            cli_err("%s: %s", t->uri, t->err[0] ? t->err : bl_strerror(rc));
            return BL_EXIT_IO;
        }
        if (pr) {
            if (cf.f.flags & BL_CAN_ERR)
                pr->err_frames++;
            else
                pr->frames++;
        }
        keep(d, &cf);
    }
    if (t->bus_state != BL_CANST_UNKNOWN)
        d->bus_state = t->bus_state;
    if (pr && (t->err_classes & (BL_CANERR_BUSERROR | BL_CANERR_PROT)))
        pr->bus_errors = true;
    d->ts_source = t->ts_source;
    return BL_EXIT_OK;
}

/* slcan without a bitrate: try each one, listen-only. */
static int probe_slcan(det_t *d, const bl_slcan_cfg_t *cfg)
{
    char uri[300], err[256];
    int best = -1;

    for (size_t i = 0; i < BL_ARRAY_LEN(probe_order) && !live_stopped(); i++) {
        probe_t *pr = &d->probes[d->nprobes++];
        bl_transport_t t;
        size_t keep_n = d->n;
        uint64_t keep_bad = d->bad, keep_err = d->err_frames, keep_ext = d->ext, keep_std = d->std;
        int rc;

        pr->bitrate = probe_order[i];
        int k = snprintf(uri, sizeof uri, "slcan:%s@%u,listen", cfg->dev, (unsigned)probe_order[i]);
        if (cfg->tty_baud != 115200 && k > 0 && (size_t)k < sizeof uri)
            snprintf(uri + k, sizeof uri - (size_t)k, ",tty=%u", (unsigned)cfg->tty_baud);
        if (!d->json)
            fprintf(stderr, "bmslink: detect: listening at %u bit/s for %.1f s\n", (unsigned)probe_order[i],
                    (double)d->probe_ms / 1000.0);
        rc = bl_transport_open(&t, uri, BL_FMT_AUTO, err, sizeof err);
        if (rc < 0) {
            snprintf(pr->why, sizeof pr->why, "%s", err);
            if (i == 0) { /* the device itself is the problem, not the bitrate */
                cli_err("%s: cannot open: %s", d->uri, err);
                return rc == BL_EINVAL ? BL_EXIT_USAGE : BL_EXIT_IO;
            }
            continue;
        }
        pr->opened = true;
        bl_transport_set_recorder(&t, d->rec);
        rc = collect(d, &t, d->probe_ms, pr);
        bl_transport_close(&t);
        if (rc != 0)
            return rc;
        pr->clean = pr->frames > 0 && pr->bad == 0 && pr->err_frames == 0 && !pr->bus_errors;
        snprintf(pr->why, sizeof pr->why, "%llu frames, %llu malformed lines%s", (unsigned long long)pr->frames,
                 (unsigned long long)pr->bad, pr->bus_errors ? ", adapter reports bus errors" : "");
        if (pr->clean && best < 0) {
            best = (int)i;
            if (!d->all_bitrates)
                break;
            continue;
        }
        /* only the traffic of the chosen bitrate is analysed */
        if (!pr->clean || best >= 0) {
            d->n = keep_n;
            d->bad = keep_bad, d->err_frames = keep_err, d->ext = keep_ext, d->std = keep_std;
        }
    }
    if (best >= 0) {
        d->bitrate = probe_order[best];
        d->bitrate_source = "probed";
    } else {
        d->bitrate_source = "unknown";
    }
    return BL_EXIT_OK;
}

/* ---- analysis ---- */

typedef struct {
    bl_detect_score_t sc[8];
    size_t nsc;
    const char *confidence;
    bool tie[8];          /* sc[i] decodes exactly as well as sc[0] */
    bool any_variant_tie, any_family_tie;
    idinfo_t ids[MAX_IDS];
    unsigned nids;
    uint64_t bat_frames, inv_frames, unknown_frames;
    uint32_t bat_period_ms, inv_period_ms;
    const char *talking;
    unsigned ids_total;
} result_t;

static idinfo_t *idinfo(result_t *r, const bl_can_frame_t *f)
{
    uint32_t key = f->id | ((f->flags & BL_CAN_EXT) ? 0x80000000u : 0u);
    for (unsigned i = 0; i < r->nids; i++)
        if (r->ids[i].key == key)
            return &r->ids[i];
    if (r->nids == MAX_IDS)
        return NULL;
    r->ids[r->nids] = (idinfo_t){ .key = key, .dir = -1 };
    return &r->ids[r->nids++];
}

static const char *confidence(const result_t *r)
{
    const bl_detect_score_t *b = &r->sc[0];
    uint32_t rival = 0;

    for (size_t i = 1; i < r->nsc; i++) /* the best score of another family */
        if (bl_proto_root(r->sc[i].p) != bl_proto_root(b->p) && r->sc[i].decoded > rival)
            rival = r->sc[i].decoded;
    if (b->known > 0 && b->decoded * 10u >= b->known * 9u && b->ids >= 3 && rival * 10u < b->decoded * 8u)
        return "high";
    if (b->known > 0 && b->decoded * 2u >= b->known && b->ids >= 2)
        return "medium";
    return "low";
}

static void analyse(det_t *d, result_t *r)
{
    bl_can_codec_t c;
    uint64_t bat_min = 0, inv_min = 0;

    memset(r, 0, sizeof *r);
    r->talking = d->n ? "unknown" : "none";
    r->nsc = bl_detect_can(d->frames, d->n, r->sc, BL_ARRAY_LEN(r->sc));
    if (r->nsc > 0 && r->sc[0].decoded == 0)
        r->nsc = 0;
    for (size_t i = 0; i < d->n; i++) {
        idinfo_t *id = idinfo(r, &d->frames[i].f);
        if (id == NULL)
            continue;
        if (id->count > 0 && d->frames[i].ts_us > id->last_us)
            id->gap_sum_us += d->frames[i].ts_us - id->last_us;
        if (id->count == 0)
            id->first_us = d->frames[i].ts_us;
        id->last_us = d->frames[i].ts_us;
        id->count++;
    }
    if (r->nsc == 0)
        return;
    r->confidence = confidence(r);
    /* Equal scores are reported, never settled silently: a variant the traffic
     * cannot tell apart, or another family with the same frame layout (the 0x35x
     * family: Pylon LV, SMA SI, Victron share most ids). */
    for (size_t i = 1; i < r->nsc; i++) {
        r->tie[i] = r->sc[i].decoded == r->sc[0].decoded && r->sc[i].rejected == r->sc[0].rejected;
        if (r->tie[i] && bl_proto_root(r->sc[i].p) == bl_proto_root(r->sc[0].p))
            r->any_variant_tie = true;
        else if (r->tie[i])
            r->any_family_tie = true;
    }
    if (bl_can_codec_init(&c, r->sc[0].p) < 0)
        return;
    r->ids_total = c.n;
    for (unsigned i = 0; i < r->nids; i++) {
        idinfo_t *id = &r->ids[i];
        bl_can_frame_t f = { .id = id->key & 0x7FFFFFFFu, .flags = (id->key & 0x80000000u) ? BL_CAN_EXT : 0 };
        const bl_message_t *m = bl_can_lookup(&c, &f, NULL);
        uint64_t period = id->count > 1 ? id->gap_sum_us / (id->count - 1u) / 1000u : 0;
        if (m == NULL) {
            r->unknown_frames += id->count;
            continue;
        }
        id->dir = (int8_t)m->dir;
        if (m->dir == BL_DIR_B2I) {
            r->bat_frames += id->count;
            if (period && (!bat_min || period < bat_min))
                bat_min = period;
        } else {
            r->inv_frames += id->count;
            if (period && (!inv_min || period < inv_min))
                inv_min = period;
        }
    }
    r->bat_period_ms = (uint32_t)bat_min;
    r->inv_period_ms = (uint32_t)inv_min;
    r->talking = r->bat_frames && r->inv_frames ? "both" : r->bat_frames ? "battery" : r->inv_frames ? "inverter"
                                                                                                    : "unknown";
}

/* ---- output ---- */

static void id_text(uint32_t key, char *b, size_t n)
{
    snprintf(b, n, (key & 0x80000000u) ? "0x%08X" : "0x%03X", (unsigned)(key & 0x7FFFFFFFu));
}

static void side_ids(const result_t *r, int dir, char *b, size_t n)
{
    size_t o = 0;
    b[0] = '\0';
    for (unsigned i = 0; i < r->nids && o + 12 < n; i++)
        if (r->ids[i].dir == dir) {
            char id[16];
            id_text(r->ids[i].key, id, sizeof id);
            o += (size_t)snprintf(b + o, n - o, "%s%s", o ? " " : "", id);
        }
}

static const char *talking_text(const result_t *r)
{
    if (strcmp(r->talking, "both") == 0)
        return "both: the battery broadcasts and the inverter answers or polls";
    if (strcmp(r->talking, "battery") == 0)
        return "the battery broadcasts; the inverter is silent (not connected, or not answering)";
    if (strcmp(r->talking, "inverter") == 0)
        return "only the inverter (polls or keep-alives); no battery answers";
    if (strcmp(r->talking, "none") == 0)
        return "nobody: no frames";
    return "unknown: no frame belongs to a known protocol";
}

static void print_text(det_t *d, const result_t *r)
{
    char ids[400];
    printf("source      %s\n", d->uri);
    printf("frames      %zu", d->n);
    if (d->err_frames || d->bad)
        printf(" (+ %llu error frames, %llu malformed items)", (unsigned long long)d->err_frames,
               (unsigned long long)d->bad);
    printf("\n");
    if (d->bitrate)
        printf("bitrate     %u bit/s (%s)\n", (unsigned)d->bitrate, d->bitrate_source);
    else if (r->nsc > 0 && bl_proto_bitrate(r->sc[0].p))
        printf("bitrate     unknown: %s; %s expects %u bit/s\n",
               d->live ? "set on the interface" : "a capture does not carry it", r->sc[0].p->name,
               (unsigned)bl_proto_bitrate(r->sc[0].p));
    else
        printf("bitrate     unknown\n");
    for (unsigned i = 0; i < d->nprobes; i++)
        printf("  %7u bit/s: %s%s\n", (unsigned)d->probes[i].bitrate, d->probes[i].why,
               d->probes[i].clean ? "  <- clean" : "");
    if (d->std || d->ext)
        printf("id length   %s (%llu 11-bit, %llu 29-bit frames)\n",
               d->std && d->ext ? "mixed" : d->ext ? "29-bit" : "11-bit", (unsigned long long)d->std,
               (unsigned long long)d->ext);
    if (r->nsc == 0) {
        printf("protocol    none known: no table decodes this traffic\n");
    } else {
        const bl_detect_score_t *b = &r->sc[0];
        printf("protocol    %s (confidence %s): %u of %u frames decode, %u of its %u message ids seen\n",
               b->p->name, r->confidence, b->decoded, b->frames, b->ids, r->ids_total);
        if (r->any_variant_tie) {
            printf("            variant not determined:");
            for (size_t i = 1; i < r->nsc; i++)
                if (r->tie[i] && bl_proto_root(r->sc[i].p) == bl_proto_root(b->p))
                    printf(" %s", r->sc[i].p->name);
            printf(" fit the traffic as well\n");
        }
        if (r->any_family_tie) {
            printf("            ambiguous:");
            for (size_t i = 1; i < r->nsc; i++)
                if (r->tie[i] && bl_proto_root(r->sc[i].p) != bl_proto_root(b->p))
                    printf(" %s", r->sc[i].p->name);
            printf(" decode this traffic exactly as well (same frame layout)\n");
        }
        for (size_t i = 1; i < r->nsc && i < 5; i++)
            if (!r->tie[i] && bl_proto_root(r->sc[i].p) != bl_proto_root(b->p))
                printf("  also      %s: %u of %u frames decode\n", r->sc[i].p->name, r->sc[i].decoded, r->sc[i].frames);
    }
    printf("talking     %s\n", talking_text(r));
    side_ids(r, BL_DIR_B2I, ids, sizeof ids);
    if (r->bat_frames)
        printf("  battery   %llu frames, ids %s, every %u ms\n", (unsigned long long)r->bat_frames, ids,
               (unsigned)r->bat_period_ms);
    side_ids(r, BL_DIR_I2B, ids, sizeof ids);
    if (r->inv_frames)
        printf("  inverter  %llu frames, ids %s, every %u ms\n", (unsigned long long)r->inv_frames, ids,
               (unsigned)r->inv_period_ms);
    side_ids(r, -1, ids, sizeof ids);
    if (r->nsc > 0 && r->unknown_frames)
        printf("  other     %llu frames, ids %s (not in %s)\n", (unsigned long long)r->unknown_frames, ids,
               r->sc[0].p->name);
    if (d->bus_state != BL_CANST_UNKNOWN || d->err_frames)
        printf("bus         %s, %llu error frames\n", bl_bus_state_str(d->bus_state), (unsigned long long)d->err_frames);
}

static void json_side(bl_out_t *o, const char *k, const result_t *r, int dir, uint64_t frames, uint32_t period)
{
    j_key(o, k);
    j_obj(o);
    j_kint(o, "frames", (int64_t)frames);
    j_key(o, "ids");
    j_arr(o);
    for (unsigned i = 0; i < r->nids; i++)
        if (r->ids[i].dir == dir) {
            char id[16];
            id_text(r->ids[i].key, id, sizeof id);
            j_str_el(o, id);
        }
    j_end_arr(o);
    if (period)
        j_kint(o, "period_ms", period);
    else
        j_knull(o, "period_ms");
    j_end_obj(o);
}

static void print_json(det_t *d, const result_t *r)
{
    bl_out_t *o = &d->out;
    o->first = true;
    j_obj(o);
    j_kstr(o, "source", d->uri);
    j_kint(o, "frames", (int64_t)d->n);
    j_kint(o, "error_frames", (int64_t)d->err_frames);
    j_kint(o, "malformed", (int64_t)d->bad);
    j_kstr(o, "bus_state", bl_bus_state_str(d->bus_state));
    if (d->bitrate)
        j_kint(o, "bitrate", d->bitrate);
    else
        j_knull(o, "bitrate");
    j_kstr(o, "bitrate_source", d->bitrate ? d->bitrate_source : "unknown");
    if (r->nsc > 0 && bl_proto_bitrate(r->sc[0].p))
        j_kint(o, "bitrate_expected", bl_proto_bitrate(r->sc[0].p));
    j_key(o, "bitrate_probes");
    j_arr(o);
    for (unsigned i = 0; i < d->nprobes; i++) {
        j_sep(o);
        o->first = true;
        j_obj(o);
        j_kint(o, "bitrate", d->probes[i].bitrate);
        j_kint(o, "frames", (int64_t)d->probes[i].frames);
        j_kint(o, "malformed", (int64_t)d->probes[i].bad);
        j_kbool(o, "bus_errors", d->probes[i].bus_errors);
        j_kbool(o, "clean", d->probes[i].clean);
        j_kstr(o, "evidence", d->probes[i].why);
        j_end_obj(o);
    }
    j_end_arr(o);
    if (d->std || d->ext)
        j_kint(o, "id_bits", d->std && d->ext ? 0 : d->ext ? 29 : 11);
    else
        j_knull(o, "id_bits");
    j_key(o, "id_counts");
    j_obj(o);
    j_kint(o, "11", (int64_t)d->std);
    j_kint(o, "29", (int64_t)d->ext);
    j_end_obj(o);
    j_kstr(o, "protocol", r->nsc ? r->sc[0].p->name : NULL);
    j_kstr(o, "confidence", r->nsc ? r->confidence : NULL);
    j_key(o, "variant_undetermined"); /* the winner and its variants that fit as well */
    j_arr(o);
    for (size_t i = 0; r->any_variant_tie && i < r->nsc; i++)
        if (i == 0 || (r->tie[i] && bl_proto_root(r->sc[i].p) == bl_proto_root(r->sc[0].p)))
            j_str_el(o, r->sc[i].p->name);
    j_end_arr(o);
    j_key(o, "equally_fit"); /* every protocol that decodes the traffic exactly as well as the winner */
    j_arr(o);
    for (size_t i = 0; (r->any_variant_tie || r->any_family_tie) && i < r->nsc; i++)
        if (i == 0 || r->tie[i])
            j_str_el(o, r->sc[i].p->name);
    j_end_arr(o);
    j_key(o, "protocols");
    j_arr(o);
    for (size_t i = 0; i < r->nsc; i++) {
        char ev[160];
        j_sep(o);
        o->first = true;
        j_obj(o);
        j_kstr(o, "name", r->sc[i].p->name);
        j_kint(o, "frames", r->sc[i].frames);
        j_kint(o, "known", r->sc[i].known);
        j_kint(o, "decoded", r->sc[i].decoded);
        j_kint(o, "rejected", r->sc[i].rejected);
        j_kint(o, "ids_seen", r->sc[i].ids);
        snprintf(ev, sizeof ev, "%u of %u frames decode, %u rejected, %u of its ids seen", r->sc[i].decoded,
                 r->sc[i].frames, r->sc[i].rejected, r->sc[i].ids);
        j_kstr(o, "evidence", ev);
        j_end_obj(o);
    }
    j_end_arr(o);
    j_kstr(o, "talking", r->talking);
    j_kstr(o, "talking_evidence", talking_text(r));
    json_side(o, "battery", r, BL_DIR_B2I, r->bat_frames, r->bat_period_ms);
    json_side(o, "inverter", r, BL_DIR_I2B, r->inv_frames, r->inv_period_ms);
    json_side(o, "other", r, -1, r->unknown_frames, 0);
    j_end_obj(o);
    out_ch(o, '\n');
    out_flush(o);
}

/* ---- RS485 byte captures ---- */

static const char *rs_talking(const cli_rs485_detection_t *r)
{
    if (r->requests && r->answers)
        return "both";
    return r->requests ? "inverter" : "battery";
}

/* An RS485 capture: framing, protocol and dialect, who talks. Exit 0 named, 3 nothing found. */
static int detect_rs485(det_t *d)
{
    cli_rs485_detection_t r;
    char *src = (char *)d->uri;
    const char *conf;
    char ev[200], talk[160];
    bl_out_t *o = &d->out;

    if (cli_rs485_detect(1, &src, &r) <= 0) {
        cli_err("%s: no CAN frames and no RS485 frame (Pylontech ASCII, Daly, JBD, JK) with a good checksum "
                "in the first 200 lines", d->uri);
        return BL_EXIT_IO;
    }
    conf = r.frames >= 10 && r.frames * 10 >= r.lines * 9 ? "high" : r.frames >= 3 ? "medium" : "low";
    snprintf(ev, sizeof ev, "%u of %u byte lines frame with good %s length and checksum", r.frames, r.lines,
             r.framing);
    snprintf(talk, sizeof talk, "%u host requests (inverter polling), %u battery answers", r.requests, r.answers);
    if (d->json) {
        o->first = true;
        j_obj(o);
        j_kstr(o, "source", d->uri);
        j_kstr(o, "bus", bl_bus_str(bl_proto_root(r.p)->bus));
        j_kstr(o, "framing", r.framing);
        j_kint(o, "frames", r.frames);
        j_kint(o, "lines", r.lines);
        j_kstr(o, "protocol", r.p->name);
        j_kstr(o, "confidence", conf);
        j_kstr(o, "evidence", ev);
        j_kstr(o, "dialect_note", r.dialect_note);
        j_knull(o, "bitrate");
        j_knull(o, "id_bits");
        j_kint(o, "baud", bl_proto_baud(r.p));
        j_kstr(o, "baud_source", "protocol (a byte capture does not record the line speed)");
        j_kstr(o, "serial", bl_proto_serial(r.p));
        j_kstr(o, "talking", rs_talking(&r));
        j_kstr(o, "talking_evidence", talk);
        j_kint(o, "requests", r.requests);
        j_kint(o, "answers", r.answers);
        j_end_obj(o);
        out_ch(o, '\n');
    } else {
        out_printf(o, "protocol:    %s (confidence %s: %s)\n", r.p->name, conf, ev);
        if (r.dialect_note)
            out_printf(o, "             %s\n", r.dialect_note);
        out_printf(o, "bus:         %s, %s framing\n", bl_bus_str(bl_proto_root(r.p)->bus), r.framing);
        out_printf(o, "serial:      %s (the protocol's setting; a byte capture does not record the baud)\n",
                   bl_proto_serial(r.p) ? bl_proto_serial(r.p) : "-");
        out_printf(o, "talking:     %s: %s\n", rs_talking(&r), talk);
    }
    out_flush(o);
    return BL_EXIT_OK;
}

/* ---- the verb ---- */

enum { OPT_JSON = 256, OPT_DURATION, OPT_PROBE, OPT_ALL, OPT_RECORD, OPT_FORMAT };

static int parse_args(det_t *d, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, 0, OPT_JSON }, { "duration", required_argument, 0, OPT_DURATION },
        { "count", required_argument, 0, 'n' }, { "probe", required_argument, 0, OPT_PROBE },
        { "all-bitrates", no_argument, 0, OPT_ALL }, { "record", required_argument, 0, OPT_RECORD },
        { "format", required_argument, 0, OPT_FORMAT },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    int ch;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_JSON: d->json = true; break;
        case OPT_ALL: d->all_bitrates = true; break;
        case OPT_RECORD: d->record_path = optarg; break;
        case OPT_FORMAT:
            d->fmt = bl_capfmt_by_name(optarg);
            if (d->fmt == BL_FMT_COUNT)
                return cli_usage_err(usage, "detect", "unknown --format '%s' (candump, log, asc, trc, gvret, pcap, pcapng, hex485)",
                                     optarg);
            break;
        case OPT_DURATION:
            if (!cli_parse_duration(optarg, &d->duration_ms) || d->duration_ms == 0)
                return cli_usage_err(usage, "detect", "bad --duration '%s' (e.g. 500ms, 5s, 1m)", optarg);
            break;
        case OPT_PROBE:
            if (!cli_parse_duration(optarg, &d->probe_ms) || d->probe_ms == 0)
                return cli_usage_err(usage, "detect", "bad --probe '%s' (e.g. 500ms, 2s)", optarg);
            break;
        case 'n':
            if (!cli_parse_count(optarg, &d->count) || d->count == 0)
                return cli_usage_err(usage, "detect", "bad --count '%s'", optarg);
            break;
        case 'h': return -1;
        default: return cli_usage_err(usage, "detect", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_err(usage, "detect", "no SOURCE (a capture file, -, socketcan:IFACE, slcan:DEV)");
    if (argc - optind > 1)
        return cli_usage_err(usage, "detect", "one SOURCE at a time ('%s' is extra)", argv[optind + 1]);
    d->uri = argv[optind];
    return 0;
}

static int run(det_t *d)
{
    bl_slcan_cfg_t scfg;
    const char *why;
    bl_transport_t t;
    int rc;

    if (strcmp(bl_transport_scheme(d->uri), "slcan") == 0 && bl_slcan_parse(d->uri + 6, &scfg, &why) == 0 &&
        !scfg.bitrate_given) {
        d->live = true;
        live_signals();
        return probe_slcan(d, &scfg);
    }
    if ((rc = live_open(&t, d->uri, d->fmt, d->rec)) != 0)
        return rc;
    d->live = t.live;
    if (t.live) {
        live_signals();
        if (!d->json)
            fprintf(stderr, "bmslink: detect: listening for %.1f s\n", (double)d->duration_ms / 1000.0);
    } else {
        t.notify = NULL;
    }
    if (t.bitrate) { /* what the URI set (slcan) or the controller runs at (socketcan) */
        d->bitrate = t.bitrate;
        d->bitrate_source = strcmp(t.kind, "socketcan") == 0 ? "interface" : "uri";
    }
    rc = collect(d, &t, d->duration_ms, NULL);
    bl_transport_close(&t);
    return rc;
}

int verb_detect(int argc, char **argv)
{
    det_t *d = calloc(1, sizeof *d);
    result_t *r = calloc(1, sizeof *r);
    int rc;

    if (d == NULL || r == NULL) {
        free(d);
        free(r);
        cli_err("detect: out of memory");
        return BL_EXIT_IO;
    }
    d->duration_ms = 5000;
    d->probe_ms = 2000;
    d->bitrate_source = "unknown";
    rc = parse_args(d, argc, argv);
    if (rc == -1) {
        rc = cli_help(usage);
        goto out;
    }
    if (rc != 0)
        goto out;
    d->cap = d->count ? d->count : MAX_FRAMES_DEFAULT;
    if ((d->frames = malloc(d->cap * sizeof *d->frames)) == NULL) {
        cli_err("detect: out of memory for %zu frames", d->cap);
        rc = BL_EXIT_IO;
        goto out;
    }
    out_init(&d->out, stdout);
    if (d->fmt == BL_FMT_HEX485 ||
        (d->fmt == BL_FMT_AUTO && strchr(d->uri, ':') == NULL && cli_rs485_sniff(d->uri))) {
        rc = detect_rs485(d);
        goto out;
    }
    if ((rc = live_record_open(d->record_path, &d->rec)) != 0)
        goto out;
    rc = run(d);
    if (live_record_close(d->rec) != 0 && rc == BL_EXIT_OK)
        rc = BL_EXIT_IO;
    if (rc != 0)
        goto out;
    if (d->n == 0 && d->err_frames == 0 && !d->live && d->bad > 0) {
        rc = detect_rs485(d); /* not a CAN capture: perhaps RS485 bytes */
        goto out;
    }
    analyse(d, r);
    if (d->json)
        print_json(d, r);
    else
        print_text(d, r);
    if (d->n == 0 && d->err_frames == 0) {
        cli_err("%s: no CAN frames%s", d->uri,
                d->live ? " arrived (bus idle, wrong bitrate or not connected?)"
                : d->bad ? ": no line is a candump, candump -L or ASC frame"
                         : " (empty capture?)");
        rc = BL_EXIT_IO;
    } else if (r->nsc == 0) {
        rc = BL_EXIT_FAIL; /* frames, but no protocol: scripts can tell */
    }
out:
    free(d->frames);
    free(d);
    free(r);
    return rc;
}
