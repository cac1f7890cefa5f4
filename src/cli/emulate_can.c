/* emulate: placeholder until this role lands; says so instead of pretending. */
#include "cli.h"
#include "emulate.h"

int cli_emulate_battery_can(const bl_emulate_opts_t *o)
{
    cli_err("emulate %s: not available in this build yet (%s)", o->role, o->p ? o->p->name : o->profile);
    return BL_EXIT_USAGE;
}
