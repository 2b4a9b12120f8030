//! Timers: persistence, re-arming, removal, common timeouts, the time cache.

use std::time::Duration;

use evbase_core::{
    BaseFlags, Callback, Error, EventBase, Exit, Instant, LoopFlags, MAX_COMMON_TIMEOUTS, Source, Storage, TimerHeap,
    What,
};

use super::log;
use crate::{TestPlatform, assert_elapsed, new_base};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// libevent `main/persistent_timeout`: a 10 ms persistent timer fires
/// every 10 ms, without drift.
pub fn persistent_timeout<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let times = log();
    let t = times.clone();
    let ev = base
        .new_event(
            Source::None,
            What::PERSIST,
            Callback::<P, S>::new(move |b, _, what| {
                assert_eq!(what, What::TIMEOUT);
                t.borrow_mut().push(b.gettime_monotonic());
                if t.borrow().len() == 6 {
                    b.loop_exit(None).unwrap();
                }
            }),
        )
        .unwrap();
    let start = base.gettime_monotonic();
    base.add(ev, Some(ms(10))).unwrap();
    base.dispatch().unwrap();
    let times = times.borrow();
    assert_eq!(times.len(), 6);
    let last = times[5].saturating_since(start);
    assert_elapsed::<P>("sixth firing", last, ms(60));
}

/// libevent `main/persistent_timeout_jump`: a 100 ms periodic timer after
/// a 300 ms stall fires once, not three times (no catch-up).
pub fn persistent_timeout_jump<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let count = log();
    let c = count.clone();
    let ev = base.new_event(
        Source::None,
        What::PERSIST,
        Callback::<P, S>::new(move |_, _, _| c.borrow_mut().push(())),
    );
    base.add(ev.unwrap(), Some(ms(100))).unwrap();
    base.platform_mut().sleep(ms(300));
    base.loop_exit(Some(ms(50))).unwrap();
    base.dispatch().unwrap();
    assert_eq!(count.borrow().len(), 1);
}

/// libevent `main/persistent_active_timeout`: a 200 ms persistent timer
/// activated by hand at 100 ms fires at 100 (READ), 300 and 500 (TIMEOUT):
/// a manual activation restarts the interval.
pub fn persistent_active_timeout<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let calls = log();
    let c = calls.clone();
    let start = base.gettime_monotonic();
    let ev = base
        .new_event(
            Source::None,
            What::PERSIST,
            Callback::<P, S>::new(move |b, _, what| {
                c.borrow_mut()
                    .push((b.gettime_monotonic().saturating_since(start), what));
            }),
        )
        .unwrap();
    base.add(ev, Some(ms(200))).unwrap();
    base.once(
        Source::None,
        What::TIMEOUT,
        Some(ms(100)),
        Callback::<P, S>::new(move |b, _, _| b.active(ev, What::READ, 1).unwrap()),
    )
    .unwrap();
    base.loop_exit(Some(ms(600))).unwrap();
    base.dispatch().unwrap();
    let calls = calls.borrow();
    let whats: Vec<What> = calls.iter().map(|c| c.1).collect();
    assert_eq!(whats, [What::READ, What::TIMEOUT, What::TIMEOUT]);
    for (call, at) in calls.iter().zip([100, 300, 500]) {
        assert_elapsed::<P>("activation", call.0, ms(at));
    }
}

/// libevent `main/event_timeout_lost` (libevent#1530): an event whose fd
/// became readable and whose timer expired in the same iteration gets
/// READ|TIMEOUT; neither is lost.
pub fn event_timeout_lost<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    let got = log();
    let g = got.clone();
    let ev = base.new_event(
        Source::Fd(a),
        What::READ,
        Callback::<P, S>::new(move |_, _, what| g.borrow_mut().push(what)),
    );
    base.add(ev.unwrap(), Some(ms(10))).unwrap();
    base.platform_mut().send(b, b"x").unwrap();
    base.platform_mut().sleep(ms(20));
    assert_eq!(base.run(LoopFlags::ONCE), Ok(Exit::Done));
    assert_eq!(*got.borrow(), [What::READ | What::TIMEOUT]);
}

/// libevent `main/event_remove_timeout`: `remove_timer` drops the timeout
/// of a persistent read event (which then only sees READ) and keeps a
/// plain timer from firing.
pub fn event_remove_timeout<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    let got = log();
    let g = got.clone();
    let reader = base
        .new_event(
            Source::Fd(a),
            What::READ | What::PERSIST,
            Callback::<P, S>::new(move |b, _, what| {
                g.borrow_mut().push(what);
                let mut buf = [0u8; 8];
                b.platform_mut().recv(a, &mut buf);
            }),
        )
        .unwrap();
    let timer = base.new_event(
        Source::None,
        What::empty(),
        Callback::<P, S>::new(|_, _, _| panic!("removed timer fired")),
    );
    let timer = timer.unwrap();
    base.add(reader, Some(ms(5))).unwrap();
    base.add(timer, Some(ms(5))).unwrap();
    base.remove_timer(reader).unwrap();
    base.remove_timer(timer).unwrap();
    assert!(
        !base
            .pending(reader, What::TIMEOUT)
            .unwrap()
            .what
            .contains(What::TIMEOUT)
    );
    assert_eq!(base.pending(reader, What::READ).unwrap().what, What::READ);
    base.once(
        Source::None,
        What::TIMEOUT,
        Some(ms(10)),
        Callback::<P, S>::new(move |bs, _, _| {
            bs.platform_mut().send(b, b"x").unwrap();
        }),
    )
    .unwrap();
    base.loop_exit(Some(ms(50))).unwrap();
    base.dispatch().unwrap();
    assert_eq!(*got.borrow(), [What::READ]);
}

/// libevent `main/common_timeout`: one handle per duration; heap→common,
/// common→heap and common→common re-adds; persistent events on 100 ms and
/// 200 ms common timeouts fire four times each, on time; the base can be
/// dropped with them pending.
pub fn common_timeout<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let ms100 = base.init_common_timeout(ms(100)).unwrap();
    let ms200 = base.init_common_timeout(ms(200)).unwrap();
    assert_eq!(base.init_common_timeout(ms(200)).unwrap(), ms200);
    assert_ne!(ms100, ms200);
    let start = base.gettime_monotonic();
    let fired: Vec<_> = (0..10).map(|_| log()).collect();
    for (i, f) in fired.iter().enumerate() {
        let f = f.clone();
        let ev = base
            .new_event(
                Source::None,
                What::PERSIST,
                Callback::<P, S>::new(move |b, id, _| {
                    f.borrow_mut().push(b.gettime_monotonic().saturating_since(start));
                    if f.borrow().len() == 4 {
                        b.del(id).unwrap();
                    }
                }),
            )
            .unwrap();
        if i % 2 == 1 {
            match i % 20 {
                1 => {
                    base.add_common(ev, ms200).unwrap();
                    base.add(ev, Some(ms(100))).unwrap();
                }
                3 => {
                    base.add(ev, Some(ms(200))).unwrap();
                    base.add_common(ev, ms100).unwrap();
                }
                5 => {
                    base.add_common(ev, ms200).unwrap();
                    base.add_common(ev, ms100).unwrap();
                }
                _ => base.add_common(ev, ms100).unwrap(),
            }
        } else {
            base.add_common(ev, ms200).unwrap();
        }
    }
    base.loop_exit(Some(ms(1000))).unwrap();
    base.dispatch().unwrap();
    for (i, f) in fired.iter().enumerate() {
        let period = if i % 2 == 1 { 100 } else { 200 };
        let f = f.borrow();
        assert_eq!(f.len(), 4, "event {i}");
        for (k, at) in f.iter().enumerate() {
            assert_elapsed::<P>("common timeout", *at, ms(period * (k as u64 + 1)));
        }
    }
    // Pending common timeouts at drop.
    let ev = base
        .new_event(Source::None, What::PERSIST, Callback::<P, S>::new(|_, _, _| {}))
        .unwrap();
    base.add_common(ev, ms100).unwrap();
    drop(base);
}

/// libevent `main/simpletimeout`: a 200 ms timer fires after 200 ms.
pub fn simpletimeout<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let start = base.gettime_monotonic();
    let at = log();
    let a = at.clone();
    let ev = base.new_event(
        Source::None,
        What::empty(),
        Callback::<P, S>::new(move |b, _, what| {
            a.borrow_mut().push((b.gettime_monotonic(), what));
        }),
    );
    base.add(ev.unwrap(), Some(ms(200))).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    let at = at.borrow();
    assert_eq!(at.len(), 1);
    assert_eq!(at[0].1, What::TIMEOUT);
    assert_elapsed::<P>("simpletimeout", at[0].0.saturating_since(start), ms(200));
}

/// libevent `main/gettimeofday_cached{,_sleep,_reset,_disabled}`: outside
/// the loop it is the clock; inside one batch every read is the same
/// cached time; `update_cache_time` or `NO_CACHE_TIME` show time passing.
pub fn gettimeofday_cached<P: TestPlatform, S: Storage>(variant: &str) {
    for no_cache in [false, true] {
        let (platform, mut config) = P::make(variant);
        if no_cache {
            config.set_flag(BaseFlags::NO_CACHE_TIME);
        }
        let mut base = EventBase::<P, S>::with_config(platform, &config).unwrap();
        let Ok(outside) = base.gettimeofday_cached() else {
            return;
        };
        let seen = log();
        let s = seen.clone();
        let ev = base.new_event(
            Source::None,
            What::empty(),
            Callback::<P, S>::new(move |b, _, _| {
                let t1 = b.gettimeofday_cached().unwrap();
                b.platform_mut().sleep(ms(30));
                let t2 = b.gettimeofday_cached().unwrap();
                b.update_cache_time();
                let t3 = b.gettimeofday_cached().unwrap();
                s.borrow_mut().push((t1, t2, t3));
            }),
        );
        base.add(ev.unwrap(), Some(Duration::ZERO)).unwrap();
        base.dispatch().unwrap();
        let (t1, t2, t3) = seen.borrow()[0];
        assert!(t1 >= outside, "cached time before the loop started");
        if no_cache {
            assert!(t2 >= t1 + ms(30) - ms(1), "NO_CACHE_TIME still cached");
        } else {
            assert_eq!(t1, t2, "two reads in one batch differ");
        }
        assert!(t3 >= t1 + ms(30) - ms(1), "update_cache_time did not refresh");
    }
}

/// `with_cached_time`: the timers one batch adds outside the loop count from
/// the instant the batch began, however long it takes; after it, an add
/// reads the clock again. From a callback it runs under the loop's cache.
pub fn with_cached_time<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let inside = log();
    let i = inside.clone();
    let mut timer = || {
        base.new_event(
            Source::None,
            What::empty(),
            Callback::<P, S>::from_fn(|_, _, _, _| {}, 0),
        )
        .unwrap()
    };
    let (first, second, after) = (timer(), timer(), timer());
    let start = base.gettime_monotonic();
    base.with_cached_time(|b| {
        b.add(first, Some(ms(100))).unwrap();
        b.platform_mut().sleep(ms(40));
        b.add(second, Some(ms(100))).unwrap();
    });
    let deadline = |b: &mut EventBase<P, S>, id| b.pending(id, What::TIMEOUT).unwrap().deadline.unwrap();
    let held = deadline(&mut base, first);
    assert_eq!(deadline(&mut base, second), held, "the batch read the clock again");
    assert!(
        held >= start.saturating_add(ms(100)),
        "the held time is before the batch"
    );
    base.add(after, Some(ms(100))).unwrap();
    assert!(
        deadline(&mut base, after) >= held.saturating_add(ms(40)),
        "an add after the batch used the held time"
    );
    base.once(
        Source::None,
        What::TIMEOUT,
        None,
        Callback::<P, S>::new(move |b, _, _| {
            let cached = b.now();
            b.platform_mut().sleep(ms(10));
            let seen = b.with_cached_time(|b| b.now());
            i.borrow_mut().push((cached, seen, b.now()));
        }),
    )
    .unwrap();
    for id in [first, second, after] {
        base.del(id).unwrap();
    }
    base.dispatch().unwrap();
    let (cached, seen, later) = inside.borrow()[0];
    assert_eq!(
        seen, cached,
        "inside a callback the batch saw another time than the loop's"
    );
    assert_eq!(later, cached, "the batch ended the loop's cached time");
}

/// Timers with equal deadlines fire in the order they were added (libevent
/// leaves this unspecified).
pub fn equal_deadlines_fire_in_add_order<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let order = log();
    let mut ids = Vec::new();
    for i in 0..32 {
        let o = order.clone();
        ids.push(
            base.new_event(
                Source::None,
                What::empty(),
                Callback::<P, S>::new(move |_, _, _| o.borrow_mut().push(i)),
            )
            .unwrap(),
        );
    }
    // Inside a callback all adds see one cached "now": equal deadlines.
    let added: Vec<usize> = (0..32).step_by(2).chain((1..32).step_by(2)).collect();
    let plan = added.clone();
    base.once(
        Source::None,
        What::TIMEOUT,
        None,
        Callback::<P, S>::new(move |b, _, _| {
            for &i in &plan {
                b.add(ids[i], Some(ms(20))).unwrap();
            }
        }),
    )
    .unwrap();
    base.dispatch().unwrap();
    assert_eq!(*order.borrow(), added);
}

/// libevent `heap/randomized`: 1024 random deadlines, 512 erased; the
/// remaining ones pop in order.
pub fn heap_randomized<P: TestPlatform, S: Storage>(_variant: &str) {
    let mut heap = TimerHeap::<S>::new();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let n = 1024.min(heap_limit::<S>());
    for key in 0..n as u32 {
        heap.push(key, Instant::from_nanos(next() % 1_000_000)).unwrap();
    }
    let mut erased = 0;
    for key in (0..n as u32).filter(|k| k % 2 == 1) {
        assert!(heap.erase(key));
        erased += 1;
    }
    assert_eq!(heap.len(), n - erased);
    let mut last = Instant::ZERO;
    while let Some((key, d)) = heap.pop() {
        assert_eq!(key % 2, 0, "an erased timer came back");
        assert!(d >= last, "popped out of order");
        last = d;
    }
}

fn heap_limit<S: Storage>() -> usize {
    use evbase_core::Buf;
    let v: S::Vec<u8> = Default::default();
    v.limit()
}

/// The last common timeout a base hands out works like the first, and the
/// one after it is refused with nothing changed (the 256th used to wrap
/// its queue number to 0, "the heap", or panic in a debug build).
pub fn common_timeout_limit<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let mut last = None;
    for i in 0..MAX_COMMON_TIMEOUTS {
        last = Some(
            base.init_common_timeout(ms(10) + Duration::from_micros(i as u64))
                .unwrap(),
        );
    }
    let last = last.unwrap();
    let before = base.memory();
    assert_eq!(
        base.init_common_timeout(ms(500)),
        Err(Error::capacity(&"common timeout", MAX_COMMON_TIMEOUTS))
    );
    assert_eq!(base.memory(), before, "a refused common timeout takes nothing");
    let fired = log();
    let f = fired.clone();
    let start = base.gettime_monotonic();
    let ev = base
        .new_event(
            Source::None,
            What::empty(),
            Callback::<P, S>::new(move |b, _, what| {
                f.borrow_mut()
                    .push((what, b.gettime_monotonic().saturating_since(start)))
            }),
        )
        .unwrap();
    base.add_common(ev, last).unwrap();
    assert_eq!(base.dispatch().unwrap(), Exit::NoEvents);
    let fired = fired.borrow();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].0, What::TIMEOUT);
    assert!(
        fired[0].1 >= last.duration(),
        "fired after {:?}, before its {:?}",
        fired[0].1,
        last.duration()
    );
}
