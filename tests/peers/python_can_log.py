#!/usr/bin/python3
"""candump logs both ways with python-can (a reader and writer we did not write):
python-can reads bmslink's sample capture frame for frame, and bmslink decodes a
log that python-can's CanutilsLogWriter wrote to the values that were put in."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import blvec  # noqa: E402

try:
    import can
except ImportError:
    print("python3-can not installed")
    sys.exit(77)


def main():
    bad = []
    src = os.environ.get("BMSLINK_SRC", ".")
    sample = os.path.join(src, "share", "captures", "pylon-lv-sample.log")

    # 1. python-can reads the bundled capture; bmslink sees the same frames.
    # python-can's parser crashes on malformed lines, so it gets the well-formed ones.
    import re
    good = re.compile(r"^\(\d+\.\d{6}\) \w+ ([0-9A-F]{3}|[0-9A-F]{8})#([0-9A-F]{2})*$")
    clean = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)
    with open(sample) as f:
        clean.writelines(l for l in f if good.match(l.strip()))
    clean.close()
    theirs = [m for m in can.CanutilsLogReader(clean.name)]
    os.unlink(clean.name)
    p = subprocess.run([blvec.bmslink(), "decode", "-p", "pylon-lv", "--json", "-q", sample],
                       capture_output=True, text=True)
    import json
    ours = [json.loads(l) for l in p.stdout.splitlines()]
    if len(theirs) < len(ours):
        bad.append("python-can read %d frames, bmslink %d" % (len(theirs), len(ours)))
    by_ts = {}
    for m in theirs:
        by_ts.setdefault(round(m.timestamp, 6), []).append(m)
    matched = 0
    for o in ours:
        cands = by_ts.get(round(o["ts"], 6), [])
        hit = [m for m in cands if m.arbitration_id == int(o["id"], 16) and m.data.hex().upper() == o["data"]]
        if not hit:
            bad.append("bmslink frame %s %s %s not read the same by python-can" % (o["ts"], o["id"], o["data"]))
        else:
            matched += 1

    # 2. python-can writes a log; bmslink decodes it to what was written
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "pc.log")
        w = can.CanutilsLogWriter(path, channel="vcan0")
        # 53.2 V / 100.0 A / 120.0 A / 47.0 V; 76 % / 99 %; 52.37 V, -12.5 A, 23.4 C
        frames = [(0x351, "1402E803B004D601"), (0x355, "4C006300"), (0x356, "751483FFEA00")]
        for i, (fid, data) in enumerate(frames):
            w.on_message_received(can.Message(timestamp=1700000000.0 + i, arbitration_id=fid,
                                              is_extended_id=False, data=bytes.fromhex(data)))
        w.stop()
        p = subprocess.run([blvec.bmslink(), "decode", "-p", "pylon-lv", "--summary", path],
                           capture_output=True, text=True)
        if p.returncode != 0:
            bad.append("bmslink failed on python-can's log: %s" % p.stderr)
        else:
            rec = json.loads(p.stdout)["record"]
            want = {"charge_voltage_limit_V": 53.2, "charge_current_limit_A": 100.0,
                    "discharge_current_limit_A": 120.0, "discharge_voltage_limit_V": 47.0,
                    "soc_pct": 76, "soh_pct": 99, "voltage_V": 52.37, "current_A": -12.5, "temperature_C": 23.4}
            for k, v in want.items():
                if abs(rec.get(k, 1e9) - v) > 1e-9:
                    bad.append("python-can log: %s = %r, expected %r" % (k, rec.get(k), v))
    print("python-can: %d of %d bmslink frames matched python-can's reading; writer check %s"
          % (matched, len(ours), "failed" if bad else "ok"))
    for b in bad[:20]:
        print("FAIL " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
