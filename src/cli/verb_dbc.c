/* bmslink dbc PROTOCOL: the protocol tables as a DBC file (canmatrix, cantools, SavvyCAN). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink dbc [--address N] PROTOCOL\n"
    "  Print a CAN protocol (or variant) as a DBC file on stdout: every message of both\n"
    "  directions, signals with scale, offset, range and unit, cycle times, value tables\n"
    "  for flags and alarm pairs, and comments naming the canonical field of each signal.\n"
    "  -a, --address N  battery / group address in addressed ids (Pylon HV 0x4211 = 1,\n"
    "                   Sofar 0x1351 = 1); default 0\n"
    "examples:\n"
    "  bmslink dbc pylon-lv > pylon-lv.dbc\n"
    "  bmslink dbc --address 1 pylon-hv > pylon-hv-group1.dbc\n";

static void fmt_num(char *buf, size_t n, double v)
{
    snprintf(buf, n, "%.10g", v);
}

static void signal_range(const bl_signal_t *s, double *lo, double *hi)
{
    double f = (double)s->mul / (s->div > 0 ? s->div : 1) / 1000.0, off = s->offset / 1000.0;
    double rlo, rhi;
    if (s->kind == BL_SK_NUM && bl_sig_has_range(s)) {
        *lo = s->min / 1000.0;
        *hi = s->max / 1000.0;
        return;
    }
    if (s->flags & BL_SF_SIGNED) {
        rlo = -(double)(1ULL << (s->len - 1));
        rhi = (double)(1ULL << (s->len - 1)) - 1;
    } else {
        rlo = 0;
        rhi = s->len >= 64 ? 18446744073709551615.0 : (double)((1ULL << s->len) - 1);
    }
    if (s->kind != BL_SK_NUM) {
        *lo = rlo;
        *hi = rhi;
        return;
    }
    *lo = rlo * f + off;
    *hi = rhi * f + off;
    if (*lo > *hi) {
        double t = *lo;
        *lo = *hi;
        *hi = t;
    }
}

static void print_signal(bl_out_t *o, const bl_signal_t *s, const char *rx)
{
    char fac[32], off[32], lo[32], hi[32];
    double dlo, dhi, f = 1.0, of = 0.0;
    const char *mux = "";
    char muxbuf[16];

    if (s->kind == BL_SK_NUM) {
        f = (double)s->mul / (s->div > 0 ? s->div : 1) / 1000.0;
        of = s->offset / 1000.0;
    }
    signal_range(s, &dlo, &dhi);
    fmt_num(fac, sizeof fac, f);
    fmt_num(off, sizeof off, of);
    fmt_num(lo, sizeof lo, dlo);
    fmt_num(hi, sizeof hi, dhi);
    if (s->kind == BL_SK_MUX) {
        mux = " M";
    } else if (s->mux >= 0) {
        snprintf(muxbuf, sizeof muxbuf, " m%d", s->mux);
        mux = muxbuf;
    }
    out_printf(o, " SG_ %s%s : %u|%u@%c%c (%s,%s) [%s|%s] \"%s\" %s\n", s->name, mux, s->start, s->len,
               s->order == BL_BE ? '0' : '1', (s->flags & BL_SF_SIGNED) ? '-' : '+', fac, off, lo, hi,
               s->kind == BL_SK_NUM ? s->unit : "", rx);
}

/* DBC length: what the encoder sends, or more when optional trailing signals need it */
static unsigned dbc_size(const bl_can_codec_t *c, const bl_message_t *m)
{
    unsigned size = m->dlc;
    for (unsigned i = 0; i < m->nsigs; i++) {
        bl_signal_t s;
        unsigned end;
        bl_can_sig(c, m, i, &s);
        if (s.order == BL_LE)
            end = ((unsigned)s.start + s.len + 7u) / 8u;
        else
            end = ((unsigned)s.start / 8u * 8u + 7u - (unsigned)s.start % 8u + s.len + 7u) / 8u;
        if (end > size)
            size = end;
    }
    return size > 8 ? 8 : size;
}

static uint32_t g_addr; /* --address, already shifted into place */

static uint32_t dbc_id(const bl_message_t *m)
{
    uint32_t id = m->id;
    if (m->id_mask)
        id |= g_addr & ~m->id_mask & (m->ext ? BL_CAN_EFF_MASK : BL_CAN_SFF_MASK);
    return m->ext ? (id | 0x80000000u) : id;
}

int verb_dbc(int argc, char **argv)
{
    static const struct option opts[] = { { "address", required_argument, 0, 'a' }, { "help", no_argument, 0, 'h' },
                                          { 0, 0, 0, 0 } };
    const bl_protocol_t *p;
    bl_can_codec_t c;
    bl_out_t *o = &(bl_out_t){ 0 };
    uint64_t addr = 0;
    int ch;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "a:h", opts, NULL)) != -1) {
        if (ch == 'h')
            return cli_help(usage);
        if (ch == 'a') {
            if (!cli_parse_count(optarg, &addr) || addr > 255)
                return cli_usage_err(usage, "dbc", "bad --address '%s' (0..255)", optarg);
            continue;
        }
        return cli_usage_err(usage, "dbc", "unknown option '%s'", argv[optind - 1]);
    }
    if (argc - optind != 1)
        return cli_usage_err(usage, "dbc", "expected one PROTOCOL");
    if ((p = cli_protocol("dbc", argv[optind])) == NULL)
        return BL_EXIT_USAGE;
    if (bl_can_codec_init(&c, p) < 0) {
        cli_err("dbc: %s is a %s protocol; DBC files describe CAN only", p->name, bl_bus_str(bl_proto_root(p)->bus));
        return BL_EXIT_USAGE;
    }
    g_addr = (uint32_t)addr << bl_proto_root(p)->addr_shift;
    if (addr != 0) {
        bool any = false;
        for (unsigned j = 0; j < c.n; j++)
            any = any || c.msg[j]->id_mask != 0;
        if (!any) {
            cli_err("dbc: %s has no addressed ids; --address does not apply", p->name);
            return BL_EXIT_USAGE;
        }
    }
    out_init(o, stdout);
    out_printf(o, "VERSION \"bmslink %s %s\"\n\n", BL_VERSION_STRING, p->name);
    out_str(o, "NS_ :\n    CM_\n    BA_DEF_\n    BA_\n    VAL_\n    BA_DEF_DEF_\n\nBS_:\n\nBU_: BATTERY INVERTER\n\n");
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        bool b2i = m->dir == BL_DIR_B2I;
        out_printf(o, "BO_ %u %s: %u %s\n", (unsigned)dbc_id(m), m->name, dbc_size(&c, m), b2i ? "BATTERY" : "INVERTER");
        for (unsigned i = 0; i < m->nsigs; i++) {
            bl_signal_t s;
            bl_can_sig(&c, m, i, &s);
            print_signal(o, &s, b2i ? "INVERTER" : "BATTERY");
        }
        out_ch(o, '\n');
    }
    out_printf(o, "CM_ \"%s. Generated by bmslink from its protocol tables; sources: %s. Confidence: %s.\";\n",
               p->title, p->sources ? p->sources : "-", bl_conf_str(p->confidence));
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        out_printf(o, "CM_ BO_ %u \"%s, dlc %u (accepts %u..%u)%s%s", (unsigned)dbc_id(m),
                   m->dir == BL_DIR_B2I ? "battery to inverter" : "inverter to battery", m->dlc, m->dlc_min,
                   (m->flags & BL_MF_EMPTY) ? 0u : m->dlc_max ? m->dlc_max : 8u, c.sends[j] ? "" : ", decode only",
                   (m->flags & BL_MF_ON_REQUEST) ? ", sent on request" : "");
        if (m->id_mask)
            out_printf(o, "; id bits 0x%X are the battery / group address (this file: address %u)",
                       (unsigned)(~m->id_mask & (m->ext ? BL_CAN_EFF_MASK : BL_CAN_SFF_MASK)), (unsigned)addr);
        out_str(o, "\";\n");
        for (unsigned i = 0; i < m->nsigs; i++) {
            bl_signal_t s;
            const bl_field_info_t *fi;
            bl_can_sig(&c, m, i, &s);
            fi = bl_field_info(s.field);
            if (fi != NULL)
                out_printf(o, "CM_ SG_ %u %s \"canonical %s%s%s\";\n", (unsigned)dbc_id(m), s.name, fi->key,
                           (s.flags & BL_SF_ABS) ? ", magnitude (decode abs())" : "",
                           s.kind == BL_SK_ASCII ? ", ASCII text" : "");
            else if (s.kind == BL_SK_ALARM || s.kind == BL_SK_PAIR) {
                out_printf(o, "CM_ SG_ %u %s \"%s:", (unsigned)dbc_id(m), s.name, bl_alarm_class_str(s.aclass));
                for (unsigned a = 0; a < BL_A_COUNT; a++)
                    if (s.alarm == a || (s.also & (1U << a)))
                        out_printf(o, " %s", bl_alarm_str(a));
                out_str(o, "\";\n");
            }
        }
    }
    out_str(o, "BA_DEF_ BO_ \"GenMsgCycleTime\" INT 0 65535;\n");
    out_str(o, "BA_DEF_ BO_ \"VFrameFormat\" ENUM \"StandardCAN\",\"ExtendedCAN\";\n");
    out_str(o, "BA_DEF_DEF_ \"GenMsgCycleTime\" 0;\nBA_DEF_DEF_ \"VFrameFormat\" \"StandardCAN\";\n");
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        out_printf(o, "BA_ \"GenMsgCycleTime\" BO_ %u %u;\n", (unsigned)dbc_id(m), (unsigned)m->period_ms);
        if (m->ext)
            out_printf(o, "BA_ \"VFrameFormat\" BO_ %u 1;\n", (unsigned)dbc_id(m));
    }
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        for (unsigned i = 0; i < m->nsigs; i++) {
            const bl_signal_t *s = &m->sigs[i];
            if (s->kind == BL_SK_PAIR)
                out_printf(o, "VAL_ %u %s 0 \"no_information\" 1 \"active\" 2 \"ok\" 3 \"not_supported\" ;\n",
                           (unsigned)dbc_id(m), s->name);
            else if (s->kind == BL_SK_ALARM)
                out_printf(o, "VAL_ %u %s 0 \"ok\" 1 \"active\" ;\n", (unsigned)dbc_id(m), s->name);
            else if (s->kind == BL_SK_BOOL && s->len == 1)
                out_printf(o, "VAL_ %u %s 0 \"%s\" 1 \"%s\" ;\n", (unsigned)dbc_id(m), s->name,
                           (s->flags & BL_SF_INVERT) ? "true" : "false", (s->flags & BL_SF_INVERT) ? "false" : "true");
        }
    }
    out_flush(o);
    return BL_EXIT_OK;
}
