/* bmslink protocols, byte protocols: serial settings, commands and their rows, register maps. */
#include "bmslink/rs485.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char *const kinds[] = { "number", "bool", "alarm", "pair", "ascii", "version", "mux" };

static void hexkey(bl_out_t *o, const char *k, unsigned v, int digits)
{
    char b[16];
    snprintf(b, sizeof b, "0x%0*X", digits, v);
    j_kstr(o, k, b);
}

static const char *req_str(unsigned r)
{
    static const char *const s[] = { "none", "address", "one", "layout" };
    return r < BL_ARRAY_LEN(s) ? s[r] : "none";
}

static bool polled(const bl_rs485_codec_t *c, unsigned id)
{
    for (const uint8_t *q = c->poll; q != NULL && *q; q++)
        if (*q == id)
            return true;
    for (const uint8_t *q = c->poll_once; q != NULL && *q; q++)
        if (*q == id)
            return true;
    return false;
}

static void json_sig(bl_out_t *o, const bl_signal_t *s, unsigned bytes)
{
    const bl_field_info_t *fi = bl_field_info(s->field);
    j_kstr(o, "name", s->name);
    j_kstr(o, "kind", kinds[s->kind < BL_ARRAY_LEN(kinds) ? s->kind : 0]);
    if (bytes)
        j_kint(o, "bytes", bytes);
    j_kbool(o, "signed", (s->flags & BL_SF_SIGNED) != 0);
    if (s->kind == BL_SK_NUM) {
        j_key(o, "scale");
        out_printf(o, "%.10g", (double)s->mul / (s->div > 0 ? s->div : 1) / 1000.0);
        o->first = false;
        j_kmilli(o, "offset", s->offset, 3);
        j_kstr(o, "unit", s->unit);
    }
    if (fi != NULL && s->field < BL_F_BATTERY_COUNT)
        j_kstr(o, "field", fi->key);
    if (s->kind == BL_SK_ALARM) {
        j_kstr(o, "class", bl_alarm_class_str(s->aclass));
        j_key(o, "alarms");
        j_arr(o);
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (s->alarm == a || (s->also & (1U << a)))
                j_str_el(o, bl_alarm_str(a));
        j_end_arr(o);
    }
}

static const char *op_str(unsigned op)
{
    static const char *const s[] = { "field", "count", "array", "if", "optional", "rest" };
    return op < BL_ARRAY_LEN(s) ? s[op] : "field";
}

static void json_rows(bl_out_t *o, const char *key, const bl_rs_item_t *rows, unsigned n)
{
    j_key(o, key);
    j_arr(o);
    for (unsigned i = 0; i < n; i++) {
        const bl_rs_item_t *it = &rows[i];
        if (it->op == BL_RI_IF || it->op == BL_RI_OPTIONAL)
            continue;
        j_obj(o);
        j_kstr(o, "row", op_str(it->op));
        json_sig(o, &it->sig, it->op == BL_RI_FIELD ? it->size : 0);
        if (it->op == BL_RI_ARRAY) {
            j_kint(o, "element_bytes", it->size);
            if (it->agg == BL_AGG_CELLS)
                j_kstr(o, "aggregate", "cell_voltage_min_V/cell_voltage_max_V");
            else if (it->agg == BL_AGG_TEMPS)
                j_kstr(o, "aggregate", "temperature_C/temp_min_C/temp_max_C");
            else if (it->agg == BL_AGG_STATES)
                j_kstr(o, "aggregate", "state codes: 1 below, 2 above the limit");
        }
        if (it->op == BL_RI_FIELD && it->size == 0 && it->sig.kind != BL_SK_ASCII)
            j_kint(o, "bit", it->sig.start % 8);
        j_end_obj(o);
    }
    j_end_arr(o);
}

static void json_settings(bl_out_t *o, const bl_protocol_t *p, const bl_rs485_codec_t *c)
{
    char par[2] = { (char)c->parity, 0 };
    j_kstr(o, "serial", bl_proto_serial(p));
    j_key(o, "serial_settings");
    j_obj(o);
    j_kint(o, "baud", bl_proto_baud(p));
    j_kint(o, "data_bits", c->data_bits);
    j_kstr(o, "parity", par);
    j_kint(o, "stop_bits", c->stop_bits);
    j_kstr(o, "framing", c->kind == BL_RSK_MODBUS ? "modbus-rtu" : bl_framing_str(c->framing));
    hexkey(o, c->kind == BL_RSK_MODBUS ? "unit_default" : "address_default", c->addr_default, 2);
    hexkey(o, "address_min", c->addr_min, 2);
    hexkey(o, "address_max", c->addr_max, 2);
    j_kint(o, "poll_period_ms", c->poll_ms);
    j_kint(o, "reply_timeout_ms", c->reply_ms);
    j_kint(o, "min_gap_ms", c->gap_ms);
    if (c->pyl != NULL) {
        hexkey(o, "ver", c->pyl->ver, 2);
        hexkey(o, "cid1", c->pyl->cid1, 2);
    }
    j_end_obj(o);
}

static void json_commands(bl_out_t *o, const bl_rs485_codec_t *c)
{
    j_key(o, "commands");
    j_arr(o);
    for (unsigned i = 0; i < c->nmsgs; i++) {
        const bl_rs_msg_t *m = &c->msgs[i];
        j_obj(o);
        hexkey(o, "id", m->id, 2);
        j_kstr(o, "name", m->name);
        j_kstr(o, "request_info", req_str(m->req));
        j_kbool(o, "polled", polled(c, m->id));
        j_kbool(o, "group_query", (m->flags & BL_RMF_GROUP) != 0);
        j_kbool(o, "changes_device", (m->flags & BL_RMF_WRITE) != 0);
        j_kbool(o, "battery_answers", m->rsp != NULL ? !(m->flags & (BL_RMF_WRITE | BL_RMF_NO_REPLY))
                                                     : !(m->flags & BL_RMF_WRITE));
        if (m->rqi != NULL)
            json_rows(o, "request_signals", m->rqi, m->nrqi);
        if (m->rsp != NULL)
            json_rows(o, "signals", m->rsp, m->nrsp);
        j_end_obj(o);
    }
    j_end_arr(o);
}

static void json_map(bl_out_t *o, const bl_mb_map_t *map)
{
    j_kint(o, "address_step", map->addr_step ? map->addr_step : 1);
    j_kint(o, "max_registers_per_read", map->max_read);
    j_key(o, "blocks");
    j_arr(o);
    for (unsigned i = 0; i < map->nblocks; i++) {
        const bl_mb_block_t *b = &map->blocks[i];
        j_obj(o);
        j_kstr(o, "name", b->name);
        j_kint(o, "function", bl_mb_read_fc(b->table));
        j_kstr(o, "table", bl_mb_table_str(b->table));
        hexkey(o, "start", b->start, 4);
        j_kint(o, "count", b->count);
        j_kbool(o, "once", b->once != 0);
        j_end_obj(o);
    }
    j_end_arr(o);
    j_key(o, "registers");
    j_arr(o);
    for (unsigned i = 0; i < map->nregs; i++) {
        const bl_mb_reg_t *r = &map->regs[i];
        j_obj(o);
        hexkey(o, "address", r->addr, 4);
        j_kstr(o, "table", bl_mb_table_str(r->table));
        j_kint(o, "words", r->words);
        json_sig(o, &r->sig, 0);
        if (r->sig.kind == BL_SK_ALARM || r->sig.kind == BL_SK_BOOL)
            j_kint(o, "bit", r->table >= BL_MB_CO ? 0 : (r->words * 2 - 1 - r->sig.start / 8) * 8 + r->sig.start % 8);
        if (r->flags & BL_MBF_WORDSWAP)
            j_kstr(o, "word_order", "low word first");
        if (r->flags & BL_MBF_WRITE)
            j_kbool(o, "written_by_inverter", true);
        j_end_obj(o);
    }
    j_end_arr(o);
}

void cli_protocols_rs485_json(bl_out_t *o, const bl_protocol_t *p, bool detail)
{
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    if (c == NULL)
        return;
    if (!detail) {
        json_settings(o, p, c);
        return;
    }
    if (c->map != NULL)
        json_map(o, c->map);
    else
        json_commands(o, c);
}

static void text_rows(bl_out_t *o, const bl_rs_item_t *rows, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const bl_rs_item_t *it = &rows[i];
        const bl_signal_t *s = &it->sig;
        const bl_field_info_t *fi = bl_field_info(s->field);
        if (it->op == BL_RI_IF) {
            out_printf(o, "      (next %u rows only when the count is at least %d)\n", it->size, (int)s->def);
            continue;
        }
        if (it->op == BL_RI_OPTIONAL) {
            out_str(o, "      (the payload may end here)\n");
            continue;
        }
        out_printf(o, "      %-32s %-6s", s->name, op_str(it->op));
        if (it->op == BL_RI_FIELD && it->size)
            out_printf(o, " %2u B", it->size);
        else if (it->op == BL_RI_FIELD)
            out_printf(o, " bit %u", s->start % 8);
        else if (it->op == BL_RI_ARRAY)
            out_printf(o, " %u B each", it->size);
        if (s->kind == BL_SK_NUM && (s->field != BL_F_NONE || s->unit[0]))
            out_printf(o, " x%g%+g %s", (double)s->mul / (s->div > 0 ? s->div : 1) / 1000.0, s->offset / 1000.0, s->unit);
        if (fi != NULL && s->field < BL_F_BATTERY_COUNT)
            out_printf(o, " -> %s", fi->key);
        if (it->agg == BL_AGG_CELLS)
            out_str(o, " -> cell_voltage_min/max_V");
        else if (it->agg == BL_AGG_TEMPS)
            out_str(o, " -> temperature_C, temp_min/max_C");
        if (s->kind == BL_SK_ALARM || it->agg == BL_AGG_STATES) {
            out_printf(o, " -> %s:", bl_alarm_class_str(s->aclass));
            for (unsigned a = 0; a < BL_A_COUNT; a++)
                if (s->alarm == a || (s->also & (1U << a)) || (it->agg == BL_AGG_STATES && it->alarm_hi == a))
                    out_printf(o, " %s", bl_alarm_str(a));
        }
        out_ch(o, '\n');
    }
}

void cli_protocols_rs485_text(bl_out_t *o, const bl_protocol_t *p)
{
    const bl_rs485_codec_t *c = bl_rs_codec(p);
    if (c == NULL)
        return;
    out_printf(o, "serial:      %u %u%c%u, %s; %s 0x%02X (0x%02X..0x%02X); poll every %u ms, reply within %u ms, "
                  "%u ms between requests\n",
               (unsigned)bl_proto_baud(p), c->data_bits, c->parity, c->stop_bits,
               c->kind == BL_RSK_MODBUS ? "Modbus RTU (TCP too)" : bl_framing_str(c->framing),
               c->kind == BL_RSK_MODBUS ? "unit" : "address", c->addr_default, c->addr_min, c->addr_max,
               (unsigned)c->poll_ms, (unsigned)c->reply_ms, (unsigned)c->gap_ms);
    out_printf(o, "settings:    %s\n", bl_proto_serial(p) ? bl_proto_serial(p) : "-");
    if (c->pyl != NULL)
        out_printf(o, "frame:       ~ VER 0x%02X, CID1 0x%02X; RTN codes 0x%02X bad CID2, 0x%02X bad CHKSUM, 0x%02X no data%s\n",
                   c->pyl->ver, c->pyl->cid1, c->pyl->rtn_bad_cid2, c->pyl->rtn_bad_chksum, c->pyl->rtn_no_data,
                   c->pyl->rtn_no_data ? "" : " (none: the battery role stays silent)");
    if (c->map != NULL) {
        out_str(o, "\nblocks the client reads:\n");
        for (unsigned i = 0; i < c->map->nblocks; i++) {
            const bl_mb_block_t *b = &c->map->blocks[i];
            out_printf(o, "  FC%u %s 0x%04X x %-3u %s%s\n", bl_mb_read_fc(b->table), bl_mb_table_str(b->table), b->start,
                       b->count, b->name, b->once ? " (once)" : "");
        }
        out_str(o, "\nregisters:\n");
        for (unsigned i = 0; i < c->map->nregs; i++) {
            const bl_mb_reg_t *r = &c->map->regs[i];
            const bl_field_info_t *fi = bl_field_info(r->sig.field);
            out_printf(o, "  %s 0x%04X %u word%s %-32s", bl_mb_table_str(r->table), r->addr, r->words,
                       r->words == 1 ? " " : "s", r->sig.name);
            if (r->sig.kind == BL_SK_NUM && (r->sig.field != BL_F_NONE || r->sig.unit[0]))
                out_printf(o, " x%g%+g %s", (double)r->sig.mul / (r->sig.div > 0 ? r->sig.div : 1) / 1000.0,
                           r->sig.offset / 1000.0, r->sig.unit);
            if (fi != NULL && r->sig.field < BL_F_BATTERY_COUNT)
                out_printf(o, " -> %s", fi->key);
            if (r->sig.kind == BL_SK_ALARM)
                out_printf(o, " -> %s: %s", bl_alarm_class_str(r->sig.aclass), bl_alarm_str(r->sig.alarm));
            if (r->flags & BL_MBF_AGG_CELL)
                out_str(o, " (cell)");
            if (r->flags & BL_MBF_AGG_TEMP)
                out_str(o, " (cell temperature)");
            if (r->flags & BL_MBF_WORDSWAP)
                out_str(o, " (low word first)");
            out_ch(o, '\n');
        }
        return;
    }
    out_str(o, "\ncommands:\n");
    for (unsigned i = 0; i < c->nmsgs; i++) {
        const bl_rs_msg_t *m = &c->msgs[i];
        out_printf(o, "  0x%02X %-36s request INFO %s%s%s%s%s\n", m->id, m->name, req_str(m->req),
                   polled(c, m->id) ? ", polled" : "", (m->flags & BL_RMF_GROUP) ? ", group query (INFO 0xFF)" : "",
                   (m->flags & BL_RMF_WRITE) ? ", changes the device (the battery role refuses it)" : "",
                   (m->flags & BL_RMF_NO_REPLY) ? ", decode only" : "");
        if (m->rqi != NULL)
            text_rows(o, m->rqi, m->nrqi);
        if (m->rsp != NULL)
            text_rows(o, m->rsp, m->nrsp);
    }
}
