//! Priority counts and the active queues against a `VecDeque` per priority
//! (plus one for the active-later queue), on fixed and growable storage.
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
    active: Vec<VecDeque<u32>>,
    later: VecDeque<(u32, u8)>,
    /// Per key: its priority and whether it waits in the later queue.
    at: [Option<(u8, bool)>; 256],
    len: usize,
}

impl Model {
    fn queued(&self, k: u32) -> bool {
        self.at[k as usize].is_some()
    }
    fn len(&self) -> usize {
        self.len
    }
}

fn run<S: Storage>(ops: &[Op], limit: usize) {
    let mut q = ActiveQueues::<S>::new();
    let mut m = Model {
        n: 1,
        reserved: 0,
        active: vec![VecDeque::new(); 255],
        later: VecDeque::new(),
        at: [None; 256],
        len: 0,
    };
    assert_eq!(q.default_priority(), 0);
    for &op in ops {
        match op {
            Op::SetPriorities(n) => {
                let n = usize::from(n);
                let want = if !(1..=255).contains(&n) {
                    Err(Error::InvalidPriorityCount(n))
                } else if m.len() > 0 {
                    Err(Error::EventsActive)
                } else {
                    m.n = n;
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
                    m.active[usize::from(p)].push_back(k);
                    m.at[k as usize] = Some((p, false));
                } else {
                    q.push_later(k, p);
                    m.later.push_back((k, p));
                    m.at[k as usize] = Some((p, true));
                }
                m.len += 1;
            }
            Op::Remove(k) => {
                let k = u32::from(k);
                assert_eq!(q.remove(k), m.queued(k));
                match m.at[k as usize].take() {
                    Some((_, true)) => m.later.retain(|e| e.0 != k),
                    Some((p, false)) => m.active[usize::from(p)].retain(|&x| x != k),
                    None => continue,
                }
                m.len -= 1;
            }
            Op::Pop(p) => {
                let p = (usize::from(p) % m.n) as u8;
                let k = m.active[usize::from(p)].pop_front();
                assert_eq!(q.pop(p), k);
                if let Some(k) = k {
                    m.at[k as usize] = None;
                    m.len -= 1;
                }
            }
            Op::DrainFirst => {
                // What the loop does: the most urgent queue, front first.
                let want = m.active.iter().position(|a| !a.is_empty());
                assert_eq!(q.first_nonempty().map(usize::from), want);
                if let Some(p) = want {
                    while let Some(k) = m.active[p].pop_front() {
                        assert_eq!(q.pop(p as u8), Some(k));
                        m.at[k as usize] = None;
                        m.len -= 1;
                    }
                    assert_eq!(q.pop(p as u8), None);
                }
            }
            Op::Promote => {
                q.promote_later();
                for (k, p) in m.later.drain(..) {
                    m.active[usize::from(p)].push_back(k);
                    m.at[k as usize] = Some((p, false));
                }
            }
        }
        assert_eq!(q.len(), m.len());
        assert_eq!(q.is_empty(), m.len() == 0);
        assert_eq!(q.npriorities(), m.n);
        assert_eq!(
            q.first_nonempty().map(usize::from),
            m.active.iter().position(|a| !a.is_empty())
        );
        let want: Vec<(u8, u32)> = m
            .active
            .iter()
            .enumerate()
            .flat_map(|(p, a)| a.iter().map(move |&k| (p as u8, k)))
            .collect();
        assert_eq!(q.iter_active().collect::<Vec<_>>(), want);
        assert!(q.iter_later().eq(m.later.iter().map(|e| e.0)));
        assert_eq!(m.active.iter().map(VecDeque::len).sum::<usize>() + m.later.len(), m.len);
        for k in 0..=255u32 {
            let at = m.at[k as usize];
            assert_eq!(q.is_later(k), matches!(at, Some((_, true))));
            assert_eq!(q.is_queued(k), at.is_some());
            assert_eq!(q.priority(k), at.map(|a| a.0));
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    run::<Fixed<FIXED>>(&ops, FIXED);
    run::<Growable>(&ops, usize::MAX);
});
