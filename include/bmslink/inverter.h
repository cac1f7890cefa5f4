/*
 * Inverter models: an inverter profile (data: brand family, firmware
 * variants, protocol, bus settings, required settings, who speaks first,
 * the keep-alives and polls it sends, what it watches and what it does when
 * data stops, which fields it uses, its known quirks with their sources) and
 * the engine that runs one: it decodes the battery with the real decoder,
 * sends its own frames with the real encoder, keeps a state (waiting,
 * running, standby, fault, output off), and drives a simple power stage that
 * charges or discharges toward a load/PV profile within the limits it obeys
 * -- or not, per its quirks. A quirk that acts is reported as an event.
 *
 * Freestanding; time is an argument; the caller owns every structure. Text
 * members of a profile are borrowed: they must outlive the inverter.
 */
#ifndef BMSLINK_INVERTER_H
#define BMSLINK_INVERTER_H

#include "bmslink/protocol.h"
#include "bmslink/rs485.h"
#include "bmslink/simevent.h"

#define BL_INV_MAX_FW 8
#define BL_INV_MAX_QUIRKS 16
#define BL_INV_MAX_TIMEOUTS 4
#define BL_INV_MAX_SETTINGS 6
#define BL_INV_MAX_DETECT 8
#define BL_INV_MAX_DEFAULTS 8
#define BL_INV_MAX_MODELS 8
#define BL_INV_MAX_PARAMS 4

#define BL_INV_USES_ALARMS (UINT32_C(1) << 31) /* in bl_inv_profile_t.uses */

/* Behaviours found in the field (fact sheets). Each row of a profile cites its source. */
typedef enum {
    BL_QK_IGNORES_CURRENT_LIMITS = 0, /* CCL/DCL ignored; stops only at SOC 0/100 % or the voltage limits */
    BL_QK_IGNORES_ZERO_LIMITS,        /* a 0 V / 0 A limit reads as "no limit" */
    BL_QK_CVL_ZERO_OVERVOLTAGE,       /* CVL = 0 is an over-voltage fault */
    BL_QK_ISLAND_SHUTDOWN_DCL_ZERO,   /* off-grid, DCL = 0 shuts the inverter down */
    BL_QK_DISCHARGE_TO_CVL,           /* CVL below the battery voltage: discharges down to it, ignoring DCL */
    BL_QK_IGNORES_DCL_OFFGRID,        /* DCL not honoured off-grid */
    BL_QK_CHARGES_AT_CCL_ZERO,        /* PV chargers regulate on CVL only: keep charging at CCL = 0 (param0 mA, 0 = max) */
    BL_QK_CVL_REDUCTION_DELAY,        /* a lower CVL takes effect only after param0 ms */
    BL_QK_CVL_CAP_BY_NAME,            /* manufacturer == text and CVL <= param0 mV: CVL held at param1 mV */
    BL_QK_CCL_ZERO_FLOAT_BY_NAME,     /* manufacturer == text and CCL = 0: float at param0 mV with param1 mA */
    BL_QK_REJECTS_BATTERY_TYPE,       /* signal `text` of message msg_id in param[]: fault `code` */
    BL_QK_REQUIRES_MANUFACTURER,      /* battery not accepted unless the manufacturer reads `text` */
    BL_QK_IGNORES_ENABLE_FLAGS,       /* honours the zero limits, not the enable flags */
    BL_QK_KEEPS_LAST_VALUES,          /* battery silent: keeps running on the last values it got */
    BL_QK_KEEPALIVE_PERIOD,           /* sends its keep-alive every param0 ms instead of the protocol period */
    BL_QK_NO_KEEPALIVE,               /* never sends a keep-alive */
    BL_QK_ANY_ALARM_STANDBY,          /* any battery alarm: standby (fault) until cleared; warnings only logged */
    BL_QK_STOPS_AT_FULL_SOC,          /* stops charging at SOC 100 % whatever CCL says */
    BL_QK_BLOCKS_BATTERY,             /* this firmware refuses every battery: fault `code` */
    BL_QK_COUNT
} bl_quirk_t;

/* Stable snake_case ids ("ignores_current_limits", ...); BL_QK_COUNT when unknown. */
const char *bl_quirk_str(unsigned q);
unsigned bl_quirk_by_name(const char *name);

typedef enum {
    BL_INV_ACT_NONE = 0,  /* keep going */
    BL_INV_ACT_DEFAULTS,  /* replace the timed-out values by the defaults, keep running */
    BL_INV_ACT_WARNING,   /* log a warning code, use the defaults */
    BL_INV_ACT_STANDBY,   /* stop battery power until the data is back */
    BL_INV_ACT_FAULT,     /* fault code, stop battery power until the data is back */
    BL_INV_ACT_CUT_OUTPUT,/* cut the AC output: loads go dark */
    BL_INV_ACT_COUNT
} bl_inv_action_t;

const char *bl_inv_action_str(unsigned a);
unsigned bl_inv_action_by_name(const char *name); /* BL_INV_ACT_COUNT when unknown */

typedef enum {
    BL_INV_WAIT = 0, /* battery not (yet) detected: no battery power */
    BL_INV_RUN,
    BL_INV_STANDBY,
    BL_INV_FAULT,
    BL_INV_OFF,      /* output cut or shut down */
    BL_INV_STATE_COUNT
} bl_inv_state_t;

const char *bl_inv_state_str(unsigned s);

typedef struct {
    uint8_t id;                 /* bl_quirk_t */
    uint8_t nparam;
    uint32_t fw_mask;           /* firmware variants it applies to (bit per firmware), 0 = all */
    uint32_t msg_id;            /* BL_QK_REJECTS_BATTERY_TYPE: message */
    int32_t param[BL_INV_MAX_PARAMS];
    char text[BL_STR_MAX];      /* a name to match, or a signal name */
    char code[BL_EV_CODE_MAX];  /* fault code it raises */
    const char *what, *source;  /* borrowed text for listings */
} bl_inv_quirk_t;

typedef struct {
    uint8_t field;  /* bl_field_id_t */
    int32_t value;  /* milli-units / count / 0-1 */
} bl_inv_default_t;

typedef struct {
    uint32_t msg_id;            /* battery message watched; 0 = any battery frame */
    uint32_t after_ms;
    uint8_t action;             /* bl_inv_action_t */
    uint8_t ndef;
    bl_inv_default_t def[BL_INV_MAX_DEFAULTS]; /* values used after the timeout */
    char code[BL_EV_CODE_MAX];
    const char *source;
} bl_inv_timeout_t;

typedef enum {
    BL_INV_WRONG_IGNORE_BMS = 0, /* runs without the BMS: never reads the battery */
    BL_INV_WRONG_NOT_DETECTED,   /* battery never detected */
    BL_INV_WRONG_FAULT,          /* fault code */
    BL_INV_WRONG_INFO,           /* documented requirement, effect not known: reported only */
    BL_INV_WRONG_COUNT
} bl_inv_wrong_t;

typedef struct {
    const char *name;           /* "battery_type", "BatTyp", ... */
    const char *required;       /* the value that works */
    const char *source;
    uint8_t on_wrong;           /* bl_inv_wrong_t */
    char code[BL_EV_CODE_MAX];
} bl_inv_setting_t;

/* How the inverter reacts to battery alarms (class "alarms" and "protections"). */
typedef enum {
    BL_INV_ALARM_IGNORE = 0,
    BL_INV_ALARM_STOP_DIRECTION, /* an over-voltage alarm stops charging, an under-voltage one discharging */
    BL_INV_ALARM_STANDBY,        /* any alarm: standby */
    BL_INV_ALARM_COUNT
} bl_inv_alarm_rx_t;

typedef struct {
    const char *name, *brand, *family;
    const char *models[BL_INV_MAX_MODELS];
    const char *firmware[BL_INV_MAX_FW]; /* variant names; index 0 is the default */
    const char *protocol_name;  /* as written in the profile */
    const bl_protocol_t *proto; /* NULL: this build lacks the protocol */
    const char *interface_note; /* wiring, port, termination */
    const char *sources;
    bl_inv_timeout_t timeouts[BL_INV_MAX_TIMEOUTS];
    bl_inv_setting_t settings[BL_INV_MAX_SETTINGS];
    bl_inv_quirk_t quirks[BL_INV_MAX_QUIRKS];
    uint32_t bitrate, baud;     /* what the inverter's port is set to */
    /* power stage */
    int32_t max_charge_W, max_discharge_W;
    int32_t soc_min_mpct;       /* its own discharge cut-off (on-grid) */
    int32_t soc_min_offgrid_mpct;
    int32_t soc_hyst_mpct;      /* discharge resumes this far above the cut-off */
    int32_t force_charge_mA;    /* grid charge on a force-charge request; 0 = ignores the request */
    uint32_t uses;              /* BL_BIT(field) | BL_INV_USES_ALARMS: what it reads; the rest is ignored */
    /* its own values where it has none from the battery (field not sent, not used,
     * or a wrong setting that makes it run without the BMS); 0 = no charging /
     * no discharging / no voltage regulation */
    int32_t own_cvl_mV, own_ccl_mA, own_dcl_mA, own_dvl_mV;
    uint32_t detect[BL_INV_MAX_DETECT]; /* messages that must have arrived to detect the battery */
    uint32_t restart_ms;        /* from standby/fault back to running once the cause is gone */
    uint8_t nmodels, nfw, ndetect, ntimeouts, nsettings, nquirks;
    uint8_t bus;                /* bl_bus_t */
    uint8_t uses_full_charge;   /* charges from the grid on a full-charge request */
    uint8_t on_alarm, on_warning; /* bl_inv_alarm_rx_t */
    char alarm_code[BL_A_COUNT][BL_EV_CODE_MAX]; /* its display code per canonical alarm, "" none */
} bl_inv_profile_t;

/* Defaults for a profile before the loader fills it: obedient, 5 kW, SOC floor 10 %. */
void bl_inv_profile_defaults(bl_inv_profile_t *p);

/* What the power stage sees this step. */
typedef struct {
    int32_t pv_W, load_W;       /* PV available, AC load */
    uint8_t grid;               /* grid connected */
    int32_t v_mV, i_mA;         /* battery terminals, measured by the inverter (i + charging) */
    int32_t temp_mdegC;
} bl_inv_env_t;

/* What it decided. */
typedef struct {
    int32_t i_mA;               /* battery current it drives next (+ charging) */
    int32_t grid_W;             /* + import */
    int32_t unserved_W;         /* load it could not serve */
    int32_t curtailed_W;        /* PV it could not use */
} bl_inv_out_t;

/* One thing the inverter sends on its own: a periodic message, or a trigger row's request
 * (with the selector bytes the row matches), or a hello that wakes the battery. */
typedef struct {
    const bl_message_t *m;
    uint32_t period_ms;
    uint64_t next_ms;
    uint8_t hello;              /* sent only while the battery is not detected */
    uint8_t on_detect;          /* sent once each time the battery is detected (a session command) */
    uint8_t done;
    uint8_t keepalive;          /* BL_MF_KEEPALIVE: the keep-alive quirks apply */
    uint8_t turns;              /* periodic requests of one message taking turns, one per period
                                   (Pylon HV 0x4200 selectors 0, 2: one request a second) */
    uint8_t byte, mask, value, byte2, mask2, value2; /* byte BL_TRIG_ANY: nothing forced */
} bl_inv_slot_t;

#define BL_INV_MAX_SLOTS 32
#define BL_INV_MAX_RS 16       /* commands a byte-protocol inverter polls */
#define BL_INV_RS_MEMOS 6      /* answers kept to store again when their bytes repeat */
#define BL_INV_RS_INFO 2048    /* INFO bytes of one answer being taken apart */
#define BL_INV_DEFAULT_PERIOD_MS 1000u /* a keep-alive whose period no document gives */
#define BL_INV_HELLO_RETRY_MS 10000u   /* a hello repeats until the battery answers */

typedef struct {
    const bl_inv_profile_t *p;
    uint8_t fw;                 /* firmware index */
    uint32_t qmask;             /* BL_BIT(quirk) active under this firmware */
    bl_can_codec_t codec;
    const char *setting_value[BL_INV_MAX_SETTINGS]; /* actual settings (borrowed), NULL = required */
    uint8_t state;              /* bl_inv_state_t */
    char code[BL_EV_CODE_MAX];  /* active fault / warning code */
    char warn_code[BL_EV_CODE_MAX];
    bl_record_t rx;             /* everything decoded from the battery */
    bl_record_t view;           /* what the power stage uses this step */
    bl_record_t tx;             /* its own inv_* fields for the frames it sends */
    uint64_t heard_ms[BL_CAN_MAX_MSGS]; /* last good frame per codec message, BL_NEVER = never */
    bl_can_frame_t last[BL_CAN_MAX_MSGS];
    bl_can_memo_t memo[BL_CAN_MAX_MSGS]; /* what each message's last bytes stored (bl_can_decode_memo) */
    bl_rs_memo_t rs_memo[BL_INV_RS_MEMOS]; /* what the last answers to its polls stored (byte protocols) */
    bl_inv_slot_t slot[BL_INV_MAX_SLOTS];
    uint8_t nslots;
    uint8_t mux_next[BL_CAN_MAX_MSGS];
    uint8_t timed_out[BL_INV_MAX_TIMEOUTS];
    uint8_t detected;
    uint64_t cause_gone_ms;     /* when the reason to stop disappeared (restart timer) */
    int32_t cv_cap_mA, dv_cap_mA; /* voltage regulators */
    uint8_t soc_cut;            /* discharge stopped by the SOC floor */
    int32_t cvl_eff_mV;
    uint64_t cvl_drop_ms;       /* BL_QK_CVL_REDUCTION_DELAY: when a lower CVL arrived */
    int32_t cvl_prev_mV;
    uint32_t quirk_acting;      /* BL_BIT(quirk) acting in the last step */
    uint8_t unserved;
    int32_t battery_type;       /* last value of the signal BL_QK_REJECTS_BATTERY_TYPE reads, -1 unknown */
    uint32_t settings_reported; /* BL_BIT(setting): mismatch already reported */
    /* byte protocols (RS485): the inverter is the master and polls the codec's commands;
     * heard_ms[] / last[] are indexed like rs_cmd[] */
    const bl_rs485_codec_t *rs;
    bl_rs_session_t rsess;
    uint8_t rs_addr, rs_n, rs_idx;
    int8_t rs_wait;             /* index of the command awaiting its answer, -1 none */
    uint16_t rs_cmd[BL_INV_MAX_RS];
    uint8_t rs_once[BL_INV_MAX_RS], rs_done[BL_INV_MAX_RS];
    uint32_t rs_fields[BL_INV_MAX_RS]; /* fields each command's answer carried */
    uint64_t rs_cycle_ms, rs_next_ms, rs_sent_ms;
    uint32_t rs_no_answer, rs_error_answers; /* only incremented */
    uint8_t rs_info[BL_INV_RS_INFO];
    bl_record_t rs_scratch;
    uint64_t now_ms;
    /* counters, only incremented */
    uint32_t rx_frames, rx_rejected[BL_REJ_COUNT], rx_foreign; /* foreign: decoded, not a battery message */
    uint32_t tx_frames, timeouts_seen, faults;
    uint32_t quirk_acted[BL_QK_COUNT];
    bl_sim_event_fn on_event;
    void *ev_ctx;
} bl_inv_t;

/*
 * Start an inverter running profile p under firmware index fw.
 * @retval 0          ready (state BL_INV_WAIT)
 * @retval BL_ENOTSUP p->proto is NULL (protocol not in this build) or a Modbus map
 * @retval BL_EINVAL  fw out of range
 */
int bl_inv_init(bl_inv_t *v, const bl_inv_profile_t *p, unsigned fw, uint64_t now_ms);

/* Switch firmware variant (its quirks) at run time. BL_EINVAL when out of range. */
int bl_inv_set_firmware(bl_inv_t *v, unsigned fw);

/* Set an inverter setting by name (value borrowed). BL_ENOENT: the profile has no such setting. */
int bl_inv_set_setting(bl_inv_t *v, const char *name, const char *value);

/* A frame from the bus. Rejected frames are counted by cause, never used. */
void bl_inv_rx(bl_inv_t *v, const bl_can_frame_t *f, uint64_t now_ms);

/*
 * Frames the inverter sends at now_ms into out[0..cap): the protocol's periodic
 * inverter messages, the requests of its trigger rows that have a period (polls,
 * heartbeats), keep-alives whose period no document gives every 1 s, -- while
 * the battery is not detected -- the rows that start a battery (identification,
 * pairing) every 10 s, and once the battery is detected the rows that move its
 * session forward (SolaX: close the contactor). Returns the count; *next_ms =
 * when it next has something.
 */
unsigned bl_inv_tx(bl_inv_t *v, uint64_t now_ms, bl_can_frame_t *out, unsigned cap, uint64_t *next_ms);

/*
 * Byte protocols (RS485): the next request the inverter sends at now_ms into
 * out[0..cap): the codec's once-per-detection commands (identity) and its poll
 * cycle, one request at a time -- the next waits for the answer, or for the
 * reply timeout (counted in rs_no_answer). Returns bytes (0: none now);
 * *next_ms = when to call again.
 */
int bl_inv_tx_bytes(bl_inv_t *v, uint64_t now_ms, uint8_t *out, size_t cap, uint64_t *next_ms);

/* Byte protocols: one whole frame from the battery (the framer's output). */
void bl_inv_rx_bytes(bl_inv_t *v, const uint8_t *frame, size_t n, uint64_t now_ms);

/* Decide: state, the values it uses, and the battery current for the next interval. */
void bl_inv_step(bl_inv_t *v, const bl_inv_env_t *env, uint64_t now_ms, bl_inv_out_t *out);

/* Index of the profile's quirk row of kind q active now, or -1. */
int bl_inv_quirk(const bl_inv_t *v, unsigned q);

#endif
