#!/bin/sh
# scripts/deps.sh [--build | --test | --ci]: install the Debian packages bmslink needs.
#   --build  compiler, CMake, libraries bmslink links (default)
#   --test   + cmocka and the independent peers (python-can, canmatrix, pymodbus, can-utils, ...)
#   --ci     + clang runtimes for sanitizers and fuzzing, the VM and tshark peers
# Idempotent: installs only what is missing; never prompts.
set -eu
mode=${1:---build}
build="cmake ninja-build gcc pkg-config libmodbus-dev libsqlite3-dev libyaml-dev libmosquitto-dev"
test="$build libcmocka-dev python3 can-utils python3-can python3-canmatrix python3-pymodbus python3-serial-asyncio
      python3-serial mbpoll socat mosquitto mosquitto-clients tmux"
ci="$test clang libclang-rt-14-dev llvm gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm valgrind cppcheck
    clang-tidy gcovr"
# ---- live buses (issue 6): the SocketCAN conformance leg boots a qemu VM (../shared/tools/vcan-vm.sh) ----
ci="$ci qemu-system-x86 busybox-static cpio iproute2 util-linux"
# ---- issue #8: the matrix file read back by the sqlite3 shell; the HTML report rendered by
# ---- headless chromium (fonts-dejavu-core: the font the report names, chromium's recommends are skipped) ----
test="$test sqlite3 fonts-dejavu-core"
ci="$ci sqlite3 fonts-dejavu-core"
# ---- diagnosis (issue 9): diagnose --report is checked in a real browser (Debian's chromium, headless) ----
test="$test chromium"
ci="$ci chromium"
# ---- gateway as a service (issue 12): the MQTT TLS test makes its CA and certificates with openssl ----
test="$test openssl"
ci="$ci openssl"
# ---- capture formats (issue 12): pcap/pcapng are checked against tshark (Wireshark's reader) ----
test="$test tshark"
ci="$ci tshark"
case $mode in
  --build) pkgs=$build ;;
  --test) pkgs=$test ;;
  --ci) pkgs=$ci ;;
  -h|--help) sed -n '2,6s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "deps.sh: unknown option '$mode' (--build, --test, --ci)" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture; answer it before apt does (issue 12)
case " $missing " in *" tshark "*)
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections ;; esac
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 $missing >/dev/null 2>&1 || {
  $SUDO apt-get update -q -o DPkg::Lock::Timeout=300 >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 $missing >/dev/null
}
