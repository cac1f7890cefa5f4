/*
 * The closed loop: battery simulator -> real protocol encoder -> in-memory
 * bus -> real decoder -> inverter model, and the inverter's frames back the
 * same way, with injected time and a scenario (load/PV/ambient profiles and
 * timed fault events). The loop reports a timeline (samples), events with
 * frame evidence, and every frame with its fate on the bus.
 *
 * Freestanding: the caller owns the instance and the scenario; the hosted
 * layer parses scenario files (src/loaders/scenario.c) into bl_scenario_t.
 */
#ifndef BMSLINK_SIM_H
#define BMSLINK_SIM_H

#include "bmslink/battery_can.h"
#include "bmslink/battery_sim.h"
#include "bmslink/inverter.h"

#define BL_SCN_MAX_POINTS 48
#define BL_SCN_MAX_EVENTS 64
#define BL_SCN_MAX_SETTINGS BL_INV_MAX_SETTINGS

/* A piecewise-linear profile over time (daily: over the time of day). */
typedef struct {
    uint8_t n;
    uint64_t at_ms[BL_SCN_MAX_POINTS];
    int32_t v[BL_SCN_MAX_POINTS];
} bl_scn_profile_t;

/* Fault injection and operating events, first-class for validation. */
typedef enum {
    BL_SE_COMM_LOSS = 0,  /* battery frames do not reach the inverter; a = 1: both directions */
    BL_SE_FROZEN_FIELD,   /* field keeps the value it had, still sent as fresh */
    BL_SE_STALE_FIELD,    /* field stops being updated: the encoder sees it age */
    BL_SE_WRONG_SIGN,     /* the current leaves with the opposite sign */
    BL_SE_SCALING,        /* raw value of field x a / b on the wire (a unit mix-up; wraps like firmware) */
    BL_SE_CELL_OV,        /* cell a reads b mV */
    BL_SE_OVER_TEMP,      /* temperature reads a m°C */
    BL_SE_ALARM_BURST,    /* alarms raised in class aclass for on_ms of every period_ms, count times */
    BL_SE_BUS_OFF,        /* the battery's CAN controller is bus-off: sends and hears nothing */
    BL_SE_WRONG_BITRATE,  /* the inverter's port runs at a bitrate: frames become error frames */
    BL_SE_SETTING,        /* inverter setting name = value */
    BL_SE_FIRMWARE,       /* inverter switches to firmware variant name */
    BL_SE_SIGNAL,         /* the battery sends raw a in signal name (e.g. a battery type enum) */
    BL_SE_GRID,           /* grid lost for the duration */
    BL_SE_COUNT
} bl_scn_kind_t;

const char *bl_scn_kind_str(unsigned k);
unsigned bl_scn_kind_by_name(const char *name); /* BL_SE_COUNT when unknown */

typedef struct {
    uint8_t kind;        /* bl_scn_kind_t */
    uint8_t field;       /* frozen / stale / scaling: bl_field_id_t */
    uint8_t aclass;      /* alarm burst */
    uint8_t _pad;
    uint64_t at_ms;
    uint64_t for_ms;     /* 0 = to the end */
    int32_t a, b;
    bl_alarm_mask_t alarms;
    uint32_t period_ms, on_ms, count;
    char name[BL_STR_MAX], value[BL_STR_MAX];
    uint32_t line;       /* where the scenario file defines it (messages) */
} bl_scn_event_t;

typedef struct {
    char name[64];
    uint64_t start_ms;       /* the run begins at this time of the scenario clock (e.g. 10:00) */
    uint64_t duration_ms;    /* 0: the caller decides */
    int32_t start_soc_mpct;
    uint8_t grid;            /* grid connected at the start */
    uint8_t daily;           /* profiles repeat every 24 h */
    bl_scn_profile_t load, pv, ambient; /* W, W, m°C */
    bl_bsim_params_t battery;
    char firmware[BL_STR_MAX];          /* inverter firmware variant, "" = the profile's default */
    uint8_t nsettings;
    char setting_name[BL_SCN_MAX_SETTINGS][BL_STR_MAX];
    char setting_value[BL_SCN_MAX_SETTINGS][BL_STR_MAX];
    uint32_t inverter_bitrate;          /* 0: the profile's */
    uint32_t step_ms;                   /* control step, default 1000 */
    uint8_t nev;
    bl_scn_event_t ev[BL_SCN_MAX_EVENTS];
} bl_scenario_t;

/*
 * The built-in day: a 16S 200 Ah pack at 50 %, 25 °C, on-grid, a 5 kWp PV
 * bell from 06:00 to 20:00 and a household load with morning and evening
 * peaks, no events.
 */
void bl_scn_defaults(bl_scenario_t *s);

/* Value of a profile at t (daily: t modulo 24 h); 0 when the profile is empty. */
int32_t bl_scn_profile_at(const bl_scn_profile_t *p, uint64_t t_ms, bool daily);

/* Limits the inverter exceeded (against what the battery put on the bus). */
typedef enum {
    BL_VIOL_CCL = 0,
    BL_VIOL_DCL,
    BL_VIOL_CVL,
    BL_VIOL_CHARGE_DISABLED,
    BL_VIOL_DISCHARGE_DISABLED,
    BL_VIOL_COUNT
} bl_viol_t;

const char *bl_viol_str(unsigned v);

typedef enum { BL_SIDE_BATTERY = 0, BL_SIDE_INVERTER } bl_side_t;

/* What happened to a frame on the bus. */
typedef enum {
    BL_FATE_DELIVERED = 0,
    BL_FATE_DROPPED,    /* comm loss */
    BL_FATE_BUS_OFF,    /* sender or receiver bus-off */
    BL_FATE_CORRUPTED,  /* bitrate mismatch: the receiver saw an error frame */
    BL_FATE_COUNT
} bl_fate_t;

typedef struct {
    uint64_t t_ms;
    const bl_bsim_t *bat;      /* the truth: cells, current, temperature, limits, FETs */
    const bl_record_t *sent;   /* what the battery encoded (after record-level faults) */
    const bl_inv_t *inv;       /* inverter state, code, view (the values it used) */
    const bl_inv_out_t *out;   /* its decision */
    const bl_inv_env_t *env;   /* load, PV, grid */
    uint32_t violations;       /* BL_BIT(bl_viol_t): limits exceeded now (vs what was sent) */
    uint32_t unsafe;           /* BL_BIT(bl_viol_t): vs the battery's true limits */
} bl_sim_sample_t;

typedef struct {
    const bl_protocol_t *battery_proto;  /* what the simulated battery speaks */
    const bl_inv_profile_t *profile;
    const bl_scenario_t *scn;
    int firmware;               /* inverter firmware index, < 0: from the scenario or the default */
    uint32_t sample_ms;         /* timeline interval; 0 = no samples */
    void *ctx;
    bl_sim_event_fn on_event;
    void (*on_sample)(void *ctx, const bl_sim_sample_t *s);
    void (*on_frame)(void *ctx, uint64_t t_ms, uint8_t from, const bl_can_frame_t *f, uint8_t fate);
} bl_sim_cfg_t;

#define BL_SIM_TX_MAX 64

typedef struct {
    bl_sim_cfg_t cfg;
    bl_bsim_t bat;
    bl_batcan_t bcan;
    bl_inv_t inv;
    bl_record_t rec;        /* battery record (the BMS's view) */
    bl_record_t sent;       /* after record-level faults: what the encoder gets */
    bl_record_t wire;       /* limits last put on the bus */
    bl_inv_env_t env;
    bl_inv_out_t out;
    uint64_t now_ms, next_ctl_ms, next_sample_ms, next_bat_ms, next_inv_ms, next_scn_ms;
    uint32_t step_ms;
    int32_t i_cmd_mA;
    /* active faults */
    uint8_t active[BL_SCN_MAX_EVENTS];
    uint32_t frozen_mask, stale_mask;
    bl_field_t frozen[BL_F_COUNT];
    uint8_t comm_loss, comm_loss_both, bus_off, wrong_sign, grid_lost;
    uint32_t port_bitrate, bat_bitrate;
    int32_t tol_ccl_mA, tol_dcl_mA, tol_cvl_mV;
    uint32_t limit_fields[BL_CAN_MAX_MSGS]; /* per battery codec message: limit fields it carries */
    uint32_t viol, unsafe;
    uint64_t viol_since[BL_VIOL_COUNT];
    /* totals, only incremented */
    uint64_t viol_ms[BL_VIOL_COUNT], unsafe_ms[BL_VIOL_COUNT];
    uint64_t frames[2][BL_FATE_COUNT];   /* [from side][fate] */
    int64_t charged_mJ, discharged_mJ, import_mJ, export_mJ, unserved_mJ, curtailed_mJ;
    int32_t soc_min_mpct, soc_max_mpct, v_min_mV, v_max_mV, t_max_mdegC;
    uint32_t events;
    int bad_event;          /* bl_sim_init: index of the scenario event it refused, -1 */
    uint8_t ev_fw[BL_SCN_MAX_EVENTS]; /* firmware events: the variant index */
    uint8_t fw0;            /* firmware at the start */
    bl_can_frame_t txbuf[BL_SIM_TX_MAX];
} bl_sim_t;

/*
 * Set up the loop at t = scn->start_ms.
 * @retval 0           ready
 * @retval BL_ENOTSUP  the profile's protocol is not in this build, or not CAN
 * @retval BL_EINVAL   bad battery parameters, firmware or scenario (cfg->scn)
 * @retval BL_ENOENT   a scenario event names a setting or firmware the profile lacks
 */
int bl_sim_init(bl_sim_t *s, const bl_sim_cfg_t *cfg);

/* Advance to until_ms on the scenario clock (the run began at scn->start_ms);
 * returns the time reached. */
uint64_t bl_sim_run(bl_sim_t *s, uint64_t until_ms);

#endif
