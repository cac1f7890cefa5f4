#!/usr/bin/python3
"""Every RS485 vector of ../shared/protocols/vectors/rs485 goes through `bmslink
decode` as a hex485 capture (one frame a line, in the file's order, so answers
follow their requests) and comes out as the fact sheet says: requests with their
address, command and INFO; answers with the values of the `expected` column
(canonical fields, or the protocol's own signals); the frames the sheets mark
wrong rejected with a checksum reason. Modbus answers the sheet lists without
their request get one built here with a CRC-16/MODBUS written from the sheet
(rs485-modbus-maps.md §0), not bmslink's.

Keys of `expected` that name neither a canonical field nor a signal are counted
as unchecked and listed at the end; a value that disagrees fails the test."""
import csv
import glob
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import rs485peer as rp  # noqa: E402

VEC = os.path.join(rp.SHARED, "protocols", "vectors", "rs485")

# vector protocol label -> bmslink protocol (protocols/README.md "Names and roles")
LABELS = {"pylon-rs485": "pylon-rs485", "seplos-v2": "pylon-rs485:seplos-v2", "pace-v25": "pylon-rs485:pace-v25",
          "eg4-lifepower4": "pylon-rs485:eg4", "daren-1363": "pylon-rs485:daren", "seplos-v3-modbus": "seplos-v3",
          "jk-pb-modbus": "jk-pb", "pace-modbus": "pace-modbus", "eg4-ll-modbus": "eg4-ll", "daly-a5": "daly",
          "jbd": "jbd", "jk-4e57": "jk-4e57"}
NOT_HERE = set()

# expected key -> (canonical field, scale to the field's unit, magnitude?)
FIELDS = {
    "voltage_V": ("voltage_V", 1, False), "total_voltage_V": ("voltage_V", 1, False),
    "current_A": ("current_A", 1, False), "current_A_charge_positive": ("current_A", 1, False),
    "soc_pct": ("soc_pct", 1, False), "rsoc_pct": ("soc_pct", 1, False), "soh_pct": ("soh_pct", 1, False),
    "charge_voltage_limit_V": ("charge_voltage_limit_V", 1, False),
    "discharge_voltage_limit_V": ("discharge_voltage_limit_V", 1, False),
    "charge_current_limit_A": ("charge_current_limit_A", 1, True),
    "discharge_current_limit_A": ("discharge_current_limit_A", 1, True),  # sheets keep the wire's sign
    "max_charge_current_A": ("charge_current_limit_A", 1, True),
    "max_discharge_current_A": ("discharge_current_limit_A", 1, True),
    "charge_enable": ("charge_enable", 1, False), "discharge_enable": ("discharge_enable", 1, False),
    "full_charge_request": ("full_charge_request", 1, False),
    "cycles": ("cycle_count", 1, False), "total_Ah": ("capacity_Ah", 1, False), "full_Ah": ("capacity_Ah", 1, False),
    "nominal_Ah": ("capacity_Ah", 1, False),
    "max_cell_mV": ("cell_voltage_max_V", 0.001, False), "min_cell_mV": ("cell_voltage_min_V", 0.001, False),
    "device_name": ("model", None, False), "manufacturer_field": ("manufacturer", None, False),
    "factory_name": ("manufacturer", None, False), "firmware": ("firmware_version", None, False),
    "version_text": ("firmware_version", None, False), "text": ("firmware_version", None, False),
    "max_cell_temp_C": ("temp_max_C", 1, False), "min_cell_temp_C": ("temp_min_C", 1, False),
    "avg_cell_temp_C": ("temperature_C", 1, False),
}
# expected key -> candidate signal names (the first present is compared); lists compare element-wise
SIGNALS = {
    "cell_mV": (["CellVoltage"], 0.001), "temp_C": (["Temperature"], 1), "cells": (["CellCount"], 1),
    "temps": (["TemperatureCount"], 1), "temps_declared": (["TemperatureCount"], 1), "user_items": (["UserItems"], 1),
    "remaining_Ah": (["RemainingCapacity2", "RemainingCapacity", "ResidualCapacity", "RemainingCapacity1"], 1),
    "remaining1_raw": (["RemainingCapacity1"], None), "total1_raw": (["TotalCapacity1"], None),
    "design_Ah": (["DesignCapacity"], 1), "gather_voltage_V": (["GatherVoltage"], 1),
    "max_cell_no": (["MaxCellNumber"], 1), "min_cell_no": (["MinCellNumber"], 1),
    "cell_max_mV": (["MaxCellVoltage"], 0.001), "cell_min_mV": (["MinCellVoltage"], 0.001),
    "cell_delta_mV": (["CellVoltageDelta"], 0.001), "temp_max_C": (["MaxCellTemperature"], 1),
    "temp_min_C": (["MinCellTemperature"], 1), "cum_charge_Ah": (["CumulativeCharge"], 1),
    "cum_discharge_Ah": (["CumulativeDischarge"], 1), "cum_charge_kWh": (["CumulativeChargeEnergy"], 1),
    "cum_discharge_kWh": (["CumulativeDischargeEnergy"], 1), "charge_count": (["ChargeCount"], 1),
    "discharge_count": (["DischargeCount"], 1), "discharged_Ah": (["TotalDischargedCapacity"], 1),
    "avg_cell_mV": (["AverageCellVoltage"], 0.001), "status": (["Status"], 1),
    "fet_status": (["FetStatus"], 1), "system_status": (["SystemStatus"], 1), "system_state": (["SystemState"], 1),
    "protect1": (["ProtectState1"], 1), "protect2": (["ProtectState2"], 1), "fault_state": (["FaultState"], 1),
    "warn1": (["WarnState1"], 1), "warn2": (["WarnState2"], 1), "control_state": (["ControlState"], 1),
    "balance1": (["BalanceState1"], 1), "balance2": (["BalanceState2"], 1),
    "full_charge_voltage_V": (["FullChargeVoltage"], 1), "full_charge_current_mA": (["FullChargeCurrent"], 0.001),
    "soc_low_alarm_pct": (["SocLowAlarm"], 1), "switch": (["SwitchCode"], 1), "state": (["State"], 1),
    "can_protocol_id": (["CanProtocolId"], 1), "rs485_protocol_id": (["Rs485ProtocolId"], 1), "mode": (["Mode"], 1),
    "charge_immediately_1": (["ChargeImmediately1"], 1), "charge_immediately_2": (["ChargeImmediately2"], 1),
    "balance_event": (["BalanceEvent"], 1), "voltage_event": (["VoltageEvent"], 1),
    "temperature_event": (["TemperatureEvent"], 1), "current_event": (["CurrentEvent"], 1),
    "remaining_capacity_alarm": (["RemainingCapacityAlarm"], 1), "cell_state": (["CellState", "CellWarning", "CellAlarm"], 1),
    "temp_state": (["TemperatureState", "TemperatureWarning", "TemperatureAlarm"], 1),
    "charge_current_warn": (["ChargeCurrentWarning"], 1), "total_voltage_warn": (["TotalVoltageWarning"], 1),
    "discharge_current_warn": (["DischargeCurrentWarning"], 1), "current_state": (["CurrentAlarm"], 1),
    "voltage_state": (["VoltageAlarm"], 1), "ntc": (["NtcCount"], 1), "software_version": (["SoftwareVersion"], None),
    "protection": (["Protection"], 1), "balance_low": (["BalanceLow"], 1), "balance_high": (["BalanceHigh"], 1),
    "fet": (["FetState"], 1), "reg0": (None, None), "ntc_count": (["NtcCount"], 1), "cell_count": (["CellsInSeries"], 1),
}


def crc16_modbus(data):
    """CRC-16/MODBUS from the sheet: init 0xFFFF, reflected polynomial 0xA001, sent low byte first."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


def num(v):
    v = v.strip()
    if v.startswith("0x") or v.startswith("0X"):
        return int(v, 16)
    try:
        return float(v)
    except ValueError:
        return v


def close(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-6 + abs(b) * 1e-9 + 0.0005
    return a == b


def load():
    rows = []
    for path in sorted(glob.glob(os.path.join(VEC, "*.csv"))):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                r["file"] = os.path.basename(path)
                rows.append(r)
    return rows


def capture_lines(rows):
    """hex485 lines, one frame each; Modbus answers without their request get one."""
    lines = []  # (vector row, line text)
    for r in rows:
        if r["frame_encoding"] == "ascii+cr":
            lines.append((r, r["frame"]))
            continue
        fr = bytes.fromhex(r["frame"])
        exp = dict(kv.split("=", 1) for kv in r["expected"].split(";") if "=" in kv)
        if r["checksum_type"] == "modbus-crc16" and r["vector_id"] in ("SV3-13", "PMB-03"):
            # the sheet's derived answers: SV3-13 to FC04 0x2000 x 4, PMB-03 to FC03 0 x 4
            start, fc = (0x2000, 4) if r["vector_id"] == "SV3-13" else (0, 3)
            req = bytes([fr[0], fc, start >> 8, start & 0xFF, 0, (fr[2] // 2)])
            lines.append((None, (req + crc16_modbus(req)).hex().upper()))
        lines.append((r, " ".join("%02X" % b for b in fr)))
        del exp
    return lines


def main():
    bad, unchecked, checked, skipped = [], {}, 0, []
    rows = load()
    by_proto = {}
    for r in rows:
        if r["protocol"] in NOT_HERE:
            skipped.append(r["vector_id"])
            continue
        by_proto.setdefault(LABELS[r["protocol"]], []).append(r)
    for proto, prs in by_proto.items():
        lines = capture_lines(prs)
        with tempfile.NamedTemporaryFile("w", suffix=".hex", delete=False) as t:
            for _, text in lines:
                t.write(text + "\n")
            name = t.name
        p = subprocess.run([rp.bmslink(), "decode", "-p", proto, "--json", "-q", name], capture_output=True, text=True)
        os.unlink(name)
        objs = {}
        for o in rp.ndjson(p.stdout):
            # the first message of a line is its frame (a reject may be followed by what the
            # framer found inside the rejected bytes: JK-02 carries "NW" = 4E 57 in its text)
            objs.setdefault(o.get("line"), o)
        for ln, (r, _) in enumerate(lines, 1):
            if r is None:
                continue
            vid = r["vector_id"]
            o = objs.get(ln)
            if o is None:
                bad.append("%s (%s): no decode output (stderr: %s)" % (vid, proto, p.stderr.strip()[-200:]))
                continue
            if r["checksum_ok"] == "no":
                checked += 1
                if not (o.get("error") or "").startswith("checksum") and "CRC" not in (o.get("error") or ""):
                    bad.append("%s: the sheet marks its checksum wrong, bmslink said %r" % (vid, o.get("error")))
                continue
            exp = {}
            for kv in r["expected"].split(";"):
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    exp[k.strip()] = v.strip()
            if o.get("error"):
                # an exception answer is an answer the sheet expects to be an error
                if "exception" in exp and ("exception %d" % int(exp["exception"], 16)) in o["error"]:
                    checked += 1
                    continue
                bad.append("%s: rejected: %s" % (vid, o["error"]))
                continue
            checked += check(vid, r, o, exp, bad, unchecked)
    for b in bad:
        print("FAIL", b)
    print("%d values checked, %d vectors skipped, %d expected keys not checked: %s" % (
        checked, len(skipped), sum(unchecked.values()),
        ", ".join("%s x%d" % kv for kv in sorted(unchecked.items()))))
    sys.exit(1 if bad else 0)


def signal(o, names, pack=None):
    for n in names or []:
        key = ("pack%d.%s" % (pack, n)) if pack else n
        if key in o.get("signals", {}):
            return o["signals"][key]["value"]
    return None


def check(vid, r, o, exp, bad, unchecked):
    n = 0
    req = r["direction"].endswith("battery") or r["direction"].endswith("slave")
    if req or "->lcd" in r["direction"]:
        pass
    for k, v in exp.items():
        pack = None
        base = k
        if k.startswith("pack") and "." in k:
            pack = int(k[4:k.index(".")])
            base = k.split(".", 1)[1]
        got, want = None, None
        if base in ("ver", "cid1", "lenid", "info", "checksum", "length", "transport", "source", "byte_count",
                    "record_index", "dataflag", "infoflag", "packs", "group", "command", "address", "data_id", "rtn",
                    "slave", "fc", "start", "count", "adr", "cid2", "register", "exception", "value"):
            got, want = header(base, o, v, r)
            if got is None and want is None:
                unchecked[base] = unchecked.get(base, 0) + 1
                continue
        elif base in FIELDS and pack is None or (pack and base in FIELDS):
            fld, scale, mag = FIELDS[base]
            src = o["packs"][pack - 1] if pack else o.get("fields", {})
            got = src.get(fld)
            want = num(v) if scale is not None else v
            if scale is not None and isinstance(want, float):
                want = want * scale
                if mag:
                    want = abs(want)
            if isinstance(got, bool):
                want = want in (1, 1.0, "1", "true")
        elif base in SIGNALS and SIGNALS[base][0]:
            names, scale = SIGNALS[base]
            got = signal(o, names, pack)
            if "|" in v or isinstance(got, list):
                want = [num(x) * (scale or 1) for x in v.split("|")]
            else:
                want = num(v)
                if isinstance(want, float) and scale:
                    want = want * scale
            if got is None:
                unchecked[base] = unchecked.get(base, 0) + 1
                continue
            if isinstance(got, str) and "." in got and isinstance(want, (int, float)):
                # version bytes shown "a.b": compare them as the bytes the sheet gives in hex
                got = int.from_bytes(bytes(int(x) for x in got.split(".")), "big")
        elif camel(base)[0] in o.get("signals", {}):
            # the sheet's descriptive key is the signal's name (pack_over_voltage_protect_V -> PackOverVoltageProtect)
            name, scale = camel(base)
            got = o["signals"][name]["value"]
            want = num(v) if not isinstance(got, str) else v
            if isinstance(want, float) and scale:
                want *= scale
            if not isinstance(want, (int, float)) and not isinstance(got, str):
                unchecked[base] = unchecked.get(base, 0) + 1  # a date, a composite: not one number
                continue
        else:
            unchecked[base] = unchecked.get(base, 0) + 1
            continue
        n += 1
        if isinstance(want, list) and isinstance(got, list):
            ok = len(want) == len(got) and all(close(a, b) for a, b in zip(got, want))
        else:
            ok = close(got, want)
        if not ok:
            bad.append("%s %s: got %r, expected %r" % (vid, k, got, want))
    return n


def camel(key):
    """pack_high_voltage_alarm_V -> ("PackHighVoltageAlarm", 1); _mV keys scale to V; others are text."""
    scale = None
    for suf, sc in (("_mV", 0.001), ("_V", 1), ("_A", 1), ("_C", 1), ("_pct", 1)):
        if key.endswith(suf):
            key, scale = key[:-len(suf)], sc
            break
    name = "".join(w.capitalize() for w in key.split("_"))
    return name, scale if scale is not None else (1 if key in ("inverter_protocol_type", "pcs_baud", "ntc_count") else None)


def header(base, o, v, r):
    """Header keys of requests and answers: compared with address/command/data/register/count."""
    want = num(v)
    if base in ("adr", "slave", "address"):
        return int(o["address"], 16), want
    if base in ("ver", "cid1"):
        return (int(o[base], 16) if base in o else None), want
    if base in ("infoflag", "dataflag"):
        return int(o["data"][0:2], 16), want
    if base == "command" and o.get("data") is not None and "ver" not in o:
        return (int(o["command"], 16) if o.get("command") else None), want
    if base in ("data_id", "register") and "register" not in o:
        return (int(o["command"], 16) if o.get("command") else None), want
    if base in ("cid2", "fc"):
        return (int(o["command"], 16) if o.get("command") else None), want
    if base == "start":
        return (int(o["register"], 16) if "register" in o else None), want
    if base == "count":
        return o.get("count"), want
    if base == "info":
        return o.get("data"), v.upper()
    if base == "lenid":
        return len(o.get("data", "")), want
    if base == "exception":
        return o.get("rtn"), want
    return None, None


if __name__ == "__main__":
    main()
