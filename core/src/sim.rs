//! A deterministic platform for tests and fuzzing (feature `sim`).
//!
//! Time is virtual: it moves only when the test advances it or when the
//! loop waits, in which case the backend jumps straight to the end of the
//! wait (or to the next scripted action), so nothing ever sleeps. Handles
//! are virtual too: the test makes them readable, writable or closed by the
//! peer, and raises virtual signals. Four methods mirror the real backends'
//! names and features, so selection, `ET` and `CLOSED` rules are testable.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::time::Duration;

use crate::platform::{Backend, Platform, Sink};
use crate::remote::Inbox;
use crate::{BaseFlags, Change, Config, Error, Features, Growable, Instant, Method, RemoteQueue, What, duration_nanos};

/// The simulated methods, in preference order.
pub static SIM_METHODS: [Method; 4] = [
    Method {
        name: "kqueue",
        features: Features::ET.union(Features::O1).union(Features::FDS),
        need_reinit: true,
        changelist: true,
    },
    Method {
        name: "epoll",
        features: Features::ET.union(Features::O1).union(Features::EARLY_CLOSE),
        need_reinit: true,
        changelist: false,
    },
    Method {
        name: "poll",
        features: Features::FDS.union(Features::EARLY_CLOSE),
        need_reinit: true,
        changelist: false,
    },
    Method {
        name: "select",
        features: Features::FDS,
        need_reinit: true,
        changelist: false,
    },
];

/// `epoll` opened with `EPOLL_USE_CHANGELIST`.
pub static SIM_EPOLL_CHANGELIST: Method = Method {
    name: "epoll (with changelist)",
    features: Features::ET.union(Features::O1).union(Features::EARLY_CLOSE),
    need_reinit: true,
    changelist: true,
};

/// A scheduled change to the simulated world.
pub type Action = Box<dyn FnMut(&mut World)>;

/// How many bytes a simulated socket buffers before it stops being writable.
pub const SIM_BUFFER: usize = 65536;

#[derive(Debug, Clone, Copy, Default)]
struct Handle {
    /// Bytes waiting to be read.
    buffered: usize,
    /// The other end of a socket pair.
    peer: Option<u32>,
    /// The peer closed or shut down writing: reads see EOF.
    peer_closed: bool,
    /// Closed itself.
    closed: bool,
    /// Marked readable by the test, besides buffered data.
    readable: bool,
    /// Marked unwritable by the test.
    blocked: bool,
    /// A regular file (only `FDS` methods take it).
    file: bool,
}

/// The simulated world shared by a [`SimPlatform`] and its backends.
#[derive(Default)]
pub struct World {
    now: u64,
    handles: BTreeMap<u32, Handle>,
    bytes: BTreeMap<u32, VecDeque<u8>>,
    next_handle: u32,
    signals: BTreeMap<u32, u32>,
    script: Vec<(u64, u64, Action)>,
    script_seq: u64,
    env: BTreeSet<String>,
    shown: Option<String>,
    forked: bool,
    waits: Vec<Option<Duration>>,
    /// Handles whose readiness changed since the last report (edge detection).
    edges: BTreeSet<u32>,
}

impl World {
    /// Virtual now.
    pub fn now(&self) -> Instant {
        Instant::from_nanos(self.now)
    }

    /// Moves the clock forward by `d`, running scripted actions due by then.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now.saturating_add(duration_nanos(d));
        self.run_script_until(target);
        self.now = target;
    }

    fn run_script_until(&mut self, target: u64) {
        loop {
            let Some(i) = (0..self.script.len()).min_by_key(|&i| (self.script[i].0, self.script[i].1)) else {
                return;
            };
            if self.script[i].0 > target {
                return;
            }
            let (at, _, mut action) = self.script.remove(i);
            self.now = self.now.max(at);
            action(self);
        }
    }

    fn next_action(&self) -> Option<u64> {
        self.script.iter().map(|a| a.0).min()
    }

    /// Runs `action` when virtual time reaches `now + after` (during a wait
    /// of the loop, or an [`advance`](World::advance)).
    pub fn at(&mut self, after: Duration, action: impl FnMut(&mut World) + 'static) {
        let at = self.now.saturating_add(duration_nanos(after));
        self.script_seq += 1;
        self.script.push((at, self.script_seq, Box::new(action)));
    }

    /// A new unconnected socket-like handle: writable, not readable.
    pub fn socket(&mut self) -> u32 {
        self.new_handle(false)
    }

    /// A connected pair of sockets (AF_UNIX `socketpair`).
    pub fn pair(&mut self) -> (u32, u32) {
        let (a, b) = (self.new_handle(false), self.new_handle(false));
        self.handles.get_mut(&a).expect("new handle").peer = Some(b);
        self.handles.get_mut(&b).expect("new handle").peer = Some(a);
        (a, b)
    }

    /// A new regular-file handle (always readable and writable; only `FDS` methods take it).
    pub fn file(&mut self) -> u32 {
        let fd = self.new_handle(true);
        self.handles.get_mut(&fd).expect("new handle").readable = true;
        fd
    }

    fn new_handle(&mut self, file: bool) -> u32 {
        self.next_handle += 1;
        let fd = self.next_handle + 2;
        self.handles.insert(
            fd,
            Handle {
                file,
                ..Handle::default()
            },
        );
        self.edges.insert(fd);
        fd
    }

    /// What `fd` is ready for now.
    pub fn ready(&self, fd: u32) -> What {
        let Some(h) = self.handles.get(&fd) else {
            return What::empty();
        };
        let mut w = What::empty();
        if h.readable || h.buffered > 0 || h.peer_closed {
            w |= What::READ;
        }
        let peer_room = match h.peer.and_then(|p| self.handles.get(&p)) {
            Some(p) => !p.closed && p.buffered < SIM_BUFFER,
            None => true,
        };
        if !h.blocked && (peer_room || h.peer_closed) {
            w |= What::WRITE;
        }
        if h.peer_closed {
            w |= What::CLOSED;
        }
        w
    }

    /// Changes handle `fd` (and sees whether its or its peer's readiness moved).
    fn update(&mut self, fd: u32, f: impl FnOnce(&mut World)) {
        let peer = self.handles.get(&fd).and_then(|h| h.peer);
        let before = (self.ready(fd), peer.map(|p| self.ready(p)));
        f(self);
        if self.ready(fd) != before.0 {
            self.edges.insert(fd);
        }
        if let Some(p) = peer
            && Some(self.ready(p)) != before.1
        {
            self.edges.insert(p);
        }
    }

    /// Makes `fd` readable without data, or not (for handles without a peer).
    pub fn set_readable(&mut self, fd: u32, on: bool) {
        self.update(fd, |w| {
            if let Some(h) = w.handles.get_mut(&fd) {
                h.readable = on;
            }
        });
    }

    /// Makes `fd` unwritable (`false`) or lets it follow its peer's buffer again.
    pub fn set_writable(&mut self, fd: u32, on: bool) {
        self.update(fd, |w| {
            if let Some(h) = w.handles.get_mut(&fd) {
                h.blocked = !on;
            }
        });
    }

    /// Writes `data` on `fd`: the number of bytes written, or `None` if it
    /// would block or the peer is gone (`EAGAIN`/`EPIPE`).
    pub fn write(&mut self, fd: u32, data: &[u8]) -> Option<usize> {
        let n = data.len();
        let h = *self.handles.get(&fd)?;
        let p = h.peer?;
        let peer = *self.handles.get(&p)?;
        if h.closed || peer.closed || h.blocked {
            return None;
        }
        let room = SIM_BUFFER.saturating_sub(peer.buffered).min(n);
        if room == 0 {
            return None;
        }
        self.update(fd, |w| {
            w.handles.get_mut(&p).expect("peer exists").buffered += room;
            w.bytes.entry(p).or_default().extend(&data[..room]);
        });
        Some(room)
    }

    /// Reads into `buf` from `fd`: `Some(0)` at end of file, `None` if it
    /// would block.
    pub fn read(&mut self, fd: u32, buf: &mut [u8]) -> Option<usize> {
        let n = buf.len();
        let h = *self.handles.get(&fd)?;
        if h.closed {
            return None;
        }
        let got = h.buffered.min(n);
        if got == 0 {
            return if h.peer_closed { Some(0) } else { None };
        }
        self.update(fd, |w| {
            w.handles.get_mut(&fd).expect("handle exists").buffered -= got;
            let queue = w.bytes.entry(fd).or_default();
            for (dst, src) in buf.iter_mut().zip(queue.drain(..got)) {
                *dst = src;
            }
        });
        Some(got)
    }

    /// The peer of `fd` stops writing: `fd`'s peer reads EOF (`shutdown(SHUT_WR)`).
    pub fn shutdown_write(&mut self, fd: u32) {
        if let Some(p) = self.handles.get(&fd).and_then(|h| h.peer) {
            self.update(p, |w| w.handles.get_mut(&p).expect("peer exists").peer_closed = true);
        }
    }

    /// The peer of `fd` closed: `fd` reads EOF, and `CLOSED` is reported
    /// where the method has `EARLY_CLOSE`.
    pub fn peer_close(&mut self, fd: u32) {
        self.update(fd, |w| {
            if let Some(h) = w.handles.get_mut(&fd) {
                h.peer_closed = true;
            }
        });
    }

    /// Closes `fd` itself; its peer sees EOF. A pending poll then reports
    /// `fd` ready, as for `POLLNVAL`.
    pub fn close(&mut self, fd: u32) {
        let peer = self.handles.get(&fd).and_then(|h| h.peer);
        self.update(fd, |w| {
            if let Some(h) = w.handles.get_mut(&fd) {
                h.closed = true;
            }
        });
        if let Some(p) = peer {
            self.peer_close(p);
        }
    }

    /// Delivers signal `sig` once.
    pub fn raise(&mut self, sig: u32) {
        *self.signals.entry(sig).or_default() += 1;
    }

    /// Sets environment variable `name`.
    pub fn set_env(&mut self, name: &str) {
        self.env.insert(name.to_string());
    }

    /// The method a base announced through `EVENT_SHOW_METHOD`.
    pub fn shown_method(&self) -> Option<&str> {
        self.shown.as_deref()
    }

    /// Pretends this process was forked: backends report it until `reinit`.
    pub fn fork(&mut self) {
        self.forked = true;
    }

    /// The timeout of every wait so far, in order.
    pub fn waits(&self) -> &[Option<Duration>] {
        &self.waits
    }
}

/// The simulated platform; clones share one [`World`].
#[derive(Clone)]
pub struct SimPlatform {
    world: Rc<RefCell<World>>,
    methods: &'static [Method],
    remote: Option<Arc<RemoteQueue<Growable>>>,
}

impl Default for SimPlatform {
    fn default() -> Self {
        Self::new()
    }
}

impl SimPlatform {
    /// A platform with all four simulated methods.
    pub fn new() -> Self {
        Self::with_methods(&SIM_METHODS)
    }

    /// A platform offering only `methods`.
    pub fn with_methods(methods: &'static [Method]) -> Self {
        SimPlatform {
            world: Rc::new(RefCell::new(World::default())),
            methods,
            remote: None,
        }
    }

    /// Adds a remote queue (so `Remote` operations can be tested).
    pub fn with_remote(mut self) -> Self {
        self.remote = Some(Arc::new(RemoteQueue::new()));
        self
    }

    /// The remote queue, if any.
    pub fn remote(&self) -> Option<Arc<RemoteQueue<Growable>>> {
        self.remote.clone()
    }

    /// Works on the world.
    pub fn world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.world.borrow_mut())
    }
}

impl Platform for SimPlatform {
    type Backend = SimBackend;

    fn methods(&self) -> &'static [Method] {
        self.methods
    }

    fn open(&mut self, method: &Method, config: &Config) -> Result<SimBackend, Error> {
        let method: &'static Method = match SIM_METHODS.iter().find(|m| m.name == method.name) {
            Some(m) if m.name == "epoll" && config.flags().contains(BaseFlags::EPOLL_USE_CHANGELIST) => {
                &SIM_EPOLL_CHANGELIST
            }
            Some(m) => m,
            None => return Err(Error::Unsupported(&"a method the simulation does not have")),
        };
        Ok(SimBackend {
            world: self.world.clone(),
            method,
            interest: BTreeMap::new(),
            signals: BTreeSet::new(),
            remote: self.remote.clone(),
        })
    }

    fn now(&mut self) -> Instant {
        self.world.borrow().now()
    }

    fn wall_now(&mut self) -> Option<Duration> {
        Some(Duration::from_secs(1_700_000_000) + Duration::from_nanos(self.world.borrow().now))
    }

    fn env(&self, name: &str) -> bool {
        self.world.borrow().env.contains(name)
    }

    fn show_method(&mut self, name: &str) {
        self.world.borrow_mut().shown = Some(name.to_string());
    }

    fn inbox(&self) -> Option<&dyn Inbox> {
        self.remote.as_deref().map(|r| r as &dyn Inbox)
    }
}

/// A simulated backend.
pub struct SimBackend {
    world: Rc<RefCell<World>>,
    method: &'static Method,
    interest: BTreeMap<u32, What>,
    signals: BTreeSet<u32>,
    remote: Option<Arc<RemoteQueue<Growable>>>,
}

impl SimBackend {
    fn apply(&mut self, change: &Change) -> Result<(), Error> {
        let world = self.world.borrow();
        let handle = world
            .handles
            .get(&change.fd)
            .ok_or(Error::InvalidHandle(change.fd.into()))?;
        if handle.file && !self.method.features.contains(Features::FDS) {
            return Err(Error::InvalidHandle(change.fd.into()));
        }
        drop(world);
        if change.new.intersects(What::IO) {
            self.interest.insert(change.fd, change.new);
        } else {
            self.interest.remove(&change.fd);
        }
        Ok(())
    }

    fn report<K: Sink>(&mut self, sink: &mut K) -> bool {
        let mut world = self.world.borrow_mut();
        let features = self.method.features;
        let mut any = false;
        for (&fd, &want) in &self.interest {
            let Some(h) = world.handles.get(&fd) else { continue };
            let mut ready = if h.closed {
                if self.method.name == "poll" {
                    What::READ | What::WRITE
                } else {
                    What::empty()
                }
            } else {
                world.ready(fd)
            };
            if !features.contains(Features::EARLY_CLOSE) {
                ready -= What::CLOSED;
            }
            let edge = want.contains(What::ET) && features.contains(Features::ET);
            if edge && !world.edges.contains(&fd) {
                continue;
            }
            let hit = ready & want & What::IO;
            if !hit.is_empty() {
                any = true;
                let et = if features.contains(Features::ET) {
                    What::ET
                } else {
                    What::empty()
                };
                sink.io(fd, hit | et);
            }
        }
        // Edges are consumed once reported to an edge-triggered interest.
        let interest = &self.interest;
        world
            .edges
            .retain(|fd| !interest.get(fd).is_some_and(|w| w.contains(What::ET)));
        let delivered: Vec<(u32, u32)> = world
            .signals
            .iter()
            .filter(|(s, _)| self.signals.contains(s))
            .map(|(&s, &n)| (s, n))
            .collect();
        for (sig, count) in delivered {
            world.signals.remove(&sig);
            any = true;
            sink.signal(sig, count);
        }
        any
    }
}

impl Backend for SimBackend {
    fn method(&self) -> &'static Method {
        self.method
    }

    /// A handle the world never made, or closed, is refused; so is a file
    /// where the method lacks `FDS`.
    fn check_handle(&mut self, fd: u32) -> Result<(), Error> {
        let world = self.world.borrow();
        match world.handles.get(&fd) {
            Some(h) if !h.closed && (!h.file || self.method.features.contains(Features::FDS)) => Ok(()),
            _ => Err(Error::InvalidHandle(fd.into())),
        }
    }

    fn change(&mut self, change: &Change) -> Result<(), Error> {
        self.apply(change)
    }

    fn dispatch<K: Sink>(&mut self, changes: &[Change], timeout: Option<u64>, sink: &mut K) -> Result<(), Error> {
        for change in changes.iter().filter(|c| !c.is_noop()) {
            // A refused change in a batch is dropped, as kqueue reports it per entry.
            let _ = self.apply(change);
        }
        self.world.borrow_mut().waits.push(timeout.map(Duration::from_nanos));
        if self.report(sink) || timeout == Some(0) {
            return Ok(());
        }
        if self.remote.as_ref().is_some_and(|r| r.has_pending()) {
            return Ok(());
        }
        let next = self.world.borrow().next_action();
        let now = self.world.borrow().now;
        let deadline = timeout.map(|t| now.saturating_add(t));
        let until = match (deadline, next) {
            (Some(d), Some(n)) => d.min(n),
            (Some(d), None) => d,
            (None, Some(n)) => n,
            (None, None) => return Err(Error::Unsupported(&"sim: the loop would wait forever")),
        };
        {
            let mut world = self.world.borrow_mut();
            world.run_script_until(until);
            world.now = world.now.max(until);
        }
        self.report(sink);
        Ok(())
    }

    fn add_signal(&mut self, signal: u32) -> Result<(), Error> {
        if !(1..=64).contains(&signal) {
            return Err(Error::InvalidSignal(signal));
        }
        self.signals.insert(signal);
        Ok(())
    }

    fn del_signal(&mut self, signal: u32) -> Result<(), Error> {
        self.signals.remove(&signal);
        Ok(())
    }

    fn forked(&self) -> bool {
        self.world.borrow().forked
    }

    fn reinit(&mut self) -> Result<(), Error> {
        self.world.borrow_mut().forked = false;
        self.interest.clear();
        self.signals.clear();
        Ok(())
    }
}
