/* `bmslink --version [--json]`: the release and the version of every machine-readable shape.
 *
 * Scripts that parse bmslink's JSON pin these numbers. A shape's MAJOR changes when a key is
 * removed or renamed or a value changes type or meaning; its MINOR changes when keys are added
 * (readers must ignore keys they do not know). Text output is for people and may change in
 * any release. The table below is the single place to bump; README "Stability" says the same.
 */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *shape;   /* the name used in CLI.md and in this output */
    const char *command; /* what prints it */
    unsigned major, minor;
} schema_t;

static const schema_t schemas[] = {
    /* the shapes CLI.md defines */
    { "protocols", "protocols --json", 1, 0 },
    { "profiles", "profiles --json", 1, 1 }, /* 1.1: error_codes (issue 12) */
    { "decode", "decode --json", 1, 0 },
    { "decode_summary", "decode --summary", 1, 0 },
    { "validate", "validate --json", 1, 0 },
    { "diagnose", "diagnose --json", 1, 1 }, /* 1.1: inverter_codes per finding, battery (issue 12) */
    { "matrix", "matrix export --format json", 1, 0 },
    /* shapes CLI.md leaves to us: documented in docs/design.md */
    { "detect", "detect --json", 1, 0 },
    { "monitor", "monitor --json", 1, 0 },
    { "simulate", "simulate --json", 1, 0 },
    { "emulate", "emulate --json", 1, 0 },
    { "bridge", "bridge --json", 1, 1 }, /* 1.1: source_state, destination_state (issue 12) */
    { "version", "--version --json", 1, 0 },
    /* inverter error codes (issue 12) */
    { "explain", "explain --json", 1, 0 },
    { "explain_causes", "explain --causes --json", 1, 0 },
};

static void print_json(void)
{
    static bl_out_t out;
    bl_out_t *o = &out;

    out_init(o, stdout);

    j_obj(o);
    j_kstr(o, "name", "bmslink");
    j_kstr(o, "version", BL_VERSION_STRING);
    j_key(o, "schemas");
    j_obj(o);
    for (size_t i = 0; i < BL_ARRAY_LEN(schemas); i++) {
        char v[24];
        snprintf(v, sizeof v, "%u.%u", schemas[i].major, schemas[i].minor);
        j_key(o, schemas[i].shape);
        j_obj(o);
        j_kstr(o, "version", v);
        j_kstr(o, "command", schemas[i].command);
        j_end_obj(o);
    }
    j_end_obj(o);
    j_key(o, "exit_codes");
    j_obj(o);
    j_kint(o, "ok", BL_EXIT_OK);
    j_kint(o, "check_failed", BL_EXIT_FAIL);
    j_kint(o, "usage", BL_EXIT_USAGE);
    j_kint(o, "input", BL_EXIT_IO);
    j_end_obj(o);
    j_end_obj(o);
    out_ch(o, '\n');
    out_flush(o);
}

int cli_version(int argc, char **argv)
{
    bool json = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else {
            cli_err("--version: unknown option '%s' (only --json)", argv[i]);
            return BL_EXIT_USAGE;
        }
    }
    if (json)
        print_json();
    else
        printf("bmslink %s\n", BL_VERSION_STRING);
    return BL_EXIT_OK;
}
