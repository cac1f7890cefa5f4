/*
 * Inverter models: one engine runs every profile (include/bmslink/inverter.h).
 * Brand knowledge lives in the profile data (share/profiles/ (YAML)); the
 * behaviours named by bl_quirk_t are implemented here once each.
 */
#include "bmslink/inverter.h"

#include <string.h>

static const char *const quirk_names[BL_QK_COUNT] = {
    [BL_QK_IGNORES_CURRENT_LIMITS] = "ignores_current_limits",
    [BL_QK_IGNORES_ZERO_LIMITS] = "ignores_zero_limits",
    [BL_QK_CVL_ZERO_OVERVOLTAGE] = "cvl_zero_is_overvoltage",
    [BL_QK_ISLAND_SHUTDOWN_DCL_ZERO] = "island_shutdown_at_dcl_zero",
    [BL_QK_DISCHARGE_TO_CVL] = "discharges_to_cvl_ignoring_dcl",
    [BL_QK_IGNORES_DCL_OFFGRID] = "ignores_dcl_off_grid",
    [BL_QK_CHARGES_AT_CCL_ZERO] = "charges_at_ccl_zero",
    [BL_QK_CVL_REDUCTION_DELAY] = "cvl_reduction_delay",
    [BL_QK_CVL_CAP_BY_NAME] = "cvl_cap_by_manufacturer",
    [BL_QK_CCL_ZERO_FLOAT_BY_NAME] = "ccl_zero_float_by_manufacturer",
    [BL_QK_REJECTS_BATTERY_TYPE] = "rejects_battery_type",
    [BL_QK_REQUIRES_MANUFACTURER] = "requires_manufacturer",
    [BL_QK_IGNORES_ENABLE_FLAGS] = "ignores_enable_flags",
    [BL_QK_KEEPS_LAST_VALUES] = "keeps_last_values_on_silence",
    [BL_QK_KEEPALIVE_PERIOD] = "keepalive_period",
    [BL_QK_NO_KEEPALIVE] = "no_keepalive",
    [BL_QK_ANY_ALARM_STANDBY] = "any_alarm_standby",
    [BL_QK_STOPS_AT_FULL_SOC] = "stops_charging_at_full_soc",
    [BL_QK_BLOCKS_BATTERY] = "blocks_battery",
};

const char *bl_quirk_str(unsigned q)
{
    return q < BL_QK_COUNT ? quirk_names[q] : "unknown";
}

unsigned bl_quirk_by_name(const char *name)
{
    for (unsigned i = 0; i < BL_QK_COUNT; i++)
        if (strcmp(quirk_names[i], name) == 0)
            return i;
    return BL_QK_COUNT;
}

static const char *const action_names[BL_INV_ACT_COUNT] = { "none", "defaults", "warning", "standby", "fault",
                                                            "cut_output" };

const char *bl_inv_action_str(unsigned a)
{
    return a < BL_INV_ACT_COUNT ? action_names[a] : "none";
}

unsigned bl_inv_action_by_name(const char *name)
{
    for (unsigned i = 0; i < BL_INV_ACT_COUNT; i++)
        if (strcmp(action_names[i], name) == 0)
            return i;
    return BL_INV_ACT_COUNT;
}

const char *bl_inv_state_str(unsigned s)
{
    static const char *const n[BL_INV_STATE_COUNT] = { "waiting", "running", "standby", "fault", "off" };
    return s < BL_INV_STATE_COUNT ? n[s] : "unknown";
}

void bl_inv_profile_defaults(bl_inv_profile_t *p)
{
    memset(p, 0, sizeof *p);
    p->bus = BL_BUS_CAN;
    p->max_charge_W = 5000;
    p->max_discharge_W = 5000;
    p->soc_min_mpct = 10000;
    p->soc_min_offgrid_mpct = 5000;
    p->soc_hyst_mpct = 5000;
    p->force_charge_mA = 10000;
    p->uses_full_charge = 1;
    p->on_alarm = BL_INV_ALARM_STOP_DIRECTION;
    p->on_warning = BL_INV_ALARM_IGNORE;
    p->uses = (uint32_t)(BL_BIT(BL_F_BATTERY_COUNT) - 1u) | BL_INV_USES_ALARMS;
    p->restart_ms = 10000;
}

/* ---- helpers ----------------------------------------------------------------- */

#define ALARM_CHG                                                                                                \
    ((bl_alarm_mask_t)((1u << BL_A_CELL_OV) | (1u << BL_A_PACK_OV) | (1u << BL_A_CHG_OT) | (1u << BL_A_CHG_UT) | \
                       (1u << BL_A_CHG_OC) | (1u << BL_A_SHORT) | (1u << BL_A_INTERNAL) | (1u << BL_A_COMM)))
#define ALARM_DSG                                                                                                \
    ((bl_alarm_mask_t)((1u << BL_A_CELL_UV) | (1u << BL_A_PACK_UV) | (1u << BL_A_DSG_OT) | (1u << BL_A_DSG_UT) | \
                       (1u << BL_A_DSG_OC) | (1u << BL_A_SHORT) | (1u << BL_A_INTERNAL) | (1u << BL_A_COMM)))

#define CV_GAIN_mA_PER_mV 20 /* regulator gain: stable for pack resistances up to ~0.1 Ohm */

static bool has(const bl_inv_t *v, unsigned q)
{
    return (v->qmask >> q) & 1u;
}

int bl_inv_quirk(const bl_inv_t *v, unsigned q)
{
    for (unsigned i = 0; i < v->p->nquirks; i++) {
        const bl_inv_quirk_t *k = &v->p->quirks[i];
        if (k->id == q && (k->fw_mask == 0 || (k->fw_mask >> v->fw & 1u)))
            return (int)i;
    }
    return -1;
}

static const bl_inv_quirk_t *quirk_row(const bl_inv_t *v, unsigned q)
{
    int i = bl_inv_quirk(v, q);
    return i < 0 ? NULL : &v->p->quirks[i];
}

static void copy_code(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n > BL_EV_CODE_MAX - 1)
        n = BL_EV_CODE_MAX - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void emit(bl_inv_t *v, uint8_t kind, int32_t a, int32_t b, const char *code, const bl_can_frame_t *f)
{
    bl_sim_event_t e;
    if (v->on_event == NULL)
        return;
    memset(&e, 0, sizeof e);
    e.t_ms = v->now_ms;
    e.kind = kind;
    e.a = a;
    e.b = b;
    if (code != NULL)
        copy_code(e.code, code);
    if (f != NULL) {
        e.frame = *f;
        e.has_frame = 1;
    }
    v->on_event(v->ev_ctx, &e);
}

static int msg_index(const bl_inv_t *v, const bl_message_t *m)
{
    for (unsigned j = 0; j < v->codec.n; j++)
        if (v->codec.msg[j] == m)
            return (int)j;
    return -1;
}

/* The battery's messages, whatever the bus: CAN messages of the codec, or the commands
 * a byte-protocol inverter polls (their answers). Index j addresses heard_ms[] and last[]. */
static unsigned nmsg(const bl_inv_t *v)
{
    return v->rs != NULL ? v->rs_n : v->codec.n;
}

static bool battery_msg(const bl_inv_t *v, unsigned j)
{
    return v->rs != NULL || v->codec.msg[j]->dir == BL_DIR_B2I;
}

static uint32_t msg_id_at(const bl_inv_t *v, unsigned j)
{
    return v->rs != NULL ? v->rs_cmd[j] : v->codec.msg[j]->id;
}

/* Battery fields message j carries. */
static uint32_t fields_at(const bl_inv_t *v, unsigned j)
{
    uint32_t mask = 0;
    if (v->rs != NULL)
        return v->rs_fields[j];
    for (unsigned i = 0; i < v->codec.msg[j]->nsigs; i++) {
        unsigned f = v->codec.msg[j]->sigs[i].field;
        if (f < BL_F_BATTERY_COUNT)
            mask |= (uint32_t)BL_BIT(f);
    }
    return mask;
}

static int msg_index_by_id(const bl_inv_t *v, uint32_t id)
{
    for (unsigned j = 0; j < nmsg(v); j++)
        if (msg_id_at(v, j) == id && battery_msg(v, j))
            return (int)j;
    return -1;
}

static int32_t clamp32(int64_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : x > hi ? hi : (int32_t)x;
}

static void build_slots(bl_inv_t *v, uint64_t now);

/* A byte-protocol inverter: the master, polling the codec's commands at its address. */
static int rs_init(bl_inv_t *v, uint64_t now_ms)
{
    const bl_rs485_codec_t *c = bl_rs_codec(v->p->proto);
    if (c == NULL || c->kind == BL_RSK_MODBUS || bl_rs_session_init(&v->rsess, v->p->proto) < 0)
        return BL_ENOTSUP; /* a register map has no frames to poll here */
    v->rsess.defer_infer = true; /* answers are inferred and decoded in one go: bl_inv_rx_bytes() */
    v->rs = c;
    v->rs_addr = c->addr_default;
    v->rs_wait = -1;
    for (const uint8_t *k = c->poll_once; k != NULL && *k && v->rs_n < BL_INV_MAX_RS; k++) {
        v->rs_once[v->rs_n] = 1;
        v->rs_cmd[v->rs_n++] = *k;
    }
    for (const uint8_t *k = c->poll; k != NULL && *k && v->rs_n < BL_INV_MAX_RS; k++)
        v->rs_cmd[v->rs_n++] = *k;
    v->rs_cycle_ms = v->rs_next_ms = now_ms;
    return 0;
}

/* ---- init -------------------------------------------------------------------------- */

int bl_inv_set_firmware(bl_inv_t *v, unsigned fw)
{
    unsigned nfw = v->p->nfw ? v->p->nfw : 1u;
    if (fw >= nfw)
        return BL_EINVAL;
    v->fw = (uint8_t)fw;
    v->qmask = 0;
    for (unsigned i = 0; i < v->p->nquirks; i++) {
        const bl_inv_quirk_t *k = &v->p->quirks[i];
        if (k->id < BL_QK_COUNT && (k->fw_mask == 0 || (k->fw_mask >> fw & 1u)))
            v->qmask |= (uint32_t)BL_BIT(k->id);
    }
    return 0;
}

int bl_inv_init(bl_inv_t *v, const bl_inv_profile_t *p, unsigned fw, uint64_t now_ms)
{
    int rc;
    memset(v, 0, sizeof *v);
    v->p = p;
    v->now_ms = now_ms;
    if (p->proto == NULL)
        return BL_ENOTSUP;
    if ((rc = bl_inv_set_firmware(v, fw)) < 0)
        return rc;
    if (bl_proto_root(p->proto)->bus != BL_BUS_CAN) {
        if ((rc = rs_init(v, now_ms)) < 0)
            return rc;
    } else if ((rc = bl_can_codec_init(&v->codec, p->proto)) < 0) {
        return rc;
    }
    bl_record_init(&v->rx);
    bl_record_init(&v->view);
    bl_record_init(&v->tx);
    for (unsigned j = 0; j < BL_CAN_MAX_MSGS; j++)
        v->heard_ms[j] = BL_NEVER;
    if (v->rs == NULL)
        build_slots(v, now_ms);
    v->state = BL_INV_WAIT;
    v->battery_type = -1;
    v->cause_gone_ms = BL_NEVER;
    v->cvl_drop_ms = BL_NEVER;
    return 0;
}

int bl_inv_set_setting(bl_inv_t *v, const char *name, const char *value)
{
    for (unsigned i = 0; i < v->p->nsettings; i++)
        if (strcmp(v->p->settings[i].name, name) == 0) {
            v->setting_value[i] = value;
            return 0;
        }
    return BL_ENOENT;
}

/* ---- receive ---------------------------------------------------------------------------- */

static void read_battery_type(bl_inv_t *v, const bl_message_t *m, const bl_decoded_t *d)
{
    const bl_inv_quirk_t *q = quirk_row(v, BL_QK_REJECTS_BATTERY_TYPE);
    if (q == NULL || m->id != q->msg_id)
        return;
    for (unsigned i = 0; i < m->nsigs && i < BL_MAX_SIGS; i++)
        if (strcmp(m->sigs[i].name, q->text) == 0 && (d->have >> i & 1u)) {
            /* raw rows carry raw x 1000; a scaled row carries its physical value */
            v->battery_type = (int32_t)(d->val[i] / 1000);
            return;
        }
}

void bl_inv_rx(bl_inv_t *v, const bl_can_frame_t *f, uint64_t now_ms)
{
    bl_decoded_t d;
    bool repeat;
    int j;

    if (v->rs != NULL) { /* a CAN frame for a byte-protocol inverter */
        v->rx_rejected[BL_REJ_UNKNOWN_ID]++;
        return;
    }
    /* a repeated frame is stored again from the memo, unless the battery type is read from it */
    if (bl_can_decode_memo(&v->codec, f, now_ms, &v->rx, &d,
                           quirk_row(v, BL_QK_REJECTS_BATTERY_TYPE) ? NULL : v->memo, &repeat) < 0) {
        v->rx_rejected[d.why]++;
        return;
    }
    if (d.msg->dir != BL_DIR_B2I) {
        v->rx_foreign++;
        return;
    }
    v->rx_frames++;
    j = msg_index(v, d.msg);
    if (j >= 0) {
        v->heard_ms[j] = now_ms;
        v->last[j] = *f;
    }
    if (!repeat)
        read_battery_type(v, d.msg, &d);
}

/* ---- byte protocols: the inverter polls ------------------------------------------------------ */

int bl_inv_tx_bytes(bl_inv_t *v, uint64_t now_ms, uint8_t *out, size_t cap, uint64_t *next_ms)
{
    unsigned k;
    int n;

    *next_ms = BL_NEVER;
    if (v->rs == NULL)
        return 0;
    if (v->rs_wait >= 0) {
        if (now_ms - v->rs_sent_ms < v->rs->reply_ms) {
            *next_ms = v->rs_sent_ms + v->rs->reply_ms;
            return 0;
        }
        v->rs_no_answer++; /* no answer in time: the next command */
        v->rs_wait = -1;
    }
    if (now_ms < v->rs_next_ms) {
        *next_ms = v->rs_next_ms;
        return 0;
    }
    /* the next command of this cycle; the identity commands only until they were answered */
    for (k = v->rs_idx; k < v->rs_n && v->rs_once[k] && v->rs_done[k]; k++)
        ;
    if (k >= v->rs_n) {
        v->rs_idx = 0;
        v->rs_cycle_ms += v->rs->poll_ms ? v->rs->poll_ms : 1000u;
        if (v->rs_cycle_ms <= now_ms)
            v->rs_cycle_ms = now_ms + (v->rs->poll_ms ? v->rs->poll_ms : 1000u);
        v->rs_next_ms = v->rs_cycle_ms;
        *next_ms = v->rs_next_ms;
        return 0;
    }
    n = bl_rs_request(v->p->proto, v->rs_addr, v->rs_cmd[k], false, out, cap);
    v->rs_idx = (uint8_t)(k + 1u);
    v->rs_next_ms = now_ms + v->rs->gap_ms;
    if (n <= 0) {
        *next_ms = v->rs_next_ms;
        return 0;
    }
    v->rs_wait = (int8_t)k;
    v->rs_sent_ms = now_ms;
    v->tx_frames++;
    *next_ms = v->rs_next_ms;
    return n;
}

static bl_reject_t rs_reject(unsigned why)
{
    switch (why) {
    case BL_RSR_CHECKSUM:
    case BL_RSR_LCHKSUM: return BL_REJ_CHECKSUM;
    case BL_RSR_LENGTH:
    case BL_RSR_TRUNCATED:
    case BL_RSR_LAYOUT: return BL_REJ_LENGTH;
    case BL_RSR_TOO_LONG: return BL_REJ_TOO_LONG;
    case BL_RSR_UNKNOWN_CMD: return BL_REJ_UNKNOWN_ID;
    case BL_RSR_RANGE: return BL_REJ_RANGE;
    default: return BL_REJ_SYNTAX;
    }
}

void bl_inv_rx_bytes(bl_inv_t *v, const uint8_t *frame, size_t n, uint64_t now_ms)
{
    bl_rs_frame_t f;
    bl_rsr_t why = BL_RSR_NONE;
    uint32_t fields = 0;
    bool decoded = false;
    int k = -1;

    if (v->rs == NULL)
        return;
    if (bl_rs_session_frame(&v->rsess, frame, n, v->rs_info, sizeof v->rs_info, &f, &why) < 0) {
        v->rx_rejected[rs_reject(why)]++;
        return;
    }
    if (f.request) {
        v->rx_foreign++; /* our own request echoed, or another master */
        return;
    }
    v->rs_wait = -1; /* answered */
    /* no request seen by the session: the command its layout fits, decoded into what it
     * heard when it is one the inverter polls */
    if (f.infer)
        (void)bl_rs_session_infer_memo(&v->rsess, &f, v->rs_cmd, v->rs_n, now_ms, &v->rx, &fields, &decoded,
                                       v->rs_memo, BL_INV_RS_MEMOS);
    for (unsigned j = 0; j < v->rs_n; j++)
        if (v->rs_cmd[j] == f.cmd)
            k = (int)j;
    if (f.rtn != 0) {
        v->rs_error_answers++; /* the pack answered with an error code (no data) */
        return;
    }
    if (f.msg == NULL || k < 0) {
        v->rx_rejected[BL_REJ_UNKNOWN_ID]++;
        return;
    }
    /* all or nothing into what it heard; what this command carries is what the answer set */
    if (!decoded && bl_rs_decode_memo(v->rs, f.msg, f.pl, f.plen, f.group ? 1 : -1, now_ms, &v->rx, &fields,
                                      v->rs_memo, BL_INV_RS_MEMOS) < 0) {
        v->rx_rejected[BL_REJ_LENGTH]++;
        return;
    }
    v->rs_fields[k] |= fields;
    v->rs_done[k] = 1;
    v->rx_frames++;
    v->heard_ms[k] = now_ms;
    /* evidence: the command and the frame's first bytes */
    memset(&v->last[k], 0, sizeof v->last[k]);
    v->last[k].id = f.cmd;
    v->last[k].len = (uint8_t)(n < BL_CAN_MAX_DATA ? n : BL_CAN_MAX_DATA);
    memcpy(v->last[k].data, frame, v->last[k].len);
}

/* ---- transmit ------------------------------------------------------------------------------ */

static bl_inv_slot_t *add_slot(bl_inv_t *v, const bl_message_t *m, uint32_t period, uint64_t now)
{
    bl_inv_slot_t *s;
    if (m == NULL || v->nslots >= BL_INV_MAX_SLOTS)
        return NULL;
    s = &v->slot[v->nslots++];
    memset(s, 0, sizeof *s);
    s->m = m;
    s->period_ms = period;
    s->next_ms = now;
    s->byte = BL_TRIG_ANY;
    s->keepalive = (m->flags & BL_MF_KEEPALIVE) != 0;
    s->turns = 1;
    return s;
}

static bool same_request(const bl_inv_slot_t *s, const bl_message_t *m, const bl_trigger_t *t)
{
    return s->m == m && s->byte == t->byte && s->mask == t->mask && s->value == t->value &&
           s->byte2 == t->byte2 && s->mask2 == t->mask2 && s->value2 == t->value2;
}

/* What this inverter sends on its own, from the protocol's tables. */
static void build_slots(bl_inv_t *v, uint64_t now)
{
    size_t nt;
    const bl_trigger_t *t = bl_proto_triggers(v->p->proto, &nt);

    v->nslots = 0;
    /* the trigger rows: periodic requests, and the rows that start a battery (hello) */
    for (size_t i = 0; i < nt; i++) {
        const bl_message_t *m = bl_can_msg(&v->codec, t[i].req, t[i].ext, BL_DIR_I2B);
        bl_trigger_kind_t kind = bl_trigger_kind(&t[i]); /* periodic, hello or command */
        bool hello = kind == BL_TK_HELLO, cmd = kind == BL_TK_COMMAND;
        bl_inv_slot_t *s;
        bool dup = false;
        if (m == NULL || kind == BL_TK_NONE)
            continue;
        for (unsigned k = 0; k < v->nslots; k++)
            dup = dup || same_request(&v->slot[k], m, &t[i]);
        if (dup || (s = add_slot(v, m, hello ? BL_INV_HELLO_RETRY_MS : t[i].period_ms, now)) == NULL)
            continue;
        s->hello = hello;
        s->on_detect = cmd;
        if (cmd)
            s->period_ms = 0;
        s->byte = t[i].byte;
        s->mask = t[i].mask;
        s->value = t[i].value;
        s->byte2 = t[i].byte2;
        s->mask2 = t[i].mask2;
        s->value2 = t[i].value2;
    }
    /* rows that ask the same message with other selector bytes at the same period take turns:
     * a PCS sends one 0x4200 a second with byte 0 cycling (can-pylon-hv.md section 5, L) */
    for (unsigned k = 0; k < v->nslots; k++) {
        bl_inv_slot_t *s = &v->slot[k];
        unsigned turn = 0, n = 0;
        if (s->hello || s->on_detect || s->period_ms == 0)
            continue;
        for (unsigned q = 0; q < v->nslots; q++) {
            const bl_inv_slot_t *o = &v->slot[q];
            if (o->m != s->m || o->hello || o->on_detect || o->period_ms != s->period_ms)
                continue;
            turn += q < k;
            n++;
        }
        s->turns = (uint8_t)n;
        s->next_ms = now + (uint64_t)turn * s->period_ms;
    }
    /* messages with a period, and keep-alives without one, unless a periodic row already sends them */
    for (unsigned j = 0; j < v->codec.n; j++) {
        const bl_message_t *m = v->codec.msg[j];
        bool covered = false;
        uint32_t period = m->period_ms;
        if (m->dir != BL_DIR_I2B || !v->codec.sends[j] || (m->flags & BL_MF_ON_REQUEST))
            continue;
        for (unsigned k = 0; k < v->nslots; k++)
            covered = covered || (v->slot[k].m == m && !v->slot[k].hello);
        if (covered)
            continue;
        if (period == 0 && (m->flags & BL_MF_KEEPALIVE) && !(m->flags & BL_MF_REQUEST))
            period = BL_INV_DEFAULT_PERIOD_MS;
        if (period > 0)
            (void)add_slot(v, m, period, now);
    }
}

static void force(bl_can_frame_t *f, uint8_t byte, uint8_t mask, uint8_t value)
{
    if (byte == BL_TRIG_ANY || mask == 0)
        return;
    if (f->len <= byte)
        f->len = (uint8_t)(byte + 1u);
    f->data[byte] = (uint8_t)((f->data[byte] & ~mask) | (value & mask));
}

unsigned bl_inv_tx(bl_inv_t *v, uint64_t now_ms, bl_can_frame_t *out, unsigned cap, uint64_t *next_ms)
{
    unsigned n = 0;
    uint64_t next = BL_NEVER;
    const bl_inv_quirk_t *ka = quirk_row(v, BL_QK_KEEPALIVE_PERIOD);

    for (unsigned k = 0; k < v->nslots; k++) {
        bl_inv_slot_t *s = &v->slot[k];
        const bl_message_t *m = s->m;
        uint64_t period = s->period_ms;
        int j = msg_index(v, m);

        if (s->keepalive && !s->hello) {
            if (has(v, BL_QK_NO_KEEPALIVE))
                continue;
            if (ka != NULL && ka->param[0] > 0)
                period = (uint64_t)ka->param[0];
        }
        period *= s->turns;
        if (s->hello && v->detected)
            continue;
        if (s->on_detect) {
            if (!v->detected)
                s->done = 0;
            if (!v->detected || s->done)
                continue;
            s->next_ms = now_ms; /* due now, once */
        }
        if (now_ms >= s->next_ms && n < cap) {
            s->done = 1;
            unsigned mux = 0;
            if (m->nmux && j >= 0) {
                mux = v->mux_next[j];
                v->mux_next[j] = (uint8_t)((mux + 1u) % m->nmux);
            }
            if (bl_can_encode(&v->codec, m, mux, &v->tx, now_ms, 0, BL_ENC_CLAMP, &out[n], NULL) == 0) {
                force(&out[n], s->byte, s->mask, s->value);
                force(&out[n], s->byte2, s->mask2, s->value2);
                n++;
                v->tx_frames++;
            }
            s->next_ms += period;
            if (s->next_ms <= now_ms)
                s->next_ms = now_ms + period;
        }
        if (!s->on_detect && s->next_ms < next)
            next = s->next_ms;
    }
    if (next_ms != NULL)
        *next_ms = next;
    return n;
}

/* ---- step: what it knows ------------------------------------------------------------------ */

static uint64_t heard_any(const bl_inv_t *v)
{
    uint64_t best = BL_NEVER;
    for (unsigned j = 0; j < nmsg(v); j++)
        if (battery_msg(v, j) && v->heard_ms[j] != BL_NEVER &&
            (best == BL_NEVER || v->heard_ms[j] > best))
            best = v->heard_ms[j];
    return best;
}

static void check_timeouts(bl_inv_t *v)
{
    for (unsigned i = 0; i < v->p->ntimeouts; i++) {
        const bl_inv_timeout_t *t = &v->p->timeouts[i];
        int j = t->msg_id ? msg_index_by_id(v, t->msg_id) : -1;
        uint64_t heard = t->msg_id ? (j >= 0 ? v->heard_ms[j] : BL_NEVER) : heard_any(v);
        /* never heard is "waiting for the battery", not a timeout */
        uint8_t to = heard != BL_NEVER && v->now_ms - heard >= t->after_ms;

        if (to && !v->timed_out[i]) {
            v->timeouts_seen++;
            emit(v, BL_EV_INV_TIMEOUT, (int32_t)t->msg_id, (int32_t)t->after_ms, t->code,
                 j >= 0 ? &v->last[j] : NULL);
        } else if (!to && v->timed_out[i]) {
            emit(v, BL_EV_INV_RESTORED, (int32_t)t->msg_id, 0, NULL, j >= 0 ? &v->last[j] : NULL);
        }
        v->timed_out[i] = to;
    }
}

/* Fields carried by battery message id (all battery fields for id 0). */
static uint32_t fields_of(const bl_inv_t *v, uint32_t id)
{
    int j;
    if (id == 0)
        return (uint32_t)(BL_BIT(BL_F_BATTERY_COUNT) - 1u);
    if ((j = msg_index_by_id(v, id)) < 0)
        return 0;
    return fields_at(v, (unsigned)j);
}

static void set_view(bl_inv_t *v, unsigned field, int32_t value)
{
    v->view.f[field].value = value;
    v->view.f[field].valid = 1;
    v->view.f[field].seen_ms = v->now_ms;
}

static bool setting_wrong(const bl_inv_t *v, unsigned i)
{
    const char *actual = v->setting_value[i];
    return actual != NULL && strcmp(actual, v->p->settings[i].required) != 0;
}

static bool ignores_bms(const bl_inv_t *v)
{
    for (unsigned i = 0; i < v->p->nsettings; i++)
        if (v->p->settings[i].on_wrong == BL_INV_WRONG_IGNORE_BMS && setting_wrong(v, i))
            return true;
    return false;
}

/* Build the values the power stage uses: decoded, minus what it ignores or lost. */
static void build_view(bl_inv_t *v)
{
    const bl_inv_profile_t *p = v->p;
    bool keep = has(v, BL_QK_KEEPS_LAST_VALUES);

    v->view = v->rx;
    if (ignores_bms(v)) {
        for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
            v->view.f[f].valid = 0;
        memset(v->view.active, 0, sizeof v->view.active);
        return;
    }
    for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
        if (!(p->uses >> f & 1u))
            v->view.f[f].valid = 0;
    if (!(p->uses & BL_INV_USES_ALARMS))
        memset(v->view.active, 0, sizeof v->view.active);
    for (unsigned i = 0; i < p->ntimeouts; i++) {
        const bl_inv_timeout_t *t = &p->timeouts[i];
        uint32_t lost;
        if (!v->timed_out[i] || t->action == BL_INV_ACT_NONE)
            continue;
        if (keep) {
            v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_KEEPS_LAST_VALUES);
            continue;
        }
        lost = fields_of(v, t->msg_id);
        for (unsigned f = 0; f < BL_F_BATTERY_COUNT; f++)
            if (lost >> f & 1u)
                v->view.f[f].valid = 0;
        if (t->msg_id == 0)
            memset(v->view.active, 0, sizeof v->view.active);
        for (unsigned k = 0; k < t->ndef; k++)
            if (t->def[k].field < BL_F_BATTERY_COUNT)
                set_view(v, t->def[k].field, t->def[k].value);
    }
}

static bool fresh(const bl_inv_t *v, unsigned f)
{
    return v->view.f[f].valid != 0;
}

static int32_t val(const bl_inv_t *v, unsigned f)
{
    return v->view.f[f].value;
}

static bool name_is(const bl_inv_t *v, const char *text)
{
    const char *m = bl_record_str(&v->view, BL_F_MANUFACTURER);
    return v->view.f[BL_F_MANUFACTURER].valid && m != NULL && strcmp(m, text) == 0;
}

/* The charge voltage it regulates to, after the quirks that bend it. */
static int32_t effective_cvl(bl_inv_t *v)
{
    const bl_inv_quirk_t *q;
    int32_t cvl = fresh(v, BL_F_CVL) ? val(v, BL_F_CVL) : v->p->own_cvl_mV;

    if (fresh(v, BL_F_CVL) && cvl == 0 && has(v, BL_QK_IGNORES_ZERO_LIMITS)) {
        cvl = v->p->own_cvl_mV;
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_IGNORES_ZERO_LIMITS);
    }
    if ((q = quirk_row(v, BL_QK_CVL_CAP_BY_NAME)) != NULL && name_is(v, q->text) && cvl <= q->param[0] &&
        cvl > q->param[1]) {
        cvl = q->param[1];
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_CVL_CAP_BY_NAME);
    }
    if ((q = quirk_row(v, BL_QK_CCL_ZERO_FLOAT_BY_NAME)) != NULL && name_is(v, q->text) &&
        fresh(v, BL_F_CCL) && val(v, BL_F_CCL) == 0) {
        cvl = q->param[0];
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_CCL_ZERO_FLOAT_BY_NAME);
    }
    if ((q = quirk_row(v, BL_QK_CVL_REDUCTION_DELAY)) != NULL) {
        /* a lower CVL is followed only after the delay; a higher one at once */
        if (cvl < v->cvl_prev_mV && v->cvl_drop_ms == BL_NEVER)
            v->cvl_drop_ms = v->now_ms;
        if (cvl >= v->cvl_prev_mV || (v->cvl_drop_ms != BL_NEVER && v->now_ms - v->cvl_drop_ms >= (uint64_t)q->param[0])) {
            v->cvl_prev_mV = cvl;
            v->cvl_drop_ms = BL_NEVER;
        } else {
            cvl = v->cvl_prev_mV;
            v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_CVL_REDUCTION_DELAY);
        }
    }
    return cvl;
}

/* ---- step: state ------------------------------------------------------------------------- */

typedef struct {
    uint8_t state;
    const char *code;
    const bl_can_frame_t *evidence;
} cause_t;

static const bl_can_frame_t *evidence_for(const bl_inv_t *v, uint32_t id)
{
    int j = msg_index_by_id(v, id);
    return j >= 0 && v->heard_ms[j] != BL_NEVER ? &v->last[j] : NULL;
}

/* Evidence: the last frame that carried field f. */
static const bl_can_frame_t *evidence_field(const bl_inv_t *v, unsigned f)
{
    const bl_can_frame_t *best = NULL;
    uint64_t t = 0;
    for (unsigned j = 0; j < nmsg(v); j++) {
        if (!battery_msg(v, j) || v->heard_ms[j] == BL_NEVER)
            continue;
        if ((fields_at(v, j) >> f & 1u) && (best == NULL || v->heard_ms[j] >= t)) {
            best = &v->last[j];
            t = v->heard_ms[j];
        }
    }
    return best;
}

static bool detected(bl_inv_t *v, cause_t *c)
{
    c->code = "";
    c->evidence = NULL;
    const bl_inv_quirk_t *q;
    if (v->p->ndetect == 0) {
        if (heard_any(v) == BL_NEVER)
            return false;
    }
    for (unsigned i = 0; i < v->p->ndetect; i++) {
        int j = msg_index_by_id(v, v->p->detect[i]);
        if (j < 0 || v->heard_ms[j] == BL_NEVER)
            return false;
    }
    if ((q = quirk_row(v, BL_QK_REQUIRES_MANUFACTURER)) != NULL && !name_is(v, q->text)) {
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_REQUIRES_MANUFACTURER);
        c->code = q->code;
        c->evidence = evidence_field(v, BL_F_MANUFACTURER);
        return false;
    }
    return true;
}

static bool battery_type_rejected(bl_inv_t *v, cause_t *c)
{
    const bl_inv_quirk_t *q = quirk_row(v, BL_QK_REJECTS_BATTERY_TYPE);
    if (q == NULL || v->battery_type < 0)
        return false;
    for (unsigned i = 0; i < q->nparam; i++)
        if (v->battery_type == q->param[i]) {
            v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_REJECTS_BATTERY_TYPE);
            c->state = BL_INV_FAULT;
            c->code = q->code;
            c->evidence = evidence_for(v, q->msg_id);
            return true;
        }
    return false;
}

static int first_alarm(bl_alarm_mask_t m)
{
    for (int a = 0; a < BL_A_COUNT; a++)
        if (m >> a & 1u)
            return a;
    return -1;
}

/* Why it must not run now (the first cause in priority order), false when none. */
static bool stop_cause(bl_inv_t *v, const bl_inv_env_t *env, cause_t *c)
{
    const bl_inv_profile_t *p = v->p;
    const bl_inv_quirk_t *q;
    bl_alarm_mask_t alarms;

    const char *wait_code = c->code; /* why detection failed, when it says */
    const bl_can_frame_t *wait_ev = c->evidence;

    c->state = BL_INV_WAIT;
    c->code = "";
    c->evidence = NULL;
    for (unsigned i = 0; i < p->nsettings; i++)
        if (setting_wrong(v, i) && p->settings[i].on_wrong == BL_INV_WRONG_FAULT) {
            c->state = BL_INV_FAULT;
            c->code = p->settings[i].code;
            return true;
        } else if (setting_wrong(v, i) && p->settings[i].on_wrong == BL_INV_WRONG_NOT_DETECTED) {
            c->code = p->settings[i].code;
            return true;
        }
    if (ignores_bms(v))
        return false; /* runs on its own values */
    if (!v->detected) {
        c->code = wait_code;
        c->evidence = wait_ev;
        return true;
    }
    for (unsigned i = 0; i < p->ntimeouts; i++) {
        const bl_inv_timeout_t *t = &p->timeouts[i];
        if (!v->timed_out[i] || has(v, BL_QK_KEEPS_LAST_VALUES))
            continue;
        if (t->action == BL_INV_ACT_STANDBY || t->action == BL_INV_ACT_FAULT || t->action == BL_INV_ACT_CUT_OUTPUT) {
            c->state = t->action == BL_INV_ACT_STANDBY ? BL_INV_STANDBY
                       : t->action == BL_INV_ACT_FAULT ? BL_INV_FAULT
                                                       : BL_INV_OFF;
            c->code = t->code;
            c->evidence = t->msg_id ? evidence_for(v, t->msg_id) : NULL;
            return true;
        }
    }
    if (battery_type_rejected(v, c))
        return true;
    if ((q = quirk_row(v, BL_QK_BLOCKS_BATTERY)) != NULL) {
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_BLOCKS_BATTERY);
        c->state = BL_INV_FAULT;
        c->code = q->code;
        return true;
    }
    if (has(v, BL_QK_CVL_ZERO_OVERVOLTAGE) && fresh(v, BL_F_CVL) && val(v, BL_F_CVL) == 0) {
        q = quirk_row(v, BL_QK_CVL_ZERO_OVERVOLTAGE);
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_CVL_ZERO_OVERVOLTAGE);
        c->state = BL_INV_FAULT;
        c->code = q->code;
        c->evidence = evidence_field(v, BL_F_CVL);
        return true;
    }
    alarms = (bl_alarm_mask_t)(v->view.active[BL_AC_ALARM] | v->view.active[BL_AC_PROTECTION]);
    if (alarms && (p->on_alarm == BL_INV_ALARM_STANDBY || has(v, BL_QK_ANY_ALARM_STANDBY))) {
        int a = first_alarm(alarms);
        if (has(v, BL_QK_ANY_ALARM_STANDBY))
            v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_ANY_ALARM_STANDBY);
        c->state = BL_INV_FAULT;
        c->code = a >= 0 && p->alarm_code[a][0] ? p->alarm_code[a] : "alarm";
        return true;
    }
    if (has(v, BL_QK_ISLAND_SHUTDOWN_DCL_ZERO) && !env->grid && fresh(v, BL_F_DCL) && val(v, BL_F_DCL) == 0) {
        q = quirk_row(v, BL_QK_ISLAND_SHUTDOWN_DCL_ZERO);
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_ISLAND_SHUTDOWN_DCL_ZERO);
        c->state = BL_INV_OFF;
        c->code = q->code;
        c->evidence = evidence_field(v, BL_F_DCL);
        return true;
    }
    return false;
}

static void set_state(bl_inv_t *v, uint8_t st, const char *code, const bl_can_frame_t *ev)
{
    if (st == v->state && strcmp(code, v->code) == 0)
        return;
    if (st == BL_INV_FAULT)
        v->faults++;
    emit(v, BL_EV_INV_STATE, v->state, st, code, ev);
    v->state = st;
    copy_code(v->code, code);
}

static void update_state(bl_inv_t *v, const bl_inv_env_t *env)
{
    cause_t c;
    bool det = detected(v, &c);

    if (det != (v->detected != 0)) {
        emit(v, BL_EV_INV_DETECT, det, 0, NULL, NULL);
        v->detected = det;
        if (!det) /* lost: ask for the identity again */
            memset(v->rs_done, 0, sizeof v->rs_done);
    }
    if (stop_cause(v, env, &c)) {
        v->cause_gone_ms = BL_NEVER;
        set_state(v, c.state, c.code, c.evidence);
        return;
    }
    /* back to running: at once from waiting, after the restart delay otherwise */
    if (v->state == BL_INV_RUN)
        return;
    if (v->state != BL_INV_WAIT) {
        if (v->cause_gone_ms == BL_NEVER)
            v->cause_gone_ms = v->now_ms;
        if (v->now_ms - v->cause_gone_ms < v->p->restart_ms)
            return;
    }
    v->cause_gone_ms = BL_NEVER;
    set_state(v, BL_INV_RUN, "", NULL);
}

/* ---- step: power stage ------------------------------------------------------------------------- */

static int32_t ma_of_w(int32_t w, int32_t v_mV)
{
    return clamp32((int64_t)w * 1000000 / v_mV, INT32_MIN, INT32_MAX);
}

/* rounded up: a discharge that covers the load covers all of it */
static int32_t ma_of_w_up(int32_t w, int32_t v_mV)
{
    return clamp32(((int64_t)w * 1000000 + v_mV - 1) / v_mV, INT32_MIN, INT32_MAX);
}

static int32_t regulate(int32_t cap, int64_t err_mV, int32_t max)
{
    return clamp32((int64_t)cap + err_mV * CV_GAIN_mA_PER_mV, 0, max);
}

/* Highest charge current it allows, and which quirks bent the rule. */
static int32_t charge_cap(bl_inv_t *v, const bl_inv_env_t *env, int32_t max, bool pv_only)
{
    const bl_inv_profile_t *p = v->p;
    int32_t cap = max, ccl;
    bool ign = has(v, BL_QK_IGNORES_CURRENT_LIMITS);
    const bl_inv_quirk_t *q;

    ccl = fresh(v, BL_F_CCL) ? val(v, BL_F_CCL) : p->own_ccl_mA;
    if (fresh(v, BL_F_CCL) && ccl == 0 && has(v, BL_QK_IGNORES_ZERO_LIMITS)) {
        ccl = max;
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_IGNORES_ZERO_LIMITS);
    }
    if ((q = quirk_row(v, BL_QK_CCL_ZERO_FLOAT_BY_NAME)) != NULL && name_is(v, q->text) && fresh(v, BL_F_CCL) &&
        val(v, BL_F_CCL) == 0)
        ccl = q->param[1];
    if (pv_only && has(v, BL_QK_CHARGES_AT_CCL_ZERO) && fresh(v, BL_F_CCL) && val(v, BL_F_CCL) == 0) {
        q = quirk_row(v, BL_QK_CHARGES_AT_CCL_ZERO);
        ccl = q->param[0] > 0 ? q->param[0] : max;
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_CHARGES_AT_CCL_ZERO);
    }
    if (!ign && ccl < cap)
        cap = ccl;
    if (fresh(v, BL_F_CHARGE_ENABLE) && !val(v, BL_F_CHARGE_ENABLE) && !ign) {
        if (has(v, BL_QK_IGNORES_ENABLE_FLAGS))
            v->quirk_acting |= cap > 0 ? (uint32_t)BL_BIT(BL_QK_IGNORES_ENABLE_FLAGS) : 0u;
        else
            cap = 0;
    }
    if (p->on_alarm == BL_INV_ALARM_STOP_DIRECTION &&
        ((v->view.active[BL_AC_ALARM] | v->view.active[BL_AC_PROTECTION]) & ALARM_CHG))
        cap = 0;
    if ((ign || has(v, BL_QK_STOPS_AT_FULL_SOC)) && (!fresh(v, BL_F_SOC) || val(v, BL_F_SOC) >= 100000)) {
        if (has(v, BL_QK_STOPS_AT_FULL_SOC) && cap > 0)
            v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_STOPS_AT_FULL_SOC);
        cap = 0;
    }
    /* constant-voltage stage: follow the charge voltage limit */
    if (v->cvl_eff_mV > 0)
        v->cv_cap_mA = regulate(v->cv_cap_mA, (int64_t)v->cvl_eff_mV - env->v_mV, max);
    else
        v->cv_cap_mA = 0;
    return cap < v->cv_cap_mA ? cap : v->cv_cap_mA;
}

static int32_t soc_floor(const bl_inv_t *v, const bl_inv_env_t *env)
{
    if (has(v, BL_QK_IGNORES_CURRENT_LIMITS))
        return 0; /* stops only at SOC 0 % */
    return env->grid ? v->p->soc_min_mpct : v->p->soc_min_offgrid_mpct;
}

static int32_t discharge_cap(bl_inv_t *v, const bl_inv_env_t *env, int32_t max, bool *dcl_ignored)
{
    const bl_inv_profile_t *p = v->p;
    int32_t cap = max, dcl, dvl, floor = soc_floor(v, env);
    bool ign = has(v, BL_QK_IGNORES_CURRENT_LIMITS);

    *dcl_ignored = ign;
    dcl = fresh(v, BL_F_DCL) ? val(v, BL_F_DCL) : p->own_dcl_mA;
    if (fresh(v, BL_F_DCL) && dcl == 0 && has(v, BL_QK_IGNORES_ZERO_LIMITS)) {
        dcl = max;
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_IGNORES_ZERO_LIMITS);
    }
    if (!env->grid && has(v, BL_QK_IGNORES_DCL_OFFGRID))
        *dcl_ignored = true;
    if (!*dcl_ignored && dcl < cap)
        cap = dcl;
    if (fresh(v, BL_F_DISCHARGE_ENABLE) && !val(v, BL_F_DISCHARGE_ENABLE) && !ign) {
        if (has(v, BL_QK_IGNORES_ENABLE_FLAGS))
            v->quirk_acting |= cap > 0 ? (uint32_t)BL_BIT(BL_QK_IGNORES_ENABLE_FLAGS) : 0u;
        else
            cap = 0;
    }
    if (p->on_alarm == BL_INV_ALARM_STOP_DIRECTION &&
        ((v->view.active[BL_AC_ALARM] | v->view.active[BL_AC_PROTECTION]) & ALARM_DSG))
        cap = 0;
    /* its own SOC floor, with hysteresis; an unknown SOC is an empty battery */
    if (!fresh(v, BL_F_SOC) || val(v, BL_F_SOC) <= floor)
        v->soc_cut = 1;
    else if (val(v, BL_F_SOC) >= floor + p->soc_hyst_mpct)
        v->soc_cut = 0;
    if (v->soc_cut)
        cap = 0;
    /* keep the battery above the discharge voltage limit */
    dvl = fresh(v, BL_F_DVL) ? val(v, BL_F_DVL) : p->own_dvl_mV;
    if (dvl > 0) {
        v->dv_cap_mA = regulate(v->dv_cap_mA, (int64_t)env->v_mV - dvl, max);
        if (v->dv_cap_mA < cap)
            cap = v->dv_cap_mA;
    }
    return cap;
}

static void power(bl_inv_t *v, const bl_inv_env_t *env, bl_inv_out_t *out)
{
    const bl_inv_profile_t *p = v->p;
    int32_t vb = env->v_mV > 1000 ? env->v_mV : 1000;
    int32_t net = env->pv_W - env->load_W; /* + surplus */
    int32_t cmax = ma_of_w(p->max_charge_W, vb), dmax = ma_of_w(p->max_discharge_W, vb);
    int32_t want_c = net > 0 ? ma_of_w(net, vb) : 0, want_d = net < 0 ? ma_of_w_up(-net, vb) : 0;
    bool grid_charge = false, dcl_ign = false;
    int32_t ccap, dcap, i = 0;

    v->cvl_eff_mV = effective_cvl(v);
    if (env->grid && fresh(v, BL_F_FORCE_CHARGE) && val(v, BL_F_FORCE_CHARGE) && p->force_charge_mA > 0 &&
        want_c < p->force_charge_mA) {
        want_c = p->force_charge_mA;
        want_d = 0;
        grid_charge = true;
    }
    if (env->grid && p->uses_full_charge && fresh(v, BL_F_FULL_CHARGE_REQ) && val(v, BL_F_FULL_CHARGE_REQ)) {
        want_c = cmax;
        want_d = 0;
        grid_charge = true;
    }
    ccap = charge_cap(v, env, cmax, !grid_charge);
    dcap = discharge_cap(v, env, dmax, &dcl_ign);
    if (want_c > 0)
        i = want_c < ccap ? want_c : ccap;
    else if (want_d > 0)
        i = -(want_d < dcap ? want_d : dcap);

    /* the Sunny Island rule: CVL below the battery voltage is a set-point to discharge to */
    if (has(v, BL_QK_DISCHARGE_TO_CVL) && fresh(v, BL_F_CVL) && v->cvl_eff_mV > 0 && v->cvl_eff_mV < env->v_mV) {
        int32_t dcl = fresh(v, BL_F_DCL) ? val(v, BL_F_DCL) : 0;
        i = -dmax;
        if (dmax > dcl)
            v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_DISCHARGE_TO_CVL);
    }
    if (has(v, BL_QK_IGNORES_CURRENT_LIMITS)) {
        if ((i > 0 && fresh(v, BL_F_CCL) && i > val(v, BL_F_CCL)) || (i < 0 && fresh(v, BL_F_DCL) && -i > val(v, BL_F_DCL)))
            v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_IGNORES_CURRENT_LIMITS);
    }
    if (dcl_ign && !has(v, BL_QK_IGNORES_CURRENT_LIMITS) && i < 0 && fresh(v, BL_F_DCL) && -i > val(v, BL_F_DCL))
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_IGNORES_DCL_OFFGRID);

    out->i_mA = i;
    {
        /* in mW: the battery's share of the power balance (+ into the battery); what is
         * left below 1 W is the mA rounding of the current, not power */
        int64_t balance = ((int64_t)env->load_W - env->pv_W) * 1000 + (int64_t)i * vb / 1000;
        int32_t w = (int32_t)(balance / 1000);
        if (env->grid)
            out->grid_W = w;
        else if (w > 0)
            out->unserved_W = w; /* PV and battery could not carry the load */
        else
            out->curtailed_W = -w;
    }
}

static void fill_tx(bl_inv_t *v, const bl_inv_env_t *env)
{
    int32_t err = 0;
    const char *c = v->code;
    uint64_t now = v->now_ms;

    bl_record_set(&v->tx, BL_F_INV_VOLTAGE, env->v_mV, 1, now);
    bl_record_set(&v->tx, BL_F_INV_CURRENT, env->i_mA, 1, now);
    bl_record_set(&v->tx, BL_F_INV_TEMP, env->temp_mdegC, 1, now);
    if (fresh(v, BL_F_SOC))
        bl_record_set(&v->tx, BL_F_INV_SOC, val(v, BL_F_SOC), 1, now);
    else
        bl_record_clear(&v->tx, BL_F_INV_SOC);
    /* operating state as the SMA 0x306 byte counts it: 1 operating, 3 warning, 4 failure */
    bl_record_set(&v->tx, BL_F_INV_STATE,
                  v->state == BL_INV_RUN ? (v->warn_code[0] ? 3 : 1) : v->state == BL_INV_FAULT ? 4 : 0, 0, now);
    for (; *c; c++)
        if (*c >= '0' && *c <= '9' && err < 100000)
            err = err * 10 + (*c - '0');
    bl_record_set(&v->tx, BL_F_INV_ERROR, err, 0, now);
}

void bl_inv_step(bl_inv_t *v, const bl_inv_env_t *env, uint64_t now_ms, bl_inv_out_t *out)
{
    uint32_t before = v->quirk_acting;
    const char *warn = "";

    memset(out, 0, sizeof *out);
    v->now_ms = now_ms;
    v->quirk_acting = 0;
    if (has(v, BL_QK_KEEPALIVE_PERIOD))
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_KEEPALIVE_PERIOD);
    if (has(v, BL_QK_NO_KEEPALIVE))
        v->quirk_acting |= (uint32_t)BL_BIT(BL_QK_NO_KEEPALIVE);
    for (unsigned i = 0; i < v->p->nsettings; i++)
        if (setting_wrong(v, i) && !(v->settings_reported >> i & 1u)) {
            v->settings_reported |= (uint32_t)BL_BIT(i);
            emit(v, BL_EV_SETTING, (int32_t)i, v->p->settings[i].on_wrong, v->p->settings[i].code, NULL);
        } else if (!setting_wrong(v, i)) {
            v->settings_reported &= ~(uint32_t)BL_BIT(i);
        }
    check_timeouts(v);
    build_view(v);
    for (unsigned i = 0; i < v->p->ntimeouts; i++)
        if (v->timed_out[i] && v->p->timeouts[i].action == BL_INV_ACT_WARNING && !has(v, BL_QK_KEEPS_LAST_VALUES))
            warn = v->p->timeouts[i].code;
    copy_code(v->warn_code, warn);
    update_state(v, env);

    if (v->state == BL_INV_RUN) {
        power(v, env, out);
    } else {
        v->cv_cap_mA = v->dv_cap_mA = 0;
        if (v->state == BL_INV_OFF)
            out->unserved_W = env->load_W;
        else if (env->grid)
            out->grid_W = env->load_W - env->pv_W;
        else if (env->load_W > env->pv_W)
            out->unserved_W = env->load_W - env->pv_W;
    }
    if ((out->unserved_W > 0) != (v->unserved != 0)) {
        v->unserved = out->unserved_W > 0;
        emit(v, BL_EV_UNSERVED, v->unserved, out->unserved_W, NULL, NULL);
    }
    /* report each quirk when it starts to act */
    for (unsigned q = 0; q < BL_QK_COUNT; q++)
        if ((v->quirk_acting >> q & 1u) && !(before >> q & 1u)) {
            const bl_inv_quirk_t *row = quirk_row(v, q);
            v->quirk_acted[q]++;
            emit(v, BL_EV_QUIRK, (int32_t)q, out->i_mA, row != NULL ? row->code : NULL, NULL);
        }
    fill_tx(v, env);
}
