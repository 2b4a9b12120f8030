#!/usr/bin/env bash
# The core on a microcontroller (issue 8): a Cortex-M3 firmware with its own
# Platform runs the loop under qemu-system-arm and must exit 0; then the core
# is built for thumbv6m (no compare-and-swap atomics) with nightly build-std.
# Installs what a fresh Debian 12 machine lacks; every step is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
# The firmware keeps its own target/ (its sizes are read from there).
unset CARGO_TARGET_DIR

apt_updated=false
apt_install() { # apt_install [-t SUITE] PACKAGE...
    if ! $apt_updated; then
        apt-get update -qq
        apt_updated=true
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# qemu-system-arm: bookworm's 7.2 would make apt remove the preinstalled
# qemu-utils 10.x from bookworm-backports, so take qemu-system-arm from
# backports too (docs/verification.md §3, option b). Plain bookworm when
# qemu-utils is not installed from backports.
if ! command -v qemu-system-arm >/dev/null; then
    if dpkg-query -W -f '${Version}' qemu-utils 2>/dev/null | grep -q bpo; then
        # The backports entry comes from the machine's own source for its
        # release (same archive, same keyring): no mirror is named here.
        codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
        if ! grep -rqs "$codename-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
            entry=$(python3 .ci/apt-backports.py "$codename")
            printf '%s\n' "$entry" >"/etc/apt/sources.list.d/$codename-backports.sources"
        fi
        apt_install -t "$codename-backports" qemu-system-arm
    else
        apt_install qemu-system-arm
    fi
fi
command -v arm-none-eabi-size >/dev/null || apt_install binutils-arm-none-eabi
rustup target add thumbv7m-none-eabi >/dev/null
rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
rustup +nightly component add rust-src >/dev/null

# The firmware: release build (opt-level "z"), run under QEMU with a timeout
# (the runner in tests/firmware-cortex-m/.cargo/config.toml). Its exit status
# is the firmware's verdict: 0 when the loop ran what it expected, 1 when not
# or on a panic, 124 when it never finished.
(
    cd tests/firmware-cortex-m
    cargo fmt --check
    cargo clippy --release -- -D warnings
    cargo build --release
    cargo run --release --bin firmware-cortex-m
    # The same board and report without evbase: must pass too, since the
    # size figures subtract it.
    cargo run --release --bin baseline
)

# Flash (.vector_table + .text + .rodata + .data) and static RAM (.data +
# .bss) of the firmware, of the baseline, and the difference: what evbase
# costs there. The base itself (EventBase<Board, Fixed<16, 4>>) is on the stack;
# the firmware prints its size and the stack high-water mark.
release=tests/firmware-cortex-m/target/thumbv7m-none-eabi/release
arm-none-eabi-size -B "$release/firmware-cortex-m" "$release/baseline" | awk '
    NR > 1 { flash[NR] = $1 + $2; ram[NR] = $2 + $3; name[NR] = $6; sub(".*\\/", "", name[NR])
             printf "%-20s flash %6d bytes, static RAM %5d bytes\n", name[NR], flash[NR], ram[NR] }
    END    { printf "%-20s flash %6d bytes, static RAM %5d bytes\n", "evbase (difference)", flash[2] - flash[3], ram[2] - ram[3] }'

# The core for Cortex-M0 (thumbv6m: atomic load/store but no CAS), with and
# without alloc. The target's std is not installed: build it from rust-src.
export CARGO_TARGET_DIR=target/thumbv6m-build-std
cargo +nightly build -p evbase-core --target thumbv6m-none-eabi -Z build-std=core,alloc
cargo +nightly build -p evbase-core --target thumbv6m-none-eabi -Z build-std=core,alloc --features alloc
