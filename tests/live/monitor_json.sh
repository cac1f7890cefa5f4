#!/bin/sh
# monitor --json, deterministic: a capture replays on its own clock, one update per --interval
# of capture time, so ages, staleness and the safe state can be checked without sleeping.
# Then full load: 200 000 frames through a pipe are all counted and decoded.
set -u
B=${BMSLINK:?run through ctest}
GEN=${BL_GENCAPTURE:?run through ctest}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

# 20 s of a Pylon LV pack, then 40 s of silence but for the inverter's keep-alive, then one 0x355.
"$GEN" --protocol pylon-lv --seconds 20 > "$T/cap.log"
awk 'END { for (s = 20; s < 60; s++) printf "(%d.500000) can0 305#0000000000000000\n", 1700000000 + s
           printf "(1700000060.000000) can0 355#4C006300\n" }' /dev/null >> "$T/cap.log"
"$B" monitor --json --interval 5s "$T/cap.log" > "$T/mon.json" 2> "$T/mon.err" || bad "monitor on a capture: exit $?: $(cat "$T/mon.err")"
$PY - "$T/mon.json" <<'PYEOF' || fails=$((fails + 1))
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
bad = []
def want(cond, what):
    if not cond: bad.append(what)
# updates every 5 s of capture time from the first frame (t0 + 5 ... t0 + 60), and the final one
want(len(lines) == 13, "13 updates, got %d" % len(lines))
at = {round(l["ts"] - 1700000000): l for l in lines}
u15, u35, last = at.get(15), at.get(35), lines[-1]
want(u15 is not None and u35 is not None, "updates at 15 s and 35 s of capture time: %s" % sorted(at))
if u15 and u35:
    want(u15["protocol"] == "pylon-lv" and u15["detected"], "protocol detected by 15 s")
    want(u15["stale"] == [] and u15["safe_state"] is False, "fresh at 15 s: %s" % u15["stale"])
    want(abs(u15["age_s"]["voltage_V"] - 0.996) < 0.01, "voltage 0.996 s old at 15 s: %s" % u15["age_s"]["voltage_V"])
    want(u35["age_s"]["voltage_V"] > 15 and "voltage_V" in u35["stale"], "voltage stale at 35 s (10 s timeout)")
    want(u35["safe_state"] is True, "limits stale at 35 s: an encoder must send the safe state")
    want(u35["ids"]["0x305"]["age_s"] < 1, "the keep-alive stays fresh")
    want(abs(u35["ids"]["0x305"]["rate"] - 1.0) < 0.01, "0x305 at 1.0/s: %s" % u35["ids"]["0x305"]["rate"])
want(last["record"]["soc_pct"] == 76 and "soc_pct" not in last["stale"], "the last 0x355 is fresh: 76 %")
want("voltage_V" in last["stale"], "voltage still stale at the end")
want(last["frames"] == 20 * 7 + 40 + 1, "frames counted: %d" % last["frames"])
for b in bad: print("FAIL monitor json: " + b)
sys.exit(1 if bad else 0)
PYEOF

# full load: a pipe is a live source; every frame is counted and decoded, and it ends at EOF
"$GEN" --frames 200000 > "$T/big.log"
start=$(date +%s)
cat "$T/big.log" | "$B" monitor -p pylon-lv --json --interval 200ms - > "$T/load.json" 2> "$T/load.err"; rc=$?
secs=$(( $(date +%s) - start ))
[ $rc = 0 ] || bad "monitor on a pipe: exit $rc: $(cat "$T/load.err")"
tail -1 "$T/load.json" | $PY -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["frames"] == 200000 and d["decoded"] == 200000 and d["dropped"] == 0 else "frames %d decoded %d" % (d["frames"], d["decoded"]))' \
  || bad "monitor at full load lost frames"
[ $secs -le 10 ] || bad "monitor took $secs s for 200 000 frames"
grep -q "200000 frames received" "$T/load.err" || bad "counters at the end of the pipe: $(cat "$T/load.err")"

[ $fails = 0 ] && echo "monitor --json: capture clock, ages, staleness, safe state, 200 000 frames through a pipe in ${secs} s"
exit $((fails > 0))
