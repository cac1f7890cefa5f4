#!/usr/bin/python3
"""canmatrix (a DBC reader we did not write) loads every DBC that `bmslink dbc`
exports and decodes the fact-sheet vectors and the bundled sample capture to the
same signal values as `bmslink decode`."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import blvec  # noqa: E402

try:
    import logging
    logging.disable(logging.CRITICAL)
    import canmatrix
    import canmatrix.formats
except ImportError:
    print("python3-canmatrix not installed")
    sys.exit(77)


def load_dbc(name, address=0):
    dbc = subprocess.run([blvec.bmslink(), "dbc", "--address", str(address), name] if address else
                         [blvec.bmslink(), "dbc", name], capture_output=True, text=True)
    if dbc.returncode != 0:
        raise SystemExit("bmslink dbc %s failed: %s" % (name, dbc.stderr))
    with tempfile.NamedTemporaryFile("w", suffix=".dbc", delete=False) as t:
        t.write(dbc.stdout)
        path = t.name
    try:
        return canmatrix.formats.loadp_flat(path)
    finally:
        os.unlink(path)


def cm_decode(db, fid, ext, data):
    fr = db.frame_by_id(canmatrix.ArbitrationId(id=fid, extended=ext))
    if fr is None:
        return None, None
    raw = bytes.fromhex(data)
    raw = (raw + bytes(fr.size))[:fr.size]  # canmatrix insists on the DBC length
    return fr, {k: v for k, v in fr.decode(raw).items()}


def addresses(name):
    """[(mask, shift)] of the protocol's addressed messages (Pylon HV group, Sofar battery id)."""
    d = blvec.protocol_detail(name)
    return d.get("address_shift", 0), [(int(m["id"], 16), int(m["id_mask"], 16), m["extended"])
                                       for m in d.get("messages", []) if "id_mask" in m]


def address_of(fid, ext, shift, masks):
    for mid, mk, mext in masks:
        if mext == ext and (fid & mk) == (mid & mk):
            return (fid & ~mk & (0x1FFFFFFF if ext else 0x7FF)) >> shift
    return 0


def compare(name, db, frames, bad):
    """frames: [(id, ext, data_hex)]; returns the number of signal values compared. An addressed
    id (0x4211) is compared against the DBC exported for that address (bmslink dbc --address)."""
    shift, masks = addresses(name)
    dbs = {0: db}
    lines = ["(%d.000000) can0 %s#%s\n" % (1700000000 + i, ("%08X" if e else "%03X") % fid, d)
             for i, (fid, e, d) in enumerate(frames)]
    objs, err, _ = blvec.decode_json(name, lines)
    n = 0
    for (fid, ext, data), o in zip(frames, objs):
        a = address_of(fid, ext, shift, masks) if masks else 0
        if a not in dbs:
            dbs[a] = load_dbc(name, a)
        fr, dec = cm_decode(dbs[a], fid, ext, data)
        if fr is None:
            if o.get("message"):
                bad.append("%s: 0x%X decodes in bmslink but is not in the DBC" % (name, fid))
            continue
        nbytes = len(data) // 2
        for sname, sig in (o.get("signals") or {}).items():
            v = sig["value"]
            if isinstance(v, str) or sname not in dec:
                continue
            cs = fr.signal_by_name(sname)
            end_bit = cs.get_startbit(bit_numbering=1, start_little=True) + cs.size
            if cs.is_little_endian and end_bit > nbytes * 8:
                continue
            theirs = float(dec[sname].phys_value)
            if "magnitude" in (cs.comment or ""):
                theirs = abs(theirs)
            if abs(theirs - float(v)) > 1e-6 + abs(float(v)) * 1e-9:
                bad.append("%s 0x%X %s: canmatrix %s, bmslink %s" % (name, fid, sname, theirs, v))
            n += 1
    return n


def sample_frames(path, limit=3000):
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3 or "#" not in parts[2] or "##" in parts[2]:
                continue
            ident, data = parts[2].split("#", 1)
            if data.startswith("R") or len(data) > 16 or len(data) % 2:
                continue
            try:
                out.append((int(ident, 16), len(ident) == 8, data))
            except ValueError:
                continue
            if len(out) >= limit:
                break
    return out


def main():
    protos = [p for p, o in blvec.known_protocols().items() if o["bus"] == "can"]
    vecs = blvec.can_vectors()
    src = os.environ.get("BMSLINK_SRC", ".")
    bad, total = [], 0
    for name in sorted(protos):
        db = load_dbc(name)
        if not db.frames:
            bad.append("%s: canmatrix found no frames in the DBC" % name)
            continue
        frames = [(v["id"], v["ext"], v["data"]) for v in vecs if blvec.LABELS.get(v["label"]) == name]
        sample = os.path.join(src, "share", "captures", "%s-sample.log" % name.replace(":", "-"))
        if os.path.exists(sample):
            frames += sample_frames(sample)
        if frames:
            total += compare(name, db, frames, bad)
    print("canmatrix: %d DBCs loaded, %d signal values compared, %d disagree" % (len(protos), total, len(bad)))
    for b in bad[:50]:
        print("FAIL " + b)
    return 1 if bad or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
