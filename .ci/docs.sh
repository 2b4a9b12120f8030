#!/usr/bin/env bash
# Documentation and the README's demonstration (issue 5): every public item
# documented with no broken links, and the tour of evbase-std, which exits
# non-zero if anything on this machine did not happen as expected. (The
# thread cases, the echo server's test and the doc examples run in
# `cargo test --workspace`, in checks.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace
cargo run --release -p evbase-std --example tour
