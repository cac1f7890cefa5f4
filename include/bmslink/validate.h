/*
 * Closed-loop validation: does the inverter obey the battery? The judge reads a
 * session one sample at a time -- what the BMS knows, what it put on the bus, what
 * the inverter decoded and uses, the current it drives -- and decides each check of
 * CLI.md (detect, soc, voltage, current, temperature, charge_limits,
 * discharge_limits, alarms, protection, comm_loss, firmware, settings) with the
 * moment it passed or first failed, what was expected, what was observed, and the
 * frames as evidence.
 *
 * The same judge reads a simulated session (src/engines/validate_sim.c: every
 * channel is known, the BMS's own values are the truth) and a real one (bmslink
 * plays the inverter on a live bus: the battery's values are what it sent, the
 * silences are the ones that happened). A check the session gives nothing to judge
 * is skipped with the reason, never passed.
 *
 * Freestanding: caller-owned instance, no allocation, time is an argument, the
 * texts are built without printf.
 */
#ifndef BMSLINK_VALIDATE_H
#define BMSLINK_VALIDATE_H

#include "bmslink/inverter.h"
#include "bmslink/sim.h"

typedef enum {
    BL_VC_DETECT = 0,       /* handshake done, identity accepted, running within the profile's patience */
    BL_VC_SOC,              /* shown by the inverter within tolerance and latency */
    BL_VC_VOLTAGE,
    BL_VC_CURRENT,          /* sign included */
    BL_VC_TEMPERATURE,
    BL_VC_CHARGE_LIMITS,    /* CVL, CCL, charge enable followed (steps and derating to 0 included) */
    BL_VC_DISCHARGE_LIMITS, /* DCL, DVL, discharge enable followed */
    BL_VC_ALARMS,           /* every alarm raised reaches the inverter, or the mapping says it is lost */
    BL_VC_PROTECTION,       /* a protection that opens a path stops that direction in time */
    BL_VC_COMM_LOSS,        /* the battery goes silent: the inverter reaches its safe state in time */
    BL_VC_FIRMWARE,         /* versions reported */
    BL_VC_SETTINGS,         /* the inverter ran with the settings the battery needs */
    BL_VC_COUNT
} bl_val_check_id_t;

typedef enum { BL_VS_PASS = 0, BL_VS_FAIL, BL_VS_SKIP } bl_val_status_t;

/* CLI.md check ids ("detect", ...), "unknown" out of range. */
const char *bl_val_check_str(unsigned id);
/* BL_VC_COUNT when unknown */
unsigned bl_val_check_by_name(const char *name);
/* "pass", "fail", "skip" */
const char *bl_val_status_str(unsigned s);
/* A failure of this check makes the pair unsafe or unusable (matrix status "fail",
 * not "partial"): detect, the limits, protection, comm_loss. */
bool bl_val_check_critical(unsigned id);

/* ---- tolerances and times (documented in docs/design.md, "Validation") ---- */
#define BL_VAL_SOC_TOL_mPCT 500       /* + the coarser protocol step */
#define BL_VAL_VOLTAGE_TOL_PERMILLE 5 /* 0.5 % of the reading, at least 100 mV, + step */
#define BL_VAL_CURRENT_TOL_mA 1000    /* + 1 % of the reading + step */
#define BL_VAL_TEMP_TOL_mDEGC 1000    /* + step */
#define BL_VAL_LIMIT_TOL_mA 1000      /* current over a limit: the inverter's meter and regulator */
#define BL_VAL_CVL_TOL_PERMILLE 10    /* a charger settles within 1 % of CVL (as the simulator judges) */
#define BL_VAL_FOLLOW_MS 5000u        /* a step in a current limit is followed within this (+ the message period) */
#define BL_VAL_CVL_FOLLOW_MS 30000u   /* a voltage over CVL may take this long to come down */
#define BL_VAL_STOP_MS 5000u          /* a protection stops its direction within this (+ the message period) */
#define BL_VAL_DETECT_MS 60000u       /* detection deadline when the profile gives no timeout */
#define BL_VAL_SAFE_MARGIN_MS 5000u   /* comm loss: the safe state within the inverter's timeout + this */
#define BL_VAL_HISTORY 128            /* samples of expected values kept for the latency window */

#define BL_VAL_TEXT 320
#define BL_VAL_WHAT 64
#define BL_VAL_MAX_EVIDENCE 4

/* A frame that shows why a check passed or failed. */
typedef struct {
    uint64_t t_ms;             /* session time (0 = the session's start) */
    uint8_t from;              /* bl_side_t */
    uint8_t rs485;             /* frame.id is an RS485 command, frame.data the frame's first bytes */
    char what[BL_VAL_WHAT];    /* what it shows, e.g. "CCL 0.0 A" */
    bl_can_frame_t frame;
} bl_val_evidence_t;

typedef struct {
    uint8_t id;                /* bl_val_check_id_t */
    uint8_t status;            /* bl_val_status_t */
    uint8_t nev;
    uint64_t at_ms;            /* session time it passed or first failed; BL_NEVER for a skip */
    char expected[BL_VAL_TEXT];
    char observed[BL_VAL_TEXT];
    bl_val_evidence_t ev[BL_VAL_MAX_EVIDENCE];
} bl_val_check_t;

typedef struct {
    const bl_protocol_t *battery;     /* what the battery speaks */
    const bl_inv_profile_t *profile;  /* the inverter: its protocol, what it uses, its timeouts, settings */
    uint64_t start_ms;                /* the session's start on the samples' clock */
    uint32_t step_ms;                 /* sample interval (the control step), > 0 */
    int32_t capacity_mAh;             /* for the current-sign consistency check; 0 = unknown */
} bl_val_cfg_t;

/*
 * One instant of the session, after the inverter decided. Pointers are borrowed for
 * the call only.
 */
typedef struct {
    uint64_t t_ms;
    const bl_inv_t *inv;        /* decoded (rx), used (view), state, code, settings, the last frames */
    const bl_inv_out_t *out;    /* the battery current it drives next (+ charging) */
    const bl_record_t *bms;     /* the BMS's own values: what the inverter should be shown and the limits it
                                   means; NULL when unknown (a real battery: what it sent is all we know) */
    const bl_record_t *wire;    /* limits the battery last put on the bus (the encoder's safe values and
                                   firmware faults included); NULL: what the inverter decoded */
    const bl_alarm_mask_t *raised; /* [BL_AC_COUNT] alarms the battery raised (its firmware's view);
                                      NULL: what the inverter decoded */
    int32_t v_mV;               /* pack voltage at the terminals (simulation: the truth) */
    uint8_t v_known;
    uint8_t blocked;            /* BL_BSIM_BLOCK_*: paths the BMS opened; a real battery: from its protections */
    uint8_t silent;             /* the battery's frames do not reach the inverter now */
    uint64_t silent_since_ms;   /* silent: when it began (a live bus notices a silence only after it
                                   began: the last frame heard); 0 = at this sample */
} bl_val_sample_t;

/* A measurement check (soc, voltage, current, temperature) in progress. */
typedef struct {
    uint8_t field;              /* bl_field_id_t judged (temperature: the one the inverter gets) */
    uint8_t judge;              /* 0: skipped, the reason in why */
    uint8_t why;                /* skip reason code */
    int32_t tol;                /* absolute part of the tolerance, milli-units */
    uint32_t latency_ms;
    uint32_t judged, bad, missing, inverted;
    uint64_t first_bad_ms, first_missing_ms;
    int32_t bad_exp, bad_obs, max_err;
    int32_t last_obs;           /* the last value shown */
    uint8_t last_ok;
    uint64_t hist_t[BL_VAL_HISTORY];
    int32_t hist_v[BL_VAL_HISTORY];
    uint8_t hist_ok[BL_VAL_HISTORY];
    uint32_t hn;                /* entries written (ring index = hn % BL_VAL_HISTORY) */
    bl_val_evidence_t ev;       /* the frame that carried it at the first failure, or the last one */
    uint8_t have_ev;
} bl_val_meas_t;

/* A limit direction (charge or discharge) in progress. */
typedef struct {
    uint8_t known;              /* a limit has been seen */
    int32_t last_limit;         /* mA */
    uint32_t changes, to_zero;  /* steps seen (> 1 A), steps down to 0 */
    uint64_t first_step_ms;
    uint32_t drove;             /* samples driving this direction */
    int32_t max_i;              /* the highest current driven this way, mA */
    uint32_t bound;             /* samples at the limit (it mattered) */
    uint64_t over_since;        /* BL_NEVER: within the limit now */
    int32_t over_max;           /* worst excess of the present episode, mA / mV */
    uint32_t allow_ms;
    /* the worst episode */
    uint64_t worst_at, worst_ms;
    int32_t worst_by, worst_limit, worst_i;
    uint8_t worst_what;         /* 0 current limit, 1 voltage limit, 2 enable flag */
    uint8_t over_counted;       /* the present episode already failed */
    uint64_t first_fail_ms;
    uint32_t episodes_failed;
    bl_val_evidence_t ev;
    uint8_t have_ev;
    /* voltage limit (CVL / DVL) */
    uint64_t v_over_since;
    int32_t v_over_max;
} bl_val_limit_t;

/* Members are grouped by the check they serve, not by size: one instance per session, so
 * the padding (under 100 bytes of ~20 KB) buys readability. */
typedef struct { /* NOLINT(clang-analyzer-optin.performance.Padding) */
    bl_val_cfg_t cfg;
    bl_caps_t caps_b;           /* what the battery's encoder sends */
    bl_caps_t caps_i;           /* what the inverter's decoder reads */
    uint32_t fields_carried;    /* battery fields that survive the battery's encoder and the inverter's decoder */
    bl_alarm_mask_t carried[BL_AC_COUNT]; /* raised in class c, they reach the inverter (in any class) */
    uint64_t now_ms, last_ms;
    uint32_t samples;
    int32_t last_drive_mA;      /* the current it drove at the previous sample (0 when not running) */
    /* detect */
    uint64_t detect_deadline_ms;
    uint64_t detected_ms, running_ms; /* session time, BL_NEVER: not yet */
    char refuse_code[BL_EV_CODE_MAX]; /* why the inverter waits or faults before running */
    uint8_t refuse_state;
    bl_val_evidence_t detect_ev[2];
    uint8_t detect_nev;
    /* measurements */
    bl_val_meas_t meas[4];      /* soc, voltage, current, temperature */
    int64_t flow_uC;            /* integral of the current shown, for the sign consistency */
    int32_t soc_first, soc_last;
    uint8_t soc_seen;
    /* limits */
    bl_val_limit_t lim[2];      /* charge, discharge */
    /* alarms */
    uint64_t alarm_since[BL_A_COUNT];   /* raised by the BMS since (BL_NEVER: not raised) */
    uint8_t alarm_arrived[BL_A_COUNT];  /* the present episode: 1 reached the inverter, 2 missed */
    uint8_t alarm_can[BL_A_COUNT];      /* the present episode could reach it (the mapping carries it) */
    uint32_t alarm_raised, alarm_delivered, alarm_missed, alarm_short; /* per (alarm, episode) */
    bl_alarm_mask_t seen_raised, seen_delivered, seen_missed, seen_lost;
    uint64_t alarm_first_miss_ms, alarm_first_ms;
    uint8_t alarm_miss_id;
    uint32_t alarm_latency_ms, alarm_worst_ms;
    bl_val_evidence_t alarm_ev[2];
    uint8_t alarm_nev;
    /* protection: per direction (charge, discharge) */
    uint64_t prot_since[2], prot_stopped[2];
    uint8_t prot_drove[2], prot_fail_now[2];
    uint32_t prot_episodes[2], prot_exercised[2], prot_failed[2];
    uint32_t prot_worst_ms[2];
    uint64_t prot_first_fail_ms, prot_first_ms;
    uint32_t stop_ms;
    bl_val_evidence_t prot_ev[2];
    uint8_t prot_nev;
    /* comm loss */
    uint32_t safe_after_ms;     /* the inverter's own timeout: its safe state is due by then + margin */
    uint8_t has_safe_state;     /* a timeout whose action stops battery power, and no quirk that keeps going */
    uint64_t silent_since, safe_at, unsafe_again;
    uint8_t silent_drove;       /* it was driving a current when the silence began */
    uint32_t windows, windows_judged, windows_failed, worst_safe_ms;
    uint64_t loss_first_fail_ms, loss_first_ms;
    uint8_t recovered_once;     /* running again since the link came back */
    uint64_t recover_ms;        /* when the link last came back */
    uint32_t worst_recover_ms;  /* link back -> running again, the slowest */
    uint8_t never_recovered;
    bl_val_evidence_t loss_ev[2];
    uint8_t loss_nev;
    /* settings */
    uint32_t settings_wrong;    /* BL_BIT(setting) wrong at some sample */
    uint64_t settings_first_ms;
    char settings_value[BL_INV_MAX_SETTINGS][BL_STR_MAX]; /* the wrong value seen */
    /* the inverter's counters at the last sample */
    uint32_t rx_frames, rx_rejected;
    uint8_t rx_reject_why;
    uint8_t have_bms;           /* the session knew the BMS's own values (simulation) */
    uint8_t inv_fw;             /* the inverter's firmware index at the last sample */
    /* firmware */
    char firmware_expected[BL_STR_MAX];
    char firmware_seen[BL_STR_MAX];
    uint64_t firmware_ms;
    /* quirks that acted (from the inverter's events) */
    uint32_t quirks_acted;
} bl_val_t;

/*
 * Start judging a session.
 * @retval 0          ready
 * @retval BL_EINVAL  a protocol or profile is missing, or step_ms is 0
 */
int bl_val_init(bl_val_t *v, const bl_val_cfg_t *cfg);

/* One sample, in time order. */
void bl_val_sample(bl_val_t *v, const bl_val_sample_t *s);

/* An event of the engines (the inverter's quirks and states carry evidence frames). */
void bl_val_event(bl_val_t *v, const bl_sim_event_t *e);

/* true once nothing more can be judged: the battery was never detected by the deadline
 * (the caller may stop the session there). */
bool bl_val_hopeless(const bl_val_t *v);

/*
 * Decide every check for the session that ended at end_ms (the samples' clock): episodes
 * still open (a silence, an excess, a protection) are closed there.
 * out[i].id == i. The texts say what was expected and observed, with values and times.
 */
void bl_val_finish(bl_val_t *v, uint64_t end_ms, bl_val_check_t out[BL_VC_COUNT]);

/* ---- a simulated session (validate_sim.c) ---------------------------------------- */

/*
 * The built-in validation session (30 simulated minutes, 16S 200 Ah at 60 %): charging
 * on PV with a step down of the charge limit (48 C), a derating to 0 with the charge
 * over-temperature protection (56 C), the cold-charge block (-2 C); then discharging
 * into a 4 kW load with a step of the discharge limit (54 C), its derating to 0 and
 * protection (61 C), the discharge under-temperature protection (-22 C), an
 * internal-fault alarm burst, and four minutes of comm loss (longer than any
 * profile's timeout), then recovery.
 * share/scenarios/validation.yaml is the same session as a file to copy and edit.
 */
void bl_val_scenario(bl_scenario_t *s);

typedef struct {
    const bl_protocol_t *battery;
    const bl_inv_profile_t *profile;
    const bl_scenario_t *scn;
    int firmware;               /* inverter firmware index, < 0: the scenario's or the default */
    uint64_t duration_ms;       /* 0: the scenario's, else 30 min */
    void *ctx;
    /* every step, after the judge saw it (report timelines); may be NULL */
    void (*on_sample)(void *ctx, const bl_sim_sample_t *s, const bl_val_sample_t *vs);
    bl_sim_event_fn on_event;   /* may be NULL */
} bl_val_sim_cfg_t;

typedef struct {
    bl_val_sim_cfg_t cfg;
    bl_sim_t sim;
    bl_val_t val;
    uint64_t end_ms;            /* where the session stopped (early when hopeless) */
    uint8_t stopped_early;
} bl_val_sim_t;

/*
 * Run the closed loop and judge it. Returns bl_sim_init's error when the pair cannot
 * run (BL_ENOTSUP: not on the same bus, a Modbus map, a protocol not built; BL_EINVAL,
 * BL_ENOENT: the scenario; vs->sim.bad_event says which event).
 */
int bl_val_sim_run(bl_val_sim_t *vs, const bl_val_sim_cfg_t *cfg, bl_val_check_t out[BL_VC_COUNT]);

#endif
