//! libevent's evmap: which events watch each handle and each signal, so
//! the backend hears only aggregate changes.
//!
//! A handle's entry is the most recently added event on it; the others
//! follow through the records' `next` links. Its interest (what the backend
//! watches) is the union of its events' directions, found by walking that
//! list, as libev does: handles almost always have one or two events, and
//! the entry stays one word.

use crate::event::NIL;
use crate::platform::{Backend, Platform, Sink};
use crate::slab::Table;
use crate::{Buf, Change, Changelist, Error, Storage, Text, What, base::Core};

/// The largest handle the fd map accepts (handles index a dense table).
pub const MAX_HANDLE: u32 = (1 << 22) - 1;
/// The largest signal number the signal map accepts.
pub const MAX_SIGNAL: u32 = 1023;

/// The fd map and the signal map.
pub(crate) struct HandleMap<S: Storage> {
    /// The most recently added event on each fd, or `NIL`.
    fds: S::Vec<u32>,
    /// The most recently added event on each signal, or `NIL`.
    signals: S::Vec<u32>,
}

/// What the events of the list from `first` ask of the backend: their
/// directions, with `ET` when they are edge-triggered (all of them are, or
/// none).
fn interest<P: Platform, S: Storage>(table: &Table<P, S>, first: u32) -> What {
    let mut w = What::empty();
    let mut at = first;
    while at != NIL {
        let r = table.at(at);
        w |= r.events & (What::IO | What::ET);
        at = r.next;
    }
    w
}

impl<S: Storage> HandleMap<S> {
    pub(crate) fn new() -> Self {
        HandleMap {
            fds: Default::default(),
            signals: Default::default(),
        }
    }

    /// Bytes of the fd map and the signal map.
    pub(crate) fn table_bytes(&self) -> usize {
        (self.fds.len() + self.signals.len()) * core::mem::size_of::<u32>()
    }

    /// The most recently added event on `fd`.
    #[inline(always)]
    pub(crate) fn fd_first(&self, fd: u32) -> u32 {
        self.fds.get(fd as usize).copied().unwrap_or(NIL)
    }

    /// The most recently added event on signal `sig`.
    pub(crate) fn signal_first(&self, sig: u32) -> u32 {
        self.signals.get(sig as usize).copied().unwrap_or(NIL)
    }

    /// What the backend watches on `fd` (for [`crate::invariants`]).
    pub(crate) fn fd_interest<P: Platform>(&self, table: &Table<P, S>, fd: u32) -> What {
        interest(table, self.fd_first(fd))
    }

    /// Every fd and every signal with its first event (for
    /// [`crate::invariants`]).
    #[allow(clippy::type_complexity)]
    pub(crate) fn audit(
        &self,
    ) -> (
        impl Iterator<Item = (u32, u32)> + '_,
        impl Iterator<Item = (u32, u32)> + '_,
    ) {
        let fds = self.fds.iter().enumerate().map(|(fd, &k)| (fd as u32, k));
        let signals = self.signals.iter().enumerate().map(|(s, &k)| (s as u32, k));
        (fds, signals)
    }

    /// Registers event `key` watching `events` on `fd`; tells the backend
    /// (now, or through the changelist) when the fd's interest grows.
    ///
    /// Nothing changes when it fails: every check comes first, the backend
    /// ([`Backend::check_handle`], then the change itself) before the fd
    /// map grows, so a bad handle (never opened, or `MAX_HANDLE`) costs
    /// nothing.
    pub(crate) fn add_fd<P: Platform, B: Backend>(
        &mut self,
        table: &mut Table<P, S>,
        backend: &mut B,
        changelist: &mut Changelist<S>,
        fd: u32,
        key: u32,
        events: What,
    ) -> Result<(), Error> {
        if fd > MAX_HANDLE {
            return Err(Error::InvalidHandle(fd.into()));
        }
        let first = self.fd_first(fd);
        let old = interest(table, first);
        let et = events.contains(What::ET);
        if !old.is_empty() && old.contains(What::ET) != et {
            return Err(Error::InvalidFlags {
                what: events,
                reason: &"edge- and level-triggered events cannot share a handle",
            });
        }
        if old.is_empty() {
            backend.check_handle(fd)?;
        }
        room(&self.fds, fd, &"fd")?;
        let new = old | (events & (What::IO | What::ET));
        store(backend, changelist, fd, old, new)?;
        // The backend took the handle: now the map grows. With fixed storage
        // this cannot fail (checked above); with growable storage only when
        // the allocator does, and then the backend forgets.
        if let Err(e) = self.fds.try_grow_to(fd as usize + 1, &"fd", || NIL) {
            let _ = store(backend, changelist, fd, new, old);
            return Err(e);
        }
        table.at_mut(key).next = first;
        self.fds[fd as usize] = key;
        Ok(())
    }

    /// Unregisters event `key` from `fd`.
    pub(crate) fn del_fd<P: Platform, B: Backend>(
        &mut self,
        table: &mut Table<P, S>,
        backend: &mut B,
        changelist: &mut Changelist<S>,
        fd: u32,
        key: u32,
    ) -> Result<(), Error> {
        // One walk: the interest with and without `key`, and its predecessor.
        let (mut old, mut new, mut prev, mut before) = (What::empty(), What::empty(), NIL, NIL);
        let mut at = self.fds[fd as usize];
        while at != NIL {
            let r = table.at(at);
            let w = r.events & (What::IO | What::ET);
            old |= w;
            if at == key {
                prev = before;
            } else {
                new |= w;
            }
            before = at;
            at = r.next;
        }
        store(backend, changelist, fd, old, new)?;
        let next = table.at(key).next;
        if prev == NIL {
            self.fds[fd as usize] = next;
        } else {
            table.at_mut(prev).next = next;
        }
        Ok(())
    }

    /// Registers event `key` on signal `sig`; the first one tells the
    /// backend. As with [`add_fd`](Self::add_fd), the backend decides
    /// before the signal map grows, and nothing changes when it fails.
    pub(crate) fn add_signal<P: Platform, B: Backend>(
        &mut self,
        table: &mut Table<P, S>,
        backend: &mut B,
        sig: u32,
        key: u32,
    ) -> Result<(), Error> {
        if sig == 0 || sig > MAX_SIGNAL {
            return Err(Error::InvalidSignal(sig));
        }
        let first = self.signal_first(sig);
        room(&self.signals, sig, &"signal")?;
        if first == NIL {
            backend.add_signal(sig)?;
        }
        if let Err(e) = self.signals.try_grow_to(sig as usize + 1, &"signal", || NIL) {
            if first == NIL {
                let _ = backend.del_signal(sig);
            }
            return Err(e);
        }
        table.at_mut(key).next = first;
        self.signals[sig as usize] = key;
        Ok(())
    }

    /// Unregisters event `key` from signal `sig`; the last one tells the backend.
    pub(crate) fn del_signal<P: Platform, B: Backend>(
        &mut self,
        table: &mut Table<P, S>,
        backend: &mut B,
        sig: u32,
        key: u32,
    ) -> Result<(), Error> {
        let first = self.signals[sig as usize];
        if first == key && table.at(key).next == NIL {
            backend.del_signal(sig)?;
            self.signals[sig as usize] = NIL;
            return Ok(());
        }
        let next = table.at(key).next;
        if first == key {
            self.signals[sig as usize] = next;
            return Ok(());
        }
        let mut at = first;
        while at != NIL {
            let r = table.at_mut(at);
            if r.next == key {
                r.next = next;
                break;
            }
            at = r.next;
        }
        Ok(())
    }

    /// Registers every handle and signal again with a fresh backend (reinit).
    pub(crate) fn reregister<P: Platform, B: Backend>(
        &self,
        table: &Table<P, S>,
        backend: &mut B,
    ) -> Result<(), Error> {
        let mut first_error = Ok(());
        for (fd, &first) in self.fds.iter().enumerate() {
            let new = interest(table, first);
            if !new.is_empty() {
                let change = Change {
                    fd: fd as u32,
                    old: What::empty(),
                    new,
                    readd: What::empty(),
                };
                let done = if backend.method().changelist {
                    backend.dispatch(&[change], Some(0), &mut NoSink)
                } else {
                    backend.change(&change)
                };
                if first_error.is_ok() {
                    first_error = done;
                }
            }
        }
        for (sig, &first) in self.signals.iter().enumerate() {
            if first != NIL {
                let done = backend.add_signal(sig as u32);
                if first_error.is_ok() {
                    first_error = done;
                }
            }
        }
        first_error
    }
}

/// Whether `table` can reach entry `index` ([`Error::Capacity`] naming
/// `what` if a fixed one cannot): asked before the backend hears of a
/// handle, so that growing the table afterwards cannot fail.
fn room<T>(table: &impl Buf<T>, index: u32, what: Text) -> Result<(), Error> {
    let limit = table.limit();
    if (index as usize) < limit {
        Ok(())
    } else {
        Err(Error::capacity(what, limit))
    }
}

/// Tells the backend when `fd`'s interest moves from `old` to `new` (at
/// once, or through the changelist). Nothing changes when it refuses.
fn store<B: Backend, S: Storage>(
    backend: &mut B,
    changelist: &mut Changelist<S>,
    fd: u32,
    old: What,
    new: What,
) -> Result<(), Error> {
    if new == old {
        return Ok(());
    }
    if backend.method().changelist {
        changelist.record(fd, old, new)
    } else {
        backend.change(&Change {
            fd,
            old,
            new,
            readd: What::empty(),
        })
    }
}

/// A sink that drops readiness (used while re-registering).
struct NoSink;

impl Sink for NoSink {
    fn io(&mut self, _fd: u32, _what: What) {}
    fn signal(&mut self, _signal: u32, _count: u32) {}
}

impl<P: Platform, S: Storage> Sink for Core<P, S> {
    /// libevent's `evmap_io_active_`: each event on the fd that asked for
    /// any of `what` is activated with the bits it asked for (and `ET` where
    /// both it and the backend have it).
    #[inline(always)]
    fn io(&mut self, fd: u32, what: What) {
        let mut key = self.handles.fd_first(fd);
        while key != NIL {
            let r = self.slots.at(key);
            let (events, next) = (r.events, r.next);
            let hit = events & what & What::IO;
            if !hit.is_empty() {
                self.activate_inline(key, hit | (events & what & What::ET), 1);
            }
            key = next;
        }
    }

    /// libevent's `evmap_signal_active_`: every event on the signal, with
    /// the delivery count as `ncalls`.
    fn signal(&mut self, signal: u32, count: u32) {
        let ncalls = u16::try_from(count).unwrap_or(u16::MAX);
        let mut key = self.handles.signal_first(signal);
        while key != NIL {
            let next = self.slots.at(key).next;
            self.activate(key, What::SIGNAL, ncalls);
            key = next;
        }
    }
}
