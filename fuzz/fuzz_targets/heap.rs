//! The timer heap against a model ordered by (deadline, sequence): earliest
//! deadline first, FIFO among equal deadlines, deferred re-keys (the loop's
//! re-arm of a persistent timer) applied only by `flush`, on fixed and
//! growable storage.
//!
//! Cost: every operation is checked through its result and the heap's
//! O(1) answers (length, top, the key's deadline); the whole content is
//! compared once, at the end, and then drained in order. The model is a
//! sorted `Vec` (at most 256 entries: a binary search and a memmove per
//! change) plus a per-key table, not a re-sort and a full comparison per
//! operation.
#![no_main]

use arbitrary::Arbitrary;
use evbase_core::{Fixed, Growable, Instant, Storage, TimerHeap};
use libfuzzer_sys::fuzz_target;

const FIXED: usize = 32;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    Push(u8, u8),
    Pop,
    Erase(u8),
    Adjust(u8, u8),
    Defer(u8, u8),
    Flush,
    Reserve(u8),
    Clear,
}

/// Few distinct deadlines so that ties are common, plus the extremes.
fn deadline(d: u8) -> u64 {
    match d {
        255 => u64::MAX,
        254 => 0,
        d => u64::from(d % 16) * 1000,
    }
}

/// Entries ordered as the heap pops them, and each key's entry.
struct Model {
    /// Sorted by (deadline, sequence number).
    order: Vec<(u64, u64, u8)>,
    entry: [Option<(u64, u64)>; 256],
    /// A deferred re-key: (key, new deadline, its sequence number).
    deferred: Option<(u8, u64, u64)>,
    seq: u64,
}

impl Model {
    fn insert(&mut self, k: u8, d: u64) {
        self.entry[usize::from(k)] = Some((d, self.seq));
        self.add((d, self.seq, k));
        self.seq += 1;
    }

    fn add(&mut self, e: (u64, u64, u8)) {
        let i = self.order.binary_search(&e).unwrap_err();
        self.order.insert(i, e);
    }

    fn take(&mut self, e: (u64, u64, u8)) {
        let i = self.order.binary_search(&e).unwrap();
        self.order.remove(i);
    }

    fn remove(&mut self, k: u8) -> bool {
        if self.deferred.is_some_and(|p| p.0 == k) {
            self.deferred = None;
        }
        match self.entry[usize::from(k)].take() {
            Some((d, s)) => {
                self.take((d, s, k));
                true
            }
            None => false,
        }
    }

    fn flush(&mut self) {
        if let Some((k, d, s)) = self.deferred.take() {
            let (old_d, old_s) = self.entry[usize::from(k)].unwrap();
            self.take((old_d, old_s, k));
            self.entry[usize::from(k)] = Some((d, s));
            self.add((d, s, k));
        }
    }

    fn top(&self) -> Option<(u32, Instant)> {
        self.order.first().map(|e| (u32::from(e.2), Instant::from_nanos(e.0)))
    }
}

fn run<S: Storage>(ops: &[Op], limit: usize) {
    let mut heap = TimerHeap::<S>::new();
    let mut m = Model {
        order: Vec::new(),
        entry: [None; 256],
        deferred: None,
        seq: 0,
    };
    for &op in ops {
        // The key this op touched, to check its deadline afterwards.
        let mut touched = None;
        match op {
            Op::Push(k, d) => {
                if m.entry[usize::from(k)].is_some() {
                    continue;
                }
                let fits = m.order.len() < limit && usize::from(k) < limit;
                assert_eq!(heap.push(u32::from(k), Instant::from_nanos(deadline(d))).is_ok(), fits);
                if fits {
                    m.insert(k, deadline(d));
                }
                touched = Some(k);
            }
            Op::Pop => {
                let want = m.top();
                assert_eq!(heap.pop(), want);
                if let Some((k, _)) = want {
                    m.remove(k as u8);
                }
            }
            Op::Erase(k) => {
                assert_eq!(heap.erase(u32::from(k)), m.remove(k));
                touched = Some(k);
            }
            Op::Adjust(k, d) => {
                let present = m.entry[usize::from(k)].is_some();
                let fits = present || (m.order.len() < limit && usize::from(k) < limit);
                assert_eq!(
                    heap.adjust(u32::from(k), Instant::from_nanos(deadline(d))).is_ok(),
                    fits
                );
                m.remove(k);
                if fits {
                    m.insert(k, deadline(d));
                }
                touched = Some(k);
            }
            Op::Defer(k, d) => {
                // Only of a key in the heap (a precondition of `defer`).
                if m.entry[usize::from(k)].is_none() {
                    continue;
                }
                heap.defer(u32::from(k), Instant::from_nanos(deadline(d)));
                // A defer applies the one before it.
                m.flush();
                m.deferred = Some((k, deadline(d), m.seq));
                m.seq += 1;
                touched = Some(k);
            }
            Op::Flush => {
                touched = m.deferred.map(|p| p.0);
                heap.flush();
                m.flush();
            }
            Op::Reserve(n) => {
                let n = usize::from(n);
                assert_eq!(heap.reserve(n).is_ok(), m.order.len() + n <= limit);
            }
            Op::Clear => {
                heap.clear();
                m.order.clear();
                m.entry = [None; 256];
                m.deferred = None;
            }
        }
        assert_eq!(heap.len(), m.order.len());
        assert_eq!(heap.is_empty(), m.order.is_empty());
        assert_eq!(heap.top(), m.top());
        if let Some(k) = touched {
            let want = m.entry[usize::from(k)].map(|e| Instant::from_nanos(e.0));
            assert_eq!(heap.deadline(u32::from(k)), want);
            assert_eq!(heap.contains(u32::from(k)), want.is_some());
        }
    }
    // The whole content once, then the drain in order. A deferred re-key
    // still waiting is applied first, as the loop does before it pops.
    heap.flush();
    m.flush();
    let mut all: Vec<(u32, Instant)> = heap.iter().collect();
    all.sort_unstable();
    let want: Vec<(u32, Instant)> = (0..=255u8)
        .filter_map(|k| m.entry[usize::from(k)].map(|e| (u32::from(k), Instant::from_nanos(e.0))))
        .collect();
    assert_eq!(all, want);
    for &(d, _, k) in &m.order {
        assert_eq!(heap.pop(), Some((u32::from(k), Instant::from_nanos(d))));
    }
    assert_eq!(heap.pop(), None);
}

fuzz_target!(|ops: Vec<Op>| {
    run::<Fixed<FIXED>>(&ops, FIXED);
    run::<Growable>(&ops, usize::MAX);
});
