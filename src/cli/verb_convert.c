/* bmslink convert IN OUT: a capture from any format bmslink reads into any it writes. */
#include "bmslink/transport.h"
#include "cli.h"
#include "live.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: bmslink convert IN OUT [--format F] [options]\n"
    "  Convert a CAN capture between formats. IN is read in any format bmslink reads (detected;\n"
    "  --in-format forces it) or from a live bus; OUT's format comes from its extension or --format.\n"
    "  formats (OUT extension, --format name):\n"
    "    .log      log, candump   candump -L: \"(1700000000.123456) can0 351#1402...\"\n"
    "    .asc      asc            Vector ASC\n"
    "    .trc      trc            PEAK PCAN-View TRC 2.1 (trc-2.0, trc-1.1 for older readers)\n"
    "    .csv      gvret, csv     SavvyCAN / GVRET CSV\n"
    "    .pcap     pcap           libpcap, LINKTYPE_CAN_SOCKETCAN (Wireshark, tshark, tcpdump)\n"
    "    .pcapng   pcapng         pcapng, one interface per bus\n"
    "  What OUT's format cannot hold is said on stderr with the number of frames concerned: bus\n"
    "  names, Rx/Tx, CAN FD marks and flags, remote and error frames, time resolution.\n"
    "      --format F       output format (see above; --to F is the same); OUT - writes to stdout\n"
    "      --in-format F    force IN's format: candump, log, asc, trc, gvret, pcap, pcapng\n"
    "  -n, --count N        stop after N frames\n"
    "      --duration D     live IN: stop after D (500ms, 90s, 15m, 24h)\n"
    "  -q, --quiet          do not list malformed input lines (they are still counted)\n"
    "examples:\n"
    "  bmslink convert field.trc field.pcapng && tshark -r field.pcapng\n"
    "  bmslink convert capture.pcap - --format log | canplayer\n"
    "  bmslink convert --count 1000 socketcan:can0 bench.asc\n"
    "exit: 0 converted, 2 usage, 3 IN unreadable or without frames, or OUT not written.\n";

#define MSG_LIMIT 20

typedef struct {
    const char *in, *out;
    unsigned in_fmt, out_fmt, out_ver;
    uint64_t count, duration_ms;
    bool quiet;
} conv_t;

/* "trc-1.1" and friends, besides the reader's names */
static bool out_format(const char *name, unsigned *fmt, unsigned *ver)
{
    static const struct {
        const char *name;
        unsigned fmt, ver;
    } w[] = { { "log", BL_FMT_CANDUMP_LOG, 0 }, { "candump", BL_FMT_CANDUMP_LOG, 0 }, { "candump-log", BL_FMT_CANDUMP_LOG, 0 },
              { "asc", BL_FMT_ASC, 0 },         { "trc", BL_FMT_TRC, 21 },            { "trc-2.1", BL_FMT_TRC, 21 },
              { "trc-2.0", BL_FMT_TRC, 20 },    { "trc-1.1", BL_FMT_TRC, 11 },        { "gvret", BL_FMT_GVRET, 0 },
              { "csv", BL_FMT_GVRET, 0 },       { "savvycan", BL_FMT_GVRET, 0 },      { "pcap", BL_FMT_PCAP, 0 },
              { "pcapng", BL_FMT_PCAPNG, 0 } };
    for (size_t i = 0; i < BL_ARRAY_LEN(w); i++)
        if (strcmp(name, w[i].name) == 0) {
            *fmt = w[i].fmt;
            *ver = w[i].ver;
            return true;
        }
    return false;
}

static const char *fmt_label(unsigned fmt, unsigned ver)
{
    if (fmt == BL_FMT_TRC)
        return ver == 11 ? "TRC 1.1" : ver == 20 ? "TRC 2.0" : "TRC 2.1";
    switch (fmt) {
    case BL_FMT_CANDUMP_LOG: return "candump -L";
    case BL_FMT_ASC: return "ASC";
    case BL_FMT_GVRET: return "GVRET CSV";
    case BL_FMT_PCAP: return "pcap";
    case BL_FMT_PCAPNG: return "pcapng";
    default: return bl_capfmt_str(fmt);
    }
}

/* What the output could not hold, one note per kind, with the frames concerned. */
static void print_losses(const conv_t *c, const bl_capw_t *w)
{
    const bl_capw_loss_t *l = &w->loss;
    const char *f = fmt_label(c->out_fmt, c->out_ver);

    if (l->bus_renamed) {
        fprintf(stderr, "bmslink: convert: %s cannot hold these bus names (%llu frames):", f,
                (unsigned long long)l->bus_renamed);
        for (unsigned i = 0; i < w->nbus; i++) {
            char back[BL_BUS_NAME_MAX];
            bl_capw_bus_readback(w, i, back, sizeof back);
            if (strcmp(back, w->bus[i]) != 0)
                fprintf(stderr, " %s reads back as %s;", w->bus[i], back);
        }
        if (w->nbus == BL_CAPW_MAX_BUS)
            fprintf(stderr, " buses past the %u-th share it;", BL_CAPW_MAX_BUS);
        fputc('\n', stderr);
    }
    if (l->dir_lost)
        fprintf(stderr, "bmslink: convert: %s has no Rx/Tx: %llu transmitted frames read back as received\n", f,
                (unsigned long long)l->dir_lost);
    if (l->fd_as_classic)
        fprintf(stderr, "bmslink: convert: %s marks CAN FD only by a length over 8: %llu CAN FD frames of 8 "
                        "bytes or less read back as classic CAN\n", f, (unsigned long long)l->fd_as_classic);
    if (l->fd_flags_lost)
        fprintf(stderr, "bmslink: convert: %s has no CAN FD flags: bit rate switch / error state of %llu frames "
                        "not kept\n", f, (unsigned long long)l->fd_flags_lost);
    if (l->dropped_fd)
        fprintf(stderr, "bmslink: convert: %s cannot hold CAN FD: %llu frames not written\n", f,
                (unsigned long long)l->dropped_fd);
    if (l->dropped_rtr)
        fprintf(stderr, "bmslink: convert: %s cannot hold remote frames: %llu not written\n", f,
                (unsigned long long)l->dropped_rtr);
    if (l->dropped_err)
        fprintf(stderr, "bmslink: convert: %s cannot hold these error frames: %llu not written\n", f,
                (unsigned long long)l->dropped_err);
    if (l->err_reduced)
        fprintf(stderr, "bmslink: convert: %s keeps less of an error frame than SocketCAN (%s): %llu error "
                        "frames simplified\n", f,
                c->out_fmt == BL_FMT_ASC ? "only that one came" : "the bus state, or the error type and counters",
                (unsigned long long)l->err_reduced);
    if (l->ts_rounded)
        fprintf(stderr, "bmslink: convert: %s keeps time to 0.1 ms: %llu timestamps rounded\n", f,
                (unsigned long long)l->ts_rounded);
    if (l->ts_backwards)
        fprintf(stderr, "bmslink: convert: %s counts time from the first frame: %llu earlier frames written at "
                        "its time\n", f, (unsigned long long)l->ts_backwards);
    if (l->no_ts)
        fprintf(stderr, "bmslink: convert: %llu frames had no timestamp: written at the previous frame's time\n",
                (unsigned long long)l->no_ts);
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
        return false;
    if (strncmp(a, "file:", 5) == 0)
        a += 5;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int convert(const conv_t *c)
{
    bl_transport_t t;
    bl_recorder_t *rec;
    char err[320], where[300];
    uint64_t frames = 0, written, bad = 0, start = bl_clock_mono_ms();
    unsigned shown = 0;
    int rc, out_rc = BL_EXIT_OK;

    if ((rc = live_open(&t, c->in, c->in_fmt, NULL)) != 0)
        return rc;
    if (!t.live)
        t.notify = NULL;
    else
        live_signals();
    rec = bl_recorder_open_fmt(c->out, c->out_fmt, c->out_ver, t.live ? 0u : BL_REC_CAPTURE_TIME, err, sizeof err);
    if (rec == NULL) {
        cli_err("convert: %s: cannot write: %s", c->out, err);
        bl_transport_close(&t);
        return BL_EXIT_IO;
    }
    for (;;) {
        bl_cap_frame_t f;
        bl_line_err_t le;
        if (t.live && (live_stopped() || (c->duration_ms && bl_clock_mono_ms() - start >= c->duration_ms)))
            break;
        rc = bl_transport_read(&t, &f, t.live ? 200 : -1, &le);
        if (rc == 0)
            continue;
        if (rc == BL_ENOENT)
            break;
        if (rc == BL_EBADMSG) {
            bad++;
            if (!c->quiet && shown++ < MSG_LIMIT) {
                if (le.col)
                    cli_err("%s: %s (column %u)", bl_transport_where(&t, where, sizeof where), le.what, le.col);
                else
                    cli_err("%s: %s", bl_transport_where(&t, where, sizeof where), le.what);
            }
            continue;
        }
        if (rc < 0) {
            cli_err("%s: %s", bl_transport_where(&t, where, sizeof where), t.err[0] ? t.err : bl_strerror(rc));
            out_rc = BL_EXIT_IO;
            break;
        }
        bl_recorder_add(rec, &f);
        if (++frames == c->count && c->count)
            break;
    }
    if (shown > MSG_LIMIT)
        cli_err("%s: %u more malformed items not listed", c->in, shown - MSG_LIMIT);
    print_losses(c, bl_recorder_writer(rec));
    written = bl_recorder_writer(rec)->n;
    if (t.live && (live_stopped() || !c->quiet))
        live_print_stats(stderr, &t);
    bl_transport_close(&t);
    if (bl_recorder_close(rec, err, sizeof err) < 0) {
        cli_err("convert: %s", err);
        return BL_EXIT_IO;
    }
    if (frames == 0 && out_rc == BL_EXIT_OK) {
        cli_err("convert: %s: no CAN frames%s", c->in, bad ? " (every item was malformed)" : "");
        return BL_EXIT_IO;
    }
    if (!c->quiet) {
        fprintf(stderr, "bmslink: convert: %s -> %s (%s): %llu frames read, %llu written", c->in, c->out,
                fmt_label(c->out_fmt, c->out_ver), (unsigned long long)frames, (unsigned long long)written);
        if (bad)
            fprintf(stderr, ", %llu malformed items skipped", (unsigned long long)bad);
        fputc('\n', stderr);
    }
    return out_rc;
}

enum { OPT_FORMAT = 256, OPT_IN_FORMAT, OPT_DURATION };

int verb_convert(int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, 0, OPT_FORMAT }, { "in-format", required_argument, 0, OPT_IN_FORMAT },
        { "to", required_argument, 0, OPT_FORMAT }, /* issue #12's spelling */
        { "count", required_argument, 0, 'n' },         { "duration", required_argument, 0, OPT_DURATION },
        { "quiet", no_argument, 0, 'q' },               { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 } };
    conv_t c;
    const char *fmt_name = NULL;
    int ch;

    memset(&c, 0, sizeof c);
    c.out_fmt = BL_FMT_COUNT;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "n:qh", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_FORMAT:
            fmt_name = optarg;
            if (!out_format(optarg, &c.out_fmt, &c.out_ver))
                return cli_usage_err(usage, "convert", "unknown --format '%s' (log, asc, trc, trc-2.0, trc-1.1, "
                                                       "gvret, pcap, pcapng)", optarg);
            break;
        case OPT_IN_FORMAT:
            c.in_fmt = bl_capfmt_by_name(optarg);
            if (c.in_fmt == BL_FMT_COUNT || c.in_fmt == BL_FMT_HEX485)
                return cli_usage_err(usage, "convert", "unknown --in-format '%s' (candump, log, asc, trc, gvret, "
                                                       "pcap, pcapng)", optarg);
            break;
        case 'n':
            if (!cli_parse_count(optarg, &c.count))
                return cli_usage_err(usage, "convert", "bad --count '%s'", optarg);
            break;
        case OPT_DURATION:
            if (!cli_parse_duration(optarg, &c.duration_ms))
                return cli_usage_err(usage, "convert", "bad --duration '%s' (e.g. 500ms, 90s, 15m, 24h)", optarg);
            break;
        case 'q':
            c.quiet = true;
            break;
        case 'h':
            return cli_help(usage);
        default:
            return cli_usage_err(usage, "convert", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage_err(usage, "convert", argc - optind < 2 ? "expected IN and OUT" : "expected only IN and OUT");
    c.in = argv[optind];
    c.out = argv[optind + 1];
    if (fmt_name == NULL) {
        c.out_fmt = bl_capfmt_by_ext(c.out, &c.out_ver);
        if (c.out_fmt == BL_FMT_COUNT)
            return cli_usage_err(usage, "convert", "%s: say the output format with --format (or use an extension: "
                                                   ".log .asc .trc .csv .pcap .pcapng)", c.out);
    }
    if (strcmp(bl_transport_scheme(c.out), "file") != 0 || strncmp(c.out, "file:", 5) == 0) {
        if (strncmp(c.out, "file:", 5) == 0)
            c.out += 5;
        else
            return cli_usage_err(usage, "convert", "%s: OUT is a file (to play a capture onto a bus: bmslink replay)",
                                 c.out);
    }
    if (same_file(c.in, c.out))
        return cli_usage_err(usage, "convert", "IN and OUT are the same file");
    return convert(&c);
}
