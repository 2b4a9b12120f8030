#!/usr/bin/env bash
# A short smoke run of every fuzz target (fuzz/fuzz_targets/*.rs) on the
# AddressSanitizer build (cargo-fuzz's default: release with debug
# assertions), starting from its committed inputs: the minimised corpus
# fuzz/seeds/<target> and the reproducers of past findings,
# fuzz/regressions/<target>. Every committed input runs first (the
# regression check), then FUZZ_SECONDS (default 20) of new inputs, which
# go to a temporary directory so the tree stays clean. The long campaigns run apart, with
# fuzz/campaign.sh (fuzz/CAMPAIGNS.md).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo +nightly fuzz build
secs=${FUZZ_SECONDS:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for src in fuzz_targets/*.rs; do
    target=$(basename "$src" .rs)
    mkdir -p "$work/$target" "$work/artifacts-$target" "seeds/$target"
    dirs=("seeds/$target")
    [ -d "regressions/$target" ] && dirs+=("regressions/$target")
    echo "--- fuzz $target: $(find "${dirs[@]}" -type f | wc -l) committed inputs, then ${secs}s"
    rc=0
    cargo +nightly fuzz run "$target" "$work/$target" "${dirs[@]}" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts-$target/" >"$work/$target.log" 2>&1 || rc=$?
    grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' "$work/$target.log" || true
    if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$work/artifacts-$target")" ]; then
        echo "fuzz target $target failed (exit $rc):"
        grep -E -A5 'panicked|SUMMARY|ERROR' "$work/$target.log" | head -30
        for f in "$work/artifacts-$target"/*; do
            [ -f "$f" ] || continue
            echo "input $(basename "$f") (base64): $(base64 -w0 "$f")"
        done
        exit 1
    fi
done
