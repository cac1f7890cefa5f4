/*
 * bmslink monitor: the canonical record of a live bus, kept up to date. On a
 * terminal the view is redrawn in place; with --json one object per update.
 *
 * Reading never waits for drawing: frames are drained as they come (at full
 * bus load too), counted per id into one-second buckets, decoded into the
 * record, and the view is drawn every --interval. Ages are measured against
 * the wall clock for live sources and against the capture's own time for
 * files, so a capture replays into the same view it would have shown live.
 */
#include "bmslink/detect.h"
#include "bmslink/transport.h"
#include "cli.h"
#include "live.h"
#include "view.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: bmslink monitor [-p PROTOCOL] [--json] [options] SOURCE\n"
    "  A live view of the battery on a bus: every canonical field with its unit and age,\n"
    "  stale fields marked (older than the protocol's timeout), alarms, frame rates per id,\n"
    "  rejects by reason, error frames and the bus state. Redraws in place on a terminal.\n"
    "  SOURCE: socketcan:IFACE, slcan:DEV[@BITRATE], virtual:NAME, - (e.g. candump -L can0 |),\n"
    "          or a capture file (replayed on its own clock; --json gives one line per interval)\n"
    "  -p, --protocol NAME  protocol or variant (default: detected from the traffic)\n"
    "      --json           one JSON object per update (NDJSON) instead of the view\n"
    "      --interval D     time between updates (default 250ms on a terminal, else 1s)\n"
    "      --stale D        fields older than D are stale (default: the protocol's timeout)\n"
    "  -n, --count N        stop after N frames\n"
    "      --duration D     stop after D (500ms, 90s, 15m, 24h)\n"
    "      --record FILE    also log every frame to FILE as candump -L\n"
    "  A live source that goes away (adapter unplugged, interface down) is reopened every\n"
    "  second and the view says so; Ctrl-C stops, flushes the record and prints the counters.\n"
    "examples:\n"
    "  bmslink monitor slcan:/dev/ttyACM0@500000\n"
    "  candump -L can0 | bmslink monitor -p pylon-lv -\n"
    "  bmslink monitor --json --duration 1m socketcan:can0 > soc.ndjson\n";

#define ID_SLOTS 512      /* hash slots; more distinct ids are counted as "other" */
#define ID_MAX 384
#define RATE_SECONDS 10   /* frame rates are averaged over this many whole seconds */
#define SAMPLE_MAX 400    /* frames kept for protocol detection */
#define DETECT_AFTER_MS 3000
#define EVENTS 6
#define DRAIN_MAX 4096    /* frames read between two looks at the clock */
#define SLICE_MS 200
#define REOPEN_EVERY_MS 1000

typedef struct {
    uint32_t sec;
    uint32_t n[RATE_SECONDS];
} rate_t;

typedef struct {
    uint32_t key; /* id | ext << 31; 0xFFFFFFFF = free */
    uint64_t count;
    uint64_t last_ms;
    bool decodes;
    rate_t rate;
} idstat_t;

typedef struct {
    uint64_t at_ms;
    char text[160];
} event_t;

typedef struct {
    /* options */
    const bl_protocol_t *p;
    bool json, tty, detected;
    unsigned fmt;
    uint64_t interval_ms, stale_ms, count, duration_ms;
    const char *record_path, *uri;
    /* source */
    bl_transport_t t;
    bl_recorder_t *rec;
    /* decoding */
    bl_can_codec_t codec;
    bool ready;
    bl_caps_t caps;
    bl_record_t r;
    uint64_t frames, decoded, errors, reasons[BL_REJ_COUNT];
    uint64_t other_ids;
    idstat_t ids[ID_SLOTS];
    unsigned nids;
    rate_t all;
    uint64_t first_ms, last_ms, now_ms;
    bl_cap_frame_t *sample;
    size_t nsample;
    uint64_t next_detect_ms;
    /* events from the transport and from us */
    event_t ev[EVENTS];
    unsigned nev;
    uint64_t ev_total, ev_shown_json;
    char reopen_err[256];
    bl_out_t out;
} mon_t;

/* ---- counting ---- */

static void rate_add(rate_t *r, uint64_t ms)
{
    uint32_t sec = (uint32_t)(ms / 1000u);
    if (sec != r->sec) {
        uint32_t gap = sec > r->sec ? sec - r->sec : RATE_SECONDS;
        for (uint32_t i = 1; i <= gap && i <= RATE_SECONDS; i++)
            r->n[(r->sec + i) % RATE_SECONDS] = 0;
        r->sec = sec;
    }
    r->n[sec % RATE_SECONDS]++;
}

/* Frames per second over the last whole seconds before now (at most RATE_SECONDS,
 * no more than have passed since first_ms). */
static double rate_get(const rate_t *r, uint64_t now_ms, uint64_t first_ms)
{
    uint32_t now = (uint32_t)(now_ms / 1000u), first = (uint32_t)(first_ms / 1000u);
    uint32_t span = now > first ? now - first : 0, sum = 0;
    if (span > RATE_SECONDS - 1)
        span = RATE_SECONDS - 1;
    if (span == 0)
        return 0.0;
    for (uint32_t s = now - span; s < now; s++)
        if (s <= r->sec && r->sec - s < RATE_SECONDS)
            sum += r->n[s % RATE_SECONDS];
    return (double)sum / span;
}

static idstat_t *id_slot(mon_t *m, const bl_can_frame_t *f)
{
    uint32_t key = f->id | ((f->flags & BL_CAN_EXT) ? 0x80000000u : 0u);
    uint32_t h = (key * 2654435761u) % ID_SLOTS;
    for (unsigned i = 0; i < ID_SLOTS; i++, h = (h + 1) % ID_SLOTS) {
        idstat_t *s = &m->ids[h];
        if (s->key == key)
            return s;
        if (s->key == 0xFFFFFFFFu) {
            if (m->nids >= ID_MAX)
                return NULL;
            m->nids++;
            memset(s, 0, sizeof *s);
            s->key = key;
            return s;
        }
    }
    return NULL;
}

static void add_event(mon_t *m, const char *text)
{
    if (m->nev == EVENTS) {
        memmove(m->ev, m->ev + 1, sizeof m->ev[0] * (EVENTS - 1));
        m->nev--;
    }
    m->ev[m->nev].at_ms = live_now_ms();
    snprintf(m->ev[m->nev].text, sizeof m->ev[m->nev].text, "%s", text);
    m->nev++;
    m->ev_total++;
}

static void on_note(void *user, bl_transport_t *t, const char *text)
{
    (void)t;
    add_event(user, text);
}

/* ---- protocol ---- */

static void use_protocol(mon_t *m, const bl_protocol_t *p, bool detected)
{
    m->p = p;
    m->detected = detected;
    if (bl_can_codec_init(&m->codec, p) < 0)
        return;
    bl_proto_caps(p, &m->caps);
    if (m->stale_ms == 0)
        m->stale_ms = bl_proto_timeout_ms(p);
    m->ready = true;
}

static void try_detect(mon_t *m)
{
    bl_detect_score_t sc[4];
    char msg[160];
    size_t n;

    if (m->nsample == 0)
        return;
    n = bl_detect_can(m->sample, m->nsample, sc, BL_ARRAY_LEN(sc));
    if (n == 0 || sc[0].decoded == 0) {
        m->next_detect_ms = m->now_ms + DETECT_AFTER_MS;
        if (m->ev_total == 0 || strstr(m->ev[m->nev - 1].text, "no known protocol") == NULL)
            add_event(m, "no known protocol matches this traffic yet (name one with -p)");
        return;
    }
    use_protocol(m, sc[0].p, true);
    snprintf(msg, sizeof msg, "detected %s: %u of %u frames decode", sc[0].p->name, sc[0].decoded, sc[0].frames);
    add_event(m, msg);
    /* the sample is decoded now so the view starts complete */
    for (size_t i = 0; i < m->nsample; i++) {
        bl_decoded_t d;
        uint64_t ms = m->sample[i].ts_us / 1000u;
        if (!(m->sample[i].f.flags & BL_CAN_ERR) && bl_can_decode(&m->codec, &m->sample[i].f, ms, &m->r, &d) == 0)
            m->decoded++;
        else if (!(m->sample[i].f.flags & BL_CAN_ERR)) {
            m->errors++;
            m->reasons[d.why]++;
        }
    }
    m->nsample = 0;
}

static void on_frame(mon_t *m, bl_cap_frame_t *cf)
{
    idstat_t *s;
    bl_decoded_t d;

    /* a live source is judged by when frames arrive; a capture by its own clock */
    if (m->t.live || !cf->has_ts)
        cf->ts_us = m->t.live ? bl_clock_wall_us() : m->now_ms * 1000u;
    m->now_ms = m->last_ms = cf->ts_us / 1000u;
    if (m->first_ms == 0)
        m->first_ms = m->now_ms;
    m->frames++;
    rate_add(&m->all, m->now_ms);
    if (cf->f.flags & BL_CAN_ERR)
        return; /* counted by the transport, shown as bus state */
    if ((s = id_slot(m, &cf->f)) == NULL) {
        m->other_ids++;
    } else {
        s->count++;
        s->last_ms = m->now_ms;
        rate_add(&s->rate, m->now_ms);
    }
    if (!m->ready) {
        if (m->nsample == SAMPLE_MAX)
            memmove(m->sample, m->sample + 1, sizeof *m->sample * (SAMPLE_MAX - 1)), m->nsample--;
        m->sample[m->nsample++] = *cf;
        if (m->next_detect_ms == 0)
            m->next_detect_ms = m->now_ms + DETECT_AFTER_MS;
        if (m->nsample == SAMPLE_MAX || m->now_ms >= m->next_detect_ms)
            try_detect(m);
        return;
    }
    if (bl_can_decode(&m->codec, &cf->f, m->now_ms, &m->r, &d) == 0) {
        m->decoded++;
        if (s != NULL)
            s->decodes = true;
    } else {
        m->errors++;
        m->reasons[d.why]++;
    }
}

/* ---- drawing ---- */

static bool is_stale(const mon_t *m, const bl_field_t *f)
{
    return f->valid && m->stale_ms != 0 && m->now_ms > f->seen_ms && m->now_ms - f->seen_ms > m->stale_ms;
}

static uint32_t shown_fields(const mon_t *m)
{
    uint32_t mask = m->ready ? m->caps.fields : 0;
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if (m->r.f[i].valid)
            mask |= BL_BIT(i);
    return mask;
}

static const char *link_text(const mon_t *m)
{
    return m->t.down ? "DOWN" : m->t.ops == NULL ? "closed" : "up";
}

static void alarm_line(mon_t *m, view_screen_t *sc, unsigned c)
{
    char b[400];
    size_t o = 0;
    bool stale = m->r.known[c] && m->stale_ms && m->now_ms - m->r.alarm_seen_ms[c] > m->stale_ms;

    b[0] = '\0';
    for (unsigned a = 0; a < BL_A_COUNT; a++)
        if (m->r.active[c] & (1U << a))
            o += (size_t)snprintf(b + o, sizeof b - o, "%s%s", o ? " " : "", bl_alarm_str(a));
    if (!m->r.known[c] && !(m->ready && m->caps.alarms[c]))
        view_line(sc, "%-12s (not carried by this protocol)", bl_alarm_class_str(c));
    else if (!m->r.known[c])
        view_line(sc, "%-12s (not received yet)", bl_alarm_class_str(c));
    else if (o == 0)
        view_line(sc, "%-12s none%s", bl_alarm_class_str(c), stale ? "   STALE" : "");
    else
        view_line(sc, "%-12s %s! %s%s%s", bl_alarm_class_str(c), view_hl(sc, true), b, view_hl(sc, false), stale ? "   STALE" : "");
}

static void draw_text(mon_t *m)
{
    view_screen_t sc;
    char v[64], age[32], tbuf[32];
    time_t now = (time_t)(live_now_ms() / 1000u);
    struct tm tm;
    uint32_t fields = shown_fields(m);

    view_screen_init(&sc, &m->out, m->tty);
    localtime_r(&now, &tm);
    strftime(tbuf, sizeof tbuf, "%H:%M:%S", &tm);
    if (m->tty)
        out_str(&m->out, "\033[H");
    view_line(&sc, "bmslink monitor  %s  %s%s   %s", m->uri, m->p ? m->p->name : "(detecting protocol)",
         m->p && m->detected ? " (detected)" : "", tbuf);
    snprintf(v, sizeof v, "%u bit/s", (unsigned)m->t.bitrate);
    view_line(&sc, "bus %s   link %s   bitrate %s   timestamps %s%s%s", bl_bus_state_str(m->t.bus_state), link_text(m),
         m->t.bitrate ? v : "-", m->t.ts_source ? m->t.ts_source : "-", m->t.info[0] ? "   " : "", m->t.info);
    view_line(&sc, "%s", "");
    view_line(&sc, "%-27s %-16s %s", "FIELD", "VALUE", "AGE");
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++) {
        const bl_field_t *f = &m->r.f[i];
        if (!(fields & BL_BIT(i)))
            continue;
        if (!f->valid) {
            view_line(&sc, "%-27s %-16s %s", bl_field_info(i)->key, "-", "never");
            continue;
        }
        view_fmt_value(&m->r, i, v, sizeof v);
        view_fmt_age(m->now_ms > f->seen_ms ? m->now_ms - f->seen_ms : 0, age, sizeof age);
        if (is_stale(m, f))
            view_line(&sc, "%-27s %-16s %-8s %sSTALE%s", bl_field_info(i)->key, v, age, view_hl(&sc, true), view_hl(&sc, false));
        else
            view_line(&sc, "%-27s %-16s %s", bl_field_info(i)->key, v, age);
    }
    if (m->ready) {
        bool safe = bl_can_safe_needed(&m->codec, &m->r, m->now_ms, m->stale_ms);
        view_line(&sc, "%-27s %s%s%s", "limits",
             safe ? view_hl(&sc, true) : "",
             safe ? "MISSING OR STALE: a translator must send the safe state (0 A)" : "fresh",
             safe ? view_hl(&sc, false) : "");
    }
    view_fmt_milli(v, sizeof v, (int64_t)m->stale_ms, 1);
    view_line(&sc, "%-27s %s s", "stale after", v);
    view_line(&sc, "%s", "");
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        alarm_line(m, &sc, c);
    view_line(&sc, "%s", "");
    {
        char rs[200] = "";
        size_t o = 0;
        for (unsigned r = 1; r < BL_REJ_COUNT; r++) {
            unsigned long long k = (unsigned long long)m->reasons[r] + m->t.stats.bad[r];
            if (k)
                o += (size_t)snprintf(rs + o, sizeof rs - o, "%s%s %llu", o ? ", " : "", bl_reject_str((bl_reject_t)r), k);
        }
        unsigned long long rejected = (unsigned long long)m->errors + m->t.stats.rx_bad;
        view_line(&sc, "frames %llu   %.1f/s   decoded %llu   rejected %llu%s%s%s", (unsigned long long)m->frames,
             rate_get(&m->all, m->now_ms, m->first_ms), (unsigned long long)m->decoded, rejected, o ? " (" : "", rs,
             o ? ")" : "");
    }
    view_line(&sc, "error frames %llu   lost %llu   not sent %llu   bus-off %llu", (unsigned long long)m->t.stats.rx_err_frames,
         (unsigned long long)m->t.stats.rx_drop, (unsigned long long)m->t.stats.tx_fail,
         (unsigned long long)m->t.stats.bus_off);
    view_line(&sc, "%s", "");
    view_line(&sc, "%-10s %8s %9s  %s", "ID", "RATE", "FRAMES", "LAST");
    {
        unsigned shown = 0, room = sc.tty && sc.rows > sc.lines + 3 + (m->nev ? m->nev + 2 : 0)
                                       ? sc.rows - sc.lines - 3 - (m->nev ? m->nev + 2 : 0)
                                       : 1000;
        for (uint64_t key = 0;;) { /* ascending id order */
            const idstat_t *best = NULL;
            for (unsigned i = 0; i < ID_SLOTS; i++)
                if (m->ids[i].key != 0xFFFFFFFFu && m->ids[i].key >= key && (!best || m->ids[i].key < best->key))
                    best = &m->ids[i];
            if (best == NULL)
                break;
            key = (uint64_t)best->key + 1u;
            if (shown == room) {
                view_line(&sc, "%u more ids", m->nids - shown);
                break;
            }
            shown++;
            view_fmt_age(m->now_ms - best->last_ms, age, sizeof age);
            snprintf(v, sizeof v, (best->key & 0x80000000u) ? "0x%08X" : "0x%03X", (unsigned)(best->key & 0x7FFFFFFFu));
            view_line(&sc, "%-10s %6.1f/s %9llu  %s ago%s", v, rate_get(&best->rate, m->now_ms, m->first_ms),
                 (unsigned long long)best->count, age, m->ready && !best->decodes ? "  (not decoded)" : "");
        }
        if (m->other_ids)
            view_line(&sc, "%llu frames of further ids not listed", (unsigned long long)m->other_ids);
    }
    if (m->nev) {
        view_line(&sc, "%s", "");
        for (unsigned i = 0; i < m->nev; i++) {
            time_t at = (time_t)(m->ev[i].at_ms / 1000u);
            localtime_r(&at, &tm);
            strftime(tbuf, sizeof tbuf, "%H:%M:%S", &tm);
            view_line(&sc, "%s  %s", tbuf, m->ev[i].text);
        }
    }
    if (m->tty)
        out_str(&m->out, "\033[J");
    else
        out_ch(&m->out, '\n');
    out_flush(&m->out);
}

static void j_kdouble(bl_out_t *o, const char *k, double v)
{
    j_key(o, k);
    out_printf(o, "%.3f", v);
    o->first = false;
}

static void draw_json(mon_t *m)
{
    bl_out_t *o = &m->out;
    uint32_t fields = shown_fields(m);

    o->first = true;
    j_obj(o);
    j_key(o, "ts");
    out_ts(o, m->t.live ? bl_clock_wall_us() : m->now_ms * 1000u);
    o->first = false;
    j_kstr(o, "source", m->uri);
    j_kstr(o, "protocol", m->p ? m->p->name : NULL);
    j_kbool(o, "detected", m->detected);
    j_kstr(o, "link", m->t.down ? "down" : "up");
    j_kstr(o, "bus_state", bl_bus_state_str(m->t.bus_state));
    if (m->t.bitrate)
        j_kint(o, "bitrate", m->t.bitrate);
    else
        j_knull(o, "bitrate");
    cli_json_fields(o, "record", &m->r, UINT32_MAX);
    j_key(o, "age_s");
    j_obj(o);
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if (m->r.f[i].valid)
            j_kdouble(o, bl_field_info(i)->key,
                      (double)(m->now_ms > m->r.f[i].seen_ms ? m->now_ms - m->r.f[i].seen_ms : 0) / 1000.0);
    j_end_obj(o);
    j_key(o, "stale");
    j_arr(o);
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if (is_stale(m, &m->r.f[i]))
            j_str_el(o, bl_field_info(i)->key);
    j_end_arr(o);
    j_key(o, "missing");
    j_arr(o);
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if ((fields & BL_BIT(i)) && !m->r.f[i].valid)
            j_str_el(o, bl_field_info(i)->key);
    j_end_arr(o);
    j_kdouble(o, "stale_after_s", (double)m->stale_ms / 1000.0);
    if (m->ready)
        j_kbool(o, "safe_state", bl_can_safe_needed(&m->codec, &m->r, m->now_ms, m->stale_ms));
    else
        j_knull(o, "safe_state");
    cli_json_alarms(o, m->r.active);
    j_kint(o, "frames", (int64_t)m->frames);
    j_kdouble(o, "frame_rate", rate_get(&m->all, m->now_ms, m->first_ms));
    j_kint(o, "decoded", (int64_t)m->decoded);
    j_kint(o, "errors", (int64_t)(m->errors + m->t.stats.rx_bad));
    j_key(o, "error_reasons");
    j_obj(o);
    for (unsigned r = 1; r < BL_REJ_COUNT; r++)
        if (m->reasons[r] + m->t.stats.bad[r])
            j_kint(o, bl_reject_str((bl_reject_t)r), (int64_t)(m->reasons[r] + m->t.stats.bad[r]));
    j_end_obj(o);
    j_kint(o, "error_frames", (int64_t)m->t.stats.rx_err_frames);
    j_kint(o, "dropped", (int64_t)m->t.stats.rx_drop);
    j_key(o, "ids");
    j_obj(o);
    for (unsigned i = 0; i < ID_SLOTS; i++) {
        const idstat_t *s = &m->ids[i];
        char id[16];
        if (s->key == 0xFFFFFFFFu)
            continue;
        snprintf(id, sizeof id, (s->key & 0x80000000u) ? "0x%08X" : "0x%03X", (unsigned)(s->key & 0x7FFFFFFFu));
        j_key(o, id);
        j_obj(o);
        j_kdouble(o, "rate", rate_get(&s->rate, m->now_ms, m->first_ms));
        j_kint(o, "count", (int64_t)s->count);
        j_kdouble(o, "age_s", (double)(m->now_ms - s->last_ms) / 1000.0);
        j_end_obj(o);
    }
    j_end_obj(o);
    j_key(o, "events");
    j_arr(o);
    {
        uint64_t fresh = m->ev_total - m->ev_shown_json;
        for (unsigned i = fresh < m->nev ? m->nev - (unsigned)fresh : 0; i < m->nev; i++)
            j_str_el(o, m->ev[i].text);
        m->ev_shown_json = m->ev_total;
    }
    j_end_arr(o);
    j_end_obj(o);
    out_ch(o, '\n');
    out_flush(o);
}

static void draw(mon_t *m)
{
    if (m->json)
        draw_json(m);
    else
        draw_text(m);
}

/* ---- the loop ---- */

static bool done(mon_t *m, uint64_t start_ms)
{
    if (live_stopped())
        return true;
    if (m->count && m->frames >= m->count)
        return true;
    if (m->duration_ms && bl_clock_mono_ms() - start_ms >= m->duration_ms)
        return true;
    return false;
}

/* A live source: drain, draw every interval, reopen what went away. */
static int run_live(mon_t *m)
{
    uint64_t start = bl_clock_mono_ms(), next_draw = start, next_reopen = 0;
    int rc = BL_EXIT_OK;

    live_signals();
    if (m->tty && !m->json)
        out_str(&m->out, "\033[?25l\033[2J"); /* hide the cursor, clear once */
    while (!done(m, start)) {
        uint64_t now = bl_clock_mono_ms();
        if (now >= next_draw) {
            m->now_ms = live_now_ms();
            if (!m->ready && m->nsample && m->now_ms >= m->next_detect_ms)
                try_detect(m);
            draw(m);
            next_draw = now + m->interval_ms;
        }
        if (m->t.ops == NULL || m->t.down) {
            if (now >= next_reopen) {
                char err[256];
                next_reopen = now + REOPEN_EVERY_MS;
                if (bl_transport_reopen(&m->t, err, sizeof err) == 0) {
                    m->reopen_err[0] = '\0';
                    continue;
                }
                if (strcmp(err, m->reopen_err) != 0) { /* say it once, not every second */
                    char msg[300];
                    snprintf(m->reopen_err, sizeof m->reopen_err, "%s", err);
                    snprintf(msg, sizeof msg, "cannot reopen yet (retrying every second): %s", err);
                    add_event(m, msg);
                }
            }
            struct timespec ts = { 0, 50000000 };
            nanosleep(&ts, NULL);
            continue;
        }
        uint64_t wait = next_draw > now ? next_draw - now : 0;
        bl_cap_frame_t cf;
        bl_line_err_t le;
        int r = bl_transport_read(&m->t, &cf, (int)(wait < SLICE_MS ? wait : SLICE_MS), &le);
        for (unsigned k = 0; r == 1 || r == BL_EBADMSG; k++) {
            if (r == 1)
                on_frame(m, &cf);
            if (k == DRAIN_MAX || done(m, start))
                break;
            r = bl_transport_read(&m->t, &cf, 0, &le);
        }
        if (r == BL_ENOENT)
            break; /* the pipe closed */
        if (r < 0 && r != BL_EBADMSG) {
            if (strcmp(m->t.kind, "file") == 0) {
                cli_err("%s: %s", m->uri, m->t.err);
                rc = BL_EXIT_IO;
                break;
            }
            if (!m->t.down) {
                m->t.down = true;
                add_event(m, m->t.err);
            }
            next_reopen = bl_clock_mono_ms() + REOPEN_EVERY_MS;
        }
    }
    m->now_ms = live_now_ms();
    draw(m);
    if (m->tty && !m->json)
        out_str(&m->out, "\033[?25h");
    out_flush(&m->out);
    return rc;
}

/* A capture file: its own clock; --json gives one update per interval of capture time. */
static int run_file(mon_t *m)
{
    uint64_t next_draw = 0;

    for (;;) {
        bl_cap_frame_t cf;
        bl_line_err_t le;
        int r = bl_transport_read(&m->t, &cf, -1, &le);
        if (r == BL_ENOENT)
            break;
        if (r == BL_EBADMSG)
            continue;
        if (r < 0) {
            cli_err("%s:%llu: %s", m->uri, (unsigned long long)m->t.line, m->t.err);
            return BL_EXIT_IO;
        }
        if (cf.has_ts && m->json && next_draw != 0) {
            while (cf.ts_us / 1000u >= next_draw) {
                m->now_ms = next_draw;
                draw(m);
                next_draw += m->interval_ms;
            }
        }
        on_frame(m, &cf);
        if (next_draw == 0)
            next_draw = m->now_ms + m->interval_ms;
        if (m->count && m->frames >= m->count)
            break;
        if (m->duration_ms && m->now_ms - m->first_ms >= m->duration_ms)
            break;
    }
    if (!m->ready && m->nsample)
        try_detect(m);
    if (m->frames == 0) {
        cli_err("%s: no CAN frames", m->uri);
        return BL_EXIT_IO;
    }
    draw(m);
    return BL_EXIT_OK;
}

enum { OPT_JSON = 256, OPT_INTERVAL, OPT_STALE, OPT_DURATION, OPT_RECORD, OPT_FORMAT };

static int parse_args(mon_t *m, int argc, char **argv)
{
    static const struct option opts[] = {
        { "protocol", required_argument, 0, 'p' }, { "json", no_argument, 0, OPT_JSON },
        { "interval", required_argument, 0, OPT_INTERVAL }, { "stale", required_argument, 0, OPT_STALE },
        { "count", required_argument, 0, 'n' }, { "duration", required_argument, 0, OPT_DURATION },
        { "record", required_argument, 0, OPT_RECORD }, { "format", required_argument, 0, OPT_FORMAT },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    int ch;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "p:n:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            if ((m->p = cli_protocol("monitor", optarg)) == NULL)
                return BL_EXIT_USAGE;
            break;
        case OPT_JSON: m->json = true; break;
        case OPT_RECORD: m->record_path = optarg; break;
        case OPT_FORMAT:
            m->fmt = bl_capfmt_by_name(optarg);
            if (m->fmt == BL_FMT_COUNT || m->fmt == BL_FMT_HEX485)
                return cli_usage_err(usage, "monitor", "unknown --format '%s' (candump, log, asc, trc, gvret, pcap, pcapng)", optarg);
            break;
        case OPT_INTERVAL:
            if (!cli_parse_duration(optarg, &m->interval_ms) || m->interval_ms < 10)
                return cli_usage_err(usage, "monitor", "bad --interval '%s' (at least 10ms, e.g. 250ms, 1s)", optarg);
            break;
        case OPT_STALE:
            if (!cli_parse_duration(optarg, &m->stale_ms) || m->stale_ms == 0)
                return cli_usage_err(usage, "monitor", "bad --stale '%s' (e.g. 500ms, 10s, 5m)", optarg);
            break;
        case OPT_DURATION:
            if (!cli_parse_duration(optarg, &m->duration_ms))
                return cli_usage_err(usage, "monitor", "bad --duration '%s' (e.g. 500ms, 90s, 15m, 24h)", optarg);
            break;
        case 'n':
            if (!cli_parse_count(optarg, &m->count))
                return cli_usage_err(usage, "monitor", "bad --count '%s'", optarg);
            break;
        case 'h': return -1;
        default: return cli_usage_err(usage, "monitor", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_err(usage, "monitor", "no SOURCE (socketcan:IFACE, slcan:DEV@BITRATE, virtual:NAME, -, FILE)");
    if (argc - optind > 1)
        return cli_usage_err(usage, "monitor", "one SOURCE at a time ('%s' is extra)", argv[optind + 1]);
    m->uri = argv[optind];
    if (m->p != NULL && bl_proto_root(m->p)->bus != BL_BUS_CAN)
        return cli_usage_err(usage, "monitor", "%s is not a CAN protocol; this build monitors CAN buses", m->p->name);
    return 0;
}

int verb_monitor(int argc, char **argv)
{
    mon_t *m = calloc(1, sizeof *m);
    int rc;

    if (m == NULL || (m->sample = calloc(SAMPLE_MAX, sizeof *m->sample)) == NULL) {
        free(m);
        cli_err("monitor: out of memory");
        return BL_EXIT_IO;
    }
    for (unsigned i = 0; i < ID_SLOTS; i++)
        m->ids[i].key = 0xFFFFFFFFu;
    bl_record_init(&m->r);
    rc = parse_args(m, argc, argv);
    if (rc == -1) {
        rc = cli_help(usage);
        goto out;
    }
    if (rc != 0)
        goto out;
    m->tty = isatty(1) == 1;
    if (m->interval_ms == 0)
        m->interval_ms = m->tty && !m->json ? 250 : 1000;
    out_init(&m->out, stdout);
    if (m->p != NULL)
        use_protocol(m, m->p, false);
    if ((rc = live_record_open(m->record_path, &m->rec)) != 0)
        goto out;
    if ((rc = live_open(&m->t, m->uri, m->fmt, m->rec)) != 0)
        goto out_rec;
    m->t.notify = on_note;
    m->t.notify_user = m;
    rc = m->t.live ? run_live(m) : run_file(m);
    if (m->t.live || live_stopped())
        live_print_stats(stderr, &m->t);
    bl_transport_close(&m->t);
out_rec:
    if (live_record_close(m->rec) != 0 && rc == BL_EXIT_OK)
        rc = BL_EXIT_IO;
out:
    free(m->sample);
    free(m);
    return rc;
}
