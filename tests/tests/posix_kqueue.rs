//! The conformance suite on kqueue (BSD and macOS), with real socket pairs
//! and the real clock.
#![cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]

use evbase_core::Growable;
use evbase_posix::PosixPlatform;

evbase_tests::conformance!(PosixPlatform, Growable, "kqueue");
