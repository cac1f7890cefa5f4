#!/usr/bin/python3
"""convert, replay and decode --csv as a user meets them (issue #12).

- every format to every format and back to candump -L, each read without saying its format
  (auto-detection), equal to the source;
- bad input: garbage text, unknown binary, truncated pcap, an Ethernet pcap, unknown --format,
  unwritable OUT: the message names the file and where, and the exit code is CLI.md's;
- decode --csv read by Python's csv module: header = canonical keys (units in the key), one row
  per time step, the last row equal to decode --summary's record; --step rows exactly D apart;
- replay --speed max onto a virtual bus with --record: what was sent equals the capture.
"""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

BMSLINK = os.environ.get("BMSLINK", "bmslink")
SRC = os.environ.get("BMSLINK_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    return cond


def run(*args):
    return subprocess.run([BMSLINK, *args], capture_output=True, text=True)


FORMATS = [("log", "log"), ("asc", "asc"), ("trc", "trc"), ("trc-2.0", "trc"), ("trc-1.1", "trc"),
           ("gvret", "csv"), ("pcap", "pcap"), ("pcapng", "pcapng")]


def convert_matrix(tmp):
    # classic frames on can0, timestamps on 100 µs (TRC 1.1 keeps 0.1 ms), 11- and 29-bit ids
    src = os.path.join(tmp, "src.log")
    lines = []
    with open(os.path.join(SRC, "tests", "captures", "healthy-pylon-lv.log")) as f:
        for i, line in enumerate(f.readlines()[:200]):
            ts, bus, fr = line.split()
            us = round(float(ts.strip("()")) * 1e4) * 100
            if i % 7 == 3:
                fr = "18FF%02XE5#%s" % (i, fr.split("#")[1])
            lines.append("(%d.%06d) %s %s\n" % (us // 1000000, us % 1000000, bus, fr))
    open(src, "w").writelines(lines)
    want = "".join(lines)
    files = {}
    for name, ext in FORMATS:
        out = os.path.join(tmp, "a-%s.%s" % (name, ext))
        p = run("convert", "-q", "--format", name, src, out)
        check(p.returncode == 0, "convert to %s: %s" % (name, p.stderr))
        files[name] = out
    for a, _ in FORMATS:
        for b, ext in FORMATS:
            mid = os.path.join(tmp, "b-%s-%s.%s" % (a, b, ext))
            p = run("convert", "-q", files[a], mid, "--to", b)  # IN's format detected
            if not check(p.returncode == 0, "convert %s -> %s: %s" % (a, b, p.stderr)):
                continue
            back = run("convert", "-q", mid, "-", "--format", "log")
            check(back.stdout == want, "%s -> %s -> candump -L differs from the source (%d vs %d lines)" %
                  (a, b, back.stdout.count("\n"), want.count("\n")))


def errors(tmp):
    def expect(args, rc, *words):
        p = run(*args)
        check(p.returncode == rc and all(w in p.stderr for w in words),
              "bmslink %s: exit %d (want %d), stderr %r should name %r" % (" ".join(args), p.returncode, rc,
                                                                            p.stderr[:300], words))

    garbage = os.path.join(tmp, "garbage.txt")
    open(garbage, "w").write("hello world\nfoo,bar\n")
    expect(["convert", garbage, os.path.join(tmp, "o.log")], 3, "garbage.txt:1:", "no CAN frames")
    blob = os.path.join(tmp, "blob.blf")
    open(blob, "wb").write(b"LOGG\x90\x00\x00\x00" + bytes(range(256)))
    expect(["convert", blob, os.path.join(tmp, "o.log")], 3, "blob.blf:offset 0:", "binary data")
    good = os.path.join(tmp, "a-pcap.pcap")
    data = open(good, "rb").read()
    trunc = os.path.join(tmp, "trunc.pcap")
    open(trunc, "wb").write(data[:24 + 3 * 32 + 10])  # header, 3 records of 16+16 bytes, a cut one
    p = run("convert", trunc, "-", "--format", "log")
    check(p.returncode == 0 and p.stdout.count("\n") == 3 and "trunc.pcap:offset 120:" in p.stderr and
          "truncated" in p.stderr, "truncated pcap: %d %r %r" % (p.returncode, p.stdout, p.stderr))
    eth = os.path.join(tmp, "eth.pcap")
    open(eth, "wb").write(data[:20] + b"\x01\x00\x00\x00" + data[24:])
    expect(["convert", eth, os.path.join(tmp, "o.log")], 3, "eth.pcap:offset 0:", "Ethernet")
    expect(["convert", good, os.path.join(tmp, "o.log"), "--format", "blf"], 2, "unknown --format 'blf'")
    expect(["convert", good, os.path.join(tmp, "o.xyz")], 2, "o.xyz", "--format")
    expect(["convert", good, os.path.join(tmp, "nodir", "o.trc")], 3, "nodir/o.trc")
    expect(["convert", os.path.join(tmp, "missing.trc"), os.path.join(tmp, "o.log")], 3, "missing.trc")
    expect(["replay", os.path.join(tmp, "missing.trc"), "--on", "virtual:x"], 3, "missing.trc")
    expect(["replay", good], 2, "--on")
    expect(["replay", good, "--on", "virtual:x", "--speed", "fast"], 2, "--speed")
    expect(["decode", "--csv", "--json", good], 2, "--csv")


def csv_export(tmp):
    cap = os.path.join(SRC, "tests", "captures", "healthy-pylon-lv.log")
    p = run("decode", "--csv", cap)
    if not check(p.returncode == 0, "decode --csv: %s" % p.stderr):
        return
    rows = list(csv.reader(io.StringIO(p.stdout)))
    head, body = rows[0], rows[1:]
    summ = json.loads(run("decode", "--summary", cap).stdout)
    rec = summ["record"]
    check(head[:2] == ["ts_s", "elapsed_s"], "csv header starts %r" % head[:2])
    check(all(all(len(r) == len(head) for r in body) for _ in [0]), "csv rows of unequal width")
    for key in head[2:]:
        check(key in rec or key in ("alarms", "protections", "warnings"), "csv column %r is not a canonical key" % key)
    check(any(k.endswith(u) for k in head for u in ("_V", "_A", "_pct", "_C")), "csv header carries no units")
    ts = [float(r[0]) for r in body]
    check(all(a < b for a, b in zip(ts, ts[1:])), "csv timestamps do not increase")
    check(abs(ts[-1] - summ["last_ts"]) < 1e-6 or ts[-1] <= summ["last_ts"], "csv ends after the capture")
    check(all(abs(float(r[1]) - (float(r[0]) - ts[0])) < 2e-6 for r in body), "elapsed_s is not ts_s - first")
    last = dict(zip(head, body[-1]))
    for k, v in rec.items():
        if k in last and isinstance(v, (int, float)) and not isinstance(v, bool) and last[k] != "":
            check(abs(float(last[k]) - v) < 1e-9, "csv last %s = %s, --summary says %s" % (k, last[k], v))
    # --step: exactly one row per step of capture time
    p = run("decode", "--csv", "--step", "10s", cap)
    body = list(csv.reader(io.StringIO(p.stdout)))[1:]
    ts = [float(r[0]) for r in body]
    check(len(body) > 5 and all(abs((b - a) - 10.0) < 1e-6 for a, b in zip(ts, ts[1:])),
          "--step 10s rows at %r" % ts[:5])
    # a pipe streams its rows (a column for every field the protocol carries), the same rows
    p2 = subprocess.run([BMSLINK, "decode", "--csv", "-p", "pylon-lv", "-"], input=open(cap).read(),
                        capture_output=True, text=True)
    piped = list(csv.reader(io.StringIO(p2.stdout)))
    filed = list(csv.reader(io.StringIO(run("decode", "--csv", "-p", "pylon-lv", cap).stdout)))
    check(p2.returncode == 0 and set(filed[0]) <= set(piped[0]) and len(piped) == len(filed) and
          [dict(zip(piped[0], r)).get(k) for r in piped[1:] for k in filed[0]] ==
          [dict(zip(filed[0], r)).get(k) for r in filed[1:] for k in filed[0]],
          "decode --csv from a pipe: %d rows, columns %r" % (len(piped), piped[0] if piped else None))
    # RS485 captures export the same way
    p = run("decode", "--csv", os.path.join(SRC, "tests", "captures", "healthy-daly.hex"))
    rows = list(csv.reader(io.StringIO(p.stdout)))
    check(p.returncode == 0 and len(rows) > 2 and "soc_pct" in rows[0], "RS485 --csv: %r" % rows[:2])


def replay(tmp):
    src = os.path.join(tmp, "a-trc.trc")
    rec = os.path.join(tmp, "sent.pcapng")
    p = run("replay", src, "--on", "virtual:replay-cli", "--speed", "max", "--record", rec)
    check(p.returncode == 0 and "200 frames sent" in p.stderr, "replay --speed max: %d %s" % (p.returncode, p.stderr))
    want = [l.split()[2] for l in run("convert", "-q", src, "-", "--format", "log").stdout.splitlines()]
    got = [l.split()[2] for l in run("convert", "-q", rec, "-", "--format", "log").stdout.splitlines()]
    check(got == want, "replay --record: %d frames recorded, %d in the capture" % (len(got), len(want)))
    p = run("replay", src, "--on", "virtual:replay-cli", "--speed", "max", "--loop", "--count", "450")
    check(p.returncode == 0 and "450 frames sent" in p.stderr, "replay --loop --count 450: %s" % p.stderr)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        convert_matrix(tmp)
        errors(tmp)
        csv_export(tmp)
        replay(tmp)
    print("convert, replay, decode --csv: %s" % ("ok" if failures == 0 else "%d failures" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
