/*
 * Scenarios and fault injection (include/bmslink/faults.h): the built-in day,
 * profiles over time, and the events in force applied to the battery
 * simulator, its record and its frames.
 */
#include "bmslink/faults.h"

#include <string.h>

static const char *const kind_names[BL_SE_COUNT] = {
    [BL_SE_COMM_LOSS] = "comm_loss",
    [BL_SE_FROZEN_FIELD] = "frozen_field",
    [BL_SE_STALE_FIELD] = "stale_field",
    [BL_SE_WRONG_SIGN] = "wrong_current_sign",
    [BL_SE_SCALING] = "scaling_error",
    [BL_SE_CELL_OV] = "cell_over_voltage",
    [BL_SE_OVER_TEMP] = "over_temperature",
    [BL_SE_ALARM_BURST] = "alarm_burst",
    [BL_SE_BUS_OFF] = "bus_off",
    [BL_SE_WRONG_BITRATE] = "wrong_bitrate",
    [BL_SE_SETTING] = "setting",
    [BL_SE_FIRMWARE] = "firmware",
    [BL_SE_SIGNAL] = "signal",
    [BL_SE_GRID] = "grid_loss",
};

const char *bl_scn_kind_str(unsigned k)
{
    return k < BL_SE_COUNT ? kind_names[k] : "unknown";
}

unsigned bl_scn_kind_by_name(const char *name)
{
    for (unsigned i = 0; i < BL_SE_COUNT; i++)
        if (strcmp(kind_names[i], name) == 0)
            return i;
    return BL_SE_COUNT;
}


/* ---- scenario defaults and profiles --------------------------------------------------------- */

#define H(x) ((uint64_t)(x) * 3600000u)
#define DAY_MS UINT64_C(86400000)

static void profile_set(bl_scn_profile_t *p, const uint64_t *at, const int32_t *v, unsigned n)
{
    p->n = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        p->at_ms[i] = at[i];
        p->v[i] = v[i];
    }
}

void bl_scn_defaults(bl_scenario_t *s)
{
    /* a clear day on a 5 kWp array; a household with morning and evening peaks */
    static const uint64_t pv_at[] = { H(0), H(6), H(8), H(10), H(12), H(14), H(16), H(18), H(20) };
    static const int32_t pv_w[] = { 0, 0, 1500, 3800, 5000, 4600, 3000, 900, 0 };
    static const uint64_t ld_at[] = { H(0), H(6), H(7), H(9), H(12), H(17), H(18), H(21), H(23), H(24) };
    static const int32_t ld_w[] = { 300, 300, 1500, 600, 800, 900, 2500, 2000, 500, 300 };
    static const uint64_t amb_at[] = { H(0), H(6), H(15), H(24) };
    static const int32_t amb_m[] = { 20000, 19000, 26000, 20000 };

    memset(s, 0, sizeof *s);
    memcpy(s->name, "built-in day", 13);
    s->start_soc_mpct = 50000;
    s->grid = 1;
    s->daily = 1;
    s->step_ms = 1000;
    profile_set(&s->pv, pv_at, pv_w, (unsigned)BL_ARRAY_LEN(pv_at));
    profile_set(&s->load, ld_at, ld_w, (unsigned)BL_ARRAY_LEN(ld_at));
    profile_set(&s->ambient, amb_at, amb_m, (unsigned)BL_ARRAY_LEN(amb_at));
    bl_bsim_defaults(&s->battery, 16, 200000);
    s->battery.modules = 2;
    memcpy(s->battery.model, "SIM-16S-200AH", 14);
}

int32_t bl_scn_profile_at(const bl_scn_profile_t *p, uint64_t t_ms, bool daily)
{
    unsigned i;
    if (p->n == 0)
        return 0;
    if (daily)
        t_ms %= DAY_MS;
    if (t_ms <= p->at_ms[0])
        return p->v[0];
    for (i = 1; i < p->n; i++)
        if (t_ms <= p->at_ms[i]) {
            uint64_t span = p->at_ms[i] - p->at_ms[i - 1];
            int64_t dv = (int64_t)p->v[i] - p->v[i - 1];
            if (span == 0)
                return p->v[i];
            return p->v[i - 1] + (int32_t)(dv * (int64_t)(t_ms - p->at_ms[i - 1]) / (int64_t)span);
        }
    return p->v[p->n - 1];
}

/* ---- events in force ---------------------------------------------------------------------- */

void bl_faults_init(bl_faults_t *f, const bl_scenario_t *scn, bl_bsim_t *bat)
{
    memset(f, 0, sizeof *f);
    f->scn = scn;
    f->bat = bat;
    f->next_ms = 0;
}

static void emit(const bl_faults_t *f, uint64_t t, uint8_t kind, int32_t a, int32_t b)
{
    bl_sim_event_t e;
    if (f->on_event == NULL)
        return;
    memset(&e, 0, sizeof e);
    e.t_ms = t;
    e.kind = kind;
    e.a = a;
    e.b = b;
    f->on_event(f->ev_ctx, &e);
}

static uint8_t count(uint8_t c, bool on)
{
    return (uint8_t)(on ? c + 1 : c - 1);
}

static void apply(bl_faults_t *f, unsigned i, bool on, const bl_record_t *rec)
{
    const bl_scn_event_t *e = &f->scn->ev[i];

    switch (e->kind) {
    case BL_SE_COMM_LOSS:
        f->comm_loss = count(f->comm_loss, on);
        if (e->a)
            f->comm_loss_both = count(f->comm_loss_both, on);
        break;
    case BL_SE_FROZEN_FIELD:
    case BL_SE_STALE_FIELD: {
        uint32_t bit = (uint32_t)BL_BIT(e->field);
        uint32_t *mask = e->kind == BL_SE_FROZEN_FIELD ? &f->frozen_mask : &f->stale_mask;
        if (on) {
            *mask |= bit;
            f->frozen[e->field] = rec->f[e->field];
        } else {
            *mask &= ~bit;
        }
        break;
    }
    case BL_SE_WRONG_SIGN: f->wrong_sign = count(f->wrong_sign, on); break;
    case BL_SE_CELL_OV:
        if (f->bat != NULL)
            bl_bsim_override_cell(f->bat, on ? e->a : -1, e->b);
        break;
    case BL_SE_OVER_TEMP:
        if (f->bat != NULL)
            bl_bsim_override_temp(f->bat, on, e->a);
        break;
    case BL_SE_BUS_OFF: f->bus_off = count(f->bus_off, on); break;
    case BL_SE_WRONG_BITRATE: f->bitrate = on ? (uint32_t)e->a : 0; break;
    case BL_SE_GRID: f->grid_lost = count(f->grid_lost, on); break;
    case BL_SE_SETTING:
    case BL_SE_FIRMWARE:
        if (f->apply != NULL)
            f->apply(f->apply_ctx, e, i, on);
        break;
    default: break; /* SCALING, SIGNAL, ALARM_BURST act while active[] is set */
    }
}

/* Is event e in force at t, and when does that next change? */
static bool in_force(const bl_scn_event_t *e, uint64_t t, uint64_t *change)
{
    uint64_t end = e->for_ms ? e->at_ms + e->for_ms : BL_NEVER;

    if (t < e->at_ms) {
        *change = e->at_ms;
        return false;
    }
    if (t >= end) {
        *change = BL_NEVER;
        return false;
    }
    *change = end;
    if (e->kind == BL_SE_ALARM_BURST) {
        uint64_t k = (t - e->at_ms) / e->period_ms, phase = (t - e->at_ms) % e->period_ms;
        uint64_t on = e->on_ms ? e->on_ms : e->period_ms / 2u;
        if (e->count && k >= e->count) {
            *change = BL_NEVER;
            return false;
        }
        if (phase < on) {
            *change = t - phase + on;
            return true;
        }
        *change = t - phase + e->period_ms;
        return false;
    }
    return true;
}

void bl_faults_step(bl_faults_t *f, uint64_t t, const bl_record_t *rec)
{
    uint64_t next = BL_NEVER;
    uint8_t wire = 0;

    if (t < f->next_ms)
        return;
    for (unsigned i = 0; i < f->scn->nev; i++) {
        const bl_scn_event_t *e = &f->scn->ev[i];
        uint64_t change;
        bool want = in_force(e, t, &change);
        if (want != (f->active[i] != 0)) {
            f->active[i] = want;
            apply(f, i, want, rec);
            emit(f, t, want ? BL_EV_SCENARIO : BL_EV_SCENARIO_END, e->kind, (int32_t)i);
        }
        if (f->active[i] && (e->kind == BL_SE_SCALING || e->kind == BL_SE_SIGNAL))
            wire = 1;
        if (change < next)
            next = change;
    }
    f->wire = (uint8_t)(wire || f->wrong_sign);
    f->next_ms = next;
}

void bl_faults_record(const bl_faults_t *f, const bl_record_t *in, bl_record_t *out, uint64_t t)
{
    *out = *in;
    for (uint32_t m = f->frozen_mask | f->stale_mask; m; m &= m - 1u) {
        unsigned k = 0;
        while (!((m >> k) & 1u))
            k++;
        if (f->frozen_mask >> k & 1u) {
            out->f[k].value = f->frozen[k].value;
            out->f[k].valid = f->frozen[k].valid;
            out->f[k].seen_ms = t; /* a stuck value that still looks fresh */
        }
        if (f->stale_mask >> k & 1u)
            out->f[k] = f->frozen[k]; /* not updated since the fault began */
    }
    for (unsigned i = 0; i < f->scn->nev; i++) {
        const bl_scn_event_t *e = &f->scn->ev[i];
        if (f->active[i] && e->kind == BL_SE_ALARM_BURST) {
            out->active[e->aclass] |= e->alarms;
            out->known[e->aclass] |= e->alarms;
        }
    }
}

/* Wire-level faults: a sign or unit bug in the battery's firmware, a forced raw value. */
void bl_faults_wire(const bl_faults_t *f, const bl_can_codec_t *c, bl_can_frame_t *fr)
{
    const bl_scenario_t *scn = f->scn;
    const bl_message_t *m;

    if (!f->wire || (m = bl_can_lookup(c, fr, NULL)) == NULL)
        return;
    for (unsigned r = 0; r < m->nsigs; r++) {
        bl_signal_t sg;
        uint64_t raw;
        bl_can_sig(c, m, r, &sg);
        /* sign and unit bugs act on numbers; a forced raw value on any row (alarm bits, version
         * bytes, enums) -- validate's tests silence alarm bits and fake versions with it */
        if (bl_sig_raw_get(&sg, fr->data, fr->len, &raw) < 0)
            continue;
        if (f->wrong_sign && sg.kind == BL_SK_NUM && sg.field == BL_F_CURRENT) {
            int64_t milli = bl_sig_to_milli(&sg, bl_sig_raw_value(&sg, raw)), r2;
            (void)bl_sig_from_milli(&sg, -milli, &r2);
            raw = (uint64_t)r2;
        }
        for (unsigned i = 0; i < scn->nev; i++) {
            const bl_scn_event_t *e = &scn->ev[i];
            if (!f->active[i])
                continue;
            if (e->kind == BL_SE_SCALING && sg.kind == BL_SK_NUM && sg.field == e->field)
                raw = (uint64_t)((int64_t)bl_sig_raw_value(&sg, raw) * e->a / e->b); /* wraps like the bug */
            if (e->kind == BL_SE_SIGNAL && strcmp(sg.name, e->name) == 0)
                raw = (uint64_t)(int64_t)e->a;
        }
        (void)bl_sig_raw_put(&sg, fr->data, fr->len, raw);
    }
}
