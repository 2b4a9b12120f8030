//! Reaching a base from other threads and interrupt handlers.
//!
//! A [`RemoteQueue`] holds what was sent to one base from elsewhere, under a
//! critical section (`critical-section`), and wakes the loop through the
//! backend's [`Waker`]; the loop applies it after each wait and after each
//! callback. On std it lives in an `Arc`; on a microcontroller in a
//! `static`, and interrupt handlers use it directly.
//!
//! What needs room and what does not: see [`RemoteQueue`].

use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::time::Duration;

use critical_section::Mutex;

use crate::{Buf, Error, EventId, Storage, Text, What, platform::Waker};

/// An operation sent to a base from elsewhere, as the loop applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteOp {
    /// `active(id, what, 1)`.
    Activate(EventId, What),
    /// `add(id, timeout)`.
    Add(EventId, Option<Duration>),
    /// `del(id)`.
    Del(EventId),
    /// `loop_break()`.
    Break,
    /// `loop_exit(None)`.
    Exit,
}

/// The loop's side of a remote queue, as the [`Platform`](crate::Platform)
/// hands it over.
pub trait Inbox: Sync {
    /// Whether anything waits (one atomic load).
    fn has_pending(&self) -> bool;
    /// The next operation to apply, oldest first, up to what had been sent
    /// when this drain began; `None` ends the drain (what was sent up to
    /// then now counts as processed). Operations sent during the drain wait
    /// for the next one, so that a flood cannot keep the loop draining.
    fn pop(&self) -> Option<RemoteOp>;
    /// Records the slot of the callback running now (`None` between callbacks).
    fn set_running(&self, index: Option<u32>);
    /// A base (its tag) starts using the queue, or rebuilt its backend
    /// (`reinit`): ids of other bases are refused from now on, and senders
    /// wake the loop through `waker`.
    fn attach(&self, base: u32, waker: Option<Waker>);
    /// The base is gone: what waits is dropped and every send is
    /// [`Error::Closed`] until a base attaches again.
    fn detach(&self);
}

/// Activations coalesce in place for slot indices below this on growable
/// storage (on fixed storage, below its capacity): 12 bytes per slot up to
/// the highest index activated.
const DIRECT_SLOTS: usize = 1 << 16;

/// Bits of `Inner::stop`.
const BREAK: u8 = 1;
const EXIT: u8 = 2;

/// `a` was sent no later than `b` (sequence numbers wrap: by distance).
fn no_later(a: u32, b: u32) -> bool {
    b.wrapping_sub(a) < u32::MAX / 2
}

/// The pending activation of one event slot.
#[derive(Debug, Clone, Copy, Default)]
struct Act {
    generation: u32,
    /// The sequence number of the first activation it holds: its place
    /// among the operations.
    seq: u32,
    what: What,
    pending: bool,
    /// An add or delete of the event was sent after it: later activations
    /// go behind that in the operation queue instead of coalescing here.
    sealed: bool,
}

/// A ring buffer on a `Buf`. A fixed vector is filled to its limit on the
/// first push, so the ring holds exactly that many; a growable one grows
/// when full. Nothing is ever moved in bulk (a `memmove` would cost a
/// firmware 1.6 KB of flash).
struct Fifo<T: Copy, S: Storage> {
    buf: S::Vec<T>,
    /// Where the oldest element is, and how many there are.
    head: usize,
    len: usize,
}

impl<T: Copy, S: Storage> Fifo<T, S> {
    fn new() -> Self {
        Fifo {
            buf: Default::default(),
            head: 0,
            len: 0,
        }
    }

    fn front(&self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        self.buf.get(self.head).copied()
    }

    fn pop(&mut self) -> Option<T> {
        let v = self.front()?;
        self.len -= 1;
        self.head += 1;
        if self.len == 0 || self.head == self.buf.len() {
            self.head = 0;
        }
        Some(v)
    }

    fn push(&mut self, value: T, what: Text) -> Result<(), Error> {
        let cap = self.buf.len();
        if self.len < cap {
            let at = self.head + self.len;
            let at = if at >= cap { at - cap } else { at };
            self.buf[at] = value;
        } else if self.buf.limit() != usize::MAX {
            // Fixed: filled to its limit by the first push, full after.
            let limit = self.buf.limit();
            if cap != 0 {
                return Err(Error::capacity(what, limit));
            }
            self.buf.try_grow_to(limit, what, || value)?;
        } else {
            // Full. Wrapped: copy the part before the head behind the rest
            // (the queue is contiguous from the head again), then append.
            for k in 0..self.head {
                let v = self.buf[k];
                if let Err(e) = self.buf.try_push(v, what) {
                    self.buf.truncate(cap);
                    return Err(e);
                }
            }
            if let Err(e) = self.buf.try_push(value, what) {
                self.buf.truncate(cap);
                return Err(e);
            }
        }
        self.len += 1;
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.head = 0;
        self.len = 0;
    }
}

/// Whose queue it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// No base yet: stop requests are kept for the first one.
    Unattached,
    /// Used by the base with this tag.
    Open(u32),
    /// Its base was dropped.
    Closed,
}

struct Inner<S: Storage> {
    link: Link,
    next_seq: u32,
    /// Adds, deletes and activations that cannot coalesce, in order.
    ops: Fifo<(u32, RemoteOp), S>,
    /// Pending activations by slot index.
    acts: S::Vec<Act>,
    /// The slots of `acts` that are pending, by their `seq`.
    order: Fifo<u32, S>,
    /// [`BREAK`] / [`EXIT`] requests, and the number of the first.
    stop: u8,
    stop_seq: u32,
    /// The last sequence number the current drain takes.
    drain_end: Option<u32>,
    waker: Option<Waker>,
}

impl<S: Storage> Inner<S> {
    fn new() -> Self {
        Inner {
            link: Link::Unattached,
            next_seq: 1,
            ops: Fifo::new(),
            acts: Default::default(),
            order: Fifo::new(),
            stop: 0,
            stop_seq: 0,
            drain_end: None,
            waker: None,
        }
    }

    /// Refuses ids of other bases (and every id before a base attaches).
    fn check(&self, id: EventId) -> Result<(), Error> {
        match self.link {
            Link::Open(tag) if tag == id.base => Ok(()),
            _ => Err(Error::StaleEvent),
        }
    }

    /// An add or delete of `id` is queued: its pending activation, sent
    /// before, must not absorb activations sent after.
    fn seal(&mut self, id: EventId) {
        if let Some(act) = self.acts.get_mut(id.index as usize)
            && act.pending
            && act.generation == id.generation
        {
            act.sealed = true;
        }
    }

    /// Records an activation in the event's slot entry, or says it needs an
    /// operation entry (`Ok(false)`).
    fn coalesce(&mut self, id: EventId, what: What, seq: u32) -> Result<bool, Error> {
        let i = id.index as usize;
        if i >= self.acts.limit().min(DIRECT_SLOTS) {
            return Ok(false);
        }
        if i >= self.acts.len() {
            self.acts.try_grow_to(i + 1, &"remote activation", Act::default)?;
        }
        let act = self.acts[i];
        if act.pending {
            if act.generation != id.generation {
                // Generations only grow: the older id names a freed event,
                // which the loop would refuse anyway.
                if no_later(id.generation, act.generation) {
                    return Err(Error::StaleEvent);
                }
                let act = &mut self.acts[i];
                act.generation = id.generation;
                act.what = what;
                act.sealed = false;
                return Ok(true);
            }
            if act.sealed {
                return Ok(false);
            }
            self.acts[i].what |= what;
            return Ok(true);
        }
        self.order.push(id.index, &"remote activation")?;
        self.acts[i] = Act {
            generation: id.generation,
            seq,
            what,
            pending: true,
            sealed: false,
        };
        Ok(true)
    }

    /// Whether anything waits.
    fn has_work(&self) -> bool {
        self.stop != 0 || !self.ops.is_empty() || !self.order.is_empty()
    }

    /// The next operation of the drain that ends at `end`.
    fn next(&mut self, end: u32) -> Option<RemoteOp> {
        if self.stop != 0 && no_later(self.stop_seq, end) {
            let bit = if self.stop & EXIT != 0 { EXIT } else { BREAK };
            self.stop &= !bit;
            return Some(if bit == EXIT { RemoteOp::Exit } else { RemoteOp::Break });
        }
        let op = self.ops.front().map(|(seq, _)| seq);
        let act = self
            .order
            .front()
            .and_then(|i| self.acts.get(i as usize))
            .map(|a| a.seq);
        let take_act = match (op, act) {
            (Some(o), Some(a)) => no_later(a, o),
            (None, Some(_)) => true,
            _ => false,
        };
        if take_act {
            let a = act?;
            if !no_later(a, end) {
                return None;
            }
            let Link::Open(base) = self.link else { return None };
            let i = self.order.pop()?;
            let act = self.acts.get_mut(i as usize)?;
            act.pending = false;
            act.sealed = false;
            let id = EventId {
                index: i,
                generation: act.generation,
                base,
            };
            return Some(RemoteOp::Activate(id, act.what));
        }
        if !no_later(op?, end) {
            return None;
        }
        self.ops.pop().map(|(_, op)| op)
    }
}

/// What other threads and interrupt handlers send to one base, with
/// storage `S`: [`Growable`](crate::Growable) on std, where nothing is
/// refused for want of room, or [`Fixed<N>`](crate::Fixed) for `N` entries
/// per table.
///
/// What needs room and what does not:
///
/// - **Stop requests** (`loop_break`, `loop_exit`) are two bits of state:
///   never refused.
/// - **Activations** coalesce per event into one pending entry (the OR of
///   the `what`s), as libevent's `event_active` and libev's `ev_async` do:
///   a thousand activations of one event before the loop drains take one
///   entry. The entries are indexed by the event's slot, so an event has
///   its entry whatever else is pending: never refused for an event whose
///   slot index is below the table's bound (every event of a base whose
///   storage is no larger than the queue's; on growable storage the first
///   65,536 slots).
/// - **Adds and deletes** carry data of their own and take one operation
///   entry each until the loop applies them, in the order sent; so does an
///   activation that cannot coalesce (an event beyond the bound, or one with
///   an add or delete still waiting, whose order must be kept).
///
/// On [`Growable`](crate::Growable) storage both tables grow: nothing is
/// refused for want of room. On [`Fixed<N>`](crate::Fixed) storage both
/// hold `N` entries: what can be refused is an add, a delete or an
/// activation that cannot coalesce while `N` operations wait
/// ([`Error::Capacity`]); an interrupt handler's activation of an event
/// whose slot index is below `N` (on a `Fixed<M>` base with `M <= N`: any
/// event) never is.
///
/// Once the base that used the queue is dropped, every send is
/// [`Error::Closed`] (until another base attaches the queue).
///
/// Every send returns a sequence number, or an error that says why it was
/// not taken: [`Error::Closed`] once the base is gone,
/// [`Error::StaleEvent`] for an id of another base (or of an event freed
/// since a newer one took its slot), [`Error::Capacity`] on fixed storage
/// as described above. [`processed`](Self::processed) tells how far the
/// loop has applied.
///
/// ```
/// use evbase_core::{Fixed, RemoteQueue};
///
/// // A firmware's queue: a `static` its interrupt handlers reach.
/// static REMOTE: RemoteQueue<Fixed<8>> = RemoteQueue::new();
/// // Kept for the first base that uses it (through its `Platform::inbox`).
/// let seq = REMOTE.loop_break().unwrap();
/// assert!(!REMOTE.is_processed(seq) && !REMOTE.is_closed());
/// ```
pub struct RemoteQueue<S: Storage> {
    /// Whether anything waits; senders wake the loop when they set it.
    pending: AtomicBool,
    closed: AtomicBool,
    running: AtomicU32,
    processed: AtomicU32,
    /// Made on first use, so that `new` is `const` (a `static` queue).
    inner: Mutex<RefCell<Option<Inner<S>>>>,
}

impl<S: Storage> Default for RemoteQueue<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Storage> core::fmt::Debug for RemoteQueue<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RemoteQueue")
            .field("storage", &S::NAME)
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .field("processed", &self.processed())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<S: Storage> RemoteQueue<S> {
    /// An empty queue (usable in a `static`).
    pub const fn new() -> Self {
        RemoteQueue {
            pending: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            running: AtomicU32::new(0),
            processed: AtomicU32::new(0),
            inner: Mutex::new(RefCell::new(None)),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner<S>) -> R) -> R {
        critical_section::with(|cs| {
            let mut inner = self.inner.borrow_ref_mut(cs);
            f(inner.get_or_insert_with(Inner::new))
        })
    }

    /// Takes a sequence number for what `record` stores, and wakes the loop
    /// if nothing was waiting.
    fn submit(&self, record: impl FnOnce(&mut Inner<S>, u32) -> Result<(), Error>) -> Result<u32, Error> {
        let (seq, waker) = self.with(|inner| {
            if inner.link == Link::Closed {
                return Err(Error::Closed);
            }
            let seq = inner.next_seq;
            record(inner, seq)?;
            inner.next_seq = seq.wrapping_add(1);
            let first = !self.pending.load(Ordering::Relaxed);
            self.pending.store(true, Ordering::Release);
            Ok((seq, if first { inner.waker } else { None }))
        })?;
        if let Some(w) = waker {
            w.wake();
        }
        Ok(seq)
    }

    /// Sends `op` (see the methods of each kind).
    ///
    /// # Errors
    /// As the method of its kind.
    pub fn send(&self, op: RemoteOp) -> Result<u32, Error> {
        match op {
            RemoteOp::Activate(id, what) => self.activate(id, what),
            RemoteOp::Add(id, timeout) => self.add(id, timeout),
            RemoteOp::Del(id) => self.del(id),
            RemoteOp::Break => self.loop_break(),
            RemoteOp::Exit => self.loop_exit(),
        }
    }

    /// Activates `id` with `what` from elsewhere (libevent's
    /// `event_active`): activations sent before the loop applies them
    /// coalesce into one callback with the OR of their `what`s.
    ///
    /// # Errors
    /// [`Error::Closed`] once the base is gone; [`Error::StaleEvent`] for an
    /// id of another base, or older than one activated since for the same
    /// slot. On fixed storage, [`Error::Capacity`] only when the activation
    /// cannot coalesce (see [`RemoteQueue`]) and the
    /// operation table is full.
    pub fn activate(&self, id: EventId, what: What) -> Result<u32, Error> {
        self.submit(|inner, seq| {
            inner.check(id)?;
            if inner.coalesce(id, what, seq)? {
                return Ok(());
            }
            inner.ops.push((seq, RemoteOp::Activate(id, what)), &"remote operation")
        })
    }

    /// Adds `id` with `timeout` from elsewhere; the timeout runs from when
    /// the loop applies it.
    ///
    /// # Errors
    /// [`Error::Closed`], [`Error::StaleEvent`] for an id of another base;
    /// on fixed storage [`Error::Capacity`] when the operation table is full.
    pub fn add(&self, id: EventId, timeout: Option<Duration>) -> Result<u32, Error> {
        self.submit(|inner, seq| {
            inner.check(id)?;
            inner.ops.push((seq, RemoteOp::Add(id, timeout)), &"remote operation")?;
            inner.seal(id);
            Ok(())
        })
    }

    /// Deletes `id` from elsewhere. It is deleted once
    /// [`RemoteQueue::is_processed`] says so for the returned number.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn del(&self, id: EventId) -> Result<u32, Error> {
        self.submit(|inner, seq| {
            inner.check(id)?;
            inner.ops.push((seq, RemoteOp::Del(id)), &"remote operation")?;
            inner.seal(id);
            Ok(())
        })
    }

    fn stop(&self, bit: u8) -> Result<u32, Error> {
        self.submit(|inner, seq| {
            if inner.stop == 0 {
                inner.stop_seq = seq;
            }
            inner.stop |= bit;
            Ok(())
        })
    }

    /// Makes the loop return after the current callback. Not lost when sent
    /// before the loop starts (libevent#1292): the next loop returns at
    /// once. A request, not a queue entry: never refused for want of room.
    ///
    /// # Errors
    /// [`Error::Closed`] once the base is gone.
    pub fn loop_break(&self) -> Result<u32, Error> {
        self.stop(BREAK)
    }

    /// Makes the loop return once the active callbacks have run. A
    /// request, not a queue entry: never refused for want of room.
    ///
    /// # Errors
    /// [`Error::Closed`] once the base is gone.
    pub fn loop_exit(&self) -> Result<u32, Error> {
        self.stop(EXIT)
    }

    /// The sequence number up to which the loop has applied everything sent.
    pub fn processed(&self) -> u32 {
        self.processed.load(Ordering::Acquire)
    }

    /// Whether the operation numbered `seq` has been applied.
    pub fn is_processed(&self, seq: u32) -> bool {
        no_later(seq, self.processed())
    }

    /// Whether the base that used the queue is gone (sends are
    /// [`Error::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The slot index of the callback the loop is running now, if any.
    pub fn running(&self) -> Option<u32> {
        match self.running.load(Ordering::Acquire) {
            0 => None,
            n => Some(n - 1),
        }
    }
}

// `Inbox` wants `Sync`: true of every storage whose vectors are `Send`
// (`Fixed` and `Growable`).
impl<S: Storage> Inbox for RemoteQueue<S>
where
    Self: Sync,
{
    fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    fn pop(&self) -> Option<RemoteOp> {
        let (op, waker) = self.with(|inner| {
            let end = *inner.drain_end.get_or_insert(inner.next_seq.wrapping_sub(1));
            if let Some(op) = inner.next(end) {
                return (Some(op), None);
            }
            inner.drain_end = None;
            self.processed.store(end, Ordering::Release);
            let left = inner.has_work();
            self.pending.store(left, Ordering::Release);
            // What was sent during the drain: senders saw `pending` set and
            // did not wake the loop, so it wakes itself for the next drain.
            (None, if left { inner.waker } else { None })
        });
        if let Some(w) = waker {
            w.wake();
        }
        op
    }

    fn set_running(&self, index: Option<u32>) {
        self.running.store(index.map_or(0, |i| i + 1), Ordering::Release);
    }

    fn attach(&self, base: u32, waker: Option<Waker>) {
        self.with(|inner| {
            inner.link = Link::Open(base);
            inner.waker = waker;
        });
        self.closed.store(false, Ordering::Release);
    }

    fn detach(&self) {
        self.with(|inner| {
            inner.link = Link::Closed;
            inner.waker = None;
            inner.ops.clear();
            inner.order.clear();
            inner.acts.clear();
            inner.stop = 0;
            inner.drain_end = None;
        });
        self.pending.store(false, Ordering::Release);
        self.closed.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fixed;

    fn id(index: u32, generation: u32) -> EventId {
        EventId {
            index,
            generation,
            base: 7,
        }
    }

    fn drain(q: &dyn Inbox) -> heapless::Vec<RemoteOp, 64> {
        let mut ops = heapless::Vec::new();
        while let Some(op) = q.pop() {
            ops.push(op).unwrap();
        }
        ops
    }

    fn open<const N: usize>() -> RemoteQueue<Fixed<N>> {
        let q = RemoteQueue::new();
        q.attach(7, None);
        q
    }

    #[test]
    fn activations_coalesce_and_never_fill_the_table() {
        let q = open::<2>();
        let (a, b) = (id(0, 1), id(1, 1));
        for _ in 0..1000 {
            q.activate(a, What::READ).unwrap();
            q.activate(b, What::WRITE).unwrap();
        }
        q.activate(a, What::TIMEOUT).unwrap();
        assert_eq!(
            drain(&q),
            [
                RemoteOp::Activate(a, What::READ | What::TIMEOUT),
                RemoteOp::Activate(b, What::WRITE)
            ]
        );
        assert!(!q.has_pending());
        assert!(q.is_processed(2001));
    }

    #[test]
    fn stop_requests_are_state() {
        let q = open::<1>();
        q.add(id(0, 1), None).unwrap();
        assert!(matches!(q.add(id(0, 1), None), Err(Error::Capacity { limit: 1, .. })));
        for _ in 0..100 {
            q.loop_break().unwrap();
            q.loop_exit().unwrap();
        }
        assert_eq!(
            drain(&q),
            [RemoteOp::Exit, RemoteOp::Break, RemoteOp::Add(id(0, 1), None)]
        );
    }

    #[test]
    fn order_is_kept_around_adds_and_deletes() {
        let q = open::<4>();
        let a = id(2, 3);
        q.activate(a, What::READ).unwrap();
        q.del(a).unwrap();
        // After the delete: must not fold into the activation before it.
        q.activate(a, What::WRITE).unwrap();
        q.activate(a, What::TIMEOUT).unwrap();
        assert_eq!(
            drain(&q),
            [
                RemoteOp::Activate(a, What::READ),
                RemoteOp::Del(a),
                RemoteOp::Activate(a, What::WRITE),
                RemoteOp::Activate(a, What::TIMEOUT)
            ]
        );
        // An event beyond the slot table queues its activations in order.
        let far = id(9, 1);
        q.activate(far, What::READ).unwrap();
        q.activate(a, What::READ).unwrap();
        assert_eq!(
            drain(&q),
            [RemoteOp::Activate(far, What::READ), RemoteOp::Activate(a, What::READ)]
        );
    }

    #[test]
    fn stale_and_foreign_ids_are_refused() {
        let q = open::<4>();
        q.activate(id(1, 5), What::READ).unwrap();
        assert_eq!(q.activate(id(1, 4), What::READ), Err(Error::StaleEvent));
        // A newer generation replaces the freed event's activation.
        q.activate(id(1, 6), What::WRITE).unwrap();
        let foreign = EventId {
            index: 0,
            generation: 1,
            base: 8,
        };
        assert_eq!(q.activate(foreign, What::READ), Err(Error::StaleEvent));
        assert_eq!(q.del(foreign), Err(Error::StaleEvent));
        assert_eq!(drain(&q), [RemoteOp::Activate(id(1, 6), What::WRITE)]);
        let fresh = RemoteQueue::<Fixed<4>>::new();
        assert_eq!(fresh.activate(id(0, 1), What::READ), Err(Error::StaleEvent));
        fresh.loop_break().unwrap();
    }

    #[test]
    fn a_drain_takes_what_was_sent_before_it() {
        let q = open::<4>();
        let (a, b) = (id(0, 1), id(1, 1));
        let first = q.activate(a, What::READ).unwrap();
        assert_eq!(q.pop(), Some(RemoteOp::Activate(a, What::READ)));
        // Sent during the drain: left for the next one.
        let second = q.activate(b, What::READ).unwrap();
        assert_eq!(q.pop(), None);
        assert!(q.is_processed(first) && !q.is_processed(second));
        assert!(q.has_pending());
        assert_eq!(drain(&q), [RemoteOp::Activate(b, What::READ)]);
        assert!(q.is_processed(second) && !q.has_pending());
    }

    #[test]
    fn a_closed_queue_says_so() {
        let q = open::<4>();
        let a = id(0, 1);
        let seq = q.add(a, None).unwrap();
        q.detach();
        assert!(q.is_closed() && !q.is_processed(seq));
        assert_eq!(q.activate(a, What::READ), Err(Error::Closed));
        assert_eq!(q.add(a, None), Err(Error::Closed));
        assert_eq!(q.del(a), Err(Error::Closed));
        assert_eq!(q.loop_break(), Err(Error::Closed));
        assert_eq!(q.loop_exit(), Err(Error::Closed));
        assert_eq!(drain(&q), []);
        // Another base may take the queue over.
        q.attach(7, None);
        q.activate(a, What::READ).unwrap();
        assert_eq!(drain(&q), [RemoteOp::Activate(a, What::READ)]);
    }

    #[test]
    fn fifo_is_a_ring() {
        fn check<S: Storage>(rounds: u32) {
            let mut f: Fifo<u32, S> = Fifo::new();
            let mut model = std::collections::VecDeque::new();
            let mut next = 0;
            for round in 0..rounds {
                // Pushes and pops in varying proportions, so the ring wraps
                // and (growable) grows while wrapped.
                for _ in 0..(round % 5) {
                    match f.push(next, &"t") {
                        Ok(()) => model.push_back(next),
                        Err(e) => {
                            assert_eq!(e, Error::Capacity { what: &"t", limit: 3 });
                            assert_eq!(model.len(), 3, "refused only when full");
                        }
                    }
                    next += 1;
                }
                for _ in 0..(round % 3) {
                    assert_eq!(f.pop(), model.pop_front());
                }
                assert_eq!(f.front(), model.front().copied());
                assert_eq!(f.is_empty(), model.is_empty());
            }
            while let Some(v) = model.pop_front() {
                assert_eq!(f.pop(), Some(v));
            }
            assert_eq!(f.pop(), None);
        }
        check::<Fixed<3>>(200);
        #[cfg(feature = "alloc")]
        check::<crate::Growable>(200);
    }
}
