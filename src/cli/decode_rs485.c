/*
 * bmslink decode for byte protocols (RS485 ASCII/binary and Modbus):
 *   - hex485 captures: one chunk of bytes per line, with or without a
 *     timestamp, or a Pylon ASCII frame as text; Modbus RTU one frame a line
 *   - serial:DEV@BAUD[,8N1][#ADDR]: bmslink is the inverter and polls the BMS
 *   - modbus-rtu:/modbus-tcp: bmslink is the Modbus master and reads the map
 * Live polling retries with backoff and reports the link state.
 */
#include "bmslink/modbus.h"
#include "bmslink/rs485.h"
#include "bmslink/serial485.h"
#include "bmslink/transport.h"
#include "cli.h"
#include "csvout.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_LIMIT 20
#define RETRIES 2           /* after the first try: 3 tries per request */
#define DOWN_AFTER 3        /* requests unanswered in a row: link down */
#define BACKOFF_MAX_MS 30000

typedef struct {
    uint64_t off;  /* stream offset of the line's first byte */
    uint64_t line;
    uint64_t ts_us;
    bool has_ts;
} linepos_t;

typedef struct {
    cli_decode_opts_t o;
    const bl_protocol_t *p;
    const bl_rs485_codec_t *c;
    bl_rs_session_t sess;
    bl_stream_t st;
    uint8_t fbuf[BL_STREAM_PYLON_MAX + 64];
    uint8_t info[2048];
    bl_rs_decoded_t dec;
    bl_record_t packs[BL_RS_MAX_PACKS];
    bl_record_t rec;
    bl_out_t out;
    /* counts */
    uint64_t msgs, decoded, errors;
    uint64_t reasons[BL_RSR_COUNT];
    uint64_t noise_bytes;
    uint64_t first_ts, last_ts;
    bool have_ts, stop;
    /* where bytes came from (captures) */
    const char *src;
    linepos_t lines[64];
    unsigned nlines;
    uint64_t cur_line, cur_ts;
    bool cur_has_ts;
    unsigned shown, suppressed;
    /* live */
    bool live;
    bool answered;        /* the awaited answer arrived */
    uint8_t want_addr;
    uint16_t want_cmd;
    const char *link;     /* "up", "degraded", "down", NULL before the first exchange */
    uint64_t timeouts, retries, link_changes;
    FILE *recf;           /* --record: the serial traffic as hex485 lines */
    /* modbus capture: the last request per unit */
    struct { uint8_t used, fc; uint16_t start, count; } mbreq[256];
    csvout_t *csv;        /* --csv (issue #12) */
} dsess_t;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void problem(dsess_t *s, uint64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void problem(dsess_t *s, uint64_t line, const char *fmt, ...)
{
    va_list ap;
    if (s->o.quiet)
        return;
    if (s->shown >= MSG_LIMIT) {
        s->suppressed++;
        return;
    }
    s->shown++;
    if (line)
        fprintf(stderr, "bmslink: %s:%llu: ", s->src, (unsigned long long)line);
    else
        fprintf(stderr, "bmslink: %s: ", s->src);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- hex485 lines ------------------------------------------------------------ */

static bool is_hexc(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

static unsigned hexv(char c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/* Skip a leading timestamp "(1700000000.123456)" or "1700000000.123456" / "12.5"
 * (a number with a '.', then a space). */
static const char *skip_ts(const char *p, const char *e, uint64_t *ts_us, bool *has)
{
    const char *q = p;
    bool paren = false;
    uint64_t sec = 0, us = 0, div = 100000;
    *has = false;
    if (q < e && *q == '(') {
        paren = true;
        q++;
    }
    if (q >= e || *q < '0' || *q > '9')
        return p;
    while (q < e && *q >= '0' && *q <= '9')
        sec = sec * 10u + (uint64_t)(*q++ - '0');
    if (q >= e || *q != '.')
        return p;
    q++;
    while (q < e && *q >= '0' && *q <= '9') {
        us += (uint64_t)(*q++ - '0') * div;
        div /= 10u;
    }
    if (paren) {
        if (q >= e || *q != ')')
            return p;
        q++;
    }
    if (q < e && *q != ' ' && *q != '\t')
        return p;
    *ts_us = sec * 1000000u + us;
    *has = true;
    return q;
}

/* Skip a direction marker: >, <, TX, RX, T, R (with an optional ':'). */
static const char *skip_dir(const char *p, const char *e)
{
    static const char *const marks[] = { "TX:", "RX:", "TX ", "RX ", "tx:", "rx:", "> ", "< ", "T ", "R " };
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    for (size_t i = 0; i < BL_ARRAY_LEN(marks); i++) {
        size_t n = strlen(marks[i]);
        if ((size_t)(e - p) >= n && memcmp(p, marks[i], n) == 0)
            return p + n;
    }
    return p;
}

typedef enum { L_BLANK, L_BYTES, L_BAD } line_kind_t;

/* One hex485 line -> bytes. Returns the kind; *what names the problem. */
static line_kind_t parse_line(const char *line, size_t len, uint8_t *out, size_t cap, size_t *n, uint64_t *ts,
                              bool *has_ts, const char **what, size_t *col)
{
    const char *p = line, *e = line + len;
    *n = 0;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    if (p == e || *p == '#' || *p == ';')
        return L_BLANK;
    p = skip_ts(p, e, ts, has_ts);
    p = skip_dir(p, e);
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (p == e)
        return L_BLANK;
    if (*p == '~') {
        /* a Pylon ASCII frame written as text: the CR is implied by the line end */
        for (; p < e && *n + 1 < cap; p++)
            out[(*n)++] = (uint8_t)*p;
        out[(*n)++] = '\r';
        return L_BYTES;
    }
    while (p < e) {
        if (*p == ' ' || *p == '\t' || *p == ':' || *p == '-') {
            p++;
            continue;
        }
        if (p + 1 >= e || !is_hexc(p[0]) || !is_hexc(p[1])) {
            *what = "expected hex bytes (e.g. A5 01 90 08 ...) or a ~... ASCII frame";
            *col = (size_t)(p - line) + 1;
            return L_BAD;
        }
        if (*n >= cap) {
            *what = "more bytes on one line than any frame holds";
            *col = (size_t)(p - line) + 1;
            return L_BAD;
        }
        out[(*n)++] = (uint8_t)(hexv(p[0]) << 4 | hexv(p[1]));
        p += 2;
    }
    return L_BYTES;
}

/* diagnosis (issue 9): the same line reader for bmslink diagnose */
int cli_hex485_line(const char *line, size_t len, uint8_t *out, size_t cap, size_t *n, uint64_t *ts, bool *has_ts,
                    const char **what, size_t *col)
{
    line_kind_t k = parse_line(line, len, out, cap, n, ts, has_ts, what, col);
    return k == L_BYTES ? 1 : k == L_BLANK ? 0 : -1;
}

/* Does a capture's first line look like hex485 (and not like a CAN capture)? */
bool cli_rs485_sniff(const char *path)
{
    bl_linereader_t lr;
    const char *line;
    size_t len;
    bool yes = false;
    if (strcmp(path, "-") == 0 || bl_lr_open(&lr, path) < 0)
        return false;
    for (int i = 0; i < 20 && bl_lr_next(&lr, &line, &len) == 1; i++) {
        uint8_t b[4096];
        size_t n, col;
        uint64_t ts;
        bool has;
        const char *what;
        line_kind_t k = parse_line(line, len < 4096 ? len : 4096, b, sizeof b, &n, &ts, &has, &what, &col);
        if (k == L_BLANK)
            continue;
        yes = k == L_BYTES;
        break;
    }
    bl_lr_close(&lr);
    return yes;
}

bool cli_decode_rs485_wanted(const bl_protocol_t *p, unsigned fmt, int nsrc, char **srcs)
{
    if (p != NULL && bl_proto_root(p)->bus != BL_BUS_CAN)
        return true;
    if (fmt == BL_FMT_HEX485)
        return true;
    for (int i = 0; i < nsrc; i++)
        if (strncmp(srcs[i], "serial:", 7) == 0 || strncmp(srcs[i], "modbus-rtu:", 11) == 0 ||
            strncmp(srcs[i], "modbus-tcp:", 11) == 0)
            return true;
    if (p == NULL && fmt == BL_FMT_AUTO)
        for (int i = 0; i < nsrc; i++)
            if (cli_rs485_sniff(strncmp(srcs[i], "file:", 5) == 0 ? srcs[i] + 5 : srcs[i]))
                return true;
    return false;
}

/* ---- output --------------------------------------------------------------------- */

static void hex_key(bl_out_t *o, const char *k, unsigned v, int digits)
{
    char b[16];
    snprintf(b, sizeof b, "0x%0*X", digits, v);
    j_kstr(o, k, b);
}

/* One value of a signal as JSON (arrays, text, numbers, "not available" as null). */
static void json_val(dsess_t *s, const bl_rs_val_t *v, const uint8_t *pl, size_t plen)
{
    bl_out_t *o = &s->out;
    const bl_signal_t *sig = v->sig;
    unsigned dec = bl_sig_decimals(sig);

    if (v->item != NULL && v->item->op == BL_RI_REST) {
        out_ch(o, '"');
        if ((size_t)v->off + v->n <= plen)
            out_hex(o, pl + v->off, v->n);
        out_ch(o, '"');
    } else if (sig->kind == BL_SK_ASCII && v->item != NULL && v->item->op == BL_RI_ARRAY) {
        j_arr(o);
        for (unsigned i = 0; i < v->n; i++) {
            size_t at = (size_t)v->off + (size_t)i * v->item->size, k = v->item->size;
            j_sep(o);
            if (at + k <= plen) {
                while (k > 0 && (pl[at + k - 1] == ' ' || pl[at + k - 1] == 0))
                    k--;
                out_jstrn(o, (const char *)pl + at, k);
            } else {
                out_str(o, "null");
            }
        }
        j_end_arr(o);
    } else if (sig->kind == BL_SK_ASCII || sig->kind == BL_SK_VERSION) {
        char t[256];
        size_t k = 0;
        for (unsigned i = 0; i < v->n && k + 5 < sizeof t; i++) {
            unsigned b = v->item != NULL ? ((size_t)v->off + i < plen ? pl[v->off + i] : 0) : (unsigned)s->dec.arr[v->arr + i];
            if (sig->kind == BL_SK_VERSION) {
                k += (size_t)snprintf(t + k, sizeof t - k, "%s%u", i ? "." : "", b);
                continue;
            }
            if (b == 0)
                break;
            t[k++] = (b >= 0x20 && b < 0x7F) ? (char)b : '?';
        }
        while (k > 0 && t[k - 1] == ' ')
            k--;
        out_jstrn(o, t, k);
    } else if (v->item != NULL && v->item->op == BL_RI_ARRAY) {
        j_arr(o);
        for (unsigned i = 0; i < v->n; i++) {
            int32_t x = s->dec.arr[v->arr + i];
            j_sep(o);
            if (x == INT32_MIN)
                out_str(o, "null");
            else if (v->item->agg == BL_AGG_STATES)
                out_i64(o, x / 1000);
            else
                out_milli(o, x, dec);
        }
        j_end_arr(o);
    } else if (v->v == INT64_MIN) {
        out_str(o, "null");
    } else if (sig->kind == BL_SK_NUM) {
        out_milli(o, v->v, dec);
    } else {
        out_i64(o, v->v);
    }
    o->first = false;
}

static void json_signals(dsess_t *s, const uint8_t *pl, size_t plen)
{
    bl_out_t *o = &s->out;
    j_key(o, "signals");
    j_obj(o);
    for (unsigned i = 0; i < s->dec.nvals; i++) {
        const bl_rs_val_t *v = &s->dec.vals[i];
        char key[96];
        if (v->sig->name == NULL || v->sig->name[0] == '\0')
            continue;
        if (s->dec.group)
            snprintf(key, sizeof key, "pack%u.%s", v->pack + 1u, v->sig->name);
        else
            snprintf(key, sizeof key, "%s", v->sig->name);
        j_key(o, key);
        j_obj(o);
        j_key(o, "value");
        json_val(s, v, pl, plen);
        j_kstr(o, "unit", v->sig->kind == BL_SK_NUM ? v->sig->unit : "");
        j_end_obj(o);
    }
    j_end_obj(o);
}

typedef struct {
    uint64_t ts_us;
    bool has_ts;
    uint64_t line;
    uint8_t addr;
    uint16_t cmd;
    const char *direction;
    const char *message;
    const uint8_t *pl;
    size_t plen;
    int rtn;               /* < 0: none */
    const char *error;     /* NULL: decoded */
    bool decoded;          /* s->dec and fields are valid */
    bool inferred;
    int reg, count;        /* Modbus: first register and count, -1 when none */
    int ver, cid1;         /* Pylon header, -1 when none */
} msgout_t;

static void json_msg(dsess_t *s, const msgout_t *m)
{
    bl_out_t *o = &s->out;
    o->first = true;
    j_obj(o);
    j_key(o, "ts");
    if (m->has_ts)
        out_ts(o, m->ts_us);
    else
        out_str(o, "null");
    o->first = false;
    j_kstr(o, "bus", s->c->kind == BL_RSK_MODBUS ? "modbus" : "rs485");
    hex_key(o, "address", m->addr, 2);
    if (m->cmd == BL_RS_CMD_UNKNOWN)
        j_knull(o, "command");
    else
        hex_key(o, "command", m->cmd, 2);
    if (m->reg >= 0) {
        hex_key(o, "register", (unsigned)m->reg, 4);
        j_kint(o, "count", m->count);
    }
    if (m->ver > 0) {
        hex_key(o, "ver", (unsigned)m->ver, 2);
        hex_key(o, "cid1", (unsigned)m->cid1, 2);
    }
    j_key(o, "data");
    out_ch(o, '"');
    out_hex(o, m->pl, m->plen);
    out_ch(o, '"');
    o->first = false;
    j_kstr(o, "protocol", s->p->name);
    j_kstr(o, "message", m->message);
    j_kstr(o, "direction", m->direction);
    if (m->rtn >= 0)
        j_kint(o, "rtn", m->rtn);
    if (m->inferred)
        j_kbool(o, "command_inferred", true);
    if (m->line)
        j_kint(o, "line", (int64_t)m->line);
    if (m->error == NULL) {
        cli_json_fields(o, "fields", &s->rec, m->decoded ? s->dec.fields : 0);
        if (m->decoded)
            json_signals(s, m->pl, m->plen);
        else {
            j_key(o, "signals");
            j_obj(o);
            j_end_obj(o);
        }
        if (m->decoded && s->dec.group) {
            j_key(o, "packs");
            j_arr(o);
            for (unsigned k = 0; k < s->dec.npacks && k < BL_RS_MAX_PACKS; k++) {
                /* one object of canonical fields per pack */
                j_obj(o);
                for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++) {
                    if (!s->packs[k].f[f].valid)
                        continue;
                    j_key(o, bl_field_info(f)->key);
                    cli_json_field(o, &s->packs[k], f);
                }
                j_end_obj(o);
            }
            j_end_arr(o);
        }
        {
            bl_alarm_mask_t none[BL_AC_COUNT] = { 0 };
            cli_json_alarms(o, m->decoded ? s->dec.active : none);
        }
        j_knull(o, "error");
    } else {
        if (m->decoded)
            json_signals(s, m->pl, m->plen); /* what the wire said, for the diagnosis */
        j_kstr(o, "error", m->error);
    }
    j_end_obj(o);
    out_ch(o, '\n');
}

static void text_msg(dsess_t *s, const msgout_t *m)
{
    bl_out_t *o = &s->out;
    if (m->has_ts)
        out_ts(o, m->ts_us);
    else
        out_ch(o, '-');
    out_printf(o, " %s 0x%02X ", s->c->kind == BL_RSK_MODBUS ? "modbus" : "rs485", m->addr);
    if (m->cmd == BL_RS_CMD_UNKNOWN)
        out_str(o, "?");
    else
        out_printf(o, "0x%02X", m->cmd);
    if (m->reg >= 0)
        out_printf(o, "@0x%04X+%d", m->reg, m->count);
    out_printf(o, " %s %s%s", m->direction, m->message ? m->message : "?", m->inferred ? " (inferred)" : "");
    if (m->error != NULL) {
        out_printf(o, "  REJECTED: %s\n", m->error);
        return;
    }
    for (unsigned i = 0; m->decoded && i < s->dec.nvals; i++) {
        const bl_rs_val_t *v = &s->dec.vals[i];
        if (v->sig->field >= BL_F_BATTERY_COUNT || v->v == INT64_MIN)
            continue;
        if (v->sig->kind == BL_SK_NUM) {
            out_printf(o, " %s=", v->sig->name);
            out_milli(o, v->v, bl_sig_decimals(v->sig));
            out_str(o, v->sig->unit);
        } else if (v->sig->kind == BL_SK_BOOL) {
            out_printf(o, " %s=%d", v->sig->name, (int)v->v);
        }
    }
    if (m->decoded) {
        static const char *const keys[] = { "cell_voltage_min_V", "cell_voltage_max_V", "temperature_C", "soc_pct" };
        for (size_t k = 0; k < BL_ARRAY_LEN(keys); k++) {
            unsigned f = bl_field_by_key(keys[k]);
            if (s->dec.fields & BL_BIT(f)) {
                out_printf(o, " %s=", keys[k]);
                cli_json_field(o, &s->rec, f);
            }
        }
        if (s->dec.group)
            out_printf(o, " packs=%u", s->dec.npacks);
        for (unsigned c = 0; c < BL_AC_COUNT; c++)
            for (unsigned a = 0; a < BL_A_COUNT; a++)
                if (s->dec.active[c] & (1U << a))
                    out_printf(o, " %s:%s", c == BL_AC_PROTECTION ? "PROTECTION" : c == BL_AC_WARNING ? "warning" : "ALARM",
                               bl_alarm_str(a));
    }
    out_ch(o, '\n');
}

static void emit(dsess_t *s, const msgout_t *m)
{
    s->msgs++;
    if (m->has_ts) {
        if (!s->have_ts) {
            s->first_ts = m->ts_us;
            s->have_ts = true;
        }
        s->last_ts = m->ts_us;
    }
    if (m->error == NULL)
        s->decoded++; /* understood: a request, an answer, an acknowledge */
    if (s->csv != NULL)
        csvout_after(s->csv, &s->rec, m->ts_us, m->has_ts);
    if (s->o.json)
        json_msg(s, m);
    else if (!s->o.summary && !s->o.csv)
        text_msg(s, m);
    if (s->live)
        out_flush(&s->out);
    if (s->o.count && s->msgs >= s->o.count)
        s->stop = true;
}

static void count_reject(dsess_t *s, bl_rsr_t why)
{
    s->errors++;
    s->reasons[why]++;
}

/* ---- byte protocols: frames -> messages ----------------------------------------------- */

static const linepos_t *line_of(const dsess_t *s, uint64_t off)
{
    const linepos_t *best = NULL;
    for (unsigned i = 0; i < s->nlines && i < BL_ARRAY_LEN(s->lines); i++) {
        const linepos_t *l = &s->lines[i];
        if (l->off <= off && (best == NULL || l->off > best->off))
            best = l;
    }
    return best;
}

static void reject_text(const bl_stream_ev_t *ev, char *b, size_t n)
{
    switch (ev->why) {
    case BL_RSR_CHECKSUM:
        snprintf(b, n, "checksum 0x%0*X != 0x%0*X", ev->want > 0xFFFF ? 8 : ev->want > 0xFF ? 4 : 2,
                 (unsigned)ev->got, ev->want > 0xFFFF ? 8 : ev->want > 0xFF ? 4 : 2, (unsigned)ev->want);
        break;
    case BL_RSR_LCHKSUM:
        snprintf(b, n, "length checksum 0x%X, expected 0x%X", (unsigned)ev->got, (unsigned)ev->want);
        break;
    case BL_RSR_LENGTH:
        snprintf(b, n, "length field %u, frame has %u", (unsigned)ev->got, (unsigned)ev->want);
        break;
    case BL_RSR_SYNTAX:
        snprintf(b, n, "byte 0x%02X cannot be in this frame (wrong baud or noise?)", (unsigned)ev->got);
        break;
    case BL_RSR_TRUNCATED:
        snprintf(b, n, "frame cut short after %u bytes", (unsigned)ev->got);
        break;
    case BL_RSR_TOO_LONG:
        snprintf(b, n, "frame longer than %u bytes", (unsigned)ev->want);
        break;
    default:
        snprintf(b, n, "%s", bl_rsr_str(ev->why));
        break;
    }
}

static void on_frame(dsess_t *s, const uint8_t *fr, size_t n, uint64_t ts, bool has_ts, uint64_t line)
{
    bl_rs_frame_t f;
    bl_rsr_t why;
    msgout_t m;
    char err[160];

    memset(&m, 0, sizeof m);
    m.ts_us = ts;
    m.has_ts = has_ts;
    m.line = line;
    m.rtn = -1;
    m.reg = m.count = -1;
    m.ver = m.cid1 = -1;
    if (s->csv != NULL)
        csvout_before(s->csv, &s->rec, ts, has_ts);
    if (bl_rs_session_frame(&s->sess, fr, n, s->info, sizeof s->info, &f, &why) < 0) {
        count_reject(s, why);
        snprintf(err, sizeof err, "%s", bl_rsr_str(why));
        m.error = err;
        m.pl = fr;
        m.plen = n;
        m.direction = "unknown";
        problem(s, line, "%s", err);
        emit(s, &m);
        return;
    }
    m.addr = f.addr;
    m.cmd = f.cmd;
    if (s->c->framing == BL_FRAMING_PYLON) {
        m.ver = f.ver;
        m.cid1 = f.cid1;
    }
    m.pl = f.pl;
    m.plen = f.plen;
    m.message = f.msg ? f.msg->name : NULL;
    m.direction = f.request ? "request" : "response";
    m.inferred = f.inferred;
    if (!f.request)
        m.rtn = f.rtn;
    if (s->live && !f.request && (s->c->kind != BL_RSK_PYLON || f.addr == s->want_addr))
        s->answered = true;
    if (f.request) {
        if (f.msg == NULL) {
            snprintf(err, sizeof err, "command 0x%02X not defined by %s", f.cmd, s->p->name);
            count_reject(s, BL_RSR_UNKNOWN_CMD);
            m.error = err;
            problem(s, line, "%s", err);
        } else if (f.msg->rqi != NULL && f.plen > 0) {
            /* requests that carry values (0x94 set limits, switches): shown as signals */
            bl_rs_msg_t asreq = *f.msg;
            bl_record_t scratch;
            asreq.rsp = f.msg->rqi;
            asreq.nrsp = f.msg->nrqi;
            asreq.flags = BL_RMF_TRAILING;
            bl_record_init(&scratch);
            m.decoded = bl_rs_decode(s->c, &asreq, f.pl, f.plen, 0, 0, &scratch, NULL, 0, &s->dec) == 0;
            s->dec.fields = 0;
            memset(s->dec.active, 0, sizeof s->dec.active);
        }
        emit(s, &m);
        return;
    }
    if (s->live && s->c->framing == BL_FRAMING_PYLON && f.addr != s->want_addr) {
        /* bmslink asked one pack and another answered: a pack set to another address (DIP),
         * or a second master on the bus. Its values are not this pack's: not stored. */
        count_reject(s, BL_RSR_ADDRESS);
        snprintf(err, sizeof err, "answer from address 0x%02X, bmslink asked 0x%02X (check the pack's address "
                                  "switches, or another master on the bus)", f.addr, s->want_addr);
        m.error = err;
        problem(s, line, "%s", err);
        emit(s, &m);
        return;
    }
    if (f.rtn != 0) {
        count_reject(s, BL_RSR_ERROR_CODE);
        snprintf(err, sizeof err, "the BMS answered with error code 0x%02X%s", f.rtn,
                 s->c->kind == BL_RSK_PYLON ? (f.rtn == 0x04 ? " (CID2 invalid)" : f.rtn == 0x02 ? " (CHKSUM error)"
                                               : f.rtn == 0x03 ? " (LCHKSUM error)" : f.rtn == 0x90 ? " (ADR error)"
                                               : f.rtn == 0x91 ? " (internal communication error)" : "")
                                            : "");
        m.error = err;
        problem(s, line, "%s", err);
        emit(s, &m);
        return;
    }
    if (f.msg == NULL) {
        if (f.plen == 0) {
            m.message = "acknowledge";
            emit(s, &m);
            return;
        }
        count_reject(s, BL_RSR_UNSOLICITED);
        snprintf(err, sizeof err, "answer to an unknown request (%zu payload bytes fit no layout of %s)", f.plen,
                 s->p->name);
        m.error = err;
        problem(s, line, "%s", err);
        emit(s, &m);
        return;
    }
    if (bl_rs_decode(s->c, f.msg, f.pl, f.plen, f.group ? 1 : -1, ts / 1000u, &s->rec, s->packs, BL_RS_MAX_PACKS,
                     &s->dec) < 0 && s->dec.why == BL_RSR_LAYOUT && !f.inferred) {
        /* the answer does not fit the request seen before it (a capture that missed a
         * request): read it by the layout it fits, and say so */
        const bl_rs_msg_t *alt = bl_rs_infer(s->c, f.pl, f.plen);
        if (alt != NULL && alt != f.msg) {
            f.msg = alt;
            f.cmd = alt->id;
            m.cmd = alt->id;
            m.message = alt->name;
            m.inferred = true;
            (void)bl_rs_decode(s->c, f.msg, f.pl, f.plen, -1, ts / 1000u, &s->rec, s->packs, BL_RS_MAX_PACKS,
                               &s->dec);
        }
    }
    if (s->dec.why != BL_RSR_NONE) {
        count_reject(s, s->dec.why);
        if (s->dec.why == BL_RSR_RANGE && s->dec.nvals > 0) {
            const bl_rs_val_t *v = &s->dec.vals[s->dec.nvals - 1];
            char val[32];
            snprintf(val, sizeof val, "%.*f", bl_sig_decimals(v->sig), (double)v->v / 1000.0);
            snprintf(err, sizeof err, "range: %s %s %s outside %g..%g", v->sig->name, val, v->sig->unit,
                     v->sig->min / 1000.0, v->sig->max / 1000.0);
        } else {
            snprintf(err, sizeof err, "layout: %s does not fit %zu payload bytes (at byte %u)", f.msg->name, f.plen,
                     s->dec.at);
        }
        m.error = err;
        m.decoded = s->dec.why == BL_RSR_RANGE;
        problem(s, line, "0x%02X %s: %s", f.cmd, f.msg->name, err);
        emit(s, &m);
        return;
    }
    m.decoded = true;
    emit(s, &m);
}

static void on_stream(void *ctx, const bl_stream_ev_t *ev)
{
    dsess_t *s = ctx;
    const linepos_t *lp = line_of(s, ev->offset);
    uint64_t line = lp ? lp->line : s->cur_line;
    uint64_t ts = s->live ? wall_us() : s->cur_ts;
    bool has_ts = s->live ? true : s->cur_has_ts;
    char err[160];

    if (s->stop)
        return;
    if (ev->kind == BL_SEV_NOISE) {
        s->noise_bytes += ev->len;
        s->reasons[BL_RSR_NOISE]++;
        problem(s, line, "%zu bytes of noise outside any %s frame (wrong baud or protocol?)", ev->len,
                bl_framing_str(s->c->framing));
        return;
    }
    if (ev->kind == BL_SEV_REJECT) {
        msgout_t m;
        memset(&m, 0, sizeof m);
        reject_text(ev, err, sizeof err);
        count_reject(s, (bl_rsr_t)ev->why);
        problem(s, line, "%s", err);
        m.ts_us = ts;
        m.has_ts = has_ts;
        m.line = line;
        m.rtn = -1;
        m.reg = m.count = -1;
        m.ver = m.cid1 = -1;
        m.cmd = BL_RS_CMD_UNKNOWN;
        m.direction = "unknown";
        m.pl = ev->data;
        m.plen = ev->len;
        m.error = err;
        if (s->c->framing == BL_FRAMING_PYLON && ev->len >= 5) {
            /* the address is readable even when the checksum is not */
            unsigned a = 0;
            bool ok = true;
            for (int i = 3; i < 5; i++)
                ok = ok && is_hexc((char)ev->data[i]), a = a << 4 | (ok ? hexv((char)ev->data[i]) : 0);
            if (ok)
                m.addr = (uint8_t)a;
        } else if (ev->len >= 2 && s->c->framing == BL_FRAMING_DALY) {
            m.addr = ev->data[1];
        }
        emit(s, &m);
        return;
    }
    on_frame(s, ev->data, ev->len, ts, has_ts, line);
}

/* ---- Modbus frames (captures) and register blocks -------------------------------------- */

static const char *block_name(const bl_mb_map_t *map, unsigned table, uint16_t start, uint16_t count)
{
    for (unsigned i = 0; i < map->nblocks; i++)
        if (map->blocks[i].table == table && map->blocks[i].start == start && map->blocks[i].count == count)
            return map->blocks[i].name;
    return "registers";
}

static void mb_decode_regs(dsess_t *s, msgout_t *m, const bl_mb_block_t *b, const uint16_t *regs, size_t n,
                           uint64_t now_ms)
{
    static char err[160];
    if (s->csv != NULL)
        csvout_before(s->csv, &s->rec, m->ts_us, m->has_ts);
    if (bl_mb_decode(s->c->map, b, regs, n, now_ms, &s->rec, &s->dec) < 0) {
        const bl_rs_val_t *v = s->dec.nvals ? &s->dec.vals[s->dec.nvals - 1] : NULL;
        count_reject(s, s->dec.why);
        snprintf(err, sizeof err, "range: %s outside %g..%g (register 0x%04X)", v ? v->sig->name : "?",
                 v ? v->sig->min / 1000.0 : 0.0, v ? v->sig->max / 1000.0 : 0.0, s->dec.at);
        m->error = err;
        m->decoded = true;
        problem(s, m->line, "%s", err);
        return;
    }
    m->decoded = true;
}

static void on_modbus_line(dsess_t *s, const uint8_t *b, size_t n)
{
    bl_mb_adu_t a;
    bl_rsr_t why;
    msgout_t m;
    char err[160];
    int rc = bl_mb_parse_rtu(b, n, &a, &why);

    memset(&m, 0, sizeof m);
    m.ts_us = s->cur_ts;
    m.has_ts = s->cur_has_ts;
    m.line = s->cur_line;
    m.rtn = -1;
    m.reg = m.count = -1;
    m.ver = m.cid1 = -1;
    m.pl = b;
    m.plen = n;
    m.addr = n ? b[0] : 0;
    m.cmd = n > 1 ? b[1] : BL_RS_CMD_UNKNOWN;
    if (rc == BL_ENOTSUP) {
        cli_err("decode: this build has no libmodbus: Modbus captures cannot be checked");
        s->stop = true;
        return;
    }
    if (rc < 0) {
        count_reject(s, why);
        snprintf(err, sizeof err, "%s", why == BL_RSR_CHECKSUM ? "Modbus CRC does not verify (libmodbus)"
                                        : why == BL_RSR_ADDRESS ? "unit id above 247"
                                                                : "not a Modbus RTU frame (length does not fit the function)");
        m.error = err;
        m.direction = "unknown";
        problem(s, s->cur_line, "%s", err);
        emit(s, &m);
        return;
    }
    m.direction = a.request ? "request" : "response";
    m.cmd = a.fc;
    if (a.request) {
        /* an identical echo of a write (FC 5/6) is its answer */
        s->mbreq[a.unit].used = 1;
        s->mbreq[a.unit].fc = a.fc;
        s->mbreq[a.unit].start = a.start;
        s->mbreq[a.unit].count = a.count;
        m.reg = a.start;
        m.count = a.count;
        m.pl = b + 2;
        m.plen = n - 4;
        if (a.fc <= 4)
            m.message = block_name(s->c->map, a.fc == 1 ? BL_MB_CO : a.fc == 2 ? BL_MB_DI : a.fc == 3 ? BL_MB_HR : BL_MB_IR,
                                   a.start, a.count);
        else
            m.message = "write";
        emit(s, &m);
        return;
    }
    if (a.exception) {
        count_reject(s, BL_RSR_ERROR_CODE);
        snprintf(err, sizeof err, "Modbus exception %u%s", a.exception,
                 a.exception == 1 ? " (illegal function)" : a.exception == 2 ? " (illegal data address)"
                 : a.exception == 3 ? " (illegal data value)" : a.exception == 4 ? " (slave device failure)" : "");
        m.rtn = a.exception;
        m.error = err;
        m.pl = b + 2;
        m.plen = 1;
        s->mbreq[a.unit].used = 0;
        problem(s, s->cur_line, "%s", err);
        emit(s, &m);
        return;
    }
    m.pl = a.data ? a.data : b + 2;
    m.plen = a.data ? a.ndata : n - 4;
    m.rtn = 0;
    if (a.fc > 4) {
        m.message = "write_acknowledge";
        emit(s, &m);
        return;
    }
    if (!s->mbreq[a.unit].used || s->mbreq[a.unit].fc != a.fc) {
        count_reject(s, BL_RSR_UNSOLICITED);
        snprintf(err, sizeof err, "answer without its request: the registers it holds are unknown");
        m.error = err;
        problem(s, s->cur_line, "%s", err);
        emit(s, &m);
        return;
    }
    {
        uint16_t regs[2000];
        size_t nv = 0;
        bl_mb_block_t blk;
        uint16_t start = s->mbreq[a.unit].start, count = s->mbreq[a.unit].count;
        if (a.data == NULL) {
            a.ndata = 0; /* libmodbus gave no data bytes: nothing to read */
        } else if (a.fc <= 2) {
            for (size_t i = 0; i < a.ndata * 8 && nv < count; i++)
                regs[nv++] = (a.data[i / 8] >> (i % 8)) & 1u;
        } else {
            for (size_t i = 0; i + 1 < a.ndata && nv < 2000; i += 2)
                regs[nv++] = (uint16_t)(a.data[i] << 8 | a.data[i + 1]);
        }
        s->mbreq[a.unit].used = 0;
        blk.name = NULL;
        blk.table = a.fc == 1 ? BL_MB_CO : a.fc == 2 ? BL_MB_DI : a.fc == 3 ? BL_MB_HR : BL_MB_IR;
        blk.start = start;
        blk.count = (uint16_t)nv;
        blk.once = 0;
        m.reg = start;
        m.count = (int)nv;
        m.message = block_name(s->c->map, blk.table, start, count);
        mb_decode_regs(s, &m, &blk, regs, nv, s->cur_ts / 1000u);
    }
    emit(s, &m);
}

/* ---- captures ----------------------------------------------------------------------- */

static int read_capture(dsess_t *s, const char *uri)
{
    bl_linereader_t lr;
    const char *path = strncmp(uri, "file:", 5) == 0 ? uri + 5 : uri;
    const char *line;
    size_t len;
    int rc;
    uint64_t bytes = 0, good_lines = 0, bad_lines = 0;

    rc = bl_lr_open(&lr, path);
    if (rc < 0) {
        cli_err("%s: cannot open: %s", uri, strerror(-rc));
        return BL_EXIT_IO;
    }
    s->src = uri;
    s->shown = s->suppressed = 0;
    s->nlines = 0;
    if (s->c->kind != BL_RSK_MODBUS)
        bl_stream_init(&s->st, s->c->framing, s->fbuf, sizeof s->fbuf, on_stream, s);
    while (!s->stop && !interrupted && (rc = bl_lr_next(&lr, &line, &len)) == 1) {
        uint8_t b[BL_LINE_MAX];
        size_t n, col = 0;
        uint64_t ts = 0;
        bool has = false;
        const char *what = NULL;
        line_kind_t k;

        if (lr.too_long) {
            bad_lines++;
            count_reject(s, BL_RSR_TOO_LONG);
            problem(s, lr.line, "line longer than %u bytes (binary data?)", BL_LINE_MAX);
            continue;
        }
        k = parse_line(line, len, b, sizeof b, &n, &ts, &has, &what, &col);
        if (k == L_BLANK)
            continue;
        if (k == L_BAD) {
            bad_lines++;
            count_reject(s, BL_RSR_SYNTAX);
            problem(s, lr.line, "%s (column %zu)", what, col);
            continue;
        }
        good_lines++;
        s->cur_line = lr.line;
        s->cur_ts = ts;
        s->cur_has_ts = has;
        if (has && s->o.duration_ms && s->have_ts && ts - s->first_ts > s->o.duration_ms * 1000u)
            break;
        if (s->c->kind == BL_RSK_MODBUS) {
            on_modbus_line(s, b, n);
            continue;
        }
        s->lines[s->nlines % BL_ARRAY_LEN(s->lines)] = (linepos_t){ s->st.total, lr.line, ts, has };
        s->nlines++;
        bytes += n;
        bl_stream_push(&s->st, b, n);
    }
    if (s->c->kind != BL_RSK_MODBUS && !s->stop)
        bl_stream_flush(&s->st);
    bl_lr_close(&lr);
    if (rc < 0) {
        cli_err("%s:%llu: read error: %s", uri, (unsigned long long)lr.line, strerror(-rc));
        return BL_EXIT_IO;
    }
    if (s->suppressed)
        fprintf(stderr, "bmslink: %s: %u more problems not listed (counted in --summary)\n", uri, s->suppressed);
    if (good_lines == 0 && bad_lines == 0)
        cli_err("%s: no RS485 data (empty capture?)", uri);
    else if (good_lines == 0)
        cli_err("%s: no RS485 data: none of %llu lines is hex bytes or a ~ ASCII frame", uri,
                (unsigned long long)bad_lines);
    else if (s->msgs == 0 && s->c->kind != BL_RSK_MODBUS)
        cli_err("%s: %llu bytes, no %s frame in them (wrong protocol, or the capture is not of this bus)", uri,
                (unsigned long long)bytes, bl_framing_str(s->c->framing));
    return 0;
}

/* ---- live: bmslink as the inverter (poller) ---------------------------------------- */

/* --record: what went over the serial line, as hex485 lines bmslink decode reads back */
static void record(dsess_t *s, char dir, const uint8_t *d, size_t n)
{
    uint64_t us = wall_us();
    if (s->recf == NULL || n == 0)
        return;
    fprintf(s->recf, "(%llu.%06llu) %c ", (unsigned long long)(us / 1000000u), (unsigned long long)(us % 1000000u), dir);
    for (size_t i = 0; i < n; i++)
        fprintf(s->recf, "%02X%s", d[i], i + 1 < n ? " " : "");
    fputc('\n', s->recf);
}

static void link_state(dsess_t *s, const char *state, const char *why)
{
    if (s->link != NULL && strcmp(s->link, state) == 0)
        return;
    if (!(s->link == NULL && strcmp(state, "up") == 0) && !s->o.quiet)
        fprintf(stderr, "bmslink: %s: link %s%s%s\n", s->src, state, why ? ": " : "", why ? why : "");
    s->link = state;
    s->link_changes++;
}

static bool stopping(const dsess_t *s, uint64_t t0)
{
    return s->stop || interrupted || (s->o.duration_ms && mono_ms() - t0 >= s->o.duration_ms);
}

static void nap(const dsess_t *s, uint64_t t0, uint64_t ms)
{
    uint64_t until = mono_ms() + ms;
    while (!stopping(s, t0) && mono_ms() < until) {
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

static void timeout_msg(dsess_t *s, uint8_t addr, uint16_t cmd, const char *name, uint32_t ms, int reg, int count)
{
    msgout_t m;
    char err[160];
    memset(&m, 0, sizeof m);
    m.ts_us = wall_us();
    m.has_ts = true;
    m.addr = addr;
    m.cmd = cmd;
    m.rtn = -1;
    m.reg = reg;
    m.count = count;
    m.direction = "response";
    m.message = name;
    m.pl = (const uint8_t *)"";
    snprintf(err, sizeof err, "timeout: no answer within %u ms", (unsigned)ms);
    m.error = err;
    count_reject(s, BL_RSR_TIMEOUT);
    s->timeouts++;
    /* not a message received: it does not count toward --count */
    if (s->o.json)
        json_msg(s, &m);
    else if (!s->o.summary)
        text_msg(s, &m);
    out_flush(&s->out);
}

/* One request, up to 1 + RETRIES tries with a growing pause. 1 answered, 0 not, < 0 I/O failure. */
static int exchange(dsess_t *s, bl_serial485_t *port, uint8_t addr, uint16_t cmd, uint64_t t0)
{
    uint8_t req[64], rx[512];
    const bl_rs_msg_t *m = bl_rs_msg(s->c, cmd);
    int n = bl_rs_request(s->p, addr, cmd, false, req, sizeof req);

    if (n < 0)
        return 1; /* nothing this poller can ask: not the link's fault */
    {
        /* the session learns what was asked, so the answer is read with the right layout */
        bl_rs_frame_t f;
        bl_rsr_t why;
        (void)bl_rs_session_frame(&s->sess, req, (size_t)n, s->info, sizeof s->info, &f, &why);
    }
    s->want_addr = addr;
    s->want_cmd = cmd;
    for (unsigned t = 0; t <= RETRIES && !stopping(s, t0); t++) {
        uint64_t deadline;
        int w;
        s->answered = false;
        w = bl_serial485_write(port, req, (size_t)n, 1000);
        record(s, '>', req, (size_t)n);
        if (w < 0) {
            cli_err("%s: write: %s", s->src, strerror(-w));
            return -1;
        }
        deadline = mono_ms() + s->c->reply_ms;
        while (!s->answered && !stopping(s, t0)) {
            uint64_t now = mono_ms();
            long r;
            if (now >= deadline)
                break;
            r = bl_serial485_read(port, rx, sizeof rx, (int)(deadline - now));
            if (r < 0) {
                cli_err("%s: read: %s", s->src, r == -EIO ? "the port went away (adapter unplugged, peer closed)" : strerror((int)-r));
                return -1;
            }
            record(s, '<', rx, (size_t)r);
            bl_stream_push(&s->st, rx, (size_t)r);
        }
        if (s->answered) {
            /* multi-frame answers (Daly 0x95/0x96) and trailing bytes: read until the line is quiet */
            long r;
            while (!stopping(s, t0) && (r = bl_serial485_read(port, rx, sizeof rx, 30)) > 0) {
                record(s, '<', rx, (size_t)r);
                bl_stream_push(&s->st, rx, (size_t)r);
            }
            return 1;
        }
        if (stopping(s, t0))
            break;
        timeout_msg(s, addr, cmd, m ? m->name : NULL, s->c->reply_ms, -1, -1);
        if (t < RETRIES) {
            s->retries++;
            nap(s, t0, 100u << t); /* 100 ms, 200 ms: let a busy half-duplex line settle */
        }
    }
    return 0;
}

static uint64_t backoff_ms(unsigned down_cycles, uint32_t period)
{
    uint64_t b = (uint64_t)(period ? period : 1000u) << (down_cycles < 5 ? down_cycles : 5);
    return b > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b;
}

static int poll_serial(dsess_t *s, const char *uri)
{
    bl_serial485_t port;
    char err[256];
    uint8_t addr;
    uint64_t t0 = mono_ms();
    unsigned fails = 0, down_cycles = 0;
    bool first = true;
    int rc;

    if (bl_serial485_parse(uri, bl_proto_baud(s->p), &port, err, sizeof err) < 0) {
        cli_err("%s: %s", uri, err);
        return BL_EXIT_USAGE;
    }
    addr = port.addr >= 0 ? (uint8_t)port.addr : s->c->addr_default;
    if (s->c->addr_min != s->c->addr_max && (addr < s->c->addr_min || addr > s->c->addr_max) && !s->o.quiet)
        fprintf(stderr, "bmslink: %s: address 0x%02X is outside %s's usual 0x%02X..0x%02X\n", uri, addr, s->p->name,
                s->c->addr_min, s->c->addr_max);
    if (bl_serial485_open(&port, err, sizeof err) < 0) {
        cli_err("%s: cannot open: %s", uri, err);
        return BL_EXIT_IO;
    }
    if (!port.rs485_mode && !s->o.quiet && cli_stderr_tty())
        fprintf(stderr, "bmslink: %s: no kernel RS485 mode on this port (an adapter that switches direction "
                        "itself, or a pty): fine for most USB adapters\n", uri);
    s->src = uri;
    s->live = true;
    s->shown = s->suppressed = 0;
    bl_stream_init(&s->st, s->c->framing, s->fbuf, sizeof s->fbuf, on_stream, s);
    while (!stopping(s, t0)) {
        uint64_t start = mono_ms();
        for (int pass = first ? 0 : 1; pass < 2 && !stopping(s, t0); pass++) {
            const uint8_t *list = pass == 0 ? s->c->poll_once : s->c->poll;
            for (const uint8_t *q = list; q != NULL && *q && !stopping(s, t0); q++) {
                uint64_t noise0 = s->noise_bytes;
                rc = exchange(s, &port, addr, *q, t0);
                if (rc < 0) {
                    bl_serial485_close(&port);
                    link_state(s, "down", "I/O error");
                    return BL_EXIT_IO;
                }
                if (rc > 0) {
                    fails = 0;
                    down_cycles = 0;
                    link_state(s, "up", NULL);
                } else if (!stopping(s, t0)) {
                    char why[256];
                    fails++;
                    snprintf(why, sizeof why,
                             "%u requests unanswered in a row (%u ms each)%s; check wiring (A/B), baud (%s needs %s), "
                             "address (0x%02X)",
                             fails, (unsigned)s->c->reply_ms,
                             s->noise_bytes > noise0 ? ", but bytes arrived that are no frame: wrong baud?" : "",
                             s->p->name, bl_proto_serial(s->p) ? bl_proto_serial(s->p) : "?", addr);
                    link_state(s, fails >= DOWN_AFTER ? "down" : "degraded", why);
                }
                nap(s, t0, s->c->gap_ms);
            }
        }
        first = false;
        if (s->link != NULL && strcmp(s->link, "down") == 0) {
            nap(s, t0, backoff_ms(down_cycles++, s->c->poll_ms)); /* a dead link is asked less often */
            continue;
        }
        {
            uint64_t took = mono_ms() - start;
            if (took < s->c->poll_ms)
                nap(s, t0, s->c->poll_ms - took);
        }
    }
    bl_stream_flush(&s->st);
    bl_serial485_close(&port);
    return 0;
}

static int poll_modbus(dsess_t *s, const char *uri)
{
    bl_mb_link_t l;
    char err[256];
    uint64_t t0 = mono_ms();
    unsigned fails = 0, down_cycles = 0;
    bool first = true;
    int rc;
    const bl_mb_map_t *map = s->c->map;

    if (bl_mb_parse_uri(uri, bl_proto_baud(s->p), s->c->addr_default, &l, err, sizeof err) < 0) {
        cli_err("%s: %s", uri, err);
        return BL_EXIT_USAGE;
    }
    if ((rc = bl_mb_client_open(&l, s->c->reply_ms, err, sizeof err)) < 0) {
        cli_err("%s: cannot open: %s", uri, err);
        return rc == BL_ENOTSUP ? BL_EXIT_USAGE : BL_EXIT_IO;
    }
    s->src = uri;
    s->live = true;
    s->shown = s->suppressed = 0;
    while (!stopping(s, t0)) {
        uint64_t start = mono_ms();
        for (unsigned i = 0; i < map->nblocks && !stopping(s, t0); i++) {
            const bl_mb_block_t *b = &map->blocks[i];
            uint16_t regs[2000];
            int exc = 0;
            bool done = false;
            if (b->once && !first)
                continue;
            for (unsigned t = 0; t <= RETRIES && !done && !stopping(s, t0); t++) {
                msgout_t m;
                uint8_t data[4000];
                rc = bl_mb_read(&l, b, regs, &exc, err, sizeof err);
                if (rc == BL_ETIMEDOUT || (rc == BL_EBADMSG && exc == 0)) {
                    if (rc == BL_ETIMEDOUT)
                        timeout_msg(s, (uint8_t)l.unit, bl_mb_read_fc(b->table), b->name, s->c->reply_ms, b->start,
                                    b->count);
                    else {
                        count_reject(s, BL_RSR_CHECKSUM);
                        problem(s, 0, "%s: %s (retrying)", b->name, err);
                    }
                    if (t < RETRIES) {
                        s->retries++;
                        nap(s, t0, 100u << t);
                    }
                    continue;
                }
                if (rc == BL_EIO) {
                    problem(s, 0, "%s: %s", b->name, err);
                    break;
                }
                done = true;
                memset(&m, 0, sizeof m);
                m.ts_us = wall_us();
                m.has_ts = true;
                m.addr = (uint8_t)l.unit;
                m.cmd = bl_mb_read_fc(b->table);
                m.reg = b->start;
                m.count = b->count;
                m.message = b->name;
                m.direction = "response";
                m.rtn = exc;
                if (rc == BL_EBADMSG) {
                    char e2[320];
                    count_reject(s, BL_RSR_ERROR_CODE);
                    snprintf(e2, sizeof e2, "Modbus exception %d (%s)", exc, err);
                    m.error = e2;
                    m.pl = (const uint8_t *)"";
                    problem(s, 0, "%s: %s", b->name, e2);
                    emit(s, &m);
                    continue;
                }
                for (size_t k = 0; k < b->count; k++) {
                    data[2 * k] = (uint8_t)(regs[k] >> 8);
                    data[2 * k + 1] = (uint8_t)regs[k];
                }
                m.pl = data;
                m.plen = (b->table == BL_MB_CO || b->table == BL_MB_DI) ? 0 : 2u * b->count;
                mb_decode_regs(s, &m, b, regs, b->count, m.ts_us / 1000u);
                emit(s, &m);
            }
            if (done) {
                fails = 0;
                down_cycles = 0;
                link_state(s, "up", NULL);
            } else if (!stopping(s, t0)) {
                char why[512];
                fails++;
                snprintf(why, sizeof why, "%u reads unanswered in a row (%s); check %s, unit (%d), wiring", fails,
                         err, l.tcp ? "host and port" : "baud and parity", l.unit);
                link_state(s, fails >= DOWN_AFTER || rc == BL_EIO ? "down" : "degraded", why);
                if (rc == BL_EIO) {
                    /* the connection broke: reconnect after a pause that grows */
                    bl_mb_close(&l);
                    nap(s, t0, backoff_ms(down_cycles++, s->c->poll_ms));
                    if (bl_mb_client_open(&l, s->c->reply_ms, err, sizeof err) < 0) {
                        problem(s, 0, "reconnect: %s", err);
                        continue;
                    }
                }
            }
            nap(s, t0, s->c->gap_ms);
        }
        first = false;
        if (s->link != NULL && strcmp(s->link, "down") == 0) {
            nap(s, t0, backoff_ms(down_cycles++, s->c->poll_ms));
            continue;
        }
        {
            uint64_t took = mono_ms() - start;
            if (took < s->c->poll_ms)
                nap(s, t0, s->c->poll_ms - took);
        }
    }
    bl_mb_close(&l);
    return 0;
}

/* ---- summary, protocol choice, entry ---------------------------------------------------- */

static void print_summary(dsess_t *s)
{
    bl_out_t *o = &s->out;
    uint64_t stale_ms = s->o.stale_ms ? s->o.stale_ms : bl_proto_timeout_ms(s->p);
    o->first = true;
    j_obj(o);
    j_kstr(o, "protocol", s->p->name);
    j_kint(o, "frames", (int64_t)s->msgs);
    j_kint(o, "decoded", (int64_t)s->decoded);
    j_kint(o, "errors", (int64_t)s->errors);
    j_key(o, "error_reasons");
    j_obj(o);
    for (unsigned r = 1; r < BL_RSR_COUNT; r++)
        if (s->reasons[r])
            j_kint(o, bl_rsr_str(r), (int64_t)s->reasons[r]);
    j_end_obj(o);
    j_kint(o, "noise_bytes", (int64_t)s->noise_bytes);
    j_key(o, "first_ts");
    if (s->have_ts)
        out_ts(o, s->first_ts);
    else
        out_str(o, "null");
    o->first = false;
    j_key(o, "last_ts");
    if (s->have_ts)
        out_ts(o, s->last_ts);
    else
        out_str(o, "null");
    o->first = false;
    cli_json_fields(o, "record", &s->rec, UINT32_MAX);
    cli_json_alarms(o, s->rec.active);
    j_key(o, "stale_fields");
    j_arr(o);
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if (s->have_ts && s->rec.f[i].valid && !bl_field_fresh(&s->rec.f[i], s->last_ts / 1000u, stale_ms))
            j_str_el(o, bl_field_info(i)->key);
    j_end_arr(o);
    j_kint(o, "stale_after_ms", (int64_t)stale_ms);
    if (s->live) {
        j_key(o, "link");
        j_obj(o);
        j_kstr(o, "state", s->link ? s->link : "down");
        j_kint(o, "timeouts", (int64_t)s->timeouts);
        j_kint(o, "retries", (int64_t)s->retries);
        j_kint(o, "state_changes", (int64_t)s->link_changes);
        j_end_obj(o);
    }
    j_end_obj(o);
    out_ch(o, '\n');
}

static void print_text_tail(dsess_t *s)
{
    bl_out_t *o = &s->out;
    out_printf(o, "\n%s: %llu messages, %llu decoded, %llu rejected", s->p->name, (unsigned long long)s->msgs,
               (unsigned long long)s->decoded, (unsigned long long)s->errors);
    for (unsigned r = 1; r < BL_RSR_COUNT; r++)
        if (s->reasons[r])
            out_printf(o, ", %s %llu", bl_rsr_str(r), (unsigned long long)s->reasons[r]);
    if (s->noise_bytes)
        out_printf(o, " (%llu noise bytes)", (unsigned long long)s->noise_bytes);
    if (s->live)
        out_printf(o, "\nlink: %s, %llu timeouts, %llu retries", s->link ? s->link : "down",
                   (unsigned long long)s->timeouts, (unsigned long long)s->retries);
    out_str(o, "\nlast record:\n");
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++) {
        if (!s->rec.f[i].valid)
            continue;
        out_printf(o, "  %-27s ", bl_field_info(i)->key);
        cli_json_field(o, &s->rec, i);
        out_ch(o, '\n');
    }
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        out_printf(o, "  %-27s", bl_alarm_class_str(c));
        if (!s->rec.active[c])
            out_str(o, " none");
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (s->rec.active[c] & (1U << a))
                out_printf(o, " %s", bl_alarm_str(a));
        out_ch(o, '\n');
    }
}

/* Frames a capture holds for a framing (first 200 lines), for detection: how many frame
 * and checksum cleanly, and which side sent them (host requests vs battery answers). */
static unsigned count_frames(const char *path, unsigned framing, cli_rs485_detection_t *d)
{
    bl_linereader_t lr;
    const char *line;
    size_t len;

    d->frames = d->requests = d->answers = d->lines = 0;
    if (bl_lr_open(&lr, path) < 0)
        return 0;
    for (int i = 0; i < 200 && bl_lr_next(&lr, &line, &len) == 1; i++) {
        uint8_t b[BL_LINE_MAX];
        size_t n, col;
        uint64_t ts;
        bool has;
        const char *what;
        if (parse_line(line, len, b, sizeof b, &n, &ts, &has, &what, &col) != L_BYTES)
            continue;
        d->lines++;
        if (framing == BL_FRAMING_PYLON && n > 9 && b[0] == '~') {
            bl_pyl_frame_t f;
            bl_rsr_t why;
            if (bl_pyl_parse(b, n, NULL, 0, &f, &why, NULL, NULL) == 0) {
                d->frames++;
                d->ver = f.ver;
                d->cid1 = f.cid1;
                /* a host request carries a command (0x4x..0x9x) in CID2; an answer a return code */
                if (f.cid2 >= 0x40)
                    d->requests++;
                else
                    d->answers++;
            }
        } else if (framing == BL_FRAMING_JK && n >= 20 && b[0] == 0x4E && b[1] == 0x57 &&
                   ((size_t)b[2] << 8 | b[3]) + 2u == n && ((unsigned)b[n - 2] << 8 | b[n - 1]) == bl_sum16(b, n - 4)) {
            d->frames++;
            d->answers += n > 40; /* a read-all answer is long, the request short */
            d->requests += n <= 40;
        } else if (framing == BL_FRAMING_DALY && n == 13 && b[0] == 0xA5 && b[3] == 8 && bl_sum8(b, 12) == b[12]) {
            d->frames++;
            if (b[1] == 0x40) /* host address 0x40; the BMS answers from 0x01 */
                d->requests++;
            else
                d->answers++;
        } else if (framing == BL_FRAMING_JBD && n >= 7 && b[0] == 0xDD && b[n - 1] == 0x77 &&
                   ((unsigned)b[n - 3] << 8 | b[n - 2]) == bl_jbd_sum16(b + 2, n - 5)) {
            d->frames++;
            if (b[1] == 0xA5 || b[1] == 0x5A) /* DD A5 read / DD 5A write requests; answers echo the command */
                d->requests++;
            else
                d->answers++;
        }
    }
    bl_lr_close(&lr);
    return d->frames;
}

int cli_rs485_detect(int nsrc, char **srcs, cli_rs485_detection_t *out)
{
    static const struct {
        unsigned framing;
        const char *name;
    } fams[] = { { BL_FRAMING_PYLON, "pylon-rs485" }, { BL_FRAMING_DALY, "daly" }, { BL_FRAMING_JBD, "jbd" },
                 { BL_FRAMING_JK, "jk-4e57" } };
    cli_rs485_detection_t best;

    memset(&best, 0, sizeof best);
    for (size_t f = 0; f < BL_ARRAY_LEN(fams); f++)
        for (int i = 0; i < nsrc; i++) {
            cli_rs485_detection_t d;
            memset(&d, 0, sizeof d);
            if (count_frames(strncmp(srcs[i], "file:", 5) == 0 ? srcs[i] + 5 : srcs[i], fams[f].framing, &d) >
                best.frames) {
                best = d;
                best.framing = bl_framing_str(fams[f].framing);
                best.p = bl_protocol_find(fams[f].name);
                best.dialect_note = NULL;
                if (fams[f].framing == BL_FRAMING_PYLON) {
                    /* the dialect from the header (§9): VER 0x25 PACE, CID1 0x4A with VER 0x22 Daren, else EG4 */
                    if (d.ver == 0x25)
                        best.p = bl_protocol_find("pylon-rs485:pace-v25");
                    else if (d.cid1 == 0x4A)
                        best.p = bl_protocol_find(d.ver == 0x22 ? "pylon-rs485:daren" : "pylon-rs485:eg4");
                    else
                        best.dialect_note = "Seplos V2 shares this header: name it with -p pylon-rs485:seplos-v2";
                }
            }
        }
    *out = best;
    return best.frames > 0 ? 1 : 0;
}

static const bl_protocol_t *detect(int nsrc, char **srcs)
{
    cli_rs485_detection_t d;
    if (cli_rs485_detect(nsrc, srcs, &d) <= 0)
        return NULL;
    fprintf(stderr, "bmslink: decode: detected %s: %u frames in the first lines%s%s%s\n", d.p->name, d.frames,
            d.dialect_note ? " (" : "", d.dialect_note ? d.dialect_note : "", d.dialect_note ? ")" : "");
    return d.p;
}

static bool is_live(const char *src)
{
    return strncmp(src, "serial:", 7) == 0 || strncmp(src, "modbus-rtu:", 11) == 0 || strncmp(src, "modbus-tcp:", 11) == 0;
}

int cli_decode_rs485(const cli_decode_opts_t *o, int nsrc, char **srcs)
{
    dsess_t *s = calloc(1, sizeof *s);
    int rc = BL_EXIT_OK;
    struct sigaction sa, old;

    if (s == NULL)
        return BL_EXIT_IO;
    s->o = *o;
    s->p = o->p;
    if (s->p == NULL) {
        for (int i = 0; i < nsrc; i++)
            if (is_live(srcs[i])) {
                free(s);
                cli_err("decode: %s: name the protocol with -p: bmslink polls it as the inverter and must know "
                        "what to ask (bmslink protocols lists the rs485/modbus ones)", srcs[i]);
                return BL_EXIT_USAGE;
            }
        s->p = detect(nsrc, srcs);
        if (s->p == NULL) {
            free(s);
            cli_err("decode: no RS485 protocol matches this capture; name one with -p (Modbus captures always "
                    "need -p: the register map is not on the wire)");
            return BL_EXIT_IO;
        }
    }
    s->c = bl_rs_codec(s->p);
    if (s->c == NULL) {
        cli_err("decode: %s is a CAN protocol; hex485, serial: and modbus-* sources carry RS485/Modbus", s->p->name);
        free(s);
        return BL_EXIT_USAGE;
    }
    if (o->record_path != NULL) {
        bool serial = false;
        for (int i = 0; i < nsrc; i++)
            serial = serial || strncmp(srcs[i], "serial:", 7) == 0;
        if (!serial || s->c->kind == BL_RSK_MODBUS) {
            cli_err("decode: --record writes the bytes of a serial: source (libmodbus owns Modbus lines; a "
                    "capture is already a recording)");
            free(s);
            return BL_EXIT_USAGE;
        }
        s->recf = fopen(o->record_path, "w");
        if (s->recf == NULL) {
            cli_err("decode: %s: cannot open: %s", o->record_path, strerror(errno));
            free(s);
            return BL_EXIT_IO;
        }
        fprintf(s->recf, "# bmslink decode -p %s: > sent, < received (hex485)\n", s->p->name);
    }
    if (s->c->kind != BL_RSK_MODBUS)
        bl_rs_session_init(&s->sess, s->p);
    bl_record_init(&s->rec);
    out_init(&s->out, stdout);
    if (o->csv) { /* a live line streams its rows, with a column per field the protocol carries */
        bool live = false;
        bl_caps_t caps;
        for (int i = 0; i < nsrc; i++)
            live = live || is_live(srcs[i]) || csvout_streams(srcs[i]);
        bl_proto_caps(s->p, &caps);
        s->csv = csvout_new(stdout, o->step_us, o->stale_ms ? o->stale_ms : bl_proto_timeout_ms(s->p),
                            live ? (caps.fields ? caps.fields : (uint32_t)(BL_BIT(BL_F_BATTERY_COUNT) - 1u)) : 0);
        if (s->csv == NULL) {
            free(s);
            return BL_EXIT_IO;
        }
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);
    for (int i = 0; i < nsrc && !s->stop && !interrupted && rc == BL_EXIT_OK; i++) {
        bool modbus = s->c->kind == BL_RSK_MODBUS;
        if (strncmp(srcs[i], "serial:", 7) == 0) {
            if (modbus) {
                cli_err("%s: %s is a Modbus map: read it with modbus-rtu:DEV@BAUD#UNIT", srcs[i], s->p->name);
                rc = BL_EXIT_USAGE;
                break;
            }
            rc = poll_serial(s, srcs[i]);
        } else if (strncmp(srcs[i], "modbus-", 7) == 0) {
            if (!modbus) {
                cli_err("%s: %s is not a Modbus protocol: poll it with serial:DEV@BAUD[#ADDR]", srcs[i], s->p->name);
                rc = BL_EXIT_USAGE;
                break;
            }
            rc = poll_modbus(s, srcs[i]);
        } else {
            rc = read_capture(s, srcs[i]);
        }
    }
    sigaction(SIGINT, &old, NULL);
    if (rc == BL_EXIT_OK && s->msgs == 0) {
        if (s->live)
            cli_err("decode: no answer from the battery (%llu timeouts)", (unsigned long long)s->timeouts);
        rc = BL_EXIT_IO;
    }
    if (rc == BL_EXIT_OK || (rc == BL_EXIT_IO && s->o.summary)) {
        if (s->o.summary)
            print_summary(s);
        else if (!s->o.json && !s->o.csv)
            print_text_tail(s);
    }
    out_flush(&s->out);
    if (s->csv != NULL && csvout_finish(s->csv, &s->rec) != 0 && rc == BL_EXIT_OK)
        rc = BL_EXIT_IO;
    if (s->recf != NULL && fclose(s->recf) != 0 && rc == BL_EXIT_OK) {
        cli_err("decode: %s: write failed: %s", o->record_path, strerror(errno));
        rc = BL_EXIT_IO;
    }
    free(s);
    return rc;
}
