"""Shared helpers for the Python tests: reading the CAN vectors, running bmslink.

The vector label -> bmslink protocol map and the vector-field -> canonical-key
map live here so every test reads the fact-sheet vectors the same way."""
import csv
import glob
import json
import os
import subprocess
import sys
import tempfile

# vector "protocol" label -> bmslink protocol name (protocols/README.md "Names and roles")
LABELS = {
    "pylon-lv": "pylon-lv", "sma-si": "sma-si", "victron": "victron",
    "pylon-hv": "pylon-hv", "pylon-hv-le-nooffset": "pylon-hv:le", "pylon-hv-be-nooffset": "pylon-hv:be",
    "byd-hvs": "byd-hvs", "sma-hv": "sma-hv", "growatt-lv": "growatt-lv", "growatt-hv": "growatt-hv",
    "growatt-wit": "growatt-wit", "solax": "solax", "foxess": "foxess", "sofar-ext": "sofar",
    "afore": "afore", "sungrow-sbr": "sungrow", "schneider-se": "schneider", "goodwe-lv": "goodwe-lv",
}

# vector field name -> canonical JSON key
FIELDS = {
    "charge_voltage_limit": "charge_voltage_limit_V", "cvl": "charge_voltage_limit_V",
    "charge_current_limit": "charge_current_limit_A", "ccl": "charge_current_limit_A",
    "discharge_current_limit": "discharge_current_limit_A", "dcl": "discharge_current_limit_A",
    "discharge_voltage_limit": "discharge_voltage_limit_V", "dvl": "discharge_voltage_limit_V",
    "soc": "soc_pct", "soh": "soh_pct", "voltage": "voltage_V", "current": "current_A",
    "temperature": "temperature_C", "temp_avg": "temperature_C",
    "temp_min": "temp_min_C", "temp_max": "temp_max_C",
    "cell_v_min": "cell_voltage_min_V", "cell_v_max": "cell_voltage_max_V",
    "cell_voltage_min": "cell_voltage_min_V", "cell_voltage_max": "cell_voltage_max_V",
    "charge_enable": "charge_enable", "discharge_enable": "discharge_enable",
    "force_charge": "force_charge", "full_charge_request": "full_charge_request",
    "module_count": "module_count", "capacity": "capacity_Ah", "capacity_ah": "capacity_Ah",
    "cycle_count": "cycle_count", "cycles": "cycle_count", "manufacturer": "manufacturer",
    "model": "model", "firmware_version": "firmware_version",
    # ---- CAN families (issue 4): the fact sheets' names for the same canonical fields ----
    "soc_hires": "soc_pct",
    "max_voltage": "charge_voltage_limit_V", "min_voltage": "discharge_voltage_limit_V",
    "charge_voltage": "charge_voltage_limit_V",
    "charge_cutoff_voltage": "charge_voltage_limit_V", "discharge_cutoff_voltage": "discharge_voltage_limit_V",
    "max_charge_current": "charge_current_limit_A", "max_discharge_current": "discharge_current_limit_A",
    "max_cell_voltage": "cell_voltage_max_V", "min_cell_voltage": "cell_voltage_min_V",
    "max_temperature": "temp_max_C", "min_temperature": "temp_min_C",
    "max_cell_temperature": "temp_max_C", "min_cell_temperature": "temp_min_C",
    "full_capacity": "capacity_Ah", "capacity_available": "capacity_Ah",
    "modules_in_series": "module_count", "modules_online": "module_count", "pack_count": "module_count",
    "brand": "manufacturer", "name": "manufacturer",
    "status.charge_enabled": "charge_enable", "status.discharge_enabled": "discharge_enable",
    "force_charge_1": "force_charge", "forced_charge_request": "force_charge",
    # inverter -> battery frames: the inverter record (checked through the message's signals)
    "inverter_voltage": "inv_voltage_V", "inverter_temperature": "inv_temperature_C",
    "inverter_soc": "inv_soc_pct", "operating_state": "inv_state", "error_number": "inv_error",
    "firmware": "firmware_version", "sw_version": "firmware_version",
}

# rows whose unit says the field is not the canonical one of the same name (BYD 0x250 capacity in kWh)
NOT_CANONICAL_UNITS = {"capacity_Ah": {"kWh", "Wh"}}

# vector alarm names (after "alarm."/"warning."/"protection.") -> canonical alarm names
ALARMS = {
    "cell_over_voltage": "cell_over_voltage", "cell_high_voltage": "cell_over_voltage",
    "cell_under_voltage": "cell_under_voltage", "cell_low_voltage": "cell_under_voltage",
    "high_voltage": "pack_over_voltage", "low_voltage": "pack_under_voltage",
    "pack_over_voltage": "pack_over_voltage", "pack_under_voltage": "pack_under_voltage",
    "discharge_over_current": "discharge_over_current", "charge_over_current": "charge_over_current",
    "high_discharge_current": "discharge_over_current", "high_charge_current": "charge_over_current",
    "internal_comm_fail": "communication_fault", "system_error": "internal_fault",
    "high_temperature": "discharge_over_temperature", "low_temperature": "discharge_under_temperature",
    "short_circuit": "short_circuit", "cell_imbalance": "cell_imbalance", "general": "internal_fault",
    # ---- CAN families (issue 4) ----
    "internal_comm": "communication_fault", "pile_low_voltage": "pack_under_voltage",
    "pile_high_voltage": "pack_over_voltage", "system_defect": "internal_fault",
    "internal_hardware": "internal_fault",
}

# SMA HV calls its alarm class "fault", Pylon HV has an "error" byte: both are alarms here
CLASSES = {"alarm": "alarms", "warning": "warnings", "protection": "protections", "fault": "alarms",
           "error": "alarms"}


def field_key(row):
    """Canonical JSON key of a vector row's field, or None when it has no canonical meaning."""
    key = FIELDS.get(row["field"])
    if key is not None and row.get("unit") in NOT_CANONICAL_UNITS.get(key, ()):
        return None
    return key


def protocol_detail(name):
    """bmslink protocols --json NAME as a dict."""
    p = subprocess.run([bmslink(), "protocols", "--json", name], capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def bmslink():
    b = os.environ.get("BMSLINK")
    if not b:
        print("BMSLINK not set (run through ctest)")
        sys.exit(77)
    return b


def vectors_dir():
    return os.path.join(os.environ.get("BMSLINK_SHARED", "../shared"), "protocols", "vectors")


def can_vectors():
    """[(vector_id, label, id, ext, dlc, data, [rows])] in file order."""
    out, index = [], {}
    for path in sorted(glob.glob(os.path.join(vectors_dir(), "can", "*.csv"))):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                key = (row["vector_id"], row["protocol"])
                if key not in index:
                    index[key] = len(out)
                    out.append({"vid": row["vector_id"], "label": row["protocol"],
                                "id": int(row["id_hex"], 16), "ext": row["ext"] == "1",
                                "dlc": int(row["dlc"]), "data": row["data_hex"], "rows": [],
                                "file": os.path.basename(path)})
                out[index[key]]["rows"].append(row)
    return out


def log_line(i, v):
    ident = ("%08X" if v["ext"] else "%03X") % v["id"]
    return "(%d.%06d) can0 %s#%s\n" % (1700000000 + i, 0, ident, v["data"])


def decode_json(protocol, lines):
    """Run bmslink decode --json over candump lines; returns (objects, stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as t:
        t.writelines(lines)
        name = t.name
    try:
        p = subprocess.run([bmslink(), "decode", "-p", protocol, "--json", "-q", name],
                           capture_output=True, text=True)
    finally:
        os.unlink(name)
    objs = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    return objs, p.stderr, p.returncode


def known_protocols():
    p = subprocess.run([bmslink(), "protocols", "--json"], capture_output=True, text=True, check=True)
    return {o["name"]: o for o in json.loads(p.stdout)}
