#!/bin/sh
# RS485/Modbus as a user meets it: bad URIs, missing devices, wrong protocol for a source,
# captures with broken frames: a clear message naming what and where, the CLI.md exit code.
set -u
B=${BMSLINK:?run through ctest}
SHARED=${BMSLINK_SHARED:-../shared}
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
expect_err() { if ! grep -q -- "$2" "$T/err"; then echo "FAIL $1: stderr lacks '$2'"; sed 's/^/  stderr: /' "$T/err" | head -5; fails=$((fails+1)); fi; }
expect_out() { if ! grep -q -- "$2" "$T/out"; then echo "FAIL $1: stdout lacks '$2'"; head -c 400 "$T/out"; fails=$((fails+1)); fi; }

# ---- URIs and protocols that do not go together: usage errors (2) ----
check serial-no-dev 2 "$B" decode -p pylon-rs485 serial:;                 expect_err serial-no-dev "expected a device path"
check serial-bad-baud 2 "$B" decode -p pylon-rs485 serial:/dev/ttyUSB9@96x; expect_err serial-bad-baud "serial:/dev/ttyUSB9@96x"
check serial-bad-addr 2 "$B" decode -p pylon-rs485 'serial:/dev/ttyUSB9@9600#300'; expect_err serial-bad-addr "expected an address 0..255"
check serial-no-proto 2 "$B" decode serial:/dev/ttyUSB9@9600;             expect_err serial-no-proto "name the protocol with -p"
check serial-can-proto 2 "$B" decode -p pylon-lv serial:/dev/ttyUSB9@9600; expect_err serial-can-proto "is a CAN protocol"
check serial-modbus-map 2 "$B" decode -p seplos-v3 serial:/dev/ttyUSB9@19200; expect_err serial-modbus-map "read it with modbus-rtu"
check modbus-not-map 2 "$B" decode -p daly 'modbus-tcp:127.0.0.1:1502#1'; expect_err modbus-not-map "not a Modbus protocol"
check tcp-no-port 2 "$B" decode -p pace-modbus 'modbus-tcp:127.0.0.1#1';  expect_err tcp-no-port "expected HOST:PORT"
check rtu-unit 2 "$B" decode -p pace-modbus 'modbus-rtu:/dev/ttyUSB9@9600#248'; expect_err rtu-unit "unit ids are 0..247"
check bad-rs-proto 2 "$B" decode -p pylon-rs485:nope x.hex;              expect_err bad-rs-proto "pylon-rs485:seplos-v2"

# ---- devices that are not there: I/O errors (3) ----
check serial-missing 3 "$B" decode -p pylon-rs485 "serial:$T/nope@9600";  expect_err serial-missing "cannot open: .*No such file"
check tcp-refused 3 "$B" decode -p pace-modbus 'modbus-tcp:127.0.0.1:1#1'; expect_err tcp-refused "cannot open"
check emu-missing 3 "$B" emulate battery -p daly --on "serial:$T/nope@9600"; expect_err emu-missing "cannot open"

# ---- the battery role refuses what it cannot do honestly ----
check emu-daren 2 "$B" emulate battery -p pylon-rs485:daren --on "serial:$T/x@9600"; expect_err emu-daren "would have to invent"
check emu-map-on-serial 2 "$B" emulate battery -p pace-modbus --on "serial:$T/x@9600"; expect_err emu-map-on-serial "modbus-rtu:DEV"
check emu-serial-on-tcp 2 "$B" emulate battery -p daly --on 'modbus-tcp:127.0.0.1:1502#1'; expect_err emu-serial-on-tcp "serial:DEV@BAUD"

# ---- captures ----
cat > "$T/good.hex" <<'X'
# Pylontech 0x92 exchange (PYL-12, PYL-05), an error answer, a broken frame, noise
(1700000000.000000) ~20024692E00202FD2E
(1700000000.100000) ~20024600B014026EF05AA0022BFDD5C0F915
(1700000000.200000) ~20024644E00202FD31
(1700000000.300000) ~200246040000FDAE
(1700000000.400000) ~1203400456ABCEFEFC72
(1700000000.500000) 00 FF 13
(1700000000.600000) this is not hex
X
check capture 0 "$B" decode -p pylon-rs485 "$T/good.hex"
expect_out capture "ChargeVoltageLimit=28.400V"
expect_err capture "good.hex:5: the BMS answered with error code 0x04 (CID2 invalid)"
expect_err capture "good.hex:6: checksum 0xFC72 != 0xFC71"
expect_err capture "good.hex:7: 3 bytes of noise"
expect_err capture "good.hex:8: expected hex bytes"
check capture-json 0 "$B" decode -p pylon-rs485 --json -q "$T/good.hex"
/usr/bin/python3 "$SHARED/tools/check-json-shape.py" decode "$T/out" || { echo "FAIL capture-json: shape"; fails=$((fails+1)); }
check capture-summary 0 "$B" decode -p pylon-rs485 --summary -q "$T/good.hex"
expect_out capture-summary '"error_reasons":{"checksum":1,"syntax":1,"noise":1,"error_code":1}'
/usr/bin/python3 "$SHARED/tools/check-json-shape.py" summary "$T/out" || { echo "FAIL capture-summary: shape"; fails=$((fails+1)); }

printf 'hello\nworld\n' > "$T/text.hex"
check capture-no-hex 3 "$B" decode -p daly "$T/text.hex";                expect_err capture-no-hex "none of 2 lines is hex bytes"
: > "$T/empty.hex"
check capture-empty 3 "$B" decode -p jbd "$T/empty.hex";                  expect_err capture-empty "no RS485 data (empty capture?)"
printf 'A5 01 90 08 00 82 00 00 75 30 01 F3 59\n' > "$T/daly.hex"
check capture-wrong-proto 3 "$B" decode -p jbd "$T/daly.hex";             expect_err capture-wrong-proto "no jbd-dd77 frame in them"
check capture-detect 0 "$B" decode "$T/daly.hex";                          expect_err capture-detect "detected daly"
printf '01 03 00 00 00 04 44 09\n01 03 08 FB 2E 14 C0 00 57 00 63 E7 DF\n' > "$T/mb.hex"
check modbus-crc 0 "$B" decode -p pace-modbus "$T/mb.hex";                 expect_err modbus-crc "mb.hex:2: Modbus CRC does not verify (libmodbus)"
printf 'F8 03 00 00 00 01 00 00\n' > "$T/mb-unit.hex"
check modbus-unit 0 "$B" decode -p pace-modbus "$T/mb-unit.hex";           expect_err modbus-unit "unit id above 247"
printf '(1700000000.0) can0 351#1402E803E8032C01\n' > "$T/can.log"
check hex485-forced-on-can 3 "$B" decode --format hex485 -p pylon-rs485 "$T/can.log"; expect_err hex485-forced-on-can "none of 1 lines is hex bytes"

# ---- protocols lists the serial settings ----
check protocols-json 0 "$B" protocols --json
/usr/bin/python3 "$SHARED/tools/check-json-shape.py" protocols "$T/out" || { echo "FAIL protocols-json: shape"; fails=$((fails+1)); }
expect_out protocols-json '"name":"pylon-rs485:seplos-v2","title":"[^"]*","bus":"rs485","roles":\["battery","inverter"\],"bitrate":null,"baud":19200'
expect_out protocols-json '"serial_settings":{"baud":115200,"data_bits":8,"parity":"N","stop_bits":1,"framing":"modbus-rtu"'
check protocols-text 0 "$B" protocols jk-pb
expect_out protocols-text "serial:      115200 8N1"
expect_out protocols-text "hr 0x1290 2 words PackVoltage"

echo "decode_rs485.sh: $fails failed"
[ "$fails" = 0 ]
