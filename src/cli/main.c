/* bmslink <verb> [options]: find the verb, run it. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const bl_verb_t verbs[] = {
    { "protocols", verb_protocols, "list protocols; with NAME, its messages and signals" },
    { "decode", verb_decode, "decode a capture into messages and canonical fields" },
    { "dbc", verb_dbc, "print a CAN protocol as a DBC file" },
    { "emulate", verb_emulate, "be a battery or an inverter on a bus" },
    /* ---- more verbs: add yours on its own line below ---- */
    /* live buses (issue 6) */
    { "monitor", verb_monitor, "live view of the battery on a bus: values, ages, stale data, alarms, rates" },
    { "detect", verb_detect, "name the protocol, bitrate, id length and who is talking" },
    /* gateway (issue 10) */
    { "bridge", verb_bridge, "translate packs in one protocol into a battery in another, fail safe, MQTT" },
    { "profiles", verb_profiles, "list inverter profiles: settings, timeouts, quirks with sources" }, /* #7 */
    { "simulate", verb_simulate, "closed loop in memory: simulated battery, protocol, inverter model" }, /* #7 */
    /* ---- issue #8: validation and the compatibility matrix ---- */
    { "validate", verb_validate, "closed-loop validation of a battery against inverter profiles, checks judged" },
    { "matrix", verb_matrix, "the compatibility matrix in SQLite: run, show, export, diff against a reference" },
    /* diagnosis (issue 9) */
    { "diagnose", verb_diagnose, "read a field capture: what is wrong, why, the evidence and the fix" },
    /* inverter error codes (issue 12) */
    { "explain", verb_explain, "what an inverter's battery fault or warning code means, its causes, the fix" },
    /* ---- issue #12: capture formats, replay ---- */
    { "convert", verb_convert, "convert a capture: candump -L, ASC, TRC, GVRET CSV, pcap, pcapng" },
    { "replay", verb_replay, "play a capture onto a bus with its timing (scaled, or as fast as possible)" },
};

static int usage(FILE *fp, int rc)
{
    fputs("usage: bmslink <verb> [options] [args]\n"
          "       bmslink --version [--json] | --help | <verb> --help\n\n"
          "bmslink makes lithium battery BMSes and inverters understand each other over CAN and\n"
          "RS485: it reads what is on the wire, emulates either side, translates between\n"
          "protocols and validates a battery against inverters.\n\nverbs:\n",
          fp);
    for (size_t i = 0; i < BL_ARRAY_LEN(verbs); i++)
        fprintf(fp, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fputs("\nexit codes: 0 ok, 1 a check failed, 2 usage, 3 input or I/O\n", fp);
    return rc;
}

int main(int argc, char **argv)
{
    const char *v = argc > 1 ? argv[1] : NULL;

    if (v == NULL)
        return usage(stderr, BL_EXIT_USAGE);
    if (strcmp(v, "--help") == 0 || strcmp(v, "-h") == 0 || strcmp(v, "help") == 0)
        return usage(stdout, BL_EXIT_OK);
    if (strcmp(v, "--version") == 0 || strcmp(v, "-V") == 0)
        return cli_version(argc - 1, argv + 1);
    for (size_t i = 0; i < BL_ARRAY_LEN(verbs); i++)
        if (strcmp(v, verbs[i].name) == 0)
            return verbs[i].run(argc - 1, argv + 1);
    cli_err("unknown verb '%s' (try bmslink --help)", v);
    return BL_EXIT_USAGE;
}
