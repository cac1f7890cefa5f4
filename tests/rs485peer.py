"""Helpers for the RS485 peer tests: a socat pty pair (../shared/tools/pty-pair.sh),
bmslink runs, and an independent reading of the Pylontech ASCII frame written from
the fact sheet (rs485-pylontech.md §2-3), never from bmslink's code."""
import json
import os
import subprocess
import sys
import tempfile
import time

SHARED = os.environ.get("BMSLINK_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
TOOLS = os.path.join(SHARED, "tools")


def bmslink():
    b = os.environ.get("BMSLINK")
    if not b:
        print("BMSLINK not set (run through ctest)")
        sys.exit(77)
    return b


def need(cmd, why):
    from shutil import which
    if which(cmd) is None:
        print("SKIP: %s not installed (%s)" % (cmd, why))
        sys.exit(77)


class PtyPair:
    """Two ptys joined by socat; .a and .b are the ends."""

    def __enter__(self):
        need("socat", "the virtual serial cable")
        self.dir = tempfile.mkdtemp(prefix="bl-pty.")
        subprocess.run([os.path.join(TOOLS, "pty-pair.sh"), "start", self.dir], check=True, stdout=subprocess.DEVNULL)
        self.a, self.b = os.path.join(self.dir, "a"), os.path.join(self.dir, "b")
        return self

    def __exit__(self, *exc):
        subprocess.run([os.path.join(TOOLS, "pty-pair.sh"), "stop", self.dir], stdout=subprocess.DEVNULL)
        try:
            os.rmdir(self.dir)
        except OSError:
            pass


def start(args, **kw):
    return subprocess.Popen([bmslink()] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


class Ready:
    """bmslink emulate started and ready: its port is open (it says so on stderr)."""

    def __init__(self, args, timeout=20):
        import threading
        self.p = subprocess.Popen([bmslink()] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.err = []
        t0 = time.time()
        while time.time() - t0 < timeout:
            line = self.p.stderr.readline()
            if not line:
                break
            self.err.append(line)
            if " battery" in line and "emulate:" in line:
                break
        self.t = threading.Thread(target=self._drain, daemon=True)
        self.t.start()

    def _drain(self):
        for line in self.p.stderr:
            self.err.append(line)

    def stop(self):
        self.p.terminate()
        self.p.wait()
        self.t.join(5)
        return "".join(self.err)


def run(args, timeout=30):
    p = subprocess.run([bmslink()] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def ndjson(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


# ---- Pylontech ASCII, from the fact sheet (independent of bmslink) ----

def chksum(chars):
    """CHKSUM: two's complement of the sum of the ASCII codes of VER..INFO (§3)."""
    return (~sum(chars.encode()) + 1) & 0xFFFF


def lchksum(lenid):
    """LCHKSUM: (16 - nibble sum mod 16) & 0xF (§3)."""
    return (16 - ((lenid & 15) + ((lenid >> 4) & 15) + ((lenid >> 8) & 15)) % 16) & 15


def pylon_frame(ver, adr, cid1, cid2, info=b""):
    h = info.hex().upper()
    body = "%02X%02X%02X%02X%X%03X%s" % (ver, adr, cid1, cid2, lchksum(len(h)), len(h), h)
    return ("~%s%04X\r" % (body, chksum(body))).encode()


def pylon_parse(frame):
    """-> dict(ver, adr, cid1, cid2, info bytes); raises ValueError when a check fails."""
    t = frame.decode("ascii").strip("\r\n")
    if not t.startswith("~"):
        raise ValueError("no SOI")
    body, ck = t[1:-4], int(t[-4:], 16)
    if chksum(body) != ck:
        raise ValueError("CHKSUM %04X != %04X" % (ck, chksum(body)))
    length = int(body[8:12], 16)
    lenid = length & 0xFFF
    if length >> 12 != lchksum(lenid):
        raise ValueError("LCHKSUM")
    info = body[12:]
    if len(info) != lenid:
        raise ValueError("LENID %d != %d" % (lenid, len(info)))
    return {"ver": int(body[0:2], 16), "adr": int(body[2:4], 16), "cid1": int(body[4:6], 16),
            "cid2": int(body[6:8], 16), "info": bytes.fromhex(info)}


def read_frame(port, end=b"\r", start=b"~", timeout=3.0):
    """Read one frame from a pyserial port: from start up to end."""
    buf = b""
    t0 = time.time()
    while time.time() - t0 < timeout:
        c = port.read(1)
        if not c:
            continue
        if not buf and c != start:
            continue
        buf += c
        if c == end:
            return buf
    return None


class Checks:
    def __init__(self):
        self.bad = []
        self.n = 0

    def eq(self, what, got, want, tol=None):
        self.n += 1
        ok = (abs(got - want) <= tol) if (tol is not None and got is not None) else got == want
        if not ok:
            self.bad.append("%s: got %r, want %r" % (what, got, want))

    def true(self, what, cond, detail=""):
        self.n += 1
        if not cond:
            self.bad.append("%s %s" % (what, detail))

    def done(self):
        for b in self.bad:
            print("FAIL", b)
        print("%d checks, %d failed" % (self.n, len(self.bad)))
        sys.exit(1 if self.bad else 0)
