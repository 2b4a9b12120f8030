//! Timers: the heap, common-timeout queues, persistent intervals, expiry.
//!
//! A timer lives either in the min-heap or in one of up to 255
//! common-timeout queues: FIFO lists of events sharing one duration, of
//! which only the head sits in the heap (through an internal event), so
//! thousands of equal idle timeouts cost O(1) each. A heap timer's deadline
//! is its heap entry; a common one's is kept with its queue links.

use core::time::Duration;

use crate::event::{Kind, NIL, state};
use crate::heap::Heap;
use crate::platform::Platform;
use crate::{Buf, Error, EventBase, Instant, Source, Storage, What};

/// At most this many distinct common-timeout durations per base (a record
/// names its queue in a byte whose 0 means "the heap").
pub const MAX_COMMON_TIMEOUTS: usize = 255;

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

/// A key's place in its common queue, and its deadline.
#[derive(Clone, Copy)]
struct CommonLink {
    prev: u32,
    next: u32,
    deadline: Instant,
}

pub(crate) struct Timers<S: Storage> {
    pub(crate) heap: Heap<S>,
    commons: S::Vec<CommonQueue>,
    /// Per key that ever used a common timeout.
    links: S::Vec<CommonLink>,
    /// Re-arm interval of persistent events in nanoseconds (0: none), per
    /// key that was ever given one.
    intervals: S::Vec<u64>,
}

impl<S: Storage> Timers<S> {
    pub(crate) fn new() -> Self {
        Timers {
            heap: Heap::new(),
            commons: Default::default(),
            links: Default::default(),
            intervals: Default::default(),
        }
    }

    /// Bytes of the heap, the common-queue links and the intervals.
    pub(crate) fn table_bytes(&self) -> usize {
        self.heap.table_bytes()
            + self.links.len() * core::mem::size_of::<CommonLink>()
            + self.intervals.len() * core::mem::size_of::<u64>()
    }

    /// The re-arm interval of `key` (0: none).
    #[inline(always)]
    pub(crate) fn interval(&self, key: u32) -> u64 {
        self.intervals.get(key as usize).copied().unwrap_or(0)
    }

    /// Sets the re-arm interval of `key`, whose room was reserved
    /// ([`EventBase::reserve_timer`]) — or forgets it (`0`) wherever.
    #[inline(always)]
    pub(crate) fn set_interval(&mut self, key: u32, interval: u64) {
        if let Some(i) = self.intervals.get_mut(key as usize) {
            *i = interval;
        }
    }

    /// Whether the interval table covers `key`.
    #[inline(always)]
    pub(crate) fn has_interval_room(&self, key: u32) -> bool {
        (key as usize) < self.intervals.len()
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
        let links = move |key: u32| self.links.get(key as usize).map(|l| (some(l.prev), some(l.next)));
        (queues, links)
    }

    /// The deadline of `key`, armed in a common queue.
    pub(crate) fn common_deadline(&self, key: u32) -> Instant {
        self.links[key as usize].deadline
    }

    /// Lets a test break a common queue's order.
    #[cfg(test)]
    pub(crate) fn set_common_deadline(&mut self, key: u32, deadline: Instant) {
        self.links[key as usize].deadline = deadline;
    }

    fn common_push(&mut self, q: u8, key: u32, deadline: Instant) -> bool {
        // Deadlines arrive nearly sorted: search back from the tail (O(1) in practice).
        let queue = &mut self.commons[q as usize];
        let mut after = queue.last;
        while after != NIL && self.links[after as usize].deadline > deadline {
            after = self.links[after as usize].prev;
        }
        let next = if after == NIL {
            queue.first
        } else {
            self.links[after as usize].next
        };
        self.links[key as usize] = CommonLink {
            prev: after,
            next,
            deadline,
        };
        if after == NIL {
            queue.first = key;
        } else {
            self.links[after as usize].next = key;
        }
        if next == NIL {
            queue.last = key;
        } else {
            self.links[next as usize].prev = key;
        }
        queue.first == key
    }

    fn common_remove(&mut self, q: u8, key: u32) -> bool {
        let CommonLink { prev, next, .. } = self.links[key as usize];
        let queue = &mut self.commons[q as usize];
        let was_head = queue.first == key;
        if prev == NIL {
            queue.first = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next == NIL {
            queue.last = prev;
        } else {
            self.links[next as usize].prev = prev;
        }
        let l = &mut self.links[key as usize];
        (l.prev, l.next) = (NIL, NIL);
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
        let timer = self
            .core
            .slots
            .insert(Source::None, What::empty(), 0, Kind::Common(index as u8))?;
        self.core.slots.at_mut(timer.index).state |= state::INTERNAL;
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

    /// Reserves room so that arming `key`'s timer cannot fail later: a
    /// heap entry, the common-queue links of a key that uses a common
    /// timeout (`common` != 0), the interval of a persistent one. Returns
    /// the side tables' previous lengths, for
    /// [`unreserve_timer`](Self::unreserve_timer); a failure leaves them as
    /// they were.
    pub(crate) fn reserve_timer(&mut self, key: u32, common: u8, persist: bool) -> Result<(usize, usize), Error> {
        let t = &mut self.core.timers;
        let mark = (t.links.len(), t.intervals.len());
        t.heap.reserve(1)?;
        let len = key as usize + 1;
        let grown = if common != 0 && t.links.len() < len {
            t.links.try_grow_to(len, &"timer", || CommonLink {
                prev: NIL,
                next: NIL,
                deadline: Instant::ZERO,
            })
        } else {
            Ok(())
        }
        .and_then(|()| {
            if persist && t.intervals.len() < len {
                t.intervals.try_grow_to(len, &"timer intervals", || 0)
            } else {
                Ok(())
            }
        });
        if let Err(e) = grown {
            self.unreserve_timer(mark);
            return Err(e);
        }
        Ok(mark)
    }

    /// Gives back what [`reserve_timer`](Self::reserve_timer) grew, when the
    /// add it was for fails before arming (the new entries name no timer).
    pub(crate) fn unreserve_timer(&mut self, (links, intervals): (usize, usize)) {
        let t = &mut self.core.timers;
        t.links.truncate(links);
        t.intervals.truncate(intervals);
    }

    /// The deadline of `key`'s armed timer (a re-arm the loop deferred
    /// included).
    pub(crate) fn deadline(&self, key: u32) -> Instant {
        let r = self.core.slots.at(key);
        if r.common != 0 {
            self.core.timers.common_deadline(key)
        } else {
            self.core.timers.heap.deadline_of(key, r.heap)
        }
    }

    /// Arms record `key`'s timer for `deadline`, in the heap or in the
    /// common queue its `common` field names (index + 1; 0 is the heap).
    /// Replaces any timer it had there. Room was reserved
    /// ([`reserve_timer`](Self::reserve_timer)) when the timer was first armed.
    #[inline]
    pub(crate) fn schedule(&mut self, key: u32, deadline: Instant) -> Result<(), Error> {
        let r = self.core.slots.at(key);
        if r.has(state::TIMEOUT) && r.common == 0 {
            // Heap to heap: one sift instead of erase + push (a key in the
            // heap needs no room).
            self.core.timers.heap.update(&mut self.core.slots, key, deadline);
            return Ok(());
        }
        self.schedule_slow(key, deadline)
    }

    fn schedule_slow(&mut self, key: u32, deadline: Instant) -> Result<(), Error> {
        // Mostly a first arming: no call then.
        if self.core.slots.at(key).has(state::TIMEOUT) {
            self.unschedule(key);
        }
        let r = self.core.slots.at_mut(key);
        let common = r.common;
        if common == 0 {
            // Room was reserved (reserve_timer).
            let at = self.core.slots.at(key).heap;
            if !self.core.timers.heap.push_at(&mut self.core.slots, key, at, deadline) {
                return Err(Error::capacity(&"timer heap", self.core.timers.heap.len()));
            }
        } else if self.core.timers.common_push(common - 1, key, deadline) {
            self.arm_common(common - 1);
        }
        let r = self.core.slots.at_mut(key);
        r.state |= state::TIMEOUT;
        let st = r.state;
        self.core.counts.add_member(st);
        Ok(())
    }

    /// Disarms record `key`'s timer, if armed.
    pub(crate) fn unschedule(&mut self, key: u32) {
        let r = self.core.slots.at_mut(key);
        if !r.has(state::TIMEOUT) {
            return;
        }
        let st = r.state;
        r.state &= !(state::TIMEOUT | state::REARMED);
        let (common, at) = (r.common, r.heap);
        if common != 0 {
            let q = common - 1;
            if self.core.timers.common_remove(q, key) {
                self.arm_common(q);
            }
        } else {
            self.core.timers.heap.erase_at(&mut self.core.slots, at, key);
        }
        self.core.counts.del_member(st);
    }

    /// Switches where record `key`'s timers go (0 heap, else common index + 1),
    /// disarming a timer armed in the other place.
    pub(crate) fn set_timer_kind(&mut self, key: u32, common: u8) {
        if self.core.slots.at(key).common != common {
            self.unschedule(key);
            let r = self.core.slots.at_mut(key);
            r.common = common;
            if common != 0 {
                r.state |= state::COMMON;
            } else {
                r.state &= !state::COMMON;
            }
        }
    }

    /// Points queue `q`'s internal timer at its head's deadline.
    fn arm_common(&mut self, q: u8) {
        let queue = &self.core.timers.commons[q as usize];
        let (timer, first) = (queue.timer, queue.first);
        if first == NIL {
            self.unschedule(timer);
        } else {
            let deadline = self.core.timers.common_deadline(first);
            // The heap has room: every armed common event reserved a place.
            let _ = self.schedule(timer, deadline);
        }
    }

    /// The wait until the earliest timer in nanoseconds (zero if overdue,
    /// `None` if none).
    #[inline]
    pub(crate) fn timeout_next(&mut self) -> Option<u64> {
        let deadline = self.core.timers.heap.next_deadline()?;
        let now = self.core.now();
        Some(deadline.as_nanos().saturating_sub(now.as_nanos()))
    }

    /// libevent's `timeout_process`: every timer due by the cached now is
    /// expired and its event activated with `TIMEOUT`.
    #[inline]
    pub(crate) fn timeout_process(&mut self) {
        if self.core.timers.heap.is_empty() {
            return;
        }
        let now = self.core.now();
        // The first parked timer moved behind its equals: when it comes up
        // again, every timer left that is due is parked too.
        let mut parked = NIL;
        while let Some((key, deadline)) = self.core.timers.heap.top() {
            if deadline > now || key == parked {
                break;
            }
            if self.core.slots.at(key).has(state::REARMED) {
                self.due_while_parked(key, deadline, now);
                if parked == NIL && deadline == now {
                    parked = key;
                }
                continue;
            }
            self.expire(key, deadline, now);
        }
    }

    /// A parked timer (`REARMED`) that is due again: its callback has not
    /// run since it fired, and libevent has no timer for it until then, so
    /// it does not fire again. Past, it is unarmed (its callback re-arms it
    /// from its own now); due right now, which is what its callback re-arms
    /// it for unless the clock moves first, it is kept, behind its equals.
    #[cold]
    #[inline(never)]
    fn due_while_parked(&mut self, key: u32, deadline: Instant, now: Instant) {
        if deadline < now {
            self.unschedule(key);
        } else {
            let _ = self.schedule(key, deadline);
        }
    }

    /// Expires common queue `q` (its internal timer fired).
    pub(crate) fn common_timeout_fired(&mut self, q: u8) {
        let now = self.core.now();
        loop {
            let first = self.core.timers.commons[q as usize].first;
            if first == NIL {
                break;
            }
            let deadline = self.core.timers.common_deadline(first);
            if deadline > now {
                break;
            }
            self.expire(first, deadline, now);
        }
        self.arm_common(q);
    }

    /// A due timer of `key`: it stops being armed and its event is
    /// activated with `TIMEOUT` (one that is already active keeps that
    /// activation, libevent#1530); a non-persistent event stops being
    /// pending. A persistent event's callback re-arms it from `deadline`
    /// (libevent's `event_persist_closure`); a heap timer waits for that
    /// parked at `deadline` + its interval (`REARMED`): out of the way of
    /// the timers still due, and where the re-arm usually puts it again
    /// (behind the timers armed for that deadline meanwhile).
    fn expire(&mut self, key: u32, deadline: Instant, now: Instant) {
        let r = self.core.slots.at(key);
        let (events, queued, common) = (r.events, r.has(state::QUEUED), r.common);
        let interval = self.core.timers.interval(key);
        let next = deadline.saturating_add_nanos(interval);
        if events & (What::PERSIST | What::SIGNAL) == What::PERSIST && interval != 0 && common == 0 && next >= now {
            // Heap to heap: cannot fail.
            let _ = self.schedule(key, next);
            self.core.slots.at_mut(key).state |= state::REARMED;
        } else if queued || events.contains(What::PERSIST) {
            // A common timer keeps its last deadline in its queue links.
            self.unschedule(key);
        } else {
            // A backend that cannot unregister leaves the handle watched; the
            // event still fires once, as its timer says.
            let _ = self.del_key(key);
        }
        self.core.activate(key, What::TIMEOUT, 1);
    }

    /// [`rearm_persistent`](Self::rearm_persistent) of an event with an
    /// armed heap timer, not parked, activated by other than its timer: now
    /// + its interval, deferred until after its callback.
    #[inline(always)]
    pub(crate) fn rearm_from_now(&mut self, key: u32) {
        let next = self.core.now().saturating_add_nanos(self.core.timers.interval(key));
        self.core.timers.heap.defer(&mut self.core.slots, key, next);
    }

    /// Re-arms a persistent event's timer before its callback (libevent's
    /// `event_persist_closure`): from its last deadline when its timer
    /// fired or it was activated with `TIMEOUT` by hand, else from now;
    /// never in the past (no catch-up bursts). The new deadline takes its
    /// place after the timers already armed for it, as libevent's re-add.
    /// A heap timer moves only after the callback (the loop flushes): a
    /// callback that re-adds its event sifts once.
    #[inline]
    pub(crate) fn rearm_persistent(&mut self, key: u32, res: What, interval: u64) {
        let now = self.core.now();
        let r = self.core.slots.at_mut(key);
        let (st, common, at) = (r.state, r.common, r.heap);
        r.state = st & !state::REARMED;
        let next = if st & state::REARMED != 0 {
            // Parked in the heap at its last deadline + interval as it fired.
            let parked = self.core.timers.heap.deadline_at(at);
            if parked < now {
                now.saturating_add_nanos(interval)
            } else {
                parked
            }
        } else if res.contains(What::TIMEOUT) && (st & state::TIMEOUT != 0 || common != 0) {
            // An unarmed common timer's links keep its last deadline.
            next_deadline(self.deadline(key), now, interval)
        } else {
            now.saturating_add_nanos(interval)
        };
        if st & state::TIMEOUT != 0 && common == 0 {
            self.core.timers.heap.defer(&mut self.core.slots, key, next);
            return;
        }
        // Room was reserved when the timer was first armed.
        let _ = self.schedule(key, next);
    }
}

/// The next deadline of a persistent timer that was due at `deadline`.
#[inline]
fn next_deadline(deadline: Instant, now: Instant, interval: u64) -> Instant {
    let next = deadline.saturating_add_nanos(interval);
    if next < now {
        now.saturating_add_nanos(interval)
    } else {
        next
    }
}
