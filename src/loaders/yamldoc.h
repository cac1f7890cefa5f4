/*
 * Small typed access to a libyaml document tree, with "FILE:LINE: what: why"
 * errors. The parsing itself is libyaml's (yaml_parser_load); this only walks
 * the node tree it built and converts scalars (decimals to milli-units
 * exactly, durations, times of day, ids).
 */
#ifndef BL_LOADERS_YAMLDOC_H
#define BL_LOADERS_YAMLDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

typedef struct {
    yaml_document_t doc;
    bool loaded;
    const char *name; /* file name for messages */
    char *err;
    size_t errlen;
} ydoc_t;

/* Parse text; false with the error set (parser problem and its line). */
bool ydoc_parse(ydoc_t *y, const char *name, const char *text, size_t len, char *err, size_t errlen);
void ydoc_free(ydoc_t *y);
yaml_node_t *ydoc_root(ydoc_t *y);

unsigned yline(const yaml_node_t *n);
/* Set "NAME:LINE: msg" and return false. */
bool yfail(ydoc_t *y, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

bool yis_map(const yaml_node_t *n);
bool yis_seq(const yaml_node_t *n);
bool yis_scalar(const yaml_node_t *n);

/* Mapping iteration: key text and value node of pair i (0..ymap_len-1). */
size_t ymap_len(const yaml_node_t *map);
const char *ymap_key(ydoc_t *y, const yaml_node_t *map, size_t i, yaml_node_t **key_node);
yaml_node_t *ymap_val(ydoc_t *y, const yaml_node_t *map, size_t i);
yaml_node_t *ymap_get(ydoc_t *y, const yaml_node_t *map, const char *key);
/* Every key of map must be one of keys (NULL-terminated); else an error naming it. */
bool ymap_only(ydoc_t *y, const yaml_node_t *map, const char *what, const char *const *keys);

size_t yseq_len(const yaml_node_t *seq);
yaml_node_t *yseq_at(ydoc_t *y, const yaml_node_t *seq, size_t i);

/* Scalars. `what` names the key in messages. */
bool ystr(ydoc_t *y, const yaml_node_t *n, const char *what, const char **out);
/* decimal number -> milli-units (3 decimals exact, a 4th rounds), within lo..hi (milli) */
bool ymilli(ydoc_t *y, const yaml_node_t *n, const char *what, int64_t lo, int64_t hi, int64_t *out);
/* integer (decimal or 0x hex) within lo..hi */
bool yint(ydoc_t *y, const yaml_node_t *n, const char *what, int64_t lo, int64_t hi, int64_t *out);
bool ybool(ydoc_t *y, const yaml_node_t *n, const char *what, bool *out);
/* "500ms", "90s", "15m", "2h", "1.5h", "30d", plain seconds, or a time of day "HH:MM[:SS]" */
bool ydur(ydoc_t *y, const yaml_node_t *n, const char *what, uint64_t *ms);

/* Read a whole file (at most 16 MiB) into a NUL-terminated heap buffer; NULL with err set. */
char *bl_load_file(const char *path, size_t *len, char *err, size_t errlen);

/* Exact decimal parse (no locale, no floating point): "-3.45" -> -3450. */
bool parse_milli(const char *s, int64_t *out);

#endif
