//! The Windows platform in the suite: the `win32` (select) and `iocp` (AFD
//! poll) backends on real loopback sockets. On Linux CI it runs under Wine.
//!
//! Besides [`TestPlatform`], the cases that need Windows-only sockets live
//! here: `many_events` (70 UDP sockets, past the 64-socket `FD_SETSIZE`),
//! a failed non-blocking connect, bad handles, and remote wake-ups.

use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::os::windows::io::IntoRawSocket;
use std::rc::Rc;
use std::time::Duration;

use evbase_core::{BaseFlags, Callback, Config, Error, EventBase, Exit, LoopFlags, Source, Storage, What};
use evbase_windows::WindowsPlatform;

use crate::{TestPlatform, new_base};

/// The variants: libevent's `win32` (select) and the `iocp` readiness backend.
pub const VARIANTS: [&str; 2] = ["win32", "iocp"];

/// The config that makes a Windows base use `variant` (`win32` or `iocp`).
///
/// # Errors
/// [`Error::InvalidArgument`] for an unknown variant.
pub fn windows_variant(variant: &str) -> Result<Config, Error> {
    let other = match variant {
        "win32" => "iocp",
        "iocp" => "win32",
        _ => return Err(Error::InvalidArgument(&"unknown Windows variant")),
    };
    let mut config = Config::default();
    config.avoid_method(other)?;
    Ok(config)
}

impl TestPlatform for WindowsPlatform {
    /// Scheduling noise under Wine on a shared 2-core machine; libevent's
    /// own timing checks allow 100 ms too.
    const TOLERANCE: Duration = Duration::from_millis(100);

    fn make(variant: &str) -> (Self, Config) {
        (
            WindowsPlatform::new(),
            windows_variant(variant).expect("a Windows variant"),
        )
    }

    fn socketpair(&mut self) -> (u32, u32) {
        evbase_windows::socketpair().expect("a loopback socket pair")
    }

    fn send(&mut self, fd: u32, data: &[u8]) -> Option<usize> {
        evbase_windows::send(fd, data).ok()
    }

    fn recv(&mut self, fd: u32, buf: &mut [u8]) -> Option<usize> {
        evbase_windows::recv(fd, buf).ok()
    }

    fn shutdown_write(&mut self, fd: u32) {
        let _ = evbase_windows::shutdown_write(fd);
    }

    fn close(&mut self, fd: u32) {
        let _ = evbase_windows::close(fd);
    }

    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// How many sockets `many_events` watches: more than `FD_SETSIZE` (64).
pub const MANY: usize = 70;

/// A UDP socket on loopback: writable at once.
fn udp_socket() -> u32 {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("a UDP socket");
    s.set_nonblocking(true).expect("non-blocking");
    evbase_windows::handle_of(s.into_raw_socket()).expect("a handle that fits")
}

/// libevent `main/many_events` and `main/many_events_slow_add`: 70 writable
/// UDP sockets (past select's 64-socket default) in one base.
///
/// - `slow_add == false`: non-persistent write events, all added, then one
///   `NONBLOCK` loop: each fires exactly once.
/// - `slow_add == true`: persistent events, each add followed by a
///   `ONCE | NONBLOCK` loop, then one more: event `i` fires `70 - i + 1`
///   times (once in every loop from its own add on, plus the last).
///
/// # Panics
/// When a count differs.
pub fn many_events<S: Storage>(variant: &str, slow_add: bool) {
    let mut base = new_base::<WindowsPlatform, S>(variant);
    let called: Vec<Rc<Cell<usize>>> = (0..MANY).map(|_| Rc::new(Cell::new(0))).collect();
    let mut sockets = Vec::new();
    let (flags, loop_flags) = if slow_add {
        (What::WRITE | What::PERSIST, LoopFlags::NONBLOCK | LoopFlags::ONCE)
    } else {
        (What::WRITE, LoopFlags::NONBLOCK)
    };
    let mut ids = Vec::new();
    for c in &called {
        let fd = udp_socket();
        sockets.push(fd);
        let c = c.clone();
        let ev = base
            .new_event(Source::Fd(fd), flags, Callback::new(move |_, _, _| c.set(c.get() + 1)))
            .expect("new_event");
        base.add(ev, None).expect("add");
        ids.push(ev);
        if slow_add {
            base.run(LoopFlags::NONBLOCK | LoopFlags::ONCE).expect("loop");
        }
    }
    base.run(loop_flags).expect("loop");
    let counts: Vec<usize> = called.iter().map(|c| c.get()).collect();
    let expected: Vec<usize> = (0..MANY).map(|i| if slow_add { MANY - i + 1 } else { 1 }).collect();
    assert_eq!(counts, expected, "{variant}: calls per event");
    for id in ids {
        base.free(id).expect("free");
    }
    for fd in sockets {
        evbase_windows::close(fd).expect("close");
    }
}

/// A non-blocking connect that fails (nobody listens) is reported as
/// `WRITE`: through select's exception set (`win32`), or AFD's
/// `CONNECT_FAIL` (`iocp`).
///
/// # Panics
/// When nothing fires within two seconds, or something else than `WRITE`.
pub fn failed_connect_is_write<S: Storage>(variant: &str) {
    // A port nobody listens on: bind one, then close it.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut base = new_base::<WindowsPlatform, S>(variant);
    let fd = evbase_windows::connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).expect("connect starts");
    let got = Rc::new(Cell::new(What::empty()));
    let g = got.clone();
    let ev = base
        .new_event(
            Source::Fd(fd),
            What::WRITE,
            Callback::new(move |_, _, what| g.set(what)),
        )
        .expect("new_event");
    // Windows retries a refused SYN for about two seconds; Wine fails at once.
    base.add(ev, Some(Duration::from_secs(5))).expect("add");
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(
        got.get(),
        What::WRITE,
        "{variant}: the failed connect is writable, not a timeout"
    );
    base.free(ev).unwrap();
    evbase_windows::close(fd).unwrap();
}

/// A listening socket with a connection waiting is readable (select's read
/// set; AFD's `ACCEPT` event).
///
/// # Panics
/// When the read event does not fire.
pub fn pending_accept_is_read<S: Storage>(variant: &str) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("its address");
    let fd = evbase_windows::handle_of(listener.into_raw_socket()).expect("a handle that fits");
    let mut base = new_base::<WindowsPlatform, S>(variant);
    let got = Rc::new(Cell::new(What::empty()));
    let g = got.clone();
    let ev = base
        .new_event(Source::Fd(fd), What::READ, Callback::new(move |_, _, what| g.set(what)))
        .expect("new_event");
    base.add(ev, Some(Duration::from_secs(5))).expect("add");
    assert_eq!(base.run(LoopFlags::NONBLOCK), Ok(Exit::Done));
    assert!(got.get().is_empty(), "{variant}: readable with nobody connecting");
    let client = std::net::TcpStream::connect(addr).expect("connect");
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(got.get(), What::READ, "{variant}: a connection waits");
    drop(client);
    base.free(ev).unwrap();
    evbase_windows::close(fd).unwrap();
}

/// A handle that is not a socket is refused at `add` with
/// [`Error::InvalidHandle`], and the base keeps working.
///
/// # Panics
/// When it is accepted.
pub fn bad_handle_is_refused<S: Storage>(variant: &str) {
    let mut base = new_base::<WindowsPlatform, S>(variant);
    // A socket number that was valid and is closed now.
    let (a, b) = evbase_windows::socketpair().unwrap();
    evbase_windows::close(a).unwrap();
    let ev = base
        .new_event(Source::Fd(a), What::READ, Callback::new(|_, _, _| {}))
        .unwrap();
    assert_eq!(base.add(ev, None), Err(Error::InvalidHandle(a.into())));
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    let ok = base
        .new_event(Source::Fd(b), What::WRITE, Callback::new(move |_, _, _| f.set(true)))
        .unwrap();
    base.add(ok, None).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert!(fired.get());
    evbase_windows::close(b).unwrap();
}

/// Another thread wakes a loop that waits with nothing to do, through the
/// platform's remote queue (`activate` then `loop_break`).
///
/// # Panics
/// When the loop is not woken within the five-second failsafe.
pub fn remote_wakes_the_loop<S: Storage>(variant: &str) {
    let mut base = new_base::<WindowsPlatform, S>(variant);
    let remote = base.platform().remote();
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    let ev = base
        .new_event(
            Source::None,
            What::empty(),
            Callback::new(move |_, _, _| h.set(h.get() + 1)),
        )
        .unwrap();
    let failsafe = base
        .new_event(Source::None, What::empty(), Callback::new(|b, _, _| b.loop_break()))
        .unwrap();
    base.add(failsafe, Some(Duration::from_secs(5))).unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        remote.activate(ev, What::TIMEOUT).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        remote.loop_break().unwrap();
    });
    let start = std::time::Instant::now();
    assert_eq!(base.run(LoopFlags::NO_EXIT_ON_EMPTY), Ok(Exit::Done));
    t.join().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{variant}: woken by the remote queue"
    );
    assert_eq!(hits.get(), 1);
}

/// `STARTUP_IOCP` gives the `iocp` method; the CPU hint is accepted.
///
/// # Panics
/// When another method is chosen.
pub fn startup_iocp<S: Storage>() {
    let mut config = Config::default();
    config.set_flag(BaseFlags::STARTUP_IOCP).set_num_cpus_hint(4);
    let base = EventBase::<WindowsPlatform, S>::with_config(WindowsPlatform::new(), &config).unwrap();
    assert_eq!(base.method().name, "iocp");
    let base = EventBase::<WindowsPlatform, S>::new(WindowsPlatform::new()).unwrap();
    assert_eq!(base.method().name, "win32", "select stays the default, as in libevent");
}

/// The config of `variant` in each timing mode of [`crate::real_clock::MODES`],
/// with its label.
fn timing_modes(variant: &str) -> impl Iterator<Item = (String, Config)> {
    crate::real_clock::MODES.into_iter().map(move |(mode, flags)| {
        let mut config = windows_variant(variant).unwrap();
        config.set_flag(flags);
        (format!("{variant}/{mode}"), config)
    })
}

/// Random one-shot timers ([`crate::real_clock::one_shot`], `n` of each
/// kind) never fire early on the real clock, in every timing mode.
///
/// # Panics
/// When one does.
pub fn real_clock_one_shot(variant: &str, n: usize) {
    for (label, config) in timing_modes(variant) {
        let platform = WindowsPlatform::new();
        let remote = platform.remote();
        let sender = crate::real_clock::Remote {
            add: Box::new(move |id, d| remote.add(id, Some(d)).is_ok()),
        };
        crate::real_clock::one_shot(&label, platform, &config, sender, n);
    }
}

/// Persistent timers over a second never fire early on the real clock, in
/// every timing mode.
///
/// # Panics
/// When one does.
pub fn real_clock_persistent(variant: &str) {
    for (label, config) in timing_modes(variant) {
        crate::real_clock::persistent(&label, WindowsPlatform::new(), &config);
    }
}

/// `loop_exit` with a 1 ms ticker running never returns early on the real
/// clock, in every timing mode (`runs` short runs after the 1 s one).
///
/// # Panics
/// When one does.
pub fn real_clock_loop_exit(variant: &str, runs: usize) {
    for (label, config) in timing_modes(variant) {
        crate::real_clock::loop_exit_with_ticker(&label, WindowsPlatform::new(), &config, runs);
    }
}

/// Instantiates the conformance suite and the Windows-only cases for one
/// variant.
#[macro_export]
macro_rules! windows_suite {
    ($variant:expr) => {
        use evbase_core::Growable;
        use evbase_windows::WindowsPlatform;

        evbase_tests::conformance!(WindowsPlatform, Growable, $variant);

        #[test]
        fn many_events() {
            evbase_tests::windows::many_events::<Growable>($variant, false);
        }

        #[test]
        fn many_events_slow_add() {
            evbase_tests::windows::many_events::<Growable>($variant, true);
        }

        #[test]
        fn failed_connect_is_write() {
            evbase_tests::windows::failed_connect_is_write::<Growable>($variant);
        }

        #[test]
        fn pending_accept_is_read() {
            evbase_tests::windows::pending_accept_is_read::<Growable>($variant);
        }

        #[test]
        fn bad_handle_is_refused() {
            evbase_tests::windows::bad_handle_is_refused::<Growable>($variant);
        }

        #[test]
        fn remote_wakes_the_loop() {
            evbase_tests::windows::remote_wakes_the_loop::<Growable>($variant);
        }

        #[test]
        fn real_clock_one_shot() {
            evbase_tests::windows::real_clock_one_shot($variant, 300);
        }

        #[test]
        fn real_clock_persistent() {
            evbase_tests::windows::real_clock_persistent($variant);
        }

        #[test]
        fn real_clock_loop_exit() {
            evbase_tests::windows::real_clock_loop_exit($variant, 100);
        }

        #[test]
        fn startup_iocp() {
            evbase_tests::windows::startup_iocp::<Growable>();
        }
    };
}
