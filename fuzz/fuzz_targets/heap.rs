//! The timer heap against a sorted `Vec` model: earliest deadline first,
//! FIFO among equal deadlines, on fixed and growable storage.
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

fn run<S: Storage>(ops: &[Op], limit: usize) {
    let mut heap = TimerHeap::<S>::new();
    // (deadline, seq, key), kept sorted.
    let mut model: Vec<(u64, u64, u32)> = Vec::new();
    let mut seq = 0u64;
    for &op in ops {
        match op {
            Op::Push(k, d) => {
                let k = u32::from(k);
                if model.iter().any(|e| e.2 == k) {
                    continue;
                }
                let fits = model.len() < limit && (k as usize) < limit;
                assert_eq!(heap.push(k, Instant::from_nanos(deadline(d))).is_ok(), fits);
                if fits {
                    model.push((deadline(d), seq, k));
                    seq += 1;
                }
            }
            Op::Pop => {
                let want = (!model.is_empty()).then(|| model.remove(0));
                assert_eq!(heap.pop(), want.map(|e| (e.2, Instant::from_nanos(e.0))));
            }
            Op::Erase(k) => {
                let k = u32::from(k);
                let at = model.iter().position(|e| e.2 == k);
                assert_eq!(heap.erase(k), at.is_some());
                if let Some(i) = at {
                    model.remove(i);
                }
            }
            Op::Adjust(k, d) => {
                let k = u32::from(k);
                let at = model.iter().position(|e| e.2 == k);
                let fits = at.is_some() || (model.len() < limit && (k as usize) < limit);
                assert_eq!(heap.adjust(k, Instant::from_nanos(deadline(d))).is_ok(), fits);
                if let Some(i) = at {
                    model.remove(i);
                }
                if fits {
                    model.push((deadline(d), seq, k));
                    seq += 1;
                }
            }
            Op::Reserve(n) => {
                let n = usize::from(n);
                assert_eq!(heap.reserve(n).is_ok(), model.len() + n <= limit);
            }
            Op::Clear => {
                heap.clear();
                model.clear();
            }
        }
        model.sort_unstable();
        assert_eq!(heap.len(), model.len());
        assert_eq!(heap.is_empty(), model.is_empty());
        assert_eq!(heap.top(), model.first().map(|e| (e.2, Instant::from_nanos(e.0))));
        for e in &model {
            assert!(heap.contains(e.2));
            assert_eq!(heap.deadline(e.2), Some(Instant::from_nanos(e.0)));
        }
        let mut all: Vec<(u32, Instant)> = heap.iter().collect();
        all.sort_unstable();
        let mut want: Vec<(u32, Instant)> = model.iter().map(|e| (e.2, Instant::from_nanos(e.0))).collect();
        want.sort_unstable();
        assert_eq!(all, want);
    }
    for e in model {
        assert_eq!(heap.pop(), Some((e.2, Instant::from_nanos(e.0))));
    }
    assert_eq!(heap.pop(), None);
}

fuzz_target!(|ops: Vec<Op>| {
    run::<Fixed<FIXED>>(&ops, FIXED);
    run::<Growable>(&ops, usize::MAX);
});
