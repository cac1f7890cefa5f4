/*
 * Diagnosis of a field capture: from the frames on the wire to what is wrong, why,
 * the evidence and the fix.
 *
 * A stream engine: frames go in one by one, in capture order, with their capture
 * time and the line of the log they came from; small analysers (one per finding
 * type) keep bounded state and turn it into findings when the capture ends. The
 * memory is flat whatever the length of the capture: the caller owns the instance,
 * the detection sample and the findings array.
 *
 * Freestanding: no allocation, no I/O, no clock (time is the capture's).
 * Texts (cause, fix, evidence notes) are formatted into the findings; evidence
 * names the log line and carries the frame, so a tool can print the line as the
 * capture wrote it, or the frame when the source cannot be read again (a pipe).
 */
#ifndef BMSLINK_DIAGNOSE_H
#define BMSLINK_DIAGNOSE_H

#include "bmslink/capture.h"
#include "bmslink/detect.h"
#include "bmslink/protocol.h"
#include "bmslink/rs485.h"

/* Problems: the six of the seed table, then the configuration causes (CLI.md). */
typedef enum {
    BL_DP_BATTERY_NOT_DETECTED = 0,
    BL_DP_SOC,            /* soc_missing_or_wrong */
    BL_DP_COMM,           /* communication_fault */
    BL_DP_ALARM_NOT_SHOWN,
    BL_DP_LIMITS,         /* limits_not_followed */
    BL_DP_SHUTDOWN,       /* unexpected_shutdown */
    BL_DP_WRONG_BITRATE,
    BL_DP_WRONG_ID_LENGTH,
    BL_DP_WRONG_PROTOCOL,
    BL_DP_SIGN_INVERTED,  /* current_sign_inverted */
    BL_DP_STALE_DATA,
    BL_DP_BATTERY_MISMATCH, /* battery_mismatch: the traffic does not fit the battery described (--battery) */
    BL_DP_COUNT
} bl_diag_problem_t;

typedef enum { BL_DSEV_ERROR = 0, BL_DSEV_WARNING, BL_DSEV_INFO, BL_DSEV_COUNT } bl_diag_severity_t;
typedef enum { BL_LOOP_UNKNOWN = 0, BL_LOOP_OPEN, BL_LOOP_CLOSED } bl_diag_loop_t;

/* "battery_not_detected", ..., "stale_data"; NULL out of range */
const char *bl_diag_problem_str(unsigned p);
/* "error", "warning", "info" */
const char *bl_diag_severity_str(unsigned s);
/* "unknown", "open", "closed" */
const char *bl_diag_loop_str(unsigned l);

#define BL_DIAG_EV_MAX 5      /* evidence items per finding (the 2-5 most telling lines) */
#define BL_DIAG_NOTE_MAX 160  /* what an evidence line shows */
#define BL_DIAG_TEXT_MAX 400  /* cause, fix */

/* The first 8 data bytes of a frame (evidence only; CAN FD payloads are cut). */
typedef struct {
    uint32_t id;
    uint8_t len;   /* the frame's length (may exceed 8 for FD) */
    uint8_t flags; /* BL_CAN_* */
    uint8_t data[8];
} bl_diag_frame_t;

typedef struct {
    uint64_t ts_us;  /* capture time */
    uint64_t line;   /* line of the capture (1-based) */
    uint8_t has_ts;
    uint8_t has_frame; /* 0: the line did not parse (a malformed line) */
    bl_diag_frame_t f;
    char note[BL_DIAG_NOTE_MAX];
} bl_diag_ev_t;

typedef struct {
    uint8_t problem;  /* bl_diag_problem_t */
    uint8_t severity; /* bl_diag_severity_t */
    uint8_t because;  /* the configuration problem that explains it, BL_DP_COUNT when none */
    uint8_t nev;      /* evidence items, in time order */
    const char *id;   /* stable name of the row of the cause table ("no_battery_frames", "gap", ...) */
    uint64_t at_us;   /* capture time it starts (ordering within a severity) */
    uint64_t span_us; /* how long the condition lasted (a silence), 0: not a duration */
    bl_alarm_mask_t alarms[BL_AC_COUNT]; /* battery alarms it is about (what an inverter would display) */
    char cause[BL_DIAG_TEXT_MAX];
    char fix[BL_DIAG_TEXT_MAX];
    bl_diag_ev_t ev[BL_DIAG_EV_MAX];
} bl_diag_finding_t;

/* ---- what an inverter profile tells the analysers --------------------------------- */

/* Behaviours of the inverter (from its profile's quirks). */
enum {
    BL_DIF_IGNORES_ZERO_LIMITS = 1u << 0,    /* a 0 A / 0 V limit reads as "no limit" */
    BL_DIF_IGNORES_CURRENT_LIMITS = 1u << 1, /* CCL/DCL not honoured at all */
    BL_DIF_CVL_ZERO_OVERVOLTAGE = 1u << 2,   /* CVL = 0 is an over-voltage fault */
    BL_DIF_DCL_ZERO_SHUTDOWN = 1u << 3,      /* off-grid, DCL = 0 shuts it down */
    BL_DIF_NO_KEEPALIVE = 1u << 4,           /* never sends a keep-alive (not a fault) */
    BL_DIF_IGNORES_ALARMS = 1u << 5,         /* battery alarms are not read */
    BL_DIF_CHARGES_AT_CCL_ZERO = 1u << 6,    /* regulates on CVL only: keeps charging at CCL = 0 */
    BL_DIF_IGNORES_ENABLE_FLAGS = 1u << 7,   /* honours zero limits, not the enable flags */
    BL_DIF_ALARM_TABLE = 1u << 8             /* shows[] lists the alarms it displays */
};

#define BL_DIAG_INV_TIMEOUTS 4
#define BL_DIAG_INV_DETECT 8
#define BL_DIAG_INV_TYPES 4

typedef struct {
    uint32_t msg_id;    /* battery message watched; 0 = any battery frame */
    uint32_t after_ms;  /* silence that trips it */
    const char *code;   /* the inverter's fault / warning code; may be NULL */
    const char *action; /* what it does ("standby", "fault", "cut_output"); may be NULL */
} bl_diag_inv_timeout_t;

/*
 * The facts of an inverter profile the analysers use. Borrowed strings must
 * outlive the instance. Every member may be left 0 / NULL (unknown).
 */
typedef struct {
    const char *name;           /* profile name, for messages */
    const bl_protocol_t *proto; /* protocol the inverter is set to; NULL: unknown */
    uint32_t bitrate;           /* its CAN port, bit/s; 0: the protocol's */
    uint32_t flags;             /* BL_DIF_* */
    uint32_t uses;              /* BL_BIT(field) it reads; 0 = every field */
    bl_alarm_mask_t shows[BL_AC_COUNT]; /* with BL_DIF_ALARM_TABLE: the alarms it displays */
    const char *manufacturer;   /* accepts the battery only with this manufacturer string; NULL: any */
    uint32_t type_msg;          /* message whose type_signal it checks (0: none) */
    const char *type_signal;    /* signal name ("BatteryType") */
    int32_t type_rejected[BL_DIAG_INV_TYPES]; /* raw values it refuses */
    const char *type_code;      /* the fault it shows for them */
    bl_diag_inv_timeout_t timeouts[BL_DIAG_INV_TIMEOUTS];
    uint32_t detect[BL_DIAG_INV_DETECT]; /* messages it needs to detect the battery */
    uint8_t ntype_rejected, ntimeouts, ndetect;
} bl_diag_inverter_t;

/* ---- configuration, timeline ---------------------------------------------------------- */

/* What the user says about the battery (diagnose --cells / --battery FILE). Every member
 * may be 0: unknown, then the analysers assume and say so. Milli-units. */
typedef struct {
    const char *name;        /* the battery file, for messages; NULL */
    uint8_t cells;           /* LFP cells in series */
    int32_t nominal_mV;      /* nominal pack voltage */
    int32_t cvl_max_mV;      /* the highest charge voltage the pack allows */
    int32_t dvl_min_mV;      /* the lowest discharge voltage */
    int32_t ccl_max_mA;      /* its maximum charge current */
    int32_t dcl_max_mA;      /* its maximum discharge current */
} bl_diag_battery_t;

typedef struct {
    const bl_protocol_t *proto;    /* the protocol the site is set to (-p); NULL: detect from the traffic */
    const bl_diag_inverter_t *inv; /* the inverter's profile; NULL: none */
    const bl_protocol_t *via;      /* the capture is the battery's side of a gateway that speaks this
                                      protocol to the inverter; NULL: the inverter is on this bus */
    uint64_t stale_ms;             /* battery data older than this is stale; 0: inverter / protocol timeout */
    int32_t capacity_mAh;          /* 0: from the capture, else assumed (and said) */
    const bl_diag_battery_t *bat;  /* the battery's ratings (--cells, --battery); NULL: assumed (and said) */
} bl_diag_cfg_t;

/* One bucket of the timeline (for charts): extremes of the battery's values in a slice
 * of capture time. Values in milli-units; a value without data has its bit clear in have. */
enum { BL_TL_SOC = 0, BL_TL_VOLTAGE, BL_TL_CURRENT, BL_TL_CCL, BL_TL_DCL, BL_TL_NVALS };

typedef struct {
    uint64_t t0_us;          /* start of the slice */
    int32_t lo[BL_TL_NVALS], hi[BL_TL_NVALS], last[BL_TL_NVALS];
    uint8_t have;            /* BL_BIT(BL_TL_*) */
    uint32_t frames, battery, inverter, errors; /* frames; battery / inverter messages decoded; rejects,
                                                  malformed lines and error frames */
} bl_diag_bucket_t;

/* ---- the instance (members below are the engine's; read the documented ones) ----------- */

#define BL_DIAG_IDSET 512     /* distinct ids tracked (wrong-bitrate symptoms) */
#define BL_DIAG_SHUT_EVENTS 12u/* recent battery events kept for the story of a shutdown */

typedef struct {
    uint64_t ts_us, line;
    uint8_t has_ts, has_frame;
    bl_diag_frame_t f;
    int64_t a, b, c; /* numbers the note will show */
} bl_diag_mark_t;

typedef struct {
    uint32_t n;
    uint64_t first_us, last_us, last_line;
    bl_diag_frame_t last_f;
    uint64_t gap_us;           /* longest gap between two frames of this message */
    bl_diag_mark_t gap_a, gap_b;
} bl_diag_msgstat_t;

typedef struct {
    uint8_t kind;   /* internal event kind */
    uint8_t arg;    /* alarm id, field */
    uint8_t arg2;   /* alarm class */
    bl_diag_mark_t m;
} bl_diag_event_t;

/* A condition that must hold for a while before it counts (limit exceeded, frozen value). */
typedef struct {
    bool on;
    uint64_t since_us;
    uint32_t episodes;
    uint64_t total_us, worst_us;
    int64_t worst_by;        /* largest excess, milli-units */
    bl_diag_mark_t start, worst, limit;     /* the first episode that counted, the worst point */
    bl_diag_mark_t cur_start, cur_limit;   /* the episode in progress */
    bool counted;            /* this episode already reached the hold time */
} bl_diag_hold_t;

/* Members are grouped by analyser, not by alignment: the padding this costs is a few
 * hundred bytes of about 50 KB. */
typedef struct bl_diag { // NOLINT(clang-analyzer-optin.performance.Padding)
    bl_diag_cfg_t cfg;
    const bl_protocol_t *p;       /* the protocol the traffic is read with (NULL: none fits) */
    const bl_protocol_t *expected;/* what the site expects: -p, else the profile's, else p */
    const bl_protocol_t *inv_p;   /* the inverter side's protocol (alarms, timeouts) */
    bl_can_codec_t codec;
    bl_record_t rec;
    bool ready, finished;
    bool flip_ext;                /* the battery uses the other id length: frames are read as if right */
    uint64_t stale_ms;            /* battery timeout used */
    uint64_t inv_timeout_ms;      /* the inverter faults after this silence (0: unknown) */
    char timeout_src[64];         /* where it comes from */
    int32_t cap_mAh;              /* capacity used for coulomb counting */
    uint8_t cap_src;              /* 0 config, 1 capture, 2 assumed */
    bl_caps_t caps;               /* what the protocol carries */
    /* the detection sample (caller-owned) */
    bl_cap_frame_t *sample;
    uint64_t *sample_line;
    size_t nsample, cap_sample;
    bl_detect_score_t scores[8];
    size_t nscores;
    uint32_t exp_decoded, exp_idlen, exp_known; /* the expected protocol on the sample */
    const bl_protocol_t *other_p; /* a protocol of another family the rest of the traffic speaks */
    uint32_t other_b2i, other_i2b, unknown_sample;
    bl_diag_mark_t other_m[2];
    bl_diag_mark_t best_m[2];     /* frames of the protocol on the wire (wrong_protocol evidence) */
    /* findings (caller-owned) */
    bl_diag_finding_t *out;
    size_t nout, cap_out;
    uint32_t dropped;             /* findings that did not fit, only incremented */
    /* timeline (caller-owned, optional) */
    bl_diag_bucket_t *tl;
    size_t ntl, cap_tl;
    uint64_t tl_width_us, tl_start_us;
    /* counters, only incremented */
    uint64_t lines_bad, frames, err_frames, rtr, b2i, i2b, foreign, idlen, rejected[BL_REJ_COUNT];
    uint64_t back_in_time, no_ts;
    uint64_t first_us, last_us;   /* first and last capture time */
    bool have_ts;
    uint64_t last_push_us;        /* last time seen at push (malformed lines get it) */
    uint64_t last_push_line;
    /* per message of the codec */
    bl_diag_msgstat_t ms[BL_CAN_MAX_MSGS];
    /* link */
    bl_diag_mark_t first_b2i, last_b2i, first_i2b, last_i2b, first_err, first_busoff, first_passive;
    bl_diag_mark_t idlen_ev[3], foreign_ev[3], reject_ev[3], err_ev[3], first_any, last_any;
    uint8_t nidlen_ev, nforeign_ev, nreject_ev, nerr_ev;
    uint64_t b2i_bad;             /* battery messages of the protocol that were rejected */
    uint32_t range_n;             /* frames rejected for a value out of range (other than SOC and limits) */
    bl_diag_mark_t range_m, range_last;
    uint32_t err_classes, busoff, passive, warning_st;
    uint64_t gap_us, gaps;        /* battery gaps longer than the timeout: longest, count */
    bl_diag_mark_t gap_a, gap_b, tail_gap; /* the longest gap; battery silent until the end */
    uint64_t inv_gap_us, inv_gaps;
    bl_diag_mark_t inv_gap_a, inv_gap_b;
    uint32_t idset[BL_DIAG_IDSET];/* distinct ids seen (open addressing, 0 = empty; id | 1 << 31 for
                                     29-bit stored + 1) */
    uint32_t nids, ids_overflow;
    /* malformed bursts: rejects and bad lines per 1 s window */
    uint64_t burst_t0_us;
    uint32_t burst_n, burst_worst, bursts;
    bl_diag_mark_t burst_first, burst_worst_at;
    /* session (inverter speaks first) */
    uint32_t session_restarts, polls, answered;
    uint8_t max_state;
    bl_diag_mark_t first_poll, last_poll, ident[3];
    uint8_t nident;
    /* identity */
    bl_diag_mark_t manuf_at, type_at;
    int64_t type_raw;
    bool type_seen;
    /* values: SOC */
    uint32_t soc_frames;
    int32_t soc_first, soc_last, soc_min, soc_max;
    bl_diag_mark_t soc_first_m, soc_last_m, soc_change_m;
    int64_t soc_q_uC;               /* charge counted since the SOC last changed, µC */
    int64_t soc_frozen_q;           /* the most charge that moved with the SOC standing still */
    bl_diag_mark_t soc_frozen_a, soc_frozen_b;
    uint32_t soc_jumps, soc_recal;
    int32_t soc_jump_by;
    bl_diag_mark_t soc_jump_a, soc_jump_b, soc_recal_m;
    uint32_t soc_scale_hi;          /* range rejects of SOC that read right in 0.01 % */
    bl_diag_mark_t soc_scale_m, soc_scale_last;
    uint32_t soc_rest_bad;
    bl_diag_mark_t soc_rest_m, rest_start_m;
    uint64_t rest_since_us;
    bool rest_judged;
    int32_t v_at_soc_max;           /* pack voltage when the SOC was at its highest (scaling check) */
    /* coulomb count and the sign of the current */
    int64_t q_uC;                   /* charge counted from the battery's current, µC */
    int32_t i_last_mA;
    uint64_t i_last_us;
    bool i_have;
    int32_t step_i_mA, step_v_mV;   /* the last (current, voltage) pair */
    uint64_t step_us;
    bool step_have;
    bl_diag_mark_t step_prev_m;
    uint32_t steps_agree, steps_disagree;
    bl_diag_mark_t step_a, step_b;
    int32_t v_first_mV, v_now_mV;
    bool v_first_have;
    uint64_t v_seen_us;
    int32_t iabs_max_mA;
    /* stale: measurements repeating unchanged */
    int32_t st_v, st_i;
    bool st_have;
    bl_diag_mark_t st_since_m;
    uint64_t st_worst_us;
    bl_diag_mark_t st_worst_a, st_worst_b;
    int64_t v_q_uC;                 /* charge moved since the voltage last changed */
    int64_t v_frozen_q;
    bl_diag_mark_t v_change_m, v_frozen_a, v_frozen_b;
    /* limits */
    bl_diag_hold_t h_ccl, h_dcl, h_cvl;
    bl_diag_mark_t zero_ccl, zero_dcl, zero_cvl, ccl_m, dcl_m, cvl_m; /* first zero; where each limit was set */
    bl_diag_mark_t cvl_before_zero;   /* the last CVL above 0 before the first 0 */
    bl_diag_mark_t zero_flow;         /* current flowing in the direction a 0 A limit closed */
    uint32_t neg_dcl;
    bl_diag_mark_t neg_dcl_m, neg_dcl_last;
    int32_t ccl_lo, ccl_hi, dcl_lo, dcl_hi;
    bool lim_have;
    /* loop: reaction to a binding limit */
    bool react_on;
    uint8_t react_dir;              /* 0 charge, 1 discharge */
    uint64_t react_t0_us;
    int32_t react_limit_mA;
    bl_diag_mark_t react_limit_m;
    uint32_t reacted, not_reacted;
    bl_diag_mark_t react_ok_a, react_ok_b, react_bad_a, react_bad_b;
    int32_t ccl_prev, dcl_prev;
    /* alarms */
    bl_alarm_mask_t alarm_prev[BL_AC_COUNT];
    bl_alarm_mask_t lost[BL_AC_COUNT], degraded[BL_AC_COUNT];
    bl_diag_mark_t lost_m[4], degraded_m, lost_last, degraded_last;
    uint8_t lost_k[4], lost_a[4];
    uint8_t nlost_m;
    bool lossy_ok;
    uint8_t lossy_status[BL_AC_COUNT][BL_A_COUNT];
    uint8_t lossy_why[BL_AC_COUNT][BL_A_COUNT];
    uint8_t lossy_to[BL_AC_COUNT][BL_A_COUNT];
    /* shutdown */
    bl_diag_event_t shev[BL_DIAG_SHUT_EVENTS]; /* ring of recent battery events */
    uint8_t nshev, shev_head;
    bool running, stopping;
    uint64_t run_since_us;
    int32_t run_i_mA;
    bl_diag_mark_t run_m, stop_m;
    uint32_t shutdowns;
    struct {
        bl_diag_mark_t stop;
        int32_t i_mA, soc;
        uint8_t n, severity;
        bl_diag_event_t ev[BL_DIAG_EV_MAX - 1];
    } shut[3];
    uint8_t nshut;
    uint8_t cell_hi_on, cell_lo_on, enable_off;
    bl_diag_mark_t gapx_a;        /* the latest battery silence: its last frame before, */
    uint64_t gapx_line;           /* and the line of the frame after it */
    int32_t inv_err_prev;
    /* the battery against its ratings (--cells, --battery): diagnose_battery.c */
    struct {
        int32_t v_lo, v_hi;           /* pack voltage extremes */
        bl_diag_mark_t v_lo_m, v_hi_m;
        uint32_t judged, bad;         /* frames where cells x mean cell voltage was compared with the pack */
        bl_diag_mark_t bad_m;         /* the first miss: a pack mV, b mean cell mV, c cells it fits */
        int32_t lim[4];               /* highest CVL, CCL, DCL; lowest DVL */
        bl_diag_mark_t lim_m[4];
        uint8_t have_v, have_lim[4];
    } bat;
    /* loop verdict (after bl_diag_finish) */
    uint8_t loop;                   /* bl_diag_loop_t */
    char loop_reason[BL_DIAG_TEXT_MAX];
    /* notes about the capture itself (no timestamps, time going backwards, ...) */
    char notes[4][BL_DIAG_NOTE_MAX];
    uint8_t nnotes;
    /* RS485 byte protocols: the framer, the session, the decoded answer */
    bool rs;
    const bl_rs485_codec_t *rsc;
    bl_stream_t st;
    bl_rs_session_t sess;
    struct {
        uint64_t off, line, ts_us;
        uint8_t has_ts;
    } rs_lines[64];               /* where the recent bytes came from */
    uint8_t rs_head, rs_nlines;
    uint32_t rs_rej[BL_RSR_COUNT];/* rejects by the byte protocol's cause, only incremented */
    uint64_t rs_noise;            /* noise bytes */
    uint32_t rs_err_code;         /* answers with an error code */
    int16_t rs_req_addr;          /* the address the inverter polls (-1: none seen) */
    uint16_t rs_answer_addr_n;
    uint8_t st_buf[BL_STREAM_PYLON_MAX + 64];
    uint8_t rs_info[2048];
    bl_rs_decoded_t rsd;
} bl_diag_t;

/*
 * Start a diagnosis.
 * @param sample       frames kept while the protocol is detected (400 is plenty), nsample of them
 * @param sample_line  their capture lines, nsample of them
 * @param out          findings array, cap entries (32 is plenty; more are counted in dropped)
 * @retval 0          ready
 * @retval BL_EINVAL  no sample / findings space, or a protocol of the profile / --via that is not CAN
 * @retval BL_ENOTSUP cfg->proto is a Modbus map (register reads are not frames on a wire)
 */
int bl_diag_init(bl_diag_t *d, const bl_diag_cfg_t *cfg, bl_cap_frame_t *sample, uint64_t *sample_line,
                 size_t nsample, bl_diag_finding_t *out, size_t cap);

/* Optional: keep a timeline of the capture in tl[0..cap) (charts). Call before the first frame. */
void bl_diag_timeline(bl_diag_t *d, bl_diag_bucket_t *tl, size_t cap);

/* One frame of the capture (line: where it is in the log, 1-based). Frames come in capture order. */
void bl_diag_frame(bl_diag_t *d, const bl_cap_frame_t *f, uint64_t line);

/*
 * RS485 byte protocols (cfg->proto a Pylon-family, Daly, JBD or JK protocol): the bytes
 * of one capture line, in order, with the line's time. Frames may span lines; a frame's
 * evidence names the line where it starts. Modbus maps have no frames here (BL_ENOTSUP
 * from bl_diag_init).
 */
void bl_diag_bytes(bl_diag_t *d, const uint8_t *b, size_t n, uint64_t ts_us, bool has_ts, uint64_t line);

/* A line of the capture that did not parse (why: BL_REJ_SYNTAX, BL_REJ_TOO_LONG, ...). */
void bl_diag_bad_line(bl_diag_t *d, uint64_t line, bl_reject_t why);

/*
 * The capture ended: run every analyser's conclusion, fill the findings (errors
 * first, then warnings, then info; in time order within a severity) and the loop
 * verdict. Calling it again does nothing.
 * @return the number of findings
 */
size_t bl_diag_finish(bl_diag_t *d);

/* true when a finding of severity error was raised (exit status 1) */
bool bl_diag_has_error(const bl_diag_t *d);

/* Timeline buckets filled so far. */
size_t bl_diag_timeline_len(const bl_diag_t *d);

#endif
