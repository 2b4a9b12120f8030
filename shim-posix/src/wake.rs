//! The wake-up notifier: how another thread (or a signal handler) makes a
//! backend's wait return. An eventfd on Linux, a non-blocking pipe
//! elsewhere, `EVFILT_USER` on kqueue.
//!
//! A [`Waker`] is `Copy` and may outlive the backend that made it (a remote
//! queue keeps it), so it never holds an fd number directly: it names a slot
//! of a static table ([`WakeSlot`]). The backend puts its fd in the slot and,
//! before closing that fd, empties the slot and waits until no `wake` is
//! between reading the slot and writing to the fd. A late `wake` therefore
//! finds the slot empty (or reused by another backend: a harmless spurious
//! wake-up), and never writes into an fd that was closed and reused.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering::SeqCst};

use evbase_core::{Error, Waker};

use crate::sys::{self, FdPair};

/// How many backends with a wake-up can be open at once.
pub const MAX_WAKERS: usize = 4096;

struct Slot {
    used: AtomicBool,
    fd: AtomicI32,
    busy: AtomicU32,
}

static SLOTS: [Slot; MAX_WAKERS] = [const {
    Slot {
        used: AtomicBool::new(false),
        fd: AtomicI32::new(-1),
        busy: AtomicU32::new(0),
    }
}; MAX_WAKERS];

/// A claimed slot of the waker table, holding one fd.
#[derive(Debug)]
pub(crate) struct WakeSlot(usize);

impl WakeSlot {
    /// Claims a free slot for `fd`.
    pub(crate) fn claim(fd: i32) -> Result<WakeSlot, Error> {
        for (i, slot) in SLOTS.iter().enumerate() {
            if slot.used.compare_exchange(false, true, SeqCst, SeqCst).is_ok() {
                slot.fd.store(fd, SeqCst);
                return Ok(WakeSlot(i));
            }
        }
        Err(Error::capacity(&"wake-up slots", MAX_WAKERS))
    }

    /// The slot number (a [`Waker`]'s data).
    pub(crate) fn index(&self) -> usize {
        self.0
    }

    /// Puts `fd` in the slot; returns the previous fd once no `wake` can
    /// still be using it.
    pub(crate) fn replace(&self, fd: i32) -> i32 {
        let slot = &SLOTS[self.0];
        let old = slot.fd.swap(fd, SeqCst);
        while slot.busy.load(SeqCst) != 0 {
            std::thread::yield_now();
        }
        old
    }

    /// Runs `f` on the slot's fd, if it still holds one, such that the fd
    /// is not closed meanwhile. Async-signal-safe.
    pub(crate) fn with_fd(index: usize, f: impl FnOnce(i32)) {
        let Some(slot) = SLOTS.get(index) else { return };
        slot.busy.fetch_add(1, SeqCst);
        let fd = slot.fd.load(SeqCst);
        if fd >= 0 {
            f(fd);
        }
        slot.busy.fetch_sub(1, SeqCst);
    }
}

impl Drop for WakeSlot {
    /// Empties the slot (waiting out any `wake` in progress) and frees it;
    /// the owner closes its fd afterwards.
    fn drop(&mut self) {
        self.replace(-1);
        SLOTS[self.0].used.store(false, SeqCst);
    }
}

/// A wake-up fd: an eventfd, or a pipe's two ends.
#[derive(Debug)]
pub(crate) struct Notifier {
    read: i32,
    write: i32,
    slot: WakeSlot,
}

impl Notifier {
    /// A new notifier (eventfd on Linux, else a pipe).
    pub(crate) fn open() -> Result<Notifier, Error> {
        let (read, write) = open_fds()?;
        match WakeSlot::claim(write) {
            Ok(slot) => Ok(Notifier { read, write, slot }),
            Err(e) => {
                close_fds(read, write);
                Err(e)
            }
        }
    }

    /// The fd the backend watches for readability.
    pub(crate) fn fd(&self) -> i32 {
        self.read
    }

    /// Empties the notifier, so that a level-triggered wait does not see it
    /// again until the next wake-up.
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 64];
        while let Ok(n) = sys::read(self.read, &mut buf) {
            // An eventfd is emptied by one read of its 8-byte counter.
            if n == 0 || (self.read == self.write) {
                break;
            }
        }
    }

    /// The waker for remote callers.
    pub(crate) fn waker(&self) -> Waker {
        Waker {
            wake: if self.read == self.write {
                wake_counter
            } else {
                wake_pipe
            },
            data: self.slot.index(),
        }
    }

    /// Opens the fds of a [`reopen`](Self::reopen), without touching this
    /// notifier: dropping them closes them.
    pub(crate) fn new_fds() -> Result<FdPair, Error> {
        open_fds().map(FdPair::new)
    }

    /// Puts `fds` from [`new_fds`](Self::new_fds) in place of this
    /// notifier's (after fork: the old ones are shared with the parent)
    /// and closes the old ones; the waker stays valid. Cannot fail.
    pub(crate) fn reopen(&mut self, fds: FdPair) {
        let (read, write) = fds.into_raw();
        let old_write = self.slot.replace(write);
        debug_assert_eq!(old_write, self.write);
        close_fds(self.read, self.write);
        self.read = read;
        self.write = write;
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.slot.replace(-1);
        close_fds(self.read, self.write);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn open_fds() -> Result<(i32, i32), Error> {
    let fd = sys::eventfd().map_err(|code| Error::Os { op: &"eventfd", code })?;
    Ok((fd, fd))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn open_fds() -> Result<(i32, i32), Error> {
    sys::pipe().map_err(|code| Error::Os { op: &"pipe", code })
}

fn close_fds(read: i32, write: i32) {
    sys::close(read);
    if write != read {
        sys::close(write);
    }
}

/// Adds 1 to the eventfd in slot `data`. Async-signal-safe.
fn wake_counter(data: usize) {
    WakeSlot::with_fd(data, |fd| {
        // EAGAIN means the counter is saturated: the loop is awake anyway.
        let _ = sys::write(fd, &1u64.to_ne_bytes());
    });
}

/// Writes one byte to the pipe in slot `data`. Async-signal-safe.
fn wake_pipe(data: usize) {
    WakeSlot::with_fd(data, |fd| {
        // EAGAIN means the pipe is full: the loop is awake anyway.
        let _ = sys::write(fd, &[1]);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wake_and_drain() {
        let n = Notifier::open().unwrap();
        let w = n.waker();
        w.wake();
        w.wake();
        let mut buf = [0u8; 8];
        n.drain();
        assert!(sys::read(n.fd(), &mut buf).is_err(), "drained");
        w.wake();
        let idx = n.slot.index();
        drop(n);
        // A late wake after the notifier is gone is harmless.
        w.wake();
        assert!(idx < MAX_WAKERS);
    }
}
