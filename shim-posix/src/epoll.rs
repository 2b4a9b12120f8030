//! The epoll backend (libevent's `epoll.c`), with and without the
//! changelist.
//!
//! An fd's old and new interest give the `epoll_ctl` operation: ADD when
//! nothing was registered, DEL when nothing remains, MOD otherwise (also
//! for directions re-added within one changelist batch). MOD failing with
//! `ENOENT` is retried as ADD (the fd was closed and reopened); ADD failing
//! with `EEXIST` as MOD (a redundant add, or the kernel still holding the
//! entry of a closed fd through a `dup` of the same file); DEL failing with
//! `ENOENT`, `EBADF` or `EPERM` is ignored (the fd was closed first).
//!
//! Waits round the timeout up to milliseconds, or — with `PRECISE_TIMER` —
//! use `epoll_pwait2` with a nanosecond timeout, falling back at run time to
//! a timerfd in the set when the kernel lacks it (`ENOSYS`).

use core::time::Duration;

use evbase_core::{Change, Error, Features, Method, Sink, Text, Waker, What};

use crate::clock::millis_up;
use crate::internal::{Internal, Seen};
use crate::sys;

/// `epoll`.
pub static EPOLL: Method = Method {
    name: "epoll",
    features: Features::ET.union(Features::O1).union(Features::EARLY_CLOSE),
    need_reinit: true,
    changelist: false,
};

/// `epoll` opened with `EPOLL_USE_CHANGELIST`: changes are batched and
/// applied at the next dispatch.
pub static EPOLL_CHANGELIST: Method = Method {
    name: "epoll (with changelist)",
    features: Features::ET.union(Features::O1).union(Features::EARLY_CLOSE),
    need_reinit: true,
    changelist: true,
};

/// libevent's cap on a millisecond epoll timeout (old kernels misbehave
/// with longer ones); a longer wait simply wakes up and waits again.
const MAX_TIMEOUT_MS: u64 = 35 * 60 * 1000;
const INITIAL_EVENTS: usize = 32;
/// Set in the `epoll_event` data of the backend's own fds (wake-up, signal
/// pipe, timerfd), so that one test tells them from the user's handles.
const INTERNAL: u64 = 1 << 32;
const MAX_EVENTS: usize = 4096;

/// How a precise wait is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precise {
    /// Millisecond `epoll_wait` (no `PRECISE_TIMER`).
    Off,
    /// `epoll_pwait2`, until the kernel says it lacks it.
    Pwait2,
    /// A timerfd in the set, armed before each wait.
    Timerfd(i32),
}

/// An open epoll backend.
#[derive(Debug)]
pub struct Epoll {
    method: &'static Method,
    epfd: i32,
    events: Vec<libc::epoll_event>,
    internal: Internal,
    precise: Precise,
}

fn os(op: Text) -> impl Fn(sys::Errno) -> Error {
    move |code| Error::Os { op, code }
}

/// Watches one of the backend's own fds for readability in `epfd`.
fn watch_internal_in(epfd: i32, fd: i32) -> Result<(), Error> {
    sys::epoll_ctl(
        epfd,
        libc::EPOLL_CTL_ADD,
        fd,
        libc::EPOLLIN as u32,
        INTERNAL | fd as u64,
    )
    .map_err(os(&"epoll_ctl"))
}

impl Epoll {
    /// Opens epoll; `changelist` picks the batched variant, `precise` the
    /// nanosecond waits, `force_timerfd` the timerfd fallback at once.
    pub(crate) fn open(changelist: bool, precise: bool, force_timerfd: bool) -> Result<Epoll, Error> {
        let epfd = sys::epoll_create().map_err(os(&"epoll_create1"))?;
        let internal = match Internal::open() {
            Ok(i) => i,
            Err(e) => {
                sys::close(epfd);
                return Err(e);
            }
        };
        let mut ep = Epoll {
            method: if changelist { &EPOLL_CHANGELIST } else { &EPOLL },
            epfd,
            events: vec![sys::EPOLL_EVENT_ZERO; INITIAL_EVENTS],
            internal,
            precise: if precise { Precise::Pwait2 } else { Precise::Off },
        };
        ep.watch_internal_fds()?;
        if force_timerfd && precise {
            ep.use_timerfd()?;
        }
        Ok(ep)
    }

    fn watch_internal(&mut self, fd: i32) -> Result<(), Error> {
        watch_internal_in(self.epfd, fd)
    }

    /// Watches the notifier and the signal pipe.
    fn watch_internal_fds(&mut self) -> Result<(), Error> {
        for fd in self.internal.fds().into_iter().flatten() {
            self.watch_internal(fd)?;
        }
        Ok(())
    }

    fn use_timerfd(&mut self) -> Result<(), Error> {
        let fd = sys::timerfd().map_err(os(&"timerfd_create"))?;
        if let Err(e) = self.watch_internal(fd) {
            sys::close(fd);
            return Err(e);
        }
        self.precise = Precise::Timerfd(fd);
        Ok(())
    }

    fn is_internal(&self, fd: i32) -> bool {
        self.internal.is_internal(fd) || matches!(self.precise, Precise::Timerfd(t) if t == fd)
    }

    /// Applies one change with libevent's error recovery.
    fn apply(&mut self, c: &Change) -> Result<(), Error> {
        let fd = c.fd as i32;
        if c.fd > i32::MAX as u32 || self.is_internal(fd) {
            return Err(Error::InvalidHandle(c.fd.into()));
        }
        if self.internal.forked() {
            // The kernel object is the parent's: touch nothing until reinit.
            return Ok(());
        }
        let (old, new) = (c.old & What::IO, c.new & What::IO);
        let mut bits = interest(new);
        if c.new.contains(What::ET) {
            bits |= libc::EPOLLET as u32;
        }
        let ctl = |op| sys::epoll_ctl(self.epfd, op, fd, bits, u64::from(c.fd));
        let result = if new.is_empty() {
            if old.is_empty() {
                return Ok(());
            }
            match ctl(libc::EPOLL_CTL_DEL) {
                Err(libc::ENOENT | libc::EBADF | libc::EPERM) => Ok(()),
                r => r,
            }
        } else if old.is_empty() {
            match ctl(libc::EPOLL_CTL_ADD) {
                Err(libc::EEXIST) => ctl(libc::EPOLL_CTL_MOD),
                r => r,
            }
        } else {
            match ctl(libc::EPOLL_CTL_MOD) {
                Err(libc::ENOENT) => ctl(libc::EPOLL_CTL_ADD),
                r => r,
            }
        };
        result.map_err(|code| match code {
            // EPERM: a file epoll cannot watch (a regular file).
            libc::EBADF | libc::EPERM => Error::InvalidHandle(c.fd.into()),
            code => Error::Os { op: &"epoll_ctl", code },
        })
    }

    /// Waits up to `timeout` nanoseconds (`None`: forever); the number of
    /// events.
    #[inline]
    fn wait(&mut self, timeout: Option<u64>) -> Result<usize, sys::Errno> {
        if self.precise != Precise::Off {
            return self.wait_precise(timeout);
        }
        let ms = timeout.map_or(-1, |ns| millis_up(ns, MAX_TIMEOUT_MS) as i32);
        sys::epoll_wait(self.epfd, &mut self.events, ms)
    }

    /// [`wait`](Self::wait) with `PRECISE_TIMER`: nanosecond waits.
    #[inline(never)]
    fn wait_precise(&mut self, timeout: Option<u64>) -> Result<usize, sys::Errno> {
        let ns = timeout;
        let timeout = ns.map(Duration::from_nanos);
        loop {
            return match self.precise {
                Precise::Off => {
                    let ms = ns.map_or(-1, |ns| millis_up(ns, MAX_TIMEOUT_MS) as i32);
                    sys::epoll_wait(self.epfd, &mut self.events, ms)
                }
                Precise::Pwait2 => match sys::epoll_pwait2(self.epfd, &mut self.events, timeout) {
                    // No epoll_pwait2 (kernel < 5.11, or a seccomp filter
                    // that answers EPERM): fall back to a timerfd for good.
                    Err(libc::ENOSYS | libc::EPERM) => {
                        self.use_timerfd().map_err(|e| match e {
                            Error::Os { code, .. } => code,
                            _ => libc::ENOMEM,
                        })?;
                        continue;
                    }
                    r => r,
                },
                Precise::Timerfd(tfd) => match timeout {
                    Some(d) if d.is_zero() => sys::epoll_wait(self.epfd, &mut self.events, 0),
                    t => {
                        sys::timerfd_set(tfd, t)?;
                        sys::epoll_wait(self.epfd, &mut self.events, -1)
                    }
                },
            };
        }
    }
}

/// The epoll (and poll: the values are the same) bits that watch for
/// `what`: READ is `EPOLLIN`, WRITE `EPOLLOUT`, CLOSED `EPOLLRDHUP`.
#[inline]
pub(crate) fn interest(what: What) -> u32 {
    let mut bits = 0u32;
    if what.contains(What::READ) {
        bits |= libc::EPOLLIN as u32;
    }
    if what.contains(What::WRITE) {
        bits |= libc::EPOLLOUT as u32;
    }
    if what.contains(What::CLOSED) {
        bits |= libc::EPOLLRDHUP as u32;
    }
    bits
}

/// What epoll's bits (and io_uring's poll results, the same values) mean
/// to the loop (libevent's mapping), always with `ET` so that
/// edge-triggered events learn it.
#[inline]
pub(crate) fn readiness(bits: u32) -> What {
    // The common cases first: readable, or writable, and nothing else.
    if bits == libc::EPOLLIN as u32 {
        return What::READ | What::ET;
    }
    if bits == libc::EPOLLOUT as u32 {
        return What::WRITE | What::ET;
    }
    let mut what = What::ET;
    let hup_only = bits & libc::EPOLLHUP as u32 != 0 && bits & libc::EPOLLRDHUP as u32 == 0;
    if bits & libc::EPOLLERR as u32 != 0 || hup_only {
        what |= What::READ | What::WRITE;
    } else {
        if bits & libc::EPOLLIN as u32 != 0 {
            what |= What::READ;
        }
        if bits & libc::EPOLLOUT as u32 != 0 {
            what |= What::WRITE;
        }
        if bits & libc::EPOLLRDHUP as u32 != 0 {
            what |= What::CLOSED;
        }
    }
    what
}

impl evbase_core::Backend for Epoll {
    fn method(&self) -> &'static Method {
        self.method
    }

    /// With the changelist, not an open fd is refused here (its change
    /// would fail only at the next dispatch, and be dropped); without it,
    /// `epoll_ctl` in [`change`](evbase_core::Backend::change) refuses it, at no extra call.
    fn check_handle(&mut self, fd: u32) -> Result<(), Error> {
        if self.method.changelist {
            if self.is_internal(fd as i32) {
                return Err(Error::InvalidHandle(fd.into()));
            }
            crate::check_open(fd)?;
        }
        Ok(())
    }

    fn change(&mut self, change: &Change) -> Result<(), Error> {
        self.apply(change)
    }

    fn dispatch<K: Sink>(&mut self, changes: &[Change], timeout: Option<u64>, sink: &mut K) -> Result<(), Error> {
        for c in changes.iter().filter(|c| !c.is_noop()) {
            // As libevent: a change that fails in a batch is dropped (its fd
            // was closed meanwhile); the loop goes on.
            let _ = self.apply(c);
        }
        let n = match self.wait(timeout) {
            Ok(n) => n,
            Err(libc::EINTR) => return Ok(()),
            Err(code) => {
                return Err(Error::Os {
                    op: &"epoll_wait",
                    code,
                });
            }
        };
        let mut seen = Seen::default();
        for ev in &self.events[..n] {
            let (bits, data) = (ev.events, ev.u64);
            if data & INTERNAL == 0 {
                sink.io(data as u32, readiness(bits));
            } else {
                // The timerfd only ends the wait: nothing to note.
                self.internal.note(data as i32, &mut seen);
            }
        }
        self.internal.finish(seen, sink);
        if n == self.events.len() && n < MAX_EVENTS {
            self.events.resize((n * 2).min(MAX_EVENTS), sys::EPOLL_EVENT_ZERO);
        }
        Ok(())
    }

    /// A signal that is refused leaves nothing behind: the signal pipe, if
    /// opened for it, is unwatched and closed again.
    fn add_signal(&mut self, signal: u32) -> Result<(), Error> {
        crate::signal::check(signal)?;
        let opened = self.internal.open_signals()?;
        if let Some(fd) = opened
            && let Err(e) = self.watch_internal(fd)
        {
            self.internal.close_signals();
            return Err(e);
        }
        let added = self.internal.add_signal(signal);
        if added.is_err()
            && let Some(fd) = opened
        {
            let _ = sys::epoll_ctl(self.epfd, libc::EPOLL_CTL_DEL, fd, 0, 0);
            self.internal.close_signals();
        }
        added
    }

    fn del_signal(&mut self, signal: u32) -> Result<(), Error> {
        self.internal.del_signal(signal)
    }

    fn waker(&self) -> Option<Waker> {
        Some(self.internal.waker())
    }

    fn forked(&self) -> bool {
        self.internal.forked()
    }

    /// Everything new (epoll set, notifier, signal pipe, timerfd) is opened
    /// and watched before anything old is closed: on failure the new fds
    /// are closed and the backend is as it was.
    fn reinit(&mut self) -> Result<(), Error> {
        let epfd = sys::epoll_create().map_err(os(&"epoll_create1"))?;
        let prepared = (|| {
            let fresh = self.internal.prepare_reopen()?;
            for fd in fresh.fds().into_iter().flatten() {
                watch_internal_in(epfd, fd)?;
            }
            let tfd = match self.precise {
                Precise::Timerfd(_) => {
                    let tfd = sys::timerfd().map_err(os(&"timerfd_create"))?;
                    if let Err(e) = watch_internal_in(epfd, tfd) {
                        sys::close(tfd);
                        return Err(e);
                    }
                    Some(tfd)
                }
                _ => None,
            };
            Ok((fresh, tfd))
        })();
        let (fresh, tfd) = match prepared {
            Ok(p) => p,
            Err(e) => {
                sys::close(epfd);
                return Err(e);
            }
        };
        // The old epoll set is shared with the parent: close our copy only.
        sys::close(self.epfd);
        self.epfd = epfd;
        self.internal.reopen(fresh);
        if let (Precise::Timerfd(old), Some(tfd)) = (self.precise, tfd) {
            sys::close(old);
            self.precise = Precise::Timerfd(tfd);
        }
        Ok(())
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        if let Precise::Timerfd(tfd) = self.precise {
            sys::close(tfd);
        }
        sys::close(self.epfd);
        // The notifier and the signal pipe close themselves.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        let (r, w, c, et) = (What::READ, What::WRITE, What::CLOSED, What::ET);
        assert_eq!(readiness(libc::EPOLLIN as u32), r | et);
        assert_eq!(readiness(libc::EPOLLOUT as u32), w | et);
        assert_eq!(readiness(libc::EPOLLERR as u32), r | w | et);
        assert_eq!(readiness(libc::EPOLLHUP as u32), r | w | et);
        assert_eq!(
            readiness((libc::EPOLLHUP | libc::EPOLLRDHUP | libc::EPOLLIN) as u32),
            r | c | et
        );
    }
}
