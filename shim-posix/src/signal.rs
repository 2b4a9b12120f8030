//! Signals: one process-wide handler, installed with `sigaction` when the
//! first base starts watching a signal and replaced by the saved previous
//! disposition when the last one stops.
//!
//! **Every base that watches a signal receives it.** (libevent gives a
//! signal only to the base that most recently added a signal or entered its
//! loop.) Each base that watches signals owns a non-blocking self-pipe and
//! a subscription: a slot of a static table with its pipe's write end and
//! the set of signals it watches. The handler (async-signal-safe: atomics
//! and `write` only, `errno` saved and restored) writes the signal number
//! as one byte to the pipe of every subscription that watches it; the base
//! reads its pipe, counts the bytes per signal and reports the counts, which
//! become the callbacks' `ncalls`. Writers of the table (subscribe,
//! unsubscribe, install, restore) serialise on a mutex; a subscription's
//! pipe is closed only after no handler is between reading its fd and
//! writing to it. A subscription made before `fork` is ignored by the
//! handler in the child until the base is reinitialised.

use core::ffi::c_int;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

use evbase_core::{Error, Sink};

use crate::sys::{self, FdPair};

/// Signal numbers this crate handles: `1..MAX_SIGNALS`.
pub const MAX_SIGNALS: u32 = 128;

/// How many bases may watch signals at once.
pub const MAX_SUBSCRIBERS: usize = 1024;

struct Sub {
    fd: AtomicI32,
    pid: AtomicI32,
    busy: AtomicU32,
    mask: [AtomicU64; 2],
}

impl Sub {
    fn watches(&self, sig: u32) -> bool {
        self.mask[(sig / 64) as usize].load(SeqCst) & (1 << (sig % 64)) != 0
    }
}

static SUBS: [Sub; MAX_SUBSCRIBERS] = [const {
    Sub {
        fd: AtomicI32::new(-1),
        pid: AtomicI32::new(0),
        busy: AtomicU32::new(0),
        mask: [const { AtomicU64::new(0) }; 2],
    }
}; MAX_SUBSCRIBERS];

/// One past the highest subscription slot ever used (the handler's scan).
static SUBS_HIGH: AtomicUsize = AtomicUsize::new(0);

struct Table {
    used: [bool; MAX_SUBSCRIBERS],
    /// How many bases (subscriptions and kqueues) watch each signal.
    watchers: [u32; MAX_SIGNALS as usize],
    /// The disposition found when the first watcher came.
    saved: [Option<sys::SigAction>; MAX_SIGNALS as usize],
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    used: [false; MAX_SUBSCRIBERS],
    watchers: [0; MAX_SIGNALS as usize],
    saved: [None; MAX_SIGNALS as usize],
});

fn table() -> std::sync::MutexGuard<'static, Table> {
    // A panic while holding the lock leaves the table consistent (every
    // update is a single store), so poisoning is ignored.
    TABLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The process-wide handler. Async-signal-safe: atomics, `getpid`, `write`.
extern "C" fn handler(sig: c_int) {
    let saved = sys::errno();
    let pid = sys::getpid();
    let sig = sig as u32;
    let byte = [sig as u8];
    let high = SUBS_HIGH.load(SeqCst).min(MAX_SUBSCRIBERS);
    for sub in &SUBS[..high] {
        if sig < MAX_SIGNALS && sub.watches(sig) {
            sub.busy.fetch_add(1, SeqCst);
            let fd = sub.fd.load(SeqCst);
            if fd >= 0 && sub.pid.load(SeqCst) == pid && sub.watches(sig) {
                // EAGAIN: the pipe is full (64 KiB of undelivered signals);
                // that delivery is lost, as with any full self-pipe.
                while let Err(libc::EINTR) = sys::write(fd, &byte) {}
            }
            sub.busy.fetch_sub(1, SeqCst);
        }
    }
    sys::set_errno(saved);
}

/// Refuses a number outside `1..MAX_SIGNALS` (before anything is opened
/// for it; `sigaction` refuses the rest of what the OS lacks).
pub(crate) fn check(sig: u32) -> Result<(), Error> {
    if sig == 0 || sig >= MAX_SIGNALS {
        return Err(Error::InvalidSignal(sig));
    }
    Ok(())
}

/// Counts one more watcher of `sig`; the first one installs the handler,
/// saving what was there.
fn watch(t: &mut Table, sig: u32) -> Result<(), Error> {
    let i = sig as usize;
    if t.watchers[i] == 0 {
        let old = sys::sigaction_install(sig as i32, handler).map_err(|code| match code {
            libc::EINVAL => Error::InvalidSignal(sig),
            code => Error::Os { op: &"sigaction", code },
        })?;
        t.saved[i] = Some(old);
    }
    t.watchers[i] += 1;
    Ok(())
}

/// Counts one watcher of `sig` less; the last one restores the saved
/// disposition.
fn unwatch(t: &mut Table, sig: u32) -> Result<(), Error> {
    let i = sig as usize;
    if t.watchers[i] == 1 {
        if let Some(old) = t.saved[i] {
            sys::sigaction_restore(sig as i32, &old).map_err(|code| Error::Os { op: &"sigaction", code })?;
        }
        t.saved[i] = None;
    }
    t.watchers[i] = t.watchers[i].saturating_sub(1);
    Ok(())
}

/// Starts watching `sig` without a pipe (kqueue reports signals itself, but
/// the handler must be installed so that the default action does not run).
///
/// # Errors
/// [`Error::InvalidSignal`] for a number the OS refuses.
#[cfg_attr(not(kqueue), allow(dead_code))]
pub(crate) fn watch_signal(sig: u32) -> Result<(), Error> {
    check(sig)?;
    watch(&mut table(), sig)
}

/// Stops watching `sig` (see [`watch_signal`]).
///
/// # Errors
/// As `sigaction` reports when restoring.
#[cfg_attr(not(kqueue), allow(dead_code))]
pub(crate) fn unwatch_signal(sig: u32) -> Result<(), Error> {
    check(sig)?;
    unwatch(&mut table(), sig)
}

/// Whether evbase's handler is installed for `sig` now (for tests and
/// diagnostics).
pub fn handler_installed(sig: u32) -> bool {
    sys::sigaction_current(sig as i32).is_ok_and(|h| h == handler as extern "C" fn(c_int) as usize)
}

/// A base's signal pipe and subscription.
#[derive(Debug)]
pub(crate) struct SignalPipe {
    read: i32,
    write: i32,
    slot: usize,
    mask: [u64; 2],
}

impl SignalPipe {
    /// A new pipe, subscribed to nothing yet.
    pub(crate) fn open() -> Result<SignalPipe, Error> {
        let (read, write) = sys::pipe().map_err(|code| Error::Os { op: &"pipe", code })?;
        let mut t = table();
        let Some(slot) = t.used.iter().position(|u| !u) else {
            drop(t);
            sys::close(read);
            sys::close(write);
            return Err(Error::capacity(&"signal subscriptions", MAX_SUBSCRIBERS));
        };
        t.used[slot] = true;
        let sub = &SUBS[slot];
        sub.mask[0].store(0, SeqCst);
        sub.mask[1].store(0, SeqCst);
        sub.pid.store(sys::getpid(), SeqCst);
        sub.fd.store(write, SeqCst);
        SUBS_HIGH.fetch_max(slot + 1, SeqCst);
        Ok(SignalPipe {
            read,
            write,
            slot,
            mask: [0; 2],
        })
    }

    /// The fd the backend watches for readability.
    pub(crate) fn fd(&self) -> i32 {
        self.read
    }

    fn has(&self, sig: u32) -> bool {
        self.mask[(sig / 64) as usize] & (1 << (sig % 64)) != 0
    }

    /// Starts delivering `sig` to this pipe (installing the handler if this
    /// is the process's first watcher). Adding a watched signal again is a
    /// no-op.
    pub(crate) fn add(&mut self, sig: u32) -> Result<(), Error> {
        check(sig)?;
        if self.has(sig) {
            return Ok(());
        }
        let mut t = table();
        watch(&mut t, sig)?;
        self.mask[(sig / 64) as usize] |= 1 << (sig % 64);
        SUBS[self.slot].mask[(sig / 64) as usize].fetch_or(1 << (sig % 64), SeqCst);
        Ok(())
    }

    /// Stops delivering `sig` here (restoring the previous disposition if
    /// this was the process's last watcher).
    pub(crate) fn del(&mut self, sig: u32) -> Result<(), Error> {
        check(sig)?;
        if !self.has(sig) {
            return Ok(());
        }
        let mut t = table();
        SUBS[self.slot].mask[(sig / 64) as usize].fetch_and(!(1 << (sig % 64)), SeqCst);
        self.mask[(sig / 64) as usize] &= !(1 << (sig % 64));
        unwatch(&mut t, sig)
    }

    /// Reads every byte in the pipe and reports each watched signal once
    /// with its count.
    pub(crate) fn drain<K: Sink>(&self, sink: &mut K) {
        let mut counts = [0u32; MAX_SIGNALS as usize];
        let mut buf = [0u8; 1024];
        while let Ok(n) = sys::read(self.read, &mut buf) {
            if n == 0 {
                break;
            }
            for &b in &buf[..n] {
                if let Some(c) = counts.get_mut(b as usize) {
                    *c = c.saturating_add(1);
                }
            }
        }
        for (sig, &count) in counts.iter().enumerate() {
            if count > 0 && self.has(sig as u32) {
                sink.signal(sig as u32, count);
            }
        }
    }

    /// Opens the pipe of a [`reopen`](Self::reopen), without touching this
    /// one: dropping it closes it.
    pub(crate) fn new_fds() -> Result<FdPair, Error> {
        sys::pipe()
            .map(FdPair::new)
            .map_err(|code| Error::Os { op: &"pipe", code })
    }

    /// Puts the pipe `fds` from [`new_fds`](Self::new_fds) in place of this
    /// subscription's (after fork: the old one is shared with the parent)
    /// and closes the old one. The watched signals stay. Cannot fail.
    pub(crate) fn reopen(&mut self, fds: FdPair) {
        let (read, write) = fds.into_raw();
        let sub = &SUBS[self.slot];
        sub.pid.store(sys::getpid(), SeqCst);
        sub.fd.swap(write, SeqCst);
        while sub.busy.load(SeqCst) != 0 {
            std::thread::yield_now();
        }
        sys::close(self.read);
        sys::close(self.write);
        self.read = read;
        self.write = write;
    }
}

impl Drop for SignalPipe {
    /// Stops every watched signal, frees the subscription and closes the pipe.
    fn drop(&mut self) {
        let mut t = table();
        let sub = &SUBS[self.slot];
        sub.mask[0].store(0, SeqCst);
        sub.mask[1].store(0, SeqCst);
        sub.fd.store(-1, SeqCst);
        while sub.busy.load(SeqCst) != 0 {
            std::thread::yield_now();
        }
        for sig in 1..MAX_SIGNALS {
            if self.has(sig) {
                let _ = unwatch(&mut t, sig);
            }
        }
        t.used[self.slot] = false;
        drop(t);
        sys::close(self.read);
        sys::close(self.write);
    }
}
