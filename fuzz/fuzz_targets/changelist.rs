//! The changelist against a model that keeps every fd's whole history of
//! the batch and computes the expected change from it, on fixed and
//! growable storage.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use evbase_core::{Change, Changelist, Fixed, Growable, Storage, What};
use libfuzzer_sys::fuzz_target;

const FIXED: usize = 16;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    /// The loop reports that fd's interest is now this mask.
    Record(u8, u8),
    /// A dispatch: the backend takes the changes.
    Dispatch,
}

/// The expected change after the interests `history` (first: before the
/// batch), or `None` when there is nothing to do.
fn expected(fd: u32, history: &[What]) -> Option<Change> {
    let old = history[0];
    let new = *history.last().unwrap();
    let mut readd = What::empty();
    for w in history.windows(2) {
        readd |= w[1] & !w[0] & old & What::IO;
    }
    readd &= new;
    let c = Change { fd, old, new, readd };
    (c.old != c.new || !c.readd.is_empty()).then_some(c)
}

fn run<S: Storage>(ops: &[Op], limit: usize) {
    let mut cl = Changelist::<S>::new();
    // What the backend has registered, and what the loop wants now.
    let mut kernel: BTreeMap<u32, What> = BTreeMap::new();
    let mut interest: BTreeMap<u32, What> = BTreeMap::new();
    let mut batch: BTreeMap<u32, Vec<What>> = BTreeMap::new();
    for &op in ops {
        match op {
            Op::Record(fd, bits) => {
                let fd = u32::from(fd % 40);
                let old = interest.get(&fd).copied().unwrap_or_default();
                let new = What::from_bits_truncate(bits) & (What::IO | What::ET);
                let had = cl.get(fd).is_some();
                let full = cl.len() >= limit || fd as usize >= limit;
                let r = cl.record(fd, old, new);
                assert_eq!(r.is_err(), !had && old != new && full, "{r:?}");
                if r.is_err() {
                    continue;
                }
                interest.insert(fd, new);
                batch.entry(fd).or_insert_with(|| vec![old]).push(new);
            }
            Op::Dispatch => {
                // Applying the changes brings the kernel to the interest.
                for c in cl.changes() {
                    assert!(!c.is_noop());
                    assert_eq!(kernel.get(&c.fd).copied().unwrap_or_default(), c.old);
                    kernel.insert(c.fd, c.new);
                }
                cl.clear();
                batch.clear();
                assert!(cl.is_empty());
                for (fd, w) in &interest {
                    assert_eq!(kernel.get(fd).copied().unwrap_or_default(), *w);
                }
            }
        }
        let want: BTreeMap<u32, Change> = batch
            .iter()
            .filter_map(|(&fd, h)| expected(fd, h).map(|c| (fd, c)))
            .collect();
        let got: BTreeMap<u32, Change> = cl.changes().iter().map(|c| (c.fd, *c)).collect();
        assert_eq!(got.len(), cl.len());
        assert_eq!(got, want);
        for fd in 0..40 {
            assert_eq!(cl.get(fd), want.get(&fd));
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    run::<Fixed<FIXED>>(&ops, FIXED);
    run::<Growable>(&ops, usize::MAX);
});
