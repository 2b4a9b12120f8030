//! The active queues of a base (libevent's `activequeues` and
//! `active_later_queue`).
//!
//! One FIFO queue per priority (`1..=255` of them, 0 the most urgent) holds
//! the keys whose callbacks are due; the loop drains the lowest non-empty
//! priority first. A separate active-later queue holds keys activated "for
//! the next iteration"; promotion moves them to their own priority queues at
//! the start of an iteration. A key is in at most one queue. Every operation
//! is O(1); finding the most urgent non-empty queue reads a 256-bit
//! occupancy bitmap. The queue heads live in the base, one per priority the
//! storage allows (`S::Heads`); the links live with the keys
//! ([`QueueLinks`]: the event records, in a base). [`ActiveQueues`] is the
//! same queues with a link table of their own.

use crate::event::NIL;
use crate::{Buf, Error, QueueHeads, Storage};

/// One more than the largest number of priorities (libevent's
/// `EVENT_MAX_PRIORITIES`): a base has `1..MAX_PRIORITIES` priorities.
pub const MAX_PRIORITIES: usize = 256;

/// The two ends of one queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListHead {
    first: u32,
    last: u32,
}

impl ListHead {
    /// The empty list.
    pub const EMPTY: ListHead = ListHead { first: NIL, last: NIL };

    /// Whether the list has no key.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.first == NIL
    }

    /// The key at the front of the list.
    #[inline]
    pub fn first(&self) -> Option<u32> {
        (self.first != NIL).then_some(self.first)
    }

    /// The key at the back of the list.
    #[inline]
    pub fn last(&self) -> Option<u32> {
        (self.last != NIL).then_some(self.last)
    }
}

impl Default for ListHead {
    fn default() -> Self {
        ListHead::EMPTY
    }
}

/// Where the queued keys keep their links: `next` is `NIL` at the back;
/// `prev` is meaningful only for keys that are not at the front (popping the
/// front writes nothing into the new front).
pub(crate) trait QueueLinks {
    fn next(&self, key: u32) -> u32;
    fn set_next(&mut self, key: u32, next: u32);
    fn prev(&self, key: u32) -> u32;
    fn set_prev(&mut self, key: u32, prev: u32);
}

#[inline(always)]
fn push_back(links: &mut impl QueueLinks, head: &mut ListHead, key: u32) {
    links.set_prev(key, head.last);
    links.set_next(key, NIL);
    if head.last == NIL {
        head.first = key;
    } else {
        links.set_next(head.last, key);
    }
    head.last = key;
}

#[inline(always)]
fn unlink(links: &mut impl QueueLinks, head: &mut ListHead, key: u32) {
    let next = links.next(key);
    if head.first == key {
        head.first = next;
        if next == NIL {
            head.last = NIL;
        }
    } else {
        let prev = links.prev(key);
        links.set_next(prev, next);
        if next == NIL {
            head.last = prev;
        } else {
            links.set_prev(next, prev);
        }
    }
}

#[inline(always)]
fn pop_front(links: &mut impl QueueLinks, head: &mut ListHead) -> Option<u32> {
    let key = head.first;
    if key == NIL {
        return None;
    }
    let next = links.next(key);
    head.first = next;
    if next == NIL {
        head.last = NIL;
    }
    Some(key)
}

/// The keys of `head`, front to back.
fn iter<'a>(links: &'a impl QueueLinks, head: &ListHead) -> impl Iterator<Item = u32> + 'a {
    let mut at = head.first;
    core::iter::from_fn(move || {
        if at == NIL {
            return None;
        }
        let key = at;
        at = links.next(key);
        Some(key)
    })
}

/// The per-priority active queues and the active-later queue; the caller
/// says where a key is queued when it takes it out.
pub(crate) struct Queues<S: Storage> {
    heads: S::Heads,
    later: ListHead,
    /// Bit `p` is set when queue `p` is not empty.
    occupied: [u64; MAX_PRIORITIES / 64],
    npriorities: u16,
    /// Keys in any queue, active-later included.
    len: usize,
}

impl<S: Storage> Queues<S> {
    pub(crate) fn new() -> Self {
        Queues {
            heads: S::Heads::empty(),
            later: ListHead::EMPTY,
            occupied: [0; MAX_PRIORITIES / 64],
            npriorities: 1,
            len: 0,
        }
    }

    /// How many priorities there are (`0..npriorities` are valid).
    #[inline]
    pub(crate) fn npriorities(&self) -> usize {
        usize::from(self.npriorities)
    }

    /// Sets the number of priorities: `n` in `1..=255`, refused while any
    /// key is queued (libevent's `event_base_priority_init`).
    ///
    /// # Errors
    /// [`Error::InvalidPriorityCount`] outside `1..=255`;
    /// [`Error::EventsActive`] while a key is queued; [`Error::Capacity`]
    /// beyond the heads the storage has.
    pub(crate) fn set_priorities(&mut self, n: usize) -> Result<(), Error> {
        if !(1..MAX_PRIORITIES).contains(&n) {
            return Err(Error::InvalidPriorityCount(n));
        }
        if self.len != 0 {
            return Err(Error::EventsActive);
        }
        let limit = self.heads.as_ref().len();
        if n > limit {
            return Err(Error::capacity(&"priorities", limit));
        }
        self.npriorities = n as u16;
        Ok(())
    }

    /// The priority new events get: `npriorities / 2`, as in libevent.
    #[inline]
    pub(crate) fn default_priority(&self) -> u8 {
        (self.npriorities / 2) as u8
    }

    /// Makes `key`, which is in no queue, the back of the queue of `pri`,
    /// and returns the key that was there (`NIL` if none). The caller links
    /// them: `key`'s `prev` is the old back, whose `next` is `key`; `key`'s
    /// `next` is `NIL`.
    #[inline(always)]
    pub(crate) fn append(&mut self, key: u32, pri: u8) -> u32 {
        debug_assert!(usize::from(pri) < self.npriorities(), "priority {pri} out of range");
        let head = &mut self.heads.as_mut()[usize::from(pri)];
        let last = head.last;
        if last == NIL {
            head.first = key;
            self.occupied[usize::from(pri) / 64] |= 1 << (pri % 64);
        }
        head.last = key;
        self.len += 1;
        last
    }

    /// The front key of the queue of `pri` (`NIL` if empty).
    #[inline(always)]
    pub(crate) fn front(&self, pri: u8) -> u32 {
        self.heads.as_ref()[usize::from(pri)].first
    }

    /// Takes the front key off the queue of `pri`; `next` is its `next`.
    #[inline(always)]
    pub(crate) fn advance(&mut self, pri: u8, next: u32) {
        let p = usize::from(pri);
        let head = &mut self.heads.as_mut()[p];
        head.first = next;
        if next == NIL {
            head.last = NIL;
            self.occupied[p / 64] &= !(1 << (p % 64));
        }
        self.len -= 1;
    }

    /// Appends `key`, which is in no queue, to the queue of `pri`.
    #[inline(always)]
    pub(crate) fn push(&mut self, links: &mut impl QueueLinks, key: u32, pri: u8) {
        debug_assert!(usize::from(pri) < self.npriorities(), "priority {pri} out of range");
        push_back(links, &mut self.heads.as_mut()[usize::from(pri)], key);
        self.occupied[usize::from(pri) / 64] |= 1 << (pri % 64);
        self.len += 1;
    }

    /// Appends `key`, which is in no queue, to the active-later queue.
    #[inline]
    pub(crate) fn push_later(&mut self, links: &mut impl QueueLinks, key: u32) {
        push_back(links, &mut self.later, key);
        self.len += 1;
    }

    /// Takes `key` out of the queue of `pri`.
    #[inline]
    pub(crate) fn remove(&mut self, links: &mut impl QueueLinks, key: u32, pri: u8) {
        let p = usize::from(pri);
        let head = &mut self.heads.as_mut()[p];
        unlink(links, head, key);
        if head.is_empty() {
            self.occupied[p / 64] &= !(1 << (p % 64));
        }
        self.len -= 1;
    }

    /// Takes `key` out of the active-later queue.
    #[inline]
    pub(crate) fn remove_later(&mut self, links: &mut impl QueueLinks, key: u32) {
        unlink(links, &mut self.later, key);
        self.len -= 1;
    }

    /// Takes the front key of the queue of `pri`.
    #[inline(always)]
    pub(crate) fn pop(&mut self, links: &mut impl QueueLinks, pri: u8) -> Option<u32> {
        let p = usize::from(pri);
        let head = &mut self.heads.as_mut()[p];
        let key = pop_front(links, head)?;
        if head.is_empty() {
            self.occupied[p / 64] &= !(1 << (p % 64));
        }
        self.len -= 1;
        Some(key)
    }

    /// The front key of the active-later queue.
    #[inline]
    pub(crate) fn first_later(&self) -> Option<u32> {
        self.later.first()
    }

    /// Whether the active-later queue holds a key.
    #[inline(always)]
    pub(crate) fn has_later(&self) -> bool {
        !self.later.is_empty()
    }

    /// The most urgent (numerically lowest) priority whose queue is not
    /// empty. The active-later queue does not count.
    #[inline(always)]
    pub(crate) fn first_nonempty(&self) -> Option<u8> {
        // Nothing queued at all (the common answer once a queue drains).
        if self.len == 0 {
            return None;
        }
        if self.occupied[0] != 0 {
            return Some(self.occupied[0].trailing_zeros() as u8);
        }
        self.first_nonempty_above_63()
    }

    fn first_nonempty_above_63(&self) -> Option<u8> {
        self.occupied[1..]
            .iter()
            .enumerate()
            .find(|(_, w)| **w != 0)
            .map(|(i, w)| ((i + 1) * 64 + w.trailing_zeros() as usize) as u8)
    }

    /// How many keys are queued, active-later included.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether no key is queued, active-later included.
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every active key as `(priority, key)`, most urgent first, FIFO within
    /// a priority (for dumps).
    pub(crate) fn iter_active<'a>(&'a self, links: &'a impl QueueLinks) -> impl Iterator<Item = (u8, u32)> + 'a {
        self.heads.as_ref()[..self.npriorities()]
            .iter()
            .enumerate()
            .flat_map(move |(p, h)| iter(links, h).map(move |k| (p as u8, k)))
    }

    /// Every active-later key, in order (for dumps).
    pub(crate) fn iter_later<'a>(&'a self, links: &'a impl QueueLinks) -> impl Iterator<Item = u32> + 'a {
        iter(links, &self.later)
    }
}

/// The link table of [`ActiveQueues`]: `(prev, next, tag)` per key, where
/// the tag is the priority, with [`LATER`] set in the active-later queue,
/// and `prev` is [`DETACHED`] while the key is in no queue.
struct Links<S: Storage>(S::Vec<(u32, u32, u16)>);

/// `prev` of a key in no queue.
const DETACHED: u32 = u32::MAX - 1;
/// Tag bit: the key is in the active-later queue.
const LATER: u16 = 0x100;

impl<S: Storage> QueueLinks for Links<S> {
    fn next(&self, key: u32) -> u32 {
        self.0[key as usize].1
    }
    fn set_next(&mut self, key: u32, next: u32) {
        self.0[key as usize].1 = next;
    }
    fn prev(&self, key: u32) -> u32 {
        self.0[key as usize].0
    }
    fn set_prev(&mut self, key: u32, prev: u32) {
        self.0[key as usize].0 = prev;
    }
}

/// The active queues of [`EventBase`](crate::EventBase) (which keeps the
/// links in its event records) as a standalone type, with a link table of
/// its own.
pub struct ActiveQueues<S: Storage> {
    queues: Queues<S>,
    links: Links<S>,
}

impl<S: Storage> Default for ActiveQueues<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Storage> core::fmt::Debug for ActiveQueues<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ActiveQueues")
            .field("npriorities", &self.npriorities())
            .field("active", &DebugIter(|| self.iter_active()))
            .field("later", &DebugIter(|| self.iter_later()))
            .finish()
    }
}

/// Formats what an iterator yields as a list.
struct DebugIter<F>(F);
impl<I: Iterator<Item: core::fmt::Debug>, F: Fn() -> I> core::fmt::Debug for DebugIter<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries((self.0)()).finish()
    }
}

impl<S: Storage> ActiveQueues<S> {
    /// Empty queues with one priority (libevent's default after base
    /// construction).
    pub fn new() -> Self {
        ActiveQueues {
            queues: Queues::new(),
            links: Links(Default::default()),
        }
    }

    /// How many priorities there are (`0..npriorities` are valid).
    pub fn npriorities(&self) -> usize {
        self.queues.npriorities()
    }

    /// Sets the number of priorities: `n` in `1..=255`, refused while any
    /// key is queued, active-later included (libevent's
    /// `event_base_priority_init`).
    ///
    /// # Errors
    /// [`Error::InvalidPriorityCount`] outside `1..=255`;
    /// [`Error::EventsActive`] while a key is queued; [`Error::Capacity`]
    /// beyond the heads the storage has (`Fixed<N, P>`: `P`). Nothing
    /// changes then.
    pub fn set_priorities(&mut self, n: usize) -> Result<(), Error> {
        self.queues.set_priorities(n)
    }

    /// The priority new events get: `npriorities / 2`, as in libevent.
    pub fn default_priority(&self) -> u8 {
        self.queues.default_priority()
    }

    /// Makes the queues able to hold `key` (and every smaller key). Queueing
    /// a key never fails once it is reserved.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a fixed table cannot reach `key`; nothing
    /// changes then.
    pub fn reserve_key(&mut self, key: u32) -> Result<(), Error> {
        self.links
            .0
            .try_grow_to(key as usize + 1, &"queue links", || (DETACHED, NIL, 0))
    }

    fn tag(&self, key: u32) -> Option<u16> {
        self.links
            .0
            .get(key as usize)
            .and_then(|l| (l.0 != DETACHED).then_some(l.2))
    }

    /// Appends `key`, which must be in no queue, to the queue of `pri`.
    ///
    /// # Panics
    /// If `key` was not reserved with [`reserve_key`](Self::reserve_key).
    pub fn push(&mut self, key: u32, pri: u8) {
        debug_assert!(!self.is_queued(key), "ActiveQueues::push: key {key} is already queued");
        self.queues.push(&mut self.links, key, pri);
        self.links.0[key as usize].2 = u16::from(pri);
    }

    /// Appends `key`, which must be in no queue, to the active-later queue;
    /// [`promote_later`](Self::promote_later) will move it to the queue of
    /// `pri`.
    ///
    /// # Panics
    /// If `key` was not reserved with [`reserve_key`](Self::reserve_key).
    pub fn push_later(&mut self, key: u32, pri: u8) {
        debug_assert!(usize::from(pri) < self.npriorities(), "priority {pri} out of range");
        debug_assert!(
            !self.is_queued(key),
            "ActiveQueues::push_later: key {key} is already queued"
        );
        self.queues.push_later(&mut self.links, key);
        self.links.0[key as usize].2 = LATER | u16::from(pri);
    }

    /// Takes `key` out of whichever queue holds it; returns whether one did.
    pub fn remove(&mut self, key: u32) -> bool {
        let Some(tag) = self.tag(key) else { return false };
        if tag & LATER != 0 {
            self.queues.remove_later(&mut self.links, key);
        } else {
            self.queues.remove(&mut self.links, key, tag as u8);
        }
        self.links.0[key as usize].0 = DETACHED;
        true
    }

    /// Whether `key` is in a queue (active or active-later).
    pub fn is_queued(&self, key: u32) -> bool {
        self.tag(key).is_some()
    }

    /// Whether `key` is in the active-later queue.
    pub fn is_later(&self, key: u32) -> bool {
        self.tag(key).is_some_and(|t| t & LATER != 0)
    }

    /// The priority `key` is queued with (active or active-later).
    pub fn priority(&self, key: u32) -> Option<u8> {
        self.tag(key).map(|t| t as u8)
    }

    /// Takes the front key of the queue of `pri`.
    pub fn pop(&mut self, pri: u8) -> Option<u32> {
        let key = self.queues.pop(&mut self.links, pri)?;
        self.links.0[key as usize].0 = DETACHED;
        Some(key)
    }

    /// The most urgent (numerically lowest) priority whose queue is not
    /// empty. The active-later queue does not count.
    pub fn first_nonempty(&self) -> Option<u8> {
        self.queues.first_nonempty()
    }

    /// Moves every active-later key, in order, to the back of the queue of
    /// its priority (libevent's `event_base_process_active_later`).
    pub fn promote_later(&mut self) {
        while let Some(key) = self.queues.first_later() {
            let pri = self.links.0[key as usize].2 as u8;
            self.queues.remove_later(&mut self.links, key);
            self.queues.push(&mut self.links, key, pri);
            self.links.0[key as usize].2 = u16::from(pri);
        }
    }

    /// How many keys are queued, active-later included.
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// Whether no key is queued, active-later included.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// Every active key as `(priority, key)`, most urgent first, FIFO within
    /// a priority (for dumps).
    pub fn iter_active(&self) -> impl Iterator<Item = (u8, u32)> + '_ {
        self.queues.iter_active(&self.links)
    }

    /// Every active-later key, in order (for dumps).
    pub fn iter_later(&self) -> impl Iterator<Item = u32> + '_ {
        self.queues.iter_later(&self.links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fixed;
    #[cfg(feature = "alloc")]
    use crate::Growable;
    use crate::test_support::{max_ops, proptest_config};
    use proptest::prelude::*;
    use std::collections::VecDeque;
    use std::vec::Vec;

    fn basics<S: Storage>() {
        let mut q = ActiveQueues::<S>::new();
        assert_eq!(q.npriorities(), 1);
        assert_eq!(q.default_priority(), 0);
        assert_eq!(q.set_priorities(0), Err(Error::InvalidPriorityCount(0)));
        assert_eq!(q.set_priorities(256), Err(Error::InvalidPriorityCount(256)));
        q.set_priorities(255).unwrap();
        assert_eq!(q.default_priority(), 127);
        q.set_priorities(3).unwrap();
        assert_eq!(q.default_priority(), 1);
        for k in 0..8 {
            q.reserve_key(k).unwrap();
        }
        assert_eq!(q.first_nonempty(), None);
        q.push(0, 2);
        q.push(1, 1);
        q.push(2, 1);
        q.push_later(3, 0);
        assert_eq!(q.len(), 4);
        assert_eq!(q.set_priorities(3), Err(Error::EventsActive));
        assert_eq!(q.first_nonempty(), Some(1));
        assert!(q.is_later(3) && q.is_queued(3) && !q.is_later(0) && !q.is_queued(7) && !q.is_queued(100));
        assert_eq!(q.priority(3), Some(0));
        assert_eq!(q.iter_active().collect::<Vec<_>>(), [(1, 1), (1, 2), (2, 0)]);
        assert_eq!(q.iter_later().collect::<Vec<_>>(), [3]);
        q.promote_later();
        assert_eq!(q.first_nonempty(), Some(0));
        assert_eq!(q.pop(0), Some(3));
        assert_eq!(q.pop(0), None);
        assert!(q.remove(1));
        assert!(!q.remove(1));
        assert_eq!(q.pop(1), Some(2));
        assert_eq!(q.first_nonempty(), Some(2));
        assert_eq!(q.pop(2), Some(0));
        assert!(q.is_empty());
        // Only the later queue holding something still blocks set_priorities.
        q.push_later(5, 2);
        assert_eq!(q.set_priorities(2), Err(Error::EventsActive));
        assert!(q.remove(5));
        q.set_priorities(2).unwrap();
    }

    #[test]
    fn basics_fixed() {
        basics::<Fixed<8>>();
        let mut q = ActiveQueues::<Fixed<8>>::new();
        assert!(matches!(q.reserve_key(8), Err(Error::Capacity { .. })));
        assert!(!q.is_queued(8));
    }

    #[test]
    fn fewer_queue_heads() {
        // Fixed<8, 4>: four priorities at most; a refusal changes nothing.
        let mut q = ActiveQueues::<Fixed<8, 4>>::new();
        q.set_priorities(3).unwrap();
        assert_eq!(
            q.set_priorities(5),
            Err(Error::Capacity {
                what: &"priorities",
                limit: 4
            })
        );
        assert_eq!(q.npriorities(), 3);
        q.set_priorities(4).unwrap();
        q.reserve_key(1).unwrap();
        q.push(0, 3);
        q.push(1, 0);
        assert_eq!(q.first_nonempty(), Some(0));
        assert_eq!(q.iter_active().collect::<Vec<_>>(), [(0, 1), (3, 0)]);
        assert_eq!(q.pop(0), Some(1));
        assert_eq!(q.pop(3), Some(0));
        assert!(q.is_empty());
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn basics_growable() {
        basics::<Growable>();
    }

    #[test]
    fn bitmap_covers_every_priority() {
        let mut q = ActiveQueues::<Fixed<2>>::new();
        q.set_priorities(255).unwrap();
        q.reserve_key(1).unwrap();
        for p in (0..255u8).rev() {
            q.push(0, p);
            q.push(1, 254);
            assert_eq!(q.first_nonempty(), Some(p));
            assert!(q.remove(1));
            assert_eq!(q.pop(p), Some(0));
            assert_eq!(q.first_nonempty(), None);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        SetPriorities(usize),
        Push(u32, u8),
        PushLater(u32, u8),
        Remove(u32),
        Pop(u8),
        PopFirst,
        Promote,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            1 => prop_oneof![0usize..6, 250usize..260].prop_map(Op::SetPriorities),
            6 => (0u32..16, any::<u8>()).prop_map(|(k, p)| Op::Push(k, p)),
            3 => (0u32..16, any::<u8>()).prop_map(|(k, p)| Op::PushLater(k, p)),
            3 => (0u32..16).prop_map(Op::Remove),
            2 => any::<u8>().prop_map(Op::Pop),
            3 => Just(Op::PopFirst),
            1 => Just(Op::Promote),
        ]
    }

    /// The queues against a `VecDeque` per priority plus one for later.
    fn against_model<S: Storage>(ops: &[Op]) {
        let mut q = ActiveQueues::<S>::new();
        q.reserve_key(15).unwrap();
        let mut n = 1usize;
        let mut active: Vec<VecDeque<u32>> = (0..255).map(|_| VecDeque::new()).collect();
        let mut later: VecDeque<(u32, u8)> = VecDeque::new();
        for op in ops {
            let queued = |active: &Vec<VecDeque<u32>>, later: &VecDeque<(u32, u8)>, k: u32| {
                active.iter().any(|a| a.contains(&k)) || later.iter().any(|e| e.0 == k)
            };
            let count = active.iter().map(VecDeque::len).sum::<usize>() + later.len();
            match *op {
                Op::SetPriorities(m) => {
                    let want = if !(1..=255).contains(&m) {
                        Err(Error::InvalidPriorityCount(m))
                    } else if count > 0 {
                        Err(Error::EventsActive)
                    } else {
                        n = m;
                        Ok(())
                    };
                    assert_eq!(q.set_priorities(m), want);
                }
                Op::Push(k, p) => {
                    let p = (usize::from(p) % n) as u8;
                    if !queued(&active, &later, k) {
                        q.push(k, p);
                        active[usize::from(p)].push_back(k);
                    }
                }
                Op::PushLater(k, p) => {
                    let p = (usize::from(p) % n) as u8;
                    if !queued(&active, &later, k) {
                        q.push_later(k, p);
                        later.push_back((k, p));
                    }
                }
                Op::Remove(k) => {
                    let was = queued(&active, &later, k);
                    assert_eq!(q.remove(k), was);
                    active.iter_mut().for_each(|a| a.retain(|&x| x != k));
                    later.retain(|e| e.0 != k);
                }
                Op::Pop(p) => {
                    let p = (usize::from(p) % n) as u8;
                    assert_eq!(q.pop(p), active[usize::from(p)].pop_front());
                }
                Op::PopFirst => {
                    let want = active.iter().position(|a| !a.is_empty());
                    assert_eq!(q.first_nonempty().map(usize::from), want);
                    if let Some(p) = want {
                        assert_eq!(q.pop(p as u8), active[p].pop_front());
                    }
                }
                Op::Promote => {
                    q.promote_later();
                    for (k, p) in later.drain(..) {
                        active[usize::from(p)].push_back(k);
                    }
                }
            }
            let count = active.iter().map(VecDeque::len).sum::<usize>() + later.len();
            assert_eq!(q.len(), count);
            assert_eq!(q.is_empty(), count == 0);
            assert_eq!(q.npriorities(), n);
            let want: Vec<(u8, u32)> = active
                .iter()
                .enumerate()
                .flat_map(|(p, a)| a.iter().map(move |&k| (p as u8, k)))
                .collect();
            assert_eq!(q.iter_active().collect::<Vec<_>>(), want);
            assert_eq!(
                q.iter_later().collect::<Vec<_>>(),
                later.iter().map(|e| e.0).collect::<Vec<_>>()
            );
            for k in 0..16 {
                let l = later.iter().find(|e| e.0 == k);
                // From `want` (at most 16 entries), not a scan of 255 queues.
                let a = want.iter().find(|e| e.1 == k).map(|e| e.0);
                assert_eq!(q.is_later(k), l.is_some());
                assert_eq!(q.is_queued(k), l.is_some() || a.is_some());
                assert_eq!(q.priority(k), l.map(|e| e.1).or(a));
            }
        }
    }

    proptest! {
        #![proptest_config(proptest_config())]
        #[test]
        fn fixed_matches_model(ops in proptest::collection::vec(op(), 0..max_ops(200))) {
            against_model::<Fixed<16>>(&ops);
        }
    }

    #[cfg(feature = "alloc")]
    proptest! {
        #![proptest_config(proptest_config())]
        #[test]
        fn growable_matches_model(ops in proptest::collection::vec(op(), 0..max_ops(200))) {
            against_model::<Growable>(&ops);
        }
    }
}
