#!/bin/sh
# bridge as a user meets it: usage mistakes, bad site-limits files, unreadable sources and
# unreachable brokers get a clear message naming what and where, and CLI.md's exit code.
set -u
B=${BMSLINK:?run through ctest}
SRC=${BMSLINK_SRC:-.}
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
expect_err() {
    if ! grep -q -- "$2" "$T/err"; then echo "FAIL $1: stderr lacks '$2'"; sed 's/^/  stderr: /' "$T/err" | head -5; fails=$((fails+1)); fi
}
expect_out() {
    if ! grep -q -- "$2" "$T/out"; then echo "FAIL $1: stdout lacks '$2'"; head -c 400 "$T/out"; fails=$((fails+1)); fi
}
CAP=$SRC/share/captures/pylon-lv-sample.log
head -400 "$CAP" > "$T/in.log"

check help 0 "$B" bridge --help;                     expect_out help "usage: bmslink bridge --from SRC -P IN_PROTOCOL"
check listed 0 "$B" --help;                          expect_out listed "bridge"
check no-from 2 "$B" bridge -P pylon-lv --to "$T/o.log" -p sma-si;   expect_err no-from "bridge: --from SRC is required"
check no-in 2 "$B" bridge --from "$T/in.log" --to "$T/o.log" -p sma-si; expect_err no-in "-P IN_PROTOCOL is required"
check no-out 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log"; expect_err no-out "-p OUT_PROTOCOL is required"
check no-to 2 "$B" bridge --from "$T/in.log" -P pylon-lv -p sma-si;   expect_err no-to "--to DST is required"
check bad-proto 2 "$B" bridge --from "$T/in.log" -P pylon-xx --to "$T/o.log" -p sma-si
expect_err bad-proto "unknown protocol 'pylon-xx'; known: pylon-lv"
check bad-pack 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --pack "$T/in.log"
expect_err bad-pack "expected PROTOCOL=SRC"
check bad-pack-proto 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --pack nope=x.log
expect_err bad-pack-proto "unknown protocol 'nope'"
check bad-policy 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --policy all
expect_err bad-policy "unknown --policy 'all' (conservative, sum)"
check bad-stale 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --stale soon
check extra-arg 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si more.log
expect_err extra-arg "unexpected argument 'more.log'"
check to-stdout 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to - -p sma-si
expect_err to-stdout "write the translation to a file"
check file-to-bus 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to virtual:inv -p sma-si
expect_err file-to-bus "translates into a file"
check mixed 2 "$B" bridge --from "$T/in.log" -P pylon-lv --pack pylon-lv=virtual:p2 --to "$T/o.log" -p sma-si
expect_err mixed "mix of capture files and live sources"
check missing 3 "$B" bridge --from "$T/nope.log" -P pylon-lv --to "$T/o.log" -p sma-si
expect_err missing "nope.log: cannot open: No such file"
check bad-uri 2 "$B" bridge --from "slcan:" -P pylon-lv --to "$T/o.log" -p sma-si
check unwritable 3 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/no/such/dir/o.log" -p sma-si
expect_err unwritable "cannot open"

# a capture without timestamps cannot be translated in capture time
printf '  can0  351   [8]  14 02 74 0E 74 0E CC 01\n' > "$T/nots.log"
check no-timestamps 3 "$B" bridge --from "$T/nots.log" -P pylon-lv --to "$T/o.log" -p sma-si
expect_err no-timestamps "nots.log:1: no timestamp"
: > "$T/empty.log"
check empty 3 "$B" bridge --from "$T/empty.log" -P pylon-lv --to "$T/o.log" -p sma-si
expect_err empty "no CAN frames"

# site-limits files: every problem names the file and line
site() { printf '%b' "$1" > "$T/site.yaml"; }
site 'charge_current_limit_A: 125\nfuse_A: 3\n'
check site-key 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --site-limits "$T/site.yaml"
expect_err site-key "site.yaml:2: site limits: unknown key 'fuse_A' (known: charge_current_limit_A"
site 'charge_current_limit_A: lots\n'
check site-value 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --site-limits "$T/site.yaml"
expect_err site-value "site.yaml:1: charge_current_limit_A: 'lots' is not a number"
site 'charge_current_limit_A: -5\n'
check site-negative 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --site-limits "$T/site.yaml"
expect_err site-negative "site.yaml:1: charge_current_limit_A: -5 is outside 0.001.."
site 'charge_current_limit_A: 0\n'
check site-zero 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --site-limits "$T/site.yaml"
expect_err site-zero "charge_current_limit_A: 0 is outside"
site 'charge_current_limit_A: 100\ncharge_current_limit_A: 120\n'
check site-twice 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --site-limits "$T/site.yaml"
expect_err site-twice "site.yaml:2: charge_current_limit_A: given twice"
site 'policy: generous\n'
check site-policy 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --site-limits "$T/site.yaml"
expect_err site-policy "site.yaml:1: policy: 'generous' is not a policy"
site 'charge_voltage_limit_V: 50\ndischarge_voltage_limit_V: 52\n'
check site-order 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --site-limits "$T/site.yaml"
expect_err site-order "discharge_voltage_limit_V must be below charge_voltage_limit_V"
site 'charge_current_limit_A: [1, 2\n'
check site-yaml 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --site-limits "$T/site.yaml"
expect_err site-yaml "site.yaml:2: yaml:"
site '- 125\n'
check site-shape 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --site-limits "$T/site.yaml"
expect_err site-shape "expected 'key: value' lines"
site ''
check site-empty 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --site-limits "$T/site.yaml"
expect_err site-empty "empty: no limits"
check site-missing 3 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --site-limits "$T/nope.yaml"
expect_err site-missing "nope.yaml: cannot open"
check site-example 0 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si \
    --site-limits "$SRC/share/site/example.yaml"
expect_out site-example "policy conservative"

# MQTT: a URL that does not parse is a usage error, a broker that is not there an I/O error
check mqtt-url 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --mqtt http://x
expect_err mqtt-url "expected mqtt://HOST"
check mqtt-id 2 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --mqtt mqtt://127.0.0.1:1 --mqtt-id 'a/b'
expect_err mqtt-id "--mqtt-id 'a/b'"
check mqtt-down 3 "$B" bridge --from "$T/in.log" -P pylon-lv --to "$T/o.log" -p sma-si --mqtt mqtt://127.0.0.1:1
expect_err mqtt-down "cannot connect to 127.0.0.1:1"

# garbage in the capture is reported with its line and skipped, the translation goes on
{ head -50 "$T/in.log"; echo 'this is not a frame'; printf '(1700000000.600000) can0 351#14\n'; tail -n +51 "$T/in.log"; } > "$T/bad.log"
check garbage 0 "$B" bridge --from "$T/bad.log" -P pylon-lv --to "$T/o.log" -p sma-si
expect_err garbage "bad.log:51:"
expect_out garbage "1 rejected"
expect_out garbage "first frame rejected for dlc"

# the live view from a pipe (not a terminal: plain text, the last view when the pipe closes)
now=$(date +%s)
for f in 351#1402740E740ECC01 355#1A006400 356#5A146301FA00 359#000000000A504E 35C#C000 35E#50594C4F4E202020; do
    echo "($now.000000) can0 $f"
done > "$T/cycle.log"
check live-view 0 sh -c "cat '$T/cycle.log' | '$B' bridge --from - -P pylon-lv --to '$T/live.log' -p sma-si \
    --site-limits '$SRC/share/site/example.yaml' --duration 3s"
expect_out live-view "^0 .* active   yes       26 %   52.10 V    35.5 A   370.0 A"
expect_out live-view "^OUT   sma-si .*125.0 A   150.0 A"
expect_out live-view "clamped    charge_current_limit_A 370.0 -> 125.0 A (site limit)"
expect_out live-view "pack 0 (pylon-lv on -): in use"

echo "$fails failed"
[ "$fails" = 0 ]
