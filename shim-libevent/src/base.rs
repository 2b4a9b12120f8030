//! `struct event_base`: one evbase base and what C needs beside it, and the
//! rule for reaching it from any thread.
//!
//! A base is reached in one of three ways:
//! - from inside one of its own callbacks, on the thread running its loop:
//!   through the core base the callback was handed (no lock; the loop
//!   holds the only `&mut`);
//! - from any thread while no loop runs: under the base's lock;
//! - from another thread while the loop runs: the request is queued
//!   ([`Cross`]) and an internal event is activated to apply it on the
//!   loop thread, as libevent's notification does.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::ffi::c_void;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use evbase_core::{Callback, CommonTimeout, EventId, What};
use evbase_std::{CoreBase, Remote};

use crate::layout::Event;

/// The C type `struct event_base`: opaque to C.
#[repr(C)]
pub struct RawBase {
    _opaque: [u8; 0],
}

/// A request from another thread, applied on the loop thread.
#[derive(Clone, Copy)]
pub(crate) enum CrossOp {
    Add(*mut Event, Option<Duration>),
    Del(*mut Event),
    Active(*mut Event, i16, i16),
    ActiveLater(*mut Event, i16),
    RemoveTimer(*mut Event),
    Exit(Option<Duration>),
    FreeWatcher(evbase_core::WatchId),
}

/// The queue of [`CrossOp`]s; the base counts how many were queued and
/// applied, so that the loop's check is two atomic loads.
#[derive(Default)]
pub(crate) struct Cross {
    ops: VecDeque<CrossOp>,
}

/// A base as C sees it.
pub struct CBase {
    /// `None` only while `event_base_free` takes it apart.
    base: UnsafeCell<Option<evbase_std::EventBase>>,
    /// Held while a thread uses `base` outside a callback, and for the
    /// whole of a loop run.
    lock: BaseLock,
    /// The id of the thread running the loop ([`thread_id`]), or 0.
    loop_thread: AtomicU64,
    /// While a callback of this base's loop runs: the core base it was
    /// handed (written and read only by the loop's thread).
    current: AtomicPtr<CoreBase>,
    remote: Remote,
    cross: Mutex<Cross>,
    cross_queued: AtomicU64,
    cross_applied: AtomicU64,
    cross_done: Condvar,
    /// The internal event that applies [`Cross`] requests on the loop.
    drain: EventId,
    /// The common timeouts handed out, at stable addresses (C keeps the
    /// pointer `event_base_init_common_timeout` returns).
    pub(crate) common: Mutex<Vec<(Box<libc::timeval>, CommonTimeout)>>,
}

// SAFETY: `base` is only touched under `lock` or by the thread running the
// loop (which holds `lock` for the whole run); the raw event pointers in
// `cross` are only dereferenced on the loop thread, as libevent's own
// cross-thread requests are.
unsafe impl Sync for CBase {}
// SAFETY: as above; a base may be freed from any thread while no loop runs.
unsafe impl Send for CBase {}

/// The calling thread's id (`pthread_self`, never 0 on the systems this
/// library builds for). Not a thread-local: in a shared library those cost
/// a call to `__tls_get_addr` on every access.
#[inline]
pub(crate) fn thread_id() -> u64 {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as u64 }
}

/// The base's lock. Nobody sleeps on it: a caller that finds it held goes
/// through the cross-thread queue when a loop runs, or yields and retries
/// while another thread makes a short call. So a flag is all it needs.
pub(crate) struct BaseLock(AtomicBool);

/// A held [`BaseLock`], released on drop.
pub(crate) struct LockGuard<'a>(&'a AtomicBool);

impl BaseLock {
    fn try_lock(&self) -> Option<LockGuard<'_>> {
        self.0
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| LockGuard(&self.0))
    }

    fn lock(&self) -> LockGuard<'_> {
        loop {
            if let Some(g) = self.try_lock() {
                return g;
            }
            std::thread::yield_now();
        }
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// How a caller reaches a base now.
pub(crate) enum Access<'a> {
    /// Directly (the guard, if any, is held until the access ends).
    Direct(&'a mut CoreBase, Option<LockGuard<'a>>),
    /// Through the cross-thread queue: the loop runs on another thread.
    Cross,
}

impl CBase {
    /// A new base with `config`, in memory from the user's allocator
    /// (`event_set_mem_functions`), as libevent's bases are. NULL when that
    /// allocator fails.
    pub(crate) fn create(config: &evbase_core::Config) -> Result<*mut CBase, evbase_std::Error> {
        // The memory first: the drain event's word is its address.
        let p = crate::mm::malloc(std::mem::size_of::<CBase>()) as *mut CBase;
        if p.is_null() {
            return Ok(p);
        }
        match Self::build(config, p) {
            Ok(cbase) => {
                // SAFETY: fresh memory of CBase's size from malloc, which
                // aligns for any type.
                unsafe { p.write(cbase) };
                Ok(p)
            }
            Err(e) => {
                // SAFETY: the memory just allocated, never handed out.
                unsafe { crate::mm::free(p as *mut c_void) };
                Err(e)
            }
        }
    }

    /// The base that will live at `at`.
    fn build(config: &evbase_core::Config, at: *mut CBase) -> Result<CBase, evbase_std::Error> {
        let sys = evbase_posix::PosixPlatform::new().with_show_method(announce_method);
        let mut base = evbase_std::EventBase::with_platform(evbase_std::OsPlatform::from_sys(sys), config)?;
        let remote = base.remote();
        let core = base.core_mut();
        let drain = core.new_event(
            evbase_core::Source::None,
            What::empty(),
            Callback::from_fn(drain_cross, at as usize),
        )?;
        core.set_priority(drain, 0)?;
        Ok(CBase {
            base: UnsafeCell::new(Some(base)),
            lock: BaseLock(AtomicBool::new(false)),
            loop_thread: AtomicU64::new(0),
            current: AtomicPtr::new(std::ptr::null_mut()),
            remote,
            cross: Mutex::new(Cross::default()),
            cross_queued: AtomicU64::new(0),
            cross_applied: AtomicU64::new(0),
            cross_done: Condvar::new(),
            drain,
            common: Mutex::new(Vec::new()),
        })
    }

    /// Records that a callback of this base's loop was handed `core`:
    /// calls from the callback into the base go through it.
    #[inline]
    pub(crate) fn enter(&self, core: &mut CoreBase) {
        self.current.store(core, Ordering::Relaxed);
    }

    /// The base behind a C pointer.
    ///
    /// # Safety
    /// `raw` is NULL or a pointer returned by `event_base_new*` and not yet
    /// freed.
    pub(crate) unsafe fn from_raw<'a>(raw: *mut RawBase) -> Option<&'a CBase> {
        // SAFETY: the caller's promise: NULL or a live `CBase`.
        unsafe { (raw as *const CBase).as_ref() }
    }

    /// The internal event that applies cross-thread requests.
    pub(crate) fn drain_id(&self) -> EventId {
        self.drain
    }

    /// Whether the calling thread runs this base's loop now.
    pub(crate) fn on_loop_thread(&self) -> bool {
        self.loop_thread.load(Ordering::Relaxed) == thread_id()
    }

    /// Reaches the base from the calling thread (see the module's doc).
    pub(crate) fn access(&self) -> Access<'_> {
        if self.on_loop_thread() {
            let core = self.current.load(Ordering::Relaxed);
            if !core.is_null() {
                // SAFETY: `core` was handed to a callback of this base's
                // loop, which runs on this thread and is now inside that
                // callback (or a later one): the loop does not use its own
                // `&mut` until the callback returns.
                return Access::Direct(unsafe { &mut *core }, None);
            }
            return Access::Cross;
        }
        loop {
            let Some(guard) = self.lock.try_lock() else {
                if self.loop_thread.load(Ordering::Acquire) != 0 {
                    return Access::Cross;
                }
                // A short call from another thread holds it.
                std::thread::yield_now();
                continue;
            };
            // SAFETY: the lock is held and no loop runs (a loop holds the
            // lock for its whole run, and so does event_base_free).
            let Some(base) = (unsafe { &mut *self.base.get() }) else {
                return Access::Cross;
            };
            let core = base.core_mut();
            if self.has_cross() {
                apply_cross(self, core);
            }
            return Access::Direct(core, Some(guard));
        }
    }

    #[inline]
    fn has_cross(&self) -> bool {
        self.cross_applied.load(Ordering::Acquire) < self.cross_queued.load(Ordering::Acquire)
    }

    /// Queues `op` for the loop thread and wakes it; returns the request's
    /// number for [`CBase::wait_cross`].
    pub(crate) fn send_cross(&self, op: CrossOp) -> u64 {
        let seq = {
            let mut cross = self.cross.lock().unwrap_or_else(|e| e.into_inner());
            cross.ops.push_back(op);
            self.cross_queued.fetch_add(1, Ordering::AcqRel) + 1
        };
        if self.remote.activate(self.drain, What::READ).is_err() {
            // Only a full queue refuses; the loop applies the request at
            // its next drain or run anyway.
            crate::log::warn(format_args!("cross-thread request queued without a wake-up"));
        }
        seq
    }

    /// Waits until request `seq` has been applied (libevent's `event_del`
    /// from another thread waits out a running callback; the drain runs
    /// between callbacks). If the loop stops first, applies it here.
    pub(crate) fn wait_cross(&self, seq: u64) {
        let mut cross = self.cross.lock().unwrap_or_else(|e| e.into_inner());
        while self.cross_applied.load(Ordering::Acquire) < seq {
            if self.loop_thread.load(Ordering::Acquire) == 0 {
                drop(cross);
                // Taking the base applies what is queued.
                if let Access::Direct(_, guard) = self.access() {
                    drop(guard);
                }
                cross = self.cross.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            cross = match self.cross_done.wait_timeout(cross, Duration::from_millis(5)) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// The remote handle (break and exit from other threads).
    pub(crate) fn remote(&self) -> &Remote {
        &self.remote
    }

    /// Runs the loop with `flags` on the calling thread. `Err(())` when a
    /// loop of this base already runs (libevent's reentrant invocation).
    pub(crate) fn run_loop(
        &self,
        flags: evbase_core::LoopFlags,
    ) -> Result<Result<evbase_core::Exit, evbase_core::Error>, ()> {
        if self.on_loop_thread() {
            return Err(());
        }
        let guard = loop {
            if let Some(g) = self.lock.try_lock() {
                break g;
            }
            if self.loop_thread.load(Ordering::Acquire) != 0 {
                return Err(());
            }
            std::thread::yield_now();
        };
        self.loop_thread.store(thread_id(), Ordering::Release);
        self.current.store(std::ptr::null_mut(), Ordering::Relaxed);
        // SAFETY: the lock is held for the whole run; calls from callbacks
        // reach the base through the `&mut` the callback is handed.
        let exit = match unsafe { &mut *self.base.get() } {
            Some(base) => {
                if self.has_cross() {
                    apply_cross(self, base.core_mut());
                }
                // The core's loop itself: evbase-std's wrapper keeps state
                // for `Remote::wait`, which this library does not use.
                Ok(base.core_mut().run(flags))
            }
            None => Err(()),
        };
        self.current.store(std::ptr::null_mut(), Ordering::Relaxed);
        self.loop_thread.store(0, Ordering::Release);
        drop(guard);
        exit
    }

    /// Takes the base apart (`event_base_free`): `finalize` runs pending
    /// finalizers, as libevent's `event_base_free` does.
    ///
    /// # Safety
    /// `this` came from [`CBase::create`] and is not used again.
    pub(crate) unsafe fn destroy(this: *mut CBase, finalize: bool) {
        // SAFETY: the caller's promise: a live CBase from `create`.
        let cbase = unsafe { &*this };
        let guard = cbase.lock.lock();
        // Finalizers run below may call into the base: as "the loop's
        // thread" they are queued, never given the base being dropped.
        cbase.loop_thread.store(thread_id(), Ordering::Release);
        // SAFETY: the lock is held; nothing else reaches `base` now.
        let base = unsafe { (*cbase.base.get()).take() };
        if let Some(base) = base {
            if finalize {
                drop(base);
            } else {
                base.into_core().free_nofinalize();
            }
        }
        drop(guard);
        // SAFETY: nothing refers to the CBase any more; its memory came
        // from `mm::malloc` in `create`.
        unsafe {
            this.drop_in_place();
            crate::mm::free(this as *mut c_void);
        }
    }
}

/// `EVENT_SHOW_METHOD`, said as libevent says it.
fn announce_method(name: &str) {
    let name = crate::loop_api::method_name(name).to_string_lossy();
    crate::log::msg(crate::log::LOG_MSG, format_args!("libevent using: {name}"));
}

/// Applies the queued cross-thread requests (the drain event's callback,
/// and the first taker of the base after a loop stops).
fn apply_cross(cbase: &CBase, core: &mut CoreBase) {
    loop {
        let op = {
            let mut cross = cbase.cross.lock().unwrap_or_else(|e| e.into_inner());
            match cross.ops.pop_front() {
                Some(op) => op,
                None => break,
            }
        };
        match op {
            CrossOp::Add(ev, timeout) => {
                let _ = crate::event::add_direct(core, ev, timeout);
            }
            CrossOp::Del(ev) => {
                let _ = crate::event::del_direct(core, ev);
            }
            CrossOp::Active(ev, res, ncalls) => crate::event::active_direct(core, ev, res, ncalls),
            CrossOp::ActiveLater(ev, res) => crate::event::active_later_direct(core, ev, res),
            CrossOp::RemoveTimer(ev) => {
                let _ = crate::event::remove_timer_direct(core, ev);
            }
            CrossOp::Exit(after) => {
                let _ = core.loop_exit(after);
            }
            CrossOp::FreeWatcher(id) => {
                let _ = core.free_watcher(id);
            }
        }
        // Counted under the queue's lock, so that a waiter between its
        // check and its wait cannot miss the notification.
        let cross = cbase.cross.lock().unwrap_or_else(|e| e.into_inner());
        cbase.cross_applied.fetch_add(1, Ordering::AcqRel);
        drop(cross);
        cbase.cross_done.notify_all();
    }
}

fn drain_cross(core: &mut CoreBase, _id: EventId, _what: What, word: usize) {
    // SAFETY: the drain event's word is the address of the CBase that owns
    // it, alive while its loop runs.
    let cbase = unsafe { &*(word as *const CBase) };
    cbase.enter(core);
    apply_cross(cbase, core);
}

/// Runs `f` on the base behind `raw` when it can be reached directly (no
/// loop of it runs on another thread). `None` for NULL or when it cannot.
pub(crate) fn with_core<R>(raw: *mut RawBase, f: impl FnOnce(&mut CoreBase) -> R) -> Option<R> {
    // SAFETY: C hands us NULL or a base it got from event_base_new.
    let cbase = unsafe { CBase::from_raw(raw) }?;
    match cbase.access() {
        Access::Direct(core, _guard) => Some(f(core)),
        Access::Cross => None,
    }
}

/// A C `void *` that is never a real argument: `event_self_cbarg`.
pub(crate) fn self_cbarg() -> *mut c_void {
    static MARK: u8 = 0;
    &MARK as *const u8 as *mut c_void
}

#[cfg(test)]
mod tests {
    use std::ffi::{c_int, c_short, c_void};
    use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
    use std::time::Duration;

    use crate::event_api::{event_add, event_free, event_new, event_pending};
    use crate::layout::{Event, Timeval};
    use crate::loop_api::{event_base_free, event_base_loop, event_base_loopbreak, event_base_new};

    use super::RawBase;

    struct Shared {
        base: AtomicPtr<RawBase>,
        fired: AtomicU32,
    }

    unsafe extern "C" fn fire_and_break(_fd: c_int, _what: c_short, arg: *mut c_void) {
        // SAFETY: the test passes a `Shared` that outlives the loop.
        let s = unsafe { &*(arg as *const Shared) };
        s.fired.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the running base.
        unsafe { event_base_loopbreak(s.base.load(Ordering::SeqCst)) };
    }

    /// While the loop runs on one thread, another thread's `event_add` is
    /// handed to the loop (evbase cannot touch a running base from outside)
    /// and applied at once: the timer fires and its callback ends the loop.
    #[test]
    fn cross_thread_add_is_applied_by_the_running_loop() {
        let base = event_base_new();
        let shared = Box::leak(Box::new(Shared {
            base: AtomicPtr::new(base),
            fired: AtomicU32::new(0),
        }));
        // SAFETY: a live base; the callback and its argument are valid.
        let ev = unsafe { event_new(base, -1, 0, Some(fire_and_break), shared as *mut Shared as *mut c_void) };
        let ev_addr = ev as usize;
        let adder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let tv = Timeval {
                tv_sec: 0,
                tv_usec: 1000,
            };
            // SAFETY: an event of a live base; the main thread runs its loop.
            let r = unsafe { event_add(ev_addr as *mut Event, &tv) };
            assert_eq!(r, 0);
        });
        let start = std::time::Instant::now();
        // NO_EXIT_ON_EMPTY: nothing is pending until the other thread adds.
        // SAFETY: a live base.
        assert_eq!(unsafe { event_base_loop(base, 4) }, 0);
        adder.join().unwrap();
        assert_eq!(shared.fired.load(Ordering::SeqCst), 1);
        assert!(
            start.elapsed() >= Duration::from_millis(51),
            "fired after {:?}",
            start.elapsed()
        );
        // SAFETY: the event and base are live and no loop runs.
        unsafe {
            assert_eq!(event_pending(ev, 0x01, std::ptr::null_mut()), 0);
            event_free(ev);
            event_base_free(base);
        }
    }

    unsafe extern "C" fn free_own_base(_fd: c_int, _what: c_short, arg: *mut c_void) {
        // SAFETY: the test passes a `Shared` that outlives the loop.
        let s = unsafe { &*(arg as *const Shared) };
        s.fired.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the base whose loop runs this callback: refused.
        unsafe { event_base_free(s.base.load(Ordering::SeqCst)) };
    }

    /// libevent frees a base under its own running loop (a use after
    /// free); evbase refuses with a warning and the loop ends normally.
    #[test]
    fn event_base_free_from_its_own_callback_is_refused() {
        let base = event_base_new();
        let shared = Box::leak(Box::new(Shared {
            base: AtomicPtr::new(base),
            fired: AtomicU32::new(0),
        }));
        // SAFETY: a live base; valid callback and argument.
        let ev = unsafe { event_new(base, -1, 0, Some(free_own_base), shared as *mut Shared as *mut c_void) };
        let tv = Timeval { tv_sec: 0, tv_usec: 0 };
        // SAFETY: live event and base.
        unsafe {
            assert_eq!(event_add(ev, &tv), 0);
            assert_eq!(
                event_base_loop(base, 0),
                1,
                "the loop ran out of events, the base still stands"
            );
            event_free(ev);
            event_base_free(base);
        }
        assert_eq!(shared.fired.load(Ordering::SeqCst), 1);
    }
}
