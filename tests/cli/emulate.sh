#!/bin/sh
# emulate battery / inverter on a real slcan line: python-can plays the USB adapter on a pty
# pair (../shared/tools/slcan-pty.sh) and dumps or sends the traffic, so what bmslink puts on
# the bus is read by code we did not write. Skips (77) when socat or python3-can is missing.
set -u
B=${BMSLINK:?run through ctest}
SHARED=${BMSLINK_SHARED:-../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v socat >/dev/null || { echo "socat not installed"; exit 77; }
/usr/bin/python3 -c 'import can' 2>/dev/null || { echo "python3-can not installed"; exit 77; }
PTY="$SHARED/tools/slcan-pty.sh"
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }

# 1. the battery role broadcasts Pylon LV; python-can's dump decodes to the simulated pack
"$PTY" --adapter --dump "$T/rx1.log" -- sh -c "\"$B\" emulate battery -p pylon-lv --on \"slcan:\$SLCAN_TTY@500000\" --duration 2500ms" \
    > "$T/out1" 2>&1 || fail "emulate battery pylon-lv: $(cat "$T/out1")"
"$B" decode -p pylon-lv --summary "$T/rx1.log" > "$T/sum1.json" 2>/dev/null
/usr/bin/python3 - "$T/sum1.json" <<'PY' || fail "pylon-lv frames as python-can dumped them"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["record"]
assert d["frames"] >= 12 and d["errors"] == 0, d
assert r["soc_pct"] == 50 and r["charge_voltage_limit_V"] == 55.2 and r["charge_current_limit_A"] == 100.0, r
assert 52.0 < r["voltage_V"] < 53.5 and r["manufacturer"] == "BMSLINK", r
PY

# 2. SolaX: the battery stays silent until polled, then answers with data and the announce frame
"$PTY" --adapter --dump "$T/rx2.log" -- sh -c "\"$B\" emulate battery -p solax --on \"slcan:\$SLCAN_TTY@500000\" --duration 1500ms" \
    > "$T/out2" 2>&1 || fail "emulate battery solax (silent): $(cat "$T/out2")"
[ -s "$T/rx2.log" ] && fail "solax battery spoke before the inverter: $(head -2 "$T/rx2.log")"
for i in 0 1 2; do printf '(170000000%d.000000) can0 00001871#0100010000000000\n' "$i"; done > "$T/polls.log"
"$PTY" --adapter --send "$T/polls.log" --dump "$T/rx3.log" -- \
    sh -c "\"$B\" emulate battery -p solax --on \"slcan:\$SLCAN_TTY@500000\" --duration 3500ms --json" \
    > "$T/out3" 2>&1 || fail "emulate battery solax (polled): $(cat "$T/out3")"
grep -q '00001873#' "$T/rx3.log" && grep -q '0100A001#' "$T/rx3.log" || fail "solax answers: $(head -3 "$T/rx3.log")"
grep -q '"requests":3' "$T/out3" || fail "solax requests counted: $(tail -1 "$T/out3")"

# 3. the inverter role: python-can plays a simulated battery's log; the emulated inverter detects
#    it, runs, and keeps its 0x305 keep-alive going
"$B" simulate --battery pylon-lv --inverter generic-pylon-lv --duration 4s --log "$T/sim.log" > /dev/null
grep -v ' 305#' "$T/sim.log" > "$T/bat.log"
"$PTY" --adapter --send "$T/bat.log" --dump "$T/rx4.log" -- \
    sh -c "\"$B\" emulate inverter --profile generic-pylon-lv --on \"slcan:\$SLCAN_TTY@500000\" --duration 3s --json" \
    > "$T/out4" 2>&1 || fail "emulate inverter: $(cat "$T/out4")"
/usr/bin/python3 - "$T/out4" <<'PY' || fail "emulate inverter JSON"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
s = lines[-1]
assert s["summary"] == "emulate inverter" and s["battery_detected"] and s["state"] == "running", s
assert s["battery"]["soc_pct"] == 50 and s["decoded"] >= 12, s
assert any(l.get("kind") == "battery_detected" for l in lines[:-1]), lines
PY
[ "$(grep -c ' 305#0000000000000000' "$T/rx4.log")" -ge 2 ] || fail "0x305 keep-alives: $(cat "$T/rx4.log")"

# 4. a scenario's comm loss silences the battery on the bus for its window
printf 'events:\n  - {at: 1s, for: 2s, event: comm_loss}\n' > "$T/loss.yaml"
"$PTY" --adapter --dump "$T/rx5.log" -- \
    sh -c "\"$B\" emulate battery -p pylon-lv --on \"slcan:\$SLCAN_TTY@500000\" --scenario \"$T/loss.yaml\" --duration 4500ms" \
    > "$T/out5" 2>&1 || fail "emulate with comm loss: $(cat "$T/out5")"
n=$(grep -c ' 351#' "$T/rx5.log")
[ "$n" -ge 2 ] && [ "$n" -le 3 ] || fail "comm loss: $n frames of 0x351 in 4.5 s, expected 2-3 (0 s, then 3 s, 4 s)"

# 5. RS485: the inverter role (voltronic-axpert) polls the RS485 battery role on a pty pair
"$SHARED/tools/pty-pair.sh" -- sh -c "\"$B\" emulate battery -p pylon-rs485 --on \"serial:\$PTY_A@9600#2\" --duration 4s 2>/dev/null &
    \"$B\" emulate inverter --profile voltronic-axpert --on \"serial:\$PTY_B@9600\" --duration 3s --json --record \"$T/rs.rec\"; wait" \
    > "$T/out6" 2>&1 || fail "emulate inverter on RS485: $(cat "$T/out6")"
/usr/bin/python3 - "$T/out6" <<'PY' || fail "RS485 inverter JSON"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]
assert s["summary"] == "emulate inverter" and s["battery_detected"] and s["state"] == "running", s
assert s["decoded"] >= 6 and s["battery"]["charge_voltage_limit_V"] == 55.2, s
PY
"$B" decode --format hex485 -p pylon-rs485 --summary "$T/rs.rec" > "$T/rs.json" 2>/dev/null
grep -q '"errors":0' "$T/rs.json" || fail "RS485 recording decodes: $(head -c 300 "$T/rs.json")"

# 6. usage and input errors
"$B" emulate battery -p pylon-lv --on "$T/rx1.log" > /dev/null 2> "$T/err"; rc=$?
[ "$rc" = 2 ] && grep -q "a capture file cannot be a bus" "$T/err" || fail "capture file as a bus: exit $rc $(cat "$T/err")"
"$B" emulate inverter --profile nope --on virtual:x > /dev/null 2> "$T/err"; rc=$?
[ "$rc" = 2 ] && grep -q "unknown profile 'nope'" "$T/err" || fail "unknown profile: exit $rc $(cat "$T/err")"
"$B" emulate inverter --profile deye-sunsynk-lv --firmware 9 --on virtual:x > /dev/null 2> "$T/err"; rc=$?
[ "$rc" = 2 ] && grep -q "has no firmware '9'" "$T/err" || fail "unknown firmware: exit $rc $(cat "$T/err")"
printf 'battery: {cells: 97}\n' > "$T/bad.yaml"
"$B" emulate battery -p pylon-lv --scenario "$T/bad.yaml" --duration 1s --on virtual:x > /dev/null 2> "$T/err"; rc=$?
[ "$rc" = 2 ] && grep -q "bad.yaml:1: battery: cells" "$T/err" || fail "bad battery: exit $rc $(cat "$T/err")"

[ "$fails" = 0 ] && echo "emulate: all checks passed"
exit "$fails"
