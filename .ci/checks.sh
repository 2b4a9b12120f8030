#!/usr/bin/env bash
# Formatting, lints, the README's test command, and the no_std builds of the core.
set -euo pipefail
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
cargo build -p evbase-core --target thumbv7em-none-eabihf
cargo build -p evbase-core --target thumbv7em-none-eabihf --features alloc
