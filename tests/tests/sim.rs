//! The conformance suite on the simulated platform: every simulated
//! method, with fixed and growable storage.

use evbase_core::sim::SimPlatform;
use evbase_core::{Fixed, Growable};

macro_rules! variant {
    ($name:ident, $variant:expr) => {
        mod $name {
            use super::*;
            mod growable {
                use super::*;
                evbase_tests::conformance!(SimPlatform, Growable, $variant);
            }
            mod fixed {
                use super::*;
                // Room for the watcher cases' eight watchers.
                evbase_tests::conformance!(SimPlatform, Fixed<256, 256, 8>, $variant);
            }
        }
    };
}

variant!(kqueue, "kqueue");
variant!(epoll, "epoll");
variant!(epoll_changelist, "epoll-changelist");
variant!(poll, "poll");
variant!(select, "select");
