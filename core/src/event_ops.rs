//! The verbs on one event: new, add, del, active, pending, priority, once,
//! finalize, free.

use core::time::Duration;

use crate::event::{Kind, NIL, state};
use crate::platform::Platform;
use crate::timers::CommonTimeout;
use crate::{Callback, Error, EventBase, EventId, Instant, Pending, Source, Storage, What, duration_nanos};

impl<P: Platform, S: Storage> EventBase<P, S> {
    /// Makes an event (libevent's `event_new`): not pending until
    /// [`add`](Self::add)ed. `Source::Signal` events get `SIGNAL` added to
    /// `what`; priority is the base's middle one (`npriorities / 2`).
    ///
    /// # Errors
    /// [`Error::InvalidFlags`] for `SIGNAL` with `READ`/`WRITE`/`CLOSED`, or
    /// `SIGNAL` without a signal source; [`Error::Capacity`] when the event
    /// table is full.
    pub fn new_event(&mut self, source: Source, what: What, callback: Callback<P, S>) -> Result<EventId, Error> {
        let what = check_flags(source, what)?;
        self.core.new_record(source, what, callback.0)
    }

    /// Makes an event and adds it, as one call ([`new_event`](Self::new_event)
    /// then [`add`](Self::add), e.g. libevent's `evsignal_new` +
    /// `event_add`). When the add fails no event is made, and the base is
    /// exactly as it was: a failed `add` followed by [`free`](Self::free)
    /// would leave the freed slot in the event table, for reuse.
    ///
    /// # Errors
    /// As [`new_event`](Self::new_event) and [`add`](Self::add).
    pub fn add_new(
        &mut self,
        source: Source,
        what: What,
        timeout: Option<Duration>,
        callback: Callback<P, S>,
    ) -> Result<EventId, Error> {
        let what = check_flags(source, what)?;
        self.insert_added(source, what, callback.0, timeout)
    }

    /// Makes an event of `source`, `events` and `callback` and adds it with
    /// `timeout`; when the add fails, the event is taken back and the base
    /// is as it was.
    fn insert_added(
        &mut self,
        source: Source,
        events: What,
        callback: Kind<P, S>,
        timeout: Option<Duration>,
    ) -> Result<EventId, Error> {
        let id = self.core.new_record(source, events, callback)?;
        let arm = timeout.map(|t| (t, 0, self.core.now()));
        match self.add_key(id.index, arm) {
            Ok(()) => Ok(id),
            Err(e) => {
                self.core.discard_record(id.index);
                Err(e)
            }
        }
    }

    /// Re-initialises an event that is neither pending nor active
    /// (libevent's `event_assign` on existing storage, e.g. from a finalizer).
    ///
    /// # Errors
    /// [`Error::StaleEvent`]; [`Error::InvalidArgument`] if it is pending or
    /// active; [`Error::InvalidFlags`] as for `new_event`.
    pub fn assign(&mut self, id: EventId, source: Source, what: What, callback: Callback<P, S>) -> Result<(), Error> {
        let key = self.core.slots.check(id)?;
        let what = check_flags(source, what)?;
        let r = self.core.slots.at(key);
        if r.state & (state::INSERTED | state::TIMEOUT | state::QUEUED) != 0 {
            return Err(Error::InvalidArgument(&"assign on a pending or active event"));
        }
        self.core.slots.reserve_callback(key, &callback.0)?;
        let priority = self.core.queues.default_priority();
        self.core.slots.reset(key, source, what, priority, callback.0);
        self.core.set_interval(key, 0);
        Ok(())
    }

    /// Deletes and frees an event (libevent's `event_free`); safe from its
    /// own callback. Its id goes stale.
    ///
    /// # Errors
    /// [`Error::StaleEvent`], or a backend error on unregistering (the event
    /// then stays).
    pub fn free(&mut self, id: EventId) -> Result<(), Error> {
        let key = self.core.slots.check(id)?;
        self.del_key(key)?;
        self.core.slots.remove(key);
        Ok(())
    }

    /// Makes an event pending (libevent's `event_add`): registered for its
    /// handle or signal, and with `timeout` armed relative to now. A `None`
    /// timeout keeps an existing timer (use [`remove_timer`](Self::remove_timer)
    /// to drop it); a new one replaces it.
    ///
    /// The timer never fires before `timeout` has passed on the platform's
    /// real monotonic clock, counted from the base's "now" at this call
    /// ([`now`](Self::now)): the clock itself outside the loop; inside a
    /// callback with the time cache on, the time the loop read after its
    /// last wait, as in libevent and libev (earlier than the call by the
    /// callbacks run since: [`update_cache_time`](Self::update_cache_time)
    /// or `NO_CACHE_TIME` count from the call instead); in
    /// [`with_cached_time`](Self::with_cached_time), the batch's start.
    ///
    /// # Errors
    /// [`Error::StaleEvent`], [`Error::Finalizing`], [`Error::Capacity`],
    /// [`Error::InvalidHandle`] (a handle that is not open, on every
    /// backend, or above [`MAX_HANDLE`](crate::MAX_HANDLE)) /
    /// [`Error::InvalidSignal`] / [`Error::Os`] from the backend. The event
    /// and the base are unchanged then: the backend refuses before any
    /// table grows, and no descriptor is left open.
    #[inline]
    pub fn add(&mut self, id: EventId, timeout: Option<Duration>) -> Result<(), Error> {
        let key = self.core.slots.check(id)?;
        let Some(t) = timeout else {
            return self.add_key(key, None);
        };
        // "now" is read once, before anything changes (registering takes no time).
        let now = self.core.now();
        if self.add_heap_timer(key, t, now) {
            return Ok(());
        }
        self.add_key(key, Some((t, 0, now)))
    }

    /// The common adds with a heap timer, without `add_key`'s generality:
    /// a registered (or map-less) event, not finalizing, without a common
    /// timeout or an activation by its timer. An armed timer gets a new
    /// deadline (one sift), an unarmed one is pushed (one capacity check).
    /// False, with nothing done, in every other case and when the heap is
    /// full (`add_key` then reports it).
    #[inline]
    fn add_heap_timer(&mut self, key: u32, timeout: Duration, now: Instant) -> bool {
        let interval = duration_nanos(timeout);
        let deadline = now.saturating_add_nanos(interval);
        let core = &mut self.core;
        let r = core.slots.at(key);
        let (st, at) = (r.state, r.heap);
        let persist = r.events.contains(What::PERSIST);
        if st & (state::FINALIZING | state::COMMON | state::QUEUED) != 0
            || st & (state::MAP | state::INSERTED) == state::MAP
            || (persist && !core.timers.has_interval_room(key))
        {
            return false;
        }
        if st & state::TIMEOUT != 0 {
            core.timers.heap.update_at(&mut core.slots, key, at, deadline);
        } else {
            if !core.timers.heap.push_at(&mut core.slots, key, at, deadline) {
                return false;
            }
            core.counts.add_member(st);
        }
        let mut next = st | state::TIMEOUT;
        if persist {
            core.timers.set_interval(key, interval);
            next = if interval != 0 {
                next | state::INTERVAL
            } else {
                next & !state::INTERVAL
            };
        }
        core.slots.at_mut(key).state = next;
        true
    }

    /// Like [`add`](Self::add) with a common timeout: the timer joins the
    /// FIFO queue of events sharing that duration (O(1)).
    ///
    /// # Errors
    /// As [`add`](Self::add); [`Error::InvalidArgument`] for a common timeout
    /// of another base.
    pub fn add_common(&mut self, id: EventId, timeout: CommonTimeout) -> Result<(), Error> {
        let key = self.core.slots.check(id)?;
        self.check_common(timeout)?;
        let now = self.core.now();
        self.add_key(key, Some((timeout.duration(), timeout.queue(), now)))
    }

    /// Every add: `timeout` is the duration, where the timer goes (0 the
    /// heap, else common queue index + 1) and the instant it runs from.
    /// Kept out of `add`, whose fast path then needs no big stack frame.
    #[inline(never)]
    pub(crate) fn add_key(&mut self, key: u32, timeout: Option<(Duration, u8, Instant)>) -> Result<(), Error> {
        let r = self.core.slots.at(key);
        if r.has(state::FINALIZING) {
            return Err(Error::Finalizing);
        }
        let persist = r.events.contains(What::PERSIST);
        let mut mark = None;
        if let Some((_, common, _)) = timeout {
            // Before anything changes: arming below cannot fail then.
            mark = Some(self.reserve_timer(key, common, persist)?);
        }
        let r = self.core.slots.at(key);
        let wants_map = r.events.intersects(What::IO | What::SIGNAL);
        if wants_map
            && !r.has(state::INSERTED)
            && let Err(e) = self.register(key)
        {
            // A failed add leaves the tables as they were.
            if let Some(mark) = mark {
                self.unreserve_timer(mark);
            }
            return Err(e);
        }
        if let Some((interval, common, now)) = timeout {
            if persist {
                self.core.set_interval(key, duration_nanos(interval));
            }
            // A pending activation caused by the old timeout is cancelled
            // (and a signal repeat loop stopped).
            let r = self.core.slots.at_mut(key);
            if r.has(state::QUEUED) && r.res.contains(What::TIMEOUT) {
                r.ncalls = 0;
                self.core.deactivate(key);
            }
            self.set_timer_kind(key, common);
            let deadline = now.saturating_add(interval);
            self.schedule(key, deadline)?;
        }
        Ok(())
    }

    /// Registers record `key` with the fd or signal map.
    fn register(&mut self, key: u32) -> Result<(), Error> {
        let r = self.core.slots.at(key);
        let (source, events, st) = (r.source(), r.events, r.state);
        let c = &mut self.core;
        match source {
            Source::Fd(fd) => {
                c.handles
                    .add_fd(&mut c.slots, &mut self.backend, &mut self.changelist, fd, key, events)?
            }
            Source::Signal(sig) => c.handles.add_signal(&mut c.slots, &mut self.backend, sig, key)?,
            Source::None => {}
        }
        c.slots.at_mut(key).state |= state::INSERTED;
        c.counts.add_member(st);
        Ok(())
    }

    /// Makes an event neither pending nor active (libevent's `event_del`).
    /// A no-op on an event that is not pending, or is being finalized.
    ///
    /// # Errors
    /// [`Error::StaleEvent`], or a backend error on unregistering.
    #[inline]
    pub fn del(&mut self, id: EventId) -> Result<(), Error> {
        let key = self.core.slots.check(id)?;
        let c = &mut self.core;
        let r = c.slots.at_mut(key);
        let st = r.state;
        if st & (state::FINALIZING | state::INSERTED | state::QUEUED | state::TIMEOUT | state::COMMON) == state::TIMEOUT
        {
            // A heap timer, nothing else: nothing to unregister, nothing
            // can fail.
            c.del_heap_timer(key, st);
            return Ok(());
        }
        self.del_other(key, st)
    }

    /// [`del`](Self::del) of everything but a heap timer alone.
    #[inline(never)]
    fn del_other(&mut self, key: u32, st: u16) -> Result<(), Error> {
        if st & state::FINALIZING != 0 {
            return Ok(());
        }
        if st & state::INSERTED != 0 {
            return self.del_key(key);
        }
        self.core.slots.at_mut(key).ncalls = 0;
        self.unschedule(key);
        self.core.deactivate(key);
        Ok(())
    }

    pub(crate) fn del_key(&mut self, key: u32) -> Result<(), Error> {
        let r = self.core.slots.at(key);
        let (source, st) = (r.source(), r.state);
        if st & state::INSERTED != 0 {
            let c = &mut self.core;
            match source {
                Source::Fd(fd) => c
                    .handles
                    .del_fd(&mut c.slots, &mut self.backend, &mut self.changelist, fd, key)?,
                Source::Signal(sig) => c.handles.del_signal(&mut c.slots, &mut self.backend, sig, key)?,
                Source::None => {}
            }
            c.slots.at_mut(key).state &= !state::INSERTED;
            c.counts.del_member(st);
        }
        self.core.slots.at_mut(key).ncalls = 0;
        self.unschedule(key);
        self.core.deactivate(key);
        Ok(())
    }

    /// Disarms only the timer (libevent's `event_remove_timer`), and forgets
    /// a persistent event's interval.
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    pub fn remove_timer(&mut self, id: EventId) -> Result<(), Error> {
        let key = self.core.slots.check(id)?;
        self.unschedule(key);
        self.core.set_interval(key, 0);
        Ok(())
    }

    /// Activates an event whether or not it is pending (libevent's
    /// `event_active`). Again before its callback runs, `what` is ORed in.
    /// For signal events `ncalls` is how often the callback runs.
    ///
    /// # Errors
    /// [`Error::StaleEvent`]; [`Error::Finalizing`].
    pub fn active(&mut self, id: EventId, what: What, ncalls: u16) -> Result<(), Error> {
        let key = self.core.slots.check(id)?;
        if self.core.slots.at(key).has(state::FINALIZING) {
            return Err(Error::Finalizing);
        }
        self.core.activate(key, what, ncalls);
        Ok(())
    }

    /// Queues an event to run on the next loop iteration, after the next
    /// poll (libevent's internal `event_active_later_`).
    ///
    /// # Errors
    /// [`Error::StaleEvent`]; [`Error::Finalizing`].
    pub fn active_later(&mut self, id: EventId, what: What) -> Result<(), Error> {
        let key = self.core.slots.check(id)?;
        let c = &mut self.core;
        let r = c.slots.at_mut(key);
        let st = r.state;
        if st & state::FINALIZING != 0 {
            return Err(Error::Finalizing);
        }
        if st & state::QUEUED != 0 {
            r.res |= what;
            return Ok(());
        }
        r.res = what;
        r.state = st | state::QUEUED | state::LATER;
        c.queues.push_later(&mut c.slots, key);
        c.counts.max_active = c.counts.max_active.max(c.queues.len());
        c.counts.add_member(st);
        Ok(())
    }

    /// Which of `what` hold for the event (libevent's `event_pending`), and
    /// the timer's deadline when `TIMEOUT` is asked for and armed.
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    pub fn pending(&mut self, id: EventId, what: What) -> Result<Pending, Error> {
        let key = self.core.slots.check(id)?;
        let r = self.core.slots.at(key);
        let mut status = What::empty();
        if r.has(state::INSERTED) {
            status |= r.events & (What::IO | What::SIGNAL);
        }
        if r.has(state::QUEUED) {
            status |= r.res;
        }
        if r.has(state::TIMEOUT) {
            status |= What::TIMEOUT;
        }
        let status = status & what & !What::ET;
        // An event activated by its timer has no deadline until its
        // callback re-arms it (a parked persistent timer included).
        let armed = r.state & (state::TIMEOUT | state::REARMED) == state::TIMEOUT;
        let deadline = (armed && what.contains(What::TIMEOUT)).then(|| self.deadline(key));
        let wall_deadline = deadline.and_then(|d| self.core.wall_of(d));
        Ok(Pending {
            what: status,
            deadline,
            wall_deadline,
        })
    }

    /// Sets an event's priority (libevent's `event_priority_set`).
    ///
    /// # Errors
    /// [`Error::StaleEvent`]; [`Error::InvalidPriority`];
    /// [`Error::InvalidArgument`] while the event is active or active-later.
    pub fn set_priority(&mut self, id: EventId, priority: usize) -> Result<(), Error> {
        let key = self.core.slots.check(id)?;
        let npriorities = self.core.queues.npriorities();
        if priority >= npriorities {
            return Err(Error::InvalidPriority {
                priority,
                npriorities: npriorities as u16,
            });
        }
        if self.core.slots.at(key).has(state::QUEUED) {
            return Err(Error::InvalidArgument(&"cannot change the priority of an active event"));
        }
        self.core.slots.at_mut(key).priority = priority as u8;
        Ok(())
    }

    /// An event's priority.
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    pub fn priority(&self, id: EventId) -> Result<usize, Error> {
        Ok(self.core.slots.get(id)?.priority as usize)
    }

    /// What an event watches and the flags it was made with.
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    pub fn assignment(&self, id: EventId) -> Result<(Source, What), Error> {
        let r = self.core.slots.get(id)?;
        Ok((r.source(), r.events))
    }

    /// A one-shot event freed after its callback (libevent's
    /// `event_base_once`). A timeout-only event with no or a zero timeout is
    /// activated at once; with `READ`/`WRITE`/`CLOSED` the timeout bounds
    /// the wait. Unfired ones are freed with the base.
    ///
    /// # Errors
    /// [`Error::InvalidFlags`] for `SIGNAL`, `PERSIST`, or no usable flag;
    /// errors of [`add`](Self::add).
    pub fn once(
        &mut self,
        source: Source,
        what: What,
        timeout: Option<Duration>,
        callback: Callback<P, S>,
    ) -> Result<EventId, Error> {
        self.once_kind(source, what, timeout, callback.0)
    }

    pub(crate) fn once_kind(
        &mut self,
        source: Source,
        what: What,
        timeout: Option<Duration>,
        callback: Kind<P, S>,
    ) -> Result<EventId, Error> {
        if what.intersects(What::SIGNAL | What::PERSIST) || matches!(source, Source::Signal(_)) {
            return Err(Error::InvalidFlags {
                what,
                reason: &"once events cannot be signals or persistent",
            });
        }
        let io = what & What::IO;
        let (events, immediate) = if what == What::TIMEOUT {
            (What::empty(), timeout.is_none_or(|t| t.is_zero()))
        } else if !io.is_empty() {
            (io, false)
        } else {
            return Err(Error::InvalidFlags {
                what,
                reason: &"once needs TIMEOUT alone, or READ, WRITE or CLOSED",
            });
        };
        let source = if io.is_empty() { Source::None } else { source };
        if !immediate {
            let id = self.insert_added(source, events, callback, timeout)?;
            self.core.slots.at_mut(id.index).state |= state::FREE_AFTER;
            return Ok(id);
        }
        let id = self.core.new_record(source, events, callback)?;
        self.core.slots.at_mut(id.index).state |= state::FREE_AFTER;
        self.core.activate(id.index, What::TIMEOUT, 1);
        Ok(id)
    }

    /// Deletes the event without waiting and runs `finalizer` from the loop
    /// at the event's priority (libevent's `event_finalize`); from then on
    /// `add` and `active` fail and `del` does nothing. Afterwards the event
    /// is inert: [`assign`](Self::assign) it again or [`free`](Self::free) it.
    ///
    /// # Errors
    /// [`Error::StaleEvent`]; [`Error::Finalizing`] when already finalizing.
    pub fn finalize(&mut self, id: EventId, finalizer: Callback<P, S>) -> Result<(), Error> {
        self.finalize_inner(id, finalizer, false)
    }

    /// Like [`finalize`](Self::finalize), and the event is freed after its
    /// finalizer ran (libevent's `event_free_finalize`).
    ///
    /// # Errors
    /// As [`finalize`](Self::finalize).
    pub fn free_finalize(&mut self, id: EventId, finalizer: Callback<P, S>) -> Result<(), Error> {
        self.finalize_inner(id, finalizer, true)
    }

    fn finalize_inner(&mut self, id: EventId, finalizer: Callback<P, S>, free: bool) -> Result<(), Error> {
        let key = self.core.slots.check(id)?;
        if self.core.slots.at(key).has(state::FINALIZING) {
            return Err(Error::Finalizing);
        }
        self.core.slots.reserve_callback(key, &finalizer.0)?;
        self.del_key(key)?;
        self.core.slots.set_callback(key, finalizer.0);
        self.core.slots.at_mut(key).state |= state::FINALIZING | if free { state::FREE_AFTER } else { 0 };
        self.core.activate(key, What::FINALIZE, 1);
        Ok(())
    }

    /// Activates the pending events on handle `fd` (libevent's
    /// `event_base_active_by_fd`): without `TIMEOUT` in `what`, each event
    /// asking for some of `what`'s I/O bits gets those; with `TIMEOUT`, every
    /// armed timer of an event on `fd` fires. Unknown handles are ignored.
    pub fn active_by_fd(&mut self, fd: u32, what: What) {
        if what.contains(What::TIMEOUT) {
            for key in 0..self.core.slots.bound() {
                let r = self.core.slots.at(key);
                if r.generation & 1 == 1 && r.fd() == Some(fd) && r.has(state::TIMEOUT) {
                    self.unschedule(key);
                    self.core.activate(key, What::TIMEOUT, 1);
                }
            }
        } else {
            let mut key = self.core.handles.fd_first(fd);
            while key != NIL {
                let r = self.core.slots.at(key);
                let (hit, next) = (r.events & what & What::IO, r.next);
                if !hit.is_empty() {
                    self.core.activate(key, hit, 1);
                }
                key = next;
            }
        }
    }

    /// Activates the pending events on signal `sig` once
    /// (libevent's `event_base_active_by_signal`). Unknown signals are ignored.
    pub fn active_by_signal(&mut self, sig: u32) {
        crate::platform::Sink::signal(&mut self.core, sig, 1);
    }
}

/// libevent's `event_assign` validation, returning the flags to store.
fn check_flags(source: Source, what: What) -> Result<What, Error> {
    match source {
        Source::Signal(_) => {
            if what.intersects(What::IO) {
                return Err(Error::InvalidFlags {
                    what,
                    reason: &"a signal event cannot also wait for I/O",
                });
            }
            Ok(what | What::SIGNAL)
        }
        _ if what.contains(What::SIGNAL) => Err(Error::InvalidFlags {
            what,
            reason: &"SIGNAL needs a Source::Signal",
        }),
        _ => Ok(what),
    }
}
