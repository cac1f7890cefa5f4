/*
 * Pieces of bmslink bridge outside the verb itself: the site-limits file and
 * MQTT publishing with Home Assistant discovery.
 */
#ifndef BL_CLI_BRIDGE_H
#define BL_CLI_BRIDGE_H

#include "bmslink/gateway.h"
#include "bmslink/serial485.h"
#include "bmslink/transport.h"
#include "out.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the site-limits file (YAML) ----
 *
 *   # what the cables, fuses and contactors between the packs and the inverter allow
 *   charge_current_limit_A: 125
 *   discharge_current_limit_A: 150
 *   charge_voltage_limit_V: 56.0
 *   discharge_voltage_limit_V: 44.0
 *   policy: conservative          # or sum
 *   voltage_tolerance_V: 1.0      # packs further apart are flagged
 *   capacity_Ah: 200              # nominal capacity to send while no pack reports one
 *
 * Every key is optional; keys are the canonical JSON names. share/site/example.yaml. */
typedef struct {
    bl_gw_site_t site;
    int policy;              /* bl_gw_policy_t, -1 when the file does not say */
    int32_t v_tolerance_mV;  /* 0 when the file does not say */
} cli_site_file_t;

/* Parse text (len bytes) of a file called name. On a problem err gets "NAME:LINE: what: why"
 * and the return is BL_EXIT_USAGE (bad content); BL_EXIT_OK otherwise. No I/O. */
int cli_site_parse(const char *name, const char *text, size_t len, cli_site_file_t *out, char *err, size_t errlen);
#ifdef BL_LOADERS_YAMLDOC_H
/* The keys above in a mapping node (a site-limits file's root, or bridge --config's site_limits:). */
bool cli_site_walk(ydoc_t *y, const yaml_node_t *root, cli_site_file_t *out);
#endif
/* Read and parse path; prints "bmslink: FILE:LINE: what: why" and returns BL_EXIT_USAGE
 * (bad content) or BL_EXIT_IO (cannot read). */
int cli_site_load(const char *path, cli_site_file_t *out);

/* ---- MQTT ---- */

typedef struct cli_mqtt cli_mqtt_t;

/*
 * Connect to mqtt://HOST[:PORT][/PREFIX] (default port 1883, prefix "bmslink")
 * as device `id`. Topics: PREFIX/ID/status ("online", "offline" as the will),
 * PREFIX/ID/state, /alarms, /link, PREFIX/ID/pack/N/{state,alarms,link}, and
 * Home Assistant discovery under homeassistant/. Returns BL_EXIT_OK, or prints
 * why not and returns BL_EXIT_USAGE (bad URL) / BL_EXIT_IO (no broker there).
 * The connection runs in libmosquitto's own thread; a broker that goes away
 * is reconnected to by it.
 */
typedef struct {
    const char *user;          /* --mqtt-user, NULL: anonymous */
    const char *password_file; /* --mqtt-password-file: first line is the password */
    const char *cafile, *capath; /* TLS: trust these (mqtts:// uses the system's store without them) */
    const char *certfile, *keyfile; /* TLS client certificate */
    bool insecure;             /* --mqtt-insecure: do not check the broker's host name */
} cli_mqtt_auth_t;
int cli_mqtt_open(cli_mqtt_t **out, const char *url, const char *id, const cli_mqtt_auth_t *auth);
/* Publish the gateway's state (retained): aggregated record, alarms, link, each pack;
 * discovery the first time (and for packs as they appear). */
void cli_mqtt_publish(cli_mqtt_t *m, const bl_gw_t *gw, const char *const *pack_uri, uint64_t ts_us);
/* "offline", wait up to timeout_ms for what is queued to be acknowledged, disconnect.
 * Returns the number of messages that were not acknowledged. */
unsigned cli_mqtt_close(cli_mqtt_t *m, unsigned timeout_ms);
/* Messages published so far / acknowledged by the broker. */
void cli_mqtt_counts(const cli_mqtt_t *m, uint64_t *published, uint64_t *acked);

/* ---- the verb's state, shared by verb_bridge.c, bridge_ports.c and bridge_view.c ---- */

#define BR_EVENTS_SHOWN 8
#define BR_EVENTS_KEPT 256
#define BR_CHUNK_MAX 4096

typedef enum {
    PORT_CAN = 0, /* a CAN transport: live bus, pipe or capture file */
    PORT_SERIAL,  /* serial:DEV@BAUD[#ADDR]: an RS485 byte protocol, live */
    PORT_HEX485   /* a hex485 capture file: RS485 bytes in capture time */
} br_port_kind_t;

typedef struct {
    const char *uri;
    const bl_protocol_t *p;
    uint8_t kind;             /* br_port_kind_t */
    bool open, eof, down, write_warned;
    bl_transport_t t;         /* PORT_CAN */
    bl_serial485_t ser;       /* PORT_SERIAL */
    bl_linereader_t lr;       /* PORT_HEX485 */
    /* offline: the next item of this file */
    bool la_ok;
    uint64_t la_ts_us;
    bl_cap_frame_t la;        /* CAN */
    uint8_t la_b[BR_CHUNK_MAX];
    size_t la_n;              /* RS485 bytes */
    uint64_t items;           /* frames (CAN) or chunks (RS485) read */
    uint64_t bytes_in, bytes_out;
    uint64_t next_reopen;
    uint64_t backoff_ms;      /* the wait before the next reopen: 100 ms doubling to 5 s */
    uint64_t down_since_ms;
    char reopen_err[256];
} br_port_t;

typedef struct {
    uint64_t ts_us;
    uint8_t kind;             /* bl_gw_ev_kind_t, BL_GW_EV_COUNT: a transport's note */
    char text[200];
} br_event_t;

typedef struct {
    /* options */
    const char *to, *site_path, *mqtt_url, *mqtt_id, *record_path;
    const bl_protocol_t *out_p;
    bool dry_run, json, tty, no_early, offline;
    int policy;
    unsigned fmt;
    uint64_t stale_ms, interval_ms, duration_ms, count, hold_ms;
    uint32_t addr;
    cli_site_file_t site;
    /* ports: packs 0..npacks-1 (pack 0 is --from), the inverter */
    br_port_t pack[BL_GW_MAX_PACKS];
    unsigned npacks;
    br_port_t inv;
    bool inv_is_file;
    bl_recorder_t *sink;      /* --to FILE of a CAN output: candump -L */
    FILE *sink485;            /* --to FILE of an RS485 output: hex485 lines */
    bl_recorder_t *rec;       /* --record */
    char sink_bus[BL_BUS_NAME_MAX];
    /* engine */
    bl_gw_cfg_t cfg;
    bl_gw_t gw;
    bl_gw_pack_t packs[BL_GW_MAX_PACKS];
    bl_gw_rsbuf_t rsbuf[BL_GW_MAX_PACKS + 1];
    bl_can_codec_t show;      /* reads back what is sent (dry run) */
    int64_t wall_off_us;      /* live: wall clock - monotonic clock */
    uint64_t first_ms, last_ms;
    uint64_t rx, tx_written, tx_failed, tx_dry;
    /* view */
    bl_out_t out;
    br_event_t ev[BR_EVENTS_KEPT];
    unsigned nev;
    uint64_t ev_total, ev_shown_json;
    cli_mqtt_t *mqtt;
    /* as a service (issue 12): --config, the watchdog, sd_notify, MQTT credentials */
    const char *config_path;
    cli_mqtt_auth_t mqtt_auth;
    uint64_t watchdog_ms;     /* 0: not set (1 s), BR_WATCHDOG_OFF: --watchdog off */
    struct br_wd *wd;
    bool kick;                /* a port changed: step the engine now */
    char *cfg_text;           /* strings taken from --config live here (owned) */
} br_t;

/* microseconds since the epoch of an engine time (capture time offline, the monotonic clock live) */
uint64_t br_ts_us(const br_t *b, uint64_t ms);
void br_fmt_ts(uint64_t us, char *buf, size_t n);

/* ---- bridge_ports.c ---- */
/* Open every port (packs, the inverter, the --to sink); decides b->offline. Prints why not. */
int br_open_ports(br_t *b);
/* Offline: the next item of a file port into its look-ahead (la_ok). BL_EXIT_* */
int br_fetch(br_port_t *p);
/* Live: hand what a port has to the engine; returns items handed over, -1 at its end. */
int br_drain(br_t *b, br_port_t *p, unsigned port);
/* Live: reopen a port that went away (at most once a second). */
void br_reopen(br_t *b, br_port_t *p, uint64_t now_ms);
/* pollable descriptor of a live port, -1 when none */
int br_port_fd(const br_port_t *p);
/* Send on a port: CAN frame or bytes. 0, or < 0 (counted by the caller). */
int br_port_write_frame(br_t *b, br_port_t *p, const bl_cap_frame_t *cf);
int br_port_write_bytes(br_t *b, br_port_t *p, const uint8_t *d, size_t n);
void br_close_ports(br_t *b, int *rc);

#define BR_WATCHDOG_OFF UINT64_MAX

/* ---- bridge_config.c: --config FILE (YAML), options on the command line win ---- */
/* Fill what the command line left unset. from / in as parse_args; prints "FILE:LINE: what: why". */
int br_config_load(br_t *b, const char **from, const bl_protocol_t **in, bool cli_packs);
/* The same over text, no I/O (tests, fuzzing): err gets "NAME:LINE: what: why". */
int br_config_parse(br_t *b, const char *name, char *text, size_t len, const char **from, const bl_protocol_t **in,
                    bool cli_packs, char *err, size_t errlen);

/* ---- bridge_watchdog.c: the output's safe state when the main loop stalls; sd_notify ---- */
/* Start the watchdog thread (b->watchdog_ms > 0, a live CAN output). BL_EXIT_* */
int br_wd_start(br_t *b);
/* The main loop is alive at now_ms (cheap: one atomic store); false when the watchdog had taken
 * over since the last call (the caller then drops what queued during the stall). */
bool br_wd_alive(br_t *b, uint64_t now_ms);
void br_wd_stop(br_t *b);
/* Output writes go through this lock, which the watchdog takes to send. */
void br_out_lock(br_t *b);
void br_out_unlock(br_t *b);
/* systemd's notify protocol without libsystemd: "READY=1", "WATCHDOG=1", "STATUS=...". */
void br_sd_notify(const char *msg);
/* WATCHDOG_USEC/2 of the service (0 when systemd does not watch us) */
uint64_t br_sd_watchdog_ms(void);

/* ---- bridge_view.c ---- */
void br_add_event(br_t *b, uint64_t ts_us, unsigned kind, const char *text);
void br_on_event(void *ctx, const bl_gw_event_t *e);
void br_print_dry_frame(br_t *b, unsigned port, const bl_cap_frame_t *cf, const bl_gw_txinfo_t *info);
void br_print_dry_bytes(br_t *b, unsigned port, uint64_t ts_us, const uint8_t *d, size_t n, const bl_gw_txinfo_t *info);
/* an update: MQTT, the JSON object or the redrawn view (nothing of that in a dry run but MQTT) */
void br_draw(br_t *b);
/* offline, text: what happened, for the integrator */
void br_summary(br_t *b);

#endif
