//! The `iocp` backend: readiness through AFD poll requests completing on an
//! I/O completion port, as wepoll, mio and polling do it.
//!
//! WinSock sockets are files of the AFD driver. An `IOCTL_AFD_POLL` request
//! on a socket's base handle completes when the socket has any of the asked
//! events; issued through one `\Device\Afd` handle associated with the
//! completion port, its completion packet lands there, carrying the
//! request's context. So:
//!
//! - a socket gets one poll request for its interest, issued at the next
//!   wait (changes are queued, so adding and deleting are O(1));
//! - a wait dequeues completion packets (up to 256 at a time) and reports
//!   what each one found; a poll is one-shot, so every socket that fired is
//!   polled again before the next wait, which makes readiness
//!   level-triggered like `epoll` without `EPOLLET` (wepoll has no edge
//!   mode either: no [`Features::ET`]);
//! - `CLOSED` comes from `AFD_POLL_DISCONNECT` (the peer shut down or
//!   closed) and `AFD_POLL_ABORT` (reset), without reading:
//!   [`Features::EARLY_CLOSE`];
//! - a socket closed while watched completes with `AFD_POLL_LOCAL_CLOSE`
//!   and is forgotten silently, as `epoll` forgets a closed descriptor;
//! - changing a socket's interest while its poll is in flight cancels that
//!   poll when it does not cover the new interest; a socket deleted while
//!   its poll is in flight keeps its request block until the cancelled
//!   completion arrives (the kernel writes into it until then);
//! - another thread wakes the wait by posting an empty packet with a
//!   reserved key (`PostQueuedCompletionStatus`).
//!
//! The CPU hint ([`Config::set_num_cpus_hint`](evbase_core::Config::set_num_cpus_hint))
//! becomes the port's concurrency value (0: one per processor). One loop
//! dequeues from its port on one thread, so it does not change how a base
//! behaves; it matters only to code that shares the port's threads.

use std::collections::HashMap;
use std::time::Duration;

use evbase_core::{Backend, Change, Error, Features, Method, Sink, Waker, What};

use crate::notify::{Registration, Target, WAKE_KEY};
use crate::sys::{self, Afd, Completion, PollBlock, Port, RawSocket};

/// The `iocp` method: AFD poll on a completion port. O(1) changes and
/// O(ready) waits, early close; sockets only; no edge triggering.
pub static IOCP: Method = Method {
    name: "iocp",
    features: Features::O1.union(Features::EARLY_CLOSE),
    need_reinit: false,
    changelist: false,
};

/// The completion key of the AFD helper handle.
const AFD_KEY: usize = 1;
/// How many packets one wait dequeues at most.
const BATCH: usize = 256;
/// `STATUS_CANCELLED`.
const STATUS_CANCELLED: i32 = 0xC000_0120_u32 as i32;
/// `STATUS_INVALID_HANDLE`.
const STATUS_INVALID_HANDLE: i32 = 0xC000_0008_u32 as i32;

const AFD_POLL_RECEIVE: u32 = 0x0001;
const AFD_POLL_SEND: u32 = 0x0004;
const AFD_POLL_DISCONNECT: u32 = 0x0008;
const AFD_POLL_ABORT: u32 = 0x0010;
const AFD_POLL_LOCAL_CLOSE: u32 = 0x0020;
const AFD_POLL_ACCEPT: u32 = 0x0080;
const AFD_POLL_CONNECT_FAIL: u32 = 0x0100;

/// The AFD events that answer interest `what`. Errors, resets and local
/// closes are always asked for (epoll reports `EPOLLERR`/`EPOLLHUP` always).
fn afd_events(what: What) -> u32 {
    let mut e = AFD_POLL_LOCAL_CLOSE | AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL;
    if what.contains(What::READ) {
        e |= AFD_POLL_RECEIVE | AFD_POLL_ACCEPT | AFD_POLL_DISCONNECT;
    }
    if what.contains(What::WRITE) {
        e |= AFD_POLL_SEND;
    }
    if what.contains(What::CLOSED) {
        e |= AFD_POLL_DISCONNECT;
    }
    e
}

/// What fired AFD `events` mean, in the core's terms (as epoll maps
/// `EPOLLHUP`/`EPOLLERR` to `READ|WRITE`).
fn what_of(events: u32) -> What {
    let mut w = What::empty();
    if events & (AFD_POLL_RECEIVE | AFD_POLL_ACCEPT) != 0 {
        w |= What::READ;
    }
    if events & AFD_POLL_SEND != 0 {
        w |= What::WRITE;
    }
    if events & AFD_POLL_DISCONNECT != 0 {
        w |= What::READ | What::CLOSED;
    }
    if events & AFD_POLL_ABORT != 0 {
        w |= What::READ | What::WRITE | What::CLOSED;
    }
    if events & AFD_POLL_CONNECT_FAIL != 0 {
        w |= What::READ | What::WRITE;
    }
    w
}

#[derive(Debug)]
struct Sock {
    /// The base provider's socket, which AFD polls.
    base: RawSocket,
    /// `READ|WRITE|CLOSED` asked by the core.
    interest: What,
    /// The AFD events of the poll in flight.
    polled: u32,
    block: PollBlock,
    /// In the update queue.
    queued: bool,
}

/// The `iocp` backend.
#[derive(Debug)]
pub struct IocpBackend {
    // Dropped first: after this no waker posts to the port.
    registration: Registration,
    socks: HashMap<u32, Sock>,
    /// Request block address → socket, to route completions.
    by_addr: HashMap<usize, u32>,
    /// Blocks of deleted sockets whose cancelled poll has not completed yet.
    zombies: HashMap<usize, PollBlock>,
    /// Sockets to poll (again) before the next wait.
    queue: Vec<u32>,
    entries: Vec<Completion>,
    afd: Afd,
    port: Port,
}

impl IocpBackend {
    /// Opens a completion port with concurrency `cpus` (0: one per
    /// processor) and an AFD helper handle on it.
    ///
    /// # Errors
    /// [`Error::Os`] when WinSock cannot start, or the port or the AFD
    /// device cannot be opened.
    pub fn new(cpus: usize) -> Result<IocpBackend, Error> {
        sys::wsa_startup()?;
        let port = Port::new(u32::try_from(cpus).unwrap_or(0))?;
        let afd = Afd::open(&port, AFD_KEY)?;
        Ok(IocpBackend {
            registration: Registration::new(Target::Port(port.raw())),
            socks: HashMap::new(),
            by_addr: HashMap::new(),
            zombies: HashMap::new(),
            queue: Vec::new(),
            entries: vec![Completion::default(); BATCH],
            afd,
            port,
        })
    }

    /// How many sockets are watched.
    pub fn watched(&self) -> usize {
        self.socks.len()
    }

    fn enqueue(&mut self, fd: u32) {
        if let Some(s) = self.socks.get_mut(&fd)
            && !s.queued
        {
            s.queued = true;
            self.queue.push(fd);
        }
    }

    /// Forgets `fd`; a poll in flight is cancelled and its block kept until
    /// its completion arrives.
    fn forget(&mut self, fd: u32) {
        if let Some(sock) = self.socks.remove(&fd) {
            let addr = sock.block.addr();
            self.by_addr.remove(&addr);
            if sock.block.is_pending() {
                sock.block.cancel(&self.afd);
                self.zombies.insert(addr, sock.block);
            }
        }
    }

    /// Brings `fd`'s poll in line with its interest.
    fn update<K: Sink>(&mut self, fd: u32, sink: &mut K) {
        let Some(sock) = self.socks.get_mut(&fd) else { return };
        sock.queued = false;
        let want = afd_events(sock.interest);
        if sock.block.is_pending() {
            if want & !sock.polled != 0 {
                // Its completion (cancelled) queues it again.
                sock.block.cancel(&self.afd);
            }
            return;
        }
        match sock.block.submit(&self.afd, sock.base, want) {
            Ok(()) => sock.polled = want,
            Err(STATUS_INVALID_HANDLE) => {
                // Closed between two polls: forgotten silently, like a
                // closed socket whose poll completes with LOCAL_CLOSE.
                self.forget(fd);
            }
            Err(_) => {
                // Unusable: let the program see it (it will find the error
                // when it uses the socket), as poll's POLLNVAL does, and stop
                // watching it.
                let what = (What::READ | What::WRITE) & sock.interest;
                self.forget(fd);
                if !what.is_empty() {
                    sink.io(fd, what);
                }
            }
        }
    }

    fn complete<K: Sink>(&mut self, done: &Completion, sink: &mut K) {
        let addr = done.context();
        if let Some(mut block) = self.zombies.remove(&addr) {
            let _ = block.take(done);
            return;
        }
        let Some(&fd) = self.by_addr.get(&addr) else { return };
        let Some(sock) = self.socks.get_mut(&fd) else { return };
        let Some((status, events)) = sock.block.take(done) else {
            return;
        };
        let what = if status == STATUS_CANCELLED {
            What::empty()
        } else if status < 0 {
            What::READ | What::WRITE
        } else if events & AFD_POLL_LOCAL_CLOSE != 0 {
            self.forget(fd);
            return;
        } else {
            what_of(events)
        };
        let what = what & sock.interest;
        self.enqueue(fd);
        if !what.is_empty() {
            sink.io(fd, what);
        }
    }
}

impl Backend for IocpBackend {
    fn method(&self) -> &'static Method {
        &IOCP
    }

    fn change(&mut self, change: &Change) -> Result<(), Error> {
        let fd = change.fd;
        let interest = change.new & What::IO;
        if interest.is_empty() {
            self.forget(fd);
            return Ok(());
        }
        if change.old.is_empty() || !change.readd.is_empty() {
            // A new registration (maybe a new socket under a reused number):
            // resolve the base socket afresh.
            self.forget(fd);
        }
        if !self.socks.contains_key(&fd) {
            let bad = Error::InvalidHandle(fd.into());
            if !sys::is_socket(fd as RawSocket) {
                return Err(bad);
            }
            let base = sys::base_socket(fd as RawSocket).map_err(|_| bad)?;
            let block = PollBlock::new();
            self.by_addr.insert(block.addr(), fd);
            self.socks.insert(
                fd,
                Sock {
                    base,
                    interest,
                    polled: 0,
                    block,
                    queued: false,
                },
            );
        }
        if let Some(s) = self.socks.get_mut(&fd) {
            s.interest = interest;
        }
        self.enqueue(fd);
        Ok(())
    }

    fn dispatch<K: Sink>(&mut self, changes: &[Change], timeout: Option<u64>, sink: &mut K) -> Result<(), Error> {
        let timeout = timeout.map(Duration::from_nanos);
        for c in changes {
            self.change(c)?;
        }
        for i in 0..self.queue.len() {
            let fd = self.queue[i];
            self.update(fd, sink);
        }
        self.queue.clear();
        let ms = timeout.map_or(u32::MAX, sys::millis_up);
        let mut entries = core::mem::take(&mut self.entries);
        let n = self.port.wait(&mut entries, ms);
        if let Ok(n) = n {
            for done in &entries[..n] {
                if done.key() != WAKE_KEY {
                    self.complete(done, sink);
                }
            }
        }
        self.entries = entries;
        n?;
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

impl Drop for IocpBackend {
    /// Cancels every poll in flight and collects the cancelled completions
    /// (for up to a second), so that the request blocks can be freed; any
    /// still in flight after that is leaked, never freed under the kernel.
    fn drop(&mut self) {
        for s in self.socks.values() {
            s.block.cancel(&self.afd);
        }
        for b in self.zombies.values() {
            b.cancel(&self.afd);
        }
        for _ in 0..10 {
            let pending = self.socks.values().filter(|s| s.block.is_pending()).count() + self.zombies.len();
            if pending == 0 {
                break;
            }
            let mut entries = core::mem::take(&mut self.entries);
            let n = self.port.wait(&mut entries, 100).unwrap_or(0);
            for done in &entries[..n] {
                let addr = done.context();
                if let Some(mut b) = self.zombies.remove(&addr) {
                    let _ = b.take(done);
                } else if let Some(s) = self.by_addr.get(&addr).and_then(|fd| self.socks.get_mut(fd)) {
                    let _ = s.block.take(done);
                }
            }
            self.entries = entries;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_mapping() {
        assert_eq!(what_of(AFD_POLL_RECEIVE), What::READ);
        assert_eq!(what_of(AFD_POLL_SEND), What::WRITE);
        assert_eq!(what_of(AFD_POLL_DISCONNECT), What::READ | What::CLOSED);
        assert_eq!(what_of(AFD_POLL_ABORT), What::IO);
        assert_eq!(what_of(AFD_POLL_CONNECT_FAIL), What::READ | What::WRITE);
        assert_eq!(afd_events(What::CLOSED) & AFD_POLL_RECEIVE, 0);
        assert_ne!(afd_events(What::READ) & AFD_POLL_DISCONNECT, 0);
    }
}
