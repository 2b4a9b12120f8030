#!/usr/bin/env bash
# Windows (issue 6): evbase-windows and the conformance suite on the win32
# and iocp backends, cross-built with mingw-w64 and run under Wine 8
# (shared/docs/verification.md §1). The runner, tools/wine-runner.sh, makes
# the Wine prefix on first use and installs the bcryptprimitives.dll shim
# that Wine 8.0 needs for Rust binaries. Installs what a fresh Debian 12
# machine lacks; every step is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
command -v wine >/dev/null || missing+=(wine)
dpkg-query -W -f '${Status}' wine64 2>/dev/null | grep -q 'ok installed' || missing+=(wine64)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
rustup target add x86_64-pc-windows-gnu >/dev/null

export WINEDEBUG=-all
# Make the Wine prefix (and the shim) once, before any test binary runs.
tools/wine-runner.sh cmd /c exit

target=(--target x86_64-pc-windows-gnu -p evbase-windows -p evbase-tests)
cargo clippy "${target[@]}" --all-targets -- -D warnings
cargo test "${target[@]}"
