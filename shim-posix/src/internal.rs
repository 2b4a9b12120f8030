//! What the readiness backends (epoll, poll, select) watch for themselves:
//! the wake-up notifier, the signal pipe once a signal is watched, and the
//! fork generation that says whether those fds are still this process's.
//! Each backend registers the fds with its own mechanism; everything else
//! about them is here.

use evbase_core::{Error, Sink, Waker};

use crate::signal::SignalPipe;
use crate::sys::FdPair;
use crate::wake::Notifier;

#[derive(Debug)]
pub(crate) struct Internal {
    wake: Notifier,
    signals: Option<SignalPipe>,
    generation: u64,
}

/// What one wait saw on the internal fds.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    woken: bool,
    signalled: bool,
}

impl Internal {
    /// A new notifier, no signal pipe yet.
    pub(crate) fn open() -> Result<Internal, Error> {
        Ok(Internal {
            wake: Notifier::open()?,
            signals: None,
            generation: crate::fork_generation(),
        })
    }

    /// The fds to watch for readability: the notifier's, and the signal
    /// pipe's once open.
    pub(crate) fn fds(&self) -> [Option<i32>; 2] {
        [Some(self.wake.fd()), self.signals.as_ref().map(SignalPipe::fd)]
    }

    pub(crate) fn is_internal(&self, fd: i32) -> bool {
        fd == self.wake.fd() || self.signals.as_ref().is_some_and(|s| s.fd() == fd)
    }

    /// Notes a readable `fd`; false when it is not one of these.
    #[inline]
    pub(crate) fn note(&self, fd: i32, seen: &mut Seen) -> bool {
        if fd == self.wake.fd() {
            seen.woken = true;
        } else if self.signals.as_ref().is_some_and(|s| s.fd() == fd) {
            seen.signalled = true;
        } else {
            return false;
        }
        true
    }

    /// After a wait: empties the notifier if it fired and reports the
    /// signals that arrived.
    #[inline]
    pub(crate) fn finish<K: Sink>(&self, seen: Seen, sink: &mut K) {
        if seen.woken {
            self.wake.drain();
        }
        if seen.signalled
            && let Some(s) = &self.signals
        {
            s.drain(sink);
        }
    }

    /// Opens the signal pipe if there is none, and returns its fd for the
    /// backend to watch then ([`close_signals`](Self::close_signals) if
    /// that fails).
    pub(crate) fn open_signals(&mut self) -> Result<Option<i32>, Error> {
        if self.signals.is_some() {
            return Ok(None);
        }
        let pipe = SignalPipe::open()?;
        let fd = pipe.fd();
        self.signals = Some(pipe);
        Ok(Some(fd))
    }

    /// Closes the signal pipe [`open_signals`](Self::open_signals) just
    /// opened, when the backend could not watch it or the signal it was
    /// opened for is refused: a failed `add_signal` leaves nothing open.
    pub(crate) fn close_signals(&mut self) {
        self.signals = None;
    }

    /// Delivers `signal` to the pipe ([`open_signals`](Self::open_signals)
    /// first). Nothing changes when the signal is refused.
    pub(crate) fn add_signal(&mut self, signal: u32) -> Result<(), Error> {
        self.signals.as_mut().map_or(Ok(()), |s| s.add(signal))
    }

    pub(crate) fn del_signal(&mut self, signal: u32) -> Result<(), Error> {
        self.signals.as_mut().map_or(Ok(()), |s| s.del(signal))
    }

    pub(crate) fn waker(&self) -> Waker {
        self.wake.waker()
    }

    /// Whether this process forked since the fds were made.
    pub(crate) fn forked(&self) -> bool {
        self.generation != crate::fork_generation()
    }

    /// New fds for after a fork (the old ones are shared with the parent),
    /// opened but not in use: the backend watches them ([`Reopened::fds`])
    /// in its new kernel object, then [`reopen`](Self::reopen)s with them.
    /// Dropping them instead closes them and leaves everything as it was.
    pub(crate) fn prepare_reopen(&self) -> Result<Reopened, Error> {
        let wake = Notifier::new_fds()?;
        let signals = match &self.signals {
            Some(_) => Some(SignalPipe::new_fds()?),
            None => None,
        };
        Ok(Reopened { wake, signals })
    }

    /// Puts the fds of [`prepare_reopen`](Self::prepare_reopen) in place
    /// (closing the old ones) and marks them as this process's; the waker
    /// and the watched signals stay. Cannot fail.
    pub(crate) fn reopen(&mut self, fresh: Reopened) {
        self.wake.reopen(fresh.wake);
        if let (Some(s), Some(fds)) = (&mut self.signals, fresh.signals) {
            s.reopen(fds);
        }
        self.generation = crate::fork_generation();
    }
}

/// The fds of an [`Internal::reopen`], open but not in use yet.
#[derive(Debug)]
pub(crate) struct Reopened {
    wake: FdPair,
    signals: Option<FdPair>,
}

impl Reopened {
    /// The fds to watch for readability, as [`Internal::fds`] will be
    /// (epoll registers them in its new set; poll and select watch after
    /// the swap).
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub(crate) fn fds(&self) -> [Option<i32>; 2] {
        [Some(self.wake.read()), self.signals.as_ref().map(FdPair::read)]
    }
}
