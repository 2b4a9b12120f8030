//! One event: what it watches, its callback, and what the base knows of it.

#[cfg(feature = "alloc")]
use alloc::boxed::Box;
use core::fmt;
use core::time::Duration;

use crate::{EventBase, EventId, Instant, Platform, Storage, What};

/// What an event watches besides time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Nothing: a timer, or a user event activated by hand (libevent's fd -1).
    None,
    /// A handle: a file descriptor, or a socket on Windows.
    Fd(u32),
    /// A signal number.
    Signal(u32),
}

/// A plain callback: the base, the event, what happened, and the user word
/// given with it (libevent's `cb` and `arg`). Works without an allocator.
pub type CallbackFn<P, S> = fn(&mut EventBase<P, S>, EventId, What, usize);

/// A boxed closure callback (feature `alloc`).
#[cfg(feature = "alloc")]
pub type BoxedCallback<P, S> = Box<dyn FnMut(&mut EventBase<P, S>, EventId, What)>;

/// What runs when an event fires.
pub struct Callback<P: Platform, S: Storage>(pub(crate) Kind<P, S>);

pub(crate) enum Kind<P: Platform, S: Storage> {
    Fn(CallbackFn<P, S>, usize),
    #[cfg(feature = "alloc")]
    Boxed(BoxedCallback<P, S>),
    /// `loop_exit`'s once event: ends the loop.
    LoopExit,
    /// The internal timer of common-timeout queue `n`.
    Common(u8),
    /// Nothing (while the callback runs, or after a finalizer consumed it).
    Empty,
}

impl<P: Platform, S: Storage> Callback<P, S> {
    /// A function and a word handed back to it.
    pub fn from_fn(f: CallbackFn<P, S>, arg: usize) -> Self {
        Callback(Kind::Fn(f, arg))
    }

    /// A closure.
    #[cfg(feature = "alloc")]
    pub fn new(f: impl FnMut(&mut EventBase<P, S>, EventId, What) + 'static) -> Self {
        Callback(Kind::Boxed(Box::new(f)))
    }
}

impl<P: Platform, S: Storage> fmt::Debug for Callback<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Kind::Fn(..) => "Callback::Fn",
            #[cfg(feature = "alloc")]
            Kind::Boxed(..) => "Callback::Boxed",
            Kind::LoopExit => "Callback::LoopExit",
            Kind::Common(..) => "Callback::Common",
            Kind::Empty => "Callback::Empty",
        })
    }
}

/// Slot state bits (libevent's `EVLIST_*`, minus what the queues know).
pub(crate) mod state {
    /// Registered with the fd or signal map (or an fd-less I/O sentinel).
    pub(crate) const INSERTED: u8 = 0x01;
    /// Has a timer, in the heap or in a common-timeout queue.
    pub(crate) const TIMEOUT: u8 = 0x02;
    /// Internal: does not keep the loop alive, not counted.
    pub(crate) const INTERNAL: u8 = 0x08;
    /// Being finalized: add and active are refused.
    pub(crate) const FINALIZING: u8 = 0x10;
    /// Freed after its callback (`once` events, `free_finalize`).
    pub(crate) const FREE_AFTER: u8 = 0x20;
}

pub(crate) struct Slot<P: Platform, S: Storage> {
    pub(crate) source: Source,
    pub(crate) events: What,
    pub(crate) res: What,
    pub(crate) priority: u8,
    pub(crate) state: u8,
    /// Where the timer goes: 0 the heap, else common queue index + 1.
    pub(crate) common: u8,
    pub(crate) ncalls: u16,
    /// Absolute deadline while `TIMEOUT` is set.
    pub(crate) deadline: Instant,
    /// Re-arm interval of a persistent event in nanoseconds (0: none).
    pub(crate) interval: u64,
    pub(crate) callback: Kind<P, S>,
}

impl<P: Platform, S: Storage> Slot<P, S> {
    pub(crate) fn has(&self, bit: u8) -> bool {
        self.state & bit != 0
    }
}

/// What `pending` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// The asked-for flags that hold: the event's I/O or signal flags while
    /// it is registered, its result flags while active, `TIMEOUT` while a
    /// timer is armed.
    pub what: What,
    /// The timer's deadline on the base's monotonic clock, if `TIMEOUT` was
    /// asked for and is armed.
    pub deadline: Option<Instant>,
    /// The same deadline on the wall clock (time since the Unix epoch),
    /// where the platform has a wall clock.
    pub wall_deadline: Option<Duration>,
}

/// A description of one event, for [`EventBase::foreach_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventInfo {
    /// The event.
    pub id: EventId,
    /// What it watches.
    pub source: Source,
    /// The flags it was made with.
    pub events: What,
    /// Its priority.
    pub priority: u8,
    /// Registered with the fd or signal map.
    pub inserted: bool,
    /// Its timer's deadline, if armed.
    pub deadline: Option<Instant>,
    /// The result flags waiting for its callback, if active.
    pub active: Option<What>,
    /// Queued to run on the next iteration (active later).
    pub active_later: bool,
    /// An event the base made for itself.
    pub internal: bool,
}
