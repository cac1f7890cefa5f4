/*
 * bmslink bridge: what the user sees. The live view (redrawn in place on a terminal, like
 * monitor's, with view.c's helpers), one JSON object per update, events in words, the
 * frames or bytes a dry run would have sent, and the offline summary.
 */
#include "bmslink/gateway.h"
#include "bridge.h"
#include "cli.h"
#include "view.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- time ---- */

uint64_t br_ts_us(const br_t *b, uint64_t ms)
{
    return b->offline ? ms * 1000u : (uint64_t)((int64_t)(ms * 1000u) + b->wall_off_us);
}

void br_fmt_ts(uint64_t us, char *buf, size_t n)
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

void br_add_event(br_t *b, uint64_t ts_us, unsigned kind, const char *text)
{
    br_event_t *e;
    if (b->nev == BR_EVENTS_KEPT) {
        memmove(b->ev, b->ev + 1, sizeof b->ev[0] * (BR_EVENTS_KEPT - 1));
        b->nev--;
    }
    e = &b->ev[b->nev++];
    e->ts_us = ts_us;
    e->kind = (uint8_t)kind;
    snprintf(e->text, sizeof e->text, "%s", text);
    b->ev_total++;
}

void br_on_event(void *ctx, const bl_gw_event_t *e)
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
    case BL_GW_EV_REJECT_RS:
        snprintf(t, sizeof t, "%s: first %s (counted; such replies are never used)", pack_name(b, e->a, who, sizeof who),
                 e->b == BL_RSR_TIMEOUT ? "request without an answer in time" : bl_rsr_str((unsigned)e->b));
        break;
    default: snprintf(t, sizeof t, "%s", bl_gw_ev_str(e->kind)); break;
    }
    br_add_event(b, br_ts_us(b, e->t_ms), e->kind, t);
}

/* ---- frames out ---- */

void br_print_dry_frame(br_t *b, unsigned port, const bl_cap_frame_t *cf, const bl_gw_txinfo_t *info)
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

/* A chunk of RS485 bytes a dry run would have sent: hex485 ("> " answers, "< " requests of the
 * played side), then what it is. */
void br_print_dry_bytes(br_t *b, unsigned port, uint64_t ts_us, const uint8_t *d, size_t n, const bl_gw_txinfo_t *info)
{
    bl_out_t *o = &b->out;
    char ts[32];

    br_fmt_ts(ts_us, ts, sizeof ts);
    if (b->json) {
        o->first = true;
        j_obj(o);
        j_key(o, "ts");
        out_str(o, ts);
        o->first = false;
        j_kstr(o, "to", port == BL_GW_INVERTER ? "inverter" : "pack");
        if (port != BL_GW_INVERTER)
            j_kint(o, "pack", port);
        j_key(o, "data");
        out_ch(o, '"');
        out_hex(o, d, n);
        out_ch(o, '"');
        o->first = false;
        j_kstr(o, "message", info != NULL ? "answer" : "request");
        j_kbool(o, "safe_state", info != NULL && info->safe_state);
        j_end_obj(o);
        out_ch(o, '\n');
        return;
    }
    out_printf(o, "(%s) %s ", ts, info != NULL ? ">" : "<");
    for (size_t i = 0; i < n; i++)
        out_printf(o, "%02X%s", d[i], i + 1 < n ? " " : "");
    out_printf(o, "  -> %s", port == BL_GW_INVERTER ? "inverter" : "pack");
    if (port != BL_GW_INVERTER)
        out_printf(o, " %u", port);
    out_str(o, info != NULL ? " answer" : " request");
    if (info != NULL && info->safe_state)
        out_str(o, " [SAFE STATE]");
    out_ch(o, '\n');
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

/* every reject of a pack: frames (CAN) or replies and timeouts (RS485) */
static uint64_t pack_rejects(const bl_gw_pack_t *k)
{
    uint64_t n = 0;
    for (unsigned r = 1; r < BL_REJ_COUNT; r++)
        n += k->rx_rejected[r];
    for (unsigned r = 1; k->bus != BL_BUS_CAN && r < BL_RSR_COUNT; r++)
        n += k->rs.rejected[r];
    return n;
}

/* a port as a service's monitoring wants it: is the device there? */
static const char *port_state(const br_port_t *p)
{
    if (!p->open)
        return "none";
    return p->down ? "down" : p->eof ? "ended" : "open";
}

static void json_pack(br_t *b, bl_out_t *o, unsigned i)
{
    const bl_gw_pack_t *k = &b->packs[i];
    uint64_t rej = 0;

    o->first = true;
    j_obj(o);
    j_kint(o, "pack", i);
    j_kstr(o, "source", b->pack[i].uri);
    j_kstr(o, "source_state", port_state(&b->pack[i]));
    j_kstr(o, "protocol", k->p->name);
    j_kstr(o, "link", bl_gw_link_str(k->link));
    j_kbool(o, "in_use", k->used);
    if (k->heard_ms == BL_NEVER)
        j_knull(o, "age_s");
    else
        j_kdouble(o, "age_s", (double)age_ms(k, b->gw.now_ms) / 1000.0);
    cli_json_fields(o, "record", &k->rec, UINT32_MAX);
    cli_json_alarms(o, k->rec.active);
    j_kint(o, k->bus == BL_BUS_CAN ? "frames" : "chunks", (int64_t)b->pack[i].items);
    j_kint(o, "decoded", k->rx);
    rej = pack_rejects(k);
    j_kint(o, "rejected", (int64_t)rej);
    j_key(o, "error_reasons");
    j_obj(o);
    for (unsigned r = 1; r < BL_REJ_COUNT; r++)
        if (k->rx_rejected[r])
            j_kint(o, bl_reject_str((bl_reject_t)r), k->rx_rejected[r]);
    for (unsigned r = 1; k->bus != BL_BUS_CAN && r < BL_RSR_COUNT; r++)
        if (k->rs.rejected[r])
            j_kint(o, bl_rsr_str(r), k->rs.rejected[r]);
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
    out_ts(o, br_ts_us(b, gw->now_ms));
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
    j_kstr(o, "destination_state", b->inv_is_file ? "file" : port_state(&b->inv));
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
            br_fmt_ts(b->ev[i].ts_us, ts, sizeof ts);
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
    time_t now = (time_t)(br_ts_us(b, gw->now_ms) / 1000000u);
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
        unsigned from = b->nev > BR_EVENTS_SHOWN ? b->nev - BR_EVENTS_SHOWN : 0;
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

void br_draw(br_t *b)
{
    if (b->mqtt != NULL) {
        const char *uris[BL_GW_MAX_PACKS];
        for (unsigned i = 0; i < b->npacks; i++)
            uris[i] = b->pack[i].uri;
        cli_mqtt_publish(b->mqtt, &b->gw, uris, br_ts_us(b, b->gw.now_ms));
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
void br_summary(br_t *b)
{
    const bl_gw_t *gw = &b->gw;
    char a[32], z[32];

    br_fmt_ts(b->first_ms * 1000u, a, sizeof a);
    br_fmt_ts(b->last_ms * 1000u, z, sizeof z);
    out_printf(&b->out, "bridge %s (%s) -> %s (%s), policy %s\n", b->pack[0].uri, b->pack[0].p->name,
               b->to ? b->to : "-", b->out_p->name, bl_gw_policy_str(gw->cfg.policy));
    out_printf(&b->out, "capture %s .. %s (%.1f s)\n", a, z, (double)(b->last_ms - b->first_ms) / 1000.0);
    for (unsigned i = 0; i < b->npacks; i++) {
        const bl_gw_pack_t *k = &b->packs[i];
        out_printf(&b->out, "pack %u  %s (%s): %llu %s, %u decoded, %llu rejected, lost %u times\n", i,
                   b->pack[i].uri, k->p->name, (unsigned long long)b->pack[i].items,
                   k->bus == BL_BUS_CAN ? "frames" : "lines of bytes", k->rx, (unsigned long long)pack_rejects(k),
                   k->lost);
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
        br_fmt_ts(b->ev[i].ts_us, a, sizeof a);
        out_printf(&b->out, "  %s  %s\n", a, b->ev[i].text);
    }
    out_flush(&b->out);
}

