//! No allocation in the steady state of dispatch, on every POSIX backend
//! variant of this host, with growable storage (the std user's setting).
//!
//! A ring of socket pairs passes bytes around, as the pipe-chain benchmark
//! does: each persistent read event re-arms its own timeout from its
//! callback, churns a timer (del + add) and activates a user event by
//! hand; callbacks are both plain functions and closures, and a prepare
//! (plain) and a check (closure) watcher run on every iteration. Once the tables
//! have grown to fit, a counting allocator must see nothing more.
#![cfg(unix)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use evbase_core::{Callback, EventBase, EventId, Growable, Phase, Source, WatchCallback, WatchId, What};
use evbase_posix::PosixPlatform;
use evbase_tests::posix::{VARIANTS, close, recv, send};
use evbase_tests::{TestPlatform, new_base};

type Base = EventBase<PosixPlatform, Growable>;

/// Counts the allocations of the thread that turned counting on.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: a thread being torn down has no locals left to count in.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is passed on to `System` unchanged; counting touches
// only const-initialised thread locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: the caller's contract for `layout` is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: as `realloc`'s own contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    ALLOCATIONS.with(|n| n.get())
}

const PAIRS: usize = 16;
const LONG: Duration = Duration::from_secs(60);

/// What every callback of the ring shares.
struct Ring {
    /// (read end, write end) per pair.
    pairs: Vec<(u32, u32)>,
    /// The churned timer and the hand-activated user event.
    timer: Cell<Option<EventId>>,
    user: Cell<Option<EventId>>,
    /// Bytes passed on, and after how many the loop breaks.
    passed: Cell<usize>,
    stop_at: Cell<usize>,
    user_runs: Cell<usize>,
    /// Prepare and check watcher runs.
    prepares: Cell<usize>,
    checks: Cell<usize>,
}

fn prepare_fn(_: &mut Base, _: WatchId, phase: Phase, _: usize) {
    assert!(matches!(phase, Phase::Prepare { .. }));
    RING.with(|r| {
        let ring = r.borrow();
        let ring = ring.as_ref().unwrap();
        ring.prepares.set(ring.prepares.get() + 1);
    });
}

/// One hop: read a byte from pair `i`, write one into pair `i + 1`,
/// re-arm this event's timeout, churn the timer, activate the user event.
fn hop(b: &mut Base, id: EventId, what: What, ring: &Ring, i: usize) {
    assert!(!what.contains(What::TIMEOUT), "a 60 s timeout fired");
    let mut byte = [0u8; 1];
    assert_eq!(
        recv(ring.pairs[i].0, &mut byte),
        Some(1),
        "a ready read end had no byte"
    );
    let next = (i + 1) % ring.pairs.len();
    assert_eq!(send(ring.pairs[next].1, b"x"), Some(1));
    b.add(id, Some(LONG)).unwrap();
    let timer = ring.timer.get().unwrap();
    b.del(timer).unwrap();
    b.add(timer, Some(LONG)).unwrap();
    b.active(ring.user.get().unwrap(), What::READ, 1).unwrap();
    ring.passed.set(ring.passed.get() + 1);
    if ring.passed.get() >= ring.stop_at.get() {
        b.loop_break();
    }
}

thread_local! {
    /// The ring, for the plain-function callbacks (their word is the pair index).
    static RING: RefCell<Option<Rc<Ring>>> = const { RefCell::new(None) };
}

fn hop_fn(b: &mut Base, id: EventId, what: What, i: usize) {
    // A clone of the `Rc` counts, it does not allocate.
    let ring = RING.with(|r| r.borrow().clone()).unwrap();
    hop(b, id, what, &ring, i);
}

fn steady_state_allocates_nothing(variant: &str) {
    let mut base: Base = new_base(variant);
    let pairs: Vec<(u32, u32)> = (0..PAIRS).map(|_| PosixPlatform::new().socketpair()).collect();
    // Shared: the plain callbacks reach it through a thread-local, the
    // closures each hold a clone. Freed at the end (LeakSanitizer checks).
    let ring = Rc::new(Ring {
        pairs: pairs.clone(),
        timer: Cell::new(None),
        user: Cell::new(None),
        passed: Cell::new(0),
        stop_at: Cell::new(0),
        user_runs: Cell::new(0),
        prepares: Cell::new(0),
        checks: Cell::new(0),
    });
    RING.with(|r| *r.borrow_mut() = Some(ring.clone()));
    let timer = base
        .new_event(Source::None, What::empty(), Callback::from_fn(|_, _, _, _| {}, 0))
        .unwrap();
    let counted = ring.clone();
    let user = base
        .new_event(
            Source::None,
            What::empty(),
            Callback::new(move |_, _, _| counted.user_runs.set(counted.user_runs.get() + 1)),
        )
        .unwrap();
    base.new_prepare(WatchCallback::from_fn(prepare_fn, 0)).unwrap();
    let watched = ring.clone();
    base.new_check(WatchCallback::new(move |_, _, _| {
        watched.checks.set(watched.checks.get() + 1)
    }))
    .unwrap();
    ring.timer.set(Some(timer));
    ring.user.set(Some(user));
    base.add(timer, Some(LONG)).unwrap();
    for (i, &(read_end, _)) in pairs.iter().enumerate() {
        let callback = if i % 2 == 0 {
            Callback::from_fn(hop_fn, i)
        } else {
            let ring = ring.clone();
            Callback::new(move |b, id, what| hop(b, id, what, &ring, i))
        };
        let ev = base
            .new_event(Source::Fd(read_end), What::READ | What::PERSIST, callback)
            .unwrap();
        base.add(ev, Some(LONG)).unwrap();
    }
    // Four bytes in flight: batches of more than one ready event.
    for k in 0..4 {
        assert_eq!(send(pairs[k * PAIRS / 4].1, b"x"), Some(1));
    }

    // Warm up: every table reaches the size this load needs.
    ring.stop_at.set(500);
    base.dispatch().unwrap();
    let before = (ring.passed.get(), ring.user_runs.get());
    let watched_before = (ring.prepares.get(), ring.checks.get());

    ring.stop_at.set(before.0 + 5000);
    let allocations = allocations_in(|| {
        base.dispatch().unwrap();
    });
    assert!(ring.passed.get() >= before.0 + 5000, "{variant}: the ring stalled");
    assert!(ring.user_runs.get() > before.1, "{variant}: the user event never ran");
    let iterations = ring.prepares.get() - watched_before.0;
    assert!(iterations > 0, "{variant}: the prepare watcher never ran");
    assert_eq!(
        ring.checks.get() - watched_before.1,
        iterations,
        "{variant}: one check per prepare"
    );
    assert_eq!(
        allocations, 0,
        "{variant}: {allocations} allocations in 5000 steady-state hops"
    );

    // The base drops the closures' clones; the thread-local's goes here.
    drop(base);
    RING.with(|r| r.borrow_mut().take());
    assert_eq!(Rc::strong_count(&ring), 1, "{variant}: the ring outlived its base");
    for (a, b) in pairs {
        close(a);
        close(b);
    }
}

#[test]
fn steady_state_of_dispatch_allocates_nothing() {
    for variant in VARIANTS {
        if evbase_tests::posix::skipped(variant, "steady_state_allocates_nothing") {
            continue;
        }
        steady_state_allocates_nothing(variant);
    }
}
