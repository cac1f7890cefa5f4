#!/usr/bin/python3
"""RS485 over a socat pty pair (../shared/tools/pty-pair.sh), both roles:

1. bmslink as the inverter polls bmslink as the battery, for every serial
   protocol with a battery role; the record that arrives is the emulated pack's.
2. bmslink as the inverter polls a Python battery that answers with the fact
   sheets' own frames (PYL-05/06, DLY-03/04, JBD-02/04/06), an error code and
   silence: the values are the sheets' and errors and timeouts are reported.
3. A Python inverter sends the fact sheets' requests (PYL-01, -10, -12 .. -17)
   to bmslink as the battery and checks the answers with a reader written
   from the fact sheet (tests/rs485peer.py), not with bmslink's code.
4. Noise on the line (a wrong baud) and a silent line: reported, exit 3.
"""
import os
import sys
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

# the static reference pack of bmslink emulate --static (src/cli/verb_emulate.c): 52.8 V, 0 A,
# 80 %, cells 3.297..3.303 V, 24..26 °C, limits 55.2 V / 100 A / 100 A / 48 V
PACK = {"voltage_V": 52.8, "current_A": 0.0, "soc_pct": 80.0, "cell_voltage_min_V": 3.297,
        "cell_voltage_max_V": 3.303, "temp_min_C": 24.0, "temp_max_C": 26.0, "temperature_C": 25.0,
        "charge_voltage_limit_V": 55.2, "charge_current_limit_A": 100.0, "discharge_current_limit_A": 100.0,
        "discharge_voltage_limit_V": 48.0, "charge_enable": True, "discharge_enable": True,
        "capacity_Ah": 200.0, "cycle_count": 42}

# protocol, address suffix, messages to wait for, fields that must arrive
ROLES = [
    ("pylon-rs485", "#2", 5, ["voltage_V", "current_A", "soc_pct", "cell_voltage_min_V", "temp_max_C",
                               "charge_voltage_limit_V", "charge_current_limit_A", "discharge_current_limit_A",
                               "charge_enable", "capacity_Ah", "cycle_count"]),
    ("pylon-rs485:seplos-v2", "#0", 3, ["voltage_V", "current_A", "soc_pct", "cell_voltage_max_V", "temperature_C"]),
    ("pylon-rs485:pace-v25", "#1", 4, ["voltage_V", "soc_pct", "cell_voltage_min_V", "temp_min_C", "capacity_Ah"]),
    ("pylon-rs485:eg4", "#1", 2, ["voltage_V", "soc_pct", "capacity_Ah", "temperature_C"]),
    ("daly", "", 7, ["voltage_V", "current_A", "soc_pct", "cell_voltage_min_V", "temp_max_C", "capacity_Ah"]),
    ("daly:inverted-current", "", 7, ["voltage_V", "current_A", "soc_pct"]),
    ("jbd", "", 3, ["voltage_V", "current_A", "soc_pct", "cell_voltage_max_V", "temp_min_C", "capacity_Ah"]),
    ("jk-4e57", "", 1, ["voltage_V", "current_A", "soc_pct", "cell_voltage_min_V", "temperature_C", "capacity_Ah",
                        "charge_enable"]),
]


def case_bmslink_both_roles():
    for proto, addr, count, must in ROLES:
        with rp.PtyPair() as pty:
            emu = rp.Ready(["emulate", "battery", "--static", "-p", proto, "--on", "serial:%s@9600%s" % (pty.a, addr),
                            "--duration", "60s"])
            rec = os.path.join(pty.dir, "rec.hex")
            rc, out, err = rp.run(["decode", "-p", proto, "--count", str(count), "--json", "--record", rec,
                                   "serial:%s@9600%s" % (pty.b, addr)], timeout=60)
            emu.stop()
            # --record wrote the line's bytes: decoding the recording gives the same answers
            rrc, rout, rerr = rp.run(["decode", "-p", proto, "--json", rec])
            live = [o for o in rp.ndjson(out) if o.get("direction") == "response"]
            again = [o for o in rp.ndjson(rout) if o.get("direction") == "response"]
            C.eq("%s: the recording decodes (%s)" % (proto, rerr.strip()[-200:]), rrc, 0)
            C.eq("%s: the recording holds the same answers" % proto, [o["data"] for o in again][:len(live)],
                 [o["data"] for o in live])
            os.unlink(rec)
        C.eq("%s: decode exit status (stderr %s)" % (proto, err.strip()[-200:]), rc, 0)
        got = {}
        for o in rp.ndjson(out):
            C.true("%s: %s answered without error" % (proto, o.get("message")), o.get("error") is None, o.get("error"))
            got.update(o.get("fields", {}))
        for k in must:
            C.true("%s: %s arrived" % (proto, k), k in got, sorted(got))
        for k, v in got.items():
            if k in PACK:
                tol = None if isinstance(v, bool) else 0.051
                C.eq("%s: %s" % (proto, k), v, PACK[k], tol)


# ---- a Python battery answering with the fact sheets' frames ----

PYL06 = b"~20024600F07A00020F0D170D140D150D150D180D170D140D150D150D180D170D140D150D150D18050C0B0BEF0BF00BED0C0B00C9C447FFFF04FFFF00120172B90186A0E2D1\r"
PYL05 = b"~20024600B014026EF05AA0022BFDD5C0F915\r"


def battery_peer(port_path, answers, start, end, stop):
    """Answer each request that equals a key of answers with its value (others: stay silent)."""
    with serial.Serial(port_path, 9600, timeout=0.05) as port:
        while not stop.is_set():
            req = rp.read_frame(port, end=end, start=start, timeout=0.2)
            if req is None:
                continue
            ans = answers.get(req)
            if ans:
                port.write(ans)


def fixed_peer(port_path, answers, size, stop):
    """Binary protocols: fixed-size requests (Daly 13 bytes, JBD 7)."""
    with serial.Serial(port_path, 9600, timeout=0.05) as port:
        buf = b""
        while not stop.is_set():
            buf += port.read(64)
            while len(buf) >= size:
                req, buf = buf[:size], buf[size:]
                ans = answers.get(req)
                if ans:
                    port.write(ans)


def case_inverter_against_sheet_frames():
    err04 = rp.pylon_frame(0x20, 0x02, 0x46, 0x04)  # RTN 0x04 "CID2 invalid", built by the test's own encoder
    answers = {b"~20024642E00202FD33\r": PYL06,  # PYL-01 -> PYL-06
               b"~20024692E00202FD2E\r": PYL05,  # PYL-12 -> PYL-05
               b"~20024644E00202FD31\r": err04}  # PYL-13 -> an error code
    with rp.PtyPair() as pty:
        stop = threading.Event()
        t = threading.Thread(target=battery_peer, args=(pty.a, answers, b"~", b"\r", stop))
        t.start()
        time.sleep(0.2)
        rc, out, err = rp.run(["decode", "-p", "pylon-rs485", "--count", "3", "--json", "serial:%s@9600#2" % pty.b],
                              timeout=40)
        stop.set()
        t.join()
    objs = rp.ndjson(out)
    C.eq("pylon vs sheet frames: exit", rc, 0)
    f = {}
    errors = [o["error"] for o in objs if o.get("error")]
    for o in objs:
        if o.get("error") is None:
            f.update(o["fields"])
    # PYL-06: 0x00C9 x 100 mA, 0xC447 mV; PYL-05: 0x6EF0 mV, 0x022B x 0.1 A, |0xFDD5| x 0.1 A
    C.eq("PYL-06 current_A", f.get("current_A"), 20.1)
    C.eq("PYL-06 voltage_V", f.get("voltage_V"), 50.247)
    C.eq("PYL-06 soc_pct (94905 of 100000 mAh)", f.get("soc_pct"), 94.9)
    C.eq("PYL-05 charge_voltage_limit_V", f.get("charge_voltage_limit_V"), 28.4)
    C.eq("PYL-05 discharge_current_limit_A", f.get("discharge_current_limit_A"), 55.5)
    C.true("RTN 0x04 reported", any("error code 0x04" in e for e in errors), errors)
    C.true("silence on 0x51 reported as timeouts", any(e.startswith("timeout") for e in errors), errors)
    C.true("unanswered requests retried", sum(1 for e in errors if e.startswith("timeout")) >= 3, errors)

    # Daly: DLY-01 -> DLY-03, DLY-02 -> DLY-04
    answers = {bytes.fromhex("A540900800000000000000007D"): bytes.fromhex("A501900800820000753001F359"),
               bytes.fromhex("A540910800000000000000007E"): bytes.fromhex("A50191080CB5020CB2010003C4")}
    with rp.PtyPair() as pty:
        stop = threading.Event()
        t = threading.Thread(target=fixed_peer, args=(pty.a, answers, 13, stop))
        t.start()
        time.sleep(0.2)
        rc, out, err = rp.run(["decode", "-p", "daly", "--count", "2", "--json", "serial:%s@9600" % pty.b], timeout=40)
        stop.set()
        t.join()
    f = {}
    for o in rp.ndjson(out):
        if o.get("error") is None:
            f.update(o["fields"])
    C.eq("daly vs sheet frames: exit", rc, 0)
    C.eq("DLY-03 voltage_V", f.get("voltage_V"), 13.0)
    C.eq("DLY-03 soc_pct", f.get("soc_pct"), 49.9)
    C.eq("DLY-04 cell_voltage_max_V", f.get("cell_voltage_max_V"), 3.253)

    # JBD: JBD-01 -> JBD-02, JBD-03 -> JBD-04, JBD-05 -> JBD-06
    answers = {bytes.fromhex("DDA50300FFFD77"): bytes.fromhex(
        "DD03001B1700000002D003E8000020780000000000001048030F020B760B82FBFF77"),
        bytes.fromhex("DDA50400FFFC77"): bytes.fromhex(
        "DD04001E0F660F630F630F640F3E0F630F370F5B0F650F3B0F630F630F3C0F660F3DF9F977"),
        bytes.fromhex("DDA50500FFFB77"): bytes.fromhex("DD05000A30313233343536373839FDE977")}
    with rp.PtyPair() as pty:
        stop = threading.Event()
        t = threading.Thread(target=fixed_peer, args=(pty.a, answers, 7, stop))
        t.start()
        time.sleep(0.2)
        rc, out, err = rp.run(["decode", "-p", "jbd", "--count", "3", "--json", "serial:%s@9600" % pty.b], timeout=40)
        stop.set()
        t.join()
    f = {}
    for o in rp.ndjson(out):
        if o.get("error") is None:
            f.update(o["fields"])
    C.eq("jbd vs sheet frames: exit", rc, 0)
    C.eq("JBD-02 voltage_V", f.get("voltage_V"), 58.88)
    C.eq("JBD-02 soc_pct", f.get("soc_pct"), 72.0)
    C.eq("JBD-04 cell_voltage_min_V", f.get("cell_voltage_min_V"), 3.895)
    C.eq("JBD-06 firmware_version", f.get("firmware_version"), "0123456789")


# ---- a Python inverter sending the fact sheets' requests to bmslink ----

def ask(port, req, wait=1.0):
    port.reset_input_buffer()
    port.write(req)
    return rp.read_frame(port, timeout=wait)


def case_battery_against_sheet_requests():
    with rp.PtyPair() as pty:
        emu = rp.Ready(["emulate", "battery", "--static", "-p", "pylon-rs485", "--on", "serial:%s@9600#2" % pty.a,
                        "--duration", "60s"])
        with serial.Serial(pty.b, 9600, timeout=0.05) as port:
            # PYL-12: 0x92 from ADR 2
            a = rp.pylon_parse(ask(port, b"~20024692E00202FD2E\r"))
            i = a["info"]
            C.eq("0x92 RTN", a["cid2"], 0)
            C.eq("0x92 ADR", a["adr"], 2)
            C.eq("0x92 command byte", i[0], 2)
            C.eq("0x92 CVL mV", int.from_bytes(i[1:3], "big"), 55200)
            C.eq("0x92 DVL mV", int.from_bytes(i[3:5], "big"), 48000)
            C.eq("0x92 CCL 0.1 A", int.from_bytes(i[5:7], "big", signed=True), 1000)
            C.eq("0x92 DCL sent negative as real packs do", int.from_bytes(i[7:9], "big", signed=True), -1000)
            C.eq("0x92 status: charge and discharge enabled", i[9], 0xC0)
            # PYL-01: 0x42 for ADR 2; PYL-17: the same asked by a Voltronic with VER 0x28
            for name, req in (("PYL-01", b"~20024642E00202FD33\r"), ("PYL-17", b"~28024642E00202FD2B\r")):
                a = rp.pylon_parse(ask(port, req))
                i = a["info"]
                m = i[2]
                n_t = i[3 + 2 * m]
                at = 4 + 2 * m + 2 * n_t
                C.eq(name + " RTN", a["cid2"], 0)
                C.eq(name + " cells", m, 16)
                C.eq(name + " module voltage mV", int.from_bytes(i[at + 2:at + 4], "big"), 52800)
                cells = [int.from_bytes(i[3 + 2 * k:5 + 2 * k], "big") for k in range(m)]
                C.eq(name + " cells add up to the pack voltage", sum(cells), 52800)
            # PYL-16: the whole group (INFO 0xFF): one pack in the group
            a = rp.pylon_parse(ask(port, b"~20024642E002FFFD09\r"))
            C.eq("PYL-16 group reply: pack count byte", a["info"][1], 1)
            # PYL-13: 0x44 alarms: all states normal
            a = rp.pylon_parse(ask(port, b"~20024644E00202FD31\r"))
            C.eq("PYL-13 0x44 cell states", set(a["info"][3:3 + a["info"][2]]), {0})
            # PYL-10: Sunsynk system analog data (INFO 01): SOC byte 4
            a = rp.pylon_parse(ask(port, b"~20024661E00201FD33\r"))
            C.eq("PYL-10 0x61 system voltage mV", int.from_bytes(a["info"][0:2], "big"), 52800)
            C.eq("PYL-10 0x61 SOC %", a["info"][4], 80)
            # PYL-14: 0x4F answers with the version in VER and no INFO
            a = rp.pylon_parse(ask(port, b"~2002464F0000FD98\r"))
            C.eq("PYL-14 0x4F VER", a["ver"], 0x20)
            C.eq("PYL-14 0x4F LENID", len(a["info"]), 0)
            # PYL-15: 0x51 manufacturer info: 32 bytes
            a = rp.pylon_parse(ask(port, b"~200246510000FDAC\r"))
            C.eq("PYL-15 0x51 INFO bytes", len(a["info"]), 32)
            # PYL-19: a request for ADR 0x13 (group 1): another pack's business, no answer
            C.eq("PYL-19 other address: silence", ask(port, b"~20134642E00213FD2F\r", wait=0.6), None)
            # 0x94 set limits: refused with RTN 0x04; a bad checksum: RTN 0x02 (§5)
            a = rp.pylon_parse(ask(port, rp.pylon_frame(0x20, 2, 0x46, 0x94, bytes.fromhex("02D002AFC800C8FE0C"))))
            C.eq("0x94 refused", a["cid2"], 0x04)
            a = rp.pylon_parse(ask(port, b"~20024642E00202FD34\r"))
            C.eq("bad CHKSUM answered RTN 0x02", a["cid2"], 0x02)
        emu.stop()


def case_noise_and_silence():
    # a battery at the wrong baud: every request answered with bytes that are no frame
    def garbage(port_path, stop):
        with serial.Serial(port_path, 9600, timeout=0.05) as port:
            while not stop.is_set():
                if port.read(64):
                    port.write(bytes([0x80, 0xF8, 0x00, 0x9E, 0xE6, 0x18, 0x78, 0xFE]))
    with rp.PtyPair() as pty:
        stop = threading.Event()
        t = threading.Thread(target=garbage, args=(pty.a, stop))
        t.start()
        rc, out, err = rp.run(["decode", "-p", "pylon-rs485", "--duration", "3s", "--summary",
                               "serial:%s@9600#2" % pty.b], timeout=30)
        stop.set()
        t.join()
    C.eq("wrong baud: exit 3 (nothing decoded)", rc, 3)
    C.true("wrong baud: noise named", "noise" in err and "wrong baud" in err, err[-300:])
    s = rp.ndjson(out)[-1] if out.strip() else {}
    C.true("wrong baud: summary counts noise bytes", s.get("noise_bytes", 0) > 0, s)
    C.true("wrong baud: summary counts timeouts", s.get("error_reasons", {}).get("timeout", 0) > 0, s)

    # nobody on the line
    with rp.PtyPair() as pty:
        rc, out, err = rp.run(["decode", "-p", "daly", "--duration", "2500ms", "--summary", "serial:%s@9600" % pty.b],
                              timeout=30)
    s = rp.ndjson(out)[-1] if out.strip() else {}
    C.eq("silent line: exit 3", rc, 3)
    C.true("silent line: link state reported", "link down" in err or "link degraded" in err, err[-300:])
    C.true("silent line: retries counted", s.get("link", {}).get("retries", 0) > 0, s)
    C.true("silent line: no answer message", "no answer from the battery" in err, err[-200:])


def case_wrong_address():
    # the pack is set to ADR 3 (PYL-07 is a real answer from ADR 3) while bmslink asks ADR 2
    def adr3(port_path, stop):
        with serial.Serial(port_path, 9600, timeout=0.05) as port:
            while not stop.is_set():
                if rp.read_frame(port, timeout=0.2):
                    port.write(b"~20034600B01403D002AFC800C8FE0CC0F913\r")
    with rp.PtyPair() as pty:
        stop = threading.Event()
        t = threading.Thread(target=adr3, args=(pty.a, stop))
        t.start()
        rc, out, err = rp.run(["decode", "-p", "pylon-rs485", "--duration", "2s", "--summary",
                               "serial:%s@9600#2" % pty.b], timeout=30)
        stop.set()
        t.join()
    s = rp.ndjson(out)[-1] if out.strip() else {}
    C.true("wrong address named", "answer from address 0x03, bmslink asked 0x02" in err, err[-300:])
    C.true("wrong address counted", s.get("error_reasons", {}).get("wrong_address", 0) > 0, s)
    C.true("another pack's limits are not taken", "charge_current_limit_A" not in s.get("record", {}), s)


case_bmslink_both_roles()
case_wrong_address()
case_inverter_against_sheet_frames()
case_battery_against_sheet_requests()
case_noise_and_silence()
C.done()
