#!/usr/bin/python3
"""Every CAN vector of ../shared/protocols/vectors/can decodes, through the
bmslink CLI, to the value the fact sheet expects (canonical fields and alarms).
A vector row of a protocol bmslink does not have fails the test when that
protocol is listed as required; rows with no canonical meaning are counted."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import blvec  # noqa: E402

# every CAN family: a vector row of one of these that bmslink lacks fails the test
REQUIRED = {"pylon-lv", "sma-si", "victron", "pylon-hv", "pylon-hv:le", "pylon-hv:be", "byd-hvs", "sma-hv",
            "growatt-lv", "growatt-hv", "growatt-wit", "solax", "foxess", "sofar", "afore", "sungrow",
            "schneider", "goodwe-lv"}


def close(a, b, tol):
    return abs(float(a) - float(b)) <= tol


def resolution(row):
    """One step of the row's encoding (scale, 1 when empty)."""
    return abs(float(row["scale"])) if row.get("scale") else 1.0


def check_row(row, obj, bad, vid, detail=None, siblings=()):
    """detail: the protocol's `protocols --json` message list (to read inverter-side rows through
    their signals); siblings: other rows of the same frame mapping to the same canonical key."""
    field, exp = row["field"], row["expected_value"]
    note = (row.get("note") or "").lower()
    if obj.get("error"):
        if "flagged" in note or "implausible" in note or "must be rejected" in note:
            return "ok"
        bad.append("%s %s: frame rejected: %s" % (vid, field, obj["error"]))
        return "bad"
    cls = field.split(".", 1)[0]
    if cls in blvec.CLASSES and "." in field:
        name = blvec.ALARMS.get(field.split(".", 1)[1])
        if name is None:
            return "skip"
        active = name in obj.get(blvec.CLASSES[cls], [])
        want = exp == "1"  # a bit: 1 = set; an SMA pair: 1 = active, 2 = cleared, 0 = no information
        if active != want:
            bad.append("%s %s: %s %s in %s, expected %s" % (vid, field, name, "raised" if active else "not raised",
                                                           blvec.CLASSES[cls], exp))
            return "bad"
        return "ok"
    key = blvec.field_key(row)
    if key is None:
        return "skip"
    msg = (detail or {}).get(obj.get("message"))
    if msg is not None and msg["direction"] == "inverter_to_battery":
        # an inverter frame: its canonical meaning is the inverter record, read from its signals
        ikey = key if key.startswith("inv_") else "inv_" + key
        sig = next((s["name"] for s in msg["signals"] if s.get("field") == ikey), None)
        if sig is None:
            return "skip"  # this protocol's inverter frame carries no such measurement
        got = (obj.get("signals") or {}).get(sig, {}).get("value")
        key = ikey
    else:
        got = obj.get("fields", {}).get(key)
    if got is None:
        bad.append("%s %s: %s missing from fields %s" % (vid, field, key, obj.get("fields")))
        return "bad"
    if isinstance(got, bool):
        ok = got == (exp in ("1", "true", "True"))
    elif isinstance(got, str):
        ok = got == exp
    else:
        ok = close(got, exp, 1e-6 + abs(float(exp)) * 1e-9)
        # two rows of one frame carry the field (SOC 1 % and 0.01 %): the finer one is the value,
        # the coarser one must agree within its own resolution
        if not ok and any(close(got, s["expected_value"], 1e-6) for s in siblings):
            ok = abs(float(got) - float(exp)) < resolution(row)
    if not ok:
        bad.append("%s %s: %s = %r, expected %s" % (vid, field, key, got, exp))
        return "bad"
    return "ok"


def main():
    have = blvec.known_protocols()
    vecs = blvec.can_vectors()
    bad, counts, missing = [], {"ok": 0, "skip": 0, "bad": 0}, set()
    by_proto = {}
    for v in vecs:
        name = blvec.LABELS.get(v["label"], v["label"])
        if name not in have:
            missing.add(name)
            continue
        by_proto.setdefault(name, []).append(v)
    for name, vs in sorted(by_proto.items()):
        objs, err, rc = blvec.decode_json(name, [blvec.log_line(i, v) for i, v in enumerate(vs)])
        if len(objs) != len(vs):
            bad.append("%s: %d frames in, %d JSON lines out (rc %d): %s" % (name, len(vs), len(objs), rc, err[-300:]))
            continue
        detail = {m["name"]: m for m in blvec.protocol_detail(name).get("messages", [])}
        for v, o in zip(vs, objs):
            for row in v["rows"]:
                key = blvec.field_key(row)
                sib = [r for r in v["rows"] if r is not row and key and blvec.field_key(r) == key]
                counts[check_row(row, o, bad, v["vid"], detail, sib)] += 1
    for m in sorted(missing & REQUIRED):
        bad.append("%s: required protocol missing from bmslink" % m)
    print("vectors: %d rows agree, %d rows without canonical meaning, %d disagree; protocols checked: %s"
          % (counts["ok"], counts["skip"], counts["bad"], ", ".join(sorted(by_proto))))
    if missing:
        print("vectors of protocols bmslink does not have yet: %s" % ", ".join(sorted(missing)))
    for b in bad:
        print("FAIL " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
