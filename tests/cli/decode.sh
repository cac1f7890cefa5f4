#!/bin/sh
# decode as a user meets it: bad input gets a clear message, file:line, the CLI.md exit code.
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
expect_err() { # name pattern: stderr must contain it
    if ! grep -q -- "$2" "$T/err"; then echo "FAIL $1: stderr lacks '$2'"; sed 's/^/  stderr: /' "$T/err" | head -5; fails=$((fails+1)); fi
}
expect_out() {
    if ! grep -q -- "$2" "$T/out"; then echo "FAIL $1: stdout lacks '$2'"; head -c 400 "$T/out"; fails=$((fails+1)); fi
}

check help 0 "$B" decode --help;                      expect_out help "usage: bmslink decode"
check version 0 "$B" --version;                       expect_out version "bmslink "
check no-verb 2 "$B"
check bad-verb 2 "$B" frobnicate;                     expect_err bad-verb "unknown verb 'frobnicate'"
check no-source 2 "$B" decode -p pylon-lv;            expect_err no-source "decode: no SOURCE"
check bad-option 2 "$B" decode --frobnicate x;        expect_err bad-option "unknown option"
check bad-protocol 2 "$B" decode -p pylon-xx x.log;   expect_err bad-protocol "unknown protocol 'pylon-xx'; known: pylon-lv"
check bad-variant 2 "$B" decode -p pylon-lv:nope x.log; expect_err bad-variant "pylon-lv:v13"
check bad-format 2 "$B" decode --format xyz x.log;    expect_err bad-format "unknown --format"
check bad-duration 2 "$B" decode --duration 5parsecs x.log
check missing 3 "$B" decode -p pylon-lv "$T/nope.log"; expect_err missing "nope.log: cannot open: No such file"

: > "$T/empty.log"
check empty 3 "$B" decode -p pylon-lv "$T/empty.log"; expect_err empty "no CAN frames (empty capture?)"

head -c 20000 /dev/urandom > "$T/garbage.bin"
check garbage 3 "$B" decode -p pylon-lv -q "$T/garbage.bin"; expect_err garbage "no CAN frames"

awk 'BEGIN { s = "(1700000000.000000) can0 351#"; for (i = 0; i < 3000; i++) s = s "AB"; print s;
             print "(1700000001.000000) can0 355#58005E00" }' > "$T/long.log"
check overlong 0 "$B" decode -p pylon-lv --summary "$T/long.log"
expect_err overlong "long.log:1: line longer than 4096 bytes"
expect_out overlong '"line_too_long":1'
expect_out overlong '"soc_pct":88'

printf '(1700000000.000000) can0 351#1402C012C012C2010102\n(1700000000.100000) can0 355#58005E00\n(1700000000.2) can0 35#1\n(1700000000.300000) can0 3FF#00\n' > "$T/mixed.log"
check mixed 0 "$B" decode -p pylon-lv --summary "$T/mixed.log"
expect_err mixed "mixed.log:1: 0x351: dlc 10, expected 2..8"
expect_err mixed "mixed.log:3: CAN id must be 3 (11-bit) or 8 (29-bit) hex digits (column 21)"
expect_err mixed "mixed.log:4: 0x3FF: unknown id"
expect_out mixed '"frames":3,"decoded":1,"errors":3,"error_reasons":{"dlc":1,"unknown_id":1,"malformed_line":1}'

# the three candump text styles and ASC carry the same battery
S="$SRC/share/captures/pylon-lv-sample.log"
record() { sed -n 's/.*"record":\({[^}]*}\).*/\1/p'; }
"$B" decode -p pylon-lv --summary -q "$S" | record > "$T/log.rec"
grep -E '^\([0-9.]+\) can0 [0-9A-F]{3}#([0-9A-F]{2}){0,8}$' "$S" > "$T/clean.log"
if command -v log2asc >/dev/null; then
    log2asc -I "$T/clean.log" can0 > "$T/s.asc"
    check asc 0 "$B" decode -p pylon-lv --summary -q "$T/s.asc"
    record < "$T/out" | cmp -s - "$T/log.rec" || { echo "FAIL asc: record differs from the log's"; fails=$((fails+1)); }
fi
awk '{ split($3, a, "#"); d = a[2]; n = length(d) / 2; s = "";
       for (i = 0; i < n; i++) s = s " " substr(d, 2 * i + 1, 2);
       printf " %s  can0  %s   [%d] %s\n", $1, a[1], n, s }' "$T/clean.log" > "$T/s.candump"
check candump-ta 0 "$B" decode -p pylon-lv --summary -q "$T/s.candump"
record < "$T/out" | cmp -s - "$T/log.rec" || { echo "FAIL candump -ta: record differs from the log's"; fails=$((fails+1)); }
sed 's/^ ([0-9.]*)//' "$T/s.candump" > "$T/s.nots"
check candump-plain 0 "$B" decode -p pylon-lv --summary -q "$T/s.nots"
expect_out candump-plain '"first_ts":null'
record < "$T/out" | cmp -s - "$T/log.rec" || { echo "FAIL candump: record differs from the log's"; fails=$((fails+1)); }

# stdin and --count
check stdin 0 sh -c "cat '$S' | '$B' decode -p pylon-lv --json -q --count 5 -"
[ "$(wc -l < "$T/out")" = 5 ] || { echo "FAIL count: $(wc -l < "$T/out") lines, expected 5"; fails=$((fails+1)); }

# detection names what it chose
check detect 0 "$B" decode --summary -q "$S"; expect_err detect "detected pylon-lv"

[ $fails = 0 ] && echo "cli decode: all checks passed"
exit $((fails > 0))
