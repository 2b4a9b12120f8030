//! Socket helpers for tests, examples and benchmarks.

use std::os::fd::OwnedFd;

use evbase_core::Error;

use crate::sys;

/// A connected `AF_UNIX` stream socket pair, both ends non-blocking and
/// close-on-exec (libevent's `evutil_socketpair` plus
/// `evutil_make_socket_nonblocking`).
///
/// # Errors
/// [`Error::Os`] with `errno` when the OS refuses (e.g. `EMFILE`).
pub fn socketpair() -> Result<(OwnedFd, OwnedFd), Error> {
    sys::socketpair().map_err(|code| Error::Os {
        op: &"socketpair",
        code,
    })
}
