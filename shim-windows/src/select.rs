//! The `win32` backend: WinSock `select` (libevent's `win32select.c`).
//!
//! - Its own fd sets, laid out as WinSock's `fd_set` (a count, then the
//!   sockets) but growing past `FD_SETSIZE` (64) by doubling from 32, so any
//!   number of sockets can be watched. Removing a socket moves the last one
//!   into its place; each socket remembers its positions.
//! - The exception set mirrors the write set: a non-blocking `connect` that
//!   fails shows up there, and is reported as `WRITE` (the program then
//!   sees the error from the socket).
//! - Each result set is scanned from a random index, so no socket starves
//!   the others when callbacks stop the loop early (fairness).
//! - The read end of a wake socket pair is always in the read set, so there
//!   is never an empty select (which WinSock refuses) and another thread
//!   wakes the wait by sending a byte on the write end.
//!
//! Only sockets are accepted; handles are checked when first added, so a
//! bad handle fails that add instead of every later wait.

use std::collections::HashMap;
use std::time::Duration;

use evbase_core::{Backend, Change, Error, Features, Method, Sink, Waker, What};

use crate::net::{self, OwnedSocket};
use crate::notify::{Registration, Target};
use crate::sys;

/// libevent's `win32` method: select over sockets. No edge triggering, no
/// early close, O(n) per wait; sockets only; nothing to rebuild after a
/// fork (Windows has none).
pub static WIN32: Method = Method {
    name: "win32",
    features: Features::empty(),
    need_reinit: false,
    changelist: false,
};

/// Initial socket capacity of a set (libevent's `NEVENT`).
const INITIAL: usize = 32;

/// An fd set of any size: word 0 holds the count, then the sockets.
#[derive(Debug)]
struct FdSet {
    buf: Vec<usize>,
}

impl FdSet {
    fn new() -> FdSet {
        let mut buf = Vec::with_capacity(INITIAL + 1);
        buf.push(0);
        FdSet { buf }
    }

    fn len(&self) -> usize {
        self.buf[0] & 0xffff_ffff
    }

    fn sockets(&self) -> &[usize] {
        &self.buf[1..=self.len()]
    }

    /// Appends `s`; returns its position.
    fn push(&mut self, s: usize) -> Result<usize, Error> {
        let n = self.len();
        if n >= u32::MAX as usize - 1 {
            return Err(Error::capacity(&"select set", n));
        }
        if self.buf.len() == self.buf.capacity() {
            // Double, as libevent does.
            self.buf.reserve(self.buf.capacity().max(INITIAL));
        }
        self.buf.truncate(n + 1);
        self.buf.push(s);
        self.buf[0] = n + 1;
        Ok(n)
    }

    /// Removes the socket at `pos` by moving the last one there; returns the
    /// socket that moved, if any.
    fn swap_remove(&mut self, pos: usize) -> Option<usize> {
        let n = self.len();
        debug_assert!(pos < n);
        self.buf.swap(pos + 1, n);
        self.buf.truncate(n);
        self.buf[0] = n - 1;
        (pos < n - 1).then(|| self.buf[pos + 1])
    }

    /// Makes `self` a copy of `from`, reusing its allocation.
    fn copy_from(&mut self, from: &FdSet) {
        self.buf.clear();
        self.buf.extend_from_slice(&from.buf[..=from.len()]);
    }
}

/// Positions (plus one; 0 = absent) of a socket in the read and write sets.
#[derive(Debug, Default, Clone, Copy)]
struct Positions {
    read: usize,
    write: usize,
}

/// A small xorshift generator for the fairness start index.
#[derive(Debug)]
struct WeakRand(u64);

impl WeakRand {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        if n == 0 { 0 } else { (self.0 % n as u64) as usize }
    }
}

/// The `win32` backend.
#[derive(Debug)]
pub struct SelectBackend {
    // Dropped first: after this no waker reaches the wake sockets.
    registration: Registration,
    read: FdSet,
    write: FdSet,
    read_out: FdSet,
    write_out: FdSet,
    except_out: FdSet,
    positions: HashMap<u32, Positions>,
    rand: WeakRand,
    // Closed last, after the registration is gone.
    wake_read: OwnedSocket,
    wake_write: OwnedSocket,
}

impl SelectBackend {
    /// Opens the backend: a wake socket pair, its read end in the read set.
    ///
    /// # Errors
    /// [`Error::Os`] when WinSock cannot start or the socket pair cannot be made.
    pub fn new() -> Result<SelectBackend, Error> {
        sys::wsa_startup()?;
        let (r, w) = net::socketpair()?;
        let (wake_read, wake_write) = (OwnedSocket(r), OwnedSocket(w));
        let mut read = FdSet::new();
        read.push(r as usize)?;
        let seed = sys::performance_counter().map_or(0, |(c, _)| c) ^ (u64::from(r) << 32) | 1;
        Ok(SelectBackend {
            registration: Registration::new(Target::Socket(w as usize)),
            read,
            write: FdSet::new(),
            read_out: FdSet::new(),
            write_out: FdSet::new(),
            except_out: FdSet::new(),
            positions: HashMap::new(),
            rand: WeakRand(seed),
            wake_read,
            wake_write,
        })
    }

    /// How many sockets are watched for reading and for writing (the wake
    /// socket not counted).
    pub fn watched(&self) -> (usize, usize) {
        (self.read.len() - 1, self.write.len())
    }

    fn set_membership(&mut self, fd: u32, read: bool, write: bool) -> Result<(), Error> {
        let old = self.positions.get(&fd).copied().unwrap_or_default();
        let mut pos = old;
        if read && pos.read == 0 {
            pos.read = self.read.push(fd as usize)? + 1;
        }
        if write && pos.write == 0 {
            match self.write.push(fd as usize) {
                Ok(p) => pos.write = p + 1,
                Err(e) => {
                    if old.read == 0 && pos.read != 0 {
                        self.remove_read(pos.read - 1); // undo: the state is unchanged on error
                    }
                    return Err(e);
                }
            }
        }
        if !read && pos.read != 0 {
            self.remove_read(pos.read - 1);
            pos.read = 0;
        }
        if !write && pos.write != 0 {
            if let Some(moved) = self.write.swap_remove(pos.write - 1)
                && let Some(p) = self.positions.get_mut(&(moved as u32))
            {
                p.write = pos.write;
            }
            pos.write = 0;
        }
        if pos.read == 0 && pos.write == 0 {
            self.positions.remove(&fd);
        } else {
            self.positions.insert(fd, pos);
        }
        Ok(())
    }

    fn remove_read(&mut self, at: usize) {
        if let Some(moved) = self.read.swap_remove(at)
            && let Some(p) = self.positions.get_mut(&(moved as u32))
        {
            p.read = at + 1;
        }
    }

    fn drain_wake(&mut self) {
        let mut buf = [0u8; 64];
        while let Ok(n) = sys::recv(self.wake_read.0 as usize, &mut buf) {
            if n == 0 {
                break;
            }
        }
    }
}

/// Reports each socket of `set` but `skip` as `what`, from index `start`
/// on, wrapping around; returns whether `skip` was in the set.
fn report<K: Sink>(set: &FdSet, start: usize, skip: u32, what: What, sink: &mut K) -> bool {
    let s = set.sockets();
    let mut skipped = false;
    for i in 0..s.len() {
        let fd = s[(start + i) % s.len()] as u32;
        if fd == skip {
            skipped = true;
        } else {
            sink.io(fd, what);
        }
    }
    skipped
}

impl Backend for SelectBackend {
    fn method(&self) -> &'static Method {
        &WIN32
    }

    fn change(&mut self, change: &Change) -> Result<(), Error> {
        let fd = change.fd;
        if fd == self.wake_read.0 || fd == self.wake_write.0 {
            return Err(Error::InvalidHandle(fd.into()));
        }
        let read = change.new.contains(What::READ);
        let write = change.new.contains(What::WRITE);
        if (read || write) && !self.positions.contains_key(&fd) && !sys::is_socket(fd as usize) {
            return Err(Error::InvalidHandle(fd.into()));
        }
        self.set_membership(fd, read, write)
    }

    fn dispatch<K: Sink>(&mut self, changes: &[Change], timeout: Option<u64>, sink: &mut K) -> Result<(), Error> {
        let timeout = timeout.map(Duration::from_nanos);
        for c in changes {
            self.change(c)?;
        }
        self.read_out.copy_from(&self.read);
        self.write_out.copy_from(&self.write);
        self.except_out.copy_from(&self.write);
        match sys::select(
            &mut self.read_out.buf,
            &mut self.write_out.buf,
            &mut self.except_out.buf,
            timeout,
        ) {
            Ok(_) => {}
            Err(10004) => {} // WSAEINTR: an interrupted wait is a wait with nothing ready
            Err(code) => return Err(Error::Os { op: &"select", code }),
        }
        let start = self.rand.below(self.read_out.len());
        if report(&self.read_out, start, self.wake_read.0, What::READ, sink) {
            self.drain_wake();
        }
        let start = self.rand.below(self.write_out.len());
        report(&self.write_out, start, u32::MAX, What::WRITE, sink);
        let start = self.rand.below(self.except_out.len());
        report(&self.except_out, start, u32::MAX, What::WRITE, sink);
        self.registration.report(sink);
        Ok(())
    }

    fn add_signal(&mut self, signal: u32) -> Result<(), Error> {
        self.registration.watch(signal, true)
    }

    fn del_signal(&mut self, signal: u32) -> Result<(), Error> {
        self.registration.watch(signal, false)
    }

    fn waker(&self) -> Option<Waker> {
        Some(self.registration.waker())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_set_grows_and_swap_removes() {
        let mut s = FdSet::new();
        for i in 0..100 {
            assert_eq!(s.push(1000 + i).unwrap(), i);
        }
        assert_eq!(s.len(), 100);
        assert_eq!(s.swap_remove(10), Some(1099));
        assert_eq!(s.sockets()[10], 1099);
        assert_eq!(s.swap_remove(98), None);
        assert_eq!(s.len(), 98);
        let mut copy = FdSet::new();
        copy.copy_from(&s);
        assert_eq!(copy.sockets(), s.sockets());
    }
}
