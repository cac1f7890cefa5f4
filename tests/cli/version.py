#!/usr/bin/python3
"""`bmslink --version --json` names a version for every machine-readable shape.

Scripts pin these numbers, so the list must be complete: every JSON shape CLI.md defines and
every verb whose --help offers --json has an entry, each "MAJOR.MINOR".
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import blvec  # noqa: E402


def run(*args):
    return subprocess.run([blvec.bmslink(), *args], capture_output=True, text=True)


def main():
    bad = []
    text = run("--version")
    if text.returncode != 0 or not re.fullmatch(r"bmslink \d+\.\d+\.\d+\n", text.stdout):
        bad.append("--version prints %r" % text.stdout)
    j = run("--version", "--json")
    v = json.loads(j.stdout)
    if v["name"] != "bmslink" or "bmslink " + v["version"] + "\n" != text.stdout:
        bad.append("--json version %r disagrees with the text %r" % (v.get("version"), text.stdout))
    schemas = v["schemas"]
    for name, s in schemas.items():
        if not re.fullmatch(r"\d+\.\d+", s["version"]):
            bad.append("%s: version %r is not MAJOR.MINOR" % (name, s["version"]))
    if v["exit_codes"] != {"ok": 0, "check_failed": 1, "usage": 2, "input": 3}:
        bad.append("exit codes %r differ from CLI.md" % v["exit_codes"])

    # every shape CLI.md's "JSON shapes" section defines (`verb --json`, `decode --summary`, ...)
    cli_md = os.path.join(os.environ.get("BMSLINK_SHARED", "../shared"), "CLI.md")
    if os.path.exists(cli_md):
        sec = open(cli_md).read().split("## JSON shapes", 1)[1]
        for cmd in set(re.findall(r"^`([a-z]+ [a-z -]*--(?:json|summary|format json))`", sec, re.M)):
            if not any(s["command"] == cmd for s in schemas.values()):
                bad.append("CLI.md shape `%s` has no schema version" % cmd)

    # every verb that offers --json
    verbs = re.findall(r"^  ([a-z]+) ", run("--help").stdout, re.M)
    for verb in verbs:
        h = run(verb, "--help").stdout
        if "--json" in h and not any(s["command"].split()[0] == verb for s in schemas.values()):
            bad.append("`%s --help` offers --json but --version --json has no schema for it" % verb)

    # an unknown option is a usage error
    if run("--version", "--yaml").returncode != 2:
        bad.append("--version --yaml should exit 2")
    for b in bad:
        print("FAIL", b)
    print("%d shapes, %d verbs checked" % (len(schemas), len(verbs)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
