#!/usr/bin/python3
"""bmslink bridge --mqtt against a real mosquitto broker on 127.0.0.1, read back with
mosquitto_sub: the topics, the payloads (state, alarms, link per pack and aggregated), the
Home Assistant discovery messages a fresh Home Assistant would find (retained), and the
status topic with its will."""
import json
import os
import shutil
import select
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import blvec  # noqa: E402

B = blvec.bmslink()
SRC = os.environ.get("BMSLINK_SRC", ".")
SAMPLE = os.path.join(SRC, "share", "captures", "pylon-lv-sample.log")
for tool in ("mosquitto", "mosquitto_sub"):
    if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
        print("%s not installed (apt-get install mosquitto mosquitto-clients)" % tool)
        sys.exit(77)
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL", what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def subscribe(port, topics, count, wait_s):
    """mosquitto_sub: (topic, retained, payload) of up to count messages within wait_s."""
    args = ["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-F", "%t\t%r\t%p",
            "-C", str(count), "-W", str(wait_s)]
    for t in topics:
        args += ["-t", t]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def messages(proc, until=None, wait_s=10):
    """Lines of a subscriber: all of them (it stops by itself), or up to the one with until."""
    if until is None:
        out, _ = proc.communicate(timeout=30)
    else:
        buf, end = b"", time.monotonic() + wait_s
        fd = proc.stdout.fileno()  # raw reads: a buffered readline() would hide lines from select()
        while time.monotonic() < end and until.encode() not in buf:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
        proc.terminate()
        proc.wait()
        out = buf.decode("utf-8", "replace")
    msgs = []
    for line in out.splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3:
            msgs.append((parts[0], parts[1] == "1", parts[2]))
    return msgs


with tempfile.TemporaryDirectory() as T:
    port = free_port()
    conf = os.path.join(T, "mosquitto.conf")
    with open(conf, "w") as fp:
        fp.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % port)
    broker = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit("mosquitto did not start on port %d" % port)

        # two packs; the second falls silent for the last 40 s of the first 120 s
        gap = os.path.join(T, "second.log")
        with open(gap, "w") as fp:
            for line in open(SAMPLE):
                t = float(line.split()[0].strip("()")) if line.startswith("(") else 0
                if t < 1700000080:
                    fp.write(line)
        base = "site1/garage"
        live = subscribe(port, ["site1/#", "homeassistant/#"], 100000, 30)
        time.sleep(0.3)
        p = subprocess.run([B, "bridge", "--from", SAMPLE, "-P", "pylon-lv", "--pack", "pylon-lv=" + gap,
                            "--to", os.path.join(T, "out.log"), "-p", "sma-si", "--duration", "120s",
                            "--mqtt", "mqtt://127.0.0.1:%d/site1" % port, "--mqtt-id", "garage"],
                           capture_output=True, text=True)
        check(p.returncode == 0, "bridge --mqtt exit %d: %s" % (p.returncode, p.stderr))
        got = messages(live, until=base + "/status\t0\toffline")  # the last word (live: retain flag 0)
        topics = {t for t, r, m in got}
        check(len(got) > 100, "messages published during the run (%d)" % len(got))

        for t in ("/status", "/state", "/alarms", "/link", "/pack/0/state", "/pack/1/state", "/pack/0/link",
                  "/pack/1/alarms"):
            check(base + t in topics, "topic %s published" % (base + t))
        status = [m for t, r, m in got if t == base + "/status"]
        check(status[:1] == ["online"] and status[-1:] == ["offline"], "status online, then offline (%s)" % status)

        states = [json.loads(m) for t, r, m in got if t == base + "/state"]
        check(len(states) >= 100, "one state per second of capture (%d)" % len(states))
        early = states[10]
        check(early["charge_current_limit_A"] == 200.0 and early["safe_state"] is False,
              "two packs: 2 x 100 A aggregated (%s)" % early.get("charge_current_limit_A"))
        check(early["temp_min_C"] is None, "a field no pack sends is null (unknown), never 0")
        late = states[-1]
        check(late["charge_current_limit_A"] == 100.0, "the silent pack is dropped: 100 A (%s)" %
              late.get("charge_current_limit_A"))
        links = [json.loads(m) for t, r, m in got if t == base + "/link"]
        check(links[-1]["packs_in_use"] == 1 and links[10]["packs_in_use"] == 2, "packs_in_use 2, then 1")
        plinks = [m for t, r, m in got if t == base + "/pack/1/link"]
        check(plinks[10] == "active" and plinks[-1] == "timeout", "pack 1 link active, then timeout")
        alarms = [json.loads(m) for t, r, m in got if t == base + "/alarms"]
        check("communication_fault" in alarms[-1]["warnings"] and "communication_fault" not in alarms[10]["warnings"],
              "a dropped pack shows as a communication_fault warning")
        pstate = [json.loads(m) for t, r, m in got if t == base + "/pack/0/state"][-1]
        check(pstate["manufacturer"] == "PYLON" and pstate["in_use"] is True, "pack 0's own record is published")

        # Home Assistant discovery: what a Home Assistant that starts later finds (retained)
        late_sub = subscribe(port, ["homeassistant/#", base + "/#"], 1000, 1)
        kept = messages(late_sub)
        cfg = {t: json.loads(m) for t, r, m in kept if t.startswith("homeassistant/")}
        check(all(r for t, r, m in kept), "discovery, state and status are retained")
        soc = cfg.get("homeassistant/sensor/bmslink_garage/soc_pct/config")
        check(soc is not None, "discovery for the SOC sensor")
        if soc:
            check(soc["state_topic"] == base + "/state" and soc["value_template"] == "{{ value_json.soc_pct }}",
                  "SOC sensor reads soc_pct from the state topic")
            check(soc["device_class"] == "battery" and soc["unit_of_measurement"] == "%", "SOC is a battery %")
            check(soc["availability_topic"] == base + "/status", "availability follows the status topic")
            check(soc["unique_id"] == "bmslink_garage_soc_pct", "unique_id is stable")
            check(soc["device"]["identifiers"] == ["bmslink_garage"], "the sensors belong to one device")
        v = cfg.get("homeassistant/sensor/bmslink_garage/voltage_V/config", {})
        check(v.get("device_class") == "voltage" and v.get("unit_of_measurement") == "V", "voltage sensor")
        c = cfg.get("homeassistant/sensor/bmslink_garage/charge_current_limit_A/config", {})
        check(c.get("device_class") == "current" and c.get("unit_of_measurement") == "A", "CCL sensor")
        safe = cfg.get("homeassistant/binary_sensor/bmslink_garage/safe_state/config", {})
        check(safe.get("device_class") == "problem" and safe.get("state_topic") == base + "/link",
              "safe-state binary sensor")
        pk = cfg.get("homeassistant/sensor/bmslink_garage_pack1/soc_pct/config", {})
        check(pk.get("device", {}).get("via_device") == "bmslink_garage" and pk.get("state_topic") == base +
              "/pack/1/state", "each pack is a device of its own, via the gateway")
        lk = cfg.get("homeassistant/binary_sensor/bmslink_garage_pack1/link/config", {})
        check(lk.get("device_class") == "connectivity", "pack link as a connectivity sensor")
        state_keys = set(json.loads([m for t, r, m in kept if t == base + "/state"][0]))
        for t, conf_ in cfg.items():
            tmpl = conf_.get("value_template", "")
            if conf_.get("state_topic") == base + "/state" and "value_json." in tmpl:
                key = tmpl.split("value_json.")[1].split()[0]
                check(key in state_keys, "%s reads '%s', which the state carries" % (t, key))
        retained_status = [m for t, r, m in kept if t == base + "/status"]
        check(retained_status == ["offline"], "the broker keeps 'offline' after the bridge left")
    finally:
        broker.terminate()
        broker.wait(timeout=10)

print("%d failed" % len(fails))
sys.exit(1 if fails else 0)
