//! A tour of evbase on this machine: the methods it has and the one it
//! picks, `Config`, priorities, timers, a socket ping-pong that ends with
//! the peer closing, a signal, a wake-up from another thread and, on Unix,
//! a fork. Each step says what happened; the exit code is 0 only if
//! everything happened as expected.
//!
//! ```text
//! cargo run --release -p evbase-std --example tour
//! ```

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use evbase_std::evbase_core::Error as CoreError;
use evbase_std::prelude::*;
use evbase_std::{BaseFlags, supported_methods};

type Outcome = Result<(), Box<dyn std::error::Error>>;

/// One step of the tour.
type Step = fn(&mut Report) -> Outcome;

/// Counts what did not happen as expected.
#[derive(Default)]
struct Report {
    failures: u32,
}

impl Report {
    fn check(&mut self, ok: bool, what: impl AsRef<str>) {
        println!("  [{}] {}", if ok { " ok " } else { "FAIL" }, what.as_ref());
        if !ok {
            self.failures += 1;
        }
    }
}

fn main() -> ExitCode {
    let mut report = Report::default();
    let steps: [(&str, Step); 9] = [
        ("methods", methods),
        ("config", config),
        ("priorities", priorities),
        ("timers", timers),
        ("socket ping-pong", ping_pong),
        ("signal", signal),
        ("wake-up from another thread", wake_up),
        ("del_wait from another thread", del_wait),
        ("fork", fork),
    ];
    for (name, step) in steps {
        println!("\n== {name}");
        if let Err(e) = step(&mut report) {
            report.check(false, format!("{name}: {e}"));
        }
    }
    println!();
    if report.failures == 0 {
        println!("tour: everything happened as expected");
        ExitCode::SUCCESS
    } else {
        println!("tour: {} thing(s) did not happen as expected", report.failures);
        ExitCode::FAILURE
    }
}

/// The methods of this OS, and the one a default base takes.
fn methods(report: &mut Report) -> Outcome {
    println!("  supported methods, most preferred first:");
    for m in supported_methods() {
        println!("    {:<8} features {:?}", m.name, m.features);
    }
    let base = EventBase::new()?;
    println!(
        "  a default base uses {} with {:?} (EVENT_NO<METHOD>=1 skips a method, EVENT_SHOW_METHOD=1 prints the choice)",
        base.method().name,
        base.features()
    );
    report.check(
        // "epoll (with changelist)" is epoll opened with a changelist.
        supported_methods()
            .iter()
            .any(|m| base.method().name.starts_with(m.name)),
        "the chosen method is one of the supported ones",
    );
    Ok(())
}

/// `Config`: avoid a method, require a feature, and what an impossible
/// config reports.
fn config(report: &mut Report) -> Outcome {
    // IGNORE_ENV: these configs mean the same whatever EVENT_NO<METHOD> says.
    let first = supported_methods()[0].name;
    let mut avoid = Config::new();
    avoid.set_flag(BaseFlags::IGNORE_ENV).avoid_method(first)?;
    let base = EventBase::with_config(&avoid)?;
    println!("  avoiding {first}: {}", base.method().name);
    report.check(
        base.method().name != first,
        format!("a base avoiding {first} uses another method"),
    );

    let mut fds = Config::new();
    fds.set_flag(BaseFlags::IGNORE_ENV).require_features(Features::FDS);
    match EventBase::with_config(&fds) {
        Ok(base) => {
            println!("  requiring FDS (any file descriptor): {}", base.method().name);
            report.check(base.features().contains(Features::FDS), "the chosen method has FDS");
        }
        Err(e) => {
            println!("  requiring FDS: {e}");
            report.check(
                supported_methods().iter().all(|m| !m.features.contains(Features::FDS)),
                "no method has FDS",
            );
        }
    }

    let mut nothing = Config::new();
    for m in supported_methods() {
        nothing.avoid_method(m.name)?;
    }
    match EventBase::with_config(&nothing) {
        Ok(base) => report.check(
            false,
            format!("avoiding every method still gave {}", base.method().name),
        ),
        Err(e) => {
            println!("  avoiding every method: {e}");
            report.check(
                matches!(e.core(), Some(CoreError::NoBackend)),
                "that is refused, with the reasons",
            );
        }
    }
    Ok(())
}

/// Three priorities: events activated together run most urgent first.
fn priorities(report: &mut Report) -> Outcome {
    let mut base = EventBase::new()?;
    base.priority_init(3)?;
    let order = Rc::new(RefCell::new(Vec::new()));
    let mut ids = Vec::new();
    for priority in [2, 1, 0] {
        let order = Rc::clone(&order);
        let id = base.new_event(Source::None, What::empty(), move |_, _, _| {
            order.borrow_mut().push(priority)
        })?;
        base.set_priority(id, priority)?;
        ids.push(id);
    }
    for &id in &ids {
        base.active(id, What::TIMEOUT, 1)?;
    }
    base.dispatch()?;
    println!(
        "  activated in priority order 2, 1, 0; ran in order {:?}",
        order.borrow()
    );
    report.check(*order.borrow() == [0, 1, 2], "priority 0 ran first, 2 last");
    Ok(())
}

/// A persistent 10 ms timer (no drift) and three events on one common
/// 25 ms timeout (O(1) queue instead of the heap).
fn timers(report: &mut Report) -> Outcome {
    let mut base = EventBase::new()?;
    let start = Instant::now();
    let ticks = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&ticks);
    base.interval(Duration::from_millis(10), move |base, id, what| {
        assert_eq!(what, What::TIMEOUT);
        log.borrow_mut().push(start.elapsed());
        if log.borrow().len() == 5 {
            base.del(id).unwrap();
        }
    })?;

    let common = base.init_common_timeout(Duration::from_millis(25))?;
    let fired = Rc::new(RefCell::new(Vec::new()));
    for n in 0..3 {
        let fired = Rc::clone(&fired);
        let id = base.timer(move |_, _, _| fired.borrow_mut().push((n, start.elapsed())))?;
        base.add_common(id, common)?;
    }
    let exit = base.dispatch()?;

    let ticks = ticks.borrow();
    println!(
        "  persistent timer ticks at {:?}",
        ticks.iter().map(ms).collect::<Vec<_>>()
    );
    report.check(
        ticks.len() == 5,
        "the persistent timer ticked 5 times, then was deleted",
    );
    report.check(
        ticks
            .iter()
            .enumerate()
            .all(|(i, t)| *t >= Duration::from_millis(10 * (i as u64 + 1))),
        "no tick came early",
    );
    report.check(
        ticks.last().is_some_and(|t| *t < Duration::from_millis(50 + 40)),
        "no drift: the 5th tick came about 50 ms after the start",
    );
    let fired = fired.borrow();
    println!(
        "  common 25 ms timeout fired {:?}",
        fired
            .iter()
            .map(|(n, t)| format!("#{n} at {}", ms(t)))
            .collect::<Vec<_>>()
    );
    report.check(
        fired.iter().map(|(n, _)| *n).collect::<Vec<_>>() == [0, 1, 2],
        "its events fired in the order they were added",
    );
    report.check(
        fired.iter().all(|(_, t)| *t >= Duration::from_millis(25)),
        "none before 25 ms",
    );
    report.check(
        exit == Exit::NoEvents,
        "the loop returned when nothing was left pending",
    );
    Ok(())
}

fn ms(d: &Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A connected, non-blocking stream pair: `socketpair` on Unix, loopback
/// TCP on Windows.
#[cfg(unix)]
fn stream_pair() -> io::Result<(std::os::unix::net::UnixStream, std::os::unix::net::UnixStream)> {
    let (a, b) = std::os::unix::net::UnixStream::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
}

#[cfg(windows)]
fn stream_pair() -> io::Result<(std::net::TcpStream, std::net::TcpStream)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let a = std::net::TcpStream::connect(listener.local_addr()?)?;
    let (b, _) = listener.accept()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
}

/// Two persistent READ|CLOSED events bounce a message 5 times; then one side
/// frees its event (closing its socket) and the other sees the close:
/// as CLOSED where the backend has EARLY_CLOSE, else as end of file.
fn ping_pong(report: &mut Report) -> Outcome {
    const ROUNDS: u32 = 5;
    let mut base = EventBase::new()?;
    let early_close = base.features().contains(Features::EARLY_CLOSE);
    let (mut a, mut b) = stream_pair()?;
    let pongs = Rc::new(Cell::new(0u32));
    let saw_closed = Rc::new(Cell::new(None::<What>));

    // The closures own the sockets; the events name them by their source.
    a.write_all(b"ping 0")?;
    let counter = Rc::clone(&pongs);
    let a_id = base.new_event(a.as_source()?, What::READ | What::PERSIST, move |base, id, _| {
        let mut buf = [0u8; 64];
        let Ok(n) = a.read(&mut buf) else { return };
        println!("  a got {:?}", String::from_utf8_lossy(&buf[..n]));
        counter.set(counter.get() + 1);
        let round = counter.get();
        if round == ROUNDS {
            // Frees the event and, with its closure, the socket: b sees the close.
            base.free(id).unwrap();
        } else {
            a.write_all(format!("ping {round}").as_bytes()).unwrap();
        }
    })?;
    base.add(a_id, None)?;

    let closed = Rc::clone(&saw_closed);
    let what = What::READ | What::CLOSED | What::PERSIST;
    let id = base.new_event(b.as_source()?, what, move |base, id, what| {
        let mut buf = [0u8; 64];
        match b.read(&mut buf) {
            Ok(0) => {
                println!("  b: peer closed ({what:?})");
                closed.set(Some(what));
                base.free(id).unwrap();
            }
            Ok(n) => {
                let msg = String::from_utf8_lossy(&buf[..n]).replace("ping", "pong");
                b.write_all(msg.as_bytes()).unwrap();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    })?;
    base.add(id, Some(Duration::from_secs(5)))?;
    let exit = base.dispatch()?;

    report.check(pongs.get() == ROUNDS, format!("a got {ROUNDS} pongs"));
    match saw_closed.get() {
        Some(what) if early_close => report.check(
            what.contains(What::CLOSED),
            "the close was reported as CLOSED (EARLY_CLOSE)",
        ),
        Some(what) => report.check(what.contains(What::READ), "the close was seen as end of file"),
        None => report.check(false, "b never saw the close"),
    }
    report.check(exit == Exit::NoEvents, "both events are gone and the loop returned");
    Ok(())
}

/// A signal event: every base watching a signal receives it.
#[cfg(unix)]
fn signal(report: &mut Report) -> Outcome {
    let mut base = EventBase::new()?;
    let seen = Rc::new(Cell::new(0u32));
    let count = Rc::clone(&seen);
    base.signal_event(libc::SIGUSR1 as u32, move |base, id, what| {
        assert!(what.contains(What::SIGNAL));
        count.set(count.get() + 1);
        base.del(id).unwrap();
    })?;
    // SAFETY: raising a signal that the base has a handler for.
    let raised = unsafe { libc::raise(libc::SIGUSR1) };
    report.check(raised == 0, "raised SIGUSR1");
    base.dispatch()?;
    println!("  SIGUSR1 callback ran {} time(s)", seen.get());
    report.check(seen.get() == 1, "the SIGUSR1 event ran");
    Ok(())
}

#[cfg(not(unix))]
fn signal(_report: &mut Report) -> Outcome {
    println!("  skipped: Windows has only the console's Ctrl-C and Ctrl-Break (see the echo example)");
    Ok(())
}

/// A loop with nothing pending (NO_EXIT_ON_EMPTY) is woken at once by an
/// activation from another thread.
fn wake_up(report: &mut Report) -> Outcome {
    let mut base = EventBase::new()?;
    let remote = base.remote();
    let sent_at = Arc::new(Mutex::new(None::<Instant>));
    let latency = Rc::new(Cell::new(None::<Duration>));
    let (sent, got) = (Arc::clone(&sent_at), Rc::clone(&latency));
    let ev = base.new_event(Source::None, What::empty(), move |base, _, what| {
        assert_eq!(what, What::READ);
        got.set(sent.lock().unwrap().map(|t| t.elapsed()));
        base.loop_break();
    })?;
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        *sent_at.lock().unwrap() = Some(Instant::now());
        remote.activate(ev, What::READ).unwrap();
    });
    base.run(LoopFlags::NO_EXIT_ON_EMPTY)?;
    sender.join().map_err(|_| "sender panicked")?;
    match latency.get() {
        Some(d) => {
            println!("  woken {} after the other thread's activate", ms(&d));
            report.check(d < Duration::from_millis(50), "the loop was woken at once");
        }
        None => report.check(false, "the callback did not run"),
    }
    Ok(())
}

/// `del_wait` from another thread waits out a callback running on the loop
/// thread; afterwards the callback neither runs nor starts again.
fn del_wait(report: &mut Report) -> Outcome {
    let mut base = EventBase::new()?;
    let remote = base.remote();
    let running = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&running);
    let ev = base.interval(Duration::from_millis(5), move |_, _, _| {
        flag.store(true, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(40));
        flag.store(false, Ordering::SeqCst);
    })?;
    let observer = {
        let running = Arc::clone(&running);
        thread::spawn(move || {
            while !running.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(1));
            }
            let start = Instant::now();
            remote.del_wait(ev).unwrap();
            (start.elapsed(), running.load(Ordering::SeqCst))
        })
    };
    let exit = base.dispatch()?;
    let (waited, still_running) = observer.join().map_err(|_| "observer panicked")?;
    println!("  del_wait waited {} for the running callback", ms(&waited));
    report.check(!still_running, "the callback had returned when del_wait did");
    report.check(exit == Exit::NoEvents, "the event was deleted and the loop returned");
    Ok(())
}

/// `fork`: the child must `reinit` its base before using it (until then the
/// loop refuses: it would share the parent's kernel object).
#[cfg(unix)]
fn fork(report: &mut Report) -> Outcome {
    let mut base = EventBase::new()?;
    let ticks = Rc::new(Cell::new(0u32));
    let count = Rc::clone(&ticks);
    base.interval(Duration::from_millis(5), move |base, id, _| {
        count.set(count.get() + 1);
        if count.get() == 3 {
            base.del(id).unwrap();
        }
    })?;
    io::stdout().flush()?;
    // SAFETY: the tour's other threads have all been joined, so the child
    // (a copy of this one thread) may go on running Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error().into());
    }
    if pid == 0 {
        let ok = (|| -> Outcome {
            let refused = matches!(base.dispatch(), Err(e) if e.core() == Some(&CoreError::Forked));
            println!("  child: dispatch before reinit refused: {refused}");
            base.reinit()?;
            base.dispatch()?;
            println!("  child: after reinit, {} ticks on {}", ticks.get(), base.method().name);
            io::stdout().flush()?;
            if refused && ticks.get() == 3 {
                Ok(())
            } else {
                Err("child: unexpected".into())
            }
        })()
        .is_ok();
        // SAFETY: ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    report.check(
        waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child reinitialised its base and ran its timer",
    );
    base.dispatch()?;
    report.check(ticks.get() == 3, "the parent's base kept working");
    Ok(())
}

#[cfg(not(unix))]
fn fork(_report: &mut Report) -> Outcome {
    println!("  skipped: Windows has no fork");
    Ok(())
}
