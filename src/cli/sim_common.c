/* Profiles and scenarios for the command line (see sim_cli.h). */
#include "sim_cli.h"
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *cli_profiles_dir(void)
{
    static char buf[PATH_MAX];
    const char *env = getenv("BMSLINK_PROFILES");

    if (env != NULL && *env)
        return env;
    return cli_share_path("profiles", true, buf, sizeof buf);
}

void cli_load_err(void *ctx, const char *msg)
{
    if (ctx != NULL)
        (*(int *)ctx)++;
    cli_err("%s", msg);
}

int cli_profile_load(const char *verb, const char *name, bl_profile_file_t *pf)
{
    char path[1024], err[768];
    const char *dir = cli_profiles_dir();
    bool is_path = strchr(name, '/') != NULL || (strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".yaml") == 0);
    int rc;

    if (is_path)
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%s/%s.yaml", dir, name);
    rc = bl_profile_load(pf, path, err, sizeof err);
    if (rc == 0)
        return BL_EXIT_OK;
    if (rc == BL_ENOENT && is_path) {
        cli_err("%s: %s", verb, err);
        return BL_EXIT_IO;
    }
    if (rc == BL_ENOENT) {
        bl_profile_file_t *all = NULL;
        int n = bl_profiles_load_dir(dir, &all, NULL, NULL);
        fprintf(stderr, "bmslink: %s: unknown profile '%s'; known: ", verb, name);
        for (int i = 0; i < n; i++)
            fprintf(stderr, "%s%s", i ? ", " : "", all[i].p.name);
        if (n <= 0)
            fprintf(stderr, "none (no profiles in %s)", dir);
        fputc('\n', stderr);
        free(all);
        return BL_EXIT_USAGE;
    }
    cli_err("%s", err);
    return BL_EXIT_USAGE;
}

bool cli_profile_runnable(const char *verb, const bl_profile_file_t *pf)
{
    const bl_inv_profile_t *p = &pf->p;
    if (p->proto == NULL) {
        cli_err("%s: profile %s: protocol '%s' is not in this build yet", verb, p->name, p->protocol_name);
        return false;
    }
    if (bl_proto_root(p->proto)->bus == BL_BUS_MODBUS) {
        cli_err("%s: profile %s: %s is a Modbus register map: the inverter model runs CAN and RS485 "
                "byte protocols", verb, p->name, p->protocol_name);
        return false;
    }
    return true;
}

int cli_scenario_load(const char *verb, const char *path, bl_scenario_t *s)
{
    char err[768];
    int rc;
    if (path == NULL) {
        bl_scn_defaults(s);
        return BL_EXIT_OK;
    }
    rc = bl_scenario_load(s, path, err, sizeof err);
    if (rc == 0)
        return BL_EXIT_OK;
    cli_err("%s", err);
    (void)verb;
    /* CLI.md: a bad scenario file is a usage error; an unreadable one is I/O */
    return rc == BL_ENOENT ? BL_EXIT_IO : BL_EXIT_USAGE;
}

void out_clock(bl_out_t *o, uint64_t ms)
{
    uint64_t s = ms / 1000u, d = s / 86400u;
    char buf[40];
    s %= 86400u;
    if (d)
        snprintf(buf, sizeof buf, "%llud %02u:%02u:%02u", (unsigned long long)d, (unsigned)(s / 3600u),
                 (unsigned)(s / 60u % 60u), (unsigned)(s % 60u));
    else
        snprintf(buf, sizeof buf, "%02u:%02u:%02u", (unsigned)(s / 3600u), (unsigned)(s / 60u % 60u),
                 (unsigned)(s % 60u));
    out_str(o, buf);
}

/* ---- event descriptions ------------------------------------------------------------------- */

/* Unit of the quantity a protection of alarm a watches. */
static const char *alarm_unit(unsigned a)
{
    switch (a) {
    case BL_A_CHG_OT: case BL_A_CHG_UT: case BL_A_DSG_OT: case BL_A_DSG_UT: return "C";
    case BL_A_CHG_OC: case BL_A_DSG_OC: case BL_A_SHORT: return "A";
    default: return "V";
    }
}

const char *cli_viol_unit(unsigned v)
{
    return v == BL_VIOL_CVL ? "V" : "A";
}

void cli_frame_text(bl_out_t *o, const bl_can_frame_t *f)
{
    if (f->flags & BL_CAN_ERR) {
        out_str(o, "error frame");
        return;
    }
    out_printf(o, (f->flags & BL_CAN_EXT) ? "%08X#" : "%03X#", (unsigned)f->id);
    out_hex(o, f->data, f->len);
}

static const char *setting_name(const bl_inv_profile_t *p, int32_t i)
{
    return p != NULL && i >= 0 && i < p->nsettings ? p->settings[i].name : "?";
}

static const char *setting_required(const bl_inv_profile_t *p, int32_t i)
{
    return p != NULL && i >= 0 && i < p->nsettings ? p->settings[i].required : "?";
}

static void scenario_detail(bl_out_t *o, const bl_scenario_t *scn, int32_t idx, bool json)
{
    const bl_scn_event_t *e;
    if (scn == NULL || idx < 0 || idx >= scn->nev)
        return;
    e = &scn->ev[idx];
    if (json) {
        j_kint(o, "index", idx);
        j_kint(o, "line", e->line);
        if (e->kind == BL_SE_FROZEN_FIELD || e->kind == BL_SE_STALE_FIELD || e->kind == BL_SE_SCALING)
            j_kstr(o, "field", bl_field_info(e->field)->key);
        if (e->kind == BL_SE_SETTING || e->kind == BL_SE_FIRMWARE || e->kind == BL_SE_SIGNAL)
            j_kstr(o, "name", e->name);
        if (e->kind == BL_SE_SETTING)
            j_kstr(o, "value", e->value);
        return;
    }
    if (e->kind == BL_SE_FROZEN_FIELD || e->kind == BL_SE_STALE_FIELD || e->kind == BL_SE_SCALING)
        out_printf(o, " %s", bl_field_info(e->field)->key);
    if (e->kind == BL_SE_SCALING)
        out_printf(o, " x%d.%03d", (int)(e->a / 1000), (int)(e->a % 1000));
    if (e->kind == BL_SE_SETTING)
        out_printf(o, " %s = %s", e->name, e->value);
    if (e->kind == BL_SE_FIRMWARE)
        out_printf(o, " -> %s", e->name);
    if (e->kind == BL_SE_SIGNAL)
        out_printf(o, " %s = %d", e->name, (int)e->a);
    if (e->kind == BL_SE_CELL_OV)
        out_printf(o, " cell %d reads %d.%03d V", (int)e->a + 1, (int)(e->b / 1000), (int)(e->b % 1000));
    if (e->kind == BL_SE_OVER_TEMP)
        out_printf(o, " reads %d.%d C", (int)(e->a / 1000), (int)((e->a < 0 ? -e->a : e->a) % 1000 / 100));
    if (e->kind == BL_SE_WRONG_BITRATE)
        out_printf(o, " inverter port at %d bit/s", (int)e->a);
    out_printf(o, " (scenario line %u)", (unsigned)e->line);
}

void cli_event_text(bl_out_t *o, const bl_sim_event_t *e, const bl_scenario_t *scn, const bl_inv_profile_t *p)
{
    out_str(o, "  ");
    out_clock(o, e->t_ms);
    out_printf(o, "  %-19s ", bl_ev_kind_str(e->kind));
    switch (e->kind) {
    case BL_EV_PROT_TRIP:
    case BL_EV_PROT_RELEASE:
    case BL_EV_WARN_ON:
    case BL_EV_WARN_OFF:
        out_printf(o, "%s at ", bl_alarm_str((unsigned)e->a));
        out_milli(o, e->b, 3);
        out_printf(o, " %s", alarm_unit((unsigned)e->a));
        break;
    case BL_EV_SOC_RECAL:
        out_milli(o, e->a, 1);
        out_str(o, " % -> ");
        out_milli(o, e->b, 1);
        out_str(o, " %");
        break;
    case BL_EV_FLAG: out_printf(o, "%s %s", bl_field_info((unsigned)e->a)->key, e->b ? "set" : "cleared"); break;
    case BL_EV_INV_STATE:
        out_printf(o, "%s -> %s%s%s", bl_inv_state_str((unsigned)e->a), bl_inv_state_str((unsigned)e->b),
                   e->code[0] ? " " : "", e->code);
        break;
    case BL_EV_INV_DETECT: out_str(o, e->a ? "battery detected" : "battery lost"); break;
    case BL_EV_INV_TIMEOUT:
        if (e->a)
            out_printf(o, "0x%X silent for %d s%s%s", (unsigned)e->a, (int)(e->b / 1000), e->code[0] ? ": " : "", e->code);
        else
            out_printf(o, "battery silent for %d s%s%s", (int)(e->b / 1000), e->code[0] ? ": " : "", e->code);
        break;
    case BL_EV_INV_RESTORED: out_printf(o, "0x%X back", (unsigned)e->a); break;
    case BL_EV_QUIRK:
        out_printf(o, "%s%s%s (inverter current ", bl_quirk_str((unsigned)e->a), e->code[0] ? " " : "", e->code);
        out_milli(o, e->b, 1);
        out_str(o, " A)");
        break;
    case BL_EV_VIOLATION:
        out_printf(o, "%s exceeded by ", bl_viol_str((unsigned)e->a));
        out_milli(o, e->b, 1);
        out_printf(o, " %s", cli_viol_unit((unsigned)e->a));
        break;
    case BL_EV_VIOLATION_END:
        out_printf(o, "%s after ", bl_viol_str((unsigned)e->a));
        out_milli(o, e->b, 0);
        out_str(o, " s");
        break;
    case BL_EV_SCENARIO:
    case BL_EV_SCENARIO_END:
        out_str(o, bl_scn_kind_str((unsigned)e->a));
        scenario_detail(o, scn, e->b, false);
        break;
    case BL_EV_LINK: out_str(o, e->a ? "battery hears the inverter" : "battery: inverter missing"); break;
    case BL_EV_UNSERVED:
        if (e->a)
            out_printf(o, "%d W of load not served", (int)e->b);
        else
            out_str(o, "load served again");
        break;
    case BL_EV_SETTING:
        out_printf(o, "%s is not %s", setting_name(p, e->a), setting_required(p, e->a));
        if (e->code[0])
            out_printf(o, " (%s)", e->code);
        break;
    default: out_printf(o, "%d %d", (int)e->a, (int)e->b); break;
    }
    if (e->has_frame) {
        out_str(o, "  [frame ");
        cli_frame_text(o, &e->frame);
        out_ch(o, ']');
    }
    out_ch(o, '\n');
}

static void j_frame(bl_out_t *o, const bl_can_frame_t *f)
{
    char id[16];
    j_key(o, "frame");
    j_obj(o);
    snprintf(id, sizeof id, "0x%X", (unsigned)f->id);
    j_kstr(o, "id", (f->flags & BL_CAN_ERR) ? "error" : id);
    j_kbool(o, "ext", (f->flags & BL_CAN_EXT) != 0);
    j_key(o, "data");
    out_ch(o, '"');
    out_hex(o, f->data, f->len);
    out_ch(o, '"');
    o->first = false;
    j_end_obj(o);
}

void cli_event_json(bl_out_t *o, const bl_sim_event_t *e, const bl_scenario_t *scn, const bl_inv_profile_t *p)
{
    char id[16];
    j_obj(o);
    j_kmilli(o, "t_s", (int64_t)e->t_ms, 3);
    j_kstr(o, "kind", bl_ev_kind_str(e->kind));
    switch (e->kind) {
    case BL_EV_PROT_TRIP:
    case BL_EV_PROT_RELEASE:
    case BL_EV_WARN_ON:
    case BL_EV_WARN_OFF:
        j_kstr(o, "alarm", bl_alarm_str((unsigned)e->a));
        j_kmilli(o, "value", e->b, 3);
        j_kstr(o, "unit", alarm_unit((unsigned)e->a));
        break;
    case BL_EV_SOC_RECAL:
        j_kmilli(o, "from_pct", e->a, 3);
        j_kmilli(o, "to_pct", e->b, 3);
        break;
    case BL_EV_FLAG:
        j_kstr(o, "field", bl_field_info((unsigned)e->a)->key);
        j_kbool(o, "value", e->b != 0);
        break;
    case BL_EV_INV_STATE:
        j_kstr(o, "from", bl_inv_state_str((unsigned)e->a));
        j_kstr(o, "to", bl_inv_state_str((unsigned)e->b));
        j_kstr(o, "code", e->code);
        break;
    case BL_EV_INV_DETECT: j_kbool(o, "detected", e->a != 0); break;
    case BL_EV_INV_TIMEOUT:
    case BL_EV_INV_RESTORED:
        snprintf(id, sizeof id, "0x%X", (unsigned)e->a);
        j_kstr(o, "message", e->a ? id : "any");
        if (e->kind == BL_EV_INV_TIMEOUT) {
            j_kmilli(o, "after_s", e->b, 3);
            j_kstr(o, "code", e->code);
        }
        break;
    case BL_EV_QUIRK:
        j_kstr(o, "quirk", bl_quirk_str((unsigned)e->a));
        j_kstr(o, "code", e->code);
        j_kmilli(o, "inverter_current_A", e->b, 3);
        break;
    case BL_EV_VIOLATION:
        j_kstr(o, "limit", bl_viol_str((unsigned)e->a));
        j_kmilli(o, "by", e->b, 3);
        j_kstr(o, "unit", cli_viol_unit((unsigned)e->a));
        break;
    case BL_EV_VIOLATION_END:
        j_kstr(o, "limit", bl_viol_str((unsigned)e->a));
        j_kmilli(o, "after_s", e->b, 3);
        break;
    case BL_EV_SCENARIO:
    case BL_EV_SCENARIO_END:
        j_kstr(o, "event", bl_scn_kind_str((unsigned)e->a));
        scenario_detail(o, scn, e->b, true);
        break;
    case BL_EV_LINK: j_kbool(o, "inverter_heard", e->a != 0); break;
    case BL_EV_UNSERVED:
        j_kbool(o, "unserved", e->a != 0);
        j_kint(o, "W", e->a ? e->b : 0);
        break;
    case BL_EV_SETTING:
        j_kstr(o, "setting", setting_name(p, e->a));
        j_kstr(o, "required", setting_required(p, e->a));
        j_kstr(o, "code", e->code);
        break;
    default:
        j_kint(o, "a", e->a);
        j_kint(o, "b", e->b);
        break;
    }
    if (e->has_frame)
        j_frame(o, &e->frame);
    j_end_obj(o);
}

