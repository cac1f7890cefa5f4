/* Command-line helpers shared by profiles, simulate and the emulate roles. */
#ifndef BL_CLI_SIM_CLI_H
#define BL_CLI_SIM_CLI_H

#include "bmslink/simload.h"
#include "out.h"

/* Directory of the shipped profiles: $BMSLINK_PROFILES, the build's share/profiles,
 * or <prefix>/share/bmslink/profiles next to the installed binary. */
const char *cli_profiles_dir(void);

/*
 * Load profile NAME (a shipped profile name, or a path to a .yaml file) into *pf.
 * Prints its own errors (unknown names list the known ones).
 * @return BL_EXIT_OK, BL_EXIT_USAGE (unknown name, bad profile file) or BL_EXIT_IO
 */
int cli_profile_load(const char *verb, const char *name, bl_profile_file_t *pf);

/* bl_profiles_load_dir() error callback: prints "bmslink: MSG", counts in *(int *)ctx when not NULL */
void cli_load_err(void *ctx, const char *msg);

/* A profile's protocol is usable for the closed loop (built, CAN); else prints why and returns false. */
bool cli_profile_runnable(const char *verb, const bl_profile_file_t *pf);

/* Scenario file into *s (NULL path: the built-in day). Prints errors; BL_EXIT_* */
int cli_scenario_load(const char *verb, const char *path, bl_scenario_t *s);

/* "HH:MM:SS" (days as "1d HH:MM:SS") of a simulated time */
void out_clock(bl_out_t *o, uint64_t ms);

#endif
