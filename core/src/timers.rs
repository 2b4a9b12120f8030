//! Timers: the heap, common-timeout queues, and expiry.
//!
//! A timer lives either in the min-heap or in one of up to 255
//! common-timeout queues: FIFO lists of events sharing one duration, of
//! which only the head sits in the heap (through an internal event), so
//! thousands of equal idle timeouts cost O(1) each.

use core::time::Duration;

use crate::event::{Kind, state};
use crate::platform::Platform;
use crate::{Buf, Error, EventBase, Instant, Source, Storage, TimerHeap, What};

/// At most this many distinct common-timeout durations per base (a slot
/// names its queue in a byte whose 0 means "the heap").
pub const MAX_COMMON_TIMEOUTS: usize = 255;

const NIL: u32 = u32::MAX;

/// A common timeout of one base: a duration whose timers share a FIFO queue
/// (libevent's magic `timeval`, as a typed handle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommonTimeout {
    base: u32,
    index: u8,
    duration: Duration,
}

impl CommonTimeout {
    /// The duration of this common timeout.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    pub(crate) fn queue(&self) -> u8 {
        self.index + 1
    }
}

struct CommonQueue {
    duration: Duration,
    first: u32,
    last: u32,
    /// The internal event that sits in the heap for the queue's head.
    timer: u32,
}

pub(crate) struct Timers<S: Storage> {
    pub(crate) heap: TimerHeap<S>,
    commons: S::Vec<CommonQueue>,
    /// (prev, next) per slot key for common-queue membership.
    links: S::Vec<(u32, u32)>,
}

impl<S: Storage> Timers<S> {
    pub(crate) fn new() -> Self {
        Timers {
            heap: TimerHeap::new(),
            commons: Default::default(),
            links: Default::default(),
        }
    }

    /// Bytes of the heap and the common-queue links.
    pub(crate) fn table_bytes(&self) -> usize {
        self.heap.table_bytes() + self.links.len() * core::mem::size_of::<(u32, u32)>()
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.top().map(|(_, d)| d)
    }

    /// Every common queue as `(duration, first, last, internal timer)`,
    /// and the `(prev, next)` links of a key in a common queue (for
    /// [`crate::invariants`]).
    #[allow(clippy::type_complexity)]
    pub(crate) fn audit(
        &self,
    ) -> (
        impl Iterator<Item = (Duration, Option<u32>, Option<u32>, u32)> + '_,
        impl Fn(u32) -> Option<(Option<u32>, Option<u32>)> + '_,
    ) {
        let some = |k: u32| (k != NIL).then_some(k);
        let queues = self
            .commons
            .iter()
            .map(move |q| (q.duration, some(q.first), some(q.last), q.timer));
        let links = move |key: u32| self.links.get(key as usize).map(|&(p, n)| (some(p), some(n)));
        (queues, links)
    }

    fn common_push(&mut self, q: u8, key: u32, deadline: Instant, deadline_of: impl Fn(u32) -> Instant) -> bool {
        // Deadlines arrive nearly sorted: search back from the tail (O(1) in practice).
        let queue = &mut self.commons[q as usize];
        let mut after = queue.last;
        while after != NIL && deadline_of(after) > deadline {
            after = self.links[after as usize].0;
        }
        let next = if after == NIL {
            queue.first
        } else {
            self.links[after as usize].1
        };
        self.links[key as usize] = (after, next);
        if after == NIL {
            queue.first = key;
        } else {
            self.links[after as usize].1 = key;
        }
        if next == NIL {
            queue.last = key;
        } else {
            self.links[next as usize].0 = key;
        }
        queue.first == key
    }

    fn common_remove(&mut self, q: u8, key: u32) -> bool {
        let (prev, next) = self.links[key as usize];
        let queue = &mut self.commons[q as usize];
        let was_head = queue.first == key;
        if prev == NIL {
            queue.first = next;
        } else {
            self.links[prev as usize].1 = next;
        }
        if next == NIL {
            queue.last = prev;
        } else {
            self.links[next as usize].0 = prev;
        }
        self.links[key as usize] = (NIL, NIL);
        was_head
    }
}

impl<P: Platform, S: Storage> EventBase<P, S> {
    /// Makes (or finds) the common timeout of `duration`
    /// (libevent's `event_base_init_common_timeout`).
    ///
    /// # Errors
    /// [`Error::Capacity`] once 255 durations are in use, or when the
    /// internal timer event does not fit.
    pub fn init_common_timeout(&mut self, duration: Duration) -> Result<CommonTimeout, Error> {
        let base = self.core.slots.tag();
        let timers = &self.core.timers;
        if let Some(i) = timers.commons.iter().position(|q| q.duration == duration) {
            return Ok(CommonTimeout {
                base,
                index: i as u8,
                duration,
            });
        }
        let index = timers.commons.len();
        if index >= MAX_COMMON_TIMEOUTS {
            return Err(Error::capacity(&"common timeout", MAX_COMMON_TIMEOUTS));
        }
        self.core.timers.commons.try_reserve(1, &"common timeout")?;
        let mut slot = self
            .core
            .empty_slot(Source::None, What::empty(), Kind::Common(index as u8));
        slot.state = state::INTERNAL;
        slot.priority = 0;
        let timer = self.core.insert_slot(slot)?;
        self.core.timers.commons.try_push(
            CommonQueue {
                duration,
                first: NIL,
                last: NIL,
                timer: timer.index,
            },
            &"common timeout",
        )?;
        Ok(CommonTimeout {
            base,
            index: index as u8,
            duration,
        })
    }

    pub(crate) fn check_common(&self, ct: CommonTimeout) -> Result<(), Error> {
        if ct.base != self.core.slots.tag() || ct.index as usize >= self.core.timers.commons.len() {
            return Err(Error::InvalidArgument(&"common timeout of another base"));
        }
        Ok(())
    }

    /// Reserves room so that arming `key`'s timer cannot fail later.
    /// The common-queue links cover `key` only once it uses a common
    /// timeout (`common` != 0): heap timers never touch them. Returns the
    /// links' previous length, for [`unreserve_timer`](Self::unreserve_timer).
    pub(crate) fn reserve_timer(&mut self, key: u32, common: u8) -> Result<usize, Error> {
        let t = &mut self.core.timers;
        let mark = t.links.len();
        t.heap.reserve(1)?;
        if common != 0 {
            t.links.try_grow_to(key as usize + 1, &"timer", || (NIL, NIL))?;
        }
        Ok(mark)
    }

    /// Gives back what [`reserve_timer`](Self::reserve_timer) grew, when the
    /// add it was for fails before arming (the new links name no timer).
    pub(crate) fn unreserve_timer(&mut self, mark: usize) {
        self.core.timers.links.truncate(mark);
    }

    /// Arms slot `key`'s timer for `deadline`, in the heap or in the
    /// common queue its `common` field names (index + 1; 0 is the heap).
    /// Replaces any timer it had there. Room was reserved
    /// ([`reserve_timer`](Self::reserve_timer)) when the timer was first armed.
    #[inline]
    pub(crate) fn schedule(&mut self, key: u32, deadline: Instant) -> Result<(), Error> {
        let slot = self.core.slots.at_mut(key);
        let common = slot.common;
        if slot.has(state::TIMEOUT) && common == 0 {
            // Heap to heap: one sift instead of erase + push (a key in the
            // heap needs no room).
            slot.deadline = deadline;
            self.core.timers.heap.update(key, deadline);
            return Ok(());
        }
        self.schedule_slow(key, deadline)
    }

    fn schedule_slow(&mut self, key: u32, deadline: Instant) -> Result<(), Error> {
        let slot = self.core.slots.at(key);
        let common = slot.common;
        // Mostly a first arming: no call then.
        if slot.has(state::TIMEOUT) {
            self.unschedule(key);
        }
        let slot = self.core.slots.at_mut(key);
        slot.deadline = deadline;
        slot.state |= state::TIMEOUT;
        let st = slot.state;
        if common == 0 {
            self.core.timers.heap.push(key, deadline)?;
        } else {
            let q = common - 1;
            let slots = &self.core.slots;
            if self.core.timers.common_push(q, key, deadline, |k| slots.at(k).deadline) {
                self.arm_common(q);
            }
        }
        self.core.counts.add_member(st);
        Ok(())
    }

    /// Disarms slot `key`'s timer, if armed.
    pub(crate) fn unschedule(&mut self, key: u32) {
        let slot = self.core.slots.at_mut(key);
        if !slot.has(state::TIMEOUT) {
            return;
        }
        let st = slot.state;
        slot.state &= !state::TIMEOUT;
        if slot.common != 0 {
            let q = slot.common - 1;
            if self.core.timers.common_remove(q, key) {
                self.arm_common(q);
            }
        } else {
            self.core.timers.heap.erase(key);
        }
        self.core.counts.del_member(st);
    }

    /// Switches where slot `key`'s timers go (0 heap, else common index + 1),
    /// disarming a timer armed in the other place.
    pub(crate) fn set_timer_kind(&mut self, key: u32, common: u8) {
        if self.core.slots.at(key).common != common {
            self.unschedule(key);
            self.core.slots.at_mut(key).common = common;
        }
    }

    /// Points queue `q`'s internal timer at its head's deadline.
    fn arm_common(&mut self, q: u8) {
        let queue = &self.core.timers.commons[q as usize];
        let (timer, first) = (queue.timer, queue.first);
        if first == NIL {
            self.unschedule(timer);
        } else {
            let deadline = self.core.slots.at(first).deadline;
            // The heap has room: every armed common event reserved a place.
            let _ = self.schedule(timer, deadline);
        }
    }

    /// The wait until the earliest timer (zero if overdue, `None` if none).
    pub(crate) fn timeout_next(&mut self) -> Option<Duration> {
        let deadline = self.core.timers.next_deadline()?;
        let now = self.core.now();
        Some(deadline.saturating_since(now))
    }

    /// libevent's `timeout_process`: every timer due by the cached now is
    /// disarmed and its event activated with `TIMEOUT`. An event that is
    /// already active keeps that activation (libevent#1530); a
    /// non-persistent one stops being pending.
    pub(crate) fn timeout_process(&mut self) {
        if self.core.timers.heap.is_empty() {
            return;
        }
        let now = self.core.now();
        while let Some((key, deadline)) = self.core.timers.heap.top() {
            if deadline > now {
                break;
            }
            self.expire(key);
        }
    }

    /// Expires common queue `q` (its internal timer fired).
    pub(crate) fn common_timeout_fired(&mut self, q: u8) {
        let now = self.core.now();
        loop {
            let first = self.core.timers.commons[q as usize].first;
            if first == NIL || self.core.slots.at(first).deadline > now {
                break;
            }
            self.expire(first);
        }
        self.arm_common(q);
    }

    fn expire(&mut self, key: u32) {
        let slot = self.core.slots.at(key);
        if self.core.queues.is_queued(key) || slot.events.contains(What::PERSIST) {
            self.unschedule(key);
        } else {
            // A backend that cannot unregister leaves the handle watched; the
            // event still fires once, as its timer says.
            let _ = self.del_key(key);
        }
        self.core.activate(key, What::TIMEOUT, 1);
    }

    /// Re-arms a persistent event's timer before its callback: from the old
    /// deadline when the timeout fired (no drift), from now otherwise, and
    /// never in the past (no catch-up bursts). A heap timer that is still
    /// armed moves only after the callback (`TimerHeap::defer`; the loop
    /// flushes): a callback that re-adds its event sifts once.
    pub(crate) fn rearm_persistent(&mut self, key: u32, res: What) {
        let slot = self.core.slots.at(key);
        if slot.interval == 0 {
            return;
        }
        let interval = slot.interval;
        let prev = slot.deadline;
        let now = self.core.now();
        let mut next = if res.contains(What::TIMEOUT) { prev } else { now }.saturating_add_nanos(interval);
        if next < now {
            next = now.saturating_add_nanos(interval);
        }
        let slot = self.core.slots.at_mut(key);
        if slot.has(state::TIMEOUT) && slot.common == 0 {
            slot.deadline = next;
            self.core.timers.heap.defer(key, next);
            return;
        }
        // Room was reserved when the timer was first armed.
        let _ = self.schedule(key, next);
    }
}
