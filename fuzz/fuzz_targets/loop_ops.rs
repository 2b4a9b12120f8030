//! Random operation sequences on a whole `EventBase<SimPlatform>`, checked
//! against a small reference model of libevent's loop: which callbacks run,
//! in which order, with which flags, and what stays pending. Events are
//! timers and user events (no handles); the loop runs `ONCE|NONBLOCK` or
//! `NONBLOCK`, and time moves only by `Advance`.
#![no_main]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use arbitrary::Arbitrary;
use evbase_core::sim::SimPlatform;
use evbase_core::{Callback, Error, EventBase, EventId, Exit, Fixed, Growable, LoopFlags, Source, Storage, What};
use libfuzzer_sys::fuzz_target;

const EVENTS: usize = 8;

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
    log: Vec<(usize, What)>,
    break_requested: bool,
    running_pri: Option<usize>,
    continue_requested: bool,
    /// Callbacks left in this run before the fuzz harness breaks the loop
    /// (self-activating persistent events would otherwise spin forever).
    budget: u32,
}

/// Callbacks per run before the harness calls `loop_break`.
const BUDGET: u32 = 200;

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

    fn has_events(&self) -> bool {
        self.events
            .iter()
            .flatten()
            .any(|e| e.inserted || e.timer.is_some() || e.res.is_some())
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
        self.log.push((i, res));
        self.budget -= 1;
        if self.budget == 0 {
            self.break_requested = true;
        }
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
            let res = self.ev(i).unwrap().res.take().unwrap();
            count += 1;
            self.run_one(i, res);
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

    fn run(&mut self, once: bool) -> Exit {
        loop {
            self.continue_requested = false;
            if std::mem::take(&mut self.break_requested) {
                return Exit::Done;
            }
            if !self.has_events() {
                return Exit::NoEvents;
            }
            self.timeout_process();
            if !self.queue.is_empty() {
                // A break is honoured (and consumed) at the top of the loop.
                let Some(ran) = self.process_active() else { continue };
                if once && self.queue.is_empty() && ran != 0 {
                    return Exit::Done;
                }
            } else {
                return Exit::Done;
            }
        }
    }
}

type Log = Rc<RefCell<Vec<(usize, What)>>>;
type Ids = Rc<RefCell<Vec<Option<EventId>>>>;

fn check<S: Storage>(ops: &[Op]) {
    let platform = SimPlatform::new();
    let clock = platform.clone();
    let mut base = EventBase::<SimPlatform, S>::new(platform).unwrap();
    let mut model = Model {
        npri: 1,
        ..Model::default()
    };
    let log: Log = Default::default();
    let ids: Ids = Default::default();
    let budget = Rc::new(std::cell::Cell::new(BUDGET));
    for &op in ops {
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
                    l.borrow_mut().push((index, what));
                    left.set(left.get() - 1);
                    if left.get() == 0 {
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
                model.budget = BUDGET;
                let got = base.run(flags).unwrap();
                let expect = model.run(once);
                assert_eq!(got, expect);
            }
            Op::Break => {
                base.loop_break();
                model.break_requested = true;
            }
        }
        // Only this op's callbacks: both logs are emptied once compared,
        // so a long input costs linear time, not quadratic.
        assert_eq!(*log.borrow(), model.log, "callbacks after {op:?}");
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
                "event {i} after {op:?}"
            );
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    check::<Growable>(&ops);
    check::<Fixed<16>>(&ops);
});
