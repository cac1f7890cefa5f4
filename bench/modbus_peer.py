#!/usr/bin/python3
"""The Modbus RTU rows of bench/run.

  modbus_peer.py gen N OUT     writes N read exchanges of the PACE map (rs485-modbus-maps.md
                               section 1: FC03 registers 0..58 of unit 1) as hex485 lines, a
                               request then its answer, the values changing every exchange
  modbus_peer.py decode FILE   the peer: pymodbus's RTU framer checks each frame's CRC and
                               decodes the PDU (ServerDecoder for requests, ClientDecoder for
                               answers), then the registers are scaled as the PACE map says
                               (what bmslink decode -p pace-modbus does with the same file);
                               prints "frames decoded seconds"
"""
import logging
import sys
import time

logging.disable(logging.CRITICAL)  # pymodbus sets up root logging on import
from pymodbus.factory import ClientDecoder, ServerDecoder  # noqa: E402
from pymodbus.framer.rtu_framer import ModbusRtuFramer  # noqa: E402
from pymodbus.utilities import computeCRC  # noqa: E402



def frame(pdu):
    # pymodbus returns the CRC byte-swapped, ready to pack big endian: the wire order
    # (CRC-16/MODBUS low byte first; fact sheet check value 01 03 00 05 00 02 -> D4 0A)
    return pdu + computeCRC(pdu).to_bytes(2, "big")


def gen(n, out):
    req = frame(bytes((1, 3, 0, 0, 0, 59)))
    reqhex = " ".join("%02X" % b for b in req)
    with open(out, "w") as f:
        for i in range(n):
            regs = [0] * 59
            regs[0] = (-500 + (i % 1000)) & 0xFFFF  # current, 10 mA, signed
            regs[1] = 5200 + i % 200                # pack voltage, 10 mV
            regs[2] = 50 + i % 50                   # SOC %
            regs[3] = 99                            # SOH %
            regs[4], regs[5], regs[6], regs[7] = 10000, 20000, 20000, 100 + i % 7
            regs[9] = 1 << (i % 4) if i % 10 == 0 else 0
            for c in range(16):
                regs[15 + c] = 3250 + (i + c) % 50  # cells, mV
            for t in range(6):
                regs[31 + t] = 250 + (i + t) % 30   # 0.1 degC
            data = b"".join(r.to_bytes(2, "big") for r in regs)
            ans = frame(bytes((1, 3, len(data))) + data)
            f.write(reqhex + "\n" + " ".join("%02X" % b for b in ans) + "\n")


def s16(v):
    return v - 0x10000 if v & 0x8000 else v


def decode(path):
    lines = [bytes.fromhex(ln) for ln in open(path).read().split("\n") if ln]
    t0 = time.perf_counter()
    reqs = ModbusRtuFramer(ServerDecoder())
    answers = ModbusRtuFramer(ClientDecoder())
    got = []
    decoded = 0
    fields = {}
    for i, b in enumerate(lines):
        got.clear()
        (reqs if i % 2 == 0 else answers).processIncomingPacket(b, got.append, unit=1)
        if not got:
            continue
        m = got[0]
        regs = getattr(m, "registers", None)
        if regs is None:
            continue
        fields["current"] = s16(regs[0]) / 100
        fields["voltage"] = regs[1] / 100
        fields["soc"], fields["soh"] = regs[2], regs[3]
        fields["remaining"], fields["capacity"] = regs[4] / 100, regs[5] / 100
        fields["cycles"] = regs[7]
        fields["warnings"] = [k for k in range(16) if regs[9] >> k & 1]
        fields["protections"] = [k for k in range(16) if regs[10] >> k & 1]
        fields["charge_enable"], fields["discharge_enable"] = regs[11] >> 10 & 1, regs[11] >> 11 & 1
        fields["cells"] = [r / 1000 for r in regs[15:31]]
        fields["temps"] = [s16(r) / 10 for r in regs[31:37]]
        decoded += 1
    print("%d %d %.3f" % (len(lines), decoded, time.perf_counter() - t0))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "gen":
        gen(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "decode":
        decode(sys.argv[2])
    else:
        sys.exit(__doc__)
