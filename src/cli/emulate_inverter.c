/*
 * emulate inverter: be an inverter on a real or virtual bus with a profile's
 * timing and quirks (src/engines/inverter.c): its keep-alives and polls, what
 * it decodes and uses, its timeouts and what it does on them, the battery
 * current its power stage would drive for the scenario's PV and load. Every
 * state change, timeout and quirk that acts is printed as it happens.
 */
#include "bmslink/faults.h"
#include "bmslink/inverter.h"
#include "bmslink/serial485.h"
#include "cli.h"
#include "emulate.h"
#include "sim_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEP_MS 1000u /* the inverter decides once a second, as in the closed loop */

typedef struct {
    const bl_emulate_opts_t *o;
    const bl_inv_profile_t *p;
    bl_out_t *out;
    bl_transport_t t;
    bl_inv_t inv;
    bl_inv_out_t last;
    FILE *rec;
    uint64_t sent, write_fail;
    /* RS485: the serial line and its framer */
    bl_serial485_t port;
    bl_stream_t st;
    uint64_t clock0, t0;
    uint8_t fbuf[BL_STREAM_PYLON_MAX + 64];
    uint8_t obuf[1024], ibuf[512];
} run_t;

static void on_event(void *ctx, const bl_sim_event_t *e)
{
    run_t *r = ctx;
    if (r->o->on_event != NULL)
        r->o->on_event(r->o->step_ctx, e);
    if (r->o->quiet)
        return;
    if (r->o->json) {
        r->out->first = true; /* one JSON object per line */
        cli_event_json(r->out, e, r->o->scn, r->p);
        out_ch(r->out, '\n');
    } else {
        cli_event_text(r->out, e, r->o->scn, r->p);
    }
    out_flush(r->out);
}

static void summary(run_t *r, uint64_t ran_ms)
{
    const bl_inv_t *v = &r->inv;
    bl_out_t *o = r->out;

    if (r->o->quiet)
        return;
    if (r->o->json) {
        o->first = true;
        j_obj(o);
        j_kstr(o, "summary", "emulate inverter");
        j_kstr(o, "profile", r->p->name);
        j_kstr(o, "firmware", r->p->nfw ? r->p->firmware[v->fw] : "");
        j_kstr(o, "on", r->o->on);
        j_kmilli(o, "ran_s", (int64_t)ran_ms, 3);
        j_kint(o, "sent", (int64_t)r->sent);
        j_kint(o, "send_failed", (int64_t)r->write_fail);
        j_kint(o, "decoded", v->rx_frames);
        j_key(o, "rejected");
        j_obj(o);
        for (unsigned k = 1; k < BL_REJ_COUNT; k++)
            if (v->rx_rejected[k])
                j_kint(o, bl_reject_str(k), v->rx_rejected[k]);
        j_end_obj(o);
        j_kbool(o, "battery_detected", v->detected != 0);
        j_kstr(o, "state", bl_inv_state_str(v->state));
        j_kstr(o, "code", v->code);
        j_kmilli(o, "battery_current_A", r->last.i_mA, 3);
        cli_json_fields(o, "battery", &v->view, UINT32_MAX);
        j_key(o, "quirks_acted");
        j_obj(o);
        for (unsigned q = 0; q < BL_QK_COUNT; q++)
            if (v->quirk_acted[q])
                j_kint(o, bl_quirk_str(q), v->quirk_acted[q]);
        j_end_obj(o);
        j_end_obj(o);
        out_ch(o, '\n');
    } else {
        out_printf(o, "emulate inverter %s (%s %s) on %s: %llu frames sent (%llu failed), %u battery frames "
                      "decoded",
                   r->p->name, r->p->brand, r->p->nfw ? r->p->firmware[v->fw] : "", r->o->on,
                   (unsigned long long)r->sent, (unsigned long long)r->write_fail, (unsigned)v->rx_frames);
        for (unsigned k = 1; k < BL_REJ_COUNT; k++)
            if (v->rx_rejected[k])
                out_printf(o, ", %u rejected (%s)", (unsigned)v->rx_rejected[k], bl_reject_str(k));
        out_printf(o, "; battery %s; state %s%s%s; it would drive ", v->detected ? "detected" : "not detected",
                   bl_inv_state_str(v->state), v->code[0] ? " " : "", v->code);
        out_milli(o, r->last.i_mA, 1);
        out_str(o, " A\n");
    }
    out_flush(o);
}

static int send_due(run_t *r, uint64_t now, uint64_t *next)
{
    bl_can_frame_t out[BL_CAN_MAX_MSGS];
    unsigned n = bl_inv_tx(&r->inv, now, out, BL_CAN_MAX_MSGS, next);

    for (unsigned k = 0; k < n; k++) {
        if (cli_emulate_send(&r->t, r->o->on, r->rec, &out[k], r->o->count, &r->sent, &r->write_fail) != 0)
            return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

/* The power stage against the battery it hears: voltage and current as the battery reports them. */
static void decide(run_t *r, uint64_t now)
{
    const bl_scenario_t *scn = r->o->scn;
    const bl_record_t *rx = &r->inv.rx;
    bl_inv_env_t env;

    memset(&env, 0, sizeof env);
    env.pv_W = bl_scn_profile_at(&scn->pv, now, scn->daily);
    env.load_W = bl_scn_profile_at(&scn->load, now, scn->daily);
    env.grid = scn->grid;
    env.v_mV = rx->f[BL_F_VOLTAGE].valid ? rx->f[BL_F_VOLTAGE].value : 0;
    env.i_mA = rx->f[BL_F_CURRENT].valid ? rx->f[BL_F_CURRENT].value : 0;
    env.temp_mdegC = rx->f[BL_F_TEMP].valid ? rx->f[BL_F_TEMP].value : 25000;
    bl_inv_step(&r->inv, &env, now, &r->last);
    if (r->o->on_step != NULL)
        r->o->on_step(r->o->step_ctx, &r->inv, &r->last, now);
}

static int loop(run_t *r)
{
    uint64_t t0 = cli_mono_ms(), clock0 = r->o->scn->start_ms, next_tx = 0, next_step = clock0;
    int rc = BL_EXIT_OK;

    while (!cli_stop) {
        uint64_t mono = cli_mono_ms(), now = clock0 + (mono - t0), until;
        bl_cap_frame_t cf;
        bl_line_err_t lerr;
        int got;

        if (r->o->duration_ms && mono - t0 >= r->o->duration_ms)
            break;
        if (now >= next_step) {
            decide(r, now);
            next_step = now + STEP_MS;
        }
        if ((rc = send_due(r, now, &next_tx)) != BL_EXIT_OK || cli_stop)
            break;
        until = next_tx < next_step ? next_tx : next_step;
        got = bl_transport_read(&r->t, &cf, (int)(until > now ? until - now : 0), &lerr);
        if (got == 1) {
            cli_record_frame(r->rec, r->t.bus, &cf.f);
            bl_inv_rx(&r->inv, &cf.f, clock0 + (cli_mono_ms() - t0));
        } else if (got == BL_ENOENT) {
            break;
        } else if (got < 0 && got != BL_EBADMSG) {
            cli_err("emulate: %s: %s", r->o->on, bl_strerror(got));
            rc = BL_EXIT_IO;
            break;
        }
    }
    summary(r, cli_mono_ms() - t0);
    return rc;
}

/* ---- RS485: the inverter is the master on a serial line ------------------------------------ */

static void record_bytes(run_t *r, const char *dir, const uint8_t *b, size_t n)
{
    struct timespec ts;
    if (r->rec == NULL)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* a hex485 capture line (bmslink decode --format hex485 reads it) */
    fprintf(r->rec, "(%lld.%06ld) ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
    for (size_t i = 0; i < n; i++)
        fprintf(r->rec, "%02X", b[i]);
    (void)dir; /* a plain hex485 line: the direction is in the frame (Pylon requests and answers differ) */
    fputc('\n', r->rec);
}

static void on_stream(void *ctx, const bl_stream_ev_t *ev)
{
    run_t *r = ctx;
    uint64_t now = r->clock0 + (cli_mono_ms() - r->t0);
    if (ev->kind == BL_SEV_FRAME) {
        record_bytes(r, "battery", ev->data, ev->len);
        bl_inv_rx_bytes(&r->inv, ev->data, ev->len, now);
    } else if (ev->kind == BL_SEV_REJECT) {
        r->inv.rx_rejected[BL_REJ_SYNTAX]++; /* a frame the framer refused: checksum, length, syntax */
    }
}

static int loop_rs(run_t *r)
{
    uint64_t next_step;
    int rc = BL_EXIT_OK;

    r->t0 = cli_mono_ms();
    r->clock0 = r->o->scn->start_ms;
    next_step = r->clock0;
    while (!cli_stop) {
        uint64_t mono = cli_mono_ms(), now = r->clock0 + (mono - r->t0), next;
        long got;
        int n;

        if (r->o->duration_ms && mono - r->t0 >= r->o->duration_ms)
            break;
        if (now >= next_step) {
            decide(r, now);
            next_step = now + STEP_MS;
        }
        n = bl_inv_tx_bytes(&r->inv, now, r->obuf, sizeof r->obuf, &next);
        if (n > 0) {
            if (bl_serial485_write(&r->port, r->obuf, (size_t)n, 500) < 0) {
                r->write_fail++;
            } else {
                r->sent++;
                record_bytes(r, "inverter", r->obuf, (size_t)n);
                if (r->o->count && r->sent >= r->o->count)
                    break;
            }
            continue; /* the answer is awaited inside bl_inv_tx_bytes' reply window */
        }
        if (next_step < next)
            next = next_step;
        got = bl_serial485_read(&r->port, r->ibuf, sizeof r->ibuf, (int)(next > now ? (next - now > 100 ? 100 : next - now) : 0));
        if (got > 0) {
            bl_stream_push(&r->st, r->ibuf, (size_t)got);
        } else if (got < 0) {
            cli_err("emulate: %s: %s", r->o->on, strerror((int)-got));
            rc = BL_EXIT_IO;
            break;
        }
    }
    summary(r, cli_mono_ms() - r->t0);
    return rc;
}

static int open_rs(run_t *r)
{
    char err[256];
    uint32_t baud = r->p->baud ? r->p->baud : r->p->proto->baud ? r->p->proto->baud : 9600;
    if (bl_serial485_parse(r->o->on, baud, &r->port, err, sizeof err) < 0) {
        cli_err("emulate: %s: %s (an RS485 inverter talks on serial:DEV@BAUD)", r->o->on, err);
        return BL_EXIT_USAGE;
    }
    if (bl_serial485_open(&r->port, err, sizeof err) < 0) {
        cli_err("emulate: %s: %s", r->o->on, err);
        return BL_EXIT_IO;
    }
    if (r->port.addr >= 0)
        r->inv.rs_addr = (uint8_t)r->port.addr;
    if (bl_stream_init(&r->st, r->inv.rs->framing, r->fbuf, sizeof r->fbuf, on_stream, r) < 0) {
        bl_serial485_close(&r->port);
        return BL_EXIT_USAGE;
    }
    return BL_EXIT_OK;
}

static int firmware_index(const bl_emulate_opts_t *o, const bl_inv_profile_t *p)
{
    const char *name = o->firmware != NULL ? o->firmware : o->scn->firmware[0] ? o->scn->firmware : NULL;
    if (name == NULL)
        return 0;
    for (unsigned i = 0; i < p->nfw; i++)
        if (strcmp(p->firmware[i], name) == 0)
            return (int)i;
    fprintf(stderr, "bmslink: emulate: profile %s has no firmware '%s'; known: ", p->name, name);
    for (unsigned i = 0; i < p->nfw; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", p->firmware[i]);
    fputc('\n', stderr);
    return -1;
}

int cli_emulate_inverter(const bl_emulate_opts_t *o)
{
    bl_profile_file_t *pf = malloc(sizeof *pf);
    run_t *r = calloc(1, sizeof *r);
    bl_out_t *out = malloc(sizeof *out);
    int rc, fw;

    if (pf == NULL || r == NULL || out == NULL) {
        cli_err("emulate: out of memory");
        rc = BL_EXIT_IO;
        goto done;
    }
    r->o = o;
    r->out = out;
    r->p = &pf->p;
    out_init(out, stdout);
    if (o->loaded != NULL) /* #8: validate has it loaded already */
        r->p = &o->loaded->p;
    else if ((rc = cli_profile_load("emulate", o->profile, pf)) != BL_EXIT_OK)
        goto done;
    if (!cli_profile_runnable("emulate", o->loaded != NULL ? o->loaded : pf)) {
        rc = BL_EXIT_USAGE;
        goto done;
    }
    if ((fw = firmware_index(o, r->p)) < 0) {
        rc = BL_EXIT_USAGE;
        goto done;
    }
    if (bl_inv_init(&r->inv, r->p, (unsigned)fw, o->scn->start_ms) < 0) {
        cli_err("emulate: profile %s cannot run", r->p->name);
        rc = BL_EXIT_USAGE;
        goto done;
    }
    for (unsigned i = 0; i < o->scn->nsettings; i++)
        if (bl_inv_set_setting(&r->inv, o->scn->setting_name[i], o->scn->setting_value[i]) < 0) {
            cli_err("emulate: profile %s has no setting '%s'", r->p->name, o->scn->setting_name[i]);
            rc = BL_EXIT_USAGE;
            goto done;
        }
    if (o->record_path != NULL && (r->rec = fopen(o->record_path, "w")) == NULL) {
        cli_err("emulate: %s: %s", o->record_path, strerror(errno));
        rc = BL_EXIT_IO;
        goto done;
    }
    r->inv.on_event = on_event;
    r->inv.ev_ctx = r;
    if (r->inv.rs != NULL) { /* RS485: the inverter polls on a serial line */
        if ((rc = open_rs(r)) != BL_EXIT_OK)
            goto done;
        cli_catch_signals();
        rc = loop_rs(r);
        bl_serial485_close(&r->port);
        goto done;
    }
    if ((rc = cli_open_live("emulate", o->on, &r->t)) != BL_EXIT_OK)
        goto done;
    cli_catch_signals();
    rc = loop(r);
    bl_transport_close(&r->t);
done:
    if (r != NULL && r->rec != NULL && fclose(r->rec) != 0 && rc == BL_EXIT_OK) {
        cli_err("emulate: %s: %s", o->record_path, strerror(errno));
        rc = BL_EXIT_IO;
    }
    free(pf);
    free(r);
    free(out);
    return rc;
}
