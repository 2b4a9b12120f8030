//! What the readiness backends (epoll, poll, select) watch for themselves:
//! the wake-up notifier, the signal pipe once a signal is watched, and the
//! fork generation that says whether those fds are still this process's.
//! Each backend registers the fds with its own mechanism; everything else
//! about them is here.

use evbase_core::{Error, Sink, Waker};

use crate::signal::SignalPipe;
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

    /// Drops a signal pipe the backend could not watch (only epoll's
    /// registration can fail).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn close_signals(&mut self) {
        self.signals = None;
    }

    /// Delivers `signal` to the pipe ([`open_signals`](Self::open_signals) first).
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

    /// New fds after a fork (the old ones are shared with the parent), to
    /// watch again from [`fds`](Self::fds); the waker and the watched
    /// signals stay.
    pub(crate) fn reopen(&mut self) -> Result<(), Error> {
        self.wake.reopen()?;
        if let Some(s) = &mut self.signals {
            s.reopen()?;
        }
        Ok(())
    }

    /// Marks the fds as this process's, once the backend is rebuilt.
    pub(crate) fn adopt(&mut self) {
        self.generation = crate::fork_generation();
    }
}
