/* Plumbing shared by the live roles: clock, signals, opening a bus, recording (sim_cli.h). */
#include "bmslink/capture.h"
#include "cli.h"
#include "sim_cli.h"

#include <signal.h>
#include <string.h>
#include <time.h>

volatile int cli_stop;

uint64_t cli_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_signal(int sig)
{
    (void)sig;
    cli_stop = 1;
}

void cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_open_live(const char *verb, const char *uri, bl_transport_t *t)
{
    char err[256];
    int rc = bl_transport_open(t, uri, BL_FMT_AUTO, err, sizeof err);

    if (rc == BL_EINVAL || rc == BL_ENOTSUP) {
        cli_err("%s: %s: %s", verb, uri, err);
        return BL_EXIT_USAGE;
    }
    if (rc < 0) {
        cli_err("%s: %s: %s", verb, uri, err);
        return BL_EXIT_IO;
    }
    if (!t->live) {
        cli_err("%s: %s: a capture file cannot be a bus to talk on (use socketcan:, slcan: or virtual:)", verb, uri);
        bl_transport_close(t);
        return BL_EXIT_USAGE;
    }
    return BL_EXIT_OK;
}

void cli_record_frame(FILE *fp, const char *bus, const bl_can_frame_t *f)
{
    bl_cap_frame_t cf;
    struct timespec ts;
    char line[256];
    int n;

    if (fp == NULL)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    memset(&cf, 0, sizeof cf);
    cf.ts_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    cf.has_ts = 1;
    snprintf(cf.bus, sizeof cf.bus, "%s", bus != NULL && *bus ? bus : "can0");
    cf.f = *f;
    if ((n = bl_capture_format_log(&cf, line, sizeof line - 1)) < 0)
        return;
    line[n] = '\n';
    fwrite(line, 1, (size_t)n + 1, fp);
}

int cli_emulate_send(bl_transport_t *t, const char *on, FILE *rec, const bl_can_frame_t *f, uint64_t count,
                     uint64_t *sent, uint64_t *write_fail)
{
    bl_cap_frame_t cf;
    int rc;

    memset(&cf, 0, sizeof cf);
    cf.f = *f;
    rc = bl_transport_write(t, &cf);
    if (rc == BL_EIO) {
        cli_err("emulate: %s: the bus is gone", on);
        return BL_EXIT_IO;
    }
    if (rc < 0) {
        (*write_fail)++;
        return 0;
    }
    (*sent)++;
    cli_record_frame(rec, t->bus, f);
    if (count && *sent >= count)
        cli_stop = 1;
    return 0;
}
