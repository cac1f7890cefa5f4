#!/usr/bin/python3
"""The CAN protocol families as a user meets them: `bmslink protocols` lists >= 14 CAN
protocols with both roles and marks low confidence; `protocols NAME` shows the session
rules and capabilities; `protocols --map A B` works for every pair and its counts add up;
bad names and arguments are usage errors naming the known names; `dbc --address`; and
`decode` without -p reports an ambiguous id instead of guessing silently."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import blvec  # noqa: E402

B = blvec.bmslink()
# under the valgrind wrapper (BMSLINK_VALGRIND=ON) an invocation costs ~0.8 s: sample the sweeps
SLOW = "valgrind" in os.path.basename(B)
bad = []


def run(*args, stdin=None):
    p = subprocess.run([B] + list(args), capture_output=True, text=True, input=stdin)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        bad.append(what)


def main():
    rc, out, _ = run("protocols", "--json")
    expect(rc == 0, "protocols --json exit %d" % rc)
    listing = json.loads(out)
    can = [p for p in listing if p["bus"] == "can"]
    roots = [p for p in can if "variant_of" not in p]
    expect(len(roots) >= 14, "only %d CAN protocol families" % len(roots))
    for p in can:
        expect(set(p["roles"]) == {"battery", "inverter"}, "%s: roles %r" % (p["name"], p["roles"]))
        expect(p["bitrate"] in (250000, 500000), "%s: bitrate %r" % (p["name"], p["bitrate"]))
        expect(p["id_bits"] in (11, 29), "%s: id_bits %r" % (p["name"], p["id_bits"]))
        expect(p["capabilities"]["fields"], "%s: carries no field" % p["name"])
        expect("charge_current_limit_A" in p["capabilities"]["fields"], "%s: no charge limit" % p["name"])
    conf = {p["name"]: p["confidence"] for p in can}
    for low in ("goodwe-lv", "growatt-wit", "schneider", "afore", "sungrow", "sofar", "foxess"):
        expect(conf.get(low) == "low", "%s should be marked low confidence, is %r" % (low, conf.get(low)))
    expect(conf.get("sungrow") and [p for p in can if p["name"] == "sungrow"][0]["bitrate"] == 250000,
           "sungrow is 250 kbit/s")
    shape = os.path.join(os.environ.get("BMSLINK_SHARED", "../shared"), "tools", "check-json-shape.py")
    if os.path.exists(shape):
        chk = subprocess.run(["/usr/bin/python3", shape, "protocols"], input=out, capture_output=True, text=True)
        expect(chk.returncode == 0, "protocols --json shape: " + chk.stdout[:300])

    # every protocol's detail, text and JSON; inverter-first ones say what makes the battery answer
    for p in can:
        rc, out, err = run("protocols", "--json", p["name"])
        expect(rc == 0, "protocols --json %s: exit %d %s" % (p["name"], rc, err))
        d = json.loads(out)
        if d["who_speaks_first"] == "inverter":
            expect(any(t["answers"] or t["starts_sending"] for t in d["triggers"]),
                   "%s: inverter speaks first but no trigger answers" % p["name"])
        expect(any(m["direction"] == "battery_to_inverter" and m["sent"] for m in d["messages"]),
               "%s: the battery sends nothing" % p["name"])
        for f, fd in d["capabilities"]["field_detail"].items():
            if "step" in fd:
                expect(fd["step"] > 0 and fd["min"] <= fd["max"], "%s %s: step/range %r" % (p["name"], f, fd))
        if not SLOW or p["name"] in ("solax", "pylon-hv:be", "victron"):
            rc, out, _ = run("protocols", p["name"])
            expect(rc == 0 and "messages:" in out and "carries:" in out, "protocols %s text" % p["name"])
    rc, out, _ = run("protocols", "solax")
    expect("contactor_closed" in out and "IE102" in out, "solax detail lacks its state machine / identity facts")

    # --map for every pair of CAN protocols: counts add up, statuses known
    names = [p["name"] for p in can]
    pairs = 0
    sweep = [(a, b) for a in names for b in names]
    if SLOW:  # each protocol once as the source and once as the target
        sweep = [(a, names[(i + 1) % len(names)]) for i, a in enumerate(names)] + [("sma-si", "sma-si")]
    for a, b in sweep:
        if True:
            rc, out, err = run("protocols", "--json", "--map", a, b)
            if rc != 0:
                bad.append("--map %s %s: exit %d %s" % (a, b, rc, err.strip()))
                continue
            m = json.loads(out)
            pairs += 1
            expect(sum(m["summary"]["fields"].values()) == 23, "--map %s %s: field counts" % (a, b))
            for f in m["fields"]:
                expect(f["status"] in ("passes", "degrades", "lost", "absent"), "--map %s %s: %r" % (a, b, f))
                if f["status"] == "degrades" and "step" in f["why"]:
                    expect(f["max_error"] > 0, "--map %s %s %s: step degrades without an error" % (a, b, f["field"]))
            if a == b and a in ("sma-si", "byd-hvs", "sma-hv", "growatt-lv"):
                expect(m["summary"]["fields"]["lost"] == 0, "--map %s %s loses fields" % (a, b))
    rc, out, _ = run("protocols", "--map", "sma-si", "growatt-lv")
    expect("soc_pct" in out and "worst-case error 0.5 %" in out, "--map sma-si growatt-lv text: %s" % out[:400])

    # usage errors name what and list the known names
    for args, want in ((["protocols", "--map", "sma-si"], "two protocols"),
                       (["protocols", "--map", "sma-si", "nope"], "unknown protocol 'nope'; known: "),
                       (["protocols", "pylon-hv:nope"], "pylon-hv:le-offset"),
                       (["decode", "-p", "solax:nope", "x.log"], "solax:x3-ultra"),
                       (["dbc", "--address", "1", "sma-si"], "no addressed ids"),
                       (["dbc", "--address", "x", "pylon-hv"], "bad --address")):
        rc, _, err = run(*args)
        expect(rc == 2, "%s: exit %d, expected 2" % (" ".join(args), rc))
        expect(want in err, "%s: stderr lacks %r: %s" % (" ".join(args), want, err[:200]))
    rc, out, _ = run("dbc", "--address", "1", "sofar")
    expect(rc == 0 and "BO_ %d limits" % (0x80000000 | 0x1351) in out, "dbc --address 1 sofar: 0x1351")

    # decode without -p: the 0x351 clash is reported
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as t:
        t.write("(1.0) can0 351#1402C012C012C201\n(2.0) can0 351#1402C012C012C201\n")
        name = t.name
    try:
        rc, out, err = run("decode", "--summary", name)
    finally:
        os.unlink(name)
    expect(rc == 0, "decode of two 0x351 frames: exit %d" % rc)
    expect("detected pylon-lv" in err, "detection: %s" % err)
    expect("ambiguous: 11-bit 0x351 is charge_discharge_limits in pylon-lv but soc_soh_flags_state in afore" in err,
           "no ambiguity report: %s" % err)

    print("can protocols: %d CAN protocols (%d families), %d --map pairs; %d problems"
          % (len(can), len(roots), pairs, len(bad)))
    for b in bad[:40]:
        print("FAIL " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
