#!/usr/bin/env bash
# bench/libevent-c.sh - libevent's own bench and bench_cascade (2.1.12's
# test/bench.c and test/bench_cascade.c, unchanged), built once against
# Debian's libevent, each binary run on Debian's libevent and on evbase's
# (LD_LIBRARY_PATH=PREFIX/lib, checked with LD_DEBUG=libs).
#
# Time: the programs print the microseconds of each of their 25 runs; every
# setting runs R invocations per library, alternating (L E E L L E ...), and
# a cell is the median of the pooled 25 x R runs.
# Instructions: valgrind --tool=callgrind, user space, whole process; the
# difference between a run of size X and one of size 3X cancels start-up and
# setup, divided by the 2X extra events x 25 runs (bench: X = writes;
# bench_cascade: X = pipes, one event per pipe).
# Prints a markdown table (for BENCHMARKS.md) to standard output.
#
# usage: bench/libevent-c.sh [--runs R] [--quick] [--no-time] [--no-instr]
#                            [--prefix DIR]
#   --runs R      invocations per library and setting (default 5)
#   --quick       R = 2, smaller settings (smoke test)
#   --prefix DIR  evbase's libevent already installed there (default: build
#                 and install the release build into bench/build/libevent-c)
# Needs libevent-dev, gcc, valgrind (for the instructions); as root for
# bench_cascade's setrlimit above the soft limit.
set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
PEER=$(cd "$ROOT/.." && pwd)/shared/peers/libevent-2.1.12
BUILD=$ROOT/bench/build/libevent-c
RUNS=5
TIME=1
INSTR=1
PREFIX=""
QUICK=0
ARGS="$*"
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --quick) QUICK=1; RUNS=2; shift ;;
    --no-time) TIME=0; shift ;;
    --no-instr) INSTR=0; shift ;;
    --prefix) PREFIX=$2; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "libevent-c.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
log() { echo "libevent-c.sh: $*" >&2; }

[ -f "$PEER/test/bench.c" ] || { log "no libevent source at $PEER"; exit 1; }
printf '#include <event2/event.h>\n' | gcc -E -x c - >/dev/null 2>&1 || { log "needs libevent-dev (apt-get install libevent-dev)"; exit 1; }
if [ "$INSTR" = 1 ] && ! command -v valgrind >/dev/null; then log "needs valgrind (or --no-instr)"; exit 1; fi

mkdir -p "$BUILD/bin"
if [ -z "$PREFIX" ]; then
    PREFIX=$BUILD/prefix
    "$ROOT/shim-libevent/scripts/install.sh" "$PREFIX"
fi
PREFIX=$(cd "$PREFIX" && pwd)
EVB=$PREFIX/lib

# Built once, as libevent's Makefile builds them (-O2 -g, linked to -levent).
cp "$ROOT/shim-libevent/tests/regress/evconfig-private.h" "$BUILD/bin/"
for prog in bench bench_cascade; do
    gcc -O2 -g -I"$BUILD/bin" -I"$PEER" -o "$BUILD/bin/$prog" "$PEER/test/$prog.c" -levent
done

# run LIB PROG ARGS...: one invocation on Debian's (real) or evbase's library.
run() {
    local lib=$1
    shift
    if [ "$lib" = evbase ]; then
        LD_LIBRARY_PATH=$EVB "$@"
    else
        env -u LD_LIBRARY_PATH "$@"
    fi
}
for lib in libevent evbase; do
    got=$(LD_DEBUG=libs run "$lib" "$BUILD/bin/bench" -n 10 -w 10 2>&1 >/dev/null | sed -n 's/.*calling init: \(.*libevent-2\.1\.so[^ ]*\).*/\1/p' | head -n 1)
    case "$lib,$got" in
    evbase,"$EVB/"*) ;;
    libevent,/*) case "$got" in "$EVB/"*) log "the real run loaded $got"; exit 1 ;; esac ;;
    *) log "$lib: the loader took '$got'"; exit 1 ;;
    esac
    log "$lib: $got"
done

# Settings: "PROGRAM|FIXED ARGS|SIZE FLAG|X" (X: the size timed). Sizes stay below the
# fd hard limit (bench and bench_cascade ask for 2 x pipes + 50 descriptors).
if [ "$QUICK" = 1 ]; then
    SETTINGS=("bench|-n 100 -a 1|-w|2000" "bench|-n 1000 -a 100|-w|2000" "bench_cascade||-n|100" "bench_cascade||-n|1000")
else
    SETTINGS=("bench|-n 100 -a 1|-w|10000" "bench|-n 1000 -a 100|-w|10000" "bench|-n 9900 -a 100|-w|10000"
        "bench_cascade||-n|100" "bench_cascade||-n|1000" "bench_cascade||-n|3000")
fi
nofile() { # ARGS: the descriptors the program will ask for
    local n=100
    set -- $1
    while [ $# -gt 0 ]; do [ "$1" = -n ] && n=$2; shift; done
    echo $((n * 2 + 50))
}

STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$BUILD/results-$STAMP.txt
: >"$OUT"
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ------------------------------------------------------------------ time ----
declare -A TUS
if [ "$TIME" = 1 ]; then
    for s in "${SETTINGS[@]}"; do
        IFS='|' read -r prog args flag x <<<"$s"
        # shellcheck disable=SC2206
        argv=($args $flag $x)
        log "time: $prog ${argv[*]} ($RUNS invocations per library)"
        for ((i = 0; i < RUNS; i++)); do
            if ((i % 2 == 0)); then order="libevent evbase"; else order="evbase libevent"; fi
            for lib in $order; do
                out=$(run "$lib" "$BUILD/bin/$prog" "${argv[@]}" 2>/dev/null) || { log "$lib: $prog ${argv[*]} failed"; exit 1; }
                [ "$(grep -cE '^[0-9]+$' <<<"$out")" = 25 ] || { log "$lib: $prog ${argv[*]} printed no 25 timings"; exit 1; }
                grep -E '^[0-9]+$' <<<"$out" | sed "s|^|time $lib $prog ${argv[*]} |" >>"$OUT"
            done
        done
        for lib in libevent evbase; do
            TUS[$lib,$s]=$(awk -v k="time $lib $prog ${argv[*]} " 'index($0, k) == 1 { print $NF }' "$OUT" | median)
        done
    done
fi

# ----------------------------------------------------------- instructions ----
declare -A INS
callgrind_ir() { # LIB PROG ARGS...: user-space instructions of one run
    local lib=$1 prog=$2 cg
    shift 2
    cg=$(mktemp "$BUILD/callgrind.XXXXXX")
    # valgrind lets the program set RLIMIT_NOFILE only to its own limit: start
    # it with the soft limit the program will ask for.
    (
        ulimit -Sn "$(nofile "$*")"
        run "$lib" valgrind --tool=callgrind --callgrind-out-file="$cg" "$BUILD/bin/$prog" "$@" >/dev/null 2>&1
    )
    awk '/^totals:/ { print $2 }' "$cg"
    rm -f "$cg"
}
if [ "$INSTR" = 1 ]; then
    for s in "${SETTINGS[@]}"; do
        IFS='|' read -r prog args flag x <<<"$s"
        log "instructions: $prog $args, $flag $x vs $flag $((3 * x))"
        for lib in libevent evbase; do
            # shellcheck disable=SC2086
            small=$(callgrind_ir "$lib" "$prog" $args "$flag" "$x")
            # shellcheck disable=SC2086
            large=$(callgrind_ir "$lib" "$prog" $args "$flag" $((3 * x)))
            echo "instr $lib $prog ${args// /_} $flag $x $small $large" >>"$OUT"
            INS[$lib,$s]=$(awk -v a="$small" -v b="$large" -v x="$x" 'BEGIN { printf "%.1f\n", (b - a) / (2 * x * 25) }')
        done
    done
fi

# ---------------------------------------------------------------- report ----
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b != "n/a" && b != "") printf "%.2f", b / a; else print "n/a" }'; }
commit=$(git -C "$ROOT" rev-parse --short HEAD)
dirty=$(git -C "$ROOT" status --porcelain -- shim-libevent core shim-posix shim-std | head -n 1)
echo "## libevent's bench and bench_cascade: Debian's libevent against evbase's (same binaries)"
echo
echo "\`bench/libevent-c.sh $ARGS\` at $commit${dirty:+ (with uncommitted changes)}, $(date -u '+%Y-%m-%d %H:%M UTC'): libevent 2.1.12's"
echo "\`test/bench.c\` and \`test/bench_cascade.c\`, unchanged, built once with gcc -O2 against"
echo "Debian's libevent $(dpkg-query -W -f='${Version}' libevent-dev 2>/dev/null || echo '?'); evbase's \`libevent-2.1.so.7\` loaded in its place with"
echo "\`LD_LIBRARY_PATH\`. Machine: $(uname -sr) $(uname -m), $(nproc) CPUs."
echo
echo "- time: microseconds per run as the program prints it (bench: the loop that"
echo "  forwards the writes; bench_cascade: event setup + the dispatch down the chain),"
echo "  median of $RUNS invocations x 25 runs, the two libraries alternating"
echo "- instructions: valgrind --tool=callgrind, user space, per event: (I(3X) - I(X)) / (2X x 25 runs),"
echo "  X = writes (bench) or pipes (bench_cascade; one event per pipe)"
echo "- ratio: evbase / libevent (below 1: evbase is faster / executes fewer instructions)"
echo
echo "| program | arguments | libevent µs/run | evbase µs/run | ratio | libevent instr/event | evbase instr/event | ratio |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for s in "${SETTINGS[@]}"; do
    IFS='|' read -r prog args flag x <<<"$s"
    tl=${TUS[libevent,$s]:-n/a} te=${TUS[evbase,$s]:-n/a}
    il=${INS[libevent,$s]:-n/a} ie=${INS[evbase,$s]:-n/a}
    echo "| $prog | \`$(echo "$args $flag $x" | sed 's/^ *//')\` | $tl | $te | $(ratio "$tl" "$te") | $il | $ie | $(ratio "$il" "$ie") |"
done
log "raw results: $OUT"
