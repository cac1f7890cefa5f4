#!/bin/sh
# validate on a live bus in real time: python-can plays the slcan USB adapter on a pty pair
# (../shared/tools/slcan-pty.sh) and sends a battery's traffic -- a simulated Pylon LV pack
# with 12 s of silence in the middle -- while bmslink plays the inverter (the emulate
# inverter role) and judges what happens: the battery detected, its values shown, the
# silence seen and the inverter in its safe state within its 10 s timeout. Skips (77)
# without socat or python3-can.
set -u
B=${BMSLINK:?run through ctest}
SHARED=${BMSLINK_SHARED:-../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v socat >/dev/null || { echo "socat not installed"; exit 77; }
/usr/bin/python3 -c 'import can' 2>/dev/null || { echo "python3-can not installed"; exit 77; }
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }

printf 'name: live\nstart: "12:00"\nduration: 20s\nevents:\n  - {at: "12:00:05", for: 12s, event: comm_loss}\n' > "$T/loss.yaml"
"$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$T/loss.yaml" --log "$T/sim.log" > /dev/null \
    || { echo "FAIL simulate"; exit 1; }
grep -v ' 305#' "$T/sim.log" > "$T/battery.log" # the battery's frames only: we are the inverter
"$SHARED/tools/slcan-pty.sh" --adapter --send "$T/battery.log" -- \
    sh -c "\"$B\" validate --battery \"slcan:\$SLCAN_TTY@500000\" --inverter generic-pylon-lv --duration 19s --json" \
    > "$T/out" 2> "$T/err"
rc=$?
[ "$rc" = 0 ] || fail "validate on slcan: exit $rc: $(cat "$T/err" | tail -3) $(head -c 600 "$T/out")"
/usr/bin/python3 "$SHARED/tools/check-json-shape.py" validate "$T/out" || fail "JSON shape"
/usr/bin/python3 - "$T/out" <<'PY' || fail "live verdicts"
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["mode"] == "live" and d["status"] == "pass", d
c = {x["id"]: x for x in d["checks"]}
assert c["detect"]["status"] == "pass" and c["detect"]["at_s"] <= 3, c["detect"]
for k in ("soc", "voltage", "current", "temperature"):
    assert c[k]["status"] == "pass", c[k]
# the silence began with the last frame at ~5 s; the inverter stands by 10 s later
assert c["comm_loss"]["status"] == "pass", c["comm_loss"]
assert 12 <= c["comm_loss"]["at_s"] <= 18, c["comm_loss"]
assert "silence from 00:00:0" in c["comm_loss"]["observed"], c["comm_loss"]["observed"]
# a battery at rest proves nothing about its limits: said, not passed
assert c["charge_limits"]["status"] == "skip", c["charge_limits"]
PY

[ "$fails" = 0 ] && echo "validate live: detect, values and comm loss judged on a real slcan line"
exit "$fails"
