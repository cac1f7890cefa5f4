/*
 * bmslink emulate: the verb parses options (verb_emulate.c) and hands over to the
 * role/bus implementation. Each implementation lives in its own file:
 *   emulate_can.c       battery role on CAN protocols
 *   emulate_rs485.c     battery role on RS485 / Modbus protocols
 *   emulate_inverter.c  inverter role (profiles)
 */
#ifndef BL_CLI_EMULATE_H
#define BL_CLI_EMULATE_H

#include "bmslink/protocol.h"
#include "bmslink/simevent.h"
#include "bmslink/simload.h"

struct bl_scenario; /* bmslink/faults.h */

#include <stdbool.h>
#include <stdint.h>

/* Where the emulated battery's state comes from. step() advances the source to
 * now_ms and returns the record to serve (never NULL). The default source is a
 * healthy pack at rest; the battery simulator replaces it. */
typedef struct bl_battery_source {
    const bl_record_t *(*step)(struct bl_battery_source *s, uint64_t now_ms);
    void *ctx;
    bl_record_t rec;
    /* ---- #7: the simulated source (cli_battery_source_sim) sets these; roles read them ---- */
    bool silent;            /* comm loss or bus-off in force: send nothing */
    bool deaf;              /* bus-off in force: hear nothing */
    /* firmware bugs on the wire (sign, unit, forced raw values) for a CAN frame of codec c; may be NULL */
    void (*wire)(struct bl_battery_source *s, const bl_can_codec_t *c, bl_can_frame_t *f);
    const bl_record_t *inv; /* set by the role: what the inverter reports (inv_* fields), may be NULL */
    uint64_t clock0_ms;     /* the source's clock at the role's start (a scenario's start time) */
} bl_battery_source_t;

typedef struct {
    const char *role;           /* "battery" or "inverter" */
    const bl_protocol_t *p;     /* battery role: -p */
    const char *profile;        /* inverter role: --profile */
    const char *on;             /* --on URI */
    const char *scenario;       /* --scenario FILE or NULL */
    const char *record_path;    /* --record FILE or NULL */
    uint64_t duration_ms;       /* 0 = until interrupted */
    uint64_t count;             /* 0 = no limit */
    bool json;
    bl_battery_source_t *src;   /* battery role */
    /* ---- #7 ---- */
    const struct bl_scenario *scn; /* the scenario in use (built-in day when no --scenario) */
    const char *firmware;          /* inverter role: --firmware NAME, NULL = the scenario's or the default */
    /* ---- #8: validate drives a real battery with the inverter role and judges each step ---- */
    const bl_profile_file_t *loaded;   /* the profile already loaded (profile is then ignored), or NULL */
    bool quiet;                    /* no event lines and no summary on stdout: the caller reports */
    void *step_ctx;
    /* after every decision of the inverter (once a second), with its state and output */
    void (*on_step)(void *ctx, const bl_inv_t *inv, const bl_inv_out_t *out, uint64_t now_ms);
    bl_sim_event_fn on_event;      /* every event of the inverter, or NULL */
} bl_emulate_opts_t;

/* Each returns a BL_EXIT_* code and prints its own errors. */
int cli_emulate_battery_can(const bl_emulate_opts_t *o);
int cli_emulate_battery_rs485(const bl_emulate_opts_t *o);
int cli_emulate_inverter(const bl_emulate_opts_t *o);

/* The default battery source: a healthy 16S LFP pack at rest (values in verb_emulate.c). */
void cli_battery_source_default(bl_battery_source_t *s);

/* #7: the battery simulator (pack + BMS) stepped in real time, scenario scn applied (its
 * profiles, battery parameters and battery-side fault events). scn must outlive s. The
 * current that flows is what the inverter reports it drives (s->inv, inv_current_A) while it
 * reports it, else the scenario's PV surplus or load within the BMS's limits.
 * @retval 0 ready  @retval < 0 the scenario's battery parameters are refused */
int cli_battery_source_sim(bl_battery_source_t *s, const struct bl_scenario *scn);
/* #7: where the simulated source reports protection trips, warnings and scenario events. */
void cli_battery_source_events(bl_battery_source_t *s, bl_sim_event_fn fn, void *ctx);

#endif
