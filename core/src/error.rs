//! The one error type of the core.

use core::fmt;

use crate::{Features, What};

/// Why a method was not chosen, in a [`Error::NoBackend`] report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The config avoids it by name.
    Avoided,
    /// `EVENT_NO<METHOD>` is set in the environment.
    DisabledByEnv,
    /// It lacks these of the required features.
    MissingFeatures(Features),
    /// It was chosen but the platform could not open it, for this reason
    /// (e.g. the kernel lacks it, or forbids it).
    OpenFailed(Error),
}

/// The methods considered by a failed selection and why each was ruled
/// out, in preference order (the first four): what
/// [`select_method`](crate::select_method) returns and
/// [`EventBase::with_config_report`](crate::EventBase::with_config_report)
/// fills in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectionReport(heapless::Vec<(&'static str, Rejection), 4>);

impl SelectionReport {
    /// An empty report.
    pub const fn new() -> Self {
        SelectionReport(heapless::Vec::new())
    }

    /// Notes that `method` was ruled out for `why` (past four methods,
    /// nothing more is kept).
    pub fn push(&mut self, method: &'static str, why: Rejection) {
        let _ = self.0.push((method, why));
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

impl core::ops::Deref for SelectionReport {
    type Target = [(&'static str, Rejection)];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl fmt::Display for SelectionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no backend fits the config")?;
        for (i, (name, why)) in self.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            match why {
                Rejection::Avoided => write!(f, "{name} is avoided by the config"),
                Rejection::DisabledByEnv => write!(f, "{name} is disabled by the environment"),
                Rejection::MissingFeatures(m) => write!(f, "{name} lacks {m:?}"),
                Rejection::OpenFailed(e) => write!(f, "{name} could not be opened: {e}"),
            }?;
        }
        if self.is_empty() {
            f.write_str(": the platform offers no method")?;
        }
        Ok(())
    }
}

/// A message in an [`Error`]: a reference to a static string, written
/// `&"epoll_ctl"`. One pointer instead of two keeps `Error` at 16 bytes,
/// so that `Result<(), Error>` comes back in registers.
pub type Text = &'static &'static str;

/// Everything that can go wrong in the core. Every operation that returns
/// an `Error` has left the base as it was: its tables (what
/// [`EventBase::memory`](crate::EventBase::memory) counts), counters and
/// events, and the backend's descriptors (the one exception is documented
/// at [`EventBase::reinit`](crate::EventBase::reinit)). 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// A fixed-capacity table is full (or a growable one could not grow).
    Capacity {
        /// Which table.
        what: Text,
        /// How many entries it holds at most (saturated at `u32::MAX`).
        limit: u32,
    },
    /// The [`EventId`](crate::EventId) names an event that was freed, or
    /// belongs to another base.
    StaleEvent,
    /// The [`WatchId`](crate::WatchId) names a watcher that was freed, or
    /// belongs to another base.
    StaleWatcher,
    /// The flags asked of an event do not go together.
    InvalidFlags {
        /// The flags given.
        what: What,
        /// Why they are refused.
        reason: Text,
    },
    /// A priority outside `0..npriorities`.
    InvalidPriority {
        /// The priority given.
        priority: usize,
        /// The number of priorities the base has.
        npriorities: u16,
    },
    /// `priority_init` with a count outside `1..=255`.
    InvalidPriorityCount(usize),
    /// `priority_init` while callbacks are active.
    EventsActive,
    /// A signal number the platform does not have.
    InvalidSignal(u32),
    /// A handle (file descriptor, socket) the backend refuses: not open,
    /// not of a kind it watches, or beyond [`MAX_HANDLE`](crate::MAX_HANDLE).
    InvalidHandle(u64),
    /// An argument outside what the operation accepts.
    InvalidArgument(Text),
    /// The event is being finalized: it cannot be added or activated again.
    Finalizing,
    /// `dispatch` or `run` called while this base's loop is already running.
    Reentrant,
    /// No method fits the config, or none opened
    /// ([`EventBase::with_config_report`](crate::EventBase::with_config_report)
    /// says why for each one considered).
    NoBackend,
    /// The platform cannot do this (no signals, no wake-up, no fork support...).
    Unsupported(Text),
    /// The operating system refused: the operation and its error code.
    Os {
        /// What was being done (`&"epoll_ctl"`, `&"kevent"`...).
        op: Text,
        /// The OS error code (`errno`, `WSAGetLastError`).
        code: i32,
    },
    /// This process is a forked child of the one that created the base:
    /// call `reinit` before using it.
    Forked,
    /// The base a remote handle ([`RemoteQueue`](crate::RemoteQueue)) was
    /// sending to is gone: nothing will apply the operation.
    Closed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Capacity { what, limit } => {
                write!(f, "the {what} table is full ({limit} entries); use a larger capacity")
            }
            Error::StaleEvent => f.write_str("stale event id: that event was freed or belongs to another base"),
            Error::StaleWatcher => f.write_str("stale watcher id: that watcher was freed or belongs to another base"),
            Error::InvalidFlags { what, reason } => write!(f, "invalid event flags {what:?}: {reason}"),
            Error::InvalidPriority { priority, npriorities } => {
                write!(
                    f,
                    "priority {priority} is out of range: this base has priorities 0..{npriorities}"
                )
            }
            Error::InvalidPriorityCount(n) => {
                write!(f, "cannot use {n} priorities: the count must be between 1 and 255")
            }
            Error::EventsActive => f.write_str("cannot change the number of priorities while callbacks are active"),
            Error::InvalidSignal(s) => write!(f, "signal number {s} is not valid on this platform"),
            Error::InvalidHandle(h) => write!(f, "handle {h} is not valid for this backend"),
            Error::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            Error::Finalizing => f.write_str("the event is being finalized and cannot be used again"),
            Error::Reentrant => f.write_str("the loop of this base is already running (re-entrant dispatch)"),
            Error::NoBackend => {
                f.write_str("no backend fits the config (EventBase::with_config_report says why for each method)")
            }
            Error::Unsupported(what) => write!(f, "not supported on this platform: {what}"),
            Error::Os { op, code } => write!(f, "{op} failed with OS error {code}"),
            Error::Forked => {
                f.write_str("this base was created by the parent process: call reinit() in the forked child")
            }
            Error::Closed => {
                f.write_str("the event base of this remote handle was dropped: nothing will apply the operation")
            }
        }
    }
}

impl core::error::Error for Error {}

impl Error {
    /// [`Error::Capacity`] of table `what`, holding at most `limit` entries.
    pub fn capacity(what: Text, limit: usize) -> Error {
        Error::Capacity {
            what,
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
        }
    }
}

const _: () = assert!(core::mem::size_of::<Error>() <= 16);
const _: () = assert!(core::mem::size_of::<Result<(), Error>>() <= 16);
