//! Where the core keeps its arrays: fixed capacity (no allocator) or growable.
//!
//! Every table of a base (event slots, the timer heap, the fd map, the active
//! queues, the changelist) is a `S::Vec<T>` for one `S: Storage`. With
//! [`Fixed<N>`] each holds at most `N` entries and a full table is
//! [`Error::Capacity`] with nothing changed; with [`Growable`] (feature
//! `alloc`) tables grow and never shrink on the hot path.

use core::ops::{Deref, DerefMut};

use crate::{Error, ListHead, Text};

/// A family of vectors: the storage flavour of a base.
pub trait Storage: 'static {
    /// The vector type of this flavour.
    type Vec<T>: Buf<T>;
    /// The vector of prepare and check watchers (`watch.rs`), apart from
    /// the event tables so that a fixed base sizes it alone.
    type Watchers<T>: Buf<T>;
    /// How many watchers `Watchers` holds at most: at 0 the loop's watcher
    /// hooks compile away.
    const MAX_WATCHERS: usize;
    /// The heads of the per-priority active queues: one per priority the
    /// base may use.
    type Heads: QueueHeads;
    /// A short name for messages (`"fixed"`, `"growable"`).
    const NAME: &'static str;
}

/// An inline array of active-queue heads, one per priority. Its length is
/// the most priorities a base can have (`priority_init` refuses more with
/// [`Error::Capacity`]); at 256 no index needs a bounds check.
pub trait QueueHeads: AsRef<[ListHead]> + AsMut<[ListHead]> + 'static {
    /// Every queue empty.
    fn empty() -> Self;
}

impl<const P: usize> QueueHeads for [ListHead; P] {
    fn empty() -> Self {
        const { assert!(P >= 1 && P <= 256, "a base has 1 to 256 priority queues") };
        [ListHead::EMPTY; P]
    }
}

/// The operations the core needs from a vector. Every fallible one leaves
/// the vector unchanged when it fails.
pub trait Buf<T>: Default + Deref<Target = [T]> + DerefMut {
    /// Appends `value`, or returns [`Error::Capacity`] naming `what`.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a fixed vector is full.
    fn try_push(&mut self, value: T, what: Text) -> Result<(), Error>;
    /// Makes room for `additional` more elements without failing later.
    ///
    /// # Errors
    /// [`Error::Capacity`] when that many do not fit.
    fn try_reserve(&mut self, additional: usize, what: Text) -> Result<(), Error>;
    /// Removes and returns the last element.
    fn pop(&mut self) -> Option<T>;
    /// Removes element `index`, moving the last element into its place.
    fn swap_remove(&mut self, index: usize) -> T;
    /// Shortens the vector to `len` elements.
    fn truncate(&mut self, len: usize);
    /// The most elements this vector can ever hold (`usize::MAX` if growable).
    fn limit(&self) -> usize;

    /// Removes every element.
    fn clear(&mut self) {
        self.truncate(0);
    }

    /// Grows the vector to `len` elements made by `fill`.
    ///
    /// # Errors
    /// [`Error::Capacity`] when `len` does not fit; nothing is added then.
    fn try_grow_to(&mut self, len: usize, what: Text, mut fill: impl FnMut() -> T) -> Result<(), Error> {
        if len > self.len() {
            self.try_reserve(len - self.len(), what)?;
            while self.len() < len {
                self.try_push(fill(), what)?;
            }
        }
        Ok(())
    }
}

/// Fixed capacity of `N` entries per table, on `heapless::Vec`: no
/// allocator. `P` (1 to 256, default 256 as libevent's maximum) is how many
/// priorities a base may use: each costs an 8-byte queue head inside the
/// base, so a small firmware base takes `Fixed<16, 4>` and saves 2 KB.
/// `W` (default 0) is how many prepare and check watchers it may have
/// ([`EventBase::new_prepare`](crate::EventBase::new_prepare)): each takes
/// its entry inside the base, so a base that uses none pays nothing but a
/// length word.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fixed<const N: usize, const P: usize = 256, const W: usize = 0>;

impl<const N: usize, const P: usize, const W: usize> Storage for Fixed<N, P, W> {
    type Vec<T> = heapless::Vec<T, N>;
    type Watchers<T> = heapless::Vec<T, W>;
    const MAX_WATCHERS: usize = W;
    type Heads = [ListHead; P];
    const NAME: &'static str = "fixed";
}

impl<T, const N: usize> Buf<T> for heapless::Vec<T, N> {
    fn try_push(&mut self, value: T, what: Text) -> Result<(), Error> {
        self.push(value).map_err(|_| Error::capacity(what, N))
    }
    fn try_reserve(&mut self, additional: usize, what: Text) -> Result<(), Error> {
        if self.len().saturating_add(additional) > N {
            return Err(Error::capacity(what, N));
        }
        Ok(())
    }
    fn pop(&mut self) -> Option<T> {
        heapless::Vec::pop(self)
    }
    fn swap_remove(&mut self, index: usize) -> T {
        heapless::Vec::swap_remove(self, index)
    }
    fn truncate(&mut self, len: usize) {
        heapless::Vec::truncate(self, len);
    }
    fn limit(&self) -> usize {
        N
    }
}

/// Growable tables on `alloc::vec::Vec` (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, Copy, Default)]
pub struct Growable;

#[cfg(feature = "alloc")]
impl Storage for Growable {
    type Vec<T> = alloc::vec::Vec<T>;
    type Watchers<T> = alloc::vec::Vec<T>;
    const MAX_WATCHERS: usize = usize::MAX;
    type Heads = [ListHead; 256];
    const NAME: &'static str = "growable";
}

#[cfg(feature = "alloc")]
impl<T> Buf<T> for alloc::vec::Vec<T> {
    fn try_push(&mut self, value: T, what: Text) -> Result<(), Error> {
        if self.len() == self.capacity() {
            Buf::try_reserve(self, 1, what)?;
        }
        self.push(value);
        Ok(())
    }
    fn try_reserve(&mut self, additional: usize, what: Text) -> Result<(), Error> {
        alloc::vec::Vec::try_reserve(self, additional).map_err(|_| Error::capacity(what, self.capacity()))
    }
    fn pop(&mut self) -> Option<T> {
        alloc::vec::Vec::pop(self)
    }
    fn swap_remove(&mut self, index: usize) -> T {
        alloc::vec::Vec::swap_remove(self, index)
    }
    fn truncate(&mut self, len: usize) {
        alloc::vec::Vec::truncate(self, len);
    }
    fn limit(&self) -> usize {
        usize::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill_until_full<S: Storage>() -> usize {
        let mut v: S::Vec<u32> = Default::default();
        for i in 0..100u32 {
            if v.try_push(i, &"test").is_err() {
                assert_eq!(v.len(), i as usize, "a failed push changed nothing");
                return v.len();
            }
        }
        v.len()
    }

    #[test]
    fn fixed_reports_capacity_and_keeps_state() {
        assert_eq!(fill_until_full::<Fixed<7>>(), 7);
        let mut v: heapless::Vec<u8, 2> = Default::default();
        assert!(Buf::try_reserve(&mut v, 3, &"x").is_err());
        assert_eq!(
            v.try_grow_to(3, &"x", || 0),
            Err(Error::Capacity { what: &"x", limit: 2 })
        );
        assert!(v.is_empty());
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn growable_grows() {
        assert_eq!(fill_until_full::<Growable>(), 100);
    }
}
