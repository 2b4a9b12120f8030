//! The event base: construction, queries, time, priorities, teardown.

use core::cell::Cell;
use core::time::Duration;

use critical_section::Mutex;

use crate::event::{Kind, Slot, state};
use crate::fdmap::HandleMap;
use crate::platform::{Backend, Platform};
use crate::slab::Slab;
use crate::timers::Timers;
use crate::watch::Watchers;
use crate::{
    ActiveQueues, BaseFlags, Changelist, Config, DispatchLimits, Error, EventId, Features, Instant, Method, Rejection,
    SelectionReport, Storage, What, config,
};

bitflags::bitflags! {
    /// Which counters [`EventBase::num_events`] adds up (libevent's
    /// `EVENT_BASE_COUNT_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Count: u8 {
        /// Active and active-later callbacks, internal ones included.
        const ACTIVE = 1;
        /// Virtual events ([`EventBase::add_virtual`]).
        const VIRTUAL = 2;
        /// Queue memberships of user events: registered, timer, active and
        /// active-later each count once.
        const ADDED = 4;
    }
}

/// The counters of `num_events` / `max_events`. The active count is the
/// length of the active queues (`ActiveQueues::len`), kept nowhere else.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) added: usize,
    pub(crate) virtual_: usize,
    pub(crate) max_added: usize,
    pub(crate) max_active: usize,
    pub(crate) max_virtual: usize,
}

impl Counts {
    pub(crate) fn add_member(&mut self, slot_state: u8) {
        if slot_state & state::INTERNAL == 0 {
            self.added += 1;
            self.max_added = self.max_added.max(self.added);
        }
    }
    pub(crate) fn del_member(&mut self, slot_state: u8) {
        if slot_state & state::INTERNAL == 0 {
            self.added -= 1;
        }
    }
    /// Records the high-water marks of the added and `active` counts.
    #[inline]
    pub(crate) fn note_peaks(&mut self, active: usize) {
        self.max_added = self.max_added.max(self.added);
        self.max_active = self.max_active.max(active);
    }
}

/// What the base's tables take, in bytes, as filled now
/// ([`EventBase::memory`]). Tables indexed by event slot or by handle are
/// counted at their current length (a fixed-storage base reserves its full
/// capacity up front); the constant parts of the base (priority queue
/// heads, the backend) are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memory {
    /// Live events, internal ones included.
    pub events: usize,
    /// The event slots (libevent's `struct event` minus its list links).
    pub slots: usize,
    /// The timer heap, its position table and the common-queue links.
    pub timers: usize,
    /// The active queues' per-event state and links.
    pub queues: usize,
    /// The fd map (one entry per handle number up to the largest used), the
    /// signal map and the links of their per-handle lists.
    pub handles: usize,
}

impl Memory {
    /// Every table together.
    pub fn total(&self) -> usize {
        self.slots + self.timers + self.queues + self.handles
    }

    /// [`total`](Self::total) divided by the live events, rounded up (0
    /// without events): what one registered event costs, its share of the
    /// fd map included.
    pub fn per_event(&self) -> usize {
        if self.events == 0 {
            0
        } else {
            self.total().div_ceil(self.events)
        }
    }
}

/// No cached time: `now()` reads the clock.
const NO_CACHE: u64 = u64::MAX;
/// The cached time is stale: the first `now()` of the batch reads the clock
/// and keeps it (most batches never ask for the time).
const STALE_CACHE: u64 = u64::MAX - 1;

/// Wall clock minus monotonic clock.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WallOffset {
    Ahead(Duration),
    Behind(Duration),
}

/// How a loop run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `loop_exit`, `loop_break`, or a `ONCE`/`NONBLOCK` run finished
    /// (libevent's 0).
    Done,
    /// Nothing was pending or active (libevent's 1).
    NoEvents,
}

/// Everything of a base but its backend and changelist, so a backend can
/// report readiness into it while they are borrowed.
pub(crate) struct Core<P: Platform, S: Storage> {
    pub(crate) platform: P,
    pub(crate) slots: Slab<Slot<P, S>, S>,
    pub(crate) queues: ActiveQueues<S>,
    pub(crate) timers: Timers<S>,
    pub(crate) handles: HandleMap<S>,
    pub(crate) counts: Counts,
    /// The cached time in nanoseconds, or [`NO_CACHE`] / [`STALE_CACHE`]
    /// (one compare on the hot path).
    pub(crate) cache: u64,
    /// Wall clock minus monotonic clock, read once per cached time so that
    /// one batch sees one time of day.
    pub(crate) wall_offset: Option<WallOffset>,
    pub(crate) flags: BaseFlags,
    pub(crate) limits: DispatchLimits,
    pub(crate) loop_running: bool,
    /// An activation at a priority below this one asks the loop to
    /// `continue`: the priority being drained, 0 (none) outside `process_active`.
    pub(crate) preempt_below: u8,
    pub(crate) running_event: Option<u32>,
    /// `loop_break`, `loop_exit` and `loop_continue` requests
    /// ([`crate::run::stop`] bits): the loop tests one word per callback.
    pub(crate) stop: u8,
    /// Whether the platform has a remote inbox (fixed for the base's life).
    pub(crate) has_inbox: bool,
    pub(crate) got_break: bool,
    pub(crate) got_exit: bool,
    pub(crate) skip_finalizers: bool,
}

/// One event loop: libevent's `event_base`, over platform `P` with storage `S`.
///
/// Events are made with [`EventBase::new_event`] and named by [`EventId`]s;
/// callbacks get `&mut EventBase`, so they may add, delete, activate or free
/// any event, their own included, and stop the loop.
pub struct EventBase<P: Platform, S: Storage> {
    pub(crate) core: Core<P, S>,
    pub(crate) changelist: Changelist<S>,
    pub(crate) backend: P::Backend,
    /// Prepare and check watchers (`watch.rs`).
    pub(crate) watchers: Watchers<P, S>,
}

static NEXT_TAG: Mutex<Cell<u32>> = Mutex::new(Cell::new(1));

fn next_tag() -> u32 {
    critical_section::with(|cs| {
        let cell = NEXT_TAG.borrow(cs);
        let tag = cell.get();
        cell.set(tag.wrapping_add(1));
        tag
    })
}

impl<P: Platform, S: Storage> EventBase<P, S> {
    /// A base with the default config (libevent's `event_base_new`).
    ///
    /// # Errors
    /// [`Error::NoBackend`] when no method of the platform can be opened.
    pub fn new(platform: P) -> Result<Self, Error> {
        Self::with_config(platform, &Config::default())
    }

    /// A base with `config` (libevent's `event_base_new_with_config`): the
    /// first method of the platform, in preference order, that the config
    /// and the environment allow and that opens. The config's
    /// [preferred](Config::prefer_method) method is tried first; without one,
    /// `EVENT_IO_URING` in the environment prefers `io_uring`.
    ///
    /// # Errors
    /// [`Error::NoBackend`]; [`with_config_report`](Self::with_config_report)
    /// says why each method was not chosen.
    pub fn with_config(platform: P, config: &Config) -> Result<Self, Error> {
        Self::with_config_report(platform, config, &mut SelectionReport::new())
    }

    /// [`with_config`](Self::with_config), writing into `report` (cleared
    /// first) each method ruled out or failing to open, and why.
    ///
    /// # Errors
    /// [`Error::NoBackend`] when no method was chosen.
    pub fn with_config_report(mut platform: P, config: &Config, report: &mut SelectionReport) -> Result<Self, Error> {
        report.clear();
        let use_env = !config.flags().contains(BaseFlags::IGNORE_ENV);
        let mut flags = config.flags();
        if use_env && platform.env("EVENT_PRECISE_TIMER") {
            flags |= BaseFlags::PRECISE_TIMER;
        }
        if use_env && platform.env("EVENT_EPOLL_USE_CHANGELIST") {
            flags |= BaseFlags::EPOLL_USE_CHANGELIST;
        }
        let mut opened = config.clone();
        opened.set_flag(flags);
        if use_env && config.preferred_method().is_none() && platform.env("EVENT_IO_URING") {
            let _ = opened.prefer_method("io_uring");
        }

        let mut backend = None;
        for method in config::candidates(&opened, platform.methods()) {
            let verdict = config::rejection(&opened, method, &mut |name| platform.env(name));
            let verdict = match verdict {
                Some(why) => Some(why),
                None => match platform.open(method, &opened) {
                    Ok(b) => {
                        backend = Some(b);
                        None
                    }
                    Err(e) => Some(Rejection::OpenFailed(e)),
                },
            };
            match verdict {
                Some(why) => {
                    report.push(method.name, why);
                }
                None => break,
            }
        }
        let Some(backend) = backend else {
            return Err(Error::NoBackend);
        };
        if platform.env("EVENT_SHOW_METHOD") {
            platform.show_method(backend.method().name);
        }
        let tag = next_tag();
        if let Some(inbox) = platform.inbox() {
            inbox.attach(
                tag,
                if flags.contains(BaseFlags::NOLOCK) {
                    None
                } else {
                    backend.waker()
                },
            );
        }
        let has_inbox = platform.inbox().is_some();
        Ok(EventBase {
            core: Core {
                platform,
                slots: Slab::new(tag),
                queues: ActiveQueues::new(),
                timers: Timers::new(),
                handles: HandleMap::new(),
                counts: Counts::default(),
                cache: NO_CACHE,
                wall_offset: None,
                flags,
                limits: config.dispatch_limits(),
                loop_running: false,
                preempt_below: 0,
                running_event: None,
                stop: 0,
                has_inbox,
                got_break: false,
                got_exit: false,
                skip_finalizers: false,
            },
            changelist: Changelist::new(),
            backend,
            watchers: Watchers::new(),
        })
    }

    /// The backend's method (libevent's `event_base_get_method`).
    pub fn method(&self) -> &'static Method {
        self.backend.method()
    }

    /// The backend's features.
    pub fn features(&self) -> Features {
        self.backend.method().features
    }

    /// The base's flags, after the environment was read.
    pub fn flags(&self) -> BaseFlags {
        self.core.flags
    }

    /// The platform (to reach its services, e.g. a simulated clock).
    pub fn platform(&self) -> &P {
        &self.core.platform
    }

    /// The platform, mutably.
    pub fn platform_mut(&mut self) -> &mut P {
        &mut self.core.platform
    }

    /// The number of priorities.
    pub fn npriorities(&self) -> usize {
        self.core.queues.npriorities()
    }

    /// Sets the number of priorities (libevent's `event_base_priority_init`):
    /// `n` in `1..=255`; events made afterwards get priority `n / 2`.
    /// Existing events keep theirs, except that a priority beyond the new
    /// range becomes the least urgent one (libevent would assert when such
    /// an event activates).
    ///
    /// # Errors
    /// [`Error::InvalidPriorityCount`], or [`Error::EventsActive`] while any
    /// callback is active. The base is unchanged then.
    pub fn priority_init(&mut self, n: usize) -> Result<(), Error> {
        self.core.queues.set_priorities(n)?;
        let least = (n - 1) as u8;
        for index in 0..self.core.slots.bound() {
            if let Some(id) = self.core.slots.id_of(index) {
                let slot = self.core.slots.at_mut(id.index);
                slot.priority = slot.priority.min(least);
            }
        }
        Ok(())
    }

    /// Monotonic "now": the cached time inside the loop, else the clock.
    pub fn now(&mut self) -> Instant {
        self.core.now()
    }

    /// Reads the monotonic clock, bypassing the cache
    /// (libevent's `event_gettime_monotonic`).
    pub fn gettime_monotonic(&mut self) -> Instant {
        self.core.platform.now()
    }

    /// Refreshes the cached time, if the loop is running and caching is on
    /// (libevent's `event_base_update_cache_time`).
    pub fn update_cache_time(&mut self) {
        if self.core.loop_running {
            self.core.update_cache();
        }
    }

    /// Runs `batch` with "now" read once: every timer it adds outside the
    /// loop counts from that instant, instead of each add reading the clock
    /// (libev's `ev_now_update` before a burst of `ev_timer_start`s; libevent
    /// reads the clock on every add outside its loop). Inside a callback the
    /// loop's cached time already applies and `batch` just runs; with
    /// `NO_CACHE_TIME` every add reads the clock as usual.
    pub fn with_cached_time<R>(&mut self, batch: impl FnOnce(&mut Self) -> R) -> R {
        if self.core.loop_running {
            return batch(self);
        }
        self.core.update_cache();
        let result = batch(self);
        if !self.core.loop_running {
            self.core.clear_cache();
        }
        result
    }

    /// Wall-clock time of day, from the cached time when the loop holds one
    /// (libevent's `event_base_gettimeofday_cached`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the platform has no wall clock.
    pub fn gettimeofday_cached(&mut self) -> Result<Duration, Error> {
        let mono = self.core.now();
        self.core.wall_of(mono).ok_or(Error::Unsupported(&"wall clock"))
    }

    /// Sum of the counters in `which` (libevent's `event_base_get_num_events`).
    pub fn num_events(&self, which: Count) -> usize {
        let c = &self.core.counts;
        let mut n = 0;
        if which.contains(Count::ACTIVE) {
            n += self.core.queues.len();
        }
        if which.contains(Count::VIRTUAL) {
            n += c.virtual_;
        }
        if which.contains(Count::ADDED) {
            n += c.added;
        }
        n
    }

    /// Sum of the high-water marks in `which`; `clear` resets those read
    /// to the current values (libevent's `event_base_get_max_events`).
    pub fn max_events(&mut self, which: Count, clear: bool) -> usize {
        let active = self.core.queues.len();
        let c = &mut self.core.counts;
        let mut n = 0;
        if which.contains(Count::ACTIVE) {
            n += c.max_active;
            if clear {
                c.max_active = active;
            }
        }
        if which.contains(Count::VIRTUAL) {
            n += c.max_virtual;
            if clear {
                c.max_virtual = c.virtual_;
            }
        }
        if which.contains(Count::ADDED) {
            n += c.max_added;
            if clear {
                c.max_added = c.added;
            }
        }
        n
    }

    /// What the base's tables take now (see [`Memory`]);
    /// `memory().per_event()` is the cost of one registered event.
    pub fn memory(&self) -> Memory {
        let c = &self.core;
        Memory {
            events: c.slots.live(),
            slots: c.slots.table_bytes(),
            timers: c.timers.table_bytes(),
            queues: c.queues.table_bytes(),
            handles: c.handles.table_bytes(),
        }
    }

    /// Keeps the loop from returning [`Exit::NoEvents`] (libevent's virtual
    /// events): each call holds it alive until a matching `del_virtual`.
    pub fn add_virtual(&mut self) {
        let c = &mut self.core.counts;
        c.virtual_ += 1;
        c.max_virtual = c.max_virtual.max(c.virtual_);
    }

    /// Releases one [`EventBase::add_virtual`].
    pub fn del_virtual(&mut self) {
        self.core.counts.virtual_ = self.core.counts.virtual_.saturating_sub(1);
    }

    /// The event whose callback is running now, if called from a callback.
    pub fn running_event(&self) -> Option<EventId> {
        self.core.running_event.and_then(|i| self.core.slots.id_of(i))
    }

    /// Rebuilds the backend after `fork` (libevent's `event_reinit`): a new
    /// kernel object, every handle and signal registered again, a new
    /// wake-up. Call it in the child if it keeps using the base.
    ///
    /// # Errors
    /// [`Error::Os`] when the backend cannot be rebuilt (out of
    /// descriptors, say): nothing has changed then, the old kernel object
    /// and descriptors are kept, and `reinit` can be called again. The
    /// first handle or signal that cannot be registered again (closed in
    /// the child): the base is rebuilt all the same — the one error after
    /// which the base is not as it was.
    pub fn reinit(&mut self) -> Result<(), Error> {
        self.backend.reinit()?;
        self.changelist.clear();
        if let Some(inbox) = self.core.platform.inbox() {
            let nolock = self.core.flags.contains(BaseFlags::NOLOCK);
            inbox.attach(self.core.slots.tag(), if nolock { None } else { self.backend.waker() });
        }
        self.core.handles.reregister(&mut self.backend)
    }

    /// Whether the last loop run ended through `loop_exit`.
    pub fn got_exit(&self) -> bool {
        self.core.got_exit
    }

    /// Whether the last loop run ended through `loop_break`.
    pub fn got_break(&self) -> bool {
        self.core.got_break
    }

    /// Frees the base without running pending finalizers
    /// (libevent's `event_base_free_nofinalize`).
    pub fn free_nofinalize(mut self) {
        self.core.skip_finalizers = true;
    }
}

impl<P: Platform, S: Storage> Core<P, S> {
    #[inline]
    pub(crate) fn now(&mut self) -> Instant {
        if self.cache < STALE_CACHE {
            Instant::from_nanos(self.cache)
        } else {
            self.read_clock()
        }
    }

    /// The clock, kept as the cached time when the cache is stale.
    #[inline]
    fn read_clock(&mut self) -> Instant {
        let t = self.platform.now();
        if self.cache == STALE_CACHE {
            // A clock never reads the sentinels (584 years of uptime).
            self.cache = t.as_nanos().min(STALE_CACHE - 1);
        }
        t
    }

    pub(crate) fn clear_cache(&mut self) {
        self.cache = NO_CACHE;
        self.wall_offset = None;
    }

    /// After a wait: the cached time is refilled by the batch's first
    /// `now()` (unless `NO_CACHE_TIME`).
    #[inline]
    pub(crate) fn stale_cache(&mut self) {
        self.wall_offset = None;
        self.cache = if self.flags.contains(BaseFlags::NO_CACHE_TIME) {
            NO_CACHE
        } else {
            STALE_CACHE
        };
    }

    pub(crate) fn update_cache(&mut self) {
        self.wall_offset = None;
        self.cache = if self.flags.contains(BaseFlags::NO_CACHE_TIME) {
            NO_CACHE
        } else {
            self.platform.now().as_nanos().min(STALE_CACHE - 1)
        };
    }

    /// Converts a monotonic instant to wall-clock time. The offset between
    /// the clocks is read once per cached time (libevent's `tv_clock_diff`).
    pub(crate) fn wall_of(&mut self, mono: Instant) -> Option<Duration> {
        if self.cache == STALE_CACHE {
            // Fix the batch's time first, so the offset below is kept.
            self.read_clock();
        }
        let offset = match self.wall_offset {
            Some(o) => o,
            None => {
                let wall = self.platform.wall_now()?;
                let now = Duration::from_nanos(self.platform.now().as_nanos());
                let o = if wall >= now {
                    WallOffset::Ahead(wall - now)
                } else {
                    WallOffset::Behind(now - wall)
                };
                if self.cache < STALE_CACHE {
                    self.wall_offset = Some(o);
                }
                o
            }
        };
        let mono = Duration::from_nanos(mono.as_nanos());
        Some(match offset {
            WallOffset::Ahead(d) => mono.saturating_add(d),
            WallOffset::Behind(d) => mono.saturating_sub(d),
        })
    }

    /// Activates slot `key` with `res` (libevent's `event_active_nolock_`):
    /// ORs into a pending activation, promotes an active-later one.
    pub(crate) fn activate(&mut self, key: u32, res: What, ncalls: u16) {
        self.activate_inline(key, res, ncalls);
        self.counts.note_peaks(self.queues.len());
    }

    /// [`activate`](Self::activate), inlined into the readiness path,
    /// without the high-water marks: during a backend's report the counts
    /// only rise, so the loop records the peaks once, after it.
    #[inline(always)]
    pub(crate) fn activate_inline(&mut self, key: u32, res: What, ncalls: u16) {
        let slot = self.slots.at_mut(key);
        if slot.has(state::FINALIZING) && !res.contains(What::FINALIZE) {
            return;
        }
        if slot.events.contains(What::SIGNAL) {
            slot.ncalls = ncalls;
        }
        let priority = slot.priority;
        let slot_state = slot.state;
        match self.queues.queued_later(key) {
            Some(false) => {
                slot.res |= res;
                return;
            }
            Some(true) => {
                slot.res |= res;
                self.queues.remove(key);
                self.queues.push(key, priority);
            }
            None => {
                slot.res = res;
                self.queues.push(key, priority);
                if slot_state & state::INTERNAL == 0 {
                    self.counts.added += 1;
                }
            }
        }
        if priority < self.preempt_below {
            self.stop |= crate::run::stop::CONTINUE;
        }
    }

    /// Takes slot `key` off the active or active-later queue.
    pub(crate) fn deactivate(&mut self, key: u32) {
        if self.queues.remove(key) {
            let st = self.slots.at(key).state;
            self.counts.del_member(st);
        }
    }

    /// Makes a new slot (internal bookkeeping shared by user and internal events).
    pub(crate) fn insert_slot(&mut self, slot: Slot<P, S>) -> Result<EventId, Error> {
        let id = self.slots.insert(slot)?;
        if let Err(e) = self.queues.reserve_key(id.index) {
            self.discard_slot(id.index);
            return Err(e);
        }
        Ok(id)
    }

    /// Frees slot `key`, made by a call that is failing and never handed
    /// out: a slot appended for it leaves the tables as they were before
    /// (the slot table and the queue links that cover it shrink back); a
    /// reused one goes back to the free list, which changes no table.
    pub(crate) fn discard_slot(&mut self, key: u32) {
        if self.slots.unpush(key) {
            self.queues.truncate_keys(key as usize);
        } else {
            self.slots.remove(key);
        }
    }

    pub(crate) fn empty_slot(&self, source: crate::Source, events: What, callback: Kind<P, S>) -> Slot<P, S> {
        Slot {
            source,
            events,
            res: What::empty(),
            priority: self.queues.default_priority(),
            state: 0,
            common: 0,
            ncalls: 0,
            deadline: Instant::ZERO,
            interval: 0,
            callback,
        }
    }
}

impl<P: Platform, S: Storage> Drop for EventBase<P, S> {
    /// libevent's `event_base_free`: pending finalizers run (they may queue
    /// more), then everything is released; the backend's own drop closes its
    /// kernel objects and restores signal handlers.
    fn drop(&mut self) {
        self.core.preempt_below = 0;
        while !self.core.skip_finalizers {
            let mut ran = false;
            while let Some(pri) = self.core.queues.first_nonempty() {
                let Some(key) = self.core.queues.pop(pri) else { break };
                if self.core.slots.at(key).has(state::FINALIZING) {
                    self.run_finalizer(key);
                    ran = true;
                }
            }
            self.core.queues.promote_later();
            if !ran && self.core.queues.is_empty() {
                break;
            }
        }
        // Remote senders learn that nothing will apply what they send
        // (`Error::Closed`), and stop waking a backend about to close.
        if let Some(inbox) = self.core.platform.inbox() {
            inbox.detach();
        }
    }
}
