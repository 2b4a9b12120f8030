//! # evbase-core
//!
//! libevent's `event_base` as a `no_std` event loop.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod changelist;
mod config;
mod error;
mod flags;
mod heap;
mod list;
mod method;
mod queues;
mod storage;
mod time;

pub use changelist::{Change, Changelist};
pub use config::{Config, DispatchLimits, select_method};
pub use error::{Error, Rejection, SelectionReport};
pub use flags::{BaseFlags, Features, LoopFlags, What};
pub use heap::TimerHeap;
pub use list::{KeyLinks, ListHead};
pub use method::Method;
pub use queues::{ActiveQueues, MAX_PRIORITIES};
pub use storage::{Buf, Fixed, Storage};
#[cfg(feature = "alloc")]
pub use storage::Growable;
pub use time::{Instant, duration_nanos};
