#!/usr/bin/python3
"""Capture formats against peers we did not write (issue #12).

- pcap / pcapng: what `bmslink convert` writes is read by tshark (every field compared), and
  what tshark writes from a candump log (`tshark -r x.log -w y.pcapng`, -F pcap) is read by
  bmslink frame for frame.
- TRC: python-can's TRCWriter (2.1 and 1.0) read by bmslink, and bmslink's 2.1 / 1.1 read by
  python-can's TRCReader; ASC both ways through python-can's ASCWriter / ASCReader.
Exit 77 (skipped) when tshark or python-can is missing.
"""
import os
import shutil
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


def run(*args, ok=True):
    p = subprocess.run([BMSLINK, *args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        print("bmslink", *args, "->", p.returncode, p.stderr)
        sys.exit(1)
    return p


def parse_log(text):
    """candump -L lines -> (ts_us, bus, id_text, data_text)"""
    out = []
    for line in text.splitlines():
        ts, bus, frame = line.split()
        sec, frac = ts.strip("()").split(".")
        out.append((int(sec) * 1000000 + int(frac), bus, frame))
    return out


# A mix: classic 11/29-bit, remote, CAN FD with bit rate switch, an error frame (bus-off), a
# second bus, and the first 300 frames of a real Pylontech LV capture.
MIX = """(1718000000.010200) can0 351#2802F401F401E001
(1718000000.011450) can0 18FF50E5#0102
(1718000000.012000) can0 123#R4
(1718000000.013000) can0 456##1000102030405060708090A0B
(1718000000.014000) can0 20000040#0000000000000000
(1718000000.015001) can1 7FF#
"""


def tshark_rows(path):
    fields = ["frame.time_epoch", "frame.interface_name", "can.id", "can.flags.xtd", "can.flags.rtr",
              "can.flags.err", "can.len", "canfd.flags.brs", "data.data", "can.err.busoff"]
    args = ["tshark", "-r", path, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        args += ["-e", f]
    p = subprocess.run(args, capture_output=True, text=True)
    check(p.returncode == 0, "tshark -r %s: %s" % (path, p.stderr.strip()))
    return [dict(zip(fields, line.split("|"))) for line in p.stdout.splitlines()]


def pcap_vs_tshark(tmp, src):
    frames = parse_log(open(src).read())
    for fmt in ("pcap", "pcapng"):
        out = os.path.join(tmp, "ours." + fmt)
        run("convert", "-q", src, out)
        rows = tshark_rows(out)
        check(len(rows) == len(frames), "%s: tshark reads %d packets, %d written" % (fmt, len(rows), len(frames)))
        for (ts, bus, fr), r in zip(frames, rows):
            sec, frac = r["frame.time_epoch"].split(".")
            t = int(sec) * 1000000 + int(frac[:6])
            if not check(t == ts, "%s: %s at %d, tshark says %d" % (fmt, fr, ts, t)):
                break
            if fmt == "pcapng":
                check(r["frame.interface_name"] == bus, "pcapng: bus %s read as %r" % (bus, r["frame.interface_name"]))
            ident, _, data = fr.partition("#")
            if len(ident) == 8 and int(ident, 16) & 0x20000000:  # error frame
                check(r["can.flags.err"] == "1" and r["can.err.busoff"] in ("1", "True"),
                      "%s: error frame %s as %r" % (fmt, fr, r))
                continue
            check(int(r["can.id"]) == int(ident, 16), "%s: id %s as %s" % (fmt, ident, r["can.id"]))
            check(r["can.flags.xtd"] == ("1" if len(ident) == 8 else "0"), "%s: %s extended flag" % (fmt, fr))
            if data.startswith("R"):
                check(r["can.flags.rtr"] == "1" and r["can.len"] == (data[1:] or "0"), "%s: remote %s" % (fmt, fr))
            elif data.startswith("#"):
                check(r["canfd.flags.brs"] == ("1" if data[1] in "13" else "0"), "%s: FD flags of %s" % (fmt, fr))
                check(r["data.data"].upper() == data[2:], "%s: FD data of %s" % (fmt, fr))
            else:
                check(r["data.data"].upper() == data and int(r["can.len"]) == len(data) // 2,
                      "%s: data of %s: %r" % (fmt, fr, r["data.data"]))


def tshark_vs_ours(tmp, src):
    want = parse_log(open(src).read())
    for fmt, args in (("pcapng", []), ("pcap", ["-F", "pcap"])):
        out = os.path.join(tmp, "tshark." + fmt)
        p = subprocess.run(["tshark", "-r", src, *args, "-w", out], capture_output=True, text=True)
        if not check(p.returncode == 0, "tshark -w %s: %s" % (fmt, p.stderr)):
            continue
        got = parse_log(run("convert", "-q", out, "-", "--format", "log").stdout)
        # tshark's candump reader names no interface: every frame reads back on can0
        check([(t, f) for t, _, f in got] == [(t, f) for t, _, f in want],
              "%s written by tshark: %d frames read, %d expected; first difference %s" %
              (fmt, len(got), len(want), next(((a, b) for a, b in zip(got, want) if a[0::2] != b[0::2]), None)))


def python_can_trc(tmp, src):
    import can
    from can.io.trc import TRCFileVersion
    frames = [f for f in parse_log(open(src).read()) if "#" in f[2] and "##" not in f[2] and "#R" not in f[2]
              and not (len(f[2].split("#")[0]) == 8 and int(f[2].split("#")[0], 16) & 0x20000000)]
    t0 = frames[0][0]
    # python-can writes, bmslink reads: the time offsets, ids, lengths and bytes survive
    for ver in (TRCFileVersion.V2_1, TRCFileVersion.V1_0):
        path = os.path.join(tmp, "pycan-%s.trc" % ver.name)
        w = can.TRCWriter(path)
        w.file_version = ver
        for ts, bus, fr in frames:
            ident, _, data = fr.partition("#")
            w.on_message_received(can.Message(timestamp=ts / 1e6, arbitration_id=int(ident, 16),
                                              is_extended_id=len(ident) == 8, data=bytes.fromhex(data), channel=1))
        w.stop()
        got = parse_log(run("convert", "-q", path, "-", "--format", "log").stdout)
        ok = check(len(got) == len(frames), "python-can TRC %s: %d frames read, %d written" % (ver.name, len(got),
                                                                                                len(frames)))
        for (ts, _, fr), (gts, _, gfr) in zip(frames, got):
            # offsets: 2.1 keeps µs, 1.0 whole ms (python-can rounds, PEAK's 1.0 has no fraction)
            res = 1 if ver == TRCFileVersion.V2_1 else 1000
            off, goff = ts - t0, gts - got[0][0]
            if ok and not check(fr == gfr and abs(off - goff) <= res // 2 + 1,
                                "python-can TRC %s: %s at +%d us read as %s at +%d us" %
                                (ver.name, fr, off, gfr, goff)):
                break
    # bmslink writes, python-can reads (data frames only: python-can 4.1 skips 2.x remote, status
    # and FD lines and fails on 1.1's "RTR")
    plain = os.path.join(tmp, "plain.log")
    with open(plain, "w") as f:
        f.writelines("(%d.%06d) %s %s\n" % (ts // 1000000, ts % 1000000, bus, fr) for ts, bus, fr in frames)
    for ver in ("trc", "trc-1.1"):
        path = os.path.join(tmp, "ours-%s.trc" % ver)
        run("convert", "-q", "--format", ver, plain, path)
        msgs = list(can.TRCReader(path))
        check(len(msgs) == len(frames), "python-can reads %d frames of our %s, %d written" % (len(msgs), ver,
                                                                                            len(frames)))
        for (ts, _, fr), m in zip(frames, msgs):
            ident, _, data = fr.partition("#")
            off = (ts - t0) / 1e6
            res = 1e-6 if ver == "trc" else 1e-4
            if not check(m.arbitration_id == int(ident, 16) and m.is_extended_id == (len(ident) == 8) and
                         bytes(m.data).hex().upper() == data and abs(m.timestamp - msgs[0].timestamp - off) <= res,
                         "python-can reads our %s: %s at +%.6f as %r" % (ver, fr, off, m)):
                break


def python_can_asc(tmp, src):
    import can
    frames = [f for f in parse_log(open(src).read()) if "##" not in f[2] and
              not (len(f[2].split("#")[0]) == 8 and int(f[2].split("#")[0], 16) & 0x20000000)]
    plain = os.path.join(tmp, "asc-src.log")
    with open(plain, "w") as f:
        f.writelines("(%d.%06d) %s %s\n" % (ts // 1000000, ts % 1000000, bus, fr) for ts, bus, fr in frames)
    path = os.path.join(tmp, "ours.asc")
    run("convert", "-q", plain, path)
    msgs = list(can.ASCReader(path, relative_timestamp=False))
    check(len(msgs) == len(frames), "python-can ASCReader: %d of %d frames" % (len(msgs), len(frames)))
    for (ts, _, fr), m in zip(frames, msgs):
        ident, _, data = fr.partition("#")
        rtr = data.startswith("R")
        if not check(m.arbitration_id == int(ident, 16) and m.is_remote_frame == rtr and
                     (rtr or bytes(m.data).hex().upper() == data) and abs(m.timestamp - ts / 1e6) < 2e-6,
                     "python-can ASCReader: %s at %d as %r" % (fr, ts, m)):
            break
    path = os.path.join(tmp, "pycan.asc")
    w = can.ASCWriter(path)
    for ts, bus, fr in frames:
        ident, _, data = fr.partition("#")
        rtr = data.startswith("R")
        w.on_message_received(can.Message(timestamp=ts / 1e6, arbitration_id=int(ident, 16),
                                          is_extended_id=len(ident) == 8, is_remote_frame=rtr,
                                          dlc=int(data[1:] or "0") if rtr else len(data) // 2,
                                          data=None if rtr else bytes.fromhex(data), channel=0))
    w.stop()
    got = parse_log(run("convert", "-q", path, "-", "--format", "log").stdout)
    check([f for _, _, f in got] == [f for _, _, f in frames], "python-can ASCWriter: frames differ")
    # python-can writes the first frame's time as the Triggerblock, to the millisecond, and the
    # offsets from it to the microsecond: offsets survive exactly, absolute times to 1 ms
    g0, f0 = got[0][0], frames[0][0]
    check(all(abs((a[0] - g0) - (b[0] - f0)) <= 1 for a, b in zip(got, frames)) and abs(g0 - f0) < 1000,
          "python-can ASCWriter: times differ: %r" %
          (next(((a, b) for a, b in zip(got, frames) if abs((a[0] - g0) - (b[0] - f0)) > 1), (g0, f0)),))


def main():
    if shutil.which("tshark") is None:
        print("tshark not installed (scripts/deps.sh --test)")
        return 77
    try:
        import can  # noqa: F401
    except ImportError:
        print("python3-can not installed")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "mix.log")
        with open(src, "w") as f:
            f.write(MIX)
            with open(os.path.join(SRC, "tests", "captures", "healthy-pylon-lv.log")) as real:
                f.writelines(real.readlines()[:300])
        pcap_vs_tshark(tmp, src)
        tshark_vs_ours(tmp, src)
        python_can_trc(tmp, src)
        python_can_asc(tmp, src)
    print("capture formats vs tshark and python-can: %s" % ("ok" if failures == 0 else "%d failures" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
