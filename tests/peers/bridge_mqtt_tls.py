#!/usr/bin/python3
"""bmslink bridge --mqtt with a user name, a password file and TLS, against a real mosquitto
that allows no anonymous client: a CA and the broker's certificate made here with openssl, the
password file with mosquitto_passwd, read back with mosquitto_sub over TLS. Wrong password,
an unknown CA and plain MQTT on the TLS port must fail with a message and exit 3; the same
settings from bridge --config (relative file names) must work."""
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import rs485peer as rp  # noqa: E402

B = rp.bmslink()
C = rp.Checks()
SRC = os.environ.get("BMSLINK_SRC", ".")
SAMPLE = os.path.join(SRC, "share", "captures", "pylon-lv-sample.log")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
for tool, path in (("mosquitto", MOSQUITTO), ("mosquitto_sub", shutil.which("mosquitto_sub")),
                   ("mosquitto_passwd", shutil.which("mosquitto_passwd")), ("openssl", shutil.which("openssl"))):
    if path is None or not os.path.exists(path):
        print("SKIP: %s not installed (apt-get install mosquitto mosquitto-clients openssl)" % tool)
        sys.exit(77)


def sh(args, **kw):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def certs(T):
    """A CA, and the broker's key and certificate for 127.0.0.1 / localhost signed by it."""
    ca_key, ca, key, csr, crt = (os.path.join(T, n) for n in ("ca.key", "ca.crt", "srv.key", "srv.csr", "srv.crt"))
    sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=bmslink test CA"])
    sh(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost"])
    ext = os.path.join(T, "san.cnf")
    with open(ext, "w") as fp:
        fp.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    sh(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days",
        "2", "-extfile", ext])
    # a second CA that did not sign the broker
    sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", os.path.join(T, "other.key"), "-out",
        os.path.join(T, "other.crt"), "-days", "2", "-subj", "/CN=another CA"])
    return ca, key, crt


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def bridge(T, extra, out="out.log"):
    return rp.run(["bridge", "--from", SAMPLE, "-P", "pylon-lv", "--to", os.path.join(T, out), "-p", "sma-si",
                   "--duration", "20s"] + extra, timeout=60)


with tempfile.TemporaryDirectory() as T:
    ca, key, crt = certs(T)
    pwfile = os.path.join(T, "broker.passwd")
    sh(["mosquitto_passwd", "-b", "-c", pwfile, "bmslink", "s3cret word"])
    with open(os.path.join(T, "mqtt.pass"), "w") as fp:
        fp.write("s3cret word\n")
    os.chmod(os.path.join(T, "mqtt.pass"), 0o600)
    with open(os.path.join(T, "wrong.pass"), "w") as fp:
        fp.write("guess\n")
    port = free_port()
    conf = os.path.join(T, "mosquitto.conf")
    with open(conf, "w") as fp:
        # run as root, mosquitto would drop to its own user, who cannot read our 0600 key in a 0700 directory
        fp.write("user %s\nlistener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\npersistence false\n"
                 "cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate false\n"
                 % (pwd.getpwuid(os.getuid()).pw_name, port, pwfile, ca, crt, key))
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
        url = "mqtts://127.0.0.1:%d/site1" % port
        auth = ["--mqtt-user", "bmslink", "--mqtt-password-file", os.path.join(T, "mqtt.pass")]
        sub = subprocess.Popen(["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "--cafile", ca,
                                "-u", "bmslink", "-P", "s3cret word", "-t", "site1/#", "-F", "%t\t%p", "-W", "20",
                                "-C", "100000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        rc, so, se = bridge(T, ["--mqtt", url, "--mqtt-id", "tls"] + auth + ["--mqtt-cafile", ca])
        C.eq("TLS + password: exit (%s)" % se.strip()[-300:], rc, 0)
        time.sleep(0.5)
        sub.terminate()
        got = sub.communicate(timeout=10)[0].splitlines()
        topics = {l.split("\t")[0] for l in got}
        C.true("TLS + password: the broker got the state (read back over TLS)", "site1/tls/state" in topics,
               str(sorted(topics))[:300])
        C.true("TLS + password: status online then offline", [l for l in got if l.startswith("site1/tls/status")]
               [-1:] == ["site1/tls/status\toffline"], str(got[-3:]))

        rc, so, se = bridge(T, ["--mqtt", url] + ["--mqtt-user", "bmslink", "--mqtt-password-file",
                                                  os.path.join(T, "wrong.pass"), "--mqtt-cafile", ca])
        C.true("a wrong password: exit 3, the broker's refusal named", rc == 3 and "refused" in se, "%d %s" % (rc, se))
        rc, so, se = bridge(T, ["--mqtt", url, "--mqtt-cafile", ca])
        C.true("no user on a broker without anonymous access: exit 3", rc == 3 and "refused" in se, "%d %s" % (rc, se))
        rc, so, se = bridge(T, ["--mqtt", url] + auth + ["--mqtt-cafile", os.path.join(T, "other.crt")])
        C.true("a broker certificate the CA did not sign: exit 3, TLS named", rc == 3 and "TLS" in se,
               "%d %s" % (rc, se))
        rc, so, se = bridge(T, ["--mqtt", "mqtt://127.0.0.1:%d/site1" % port] + auth)
        C.true("plain MQTT on the TLS port: exit 3", rc == 3, "%d %s" % (rc, se))
        rc, so, se = bridge(T, ["--mqtt", url, "--mqtt-password-file", os.path.join(T, "mqtt.pass")])
        C.true("--mqtt-password-file without --mqtt-user: exit 2", rc == 2 and "--mqtt-user" in se, "%d %s" % (rc, se))
        rc, so, se = bridge(T, ["--mqtt", "mqtt://127.0.0.1:%d" % port, "--mqtt-cafile", ca])
        C.true("TLS options with mqtt:// (not mqtts://): exit 2", rc == 2 and "mqtts://" in se, "%d %s" % (rc, se))
        rc, so, se = bridge(T, ["--mqtt", url, "--mqtt-user", "bmslink", "--mqtt-password-file",
                                os.path.join(T, "none.pass"), "--mqtt-cafile", ca])
        C.true("a missing password file: exit 3, named", rc == 3 and "none.pass" in se, "%d %s" % (rc, se))

        # the same from a config file, with file names relative to it
        cfg = os.path.join(T, "bridge.yaml")
        with open(cfg, "w") as fp:
            fp.write("from: %s\nin_protocol: pylon-lv\nto: cfg-out.log\nout_protocol: sma-si\nmqtt:\n"
                     "  url: %s\n  id: fromcfg\n  user: bmslink\n  password_file: mqtt.pass\n  cafile: ca.crt\n"
                     % (SAMPLE, url))
        rc, so, se = rp.run(["bridge", "--config", cfg, "--duration", "5s"])
        C.eq("--config with mqtt user, password file, cafile: exit (%s)" % se.strip()[-300:], rc, 0)
    finally:
        broker.terminate()
        broker.wait()
sys.exit(C.done())
