#!/bin/sh
# cmake --install of this build into a scratch prefix: the binary, the profiles, the site
# limits and bridge examples, and the two systemd units with ExecStart naming that prefix;
# systemd-analyze verify (when there is one) reads the units as systemd would.
# Usage: bridge_install.sh CMAKE BUILD_DIR
set -u
CMAKE=${1:?cmake}
BUILD=${2:?build dir}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
"$CMAKE" --install "$BUILD" --prefix "$T/p" >"$T/log" 2>&1 || { cat "$T/log"; fail "cmake --install"; }
for f in bin/bmslink share/bmslink/profiles/sma-sunny-island.yaml share/bmslink/site/example.yaml \
         share/bmslink/examples/bridge.yaml lib/systemd/system/bmslink-bridge.service \
         lib/systemd/system/bmslink-bridge@.service; do
  [ -e "$T/p/$f" ] || fail "installed: $f"
done
grep -q "^ExecStart=$T/p/bin/bmslink bridge --config /etc/bmslink/bridge.yaml\$" \
  "$T/p/lib/systemd/system/bmslink-bridge.service" || fail "ExecStart names the install prefix"
grep -q "^Type=notify" "$T/p/lib/systemd/system/bmslink-bridge.service" || fail "Type=notify"
grep -q "^WatchdogSec=" "$T/p/lib/systemd/system/bmslink-bridge.service" || fail "WatchdogSec"
if command -v systemd-analyze >/dev/null 2>&1; then
  for u in bmslink-bridge.service bmslink-bridge@.service; do
    (cd "$T/p/lib/systemd/system" && timeout 30 systemd-analyze verify "./$u") >"$T/v" 2>&1 ||
      { sed 's/^/  /' "$T/v"; fail "systemd-analyze verify $u"; }
  done
else
  echo "note: systemd-analyze not installed: units not verified"
fi
# the example configuration is a valid --config (its devices are not here: the check stops at them)
"$T/p/bin/bmslink" bridge --config "$T/p/share/bmslink/examples/bridge.yaml" --duration 1ms >"$T/o" 2>"$T/e"
rc=$?
if [ $rc = 2 ]; then sed 's/^/  /' "$T/e"; fail "the example bridge.yaml parses (exit $rc)"; fi
# the installed binary reads the installed data, not the checkout it was built from: a profile
# only the prefix has is listed, and the installed error-code table answers explain
cp "$T/p/share/bmslink/profiles/sma-sunny-island.yaml" "$T/p/share/bmslink/profiles/only-installed.yaml"
sed -i 's/^name: .*/name: only-installed/' "$T/p/share/bmslink/profiles/only-installed.yaml"
"$T/p/bin/bmslink" profiles 2>&1 | grep -q only-installed || fail "installed bmslink reads <prefix>/share/bmslink/profiles"
"$T/p/bin/bmslink" explain F952 >/dev/null 2>&1 || fail "installed bmslink finds errorcodes.yaml"
[ $fails = 0 ] && echo "install: ok"
[ $fails = 0 ]
