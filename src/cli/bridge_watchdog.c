/*
 * bmslink bridge as a service: the watchdog that keeps the inverter safe when the main loop
 * stalls, and systemd's notify protocol.
 *
 * The watchdog is a thread with its own gateway engine: the output protocol, one pack of the
 * first pack's protocol that is never fed. That engine has no pack in use, so everything it
 * sends is the output protocol's safe state (0 A limits, its safe alarms) at the protocol's
 * periods, encoded by the same tables as the real output. While the main loop steps, the
 * thread only checks a timestamp every quarter of --watchdog. When the main loop has not
 * stepped for --watchdog, the thread takes the output lock and sends those frames on the
 * output (a CAN transport; the main loop writes under the same lock) until the main loop
 * steps again. It never reads a port: RS485 outputs (the inverter polls) get no watchdog,
 * the inverter's own communication timeout is their guarantee. docs/design.md, "as a service".
 */
#include "bmslink/gateway.h"
#include "bridge.h"
#include "cli.h"
#include "live.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct br_wd {
    pthread_t th;
    pthread_mutex_t out_lock;
    _Atomic uint64_t alive_ms;   /* the main loop's last step (monotonic ms) */
    _Atomic bool stop;
    _Atomic bool tripped;        /* safe frames were sent since the main loop last said so */
    br_t *b;
    /* the watchdog's own engine: the safe state of the output protocol */
    bl_gw_cfg_t cfg;
    bl_gw_t gw;
    bl_gw_pack_t pack;
    uint64_t sent, failed, trips;
};

void br_out_lock(br_t *b)
{
    if (b->wd != NULL)
        pthread_mutex_lock(&b->wd->out_lock);
}

void br_out_unlock(br_t *b)
{
    if (b->wd != NULL)
        pthread_mutex_unlock(&b->wd->out_lock);
}

/* Called by the watchdog engine with the output lock held (bl_gw_step below). */
static void wd_tx(void *ctx, unsigned port, const bl_can_frame_t *f, const bl_gw_txinfo_t *info)
{
    struct br_wd *w = ctx;
    br_port_t *p = &w->b->inv;
    bl_cap_frame_t cf;

    (void)info;
    if (port != BL_GW_INVERTER)
        return; /* requests to the (absent) pack */
    memset(&cf, 0, sizeof cf);
    cf.f = *f;
    cf.ts_us = bl_clock_wall_us();
    cf.has_ts = 1;
    cf.dir = 'T';
    /* straight to the transport: br_port_write_frame would touch the view's state */
    if (p->open && !p->down && p->kind == PORT_CAN && bl_transport_write(&p->t, &cf) == 0)
        w->sent++;
    else
        w->failed++;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void say(const char *text)
{
    /* stderr, one write: the journal gets it whatever the main thread is doing */
    char line[320];
    int n = snprintf(line, sizeof line, "bmslink: bridge: %s\n", text);
    if (n > 0)
        (void)!write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void *wd_main(void *arg)
{
    struct br_wd *w = arg;
    uint64_t slice = w->b->watchdog_ms / 4u ? w->b->watchdog_ms / 4u : 1u;
    uint64_t next = 0;
    bool active = false;

    while (!atomic_load(&w->stop)) {
        uint64_t now = bl_clock_mono_ms(), alive = atomic_load(&w->alive_ms);
        if (now <= alive || now - alive < w->b->watchdog_ms) {
            if (active) {
                active = false;
                say("watchdog: the main loop runs again: the output is its own again");
            }
            sleep_ms(slice);
            continue;
        }
        if (!active) {
            char msg[200];
            active = true;
            w->trips++;
            atomic_store(&w->tripped, true);
            snprintf(msg, sizeof msg, "watchdog: the main loop has not run for %llu ms: sending %s's safe state",
                     (unsigned long long)(now - alive), w->b->out_p->name);
            say(msg);
            /* a fresh engine each time: its hold is over at once and it starts from nothing */
            if (bl_gw_init(&w->gw, &w->cfg, &w->pack, 1, now) < 0) {
                say("watchdog: cannot start its engine: the output stays silent");
                next = BL_NEVER;
            } else {
                next = now;
            }
        }
        if (next != BL_NEVER && now >= next) {
            pthread_mutex_lock(&w->out_lock);
            next = bl_gw_step(&w->gw, now);
            pthread_mutex_unlock(&w->out_lock);
        }
        now = bl_clock_mono_ms();
        sleep_ms(next == BL_NEVER || next <= now ? slice : (next - now < slice ? next - now : slice));
    }
    return NULL;
}

int br_wd_start(br_t *b)
{
    struct br_wd *w;
    int rc;

    if (b->watchdog_ms == 0 || b->offline || b->dry_run || b->inv.kind != PORT_CAN || !b->inv.open)
        return BL_EXIT_OK;
    if ((w = calloc(1, sizeof *w)) == NULL) {
        cli_err("bridge: watchdog: out of memory");
        return BL_EXIT_IO;
    }
    w->b = b;
    pthread_mutex_init(&w->out_lock, NULL);
    atomic_store(&w->alive_ms, bl_clock_mono_ms());
    w->cfg.out = b->out_p;
    w->cfg.policy = BL_GW_CONSERVATIVE;
    w->cfg.hold_ms = 1; /* nothing to wait for: the safe state at once */
    w->cfg.out_addr = b->cfg.out_addr;
    w->cfg.tx = wd_tx;
    w->cfg.ctx = w;
    if (bl_gw_pack_init(&w->pack, b->pack[0].p, 0) < 0 && bl_gw_pack_init(&w->pack, b->out_p, 0) < 0) {
        cli_err("bridge: watchdog: cannot set up its engine");
        free(w);
        return BL_EXIT_USAGE;
    }
    b->wd = w;
    if ((rc = pthread_create(&w->th, NULL, wd_main, w)) != 0) {
        cli_err("bridge: watchdog: cannot start its thread: %s", strerror(rc));
        b->wd = NULL;
        free(w);
        return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

bool br_wd_alive(br_t *b, uint64_t now_ms)
{
    if (b->wd == NULL)
        return true;
    atomic_store(&b->wd->alive_ms, now_ms);
    return !atomic_exchange(&b->wd->tripped, false);
}

void br_wd_stop(br_t *b)
{
    struct br_wd *w = b->wd;
    if (w == NULL)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->th, NULL);
    if (w->trips)
        fprintf(stderr, "bmslink: bridge: watchdog: took over %llu times, %llu safe-state frames sent, %llu failed\n",
                (unsigned long long)w->trips, (unsigned long long)w->sent, (unsigned long long)w->failed);
    pthread_mutex_destroy(&w->out_lock);
    b->wd = NULL;
    free(w);
}

/* ---- systemd's notify protocol: one datagram to $NOTIFY_SOCKET ---- */

void br_sd_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    size_t n;
    int fd;

    if (path == NULL || (path[0] != '/' && path[0] != '@') || (n = strlen(path)) >= sizeof sa.sun_path)
        return; /* not started by systemd with Type=notify: nothing to tell */
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* an abstract socket */
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
        return;
    (void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&sa,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
    close(fd);
}

uint64_t br_sd_watchdog_ms(void)
{
    const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    unsigned long long v;

    if (us == NULL || (pid != NULL && strtol(pid, NULL, 10) != (long)getpid()))
        return 0;
    v = strtoull(us, &end, 10);
    if (*end != '\0' || v == 0)
        return 0;
    return v / 2000u ? v / 2000u : 1u; /* half the period, as sd_watchdog_enabled(3) advises */
}
