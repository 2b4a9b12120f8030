//! The event table: one [`Record`] per event, addressed by [`EventId`]s
//! that go stale, with a free list threaded through vacant records.
//!
//! The timer heap and the active queues keep their per-event state (heap
//! position, queue links) in these records, through [`HeapSlots`] and
//! [`QueueLinks`]: one bounds check and one cache line per event.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;
use core::mem;

#[cfg(feature = "alloc")]
use crate::BoxedCallback;
use crate::event::{Kind, NIL, Record, nop, state};
use crate::heap::HeapSlots;
use crate::queues::QueueLinks;
use crate::{Buf, Error, Platform, Source, Storage, What};

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
            // Live generations are odd: an even one (never handed out)
            // must not match a vacant record.
            generation: raw[1] | 1,
            base: raw[2],
        }
    }
}

/// The most records a table holds (its indices are timer-heap keys).
const MAX_RECORDS: usize = 1 << 31;

/// The records of a base; O(1) insert, remove, check.
pub(crate) struct Table<P: Platform, S: Storage> {
    records: S::Vec<Record<P, S>>,
    /// The first vacant record, `NIL` if none.
    free: u32,
    live: usize,
    tag: u32,
    /// The closures of `KIND_BOXED` records, by index (they need the
    /// allocator anyway; plain callbacks never touch this).
    #[cfg(feature = "alloc")]
    closures: Vec<Option<BoxedCallback<P, S>>>,
}

impl<P: Platform, S: Storage> Table<P, S> {
    pub(crate) fn new(tag: u32) -> Self {
        Table {
            records: Default::default(),
            free: NIL,
            live: 0,
            tag,
            #[cfg(feature = "alloc")]
            closures: Vec::new(),
        }
    }

    pub(crate) fn tag(&self) -> u32 {
        self.tag
    }

    /// One past the highest index ever used.
    pub(crate) fn bound(&self) -> u32 {
        self.records.len() as u32
    }

    /// Live records.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Bytes of the table and the closure slots as filled now.
    pub(crate) fn table_bytes(&self) -> usize {
        #[cfg(feature = "alloc")]
        let closures = self.closures.len() * mem::size_of::<Option<BoxedCallback<P, S>>>();
        #[cfg(not(feature = "alloc"))]
        let closures = 0;
        self.records.len() * mem::size_of::<Record<P, S>>() + closures
    }

    /// A new live record for an event on `source` watching `events`, with
    /// `callback`, at `priority`; its id, or [`Error::Capacity`] with
    /// nothing changed.
    pub(crate) fn insert(
        &mut self,
        source: Source,
        events: What,
        priority: u8,
        callback: Kind<P, S>,
    ) -> Result<EventId, Error> {
        let index = if self.free != NIL {
            self.free
        } else {
            let index = self.records.len();
            // Indices are heap keys, which are below 2^31.
            if index >= MAX_RECORDS {
                return Err(Error::capacity(&"event", MAX_RECORDS));
            }
            #[cfg(feature = "alloc")]
            if matches!(callback, Kind::Boxed(_)) && self.closures.len() <= index {
                self.reserve_closure(index)?;
            }
            self.records.try_push(
                Record {
                    f: nop,
                    word: 0,
                    generation: 0,
                    source: NIL,
                    next: NIL,
                    heap: NIL,
                    qnext: NIL,
                    qprev: NIL,
                    events: What::empty(),
                    res: What::empty(),
                    priority: 0,
                    common: 0,
                    state: 0,
                    ncalls: 0,
                },
                &"event",
            )?;
            index as u32
        };
        #[cfg(feature = "alloc")]
        if matches!(callback, Kind::Boxed(_)) {
            self.reserve_closure(index as usize)?;
        }
        let r = &mut self.records[index as usize];
        if index == self.free {
            self.free = r.source;
        }
        r.generation = r.generation.wrapping_add(1);
        let generation = r.generation;
        self.live += 1;
        self.reset(index, source, events, priority, callback);
        Ok(EventId {
            index,
            generation,
            base: self.tag,
        })
    }

    #[cfg(feature = "alloc")]
    fn reserve_closure(&mut self, index: usize) -> Result<(), Error> {
        if self.closures.len() <= index {
            let more = index + 1 - self.closures.len();
            self.closures
                .try_reserve(more)
                .map_err(|_| Error::capacity(&"closures", self.closures.capacity()))?;
            self.closures.resize_with(index + 1, || None);
        }
        Ok(())
    }

    /// Gives live record `key` a new event: not pending, not queued.
    /// A closure callback must have room (`reserve_closure`).
    pub(crate) fn reset(&mut self, key: u32, source: Source, events: What, priority: u8, callback: Kind<P, S>) {
        let (number, mut kind) = match source {
            Source::None => (0, 0),
            Source::Fd(fd) => (fd, state::FD),
            Source::Signal(sig) => (sig, state::SIG),
        };
        if events.intersects(What::IO | What::SIGNAL) {
            kind |= state::MAP;
        }
        let r = &mut self.records[key as usize];
        r.source = number;
        r.next = NIL;
        r.heap = NIL;
        r.events = events;
        r.res = What::empty();
        r.priority = priority;
        r.common = 0;
        r.state = kind;
        r.ncalls = 0;
        self.set_callback(key, callback);
    }

    /// Frees live record `key`: its id and every copy go stale, its
    /// closure is dropped.
    pub(crate) fn remove(&mut self, key: u32) {
        drop(self.take_callback(key));
        let r = &mut self.records[key as usize];
        r.generation = r.generation.wrapping_add(1);
        r.state = state::KIND_EMPTY;
        r.source = self.free;
        self.free = key;
        self.live -= 1;
    }

    /// Takes back the record `insert` just appended, as if it never was:
    /// true when `index` is the last record and was never freed (generation
    /// 1), so that no id with its index was ever handed out but the one
    /// being taken back. False, with nothing done, for any other record.
    pub(crate) fn unpush(&mut self, index: u32) -> bool {
        let last = self.records.len().checked_sub(1);
        if last != Some(index as usize) || self.records[index as usize].generation != 1 {
            return false;
        }
        drop(self.take_callback(index));
        self.records.pop();
        self.live -= 1;
        #[cfg(feature = "alloc")]
        self.closures.truncate(index as usize);
        true
    }

    /// The index of `id` if it names a live record of this table.
    #[inline(always)]
    pub(crate) fn check(&self, id: EventId) -> Result<u32, Error> {
        match self.records.get(id.index as usize) {
            // Ids carry odd generations (from_raw makes them so); vacant
            // records have even ones.
            Some(r) if r.generation == id.generation && id.base == self.tag => Ok(id.index),
            _ => Err(Error::StaleEvent),
        }
    }

    pub(crate) fn get(&self, id: EventId) -> Result<&Record<P, S>, Error> {
        let key = self.check(id)?;
        Ok(&self.records[key as usize])
    }

    /// The live id of record `index`, if it is live.
    pub(crate) fn id_of(&self, index: u32) -> Option<EventId> {
        let r = self.records.get(index as usize)?;
        (r.generation & 1 == 1).then_some(EventId {
            index,
            generation: r.generation,
            base: self.tag,
        })
    }

    /// The id of record `key`, known to be live.
    #[inline(always)]
    pub(crate) fn id(&self, key: u32, generation: u32) -> EventId {
        EventId {
            index: key,
            generation,
            base: self.tag,
        }
    }

    /// Record `key` (an index from the base's own structures).
    #[inline(always)]
    pub(crate) fn at(&self, key: u32) -> &Record<P, S> {
        &self.records[key as usize]
    }

    #[inline(always)]
    pub(crate) fn at_mut(&mut self, key: u32) -> &mut Record<P, S> {
        &mut self.records[key as usize]
    }

    /// Live records in index order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Record<P, S>)> + '_ {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.generation & 1 == 1)
            .map(|(i, r)| (i as u32, r))
    }

    /// The word of a plain function callback.
    pub(crate) fn callback_word(&self, key: u32) -> Option<usize> {
        let r = self.at(key);
        (r.state & state::KIND == state::KIND_FN).then_some(r.word)
    }

    /// Whether record `key`'s callback is that of common queue `q`.
    pub(crate) fn is_common_timer(&self, key: u32, q: Option<u8>) -> bool {
        let r = self.at(key);
        r.state & state::KIND == state::KIND_COMMON && q.is_none_or(|q| r.word == usize::from(q))
    }

    /// Moves `callback` into record `key` (dropping what was there).
    pub(crate) fn set_callback(&mut self, key: u32, callback: Kind<P, S>) {
        drop(self.take_callback(key));
        let r = &mut self.records[key as usize];
        let (kind, f, word): (u16, _, usize) = match callback {
            Kind::Fn(f, word) => (state::KIND_FN, f, word),
            #[cfg(feature = "alloc")]
            Kind::Boxed(b) => {
                // Room was made when the record got a closure.
                self.closures[key as usize] = Some(b);
                (state::KIND_BOXED, nop, 0)
            }
            Kind::LoopExit => (state::KIND_LOOP_EXIT, nop, 0),
            Kind::Common(q) => (state::KIND_COMMON, nop, usize::from(q)),
            Kind::Empty => (state::KIND_EMPTY, nop, 0),
        };
        let r = &mut *r;
        r.state = (r.state & !state::KIND) | kind;
        r.f = f;
        r.word = word;
    }

    /// Takes record `key`'s callback out, leaving `KIND_EMPTY`.
    pub(crate) fn take_callback(&mut self, key: u32) -> Kind<P, S> {
        let r = &mut self.records[key as usize];
        let kind = r.state & state::KIND;
        r.state = (r.state & !state::KIND) | state::KIND_EMPTY;
        let (f, word) = (mem::replace(&mut r.f, nop), r.word);
        match kind {
            state::KIND_FN => Kind::Fn(f, word),
            #[cfg(feature = "alloc")]
            state::KIND_BOXED => self.closures[key as usize].take().map_or(Kind::Empty, Kind::Boxed),
            state::KIND_LOOP_EXIT => Kind::LoopExit,
            state::KIND_COMMON => Kind::Common(word as u8),
            _ => Kind::Empty,
        }
    }

    /// Whether record `key` holds no callback now.
    pub(crate) fn callback_is_empty(&self, key: u32) -> bool {
        self.at(key).state & state::KIND == state::KIND_EMPTY
    }

    /// Makes room for a closure in record `key` (before `set_callback`).
    ///
    /// # Errors
    /// [`Error::Capacity`] when the allocator fails.
    pub(crate) fn reserve_callback(&mut self, key: u32, callback: &Kind<P, S>) -> Result<(), Error> {
        #[cfg(feature = "alloc")]
        if matches!(callback, Kind::Boxed(_)) {
            return self.reserve_closure(key as usize);
        }
        let _ = (key, callback);
        Ok(())
    }
}

impl<P: Platform, S: Storage> HeapSlots for Table<P, S> {
    #[inline(always)]
    fn place(&mut self, key: u32, at: u32) {
        // A dead heap entry's key is past the table: nothing to note.
        if let Some(r) = self.records.get_mut(key as usize) {
            r.heap = at;
        }
    }
    #[inline(always)]
    fn position(&self, key: u32) -> u32 {
        self.records[key as usize].heap
    }
}

impl<P: Platform, S: Storage> QueueLinks for Table<P, S> {
    // Used by the queues' rare paths; activation and the loop link records
    // themselves.
    #[inline(always)]
    fn next(&self, key: u32) -> u32 {
        self.records[key as usize].qnext
    }
    #[inline(always)]
    fn set_next(&mut self, key: u32, next: u32) {
        self.records[key as usize].qnext = next;
    }
    #[inline(always)]
    fn set_prev(&mut self, key: u32, prev: u32) {
        self.records[key as usize].qprev = prev;
    }
    #[inline(always)]
    fn prev(&self, key: u32) -> u32 {
        self.records[key as usize].qprev
    }
}
