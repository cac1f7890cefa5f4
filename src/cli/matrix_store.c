/*
 * The matrix store (matrix.h): SQLite through libsqlite3's C API, prepared statements
 * only (values are bound, never pasted into SQL), foreign keys on, a busy timeout so
 * two bmslink processes on one file wait for each other instead of failing.
 */
#include "matrix.h"

#include "cli.h"
#include "sim_cli.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mx_db {
    sqlite3 *h;
    char path[512];
};

/*
 * Migrations: migration[i] takes the schema from version i to i + 1. Each runs in one
 * transaction together with its user_version bump, so a file is always at exactly one
 * version. Never edit a shipped migration: add the next one.
 */
static const char *const migration[MX_SCHEMA_VERSION] = {
    /* 0 -> 1: runs, results per inverter, checks, evidence */
    "CREATE TABLE runs (\n"
    "  run_id INTEGER PRIMARY KEY,\n"
    "  started_at TEXT NOT NULL,\n"
    "  finished_at TEXT,\n"
    "  battery TEXT NOT NULL,\n"
    "  battery_protocol TEXT,\n"
    "  battery_manufacturer TEXT,\n"
    "  battery_model TEXT,\n"
    "  battery_firmware TEXT,\n"
    "  scenario TEXT NOT NULL,\n"
    "  mode TEXT NOT NULL CHECK (mode IN ('simulated', 'live')),\n"
    "  bmslink_version TEXT NOT NULL);\n"
    "CREATE TABLE results (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,\n"
    "  inverter TEXT NOT NULL,\n"
    "  inverter_model TEXT NOT NULL,\n"
    "  interface TEXT NOT NULL,\n"
    "  protocol TEXT NOT NULL,\n"
    "  battery_protocol TEXT NOT NULL,\n"
    "  firmware TEXT NOT NULL,\n"
    "  status TEXT NOT NULL CHECK (status IN ('pass', 'partial', 'fail', 'untested')),\n"
    "  note TEXT NOT NULL,\n"
    "  tested_at TEXT NOT NULL,\n"
    "  session_s REAL NOT NULL,\n"
    "  PRIMARY KEY (run_id, inverter));\n"
    "CREATE TABLE settings (\n"
    "  run_id INTEGER NOT NULL,\n"
    "  inverter TEXT NOT NULL,\n"
    "  seq INTEGER NOT NULL,\n"
    "  setting TEXT NOT NULL,\n"
    "  PRIMARY KEY (run_id, inverter, seq),\n"
    "  FOREIGN KEY (run_id, inverter) REFERENCES results(run_id, inverter) ON DELETE CASCADE);\n"
    "CREATE TABLE checks (\n"
    "  run_id INTEGER NOT NULL,\n"
    "  inverter TEXT NOT NULL,\n"
    "  check_id TEXT NOT NULL,\n"
    "  status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'skip')),\n"
    "  at_s REAL,\n"
    "  expected TEXT NOT NULL,\n"
    "  observed TEXT NOT NULL,\n"
    "  PRIMARY KEY (run_id, inverter, check_id),\n"
    "  FOREIGN KEY (run_id, inverter) REFERENCES results(run_id, inverter) ON DELETE CASCADE);\n"
    "CREATE TABLE evidence (\n"
    "  run_id INTEGER NOT NULL,\n"
    "  inverter TEXT NOT NULL,\n"
    "  check_id TEXT NOT NULL,\n"
    "  seq INTEGER NOT NULL,\n"
    "  t_s REAL NOT NULL,\n"
    "  side TEXT NOT NULL,\n"
    "  frame TEXT NOT NULL,\n"
    "  what TEXT NOT NULL,\n"
    "  PRIMARY KEY (run_id, inverter, check_id, seq),\n"
    "  FOREIGN KEY (run_id, inverter, check_id) REFERENCES checks(run_id, inverter, check_id) ON DELETE CASCADE);\n",
    /* 1 -> 2: reference runs for the regression view (matrix diff) */
    "ALTER TABLE runs ADD COLUMN reference INTEGER NOT NULL DEFAULT 0 CHECK (reference IN (0, 1));\n"
    "CREATE INDEX runs_by_battery ON runs(battery, run_id);\n",
};

static int fail(mx_db_t *db, const char *what)
{
    cli_err("matrix: %s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
    return BL_EXIT_IO;
}

static int exec(mx_db_t *db, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cli_err("matrix: %s: %s: %s", db->path, what, msg != NULL ? msg : sqlite3_errmsg(db->h));
        sqlite3_free(msg);
        return BL_EXIT_IO;
    }
    return 0;
}

int mx_schema_version(mx_db_t *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(mx_db_t *db)
{
    int v = mx_schema_version(db);

    if (v < 0)
        return fail(db, "cannot read the schema version");
    if (v > MX_SCHEMA_VERSION) {
        cli_err("matrix: %s: schema version %d is newer than this bmslink knows (%d): upgrade bmslink", db->path, v,
                MX_SCHEMA_VERSION);
        return BL_EXIT_IO;
    }
    for (; v < MX_SCHEMA_VERSION; v++) {
        char bump[64];
        int rc;
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d;", v + 1);
        if ((rc = exec(db, "BEGIN IMMEDIATE", "cannot start the migration")) != 0)
            return rc;
        if ((rc = exec(db, migration[v], "migration failed")) != 0 || (rc = exec(db, bump, "migration failed")) != 0) {
            (void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        if ((rc = exec(db, "COMMIT", "cannot commit the migration")) != 0)
            return rc;
    }
    return 0;
}

int mx_open(const char *path, bool create, mx_db_t **out)
{
    mx_db_t *db = calloc(1, sizeof *db);
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0), rc;

    *out = NULL;
    if (db == NULL) {
        cli_err("matrix: out of memory");
        return BL_EXIT_IO;
    }
    snprintf(db->path, sizeof db->path, "%s", path);
    if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
        if (!create)
            cli_err("matrix: %s: %s (no matrix yet? bmslink matrix run creates it)", path,
                    db->h != NULL ? sqlite3_errmsg(db->h) : "cannot open");
        else
            cli_err("matrix: %s: %s", path, db->h != NULL ? sqlite3_errmsg(db->h) : "cannot open");
        mx_close(db);
        return BL_EXIT_IO;
    }
    sqlite3_busy_timeout(db->h, 10000);
    sqlite3_extended_result_codes(db->h, 1);
    /* a file that is not a database says so here, not in the middle of a run */
    if ((rc = exec(db, "PRAGMA foreign_keys = ON", "not a bmslink matrix")) != 0) {
        mx_close(db);
        return rc;
    }
    /* Write-ahead log, synced at checkpoints: a commit is one append, not an fsync, so a
     * matrix of every protocol x every profile (900 commits) is not paced by the disk. A
     * killed process loses nothing it committed; only a power cut can lose the last commits,
     * and never corrupts the file. A file system without shared memory keeps the rollback
     * journal (the pragma then answers "delete"). */
    (void)sqlite3_exec(db->h, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    if ((rc = migrate(db)) != 0) {
        mx_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

void mx_close(mx_db_t *db)
{
    if (db == NULL)
        return;
    sqlite3_close(db->h);
    free(db);
}

/* ---- writing ---------------------------------------------------------------------------------- */

static void now_iso(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int prep(mx_db_t *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db->h, sql, -1, st, NULL) != SQLITE_OK)
        return fail(db, "cannot prepare a statement");
    return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static int step_done(mx_db_t *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail(db, what);
    return 0;
}

int mx_run_begin(mx_db_t *db, const mx_run_info_t *ri, int64_t *run_id)
{
    sqlite3_stmt *st;
    char now[32];
    int rc;

    now_iso(now, sizeof now);
    if ((rc = prep(db, "INSERT INTO runs (started_at, battery, battery_protocol, battery_manufacturer, battery_model, "
                       "battery_firmware, scenario, mode, bmslink_version, reference) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   &st)) != 0)
        return rc;
    bind_text(st, 1, now);
    bind_text(st, 2, ri->battery);
    bind_text(st, 3, ri->protocol);
    bind_text(st, 4, ri->manufacturer);
    bind_text(st, 5, ri->model);
    bind_text(st, 6, ri->firmware);
    bind_text(st, 7, ri->scenario);
    bind_text(st, 8, ri->live ? "live" : "simulated");
    bind_text(st, 9, BL_VERSION_STRING);
    sqlite3_bind_int(st, 10, ri->reference ? 1 : 0);
    if ((rc = step_done(db, st, "cannot record the run")) != 0)
        return rc;
    *run_id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

static void frame_text(char *buf, size_t n, const bl_val_evidence_t *e)
{
    size_t k;
    if (e->frame.flags & BL_CAN_ERR) {
        snprintf(buf, n, "error frame");
        return;
    }
    k = (size_t)snprintf(buf, n, e->rs485 ? "cmd 0x%02X " : (e->frame.flags & BL_CAN_EXT) ? "0x%08X " : "0x%03X ",
                         (unsigned)e->frame.id);
    for (unsigned i = 0; i < e->frame.len && k + 3 < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%02X", e->frame.data[i]);
}

static int insert_result(mx_db_t *db, int64_t run_id, const vr_result_t *r)
{
    sqlite3_stmt *st;
    char now[32], note[320] = "";
    int rc;

    now_iso(now, sizeof now);
    if (!r->ran) {
        snprintf(note, sizeof note, "%s", r->why);
    } else {
        size_t k = 0;
        for (unsigned i = 0; i < BL_VC_COUNT; i++)
            if (r->checks[i].status == BL_VS_FAIL && k < sizeof note)
                k += (size_t)snprintf(note + k, sizeof note - k, "%s%s", k ? ", " : "fails: ", bl_val_check_str(i));
    }
    if ((rc = prep(db, "INSERT INTO results (run_id, inverter, inverter_model, interface, protocol, battery_protocol, "
                       "firmware, status, note, tested_at, session_s) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   &st)) != 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, r->profile);
    {
        char model[256];
        snprintf(model, sizeof model, "%s %s", r->brand, r->model);
        bind_text(st, 3, model);
    }
    bind_text(st, 4, r->interface);
    bind_text(st, 5, r->protocol);
    bind_text(st, 6, r->bat_protocol);
    bind_text(st, 7, r->inv_firmware);
    bind_text(st, 8, vr_status_str(r->status));
    bind_text(st, 9, note);
    bind_text(st, 10, now);
    sqlite3_bind_double(st, 11, (double)r->session_ms / 1000.0);
    if ((rc = step_done(db, st, "cannot record the result")) != 0)
        return rc;
    for (unsigned i = 0; i < r->nsettings; i++) {
        if ((rc = prep(db, "INSERT INTO settings (run_id, inverter, seq, setting) VALUES (?,?,?,?)", &st)) != 0)
            return rc;
        sqlite3_bind_int64(st, 1, run_id);
        bind_text(st, 2, r->profile);
        sqlite3_bind_int(st, 3, (int)i);
        bind_text(st, 4, r->settings[i]);
        if ((rc = step_done(db, st, "cannot record a setting")) != 0)
            return rc;
    }
    for (unsigned i = 0; r->ran && i < BL_VC_COUNT; i++) {
        const bl_val_check_t *c = &r->checks[i];
        if ((rc = prep(db, "INSERT INTO checks (run_id, inverter, check_id, status, at_s, expected, observed) "
                           "VALUES (?,?,?,?,?,?,?)",
                       &st)) != 0)
            return rc;
        sqlite3_bind_int64(st, 1, run_id);
        bind_text(st, 2, r->profile);
        bind_text(st, 3, bl_val_check_str(c->id));
        bind_text(st, 4, bl_val_status_str(c->status));
        if (c->at_ms == BL_NEVER)
            sqlite3_bind_null(st, 5);
        else
            sqlite3_bind_double(st, 5, (double)c->at_ms / 1000.0);
        bind_text(st, 6, c->expected);
        bind_text(st, 7, c->observed);
        if ((rc = step_done(db, st, "cannot record a check")) != 0)
            return rc;
        for (unsigned e = 0; e < c->nev; e++) {
            char fr[200];
            frame_text(fr, sizeof fr, &c->ev[e]);
            if ((rc = prep(db, "INSERT INTO evidence (run_id, inverter, check_id, seq, t_s, side, frame, what) "
                               "VALUES (?,?,?,?,?,?,?,?)",
                           &st)) != 0)
                return rc;
            sqlite3_bind_int64(st, 1, run_id);
            bind_text(st, 2, r->profile);
            bind_text(st, 3, bl_val_check_str(c->id));
            sqlite3_bind_int(st, 4, (int)e);
            sqlite3_bind_double(st, 5, (double)c->ev[e].t_ms / 1000.0);
            bind_text(st, 6, c->ev[e].from == BL_SIDE_BATTERY ? "battery" : "inverter");
            bind_text(st, 7, fr);
            bind_text(st, 8, c->ev[e].what);
            if ((rc = step_done(db, st, "cannot record evidence")) != 0)
                return rc;
        }
    }
    return 0;
}

int mx_run_result(mx_db_t *db, int64_t run_id, const vr_result_t *r)
{
    int rc;
    if ((rc = exec(db, "BEGIN IMMEDIATE", "cannot start a transaction")) != 0)
        return rc;
    if ((rc = insert_result(db, run_id, r)) != 0) {
        (void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return exec(db, "COMMIT", "cannot commit the result");
}

int mx_run_end(mx_db_t *db, int64_t run_id)
{
    sqlite3_stmt *st;
    char now[32];
    int rc;
    now_iso(now, sizeof now);
    if ((rc = prep(db, "UPDATE runs SET finished_at = ? WHERE run_id = ?", &st)) != 0)
        return rc;
    bind_text(st, 1, now);
    sqlite3_bind_int64(st, 2, run_id);
    return step_done(db, st, "cannot close the run");
}

int mx_set_reference(mx_db_t *db, int64_t run_id, bool on)
{
    sqlite3_stmt *st;
    int rc;
    if ((rc = prep(db, "UPDATE runs SET reference = ? WHERE run_id = ?", &st)) != 0)
        return rc;
    sqlite3_bind_int(st, 1, on ? 1 : 0);
    sqlite3_bind_int64(st, 2, run_id);
    if ((rc = step_done(db, st, "cannot mark the run")) != 0)
        return rc;
    if (sqlite3_changes(db->h) == 0) {
        cli_err("matrix: %s: no run %lld (bmslink matrix runs lists them)", db->path, (long long)run_id);
        return BL_EXIT_USAGE;
    }
    return 0;
}

/* ---- reading ------------------------------------------------------------------------------------ */

static void col(sqlite3_stmt *st, int i, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, n, "%s", t != NULL ? (const char *)t : "");
}

int64_t mx_latest_run(mx_db_t *db, const char *battery)
{
    sqlite3_stmt *st;
    int64_t id = 0;
    if (sqlite3_prepare_v2(db->h,
                           battery != NULL ? "SELECT max(run_id) FROM runs WHERE battery = ?" : "SELECT max(run_id) FROM runs",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    if (battery != NULL)
        bind_text(st, 1, battery);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return id;
}

int64_t mx_reference_for(mx_db_t *db, int64_t run_id)
{
    sqlite3_stmt *st;
    int64_t id = 0;
    if (sqlite3_prepare_v2(db->h,
                           "SELECT max(r.run_id) FROM runs r, runs me WHERE me.run_id = ? AND r.battery = me.battery "
                           "AND r.reference = 1 AND r.run_id <> me.run_id",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, run_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return id;
}

static int load_checks(mx_db_t *db, mx_row_t *r)
{
    sqlite3_stmt *st;
    int rc;
    if ((rc = prep(db, "SELECT check_id, status, observed FROM checks WHERE run_id = ? AND inverter = ?", &st)) != 0)
        return rc;
    sqlite3_bind_int64(st, 1, r->run_id);
    bind_text(st, 2, r->inverter);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *id = sqlite3_column_text(st, 0);
        unsigned k = bl_val_check_by_name(id != NULL ? (const char *)id : "");
        if (k < BL_VC_COUNT) {
            col(st, 1, r->fn[k], sizeof r->fn[k]);
            col(st, 2, r->fn_obs[k], sizeof r->fn_obs[k]);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail(db, "cannot read the checks");
    if ((rc = prep(db, "SELECT setting FROM settings WHERE run_id = ? AND inverter = ? ORDER BY seq", &st)) != 0)
        return rc;
    sqlite3_bind_int64(st, 1, r->run_id);
    bind_text(st, 2, r->inverter);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && r->nsettings < BL_INV_MAX_SETTINGS)
        col(st, 0, r->settings[r->nsettings++], sizeof r->settings[0]);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return fail(db, "cannot read the settings");
    return 0;
}

int mx_rows(mx_db_t *db, const mx_select_t *sel, mx_row_t **rows, size_t *n)
{
    static const char head[] =
        "SELECT x.run_id, r.battery, x.battery_protocol, coalesce(r.battery_firmware, ''), x.inverter, "
        "x.inverter_model, x.interface, x.firmware, x.status, x.note, x.tested_at FROM results x "
        "JOIN runs r ON r.run_id = x.run_id ";
    char sql[1024];
    sqlite3_stmt *st;
    mx_row_t *out = NULL;
    size_t cap = 0, k = 0;
    int64_t run = sel->run_id;
    int rc;

    *rows = NULL;
    *n = 0;
    if (sel->latest_each) {
        snprintf(sql, sizeof sql,
                 "%sWHERE x.run_id = (SELECT max(y.run_id) FROM results y JOIN runs q ON q.run_id = y.run_id "
                 "WHERE q.battery = r.battery AND y.inverter = x.inverter) ORDER BY r.battery, x.inverter",
                 head);
    } else {
        if (run <= 0)
            run = mx_latest_run(db, sel->battery);
        snprintf(sql, sizeof sql, "%sWHERE x.run_id = ? ORDER BY x.inverter", head);
    }
    if ((rc = prep(db, sql, &st)) != 0)
        return rc;
    if (!sel->latest_each)
        sqlite3_bind_int64(st, 1, run);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        mx_row_t *r;
        if (k == cap) {
            mx_row_t *nr = realloc(out, (cap = cap ? cap * 2 : 32) * sizeof *nr);
            if (nr == NULL) {
                sqlite3_finalize(st);
                free(out);
                cli_err("matrix: out of memory");
                return BL_EXIT_IO;
            }
            out = nr;
        }
        r = &out[k++];
        memset(r, 0, sizeof *r);
        r->run_id = sqlite3_column_int64(st, 0);
        col(st, 1, r->battery, sizeof r->battery);
        col(st, 2, r->battery_protocol, sizeof r->battery_protocol);
        col(st, 3, r->battery_firmware, sizeof r->battery_firmware);
        col(st, 4, r->inverter, sizeof r->inverter);
        col(st, 5, r->inverter_model, sizeof r->inverter_model);
        col(st, 6, r->interface, sizeof r->interface);
        col(st, 7, r->firmware, sizeof r->firmware);
        col(st, 8, r->status, sizeof r->status);
        col(st, 9, r->note, sizeof r->note);
        col(st, 10, r->tested_at, sizeof r->tested_at);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(out);
        return fail(db, "cannot read the results");
    }
    for (size_t i = 0; i < k; i++)
        if ((rc = load_checks(db, &out[i])) != 0) {
            free(out);
            return rc;
        }
    *rows = out;
    *n = k;
    return 0;
}

int mx_runs(mx_db_t *db, mx_runinfo_t **runs, size_t *n)
{
    sqlite3_stmt *st;
    mx_runinfo_t *out = NULL;
    size_t cap = 0, k = 0;
    int rc;

    *runs = NULL;
    *n = 0;
    if ((rc = prep(db,
                   "SELECT r.run_id, r.started_at, coalesce(r.finished_at, ''), r.battery, coalesce(r.battery_protocol, ''), "
                   "coalesce(r.battery_firmware, ''), r.scenario, r.reference, r.mode, "
                   "(SELECT count(*) FROM results x WHERE x.run_id = r.run_id AND x.status = 'pass'), "
                   "(SELECT count(*) FROM results x WHERE x.run_id = r.run_id AND x.status = 'partial'), "
                   "(SELECT count(*) FROM results x WHERE x.run_id = r.run_id AND x.status = 'fail'), "
                   "(SELECT count(*) FROM results x WHERE x.run_id = r.run_id AND x.status = 'untested') "
                   "FROM runs r ORDER BY r.run_id",
                   &st)) != 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        mx_runinfo_t *r;
        if (k == cap) {
            mx_runinfo_t *nr = realloc(out, (cap = cap ? cap * 2 : 16) * sizeof *nr);
            if (nr == NULL)
                break;
            out = nr;
        }
        r = &out[k++];
        memset(r, 0, sizeof *r);
        r->run_id = sqlite3_column_int64(st, 0);
        col(st, 1, r->started, sizeof r->started);
        col(st, 2, r->finished, sizeof r->finished);
        col(st, 3, r->battery, sizeof r->battery);
        col(st, 4, r->protocol, sizeof r->protocol);
        col(st, 5, r->firmware, sizeof r->firmware);
        col(st, 6, r->scenario, sizeof r->scenario);
        r->reference = sqlite3_column_int(st, 7) != 0;
        r->live = strcmp((const char *)sqlite3_column_text(st, 8), "live") == 0;
        for (unsigned s = 0; s <= VR_UNTESTED; s++)
            r->counts[s] = (unsigned)sqlite3_column_int(st, 9 + (int)s);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(out);
        return rc == SQLITE_ROW ? (cli_err("matrix: out of memory"), BL_EXIT_IO) : fail(db, "cannot read the runs");
    }
    *runs = out;
    *n = k;
    return 0;
}
