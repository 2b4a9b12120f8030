//! The poll backend (libevent's `poll.c`): a compact `pollfd` array with an
//! fd → position table, so adding, changing and removing an fd are O(1)
//! (removal moves the last entry into the hole). Results are scanned from a
//! rotating start so that a busy low fd cannot starve the others. `HUP`,
//! `ERR` and `NVAL` mean READ|WRITE (a closed fd shows up as ready, as in
//! libevent's `event_closed_fd_poll`); `POLLRDHUP` (Linux) means CLOSED.

use core::time::Duration;

use evbase_core::{Change, Error, Features, Method, Sink, Waker, What};

use crate::internal::{Internal, Seen};
use crate::sys;

#[cfg(any(target_os = "linux", target_os = "android"))]
const RDHUP: libc::c_short = libc::POLLRDHUP;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const RDHUP: libc::c_short = 0;

#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_closed(revents: libc::c_short) -> bool {
    revents & RDHUP != 0
}
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn peer_closed(_revents: libc::c_short) -> bool {
    false
}

/// `poll`.
pub static POLL: Method = Method {
    name: "poll",
    features: if RDHUP != 0 {
        Features::FDS.union(Features::EARLY_CLOSE)
    } else {
        Features::FDS
    },
    need_reinit: true,
    changelist: false,
};

const NONE: u32 = 0;

/// An open poll backend.
#[derive(Debug)]
pub struct Poll {
    fds: Vec<libc::pollfd>,
    /// `index[fd]` is the fd's position in `fds` plus one, or 0.
    index: Vec<u32>,
    internal: Internal,
    start: usize,
}

impl Poll {
    /// Opens a poll backend.
    pub(crate) fn open() -> Result<Poll, Error> {
        let mut p = Poll {
            fds: Vec::with_capacity(32),
            index: Vec::new(),
            internal: Internal::open()?,
            start: 0,
        };
        p.watch_internal();
        Ok(p)
    }

    /// Watches `events` on `fd` (0 with `remove`: forget it).
    fn set(&mut self, fd: i32, events: libc::c_short) {
        self.put(fd, Some(events));
    }

    fn put(&mut self, fd: i32, events: Option<libc::c_short>) {
        let i = fd as usize;
        let at = self.index.get(i).copied().unwrap_or(NONE);
        match (at, events) {
            (NONE, None) => {}
            (NONE, Some(events)) => {
                if i >= self.index.len() {
                    self.index.resize((i + 1).max(self.index.len() * 2), NONE);
                }
                self.fds.push(libc::pollfd { fd, events, revents: 0 });
                self.index[i] = self.fds.len() as u32;
            }
            (at, Some(events)) => self.fds[at as usize - 1].events = events,
            (at, None) => {
                let pos = at as usize - 1;
                self.fds.swap_remove(pos);
                self.index[i] = NONE;
                if let Some(moved) = self.fds.get(pos) {
                    self.index[moved.fd as usize] = at;
                }
            }
        }
    }

    fn watch_internal(&mut self) {
        for fd in self.internal.fds().into_iter().flatten() {
            self.set(fd, libc::POLLIN);
        }
    }
}

fn readiness(revents: libc::c_short) -> What {
    let mut what = What::empty();
    if revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        what |= What::READ | What::WRITE;
    }
    if revents & libc::POLLIN != 0 {
        what |= What::READ;
    }
    if revents & libc::POLLOUT != 0 {
        what |= What::WRITE;
    }
    if peer_closed(revents) {
        what |= What::CLOSED;
    }
    what
}

impl evbase_core::Backend for Poll {
    fn method(&self) -> &'static Method {
        &POLL
    }

    /// Not an open fd: refused (poll itself would report it ready, as
    /// `POLLNVAL`, on every wait).
    fn check_handle(&mut self, fd: u32) -> Result<(), Error> {
        crate::check_open(fd)
    }

    fn change(&mut self, c: &Change) -> Result<(), Error> {
        let fd = c.fd as i32;
        if c.fd > i32::MAX as u32 || self.internal.is_internal(fd) {
            return Err(Error::InvalidHandle(c.fd.into()));
        }
        let new = c.new & What::IO;
        if new.is_empty() {
            self.put(fd, None);
            return Ok(());
        }
        let mut events = 0;
        if new.contains(What::READ) {
            events |= libc::POLLIN;
        }
        if new.contains(What::WRITE) {
            events |= libc::POLLOUT;
        }
        if new.contains(What::CLOSED) {
            events |= RDHUP;
        }
        self.set(fd, events);
        Ok(())
    }

    fn dispatch<K: Sink>(&mut self, _changes: &[Change], timeout: Option<u64>, sink: &mut K) -> Result<(), Error> {
        let timeout = timeout.map(Duration::from_nanos);
        let mut ready = match sys::poll(&mut self.fds, timeout) {
            Ok(n) => n,
            Err(libc::EINTR) => return Ok(()),
            Err(code) => return Err(Error::Os { op: &"poll", code }),
        };
        let n = self.fds.len();
        if n == 0 {
            return Ok(());
        }
        self.start = (self.start + 1) % n;
        let mut seen = Seen::default();
        for k in 0..n {
            if ready == 0 {
                break;
            }
            let pfd = self.fds[(self.start + k) % n];
            if pfd.revents == 0 {
                continue;
            }
            ready -= 1;
            if !self.internal.note(pfd.fd, &mut seen) {
                let what = readiness(pfd.revents);
                if !what.is_empty() {
                    sink.io(pfd.fd as u32, what);
                }
            }
        }
        self.internal.finish(seen, sink);
        Ok(())
    }

    /// A signal that is refused leaves nothing behind: the signal pipe, if
    /// opened for it, is closed again.
    fn add_signal(&mut self, signal: u32) -> Result<(), Error> {
        crate::signal::check(signal)?;
        let opened = self.internal.open_signals()?;
        if let Some(fd) = opened {
            self.set(fd, libc::POLLIN);
        }
        let added = self.internal.add_signal(signal);
        if added.is_err()
            && let Some(fd) = opened
        {
            self.put(fd, None);
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

    /// New internal fds are opened first: on failure nothing has changed.
    fn reinit(&mut self) -> Result<(), Error> {
        let fresh = self.internal.prepare_reopen()?;
        self.fds.clear();
        self.index.clear();
        self.internal.reopen(fresh);
        self.watch_internal();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_array() {
        let mut p = Poll::open().unwrap();
        let base = p.fds.len();
        for fd in 100..110 {
            p.set(fd, libc::POLLIN);
        }
        p.put(100, None);
        p.put(105, None);
        p.set(103, libc::POLLOUT);
        assert_eq!(p.fds.len(), base + 8);
        for (i, pfd) in p.fds.iter().enumerate() {
            assert_eq!(p.index[pfd.fd as usize] as usize, i + 1);
        }
        assert_eq!(p.fds[p.index[103] as usize - 1].events, libc::POLLOUT);
        assert_eq!(p.index[100], NONE);
    }

    #[test]
    fn mapping() {
        assert_eq!(readiness(libc::POLLNVAL), What::READ | What::WRITE);
        assert_eq!(readiness(libc::POLLIN), What::READ);
        assert_eq!(readiness(libc::POLLOUT), What::WRITE);
    }
}
