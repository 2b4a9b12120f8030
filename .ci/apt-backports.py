#!/usr/bin/env python3
"""Prints an apt source (deb822) for CODENAME-backports, derived from the
machine's own source for CODENAME main: the same archive (URIs) and keyring
(Signed-By), so that CI scripts name no mirror.

    python3 .ci/apt-backports.py bookworm > /etc/apt/sources.list.d/bookworm-backports.sources

Reads /etc/apt/sources.list.d/*.sources (deb822) and /etc/apt/sources.list,
/etc/apt/sources.list.d/*.list (one-line format). Exits 1 when no enabled
`deb` source of CODENAME with the main component exists.
"""
import glob
import os
import re
import sys

APT = os.environ.get("APT_ETC", "/etc/apt")


def deb822(path):
    with open(path) as f:
        text = f.read()
    for stanza in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0].isspace() and key:
                fields[key] += " " + line.strip()
            else:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if fields:
            yield fields


def one_line(path):
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s+(.*)", line)
            if m:
                opts = dict(o.split("=", 1) for o in (m.group(1) or "").split() if "=" in o)
                yield {
                    "types": "deb",
                    "uris": m.group(2),
                    "suites": m.group(3),
                    "components": m.group(4).split("#")[0],
                    "signed-by": opts.get("signed-by", ""),
                }


def main():
    codename = sys.argv[1]
    entries = [e for p in sorted(glob.glob(f"{APT}/sources.list.d/*.sources")) for e in deb822(p)]
    for p in [f"{APT}/sources.list"] + sorted(glob.glob(f"{APT}/sources.list.d/*.list")):
        if os.path.exists(p):
            entries += one_line(p)
    for e in entries:
        if (
            e.get("enabled", "yes").lower() != "no"
            and "deb" in e.get("types", "").split()
            and codename in e.get("suites", "").split()
            and "main" in e.get("components", "").split()
        ):
            print("Types: deb")
            print("URIs:", e["uris"])
            print("Suites:", codename + "-backports")
            print("Components: main")
            if e.get("signed-by"):
                print("Signed-By:", e["signed-by"])
            return 0
    print(f"no enabled apt source of {codename} main to derive {codename}-backports from", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
