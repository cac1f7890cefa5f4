#!/usr/bin/python3
"""bmslink bridge live, against peers we did not write:

1. RS485 -> CAN: a Python Pylontech battery on a pty (answers 0x42 and 0x92 with the fact
   sheet's PYL-04 and PYL-05) is polled by the bridge, which writes an SMA SI log.
2. CAN -> RS485: Pylon LV frames arrive on stdin as candump -L lines (a live pipe); a Python
   inverter asks 0x92 on the pty and reads the answer with a reader written from the fact
   sheet (tests/rs485peer.py); when the frames stop the next answer is the safe state.
3. CAN -> CAN: python-can plays the slcan adapter on both sides (../shared/tools/slcan-pty.sh):
   it sends a Pylon LV log on one and records on the other what the bridge sent as SMA SI.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import rs485peer as rp  # noqa: E402

try:
    import serial  # python3-serial
except ImportError:
    print("SKIP: python3-serial not installed (scripts/deps.sh --test)")
    sys.exit(77)

C = rp.Checks()
B = rp.bmslink()
PYL04 = ("~20024600D05E1002080D020D020D020D030D000D010D010D03050B7D0B690B690B690B73FFFA680EFFFF04FFFF00000174E401"
         "B198E906\r").encode()
PYL05 = b"~20024600B014026EF05AA0022BFDD5C0F915\r"
CYCLE = ["351#1402740E740ECC01", "355#1A006400", "356#5A146301FA00", "359#000000000A504E", "35C#C000",
         "35E#50594C4F4E202020"]


def frames_of(path):
    out = []
    for line in open(path):
        p = line.split()
        if len(p) >= 3 and "#" in p[2]:
            i, d = p[2].split("#", 1)
            out.append((float(p[0].strip("()")), int(i, 16), d))
    return out


class Frames:
    """Pylon ASCII frames from a pyserial port, '~' .. CR, kept across reads (a frame that
    straddles a read timeout is not lost, as rs485peer.read_frame would lose it)."""

    def __init__(self, port):
        self.port, self.buf = port, b""

    def next(self, timeout):
        end = time.time() + timeout
        while True:
            i = self.buf.find(b"\r")
            if i >= 0:
                f, self.buf = self.buf[:i + 1], self.buf[i + 1:]
                j = f.find(b"~")
                if j >= 0:
                    return f[j:]
                continue
            if time.time() >= end:
                return None
            self.buf += self.port.read(self.port.in_waiting or 1)


def rs485_to_can(T):
    asked = []
    stop = threading.Event()
    with rp.PtyPair() as pty:
        def battery():
            with serial.Serial(pty.a, 9600, timeout=0.1) as port:
                rd = Frames(port)
                while not stop.is_set():
                    f = rd.next(0.3)
                    if not f:
                        continue
                    try:
                        q = rp.pylon_parse(f)
                    except ValueError:
                        continue
                    asked.append(q["cid2"])
                    if q["adr"] == 2 and q["cid2"] == 0x42:
                        port.write(PYL04)
                    elif q["adr"] == 2 and q["cid2"] == 0x92:
                        port.write(PYL05)
        th = threading.Thread(target=battery, daemon=True)
        th.start()
        time.sleep(0.3)
        out = os.path.join(T, "si.log")
        rc, so, se = rp.run(["bridge", "--from", "serial:%s@9600#2" % pty.b, "-P", "pylon-rs485", "--to", out,
                             "-p", "sma-si", "--duration", "3800ms", "--json"], timeout=30)
        stop.set()
        th.join(3)
    C.eq("rs485->can: exit", rc, 0)
    C.true("rs485->can: the poll order of a Pylontech host (0x51, 0x96 once, then 0x42 0x44 0x92)",
           asked[:5] == [0x51, 0x96, 0x42, 0x44, 0x92], "asked %s" % ["%02X" % c for c in asked[:8]])
    lim = [(t, d) for t, i, d in frames_of(out) if i == 0x351]
    C.true("rs485->can: PYL-05 limits reach the SI (28.4 V, 55.5 A, 55.5 A, 23.2 V)",
           len(lim) >= 2 and all(d == "1C012B022B02E800" for t, d in lim), str(lim[:3]))
    gaps = [round(b[0] - a[0], 1) for a, b in zip(lim, lim[1:])]
    C.true("rs485->can: 0x351 once a second", gaps and all(0.8 <= g <= 1.2 for g in gaps), str(gaps))
    ups = rp.ndjson(so)
    C.true("rs485->can: the JSON view shows the pack in use", ups and ups[-1]["packs"][0]["in_use"], so[-300:])
    C.true("rs485->can: 0x44 went unanswered and is counted as a timeout",
           ups and ups[-1]["packs"][0]["error_reasons"].get("timeout", 0) >= 1, so[-300:])


def can_to_rs485(T):
    answers = []
    with rp.PtyPair() as pty:
        p = subprocess.Popen([B, "bridge", "--from", "-", "-P", "pylon-lv", "--to", "serial:%s@9600" % pty.b, "-p",
                              "pylon-rs485", "--stale", "1s", "--duration", "4s", "--json"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def pack():  # a Pylon LV pack, live: a cycle every 0.5 s for 1.6 s, then silence
            t_end = time.time() + 1.6
            while time.time() < t_end:
                for fr in CYCLE:
                    p.stdin.write("(%.6f) can0 %s\n" % (time.time(), fr))
                p.stdin.flush()
                time.sleep(0.5)
        t0 = time.time()
        th = threading.Thread(target=pack, daemon=True)
        th.start()
        with serial.Serial(pty.a, 9600, timeout=0.1) as port:
            rd = Frames(port)
            for at in (1.2, 3.3):  # limits fresh; then about 1.7 s after the last frame (> --stale 1 s)
                time.sleep(max(0.0, at - (time.time() - t0)))
                port.reset_input_buffer()
                port.write(rp.pylon_frame(0x20, 0x02, 0x46, 0x92, b"\x02"))
                answers.append(rd.next(2.0))
        th.join(5)
        so, se = p.communicate(timeout=20)
    C.eq("can->rs485: exit", p.returncode, 0)
    for k, want in enumerate(((53200, 46000, 3700, -3700, 0xC0), (None, None, 0, 0, 0x00))):
        f = answers[k] if k < len(answers) else None
        C.true("can->rs485: answer %d arrived" % k, f is not None, se[-300:])
        if not f:
            continue
        try:
            q = rp.pylon_parse(f)
        except ValueError as e:
            C.true("can->rs485: answer %d parses (fact-sheet reader)" % k, False, str(e))
            continue
        info = q["info"]
        C.eq("can->rs485: answer %d RTN" % k, q["cid2"], 0)
        got = (int.from_bytes(info[1:3], "big"), int.from_bytes(info[3:5], "big"),
               int.from_bytes(info[5:7], "big", signed=True), int.from_bytes(info[7:9], "big", signed=True),
               info[9] & 0xC0)
        if want[0] is None:  # the safe state: 0 A both ways, charge and discharge disabled
            C.true("can->rs485: stale pack -> 0 A, enables cleared", got[2:] == (0, 0, 0), str(got))
        else:
            C.eq("can->rs485: CVL, DVL mV, CCL, DCL 0.1 A, enables", got, want)


def can_to_can(T):
    shared = os.environ.get("BMSLINK_SHARED", "../shared")
    tool = os.path.join(shared, "tools", "slcan-pty.sh")
    if not os.path.exists(tool):
        print("SKIP can->can: %s missing" % tool)
        return
    log = os.path.join(T, "pack.log")
    t = 1700000000.0
    with open(log, "w") as fp:
        for s in range(5):
            for k, fr in enumerate(CYCLE):
                fp.write("(%.6f) can0 %s\n" % (t + s + k * 0.001, fr))
    dump = os.path.join(T, "inv.log")
    inner = ('"%s" --adapter --dump "%s" -- sh -c \'"%s" bridge --from "slcan:$PACK_TTY@500000" -P pylon-lv '
             '--to "slcan:$SLCAN_TTY@500000" -p sma-si --duration 4s --json > "%s/view.json"\'' %
             (tool, dump, B, T))
    cmd = [tool, "--adapter", "--send", log, "--start-after", "0.5", "--", "sh", "-c",
           'PACK_TTY="$SLCAN_TTY" ' + inner]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    C.eq("can->can: exit (%s)" % p.stderr[-300:].replace("\n", " | "), p.returncode, 0)
    if not os.path.exists(dump):
        C.true("can->can: python-can recorded what the bridge sent", False)
        return
    fr = frames_of(dump)
    lim = [d for t, i, d in fr if i == 0x351]
    C.true("can->can: python-can got SMA SI 0x351 with the pack's limits",
           len(lim) >= 3 and all(d.upper() == "1402740E740ECC01" for d in lim), str(lim[:3]))
    ids = sorted({i for t, i, d in fr})
    C.true("can->can: the whole SI set", {0x351, 0x355, 0x356, 0x35A, 0x35E, 0x35F} <= set(ids), str(ids))


with tempfile.TemporaryDirectory() as T:
    rs485_to_can(T)
    can_to_rs485(T)
    can_to_can(T)
sys.exit(C.done())
