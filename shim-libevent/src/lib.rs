//! # evbase-libevent
//!
//! libevent 2.1.12's event core as a C library over evbase: the functions
//! of `event2/event.h`, `event2/event_compat.h`, `event2/thread.h` and the
//! event-core part of `event2/util.h`, with libevent's types, constants,
//! struct layouts and return values, so that a C program built against
//! libevent runs on evbase by relinking, or by loading evbase's library in
//! place of libevent's.
//!
//! Every rule of the loop stays in `evbase-core`; this crate only turns C's
//! pointers and integers into the core's ids and flags and back. `unsafe`
//! lives only where a C pointer becomes a Rust value, each block with its
//! reason. No panic unwinds into C (an `extern "C"` function aborts
//! instead), and bad arguments get libevent's answer: `-1` or `NULL` and a
//! warning through the log callback.
//!
//! `scripts/install.sh` links the static library into `libevent_core` and
//! `libevent` (sonames `libevent_core-2.1.so.7`, `libevent-2.1.so.7`), an
//! empty `libevent_pthreads`, and installs the headers of `include/` and
//! the pkg-config files.
#![allow(clippy::missing_safety_doc)]
#![allow(missing_docs)]

mod accessors;
mod base;
mod compat;
mod config;
mod debug;
mod event;
mod event_api;
mod inspect;
mod internal;
mod layout;
mod log;
mod loop_api;
mod mm;
mod threads;
mod util;
mod watch;
