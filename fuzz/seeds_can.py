#!/usr/bin/python3
"""Write libFuzzer seeds for fuzz/can_decode.c and fuzz/can_session.c: per CAN protocol, its
fact-sheet vector frames (../shared/protocols/vectors/can) and one frame of every message it
defines, in the targets' input formats. The protocol index is its position in `bmslink
protocols`: re-run after adding protocols.

usage: fuzz/seeds_can.py BMSLINK [SHARED_DIR]"""
import csv
import glob
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests"))
import blvec  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    b = sys.argv[1]
    shared = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "..", "shared")
    os.environ["BMSLINK_SHARED"] = shared
    listing = json.loads(subprocess.run([b, "protocols", "--json"], capture_output=True, text=True,
                                        check=True).stdout)
    vecs = blvec.can_vectors()
    for idx, p in enumerate(listing):
        if p["bus"] != "can":
            continue
        detail = json.loads(subprocess.run([b, "protocols", "--json", p["name"]], capture_output=True, text=True,
                                           check=True).stdout)
        msgs = detail["messages"]
        dec, ses = bytearray([idx]), bytearray([idx, 1])
        # one frame per message, by table position (the targets map sel & 0x7F to it)
        for j, m in enumerate(msgs):
            data = bytes(range(0x11, 0x11 + m["dlc"]))
            dec += bytes([0x80 | j, 0, 0, 0, m["dlc"]]) + data
            ses += bytes([0, 0x80 | j, 0, m["dlc"]]) + data
        # the fact-sheet vectors of this protocol, as raw ids
        for v in vecs:
            if blvec.LABELS.get(v["label"]) != p["name"]:
                continue
            data = bytes.fromhex(v["data"])
            fl = 1 if v["ext"] else 0
            dec += bytes([(v["id"] >> 8) & 0x7F, fl, (v["id"] >> 8) & 0xFF, v["id"] & 0xFF, len(data)]) + data
        for target, blob in (("can_decode", dec), ("can_session", ses)):
            d = os.path.join(here, "corpus", target)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "proto-" + p["name"].replace(":", "-")), "wb") as f:
                f.write(blob)
    print("seeds written for %d CAN protocols" % sum(1 for p in listing if p["bus"] == "can"))


if __name__ == "__main__":
    main()
