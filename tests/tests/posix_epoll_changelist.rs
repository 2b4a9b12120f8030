//! The conformance suite on the POSIX `epoll-changelist` variant, with real socket
//! pairs and the real clock.
#![cfg(any(target_os = "linux", target_os = "android"))]

use evbase_core::Growable;
use evbase_posix::PosixPlatform;

evbase_tests::conformance!(PosixPlatform, Growable, "epoll-changelist");
