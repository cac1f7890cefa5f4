#!/bin/sh
# bmslink explain as a user meets it (codes typed any way, ambiguous numbers, unknown codes with
# suggestions, diagnose causes, --json), profiles NAME listing the codes, and diagnose's battery
# description: --cells changes a finding, a bad battery file names its line.
set -u
B=${BMSLINK:?run through ctest}
SRC=${BMSLINK_SRC:?}
SHARED=${BMSLINK_SHARED:-$SRC/../shared}
C=$SRC/tests/captures
BAT=$SRC/share/batteries
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
expect_no() { if grep -q -- "$2" "$T/out"; then echo "FAIL $1: stdout has '$2'"; fails=$((fails+1)); fi; }
py() { /usr/bin/python3 -c "$1" "$T/out" || { echo "FAIL $2: $1"; fails=$((fails+1)); }; }

# ---- explain: found (0) ----
check exact 0 "$B" explain F952;                 expect_out exact "SMA F952 (fault, ExtBMSTimeout)"
expect_out exact "confidence H";                 expect_out exact "gap, battery_stopped"
check lower-spaced 0 "$B" explain f 952;         expect_out lower-spaced "SMA F952 (fault"
check quoted-space 0 "$B" explain "ie 102";      expect_out quoted-space "SolaX IE102 (fault)"
check brand 0 "$B" explain --brand solax ie102;  expect_out brand "firmware ARM 1.57"
check alias 0 "$B" explain xa06;                 expect_out alias "SMA F925 (fault, XA06"
check number 0 "$B" explain 952;                 expect_out number "2 codes fit '952'"
expect_out number "SMA W952 (warning"
check json 0 "$B" explain --json 952
py 'import json,sys; o=json.load(open(sys.argv[1])); assert o["match"]=="number" and [c["code"] for c in o["codes"]]==["F952","W952"] and o["codes"][0]["after_s"]==60 and o["codes"][0]["confidence"]=="H", o' json-number
check cause 0 "$B" explain gap;                  expect_out cause "inverters show it as 2 codes"
check cause-json 0 "$B" explain --json alarm.charge_over_temperature
py 'import json,sys; o=json.load(open(sys.argv[1])); assert o["match"]=="cause" and [c["code"] for c in o["codes"]]==["F925"], o' cause-json
check cause-none 0 "$B" explain soc_jump;        expect_out cause-none "no inverter code in the table"
check list 0 "$B" explain --list;                expect_out list "38 codes"
check causes 0 "$B" explain --causes --json
py 'import json,sys; ids={c["id"] for c in json.load(open(sys.argv[1]))}; assert {"gap","cvl_zero","identity_rejected","cells_vs_voltage"} <= ids, ids' causes
check help 0 "$B" explain --help;                expect_out help "usage: bmslink explain"

# ---- explain: unknown (2), with close codes ----
check unknown 2 "$B" explain F953;               expect_err unknown "unknown code 'F953': close: SMA F952"
check unknown-far 2 "$B" explain QQQQQQQQ;       expect_err unknown-far "no close code"
check unknown-brand-code 2 "$B" explain --brand sma IE102; expect_err unknown-brand-code "unknown code 'IE102' for sma"
check bad-brand 2 "$B" explain --brand acme F952; expect_err bad-brand "unknown brand 'acme' (brands with codes: SMA"
check no-code 2 "$B" explain;                    expect_err no-code "no CODE"
check bad-option 2 "$B" explain --bogus F952;    expect_err bad-option "unknown option '--bogus'"
[ -s "$T/out" ] && { echo "FAIL bad-option: usage on stdout"; fails=$((fails+1)); }

# ---- a broken table is an input error (3) that names its line ----
printf 'SMA:\n  - {code: F1, severity: fault, meaning: m, check: c, source: s, confidence: H, causes: [comm_loss]}\n' > "$T/codes.yaml"
check bad-table 3 env BMSLINK_ERRORCODES="$T/codes.yaml" "$B" explain F1
expect_err bad-table "codes.yaml:2: causes: 'comm_loss' is not a diagnose cause"
check no-table 3 env BMSLINK_ERRORCODES="$T/none.yaml" "$B" explain F1; expect_err no-table "none.yaml"

# ---- profiles NAME shows the brand's codes ----
check profile-text 0 "$B" profiles sma-sunny-island;  expect_out profile-text "error codes (34, bmslink explain CODE)"
expect_out profile-text "F952           fault    ExtBMSTimeout"
check profile-none 0 "$B" profiles victron-gx;        expect_out profile-none "error codes: none known"
check profile-json 0 "$B" profiles --json solax-x3-g4
py 'import json,sys; p=json.load(open(sys.argv[1]))[0]; assert [c["code"] for c in p["error_codes"]]==["IE102","BattVoltFault"], p["error_codes"]' profile-json
/usr/bin/python3 "$SHARED/tools/check-json-shape.py" profiles "$T/out" || { echo "FAIL profile-json: shape"; fails=$((fails+1)); }
check profile-sbs 0 "$B" profiles sma-sunny-boy-storage; expect_no profile-sbs "F952"   # SI codes are not the SBS's

# ---- diagnose: the code in the finding, text and JSON ----
check diag-codes 1 "$B" diagnose -q --inverter sma-sunny-island "$C/si-comm-loss.log"
expect_out diag-codes "shows: the inverter would show F952 (fault, ExtBMSTimeout), W952 (warning, WrnExtBMSTmOut) here"
check diag-json 1 "$B" diagnose -q --json --inverter sma-sunny-island "$C/si-comm-loss.log"
/usr/bin/python3 "$SHARED/tools/check-json-shape.py" diagnose "$T/out" || { echo "FAIL diag-json: shape"; fails=$((fails+1)); }
py 'import json,sys; f=json.load(open(sys.argv[1]))["findings"][0]; assert [c["code"] for c in f["inverter_codes"]]==["F952","W952"], f' diag-json
check diag-report 1 "$B" diagnose -q --inverter sma-sunny-island --report "$T/r.html" "$C/si-comm-loss.log"
grep -q '<li><code>F952</code> fault, ExtBMSTimeout' "$T/r.html" || { echo "FAIL diag-report: no code in the report"; fails=$((fails+1)); }
check diag-nocodes 1 "$B" diagnose -q "$C/si-comm-loss.log"; expect_no diag-nocodes "would show"

# ---- diagnose: the battery described ----
check bat-16 0 "$B" diagnose -q --battery "$BAT/lfp-16s-100ah.yaml" "$C/soc-vs-voltage.log"
expect_out bat-16 "battery: LFP 16S 100 Ah, 16 LFP cells in series"; expect_no bat-16 "battery_mismatch"
check bat-cells 1 "$B" diagnose -q --battery "$BAT/lfp-16s-100ah.yaml" --cells 15 "$C/soc-vs-voltage.log"
expect_out bat-cells "battery_mismatch (cells_vs_voltage)"
expect_out bat-cells "that is 16 cells in series"
expect_out bat-cells "battery: LFP 16S 100 Ah with --cells 15, 15 LFP cells"
expect_err bat-cells "--cells 15 overrides the 16 cells"
check bat-15 1 "$B" diagnose -q --battery "$BAT/lfp-15s-100ah.yaml" "$C/healthy-pylon-lv.log"
expect_out bat-15 "55.20 V above 53.25 V"
check assumed 0 "$B" diagnose -q "$C/healthy-pylon-lv.log"
expect_out assumed "note: battery not described: 16..18 LFP cells tried"
check json-bat 0 "$B" diagnose -q --json --battery "$BAT/lfp-16s-100ah.yaml" "$C/healthy-pylon-lv.log"
py 'import json,sys; b=json.load(open(sys.argv[1]))["battery"]; assert b=={"name":"LFP 16S 100 Ah","cells":16,"capacity_Ah":100.0}, b' json-bat
printf '# a pack\ncells: 16\ncapacity_ah: 100\ncharge_voltage_max_v: 60\n' > "$T/bad.yaml"
check bat-bad 2 "$B" diagnose --battery "$T/bad.yaml" "$C/healthy-pylon-lv.log"
expect_err bat-bad "bad.yaml:4: charge_voltage_max_v: 60.000 V is 3750 mV per cell over 16 cells"
printf 'cells: [16\n' > "$T/broken.yaml"
check bat-syntax 2 "$B" diagnose --battery "$T/broken.yaml" "$C/healthy-pylon-lv.log"; expect_err bat-syntax "broken.yaml:"
check bat-missing 3 "$B" diagnose --battery "$T/nope.yaml" "$C/healthy-pylon-lv.log"; expect_err bat-missing "nope.yaml"
check bad-cells 2 "$B" diagnose --cells 3 "$C/healthy-pylon-lv.log"; expect_err bad-cells "bad --cells '3'"

[ "$fails" = 0 ] && echo "explain CLI: all checks passed"
exit $((fails > 0))
