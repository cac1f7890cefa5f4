/*
 * bmslink bridge: the protocol converter box. Packs that speak IN on one or
 * more sources, one battery that speaks OUT to the inverter, through the
 * gateway engine (include/bmslink/gateway.h).
 *
 * Live: every source is polled, frames go to the engine as they arrive, the
 * engine runs whenever it asks to (bl_gw_step's deadline) and right after a
 * frame (answers, early frames); the view is drawn every --interval.
 * Offline (a capture file as --from, a file as --to): the inputs are merged
 * by their timestamps and the engine runs in capture time, so the output log
 * keeps the output protocol's periods through the gaps of the input, and a
 * silent battery shows as what the inverter would really receive.
 */
#include "bmslink/gateway.h"
#include "bmslink/transport.h"
#include "bridge.h"
#include "cli.h"
#include "live.h"
#include "view.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: bmslink bridge --from SRC -P IN_PROTOCOL --to DST -p OUT_PROTOCOL [--pack PROTOCOL=SRC]... [options]\n"
    "  Translate a battery (or several packs in parallel) that speaks IN_PROTOCOL into one battery\n"
    "  that speaks OUT_PROTOCOL to the inverter: periodic messages at OUT's periods, answers to the\n"
    "  inverter's polls and handshakes, the inverter's side played towards packs that wait for one.\n"
    "  Several packs are aggregated (current and capacity sum, SOC by capacity, CVL min, DVL max,\n"
    "  CCL/DCL by --policy, never more than a pack can take given its share, alarms OR). A pack\n"
    "  silent past its protocol's timeout is dropped and the limits shrink; with none left the\n"
    "  inverter gets OUT's safe state (0 A limits, its safe alarms). Nothing older than the input\n"
    "  timeout and nothing that failed decoding is ever sent.\n"
    "  SRC, DST: CAN protocols: socketcan:IFACE, slcan:DEV[@BITRATE], virtual:NAME, - (candump -L on stdin)\n"
    "            RS485 protocols: serial:DEV@BAUD[,8N1][#ADDR] (the pack's address, or ours towards the inverter)\n"
    "            offline: capture FILEs as --from / --pack (candump, ASC; hex485 for RS485), a FILE as --to\n"
    "            (candump -L, or hex485 lines for an RS485 output)\n"
    "  -P, --in-protocol P     protocol of --from\n"
    "  -p, --out-protocol P    protocol the inverter speaks\n"
    "      --pack P=SRC        one more pack (repeat, up to 16 packs), e.g. pylon-lv=slcan:/dev/ttyACM1@500000\n"
    "      --policy NAME       CCL/DCL of several packs: conservative (N x the smallest, default) or sum\n"
    "      --site-limits FILE  cable / fuse limits (YAML, see share/site/example.yaml); clamps are reported\n"
    "      --stale D           pack data older than D is not used (default: each protocol's timeout)\n"
    "      --dry-run           send nothing; print every frame that would be sent, with its meaning\n"
    "      --mqtt URL          publish to mqtt://HOST[:PORT][/PREFIX], with Home Assistant discovery\n"
    "      --mqtt-id NAME      device name in the topics (default bridge)\n"
    "      --json              one JSON object per update (NDJSON) instead of the view\n"
    "      --interval D        time between updates (default 250ms on a terminal, else 1s)\n"
    "      --no-early          keep strictly to OUT's periods (a shrinking limit otherwise leaves at once)\n"
    "      --hold D            wait up to D for every pack before speaking (default 3s)\n"
    "      --address N         battery address in OUT's addressed ids (Pylon HV group)\n"
    "  -n, --count N           stop after N frames received\n"
    "      --duration D        stop after D (500ms, 90s, 15m, 24h; capture time when offline)\n"
    "      --record FILE       log every frame read or written on every bus as candump -L\n"
    "      --format F          force the capture format of --from / --pack files (candump, log, asc)\n"
    "  as a service (docs: README, \"Running the gateway as a service\"):\n"
    "      --config FILE       the options above as YAML (contrib/systemd/bridge.yaml); the command line wins\n"
    "      --watchdog D        the main loop stalled for D: a thread sends OUT's safe state (default 1s; off)\n"
    "      --mqtt-user NAME    MQTT user name; --mqtt-password-file FILE: the password (its first line)\n"
    "      --mqtt-cafile FILE  TLS (mqtts://): trust this CA (else the system's); --mqtt-capath DIR\n"
    "      --mqtt-cert FILE, --mqtt-key FILE  TLS client certificate; --mqtt-insecure: no host name check\n"
    "examples:\n"
    "  bmslink bridge --from slcan:/dev/ttyACM0@500000 -P pylon-lv --to socketcan:can1 -p sma-si\n"
    "  bmslink bridge --from pylon.log -P pylon-lv --to out.log -p sma-si && bmslink decode -p sma-si out.log\n"
    "  bmslink bridge --from serial:/dev/ttyUSB0@9600#2 -P pylon-rs485 --to socketcan:can0 -p victron\n"
    "  bmslink bridge --from socketcan:can0 -P pylon-lv --pack pylon-lv=socketcan:can2 --to socketcan:can1 \\\n"
    "      -p victron --site-limits site.yaml --mqtt mqtt://localhost\n";

#define SLICE_MS 200

/* ---- frames and bytes out ---- */

static void on_tx(void *ctx, unsigned port, const bl_can_frame_t *f, const bl_gw_txinfo_t *info)
{
    br_t *b = ctx;
    bl_cap_frame_t cf;
    br_port_t *p = port == BL_GW_INVERTER ? &b->inv : (port < b->npacks ? &b->pack[port] : NULL);
    int rc;

    memset(&cf, 0, sizeof cf);
    cf.f = *f;
    cf.ts_us = br_ts_us(b, b->gw.now_ms);
    cf.has_ts = 1;
    cf.dir = 'T';
    snprintf(cf.bus, sizeof cf.bus, "%s", p != NULL && p->open && p->kind == PORT_CAN ? p->t.bus : b->sink_bus);
    if (b->dry_run) {
        b->tx_dry++;
        br_print_dry_frame(b, port, &cf, info);
        return;
    }
    if (port == BL_GW_INVERTER && b->sink != NULL) {
        bl_recorder_add(b->sink, &cf);
        b->tx_written++;
        return;
    }
    if (p == NULL || (port != BL_GW_INVERTER && b->offline))
        return; /* offline the packs are recordings: the polls they got are in them */
    if (port == BL_GW_INVERTER)
        br_out_lock(b); /* the watchdog thread writes there too */
    rc = br_port_write_frame(b, p, &cf);
    if (port == BL_GW_INVERTER)
        br_out_unlock(b);
    if (rc == 0) {
        b->tx_written++;
        return;
    }
    b->tx_failed++;
    if (p->t.stats.tx_fail == 0 && !p->write_warned && p->open && !p->down) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: what %s's inverter sends (keep-alives, requests) cannot reach the pack: %s",
                 p->uri, p->p->name, p->t.err[0] ? p->t.err : "a read-only source");
        br_add_event(b, cf.ts_us, BL_GW_EV_COUNT, msg);
        p->write_warned = true;
    }
}

/* hex485 line of the output file: "> " what the battery (we) sent, "< " what the inverter asked */
static void sink485_line(br_t *b, uint64_t ts_us, bool sent, const uint8_t *d, size_t n)
{
    char ts[32];
    br_fmt_ts(ts_us, ts, sizeof ts);
    fprintf(b->sink485, "(%s) %c ", ts, sent ? '>' : '<');
    for (size_t i = 0; i < n; i++)
        fprintf(b->sink485, "%02X%s", d[i], i + 1 < n ? " " : "");
    fputc('\n', b->sink485);
}

static void on_tx_bytes(void *ctx, unsigned port, const uint8_t *d, size_t n, const bl_gw_txinfo_t *info)
{
    br_t *b = ctx;
    br_port_t *p = port == BL_GW_INVERTER ? &b->inv : (port < b->npacks ? &b->pack[port] : NULL);
    uint64_t ts = br_ts_us(b, b->gw.now_ms);

    if (b->dry_run) {
        b->tx_dry++;
        br_print_dry_bytes(b, port, ts, d, n, info);
        return;
    }
    if (port == BL_GW_INVERTER && b->sink485 != NULL) {
        sink485_line(b, ts, info != NULL, d, n); /* offline: the answers, and the polls played */
        b->tx_written++;
        return;
    }
    if (p == NULL || (port != BL_GW_INVERTER && b->offline))
        return;
    if (br_port_write_bytes(b, p, d, n) == 0)
        b->tx_written++;
    else
        b->tx_failed++;
}

/* ---- offline: capture files in capture time ---- */

/* Next frame of a file port into its look-ahead; false at the end. */
static void run_until(br_t *b, uint64_t *next, uint64_t t, uint64_t *next_draw)
{
    bool ticks = b->json || b->mqtt != NULL;
    while (*next <= t || (ticks && *next_draw <= t)) {
        if (ticks && *next_draw <= *next && *next_draw <= t) {
            /* an update in capture time: the record as it stands at that moment */
            uint64_t at = *next_draw;
            if (at > b->gw.now_ms)
                *next = bl_gw_step(&b->gw, at);
            br_draw(b);
            *next_draw = at + b->interval_ms;
            continue;
        }
        *next = bl_gw_step(&b->gw, *next);
    }
}

/* The file whose next item is the earliest; NULL when every one has ended. */
static int earliest_port(br_t *b, unsigned *which)
{
    *which = BL_GW_MAX_PACKS;
    for (unsigned i = 0; i < b->npacks; i++) {
        int rc = br_fetch(&b->pack[i]);
        if (rc != BL_EXIT_OK)
            return rc;
        if (b->pack[i].la_ok && (*which == BL_GW_MAX_PACKS || b->pack[i].la_ts_us < b->pack[*which].la_ts_us))
            *which = i;
    }
    return BL_EXIT_OK;
}

static int run_offline(br_t *b)
{
    uint64_t next = 0, next_draw = 0;
    bool started = false;

    for (;;) {
        unsigned i;
        br_port_t *p;
        uint64_t t;
        int rc = earliest_port(b, &i);
        if (rc != BL_EXIT_OK)
            return rc;
        if (i == BL_GW_MAX_PACKS)
            break;
        p = &b->pack[i];
        t = p->la_ts_us / 1000u;
        if (!started) {
            if (bl_gw_init(&b->gw, &b->cfg, b->packs, b->npacks, t) < 0)
                return BL_EXIT_USAGE;
            b->first_ms = next = t;
            next_draw = t + b->interval_ms;
            started = true;
        }
        if (t < b->gw.now_ms)
            t = b->gw.now_ms; /* files merged out of order by a few us: keep time monotonic */
        if (b->duration_ms && t - b->first_ms > b->duration_ms)
            break;
        run_until(b, &next, t, &next_draw);
        p->la_ok = false;
        p->items++;
        b->rx++;
        if (p->kind == PORT_HEX485)
            (void)bl_gw_rx_bytes(&b->gw, i, p->la_b, p->la_n, t);
        else
            (void)bl_gw_rx(&b->gw, i, &p->la.f, t);
        next = bl_gw_step(&b->gw, t);
        b->last_ms = t;
        if (b->count && b->rx >= b->count)
            break;
    }
    if (!started) {
        cli_err("%s: no %s", b->pack[0].uri, b->pack[0].kind == PORT_HEX485 ? "RS485 bytes" : "CAN frames");
        return BL_EXIT_IO;
    }
    if (b->duration_ms && b->first_ms + b->duration_ms > b->last_ms)
        b->last_ms = b->first_ms + b->duration_ms; /* --duration beyond the input: the silence goes on */
    run_until(b, &next, b->last_ms, &next_draw);
    br_draw(b);
    if (!b->json && !b->dry_run)
        br_summary(b);
    return BL_EXIT_OK;
}

/* ---- live ---- */

/* Test hook (tests/live/bridge_service.py): BMSLINK_TEST_STALL_MS=AFTER:FOR makes the main loop
 * sleep FOR ms once, AFTER ms into the run, as a stalled process would: the watchdog's test. */
static void test_stall(uint64_t start, uint64_t now)
{
    static bool done_once;
    const char *e;
    char *end;
    unsigned long long after, len;
    if (done_once || (e = getenv("BMSLINK_TEST_STALL_MS")) == NULL)
        return;
    after = strtoull(e, &end, 10);
    if (*end != ':')
        return;
    len = strtoull(end + 1, &end, 10);
    if (*end != '\0')
        return;
    if (now - start < after)
        return;
    done_once = true;
    fprintf(stderr, "bmslink: bridge: BMSLINK_TEST_STALL_MS: the main loop sleeps %llu ms\n", len);
    struct timespec ts = { (time_t)(len / 1000u), (long)(len % 1000u) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* After a stall the kernel and adapters hold frames from before it: they are not news. */
static void drop_queued(br_t *b, br_port_t *const *ports, unsigned np)
{
    uint64_t dropped = 0;
    for (unsigned k = 0; k < np; k++) {
        br_port_t *p = ports[k];
        if (!p->open || p->down || p->eof)
            continue;
        if (p == &b->inv)
            br_out_lock(b);
        for (unsigned i = 0; i < 100000; i++) {
            bl_cap_frame_t cf;
            bl_line_err_t le;
            if (p->kind == PORT_SERIAL) {
                uint8_t buf[BR_CHUNK_MAX];
                long got = bl_serial485_read(&p->ser, buf, sizeof buf, 0);
                if (got <= 0)
                    break;
                dropped += (uint64_t)got;
            } else if (p->kind == PORT_CAN) {
                if (bl_transport_read(&p->t, &cf, 0, &le) != 1)
                    break;
                dropped++;
            } else {
                break;
            }
        }
        if (p == &b->inv)
            br_out_unlock(b);
    }
    if (dropped) {
        char msg[160];
        snprintf(msg, sizeof msg, "after the stall: %llu frames (or bytes) queued during it dropped unread",
                 (unsigned long long)dropped);
        br_add_event(b, br_ts_us(b, bl_clock_mono_ms()), BL_GW_EV_COUNT, msg);
    }
}

static bool done(const br_t *b, uint64_t start)
{
    return live_stopped() || (b->count && b->rx >= b->count) ||
           (b->duration_ms && bl_clock_mono_ms() - start >= b->duration_ms);
}

static int run_live(br_t *b)
{
    uint64_t start = bl_clock_mono_ms(), next = start, next_draw = start, sd_every, sd_next = 0;
    br_port_t *ports[BL_GW_MAX_PACKS + 1];
    unsigned id[BL_GW_MAX_PACKS + 1], np = 0;

    for (unsigned i = 0; i < b->npacks; i++) {
        ports[np] = &b->pack[i];
        id[np++] = i;
    }
    if (b->inv.open) {
        ports[np] = &b->inv;
        id[np++] = BL_GW_INVERTER;
    }
    b->wall_off_us = (int64_t)bl_clock_wall_us() - (int64_t)(start * 1000u);
    if (bl_gw_init(&b->gw, &b->cfg, b->packs, b->npacks, start) < 0)
        return BL_EXIT_USAGE;
    live_signals();
    if (b->tty && !b->json && !b->dry_run)
        out_str(&b->out, "\033[?25l\033[2J");
    if (br_wd_start(b) != BL_EXIT_OK)
        return BL_EXIT_IO;
    sd_every = br_sd_watchdog_ms();
    br_sd_notify("READY=1\nSTATUS=bridging");
    while (!done(b, start)) {
        struct pollfd pfd[BL_GW_MAX_PACKS + 1];
        unsigned map[BL_GW_MAX_PACKS + 1], nfd = 0;
        uint64_t now = bl_clock_mono_ms(), wait;
        bool got = false, inputs_left = false;

        test_stall(start, now);
        now = bl_clock_mono_ms();
        if (!br_wd_alive(b, now))
            drop_queued(b, ports, np);
        if (sd_every && now >= sd_next) { /* systemd's watchdog: only while this loop turns */
            br_sd_notify("WATCHDOG=1");
            sd_next = now + sd_every;
        }
        if (now >= next || b->kick) {
            b->kick = false;
            next = bl_gw_step(&b->gw, now);
        }
        if (now >= next_draw) {
            br_draw(b);
            next_draw = now + b->interval_ms;
        }
        for (unsigned k = 0; k < np; k++) {
            br_port_t *p = ports[k];
            int fd;
            if (p->eof)
                continue;
            if (id[k] != BL_GW_INVERTER)
                inputs_left = true;
            if (p->down) {
                if (id[k] == BL_GW_INVERTER)
                    br_out_lock(b);
                br_reopen(b, p, now);
                if (id[k] == BL_GW_INVERTER)
                    br_out_unlock(b);
                continue;
            }
            if ((fd = br_port_fd(p)) >= 0) {
                pfd[nfd].fd = fd;
                pfd[nfd].events = POLLIN;
                map[nfd++] = k;
            }
        }
        if (!inputs_left)
            break; /* every pack source ended (pipes closed) */
        wait = next > now ? next - now : 0;
        if (next_draw > now && next_draw - now < wait)
            wait = next_draw - now;
        if (wait > SLICE_MS)
            wait = SLICE_MS;
        if (b->watchdog_ms && wait > b->watchdog_ms / 4u)
            wait = b->watchdog_ms / 4u; /* the watchdog must see this loop turn */
        if (sd_every && wait > sd_every)
            wait = sd_every;
        for (unsigned k = 0; k < np; k++)
            if (ports[k]->down && !ports[k]->eof && ports[k]->next_reopen > now && ports[k]->next_reopen - now < wait)
                wait = ports[k]->next_reopen - now; /* the backoff's next attempt */
        if (poll(pfd, nfd, (int)wait) > 0)
            for (unsigned i = 0; i < nfd; i++)
                if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                    bool out = id[map[i]] == BL_GW_INVERTER;
                    if (out)
                        br_out_lock(b);
                    got = br_drain(b, ports[map[i]], id[map[i]]) > 0 || got;
                    if (out)
                        br_out_unlock(b);
                }
        if (got) /* answers and early frames now, not at the next deadline */
            next = bl_gw_step(&b->gw, bl_clock_mono_ms());
        bl_recorder_tick(b->sink);
    }
    br_sd_notify("STOPPING=1");
    br_wd_stop(b);
    (void)bl_gw_step(&b->gw, bl_clock_mono_ms());
    br_draw(b);
    if (b->tty && !b->json && !b->dry_run)
        out_str(&b->out, "\033[?25h");
    out_flush(&b->out);
    return BL_EXIT_OK;
}

/* ---- options ---- */

enum {
    OPT_FROM = 256, OPT_TO, OPT_PACK, OPT_POLICY, OPT_SITE, OPT_STALE, OPT_DRY, OPT_MQTT, OPT_MQTT_ID, OPT_JSON,
    OPT_INTERVAL, OPT_NO_EARLY, OPT_HOLD, OPT_ADDRESS, OPT_DURATION, OPT_RECORD, OPT_FORMAT,
    /* as a service (issue 12) */
    OPT_CONFIG, OPT_WATCHDOG, OPT_MQTT_USER, OPT_MQTT_PWFILE, OPT_MQTT_CAFILE, OPT_MQTT_CAPATH, OPT_MQTT_CERT,
    OPT_MQTT_KEY, OPT_MQTT_INSECURE
};

#define WATCHDOG_DEFAULT_MS 1000u

static int add_pack(br_t *b, const char *uri, const bl_protocol_t *p)
{
    if (b->npacks >= BL_GW_MAX_PACKS)
        return cli_usage_err(usage, "bridge", "at most %d packs", BL_GW_MAX_PACKS);
    b->pack[b->npacks].uri = uri;
    b->pack[b->npacks].p = p;
    b->npacks++;
    return 0;
}

/* PROTOCOL=URI: the protocol names and URIs both contain ':', so '=' separates them. */
static int parse_pack(br_t *b, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char name[64];
    const bl_protocol_t *p;

    if (eq == NULL || eq == arg || eq[1] == '\0' || (size_t)(eq - arg) >= sizeof name)
        return cli_usage_err(usage, "bridge", "--pack '%s': expected PROTOCOL=SRC (e.g. pylon-lv=socketcan:can2)",
                             arg);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    if ((p = cli_protocol("bridge", name)) == NULL)
        return BL_EXIT_USAGE;
    return add_pack(b, eq + 1, p);
}

static int parse_args(br_t *b, int argc, char **argv, const char **from, const bl_protocol_t **in)
{
    static const struct option opts[] = {
        { "from", required_argument, 0, OPT_FROM },       { "to", required_argument, 0, OPT_TO },
        { "in-protocol", required_argument, 0, 'P' },     { "out-protocol", required_argument, 0, 'p' },
        { "pack", required_argument, 0, OPT_PACK },       { "policy", required_argument, 0, OPT_POLICY },
        { "site-limits", required_argument, 0, OPT_SITE },{ "stale", required_argument, 0, OPT_STALE },
        { "dry-run", no_argument, 0, OPT_DRY },           { "mqtt", required_argument, 0, OPT_MQTT },
        { "mqtt-id", required_argument, 0, OPT_MQTT_ID }, { "json", no_argument, 0, OPT_JSON },
        { "interval", required_argument, 0, OPT_INTERVAL }, { "no-early", no_argument, 0, OPT_NO_EARLY },
        { "hold", required_argument, 0, OPT_HOLD },       { "address", required_argument, 0, OPT_ADDRESS },
        { "count", required_argument, 0, 'n' },           { "duration", required_argument, 0, OPT_DURATION },
        { "record", required_argument, 0, OPT_RECORD },   { "format", required_argument, 0, OPT_FORMAT },
        { "config", required_argument, 0, OPT_CONFIG },   { "watchdog", required_argument, 0, OPT_WATCHDOG },
        { "mqtt-user", required_argument, 0, OPT_MQTT_USER },
        { "mqtt-password-file", required_argument, 0, OPT_MQTT_PWFILE },
        { "mqtt-cafile", required_argument, 0, OPT_MQTT_CAFILE },
        { "mqtt-capath", required_argument, 0, OPT_MQTT_CAPATH },
        { "mqtt-cert", required_argument, 0, OPT_MQTT_CERT },
        { "mqtt-key", required_argument, 0, OPT_MQTT_KEY },
        { "mqtt-insecure", no_argument, 0, OPT_MQTT_INSECURE },
        { "help", no_argument, 0, 'h' },                  { 0, 0, 0, 0 } };
    int ch, rc;
    uint64_t n;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "P:p:n:h", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_FROM: *from = optarg; break;
        case OPT_TO: b->to = optarg; break;
        case 'P':
            if ((*in = cli_protocol("bridge", optarg)) == NULL)
                return BL_EXIT_USAGE;
            break;
        case 'p':
            if ((b->out_p = cli_protocol("bridge", optarg)) == NULL)
                return BL_EXIT_USAGE;
            break;
        case OPT_PACK:
            if ((rc = parse_pack(b, optarg)) != 0)
                return rc;
            break;
        case OPT_POLICY:
            if ((b->policy = (int)bl_gw_policy_by_name(optarg)) == BL_GW_POLICY_COUNT)
                return cli_usage_err(usage, "bridge", "unknown --policy '%s' (conservative, sum)", optarg);
            break;
        case OPT_SITE: b->site_path = optarg; break;
        case OPT_STALE:
            if (!cli_parse_duration(optarg, &b->stale_ms) || b->stale_ms == 0)
                return cli_usage_err(usage, "bridge", "bad --stale '%s' (e.g. 500ms, 10s, 5m)", optarg);
            break;
        case OPT_DRY: b->dry_run = true; break;
        case OPT_MQTT: b->mqtt_url = optarg; break;
        case OPT_MQTT_ID: b->mqtt_id = optarg; break;
        case OPT_JSON: b->json = true; break;
        case OPT_INTERVAL:
            if (!cli_parse_duration(optarg, &b->interval_ms) || b->interval_ms < 10)
                return cli_usage_err(usage, "bridge", "bad --interval '%s' (at least 10ms, e.g. 250ms, 1s)", optarg);
            break;
        case OPT_NO_EARLY: b->no_early = true; break;
        case OPT_HOLD:
            if (!cli_parse_duration(optarg, &b->hold_ms) || b->hold_ms == 0)
                return cli_usage_err(usage, "bridge", "bad --hold '%s' (e.g. 1s, 5s)", optarg);
            break;
        case OPT_ADDRESS:
            if (!cli_parse_count(optarg, &n) || n > 255)
                return cli_usage_err(usage, "bridge", "bad --address '%s' (0..255)", optarg);
            b->addr = (uint32_t)n;
            break;
        case 'n':
            if (!cli_parse_count(optarg, &b->count))
                return cli_usage_err(usage, "bridge", "bad --count '%s'", optarg);
            break;
        case OPT_DURATION:
            if (!cli_parse_duration(optarg, &b->duration_ms))
                return cli_usage_err(usage, "bridge", "bad --duration '%s' (e.g. 500ms, 90s, 15m, 24h)", optarg);
            break;
        case OPT_RECORD: b->record_path = optarg; break;
        case OPT_FORMAT:
            b->fmt = bl_capfmt_by_name(optarg);
            if (b->fmt == BL_FMT_COUNT || b->fmt == BL_FMT_HEX485)
                return cli_usage_err(usage, "bridge", "unknown --format '%s' (candump, log, asc)", optarg);
            break;
        case OPT_CONFIG: b->config_path = optarg; break;
        case OPT_WATCHDOG:
            if (strcmp(optarg, "off") == 0 || strcmp(optarg, "0") == 0)
                b->watchdog_ms = BR_WATCHDOG_OFF;
            else if (!cli_parse_duration(optarg, &b->watchdog_ms) || b->watchdog_ms < 50)
                return cli_usage_err(usage, "bridge", "bad --watchdog '%s' (at least 50ms, e.g. 1s; or off)", optarg);
            break;
        case OPT_MQTT_USER: b->mqtt_auth.user = optarg; break;
        case OPT_MQTT_PWFILE: b->mqtt_auth.password_file = optarg; break;
        case OPT_MQTT_CAFILE: b->mqtt_auth.cafile = optarg; break;
        case OPT_MQTT_CAPATH: b->mqtt_auth.capath = optarg; break;
        case OPT_MQTT_CERT: b->mqtt_auth.certfile = optarg; break;
        case OPT_MQTT_KEY: b->mqtt_auth.keyfile = optarg; break;
        case OPT_MQTT_INSECURE: b->mqtt_auth.insecure = true; break;
        case 'h': return -1;
        default: return cli_usage_err(usage, "bridge", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_err(usage, "bridge", "unexpected argument '%s' (sources are given with --from / --pack)",
                             argv[optind]);
    return 0;
}

static int check_args(br_t *b, const char *from, const bl_protocol_t *in)
{
    if (from == NULL)
        return cli_usage_err(usage, "bridge", "--from SRC is required (the battery's bus or a capture file)");
    if (in == NULL)
        return cli_usage_err(usage, "bridge", "-P IN_PROTOCOL is required (what the battery on --from speaks)");
    if (b->out_p == NULL)
        return cli_usage_err(usage, "bridge", "-p OUT_PROTOCOL is required (what the inverter speaks)");
    if (b->to == NULL && !b->dry_run)
        return cli_usage_err(usage, "bridge", "--to DST is required (the inverter's bus or a file), or --dry-run");
    (void)in;
    return 0;
}

/* ---- setup ---- */

#define SITE_FILE_MAX ((size_t)64 * 1024)

int cli_site_load(const char *path, cli_site_file_t *out)
{
    FILE *fp = fopen(path, "rb");
    char *buf, err[512];
    size_t n;
    int rc;

    if (fp == NULL) {
        cli_err("--site-limits %s: cannot open: %s", path, strerror(errno));
        return BL_EXIT_IO;
    }
    buf = malloc(SITE_FILE_MAX + 1);
    n = buf ? fread(buf, 1, SITE_FILE_MAX + 1, fp) : 0;
    fclose(fp);
    if (buf == NULL) {
        cli_err("--site-limits %s: out of memory", path);
        return BL_EXIT_IO;
    }
    if (n > SITE_FILE_MAX) {
        cli_err("--site-limits %s: larger than 64 KiB: not a site-limits file", path);
        free(buf);
        return BL_EXIT_USAGE;
    }
    rc = cli_site_parse(path, buf, n, out, err, sizeof err);
    if (rc != BL_EXIT_OK)
        cli_err("%s", err);
    free(buf);
    return rc;
}

static int setup_engine(br_t *b)
{
    bl_gw_cfg_t *cfg = &b->cfg;
    int rc;

    memset(cfg, 0, sizeof *cfg);
    cfg->out = b->out_p;
    cfg->policy = (uint8_t)(b->policy >= 0 ? b->policy : b->site.policy >= 0 ? b->site.policy : BL_GW_CONSERVATIVE);
    cfg->v_tolerance_mV = b->site.v_tolerance_mV;
    cfg->site = b->site.site;
    cfg->stale_ms = b->stale_ms;
    cfg->hold_ms = b->hold_ms;
    cfg->no_early = b->no_early;
    /* the battery address: --address, or the #ADDR of an RS485 --to */
    cfg->out_addr = b->addr ? b->addr : (b->inv.kind == PORT_SERIAL && b->inv.ser.addr > 0 ? (uint32_t)b->inv.ser.addr : 0);
    cfg->out_buf = &b->rsbuf[BL_GW_MAX_PACKS];
    cfg->poll_packs = !b->offline && !b->dry_run;
    /* offline, an inverter that speaks first is played from its tables: the log is a whole session */
    cfg->play_inverter = b->offline && bl_proto_root(b->out_p)->first == BL_FIRST_INVERTER;
    cfg->tx = on_tx;
    cfg->tx_bytes = on_tx_bytes;
    cfg->on_event = br_on_event;
    cfg->ctx = b;
    for (unsigned i = 0; i < b->npacks; i++) {
        const br_port_t *p = &b->pack[i];
        if (bl_proto_root(p->p)->bus == BL_BUS_CAN)
            rc = bl_gw_pack_init(&b->packs[i], p->p, b->stale_ms);
        else
            rc = bl_gw_pack_init_rs(&b->packs[i], p->p, b->stale_ms, p->kind == PORT_SERIAL ? p->ser.addr : -1,
                                    &b->rsbuf[i]);
        if (rc < 0) {
            cli_err("bridge: pack %u (%s on %s): %s", i, p->p->name, p->uri,
                    rc == BL_EINVAL ? "address out of the protocol's range" : bl_strerror(rc));
            return BL_EXIT_USAGE;
        }
    }
    if (bl_proto_root(b->out_p)->bus == BL_BUS_CAN && bl_can_codec_init(&b->show, b->out_p) < 0)
        return BL_EXIT_USAGE;
    return BL_EXIT_OK;
}

static void close_all(br_t *b, int *rc)
{
    br_close_ports(b, rc);
    if (live_record_close(b->rec) != BL_EXIT_OK && *rc == BL_EXIT_OK)
        *rc = BL_EXIT_IO;
    b->rec = NULL;
    if (b->mqtt != NULL) {
        unsigned lost = cli_mqtt_close(b->mqtt, 2000);
        if (lost)
            cli_err("--mqtt %s: %u messages not acknowledged by the broker", b->mqtt_url, lost);
        b->mqtt = NULL;
    }
}

int verb_bridge(int argc, char **argv)
{
    br_t *b = calloc(1, sizeof *b);
    const char *from = NULL;
    const bl_protocol_t *in = NULL;
    int rc;

    if (b == NULL) {
        cli_err("bridge: out of memory");
        return BL_EXIT_IO;
    }
    b->policy = -1;
    b->site.policy = -1;
    rc = parse_args(b, argc, argv, &from, &in);
    if (rc == -1) {
        rc = cli_help(usage);
        goto out;
    }
    if (rc != 0)
        goto out;
    if (b->config_path != NULL && (rc = br_config_load(b, &from, &in, b->npacks > 0)) != BL_EXIT_OK)
        goto out;
    if (b->watchdog_ms == 0)
        b->watchdog_ms = WATCHDOG_DEFAULT_MS;
    else if (b->watchdog_ms == BR_WATCHDOG_OFF)
        b->watchdog_ms = 0;
    if (from != NULL && in != NULL) { /* --from is pack 0 */
        memmove(&b->pack[1], &b->pack[0], sizeof b->pack[0] * b->npacks); /* overlapping: memmove */
        if (b->npacks == BL_GW_MAX_PACKS) {
            rc = cli_usage_err(usage, "bridge", "at most %d packs", BL_GW_MAX_PACKS);
            goto out;
        }
        memset(&b->pack[0], 0, sizeof b->pack[0]);
        b->pack[0].uri = from;
        b->pack[0].p = in;
        b->npacks++;
    }
    if ((rc = check_args(b, from, in)) != 0)
        goto out;
    if (b->site_path != NULL && (rc = cli_site_load(b->site_path, &b->site)) != BL_EXIT_OK)
        goto out;
    b->tty = isatty(1) == 1;
    if (b->interval_ms == 0)
        b->interval_ms = b->tty && !b->json ? 250 : 1000;
    out_init(&b->out, stdout);
    if ((rc = live_record_open(b->record_path, &b->rec)) != BL_EXIT_OK)
        goto out;
    if ((rc = br_open_ports(b)) != BL_EXIT_OK || (rc = setup_engine(b)) != BL_EXIT_OK)
        goto out_close;
    if (b->mqtt_url != NULL &&
        (rc = cli_mqtt_open(&b->mqtt, b->mqtt_url, b->mqtt_id ? b->mqtt_id : "bridge", &b->mqtt_auth)) != BL_EXIT_OK)
        goto out_close;
    rc = b->offline ? run_offline(b) : run_live(b);
out_close:
    close_all(b, &rc);
out:
    free(b->cfg_text);
    free(b);
    return rc;
}
