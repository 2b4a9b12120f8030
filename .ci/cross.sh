#!/usr/bin/env bash
# Other architectures (issue 15): the core's tests, the simulated suite and
# the POSIX suites, cross-built and run under qemu-user on aarch64 (16-byte
# epoll_event, weak memory order) and s390x (big-endian). Real syscalls go
# through qemu to this machine's kernel. Cross linkers, C libraries and
# qemu-user come from Debian; installs what is missing (idempotent).
#
# Release builds without LTO and with parallel codegen: the tests run
# several times faster under qemu than debug builds, and the build costs a
# third of the workspace's release profile (thin LTO, one codegen unit).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf -- '--- %s (%s)\n' "$1" "$(date +%T)"; }

# target triple, Debian architecture name (gcc-<gnu>, libc6-dev-<deb>-cross),
# qemu-user binary
targets=(
    "aarch64-unknown-linux-gnu aarch64-linux-gnu arm64 qemu-aarch64"
    "s390x-unknown-linux-gnu s390x-linux-gnu s390x qemu-s390x"
)

missing=()
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
for t in "${targets[@]}"; do
    read -r _ gnu deb _ <<<"$t"
    command -v "$gnu-gcc" >/dev/null || missing+=("gcc-$gnu")
    dpkg-query -W -f '${Status}' "libc6-dev-$deb-cross" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("libc6-dev-$deb-cross")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
export CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_INCREMENTAL=false
export CARGO_TARGET_DIR=${CROSS_TARGET_DIR:-target}/cross
# qemu-user's select(2) copies fd sets into the host's fixed 1024-bit
# fd_set, and glibc's fortify check aborts qemu past FD_SETSIZE: the select
# cases with fds above 1024 cannot run under it (they run natively).
# Exact names (--exact): the simulated suite's cases of the same names run.
skips=(--exact --skip select::many_events --skip select::many_events_slow_add
    --skip select::scale_9900_socketpairs)
# The suites with libtest's harness (the signal and fork tests have their
# own, which takes no filters).
mapfile -t suites < <(cd tests/tests && ls sim*.rs posix_*.rs | sed 's/\.rs$//' \
    | grep -vx -e posix_fork -e posix_signals -e posix_kqueue | sed 's/^/--test=/')
for t in "${targets[@]}"; do
    read -r triple gnu _ qemu <<<"$t"
    rustup target add "$triple" >/dev/null
    env_triple=$(tr 'a-z-' 'A-Z_' <<<"$triple")
    export "CARGO_TARGET_${env_triple}_LINKER=$gnu-gcc"
    export "CARGO_TARGET_${env_triple}_RUNNER=$qemu -L /usr/$gnu"
    c=(cargo test --release --target "$triple")
    say "$triple: build"
    "${c[@]}" -p evbase-core -p evbase-posix -p evbase-tests --all-features --no-run
    say "$triple: the core's and the POSIX shim's tests under $qemu"
    "${c[@]}" -p evbase-core -p evbase-posix --all-features --lib
    say "$triple: the simulated suite and the POSIX suites under $qemu"
    "${c[@]}" -p evbase-tests "${suites[@]}" -- "${skips[@]}"
    "${c[@]}" -p evbase-tests --test posix_fork --test posix_signals
    # qemu-user has no io_uring (ENOSYS): its cases pass as skipped; say so.
    say "$triple: io_uring under $qemu"
    "${c[@]}" -p evbase-tests --test posix_io_uring -- --exact io_uring_only_when_asked_for --nocapture \
        | grep -e 'io_uring refused here' -e 'test result' || true
done
say "cross: done"
