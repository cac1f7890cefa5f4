/*
 * gencaptures: the library of synthetic field captures for `bmslink diagnose`.
 *
 *   gencaptures DIR          write every capture as DIR/NAME.log (candump -L) or NAME.hex (RS485, hex485)
 *   gencaptures NAME         one capture on stdout
 *   gencaptures --list       the names
 *
 * Each capture is a small closed loop with injected time: a LiFePO4 pack with a BMS
 * (OCV curve, internal resistance, SOC by coulomb counting, CVL/CCL/DCL derating,
 * alarms) speaking a protocol through bmslink's table encoder, and an inverter that
 * speaks its side of the protocol (keep-alives, polls, session commands through the
 * trigger rows, answers through bl_can_react()), decodes the battery with the table
 * decoder and drives the current within the limits it heard -- or not, when a fault
 * says so. Faults are hooks on that loop: frames lost, altered on the wire, values
 * frozen in the BMS, an inverter that ignores limits, error frames, garbage lines.
 * Everything is deterministic (integer time, a fixed LCG), so the committed captures
 * are exactly what this program writes; each NAME.expect beside them says what diagnose
 * must find in each.
 */
#include "bmslink/canerr.h"
#include "bmslink/capture.h"
#include "bmslink/protocol.h"
#include "bmslink/rs485.h"
#include "bmslink/sim.h"
#include "bmslink/simload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_US 10000u /* the loop runs every 10 ms */
#define MAX_SLOTS 32

typedef struct site site_t;

typedef struct {
    const bl_message_t *m;
    const bl_trigger_t *row; /* NULL: a periodic message of its own */
    uint32_t period_ms;      /* 0: once */
    uint64_t next_us;
    uint8_t kind;            /* 0 periodic, 1 hello (until the battery starts), 2 once after the battery started */
    uint8_t done;
} slot_t;

struct site {
    const bl_protocol_t *p;
    bl_can_codec_t bat;      /* the battery's codec and session */
    bl_can_codec_t inv;      /* the inverter's decoder of the battery, and its encoder */
    bl_record_t rec;         /* what the BMS says */
    bl_record_t seen;        /* what the inverter heard */
    bl_record_t irec;        /* the inverter's own values */
    FILE *fp;
    uint64_t t0_us, now_us, last_us, end_us;
    uint32_t rng;
    unsigned lines;
    /* pack */
    unsigned cells;
    double cap_Ah, soc, temp, i_A, r_cell, ccl_max, dcl_max;
    double ccl, dcl, cvl, dvl;
    double meas_i;           /* what the BMS measured last */
    bl_alarm_mask_t alarms[BL_AC_COUNT];
    /* inverter */
    bool inv_talks, obey, hears;
    uint64_t heard_us;       /* last battery frame the inverter decoded */
    double (*plan)(site_t *s, double t_s); /* current it asks for, A, + charging */
    slot_t slot[MAX_SLOTS];
    unsigned nslots;
    uint64_t next_b[BL_CAN_MAX_MSGS];
    /* faults: hooks and their parameters */
    bool (*drop)(site_t *s, const bl_can_frame_t *f, bool battery);
    void (*wire)(site_t *s, bl_can_frame_t *f, bool battery);
    void (*bms)(site_t *s);
    void (*tick)(site_t *s);
    double par[8];
    int ipar[8];
    bool bat_on;             /* the battery sends at all */
    /* RS485 byte protocols: the inverter polls, the battery answers (hex485 lines) */
    bool rs;
    const bl_rs485_codec_t *rsc;
    bl_rs_session_t bsess, isess;
    uint8_t poll_addr, bat_addr;
    uint64_t next_poll_us;
    bool once_done;
    void (*rs_wire)(site_t *s, uint8_t *b, size_t *n, bool battery); /* alter bytes on the line */
    bool (*rs_drop)(site_t *s, bool battery);
};

/* ---- deterministic noise -------------------------------------------------------------- */

static uint32_t rnd(site_t *s)
{
    s->rng = s->rng * 1664525u + 1013904223u;
    return s->rng >> 8;
}

/* uniform in [-a, a] */
static double noise(site_t *s, double a)
{
    return ((double)(rnd(s) % 2001u) / 1000.0 - 1.0) * a;
}

static double t_s(const site_t *s)
{
    return (double)(s->now_us - s->t0_us) / 1e6;
}

/* ---- output ------------------------------------------------------------------------- */

static void emit_at(site_t *s, const bl_can_frame_t *f, uint64_t ts)
{
    bl_cap_frame_t cf;
    char line[256];

    if (ts <= s->last_us)
        ts = s->last_us + 37u;
    s->last_us = ts;
    memset(&cf, 0, sizeof cf);
    cf.ts_us = ts;
    cf.has_ts = 1;
    strcpy(cf.bus, "can0");
    cf.f = *f;
    if (bl_capture_format_log(&cf, line, sizeof line) > 0) {
        fputs(line, s->fp);
        fputc('\n', s->fp);
        s->lines++;
    }
}

static void raw_line(site_t *s, const char *text)
{
    fputs(text, s->fp);
    fputc('\n', s->fp);
    s->lines++;
}

/* ---- the pack and its BMS ------------------------------------------------------------- */

static const double ocv_tab[11] = { 2.90, 3.20, 3.25, 3.28, 3.30, 3.31, 3.32, 3.33, 3.34, 3.35, 3.45 };

static double ocv(double soc)
{
    int i = (int)(soc / 10.0);
    if (soc <= 0)
        return ocv_tab[0];
    if (i >= 10)
        return ocv_tab[10];
    return ocv_tab[i] + (ocv_tab[i + 1] - ocv_tab[i]) * (soc - i * 10.0) / 10.0;
}

static double cell_v(const site_t *s)
{
    return ocv(s->soc) + s->i_A * s->r_cell;
}

static void bms(site_t *s)
{
    uint64_t ms = (s->now_us - s->t0_us) / 1000u;
    double v = cell_v(s);
    bl_record_t *r = &s->rec;

    /* derating: full above 95 %, empty below 10 %, hot above 40 C */
    s->ccl = s->soc > 95.0 ? s->ccl_max * (100.0 - s->soc) / 5.0 : s->ccl_max;
    s->dcl = s->soc < 10.0 ? s->dcl_max * (s->soc - 3.0) / 7.0 : s->dcl_max;
    if (s->temp > 40.0)
        s->ccl *= 0.5;
    if (s->ccl < 0)
        s->ccl = 0;
    if (s->dcl < 0)
        s->dcl = 0;
    s->cvl = 3.45 * s->cells;
    s->dvl = 3.00 * s->cells;
    s->meas_i = s->i_A + noise(s, 0.25);
    bl_record_set(r, BL_F_SOC, (int32_t)lround(s->soc * 1000.0), 0, ms);
    bl_record_set(r, BL_F_SOH, 99000, 0, ms);
    bl_record_set(r, BL_F_VOLTAGE, (int32_t)lround((v * s->cells + noise(s, 0.004)) * 1000.0), 2, ms);
    bl_record_set(r, BL_F_CURRENT, (int32_t)lround(s->meas_i * 1000.0), 1, ms);
    bl_record_set(r, BL_F_TEMP, (int32_t)lround(s->temp * 1000.0), 1, ms);
    bl_record_set(r, BL_F_TEMP_MIN, (int32_t)lround((s->temp - 1.5) * 1000.0), 1, ms);
    bl_record_set(r, BL_F_TEMP_MAX, (int32_t)lround((s->temp + 1.5) * 1000.0), 1, ms);
    bl_record_set(r, BL_F_CELL_V_MIN, (int32_t)lround((v - 0.004) * 1000.0), 3, ms);
    bl_record_set(r, BL_F_CELL_V_MAX, (int32_t)lround((v + 0.004) * 1000.0), 3, ms);
    bl_record_set(r, BL_F_CVL, (int32_t)lround(s->cvl * 1000.0), 1, ms);
    bl_record_set(r, BL_F_CCL, (int32_t)lround(s->ccl * 1000.0), 1, ms);
    bl_record_set(r, BL_F_DCL, (int32_t)lround(s->dcl * 1000.0), 1, ms);
    bl_record_set(r, BL_F_DVL, (int32_t)lround(s->dvl * 1000.0), 1, ms);
    bl_record_set(r, BL_F_CHARGE_ENABLE, s->ccl > 0, 0, ms);
    bl_record_set(r, BL_F_DISCHARGE_ENABLE, s->dcl > 0, 0, ms);
    bl_record_set(r, BL_F_FORCE_CHARGE, 0, 0, ms);
    bl_record_set(r, BL_F_FULL_CHARGE_REQ, 0, 0, ms);
    bl_record_set(r, BL_F_MODULE_COUNT, (int32_t)(s->cells / 16u ? s->cells / 16u : 1u), 0, ms);
    bl_record_set(r, BL_F_CAPACITY, (int32_t)lround(s->cap_Ah * 1000.0), 1, ms);
    bl_record_set(r, BL_F_CYCLE_COUNT, 123, 0, ms);
    for (unsigned k = 0; k < BL_AC_COUNT; k++) {
        r->known[k] = BL_A_ALL;
        r->active[k] = s->alarms[k];
        r->alarm_seen_ms[k] = ms;
    }
    if (s->bms != NULL)
        s->bms(s);
}

static void physics(site_t *s)
{
    double dt = TICK_US / 1e6, want = s->plan ? s->plan(s, t_s(s)) : 0.0, step;

    /* the inverter drives toward what it wants within the limits it heard (fresh ones) */
    if (s->obey) {
        double lim_c, lim_d;
        bool fresh = s->hears && s->now_us - s->heard_us < 10000000u;
        const bl_field_t *c = &s->seen.f[BL_F_CCL], *d = &s->seen.f[BL_F_DCL];
        const bl_field_t *ce = &s->seen.f[BL_F_CHARGE_ENABLE], *de = &s->seen.f[BL_F_DISCHARGE_ENABLE];
        if (!fresh) {
            lim_c = lim_d = 0; /* no battery data: it stops */
        } else {
            lim_c = c->valid ? c->value / 1000.0 : 0;
            lim_d = d->valid ? d->value / 1000.0 : 0;
            if (ce->valid && ce->value == 0)
                lim_c = 0;
            if (de->valid && de->value == 0)
                lim_d = 0;
        }
        if (want > lim_c)
            want = lim_c;
        if (want < -lim_d)
            want = -lim_d;
    }
    step = 40.0 * dt; /* its current ramps at 40 A/s */
    if (want > s->i_A + step)
        s->i_A += step;
    else if (want < s->i_A - step)
        s->i_A -= step;
    else
        s->i_A = want;
    s->soc += s->i_A * dt / 3600.0 / s->cap_Ah * 100.0;
    if (s->soc > 100.0)
        s->soc = 100.0;
    if (s->soc < 0.0)
        s->soc = 0.0;
    s->temp += (s->i_A * s->i_A * s->r_cell * s->cells * 0.00002 - (s->temp - 24.0) * 0.0005) * dt;
}

/* ---- talking ------------------------------------------------------------------------ */

static void inverter_hears(site_t *s, const bl_can_frame_t *f)
{
    bl_decoded_t d;
    if (bl_can_decode(&s->inv, f, (s->now_us - s->t0_us) / 1000u, &s->seen, &d) == 0 && d.msg->dir == BL_DIR_B2I) {
        s->heard_us = s->now_us;
        s->hears = true;
    }
}

static void send_battery(site_t *s, const bl_message_t *m, unsigned mux, uint64_t ts)
{
    bl_can_frame_t f;
    if (!s->bat_on || bl_can_encode(&s->bat, m, mux, &s->rec, (s->now_us - s->t0_us) / 1000u, 0, BL_ENC_CLAMP, &f,
                                    NULL) < 0)
        return;
    if (s->wire != NULL)
        s->wire(s, &f, true);
    if (s->drop != NULL && s->drop(s, &f, true))
        return;
    emit_at(s, &f, ts);
    inverter_hears(s, &f);
}

static void battery_hears(site_t *s, const bl_can_frame_t *f, uint64_t ts)
{
    bl_reaction_t r;
    uint8_t muxn[BL_REACT_MAX];

    if (!s->bat_on || bl_can_react(&s->bat, f, (s->now_us - s->t0_us) / 1000u, &r) <= 0)
        return;
    for (unsigned i = 0; i < r.n; i++) {
        muxn[i] = 0;
        for (unsigned k = 0; k < i; k++)
            if (r.send[k] == r.send[i])
                muxn[i]++;
        send_battery(s, r.send[i], muxn[i], ts + 1500u + i * 250u);
    }
}

static void send_inverter(site_t *s, const slot_t *sl, uint64_t ts)
{
    bl_can_frame_t f;
    const bl_trigger_t *t = sl->row;

    if (bl_can_encode(&s->inv, sl->m, 0, &s->irec, (s->now_us - s->t0_us) / 1000u, 0, BL_ENC_CLAMP, &f, NULL) < 0)
        return;
    if (t != NULL && t->byte != BL_TRIG_ANY && t->byte < f.len)
        f.data[t->byte] = (uint8_t)((f.data[t->byte] & ~t->mask) | (t->value & t->mask));
    if (t != NULL && t->mask2 != 0 && t->byte2 < f.len)
        f.data[t->byte2] = (uint8_t)((f.data[t->byte2] & ~t->mask2) | (t->value2 & t->mask2));
    if (s->wire != NULL)
        s->wire(s, &f, false);
    if (s->drop != NULL && s->drop(s, &f, false))
        return;
    emit_at(s, &f, ts);
    battery_hears(s, &f, ts);
}

static bool has_slot_for(const site_t *s, const bl_message_t *m)
{
    for (unsigned i = 0; i < s->nslots; i++)
        if (s->slot[i].m == m && s->slot[i].kind == 0)
            return true;
    return false;
}

static void add_slot(site_t *s, const bl_message_t *m, const bl_trigger_t *row, uint32_t period, uint8_t kind)
{
    slot_t *sl;
    if (s->nslots >= MAX_SLOTS || m == NULL)
        return;
    sl = &s->slot[s->nslots++];
    memset(sl, 0, sizeof *sl);
    sl->m = m;
    sl->row = row;
    sl->period_ms = period;
    sl->kind = kind;
    sl->next_us = s->t0_us + 500000u + s->nslots * 7000u;
}

/* The inverter's side of the protocol, from the tables: its periodic messages, the
 * requests of trigger rows that have a period, the rows that start a battery (every
 * 10 s until it answers), the rows that move the session forward (once), and a 1 s
 * keep-alive where no document gives a period. */
static void inverter_plan(site_t *s)
{
    size_t nt;
    const bl_trigger_t *t = bl_proto_triggers(s->p, &nt);
    bool periodic = false;

    for (size_t i = 0; i < nt; i++) {
        const bl_message_t *m = bl_can_msg(&s->inv, t[i].req, t[i].ext, BL_DIR_I2B);
        if (t[i].period_ms > 0) {
            add_slot(s, m, &t[i], t[i].period_ms, 0);
            periodic = true;
        } else if (t[i].action & BL_TA_START) {
            add_slot(s, m, &t[i], 10000, 1);
        } else if (t[i].next_state != BL_STATE_KEEP && t[i].next_state > 0) {
            add_slot(s, m, &t[i], 0, 2);
        } else if (t[i].next_state == BL_STATE_KEEP && (t[i].action & BL_TA_RESPOND) && t[i].byte != BL_TRIG_ANY) {
            add_slot(s, m, &t[i], 0, 2);
        }
    }
    for (unsigned j = 0; j < s->inv.n; j++) {
        const bl_message_t *m = s->inv.msg[j];
        if (m->dir != BL_DIR_I2B || !s->inv.sends[j] || m->period_ms == 0 || has_slot_for(s, m))
            continue;
        add_slot(s, m, NULL, m->period_ms, 0);
        periodic = true;
    }
    if (!periodic)
        for (unsigned j = 0; j < s->inv.n; j++) {
            const bl_message_t *m = s->inv.msg[j];
            if (m->dir == BL_DIR_I2B && (m->flags & BL_MF_KEEPALIVE) && s->inv.sends[j]) {
                add_slot(s, m, NULL, 1000, 0);
                break;
            }
        }
}

static void inverter_tick(site_t *s)
{
    for (unsigned i = 0; i < s->nslots; i++) {
        slot_t *sl = &s->slot[i];
        if (sl->done || s->now_us < sl->next_us)
            continue;
        if (sl->kind == 1 && s->bat.started && bl_proto_root(s->p)->first == BL_FIRST_INVERTER) {
            sl->next_us = s->now_us + 1000000u;
            continue; /* a hello is for a battery that is not talking yet */
        }
        if (sl->kind == 2 && (!s->hears || s->now_us - s->heard_us > 2000000u)) {
            sl->next_us = s->now_us + 500000u;
            continue; /* session commands once the battery answers */
        }
        send_inverter(s, sl, s->now_us + 300u);
        if (sl->period_ms == 0)
            sl->done = 1;
        else
            sl->next_us += (uint64_t)sl->period_ms * 1000u;
    }
}

static void battery_tick(site_t *s)
{
    if (!s->bat.started)
        return;
    for (unsigned j = 0; j < s->bat.n; j++) {
        const bl_message_t *m = s->bat.msg[j];
        if (m->dir != BL_DIR_B2I || !s->bat.sends[j] || m->period_ms == 0 ||
            (m->flags & (BL_MF_ON_REQUEST | BL_MF_EVENT)))
            continue;
        if (s->next_b[j] == 0)
            s->next_b[j] = s->now_us + 1000u + j * 1250u;
        if (s->now_us < s->next_b[j])
            continue;
        for (unsigned mux = 0; mux < (m->nmux ? m->nmux : 1u); mux++)
            send_battery(s, m, mux, s->now_us + 200u + j * 1250u + mux * 300u);
        s->next_b[j] += (uint64_t)m->period_ms * 1000u;
    }
}

/* ---- plans ---------------------------------------------------------------------------- */

/* charge at 0.4 C, rest, discharge at 0.3 C, rest */
static double plan_day(site_t *s, double t)
{
    double T = (double)(s->end_us - s->t0_us) / 1e6, f = t / T;
    if (f < 0.05)
        return 0;
    if (f < 0.45)
        return 0.4 * s->cap_Ah;
    if (f < 0.55)
        return 0;
    if (f < 0.95)
        return -0.3 * s->cap_Ah;
    return 0;
}

/* a constant par[6] A (+ charging) after 5 s */
static double plan_const(site_t *s, double t)
{
    return t < 5.0 ? 0 : s->par[6];
}

/* alternating charge and discharge every par[1] s at par[0] A (IR steps both ways) */
static double plan_steps(site_t *s, double t)
{
    int k = (int)(t / s->par[1]);
    if (t < 5.0)
        return 0;
    return (k % 2) ? -s->par[0] : s->par[0];
}

/* ---- the site ------------------------------------------------------------------------- */

static int site_init(site_t *s, const char *proto, unsigned seconds, FILE *fp)
{
    bl_caps_t caps;

    memset(s, 0, sizeof *s);
    s->p = bl_protocol_find(proto);
    if (s->p == NULL)
        return -1;
    if (bl_proto_root(s->p)->bus == BL_BUS_CAN) {
        if (bl_can_codec_init(&s->bat, s->p) < 0 || bl_can_codec_init(&s->inv, s->p) < 0)
            return -1;
    } else {
        s->rs = true;
        s->rsc = bl_rs_codec(s->p);
        if (s->rsc == NULL || bl_rs_session_init(&s->bsess, s->p) < 0 || bl_rs_session_init(&s->isess, s->p) < 0)
            return -1;
        s->poll_addr = s->bat_addr = s->rsc->addr_default;
        s->bat.started = true;
    }
    s->fp = fp;
    s->rng = 12345u;
    s->t0_us = UINT64_C(1718000000000000); /* 2024-06-10 06:13:20 UTC */
    s->now_us = s->last_us = s->t0_us;
    s->end_us = s->t0_us + (uint64_t)seconds * 1000000u;
    bl_proto_caps(s->p, &caps);
    /* a 48 V pack where the protocol carries 48 V, else an HV string */
    s->cells = caps.hi[BL_F_VOLTAGE] > 0 && caps.hi[BL_F_VOLTAGE] <= 100000 ? 16u : 128u;
    s->cap_Ah = s->cells == 16 ? 100.0 : 50.0;
    s->ccl_max = s->dcl_max = 0.5 * s->cap_Ah;
    s->r_cell = 0.0010;
    s->soc = 55.0;
    s->temp = 24.0;
    s->plan = plan_day;
    s->obey = true;
    s->inv_talks = true;
    s->bat_on = true;
    bl_record_init(&s->rec);
    bl_record_init(&s->seen);
    bl_record_init(&s->irec);
    return 0;
}

static void inverter_values(site_t *s)
{
    uint64_t ms = (s->now_us - s->t0_us) / 1000u;
    bl_record_set(&s->irec, BL_F_INV_VOLTAGE, s->rec.f[BL_F_VOLTAGE].value, 1, ms);
    bl_record_set(&s->irec, BL_F_INV_CURRENT, (int32_t)lround(s->i_A * 1000.0), 1, ms);
    bl_record_set(&s->irec, BL_F_INV_TEMP, 30000, 1, ms);
    bl_record_set(&s->irec, BL_F_INV_SOC, s->seen.f[BL_F_SOC].valid ? s->seen.f[BL_F_SOC].value : 0, 0, ms);
    bl_record_set(&s->irec, BL_F_INV_STATE, 1, 0, ms);
    bl_record_set(&s->irec, BL_F_INV_ERROR, 0, 0, ms);
}

/* ---- RS485: the inverter polls, the battery answers ------------------------------------- */

static void rs_emit(site_t *s, const uint8_t *b, size_t n, uint64_t ts)
{
    char line[4200];
    size_t k;
    if (ts <= s->last_us)
        ts = s->last_us + 37u;
    s->last_us = ts;
    k = (size_t)snprintf(line, sizeof line, "(%llu.%06llu) ", (unsigned long long)(ts / 1000000u),
                         (unsigned long long)(ts % 1000000u));
    if (s->rsc->framing == BL_FRAMING_PYLON && n > 0 && b[0] == '~') {
        for (size_t i = 0; i < n && k + 2 < sizeof line; i++)
            if (b[i] != '\r')
                line[k++] = (char)b[i];
    } else {
        for (size_t i = 0; i < n && k + 4 < sizeof line; i++)
            k += (size_t)snprintf(line + k, sizeof line - k, "%s%02X", i ? " " : "", b[i]);
    }
    line[k] = '\0';
    raw_line(s, line);
}

static void rs_inverter_hears(site_t *s, const uint8_t *b, size_t n)
{
    static uint8_t info[2048];
    static bl_rs_decoded_t dec;
    bl_rs_frame_t f;
    bl_rsr_t why;
    if (bl_rs_session_frame(&s->isess, b, n, info, sizeof info, &f, &why) < 0 || f.request || f.msg == NULL || f.rtn)
        return;
    if (bl_rs_decode(s->rsc, f.msg, f.pl, f.plen, -1, (s->now_us - s->t0_us) / 1000u, &s->seen, NULL, 0, &dec) == 0) {
        s->heard_us = s->now_us;
        s->hears = true;
    }
}

static void rs_exchange(site_t *s, uint16_t cmd, uint64_t ts)
{
    uint8_t req[256], ans[BL_STREAM_PYLON_MAX + 64], info[2048];
    size_t nreq, nans;
    int n = bl_rs_request(s->p, s->poll_addr, cmd, false, req, sizeof req);
    bl_rs_frame_t f;
    bl_rsr_t why;
    bl_rs_answer_t res;

    if (n <= 0)
        return;
    nreq = (size_t)n;
    if (s->rs_wire != NULL)
        s->rs_wire(s, req, &nreq, false);
    if (s->rs_drop == NULL || !s->rs_drop(s, false))
        rs_emit(s, req, nreq, ts);
    if (!s->bat_on || bl_rs_session_frame(&s->bsess, req, nreq, info, sizeof info, &f, &why) < 0)
        return;
    n = bl_rs_answer(s->p, s->bat_addr, &f, &s->rec, (s->now_us - s->t0_us) / 1000u, 0, ans, sizeof ans, &res);
    if (n <= 0 || (s->rs_drop != NULL && s->rs_drop(s, true)))
        return;
    nans = (size_t)n;
    if (s->rs_wire != NULL)
        s->rs_wire(s, ans, &nans, true);
    rs_emit(s, ans, nans, ts + 60000u);
    rs_inverter_hears(s, ans, nans);
}

static void rs_tick(site_t *s)
{
    uint64_t ts;
    if (s->now_us < s->next_poll_us || !s->inv_talks)
        return;
    ts = s->now_us + 1000u;
    if (!s->once_done && s->rsc->poll_once != NULL)
        for (const uint8_t *c = s->rsc->poll_once; *c; c++, ts += 200000u)
            rs_exchange(s, *c, ts);
    s->once_done = true;
    for (const uint8_t *c = s->rsc->poll; c != NULL && *c; c++, ts += 200000u)
        rs_exchange(s, *c, ts);
    s->next_poll_us += (uint64_t)(s->rsc->poll_ms ? s->rsc->poll_ms : 1000u) * 1000u;
}

static void run(site_t *s)
{
    unsigned k = 0;
    if (s->inv_talks && !s->rs)
        inverter_plan(s);
    s->next_poll_us = s->t0_us + 500000u;
    for (s->now_us = s->t0_us; s->now_us < s->end_us; s->now_us += TICK_US, k++) {
        physics(s);
        if (k % 10u == 0) {
            bms(s); /* the BMS measures every 100 ms */
            inverter_values(s);
        }
        if (s->tick != NULL)
            s->tick(s);
        if (s->rs) {
            rs_tick(s);
            continue;
        }
        battery_tick(s);
        if (s->inv_talks)
            inverter_tick(s);
    }
}

/* ---- faults --------------------------------------------------------------------------- */

static bool is_id(const bl_can_frame_t *f, uint32_t id)
{
    return (f->id & 0x7FFu) == id && !(f->flags & BL_CAN_EXT);
}

/* battery silent in [par[0], par[0]+par[1]) and [par[2], par[2]+par[3]) */
static bool drop_gaps(site_t *s, const bl_can_frame_t *f, bool battery)
{
    double t = t_s(s);
    (void)f;
    return battery && ((t >= s->par[0] && t < s->par[0] + s->par[1]) || (t >= s->par[2] && t < s->par[2] + s->par[3]));
}

/* battery silent from par[4] on */
static bool drop_after(site_t *s, const bl_can_frame_t *f, bool battery)
{
    (void)f;
    return battery && t_s(s) >= s->par[4];
}

static bool drop_soc(site_t *s, const bl_can_frame_t *f, bool battery)
{
    (void)s;
    return battery && is_id(f, 0x355);
}

/* 0x355 only every ipar[0]-th time */
static bool drop_soc_slow(site_t *s, const bl_can_frame_t *f, bool battery)
{
    if (!battery || !is_id(f, 0x355))
        return false;
    return (s->ipar[1]++ % s->ipar[0]) != 0;
}

static void wire_ext(site_t *s, bl_can_frame_t *f, bool battery)
{
    (void)s;
    if (battery)
        f->flags |= BL_CAN_EXT;
}

static void wire_sign(site_t *s, bl_can_frame_t *f, bool battery)
{
    (void)s;
    if (battery && is_id(f, 0x356) && f->len >= 4) {
        int16_t i = (int16_t)(f->data[2] | f->data[3] << 8);
        i = (int16_t)-i;
        f->data[2] = (uint8_t)((uint16_t)i & 0xFF);
        f->data[3] = (uint8_t)((uint16_t)i >> 8);
    }
}

/* SOC in 0.01 % units in Pylon's 1 % field */
static void wire_soc_x100(site_t *s, bl_can_frame_t *f, bool battery)
{
    (void)s;
    if (battery && is_id(f, 0x355)) {
        unsigned soc = (unsigned)(f->data[0] | f->data[1] << 8) * 100u;
        f->data[0] = (uint8_t)(soc & 0xFF);
        f->data[1] = (uint8_t)(soc >> 8);
    }
}

/* BYD 0x150 SOC (0.01 %, BE) sent in 1 % units */
static void wire_soc_div100(site_t *s, bl_can_frame_t *f, bool battery)
{
    (void)s;
    if (battery && is_id(f, 0x150)) {
        unsigned soc = (unsigned)(f->data[0] << 8 | f->data[1]) / 100u;
        f->data[0] = (uint8_t)(soc >> 8);
        f->data[1] = (uint8_t)(soc & 0xFF);
    }
}

/* Pylon 0x351 DCL negative on the wire */
static void wire_neg_dcl(site_t *s, bl_can_frame_t *f, bool battery)
{
    (void)s;
    if (battery && is_id(f, 0x351) && f->len >= 6) {
        int16_t v = (int16_t)(f->data[4] | f->data[5] << 8);
        v = (int16_t)-v;
        f->data[4] = (uint8_t)((uint16_t)v & 0xFF);
        f->data[5] = (uint8_t)((uint16_t)v >> 8);
    }
}

/* SolaX 0x1877 battery type 80 (refused by ARM 1.57); the inverter never closes the contactor */
static void wire_type80(site_t *s, bl_can_frame_t *f, bool battery)
{
    (void)s;
    if (battery && (f->flags & BL_CAN_EXT) && f->id == 0x1877 && f->len >= 5)
        f->data[4] = 80;
}

static bool drop_close(site_t *s, const bl_can_frame_t *f, bool battery)
{
    (void)s;
    /* an inverter that does not accept the battery never sends 02 .. 01 (close) */
    return !battery && (f->flags & BL_CAN_EXT) && f->id == 0x1871 && f->data[0] == 0x02;
}

static bool drop_battery(site_t *s, const bl_can_frame_t *f, bool battery)
{
    (void)s;
    (void)f;
    return battery;
}

/* SOC stuck at its value from par[0] s on */
static void bms_soc_frozen(site_t *s)
{
    if (t_s(s) >= s->par[0]) {
        if (s->par[1] == 0)
            s->par[1] = s->rec.f[BL_F_SOC].value;
        s->rec.f[BL_F_SOC].value = (int32_t)s->par[1];
    }
}

/* SOC jumps by par[0] % for a minute every par[1] s */
static void bms_soc_jumps(site_t *s)
{
    double t = t_s(s);
    if (t > 30 && fmod(t, s->par[1]) < 60.0)
        s->rec.f[BL_F_SOC].value += (int32_t)(s->par[0] * 1000.0);
}

/* SOC runs the wrong way: it rises while discharging */
static void bms_soc_backwards(site_t *s)
{
    s->rec.f[BL_F_SOC].value = (int32_t)lround((110.0 - s->soc) * 1000.0);
}

/* SOC high, pack nearly empty (a BMS that lost its calibration) */
static void bms_soc_high(site_t *s)
{
    s->rec.f[BL_F_SOC].value = 95000;
}

/* voltage and current repeat from par[0] s on (a cached frame) */
static void bms_stale(site_t *s)
{
    if (t_s(s) >= s->par[0]) {
        if (s->ipar[0] == 0) {
            s->ipar[0] = 1;
            s->par[1] = s->rec.f[BL_F_VOLTAGE].value;
            s->par[2] = s->rec.f[BL_F_CURRENT].value;
        }
        s->rec.f[BL_F_VOLTAGE].value = (int32_t)s->par[1];
        s->rec.f[BL_F_CURRENT].value = (int32_t)s->par[2];
    }
}

/* only the voltage is stuck */
static void bms_v_frozen(site_t *s)
{
    if (t_s(s) >= s->par[0]) {
        if (s->ipar[0] == 0) {
            s->ipar[0] = 1;
            s->par[1] = s->rec.f[BL_F_VOLTAGE].value;
        }
        s->rec.f[BL_F_VOLTAGE].value = (int32_t)s->par[1];
    }
}

static void bms_cvl_zero(site_t *s)
{
    if (t_s(s) >= s->par[0])
        s->rec.f[BL_F_CVL].value = 0;
}

/* a derating step: CCL to par[1] A from par[0] s on (the loop must follow) */
static void bms_derate(site_t *s)
{
    if (t_s(s) >= s->par[0] && s->rec.f[BL_F_CCL].value > (int32_t)(s->par[1] * 1000.0)) {
        s->rec.f[BL_F_CCL].value = (int32_t)(s->par[1] * 1000.0);
        s->ccl = s->par[1];
    }
}

/* v13 firmware raises cell_imbalance (a warning) in 0x35A from par[0] s on */
static void bms_imbalance(site_t *s)
{
    if (t_s(s) >= s->par[0]) {
        s->rec.active[BL_AC_WARNING] |= (bl_alarm_mask_t)(1u << BL_A_IMBALANCE);
        s->rec.active[BL_AC_ALARM] |= (bl_alarm_mask_t)(1u << BL_A_IMBALANCE);
    }
}

/* a cell runs low while discharging: alarm, then DCL 0, then the protection */
static void bms_undervoltage(site_t *s)
{
    double t = t_s(s);
    if (t >= s->par[0]) {
        s->rec.active[BL_AC_ALARM] |= (bl_alarm_mask_t)(1u << BL_A_CELL_UV);
        s->rec.f[BL_F_CELL_V_MIN].value = 2750;
    }
    if (t >= s->par[0] + 8) {
        s->rec.f[BL_F_DCL].value = 0;
        s->rec.f[BL_F_DISCHARGE_ENABLE].value = 0;
        s->rec.f[BL_F_CELL_V_MIN].value = 2690;
    }
    if (t >= s->par[0] + 12)
        s->rec.active[BL_AC_PROTECTION] |= (bl_alarm_mask_t)(1u << BL_A_CELL_UV);
}

/* an inverter that ignores the limits: it wants par[0] A whatever they say */
static void inverter_deaf(site_t *s)
{
    s->obey = false;
}

/* the BMS lowers CCL to par[1] A at par[0] s; the inverter keeps charging at par[2] A */
static void bms_ccl_low(site_t *s)
{
    if (t_s(s) >= s->par[0]) {
        s->rec.f[BL_F_CCL].value = (int32_t)(s->par[1] * 1000.0);
        s->ccl = s->par[1];
    }
}

static void bms_dcl_low(site_t *s)
{
    if (t_s(s) >= s->par[0]) {
        s->rec.f[BL_F_DCL].value = (int32_t)(s->par[1] * 1000.0);
        s->dcl = s->par[1];
    }
}

static void bms_cvl_low(site_t *s)
{
    if (t_s(s) >= s->par[0])
        s->rec.f[BL_F_CVL].value = (int32_t)(s->par[1] * 1000.0);
}

/* error frames: every par[0] s a few bus errors; ipar[0] = 1 goes bus-off at par[1] s */
static void tick_errors(site_t *s)
{
    uint64_t rel = s->now_us - s->t0_us;
    bl_can_frame_t e;
    memset(&e, 0, sizeof e);
    e.flags = BL_CAN_ERR;
    e.len = 8;
    if (rel % (uint64_t)(s->par[0] * 1e6) == 0 && rel > 0) {
        e.id = BL_CANERR_PROT | BL_CANERR_BUSERROR;
        e.data[2] = 0x08; /* bit stuffing error */
        e.data[3] = 0x0A;
        emit_at(s, &e, s->now_us + 4000u);
    }
    if (s->ipar[0] && rel == (uint64_t)(s->par[1] * 1e6)) {
        e.id = BL_CANERR_CRTL;
        e.data[1] = BL_CANERR_CRTL_TX_PASSIVE | BL_CANERR_CRTL_RX_PASSIVE;
        emit_at(s, &e, s->now_us + 4100u);
        memset(e.data, 0, sizeof e.data);
        e.id = BL_CANERR_BUSOFF;
        emit_at(s, &e, s->now_us + 4200u);
        e.id = BL_CANERR_RESTARTED;
        emit_at(s, &e, s->now_us + 204200u);
    }
}

/* a wrong bitrate seen by a SocketCAN controller: nothing but error frames */
static void tick_bitrate_errors(site_t *s)
{
    uint64_t rel = s->now_us - s->t0_us;
    bl_can_frame_t e;
    if (rel % 50000u != 0)
        return;
    memset(&e, 0, sizeof e);
    e.flags = BL_CAN_ERR;
    e.len = 8;
    e.id = BL_CANERR_PROT | BL_CANERR_BUSERROR | ((rel % 1000000u) == 0 ? BL_CANERR_CRTL : 0u);
    e.data[1] = (rel % 1000000u) == 0 ? BL_CANERR_CRTL_RX_WARNING : 0;
    e.data[2] = (uint8_t)((rel / 50000u) % 2u ? 0x02 : 0x04); /* form / stuff errors */
    e.data[3] = 0x08;
    e.data[7] = (uint8_t)(rel / 50000u % 128u);
    emit_at(s, &e, s->now_us + 2000u);
}

/* an slcan adapter at the wrong bitrate: garbage frames with ids that never repeat */
static void tick_garbage(site_t *s)
{
    uint64_t rel = s->now_us - s->t0_us;
    bl_can_frame_t f;
    if (rel % 80000u != 0)
        return;
    memset(&f, 0, sizeof f);
    f.id = rnd(s) & 0x7FFu;
    if (rnd(s) % 5u == 0) {
        f.flags = BL_CAN_EXT;
        f.id = rnd(s) & 0x1FFFFFFFu;
    }
    f.len = (uint8_t)(rnd(s) % 9u);
    for (unsigned i = 0; i < f.len; i++)
        f.data[i] = (uint8_t)rnd(s);
    emit_at(s, &f, s->now_us + 3000u);
}

/* another device on the bus: a meter and a charger with fixed ids, nothing else */
static void tick_other_device(site_t *s)
{
    uint64_t rel = s->now_us - s->t0_us;
    bl_can_frame_t f;
    if (rel % 1000000u != 0)
        return;
    memset(&f, 0, sizeof f);
    f.flags = BL_CAN_EXT;
    f.id = 0x18FF50E5u;
    f.len = 8;
    f.data[0] = (uint8_t)(rel / 1000000u);
    emit_at(s, &f, s->now_us + 1000u);
    f.id = 0x0CF00400u;
    emit_at(s, &f, s->now_us + 2000u);
}

/* bursts of malformed lines and short frames around par[0] s, par[1] s */
static void tick_malformed(site_t *s)
{
    uint64_t rel = s->now_us - s->t0_us;
    char line[128];
    for (int k = 0; k < 2; k++) {
        uint64_t at = (uint64_t)(s->par[k] * 1e6);
        if (rel >= at && rel < at + 600000u && rel % 50000u == 0) {
            uint64_t ts = s->now_us + 5000u;
            if (ts <= s->last_us)
                ts = s->last_us + 37u;
            s->last_us = ts;
            switch ((rel / 50000u) % 3u) {
            case 0:
                snprintf(line, sizeof line, "(%llu.%06llu) can0 351#14", (unsigned long long)(ts / 1000000u),
                         (unsigned long long)(ts % 1000000u));
                break;
            case 1:
                snprintf(line, sizeof line, "(%llu.%06llu) can0 35#1402", (unsigned long long)(ts / 1000000u),
                         (unsigned long long)(ts % 1000000u));
                break;
            default:
                snprintf(line, sizeof line, "(%llu.%06llu can0 356#", (unsigned long long)(ts / 1000000u),
                         (unsigned long long)(ts % 1000000u));
                break;
            }
            raw_line(s, line);
        }
    }
}

/* an inverter that speaks Pylon HV: 0x4200 requests every second, never 0x305 */
static void tick_pylon_hv_inverter(site_t *s)
{
    uint64_t rel = s->now_us - s->t0_us;
    bl_can_frame_t f;
    if (rel % 1000000u != 500000u)
        return;
    memset(&f, 0, sizeof f);
    f.flags = BL_CAN_EXT;
    f.id = 0x4200;
    f.len = 8;
    emit_at(s, &f, s->now_us + 100u);
    f.id = 0x8200;
    f.data[0] = 0xAA;
    emit_at(s, &f, s->now_us + 900u);
}

/* the inverter's polls stop in [par[0], par[0]+par[1]) */
static bool drop_polls(site_t *s, const bl_can_frame_t *f, bool battery)
{
    double t = t_s(s);
    (void)f;
    return !battery && t >= s->par[0] && t < s->par[0] + s->par[1];
}

/* a broken sensor: 0x356 temperature reads 150.0 C in [par[0], par[0]+par[1]) */
static void wire_hot_reading(site_t *s, bl_can_frame_t *f, bool battery)
{
    double t = t_s(s);
    if (battery && is_id(f, 0x356) && f->len >= 6 && t >= s->par[0] && t < s->par[0] + s->par[1]) {
        f->data[4] = 1500 & 0xFF;
        f->data[5] = 1500 >> 8;
    }
}

/* internal communication failure (an alarm) and a charge over-temperature protection */
static void bms_comm_alarm(site_t *s)
{
    if (t_s(s) >= s->par[0]) {
        s->rec.active[BL_AC_ALARM] |= (bl_alarm_mask_t)(1u << BL_A_COMM);
        s->rec.active[BL_AC_PROTECTION] |= (bl_alarm_mask_t)(1u << BL_A_CHG_OT);
    }
}

/* ---- the library -------------------------------------------------------------------------- */

static void sc_none(site_t *s)
{
    (void)s;
}

static void sc_long_healthy(site_t *s)
{
    s->par[0] = 240; /* at 4 min the BMS derates the charge to 20 A; the inverter follows */
    s->par[1] = 20;
    s->bms = bms_derate;
}

static void sc_no_battery(site_t *s)
{
    s->bat_on = false;
}

static void sc_waiting_for_poll(site_t *s)
{
    s->inv_talks = false;
    s->tick = tick_other_device;
}

static void sc_no_answer(site_t *s)
{
    s->drop = drop_battery;
}

static void sc_idlen(site_t *s)
{
    s->wire = wire_ext;
}

static void sc_bitrate_errors(site_t *s)
{
    s->bat_on = false;
    s->inv_talks = false;
    s->tick = tick_bitrate_errors;
}

static void sc_bitrate_garbage(site_t *s)
{
    s->bat_on = false;
    s->inv_talks = false;
    s->tick = tick_garbage;
}

static void sc_identity(site_t *s)
{
    s->wire = wire_type80;
    s->drop = drop_close;
}

static void sc_no_keepalive(site_t *s)
{
    s->inv_talks = false;
    s->tick = tick_other_device; /* a meter on the bus: the capture goes on after the battery stops */
    s->par[4] = 90; /* the battery gives up after 90 s */
    s->drop = drop_after;
}

static void sc_battery_only(site_t *s)
{
    s->inv_talks = false;
}

static void sc_soc_absent(site_t *s)
{
    s->drop = drop_soc;
}

static void sc_soc_period(site_t *s)
{
    s->ipar[0] = 5; /* 0x355 every 5 s */
    s->drop = drop_soc_slow;
}

static void sc_soc_frozen(site_t *s)
{
    s->plan = plan_const;
    s->par[6] = 60;  /* charging at 60 A ... */
    s->ccl_max = 80;
    s->par[0] = 60;  /* ... the SOC stuck from 1 min on */
    s->bms = bms_soc_frozen;
}

static void sc_soc_jump(site_t *s)
{
    s->par[0] = 20;  /* +20 % for a minute ... */
    s->par[1] = 150; /* ... every 150 s */
    s->bms = bms_soc_jumps;
}

static void sc_soc_vs_voltage(site_t *s)
{
    s->soc = 8;   /* nearly empty pack ... */
    s->plan = NULL; /* ... at rest */
    s->bms = bms_soc_high;
}

static void sc_soc_x100(site_t *s)
{
    s->wire = wire_soc_x100;
}

static void sc_soc_div100(site_t *s)
{
    s->wire = wire_soc_div100;
}

static void sc_soc_backwards(site_t *s)
{
    s->plan = plan_const;
    s->par[6] = -40;
    s->bms = bms_soc_backwards;
}

static void sc_gap(site_t *s)
{
    s->par[0] = 120; /* silent 25 s at 2 min and 18 s at 4 min */
    s->par[1] = 25;
    s->par[2] = 240;
    s->par[3] = 18;
    s->drop = drop_gaps;
}

/* a Sunny Island's F952 / W952 need 60 s without 0x355 / 0x351: silent 90 s at 2 min */
static void sc_si_gap(site_t *s)
{
    s->par[0] = 120;
    s->par[1] = 90;
    s->par[2] = 1e9;
    s->par[3] = 0;
    s->drop = drop_gaps;
}

static void sc_busoff(site_t *s)
{
    s->par[0] = 45;  /* a bus error every 45 s ... */
    s->par[1] = 150; /* ... and bus-off at 150 s */
    s->ipar[0] = 1;
    s->tick = tick_errors;
}

static void sc_errframes(site_t *s)
{
    s->par[0] = 60;
    s->tick = tick_errors;
}

static void sc_malformed(site_t *s)
{
    s->par[0] = 70;
    s->par[1] = 200;
    s->tick = tick_malformed;
}

static void sc_alarm_v13(site_t *s)
{
    s->par[0] = 100;
    s->bms = bms_imbalance;
}

static void sc_ccl(site_t *s)
{
    s->plan = plan_const;
    s->par[6] = 45;  /* it asks 45 A and keeps it ... */
    s->ccl_max = 50;
    inverter_deaf(s);
    s->par[0] = 45;  /* ... after the BMS lowered CCL to 20 A at 45 s */
    s->par[1] = 20;
    s->bms = bms_ccl_low;
}

static void sc_dcl(site_t *s)
{
    inverter_deaf(s);
    s->plan = plan_const;
    s->par[6] = -45;
    s->par[0] = 60;
    s->par[1] = 15; /* DCL 15 A from 60 s; the inverter keeps discharging at 45 A */
    s->bms = bms_dcl_low;
}

static void sc_cvl(site_t *s)
{
    s->soc = 96;
    s->ccl_max = 150; /* the charge limit stays above 45 A: only the voltage limit is broken */
    s->plan = plan_const;
    s->par[6] = 45;
    inverter_deaf(s);
    s->par[0] = 30;
    s->par[1] = 53.0; /* CVL 53.0 V from 30 s; the pack sits above it while charging */
    s->bms = bms_cvl_low;
}

/* the pack is full: CCL 0 A from 60 s; an inverter that reads 0 A as "no limit" keeps charging */
static void sc_zero_ignored(site_t *s)
{
    s->soc = 97;
    s->ccl_max = 100;
    s->plan = plan_const;
    s->par[6] = 10;
    inverter_deaf(s);
    s->par[0] = 60;
    s->par[1] = 0;
    s->bms = bms_ccl_low;
}

static void sc_neg_dcl(site_t *s)
{
    s->wire = wire_neg_dcl;
}

static void sc_cvl_zero(site_t *s)
{
    s->par[0] = 60;
    s->bms = bms_cvl_zero;
}

static void sc_shutdown(site_t *s)
{
    s->plan = plan_const;
    s->par[6] = -45;
    s->soc = 40;
    s->par[0] = 150; /* a cell runs low at 150 s */
    s->bms = bms_undervoltage;
}

static void sc_went_silent(site_t *s)
{
    s->plan = plan_const;
    s->par[6] = -45;
    s->par[4] = 200; /* the BMS stops talking at 200 s while 45 A flow */
    s->drop = drop_after;
}

static void sc_wrong_inverter(site_t *s)
{
    s->inv_talks = false;
    s->tick = tick_pylon_hv_inverter;
}

static void sc_sign(site_t *s)
{
    s->plan = plan_steps;
    s->par[0] = 40;
    s->par[1] = 30;
    s->wire = wire_sign;
}

static void sc_stale(site_t *s)
{
    s->plan = plan_const;
    s->par[6] = 45;
    s->par[0] = 100; /* voltage and current repeat from 100 s on */
    s->bms = bms_stale;
}

static void sc_v_frozen(site_t *s)
{
    s->plan = plan_const;
    s->par[6] = 90; /* 10 Ah in 400 s */
    s->ccl_max = 100;
    s->par[0] = 60;
    s->bms = bms_v_frozen;
}

static void sc_poll_gap(site_t *s)
{
    s->par[0] = 60; /* no poll for 5 s at 1 min: the battery drops its session after 2 s */
    s->par[1] = 5;
    s->drop = drop_polls;
}

static void sc_out_of_range(site_t *s)
{
    s->par[0] = 60;
    s->par[1] = 20;
    s->wire = wire_hot_reading;
}

static void sc_alarm_gateway(site_t *s)
{
    s->par[0] = 80;
    s->bms = bms_comm_alarm;
}

/* RS485: the inverter polls an address no pack has */
static void sc_rs_address(site_t *s)
{
    s->poll_addr = (uint8_t)(s->rsc->addr_default + 1u);
}

/* RS485 at the wrong baud: what a UART makes of it, bytes that frame nothing */
static void tick_rs_garbage(site_t *s)
{
    uint64_t rel = s->now_us - s->t0_us;
    uint8_t b[24];
    char line[160];
    size_t k;
    if (rel % 500000u != 0)
        return;
    for (unsigned i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)(rnd(s) | 0x80u); /* bytes at a mismatched baud rate come out with the top bits set */
    if (s->rsc->framing == BL_FRAMING_PYLON && rel % 1000000u == 0)
        b[3] = '~'; /* now and then a start character */
    k = (size_t)snprintf(line, sizeof line, "(%llu.%06llu)", (unsigned long long)((s->now_us + 1000u) / 1000000u),
                         (unsigned long long)((s->now_us + 1000u) % 1000000u));
    for (unsigned i = 0; i < sizeof b && k + 4 < sizeof line; i++)
        k += (size_t)snprintf(line + k, sizeof line - k, " %02X", b[i]);
    s->last_us = s->now_us + 1000u;
    raw_line(s, line);
}

static void sc_rs_baud(site_t *s)
{
    s->inv_talks = false;
    s->tick = tick_rs_garbage;
}

/* RS485: the battery stops answering for par[1] s at par[0] s */
static bool rs_drop_window(site_t *s, bool battery)
{
    double t = t_s(s);
    return battery && t >= s->par[0] && t < s->par[0] + s->par[1];
}

static void sc_rs_gap(site_t *s)
{
    s->par[0] = 90;
    s->par[1] = 40;
    s->rs_drop = rs_drop_window;
}

typedef struct {
    const char *name;
    const char *proto;
    unsigned seconds;
    void (*setup)(site_t *s);
} capdef_t;

static const capdef_t caps_lib[] = {
    /* healthy: one per protocol family, nothing of severity error */
    { "healthy-pylon-lv", "pylon-lv", 720, sc_long_healthy },
    { "healthy-sma-si", "sma-si", 150, sc_none },
    { "healthy-victron", "victron", 150, sc_none },
    { "healthy-pylon-hv", "pylon-hv", 150, sc_none },
    { "healthy-byd-hvs", "byd-hvs", 200, sc_none },
    { "healthy-sma-hv", "sma-hv", 200, sc_none },
    { "healthy-growatt-lv", "growatt-lv", 150, sc_none },
    { "healthy-growatt-hv", "growatt-hv", 120, sc_none },
    { "healthy-growatt-wit", "growatt-wit", 40, sc_none },
    { "healthy-solax", "solax", 150, sc_none },
    { "healthy-foxess", "foxess", 150, sc_none },
    { "healthy-sofar", "sofar", 150, sc_none },
    { "healthy-sungrow", "sungrow", 150, sc_none },
    { "healthy-goodwe-lv", "goodwe-lv", 150, sc_none },
    { "healthy-afore", "afore", 150, sc_none },
    { "healthy-schneider", "schneider", 150, sc_none },
    /* healthy RS485: the inverter polls, the battery answers */
    { "healthy-pylon-rs485", "pylon-rs485", 180, sc_none },
    { "healthy-daly", "daly", 180, sc_none },
    { "healthy-jbd", "jbd", 180, sc_none },
    { "rs485-no-answer", "pylon-rs485", 60, sc_rs_address },
    { "rs485-wrong-baud", "pylon-rs485", 30, sc_rs_baud },
    { "rs485-gap", "daly", 240, sc_rs_gap },
    /* battery_not_detected and its causes */
    { "no-battery", "pylon-lv", 60, sc_no_battery },
    { "waiting-for-poll", "byd-hvs", 60, sc_waiting_for_poll },
    { "no-answer", "solax", 60, sc_no_answer },
    { "wrong-id-length", "pylon-lv", 60, sc_idlen },
    { "wrong-bitrate-errors", "pylon-lv", 30, sc_bitrate_errors },
    { "wrong-bitrate-slcan", "pylon-lv", 30, sc_bitrate_garbage },
    { "identity-rejected", "solax", 90, sc_identity },
    { "no-keepalive", "pylon-lv", 150, sc_no_keepalive },
    { "battery-only", "pylon-lv", 120, sc_battery_only },
    /* soc_missing_or_wrong */
    { "soc-absent", "pylon-lv", 90, sc_soc_absent },
    { "soc-period", "pylon-lv", 120, sc_soc_period },
    { "soc-frozen", "pylon-lv", 420, sc_soc_frozen },
    { "soc-jump", "pylon-lv", 400, sc_soc_jump },
    { "soc-vs-voltage", "victron", 150, sc_soc_vs_voltage },
    { "soc-scale-x100", "pylon-lv", 60, sc_soc_x100 },
    { "soc-scale-div100", "byd-hvs", 120, sc_soc_div100 },
    { "soc-vs-coulomb", "sma-si", 400, sc_soc_backwards },
    /* communication_fault */
    { "comm-gap", "pylon-lv", 300, sc_gap },
    { "comm-busoff", "pylon-lv", 200, sc_busoff },
    { "comm-error-frames", "pylon-lv", 200, sc_errframes },
    { "comm-malformed", "pylon-lv", 260, sc_malformed },
    { "comm-poll-gap", "solax", 120, sc_poll_gap },
    { "comm-out-of-range", "pylon-lv", 120, sc_out_of_range },
    /* alarm_not_shown */
    { "alarm-not-shown", "pylon-lv:v13", 200, sc_alarm_v13 },
    { "alarm-gateway", "pylon-lv", 150, sc_alarm_gateway },
    /* limits_not_followed */
    { "limits-ccl", "pylon-lv", 150, sc_ccl },
    { "limits-dcl", "pylon-lv", 150, sc_dcl },
    { "limits-cvl", "pylon-lv", 120, sc_cvl },
    { "limits-negative-dcl", "pylon-lv", 60, sc_neg_dcl },
    { "limits-zero-ignored", "pylon-lv", 120, sc_zero_ignored },
    { "limits-cvl-zero", "pylon-lv", 120, sc_cvl_zero },
    /* unexpected_shutdown */
    { "shutdown-protection", "pylon-lv", 200, sc_shutdown },
    { "shutdown-silent", "pylon-lv", 260, sc_went_silent },
    /* configuration causes */
    { "wrong-protocol-inverter", "pylon-lv", 90, sc_wrong_inverter },
    { "wrong-protocol-mismatch", "byd-hvs", 90, sc_none },
    { "sign-inverted", "pylon-lv", 300, sc_sign },
    { "stale-values", "pylon-lv", 500, sc_stale },
    { "stale-voltage", "pylon-lv", 560, sc_v_frozen },
    /* inverter error codes (issue 12): what a Sunny Island would display */
    { "si-comm-loss", "sma-si", 300, sc_si_gap },
    { "si-alarm-standby", "sma-si", 200, sc_shutdown },
};

/* ---- captures from the simulators' closed loop (src/engines/sim.c) --------------------------
 * The battery simulator with its BMS, the real encoder, an inverter model running a shipped
 * profile, and the scenario's fault events; the capture is what an adapter beside the inverter
 * records: frames that arrived, an error frame for each frame a bitrate mismatch corrupted,
 * nothing for frames a comm loss or bus-off swallowed. */

#ifndef BL_PROFILES_DIR
#define BL_PROFILES_DIR "share/profiles"
#endif
#define SIM_BASE_US UINT64_C(1717977600000000) /* 2024-06-10 00:00 UTC: the scenario clock's midnight */

typedef struct {
    const char *name, *battery, *profile, *firmware;
    const char *scenario; /* YAML */
} simdef_t;

typedef struct {
    FILE *fp;
    uint64_t last;
} simcap_t;

static void sim_emit(simcap_t *c, const bl_can_frame_t *f, uint64_t ts)
{
    bl_cap_frame_t cf;
    char line[256];
    if (ts <= c->last)
        ts = c->last + 37u;
    c->last = ts;
    memset(&cf, 0, sizeof cf);
    cf.ts_us = ts;
    cf.has_ts = 1;
    strcpy(cf.bus, "can0");
    cf.f = *f;
    if (bl_capture_format_log(&cf, line, sizeof line) > 0) {
        fputs(line, c->fp);
        fputc('\n', c->fp);
    }
}

static void sim_frame(void *ctx, uint64_t t_ms, uint8_t from, const bl_can_frame_t *f, uint8_t fate)
{
    simcap_t *c = ctx;
    uint64_t ts = SIM_BASE_US + t_ms * 1000u;
    (void)from;
    if (fate == BL_FATE_DELIVERED) {
        sim_emit(c, f, ts);
    } else if (fate == BL_FATE_CORRUPTED) {
        bl_can_frame_t e;
        memset(&e, 0, sizeof e);
        e.flags = BL_CAN_ERR;
        e.id = BL_CANERR_PROT | BL_CANERR_BUSERROR;
        e.len = 8;
        e.data[2] = 0x04; /* stuff error: what a controller at another bitrate reports */
        sim_emit(c, &e, ts);
    }
}

static int generate_sim(const simdef_t *c, FILE *fp)
{
    static bl_profile_file_t pf;
    static bl_scenario_t scn;
    static bl_sim_t sim;
    bl_sim_cfg_t cfg;
    simcap_t cap = { fp, 0 };
    char path[600], err[300];
    int fw = -1;

    snprintf(path, sizeof path, "%s/%s.yaml", BL_PROFILES_DIR, c->profile);
    if (bl_profile_load(&pf, path, err, sizeof err) < 0 ||
        bl_scenario_parse(&scn, c->name, c->scenario, strlen(c->scenario), err, sizeof err) < 0) {
        fprintf(stderr, "gencaptures: %s: %s\n", c->name, err);
        return 1;
    }
    for (unsigned i = 0; c->firmware != NULL && i < pf.p.nfw; i++)
        if (strcmp(pf.p.firmware[i], c->firmware) == 0)
            fw = (int)i;
    memset(&cfg, 0, sizeof cfg);
    cfg.battery_proto = bl_protocol_find(c->battery);
    cfg.profile = &pf.p;
    cfg.scn = &scn;
    cfg.firmware = fw;
    cfg.ctx = &cap;
    cfg.on_frame = sim_frame;
    if (cfg.battery_proto == NULL || bl_sim_init(&sim, &cfg) != 0) {
        fprintf(stderr, "gencaptures: %s: the loop does not start\n", c->name);
        return 1;
    }
    bl_sim_run(&sim, scn.start_ms + scn.duration_ms);
    return 0;
}

static const simdef_t sims[] = {
    /* a working Pylon LV site an hour before noon: PV charging, household load */
    { "sim-healthy-pylon-lv", "pylon-lv", "generic-pylon-lv", NULL,
      "name: healthy\nstart: \"10:30\"\nduration: 6m\nstart_soc_pct: 60\n" },
    /* the battery's frames lost for 40 s: the inverter notices, the data comes back */
    { "sim-comm-loss", "pylon-lv", "generic-pylon-lv", NULL,
      "name: comm loss\nstart: \"11:00\"\nduration: 5m\nstart_soc_pct: 60\n"
      "events:\n  - {at: \"11:02\", for: 40s, event: comm_loss}\n" },
    /* a firmware that sends the current with the wrong sign; the evening load switches 0.5 / 3.5 kW */
    { "sim-wrong-sign", "pylon-lv", "generic-pylon-lv", NULL,
      "name: wrong sign\nstart: \"17:30\"\nduration: 10m\nstart_soc_pct: 70\npv: 0\n"
      "load: [[\"17:30\", 500], [\"17:31:59\", 500], [\"17:32:00\", 3500], [\"17:33:59\", 3500], [\"17:34:00\", 500],"
      " [\"17:35:59\", 500], [\"17:36:00\", 3500], [\"17:37:59\", 3500], [\"17:38:00\", 500]]\n"
      "events:\n  - {at: \"17:30\", event: wrong_current_sign}\n" },
    /* the SOC frozen at noon while PV charges the pack */
    { "sim-soc-frozen", "pylon-lv", "generic-pylon-lv", NULL,
      "name: soc frozen\nstart: \"11:30\"\nduration: 12m\nstart_soc_pct: 40\n"
      "events:\n  - {at: \"11:31\", event: frozen_field, field: soc_pct}\n" },
    /* the inverter's port at 250 kbit/s, the battery at 500: nothing but error frames */
    { "sim-wrong-bitrate", "pylon-lv", "generic-pylon-lv", NULL,
      "name: wrong bitrate\nstart: \"12:00\"\nduration: 30s\n"
      "events:\n  - {at: \"12:00\", event: wrong_bitrate, bitrate: 250000}\n" },
    /* SolaX ARM 1.57 and a battery that reports type 80 (IE102) */
    { "sim-solax-type80", "solax", "solax-x3-g4", "ARM 1.57",
      "name: type 80\nstart: \"12:00\"\nduration: 90s\n"
      "events:\n  - {at: \"12:00\", event: signal, name: BatteryType, raw: 80}\n" },
    /* a cell runs over-voltage while charging: the BMS protects, the charge stops */
    { "sim-cell-ov", "pylon-lv", "generic-pylon-lv", NULL,
      "name: cell over-voltage\nstart: \"11:50\"\nduration: 8m\nstart_soc_pct: 80\n"
      "events:\n  - {at: \"11:53\", for: 2m, event: cell_over_voltage, cell: 5, V: 3.7}\n" },
};

static int generate(const capdef_t *c, FILE *fp)
{
    site_t *s = malloc(sizeof *s);
    if (s == NULL || site_init(s, c->proto, c->seconds, fp) < 0) {
        free(s);
        fprintf(stderr, "gencaptures: %s: unknown protocol %s\n", c->name, c->proto);
        return 1;
    }
    c->setup(s);
    run(s);
    free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gencaptures DIR | NAME | --list\n");
        return 2;
    }
    if (strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof caps_lib / sizeof caps_lib[0]; i++)
            printf("%s\n", caps_lib[i].name);
        for (size_t i = 0; i < sizeof sims / sizeof sims[0]; i++)
            printf("%s\n", sims[i].name);
        return 0;
    }
    for (size_t i = 0; i < sizeof caps_lib / sizeof caps_lib[0]; i++)
        if (strcmp(argv[1], caps_lib[i].name) == 0)
            return generate(&caps_lib[i], stdout);
    for (size_t i = 0; i < sizeof sims / sizeof sims[0]; i++)
        if (strcmp(argv[1], sims[i].name) == 0)
            return generate_sim(&sims[i], stdout);
    for (size_t i = 0; i < sizeof sims / sizeof sims[0]; i++) {
        char path[1024];
        FILE *fp;
        int rc;
        snprintf(path, sizeof path, "%s/%s.log", argv[1], sims[i].name);
        if ((fp = fopen(path, "w")) == NULL) {
            perror(path);
            return 1;
        }
        rc = generate_sim(&sims[i], fp);
        if (fclose(fp) != 0 || rc != 0)
            return 1;
    }
    for (size_t i = 0; i < sizeof caps_lib / sizeof caps_lib[0]; i++) {
        char path[1024];
        FILE *fp;
        int rc;
        const bl_protocol_t *p = bl_protocol_find(caps_lib[i].proto);
        /* RS485 captures are hex485 lines */
        snprintf(path, sizeof path, "%s/%s.%s", argv[1], caps_lib[i].name,
                 p != NULL && bl_proto_root(p)->bus != BL_BUS_CAN ? "hex" : "log");
        if ((fp = fopen(path, "w")) == NULL) {
            perror(path);
            return 1;
        }
        rc = generate(&caps_lib[i], fp);
        if (fclose(fp) != 0 || rc != 0)
            return 1;
    }
    return 0;
}
