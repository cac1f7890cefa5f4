/* bmslink emulate battery|inverter: be one side of the link on a real or virtual bus. */
#include "bmslink/faults.h"
#include "cli.h"
#include "emulate.h"
#include "sim_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: bmslink emulate battery -p PROTOCOL --on URI [--scenario FILE] [--duration D] [--count N]\n"
    "       bmslink emulate inverter --profile NAME --on URI [--scenario FILE] [--firmware NAME]\n"
    "                                [--duration D] [--count N]\n"
    "  Be a BMS (battery role: broadcast or answer polls, handshakes, keep-alives) or an\n"
    "  inverter (its profile's polls, keep-alives, timeouts and quirks) on a bus.\n"
    "  --on URI          socketcan:IFACE, slcan:DEV@BITRATE, serial:DEV@BAUD[,8N1],\n"
    "                    modbus-rtu:DEV@BAUD#UNIT, modbus-tcp:HOST:PORT#UNIT, virtual:NAME\n"
    "  -p, --protocol P  battery role: the protocol to speak\n"
    "  --profile NAME    inverter role: the inverter profile (bmslink profiles)\n"
    "  --scenario FILE   battery role: the simulated pack's parameters, load/PV and faults;\n"
    "                    inverter role: load/PV, settings, firmware (default: the built-in day,\n"
    "                    a simulated 16S 200 Ah LFP pack with its BMS, stepped in real time)\n"
    "  --firmware NAME   inverter role: the profile's firmware variant\n"
    "  --static          battery role: serve a fixed reference pack (80 %, 52.8 V, 100 A limits)\n"
    "                    instead of the simulated one: values that never move, for conformance tests\n"
    "  --duration D      stop after D (500ms, 90s, 15m, 24h)\n"
    "  -n, --count N     stop after N messages\n"
    "  --record FILE     also write the traffic as a candump -L log\n"
    "  --json            one JSON line per event\n";

/* A healthy 16S LFP pack at rest: 52.8 V, 0 A, 25 °C, 80 %, 100 A limits. */
static const bl_record_t *default_step(bl_battery_source_t *s, uint64_t now_ms)
{
    bl_record_t *r = &s->rec;
    static const struct {
        unsigned id;
        int32_t v;
        uint8_t dec;
    } vals[] = {
        { BL_F_SOC, 80000, 0 },         { BL_F_SOH, 98000, 0 },          { BL_F_VOLTAGE, 52800, 2 },
        { BL_F_CURRENT, 0, 1 },         { BL_F_TEMP, 25000, 1 },         { BL_F_TEMP_MIN, 24000, 1 },
        { BL_F_TEMP_MAX, 26000, 1 },    { BL_F_CELL_V_MIN, 3297, 3 },    { BL_F_CELL_V_MAX, 3303, 3 },
        { BL_F_CVL, 55200, 1 },         { BL_F_CCL, 100000, 1 },         { BL_F_DCL, 100000, 1 },
        { BL_F_DVL, 48000, 1 },         { BL_F_CHARGE_ENABLE, 1, 0 },    { BL_F_DISCHARGE_ENABLE, 1, 0 },
        { BL_F_FORCE_CHARGE, 0, 0 },    { BL_F_FULL_CHARGE_REQ, 0, 0 },  { BL_F_MODULE_COUNT, 2, 0 },
        { BL_F_CAPACITY, 200000, 0 },   { BL_F_CYCLE_COUNT, 42, 0 },
    };
    for (size_t i = 0; i < BL_ARRAY_LEN(vals); i++)
        bl_record_set(r, vals[i].id, vals[i].v, vals[i].dec, now_ms);
    bl_record_set_str(r, BL_F_MANUFACTURER, "BMSLINK", 7, now_ms);
    bl_record_set_str(r, BL_F_MODEL, "SIM-16S-200AH", 13, now_ms);
    bl_record_set_str(r, BL_F_FIRMWARE, "1.0", 3, now_ms);
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        r->known[c] = BL_A_ALL;
        r->active[c] = 0;
        r->alarm_seen_ms[c] = now_ms;
    }
    return r;
}

void cli_battery_source_default(bl_battery_source_t *s)
{
    memset(s, 0, sizeof *s);
    bl_record_init(&s->rec);
    s->step = default_step;
}

enum { OPT_PROFILE = 256, OPT_ON, OPT_SCENARIO, OPT_DURATION, OPT_RECORD, OPT_JSON, OPT_FIRMWARE, OPT_STATIC };

/* #7: the scenario both roles run (static: the battery source keeps a pointer to it) */
static bl_scenario_t scenario;

int verb_emulate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "protocol", required_argument, 0, 'p' }, { "profile", required_argument, 0, OPT_PROFILE },
        { "on", required_argument, 0, OPT_ON },     { "scenario", required_argument, 0, OPT_SCENARIO },
        { "duration", required_argument, 0, OPT_DURATION }, { "count", required_argument, 0, 'n' },
        { "record", required_argument, 0, OPT_RECORD }, { "json", no_argument, 0, OPT_JSON },
        { "firmware", required_argument, 0, OPT_FIRMWARE }, { "static", no_argument, 0, OPT_STATIC },
        { "help", no_argument, 0, 'h' },            { 0, 0, 0, 0 } };
    bl_emulate_opts_t o;
    bl_battery_source_t src;
    int ch, rc;
    bool fixed = false;

    memset(&o, 0, sizeof o);
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "p:n:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            if ((o.p = cli_protocol("emulate", optarg)) == NULL)
                return BL_EXIT_USAGE;
            break;
        case OPT_PROFILE: o.profile = optarg; break;
        case OPT_ON: o.on = optarg; break;
        case OPT_SCENARIO: o.scenario = optarg; break;
        case OPT_RECORD: o.record_path = optarg; break;
        case OPT_JSON: o.json = true; break;
        case OPT_FIRMWARE: o.firmware = optarg; break;
        case OPT_STATIC: fixed = true; break;
        case OPT_DURATION:
            if (!cli_parse_duration(optarg, &o.duration_ms))
                return cli_usage_err(usage, "emulate", "bad --duration '%s' (e.g. 500ms, 90s, 15m, 24h)", optarg);
            break;
        case 'n':
            if (!cli_parse_count(optarg, &o.count))
                return cli_usage_err(usage, "emulate", "bad --count '%s'", optarg);
            break;
        case 'h': return cli_help(usage);
        default: return cli_usage_err(usage, "emulate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_err(usage, "emulate", "say which side to be: battery or inverter");
    o.role = argv[optind];
    if (argc - optind > 1)
        return cli_usage_err(usage, "emulate", "unexpected argument '%s'", argv[optind + 1]);
    if (o.on == NULL)
        return cli_usage_err(usage, "emulate", "--on URI is required (where to be the %s)", o.role);
    if (strcmp(o.role, "battery") != 0 && strcmp(o.role, "inverter") != 0)
        return cli_usage_err(usage, "emulate", "unknown role '%s' (battery or inverter)", o.role);
    if ((rc = cli_scenario_load("emulate", o.scenario, &scenario)) != BL_EXIT_OK)
        return rc;
    o.scn = &scenario;
    if (strcmp(o.role, "battery") == 0) {
        if (o.p == NULL)
            return cli_usage_err(usage, "emulate", "battery role needs -p PROTOCOL");
        /* the simulated pack and BMS, stepped in real time; --static: the fixed reference pack */
        if (fixed) {
            if (o.scenario != NULL)
                return cli_usage_err(usage, "emulate", "--static serves a fixed pack: it takes no --scenario");
            cli_battery_source_default(&src);
        } else if (cli_battery_source_sim(&src, &scenario) < 0) {
            cli_err("emulate: %s: battery parameters refused: %s", o.scenario ? o.scenario : "built-in day",
                    bl_bsim_check(&scenario.battery) ? bl_bsim_check(&scenario.battery) : "?");
            return BL_EXIT_USAGE;
        }
        o.src = &src;
        if (bl_proto_root(o.p)->bus == BL_BUS_CAN)
            return cli_emulate_battery_can(&o);
        return cli_emulate_battery_rs485(&o);
    }
    if (strcmp(o.role, "inverter") == 0) {
        if (o.profile == NULL)
            return cli_usage_err(usage, "emulate", "inverter role needs --profile NAME");
        return cli_emulate_inverter(&o);
    }
    return cli_usage_err(usage, "emulate", "unknown role '%s' (battery or inverter)", o.role);
}
