#!/usr/bin/python3
"""The capture library of `bmslink diagnose` (tests/captures): every capture raises the
findings its NAME.expect lists, no error finding that it does not list (no false alarms),
the loop verdict and exit status it names; the evidence points at real lines of the
capture with their real text and time; the JSON has the shape of CLI.md; the captures are
exactly what gencaptures writes (deterministic); every problem of CLI.md has a capture."""
import json
import os
import shlex
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BMSLINK = os.environ.get("BMSLINK", "bmslink")
SHARED = os.environ.get("BMSLINK_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
GEN = os.environ.get("BL_GENCAPTURES")
PROBLEMS = {"battery_not_detected", "soc_missing_or_wrong", "communication_fault", "alarm_not_shown",
            "limits_not_followed", "unexpected_shutdown", "wrong_bitrate", "wrong_id_length", "wrong_protocol",
            "current_sign_inverted", "stale_data", "battery_mismatch"}
bad = []
skipped = []
# healthy captures on the inverters that speak their protocol: a profile's quirks and timeouts
# must not turn a working site into errors
HEALTHY_ON = [("healthy-sma-si", "sma-sunny-island"), ("healthy-victron", "victron-gx"),
              ("healthy-solax", "solax-x3-g4"), ("healthy-byd-hvs", "deye-sunsynk-hv"), ("healthy-byd-hvs", "goodwe-et"),
              ("healthy-byd-hvs", "solis-hv"), ("healthy-byd-hvs", "sungrow-sh-rt"), ("healthy-growatt-lv", "growatt-spf"),
              ("healthy-pylon-lv", "deye-sunsynk-lv"), ("healthy-pylon-lv", "generic-pylon-lv"),
              ("healthy-pylon-lv", "sol-ark-lv"), ("healthy-pylon-lv", "luxpower-eg4-lv"),
              ("healthy-pylon-lv", "sofar-me3000sp"), ("healthy-sungrow", "sungrow-sbr"), ("healthy-foxess", "foxess-h3"),
              ("healthy-schneider", "schneider-xw-pro"), ("healthy-growatt-hv", "growatt-sph-hv"),
              ("healthy-pylon-hv", "hoymiles-hyt"), ("healthy-pylon-hv", "sofar-hyd-pylon-hv"),
              ("healthy-sma-hv", "sma-sunny-boy-storage")]


def read_expect(path):
    e = {"args": [], "exit": 0, "loop": None, "must": [], "may": [], "capture": None, "code": [], "nocode": []}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, v = line.split(":", 1)
        v = v.strip()
        if k == "args":
            e["args"] = shlex.split(v)
        elif k == "capture":
            e["capture"] = v
        elif k == "exit":
            e["exit"] = int(v)
        elif k == "loop":
            e["loop"] = v
        elif k in ("must", "may", "code", "nocode"):
            e[k].append(tuple(v.split()))
        else:
            raise SystemExit("%s: unknown key %r" % (path, k))
    return e


def check_evidence(name, lines, f):
    for ev in f["evidence"]:
        n = ev["line"]
        if not 1 <= n <= len(lines):
            bad.append("%s: %s: evidence line %d outside the capture (%d lines)" % (name, f["id"], n, len(lines)))
            continue
        text = lines[n - 1].rstrip("\r\n")
        if ev["text"] != text.rstrip():
            bad.append("%s: %s: line %d text %r, the capture has %r" % (name, f["id"], n, ev["text"], text))
        m = re.match(r"\((\d+)\.(\d{6})\)", text)
        if m and ev["ts"] is not None and abs(ev["ts"] - float(m.group(1) + "." + m.group(2))) > 1e-6:
            bad.append("%s: %s: line %d ts %s, the capture says %s" % (name, f["id"], n, ev["ts"], m.group(0)))
        if not ev.get("note"):
            bad.append("%s: %s: evidence line %d says nothing" % (name, f["id"], n))
    if not 1 <= len(f["evidence"]) <= 5 and f["severity"] != "info":
        bad.append("%s: %s: %d evidence lines (want 1..5)" % (name, f["id"], len(f["evidence"])))


_text = {}
_causes = []


def causes():
    if not _causes:
        r = subprocess.run([BMSLINK, "explain", "--causes", "--json"], capture_output=True, text=True)
        _causes.append({c["id"] for c in json.loads(r.stdout)} if r.returncode == 0 else set())
    return _causes[0]


def t_out(name, e, log):
    if name not in _text:
        _text[name] = subprocess.run([BMSLINK, "diagnose", "-q"] + e["args"] + [log], capture_output=True,
                                     text=True).stdout
    return _text[name]


def check_one(name):
    e = read_expect(os.path.join(HERE, name + ".expect"))
    log = os.path.join(HERE, e["capture"] or name + ".log")
    if not os.path.exists(log):
        log = os.path.join(HERE, name + ".hex")  # RS485 captures: hex485 lines
    r = subprocess.run([BMSLINK, "diagnose", "--json", "-q"] + e["args"] + [log], capture_output=True, text=True)
    if r.returncode == 2 and "not in this build" in r.stderr:
        print("%s: skipped: %s" % (name, r.stderr.splitlines()[0]))
        skipped.append(name)
        return set()
    if r.returncode != e["exit"]:
        bad.append("%s: exit %d, expected %d (stderr: %s)" % (name, r.returncode, e["exit"], r.stderr.strip()[:200]))
    try:
        o = json.loads(r.stdout)
    except ValueError as ex:
        bad.append("%s: not JSON: %s" % (name, ex))
        return set()
    shape = os.path.join(SHARED, "tools", "check-json-shape.py")
    if os.path.exists(shape):
        s = subprocess.run(["/usr/bin/python3", shape, "diagnose"], input=r.stdout, capture_output=True, text=True)
        if s.returncode != 0:
            bad.append("%s: JSON shape: %s" % (name, s.stdout.strip()))
    got = {(f["problem"], f["id"]): f for f in o["findings"]}
    for f in o["findings"]:  # inverter error codes name their causes in this vocabulary (issue 12)
        if f["id"] not in causes():
            bad.append("%s: finding id %s is not in bmslink explain --causes (src/engines/errcode.c)" % (name, f["id"]))
    for m in e["must"]:
        f = got.get(m[:2])
        if f is None:
            bad.append("%s: %s (%s) not raised; got %s" % (name, m[0], m[1], sorted(got)))
        elif f["severity"] != m[2]:
            bad.append("%s: %s (%s) is %s, expected %s" % (name, m[0], m[1], f["severity"], m[2]))
    # inverter error codes (issue 12): the finding names what the --inverter's display would show
    for c in e["code"] + e["nocode"]:
        f = got.get(tuple(c[:2]))
        codes = [x["code"] for x in f.get("inverter_codes", [])] if f else []
        if f is None:
            bad.append("%s: %s (%s) not raised, so no code %s" % (name, c[0], c[1], c[2]))
        elif (c in e["code"]) != (c[2] in codes):
            bad.append("%s: %s (%s) shows %s, expected %s%s" % (name, c[0], c[1], codes or "no code",
                                                              "" if c in e["code"] else "not ", c[2]))
        elif c in e["code"] and "the inverter would show" not in t_out(name, e, log):
            bad.append("%s: the text output does not say what the inverter would show" % name)
    allowed = {m[:2] for m in e["must"] + e["may"]}
    for k, f in got.items():
        if f["severity"] == "error" and k not in allowed:
            bad.append("%s: false alarm: %s (%s): %s" % (name, k[0], k[1], f["cause"]))
    if e["loop"] and o["loop"] != e["loop"]:
        bad.append("%s: loop %s (%s), expected %s" % (name, o["loop"], o.get("loop_reason"), e["loop"]))
    sev = [f["severity"] for f in o["findings"]]
    if sev != sorted(sev, key=["error", "warning", "info"].index):
        bad.append("%s: findings not sorted by severity: %s" % (name, sev))
    lines = open(log).readlines()
    for f in o["findings"]:
        check_evidence(name, lines, f)
    # the human output says the same, with the same exit status
    t = subprocess.run([BMSLINK, "diagnose", "-q"] + e["args"] + [log], capture_output=True, text=True)
    if t.returncode != r.returncode:
        bad.append("%s: text exit %d, JSON exit %d" % (name, t.returncode, r.returncode))
    for f in o["findings"]:
        if "%s (%s)" % (f["problem"], f["id"]) not in t.stdout:
            bad.append("%s: text output lacks %s (%s)" % (name, f["problem"], f["id"]))
    return {m[0] for m in e["must"]}


def healthy_on_profiles():
    for cap, prof in HEALTHY_ON:
        r = subprocess.run([BMSLINK, "diagnose", "--json", "-q", "--inverter", prof, os.path.join(HERE, cap + ".log")],
                           capture_output=True, text=True)
        if r.returncode == 2 and "not in this build" in r.stderr:
            skipped.append(cap + "+" + prof)
            continue
        if r.returncode != 0:
            errs = [f for f in json.loads(r.stdout)["findings"] if f["severity"] == "error"] if r.stdout else []
            bad.append("%s on %s: exit %d, false alarms %s %s" % (cap, prof, r.returncode,
                                                                   [(f["problem"], f["id"], f["cause"]) for f in errs],
                                                                   r.stderr.strip()[:200]))


def deterministic():
    if not GEN:
        print("gencaptures not given (BL_GENCAPTURES): determinism not checked")
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([GEN, tmp], check=True)
        names = sorted(f for f in os.listdir(tmp))
        for f in names:
            mine = os.path.join(HERE, f)
            if not os.path.exists(mine):
                bad.append("%s: generated but not committed in tests/captures" % f)
            elif open(mine, "rb").read() != open(os.path.join(tmp, f), "rb").read():
                bad.append("%s: differs from what gencaptures writes (regenerate: gencaptures tests/captures)" % f)
        for f in os.listdir(HERE):
            if (f.endswith(".log") or f.endswith(".hex")) and f not in names:
                bad.append("%s: committed but gencaptures does not write it" % f)


def main():
    names = sorted(f[:-7] for f in os.listdir(HERE) if f.endswith(".expect"))
    covered = set()
    deterministic()
    for n in names:
        covered |= check_one(n)
    healthy_on_profiles()
    healthy = [n for n in names if n.startswith("healthy-")]
    if len(healthy) < 16:
        bad.append("only %d healthy captures (one per protocol family: 16)" % len(healthy))
    for p in sorted(PROBLEMS - covered):
        bad.append("no capture must raise %s" % p)
    for b in bad:
        print(b)
    print("%d captures (%d healthy, %d skipped), %d problems covered, %d failures" %
          (len(names), len(healthy), len(skipped), len(covered), len(bad)))
    return 1 if bad else 0


sys.exit(main())
