//! The consistency of a base's tables (libevent's `event_base_assert_ok_`).
//!
//! A base keeps what it knows of each event in several places at once:
//! the slot's state bits, the timer heap and its position table, the
//! common-timeout queues, the active queues, the fd and signal maps with
//! their per-direction counts, the changelist, and the counters behind
//! `num_events`. [`EventBase::check_invariants`] checks that they all tell
//! the same story. It never changes anything and may be called at any
//! point a caller can reach the base, inside a callback included.
//!
//! Every list is walked with a bound (the number of slots ever used), so a
//! cycle in corrupted links is reported, not followed forever.

use core::fmt;

use crate::event::{NIL, state};
use crate::platform::Platform;
use crate::{EventBase, Source, Storage, What};

/// A broken invariant: which one, and the event slot index (or the handle,
/// signal or common-queue number) where it was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    /// The rule that does not hold.
    pub what: &'static str,
    /// Where: an event's slot index, or the fd, signal or queue the rule
    /// names.
    pub at: Option<u32>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(at) => write!(f, "{} (at {at})", self.what),
            None => f.write_str(self.what),
        }
    }
}

fn ensure(ok: bool, what: &'static str, at: impl Into<Option<u32>>) -> Result<(), Violation> {
    if ok {
        Ok(())
    } else {
        Err(Violation { what, at: at.into() })
    }
}

impl<P: Platform, S: Storage> EventBase<P, S> {
    /// Checks that the base's tables agree with each other:
    ///
    /// - every live record has a known callback kind, a priority in range,
    ///   and state bits that match its source, flags and timer;
    /// - the timer heap is ordered, each entry's record knows its position,
    ///   and it holds exactly the records whose timer is armed on the heap;
    /// - each common-timeout queue is a well-linked list, in deadline
    ///   order, of exactly the records armed on it, and its internal timer
    ///   is armed at its head's deadline exactly when it is not empty;
    /// - the active queues and the active-later queue hold each queued
    ///   record once, at its priority, and their length and most urgent
    ///   priority are right;
    /// - each fd's event list holds exactly the records registered on it,
    ///   all edge-triggered or none; each signal's list likewise;
    /// - each pending change of the changelist is indexed, not a no-op, and
    ///   leads to the fd's current interest;
    /// - the added count is the number of queue memberships of user events,
    ///   and no high-water mark is below its count;
    /// - the watchers are in the order added, and counted by kind.
    ///
    /// # Errors
    /// The first [`Violation`] found.
    pub fn check_invariants(&self) -> Result<(), Violation> {
        self.check_slots()?;
        self.check_heap()?;
        self.check_common_queues()?;
        self.check_active_queues()?;
        self.check_handles()?;
        self.check_changelist()?;
        self.check_counts()?;
        self.watchers.check()
    }

    fn check_slots(&self) -> Result<(), Violation> {
        let c = &self.core;
        let npriorities = c.queues.npriorities();
        let (commons, _) = c.timers.audit();
        let ncommons = commons.count();
        let mut live = 0;
        for (key, r) in c.slots.iter() {
            live += 1;
            ensure(r.state & state::KIND <= state::KIND_EMPTY, "unknown callback kind", key)?;
            ensure(usize::from(r.priority) < npriorities, "slot priority out of range", key)?;
            ensure(
                !r.has(state::FD) && r.has(state::SIG) == r.events.contains(What::SIGNAL)
                    || r.has(state::FD) && !r.has(state::SIG) && !r.events.contains(What::SIGNAL),
                "SIGNAL flag and signal source disagree",
                key,
            )?;
            ensure(
                r.has(state::INTERVAL) == (c.timers.interval(key) != 0),
                "interval bit differs from the interval",
                key,
            )?;
            ensure(
                !r.has(state::INSERTED) || r.events.intersects(What::IO | What::SIGNAL),
                "registered slot watches no handle or signal",
                key,
            )?;
            ensure(
                usize::from(r.common) <= ncommons,
                "slot names a missing common queue",
                key,
            )?;
            ensure(
                r.has(state::COMMON) == (r.common != 0),
                "common bit differs from the queue",
                key,
            )?;
            ensure(
                r.has(state::MAP) == r.events.intersects(What::IO | What::SIGNAL),
                "map bit differs from the source and flags",
                key,
            )?;
            ensure(
                r.state & state::KIND != state::KIND_COMMON || r.has(state::INTERNAL),
                "a common queue's timer is not internal",
                key,
            )?;
            ensure(
                !r.has(state::FINALIZING) || !r.has(state::INSERTED | state::TIMEOUT),
                "finalizing slot still pending",
                key,
            )?;
            ensure(
                !r.has(state::LATER) || r.has(state::QUEUED),
                "active-later slot not queued",
                key,
            )?;
        }
        ensure(live == c.slots.live(), "slab live count", None)?;
        if let Some(running) = c.running_event {
            ensure(c.slots.id_of(running).is_some(), "running event is not live", running)?;
        }
        Ok(())
    }

    fn check_heap(&self) -> Result<(), Violation> {
        let c = &self.core;
        let heap = &c.timers.heap;
        let (next_seq, deferred, dead) = heap.audit();
        let mut seen_dead = 0;
        for i in 0..heap.slots_len() {
            let Some((key, deadline, seq)) = heap.entry_at(i) else {
                return Err(Violation {
                    what: "heap shorter than its length",
                    at: None,
                });
            };
            if i > 0 {
                let (pkey, pdeadline, pseq) = heap.entry_at(crate::heap::parent(i)).unwrap_or((key, deadline, seq));
                ensure((pdeadline, pseq, pkey) < (deadline, seq, key), "heap order", key)?;
            }
            ensure(seq < next_seq, "heap sequence number from the future", key)?;
            if crate::heap::is_dead_key(key) {
                ensure(i > 0, "the earliest heap entry is dead", None)?;
                seen_dead += 1;
                continue;
            }
            ensure(c.slots.id_of(key).is_some(), "heap names a dead slot", key)?;
            let r = c.slots.at(key);
            ensure(r.heap as usize == i, "heap position", key)?;
            ensure(r.has(state::TIMEOUT), "heap holds a slot without TIMEOUT", key)?;
            ensure(r.common == 0, "heap holds a common-queue timer", key)?;
        }
        ensure(seen_dead == dead, "dead heap entries miscounted", None)?;
        if let Some(key) = deferred {
            ensure(
                c.slots.id_of(key).is_some_and(|_| {
                    let r = c.slots.at(key);
                    r.has(state::TIMEOUT) && r.common == 0
                }),
                "deferred re-key of a key not in the heap",
                key,
            )?;
        }
        let armed = c
            .slots
            .iter()
            .filter(|(_, r)| r.has(state::TIMEOUT) && r.common == 0)
            .count();
        ensure(
            armed == heap.len(),
            "heap size differs from the heap timers armed",
            None,
        )
    }

    fn check_common_queues(&self) -> Result<(), Violation> {
        let c = &self.core;
        let bound = c.slots.bound() as usize;
        let (queues, links) = c.timers.audit();
        for (q, (_, first, last, timer)) in queues.enumerate() {
            let qn = q as u32;
            ensure(c.slots.id_of(timer).is_some(), "common queue's timer is not live", qn)?;
            let t = c.slots.at(timer);
            ensure(
                c.slots.is_common_timer(timer, Some(q as u8)) || c.running_event == Some(timer),
                "common queue's timer runs another callback",
                qn,
            )?;
            ensure(t.common == 0, "common queue's timer is not a heap timer", qn)?;
            let mut prev = None;
            let mut at = first;
            let mut members = 0usize;
            while let Some(key) = at {
                members += 1;
                ensure(members <= bound, "common queue has a cycle", qn)?;
                ensure(c.slots.id_of(key).is_some(), "common queue names a dead slot", key)?;
                let r = c.slots.at(key);
                ensure(r.has(state::TIMEOUT), "common queue holds a slot without TIMEOUT", key)?;
                ensure(
                    usize::from(r.common) == q + 1,
                    "common queue holds a slot of another queue",
                    key,
                )?;
                let Some((p, n)) = links(key) else {
                    return Err(Violation {
                        what: "common queue member has no links",
                        at: Some(key),
                    });
                };
                ensure(p == prev, "common queue back link", key)?;
                if let Some(p) = prev {
                    ensure(
                        c.timers.common_deadline(p) <= c.timers.common_deadline(key),
                        "common queue out of deadline order",
                        key,
                    )?;
                }
                prev = Some(key);
                at = n;
            }
            ensure(last == prev, "common queue's last member", qn)?;
            let armed = c
                .slots
                .iter()
                .filter(|(_, r)| r.has(state::TIMEOUT) && usize::from(r.common) == q + 1)
                .count();
            ensure(armed == members, "common queue size differs from its timers armed", qn)?;
            match first {
                Some(head) => {
                    ensure(t.has(state::TIMEOUT), "non-empty common queue's timer is not armed", qn)?;
                    ensure(
                        self.deadline(timer) == c.timers.common_deadline(head),
                        "common queue's timer is not at its head's deadline",
                        qn,
                    )?;
                }
                None => ensure(!t.has(state::TIMEOUT), "empty common queue's timer is armed", qn)?,
            }
        }
        Ok(())
    }

    fn check_active_queues(&self) -> Result<(), Violation> {
        let c = &self.core;
        let q = &c.queues;
        let bound = c.slots.bound() as usize;
        let mut active = 0usize;
        let mut most_urgent = None;
        for (pri, key) in q.iter_active(&c.slots).take(bound + 1) {
            active += 1;
            ensure(active <= bound, "active queues hold a key twice or a cycle", key)?;
            most_urgent.get_or_insert(pri);
            ensure(
                usize::from(pri) < q.npriorities(),
                "active queue beyond the priorities",
                key,
            )?;
            ensure(c.slots.id_of(key).is_some(), "active queue names a dead slot", key)?;
            let r = c.slots.at(key);
            ensure(r.has(state::QUEUED) && !r.has(state::LATER), "active queue tag", key)?;
            ensure(r.priority == pri, "active at another priority than its slot's", key)?;
        }
        let mut later = 0usize;
        for key in q.iter_later(&c.slots).take(bound + 1) {
            later += 1;
            ensure(later <= bound, "active-later queue holds a key twice or a cycle", key)?;
            ensure(
                c.slots.id_of(key).is_some(),
                "active-later queue names a dead slot",
                key,
            )?;
            let r = c.slots.at(key);
            ensure(
                r.has(state::QUEUED) && r.has(state::LATER),
                "active-later queue tag",
                key,
            )?;
        }
        ensure(active + later == q.len(), "active queues' length", None)?;
        let queued = c.slots.iter().filter(|(_, r)| r.has(state::QUEUED)).count();
        ensure(
            queued == q.len(),
            "slots marked queued differ from the queues' length",
            None,
        )?;
        ensure(q.first_nonempty() == most_urgent, "most urgent active priority", None)
    }

    fn check_handles(&self) -> Result<(), Violation> {
        let c = &self.core;
        let bound = c.slots.bound() as usize;
        let (fds, signals) = c.handles.audit();
        let mut on_fds = 0usize;
        for (fd, first) in fds {
            let mut members = 0usize;
            let mut at = first;
            let et = first != NIL && c.slots.at(first).events.contains(What::ET);
            while at != NIL {
                let key = at;
                members += 1;
                ensure(members <= bound, "fd list has a cycle", fd)?;
                ensure(c.slots.id_of(key).is_some(), "fd list names a dead slot", key)?;
                let r = c.slots.at(key);
                ensure(r.has(state::INSERTED), "fd list holds an unregistered slot", key)?;
                ensure(r.fd() == Some(fd), "fd list holds a slot of another fd", key)?;
                ensure(
                    r.events.contains(What::ET) == et,
                    "fd list mixes edge and level events",
                    key,
                )?;
                at = r.next;
            }
            on_fds += members;
        }
        let mut on_signals = 0usize;
        for (sig, first) in signals {
            let mut members = 0usize;
            let mut at = first;
            while at != NIL {
                let key = at;
                members += 1;
                ensure(members <= bound, "signal list has a cycle", sig)?;
                ensure(c.slots.id_of(key).is_some(), "signal list names a dead slot", key)?;
                let r = c.slots.at(key);
                ensure(r.has(state::INSERTED), "signal list holds an unregistered slot", key)?;
                ensure(
                    r.source() == Source::Signal(sig),
                    "signal list holds a slot of another signal",
                    key,
                )?;
                at = r.next;
            }
            on_signals += members;
        }
        let (mut fd_slots, mut signal_slots) = (0usize, 0usize);
        for (_, r) in c.slots.iter().filter(|(_, r)| r.has(state::INSERTED)) {
            match r.source() {
                Source::Fd(_) => fd_slots += 1,
                Source::Signal(_) => signal_slots += 1,
                Source::None => {}
            }
        }
        ensure(
            on_fds == fd_slots,
            "registered fd events differ from the fd lists",
            None,
        )?;
        ensure(
            on_signals == signal_slots,
            "registered signal events differ from the signal lists",
            None,
        )
    }

    fn check_changelist(&self) -> Result<(), Violation> {
        let changes = self.changelist.changes();
        for change in changes {
            ensure(!change.is_noop(), "changelist holds a no-op", change.fd)?;
            ensure(
                self.changelist.get(change.fd) == Some(change),
                "changelist index",
                change.fd,
            )?;
            ensure(
                change.readd & !(change.old & change.new & What::IO) == What::empty(),
                "changelist re-adds a direction it does not keep",
                change.fd,
            )?;
        }
        let (fds, _) = self.core.handles.audit();
        let mut seen = 0usize;
        for (fd, _) in fds {
            if let Some(change) = self.changelist.get(fd) {
                seen += 1;
                ensure(
                    change.new == self.core.handles.fd_interest(&self.core.slots, fd),
                    "changelist does not lead to the fd's interest",
                    fd,
                )?;
            }
        }
        ensure(
            seen == changes.len(),
            "changelist names an fd the map does not have",
            None,
        )
    }

    fn check_counts(&self) -> Result<(), Violation> {
        let c = &self.core;
        let mut added = 0usize;
        for (_, r) in c.slots.iter().filter(|(_, r)| !r.has(state::INTERNAL)) {
            added += usize::from(r.has(state::INSERTED));
            added += usize::from(r.has(state::TIMEOUT));
            added += usize::from(r.has(state::QUEUED));
        }
        let n = &c.counts;
        ensure(
            n.added == added,
            "added count differs from the user events' memberships",
            None,
        )?;
        ensure(
            n.max_added >= n.added,
            "high-water mark of added events below the count",
            None,
        )?;
        ensure(
            n.max_virtual >= n.virtual_,
            "high-water mark of virtual events below the count",
            None,
        )?;
        ensure(
            n.max_active >= c.queues.len(),
            "high-water mark of active events below the count",
            None,
        )
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use core::time::Duration;

    use super::*;
    use crate::sim::SimPlatform;
    use crate::{Callback, EventId, Growable, LoopFlags};

    type Base = EventBase<SimPlatform, Growable>;

    fn ok(base: &Base) {
        if let Err(v) = base.check_invariants() {
            panic!("invariant broken: {v}");
        }
    }

    static CHECKED_IN_CALLBACKS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

    fn checking_cb(base: &mut Base, _id: EventId, _what: What, _word: usize) {
        ok(base);
        CHECKED_IN_CALLBACKS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }

    fn nop(_: &mut Base, _: EventId, _: What, _: usize) {}

    /// A base with a bit of everything: fd events (two sharing an fd, one
    /// edge-triggered on another), a signal, heap and common timers,
    /// persistent timers, active and active-later events at two
    /// priorities, a virtual event.
    fn busy() -> (SimPlatform, Base, [EventId; 8]) {
        let platform = SimPlatform::new();
        let (a, b) = platform.world(|w| w.pair());
        let mut base = Base::new(platform.clone()).unwrap();
        base.priority_init(2).unwrap();
        let cb = || Callback::from_fn(checking_cb, 0);
        let r1 = base.new_event(Source::Fd(a), What::READ | What::PERSIST, cb()).unwrap();
        let r2 = base.new_event(Source::Fd(a), What::READ | What::WRITE, cb()).unwrap();
        let et = base
            .new_event(Source::Fd(b), What::WRITE | What::ET | What::PERSIST, cb())
            .unwrap();
        let sig = base
            .new_event(Source::Signal(10), What::SIGNAL | What::PERSIST, cb())
            .unwrap();
        let t1 = base.new_event(Source::None, What::PERSIST, cb()).unwrap();
        let t2 = base.new_event(Source::None, What::empty(), cb()).unwrap();
        let ct = base.new_event(Source::None, What::empty(), cb()).unwrap();
        let user = base.new_event(Source::None, What::empty(), cb()).unwrap();
        base.add(r1, None).unwrap();
        ok(&base);
        base.add(r2, Some(Duration::from_millis(50))).unwrap();
        base.add(et, None).unwrap();
        base.add(sig, None).unwrap();
        base.add(t1, Some(Duration::from_millis(5))).unwrap();
        base.add(t2, Some(Duration::from_millis(1))).unwrap();
        let common = base.init_common_timeout(Duration::from_millis(3)).unwrap();
        base.add_common(ct, common).unwrap();
        ok(&base);
        base.set_priority(user, 0).unwrap();
        base.active(user, What::READ, 1).unwrap();
        base.active_later(t2, What::TIMEOUT).unwrap();
        base.add_virtual();
        ok(&base);
        (platform, base, [r1, r2, et, sig, t1, t2, ct, user])
    }

    #[test]
    fn a_busy_base_is_consistent_at_every_step() {
        let (platform, mut base, [r1, r2, et, sig, t1, t2, ct, user]) = busy();
        // Callbacks check too (from inside the loop, with the running
        // event popped and a persistent re-arm deferred).
        base.run(LoopFlags::NONBLOCK).unwrap();
        ok(&base);
        platform.world(|w| w.advance(Duration::from_millis(10)));
        base.run(LoopFlags::ONCE).unwrap();
        ok(&base);
        platform.world(|w| w.raise(10));
        base.run(LoopFlags::NONBLOCK).unwrap();
        ok(&base);
        base.del(r2).unwrap();
        base.remove_timer(t1).unwrap();
        ok(&base);
        base.free(et).unwrap();
        base.del(sig).unwrap();
        base.free(ct).unwrap();
        base.del_virtual();
        ok(&base);
        base.finalize(user, Callback::from_fn(nop, 0)).unwrap();
        ok(&base);
        base.run(LoopFlags::NONBLOCK).unwrap();
        ok(&base);
        base.free(r1).unwrap();
        base.free(t1).unwrap();
        let _ = base.free(t2);
        ok(&base);
        base.max_events(crate::Count::all(), true);
        ok(&base);
        assert!(CHECKED_IN_CALLBACKS.load(core::sync::atomic::Ordering::Relaxed) >= 4);
    }

    #[test]
    fn a_wrong_count_is_found() {
        let (_, mut base, _) = busy();
        base.core.counts.added += 1;
        let v = base.check_invariants().unwrap_err();
        assert_eq!(v.what, "added count differs from the user events' memberships");
    }

    #[test]
    fn a_timer_missing_from_the_heap_is_found() {
        let (_, mut base, ids) = busy();
        let key = ids[5].index(); // t2: a heap timer
        base.core.slots.at_mut(key).heap ^= 1;
        assert_eq!(
            base.check_invariants().unwrap_err(),
            Violation {
                what: "heap position",
                at: Some(key)
            }
        );
        let (_, mut base, ids) = busy();
        let key = ids[7].index(); // user: no timer
        base.core.slots.at_mut(key).state |= state::TIMEOUT;
        assert!(base.check_invariants().is_err());
    }

    #[test]
    fn a_queue_at_the_wrong_priority_is_found() {
        let (_, mut base, ids) = busy();
        let key = ids[7].index(); // user: active at priority 0
        base.core.slots.at_mut(key).priority = 1;
        assert_eq!(
            base.check_invariants().unwrap_err(),
            Violation {
                what: "active at another priority than its slot's",
                at: Some(key)
            }
        );
    }

    #[test]
    fn fd_and_signal_registrations_are_checked() {
        let (_, mut base, ids) = busy();
        let key = ids[0].index(); // r1 on fd a
        base.core.slots.at_mut(key).state &= !state::INSERTED;
        assert_eq!(
            base.check_invariants().unwrap_err(),
            Violation {
                what: "fd list holds an unregistered slot",
                at: Some(key)
            }
        );
        let (_, mut base, ids) = busy();
        let key = ids[0].index();
        base.core.slots.at_mut(key).events &= !What::READ;
        assert!(base.check_invariants().is_err());
        let (_, mut base, ids) = busy();
        let key = ids[3].index(); // the signal
        base.core.slots.at_mut(key).source = 11;
        assert!(base.check_invariants().is_err());
    }

    #[test]
    fn the_changelist_must_lead_to_the_interest() {
        // The default simulated method (kqueue) uses the changelist.
        let (_, mut base, _) = busy();
        assert!(!base.changelist.changes().is_empty());
        let fd = base.changelist.changes()[0].fd;
        base.changelist.clear();
        base.changelist
            .record(fd, What::empty(), What::READ | What::WRITE | What::CLOSED)
            .unwrap();
        assert_eq!(
            base.check_invariants().unwrap_err(),
            Violation {
                what: "changelist does not lead to the fd's interest",
                at: Some(fd)
            }
        );
    }

    #[test]
    fn a_common_queue_out_of_order_is_found() {
        let platform = SimPlatform::new();
        let mut base = Base::new(platform.clone()).unwrap();
        let common = base.init_common_timeout(Duration::from_millis(3)).unwrap();
        let a = base
            .new_event(Source::None, What::empty(), Callback::from_fn(nop, 0))
            .unwrap();
        let b = base
            .new_event(Source::None, What::empty(), Callback::from_fn(nop, 0))
            .unwrap();
        base.add_common(a, common).unwrap();
        platform.world(|w| w.advance(Duration::from_millis(1)));
        base.add_common(b, common).unwrap();
        ok(&base);
        base.core.timers.set_common_deadline(b.index(), crate::Instant::ZERO);
        assert!(base.check_invariants().is_err());
    }
}
