#!/bin/sh
# The compatibility matrix as a real SQLite file, read by a peer we did not write (the
# sqlite3 shell): matrix run/show/export/diff/runs/reference, the CLI.md JSON shape,
# migrations from a schema-1 file, a file from a newer bmslink refused, and a matrix run
# killed with SIGKILL half-way: the file passes PRAGMA integrity_check and keeps every
# result committed before the kill. Skips (77) without the sqlite3 shell.
set -u
B=${BMSLINK:?run through ctest}
SRC=${BMSLINK_SRC:-.}
SHARED=${BMSLINK_SHARED:-../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v sqlite3 >/dev/null || { echo "sqlite3 shell not installed (apt-get install sqlite3)"; exit 77; }
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
check() { # name expected_rc cmd...
    name=$1 want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL $name: exit $rc, expected $want"; sed 's/^/  stderr: /' "$T/err" | head -5; head -c 600 "$T/out"; fails=$((fails+1))
    fi
}
expect_out() { grep -q -- "$2" "$T/out" || { echo "FAIL $1: stdout lacks '$2'"; head -c 800 "$T/out"; fails=$((fails+1)); }; }
expect_err() { grep -q -- "$2" "$T/err" || { echo "FAIL $1: stderr lacks '$2'"; head -5 "$T/err"; fails=$((fails+1)); }; }
q() { sqlite3 -batch -noheader "$DB" "$1"; }

DB="$T/m.db"
# ---- a run: every profile, stored, marked as the reference ----
check run 0 "$B" matrix run --db "$DB" --battery sim:pylon-lv --inverter all --reference
expect_out run "run 1: sim:pylon-lv against 23 inverter profiles, 21 tested; stored in"
[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity after a run"
[ "$(q 'PRAGMA user_version')" = 2 ] || fail "schema version $(q 'PRAGMA user_version')"
[ "$(q 'SELECT count(*) FROM results WHERE run_id = 1')" = 23 ] || fail "23 results: $(q 'SELECT count(*) FROM results')"
[ "$(q "SELECT count(*) FROM checks WHERE run_id = 1 AND inverter = 'generic-pylon-lv'")" = 12 ] || fail "12 checks stored"
[ "$(q "SELECT status FROM results WHERE inverter = 'generic-pylon-lv'")" = pass ] || fail "generic-pylon-lv stored as pass"
[ "$(q "SELECT status FROM results WHERE inverter = 'fronius-gen24'")" = untested ] || fail "fronius-gen24 untested"
[ "$(q "SELECT setting FROM settings WHERE inverter = 'victron-gx' ORDER BY seq" | tr '\n' '|')" = "can_profile = CAN-bus BMS (500 kbit/s)|dvcc = on|" ] \
    || fail "victron settings: $(q "SELECT setting FROM settings WHERE inverter = 'victron-gx'")"
[ "$(q "SELECT count(*) FROM evidence WHERE inverter = 'victron-gx' AND check_id = 'charge_limits'")" -ge 1 ] || fail "evidence stored"
[ "$(q 'SELECT reference, finished_at IS NOT NULL FROM runs WHERE run_id = 1')" = "1|1" ] || fail "run 1 reference and finished"

# ---- show: the seed's table ----
check show 0 "$B" matrix show --db "$DB"
expect_out show "INVERTER MODEL  *INTERFACE  *FIRMWARE  *STATUS  *SUPPORTED FUNCTIONS  *REQUIRED SETTINGS"
expect_out show "^generic-pylon-lv  *CAN 500 kbit/s, pylon-lv  *reference  *pass  *all but firmware  *battery_type = Pylon CAN"
expect_out show "^fronius-gen24 .*untested"

# ---- export: json (CLI.md), csv, md, html ----
check export-json 0 "$B" matrix export --db "$DB" --format json
/usr/bin/python3 "$SHARED/tools/check-json-shape.py" matrix "$T/out" || fail "matrix export json shape"
/usr/bin/python3 - "$T/out" <<'PY' || fail "matrix export json content"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 23, len(rows)
r = {x["inverter"]: x for x in rows}["sma-sunny-island"]
assert r["status"] == "pass" and r["functions"]["comm_loss"] == "pass" and r["run_id"] == 1, r
assert r["battery"] == "sim:pylon-lv" and "BatTyp = LiIon_Ext-BMS" in r["required_settings"], r
PY
check export-csv 0 "$B" matrix export --db "$DB" --format csv
/usr/bin/python3 - "$T/out" <<'PY' || fail "matrix export csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 23 and rows[0]["status"] in ("pass", "partial", "fail", "untested"), rows[0]
assert {r["inverter"]: r for r in rows}["victron-gx"]["charge_limits"] == "fail"
PY
check export-md 0 "$B" matrix export --db "$DB" --format md
expect_out export-md "^| inverter model | interface | firmware | supported functions | test status | required settings |"
check export-html 0 "$B" matrix export --db "$DB" --format html -o "$T/m.html"
grep -q '<table>' "$T/m.html" && grep -q 'sma-sunny-island' "$T/m.html" || fail "matrix export html"

# ---- the regression view: a firmware change that inverts the current sign ----
sed 's/^events:/battery:\n  firmware: "1.1"\nevents:\n  - {at: 0s, event: wrong_current_sign}/' \
    "$SRC/share/scenarios/validation.yaml" > "$T/fw11.yaml"
check run2 0 "$B" matrix run --db "$DB" --battery sim:pylon-lv --inverter generic-pylon-lv,sma-sunny-island --scenario "$T/fw11.yaml"
check diff 1 "$B" matrix diff --db "$DB"
expect_out diff "run 2 (sim:pylon-lv, firmware 1.1) against reference run 1 (firmware 1.0):"
expect_out diff "WORSE  generic-pylon-lv         pass -> partial"
expect_out diff "current *pass -> fail: sign inverted"
check diff-json 1 "$B" matrix diff --db "$DB" --json
/usr/bin/python3 - "$T/out" <<'PY' || fail "diff json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["run_id"] == 2 and d["reference_run_id"] == 1 and d["worse"] >= 1, d
assert any(c["inverter"] == "generic-pylon-lv" and c["regression"] and c["checks"]["current"]["now"] == "fail"
           for c in d["changes"]), d["changes"]
PY
check diff-same 0 "$B" matrix diff --db "$DB" --run 1 --ref 1
check runs 0 "$B" matrix runs --db "$DB"
expect_out runs "^1 .* finished .*sim:pylon-lv .*pylon-lv .*1\.0 .*6/0/15/2  reference"
expect_out runs "^2 .* finished .*1\.1 "
check show-run 0 "$B" matrix show --db "$DB" --run 1
expect_out show-run "sma-sunny-boy-storage"
check show-all 0 "$B" matrix show --db "$DB" --all
check reference 0 "$B" matrix reference --db "$DB" 2
[ "$(q 'SELECT run_id FROM runs WHERE reference = 1' | tr '\n' ' ')" = "1 2 " ] || fail "reference marks"

# ---- errors ----
check no-db 3 "$B" matrix show --db "$T/none.db";                    expect_err no-db "no matrix yet?"
printf 'not a database at all, just text\n%.0s' $(seq 1 200) > "$T/text.db"
check not-a-db 3 "$B" matrix show --db "$T/text.db";                 expect_err not-a-db "file is not a database"
check no-format 2 "$B" matrix export --db "$DB";                     expect_err no-format "--format html|csv|md|json is required"
check bad-format 2 "$B" matrix export --db "$DB" --format xml;       expect_err bad-format "unknown --format 'xml'"
check no-sub 2 "$B" matrix;                                          expect_err no-sub "say what to do"
check bad-sub 2 "$B" matrix frobnicate --db "$DB";                   expect_err bad-sub "unknown command 'frobnicate'"
check bad-ref 2 "$B" matrix reference --db "$DB" 99;                 expect_err bad-ref "no run 99"
check bad-run 2 "$B" matrix show --db "$DB" --run 99;                expect_err bad-run "no results for run"
"$B" matrix run --db "$T/solo.db" --battery sim:pylon-lv --inverter victron-gx >/dev/null 2>&1
check no-reference 2 "$B" matrix diff --db "$T/solo.db";            expect_err no-reference "has no reference run"

# ---- migrations: a schema-1 file is brought to 2 and keeps its rows ----
sqlite3 "$T/v1.db" < "$SRC/tests/data/matrix-v1.sql" || fail "build the schema-1 file"
check migrate 0 "$B" matrix show --db "$T/v1.db"
expect_out migrate "^generic-pylon-lv .* pass "
DB="$T/v1.db"
[ "$(q 'PRAGMA user_version')" = 2 ] || fail "migrated to 2: $(q 'PRAGMA user_version')"
[ "$(q 'SELECT count(*) FROM checks') $(q 'SELECT reference FROM runs')" = "2 0" ] || fail "rows kept by the migration"
[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity after the migration"
sqlite3 "$T/v1.db" 'PRAGMA user_version = 99'
check newer 3 "$B" matrix show --db "$T/v1.db";                     expect_err newer "schema version 99 is newer than this bmslink knows (2)"

# ---- kill -9 in the middle of a run: what was committed stays, the file stays valid ----
DB="$T/k.db"
"$B" matrix run --db "$DB" --battery sim:native --inverter all --duration 12h > "$T/k.out" 2>&1 &
pid=$!
n=0; i=0
while [ "$i" -lt 300 ]; do
    n=$(sqlite3 -batch "$DB" 'SELECT count(*) FROM results' 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 3 ] && break
    sleep 0.05; i=$((i+1))
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null; rc=$?
[ "$rc" = 137 ] || fail "the run was not killed mid-way (exit $rc, $n results seen): $(cat "$T/k.out")"
[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity after kill -9: $(q 'PRAGMA integrity_check')"
kept=$(q 'SELECT count(*) FROM results WHERE run_id = 1')
[ "$kept" -ge 3 ] && [ "$kept" -lt 23 ] || fail "results kept after kill -9: $kept (want 3..22)"
[ "$(q 'SELECT count(*) FROM checks c JOIN results r USING (run_id, inverter) WHERE r.status <> '"'untested'")" = "$(( $(q "SELECT count(*) FROM results WHERE status <> 'untested'") * 12 ))" ] \
    || fail "every kept result has its 12 checks"
[ "$(q 'SELECT finished_at IS NULL FROM runs WHERE run_id = 1')" = 1 ] || fail "the killed run is unfinished"
check runs-killed 0 "$B" matrix runs --db "$DB"
expect_out runs-killed "^1 .* interrupted "
check show-killed 0 "$B" matrix show --db "$DB"
# the file takes the next run
check run-after-kill 0 "$B" matrix run --db "$DB" --battery sim:pylon-lv --inverter generic-pylon-lv
[ "$(q 'SELECT count(*) FROM runs')" = 2 ] || fail "a run after the kill"
echo "kill -9 after $n results: $kept kept, integrity ok"

[ "$fails" = 0 ] && echo "matrix: all checks passed"
exit "$fails"
