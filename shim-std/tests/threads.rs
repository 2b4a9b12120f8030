//! libevent's thread cases (`test/regress_thread.c` `thread/basic`,
//! `thread/no_events`; `test/regress.c` `del_wait`, `del_notify`,
//! `del_timeout_notify`) on std threads, plus evbase's own: a break sent
//! before the loop starts is kept (libevent#1292), and `del_wait` from the
//! loop thread does not deadlock.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use evbase_std::prelude::*;

/// A connected pair of TCP sockets over loopback (works on every OS).
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// `thread/basic`: 100 threads × 100 iterations each add a 3 ms timer to a
/// base whose loop runs on this thread, and wait on a condvar its callback
/// signals. Every round trip completes, and no timer fires before its
/// delay has passed since it was sent, measured with `std::time::Instant`.
#[test]
fn thread_basic() {
    const THREADS: usize = 100;
    const ITERATIONS: usize = 100;
    const DELAY: Duration = Duration::from_millis(3);

    let mut base = EventBase::new().unwrap();
    let remote = base.remote();
    let fired = Arc::new(AtomicUsize::new(0));
    let mut timers = Vec::new();
    for _ in 0..THREADS {
        let done = Arc::new((Mutex::new(0usize), Condvar::new()));
        let signal = Arc::clone(&done);
        let fired = Arc::clone(&fired);
        let id = base
            .timer(move |_, _, what| {
                assert_eq!(what, What::TIMEOUT);
                fired.fetch_add(1, Ordering::Relaxed);
                let (count, cond) = &*signal;
                *count.lock().unwrap() += 1;
                cond.notify_one();
            })
            .unwrap();
        timers.push((id, done));
    }

    let start = Instant::now();
    let coordinator = {
        let remote = remote.clone();
        thread::spawn(move || {
            let workers: Vec<_> = timers
                .into_iter()
                .map(|(id, done)| {
                    let remote = remote.clone();
                    thread::spawn(move || {
                        let mut shortest = Duration::MAX;
                        for i in 0..ITERATIONS {
                            let sent = Instant::now();
                            remote.add(id, Some(DELAY)).unwrap();
                            let (count, cond) = &*done;
                            let mut n = count.lock().unwrap();
                            while *n <= i {
                                n = cond.wait(n).unwrap();
                            }
                            shortest = shortest.min(sent.elapsed());
                        }
                        shortest
                    })
                })
                .collect();
            let shortest = workers.into_iter().map(|w| w.join().unwrap()).min().unwrap();
            remote.loop_exit().unwrap();
            shortest
        })
    };
    assert_eq!(base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap(), Exit::Done);
    let elapsed = start.elapsed();
    let shortest = coordinator.join().unwrap();
    assert_eq!(fired.load(Ordering::Relaxed), THREADS * ITERATIONS);
    assert!(
        shortest >= DELAY,
        "a timer fired {shortest:?} after it was sent, before its {DELAY:?}"
    );
    eprintln!(
        "thread_basic: {} round trips of {DELAY:?} timers from {THREADS} threads in {elapsed:?} on {}",
        THREADS * ITERATIONS,
        base.method().name
    );
}

/// `thread/no_events`: a loop with `NO_EXIT_ON_EMPTY` and nothing pending
/// waits; another thread adds timers to it, which fire on time; an exit
/// from that thread ends it.
#[test]
fn thread_no_events() {
    const DELAY: Duration = Duration::from_millis(20);
    let mut base = EventBase::new().unwrap();
    let remote = base.remote();
    let fired_at = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&fired_at);
    let timer = base
        .timer(move |_, _, _| log.lock().unwrap().push(Instant::now()))
        .unwrap();

    let feeder = thread::spawn(move || {
        let mut sent_at = Vec::new();
        for _ in 0..3 {
            thread::sleep(Duration::from_millis(50));
            sent_at.push(Instant::now());
            remote.add(timer, Some(DELAY)).unwrap();
        }
        thread::sleep(Duration::from_millis(50));
        remote.loop_exit().unwrap();
        sent_at
    });
    let start = Instant::now();
    assert_eq!(base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap(), Exit::Done);
    assert!(base.got_exit());
    let sent_at = feeder.join().unwrap();
    let fired_at = fired_at.lock().unwrap();
    assert_eq!(fired_at.len(), 3, "every timer fed from the other thread fired");
    for (sent, fired) in sent_at.iter().zip(fired_at.iter()) {
        let took = fired.duration_since(*sent);
        assert!(took >= DELAY, "fired early: {took:?}");
        assert!(took < DELAY + Duration::from_millis(60), "fired late: {took:?}");
    }
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// `del_wait`: a persistent event's callback runs for 300 ms on the loop
/// thread; `del_wait` from another thread blocks until it has returned, and
/// the event does not run again although its socket stays readable.
#[test]
fn del_wait() {
    let (tx, rx) = mpsc::channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let in_callback = Arc::new(AtomicBool::new(false));
    let (calls2, in_callback2) = (Arc::clone(&calls), Arc::clone(&in_callback));
    let looper = thread::spawn(move || {
        let mut base = EventBase::new().unwrap();
        let (mut writer, reader) = pair();
        let ev = base
            .io_event(&reader, What::READ | What::PERSIST, move |_, _, _| {
                calls2.fetch_add(1, Ordering::SeqCst);
                in_callback2.store(true, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(300));
                in_callback2.store(false, Ordering::SeqCst);
            })
            .unwrap();
        base.add(ev, None).unwrap();
        writer.write_all(b"x").unwrap(); // never read: readable on every iteration
        tx.send((base.remote(), ev)).unwrap();
        let exit = base.dispatch().unwrap();
        drop(reader);
        exit
    });
    let (remote, ev) = rx.recv().unwrap();
    while !in_callback.load(Ordering::SeqCst) {
        thread::sleep(Duration::from_millis(1));
    }
    let start = Instant::now();
    remote.del_wait(ev).unwrap();
    let waited = start.elapsed();
    assert!(
        !in_callback.load(Ordering::SeqCst),
        "del_wait returned while the callback ran"
    );
    assert!(
        waited >= Duration::from_millis(200),
        "del_wait did not wait: {waited:?}"
    );
    thread::sleep(Duration::from_millis(100));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the deleted event ran again");
    assert_eq!(looper.join().unwrap(), Exit::NoEvents);
}

/// `del_notify`: deleting the only event — an I/O event with no handle,
/// which never fires — from another thread wakes the idle loop, which
/// returns because nothing is pending.
#[test]
fn del_notify() {
    let (tx, rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let looper = thread::spawn(move || {
        let mut base = EventBase::new().unwrap();
        let ev = base
            .new_event(Source::None, What::READ, |_, _, _| panic!("never ready"))
            .unwrap();
        base.add(ev, None).unwrap();
        tx.send((base.remote(), ev)).unwrap();
        let exit = base.dispatch().unwrap();
        done_tx.send(Instant::now()).unwrap();
        exit
    });
    let (remote, ev) = rx.recv().unwrap();
    thread::sleep(Duration::from_millis(50));
    let sent = Instant::now();
    let ticket = remote.del(ev).unwrap();
    let returned = done_rx
        .recv_timeout(Duration::from_secs(1))
        .expect("the loop was not woken");
    assert!(remote.wait(ticket, Duration::from_secs(1)));
    assert!(returned.duration_since(sent) < Duration::from_millis(200));
    assert_eq!(looper.join().unwrap(), Exit::NoEvents);
}

/// `del_timeout_notify`: deleting a 5 s persistent timer from another
/// thread wakes the loop, which returns well within a second.
#[test]
fn del_timeout_notify() {
    let (tx, rx) = mpsc::channel();
    let looper = thread::spawn(move || {
        let mut base = EventBase::new().unwrap();
        let ev = base
            .interval(Duration::from_secs(5), |_, _, _| panic!("deleted before it fired"))
            .unwrap();
        tx.send((base.remote(), ev)).unwrap();
        let start = Instant::now();
        let exit = base.dispatch().unwrap();
        (exit, start.elapsed())
    });
    let (remote, ev) = rx.recv().unwrap();
    thread::sleep(Duration::from_millis(50));
    remote.del(ev).unwrap();
    let (exit, took) = looper.join().unwrap();
    assert_eq!(exit, Exit::NoEvents);
    assert!(took < Duration::from_secs(1), "the loop took {took:?} to notice");
}

/// libevent#1292: a `loopbreak` from another thread just before the loop
/// starts is lost there; here the next run returns at once.
#[test]
fn break_sent_before_the_loop_starts_is_kept() {
    let mut base = EventBase::new().unwrap();
    // A 10 s timer: without the break, the loop would block.
    base.once_after(Duration::from_secs(10), |_, _, _| {
        panic!("the loop should have stopped")
    })
    .unwrap();
    let remote = base.remote();
    thread::spawn(move || remote.loop_break().unwrap()).join().unwrap();
    let start = Instant::now();
    assert_eq!(base.dispatch().unwrap(), Exit::Done);
    assert!(base.got_break());
    assert!(start.elapsed() < Duration::from_secs(1));

    // An exit sent the same way ends the following run.
    let remote = base.remote();
    thread::spawn(move || remote.loop_exit().unwrap()).join().unwrap();
    assert_eq!(base.dispatch().unwrap(), Exit::Done);
    assert!(base.got_exit());
}

/// `del_wait` on the loop's own thread cannot wait (it would wait for
/// itself): it returns, and the deletion is applied before the next callback.
#[test]
fn del_wait_on_the_loop_thread_does_not_block() {
    let mut base = EventBase::new().unwrap();
    base.priority_init(2).unwrap();
    let remote = base.remote();
    let b_ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&b_ran);
    let b = base
        .new_event(Source::None, What::empty(), move |_, _, _| {
            flag.store(true, Ordering::SeqCst)
        })
        .unwrap();
    base.set_priority(b, 1).unwrap();
    let a = base
        .new_event(Source::None, What::empty(), move |_, _, _| {
            assert!(remote.is_loop_thread());
            remote.del_wait(b).unwrap();
        })
        .unwrap();
    base.set_priority(a, 0).unwrap();
    base.active(a, What::TIMEOUT, 1).unwrap();
    base.active(b, What::TIMEOUT, 1).unwrap();
    let start = Instant::now();
    assert_eq!(base.dispatch().unwrap(), Exit::NoEvents);
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(!b_ran.load(Ordering::SeqCst), "b ran after its del_wait returned");
}

/// With no loop running, `del_wait` from another thread returns at once;
/// the next run applies the deletion before any callback.
#[test]
fn del_wait_while_no_loop_runs() {
    let mut base = EventBase::new().unwrap();
    let ev = base
        .new_event(Source::None, What::empty(), |_, _, _| panic!("deleted"))
        .unwrap();
    base.active(ev, What::TIMEOUT, 1).unwrap();
    let remote = base.remote();
    assert!(!remote.is_looping());
    let start = Instant::now();
    thread::spawn(move || remote.del_wait(ev).unwrap()).join().unwrap();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(base.dispatch().unwrap(), Exit::NoEvents);
}

/// Remote activations from many threads all arrive, and `wait` sees them
/// applied.
#[test]
fn remote_activations_from_many_threads() {
    let mut base = EventBase::new().unwrap();
    let remote = base.remote();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    let ev = base
        .new_event(Source::None, What::empty(), move |_, _, what| {
            assert_eq!(what, What::READ);
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let remote = remote.clone();
            thread::spawn(move || {
                for _ in 0..100 {
                    let t = remote.activate(ev, What::READ).unwrap();
                    assert!(remote.wait(t, Duration::from_secs(5)));
                }
            })
        })
        .collect();
    let closer = thread::spawn(move || {
        for s in senders {
            s.join().unwrap();
        }
        remote.loop_exit().unwrap();
    });
    assert_eq!(base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap(), Exit::Done);
    closer.join().unwrap();
    // Activations of an event already active coalesce, so at most 800.
    let n = count.load(Ordering::SeqCst);
    assert!((1..=800).contains(&n), "{n} callbacks");
}
