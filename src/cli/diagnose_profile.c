/*
 * --inverter PROFILE for diagnose: an inverter profile's facts (protocol, bitrate,
 * timeouts, quirks, what it reads) as the analysers take them (bl_diag_inverter_t).
 * The profiles themselves (share/profiles, YAML, and their loader) come with the
 * simulators; until they are in the build, naming one is a usage error that says so.
 */
#include "cli.h"
#include "diagnose_cli.h"

#include <stdio.h>
#include <string.h>

int dx_inverter_facts(const char *name, bl_diag_inverter_t *inv, char *err, size_t errlen)
{
    memset(inv, 0, sizeof *inv);
    snprintf(err, errlen, "inverter profiles are not in this build (profile '%s'); name the protocol with -p", name);
    return BL_ENOTSUP;
}
