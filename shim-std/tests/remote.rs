//! What a [`Remote`] promises (issue 15): requests from other threads are
//! never refused for want of room, and a `Remote` whose base is gone says
//! so.

use std::cell::Cell;
use std::io::ErrorKind;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use evbase_std::prelude::*;
use evbase_std::{Ticket, evbase_core};

const FLOODERS: usize = 4;
const ACTIVATIONS: usize = 100_000;

/// Four threads activate their events 100,000 times each while the loop
/// runs; halfway through, a fifth thread's `loop_break` is accepted on the
/// first try and the loop returns. No call is refused: activations of one
/// event coalesce into its pending flags instead of taking a slot each
/// (before: 1,024 slots, "queue full" for activations and breaks alike).
#[test]
fn flood_then_break_from_a_fifth_thread() {
    let mut base = EventBase::new().unwrap();
    let calls = Rc::new(Cell::new(0u64));
    let mut events = Vec::new();
    for _ in 0..FLOODERS {
        let c = calls.clone();
        events.push(
            base.new_event(Source::None, What::empty(), move |_, _, what| {
                assert_eq!(what, What::READ);
                c.set(c.get() + 1);
            })
            .unwrap(),
        );
    }
    // Fails the test instead of hanging it if the break never gets through.
    let failsafe = base.once(
        Source::None,
        What::TIMEOUT,
        Some(Duration::from_secs(60)),
        |base, _, _| {
            base.loop_break();
        },
    );
    let failsafe = failsafe.unwrap();

    let sent = Arc::new(AtomicUsize::new(0));
    // Flooders that stopped, refused or not: the breaker does not wait for
    // a half that a refusal would never let come.
    let stopped = Arc::new(AtomicUsize::new(0));
    struct Stopped(Arc<AtomicUsize>);
    impl Drop for Stopped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let start = Arc::new(Barrier::new(FLOODERS + 1));
    let flooders: Vec<_> = events
        .iter()
        .map(|&ev| {
            let (remote, sent, start) = (base.remote(), sent.clone(), start.clone());
            let stopped = Stopped(stopped.clone());
            thread::spawn(move || {
                let _stopped = stopped;
                start.wait();
                for _ in 0..ACTIVATIONS {
                    remote.activate(ev, What::READ).expect("an activation is never refused");
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let (remote, sent2) = (base.remote(), sent.clone());
    let breaker = thread::spawn(move || {
        start.wait();
        while sent2.load(Ordering::Relaxed) < FLOODERS * ACTIVATIONS / 2 && stopped.load(Ordering::Relaxed) < FLOODERS {
            thread::yield_now();
        }
        let at = Instant::now();
        let ticket = remote.loop_break().expect("the break is accepted on the first try");
        (ticket, at)
    });

    assert_eq!(base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap(), Exit::Done);
    let returned = Instant::now();
    assert!(base.got_break());
    let (ticket, break_at) = breaker.join().unwrap();
    for f in flooders {
        f.join().unwrap();
    }
    assert!(
        base.pending(failsafe, What::TIMEOUT).is_ok(),
        "the failsafe did not fire: the break ended the loop"
    );
    assert!(base.remote().is_processed(ticket));
    eprintln!(
        "flood: {} activations from {FLOODERS} threads, none refused; the loop ran {} callbacks \
         (coalesced) and returned {:?} after the fifth thread's break",
        FLOODERS * ACTIVATIONS,
        calls.get(),
        returned.saturating_duration_since(break_at)
    );
    // What the flood left is applied by the next run: each event once more
    // at most.
    let before = calls.get();
    base.del(failsafe).unwrap();
    base.dispatch().unwrap();
    assert!(calls.get() - before <= FLOODERS as u64);
}

/// After its base is dropped, every operation of a `Remote` is
/// `Error::Closed` (before: `Ok` and silently dropped, then "the remote
/// queue table is full" after 1,024 of them), and `wait` / `del_wait`
/// return at once, including a `wait` that was blocked when the base went.
#[test]
fn remote_of_a_dropped_base_says_closed() {
    let mut base = EventBase::new().unwrap();
    let ev = base.new_event(Source::None, What::empty(), |_, _, _| {}).unwrap();
    let remote = base.remote();
    assert!(!remote.is_closed());
    // Sent, never applied: no loop runs before the base goes.
    let ticket = remote.add(ev, Some(Duration::from_secs(3600))).unwrap();
    let waiter = {
        let remote = remote.clone();
        thread::spawn(move || {
            let at = Instant::now();
            let applied = remote.wait(ticket, Duration::from_secs(60));
            (applied, at.elapsed())
        })
    };
    thread::sleep(Duration::from_millis(50));
    drop(base);
    let (applied, waited) = waiter.join().unwrap();
    assert!(!applied, "the add was never applied");
    assert!(
        waited < Duration::from_secs(10),
        "a blocked wait returned when the base went"
    );
    assert!(remote.is_closed());

    let closed = |r: evbase_std::Result<Ticket>| {
        let err = r.expect_err("a dropped base refuses");
        assert!(matches!(err.core(), Some(evbase_core::Error::Closed)), "{err}");
        assert_eq!(err.kind(), ErrorKind::NotConnected);
        assert!(
            err.to_string().contains("dropped"),
            "the message names the cause: {err}"
        );
    };
    for _ in 0..2_000 {
        closed(remote.activate(ev, What::READ));
        closed(remote.add(ev, None));
        closed(remote.del(ev));
        closed(remote.loop_break());
        closed(remote.loop_exit());
    }
    let at = Instant::now();
    let err = remote.del_wait(ev).expect_err("del_wait on a dropped base");
    assert!(matches!(err.core(), Some(evbase_core::Error::Closed)));
    assert!(!remote.wait(ticket, Duration::from_secs(60)));
    assert!(
        at.elapsed() < Duration::from_secs(1),
        "del_wait and wait returned at once"
    );
}
