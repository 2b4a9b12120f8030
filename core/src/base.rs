//! The event base: construction, queries, time, priorities, teardown.

use core::cell::Cell;
use core::time::Duration;

use critical_section::Mutex;

use crate::event::{NIL, state};
use crate::fdmap::HandleMap;
use crate::platform::{Backend, Platform};
use crate::queues::Queues;
use crate::slab::Table;
use crate::timers::Timers;
use crate::watch::Watchers;
use crate::{
    BaseFlags, Changelist, Config, DispatchLimits, Error, EventId, Features, Instant, Method, Rejection,
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
    #[inline(always)]
    pub(crate) fn add_member(&mut self, slot_state: u16) {
        if slot_state & state::INTERNAL == 0 {
            self.added += 1;
            if self.added > self.max_added {
                self.max_added = self.added;
            }
        }
    }
    #[inline(always)]
    pub(crate) fn del_member(&mut self, slot_state: u16) {
        if slot_state & state::INTERNAL == 0 {
            self.added -= 1;
        }
    }
    /// Records the high-water marks of the added and `active` counts.
    #[inline]
    pub(crate) fn note_peaks(&mut self, active: usize) {
        // Branches: a new peak is rare.
        if self.added > self.max_added {
            self.max_added = self.added;
        }
        if active > self.max_active {
            self.max_active = active;
        }
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
    /// The event records (libevent's `struct event`: what an event watches,
    /// its callback, its links in its handle's list and its active queue,
    /// its heap position), and the closures of closure callbacks.
    pub slots: usize,
    /// The timer heap, the intervals of persistent timers and the
    /// common-queue links.
    pub timers: usize,
    /// The fd map (one entry per handle number up to the largest used) and
    /// the signal map.
    pub handles: usize,
    /// The prepare and check watchers (not counted per event: a base's
    /// watchers are few and not tied to its events).
    pub watchers: usize,
}

impl Memory {
    /// Every table together.
    pub fn total(&self) -> usize {
        self.slots + self.timers + self.handles + self.watchers
    }

    /// The events' tables (all but the watchers) divided by the live
    /// events, rounded up (0 without events): what one registered event
    /// costs, its share of the fd map included.
    pub fn per_event(&self) -> usize {
        if self.events == 0 {
            0
        } else {
            (self.total() - self.watchers).div_ceil(self.events)
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
    pub(crate) slots: Table<P, S>,
    pub(crate) queues: Queues<S>,
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
    /// What `cache` becomes after a wait: [`STALE_CACHE`], or [`NO_CACHE`]
    /// with `NO_CACHE_TIME`.
    pub(crate) stale: u64,
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
                slots: Table::new(tag),
                queues: Queues::new(),
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
                stale: if flags.contains(BaseFlags::NO_CACHE_TIME) {
                    NO_CACHE
                } else {
                    STALE_CACHE
                },
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
            let r = self.core.slots.at_mut(index);
            r.priority = r.priority.min(least);
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
            handles: c.handles.table_bytes(),
            watchers: self.watchers.table_bytes(),
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
        self.core.handles.reregister(&self.core.slots, &mut self.backend)
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
        self.cache = self.stale;
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

    /// Activates record `key` with `res` (libevent's `event_active_nolock_`):
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
        let r = self.slots.at_mut(key);
        let st = r.state;
        if st & (state::FINALIZING | state::QUEUED | state::SIG) != 0 {
            return self.activate_again(key, res, ncalls);
        }
        let priority = r.priority;
        r.res = res;
        r.state = st | state::QUEUED;
        r.qnext = NIL;
        let last = self.queues.append(key, priority);
        r.qprev = last;
        if last != NIL {
            self.slots.at_mut(last).qnext = key;
        }
        if st & state::INTERNAL == 0 {
            self.counts.added += 1;
        }
        if priority < self.preempt_below {
            self.stop |= crate::run::stop::CONTINUE;
        }
    }

    /// [`activate_inline`](Self::activate_inline) of a queued, finalizing or
    /// signal event.
    #[inline(never)]
    fn activate_again(&mut self, key: u32, res: What, ncalls: u16) {
        let r = self.slots.at_mut(key);
        let st = r.state;
        if st & state::FINALIZING != 0 && !res.contains(What::FINALIZE) {
            return;
        }
        if r.events.contains(What::SIGNAL) {
            r.ncalls = ncalls;
        }
        let priority = r.priority;
        if st & state::QUEUED != 0 {
            r.res |= res;
            if st & state::LATER == 0 {
                return;
            }
            r.state = st & !state::LATER;
            self.queues.remove_later(&mut self.slots, key);
        } else {
            r.res = res;
            r.state = st | state::QUEUED;
            if st & state::INTERNAL == 0 {
                self.counts.added += 1;
            }
        }
        self.queues.push(&mut self.slots, key, priority);
        if priority < self.preempt_below {
            self.stop |= crate::run::stop::CONTINUE;
        }
    }

    /// Takes record `key` off the active or active-later queue.
    #[inline]
    pub(crate) fn deactivate(&mut self, key: u32) {
        let r = self.slots.at_mut(key);
        let st = r.state;
        if st & state::QUEUED == 0 {
            return;
        }
        r.state = st & !(state::QUEUED | state::LATER | state::REARMED);
        if st & state::LATER != 0 {
            self.queues.remove_later(&mut self.slots, key);
        } else {
            let priority = r.priority;
            self.queues.remove(&mut self.slots, key, priority);
        }
        self.counts.del_member(st);
    }

    /// A new record for an event on `source` watching `events`, at the
    /// default priority.
    pub(crate) fn new_record(
        &mut self,
        source: crate::Source,
        events: What,
        callback: crate::event::Kind<P, S>,
    ) -> Result<EventId, Error> {
        let priority = self.queues.default_priority();
        let id = self.slots.insert(source, events, priority, callback)?;
        self.timers.set_interval(id.index, 0);
        Ok(id)
    }

    /// Frees record `key`, made by a call that is failing and never handed
    /// out: a record appended for it leaves the table as it was before; a
    /// reused one goes back to the free list, which changes no table.
    pub(crate) fn discard_record(&mut self, key: u32) {
        if !self.slots.unpush(key) {
            self.slots.remove(key);
        }
    }

    /// Disarms the heap timer of record `key`, in state `st`, which is in no
    /// other queue or map.
    #[inline]
    pub(crate) fn del_heap_timer(&mut self, key: u32, st: u16) {
        let r = self.slots.at_mut(key);
        r.state = st & !(state::TIMEOUT | state::REARMED);
        r.ncalls = 0;
        let at = r.heap;
        self.timers.heap.erase_at(&mut self.slots, at, key);
        self.counts.del_member(st);
    }

    /// Sets the re-arm interval of persistent record `key` (0: none); room
    /// for a non-zero one was reserved.
    #[inline(always)]
    pub(crate) fn set_interval(&mut self, key: u32, interval: u64) {
        self.timers.set_interval(key, interval);
        let r = self.slots.at_mut(key);
        if interval != 0 {
            r.state |= state::INTERVAL;
        } else {
            r.state &= !state::INTERVAL;
        }
    }

    /// Takes the front record of the queue of `priority`, no longer queued.
    #[inline]
    pub(crate) fn pop(&mut self, priority: u8) -> Option<u32> {
        let key = self.queues.front(priority);
        if key == NIL {
            return None;
        }
        let r = self.slots.at_mut(key);
        r.state &= !state::QUEUED;
        let next = r.qnext;
        self.queues.advance(priority, next);
        Some(key)
    }

    /// Moves every active-later record, in order, to the back of the queue
    /// of its priority (libevent's `event_base_process_active_later`).
    #[inline(always)]
    pub(crate) fn promote_later(&mut self) {
        if self.queues.has_later() {
            self.promote_later_slow();
        }
    }

    fn promote_later_slow(&mut self) {
        while let Some(key) = self.queues.first_later() {
            self.queues.remove_later(&mut self.slots, key);
            let r = self.slots.at_mut(key);
            r.state &= !state::LATER;
            let priority = r.priority;
            self.queues.push(&mut self.slots, key, priority);
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
                let Some(key) = self.core.pop(pri) else { break };
                if self.core.slots.at(key).has(state::FINALIZING) {
                    self.run_finalizer(key);
                    ran = true;
                }
            }
            self.core.promote_later();
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
