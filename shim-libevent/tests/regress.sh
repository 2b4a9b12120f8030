#!/bin/sh
# libevent 2.1.12's own regression suite (the event core's groups main/,
# signal/, et/, finalize/, thread/), compiled unchanged from
# ../shared/peers/libevent-2.1.12/test/ with the driver of tests/regress/,
# run the way libevent's test/test.sh runs it: once per backend (epoll,
# epoll with the changelist, epoll with the precise timer, poll, select;
# the others switched off with EVENT_NO*), each time once plainly and once
# with EVENT_DEBUG_MODE=1.  tinytest forks a process per case; every run
# must end with zero failures.
#
# Usage: shim-libevent/tests/regress.sh [options] [-- tinytest arguments]
#   --lib PATH     link this libevbase_libevent.a instead of building it
#                  with cargo (the cargo test wrapper, tests/regress.rs,
#                  passes the one cargo has just built)
#   --prefix DIR   use evbase as scripts/install.sh installed it into DIR:
#                  its include/ and its shared libevent_core (what CI runs)
#   --release      build the library with --release (default: debug)
#   --real         build the driver against Debian's libevent-dev (its
#                  headers and libevent.so) with no skip list: checks the
#                  driver itself, not evbase
#   --backends L   the runs to make, space-separated, from: epoll
#                  epoll-changelist epoll-timerfd poll select io_uring
#                  (default all; io_uring, chosen by EVENT_IO_URING, only on
#                  evbase and where the kernel has it)
#   --no-debug     skip the EVENT_DEBUG_MODE=1 runs
#   --build-only   build the driver and stop
#
# The driver is built in $CARGO_TARGET_DIR/regress (or target/regress).
# Logs of every run are left there as <run>.log; on a failure, the failing
# cases' output is printed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
crate=$(dirname "$here")
repo=$(dirname "$crate")
src=${EVBASE_LIBEVENT_SRC:-$repo/../shared/peers/libevent-2.1.12}
target=${CARGO_TARGET_DIR:-$repo/target}
cc=${CC:-cc}

lib=
prefix=
profile=debug
real=false
backends="epoll epoll-changelist epoll-timerfd poll select"
debug_runs=true
build_only=false
while [ $# -gt 0 ]; do
    case "$1" in
    --lib) lib=$2; shift 2 ;;
    --prefix) prefix=$(cd "$2" && pwd); shift 2 ;;
    --release) profile=release; shift ;;
    --real) real=true; shift ;;
    --backends) backends=$2; shift 2 ;;
    --no-debug) debug_runs=false; shift ;;
    --build-only) build_only=true; shift ;;
    --) shift; break ;;
    *) echo "regress.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

if [ ! -f "$src/test/regress.c" ]; then
    echo "regress.sh: libevent 2.1.12's source is not at $src" >&2
    echo "  (expected shared/ beside the repository; or set EVBASE_LIBEVENT_SRC)" >&2
    exit 2
fi
src=$(cd "$src" && pwd)

if $real; then
    out=$target/regress/real
elif [ -n "$prefix" ]; then
    out=$target/regress/prefix
else
    out=$target/regress/evbase
fi
mkdir -p "$out"

# ---- the library -------------------------------------------------------
if $real; then
    if [ ! -f /usr/include/event2/event.h ]; then
        echo "regress.sh: --real needs libevent-dev (apt-get install libevent-dev)" >&2
        exit 2
    fi
    # Debian's headers come from /usr/include; no skip list.
    incs="-I$here/regress -I$out -I$src -I$src/compat -I$src/test"
    defs="-DREGRESS_NO_SKIPS"
    libs="-levent -levent_pthreads -lpthread"
elif [ -n "$prefix" ]; then
    if [ ! -f "$prefix/lib/libevent_core.so" ]; then
        echo "regress.sh: no evbase installed in $prefix (scripts/install.sh $prefix)" >&2
        exit 2
    fi
    headers=$prefix/include
    incs="-I$headers -I$here/regress -I$out -I$src -I$src/compat -I$src/test -I$src/include"
    defs=
    libs="-L$prefix/lib -Wl,-rpath,$prefix/lib -levent_core -levent_pthreads -lpthread"
else
    if [ -z "$lib" ]; then
        if [ "$profile" = release ]; then
            (cd "$repo" && cargo build -q -p evbase-libevent --release)
        else
            (cd "$repo" && cargo build -q -p evbase-libevent)
        fi
        lib=$target/$profile/libevbase_libevent.a
    fi
    if [ ! -f "$lib" ]; then
        echo "regress.sh: no library at $lib" >&2
        exit 2
    fi
    # evbase's headers first; libevent's internal headers from its source
    # root and compat/; non-core public headers (event2/tag.h,
    # event2/buffer.h, event2/rpc.h) from libevent's include/ after ours.
    headers=$crate/include
    incs="-I$headers -I$here/regress -I$out -I$src -I$src/compat -I$src/test -I$src/include"
    defs=
    libs="$lib -lpthread -ldl -lm -lrt -lgcc_s -lutil -lc"
fi

# ---- the driver ----------------------------------------------------------
# regress.c includes regress.gen.h (libevent's RPC test structures, unused
# by the core groups but declared there): generated as libevent's build does.
if [ ! -f "$out/regress.gen.h" ] || [ "$src/test/regress.rpc" -nt "$out/regress.gen.h" ]; then
    python3 "$src/event_rpcgen.py" --quiet "$src/test/regress.rpc" \
        "$out/regress.gen.h" "$out/regress.gen.c" >/dev/null
fi

cflags="-g -O1 -Wall -Wno-unused-function -Wno-unused-variable -Wno-unused-but-set-variable -pthread"
objs=
for f in "$src/test/regress.c" "$src/test/regress_et.c" "$src/test/regress_finalize.c" \
         "$src/test/regress_thread.c" "$src/test/tinytest.c" "$here/regress/main.c"; do
    o=$out/$(basename "$f" .c).o
    # shellcheck disable=SC2086
    $cc $cflags $defs $incs -MMD -c "$f" -o "$o"
    objs="$objs $o"
done

# Link-only stubs (tests/regress/stubs.c) for exactly the names the driver
# references and neither it nor the library defines.
if $real; then
    libdefs=$(for l in libevent.so libevent_pthreads.so; do
        nm -D --defined-only "$($cc -print-file-name=$l)"; done)
elif [ -n "$prefix" ]; then
    libdefs=$(nm -D --defined-only "$prefix/lib/libevent_core.so")
else
    libdefs=$(nm --defined-only "$lib" 2>/dev/null)
fi
# shellcheck disable=SC2086
nm -u $objs | awk 'NF == 2 { print $2 }' | sort -u >"$out/undefined.txt"
# shellcheck disable=SC2086
{ nm --defined-only $objs; echo "$libdefs"; } | awk 'NF == 3 { print $3 }' | sort -u >"$out/defined.txt"
stubs=
for name in $(sed -n 's/^REGRESS_STUB(\([A-Za-z0-9_]*\))$/\1/p' "$here/regress/stubs.c"); do
    if grep -qx "$name" "$out/undefined.txt" && ! grep -qx "$name" "$out/defined.txt"; then
        stubs="$stubs -DREGRESS_STUB_$name"
    fi
done
# shellcheck disable=SC2086
$cc $cflags $stubs -c "$here/regress/stubs.c" -o "$out/stubs.o"
objs="$objs $out/stubs.o"
echo "regress: link-only stubs:$(echo "$stubs" | sed 's/-DREGRESS_STUB_/ /g')"

if ! $real; then
    # The event core's headers must be evbase's, never libevent's: a header
    # missing from $headers would otherwise be found in libevent's tree.
    bad=$(cat "$out"/*.d | tr ' \\' '\n\n' | grep -E "^$src/include/(event\.h|evutil\.h|event2/(event|event_struct|event_compat|thread|util|visibility|event-config)\.h)$" | sort -u || true)
    if [ -n "$bad" ]; then
        echo "regress.sh: core headers taken from libevent instead of shim-libevent/include:" >&2
        echo "$bad" >&2
        exit 1
    fi
fi

# shellcheck disable=SC2086
$cc -pthread -o "$out/regress" $objs $libs
echo "regress: built $out/regress"
if [ -n "$prefix" ]; then
    # The loader must find the prefix's library, not a system libevent.
    loaded=$(ldd "$out/regress" | awk '$1 ~ /^libevent_core/ { print $3 }')
    case "$loaded" in
    "$prefix"/lib/*) echo "regress: loads $loaded" ;;
    *) echo "regress: loads libevent_core from '$loaded', not from $prefix" >&2; exit 1 ;;
    esac
fi
$build_only && exit 0

# ---- the runs ----------------------------------------------------------------
failed=0
summary=
run() { # run NAME BACKEND [VAR=VALUE...] -- tinytest args
    name=$1 backend=$2
    shift 2
    log=$out/$name.log
    set +e
    # As test.sh: every backend off but this one, no variant variables
    # but the run's own.
    env -u EVENT_EPOLL_USE_CHANGELIST -u EVENT_PRECISE_TIMER -u EVENT_DEBUG_MODE -u EVENT_IO_URING \
        EVENT_NOEVPORT=yes EVENT_NOKQUEUE=yes EVENT_NOEPOLL=yes EVENT_NODEVPOLL=yes \
        EVENT_NOPOLL=yes EVENT_NOSELECT=yes EVENT_NOWIN32=yes \
        env -u "EVENT_NO$backend" "$@" >"$log" 2>&1
    rc=$?
    set -e
    line=$(grep -E 'tests ok\.|TESTS FAILED\.' "$log" | tail -n 1)
    ok=$(echo "$line" | sed -n 's/^\([0-9]*\) tests ok\..*/\1/p')
    bad=0
    if [ -z "$ok" ]; then
        bad=$(echo "$line" | sed -n 's/^\([0-9]*\)\/\([0-9]*\) TESTS FAILED\..*/\1/p')
        all=$(echo "$line" | sed -n 's/^\([0-9]*\)\/\([0-9]*\) TESTS FAILED\..*/\2/p')
        if [ -n "$bad" ]; then ok=$((all - bad)); else ok=?; bad=?; fi
    fi
    # tinytest counts a listed skip twice in its own summary: count the
    # log's lines instead. A case skipped by the skip list (or off by
    # default) is not forked; one that finds itself not applicable to the
    # backend (tt_skip) is.
    listed=$(grep -cE '^[a-z]+/[A-Za-z0-9_]+: (SKIPPED|DISABLED)$' "$log" || true)
    itself=$(grep -c '\[forking\] SKIPPED$' "$log" || true)
    row=$(printf '%-24s ok %3s  failed %3s  skipped %2s listed + %2s by the case itself' \
        "$name" "$ok" "$bad" "$listed" "$itself")
    echo "$row"
    summary="$summary$row
"
    if [ "$rc" != 0 ] || [ "$bad" != 0 ]; then
        failed=1
        echo "---- $name: failing cases (full log: $log) ----"
        # Each case's output runs from its "group/name: " line to the next.
        awk '/^[a-z]+\/[A-Za-z0-9_]+: / { if (b ~ /FAILED\]/) printf "%s", b; b = "" }
             !/TESTS FAILED/ { b = b $0 "\n" }
             END { if (b ~ /FAILED\]/) printf "%s", b }' "$log" | head -n 80
        echo "----"
    fi
}

# io_uring is evbase's (EVENT_IO_URING), on a kernel that lets it
# (CI's does; qemu-user and a forbidding sysctl do not).
if ! $real && [ "$backends" = "epoll epoll-changelist epoll-timerfd poll select" ]; then
    if [ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ]; then
        backends="$backends io_uring"
    else
        echo "regress.sh: io_uring skipped: kernel.io_uring_disabled is set"
    fi
fi
for b in $backends; do
    case "$b" in
    io_uring) vars="EVENT_IO_URING=yes" ; be=IO_URING ;;
    epoll) vars="REGRESS_RUN=$b" ; be=EPOLL ;;
    epoll-changelist) vars="EVENT_EPOLL_USE_CHANGELIST=yes" ; be=EPOLL ;;
    epoll-timerfd) vars="EVENT_PRECISE_TIMER=1" ; be=EPOLL ;;
    poll) vars="REGRESS_RUN=$b" ; be=POLL ;;
    select) vars="REGRESS_RUN=$b" ; be=SELECT ;;
    *) echo "regress.sh: unknown backend $b" >&2; exit 2 ;;
    esac
    # $vars is one assignment: the backend's variable, or a harmless
    # REGRESS_RUN where the backend needs none.
    run "$b" "$be" $vars "$out/regress" "$@"
    if $debug_runs; then
        run "$b-debug" "$be" $vars EVENT_DEBUG_MODE=1 "$out/regress" "$@"
    fi
done

echo
if $real; then what="Debian's libevent"; elif [ -n "$prefix" ]; then what="evbase installed in $prefix"; else what="evbase, $lib"; fi
echo "regress: summary ($what)"
printf '%s' "$summary"
if [ "$failed" != 0 ]; then
    echo "regress: FAILED"
    exit 1
fi
echo "regress: all runs passed"
