#!/usr/bin/env bash
# evbase-posix beyond Linux: the kqueue backend (and the BSD/macOS paths of
# poll, select, signals and the wake-up) must type-check and pass clippy for
# FreeBSD, macOS (x86_64 and aarch64) and NetBSD. Check-only: no BSD/macOS
# linker or sysroot is needed (docs: shared/docs/verification.md §2).
# The Linux tests run with `cargo test --workspace` in .ci/checks.sh.
set -euo pipefail
targets=(x86_64-unknown-freebsd x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-netbsd)
rustup target add "${targets[@]}" >/dev/null
for t in "${targets[@]}"; do
    echo "--- clippy evbase-posix --target $t"
    cargo clippy -p evbase-posix --all-targets --target "$t" -- -D warnings
done
