/* Command-line helpers shared by profiles, simulate and the emulate roles. */
#ifndef BL_CLI_SIM_CLI_H
#define BL_CLI_SIM_CLI_H

#include "bmslink/simload.h"
#include "bmslink/transport.h"
#include "out.h"

#include <stdio.h>

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

/* One event of the engines as a text line ("  HH:MM:SS  kind  details  [frame ...]") or a JSON
 * object, with the scenario's and profile's names where it refers to them (both may be NULL). */
void cli_event_text(bl_out_t *o, const bl_sim_event_t *e, const bl_scenario_t *scn, const bl_inv_profile_t *p);
void cli_event_json(bl_out_t *o, const bl_sim_event_t *e, const bl_scenario_t *scn, const bl_inv_profile_t *p);
void cli_frame_text(bl_out_t *o, const bl_can_frame_t *f);
const char *cli_viol_unit(unsigned v);

/* ---- live roles (emulate battery / inverter) ---- */

/* Monotonic milliseconds. */
uint64_t cli_mono_ms(void);
/* SIGINT / SIGTERM set cli_stop instead of killing the process, so roles can close cleanly. */
extern volatile int cli_stop;
void cli_catch_signals(void);
/* Open a live bus for a role: prints why not (a capture file is refused: a role needs to send).
 * @return BL_EXIT_OK, BL_EXIT_USAGE (bad URI, scheme not in this build, a file) or BL_EXIT_IO */
int cli_open_live(const char *verb, const char *uri, bl_transport_t *t);
/* Append a frame to a candump -L recording (wall-clock timestamp, the transport's bus name). */
void cli_record_frame(FILE *fp, const char *bus, const bl_can_frame_t *f);
/* An emulated role's frame onto its bus (emulate_io.c): written, recorded, counted in *sent
 * (cli_stop once *sent reaches count, 0 = no limit) or in *write_fail.
 * @retval 0  @retval BL_EXIT_IO the bus is gone (said on stderr, naming on) */
int cli_emulate_send(bl_transport_t *t, const char *on, FILE *rec, const bl_can_frame_t *f, uint64_t count,
                     uint64_t *sent, uint64_t *write_fail);

#endif
