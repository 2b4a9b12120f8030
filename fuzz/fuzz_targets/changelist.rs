//! The changelist against a model that folds every fd's history of the
//! batch (its interest before the batch, its last interest, the directions
//! added back after a removal) and computes the expected change from it,
//! on fixed and growable storage.
//!
//! Cost: each record is checked on its fd and on the count of changed fds;
//! the whole list is compared at each dispatch (which reads all of it
//! anyway) and at the end. The model is three small arrays: no allocation.
#![no_main]

use arbitrary::Arbitrary;
use evbase_core::{Change, Changelist, Fixed, Growable, Storage, What};
use libfuzzer_sys::fuzz_target;

const FIXED: usize = 16;
const FDS: usize = 40;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    /// The loop reports that fd's interest is now this mask.
    Record(u8, u8),
    /// A dispatch: the backend takes the changes.
    Dispatch,
}

/// One fd's history in the batch.
#[derive(Clone, Copy)]
struct Batch {
    /// The interest before the batch.
    old: What,
    /// The last interest recorded.
    last: What,
    /// Directions of `old` added back after a removal, at any step.
    readd: What,
}

/// The change the changelist must hold for `fd`, or `None` when there is
/// nothing to do.
fn expected(fd: usize, b: Option<Batch>) -> Option<Change> {
    let b = b?;
    let c = Change {
        fd: fd as u32,
        old: b.old,
        new: b.last,
        readd: b.readd & b.last,
    };
    (!c.is_noop()).then_some(c)
}

/// Compares the whole changelist with the model.
fn check_all<S: Storage>(cl: &Changelist<S>, batch: &[Option<Batch>; FDS], count: usize) {
    assert_eq!(cl.len(), count);
    assert_eq!(cl.changes().len(), count);
    for c in cl.changes() {
        assert_eq!(Some(*c), expected(c.fd as usize, batch[c.fd as usize]));
    }
}

fn run<S: Storage>(ops: &[Op], limit: usize) {
    let mut cl = Changelist::<S>::new();
    // What the backend has registered, and what the loop wants now.
    let mut kernel = [What::empty(); FDS];
    let mut interest = [What::empty(); FDS];
    let mut batch: [Option<Batch>; FDS] = [None; FDS];
    // How many fds have an expected change.
    let mut count = 0usize;
    for &op in ops {
        match op {
            Op::Record(fd, bits) => {
                let fd = usize::from(fd) % FDS;
                let old = interest[fd];
                let new = What::from_bits_truncate(bits) & (What::IO | What::ET);
                let had = cl.get(fd as u32).is_some();
                let full = cl.len() >= limit || fd >= limit;
                let r = cl.record(fd as u32, old, new);
                assert_eq!(r.is_err(), !had && old != new && full, "{r:?}");
                if r.is_err() {
                    continue;
                }
                interest[fd] = new;
                let before = expected(fd, batch[fd]).is_some();
                let b = batch[fd].get_or_insert(Batch {
                    old,
                    last: old,
                    readd: What::empty(),
                });
                b.readd |= new & !b.last & b.old & What::IO;
                b.last = new;
                let want = expected(fd, batch[fd]);
                count = count + usize::from(want.is_some()) - usize::from(before);
                assert_eq!(cl.get(fd as u32), want.as_ref());
                assert_eq!(cl.len(), count);
            }
            Op::Dispatch => {
                check_all(&cl, &batch, count);
                // Applying the changes brings the kernel to the interest.
                for c in cl.changes() {
                    assert!(!c.is_noop());
                    assert_eq!(kernel[c.fd as usize], c.old);
                    kernel[c.fd as usize] = c.new;
                }
                cl.clear();
                batch = [None; FDS];
                count = 0;
                assert!(cl.is_empty());
                assert_eq!(kernel, interest);
            }
        }
    }
    check_all(&cl, &batch, count);
    for fd in 0..FDS {
        assert_eq!(cl.get(fd as u32), expected(fd, batch[fd]).as_ref());
    }
}

fuzz_target!(|ops: Vec<Op>| {
    run::<Fixed<FIXED>>(&ops, FIXED);
    run::<Growable>(&ops, usize::MAX);
});
