//! Random operation sequences on a whole `EventBase<SimPlatform>`, checked
//! against a small reference model of libevent's loop: which callbacks run,
//! in which order, with which flags, and what stays pending. Events are
//! timers and user events (no handles); the loop runs `ONCE|NONBLOCK` or
//! `NONBLOCK`, and time moves only by `Advance`. Prepare and check watchers
//! (`Step::Watch`) come with a blocking run, where the simulated platform
//! moves time to the deadline the loop waits for, so the wait a prepare
//! watcher is told is exact.
#![no_main]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use evbase_core::sim::SimPlatform;
use evbase_core::{
    Callback, Error, EventBase, EventId, Exit, Fixed, Growable, LoopFlags, Phase, Source, Storage, WatchCallback,
    WatchId, WatchKind, What,
};
use libfuzzer_sys::fuzz_target;

const EVENTS: usize = 8;
/// Watchers an input may try to add, from the harness or from a watcher.
const WATCHERS: usize = 8;
/// The fixed storage: its event slots and watcher table.
type Small = Fixed<16, 256, 3>;
const SMALL_SLOTS: usize = 16;
const SMALL_WATCHERS: usize = 3;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Action {
    Nothing,
    Activate(u8),
    AddSelf(u8),
    Del(u8),
    Break,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    New { persist: bool, read: bool, action: Action },
    Add(u8, Option<u8>),
    Del(u8),
    Free(u8),
    Active(u8, bool),
    SetPriority(u8, u8),
    PriorityInit(u8),
    RemoveTimer(u8),
    Advance(u8),
    Run(bool),
    Break,
}

/// What a watcher callback does, then logs with its result.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum WatchAction {
    Nothing,
    Break,
    /// `loop_exit(None)`: an exit event, activated at once.
    Exit,
    Activate(u8),
    AddTimer(u8, u8),
    /// Frees watcher n: itself, another, or a stale id.
    Free(u8),
    /// Adds a prepare (false) or check (true) watcher that does nothing.
    Add(bool),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum WatchOp {
    New {
        check: bool,
        action: WatchAction,
    },
    Free(u8),
    /// A run without `NONBLOCK` (`ONCE` or not): the loop waits.
    Wait(bool),
}

/// One operation. `Op` keeps the decoding it had before watchers, so the
/// committed inputs keep their meaning, except in the top sixteenth of the
/// variant tag (which `Op` read as `Break`): that is a `WatchOp`.
#[derive(Debug, Clone, Copy)]
enum Step {
    Op(Op),
    Watch(WatchOp),
}

const WATCH_TAGS: u32 = 0xF000_0000;

impl<'a> Arbitrary<'a> for Step {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let tag = u.peek_bytes(4).map(|b| u32::from_le_bytes(b.try_into().unwrap()));
        if tag.is_some_and(|t| t >= WATCH_TAGS) {
            u.bytes(4)?;
            Ok(Step::Watch(WatchOp::arbitrary(u)?))
        } else {
            Ok(Step::Op(Op::arbitrary(u)?))
        }
    }
}

/// What the callbacks saw, in order: events with their flags, watchers
/// with the wait a prepare is told (`None` for a check) and the answer
/// their action got.
#[derive(Debug, Clone, PartialEq)]
enum Note {
    Event(usize, What),
    Watch(usize, Option<Option<Duration>>, Result<(), Error>),
}

/// A watcher the model knows.
#[derive(Debug, Clone, Copy)]
struct Watch {
    check: bool,
    action: WatchAction,
}

/// Marks the exit events in the model's active queue.
const EXIT_EVENT: usize = usize::MAX;

#[derive(Debug, Clone)]
struct Ev {
    persist: bool,
    read: bool,
    action: Action,
    pri: usize,
    inserted: bool,
    /// (deadline, sequence): equal deadlines fire in sequence order.
    timer: Option<(u64, u64)>,
    last_deadline: u64,
    interval: u64,
    res: Option<What>,
}

#[derive(Default)]
struct Model {
    now: u64,
    seq: u64,
    qseq: u64,
    npri: usize,
    events: Vec<Option<Ev>>,
    /// Active queue entries: (priority, queue sequence, index).
    queue: Vec<(usize, u64, usize)>,
    log: Vec<Note>,
    break_requested: bool,
    exit_requested: bool,
    /// Every watcher added or tried, in order: `None` when the table was
    /// full, `Some(None)` once freed.
    watchers: Vec<Option<Option<Watch>>>,
    /// Fixed storage's limits (event slots, watchers); `None` if growable.
    limits: Option<(usize, usize)>,
    running_pri: Option<usize>,
    continue_requested: bool,
    /// Callbacks left in this run before the fuzz harness breaks the loop
    /// (self-activating persistent events, or a check watcher that keeps
    /// pushing back the timer the loop waits for, would otherwise spin
    /// forever).
    budget: Cell<u32>,
}

/// Callbacks (events' and watchers') per run before the harness calls
/// `loop_break`.
const BUDGET: u32 = 200;

/// Takes one callback from `budget`: true once it is spent.
fn spend(budget: &Cell<u32>) -> bool {
    let left = budget.get().saturating_sub(1);
    budget.set(left);
    left == 0
}

impl Model {
    fn ev(&mut self, i: usize) -> Option<&mut Ev> {
        self.events.get_mut(i).and_then(|e| e.as_mut())
    }

    fn schedule(&mut self, i: usize, deadline: u64) {
        self.seq += 1;
        let seq = self.seq;
        let e = self.ev(i).unwrap();
        e.timer = Some((deadline, seq));
        e.last_deadline = deadline;
    }

    fn activate(&mut self, i: usize, what: What) {
        let e = self.ev(i).unwrap();
        match e.res.as_mut() {
            Some(r) => *r |= what,
            None => {
                e.res = Some(what);
                let pri = e.pri;
                self.qseq += 1;
                self.queue.push((pri, self.qseq, i));
                if self.running_pri.is_some_and(|r| pri < r) {
                    self.continue_requested = true;
                }
            }
        }
    }

    fn deactivate(&mut self, i: usize) {
        if self.ev(i).unwrap().res.take().is_some() {
            self.queue.retain(|q| q.2 != i);
        }
    }

    fn del(&mut self, i: usize) {
        let e = self.ev(i).unwrap();
        e.inserted = false;
        e.timer = None;
        self.deactivate(i);
    }

    fn add(&mut self, i: usize, timeout: Option<u64>) {
        let now = self.now;
        let e = self.ev(i).unwrap();
        if e.read {
            e.inserted = true;
        }
        if let Some(t) = timeout {
            if e.persist {
                e.interval = t;
            }
            if e.res.is_some_and(|r| r.contains(What::TIMEOUT)) {
                self.deactivate(i);
            }
            self.schedule(i, now + t);
        }
    }

    /// One callback of the run's budget; the last one breaks.
    fn spend(&mut self) {
        if spend(&self.budget) {
            self.break_requested = true;
        }
    }

    fn has_events(&self) -> bool {
        !self.queue.is_empty() || self.events.iter().flatten().any(|e| e.inserted || e.timer.is_some())
    }

    /// The wait the loop computes: zero when something is active or under
    /// `NONBLOCK`, else until the earliest timer.
    fn wait_for(&self, block: bool) -> Option<u64> {
        if !block || !self.queue.is_empty() {
            return Some(0);
        }
        let next = self
            .events
            .iter()
            .flatten()
            .filter_map(|e| e.timer)
            .map(|t| t.0)
            .min()?;
        Some(next.saturating_sub(self.now))
    }

    fn live_watchers(&self) -> usize {
        self.watchers.iter().flatten().flatten().count()
    }

    fn any_watcher(&self, check: bool) -> bool {
        self.watchers.iter().flatten().flatten().any(|w| w.check == check)
    }

    /// A new watcher: the answer the base gives, the model updated.
    fn add_watcher(&mut self, w: Watch) -> Result<(), Error> {
        match self.limits {
            Some((_, limit)) if self.live_watchers() >= limit => {
                self.watchers.push(None);
                Err(Error::Capacity {
                    what: &"watcher",
                    limit: limit as u32,
                })
            }
            _ => {
                self.watchers.push(Some(Some(w)));
                Ok(())
            }
        }
    }

    /// `free_watcher(k)`; `None` when the harness has no id for `k`.
    fn free_watcher(&mut self, k: usize) -> Option<Result<(), Error>> {
        let w = self.watchers.get_mut(k)?.as_mut()?;
        Some(match w.take() {
            Some(_) => Ok(()),
            None => Err(Error::StaleWatcher),
        })
    }

    /// A pass of the watchers of one phase that exist as it begins;
    /// `timeout` is the wait a prepare pass is told.
    fn watch_pass(&mut self, check: bool, timeout: Option<u64>) {
        for k in 0..self.watchers.len() {
            let Some(Some(w)) = self.watchers[k] else { continue };
            if w.check != check {
                continue;
            }
            let result = match w.action {
                WatchAction::Nothing => Ok(()),
                WatchAction::Break => {
                    self.break_requested = true;
                    Ok(())
                }
                WatchAction::Exit => {
                    let slots =
                        self.events.iter().flatten().count() + self.queue.iter().filter(|q| q.2 == EXIT_EVENT).count();
                    match self.limits {
                        Some((limit, _)) if slots >= limit => Err(Error::Capacity {
                            what: &"exit",
                            limit: limit as u32,
                        }),
                        _ => {
                            self.qseq += 1;
                            self.queue.push((self.npri / 2, self.qseq, EXIT_EVENT));
                            Ok(())
                        }
                    }
                }
                WatchAction::Activate(j) => {
                    if self.ev(j as usize).is_some() {
                        self.activate(j as usize, What::READ);
                    }
                    Ok(())
                }
                WatchAction::AddTimer(j, ms) => {
                    if self.ev(j as usize).is_some() {
                        self.add(j as usize, Some(ms as u64 * 1_000_000));
                    }
                    Ok(())
                }
                WatchAction::Free(n) => self.free_watcher(n as usize).unwrap_or(Ok(())),
                WatchAction::Add(check) => {
                    if self.watchers.len() < WATCHERS {
                        self.add_watcher(Watch {
                            check,
                            action: WatchAction::Nothing,
                        })
                    } else {
                        Ok(())
                    }
                }
            };
            let told = (!check).then(|| timeout.map(Duration::from_nanos));
            self.log.push(Note::Watch(k, told, result));
            self.spend();
        }
    }

    fn timeout_process(&mut self) {
        loop {
            let due = self
                .events
                .iter()
                .enumerate()
                .filter_map(|(i, e)| e.as_ref().and_then(|e| e.timer).map(|t| (t, i)))
                .filter(|((d, _), _)| *d <= self.now)
                .min();
            let Some((_, i)) = due else { return };
            let e = self.ev(i).unwrap();
            if e.res.is_some() || e.persist {
                e.timer = None;
            } else {
                self.del(i);
            }
            self.activate(i, What::TIMEOUT);
        }
    }

    fn run_one(&mut self, i: usize, res: What) {
        let e = self.ev(i).unwrap().clone();
        if !e.persist {
            self.del(i);
        } else if e.interval != 0 {
            let base = if res.contains(What::TIMEOUT) {
                e.last_deadline
            } else {
                self.now
            };
            let mut next = base + e.interval;
            if next < self.now {
                next = self.now + e.interval;
            }
            self.schedule(i, next);
        }
        self.log.push(Note::Event(i, res));
        self.spend();
        match e.action {
            Action::Nothing => {}
            Action::Activate(j) => {
                if self.ev(j as usize).is_some() {
                    self.activate(j as usize, What::READ);
                }
            }
            Action::AddSelf(ms) => self.add(i, Some(ms as u64 * 1_000_000)),
            Action::Del(j) => {
                if self.ev(j as usize).is_some() {
                    self.del(j as usize);
                }
            }
            Action::Break => self.break_requested = true,
        }
    }

    /// Returns the number of callbacks run, or None on break.
    fn process_active(&mut self) -> Option<usize> {
        let pri = self.queue.iter().map(|q| q.0).min()?;
        self.running_pri = Some(pri);
        let mut count = 0;
        let mut broke = false;
        loop {
            let Some(pos) = self
                .queue
                .iter()
                .enumerate()
                .filter(|(_, q)| q.0 == pri)
                .min_by_key(|(_, q)| q.1)
                .map(|(p, _)| p)
            else {
                break;
            };
            let (_, _, i) = self.queue.remove(pos);
            count += 1;
            if i == EXIT_EVENT {
                self.exit_requested = true;
            } else {
                let res = self.ev(i).unwrap().res.take().unwrap();
                self.run_one(i, res);
            }
            if self.break_requested {
                broke = true;
                break;
            }
            if self.continue_requested {
                break;
            }
        }
        self.running_pri = None;
        if broke { None } else { Some(count) }
    }

    /// A run: `ONCE` or not, `NONBLOCK` unless `block`.
    fn run(&mut self, once: bool, block: bool) -> Result<Exit, Error> {
        // libevent forgets an exit left from the last run; a break is kept.
        self.exit_requested = false;
        loop {
            self.continue_requested = false;
            // An exit is taken before a break, which stays for the next run.
            if std::mem::take(&mut self.exit_requested) || std::mem::take(&mut self.break_requested) {
                return Ok(Exit::Done);
            }
            if !self.has_events() {
                return Ok(Exit::NoEvents);
            }
            let mut wait = self.wait_for(block);
            if self.any_watcher(false) {
                self.watch_pass(false, wait);
                if self.break_requested || !self.has_events() {
                    continue;
                }
                wait = self.wait_for(block);
            }
            let Some(wait) = wait else {
                return Err(Error::Unsupported(&"sim: the loop would wait forever"));
            };
            self.now += wait;
            if self.any_watcher(true) {
                self.watch_pass(true, None);
                if self.break_requested {
                    continue;
                }
            }
            self.timeout_process();
            if !self.queue.is_empty() {
                // A break is honoured (and consumed) at the top of the loop.
                let Some(ran) = self.process_active() else { continue };
                if once && self.queue.is_empty() && ran != 0 {
                    return Ok(Exit::Done);
                }
            } else if !block {
                return Ok(Exit::Done);
            }
        }
    }
}

type Log = Rc<RefCell<Vec<Note>>>;
type Ids = Rc<RefCell<Vec<Option<EventId>>>>;
/// Every watcher added or tried, as `Model::watchers`: `None` when refused.
type WatchIds = Rc<RefCell<Vec<Option<WatchId>>>>;

/// What a watcher callback shares with the harness.
#[derive(Clone)]
struct Shared {
    log: Log,
    ids: Ids,
    wids: WatchIds,
    budget: Rc<Cell<u32>>,
}

/// A watcher callback: does `action`, then logs what it was told and the
/// answer it got.
fn watcher<S: Storage>(k: usize, action: WatchAction, ctx: &Shared) -> WatchCallback<SimPlatform, S> {
    let ctx = ctx.clone();
    WatchCallback::new(move |b, _, phase| {
        let event = |j: u8| ctx.ids.borrow().get(j as usize).copied().flatten();
        let result = match action {
            WatchAction::Nothing => Ok(()),
            WatchAction::Break => {
                b.loop_break();
                Ok(())
            }
            WatchAction::Exit => b.loop_exit(None).map_err(|e| match e {
                Error::Capacity { limit, .. } => Error::Capacity { what: &"exit", limit },
                e => e,
            }),
            WatchAction::Activate(j) => {
                if let Some(id) = event(j) {
                    b.active(id, What::READ, 1).unwrap();
                }
                Ok(())
            }
            WatchAction::AddTimer(j, ms) => {
                if let Some(id) = event(j) {
                    b.add(id, Some(Duration::from_millis(ms as u64))).unwrap();
                }
                Ok(())
            }
            WatchAction::Free(n) => {
                let id = ctx.wids.borrow().get(n as usize).copied().flatten();
                id.map_or(Ok(()), |id| b.free_watcher(id))
            }
            WatchAction::Add(check) => {
                let n = ctx.wids.borrow().len();
                if n < WATCHERS {
                    let kind = if check { WatchKind::Check } else { WatchKind::Prepare };
                    let made = b.new_watcher(kind, watcher(n, WatchAction::Nothing, &ctx));
                    ctx.wids.borrow_mut().push(made.ok());
                    made.map(|_| ())
                } else {
                    Ok(())
                }
            }
        };
        let told = match phase {
            Phase::Prepare { timeout } => Some(timeout),
            Phase::Check => None,
        };
        ctx.log.borrow_mut().push(Note::Watch(k, told, result));
        if spend(&ctx.budget) {
            b.loop_break();
        }
    })
}

fn check<S: Storage>(ops: &[Step], limits: Option<(usize, usize)>) {
    let platform = SimPlatform::new();
    let clock = platform.clone();
    let mut base = EventBase::<SimPlatform, S>::new(platform).unwrap();
    let mut model = Model {
        npri: 1,
        limits,
        ..Model::default()
    };
    let log: Log = Default::default();
    let ids: Ids = Default::default();
    let wids: WatchIds = Default::default();
    let budget = Rc::new(Cell::new(BUDGET));
    let shared = Shared {
        log: log.clone(),
        ids: ids.clone(),
        wids: wids.clone(),
        budget: budget.clone(),
    };
    for &step in ops {
        let op = match step {
            Step::Op(op) => op,
            Step::Watch(w) => {
                match w {
                    WatchOp::New { check, action } => {
                        let k = wids.borrow().len();
                        if k < WATCHERS {
                            let kind = if check { WatchKind::Check } else { WatchKind::Prepare };
                            let made = base.new_watcher(kind, watcher(k, action, &shared));
                            wids.borrow_mut().push(made.ok());
                            assert_eq!(made.map(|_| ()), model.add_watcher(Watch { check, action }), "{w:?}");
                        }
                    }
                    WatchOp::Free(k) => {
                        let id = wids.borrow().get(k as usize).copied().flatten();
                        if let Some(id) = id {
                            assert_eq!(base.free_watcher(id), model.free_watcher(k as usize).unwrap(), "{w:?}");
                        }
                    }
                    WatchOp::Wait(once) => {
                        let flags = if once { LoopFlags::ONCE } else { LoopFlags::empty() };
                        budget.set(BUDGET);
                        model.budget.set(BUDGET);
                        assert_eq!(base.run(flags), model.run(once, true), "{w:?}");
                    }
                }
                after_step(&mut base, &mut model, &log, &ids, &step);
                continue;
            }
        };
        match op {
            Op::New { persist, read, action } => {
                if model.events.len() >= EVENTS {
                    continue;
                }
                let index = model.events.len();
                let (l, table, left) = (log.clone(), ids.clone(), budget.clone());
                let flags =
                    if persist { What::PERSIST } else { What::empty() } | if read { What::READ } else { What::empty() };
                let cb = Callback::<SimPlatform, S>::new(move |b, _, what| {
                    l.borrow_mut().push(Note::Event(index, what));
                    if spend(&left) {
                        b.loop_break();
                    }
                    let target = |j: u8| table.borrow().get(j as usize).copied().flatten();
                    match action {
                        Action::Nothing => {}
                        Action::Activate(j) => {
                            if let Some(id) = target(j) {
                                b.active(id, What::READ, 1).unwrap();
                            }
                        }
                        Action::AddSelf(ms) => {
                            let me = target(index as u8).unwrap();
                            b.add(me, Some(Duration::from_millis(ms as u64))).unwrap();
                        }
                        Action::Del(j) => {
                            if let Some(id) = target(j) {
                                b.del(id).unwrap();
                            }
                        }
                        Action::Break => b.loop_break(),
                    }
                });
                let Ok(id) = base.new_event(Source::None, flags, cb) else {
                    return;
                };
                ids.borrow_mut().push(Some(id));
                let pri = model.npri / 2;
                model.events.push(Some(Ev {
                    persist,
                    read,
                    action,
                    pri,
                    inserted: false,
                    timer: None,
                    last_deadline: 0,
                    interval: 0,
                    res: None,
                }));
            }
            Op::Add(i, t) => {
                let Some(id) = ids.borrow().get(i as usize).copied().flatten() else {
                    continue;
                };
                let t = t.map(|ms| ms as u64);
                base.add(id, t.map(Duration::from_millis)).unwrap();
                model.add(i as usize, t.map(|ms| ms * 1_000_000));
            }
            Op::Del(i) | Op::Free(i) => {
                let Some(id) = ids.borrow().get(i as usize).copied().flatten() else {
                    continue;
                };
                if let Op::Free(_) = op {
                    base.free(id).unwrap();
                    assert_eq!(base.free(id), Err(Error::StaleEvent));
                    ids.borrow_mut()[i as usize] = None;
                    model.del(i as usize);
                    model.events[i as usize] = None;
                } else {
                    base.del(id).unwrap();
                    model.del(i as usize);
                }
            }
            Op::Active(i, write) => {
                let Some(id) = ids.borrow().get(i as usize).copied().flatten() else {
                    continue;
                };
                let what = if write { What::WRITE } else { What::READ };
                base.active(id, what, 1).unwrap();
                model.activate(i as usize, what);
            }
            Op::SetPriority(i, p) => {
                let Some(id) = ids.borrow().get(i as usize).copied().flatten() else {
                    continue;
                };
                let got = base.set_priority(id, p as usize);
                let npri = model.npri;
                let e = model.ev(i as usize).unwrap();
                let expect = if p as usize >= npri {
                    Err(Error::InvalidPriority {
                        priority: p as usize,
                        npriorities: npri as u16,
                    })
                } else if e.res.is_some() {
                    Err(Error::InvalidArgument(&"cannot change the priority of an active event"))
                } else {
                    e.pri = p as usize;
                    Ok(())
                };
                assert_eq!(got, expect);
            }
            Op::PriorityInit(n) => {
                let got = base.priority_init(n as usize);
                let ok = (1..=255).contains(&n) && model.queue.is_empty();
                assert_eq!(got.is_ok(), ok, "priority_init({n}) -> {got:?}");
                if ok {
                    model.npri = n as usize;
                    for e in model.events.iter_mut().flatten() {
                        e.pri = e.pri.min(n as usize - 1);
                    }
                }
            }
            Op::RemoveTimer(i) => {
                let Some(id) = ids.borrow().get(i as usize).copied().flatten() else {
                    continue;
                };
                base.remove_timer(id).unwrap();
                let e = model.ev(i as usize).unwrap();
                e.timer = None;
                e.interval = 0;
            }
            Op::Advance(ms) => {
                clock.world(|w| w.advance(Duration::from_millis(ms as u64)));
                model.now += ms as u64 * 1_000_000;
            }
            Op::Run(once) => {
                let flags = if once {
                    LoopFlags::ONCE | LoopFlags::NONBLOCK
                } else {
                    LoopFlags::NONBLOCK
                };
                budget.set(BUDGET);
                model.budget.set(BUDGET);
                assert_eq!(base.run(flags), model.run(once, false));
            }
            Op::Break => {
                base.loop_break();
                model.break_requested = true;
            }
        }
        after_step(&mut base, &mut model, &log, &ids, &step);
    }
}

/// After every step: its callbacks, the events' pending flags, the
/// number of watchers.
fn after_step<S: Storage>(base: &mut EventBase<SimPlatform, S>, model: &mut Model, log: &Log, ids: &Ids, step: &Step) {
    // Only this step's callbacks: both logs are emptied once compared,
    // so a long input costs linear time, not quadratic.
    assert_eq!(*log.borrow(), model.log, "callbacks after {step:?}");
    log.borrow_mut().clear();
    model.log.clear();
    for (i, id) in ids.borrow().iter().enumerate() {
        let Some(id) = *id else { continue };
        let e = model.events[i].as_ref().unwrap();
        let mut expect = What::empty();
        if e.inserted {
            expect |= What::READ;
        }
        if e.timer.is_some() {
            expect |= What::TIMEOUT;
        }
        if let Some(r) = e.res {
            expect |= r;
        }
        assert_eq!(
            base.pending(id, What::all()).unwrap().what,
            expect,
            "event {i} after {step:?}"
        );
    }
    assert_eq!(base.num_watchers(), model.live_watchers(), "after {step:?}");
}

fuzz_target!(|steps: Vec<Step>| {
    check::<Growable>(&steps, None);
    check::<Small>(&steps, Some((SMALL_SLOTS, SMALL_WATCHERS)));
});
