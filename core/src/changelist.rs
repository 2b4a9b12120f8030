//! The changelist (libevent's `changelist-internal.h`): interest changes
//! batched per fd until the next dispatch.
//!
//! Between two dispatches the loop reports every change of an fd's
//! aggregate interest with [`Changelist::record`]. The changelist keeps one
//! [`Change`] per fd: the interest before the first change of the batch, the
//! interest after the last, and the directions that were dropped and taken
//! again (which the backend must re-register even though they look
//! unchanged, because the fd may have been closed and reopened meanwhile).
//! A change that comes back to where it started with nothing re-added (an
//! add then a delete) is dropped at once, so [`Changelist::changes`] is
//! exactly the work for the backend. At dispatch the backend applies the
//! changes and calls [`Changelist::clear`], which costs O(changes).

use crate::{Buf, Error, Storage, What};

/// "No pending change" in the fd index table.
const NO_CHANGE: u32 = u32::MAX;

/// The pending interest change of one fd since the last dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The fd.
    pub fd: u32,
    /// The fd's interest (`READ|WRITE|CLOSED`, with `ET` when the fd is
    /// edge-triggered) before the first change of the batch: what the
    /// backend has registered.
    pub old: What,
    /// The fd's interest after the last change of the batch: what the
    /// backend must register.
    pub new: What,
    /// Directions in both `old` and `new` that were removed and added again
    /// during the batch: register them again even though they look
    /// unchanged.
    pub readd: What,
}

impl Change {
    /// Whether the change asks nothing of the backend: the interest is
    /// where it started and nothing was re-added.
    #[inline]
    pub fn is_noop(&self) -> bool {
        self.old == self.new && self.readd.is_empty()
    }
}

/// The pending changes of every fd since the last dispatch.
pub struct Changelist<S: Storage> {
    /// The effective changes, in the order their fds first changed (removals
    /// of no-op changes move the last one into the gap).
    changes: S::Vec<Change>,
    /// `index[fd]` is the position of fd's change in `changes`, or
    /// [`NO_CHANGE`]. Grows with the largest fd seen.
    index: S::Vec<u32>,
}

impl<S: Storage> Default for Changelist<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Storage> core::fmt::Debug for Changelist<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.changes.iter()).finish()
    }
}

impl<S: Storage> Changelist<S> {
    /// An empty changelist.
    pub fn new() -> Self {
        Changelist {
            changes: Default::default(),
            index: Default::default(),
        }
    }

    /// Records that the aggregate interest of `fd` went from `old` to `new`.
    /// Merges with the fd's pending change: the first `old` is kept, `new`
    /// replaces the last one, and a direction of the first `old` that is
    /// added back after a removal is marked for re-adding.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a fixed changelist or its fd table is full;
    /// nothing changes then.
    pub fn record(&mut self, fd: u32, old: What, new: What) -> Result<(), Error> {
        debug_assert!(fd != NO_CHANGE, "Changelist: fd u32::MAX is reserved");
        let i = self.index.get(fd as usize).copied().unwrap_or(NO_CHANGE);
        if i == NO_CHANGE {
            let change = Change {
                fd,
                old,
                new,
                readd: What::empty(),
            };
            if change.is_noop() {
                return Ok(());
            }
            self.changes.try_reserve(1, &"changelist")?;
            if fd as usize >= self.index.len() {
                self.index
                    .try_grow_to(fd as usize + 1, &"changelist fds", || NO_CHANGE)?;
            }
            self.index[fd as usize] = self.changes.len() as u32;
            // Cannot fail: reserved above.
            return self.changes.try_push(change, &"changelist");
        }
        let i = i as usize;
        let c = &mut self.changes[i];
        debug_assert_eq!(
            c.new & What::IO,
            old & What::IO,
            "Changelist::record: fd {fd} was not at {old:?}"
        );
        let added = new & !c.new & What::IO;
        c.readd = (c.readd | (added & c.old)) & new & What::IO;
        c.new = new;
        if c.is_noop() {
            self.index[fd as usize] = NO_CHANGE;
            self.changes.swap_remove(i);
            if let Some(moved) = self.changes.get(i) {
                self.index[moved.fd as usize] = i as u32;
            }
        }
        Ok(())
    }

    /// Makes room for `additional` more changed fds and for fds up to
    /// `max_fd`, so that recording them cannot fail.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a fixed changelist cannot hold that many.
    pub fn reserve(&mut self, additional: usize, max_fd: u32) -> Result<(), Error> {
        self.changes.try_reserve(additional, &"changelist")?;
        if max_fd as usize >= self.index.len() {
            self.index
                .try_grow_to(max_fd as usize + 1, &"changelist fds", || NO_CHANGE)?;
        }
        Ok(())
    }

    /// How many fds have an effective change.
    #[inline]
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Whether no fd has an effective change.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The effective changes (none is a no-op), one per fd, in no
    /// particular order.
    #[inline]
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The pending change of `fd`, if any.
    #[inline]
    pub fn get(&self, fd: u32) -> Option<&Change> {
        let &i = self.index.get(fd as usize)?;
        self.changes.get(i as usize)
    }

    /// Forgets every change (after the backend applied them), in
    /// O(changes).
    pub fn clear(&mut self) {
        for c in self.changes.iter() {
            self.index[c.fd as usize] = NO_CHANGE;
        }
        self.changes.clear();
    }

    /// Checks the index table against the changes (tests).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        for (i, c) in self.changes.iter().enumerate() {
            assert_eq!(self.index[c.fd as usize], i as u32);
            assert!(!c.is_noop());
            assert!(c.readd & !(c.old & c.new & What::IO) == What::empty());
        }
        assert_eq!(
            self.index.iter().filter(|&&i| i != NO_CHANGE).count(),
            self.changes.len()
        );
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
    use std::collections::BTreeMap;
    use std::vec::Vec;

    const R: What = What::READ;
    const W: What = What::WRITE;
    const NONE: What = What::empty();

    fn basics<S: Storage>() {
        let mut cl = Changelist::<S>::new();
        // Add then delete in one batch: nothing.
        cl.record(3, NONE, R).unwrap();
        assert_eq!(
            cl.changes(),
            &[Change {
                fd: 3,
                old: NONE,
                new: R,
                readd: NONE
            }]
        );
        cl.record(3, R, NONE).unwrap();
        assert!(cl.is_empty());
        // Delete then add of a registered direction: re-add it.
        cl.record(5, R | W, W).unwrap();
        cl.record(5, W, R | W).unwrap();
        assert_eq!(
            cl.get(5),
            Some(&Change {
                fd: 5,
                old: R | W,
                new: R | W,
                readd: R
            })
        );
        // ... and delete it again: a plain delete.
        cl.record(5, R | W, W).unwrap();
        assert_eq!(
            cl.get(5),
            Some(&Change {
                fd: 5,
                old: R | W,
                new: W,
                readd: NONE
            })
        );
        cl.record(1, NONE, W | What::ET).unwrap();
        cl.record(5, W, R | W).unwrap();
        assert_eq!(cl.len(), 2);
        cl.check();
        cl.clear();
        assert!(cl.is_empty() && cl.get(5).is_none());
        cl.check();
        // A no-op report records nothing.
        cl.record(2, R, R).unwrap();
        assert!(cl.is_empty());
    }

    #[test]
    fn basics_fixed() {
        basics::<Fixed<8>>();
        let mut cl = Changelist::<Fixed<2>>::new();
        assert!(matches!(cl.record(2, NONE, R), Err(Error::Capacity { .. })));
        assert!(cl.is_empty());
        cl.record(0, NONE, R).unwrap();
        cl.record(1, NONE, R).unwrap();
        assert!(cl.reserve(1, 0).is_err());
        cl.check();
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn basics_growable() {
        basics::<Growable>();
    }

    fn what(bits: u8) -> What {
        What::from_bits_truncate(bits) & (What::IO | What::ET)
    }

    /// Model: per fd, the list of masks reported in the batch; the expected
    /// change is computed from the whole history.
    fn expected(history: &[What]) -> Option<Change> {
        let old = history[0];
        let new = *history.last().unwrap();
        let mut readd = NONE;
        for w in history.windows(2) {
            for d in [What::READ, What::WRITE, What::CLOSED] {
                if !w[0].contains(d) && w[1].contains(d) && old.contains(d) {
                    readd |= d;
                }
            }
        }
        // Only what is still wanted now needs re-adding.
        readd &= new;
        let c = Change { fd: 0, old, new, readd };
        (!c.is_noop()).then_some(c)
    }

    fn against_model<S: Storage>(batches: &[Vec<(u32, u8)>], limit: usize) {
        let mut cl = Changelist::<S>::new();
        // The current interest of every fd, as the loop would know it.
        let mut interest: BTreeMap<u32, What> = BTreeMap::new();
        for batch in batches {
            let mut model: BTreeMap<u32, Vec<What>> = BTreeMap::new();
            for &(fd, bits) in batch {
                let old = interest.get(&fd).copied().unwrap_or(NONE);
                let new = what(bits);
                let had = cl.get(fd).is_some();
                let full = cl.len() >= limit || fd as usize >= limit;
                let r = cl.record(fd, old, new);
                // Only a new, effective change can fail, and only when full.
                assert_eq!(r.is_err(), !had && old != new && full, "{r:?}");
                if r.is_err() {
                    continue;
                }
                let mut h = model.get(&fd).cloned().unwrap_or_else(|| vec![old]);
                h.push(new);
                interest.insert(fd, new);
                model.insert(fd, h);
                cl.check();
                let want: BTreeMap<u32, Change> = model
                    .iter()
                    .filter_map(|(&fd, h)| expected(h).map(|c| (fd, Change { fd, ..c })))
                    .collect();
                let got: BTreeMap<u32, Change> = cl.changes().iter().map(|c| (c.fd, *c)).collect();
                assert_eq!(got, want);
                assert_eq!(cl.len(), want.len());
            }
            cl.clear();
            cl.check();
            assert!(cl.is_empty());
        }
    }

    fn batches() -> impl Strategy<Value = Vec<Vec<(u32, u8)>>> {
        let rec = (
            0u32..12,
            prop_oneof![Just(0x02u8), Just(0x04), Just(0x06), Just(0), Just(0x80), any::<u8>()],
        );
        proptest::collection::vec(proptest::collection::vec(rec, 0..max_ops(40)), 0..6)
    }

    proptest! {
        #![proptest_config(proptest_config())]
        #[test]
        fn fixed_matches_model(b in batches()) {
            against_model::<Fixed<8>>(&b, 8);
        }
    }

    #[cfg(feature = "alloc")]
    proptest! {
        #![proptest_config(proptest_config())]
        #[test]
        fn growable_matches_model(b in batches()) {
            against_model::<Growable>(&b, usize::MAX);
        }
    }
}
