//! # evbase-posix
//!
//! The POSIX platform of [evbase](evbase_core): libevent's `event_base` on
//! epoll (Linux), kqueue (BSD, macOS), poll and select, with the monotonic
//! clocks, a signal handler that reaches every base, a wake-up notifier for
//! other threads, and `fork` support.
//!
//! One [`PosixPlatform`] serves one base. Its methods, most preferred first,
//! are kqueue, epoll, poll and select, as far as the OS has them; the
//! config and the `EVENT_NO<METHOD>` variables choose among them as in
//! libevent. On Linux io_uring comes last: it is chosen when asked for
//! (`Config::prefer_method("io_uring")`, the `EVENT_IO_URING` variable), and
//! where the kernel refuses it the base opens epoll and the selection
//! report says why.
//!
//! ```
//! use std::io::Write;
//! use std::os::fd::AsRawFd;
//! use evbase_core::{Callback, EventBase, EventId, Exit, Fixed, Source, What};
//! use evbase_posix::{PosixPlatform, socketpair};
//!
//! type Base = EventBase<PosixPlatform, Fixed<64>>;
//!
//! fn on_read(base: &mut Base, _ev: EventId, what: What, _arg: usize) {
//!     assert!(what.contains(What::READ));
//!     base.loop_break();
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut base = Base::new(PosixPlatform::new())?;
//! let (a, b) = socketpair()?;
//! let ev = base.new_event(Source::Fd(b.as_raw_fd() as u32), What::READ, Callback::from_fn(on_read, 0))?;
//! base.add(ev, None)?;
//! std::os::unix::net::UnixStream::from(a).write_all(b"ping")?;
//! assert_eq!(base.dispatch()?, Exit::Done);
//! # Ok(())
//! # }
//! ```
//!
//! ## Choices that differ from libevent
//! - Every base that watches a signal receives it (libevent: only the last
//!   one); see the `signal` notes on [`PosixPlatform`].
//! - With `PRECISE_TIMER`, epoll waits with `epoll_pwait2` and falls back to
//!   a timerfd at run time when the kernel lacks it.
//! - The base's clock is `CLOCK_MONOTONIC`, not `CLOCK_MONOTONIC_COARSE`
//!   (libevent's default), which trails real time by a tick and more: no
//!   timer fires before its duration has passed on the real clock.
//! - select reports a closed fd as READ|WRITE instead of failing the loop;
//!   kqueue reports `EV_EOF` as CLOSED.
//! - An fd that is not open is refused at `add` with `InvalidHandle` on
//!   every backend: poll, select, kqueue and epoll with the changelist ask
//!   `fcntl(F_GETFD)` when an fd gets its first event; plain epoll's
//!   `epoll_ctl` refuses it at no extra call.
//! - A call that fails leaves nothing open: a refused signal closes the
//!   signal pipe it opened; `reinit` opens the new kernel object, notifier
//!   and signal pipe before it closes the old ones, so running out of fds
//!   leaves the backend as it was.
#![deny(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::sync::{Arc, Once};

use evbase_core::{Change, Config, Error, Growable, Inbox, Instant, Method, Platform, RemoteQueue, Sink, Waker};

mod clock;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod epoll;
mod internal;
#[cfg(kqueue)]
mod kqueue;
mod poll;
mod select;
mod signal;
mod socket;
mod sys;
#[cfg(io_uring)]
mod uring;
mod wake;

#[cfg(any(target_os = "linux", target_os = "android"))]
pub use epoll::{EPOLL, EPOLL_CHANGELIST, Epoll};
#[cfg(kqueue)]
pub use kqueue::{KQUEUE, Kqueue};
pub use poll::{POLL, Poll};
pub use select::{SELECT, Select};
pub use signal::{MAX_SIGNALS, MAX_SUBSCRIBERS, handler_installed};
pub use socket::socketpair;
#[cfg(io_uring)]
pub use uring::Uring;
pub use wake::MAX_WAKERS;

/// The remote queue of a POSIX base: other threads reach the base through
/// it (see [`PosixPlatform::with_remote`]). Its tables grow: nothing sent
/// is refused for want of room.
pub type Remote = RemoteQueue<Growable>;

/// The methods of this OS, most preferred first. io_uring comes last: it
/// is chosen only when asked for (`Config::prefer_method`, `EVENT_IO_URING`)
/// until measurements make it the default.
#[cfg(target_os = "linux")]
static METHODS: [Method; 4] = [epoll::EPOLL, poll::POLL, select::SELECT, IO_URING];

/// `io_uring`: tried last by the platform, so chosen only when asked for
/// (`Config::prefer_method("io_uring")`, `EVENT_IO_URING`) or when every
/// other method is ruled out. Listed on every Linux; where the io-uring
/// crate has no bindings for the architecture (s390x, 32-bit targets), it
/// is refused at open with that reason.
#[cfg(target_os = "linux")]
pub static IO_URING: Method = Method {
    name: "io_uring",
    features: evbase_core::Features::ET
        .union(evbase_core::Features::O1)
        .union(evbase_core::Features::EARLY_CLOSE),
    need_reinit: true,
    changelist: true,
};
#[cfg(target_os = "android")]
static METHODS: [Method; 3] = [epoll::EPOLL, poll::POLL, select::SELECT];
#[cfg(kqueue)]
static METHODS: [Method; 3] = [kqueue::KQUEUE, poll::POLL, select::SELECT];
#[cfg(not(any(target_os = "linux", target_os = "android", kqueue)))]
static METHODS: [Method; 2] = [poll::POLL, select::SELECT];

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static ATFORK: Once = Once::new();

extern "C" fn forked_child() {
    FORK_GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// Refuses `fd` unless it is an open descriptor (`fcntl(F_GETFD)`, one
/// cheap call): [`Backend::check_handle`](evbase_core::Backend::check_handle)
/// of poll, select, kqueue and epoll with the changelist. (poll would report
/// a never-opened fd as ready, select would never report it, and a
/// changelist would drop it at the next dispatch; epoll's `epoll_ctl`
/// refuses it itself.)
pub(crate) fn check_open(fd: u32) -> Result<(), Error> {
    if fd <= i32::MAX as u32 && sys::is_open(fd as i32) {
        Ok(())
    } else {
        Err(Error::InvalidHandle(fd.into()))
    }
}

/// How many times this process is a forked child (counted by a
/// `pthread_atfork` handler, so checking costs one atomic load).
pub(crate) fn fork_generation() -> u64 {
    ATFORK.call_once(|| {
        // Without the handler a forked child is not detected; nothing else
        // breaks.
        let _ = sys::atfork_child(forked_child);
    });
    FORK_GENERATION.load(Ordering::SeqCst)
}

/// The platform of one POSIX base: its clock (with the ratchet), its
/// environment, and the backends it opens.
///
/// **Signals.** The process has one handler per signal, installed with
/// `sigaction` when the first base starts watching the signal (the previous
/// disposition is saved) and restored when the last one stops. Each base
/// watching a signal gets every delivery through its own self-pipe, with
/// deliveries coalesced into the callbacks' `ncalls` — unlike libevent,
/// where only the most recent base receives signals. kqueue bases use
/// `EVFILT_SIGNAL`, which also reaches every kqueue.
///
/// **fork.** A base used in a forked child must be [reinitialised]
/// (`EventBase::reinit`) first; until then its loop returns
/// `Error::Forked` and its interest changes do not touch the kernel object
/// shared with the parent.
///
/// [reinitialised]: evbase_core::EventBase::reinit
pub struct PosixPlatform {
    clock: clock::Clock,
    remote: Option<Arc<Remote>>,
    untrusted_env: bool,
    force_timerfd: bool,
    refuse_io_uring: bool,
    announce: fn(&str),
}

impl core::fmt::Debug for PosixPlatform {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PosixPlatform")
            .field("clock", &self.clock)
            .field("remote", &self.remote.is_some())
            .field("untrusted_env", &self.untrusted_env)
            .field("refuse_io_uring", &self.refuse_io_uring)
            .finish()
    }
}

impl Default for PosixPlatform {
    fn default() -> Self {
        Self::new()
    }
}

impl PosixPlatform {
    /// A platform with every method of this OS and no remote queue.
    pub fn new() -> Self {
        fork_generation();
        PosixPlatform {
            clock: clock::Clock::new(),
            remote: None,
            untrusted_env: sys::is_setugid(),
            force_timerfd: false,
            refuse_io_uring: false,
            announce: |name| eprintln!("evbase using: {name}"),
        }
    }

    /// Sets how `EVENT_SHOW_METHOD` tells the user which method a base
    /// uses (by default `evbase using: NAME` on standard error; the C
    /// library says it as libevent does, through its log callback).
    pub fn with_show_method(mut self, announce: fn(&str)) -> Self {
        self.announce = announce;
        self
    }

    /// Attaches `remote`, through which other threads reach the base; the
    /// base installs its backend's waker in it.
    pub fn with_remote(mut self, remote: Arc<Remote>) -> Self {
        self.remote = Some(remote);
        self
    }

    /// The attached remote queue, if any.
    pub fn remote(&self) -> Option<&Arc<Remote>> {
        self.remote.as_ref()
    }

    /// Makes epoll's precise waits use the timerfd fallback from the start,
    /// as on a kernel without `epoll_pwait2` (for testing that path).
    pub fn force_timerfd(mut self) -> Self {
        self.force_timerfd = true;
        self
    }

    /// Makes io_uring refuse to open as on a kernel without it (`ENOSYS`),
    /// for testing the fallback to epoll and its report.
    pub fn refuse_io_uring(mut self) -> Self {
        self.refuse_io_uring = true;
        self
    }
}

impl Platform for PosixPlatform {
    type Backend = PosixBackend;

    fn methods(&self) -> &'static [Method] {
        &METHODS
    }

    // Only epoll and io_uring read the config: epoll's changelist, and
    // PRECISE_TIMER for sub-millisecond waits (the clock is CLOCK_MONOTONIC
    // for every method).
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(unused_variables))]
    fn open(&mut self, method: &Method, config: &Config) -> Result<PosixBackend, Error> {
        match method.name {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            "epoll" => Ok(PosixBackend::Epoll(Epoll::open(
                config.flags().contains(evbase_core::BaseFlags::EPOLL_USE_CHANGELIST),
                config.flags().contains(evbase_core::BaseFlags::PRECISE_TIMER),
                self.force_timerfd,
            )?)),
            #[cfg(io_uring)]
            "io_uring" => Ok(PosixBackend::Uring(Uring::open(
                config.flags().contains(evbase_core::BaseFlags::PRECISE_TIMER),
                self.refuse_io_uring,
            )?)),
            #[cfg(all(target_os = "linux", not(io_uring)))]
            "io_uring" => Err(Error::Unsupported(
                &"io_uring: the io-uring crate has no bindings for this architecture",
            )),
            #[cfg(kqueue)]
            "kqueue" => Ok(PosixBackend::Kqueue(Kqueue::open()?)),
            "poll" => Ok(PosixBackend::Poll(Poll::open()?)),
            "select" => Ok(PosixBackend::Select(Select::open()?)),
            _ => Err(Error::Unsupported(&"a method this OS does not have")),
        }
    }

    fn now(&mut self) -> Instant {
        self.clock.now()
    }

    fn wall_now(&mut self) -> Option<Duration> {
        self.clock.wall()
    }

    /// Whether `name` is set in the environment; never in a setuid or
    /// setgid process (real and effective ids differ).
    fn env(&self, name: &str) -> bool {
        !self.untrusted_env && std::env::var_os(name).is_some()
    }

    /// Tells the user the method, as set by [`PosixPlatform::with_show_method`].
    fn show_method(&mut self, name: &str) {
        (self.announce)(name);
    }

    fn inbox(&self) -> Option<&dyn Inbox> {
        self.remote.as_deref().map(|r| r as &dyn Inbox)
    }
}

/// The backend a [`PosixPlatform`] opened.
#[derive(Debug)]
pub enum PosixBackend {
    /// epoll, with or without the changelist.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Epoll(Epoll),
    /// io_uring.
    #[cfg(io_uring)]
    Uring(Uring),
    /// kqueue.
    #[cfg(kqueue)]
    Kqueue(Kqueue),
    /// poll.
    Poll(Poll),
    /// select.
    Select(Select),
}

macro_rules! each {
    ($self:expr, $b:ident => $e:expr) => {
        match $self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            PosixBackend::Epoll($b) => $e,
            #[cfg(io_uring)]
            PosixBackend::Uring($b) => $e,
            #[cfg(kqueue)]
            PosixBackend::Kqueue($b) => $e,
            PosixBackend::Poll($b) => $e,
            PosixBackend::Select($b) => $e,
        }
    };
}

impl evbase_core::Backend for PosixBackend {
    fn method(&self) -> &'static Method {
        each!(self, b => b.method())
    }

    fn check_handle(&mut self, fd: u32) -> Result<(), Error> {
        each!(self, b => b.check_handle(fd))
    }

    fn change(&mut self, change: &Change) -> Result<(), Error> {
        each!(self, b => b.change(change))
    }

    fn dispatch<K: Sink>(&mut self, changes: &[Change], timeout: Option<u64>, sink: &mut K) -> Result<(), Error> {
        each!(self, b => b.dispatch(changes, timeout, sink))
    }

    fn add_signal(&mut self, signal: u32) -> Result<(), Error> {
        each!(self, b => b.add_signal(signal))
    }

    fn del_signal(&mut self, signal: u32) -> Result<(), Error> {
        each!(self, b => b.del_signal(signal))
    }

    fn waker(&self) -> Option<Waker> {
        each!(self, b => b.waker())
    }

    fn forked(&self) -> bool {
        each!(self, b => evbase_core::Backend::forked(b))
    }

    fn reinit(&mut self) -> Result<(), Error> {
        each!(self, b => b.reinit())
    }
}
