//! Generational slab: event slots addressed by [`EventId`]s that go stale.

use crate::{Buf, Error, Storage};

/// A handle to an event of one base: slot index, the slot's generation
/// when the event was made, and the base's tag. Copy it freely; once the
/// event is freed, or given to another base, every use is
/// [`Error::StaleEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
    pub(crate) base: u32,
}

impl EventId {
    /// The slot index, stable while the event lives (for tables keyed by event).
    pub fn index(self) -> u32 {
        self.index
    }

    /// The id as three words, to keep in foreign memory (the C library
    /// stores it inside libevent's `struct event`).
    pub fn to_raw(self) -> [u32; 3] {
        [self.index, self.generation, self.base]
    }

    /// An id from [`to_raw`](Self::to_raw)'s words. Any words are safe: ids
    /// that name no live event of the base they are used with are
    /// [`Error::StaleEvent`](crate::Error::StaleEvent).
    pub fn from_raw(raw: [u32; 3]) -> Self {
        EventId {
            index: raw[0],
            generation: raw[1],
            base: raw[2],
        }
    }
}

struct Entry<T> {
    generation: u32,
    value: Option<T>,
    next_free: u32,
}

const NIL: u32 = u32::MAX;

/// Slots of `T` with generations and a free list; O(1) insert, remove, get.
pub(crate) struct Slab<T, S: Storage> {
    entries: S::Vec<Entry<T>>,
    free: u32,
    len: usize,
    tag: u32,
}

impl<T, S: Storage> Slab<T, S> {
    pub(crate) fn new(tag: u32) -> Self {
        Slab {
            entries: Default::default(),
            free: NIL,
            len: 0,
            tag,
        }
    }

    pub(crate) fn tag(&self) -> u32 {
        self.tag
    }

    /// One past the highest slot index ever used.
    pub(crate) fn bound(&self) -> u32 {
        self.entries.len() as u32
    }

    /// Live slots.
    pub(crate) fn live(&self) -> usize {
        self.len
    }

    /// Bytes of the slot table as filled now.
    pub(crate) fn table_bytes(&self) -> usize {
        self.entries.len() * core::mem::size_of::<Entry<T>>()
    }

    /// Stores `value`, returning its id, or `Error::Capacity` with nothing changed.
    pub(crate) fn insert(&mut self, value: T) -> Result<EventId, Error> {
        let index = if self.free != NIL {
            let index = self.free;
            let entry = &mut self.entries[index as usize];
            self.free = entry.next_free;
            entry.value = Some(value);
            index
        } else {
            let index = self.entries.len();
            if index >= NIL as usize {
                return Err(Error::capacity(&"event", NIL as usize));
            }
            self.entries.try_push(
                Entry {
                    generation: 0,
                    value: Some(value),
                    next_free: NIL,
                },
                &"event",
            )?;
            index as u32
        };
        self.len += 1;
        let generation = self.entries[index as usize].generation;
        Ok(EventId {
            index,
            generation,
            base: self.tag,
        })
    }

    /// The live id of slot `index`, if it holds a value.
    pub(crate) fn id_of(&self, index: u32) -> Option<EventId> {
        let entry = self.entries.get(index as usize)?;
        entry.value.as_ref()?;
        Some(EventId {
            index,
            generation: entry.generation,
            base: self.tag,
        })
    }

    #[inline]
    pub(crate) fn check(&self, id: EventId) -> Result<u32, Error> {
        match self.entries.get(id.index as usize) {
            Some(e) if e.generation == id.generation && id.base == self.tag && e.value.is_some() => Ok(id.index),
            _ => Err(Error::StaleEvent),
        }
    }

    pub(crate) fn get(&self, id: EventId) -> Result<&T, Error> {
        let index = self.check(id)?;
        Ok(self.at(index))
    }

    /// The value in a slot known to be live, with its id.
    #[inline]
    pub(crate) fn at_with_id(&self, index: u32) -> (&T, EventId) {
        let entry = &self.entries[index as usize];
        let value = entry.value.as_ref().expect("internal tables name only live slots");
        let id = EventId {
            index,
            generation: entry.generation,
            base: self.tag,
        };
        (value, id)
    }

    /// The value in a slot known to be live (an index taken from the base's own tables).
    #[inline]
    pub(crate) fn at(&self, index: u32) -> &T {
        self.entries[index as usize]
            .value
            .as_ref()
            .expect("internal tables name only live slots")
    }

    #[inline]
    pub(crate) fn at_mut(&mut self, index: u32) -> &mut T {
        self.entries[index as usize]
            .value
            .as_mut()
            .expect("internal tables name only live slots")
    }

    /// Frees a live slot; its id and every copy go stale.
    pub(crate) fn remove(&mut self, index: u32) -> T {
        let entry = &mut self.entries[index as usize];
        let value = entry.value.take().expect("removing a live slot");
        entry.generation = entry.generation.wrapping_add(1);
        entry.next_free = self.free;
        self.free = index;
        self.len -= 1;
        value
    }

    /// Takes back the slot `insert` just appended, as if it never was:
    /// true when `index` is the last entry and was never freed (generation
    /// 0), so that no id with its index was ever handed out but the one
    /// being taken back. False, with nothing done, for any other slot.
    pub(crate) fn unpush(&mut self, index: u32) -> bool {
        let last = self.entries.len().checked_sub(1);
        let fresh = last == Some(index as usize)
            && self.entries[index as usize].generation == 0
            && self.entries[index as usize].value.is_some();
        if fresh {
            self.entries.pop();
            self.len -= 1;
        }
        fresh
    }

    /// Live slots in index order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &T)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.value.as_ref().map(|v| (i as u32, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fixed;

    fn stale_ids_are_refused<S: Storage>() {
        let mut slab: Slab<u8, S> = Slab::new(7);
        let a = slab.insert(1).unwrap();
        slab.remove(a.index);
        let b = slab.insert(2).unwrap();
        assert_eq!(a.index, b.index, "the slot is reused");
        assert_eq!(slab.get(a), Err(Error::StaleEvent));
        assert_eq!(slab.get(b), Ok(&2));
        let foreign = EventId { base: 8, ..b };
        assert_eq!(slab.get(foreign), Err(Error::StaleEvent));
        assert_eq!(slab.live(), 1);
    }

    #[test]
    fn stale_fixed() {
        stale_ids_are_refused::<Fixed<4>>();
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn stale_growable() {
        stale_ids_are_refused::<crate::Growable>();
    }

    #[test]
    fn full_fixed_slab_keeps_state() {
        let mut slab: Slab<u8, Fixed<2>> = Slab::new(0);
        slab.insert(1).unwrap();
        slab.insert(2).unwrap();
        assert!(matches!(slab.insert(3), Err(Error::Capacity { .. })));
        assert_eq!(slab.live(), 2);
        assert_eq!(slab.iter().map(|(_, v)| *v).sum::<u8>(), 3);
    }
}
