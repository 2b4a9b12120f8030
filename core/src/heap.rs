//! The timer min-heap (libevent's `minheap-internal.h`).
//!
//! Every timer is a `u32` key (an event's record index) with a deadline.
//! The heap keeps the entries in an array ordered as a binary min-heap and
//! tells the keys' owner where each one sits ([`HeapSlots::place`]), so any
//! timer can be erased or re-keyed in O(log n) with no search, and the
//! earliest is read in O(1). In a base the positions live in the event
//! records; [`TimerHeap`] is the same heap with a position table of its own.
//!
//! Unlike libevent's heap, the order is total and stable: timers with equal
//! deadlines come out in the order they were pushed (or last adjusted), by a
//! sequence number taken at push time.
//!
//! Each entry is one `u128`: the deadline in the high 64 bits, then a 32-bit
//! sequence number, then the key. Comparing two entries is one integer
//! comparison, and an entry is 16 bytes. When the 32-bit sequence counter
//! runs out (after 2³² pushes), the heap renumbers its entries in order,
//! which keeps the tie order and costs one sort every four billion pushes.
//!
//! Erasing a timer that is not the earliest leaves its entry in place with
//! no key (a dead entry, still ordered by its deadline) instead of sifting:
//! deleting a timer is then O(1), which is what busy servers do most (a
//! connection's timeout is deleted long before it would fire). The earliest
//! entry is never dead; dead entries are dropped when they reach the top,
//! and all at once (one O(n) rebuild) once they outnumber the live ones or
//! a fixed heap is full.

use crate::{Buf, Error, Instant, Storage};

/// "Not in the heap" in a position table.
const ABSENT: u32 = u32::MAX;

/// Where the keys of a heap learn their positions.
pub(crate) trait HeapSlots {
    /// Key `key` now sits at index `at` of the heap array.
    fn place(&mut self, key: u32, at: u32);
    /// Where key `key`, which is in the heap, sits.
    fn position(&self, key: u32) -> u32;
}

/// The heap array: earliest deadline first, equal deadlines in FIFO order.
pub(crate) struct Heap<S: Storage> {
    /// `deadline << 64 | seq << 32 | key`, with [`DEAD`] set in the key of
    /// a dead entry.
    entries: S::Vec<u128>,
    /// How many entries are dead.
    dead: usize,
    /// The sequence number the next push or adjust takes.
    next_seq: u32,
    /// A re-key taken by [`defer`](Self::defer), not yet applied.
    deferred: Option<u128>,
}

/// Set in the key of a dead entry. Keys are below 2³¹, so a dead entry's
/// key is past any position table: nobody notes where it moves.
const DEAD: u32 = 1 << 31;

#[inline(always)]
fn is_dead(e: u128) -> bool {
    is_dead_key(key_of(e))
}

/// Whether `key`, read from an entry, marks a dead one.
#[inline(always)]
pub(crate) fn is_dead_key(key: u32) -> bool {
    key & DEAD != 0
}

#[inline(always)]
fn pack(key: u32, deadline: Instant, seq: u32) -> u128 {
    (u128::from(deadline.as_nanos()) << 64) | (u128::from(seq) << 32) | u128::from(key)
}

#[inline(always)]
fn key_of(e: u128) -> u32 {
    e as u32
}

#[inline(always)]
fn deadline_of(e: u128) -> Instant {
    Instant::from_nanos((e >> 64) as u64)
}

impl<S: Storage> Heap<S> {
    pub(crate) fn new() -> Self {
        Heap {
            entries: Default::default(),
            dead: 0,
            next_seq: 0,
            deferred: None,
        }
    }

    /// How many timers the heap holds (dead entries not counted).
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len() - self.dead
    }

    /// The length of the array, dead entries included.
    pub(crate) fn slots_len(&self) -> usize {
        self.entries.len()
    }

    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn table_bytes(&self) -> usize {
        self.entries.len() * core::mem::size_of::<u128>()
    }

    /// The earliest timer, in O(1).
    #[inline(always)]
    pub(crate) fn top(&self) -> Option<(u32, Instant)> {
        self.entries.first().map(|&e| (key_of(e), deadline_of(e)))
    }

    /// The earliest deadline.
    #[inline(always)]
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries.first().map(|&e| deadline_of(e))
    }

    /// The deadline of the entry at `at` (as of the last flush).
    #[inline(always)]
    pub(crate) fn deadline_at(&self, at: u32) -> Instant {
        deadline_of(self.entries[at as usize])
    }

    /// The deadline of `key`, at `at`: its deferred one if a re-key waits.
    #[inline(always)]
    pub(crate) fn deadline_of(&self, key: u32, at: u32) -> Instant {
        match self.deferred {
            Some(e) if key_of(e) == key => deadline_of(e),
            _ => self.deadline_at(at),
        }
    }

    /// Entry `i` as `(key, deadline, sequence number)`.
    pub(crate) fn entry_at(&self, i: usize) -> Option<(u32, Instant, u32)> {
        self.entries
            .get(i)
            .map(|&e| (key_of(e), deadline_of(e), (e >> 32) as u32))
    }

    /// The next sequence number, the key of a deferred re-key and the
    /// count of dead entries.
    pub(crate) fn audit(&self) -> (u32, Option<u32>, usize) {
        (self.next_seq, self.deferred.map(key_of), self.dead)
    }

    /// Every timer as `(key, deadline)`, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, Instant)> + '_ {
        self.entries
            .iter()
            .filter(|&&e| !is_dead(e))
            .map(|&e| (key_of(e), deadline_of(e)))
    }

    /// Makes room for `additional` more timers. A fixed heap counts the
    /// room of its dead entries, which the pushes drop: nothing changes
    /// here, so an add that fails later leaves the heap as it was.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a fixed heap cannot hold that many.
    #[inline]
    pub(crate) fn reserve(&mut self, additional: usize) -> Result<(), Error> {
        let limit = self.entries.limit();
        if self.dead != 0 && self.entries.len() + additional > limit {
            return if self.len() + additional <= limit {
                Ok(())
            } else {
                Err(Error::capacity(&"timer heap", limit))
            };
        }
        self.entries.try_reserve(additional, &"timer heap")
    }

    /// Adds a timer for `key`, which must not be in the heap; false when
    /// the heap is full (nothing changes then: [`reserve`](Self::reserve)
    /// says why). Out of line, as every heap change: a call costs less than
    /// the registers a sift takes from its caller.
    #[inline(always)]
    pub(crate) fn push(&mut self, slots: &mut impl HeapSlots, key: u32, deadline: Instant) -> bool {
        debug_assert!(key < DEAD, "Heap: keys are below 2^31");
        // Before the placeholder below exists (a renumbering sorts the
        // entries); a number taken in vain is harmless.
        let seq = self.take_seq(slots);
        self.push_seq(slots, key, deadline, seq)
    }

    #[inline(always)]
    fn push_seq(&mut self, slots: &mut impl HeapSlots, key: u32, deadline: Instant, seq: u32) -> bool {
        if self.entries.len() == self.entries.limit() && self.dead != 0 {
            self.compact(slots);
        }
        let hole = self.entries.len();
        if self.entries.try_push(0, &"timer heap").is_err() {
            return false;
        }
        self.sift_up(slots, hole, pack(key, deadline, seq));
        true
    }

    /// [`push`](Self::push) of `key`, reviving its dead entry in place if
    /// that is still at `at` (where the key last sat): a timer deleted and
    /// added again, as servers re-arm timeouts, costs one sift and leaves
    /// nothing dead behind.
    #[inline(always)]
    pub(crate) fn push_at(&mut self, slots: &mut impl HeapSlots, key: u32, at: u32, deadline: Instant) -> bool {
        debug_assert!(key < DEAD, "Heap: keys are below 2^31");
        // Before the look at `at` (a renumbering moves entries).
        let seq = self.take_seq(slots);
        if let Some(&e) = self.entries.get(at as usize)
            && key_of(e) == key | DEAD
        {
            self.dead -= 1;
            self.rekey(slots, at, pack(key, deadline, seq));
            return true;
        }
        self.push_seq(slots, key, deadline, seq)
    }

    /// Removes and returns the earliest timer.
    #[inline]
    pub(crate) fn pop(&mut self, slots: &mut impl HeapSlots) -> Option<(u32, Instant)> {
        let top = *self.entries.first()?;
        self.cancel_deferred(key_of(top));
        self.remove_top(slots);
        Some((key_of(top), deadline_of(top)))
    }

    /// Drops the earliest entry, then the dead ones that come up after it.
    #[inline]
    fn remove_top(&mut self, slots: &mut impl HeapSlots) {
        loop {
            let Some(last) = self.entries.pop() else { return };
            if !self.entries.is_empty() {
                // The last entry is among the latest: it goes down far.
                sift_down::<DEEP_REFILL>(&mut self.entries, slots, 0, last);
            }
            match self.entries.first() {
                Some(&e) if is_dead(e) => self.dead -= 1,
                _ => return,
            }
        }
    }

    /// Drops dead entries that a sift brought to the top.
    #[inline]
    fn drop_dead_top(&mut self, slots: &mut impl HeapSlots) {
        if self.entries.first().is_some_and(|&e| is_dead(e)) {
            self.dead -= 1;
            self.remove_top(slots);
        }
    }

    /// Removes the entry at `at`, whose key is `key`: the earliest one or
    /// the last one for good, any other one by killing it in place.
    #[inline(always)]
    pub(crate) fn erase_at(&mut self, slots: &mut impl HeapSlots, at: u32, key: u32) {
        debug_assert_eq!(self.entries.get(at as usize).map(|&e| key_of(e)), Some(key));
        self.cancel_deferred(key);
        let i = at as usize;
        let n = self.entries.len();
        if i == 0 {
            self.remove_top(slots);
        } else if i + 1 == n {
            self.entries.pop();
        } else if let Some(e) = self.entries.get_mut(i) {
            *e |= u128::from(DEAD);
            self.dead += 1;
            if self.dead > n / 2 {
                self.compact(slots);
            }
        }
    }

    /// Drops every dead entry: the live ones, in any order, become a heap
    /// again (bottom-up, O(n)) and learn their positions.
    #[cold]
    #[inline(never)]
    fn compact(&mut self, slots: &mut impl HeapSlots) {
        // A deferred re-key waits for the flush, which finds its key's
        // entry wherever this leaves it.
        let mut live = 0;
        for i in 0..self.entries.len() {
            let e = self.entries[i];
            if !is_dead(e) {
                self.entries[live] = e;
                live += 1;
            }
        }
        self.entries.truncate(live);
        self.dead = 0;
        if live > 1 {
            // The positions the sifts note are all written again below.
            for i in (0..=parent(live - 1)).rev() {
                let e = self.entries[i];
                sift_down::<false>(&mut self.entries, slots, i, e);
            }
        }
        for (i, &e) in self.entries.iter().enumerate() {
            slots.place(key_of(e), i as u32);
        }
    }

    /// Gives `key`, which is in the heap, a new deadline: it goes after the
    /// timers whose deadline equals the new one. One sift.
    #[inline(always)]
    pub(crate) fn update(&mut self, slots: &mut impl HeapSlots, key: u32, deadline: Instant) {
        let at = slots.position(key);
        self.update_at(slots, key, at, deadline);
    }

    /// [`update`](Self::update) of `key`, which sits at `at`.
    #[inline(always)]
    pub(crate) fn update_at(&mut self, slots: &mut impl HeapSlots, key: u32, mut at: u32, deadline: Instant) {
        self.cancel_deferred(key);
        if self.next_seq == u32::MAX {
            // A renumbering moves entries.
            self.renumber(slots);
            at = slots.position(key);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.rekey(slots, at, pack(key, deadline, seq));
    }

    /// Moves the entry at `at` to `e`, which has the same key.
    #[inline(always)]
    fn rekey(&mut self, slots: &mut impl HeapSlots, at: u32, e: u128) {
        let i = at as usize;
        // The new entry is never equal to the old one (a fresh sequence
        // number), so it moves only one way: up when it sorts before the old.
        if e < self.entries[i] {
            self.sift_up(slots, i, e);
        } else {
            self.sift_down(slots, i, e);
            if i == 0 {
                self.drop_dead_top(slots);
            }
        }
    }

    /// A re-key of `key` (at `at`), ordered as of now but applied by the
    /// next [`flush`](Self::flush): until then its entry keeps its old
    /// deadline. An update, erase or pop of `key` in between cancels it.
    /// The loop re-arms a persistent event this way, so that a callback
    /// that re-adds it sifts once, not twice.
    /// The caller flushes a pending one first.
    #[inline]
    pub(crate) fn defer(&mut self, slots: &mut impl HeapSlots, key: u32, deadline: Instant) {
        debug_assert!(self.deferred.is_none(), "Heap::defer: flush the pending re-key first");
        let seq = self.take_seq(slots);
        self.deferred = Some(pack(key, deadline, seq));
    }

    /// Applies a deferred re-key, if any.
    #[inline]
    pub(crate) fn flush(&mut self, slots: &mut impl HeapSlots) {
        // Written only when set (a take() stores on every call).
        if let Some(e) = self.deferred {
            self.deferred = None;
            let i = slots.position(key_of(e));
            self.rekey(slots, i, e);
        }
    }

    #[inline(always)]
    fn cancel_deferred(&mut self, key: u32) {
        if self.deferred.is_some_and(|e| key_of(e) == key) {
            self.deferred = None;
        }
    }

    /// Removes every timer (keeps the memory); `slots` hear nothing.
    pub(crate) fn clear(&mut self) {
        self.deferred = None;
        self.dead = 0;
        self.entries.clear();
        self.next_seq = 0;
    }

    /// A fresh sequence number, renumbering the entries when the counter is
    /// exhausted.
    #[inline(always)]
    fn take_seq(&mut self, slots: &mut impl HeapSlots) -> u32 {
        if self.next_seq == u32::MAX {
            self.renumber(slots);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Gives the entries the sequence numbers `0..len` in their order. A
    /// sorted array is a valid heap, and equal deadlines keep their order.
    #[cold]
    fn renumber(&mut self, slots: &mut impl HeapSlots) {
        // Heapsort with the heap's own sift (the library sort would add
        // 3.4 KB of flash for a call every four billion pushes): moving the
        // earliest to the end of a shrinking heap leaves the entries latest
        // first. The positions the sifts note are all written again below.
        let entries = &mut self.entries[..];
        for end in (1..entries.len()).rev() {
            let last = entries[end];
            entries[end] = entries[0];
            sift_down::<false>(&mut entries[..end], slots, 0, last);
        }
        entries.reverse();
        // A deferred re-key waits for the flush: its number is its rank
        // among the entries, which make room for it.
        let waiting = self.deferred.map(|d| (d, entries.partition_point(|&e| e < d)));
        for (i, e) in self.entries.iter_mut().enumerate() {
            let key = key_of(*e);
            let seq = i + usize::from(waiting.is_some_and(|(_, rank)| i >= rank));
            *e = pack(key, deadline_of(*e), seq as u32);
            slots.place(key, i as u32);
        }
        if let Some((d, rank)) = waiting {
            self.deferred = Some(pack(key_of(d), deadline_of(d), rank as u32));
        }
        self.next_seq = (self.entries.len() + 1) as u32;
    }

    /// Moves the hole at `hole` up until `e` fits, then writes `e` there.
    #[inline]
    fn sift_up(&mut self, slots: &mut impl HeapSlots, mut hole: usize, e: u128) {
        let entries = &mut self.entries[..];
        while hole > 0 {
            let parent = (hole - 1) / ARITY;
            let p = entries[parent];
            if p <= e {
                break;
            }
            entries[hole] = p;
            slots.place(key_of(p), hole as u32);
            hole = parent;
        }
        entries[hole] = e;
        slots.place(key_of(e), hole as u32);
    }

    /// Moves the hole at `hole` down until `e` fits, then writes `e` there.
    #[inline]
    fn sift_down(&mut self, slots: &mut impl HeapSlots, hole: usize, e: u128) {
        sift_down::<false>(&mut self.entries, slots, hole, e);
    }
}

/// The parent of heap index `i` (> 0).
pub(crate) const fn parent(i: usize) -> usize {
    (i - 1) / ARITY
}

/// Children per node. Four (libev's choice): half the levels of a binary
/// heap, so a sift moves, and writes the position of, half as many entries.
const ARITY: usize = 4;
// `least_child`'s tournament is written for four.
const _: () = assert!(ARITY == 4);

/// Whether the root's refill takes [`least_child`]'s tournament: on 64-bit
/// targets; 32-bit ones keep one sift for their flash.
const DEEP_REFILL: bool = cfg!(target_pointer_width = "64");

/// Moves the hole at `hole` of the heap `entries` down until `e` fits, then
/// writes `e` there; `slots` follow every entry moved. `DEEP` when `e` is
/// expected to go down many levels (see [`least_child`]).
#[inline]
fn sift_down<const DEEP: bool>(entries: &mut [u128], slots: &mut impl HeapSlots, mut hole: usize, e: u128) {
    let n = entries.len();
    loop {
        let first = ARITY * hole + 1;
        if first >= n {
            break;
        }
        let (child, c) = least_child::<DEEP>(entries, first);
        if e <= c {
            break;
        }
        entries[hole] = c;
        slots.place(key_of(c), hole as u32);
        hole = child;
    }
    entries[hole] = e;
    slots.place(key_of(e), hole as u32);
}

/// The least of the children that start at `first` (which exists), and
/// its index. `DEEP`: a tournament of pairs when all four are there (one
/// bounds check, no loop; the root's refill after a pop or an erase of the
/// earliest, 5 % of libevent's bench_cascade) on 64-bit targets. Otherwise
/// a scan, which keeps the sifts that `add` inlines small, and the code of
/// 32-bit targets, where each `u128` comparison is four words.
#[inline(always)]
fn least_child<const DEEP: bool>(entries: &[u128], first: usize) -> (usize, u128) {
    if DEEP && let Some(&[a, b, c, d]) = entries.get(first..first + ARITY) {
        let (i, x) = if b < a { (first + 1, b) } else { (first, a) };
        let (j, y) = if d < c { (first + 3, d) } else { (first + 2, c) };
        return if y < x { (j, y) } else { (i, x) };
    }
    let mut child = first;
    let mut c = entries[first];
    for (i, &x) in entries[first + 1..entries.len().min(first + ARITY)].iter().enumerate() {
        if x < c {
            c = x;
            child = first + 1 + i;
        }
    }
    (child, c)
}

/// A position table of its own: one `u32` per key.
struct Positions<S: Storage>(S::Vec<u32>);

impl<S: Storage> HeapSlots for Positions<S> {
    #[inline(always)]
    fn place(&mut self, key: u32, at: u32) {
        // A dead entry's key is past the table: nothing to note.
        if let Some(p) = self.0.get_mut(key as usize) {
            *p = at;
        }
    }
    fn position(&self, key: u32) -> u32 {
        self.0[key as usize]
    }
}

/// A min-heap of timers keyed by `u32` below 2³¹, with its own position
/// table: the heap of [`EventBase`](crate::EventBase) (which keeps the
/// positions in its event records) as a standalone type. Earliest deadline
/// first, equal deadlines in FIFO order.
pub struct TimerHeap<S: Storage> {
    heap: Heap<S>,
    pos: Positions<S>,
}

impl<S: Storage> Default for TimerHeap<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Storage> core::fmt::Debug for TimerHeap<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<S: Storage> TimerHeap<S> {
    /// An empty heap.
    pub fn new() -> Self {
        TimerHeap {
            heap: Heap::new(),
            pos: Positions(Default::default()),
        }
    }

    /// How many timers the heap holds.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether the heap holds no timer.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    fn index_of(&self, key: u32) -> Option<u32> {
        match self.pos.0.get(key as usize) {
            Some(&p) if p != ABSENT => Some(p),
            _ => None,
        }
    }

    /// Whether `key` has a timer in the heap.
    pub fn contains(&self, key: u32) -> bool {
        self.index_of(key).is_some()
    }

    /// The deadline of `key`, if it is in the heap.
    pub fn deadline(&self, key: u32) -> Option<Instant> {
        self.index_of(key).map(|i| self.heap.deadline_at(i))
    }

    /// The earliest timer (the first pushed among equal deadlines), in O(1).
    pub fn top(&self) -> Option<(u32, Instant)> {
        self.heap.top()
    }

    /// Makes room for `additional` more timers, so that as many pushes of keys
    /// the position table already covers cannot fail.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a fixed heap cannot hold that many.
    pub fn reserve(&mut self, additional: usize) -> Result<(), Error> {
        self.heap.reserve(additional)
    }

    /// Adds a timer for `key`, which must not be in the heap already.
    ///
    /// # Errors
    /// [`Error::Capacity`] when the heap or its position table is full;
    /// [`Error::InvalidArgument`] for a key of 2³¹ or more. The heap is
    /// unchanged then.
    pub fn push(&mut self, key: u32, deadline: Instant) -> Result<(), Error> {
        debug_assert!(!self.contains(key), "TimerHeap::push: key {key} is already in the heap");
        if key >= DEAD {
            return Err(Error::InvalidArgument(&"timer heap keys are below 2^31"));
        }
        self.heap.reserve(1)?;
        self.pos
            .0
            .try_grow_to(key as usize + 1, &"timer heap positions", || ABSENT)?;
        self.heap.push(&mut self.pos, key, deadline);
        Ok(())
    }

    /// Removes and returns the earliest timer.
    pub fn pop(&mut self) -> Option<(u32, Instant)> {
        let (key, deadline) = self.heap.pop(&mut self.pos)?;
        self.pos.0[key as usize] = ABSENT;
        Some((key, deadline))
    }

    /// Removes the timer of `key`; returns whether it was in the heap.
    pub fn erase(&mut self, key: u32) -> bool {
        let Some(at) = self.index_of(key) else { return false };
        self.heap.erase_at(&mut self.pos, at, key);
        self.pos.0[key as usize] = ABSENT;
        true
    }

    /// Gives `key` a new deadline: moves it in place if it is in the heap,
    /// else pushes it. Either way it goes after the timers whose deadline
    /// equals the new one.
    ///
    /// # Errors
    /// [`Error::Capacity`] only when `key` was absent and the push fails.
    pub fn adjust(&mut self, key: u32, deadline: Instant) -> Result<(), Error> {
        match self.index_of(key) {
            Some(_) => {
                self.heap.update(&mut self.pos, key, deadline);
                Ok(())
            }
            None => self.push(key, deadline),
        }
    }

    /// [`adjust`](Self::adjust) of `key`, which is in the heap, ordered as
    /// of now but applied by the next [`flush`](Self::flush): until then
    /// its entry keeps its old deadline. An `adjust`, `erase` or `pop` of
    /// `key` in between cancels it.
    ///
    /// # Panics
    /// If `key` is not in the heap.
    pub fn defer(&mut self, key: u32, deadline: Instant) {
        assert!(self.contains(key), "TimerHeap::defer: key {key} is not in the heap");
        self.flush();
        self.heap.defer(&mut self.pos, key, deadline);
    }

    /// Applies a deferred re-key, if any.
    pub fn flush(&mut self) {
        self.heap.flush(&mut self.pos);
    }

    /// Removes every timer (keeps the memory).
    pub fn clear(&mut self) {
        for (key, _) in self.heap.iter() {
            self.pos.0[key as usize] = ABSENT;
        }
        self.heap.clear();
    }

    /// Every timer as `(key, deadline)`, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, Instant)> + '_ {
        self.heap.iter()
    }

    /// Lets a test start the sequence counter near its end.
    #[cfg(test)]
    pub(crate) fn set_next_seq(&mut self, seq: u32) {
        assert!(self.heap.entries.iter().all(|&e| ((e >> 32) as u32) < seq));
        self.heap.next_seq = seq;
    }

    /// Checks the heap property and that every position matches (tests).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        let entries = &self.heap.entries;
        let n = entries.len();
        for i in 1..n {
            assert!(entries[(i - 1) / ARITY] < entries[i], "heap property at {i}");
        }
        let mut dead = 0;
        for (i, &e) in entries.iter().enumerate() {
            assert!(
                ((e >> 32) as u32) < self.heap.next_seq,
                "sequence numbers are in the past"
            );
            if is_dead(e) {
                assert!(i > 0, "the earliest entry is never dead");
                dead += 1;
                continue;
            }
            assert_eq!(
                self.pos.0[key_of(e) as usize],
                i as u32,
                "position of key {}",
                key_of(e)
            );
        }
        assert_eq!(dead, self.heap.dead, "dead entries counted");
        assert!(dead <= n / 2 + 1, "dead entries do not outnumber the live ones");
        let present = self.pos.0.iter().filter(|&&p| p != ABSENT).count();
        assert_eq!(present, n - dead, "position table marks exactly the keys in the heap");
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

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// libevent's `test/regress_minheap.c` (`heap/randomized`): 1024 random
    /// deadlines, erase the first 512, the heap stays valid and pops sorted.
    fn randomized<S: Storage>() {
        let mut heap = TimerHeap::<S>::new();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // 1024 timers as libevent's test; under Miri 128 (each erase checks the heap).
        let n: u32 = if cfg!(miri) { 128 } else { 1024 };
        for key in 0..n {
            // Like libevent's set_random_timeout: seconds and microseconds.
            let d = Instant::from_nanos((rng.next() % 1000) * 1_000_000_000 + (rng.next() % 1_000_000) * 1000);
            heap.push(key, d).unwrap();
        }
        heap.check();
        assert_eq!(heap.len(), n as usize);
        for key in 0..n / 2 {
            assert!(heap.erase(key));
            assert!(!heap.erase(key));
            heap.check();
        }
        assert_eq!(heap.len(), n as usize / 2);
        let (mut last_key, mut last) = heap.pop().unwrap();
        assert!(last_key >= n / 2);
        while let Some((key, d)) = heap.pop() {
            assert!(key >= n / 2);
            assert!(last <= d, "popped {last:?} before {d:?}");
            last = d;
            last_key = key;
        }
        let _ = last_key;
        assert!(heap.is_empty());
        heap.check();
    }

    #[test]
    fn randomized_fixed() {
        randomized::<Fixed<1024>>();
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn randomized_growable() {
        randomized::<Growable>();
    }

    fn basics<S: Storage>() {
        let mut heap = TimerHeap::<S>::default();
        assert_eq!(heap.top(), None);
        assert_eq!(heap.pop(), None);
        heap.push(3, Instant::from_nanos(30)).unwrap();
        heap.push(1, Instant::from_nanos(10)).unwrap();
        heap.push(2, Instant::from_nanos(10)).unwrap();
        heap.push(0, Instant::from_nanos(10)).unwrap();
        assert_eq!(heap.top(), Some((1, Instant::from_nanos(10))));
        assert_eq!(heap.deadline(3), Some(Instant::from_nanos(30)));
        assert_eq!(heap.deadline(4), None);
        assert!(heap.contains(0) && !heap.contains(7));
        // Adjusting to the same deadline sends a key behind its equals.
        heap.adjust(1, Instant::from_nanos(10)).unwrap();
        heap.adjust(5, Instant::from_nanos(5)).unwrap();
        heap.check();
        let order: heapless::Vec<u32, 8> = core::iter::from_fn(|| heap.pop().map(|(k, _)| k)).collect();
        assert_eq!(&order[..], &[5, 2, 0, 1, 3]);
        heap.push(9, Instant::MAX).unwrap();
        heap.push(8, Instant::ZERO).unwrap();
        heap.clear();
        assert!(heap.is_empty() && !heap.contains(9) && !heap.contains(8));
        heap.check();
    }

    #[test]
    fn basics_fixed() {
        basics::<Fixed<16>>();
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn basics_growable() {
        basics::<Growable>();
    }

    #[test]
    fn full_fixed_heap_changes_nothing() {
        let mut heap = TimerHeap::<Fixed<4>>::new();
        assert!(matches!(heap.push(4, Instant::ZERO), Err(Error::Capacity { .. })));
        assert!(heap.is_empty() && !heap.contains(4));
        for k in 0..4 {
            heap.push(k, Instant::from_nanos(u64::from(10 - k))).unwrap();
        }
        assert!(heap.reserve(1).is_err());
        assert!(heap.reserve(0).is_ok());
        heap.check();
        assert_eq!(heap.top(), Some((3, Instant::from_nanos(7))));
        // Re-keying a present key never needs room.
        heap.adjust(0, Instant::ZERO).unwrap();
        assert_eq!(heap.top(), Some((0, Instant::ZERO)));
        heap.check();
    }

    #[test]
    fn fifo_survives_sequence_wrap() {
        let mut heap = TimerHeap::<Fixed<16>>::new();
        heap.set_next_seq(u32::MAX - 3);
        for k in 0..10 {
            heap.push(k, Instant::from_nanos(u64::from(k % 2))).unwrap();
            heap.check();
        }
        heap.adjust(0, Instant::ZERO).unwrap();
        heap.check();
        let order: heapless::Vec<u32, 16> = core::iter::from_fn(|| heap.pop().map(|(k, _)| k)).collect();
        assert_eq!(&order[..], &[2, 4, 6, 8, 0, 1, 3, 5, 7, 9]);
    }

    /// One operation of the model test.
    #[derive(Debug, Clone)]
    enum Op {
        Push(u32, u64),
        Pop,
        Erase(u32),
        Adjust(u32, u64),
        /// Defer key 0 to 1, adjust key 2 to 3 meanwhile, flush.
        Defer(u32, u64, u32, u64),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct deadlines, so that ties are common.
        prop_oneof![
            8 => (0u32..40, 0u64..8).prop_map(|(k, d)| Op::Push(k, d)),
            4 => Just(Op::Pop),
            3 => (0u32..40).prop_map(Op::Erase),
            4 => (0u32..40, 0u64..8).prop_map(|(k, d)| Op::Adjust(k, d)),
            4 => (0u32..40, 0u64..8, 0u32..40, 0u64..8).prop_map(|(k, d, j, e)| Op::Defer(k, d, j, e)),
            1 => Just(Op::Clear),
        ]
    }

    /// Runs `ops` on a heap and on a model: a Vec of (deadline, seq, key)
    /// kept sorted. `limit` is the capacity of a fixed heap.
    fn against_model<S: Storage>(ops: &[Op], limit: usize, start_seq: u32) {
        let mut heap = TimerHeap::<S>::new();
        heap.set_next_seq(start_seq);
        let mut model: std::vec::Vec<(u64, u64, u32)> = std::vec::Vec::new();
        let mut seq = 0u64;
        for op in ops {
            match *op {
                Op::Push(k, d) => {
                    if model.iter().any(|e| e.2 == k) {
                        continue;
                    }
                    let fits = model.len() < limit && (k as usize) < limit;
                    let r = heap.push(k, Instant::from_nanos(d));
                    assert_eq!(r.is_ok(), fits, "push {k} with {} entries: {r:?}", model.len());
                    if fits {
                        model.push((d, seq, k));
                        seq += 1;
                    }
                }
                Op::Pop => {
                    let want = model.first().map(|e| (e.2, Instant::from_nanos(e.0)));
                    assert_eq!(heap.pop(), want);
                    if !model.is_empty() {
                        model.remove(0);
                    }
                }
                Op::Erase(k) => {
                    let at = model.iter().position(|e| e.2 == k);
                    assert_eq!(heap.erase(k), at.is_some());
                    if let Some(i) = at {
                        model.remove(i);
                    }
                }
                Op::Adjust(k, d) => {
                    let at = model.iter().position(|e| e.2 == k);
                    let fits = at.is_some() || (model.len() < limit && (k as usize) < limit);
                    let r = heap.adjust(k, Instant::from_nanos(d));
                    assert_eq!(r.is_ok(), fits);
                    if let Some(i) = at {
                        model.remove(i);
                    }
                    if fits {
                        model.push((d, seq, k));
                        seq += 1;
                    }
                }
                Op::Defer(k, d, j, e) => {
                    let Some(at) = model.iter().position(|m| m.2 == k) else {
                        continue;
                    };
                    if !model.iter().any(|m| m.2 == j) {
                        continue;
                    }
                    heap.defer(k, Instant::from_nanos(d));
                    let deferred = (d, seq, k);
                    seq += 1;
                    heap.adjust(j, Instant::from_nanos(e)).unwrap();
                    heap.flush();
                    model.remove(at);
                    if j != k {
                        model.push(deferred);
                        let i = model.iter().position(|m| m.2 == j).unwrap();
                        model.remove(i);
                    }
                    model.push((e, seq, j));
                    seq += 1;
                }
                Op::Clear => {
                    heap.clear();
                    model.clear();
                }
            }
            model.sort_unstable();
            heap.check();
            assert_eq!(heap.len(), model.len());
            assert_eq!(heap.is_empty(), model.is_empty());
            assert_eq!(heap.top(), model.first().map(|e| (e.2, Instant::from_nanos(e.0))));
            for k in 0..40 {
                let want = model.iter().find(|e| e.2 == k).map(|e| Instant::from_nanos(e.0));
                assert_eq!(heap.deadline(k), want);
                assert_eq!(heap.contains(k), want.is_some());
            }
            let mut all: std::vec::Vec<(u32, Instant)> = heap.iter().collect();
            all.sort_unstable();
            let mut want: std::vec::Vec<(u32, Instant)> =
                model.iter().map(|e| (e.2, Instant::from_nanos(e.0))).collect();
            want.sort_unstable();
            assert_eq!(all, want);
        }
        // Draining pops in model order, FIFO among equal deadlines.
        for e in model {
            assert_eq!(heap.pop(), Some((e.2, Instant::from_nanos(e.0))));
        }
        assert_eq!(heap.pop(), None);
    }

    proptest! {
        #![proptest_config(proptest_config())]
        #[test]
        fn fixed_matches_model(ops in proptest::collection::vec(op(), 0..max_ops(200))) {
            against_model::<Fixed<24>>(&ops, 24, 0);
        }

        #[test]
        fn fixed_matches_model_across_sequence_wrap(ops in proptest::collection::vec(op(), 0..max_ops(200))) {
            against_model::<Fixed<24>>(&ops, 24, u32::MAX - 20);
        }
    }

    #[cfg(feature = "alloc")]
    proptest! {
        #![proptest_config(proptest_config())]
        #[test]
        fn growable_matches_model(ops in proptest::collection::vec(op(), 0..max_ops(300))) {
            against_model::<Growable>(&ops, usize::MAX, 0);
        }

        #[test]
        fn growable_matches_model_across_sequence_wrap(ops in proptest::collection::vec(op(), 0..max_ops(300))) {
            against_model::<Growable>(&ops, usize::MAX, u32::MAX - 50);
        }
    }
}
