#!/bin/sh
# simulate and profiles as a user meets them: byte-identical reruns, bad scenario files
# with FILE:LINE and exit 2, unknown names listing the known ones, the CLI.md exit codes.
set -u
B=${BMSLINK:?run through ctest}
SRC=${BMSLINK_SRC:-.}
SHARED=${BMSLINK_SHARED:-../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() { # name expected_rc cmd...
    name=$1 want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL $name: exit $rc, expected $want"; sed 's/^/  stderr: /' "$T/err" | head -5; fails=$((fails+1))
    fi
}
expect_err() {
    if ! grep -q -- "$2" "$T/err"; then echo "FAIL $1: stderr lacks '$2'"; sed 's/^/  stderr: /' "$T/err" | head -5; fails=$((fails+1)); fi
}
expect_out() {
    if ! grep -q -- "$2" "$T/out"; then echo "FAIL $1: stdout lacks '$2'"; head -c 600 "$T/out"; fails=$((fails+1)); fi
}
scn() { printf '%s\n' "$@" > "$T/s.yaml"; }

# ---- profiles ----
check profiles 0 "$B" profiles;                          expect_out profiles "sma-sunny-island"
check profiles-help 0 "$B" profiles --help;              expect_out profiles-help "usage: bmslink profiles"
check profile-one 0 "$B" profiles sofar-me3000sp;        expect_out profile-one "ignores_zero_limits"
check profile-unknown 2 "$B" profiles no-such;           expect_err profile-unknown "unknown profile 'no-such'; known: "
check profile-two 2 "$B" profiles a b;                   expect_err profile-two "one NAME at most"
"$B" profiles --json > "$T/p.json" || { echo "FAIL profiles --json"; fails=$((fails+1)); }
/usr/bin/python3 "$SHARED/tools/check-json-shape.py" profiles "$T/p.json" || { echo "FAIL profiles json shape"; fails=$((fails+1)); }
printf 'name: x\nbrand: y\nprotocol: pylon-lv\ninterface: can\nquirks:\n  - {id: flies, what: w, source: s}\n' > "$T/bad.yaml"
check profile-bad-quirk 2 "$B" profiles "$T/bad.yaml";   expect_err profile-bad-quirk "bad.yaml:6: quirks: unknown id 'flies'"
printf 'name: x\nbrand: y\nprotocol: pylon-lv\ninterface: can\ndetect: [0x999]\n' > "$T/bad2.yaml"
check profile-bad-id 2 "$B" profiles "$T/bad2.yaml";     expect_err profile-bad-id "bad2.yaml:5: 0x999 is not a battery message of protocol pylon-lv"
mkdir "$T/dir" && cp "$T/bad.yaml" "$T/dir/" && cp "$SRC/share/profiles/sol-ark-lv.yaml" "$T/dir/"
BMSLINK_PROFILES="$T/dir" "$B" profiles >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" = 3 ] || { echo "FAIL profiles-broken-dir: exit $rc, expected 3"; fails=$((fails+1)); }
expect_out profiles-broken-dir "sol-ark-lv"; expect_err profiles-broken-dir "bad.yaml:6:"

# ---- simulate: usage ----
check sim-help 0 "$B" simulate --help;                   expect_out sim-help "usage: bmslink simulate"
check sim-no-battery 2 "$B" simulate --inverter generic-pylon-lv; expect_err sim-no-battery "--battery PROTOCOL is required"
check sim-bad-protocol 2 "$B" simulate --battery nope --inverter generic-pylon-lv; expect_err sim-bad-protocol "unknown protocol 'nope'; known: pylon-lv"
check sim-bad-profile 2 "$B" simulate --battery pylon-lv --inverter nope; expect_err sim-bad-profile "unknown profile 'nope'; known:"
check sim-bad-fw 2 "$B" simulate --battery pylon-lv --inverter deye-sunsynk-lv --firmware 9.9; expect_err sim-bad-fw "has no firmware '9.9'; known: default, late-keepalive"
check sim-bad-duration 2 "$B" simulate --battery pylon-lv --inverter generic-pylon-lv --duration 5parsecs
check sim-missing-scenario 3 "$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$T/nope.yaml"; expect_err sim-missing-scenario "nope.yaml: No such file"
if ! "$B" protocols | grep -q '^sma-si'; then
    check sim-unbuilt 2 "$B" simulate --battery pylon-lv --inverter sma-sunny-island; expect_err sim-unbuilt "protocol 'sma-si' is not in this build yet"
fi

# ---- simulate: bad scenario files name FILE:LINE (CLI.md: exit 2) ----
scn 'name: x' 'events:' '  - {at: 1h, event: teleport}'
check scn-kind 2 "$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$T/s.yaml"; expect_err scn-kind "s.yaml:3: event: unknown kind 'teleport' (known: comm_loss"
scn 'name: x' 'start_soc_pct: 140'
check scn-range 2 "$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$T/s.yaml"; expect_err scn-range "s.yaml:2: start_soc_pct: 140 is outside 0.000..100.000"
scn 'name: x' 'battery:' '  cels: 16'
check scn-key 2 "$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$T/s.yaml"; expect_err scn-key "s.yaml:3: battery: unknown key 'cels'"
scn 'name: x' 'events:' '  - {at: 1h, event: frozen_field, field: volts}'
check scn-field 2 "$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$T/s.yaml"; expect_err scn-field "s.yaml:3: field: 'volts' is not a canonical battery field"
scn 'name: x' 'pv: [[1h, 100], [30m, 200]]'
check scn-backwards 2 "$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$T/s.yaml"; expect_err scn-backwards "s.yaml:2: pv: times must not go backwards"
scn 'name: x' 'load: [ [1h, 100'
check scn-syntax 2 "$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$T/s.yaml"; expect_err scn-syntax "s.yaml:3: yaml:"
scn 'name: x' 'events:' '  - {at: 1h, event: firmware, variant: 9.9}'
check scn-fw 2 "$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$T/s.yaml"; expect_err scn-fw "s.yaml:3: event firmware: profile generic-pylon-lv has no firmware '9.9'"
scn 'name: x' 'battery: {cvl_cell_V: 2.9}'
check scn-battery 2 "$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$T/s.yaml"; expect_err scn-battery "s.yaml:2: battery: limits: charge voltage per cell must be above"

# ---- simulate: runs, determinism, the log ----
check sim-day 0 "$B" simulate --battery pylon-lv --inverter deye-sunsynk-lv --duration 12h; expect_out sim-day "limits exceeded (vs what the battery sent): none"
cp "$T/out" "$T/day1"
"$B" simulate --battery pylon-lv --inverter deye-sunsynk-lv --duration 12h > "$T/day2"
cmp -s "$T/day1" "$T/day2" || { echo "FAIL determinism: two runs of the same day differ"; fails=$((fails+1)); }
"$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$SRC/share/scenarios/faults-tour.yaml" --json --log "$T/a.log" > "$T/a.json" || { echo "FAIL faults-tour"; fails=$((fails+1)); }
"$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$SRC/share/scenarios/faults-tour.yaml" --json --log "$T/b.log" > "$T/b.json"
cmp -s "$T/a.json" "$T/b.json" && cmp -s "$T/a.log" "$T/b.log" || { echo "FAIL determinism: faults tour JSON or log differ"; fails=$((fails+1)); }
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["timeline"] and d["events"] and d["summary"]["frames"]["battery"]["dropped"] == 540, d["summary"]["frames"]' "$T/a.json" \
    || { echo "FAIL faults-tour JSON content"; fails=$((fails+1)); }
# the log is a candump -L capture our own decoder reads back without a single reject
"$B" decode -p pylon-lv --summary "$T/a.log" > "$T/sum.json" 2>"$T/err" || true
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["frames"] > 500000, d["frames"]; assert set(d["error_reasons"]) <= {"range", "unknown_id", "dlc"}, d["error_reasons"]' "$T/sum.json" \
    || { echo "FAIL decode of the simulation log"; head -c 400 "$T/sum.json"; fails=$((fails+1)); }
check sim-log-dir 3 "$B" simulate --battery pylon-lv --inverter generic-pylon-lv --duration 1m --log "$T/no/such/dir.log"; expect_err sim-log-dir "No such file or directory"

[ "$fails" = 0 ] && echo "simulate: all checks passed"
exit "$fails"
