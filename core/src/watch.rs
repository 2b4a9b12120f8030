//! Prepare and check watchers (libevent 2.2's `event2/watch.h`, libev's
//! `ev_prepare`/`ev_check`): callbacks that run just before the loop waits
//! and just after it wakes.
//!
//! The rules are documented on [`WatchKind`].

#[cfg(feature = "alloc")]
use alloc::boxed::Box;
use core::fmt;
#[cfg(feature = "alloc")]
use core::mem;
use core::time::Duration;

use crate::run::stop;
use crate::{Buf, Error, EventBase, LoopFlags, Platform, Storage, Violation};

/// A handle to a watcher of one base. Serials are never reused, so once the
/// watcher is freed, or given to another base, every use is
/// [`Error::StaleWatcher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchId {
    serial: u64,
    base: u32,
}

/// When a watcher runs, and the rules [`EventBase::run`] applies to them on
/// each iteration:
///
/// - Prepare watchers run on every iteration that goes on to wait, after
///   active-later events are moved in, with the wait the loop computed
///   ([`Phase::Prepare`]: `None` waits until an event, `Some(ZERO)` when
///   events are already active or under [`LoopFlags::NONBLOCK`], as
///   libevent's `evwatch_prepare_get_timeout` answers in its code, where
///   its header promises no timeout under `NONBLOCK`). They do not run on
///   an iteration where the loop returns instead (a break or exit already
///   requested, nothing pending).
/// - Check watchers run right after every successful wait, with the cached
///   time fresh, before timers expire and before any event callback of the
///   iteration (not after a failed wait).
/// - Several watchers of one phase run in the order they were added.
/// - A pass runs the watchers that existed when it began: one added from a
///   watcher callback first runs on the next pass; one freed (its own
///   callback included) runs no more, the rest of the pass goes on.
/// - Watcher callbacks get the base: they may add, delete and activate
///   events, add and free watchers, and stop the loop. What a prepare
///   callback changes is honoured before the wait, where libevent waits
///   with the timeout it already computed (a defect: an event activated
///   there waits for the next wake-up): `loop_break` makes the loop return
///   without waiting (and without check watchers, as libev); with nothing
///   left pending the loop returns [`Exit::NoEvents`](crate::Exit); else the
///   wait is computed again (zero after an activation, shorter for a nearer
///   timer). A `loop_break` from a check callback returns before any event
///   callback (libevent still runs one); what was activated stays active
///   for the next run. `loop_exit` from either lets the iteration's
///   callbacks run first, as everywhere.
/// - `dispatch`/`run` from a watcher callback is [`Error::Reentrant`].
///
/// Storage: one table of [`Storage::Watchers`] entries (on [`Fixed`](crate::Fixed)
/// its third parameter, 0 by default, so a firmware base that has none pays
/// one length word); a full table is [`Error::Capacity`]. A base without
/// watchers pays two counter tests per iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// Just before the loop waits (`evwatch_prepare_new`).
    Prepare,
    /// Just after the loop wakes (`evwatch_check_new`).
    Check,
}

/// What a watcher callback is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The loop is about to wait this long (`None`: until an event).
    Prepare {
        /// libevent's `evwatch_prepare_get_timeout`.
        timeout: Option<Duration>,
    },
    /// The loop woke up; no event callback of this iteration ran yet.
    Check,
}

impl Phase {
    fn kind(self) -> WatchKind {
        match self {
            Phase::Prepare { .. } => WatchKind::Prepare,
            Phase::Check => WatchKind::Check,
        }
    }
}

/// A plain watcher callback: the base, the watcher, the phase and the user
/// word given with it. Works without an allocator.
pub type WatchFn<P, S> = fn(&mut EventBase<P, S>, WatchId, Phase, usize);

/// A boxed closure watcher callback (feature `alloc`).
#[cfg(feature = "alloc")]
pub type BoxedWatch<P, S> = Box<dyn FnMut(&mut EventBase<P, S>, WatchId, Phase)>;

/// What runs when a watcher fires.
pub struct WatchCallback<P: Platform, S: Storage>(Run<P, S>);

enum Run<P: Platform, S: Storage> {
    Fn(WatchFn<P, S>, usize),
    #[cfg(feature = "alloc")]
    Boxed(BoxedWatch<P, S>),
    /// A closure moved out while it runs.
    #[cfg(feature = "alloc")]
    Running,
}

impl<P: Platform, S: Storage> WatchCallback<P, S> {
    /// A function and a word handed back to it.
    pub fn from_fn(f: WatchFn<P, S>, arg: usize) -> Self {
        WatchCallback(Run::Fn(f, arg))
    }

    /// A closure.
    #[cfg(feature = "alloc")]
    pub fn new(f: impl FnMut(&mut EventBase<P, S>, WatchId, Phase) + 'static) -> Self {
        WatchCallback(Run::Boxed(Box::new(f)))
    }
}

impl<P: Platform, S: Storage> fmt::Debug for WatchCallback<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Run::Fn(..) => "WatchCallback::Fn",
            #[cfg(feature = "alloc")]
            Run::Boxed(..) | Run::Running => "WatchCallback::Boxed",
        })
    }
}

/// One watcher.
pub(crate) struct Watcher<P: Platform, S: Storage> {
    serial: u64,
    kind: WatchKind,
    run: Run<P, S>,
}

/// The watchers of a base, in the order they were added (serials ascend).
pub(crate) struct Watchers<P: Platform, S: Storage> {
    table: S::Watchers<Watcher<P, S>>,
    /// The serial the next watcher gets (from 1).
    next: u64,
    prepares: u32,
    checks: u32,
}

impl<P: Platform, S: Storage> Watchers<P, S> {
    pub(crate) fn new() -> Self {
        Watchers {
            table: Default::default(),
            next: 1,
            prepares: 0,
            checks: 0,
        }
    }

    /// Bytes of the table as filled now.
    pub(crate) fn table_bytes(&self) -> usize {
        self.table.len() * core::mem::size_of::<Watcher<P, S>>()
    }

    // Constant false on storage without room for watchers: the hooks and
    // everything they call are left out of the binary.
    #[inline]
    pub(crate) fn any_prepare(&self) -> bool {
        S::MAX_WATCHERS != 0 && self.prepares != 0
    }

    #[inline]
    pub(crate) fn any_check(&self) -> bool {
        S::MAX_WATCHERS != 0 && self.checks != 0
    }

    fn count(&mut self, kind: WatchKind) -> &mut u32 {
        match kind {
            WatchKind::Prepare => &mut self.prepares,
            WatchKind::Check => &mut self.checks,
        }
    }

    /// [`EventBase::check_invariants`]' part: serials ascend below `next`,
    /// and the counts by kind match the table.
    pub(crate) fn check(&self) -> Result<(), Violation> {
        let broken = |what| Err(Violation { what, at: None });
        if !self.table.windows(2).all(|w| w[0].serial < w[1].serial)
            || self.table.last().is_some_and(|w| w.serial >= self.next)
        {
            return broken("watchers out of the order they were added");
        }
        let prepares = self.table.iter().filter(|w| w.kind == WatchKind::Prepare).count();
        if prepares != self.prepares as usize || self.table.len() - prepares != self.checks as usize {
            return broken("watcher counts differ from the table");
        }
        Ok(())
    }

    fn find(&self, serial: u64) -> Option<usize> {
        self.table.binary_search_by_key(&serial, |w| w.serial).ok()
    }

    /// The first watcher of `kind` after serial `after` and before `end`.
    fn next_of(&self, kind: WatchKind, after: u64, end: u64) -> Option<usize> {
        let from = self.table.partition_point(|w| w.serial <= after);
        let i = from + self.table[from..].iter().position(|w| w.kind == kind)?;
        (self.table[i].serial < end).then_some(i)
    }
}

impl<P: Platform, S: Storage> EventBase<P, S> {
    /// Adds a watcher that runs just before the loop waits, after those
    /// added before it (libevent 2.2's `evwatch_prepare_new`). The rules
    /// (what a watcher may do, when it does not run) are on [`WatchKind`].
    ///
    /// # Errors
    /// [`Error::Capacity`] when the watcher table is full.
    pub fn new_prepare(&mut self, callback: WatchCallback<P, S>) -> Result<WatchId, Error> {
        self.new_watcher(WatchKind::Prepare, callback)
    }

    /// Adds a watcher that runs just after the loop wakes, before any event
    /// callback (libevent 2.2's `evwatch_check_new`).
    ///
    /// # Errors
    /// [`Error::Capacity`] when the watcher table is full.
    pub fn new_check(&mut self, callback: WatchCallback<P, S>) -> Result<WatchId, Error> {
        self.new_watcher(WatchKind::Check, callback)
    }

    /// Adds a watcher of `kind`.
    ///
    /// # Errors
    /// [`Error::Capacity`] when the watcher table is full.
    pub fn new_watcher(&mut self, kind: WatchKind, callback: WatchCallback<P, S>) -> Result<WatchId, Error> {
        let w = &mut self.watchers;
        let serial = w.next;
        w.table.try_push(
            Watcher {
                serial,
                kind,
                run: callback.0,
            },
            &"watcher",
        )?;
        w.next += 1;
        *w.count(kind) += 1;
        Ok(WatchId {
            serial,
            base: self.core.slots.tag(),
        })
    }

    /// Removes a watcher and drops its callback (libevent's
    /// `evwatch_free`); from its own callback too.
    ///
    /// # Errors
    /// [`Error::StaleWatcher`] for a freed or foreign id.
    pub fn free_watcher(&mut self, id: WatchId) -> Result<(), Error> {
        let i = self.watcher_index(id)?;
        let table = &mut self.watchers.table;
        table[i..].rotate_left(1);
        let gone = table.pop().expect("the watcher was found");
        *self.watchers.count(gone.kind) -= 1;
        Ok(())
    }

    /// When watcher `id` runs.
    ///
    /// # Errors
    /// [`Error::StaleWatcher`] for a freed or foreign id.
    pub fn watcher_kind(&self, id: WatchId) -> Result<WatchKind, Error> {
        Ok(self.watchers.table[self.watcher_index(id)?].kind)
    }

    /// How many watchers the base has.
    pub fn num_watchers(&self) -> usize {
        self.watchers.table.len()
    }

    fn watcher_index(&self, id: WatchId) -> Result<usize, Error> {
        if id.base != self.core.slots.tag() {
            return Err(Error::StaleWatcher);
        }
        self.watchers.find(id.serial).ok_or(Error::StaleWatcher)
    }

    /// Runs the watchers of `phase`'s kind that exist now, in order.
    fn run_watchers(&mut self, phase: Phase) {
        let kind = phase.kind();
        let end = self.watchers.next;
        let mut after = 0;
        while let Some(i) = self.watchers.next_of(kind, after, end) {
            let w = &mut self.watchers.table[i];
            after = w.serial;
            let id = WatchId {
                serial: w.serial,
                base: self.core.slots.tag(),
            };
            match w.run {
                Run::Fn(f, arg) => f(self, id, phase, arg),
                #[cfg(feature = "alloc")]
                Run::Boxed(_) => {
                    let mut run = mem::replace(&mut w.run, Run::Running);
                    if let Run::Boxed(f) = &mut run {
                        f(self, id, phase);
                    }
                    // Put back unless it was freed meanwhile.
                    if let Some(i) = self.watchers.find(after) {
                        self.watchers.table[i].run = run;
                    }
                }
                #[cfg(feature = "alloc")]
                Run::Running => {}
            }
        }
    }

    /// The prepare hook of the loop (`run.rs`): runs the prepare watchers
    /// with the wait `timeout` (nanoseconds), then decides the wait again.
    /// `None`: the loop must go round to its top (a break, or nothing left
    /// to wait for).
    #[cold]
    pub(crate) fn prepare_hook(&mut self, flags: LoopFlags, timeout: Option<u64>) -> Option<Option<u64>> {
        self.run_watchers(Phase::Prepare {
            timeout: timeout.map(Duration::from_nanos),
        });
        if self.core.stop & (stop::BREAK | stop::EXIT) != 0 {
            return None;
        }
        let active = self.core.queues.len();
        if self.nothing_to_wait_for(flags, active) {
            return None;
        }
        self.core.promote_later();
        // The callbacks may have taken time: the wait counts from now.
        self.core.clear_cache();
        Some(self.wait_for(flags, active))
    }

    /// The check hook of the loop (`run.rs`): runs the check watchers;
    /// `true` when one asked for a break.
    #[cold]
    pub(crate) fn check_hook(&mut self) -> bool {
        self.run_watchers(Phase::Check);
        self.core.stop & stop::BREAK != 0
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::*;
    use crate::sim::SimPlatform;
    use crate::{Callback, Exit, Fixed, Source, What};

    type Base = EventBase<SimPlatform, Fixed<8, 4, 2>>;

    fn base() -> Base {
        Base::new(SimPlatform::new()).unwrap()
    }

    std::thread_local! {
        static NOTES: core::cell::RefCell<std::vec::Vec<u64>> = const { core::cell::RefCell::new(std::vec::Vec::new()) };
    }

    fn nothing(_: &mut Base, _: WatchId, _: Phase, _: usize) {}

    #[test]
    fn a_full_table_is_capacity_and_changes_nothing() {
        let mut base = base();
        base.new_prepare(WatchCallback::from_fn(nothing, 0)).unwrap();
        let c = base.new_check(WatchCallback::from_fn(nothing, 0)).unwrap();
        let memory = base.memory();
        assert_eq!(
            memory.watchers,
            2 * core::mem::size_of::<Watcher<SimPlatform, Fixed<8, 4, 2>>>()
        );
        assert_eq!(
            base.new_check(WatchCallback::from_fn(nothing, 0)),
            Err(Error::Capacity {
                what: &"watcher",
                limit: 2
            })
        );
        assert_eq!(base.num_watchers(), 2);
        assert_eq!(base.memory(), memory);
        assert_eq!(base.watcher_kind(c), Ok(WatchKind::Check));
        base.check_invariants().unwrap();
        base.free_watcher(c).unwrap();
        base.check_invariants().unwrap();
        assert_eq!(base.free_watcher(c), Err(Error::StaleWatcher));
        assert_eq!(base.watcher_kind(c), Err(Error::StaleWatcher));
        // The freed place is taken again, under a new id.
        let again = base.new_check(WatchCallback::from_fn(nothing, 0)).unwrap();
        assert_ne!(again, c);
        base.check_invariants().unwrap();
    }

    #[test]
    fn a_foreign_id_is_stale() {
        let mut a = base();
        let mut b = base();
        let id = a.new_prepare(WatchCallback::from_fn(nothing, 0)).unwrap();
        assert_eq!(b.free_watcher(id), Err(Error::StaleWatcher));
        assert_eq!(a.num_watchers(), 1);
    }

    #[test]
    fn fixed_storage_without_watchers_refuses_them() {
        type Small = EventBase<SimPlatform, Fixed<8>>;
        fn nothing(_: &mut Small, _: WatchId, _: Phase, _: usize) {}
        let mut base = Small::new(SimPlatform::new()).unwrap();
        assert_eq!(
            base.new_prepare(WatchCallback::from_fn(nothing, 0)),
            Err(Error::Capacity {
                what: &"watcher",
                limit: 0
            })
        );
    }

    #[test]
    fn prepare_and_check_bracket_the_wait_on_fixed_storage() {
        fn record(base: &mut Base, _: WatchId, phase: Phase, _: usize) {
            let at = base.now().as_nanos();
            let tag = match phase {
                Phase::Prepare { timeout } => {
                    assert_eq!(timeout, Some(Duration::from_millis(5)));
                    1
                }
                Phase::Check => 2,
            };
            NOTES.with(|n| n.borrow_mut().push(tag * 1_000_000_000 + at));
        }
        fn fired(_: &mut Base, _: crate::EventId, _: What, _: usize) {}
        let mut base = base();
        base.new_prepare(WatchCallback::from_fn(record, 0)).unwrap();
        base.new_check(WatchCallback::from_fn(record, 0)).unwrap();
        let ev = base
            .new_event(Source::None, What::TIMEOUT, Callback::from_fn(fired, 0))
            .unwrap();
        base.add(ev, Some(Duration::from_millis(5))).unwrap();
        assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
        assert_eq!(NOTES.with(|n| n.take()), [1_000_000_000, 2_005_000_000]);
    }

    /// What a watcher of the property test does when it runs.
    #[derive(Debug, Clone, Copy)]
    enum Action {
        Nothing,
        /// Frees the live watcher at this place (modulo their number), in
        /// the order added: itself, an earlier or a later one.
        Free(u8),
        /// Adds a watcher that does nothing, of the kind given (prepare if true).
        Add(bool),
    }

    #[derive(Debug, Clone, Copy)]
    enum Op {
        New(bool, Action),
        Free(u8),
        Run,
    }

    const CAP: usize = 6;
    type Small = EventBase<SimPlatform, Fixed<8, 4, CAP>>;

    /// A watcher as the model knows it: its number (the callback's word),
    /// kind, action, and its id in the base.
    #[derive(Clone, Copy)]
    struct Known {
        n: usize,
        prepare: bool,
        action: Action,
        id: Option<WatchId>,
    }

    std::thread_local! {
        /// The harness's list of live watchers, in the order added, kept
        /// up to date by the callbacks too; the log of watcher numbers run.
        static LIVE: core::cell::RefCell<std::vec::Vec<Known>> = const { core::cell::RefCell::new(std::vec::Vec::new()) };
        static RAN: core::cell::RefCell<std::vec::Vec<usize>> = const { core::cell::RefCell::new(std::vec::Vec::new()) };
        static NEXT: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
    }

    /// Applies `action` to the live list `live`; with a base, to it too
    /// (the callback's side), checking that the base agrees on capacity.
    fn apply(live: &mut std::vec::Vec<Known>, action: Action, next: &mut usize, base: Option<&mut Small>) {
        match action {
            Action::Nothing => {}
            Action::Free(k) => {
                if !live.is_empty() {
                    let gone = live.remove(usize::from(k) % live.len());
                    if let (Some(base), Some(id)) = (base, gone.id) {
                        base.free_watcher(id).unwrap();
                    }
                }
            }
            Action::Add(prepare) => {
                let mut w = Known {
                    n: *next,
                    prepare,
                    action: Action::Nothing,
                    id: None,
                };
                let fits = live.len() < CAP;
                if let Some(base) = base {
                    let kind = if prepare { WatchKind::Prepare } else { WatchKind::Check };
                    let made = base.new_watcher(kind, WatchCallback::from_fn(run, *next));
                    assert_eq!(made.is_ok(), fits, "{made:?} with {} watchers", live.len());
                    w.id = made.ok();
                }
                if fits {
                    *next += 1;
                    live.push(w);
                }
            }
        }
    }

    fn run(base: &mut Small, _: WatchId, phase: Phase, n: usize) {
        RAN.with(|r| r.borrow_mut().push(n));
        let action = LIVE.with(|l| l.borrow().iter().find(|w| w.n == n).map(|w| w.action));
        let action = action.expect("a freed watcher ran");
        assert_eq!(
            LIVE.with(|l| l.borrow().iter().find(|w| w.n == n).map(|w| w.prepare)),
            Some(matches!(phase, Phase::Prepare { .. }))
        );
        let mut live = LIVE.with(|l| l.take());
        let mut next = NEXT.with(|c| c.get());
        apply(&mut live, action, &mut next, Some(base));
        NEXT.with(|c| c.set(next));
        LIVE.with(|l| *l.borrow_mut() = live);
    }

    /// The model of one pass: the watchers of the kind live at its start,
    /// in order, each run only if still live at its turn.
    fn model_pass(live: &mut std::vec::Vec<Known>, prepare: bool, next: &mut usize, ran: &mut std::vec::Vec<usize>) {
        let snapshot: std::vec::Vec<usize> = live.iter().filter(|w| w.prepare == prepare).map(|w| w.n).collect();
        for n in snapshot {
            if let Some(w) = live.iter().find(|w| w.n == n).copied() {
                ran.push(n);
                apply(live, w.action, next, None);
            }
        }
    }

    fn against_model(ops: &[Op]) {
        LIVE.with(|l| l.borrow_mut().clear());
        RAN.with(|r| r.borrow_mut().clear());
        NEXT.with(|c| c.set(0));
        let mut base = Small::new(SimPlatform::new()).unwrap();
        let mut model: std::vec::Vec<Known> = std::vec::Vec::new();
        let mut model_next = 0;
        for op in ops {
            match *op {
                Op::New(prepare, action) => {
                    let mut live = LIVE.with(|l| l.take());
                    let mut next = NEXT.with(|c| c.get());
                    apply(&mut live, Action::Add(prepare), &mut next, Some(&mut base));
                    apply(&mut model, Action::Add(prepare), &mut model_next, None);
                    if let (Some(w), Some(m)) = (live.last_mut(), model.last_mut()) {
                        w.action = action;
                        m.action = action;
                    }
                    NEXT.with(|c| c.set(next));
                    LIVE.with(|l| *l.borrow_mut() = live);
                }
                Op::Free(k) => {
                    let mut live = LIVE.with(|l| l.take());
                    let mut next = NEXT.with(|c| c.get());
                    apply(&mut live, Action::Free(k), &mut next, Some(&mut base));
                    apply(&mut model, Action::Free(k), &mut model_next, None);
                    LIVE.with(|l| *l.borrow_mut() = live);
                }
                Op::Run => {
                    let mut expected = std::vec::Vec::new();
                    model_pass(&mut model, true, &mut model_next, &mut expected);
                    model_pass(&mut model, false, &mut model_next, &mut expected);
                    RAN.with(|r| r.borrow_mut().clear());
                    let flags = LoopFlags::NONBLOCK | LoopFlags::NO_EXIT_ON_EMPTY;
                    assert_eq!(base.run(flags), Ok(crate::Exit::Done));
                    assert_eq!(RAN.with(|r| r.take()), expected);
                }
            }
            base.check_invariants().unwrap();
            assert_eq!(base.num_watchers(), model.len());
        }
    }

    fn action() -> impl proptest::strategy::Strategy<Value = Action> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Action::Nothing),
            any::<u8>().prop_map(Action::Free),
            any::<bool>().prop_map(Action::Add),
        ]
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            3 => (any::<bool>(), action()).prop_map(|(p, a)| Op::New(p, a)),
            1 => any::<u8>().prop_map(Op::Free),
            2 => Just(Op::Run),
        ]
    }

    proptest::proptest! {
        #![proptest_config(crate::test_support::proptest_config())]
        /// Passes run the watchers live at their start, in the order added,
        /// skipping those freed meanwhile; a full table refuses, whatever
        /// the callbacks add and free.
        #[test]
        fn passes_match_the_model(ops in proptest::collection::vec(op(), 0..crate::test_support::max_ops(60))) {
            against_model(&ops);
        }
    }
}
