#!/bin/sh
# monitor as a user sees it: bmslink monitor runs in a tmux pane on an slcan pty whose far
# end is python-can playing the USB adapter; the test reads the screen (tmux capture-pane).
#   1. the values of the frames that were played are on screen, with units and ages
#   2. the protection alarm in the frames is shown
#   3. after --stale 2s without frames every field is marked STALE and the limits line says
#      a translator must send the safe state
#   4. Ctrl-C ends it with exit 0 and the counters on stderr
set -u
B=${BMSLINK:?run through ctest}
SHARED=${BMSLINK_SHARED:?run through ctest}
command -v tmux >/dev/null || { echo "skip: tmux not installed (scripts/deps.sh --test)"; exit 77; }
command -v socat >/dev/null || { echo "skip: socat not installed"; exit 77; }
/usr/bin/python3 -c 'import can' 2>/dev/null || { echo "skip: python3-can not installed"; exit 77; }
[ -x "$SHARED/tools/slcan-pty.sh" ] || { echo "skip: $SHARED/tools/slcan-pty.sh not found"; exit 77; }
T=$(mktemp -d)
SOCK="blmon-$$"
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$T"' EXIT

# Pylon LV V1.2 frames (can-pylon-lv.md §3): 0x351 53.2 V / 100.0 A / 120.0 A / 47.0 V;
# 0x355 76 % / 99 %; 0x356 52.37 V, -12.5 A, 23.4 C; 0x359 byte 0 bit 1 = protection
# cell/module over-voltage; 0x35C charge+discharge enable; 0x35E "PYLON".
i=0
while [ $i -lt 3 ]; do
  for f in 351#1402E803B004D601 355#4C006300 356#751483FFEA00 359#0200000002504E 35C#C000 35E#50594C4F4E202020; do
    echo "(1700000000.$((i * 2))00000) can0 $f"
  done
  i=$((i + 1))
done > "$T/feed.log"

cat > "$T/run.sh" <<'RUN'
#!/bin/sh
# inside slcan-pty.sh: $SLCAN_TTY is our end of the pty, the peer plays the adapter
tmux -L "$SOCK" new-session -d -s mon -x 110 -y 60 \
  "$B monitor -p pylon-lv --stale 2s --interval 100ms slcan:$SLCAN_TTY@500000 2>$T/stderr; echo EXIT=\$? >> $T/stderr"
tmux -L "$SOCK" set-option -t mon remain-on-exit on >/dev/null
screen() { tmux -L "$SOCK" capture-pane -p -t mon > "$T/screen"; }
waitfor() { # pattern seconds: poll the screen
  n=0
  while [ $n -lt $(($2 * 10)) ]; do
    screen; grep -q -- "$1" "$T/screen" && return 0
    sleep 0.1; n=$((n + 1))
  done
  echo "FAIL: '$1' not on screen after $2 s; the screen:"; cat "$T/screen"; return 1
}
fails=0
check() { grep -q -- "$1" "$T/screen" || { echo "FAIL: screen lacks '$1'"; fails=$((fails + 1)); }; }
waitfor 'soc_pct *76 %' 10 || exit 1
check 'pylon-lv'
check 'voltage_V  *52.37 V  *[0-9.]* s'
check 'current_A  *-12.5 A'
check 'temperature_C  *23.4 C'
check 'charge_voltage_limit_V  *53.2 V'
check 'discharge_current_limit_A  *120.0 A'
check 'manufacturer  *PYLON'
check 'protections  *! cell_over_voltage pack_over_voltage'
check 'bus error-active'
check '0x351 '
check 'limits  *fresh'
echo "--- while fresh:"; sed -n '1,30p' "$T/screen"
waitfor 'voltage_V .* STALE' 8 || exit 1
check 'soc_pct .* STALE'
check 'charge_current_limit_A .* STALE'
check 'MISSING OR STALE'
echo "--- after 2 s of silence:"; sed -n '4,25p' "$T/screen"
tmux -L "$SOCK" send-keys -t mon C-c
n=0; while ! grep -q EXIT= "$T/stderr" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
grep -q 'EXIT=0' "$T/stderr" || { echo "FAIL: Ctrl-C exit: $(cat "$T/stderr")"; fails=$((fails + 1)); }
grep -q '18 frames received' "$T/stderr" || { echo "FAIL: counters after Ctrl-C: $(cat "$T/stderr")"; fails=$((fails + 1)); }
[ $fails = 0 ] && echo "monitor under tmux: values, alarm, STALE after the timeout, Ctrl-C: all shown"
exit $((fails > 0))
RUN
export B T SOCK
"$SHARED/tools/slcan-pty.sh" --adapter --send "$T/feed.log" -- sh "$T/run.sh"
