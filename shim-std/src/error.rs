//! The error of this crate: the core's [`evbase_core::Error`] or an
//! [`io::Error`], with the conversions a std program wants.

use std::fmt;
use std::io;

use evbase_core::SelectionReport;

/// An error from evbase or from the OS: the core's [`evbase_core::Error`]
/// (match on it through [`Error::core`]) or an [`io::Error`]. `?` turns
/// both into it, and it turns into an [`io::Error`], so a function returning
/// `io::Result` can use `?` on this crate's calls too.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let base = evbase_std::EventBase::new()?; // evbase_std::Error -> io::Error
/// # drop(base);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Error(Repr);

#[derive(Debug)]
enum Repr {
    Core(evbase_core::Error),
    /// [`evbase_core::Error::NoBackend`] with the reason for each method.
    NoBackend(Box<SelectionReport>),
    Io(io::Error),
}

impl Error {
    /// No method fits the config; `report` says why for each one.
    pub(crate) fn no_backend(report: SelectionReport) -> Self {
        Error(Repr::NoBackend(Box::new(report)))
    }
}

/// `Result` with this crate's [`Error`].
///
/// ```
/// use std::net::TcpListener;
/// use evbase_std::EventBase;
///
/// fn listen() -> evbase_std::Result<(EventBase, TcpListener)> {
///     let listener = TcpListener::bind("127.0.0.1:0")?; // an io::Error
///     let base = EventBase::new()?; // or evbase's
///     Ok((base, listener))
/// }
/// # listen().unwrap();
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The core's error, to match on (`None` for an [`io::Error`]).
    /// Example: [`Error::kind`].
    pub fn core(&self) -> Option<&evbase_core::Error> {
        match &self.0 {
            Repr::Core(e) => Some(e),
            Repr::NoBackend(_) => Some(&evbase_core::Error::NoBackend),
            Repr::Io(_) => None,
        }
    }

    /// Why each method was ruled out, when no backend fit the config.
    ///
    /// ```
    /// use evbase_std::{Config, EventBase};
    ///
    /// let mut none = Config::default();
    /// for method in EventBase::supported_methods() {
    ///     none.avoid_method(method.name)?;
    /// }
    /// let err = EventBase::with_config(&none).unwrap_err();
    /// let report = err.selection_report().unwrap();
    /// assert_eq!(report.len(), EventBase::supported_methods().len().min(4));
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn selection_report(&self) -> Option<&SelectionReport> {
        match &self.0 {
            Repr::NoBackend(report) => Some(report),
            _ => None,
        }
    }

    /// The OS error code (`errno`, `WSAGetLastError`), when the OS refused.
    /// Example: [`Error::kind`].
    pub fn raw_os_error(&self) -> Option<i32> {
        match &self.0 {
            Repr::Core(evbase_core::Error::Os { code, .. }) => Some(*code),
            Repr::Core(_) | Repr::NoBackend(_) => None,
            Repr::Io(e) => e.raw_os_error(),
        }
    }

    /// The [`io::ErrorKind`] that fits this error.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use evbase_std::{BaseExt, EventBase, evbase_core};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = base.timer(|_, _, _| {})?;
    /// base.free(ev)?;
    /// let err: evbase_std::Error = base.add(ev, None).unwrap_err().into();
    /// assert!(matches!(err.core(), Some(evbase_core::Error::StaleEvent)));
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// assert_eq!(err.raw_os_error(), None);
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn kind(&self) -> io::ErrorKind {
        use evbase_core::Error as E;
        match &self.0 {
            Repr::Io(e) => e.kind(),
            Repr::NoBackend(_) => io::ErrorKind::Unsupported,
            Repr::Core(e) => match e {
                E::Os { code, .. } => io::Error::from_raw_os_error(*code).kind(),
                E::Capacity { .. } => io::ErrorKind::OutOfMemory,
                E::Unsupported(_) | E::NoBackend => io::ErrorKind::Unsupported,
                E::Reentrant | E::EventsActive | E::Finalizing | E::Forked => io::ErrorKind::Other,
                E::Closed => io::ErrorKind::NotConnected,
                E::StaleEvent
                | E::StaleWatcher
                | E::InvalidFlags { .. }
                | E::InvalidPriority { .. }
                | E::InvalidPriorityCount(_)
                | E::InvalidSignal(_)
                | E::InvalidHandle(_)
                | E::InvalidArgument(_) => io::ErrorKind::InvalidInput,
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Core(e) => fmt::Display::fmt(e, f),
            Repr::NoBackend(report) => fmt::Display::fmt(report, f),
            Repr::Io(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            Repr::Core(e) => Some(e),
            Repr::NoBackend(_) => Some(&evbase_core::Error::NoBackend),
            Repr::Io(e) => Some(e),
        }
    }
}

impl From<evbase_core::Error> for Error {
    fn from(e: evbase_core::Error) -> Self {
        Error(Repr::Core(e))
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error(Repr::Io(e))
    }
}

/// An [`io::Error`] comes back as it was. A core error keeps its message
/// (with the operation that failed) and gets the [`kind`](Error::kind)
/// that fits; the [`Error`] is reachable through [`io::Error::get_ref`].
impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e.0 {
            Repr::Io(e) => e,
            Repr::Core(_) | Repr::NoBackend(_) => io::Error::new(e.kind(), e),
        }
    }
}
