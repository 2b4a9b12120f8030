//! What the core asks of the outside world: the [`Platform`] and its
//! [`Backend`]s (libevent's `eventop`).

use core::time::Duration;

use crate::{Change, Config, Error, Instant, Method, What, remote::Inbox};

/// Where a backend reports readiness during [`Backend::dispatch`].
pub trait Sink {
    /// Handle `fd` is ready for `what` (`READ`, `WRITE`, `CLOSED`, plus `ET`
    /// from backends that report edges).
    fn io(&mut self, fd: u32, what: What);
    /// Signal `signal` was delivered `count` times since the last report.
    fn signal(&mut self, signal: u32, count: u32);
}

/// A way to wake a loop blocked in [`Backend::dispatch`] from another
/// thread or an interrupt handler: a plain function and a word (an eventfd,
/// a pointer to a flag...). `Copy`, `Send` and `Sync` by construction.
#[derive(Debug, Clone, Copy)]
pub struct Waker {
    /// Called to wake the loop; must be safe to call from any thread or
    /// interrupt at any time, and cheap.
    pub wake: fn(usize),
    /// The word handed to `wake`.
    pub data: usize,
}

impl Waker {
    /// Wakes the loop.
    pub fn wake(&self) {
        (self.wake)(self.data)
    }
}

/// One kernel interface, opened by a [`Platform`]: libevent's `eventop`.
///
/// The core keeps the per-handle interest; a backend sees each handle's
/// aggregate interest change as a [`Change`] (old and new masks): through
/// [`Backend::change`] at once, or — when its [`Method::changelist`] is
/// set — as the batch of coalesced changes handed to the next
/// [`Backend::dispatch`].
pub trait Backend {
    /// The static description of this backend (its name may differ from the
    /// method it was opened as, e.g. `epoll (with changelist)`).
    fn method(&self) -> &'static Method;

    /// Whether `fd` can be watched at all: the core asks before the first
    /// event on `fd` registers (the handle's interest goes from nothing to
    /// something), before any of its tables grows for the handle and before
    /// [`change`](Self::change) or the changelist hears of it. Refuse what
    /// is not an open handle of a kind this backend watches, cheaply (one
    /// `fcntl(F_GETFD)`, one `getsockopt`), so that a bad handle fails its
    /// `add` on every backend alike.
    ///
    /// The default accepts every handle: enough for a backend whose
    /// [`change`](Self::change) refuses bad handles itself and keeps nothing
    /// then (epoll's `epoll_ctl`). A backend with a changelist must check
    /// here, since its changes reach it only at the next dispatch, where a
    /// refused one can only be dropped.
    ///
    /// # Errors
    /// [`Error::InvalidHandle`]; nothing may change then.
    fn check_handle(&mut self, fd: u32) -> Result<(), Error> {
        let _ = fd;
        Ok(())
    }

    /// Applies one interest change now (backends without a changelist).
    ///
    /// # Errors
    /// [`Error::InvalidHandle`] for a handle the kernel refuses, [`Error::Os`]
    /// for other failures. The backend's state is unchanged on error.
    fn change(&mut self, change: &Change) -> Result<(), Error>;

    /// Applies `changes` (empty unless the method wants a changelist), waits
    /// up to `timeout` nanoseconds (`None`: until something happens) and
    /// reports what is ready into `sink`. An interrupted wait is a success
    /// with nothing ready. Round the wait up: a wait that ends before
    /// `timeout` is safe (the loop checks the clock and waits again) but
    /// costs an iteration.
    ///
    /// # Errors
    /// [`Error::Os`] when the wait itself fails.
    fn dispatch<K: Sink>(&mut self, changes: &[Change], timeout: Option<u64>, sink: &mut K) -> Result<(), Error>;

    /// Starts delivering `signal` to this backend.
    ///
    /// # Errors
    /// [`Error::InvalidSignal`], or [`Error::Unsupported`] without signals.
    /// Nothing may be left behind then: a self-pipe or subscription opened
    /// for a signal that is then refused is closed again.
    fn add_signal(&mut self, signal: u32) -> Result<(), Error> {
        let _ = signal;
        Err(Error::Unsupported(&"signals"))
    }

    /// Stops delivering `signal` and restores what was there before.
    ///
    /// # Errors
    /// As the OS reports.
    fn del_signal(&mut self, signal: u32) -> Result<(), Error> {
        let _ = signal;
        Ok(())
    }

    /// How to wake this backend's wait from elsewhere, if it can be woken.
    fn waker(&self) -> Option<Waker> {
        None
    }

    /// Whether this process is a forked child of the one that opened the
    /// backend (the kernel object is shared with the parent).
    fn forked(&self) -> bool {
        false
    }

    /// Rebuilds the kernel object with nothing registered (after `fork`);
    /// the core then re-registers every handle and signal.
    ///
    /// # Errors
    /// [`Error::Os`] when the new object cannot be made. Open everything
    /// new before closing anything old: on error the backend must be as it
    /// was, its descriptors included.
    fn reinit(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// Everything the core asks of the outside world.
pub trait Platform {
    /// The backends this platform opens (an enum over several, usually).
    type Backend: Backend;

    /// The methods this platform has, most preferred first.
    fn methods(&self) -> &'static [Method];

    /// Opens `method`, honouring what of `config` concerns it
    /// (`EPOLL_USE_CHANGELIST`, `PRECISE_TIMER`, the CPU hint...).
    ///
    /// # Errors
    /// [`Error::Os`] or [`Error::Unsupported`] when it cannot be opened.
    fn open(&mut self, method: &Method, config: &Config) -> Result<Self::Backend, Error>;

    /// The platform's real monotonic clock (`CLOCK_MONOTONIC`,
    /// `QueryPerformanceCounter`, a hardware tick counter): never goes
    /// backwards, and never behind real time — the base counts every
    /// timer's duration from it, so a clock that lags (Linux's
    /// `CLOCK_MONOTONIC_COARSE` trails `CLOCK_MONOTONIC` by a tick and more)
    /// would make timers fire early. The base reads it at most once per
    /// loop iteration that needs the time, plus once per `add` outside the
    /// loop (see [`EventBase::with_cached_time`](crate::EventBase::with_cached_time)).
    fn now(&mut self) -> Instant;

    /// The wall clock, as time since the Unix epoch, if the platform has one.
    fn wall_now(&mut self) -> Option<Duration> {
        None
    }

    /// Whether environment variable `name` is set (always false where the
    /// platform has no environment, or in a setuid process).
    fn env(&self, name: &str) -> bool {
        let _ = name;
        false
    }

    /// Tells the user which method a new base uses (`EVENT_SHOW_METHOD`).
    fn show_method(&mut self, name: &str) {
        let _ = name;
    }

    /// The queue through which other threads and interrupt handlers reach
    /// bases of this platform ([`RemoteQueue`](crate::RemoteQueue)), if any.
    /// A base asks once, when it is made, whether there is one.
    fn inbox(&self) -> Option<&dyn Inbox> {
        None
    }
}
