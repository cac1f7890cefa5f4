#!/usr/bin/python3
"""bmslink bridge, offline: a recorded Pylon LV session translated into other protocols in
capture time, checked the way an integrator would before going on site, and by peers we did
not write: python-can reads the log we wrote, canmatrix decodes input and output with the
exported DBCs, and `bmslink decode` of the output shows the same battery."""
import json
import logging
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import blvec  # noqa: E402

B = blvec.bmslink()
SRC = os.environ.get("BMSLINK_SRC", ".")
SAMPLE = os.path.join(SRC, "share", "captures", "pylon-lv-sample.log")
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL", what)


def run(*args, rc=0):
    p = subprocess.run([B, *args], capture_output=True, text=True)
    if p.returncode != rc:
        print(p.stdout[-2000:], p.stderr[-2000:])
        raise SystemExit("bmslink %s: exit %d, expected %d" % (" ".join(args), p.returncode, rc))
    return p


def frames(path):
    """(ts, id, ext, data hex) of a candump -L log."""
    out = []
    for line in open(path):
        parts = line.split()
        if len(parts) < 3 or "#" not in parts[2]:
            continue
        i, d = parts[2].split("#", 1)
        out.append((float(parts[0].strip("()")), int(i, 16), len(i) > 3, d))
    return out


def summary(proto, path):
    return json.loads(run("decode", "-p", proto, "--summary", path).stdout)


def decode_lines(proto, path):
    return [json.loads(x) for x in run("decode", "-p", proto, "--json", path).stdout.splitlines()]


def u16(d, i):
    """little-endian 16-bit word at byte i of hex data d"""
    return int(d[2 * i + 2:2 * i + 4] + d[2 * i:2 * i + 2], 16)


def s16(d, i):
    v = u16(d, i)
    return v - 0x10000 if v & 0x8000 else v


with tempfile.TemporaryDirectory() as T:
    # ---- one pack, Pylon LV -> SMA SI: decode shows the same battery ----
    out = os.path.join(T, "si.log")
    p = run("bridge", "--from", SAMPLE, "-P", "pylon-lv", "--to", out, "-p", "sma-si")
    check("0 in the safe state" in p.stdout, "a clean capture never puts the output in the safe state")
    a, b = summary("pylon-lv", SAMPLE)["record"], summary("sma-si", out)["record"]
    for k in ("soc_pct", "soh_pct", "voltage_V", "current_A", "temperature_C", "charge_voltage_limit_V",
              "charge_current_limit_A", "discharge_current_limit_A", "discharge_voltage_limit_V", "manufacturer"):
        check(a.get(k) == b.get(k), "decode of the SI log shows %s %r, the Pylon capture %r" % (k, b.get(k), a.get(k)))

    # the SI gets every message once a second, all through the capture
    f_in, f_out = frames(SAMPLE), frames(out)
    # (plus one early frame where a limit shrank: CVL 55.2 -> 53.2 V at 400.9 s in the sample)
    t351 = [t for t, i, e, d in f_out if i == 0x351]
    grid = [t for t in t351 if abs((t - t351[0]) - round(t - t351[0])) < 0.0015]
    extra = [t for t in t351 if t not in grid]
    cvl_in = [(t, u16(d, 0)) for t, i, e, d in f_in if i == 0x351 and 4 <= len(d) <= 16]  # DLC 2..8 decode
    drops = [t for (t, v), (t2, v2) in zip(cvl_in, cvl_in[1:]) if v2 < v]
    check(len(grid) >= 1195 and all(abs(y - x - 1.0) < 0.0015 for x, y in zip(grid, grid[1:])),
          "0x351 every 1.000 s (got %d on the grid)" % len(grid))
    check(len(extra) == len(drops) == 1, "one early frame per shrinking limit (%s, drops %s)" % (extra, drops))
    check(f_out[0][0] - f_in[0][0] < 1.1, "the output starts within the first second of the capture")

    # python-can reads the log we wrote: same frames
    try:
        logging.disable(logging.CRITICAL)
        import can
        got = [(m.arbitration_id, m.data.hex().upper()) for m in can.CanutilsLogReader(out)]
        check(got == [(i, d) for t, i, e, d in f_out], "python-can reads %d frames of %d" % (len(got), len(f_out)))
    except ImportError:
        print("python3-can missing: log read-back skipped")

    # canmatrix decodes input and output with the exported DBCs: the limits went across unchanged
    try:
        import canmatrix
        import canmatrix.formats

        def dbc(name):
            path = os.path.join(T, name + ".dbc")
            with open(path, "w") as fp:
                fp.write(run("dbc", name).stdout)
            return canmatrix.formats.loadp_flat(path)

        def ccl(db, fl):
            fr = db.frame_by_id(canmatrix.ArbitrationId(id=0x351, extended=False))
            vals = []
            for t, i, e, d in fl:
                if i == 0x351 and len(d) == 16:
                    vals.append(float(fr.decode(bytes.fromhex(d))["ChargeCurrentLimit"].phys_value))
            return vals

        cin, cout = ccl(dbc("pylon-lv"), f_in), ccl(dbc("sma-si"), f_out)
        check(sorted(set(cout)) == sorted(set(cin)), "canmatrix: SI CCL values %s, Pylon %s" %
              (sorted(set(cout))[:5], sorted(set(cin))[:5]))
    except ImportError:
        print("python3-canmatrix missing: DBC cross-check skipped")

    # ---- a gap in the battery's traffic: the SI gets the safe state, at its period ----
    gap = os.path.join(T, "gap.log")
    with open(gap, "w") as fp:
        for line in open(SAMPLE):
            t = float(line.split()[0].strip("()")) if line.startswith("(") else 0
            if not 1700000100 <= t < 1700000160:
                fp.write(line)
    out = os.path.join(T, "gap-si.log")
    p = run("bridge", "--from", gap, "-P", "pylon-lv", "--to", out, "-p", "sma-si")
    check("silent for 10.0 s: dropped from the limits" in p.stdout, "the summary tells the pack was dropped")
    last_in = max(t for t, i, e, d in frames(gap) if i == 0x351 and t < 1700000100)
    back = min(t for t, i, e, d in frames(gap) if i == 0x351 and t >= 1700000160)
    during = [(t, d) for t, i, e, d in frames(out) if i == 0x351 and last_in < t < back]
    check(len(during) >= 60, "the SI keeps getting 0x351 during the gap (%d frames)" % len(during))
    for t, d in during:
        limits = s16(d, 2), s16(d, 4)
        if t - last_in <= 10.0:
            check(limits != (0, 0), "%.3f: limits still fresh (%.3f s old) but 0 A sent" % (t, t - last_in))
        else:
            check(limits == (0, 0), "%.3f: limits %.3f s old forwarded: %s" % (t, t - last_in, d))
    first_safe = min(t for t, d in during if (s16(d, 2), s16(d, 4)) == (0, 0))
    check(abs(first_safe - (last_in + 10.001)) < 0.0015,
          "the safe state leaves at once when the limits expire (%.3f, expiry %.3f)" % (first_safe, last_in + 10.001))
    alarms = [x for x in decode_lines("sma-si", out) if x["id"] == "0x35A" and last_in + 10.001 < x["ts"] < back]
    check(alarms and all("internal_fault" in x["alarms"] for x in alarms),
          "the SI's safe-state alarm (general -> internal_fault) is raised during the gap")

    # ---- --json in capture time: one update per second, the safe state visible ----
    p = run("bridge", "--from", gap, "-P", "pylon-lv", "--to", os.path.join(T, "x.log"), "-p", "sma-si", "--json",
            "--duration", "200s")
    ups = [json.loads(x) for x in p.stdout.splitlines()]
    check(190 <= len(ups) <= 202, "one update per second of capture (%d)" % len(ups))
    safe = [u for u in ups if u["safe_state"]]
    check(safe and all(last_in + 10 < u["ts"] < back + 1 for u in safe), "updates in the gap say safe_state")
    check(any(e["event"] == "pack_lost" for u in ups for e in u["events"]), "the pack_lost event is in the updates")
    check(ups[50]["packs"][0]["in_use"] and ups[50]["record"]["charge_current_limit_A"] == 100.0,
          "an update shows the pack in use and the limit sent")

    # ---- two packs: the limits and the current add up ----
    second = os.path.join(T, "second.log")
    with open(second, "w") as fp:
        for line in open(SAMPLE):
            if line.startswith("("):
                t, rest = line.split(" ", 1)
                fp.write("(%.6f) %s" % (float(t.strip("()")) + 0.3, rest))
    out = os.path.join(T, "two.log")
    run("bridge", "--from", SAMPLE, "-P", "pylon-lv", "--pack", "pylon-lv=" + second, "--to", out, "-p", "sma-si")
    lim = [(s16(d, 2), s16(d, 4)) for t, i, e, d in frames(out) if i == 0x351]
    check(lim and all(c == 2000 and dd == 2000 for c, dd in lim[5:]), "2 x 100.0 A (got %s)" % sorted(set(lim))[:4])

    # ---- site limits: clamped and said ----
    site = os.path.join(T, "site.yaml")
    with open(site, "w") as fp:
        fp.write("charge_current_limit_A: 50\ndischarge_voltage_limit_V: 49\n")
    out = os.path.join(T, "site.log")
    p = run("bridge", "--from", SAMPLE, "-P", "pylon-lv", "--to", out, "-p", "sma-si", "--site-limits", site)
    check("charge_current_limit_A 100.0 A clamped to 50.0 A (site limit)" in p.stdout, "the clamp is reported")
    lim = {(s16(d, 2), u16(d, 6)) for t, i, e, d in frames(out) if i == 0x351}
    check(lim == {(500, 490)}, "CCL 50.0 A and DVL 49.0 V on the wire (got %s)" % sorted(lim))

    # ---- --dry-run: what would be sent, nothing written ----
    dry = os.path.join(T, "dry.log")
    p = run("bridge", "--from", SAMPLE, "-P", "pylon-lv", "--to", dry, "-p", "sma-si", "--dry-run", "--count", "200")
    check(not os.path.exists(dry), "--dry-run creates no output file")
    check("351#2802E803E803E001  -> inverter charge_discharge_limits charge_voltage_limit_V=55.2 V" in p.stdout,
          "--dry-run shows each frame and what it says")

    # ---- an inverter that speaks first (Pylon HV): its polls are played, the answers follow ----
    out = os.path.join(T, "hv.log")
    run("bridge", "--from", SAMPLE, "-P", "pylon-lv", "--to", out, "-p", "pylon-hv", "--duration", "30s")
    fl = frames(out)
    polls = [t for t, i, e, d in fl if i == 0x4200 and e and d.startswith("00")]
    burst = [t for t, i, e, d in fl if i == 0x4210]
    check(len(polls) >= 25 and len(burst) == len(polls), "each 0x4200 poll is answered (%d, %d)" % (len(polls), len(burst)))
    hv = summary("pylon-hv", out)["record"]
    check(hv.get("voltage_V") is not None, "decode -p pylon-hv shows a voltage")
    a30 = summary("pylon-lv", SAMPLE)  # the limits are the same whatever the second
    check(hv.get("charge_current_limit_A") == a30["record"]["charge_current_limit_A"],
          "decode -p pylon-hv shows CCL %r" % hv.get("charge_current_limit_A"))

print("%d failed" % len(fails))
sys.exit(1 if fails else 0)
