#!/usr/bin/python3
"""The simulation's virtual bus, read by tools we did not write: python-can parses the
candump -L log that `bmslink simulate --log` writes, and every Pylon LV frame is decoded
here with struct from the fact sheet's layout (can-pylon-lv.md §3: 0x351 CVL/CCL/DCL/DVL
0.1 V/A LE, 0x355 SOC/SOH 1 %, 0x356 0.01 V / 0.1 A / 0.1 C) and compared with the
timeline the simulator printed for the same second. So the frames on the bus carry what
the battery simulator claims, and they went through the real encoder."""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import can
except ImportError:
    print("python3-can not installed")
    sys.exit(77)

BASE = 1700000000.0  # the fixed epoch of simulation logs


def rnd(x):
    """half away from zero, as the fact sheets' integer fields are filled (not Python's round-half-even)"""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def main():
    b = os.environ["BMSLINK"]
    src = os.environ.get("BMSLINK_SRC", ".")
    d = tempfile.mkdtemp()
    log = os.path.join(d, "sim.log")
    scn = os.path.join(d, "s.yaml")
    with open(scn, "w") as f:  # start in the morning: charging, tapering, a cell fault
        f.write('start: "09:00"\nstart_soc_pct: 55\nevents:\n'
                '  - {at: "09:20", for: 20s, event: cell_over_voltage, cell: 3, V: 3.7}\n')
    p = subprocess.run([b, "simulate", "--battery", "pylon-lv", "--inverter", "generic-pylon-lv",
                        "--scenario", scn, "--duration", "40m", "--sample", "1s", "--json", "--log", log],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("simulate failed:", p.stderr)
        return 1
    timeline = {rnd(s["t_s"]): s for s in json.loads(p.stdout)["timeline"]}
    bad, seen = [], {0x351: 0, 0x355: 0, 0x356: 0, 0x359: 0, 0x305: 0}
    for m in can.CanutilsLogReader(log):
        t = round(m.timestamp - BASE)
        s = timeline.get(t)
        data = bytes(m.data)
        if m.arbitration_id in seen:
            seen[m.arbitration_id] += 1
        if s is None:
            bad.append("frame at %d s has no timeline sample" % t)
            continue
        if m.arbitration_id == 0x351:
            cvl, ccl, dcl, dvl = struct.unpack("<HhhH", data[:8])
            want = (rnd(s["charge_voltage_limit_V"] * 10), rnd(s["charge_current_limit_A"] * 10),
                    rnd(s["discharge_current_limit_A"] * 10), rnd(s["discharge_voltage_limit_V"] * 10))
            if (cvl, ccl, dcl, dvl) != want:
                bad.append("%d s 0x351 %s, timeline %s" % (t, (cvl, ccl, dcl, dvl), want))
        elif m.arbitration_id == 0x355:
            soc, soh = struct.unpack("<HH", data[:4])
            if soc != rnd(s["soc_pct"]):
                bad.append("%d s 0x355 SOC %d, timeline %.3f" % (t, soc, s["soc_pct"]))
        elif m.arbitration_id == 0x356:
            v, i, temp = struct.unpack("<hhh", data[:6])
            if v != rnd(s["voltage_V"] * 100) or abs(i - s["current_A"] * 10) > 0.5:
                bad.append("%d s 0x356 %d %d, timeline %.3f V %.3f A" % (t, v, i, s["voltage_V"], s["current_A"]))
        elif m.arbitration_id == 0x359:
            # protection byte 0 bit 1: cell or module over-voltage (can-pylon-lv.md §3)
            ov = bool(data[0] & 0x02)
            if ov != ("cell_over_voltage" in s["protections"]):
                bad.append("%d s 0x359 over-voltage bit %d, timeline %s" % (t, ov, s["protections"]))
    if seen[0x351] < 2399 or seen[0x305] < 2399:
        bad.append("frames seen: %s" % seen)
    ovs = [t for t, s in sorted(timeline.items()) if "cell_over_voltage" in s["protections"]]
    if not ovs:
        bad.append("the cell over-voltage event never showed in the timeline")
    for x in bad[:20]:
        print(x)
    print("%d frames checked against the timeline, %d mismatches" % (sum(seen.values()), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
