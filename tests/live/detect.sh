#!/bin/sh
# detect as a user meets it.
#   1. a capture of every CAN protocol bmslink knows (made by its encoder, gencapture) is
#      named (or listed among the protocols that decode it exactly as well: the 0x35x
#      family shares its layout), with the protocol's id length and the talkers it holds
#   2. who talks: battery only, inverter only, both
#   3. an slcan adapter on a bus at 250 kbit/s (fake_adapter.py: frames only at the right
#      bitrate, bus errors otherwise) is found at 250000 after 500000 failed
#   4. nothing decodable, nothing at all: exit 3 with a message
set -u
B=${BMSLINK:?run through ctest}
GEN=${BL_GENCAPTURE:?run through ctest}
SHARED=${BMSLINK_SHARED:?run through ctest}
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
jget() { $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }

# 1. every CAN protocol
"$B" protocols --json > "$T/protocols.json" || { bad "protocols --json"; exit 1; }
$PY -c '
import json, sys
for p in json.load(open(sys.argv[1])):
    if p["bus"] == "can": print(p["name"], p["id_bits"])' "$T/protocols.json" > "$T/can.list"
n=0
while read -r name bits; do
  n=$((n + 1))
  f="$T/$(echo "$name" | tr : _).log"
  "$GEN" --protocol "$name" --seconds 30 > "$f" || { bad "gencapture --protocol $name"; continue; }
  "$B" detect --json "$f" > "$T/d.json" 2> "$T/d.err" || { bad "detect $name: $(cat "$T/d.err")"; continue; }
  got=$(jget "$T/d.json" 'd["protocol"]')
  alts=$(jget "$T/d.json" '" ".join(d["equally_fit"])')
  case " $got $alts " in *" $name "*) ;; *) bad "detect on a $name capture named $got (also fit: $alts)"; continue ;; esac
  [ "$(jget "$T/d.json" 'd["id_bits"]')" = "$bits" ] || bad "detect $name: id_bits $(jget "$T/d.json" 'd["id_bits"]'), expected $bits"
  case $(jget "$T/d.json" 'd["talking"]') in battery|both) ;; *) bad "detect $name: talking $(jget "$T/d.json" 'd["talking"]')" ;; esac
  [ "$(jget "$T/d.json" 'd["confidence"]')" != low ] || bad "detect $name: low confidence on the protocol's own traffic"
done < "$T/can.list"
[ $n -gt 0 ] || bad "no CAN protocols listed"
echo "detect: $n CAN protocols named from their own captures"

# 2. who talks (Pylon LV: 0x351..0x35E from the battery, 0x305 from the inverter)
"$GEN" --protocol pylon-lv --seconds 20 > "$T/both.log"
grep -v ' 305#' "$T/both.log" > "$T/battery.log"
grep ' 305#' "$T/both.log" > "$T/inverter.log"
for who in both battery inverter; do
  "$B" detect --json "$T/$who.log" > "$T/d.json" 2> "$T/d.err"
  got=$(jget "$T/d.json" 'd["talking"]')
  [ "$got" = "$who" ] || bad "detect on $who traffic says talking=$got"
done
"$B" detect "$T/both.log" > "$T/d.txt"
grep -q 'inverter  20 frames, ids 0x305, every 1000 ms' "$T/d.txt" || { bad "detect text lacks the inverter's keep-alive"; cat "$T/d.txt"; }
grep -q 'bitrate     unknown: a capture does not carry it; pylon-lv expects 500000 bit/s' "$T/d.txt" || bad "detect text: bitrate line"

# 3. slcan bitrate probing
if command -v socat >/dev/null && $PY -c 'import serial' 2>/dev/null && [ -x "$SHARED/tools/pty-pair.sh" ]; then
  "$SHARED/tools/pty-pair.sh" -- sh -c '
    '"$PY"' "'"$here"'/fake_adapter.py" "$PTY_A" --bitrate 250000 --send "'"$T"'/both.log" --ready "'"$T"'/ready" & p=$!
    while [ ! -e "'"$T"'/ready" ]; do sleep 0.05; done
    "'"$B"'" detect --json --probe 1s "slcan:$PTY_B" > "'"$T"'/probe.json" 2> "'"$T"'/probe.err"; rc=$?
    kill $p; wait $p 2>/dev/null; exit $rc' || bad "detect over slcan: exit $?: $(cat "$T/probe.err")"
  if [ -s "$T/probe.json" ]; then
    [ "$(jget "$T/probe.json" 'd["bitrate"]')" = 250000 ] || bad "probing found $(jget "$T/probe.json" 'd["bitrate"]'), expected 250000"
    [ "$(jget "$T/probe.json" 'd["bitrate_source"]')" = probed ] || bad "bitrate_source"
    [ "$(jget "$T/probe.json" '[(p["bitrate"], p["clean"], p["bus_errors"]) for p in d["bitrate_probes"]]')" = \
      "[(500000, False, True), (250000, True, False)]" ] || bad "probes: $(jget "$T/probe.json" 'd["bitrate_probes"]')"
    [ "$(jget "$T/probe.json" 'd["protocol"]')" = pylon-lv ] || bad "protocol over slcan: $(jget "$T/probe.json" 'd["protocol"]')"
    [ "$(jget "$T/probe.json" 'd["talking"]')" = both ] || bad "talking over slcan"
  fi
else
  echo "skip: slcan probing needs socat and python3-serial"
fi

# 4. nothing to detect
: > "$T/empty.log"
"$B" detect "$T/empty.log" > /dev/null 2> "$T/d.err"; rc=$?
[ $rc = 3 ] && grep -q "no CAN frames" "$T/d.err" || bad "empty capture: exit $rc, $(cat "$T/d.err")"
printf '(1700000000.000000) can0 7E0#0102\n(1700000000.100000) can0 7E8#0304\n' > "$T/odd.log"
"$B" detect "$T/odd.log" > "$T/d.txt" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "protocol    none known" "$T/d.txt" || bad "unknown traffic: exit $rc, $(cat "$T/d.txt")"
"$B" detect > /dev/null 2>&1; [ $? = 2 ] || bad "detect without SOURCE is a usage error"

[ $fails = 0 ] && echo "detect: all checks passed"
exit $((fails > 0))
