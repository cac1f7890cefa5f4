#!/usr/bin/python3
"""Modbus against peers we did not write (../shared/TESTING.md):

1. pymodbus as the BMS (../shared/tools/modbus-peer.sh), serving register maps
   made of the fact sheets' frames (Seplos V3 captures SV3-02/04/08, PACE PMB-03),
   over RTU on a socat pty pair and over TCP: bmslink decode reads both and gets
   the canonical record the sheet says.
2. bmslink as the BMS (emulate battery): mbpoll and pymodbus read it over TCP and
   over RTU on a pty pair and see the registers of the emulated pack; unmapped
   addresses answer exception 02 as devices do.
"""
import csv
import os
import re
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import rs485peer as rp  # noqa: E402

rp.need("mbpoll", "Modbus client peer")
try:
    import pymodbus  # noqa: F401  (the client below needs the package)
    from pymodbus.client import ModbusTcpClient
except ImportError:
    print("SKIP: python3-pymodbus not installed (scripts/deps.sh --test)")
    sys.exit(77)

C = rp.Checks()
VEC = os.path.join(rp.SHARED, "protocols", "vectors", "rs485", "modbus.csv")
PEER = os.path.join(rp.TOOLS, "modbus-peer.sh")


def vector(vid):
    with open(VEC, newline="") as f:
        for row in csv.DictReader(f):
            if row["vector_id"] == vid:
                return bytes.fromhex(row["frame"])
    raise SystemExit("vector %s missing" % vid)


def regs_of(resp):
    """A FC03/04 answer frame -> its registers (address, fc, byte count, data, CRC)."""
    data = resp[3:3 + resp[2]]
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


def bits_of(resp):
    data = resp[3:3 + resp[2]]
    return [(data[i // 8] >> (i % 8)) & 1 for i in range(8 * len(data))]


def write_map(path, rows):
    with open(path, "w") as f:
        f.write("address,value,table\n")
        for a, v, t in rows:
            f.write("%d,%d,%s\n" % (a, v, t))


def seplos_map(path):
    rows = []
    # SV3-08: the captured answer to FC04 0x1000 x 17 (pack info A)
    for i, v in enumerate(regs_of(vector("SV3-08"))):
        rows.append((0x1000 + i, v, "ir"))
    # pack info B: 16 cells around SV3-08's 3327/3328 mV, four cell temperatures near its
    # 21.1..21.4 °C, the four reserved 0x0AAB, ambient and power
    cells = [3327] * 15 + [3328]
    temps = [0x0B7F, 0x0B81, 0x0B7E, 0x0B80]
    for i, v in enumerate(cells + temps + [0x0AAB] * 4 + [0x0B7A, 0x0B90]):
        rows.append((0x1100 + i, v, "ir"))
    # SV3-02's captured bit block (TB09..TB15), served at the pack's own TB09..TB15 (same layout, §2)
    for i, b in enumerate(bits_of(vector("SV3-02"))):
        rows.append((0x1240 + i, b, "co"))
    # the PCS request: 56.80 V, 180 A, 180 A
    rows += [(0x1365, 5680, "ir"), (0x1366, 180, "ir"), (0x1367, 180, "ir")]
    # SV3-04: the captured version strings (FC04 0x1700 x 51)
    for i, v in enumerate(regs_of(vector("SV3-04"))):
        rows.append((0x1700 + i, v, "ir"))
    write_map(path, rows)


def pace_map(path):
    rows = {}
    # PMB-03: registers 0..3 (current -12.34 A, 53.12 V, 87 %, 99 %)
    for i, v in enumerate(regs_of(vector("PMB-03"))):
        rows[i] = v
    # the rest of the live block, values chosen by this test (§1 units): 35 of 100 Ah,
    # 33 cycles, warning bit 0 (cell over-voltage), both MOSFETs on (bits 10, 11),
    # cells 3.29..3.31 V, cell temperatures 25.0..25.3 °C (0.1 °C)
    rows.update({4: 3500, 5: 10000, 6: 10000, 7: 33, 9: 0x0001, 11: 0x0C00})
    for i in range(16):
        rows[15 + i] = 3300
    rows[17], rows[21] = 3290, 3310
    for i, t in enumerate((250, 251, 252, 253, 300, 240)):
        rows[31 + i] = t
    for a in range(59):
        rows.setdefault(a, 0)
    text = b"PACE-1.00".ljust(20, b"\0") + b"P16S100A".ljust(20, b"\0") + b"SN0001".ljust(20, b"\0")
    for i in range(30):
        rows[150 + i] = int.from_bytes(text[2 * i:2 * i + 2], "big")
    write_map(path, [(a, v, "hr") for a, v in sorted(rows.items())])


def fields_of(text):
    f = {}
    errors = []
    for o in rp.ndjson(text):
        if o.get("error"):
            errors.append(o["error"])
        else:
            f.update(o["fields"])
            for k in ("warnings", "alarms", "protections"):
                f.setdefault("_" + k, set()).update(o.get(k, []))
    return f, errors


def case_pymodbus_battery():
    t = tempfile.mkdtemp(prefix="bl-mb.")
    seplos_map(os.path.join(t, "sv3.csv"))
    pace_map(os.path.join(t, "pace.csv"))
    # the same pack without the identity registers 150..179: the peer answers exception 02 there
    with open(os.path.join(t, "pace.csv")) as src, open(os.path.join(t, "pace-live.csv"), "w") as dst:
        for line in src:
            if not line[0].isdigit() or int(line.split(",")[0]) < 150:
                dst.write(line)
    script = ('"$B" decode -p seplos-v3 --count 5 --json "modbus-rtu:$MODBUS_RTU_TTY@19200#1" > "$T/sv3-rtu.json" 2> "$T/sv3-rtu.err"; '
              '"$B" decode -p seplos-v3 --count 5 --json "modbus-tcp:$MODBUS_TCP_HOST:$MODBUS_TCP_PORT#1" > "$T/sv3-tcp.json" 2> "$T/sv3-tcp.err"; '
              '"$B" decode -p pace-modbus --count 2 --json "modbus-rtu:$MODBUS_RTU_TTY@9600#2" > "$T/pace-rtu.json" 2> "$T/pace-rtu.err"; '
              '"$B" decode -p pace-modbus --count 2 --json "modbus-tcp:$MODBUS_TCP_HOST:$MODBUS_TCP_PORT#2" > "$T/pace-tcp.json" 2> "$T/pace-tcp.err"; '
              '"$B" decode -p pace-modbus --count 2 --json "modbus-tcp:$MODBUS_TCP_HOST:$MODBUS_TCP_PORT#5" > "$T/pace-noversion.json" 2> "$T/pace-noversion.err"; '
              'true')
    env = dict(os.environ, B=rp.bmslink(), T=t)
    p = subprocess.run([PEER, "--baud", "19200", "--map", os.path.join(t, "sv3.csv") + "@1",
                        "--map", os.path.join(t, "pace.csv") + "@2", "--map", os.path.join(t, "pace-live.csv") + "@5",
                        "--trace", os.path.join(t, "trace"), "--",
                        "sh", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    C.eq("modbus-peer.sh ran (stderr %s)" % p.stderr[-300:], p.returncode, 0)
    for leg in ("rtu", "tcp"):
        f, errors = fields_of(open(os.path.join(t, "sv3-%s.json" % leg)).read())
        w = "seplos-v3 over %s: " % leg
        C.eq(w + "no errors (stderr: %s)" % open(os.path.join(t, "sv3-%s.err" % leg)).read()[-300:], errors, [])
        # SV3-08: 0x14CD x 10 mV, 0xFF77 x 10 mA, 0x80E8 x 10 mAh, 0x0340 x 0.1 %, 0x03E7, 10 cycles, 0x00B4 A
        C.eq(w + "voltage_V", f.get("voltage_V"), 53.25)
        C.eq(w + "current_A", f.get("current_A"), -1.37)
        C.eq(w + "capacity_Ah", f.get("capacity_Ah"), 330.0)
        C.eq(w + "soc_pct", f.get("soc_pct"), 83.2)
        C.eq(w + "soh_pct", f.get("soh_pct"), 99.9)
        C.eq(w + "cycle_count", f.get("cycle_count"), 10)
        C.eq(w + "charge_current_limit_A", f.get("charge_current_limit_A"), 180)
        C.eq(w + "discharge_current_limit_A", f.get("discharge_current_limit_A"), 180)
        C.eq(w + "charge_voltage_limit_V", f.get("charge_voltage_limit_V"), 56.8)
        C.eq(w + "cell_voltage_max_V", f.get("cell_voltage_max_V"), 3.328)
        C.eq(w + "cell_voltage_min_V", f.get("cell_voltage_min_V"), 3.327)
        C.eq(w + "temp_min_C", f.get("temp_min_C"), 21.1)
        C.eq(w + "temp_max_C", f.get("temp_max_C"), 21.4)
        # SV3-02 TB07 = 0x43: discharge and charge FET on
        C.eq(w + "charge_enable", f.get("charge_enable"), True)
        C.eq(w + "discharge_enable", f.get("discharge_enable"), True)
        # SV3-04: natural-order strings
        C.eq(w + "manufacturer", f.get("manufacturer"), "XZH-ElecTech Co.,Ltd")
        C.eq(w + "model", f.get("model"), "SG16S200A-SP57B-A")
        C.eq(w + "firmware_version", f.get("firmware_version"), "15")
    for leg in ("rtu", "tcp"):
        f, errors = fields_of(open(os.path.join(t, "pace-%s.json" % leg)).read())
        w = "pace-modbus over %s: " % leg
        C.eq(w + "no errors (stderr: %s)" % open(os.path.join(t, "pace-%s.err" % leg)).read()[-300:], errors, [])
        C.eq(w + "current_A (PMB-03 0xFB2E)", f.get("current_A"), -12.34)
        C.eq(w + "voltage_V (PMB-03 0x14C0)", f.get("voltage_V"), 53.12)
        C.eq(w + "soc_pct", f.get("soc_pct"), 87.0)
        C.eq(w + "soh_pct", f.get("soh_pct"), 99.0)
        C.eq(w + "capacity_Ah", f.get("capacity_Ah"), 100.0)
        C.eq(w + "cycle_count", f.get("cycle_count"), 33)
        C.eq(w + "cell_voltage_min_V", f.get("cell_voltage_min_V"), 3.29)
        C.eq(w + "cell_voltage_max_V", f.get("cell_voltage_max_V"), 3.31)
        C.eq(w + "temp_max_C", f.get("temp_max_C"), 25.3)
        C.eq(w + "warnings", f.get("_warnings"), {"cell_over_voltage"})
        C.eq(w + "firmware_version", f.get("firmware_version"), "PACE-1.00")
    objs = rp.ndjson(open(os.path.join(t, "pace-noversion.json")).read())
    errs = [o.get("error") or "" for o in objs]
    C.true("unmapped identity block: exception 02 reported", any("Modbus exception 2" in e for e in errs), errs)
    C.true("unmapped identity block: live block still read",
           any(o.get("fields", {}).get("voltage_V") == 53.12 for o in objs if not o.get("error")), objs[:1])
    trace = open(os.path.join(t, "trace")).read()
    # what bmslink asked, in the peer's own log: FC04 at 0x1000 (4096) x 17 and FC03 0..58
    C.true("peer saw FC04 0x1000 x 17", re.search(r" 1 R fc4 ir 4096( \d+){17}\n", trace) is not None)
    C.true("peer saw FC03 0 x 59", re.search(r" 2 R fc3 hr 0( \d+){59}\n", trace) is not None)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def mbpoll_values(args):
    p = subprocess.run(["mbpoll"] + args, capture_output=True, text=True, timeout=20)
    vals = [int(m) for m in re.findall(r"^\[\d+\]:\s+(-?\d+)", p.stdout, re.M)]
    return vals, p.stdout + p.stderr


# The static reference pack (emulate --static, verb_emulate.c) as Seplos V3 pack info A (§2 units): 52.8 V -> 5280,
# 0 A, remaining 80 % of 200 Ah = 16000 x 10 mAh, 20000, discharged (no source) 0,
# SOC 800, SOH 980, 42 cycles, average cell (no source) 0, 25.0 °C -> 2981 (0.1 K + 2731),
# 3303 / 3297 mV, 26.0 / 24.0 °C -> 2991 / 2971, reserved 0, DCL 100 A, CCL 100 A
SV3_PIA = [5280, 0, 16000, 20000, 0, 800, 980, 42, 0, 2981, 3303, 3297, 2991, 2971, 0, 100, 100]


def case_bmslink_battery():
    port = free_port()
    emu = rp.Ready(["emulate", "battery", "--static", "-p", "seplos-v3", "--on", "modbus-tcp:127.0.0.1:%d#1" % port,
                    "--duration", "60s"])
    vals, text = mbpoll_values(["-m", "tcp", "-p", str(port), "-a", "1", "-0", "-t", "3", "-r", "4096", "-c", "17",
                                "-1", "127.0.0.1"])
    C.eq("mbpoll TCP: pack info A of the emulated pack", vals, SV3_PIA)
    vals, text = mbpoll_values(["-m", "tcp", "-p", str(port), "-a", "1", "-0", "-t", "3", "-r", "0", "-c", "1",
                                "-1", "127.0.0.1"])
    C.true("mbpoll TCP: an unmapped register answers exception 02", "Illegal data address" in text, text[-200:])
    c = ModbusTcpClient("127.0.0.1", port=port, timeout=10)
    c.connect()
    r = c.read_input_registers(0x1000, 17, slave=1)
    C.eq("pymodbus TCP: pack info A", getattr(r, "registers", None), SV3_PIA)
    r = c.read_coils(0x1278, 2, slave=1)
    C.eq("pymodbus TCP: TB07 discharge and charge FET on", getattr(r, "bits", [None, None])[:2], [True, True])
    r = c.read_input_registers(0x1100, 16, slave=1)
    cells = getattr(r, "registers", [])
    C.eq("pymodbus TCP: 16 cells add up to 52.8 V", sum(cells), 52800)
    C.eq("pymodbus TCP: cell extremes", (min(cells), max(cells)) if cells else None, (3297, 3303))
    c.close()
    emu.stop()

    # RTU on a pty pair: bmslink serves one end, mbpoll reads the other
    with rp.PtyPair() as pty:
        emu = rp.Ready(["emulate", "battery", "--static", "-p", "pace-modbus", "--on", "modbus-rtu:%s@9600#3" % pty.a,
                        "--duration", "60s"])
        vals, text = mbpoll_values(["-m", "rtu", "-b", "9600", "-P", "none", "-a", "3", "-0", "-r", "0", "-c", "8",
                                    "-1", pty.b])
        # PACE map (§1): 0 A, 5280 x 10 mV, 80 %, 98 %, remaining 16000, full 20000, design (no source) 0, 42 cycles
        C.eq("mbpoll RTU: PACE registers 0..7 (%s)" % text[-120:], vals, [0, 5280, 80, 98, 16000, 20000, 0, 42])
        vals, text = mbpoll_values(["-m", "rtu", "-b", "9600", "-P", "none", "-a", "4", "-0", "-r", "0", "-c", "1",
                                    "-o", "0.3", "-1", pty.b])
        C.true("mbpoll RTU: another unit gets no answer", "timed out" in text.lower(), text[-200:])
        err = emu.stop()
    C.true("emulate counted its answers", "requests answered" in err, err[-200:])


case_pymodbus_battery()
case_bmslink_battery()
C.done()
