/*
 * Data files about the site, read with libyaml (hosted, src/loaders):
 *   share/errorcodes.yaml    inverter fault / warning codes by brand (errcode.h)
 *   share/batteries/NAME.yaml   a battery's ratings for diagnose --battery
 * Errors are "FILE:LINE: what: why"; unknown keys, causes and names are refused.
 */
#ifndef BMSLINK_ERRLOAD_H
#define BMSLINK_ERRLOAD_H

#include "bmslink/diagnose.h"
#include "bmslink/errcode.h"

#define BL_EC_MAX 256          /* codes in one table */
#define BL_EC_ARENA (96 * 1024) /* their texts */

/* A loaded code table; the entries' strings live in arena. Big: allocate it. */
typedef struct {
    bl_errcode_t e[BL_EC_MAX];
    size_t n;
    char arena[BL_EC_ARENA];
    size_t used;
} bl_errcode_file_t;

/*
 * Load a code table (share/errorcodes.yaml).
 * @retval 0          loaded (t->n codes)
 * @retval BL_ENOENT  the file cannot be read (err says why)
 * @retval BL_EINVAL  bad content: err is "FILE:LINE: what: why"
 */
int bl_errcodes_load(bl_errcode_file_t *t, const char *path, char *err, size_t errlen);
/* The same from a buffer (tests, fuzzing); name is used in messages. */
int bl_errcodes_parse(bl_errcode_file_t *t, const char *name, const char *text, size_t len, char *err, size_t errlen);

/* A battery description (share/batteries/NAME.yaml). */
typedef struct {
    bl_diag_battery_t b;  /* b.name points at name */
    int32_t capacity_mAh;
    char name[128];       /* the file's `name`, else its path */
    char chemistry[16];   /* "LFP" (the only chemistry bmslink judges) */
} bl_battery_file_t;

/*
 * Load a battery description: capacity_ah, cells, chemistry (LFP), nominal_v,
 * charge_voltage_max_v, discharge_voltage_min_v, max_charge_a, max_discharge_a.
 * Limits that contradict the cells (a charge voltage above 3.65 V per LFP cell, below
 * the nominal voltage ...) are refused with the line.
 * @retval 0 loaded; BL_ENOENT unreadable; BL_EINVAL bad content ("FILE:LINE: what: why")
 */
int bl_battery_load(bl_battery_file_t *bf, const char *path, char *err, size_t errlen);
int bl_battery_parse(bl_battery_file_t *bf, const char *name, const char *text, size_t len, char *err, size_t errlen);

#endif
