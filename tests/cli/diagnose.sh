#!/bin/sh
# bmslink diagnose as a user meets it: usage mistakes (2), unreadable or empty input (3),
# findings (1) or none (0), a pipe on stdin (evidence re-written from the frames), --json
# shape, --report writes one self-contained HTML file (and says so when it cannot).
set -u
B=${BMSLINK:?run through ctest}
SRC=${BMSLINK_SRC:?}
SHARED=${BMSLINK_SHARED:-$SRC/../shared}
C=$SRC/tests/captures
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
expect_err() { grep -q -- "$2" "$T/err" || { echo "FAIL $1: stderr lacks '$2'"; head -5 "$T/err"; fails=$((fails+1)); }; }
expect_out() { grep -q -- "$2" "$T/out" || { echo "FAIL $1: stdout lacks '$2'"; head -c 600 "$T/out"; fails=$((fails+1)); }; }

# ---- usage: 2 ----
check no-source 2 "$B" diagnose;                                  expect_err no-source "no SOURCE"
check two-sources 2 "$B" diagnose a.log b.log;                    expect_err two-sources "one SOURCE at a time"
check bad-option 2 "$B" diagnose --bogus x.log;                   expect_err bad-option "unknown option '--bogus'"
check bad-protocol 2 "$B" diagnose -p pylon-xx x.log;             expect_err bad-protocol "pylon-lv"
check bad-format 2 "$B" diagnose --format blf x.log;              expect_err bad-format "unknown --format 'blf'"
check bad-stale 2 "$B" diagnose --stale 0 x.log;                  expect_err bad-stale "bad --stale"
check bad-capacity 2 "$B" diagnose --capacity -5 x.log;           expect_err bad-capacity "bad --capacity"
check bad-via 2 "$B" diagnose --via daly "$C/healthy-pylon-lv.log"; expect_err bad-via "not a CAN protocol"
check modbus 2 "$B" diagnose -p seplos-v3 "$C/healthy-daly.hex";  expect_err modbus "Modbus register map"
check rs-on-can 2 "$B" diagnose -p daly --format candump "$C/healthy-pylon-lv.log"; expect_err rs-on-can "RS485 protocol"
check rs-on-can-auto 2 "$B" diagnose -p daly "$C/healthy-pylon-lv.log"; expect_err rs-on-can-auto "not an RS485 capture"
check live-serial 2 "$B" diagnose -p daly serial:/dev/ttyUSB9@9600; expect_err live-serial "record the line first"
check help 0 "$B" diagnose --help;                                expect_out help "usage: bmslink diagnose"
check fw-alone 2 "$B" diagnose --firmware "ARM 1.57" x.log;       expect_err fw-alone "variant of the --inverter profile"

# ---- input: 3 ----
check missing 3 "$B" diagnose "$T/nope.log";                      expect_err missing "cannot open"
: > "$T/empty.log"
check empty 3 "$B" diagnose "$T/empty.log";                       expect_err empty "no CAN frames"
printf 'hello\nworld\n' > "$T/text.log"
check text 3 "$B" diagnose --format candump "$T/text.log";        expect_err text "none of 2 lines"
printf 'FF FF 00\n' > "$T/junk.hex"
check rs-undetectable 3 "$B" diagnose "$T/junk.hex";              expect_err rs-undetectable "name the protocol"

# ---- findings: 1, none: 0 ----
check healthy 0 "$B" diagnose "$C/healthy-pylon-lv.log";          expect_out healthy "no problem found"
check gap 1 "$B" diagnose "$C/comm-gap.log";                      expect_out gap "communication_fault (gap)"
expect_out gap "(1718000119.016450) can0 35E#50594C4F4E202020"    # the capture's own line as evidence
check json 1 "$B" diagnose --json "$C/comm-gap.log"
/usr/bin/python3 "$SHARED/tools/check-json-shape.py" diagnose "$T/out" || { echo "FAIL json: shape"; fails=$((fails+1)); }

# a pipe cannot be read twice: evidence is the frame written back as candump -L, same line numbers
check stdin 1 sh -c "cat '$C/comm-gap.log' | '$B' diagnose --json -"
/usr/bin/python3 - "$T/out" "$C/comm-gap.log" <<'PY' || fails=$((fails+1))
import json, sys
o = json.load(open(sys.argv[1])); lines = open(sys.argv[2]).read().splitlines()
ev = [e for f in o["findings"] for e in f["evidence"]]
assert ev, "no evidence"
for e in ev:
    assert e["text"] == lines[e["line"] - 1], "stdin evidence %r != line %d %r" % (e["text"], e["line"], lines[e["line"] - 1])
PY

# --stale longer than the silences: the gaps are no longer faults
check stale-longer 0 "$B" diagnose --stale 60s "$C/comm-gap.log"

# ---- --report ----
check report 1 "$B" diagnose -q --report "$T/r.html" "$C/shutdown-protection.log"
grep -q '<svg id="timeline"' "$T/r.html" || { echo "FAIL report: no timeline chart"; fails=$((fails+1)); }
grep -q 'unexpected_shutdown' "$T/r.html" || { echo "FAIL report: no finding"; fails=$((fails+1)); }
if grep -Eq '(src|href)="(https?:)?//' "$T/r.html"; then echo "FAIL report: loads something from the network"; fails=$((fails+1)); fi
check report-nodir 3 "$B" diagnose -q --report "$T/no/such/dir/r.html" "$C/comm-gap.log"; expect_err report-nodir "cannot write"

[ "$fails" = 0 ] && echo "diagnose CLI: all checks passed"
exit $((fails > 0))
