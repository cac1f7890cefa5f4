#!/bin/sh
# The HTML report as a user opens it: Debian's chromium renders it headless (no network:
# every host name resolves to nothing), the page logs no console error, the DOM it built
# holds the checklist and the charts (SVG polylines with points), and a screenshot is
# taken. A page with a deliberate script error proves the console check can fail.
# Skips (77) without chromium.
set -u
B=${BMSLINK:?run through ctest}
SRC=${BMSLINK_SRC:-.}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "chromium not installed (apt-get install chromium)"; exit 77; }
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }

# as root chromium needs --no-sandbox (../shared/TESTING.md); its own HOME keeps it off ours
render() { # html dom.out console.err [screenshot.png]
    if [ -n "${4:-}" ]; then set -- "$1" "$2" "$3" --screenshot="$4" --window-size=1280,2200
    else set -- "$1" "$2" "$3" --dump-dom; fi
    HOME="$T/home" timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
        --host-resolver-rules="MAP * ~NOTFOUND" --enable-logging=stderr --v=0 "$4" ${5:+"$5"} "file://$1" >"$2" 2>"$3"
}
console_errors() { grep -E 'CONSOLE|Uncaught|Failed to load' "$1"; }

# the control: a script error must be seen
printf '<!DOCTYPE html><html><body><p>x</p><script>no_such_function();</script></body></html>' > "$T/bad.html"
render "$T/bad.html" "$T/bad.dom" "$T/bad.err"
console_errors "$T/bad.err" >/dev/null || fail "the console check does not see a script error: $(tail -3 "$T/bad.err")"

# the report: one pair that passes and one that fails, with their charts
"$B" validate --battery sim:pylon-lv --inverter generic-pylon-lv,victron-gx --report "$T/report.html" > "$T/v.out" 2>&1
[ $? = 1 ] || fail "validate exit status (victron-gx fails charge_limits): $(tail -3 "$T/v.out")"
render "$T/report.html" "$T/report.dom" "$T/report.err" || fail "chromium failed on the report: $(tail -3 "$T/report.err")"
if console_errors "$T/report.err"; then fail "the report logs console errors"; fi
/usr/bin/python3 - "$T/report.dom" <<'PY' || fail "the rendered DOM"
import re, sys
dom = open(sys.argv[1]).read()
svgs = dom.count("<svg")
assert svgs == 2 * 5, "%d charts (4 per inverter and the check strip)" % svgs
lines = re.findall(r'<polyline[^>]* points="([^"]+)"', dom)
assert len(lines) >= 2 * 10, "%d polylines" % len(lines)
assert all(len(p.split()) >= 2 for p in lines), "a polyline without points"
assert dom.count('class="checks"') == 2 and dom.count("<tr") > 2 * 12, "the checklists"
assert 'id="inv-victron-gx"' in dom and "charges_at_ccl_zero" in dom, "the failing inverter and its quirk"
assert dom.count('class="verdict') >= 20, "check verdict markers"
assert re.search(r'class="alarm"', dom), "alarm markers"
for bad in ("<script", "<link", "<img", "@import", "url("):
    assert bad not in dom, "the report references or runs %r" % bad
PY
render "$T/report.html" "$T/shot.dom" "$T/shot.err" "$T/report.png"
[ -s "$T/report.png" ] || fail "no screenshot: $(tail -3 "$T/shot.err")"
/usr/bin/python3 - "$T/report.png" <<'PY' || fail "the screenshot"
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", d[16:24])
assert (w, h) == (1280, 2200), (w, h)
assert len(d) > 60000, "%d bytes: a blank page?" % len(d)
PY
[ -n "${BMSLINK_SCREENSHOT:-}" ] && cp "$T/report.png" "$BMSLINK_SCREENSHOT"

[ "$fails" = 0 ] && echo "report in chromium: rendered, no console error, charts present"
exit "$fails"
