/*
 * Events of the simulation engines (battery simulator, inverter models, the
 * closed loop): what changed, when, and the evidence. Engines report them
 * through a caller-supplied callback; the caller decides what to keep.
 * Freestanding.
 */
#ifndef BMSLINK_SIMEVENT_H
#define BMSLINK_SIMEVENT_H

#include "bmslink/base.h"
#include "bmslink/frame.h"

typedef enum {
    BL_EV_PROT_TRIP = 0,  /* battery: protection tripped; a = alarm id, b = value (milli) */
    BL_EV_PROT_RELEASE,   /* battery: protection released; a = alarm id, b = value */
    BL_EV_WARN_ON,        /* battery: warning raised; a = alarm id, b = value */
    BL_EV_WARN_OFF,       /* battery: warning cleared; a = alarm id, b = value */
    BL_EV_SOC_RECAL,      /* battery: coulomb counter recalibrated; a = from, b = to (0.001 %) */
    BL_EV_FLAG,           /* battery: request flag changed; a = field id, b = new value */
    BL_EV_INV_STATE,      /* inverter: state changed; a = from, b = to (bl_inv_state_t), code */
    BL_EV_INV_DETECT,     /* inverter: battery detected (a = 1) or lost (a = 0) */
    BL_EV_INV_TIMEOUT,    /* inverter: a watched message timed out; a = message id, b = after ms */
    BL_EV_INV_RESTORED,   /* inverter: the watched message is back; a = message id */
    BL_EV_QUIRK,          /* inverter: a quirk acted; a = bl_quirk_t, b = value it acted on */
    BL_EV_VIOLATION,      /* loop: a limit the battery sent is exceeded; a = bl_viol_t, b = by how much */
    BL_EV_VIOLATION_END,  /* loop: back within the limit; a = bl_viol_t, b = duration ms */
    BL_EV_SCENARIO,       /* loop: a scenario event starts; a = event kind, b = index */
    BL_EV_SCENARIO_END,   /* loop: a scenario event ends; a = event kind, b = index */
    BL_EV_LINK,           /* battery role: inverter heard (a = 1) / missing (a = 0) */
    BL_EV_REJECT,         /* a frame was rejected (first of its cause per episode); a = reject, b = side */
    BL_EV_UNSERVED,       /* inverter: load not served (a = 1 starts, 0 ends) */
    BL_EV_SETTING,        /* inverter: a setting differs from what the battery needs; a = setting index */
    BL_EV_COUNT
} bl_ev_kind_t;

#define BL_EV_CODE_MAX 16

typedef struct {
    uint64_t t_ms;
    uint8_t kind;         /* bl_ev_kind_t */
    uint8_t has_frame;    /* evidence holds the frame that caused it */
    int32_t a, b;
    char code[BL_EV_CODE_MAX]; /* inverter fault / warning code, "" when none */
    bl_can_frame_t frame; /* evidence (has_frame) */
} bl_sim_event_t;

typedef void (*bl_sim_event_fn)(void *ctx, const bl_sim_event_t *e);

/* Stable snake_case name of an event kind ("protection_trip", ...). */
const char *bl_ev_kind_str(unsigned kind);

#endif
