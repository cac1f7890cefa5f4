#!/bin/sh
# validate as a user meets it: the checklist, the CLI.md exit codes (0 every check passed,
# 1 a check failed, 2 usage, 3 I/O), --json checked against CLI.md by ../shared's
# check-json-shape.py, failing sessions built from the shipped validation.yaml, bad input
# named with FILE:LINE.
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
        echo "FAIL $name: exit $rc, expected $want"; sed 's/^/  stderr: /' "$T/err" | head -5; head -c 800 "$T/out"; fails=$((fails+1))
    fi
}
expect_err() {
    if ! grep -q -- "$2" "$T/err"; then echo "FAIL $1: stderr lacks '$2'"; sed 's/^/  stderr: /' "$T/err" | head -5; fails=$((fails+1)); fi
}
expect_out() {
    if ! grep -q -- "$2" "$T/out"; then echo "FAIL $1: stdout lacks '$2'"; head -c 800 "$T/out"; fails=$((fails+1)); fi
}
shape() { # name file
    /usr/bin/python3 "$SHARED/tools/check-json-shape.py" validate "$2" || { echo "FAIL $1: JSON shape"; fails=$((fails+1)); }
}
# a session file: the shipped validation session plus one more event line
with_event() { sed "s/^events:/events:\n  - $1/" "$SRC/share/scenarios/validation.yaml" > "$T/s.yaml"; }
P="$SRC/tests/data/profiles"

# ---- an obedient pair passes; every check is listed with its time ----
check obedient 0 "$B" validate --battery sim:pylon-lv --inverter generic-pylon-lv
for c in detect soc voltage current temperature charge_limits discharge_limits alarms protection comm_loss firmware settings; do
    expect_out "obedient-$c" "  $c "
done
expect_out obedient "result: PASS"
expect_out obedient "PASS  comm_loss        00:21:09"

# ---- --json: one object per inverter, CLI.md's shape ----
check json 0 "$B" validate --battery sim:sma-si --inverter sma-sunny-island --json
shape json "$T/out"
/usr/bin/python3 - "$T/out" <<'PY' || { echo "FAIL json content"; fails=$((fails+1)); }
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["status"] == "pass" and d["inverter"] == "sma-sunny-island" and d["battery"] == "sim:sma-si", d
c = {x["id"]: x for x in d["checks"]}
assert c["detect"]["at_s"] == 0 and c["comm_loss"]["status"] == "pass", c["comm_loss"]
assert "BatTyp = LiIon_Ext-BMS" in d["required_settings"], d["required_settings"]
assert all(isinstance(e, dict) and {"t_s", "from", "data"} <= set(e) for x in d["checks"] for e in x["evidence"])
PY

# ---- every profile: a check fails somewhere, so exit 1; untested pairs said on stderr ----
check all 1 "$B" validate --battery sim:native --inverter all --json
shape all "$T/out"
expect_err all "fronius-gen24: untested: byd-hvm is a Modbus register map"
[ "$(wc -l < "$T/out")" = 22 ] || { echo "FAIL all: $(wc -l < "$T/out") JSON lines, expected 22 (23 profiles, 1 untested)"; fails=$((fails+1)); }
check all-text 1 "$B" validate --battery sim:pylon-lv --inverter all
expect_out all-text "^summary:"
expect_out all-text "victron-gx               fail     fails: charge_limits, protection"

# ---- each check shown to fail on a session or profile built for it ----
check ignores-ccl 1 "$B" validate --battery sim:pylon-lv --inverter "$P/ignores-ccl.yaml" --json
/usr/bin/python3 - "$T/out" <<'PY' || { echo "FAIL ignores-ccl content"; fails=$((fails+1)); }
import json, sys
d = json.loads(open(sys.argv[1]).read())
c = {x["id"]: x for x in d["checks"]}
assert c["charge_limits"]["status"] == "fail" and c["charge_limits"]["at_s"] == 180, c["charge_limits"]
assert "charge_current_limit_A 44.8 A" in c["charge_limits"]["observed"], c["charge_limits"]["observed"]
assert c["charge_limits"]["evidence"][0]["id"] == "0x351", c["charge_limits"]["evidence"]
PY
with_event '{at: 0s, event: wrong_current_sign}'
check wrong-sign 1 "$B" validate --battery sim:pylon-lv --inverter generic-pylon-lv --scenario "$T/s.yaml"
expect_out wrong-sign "FAIL  current          00:00:04  sign inverted: at 00:00:04 the battery charges at"
check no-safe-state 1 "$B" validate --battery sim:pylon-lv --inverter "$P/no-safe-state.yaml"
expect_out no-safe-state "FAIL  comm_loss        00:21:00  battery silent from 00:21:00: the inverter kept driving"
check unsafe-firmware 1 "$B" validate --battery sim:pylon-lv --inverter generic-pylon-lv --firmware unsafe-legacy
expect_out unsafe-firmware "keeps_last_values_on_silence"
with_event '{at: 1m, event: frozen_field, field: soc_pct}'
check frozen-soc 1 "$B" validate --battery sim:pylon-lv --inverter generic-pylon-lv --scenario "$T/s.yaml"
expect_out frozen-soc "FAIL  soc "
check reckless 1 "$B" validate --battery sim:pylon-lv --inverter "$P/reckless.yaml"
expect_out reckless "FAIL  protection       00:06:05"
printf 'name: wrong setting\nduration: 2m\ninverter:\n  settings: {battery_type: Lead-acid}\n' > "$T/w.yaml"
check wrong-setting 1 "$B" validate --battery sim:pylon-lv --inverter generic-pylon-lv --scenario "$T/w.yaml"
expect_out wrong-setting "FAIL  settings         00:00:00  battery_type was Lead-acid (battery not detected)"
expect_out wrong-setting "(stopped: nothing more to judge)"

# ---- the report ----
check report 1 "$B" validate --battery sim:pylon-lv --inverter generic-pylon-lv,victron-gx --report "$T/r.html"
expect_out report "report: $T/r.html"
grep -q '<svg' "$T/r.html" && grep -q 'id="inv-victron-gx"' "$T/r.html" || { echo "FAIL report content"; fails=$((fails+1)); }
if grep -Eq '(src|href)="(https?:)?//|@import|url\(' "$T/r.html"; then echo "FAIL report references something outside itself"; fails=$((fails+1)); fi

# ---- usage and input errors ----
check no-battery 2 "$B" validate --inverter all;              expect_err no-battery "--battery SRC|sim:PROTOCOL is required"
check no-inverter 2 "$B" validate --battery sim:pylon-lv;     expect_err no-inverter "--inverter PROFILE|all is required"
check bad-protocol 2 "$B" validate --battery sim:pylon-xx --inverter all; expect_err bad-protocol "unknown protocol 'pylon-xx'; known: pylon-lv"
check modbus 2 "$B" validate --battery sim:seplos-v3 --inverter all;      expect_err modbus "is a Modbus register map"
check bad-profile 2 "$B" validate --battery sim:pylon-lv --inverter nosuch; expect_err bad-profile "unknown profile 'nosuch'; known: "
check capture 2 "$B" validate --battery "$SRC/share/captures/pylon-lv-sample.log" --inverter all
expect_err capture "a capture file is read by bmslink diagnose"
check bad-fw 2 "$B" validate --battery sim:pylon-lv --inverter generic-pylon-lv --firmware 9.9; expect_err bad-fw "no firmware '9.9'"
check bad-duration 2 "$B" validate --battery sim:pylon-lv --inverter all --duration soon; expect_err bad-duration "bad --duration 'soon'"
check bad-option 2 "$B" validate --battery sim:pylon-lv --inverter all --colour; expect_err bad-option "unknown option '--colour'"
printf 'name: x\nevents:\n  - {at: 1m, event: meteor}\n' > "$T/bad.yaml"
check bad-scenario 2 "$B" validate --battery sim:pylon-lv --inverter all --scenario "$T/bad.yaml"
expect_err bad-scenario "bad.yaml:3: event: unknown kind 'meteor'"
check no-scenario 3 "$B" validate --battery sim:pylon-lv --inverter all --scenario "$T/none.yaml"
check report-dir 3 "$B" validate --battery sim:pylon-lv --inverter all --report "$T/no/such/r.html"
expect_err report-dir "No such file or directory"
printf 'events:\n  - {at: 1m, event: setting, name: dvcc, value: "off"}\n' > "$T/dvcc.yaml"
check setting-other-profile 2 "$B" validate --battery sim:pylon-lv --inverter generic-pylon-lv --scenario "$T/dvcc.yaml"
expect_err setting-other-profile "dvcc.yaml:2: event setting: names a setting or firmware this profile lacks"
check cross-bus 2 "$B" validate --battery sim:pylon-rs485 --inverter victron-gx
expect_err cross-bus "not on the same bus"
check help 0 "$B" validate --help; expect_out help "usage: bmslink validate"

[ "$fails" = 0 ] && echo "validate: all checks passed"
exit "$fails"
