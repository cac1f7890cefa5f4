/*
 * The closed loop (include/bmslink/sim.h): battery simulator, battery role on
 * the protocol table, an in-memory bus with fault injection, inverter model.
 *
 * Order within one instant t: scenario changes; the battery's physics over
 * the last step and its new record; the battery's frames (encoder -> bus ->
 * inverter's decoder); the inverter's frames (and the battery's answers); the
 * inverter's decision for the next step. The bus has no latency, so what the
 * inverter decides at t uses what the battery said at t.
 */
#include "bmslink/sim.h"

#include <string.h>

const char *bl_viol_str(unsigned v)
{
    static const char *const n[BL_VIOL_COUNT] = { "charge_current_limit", "discharge_current_limit",
                                                  "charge_voltage_limit", "charge_disabled",
                                                  "discharge_disabled" };
    return v < BL_VIOL_COUNT ? n[v] : "unknown";
}

const char *bl_ev_kind_str(unsigned kind)
{
    static const char *const n[BL_EV_COUNT] = {
        [BL_EV_PROT_TRIP] = "protection_trip",   [BL_EV_PROT_RELEASE] = "protection_release",
        [BL_EV_WARN_ON] = "warning_on",          [BL_EV_WARN_OFF] = "warning_off",
        [BL_EV_SOC_RECAL] = "soc_recalibrated",  [BL_EV_FLAG] = "request_flag",
        [BL_EV_INV_STATE] = "inverter_state",    [BL_EV_INV_DETECT] = "battery_detected",
        [BL_EV_INV_TIMEOUT] = "timeout",         [BL_EV_INV_RESTORED] = "timeout_end",
        [BL_EV_QUIRK] = "quirk",                 [BL_EV_VIOLATION] = "limit_exceeded",
        [BL_EV_VIOLATION_END] = "limit_respected", [BL_EV_SCENARIO] = "scenario",
        [BL_EV_SCENARIO_END] = "scenario_end",   [BL_EV_LINK] = "inverter_link",
        [BL_EV_REJECT] = "frame_rejected",       [BL_EV_UNSERVED] = "load_unserved",
        [BL_EV_SETTING] = "setting_mismatch",
    };
    return kind < BL_EV_COUNT ? n[kind] : "unknown";
}

/* ---- events --------------------------------------------------------------------------------- */

static void emit(bl_sim_t *s, uint8_t kind, int32_t a, int32_t b, const bl_can_frame_t *f)
{
    bl_sim_event_t e;
    if (s->cfg.on_event == NULL)
        return;
    memset(&e, 0, sizeof e);
    e.t_ms = s->now_ms;
    e.kind = kind;
    e.a = a;
    e.b = b;
    if (f != NULL) {
        e.frame = *f;
        e.has_frame = 1;
    }
    s->events++;
    s->cfg.on_event(s->cfg.ctx, &e);
}

static void forward(void *ctx, const bl_sim_event_t *e)
{
    bl_sim_t *s = ctx;
    s->events++;
    if (s->cfg.on_event != NULL)
        s->cfg.on_event(s->cfg.ctx, e);
}

/* ---- init ---------------------------------------------------------------------------------------- */

/* Serial speed of a byte protocol (variants inherit it). */
static uint32_t proto_baud(const bl_protocol_t *p)
{
    for (; p != NULL; p = p->base)
        if (p->baud)
            return p->baud;
    return 0;
}

static int find_fw(const bl_inv_profile_t *p, const char *name)
{
    for (unsigned i = 0; i < p->nfw; i++)
        if (strcmp(p->firmware[i], name) == 0)
            return (int)i;
    return -1;
}

static bool has_setting(const bl_inv_profile_t *p, const char *name)
{
    for (unsigned i = 0; i < p->nsettings; i++)
        if (strcmp(p->settings[i].name, name) == 0)
            return true;
    return false;
}

static void limit_fields(bl_sim_t *s);

/* A byte-protocol battery (RS485): it answers polls at its address; firmware faults on the
 * wire (sign, unit, forced raw values) are CAN row operations and are refused here. */
static int rs_battery_init(bl_sim_t *s)
{
    const bl_rs485_codec_t *c = bl_rs_codec(s->cfg.battery_proto);
    if (c == NULL || c->kind == BL_RSK_MODBUS || bl_rs_session_init(&s->bsess, s->cfg.battery_proto) < 0)
        return BL_ENOTSUP;
    for (unsigned i = 0; i < s->cfg.scn->nev; i++) {
        unsigned k = s->cfg.scn->ev[i].kind;
        if (k == BL_SE_WRONG_SIGN || k == BL_SE_SCALING || k == BL_SE_SIGNAL) {
            s->bad_event = (int)i;
            return BL_EINVAL;
        }
    }
    s->brs = c;
    s->baddr = c->addr_default;
    return 0;
}

/* Inverter-side scenario events: a setting or firmware variant, back to the start's at the end. */
static void inverter_event(void *ctx, const bl_scn_event_t *e, unsigned idx, bool on)
{
    bl_sim_t *s = ctx;
    if (e->kind == BL_SE_SETTING) {
        const char *initial = NULL;
        for (unsigned k = 0; k < s->cfg.scn->nsettings; k++)
            if (strcmp(s->cfg.scn->setting_name[k], e->name) == 0)
                initial = s->cfg.scn->setting_value[k];
        (void)bl_inv_set_setting(&s->inv, e->name, on ? e->value : initial);
    } else if (e->kind == BL_SE_FIRMWARE) {
        (void)bl_inv_set_firmware(&s->inv, on ? s->ev_fw[idx] : s->fw0);
    }
}

static int check_events(bl_sim_t *s)
{
    const bl_scenario_t *scn = s->cfg.scn;
    for (unsigned i = 0; i < scn->nev; i++) {
        const bl_scn_event_t *e = &scn->ev[i];
        s->bad_event = (int)i;
        if (e->kind >= BL_SE_COUNT)
            return BL_EINVAL;
        if (e->kind == BL_SE_SETTING && !has_setting(s->cfg.profile, e->name))
            return BL_ENOENT;
        if (e->kind == BL_SE_FIRMWARE) {
            int fw = find_fw(s->cfg.profile, e->name);
            if (fw < 0)
                return BL_ENOENT;
            s->ev_fw[i] = (uint8_t)fw;
        }
        if ((e->kind == BL_SE_FROZEN_FIELD || e->kind == BL_SE_STALE_FIELD || e->kind == BL_SE_SCALING) &&
            e->field >= BL_F_BATTERY_COUNT)
            return BL_EINVAL;
        if (e->kind == BL_SE_SCALING && (e->a <= 0 || e->b <= 0))
            return BL_EINVAL;
        if (e->kind == BL_SE_ALARM_BURST && (e->period_ms == 0 || e->aclass >= BL_AC_COUNT))
            return BL_EINVAL;
    }
    s->bad_event = -1;
    return 0;
}

static void tolerances(bl_sim_t *s)
{
    bl_caps_t caps;
    bl_proto_caps(s->cfg.battery_proto, &caps);
    /* what the wire can carry: a limit rounds to the protocol's step */
    s->tol_ccl_mA = caps.step[BL_F_CCL] > 0 ? caps.step[BL_F_CCL] / 2 : 0;
    s->tol_dcl_mA = caps.step[BL_F_DCL] > 0 ? caps.step[BL_F_DCL] / 2 : 0;
    /* a charger regulating on CVL settles within its regulation band: 1 % */
    s->tol_cvl_mV = s->cfg.scn->battery.cvl_cell_mV * s->cfg.scn->battery.cells / 100;
}

int bl_sim_init(bl_sim_t *s, const bl_sim_cfg_t *cfg)
{
    const bl_scenario_t *scn = cfg->scn;
    int rc, fw = cfg->firmware;

    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->bad_event = -1;
    if (cfg->profile->proto == NULL)
        return BL_ENOTSUP;
    if ((rc = check_events(s)) < 0)
        return rc;
    if ((rc = bl_bsim_init(&s->bat, &scn->battery, scn->start_soc_mpct,
                           bl_scn_profile_at(&scn->ambient, scn->start_ms, scn->daily), scn->start_ms)) < 0)
        return rc;
    if (bl_proto_root(cfg->battery_proto)->bus != bl_proto_root(cfg->profile->proto)->bus)
        return BL_ENOTSUP; /* a CAN battery and an RS485 inverter (or the reverse) never meet */
    if (bl_proto_root(cfg->battery_proto)->bus != BL_BUS_CAN) {
        if ((rc = rs_battery_init(s)) < 0)
            return rc;
    } else if (bl_batcan_init(&s->bcan, cfg->battery_proto, scn->start_ms) < 0 ||
               bl_can_codec_init(&s->wcodec, cfg->battery_proto) < 0) {
        return BL_ENOTSUP;
    }
    if (fw < 0)
        fw = scn->firmware[0] ? find_fw(cfg->profile, scn->firmware) : 0;
    if (fw < 0)
        return BL_ENOENT;
    if ((rc = bl_inv_init(&s->inv, cfg->profile, (unsigned)fw, scn->start_ms)) < 0)
        return rc;
    s->now_ms = s->next_ctl_ms = s->next_sample_ms = s->next_bat_ms = s->next_inv_ms = scn->start_ms;
    bl_faults_init(&s->faults, scn, &s->bat);
    s->faults.apply = inverter_event;
    s->faults.apply_ctx = s;
    s->faults.on_event = forward;
    s->faults.ev_ctx = s;
    s->fw0 = (uint8_t)fw;
    for (unsigned i = 0; i < scn->nsettings; i++)
        if (bl_inv_set_setting(&s->inv, scn->setting_name[i], scn->setting_value[i]) < 0)
            return BL_ENOENT;
    s->bat.on_event = forward;
    s->bat.ev_ctx = s;
    s->bcan.on_event = forward;
    s->bcan.ev_ctx = s;
    s->inv.on_event = forward;
    s->inv.ev_ctx = s;
    s->step_ms = scn->step_ms ? scn->step_ms : 1000u;
    s->bat_bitrate = s->brs ? proto_baud(cfg->battery_proto) : bl_proto_bitrate(cfg->battery_proto);
    s->port_bitrate = scn->inverter_bitrate ? scn->inverter_bitrate
                      : s->brs ? (cfg->profile->baud ? cfg->profile->baud : proto_baud(cfg->profile->proto))
                      : cfg->profile->bitrate ? cfg->profile->bitrate
                                              : bl_proto_bitrate(cfg->profile->proto);
    bl_record_init(&s->rec);
    bl_record_init(&s->sent);
    bl_record_init(&s->wire);
    tolerances(s);
    if (s->brs == NULL)
        limit_fields(s);
    s->soc_min_mpct = INT32_MAX;
    s->soc_max_mpct = INT32_MIN;
    s->v_min_mV = INT32_MAX;
    s->v_max_mV = INT32_MIN;
    s->t_max_mdegC = INT32_MIN;
    for (unsigned v = 0; v < BL_VIOL_COUNT; v++)
        s->viol_since[v] = BL_NEVER;
    return 0;
}

/* ---- the bus ---------------------------------------------------------------------------------------- */

static void error_frame(bl_can_frame_t *f)
{
    memset(f, 0, sizeof *f);
    f->flags = BL_CAN_ERR;
    f->id = 0x008u; /* SocketCAN CAN_ERR_PROT: a protocol violation, as a wrong bitrate looks */
}

static const uint8_t limit_ids[] = { BL_F_CVL, BL_F_CCL, BL_F_DCL, BL_F_DVL, BL_F_CHARGE_ENABLE,
                                      BL_F_DISCHARGE_ENABLE };

static void limit_fields(bl_sim_t *s)
{
    const bl_can_codec_t *c = &s->bcan.codec;
    for (unsigned j = 0; j < c->n; j++)
        for (unsigned r = 0; r < c->msg[j]->nsigs; r++)
            for (unsigned k = 0; k < sizeof limit_ids; k++)
                if (c->msg[j]->sigs[r].field == limit_ids[k])
                    s->limit_fields[j] |= (uint32_t)BL_BIT(limit_ids[k]);
}

/* Limits the inverter has now been told by frame f of codec message j. */
static void note_wire(bl_sim_t *s, unsigned j, const bl_can_frame_t *f)
{
    uint32_t mask = s->limit_fields[j];
    if (mask && s->faults.wire) {
        /* a firmware fault altered the frame: read back what it says */
        bl_record_t r;
        bl_decoded_t d;
        bl_record_init(&r);
        if (bl_can_decode(&s->wcodec, f, s->now_ms, &r, &d) == 0)
            for (unsigned k = 0; k < sizeof limit_ids; k++)
                if (d.fields & BL_BIT(limit_ids[k]))
                    s->wire.f[limit_ids[k]] = r.f[limit_ids[k]];
        return;
    }
    for (unsigned k = 0; mask && k < sizeof limit_ids; k++) {
        unsigned id = limit_ids[k];
        bl_field_t fld;
        if (!(mask >> id & 1u))
            continue;
        fld = s->sent.f[id];
        /* what the encoder put there: the safe value when it substituted */
        if (s->bcan.last_enc.substituted & BL_BIT(id))
            fld.value = 0;
        fld.valid = 1;
        fld.seen_ms = s->now_ms;
        s->wire.f[id] = fld;
    }
}

static void deliver(bl_sim_t *s, uint8_t from, bl_can_frame_t *f, unsigned j)
{
    const bl_faults_t *fl = &s->faults;
    bool mismatch = (fl->bitrate ? fl->bitrate : s->port_bitrate) != s->bat_bitrate;
    uint8_t fate = BL_FATE_DELIVERED;
    bl_can_frame_t err;

    if (from == BL_SIDE_BATTERY)
        bl_faults_wire(fl, &s->bcan.codec, f);
    if (fl->bus_off)
        fate = BL_FATE_BUS_OFF;
    else if (from == BL_SIDE_BATTERY ? fl->comm_loss != 0 : fl->comm_loss_both != 0)
        fate = BL_FATE_DROPPED;
    else if (mismatch)
        fate = BL_FATE_CORRUPTED;
    s->frames[from][fate]++;
    if (s->cfg.on_frame != NULL)
        s->cfg.on_frame(s->cfg.ctx, s->now_ms, from, f, fate);
    if (fate == BL_FATE_DROPPED || fate == BL_FATE_BUS_OFF)
        return;
    if (fate == BL_FATE_CORRUPTED) {
        error_frame(&err);
        f = &err;
    }
    if (from == BL_SIDE_BATTERY) {
        if (fate == BL_FATE_DELIVERED)
            note_wire(s, j, f);
        bl_inv_rx(&s->inv, f, s->now_ms);
    } else {
        bl_batcan_rx(&s->bcan, f, s->now_ms);
    }
}

/* ---- byte protocols (RS485): the inverter polls, the battery answers ------------------------ */

static void deliver_rs(bl_sim_t *s, uint8_t from, const uint8_t *b, size_t n);

static void battery_answer(bl_sim_t *s, const uint8_t *req, size_t n)
{
    bl_rs_frame_t f;
    bl_rsr_t why = BL_RSR_NONE;
    bl_rs_answer_t res;
    int len;

    if (bl_rs_session_frame(&s->bsess, req, n, s->rs_info, sizeof s->rs_info, &f, &why) < 0) {
        s->bcan.rx_rejected[why == BL_RSR_UNKNOWN_CMD ? BL_REJ_UNKNOWN_ID : BL_REJ_SYNTAX]++;
        return;
    }
    if (!f.request)
        return;
    s->bcan.rx++;
    s->bcan.requests++;
    len = bl_rs_answer(s->cfg.battery_proto, s->baddr, &f, &s->sent, s->now_ms, bl_proto_timeout_ms(s->cfg.battery_proto),
                       s->rs_out, sizeof s->rs_out, &res);
    if (len <= 0) {
        s->rs_silent++;
        return;
    }
    s->bcan.tx++;
    if (res.enc.safe_state)
        s->bcan.safe_frames++;
    for (uint32_t m = res.enc.substituted; m; m &= m - 1u)
        s->bcan.substituted++;
    deliver_rs(s, BL_SIDE_BATTERY, s->rs_out, (size_t)len);
}

/* Limits the inverter has now been told: what its decoder made of the answer. */
static void note_wire_rs(bl_sim_t *s)
{
    static const uint8_t ids[] = { BL_F_CVL, BL_F_CCL, BL_F_DCL, BL_F_DVL, BL_F_CHARGE_ENABLE, BL_F_DISCHARGE_ENABLE };
    for (unsigned k = 0; k < sizeof ids; k++)
        if (s->inv.rx.f[ids[k]].valid && s->inv.rx.f[ids[k]].seen_ms == s->now_ms)
            s->wire.f[ids[k]] = s->inv.rx.f[ids[k]];
}

static void deliver_rs(bl_sim_t *s, uint8_t from, const uint8_t *b, size_t n)
{
    const bl_faults_t *fl = &s->faults;
    bool mismatch = (fl->bitrate ? fl->bitrate : s->port_bitrate) != s->bat_bitrate;
    uint8_t fate = BL_FATE_DELIVERED;

    if (fl->bus_off) /* RS485: the battery's transceiver is off the line */
        fate = BL_FATE_BUS_OFF;
    else if (from == BL_SIDE_BATTERY ? fl->comm_loss != 0 : fl->comm_loss_both != 0)
        fate = BL_FATE_DROPPED;
    else if (mismatch)
        fate = BL_FATE_CORRUPTED;
    s->frames[from][fate]++;
    if (s->cfg.on_bytes != NULL)
        s->cfg.on_bytes(s->cfg.ctx, s->now_ms, from, b, n, fate);
    if (fate == BL_FATE_DROPPED || fate == BL_FATE_BUS_OFF)
        return;
    if (fate == BL_FATE_CORRUPTED) {
        /* a receiver at another baud rate reads other bytes than were sent */
        if (n > sizeof s->rs_bad)
            n = sizeof s->rs_bad;
        for (size_t i = 0; i < n; i++)
            s->rs_bad[i] = (uint8_t)(b[i] ^ 0x5Au);
        b = s->rs_bad;
    }
    if (from == BL_SIDE_INVERTER) {
        battery_answer(s, b, n);
    } else {
        bl_inv_rx_bytes(&s->inv, b, n, s->now_ms);
        if (fate == BL_FATE_DELIVERED)
            note_wire_rs(s);
    }
}

/* The inverter's polls due now, each answered at once (the line has no latency here). */
static void rs_exchange(bl_sim_t *s)
{
    for (unsigned guard = 0; guard < BL_INV_MAX_RS; guard++) {
        uint64_t next;
        int n = bl_inv_tx_bytes(&s->inv, s->now_ms, s->rs_req, sizeof s->rs_req, &next);
        s->next_inv_ms = next;
        if (n <= 0)
            break;
        deliver_rs(s, BL_SIDE_INVERTER, s->rs_req, (size_t)n);
    }
}

static void battery_tx(bl_sim_t *s)
{
    uint8_t which[BL_SIM_TX_MAX];
    unsigned n = bl_batcan_tx(&s->bcan, &s->sent, s->now_ms, s->txbuf, BL_SIM_TX_MAX, &s->next_bat_ms, which);
    for (unsigned k = 0; k < n; k++)
        deliver(s, BL_SIDE_BATTERY, &s->txbuf[k], which[k]);
}

static unsigned inverter_tx(bl_sim_t *s)
{
    unsigned n = bl_inv_tx(&s->inv, s->now_ms, s->txbuf, BL_SIM_TX_MAX, &s->next_inv_ms);
    for (unsigned k = 0; k < n; k++)
        deliver(s, BL_SIDE_INVERTER, &s->txbuf[k], 0);
    return n;
}

/* ---- control --------------------------------------------------------------------------------------- */

static int64_t mJ(int64_t mW, uint64_t dt_ms)
{
    return mW * (int64_t)dt_ms / 1000;
}

static void battery_step(bl_sim_t *s, uint64_t t)
{
    const bl_scenario_t *scn = s->cfg.scn;
    uint64_t dt = t - s->bat.now_ms;
    int64_t p_mW;
    int32_t soc;

    s->bat.ambient_mdegC = bl_scn_profile_at(&scn->ambient, t, scn->daily);
    (void)bl_bsim_step(&s->bat, s->i_cmd_mA, t);
    /* energy over the step just simulated, at the current that flowed */
    p_mW = (int64_t)s->bat.i_mA * s->bat.v_mV / 1000;
    if (p_mW > 0)
        s->charged_mJ += mJ(p_mW, dt);
    else
        s->discharged_mJ += mJ(-p_mW, dt);
    bl_bsim_record(&s->bat, &s->rec, t);
    bl_faults_record(&s->faults, &s->rec, &s->sent, t);
    soc = bl_bsim_true_soc(&s->bat);
    s->soc_min_mpct = soc < s->soc_min_mpct ? soc : s->soc_min_mpct;
    s->soc_max_mpct = soc > s->soc_max_mpct ? soc : s->soc_max_mpct;
    s->v_min_mV = s->bat.v_mV < s->v_min_mV ? s->bat.v_mV : s->v_min_mV;
    s->v_max_mV = s->bat.v_mV > s->v_max_mV ? s->bat.v_mV : s->v_max_mV;
    s->t_max_mdegC = s->bat.temp_max_mdegC > s->t_max_mdegC ? s->bat.temp_max_mdegC : s->t_max_mdegC;
}

static bool wire_known(const bl_sim_t *s, unsigned f)
{
    return s->wire.f[f].valid != 0;
}

/* Which limits the decision exceeds: against what was sent, and against the truth. */
static void judge(bl_sim_t *s)
{
    int32_t i = s->out.i_mA;
    const bl_bsim_t *b = &s->bat;
    uint32_t v = 0, u = 0;

    if (i > 0 && wire_known(s, BL_F_CCL) && i > s->wire.f[BL_F_CCL].value + s->tol_ccl_mA)
        v |= BL_BIT(BL_VIOL_CCL);
    if (i < 0 && wire_known(s, BL_F_DCL) && -i > s->wire.f[BL_F_DCL].value + s->tol_dcl_mA)
        v |= BL_BIT(BL_VIOL_DCL);
    if (wire_known(s, BL_F_CVL) && b->v_mV > s->wire.f[BL_F_CVL].value + s->tol_cvl_mV)
        v |= BL_BIT(BL_VIOL_CVL);
    if (i > 0 && wire_known(s, BL_F_CHARGE_ENABLE) && !s->wire.f[BL_F_CHARGE_ENABLE].value)
        v |= BL_BIT(BL_VIOL_CHARGE_DISABLED);
    if (i < 0 && wire_known(s, BL_F_DISCHARGE_ENABLE) && !s->wire.f[BL_F_DISCHARGE_ENABLE].value)
        v |= BL_BIT(BL_VIOL_DISCHARGE_DISABLED);

    if (i > 0 && i > b->ccl_mA + s->tol_ccl_mA)
        u |= BL_BIT(BL_VIOL_CCL);
    if (i < 0 && -i > b->dcl_mA + s->tol_dcl_mA)
        u |= BL_BIT(BL_VIOL_DCL);
    if (b->v_mV > b->cvl_mV + s->tol_cvl_mV)
        u |= BL_BIT(BL_VIOL_CVL);
    if (i > 0 && b->ccl_mA == 0)
        u |= BL_BIT(BL_VIOL_CHARGE_DISABLED);
    if (i < 0 && b->dcl_mA == 0)
        u |= BL_BIT(BL_VIOL_DISCHARGE_DISABLED);

    for (unsigned k = 0; k < BL_VIOL_COUNT; k++) {
        bool now = (v >> k) & 1u, was = (s->viol >> k) & 1u;
        if (now)
            s->viol_ms[k] += s->step_ms;
        if ((u >> k) & 1u)
            s->unsafe_ms[k] += s->step_ms;
        if (now && !was) {
            int32_t by = k == BL_VIOL_CCL ? i - s->wire.f[BL_F_CCL].value
                         : k == BL_VIOL_DCL ? -i - s->wire.f[BL_F_DCL].value
                         : k == BL_VIOL_CVL ? b->v_mV - s->wire.f[BL_F_CVL].value
                                            : i;
            s->viol_since[k] = s->now_ms;
            emit(s, BL_EV_VIOLATION, (int32_t)k, by, NULL);
        } else if (!now && was) {
            emit(s, BL_EV_VIOLATION_END, (int32_t)k, (int32_t)(s->now_ms - s->viol_since[k]), NULL);
            s->viol_since[k] = BL_NEVER;
        }
    }
    s->viol = v;
    s->unsafe = u;
}

static void inverter_step(bl_sim_t *s, uint64_t t)
{
    const bl_scenario_t *scn = s->cfg.scn;
    bl_inv_env_t *env = &s->env;

    env->pv_W = bl_scn_profile_at(&scn->pv, t, scn->daily);
    env->load_W = bl_scn_profile_at(&scn->load, t, scn->daily);
    env->grid = scn->grid && !s->faults.grid_lost;
    env->v_mV = s->bat.v_mV;
    env->i_mA = s->bat.i_mA;
    env->temp_mdegC = (int32_t)(s->bat.temp_udegC / 1000);
    bl_inv_step(&s->inv, env, t, &s->out);
    s->i_cmd_mA = s->out.i_mA;
    if (s->out.grid_W > 0)
        s->import_mJ += mJ((int64_t)s->out.grid_W * 1000, s->step_ms);
    else
        s->export_mJ += mJ(-(int64_t)s->out.grid_W * 1000, s->step_ms);
    s->unserved_mJ += mJ((int64_t)s->out.unserved_W * 1000, s->step_ms);
    s->curtailed_mJ += mJ((int64_t)s->out.curtailed_W * 1000, s->step_ms);
    judge(s);
}

static void sample(bl_sim_t *s)
{
    bl_sim_sample_t smp;
    if (s->cfg.on_sample == NULL || s->cfg.sample_ms == 0)
        return;
    smp.t_ms = s->now_ms;
    smp.bat = &s->bat;
    smp.sent = &s->sent;
    smp.inv = &s->inv;
    smp.out = &s->out;
    smp.env = &s->env;
    smp.violations = s->viol;
    smp.unsafe = s->unsafe;
    s->cfg.on_sample(s->cfg.ctx, &smp);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t bl_sim_run(bl_sim_t *s, uint64_t until_ms)
{
    for (;;) {
        uint64_t t = s->now_ms, next;
        bool ctl = t >= s->next_ctl_ms;

        bl_faults_step(&s->faults, t, &s->rec);
        if (ctl)
            battery_step(s, t);
        if (s->brs != NULL) {
            if (t >= s->next_inv_ms)
                rs_exchange(s);
            s->next_bat_ms = BL_NEVER; /* an RS485 battery only answers */
        } else {
            if (t >= s->next_bat_ms)
                battery_tx(s);
            if (t >= s->next_inv_ms && inverter_tx(s) > 0)
                battery_tx(s); /* answers to polls, and a battery that waited for the inverter */
        }
        if (ctl) {
            inverter_step(s, t);
            s->next_ctl_ms = t + s->step_ms;
            if (s->cfg.sample_ms && t >= s->next_sample_ms) {
                sample(s);
                s->next_sample_ms = t + s->cfg.sample_ms;
            }
        }
        next = min64(min64(s->next_ctl_ms, s->next_bat_ms), min64(s->next_inv_ms, s->faults.next_ms));
        if (next <= t)
            next = t + 1; /* always make progress, whatever a component asked for */
        if (next > until_ms)
            break;
        s->now_ms = next;
    }
    return s->now_ms;
}
