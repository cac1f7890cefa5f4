/*
 * The LiFePO4 pack and its BMS (see include/bmslink/battery_sim.h).
 *
 * Units: charge in µC (mA x ms, exact), voltages in mV, currents in mA,
 * temperatures in m°C (pack node in µ°C so slow heating is not lost to
 * truncation), SOC in 0.001 %, resistance in µΩ. No floating point.
 */
#include "bmslink/battery_sim.h"

#include <string.h>

#define UC_PER_MAH INT64_C(3600000) /* 1 mAh = 3.6 C = 3 600 000 µC */
#define MPCT_FULL 100000            /* 100 % in 0.001 % */
#define THERMAL_CHUNK_MS 10000u     /* explicit Euler stays stable well below C/h */
#define TEMP_MAX_uC INT64_C(1000000000) /* +-1000 °C: beyond, the model (and the pack) is gone */
#define C_RATE_MAX 100              /* no LFP string carries more than 100 C: requests are held to it */

static void curve_set(bl_bsim_curve_t *c, const int32_t (*pts)[2], unsigned n)
{
    c->n = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        c->x[i] = pts[i][0];
        c->y[i] = pts[i][1];
    }
}

#define CURVE(c, arr) curve_set((c), (arr), (unsigned)BL_ARRAY_LEN(arr))

/*
 * LFP cell OCV at 25 °C over SOC (0.001 %): the knee below 10 %, the flat
 * plateau with its two steps (about 3.29 V and 3.33 V), the rise to 3.45 V at
 * full. Beyond 100 % the curve stands for overcharge, so a charger that ignores
 * the limits drives a cell into the BMS's over-voltage protection.
 */
static const int32_t lfp_ocv[][2] = {
    { 0, 2500 },      { 2000, 2900 },   { 5000, 3100 },   { 10000, 3200 },  { 20000, 3250 },
    { 30000, 3275 },  { 40000, 3290 },  { 50000, 3300 },  { 60000, 3305 },  { 65000, 3320 },
    { 70000, 3325 },  { 80000, 3330 },  { 90000, 3335 },  { 95000, 3350 },  { 97000, 3380 },
    { 99000, 3420 },  { 100000, 3450 }, { 101000, 3650 }, { 102000, 3900 }, { 105000, 4200 },
};

/* Derating factors, per mille. Charge: taper above 90 % SOC and 3.40 V per
 * cell, no charge below 0 °C (cold-charge block) or above 55 °C. Discharge:
 * taper below 15 % SOC and 3.10 V per cell, none below -20 °C or above 60 °C. */
static const int32_t ccl_soc[][2] = { { 90000, 1000 }, { 95000, 500 }, { 98000, 200 }, { 100000, 50 } };
static const int32_t ccl_cell[][2] = { { 3400, 1000 }, { 3500, 300 }, { 3550, 100 }, { 3600, 0 } };
static const int32_t ccl_temp[][2] = { { 0, 0 },         { 5000, 100 },  { 10000, 300 }, { 15000, 1000 },
                                       { 45000, 1000 }, { 50000, 300 }, { 55000, 0 } };
static const int32_t dcl_soc[][2] = { { 0, 0 }, { 5000, 200 }, { 10000, 500 }, { 15000, 1000 } };
static const int32_t dcl_cell[][2] = { { 2800, 0 }, { 2900, 100 }, { 3000, 300 }, { 3100, 1000 } };
static const int32_t dcl_temp[][2] = { { -20000, 0 },     { -10000, 300 }, { 0, 600 }, { 10000, 1000 },
                                       { 50000, 1000 }, { 55000, 500 },   { 60000, 0 } };

#define ABOVE (BL_BSIM_PF_ABOVE | BL_BSIM_PF_WARN)
#define BELOW BL_BSIM_PF_WARN
#define CHG BL_BSIM_BLOCK_CHARGE
#define DSG BL_BSIM_BLOCK_DISCHARGE

void bl_bsim_defaults(bl_bsim_params_t *p, unsigned cells, int32_t capacity_mAh)
{
    int32_t n = (int32_t)cells;
    int32_t c_mA = capacity_mAh; /* 1 C in mA */

    memset(p, 0, sizeof *p);
    p->cells = (uint16_t)cells;
    p->modules = 1;
    p->capacity_mAh = capacity_mAh;
    p->soh_mpct = 98000;
    p->r_cell_uohm = 600;
    p->r_cold_ppm_per_degC = 20000; /* +2 % per °C below 25 °C */
    p->seed = 1;
    p->spread_capacity_ppm = 5000;
    p->spread_soc_ppm = 3000;
    p->spread_r_ppm = 50000;
    p->spread_temp_mdegC = 1000;
    p->heat_capacity_J_per_K = 450 * n * (capacity_mAh / 10000); /* ~4.5 kJ/K per 100 Ah cell */
    if (p->heat_capacity_J_per_K < 1000)
        p->heat_capacity_J_per_K = 1000;
    p->cooling_mW_per_K = 300 * n;
    p->sensor_gain_ppm = 0;
    p->sensor_offset_mA = 0;
    p->full_cell_mV = 3450;
    p->tail_mA = c_mA / 20;
    p->empty_cell_mV = 2900;
    p->balance_start_mV = 3400;
    p->balance_delta_mV = 10;
    p->balance_mA = 100;
    p->cvl_cell_mV = 3450;
    p->dvl_cell_mV = 3000;
    p->ccl_max_mA = c_mA / 2;
    p->dcl_max_mA = c_mA / 2;
    CURVE(&p->ccl_soc, ccl_soc);
    CURVE(&p->ccl_cell, ccl_cell);
    CURVE(&p->ccl_temp, ccl_temp);
    CURVE(&p->dcl_soc, dcl_soc);
    CURVE(&p->dcl_cell, dcl_cell);
    CURVE(&p->dcl_temp, dcl_temp);
    CURVE(&p->ocv, lfp_ocv);
    p->force_charge_on_mpct = 5000;
    p->force_charge_off_mpct = 10000;
    p->full_charge_soc_mpct = 97000;
    p->full_charge_after_ms = UINT64_C(30) * 86400000u;

    /* alarm, quantity, flags, blocks, warn, warn release, trip, release, delays */
    const bl_bsim_prot_t prot[] = {
        { BL_A_CELL_OV, BL_BQ_CELL_V_MAX, ABOVE, CHG, 3550, 3450, 3650, 3400, 2000, 2000 },
        { BL_A_CELL_UV, BL_BQ_CELL_V_MIN, BELOW, DSG, 2900, 3000, 2700, 3100, 2000, 2000 },
        { BL_A_PACK_OV, BL_BQ_PACK_V, ABOVE, CHG, 3550 * n, 3450 * n, 3650 * n, 3400 * n, 2000, 2000 },
        { BL_A_PACK_UV, BL_BQ_PACK_V, BELOW, DSG, 2900 * n, 3000 * n, 2700 * n, 3100 * n, 2000, 2000 },
        { BL_A_CHG_OT, BL_BQ_TEMP_MAX, ABOVE, CHG, 50000, 47000, 55000, 50000, 5000, 5000 },
        { BL_A_CHG_UT, BL_BQ_TEMP_MIN, BELOW, CHG, 5000, 7000, 0, 3000, 5000, 5000 },
        { BL_A_DSG_OT, BL_BQ_TEMP_MAX, ABOVE, DSG, 55000, 52000, 60000, 55000, 5000, 5000 },
        { BL_A_DSG_UT, BL_BQ_TEMP_MIN, BELOW, DSG, -10000, -8000, -20000, -15000, 5000, 5000 },
        /* over-current: the path opens, current falls to 0, the BMS retries after 30 s */
        { BL_A_CHG_OC, BL_BQ_CHARGE_I, ABOVE, CHG, c_mA * 11 / 20, c_mA / 2, c_mA * 3 / 5, 0, 5000, 30000 },
        { BL_A_DSG_OC, BL_BQ_DISCHARGE_I, ABOVE, DSG, c_mA * 11 / 20, c_mA / 2, c_mA * 3 / 4, 0, 2000,
          30000 },
        { BL_A_SHORT, BL_BQ_DISCHARGE_I, BL_BSIM_PF_ABOVE, CHG | DSG, 0, 0, c_mA * 5, 0, 0, 60000 },
        { BL_A_IMBALANCE, BL_BQ_CELL_DELTA, ABOVE, 0, 100, 50, 300, 150, 10000, 10000 },
    };
    memcpy(p->prot, prot, sizeof prot);
    p->nprot = (uint8_t)BL_ARRAY_LEN(prot);
    memcpy(p->manufacturer, "BMSLINK", 8);
    memcpy(p->model, "SIM-LFP", 8);
    memcpy(p->firmware, "1.0", 4);
}

/* Groups an n-cell string is simulated as: n itself up to 32, else the largest divisor 8..32. */
static unsigned groups_of(unsigned n)
{
    if (n <= BL_BSIM_MAX_CELLS)
        return n;
    for (unsigned g = BL_BSIM_MAX_CELLS; g >= 8; g--)
        if (n % g == 0)
            return g;
    return 0;
}

static const char *check_curve(const bl_bsim_curve_t *c, const char *name)
{
    if (c->n < 1 || c->n > BL_BSIM_CURVE_MAX)
        return name;
    for (unsigned i = 1; i < c->n; i++)
        if (c->x[i] <= c->x[i - 1])
            return name;
    return NULL;
}

const char *bl_bsim_check(const bl_bsim_params_t *p)
{
    const char *bad;
    if (p->cells < 4 || p->cells > BL_BSIM_MAX_STRING || groups_of(p->cells) == 0)
        return "cells: 4..32 in series, or up to 512 as a multiple of 8..32 groups (e.g. 96 = 32 x 3)";
    if (p->capacity_mAh < 1000 || p->capacity_mAh > 10000000)
        return "capacity_Ah: 1..10000 Ah";
    if (p->r_cell_uohm <= 0 || p->r_cell_uohm > 1000000)
        return "cell_resistance_mohm: above 0, at most 1000 mOhm";
    if (p->heat_capacity_J_per_K <= 0 || p->cooling_mW_per_K < 0)
        return "thermal: heat capacity above 0, cooling not negative";
    if (p->ccl_max_mA < 0 || p->dcl_max_mA < 0)
        return "limits: current limits are magnitudes (not negative)";
    if (p->cvl_cell_mV <= p->dvl_cell_mV || p->dvl_cell_mV <= 0)
        return "limits: charge voltage per cell must be above the discharge voltage";
    if (p->nprot > BL_BSIM_MAX_PROT)
        return "protections: too many rows";
    if (p->spread_capacity_ppm < 0 || p->spread_capacity_ppm > 200000 || p->spread_soc_ppm < 0 ||
        p->spread_soc_ppm > 200000 || p->spread_r_ppm < 0 || p->spread_r_ppm > 500000 ||
        p->spread_temp_mdegC < 0)
        return "spread: not negative, at most 20 % (resistance 50 %)";
    if ((bad = check_curve(&p->ocv, "ocv: 1..24 points, x increasing")) != NULL ||
        (bad = check_curve(&p->ccl_soc, "derating ccl_soc: x increasing")) != NULL ||
        (bad = check_curve(&p->ccl_cell, "derating ccl_cell: x increasing")) != NULL ||
        (bad = check_curve(&p->ccl_temp, "derating ccl_temp: x increasing")) != NULL ||
        (bad = check_curve(&p->dcl_soc, "derating dcl_soc: x increasing")) != NULL ||
        (bad = check_curve(&p->dcl_cell, "derating dcl_cell: x increasing")) != NULL ||
        (bad = check_curve(&p->dcl_temp, "derating dcl_temp: x increasing")) != NULL)
        return bad;
    for (unsigned i = 0; i < p->nprot; i++)
        if (p->prot[i].alarm >= BL_A_COUNT || p->prot[i].qty >= BL_BQ_COUNT)
            return "protections: unknown alarm or quantity";
    return NULL;
}

/* ---- helpers ------------------------------------------------------------ */

static int32_t lerp(int32_t x0, int32_t y0, int32_t x1, int32_t y1, int32_t x)
{
    int64_t num = (int64_t)(y1 - y0) * (int64_t)(x - x0);
    return y0 + (int32_t)(num / (int64_t)(x1 - x0));
}

int32_t bl_bsim_curve(const bl_bsim_curve_t *c, int32_t x)
{
    unsigned i;
    if (c->n == 0)
        return 0;
    if (x <= c->x[0])
        return c->y[0];
    for (i = 1; i < c->n; i++)
        if (x <= c->x[i])
            return lerp(c->x[i - 1], c->y[i - 1], c->x[i], c->y[i], x);
    return c->y[c->n - 1];
}

/* Segment slopes of a curve in Q32, rounded away from zero so a segment ends exactly
 * on its next point: y(x) then needs a multiplication, not a division. */
static void slopes(const bl_bsim_curve_t *c, int64_t *out)
{
    for (unsigned i = 1; i < c->n; i++) {
        int64_t dy = (int64_t)(c->y[i] - c->y[i - 1]) * (INT64_C(1) << 32);
        int64_t dx = c->x[i] - c->x[i - 1];
        out[i] = dy >= 0 ? (dy + dx - 1) / dx : (dy - dx + 1) / dx;
    }
}

/* A derating curve (a few points) with its precomputed slopes. */
static int32_t curve_q32(const bl_bsim_curve_t *c, const int64_t *slope, int32_t x)
{
    unsigned i;
    if (c->n == 0)
        return 0;
    if (x <= c->x[0])
        return c->y[0];
    for (i = 1; i < c->n; i++)
        if (x <= c->x[i])
            return c->y[i - 1] + (int32_t)(((int64_t)(x - c->x[i - 1]) * slope[i]) / (INT64_C(1) << 32));
    return c->y[c->n - 1];
}

/* The OCV curve is read for every cell every step: start from the segment used
 * last time and use the slopes precomputed at init (no division). */
static int32_t ocv_at(const bl_bsim_t *b, int32_t x, uint8_t *seg)
{
    const bl_bsim_curve_t *c = &b->prm.ocv;
    unsigned i = *seg;
    if (c->n < 2)
        return c->n ? c->y[0] : 0;
    if (x <= c->x[0])
        return c->y[0];
    if (x >= c->x[c->n - 1])
        return c->y[c->n - 1];
    if (i < 1 || i >= c->n)
        i = 1;
    while (i > 1 && x <= c->x[i - 1])
        i--;
    while (i < (unsigned)c->n - 1 && x > c->x[i])
        i++;
    *seg = (uint8_t)i;
    return c->y[i - 1] + (int32_t)(((int64_t)(x - c->x[i - 1]) * b->ocv_slope[i]) / (INT64_C(1) << 32));
}

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* uniform in -max..max */
static int32_t rng_spread(uint32_t *s, int32_t max)
{
    if (max <= 0)
        return 0;
    return (int32_t)((int64_t)(rng_next(s) % (uint32_t)(2 * max + 1)) - max);
}

static int32_t clamp32(int64_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

/* a x b, saturated at the int64 range: parameters from a file must not overflow the model */
static inline int64_t mul_sat(int64_t a, int64_t b)
{
    /* both below 2^31 in magnitude: the product fits (the common case, no division);
     * no compiler builtin: 32-bit targets would need a runtime library call for it */
    if (a > -INT32_MAX && a < INT32_MAX && b > -INT32_MAX && b < INT32_MAX)
        return a * b;
    if (a == 0 || b == 0)
        return 0;
    {
        uint64_t ua = a < 0 ? (uint64_t)(-(a + 1)) + 1u : (uint64_t)a;
        uint64_t ub = b < 0 ? (uint64_t)(-(b + 1)) + 1u : (uint64_t)b;
        if (ub != 0 && ua > (uint64_t)INT64_MAX / ub)
            return (a > 0) == (b > 0) ? INT64_MAX : INT64_MIN;
    }
    return a * b;
}

static void emit(bl_bsim_t *b, uint8_t kind, int32_t a, int32_t v)
{
    bl_sim_event_t e;
    if (b->on_event == NULL)
        return;
    memset(&e, 0, sizeof e);
    e.t_ms = b->now_ms;
    e.kind = kind;
    e.a = a;
    e.b = v;
    b->on_event(b->ev_ctx, &e);
}

/* Resistance factor at a temperature, ppm of the 25 °C value: rises below 25 °C. */
static int32_t rfac_at(const bl_bsim_t *b, int32_t t_mdegC)
{
    int64_t cold = 25000 - (int64_t)t_mdegC;
    if (cold <= 0)
        return 1000000;
    return clamp32(1000000 + (int64_t)b->prm.r_cold_ppm_per_degC * cold / 1000, 1000000, 100000000);
}

static int32_t soc_of(int64_t q, int64_t cap)
{
    return cap > 0 ? clamp32(mul_sat(q, MPCT_FULL) / cap, -MPCT_FULL, 2 * MPCT_FULL) : 0;
}

/* The same with the reciprocal of cell k (hot path). */
static int32_t cell_soc(const bl_bsim_t *b, unsigned k)
{
    return clamp32(mul_sat(b->q_uC[k] / 1000, b->soc_inv[k]) / (INT64_C(1) << 32), -MPCT_FULL, 2 * MPCT_FULL);
}

/* ---- init ------------------------------------------------------------------ */

int bl_bsim_init(bl_bsim_t *b, const bl_bsim_params_t *p, int32_t soc_mpct, int32_t ambient_mdegC,
                 uint64_t now_ms)
{
    uint32_t seed;
    int64_t nominal;

    if (bl_bsim_check(p) != NULL)
        return BL_EINVAL;
    memset(b, 0, sizeof *b);
    b->prm = *p;
    b->now_ms = now_ms;
    b->groups = (uint8_t)groups_of(p->cells);
    b->per_group = (uint16_t)(p->cells / b->groups);
    b->ov_cell = -1;
    seed = p->seed ? p->seed : 1u;
    soc_mpct = clamp32(soc_mpct, 0, MPCT_FULL);
    nominal = (int64_t)p->capacity_mAh * UC_PER_MAH;
    for (unsigned k = 0; k < b->groups; k++) {
        int32_t dcap = rng_spread(&seed, p->spread_capacity_ppm);
        int32_t dsoc = rng_spread(&seed, p->spread_soc_ppm);
        int32_t dr = rng_spread(&seed, p->spread_r_ppm);
        int64_t soc_ppm;
        b->cap_uC[k] = nominal + nominal * dcap / 1000000;
        soc_ppm = (int64_t)soc_mpct * 10 + dsoc;
        if (soc_ppm < 0)
            soc_ppm = 0;
        /* split so 10000 Ah x 1e6 ppm does not overflow */
        b->q_uC[k] = b->cap_uC[k] / 1000000 * soc_ppm + b->cap_uC[k] % 1000000 * soc_ppm / 1000000;
        b->r_uohm[k] = p->r_cell_uohm + (int32_t)((int64_t)p->r_cell_uohm * dr / 1000000);
        b->toff_mdegC[k] = rng_spread(&seed, p->spread_temp_mdegC);
        /* rounded up, so a cell exactly at a table point reads that point */
        b->soc_inv[k] = (((int64_t)MPCT_FULL << 32) + b->cap_uC[k] / 1000 - 1) / (b->cap_uC[k] / 1000);
        b->r25_sum_uohm += (int64_t)b->r_uohm[k] * b->per_group;
    }
    slopes(&p->ocv, b->ocv_slope);
    slopes(&p->ccl_soc, b->der_slope[0]);
    slopes(&p->ccl_cell, b->der_slope[1]);
    slopes(&p->ccl_temp, b->der_slope[2]);
    slopes(&p->dcl_soc, b->der_slope[3]);
    slopes(&p->dcl_cell, b->der_slope[4]);
    slopes(&p->dcl_temp, b->der_slope[5]);
    b->soc_inv_nominal = (((int64_t)MPCT_FULL << 32) + nominal / 1000 - 1) / (nominal / 1000);
    b->temp_udegC = (int64_t)ambient_mdegC * 1000;
    b->ambient_mdegC = ambient_mdegC;
    b->rfac_ppm = rfac_at(b, ambient_mdegC);
    b->est_uC = nominal * soc_mpct / MPCT_FULL;
    b->below_full_since_ms = now_ms;
    b->tail_since_ms = BL_NEVER;
    for (unsigned i = 0; i < p->nprot; i++)
        b->ps[i].warn_since = b->ps[i].trip_since = BL_NEVER;
    (void)bl_bsim_step(b, 0, now_ms); /* measure and derate at the start */
    return 0;
}

/* ---- step: physics ----------------------------------------------------------- */

static void flow(bl_bsim_t *b, int32_t i_mA, uint64_t dt_ms, uint32_t balance_mask)
{
    int64_t dq = (int64_t)i_mA * (int64_t)dt_ms;
    int64_t bleed = (int64_t)b->prm.balance_mA * (int64_t)dt_ms;
    int64_t meas;

    for (unsigned k = 0; k < b->groups; k++) {
        b->q_uC[k] += dq;
        if (balance_mask >> k & 1u) {
            b->q_uC[k] -= bleed;
            b->bleed_uC[k] += bleed;
        }
    }
    b->in_uC += dq;
    if (dq < 0)
        b->discharged_uC -= dq;

    /* what the BMS's sensor says flowed: gain error and offset make it drift */
    meas = (int64_t)i_mA + (int64_t)i_mA * b->prm.sensor_gain_ppm / 1000000 + b->prm.sensor_offset_mA;
    b->est_uC += meas * (int64_t)dt_ms;
    {
        int64_t nominal = (int64_t)b->prm.capacity_mAh * UC_PER_MAH;
        if (b->est_uC < 0)
            b->est_uC = 0;
        if (b->est_uC > nominal)
            b->est_uC = nominal;
    }
}

static void heat(bl_bsim_t *b, int32_t i_mA, uint64_t dt_ms)
{
    int64_t r_pack = b->r25_sum_uohm * b->rfac_ppm / 1000000;

    while (dt_ms > 0) {
        uint64_t d = dt_ms > THERMAL_CHUNK_MS ? THERMAL_CHUNK_MS : dt_ms;
        /* (mA)^2 x µΩ = 1e-12 W: / 1e9 gives mW */
        int64_t p_mW = mul_sat((int64_t)i_mA * i_mA / 1000, r_pack) / 1000000;
        int64_t loss_mW = mul_sat(b->temp_udegC - (int64_t)b->ambient_mdegC * 1000, b->prm.cooling_mW_per_K) / 1000000;
        /* mW x ms = µJ; µJ / (J/K) = µK; a pack past 1000 °C has left the model */
        b->temp_udegC += mul_sat(p_mW - loss_mW, (int64_t)d) / b->prm.heat_capacity_J_per_K;
        if (b->temp_udegC > TEMP_MAX_uC)
            b->temp_udegC = TEMP_MAX_uC;
        if (b->temp_udegC < -TEMP_MAX_uC)
            b->temp_udegC = -TEMP_MAX_uC;
        dt_ms -= d;
    }
}

/* ---- step: measurement ------------------------------------------------------------ */

static void measure(bl_bsim_t *b)
{
    int32_t t = (int32_t)(b->temp_udegC / 1000);
    int64_t v = 0;
    int32_t cmin = INT32_MAX, cmax = INT32_MIN, tmin = INT32_MAX, tmax = INT32_MIN;
    int64_t i_eff; /* current x resistance factor: one multiplication per cell below */

    b->rfac_ppm = rfac_at(b, t);
    i_eff = (int64_t)b->i_mA * b->rfac_ppm / 1000000;
    if (b->ov_temp)
        t = b->ov_temp_mdegC;
    for (unsigned k = 0; k < b->groups; k++) {
        int32_t ocv = ocv_at(b, cell_soc(b, k), &b->ocv_i[k]);
        /* mA x µΩ = nV: / 1e6 gives mV */
        int32_t ir = clamp32(mul_sat(i_eff, b->r_uohm[k]) / 1000000, -1000000, 1000000);
        int32_t mv = ocv + ir;
        int32_t tk = t + b->toff_mdegC[k];
        if ((int)k == b->ov_cell)
            mv = b->ov_cell_mV;
        b->cell_mV[k] = mv;
        v += (int64_t)mv * b->per_group;
        cmin = mv < cmin ? mv : cmin;
        cmax = mv > cmax ? mv : cmax;
        tmin = tk < tmin ? tk : tmin;
        tmax = tk > tmax ? tk : tmax;
    }
    b->v_mV = clamp32(v, INT32_MIN, INT32_MAX);
    b->cell_min_mV = cmin;
    b->cell_max_mV = cmax;
    b->temp_min_mdegC = tmin;
    b->temp_max_mdegC = tmax;
}

/* The counter as SOC, without a division (the reciprocal is rounded up like the cells'). */
static int32_t est_soc(const bl_bsim_t *b)
{
    return clamp32(mul_sat(b->est_uC / 1000, b->soc_inv_nominal) / (INT64_C(1) << 32), 0, MPCT_FULL);
}

static void recalibrate(bl_bsim_t *b)
{
    int64_t nominal = (int64_t)b->prm.capacity_mAh * UC_PER_MAH;
    int32_t before = est_soc(b);

    /* full: the highest cell at its full voltage while the charge current has tailed off */
    if (b->i_mA >= 0 && b->i_mA <= b->prm.tail_mA && b->cell_max_mV >= b->prm.full_cell_mV &&
        b->est_uC != nominal) {
        b->est_uC = nominal;
        emit(b, BL_EV_SOC_RECAL, before, MPCT_FULL);
    } else if (b->cell_min_mV <= b->prm.empty_cell_mV && b->est_uC != 0) {
        b->est_uC = 0;
        emit(b, BL_EV_SOC_RECAL, before, 0);
    }
    b->soc_mpct = est_soc(b);
}

/* Every quantity a protection row can watch, measured once per step. */
static void quantities(const bl_bsim_t *b, int32_t q[BL_BQ_COUNT])
{
    q[BL_BQ_CELL_V_MAX] = b->cell_max_mV;
    q[BL_BQ_CELL_V_MIN] = b->cell_min_mV;
    q[BL_BQ_PACK_V] = b->v_mV;
    q[BL_BQ_TEMP_MAX] = b->temp_max_mdegC;
    q[BL_BQ_TEMP_MIN] = b->temp_min_mdegC;
    q[BL_BQ_CHARGE_I] = b->i_mA > 0 ? b->i_mA : 0;
    q[BL_BQ_DISCHARGE_I] = b->i_mA < 0 ? -b->i_mA : 0;
    q[BL_BQ_CELL_DELTA] = b->cell_max_mV - b->cell_min_mV;
}

/*
 * One level (warning or trip) of a protection: enter when beyond `enter` for
 * `delay_in`, leave when back past `leave` for `delay_out`. Returns 1 entered,
 * -1 left, 0 unchanged.
 */
static int level(uint8_t *on, uint64_t *since, bool above, int32_t v, int32_t enter, int32_t leave,
                 uint32_t delay_in, uint32_t delay_out, uint64_t now)
{
    bool want = *on ? (above ? v <= leave : v >= leave) : (above ? v > enter : v < enter);
    uint32_t delay = *on ? delay_out : delay_in;

    if (!want) {
        *since = BL_NEVER;
        return 0;
    }
    if (*since == BL_NEVER)
        *since = now;
    if (now - *since < delay)
        return 0;
    *since = BL_NEVER;
    *on = (uint8_t)!*on;
    return *on ? 1 : -1;
}

static void protect(bl_bsim_t *b)
{
    bl_alarm_mask_t warn = 0, trip = 0;
    uint8_t block = 0;
    int32_t q[BL_BQ_COUNT];

    quantities(b, q);
    for (unsigned i = 0; i < b->prm.nprot; i++) {
        const bl_bsim_prot_t *p = &b->prm.prot[i];
        bl_bsim_pstate_t *s = &b->ps[i];
        bool above = (p->flags & BL_BSIM_PF_ABOVE) != 0;
        int32_t v = q[p->qty];
        int r;

        if (p->flags & BL_BSIM_PF_WARN) {
            r = level(&s->warn, &s->warn_since, above, v, p->warn, p->warn_release, p->trip_delay_ms,
                      p->release_delay_ms, b->now_ms);
            if (r != 0)
                emit(b, r > 0 ? BL_EV_WARN_ON : BL_EV_WARN_OFF, p->alarm, v);
        }
        r = level(&s->trip, &s->trip_since, above, v, p->trip, p->release, p->trip_delay_ms,
                  p->release_delay_ms, b->now_ms);
        if (r > 0) {
            b->trips[p->alarm]++;
            emit(b, BL_EV_PROT_TRIP, p->alarm, v);
        } else if (r < 0) {
            emit(b, BL_EV_PROT_RELEASE, p->alarm, v);
        }
        if (s->warn)
            warn = (bl_alarm_mask_t)(warn | (1u << p->alarm));
        if (s->trip) {
            trip = (bl_alarm_mask_t)(trip | (1u << p->alarm));
            block = (uint8_t)(block | p->blocks);
        }
    }
    b->active[BL_AC_WARNING] = warn;
    b->active[BL_AC_ALARM] = trip;
    b->active[BL_AC_PROTECTION] = trip;
    b->block = block;
}

static int32_t min4(int32_t a, int32_t b, int32_t c, int32_t d)
{
    int32_t m = a < b ? a : b;
    m = m < c ? m : c;
    return m < d ? m : d;
}

/* Limits the BMS sends, floored to 0.1 A so the wire carries exactly what the
 * BMS allows on every 0.1 A protocol. */
static void derate(bl_bsim_t *b)
{
    const bl_bsim_params_t *p = &b->prm;
    int64_t(*s)[BL_BSIM_CURVE_MAX] = b->der_slope;
    int32_t fc = min4(curve_q32(&p->ccl_soc, s[0], b->soc_mpct), curve_q32(&p->ccl_cell, s[1], b->cell_max_mV),
                      curve_q32(&p->ccl_temp, s[2], b->temp_min_mdegC), curve_q32(&p->ccl_temp, s[2], b->temp_max_mdegC));
    int32_t fd = min4(curve_q32(&p->dcl_soc, s[3], b->soc_mpct), curve_q32(&p->dcl_cell, s[4], b->cell_min_mV),
                      curve_q32(&p->dcl_temp, s[5], b->temp_min_mdegC), curve_q32(&p->dcl_temp, s[5], b->temp_max_mdegC));

    fc = clamp32(fc, 0, 1000);
    fd = clamp32(fd, 0, 1000);
    b->ccl_mA = (int32_t)((int64_t)p->ccl_max_mA * fc / 1000 / 100 * 100);
    b->dcl_mA = (int32_t)((int64_t)p->dcl_max_mA * fd / 1000 / 100 * 100);
    if (b->block & BL_BSIM_BLOCK_CHARGE)
        b->ccl_mA = 0;
    if (b->block & BL_BSIM_BLOCK_DISCHARGE)
        b->dcl_mA = 0;
    b->cvl_mV = p->cvl_cell_mV * p->cells;
    b->dvl_mV = p->dvl_cell_mV * p->cells;
}

static void flags(bl_bsim_t *b)
{
    const bl_bsim_params_t *p = &b->prm;
    uint8_t fc = b->force_charge, full = b->full_charge_req;

    /* force charge I (Pylontech V1.2): set at low SOC, cleared with hysteresis */
    if (b->soc_mpct <= p->force_charge_on_mpct)
        fc = 1;
    else if (b->soc_mpct >= p->force_charge_off_mpct)
        fc = 0;
    /* full-charge request: SOC has not reached 97 % for 30 days; cleared at 97 % */
    if (b->soc_mpct >= p->full_charge_soc_mpct) {
        full = 0;
        b->below_full_since_ms = b->now_ms;
    } else if (p->full_charge_after_ms && b->now_ms - b->below_full_since_ms >= p->full_charge_after_ms) {
        full = 1;
    }
    if (fc != b->force_charge)
        emit(b, BL_EV_FLAG, BL_F_FORCE_CHARGE, fc);
    if (full != b->full_charge_req)
        emit(b, BL_EV_FLAG, BL_F_FULL_CHARGE_REQ, full);
    b->force_charge = fc;
    b->full_charge_req = full;
}

/* Passive balancing: bleed the cells that stand out at the top of charge. */
static uint32_t balance_mask(bl_bsim_t *b)
{
    uint32_t m = 0;
    if (b->i_mA < 0 || b->prm.balance_mA <= 0)
        return 0;
    for (unsigned k = 0; k < b->groups; k++)
        if (b->cell_mV[k] >= b->prm.balance_start_mV && b->cell_mV[k] - b->cell_min_mV >= b->prm.balance_delta_mV)
            m |= 1u << k;
    b->balancing = m != 0;
    return m;
}

int32_t bl_bsim_step(bl_bsim_t *b, int32_t request_mA, uint64_t now_ms)
{
    uint64_t dt = now_ms > b->now_ms ? now_ms - b->now_ms : 0;
    int32_t i = request_mA;
    uint32_t bal = balance_mask(b);
    int64_t imax = (int64_t)b->prm.capacity_mAh * C_RATE_MAX;

    if (i > imax || i < -imax)
        i = (int32_t)(i > 0 ? imax : -imax);
    if ((b->block & BL_BSIM_BLOCK_CHARGE) && i > 0)
        i = 0;
    if ((b->block & BL_BSIM_BLOCK_DISCHARGE) && i < 0)
        i = 0;
    if (i != request_mA)
        b->blocked_steps++;
    if (dt > 0) {
        flow(b, i, dt, bal);
        heat(b, i, dt);
        b->now_ms = now_ms;
    }
    b->i_mA = i;
    measure(b);
    recalibrate(b);
    protect(b);
    derate(b);
    flags(b);
    return i;
}

int32_t bl_bsim_voltage_at(const bl_bsim_t *b, int32_t i_mA)
{
    int64_t r = b->r25_sum_uohm * b->rfac_ppm / 1000000;
    return (int32_t)(b->v_mV + ((int64_t)i_mA - b->i_mA) * r / 1000000);
}

int32_t bl_bsim_true_soc(const bl_bsim_t *b)
{
    int64_t q = 0, cap = 0;
    for (unsigned k = 0; k < b->groups; k++) {
        q += b->q_uC[k];
        cap += b->cap_uC[k];
    }
    return soc_of(q, cap);
}

void bl_bsim_override_cell(bl_bsim_t *b, int k, int32_t mV)
{
    b->ov_cell = (int8_t)(k >= 0 && k < b->groups ? k : -1);
    b->ov_cell_mV = mV;
}

void bl_bsim_override_temp(bl_bsim_t *b, bool on, int32_t mdegC)
{
    b->ov_temp = on ? 1 : 0;
    b->ov_temp_mdegC = mdegC;
}

void bl_bsim_record(const bl_bsim_t *b, bl_record_t *r, uint64_t now_ms)
{
    const bl_bsim_params_t *p = &b->prm;
    int64_t meas = (int64_t)b->i_mA + (int64_t)b->i_mA * p->sensor_gain_ppm / 1000000 + p->sensor_offset_mA;
    int64_t tsum = 0;
    uint32_t cycles = (uint32_t)(b->discharged_uC / ((int64_t)p->capacity_mAh * UC_PER_MAH));
    int32_t t = b->ov_temp ? b->ov_temp_mdegC : (int32_t)(b->temp_udegC / 1000);
    const struct {
        uint8_t id, dec;
        int32_t v;
    } vals[] = {
        { BL_F_SOC, 3, b->soc_mpct },
        { BL_F_SOH, 3, p->soh_mpct },
        { BL_F_VOLTAGE, 3, b->v_mV },
        { BL_F_CURRENT, 3, clamp32(meas, INT32_MIN, INT32_MAX) },
        { BL_F_TEMP, 1, 0 },
        { BL_F_TEMP_MIN, 1, b->temp_min_mdegC },
        { BL_F_TEMP_MAX, 1, b->temp_max_mdegC },
        { BL_F_CELL_V_MIN, 3, b->cell_min_mV },
        { BL_F_CELL_V_MAX, 3, b->cell_max_mV },
        { BL_F_CVL, 3, b->cvl_mV },
        { BL_F_CCL, 1, b->ccl_mA },
        { BL_F_DCL, 1, b->dcl_mA },
        { BL_F_DVL, 3, b->dvl_mV },
        { BL_F_CHARGE_ENABLE, 0, b->ccl_mA > 0 },
        { BL_F_DISCHARGE_ENABLE, 0, b->dcl_mA > 0 },
        { BL_F_FORCE_CHARGE, 0, b->force_charge },
        { BL_F_FULL_CHARGE_REQ, 0, b->full_charge_req },
        { BL_F_MODULE_COUNT, 0, p->modules },
        { BL_F_CAPACITY, 0, p->capacity_mAh },
        { BL_F_CYCLE_COUNT, 0, (int32_t)cycles },
    };

    for (unsigned k = 0; k < b->groups; k++)
        tsum += t + b->toff_mdegC[k];
    for (unsigned i = 0; i < BL_ARRAY_LEN(vals); i++) {
        bl_field_t *f = &r->f[vals[i].id]; /* what bl_record_set does, inline: this runs every step */
        f->value = vals[i].v;
        f->valid = 1;
        f->dec = vals[i].dec;
        f->seen_ms = now_ms;
    }
    r->f[BL_F_TEMP].value = (int32_t)(tsum / b->groups);
    /* identity never changes: copy it once, then only refresh its time */
    if (!r->f[BL_F_MANUFACTURER].valid || !r->f[BL_F_MODEL].valid || !r->f[BL_F_FIRMWARE].valid) {
        bl_record_set_str(r, BL_F_MANUFACTURER, p->manufacturer, strlen(p->manufacturer), now_ms);
        bl_record_set_str(r, BL_F_MODEL, p->model, strlen(p->model), now_ms);
        bl_record_set_str(r, BL_F_FIRMWARE, p->firmware, strlen(p->firmware), now_ms);
    }
    r->f[BL_F_MANUFACTURER].seen_ms = r->f[BL_F_MODEL].seen_ms = r->f[BL_F_FIRMWARE].seen_ms = now_ms;
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        r->active[c] = b->active[c];
        r->known[c] = BL_A_ALL;
        r->alarm_seen_ms[c] = now_ms;
    }
}
