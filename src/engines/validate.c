/*
 * The validation judge (include/bmslink/validate.h): one pass over a session's
 * samples, each check kept as a small state machine, and the verdicts with their
 * texts and evidence at the end. Nothing here knows whether the session was
 * simulated: a channel the session cannot provide is NULL, and the checks that need
 * it say so.
 */
#include "bmslink/validate.h"

#include <string.h>

/* ---- names ------------------------------------------------------------------------------------ */

static const char *const check_names[BL_VC_COUNT] = {
    "detect", "soc", "voltage", "current", "temperature", "charge_limits", "discharge_limits",
    "alarms", "protection", "comm_loss", "firmware", "settings",
};

const char *bl_val_check_str(unsigned id)
{
    return id < BL_VC_COUNT ? check_names[id] : "unknown";
}

unsigned bl_val_check_by_name(const char *name)
{
    for (unsigned i = 0; i < BL_VC_COUNT; i++)
        if (strcmp(check_names[i], name) == 0)
            return i;
    return BL_VC_COUNT;
}

const char *bl_val_status_str(unsigned s)
{
    static const char *const n[] = { "pass", "fail", "skip" };
    return s <= BL_VS_SKIP ? n[s] : "skip";
}

bool bl_val_check_critical(unsigned id)
{
    return id == BL_VC_DETECT || id == BL_VC_CHARGE_LIMITS || id == BL_VC_DISCHARGE_LIMITS ||
           id == BL_VC_PROTECTION || id == BL_VC_COMM_LOSS;
}

/* ---- text without printf ---------------------------------------------------------------------- */

typedef struct {
    char *b;
    size_t cap, n;
} txt_t;

static void t_init(txt_t *t, char *b, size_t cap)
{
    t->b = b;
    t->cap = cap;
    t->n = 0;
    b[0] = '\0';
}

static void t_str(txt_t *t, const char *s)
{
    while (*s != '\0' && t->n + 1 < t->cap)
        t->b[t->n++] = *s++;
    t->b[t->n] = '\0';
}

static void t_u(txt_t *t, uint64_t u)
{
    char d[24];
    size_t k = 0;
    do {
        d[k++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u != 0 && k < sizeof d);
    while (k > 0 && t->n + 1 < t->cap)
        t->b[t->n++] = d[--k];
    t->b[t->n] = '\0';
}

/* milli-units with dec decimals, rounded half away from zero */
static void t_milli(txt_t *t, int64_t m, unsigned dec)
{
    static const int64_t div[] = { 1000, 100, 10, 1 };
    int64_t d = div[dec > 3 ? 3 : dec], a = m < 0 ? -m : m, q = (a + d / 2) / d;
    int64_t scale = 1000 / d;
    if (m < 0 && q != 0)
        t_str(t, "-");
    t_u(t, (uint64_t)(q / scale));
    if (dec > 0) {
        char frac[4];
        int64_t f = q % scale;
        for (unsigned k = dec; k-- > 0;) {
            frac[k] = (char)('0' + f % 10);
            f /= 10;
        }
        frac[dec > 3 ? 3 : dec] = '\0';
        t_str(t, ".");
        t_str(t, frac);
    }
}

/* session time as HH:MM:SS */
static void t_clock(txt_t *t, uint64_t ms)
{
    uint64_t s = ms / 1000u;
    char b[9];
    uint64_t h = s / 3600u;
    if (h > 99)
        h = 99;
    b[0] = (char)('0' + h / 10u);
    b[1] = (char)('0' + h % 10u);
    b[2] = ':';
    b[3] = (char)('0' + s / 60u % 60u / 10u);
    b[4] = (char)('0' + s / 60u % 10u);
    b[5] = ':';
    b[6] = (char)('0' + s % 60u / 10u);
    b[7] = (char)('0' + s % 10u);
    b[8] = '\0';
    t_str(t, b);
}

static void t_secs(txt_t *t, uint64_t ms)
{
    t_milli(t, (int64_t)ms, ms % 1000u ? 1u : 0u);
    t_str(t, " s");
}

static unsigned field_dec(unsigned f)
{
    switch (f) {
    case BL_F_VOLTAGE:
    case BL_F_CVL:
    case BL_F_DVL: return 2;
    case BL_F_CELL_V_MIN:
    case BL_F_CELL_V_MAX: return 3;
    default: return 1;
    }
}

/* a value of field f with its unit: "53.21 V" */
static void t_val(txt_t *t, unsigned f, int32_t v)
{
    const bl_field_info_t *fi = bl_field_info(f);
    t_milli(t, v, field_dec(f));
    if (fi != NULL && fi->unit[0] != '\0') {
        t_str(t, " ");
        t_str(t, fi->unit);
    }
}

static void t_key(txt_t *t, unsigned f)
{
    const bl_field_info_t *fi = bl_field_info(f);
    t_str(t, fi != NULL ? fi->key : "?");
}

static void t_alarms(txt_t *t, bl_alarm_mask_t m)
{
    bool first = true;
    for (unsigned a = 0; a < BL_A_COUNT; a++)
        if (m >> a & 1u) {
            if (!first)
                t_str(t, ", ");
            t_str(t, bl_alarm_str(a));
            first = false;
        }
    if (first)
        t_str(t, "none");
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- the protocols' facts the judge needs --------------------------------------------------- */

static uint64_t tsess(const bl_val_t *v, uint64_t t_ms)
{
    return t_ms >= v->cfg.start_ms ? t_ms - v->cfg.start_ms : 0;
}

static bool carries(const bl_message_t *m, unsigned f)
{
    for (unsigned i = 0; i < m->nsigs; i++)
        if (m->sigs[i].field == f)
            return true;
    return false;
}

static bool carries_alarm(const bl_message_t *m, unsigned a)
{
    for (unsigned i = 0; i < m->nsigs; i++) {
        const bl_signal_t *s = &m->sigs[i];
        if ((s->kind == BL_SK_ALARM || s->kind == BL_SK_PAIR) && (s->alarm == a || (s->also >> a & 1u)))
            return true;
    }
    return false;
}

/* How often the battery's value of field f reaches the inverter: the fastest message
 * that carries it (its period, or the period of the poll it answers). */
static uint32_t field_period_ms(const bl_protocol_t *p, unsigned f)
{
    const bl_rs485_codec_t *rs = bl_rs_codec(p);
    bl_can_codec_t c;
    uint32_t best = 0;
    size_t nt;
    const bl_trigger_t *tr;

    if (bl_proto_root(p)->bus != BL_BUS_CAN)
        return rs != NULL && rs->poll_ms ? rs->poll_ms : 1000u;
    if (bl_can_codec_init(&c, p) < 0)
        return 1000u;
    tr = bl_proto_triggers(p, &nt);
    for (unsigned j = 0; j < c.n; j++) {
        const bl_message_t *m = c.msg[j];
        uint32_t per = m->period_ms;
        if (m->dir != BL_DIR_B2I || !c.sends[j] || (f < BL_F_COUNT ? !carries(m, f) : !carries_alarm(m, f - BL_F_COUNT)))
            continue;
        if (per == 0) /* on request: as often as a periodic poll asks for it */
            for (size_t i = 0; i < nt; i++)
                for (const uint32_t *r = tr[i].resp; r != NULL && *r; r++)
                    if (*r == m->id && tr[i].period_ms && (per == 0 || tr[i].period_ms < per))
                        per = tr[i].period_ms;
        if (per == 0)
            per = 10000u; /* event-driven: the CLI.md default staleness for a 1 s protocol */
        if (best == 0 || per < best)
            best = per;
    }
    return best ? best : 1000u;
}

/* Latency allowed for a value: two periods of its message and two control steps, at
 * least 3 s, within the history the judge keeps. */
static uint32_t latency_ms(const bl_val_t *v, uint32_t period)
{
    uint64_t l = 2u * (uint64_t)period + 2u * (uint64_t)v->cfg.step_ms;
    uint64_t cap = (uint64_t)(BL_VAL_HISTORY - 2) * v->cfg.step_ms;
    if (l < 3000u)
        l = 3000u;
    return (uint32_t)(l < cap ? l : cap);
}

/* The frame the inverter last decoded that carried field f (f >= BL_F_COUNT: alarm f - BL_F_COUNT). */
static bool evidence_frame(const bl_val_t *v, const bl_inv_t *inv, unsigned f, const char *what, bl_val_evidence_t *e)
{
    int best = -1;
    uint64_t t = 0;
    unsigned n = inv->rs != NULL ? inv->rs_n : inv->codec.n;
    for (unsigned j = 0; j < n && j < BL_CAN_MAX_MSGS; j++) {
        bool c;
        if (inv->heard_ms[j] == BL_NEVER)
            continue;
        if (inv->rs != NULL)
            c = f >= BL_F_COUNT ? true : (inv->rs_fields[j] >> f & 1u) != 0;
        else if (inv->codec.msg[j]->dir != BL_DIR_B2I)
            continue;
        else
            c = f == BL_F_NONE ? true : f >= BL_F_COUNT ? carries_alarm(inv->codec.msg[j], f - BL_F_COUNT)
                                                         : carries(inv->codec.msg[j], f);
        if (c && (best < 0 || inv->heard_ms[j] >= t)) {
            best = (int)j;
            t = inv->heard_ms[j];
        }
    }
    if (best < 0)
        return false;
    memset(e, 0, sizeof *e);
    e->t_ms = tsess(v, t);
    e->from = BL_SIDE_BATTERY;
    e->rs485 = inv->rs != NULL;
    e->frame = inv->last[best];
    copy_str(e->what, sizeof e->what, what);
    return true;
}

/* "<key> <value>" as an evidence label */
static void label(char *b, size_t cap, unsigned f, int32_t value)
{
    txt_t t;
    t_init(&t, b, cap);
    t_key(&t, f);
    t_str(&t, " ");
    t_val(&t, f, value);
}

static void add_ev(bl_val_evidence_t *arr, uint8_t *n, const bl_val_evidence_t *e)
{
    if (*n < 2)
        arr[(*n)++] = *e;
}

/* ---- the mapping, measured: what the battery's encoder puts on the wire and the inverter's
 * decoder reads back, one alarm and class at a time (the capability tables cannot say which
 * class an encoder sets a shared bit in, nor which commands an RS485 inverter polls) ---- */

static void probe_record(bl_record_t *r)
{
    static const struct {
        uint8_t f;
        int32_t v;
    } vals[] = {
        { BL_F_SOC, 50000 },       { BL_F_SOH, 98000 },       { BL_F_VOLTAGE, 52000 },  { BL_F_CURRENT, 10000 },
        { BL_F_TEMP, 25000 },      { BL_F_TEMP_MIN, 24000 },  { BL_F_TEMP_MAX, 26000 }, { BL_F_CELL_V_MIN, 3250 },
        { BL_F_CELL_V_MAX, 3260 }, { BL_F_CVL, 55200 },       { BL_F_CCL, 50000 },      { BL_F_DCL, 50000 },
        { BL_F_DVL, 44000 },       { BL_F_CHARGE_ENABLE, 1 }, { BL_F_DISCHARGE_ENABLE, 1 },
        { BL_F_FORCE_CHARGE, 0 },  { BL_F_FULL_CHARGE_REQ, 0 }, { BL_F_MODULE_COUNT, 2 }, { BL_F_CAPACITY, 200000 },
        { BL_F_CYCLE_COUNT, 10 },
    };
    bl_record_init(r);
    for (unsigned i = 0; i < BL_ARRAY_LEN(vals); i++)
        bl_record_set(r, vals[i].f, vals[i].v, 3, 0);
    bl_record_set_str(r, BL_F_MANUFACTURER, "PROBE", 5, 0);
    bl_record_set_str(r, BL_F_MODEL, "PROBE", 5, 0);
    bl_record_set_str(r, BL_F_FIRMWARE, "1.0", 3, 0);
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        r->known[c] = BL_A_ALL;
}

/* Every battery message of a CAN pair: encoded from rec, decoded by the inverter into out. */
static void probe_can(const bl_val_t *v, const bl_record_t *rec, bl_record_t *out)
{
    bl_can_codec_t enc, dec;
    if (bl_can_codec_init(&enc, v->cfg.battery) < 0 || bl_can_codec_init(&dec, v->cfg.profile->proto) < 0)
        return;
    for (unsigned j = 0; j < enc.n; j++) {
        const bl_message_t *m = enc.msg[j];
        if (m->dir != BL_DIR_B2I || !enc.sends[j])
            continue;
        for (unsigned mux = 0; mux < (m->nmux ? m->nmux : 1u); mux++) {
            bl_can_frame_t f;
            if (bl_can_encode(&enc, m, mux, rec, 0, 0, BL_ENC_CLAMP, &f, NULL) == 0)
                (void)bl_can_decode(&dec, &f, 0, out, NULL);
        }
    }
}

/* The same for a byte protocol: the inverter's polls answered by the battery's table. */
static void probe_rs(const bl_val_t *v, const bl_record_t *rec, bl_record_t *out)
{
    const bl_rs485_codec_t *ic = bl_rs_codec(v->cfg.profile->proto), *bc = bl_rs_codec(v->cfg.battery);
    const uint8_t *lists[2];
    bl_rs_session_t bs, is;
    uint8_t req[512], info[2048], ans[4200];

    if (ic == NULL || bc == NULL || bl_rs_session_init(&bs, v->cfg.battery) < 0 ||
        bl_rs_session_init(&is, v->cfg.profile->proto) < 0)
        return;
    lists[0] = ic->poll_once;
    lists[1] = ic->poll;
    for (unsigned l = 0; l < 2; l++)
        for (const uint8_t *k = lists[l]; k != NULL && *k; k++) {
            bl_rs_frame_t f;
            bl_rs_answer_t res;
            bl_rsr_t why = BL_RSR_NONE;
            int n = bl_rs_request(v->cfg.profile->proto, ic->addr_default, *k, false, req, sizeof req), len;
            if (n <= 0 || bl_rs_session_frame(&bs, req, (size_t)n, info, sizeof info, &f, &why) < 0)
                continue;
            len = bl_rs_answer(v->cfg.battery, bc->addr_default, &f, rec, 0, 0, ans, sizeof ans, &res);
            if (len <= 0)
                continue;
            /* the inverter's session saw its own request first, as on the line */
            (void)bl_rs_session_frame(&is, req, (size_t)n, info, sizeof info, &f, &why);
            if (bl_rs_session_frame(&is, ans, (size_t)len, info, sizeof info, &f, &why) < 0 || f.request ||
                f.rtn != 0 || f.msg == NULL)
                continue;
            (void)bl_rs_decode(ic, f.msg, f.pl, f.plen, f.group ? 1 : -1, 0, out, NULL, 0, NULL);
        }
}

static void probe(const bl_val_t *v, const bl_record_t *rec, bl_record_t *out)
{
    bl_record_init(out);
    if (bl_proto_root(v->cfg.battery)->bus != bl_proto_root(v->cfg.profile->proto)->bus)
        return;
    if (bl_proto_root(v->cfg.battery)->bus == BL_BUS_CAN)
        probe_can(v, rec, out);
    else
        probe_rs(v, rec, out);
}

static void probe_mapping(bl_val_t *v)
{
    bl_record_t rec, out;

    probe_record(&rec);
    probe(v, &rec, &out);
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
        if (out.f[f].valid)
            v->fields_carried |= (uint32_t)BL_BIT(f);
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        for (unsigned a = 0; a < BL_A_COUNT; a++) {
            probe_record(&rec);
            rec.active[c] = (bl_alarm_mask_t)(1u << a);
            probe(v, &rec, &out);
            if ((out.active[0] | out.active[1] | out.active[2]) >> a & 1u)
                v->carried[c] |= (bl_alarm_mask_t)(1u << a);
        }
}

/* ---- init ------------------------------------------------------------------------------------- */

enum { M_SOC = 0, M_VOLTAGE, M_CURRENT, M_TEMP, M_COUNT };
enum { SKIP_NONE = 0, SKIP_UNUSED, SKIP_NOT_SENT, SKIP_NOT_READ };

static const uint8_t meas_check[M_COUNT] = { BL_VC_SOC, BL_VC_VOLTAGE, BL_VC_CURRENT, BL_VC_TEMPERATURE };

static int32_t max32(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

static void meas_init(bl_val_t *v, unsigned k, unsigned f, int32_t base_tol)
{
    bl_val_meas_t *m = &v->meas[k];
    uint32_t uses = v->cfg.profile->uses;

    memset(m, 0, sizeof *m);
    m->field = (uint8_t)f;
    m->first_bad_ms = m->first_missing_ms = BL_NEVER;
    if (!(uses >> f & 1u))
        m->why = SKIP_UNUSED;
    else if (!(v->fields_carried & BL_BIT(f)))
        m->why = (v->caps_b.fields & BL_BIT(f)) ? SKIP_NOT_READ : SKIP_NOT_SENT;
    m->judge = m->why == SKIP_NONE;
    /* the wire rounds to the coarser step of the two tables: one full step, both ways */
    m->tol = base_tol + max32(v->caps_b.step[f], v->caps_i.step[f]);
    m->latency_ms = latency_ms(v, field_period_ms(v->cfg.battery, f));
}

/* Temperature: the first of the average, the hottest and the coldest that the inverter
 * uses and both tables carry. */
static unsigned temp_field(const bl_val_t *v)
{
    static const uint8_t cand[] = { BL_F_TEMP, BL_F_TEMP_MAX, BL_F_TEMP_MIN };
    uint32_t both = v->fields_carried;
    for (unsigned i = 0; i < sizeof cand; i++)
        if ((v->cfg.profile->uses >> cand[i] & 1u) && (both & BL_BIT(cand[i])))
            return cand[i];
    for (unsigned i = 0; i < sizeof cand; i++)
        if (v->cfg.profile->uses >> cand[i] & 1u)
            return cand[i];
    return BL_F_TEMP;
}

static bl_alarm_mask_t all_classes(const bl_alarm_mask_t *m)
{
    return (bl_alarm_mask_t)(m[BL_AC_ALARM] | m[BL_AC_WARNING] | m[BL_AC_PROTECTION]);
}

/* The inverter's patience with a silent battery, and whether it then stops battery power. */
static void safe_state_facts(bl_val_t *v)
{
    const bl_inv_profile_t *p = v->cfg.profile;
    uint32_t best = 0;
    bool stops = false;

    for (unsigned i = 0; i < p->ntimeouts; i++) {
        const bl_inv_timeout_t *t = &p->timeouts[i];
        bool zero_defaults = t->action == BL_INV_ACT_DEFAULTS || t->action == BL_INV_ACT_WARNING;
        for (unsigned k = 0; k < t->ndef && zero_defaults; k++)
            if ((t->def[k].field == BL_F_CCL || t->def[k].field == BL_F_DCL) && t->def[k].value != 0)
                zero_defaults = false;
        if (t->after_ms == 0)
            continue;
        if (best == 0 || t->after_ms < best)
            best = t->after_ms;
        if (t->action == BL_INV_ACT_STANDBY || t->action == BL_INV_ACT_FAULT || t->action == BL_INV_ACT_CUT_OUTPUT ||
            (zero_defaults && t->ndef > 0))
            stops = true;
    }
    for (unsigned i = 0; i < p->nquirks; i++)
        if (p->quirks[i].id == BL_QK_KEEPS_LAST_VALUES && p->quirks[i].fw_mask == 0)
            stops = false;
    v->has_safe_state = stops;
    /* no timeout in the profile: the data is stale after the protocol's timeout (CLI.md) */
    v->safe_after_ms = best ? best : bl_proto_timeout_ms(p->proto);
    v->detect_deadline_ms = best ? (best > 10000u ? best : 10000u) : BL_VAL_DETECT_MS;
}

int bl_val_init(bl_val_t *v, const bl_val_cfg_t *cfg)
{
    if (cfg == NULL || cfg->battery == NULL || cfg->profile == NULL || cfg->profile->proto == NULL ||
        cfg->step_ms == 0)
        return BL_EINVAL;
    memset(v, 0, sizeof *v);
    v->cfg = *cfg;
    bl_proto_caps_sent(cfg->battery, &v->caps_b);
    bl_proto_caps(cfg->profile->proto, &v->caps_i);
    probe_mapping(v);
    v->detected_ms = v->running_ms = BL_NEVER;
    v->now_ms = cfg->start_ms;
    meas_init(v, M_SOC, BL_F_SOC, BL_VAL_SOC_TOL_mPCT);
    meas_init(v, M_VOLTAGE, BL_F_VOLTAGE, 0); /* + a share of the reading, at compare time */
    meas_init(v, M_CURRENT, BL_F_CURRENT, BL_VAL_CURRENT_TOL_mA);
    meas_init(v, M_TEMP, temp_field(v), BL_VAL_TEMP_TOL_mDEGC);
    for (unsigned d = 0; d < 2; d++) {
        bl_val_limit_t *l = &v->lim[d];
        memset(l, 0, sizeof *l);
        l->over_since = l->v_over_since = BL_NEVER;
        l->first_fail_ms = BL_NEVER;
        l->allow_ms = BL_VAL_FOLLOW_MS + field_period_ms(cfg->battery, d == 0 ? BL_F_CCL : BL_F_DCL);
        v->prot_since[d] = v->prot_stopped[d] = BL_NEVER;
    }
    for (unsigned a = 0; a < BL_A_COUNT; a++)
        v->alarm_since[a] = BL_NEVER;
    v->alarm_first_miss_ms = BL_NEVER;
    v->alarm_latency_ms = latency_ms(v, field_period_ms(cfg->battery, BL_F_COUNT + BL_A_CELL_OV));
    v->stop_ms = BL_VAL_STOP_MS + field_period_ms(cfg->battery, BL_F_CCL);
    v->prot_first_fail_ms = v->prot_first_ms = BL_NEVER;
    v->alarm_first_ms = BL_NEVER;
    safe_state_facts(v);
    v->silent_since = v->safe_at = v->unsafe_again = BL_NEVER;
    v->loss_first_fail_ms = v->loss_first_ms = v->recover_ms = BL_NEVER;
    v->settings_first_ms = BL_NEVER;
    v->firmware_ms = BL_NEVER;
    return 0;
}

/* An alarm episode that never reached the inverter: lost by the mapping, or too short to judge. */
static void alarm_episode_end(bl_val_t *v, unsigned a)
{
    if (v->alarm_arrived[a] == 0) {
        if (!v->alarm_can[a])
            v->seen_lost |= (bl_alarm_mask_t)(1u << a);
        else
            v->alarm_short++;
    }
    v->alarm_since[a] = BL_NEVER;
}

/* ---- per sample --------------------------------------------------------------------------------- */

/* Values come from a bus or a test: the judge's arithmetic is done in 64 bits and saturated
 * back, so no value a battery sends can overflow it. */
static int32_t sat32(int64_t x)
{
    return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x;
}

static int64_t abs64(int64_t x)
{
    return x < 0 ? -x : x;
}

static int32_t abs32(int32_t x)
{
    return x < 0 ? (x == INT32_MIN ? INT32_MAX : -x) : x;
}

static int32_t meas_tol(const bl_val_meas_t *m, int32_t e)
{
    if (m->field == BL_F_VOLTAGE)
        return m->tol + max32(100, (int32_t)((int64_t)abs32(e) * BL_VAL_VOLTAGE_TOL_PERMILLE / 1000));
    if (m->field == BL_F_CURRENT)
        return m->tol + abs32(e) / 100;
    return m->tol;
}

static bool running(const bl_val_t *v)
{
    return v->running_ms != BL_NEVER;
}

/* A value is judged once the inverter runs and the battery has been heard for a latency. */
static bool judging(const bl_val_t *v, const bl_val_sample_t *s, uint32_t latency)
{
    uint64_t t = tsess(v, s->t_ms);
    return running(v) && !s->silent && t >= v->running_ms + latency &&
           (v->recover_ms == BL_NEVER || t >= v->recover_ms + latency);
}

static void meas_sample(bl_val_t *v, unsigned k, const bl_val_sample_t *s)
{
    bl_val_meas_t *m = &v->meas[k];
    const bl_record_t *src = s->bms != NULL ? s->bms : &s->inv->rx;
    const bl_field_t *ef = &src->f[m->field], *of = &s->inv->view.f[m->field];
    uint32_t h = m->hn % BL_VAL_HISTORY;
    uint64_t t = tsess(v, s->t_ms);
    bool match = false;
    int32_t err = INT32_MAX;

    if (!m->judge)
        return;
    m->hist_t[h] = t;
    m->hist_v[h] = ef->value;
    m->hist_ok[h] = ef->valid;
    m->hn++;
    if (!judging(v, s, m->latency_ms) || !ef->valid)
        return;
    m->judged++;
    if (!of->valid) {
        if (m->missing++ == 0)
            m->first_missing_ms = t;
        return;
    }
    /* the shown value must be one the battery had within the latency window */
    for (uint32_t i = 0; i < BL_VAL_HISTORY && i < m->hn; i++) {
        uint32_t idx = (m->hn - 1u - i) % BL_VAL_HISTORY;
        int32_t d;
        if (m->hist_t[idx] + m->latency_ms < t)
            break;
        if (!m->hist_ok[idx])
            continue;
        d = sat32(abs64((int64_t)of->value - m->hist_v[idx]));
        if (d < err)
            err = d;
        if (d <= meas_tol(m, m->hist_v[idx])) {
            match = true;
            break;
        }
    }
    m->last_obs = of->value;
    m->last_ok = 1;
    if (match) {
        if (!m->have_ev || m->bad == 0) {
            char w[BL_VAL_WHAT];
            label(w, sizeof w, m->field, of->value);
            m->have_ev = evidence_frame(v, s->inv, m->field, w, &m->ev);
        }
        return;
    }
    if (err != INT32_MAX && err > m->max_err)
        m->max_err = err;
    if (m->field == BL_F_CURRENT && ef->value != 0 && abs64((int64_t)of->value + ef->value) <= meas_tol(m, ef->value))
        m->inverted++;
    if (m->bad++ == 0) {
        char w[BL_VAL_WHAT];
        m->first_bad_ms = t;
        m->bad_exp = ef->value;
        m->bad_obs = of->value;
        label(w, sizeof w, m->field, of->value);
        m->have_ev = evidence_frame(v, s->inv, m->field, w, &m->ev);
    }
}

static int32_t field_or(const bl_record_t *r, unsigned f, int32_t dflt, bool *known)
{
    if (r == NULL || !r->f[f].valid)
        return dflt;
    *known = true;
    return r->f[f].value;
}

/* The limit the battery asks for: the lower of what its BMS means and what reached the bus. */
static int32_t limit_now(const bl_val_sample_t *s, unsigned f, unsigned en, bool *known, uint8_t *what)
{
    const bl_record_t *wire = s->wire != NULL ? s->wire : &s->inv->rx;
    bool k1 = false, k2 = false, e1 = false, e2 = false;
    int32_t a = field_or(s->bms, f, INT32_MAX, &k1), b = field_or(wire, f, INT32_MAX, &k2);
    int32_t en1 = field_or(s->bms, en, 1, &e1), en2 = field_or(wire, en, 1, &e2);
    int32_t l = a < b ? a : b;

    *known = k1 || k2;
    *what = 0;
    if ((e1 && !en1) || (e2 && !en2)) {
        *known = true;
        *what = 2;
        return 0;
    }
    return l;
}

static void limit_episode_end(bl_val_limit_t *l, uint64_t t)
{
    uint64_t dur = t - l->over_since;
    if (dur > l->worst_ms || l->worst_ms == 0) {
        l->worst_ms = dur;
        l->worst_by = l->over_max;
    }
    l->over_since = BL_NEVER;
}

static void limit_sample(bl_val_t *v, unsigned d, const bl_val_sample_t *s)
{
    bl_val_limit_t *l = &v->lim[d];
    uint64_t t = tsess(v, s->t_ms);
    bool known = false;
    uint8_t what = 0;
    unsigned fl = d == 0 ? BL_F_CCL : BL_F_DCL, fen = d == 0 ? BL_F_CHARGE_ENABLE : BL_F_DISCHARGE_ENABLE;
    int32_t lim = limit_now(s, fl, fen, &known, &what);
    int64_t i = d == 0 ? s->out->i_mA : -(int64_t)s->out->i_mA; /* current in this direction */
    int64_t tol = BL_VAL_LIMIT_TOL_mA + max32(v->caps_b.step[fl], v->caps_i.step[fl]) / 2;

    if (!running(v) || s->silent) {
        if (l->over_since != BL_NEVER)
            limit_episode_end(l, t);
        l->v_over_since = BL_NEVER;
        return;
    }
    if (i > 0)
        l->drove++;
    if (i > l->max_i)
        l->max_i = sat32(i);
    if (!known)
        return;
    if (l->known && abs64((int64_t)lim - l->last_limit) > 1000) {
        if (l->changes == 0)
            l->first_step_ms = t;
        l->changes++;
        if (lim == 0)
            l->to_zero++;
    }
    l->known = 1;
    l->last_limit = lim;
    if (i > 0 && lim > 0 && i >= lim - tol)
        l->bound++;
    if (i > lim + tol) {
        if (l->over_since == BL_NEVER) {
            l->over_since = t;
            l->over_max = 0;
            l->over_counted = 0;
        }
        if (i - lim > l->over_max)
            l->over_max = sat32(i - lim);
        if (t - l->over_since >= l->allow_ms && !l->over_counted) {
            l->over_counted = 1;
            l->episodes_failed++;
            if (l->first_fail_ms == BL_NEVER) {
                char w[BL_VAL_WHAT];
                txt_t tx;
                l->first_fail_ms = l->over_since;
                l->worst_at = l->over_since;
                l->worst_limit = lim;
                l->worst_i = sat32(i);
                l->worst_what = what;
                t_init(&tx, w, sizeof w);
                if (what == 2) {
                    t_str(&tx, d == 0 ? "charge disabled" : "discharge disabled");
                } else {
                    t_key(&tx, fl);
                    t_str(&tx, " ");
                    t_val(&tx, fl, lim);
                }
                l->have_ev = (what == 2 && evidence_frame(v, s->inv, fen, w, &l->ev)) ||
                             evidence_frame(v, s->inv, fl, w, &l->ev);
            }
        }
    } else if (l->over_since != BL_NEVER) {
        limit_episode_end(l, t);
    }
    /* the voltage limit: CVL above while charging, DVL below while discharging */
    if (s->v_known) {
        bool vk = false;
        const bl_record_t *wire = s->wire != NULL ? s->wire : &s->inv->rx;
        unsigned fv = d == 0 ? BL_F_CVL : BL_F_DVL;
        int32_t a = field_or(s->bms, fv, d == 0 ? INT32_MAX : 0, &vk);
        int32_t b = field_or(wire, fv, d == 0 ? INT32_MAX : 0, &vk);
        int32_t vl = d == 0 ? (a < b ? a : b) : (a > b ? a : b);
        int64_t vtol = (int64_t)vl * BL_VAL_CVL_TOL_PERMILLE / 1000;
        int64_t over = d == 0 ? (int64_t)s->v_mV - vl : (int64_t)vl - s->v_mV;
        if (vk && vl > 0 && over > vtol && (d == 0 || i > 0)) {
            if (l->v_over_since == BL_NEVER) {
                l->v_over_since = t;
                l->v_over_max = 0;
            }
            if (over > l->v_over_max)
                l->v_over_max = sat32(over);
            if (t - l->v_over_since >= BL_VAL_CVL_FOLLOW_MS && l->first_fail_ms == BL_NEVER) {
                char w[BL_VAL_WHAT];
                l->first_fail_ms = l->v_over_since;
                l->worst_limit = vl;
                l->worst_i = s->v_mV;
                l->worst_what = 1;
                l->worst_at = l->v_over_since;
                l->worst_by = l->v_over_max;
                l->episodes_failed++;
                label(w, sizeof w, fv, vl);
                l->have_ev = evidence_frame(v, s->inv, fv, w, &l->ev);
            }
        } else {
            l->v_over_since = BL_NEVER;
        }
    }
}

static void protection_sample(bl_val_t *v, unsigned d, const bl_val_sample_t *s)
{
    uint64_t t = tsess(v, s->t_ms);
    uint8_t bit = d == 0 ? BL_BSIM_BLOCK_CHARGE : BL_BSIM_BLOCK_DISCHARGE;
    int64_t i = d == 0 ? s->out->i_mA : -(int64_t)s->out->i_mA;
    bool blocked = (s->blocked & bit) != 0 && running(v) && !s->silent;

    if (!blocked) {
        if (v->prot_since[d] != BL_NEVER && v->prot_stopped[d] != BL_NEVER) {
            uint32_t r = (uint32_t)(v->prot_stopped[d] - v->prot_since[d]);
            if (r > v->prot_worst_ms[d])
                v->prot_worst_ms[d] = r;
        }
        v->prot_since[d] = BL_NEVER;
        return;
    }
    if (v->prot_since[d] == BL_NEVER) {
        bl_val_evidence_t e;
        bl_alarm_mask_t p = s->raised != NULL ? s->raised[BL_AC_PROTECTION]
                            : s->bms != NULL  ? s->bms->active[BL_AC_PROTECTION]
                                              : s->inv->rx.active[BL_AC_PROTECTION];
        int a = -1;
        v->prot_since[d] = t;
        if (v->prot_first_ms == BL_NEVER)
            v->prot_first_ms = t;
        v->prot_stopped[d] = BL_NEVER;
        v->prot_fail_now[d] = 0;
        v->prot_drove[d] = i > BL_VAL_LIMIT_TOL_mA;
        v->prot_episodes[d]++;
        if (v->prot_drove[d])
            v->prot_exercised[d]++;
        for (unsigned k = 0; k < BL_A_COUNT && a < 0; k++)
            if (p >> k & 1u)
                a = (int)k;
        if (v->prot_nev < 2 && (a < 0 ? evidence_frame(v, s->inv, d == 0 ? BL_F_CCL : BL_F_DCL,
                                                        d == 0 ? "charge path open" : "discharge path open", &e)
                                      : evidence_frame(v, s->inv, BL_F_COUNT + (unsigned)a, bl_alarm_str((unsigned)a), &e)))
            add_ev(v->prot_ev, &v->prot_nev, &e);
    }
    if (i <= BL_VAL_LIMIT_TOL_mA) {
        if (v->prot_stopped[d] == BL_NEVER)
            v->prot_stopped[d] = t;
    } else if ((v->prot_stopped[d] != BL_NEVER || t - v->prot_since[d] >= v->stop_ms) && !v->prot_fail_now[d]) {
        /* still driving into the open path after the time allowed, or started again */
        v->prot_fail_now[d] = 1;
        v->prot_failed[d]++;
        if (v->prot_first_fail_ms == BL_NEVER)
            v->prot_first_fail_ms = v->prot_since[d];
    }
}

static void alarm_sample(bl_val_t *v, const bl_val_sample_t *s)
{
    uint64_t t = tsess(v, s->t_ms);
    const bl_alarm_mask_t *rc = s->raised != NULL ? s->raised : s->bms != NULL ? s->bms->active : s->inv->rx.active;
    bl_alarm_mask_t raised = all_classes(rc), got = all_classes(s->inv->rx.active);
    bl_alarm_mask_t can = (bl_alarm_mask_t)((rc[0] & v->carried[0]) | (rc[1] & v->carried[1]) | (rc[2] & v->carried[2]));

    if (!running(v) || s->silent)
        return;
    for (unsigned a = 0; a < BL_A_COUNT; a++) {
        bl_alarm_mask_t bit = (bl_alarm_mask_t)(1u << a);
        if (raised & bit) {
            if (v->alarm_since[a] == BL_NEVER) {
                v->alarm_since[a] = t;
                v->alarm_arrived[a] = 0;
                v->alarm_can[a] = 0;
                v->alarm_raised++;
                v->seen_raised |= bit;
            }
            if (can & bit)
                v->alarm_can[a] = 1;
            if ((got & bit) && v->alarm_arrived[a] != 1) {
                uint32_t lat = (uint32_t)(t - v->alarm_since[a]);
                bl_val_evidence_t e;
                if (v->alarm_arrived[a] == 0)
                    v->alarm_delivered++;
                if (v->alarm_first_ms == BL_NEVER)
                    v->alarm_first_ms = t;
                v->alarm_arrived[a] = 1;
                v->seen_delivered |= bit;
                if (lat > v->alarm_worst_ms)
                    v->alarm_worst_ms = lat;
                if (v->alarm_nev < 2 && evidence_frame(v, s->inv, BL_F_COUNT + a, bl_alarm_str(a), &e))
                    add_ev(v->alarm_ev, &v->alarm_nev, &e);
            } else if (!(got & bit) && v->alarm_arrived[a] == 0 && v->alarm_can[a] &&
                       t - v->alarm_since[a] > v->alarm_latency_ms) {
                v->alarm_arrived[a] = 2; /* missed: raised longer than its latency, never shown */
                v->alarm_missed++;
                v->seen_missed |= bit;
                if (v->alarm_first_miss_ms == BL_NEVER) {
                    v->alarm_first_miss_ms = v->alarm_since[a];
                    v->alarm_miss_id = (uint8_t)a;
                }
            }
        } else if (v->alarm_since[a] != BL_NEVER) {
            alarm_episode_end(v, a);
        }
    }
}

static bool safe_now(const bl_val_sample_t *s)
{
    return s->inv->state != BL_INV_RUN ||
           (s->out->i_mA <= BL_VAL_LIMIT_TOL_mA && s->out->i_mA >= -BL_VAL_LIMIT_TOL_mA);
}

static void loss_window_end(bl_val_t *v, uint64_t t)
{
    uint64_t due = v->silent_since + v->safe_after_ms + BL_VAL_SAFE_MARGIN_MS;
    bool reached = v->safe_at != BL_NEVER && v->safe_at <= due && v->unsafe_again == BL_NEVER;
    bool judged = v->silent_drove && (t >= due || reached);

    if (judged) {
        v->windows_judged++;
        if (!reached) {
            v->windows_failed++;
            if (v->loss_first_fail_ms == BL_NEVER)
                v->loss_first_fail_ms = v->silent_since;
        } else if (v->safe_at - v->silent_since > v->worst_safe_ms) {
            v->worst_safe_ms = (uint32_t)(v->safe_at - v->silent_since);
        }
    }
    v->silent_since = BL_NEVER;
}

static void loss_sample(bl_val_t *v, const bl_val_sample_t *s, int32_t drove_before)
{
    uint64_t t = tsess(v, s->t_ms);

    if (s->silent && running(v)) {
        if (v->silent_since == BL_NEVER) {
            bl_val_evidence_t e;
            v->silent_since = s->silent_since_ms ? tsess(v, s->silent_since_ms) : t;
            v->safe_at = v->unsafe_again = BL_NEVER;
            v->silent_drove = drove_before > BL_VAL_LIMIT_TOL_mA || drove_before < -BL_VAL_LIMIT_TOL_mA;
            v->windows++;
            if (v->loss_first_ms == BL_NEVER)
                v->loss_first_ms = v->silent_since;
            if (v->loss_nev == 0 && evidence_frame(v, s->inv, BL_F_NONE, "last battery frame before the silence", &e))
                add_ev(v->loss_ev, &v->loss_nev, &e);
        }
        if (safe_now(s)) {
            if (v->safe_at == BL_NEVER)
                v->safe_at = t;
        } else if (v->safe_at != BL_NEVER && v->unsafe_again == BL_NEVER) {
            v->unsafe_again = t;
        }
        return;
    }
    if (v->silent_since != BL_NEVER) {
        loss_window_end(v, t);
        v->recover_ms = t; /* measurements wait a latency after the link is back */
        v->recovered_once = 0;
        v->never_recovered = 1;
    }
    if (v->recover_ms != BL_NEVER && !v->recovered_once && s->inv->state == BL_INV_RUN) {
        v->recovered_once = 1;
        v->never_recovered = 0;
        if (t - v->recover_ms > v->worst_recover_ms)
            v->worst_recover_ms = (uint32_t)(t - v->recover_ms);
    }
}

static void settings_sample(bl_val_t *v, const bl_val_sample_t *s)
{
    const bl_inv_profile_t *p = v->cfg.profile;
    for (unsigned i = 0; i < p->nsettings; i++) {
        const char *actual = s->inv->setting_value[i];
        if (actual == NULL || strcmp(actual, p->settings[i].required) == 0 || (v->settings_wrong >> i & 1u))
            continue;
        v->settings_wrong |= (uint32_t)BL_BIT(i);
        copy_str(v->settings_value[i], sizeof v->settings_value[i], actual);
        if (v->settings_first_ms == BL_NEVER)
            v->settings_first_ms = tsess(v, s->t_ms);
    }
}

static void detect_sample(bl_val_t *v, const bl_val_sample_t *s)
{
    uint64_t t = tsess(v, s->t_ms);
    const bl_inv_t *inv = s->inv;

    if (inv->detected && v->detected_ms == BL_NEVER) {
        bl_val_evidence_t e;
        v->detected_ms = t;
        if (evidence_frame(v, inv, BL_F_NONE, "battery frame the inverter detected", &e))
            add_ev(v->detect_ev, &v->detect_nev, &e);
    }
    if (inv->state == BL_INV_RUN && v->running_ms == BL_NEVER)
        v->running_ms = t;
    if (v->running_ms == BL_NEVER && inv->code[0] != '\0') {
        copy_str(v->refuse_code, sizeof v->refuse_code, inv->code);
        v->refuse_state = inv->state;
    }
}

void bl_val_sample(bl_val_t *v, const bl_val_sample_t *s)
{
    const bl_field_t *fw = &s->inv->rx.f[BL_F_FIRMWARE];

    v->now_ms = s->t_ms;
    detect_sample(v, s);
    settings_sample(v, s);
    for (unsigned k = 0; k < M_COUNT; k++)
        meas_sample(v, k, s);
    for (unsigned d = 0; d < 2; d++) {
        limit_sample(v, d, s);
        protection_sample(v, d, s);
    }
    alarm_sample(v, s);
    loss_sample(v, s, v->last_drive_mA);
    v->last_drive_mA = s->inv->state == BL_INV_RUN ? s->out->i_mA : 0;
    /* the shown current against the shown SOC: a sign check that needs no truth */
    if (running(v) && !s->silent && s->inv->view.f[BL_F_CURRENT].valid && s->inv->view.f[BL_F_SOC].valid) {
        v->flow_uC += (int64_t)s->inv->view.f[BL_F_CURRENT].value * v->cfg.step_ms;
        if (!v->soc_seen)
            v->soc_first = s->inv->view.f[BL_F_SOC].value;
        v->soc_last = s->inv->view.f[BL_F_SOC].value;
        v->soc_seen = 1;
    }
    v->inv_fw = s->inv->fw;
    v->rx_frames = s->inv->rx_frames;
    v->rx_rejected = 0;
    for (unsigned k = 1; k < BL_REJ_COUNT; k++) {
        if (s->inv->rx_rejected[k] > 0 && (v->rx_rejected == 0 || s->inv->rx_rejected[k] > s->inv->rx_rejected[v->rx_reject_why]))
            v->rx_reject_why = (uint8_t)k;
        v->rx_rejected += s->inv->rx_rejected[k];
    }
    if (s->bms != NULL) {
        v->have_bms = 1;
        if (v->firmware_expected[0] == '\0' && s->bms->f[BL_F_FIRMWARE].valid) {
            const char *str = bl_record_str(s->bms, BL_F_FIRMWARE);
            copy_str(v->firmware_expected, sizeof v->firmware_expected, str != NULL ? str : "");
        }
    }
    if (fw->valid && fw->seen_ms != v->firmware_ms) {
        const char *str = bl_record_str(&s->inv->rx, BL_F_FIRMWARE);
        copy_str(v->firmware_seen, sizeof v->firmware_seen, str != NULL ? str : "");
        v->firmware_ms = fw->seen_ms;
    }
    v->samples++;
    v->last_ms = s->t_ms;
}

void bl_val_event(bl_val_t *v, const bl_sim_event_t *e)
{
    if (e->kind == BL_EV_QUIRK && e->a >= 0 && e->a < BL_QK_COUNT)
        v->quirks_acted |= (uint32_t)BL_BIT(e->a);
    if (e->kind == BL_EV_INV_STATE && e->has_frame && v->running_ms == BL_NEVER && v->detect_nev < 2) {
        bl_val_evidence_t ev;
        memset(&ev, 0, sizeof ev);
        ev.t_ms = tsess(v, e->t_ms);
        ev.from = BL_SIDE_BATTERY;
        ev.frame = e->frame;
        copy_str(ev.what, sizeof ev.what, e->code[0] ? e->code : "frame the inverter refused");
        add_ev(v->detect_ev, &v->detect_nev, &ev);
    }
    if (e->kind == BL_EV_INV_TIMEOUT && e->has_frame && v->loss_nev < 2) {
        bl_val_evidence_t ev;
        memset(&ev, 0, sizeof ev);
        ev.t_ms = tsess(v, e->t_ms);
        ev.from = BL_SIDE_BATTERY;
        ev.frame = e->frame;
        copy_str(ev.what, sizeof ev.what, "last frame before the inverter's timeout");
        add_ev(v->loss_ev, &v->loss_nev, &ev);
    }
}

bool bl_val_hopeless(const bl_val_t *v)
{
    return v->running_ms == BL_NEVER && tsess(v, v->now_ms) > v->detect_deadline_ms;
}

/* ---- verdicts ------------------------------------------------------------------------------------ */

typedef struct {
    bl_val_check_t *c;
    txt_t exp, obs;
} verdict_t;

static void v_begin(verdict_t *w, bl_val_check_t *c, unsigned id)
{
    memset(c, 0, sizeof *c);
    c->id = (uint8_t)id;
    c->status = BL_VS_SKIP;
    c->at_ms = BL_NEVER;
    w->c = c;
    t_init(&w->exp, c->expected, sizeof c->expected);
    t_init(&w->obs, c->observed, sizeof c->observed);
}

static void v_set(verdict_t *w, uint8_t status, uint64_t at)
{
    w->c->status = status;
    w->c->at_ms = at;
}

static void v_ev(verdict_t *w, const bl_val_evidence_t *e, unsigned n)
{
    for (unsigned i = 0; i < n && w->c->nev < BL_VAL_MAX_EVIDENCE; i++)
        w->c->ev[w->c->nev++] = e[i];
}

static void t_quirks(txt_t *t, uint32_t acted, uint32_t which)
{
    bool first = true;
    for (unsigned q = 0; q < BL_QK_COUNT; q++)
        if ((acted & which) >> q & 1u) {
            t_str(t, first ? "; quirk " : ", ");
            t_str(t, bl_quirk_str(q));
            first = false;
        }
    if (!first)
        t_str(t, " acted");
}

static const char *not_running(const bl_val_t *v)
{
    (void)v;
    return "not judged: the inverter never ran on this battery (see detect)";
}

static void finish_detect(const bl_val_t *v, verdict_t *w)
{
    const bl_inv_profile_t *p = v->cfg.profile;
    bool inv_first = bl_proto_root(p->proto)->first == BL_FIRST_INVERTER;

    t_str(&w->exp, inv_first ? "battery answers the inverter's requests, " : "battery frames decoded, ");
    t_str(&w->exp, "identity accepted, inverter running within ");
    t_secs(&w->exp, v->detect_deadline_ms);
    if (running(v) && v->running_ms <= v->detect_deadline_ms) {
        v_set(w, BL_VS_PASS, v->running_ms);
        t_str(&w->obs, "detected at ");
        t_clock(&w->obs, v->detected_ms != BL_NEVER ? v->detected_ms : v->running_ms);
        t_str(&w->obs, ", running at ");
        t_clock(&w->obs, v->running_ms);
        t_str(&w->obs, "; ");
        t_u(&w->obs, v->rx_frames);
        t_str(&w->obs, " battery frames decoded");
    } else {
        v_set(w, BL_VS_FAIL, running(v) ? v->running_ms : v->detect_deadline_ms);
        if (running(v)) {
            t_str(&w->obs, "running only at ");
            t_clock(&w->obs, v->running_ms);
        } else if (v->detected_ms != BL_NEVER) {
            t_str(&w->obs, "detected at ");
            t_clock(&w->obs, v->detected_ms);
            t_str(&w->obs, " but the inverter stayed in ");
            t_str(&w->obs, bl_inv_state_str(v->refuse_state));
        } else {
            t_str(&w->obs, "never detected");
        }
        if (!running(v) && v->refuse_code[0] != '\0') {
            t_str(&w->obs, " (");
            t_str(&w->obs, v->refuse_code);
            t_str(&w->obs, ")");
        }
        t_str(&w->obs, "; ");
        t_u(&w->obs, v->rx_frames);
        t_str(&w->obs, " battery frames decoded");
        if (v->rx_rejected > 0) {
            t_str(&w->obs, ", ");
            t_u(&w->obs, v->rx_rejected);
            t_str(&w->obs, " rejected (mostly ");
            t_str(&w->obs, bl_reject_str((bl_reject_t)v->rx_reject_why));
            t_str(&w->obs, ")");
        }
        t_quirks(&w->obs, v->quirks_acted,
                 (uint32_t)(BL_BIT(BL_QK_REQUIRES_MANUFACTURER) | BL_BIT(BL_QK_REJECTS_BATTERY_TYPE) |
                            BL_BIT(BL_QK_BLOCKS_BATTERY)));
    }
    v_ev(w, v->detect_ev, v->detect_nev);
}

static void finish_meas(const bl_val_t *v, unsigned k, verdict_t *w)
{
    const bl_val_meas_t *m = &v->meas[k];
    unsigned f = m->field;

    t_key(&w->exp, f);
    t_str(&w->exp, " shown within +-");
    t_val(&w->exp, f, meas_tol(m, f == BL_F_VOLTAGE ? 53000 : 0));
    if (f == BL_F_VOLTAGE)
        t_str(&w->exp, " (at 53 V)");
    if (f == BL_F_CURRENT)
        t_str(&w->exp, " + 1 %, sign included");
    t_str(&w->exp, ", latency <= ");
    t_secs(&w->exp, m->latency_ms);
    if (m->why == SKIP_UNUSED) {
        t_str(&w->obs, "the inverter does not use ");
        t_key(&w->obs, f);
        t_str(&w->obs, " (profile ");
        t_str(&w->obs, v->cfg.profile->name);
        t_str(&w->obs, ")");
        return;
    }
    if (!running(v)) {
        t_str(&w->obs, not_running(v));
        return;
    }
    if (m->why == SKIP_NOT_SENT || m->why == SKIP_NOT_READ) {
        v_set(w, BL_VS_FAIL, 0);
        t_str(&w->obs, "the inverter uses ");
        t_key(&w->obs, f);
        t_str(&w->obs, m->why == SKIP_NOT_SENT ? " but the battery's protocol " : " but its protocol ");
        t_str(&w->obs, m->why == SKIP_NOT_SENT ? v->cfg.battery->name : v->cfg.profile->proto->name);
        t_str(&w->obs, m->why == SKIP_NOT_SENT ? " does not send it" : " cannot read it: lost by the mapping");
        return;
    }
    if (m->judged == 0) {
        t_str(&w->obs, "not judged: the battery was silent or the session too short");
        return;
    }
    if (m->bad > 0) {
        v_set(w, BL_VS_FAIL, m->first_bad_ms);
        if (f == BL_F_CURRENT && m->inverted * 2 >= m->bad) {
            t_str(&w->obs, "sign inverted: at ");
            t_clock(&w->obs, m->first_bad_ms);
            t_str(&w->obs, m->bad_exp > 0 ? " the battery charges at " : " the battery discharges at ");
        } else {
            t_str(&w->obs, "at ");
            t_clock(&w->obs, m->first_bad_ms);
            t_str(&w->obs, " the battery has ");
        }
        t_val(&w->obs, f, m->bad_exp);
        t_str(&w->obs, ", the inverter shows ");
        t_val(&w->obs, f, m->bad_obs);
        t_str(&w->obs, "; ");
        t_u(&w->obs, m->bad);
        t_str(&w->obs, " of ");
        t_u(&w->obs, m->judged);
        t_str(&w->obs, " samples off, by up to ");
        t_val(&w->obs, f, m->max_err);
        if (m->have_ev)
            v_ev(w, &m->ev, 1);
        return;
    }
    if (m->missing > 0) {
        v_set(w, BL_VS_FAIL, m->first_missing_ms);
        t_str(&w->obs, "not shown from ");
        t_clock(&w->obs, m->first_missing_ms);
        t_str(&w->obs, " (");
        t_u(&w->obs, m->missing);
        t_str(&w->obs, " of ");
        t_u(&w->obs, m->judged);
        t_str(&w->obs, " samples) while the battery was talking");
        return;
    }
    if (f == BL_F_CURRENT && !v->have_bms && v->soc_seen && v->cfg.capacity_mAh > 0) {
        /* no truth: the current shown must move the SOC shown the same way */
        int64_t dsoc = (int64_t)v->soc_last - v->soc_first;
        int64_t flow_mpct = v->flow_uC / 36 / v->cfg.capacity_mAh; /* uC / (mAh x 3.6e6) x 1e5 */
        if ((dsoc >= 1000 && flow_mpct <= -1000) || (dsoc <= -1000 && flow_mpct >= 1000)) {
            v_set(w, BL_VS_FAIL, 0);
            t_str(&w->obs, "sign inverted: the SOC shown moved ");
            t_milli(&w->obs, dsoc, 1);
            t_str(&w->obs, " % while the current shown would move it ");
            t_milli(&w->obs, flow_mpct, 1);
            t_str(&w->obs, " %");
            return;
        }
    }
    v_set(w, BL_VS_PASS, v->running_ms + m->latency_ms);
    t_u(&w->obs, m->judged);
    t_str(&w->obs, " samples within tolerance");
    if (m->last_ok) {
        t_str(&w->obs, "; last shown ");
        t_val(&w->obs, f, m->last_obs);
    }
    if (m->have_ev)
        v_ev(w, &m->ev, 1);
}

static void finish_limits(const bl_val_t *v, unsigned d, verdict_t *w)
{
    const bl_val_limit_t *l = &v->lim[d];
    unsigned fl = d == 0 ? BL_F_CCL : BL_F_DCL, fv = d == 0 ? BL_F_CVL : BL_F_DVL;
    uint32_t q = d == 0 ? (uint32_t)(BL_BIT(BL_QK_IGNORES_CURRENT_LIMITS) | BL_BIT(BL_QK_IGNORES_ZERO_LIMITS) |
                                     BL_BIT(BL_QK_CHARGES_AT_CCL_ZERO) | BL_BIT(BL_QK_IGNORES_ENABLE_FLAGS) |
                                     BL_BIT(BL_QK_CVL_REDUCTION_DELAY) | BL_BIT(BL_QK_CCL_ZERO_FLOAT_BY_NAME))
                        : (uint32_t)(BL_BIT(BL_QK_IGNORES_CURRENT_LIMITS) | BL_BIT(BL_QK_IGNORES_ZERO_LIMITS) |
                                     BL_BIT(BL_QK_DISCHARGE_TO_CVL) | BL_BIT(BL_QK_IGNORES_DCL_OFFGRID) |
                                     BL_BIT(BL_QK_IGNORES_ENABLE_FLAGS));

    t_str(&w->exp, d == 0 ? "charge current <= CCL + " : "discharge current <= DCL + ");
    t_milli(&w->exp, BL_VAL_LIMIT_TOL_mA, 1);
    t_str(&w->exp, " A, a step followed within ");
    t_secs(&w->exp, l->allow_ms);
    t_str(&w->exp, d == 0 ? "; voltage <= CVL + 1 % within " : "; voltage >= DVL - 1 % within ");
    t_secs(&w->exp, BL_VAL_CVL_FOLLOW_MS);
    if (!running(v)) {
        t_str(&w->obs, not_running(v));
        return;
    }
    if (l->drove == 0) {
        t_str(&w->obs, d == 0 ? "not exercised: the inverter never charged" : "not exercised: the inverter never discharged");
        return;
    }
    if (l->known && l->changes == 0 && l->bound == 0 && l->first_fail_ms == BL_NEVER) {
        t_str(&w->obs, "not exercised: the limit never changed nor held the current back (up to ");
        t_val(&w->obs, BL_F_CURRENT, l->max_i);
        t_str(&w->obs, " against ");
        t_val(&w->obs, fl, l->last_limit);
        t_str(&w->obs, ")");
        return;
    }
    if (!l->known) {
        v_set(w, BL_VS_FAIL, 0);
        t_str(&w->obs, "no ");
        t_key(&w->obs, fl);
        t_str(&w->obs, " ever reached the inverter, yet it drove up to ");
        t_val(&w->obs, BL_F_CURRENT, l->max_i);
        return;
    }
    if (l->first_fail_ms != BL_NEVER) {
        v_set(w, BL_VS_FAIL, l->first_fail_ms);
        t_str(&w->obs, "at ");
        t_clock(&w->obs, l->first_fail_ms);
        if (l->worst_what == 1) {
            t_str(&w->obs, d == 0 ? " the battery reached " : " the battery fell to ");
            t_val(&w->obs, BL_F_VOLTAGE, l->worst_i);
            t_str(&w->obs, " with ");
            t_key(&w->obs, fv);
            t_str(&w->obs, " ");
            t_val(&w->obs, fv, l->worst_limit);
        } else {
            t_str(&w->obs, " the inverter drove ");
            t_val(&w->obs, BL_F_CURRENT, l->worst_i);
            if (l->worst_what == 2) {
                t_str(&w->obs, d == 0 ? " with charging disabled" : " with discharging disabled");
            } else {
                t_str(&w->obs, " with ");
                t_key(&w->obs, fl);
                t_str(&w->obs, " ");
                t_val(&w->obs, fl, l->worst_limit);
            }
        }
        t_str(&w->obs, "; ");
        t_u(&w->obs, l->episodes_failed);
        t_str(&w->obs, l->episodes_failed == 1 ? " episode" : " episodes");
        if (l->worst_ms > 0) {
            t_str(&w->obs, ", the longest ");
            t_secs(&w->obs, l->worst_ms);
        }
        t_quirks(&w->obs, v->quirks_acted, q);
        if (l->have_ev)
            v_ev(w, &l->ev, 1);
        return;
    }
    v_set(w, BL_VS_PASS, l->changes ? l->first_step_ms : v->running_ms);
    t_u(&w->obs, l->changes);
    t_str(&w->obs, l->changes == 1 ? " limit step" : " limit steps");
    if (l->to_zero) {
        t_str(&w->obs, " (");
        t_u(&w->obs, l->to_zero);
        t_str(&w->obs, " to 0 A)");
    }
    t_str(&w->obs, " followed; held at the limit for ");
    t_u(&w->obs, l->bound);
    t_str(&w->obs, " samples; up to ");
    t_val(&w->obs, BL_F_CURRENT, l->max_i);
}

static void finish_alarms(const bl_val_t *v, verdict_t *w)
{
    t_str(&w->exp, "each alarm raised reaches the inverter within ");
    t_secs(&w->exp, v->alarm_latency_ms);
    t_str(&w->exp, ", or the mapping says it is lost");
    if (!running(v)) {
        t_str(&w->obs, not_running(v));
        return;
    }
    if (v->seen_raised == 0) {
        t_str(&w->obs, "not exercised: the battery raised no alarm");
        return;
    }
    if (v->alarm_missed > 0) {
        v_set(w, BL_VS_FAIL, v->alarm_first_miss_ms);
        t_str(&w->obs, bl_alarm_str(v->alarm_miss_id));
        t_str(&w->obs, " raised at ");
        t_clock(&w->obs, v->alarm_first_miss_ms);
        t_str(&w->obs, " never reached the inverter, though the mapping carries it; missed: ");
        t_alarms(&w->obs, v->seen_missed);
        return;
    }
    v_set(w, BL_VS_PASS, v->alarm_first_ms != BL_NEVER ? v->alarm_first_ms : v->running_ms);
    if (v->alarm_delivered == 0) {
        t_str(&w->obs, "none of the ");
        t_u(&w->obs, v->alarm_raised);
        t_str(&w->obs, " alarms raised can reach this inverter: lost by the mapping (");
        t_alarms(&w->obs, v->seen_lost);
        t_str(&w->obs, ")");
    } else {
        t_u(&w->obs, v->alarm_delivered);
        t_str(&w->obs, " of ");
        t_u(&w->obs, v->alarm_raised);
        t_str(&w->obs, " raised reached it within ");
        t_secs(&w->obs, v->alarm_worst_ms);
        t_str(&w->obs, " (");
        t_alarms(&w->obs, v->seen_delivered);
        t_str(&w->obs, ")");
        if (v->seen_lost) {
            t_str(&w->obs, "; lost by the mapping: ");
            t_alarms(&w->obs, v->seen_lost);
        }
    }
    if (v->alarm_short) {
        t_str(&w->obs, "; ");
        t_u(&w->obs, v->alarm_short);
        t_str(&w->obs, " too short to judge");
    }
    v_ev(w, v->alarm_ev, v->alarm_nev);
}

static void finish_protection(const bl_val_t *v, verdict_t *w)
{
    uint32_t ep = v->prot_episodes[0] + v->prot_episodes[1];
    uint32_t ex = v->prot_exercised[0] + v->prot_exercised[1];
    uint32_t worst = v->prot_worst_ms[0] > v->prot_worst_ms[1] ? v->prot_worst_ms[0] : v->prot_worst_ms[1];

    t_str(&w->exp, "when the BMS opens a path, that direction stops within ");
    t_secs(&w->exp, v->stop_ms);
    if (!running(v)) {
        t_str(&w->obs, not_running(v));
        return;
    }
    if (ep == 0) {
        t_str(&w->obs, "not exercised: no protection opened a path");
        return;
    }
    if (v->prot_failed[0] + v->prot_failed[1] > 0) {
        v_set(w, BL_VS_FAIL, v->prot_first_fail_ms);
        t_str(&w->obs, "at ");
        t_clock(&w->obs, v->prot_first_fail_ms);
        t_str(&w->obs, " the BMS opened the ");
        t_str(&w->obs, v->prot_failed[0] ? "charge" : "discharge");
        t_str(&w->obs, " path and the inverter kept driving into it (");
        t_u(&w->obs, v->prot_failed[0] + v->prot_failed[1]);
        t_str(&w->obs, " of ");
        t_u(&w->obs, ep);
        t_str(&w->obs, " protections)");
        t_quirks(&w->obs, v->quirks_acted,
                 (uint32_t)(BL_BIT(BL_QK_IGNORES_CURRENT_LIMITS) | BL_BIT(BL_QK_IGNORES_ENABLE_FLAGS) |
                            BL_BIT(BL_QK_CHARGES_AT_CCL_ZERO) | BL_BIT(BL_QK_DISCHARGE_TO_CVL)));
        v_ev(w, v->prot_ev, v->prot_nev);
        return;
    }
    v_set(w, BL_VS_PASS, v->prot_first_ms);
    t_u(&w->obs, ep);
    t_str(&w->obs, ep == 1 ? " protection (" : " protections (");
    t_u(&w->obs, v->prot_episodes[0]);
    t_str(&w->obs, " charge, ");
    t_u(&w->obs, v->prot_episodes[1]);
    t_str(&w->obs, " discharge): ");
    if (ex == 0) {
        t_str(&w->obs, "the inverter had already stopped each time (the limits derated first) and never drove into "
                       "an open path");
    } else {
        t_u(&w->obs, ex);
        t_str(&w->obs, " found it driving that way and it stopped within ");
        t_secs(&w->obs, worst);
    }
    v_ev(w, v->prot_ev, v->prot_nev);
}

static void finish_comm_loss(const bl_val_t *v, verdict_t *w)
{
    const bl_inv_profile_t *p = v->cfg.profile;

    t_str(&w->exp, "battery silent: no battery power within ");
    t_secs(&w->exp, v->safe_after_ms + BL_VAL_SAFE_MARGIN_MS);
    t_str(&w->exp, p->ntimeouts ? " (the inverter's timeout + " : " (no timeout in the profile: the protocol's + ");
    t_secs(&w->exp, BL_VAL_SAFE_MARGIN_MS);
    t_str(&w->exp, ")");
    if (!running(v)) {
        t_str(&w->obs, not_running(v));
        return;
    }
    if (v->windows == 0) {
        t_str(&w->obs, "not exercised: the battery never went silent (on a real bus, disconnect it during the run)");
        return;
    }
    if (v->windows_judged == 0) {
        t_str(&w->obs, "not exercised: the silence was shorter than the timeout, or the inverter drove no current");
        return;
    }
    if (v->windows_failed > 0) {
        v_set(w, BL_VS_FAIL, v->loss_first_fail_ms);
        t_str(&w->obs, "battery silent from ");
        t_clock(&w->obs, v->loss_first_fail_ms);
        t_str(&w->obs, ": the inverter kept driving the battery past ");
        t_secs(&w->obs, v->safe_after_ms + BL_VAL_SAFE_MARGIN_MS);
        if (!v->has_safe_state)
            t_str(&w->obs, "; the profile has no safe state for a silent battery");
        t_quirks(&w->obs, v->quirks_acted, (uint32_t)BL_BIT(BL_QK_KEEPS_LAST_VALUES));
        v_ev(w, v->loss_ev, v->loss_nev);
        return;
    }
    v_set(w, BL_VS_PASS, v->loss_first_ms + v->worst_safe_ms);
    t_u(&w->obs, v->windows_judged);
    t_str(&w->obs, v->windows_judged == 1 ? " silence from " : " silences from ");
    t_clock(&w->obs, v->loss_first_ms);
    t_str(&w->obs, ": safe after ");
    t_secs(&w->obs, v->worst_safe_ms);
    if (v->never_recovered)
        t_str(&w->obs, "; not running again when the session ended");
    else if (v->recover_ms != BL_NEVER) {
        t_str(&w->obs, "; running again ");
        t_secs(&w->obs, v->worst_recover_ms);
        t_str(&w->obs, " after the link came back");
    }
    v_ev(w, v->loss_ev, v->loss_nev);
}

/* Versions compare by their numbers: "01.00" and "1.0" are the same firmware; a version the
 * wire shortens must agree as far as it goes. */
static bool same_version(const char *a, const char *b)
{
    while (*a != '\0' && *b != '\0') {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            uint32_t x = 0, y = 0;
            while (*a >= '0' && *a <= '9')
                x = x * 10u + (uint32_t)(*a++ - '0');
            while (*b >= '0' && *b <= '9')
                y = y * 10u + (uint32_t)(*b++ - '0');
            if (x != y)
                return false;
            continue;
        }
        if (*a != *b)
            return false;
        a++;
        b++;
    }
    /* what is left on either side may only be zeros and separators (1.0 == 1.0.0) */
    for (const char *r = *a ? a : b; *r; r++)
        if (*r != '0' && *r != '.')
            return false;
    return true;
}

static void finish_firmware(const bl_val_t *v, verdict_t *w)
{
    const bl_inv_profile_t *p = v->cfg.profile;
    const char *inv_fw = p->nfw ? p->firmware[v->inv_fw < p->nfw ? v->inv_fw : 0] : "default";
    bool sent = (v->caps_b.fields & BL_BIT(BL_F_FIRMWARE)) != 0;

    t_str(&w->exp, "battery firmware reported");
    if (v->firmware_expected[0] != '\0') {
        t_str(&w->exp, " as ");
        t_str(&w->exp, v->firmware_expected);
    }
    t_str(&w->exp, "; inverter firmware ");
    t_str(&w->exp, inv_fw);
    if (!(v->fields_carried & BL_BIT(BL_F_FIRMWARE))) {
        t_str(&w->obs, !sent ? v->cfg.battery->name : p->proto->name);
        t_str(&w->obs, !sent ? " sends no firmware version" : " as this inverter reads it carries no firmware version");
        t_str(&w->obs, "; the inverter runs ");
        t_str(&w->obs, inv_fw);
        return;
    }
    if (v->firmware_seen[0] == '\0') {
        if (v->rx_frames == 0) {
            t_str(&w->obs, "not judged: nothing decoded");
            return;
        }
        v_set(w, BL_VS_FAIL, 0);
        t_str(&w->obs, "no firmware version reached the inverter, though the mapping carries it");
        return;
    }
    {
        bool ok = v->firmware_expected[0] == '\0' || same_version(v->firmware_seen, v->firmware_expected);
        v_set(w, ok ? BL_VS_PASS : BL_VS_FAIL, v->firmware_ms != BL_NEVER ? tsess(v, v->firmware_ms) : 0);
        t_str(&w->obs, "the inverter reads ");
        t_str(&w->obs, v->firmware_seen);
        if (!ok) {
            t_str(&w->obs, ", the battery runs ");
            t_str(&w->obs, v->firmware_expected);
        }
        t_str(&w->obs, "; the inverter runs ");
        t_str(&w->obs, inv_fw);
    }
}

static void finish_settings(const bl_val_t *v, verdict_t *w)
{
    const bl_inv_profile_t *p = v->cfg.profile;
    static const char *const effect[BL_INV_WRONG_COUNT] = { "runs without the BMS", "battery not detected",
                                                            "fault", "effect not documented" };

    if (p->nsettings == 0) {
        t_str(&w->exp, "no setting required");
        v_set(w, BL_VS_PASS, 0);
        t_str(&w->obs, "none in the profile");
        return;
    }
    for (unsigned i = 0; i < p->nsettings; i++) {
        t_str(&w->exp, i ? "; " : "");
        t_str(&w->exp, p->settings[i].name);
        t_str(&w->exp, " = ");
        t_str(&w->exp, p->settings[i].required);
    }
    if (v->settings_wrong) {
        bool first = true;
        v_set(w, BL_VS_FAIL, v->settings_first_ms);
        for (unsigned i = 0; i < p->nsettings; i++)
            if (v->settings_wrong >> i & 1u) {
                t_str(&w->obs, first ? "" : "; ");
                t_str(&w->obs, p->settings[i].name);
                t_str(&w->obs, " was ");
                t_str(&w->obs, v->settings_value[i]);
                t_str(&w->obs, " (");
                t_str(&w->obs, p->settings[i].on_wrong < BL_INV_WRONG_COUNT ? effect[p->settings[i].on_wrong] : "?");
                t_str(&w->obs, ")");
                first = false;
            }
        return;
    }
    v_set(w, BL_VS_PASS, 0);
    t_str(&w->obs, "as required all session");
}

void bl_val_finish(bl_val_t *v, uint64_t end_ms, bl_val_check_t out[BL_VC_COUNT])
{
    verdict_t w;
    uint64_t t = tsess(v, end_ms);

    /* close what is still open at the end */
    if (v->silent_since != BL_NEVER)
        loss_window_end(v, t);
    for (unsigned d = 0; d < 2; d++) {
        if (v->lim[d].over_since != BL_NEVER)
            limit_episode_end(&v->lim[d], t);
        if (v->prot_since[d] != BL_NEVER && v->prot_stopped[d] != BL_NEVER &&
            v->prot_stopped[d] - v->prot_since[d] > v->prot_worst_ms[d])
            v->prot_worst_ms[d] = (uint32_t)(v->prot_stopped[d] - v->prot_since[d]);
    }
    for (unsigned a = 0; a < BL_A_COUNT; a++)
        if (v->alarm_since[a] != BL_NEVER)
            alarm_episode_end(v, a);

    v_begin(&w, &out[BL_VC_DETECT], BL_VC_DETECT);
    finish_detect(v, &w);
    for (unsigned k = 0; k < M_COUNT; k++) {
        v_begin(&w, &out[meas_check[k]], meas_check[k]);
        finish_meas(v, k, &w);
    }
    for (unsigned d = 0; d < 2; d++) {
        v_begin(&w, &out[BL_VC_CHARGE_LIMITS + d], BL_VC_CHARGE_LIMITS + d);
        finish_limits(v, d, &w);
    }
    v_begin(&w, &out[BL_VC_ALARMS], BL_VC_ALARMS);
    finish_alarms(v, &w);
    v_begin(&w, &out[BL_VC_PROTECTION], BL_VC_PROTECTION);
    finish_protection(v, &w);
    v_begin(&w, &out[BL_VC_COMM_LOSS], BL_VC_COMM_LOSS);
    finish_comm_loss(v, &w);
    v_begin(&w, &out[BL_VC_FIRMWARE], BL_VC_FIRMWARE);
    finish_firmware(v, &w);
    v_begin(&w, &out[BL_VC_SETTINGS], BL_VC_SETTINGS);
    finish_settings(v, &w);
}
