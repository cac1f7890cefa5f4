/* bmslink protocols [--json] [NAME | --map A B]: what bmslink speaks, from the tables. */
#include "bmslink/lossy.h"
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink protocols [--json] [NAME]\n"
    "       bmslink protocols [--json] --map A B\n"
    "  List the protocols bmslink decodes and encodes (both roles), with bus, bitrate or\n"
    "  baud, id length, who speaks first and confidence. With NAME: its messages, signals,\n"
    "  periods, session rules (which inverter frame makes the battery answer what),\n"
    "  capabilities with step and range, timeouts, safe state, identity facts and sources.\n"
    "  --map A B  what survives translating battery protocol A into inverter-side protocol\n"
    "             B: each canonical field and alarm passes, degrades (with the worst-case\n"
    "             error) or is lost; computed from the capability tables\n"
    "  --json     machine output (CLI.md shape)\n"
    "examples:\n"
    "  bmslink protocols\n"
    "  bmslink protocols pylon-hv:be\n"
    "  bmslink protocols --map byd-hvs pylon-lv\n"
    "  bmslink protocols --json --map victron sma-si\n";

static const char *order_str(unsigned o)
{
    return o == BL_BE ? "big" : "little";
}

static const char *first_str(unsigned f)
{
    return f == BL_FIRST_INVERTER ? "inverter" : "battery";
}

/* decimals that show one step of a milli-unit value */
static unsigned step_dec(int64_t step)
{
    if (step % 1000 == 0)
        return 0;
    if (step % 100 == 0)
        return 1;
    if (step % 10 == 0)
        return 2;
    return 3;
}

/* a capability value of field f: counts in whole units, numbers in the field's unit */
static void out_fval(bl_out_t *o, unsigned f, int64_t milli, unsigned dec)
{
    const bl_field_info_t *fi = bl_field_info(f);
    out_milli(o, milli, fi->kind == BL_FK_INT ? 0 : dec);
}

/* sources "A (x, y), B" -> ["A (x, y)", "B"]: split on top-level commas */
static void json_sources(bl_out_t *o, const char *s)
{
    j_key(o, "sources");
    j_arr(o);
    if (s == NULL)
        s = "";
    while (*s) {
        const char *p = s;
        int depth = 0;
        while (*p && !(*p == ',' && depth == 0)) {
            depth += (*p == '(') - (*p == ')');
            p++;
        }
        j_sep(o);
        out_jstrn(o, s, (size_t)(p - s));
        s = *p ? p + 1 : p;
        while (*s == ' ')
            s++;
    }
    j_end_arr(o);
}

static void json_alarm_list(bl_out_t *o, const char *key, bl_alarm_mask_t m)
{
    j_key(o, key);
    j_arr(o);
    for (unsigned a = 0; a < BL_A_COUNT; a++)
        if (m & (1U << a))
            j_str_el(o, bl_alarm_str(a));
    j_end_arr(o);
}

static void json_caps(bl_out_t *o, const bl_caps_t *caps)
{
    bl_alarm_mask_t all = 0;
    j_key(o, "capabilities");
    j_obj(o);
    j_key(o, "fields");
    j_arr(o);
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if (caps->fields & BL_BIT(i))
            j_str_el(o, bl_field_info(i)->key);
    j_end_arr(o);
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        all |= caps->alarms[c];
    /* per class, as CLI.md's "alarms" arrays name them */
    j_key(o, "alarms");
    j_arr(o);
    for (unsigned a = 0; a < BL_A_COUNT; a++)
        if (all & (1U << a))
            j_str_el(o, bl_alarm_str(a));
    j_end_arr(o);
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        json_alarm_list(o, bl_alarm_class_str(c), caps->alarms[c]);
    j_key(o, "shared");
    j_obj(o);
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        json_alarm_list(o, bl_alarm_class_str(c), caps->shared[c]);
    j_end_obj(o);
    /* step and range per field: what --map and diagnose work from */
    j_key(o, "field_detail");
    j_obj(o);
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
        const bl_field_info_t *fi = bl_field_info(f);
        if (!(caps->fields & BL_BIT(f)))
            continue;
        j_key(o, fi->key);
        j_obj(o);
        if (fi->kind == BL_FK_STR) {
            j_kint(o, "characters", caps->text[f]);
        } else if (fi->kind != BL_FK_BOOL) {
            unsigned dec = step_dec(caps->step[f]);
            j_key(o, "step");
            out_fval(o, f, caps->step[f], dec);
            o->first = false;
            j_key(o, "min");
            out_fval(o, f, caps->lo[f], dec);
            o->first = false;
            j_key(o, "max");
            out_fval(o, f, caps->hi[f], dec);
            o->first = false;
            j_kstr(o, "unit", fi->unit);
        }
        j_kbool(o, "unverified", (caps->unverified & BL_BIT(f)) != 0);
        j_end_obj(o);
    }
    j_end_obj(o);
    j_end_obj(o);
}

static void json_summary(bl_out_t *o, const bl_protocol_t *p)
{
    const bl_protocol_t *r = bl_proto_root(p);
    bl_caps_t caps;

    bl_proto_caps(p, &caps);
    j_kstr(o, "name", p->name);
    j_kstr(o, "title", p->title);
    j_kstr(o, "bus", bl_bus_str(r->bus));
    j_key(o, "roles");
    j_arr(o);
    j_str_el(o, "battery");
    j_str_el(o, "inverter");
    j_end_arr(o);
    if (r->bus == BL_BUS_CAN) {
        j_kint(o, "bitrate", bl_proto_bitrate(p));
        j_knull(o, "baud");
        j_kint(o, "id_bits", r->id_bits);
    } else {
        j_knull(o, "bitrate");
        j_kint(o, "baud", bl_proto_baud(p));
        j_knull(o, "id_bits");
    }
    j_kstr(o, "byte_order", order_str(r->byte_order));
    j_kstr(o, "who_speaks_first", first_str(r->first));
    j_kstr(o, "confidence", bl_conf_str(p->confidence));
    j_kint(o, "timeout_ms", bl_proto_timeout_ms(p));
    j_kint(o, "link_timeout_ms", bl_proto_link_timeout_ms(p));
    if (r->addr_shift)
        j_kint(o, "address_shift", r->addr_shift);
    if (p->base != NULL)
        j_kstr(o, "variant_of", p->base->name);
    json_sources(o, p->sources);
    json_caps(o, &caps);
    if (r->bus != BL_BUS_CAN)
        cli_protocols_rs485_json(o, p, false); /* ---- RS485/Modbus: serial settings ---- */
}

static void json_signal(bl_out_t *o, const bl_signal_t *s)
{
    static const char *const kinds[] = { "number", "bool", "alarm", "pair", "ascii", "version", "mux" };
    const bl_field_info_t *fi = bl_field_info(s->field);
    j_obj(o);
    j_kstr(o, "name", s->name);
    j_kstr(o, "kind", s->kind < BL_ARRAY_LEN(kinds) ? kinds[s->kind] : "number");
    j_kint(o, "start_bit", s->start);
    j_kint(o, "length", s->len);
    j_kstr(o, "byte_order", order_str(s->order));
    j_kbool(o, "signed", (s->flags & BL_SF_SIGNED) != 0);
    if (s->kind == BL_SK_NUM) {
        j_key(o, "scale");
        out_printf(o, "%.10g", (double)s->mul / (s->div > 0 ? s->div : 1) / 1000.0);
        o->first = false;
        j_kmilli(o, "offset", s->offset, 3);
        if (bl_sig_has_range(s)) {
            j_kmilli(o, "min", s->min, 3);
            j_kmilli(o, "max", s->max, 3);
        }
        j_kstr(o, "unit", s->unit);
    }
    if (fi != NULL)
        j_kstr(o, "field", fi->key);
    if (s->kind == BL_SK_ALARM || s->kind == BL_SK_PAIR) {
        j_kstr(o, "class", bl_alarm_class_str(s->aclass));
        json_alarm_list(o, "alarms", (bl_alarm_mask_t)(((s->alarm < BL_A_COUNT) ? (1U << s->alarm) : 0U) | s->also));
    }
    if (s->mux >= 0)
        j_kint(o, "mux", s->mux);
    if (s->flags & BL_SF_ABS)
        j_kbool(o, "magnitude", true);
    if (s->flags & BL_SF_INVALID)
        j_kbool(o, "invalid_marker", true);
    if (s->flags & BL_SF_UNVERIFIED)
        j_kbool(o, "unverified", true);
    if (s->flags & BL_SF_STATE)
        j_kbool(o, "session_state", true);
    if (s->flags & (BL_SF_DECODE_ONLY | BL_SF_NO_STORE))
        j_kbool(o, "decode_only", (s->flags & BL_SF_DECODE_ONLY) != 0);
    if (s->flags & BL_SF_CHECK)
        j_kint(o, "must_be", s->def);
    j_end_obj(o);
}

static void json_messages(bl_out_t *o, const bl_can_codec_t *c)
{
    j_key(o, "messages");
    j_arr(o);
    for (unsigned j = 0; j < c->n; j++) {
        const bl_message_t *m = c->msg[j];
        char id[16];
        snprintf(id, sizeof id, m->ext ? "0x%08X" : "0x%03X", m->id);
        j_obj(o);
        j_kstr(o, "id", id);
        j_kstr(o, "name", m->name);
        j_kbool(o, "extended", m->ext != 0);
        if (m->id_mask) {
            char mk[16];
            snprintf(mk, sizeof mk, "0x%08X", (unsigned)m->id_mask);
            j_kstr(o, "id_mask", mk);
        }
        j_kstr(o, "direction", m->dir == BL_DIR_B2I ? "battery_to_inverter" : "inverter_to_battery");
        j_kint(o, "dlc", m->dlc);
        j_kint(o, "dlc_min", m->dlc_min);
        j_kint(o, "period_ms", m->period_ms);
        j_kbool(o, "sent", c->sends[j] != 0);
        j_kbool(o, "on_request", (m->flags & BL_MF_ON_REQUEST) != 0);
        j_kbool(o, "keepalive", (m->flags & BL_MF_KEEPALIVE) != 0);
        j_kbool(o, "request", (m->flags & BL_MF_REQUEST) != 0);
        j_kbool(o, "event", (m->flags & BL_MF_EVENT) != 0);
        if (m->nmux)
            j_kint(o, "multiplexed", m->nmux);
        j_key(o, "signals");
        j_arr(o);
        for (unsigned i = 0; i < m->nsigs; i++) {
            bl_signal_t s;
            bl_can_sig(c, m, i, &s);
            json_signal(o, &s);
        }
        j_end_arr(o);
        j_end_obj(o);
    }
    j_end_arr(o);
}

static const char *state_name(const bl_protocol_t *p, unsigned st)
{
    size_t n;
    const char *const *names = bl_proto_states(p, &n);
    return (names != NULL && st < n) ? names[st] : "running";
}

static void json_session(bl_out_t *o, const bl_protocol_t *p)
{
    size_t nt, ns, ni;
    const bl_trigger_t *t = bl_proto_triggers(p, &nt);
    const char *const *st = bl_proto_states(p, &ns);
    const bl_idfact_t *id = bl_proto_idfacts(p, &ni);

    j_key(o, "states");
    j_arr(o);
    for (size_t i = 0; i < ns; i++)
        j_str_el(o, st[i]);
    j_end_arr(o);
    j_key(o, "triggers");
    j_arr(o);
    for (size_t i = 0; i < nt; i++) {
        char buf[16];
        j_obj(o);
        snprintf(buf, sizeof buf, t[i].ext ? "0x%08X" : "0x%03X", (unsigned)t[i].req);
        j_kstr(o, "request", buf);
        if (t[i].byte != BL_TRIG_ANY) {
            j_key(o, "match");
            j_arr(o);
            j_obj(o);
            j_kint(o, "byte", t[i].byte);
            j_kint(o, "mask", t[i].mask);
            j_kint(o, "value", t[i].value);
            j_end_obj(o);
            if (t[i].mask2) {
                j_obj(o);
                j_kint(o, "byte", t[i].byte2);
                j_kint(o, "mask", t[i].mask2);
                j_kint(o, "value", t[i].value2);
                j_end_obj(o);
            }
            j_end_arr(o);
        }
        j_key(o, "in_states");
        j_arr(o);
        for (unsigned s = 0; s < (ns ? ns : 1); s++)
            if (!t[i].in_states || (t[i].in_states & (1u << s)))
                j_str_el(o, state_name(p, s));
        j_end_arr(o);
        if (t[i].next_state != BL_STATE_KEEP)
            j_kstr(o, "next_state", state_name(p, t[i].next_state));
        j_kbool(o, "starts_sending", (t[i].action & BL_TA_START) != 0);
        j_key(o, "answers");
        j_arr(o);
        for (const uint32_t *r = t[i].resp; r != NULL && *r; r++) {
            snprintf(buf, sizeof buf, t[i].ext ? "0x%08X" : "0x%03X", (unsigned)*r);
            j_str_el(o, buf);
        }
        j_end_arr(o);
        j_kint(o, "period_ms", t[i].period_ms);
        j_kstr(o, "what", t[i].what);
        j_end_obj(o);
    }
    j_end_arr(o);
    j_key(o, "identity_facts");
    j_arr(o);
    for (size_t i = 0; i < ni; i++) {
        j_obj(o);
        j_kstr(o, "where", id[i].where);
        j_kstr(o, "value", id[i].value);
        j_kstr(o, "means", id[i].means);
        j_end_obj(o);
    }
    j_end_arr(o);
}

static void json_detail(bl_out_t *o, const bl_protocol_t *p)
{
    bl_can_codec_t c;
    bl_alarm_mask_t m[BL_AC_COUNT];

    j_kstr(o, "handshake", bl_proto_handshake(p));
    j_kstr(o, "identity", bl_proto_identity(p));
    j_kstr(o, "on_timeout", bl_proto_on_timeout(p));
    j_key(o, "safe_state");
    j_obj(o);
    for (unsigned k = 0; k < BL_AC_COUNT; k++)
        m[k] = bl_proto_safe(p, k);
    j_kstr(o, "limits", "charge and discharge current limits 0 A, enable flags cleared, voltage limits 0 V or "
                        "the protocol's \"not available\" marker");
    cli_json_alarms(o, m);
    j_end_obj(o);
    json_session(o, p);
    if (bl_can_codec_init(&c, p) == 0)
        json_messages(o, &c);
    else
        cli_protocols_rs485_json(o, p, true); /* ---- RS485/Modbus: commands or registers ---- */
}

static void text_list(bl_out_t *o)
{
    size_t n;
    const bl_protocol_t *const *all = bl_protocols(&n);
    out_printf(o, "%-20s %-6s %-9s %-6s %-6s %-9s %-7s %s\n", "NAME", "BUS", "RATE", "ID", "ORDER", "FIRST",
               "CONF", "TITLE");
    for (size_t i = 0; i < n; i++) {
        const bl_protocol_t *p = all[i], *r = bl_proto_root(p);
        char rate[16], id[8];
        if (r->bus == BL_BUS_CAN) {
            snprintf(rate, sizeof rate, "%uk", (unsigned)(bl_proto_bitrate(p) / 1000u));
            snprintf(id, sizeof id, "%u-bit", r->id_bits);
        } else {
            snprintf(rate, sizeof rate, "%u", (unsigned)bl_proto_baud(p));
            snprintf(id, sizeof id, "-");
        }
        out_printf(o, "%-20s %-6s %-9s %-6s %-6s %-9s %-7s %s\n", p->name, bl_bus_str(r->bus), rate, id,
                   order_str(r->byte_order), first_str(r->first), bl_conf_str(p->confidence), p->title);
    }
    out_printf(o, "\n%zu protocols; every one in both roles (battery and inverter side).\n"
                  "Confidence low = one unconfirmed source or inferred layouts: check against a real device.\n"
                  "bmslink protocols NAME shows messages, signals and capabilities.\n",
               n);
}

static void text_caps(bl_out_t *o, const bl_caps_t *caps)
{
    out_str(o, "carries:\n");
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
        const bl_field_info_t *fi = bl_field_info(f);
        if (!(caps->fields & BL_BIT(f)))
            continue;
        out_printf(o, "  %-27s ", fi->key);
        if (fi->kind == BL_FK_STR) {
            out_printf(o, "%u characters", caps->text[f]);
        } else if (fi->kind == BL_FK_BOOL) {
            out_str(o, "flag");
        } else {
            unsigned dec = step_dec(caps->step[f]);
            out_str(o, "step ");
            out_fval(o, f, caps->step[f], dec);
            out_str(o, ", ");
            out_fval(o, f, caps->lo[f], dec);
            out_str(o, "..");
            out_fval(o, f, caps->hi[f], dec);
            out_printf(o, " %s", fi->unit);
        }
        if (caps->unverified & BL_BIT(f))
            out_str(o, "  (unverified: one source or inferred)");
        out_ch(o, '\n');
    }
    for (unsigned k = 0; k < BL_AC_COUNT; k++) {
        out_printf(o, "  %-27s ", bl_alarm_class_str(k));
        if (!caps->alarms[k])
            out_str(o, "-");
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (caps->alarms[k] & (1U << a))
                out_printf(o, "%s%s ", bl_alarm_str(a), (caps->shared[k] & (1U << a)) ? "*" : "");
        out_ch(o, '\n');
    }
    out_str(o, "  (* only on a bit shared with another alarm)\n");
}

static void text_session(bl_out_t *o, const bl_protocol_t *p)
{
    size_t nt, ns, ni;
    const bl_trigger_t *t = bl_proto_triggers(p, &nt);
    const char *const *st = bl_proto_states(p, &ns);
    const bl_idfact_t *id = bl_proto_idfacts(p, &ni);

    if (nt) {
        out_str(o, "\nsession (inverter frame -> what the battery does):\n");
        if (ns > 1) {
            out_str(o, "  states:");
            for (size_t i = 0; i < ns; i++)
                out_printf(o, " %s%s", st[i], i == 0 ? " (initial)" : "");
            out_ch(o, '\n');
        }
    }
    for (size_t i = 0; i < nt; i++) {
        out_printf(o, t[i].ext ? "  0x%08X" : "  0x%03X", (unsigned)t[i].req);
        if (t[i].byte == BL_TRIG_ANY)
            out_str(o, " any");
        else
            out_printf(o, " byte %u%s0x%02X", t[i].byte, t[i].mask == 0xFF ? " = " : " & mask = ", t[i].value);
        if (t[i].mask2)
            out_printf(o, ", byte %u = 0x%02X", t[i].byte2, t[i].value2);
        if (t[i].in_states) {
            out_str(o, " in");
            for (unsigned s = 0; s < 8; s++)
                if (t[i].in_states & (1u << s))
                    out_printf(o, " %s", state_name(p, s));
        }
        out_str(o, ":");
        if (t[i].action & BL_TA_START)
            out_str(o, " start sending;");
        if (t[i].next_state != BL_STATE_KEEP)
            out_printf(o, " -> %s;", state_name(p, t[i].next_state));
        if (t[i].resp != NULL) {
            out_str(o, " answer");
            for (const uint32_t *r = t[i].resp; *r; r++)
                out_printf(o, t[i].ext ? " 0x%X" : " 0x%03X", (unsigned)*r);
            out_ch(o, ';');
        }
        if (t[i].period_ms)
            out_printf(o, " (inverter sends it every %u ms)", (unsigned)t[i].period_ms);
        out_printf(o, "\n      %s\n", t[i].what);
    }
    if (ni) {
        out_str(o, "\nidentity facts:\n");
        for (size_t i = 0; i < ni; i++)
            out_printf(o, "  %s = %s\n      %s\n", id[i].where, id[i].value, id[i].means);
    }
}

static void text_signal(bl_out_t *o, const bl_signal_t *s)
{
    const bl_field_info_t *fi = bl_field_info(s->field);
    out_printf(o, "      %-28s bit %2u len %2u %s%s", s->name, s->start, s->len, s->order == BL_BE ? "BE" : "LE",
               (s->flags & BL_SF_SIGNED) ? " signed" : "");
    if (s->kind == BL_SK_NUM && s->field != BL_F_NONE)
        out_printf(o, " x%g%+g %s", (double)s->mul / (s->div > 0 ? s->div : 1) / 1000.0, s->offset / 1000.0, s->unit);
    if (s->mux >= 0)
        out_printf(o, " [mux %d]", s->mux);
    if (fi != NULL)
        out_printf(o, " -> %s%s", fi->key, (s->flags & BL_SF_NO_STORE) ? " (sent from it, not read into it)" : "");
    if (s->kind == BL_SK_ALARM || s->kind == BL_SK_PAIR) {
        out_printf(o, " -> %s:", bl_alarm_class_str(s->aclass));
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (s->alarm == a || (s->also & (1U << a)))
                out_printf(o, " %s", bl_alarm_str(a));
        if (s->alarm >= BL_A_COUNT && !s->also)
            out_str(o, " (no canonical alarm)");
        if (s->flags & BL_SF_DECODE_ONLY)
            out_str(o, " (read only)");
    }
    if (s->flags & BL_SF_STATE)
        out_str(o, " = session state");
    if (s->flags & BL_SF_CHECK)
        out_printf(o, " (must be 0x%X)", (unsigned)s->def);
    if (s->flags & BL_SF_ABS)
        out_str(o, " (magnitude)");
    if (s->flags & BL_SF_INVALID)
        out_str(o, " (all-ones / 0x80.. = not available)");
    if (s->flags & BL_SF_UNVERIFIED)
        out_str(o, " (unverified)");
    out_ch(o, '\n');
}

static void text_detail(bl_out_t *o, const bl_protocol_t *p)
{
    const bl_protocol_t *r = bl_proto_root(p);
    const char *hs = bl_proto_handshake(p), *id = bl_proto_identity(p), *ot = bl_proto_on_timeout(p);
    bl_caps_t caps;
    bl_can_codec_t c;

    bl_proto_caps(p, &caps);
    out_printf(o, "%s - %s\n", p->name, p->title);
    if (p->base)
        out_printf(o, "variant of:  %s\n", p->base->name);
    if (r->bus == BL_BUS_CAN)
        out_printf(o, "bus:         %s, %u bit/s, %u-bit ids, %s endian\n", bl_bus_str(r->bus),
                   (unsigned)bl_proto_bitrate(p), r->id_bits, order_str(r->byte_order));
    else
        out_printf(o, "bus:         %s, %u baud, %s endian\n", bl_bus_str(r->bus), (unsigned)bl_proto_baud(p),
                   order_str(r->byte_order));
    out_printf(o, "first:       the %s speaks first\n", first_str(r->first));
    out_printf(o, "confidence:  %s\n", bl_conf_str(p->confidence));
    out_printf(o, "stale after: %u ms\n", (unsigned)bl_proto_timeout_ms(p));
    if (bl_proto_link_timeout_ms(p))
        out_printf(o, "link lost:   after %u ms without an inverter frame (battery role)\n",
                   (unsigned)bl_proto_link_timeout_ms(p));
    out_printf(o, "handshake:   %s\n", hs ? hs : "-");
    out_printf(o, "identity:    %s\n", id ? id : "-");
    out_printf(o, "on timeout:  %s\n", ot ? ot : "-");
    out_str(o, "safe state:  current limits 0 A, enable flags cleared");
    for (unsigned k = 0; k < BL_AC_COUNT; k++)
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (bl_proto_safe(p, k) & (1U << a))
                out_printf(o, ", %s %s", bl_alarm_class_str(k), bl_alarm_str(a));
    out_printf(o, "\nsources:     %s\n", p->sources ? p->sources : "-");
    text_caps(o, &caps);
    if (r->bus != BL_BUS_CAN) {
        cli_protocols_rs485_text(o, p); /* ---- RS485/Modbus: settings, commands, registers ---- */
        return;
    }
    text_session(o, p);
    out_str(o, "\nmessages:\n");
    if (bl_can_codec_init(&c, p) < 0)
        return;
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        char per[32];
        if (m->period_ms)
            snprintf(per, sizeof per, "every %u ms", (unsigned)m->period_ms);
        else if (m->flags & BL_MF_ON_REQUEST)
            snprintf(per, sizeof per, "on request");
        else
            snprintf(per, sizeof per, "on event");
        out_printf(o, m->ext ? "  0x%08X" : "  0x%03X", m->id);
        if (m->id_mask)
            out_printf(o, "+addr");
        out_printf(o, " %-30s %s dlc %u (accepts %u..%u), %s%s%s%s\n", m->name,
                   m->dir == BL_DIR_B2I ? "battery->inverter" : "inverter->battery", m->dlc, m->dlc_min,
                   (m->flags & BL_MF_EMPTY) ? 0u : m->dlc_max ? m->dlc_max : 8u, per,
                   (m->flags & BL_MF_KEEPALIVE) ? ", keep-alive" : "", m->nmux ? ", multiplexed" : "",
                   c.sends[j] ? "" : ", read only");
        for (unsigned i = 0; i < m->nsigs; i++) {
            bl_signal_t s;
            bl_can_sig(&c, m, i, &s);
            text_signal(o, &s);
        }
    }
}

/* ---- protocols --map A B ----------------------------------------------- */

static const char *const why_names[] = { "step", "range", "text", "shared", "class", "unverified", "claims_ok" };

static void map_cell(bl_out_t *o, unsigned f, int32_t step, uint8_t text, bool carried)
{
    const bl_field_info_t *fi = bl_field_info(f);
    char buf[48];
    if (!carried) {
        out_printf(o, " %-14s", "-");
        return;
    }
    if (fi->kind == BL_FK_STR)
        snprintf(buf, sizeof buf, "%u chars", text);
    else if (fi->kind == BL_FK_BOOL)
        snprintf(buf, sizeof buf, "flag");
    else if (fi->kind == BL_FK_INT)
        snprintf(buf, sizeof buf, "1");
    else
        snprintf(buf, sizeof buf, "%.*f %s", (int)step_dec(step), step / 1000.0, fi->unit);
    out_printf(o, " %-14s", buf);
}

static void text_map(bl_out_t *o, const bl_lossy_t *m)
{
    out_printf(o, "%s (battery side) -> %s (inverter side), from the capability tables\n", m->a->name, m->b->name);
    out_printf(o, "fields: %u pass, %u degrade, %u lost (%u not carried by %s)\n", m->fields[BL_LOSSY_PASSES],
               m->fields[BL_LOSSY_DEGRADES], m->fields[BL_LOSSY_LOST], m->fields[BL_LOSSY_ABSENT], m->a->name);
    out_printf(o, "alarms: %u pass, %u degrade, %u lost\n\n", m->alarms[BL_LOSSY_PASSES], m->alarms[BL_LOSSY_DEGRADES],
               m->alarms[BL_LOSSY_LOST]);
    out_printf(o, "%-27s %-14s %-14s %s\n", "FIELD", m->a->name, m->b->name, "RESULT");
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
        const bl_lossy_field_t *x = &m->field[f];
        const bl_field_info_t *fi = bl_field_info(f);
        unsigned dec;
        out_printf(o, "%-27s", fi->key);
        map_cell(o, f, x->step_a, x->text_a, x->status != BL_LOSSY_ABSENT);
        map_cell(o, f, x->step_b, x->text_b, x->status == BL_LOSSY_PASSES || x->status == BL_LOSSY_DEGRADES);
        out_printf(o, " %s", x->status == BL_LOSSY_ABSENT ? "-" : bl_lossy_status_str(x->status));
        dec = step_dec(x->step_b);
        if (x->why & BL_LW_STEP) {
            out_str(o, ", worst-case error ");
            out_fval(o, f, x->max_error, dec > step_dec(x->max_error) ? dec : step_dec(x->max_error));
            out_printf(o, " %s", fi->unit);
        }
        if (x->why & BL_LW_RANGE) {
            dec = step_dec(x->step_a < x->step_b ? x->step_a : x->step_b);
            out_str(o, ", range ");
            out_fval(o, f, x->lo_a, dec);
            out_str(o, "..");
            out_fval(o, f, x->hi_a, dec);
            out_str(o, " -> ");
            out_fval(o, f, x->lo_b, dec);
            out_str(o, "..");
            out_fval(o, f, x->hi_b, dec);
            out_printf(o, " %s", fi->unit);
        }
        if (x->why & BL_LW_TEXT)
            out_printf(o, ", cut to %u characters", x->text_b);
        if (x->status == BL_LOSSY_LOST && (f == BL_F_CVL || f == BL_F_CCL || f == BL_F_DCL))
            out_str(o, " (a limit: the inverter falls back to its own)");
        if (x->why & BL_LW_UNVERIFIED)
            out_str(o, " (unverified row)");
        out_ch(o, '\n');
    }
    out_printf(o, "\n%-27s %-12s %s\n", "ALARM", "CLASS", "RESULT");
    for (unsigned k = 0; k < BL_AC_COUNT; k++)
        for (unsigned a = 0; a < BL_A_COUNT; a++) {
            const bl_lossy_alarm_t *x = &m->alarm[k][a];
            if (x->status == BL_LOSSY_ABSENT && !(x->why & BL_LW_CLAIMS_OK))
                continue;
            out_printf(o, "%-27s %-12s ", bl_alarm_str(a), bl_alarm_class_str(k));
            if (x->status == BL_LOSSY_ABSENT) {
                out_printf(o, "not carried by %s: %s always says \"not raised\"\n", m->a->name, m->b->name);
                continue;
            }
            out_str(o, bl_lossy_status_str(x->status));
            if (x->why & BL_LW_SHARED) {
                out_str(o, ", shares a bit with");
                for (unsigned b = 0; b < BL_A_COUNT; b++)
                    if (x->merged & (1U << b))
                        out_printf(o, " %s", bl_alarm_str(b));
            }
            if (x->why & BL_LW_CLASS)
                out_printf(o, ", %s carries it only as %s", m->b->name, bl_alarm_class_str(x->to_class));
            out_ch(o, '\n');
        }
}

static void json_map(bl_out_t *o, const bl_lossy_t *m)
{
    j_obj(o);
    j_kstr(o, "from", m->a->name);
    j_kstr(o, "to", m->b->name);
    j_key(o, "summary");
    j_obj(o);
    j_key(o, "fields");
    j_obj(o);
    for (unsigned s = 0; s < BL_LOSSY_COUNT; s++)
        j_kint(o, bl_lossy_status_str(s), m->fields[s]);
    j_end_obj(o);
    j_key(o, "alarms");
    j_obj(o);
    for (unsigned s = 0; s < BL_LOSSY_ABSENT; s++)
        j_kint(o, bl_lossy_status_str(s), m->alarms[s]);
    j_end_obj(o);
    j_end_obj(o);
    j_key(o, "fields");
    j_arr(o);
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
        const bl_lossy_field_t *x = &m->field[f];
        const bl_field_info_t *fi = bl_field_info(f);
        j_obj(o);
        j_kstr(o, "field", fi->key);
        j_kstr(o, "status", bl_lossy_status_str(x->status));
        if (x->status != BL_LOSSY_ABSENT && fi->kind != BL_FK_STR && fi->kind != BL_FK_BOOL) {
            unsigned da = step_dec(x->step_a), db = step_dec(x->step_b);
            j_key(o, "from");
            j_obj(o);
            j_key(o, "step");
            out_fval(o, f, x->step_a, da);
            o->first = false;
            j_key(o, "min");
            out_fval(o, f, x->lo_a, da);
            o->first = false;
            j_key(o, "max");
            out_fval(o, f, x->hi_a, da);
            o->first = false;
            j_end_obj(o);
            if (x->status != BL_LOSSY_LOST) {
                j_key(o, "to");
                j_obj(o);
                j_key(o, "step");
                out_fval(o, f, x->step_b, db);
                o->first = false;
                j_key(o, "min");
                out_fval(o, f, x->lo_b, db);
                o->first = false;
                j_key(o, "max");
                out_fval(o, f, x->hi_b, db);
                o->first = false;
                j_end_obj(o);
                j_key(o, "max_error");
                out_fval(o, f, x->max_error, 3);
                o->first = false;
            }
            j_kstr(o, "unit", fi->unit);
        } else if (x->status != BL_LOSSY_ABSENT && fi->kind == BL_FK_STR) {
            j_kint(o, "from_characters", x->text_a);
            if (x->status != BL_LOSSY_LOST)
                j_kint(o, "to_characters", x->text_b);
        }
        j_key(o, "why");
        j_arr(o);
        for (unsigned w = 0; w < BL_ARRAY_LEN(why_names); w++)
            if (x->why & (1u << w))
                j_str_el(o, why_names[w]);
        j_end_arr(o);
        j_end_obj(o);
    }
    j_end_arr(o);
    j_key(o, "alarms");
    j_arr(o);
    for (unsigned k = 0; k < BL_AC_COUNT; k++)
        for (unsigned a = 0; a < BL_A_COUNT; a++) {
            const bl_lossy_alarm_t *x = &m->alarm[k][a];
            if (x->status == BL_LOSSY_ABSENT && !(x->why & BL_LW_CLAIMS_OK))
                continue;
            j_obj(o);
            j_kstr(o, "alarm", bl_alarm_str(a));
            j_kstr(o, "class", bl_alarm_class_str(k));
            j_kstr(o, "status", bl_lossy_status_str(x->status));
            if (x->why & BL_LW_CLASS)
                j_kstr(o, "to_class", bl_alarm_class_str(x->to_class));
            json_alarm_list(o, "merged_with", x->merged);
            j_key(o, "why");
            j_arr(o);
            for (unsigned w = 0; w < BL_ARRAY_LEN(why_names); w++)
                if (x->why & (1u << w))
                    j_str_el(o, why_names[w]);
            j_end_arr(o);
            j_end_obj(o);
        }
    j_end_arr(o);
    j_end_obj(o);
    out_ch(o, '\n');
}

static int run_map(bl_out_t *o, const char *na, const char *nb, bool json)
{
    const bl_protocol_t *a = cli_protocol("protocols", na), *b;
    bl_lossy_t *m = &(bl_lossy_t){ 0 };

    if (a == NULL || (b = cli_protocol("protocols", nb)) == NULL)
        return BL_EXIT_USAGE;
    if (bl_lossy_map(a, b, m) < 0) {
        cli_err("protocols: --map: %s is not a CAN protocol; only CAN protocols have a capability table here",
                bl_proto_root(a)->bus != BL_BUS_CAN ? a->name : b->name);
        return BL_EXIT_USAGE;
    }
    if (json)
        json_map(o, m);
    else
        text_map(o, m);
    return BL_EXIT_OK;
}

int verb_protocols(int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, 0, 'j' }, { "map", no_argument, 0, 'm' },
                                          { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    bool json = false, map = false;
    int ch, rc = BL_EXIT_OK;
    bl_out_t *o = &(bl_out_t){ 0 };

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = true; break;
        case 'm': map = true; break;
        case 'h': return cli_help(usage);
        default: return cli_usage_err(usage, "protocols", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (map && argc - optind != 2)
        return cli_usage_err(usage, "protocols", "--map needs two protocols: A (battery side) and B (inverter side)");
    if (!map && argc - optind > 1)
        return cli_usage_err(usage, "protocols", "one NAME at most");
    out_init(o, stdout);
    if (map) {
        rc = run_map(o, argv[optind], argv[optind + 1], json);
    } else if (optind < argc) {
        const bl_protocol_t *p = cli_protocol("protocols", argv[optind]);
        if (p == NULL)
            return BL_EXIT_USAGE;
        if (json) {
            j_obj(o);
            json_summary(o, p);
            json_detail(o, p);
            j_end_obj(o);
            out_ch(o, '\n');
        } else {
            text_detail(o, p);
        }
    } else if (json) {
        size_t n;
        const bl_protocol_t *const *all = bl_protocols(&n);
        j_arr(o);
        for (size_t i = 0; i < n; i++) {
            j_obj(o);
            json_summary(o, all[i]);
            j_end_obj(o);
        }
        j_end_arr(o);
        out_ch(o, '\n');
    } else {
        text_list(o);
    }
    out_flush(o);
    return rc;
}
