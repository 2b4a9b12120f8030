#!/usr/bin/env bash
# Build evbase-libevent and install it into PREFIX as libevent 2.1.12's core:
#   lib/libevent_core-2.1.so.7.0.1, lib/libevent-2.1.so.7.0.1 (+ the usual
#   symlinks), an empty lib/libevent_pthreads-2.1.so.7.0.1 (the thread support
#   is in the core library), lib/libevent_core.a, lib/libevent.a,
#   lib/libevent_pthreads.a, include/ (shim-libevent/include) and
#   lib/pkgconfig/libevent_core.pc, libevent.pc, libevent_pthreads.pc.
#
# usage: shim-libevent/scripts/install.sh [--debug | --archive LIB.a] PREFIX
#   --debug           link the dev-profile build instead of the release one
#   --archive LIB.a   link this libevbase_libevent.a, no cargo build (the
#                     tests pass the one `cargo test` has just built)
# Environment: CARGO_TARGET_DIR (where cargo builds), CARGO, CC (default gcc).
#
# Why not cargo-c: `cargo install cargo-c` compiles cargo itself, about 300
# crates (cargo-c 0.10.8's lock file) with the C sources of libgit2, curl and
# sqlite, minutes of CI on every fresh machine; this script needs only gcc,
# which links the libraries in about a second after cargo's build.
set -euo pipefail

profile=release
archive=""
while [ $# -gt 1 ]; do
    case "$1" in
    --debug) profile=debug; shift ;;
    --archive) archive=$2; profile=given; shift 2 ;;
    *) break ;;
    esac
done
if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: $0 [--debug | --archive LIB.a] PREFIX" >&2
    exit 2
fi
mkdir -p "$1"
prefix=$(cd "$1" && pwd)

shim=$(cd "$(dirname "$0")/.." && pwd)
cargo=${CARGO:-cargo}
cc=${CC:-gcc}

# libevent's version: sonames, file names and pkg-config files.
version=2.1.12-stable
series=2.1
soversion=7
sofull=7.0.1

if [ -z "$archive" ]; then
    profile_flag=()
    [ "$profile" = release ] && profile_flag=(--release)
    # By manifest, so that it works in the workspace and in the published
    # package alike; cargo says where it builds (workspace, CARGO_TARGET_DIR).
    manifest=$shim/Cargo.toml
    echo "install.sh: cargo build ${profile_flag[*]} -p evbase-libevent" >&2
    "$cargo" build --quiet "${profile_flag[@]}" --manifest-path "$manifest" -p evbase-libevent
    target=$("$cargo" metadata --format-version 1 --no-deps --manifest-path "$manifest" |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    archive=$target/$profile/libevbase_libevent.a
fi
[ -f "$archive" ] || { echo "install.sh: no $archive" >&2; exit 1; }
archive=$(cd "$(dirname "$archive")" && pwd)/$(basename "$archive")

# What the Rust standard library inside the archive needs from the system
# when a program links the archive statically (rustc --print
# native-static-libs for x86_64/aarch64 Linux with glibc).
native_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Export libevent's C API and nothing of Rust's: libevent's prefixes, plus
# every other C name the archive defines (nm: not a Rust-mangled name, not a
# compiler/runtime helper starting with "_", not an LLVM "anon.*" local, not
# evbase_*, the glue between the crate's C and Rust halves).
nm -g --defined-only "$archive" 2>/dev/null |
    awk 'NF == 3 && $2 ~ /^[TDBRVW]$/ { print $3 }' |
    grep -Ev '^(_|rust_|evbase_)|\.' |
    grep -Ev '^(event_|evutil_|evthread_|libevent_|EVUTIL_)' |
    sort -u >"$work/extra" || true
if [ -s "$work/extra" ]; then
    echo "install.sh: also exported (C names outside libevent's prefixes): $(tr '\n' ' ' <"$work/extra")" >&2
fi
{
    echo "{"
    echo "  global:"
    echo "    event_*; evutil_*; evthread_*; libevent_*; EVUTIL_*;"
    sed 's/.*/    &;/' "$work/extra"
    echo "  local: *;"
    echo "};"
} >"$work/exports.map"

lib=$prefix/lib
mkdir -p "$lib/pkgconfig" "$prefix/include"

# NAME -> libNAME-2.1.so.7.0.1 with soname libNAME-2.1.so.7 and the links
# libNAME-2.1.so.7 and libNAME.so. The rest of the arguments go to the linker.
shared() {
    local name=$1 file=lib$1-$series.so.$sofull soname=lib$1-$series.so.$soversion
    shift
    "$cc" -shared -o "$lib/$file.tmp" -Wl,-soname,"$soname" -Wl,-z,defs -Wl,--as-needed "$@"
    mv -f "$lib/$file.tmp" "$lib/$file"
    ln -sfn "$file" "$lib/$soname"
    ln -sfn "$file" "$lib/lib$name.so"
}
# The whole archive goes in (the version script decides what is visible) and
# --gc-sections drops what no exported function reaches.
for name in event_core event; do
    shared "$name" -Wl,--whole-archive "$archive" -Wl,--no-whole-archive \
        -Wl,--version-script="$work/exports.map" -Wl,--gc-sections $native_libs
done
# Programs built against libevent link -levent_pthreads for
# evthread_use_pthreads, which evbase keeps in the core library: an empty
# library that pulls the core one in.
: >"$work/empty.c"
shared event_pthreads -fPIC "$work/empty.c" -Wl,--no-as-needed -L"$lib" -levent_core

cp -f "$archive" "$lib/libevent_core.a"
cp -f "$archive" "$lib/libevent.a"
rm -f "$lib/libevent_pthreads.a"
ar rcs "$lib/libevent_pthreads.a"

cp -R "$shim/include/." "$prefix/include/"

# pkg-config files in libevent's own shape (libevent_*.pc.in); the static
# libraries carry the Rust runtime, hence Libs.private.
pc() { # NAME DESCRIPTION REQUIRES LIBS_PRIVATE
    cat >"$lib/pkgconfig/$1.pc" <<EOF
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: $1
Description: $2
Version: $version
Requires: $3
Conflicts:
Libs: -L\${libdir} -l${1#lib}
Libs.private: $4
Cflags: -I\${includedir}
EOF
}
pc libevent_core "libevent_core (evbase)" "" "$native_libs"
pc libevent "libevent is an asynchronous notification event loop library (evbase: the event core)" "" "$native_libs"
pc libevent_pthreads "libevent_pthreads adds pthreads-based threading support to libevent (evbase: in libevent_core)" "libevent_core" "-lpthread"

echo "install.sh: installed libevent $version (evbase, $archive) into $prefix" >&2
