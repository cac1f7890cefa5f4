/*
 * Scenarios and fault injection: the load/PV/ambient profiles of a run, and
 * the timed events that break things on purpose -- in the battery (a cell
 * reading over-voltage, a hot pack, alarm bursts), in its firmware (a frozen
 * or stale field, a sign or unit bug, a forced raw value), on the bus (comm
 * loss, bus-off, a wrong bitrate) and at the inverter (a setting, a firmware
 * variant, the grid). bl_faults_t applies them to a battery simulator, its
 * record and its frames; the closed loop (sim.h) and the battery emulator
 * share it. Freestanding; the hosted layer parses scenario files into
 * bl_scenario_t (src/loaders/scenario.c).
 */
#ifndef BMSLINK_FAULTS_H
#define BMSLINK_FAULTS_H

#include "bmslink/battery_sim.h"
#include "bmslink/inverter.h"
#include "bmslink/protocol.h"
#include "bmslink/simevent.h"

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

typedef struct bl_scenario {
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

/* ---- the events in force ------------------------------------------------------ */

/* Told when an inverter-side event (setting, firmware) starts (on) or ends. */
typedef void (*bl_faults_apply_fn)(void *ctx, const bl_scn_event_t *e, unsigned idx, bool on);

typedef struct {
    const bl_scenario_t *scn;
    bl_bsim_t *bat;              /* battery-side physical faults land here; NULL: none */
    uint8_t active[BL_SCN_MAX_EVENTS];
    uint32_t frozen_mask, stale_mask;
    bl_field_t frozen[BL_F_COUNT];
    uint8_t comm_loss;           /* battery frames are lost */
    uint8_t comm_loss_both;      /* ... and the inverter's */
    uint8_t bus_off;             /* the battery's controller is off the bus */
    uint8_t wrong_sign, grid_lost, wire;
    uint32_t bitrate;            /* a wrong_bitrate event in force: the inverter port's bitrate; 0 none */
    uint64_t next_ms;            /* when the events in force next change */
    bl_faults_apply_fn apply;
    void *apply_ctx;
    bl_sim_event_fn on_event;    /* BL_EV_SCENARIO / BL_EV_SCENARIO_END */
    void *ev_ctx;
} bl_faults_t;

void bl_faults_init(bl_faults_t *f, const bl_scenario_t *scn, bl_bsim_t *bat);

/* Start and end the events due by t (cheap before f->next_ms). rec is the battery's
 * record at t: a field that freezes keeps the value it has there. */
void bl_faults_step(bl_faults_t *f, uint64_t t, const bl_record_t *rec);

/* What the battery's firmware hands to its encoder: in with frozen and stale fields
 * and alarm bursts applied, into out (may not alias in). */
void bl_faults_record(const bl_faults_t *f, const bl_record_t *in, bl_record_t *out, uint64_t t);

/* Firmware bugs on the wire: sign and unit errors, forced raw values, in a frame of
 * codec c (a frame c does not know is left alone). */
void bl_faults_wire(const bl_faults_t *f, const bl_can_codec_t *c, bl_can_frame_t *fr);

#endif
