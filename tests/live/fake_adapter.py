#!/usr/bin/python3
"""fake_adapter.py PTY [--bitrate BPS --send LOG] [--bel] [--ready FILE]: a Lawicel adapter
that misbehaves on purpose, for what python-can's adapter (can-peer.py --adapter) cannot show:

  --bitrate BPS --send LOG  the bus runs at BPS: while the channel is open at that bitrate the
                            LOG frames are played in a loop (every 20 ms) and F answers F00; open
                            at any other bitrate there are no frames and F answers A0 (bus error +
                            error passive), as a real controller sampling at the wrong rate reports
  --bel                     every command and frame is answered with BEL (a refusing adapter)

TESTING.md: a pty ignores the line settings, so mismatches need a simulated line like this.
Exits on SIGTERM or when the other end closes."""
import argparse
import os
import signal
import sys
import threading
import time

import serial

RATES = [10000, 20000, 50000, 100000, 125000, 250000, 500000, 800000, 1000000]


def slcan_line(cid, data, ext):
    return ("T%08X" % cid if ext else "t%03X" % cid) + "%d" % len(data) + data.hex().upper() + "\r"


def read_log(path):
    out = []
    for raw in open(path):
        parts = raw.split()
        if len(parts) < 3:
            continue
        cid, _, data = parts[2].partition("#")
        out.append(slcan_line(int(cid, 16), bytes.fromhex(data), len(cid) > 3))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pty")
    ap.add_argument("--bitrate", type=int)
    ap.add_argument("--send")
    ap.add_argument("--bel", action="store_true")
    ap.add_argument("--ready")
    a = ap.parse_args()
    port = serial.Serial(a.pty, timeout=0.05)
    lock = threading.Lock()
    state = {"open": False, "rate": None, "stop": False}
    frames = read_log(a.send) if a.send else []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: state.update(stop=True))

    def reply(text):
        with lock:
            port.write(text.encode("ascii"))

    def player():
        while not state["stop"]:
            if state["open"] and state["rate"] == a.bitrate:
                for line in frames:
                    if not (state["open"] and state["rate"] == a.bitrate) or state["stop"]:
                        break
                    reply(line)
                    time.sleep(0.02)
            else:
                time.sleep(0.02)

    if frames:
        threading.Thread(target=player, daemon=True).start()
    if a.ready:
        open(a.ready, "w").close()
    buf = b""
    while not state["stop"]:
        try:
            chunk = port.read(256)
        except serial.SerialException:
            break
        buf += chunk
        while b"\r" in buf:
            line, buf = buf.split(b"\r", 1)
            cmd = line.decode("ascii", "replace")
            if not cmd:
                continue
            if a.bel:
                reply("\a")
                continue
            c = cmd[0]
            if c == "S" and len(cmd) == 2 and cmd[1].isdigit() and not state["open"]:
                state["rate"] = RATES[int(cmd[1])]
                reply("\r")
            elif c in "OL" and not state["open"]:
                state["open"] = True
                reply("\r")
            elif c == "C":
                state["open"] = False
                reply("\r")
            elif c == "V":
                reply("V0101\r")
            elif c == "F":
                good = state["rate"] == a.bitrate or not state["open"]
                reply("F00\r" if good else "FA0\r")
            elif c in "tT" and state["open"]:
                reply("z\r" if c == "t" else "Z\r")
            else:
                reply("\a")
    return 0


if __name__ == "__main__":
    sys.exit(main())
