#!/usr/bin/python3
"""Machine output keeps to CLI.md: ../shared/tools/check-json-shape.py on every shape we emit."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import blvec  # noqa: E402


def main():
    b = blvec.bmslink()
    checker = os.path.join(os.environ.get("BMSLINK_SHARED", "../shared"), "tools", "check-json-shape.py")
    if not os.path.exists(checker):
        print("check-json-shape.py not found")
        return 77
    sample = os.path.join(os.environ.get("BMSLINK_SRC", "."), "share", "captures", "pylon-lv-sample.log")
    runs = {
        "decode": [b, "decode", "-p", "pylon-lv", "--json", "-q", sample],
        "summary": [b, "decode", "-p", "pylon-lv", "--summary", "-q", sample],
        "protocols": [b, "protocols", "--json"],
    }
    bad = 0
    for kind, cmd in runs.items():
        out = subprocess.run(cmd, capture_output=True, text=True).stdout
        chk = subprocess.run(["/usr/bin/python3", checker, kind], input=out, capture_output=True, text=True)
        if chk.returncode != 0:
            print("FAIL %s:\n%s" % (kind, chk.stdout[:2000]))
            bad += 1
        else:
            print("%s: shape ok (%d bytes)" % (kind, len(out)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
