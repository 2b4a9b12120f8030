//! Turning what a Rust program holds (sockets, files, pipes) into a
//! [`Source`].

use evbase_core::Source;

use crate::Result;

/// Something an event can watch: anything with a file descriptor on Unix
/// ([`AsFd`]: `TcpStream`, `UnixStream`, `File`, `OwnedFd`,
/// `ChildStdout`...), anything with a socket on Windows ([`AsSocket`]).
///
/// [`AsFd`]: https://doc.rust-lang.org/std/os/fd/trait.AsFd.html
/// [`AsSocket`]: https://doc.rust-lang.org/std/os/windows/io/trait.AsSocket.html
///
/// The event does not own the handle: keep the handle open while the event
/// is pending, and delete the event before closing it.
///
/// ```
/// use std::net::UdpSocket;
/// use evbase_std::{AsSource, Source};
///
/// let socket = UdpSocket::bind("127.0.0.1:0")?;
/// assert!(matches!(socket.as_source()?, Source::Fd(_)));
/// # Ok::<(), evbase_std::Error>(())
/// ```
pub trait AsSource {
    /// The [`Source::Fd`] naming this handle. Example: [`AsSource`].
    ///
    /// # Errors
    /// [`Error::InvalidHandle`](evbase_core::Error::InvalidHandle) when the
    /// handle does not fit the core's handle range.
    fn as_source(&self) -> Result<Source>;
}

#[cfg(unix)]
impl<T: std::os::fd::AsFd + ?Sized> AsSource for T {
    fn as_source(&self) -> Result<Source> {
        use std::os::fd::AsRawFd;
        raw_fd(self.as_fd().as_raw_fd())
    }
}

/// The [`Source`] of a raw file descriptor (for code that holds a
/// [`RawFd`](std::os::fd::RawFd) rather than an [`AsFd`](std::os::fd::AsFd)).
///
/// # Errors
/// [`Error::InvalidHandle`](evbase_core::Error::InvalidHandle) for a
/// negative or too large descriptor.
///
/// ```
/// use std::os::fd::AsRawFd;
///
/// let stdin = std::io::stdin();
/// assert!(evbase_std::raw_fd(stdin.as_raw_fd()).is_ok());
/// assert!(evbase_std::raw_fd(-1).is_err());
/// ```
#[cfg(unix)]
pub fn raw_fd(fd: std::os::fd::RawFd) -> Result<Source> {
    match u32::try_from(fd) {
        Ok(fd) if fd <= evbase_core::MAX_HANDLE => Ok(Source::Fd(fd)),
        _ => Err(evbase_core::Error::InvalidHandle(fd as i64 as u64).into()),
    }
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsSocket + ?Sized> AsSource for T {
    fn as_source(&self) -> Result<Source> {
        use std::os::windows::io::AsRawSocket;
        raw_socket(self.as_socket().as_raw_socket())
    }
}

/// The [`Source`] of a raw socket (for code that holds a
/// [`RawSocket`](std::os::windows::io::RawSocket)).
///
/// # Errors
/// [`Error::InvalidHandle`](evbase_core::Error::InvalidHandle) when the
/// socket does not fit the core's handle range.
///
/// ```
/// use std::net::UdpSocket;
/// use std::os::windows::io::AsRawSocket;
///
/// let socket = UdpSocket::bind("127.0.0.1:0")?;
/// let source = evbase_std::raw_socket(socket.as_raw_socket())?;
/// # drop(source);
/// # Ok::<(), evbase_std::Error>(())
/// ```
#[cfg(windows)]
pub fn raw_socket(socket: std::os::windows::io::RawSocket) -> Result<Source> {
    Ok(Source::Fd(evbase_windows::handle_of(socket)?))
}
