//! The conformance suite of evbase: libevent's regression cases, written
//! once against [`TestPlatform`] and run on the simulated platform and on
//! every real backend the host has.
//!
//! A platform joins the suite by implementing [`TestPlatform`] (how to make
//! a platform for one backend variant, socket pairs, sleeping) and invoking
//! [`conformance!`] in a test file with its platform type, a storage type
//! and the variant's name. Each case is named after the libevent test it
//! ports and asserts what that test asserts.

use std::time::Duration;

use evbase_core::{Config, EventBase, Platform, Storage};

pub mod cases;
#[cfg(unix)]
pub mod posix;
pub mod real_clock;
mod sim;
#[cfg(windows)]
pub mod windows;

pub use cases::log;

pub use sim::sim_variant;

/// A platform the conformance cases can run on.
pub trait TestPlatform: Platform + Sized + 'static {
    /// How late a timer may fire here (scheduling noise); zero on the
    /// simulated platform, where time is exact.
    const TOLERANCE: Duration;

    /// A fresh platform and the config that selects backend `variant`
    /// (e.g. `"epoll"`, `"epoll-changelist"`, `"poll"`, `"select"`).
    fn make(variant: &str) -> (Self, Config);

    /// A connected, non-blocking stream socket pair.
    fn socketpair(&mut self) -> (u32, u32);
    /// Non-blocking send: bytes sent, or `None` if it would block or failed.
    fn send(&mut self, fd: u32, data: &[u8]) -> Option<usize>;
    /// Non-blocking receive: bytes read (0 at end of file), or `None` if it
    /// would block or failed.
    fn recv(&mut self, fd: u32, buf: &mut [u8]) -> Option<usize>;
    /// Stops writing on `fd` (`shutdown(SHUT_WR)`).
    fn shutdown_write(&mut self, fd: u32);
    /// Closes `fd`.
    fn close(&mut self, fd: u32);
    /// Lets `d` pass (the simulated clock advances; real ones sleep).
    fn sleep(&mut self, d: Duration);
}

/// A small deterministic generator (xorshift): the same sequence on every
/// run and platform, from a non-zero seed.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number, below `n` (which must not be 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Makes a base on `P` for `variant` with storage `S`.
///
/// # Panics
/// When the variant cannot be opened (the suite only runs variants the
/// host has).
pub fn new_base<P: TestPlatform, S: Storage>(variant: &str) -> EventBase<P, S> {
    let (platform, config) = P::make(variant);
    EventBase::with_config(platform, &config).expect("the variant opens")
}

/// Asserts that `elapsed` is `expected`, never earlier and at most the
/// platform's tolerance later.
///
/// # Panics
/// When it is not.
pub fn assert_elapsed<P: TestPlatform>(what: &str, elapsed: Duration, expected: Duration) {
    assert!(
        elapsed >= expected && elapsed <= expected + P::TOLERANCE,
        "{what}: took {elapsed:?}, expected {expected:?} (+{:?})",
        P::TOLERANCE
    );
}
