//! The select backend (libevent's `select.c`): read and write bit arrays of
//! our own, sized to the highest fd and grown by doubling, so fds at or
//! above `FD_SETSIZE` work (on macOS through the `_DARWIN_UNLIMITED_SELECT`
//! entry point). The "in" sets are copied to "out" sets before each call;
//! results are scanned from a rotating start word. A closed fd in the sets
//! makes `select` fail with `EBADF`: instead of failing the loop (as
//! libevent does), the closed fds are found and reported READ|WRITE, like
//! poll's `POLLNVAL`.

use core::time::Duration;

use evbase_core::{Change, Error, Features, Method, Sink, Waker, What};

use crate::internal::{Internal, Seen};
use crate::sys::{self, FdWord};

/// `select`.
pub static SELECT: Method = Method {
    name: "select",
    features: Features::FDS,
    need_reinit: true,
    changelist: false,
};

const BITS: usize = FdWord::BITS as usize;

/// An open select backend.
#[derive(Debug)]
pub struct Select {
    read: Vec<FdWord>,
    write: Vec<FdWord>,
    out_read: Vec<FdWord>,
    out_write: Vec<FdWord>,
    /// The highest fd in either set, or -1.
    max_fd: i32,
    internal: Internal,
    start: usize,
}

fn get(set: &[FdWord], fd: usize) -> bool {
    set.get(fd / BITS).is_some_and(|w| w & (1 << (fd % BITS)) != 0)
}

fn put(set: &mut [FdWord], fd: usize, on: bool) {
    if on {
        set[fd / BITS] |= 1 << (fd % BITS);
    } else {
        set[fd / BITS] &= !(1 << (fd % BITS));
    }
}

impl Select {
    /// Opens a select backend.
    pub(crate) fn open() -> Result<Select, Error> {
        let mut s = Select {
            read: Vec::new(),
            write: Vec::new(),
            out_read: Vec::new(),
            out_write: Vec::new(),
            max_fd: -1,
            internal: Internal::open()?,
            start: 0,
        };
        s.watch_internal();
        Ok(s)
    }

    /// Watches `fd` for reading and/or writing (neither: forget it).
    fn set(&mut self, fd: i32, read: bool, write: bool) {
        let i = fd as usize;
        if i / BITS >= self.read.len() {
            if !read && !write {
                return;
            }
            // Doubling growth, at least libc's FD_SETSIZE worth of words.
            let words = (i / BITS + 1).max(self.read.len() * 2).max(1024 / BITS);
            for v in [&mut self.read, &mut self.write, &mut self.out_read, &mut self.out_write] {
                v.resize(words, 0);
            }
        }
        put(&mut self.read, i, read);
        put(&mut self.write, i, write);
        if (read || write) && fd > self.max_fd {
            self.max_fd = fd;
        } else if !read && !write && fd == self.max_fd {
            self.max_fd = self.highest_below(fd);
        }
    }

    /// The highest watched fd below `fd`, or -1.
    fn highest_below(&self, fd: i32) -> i32 {
        let mut w = fd as usize / BITS + 1;
        while w > 0 {
            w -= 1;
            let word = self.read[w] | self.write[w];
            if word != 0 {
                return (w * BITS + (BITS - 1 - word.leading_zeros() as usize)) as i32;
            }
        }
        -1
    }

    fn watch_internal(&mut self) {
        for fd in self.internal.fds().into_iter().flatten() {
            self.set(fd, true, false);
        }
    }

    /// After `EBADF`: reports every watched fd that is closed as READ|WRITE.
    fn report_closed<K: Sink>(&self, sink: &mut K) {
        for fd in 0..=self.max_fd {
            let (r, w) = (get(&self.read, fd as usize), get(&self.write, fd as usize));
            if (r || w) && !self.internal.is_internal(fd) && !sys::is_open(fd) {
                sink.io(fd as u32, What::READ | What::WRITE);
            }
        }
    }
}

impl evbase_core::Backend for Select {
    fn method(&self) -> &'static Method {
        &SELECT
    }

    /// Not an open fd: refused (select would wait on it and never report
    /// it, or fail every wait).
    fn check_handle(&mut self, fd: u32) -> Result<(), Error> {
        crate::check_open(fd)
    }

    fn change(&mut self, c: &Change) -> Result<(), Error> {
        let fd = c.fd as i32;
        if c.fd > i32::MAX as u32 || self.internal.is_internal(fd) {
            return Err(Error::InvalidHandle(c.fd.into()));
        }
        self.set(fd, c.new.contains(What::READ), c.new.contains(What::WRITE));
        Ok(())
    }

    fn dispatch<K: Sink>(&mut self, _changes: &[Change], timeout: Option<u64>, sink: &mut K) -> Result<(), Error> {
        let timeout = timeout.map(Duration::from_nanos);
        let nfds = (self.max_fd + 1) as usize;
        let words = nfds.div_ceil(BITS);
        self.out_read[..words].copy_from_slice(&self.read[..words]);
        self.out_write[..words].copy_from_slice(&self.write[..words]);
        let mut ready = match sys::select(nfds, &mut self.out_read, &mut self.out_write, timeout) {
            Ok(n) => n,
            Err(libc::EINTR) => return Ok(()),
            Err(libc::EBADF) => {
                self.report_closed(sink);
                return Ok(());
            }
            Err(code) => return Err(Error::Os { op: &"select", code }),
        };
        if words == 0 {
            return Ok(());
        }
        self.start = (self.start + 1) % words;
        let mut seen = Seen::default();
        for k in 0..words {
            if ready == 0 {
                break;
            }
            let w = (self.start + k) % words;
            let mut bits = self.out_read[w] | self.out_write[w];
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let fd = w * BITS + b;
                let mut what = What::empty();
                if get(&self.out_read, fd) {
                    what |= What::READ;
                    ready = ready.saturating_sub(1);
                }
                if get(&self.out_write, fd) {
                    what |= What::WRITE;
                    ready = ready.saturating_sub(1);
                }
                if !self.internal.note(fd as i32, &mut seen) {
                    sink.io(fd as u32, what);
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
            self.set(fd, true, false);
        }
        let added = self.internal.add_signal(signal);
        if added.is_err()
            && let Some(fd) = opened
        {
            self.set(fd, false, false);
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
        for v in [&mut self.read, &mut self.write] {
            v.fill(0);
        }
        self.max_fd = -1;
        self.internal.reopen(fresh);
        self.watch_internal();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_grow_and_track_max() {
        let mut s = Select::open().unwrap();
        let [Some(wake), None] = s.internal.fds() else {
            panic!("a fresh select watches its notifier only")
        };
        s.set(5000, true, false);
        assert_eq!(s.max_fd, 5000);
        assert!(s.read.len() * BITS > 5000);
        s.set(3000, false, true);
        s.set(5000, false, false);
        assert_eq!(s.max_fd, 3000);
        s.set(3000, false, false);
        assert_eq!(s.max_fd, wake);
    }
}
