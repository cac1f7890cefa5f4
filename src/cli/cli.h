/* Shared pieces of the bmslink command line. */
#ifndef BL_CLI_H
#define BL_CLI_H

#include "bmslink/protocol.h"
#include "out.h"

#include <stdbool.h>
#include <stdint.h>

enum { BL_EXIT_OK = 0, BL_EXIT_FAIL = 1, BL_EXIT_USAGE = 2, BL_EXIT_IO = 3 };

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the verb */
    const char *summary;
} bl_verb_t;

/* "bmslink: <msg>\n" on stderr */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "bmslink: <verb>: <msg>\n" then the usage on stderr; returns BL_EXIT_USAGE */
int cli_usage_err(const char *usage, const char *verb, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* usage on stdout for --help; returns BL_EXIT_OK */
int cli_help(const char *text);

/* "500ms", "90s", "15m", "24h", plain number = seconds. false when malformed. */
bool cli_parse_duration(const char *s, uint64_t *ms);
/* unsigned decimal count; false when malformed */
bool cli_parse_count(const char *s, uint64_t *n);

/* Protocol by name; on failure prints the known names and returns NULL (a usage error). */
const bl_protocol_t *cli_protocol(const char *verb, const char *name);

/* A field's value as JSON (number / bool / string) */
void cli_json_field(bl_out_t *o, const bl_record_t *r, unsigned id);
/* "fields":{...} for every valid battery field in mask (all when mask == UINT32_MAX) */
void cli_json_fields(bl_out_t *o, const char *key, const bl_record_t *r, uint32_t mask);
/* "alarms":[..],"warnings":[..],"protections":[..] from per-class masks */
void cli_json_alarms(bl_out_t *o, const bl_alarm_mask_t active[BL_AC_COUNT]);

/* true when stderr is a terminal (progress allowed) */
bool cli_stderr_tty(void);

/* A data file or directory (rel under share/): <prefix>/share/bmslink/rel next to an
 * installed binary when it exists, else the source tree's share/rel; written into buf. */
const char *cli_share_path(const char *rel, bool dir, char *buf, size_t cap);

/* `bmslink --version [--json]` (version.c): argv[0] is "--version" */
int cli_version(int argc, char **argv);

int verb_protocols(int argc, char **argv);
int verb_decode(int argc, char **argv);
int verb_dbc(int argc, char **argv);
int verb_emulate(int argc, char **argv);
/* ---- more verbs: declare yours on its own line below ---- */
/* live buses (issue 6) */
int verb_monitor(int argc, char **argv);
int verb_detect(int argc, char **argv);
/* gateway (issue 10) */
int verb_bridge(int argc, char **argv);
int verb_profiles(int argc, char **argv); /* #7 */
int verb_simulate(int argc, char **argv); /* #7 */
/* ---- issue #8: validation and the compatibility matrix ---- */
int verb_validate(int argc, char **argv);
int verb_matrix(int argc, char **argv);
/* diagnosis (issue 9) */
int verb_diagnose(int argc, char **argv);
/* inverter error codes (issue 12) */
int verb_explain(int argc, char **argv);
/* One hex485 capture line -> bytes (decode_rs485.c's reader, shared with diagnose):
 * 1 bytes (*n of them, *ts when *has_ts), 0 blank or comment, -1 malformed (*what, *col). */
int cli_hex485_line(const char *line, size_t len, uint8_t *out, size_t cap, size_t *n, uint64_t *ts, bool *has_ts,
                    const char **what, size_t *col);
/* ---- issue #12: capture formats, replay ---- */
int verb_convert(int argc, char **argv);
int verb_replay(int argc, char **argv);

/* ---- RS485 / Modbus (issue 5): decode_rs485.c, protocols_rs485.c ---- */
typedef struct {
    const bl_protocol_t *p; /* NULL: detect from the capture */
    bool json, summary, quiet;
    unsigned fmt;           /* bl_capfmt_t */
    uint64_t stale_ms, count, duration_ms;
    const char *record_path; /* --record: serial traffic as hex485 lines, NULL when not asked */
    bool csv;                /* --csv (issue #12): the record as rows, see csvout.h */
    uint64_t step_us;        /* --step: resample the rows (0: a row per change) */
} cli_decode_opts_t;
/* true when decode should take the RS485/Modbus path: a byte protocol, --format hex485,
 * a serial:/modbus-* source, or a capture of hex byte lines */
bool cli_decode_rs485_wanted(const bl_protocol_t *p, unsigned fmt, int nsrc, char **srcs);
int cli_decode_rs485(const cli_decode_opts_t *o, int nsrc, char **srcs);
/* What an RS485 byte capture holds (first 200 lines of each source): the protocol whose
 * framing and checksums fit most frames, and who sent them. 1 found, 0 none. */
typedef struct {
    const bl_protocol_t *p;
    const char *framing;      /* "pylon-ascii", "daly", ... */
    const char *dialect_note; /* a dialect the header cannot tell apart, or NULL */
    unsigned lines;           /* lines holding bytes */
    unsigned frames;          /* frames with clean framing and checksum */
    unsigned requests;        /* sent by the host (inverter / poller) */
    unsigned answers;         /* sent by the battery */
    unsigned ver, cid1;       /* Pylontech header of the last frame */
} cli_rs485_detection_t;
int cli_rs485_detect(int nsrc, char **srcs, cli_rs485_detection_t *d);
/* Does a capture file look like hex485 (and not like a CAN capture)? */
bool cli_rs485_sniff(const char *path);
/* protocols: serial settings (summary) and commands/registers (detail) of a byte protocol */
void cli_protocols_rs485_json(bl_out_t *o, const bl_protocol_t *p, bool detail);
void cli_protocols_rs485_text(bl_out_t *o, const bl_protocol_t *p);

#endif
