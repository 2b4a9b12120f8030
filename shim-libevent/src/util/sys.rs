//! The OS calls of the utility functions, each a safe, typed view of one
//! libc call: arrays and slices instead of pointers, `Err(errno)` instead
//! of `-1`. Calls that pass a C caller's own pointers straight through
//! (`accept`, `connect`) stay `unsafe fn` with the syscall's contract.
//!
//! Functions that take an fd number do not own it: a wrong number may
//! close or read someone else's fd, but is never memory-unsafe.

use core::ffi::{CStr, c_char, c_int, c_uint, c_void};
use core::fmt;

/// An OS error code (`errno`).
pub(crate) type Errno = c_int;

/// `Ok(r)`, or `Err(errno)` when a libc call answered `-1`.
fn check<T: PartialEq + From<i8>>(r: T) -> Result<T, Errno> {
    if r == T::from(-1) { Err(errno()) } else { Ok(r) }
}

/// `errno` of the calling thread.
pub(crate) fn errno() -> Errno {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Sets `errno`, as libevent does before answering `-1` or `NULL`.
pub(crate) fn set_errno(value: Errno) {
    // SAFETY: errno_location has no preconditions and returns the calling
    // thread's errno, valid while the thread lives.
    unsafe { *errno_location() = value }
}

#[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
use libc::__errno as errno_location;
#[cfg(any(target_os = "linux", target_os = "android"))]
use libc::__errno_location as errno_location;
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
use libc::__error as errno_location;

/// `strerror(e)`, copied out of libc's shared buffer so that it can be
/// formatted later and from any thread.
pub(crate) struct ErrorText([u8; 128]);

/// The text `strerror` gives for `e`.
pub(crate) fn error_text(e: Errno) -> ErrorText {
    let mut buf = [0u8; 128];
    // SAFETY: `buf` is valid for writes of its length; the XSI strerror_r
    // always NUL-terminates within it.
    unsafe { libc::strerror_r(e, buf.as_mut_ptr().cast(), buf.len()) };
    ErrorText(buf)
}

impl fmt::Display for ErrorText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = CStr::from_bytes_until_nul(&self.0).unwrap_or_default();
        f.write_str(&text.to_string_lossy())
    }
}

/// `strerror(e)` itself, for C callers that want libc's pointer.
pub(crate) fn strerror_ptr(e: Errno) -> *const c_char {
    // SAFETY: strerror accepts any value and returns a valid C string.
    unsafe { libc::strerror(e) }
}

// ---------------------------------------------------------------- fds

/// `close(fd)`.
pub(crate) fn close(fd: c_int) -> Result<(), Errno> {
    // SAFETY: closing an fd number has no memory-safety precondition.
    check(unsafe { libc::close(fd) }).map(drop)
}

/// `fcntl(fd, get)` for `F_GETFL` or `F_GETFD`.
pub(crate) fn fcntl_get(fd: c_int, get: c_int) -> Result<c_int, Errno> {
    // SAFETY: the F_GET* commands take no pointer argument.
    check(unsafe { libc::fcntl(fd, get) })
}

/// `fcntl(fd, set, flags)` for `F_SETFL` or `F_SETFD`.
pub(crate) fn fcntl_set(fd: c_int, set: c_int, flags: c_int) -> Result<(), Errno> {
    // SAFETY: the F_SET* commands take an integer argument only.
    check(unsafe { libc::fcntl(fd, set, flags) }).map(drop)
}

/// `read(fd, buf)`.
pub(crate) fn read(fd: c_int, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let n = check(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })?;
    Ok(n as usize)
}

/// `open(path, flags, mode)`.
pub(crate) fn open(path: &CStr, flags: c_int, mode: c_uint) -> Result<c_int, Errno> {
    // SAFETY: `path` is a valid C string; `mode` is passed as the variadic
    // argument open(2) reads when O_CREAT is set.
    check(unsafe { libc::open(path.as_ptr(), flags, mode) })
}

/// The size `fstat(fd)` reports.
pub(crate) fn file_size(fd: c_int) -> Result<i64, Errno> {
    // SAFETY: an all-zero stat is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `st` is valid for writes.
    check(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st.st_size as i64)
}

/// `pipe2(flags)`: `[read end, write end]`.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub(crate) fn pipe2(flags: c_int) -> Result<[c_int; 2], Errno> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), flags) })?;
    Ok(fds)
}

/// `pipe()`: `[read end, write end]`.
pub(crate) fn pipe() -> Result<[c_int; 2], Errno> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two fds pipe writes.
    check(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
    Ok(fds)
}

/// `eventfd(initval, flags)`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn eventfd(initval: c_uint, flags: c_int) -> Result<c_int, Errno> {
    // SAFETY: no pointer arguments.
    check(unsafe { libc::eventfd(initval, flags) })
}

// ---------------------------------------------------------------- sockets

/// `socket(domain, ty, protocol)`.
pub(crate) fn socket(domain: c_int, ty: c_int, protocol: c_int) -> Result<c_int, Errno> {
    // SAFETY: no pointer arguments.
    check(unsafe { libc::socket(domain, ty, protocol) })
}

/// `socketpair(family, ty, protocol)`.
pub(crate) fn socketpair(family: c_int, ty: c_int, protocol: c_int) -> Result<[c_int; 2], Errno> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two fds socketpair writes.
    check(unsafe { libc::socketpair(family, ty, protocol, fds.as_mut_ptr()) })?;
    Ok(fds)
}

/// `setsockopt(fd, level, name, &value)` for an `int` option.
pub(crate) fn setsockopt_int(fd: c_int, level: c_int, name: c_int, value: c_int) -> Result<(), Errno> {
    let len = core::mem::size_of::<c_int>() as libc::socklen_t;
    // SAFETY: `value` is a readable int of the length given.
    check(unsafe { libc::setsockopt(fd, level, name, (&raw const value).cast::<c_void>(), len) }).map(drop)
}

/// The pending error of a socket (`SO_ERROR`), which reading clears.
pub(crate) fn socket_error(fd: c_int) -> Result<c_int, Errno> {
    let mut value: c_int = 0;
    let mut len = core::mem::size_of::<c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes; `len` is its size.
    check(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut value).cast::<c_void>(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// `accept4(fd, addr, len, flags)`.
///
/// # Safety
/// As accept(2): `addr` is null or writable for `*len` bytes, and `len` is
/// null (only with a null `addr`) or a valid `socklen_t`.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub(crate) unsafe fn accept4(
    fd: c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    flags: c_int,
) -> Result<c_int, Errno> {
    // SAFETY: the caller upholds accept(2)'s pointer contract.
    check(unsafe { libc::accept4(fd, addr, len, flags) })
}

/// `accept(fd, addr, len)`.
///
/// # Safety
/// As [`accept4`].
pub(crate) unsafe fn accept(fd: c_int, addr: *mut libc::sockaddr, len: *mut libc::socklen_t) -> Result<c_int, Errno> {
    // SAFETY: the caller upholds accept(2)'s pointer contract.
    check(unsafe { libc::accept(fd, addr, len) })
}

/// `connect(fd, addr, len)`.
///
/// # Safety
/// As connect(2): `addr` is readable for `len` bytes.
pub(crate) unsafe fn connect(fd: c_int, addr: *const libc::sockaddr, len: libc::socklen_t) -> Result<(), Errno> {
    // SAFETY: the caller upholds connect(2)'s pointer contract.
    check(unsafe { libc::connect(fd, addr, len) }).map(drop)
}

// ---------------------------------------------------------------- time

/// `clock_gettime(clock)`.
pub(crate) fn clock_gettime(clock: libc::clockid_t) -> Result<libc::timespec, Errno> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is valid for writes.
    check(unsafe { libc::clock_gettime(clock, &mut ts) })?;
    Ok(ts)
}

/// `gettimeofday()`: the wall clock.
pub(crate) fn gettimeofday() -> Result<libc::timeval, Errno> {
    let mut tv = libc::timeval { tv_sec: 0, tv_usec: 0 };
    // SAFETY: `tv` is valid for writes; a null timezone is allowed.
    check(unsafe { libc::gettimeofday(&mut tv, core::ptr::null_mut()) })?;
    Ok(tv)
}

/// `nanosleep(ts)`, once: an interrupted sleep is not resumed.
pub(crate) fn nanosleep(ts: &libc::timespec) -> Result<(), Errno> {
    // SAFETY: `ts` is a valid timespec; a null remainder is allowed.
    check(unsafe { libc::nanosleep(ts, core::ptr::null_mut()) }).map(drop)
}

/// The current UTC calendar time.
pub(crate) fn gmtime_now() -> Option<libc::tm> {
    // SAFETY: a null argument only asks for the current time.
    let now = unsafe { libc::time(core::ptr::null_mut()) };
    // SAFETY: an all-zero tm is a valid value to be overwritten.
    let mut tm: libc::tm = unsafe { core::mem::zeroed() };
    // SAFETY: both pointers are valid; gmtime_r writes only into `tm`.
    let ok = unsafe { !libc::gmtime_r(&now, &mut tm).is_null() };
    ok.then_some(tm)
}

// ---------------------------------------------------------------- process

/// `getpid()`.
pub(crate) fn getpid() -> c_int {
    // SAFETY: no preconditions.
    unsafe { libc::getpid() }
}

/// Whether the real and effective user or group ids differ: a setuid or
/// setgid program, whose environment is not to be trusted.
pub(crate) fn is_setugid() -> bool {
    // SAFETY: these calls have no preconditions and cannot fail.
    unsafe { libc::getuid() != libc::geteuid() || libc::getgid() != libc::getegid() }
}

/// `getenv(name)`: the environment's own string, or null.
pub(crate) fn getenv(name: &CStr) -> *const c_char {
    // SAFETY: `name` is a valid C string.
    unsafe { libc::getenv(name.as_ptr()) }
}

/// Fills as much of `buf` as the kernel's random source gives at once.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn getrandom(buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let n = check(unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) })?;
    Ok(n as usize)
}
