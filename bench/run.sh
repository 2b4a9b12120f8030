#!/usr/bin/env bash
# bench/run.sh - evbase against libevent, libev, mio and the no-library floor.
#
# Builds chain-evbase / churn-evbase (growable storage), their -fixed
# twins (fixed-capacity storage) and -io_uring twins (the io_uring backend)
# in release mode, runs the peer harness (../shared/bench/run-peers.sh, next
# to the repository) with them as extra columns - timed, and under valgrind
# (--instr) - and writes BENCHMARKS.md at the repository root: the date, the
# machine, the tables and a chart (bench/BENCHMARKS.svg, made by chart.awk).
#
# Then workload A with registration churn (`chain-* -d`: every callback
# deletes its event and adds it again, as short-lived connections do), which
# the harness does not have, on epoll, epoll with the changelist and
# io_uring: its own table, timed and in instructions.
#
# The harness builds into its own directory, so it runs from a copy in
# bench/build/peers (git-ignored); the shared directory is only read.
#
# It also runs bench/libevent-c.sh (libevent's own bench and bench_cascade,
# one binary each on Debian's libevent and on evbase's C library) and puts
# its table in the report.
#
# usage: bench/run.sh [--quick] [--reps M] [--no-time] [--no-instr] [--no-fixed]
#                     [--no-libevent-c] [--md FILE] [any other run-peers.sh option...]
#   --quick, --reps, --runs, --pipes, --active, --timers, --churn-n, --only,
#   --cpu, --stat ...  are passed to run-peers.sh (see its --help)
#   --no-time / --no-instr  skip the timed / the valgrind matrix
#   --no-fixed              leave out the fixed-storage columns
#   --no-libevent-c         leave out libevent's bench/bench_cascade on the C library
#   --md FILE               write the report there (default BENCHMARKS.md at the root)
# Environment: BENCH_SHARED (the harness directory; default ../shared/bench
# relative to the repository root), CARGO_TARGET_DIR.
set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
SHARED=${BENCH_SHARED:-$ROOT/../shared/bench}
BUILD=$ROOT/bench/build
TARGET=${CARGO_TARGET_DIR:-$ROOT/bench/evbase-bench/target}
MD=$ROOT/BENCHMARKS.md
SVG_NAME=bench/BENCHMARKS.svg
ARGS="$*"
TIME=1
INSTR=1
FIXED=1
LIBEVENT_C=1
PASS=()
PASS_TIME=()
while [ $# -gt 0 ]; do
    case "$1" in
    --no-time) TIME=0; shift ;;
    --no-instr) INSTR=0; shift ;;
    --no-fixed) FIXED=0; shift ;;
    --no-libevent-c) LIBEVENT_C=0; shift ;;
    --md) MD=$2; shift 2 ;;
    --quick) PASS_TIME+=(--quick); shift ;;
    --reps | --runs | --writes | --rounds | --stat) PASS_TIME+=("$1" "$2"); shift 2 ;;
    --instr) echo "run.sh: both matrices run by default (see --no-time)" >&2; exit 2 ;;
    -h | --help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) if [ $# -ge 2 ] && [ "${2#--}" = "$2" ]; then PASS+=("$1" "$2"); shift 2; else PASS+=("$1"); shift; fi ;;
    esac
done

[ -x "$SHARED/run-peers.sh" ] || { echo "run.sh: no harness at $SHARED (set BENCH_SHARED)" >&2; exit 1; }

echo "run.sh: cargo build --release (bench/evbase-bench)" >&2
cargo build --quiet --release --manifest-path "$ROOT/bench/evbase-bench/Cargo.toml"
BIN=$BUILD/bin
mkdir -p "$BIN" "$BUILD/results"
NAMES=(evbase evbase-io_uring)
[ "$FIXED" = 1 ] && NAMES+=(evbase-fixed)
CHAIN=()
CHURN=()
for n in "${NAMES[@]}"; do
    cp "$TARGET/release/chain-$n" "$TARGET/release/churn-$n" "$BIN/"
    CHAIN+=(--chain "$BIN/chain-$n")
    CHURN+=(--churn "$BIN/churn-$n")
done

# A private copy of the harness (it writes build/ next to itself).
rm -rf "$BUILD/peers"
mkdir -p "$BUILD/peers"
(cd "$SHARED" && tar --exclude=./build -cf - .) | (cd "$BUILD/peers" && tar -xf -)
HARNESS=$BUILD/peers/run-peers.sh
# The copy sits inside this repository: keep cargo from taking the mio peer
# for a member of the main workspace.
MIO=$BUILD/peers/peers/mio-chain/Cargo.toml
if [ -f "$MIO" ] && ! grep -q '^\[workspace\]' "$MIO"; then printf '\n[workspace]\n' >>"$MIO"; fi

STAMP=$(date +%Y%m%d-%H%M%S)
TIME_OUT=$BUILD/results/time-$STAMP.txt
INSTR_OUT=$BUILD/results/instr-$STAMP.txt
built=0
nobuild() { if [ "$built" = 1 ]; then echo --no-build; fi; }
if [ "$TIME" = 1 ]; then
    # shellcheck disable=SC2046
    "$HARNESS" $(nobuild) "${PASS[@]}" "${PASS_TIME[@]}" "${CHAIN[@]}" "${CHURN[@]}" --out "$TIME_OUT" >/dev/null
    built=1
fi
if [ "$INSTR" = 1 ]; then
    # shellcheck disable=SC2046
    "$HARNESS" $(nobuild) "${PASS[@]}" --instr "${CHAIN[@]}" "${CHURN[@]}" --out "$INSTR_OUT" >/dev/null
fi
LIBEVENT_C_OUT=$BUILD/results/libevent-c-$STAMP.md
if [ "$LIBEVENT_C" = 1 ]; then
    c_args=()
    [ "$TIME" = 1 ] || c_args+=(--no-time)
    [ "$INSTR" = 1 ] || c_args+=(--no-instr)
    for a in "${PASS_TIME[@]}"; do [ "$a" = --quick ] && c_args+=(--quick); done
    echo "run.sh: bench/libevent-c.sh ${c_args[*]}" >&2
    "$ROOT/bench/libevent-c.sh" "${c_args[@]}" >"$LIBEVENT_C_OUT"
fi

# ------------------------------------- workload A with registration churn --
# ns/event: median over REPS invocations (the methods alternate) of each
# invocation's median run; instructions/event: (3x - x writes) / 2x under
# valgrind, as the harness counts them.
READD_OUT=$BUILD/results/readd-$STAMP.md
readd_reps=4
for a in "${PASS_TIME[@]}"; do [ "$a" = --quick ] && readd_reps=1; done
readd_methods=(evbase evbase-changelist evbase-io_uring)
cp "$TARGET/release/chain-evbase-changelist" "$BIN/"
field() { tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
{
    echo "## Workload A with registration churn: every event deleted and re-added per hop"
    echo
    echo "\`chain-<impl> -d\`: each callback deletes its event and adds it again (what short-lived"
    echo "connections cost a loop); \`evbase\` is epoll (one \`epoll_ctl\` per change), \`evbase-changelist\`"
    echo "epoll with \`EPOLL_USE_CHANGELIST\`, \`evbase-io_uring\` io_uring (the changes go in with the wait)."
    echo "A blank: the kernel refused io_uring. ns/event: median of $readd_reps invocations of 5 runs;"
    echo "instructions/event: user space, valgrind, (30000 - 10000 writes) / 20000."
    echo
    echo "| pipes | active | metric |$(printf ' %s |' "${readd_methods[@]}")"
    echo "|---:|---:|:---|---:|---:|---:|"
    for setting in "100 1" "1000 100"; do
        read -r p act <<<"$setting"
        if [ "$TIME" = 1 ]; then
            declare -A runs=()
            for ((r = 0; r < readd_reps; r++)); do
                for m in "${readd_methods[@]}"; do
                    v=$("$BIN/chain-$m" -d -n "$p" -a "$act" -w 100000 -r 5 2>/dev/null | field ns_per_event) || v=""
                    runs[$m]+="$v "
                done
            done
            row="| $p | $act | ns/event"
            for m in "${readd_methods[@]}"; do
                row+=" | $(tr ' ' '\n' <<<"${runs[$m]}" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
            done
            echo "$row |"
            unset runs
        fi
        if [ "$INSTR" = 1 ] && command -v valgrind >/dev/null; then
            row="| $p | $act | instructions/event"
            for m in "${readd_methods[@]}"; do
                ir=()
                for w in 10000 30000; do
                    ir+=("$(valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
                        "$BIN/chain-$m" -d -n "$p" -a "$act" -w "$w" -r 1 2>&1 >/dev/null \
                        | sed -n 's/.*I *refs: *//p' | tr -d ', ')")
                done
                if [ -n "${ir[0]}" ] && [ -n "${ir[1]}" ]; then
                    row+=" | $(awk -v a="${ir[0]}" -v b="${ir[1]}" 'BEGIN { printf "%.1f", (b - a) / 20000 }')"
                else
                    row+=" | "
                fi
            done
            echo "$row |"
        fi
    done
    echo
    echo "When to choose io_uring (\`EVENT_IO_URING=1\` or \`Config::prefer_method(\"io_uring\")\`): it saves"
    echo "the system calls of registration changes (a re-add costs epoll two, the changelist one, io_uring"
    echo "none) and pays for its ring in user-space instructions on every event; choose it where changes"
    echo "dominate and the timed rows above put it ahead on your kernel (5.13 or later, not forbidden);"
    echo "keep epoll, the default, for long-lived events."
    echo
} >"$READD_OUT"

# ------------------------------------------------------------- report ----
TABLES=$BUILD/results/tables-$STAMP.md
: >"$TABLES"
[ "$TIME" = 1 ] && "$HARNESS" --from "$TIME_OUT" >>"$TABLES"
[ "$INSTR" = 1 ] && "$HARNESS" --from "$INSTR_OUT" >>"$TABLES"
awk -f "$ROOT/bench/chart.awk" "$TABLES" >"$ROOT/$SVG_NAME"

# bytes per registered event, from the evbase result lines
mem_table() {
    awk '
    /^bench=(chain|churn) / {
        for (k in kv) delete kv[k]
        for (i = 1; i <= NF; i++) { p = index($i, "="); if (p) kv[substr($i, 1, p - 1)] = substr($i, p + 1) }
        if (!("bytes_per_event" in kv)) next
        if (kv["bench"] == "chain") s = "chain P=" kv["pipes"] (kv["timers"] == 1 ? " -t" : "")
        else s = "churn N=" kv["ntimers"]
        k = kv["impl"] SUBSEP s
        if (k in seen) next
        seen[k] = 1
        split(kv["bytes_split"], b, ",")
        rows[++n] = "| " kv["impl"] " | " s " | " kv["bytes_per_event"] " | " b[1] " | " b[2] " | " b[3] " |"
    }
    END {
        if (!n) exit
        print "## Memory: bytes per registered event (evbase)\n"
        print "Every table indexed by event or by handle, at its current length, divided by the live events (`EventBase::memory().per_event()`); the fd map has one entry per descriptor number, so a socketpair whose write end is not watched costs two entries.\n"
        print "| impl | setting | bytes/event | records | timers (heap, intervals, common links) | fd and signal maps |"
        print "|---|---|---:|---:|---:|---:|"
        for (i = 1; i <= n; i++) print rows[i]
        print ""
    }' "$@"
}

{
    echo "# Benchmarks: evbase against libevent, libev, mio and the floor"
    echo
    echo "Written by \`bench/run.sh\` on $(date '+%Y-%m-%d %H:%M %Z'). The workloads are those of"
    echo "\`../shared/bench/SPEC.md\` (pipe chain, timer churn); \`evbase\` runs on growable storage,"
    echo "\`evbase-fixed\` on fixed-capacity storage. Columns \`epoll\` / \`heap\` are the no-library floor."
    echo
    echo "- machine: $(uname -srm), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- toolchain: $(rustc --version), $(gcc --version | head -1)"
    echo "- peers: libevent $(dpkg-query -W -f='${Version}' libevent-dev 2>/dev/null || echo '?'), libev $(dpkg-query -W -f='${Version}' libev-dev 2>/dev/null || echo '?'), valgrind $(valgrind --version 2>/dev/null || echo none)"
    echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- core shim-posix bench/evbase-bench 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "- command: \`bench/run.sh${ARGS:+ $ARGS}\`"
    grep -h '^- settings:' "$TIME_OUT" "$INSTR_OUT" 2>/dev/null | sed 's/^- settings:/- harness settings:/' || true
    echo
    echo "Timings on a shared VM move by 10-30% between invocations: compare within one table (the"
    echo "implementations alternate), and use the instruction counts (deterministic) for decisions."
    echo
    echo "![ns/event and instructions/event per implementation]($SVG_NAME)"
    echo
    cat "$TABLES"
    MEMSRC=()
    for f in "$TIME_OUT" "$INSTR_OUT"; do [ -f "$f" ] && MEMSRC+=("$f"); done
    [ ${#MEMSRC[@]} = 0 ] || mem_table "${MEMSRC[@]}"
    cat "$READD_OUT"
    [ -s "$LIBEVENT_C_OUT" ] && { cat "$LIBEVENT_C_OUT"; echo; }
    echo "## Allocation"
    echo
    echo "None in the steady state of dispatch: \`cargo test -p evbase-tests --test posix_steady_state\`"
    echo "counts the allocations of 5000 hops of a socket-pair ring (timeouts re-armed, a timer churned,"
    echo "a user event activated, plain and closure callbacks) on growable storage, on every backend"
    echo "variant, and requires zero. Fixed-capacity storage has no allocator to call."
    echo
    echo "Where the instructions go, and what was tried: [bench/PROFILE.md](bench/PROFILE.md)."
    echo
    echo "Raw result lines: \`bench/build/results/\` (\`run-peers.sh --from FILE\` re-prints the tables)."
} >"$MD"
echo "run.sh: wrote ${MD#"$ROOT"/} and $SVG_NAME" >&2
