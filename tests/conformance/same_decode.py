#!/usr/bin/python3
"""same_decode.py WANT.json GOT.json: decode --json output of a capture (WANT) and of the
same frames received live (GOT) agree frame by frame on everything but when and where
(ts, bus): a transport must deliver exactly what was on the wire."""
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    want, got = load(sys.argv[1]), load(sys.argv[2])
    bad = []
    if len(want) != len(got):
        bad.append("%d frames expected, %d decoded" % (len(want), len(got)))
    for i, (w, g) in enumerate(zip(want, got)):
        for k in ("ts", "bus"):
            w.pop(k, None)
            g.pop(k, None)
        if w != g:
            bad.append("frame %d: want %s\n            got  %s" % (i + 1, json.dumps(w)[:200], json.dumps(g)[:200]))
    for m in bad[:5]:
        print("same_decode: " + m)
    if not bad:
        print("same_decode: %d frames decode the same live and from the capture" % len(want))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
