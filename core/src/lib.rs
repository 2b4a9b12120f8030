//! # evbase-core
//!
//! libevent's `event_base` as a `no_std` event loop: events on handles,
//! signals and timers, strict priorities, persistent and one-shot events,
//! common timeouts, finalizers, and a [`RemoteQueue`] for other threads and
//! interrupt handlers — over a [`Platform`] that supplies the clock and the
//! kernel interface ([`Backend`]), with fixed-capacity ([`Fixed`]) or
//! growable (`Growable`, feature `alloc`) storage. There is no `unsafe`
//! here and no OS call: `evbase-posix`, `evbase-windows` and `evbase-std`
//! give it an operating system; a firmware brings its own platform.
//!
//! ```
//! # #[cfg(feature = "sim")] fn main() {
//! use core::time::Duration;
//! use evbase_core::sim::SimPlatform;
//! use evbase_core::{Callback, EventBase, Exit, Fixed, Source, What};
//!
//! // A deterministic platform: virtual time, virtual sockets.
//! let platform = SimPlatform::new();
//! let (a, b) = platform.world(|w| w.pair());
//! let mut base = EventBase::<SimPlatform, Fixed<16>>::new(platform.clone()).unwrap();
//!
//! // A plain callback: function pointer + user word, no allocator needed.
//! fn on_read(base: &mut EventBase<SimPlatform, Fixed<16>>, _id: evbase_core::EventId, what: What, fd: usize) {
//!     assert_eq!(what, What::READ);
//!     let mut buf = [0u8; 8];
//!     let n = base.platform().world(|w| w.read(fd as u32, &mut buf)).unwrap();
//!     assert_eq!(&buf[..n], b"ping");
//! }
//! let reader = base.new_event(Source::Fd(a), What::READ, Callback::from_fn(on_read, a as usize)).unwrap();
//! base.add(reader, Some(Duration::from_secs(5))).unwrap();
//! platform.world(|w| w.at(Duration::from_millis(20), move |w| { w.write(b, b"ping"); }));
//!
//! // Runs until nothing is pending: the reader fires once, at 20 ms.
//! assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
//! assert_eq!(base.now().as_nanos(), 20_000_000);
//! # }
//! # #[cfg(not(feature = "sim"))] fn main() {}
//! ```
//!
//! ## The loop, phase by phase
//!
//! [`EventBase::run`] follows libevent's `event_base_loop`:
//!
//! 1. Refuse re-entry ([`Error::Reentrant`]) and a forked child that did not
//!    [`reinit`](EventBase::reinit) ([`Error::Forked`]); apply what the
//!    remote queue holds.
//! 2. Each iteration: stop on a pending exit or break; compute the wait
//!    (zero if anything is active, else until the earliest timer); return
//!    [`Exit::NoEvents`] when nothing is pending or active (unless
//!    `NO_EXIT_ON_EMPTY`); move active-later events in.
//! 3. Run the prepare watchers ([`EventBase::new_prepare`]) with that wait;
//!    after them, return on a break, or decide the wait again. Hand the
//!    changelist to the backend and wait; readiness activates the
//!    events on each handle (most recently added first) and signal events
//!    with their delivery count.
//! 4. Mark the cached time stale (the batch's first read refills it; none
//!    with `NO_CACHE_TIME`), run the check watchers
//!    ([`EventBase::new_check`]; a break returns here), apply remote
//!    operations, expire due timers (`TIMEOUT` is ORed into an existing
//!    activation, never replacing it).
//! 5. Run the most urgent non-empty priority queue: non-persistent events
//!    stop being pending before their callback; persistent timers re-arm
//!    without drift and without catch-up; an activation more urgent than the
//!    running priority preempts the rest of the queue; the
//!    `max_dispatch_interval` limits apply above their priority.
//!
//! ## Where it differs from libevent, on purpose
//!
//! - No timer fires, and no `loop_exit` returns, before its duration has
//!   passed on the platform's real monotonic clock, whatever the backend
//!   and the flags: [`Platform::now`] is that clock (`CLOCK_MONOTONIC`,
//!   `QueryPerformanceCounter`), where libevent's default is a coarse clock
//!   that trails it by a tick and more (`CLOCK_MONOTONIC_COARSE`,
//!   `GetTickCount64`), so its timers fire early. `PRECISE_TIMER` only asks
//!   for sub-millisecond waits. A duration counts from the base's "now" at
//!   the add (see [`EventBase::add`]).
//! - Requests from other threads and interrupt handlers are not refused
//!   for want of room: in a [`RemoteQueue`], `loop_break` and `loop_exit`
//!   are state, and activations of one event coalesce into its pending
//!   flags (libevent's `event_active` ORs them too); only adds and deletes
//!   take an entry each (see [`RemoteQueue`] for the bounds on fixed
//!   storage). Once its base is dropped, a queue answers [`Error::Closed`].
//! - A [`loop_break`](EventBase::loop_break) requested while no loop runs is
//!   kept for the next run (libevent#1292 loses it).
//! - Timers with equal deadlines fire in the order they were added.
//! - Event ids are generational: a freed or foreign id is
//!   [`Error::StaleEvent`], never a use-after-free (libevent#1049, #1206).
//! - A call that fails leaves the base exactly as it was: its tables
//!   ([`EventBase::memory`]), counters and events, and — the backend's
//!   part — every descriptor. `add` asks the backend
//!   ([`Backend::check_handle`], then the change) before the fd or signal
//!   map grows (libevent grows its fd map first, to any fd number given);
//!   [`EventBase::once`] and [`EventBase::add_new`] make no event when the
//!   add fails. The exception is [`EventBase::reinit`] finding a handle it
//!   cannot register again.
//! - A handle that is not open is refused at `add` with
//!   [`Error::InvalidHandle`] on every backend that keeps the contract of
//!   [`Backend::check_handle`] (libevent's poll reports such a descriptor
//!   ready, its select fails the loop, its changelist drops it).
//! - Mixing edge- and level-triggered events on one handle is refused
//!   always (libevent only in debug mode).
//! - `add` on an event activated by hand registers its handle (libevent
//!   skips the registration, §9 of the notes).
//! - `set_priority` is refused for an active-later event too; lowering the
//!   number of priorities clamps events beyond the new range.
//! - A persistent event whose timeout fires keeps its handle registered
//!   (libevent unregisters and re-registers it, two system calls).
//! - Prepare and check watchers (libevent 2.2): what a prepare watcher
//!   changes counts before the wait; a break from a check watcher comes
//!   before any event callback; watchers made or freed from a watcher
//!   callback take effect from the next pass (see [`WatchKind`]).
//! - Common timeouts are typed handles ([`CommonTimeout`]), not magic
//!   `timeval`s.
//!
//! ## What the core needs from the binary
//!
//! A `critical-section` implementation (the `std` feature of that crate on
//! hosts; `cortex-m`'s single-core one on a microcontroller): base tags and
//! the remote queue use it.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod base;
mod changelist;
mod config;
mod error;
mod event;
mod event_ops;
mod fdmap;
mod flags;
#[cfg(all(test, feature = "sim"))]
mod fuzz_findings;
mod heap;
mod inspect;
mod invariants;
mod method;
mod platform;
mod queues;
mod remote;
mod run;
#[cfg(feature = "sim")]
pub mod sim;
mod slab;
mod storage;
#[cfg(test)]
mod test_support;
mod time;
mod timers;
mod watch;

pub use base::{Count, EventBase, Exit, Memory};
pub use changelist::{Change, Changelist};
pub use config::{Config, DispatchLimits, rejection, select_method};
pub use error::{Error, Rejection, SelectionReport, Text};
#[cfg(feature = "alloc")]
pub use event::BoxedCallback;
pub use event::{Callback, CallbackFn, EventInfo, Pending, Source};
pub use fdmap::{MAX_HANDLE, MAX_SIGNAL};
pub use flags::{BaseFlags, Features, LoopFlags, What};
pub use heap::TimerHeap;
pub use inspect::Status;
pub use invariants::Violation;
pub use method::Method;
pub use platform::{Backend, Platform, Sink, Waker};
pub use queues::{ActiveQueues, ListHead, MAX_PRIORITIES};
pub use remote::{Inbox, RemoteOp, RemoteQueue};
pub use slab::EventId;
#[cfg(feature = "alloc")]
pub use storage::Growable;
pub use storage::{Buf, Fixed, QueueHeads, Storage};
pub use time::{Instant, duration_nanos};
pub use timers::{CommonTimeout, MAX_COMMON_TIMEOUTS};
#[cfg(feature = "alloc")]
pub use watch::BoxedWatch;
pub use watch::{Phase, WatchCallback, WatchFn, WatchId, WatchKind};
