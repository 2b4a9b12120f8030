//! Sockets and pipes: socket pairs, the fd flags and listener options of
//! `event2/util.h`, and the internal helpers that make non-blocking,
//! close-on-exec fds in as few calls as the OS allows.

use core::ffi::{c_char, c_int, c_uint};

use super::sys::{self, Errno};
use crate::log;

/// `EVUTIL_SOCK_NONBLOCK`: a `type` flag of `evutil_socket_`, the OS's own
/// where it has one.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
const SOCK_NONBLOCK: c_int = libc::SOCK_NONBLOCK;
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
const SOCK_NONBLOCK: c_int = 0x4000000;

/// `EVUTIL_SOCK_CLOEXEC`.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
const SOCK_CLOEXEC: c_int = libc::SOCK_CLOEXEC;
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
const SOCK_CLOEXEC: c_int = 0x80000000_u32 as c_int;

/// `0` or `-1`, libevent's answer for a call that sets `errno`.
fn status(r: Result<(), Errno>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => {
            sys::set_errno(e);
            -1
        }
    }
}

/// An fd or `-1`, with `errno` set on failure.
fn fd_or_minus_one(r: Result<c_int, Errno>) -> c_int {
    r.unwrap_or_else(|e| {
        sys::set_errno(e);
        -1
    })
}

/// Writes a pair into the C caller's `int fd[2]`.
///
/// # Safety
/// `out` is valid for writes of two `int`s.
unsafe fn store_pair(out: *mut c_int, pair: [c_int; 2]) {
    // SAFETY: the caller guarantees room for two ints.
    unsafe { out.cast::<[c_int; 2]>().write_unaligned(pair) };
}

/// Closes both ends of a pair that could not be set up.
fn close_pair(pair: [c_int; 2]) {
    for fd in pair {
        let _ = sys::close(fd);
    }
}

/// `evutil_socketpair`: `socketpair(2)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_socketpair(family: c_int, ty: c_int, protocol: c_int, fd: *mut c_int) -> c_int {
    if fd.is_null() {
        sys::set_errno(libc::EINVAL);
        return -1;
    }
    match sys::socketpair(family, ty, protocol) {
        Ok(pair) => {
            // SAFETY: the API's `fd` is an `int[2]`, and it is not null.
            unsafe { store_pair(fd, pair) };
            0
        }
        Err(e) => status(Err(e)),
    }
}

/// `evutil_ersatz_socketpair_`: a connected pair of TCP sockets over the
/// loopback interface, for systems without `socketpair` (libevent's own
/// fallback, exported for its tests).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_ersatz_socketpair_(family: c_int, ty: c_int, protocol: c_int, fd: *mut c_int) -> c_int {
    if protocol != 0 || (family != libc::AF_INET && family != libc::AF_UNIX) {
        sys::set_errno(libc::EAFNOSUPPORT);
        return -1;
    }
    if fd.is_null() {
        sys::set_errno(libc::EINVAL);
        return -1;
    }
    if ty != libc::SOCK_STREAM {
        // Only a stream can be listened on and accepted.
        sys::set_errno(libc::EOPNOTSUPP);
        return -1;
    }
    match loopback_pair() {
        Ok(pair) => {
            // SAFETY: the API's `fd` is an `int[2]`, and it is not null.
            unsafe { store_pair(fd, pair) };
            0
        }
        Err(e) => status(Err(e.raw_os_error().unwrap_or(libc::ECONNABORTED))),
    }
}

/// A TCP connection to ourselves on 127.0.0.1: `[connector, acceptor]`.
fn loopback_pair() -> std::io::Result<[c_int; 2]> {
    use std::net::{Ipv4Addr, TcpListener, TcpStream};
    use std::os::fd::IntoRawFd;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let connector = TcpStream::connect(listener.local_addr()?)?;
    let (acceptor, peer) = listener.accept()?;
    // Someone else may have connected first: check it is our own socket.
    if peer != connector.local_addr()? {
        return Err(std::io::Error::from_raw_os_error(libc::ECONNABORTED));
    }
    Ok([connector.into_raw_fd(), acceptor.into_raw_fd()])
}

/// `evutil_closesocket`: `close(2)`.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_closesocket(sock: c_int) -> c_int {
    status(sys::close(sock))
}

/// Adds `flag` to the flags `get`/`set` read and write, warning as
/// libevent does (`fcntl(7, F_GETFL): <error>`) when a call fails.
fn add_fd_flag(fd: c_int, (get, get_name): (c_int, &str), (set, set_name): (c_int, &str), flag: c_int) -> c_int {
    let flags = match sys::fcntl_get(fd, get) {
        Ok(flags) => flags,
        Err(e) => {
            log::warn_errno(e, format_args!("fcntl({fd}, {get_name})"));
            return status(Err(e));
        }
    };
    if flags & flag != 0 {
        return 0;
    }
    if let Err(e) = sys::fcntl_set(fd, set, flags | flag) {
        log::warn_errno(e, format_args!("fcntl({fd}, {set_name})"));
        return status(Err(e));
    }
    0
}

/// `evutil_make_socket_nonblocking`: sets `O_NONBLOCK`.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_make_socket_nonblocking(fd: c_int) -> c_int {
    add_fd_flag(
        fd,
        (libc::F_GETFL, "F_GETFL"),
        (libc::F_SETFL, "F_SETFL"),
        libc::O_NONBLOCK,
    )
}

/// `evutil_make_socket_closeonexec`: sets `FD_CLOEXEC`.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_make_socket_closeonexec(fd: c_int) -> c_int {
    add_fd_flag(
        fd,
        (libc::F_GETFD, "F_GETFD"),
        (libc::F_SETFD, "F_SETFD"),
        libc::FD_CLOEXEC,
    )
}

/// Both flags on a fresh fd, closing it if either cannot be set.
fn nonblock_cloexec_or_close(fd: c_int, nonblock: bool, cloexec: bool) -> c_int {
    let failed =
        (nonblock && evutil_make_socket_nonblocking(fd) < 0) || (cloexec && evutil_make_socket_closeonexec(fd) < 0);
    if failed {
        let e = sys::errno();
        let _ = sys::close(fd);
        sys::set_errno(e);
        return -1;
    }
    fd
}

/// A socket option as `(level, name)`; `None` where the OS lacks it.
type SockOpt = Option<(c_int, c_int)>;

/// `SO_REUSEPORT`, which libevent sets on Linux only.
#[cfg(any(target_os = "linux", target_os = "android"))]
const REUSEPORT: SockOpt = Some((libc::SOL_SOCKET, libc::SO_REUSEPORT));
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const REUSEPORT: SockOpt = None;

/// `TCP_DEFER_ACCEPT`, Linux's.
#[cfg(any(target_os = "linux", target_os = "android"))]
const DEFER_ACCEPT: SockOpt = Some((libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT));
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const DEFER_ACCEPT: SockOpt = None;

/// Turns an `int` socket option on; an option the OS lacks succeeds
/// doing nothing, as in libevent.
fn enable_option(sock: c_int, option: SockOpt) -> c_int {
    option.map_or(0, |(level, name)| status(sys::setsockopt_int(sock, level, name, 1)))
}

/// `evutil_make_listen_socket_reuseable`: `SO_REUSEADDR`, so that a
/// restarted server can bind its port at once.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_make_listen_socket_reuseable(sock: c_int) -> c_int {
    enable_option(sock, Some((libc::SOL_SOCKET, libc::SO_REUSEADDR)))
}

/// `evutil_make_listen_socket_reuseable_port`: `SO_REUSEPORT` (several
/// listeners on one port).
#[unsafe(no_mangle)]
pub extern "C" fn evutil_make_listen_socket_reuseable_port(sock: c_int) -> c_int {
    enable_option(sock, REUSEPORT)
}

/// `evutil_make_listen_socket_ipv6only`: `IPV6_V6ONLY`.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_make_listen_socket_ipv6only(sock: c_int) -> c_int {
    enable_option(sock, Some((libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)))
}

/// `evutil_make_tcp_listen_socket_deferred`: `TCP_DEFER_ACCEPT` (accept
/// only once data has arrived).
#[unsafe(no_mangle)]
pub extern "C" fn evutil_make_tcp_listen_socket_deferred(sock: c_int) -> c_int {
    enable_option(sock, DEFER_ACCEPT)
}

/// `evutil_socket_geterror`: on Unix a socket's last error is `errno`
/// (the headers make it a macro; the function is for other callers).
#[unsafe(no_mangle)]
pub extern "C" fn evutil_socket_geterror(sock: c_int) -> c_int {
    let _ = sock;
    sys::errno()
}

/// `evutil_socket_error_to_string`: `strerror(errcode)` on Unix.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_socket_error_to_string(errcode: c_int) -> *const c_char {
    sys::strerror_ptr(errcode)
}

/// `evutil_socket_`: `socket(2)` that also honours `EVUTIL_SOCK_NONBLOCK`
/// and `EVUTIL_SOCK_CLOEXEC` in `ty` where the OS does not.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_socket_(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    let flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
    // Where the flags are the OS's own, one call does it all.
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    match sys::socket(domain, ty, protocol) {
        Ok(fd) => return fd,
        Err(e) if ty & flags == 0 => return fd_or_minus_one(Err(e)),
        Err(_) => {}
    }
    let fd = match sys::socket(domain, ty & !flags, protocol) {
        Ok(fd) => fd,
        Err(e) => return fd_or_minus_one(Err(e)),
    };
    nonblock_cloexec_or_close(fd, ty & SOCK_NONBLOCK != 0, ty & SOCK_CLOEXEC != 0)
}

/// `evutil_accept4_`: `accept4(2)` with `EVUTIL_SOCK_*` flags, falling
/// back to `accept` and `fcntl` where `accept4` is missing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_accept4_(
    sockfd: c_int,
    addr: *mut libc::sockaddr,
    addrlen: *mut libc::socklen_t,
    flags: c_int,
) -> c_int {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    {
        // SAFETY: the caller's pointers, as accept(2) requires them.
        match unsafe { sys::accept4(sockfd, addr, addrlen, flags) } {
            Ok(fd) => return fd,
            // Unknown flags or no such call: fall back below.
            Err(libc::EINVAL | libc::ENOSYS) => {}
            Err(e) => return fd_or_minus_one(Err(e)),
        }
    }
    // SAFETY: the caller's pointers, as accept(2) requires them.
    let fd = match unsafe { sys::accept(sockfd, addr, addrlen) } {
        Ok(fd) => fd,
        Err(e) => return fd_or_minus_one(Err(e)),
    };
    nonblock_cloexec_or_close(fd, flags & SOCK_NONBLOCK != 0, flags & SOCK_CLOEXEC != 0)
}

/// `evutil_socket_connect_`: starts a connection, making a non-blocking
/// stream socket first if `*fd_ptr` is negative. Returns 1 when
/// connected, 0 when in progress, 2 when refused, -1 on error (a socket
/// it made is closed again and `*fd_ptr` reset to -1).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_socket_connect_(
    fd_ptr: *mut c_int,
    sa: *const libc::sockaddr,
    socklen: c_int,
) -> c_int {
    if fd_ptr.is_null() || sa.is_null() {
        log::warn(format_args!("evutil_socket_connect_: null argument"));
        return -1;
    }
    // SAFETY: the caller passes a valid, writable fd slot.
    let fd_slot = unsafe { &mut *fd_ptr };
    let made = *fd_slot < 0;
    if made {
        // SAFETY: the caller passes a readable sockaddr.
        let family = c_int::from(unsafe { (*sa).sa_family });
        match sys::socket(family, libc::SOCK_STREAM, 0) {
            Ok(fd) => *fd_slot = fd,
            Err(e) => return status(Err(e)),
        }
        if evutil_make_socket_nonblocking(*fd_slot) < 0 {
            return forget_made_socket(fd_slot);
        }
    }
    let len = libc::socklen_t::try_from(socklen).unwrap_or(0);
    // SAFETY: the caller passes a sockaddr readable for `socklen` bytes.
    match unsafe { sys::connect(*fd_slot, sa, len) } {
        Ok(()) => 1,
        Err(libc::EINTR | libc::EINPROGRESS) => 0,
        Err(libc::ECONNREFUSED) => 2,
        Err(e) if made => {
            sys::set_errno(e);
            forget_made_socket(fd_slot)
        }
        Err(e) => status(Err(e)),
    }
}

/// Closes a socket `evutil_socket_connect_` made and could not use.
fn forget_made_socket(fd_slot: &mut c_int) -> c_int {
    let e = sys::errno();
    let _ = sys::close(*fd_slot);
    *fd_slot = -1;
    sys::set_errno(e);
    -1
}

/// `evutil_socket_finished_connecting_`: 1 when a non-blocking connect
/// has completed, 0 when still in progress, -1 with `errno` set to the
/// connection's error.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_socket_finished_connecting_(fd: c_int) -> c_int {
    match sys::socket_error(fd) {
        Err(e) => status(Err(e)),
        Ok(0) => 1,
        Ok(libc::EINTR | libc::EINPROGRESS) => 0,
        Ok(e) => status(Err(e)),
    }
}

/// `evutil_make_internal_pipe_`: a pair where writes to `fd[1]` are read
/// from `fd[0]`, both non-blocking and close-on-exec: a pipe, else a
/// socket pair. On failure both are -1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_make_internal_pipe_(fd: *mut c_int) -> c_int {
    if fd.is_null() {
        sys::set_errno(libc::EINVAL);
        return -1;
    }
    let pair = internal_pipe();
    // SAFETY: the API's `fd` is an `int[2]`, and it is not null.
    unsafe { store_pair(fd, pair.unwrap_or([-1, -1])) };
    if pair.is_some() { 0 } else { -1 }
}

fn internal_pipe() -> Option<[c_int; 2]> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    if let Ok(pair) = sys::pipe2(libc::O_NONBLOCK | libc::O_CLOEXEC) {
        return Some(pair);
    }
    let pair = match sys::pipe() {
        Ok(pair) => pair,
        Err(e) => {
            log::warn_errno(e, format_args!("evutil_make_internal_pipe_: pipe"));
            sys::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0).ok()?
        }
    };
    for end in pair {
        if nonblock_cloexec_or_close(end, true, true) < 0 {
            close_pair(pair);
            return None;
        }
    }
    Some(pair)
}

/// `evutil_eventfd_`: an eventfd, with `EFD_NONBLOCK`/`EFD_CLOEXEC` set
/// by hand on kernels too old for the flags; -1 where there is none.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_eventfd_(initval: c_uint, flags: c_int) -> c_int {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        match sys::eventfd(initval, flags) {
            Ok(fd) => return fd,
            Err(e) if flags == 0 => return fd_or_minus_one(Err(e)),
            Err(_) => {}
        }
        let fd = match sys::eventfd(initval, 0) {
            Ok(fd) => fd,
            Err(e) => return fd_or_minus_one(Err(e)),
        };
        nonblock_cloexec_or_close(fd, flags & libc::EFD_NONBLOCK != 0, flags & libc::EFD_CLOEXEC != 0)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (initval, flags);
        -1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(fd: c_int, get: c_int) -> c_int {
        sys::fcntl_get(fd, get).expect("fd is open")
    }

    fn round_trip(pair: [c_int; 2]) {
        assert_eq!(sys_write(pair[1], b"ping"), 4);
        let mut buf = [0u8; 8];
        assert_eq!(sys::read(pair[0], &mut buf), Ok(4));
        assert_eq!(&buf[..4], b"ping");
    }

    fn sys_write(fd: c_int, data: &[u8]) -> isize {
        // SAFETY: `data` is readable for its length.
        unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) }
    }

    #[test]
    fn socketpair_round_trip() {
        let mut pair = [-1; 2];
        // SAFETY: `pair` is an int[2].
        let r = unsafe { evutil_socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, pair.as_mut_ptr()) };
        assert_eq!(r, 0);
        round_trip(pair);
        round_trip([pair[1], pair[0]]);
        assert_eq!(evutil_closesocket(pair[0]), 0);
        assert_eq!(evutil_closesocket(pair[1]), 0);
        assert_eq!(evutil_closesocket(pair[1]), -1);
        assert_eq!(sys::errno(), libc::EBADF);
    }

    #[test]
    fn socketpair_rejects_null() {
        // SAFETY: null is the case under test.
        let r = unsafe { evutil_socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, core::ptr::null_mut()) };
        assert_eq!(r, -1);
        assert_eq!(sys::errno(), libc::EINVAL);
    }

    #[test]
    fn ersatz_socketpair_round_trip() {
        let mut pair = [-1; 2];
        // SAFETY: `pair` is an int[2].
        let r = unsafe { evutil_ersatz_socketpair_(libc::AF_INET, libc::SOCK_STREAM, 0, pair.as_mut_ptr()) };
        assert_eq!(r, 0);
        round_trip(pair);
        round_trip([pair[1], pair[0]]);
        close_pair(pair);
        // SAFETY: `pair` is an int[2].
        let r = unsafe { evutil_ersatz_socketpair_(libc::AF_INET6, libc::SOCK_STREAM, 0, pair.as_mut_ptr()) };
        assert_eq!((r, sys::errno()), (-1, libc::EAFNOSUPPORT));
    }

    #[test]
    fn nonblocking_and_closeonexec_flags_are_set() {
        let pair = sys::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0).expect("socketpair");
        assert_eq!(flags(pair[0], libc::F_GETFL) & libc::O_NONBLOCK, 0);
        assert_eq!(evutil_make_socket_nonblocking(pair[0]), 0);
        assert_ne!(flags(pair[0], libc::F_GETFL) & libc::O_NONBLOCK, 0);
        // Already set: still fine.
        assert_eq!(evutil_make_socket_nonblocking(pair[0]), 0);
        assert_eq!(evutil_make_socket_closeonexec(pair[0]), 0);
        assert_ne!(flags(pair[0], libc::F_GETFD) & libc::FD_CLOEXEC, 0);
        close_pair(pair);
        assert_eq!(evutil_make_socket_nonblocking(pair[0]), -1);
        assert_eq!(sys::errno(), libc::EBADF);
    }

    #[test]
    fn internal_pipe_is_nonblocking_and_closeonexec() {
        let mut pair = [-1; 2];
        // SAFETY: `pair` is an int[2].
        assert_eq!(unsafe { evutil_make_internal_pipe_(pair.as_mut_ptr()) }, 0);
        for fd in pair {
            assert_ne!(flags(fd, libc::F_GETFL) & libc::O_NONBLOCK, 0);
            assert_ne!(flags(fd, libc::F_GETFD) & libc::FD_CLOEXEC, 0);
        }
        round_trip(pair);
        close_pair(pair);
    }

    #[test]
    fn socket_honours_the_flags() {
        let fd = evutil_socket_(libc::AF_INET, libc::SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        assert_ne!(flags(fd, libc::F_GETFL) & libc::O_NONBLOCK, 0);
        assert_ne!(flags(fd, libc::F_GETFD) & libc::FD_CLOEXEC, 0);
        assert_eq!(evutil_make_listen_socket_reuseable(fd), 0);
        assert_eq!(evutil_make_listen_socket_reuseable_port(fd), 0);
        assert_eq!(evutil_make_tcp_listen_socket_deferred(fd), 0);
        assert_eq!(evutil_closesocket(fd), 0);
    }

    #[test]
    fn connect_to_a_listener_and_accept() {
        use std::net::{Ipv4Addr, TcpListener};
        use std::os::fd::AsRawFd;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(Ipv4Addr::LOCALHOST).to_be(),
            },
            sin_zero: [0; 8],
        };
        let mut fd = -1;
        let len = core::mem::size_of::<libc::sockaddr_in>() as c_int;
        // SAFETY: `fd` is writable, `sin` a sockaddr_in of `len` bytes.
        let r = unsafe { evutil_socket_connect_(&mut fd, (&raw const sin).cast(), len) };
        assert!(r == 0 || r == 1, "{r}");
        assert!(fd >= 0);
        // SAFETY: null address and length are allowed.
        let accepted = unsafe {
            evutil_accept4_(
                listener.as_raw_fd(),
                core::ptr::null_mut(),
                core::ptr::null_mut(),
                SOCK_CLOEXEC,
            )
        };
        assert!(accepted >= 0);
        assert_ne!(flags(accepted, libc::F_GETFD) & libc::FD_CLOEXEC, 0);
        // Accepted: the connection has completed.
        assert_eq!(evutil_socket_finished_connecting_(fd), 1);
        close_pair([fd, accepted]);
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn eventfd_with_flags() {
        let fd = evutil_eventfd_(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC);
        assert!(fd >= 0);
        assert_ne!(flags(fd, libc::F_GETFL) & libc::O_NONBLOCK, 0);
        assert_eq!(evutil_closesocket(fd), 0);
    }
}
