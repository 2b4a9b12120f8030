//! libevent's evmap: which events watch each handle and each signal, with
//! per-direction counts, so the backend hears only aggregate changes.

use crate::platform::{Backend, Platform, Sink};
use crate::{Buf, Change, Changelist, Error, KeyLinks, ListHead, Storage, Text, What, base::Core};

/// The largest handle the fd map accepts (handles index a dense table).
pub const MAX_HANDLE: u32 = (1 << 22) - 1;
/// The largest signal number the signal map accepts.
pub const MAX_SIGNAL: u32 = 1023;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FdEntry {
    head: ListHead,
    nread: u16,
    nwrite: u16,
    nclose: u16,
    et: bool,
}

impl FdEntry {
    fn interest(&self) -> What {
        let mut w = What::empty();
        if self.nread > 0 {
            w |= What::READ;
        }
        if self.nwrite > 0 {
            w |= What::WRITE;
        }
        if self.nclose > 0 {
            w |= What::CLOSED;
        }
        if self.et && !w.is_empty() {
            w |= What::ET;
        }
        w
    }

    fn counts_with(&self, events: What, delta: i32) -> Option<(u16, u16, u16)> {
        let step = |n: u16, bit: What| -> Option<u16> {
            if !events.contains(bit) {
                return Some(n);
            }
            u16::try_from(i32::from(n) + delta).ok()
        };
        Some((
            step(self.nread, What::READ)?,
            step(self.nwrite, What::WRITE)?,
            step(self.nclose, What::CLOSED)?,
        ))
    }
}

/// The fd map, the signal map and the links of their event lists.
pub(crate) struct HandleMap<S: Storage> {
    fds: S::Vec<FdEntry>,
    signals: S::Vec<ListHead>,
    links: KeyLinks<S>,
}

impl<S: Storage> HandleMap<S> {
    pub(crate) fn new() -> Self {
        HandleMap {
            fds: Default::default(),
            signals: Default::default(),
            links: KeyLinks::new(),
        }
    }

    /// Bytes of the fd map, the signal map and their links.
    pub(crate) fn table_bytes(&self) -> usize {
        self.fds.len() * core::mem::size_of::<FdEntry>()
            + self.signals.len() * core::mem::size_of::<ListHead>()
            + self.links.table_bytes()
    }

    /// The most recently added event on `fd`.
    pub(crate) fn fd_first(&self, fd: u32) -> Option<u32> {
        self.fds.get(fd as usize).and_then(|e| e.head.first())
    }

    /// The most recently added event on signal `sig`.
    pub(crate) fn signal_first(&self, sig: u32) -> Option<u32> {
        self.signals.get(sig as usize).and_then(|h| h.first())
    }

    /// The next (older) event on the same handle or signal.
    pub(crate) fn next(&self, key: u32) -> Option<u32> {
        self.links.next(key)
    }

    /// Every fd entry as `(fd, [nread, nwrite, nclose], et, interest,
    /// first event)`, and every signal as `(signal, first event)` (for
    /// [`crate::invariants`]).
    #[allow(clippy::type_complexity)]
    pub(crate) fn audit(
        &self,
    ) -> (
        impl Iterator<Item = (u32, [u16; 3], bool, What, Option<u32>)> + '_,
        impl Iterator<Item = (u32, Option<u32>)> + '_,
    ) {
        let fds = self.fds.iter().enumerate().map(|(fd, e)| {
            (
                fd as u32,
                [e.nread, e.nwrite, e.nclose],
                e.et,
                e.interest(),
                e.head.first(),
            )
        });
        let signals = self.signals.iter().enumerate().map(|(s, h)| (s as u32, h.first()));
        (fds, signals)
    }

    /// Registers event `key` watching `events` on `fd`; tells the backend
    /// (now, or through the changelist) when the fd's interest grows.
    ///
    /// Nothing changes when it fails: every check comes first, the backend
    /// ([`Backend::check_handle`], then the change itself) before any table
    /// grows, so a bad handle (never opened, or `MAX_HANDLE`) costs nothing.
    pub(crate) fn add_fd<B: Backend>(
        &mut self,
        backend: &mut B,
        changelist: &mut Changelist<S>,
        fd: u32,
        key: u32,
        events: What,
    ) -> Result<(), Error> {
        if fd > MAX_HANDLE {
            return Err(Error::InvalidHandle(fd.into()));
        }
        let len = self.fds.len();
        let entry = self.fds.get(fd as usize).copied().unwrap_or_default();
        let et = events.contains(What::ET);
        let old = entry.interest();
        if !old.is_empty() && entry.et != et {
            return Err(Error::InvalidFlags {
                what: events,
                reason: &"edge- and level-triggered events cannot share a handle",
            });
        }
        let (nread, nwrite, nclose) = entry
            .counts_with(events, 1)
            .ok_or(Error::capacity(&"events per handle and direction", u16::MAX.into()))?;
        let next = FdEntry {
            head: entry.head,
            nread,
            nwrite,
            nclose,
            et: if old.is_empty() { et } else { entry.et },
        };
        if old.is_empty() {
            backend.check_handle(fd)?;
        }
        room(&self.fds, fd, &"fd")?;
        let new = next.interest();
        Self::notify(backend, changelist, fd, old, new)?;
        // The backend took the handle: now the tables grow. With fixed
        // storage this cannot fail (the fd fits, checked above; the key is
        // an event slot, below the same capacity); with growable storage
        // only when the allocator does, and then the backend forgets.
        let grown = self
            .fds
            .try_grow_to(fd as usize + 1, &"fd", FdEntry::default)
            .and_then(|()| self.links.reserve_key(key));
        if let Err(e) = grown {
            self.fds.truncate(len);
            let _ = Self::notify(backend, changelist, fd, new, old);
            return Err(e);
        }
        self.fds[fd as usize] = next;
        self.links.push_front(&mut self.fds[fd as usize].head, key);
        Ok(())
    }

    /// Unregisters event `key` from `fd`.
    pub(crate) fn del_fd<B: Backend>(
        &mut self,
        backend: &mut B,
        changelist: &mut Changelist<S>,
        fd: u32,
        key: u32,
        events: What,
    ) -> Result<(), Error> {
        let entry = self.fds[fd as usize];
        let old = entry.interest();
        let (nread, nwrite, nclose) = entry
            .counts_with(events, -1)
            .expect("counts match the registered events");
        let next = FdEntry {
            head: entry.head,
            nread,
            nwrite,
            nclose,
            et: entry.et,
        };
        Self::notify(backend, changelist, fd, old, next.interest())?;
        self.fds[fd as usize] = next;
        self.links.remove(&mut self.fds[fd as usize].head, key);
        Ok(())
    }

    /// Tells the backend that `fd`'s interest moves from `old` to `new`
    /// (at once, or through the changelist). Nothing changes when the
    /// backend refuses.
    fn notify<B: Backend>(
        backend: &mut B,
        changelist: &mut Changelist<S>,
        fd: u32,
        old: What,
        new: What,
    ) -> Result<(), Error> {
        if new == old {
            Ok(())
        } else if backend.method().changelist {
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

    /// Registers event `key` on signal `sig`; the first one tells the
    /// backend. As with [`add_fd`](Self::add_fd), the backend decides
    /// before the signal map grows, and nothing changes when it fails.
    pub(crate) fn add_signal<B: Backend>(&mut self, backend: &mut B, sig: u32, key: u32) -> Result<(), Error> {
        if sig == 0 || sig > MAX_SIGNAL {
            return Err(Error::InvalidSignal(sig));
        }
        let len = self.signals.len();
        let first = self.signals.get(sig as usize).is_none_or(ListHead::is_empty);
        room(&self.signals, sig, &"signal")?;
        if first {
            backend.add_signal(sig)?;
        }
        let grown = self
            .signals
            .try_grow_to(sig as usize + 1, &"signal", ListHead::default)
            .and_then(|()| self.links.reserve_key(key));
        if let Err(e) = grown {
            self.signals.truncate(len);
            if first {
                let _ = backend.del_signal(sig);
            }
            return Err(e);
        }
        self.links.push_front(&mut self.signals[sig as usize], key);
        Ok(())
    }

    /// Unregisters event `key` from signal `sig`; the last one tells the backend.
    pub(crate) fn del_signal<B: Backend>(&mut self, backend: &mut B, sig: u32, key: u32) -> Result<(), Error> {
        let head = &mut self.signals[sig as usize];
        self.links.remove(head, key);
        if head.is_empty()
            && let Err(e) = backend.del_signal(sig)
        {
            self.links.push_front(&mut self.signals[sig as usize], key);
            return Err(e);
        }
        Ok(())
    }

    /// Registers every handle and signal again with a fresh backend (reinit).
    pub(crate) fn reregister<B: Backend>(&mut self, backend: &mut B) -> Result<(), Error> {
        let mut first_error = Ok(());
        for (fd, entry) in self.fds.iter().enumerate() {
            let new = entry.interest();
            if !new.is_empty() {
                let change = Change {
                    fd: fd as u32,
                    old: What::empty(),
                    new,
                    readd: What::empty(),
                };
                let done = if backend.method().changelist {
                    backend.dispatch(&[change], Some(core::time::Duration::ZERO), &mut NoSink)
                } else {
                    backend.change(&change)
                };
                if first_error.is_ok() {
                    first_error = done;
                }
            }
        }
        for (sig, head) in self.signals.iter().enumerate() {
            if !head.is_empty() {
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
        let mut next = self.handles.fd_first(fd);
        while let Some(key) = next {
            next = self.handles.next(key);
            let events = self.slots.at(key).events;
            let hit = events & what & What::IO;
            if !hit.is_empty() {
                self.activate_inline(key, hit | (events & what & What::ET), 1);
            }
        }
    }

    /// libevent's `evmap_signal_active_`: every event on the signal, with
    /// the delivery count as `ncalls`.
    fn signal(&mut self, signal: u32, count: u32) {
        let ncalls = u16::try_from(count).unwrap_or(u16::MAX);
        let mut next = self.handles.signal_first(signal);
        while let Some(key) = next {
            next = self.handles.next(key);
            self.activate(key, What::SIGNAL, ncalls);
        }
    }
}
