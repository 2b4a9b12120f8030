//! The one syscall wrapper of the crate: every `unsafe` block of evbase-posix
//! is in this file. Each function is a safe, typed view of one libc call:
//! slices instead of pointer and length, `Option<Duration>` instead of a
//! nullable timeout pointer, and `Err(errno)` instead of `-1`.
//!
//! Functions that take an fd number do not own it: passing a number the
//! caller does not own is a logic error (it may close or read someone
//! else's fd) but never memory-unsafe.
#![allow(unsafe_code)]

use core::ffi::c_int;
use core::time::Duration;

/// An OS error code (`errno`).
pub(crate) type Errno = i32;

/// Runs a libc call that returns `-1` and sets `errno` on failure.
macro_rules! syscall {
    ($call:expr) => {{
        let r = $call;
        if r == -1 { Err(errno()) } else { Ok(r) }
    }};
}

/// `errno` of the calling thread.
pub(crate) fn errno() -> Errno {
    // SAFETY: the errno location is valid for the calling thread's lifetime.
    unsafe { *errno_location() }
}

/// Sets `errno` (the signal handler restores what it found).
pub(crate) fn set_errno(value: Errno) {
    // SAFETY: the errno location is valid for the calling thread's lifetime.
    unsafe { *errno_location() = value }
}

#[cfg(any(target_os = "linux", target_os = "dragonfly", target_os = "hurd"))]
fn errno_location() -> *mut c_int {
    // SAFETY: no preconditions; returns the calling thread's errno address.
    unsafe { libc::__errno_location() }
}

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "freebsd"
))]
fn errno_location() -> *mut c_int {
    // SAFETY: no preconditions; returns the calling thread's errno address.
    unsafe { libc::__error() }
}

#[cfg(any(target_os = "netbsd", target_os = "openbsd", target_os = "android"))]
fn errno_location() -> *mut c_int {
    // SAFETY: no preconditions; returns the calling thread's errno address.
    unsafe { libc::__errno() }
}

/// Closes `fd` (errors other than `EBADF` are ignored: the fd is gone
/// either way).
pub(crate) fn close(fd: i32) {
    // SAFETY: closing an fd number has no memory-safety precondition.
    unsafe {
        libc::close(fd);
    }
}

/// Two fds opened ahead of a swap (the read and write ends of a pipe, or
/// one eventfd twice), closed on drop unless [`into_raw`](Self::into_raw)
/// hands them on: what a reinit opens before it closes anything, so that a
/// later failure leaves nothing open.
#[derive(Debug)]
pub(crate) struct FdPair {
    read: i32,
    write: i32,
}

impl FdPair {
    pub(crate) fn new((read, write): (i32, i32)) -> FdPair {
        FdPair { read, write }
    }

    /// The end to watch for readability.
    pub(crate) fn read(&self) -> i32 {
        self.read
    }

    /// Gives up ownership: `(read, write)`.
    pub(crate) fn into_raw(self) -> (i32, i32) {
        let fds = (self.read, self.write);
        core::mem::forget(self);
        fds
    }
}

impl Drop for FdPair {
    fn drop(&mut self) {
        close(self.read);
        if self.write != self.read {
            close(self.write);
        }
    }
}

/// `read(fd, buf)`.
pub(crate) fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let n = syscall!(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })?;
    Ok(n as usize)
}

/// `write(fd, buf)`. Async-signal-safe.
pub(crate) fn write(fd: i32, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
    let n = syscall!(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })?;
    Ok(n as usize)
}

/// `getpid()`. Async-signal-safe.
pub(crate) fn getpid() -> i32 {
    // SAFETY: no preconditions.
    unsafe { libc::getpid() }
}

/// Whether the real and effective user and group ids differ (a setuid or
/// setgid program, where the environment is not trusted).
pub(crate) fn is_setugid() -> bool {
    // SAFETY: these calls have no preconditions and cannot fail.
    unsafe { libc::getuid() != libc::geteuid() || libc::getgid() != libc::getegid() }
}

/// `fcntl(fd, F_GETFD)` succeeds: `fd` is open.
pub(crate) fn is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD takes no pointer argument.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// Sets `O_NONBLOCK` and `FD_CLOEXEC` on `fd`.
#[cfg_attr(
    not(any(target_os = "macos", target_os = "ios", target_os = "tvos", target_os = "watchos")),
    allow(dead_code)
)]
pub(crate) fn set_nonblock_cloexec(fd: i32) -> Result<(), Errno> {
    // SAFETY: F_GETFL/F_SETFL/F_GETFD/F_SETFD take integer arguments only.
    unsafe {
        let fl = syscall!(libc::fcntl(fd, libc::F_GETFL))?;
        syscall!(libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK))?;
        let fd_flags = syscall!(libc::fcntl(fd, libc::F_GETFD))?;
        syscall!(libc::fcntl(fd, libc::F_SETFD, fd_flags | libc::FD_CLOEXEC))?;
    }
    Ok(())
}

/// A non-blocking, close-on-exec pipe: `(read end, write end)`.
pub(crate) fn pipe() -> Result<(i32, i32), Errno> {
    let mut fds = [-1 as c_int; 2];
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    {
        // SAFETY: `fds` has room for the two fds pipe2 writes.
        syscall!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )))]
    {
        // SAFETY: `fds` has room for the two fds pipe writes.
        syscall!(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
        for fd in fds {
            if let Err(e) = set_nonblock_cloexec(fd) {
                close(fds[0]);
                close(fds[1]);
                return Err(e);
            }
        }
    }
    Ok((fds[0], fds[1]))
}

/// A connected `AF_UNIX` stream socket pair, non-blocking and close-on-exec.
pub(crate) fn socketpair() -> Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd), Errno> {
    use std::os::fd::FromRawFd;
    let mut fds = [-1 as c_int; 2];
    #[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "tvos", target_os = "watchos")))]
    {
        let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: `fds` has room for the two fds socketpair writes.
        syscall!(unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) })?;
    }
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "tvos", target_os = "watchos"))]
    {
        // SAFETY: `fds` has room for the two fds socketpair writes.
        syscall!(unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) })?;
        for fd in fds {
            if let Err(e) = set_nonblock_cloexec(fd) {
                close(fds[0]);
                close(fds[1]);
                return Err(e);
            }
        }
    }
    // SAFETY: socketpair just made these two fds; nothing else owns them.
    Ok(unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    })
}

/// Nanoseconds on clock `id`.
pub(crate) fn clock_gettime(id: libc::clockid_t) -> Result<u64, Errno> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write into.
    syscall!(unsafe { libc::clock_gettime(id, &mut ts) })?;
    Ok(nanos(ts))
}

/// A clock reading in nanoseconds, saturating.
#[inline]
fn nanos(ts: libc::timespec) -> u64 {
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// A `timespec` for `d`, saturating at the largest `time_t`.
pub(crate) fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: d.subsec_nanos() as _,
    }
}

// ---------------------------------------------------------------- signals

/// A saved signal disposition.
pub(crate) type SigAction = libc::sigaction;

/// Installs `handler` for `sig` (all signals blocked while it runs,
/// `SA_RESTART`) and returns the disposition it replaces.
pub(crate) fn sigaction_install(sig: i32, handler: extern "C" fn(c_int)) -> Result<SigAction, Errno> {
    // SAFETY: an all-zero sigaction is a valid value (SIG_DFL, empty mask).
    let mut sa: libc::sigaction = unsafe { core::mem::zeroed() };
    sa.sa_sigaction = handler as usize as libc::sighandler_t;
    sa.sa_flags = libc::SA_RESTART;
    // SAFETY: `sa.sa_mask` is a valid sigset_t to fill.
    unsafe { libc::sigfillset(&mut sa.sa_mask) };
    // SAFETY: as above; `old` is written by sigaction before being read.
    let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
    // SAFETY: both pointers are valid sigaction structs; the handler is an
    // `extern "C" fn(c_int)` that only performs async-signal-safe work.
    syscall!(unsafe { libc::sigaction(sig, &sa, &mut old) })?;
    Ok(old)
}

/// Puts back a disposition saved by [`sigaction_install`].
pub(crate) fn sigaction_restore(sig: i32, saved: &SigAction) -> Result<(), Errno> {
    // SAFETY: `saved` came from the kernel, so it is a valid disposition.
    syscall!(unsafe { libc::sigaction(sig, saved, core::ptr::null_mut()) })?;
    Ok(())
}

/// The handler address currently installed for `sig` (`SIG_DFL` is 0,
/// `SIG_IGN` 1).
pub(crate) fn sigaction_current(sig: i32) -> Result<usize, Errno> {
    // SAFETY: an all-zero sigaction is a valid value to be overwritten.
    let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
    // SAFETY: a null new action only queries; `old` is valid for writes.
    syscall!(unsafe { libc::sigaction(sig, core::ptr::null(), &mut old) })?;
    Ok(old.sa_sigaction as usize)
}

// ---------------------------------------------------------------- poll

/// `poll` (`ppoll` on Linux, for nanosecond timeouts): the number of
/// entries with events.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> Result<usize, Errno> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let ts = timeout.map(timespec);
        let tsp = ts.as_ref().map_or(core::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `fds` is valid for `fds.len()` entries; `tsp` is null or
        // points to a live timespec; a null sigmask keeps the mask.
        let n = syscall!(unsafe { libc::ppoll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, tsp, core::ptr::null()) })?;
        Ok(n as usize)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let ms = timeout.map_or(-1, |d| {
            crate::clock::millis_up(evbase_core::duration_nanos(d), i32::MAX as u64) as c_int
        });
        // SAFETY: `fds` is valid for `fds.len()` entries.
        let n = syscall!(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) })?;
        Ok(n as usize)
    }
}

// ---------------------------------------------------------------- select

/// One word of an fd set, as the kernel lays it out.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) type FdWord = libc::c_ulong;
/// One word of an fd set, as the kernel lays it out.
#[cfg(all(target_pointer_width = "64", any(target_os = "freebsd", target_os = "dragonfly")))]
pub(crate) type FdWord = u64;
/// One word of an fd set, as the kernel lays it out.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    all(target_pointer_width = "64", any(target_os = "freebsd", target_os = "dragonfly"))
)))]
pub(crate) type FdWord = u32;

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "tvos", target_os = "watchos"))]
unsafe extern "C" {
    /// Darwin's `select` without the `FD_SETSIZE` limit (what
    /// `_DARWIN_UNLIMITED_SELECT` selects).
    #[link_name = "select$DARWIN_EXTSN"]
    fn select_unlimited(
        nfds: c_int,
        readfds: *mut libc::fd_set,
        writefds: *mut libc::fd_set,
        errorfds: *mut libc::fd_set,
        timeout: *mut libc::timeval,
    ) -> c_int;
}

/// `select(nfds, read, write, NULL, timeout)` on caller-sized bit arrays
/// (they may be larger than `FD_SETSIZE`). Both arrays must hold at least
/// `nfds` bits.
pub(crate) fn select(
    nfds: usize,
    read: &mut [FdWord],
    write: &mut [FdWord],
    timeout: Option<Duration>,
) -> Result<usize, Errno> {
    let bits = FdWord::BITS as usize;
    let words = nfds.div_ceil(bits);
    if read.len() < words || write.len() < words || nfds > c_int::MAX as usize {
        return Err(libc::EINVAL);
    }
    let mut tv = timeout.map(|d| {
        // Round up to whole microseconds: never wake early.
        let us = d.subsec_nanos().div_ceil(1000);
        let (secs, us) = if us == 1_000_000 {
            (d.as_secs().saturating_add(1), 0)
        } else {
            (d.as_secs(), us)
        };
        libc::timeval {
            tv_sec: libc::time_t::try_from(secs).unwrap_or(libc::time_t::MAX),
            tv_usec: us as _,
        }
    });
    let tvp = tv.as_mut().map_or(core::ptr::null_mut(), |t| t as *mut libc::timeval);
    let (r, w) = (
        read.as_mut_ptr().cast::<libc::fd_set>(),
        write.as_mut_ptr().cast::<libc::fd_set>(),
    );
    #[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "tvos", target_os = "watchos")))]
    // SAFETY: both arrays hold at least `nfds` bits in the kernel's word
    // layout, which is all the kernel reads or writes; `tvp` is null or live.
    let n = syscall!(unsafe { libc::select(nfds as c_int, r, w, core::ptr::null_mut(), tvp) })?;
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "tvos", target_os = "watchos"))]
    // SAFETY: as above; the DARWIN_EXTSN variant reads `nfds` bits.
    let n = syscall!(unsafe { select_unlimited(nfds as c_int, r, w, core::ptr::null_mut(), tvp) })?;
    Ok(n as usize)
}

// ---------------------------------------------------------------- Linux: epoll, eventfd, timerfd

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use linux::*;

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use super::{Errno, errno, timespec};
    use core::time::Duration;

    /// A zeroed epoll event array entry.
    pub(crate) const EPOLL_EVENT_ZERO: libc::epoll_event = libc::epoll_event { events: 0, u64: 0 };

    /// `epoll_create1(EPOLL_CLOEXEC)`.
    pub(crate) fn epoll_create() -> Result<i32, Errno> {
        // SAFETY: no pointer arguments.
        syscall!(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })
    }

    /// `epoll_ctl(epfd, op, fd, {events, data})`.
    pub(crate) fn epoll_ctl(epfd: i32, op: i32, fd: i32, events: u32, data: u64) -> Result<(), Errno> {
        let mut ev = libc::epoll_event { events, u64: data };
        // SAFETY: `ev` is a valid epoll_event (ignored for DEL on new kernels).
        syscall!(unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) })?;
        Ok(())
    }

    /// `epoll_wait` with a millisecond timeout (-1: forever).
    pub(crate) fn epoll_wait(epfd: i32, events: &mut [libc::epoll_event], ms: i32) -> Result<usize, Errno> {
        let max = events.len().min(i32::MAX as usize) as i32;
        // SAFETY: `events` is valid for `max` entries.
        let n = syscall!(unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), max, ms) })?;
        Ok(n as usize)
    }

    /// `epoll_pwait2` (Linux 5.11) with a nanosecond timeout, through the
    /// raw syscall so that a kernel without it answers `ENOSYS` at run time.
    pub(crate) fn epoll_pwait2(
        epfd: i32,
        events: &mut [libc::epoll_event],
        timeout: Option<Duration>,
    ) -> Result<usize, Errno> {
        let max = events.len().min(i32::MAX as usize) as libc::c_int;
        let ts = timeout.map(timespec);
        let tsp = ts.as_ref().map_or(core::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `events` is valid for `max` entries; `tsp` is null or a live
        // timespec; a null sigmask with size 0 leaves the mask alone.
        let n = syscall!(unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                epfd as libc::c_long,
                events.as_mut_ptr(),
                max as libc::c_long,
                tsp,
                core::ptr::null::<libc::sigset_t>(),
                0 as libc::c_long,
            )
        })?;
        Ok(n as usize)
    }

    /// A non-blocking, close-on-exec eventfd.
    pub(crate) fn eventfd() -> Result<i32, Errno> {
        // SAFETY: no pointer arguments.
        syscall!(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })
    }

    /// A non-blocking, close-on-exec timerfd on `CLOCK_MONOTONIC`.
    pub(crate) fn timerfd() -> Result<i32, Errno> {
        // SAFETY: no pointer arguments.
        syscall!(unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) })
    }

    /// Arms `fd` to expire once after `after`, or disarms it (`None`).
    /// Either way its expiry count is reset, so it is no longer readable.
    pub(crate) fn timerfd_set(fd: i32, after: Option<Duration>) -> Result<(), Errno> {
        let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // A zero it_value disarms; a tiny positive one fires at once.
        let value = match after {
            Some(d) if d.is_zero() => libc::timespec { tv_sec: 0, tv_nsec: 1 },
            Some(d) => timespec(d),
            None => zero,
        };
        let spec = libc::itimerspec {
            it_interval: zero,
            it_value: value,
        };
        // SAFETY: `spec` is valid; a null old-value pointer is allowed.
        syscall!(unsafe { libc::timerfd_settime(fd, 0, &spec, core::ptr::null_mut()) })?;
        Ok(())
    }
}

// ---------------------------------------------------------------- Linux: io_uring

/// Queues `entry` in `ring`'s submission queue; false when it is full.
#[cfg(io_uring)]
pub(crate) fn uring_push(ring: &mut io_uring::IoUring, entry: &io_uring::squeue::Entry) -> bool {
    // SAFETY: the entries evbase queues (poll add and poll remove) point to
    // no memory: nothing has to outlive their submission.
    unsafe { ring.submission().push(entry).is_ok() }
}

// ---------------------------------------------------------------- kqueue

#[cfg(kqueue)]
pub(crate) use bsd::*;

#[cfg(kqueue)]
mod bsd {
    use super::{Errno, errno, timespec};
    use core::time::Duration;

    /// A kevent with every field zero.
    pub(crate) fn kevent_zero() -> libc::kevent {
        // SAFETY: kevent is plain old data; all-zero is a valid value.
        unsafe { core::mem::zeroed() }
    }

    /// A close-on-exec kqueue.
    pub(crate) fn kqueue() -> Result<i32, Errno> {
        // SAFETY: no arguments.
        let kq = syscall!(unsafe { libc::kqueue() })?;
        // SAFETY: F_GETFD/F_SETFD take integer arguments only.
        unsafe {
            let fl = libc::fcntl(kq, libc::F_GETFD);
            if fl != -1 {
                libc::fcntl(kq, libc::F_SETFD, fl | libc::FD_CLOEXEC);
            }
        }
        Ok(kq)
    }

    /// `kevent(kq, changes, events, timeout)`: applies `changes`, then waits
    /// up to `timeout` (`None`: forever) for `events`.
    pub(crate) fn kevent(
        kq: i32,
        changes: &[libc::kevent],
        events: &mut [libc::kevent],
        timeout: Option<Duration>,
    ) -> Result<usize, Errno> {
        let ts = timeout.map(timespec);
        let tsp = ts.as_ref().map_or(core::ptr::null(), |t| t as *const libc::timespec);
        let nchanges = changes.len().min(i32::MAX as usize) as _;
        let nevents = events.len().min(i32::MAX as usize) as _;
        // SAFETY: both arrays are valid for the lengths passed; `tsp` is null
        // or a live timespec.
        let n = syscall!(unsafe { libc::kevent(kq, changes.as_ptr(), nchanges, events.as_mut_ptr(), nevents, tsp) })?;
        Ok(n as usize)
    }
}

// ---------------------------------------------------------------- fork

unsafe extern "C" {
    /// POSIX `pthread_atfork` (declared here: the libc crate lacks it on
    /// Linux). glibc has it in libc since 2.34; musl and the BSDs always.
    #[link_name = "pthread_atfork"]
    fn posix_pthread_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> c_int;
}

/// Registers `child` to run in the child after every `fork`.
pub(crate) fn atfork_child(child: extern "C" fn()) -> Result<(), Errno> {
    // SAFETY: the handler is a plain `extern "C" fn()`; null prepare and
    // parent handlers are allowed.
    match unsafe { posix_pthread_atfork(None, None, Some(child)) } {
        0 => Ok(()),
        code => Err(code),
    }
}
