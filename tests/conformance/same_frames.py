#!/usr/bin/python3
"""same_frames.py A.log B.log [--same-ts US]: the two candump -L logs hold the same frames
(id, id length, remote flag, data) in the same order. Both are read with python-can's
CanutilsLogReader, a reader we did not write, so this also proves bmslink's logs are
python-can compatible. --same-ts US also requires timestamps within US microseconds."""
import sys

try:
    import can
except ImportError:
    print("same_frames: python3-can not installed")
    sys.exit(77)


def frames(path):
    return [m for m in can.CanutilsLogReader(path)]


def main():
    args = sys.argv[1:]
    tol = None
    if "--same-ts" in args:
        i = args.index("--same-ts")
        tol = int(args[i + 1]) / 1e6
        del args[i:i + 2]
    a, b = frames(args[0]), frames(args[1])
    bad = []
    if len(a) != len(b):
        bad.append("%s has %d frames, %s has %d" % (args[0], len(a), args[1], len(b)))
    for i, (x, y) in enumerate(zip(a, b)):
        if (x.arbitration_id, x.is_extended_id, x.is_remote_frame, bytes(x.data)) != \
           (y.arbitration_id, y.is_extended_id, y.is_remote_frame, bytes(y.data)):
            bad.append("frame %d: %s vs %s" % (i + 1, x, y))
        elif tol is not None and abs(x.timestamp - y.timestamp) > tol:
            bad.append("frame %d: timestamps %.6f vs %.6f" % (i + 1, x.timestamp, y.timestamp))
    for m in bad[:10]:
        print("same_frames: " + m)
    if not bad:
        print("same_frames: %d frames identical" % len(a))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
