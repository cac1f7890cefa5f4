/*
 * emulate battery on CAN: be the BMS on a real or virtual bus. The protocol
 * table says the role (src/engines/battery_can.c: broadcast or wait for the
 * inverter, answer requests, follow its keep-alive); the battery source says
 * what to send (by default the simulated pack with its BMS, stepped in real
 * time, with the scenario's faults).
 */
#include "bmslink/battery_can.h"
#include "bmslink/faults.h"
#include "cli.h"
#include "emulate.h"
#include "sim_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS 100 /* the longest we sleep on the bus: the source steps at least this often */

typedef struct {
    const bl_emulate_opts_t *o;
    bl_out_t *out;
    bl_transport_t t;
    bl_batcan_t b;
    FILE *rec;
    uint64_t sent, write_fail;
} run_t;

static void on_event(void *ctx, const bl_sim_event_t *e)
{
    run_t *r = ctx;
    if (r->o->json) {
        r->out->first = true; /* one JSON object per line */
        cli_event_json(r->out, e, r->o->scn, NULL);
        out_ch(r->out, '\n');
    } else {
        cli_event_text(r->out, e, r->o->scn, NULL);
    }
    out_flush(r->out);
}

static void summary(run_t *r, uint64_t ran_ms)
{
    const bl_batcan_t *b = &r->b;
    bl_out_t *o = r->out;

    if (r->o->json) {
        o->first = true;
        j_obj(o);
        j_kstr(o, "summary", "emulate battery");
        j_kstr(o, "protocol", r->o->p->name);
        j_kstr(o, "on", r->o->on);
        j_kmilli(o, "ran_s", (int64_t)ran_ms, 3);
        j_kint(o, "sent", (int64_t)r->sent);
        j_kint(o, "send_failed", (int64_t)r->write_fail);
        j_kint(o, "heard", b->rx);
        j_key(o, "rejected");
        j_obj(o);
        for (unsigned k = 1; k < BL_REJ_COUNT; k++)
            if (b->rx_rejected[k])
                j_kint(o, bl_reject_str(k), b->rx_rejected[k]);
        j_end_obj(o);
        j_kint(o, "requests", b->requests);
        j_kstr(o, "link", bl_link_str(b->link));
        j_kint(o, "safe_state_frames", b->safe_frames);
        j_kint(o, "substituted_fields", b->substituted);
        j_kint(o, "refused", b->tx_refused);
        j_end_obj(o);
        out_ch(o, '\n');
    } else {
        out_printf(o, "emulate battery %s on %s: %llu frames sent (%llu failed), %u heard", r->o->p->name, r->o->on,
                   (unsigned long long)r->sent, (unsigned long long)r->write_fail, (unsigned)b->rx);
        for (unsigned k = 1; k < BL_REJ_COUNT; k++)
            if (b->rx_rejected[k])
                out_printf(o, ", %u rejected (%s)", (unsigned)b->rx_rejected[k], bl_reject_str(k));
        out_printf(o, ", %u requests answered, inverter link %s, %u frames in the safe state, %u refused\n",
                   (unsigned)b->requests, bl_link_str(b->link), (unsigned)b->safe_frames, (unsigned)b->tx_refused);
    }
    out_flush(o);
}

/* Send what is due; returns BL_EXIT_IO when the bus is gone, else BL_EXIT_OK. */
static int send_due(run_t *r, const bl_record_t *rec, uint64_t now, uint64_t *next)
{
    bl_battery_source_t *src = r->o->src;
    bl_can_frame_t out[BL_CAN_MAX_MSGS];
    unsigned n;

    if (src->silent) { /* comm loss or bus-off in force: nothing leaves */
        *next = now + POLL_MS;
        return BL_EXIT_OK;
    }
    n = bl_batcan_tx(&r->b, rec, now, out, BL_CAN_MAX_MSGS, next, NULL);
    for (unsigned k = 0; k < n; k++) {
        if (src->wire != NULL)
            src->wire(src, &r->b.codec, &out[k]);
        if (cli_emulate_send(&r->t, r->o->on, r->rec, &out[k], r->o->count, &r->sent, &r->write_fail) != 0)
            return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

static int loop(run_t *r)
{
    bl_battery_source_t *src = r->o->src;
    uint64_t t0 = cli_mono_ms(), next = 0;
    int rc = BL_EXIT_OK;

    while (!cli_stop) {
        uint64_t mono = cli_mono_ms(), now = src->clock0_ms + (mono - t0), wait;
        const bl_record_t *rec;
        bl_cap_frame_t cf;
        bl_line_err_t lerr;
        int got;

        if (r->o->duration_ms && mono - t0 >= r->o->duration_ms)
            break;
        rec = src->step(src, now);
        if ((rc = send_due(r, rec, now, &next)) != BL_EXIT_OK || cli_stop)
            break;
        wait = next > now ? next - now : 0;
        if (wait > POLL_MS)
            wait = POLL_MS;
        got = bl_transport_read(&r->t, &cf, (int)wait, &lerr);
        if (got == 1) {
            cli_record_frame(r->rec, r->t.bus, &cf.f);
            if (!src->deaf)
                bl_batcan_rx(&r->b, &cf.f, src->clock0_ms + (cli_mono_ms() - t0));
        } else if (got == BL_ENOENT) {
            break; /* the source ended (a pipe closed) */
        } else if (got < 0 && got != BL_EBADMSG) {
            cli_err("emulate: %s: %s", r->o->on, bl_strerror(got));
            rc = BL_EXIT_IO;
            break;
        }
    }
    summary(r, cli_mono_ms() - t0);
    return rc;
}

int cli_emulate_battery_can(const bl_emulate_opts_t *o)
{
    run_t *r = calloc(1, sizeof *r);
    bl_out_t *out = malloc(sizeof *out);
    int rc;

    if (r == NULL || out == NULL) {
        free(r);
        free(out);
        cli_err("emulate: out of memory");
        return BL_EXIT_IO;
    }
    r->o = o;
    r->out = out;
    out_init(out, stdout);
    if (bl_batcan_init(&r->b, o->p, o->src->clock0_ms) < 0) {
        cli_err("emulate: %s is not a CAN protocol", o->p->name);
        rc = BL_EXIT_USAGE;
        goto done;
    }
    if (o->record_path != NULL && (r->rec = fopen(o->record_path, "w")) == NULL) {
        cli_err("emulate: %s: %s", o->record_path, strerror(errno));
        rc = BL_EXIT_IO;
        goto done;
    }
    if ((rc = cli_open_live("emulate", o->on, &r->t)) != BL_EXIT_OK)
        goto done;
    r->b.on_event = on_event;
    r->b.ev_ctx = r;
    cli_battery_source_events(o->src, on_event, r);
    o->src->inv = &r->b.inv;
    cli_catch_signals();
    rc = loop(r);
    bl_transport_close(&r->t);
done:
    if (r->rec != NULL && fclose(r->rec) != 0 && rc == BL_EXIT_OK) {
        cli_err("emulate: %s: %s", o->record_path, strerror(errno));
        rc = BL_EXIT_IO;
    }
    free(r);
    free(out);
    return rc;
}
