//! The verbs on one event: re-adding, once, pending, active, by fd.

use std::time::Duration;

use evbase_core::{Callback, Error, Exit, LoopFlags, Source, Storage, What};

use super::log;
use crate::{TestPlatform, assert_elapsed, new_base};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// libevent `main/nonpersist_readd`: two non-persistent readers, each
/// re-adding the other from its callback: both run once in one `ONCE`
/// loop, and the one re-added last is pending afterwards.
pub fn nonpersist_readd<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    base.platform_mut().send(a, b"Hello").unwrap();
    base.platform_mut().send(b, b"Hello").unwrap();
    let last = log();
    let ids: std::rc::Rc<std::cell::Cell<[Option<evbase_core::EventId>; 2]>> = Default::default();
    for (i, fd) in [(0usize, a), (1, b)] {
        let (l, ids2) = (last.clone(), ids.clone());
        let id = base
            .new_event(
                Source::Fd(fd),
                What::READ,
                Callback::<P, S>::new(move |bs, _, _| {
                    let other = ids2.get()[1 - i].unwrap();
                    l.borrow_mut().push(other);
                    let mut buf = [0u8; 256];
                    assert!(bs.platform_mut().recv(fd, &mut buf).is_some());
                    bs.add(other, None).unwrap();
                }),
            )
            .unwrap();
        let mut v = ids.get();
        v[i] = Some(id);
        ids.set(v);
    }
    for id in ids.get() {
        base.add(id.unwrap(), None).unwrap();
    }
    assert_eq!(base.run(LoopFlags::ONCE), Ok(Exit::Done));
    let last = last.borrow();
    assert_eq!(last.len(), 2, "both callbacks ran once");
    assert_eq!(base.pending(last[1], What::READ).unwrap().what, What::READ);
}

/// libevent `main/want_only_once`: a non-persistent reader whose callback
/// makes its fd readable again runs exactly once.
pub fn want_only_once<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    base.platform_mut().send(a, b"test1\0").unwrap();
    base.loop_exit(Some(ms(300))).unwrap();
    let calls = log();
    let c = calls.clone();
    let ev = base.new_event(
        Source::Fd(b),
        What::READ,
        Callback::<P, S>::new(move |bs, _, _| {
            let mut buf = [0u8; 256];
            let n = bs.platform_mut().recv(b, &mut buf).unwrap();
            c.borrow_mut().push(n);
            bs.platform_mut().send(a, b"test1\0").unwrap();
        }),
    );
    base.add(ev.unwrap(), None).unwrap();
    base.dispatch().unwrap();
    assert_eq!(*calls.borrow(), [6]);
}

/// libevent `main/event_once`: an fd once (1), a 50 ms timer once (100)
/// and two immediate ones with no and a zero timeout (1000 each) sum to
/// 2101; a once with no usable flag fails.
pub fn event_once<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    let sum = std::rc::Rc::new(std::cell::Cell::new(0));
    let add = |n: i32| {
        let s = sum.clone();
        Callback::<P, S>::new(move |_, _, _| s.set(s.get() + n))
    };
    base.once(Source::Fd(a), What::READ, None, add(1)).unwrap();
    base.once(Source::None, What::TIMEOUT, Some(ms(50)), add(100)).unwrap();
    assert!(matches!(
        base.once(Source::None, What::empty(), None, add(0)),
        Err(Error::InvalidFlags { .. })
    ));
    assert!(matches!(
        base.once(Source::None, What::PERSIST, None, add(0)),
        Err(Error::InvalidFlags { .. })
    ));
    base.once(Source::None, What::TIMEOUT, None, add(1000)).unwrap();
    base.once(Source::None, What::TIMEOUT, Some(Duration::ZERO), add(1000))
        .unwrap();
    base.platform_mut().send(b, b"test1\0").unwrap();
    base.platform_mut().shutdown_write(b);
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(sum.get(), 2101);
}

/// libevent `main/event_once_never`: an unfired once timer never runs and
/// goes with the base.
pub fn event_once_never<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    base.once(
        Source::None,
        What::TIMEOUT,
        Some(Duration::from_secs(3600)),
        Callback::<P, S>::new(|_, _, _| panic!("ran")),
    )
    .unwrap();
    base.loop_exit(Some(ms(10))).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    drop(base);
}

/// libevent `main/event_pending`: per-flag queries, and the timer's expiry
/// reported on the wall clock about 500 ms from now.
pub fn event_pending<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    let nop = || Callback::<P, S>::new(|_, _, _| {});
    let r = base.new_event(Source::Fd(a), What::READ, nop()).unwrap();
    let w = base.new_event(Source::Fd(b), What::WRITE, nop()).unwrap();
    let t = base.new_event(Source::None, What::empty(), nop()).unwrap();
    base.add(r, Some(ms(500))).unwrap();
    base.add(t, Some(ms(500))).unwrap();
    let wall_now = base.gettimeofday_cached().ok();
    assert_eq!(base.pending(r, What::READ).unwrap().what, What::READ);
    assert!(base.pending(r, What::WRITE).unwrap().what.is_empty());
    assert!(base.pending(w, What::WRITE).unwrap().what.is_empty());
    assert!(base.pending(r, What::CLOSED).unwrap().what.is_empty());
    assert_eq!(
        base.pending(r, What::READ | What::TIMEOUT).unwrap().what,
        What::READ | What::TIMEOUT
    );
    let p = base.pending(t, What::TIMEOUT).unwrap();
    assert_eq!(p.what, What::TIMEOUT);
    assert!(p.deadline.is_some());
    if let (Some(now), Some(expiry)) = (wall_now, p.wall_deadline) {
        let left = expiry.checked_sub(now).expect("expiry in the future");
        // The wall clock's offset from the monotonic one is read anew for
        // each of the two values, so they may disagree by microseconds.
        assert!(
            left <= ms(501) && left >= ms(500) - P::TOLERANCE - ms(5),
            "expiry in {left:?}"
        );
    }
    assert!(base.pending(t, What::READ).unwrap().deadline.is_none());
}

/// libevent `main/manipulate_active_events`: an active event is pending
/// with its result flags; activating again ORs them.
pub fn manipulate_active_events<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let ev = base
        .new_event(Source::None, What::empty(), Callback::<P, S>::new(|_, _, _| {}))
        .unwrap();
    base.active(ev, What::READ, 1).unwrap();
    assert_eq!(
        base.pending(ev, What::READ | What::WRITE | What::TIMEOUT).unwrap().what,
        What::READ
    );
    base.active(ev, What::WRITE, 1).unwrap();
    assert_eq!(
        base.pending(ev, What::READ | What::WRITE | What::TIMEOUT).unwrap().what,
        What::READ | What::WRITE
    );
    base.del(ev).unwrap();
    assert!(base.pending(ev, What::all()).unwrap().what.is_empty());
}

/// libevent `main/active_by_fd`: activation by handle (each event gets
/// the bits it asked for), by `TIMEOUT` (the timers of events on that
/// handle); unknown handles are harmless.
pub fn active_by_fd<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    let got = log();
    let cb = |name: &'static str| {
        let g = got.clone();
        Callback::<P, S>::new(move |_, _, what| g.borrow_mut().push((name, what)))
    };
    let reader = base.new_event(Source::Fd(a), What::READ, cb("reader")).unwrap();
    let other = base.new_event(Source::Fd(b), What::READ, cb("other")).unwrap();
    let timer = base.new_event(Source::Fd(a), What::empty(), cb("timer")).unwrap();
    base.add(reader, Some(Duration::from_secs(3600))).unwrap();
    base.add(other, None).unwrap();
    base.add(timer, Some(Duration::from_secs(3600))).unwrap();
    base.active_by_fd(a, What::READ | What::WRITE);
    base.active_by_fd(999_999, What::READ);
    base.active_by_fd(u32::MAX, What::READ);
    assert_eq!(base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
    assert_eq!(*got.borrow(), [("reader", What::READ)]);
    got.borrow_mut().clear();
    base.active_by_fd(a, What::TIMEOUT);
    assert_eq!(base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
    assert_eq!(*got.borrow(), [("timer", What::TIMEOUT)]);
    base.active_by_signal(0);
    base.active_by_signal(u32::MAX);
    base.del(other).unwrap();
}

/// A freed event's id, and one from another base, are refused with
/// `StaleEvent` and change nothing (libevent#1049, #1206 are
/// use-after-frees instead).
pub fn stale_event_id<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let mut other = new_base::<P, S>(variant);
    let ev = base
        .new_event(Source::None, What::empty(), Callback::<P, S>::new(|_, _, _| {}))
        .unwrap();
    let foreign = other
        .new_event(Source::None, What::empty(), Callback::<P, S>::new(|_, _, _| {}))
        .unwrap();
    base.free(ev).unwrap();
    let again = base
        .new_event(Source::None, What::empty(), Callback::<P, S>::new(|_, _, _| {}))
        .unwrap();
    for id in [ev, foreign] {
        assert_eq!(base.add(id, Some(ms(1))), Err(Error::StaleEvent));
        assert_eq!(base.del(id), Err(Error::StaleEvent));
        assert_eq!(base.active(id, What::READ, 1), Err(Error::StaleEvent));
        assert_eq!(base.pending(id, What::all()), Err(Error::StaleEvent));
        assert_eq!(base.free(id), Err(Error::StaleEvent));
    }
    assert!(base.pending(again, What::all()).unwrap().what.is_empty());
    assert_eq!(
        base.set_priority(again, 5),
        Err(Error::InvalidPriority {
            priority: 5,
            npriorities: 1
        })
    );
    let start = base.gettime_monotonic();
    base.add(again, Some(ms(1))).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_elapsed::<P>(
        "timer after stale uses",
        base.gettime_monotonic().saturating_since(start),
        ms(1),
    );
}
