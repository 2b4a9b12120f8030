//! The conformance suite on the POSIX `select` variant, with real socket
//! pairs and the real clock.
#![cfg(unix)]

use evbase_core::Growable;
use evbase_posix::PosixPlatform;

evbase_tests::conformance!(PosixPlatform, Growable, "select");
