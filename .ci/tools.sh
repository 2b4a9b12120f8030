#!/usr/bin/env bash
# Checked by tools (issue 15): Miri where the unsafe code is, AddressSanitizer
# (with LeakSanitizer) over the POSIX suites and the C library's unit tests,
# ThreadSanitizer over the threaded tests. Nightly only; installs what it needs (idempotent). Each
# tool builds into its own target directory, apart from the normal build.
#
# Miri (Stacked Borrows, isolation on):
#   - evbase-core's tests as written: `cargo miri test -p evbase-core`
#     (its proptests take 4 cases of a tenth of the length under cfg(miri));
#   - evbase-posix's unit tests (epoll, eventfd wake-up, pipes; not the
#     io_uring ring test, cfg(not(miri)): Miri emulates no io_uring_setup);
#   - the conformance suite on epoll with real socket pairs, less the cases
#     that need what Miri does not emulate (listed below);
#   - evbase-std's cross-thread tests (Remote: eventfd wake-ups, del_wait
#     from other threads), where Miri also looks for data races.
#   Miri emulates no getgid/getegid, which PosixPlatform::new reads (a
#   setgid program must not trust the environment): a two-function
#   library, built here, answers them natively (-Zmiri-native-lib).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf -- '--- %s (%s)\n' "$1" "$(date +%T)"; }
host=x86_64-unknown-linux-gnu

rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
rustup +nightly component add miri rust-src >/dev/null

# --- Miri -----------------------------------------------------------------
tools_dir=${TOOLS_TARGET_DIR:-target}
mkdir -p "$tools_dir/miri"
tools_dir=$(realpath "$tools_dir")
export CARGO_TARGET_DIR=$tools_dir/miri
ids=$CARGO_TARGET_DIR/libmiri-ids.so
printf '%s\n' '#include <sys/syscall.h>' '#include <unistd.h>' \
    'gid_t getgid(void) { return (gid_t)syscall(SYS_getgid); }' \
    'gid_t getegid(void) { return (gid_t)syscall(SYS_getegid); }' \
    | gcc -shared -fPIC -O2 -x c -o "$ids" -
say "miri: sysroot"
cargo +nightly miri setup >/dev/null
say "miri: evbase-core"
cargo +nightly miri test -p evbase-core
say "miri: evbase-posix unit tests"
cargo +nightly miri test -p evbase-posix --lib
export MIRIFLAGS="-Zmiri-native-lib=$ids"
# Not emulated: shutdown(2) on a socket pair, CLOCK_REALTIME under
# isolation, sigaction; timing checks fail on Miri's virtual clock, which
# counts interpretation as time.
skip=(combined event_base_new event_once multiple persistent simpleclose simpleread
    event_pending gettimeofday_cached with_cached_time failed_calls_change_nothing
    common_timeout loopexit_multiple)
say "miri: the conformance suite on epoll, ${#skip[@]} cases left out"
cargo +nightly miri test -p evbase-tests --test posix_epoll -- --exact "${skip[@]/#/--skip=}"
say "miri: evbase-std's cross-thread tests"
cargo +nightly miri test -p evbase-std --test threads -- --exact thread_no_events del_notify \
    del_timeout_notify break_sent_before_the_loop_starts_is_kept \
    del_wait_on_the_loop_thread_does_not_block del_wait_while_no_loop_runs \
    remote_activations_from_many_threads
unset MIRIFLAGS

# --- AddressSanitizer + LeakSanitizer over the POSIX suites --------------
# --target keeps the sanitizer off build scripts and proc macros.
say "asan: the POSIX suites"
export CARGO_TARGET_DIR=$tools_dir/asan
export ASAN_OPTIONS=detect_leaks=1
mapfile -t suites < <(cd tests/tests && ls posix_*.rs | sed 's/\.rs$//; s/^/--test=/')
export RUSTFLAGS=-Zsanitizer=address RUSTDOCFLAGS=-Zsanitizer=address
cargo +nightly test --target "$host" -p evbase-tests "${suites[@]}"
cargo +nightly test --target "$host" -p evbase-posix --lib
# The C face's pointer handling: evbase-libevent's own tests (the programs
# and libevent's suite link the library with gcc, uninstrumented). One of
# them checks that an overflowing calloc answers NULL, as glibc's does; two
# leak their shared state on purpose (Box::leak), suppressed by name.
say "asan: evbase-libevent's unit tests"
printf '%s\n' 'leak:cross_thread_add_is_applied_by_the_running_loop' \
    'leak:event_base_free_from_its_own_callback_is_refused' >"$tools_dir/lsan.supp"
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 LSAN_OPTIONS="suppressions=$tools_dir/lsan.supp" \
    cargo +nightly test --target "$host" -p evbase-libevent --lib --test debug_mode
unset RUSTFLAGS RUSTDOCFLAGS

# --- ThreadSanitizer over the threaded tests ------------------------------
# std is rebuilt with the sanitizer (else its own synchronisation looks
# racy); a report makes the test binary exit 66.
say "tsan: the threaded tests"
export CARGO_TARGET_DIR=$tools_dir/tsan
export RUSTFLAGS=-Zsanitizer=thread RUSTDOCFLAGS=-Zsanitizer=thread
cargo +nightly test -Zbuild-std --target "$host" -p evbase-std --test threads --test remote \
    --test thread_forking --test echo
cargo +nightly test -Zbuild-std --target "$host" -p evbase-tests --test posix_os -- remote
unset RUSTFLAGS RUSTDOCFLAGS
say "tools: done"
