#!/usr/bin/python3
"""The peer side of bench/decode: python-can's CanutilsLogReader + canmatrix decode
of every frame (frames padded or cut to the DBC length, as canmatrix requires)."""
import logging
import sys
import time

logging.disable(logging.CRITICAL)
import can  # noqa: E402
import canmatrix  # noqa: E402
import canmatrix.formats  # noqa: E402

log, dbc = sys.argv[1], sys.argv[2]
db = canmatrix.formats.loadp_flat(dbc)
cache = {}
t0 = time.perf_counter()
n = decoded = 0
for m in can.CanutilsLogReader(log):
    n += 1
    key = (m.arbitration_id, m.is_extended_id)
    fr = cache.get(key, 0)
    if fr == 0:
        fr = cache[key] = db.frame_by_id(canmatrix.ArbitrationId(id=m.arbitration_id, extended=m.is_extended_id))
    if fr is None:
        continue
    data = (bytes(m.data) + bytes(fr.size))[:fr.size]
    fr.decode(data)
    decoded += 1
print("%d %d %.3f" % (n, decoded, time.perf_counter() - t0))
