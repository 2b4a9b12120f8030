#!/usr/bin/env bash
# libevent's C face (shim-libevent): evbase installed as libevent 2.1.12
# (release build, scripts/install.sh, into a temporary prefix), then
# libevent's own test programs in the three modes on every backend, with
# Debian's real libevent as the baseline (mode 0): shim-libevent/tests/programs.sh.
# `cargo test --workspace` runs the same programs on the debug build, where
# libevent-dev may not be installed yet; here every mode runs.
set -euo pipefail

# Debian's libevent-dev (the real headers and library the modes compare
# against), gcc, python3 (check-dumpevents.py), pkg-config (the .pc files).
missing=()
for pkg in libevent-dev gcc python3 pkg-config; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "--- apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# One install for every check below; removed when the script ends.
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
echo "--- shim-libevent/scripts/install.sh (release) into $prefix"
shim-libevent/scripts/install.sh "$prefix"

echo "--- libevent 2.1.12's test programs: modes 0 (baseline) 1 2 3, every backend"
bash shim-libevent/tests/programs.sh --prefix "$prefix" --modes "0 1 2 3"

# --- libevent's regression suite (test/regress) --------------------------
# Its run goes here, against the same "$prefix".
echo "--- libevent 2.1.12's regression suite, core groups: Debian's libevent (the driver's own check), then evbase from $prefix; every backend, plain and debug mode"
bash shim-libevent/tests/regress.sh --real
bash shim-libevent/tests/regress.sh --prefix "$prefix"
