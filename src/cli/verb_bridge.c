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
    "  SRC, DST: socketcan:IFACE, slcan:DEV[@BITRATE], virtual:NAME, - (candump -L on stdin),\n"
    "            or a capture FILE (--from) / a candump -L FILE to write (--to)\n"
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
    "examples:\n"
    "  bmslink bridge --from slcan:/dev/ttyACM0@500000 -P pylon-lv --to socketcan:can1 -p sma-si\n"
    "  bmslink bridge --from pylon.log -P pylon-lv --to out.log -p sma-si && bmslink decode -p sma-si out.log\n"
    "  bmslink bridge --from socketcan:can0 -P pylon-lv --pack pylon-lv=socketcan:can2 --to socketcan:can1 \\\n"
    "      -p victron --site-limits site.yaml --mqtt mqtt://localhost\n";

#define EVENTS_SHOWN 8
#define EVENTS_KEPT 256
#define DRAIN_MAX 4096
#define SLICE_MS 200
#define REOPEN_EVERY_MS 1000

typedef struct {
    const char *uri;
    const bl_protocol_t *p;
    bl_transport_t t;
    bool open;
    bool write_warned;
    /* offline: the next frame of this file */
    bl_cap_frame_t la;
    bool la_ok, eof;
    uint64_t frames;
    uint64_t next_reopen;
    char reopen_err[256];
} port_t;

typedef struct {
    uint64_t ts_us;
    uint8_t kind;
    char text[200];
} event_t;

typedef struct {
    /* options */
    const char *to, *site_path, *mqtt_url, *mqtt_id, *record_path;
    const bl_protocol_t *out_p;
    bool dry_run, json, tty, no_early, offline;
    int policy;
    unsigned fmt;
    uint64_t stale_ms, interval_ms, duration_ms, count, hold_ms;
    uint32_t addr;
    cli_site_file_t site;
    /* ports: packs 0..npacks-1 (pack 0 is --from), the inverter */
    port_t pack[BL_GW_MAX_PACKS];
    unsigned npacks;
    port_t inv;
    bool inv_is_file;
    bl_recorder_t *sink; /* --to FILE */
    bl_recorder_t *rec;  /* --record */
    char sink_bus[BL_BUS_NAME_MAX];
    /* engine */
    bl_gw_cfg_t cfg;
    bl_gw_t gw;
    bl_gw_pack_t packs[BL_GW_MAX_PACKS];
    bl_can_codec_t show; /* reads back what is sent (dry run, the inverter's view) */
    int64_t wall_off_us; /* live: wall clock - monotonic clock */
    uint64_t first_ms, last_ms;
    uint64_t rx, tx_written, tx_failed, tx_dry, pack_tx_unsendable;
    /* view */
    bl_out_t out;
    event_t ev[EVENTS_KEPT];
    unsigned nev;
    uint64_t ev_total, ev_shown_json;
    cli_mqtt_t *mqtt;
} br_t;

/* ---- time ---- */

static uint64_t ts_us_of(const br_t *b, uint64_t ms)
{
    return b->offline ? ms * 1000u : (uint64_t)((int64_t)(ms * 1000u) + b->wall_off_us);
}

static void fmt_ts(uint64_t us, char *buf, size_t n)
{
    snprintf(buf, n, "%llu.%06llu", (unsigned long long)(us / 1000000u), (unsigned long long)(us % 1000000u));
}

/* ---- events ---- */

static const char *pack_name(const br_t *b, int i, char *buf, size_t n)
{
    if (i < 0 || (unsigned)i >= b->npacks)
        snprintf(buf, n, "inverter (%s)", b->to ? b->to : "-");
    else
        snprintf(buf, n, "pack %d (%s on %s)", i, b->pack[i].p->name, b->pack[i].uri);
    return buf;
}

static void add_event(br_t *b, uint64_t ts_us, unsigned kind, const char *text)
{
    event_t *e;
    if (b->nev == EVENTS_KEPT) {
        memmove(b->ev, b->ev + 1, sizeof b->ev[0] * (EVENTS_KEPT - 1));
        b->nev--;
    }
    e = &b->ev[b->nev++];
    e->ts_us = ts_us;
    e->kind = (uint8_t)kind;
    snprintf(e->text, sizeof e->text, "%s", text);
    b->ev_total++;
}

static void on_event(void *ctx, const bl_gw_event_t *e)
{
    br_t *b = ctx;
    char who[200], t[300], v1[32], v2[32];
    const bl_field_info_t *fi;

    switch (e->kind) {
    case BL_GW_EV_PACK_UP: snprintf(t, sizeof t, "%s: heard", pack_name(b, e->a, who, sizeof who)); break;
    case BL_GW_EV_PACK_LOST:
        view_fmt_milli(v1, sizeof v1, e->c, 1);
        snprintf(t, sizeof t, "%s: silent for %s s: dropped from the limits", pack_name(b, e->a, who, sizeof who), v1);
        break;
    case BL_GW_EV_PACK_USED: snprintf(t, sizeof t, "%s: in use", pack_name(b, e->a, who, sizeof who)); break;
    case BL_GW_EV_PACK_UNUSED:
        fi = bl_field_info((unsigned)e->b);
        snprintf(t, sizeof t, "%s: not in use (%s)", pack_name(b, e->a, who, sizeof who),
                 fi ? fi->key : "silent");
        break;
    case BL_GW_EV_SAFE_ENTER:
        snprintf(t, sizeof t, "no pack in use: the inverter gets %s's safe state (0 A limits, safe alarms)",
                 b->out_p->name);
        break;
    case BL_GW_EV_SAFE_LEAVE: snprintf(t, sizeof t, "a pack is in use again: limits go out"); break;
    case BL_GW_EV_CLAMP:
        fi = bl_field_info((unsigned)e->a);
        view_fmt_milli(v1, sizeof v1, e->c, 1);
        view_fmt_milli(v2, sizeof v2, e->d, 1);
        snprintf(t, sizeof t, "%s %s %s clamped to %s %s (%s)", fi ? fi->key : "?", v1, fi ? fi->unit : "", v2,
                 fi ? fi->unit : "", e->b == BL_GW_CLAMP_SITE ? "site limit" : "the most the output protocol carries");
        break;
    case BL_GW_EV_V_MISMATCH:
        view_fmt_milli(v1, sizeof v1, e->c, 2);
        if (e->a)
            snprintf(t, sizeof t, "pack voltages %s V apart: check cabling and pack states", v1);
        else
            snprintf(t, sizeof t, "pack voltages agree again");
        break;
    case BL_GW_EV_INV_UP: snprintf(t, sizeof t, "inverter heard"); break;
    case BL_GW_EV_INV_LOST:
        snprintf(t, sizeof t, "inverter silent past %s's link timeout: the session starts over", b->out_p->name);
        break;
    case BL_GW_EV_OUT_REFUSED:
        fi = bl_field_info((unsigned)e->b);
        snprintf(t, sizeof t, "0x%X: %s does not fit the frame: not sent", (unsigned)e->a, fi ? fi->key : "a value");
        break;
    case BL_GW_EV_REJECT:
        snprintf(t, sizeof t, "%s: first frame rejected for %s (counted; such frames are never used)",
                 pack_name(b, e->a, who, sizeof who), bl_reject_str((bl_reject_t)e->b));
        break;
    default: snprintf(t, sizeof t, "%s", bl_gw_ev_str(e->kind)); break;
    }
    add_event(b, ts_us_of(b, e->t_ms), e->kind, t);
}

/* ---- frames out ---- */

static void print_dry(br_t *b, unsigned port, const bl_cap_frame_t *cf, const bl_gw_txinfo_t *info)
{
    char line[256];
    bl_out_t *o = &b->out;
    bl_record_t r;
    bl_decoded_t d;
    bool decoded;

    if (bl_capture_format_log(cf, line, sizeof line) < 0)
        return;
    bl_record_init(&r);
    decoded = info != NULL && bl_can_decode(&b->show, &cf->f, b->gw.now_ms, &r, &d) == 0;
    if (b->json) {
        o->first = true;
        j_obj(o);
        j_key(o, "ts");
        out_ts(o, cf->ts_us);
        o->first = false;
        j_kstr(o, "to", port == BL_GW_INVERTER ? "inverter" : "pack");
        if (port != BL_GW_INVERTER)
            j_kint(o, "pack", port);
        j_kstr(o, "frame", line + (strchr(line, ' ') ? (size_t)(strrchr(line, ' ') - line) + 1 : 0));
        j_kstr(o, "message", info && info->msg ? info->msg->name : "request");
        if (decoded)
            cli_json_fields(o, "fields", &r, d.fields);
        if (info != NULL) {
            j_kbool(o, "safe_state", info->safe_state);
            j_kbool(o, "early", info->early);
            j_kbool(o, "answer", info->answer);
            j_key(o, "substituted");
            j_arr(o);
            for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
                if (info->enc.substituted & BL_BIT(f))
                    j_str_el(o, bl_field_info(f)->key);
            j_end_arr(o);
        }
        j_end_obj(o);
        out_ch(o, '\n');
        return;
    }
    out_str(o, line);
    out_str(o, port == BL_GW_INVERTER ? "  -> inverter " : "  -> pack ");
    if (port != BL_GW_INVERTER)
        out_printf(o, "%u ", port);
    out_str(o, info && info->msg ? info->msg->name : "request");
    if (decoded)
        for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
            if (d.fields & BL_BIT(f)) {
                char v[64];
                view_fmt_value(&r, f, v, sizeof v);
                out_printf(o, " %s=%s", bl_field_info(f)->key, v);
            }
    if (info != NULL && info->early)
        out_str(o, " [early: a limit shrank or an alarm rose]");
    if (info != NULL && info->answer)
        out_str(o, " [answer]");
    if (info != NULL && info->safe_state)
        out_str(o, " [SAFE STATE]");
    if (info != NULL && info->enc.substituted) {
        out_str(o, " [substituted:");
        for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
            if (info->enc.substituted & BL_BIT(f))
                out_printf(o, " %s", bl_field_info(f)->key);
        out_ch(o, ']');
    }
    out_ch(o, '\n');
}

static void on_tx(void *ctx, unsigned port, const bl_can_frame_t *f, const bl_gw_txinfo_t *info)
{
    br_t *b = ctx;
    bl_cap_frame_t cf;
    port_t *p = port == BL_GW_INVERTER ? &b->inv : (port < b->npacks ? &b->pack[port] : NULL);

    memset(&cf, 0, sizeof cf);
    cf.f = *f;
    cf.ts_us = ts_us_of(b, b->gw.now_ms);
    cf.has_ts = 1;
    cf.dir = 'T';
    snprintf(cf.bus, sizeof cf.bus, "%s", p != NULL && p->open ? p->t.bus : b->sink_bus);
    if (b->dry_run) {
        b->tx_dry++;
        print_dry(b, port, &cf, info);
        return;
    }
    if (port == BL_GW_INVERTER && b->sink != NULL) {
        bl_recorder_add(b->sink, &cf);
        b->tx_written++;
        return;
    }
    if (p == NULL || !p->open || p->t.down) {
        if (port != BL_GW_INVERTER && b->offline)
            return; /* offline the packs are recordings: the polls they got are in them */
        b->tx_failed++;
        return;
    }
    int rc = bl_transport_write(&p->t, &cf);
    if (rc == 0) {
        b->tx_written++;
        return;
    }
    b->tx_failed++;
    if (rc == BL_ENOTSUP && port != BL_GW_INVERTER) {
        b->pack_tx_unsendable++;
        if (!p->write_warned) {
            char msg[300];
            snprintf(msg, sizeof msg, "pack %u: %s cannot carry the requests %s needs (read-only source)", port,
                     p->uri, p->p->name);
            add_event(b, cf.ts_us, BL_GW_EV_COUNT, msg);
            p->write_warned = true;
        }
    } else if (rc == BL_EIO && !p->t.down) {
        p->t.down = true;
        add_event(b, cf.ts_us, BL_GW_EV_COUNT, p->t.err);
    }
}

/* ---- the view ---- */

static void j_kdouble(bl_out_t *o, const char *k, double v)
{
    j_key(o, k);
    out_printf(o, "%.3f", v);
    o->first = false;
}

static void j_milli_or_null(bl_out_t *o, const char *k, int64_t v, unsigned dec)
{
    if (v < 0)
        j_knull(o, k);
    else
        j_kmilli(o, k, v, dec);
}

static uint64_t age_ms(const bl_gw_pack_t *k, uint64_t now)
{
    return k->heard_ms == BL_NEVER || now < k->heard_ms ? 0 : now - k->heard_ms;
}

static void json_limits(br_t *b, bl_out_t *o)
{
    const bl_gw_agg_t *rep = &b->gw.rep;
    static const uint8_t lim[2] = { BL_F_CCL, BL_F_DCL };

    j_key(o, "limits");
    j_obj(o);
    for (unsigned d = 0; d < 2; d++) {
        const bl_field_t *f = &b->gw.agg.f[lim[d]];
        j_key(o, bl_field_info(lim[d])->key);
        j_obj(o);
        j_milli_or_null(o, "policy", rep->policy_mA[d], 1);
        j_milli_or_null(o, "share_cap", rep->share_cap_mA[d], 1);
        if (rep->bound_by[d] != 0xFF)
            j_kint(o, "bound_by_pack", rep->bound_by[d]);
        else
            j_knull(o, "bound_by_pack");
        j_milli_or_null(o, "sent", f->valid ? f->value : -1, 1);
        j_end_obj(o);
    }
    j_end_obj(o);
    j_key(o, "clamped");
    j_arr(o);
    for (unsigned why = 0; why < BL_GW_CLAMP_COUNT; why++)
        for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
            if (rep->clamped[why] & BL_BIT(f)) {
                j_sep(o);
                o->first = true;
                j_obj(o);
                j_kstr(o, "field", bl_field_info(f)->key);
                j_kstr(o, "by", why == BL_GW_CLAMP_SITE ? "site" : "wire");
                j_kmilli(o, "from", rep->before_clamp[f], 3);
                j_kmilli(o, "to", b->gw.agg.f[f].value, 3);
                j_end_obj(o);
                o->first = false;
            }
    j_end_arr(o);
}

static void json_flags(const bl_gw_agg_t *rep, bl_out_t *o)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } fl[] = { { BL_GW_F_SAFE, "safe_state" }, { BL_GW_F_DEGRADED, "packs_dropped" },
               { BL_GW_F_V_MISMATCH, "voltage_mismatch" }, { BL_GW_F_SOC_UNWEIGHTED, "soc_unweighted" },
               { BL_GW_F_CVL_UNSENDABLE, "cvl_unsendable" } };
    j_key(o, "flags");
    j_arr(o);
    for (unsigned i = 0; i < BL_ARRAY_LEN(fl); i++)
        if (rep->flags & fl[i].bit)
            j_str_el(o, fl[i].name);
    j_end_arr(o);
    j_key(o, "derived");
    j_arr(o);
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
        if (rep->derived & BL_BIT(f))
            j_str_el(o, bl_field_info(f)->key);
    j_end_arr(o);
    j_key(o, "folded");
    j_arr(o);
    for (unsigned a = 0; a < BL_A_COUNT; a++)
        if (rep->folded & (1u << a))
            j_str_el(o, bl_alarm_str(a));
    j_end_arr(o);
}

static void json_pack(br_t *b, bl_out_t *o, unsigned i)
{
    const bl_gw_pack_t *k = &b->packs[i];
    uint64_t rej = 0;

    o->first = true;
    j_obj(o);
    j_kint(o, "pack", i);
    j_kstr(o, "source", b->pack[i].uri);
    j_kstr(o, "protocol", k->p->name);
    j_kstr(o, "link", bl_gw_link_str(k->link));
    j_kbool(o, "in_use", k->used);
    if (k->heard_ms == BL_NEVER)
        j_knull(o, "age_s");
    else
        j_kdouble(o, "age_s", (double)age_ms(k, b->gw.now_ms) / 1000.0);
    cli_json_fields(o, "record", &k->rec, UINT32_MAX);
    cli_json_alarms(o, k->rec.active);
    j_kint(o, "frames", (int64_t)b->pack[i].frames);
    j_kint(o, "decoded", k->rx);
    for (unsigned r = 1; r < BL_REJ_COUNT; r++)
        rej += k->rx_rejected[r];
    j_kint(o, "rejected", (int64_t)rej);
    j_key(o, "error_reasons");
    j_obj(o);
    for (unsigned r = 1; r < BL_REJ_COUNT; r++)
        if (k->rx_rejected[r])
            j_kint(o, bl_reject_str((bl_reject_t)r), k->rx_rejected[r]);
    j_end_obj(o);
    j_kint(o, "lost", k->lost);
    j_end_obj(o);
    o->first = false;
}

static void draw_json(br_t *b)
{
    bl_out_t *o = &b->out;
    const bl_gw_t *gw = &b->gw;
    size_t nst;
    const char *const *st = bl_proto_states(b->out_p, &nst);

    o->first = true;
    j_obj(o);
    j_key(o, "ts");
    out_ts(o, ts_us_of(b, gw->now_ms));
    o->first = false;
    j_kstr(o, "in_protocol", b->pack[0].p->name);
    j_kstr(o, "out_protocol", b->out_p->name);
    j_kstr(o, "policy", bl_gw_policy_str(gw->cfg.policy));
    j_kbool(o, "dry_run", b->dry_run);
    j_kbool(o, "holding", gw->holding);
    j_kbool(o, "safe_state", gw->out_safe);
    j_kint(o, "packs_in_use", gw->rep.nused);
    cli_json_fields(o, "record", &gw->agg, UINT32_MAX);
    cli_json_alarms(o, gw->agg.active);
    json_limits(b, o);
    json_flags(&gw->rep, o);
    j_key(o, "packs");
    j_arr(o);
    for (unsigned i = 0; i < b->npacks; i++) {
        j_sep(o);
        json_pack(b, o, i);
    }
    j_end_arr(o);
    j_key(o, "inverter");
    j_obj(o);
    j_kstr(o, "destination", b->to);
    j_kstr(o, "link", bl_gw_link_str(gw->inv_link));
    j_kstr(o, "session_state", gw->out.state < nst && st != NULL ? st[gw->out.state] : NULL);
    j_kbool(o, "started", gw->out.started);
    j_kint(o, "frames_received", (int64_t)gw->rx_inv);
    {
        bl_record_t inv = gw->inv;
        j_key(o, "record");
        j_obj(o);
        for (unsigned f = BL_F_BATTERY_COUNT; f < BL_F_COUNT; f++)
            if (inv.f[f].valid)
                cli_json_field(o, &inv, f);
        j_end_obj(o);
    }
    j_end_obj(o);
    j_key(o, "sent");
    j_obj(o);
    j_kint(o, "frames", (int64_t)gw->tx);
    j_kint(o, "early", (int64_t)gw->tx_early);
    j_kint(o, "answers", (int64_t)gw->tx_answers);
    j_kint(o, "safe_state", (int64_t)gw->tx_safe);
    j_kint(o, "refused", (int64_t)gw->tx_refused);
    j_kint(o, "substituted", (int64_t)gw->substituted);
    j_kint(o, "not_sent", (int64_t)b->tx_failed);
    j_end_obj(o);
    j_key(o, "events");
    j_arr(o);
    {
        uint64_t fresh = b->ev_total - b->ev_shown_json;
        for (unsigned i = fresh < b->nev ? b->nev - (unsigned)fresh : 0; i < b->nev; i++) {
            char ts[32];
            j_sep(o);
            o->first = true;
            j_obj(o);
            fmt_ts(b->ev[i].ts_us, ts, sizeof ts);
            j_key(o, "ts");
            out_str(o, ts);
            o->first = false;
            j_kstr(o, "event", b->ev[i].kind < BL_GW_EV_COUNT ? bl_gw_ev_str(b->ev[i].kind) : "transport");
            j_kstr(o, "text", b->ev[i].text);
            j_end_obj(o);
            o->first = false;
        }
        b->ev_shown_json = b->ev_total;
    }
    j_end_arr(o);
    j_end_obj(o);
    out_ch(o, '\n');
    out_flush(o);
}

static void short_value(const bl_record_t *r, unsigned f, char *v, size_t n)
{
    if (r->f[f].valid)
        view_fmt_value(r, f, v, n);
    else
        snprintf(v, n, "-");
}

static void draw_text(br_t *b)
{
    view_screen_t sc;
    const bl_gw_t *gw = &b->gw;
    static const uint8_t cols[] = { BL_F_SOC, BL_F_VOLTAGE, BL_F_CURRENT, BL_F_CCL, BL_F_DCL, BL_F_CVL };
    char v[6][40], age[32], tbuf[32];
    time_t now = (time_t)(ts_us_of(b, gw->now_ms) / 1000000u);
    struct tm tm;

    view_screen_init(&sc, &b->out, b->tty);
    localtime_r(&now, &tm);
    strftime(tbuf, sizeof tbuf, "%H:%M:%S", &tm);
    if (b->tty)
        out_str(&b->out, "\033[H");
    view_line(&sc, "bmslink bridge  %s -> %s   policy %s%s   %s", b->pack[0].p->name, b->out_p->name,
              bl_gw_policy_str(gw->cfg.policy), b->dry_run ? "   DRY RUN (nothing is sent)" : "", tbuf);
    view_line(&sc, "inverter  %s   link %s   session %s   received %llu", b->to ? b->to : "-",
              bl_gw_link_str(gw->inv_link), gw->out.started ? "started" : "waiting for the inverter",
              (unsigned long long)gw->rx_inv);
    view_line(&sc, "%s", "");
    view_line(&sc, "%-5s %-22s %-8s %-4s %9s %9s %9s %9s %9s %9s %8s", "PACK", "SOURCE", "LINK", "USE", "SOC", "VOLTAGE",
              "CURRENT", "CCL", "DCL", "CVL", "AGE");
    for (unsigned i = 0; i < b->npacks; i++) {
        const bl_gw_pack_t *k = &b->packs[i];
        for (unsigned c = 0; c < BL_ARRAY_LEN(cols); c++)
            short_value(&k->rec, cols[c], v[c], sizeof v[c]);
        if (k->heard_ms == BL_NEVER)
            snprintf(age, sizeof age, "never");
        else
            view_fmt_age(age_ms(k, gw->now_ms), age, sizeof age);
        view_line(&sc, "%-5u %-22.22s %s%-8s%s %-4s %9s %9s %9s %9s %9s %9s %8s", i, b->pack[i].uri,
                  view_hl(&sc, k->link == BL_GW_LINK_TIMEOUT), bl_gw_link_str(k->link),
                  view_hl(&sc, false), k->used ? "yes" : "no", v[0], v[1], v[2], v[3], v[4], v[5], age);
    }
    for (unsigned c = 0; c < BL_ARRAY_LEN(cols); c++)
        short_value(&gw->agg, cols[c], v[c], sizeof v[c]);
    view_line(&sc, "%-5s %-22s %-8s %-4s %9s %9s %9s %9s %9s %9s", "OUT", b->out_p->name, "", "", v[0], v[1], v[2],
              v[3], v[4], v[5]);
    view_line(&sc, "%s", "");
    if (gw->holding)
        view_line(&sc, "output     waiting for every pack (up to the hold time) before speaking");
    else if (gw->out_safe)
        view_line(&sc, "output     %sSAFE STATE%s: limits missing or stale, the inverter gets 0 A", view_hl(&sc, true),
                  view_hl(&sc, false));
    else
        view_line(&sc, "output     %u of %u packs in use", gw->rep.nused, b->npacks);
    for (unsigned d = 0; d < 2; d++) {
        char p[32], s[32];
        if (gw->rep.policy_mA[d] < 0)
            continue;
        view_fmt_milli(p, sizeof p, gw->rep.policy_mA[d], 1);
        view_fmt_milli(s, sizeof s, gw->rep.share_cap_mA[d], 1);
        view_line(&sc, "%-10s %s A by the policy (share cap %s A, bound by pack %u)", d ? "DCL" : "CCL", p, s,
                  (unsigned)gw->rep.bound_by[d]);
    }
    for (unsigned why = 0; why < BL_GW_CLAMP_COUNT; why++)
        for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
            if (gw->rep.clamped[why] & BL_BIT(f)) {
                char from[32], to[32];
                view_fmt_milli(from, sizeof from, gw->rep.before_clamp[f], 1);
                view_fmt_milli(to, sizeof to, gw->agg.f[f].value, 1);
                view_line(&sc, "clamped    %s %s -> %s %s (%s)", bl_field_info(f)->key, from, to, bl_field_info(f)->unit,
                          why == BL_GW_CLAMP_SITE ? "site limit" : "output protocol's maximum");
            }
    if (gw->rep.flags & BL_GW_F_V_MISMATCH) {
        char s[32];
        view_fmt_milli(s, sizeof s, gw->rep.v_spread_mV, 2);
        view_line(&sc, "%sWARNING%s    pack voltages %s V apart", view_hl(&sc, true), view_hl(&sc, false), s);
    }
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        char a[300];
        size_t n = 0;
        a[0] = '\0';
        for (unsigned k = 0; k < BL_A_COUNT; k++)
            if (gw->agg.active[c] & (1u << k))
                n += (size_t)snprintf(a + n, sizeof a - n, "%s%s", n ? " " : "", bl_alarm_str(k));
        view_line(&sc, "%-10s %s%s%s", bl_alarm_class_str(c), n ? view_hl(&sc, true) : "", n ? a : "none",
                  n ? view_hl(&sc, false) : "");
    }
    view_line(&sc, "%s", "");
    view_line(&sc, "sent %llu (early %llu, answers %llu, safe state %llu, refused %llu, not sent %llu)   received %llu",
              (unsigned long long)gw->tx, (unsigned long long)gw->tx_early, (unsigned long long)gw->tx_answers,
              (unsigned long long)gw->tx_safe, (unsigned long long)gw->tx_refused,
              (unsigned long long)b->tx_failed, (unsigned long long)b->rx);
    if (b->nev) {
        unsigned from = b->nev > EVENTS_SHOWN ? b->nev - EVENTS_SHOWN : 0;
        view_line(&sc, "%s", "");
        for (unsigned i = from; i < b->nev; i++) {
            time_t at = (time_t)(b->ev[i].ts_us / 1000000u);
            localtime_r(&at, &tm);
            strftime(tbuf, sizeof tbuf, "%H:%M:%S", &tm);
            view_line(&sc, "%s  %s", tbuf, b->ev[i].text);
        }
    }
    if (b->tty)
        out_str(&b->out, "\033[J");
    else
        out_ch(&b->out, '\n');
    out_flush(&b->out);
}

static void draw(br_t *b)
{
    const char *uris[BL_GW_MAX_PACKS];
    if (b->mqtt != NULL) {
        for (unsigned i = 0; i < b->npacks; i++)
            uris[i] = b->pack[i].uri;
        cli_mqtt_publish(b->mqtt, &b->gw, uris, ts_us_of(b, b->gw.now_ms));
    }
    if (b->dry_run) {
        out_flush(&b->out);
        return; /* stdout carries the frames */
    }
    if (b->json)
        draw_json(b);
    else if (!b->offline)
        draw_text(b);
}

/* Offline text output: what happened, for the integrator. */
static void summary(br_t *b)
{
    const bl_gw_t *gw = &b->gw;
    char a[32], z[32];

    fmt_ts(b->first_ms * 1000u, a, sizeof a);
    fmt_ts(b->last_ms * 1000u, z, sizeof z);
    out_printf(&b->out, "bridge %s (%s) -> %s (%s), policy %s\n", b->pack[0].uri, b->pack[0].p->name,
               b->to ? b->to : "-", b->out_p->name, bl_gw_policy_str(gw->cfg.policy));
    out_printf(&b->out, "capture %s .. %s (%.1f s)\n", a, z, (double)(b->last_ms - b->first_ms) / 1000.0);
    for (unsigned i = 0; i < b->npacks; i++) {
        const bl_gw_pack_t *k = &b->packs[i];
        uint64_t rej = 0;
        for (unsigned r = 1; r < BL_REJ_COUNT; r++)
            rej += k->rx_rejected[r];
        out_printf(&b->out, "pack %u  %s (%s): %llu frames, %u decoded, %llu rejected, lost %u times\n", i,
                   b->pack[i].uri, k->p->name, (unsigned long long)b->pack[i].frames, k->rx,
                   (unsigned long long)rej, k->lost);
    }
    out_printf(&b->out, "inverter  %s (%s): %llu frames written (%llu early, %llu answers), %llu in the safe state, "
               "%llu refused\n",
               b->to ? b->to : "-", b->out_p->name, (unsigned long long)(b->dry_run ? b->tx_dry : b->tx_written),
               (unsigned long long)gw->tx_early, (unsigned long long)gw->tx_answers,
               (unsigned long long)gw->tx_safe, (unsigned long long)gw->tx_refused);
    if (b->ev_total > b->nev)
        out_printf(&b->out, "events (the last %u of %llu):\n", b->nev, (unsigned long long)b->ev_total);
    else if (b->nev)
        out_printf(&b->out, "events:\n");
    for (unsigned i = 0; i < b->nev; i++) {
        fmt_ts(b->ev[i].ts_us, a, sizeof a);
        out_printf(&b->out, "  %s  %s\n", a, b->ev[i].text);
    }
    out_flush(&b->out);
}

/* ---- offline: capture files in capture time ---- */

/* Next frame of a file port into its look-ahead; false at the end. */
static int fetch(br_t *b, port_t *p)
{
    while (!p->eof && !p->la_ok) {
        bl_line_err_t le;
        int r = bl_transport_read(&p->t, &p->la, -1, &le);
        if (r == 1) {
            if (!p->la.has_ts) {
                cli_err("%s:%llu: no timestamp: an offline translation needs the capture's time (candump -L or -t a)",
                        p->uri, (unsigned long long)p->t.line);
                return BL_EXIT_IO;
            }
            p->la_ok = true;
        } else if (r == BL_ENOENT) {
            p->eof = true;
        } else if (r == BL_EBADMSG) {
            cli_err("%s:%llu: %s (column %u): skipped", p->uri, (unsigned long long)p->t.line, le.what,
                    (unsigned)le.col);
        } else if (r < 0) {
            cli_err("%s:%llu: %s", p->uri, (unsigned long long)p->t.line, p->t.err);
            return BL_EXIT_IO;
        }
    }
    (void)b;
    return BL_EXIT_OK;
}

static void run_until(br_t *b, uint64_t *next, uint64_t t, uint64_t *next_draw)
{
    bool ticks = b->json || b->mqtt != NULL;
    while (*next <= t || (ticks && *next_draw <= t)) {
        if (ticks && *next_draw <= *next && *next_draw <= t) {
            /* an update in capture time: the record as it stands at that moment */
            uint64_t at = *next_draw;
            if (at > b->gw.now_ms)
                *next = bl_gw_step(&b->gw, at);
            draw(b);
            *next_draw = at + b->interval_ms;
            continue;
        }
        *next = bl_gw_step(&b->gw, *next);
    }
}

static int run_offline(br_t *b)
{
    uint64_t next = 0, next_draw = 0;
    int rc;
    bool started = false;

    for (;;) {
        port_t *best = NULL;
        unsigned bi = 0;
        for (unsigned i = 0; i < b->npacks; i++) {
            if ((rc = fetch(b, &b->pack[i])) != BL_EXIT_OK)
                return rc;
            if (b->pack[i].la_ok && (best == NULL || b->pack[i].la.ts_us < best->la.ts_us)) {
                best = &b->pack[i];
                bi = i;
            }
        }
        if (best == NULL)
            break;
        uint64_t t = best->la.ts_us / 1000u;
        if (!started) {
            if (bl_gw_init(&b->gw, &b->cfg, b->packs, b->npacks, t) < 0)
                return BL_EXIT_USAGE;
            b->first_ms = t;
            next = t;
            next_draw = t + b->interval_ms;
            started = true;
        }
        if (t < b->gw.now_ms)
            t = b->gw.now_ms; /* files merged out of order by a few µs: keep time monotonic */
        if (b->duration_ms && t - b->first_ms > b->duration_ms)
            break;
        run_until(b, &next, t, &next_draw);
        best->la_ok = false;
        best->frames++;
        b->rx++;
        (void)bl_gw_rx(&b->gw, bi, &best->la.f, t);
        next = bl_gw_step(&b->gw, t);
        b->last_ms = t;
        if (b->count && b->rx >= b->count)
            break;
    }
    if (!started) {
        cli_err("%s: no CAN frames", b->pack[0].uri);
        return BL_EXIT_IO;
    }
    if (b->duration_ms && b->first_ms + b->duration_ms > b->last_ms)
        b->last_ms = b->first_ms + b->duration_ms; /* --duration beyond the input: the silence goes on */
    run_until(b, &next, b->last_ms, &next_draw);
    draw(b);
    if (!b->json && !b->dry_run)
        summary(b);
    return BL_EXIT_OK;
}

/* ---- live ---- */

static void try_reopen(br_t *b, port_t *p, uint64_t now)
{
    char err[256];
    if (now < p->next_reopen)
        return;
    p->next_reopen = now + REOPEN_EVERY_MS;
    if (bl_transport_reopen(&p->t, err, sizeof err) == 0) {
        char msg[300];
        p->reopen_err[0] = '\0';
        snprintf(msg, sizeof msg, "%s: reconnected", p->uri);
        add_event(b, ts_us_of(b, now), BL_GW_EV_COUNT, msg);
        return;
    }
    if (strcmp(err, p->reopen_err) != 0) {
        char msg[400];
        snprintf(p->reopen_err, sizeof p->reopen_err, "%s", err);
        snprintf(msg, sizeof msg, "%s: cannot reopen yet (retrying every second): %s", p->uri, err);
        add_event(b, ts_us_of(b, now), BL_GW_EV_COUNT, msg);
    }
}

/* Read what a port has (at most DRAIN_MAX frames); returns frames handed to the engine, < 0 at its end. */
static int drain(br_t *b, port_t *p, unsigned port)
{
    int n = 0;
    for (unsigned k = 0; k < DRAIN_MAX; k++) {
        bl_cap_frame_t cf;
        bl_line_err_t le;
        int r = bl_transport_read(&p->t, &cf, 0, &le);
        if (r == 1) {
            p->frames++;
            b->rx++;
            (void)bl_gw_rx(&b->gw, port, &cf.f, bl_clock_mono_ms());
            n++;
            continue;
        }
        if (r == BL_EBADMSG)
            continue; /* counted by the transport, shown with its stats */
        if (r == BL_ENOENT)
            return p->eof = true, -1;
        if (r < 0 && !p->t.down) {
            p->t.down = true;
            add_event(b, ts_us_of(b, bl_clock_mono_ms()), BL_GW_EV_COUNT, p->t.err);
        }
        break;
    }
    return n;
}

static bool done(const br_t *b, uint64_t start)
{
    return live_stopped() || (b->count && b->rx >= b->count) ||
           (b->duration_ms && bl_clock_mono_ms() - start >= b->duration_ms);
}

static int run_live(br_t *b)
{
    uint64_t start = bl_clock_mono_ms(), next = start, next_draw = start;
    port_t *ports[BL_GW_MAX_PACKS + 1];
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
    while (!done(b, start)) {
        struct pollfd pfd[BL_GW_MAX_PACKS + 1];
        unsigned map[BL_GW_MAX_PACKS + 1], nfd = 0;
        uint64_t now = bl_clock_mono_ms(), wait;
        bool got = false, inputs_left = false;

        if (now >= next)
            next = bl_gw_step(&b->gw, now);
        if (now >= next_draw) {
            draw(b);
            next_draw = now + b->interval_ms;
        }
        for (unsigned k = 0; k < np; k++) {
            port_t *p = ports[k];
            if (p->eof)
                continue;
            if (id[k] != BL_GW_INVERTER)
                inputs_left = true;
            if (p->t.down || p->t.ops == NULL) {
                try_reopen(b, p, now);
                continue;
            }
            if (p->t.fd >= 0) {
                pfd[nfd].fd = p->t.fd;
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
        if (poll(pfd, nfd, (int)wait) > 0)
            for (unsigned i = 0; i < nfd; i++)
                if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                    got = drain(b, ports[map[i]], id[map[i]]) > 0 || got;
        if (got) /* answers and early frames now, not at the next deadline */
            next = bl_gw_step(&b->gw, bl_clock_mono_ms());
        bl_recorder_tick(b->sink);
    }
    next = bl_gw_step(&b->gw, bl_clock_mono_ms());
    draw(b);
    if (b->tty && !b->json && !b->dry_run)
        out_str(&b->out, "\033[?25h");
    out_flush(&b->out);
    return BL_EXIT_OK;
}

/* ---- options ---- */

enum {
    OPT_FROM = 256, OPT_TO, OPT_PACK, OPT_POLICY, OPT_SITE, OPT_STALE, OPT_DRY, OPT_MQTT, OPT_MQTT_ID, OPT_JSON,
    OPT_INTERVAL, OPT_NO_EARLY, OPT_HOLD, OPT_ADDRESS, OPT_DURATION, OPT_RECORD, OPT_FORMAT
};

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
    for (unsigned i = 0; i < b->npacks; i++)
        if (bl_proto_root(b->pack[i].p)->bus != BL_BUS_CAN)
            return cli_usage_err(usage, "bridge", "%s is not a CAN protocol; this build bridges CAN buses",
                                 b->pack[i].p->name);
    if (bl_proto_root(b->out_p)->bus != BL_BUS_CAN)
        return cli_usage_err(usage, "bridge", "%s is not a CAN protocol; this build bridges CAN buses", b->out_p->name);
    (void)in;
    return 0;
}

/* ---- setup ---- */

#define SITE_FILE_MAX (64u * 1024u)

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
    if (buf == NULL || n > SITE_FILE_MAX) {
        cli_err("--site-limits %s: %s", path, buf ? "larger than 64 KiB: not a site-limits file" : "out of memory");
        free(buf);
        return buf ? BL_EXIT_USAGE : BL_EXIT_IO;
    }
    rc = cli_site_parse(path, buf, n, out, err, sizeof err);
    if (rc != BL_EXIT_OK)
        cli_err("%s", err);
    free(buf);
    return rc;
}

static int open_ports(br_t *b)
{
    unsigned files = 0;
    int rc;

    for (unsigned i = 0; i < b->npacks; i++) {
        if ((rc = live_open(&b->pack[i].t, b->pack[i].uri, b->fmt, b->rec)) != BL_EXIT_OK)
            return rc;
        b->pack[i].open = true;
        files += !b->pack[i].t.live;
    }
    if (files != 0 && files != b->npacks)
        return cli_usage_err(usage, "bridge", "mix of capture files and live sources: use only files (an offline "
                             "translation in capture time) or only live sources");
    b->offline = files != 0;
    if (b->to != NULL) {
        b->inv_is_file = strcmp(bl_transport_scheme(b->to), "file") == 0;
        if (b->inv_is_file && strcmp(b->to, "-") == 0)
            return cli_usage_err(usage, "bridge", "--to -: write the translation to a file (or use --dry-run)");
        if (!b->inv_is_file && b->offline)
            return cli_usage_err(usage, "bridge", "a capture file as --from translates into a file: --to FILE "
                                 "(not %s)", b->to);
    }
    if (b->to != NULL && b->inv_is_file && !b->dry_run) {
        char err[256];
        const char *path = strncmp(b->to, "file:", 5) == 0 ? b->to + 5 : b->to;
        if ((b->sink = bl_recorder_open(path, err, sizeof err)) == NULL) {
            cli_err("--to %s: cannot open: %s", b->to, err);
            return BL_EXIT_IO;
        }
    } else if (b->to != NULL && !b->inv_is_file) {
        if ((rc = live_open(&b->inv.t, b->to, BL_FMT_AUTO, b->rec)) != BL_EXIT_OK)
            return rc;
        b->inv.open = true;
        b->inv.uri = b->to;
    }
    snprintf(b->sink_bus, sizeof b->sink_bus, "%s", "can1");
    return BL_EXIT_OK;
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
    cfg->out_addr = b->addr;
    cfg->poll_packs = !b->offline && !b->dry_run;
    /* offline, an inverter that speaks first is played from its tables: the log is a whole session */
    cfg->play_inverter = b->offline && bl_proto_root(b->out_p)->first == BL_FIRST_INVERTER;
    cfg->tx = on_tx;
    cfg->on_event = on_event;
    cfg->ctx = b;
    for (unsigned i = 0; i < b->npacks; i++)
        if ((rc = bl_gw_pack_init(&b->packs[i], b->pack[i].p, b->stale_ms)) < 0) {
            cli_err("bridge: %s: %s", b->pack[i].p->name, bl_strerror(rc));
            return BL_EXIT_USAGE;
        }
    if (bl_can_codec_init(&b->show, b->out_p) < 0)
        return BL_EXIT_USAGE;
    return BL_EXIT_OK;
}

static void close_all(br_t *b, int *rc)
{
    char err[320];
    for (unsigned i = 0; i < b->npacks; i++)
        if (b->pack[i].open) {
            if (!b->offline || live_stopped())
                live_print_stats(stderr, &b->pack[i].t);
            bl_transport_close(&b->pack[i].t);
        }
    if (b->inv.open) {
        live_print_stats(stderr, &b->inv.t);
        bl_transport_close(&b->inv.t);
    }
    if (b->sink != NULL && bl_recorder_close(b->sink, err, sizeof err) < 0) {
        cli_err("--to %s", err);
        if (*rc == BL_EXIT_OK)
            *rc = BL_EXIT_IO;
    }
    if (live_record_close(b->rec) != BL_EXIT_OK && *rc == BL_EXIT_OK)
        *rc = BL_EXIT_IO;
    if (b->mqtt != NULL) {
        unsigned lost = cli_mqtt_close(b->mqtt, 2000);
        if (lost)
            cli_err("--mqtt %s: %u messages not acknowledged by the broker", b->mqtt_url, lost);
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
    if (from != NULL && in != NULL) { /* --from is pack 0 */
        memmove(&b->pack[1], &b->pack[0], sizeof b->pack[0] * b->npacks);
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
    if ((rc = open_ports(b)) != BL_EXIT_OK || (rc = setup_engine(b)) != BL_EXIT_OK)
        goto out_close;
    if (b->mqtt_url != NULL &&
        (rc = cli_mqtt_open(&b->mqtt, b->mqtt_url, b->mqtt_id ? b->mqtt_id : "bridge")) != BL_EXIT_OK)
        goto out_close;
    rc = b->offline ? run_offline(b) : run_live(b);
out_close:
    close_all(b, &rc);
out:
    free(b);
    return rc;
}
