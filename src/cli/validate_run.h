/*
 * One validation session of a battery against an inverter profile, as the verbs
 * `validate` and `matrix run` need it: the judged checks (src/engines/validate.c),
 * the timeline and events for the report's charts, the facts the matrix stores.
 * A simulated session runs the closed loop (validate_sim.c); a live one drives a
 * real battery with the inverter role of `emulate inverter` (emulate_inverter.c).
 */
#ifndef BL_CLI_VALIDATE_RUN_H
#define BL_CLI_VALIDATE_RUN_H

#include "bmslink/simload.h"
#include "bmslink/validate.h"
#include "out.h"

#include <stdbool.h>
#include <stdio.h>

/* One point of the report's charts (milli-units; INT32_MIN = not known / not shown). */
typedef struct {
    uint64_t t_ms;               /* session time */
    int32_t soc, soc_shown;      /* the battery's SOC, what the inverter shows */
    int32_t v, v_shown;          /* pack voltage at the terminals, shown */
    int32_t i, i_shown;          /* current that flowed (+ charging), shown */
    int32_t drive;               /* the current the inverter drives */
    int32_t temp, temp_shown;
    int32_t cvl, dvl, ccl, dcl;  /* the limits the battery asks for */
    bl_alarm_mask_t raised;      /* alarms raised (any class) */
    uint8_t state, silent, blocked;
} vr_point_t;

typedef enum { VR_PASS = 0, VR_PARTIAL, VR_FAIL, VR_UNTESTED } vr_status_t;
const char *vr_status_str(unsigned s); /* "pass", "partial", "fail", "untested" */

typedef struct {
    /* what was tested */
    char profile[64], brand[64], model[160], interface[96], protocol[48], inv_firmware[64];
    char battery[160];           /* the source as given: "sim:pylon-lv", "slcan:/dev/ttyACM0@500000" */
    char bat_protocol[48];       /* what the battery spoke */
    char bat_manufacturer[BL_STR_MAX], bat_model[BL_STR_MAX], bat_firmware[BL_STR_MAX];
    char scenario[64];
    char settings[BL_INV_MAX_SETTINGS][160]; /* "name = value" the installer must make */
    unsigned nsettings;
    char quirks[512];            /* the profile's quirks that acted, "id (source); ..." */
    bool live;
    /* the verdict */
    bool ran;                    /* false: untested, why says why */
    char why[256];
    bl_val_check_t checks[BL_VC_COUNT];
    uint8_t status;              /* vr_status_t */
    uint64_t session_ms;
    bool stopped_early;
    /* for the report */
    vr_point_t *pts;
    size_t npts, cpts;
    uint32_t stride;             /* one point every stride samples */
    uint32_t nsamples;
    bl_sim_event_t *ev;
    size_t nev, cev;
    bool oom;
} vr_result_t;

/* How sessions are run for a verb. */
typedef struct {
    const char *verb;            /* for messages */
    const char *battery;         /* --battery as given */
    const bl_protocol_t *bp;     /* sim:PROTOCOL, or the live battery's protocol; NULL: sim:native */
    bool live;                   /* a real bus */
    const char *scenario_path;   /* --scenario, NULL = built-in session */
    const bl_scenario_t *scn;
    const char *firmware;        /* --firmware NAME or NULL */
    uint64_t duration_ms;        /* 0: the scenario's (simulation) / 2 min (live) */
    bool timeline;               /* keep points and events (a report wants them) */
} vr_opts_t;

/*
 * Run one session of profile pf (its file stays alive as long as r is used).
 * @return BL_EXIT_OK (r->ran false when the pair cannot be tested: r->why),
 *         BL_EXIT_USAGE (a scenario the pair refuses, a firmware the profile lacks),
 *         BL_EXIT_IO (a live bus that cannot be opened)
 */
int vr_run(const vr_opts_t *o, const bl_profile_file_t *pf, vr_result_t *r);
void vr_free(vr_result_t *r);

/* Every profile of the shipped directory (sorted), or the named ones (comma lists and
 * repeats; "all" = every one). Prints its own errors. *out is freed with free(). */
int vr_profiles(const char *verb, char **names, unsigned nnames, bl_profile_file_t **out, unsigned *n);

/* --battery: sim:PROTOCOL, sim:native (o->bp NULL) or a live bus (o->live; -p PROTOCOL in
 * protocol, may be NULL). Prints its own errors; BL_EXIT_*. */
int cli_val_battery(const char *verb, const char *src, const char *protocol, vr_opts_t *o);

/* Output of one result: text, one JSON object (CLI.md validate shape). */
void vr_print_text(bl_out_t *o, const vr_result_t *r);
void vr_print_json(bl_out_t *o, const vr_result_t *r);
/* An evidence frame as text: "00:12:30 battery 0x351 1402E803E8032C01 (CCL 0.0 A)" */
void vr_evidence_text(bl_out_t *o, const bl_val_evidence_t *e);

/* The self-contained HTML report of n results into fp (validate_report.c), which it closes.
 * 0 ok, else errno. Verbs open the file before the sessions, so a bad path fails at once. */
int vr_report_html(FILE *fp, const vr_result_t *rs, size_t n, const char *title);
/* HTML helpers shared with matrix export */
void vr_html_head(bl_out_t *o, const char *title);
void vr_html_esc(bl_out_t *o, const char *s);
void vr_html_tail(bl_out_t *o);

#endif
