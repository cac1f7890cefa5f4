/* bmslink profiles [--json] [NAME]: the inverter profiles shipped with bmslink. */
#include "cli.h"
#include "errcodes_cli.h"
#include "sim_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink profiles [--json] [NAME]\n"
    "  List the inverter profiles: brand and model family, firmware variants, protocol,\n"
    "  required inverter settings, timeouts and known quirks (each with its source).\n"
    "  With NAME (or a path to a profile .yaml), everything about that one profile.\n"
    "  --json   an array of objects (CLI.md 'profiles --json')\n"
    "  Profiles are read from $BMSLINK_PROFILES or the shipped share/profiles.\n";

static const char *avail(const bl_inv_profile_t *p)
{
    if (p->proto == NULL)
        return "protocol not in this build yet";
    if (bl_proto_root(p->proto)->bus == BL_BUS_MODBUS)
        return "listed (Modbus: no inverter model)";
    return "ready";
}

static void fw_names(bl_out_t *o, const bl_inv_profile_t *p, uint32_t mask)
{
    bool first = true;
    for (unsigned i = 0; i < p->nfw; i++)
        if (mask >> i & 1u) {
            out_str(o, first ? "" : ", ");
            out_str(o, p->firmware[i]);
            first = false;
        }
}

/* What the inverter model sends on its own (src/engines/inverter.c builds it from the tables). */
static const char *slot_kind(const bl_inv_slot_t *s)
{
    if (s->hello)
        return "until_detected";
    if (s->on_detect)
        return "on_detect";
    return s->byte != BL_TRIG_ANY ? "poll" : "periodic";
}

static int slots(const bl_inv_profile_t *p, bl_inv_t *v)
{
    if (p->proto == NULL || bl_proto_root(p->proto)->bus == BL_BUS_MODBUS)
        return -1;
    return bl_inv_init(v, p, 0, 0);
}

static void out_id(bl_out_t *o, uint32_t id)
{
    if (id == 0)
        out_str(o, "any battery frame");
    else
        out_printf(o, "0x%X", (unsigned)id);
}

/* ---- inverter error codes (issue 12): share/errorcodes.yaml by brand ---------------- */

static bool codes_broken; /* the table did not load (said why): exit 3 */

/* the codes of a profile's brand that apply to it, in table order */
static size_t profile_codes(const bl_inv_profile_t *p, const bl_errcode_file_t **t, uint16_t *idx, size_t cap)
{
    size_t n = 0;

    *t = cli_errcodes();
    if (*t == NULL) {
        codes_broken = true;
        return 0;
    }
    for (size_t i = 0; i < (*t)->n && n < cap; i++)
        if (bl_ec_applies(&(*t)->e[i], p->brand, p->name))
            idx[n++] = (uint16_t)i;
    return n;
}

static void text_codes(bl_out_t *o, const bl_inv_profile_t *p)
{
    const bl_errcode_file_t *t;
    uint16_t idx[BL_EC_MAX];
    size_t n = profile_codes(p, &t, idx, BL_EC_MAX);

    if (n == 0 && t != NULL) {
        out_str(o, "  error codes: none known (the fact sheets name no battery-related code for it)\n");
        return;
    }
    out_printf(o, "  error codes (%u, bmslink explain CODE):\n", (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        const bl_errcode_t *e = &t->e[idx[i]];
        out_printf(o, "    %-14s %-8s %s", e->code, bl_ec_severity_str(e->severity), e->name ? e->name : "");
        if (e->firmware)
            out_printf(o, " (firmware %s)", e->firmware);
        out_printf(o, ": %s  [%s, %s]\n", e->meaning, e->source, e->confidence);
    }
}

static void json_codes(bl_out_t *o, const bl_inv_profile_t *p)
{
    const bl_errcode_file_t *t;
    uint16_t idx[BL_EC_MAX];
    size_t n = profile_codes(p, &t, idx, BL_EC_MAX);

    j_key(o, "error_codes");
    j_arr(o);
    for (size_t i = 0; i < n; i++)
        cli_ec_json(o, &t->e[idx[i]]);
    j_end_arr(o);
}

/* ---- text ------------------------------------------------------------------------ */

static void text_list(bl_out_t *o, const bl_profile_file_t *pf, int n)
{
    out_printf(o, "%-24s %-20s %-12s %-6s %-7s %s\n", "NAME", "BRAND", "PROTOCOL", "BUS", "QUIRKS", "STATUS");
    for (int i = 0; i < n; i++) {
        const bl_inv_profile_t *p = &pf[i].p;
        out_printf(o, "%-24s %-20s %-12s %-6s %-7u %s\n", p->name, p->brand, p->protocol_name, bl_bus_str(p->bus),
                   (unsigned)p->nquirks, avail(p));
    }
}

static void text_one(bl_out_t *o, const bl_profile_file_t *pf)
{
    const bl_inv_profile_t *p = &pf->p;

    if (p->family != NULL && strncmp(p->family, p->brand, strlen(p->brand)) == 0)
        out_printf(o, "%s: %s\n", p->name, p->family);
    else
        out_printf(o, "%s: %s %s\n", p->name, p->brand, p->family ? p->family : "");
    if (p->nmodels) {
        out_str(o, "  models: ");
        for (unsigned i = 0; i < p->nmodels; i++)
            out_printf(o, "%s%s", i ? ", " : "", p->models[i]);
        out_ch(o, '\n');
    }
    if (p->nfw) {
        out_str(o, "  firmware: ");
        fw_names(o, p, UINT32_MAX);
        out_str(o, " (first is the default)\n");
    }
    out_printf(o, "  protocol: %s (%s)\n", p->protocol_name, avail(p));
    out_printf(o, "  interface: %s", bl_bus_str(p->bus));
    if (p->bitrate)
        out_printf(o, ", %u bit/s", (unsigned)p->bitrate);
    if (p->baud)
        out_printf(o, ", %u baud", (unsigned)p->baud);
    out_ch(o, '\n');
    if (p->interface_note)
        out_printf(o, "  wiring: %s\n", p->interface_note);
    if (p->proto != NULL) {
        const bl_protocol_t *r = bl_proto_root(p->proto);
        static bl_inv_t v;
        out_printf(o, "  who speaks first: %s\n", r->first == BL_FIRST_BATTERY ? "battery" : "inverter");
        if (slots(p, &v) == 0 && v.rs != NULL) {
            out_printf(o, "  it polls address 0x%02X every %u ms:", (unsigned)v.rs_addr, (unsigned)v.rs->poll_ms);
            for (unsigned k = 0; k < v.rs_n; k++)
                out_printf(o, " 0x%02X%s", (unsigned)v.rs_cmd[k], v.rs_once[k] ? " (once)" : "");
            out_ch(o, '\n');
        } else if (slots(p, &v) == 0) {
            out_str(o, "  it sends:\n");
            for (unsigned k = 0; k < v.nslots; k++) {
                const bl_inv_slot_t *s = &v.slot[k];
                out_printf(o, "    0x%X %s", (unsigned)s->m->id, s->m->name);
                if (s->byte != BL_TRIG_ANY)
                    out_printf(o, " (byte %u = 0x%02X%s", (unsigned)s->byte, (unsigned)s->value, s->mask2 ? "," : ")");
                if (s->byte != BL_TRIG_ANY && s->mask2)
                    out_printf(o, " byte %u = 0x%02X)", (unsigned)s->byte2, (unsigned)s->value2);
                if (s->on_detect)
                    out_str(o, " once the battery is detected\n");
                else if (s->hello)
                    out_printf(o, " every %u s until the battery answers\n", (unsigned)(s->period_ms / 1000));
                else
                    out_printf(o, " every %u ms\n", (unsigned)s->period_ms);
            }
        }
    }
    out_str(o, "  required settings:\n");
    for (unsigned i = 0; i < p->nsettings; i++)
        out_printf(o, "    %s = %s  [%s]\n", p->settings[i].name, p->settings[i].required, p->settings[i].source);
    out_printf(o, "  power stage: charge %d W, discharge %d W, SOC floor %d.%d %% (off-grid %d.%d %%)\n",
               (int)p->max_charge_W, (int)p->max_discharge_W, (int)(p->soc_min_mpct / 1000),
               (int)(p->soc_min_mpct % 1000 / 100), (int)(p->soc_min_offgrid_mpct / 1000),
               (int)(p->soc_min_offgrid_mpct % 1000 / 100));
    if (p->ndetect) {
        out_str(o, "  detects the battery after:");
        for (unsigned i = 0; i < p->ndetect; i++) {
            out_ch(o, ' ');
            out_id(o, p->detect[i]);
        }
        out_ch(o, '\n');
    }
    out_str(o, "  when the data stops:\n");
    for (unsigned i = 0; i < p->ntimeouts; i++) {
        const bl_inv_timeout_t *t = &p->timeouts[i];
        out_str(o, "    ");
        out_id(o, t->msg_id);
        out_printf(o, " silent %u s: %s%s%s  [%s]\n", (unsigned)(t->after_ms / 1000), bl_inv_action_str(t->action),
                   t->code[0] ? " " : "", t->code, t->source);
    }
    out_printf(o, "  quirks (%u):\n", (unsigned)p->nquirks);
    for (unsigned i = 0; i < p->nquirks; i++) {
        const bl_inv_quirk_t *q = &p->quirks[i];
        out_printf(o, "    %s: %s", bl_quirk_str(q->id), q->what);
        if (q->fw_mask) {
            out_str(o, " (firmware ");
            fw_names(o, p, q->fw_mask);
            out_ch(o, ')');
        }
        out_printf(o, "  [%s]\n", q->source);
    }
    text_codes(o, p);
    if (p->sources)
        out_printf(o, "  sources: %s\n", p->sources);
    out_printf(o, "  file: %s\n", pf->path);
}

/* ---- JSON --------------------------------------------------------------------------- */

static void j_fw_list(bl_out_t *o, const bl_inv_profile_t *p, uint32_t mask)
{
    j_arr(o);
    for (unsigned i = 0; i < p->nfw; i++)
        if (mask >> i & 1u)
            j_str_el(o, p->firmware[i]);
    j_end_arr(o);
}

static void json_one(bl_out_t *o, const bl_profile_file_t *pf)
{
    const bl_inv_profile_t *p = &pf->p;
    char id[16];

    j_obj(o);
    j_kstr(o, "name", p->name);
    j_kstr(o, "brand", p->brand);
    j_kstr(o, "family", p->family);
    j_key(o, "models");
    j_arr(o);
    for (unsigned i = 0; i < p->nmodels; i++)
        j_str_el(o, p->models[i]);
    j_end_arr(o);
    j_key(o, "firmware");
    j_fw_list(o, p, UINT32_MAX);
    j_kstr(o, "protocol", p->protocol_name);
    j_kbool(o, "protocol_available", p->proto != NULL);
    j_kstr(o, "interface", bl_bus_str(p->bus));
    if (p->bitrate)
        j_kint(o, "bitrate", p->bitrate);
    else
        j_knull(o, "bitrate");
    if (p->baud)
        j_kint(o, "baud", p->baud);
    else
        j_knull(o, "baud");
    if (p->proto != NULL)
        j_kstr(o, "who_speaks_first", bl_proto_root(p->proto)->first == BL_FIRST_BATTERY ? "battery" : "inverter");
    else
        j_knull(o, "who_speaks_first");
    j_key(o, "sends");
    j_arr(o);
    {
        static bl_inv_t v;
        bool ok = slots(p, &v) == 0;
        for (unsigned k = 0; ok && v.rs != NULL && k < v.rs_n; k++) {
            j_obj(o);
            snprintf(id, sizeof id, "0x%02X", (unsigned)v.rs_cmd[k]);
            j_kstr(o, "message", id);
            j_kstr(o, "when", v.rs_once[k] ? "until_answered" : "poll");
            j_kmilli(o, "period_s", v.rs->poll_ms, 3);
            j_end_obj(o);
        }
        for (unsigned k = 0; ok && k < v.nslots; k++) {
            const bl_inv_slot_t *s = &v.slot[k];
            j_obj(o);
            snprintf(id, sizeof id, "0x%X", (unsigned)s->m->id);
            j_kstr(o, "message", id);
            j_kstr(o, "name", s->m->name);
            j_kstr(o, "when", slot_kind(s));
            if (s->on_detect)
                j_knull(o, "period_s");
            else
                j_kmilli(o, "period_s", s->period_ms, 3);
            if (s->byte != BL_TRIG_ANY) {
                j_kint(o, "byte", s->byte);
                j_kint(o, "value", s->value);
            }
            j_end_obj(o);
        }
    }
    j_end_arr(o);
    j_key(o, "required_settings");
    j_arr(o);
    for (unsigned i = 0; i < p->nsettings; i++) {
        j_obj(o);
        j_kstr(o, "name", p->settings[i].name);
        j_kstr(o, "value", p->settings[i].required);
        j_kstr(o, "source", p->settings[i].source);
        j_end_obj(o);
    }
    j_end_arr(o);
    j_key(o, "detect");
    j_arr(o);
    for (unsigned i = 0; i < p->ndetect; i++) {
        snprintf(id, sizeof id, "0x%X", (unsigned)p->detect[i]);
        j_str_el(o, id);
    }
    j_end_arr(o);
    j_key(o, "timeouts");
    j_arr(o);
    for (unsigned i = 0; i < p->ntimeouts; i++) {
        const bl_inv_timeout_t *t = &p->timeouts[i];
        j_obj(o);
        snprintf(id, sizeof id, "0x%X", (unsigned)t->msg_id);
        j_kstr(o, "message", t->msg_id ? id : "any");
        j_kmilli(o, "after_s", t->after_ms, 3);
        j_kstr(o, "action", bl_inv_action_str(t->action));
        j_kstr(o, "code", t->code);
        j_kstr(o, "source", t->source);
        j_end_obj(o);
    }
    j_end_arr(o);
    j_key(o, "quirks");
    j_arr(o);
    for (unsigned i = 0; i < p->nquirks; i++) {
        const bl_inv_quirk_t *q = &p->quirks[i];
        j_obj(o);
        j_kstr(o, "id", bl_quirk_str(q->id));
        j_kstr(o, "what", q->what);
        j_kstr(o, "source", q->source);
        j_key(o, "firmware");
        j_fw_list(o, p, q->fw_mask ? q->fw_mask : UINT32_MAX);
        if (q->code[0])
            j_kstr(o, "code", q->code);
        j_end_obj(o);
    }
    j_end_arr(o);
    j_key(o, "power");
    j_obj(o);
    j_kint(o, "max_charge_W", p->max_charge_W);
    j_kint(o, "max_discharge_W", p->max_discharge_W);
    j_kmilli(o, "soc_min_pct", p->soc_min_mpct, 1);
    j_kmilli(o, "soc_min_offgrid_pct", p->soc_min_offgrid_mpct, 1);
    j_end_obj(o);
    json_codes(o, p);
    j_kstr(o, "sources", p->sources);
    j_end_obj(o);
}

int verb_profiles(int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, 0, 'j' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    bool json = false;
    int ch, rc = BL_EXIT_OK;
    bl_out_t *o;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = true; break;
        case 'h': return cli_help(usage);
        default: return cli_usage_err(usage, "profiles", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return cli_usage_err(usage, "profiles", "one NAME at most ('%s' is extra)", argv[optind + 1]);
    if ((o = malloc(sizeof *o)) == NULL)
        return BL_EXIT_IO;
    out_init(o, stdout);
    if (optind < argc) {
        bl_profile_file_t *pf = malloc(sizeof *pf);
        if (pf == NULL || (rc = cli_profile_load("profiles", argv[optind], pf)) != BL_EXIT_OK) {
            free(pf);
            free(o);
            return pf == NULL ? BL_EXIT_IO : rc;
        }
        if (json) {
            j_arr(o);
            json_one(o, pf);
            j_end_arr(o);
            out_ch(o, '\n');
        } else {
            text_one(o, pf);
        }
        free(pf);
    } else {
        bl_profile_file_t *all = NULL;
        const char *dir = cli_profiles_dir();
        int nerr = 0;
        int n = bl_profiles_load_dir(dir, &all, cli_load_err, &nerr);
        if (n < 0) {
            cli_err("profiles: cannot read %s", dir);
            free(o);
            return BL_EXIT_IO;
        }
        if (json) {
            j_arr(o);
            for (int i = 0; i < n; i++)
                json_one(o, &all[i]);
            j_end_arr(o);
            out_ch(o, '\n');
        } else {
            text_list(o, all, n);
        }
        free(all);
        if (nerr)
            rc = BL_EXIT_IO; /* a profile file that does not load is an input error */
    }
    out_flush(o);
    free(o);
    return codes_broken && rc == BL_EXIT_OK ? BL_EXIT_IO : rc;
}
