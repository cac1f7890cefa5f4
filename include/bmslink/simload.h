/*
 * Hosted loaders for the simulation data (libyaml): inverter profiles
 * (share/profiles/NAME.yaml) and scenario files. Every error names the file
 * and line: "FILE:LINE: what: why".
 */
#ifndef BMSLINK_SIMLOAD_H
#define BMSLINK_SIMLOAD_H

#include "bmslink/sim.h"

#include <stddef.h>

#define BL_PROFILE_POOL 16384

/* A profile with the storage its borrowed strings live in. */
typedef struct {
    bl_inv_profile_t p;
    char path[512];
    size_t used;
    char pool[BL_PROFILE_POOL];
} bl_profile_file_t;

/*
 * Load one profile file. A protocol this build lacks is not an error:
 * p.proto stays NULL and p.protocol_name says which.
 * @retval 0          loaded
 * @retval BL_ENOENT  cannot read the file (err says why)
 * @retval BL_EINVAL  bad content (err: "FILE:LINE: what: why")
 */
int bl_profile_load(bl_profile_file_t *pf, const char *path, char *err, size_t errlen);

/*
 * Every *.yaml of dir, loaded and sorted by profile name into a heap array
 * (*out, free() it). Files that fail are reported through err_fn and skipped.
 * Returns the number loaded, or BL_ENOENT when dir cannot be read.
 */
int bl_profiles_load_dir(const char *dir, bl_profile_file_t **out,
                         void (*err_fn)(void *ctx, const char *msg), void *ctx);

/* Where the profiles are: $BMSLINK_PROFILES, else fallback (the build's share/profiles). */
const char *bl_profiles_dir(const char *fallback);

/*
 * Load a scenario file on top of the built-in day (bl_scn_defaults).
 * @retval 0          loaded
 * @retval BL_ENOENT  cannot read the file
 * @retval BL_EINVAL  bad content (err: "FILE:LINE: what: why")
 */
int bl_scenario_load(bl_scenario_t *s, const char *path, char *err, size_t errlen);

/* The same from a buffer (tests, fuzzing); name is used in messages. */
int bl_scenario_parse(bl_scenario_t *s, const char *name, const char *text, size_t len, char *err, size_t errlen);
int bl_profile_parse(bl_profile_file_t *pf, const char *name, const char *text, size_t len, char *err,
                     size_t errlen);

#endif
