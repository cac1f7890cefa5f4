#!/usr/bin/python3
"""`bmslink detect` on RS485 byte captures: one capture per framing built from the
fact-sheet vectors (frames with good checksums only), detected with and without
--format hex485, naming the protocol family and who talks."""
import csv
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import blvec  # noqa: E402

# vector file -> (bmslink protocol family root, dialect names accepted)
FILES = {
    "pylontech.csv": ("pylon-rs485", {"pylon-rs485"}),
    "pace-v25.csv": ("pylon-rs485", {"pylon-rs485:pace-v25"}),
    "daly.csv": ("daly", {"daly"}),
    "jbd.csv": ("jbd", {"jbd"}),
}


def capture(path):
    lines, directions = [], set()
    with open(path, newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if row["checksum_ok"] != "yes" or row["length_ok"] not in ("yes", "n/a"):
                continue
            frame = row["frame"]
            if row["frame_encoding"] == "hex":
                frame = " ".join(frame[k:k + 2] for k in range(0, len(frame), 2))
            lines.append("(%d.%06d) %s\n" % (1700000000 + i, 0, frame))
            directions.add(row["direction"].split("->")[0])
    return lines, directions


def main():
    b = blvec.bmslink()
    vdir = os.path.join(blvec.vectors_dir(), "rs485")
    bad = checked = 0
    for name, (root, names) in FILES.items():
        lines, dirs = capture(os.path.join(vdir, name))
        with tempfile.NamedTemporaryFile("w", suffix=".hex", delete=False) as t:
            t.writelines(lines)
            path = t.name
        try:
            for extra in ([], ["--format", "hex485"]):
                p = subprocess.run([b, "detect", "--json"] + extra + [path], capture_output=True, text=True)
                checked += 1
                if p.returncode != 0:
                    print("FAIL %s %s: exit %d: %s" % (name, extra, p.returncode, p.stderr.strip()))
                    bad += 1
                    continue
                o = json.loads(p.stdout)
                want_talk = "both" if {"host", "battery"} <= dirs else ("inverter" if "host" in dirs else "battery")
                problems = []
                if o["protocol"] not in names:
                    problems.append("protocol %s, expected one of %s" % (o["protocol"], sorted(names)))
                if o["talking"] != want_talk:
                    problems.append("talking %s, expected %s (%s)" % (o["talking"], want_talk, o["talking_evidence"]))
                if o["bus"] != "rs485" or not o["baud"]:
                    problems.append("bus %s baud %s" % (o["bus"], o["baud"]))
                if problems:
                    print("FAIL %s %s: %s" % (name, extra, "; ".join(problems)))
                    bad += 1
        finally:
            os.unlink(path)
    # a file of noise is neither CAN nor RS485: exit 3 with a message
    with tempfile.NamedTemporaryFile("w", suffix=".hex", delete=False) as t:
        t.write("zz zz not bytes\nA5 00 00\n")
        path = t.name
    p = subprocess.run([b, "detect", "--format", "hex485", path], capture_output=True, text=True)
    os.unlink(path)
    checked += 1
    if p.returncode != 3 or "no RS485 frame" not in p.stderr:
        print("FAIL noise: exit %d, stderr %r" % (p.returncode, p.stderr))
        bad += 1
    print("detect rs485: %d checks, %d failed" % (checked, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
