//! Socket helpers: the socketpair emulation Windows needs (it has no
//! `socketpair`), and the few socket calls a program or test uses on the
//! `u32` handles the core takes.
//!
//! Handles: the core names a handle by a `u32`. A WinSock `SOCKET` is a
//! pointer-sized kernel handle value, in practice a small multiple of 4, so
//! it fits; one that does not (or that is above
//! [`evbase_core::MAX_HANDLE`]) is refused with [`Error::InvalidHandle`].

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::windows::io::IntoRawSocket;

use evbase_core::{Error, MAX_HANDLE, Text};

use crate::sys;

/// `WSAEWOULDBLOCK`.
pub(crate) const WSAEWOULDBLOCK: i32 = 10035;

/// The core's handle for `socket`.
///
/// # Errors
/// [`Error::InvalidHandle`] when it does not fit the core's handle range.
pub fn handle_of(socket: u64) -> Result<u32, Error> {
    u32::try_from(socket)
        .ok()
        .filter(|&h| h <= MAX_HANDLE)
        .ok_or(Error::InvalidHandle(socket))
}

fn io_error(op: Text, e: &std::io::Error) -> Error {
    Error::Os {
        op,
        code: e.raw_os_error().unwrap_or(-1),
    }
}

fn into_handle(socket: u64) -> Result<u32, Error> {
    handle_of(socket).inspect_err(|_| {
        let _ = sys::close_socket(socket as sys::RawSocket);
    })
}

/// A connected pair of non-blocking TCP sockets over loopback, the way
/// libevent's `evutil_ersatz_socketpair_` makes one: listen on
/// `127.0.0.1:0`, connect, accept, and check that the accepted peer is the
/// socket that connected (so no other local process slipped in). Both are
/// non-blocking and not inherited by child processes.
///
/// # Errors
/// [`Error::Os`] with the WinSock error of the step that failed;
/// [`Error::InvalidHandle`] if a socket does not fit a `u32`.
pub fn socketpair() -> Result<(u32, u32), Error> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| io_error(&"bind", &e))?;
    let addr = listener.local_addr().map_err(|e| io_error(&"getsockname", &e))?;
    let connector = TcpStream::connect(addr).map_err(|e| io_error(&"connect", &e))?;
    let me = connector.local_addr().map_err(|e| io_error(&"getsockname", &e))?;
    let (accepted, peer) = listener.accept().map_err(|e| io_error(&"accept", &e))?;
    if peer != me || !matches!(peer, SocketAddr::V4(_)) {
        return Err(Error::Os {
            op: &"socketpair: an unexpected peer connected",
            code: 10061,
        });
    }
    for s in [&connector, &accepted] {
        s.set_nonblocking(true)
            .map_err(|e| io_error(&"ioctlsocket(FIONBIO)", &e))?;
        s.set_nodelay(true)
            .map_err(|e| io_error(&"setsockopt(TCP_NODELAY)", &e))?;
    }
    let a = into_handle(connector.into_raw_socket());
    let b = into_handle(accepted.into_raw_socket());
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Ok(h), Err(e)) | (Err(e), Ok(h)) => {
            let _ = close(h);
            Err(e)
        }
        (Err(e), Err(_)) => Err(e),
    }
}

/// Starts a non-blocking TCP connect to `addr` on a new socket. The socket
/// becomes writable when the connect succeeds, and also when it fails
/// (then reading or writing returns the error).
///
/// # Errors
/// [`Error::Os`] when the socket cannot be made or the connect fails at
/// once; [`Error::InvalidHandle`] if the socket does not fit a `u32`.
pub fn connect(addr: std::net::SocketAddrV4) -> Result<u32, Error> {
    sys::wsa_startup()?;
    let s = sys::tcp_connect_nonblocking(addr).map_err(|code| Error::Os { op: &"connect", code })?;
    into_handle(s as u64)
}

fn would_block(code: i32) -> Error {
    Error::Os {
        op: if code == WSAEWOULDBLOCK {
            &"would block"
        } else {
            &"socket I/O"
        },
        code,
    }
}

/// Sends `data` on socket `fd` (non-blocking sockets may send less).
///
/// # Errors
/// [`Error::Os`] with the WinSock error (`WSAEWOULDBLOCK`, 10035, when the
/// send buffer is full).
pub fn send(fd: u32, data: &[u8]) -> Result<usize, Error> {
    sys::send(fd as sys::RawSocket, data).map_err(would_block)
}

/// Receives into `buf` from socket `fd`: the byte count, 0 at end of stream.
///
/// # Errors
/// [`Error::Os`] with the WinSock error (`WSAEWOULDBLOCK`, 10035, when
/// nothing is waiting).
pub fn recv(fd: u32, buf: &mut [u8]) -> Result<usize, Error> {
    sys::recv(fd as sys::RawSocket, buf).map_err(would_block)
}

/// Stops sending on socket `fd` (`shutdown(SD_SEND)`): the peer reads end of stream.
///
/// # Errors
/// [`Error::Os`] with the WinSock error.
pub fn shutdown_write(fd: u32) -> Result<(), Error> {
    sys::shutdown_send(fd as sys::RawSocket).map_err(|code| Error::Os { op: &"shutdown", code })
}

/// Closes socket `fd` (`closesocket`). Close each socket once: afterwards
/// the number may name a new socket.
///
/// # Errors
/// [`Error::Os`] with the WinSock error (`WSAENOTSOCK` for a handle that is
/// not an open socket).
pub fn close(fd: u32) -> Result<(), Error> {
    sys::close_socket(fd as sys::RawSocket).map_err(|code| Error::Os {
        op: &"closesocket",
        code,
    })
}

/// A socket this crate opened for itself; closed on drop.
#[derive(Debug)]
pub(crate) struct OwnedSocket(pub(crate) u32);

impl Drop for OwnedSocket {
    fn drop(&mut self) {
        let _ = sys::close_socket(self.0 as sys::RawSocket);
    }
}
