/*
 * A LiFePO4 battery with a real BMS, simulated: cells in series with an
 * OCV-vs-SOC curve, internal resistance, a one-node thermal model, cell
 * spread, coulomb-counting SOC with sensor drift and recalibration at full and
 * empty, passive balancing; and the BMS logic on top: CVL/CCL/DCL derating by
 * SOC, cell voltage and temperature, protections with thresholds, delays and
 * hysteresis that raise canonical warnings/alarms/protections and open the
 * charge or discharge path, enable flags, force-charge and full-charge
 * requests.
 *
 * Freestanding, integer arithmetic only (deterministic on every compiler and
 * target): charge is counted exactly in mA x ms (= µC), so SOC is conserved
 * to the last microcoulomb. Time is an argument; the caller owns the memory.
 * Per-cell arrays hold the first `groups` entries (see bl_bsim_t).
 */
#ifndef BMSLINK_BATTERY_SIM_H
#define BMSLINK_BATTERY_SIM_H

#include "bmslink/base.h"
#include "bmslink/model.h"
#include "bmslink/simevent.h"

#define BL_BSIM_MAX_CELLS 32      /* cells (or groups of identical cells) simulated one by one */
#define BL_BSIM_MAX_STRING 512    /* cells in series: an HV string is simulated as up to 32 groups */
#define BL_BSIM_CURVE_MAX 24
#define BL_BSIM_MAX_PROT 16

/* Piecewise-linear curve: y(x) interpolated, clamped to the end points. */
typedef struct {
    uint8_t n;
    int32_t x[BL_BSIM_CURVE_MAX];
    int32_t y[BL_BSIM_CURVE_MAX];
} bl_bsim_curve_t;

/* What a protection row watches (milli-units of the record: mV, mA, m°C). */
typedef enum {
    BL_BQ_CELL_V_MAX = 0, /* highest cell, mV */
    BL_BQ_CELL_V_MIN,     /* lowest cell, mV */
    BL_BQ_PACK_V,         /* pack, mV */
    BL_BQ_TEMP_MAX,       /* hottest sensor, m°C */
    BL_BQ_TEMP_MIN,       /* coldest sensor, m°C */
    BL_BQ_CHARGE_I,       /* charge current magnitude, mA (0 while discharging) */
    BL_BQ_DISCHARGE_I,    /* discharge current magnitude, mA (0 while charging) */
    BL_BQ_CELL_DELTA,     /* highest - lowest cell, mV */
    BL_BQ_COUNT
} bl_bsim_qty_t;

#define BL_BSIM_BLOCK_CHARGE 0x01u
#define BL_BSIM_BLOCK_DISCHARGE 0x02u

#define BL_BSIM_PF_ABOVE 0x01u   /* trips above the threshold (else below) */
#define BL_BSIM_PF_WARN 0x02u    /* has a warning level */

/*
 * One protection: warning level (class "warnings") and trip level (classes
 * "alarms" and "protections": the BMS acted). A level is entered when the
 * quantity stays beyond it for trip_delay_ms, and left when it stays back past
 * its release level for release_delay_ms (hysteresis in value and time).
 */
typedef struct {
    uint8_t alarm;    /* bl_alarm_id_t */
    uint8_t qty;      /* bl_bsim_qty_t */
    uint8_t flags;    /* BL_BSIM_PF_* */
    uint8_t blocks;   /* BL_BSIM_BLOCK_*: the path the BMS opens while tripped */
    int32_t warn, warn_release, trip, release;
    uint32_t trip_delay_ms, release_delay_ms;
} bl_bsim_prot_t;

typedef struct {
    uint16_t cells;           /* in series, 4..512; above 32 a multiple of a group count 8..32 */
    uint8_t modules;          /* reported module count */
    int32_t capacity_mAh;     /* nominal capacity of the string */
    int32_t soh_mpct;         /* reported SOH, 0.001 % */
    int32_t r_cell_uohm;      /* internal resistance per cell at 25 °C */
    int32_t r_cold_ppm_per_degC; /* resistance increase per °C below 25 °C */
    /* cell spread: each cell deviates by up to +-these, drawn from seed */
    uint32_t seed;
    int32_t spread_capacity_ppm, spread_soc_ppm, spread_r_ppm, spread_temp_mdegC;
    /* thermal: one node, heated by I^2 R, cooled toward ambient */
    int32_t heat_capacity_J_per_K;
    int32_t cooling_mW_per_K;
    /* the BMS's current sensor and coulomb counter */
    int32_t sensor_gain_ppm;  /* measured = true x (1 + gain) + offset: the counter drifts */
    int32_t sensor_offset_mA;
    int32_t full_cell_mV;     /* recalibrate to 100 % at this cell voltage while charging ... */
    int32_t tail_mA;          /* ... below this current */
    int32_t empty_cell_mV;    /* recalibrate to 0 % at this cell voltage */
    /* passive balancing */
    int32_t balance_start_mV, balance_delta_mV, balance_mA;
    /* limits the BMS sends */
    int32_t cvl_cell_mV, dvl_cell_mV;
    int32_t ccl_max_mA, dcl_max_mA;
    /* derating: factor in per mille over estimated SOC (0.001 %), cell mV, m°C */
    bl_bsim_curve_t ccl_soc, ccl_cell, ccl_temp, dcl_soc, dcl_cell, dcl_temp;
    bl_bsim_curve_t ocv;      /* cell open-circuit voltage, mV over true SOC (0.001 %) */
    /* request flags (Pylontech V1.2 rules, can-pylon-lv.md §3) */
    int32_t force_charge_on_mpct, force_charge_off_mpct;
    int32_t full_charge_soc_mpct;  /* full-charge request when SOC stayed below this ... */
    uint64_t full_charge_after_ms; /* ... for this long (30 days); 0 = never */
    bl_bsim_prot_t prot[BL_BSIM_MAX_PROT];
    uint8_t nprot;
    char manufacturer[BL_STR_MAX], model[BL_STR_MAX], firmware[BL_STR_MAX];
} bl_bsim_params_t;

/*
 * Sensible defaults for a cells-S LFP pack of capacity_mAh: 0.5 C limits,
 * CVL 3.45 V/cell, DVL 3.0 V/cell, protections of a typical 16S BMS scaled to
 * the cell count, an LFP OCV curve with its flat plateau.
 */
void bl_bsim_defaults(bl_bsim_params_t *p, unsigned cells, int32_t capacity_mAh);

/* NULL when p is usable, else a static text naming the bad parameter. */
const char *bl_bsim_check(const bl_bsim_params_t *p);

typedef struct {
    uint8_t warn, trip;        /* levels active */
    uint64_t warn_since, trip_since; /* when the condition to change level began, 0 = not pending */
} bl_bsim_pstate_t;

typedef struct {
    bl_bsim_params_t prm;
    uint64_t now_ms;
    /* a string of up to 32 cells is simulated cell by cell; a longer one (HV) as `groups`
     * groups of `per_group` identical cells: cell extremes are group extremes */
    uint8_t groups;
    uint16_t per_group;
    /* cells */
    int64_t q_uC[BL_BSIM_MAX_CELLS];     /* charge held, µC (mA x ms) */
    int64_t cap_uC[BL_BSIM_MAX_CELLS];   /* capacity of each cell */
    int32_t r_uohm[BL_BSIM_MAX_CELLS];   /* resistance at 25 °C */
    int32_t toff_mdegC[BL_BSIM_MAX_CELLS];
    int32_t cell_mV[BL_BSIM_MAX_CELLS];  /* terminal voltage of each cell, as measured */
    uint8_t ocv_i[BL_BSIM_MAX_CELLS];    /* curve segment cache */
    int64_t soc_inv[BL_BSIM_MAX_CELLS];  /* 100 % x 2^32 / capacity in mC: SOC without a division */
    int64_t ocv_slope[BL_BSIM_CURVE_MAX]; /* OCV segment slopes, mV per 0.001 % x 2^32 */
    int64_t der_slope[6][BL_BSIM_CURVE_MAX]; /* the same for ccl_soc .. dcl_temp (no division per step) */
    int64_t soc_inv_nominal;             /* 100 % x 2^32 / nominal capacity in mC */
    int64_t r25_sum_uohm;                /* string resistance at 25 °C */
    int32_t rfac_ppm;                    /* resistance factor at the present temperature */
    /* pack */
    int32_t i_mA;           /* current that flowed in the last step (+ charging) */
    int32_t v_mV;           /* pack terminal voltage */
    int64_t temp_udegC;     /* pack temperature, µ°C */
    int32_t ambient_mdegC;
    /* BMS view */
    int64_t est_uC;         /* coulomb counter */
    int32_t soc_mpct;       /* estimated SOC (what the BMS reports) */
    int32_t cell_min_mV, cell_max_mV, temp_min_mdegC, temp_max_mdegC;
    int32_t cvl_mV, dvl_mV, ccl_mA, dcl_mA;
    uint8_t block;          /* BL_BSIM_BLOCK_*: paths opened by protections */
    uint8_t force_charge, full_charge_req, balancing;
    uint64_t below_full_since_ms;
    uint64_t tail_since_ms;
    bl_bsim_pstate_t ps[BL_BSIM_MAX_PROT];
    bl_alarm_mask_t active[BL_AC_COUNT];
    /* fault injection (measurement overrides) */
    int8_t ov_cell;         /* cell whose reading is overridden, -1 none */
    int32_t ov_cell_mV;
    uint8_t ov_temp;        /* temperature reading overridden */
    int32_t ov_temp_mdegC;
    /* accounting: q_uC[k] == q0 + in_uC - bleed_uC[k] for every cell, exactly */
    int64_t in_uC;
    int64_t bleed_uC[BL_BSIM_MAX_CELLS];
    int64_t discharged_uC;  /* throughput for the cycle count */
    uint32_t trips[BL_A_COUNT];   /* protection trips per alarm, only incremented */
    uint32_t blocked_steps;       /* steps in which the BMS (or the 100 C limit) cut the request */
    bl_sim_event_fn on_event;
    void *ev_ctx;
} bl_bsim_t;

/*
 * Start a pack at true SOC soc_mpct (cells spread around it), at ambient
 * temperature, at time now_ms.
 * @retval 0          ready
 * @retval BL_EINVAL  bl_bsim_check(p) names the problem
 */
int bl_bsim_init(bl_bsim_t *b, const bl_bsim_params_t *p, int32_t soc_mpct, int32_t ambient_mdegC,
                 uint64_t now_ms);

/*
 * Let request_mA (+ charging) flow from the last step until now_ms, then
 * measure, protect and derate at now_ms. The BMS cuts a path it has opened:
 * the current that flowed is returned (0 instead of a blocked request).
 * now_ms earlier than the last step is treated as no time passing.
 */
int32_t bl_bsim_step(bl_bsim_t *b, int32_t request_mA, uint64_t now_ms);

/* Terminal voltage the pack would show with i_mA flowing now (for an inverter's regulator). */
int32_t bl_bsim_voltage_at(const bl_bsim_t *b, int32_t i_mA);

/* Fill r with what the BMS reports at now_ms: every canonical battery field,
 * alarms of all classes (known = every alarm it monitors). */
void bl_bsim_record(const bl_bsim_t *b, bl_record_t *r, uint64_t now_ms);

/* True SOC of the string (mean of the cells), 0.001 %. */
int32_t bl_bsim_true_soc(const bl_bsim_t *b);

/* Fault injection: cell k reads mV (k < 0 clears); the temperature reads mdegC (on = 0 clears). */
void bl_bsim_override_cell(bl_bsim_t *b, int k, int32_t mV);
void bl_bsim_override_temp(bl_bsim_t *b, bool on, int32_t mdegC);

/* Interpolate a curve (exposed for tests and the inverter models). */
int32_t bl_bsim_curve(const bl_bsim_curve_t *c, int32_t x);

#endif
