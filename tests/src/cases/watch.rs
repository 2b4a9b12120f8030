//! Prepare and check watchers: libevent 2.2's `watch/` cases
//! (`test/regress_watch.c`), and the edge cases evbase defines
//! (`evbase_core`'s `watch.rs` states the rules).

use std::time::Duration;

use evbase_core::{Callback, Count, Error, EventBase, Exit, LoopFlags, Phase, Source, Storage, WatchCallback, What};

use super::{Log, log};
use crate::{TestPlatform, new_base};

/// What the watchers and events of a case saw, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Prepare(u8, Option<Duration>),
    Check(u8),
    Event(u8),
}

/// A watcher callback that logs its phase under `tag`.
fn logger<P: TestPlatform, S: Storage>(seen: &Log<Seen>, tag: u8) -> WatchCallback<P, S> {
    logger_then(seen, tag, |_| {})
}

/// A watcher callback that logs its phase under `tag`, then does `then`.
fn logger_then<P: TestPlatform, S: Storage>(
    seen: &Log<Seen>,
    tag: u8,
    then: fn(&mut EventBase<P, S>),
) -> WatchCallback<P, S> {
    let seen = seen.clone();
    WatchCallback::<P, S>::new(move |base, _, phase| {
        seen.borrow_mut().push(match phase {
            Phase::Prepare { timeout } => Seen::Prepare(tag, timeout),
            Phase::Check => Seen::Check(tag),
        });
        then(base);
    })
}

/// An event callback that logs `tag`.
fn event_logger<P: TestPlatform, S: Storage>(seen: &Log<Seen>, tag: u8) -> Callback<P, S> {
    let seen = seen.clone();
    Callback::new(move |_, _, _| seen.borrow_mut().push(Seen::Event(tag)))
}

/// libevent `watch/callback_ordering`: two prepare and two check watchers
/// run in the order added, prepares before checks; the first prepare sees
/// the 1 s timeout of the `once` event; the check before the timer's
/// callback sees at least 1 s passed; once two watchers are freed, the
/// others still run. (libevent reads `gettimeofday_cached`; the monotonic
/// cached time is the same reading without the wall clock.)
pub fn callback_ordering<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let seen = log();
    base.new_prepare(logger(&seen, 1)).unwrap();
    base.new_check(logger(&seen, 1)).unwrap();
    let prepare2 = base.new_prepare(logger(&seen, 2)).unwrap();
    let check2 = base.new_check(logger(&seen, 2)).unwrap();
    // The cached time at the first prepare and at the last check.
    let times = log();
    let (t1, t2) = (times.clone(), times.clone());
    base.new_prepare(WatchCallback::<P, S>::new(move |b, _, _| {
        t1.borrow_mut().push(("prepare", b.now()))
    }))
    .unwrap();
    base.new_check(WatchCallback::<P, S>::new(move |b, _, _| {
        t2.borrow_mut().push(("check", b.now()))
    }))
    .unwrap();
    let second = Duration::from_secs(1);

    for iteration in 0..2 {
        seen.borrow_mut().clear();
        times.borrow_mut().clear();
        let s = seen.clone();
        let tm = times.clone();
        // Read before the add, so never after the clock reading its deadline
        // is counted from, however slowly the add runs (Miri).
        let added = base.now();
        base.once(
            Source::None,
            What::TIMEOUT,
            Some(second),
            Callback::<P, S>::new(move |b, _, _| {
                s.borrow_mut().push(Seen::Event(0));
                let times = tm.borrow();
                let end = times[times.len() - 1].1;
                assert!(
                    end.saturating_since(added) >= second,
                    "the timer fired before 1 s passed"
                );
                assert!(b.now() >= end);
            }),
        )
        .unwrap();
        assert_eq!(base.dispatch(), Ok(Exit::NoEvents));

        let seen = seen.borrow();
        assert_eq!(seen.last(), Some(&Seen::Event(0)), "{seen:?}");
        let passes = &seen[..seen.len() - 1];
        let per_pass = if iteration == 0 { 4 } else { 2 };
        // The sim wakes exactly at the deadline: one pass. A real clock may
        // wake a little early and go round again: passes of the same shape.
        assert!(!passes.is_empty() && passes.len().is_multiple_of(per_pass), "{seen:?}");
        if P::TOLERANCE.is_zero() {
            assert_eq!(passes.len(), per_pass, "{seen:?}");
        }
        let Seen::Prepare(1, Some(timeout)) = passes[0] else {
            panic!("the first prepare comes first, with a timeout: {seen:?}");
        };
        let slack = P::TOLERANCE.max(Duration::from_millis(5));
        assert!(timeout <= second && timeout + slack >= second, "timeout {timeout:?}");
        for pass in passes.chunks(per_pass) {
            let shape: Vec<_> = pass
                .iter()
                .map(|s| match s {
                    Seen::Prepare(tag, _) => (b'p', *tag),
                    Seen::Check(tag) => (b'c', *tag),
                    Seen::Event(tag) => (b'e', *tag),
                })
                .collect();
            if iteration == 0 {
                assert_eq!(shape, [(b'p', 1), (b'p', 2), (b'c', 1), (b'c', 2)], "{seen:?}");
            } else {
                assert_eq!(shape, [(b'p', 1), (b'c', 1)], "{seen:?}");
            }
        }
        drop(seen);
        if iteration == 0 {
            base.free_watcher(prepare2).unwrap();
            base.free_watcher(check2).unwrap();
        }
    }
    // Dropping the base frees the watchers left (libevent: event_base_free).
    assert_eq!(base.num_watchers(), 4);
}

/// libevent `watch/timeout_unavailable`: with no timer, the prepare
/// watcher is told the loop waits without a timeout. libevent's version
/// dispatches a base with no event, which returns at once without running
/// the watcher (so its check never runs); here that is asserted too, then
/// a read event that the watcher itself makes ready keeps the loop waiting
/// with no timeout.
pub fn timeout_unavailable<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let seen = log();
    base.new_prepare(logger(&seen, 3)).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert!(seen.borrow().is_empty(), "a loop with no event does not prepare a wait");

    let (a, b) = base.platform_mut().socketpair();
    let s = seen.clone();
    base.new_prepare(WatchCallback::<P, S>::new(move |base, _, _| {
        if s.borrow().len() == 1 {
            base.platform_mut().send(b, b"x").unwrap();
        }
    }))
    .unwrap();
    let s = seen.clone();
    let reader = base
        .new_event(
            Source::Fd(a),
            What::READ,
            Callback::<P, S>::new(move |_, _, _| s.borrow_mut().push(Seen::Event(0))),
        )
        .unwrap();
    base.add(reader, None).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(*seen.borrow(), [Seen::Prepare(3, None), Seen::Event(0)]);
    base.platform_mut().close(a);
    base.platform_mut().close(b);
}

/// On an iteration that does not block, prepare watchers still run, told
/// the wait is zero: under `NONBLOCK`, and when an event is already active
/// (libevent's `evwatch_prepare_get_timeout` answers 1 and zero). Check
/// watchers run before the event's callback.
pub fn watch_zero_wait<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let seen = log();
    base.new_prepare(logger(&seen, 1)).unwrap();
    base.new_check(logger(&seen, 1)).unwrap();
    let timer = base
        .new_event(Source::None, What::TIMEOUT, event_logger(&seen, 0))
        .unwrap();
    base.add(timer, Some(Duration::from_secs(3600))).unwrap();
    assert_eq!(base.run(LoopFlags::NONBLOCK), Ok(Exit::Done));
    assert_eq!(*seen.borrow(), [Seen::Prepare(1, Some(Duration::ZERO)), Seen::Check(1)]);

    seen.borrow_mut().clear();
    let user = base
        .new_event(Source::None, What::empty(), event_logger(&seen, 1))
        .unwrap();
    base.active(user, What::empty(), 1).unwrap();
    assert_eq!(base.run(LoopFlags::ONCE), Ok(Exit::Done));
    assert_eq!(
        *seen.borrow(),
        [Seen::Prepare(1, Some(Duration::ZERO)), Seen::Check(1), Seen::Event(1)]
    );
}

/// A watcher added from a watcher callback first runs on the next pass; one
/// freed from a callback (its own included) runs no more, and the pass goes
/// on with the others. libevent's list would run an added watcher in the
/// same pass and read a freed one's link after its callback.
pub fn watch_added_and_freed_inside<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let seen = log();
    let ids = log();
    let (s, i) = (seen.clone(), ids.clone());
    // Watcher 1, on its first pass: frees watcher 2 and itself, adds 4.
    let first = base
        .new_prepare(WatchCallback::<P, S>::new(move |b, me, phase| {
            s.borrow_mut().push(Seen::Prepare(1, None));
            let Phase::Prepare { .. } = phase else {
                panic!("a prepare watcher")
            };
            let two = i.borrow()[0];
            b.free_watcher(two).unwrap();
            b.free_watcher(me).unwrap();
            assert_eq!(b.free_watcher(me), Err(Error::StaleWatcher));
            b.new_prepare(logger(&s, 4)).unwrap();
            b.check_invariants().unwrap();
        }))
        .unwrap();
    let second = base.new_prepare(logger(&seen, 2)).unwrap();
    base.new_prepare(logger(&seen, 3)).unwrap();
    ids.borrow_mut().push(second);
    let mut ticks = 0;
    let timer = base
        .new_event(
            Source::None,
            What::PERSIST,
            Callback::<P, S>::new(move |b, id, _| {
                ticks += 1;
                if ticks == 2 {
                    b.del(id).unwrap();
                }
            }),
        )
        .unwrap();
    base.add(timer, Some(Duration::from_millis(10))).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    let tags: Vec<u8> = seen
        .borrow()
        .iter()
        .map(|s| match s {
            Seen::Prepare(tag, _) | Seen::Check(tag) | Seen::Event(tag) => *tag,
        })
        .collect();
    // First pass: 1 (which frees 2 and adds 4), then 3; later passes: 3, 4.
    assert_eq!(tags[..2], [1, 3], "{tags:?}");
    let later = &tags[2..];
    assert!(
        !later.is_empty() && later.len().is_multiple_of(2) && later.chunks(2).all(|p| p == [3, 4]),
        "{tags:?}"
    );
    assert_eq!(base.free_watcher(first), Err(Error::StaleWatcher));
    assert_eq!(base.num_watchers(), 2);
    base.check_invariants().unwrap();
}

/// `loop_break` from a prepare watcher returns without waiting (a 1 hour
/// timer is pending) and without check watchers; libevent would wait the
/// hour first.
pub fn watch_break_in_prepare<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let seen = log();
    let s = seen.clone();
    base.new_prepare(WatchCallback::<P, S>::new(move |b, _, _| {
        s.borrow_mut().push(Seen::Prepare(1, None));
        b.loop_break();
    }))
    .unwrap();
    base.new_check(logger(&seen, 1)).unwrap();
    let timer = base
        .new_event(Source::None, What::TIMEOUT, event_logger(&seen, 0))
        .unwrap();
    base.add(timer, Some(Duration::from_secs(3600))).unwrap();
    let start = base.gettime_monotonic();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    assert!(base.got_break());
    assert!(base.gettime_monotonic().saturating_since(start) < Duration::from_secs(1));
    assert_eq!(*seen.borrow(), [Seen::Prepare(1, None)]);
}

/// `loop_break` from a check watcher returns before any event callback of
/// the iteration (libevent runs one first); the event stays active and
/// runs on the next loop.
pub fn watch_break_in_check<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let seen = log();
    let check = base.new_check(logger_then(&seen, 1, |b| b.loop_break())).unwrap();
    let user = base
        .new_event(Source::None, What::empty(), event_logger(&seen, 1))
        .unwrap();
    base.active(user, What::empty(), 1).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    assert!(base.got_break());
    assert_eq!(*seen.borrow(), [Seen::Check(1)]);
    assert_eq!(base.num_events(Count::ACTIVE), 1, "the activation is kept");
    base.free_watcher(check).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(*seen.borrow(), [Seen::Check(1), Seen::Event(1)]);
}

/// An event activated, or a nearer timer added, by a prepare watcher is
/// not kept waiting: the loop decides its wait again after the watchers
/// (libevent waits with the timeout computed before them, here an hour).
/// `loop_exit` from a watcher lets the iteration's callbacks run, then
/// returns.
pub fn watch_prepare_changes_the_wait<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let seen = log();
    let far = base
        .new_event(Source::None, What::TIMEOUT, event_logger(&seen, 9))
        .unwrap();
    base.add(far, Some(Duration::from_secs(3600))).unwrap();
    let user = base
        .new_event(Source::None, What::empty(), event_logger(&seen, 1))
        .unwrap();
    let near = base
        .new_event(Source::None, What::TIMEOUT, event_logger(&seen, 2))
        .unwrap();
    let s = seen.clone();
    // One step per stage, each taken once the previous one's event ran
    // (a real clock may go round an extra time while the near timer waits).
    let mut stage = 0;
    base.new_prepare(WatchCallback::<P, S>::new(move |b, _, phase| {
        let Phase::Prepare { timeout } = phase else {
            panic!("a prepare watcher")
        };
        let last = s.borrow().last().copied();
        s.borrow_mut().push(Seen::Prepare(stage, timeout));
        match (stage, last) {
            (0, _) => b.active(user, What::empty(), 1).unwrap(),
            (1, Some(Seen::Event(1))) => b.add(near, Some(Duration::from_millis(20))).unwrap(),
            (2, Some(Seen::Event(2))) => b.loop_exit(None).unwrap(),
            _ => return,
        }
        stage += 1;
    }))
    .unwrap();
    let start = base.gettime_monotonic();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    let took = base.gettime_monotonic().saturating_since(start);
    assert!(base.got_exit());
    let seen = seen.borrow();
    let events: Vec<_> = seen.iter().filter(|s| matches!(s, Seen::Event(_))).copied().collect();
    assert_eq!(events, [Seen::Event(1), Seen::Event(2)], "{seen:?}");
    let hour_waits = seen
        .iter()
        .filter(|s| matches!(s, Seen::Prepare(_, Some(t)) if *t > Duration::from_secs(3000)))
        .count();
    assert_eq!(hour_waits, seen.len() - 2, "every prepare was told the hour: {seen:?}");
    if P::TOLERANCE.is_zero() {
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert_eq!(took, Duration::from_millis(20));
    }
    assert!(
        took >= Duration::from_millis(20) && took < Duration::from_secs(60),
        "took {took:?}"
    );
}

/// A watcher callback that calls `dispatch` gets [`Error::Reentrant`]; the
/// outer loop goes on.
pub fn watch_bad_reentrant<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let results = log();
    let (r1, r2) = (results.clone(), results.clone());
    base.new_prepare(WatchCallback::<P, S>::new(move |b, _, _| {
        r1.borrow_mut().push(b.dispatch())
    }))
    .unwrap();
    base.new_check(WatchCallback::<P, S>::new(move |b, _, _| {
        r2.borrow_mut().push(b.run(LoopFlags::ONCE))
    }))
    .unwrap();
    base.loop_exit(Some(Duration::from_millis(10))).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    let results = results.borrow();
    assert!(
        results.len() >= 2 && results.iter().all(|r| *r == Err(Error::Reentrant)),
        "{results:?}"
    );
}

/// Freeing a watcher twice, or on another base, is [`Error::StaleWatcher`]
/// and changes nothing.
pub fn watch_stale_id<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let mut other: EventBase<P, S> = new_base::<P, S>(variant);
    let seen = log();
    let id = base.new_check(logger(&seen, 1)).unwrap();
    assert_eq!(other.free_watcher(id), Err(Error::StaleWatcher));
    assert_eq!(base.num_watchers(), 1);
    base.free_watcher(id).unwrap();
    assert_eq!(base.free_watcher(id), Err(Error::StaleWatcher));
    assert_eq!(base.watcher_kind(id), Err(Error::StaleWatcher));
    assert_eq!(base.num_watchers(), 0);
}

/// Found by the `loop_ops` fuzzer: `loop_exit` from a check watcher of a
/// `ONCE` run whose exit event is the last callback ends that run; the
/// exit is then spent (libevent clears it when the next loop starts), so
/// the next run runs its callbacks instead of returning at once.
pub fn watch_exit_ending_a_once_run_is_spent<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let seen = log();
    let check = base
        .new_check(logger_then(&seen, 1, |b| b.loop_exit(None).unwrap()))
        .unwrap();
    let user = base
        .new_event(Source::None, What::empty(), event_logger(&seen, 1))
        .unwrap();
    base.active(user, What::empty(), 1).unwrap();
    assert_eq!(base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
    assert!(base.got_exit());
    assert_eq!(*seen.borrow(), [Seen::Check(1), Seen::Event(1)]);
    base.free_watcher(check).unwrap();
    base.active(user, What::empty(), 1).unwrap();
    assert_eq!(base.run(LoopFlags::NONBLOCK), Ok(Exit::NoEvents));
    assert!(!base.got_exit());
    assert_eq!(*seen.borrow(), [Seen::Check(1), Seen::Event(1), Seen::Event(1)]);
}
