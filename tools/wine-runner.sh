#!/bin/sh
# Cargo runner for x86_64-pc-windows-gnu (see .cargo/config.toml): runs a
# Windows test binary under Wine, headless and quiet. The first use creates
# the Wine prefix (5-10 s) and installs the bcryptprimitives.dll shim that
# Wine 8.0 needs for current Rust binaries (tools/bcryptprimitives.c).
set -e
export WINEDEBUG="${WINEDEBUG:--all}"                          # silence err:/fixme: noise
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}" # no Mono/Gecko install prompts
export WINEPREFIX="${WINEPREFIX:-$HOME/.wine}"
unset DISPLAY                                                  # headless; no X needed
here="$(cd "$(dirname "$0")" && pwd)"
shim="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -f "$shim" ]; then
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
        wineboot -i >/dev/null 2>&1 || true
        wineserver -w
    fi
    x86_64-w64-mingw32-gcc -O2 -shared -o "$shim" "$here/bcryptprimitives.c" -ladvapi32
fi
exec wine "$@"
