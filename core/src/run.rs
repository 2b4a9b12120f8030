//! The loop (libevent's `event_base_loop`), step by step, and the verbs
//! that stop it.

use core::time::Duration;

use crate::base::Exit;
use crate::event::{Kind, NIL, state};
use crate::platform::{Backend, Platform};
use crate::remote::RemoteOp;
use crate::{CallbackFn, Error, EventBase, EventId, Instant, LoopFlags, Source, Storage, What};

/// The record states `process_queue` leaves to `process_one`: anything but
/// a plain function of a user event that is not a signal, not finalizing,
/// not freed after its callback and has no timer interval.
const FAST_MASK: u16 =
    state::FINALIZING | state::KIND | state::FREE_AFTER | state::INTERVAL | state::SIG | state::INTERNAL;

/// The record states of `FAST_MASK`'s case with an interval, an armed heap
/// timer and no re-arm waiting from its expiry: `process_queue` re-arms it
/// from now (`rearm_persistent`'s plain case) itself.
const TIMED_MASK: u16 = FAST_MASK | state::TIMEOUT | state::REARMED | state::COMMON;

/// Whether `process_queue` takes that case itself: on 64-bit targets; on
/// 32-bit ones (microcontrollers) `process_one` does the same for less flash.
const TIMED_INLINE: bool = cfg!(target_pointer_width = "64");

/// Bits of `Core::stop`: what the loop was asked to do after the current callback.
pub(crate) mod stop {
    /// `loop_break`: return after the current callback.
    pub(crate) const BREAK: u8 = 1;
    /// `loop_exit`: return once the current batch ran.
    pub(crate) const EXIT: u8 = 2;
    /// `loop_continue`: poll again before draining more queues.
    pub(crate) const CONTINUE: u8 = 4;
}

impl<P: Platform, S: Storage> EventBase<P, S> {
    /// Runs the loop until no event is pending or active, or until
    /// `loop_exit`/`loop_break` (libevent's `event_base_dispatch`).
    ///
    /// # Errors
    /// [`Error::Reentrant`] from inside this base's own callbacks;
    /// [`Error::Forked`] in a forked child before `reinit`; the backend's
    /// error when its wait fails.
    pub fn dispatch(&mut self) -> Result<Exit, Error> {
        self.run(LoopFlags::empty())
    }

    /// Runs the loop with `flags` (libevent's `event_base_loop`).
    ///
    /// # Errors
    /// As [`dispatch`](Self::dispatch).
    pub fn run(&mut self, flags: LoopFlags) -> Result<Exit, Error> {
        if self.core.loop_running {
            return Err(Error::Reentrant);
        }
        if self.backend.forked() {
            return Err(Error::Forked);
        }
        self.core.loop_running = true;
        self.core.clear_cache();
        self.core.got_break = false;
        self.core.got_exit = false;
        let result = self.run_loop(flags);
        // A `ONCE` run whose last callback was the exit event returned
        // without going round to the top: the exit ended it, and is spent
        // (libevent clears it when the next loop starts).
        if self.core.stop & stop::EXIT != 0 {
            self.core.stop &= !stop::EXIT;
            self.core.got_exit = true;
        }
        self.core.clear_cache();
        self.core.loop_running = false;
        result
    }

    fn run_loop(&mut self, flags: LoopFlags) -> Result<Exit, Error> {
        self.drain_inbox();
        loop {
            self.core.stop &= !stop::CONTINUE;
            if self.core.stop != 0 {
                // An exit is taken before a break (which stays for the next run).
                if self.core.stop & stop::EXIT != 0 {
                    self.core.stop &= !stop::EXIT;
                    self.core.got_exit = true;
                } else {
                    self.core.stop &= !stop::BREAK;
                    self.core.got_break = true;
                }
                return Ok(Exit::Done);
            }
            let active = self.core.queues.len();
            let timeout = self.wait_for(flags, active);
            if self.nothing_to_wait_for(flags, active) {
                return Ok(Exit::NoEvents);
            }
            self.core.promote_later();
            // Hook: prepare watchers (watch.rs), which may change the wait.
            let timeout = if self.watchers.any_prepare() {
                let Some(timeout) = self.prepare_hook(flags, timeout) else {
                    continue;
                };
                timeout
            } else {
                timeout
            };
            self.core.clear_cache();
            let waited = self
                .backend
                .dispatch(self.changelist.changes(), timeout, &mut self.core);
            let active = self.core.queues.len();
            self.core.counts.note_peaks(active);
            self.changelist.clear();
            waited?;
            self.core.stale_cache();
            // Hook: check watchers (watch.rs), before any event callback.
            if self.watchers.any_check() && self.check_hook() {
                continue;
            }
            self.drain_inbox();
            self.timeout_process();
            if !self.core.queues.is_empty() {
                let ran = self.process_active();
                if flags.contains(LoopFlags::ONCE) && self.core.queues.is_empty() && ran != 0 {
                    return Ok(Exit::Done);
                }
            } else if flags.contains(LoopFlags::NONBLOCK) {
                return Ok(Exit::Done);
            }
        }
    }

    /// How long the backend may wait, in nanoseconds: zero if anything is
    /// active or under `NONBLOCK`, else until the earliest timer (`None`: no
    /// timer).
    #[inline]
    pub(crate) fn wait_for(&mut self, flags: LoopFlags, active: usize) -> Option<u64> {
        if active == 0 && !flags.contains(LoopFlags::NONBLOCK) {
            self.timeout_next()
        } else {
            Some(0)
        }
    }

    /// Whether the loop returns [`Exit::NoEvents`]: nothing pending, nothing
    /// active, and no `NO_EXIT_ON_EMPTY`.
    #[inline]
    pub(crate) fn nothing_to_wait_for(&self, flags: LoopFlags, active: usize) -> bool {
        let counts = &self.core.counts;
        !flags.contains(LoopFlags::NO_EXIT_ON_EMPTY) && counts.added == 0 && counts.virtual_ == 0 && active == 0
    }

    /// libevent's `event_process_active`: drains the most urgent non-empty
    /// queue; less urgent ones wait for the next iteration once a real
    /// callback ran. Returns how many non-internal callbacks ran.
    #[inline(always)]
    fn process_active(&mut self) -> usize {
        let (max, endtime) = if self.core.limits.is_unlimited() {
            (None, None)
        } else {
            self.limits()
        };
        let mut ran = 0;
        while let Some(priority) = self.core.queues.first_nonempty() {
            self.core.preempt_below = priority;
            let limited = max.is_some() || endtime.is_some();
            let (max, end) = if limited && u32::from(priority) >= self.core.limits.limit_after_priority {
                (max, endtime)
            } else {
                (None, None)
            };
            match self.process_queue(priority, max, end) {
                None => break,
                Some(0) => {}
                Some(n) => {
                    ran = n;
                    break;
                }
            }
        }
        self.core.preempt_below = 0;
        ran
    }

    /// The callback limit and the end time of this pass over the queues.
    #[cold]
    fn limits(&mut self) -> (Option<u32>, Option<Instant>) {
        let end = self.core.limits.max_interval.map(|d| {
            self.core.update_cache();
            self.core.now().saturating_add(d)
        });
        (self.core.limits.max_callbacks, end)
    }

    /// Runs queue `priority` until it is empty, a break, the callback or
    /// time limit, or a `continue`. `None` means break.
    #[inline(always)]
    fn process_queue(&mut self, priority: u8, max: Option<u32>, end: Option<Instant>) -> Option<usize> {
        let limited = max.is_some() || end.is_some();
        let mut count = 0usize;
        loop {
            let key = self.core.queues.front(priority);
            if key == NIL {
                break;
            }
            let r = self.core.slots.at_mut(key);
            let st = r.state;
            r.state = st & !state::QUEUED;
            let (next, res, events, f, word, generation) = (r.qnext, r.res, r.events, r.f, r.word, r.generation);
            self.core.queues.advance(priority, next);
            if st & FAST_MASK == 0 && events.contains(What::PERSIST) {
                // The common case: a persistent plain function with no timer
                // to re-arm, of a user event (nothing to delete, re-arm,
                // restore or free).
                self.core.counts.added -= 1;
                count += 1;
                let id = self.core.slots.id(key, generation);
                self.run_fn(key, id, res, f, word);
            } else if TIMED_INLINE
                && st & TIMED_MASK == state::INTERVAL | state::TIMEOUT
                && events.contains(What::PERSIST)
                && !res.contains(What::TIMEOUT)
            {
                // The same with a heap timer that restarts from now (a
                // connection's idle timeout): process_one's re-arm, inline.
                self.core.counts.added -= 1;
                count += 1;
                let id = self.core.slots.id(key, generation);
                self.rearm_from_now(key);
                self.run_fn(key, id, res, f, word);
                self.core.timers.heap.flush(&mut self.core.slots);
            } else {
                count += self.process_one(key, st, res);
            }
            // One test in the common case: no request, no limit.
            if (self.core.stop != 0 || limited) && self.stop_queue(count, max, end) {
                return (self.core.stop & stop::BREAK == 0).then_some(count);
            }
        }
        Some(count)
    }

    /// Every other event `process_queue` pops (in state `st`, activated
    /// with `res`): finalizers, non-persistent events, persistent timers,
    /// signals, closures, internal callbacks. 1 if it counts as a callback.
    #[inline(never)]
    fn process_one(&mut self, key: u32, st: u16, res: What) -> usize {
        self.core.counts.del_member(st);
        let counted = usize::from(st & state::INTERNAL == 0);
        if st & state::FINALIZING != 0 {
            self.run_finalizer(key);
            return counted;
        }
        let r = self.core.slots.at(key);
        let (events, f, word, ncalls) = (r.events, r.f, r.word, r.ncalls);
        let id = self.core.slots.id(key, r.generation);
        if !events.contains(What::PERSIST) {
            // Non-persistent events stop being pending before their
            // callback; a signal event still runs its deliveries
            // (libevent copies ncalls after this del).
            let _ = self.del_key(key);
            self.core.slots.at_mut(key).ncalls = ncalls;
        } else if st & (state::INTERVAL | state::SIG) == state::INTERVAL {
            let interval = self.core.timers.interval(key);
            self.rearm_persistent(key, res, interval);
        }
        // Neither the del nor the re-arm changes the callback.
        if st & (state::KIND | state::FREE_AFTER | state::SIG) == state::KIND_FN {
            self.run_fn(key, id, res, f, word);
        } else {
            self.run_callback_slow(key, res);
        }
        self.core.timers.heap.flush(&mut self.core.slots);
        counted
    }

    /// Whether `process_queue` stops after `count` callbacks: a break, a
    /// limit reached, or a `continue`.
    #[cold]
    fn stop_queue(&mut self, count: usize, max: Option<u32>, end: Option<Instant>) -> bool {
        if self.core.stop & stop::BREAK != 0 || max.is_some_and(|m| count >= m as usize) {
            return true;
        }
        if let Some(end) = end
            && count > 0
        {
            self.core.update_cache();
            if self.core.now() >= end {
                return true;
            }
        }
        self.core.stop & stop::CONTINUE != 0
    }

    #[inline]
    fn set_running(&mut self, key: Option<u32>) {
        self.core.running_event = key;
        if self.core.has_inbox
            && let Some(inbox) = self.core.platform.inbox()
        {
            inbox.set_running(key);
        }
    }

    /// Calls a plain function callback of slot `key`; the slot keeps its
    /// callback (nothing to restore).
    #[inline]
    fn run_fn(&mut self, key: u32, id: EventId, res: What, f: CallbackFn<P, S>, arg: usize) {
        self.set_running(Some(key));
        f(self, id, res, arg);
        self.set_running(None);
        self.drain_inbox();
    }

    /// The callback of slot `key` for signals, closures, `once`
    /// events and internal callbacks: the callback is moved out of the slot
    /// while it runs.
    fn run_callback_slow(&mut self, key: u32, res: What) {
        let Some(id) = self.core.slots.id_of(key) else { return };
        let is_signal = self.core.slots.at(key).events.contains(What::SIGNAL);
        let mut callback = self.core.slots.take_callback(key);
        self.set_running(Some(key));
        loop {
            if is_signal {
                let r = self.core.slots.at_mut(key);
                if r.ncalls == 0 {
                    break;
                }
                r.ncalls -= 1;
            }
            match &mut callback {
                Kind::Fn(f, arg) => f(self, id, res, *arg),
                #[cfg(feature = "alloc")]
                Kind::Boxed(f) => f(self, id, res),
                Kind::LoopExit => self.core.stop |= stop::EXIT,
                Kind::Common(q) => self.common_timeout_fired(*q),
                Kind::Empty => {}
            }
            if !is_signal || self.core.stop & stop::BREAK != 0 || self.core.slots.check(id).is_err() {
                break;
            }
        }
        self.set_running(None);
        self.restore_callback(id, callback);
        self.drain_inbox();
    }

    /// Puts a callback back after it ran, frees `once` events.
    fn restore_callback(&mut self, id: EventId, callback: Kind<P, S>) {
        let Ok(key) = self.core.slots.check(id) else { return };
        if self.core.slots.callback_is_empty(key) {
            self.core.slots.set_callback(key, callback);
        }
        let r = self.core.slots.at(key);
        if r.has(state::FREE_AFTER) && !r.has(state::FINALIZING) {
            let _ = self.del_key(key);
            self.core.slots.remove(key);
        }
    }

    /// Runs a finalizer (with no running event, as libevent), then frees
    /// the event or leaves it inert.
    pub(crate) fn run_finalizer(&mut self, key: u32) {
        let Some(id) = self.core.slots.id_of(key) else { return };
        let mut finalizer = self.core.slots.take_callback(key);
        self.set_running(None);
        match &mut finalizer {
            Kind::Fn(f, arg) => f(self, id, What::FINALIZE, *arg),
            #[cfg(feature = "alloc")]
            Kind::Boxed(f) => f(self, id, What::FINALIZE),
            _ => {}
        }
        let Ok(key) = self.core.slots.check(id) else { return };
        let r = self.core.slots.at_mut(key);
        if r.has(state::FINALIZING) {
            // Not re-assigned by the finalizer: free it or leave it inert.
            if r.has(state::FREE_AFTER) {
                self.core.slots.remove(key);
            } else {
                r.state &= state::FD | state::SIG | state::INTERVAL | state::KIND;
            }
        }
    }

    /// Applies what other threads and interrupt handlers queued.
    #[inline]
    pub(crate) fn drain_inbox(&mut self) {
        if self.core.has_inbox && self.core.platform.inbox().is_some_and(|i| i.has_pending()) {
            self.drain_inbox_slow();
        }
    }

    #[cold]
    fn drain_inbox_slow(&mut self) {
        // Until the inbox ends this drain (it takes what was sent before it).
        while let Some(op) = self.core.platform.inbox().and_then(|i| i.pop()) {
            // Errors (a stale id, a full table) cannot reach a remote caller;
            // the operation is dropped and counted as processed.
            let _ = match op {
                RemoteOp::Activate(id, what) => self.active(id, what, 1),
                RemoteOp::Add(id, timeout) => {
                    // The timeout runs from when the operation is applied,
                    // not from when this iteration's wait ended: after a
                    // batch of callbacks the cached time is stale, and a
                    // sender would see its timer fire early.
                    if timeout.is_some() {
                        self.update_cache_time();
                    }
                    self.add(id, timeout)
                }
                RemoteOp::Del(id) => self.del(id),
                RemoteOp::Break => {
                    self.loop_break();
                    Ok(())
                }
                RemoteOp::Exit => {
                    // A request that was never refused is not dropped here
                    // either: without room for the exit event, exit after
                    // this iteration's callbacks.
                    if self.loop_exit(None).is_err() {
                        self.core.stop |= stop::EXIT;
                    }
                    Ok(())
                }
            };
        }
    }

    /// Makes the loop return once the callbacks active after `after` have
    /// run (libevent's `event_base_loopexit`): a one-shot event, activated
    /// at once for `None`. Sent before the loop starts, it ends the next run.
    ///
    /// # Errors
    /// [`Error::Capacity`] when the event table is full.
    pub fn loop_exit(&mut self, after: Option<Duration>) -> Result<(), Error> {
        self.once_kind(Source::None, What::TIMEOUT, after, Kind::LoopExit)
            .map(|_| ())
    }

    /// Makes the loop return after the current callback (libevent's
    /// `event_base_loopbreak`). Unlike libevent, a break requested while no
    /// loop runs is kept: the next run returns at once (libevent#1292).
    pub fn loop_break(&mut self) {
        self.core.stop |= stop::BREAK;
    }

    /// After the current callback, stop draining the active queues and poll
    /// again (libevent's `event_base_loopcontinue`). No effect outside the loop.
    pub fn loop_continue(&mut self) {
        if self.core.loop_running {
            self.core.stop |= stop::CONTINUE;
        }
    }
}
