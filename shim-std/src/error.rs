//! The error of this crate: the core's [`evbase_core::Error`], with the
//! conversions a std program wants.

use std::fmt;
use std::io;

/// An error from evbase: wraps the core's [`evbase_core::Error`] (match on
/// [`Error::core`]) and converts into [`std::io::Error`], so `?` works in a
/// function returning `io::Result`.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let base = evbase_std::EventBase::new()?; // evbase_std::Error -> io::Error
/// # drop(base);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(evbase_core::Error);

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The core's error, to match on.
    pub fn core(&self) -> &evbase_core::Error {
        &self.0
    }

    /// Unwraps the core's error.
    pub fn into_core(self) -> evbase_core::Error {
        self.0
    }

    /// The OS error code (`errno`, `WSAGetLastError`), when the OS refused.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self.0 {
            evbase_core::Error::Os { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The [`io::ErrorKind`] that fits this error.
    pub fn kind(&self) -> io::ErrorKind {
        use evbase_core::Error as E;
        match &self.0 {
            E::Os { code, .. } => io::Error::from_raw_os_error(*code).kind(),
            E::Capacity { .. } => io::ErrorKind::OutOfMemory,
            E::Unsupported(_) | E::NoBackend(_) => io::ErrorKind::Unsupported,
            E::Reentrant | E::EventsActive | E::Finalizing | E::Forked => io::ErrorKind::Other,
            E::StaleEvent
            | E::InvalidFlags { .. }
            | E::InvalidPriority { .. }
            | E::InvalidPriorityCount(_)
            | E::InvalidSignal(_)
            | E::InvalidHandle(_)
            | E::InvalidArgument(_) => io::ErrorKind::InvalidInput,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<evbase_core::Error> for Error {
    fn from(e: evbase_core::Error) -> Self {
        Error(e)
    }
}

impl From<Error> for evbase_core::Error {
    fn from(e: Error) -> Self {
        e.0
    }
}

/// Keeps the message (with the operation that failed) and the
/// [`kind`](Error::kind); the [`Error`] is reachable through
/// [`io::Error::get_ref`] and `downcast_ref`.
impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        io::Error::new(e.kind(), e)
    }
}
