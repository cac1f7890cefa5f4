/*
 * Inverter fault and warning codes that concern the battery link (SMA F952, Deye W31,
 * SolaX IE102, ...): look-up by what a user reads off a display, and by the diagnose
 * cause that makes an inverter show them.
 *
 * The table itself is data (share/errorcodes.yaml, read by bl_errcodes_load() in the
 * loaders); this part is freestanding: it only searches an array the caller owns, so a
 * gateway's firmware could carry a const table of its own and name the code its
 * inverter shows.
 */
#ifndef BMSLINK_ERRCODE_H
#define BMSLINK_ERRCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BL_EC_ALIASES 4  /* other spellings a display or manual uses (XA01, ExtBMSTimeout) */
#define BL_EC_PROFILES 8 /* profiles of the brand it applies to; none = every profile of the brand */
#define BL_EC_CAUSES 8   /* diagnose causes that make the inverter show it */
#define BL_EC_NORM 32    /* a normalised code, NUL included */

typedef enum { BL_EC_FAULT = 0, BL_EC_WARNING, BL_EC_SEV_COUNT } bl_ec_severity_t;

/* One code. Strings are borrowed (the loader's arena, or const data) and must outlive the table. */
typedef struct {
    const char *brand;      /* as the profiles spell it: "SMA", "SolaX" */
    const char *code;       /* as the display shows it: "F952" */
    const char *name;       /* the display's or manual's text ("ExtBMSTimeout"); may be NULL */
    const char *meaning;    /* what it means, in bmslink's words */
    const char *check;      /* what to check or fix */
    const char *source;     /* fact sheet and section, with the source key */
    const char *confidence; /* the fact sheet's mark: H, M, L, M-L ... */
    const char *firmware;   /* the firmware that shows it, NULL: any */
    const char *aliases[BL_EC_ALIASES];
    const char *profiles[BL_EC_PROFILES];
    const char *causes[BL_EC_CAUSES]; /* a finding id, a problem name, or alarm.NAME / warning.NAME */
    uint32_t after_ms;      /* shown only after the condition lasted this long; 0: at once */
    uint8_t severity;       /* bl_ec_severity_t */
    uint8_t naliases, nprofiles, ncauses;
    uint32_t line;          /* line of the data file, for messages */
} bl_errcode_t;

/* How a query matched (best first). */
typedef enum {
    BL_EC_MATCH_NONE = 0,
    BL_EC_MATCH_EXACT,  /* the code, ignoring case, spaces and dashes: "f 952" */
    BL_EC_MATCH_ALIAS,  /* another spelling: "XA01", "ExtBMSTimeout" */
    BL_EC_MATCH_NUMBER, /* the number without its letters: "952" is F952 and W952 */
    BL_EC_MATCH_PREFIX  /* the start of codes: "F92" */
} bl_ec_match_t;

/* "fault", "warning"; NULL out of range */
const char *bl_ec_severity_str(unsigned s);
/* "fault" / "warning" -> bl_ec_severity_t; BL_EC_SEV_COUNT when unknown */
unsigned bl_ec_severity_by_name(const char *s);

/*
 * Normalise a code as users type it: letters upper case, digits kept, everything
 * else (spaces, dashes, underscores, dots) dropped. "f 952" and "F-952" -> "F952".
 * @return the length; 0 when nothing is left or it does not fit in n
 */
size_t bl_ec_norm(const char *in, char *out, size_t n);

/* brand equal ignoring case; NULL or "" brand matches every entry */
bool bl_ec_brand_is(const bl_errcode_t *e, const char *brand);

/*
 * Find the entries a query names, optionally for one brand. Every entry of the best
 * kind of match found is returned (several brands, or a number shared by a fault and
 * a warning, make it ambiguous), in table order.
 * @param idx   out: indexes into t, up to cap of them
 * @param how   out (may be NULL): the kind of match
 * @return the number of matches (may exceed cap: only cap are stored)
 */
size_t bl_ec_find(const bl_errcode_t *t, size_t n, const char *query, const char *brand, uint16_t *idx, size_t cap,
                  bl_ec_match_t *how);

/*
 * Codes close to a query that matched nothing (a typo, a digit too many): edit distance
 * of the normalised forms <= 2, nearest first, then table order.
 * @return the number stored in idx (at most cap)
 */
size_t bl_ec_suggest(const bl_errcode_t *t, size_t n, const char *query, const char *brand, uint16_t *idx,
                     size_t cap);

/* true when entry e applies to a profile (its brand, and its profile list when it has one) */
bool bl_ec_applies(const bl_errcode_t *e, const char *brand, const char *profile);

/* true when e lists cause (exact text: "gap", "communication_fault", "alarm.short_circuit") */
bool bl_ec_has_cause(const bl_errcode_t *e, const char *cause);

/* ---- the diagnose vocabulary the causes are written in -------------------------------- */

typedef struct {
    const char *id;   /* a finding id ("gap") */
    uint8_t problem;  /* bl_diag_problem_t it is raised under */
    const char *what; /* one line */
} bl_diag_cause_t;

/* Every finding id the analysers raise, with its problem. */
const bl_diag_cause_t *bl_diag_causes(size_t *n);

/*
 * Is cause a word of the vocabulary: a finding id, a problem name ("communication_fault"),
 * or "alarm.NAME" / "warning.NAME" with a canonical alarm name.
 */
bool bl_diag_cause_valid(const char *cause);

#endif
