//! [`WindowsPlatform`]: the core's [`Platform`] on Windows.

use std::sync::Arc;
use std::time::Duration;

use evbase_core::{
    Backend, BaseFlags, Change, Config, Error, Growable, Inbox, Instant, Method, Platform, RemoteQueue, Sink, Waker,
};

use crate::clock::Clock;
use crate::iocp::{IOCP, IocpBackend};
use crate::select::{SelectBackend, WIN32};

/// The remote queue of a Windows base. Its tables grow: nothing sent is
/// refused for want of room.
pub type Remote = RemoteQueue<Growable>;

static METHODS: [Method; 2] = [WIN32, IOCP];

/// The Windows platform: the `win32` (select) and `iocp` (AFD poll on a
/// completion port) methods, in that order of preference as in libevent,
/// where select-based `win32` stays the default.
///
/// - Clock: `QueryPerformanceCounter`, never backwards, with or without
///   `PRECISE_TIMER` (libevent's default, `GetTickCount64`, trails real
///   time by up to a 10–16 ms tick, which would let timers fire early).
///   Wall clock: the system time, advancing in step with the monotonic
///   clock (see `wall_now`).
/// - Environment: `EVENT_NOWIN32` and `EVENT_NOIOCP` skip a method;
///   `EVENT_SHOW_METHOD` prints the chosen one to standard error.
/// - [`BaseFlags::STARTUP_IOCP`] (libevent: "start the completion port at
///   construction") makes the base use the `iocp` method: `win32` declines
///   to open under it. There are no overlapped-I/O bufferevents here for a
///   separate port to serve, so the completion port *is* the loop's backend.
/// - The CPU hint is the completion port's concurrency value (see the `iocp`
///   backend); `win32` ignores it.
/// - Other threads reach the base through [`WindowsPlatform::remote`]; the
///   loop is woken by a byte on its wake socket (`win32`) or a posted
///   completion (`iocp`).
/// - Signals: `SIGINT` (2) and `SIGBREAK` (21) from the console's Ctrl+C and
///   Ctrl+Break; any other is [`Error::Unsupported`].
pub struct WindowsPlatform {
    clock: Clock,
    remote: Arc<Remote>,
}

impl core::fmt::Debug for WindowsPlatform {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WindowsPlatform")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Default for WindowsPlatform {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowsPlatform {
    /// A platform for one base.
    pub fn new() -> WindowsPlatform {
        WindowsPlatform {
            clock: Clock::default(),
            remote: Arc::new(Remote::new()),
        }
    }

    /// The queue through which other threads reach the base on this
    /// platform (activate, add, del, break, exit); sending wakes the loop.
    pub fn remote(&self) -> Arc<Remote> {
        self.remote.clone()
    }
}

/// The backend a [`WindowsPlatform`] opened.
#[derive(Debug)]
pub enum WindowsBackend {
    /// WinSock `select` (`win32`).
    Win32(SelectBackend),
    /// AFD poll on a completion port (`iocp`).
    Iocp(IocpBackend),
}

impl Backend for WindowsBackend {
    fn method(&self) -> &'static Method {
        match self {
            WindowsBackend::Win32(b) => b.method(),
            WindowsBackend::Iocp(b) => b.method(),
        }
    }

    fn change(&mut self, change: &Change) -> Result<(), Error> {
        match self {
            WindowsBackend::Win32(b) => b.change(change),
            WindowsBackend::Iocp(b) => b.change(change),
        }
    }

    fn dispatch<K: Sink>(&mut self, changes: &[Change], timeout: Option<u64>, sink: &mut K) -> Result<(), Error> {
        match self {
            WindowsBackend::Win32(b) => b.dispatch(changes, timeout, sink),
            WindowsBackend::Iocp(b) => b.dispatch(changes, timeout, sink),
        }
    }

    fn add_signal(&mut self, signal: u32) -> Result<(), Error> {
        match self {
            WindowsBackend::Win32(b) => b.add_signal(signal),
            WindowsBackend::Iocp(b) => b.add_signal(signal),
        }
    }

    fn del_signal(&mut self, signal: u32) -> Result<(), Error> {
        match self {
            WindowsBackend::Win32(b) => b.del_signal(signal),
            WindowsBackend::Iocp(b) => b.del_signal(signal),
        }
    }

    fn waker(&self) -> Option<Waker> {
        match self {
            WindowsBackend::Win32(b) => b.waker(),
            WindowsBackend::Iocp(b) => b.waker(),
        }
    }
}

impl Platform for WindowsPlatform {
    type Backend = WindowsBackend;

    fn methods(&self) -> &'static [Method] {
        &METHODS
    }

    fn open(&mut self, method: &Method, config: &Config) -> Result<WindowsBackend, Error> {
        match method.name {
            "win32" if config.flags().contains(BaseFlags::STARTUP_IOCP) => Err(Error::Unsupported(
                &"win32 steps aside under STARTUP_IOCP: the base uses the iocp method",
            )),
            "win32" => Ok(WindowsBackend::Win32(SelectBackend::new()?)),
            "iocp" => Ok(WindowsBackend::Iocp(IocpBackend::new(config.num_cpus_hint())?)),
            _ => Err(Error::Unsupported(&"Windows has only the win32 and iocp methods")),
        }
    }

    fn now(&mut self) -> Instant {
        self.clock.now()
    }

    fn wall_now(&mut self) -> Option<Duration> {
        self.clock.wall()
    }

    fn env(&self, name: &str) -> bool {
        std::env::var_os(name).is_some()
    }

    fn show_method(&mut self, name: &str) {
        eprintln!("evbase: using {name}");
    }

    fn inbox(&self) -> Option<&dyn Inbox> {
        Some(&*self.remote)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant as StdInstant;

    use evbase_core::What;

    use super::*;
    use crate::notify::{SIGBREAK, SIGINT, console_event};

    #[derive(Default)]
    struct Seen {
        io: Vec<(u32, What)>,
        signals: Vec<(u32, u32)>,
    }

    impl Sink for Seen {
        fn io(&mut self, fd: u32, what: What) {
            self.io.push((fd, what));
        }
        fn signal(&mut self, signal: u32, count: u32) {
            self.signals.push((signal, count));
        }
    }

    fn backends() -> Vec<WindowsBackend> {
        let mut p = WindowsPlatform::new();
        METHODS
            .iter()
            .map(|m| p.open(m, &Config::default()).expect("opens"))
            .collect()
    }

    /// Console control events reach every backend watching the signal, wake
    /// its wait, and are counted; unwatched ones are declined.
    #[test]
    fn console_events_are_signals() {
        for mut b in backends() {
            assert!(matches!(b.add_signal(15), Err(Error::Unsupported(_))));
            b.add_signal(SIGINT).unwrap();
            b.add_signal(SIGBREAK).unwrap();
            assert!(console_event(0));
            assert!(console_event(0));
            assert!(console_event(1));
            let start = StdInstant::now();
            let mut seen = Seen::default();
            b.dispatch(&[], Some(5_000_000_000), &mut seen).unwrap();
            assert!(start.elapsed() < Duration::from_secs(4), "{}: woken", b.method().name);
            assert_eq!(seen.signals, [(SIGINT, 2), (SIGBREAK, 1)], "{}", b.method().name);
            b.del_signal(SIGINT).unwrap();
            b.del_signal(SIGBREAK).unwrap();
        }
        assert!(!console_event(0), "nobody watches: the default action applies");
    }

    /// A waker wakes a wait from another thread, and reports nothing itself.
    #[test]
    fn waker_wakes_from_another_thread() {
        for mut b in backends() {
            let w = b.waker().expect("a waker");
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                w.wake();
            });
            let start = StdInstant::now();
            let mut seen = Seen::default();
            b.dispatch(&[], Some(5_000_000_000), &mut seen).unwrap();
            t.join().unwrap();
            assert!(start.elapsed() < Duration::from_secs(4), "{}: woken", b.method().name);
            assert!(seen.io.is_empty() && seen.signals.is_empty());
        }
    }

    /// A waker that outlives its backend does nothing.
    #[test]
    fn stale_waker_is_harmless() {
        for b in backends() {
            let w = b.waker().expect("a waker");
            drop(b);
            w.wake();
        }
    }

    /// A wait never ends before its timeout.
    #[test]
    fn timeouts_round_up() {
        let mut clock = Clock::default();
        for mut b in backends() {
            for d in [Duration::from_micros(1500), Duration::from_millis(30)] {
                let start = clock.now();
                let mut seen = Seen::default();
                b.dispatch(&[], Some(evbase_core::duration_nanos(d)), &mut seen)
                    .unwrap();
                let took = clock.now().saturating_since(start);
                assert!(
                    took + Duration::from_millis(1) >= d,
                    "{}: {took:?} < {d:?}",
                    b.method().name
                );
            }
        }
    }
}
