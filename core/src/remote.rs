//! Reaching a base from other threads and interrupt handlers.
//!
//! A [`RemoteQueue`] is a fixed queue of operations under a critical section
//! (`critical-section`), shared between the loop and its remote callers. A
//! caller queues an operation and wakes the loop through the backend's
//! [`Waker`]; the loop applies queued operations after each wait and after
//! each callback. On std it lives in an `Arc`; on a microcontroller in a
//! `static`, and interrupt handlers use it directly.

use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::time::Duration;

use critical_section::Mutex;

use crate::{Error, EventId, What, platform::Waker};

/// An operation sent to a base from elsewhere.
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
    /// Whether operations are waiting (one atomic load).
    fn has_pending(&self) -> bool;
    /// Takes the oldest waiting operation and its sequence number.
    fn pop(&self) -> Option<(u32, RemoteOp)>;
    /// Records that every operation up to `seq` has been applied.
    fn set_processed(&self, seq: u32);
    /// Records the slot of the callback running now (`None` between callbacks).
    fn set_running(&self, index: Option<u32>);
    /// Sets how remote callers wake the loop.
    fn set_waker(&self, waker: Option<Waker>);
}

struct Inner<const N: usize> {
    ops: heapless::Deque<(u32, RemoteOp), N>,
    next_seq: u32,
    waker: Option<Waker>,
}

/// A fixed queue of `N` remote operations for one base.
pub struct RemoteQueue<const N: usize> {
    pending: AtomicBool,
    running: AtomicU32,
    processed: AtomicU32,
    inner: Mutex<RefCell<Inner<N>>>,
}

impl<const N: usize> Default for RemoteQueue<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RemoteQueue<N> {
    /// An empty queue (usable in a `static`).
    pub const fn new() -> Self {
        RemoteQueue {
            pending: AtomicBool::new(false),
            running: AtomicU32::new(0),
            processed: AtomicU32::new(0),
            inner: Mutex::new(RefCell::new(Inner {
                ops: heapless::Deque::new(),
                next_seq: 1,
                waker: None,
            })),
        }
    }

    /// Queues `op` and wakes the loop. Returns the operation's sequence
    /// number (see [`RemoteQueue::processed`]).
    ///
    /// # Errors
    /// [`Error::Capacity`] when `N` operations are already waiting.
    pub fn send(&self, op: RemoteOp) -> Result<u32, Error> {
        let (seq, waker) = critical_section::with(|cs| {
            let mut inner = self.inner.borrow_ref_mut(cs);
            let seq = inner.next_seq;
            inner.ops.push_back((seq, op)).map_err(|_| Error::Capacity {
                what: "remote queue",
                limit: N,
            })?;
            inner.next_seq = seq.wrapping_add(1);
            let first = !self.pending.load(Ordering::Relaxed);
            self.pending.store(true, Ordering::Release);
            Ok::<_, Error>((seq, if first { inner.waker } else { None }))
        })?;
        if let Some(w) = waker {
            w.wake();
        }
        Ok(seq)
    }

    /// Activates `id` with `what` (once) from elsewhere.
    ///
    /// # Errors
    /// [`Error::Capacity`] when the queue is full.
    pub fn activate(&self, id: EventId, what: What) -> Result<u32, Error> {
        self.send(RemoteOp::Activate(id, what))
    }

    /// Adds `id` with `timeout` from elsewhere.
    ///
    /// # Errors
    /// [`Error::Capacity`] when the queue is full.
    pub fn add(&self, id: EventId, timeout: Option<Duration>) -> Result<u32, Error> {
        self.send(RemoteOp::Add(id, timeout))
    }

    /// Deletes `id` from elsewhere. It is deleted once
    /// [`RemoteQueue::processed`] reaches the returned number.
    ///
    /// # Errors
    /// [`Error::Capacity`] when the queue is full.
    pub fn del(&self, id: EventId) -> Result<u32, Error> {
        self.send(RemoteOp::Del(id))
    }

    /// Makes the loop return after the current callback. Not lost when sent
    /// before the loop starts (libevent#1292): the next loop returns at once.
    ///
    /// # Errors
    /// [`Error::Capacity`] when the queue is full.
    pub fn loop_break(&self) -> Result<u32, Error> {
        self.send(RemoteOp::Break)
    }

    /// Makes the loop return once the active callbacks have run.
    ///
    /// # Errors
    /// [`Error::Capacity`] when the queue is full.
    pub fn loop_exit(&self) -> Result<u32, Error> {
        self.send(RemoteOp::Exit)
    }

    /// The sequence number of the last operation the loop has applied.
    pub fn processed(&self) -> u32 {
        self.processed.load(Ordering::Acquire)
    }

    /// Whether the operation numbered `seq` has been applied.
    pub fn is_processed(&self, seq: u32) -> bool {
        // Sequence numbers wrap: compare by distance.
        self.processed().wrapping_sub(seq) < u32::MAX / 2
    }

    /// The slot index of the callback the loop is running now, if any.
    pub fn running(&self) -> Option<u32> {
        match self.running.load(Ordering::Acquire) {
            0 => None,
            n => Some(n - 1),
        }
    }
}

impl<const N: usize> Inbox for RemoteQueue<N> {
    fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    fn pop(&self) -> Option<(u32, RemoteOp)> {
        critical_section::with(|cs| {
            let mut inner = self.inner.borrow_ref_mut(cs);
            let op = inner.ops.pop_front();
            if inner.ops.is_empty() {
                self.pending.store(false, Ordering::Release);
            }
            op
        })
    }

    fn set_processed(&self, seq: u32) {
        self.processed.store(seq, Ordering::Release);
    }

    fn set_running(&self, index: Option<u32>) {
        self.running.store(index.map_or(0, |i| i + 1), Ordering::Release);
    }

    fn set_waker(&self, waker: Option<Waker>) {
        critical_section::with(|cs| self.inner.borrow_ref_mut(cs).waker = waker);
    }
}
