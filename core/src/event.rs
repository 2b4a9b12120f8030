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

/// The bits of a record's `state` (libevent's `EVLIST_*` and more).
pub(crate) mod state {
    /// Registered with the fd or signal map (or an fd-less I/O sentinel).
    pub(crate) const INSERTED: u16 = 0x01;
    /// Has a timer, in the heap or in a common-timeout queue.
    pub(crate) const TIMEOUT: u16 = 0x02;
    /// In an active queue or the active-later queue.
    pub(crate) const QUEUED: u16 = 0x04;
    /// Internal: does not keep the loop alive, not counted.
    pub(crate) const INTERNAL: u16 = 0x08;
    /// Being finalized: add and active are refused.
    pub(crate) const FINALIZING: u16 = 0x10;
    /// Freed after its callback (`once` events, `free_finalize`).
    pub(crate) const FREE_AFTER: u16 = 0x20;
    /// Queued in the active-later queue (with `QUEUED`).
    pub(crate) const LATER: u16 = 0x40;
    /// The source is a handle (`Source::Fd`); signals have `What::SIGNAL`.
    pub(crate) const FD: u16 = 0x80;
    /// A persistent timer that fired and was armed again as it expired
    /// (until its callback runs).
    pub(crate) const REARMED: u16 = 0x800;
    /// The source is a signal (`What::SIGNAL` is in the events).
    pub(crate) const SIG: u16 = 0x1000;
    /// A persistent event with a re-arm interval (kept beside the table).
    pub(crate) const INTERVAL: u16 = 0x2000;
    /// Its timer goes to a common-timeout queue (`common` is not 0).
    pub(crate) const COMMON: u16 = 0x4000;
    /// Is registered when added (libevent's `EVLIST_INSERTED`): it watches
    /// a direction or a signal (an fd-less one is registered with no map).
    pub(crate) const MAP: u16 = 0x8000;
    /// What the callback is: one of the `KIND_*` values.
    pub(crate) const KIND: u16 = 0x700;
    /// A function and its word (`Callback::from_fn`).
    pub(crate) const KIND_FN: u16 = 0x000;
    /// A closure, kept beside the table.
    #[cfg(feature = "alloc")]
    pub(crate) const KIND_BOXED: u16 = 0x100;
    /// `loop_exit`'s once event.
    pub(crate) const KIND_LOOP_EXIT: u16 = 0x200;
    /// The internal timer of the common-timeout queue named by the word.
    pub(crate) const KIND_COMMON: u16 = 0x300;
    /// Nothing (while the callback runs, or after a finalizer consumed it).
    pub(crate) const KIND_EMPTY: u16 = 0x400;
}

/// One event: everything the base knows of it, in one record of one table
/// (libevent's `struct event`). The handle lists, the active queues and the
/// timer heap thread through these fields; there is no side table on the
/// hot paths. 48 bytes on 64-bit targets.
pub(crate) struct Record<P: Platform, S: Storage> {
    /// The function of a `KIND_FN` callback (a no-op for other kinds).
    pub(crate) f: CallbackFn<P, S>,
    /// Its word; the queue number of a `KIND_COMMON` timer.
    pub(crate) word: usize,
    /// Odd while the record is live; ids carry the generation they saw.
    pub(crate) generation: u32,
    /// The handle or signal number (see `state::FD`, `What::SIGNAL`); the
    /// next free record while vacant.
    pub(crate) source: u32,
    /// The next (older) event on the same handle or signal, `NIL` last.
    pub(crate) next: u32,
    /// The heap index while its timer is armed on the heap.
    pub(crate) heap: u32,
    /// The active-queue neighbours while `QUEUED`, `NIL` at the ends.
    pub(crate) qnext: u32,
    pub(crate) qprev: u32,
    pub(crate) events: What,
    pub(crate) res: What,
    pub(crate) priority: u8,
    /// Where the timer goes: 0 the heap, else common queue index + 1.
    pub(crate) common: u8,
    pub(crate) state: u16,
    pub(crate) ncalls: u16,
}

/// "No record" in links and list heads.
pub(crate) const NIL: u32 = u32::MAX;

/// The function of records whose callback is not a plain function.
pub(crate) fn nop<P: Platform, S: Storage>(_: &mut EventBase<P, S>, _: EventId, _: What, _: usize) {}

impl<P: Platform, S: Storage> Record<P, S> {
    #[inline(always)]
    pub(crate) fn has(&self, bit: u16) -> bool {
        self.state & bit != 0
    }

    /// What the event watches besides time.
    pub(crate) fn source(&self) -> Source {
        if self.events.contains(What::SIGNAL) {
            Source::Signal(self.source)
        } else if self.has(state::FD) {
            Source::Fd(self.source)
        } else {
            Source::None
        }
    }

    /// The fd of an event that watches one.
    #[inline]
    pub(crate) fn fd(&self) -> Option<u32> {
        self.has(state::FD).then_some(self.source)
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
