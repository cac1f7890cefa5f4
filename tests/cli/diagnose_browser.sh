#!/bin/sh
# The diagnose HTML report in a real browser (../shared/TESTING.md "Reports in a real
# browser"): Debian's chromium, headless, loads it without console errors, the DOM it built
# holds the timeline chart with its series and markers, and a screenshot renders.
set -u
B=${BMSLINK:?run through ctest}
SRC=${BMSLINK_SRC:?}
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "SKIP: chromium not installed (scripts/deps.sh --test installs it)"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
run() { timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --enable-logging=stderr --v=0 \
          --user-data-dir="$T/profile" "$@"; }
for cap in shutdown-protection.log limits-ccl.log healthy-daly.hex; do
  "$B" diagnose -q --report "$T/r.html" "$SRC/tests/captures/$cap" > /dev/null 2>&1
  [ $? -le 1 ] || { echo "FAIL $cap: diagnose failed"; fails=$((fails+1)); continue; }
  run --dump-dom "file://$T/r.html" > "$T/dom.html" 2> "$T/console.txt"
  if grep -Ei 'CONSOLE\(|Uncaught|Failed to load resource|ERR_FILE_NOT_FOUND' "$T/console.txt"; then
    echo "FAIL $cap: console errors"; fails=$((fails+1)); fi
  grep -q '<svg id="timeline"' "$T/dom.html" || { echo "FAIL $cap: no chart in the DOM"; fails=$((fails+1)); }
  n=$(grep -o '<polyline' "$T/dom.html" | wc -l)
  [ "$n" -ge 3 ] || { echo "FAIL $cap: $n series drawn"; fails=$((fails+1)); }
  case $cap in healthy*) ;; *) grep -q 'class="marker"' "$T/dom.html" || { echo "FAIL $cap: no finding marker"; fails=$((fails+1)); } ;; esac
  run --screenshot="$T/shot.png" --window-size=1280,1400 "file://$T/r.html" > /dev/null 2>&1
  [ -s "$T/shot.png" ] || { echo "FAIL $cap: no screenshot"; fails=$((fails+1)); }
  rm -f "$T/shot.png"
done
[ "$fails" = 0 ] && echo "diagnose report: loads in chromium without console errors, chart and markers present"
exit $((fails > 0))
