#!/usr/bin/env bash
# Toolchains and targets the checks need (idempotent).
set -euo pipefail
rustup component add rustfmt clippy >/dev/null
rustup target add thumbv7em-none-eabihf >/dev/null
