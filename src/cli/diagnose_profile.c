/*
 * --inverter PROFILE for diagnose: an inverter profile's facts (protocol, port bitrate,
 * timeouts, quirks, what it reads and shows) as the analysers take them
 * (bl_diag_inverter_t). The profiles and their loader come with the simulators
 * (share/profiles, src/loaders, sim_cli.h); a build without them says so.
 */
#include "cli.h"
#include "diagnose_cli.h"

#include <stdio.h>
#include <string.h>

#if defined(__has_include)
#if __has_include("sim_cli.h")
#define DX_HAVE_PROFILES 1
#endif
#endif

#ifdef DX_HAVE_PROFILES
#include "sim_cli.h"

/* The loaded profile: the facts borrow its strings until the process ends. */
static bl_profile_file_t loaded;

/* Quirks as the analysers' flags (inverter.h names them, the profiles cite their sources). */
static void quirk(bl_diag_inverter_t *inv, const bl_inv_quirk_t *q)
{
    switch (q->id) {
    case BL_QK_IGNORES_CURRENT_LIMITS: inv->flags |= BL_DIF_IGNORES_CURRENT_LIMITS; break;
    case BL_QK_IGNORES_ZERO_LIMITS: inv->flags |= BL_DIF_IGNORES_ZERO_LIMITS; break;
    case BL_QK_CVL_ZERO_OVERVOLTAGE: inv->flags |= BL_DIF_CVL_ZERO_OVERVOLTAGE; break;
    case BL_QK_ISLAND_SHUTDOWN_DCL_ZERO: inv->flags |= BL_DIF_DCL_ZERO_SHUTDOWN; break;
    case BL_QK_CHARGES_AT_CCL_ZERO: inv->flags |= BL_DIF_CHARGES_AT_CCL_ZERO; break;
    case BL_QK_IGNORES_ENABLE_FLAGS: inv->flags |= BL_DIF_IGNORES_ENABLE_FLAGS; break;
    case BL_QK_NO_KEEPALIVE: inv->flags |= BL_DIF_NO_KEEPALIVE; break;
    case BL_QK_REQUIRES_MANUFACTURER: inv->manufacturer = q->text; break;
    case BL_QK_REJECTS_BATTERY_TYPE:
        inv->type_msg = q->msg_id;
        inv->type_signal = q->text;
        inv->type_code = q->code[0] ? q->code : NULL;
        for (unsigned i = 0; i < q->nparam && inv->ntype_rejected < BL_DIAG_INV_TYPES; i++)
            inv->type_rejected[inv->ntype_rejected++] = q->param[i];
        break;
    default: break; /* behaviours the analysers do not judge a capture by */
    }
}

const char *dx_inverter_brand(void)
{
    return loaded.p.name != NULL ? loaded.p.brand : NULL;
}

int dx_inverter_facts(const char *name, const char *fw, bl_diag_inverter_t *inv, char *err, size_t errlen)
{
    const bl_inv_profile_t *p = &loaded.p;
    unsigned fwi = 0;
    int rc;

    memset(inv, 0, sizeof *inv);
    err[0] = '\0';
    rc = cli_profile_load("diagnose", name, &loaded); /* prints why it could not (known names included) */
    if (rc != BL_EXIT_OK)
        return rc == BL_EXIT_USAGE ? BL_ENOENT : BL_EIO;
    if (fw != NULL) {
        size_t at = 0;
        for (fwi = 0; fwi < p->nfw && strcmp(p->firmware[fwi], fw) != 0; fwi++)
            ;
        if (fwi == p->nfw) {
            at += (size_t)snprintf(err, errlen, "profile %s has no firmware '%s'; known:", p->name, fw);
            for (unsigned i = 0; i < p->nfw && at < errlen; i++)
                at += (size_t)snprintf(err + at, errlen - at, "%s \"%s\"", i ? "," : "", p->firmware[i]);
            return BL_ENOENT;
        }
    }
    inv->name = p->name;
    inv->proto = p->proto;
    inv->bitrate = p->bitrate;
    /* the quirks of that firmware (fw_mask: a bit per variant, 0 = every variant) */
    for (unsigned i = 0; i < p->nquirks && i < BL_INV_MAX_QUIRKS; i++)
        if (p->quirks[i].fw_mask == 0 || (p->quirks[i].fw_mask & (1u << fwi)))
            quirk(inv, &p->quirks[i]);
    if (p->uses != 0 && !(p->uses & BL_INV_USES_ALARMS))
        inv->flags |= BL_DIF_IGNORES_ALARMS;
    /* alarms and protections it has a display code for; warnings it logs */
    for (unsigned a = 0; a < BL_A_COUNT; a++)
        if (p->alarm_code[a][0] != '\0') {
            inv->flags |= BL_DIF_ALARM_TABLE;
            inv->shows[BL_AC_ALARM] = (bl_alarm_mask_t)(inv->shows[BL_AC_ALARM] | (1u << a));
            inv->shows[BL_AC_PROTECTION] = (bl_alarm_mask_t)(inv->shows[BL_AC_PROTECTION] | (1u << a));
        }
    inv->shows[BL_AC_WARNING] = BL_A_ALL;
    for (unsigned i = 0; i < p->ntimeouts && inv->ntimeouts < BL_DIAG_INV_TIMEOUTS; i++) {
        bl_diag_inv_timeout_t *t = &inv->timeouts[inv->ntimeouts++];
        t->msg_id = p->timeouts[i].msg_id;
        t->after_ms = p->timeouts[i].after_ms;
        t->code = p->timeouts[i].code[0] ? p->timeouts[i].code : NULL;
        t->action = bl_inv_action_str(p->timeouts[i].action);
    }
    for (unsigned i = 0; i < p->ndetect && inv->ndetect < BL_DIAG_INV_DETECT; i++)
        inv->detect[inv->ndetect++] = p->detect[i];
    if (p->proto == NULL)
        fprintf(stderr, "bmslink: diagnose: profile %s speaks %s, which this build lacks\n", p->name,
                p->protocol_name ? p->protocol_name : "an unknown protocol");
    return 0;
}

#else

const char *dx_inverter_brand(void)
{
    return NULL;
}

int dx_inverter_facts(const char *name, const char *fw, bl_diag_inverter_t *inv, char *err, size_t errlen)
{
    (void)fw;
    memset(inv, 0, sizeof *inv);
    snprintf(err, errlen, "inverter profiles are not in this build (profile '%s'); name the protocol with -p", name);
    return BL_ENOTSUP;
}

#endif
