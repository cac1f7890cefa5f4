/*
 * emulate battery on RS485 and Modbus: answer an inverter's polls (serial:)
 * or serve a register map (modbus-rtu:, modbus-tcp:) from the record the
 * battery source gives at each request. Limits that are not fresh go out as
 * the protocol's safe state; stale telemetry gets the protocol's error (or
 * silence where it has none); requests that would change the battery are
 * refused.
 */
#include "bmslink/modbus.h"
#include "bmslink/rs485.h"
#include "bmslink/serial485.h"
#include "cli.h"
#include "emulate.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const bl_emulate_opts_t *o;
    const bl_protocol_t *p;
    const bl_rs485_codec_t *c;
    bl_rs_session_t sess;
    bl_stream_t st;
    bl_serial485_t port;
    uint8_t fbuf[BL_STREAM_PYLON_MAX + 64];
    uint8_t info[2048];
    uint8_t out[4200];
    bl_out_t jout;
    FILE *rec;
    uint8_t addr;
    uint64_t t0, stale_ms;
    uint64_t answered, refused, silent, rejects;
    bool warned_safe, warned_stale, stop;
    int rc;
} emu_t;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool done(const emu_t *e)
{
    return e->stop || interrupted || (e->o->duration_ms && mono_ms() - e->t0 >= e->o->duration_ms) ||
           (e->o->count && e->answered >= e->o->count);
}

/* --record: the traffic as hex485 lines ("<" received, ">" sent), readable by bmslink decode */
static void record(emu_t *e, char dir, const uint8_t *d, size_t n)
{
    uint64_t us;
    if (e->rec == NULL || n == 0)
        return;
    us = wall_us();
    fprintf(e->rec, "(%llu.%06llu) %c ", (unsigned long long)(us / 1000000u), (unsigned long long)(us % 1000000u), dir);
    for (size_t i = 0; i < n; i++)
        fprintf(e->rec, "%02X%s", d[i], i + 1 < n ? " " : "");
    fputc('\n', e->rec);
    fflush(e->rec);
}

static void substituted_list(bl_out_t *o, uint32_t mask)
{
    j_key(o, "substituted");
    j_arr(o);
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if (mask & BL_BIT(i))
            j_str_el(o, bl_field_info(i)->key);
    j_end_arr(o);
}

static void event(emu_t *e, uint8_t addr, unsigned cmd, const char *name, int rtn, unsigned frames, const char *why,
                  const bl_rs_encoded_t *enc)
{
    bl_out_t *o = &e->jout;
    if (enc != NULL && enc->safe_state && !e->warned_safe) {
        e->warned_safe = true;
        fprintf(stderr, "bmslink: emulate: battery limits are stale or missing: answering in the safe state "
                        "(0 A limits, charge and discharge disabled)\n");
    }
    if (why != NULL && strstr(why, "stale") != NULL && !e->warned_stale) {
        e->warned_stale = true;
        fprintf(stderr, "bmslink: emulate: battery data is stale: %s\n", why);
    }
    if (!e->o->json)
        return;
    o->first = true;
    j_obj(o);
    j_key(o, "ts");
    out_ts(o, wall_us());
    o->first = false;
    j_kstr(o, "event", rtn < 0 ? "silent" : why != NULL && rtn != 0 ? "refused" : "answer");
    j_kstr(o, "protocol", e->p->name);
    {
        char b[16];
        snprintf(b, sizeof b, "0x%02X", addr);
        j_kstr(o, "address", b);
        snprintf(b, sizeof b, "0x%02X", cmd);
        j_kstr(o, "command", b);
    }
    j_kstr(o, "message", name);
    if (rtn >= 0)
        j_kint(o, "rtn", rtn);
    j_kint(o, "frames", frames);
    j_kbool(o, "safe_state", enc != NULL && enc->safe_state);
    substituted_list(o, enc != NULL ? enc->substituted : 0);
    j_kstr(o, "why", why);
    j_end_obj(o);
    out_ch(o, '\n');
    out_flush(o);
}

/* ---- serial: answer polls -------------------------------------------------------------- */

static void send_answer(emu_t *e, const uint8_t *d, size_t n)
{
    int w;
    record(e, '>', d, n);
    w = bl_serial485_write(&e->port, d, n, 1000);
    if (w < 0) {
        cli_err("emulate: %s: write: %s", e->o->on, strerror(-w));
        e->rc = BL_EXIT_IO;
        e->stop = true;
    }
}

static void on_request(emu_t *e, const uint8_t *fr, size_t n)
{
    bl_rs_frame_t f;
    bl_rs_answer_t res;
    bl_rsr_t why;
    const bl_record_t *r;
    uint64_t now;
    int len;

    if (bl_rs_session_frame(&e->sess, fr, n, e->info, sizeof e->info, &f, &why) < 0 || !f.request)
        return; /* another battery's answer on a shared bus, or our own echo */
    now = mono_ms();
    r = e->o->src->step(e->o->src, now);
    len = bl_rs_answer(e->p, e->addr, &f, r, now, e->stale_ms, e->out, sizeof e->out, &res);
    if (len < 0) {
        cli_err("emulate: answer to 0x%02X: %s", f.cmd, bl_strerror(len));
        return;
    }
    if (len == 0) {
        if (f.addr == e->addr || e->c->framing == BL_FRAMING_JBD)
            e->silent++;
        if (strcmp(res.why ? res.why : "", "for another address") != 0 &&
            strcmp(res.why ? res.why : "", "for another board") != 0)
            event(e, f.addr, f.cmd, f.msg ? f.msg->name : NULL, -1, 0, res.why, &res.enc);
        return;
    }
    send_answer(e, e->out, (size_t)len);
    if (res.why != NULL && res.rtn != 0)
        e->refused++;
    e->answered++;
    event(e, f.addr, f.cmd, f.msg ? f.msg->name : NULL, res.rtn, res.frames, res.why, &res.enc);
}

static void on_stream(void *ctx, const bl_stream_ev_t *ev)
{
    emu_t *e = ctx;
    if (ev->kind == BL_SEV_FRAME) {
        on_request(e, ev->data, ev->len);
        return;
    }
    if (ev->kind == BL_SEV_REJECT) {
        bl_rs_answer_t res;
        int len = bl_rs_answer_reject(e->p, e->addr, ev->data, ev->len, (bl_rsr_t)ev->why, e->out, sizeof e->out, &res);
        e->rejects++;
        if (len > 0) {
            send_answer(e, e->out, (size_t)len);
            event(e, e->addr, res.rtn, NULL, res.rtn, 1, res.why, NULL);
        }
        if (!e->o->json)
            fprintf(stderr, "bmslink: emulate: %s: request rejected: %s%s\n", e->o->on, bl_rsr_str(ev->why),
                    len > 0 ? " (answered with an error code)" : "");
    }
}

static int serve_serial(emu_t *e)
{
    char err[256];
    uint8_t rx[512];

    if (bl_serial485_parse(e->o->on, bl_proto_baud(e->p), &e->port, err, sizeof err) < 0) {
        cli_err("emulate: %s: %s", e->o->on, err);
        return BL_EXIT_USAGE;
    }
    e->addr = e->port.addr >= 0 ? (uint8_t)e->port.addr : e->c->addr_default;
    if (bl_serial485_open(&e->port, err, sizeof err) < 0) {
        cli_err("emulate: %s: cannot open: %s", e->o->on, err);
        return BL_EXIT_IO;
    }
    bl_rs_session_init(&e->sess, e->p);
    bl_stream_init(&e->st, e->c->framing, e->fbuf, sizeof e->fbuf, on_stream, e);
    fprintf(stderr, "bmslink: emulate: %s battery at %s 0x%02X on %s (%u %u%c%u)\n", e->p->name,
            e->c->framing == BL_FRAMING_DALY ? "host address" : "address", e->addr, e->port.cfg.dev,
            (unsigned)e->port.cfg.baud, e->port.cfg.data_bits, e->port.cfg.parity, e->port.cfg.stop_bits);
    while (!done(e)) {
        long n = bl_serial485_read(&e->port, rx, sizeof rx, 100);
        if (n < 0) {
            cli_err("emulate: %s: read: %s", e->o->on,
                    n == -EIO ? "the port went away (adapter unplugged, peer closed)" : strerror((int)-n));
            e->rc = BL_EXIT_IO;
            break;
        }
        if (n > 0) {
            record(e, '<', rx, (size_t)n);
            bl_stream_push(&e->st, rx, (size_t)n);
        }
    }
    bl_serial485_close(&e->port);
    return e->rc;
}

/* ---- Modbus: serve the register map ---------------------------------------------------- */

static int mb_handler(void *ctx, const bl_mb_request_t *rq, uint16_t *regs)
{
    emu_t *e = ctx;
    const bl_mb_map_t *map = e->c->map;
    bl_rs_encoded_t res;
    uint16_t bad = 0;
    uint64_t now = mono_ms();
    const bl_record_t *r;
    int rc;

    if (rq->write) {
        /* only what the inverter is meant to write (BYD HVM's watchdog): the battery keeps its own state */
        for (unsigned i = 0; i < rq->count; i++) {
            const bl_mb_reg_t *row = bl_mb_find(map, rq->table, (uint16_t)(rq->start + i));
            if (row == NULL || !(row->flags & BL_MBF_WRITE)) {
                e->refused++;
                e->answered++;
                event(e, (uint8_t)rq->unit, rq->fc, "write", 2, 1, "write to a register the battery does not take", NULL);
                return 2;
            }
        }
        e->answered++;
        event(e, (uint8_t)rq->unit, rq->fc, "write", 0, 1, NULL, NULL);
        return 0;
    }
    r = e->o->src->step(e->o->src, now);
    rc = bl_mb_encode(e->p, map, rq->table, rq->start, rq->count, r, now, e->stale_ms, regs, &bad, &res);
    if (rc == BL_ENOENT) {
        char why[96];
        snprintf(why, sizeof why, "register 0x%04X is not in the %s map", bad, e->p->name);
        e->refused++;
        e->answered++;
        event(e, (uint8_t)rq->unit, rq->fc, "read", 2, 1, why, NULL);
        return 2; /* illegal data address, as a real device answers */
    }
    if (res.stale_data) {
        e->refused++;
        e->answered++;
        event(e, (uint8_t)rq->unit, rq->fc, "read", 4, 1, "battery data is stale", &res);
        return 4; /* slave device failure: no old values as if they were new */
    }
    e->answered++;
    event(e, (uint8_t)rq->unit, rq->fc, "read", 0, 1, NULL, &res);
    return 0;
}

static int serve_modbus(emu_t *e)
{
    bl_mb_link_t l;
    char err[256];
    int rc;

    if (bl_mb_parse_uri(e->o->on, bl_proto_baud(e->p), e->c->addr_default, &l, err, sizeof err) < 0) {
        cli_err("emulate: %s: %s", e->o->on, err);
        return BL_EXIT_USAGE;
    }
    if ((rc = bl_mb_server_open(&l, err, sizeof err)) < 0) {
        cli_err("emulate: %s: cannot open: %s", e->o->on, err);
        return rc == BL_ENOTSUP ? BL_EXIT_USAGE : BL_EXIT_IO;
    }
    if (!l.tcp && !l.rs485_mode && cli_stderr_tty())
        fprintf(stderr, "bmslink: emulate: %s: no kernel RS485 mode on this port (fine for auto-direction adapters "
                        "and ptys)\n", l.dev);
    fprintf(stderr, "bmslink: emulate: %s battery, Modbus unit %d on %s%s%.0d\n", e->p->name, l.unit, l.dev,
            l.tcp ? ":" : "", l.tcp ? l.port : 0);
    while (!done(e)) {
        rc = bl_mb_serve(&l, 100, mb_handler, e, NULL, err, sizeof err);
        if (rc == BL_EBADMSG) {
            e->rejects++;
            if (!e->o->json)
                fprintf(stderr, "bmslink: emulate: %s: request rejected: %s\n", e->o->on, err);
            continue;
        }
        if (rc == BL_EIO) {
            cli_err("emulate: %s: %s", e->o->on, err);
            e->rc = BL_EXIT_IO;
            break;
        }
    }
    bl_mb_close(&l);
    return e->rc;
}

static bool anything_to_answer(const bl_rs485_codec_t *c)
{
    if (c->map != NULL)
        return true;
    for (unsigned i = 0; i < c->nmsgs; i++)
        if (c->msgs[i].rsp != NULL && !(c->msgs[i].flags & (BL_RMF_WRITE | BL_RMF_NO_REPLY)))
            return true;
    return false;
}

int cli_emulate_battery_rs485(const bl_emulate_opts_t *o)
{
    emu_t *e = calloc(1, sizeof *e);
    struct sigaction sa, old;
    bool modbus_uri = strncmp(o->on, "modbus-rtu:", 11) == 0 || strncmp(o->on, "modbus-tcp:", 11) == 0;
    int rc;

    if (e == NULL)
        return BL_EXIT_IO;
    e->o = o;
    e->p = o->p;
    e->c = bl_rs_codec(o->p);
    e->t0 = mono_ms();
    e->stale_ms = bl_proto_timeout_ms(o->p);
    out_init(&e->jout, stdout);
    if (e->c == NULL) {
        free(e);
        cli_err("emulate: %s has no RS485/Modbus codec", o->p->name);
        return BL_EXIT_USAGE;
    }
    if (!anything_to_answer(e->c)) {
        free(e);
        cli_err("emulate: %s: the fact sheet has none of this dialect's reply layouts (a gap): the battery role "
                "would have to invent them",
                o->p->name);
        return BL_EXIT_USAGE;
    }
    if (o->scenario != NULL) {
        free(e);
        cli_err("emulate: --scenario is not available in this build yet (the battery simulator plugs in here)");
        return BL_EXIT_USAGE;
    }
    if (e->c->kind == BL_RSK_MODBUS && !modbus_uri) {
        free(e);
        cli_err("emulate: %s is a Modbus map: serve it with --on modbus-rtu:DEV@BAUD#UNIT or "
                "modbus-tcp:HOST:PORT#UNIT", o->p->name);
        return BL_EXIT_USAGE;
    }
    if (e->c->kind != BL_RSK_MODBUS && strncmp(o->on, "serial:", 7) != 0) {
        free(e);
        cli_err("emulate: %s answers on a serial line: --on serial:DEV@BAUD[,8N1][#ADDR]", o->p->name);
        return BL_EXIT_USAGE;
    }
    if (o->record_path != NULL) {
        if (e->c->kind == BL_RSK_MODBUS) {
            free(e);
            cli_err("emulate: --record writes the serial bytes; libmodbus owns the Modbus line (use pty-pair.sh -x "
                    "or tshark to log it)");
            return BL_EXIT_USAGE;
        }
        e->rec = fopen(o->record_path, "w");
        if (e->rec == NULL) {
            cli_err("emulate: %s: cannot open: %s", o->record_path, strerror(errno));
            free(e);
            return BL_EXIT_IO;
        }
        fprintf(e->rec, "# bmslink emulate battery -p %s --on %s: < received, > sent (hex485)\n", o->p->name, o->on);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);
    sigaction(SIGTERM, &sa, NULL);
    rc = e->c->kind == BL_RSK_MODBUS ? serve_modbus(e) : serve_serial(e);
    sigaction(SIGINT, &old, NULL);
    fprintf(stderr, "bmslink: emulate: %llu requests answered (%llu refused), %llu not answered, %llu rejected\n",
            (unsigned long long)e->answered, (unsigned long long)e->refused, (unsigned long long)e->silent,
            (unsigned long long)e->rejects);
    if (e->rec != NULL)
        fclose(e->rec);
    free(e);
    return rc;
}
