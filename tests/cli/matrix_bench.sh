#!/bin/sh
# Real tests in the matrix (issue #12): `matrix import` judges a capture of battery and inverter
# traffic recorded on a bench with the same checks as a simulated session, offline, and stores it
# as source bench; `matrix add` stores a result typed in by the person who tested (source
# manual). The captures are the closed loop's own bus traffic (simulate --log, candump -L, the
# two directions with their timestamps), one from an obedient pair that must pass and one from
# an inverter that ignores the charge current limit (tests/data/profiles/ignores-ccl.yaml) that
# must fail charge_limits -- judged as what the user says the bench held, generic-pylon-lv. The
# same capture as Vector ASC must be judged the same, and an RS485 (hex485) bench too. Bad input: clear messages, CLI.md exit
# codes, nothing written to the matrix.
set -u
B=${BMSLINK:?run through ctest}
SRC=${BMSLINK_SRC:-.}
SHARED=${BMSLINK_SHARED:-../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
check() { # name expected_rc cmd...
    name=$1 want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL $name: exit $rc, expected $want"; sed 's/^/  stderr: /' "$T/err" | head -5; head -c 800 "$T/out"; fails=$((fails+1))
    fi
}
expect_out() { grep -q -- "$2" "$T/out" || { echo "FAIL $1: stdout lacks '$2'"; head -c 1200 "$T/out"; fails=$((fails+1)); }; }
expect_err() { grep -q -- "$2" "$T/err" || { echo "FAIL $1: stderr lacks '$2'"; head -5 "$T/err"; fails=$((fails+1)); }; }
shape() { /usr/bin/python3 "$SHARED/tools/check-json-shape.py" matrix "$2" || fail "$1: JSON shape (CLI.md)"; }

SCN="$SRC/share/scenarios/validation.yaml"
"$B" simulate --battery pylon-lv --inverter generic-pylon-lv --scenario "$SCN" --log "$T/good.log" >/dev/null \
    || fail "simulate the obedient pair"
"$B" simulate --battery pylon-lv --inverter "$SRC/tests/data/profiles/ignores-ccl.yaml" --scenario "$SCN" \
    --log "$T/bad.log" >/dev/null || fail "simulate the inverter that ignores CCL"
grep -q ' sim0 305#' "$T/good.log" || fail "the capture holds the inverter's frames too"
DB="$T/m.db"

# ---- an obedient bench: every check the capture shows passes; what it cannot show is said ----
check good 0 "$B" matrix import "$T/good.log" --inverter generic-pylon-lv --who anna --notes "bench 2, DVCC on" --db "$DB"
expect_out good "recorded session bench capture good.log, 00:30:00"
expect_out good "PASS  charge_limits    00:03:01  12 limit steps (4 to 0 A) followed"
expect_out good "PASS  discharge_limits"
expect_out good "PASS  protection"
expect_out good "skip  comm_loss  .*not judged: the battery was silent from 00:20:59 past the inverter's timeout"
expect_out good "skip  settings  .*a capture does not show the inverter's settings"
expect_out good "result: PASS"
expect_out good "capture: 9366 battery frames, 1801 inverter frames"
expect_out good "run 1: bench result of BMSLINK against generic-pylon-lv stored in .* (source bench, by anna)"

# ---- the same traffic as Vector ASC (relative timestamps under a date header): the same verdict ----
/usr/bin/python3 - "$T/good.log" "$T/good.asc" <<'PY' || fail "write the ASC capture"
import re, sys
out = ["date Tue Nov 14 22:13:20.000 2023", "base hex  timestamps absolute", "internal events logged",
       "Begin Triggerblock Tue Nov 14 22:13:20.000 2023"]
t0 = None
for line in open(sys.argv[1]):
    m = re.match(r"\((\d+\.\d+)\) \S+ ([0-9A-F]+)#([0-9A-F]*)", line)
    if not m:
        continue
    ts = float(m.group(1)); t0 = ts if t0 is None else t0
    b = [m.group(3)[i:i + 2] for i in range(0, len(m.group(3)), 2)]
    out.append("%11.6f 1  %-15s Rx   d %d %s" % (ts - t0, m.group(2), len(b), " ".join(b)))
out.append("End TriggerBlock")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
check good-asc 0 "$B" matrix import "$T/good.asc" --inverter generic-pylon-lv --battery "ACME 48100" --db "$T/asc.db"
expect_out good-asc "PASS  charge_limits    00:03:01"
expect_out good-asc "run 1: bench result of ACME 48100 against generic-pylon-lv"

# ---- RS485: hex485 lines (the poller's requests and the pack's answers), judged the same way ----
"$B" simulate --battery pylon-rs485 --inverter voltronic-axpert --scenario "$SCN" --log "$T/rs.log" >/dev/null \
    || fail "simulate the RS485 pair"
check rs485 0 "$B" matrix import "$T/rs.log" --inverter voltronic-axpert --db "$T/rs.db"
expect_out rs485 "PASS  charge_limits    00:03:01"
expect_out rs485 "PASS  firmware  .*the inverter reads 1.0.0"
expect_out rs485 "capture: 4683 battery frames, 4971 inverter frames"

# ---- a bench whose inverter ignores the charge current limit: charge_limits fails, with evidence ----
check bad 1 "$B" matrix import "$T/bad.log" --inverter generic-pylon-lv --firmware "v2.07 (bench unit 3)" --who bo \
    --db "$DB"
expect_out bad "FAIL  charge_limits    00:03:01  at 00:03:01 the inverter drove 87.3 A with charge_current_limit_A 44.8 A"
expect_out bad "evidence: 00:03:06 battery 0x351 2802C001E803E001 (charge_current_limit_A 44.8 A)"
expect_out bad "result: FAIL (charge_limits, discharge_limits)"
expect_out bad "run 2: bench result"

# ---- --json: the validate --json object (CLI.md) with mode bench; --report: the charts of the capture ----
check bad-json 1 "$B" matrix import "$T/bad.log" --inverter generic-pylon-lv --json --report "$T/bad.html" --db "$T/j.db"
/usr/bin/python3 "$SHARED/tools/check-json-shape.py" validate "$T/out" || fail "import --json: shape (CLI.md validate)"
/usr/bin/python3 - "$T/out" <<'PY' || fail "import --json content"
import json, sys
d = json.loads(open(sys.argv[1]).read())
c = {x["id"]: x for x in d["checks"]}
assert d["mode"] == "bench" and d["status"] == "fail" and d["matrix_status"] == "fail", d["mode"]
assert c["charge_limits"]["status"] == "fail" and c["charge_limits"]["at_s"] == 181, c["charge_limits"]
assert c["charge_limits"]["evidence"][0]["id"] == "0x351", c["charge_limits"]["evidence"]
assert c["comm_loss"]["status"] == "skip" and c["settings"]["status"] == "skip", (c["comm_loss"], c["settings"])
PY
grep -q '<svg' "$T/bad.html" && grep -q 'recorded session bench capture bad.log' "$T/bad.html" \
    && grep -q 'A bench capture judged offline' "$T/bad.html" || fail "import --report content"

# ---- the matrix says where each row comes from ----
check runs 0 "$B" matrix runs --db "$DB"
expect_out runs "^1 .* finished  *bench  *BMSLINK .*1/0/0/0  by anna"
expect_out runs "^2 .* finished  *bench  *BMSLINK .*0/0/1/0  by bo"
check show 0 "$B" matrix show --db "$DB" --run 1
expect_out show "^-- battery BMSLINK, run 1 (bench, by anna, 2023-11-14T22:13:20Z): bench 2, DVCC on"
expect_out show "^generic-pylon-lv  *CAN 500 kbit/s, pylon-lv  *reference  *pass  *bench "
check show-bad 0 "$B" matrix show --db "$DB"
expect_out show-bad "^generic-pylon-lv  *CAN 500 kbit/s, pylon-lv  *v2.07 (bench uni fail  *bench "

# ---- a result tested by hand: add, show, export round trip ----
check add 0 "$B" matrix add --db "$DB" --inverter "Deye SUN-6K-SG03LP1" --firmware 1.53 --interface can \
    --status partial --who anna --notes "SOC shown; alarms not" --settings "battery_mode = Lithium 00; BMS_Err_Stop = on" \
    --battery BMSLINK --when 2026-11-02T14:30Z
expect_out add "run 3: Deye SUN-6K-SG03LP1, firmware 1.53, CAN: partial (manual, by anna) stored in"
check add-rs485 0 "$B" matrix add --db "$DB" --inverter "Growatt SPF 5000 ES" --firmware 2.1 --interface rs485 \
    --status fail --who bo --notes "no communication at 9600 baud" --battery-protocol pylon-rs485
check show-all 0 "$B" matrix show --db "$DB" --all
expect_out show-all "^Deye SUN-6K-SG03LP1  *CAN  *1.53  *partial  *manual  *-  *battery_mode = Lithium 00; BMS_Err_Stop = on"
expect_out show-all "^Growatt SPF 5000 ES  *RS485  *2.1  *fail  *manual "
expect_out show-all "^generic-pylon-lv .* bench "
check export-json 0 "$B" matrix export --db "$DB" --all --format json
shape export-json "$T/out"
/usr/bin/python3 - "$T/out" <<'PY' || fail "export json: sources, who, notes, settings"
import json, sys
rows = {r["inverter"]: r for r in json.load(open(sys.argv[1]))}
d = rows["Deye SUN-6K-SG03LP1"]
assert (d["source"], d["who"], d["notes"], d["status"]) == ("manual", "anna", "SOC shown; alarms not", "partial"), d
assert d["required_settings"] == ["battery_mode = Lithium 00", "BMS_Err_Stop = on"], d["required_settings"]
assert d["tested_at"] == "2026-11-02T14:30:00Z" and d["interface"] == "CAN" and d["firmware"] == "1.53", d
assert set(d["functions"].values()) == {"untested"}, d["functions"]   # nothing judged by bmslink
g = rows["generic-pylon-lv"]
assert (g["source"], g["who"], g["status"]) == ("bench", "bo", "fail"), g
assert g["functions"]["charge_limits"] == "fail" and g["functions"]["comm_loss"] == "skip", g["functions"]
assert rows["Growatt SPF 5000 ES"]["battery_protocol"] == "pylon-rs485", rows["Growatt SPF 5000 ES"]
PY
check export-csv 0 "$B" matrix export --db "$DB" --all --format csv
/usr/bin/python3 - "$T/out" <<'PY' || fail "export csv: source, who, notes columns"
import csv, sys
rows = {r["inverter"]: r for r in csv.DictReader(open(sys.argv[1], newline=""))}
assert rows["Deye SUN-6K-SG03LP1"]["source"] == "manual" and rows["Deye SUN-6K-SG03LP1"]["notes"] == "SOC shown; alarms not"
assert rows["generic-pylon-lv"]["source"] == "bench" and rows["generic-pylon-lv"]["who"] == "bo"
PY
check export-md 0 "$B" matrix export --db "$DB" --all --format md
expect_out export-md "| partial (manual, anna) |"
check export-html 0 "$B" matrix export --db "$DB" --all --format html
expect_out export-html "manual, anna"
expect_out export-html "SOC shown; alarms not"

# ---- bad input: what and where, CLI.md exit codes, nothing stored ----
before=$("$B" matrix runs --db "$DB" | wc -l)
check unknown-profile 2 "$B" matrix import "$T/good.log" --inverter no-such-inverter --db "$DB"
expect_err unknown-profile "unknown profile 'no-such-inverter'; known: deye-hv-pylon"
printf 'hello world\nfoo bar baz qux\n' > "$T/garbage.log"
check garbage 3 "$B" matrix import "$T/garbage.log" --inverter generic-pylon-lv --db "$DB"
expect_err garbage "garbage.log:1: not a candump, candump -L, ASC, TRC or GVRET CSV line (column 1): line skipped"
expect_err garbage "garbage.log: no CAN frames: none of 2 lines is a CAN frame of a format bmslink reads"
printf 'hello\001\002\003 binary noise\n' > "$T/binary.log"
check binary 3 "$B" matrix import "$T/binary.log" --inverter generic-pylon-lv --db "$DB"
expect_err binary "binary.log: binary data that is not a pcap or pcapng capture"
sed -n 's/^([0-9.]*) sim0 \([0-9A-F]*\)#\(..\)\(..\).*/  sim0  \1   [2]  \2 \3/p' "$T/good.log" | head -50 > "$T/untimed.log"
check untimed 3 "$B" matrix import "$T/untimed.log" --inverter generic-pylon-lv --db "$DB"
expect_err untimed "untimed.log: 50 frames but no timestamps: the judge needs the capture's time"
check other-protocol 2 "$B" matrix import "$T/good.log" --inverter solis-hv --db "$DB"
expect_err other-protocol "good.log: no battery frame that solis-hv reads (byd-hvs); rejected: 11167 unknown_id"
check missing 3 "$B" matrix import "$T/none.log" --inverter generic-pylon-lv --db "$DB"
expect_err missing "none.log: cannot open: No such file or directory"
check all 2 "$B" matrix import "$T/good.log" --inverter all --db "$DB"
expect_err all "names the one inverter on the bench"
check no-capture 2 "$B" matrix import --inverter generic-pylon-lv --db "$DB"
expect_err no-capture "name the CAPTURE file"
check bad-protocol 2 "$B" matrix import "$T/good.log" --inverter generic-pylon-lv --battery-protocol nope --db "$DB"
expect_err bad-protocol "unknown protocol 'nope'; known: pylon-lv"
check add-missing 2 "$B" matrix add --db "$DB" --inverter X --firmware 1 --interface can --status pass --notes n
expect_err add-missing "--who and --notes are required"
check add-iface 2 "$B" matrix add --db "$DB" --inverter X --firmware 1 --interface usb --status pass --who a --notes n
expect_err add-iface "unknown --interface 'usb' (can, rs485)"
check add-status 2 "$B" matrix add --db "$DB" --inverter X --firmware 1 --interface can --status ok --who a --notes n
expect_err add-status "unknown --status 'ok' (pass, partial, fail)"
check add-when 2 "$B" matrix add --db "$DB" --inverter X --firmware 1 --interface can --status pass --who a --notes n --when 2026-13-01
expect_err add-when "bad --when '2026-13-01'"
[ "$("$B" matrix runs --db "$DB" | wc -l)" = "$before" ] || fail "bad input added a run"
[ ! -e "$T/none.db" ] || fail "a db file created on bad input"
# a pause of the recording (timestamps jump 300 days) is judged as an hour of silence, not stepped
# through second by second, and said
{ head -2000 "$T/good.log"; tail -n +2001 "$T/good.log" | awk '{ts=substr($1,2,length($1)-2)+0; printf "(%.6f) %s %s\n", ts+25920000, $2, $3}'; } > "$T/gap.log"
check gap 0 "$B" matrix import "$T/gap.log" --inverter generic-pylon-lv --db "$T/gap.db"
expect_err gap "gap.log: 1 jump of the timestamps over an hour: taken as pauses of the recording"
expect_out gap "PASS  discharge_limits 300d 00:06:01"
# a malformed line inside a good capture is named, counted and skipped; the rest is judged
sed '100s/.*/(1700000002.000000) sim0 351#ZZ/' "$T/good.log" > "$T/one-bad.log"
check one-bad 0 "$B" matrix import "$T/one-bad.log" --inverter generic-pylon-lv --db "$T/one.db"
expect_err one-bad "one-bad.log:100: "
expect_out one-bad "1 malformed lines skipped"

[ "$fails" = 0 ] && echo "matrix bench: all checks passed"
exit "$fails"
