//! Priority counts and the active queues against a `VecDeque` per priority
//! (plus one for the active-later queue), on fixed and growable storage.
//!
//! Cost: each operation is checked through its result, the counts and the
//! key it touched; the queues' whole content (every key's membership,
//! priority and order) is compared at the end. The model holds a queue per
//! priority in use (not 255 from the start), and the most urgent non-empty
//! one comes from a bitmap, not a scan.
#![no_main]

use std::collections::VecDeque;

use arbitrary::Arbitrary;
use evbase_core::{ActiveQueues, Error, Fixed, Growable, Storage};
use libfuzzer_sys::fuzz_target;

const FIXED: usize = 24;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    SetPriorities(u16),
    Reserve(u8),
    Push(u8, u8),
    PushLater(u8, u8),
    Remove(u8),
    Pop(u8),
    DrainFirst,
    Promote,
}

struct Model {
    n: usize,
    reserved: usize,
    /// One queue per priority in use so far (at least `n`).
    active: Vec<VecDeque<u32>>,
    /// Bit `p` set when `active[p]` is not empty.
    nonempty: [u64; 4],
    later: VecDeque<(u32, u8)>,
    /// Per key: its priority and whether it waits in the later queue.
    at: [Option<(u8, bool)>; 256],
    len: usize,
}

impl Model {
    fn queued(&self, k: u32) -> bool {
        self.at[k as usize].is_some()
    }

    fn first_nonempty(&self) -> Option<usize> {
        let w = self.nonempty.iter().position(|&w| w != 0)?;
        Some(w * 64 + self.nonempty[w].trailing_zeros() as usize)
    }

    fn push_active(&mut self, k: u32, p: u8) {
        self.active[usize::from(p)].push_back(k);
        self.nonempty[usize::from(p) / 64] |= 1 << (p % 64);
        self.at[k as usize] = Some((p, false));
    }

    /// After a removal from `active[p]`.
    fn note_removed(&mut self, p: usize) {
        if self.active[p].is_empty() {
            self.nonempty[p / 64] &= !(1 << (p % 64));
        }
    }
}

fn run<S: Storage>(ops: &[Op], limit: usize) {
    let mut q = ActiveQueues::<S>::new();
    let mut m = Model {
        n: 1,
        reserved: 0,
        active: vec![VecDeque::new()],
        nonempty: [0; 4],
        later: VecDeque::new(),
        at: [None; 256],
        len: 0,
    };
    assert_eq!(q.default_priority(), 0);
    for &op in ops {
        // The key this op touched, to check its state afterwards.
        let mut touched = None;
        match op {
            Op::SetPriorities(n) => {
                let n = usize::from(n);
                let want = if !(1..=255).contains(&n) {
                    Err(Error::InvalidPriorityCount(n))
                } else if m.len > 0 {
                    Err(Error::EventsActive)
                } else {
                    m.n = n;
                    if m.active.len() < n {
                        m.active.resize_with(n, VecDeque::new);
                    }
                    Ok(())
                };
                assert_eq!(q.set_priorities(n), want);
                assert_eq!(usize::from(q.default_priority()), m.n / 2);
            }
            Op::Reserve(k) => {
                let k = u32::from(k);
                let ok = (k as usize) < limit;
                assert_eq!(q.reserve_key(k).is_ok(), ok);
                if ok {
                    m.reserved = m.reserved.max(k as usize + 1);
                }
            }
            Op::Push(k, p) | Op::PushLater(k, p) => {
                let k = u32::from(k);
                let p = (usize::from(p) % m.n) as u8;
                if (k as usize) >= m.reserved || m.queued(k) {
                    continue;
                }
                if let Op::Push(..) = op {
                    q.push(k, p);
                    m.push_active(k, p);
                } else {
                    q.push_later(k, p);
                    m.later.push_back((k, p));
                    m.at[k as usize] = Some((p, true));
                }
                m.len += 1;
                touched = Some(k);
            }
            Op::Remove(k) => {
                let k = u32::from(k);
                assert_eq!(q.remove(k), m.queued(k));
                touched = Some(k);
                match m.at[k as usize].take() {
                    Some((_, true)) => m.later.retain(|e| e.0 != k),
                    Some((p, false)) => {
                        m.active[usize::from(p)].retain(|&x| x != k);
                        m.note_removed(usize::from(p));
                    }
                    None => continue,
                }
                m.len -= 1;
            }
            Op::Pop(p) => {
                let p = usize::from(p) % m.n;
                let k = m.active[p].pop_front();
                assert_eq!(q.pop(p as u8), k);
                if let Some(k) = k {
                    m.note_removed(p);
                    m.at[k as usize] = None;
                    m.len -= 1;
                    touched = Some(k);
                }
            }
            Op::DrainFirst => {
                // What the loop does: the most urgent queue, front first.
                let want = m.first_nonempty();
                assert_eq!(q.first_nonempty().map(usize::from), want);
                if let Some(p) = want {
                    while let Some(k) = m.active[p].pop_front() {
                        assert_eq!(q.pop(p as u8), Some(k));
                        assert!(!q.is_queued(k));
                        m.at[k as usize] = None;
                        m.len -= 1;
                    }
                    m.note_removed(p);
                    assert_eq!(q.pop(p as u8), None);
                }
            }
            Op::Promote => {
                q.promote_later();
                while let Some((k, p)) = m.later.pop_front() {
                    m.push_active(k, p);
                }
            }
        }
        assert_eq!(q.len(), m.len);
        assert_eq!(q.is_empty(), m.len == 0);
        assert_eq!(q.npriorities(), m.n);
        assert_eq!(q.first_nonempty().map(usize::from), m.first_nonempty());
        if let Some(k) = touched {
            let at = m.at[k as usize];
            assert_eq!(q.is_later(k), matches!(at, Some((_, true))));
            assert_eq!(q.is_queued(k), at.is_some());
            assert_eq!(q.priority(k), at.map(|a| a.0));
        }
    }
    // The whole content, once.
    let want: Vec<(u8, u32)> = m
        .active
        .iter()
        .enumerate()
        .flat_map(|(p, a)| a.iter().map(move |&k| (p as u8, k)))
        .collect();
    assert_eq!(q.iter_active().collect::<Vec<_>>(), want);
    assert!(q.iter_later().eq(m.later.iter().map(|e| e.0)));
    assert_eq!(want.len() + m.later.len(), m.len);
    // Keys past the reserved ones can never have been queued: one of them
    // stands for all.
    for k in 0..=(m.reserved as u32).min(255) {
        let at = m.at[k as usize];
        assert_eq!(q.is_later(k), matches!(at, Some((_, true))));
        assert_eq!(q.is_queued(k), at.is_some());
        assert_eq!(q.priority(k), at.map(|a| a.0));
    }
}

fuzz_target!(|ops: Vec<Op>| {
    run::<Fixed<FIXED>>(&ops, FIXED);
    run::<Growable>(&ops, usize::MAX);
});
