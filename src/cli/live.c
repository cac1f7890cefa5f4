/* Signals, notes, recording and counters for the verbs that read live sources. */
#include "live.h"

#include "cli.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
    if (stop_sig == SIGINT && sig == SIGINT) {
        /* a second Ctrl-C: the user does not want to wait for a clean stop */
        static const char msg[] = "\nbmslink: interrupted twice: exiting without cleanup\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
    stop_sig = sig;
}

void live_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked poll() returns EINTR and the loop looks at the flag */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool live_stopped(void)
{
    return stop_sig != 0;
}

int live_stop_signal(void)
{
    return stop_sig;
}

void live_request_stop(void)
{
    if (stop_sig == 0)
        stop_sig = SIGTERM;
}

uint64_t live_now_ms(void)
{
    return bl_clock_wall_us() / 1000u;
}

#define NOTE_WINDOW_MS 10000u
#define NOTE_BURST 10u

void live_note_stderr(void *user, bl_transport_t *t, const char *text)
{
    static uint64_t window_start;
    static unsigned shown, held;
    uint64_t now = bl_clock_mono_ms();
    (void)user;

    if (now - window_start >= NOTE_WINDOW_MS) {
        if (held > 0)
            fprintf(stderr, "bmslink: %s: %u more notes not shown\n", t->uri, held);
        window_start = now;
        shown = held = 0;
    }
    if (shown >= NOTE_BURST) {
        held++;
        return;
    }
    shown++;
    fprintf(stderr, "bmslink: %s: %s\n", t->uri, text);
}

int live_open(bl_transport_t *t, const char *uri, unsigned fmt, bl_recorder_t *rec)
{
    char err[256];
    int rc = bl_transport_open(t, uri, fmt, err, sizeof err);

    if (rc < 0) {
        cli_err("%s: cannot open: %s", uri, err);
        return rc == BL_EINVAL ? BL_EXIT_USAGE : BL_EXIT_IO;
    }
    if (t->err[0] != '\0') /* noted while opening, before anyone listened */
        live_note_stderr(NULL, t, t->err);
    t->notify = live_note_stderr;
    bl_transport_set_recorder(t, rec);
    return BL_EXIT_OK;
}

int live_record_open(const char *path, bl_recorder_t **rec)
{
    char err[256];
    *rec = NULL;
    if (path == NULL)
        return BL_EXIT_OK;
    *rec = bl_recorder_open(path, err, sizeof err);
    if (*rec == NULL) {
        cli_err("--record %s: cannot open: %s", path, err);
        return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

int live_record_close(bl_recorder_t *rec)
{
    char err[320];
    if (rec == NULL)
        return BL_EXIT_OK;
    if (bl_recorder_close(rec, err, sizeof err) < 0) {
        cli_err("--record %s", err);
        return BL_EXIT_IO;
    }
    return BL_EXIT_OK;
}

void live_print_stats(FILE *fp, const bl_transport_t *t)
{
    const bl_transport_stats_t *s = &t->stats;
    fprintf(fp, "bmslink: %s: %llu frames received, %llu sent", t->uri, (unsigned long long)s->rx,
            (unsigned long long)s->tx);
    if (s->rx_bad) {
        fprintf(fp, ", %llu malformed (", (unsigned long long)s->rx_bad);
        for (unsigned r = 1, first = 1; r < BL_REJ_COUNT; r++)
            if (s->bad[r]) {
                fprintf(fp, "%s%s %u", first ? "" : ", ", bl_reject_str((bl_reject_t)r), (unsigned)s->bad[r]);
                first = 0;
            }
        fputc(')', fp);
    }
    if (s->rx_err_frames)
        fprintf(fp, ", %llu error frames", (unsigned long long)s->rx_err_frames);
    if (s->rx_drop)
        fprintf(fp, ", %llu lost before reading", (unsigned long long)s->rx_drop);
    if (s->tx_fail)
        fprintf(fp, ", %llu not sent", (unsigned long long)s->tx_fail);
    if (s->nak)
        fprintf(fp, ", %llu BEL from the adapter", (unsigned long long)s->nak);
    if (s->bus_off)
        fprintf(fp, ", bus-off %llu times", (unsigned long long)s->bus_off);
    if (s->reconnects)
        fprintf(fp, ", %llu reconnects", (unsigned long long)s->reconnects);
    if (t->bus_state != BL_CANST_UNKNOWN)
        fprintf(fp, ", bus %s", bl_bus_state_str(t->bus_state));
    if (t->down)
        fputs(", link down", fp);
    fputc('\n', fp);
}
