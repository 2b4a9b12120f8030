//! Loop control: exit, break, re-entrance, priorities, active-later.

use std::time::Duration;

use evbase_core::{Callback, Config, EventBase, Exit, LoopFlags, Source, Storage, What};

use super::log;
use crate::{TestPlatform, assert_elapsed, new_base};

/// libevent `main/loopbreak`: two zero timers, the first breaks; the
/// second never runs; `got_break` but not `got_exit`.
pub fn loopbreak<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let ran = log();
    let (r1, r2) = (ran.clone(), ran.clone());
    let a = base.new_event(
        Source::None,
        What::empty(),
        Callback::<P, S>::new(move |b, _, _| {
            r1.borrow_mut().push(1);
            b.loop_break();
        }),
    );
    let b2 = base.new_event(
        Source::None,
        What::empty(),
        Callback::<P, S>::new(move |_, _, _| r2.borrow_mut().push(2)),
    );
    base.add(a.unwrap(), Some(Duration::ZERO)).unwrap();
    base.add(b2.unwrap(), Some(Duration::ZERO)).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    assert_eq!(*ran.borrow(), [1]);
    assert!(base.got_break());
    assert!(!base.got_exit());
}

/// libevent `main/loopexit`: `loop_exit(300 ms)` returns after 300 ms
/// despite a one-day timer.
pub fn loopexit<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let day = base
        .new_event(
            Source::None,
            What::empty(),
            Callback::<P, S>::new(|_, _, _| panic!("the day timer fired")),
        )
        .unwrap();
    base.add(day, Some(Duration::from_secs(86_400))).unwrap();
    base.loop_exit(Some(Duration::from_millis(300))).unwrap();
    let start = base.gettime_monotonic();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    let took = base.gettime_monotonic().saturating_since(start);
    assert_elapsed::<P>("loopexit", took, Duration::from_millis(300));
    assert!(base.got_exit());
    assert!(!base.got_break());
}

/// libevent `main/loopexit_multiple`: of two loopexits (200 ms, 3 s), the first ends the loop.
pub fn loopexit_multiple<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    base.loop_exit(Some(Duration::from_millis(200))).unwrap();
    base.loop_exit(Some(Duration::from_secs(3))).unwrap();
    let start = base.gettime_monotonic();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    assert_elapsed::<P>(
        "loopexit_multiple",
        base.gettime_monotonic().saturating_since(start),
        Duration::from_millis(200),
    );
    assert!(base.got_exit());
}

/// libevent `main/bad_reentrant`: dispatching from a callback is refused;
/// the outer loop then runs dry.
pub fn bad_reentrant<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let inner = log();
    let i2 = inner.clone();
    let ev = base
        .new_event(
            Source::None,
            What::empty(),
            Callback::<P, S>::new(move |b, _, _| i2.borrow_mut().push(b.dispatch())),
        )
        .unwrap();
    base.add(ev, Some(Duration::from_millis(1))).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(*inner.borrow(), [Err(evbase_core::Error::Reentrant)]);
}

/// libevent `main/priorities`: zero timers re-adding themselves three
/// times at priorities 0 and n-1; `loop_exit` runs at the middle priority.
pub fn priorities<P: TestPlatform, S: Storage>(variant: &str) {
    for (n, expect_two) in [(1, 3), (2, 1), (3, 0)] {
        let mut base = new_base::<P, S>(variant);
        base.priority_init(n).unwrap();
        let counts = log();
        let mut ids = Vec::new();
        for which in 0..2 {
            let c = counts.clone();
            let id = base
                .new_event(
                    Source::None,
                    What::empty(),
                    Callback::<P, S>::new(move |b, id, _| {
                        if c.borrow().iter().filter(|&&w| w == which).count() == 3 {
                            b.loop_exit(None).unwrap();
                            return;
                        }
                        c.borrow_mut().push(which);
                        b.add(id, Some(Duration::ZERO)).unwrap();
                    }),
                )
                .unwrap();
            base.set_priority(id, if which == 0 { 0 } else { n - 1 }).unwrap();
            ids.push(id);
        }
        for &id in &ids {
            base.add(id, Some(Duration::ZERO)).unwrap();
        }
        base.dispatch().unwrap();
        let c = counts.borrow();
        let one = c.iter().filter(|&&w| w == 0).count();
        let two = c.iter().filter(|&&w| w == 1).count();
        assert_eq!((one, two), (3, expect_two), "with {n} priorities");
    }
}

/// libevent `main/priority_active_inversion`: an urgent event activated
/// from a priority-4 callback runs before a priority-4 event activated earlier.
pub fn priority_active_inversion<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    base.priority_init(8).unwrap();
    let order = log();
    let (o0, o2) = (order.clone(), order.clone());
    let urgent = base
        .new_event(
            Source::None,
            What::empty(),
            Callback::<P, S>::new(move |_, _, _| o0.borrow_mut().push("urgent")),
        )
        .unwrap();
    base.set_priority(urgent, 0).unwrap();
    let o1 = order.clone();
    let first = base
        .new_event(
            Source::None,
            What::empty(),
            Callback::<P, S>::new(move |b, _, _| {
                o1.borrow_mut().push("first");
                b.active(urgent, What::TIMEOUT, 1).unwrap();
            }),
        )
        .unwrap();
    let second = base
        .new_event(
            Source::None,
            What::empty(),
            Callback::<P, S>::new(move |_, _, _| o2.borrow_mut().push("second")),
        )
        .unwrap();
    for id in [first, second] {
        base.set_priority(id, 4).unwrap();
        base.active(id, What::TIMEOUT, 1).unwrap();
    }
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(*order.borrow(), ["first", "urgent", "second"]);
}

/// libevent `main/active_later`: two events re-activating each other
/// "later" interleave with I/O instead of starving it; `active` promotes an
/// active-later event; a base can be dropped with one still queued.
pub fn active_later<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    let io_count = log();
    let ic = io_count.clone();
    let writer = base
        .new_event(
            Source::Fd(b),
            What::WRITE | What::PERSIST,
            Callback::<P, S>::new(move |_, _, _| ic.borrow_mut().push(())),
        )
        .unwrap();
    base.add(writer, None).unwrap();
    let rounds = log();
    let ids: std::rc::Rc<std::cell::Cell<[Option<evbase_core::EventId>; 2]>> = Default::default();
    for which in 0..2 {
        let (r, ids2) = (rounds.clone(), ids.clone());
        let id = base
            .new_event(
                Source::None,
                What::empty(),
                Callback::<P, S>::new(move |b, _, _| {
                    r.borrow_mut().push(which);
                    if r.borrow().len() >= 400 {
                        b.loop_break();
                    } else {
                        b.active_later(ids2.get()[1 - which].unwrap(), What::TIMEOUT).unwrap();
                    }
                }),
            )
            .unwrap();
        let mut v = ids.get();
        v[which] = Some(id);
        ids.set(v);
    }
    base.active_later(ids.get()[0].unwrap(), What::TIMEOUT).unwrap();
    base.dispatch().unwrap();
    assert_eq!(rounds.borrow().len(), 400);
    assert!(
        io_count.borrow().len() >= 200,
        "I/O ran {} times: starved",
        io_count.borrow().len()
    );

    // `active` promotes an active-later event to this iteration.
    let hit = log();
    let h = hit.clone();
    let late = base.new_event(
        Source::None,
        What::empty(),
        Callback::<P, S>::new(move |_, _, what| h.borrow_mut().push(what)),
    );
    let late = late.unwrap();
    base.active_later(late, What::READ).unwrap();
    base.active(late, What::WRITE, 1).unwrap();
    base.del(writer).unwrap();
    assert_eq!(base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
    assert_eq!(*hit.borrow(), [What::READ | What::WRITE]);
    base.active_later(late, What::READ).unwrap();
    let _ = a;
    drop(base);
}

/// libevent#1292: a `loop_break` requested while no loop runs is kept, so
/// the next run returns at once instead of running on.
pub fn break_before_loop_libevent_1292<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let ran = log();
    let r = ran.clone();
    let ev = base.new_event(
        Source::None,
        What::PERSIST,
        Callback::<P, S>::new(move |_, _, _| r.borrow_mut().push(())),
    );
    base.add(ev.unwrap(), Some(Duration::from_millis(10))).unwrap();
    base.loop_break();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    assert!(base.got_break());
    assert!(ran.borrow().is_empty(), "the loop ran callbacks after an early break");
}

/// `max_dispatch_interval` with a callback limit: after two callbacks of
/// a limited priority the loop polls again, so a more urgent event
/// activated meanwhile runs before the rest of the batch.
pub fn max_dispatch_callbacks<P: TestPlatform, S: Storage>(variant: &str) {
    let (platform, mut config) = P::make(variant);
    config.set_max_dispatch_interval(None, Some(2), 1);
    let mut base = EventBase::<P, S>::with_config(platform, &config).unwrap();
    base.priority_init(2).unwrap();
    let order = log();
    let urgent = {
        let o = order.clone();
        base.new_event(
            Source::None,
            What::empty(),
            Callback::<P, S>::new(move |_, _, _| o.borrow_mut().push(99)),
        )
        .unwrap()
    };
    base.set_priority(urgent, 0).unwrap();
    for i in 0..4 {
        let o = order.clone();
        let id = base
            .new_event(
                Source::None,
                What::empty(),
                Callback::<P, S>::new(move |b, _, _| {
                    o.borrow_mut().push(i);
                    if i == 0 {
                        // Queued behind the limit's poll: `continue` is only for
                        // more urgent work, so run the urgent one "later".
                        b.active_later(urgent, What::TIMEOUT).unwrap();
                    }
                }),
            )
            .unwrap();
        base.set_priority(id, 1).unwrap();
        base.active(id, What::TIMEOUT, 1).unwrap();
    }
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(*order.borrow(), [0, 1, 99, 2, 3]);
    let _ = Config::default();
}
