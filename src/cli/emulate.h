/*
 * bmslink emulate: the verb parses options (verb_emulate.c) and hands over to the
 * role/bus implementation. Each implementation lives in its own file:
 *   emulate_can.c       battery role on CAN protocols
 *   emulate_rs485.c     battery role on RS485 / Modbus protocols
 *   emulate_inverter.c  inverter role (profiles)
 */
#ifndef BL_CLI_EMULATE_H
#define BL_CLI_EMULATE_H

#include "bmslink/protocol.h"

#include <stdbool.h>
#include <stdint.h>

/* Where the emulated battery's state comes from. step() advances the source to
 * now_ms and returns the record to serve (never NULL). The default source is a
 * healthy pack at rest; the battery simulator replaces it. */
typedef struct bl_battery_source {
    const bl_record_t *(*step)(struct bl_battery_source *s, uint64_t now_ms);
    void *ctx;
    bl_record_t rec;
} bl_battery_source_t;

typedef struct {
    const char *role;           /* "battery" or "inverter" */
    const bl_protocol_t *p;     /* battery role: -p */
    const char *profile;        /* inverter role: --profile */
    const char *on;             /* --on URI */
    const char *scenario;       /* --scenario FILE or NULL */
    const char *record_path;    /* --record FILE or NULL */
    uint64_t duration_ms;       /* 0 = until interrupted */
    uint64_t count;             /* 0 = no limit */
    bool json;
    bl_battery_source_t *src;   /* battery role */
} bl_emulate_opts_t;

/* Each returns a BL_EXIT_* code and prints its own errors. */
int cli_emulate_battery_can(const bl_emulate_opts_t *o);
int cli_emulate_battery_rs485(const bl_emulate_opts_t *o);
int cli_emulate_inverter(const bl_emulate_opts_t *o);

/* The default battery source: a healthy 16S LFP pack at rest (values in verb_emulate.c). */
void cli_battery_source_default(bl_battery_source_t *s);

#endif
