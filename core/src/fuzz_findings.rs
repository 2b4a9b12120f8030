//! The fuzzers' findings (`fuzz/regressions/`), each replayed as a
//! deterministic test named after it, on growable and fixed storage.

use core::cell::Cell;
use core::time::Duration;
use std::rc::Rc;

use crate::sim::SimPlatform;
use crate::{
    Callback, EventBase, EventId, Exit, Fixed, Growable, Instant, LoopFlags, Source, Storage, TimerHeap, What,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `loop_ops/heap-index-out-of-bounds-after-self-readd`: an event whose
/// callback re-adds itself with a 0 ms timeout, run until a break, then a
/// second event activated and the loop run again, which leaves the first
/// one active by its timer (`TIMEOUT` in its result) but no longer armed:
/// `pending` then read a deadline from a heap entry it no longer had.
fn heap_index_out_of_bounds_after_self_readd<S: Storage>() {
    let platform = SimPlatform::new();
    let mut base = EventBase::<SimPlatform, S>::new(platform).unwrap();
    let runs = Rc::new(Cell::new(0u32));
    let me: Rc<Cell<Option<EventId>>> = Rc::default();
    let (r, m) = (runs.clone(), me.clone());
    let readd = base
        .new_event(
            Source::None,
            What::empty(),
            Callback::<SimPlatform, S>::new(move |b, _, _| {
                r.set(r.get() + 1);
                if r.get() == 200 {
                    b.loop_break();
                }
                b.add(m.get().unwrap(), Some(ms(0))).unwrap();
            }),
        )
        .unwrap();
    me.set(Some(readd));
    base.active(readd, What::READ, 1).unwrap();
    assert_eq!(base.run(LoopFlags::NONBLOCK), Ok(Exit::Done));
    assert_eq!(runs.get(), 200);
    assert_eq!(base.pending(readd, What::all()).unwrap().what, What::TIMEOUT);
    base.check_invariants().unwrap();

    let breaks = base
        .new_event(
            Source::None,
            What::READ,
            Callback::<SimPlatform, S>::from_fn(|b, _, _, _| b.loop_break(), 0),
        )
        .unwrap();
    base.active(breaks, What::READ, 1).unwrap();
    assert_eq!(base.run(LoopFlags::NONBLOCK), Ok(Exit::Done));
    // The break ran first (activated first); the due timer made the
    // re-adding event active, its callback still to run.
    assert_eq!(runs.get(), 200);
    let pending = base.pending(readd, What::all()).unwrap();
    assert_eq!(pending.what, What::TIMEOUT);
    assert_eq!(pending.deadline, None, "active by its timer, no longer armed");
    base.check_invariants().unwrap();
}

#[test]
fn heap_index_out_of_bounds_after_self_readd_growable() {
    heap_index_out_of_bounds_after_self_readd::<Growable>();
}

#[test]
fn heap_index_out_of_bounds_after_self_readd_fixed() {
    heap_index_out_of_bounds_after_self_readd::<Fixed<16>>();
}

/// `loop_ops/persist-rearm-lost-after-break`: a persistent 215 ms timer
/// whose callback breaks, due twice over when run with `ONCE|NONBLOCK` at
/// 430 ms, is re-armed for 430 ms (its last deadline + 215 ms, not before
/// now); the next `NONBLOCK` run at 430 ms must fire it.
fn persist_rearm_lost_after_break<S: Storage>() {
    let platform = SimPlatform::new();
    let clock = platform.clone();
    let mut base = EventBase::<SimPlatform, S>::new(platform).unwrap();
    let fired = Rc::new(Cell::new(0u32));
    let f = fired.clone();
    let ev = base
        .new_event(
            Source::None,
            What::PERSIST,
            Callback::<SimPlatform, S>::new(move |b, _, what| {
                assert_eq!(what, What::TIMEOUT);
                f.set(f.get() + 1);
                b.loop_break();
            }),
        )
        .unwrap();
    let start = base.gettime_monotonic();
    base.add(ev, Some(ms(215))).unwrap();
    clock.world(|w| w.advance(ms(430)));
    assert_eq!(base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
    assert_eq!(fired.get(), 1);
    let pending = base.pending(ev, What::TIMEOUT).unwrap();
    assert_eq!(pending.what, What::TIMEOUT);
    assert_eq!(
        pending.deadline.map(|d| d.saturating_since(start)),
        Some(ms(430)),
        "re-armed for the last deadline + 215 ms"
    );
    base.check_invariants().unwrap();
    assert_eq!(base.run(LoopFlags::NONBLOCK), Ok(Exit::Done));
    assert_eq!(fired.get(), 2, "due at 430 ms, run at 430 ms");
    base.check_invariants().unwrap();
}

#[test]
fn persist_rearm_lost_after_break_growable() {
    persist_rearm_lost_after_break::<Growable>();
}

#[test]
fn persist_rearm_lost_after_break_fixed() {
    persist_rearm_lost_after_break::<Fixed<16>>();
}

/// `heap/defer-applied-before-flush`: an erase that compacts the dead
/// entries must leave a deferred re-key waiting for the flush.
fn defer_applied_before_flush<S: Storage>() {
    let us = |n: u64| Instant::from_nanos(n * 1000);
    let mut heap = TimerHeap::<S>::new();
    heap.push(17, us(1)).unwrap();
    heap.adjust(127, us(15)).unwrap();
    heap.adjust(85, us(15)).unwrap();
    heap.push(11, us(4)).unwrap();
    heap.defer(11, us(11));
    // 85 sits mid-heap: it dies in place.
    assert!(heap.erase(85));
    assert_eq!(heap.pop(), Some((17, us(1))));
    // The dead entries outnumber the live ones: this erase compacts.
    assert!(heap.erase(127));
    heap.check();
    assert_eq!(heap.top(), Some((11, us(4))), "the re-key waits for the flush");
    assert_eq!(heap.deadline(11), Some(us(4)));
    heap.flush();
    heap.check();
    assert_eq!(heap.top(), Some((11, us(11))));
}

#[test]
fn defer_applied_before_flush_growable() {
    defer_applied_before_flush::<Growable>();
}

#[test]
fn defer_applied_before_flush_fixed() {
    defer_applied_before_flush::<Fixed<256>>();
}
