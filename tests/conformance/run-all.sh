#!/bin/sh
# run-all.sh BMSLINK CONFORM [SHARED]: every conformance case, over the transport that
# ../shared/tools/can-transport.sh chose (it sets BMSLINK_CAN, CAN_PEER,
# CAN_PEER_OPTS, CAN_TRANSPORT, TIME_SCALE). The peer is always can-peer.py
# (python-can); on socketcan can-utils (candump, cangen, canplayer, cansend)
# join in. Paths come as arguments because the VM passes no environment.
#
#   conform        the C suite (tests/conformance/conform.c): echo with id+1 over
#                  11/29-bit, every length, remote frames, a 200-frame burst,
#                  deadlines, refused frames, counters, close/reopen, error frames;
#                  python-can's dump of what arrived must equal what was sent
#   decode-live    python-can plays a capture; bmslink decode --record on the live
#                  bus decodes exactly what it decodes from the file, and the
#                  recording holds exactly the frames that were played
#   socketcan only: the kernel's slcan driver (slcand) on a pty against bmslink's slcan
#                  transport, with the conform suite and netlink's bitrate;
#                  candump sees what bmslink records (same kernel timestamps),
#                  canplayer replays bmslink's recording, an interface going down
#                  ends decode with exit 3 and monitor reconnects, bus-off from
#                  error frames reaches the monitor
set -u
B=${1:?usage: run-all.sh BMSLINK CONFORM [SHARED]}
C=${2:?usage: run-all.sh BMSLINK CONFORM [SHARED]}
here=$(cd "$(dirname "$0")" && pwd)
SHARED=${3:-${BMSLINK_SHARED:-$(cd "$here/../../../shared" 2>/dev/null && pwd)}}
PY=/usr/bin/python3
DATA=$here/data/pylon-lv-30.log
T=$(mktemp -d "${TMPDIR:-/tmp}/conform.XXXXXX")
peer=""
trap '[ -n "$peer" ] && kill $peer 2>/dev/null; rm -rf "$T"' EXIT
: "${CAN_PEER:=}" "${CAN_PEER_OPTS:=}" "${TIME_SCALE:=1}" "${CAN_TRANSPORT:=virtual}" "${BMSLINK_CAN:=virtual:test}"
fails=0 passed=0

t0=$(date +%s)
ok() { echo "ok   $CAN_TRANSPORT: $* ($(( $(date +%s) - t0 )) s)"; passed=$((passed + 1)); }
bad() { echo "FAIL $CAN_TRANSPORT: $*"; fails=$((fails + 1)); }
skip() { echo "skip $CAN_TRANSPORT: $*"; }
secs() { awk "BEGIN { print $1 * $TIME_SCALE }"; }   # a wait for python, scaled for the VM
csecs() { awk "BEGIN { print $1 * ($TIME_SCALE > 1 ? 3 : 1) }"; } # a wait for C programs (3x slower there)

# start can-peer.py with the given options; waits until its port is open
start_peer() {
  rm -f "$T/ready"
  # shellcheck disable=SC2086
  $PY "$SHARED/tools/can-peer.py" "$CAN_PEER" $CAN_PEER_OPTS --ready-file "$T/ready" "$@" 2>"$T/peer.err" &
  peer=$!
  i=0
  while [ ! -e "$T/ready" ]; do
    kill -0 $peer 2>/dev/null || { bad "can-peer.py exited early: $(cat "$T/peer.err")"; peer=""; return 1; }
    i=$((i + 1)); [ $i -le $((3000 * TIME_SCALE)) ] || { bad "can-peer.py not ready"; return 1; }
    sleep 0.01
  done
}
wait_peer() { [ -n "$peer" ] || return 1; wait $peer; r=$?; peer=""; return $r; }

# Frame lists of two candump -L logs compared: python-can's reader on the host (it must read
# bmslink's logs), awk in the VM where importing python-can costs 3 s per run.
same_frames() { # [--same-ts] A B
  if [ "$TIME_SCALE" = 1 ]; then
    if [ "$1" = --same-ts ]; then shift; $PY "$here/same_frames.py" --same-ts 1 "$@"; else $PY "$here/same_frames.py" "$@"; fi
    return
  fi
  ts=0; [ "$1" = --same-ts ] && { ts=1; shift; }
  # can-peer.py dumps a remote frame as "#R", dropping its DLC: compare remote frames without it
  awk -v ts=$ts 'FNR == 1 { f++ }
       { k = $3; if (!ts) sub(/#R[0-9]$/, "#R", k); else k = $1 " " k; if (f == 1) a[++na] = k; else b[++nb] = k }
       END { if (na != nb) { printf "same_frames: %d frames vs %d\n", na, nb; exit 1 }
             for (i = 1; i <= na; i++) if (a[i] != b[i]) { printf "same_frames: frame %d: %s vs %s\n", i, a[i], b[i]; exit 1 }
             printf "same_frames: %d frames identical%s\n", na, ts ? " (timestamps too)" : "" }' "$1" "$2"
}

# One python-can peer serves both cases (it starts in 4 s in the VM): it echoes every data
# frame with id+1, dumps what it receives, and plays the capture once $T/go exists.
case_conform() {
  if [ -z "$CAN_PEER" ]; then
    if "$C" > "$T/conform.out" 2>&1; then ok "conform (in-process peer)"; else bad "conform"; cat "$T/conform.out"; fi
    return
  fi
  start_peer --echo 1 --dump "$T/peer.log" --send "$DATA" --start-when "$T/go" || return
  CONFORM_SENT="$T/sent.log" "$C" > "$T/conform.out" 2>&1; rc=$?
  if [ $rc != 0 ]; then bad "conform"; cat "$T/conform.out" "$T/peer.err"; return; fi
  if same_frames "$T/sent.log" "$T/peer.log" > "$T/cmp.out"; then
    ok "conform; python-can received what bmslink sent: $(cat "$T/cmp.out")"
  else bad "conform: python-can's dump differs from what bmslink sent"; cat "$T/cmp.out"; fi
}

case_decode_live() {
  if [ -z "$CAN_PEER" ]; then skip "decode-live needs an external peer (conform covers virtual in-process)"; return; fi
  [ -n "$peer" ] || { bad "decode-live: no peer"; return; }
  "$B" decode -p pylon-lv --json -q "$DATA" > "$T/want.json"
  "$B" decode -p pylon-lv --count 30 --duration "$(secs 20)s" --json -q --record "$T/rec.log" "$BMSLINK_CAN" \
      > "$T/got.json" 2> "$T/decode.err" & d=$!
  sleep "$(csecs 0.5)"; : > "$T/go"
  wait $d; rc=$?
  kill $peer 2>/dev/null; wait_peer
  if [ $rc != 0 ]; then bad "decode-live: exit $rc: $(cat "$T/decode.err")"; return; fi
  if ! $PY "$here/same_decode.py" "$T/want.json" "$T/got.json" > "$T/cmp.out"; then
    bad "decode-live"; cat "$T/cmp.out"; return
  fi
  if same_frames "$DATA" "$T/rec.log" > "$T/cmp2.out"; then
    ok "decode-live: $(cat "$T/cmp.out"); --record: $(cat "$T/cmp2.out")"
  else bad "decode-live: the recording differs from what was played"; cat "$T/cmp2.out"; fi
}

# can-utils on the same bus: candump and bmslink see the same frames with the same kernel time
case_candump() {
  candump -L -n 100 vcan0 > "$T/cd.log" & c=$!
  "$B" decode -p pylon-lv --count 100 --duration "$(secs 20)s" --summary -q --record "$T/rec.log" socketcan:vcan0 \
      > /dev/null 2> "$T/decode.err" & d=$!
  sleep "$(csecs 0.3)"
  cangen vcan0 -n 40 -g 1; cangen vcan0 -n 40 -g 1 -e; cangen vcan0 -n 20 -g 1 -R
  wait $d; rc=$?; wait $c
  if [ $rc != 0 ]; then bad "candump: bmslink exit $rc: $(cat "$T/decode.err")"; return; fi
  if same_frames --same-ts "$T/cd.log" "$T/rec.log" > "$T/cmp.out"; then
    ok "cangen -> candump and bmslink --record agree, timestamps too: $(cat "$T/cmp.out")"
  else bad "candump vs bmslink --record"; cat "$T/cmp.out"; return; fi
  candump -L -n 100 vcan1 > "$T/cd2.log" & c=$!
  sleep "$(csecs 0.3)"
  canplayer -I "$T/rec.log" vcan1=vcan0; wait $c
  if same_frames "$T/rec.log" "$T/cd2.log" > "$T/cmp.out"; then
    ok "canplayer replays bmslink's recording: $(cat "$T/cmp.out")"
  else bad "canplayer replay of bmslink's recording"; cat "$T/cmp.out"; fi
}

# An interface that goes down: decode stops with exit 3 and says why; monitor waits and reconnects;
# error frames from the bus (cansend with the error flag, as a controller would deliver them) show bus-off.
case_link_down() {
  "$B" decode -p pylon-lv -q --json socketcan:vcan1 > /dev/null 2> "$T/down.err" & d=$!
  sleep "$(csecs 0.3)"; ip link set vcan1 down
  wait $d; rc=$?
  ip link set vcan1 up
  if [ $rc = 3 ] && grep -q "vcan1 went down" "$T/down.err"; then ok "decode: interface down -> exit 3: $(head -1 "$T/down.err")"
  else bad "decode on an interface going down: exit $rc, stderr: $(cat "$T/down.err")"; fi

  "$B" monitor -p pylon-lv --json --interval 100ms socketcan:vcan1 > "$T/mon.json" 2> "$T/mon.err" & m=$!
  sleep "$(csecs 0.3)"; ip link set vcan1 down; sleep "$(csecs 0.3)"; ip link set vcan1 up; sleep "$(csecs 1.5)"
  cansend vcan1 355#4C006300; sleep "$(csecs 0.2)"
  cansend vcan1 20000040#0000000000000000; sleep "$(csecs 0.3)"
  cansend vcan1 20000100#0000000000000000; sleep "$(csecs 0.3)"
  kill -INT $m; wait $m; rc=$?
  if $PY - "$T/mon.json" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
def first(pred, start=0):
    for i in range(start, len(lines)):
        if pred(lines[i]): return i
    sys.exit("monitor: no update where %s" % pred.__doc__)
def down(o): "the link is down"; return o["link"] == "down"
def back(o): "the link is up again with soc 76"; return o["link"] == "up" and o["record"].get("soc_pct") == 76
def off(o): "bus-off"; return o["bus_state"] == "bus-off"
def on(o): "error-active after the restart"; return o["bus_state"] == "error-active"
i = first(down); i = first(back, i); i = first(off, i); first(on, i)
EOF
  then
    if [ $rc = 0 ] && grep -q "1 reconnects" "$T/mon.err"; then ok "monitor: link down, reconnect, bus-off and restart shown; Ctrl-C exit 0"
    else bad "monitor after Ctrl-C: exit $rc, stderr: $(cat "$T/mon.err")"; fi
  else bad "monitor on a link going down"; tail -3 "$T/mon.json" | cut -c1-300; cat "$T/mon.err"; fi
}

# The kernel's slcan driver as a peer we did not write: slcand puts slcan0 on one end of a pty,
# bmslink's slcan transport is on the other, python-can echoes on slcan0 through SocketCAN.
# The conform suite runs over that path, and bmslink reads slcan0's bitrate from netlink.
case_kernel_slcan() {
  command -v slcand >/dev/null || { skip "kernel slcan: slcand (can-utils) not installed"; return; }
  cat > "$T/kslcan.sh" <<'KS'
set -u
dev=$(readlink -f "$PTY_A" | sed s,^/dev/,,)
slcand -o -c "$dev" slcan0 || exit 10
i=0; while ! ip link show slcan0 >/dev/null 2>&1; do i=$((i + 1)); [ $i -le 100 ] || exit 11; sleep 0.05; done
ip link set slcan0 type can bitrate 250000 && ip link set slcan0 txqueuelen 1000 && ip link set slcan0 up || exit 12
"$B" detect --json --duration 1s socketcan:slcan0 > "$T/kdet.json" 2> "$T/kdet.err" & d=$!
sleep 0.3; cansend slcan0 35E#50594C4F4E202020; cansend slcan0 351#1402E803B004D601; cansend slcan0 355#4C006300
wait $d
CAN_PEER=socketcan:slcan0
rm -f "$T/kready"
$PY "$SHARED/tools/can-peer.py" socketcan:slcan0 --echo 1 --dump "$T/kpeer.log" --ready-file "$T/kready" 2>"$T/kpeer.err" & p=$!
while [ ! -e "$T/kready" ]; do kill -0 $p 2>/dev/null || exit 13; sleep 0.05; done
BMSLINK_CAN="slcan:$PTY_B@250000" CAN_PEER=socketcan:slcan0 CONFORM_SENT="$T/ksent.log" "$C" > "$T/kconform.out" 2>&1; rc=$?
kill $p; wait $p
exit $rc
KS
  B=$B C=$C T=$T PY=$PY SHARED=$SHARED "$SHARED/tools/pty-pair.sh" -- sh "$T/kslcan.sh"; rc=$?
  if [ $rc != 0 ]; then bad "kernel slcan: exit $rc"; cat "$T/kconform.out" "$T/kpeer.err" "$T/kdet.err" 2>/dev/null | tail -20; return; fi
  if ! grep -q '"bitrate":250000,"bitrate_source":"interface"' "$T/kdet.json"; then
    bad "kernel slcan: detect did not read the bitrate from netlink: $(cut -c1-300 "$T/kdet.json")"; return
  fi
  if same_frames "$T/ksent.log" "$T/kpeer.log" > "$T/cmp.out"; then
    ok "kernel slcan driver <-> bmslink slcan: conform passes, the kernel delivered what bmslink sent ($(cat "$T/cmp.out")); netlink bitrate 250000"
  else bad "kernel slcan: what reached slcan0 differs from what bmslink sent"; cat "$T/cmp.out"; fi
}

case_conform
case_decode_live
if [ "$CAN_TRANSPORT" = socketcan ]; then
  case_candump
  case_link_down
  case_kernel_slcan
fi
echo "$CAN_TRANSPORT: $passed passed, $fails failed"
[ $fails = 0 ]
