/*
 * Replay a capture onto a bus with its timing (bmslink replay, issue #12), as can-utils'
 * canplayer does: each frame is due at the start plus its capture offset divided by the speed,
 * on CLOCK_MONOTONIC, slept to with absolute deadlines (so a late frame does not push the
 * ones after it), in slices of at most 200 ms so a stop request is seen. The timer slack of the
 * thread is set to 1 µs while it runs: Linux's default 50 µs would be most of the error.
 */
#include "bmslink/transport.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define SLICE_NS 200000000u
#define FULL_RETRY_NS 1000000000u /* a full transmit queue is retried this long, then the frame is not sent */

static void sleep_until(uint64_t due_ns)
{
    struct timespec ts = { (time_t)(due_ns / 1000000000u), (long)(due_ns % 1000000000u) };
    (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL); /* EINTR: the caller looks again */
}

/* Wait for due_ns; false when stop() asked to end first. */
static bool wait_due(const bl_replay_opts_t *o, uint64_t due_ns)
{
    for (;;) {
        uint64_t now = bl_clock_mono_ns();
        if (o->stop != NULL && o->stop())
            return false;
        if (now >= due_ns)
            return true;
        sleep_until(due_ns - now > SLICE_NS ? now + SLICE_NS : due_ns);
    }
}

static void note_late(bl_replay_stats_t *st, uint64_t late_ns)
{
    uint64_t us = late_ns / 1000u;
    size_t b = us < 1000u ? (size_t)us : us / 1000u + 999u;
    if (b >= BL_REPLAY_HIST)
        b = BL_REPLAY_HIST - 1;
    st->late[b]++;
    if (late_ns > st->late_max_ns)
        st->late_max_ns = late_ns;
}

uint64_t bl_replay_late_ns(const bl_replay_stats_t *st, unsigned pct)
{
    uint64_t total = 0, want, acc = 0;
    for (size_t b = 0; b < BL_REPLAY_HIST; b++)
        total += st->late[b];
    if (total == 0)
        return 0;
    want = (total * (pct > 100 ? 100u : pct) + 99u) / 100u;
    if (want == 0)
        want = 1;
    for (size_t b = 0; b < BL_REPLAY_HIST; b++) {
        acc += st->late[b];
        if (acc >= want) { /* the bucket's top, but never above the largest seen */
            uint64_t top = b < 1000 ? (uint64_t)(b + 1) * 1000u : (uint64_t)(b - 998) * 1000000u;
            return top < st->late_max_ns ? top : st->late_max_ns;
        }
    }
    return st->late_max_ns;
}

/* Send one frame; a full queue is retried for a second. 1 sent, 0 not sent (counted), BL_EIO. */
static int send_frame(bl_transport_t *out, const bl_cap_frame_t *f, bl_replay_stats_t *st)
{
    uint64_t t0 = 0;
    for (;;) {
        int rc = bl_transport_write(out, f);
        if (rc == 0)
            return 1;
        if (rc == BL_EIO)
            return BL_EIO;
        if (rc == BL_EAGAIN) {
            uint64_t now = bl_clock_mono_ns();
            if (t0 == 0)
                t0 = now;
            if (now - t0 < FULL_RETRY_NS) {
                sleep_until(now + 1000000u);
                continue;
            }
        }
        st->not_sent++;
        snprintf(st->err, sizeof st->err, "%s", out->err[0] ? out->err : bl_strerror(rc));
        return 0;
    }
}

typedef struct {
    uint64_t first_ts, prev_ts, cut_us; /* this pass: capture time of its first frame, of the last, silences cut */
    uint64_t start_ns, prev_due;        /* this pass: when its first frame was due; the last due time */
    bool have_first;
    uint64_t frames;
} pass_t;

static uint64_t due_of(const bl_replay_opts_t *o, pass_t *p, const bl_cap_frame_t *f)
{
    uint64_t rel;
    if (!p->have_first) {
        p->have_first = true;
        p->first_ts = p->prev_ts = f->has_ts ? f->ts_us : 0;
        return p->prev_due = p->start_ns;
    }
    if (!f->has_ts || f->ts_us <= p->prev_ts)
        return p->prev_due; /* no time of its own, or out of order: right after the one before */
    if (o->max_gap_us && f->ts_us - p->prev_ts > o->max_gap_us)
        p->cut_us += f->ts_us - p->prev_ts - o->max_gap_us;
    p->prev_ts = f->ts_us;
    if (o->speed <= 0)
        return p->prev_due;
    rel = f->ts_us - p->first_ts - p->cut_us;
    p->prev_due = p->start_ns + (uint64_t)((double)rel * 1000.0 / o->speed + 0.5);
    return p->prev_due;
}

/* one pass over the capture. 1 at its end, 0 to stop, BL_EIO */
static int play_pass(bl_transport_t *in, bl_transport_t *out, const bl_replay_opts_t *o, bl_replay_stats_t *st,
                     pass_t *p)
{
    for (;;) {
        bl_cap_frame_t f;
        bl_line_err_t le;
        uint64_t due, now;
        int rc;

        if (o->stop != NULL && o->stop())
            return 0;
        rc = bl_transport_read(in, &f, in->live ? 200 : -1, &le);
        if (rc == 0)
            continue;
        if (rc == BL_ENOENT)
            return 1;
        if (rc == BL_EBADMSG) {
            st->bad++;
            if (o->bad != NULL)
                o->bad(o->user, in, &le);
            continue;
        }
        if (rc < 0) {
            snprintf(st->err, sizeof st->err, "%s: %s", in->uri, in->err[0] ? in->err : bl_strerror(rc));
            return BL_EIO;
        }
        st->read++;
        if (o->bus != NULL && strcmp(f.bus, o->bus) != 0) {
            st->skipped_bus++;
            continue;
        }
        if ((f.f.flags & BL_CAN_ERR) && !o->errors) {
            st->skipped_err++;
            continue;
        }
        if (!p->have_first && p->start_ns == 0)
            p->start_ns = bl_clock_mono_ns();
        due = due_of(o, p, &f);
        if (o->speed > 0 && !wait_due(o, due))
            return 0;
        rc = send_frame(out, &f, st);
        if (rc < 0)
            return rc;
        now = bl_clock_mono_ns();
        p->frames++;
        if (rc == 1) {
            st->sent++;
            if (o->speed > 0)
                note_late(st, now > due ? now - due : 0);
            if (o->sent != NULL)
                o->sent(o->user, &f, due, now);
        }
        if (o->count && st->sent >= o->count)
            return 0;
    }
}

int bl_replay(const char *uri, unsigned fmt, bl_transport_t *out, const bl_replay_opts_t *o, bl_replay_stats_t *st,
              char *errbuf, size_t errlen)
{
    bl_transport_t in;
    pass_t p;
    uint64_t t_first = 0, next_start = 0;
    int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), rc;

    memset(st, 0, sizeof *st);
    memset(&p, 0, sizeof p);
    if (errlen)
        errbuf[0] = '\0';
    (void)prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    for (;;) {
        if ((rc = bl_transport_open(&in, uri, fmt, st->err, sizeof st->err)) < 0) {
            snprintf(errbuf, errlen, "%s: %s", uri, st->err); /* the message names the capture */
            break;
        }
        memset(&p, 0, sizeof p);
        p.start_ns = next_start;
        rc = play_pass(&in, out, o, st, &p);
        bl_transport_close(&in);
        if (p.have_first && st->passes == 0) {
            st->span_us = p.prev_ts - p.first_ts;
            t_first = p.start_ns;
        }
        if (p.frames > 0)
            st->passes++;
        if (rc < 0) {
            snprintf(errbuf, errlen, "%s", st->err[0] ? st->err : out->err);
            break;
        }
        if (rc == 0 || !o->loop || p.frames == 0)
            break;
        /* the next pass follows the last frame after the mean gap between frames (1 s for one frame) */
        {
            uint64_t gap_us = p.frames > 1 ? (p.prev_ts - p.first_ts - p.cut_us) / (p.frames - 1u) : 1000000u;
            next_start = o->speed > 0 ? p.prev_due + (uint64_t)((double)gap_us * 1000.0 / o->speed) : 0;
        }
    }
    if (t_first)
        st->wall_ns = bl_clock_mono_ns() - t_first;
    if (slack > 0)
        (void)prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
    return rc < 0 ? rc : 0;
}
