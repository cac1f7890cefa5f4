/*
 * Pieces of bmslink bridge outside the verb itself: the site-limits file and
 * MQTT publishing with Home Assistant discovery.
 */
#ifndef BL_CLI_BRIDGE_H
#define BL_CLI_BRIDGE_H

#include "bmslink/gateway.h"

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
int cli_mqtt_open(cli_mqtt_t **out, const char *url, const char *id);
/* Publish the gateway's state (retained): aggregated record, alarms, link, each pack;
 * discovery the first time (and for packs as they appear). */
void cli_mqtt_publish(cli_mqtt_t *m, const bl_gw_t *gw, const char *const *pack_uri, uint64_t ts_us);
/* "offline", wait up to timeout_ms for what is queued to be acknowledged, disconnect.
 * Returns the number of messages that were not acknowledged. */
unsigned cli_mqtt_close(cli_mqtt_t *m, unsigned timeout_ms);
/* Messages published so far / acknowledged by the broker. */
void cli_mqtt_counts(const cli_mqtt_t *m, uint64_t *published, uint64_t *acked);

#endif
