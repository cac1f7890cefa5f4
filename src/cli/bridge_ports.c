/*
 * bmslink bridge: its ports. A pack or the inverter is a CAN transport (a live bus, a pipe,
 * a capture file), an RS485 serial line (serial:DEV@BAUD[,8N1][#ADDR]) or a hex485 capture;
 * which one follows from the protocol and the URI. Capture files are read item by item into a
 * look-ahead so the verb can merge them in capture time.
 */
#include "bmslink/rs485.h"
#include "bridge.h"
#include "cli.h"
#include "live.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* a device that went away is tried again after 100 ms, then 200, 400 ... at most every 5 s:
 * quick after a glitch, gentle on a USB bus where the adapter is not coming back soon */
#define REOPEN_FIRST_MS 100
#define REOPEN_MAX_MS 5000
#define DRAIN_MAX 4096
#define SERIAL_WRITE_MS 200

static bool byte_protocol(const bl_protocol_t *p)
{
    return bl_proto_root(p)->bus != BL_BUS_CAN;
}

static const char *strip_file(const char *uri)
{
    return strncmp(uri, "file:", 5) == 0 ? uri + 5 : uri;
}

static int open_serial(br_port_t *p)
{
    char err[256];
    if (bl_serial485_parse(p->uri, bl_proto_baud(p->p), &p->ser, err, sizeof err) < 0) {
        cli_err("%s: %s", p->uri, err);
        return BL_EXIT_USAGE;
    }
    if (bl_serial485_open(&p->ser, err, sizeof err) < 0) {
        cli_err("%s: cannot open: %s", p->uri, err);
        return BL_EXIT_IO;
    }
    p->kind = PORT_SERIAL;
    p->open = true;
    return BL_EXIT_OK;
}

/* One port by its protocol and URI. */
static int open_port(br_t *b, br_port_t *p, bool is_inverter)
{
    const char *scheme = bl_transport_scheme(p->uri);
    int rc;

    if (bl_proto_root(p->p)->bus == BL_BUS_MODBUS) {
        cli_err("bridge: %s is a Modbus register map: this build bridges CAN and serial RS485 protocols (read it "
                "with bmslink decode -p %s modbus-rtu:...)", p->p->name, p->p->name);
        return BL_EXIT_USAGE;
    }
    if (byte_protocol(p->p)) {
        if (strcmp(scheme, "serial") == 0)
            return open_serial(p);
        if (strcmp(scheme, "file") != 0) {
            cli_err("bridge: %s speaks RS485: %s needs serial:DEV@BAUD[#ADDR] or a hex485 capture file", p->p->name,
                    p->uri);
            return BL_EXIT_USAGE;
        }
        if (is_inverter)
            return BL_EXIT_OK; /* a file to write: opened with the sink */
        if (strcmp(p->uri, "-") == 0) {
            cli_err("bridge: %s: RS485 bytes from stdin are not supported: give a hex485 capture file", p->uri);
            return BL_EXIT_USAGE;
        }
        if ((rc = bl_lr_open(&p->lr, strip_file(p->uri))) < 0) {
            cli_err("%s: cannot open: %s", p->uri, strerror(-rc));
            return BL_EXIT_IO;
        }
        p->kind = PORT_HEX485;
        p->open = true;
        return BL_EXIT_OK;
    }
    if (strcmp(scheme, "serial") == 0 || strncmp(scheme, "modbus", 6) == 0) {
        cli_err("bridge: %s is a CAN protocol: %s is an RS485 line (a CAN adapter is slcan:DEV@BITRATE)", p->p->name,
                p->uri);
        return BL_EXIT_USAGE;
    }
    if (is_inverter && strcmp(scheme, "file") == 0)
        return BL_EXIT_OK;
    if ((rc = live_open(&p->t, p->uri, b->fmt, b->rec)) != BL_EXIT_OK)
        return rc;
    p->kind = PORT_CAN;
    p->open = true;
    return BL_EXIT_OK;
}

static bool is_file_port(const br_port_t *p)
{
    return p->kind == PORT_HEX485 || (p->kind == PORT_CAN && !p->t.live);
}

static int open_sink(br_t *b)
{
    const char *path = strip_file(b->to);
    char err[256];

    if (strcmp(b->to, "-") == 0)
        return cli_usage_err("usage: bmslink bridge --from SRC -P IN --to DST -p OUT (see bmslink bridge --help)\n",
                             "bridge", "--to -: write the translation to a file (or use --dry-run)");
    if (byte_protocol(b->out_p)) {
        if ((b->sink485 = fopen(path, "w")) == NULL) {
            cli_err("--to %s: cannot open: %s", b->to, strerror(errno));
            return BL_EXIT_IO;
        }
        fprintf(b->sink485, "# bmslink bridge -p %s: what the inverter sends (<) and receives (>), hex485\n",
                b->out_p->name);
        return BL_EXIT_OK;
    }
    if ((b->sink = bl_recorder_open(path, err, sizeof err)) == NULL) {
        cli_err("--to %s: cannot open: %s", b->to, err);
        return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

int br_open_ports(br_t *b)
{
    unsigned files = 0;
    int rc;

    for (unsigned i = 0; i < b->npacks; i++) {
        if ((rc = open_port(b, &b->pack[i], false)) != BL_EXIT_OK)
            return rc;
        files += is_file_port(&b->pack[i]);
    }
    if (files != 0 && files != b->npacks)
        return cli_usage_err("usage: bmslink bridge --from SRC -P IN --to DST -p OUT (see bmslink bridge --help)\n",
                             "bridge", "mix of capture files and live sources: use only files (an offline "
                             "translation in capture time) or only live sources");
    b->offline = files != 0;
    snprintf(b->sink_bus, sizeof b->sink_bus, "%s", "can1");
    if (b->to == NULL)
        return BL_EXIT_OK;
    b->inv.uri = b->to;
    b->inv.p = b->out_p;
    b->inv_is_file = strcmp(bl_transport_scheme(b->to), "file") == 0;
    if (!b->inv_is_file && b->offline)
        return cli_usage_err("usage: bmslink bridge --from SRC -P IN --to DST -p OUT (see bmslink bridge --help)\n",
                             "bridge", "a capture file as --from translates into a file: --to FILE (not %s)", b->to);
    if ((rc = open_port(b, &b->inv, true)) != BL_EXIT_OK)
        return rc;
    if (b->inv_is_file && !b->dry_run)
        return open_sink(b);
    return BL_EXIT_OK;
}

/* ---- offline ---- */

static int fetch_can(br_port_t *p)
{
    bl_line_err_t le;
    int r = bl_transport_read(&p->t, &p->la, -1, &le);
    if (r == 1) {
        if (!p->la.has_ts) {
            cli_err("%s:%llu: no timestamp: an offline translation needs the capture's time (candump -L or -t a)",
                    p->uri, (unsigned long long)p->t.line);
            return BL_EXIT_IO;
        }
        p->la_ts_us = p->la.ts_us;
        p->la_ok = true;
    } else if (r == BL_ENOENT) {
        p->eof = true;
    } else if (r == BL_EBADMSG) {
        cli_err("%s:%llu: %s (column %u): skipped", p->uri, (unsigned long long)p->t.line, le.what, (unsigned)le.col);
    } else if (r < 0) {
        cli_err("%s:%llu: %s", p->uri, (unsigned long long)p->t.line, p->t.err);
        return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

static int fetch_hex(br_port_t *p)
{
    const char *line, *what = NULL;
    size_t len, col = 0;
    bool has_ts = false;
    int r = bl_lr_next(&p->lr, &line, &len);

    if (r == 0) {
        p->eof = true;
        return BL_EXIT_OK;
    }
    if (r < 0) {
        cli_err("%s:%llu: %s", p->uri, (unsigned long long)p->lr.line, strerror(-r));
        return BL_EXIT_IO;
    }
    r = cli_hex485_line(line, len, p->la_b, sizeof p->la_b, &p->la_n, &p->la_ts_us, &has_ts, &what, &col);
    if (r < 0) {
        cli_err("%s:%llu: %s (column %zu): skipped", p->uri, (unsigned long long)p->lr.line, what, col);
        return BL_EXIT_OK;
    }
    if (r == 1 && !has_ts) {
        cli_err("%s:%llu: no timestamp: an offline translation needs the capture's time", p->uri,
                (unsigned long long)p->lr.line);
        return BL_EXIT_IO;
    }
    p->la_ok = r == 1 && p->la_n > 0;
    return BL_EXIT_OK;
}

int br_fetch(br_port_t *p)
{
    while (!p->eof && !p->la_ok) {
        int rc = p->kind == PORT_HEX485 ? fetch_hex(p) : fetch_can(p);
        if (rc != BL_EXIT_OK)
            return rc;
    }
    return BL_EXIT_OK;
}

/* ---- live ---- */

int br_port_fd(const br_port_t *p)
{
    if (!p->open || p->down || p->eof)
        return -1;
    return p->kind == PORT_SERIAL ? p->ser.fd : p->kind == PORT_CAN ? p->t.fd : -1;
}

/* Said on the view and on stderr (the journal of a service): a port's state changed. */
static void port_note(br_t *b, uint64_t now, const char *msg)
{
    br_add_event(b, br_ts_us(b, now), BL_GW_EV_COUNT, msg);
    if (b->tty && !b->json)
        return; /* the view shows it; stderr would scroll it */
    fprintf(stderr, "bmslink: bridge: %s\n", msg);
}

static void went_down(br_t *b, br_port_t *p, const char *why)
{
    char msg[400];
    uint64_t now = bl_clock_mono_ms();
    if (p->down)
        return;
    p->down = true;
    p->down_since_ms = now;
    p->backoff_ms = REOPEN_FIRST_MS;
    p->next_reopen = now + REOPEN_FIRST_MS;
    p->reopen_err[0] = '\0';
    if (p->kind == PORT_CAN)
        p->t.down = true;
    if (p == &b->inv) {
        snprintf(msg, sizeof msg, "%s: output gone (%s): reconnecting", p->uri, why);
    } else {
        unsigned i = (unsigned)(p - b->pack);
        /* its data is not kept to its timeout: the source is known to be gone now */
        (void)bl_gw_pack_gone(&b->gw, i);
        b->kick = true;
        snprintf(msg, sizeof msg, "%s: input gone (%s): pack %u dropped%s; reconnecting", p->uri, why, i,
                 b->npacks == 1 ? ", the inverter gets the safe state" : " from the limits");
    }
    port_note(b, now, msg);
}

int br_drain(br_t *b, br_port_t *p, unsigned port)
{
    int n = 0;

    if (p->kind == PORT_SERIAL) {
        uint8_t buf[BR_CHUNK_MAX];
        long got = bl_serial485_read(&p->ser, buf, sizeof buf, 0);
        if (got > 0) {
            p->items++;
            p->bytes_in += (uint64_t)got;
            b->rx++;
            (void)bl_gw_rx_bytes(&b->gw, port, buf, (size_t)got, bl_clock_mono_ms());
            return 1;
        }
        if (got < 0)
            went_down(b, p, strerror((int)-got));
        return 0;
    }
    for (unsigned k = 0; k < DRAIN_MAX; k++) {
        bl_cap_frame_t cf;
        bl_line_err_t le;
        int r = bl_transport_read(&p->t, &cf, 0, &le);
        if (r == 1) {
            p->items++;
            b->rx++;
            (void)bl_gw_rx(&b->gw, port, &cf.f, bl_clock_mono_ms());
            n++;
            continue;
        }
        if (r == BL_EBADMSG)
            continue; /* counted by the transport, shown with its stats */
        if (r == BL_ENOENT) {
            p->eof = true;
            return -1;
        }
        if (r < 0)
            went_down(b, p, p->t.err);
        break;
    }
    return n;
}

void br_reopen(br_t *b, br_port_t *p, uint64_t now)
{
    char err[256], msg[400];
    int rc;

    if (now < p->next_reopen)
        return;
    if (p->kind == PORT_SERIAL) {
        bl_serial485_close(&p->ser);
        rc = bl_serial485_open(&p->ser, err, sizeof err);
    } else {
        rc = bl_transport_reopen(&p->t, err, sizeof err);
    }
    if (rc == 0) {
        p->down = false;
        p->reopen_err[0] = '\0';
        snprintf(msg, sizeof msg, "%s: reconnected after %.1f s", p->uri, (double)(now - p->down_since_ms) / 1000.0);
        port_note(b, now, msg);
        b->kick = true;
        return;
    }
    p->next_reopen = now + p->backoff_ms;
    p->backoff_ms = p->backoff_ms * 2 > REOPEN_MAX_MS ? REOPEN_MAX_MS : p->backoff_ms * 2;
    if (strcmp(err, p->reopen_err) != 0) { /* said once per cause, not at every attempt */
        snprintf(p->reopen_err, sizeof p->reopen_err, "%s", err);
        snprintf(msg, sizeof msg, "%s: cannot reopen yet (retrying, at most every %u s): %s", p->uri,
                 REOPEN_MAX_MS / 1000u, err);
        port_note(b, now, msg);
    }
}

int br_port_write_frame(br_t *b, br_port_t *p, const bl_cap_frame_t *cf)
{
    int rc;
    if (!p->open || p->down || p->kind != PORT_CAN)
        return BL_EIO;
    rc = bl_transport_write(&p->t, cf);
    if (rc == BL_EIO)
        went_down(b, p, p->t.err);
    return rc;
}

int br_port_write_bytes(br_t *b, br_port_t *p, const uint8_t *d, size_t n)
{
    int rc;
    if (!p->open || p->down || p->kind != PORT_SERIAL)
        return BL_EIO;
    rc = bl_serial485_write(&p->ser, d, n, SERIAL_WRITE_MS);
    if (rc == 0) {
        p->bytes_out += n;
        return 0;
    }
    if (rc != -ETIMEDOUT && rc != -EAGAIN)
        went_down(b, p, strerror(-rc));
    return BL_EIO;
}

static void close_port(br_t *b, br_port_t *p)
{
    if (!p->open)
        return;
    if (p->kind == PORT_CAN) {
        if (p->t.live || live_stopped())
            live_print_stats(stderr, &p->t);
        bl_transport_close(&p->t);
    } else if (p->kind == PORT_SERIAL) {
        fprintf(stderr, "bmslink: %s: %llu bytes received, %llu sent\n", p->uri, (unsigned long long)p->bytes_in,
                (unsigned long long)p->bytes_out);
        bl_serial485_close(&p->ser);
    } else {
        bl_lr_close(&p->lr);
    }
    p->open = false;
    (void)b;
}

void br_close_ports(br_t *b, int *rc)
{
    char err[320];
    for (unsigned i = 0; i < b->npacks; i++)
        close_port(b, &b->pack[i]);
    close_port(b, &b->inv);
    if (b->sink != NULL && bl_recorder_close(b->sink, err, sizeof err) < 0) {
        cli_err("--to %s", err);
        if (*rc == BL_EXIT_OK)
            *rc = BL_EXIT_IO;
    }
    b->sink = NULL;
    if (b->sink485 != NULL) {
        int bad = ferror(b->sink485);
        if (fclose(b->sink485) != 0 || bad) {
            cli_err("--to %s: write failed: %s", b->to, strerror(errno));
            if (*rc == BL_EXIT_OK)
                *rc = BL_EXIT_IO;
        }
    }
    b->sink485 = NULL;
}
