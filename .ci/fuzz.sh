#!/usr/bin/env bash
# A short smoke run of every fuzz target (nightly + cargo-fuzz), ~20 s each.
set -euo pipefail
rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd fuzz
cargo +nightly fuzz build
secs=${FUZZ_SECONDS:-20}
for target in config priority heap changelist loop_ops; do
    echo "--- fuzz $target for ${secs}s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=1 2>&1 \
        | grep -E 'stat::number_of_executed_units|SUMMARY|panicked|ERROR' || true
    if [ -d "artifacts/$target" ] && [ -n "$(ls -A "artifacts/$target")" ]; then
        echo "fuzz target $target found a failure:"; ls "artifacts/$target"; exit 1
    fi
done
