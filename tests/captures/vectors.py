#!/usr/bin/python3
"""bmslink diagnose on the real frames of ../shared/protocols/vectors: every protocol's
vector frames, one a second, as a candump -L capture (CAN) or hex485 lines (RS485).
They are frames real batteries, inverters and tools sent: diagnose must read them as the
protocol they are (no battery_not_detected, no wrong_* finding), reject only the rows the
fact sheets flag as rejects, give evidence that points at lines of the capture, and print
JSON of the CLI.md shape. What it says about each set is printed (a handful of frames is
not a site: a missing SOC or keep-alive is expected there)."""
import collections
import csv
import glob
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import blvec  # noqa: E402

BMSLINK = os.environ.get("BMSLINK", "bmslink")
SHARED = os.environ.get("BMSLINK_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
VEC = os.path.join(SHARED, "protocols", "vectors")
RS_LABELS = {"pylon-rs485": "pylon-rs485", "seplos-v2": "pylon-rs485:seplos-v2", "pace-v25": "pylon-rs485:pace-v25",
             "eg4-lifepower4": "pylon-rs485:eg4", "daren-1363": "pylon-rs485:daren", "daly-a5": "daly", "jbd": "jbd",
             "jk-4e57": "jk-4e57"}  # Modbus maps are register reads, not frames: not diagnosed
NOT_FOUND = ("battery_not_detected", "wrong_bitrate", "wrong_id_length", "wrong_protocol")
bad = []


def flagged(note):
    n = (note or "").lower()
    return any(k in n for k in ("reject", "implausible", "flagged", "wrong", "corrupt", "altered", "must not"))


def run(name, proto, path, nlines, expect_rejects, answers=True):
    r = subprocess.run([BMSLINK, "diagnose", "--json", "-q", "-p", proto, path], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        bad.append("%s: exit %d: %s" % (name, r.returncode, r.stderr.strip()[:300]))
        return
    o = json.loads(r.stdout)
    s = subprocess.run(["/usr/bin/python3", os.path.join(SHARED, "tools", "check-json-shape.py"), "diagnose"],
                       input=r.stdout, capture_output=True, text=True)
    if s.returncode != 0:
        bad.append("%s: JSON shape: %s" % (name, s.stdout.strip()))
    if o["protocol"] != proto:
        bad.append("%s: read as %s" % (name, o["protocol"]))
    for f in o["findings"]:
        if f["severity"] == "error" and f["problem"] in NOT_FOUND and (answers or f["id"] != "no_answer_to_polls"):
            bad.append("%s: real frames not read: %s (%s): %s" % (name, f["problem"], f["id"], f["cause"]))
        if f["id"] in ("out_of_range", "malformed_burst", "soc_scale") and not expect_rejects:
            bad.append("%s: %s (%s) on frames no fact sheet flags: %s" % (name, f["problem"], f["id"], f["cause"]))
        for e in f["evidence"]:
            if not 1 <= e["line"] <= nlines:
                bad.append("%s: evidence line %d of %d" % (name, e["line"], nlines))
    print("%-24s %3d frames  %s" % (name, nlines, ", ".join("%s %s (%s)" % (f["severity"], f["problem"], f["id"])
                                                              for f in o["findings"]) or "nothing to say"))


def can_sets(tmp):
    n = 0
    for path in sorted(glob.glob(os.path.join(VEC, "can", "*.csv"))):
        sets = collections.OrderedDict()
        for row in csv.DictReader(open(path)):
            lab = blvec.LABELS.get(row["protocol"])
            if lab is not None:
                sets.setdefault(lab, collections.OrderedDict()).setdefault(row["vector_id"], row)
        for lab, rows in sets.items():
            lines, rejects = [], False
            for i, row in enumerate(rows.values()):
                ext = row["ext"] == "1"
                lines.append("(%d.000000) can0 %s#%s" % (1718000000 + i, row["id_hex"].zfill(8 if ext else 3),
                                                         row["data_hex"]))
                rejects = rejects or flagged(row.get("note"))
            f = os.path.join(tmp, "%s.log" % lab.replace(":", "_"))
            open(f, "w").write("\n".join(lines) + "\n")
            run(lab, lab, f, len(lines), rejects)
            n += 1
    return n


def rs_sets(tmp):
    n = 0
    for path in sorted(glob.glob(os.path.join(VEC, "rs485", "*.csv"))):
        sets = collections.OrderedDict()
        for row in csv.DictReader(open(path)):
            lab = RS_LABELS.get(row["protocol"])
            if lab is not None:
                sets.setdefault(lab, []).append(row)
        for lab, rows in sets.items():
            lines, rejects = [], False
            # requests only (Daren: reply layouts unknown), or answers that are all deliberately broken
            answers = any(not row["direction"].startswith("host") and row.get("checksum_ok") != "no" for row in rows)
            for i, row in enumerate(rows):
                fr = row["frame"] if row["frame_encoding"].startswith("ascii") else \
                    " ".join(row["frame"][k:k + 2] for k in range(0, len(row["frame"]), 2))
                lines.append("(%d.000000) %s" % (1718000000 + i, fr))
                rejects = rejects or row.get("checksum_ok") == "no" or row.get("length_ok") == "no" or \
                    flagged(row.get("note"))
            f = os.path.join(tmp, "%s.hex" % lab.replace(":", "_"))
            open(f, "w").write("\n".join(lines) + "\n")
            run(lab, lab, f, len(lines), rejects, answers)
            n += 1
    return n


def main():
    if not os.path.isdir(VEC):
        print("SKIP: %s not found (../shared beside the checkout)" % VEC)
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        n = can_sets(tmp) + rs_sets(tmp)
    for b in bad:
        print("FAIL", b)
    print("%d vector sets diagnosed, %d failures" % (n, len(bad)))
    return 1 if bad else 0


sys.exit(main())
