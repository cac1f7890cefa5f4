/* bmslink protocols [--json] [NAME]: what bmslink speaks, from the tables. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink protocols [--json] [NAME]\n"
    "  List the protocols bmslink decodes and encodes (both roles), with bus, bitrate or\n"
    "  baud, id length, who speaks first and confidence. With NAME: its messages, signals,\n"
    "  periods, capabilities, timeouts, safe state and sources.\n"
    "  --json   machine output (CLI.md shape)\n"
    "examples:\n"
    "  bmslink protocols\n"
    "  bmslink protocols pylon-lv\n"
    "  bmslink protocols --json pylon-lv:v13\n";

static const char *order_str(unsigned o)
{
    return o == BL_BE ? "big" : "little";
}

static const char *first_str(unsigned f)
{
    return f == BL_FIRST_INVERTER ? "inverter" : "battery";
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
    j_key(o, "alarms");
    j_arr(o);
    for (unsigned a = 0; a < BL_A_COUNT; a++)
        if (all & (1U << a))
            j_str_el(o, bl_alarm_str(a));
    j_end_arr(o);
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        char key[32];
        snprintf(key, sizeof key, "%s", bl_alarm_class_str(c));
        j_key(o, key);
        j_arr(o);
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (caps->alarms[c] & (1U << a))
                j_str_el(o, bl_alarm_str(a));
        j_end_arr(o);
    }
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
        j_kint(o, "baud", r->baud);
        j_knull(o, "id_bits");
    }
    j_kstr(o, "byte_order", order_str(r->byte_order));
    j_kstr(o, "who_speaks_first", first_str(r->first));
    j_kstr(o, "confidence", bl_conf_str(p->confidence));
    j_kint(o, "timeout_ms", bl_proto_timeout_ms(p));
    if (p->base != NULL)
        j_kstr(o, "variant_of", p->base->name);
    json_sources(o, p->sources);
    json_caps(o, &caps);
}

static void json_signal(bl_out_t *o, const bl_signal_t *s)
{
    static const char *const kinds[] = { "number", "bool", "alarm", "pair", "ascii", "version", "mux" };
    const bl_field_info_t *fi = bl_field_info(s->field);
    j_obj(o);
    j_kstr(o, "name", s->name);
    j_kstr(o, "kind", kinds[s->kind]);
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
        j_key(o, "alarms");
        j_arr(o);
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if ((s->alarm == a) || (s->also & (1U << a)))
                j_str_el(o, bl_alarm_str(a));
        j_end_arr(o);
    }
    if (s->mux >= 0)
        j_kint(o, "mux", s->mux);
    if (s->flags & BL_SF_ABS)
        j_kbool(o, "magnitude", true);
    if (s->flags & BL_SF_INVALID)
        j_kbool(o, "invalid_marker", true);
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
        j_kstr(o, "direction", m->dir == BL_DIR_B2I ? "battery_to_inverter" : "inverter_to_battery");
        j_kint(o, "dlc", m->dlc);
        j_kint(o, "dlc_min", m->dlc_min);
        j_kint(o, "period_ms", m->period_ms);
        j_kbool(o, "sent", c->sends[j] != 0);
        j_kbool(o, "on_request", (m->flags & BL_MF_ON_REQUEST) != 0);
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

static void json_detail(bl_out_t *o, const bl_protocol_t *p)
{
    bl_can_codec_t c;
    j_kstr(o, "handshake", p->handshake ? p->handshake : bl_proto_root(p)->handshake);
    j_kstr(o, "identity", p->identity ? p->identity : bl_proto_root(p)->identity);
    j_kstr(o, "on_timeout", p->on_timeout ? p->on_timeout : bl_proto_root(p)->on_timeout);
    j_key(o, "safe_state");
    j_obj(o);
    {
        bl_alarm_mask_t m[BL_AC_COUNT];
        for (unsigned k = 0; k < BL_AC_COUNT; k++)
            m[k] = p->safe[k] ? p->safe[k] : bl_proto_root(p)->safe[k];
        j_kstr(o, "limits", "charge and discharge current limits 0 A, enable flags cleared");
        cli_json_alarms(o, m);
    }
    j_end_obj(o);
    if (bl_can_codec_init(&c, p) == 0)
        json_messages(o, &c);
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
            snprintf(rate, sizeof rate, "%u", (unsigned)r->baud);
            snprintf(id, sizeof id, "-");
        }
        out_printf(o, "%-20s %-6s %-9s %-6s %-6s %-9s %-7s %s\n", p->name, bl_bus_str(r->bus), rate, id,
                   order_str(r->byte_order), first_str(r->first), bl_conf_str(p->confidence), p->title);
    }
    out_printf(o, "\n%zu protocols; every one in both roles (battery and inverter side).\n"
                  "bmslink protocols NAME shows messages, signals and capabilities.\n",
               n);
}

static void text_detail(bl_out_t *o, const bl_protocol_t *p)
{
    const bl_protocol_t *r = bl_proto_root(p);
    bl_caps_t caps;
    bl_can_codec_t c;

    bl_proto_caps(p, &caps);
    out_printf(o, "%s — %s\n", p->name, p->title);
    if (p->base)
        out_printf(o, "variant of:  %s\n", p->base->name);
    out_printf(o, "bus:         %s, %u bit/s, %u-bit ids, %s endian\n", bl_bus_str(r->bus),
               (unsigned)bl_proto_bitrate(p), r->id_bits, order_str(r->byte_order));
    out_printf(o, "first:       the %s speaks first\n", first_str(r->first));
    out_printf(o, "confidence:  %s\n", bl_conf_str(p->confidence));
    out_printf(o, "stale after: %u ms\n", (unsigned)bl_proto_timeout_ms(p));
    out_printf(o, "handshake:   %s\n", p->handshake ? p->handshake : r->handshake ? r->handshake : "-");
    out_printf(o, "identity:    %s\n", p->identity ? p->identity : r->identity ? r->identity : "-");
    out_printf(o, "on timeout:  %s\n", p->on_timeout ? p->on_timeout : r->on_timeout ? r->on_timeout : "-");
    out_printf(o, "sources:     %s\n", p->sources ? p->sources : "-");
    out_str(o, "carries:     ");
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if (caps.fields & BL_BIT(i))
            out_printf(o, "%s ", bl_field_info(i)->key);
    out_str(o, "\n");
    for (unsigned k = 0; k < BL_AC_COUNT; k++) {
        out_printf(o, "%-12s ", bl_alarm_class_str(k));
        if (!caps.alarms[k])
            out_str(o, "-");
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (caps.alarms[k] & (1U << a))
                out_printf(o, "%s%s ", bl_alarm_str(a), (caps.shared[k] & (1U << a)) ? "*" : "");
        out_str(o, "\n");
    }
    out_str(o, "             (* shares a bit with another alarm)\n\nmessages:\n");
    if (bl_can_codec_init(&c, p) < 0)
        return;
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        char per[24];
        if (m->period_ms)
            snprintf(per, sizeof per, "every %u ms", (unsigned)m->period_ms);
        else
            snprintf(per, sizeof per, "on request");
        out_printf(o, "  0x%0*X %-28s %s dlc %u (accepts %u..8), %s%s\n", m->ext ? 8 : 3,
                   m->id, m->name, m->dir == BL_DIR_B2I ? "battery->inverter" : "inverter->battery", m->dlc,
                   m->dlc_min, per, c.sends[j] ? "" : ", decode only");
        for (unsigned i = 0; i < m->nsigs; i++) {
            bl_signal_t s;
            const bl_field_info_t *fi;
            bl_can_sig(&c, m, i, &s);
            fi = bl_field_info(s.field);
            out_printf(o, "      %-26s bit %2u len %2u %s%s", s.name, s.start, s.len, s.order == BL_BE ? "BE" : "LE",
                       (s.flags & BL_SF_SIGNED) ? " signed" : "");
            if (s.kind == BL_SK_NUM && s.field != BL_F_NONE)
                out_printf(o, " x%g%+g %s", (double)s.mul / (s.div > 0 ? s.div : 1) / 1000.0, s.offset / 1000.0,
                           s.unit);
            if (fi != NULL)
                out_printf(o, " -> %s", fi->key);
            if (s.kind == BL_SK_ALARM || s.kind == BL_SK_PAIR) {
                out_printf(o, " -> %s:", bl_alarm_class_str(s.aclass));
                for (unsigned a = 0; a < BL_A_COUNT; a++)
                    if (s.alarm == a || (s.also & (1U << a)))
                        out_printf(o, " %s", bl_alarm_str(a));
                if (s.alarm >= BL_A_COUNT && !s.also)
                    out_str(o, " (no canonical alarm)");
            }
            out_str(o, "\n");
        }
    }
}

int verb_protocols(int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, 0, 'j' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    bool json = false;
    int ch;
    bl_out_t *o = &(bl_out_t){ 0 };

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = true; break;
        case 'h': return cli_help(usage);
        default: return cli_usage_err(usage, "protocols", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return cli_usage_err(usage, "protocols", "one NAME at most");
    out_init(o, stdout);
    if (optind < argc) {
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
    return BL_EXIT_OK;
}
