#!/usr/bin/env bash
# libevent 2.1.12's own core test programs, compiled unchanged from
# ../shared/peers/libevent-2.1.12/test/, run on evbase's libevent the way
# libevent's test/test.sh runs them: once per backend (epoll, epoll with
# EVENT_EPOLL_USE_CHANGELIST, epoll with EVENT_PRECISE_TIMER, poll, select;
# the others switched off through EVENT_NO*), in three modes:
#   1  built against evbase's headers, linked to evbase's library
#      (pkg-config from the install prefix; test-eof also linked statically)
#   2  built against the real 2.1.12 headers (Debian's libevent-dev),
#      linked to evbase's library
#   3  built against Debian's real libevent, run with evbase's library put
#      first on the loader's path (LD_LIBRARY_PATH)
#   0  (only when asked) the mode-3 binaries on Debian's libevent: the baseline
# Every run checks with LD_DEBUG=libs which libevent the loader took, and
# test-init checks with EVENT_SHOW_METHOD which backend the base chose.
# Modes 2, 3 and 0 need libevent-dev: without it they say so and skip.
#
# usage: shim-libevent/tests/programs.sh [--debug|--release|--archive LIB.a|--prefix DIR]
#            [--modes "1 2 3"] [--backends "epoll epoll-changelist ..."]
#   --debug / --release  build and install evbase (scripts/install.sh) with
#                        that cargo profile into the work directory (default
#                        --release)
#   --archive LIB.a      install this libevbase_libevent.a (no cargo build)
#   --prefix DIR         use evbase's libevent already installed in DIR
#   --work DIR           where to build and log (default
#                        $CARGO_TARGET_DIR/libevent-programs/PROFILE,
#                        "archive" with --archive, "given-prefix" with --prefix)
# Prints one line per mode and backend, then "programs: N passed, N failed,
# N skipped" and the output of each failure; exits 1 if anything failed.
set -euo pipefail

shim=$(cd "$(dirname "$0")/.." && pwd)
root=$(dirname "$shim")
peer=$(cd "$root/.." && pwd)/shared/peers/libevent-2.1.12
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target=$root/$target ;; esac

profile=release
prefix=""
archive=""
work=""
modes="1 2 3"
backends="epoll epoll-changelist epoll-timerfd poll select"
# evbase's io_uring (EVENT_IO_URING), where the kernel lets it.
[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ] && backends="$backends io_uring"
while [ $# -gt 0 ]; do
    case "$1" in
    --debug) profile=debug; shift ;;
    --release) profile=release; shift ;;
    --archive) archive=$2; profile=archive; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --backends) backends=$2; shift 2 ;;
    -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "programs.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

[ -d "$peer/test" ] || { echo "programs.sh: libevent's source is not at $peer (shared/ must sit beside the repository)" >&2; exit 1; }
for tool in gcc python3; do
    command -v "$tool" >/dev/null || { echo "programs.sh: $tool is needed" >&2; exit 1; }
done

if [ -z "$work" ]; then
    if [ -n "$prefix" ]; then work=$target/libevent-programs/given-prefix; else work=$target/libevent-programs/$profile; fi
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
if [ -z "$prefix" ]; then
    prefix=$work/prefix
    flag=()
    [ "$profile" = debug ] && flag=(--debug)
    [ -n "$archive" ] && flag=(--archive "$archive")
    rm -rf "$prefix"
    "$shim/scripts/install.sh" "${flag[@]}" "$prefix"
fi
prefix=$(cd "$prefix" && pwd)
# The loader checks below trust the prefix's file names: make sure the files
# behind them are evbase's (its Rust code names its source files).
for so in libevent_core-2.1.so.7 libevent-2.1.so.7; do
    [ -f "$prefix/lib/$so" ] || { echo "programs.sh: no $so in $prefix/lib" >&2; exit 1; }
    grep -qa 'shim-libevent' "$prefix/lib/$so" || { echo "programs.sh: $prefix/lib/$so is not evbase's library" >&2; exit 1; }
done

jobs_max=$(($(nproc) * 3))
[ "$jobs_max" -ge 4 ] || jobs_max=4
throttle() { while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done; }

# ---------------------------------------------------------------- build ----

tests="test-init test-eof test-weof test-closed test-time test-changelist test-dumpevents"
benches="bench bench_cascade"

# Is Debian's libevent-dev here (headers and the link-time library)?
have_dev=0
if printf '#include <event2/event.h>\n#include <event.h>\n' | gcc -E -x c - >/dev/null 2>&1 &&
    [ "$(gcc -print-file-name=libevent_core.so)" != libevent_core.so ]; then
    have_dev=1
fi

rm -rf "$work/build" "$work/runs"
mkdir -p "$work/build" "$work/runs"
# libevent's util-internal.h includes evconfig-private.h, which its configure
# generates; the regress driver's stands in for it.
cp "$shim/tests/regress/evconfig-private.h" "$work/build/"

pcflags() { PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH="" pkg-config "$@"; }
if command -v pkg-config >/dev/null; then
    m1_cflags=$(pcflags --cflags libevent_core)
    m1_core=$(pcflags --libs libevent_core)
    m1_full=$(pcflags --libs libevent)
    m1_static=$(pcflags --static --libs libevent_core | sed 's/-levent_core\b/-l:libevent_core.a/')
else
    echo "programs.sh: no pkg-config: mode 1 uses the prefix's flags directly" >&2
    m1_cflags="-I$prefix/include"
    m1_core="-L$prefix/lib -levent_core"
    m1_full="-L$prefix/lib -levent"
    m1_static="-L$prefix/lib -l:libevent_core.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
fi
# Errors that a missing or wrong declaration in a header would otherwise
# leave as warnings on gcc 12.
cflags="-O2 -g -Werror=implicit-function-declaration -Werror=incompatible-pointer-types -Werror=int-conversion"
internal="-I$work/build -I$peer"

# build MODE PROGRAM OUTPUT INCLUDES LIBS: one program, with its header list
# (-MD) checked: evbase's headers in mode 1, none of them in modes 2 and 3.
build() {
    local mode=$1 prog=$2 out=$3 incs=$4 libs=$5 dir=$work/build/m$1
    # shellcheck disable=SC2086 # flag lists
    if ! gcc $cflags $incs -MD -MF "$dir/$out.d" -o "$dir/$out" "$peer/test/$prog.c" $libs >"$dir/$out.log" 2>&1; then
        return 0
    fi
    local theirs
    theirs=$(tr ' \\' '\n\n' <"$dir/$out.d" | grep -E '/(event2/[^/]*|event|evutil)\.h$' | sort -u || true)
    if [ "$mode" = 1 ]; then
        theirs=$(grep -v "^$prefix/include/" <<<"$theirs" || true)
    else
        theirs=$(grep "^$prefix/include/" <<<"$theirs" || true)
    fi
    if [ -n "$theirs" ]; then
        { echo "programs.sh: mode $mode included the wrong libevent headers:"; echo "$theirs"; } >>"$dir/$out.log"
        rm -f "$dir/$out"
    fi
}

echo "programs.sh: building the programs (gcc) in $work/build" >&2
mode_built=" "
for mode in $modes; do
    case "$mode" in
    0 | 3) bm=3 ;;
    1 | 2) bm=$mode ;;
    *) echo "programs.sh: no mode '$mode' (0 1 2 3)" >&2; exit 2 ;;
    esac
    if [ "$bm" != 1 ] && [ "$have_dev" = 0 ]; then continue; fi
    case "$mode_built" in *" $bm "*) continue ;; esac
    mode_built="$mode_built$bm "
    mkdir -p "$work/build/m$bm"
    for prog in $tests $benches; do
        # libevent's Makefile links the tests to libevent_core, the benches to libevent.
        case "$bm,$prog" in
        1,bench*) libs="$m1_full -Wl,-rpath,$prefix/lib" ;;
        1,*) libs="$m1_core -Wl,-rpath,$prefix/lib" ;;
        2,bench*) libs="-L$prefix/lib -levent -Wl,-rpath,$prefix/lib" ;;
        2,*) libs="-L$prefix/lib -levent_core -Wl,-rpath,$prefix/lib" ;;
        3,bench*) libs="-levent" ;;
        3,*) libs="-levent_core" ;;
        esac
        incs=$internal
        [ "$bm" = 1 ] && incs="$m1_cflags $internal"
        throttle
        build "$bm" "$prog" "$prog" "$incs" "$libs" &
    done
    if [ "$bm" = 1 ]; then
        throttle
        build 1 test-eof test-eof.static "$m1_cflags $internal" "$m1_static" &
    fi
done
wait

# ------------------------------------------------------------------ run ----

# The environment of one backend, as test.sh's setup and do_test make it.
backend_env() { # BACKEND -> "VAR=value ..." for env(1)
    local all="EVPORT KQUEUE EPOLL DEVPOLL POLL SELECT WIN32" keep extra="" out=""
    case "$1" in
    epoll) keep=EPOLL ;;
    epoll-changelist) keep=EPOLL; extra="EVENT_EPOLL_USE_CHANGELIST=yes" ;;
    epoll-timerfd) keep=EPOLL; extra="EVENT_PRECISE_TIMER=1" ;;
    io_uring) keep=""; extra="EVENT_IO_URING=yes" ;;
    poll) keep=POLL ;;
    select) keep=SELECT ;;
    *) return 1 ;;
    esac
    for b in $all; do [ "$b" = "$keep" ] || out="$out EVENT_NO$b=yes"; done
    echo "$out $extra"
}
# The name libevent's EVENT_SHOW_METHOD message gives each one.
method_of() { case "$1" in epoll-changelist) echo "epoll (with changelist)" ;; epoll*) echo epoll ;; *) echo "$1" ;; esac; }

# A clean slate: no EVENT_* or loader settings from the caller.
for v in $(compgen -e); do
    case "$v" in EVENT_* | LD_PRELOAD | LD_LIBRARY_PATH | LD_DEBUG | LD_DEBUG_OUTPUT) unset "$v" ;; esac
done

# run_one MODE BACKEND NAME BINARY ARGS...: runs the program with the
# backend's environment and a timeout; checks the libevent library that the
# loader took. Standard output in DIR/NAME.out, standard error in
# DIR/NAME.err (as test.sh, the output checks read standard output only),
# both in DIR/NAME.log; status line appended to DIR/status.
run_one() {
    local mode=$1 backend=$2 name=$3 bin=$4 dir=$work/runs/$1.$2
    shift 4
    local log=$dir/$name.log libdir="" rc=0 why=""
    case "$mode" in
    1 | 2 | 3) libdir=$prefix/lib ;;
    0) libdir=/ ;; # anything but the prefix
    esac
    # shellcheck disable=SC2046 # backend_env is a list of assignments
    env $(backend_env "$backend") ${LDPATH:+LD_LIBRARY_PATH=$LDPATH} \
        LD_DEBUG=libs LD_DEBUG_OUTPUT="$dir/$name.ld" ${EXTRA_ENV:-} \
        timeout 120 "$bin" "$@" >"$dir/$name.out" 2>"$dir/$name.err" || rc=$?
    cat "$dir/$name.out" "$dir/$name.err" >"$log"
    local loaded
    loaded=$(cat "$dir/$name.ld".* 2>/dev/null | sed -n 's/.*calling init: \(.*libevent[^ ]*\).*/\1/p' | sort -u)
    if [ "$rc" != 0 ]; then
        why="exit status $rc"
        [ "$rc" = 124 ] && why="timed out after 120 s"
    elif [ "$name" = test-eof.static ]; then
        [ -z "$loaded" ] || why="loaded a shared libevent: $loaded"
    elif [ -z "$loaded" ]; then
        why="no libevent library loaded?"
    elif [ "$mode" = 0 ]; then
        if grep -q "^$prefix/" <<<"$loaded"; then why="loaded evbase's $loaded"; fi
    elif grep -qv "^$libdir/" <<<"$loaded"; then
        why="loaded $(grep -v "^$libdir/" <<<"$loaded" | tr '\n' ' ')instead of evbase's library"
    fi
    if [ -z "$why" ] && [ -n "${CHECK:-}" ]; then why=$($CHECK "$dir/$name" || true); fi
    if [ -n "$why" ]; then echo "$name FAIL $why" >>"$dir/status"; else echo "$name ok" >>"$dir/status"; fi
}

# libevent's default log line (event_msgx through the log callback).
check_method() { grep -qxF "[msg] libevent using: $EXPECT_METHOD" "$1.err" || echo "under EVENT_SHOW_METHOD=1, no line '[msg] libevent using: $EXPECT_METHOD' on stderr"; }
check_dump() { python3 "$peer/test/check-dumpevents.py" <"$1.out" 2>&1 >/dev/null || echo "check-dumpevents.py rejected the output"; }
check_bench() { [ "$(grep -cE '^[0-9]+$' "$1.out")" = 25 ] || echo "expected 25 timings"; }

# One mode and backend: test.sh's run_tests, then the benches briefly.
run_set() {
    local mode=$1 backend=$2 bindir=$work/build/m$1 dir=$work/runs/$1.$2
    [ "$mode" = 0 ] && bindir=$work/build/m3
    mkdir -p "$dir"
    : >"$dir/status"
    local LDPATH=""
    [ "$mode" = 3 ] && LDPATH=$prefix/lib
    for prog in $tests $benches $([ "$mode" = 1 ] && echo test-eof.static); do
        if [ ! -x "$bindir/$prog" ]; then
            echo "$prog FAIL did not build (see $bindir/$prog.log)" >>"$dir/status"
            continue
        fi
        case "$prog" in
        test-init) EXTRA_ENV=EVENT_SHOW_METHOD=1 EXPECT_METHOD=$(method_of "$backend") CHECK=check_method run_one "$mode" "$backend" "$prog" "$bindir/$prog" ;;
        test-dumpevents) CHECK=check_dump run_one "$mode" "$backend" "$prog" "$bindir/$prog" ;;
        bench) CHECK=check_bench run_one "$mode" "$backend" "$prog" "$bindir/$prog" -n 20 -a 2 -w 200 ;;
        bench_cascade) CHECK=check_bench run_one "$mode" "$backend" "$prog" "$bindir/$prog" -n 20 ;;
        *) run_one "$mode" "$backend" "$prog" "$bindir/$prog" ;;
        esac
    done
}

echo "programs.sh: running them on evbase from $prefix" >&2
for mode in $modes; do
    if [ "$mode" != 1 ] && [ "$have_dev" = 0 ]; then continue; fi
    for backend in $backends; do
        backend_env "$backend" >/dev/null || { echo "programs.sh: no backend '$backend'" >&2; exit 2; }
        # Debian's libevent (the baseline) has no io_uring.
        if [ "$backend" = io_uring ] && [ "$mode" = 0 ]; then continue; fi
        throttle
        run_set "$mode" "$backend" &
    done
done
wait

# --------------------------------------------------------------- report ----

mode_name() {
    case "$1" in
    0) echo "mode 0: Debian's headers and libevent (baseline, no evbase)" ;;
    1) echo "mode 1: evbase's headers, linked to evbase's library" ;;
    2) echo "mode 2: Debian's libevent 2.1.12 headers, linked to evbase's library" ;;
    3) echo "mode 3: built on Debian's libevent, run on evbase's (LD_LIBRARY_PATH)" ;;
    esac
}
passed=0 failed=0 skipped=0
failures=()
echo "libevent 2.1.12 test programs on evbase ($prefix)"
for mode in $modes; do
    mode_name "$mode"
    if [ "$mode" != 1 ] && [ "$have_dev" = 0 ]; then
        echo "  skipped: libevent-dev is not installed (apt-get install libevent-dev)"
        n=$(($(wc -w <<<"$backends") * $(wc -w <<<"$tests $benches")))
        skipped=$((skipped + n))
        continue
    fi
    for backend in $backends; do
        if [ "$backend" = io_uring ] && [ "$mode" = 0 ]; then continue; fi
        line=$(printf '  %-17s' "$backend")
        while read -r name verdict why; do
            if [ "$verdict" = ok ]; then
                passed=$((passed + 1))
                line="$line $name ok"
            else
                failed=$((failed + 1))
                line="$line $name FAIL"
                failures+=("$mode|$backend|$name|$why")
            fi
        done <"$work/runs/$mode.$backend/status"
        echo "$line"
    done
done
echo "programs: $passed passed, $failed failed, $skipped skipped"
for f in "${failures[@]}"; do
    IFS='|' read -r mode backend name why <<<"$f"
    echo
    echo "--- FAIL mode $mode, $backend, $name: $why"
    log=$work/runs/$mode.$backend/$name.log
    case "$why" in "did not build"*) log=$work/build/m$([ "$mode" = 0 ] && echo 3 || echo "$mode")/$name.log ;; esac
    if [ -s "$log" ]; then head -c 4000 "$log" | head -n 25; echo; fi
done
[ "$failed" = 0 ]
