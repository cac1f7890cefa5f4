/* decode --csv: the canonical record as one row per time step (see csvout.h). */
#include "csvout.h"

#include "bmslink/transport.h"

#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_STRS 256
#define GAP_ROWS_MAX 1000000u /* --step rows one silence may produce; more is a broken timestamp */

typedef struct {
    uint64_t ts_us;
    uint32_t shown;                      /* BL_BIT(field): a value in this row */
    bl_alarm_mask_t active[BL_AC_COUNT];
    uint8_t classes;                     /* BL_BIT(class): the protocol reports on it (and it is fresh) */
    uint8_t has_ts;
    int32_t v[BL_F_BATTERY_COUNT];       /* strings: an index into strs */
    uint8_t dec[BL_F_BATTERY_COUNT];
} row_t;

struct csvout {
    FILE *fp;
    bl_out_t out;
    uint64_t step_us, stale_ms;
    uint32_t stream;          /* columns when streaming, 0 when buffering */
    bool header_done;
    row_t pending;            /* the row of the latest time step, not written yet */
    bool have_pending;
    row_t *rows;              /* buffered rows */
    size_t n, cap;
    uint32_t used;            /* fields that appear in any row */
    uint8_t used_classes;
    uint64_t t0, last_ts;
    bool have_t0;
    uint64_t next_grid;
    bool grid_started;
    uint64_t no_ts, rows_total;
    bool oom, gap_noted;
    unsigned nstr;
    char strs[MAX_STRS][BL_STR_MAX];
};

csvout_t *csvout_new(FILE *fp, uint64_t step_us, uint64_t stale_ms, uint32_t stream_fields)
{
    csvout_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->fp = fp;
    out_init(&c->out, fp);
    c->step_us = step_us;
    c->stale_ms = stale_ms;
    c->stream = stream_fields;
    return c;
}

bool csvout_streams(const char *uri)
{
    struct stat st;
    const char *path = uri;
    int rc;
    if (strcmp(bl_transport_scheme(uri), "file") != 0)
        return true;
    if (strncmp(path, "file:", 5) == 0)
        path += 5;
    rc = strcmp(path, "-") == 0 ? fstat(0, &st) : stat(path, &st);
    return rc == 0 && !S_ISREG(st.st_mode); /* candump -L can0 | bmslink decode --csv - */
}

uint64_t csvout_rows(const csvout_t *c)
{
    return c->rows_total;
}

static uint16_t str_index(csvout_t *c, const char *s)
{
    for (unsigned i = 0; i < c->nstr; i++)
        if (strcmp(c->strs[i], s) == 0)
            return (uint16_t)i;
    if (c->nstr == MAX_STRS)
        return MAX_STRS - 1; /* a capture with more distinct names than this shows the last kept */
    snprintf(c->strs[c->nstr], BL_STR_MAX, "%s", s);
    return (uint16_t)c->nstr++;
}

static void make_row(csvout_t *c, const bl_record_t *r, uint64_t ts, bool has_ts, row_t *row)
{
    uint64_t now_ms = ts / 1000u;
    bool judge = has_ts && c->stale_ms > 0;

    memset(row, 0, sizeof *row);
    row->ts_us = ts;
    row->has_ts = has_ts;
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++) {
        const bl_field_t *f = &r->f[i];
        if (!f->valid || (judge && !bl_field_fresh(f, now_ms, c->stale_ms)))
            continue;
        row->shown |= (uint32_t)BL_BIT(i);
        row->dec[i] = f->dec;
        row->v[i] = bl_field_info(i)->kind == BL_FK_STR ? (int32_t)str_index(c, bl_record_str(r, i)) : f->value;
    }
    for (unsigned k = 0; k < BL_AC_COUNT; k++) {
        if (r->known[k] == 0)
            continue;
        if (judge && r->alarm_seen_ms[k] + c->stale_ms < now_ms)
            continue; /* nothing said about this class for too long */
        row->classes |= (uint8_t)(1u << k);
        row->active[k] = r->active[k];
    }
}

static bool same_row(const row_t *a, const row_t *b)
{
    if (a->shown != b->shown || a->classes != b->classes || memcmp(a->active, b->active, sizeof a->active) != 0)
        return false;
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if ((a->shown & BL_BIT(i)) && (a->v[i] != b->v[i] || a->dec[i] != b->dec[i]))
            return false;
    return true;
}

/* ---- writing ---- */

static void cell_sep(csvout_t *c)
{
    out_ch(&c->out, ',');
}

static void header(csvout_t *c, uint32_t fields, uint8_t classes)
{
    out_str(&c->out, "ts_s,elapsed_s");
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++)
        if (fields & BL_BIT(i)) {
            cell_sep(c);
            out_str(&c->out, bl_field_info(i)->key);
        }
    for (unsigned k = 0; k < BL_AC_COUNT; k++)
        if (classes & (1u << k)) {
            cell_sep(c);
            out_str(&c->out, bl_alarm_class_str(k));
        }
    out_ch(&c->out, '\n');
    c->header_done = true;
}

/* RFC 4180: quoted when it holds a comma, quote or line break */
static void csv_str(csvout_t *c, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        out_str(&c->out, s);
        return;
    }
    out_ch(&c->out, '"');
    for (; *s; s++) {
        if (*s == '"')
            out_ch(&c->out, '"');
        out_ch(&c->out, *s);
    }
    out_ch(&c->out, '"');
}

static void write_row(csvout_t *c, const row_t *row, uint32_t fields, uint8_t classes)
{
    bl_out_t *o = &c->out;
    if (row->has_ts) {
        out_ts(o, row->ts_us);
        cell_sep(c);
        out_ts(o, row->ts_us >= c->t0 ? row->ts_us - c->t0 : 0);
    } else {
        cell_sep(c);
    }
    for (unsigned i = 0; i < BL_F_BATTERY_COUNT; i++) {
        if (!(fields & BL_BIT(i)))
            continue;
        cell_sep(c);
        if (!(row->shown & BL_BIT(i)))
            continue;
        switch (bl_field_info(i)->kind) {
        case BL_FK_BOOL:
            out_ch(o, row->v[i] ? '1' : '0');
            break;
        case BL_FK_INT:
            out_i64(o, row->v[i]);
            break;
        case BL_FK_STR:
            csv_str(c, c->strs[row->v[i]]);
            break;
        default:
            out_milli(o, row->v[i], row->dec[i]);
            break;
        }
    }
    for (unsigned k = 0; k < BL_AC_COUNT; k++) {
        bool first = true;
        if (!(classes & (1u << k)))
            continue;
        cell_sep(c);
        if (!(row->classes & (1u << k)))
            continue;
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            if (row->active[k] & (1u << a)) {
                if (!first)
                    out_ch(o, ' ');
                out_str(o, bl_alarm_str(a));
                first = false;
            }
    }
    out_ch(o, '\n');
}

/* a finished time step: written now (streaming) or kept */
static void commit(csvout_t *c, const row_t *row)
{
    c->rows_total++;
    c->used |= row->shown;
    c->used_classes |= row->classes;
    if (c->stream) {
        if (!c->header_done)
            header(c, c->stream, 7u);
        write_row(c, row, c->stream, 7u);
        out_flush(&c->out); /* a live source: rows as they come */
        return;
    }
    if (c->oom)
        return;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 4096;
        row_t *nr = realloc(c->rows, ncap * sizeof *nr);
        if (nr == NULL) {
            c->oom = true;
            return;
        }
        c->rows = nr;
        c->cap = ncap;
    }
    c->rows[c->n++] = *row;
}

static void note_time(csvout_t *c, uint64_t ts, bool has_ts)
{
    if (!has_ts) {
        c->no_ts++;
        return;
    }
    if (!c->have_t0) {
        c->t0 = ts;
        c->have_t0 = true;
    }
    if (ts > c->last_ts)
        c->last_ts = ts;
}

void csvout_before(csvout_t *c, const bl_record_t *r, uint64_t ts, bool has_ts)
{
    uint64_t rows = 0;
    if (c->step_us == 0 || !has_ts)
        return;
    if (!c->grid_started) {
        c->next_grid = ts;
        c->grid_started = true;
        if (!c->have_t0) {
            c->t0 = ts;
            c->have_t0 = true;
        }
    }
    while (c->next_grid < ts) {
        row_t row;
        if (++rows > GAP_ROWS_MAX) { /* a timestamp years ahead: do not fill the disk */
            if (!c->gap_noted)
                cli_err("decode: --csv: a jump of %.0f s in the capture's time: resampling resumes after it",
                        (double)(ts - c->next_grid) / 1e6);
            c->gap_noted = true;
            c->next_grid += (ts - c->next_grid) / c->step_us * c->step_us;
            break;
        }
        make_row(c, r, c->next_grid, true, &row);
        commit(c, &row);
        c->next_grid += c->step_us;
    }
}

void csvout_after(csvout_t *c, const bl_record_t *r, uint64_t ts, bool has_ts)
{
    row_t row;
    note_time(c, ts, has_ts);
    if (c->step_us != 0)
        return;
    make_row(c, r, ts, has_ts, &row);
    if (!c->have_pending && row.shown == 0 && row.classes == 0)
        return; /* nothing known yet: no row of blanks */
    if (c->have_pending) {
        if (same_row(&row, &c->pending))
            return;
        if (row.has_ts && c->pending.has_ts && row.ts_us == c->pending.ts_us) {
            c->pending = row; /* one row per time step: the last state at this timestamp */
            return;
        }
        commit(c, &c->pending);
    }
    c->pending = row;
    c->have_pending = true;
}

int csvout_finish(csvout_t *c, const bl_record_t *r)
{
    int rc = 0;

    if (c->step_us != 0 && c->grid_started)
        while (c->next_grid <= c->last_ts) {
            row_t row;
            make_row(c, r, c->next_grid, true, &row);
            commit(c, &row);
            c->next_grid += c->step_us;
        }
    if (c->have_pending)
        commit(c, &c->pending);
    if (c->step_us != 0 && !c->grid_started && c->no_ts > 0) {
        cli_err("decode: --csv --step: the capture has no timestamps to resample");
        rc = -1;
    }
    if (c->oom) {
        cli_err("decode: --csv: out of memory after %zu rows (a coarser --step needs fewer)", c->n);
        rc = -1;
    }
    if (!c->stream) {
        header(c, c->used, c->used_classes);
        for (size_t i = 0; i < c->n; i++)
            write_row(c, &c->rows[i], c->used, c->used_classes);
    } else if (!c->header_done) {
        header(c, c->stream, 7u);
    }
    out_flush(&c->out);
    if (fflush(c->fp) != 0 || ferror(c->fp)) {
        cli_err("decode: --csv: writing the rows failed");
        rc = -1;
    }
    free(c->rows);
    free(c);
    return rc;
}
