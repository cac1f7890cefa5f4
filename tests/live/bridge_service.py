#!/usr/bin/python3
"""bmslink bridge as a service: devices that go away and come back, a stalled main loop,
systemd's notify protocol.

Two slcan adapters are played by this script on ptys it creates (os.openpty) and names by
symlinks, so a device can be unplugged (its pty closed, the name removed: the bridge's reads
fail as with a USB adapter pulled out) and plugged in again (a new pty under the same name).
The adapter answers C/S/O/V like a Lawicel adapter and acks frames with z; the pack side
sends a Pylon LV battery's cycle every 0.3 s; the inverter side keeps every SMA SI frame the
bridge sends. Timeline (s since start):

  0    plugged in           -> 0x351 carries the pack's limits (37.0 A both ways)
  3    pack adapter gone    -> 0x351 with 0 A charge and discharge (the safe state) at once
  5    pack adapter back    -> normal limits again (reconnect with backoff)
  7.5  inverter adapter gone, 8 back -> the bridge reconnects its output and goes on
  10   the main loop stalls for 2.5 s (BMSLINK_TEST_STALL_MS) -> the watchdog thread sends
       the safe state while it sleeps; normal limits after
"""
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import rs485peer as rp  # noqa: E402

C = rp.Checks()
B = rp.bmslink()
CYCLE = ["351#1402740E740ECC01", "355#1A006400", "356#5A146301FA00", "359#000000000A504E", "35C#C000",
         "35E#50594C4F4E202020"]


class Adapter:
    """A Lawicel (slcan) adapter on a pty of our own, at path (a symlink)."""

    def __init__(self, path, name):
        self.path, self.name = path, name
        self.master = self.slave = None
        self.buf = b""
        self.opened = False
        self.rx = []          # (t, id, data hex) frames the host sent
        self.opens = 0
        self.lock = threading.Lock()

    def plug(self):
        with self.lock:
            self.master, self.slave = os.openpty()
            tty.setraw(self.slave)
            os.set_blocking(self.master, False)
            tmp = self.path + ".new"
            os.symlink(os.ttyname(self.slave), tmp)
            os.replace(tmp, self.path)
            self.buf, self.opened = b"", False

    def unplug(self):
        with self.lock:
            os.unlink(self.path)
            os.close(self.master)
            os.close(self.slave)
            self.master = self.slave = None
            self.opened = False

    def write(self, data):
        with self.lock:
            if self.master is None:
                return
            try:
                os.write(self.master, data)
            except OSError:
                pass

    def poll_in(self):
        with self.lock:
            if self.master is None:
                return
            try:
                got = os.read(self.master, 4096)
            except (BlockingIOError, OSError):
                return
            self.buf += got
        while b"\r" in self.buf:
            line, self.buf = self.buf.split(b"\r", 1)
            self.command(line.decode("ascii", "replace"))

    def command(self, line):
        if not line:
            self.write(b"\r")
        elif line[0] in "tT":
            n = 3 if line[0] == "t" else 8
            try:
                i, dlc = int(line[1:1 + n], 16), int(line[1 + n], 16)
                self.rx.append((time.time(), i, line[2 + n:2 + n + 2 * dlc].upper()))
            except ValueError:
                pass
            self.write(b"z\r" if line[0] == "t" else b"Z\r")
        elif line[0] == "V":
            self.write(b"V1013\r")
        elif line[0] in "OL":
            self.opened = True
            self.opens += 1
            self.write(b"\r")
        elif line[0] == "C":
            self.opened = False
            self.write(b"\r")
        else:  # S6, F, Z0, ...
            self.write(b"\r")

    def send_frame(self, text):
        if not self.opened:
            return
        i, d = text.split("#")
        self.write(("t%s%d%s\r" % (i, len(d) // 2, d)).encode())


def limits(data):
    """SMA SI 0x351: CVL, CCL, DCL, DVL in 0.1 units, little endian (fact sheet)."""
    b = bytes.fromhex(data)
    return tuple(int.from_bytes(b[k:k + 2], "little", signed=k in (2, 4)) for k in (0, 2, 4, 6))


def window(frames, t0, a, z):
    return [limits(d) for t, i, d in frames if i == 0x351 and a <= t - t0 < z]


def service(T):
    pack = Adapter(os.path.join(T, "pack"), "pack")
    inv = Adapter(os.path.join(T, "inv"), "inv")
    pack.plug()
    inv.plug()
    notify = os.path.join(T, "notify")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(notify)
    notes = []
    env = dict(os.environ, BMSLINK_TEST_STALL_MS="10000:2500", NOTIFY_SOCKET=notify, WATCHDOG_USEC="2000000")
    stop = threading.Event()
    inv_frames = []

    def peer():
        next_cycle = 0.0
        while not stop.is_set():
            fds = [a.master for a in (pack, inv) if a.master is not None]
            r = select.select(fds + [ns], [], [], 0.02)[0]
            if ns in r:
                notes.append((time.time(), ns.recv(4096).decode()))
            for a in (pack, inv):
                a.poll_in()
            if time.time() >= next_cycle:
                for fr in CYCLE:
                    pack.send_frame(fr)
                next_cycle = time.time() + 0.3

    th = threading.Thread(target=peer, daemon=True)
    th.start()
    t0 = time.time()
    t_start = time.time()  # the bridge's own clock starts about now: the stall is 10 s after it
    p = subprocess.Popen([B, "bridge", "--from", "slcan:%s@500000" % pack.path, "-P", "pylon-lv", "--to",
                          "slcan:%s@500000" % inv.path, "-p", "sma-si", "--json", "--interval", "250ms",
                          "--hold", "500ms", "--watchdog", "400ms", "--duration", "14s"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    plan = [(3.0, pack.unplug), (5.0, pack.plug), (7.5, inv.unplug), (8.0, inv.plug)]
    for at, act in plan:
        time.sleep(max(0.0, at - (time.time() - t0)))
        if act == inv.unplug:
            inv_frames.extend(inv.rx)
            inv.rx = []
        act()
    so, se = p.communicate(timeout=40)
    stop.set()
    th.join(3)
    inv_frames.extend(inv.rx)
    C.eq("exit (%s)" % se[-400:].replace("\n", " | "), p.returncode, 0)
    normal = limits("1402740E740ECC01")
    w = window(inv_frames, t0, 1.2, 2.9)
    C.true("plugged in: 0x351 carries the pack's limits", w and all(x == normal for x in w), str(w))
    w = window(inv_frames, t0, 3.0, 4.9)
    C.true("pack adapter gone: 0x351 with 0 A both ways within a second",
           w and all(x[1] == 0 and x[2] == 0 for x in window(inv_frames, t0, 3.9, 4.9)), str(w))
    first_safe = [t - t0 for t, i, d in inv_frames if i == 0x351 and t - t0 >= 3.0 and limits(d)[1] == 0]
    C.true("pack adapter gone: the first safe 0x351 within 1.2 s of the loss",
           first_safe and first_safe[0] < 4.2, str(first_safe[:3]))
    wd = [t - t0 for t, i, d in inv_frames if i == 0x351 and 10.0 <= t - t0 < 12.4 and limits(d)[1] == 0]
    print("measured: pack unplugged at 3.000 s -> first safe 0x351 at %s s; main loop stalled at ~%.3f s "
          "(--watchdog 400ms) -> first watchdog 0x351 at %s s" % (
              "%.3f" % first_safe[0] if first_safe else "-", 10.0 + (t_start - t0),
              "%.3f" % wd[0] if wd else "-"))
    C.true("pack adapter gone: said on stderr", "input gone" in se, se[-600:])
    w = window(inv_frames, t0, 6.6, 7.4)
    C.true("pack adapter back: normal limits again (reconnected)", w and all(x == normal for x in w), str(w))
    C.true("pack adapter back: 'reconnected' on stderr", se.count("reconnected after") >= 2, se[-600:])
    C.true("inverter adapter gone: said on stderr", "output gone" in se, se[-600:])
    w = window(inv_frames, t0, 8.6, 9.9)
    C.true("inverter adapter back: the bridge writes to the new adapter", w and all(x == normal for x in w), str(w))
    C.true("inverter adapter back: the channel was opened again (O)", inv.opens >= 1, str(inv.opens))
    w = window(inv_frames, t0, 10.5, 12.4)
    C.true("stalled main loop: the watchdog sends 0 A both ways", len(w) >= 1 and all(x[1] == 0 and x[2] == 0
                                                                                    for x in w), str(w))
    C.true("stalled main loop: said on stderr", "watchdog: the main loop has not run" in se, se[-600:])
    w = window(inv_frames, t0, 12.9, 14.0)
    C.true("after the stall: normal limits again", w and all(x == normal for x in w), str(w))
    ups = rp.ndjson(so)
    C.true("the JSON view went on through it all", len(ups) >= 30, str(len(ups)))
    states = [u["packs"][0].get("source_state") for u in ups]
    C.true("the JSON view: the pack's source open, down, open again",
           "down" in states and states[0] == "open" and states[-1] == "open", str(states))
    outs = [u["inverter"].get("destination_state") for u in ups]
    C.true("the JSON view: the inverter's adapter down while it was gone", "down" in outs, str(outs))
    texts = [n for t, n in notes]
    C.true("sd_notify: READY=1 first", texts and texts[0].startswith("READY=1"), str(texts[:3]))
    dog = [t - t0 for t, n in notes if n == "WATCHDOG=1"]
    C.true("sd_notify: WATCHDOG=1 at least every second (WATCHDOG_USEC 2 s)",
           len(dog) >= 8 and all(b - a < 1.3 for a, b in zip(dog, dog[1:]) if not (a < 12.7 and b > 9.9)), str(dog))
    C.true("sd_notify: no WATCHDOG=1 while the main loop is stalled (systemd would restart it)",
           not [t for t in dog if 10.6 < t < 12.3], str(dog))
    C.true("sd_notify: STOPPING=1 at the end", texts and "STOPPING=1" in texts[-1], str(texts[-2:]))
    ns.close()


def config(T):
    good = os.path.join(T, "bridge.yaml")
    with open(good, "w") as fp:
        fp.write("# a bridge\nfrom: %s/in.log\nin_protocol: pylon-lv\nto: out.log\nout_protocol: sma-si\n"
                 "watchdog: off\nsite_limits:\n  charge_current_limit_A: 20\n" % T)
    with open(os.path.join(T, "in.log"), "w") as fp:
        for s in range(4):
            for k, fr in enumerate(CYCLE):
                fp.write("(%.6f) can0 %s\n" % (1700000000.0 + s + k * 0.001, fr))
    rc, so, se = rp.run(["bridge", "--config", good])
    C.eq("config: exit (%s)" % se[-300:], rc, 0)
    out = os.path.join(T, "out.log")  # 'to' is relative to the file's directory
    lim = [l.split()[2] for l in open(out)] if os.path.exists(out) else []
    lim = [limits(x.split("#")[1]) for x in lim if x.startswith("351#")]
    C.true("config: site_limits inline clamps CCL to 20 A", lim and all(x[1] == 200 for x in lim), str(lim[:3]))
    rc, so, se = rp.run(["bridge", "--config", good, "--to", os.path.join(T, "o2.log"), "-p", "victron"])
    C.eq("config: the command line wins (-p victron, --to)", (rc, os.path.exists(os.path.join(T, "o2.log"))),
         (0, True))
    bad = os.path.join(T, "bad.yaml")
    for text, want in (("from: x\nin_protocol: pylon-lv\nout_protocol: nosuch\n", "bad.yaml:3: out_protocol: unknown"),
                       ("from: x\nstale: soon\n", "bad.yaml:2: stale"),
                       ("from: x\nfrom: y\n", "bad.yaml:2: from: given twice"),
                       ("from: x\nwatchdog: 10ms\n", "bad.yaml:2: watchdog: at least 50 ms"),
                       ("from: x\npacks: [pylon-lv]\n", "bad.yaml:2: packs: 'pylon-lv': expected PROTOCOL=SRC"),
                       ("from: x\nsite_limits: {charge_current_limit_A: -5}\n", "bad.yaml:2"),
                       ("from: x\nmqtt: {url: mqtt://h, pasword_file: p}\n", "bad.yaml:2"),
                       ("from: [x\n", "bad.yaml:")):
        with open(bad, "w") as fp:
            fp.write(text)
        rc, so, se = rp.run(["bridge", "--config", bad])
        C.true("config: %r -> exit 2, '%s'" % (text, want), rc == 2 and want in se, "rc %d: %s" % (rc, se.strip()))
    rc, so, se = rp.run(["bridge", "--config", os.path.join(T, "none.yaml")])
    C.true("config: a missing file -> exit 3, named", rc == 3 and "none.yaml" in se, "rc %d: %s" % (rc, se))


with tempfile.TemporaryDirectory() as T:
    config(T)
    service(T)
sys.exit(C.done())
