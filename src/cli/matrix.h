/*
 * The compatibility matrix, kept in SQLite (libsqlite3): every validation run, every
 * inverter result with its checks and evidence. A real database file anyone can open
 * with the sqlite3 shell; the schema is versioned (PRAGMA user_version) and migrated
 * forward on open; each inverter's result is written in its own transaction as soon
 * as it is judged, so a run killed half-way keeps everything it finished and leaves
 * the file valid (the run stays marked unfinished).
 */
#ifndef BL_CLI_MATRIX_H
#define BL_CLI_MATRIX_H

#include "validate_run.h"

#include <stdbool.h>
#include <stdint.h>

#define MX_SCHEMA_VERSION 2
#define MX_DEFAULT_DB "bmslink-matrix.db"

typedef struct mx_db mx_db_t;

/*
 * Open (create) a matrix file and bring its schema to MX_SCHEMA_VERSION.
 * @return 0, or an exit code (BL_EXIT_IO) after printing "bmslink: matrix: FILE: why"
 */
int mx_open(const char *path, bool create, mx_db_t **out);
void mx_close(mx_db_t *db);

typedef struct {
    const char *battery, *protocol, *manufacturer, *model, *firmware, *scenario;
    bool live, reference;
} mx_run_info_t;

/* A run starts: its row is committed at once (finished_at NULL until mx_run_end). */
int mx_run_begin(mx_db_t *db, const mx_run_info_t *ri, int64_t *run_id);
/* One inverter's result with its checks and evidence, in one transaction. */
int mx_run_result(mx_db_t *db, int64_t run_id, const vr_result_t *r);
int mx_run_end(mx_db_t *db, int64_t run_id);
/* Mark (or unmark) a run as the reference of its battery. */
int mx_set_reference(mx_db_t *db, int64_t run_id, bool on);

/* One row of the matrix: an inverter's result in a run. */
typedef struct {
    int64_t run_id;
    char battery[160], battery_protocol[48], battery_firmware[BL_STR_MAX];
    char inverter[64], inverter_model[256], interface[96], firmware[64];
    char status[12], note[320], tested_at[32];
    char settings[BL_INV_MAX_SETTINGS][160];
    unsigned nsettings;
    char fn[BL_VC_COUNT][8];   /* per check: "pass", "fail", "skip", "" = not stored */
    char fn_obs[BL_VC_COUNT][BL_VAL_TEXT];
} mx_row_t;

typedef struct {
    int64_t run_id;            /* > 0: this run */
    const char *battery;       /* else the latest run of this battery */
    bool latest_each;          /* else the latest result of every (battery, inverter) pair */
} mx_select_t;

/* Rows selected (default: the latest run), sorted by battery then inverter. *rows: free(). */
int mx_rows(mx_db_t *db, const mx_select_t *sel, mx_row_t **rows, size_t *n);

typedef struct {
    int64_t run_id;
    char started[32], finished[32], battery[160], protocol[48], firmware[BL_STR_MAX], scenario[64];
    bool reference, live;
    unsigned counts[VR_UNTESTED + 1];
} mx_runinfo_t;

int mx_runs(mx_db_t *db, mx_runinfo_t **runs, size_t *n);
/* The latest run of any battery (0 when none), the reference run of run_id's battery (0 when none). */
int64_t mx_latest_run(mx_db_t *db, const char *battery);
int64_t mx_reference_for(mx_db_t *db, int64_t run_id);

int mx_schema_version(mx_db_t *db);

#endif
