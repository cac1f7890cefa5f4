/*
 * bmslink validate --battery SRC|sim:PROTOCOL --inverter PROFILE|all [--scenario FILE]
 *                  [--report FILE.html] [--json]
 * Closed-loop validation: each check of CLI.md judged with a time, expected vs
 * observed, and the frames as evidence (src/engines/validate.c). Simulated time when
 * both sides are simulated; real time on a live bus, where bmslink plays the
 * inverter (the role of `emulate inverter`) against a real battery.
 */
#include "cli.h"
#include "sim_cli.h"
#include "validate_run.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink validate --battery SRC|sim:PROTOCOL --inverter PROFILE|all [--scenario FILE]\n"
    "                        [--report FILE.html] [--json] [--firmware NAME] [--duration D] [-p PROTOCOL]\n"
    "  Prove that a battery works with an inverter in closed loop: the inverter model obeys\n"
    "  (or not) what the battery sends, and each check is judged with its time, what was\n"
    "  expected, what was observed, and the frames as evidence:\n"
    "  detect soc voltage current temperature charge_limits discharge_limits alarms protection\n"
    "  comm_loss firmware settings.\n"
    "  --battery SRC     sim:PROTOCOL  a simulated 16S LFP battery with its BMS speaking PROTOCOL\n"
    "                    sim:native    the simulated battery speaks each inverter's own protocol\n"
    "                    socketcan:IFACE, slcan:DEV@BITRATE, serial:DEV@BAUD  a real battery: bmslink\n"
    "                    plays the inverter on that bus in real time\n"
    "  --inverter NAME   an inverter profile (bmslink profiles), a .yaml path, a comma list, or all;\n"
    "                    may be repeated\n"
    "  --scenario FILE   the session (simulate's scenario format); default: the built-in 30-minute\n"
    "                    validation session (share/scenarios/validation.yaml)\n"
    "  --report FILE     write a self-contained HTML report: checklist, charts, evidence, settings\n"
    "  --json            one JSON object per inverter (CLI.md)\n"
    "  --firmware NAME   the inverter's firmware variant\n"
    "  --duration D      session length (default: the scenario's; live: 2m)\n"
    "  -p PROTOCOL       live: the protocol the battery speaks (default: the inverter's)\n"
    "exit: 0 every check passed, 1 a check failed, 2 usage, 3 input or I/O\n"
    "examples:\n"
    "  bmslink validate --battery sim:pylon-lv --inverter victron-gx\n"
    "  bmslink validate --battery sim:native --inverter all --report validation.html\n"
    "  bmslink validate --battery slcan:/dev/ttyACM0@500000 --inverter generic-pylon-lv --duration 5m\n";

typedef struct {
    const char *battery, *scenario, *report, *firmware, *protocol;
    char *inverters[64];
    unsigned ninv;
    uint64_t duration_ms;
    bool json;
} val_opts_t;

enum { OPT_BATTERY = 256, OPT_INVERTER, OPT_SCENARIO, OPT_REPORT, OPT_JSON, OPT_FIRMWARE, OPT_DURATION };

static int parse(int argc, char **argv, val_opts_t *vo)
{
    static const struct option opts[] = {
        { "battery", required_argument, 0, OPT_BATTERY },   { "inverter", required_argument, 0, OPT_INVERTER },
        { "scenario", required_argument, 0, OPT_SCENARIO }, { "report", required_argument, 0, OPT_REPORT },
        { "json", no_argument, 0, OPT_JSON },               { "firmware", required_argument, 0, OPT_FIRMWARE },
        { "duration", required_argument, 0, OPT_DURATION }, { "protocol", required_argument, 0, 'p' },
        { "help", no_argument, 0, 'h' },                    { 0, 0, 0, 0 } };
    int ch;

    memset(vo, 0, sizeof *vo);
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
        switch (ch) {
        case OPT_BATTERY: vo->battery = optarg; break;
        case OPT_INVERTER:
            if (vo->ninv >= BL_ARRAY_LEN(vo->inverters))
                return cli_usage_err(usage, "validate", "too many --inverter options");
            vo->inverters[vo->ninv++] = optarg;
            break;
        case OPT_SCENARIO: vo->scenario = optarg; break;
        case OPT_REPORT: vo->report = optarg; break;
        case OPT_JSON: vo->json = true; break;
        case OPT_FIRMWARE: vo->firmware = optarg; break;
        case 'p': vo->protocol = optarg; break;
        case OPT_DURATION:
            if (!cli_parse_duration(optarg, &vo->duration_ms) || vo->duration_ms == 0)
                return cli_usage_err(usage, "validate", "bad --duration '%s' (e.g. 90s, 15m, 2h)", optarg);
            break;
        case 'h': return -1;
        default: return cli_usage_err(usage, "validate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_err(usage, "validate", "unexpected argument '%s'", argv[optind]);
    if (vo->battery == NULL)
        return cli_usage_err(usage, "validate", "--battery SRC|sim:PROTOCOL is required");
    if (vo->ninv == 0)
        return cli_usage_err(usage, "validate", "--inverter PROFILE|all is required");
    return BL_EXIT_OK;
}

/* --battery: sim:PROTOCOL, sim:native, or a live bus. Fills o->bp / o->live; prints errors. */
int cli_val_battery(const char *verb, const char *src, const char *protocol, vr_opts_t *o)
{
    o->battery = src;
    o->bp = NULL;
    o->live = false;
    if (src == NULL) { /* the parsers refuse it first; a caller that forgets still gets a message */
        cli_err("%s: --battery SRC|sim:PROTOCOL is required", verb);
        return BL_EXIT_USAGE;
    }
    if (strncmp(src, "sim:", 4) == 0) {
        if (protocol != NULL) {
            cli_err("%s: -p names a live battery's protocol; a simulated one is sim:PROTOCOL", verb);
            return BL_EXIT_USAGE;
        }
        if (strcmp(src + 4, "native") == 0)
            return BL_EXIT_OK;
        if ((o->bp = cli_protocol(verb, src + 4)) == NULL)
            return BL_EXIT_USAGE;
        if (bl_proto_root(o->bp)->bus == BL_BUS_MODBUS) {
            cli_err("%s: %s: %s is a Modbus register map: the closed loop runs CAN and RS485 byte protocols", verb,
                    src, o->bp->name);
            return BL_EXIT_USAGE;
        }
        return BL_EXIT_OK;
    }
    if (strncmp(src, "socketcan:", 10) != 0 && strncmp(src, "slcan:", 6) != 0 && strncmp(src, "serial:", 7) != 0 &&
        strncmp(src, "virtual:", 8) != 0) {
        cli_err("%s: %s: not a battery to validate: use sim:PROTOCOL, or a live bus (socketcan:, slcan:, serial:); "
                "a capture file is read by bmslink diagnose",
                verb, src);
        return BL_EXIT_USAGE;
    }
    o->live = true;
    if (protocol != NULL && (o->bp = cli_protocol(verb, protocol)) == NULL)
        return BL_EXIT_USAGE;
    return BL_EXIT_OK;
}

static void summary_table(bl_out_t *o, const vr_result_t *rs, unsigned n)
{
    out_str(o, "summary:\n");
    for (unsigned i = 0; i < n; i++) {
        const vr_result_t *r = &rs[i];
        bool first = true;
        out_printf(o, "  %-24s %-9s", r->profile, vr_status_str(r->status));
        if (!r->ran) {
            out_printf(o, "%s\n", r->why);
            continue;
        }
        for (unsigned k = 0; k < BL_VC_COUNT; k++)
            if (r->checks[k].status == BL_VS_FAIL) {
                out_printf(o, "%s%s", first ? "fails: " : ", ", bl_val_check_str(k));
                first = false;
            }
        out_str(o, first ? "every check passed or had nothing to judge\n" : "\n");
    }
}

int verb_validate(int argc, char **argv)
{
    val_opts_t vo;
    vr_opts_t o;
    bl_profile_file_t *pf = NULL;
    vr_result_t *rs = NULL;
    bl_scenario_t *scn = NULL;
    bl_out_t *out = NULL;
    FILE *report = NULL;
    unsigned n = 0, ran = 0, failed = 0;
    int rc;

    if ((rc = parse(argc, argv, &vo)) != BL_EXIT_OK)
        return rc < 0 ? cli_help(usage) : rc;
    memset(&o, 0, sizeof o);
    o.verb = "validate";
    if ((rc = cli_val_battery("validate", vo.battery, vo.protocol, &o)) != BL_EXIT_OK)
        return rc;
    if (vo.report != NULL && (report = fopen(vo.report, "w")) == NULL) {
        cli_err("validate: %s: %s", vo.report, strerror(errno));
        return BL_EXIT_IO;
    }
    if ((scn = malloc(sizeof *scn)) == NULL || (out = malloc(sizeof *out)) == NULL) {
        cli_err("validate: out of memory");
        rc = BL_EXIT_IO;
        goto done;
    }
    if (vo.scenario != NULL) {
        if ((rc = cli_scenario_load("validate", vo.scenario, scn)) != BL_EXIT_OK)
            goto done;
    } else {
        bl_val_scenario(scn);
    }
    o.scenario_path = vo.scenario;
    o.scn = scn;
    o.firmware = vo.firmware;
    o.duration_ms = vo.duration_ms;
    o.timeline = vo.report != NULL;
    if ((rc = vr_profiles("validate", vo.inverters, vo.ninv, &pf, &n)) != BL_EXIT_OK)
        goto done;
    if ((rs = calloc(n ? n : 1, sizeof *rs)) == NULL) {
        cli_err("validate: out of memory");
        rc = BL_EXIT_IO;
        goto done;
    }
    out_init(out, stdout);
    for (unsigned i = 0; i < n; i++) {
        rc = vr_run(&o, &pf[i], &rs[i]);
        if (rc != BL_EXIT_OK && (n == 1 || rc == BL_EXIT_IO || !rs[i].why[0])) {
            if (rs[i].why[0])
                cli_err("validate: %s: %s", pf[i].p.name, rs[i].why);
            goto done;
        }
        if (!rs[i].ran) {
            cli_err("validate: %s: untested: %s", pf[i].p.name, rs[i].why);
            if (n == 1) {
                rc = BL_EXIT_USAGE;
                goto done;
            }
        } else {
            ran++;
            failed += rs[i].status != VR_PASS;
        }
        if (vo.json) {
            if (rs[i].ran)
                vr_print_json(out, &rs[i]);
        } else {
            vr_print_text(out, &rs[i]);
        }
        out_flush(out);
    }
    if (!vo.json && n > 1)
        summary_table(out, rs, n);
    out_flush(out);
    if (ran == 0) {
        cli_err("validate: %s: no inverter could be tested against this battery", vo.battery);
        rc = BL_EXIT_USAGE;
        goto done;
    }
    if (vo.report != NULL) {
        char title[256];
        int err;
        snprintf(title, sizeof title, "bmslink validation: %s", vo.battery);
        err = vr_report_html(report, rs, n, title);
        report = NULL;
        if (err != 0) {
            cli_err("validate: %s: %s", vo.report, strerror(err));
            rc = BL_EXIT_IO;
            goto done;
        }
        if (!vo.json)
            printf("report: %s\n", vo.report);
    }
    rc = failed ? BL_EXIT_FAIL : BL_EXIT_OK;
done:
    if (report != NULL)
        fclose(report);
    for (unsigned i = 0; rs != NULL && i < n; i++)
        vr_free(&rs[i]);
    free(rs);
    free(pf);
    free(scn);
    free(out);
    return rc;
}
