//! # evbase-core
//!
//! libevent's `event_base` as a `no_std` event loop: events on handles,
//! signals and timers, strict priorities, persistent and one-shot events,
//! common timeouts, finalizers and a remote queue for other threads and
//! interrupt handlers — over a [`Platform`] that supplies the clock and the
//! kernel interface ([`Backend`]), with fixed-capacity ([`Fixed`]) or
//! growable (`Growable`, feature `alloc`) storage.
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
mod heap;
mod inspect;
mod list;
mod method;
mod platform;
mod queues;
mod remote;
mod run;
#[cfg(feature = "sim")]
pub mod sim;
mod slab;
mod storage;
mod time;
mod timers;

pub use base::{Count, EventBase, Exit, Memory};
pub use changelist::{Change, Changelist};
pub use config::{Config, DispatchLimits, rejection, select_method};
pub use error::{Error, Rejection, SelectionReport};
#[cfg(feature = "alloc")]
pub use event::BoxedCallback;
pub use event::{Callback, CallbackFn, EventInfo, Pending, Source};
pub use fdmap::{MAX_HANDLE, MAX_SIGNAL};
pub use flags::{BaseFlags, Features, LoopFlags, What};
pub use heap::TimerHeap;
pub use list::{KeyLinks, ListHead};
pub use method::Method;
pub use platform::{Backend, Platform, Sink, Waker};
pub use queues::{ActiveQueues, MAX_PRIORITIES};
pub use remote::{Inbox, RemoteOp, RemoteQueue};
pub use slab::EventId;
#[cfg(feature = "alloc")]
pub use storage::Growable;
pub use storage::{Buf, Fixed, Storage};
pub use time::{Instant, duration_nanos};
pub use timers::{CommonTimeout, MAX_COMMON_TIMEOUTS};
