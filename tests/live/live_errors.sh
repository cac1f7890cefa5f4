#!/bin/sh
# Live sources gone wrong, as a user meets them: every case ends with a message naming the
# source and the cause, and the CLI.md exit code (2 usage, 3 I/O) — or keeps running and says so.
#   missing device, not a serial port, bad bitrate, no SocketCAN / no such interface,
#   device busy (another program holds the lock), adapter answering BEL, garbage on the line,
#   the pty closing mid-stream (exit 3, recording flushed), a silent bus (a note, no hang),
#   Ctrl-C (exit 0, counters, recording flushed), monitor on a missing device
set -u
B=${BMSLINK:?run through ctest}
SHARED=${BMSLINK_SHARED:?run through ctest}
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
PAIR=$SHARED/tools/pty-pair.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
# expect NAME RC PATTERN CMD...: exit code and a stderr line
expect() {
  name=$1 want=$2 pat=$3; shift 3
  "$@" > "$T/out" 2> "$T/err"; rc=$?
  if [ "$rc" != "$want" ]; then bad "$name: exit $rc, expected $want; stderr: $(head -3 "$T/err")"; return; fi
  grep -q -- "$pat" "$T/err" || bad "$name: stderr lacks '$pat': $(head -3 "$T/err")"
}

expect missing-device 3 "slcan:/dev/ttyNOPE9@500000: cannot open: /dev/ttyNOPE9: No such file or directory (is the adapter plugged in" \
  "$B" decode -p pylon-lv slcan:/dev/ttyNOPE9@500000
expect not-a-tty 3 "/dev/null: Inappropriate ioctl for device (not a serial port)" "$B" decode -p pylon-lv slcan:/dev/null
expect bad-bitrate 2 "slcan bitrates are 10000, 20000" "$B" decode -p pylon-lv slcan:/dev/ttyACM0@600000
expect bad-option 2 "unknown slcan option" "$B" monitor slcan:/dev/ttyACM0@500000,fast
expect bad-iface 2 "an interface name has no" "$B" decode -p pylon-lv socketcan:can/0
"$B" decode -p pylon-lv socketcan:can9 > /dev/null 2> "$T/err"; rc=$?
if [ $rc != 3 ] || ! grep -Eq "socketcan:can9: cannot open: (can9: this kernel has no SocketCAN|no interface 'can9')" "$T/err"; then
  bad "socketcan without the interface: exit $rc: $(cat "$T/err")"
fi
expect bad-virtual 2 "a bus name has only" "$B" decode -p pylon-lv "virtual:a b"
expect monitor-missing 3 "cannot open: /dev/ttyNOPE9" "$B" monitor slcan:/dev/ttyNOPE9
expect detect-missing 3 "cannot open: /dev/ttyNOPE9" "$B" detect slcan:/dev/ttyNOPE9
expect record-unwritable 3 "record /nonexistent/x.log: cannot open: No such file" \
  "$B" decode -p pylon-lv --record /nonexistent/x.log slcan:/dev/ttyNOPE9

command -v socat >/dev/null && $PY -c 'import serial' 2>/dev/null && [ -x "$PAIR" ] ||
  { echo "skip: pty cases need socat, python3-serial and $PAIR"; exit $((fails > 0)); }
export B T PY here

# busy: another program holds the adapter (flock, as pyserial's exclusive=True does)
"$PAIR" -- sh -c '
  flock "$PTY_B" sleep 3 & h=$!; sleep 0.3
  "$B" decode -p pylon-lv "slcan:$PTY_B" > /dev/null 2> "$T/err"; echo $? > "$T/rc"; kill $h' 2>/dev/null
[ "$(cat "$T/rc")" = 3 ] && grep -q "device busy: another program has it open" "$T/err" || bad "busy: exit $(cat "$T/rc"): $(cat "$T/err")"

# an adapter that answers BEL to everything: the bitrate command fails, exit 3
"$PAIR" -- sh -c '
  $PY "$here/fake_adapter.py" "$PTY_A" --bel --ready "$T/ready" & p=$!
  while [ ! -e "$T/ready" ]; do sleep 0.05; done
  "$B" decode -p pylon-lv "slcan:$PTY_B@250000" > /dev/null 2> "$T/err"; echo $? > "$T/rc"; kill $p'
[ "$(cat "$T/rc")" = 3 ] && grep -q "adapter refused S5 (250000 bit/s) with BEL" "$T/err" || bad "BEL: exit $(cat "$T/rc"): $(cat "$T/err")"

# garbage on the line between good frames: each bad line is reported with its place, the good ones decode
"$PAIR" -- sh -c '
  "$B" decode -p pylon-lv --count 2 --duration 10s --json "slcan:$PTY_B" > "$T/out" 2> "$T/err" & d=$!
  sleep 1.2   # nobody answers C, S6, O: 3 x 300 ms, then listening
  printf "t35544C006300\rgarbage\r\001\377\376\rt35S\rt35644C006300\r" > "$PTY_A"
  wait $d; echo $? > "$T/rc"'
[ "$(cat "$T/rc")" = 0 ] || bad "garbage: exit $(cat "$T/rc"): $(cat "$T/err")"
grep -q '"soc_pct":76' "$T/out" || bad "garbage: the good frame around it did not decode: $(cat "$T/out")"
grep -q 'no answer to C, S6, O: not a Lawicel adapter' "$T/err" || bad "garbage: no note about the silent adapter"
grep -q ':2: not an slcan frame or adapter reply (column 1)' "$T/err" || bad "garbage: line 2 not reported: $(cat "$T/err")"
grep -q ':3: control or non-ASCII byte (column 1)' "$T/err" || bad "garbage: binary line not reported: $(cat "$T/err")"
grep -q ':4: frame line shorter than' "$T/err" || bad "garbage: short frame not reported: $(cat "$T/err")"
grep -q '3 malformed (malformed_line 3)' "$T/err" || bad "garbage: counters: $(cat "$T/err")"

# the pty closes mid-stream: exit 3 naming the device, the recording keeps what came before
"$PAIR" -- sh -c '
  "$B" decode -p pylon-lv --json --record "$T/rec.log" "slcan:$PTY_B" > "$T/out" 2> "$T/err" & d=$!
  sleep 1.2; printf "t35544C006300\r" > "$PTY_A"; sleep 0.3
  kill "$(cat "$(dirname "$PTY_A")/socat.pid")"
  wait $d; echo $? > "$T/rc"'
[ "$(cat "$T/rc")" = 3 ] || bad "pty closed: exit $(cat "$T/rc"): $(cat "$T/err")"
grep -q "went away (Input/output error): adapter unplugged or the other end closed" "$T/err" || bad "pty closed: message: $(cat "$T/err")"
grep -q ' slcan0 355#4C006300$' "$T/rec.log" || bad "pty closed: the recording lost the frame: $(cat "$T/rec.log")"

# a silent bus is reported, never a silent hang; Ctrl-C stops cleanly with counters and a flushed recording
"$PAIR" -- sh -c '
  "$B" decode -p pylon-lv --json --record "$T/rec2.log" "slcan:$PTY_B" > "$T/out" 2> "$T/err" & d=$!
  sleep 1.2; printf "t35544C006300\r" > "$PTY_A"
  sleep 5.5; kill -INT $d; wait $d; echo $? > "$T/rc"'
[ "$(cat "$T/rc")" = 0 ] || bad "Ctrl-C: exit $(cat "$T/rc"): $(cat "$T/err")"
grep -q "no frames for 5 s (bus idle, wrong bitrate, or not connected?)" "$T/err" || bad "silence: no note: $(cat "$T/err")"
grep -q "1 frames received, 0 sent" "$T/err" || bad "Ctrl-C: no counters: $(cat "$T/err")"
grep -q '"soc_pct":76' "$T/out" || bad "Ctrl-C: output not flushed"
[ "$(wc -l < "$T/rec2.log")" = 1 ] || bad "Ctrl-C: recording not flushed: $(cat "$T/rec2.log")"

[ $fails = 0 ] && echo "live sources: every bad input gets a message and the right exit code"
exit $((fails > 0))
