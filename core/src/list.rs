//! Intrusive doubly-linked lists over `u32` keys, without pointers.
//!
//! libevent threads its queues through `TAILQ_ENTRY` fields inside each
//! `struct event`. Here the links live in a side table, [`KeyLinks`], indexed
//! by key (an event slot index), and a list is just its [`ListHead`]. Many
//! lists can share one `KeyLinks`, as long as a key is in at most one of them
//! at a time. Every operation is O(1) except iteration.
//!
//! Each key's entry can carry a small tag next to its links (which list it
//! is in, say), so the owner reads membership, tag and links from one entry.
//! The tag is meaningful only while the key is linked.

use crate::{Buf, Error, Storage};

/// The end of a list ("no key").
const NIL: u32 = u32::MAX;
/// `prev` of a key that is in no list.
const DETACHED: u32 = u32::MAX - 1;

/// The two ends of one list whose links live in a [`KeyLinks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListHead {
    first: u32,
    last: u32,
}

impl ListHead {
    /// The empty list.
    pub const EMPTY: ListHead = ListHead { first: NIL, last: NIL };

    /// Whether the list has no key.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.first == NIL
    }

    /// The key at the front of the list.
    #[inline]
    pub fn first(&self) -> Option<u32> {
        (self.first != NIL).then_some(self.first)
    }

    /// The key at the back of the list.
    #[inline]
    pub fn last(&self) -> Option<u32> {
        (self.last != NIL).then_some(self.last)
    }
}

impl Default for ListHead {
    fn default() -> Self {
        ListHead::EMPTY
    }
}

/// One key's place in its list, and its tag.
#[derive(Clone, Copy, Debug)]
struct Link<T> {
    /// The previous key, [`NIL`] at the front, [`DETACHED`] when in no list.
    prev: u32,
    /// The next key, [`NIL`] at the back.
    next: u32,
    tag: T,
}

/// The links of every key, for lists headed by [`ListHead`]s.
///
/// Keys must be below `u32::MAX - 1`. The table covers the keys given to
/// [`reserve_key`](KeyLinks::reserve_key); linking a key it does not cover
/// panics, so the owner reserves a key when it hands the key out (when an
/// event slot is allocated) and linking can never fail afterwards.
pub struct KeyLinks<S: Storage, T: Copy + Default = ()> {
    links: S::Vec<Link<T>>,
}

impl<S: Storage, T: Copy + Default> Default for KeyLinks<S, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Storage, T: Copy + Default> core::fmt::Debug for KeyLinks<S, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyLinks").field("keys", &self.links.len()).finish()
    }
}

impl<S: Storage, T: Copy + Default> KeyLinks<S, T> {
    /// A table covering no key.
    pub fn new() -> Self {
        KeyLinks {
            links: Default::default(),
        }
    }

    /// Makes the table cover `key` (and every smaller key).
    ///
    /// # Errors
    /// [`Error::Capacity`] when a fixed table cannot reach `key`; the table
    /// is unchanged then.
    pub fn reserve_key(&mut self, key: u32) -> Result<(), Error> {
        debug_assert!(key < DETACHED, "KeyLinks: keys must be below u32::MAX - 1");
        let len = key as usize + 1;
        if len > self.links.len() {
            self.links.try_grow_to(len, &"list links", || Link {
                prev: DETACHED,
                next: NIL,
                tag: T::default(),
            })?;
        }
        Ok(())
    }

    /// Stops covering keys `len` and above, which must be in no list
    /// (a failed call giving back what it reserved).
    pub(crate) fn truncate_keys(&mut self, len: usize) {
        debug_assert!(
            self.links
                .get(len..)
                .is_none_or(|l| l.iter().all(|l| l.prev == DETACHED)),
            "KeyLinks::truncate_keys: a key at or above {len} is linked"
        );
        self.links.truncate(len);
    }

    /// Bytes of the link table (for [`EventBase::memory`](crate::EventBase::memory)).
    pub(crate) fn table_bytes(&self) -> usize {
        self.links.len() * core::mem::size_of::<Link<T>>()
    }

    /// Whether `key` is linked into some list.
    #[inline]
    pub fn contains(&self, key: u32) -> bool {
        self.links.get(key as usize).is_some_and(|l| l.prev != DETACHED)
    }

    /// The key after `key` in its list (`None` at the back or when detached).
    #[inline]
    pub fn next(&self, key: u32) -> Option<u32> {
        let l = self.links.get(key as usize)?;
        (l.prev != DETACHED && l.next != NIL).then_some(l.next)
    }

    /// The tag of `key` if it is linked into some list (one lookup for both).
    #[inline]
    pub fn tag(&self, key: u32) -> Option<T> {
        self.links
            .get(key as usize)
            .and_then(|l| (l.prev != DETACHED).then_some(l.tag))
    }

    /// Appends `key`, which must be in no list, to the back of `head`.
    ///
    /// # Panics
    /// If `key` was not reserved with [`reserve_key`](KeyLinks::reserve_key).
    #[inline]
    pub fn push_back(&mut self, head: &mut ListHead, key: u32) {
        self.push_back_tagged(head, key, T::default());
    }

    /// [`push_back`](Self::push_back) with `tag` stored in the same entry.
    ///
    /// # Panics
    /// If `key` was not reserved with [`reserve_key`](KeyLinks::reserve_key).
    #[inline]
    pub fn push_back_tagged(&mut self, head: &mut ListHead, key: u32, tag: T) {
        debug_assert!(!self.contains(key), "KeyLinks::push_back: key {key} is already linked");
        self.links[key as usize] = Link {
            prev: head.last,
            next: NIL,
            tag,
        };
        if head.last == NIL {
            head.first = key;
        } else {
            self.links[head.last as usize].next = key;
        }
        head.last = key;
    }

    /// Prepends `key`, which must be in no list, to the front of `head`.
    ///
    /// # Panics
    /// If `key` was not reserved with [`reserve_key`](KeyLinks::reserve_key).
    #[inline]
    pub fn push_front(&mut self, head: &mut ListHead, key: u32) {
        debug_assert!(!self.contains(key), "KeyLinks::push_front: key {key} is already linked");
        self.links[key as usize] = Link {
            prev: NIL,
            next: head.first,
            tag: T::default(),
        };
        if head.first == NIL {
            head.last = key;
        } else {
            self.links[head.first as usize].prev = key;
        }
        head.first = key;
    }

    /// Unlinks `key` from `head`, the list it is in. Does nothing if `key`
    /// is in no list.
    #[inline]
    pub fn remove(&mut self, head: &mut ListHead, key: u32) {
        let Some(&Link { prev, next, .. }) = self.links.get(key as usize) else {
            return;
        };
        if prev == DETACHED {
            return;
        }
        if prev == NIL {
            debug_assert_eq!(head.first, key, "KeyLinks::remove: key {key} is not in this list");
            head.first = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next == NIL {
            debug_assert_eq!(head.last, key, "KeyLinks::remove: key {key} is not in this list");
            head.last = prev;
        } else {
            self.links[next as usize].prev = prev;
        }
        self.links[key as usize].prev = DETACHED;
    }

    /// Unlinks and returns the front key of `head`.
    #[inline]
    pub fn pop_front(&mut self, head: &mut ListHead) -> Option<u32> {
        let key = head.first()?;
        let next = self.links[key as usize].next;
        head.first = next;
        if next == NIL {
            head.last = NIL;
        } else {
            self.links[next as usize].prev = NIL;
        }
        self.links[key as usize].prev = DETACHED;
        Some(key)
    }

    /// The keys of `head`, front to back.
    pub fn iter<'a>(&'a self, head: &ListHead) -> impl Iterator<Item = u32> + 'a {
        let mut at = head.first;
        core::iter::from_fn(move || {
            if at == NIL {
                return None;
            }
            let key = at;
            at = self.links[key as usize].next;
            Some(key)
        })
    }

    /// Checks that `head` is a well-formed list (tests).
    #[cfg(test)]
    pub(crate) fn check(&self, head: &ListHead) -> usize {
        let mut prev = NIL;
        let mut n = 0;
        let mut at = head.first;
        while at != NIL {
            let l = self.links[at as usize];
            assert_eq!(l.prev, prev, "back link of {at}");
            prev = at;
            at = l.next;
            n += 1;
            assert!(n <= self.links.len(), "cycle");
        }
        assert_eq!(head.last, prev, "last of list");
        n
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
    use std::collections::VecDeque;
    use std::vec::Vec;

    #[test]
    fn head_defaults_to_empty() {
        assert_eq!(ListHead::default(), ListHead::EMPTY);
        assert!(ListHead::EMPTY.is_empty());
        assert_eq!(ListHead::EMPTY.first(), None);
        assert_eq!(ListHead::EMPTY.last(), None);
    }

    fn basics<S: Storage>() {
        let mut links = KeyLinks::<S>::new();
        let mut a = ListHead::EMPTY;
        let mut b = ListHead::EMPTY;
        assert!(!links.contains(3));
        for k in 0..6 {
            links.reserve_key(k).unwrap();
        }
        links.push_back(&mut a, 1);
        links.push_back(&mut a, 2);
        links.push_front(&mut a, 0);
        links.push_back(&mut b, 5);
        assert_eq!(links.iter(&a).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(links.iter(&b).collect::<Vec<_>>(), [5]);
        assert_eq!(links.next(0), Some(1));
        assert_eq!(links.next(2), None);
        assert_eq!(links.next(3), None);
        assert!(links.contains(5) && !links.contains(3) && !links.contains(99));
        links.remove(&mut a, 1);
        links.remove(&mut a, 1);
        links.remove(&mut a, 77);
        assert_eq!(links.iter(&a).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(links.pop_front(&mut a), Some(0));
        assert_eq!(links.pop_front(&mut a), Some(2));
        assert_eq!(links.pop_front(&mut a), None);
        assert!(a.is_empty());
        links.push_back(&mut a, 2);
        assert_eq!((a.first(), a.last()), (Some(2), Some(2)));
        links.check(&a);
        links.check(&b);
    }

    /// Tags live with the links: readable while linked, `None` once unlinked.
    fn tags<S: Storage>() {
        let mut links = KeyLinks::<S, u16>::new();
        let mut a = ListHead::EMPTY;
        links.reserve_key(3).unwrap();
        assert_eq!(links.tag(0), None);
        links.push_back_tagged(&mut a, 0, 7);
        links.push_back_tagged(&mut a, 2, 9);
        links.push_back(&mut a, 1);
        assert_eq!(
            (links.tag(0), links.tag(2), links.tag(1), links.tag(3)),
            (Some(7), Some(9), Some(0), None)
        );
        assert_eq!(links.tag(99), None);
        links.remove(&mut a, 2);
        assert_eq!(links.tag(2), None);
        assert_eq!(links.pop_front(&mut a), Some(0));
        assert_eq!(links.tag(0), None);
        assert_eq!(links.iter(&a).collect::<Vec<_>>(), [1]);
        links.check(&a);
    }

    #[test]
    fn tags_fixed() {
        tags::<Fixed<4>>();
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn tags_growable() {
        tags::<Growable>();
    }

    #[test]
    fn basics_fixed() {
        basics::<Fixed<8>>();
        let mut links = KeyLinks::<Fixed<8>>::new();
        assert!(matches!(links.reserve_key(8), Err(Error::Capacity { .. })));
        assert!(!links.contains(0));
        links.reserve_key(7).unwrap();
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn basics_growable() {
        basics::<Growable>();
    }

    #[derive(Debug, Clone)]
    enum Op {
        PushBack(usize, u32),
        PushFront(usize, u32),
        Remove(u32),
        PopFront(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0usize..3, 0u32..20).prop_map(|(l, k)| Op::PushBack(l, k)),
            (0usize..3, 0u32..20).prop_map(|(l, k)| Op::PushFront(l, k)),
            (0u32..20).prop_map(Op::Remove),
            (0usize..3).prop_map(Op::PopFront),
        ]
    }

    /// Three lists sharing one table, against three `VecDeque`s.
    fn against_model<S: Storage>(ops: &[Op]) {
        let mut links = KeyLinks::<S>::new();
        links.reserve_key(19).unwrap();
        let mut heads = [ListHead::EMPTY; 3];
        let mut model: [VecDeque<u32>; 3] = Default::default();
        let owner = |model: &[VecDeque<u32>; 3], k: u32| model.iter().position(|q| q.contains(&k));
        for op in ops {
            match *op {
                Op::PushBack(l, k) | Op::PushFront(l, k) if owner(&model, k).is_some() => {
                    let _ = l;
                }
                Op::PushBack(l, k) => {
                    links.push_back(&mut heads[l], k);
                    model[l].push_back(k);
                }
                Op::PushFront(l, k) => {
                    links.push_front(&mut heads[l], k);
                    model[l].push_front(k);
                }
                Op::Remove(k) => {
                    if let Some(l) = owner(&model, k) {
                        links.remove(&mut heads[l], k);
                        model[l].retain(|&x| x != k);
                    }
                }
                Op::PopFront(l) => assert_eq!(links.pop_front(&mut heads[l]), model[l].pop_front()),
            }
            for l in 0..3 {
                assert_eq!(links.check(&heads[l]), model[l].len());
                assert_eq!(links.iter(&heads[l]).collect::<Vec<_>>(), Vec::from(model[l].clone()));
                assert_eq!(heads[l].first(), model[l].front().copied());
                assert_eq!(heads[l].last(), model[l].back().copied());
            }
            for k in 0..20 {
                assert_eq!(links.contains(k), owner(&model, k).is_some());
                let want = owner(&model, k).and_then(|l| {
                    let i = model[l].iter().position(|&x| x == k).unwrap();
                    model[l].get(i + 1).copied()
                });
                assert_eq!(links.next(k), want);
            }
        }
    }

    proptest! {
        #![proptest_config(proptest_config())]
        #[test]
        fn fixed_matches_model(ops in proptest::collection::vec(op(), 0..max_ops(150))) {
            against_model::<Fixed<20>>(&ops);
        }
    }

    #[cfg(feature = "alloc")]
    proptest! {
        #![proptest_config(proptest_config())]
        #[test]
        fn growable_matches_model(ops in proptest::collection::vec(op(), 0..max_ops(150))) {
            against_model::<Growable>(&ops);
        }
    }
}
