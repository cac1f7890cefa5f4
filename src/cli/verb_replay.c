/* bmslink replay FILE --on URI: a capture onto a real or virtual bus with its timing. */
#include "bmslink/transport.h"
#include "cli.h"
#include "live.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink replay FILE --on URI [--speed X] [--loop] [--count N] [options]\n"
    "  Play a capture onto a bus with the timing it was recorded with, as canplayer does, to bring a\n"
    "  field fault to the bench. FILE is any capture bmslink reads (candump -L, candump, ASC, TRC,\n"
    "  GVRET CSV, pcap, pcapng; - is stdin); URI a bus: socketcan:IFACE, slcan:DEV[@BITRATE], virtual:NAME.\n"
    "      --on URI         the bus to play onto\n"
    "      --speed X        2 plays twice as fast, 0.5 at half speed; 0 or max: as fast as the bus takes them\n"
    "      --loop           start over at the end (the first frame follows the last after the mean gap)\n"
    "  -n, --count N        stop after N frames sent\n"
    "      --bus NAME       only the frames the capture has on bus NAME (captures of several buses)\n"
    "      --max-gap D      cut silences longer than D (e.g. 2s) in the capture to D\n"
    "      --errors         also send the capture's error frames (only virtual: buses can deliver them)\n"
    "      --format F       force FILE's format: candump, log, asc, trc, gvret, pcap, pcapng\n"
    "      --record FILE    also log what was sent (format from the extension, else candump -L)\n"
    "  -q, --quiet          no summary on stderr\n"
    "  At the end (or on Ctrl-C) stderr gets what was sent and how late frames left against their due\n"
    "  time (p50, p99, max).\n"
    "examples:\n"
    "  bmslink replay field.trc --on slcan:/dev/ttyACM0@500000\n"
    "  bmslink replay --speed max --loop --count 100000 capture.pcapng --on socketcan:vcan0\n"
    "exit: 0 played (or stopped), 2 usage, 3 FILE unreadable or the bus went away.\n";

#define MSG_LIMIT 20

static unsigned shown_bad;

static void on_bad(void *user, const bl_transport_t *in, const bl_line_err_t *e)
{
    char where[300];
    (void)user;
    if (shown_bad++ >= MSG_LIMIT)
        return;
    if (e->col)
        cli_err("%s: %s (column %u)", bl_transport_where(in, where, sizeof where), e->what, e->col);
    else
        cli_err("%s: %s", bl_transport_where(in, where, sizeof where), e->what);
}

static bool stop_asked(void)
{
    return live_stopped();
}

/* "2", "0.5", "1x", "0", "max" */
static bool parse_speed(const char *s, double *v)
{
    char *end;
    if (strcmp(s, "max") == 0) {
        *v = 0;
        return true;
    }
    *v = strtod(s, &end);
    if (end == s || (*end != '\0' && strcmp(end, "x") != 0))
        return false;
    return isfinite(*v) && *v >= 0 && *v <= 1e6;
}

static void summary(const char *file, const char *uri, const bl_replay_opts_t *o, const bl_replay_stats_t *st)
{
    fprintf(stderr, "bmslink: replay: %llu frames sent to %s", (unsigned long long)st->sent, uri);
    if (st->passes > 1)
        fprintf(stderr, " (%llu passes of %s)", (unsigned long long)st->passes, file);
    fprintf(stderr, " in %.3f s; the capture spans %.3f s", (double)st->wall_ns / 1e9, (double)st->span_us / 1e6);
    if (o->speed > 0 && o->speed != 1)
        fprintf(stderr, " (%.3f s at speed %g)", (double)st->span_us / 1e6 / o->speed, o->speed);
    if (st->not_sent)
        fprintf(stderr, "; %llu not sent (%s)", (unsigned long long)st->not_sent, st->err);
    if (st->skipped_bus)
        fprintf(stderr, "; %llu of other buses skipped", (unsigned long long)st->skipped_bus);
    if (st->skipped_err)
        fprintf(stderr, "; %llu error frames not sent (--errors sends them)", (unsigned long long)st->skipped_err);
    if (st->bad)
        fprintf(stderr, "; %llu malformed items skipped", (unsigned long long)st->bad);
    if (o->speed > 0 && st->sent > 0)
        fprintf(stderr, "; sent after their due time: p50 %.0f us, p99 %.0f us, max %.0f us",
                (double)bl_replay_late_ns(st, 50) / 1e3, (double)bl_replay_late_ns(st, 99) / 1e3,
                (double)st->late_max_ns / 1e3);
    fputc('\n', stderr);
}

enum { OPT_ON = 256, OPT_SPEED, OPT_LOOP, OPT_BUS, OPT_MAXGAP, OPT_ERRORS, OPT_FORMAT, OPT_RECORD };

int verb_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        { "on", required_argument, 0, OPT_ON },         { "speed", required_argument, 0, OPT_SPEED },
        { "loop", no_argument, 0, OPT_LOOP },           { "count", required_argument, 0, 'n' },
        { "bus", required_argument, 0, OPT_BUS },       { "max-gap", required_argument, 0, OPT_MAXGAP },
        { "errors", no_argument, 0, OPT_ERRORS },       { "format", required_argument, 0, OPT_FORMAT },
        { "record", required_argument, 0, OPT_RECORD }, { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },                { 0, 0, 0, 0 } };
    bl_replay_opts_t o;
    bl_replay_stats_t *st;
    bl_transport_t out;
    bl_recorder_t *rec = NULL;
    const char *on = NULL, *record = NULL, *file;
    unsigned fmt = BL_FMT_AUTO;
    uint64_t gap_ms = 0;
    bool quiet = false;
    char err[256];
    int ch, rc;

    memset(&o, 0, sizeof o);
    o.speed = 1;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "n:qh", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_ON: on = optarg; break;
        case OPT_SPEED:
            if (!parse_speed(optarg, &o.speed))
                return cli_usage_err(usage, "replay", "bad --speed '%s' (a factor such as 2 or 0.5; 0 or max: as "
                                                      "fast as possible)", optarg);
            break;
        case OPT_LOOP: o.loop = true; break;
        case 'n':
            if (!cli_parse_count(optarg, &o.count))
                return cli_usage_err(usage, "replay", "bad --count '%s'", optarg);
            break;
        case OPT_BUS: o.bus = optarg; break;
        case OPT_MAXGAP:
            if (!cli_parse_duration(optarg, &gap_ms) || gap_ms == 0)
                return cli_usage_err(usage, "replay", "bad --max-gap '%s' (e.g. 500ms, 2s)", optarg);
            o.max_gap_us = gap_ms * 1000u;
            break;
        case OPT_ERRORS: o.errors = true; break;
        case OPT_FORMAT:
            fmt = bl_capfmt_by_name(optarg);
            if (fmt == BL_FMT_COUNT || fmt == BL_FMT_HEX485)
                return cli_usage_err(usage, "replay", "unknown --format '%s' (candump, log, asc, trc, gvret, pcap, "
                                                      "pcapng)", optarg);
            break;
        case OPT_RECORD: record = optarg; break;
        case 'q': quiet = true; break;
        case 'h': return cli_help(usage);
        default: return cli_usage_err(usage, "replay", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return cli_usage_err(usage, "replay", argc - optind < 1 ? "no FILE (a capture)" : "one FILE at a time");
    file = argv[optind];
    if (on == NULL)
        return cli_usage_err(usage, "replay", "no --on URI (the bus to play onto)");
    if (strcmp(bl_transport_scheme(on), "file") == 0)
        return cli_usage_err(usage, "replay", "--on %s: a bus URI (socketcan:, slcan:, virtual:); to write a capture "
                                              "file: bmslink convert", on);
    if (strcmp(bl_transport_scheme(file), "file") != 0)
        return cli_usage_err(usage, "replay", "%s: FILE is a capture (to forward a live bus: bmslink bridge)", file);
    if (o.loop && (strcmp(file, "-") == 0 || strcmp(file, "file:-") == 0))
        return cli_usage_err(usage, "replay", "--loop reads the capture again: give a file, not stdin");
    if ((rc = live_record_open(record, &rec)) != 0)
        return rc;
    if ((rc = live_open(&out, on, 0, rec)) != 0) {
        live_record_close(rec);
        return rc;
    }
    st = calloc(1, sizeof *st);
    if (st == NULL) {
        bl_transport_close(&out);
        live_record_close(rec);
        return BL_EXIT_IO;
    }
    live_signals();
    o.stop = stop_asked;
    o.bad = on_bad;
    shown_bad = 0;
    rc = bl_replay(file, fmt, &out, &o, st, err, sizeof err);
    if (shown_bad > MSG_LIMIT)
        cli_err("%s: %u more malformed items not listed", file, shown_bad - MSG_LIMIT);
    if (rc < 0) {
        cli_err("replay: %s", err);
        rc = rc == BL_EINVAL ? BL_EXIT_USAGE : BL_EXIT_IO;
    } else if (st->sent == 0 && st->read == 0 && !live_stopped()) {
        cli_err("replay: %s: no CAN frames", file);
        rc = BL_EXIT_IO;
    } else {
        rc = BL_EXIT_OK;
    }
    if ((!quiet || live_stopped()) && (st->read > 0 || rc == BL_EXIT_OK))
        summary(file, on, &o, st);
    bl_transport_close(&out);
    if (live_record_close(rec) != 0 && rc == BL_EXIT_OK)
        rc = BL_EXIT_IO;
    free(st);
    return rc;
}
