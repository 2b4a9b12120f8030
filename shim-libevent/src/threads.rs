//! `event2/thread.h`: the lock, condition and thread-id callbacks a program
//! installs, `evthread_use_pthreads`, and libevent's lock debugging.
//!
//! evbase's bases lock with their own mutexes whatever is installed here
//! (see [`crate::base`]); these tables exist because C code reads them.
//! libevent's internal header `evthread-internal.h` turns
//! `EVTHREAD_ALLOC_LOCK`, `EVLOCK_LOCK`, `EVTHREAD_COND_WAIT` and the rest
//! into direct calls through the exported structs `evthread_lock_fns_`
//! and `evthread_cond_fns_` (on every system but Windows), so those are
//! data symbols here with libevent's layout, and what the program installs
//! with `evthread_set_lock_callbacks` and friends lands in them.
//!
//! Lock debugging (`evthread_enable_lock_debugging`) works as libevent's:
//! the installed callbacks are set aside and `evthread_lock_fns_` hands out
//! checked locks that wrap a real one (or none, before any lock callbacks
//! are installed). A checked lock remembers its holder and depth, and a
//! misuse -- unlocking a lock this thread does not hold, freeing a held
//! lock, taking a plain lock twice -- is a fatal error.

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_uint, c_ulong, c_void};
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::base::RawBase;
use crate::layout::Timeval;

/// `EVTHREAD_WRITE`.
const WRITE: c_uint = 0x04;
/// `EVTHREAD_READ`.
const READ: c_uint = 0x08;
/// `EVTHREAD_TRY`.
const TRY: c_uint = 0x10;
/// `EVTHREAD_LOCKTYPE_RECURSIVE`.
const RECURSIVE: c_uint = 1;
/// `EVTHREAD_LOCKTYPE_READWRITE`.
const READWRITE: c_uint = 2;
/// `EVTHREAD_LOCK_API_VERSION` and `EVTHREAD_CONDITION_API_VERSION`.
const API_VERSION: c_int = 1;

/// `struct evthread_lock_callbacks`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct LockCallbacks {
    pub lock_api_version: c_int,
    pub supported_locktypes: c_uint,
    pub alloc: Option<unsafe extern "C" fn(c_uint) -> *mut c_void>,
    pub free: Option<unsafe extern "C" fn(*mut c_void, c_uint)>,
    pub lock: Option<unsafe extern "C" fn(c_uint, *mut c_void) -> c_int>,
    pub unlock: Option<unsafe extern "C" fn(c_uint, *mut c_void) -> c_int>,
}

/// `struct evthread_condition_callbacks`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CondCallbacks {
    pub condition_api_version: c_int,
    pub alloc_condition: Option<unsafe extern "C" fn(c_uint) -> *mut c_void>,
    pub free_condition: Option<unsafe extern "C" fn(*mut c_void)>,
    pub signal_condition: Option<unsafe extern "C" fn(*mut c_void, c_int) -> c_int>,
    pub wait_condition: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *const Timeval) -> c_int>,
}

/// A function pointer as an address: installing "the same" callbacks again
/// means the same functions, as libevent compares them.
fn addr<F: Copy>(f: Option<F>) -> usize {
    // SAFETY: `F` is a function pointer type (the fields below): as large
    // as a `usize`, and any of its values is a valid address.
    f.map_or(0, |f| unsafe { core::mem::transmute_copy::<F, usize>(&f) })
}

impl LockCallbacks {
    fn same(&self, o: &Self) -> bool {
        self.lock_api_version == o.lock_api_version
            && self.supported_locktypes == o.supported_locktypes
            && addr(self.alloc) == addr(o.alloc)
            && addr(self.free) == addr(o.free)
            && addr(self.lock) == addr(o.lock)
            && addr(self.unlock) == addr(o.unlock)
    }
}

impl CondCallbacks {
    fn same(&self, o: &Self) -> bool {
        self.condition_api_version == o.condition_api_version
            && addr(self.alloc_condition) == addr(o.alloc_condition)
            && addr(self.free_condition) == addr(o.free_condition)
            && addr(self.signal_condition) == addr(o.signal_condition)
            && addr(self.wait_condition) == addr(o.wait_condition)
    }
}

const NO_LOCKS: LockCallbacks = LockCallbacks {
    lock_api_version: 0,
    supported_locktypes: 0,
    alloc: None,
    free: None,
    lock: None,
    unlock: None,
};

const NO_CONDS: CondCallbacks = CondCallbacks {
    condition_api_version: 0,
    alloc_condition: None,
    free_condition: None,
    signal_condition: None,
    wait_condition: None,
};

/// A table C reads and calls through directly, as a plain C global.
///
/// libevent's tables are plain globals too: a program installs its
/// callbacks once, before it starts threads, and only reads them after.
/// Writes here happen in the `evthread_set_*` functions under the same
/// rule.
#[repr(transparent)]
pub struct CTable<T>(UnsafeCell<T>);

// SAFETY: written only by the setup functions, which libevent documents as
// to be called before any other thread uses the library; read-only after.
unsafe impl<T> Sync for CTable<T> {}

impl<T: Copy> CTable<T> {
    const fn new(v: T) -> Self {
        CTable(UnsafeCell::new(v))
    }

    fn get(&self) -> T {
        // SAFETY: see the `Sync` impl: no write runs concurrently.
        unsafe { ptr::read(self.0.get()) }
    }

    fn set(&self, v: T) {
        // SAFETY: see the `Sync` impl: setup runs before other threads.
        unsafe { ptr::write(self.0.get(), v) }
    }

    fn update(&self, f: impl FnOnce(&mut T)) {
        let mut v = self.get();
        f(&mut v);
        self.set(v);
    }
}

/// libevent's `evthread_lock_fns_`: the lock callbacks in force (the
/// checking ones while lock debugging is on).
#[unsafe(no_mangle)]
pub static evthread_lock_fns_: CTable<LockCallbacks> = CTable::new(NO_LOCKS);

/// libevent's `evthread_cond_fns_`: the condition callbacks in force.
#[unsafe(no_mangle)]
pub static evthread_cond_fns_: CTable<CondCallbacks> = CTable::new(NO_CONDS);

/// libevent's `evthread_id_fn_`: the function naming the calling thread,
/// or NULL.
#[unsafe(no_mangle)]
pub static evthread_id_fn_: CTable<Option<unsafe extern "C" fn() -> c_ulong>> = CTable::new(None);

/// libevent's `evthread_lock_debugging_enabled_` (C tests it in
/// `EVLOCK_ASSERT_LOCKED`).
#[unsafe(no_mangle)]
pub static evthread_lock_debugging_enabled_: AtomicI32 = AtomicI32::new(0);

/// The program's own callbacks while lock debugging wraps them.
static REAL_LOCKS: CTable<LockCallbacks> = CTable::new(NO_LOCKS);
static REAL_CONDS: CTable<CondCallbacks> = CTable::new(NO_CONDS);

fn debugging() -> bool {
    evthread_lock_debugging_enabled_.load(Ordering::Acquire) != 0
}

/// Where `evthread_set_lock_callbacks` stores: the table in force, or the
/// program's own set aside behind the checking locks.
fn lock_target() -> &'static CTable<LockCallbacks> {
    if debugging() { &REAL_LOCKS } else { &evthread_lock_fns_ }
}

fn cond_target() -> &'static CTable<CondCallbacks> {
    if debugging() { &REAL_CONDS } else { &evthread_cond_fns_ }
}

/// The calling thread's id as the installed id callback gives it; `None`
/// when none is installed.
#[allow(clippy::useless_conversion)] // `unsigned long` is 32 bits on some systems
pub(crate) fn current_thread_id() -> Option<u64> {
    // SAFETY: the program installed this function to be called from any
    // thread.
    evthread_id_fn_.get().map(|f| u64::from(unsafe { f() }))
}

/// `evthread_set_lock_callbacks`: installs `cbs` (copied); NULL removes
/// the callbacks. Once installed, only the same callbacks may be installed
/// again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evthread_set_lock_callbacks(cbs: *const LockCallbacks) -> c_int {
    let target = lock_target();
    let current = target.get();
    // SAFETY: C passes NULL or a valid `struct evthread_lock_callbacks`.
    let Some(cbs) = (unsafe { cbs.as_ref() }).copied() else {
        if current.alloc.is_some() {
            crate::log::warn(format_args!(
                "Trying to disable lock functions after they have been set up will probaby not work."
            ));
        }
        target.set(NO_LOCKS);
        return 0;
    };
    if current.alloc.is_some() {
        if current.same(&cbs) {
            return 0;
        }
        crate::log::warn(format_args!(
            "Can't change lock callbacks once they have been initialized."
        ));
        return -1;
    }
    if cbs.alloc.is_none() || cbs.free.is_none() || cbs.lock.is_none() || cbs.unlock.is_none() {
        return -1;
    }
    target.set(cbs);
    0
}

/// `evthread_set_condition_callbacks`: installs `cbs` (copied); NULL
/// removes them. Once installed, only the same callbacks may be installed
/// again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evthread_set_condition_callbacks(cbs: *const CondCallbacks) -> c_int {
    let target = cond_target();
    let current = target.get();
    // SAFETY: C passes NULL or a valid `struct evthread_condition_callbacks`.
    let Some(cbs) = (unsafe { cbs.as_ref() }).copied() else {
        if current.alloc_condition.is_some() {
            crate::log::warn(format_args!(
                "Trying to disable condition functions after they have been set up will probaby not work."
            ));
        }
        target.set(NO_CONDS);
        return 0;
    };
    if current.alloc_condition.is_some() {
        if current.same(&cbs) {
            return 0;
        }
        crate::log::warn(format_args!(
            "Can't change condition callbacks once they have been initialized."
        ));
        return -1;
    }
    let complete = cbs.alloc_condition.is_some()
        && cbs.free_condition.is_some()
        && cbs.signal_condition.is_some()
        && cbs.wait_condition.is_some();
    if complete {
        target.set(cbs);
    }
    if debugging() {
        // The checking wait stays in force; the rest is the program's.
        evthread_cond_fns_.update(|t| {
            t.alloc_condition = cbs.alloc_condition;
            t.free_condition = cbs.free_condition;
            t.signal_condition = cbs.signal_condition;
        });
    }
    0
}

/// `evthread_set_id_callback`.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_set_id_callback(id_fn: Option<unsafe extern "C" fn() -> c_ulong>) {
    evthread_id_fn_.set(id_fn);
}

/// `evthread_make_base_notifiable`: every evbase base can already be woken
/// from another thread, so this only checks the argument.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_make_base_notifiable(base: *mut RawBase) -> c_int {
    if base.is_null() { -1 } else { 0 }
}

// ---- POSIX threads ----------------------------------------------------------

/// A `pthread_mutex_t` from the library's allocator; recursive when asked.
unsafe extern "C" fn posix_lock_alloc(locktype: c_uint) -> *mut c_void {
    let lock = crate::mm::malloc(core::mem::size_of::<libc::pthread_mutex_t>()).cast::<libc::pthread_mutex_t>();
    if lock.is_null() {
        return ptr::null_mut();
    }
    let mut attr = core::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
    // SAFETY: `attr` is initialised by pthread_mutexattr_init before use
    // and destroyed after; `lock` is a fresh block of a mutex's size.
    let r = unsafe {
        libc::pthread_mutexattr_init(attr.as_mut_ptr());
        if locktype & RECURSIVE != 0 {
            libc::pthread_mutexattr_settype(attr.as_mut_ptr(), libc::PTHREAD_MUTEX_RECURSIVE);
        }
        let r = libc::pthread_mutex_init(lock, attr.as_ptr());
        libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
        r
    };
    if r != 0 {
        // SAFETY: `lock` came from `mm::malloc` and holds no mutex.
        unsafe { crate::mm::free(lock.cast()) };
        return ptr::null_mut();
    }
    lock.cast()
}

unsafe extern "C" fn posix_lock_free(lock: *mut c_void, _locktype: c_uint) {
    // SAFETY: `lock` came from `posix_lock_alloc` (so from `mm::malloc`)
    // and is not held.
    unsafe {
        libc::pthread_mutex_destroy(lock.cast());
        crate::mm::free(lock);
    }
}

unsafe extern "C" fn posix_lock(mode: c_uint, lock: *mut c_void) -> c_int {
    // SAFETY: `lock` came from `posix_lock_alloc`.
    unsafe {
        if mode & TRY != 0 {
            libc::pthread_mutex_trylock(lock.cast())
        } else {
            libc::pthread_mutex_lock(lock.cast())
        }
    }
}

unsafe extern "C" fn posix_unlock(_mode: c_uint, lock: *mut c_void) -> c_int {
    // SAFETY: `lock` came from `posix_lock_alloc` and is held by this
    // thread.
    unsafe { libc::pthread_mutex_unlock(lock.cast()) }
}

unsafe extern "C" fn posix_cond_alloc(_condtype: c_uint) -> *mut c_void {
    let cond = crate::mm::malloc(core::mem::size_of::<libc::pthread_cond_t>()).cast::<libc::pthread_cond_t>();
    if cond.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: `cond` is a fresh block of a condition variable's size.
    if unsafe { libc::pthread_cond_init(cond, ptr::null()) } != 0 {
        // SAFETY: `cond` came from `mm::malloc` and holds no condition.
        unsafe { crate::mm::free(cond.cast()) };
        return ptr::null_mut();
    }
    cond.cast()
}

unsafe extern "C" fn posix_cond_free(cond: *mut c_void) {
    // SAFETY: `cond` came from `posix_cond_alloc` (so from `mm::malloc`)
    // and has no waiters.
    unsafe {
        libc::pthread_cond_destroy(cond.cast());
        crate::mm::free(cond);
    }
}

unsafe extern "C" fn posix_cond_signal(cond: *mut c_void, broadcast: c_int) -> c_int {
    // SAFETY: `cond` came from `posix_cond_alloc`.
    let r = unsafe {
        if broadcast != 0 {
            libc::pthread_cond_broadcast(cond.cast())
        } else {
            libc::pthread_cond_signal(cond.cast())
        }
    };
    if r == 0 { 0 } else { -1 }
}

/// 0 when woken, 1 when `tv` (relative) ran out first, -1 on error.
unsafe extern "C" fn posix_cond_wait(cond: *mut c_void, lock: *mut c_void, tv: *const Timeval) -> c_int {
    // SAFETY: C passes NULL or a valid timeval.
    let Some(tv) = (unsafe { tv.as_ref() }) else {
        // SAFETY: `cond` and `lock` came from this module's allocators and
        // the caller holds `lock`.
        return if unsafe { libc::pthread_cond_wait(cond.cast(), lock.cast()) } == 0 {
            0
        } else {
            -1
        };
    };
    // pthread_cond_timedwait wants a deadline on the realtime clock.
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let mut nsec = now.tv_nsec + tv.tv_usec.clamp(0, 999_999) * 1000;
    let mut sec = now.tv_sec.saturating_add(tv.tv_sec.max(0));
    if nsec >= 1_000_000_000 {
        nsec -= 1_000_000_000;
        sec = sec.saturating_add(1);
    }
    let deadline = libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    };
    // SAFETY: as above; `deadline` is a valid timespec.
    match unsafe { libc::pthread_cond_timedwait(cond.cast(), lock.cast(), &deadline) } {
        0 => 0,
        libc::ETIMEDOUT => 1,
        _ => -1,
    }
}

unsafe extern "C" fn posix_thread_id() -> c_ulong {
    // SAFETY: always safe to call.
    unsafe { libc::pthread_self() as c_ulong }
}

/// `evthread_use_pthreads`: POSIX mutexes (recursive when asked),
/// condition variables and `pthread_self` as the thread id.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_use_pthreads() -> c_int {
    let locks = LockCallbacks {
        lock_api_version: API_VERSION,
        supported_locktypes: RECURSIVE,
        alloc: Some(posix_lock_alloc),
        free: Some(posix_lock_free),
        lock: Some(posix_lock),
        unlock: Some(posix_unlock),
    };
    let conds = CondCallbacks {
        condition_api_version: API_VERSION,
        alloc_condition: Some(posix_cond_alloc),
        free_condition: Some(posix_cond_free),
        signal_condition: Some(posix_cond_signal),
        wait_condition: Some(posix_cond_wait),
    };
    // SAFETY: both tables are valid for the calls.
    unsafe {
        if evthread_set_lock_callbacks(&locks) != 0 {
            return -1;
        }
        if evthread_set_condition_callbacks(&conds) != 0 {
            return -1;
        }
    }
    evthread_set_id_callback(Some(posix_thread_id));
    0
}

// ---- Lock debugging ---------------------------------------------------------------

/// A checked lock: the program's lock (or none) and who holds it how often.
#[repr(C)]
struct DebugLock {
    /// [`DEBUG_LOCK_LIVE`] while allocated, [`DEBUG_LOCK_FREED`] after.
    signature: AtomicU32,
    locktype: c_uint,
    /// The holder's id (from the id callback), 0 when free.
    held_by: AtomicU64,
    /// How many times the holder holds it.
    count: AtomicI32,
    /// The program's lock, or NULL when no lock callbacks are installed.
    real: AtomicUsize,
}

const DEBUG_LOCK_LIVE: u32 = 0xdeb0_b10c;
const DEBUG_LOCK_FREED: u32 = 0x1230_0fda;

/// Ends the process for a broken lock rule, as libevent's `EVUTIL_ASSERT`.
#[cold]
fn lock_misuse(what: &str) -> ! {
    crate::log::fatal(crate::log::ERR_ABORT, format_args!("lock debugging: {what}"))
}

/// The checked lock behind a pointer from `debug_lock_alloc`.
///
/// # Safety
/// `lock` came from `debug_lock_alloc` (it may have been freed since: the
/// signature then says so, as long as the memory was not reused).
unsafe fn debug_lock<'a>(lock: *mut c_void) -> &'a DebugLock {
    if lock.is_null() {
        lock_misuse("NULL lock");
    }
    // SAFETY: the caller's promise.
    let l = unsafe { &*lock.cast::<DebugLock>() };
    if l.signature.load(Ordering::Relaxed) != DEBUG_LOCK_LIVE {
        lock_misuse("not a live lock (freed, or never allocated)");
    }
    l
}

fn check_mode(l: &DebugLock, mode: c_uint) {
    let rw = mode & (READ | WRITE);
    if l.locktype & READWRITE != 0 {
        if rw == 0 {
            lock_misuse("read-write lock taken without EVTHREAD_READ or EVTHREAD_WRITE");
        }
    } else if rw != 0 {
        lock_misuse("EVTHREAD_READ or EVTHREAD_WRITE on a lock that is not read-write");
    }
}

fn mark_locked(l: &DebugLock) {
    let count = l.count.fetch_add(1, Ordering::AcqRel) + 1;
    if l.locktype & RECURSIVE == 0 && count != 1 {
        lock_misuse("a non-recursive lock taken twice");
    }
    if let Some(me) = current_thread_id() {
        if count > 1 && l.held_by.load(Ordering::Acquire) != me {
            lock_misuse("a lock taken again by a thread that does not hold it");
        }
        l.held_by.store(me, Ordering::Release);
    }
}

fn mark_unlocked(l: &DebugLock, mode: c_uint) {
    check_mode(l, mode);
    if let Some(me) = current_thread_id() {
        if l.held_by.load(Ordering::Acquire) != me {
            lock_misuse("a lock released by a thread that does not hold it");
        }
        if l.count.load(Ordering::Acquire) == 1 {
            l.held_by.store(0, Ordering::Release);
        }
    }
    if l.count.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
        lock_misuse("a lock released more often than taken");
    }
}

unsafe extern "C" fn debug_lock_alloc(locktype: c_uint) -> *mut c_void {
    let real = match REAL_LOCKS.get().alloc {
        Some(alloc) => {
            // SAFETY: the program's allocator; the checked lock is
            // re-entered by its holder, so the real one must be recursive.
            let r = unsafe { alloc(locktype | RECURSIVE) };
            if r.is_null() {
                return ptr::null_mut();
            }
            r
        }
        None => ptr::null_mut(),
    };
    let l = crate::mm::malloc(core::mem::size_of::<DebugLock>()).cast::<DebugLock>();
    if l.is_null() {
        if let (false, Some(free)) = (real.is_null(), REAL_LOCKS.get().free) {
            // SAFETY: `real` came from the program's allocator above.
            unsafe { free(real, locktype | RECURSIVE) };
        }
        return ptr::null_mut();
    }
    let init = DebugLock {
        signature: AtomicU32::new(DEBUG_LOCK_LIVE),
        locktype,
        held_by: AtomicU64::new(0),
        count: AtomicI32::new(0),
        real: AtomicUsize::new(real as usize),
    };
    // SAFETY: `l` is a fresh block of a `DebugLock`'s size and alignment
    // (malloc aligns for any type).
    unsafe { l.write(init) };
    l.cast()
}

unsafe extern "C" fn debug_lock_free(lock: *mut c_void, locktype: c_uint) {
    // SAFETY: C frees what EVTHREAD_ALLOC_LOCK gave it.
    let l = unsafe { debug_lock(lock) };
    if l.count.load(Ordering::Acquire) != 0 {
        lock_misuse("a held lock freed");
    }
    if l.locktype != locktype {
        lock_misuse("a lock freed as another type than it was made");
    }
    let real = l.real.swap(0, Ordering::AcqRel) as *mut c_void;
    if let (false, Some(free)) = (real.is_null(), REAL_LOCKS.get().free) {
        // SAFETY: `real` came from the program's allocator.
        unsafe { free(real, l.locktype | RECURSIVE) };
    }
    l.count.store(-100, Ordering::Release);
    l.signature.store(DEBUG_LOCK_FREED, Ordering::Release);
    // SAFETY: `lock` came from `mm::malloc` in `debug_lock_alloc`; C does
    // not use it after freeing it.
    unsafe { crate::mm::free(lock) };
}

unsafe extern "C" fn debug_lock_lock(mode: c_uint, lock: *mut c_void) -> c_int {
    // SAFETY: C locks what EVTHREAD_ALLOC_LOCK gave it.
    let l = unsafe { debug_lock(lock) };
    check_mode(l, mode);
    let real = l.real.load(Ordering::Acquire) as *mut c_void;
    let r = match (real.is_null(), REAL_LOCKS.get().lock) {
        // SAFETY: `real` is the program's lock, from its allocator.
        (false, Some(lock_fn)) => unsafe { lock_fn(mode, real) },
        _ => 0,
    };
    if r == 0 {
        mark_locked(l);
    }
    r
}

unsafe extern "C" fn debug_lock_unlock(mode: c_uint, lock: *mut c_void) -> c_int {
    // SAFETY: C unlocks what EVTHREAD_ALLOC_LOCK gave it.
    let l = unsafe { debug_lock(lock) };
    mark_unlocked(l, mode);
    let real = l.real.load(Ordering::Acquire) as *mut c_void;
    match (real.is_null(), REAL_LOCKS.get().unlock) {
        // SAFETY: `real` is the program's lock, held by this thread.
        (false, Some(unlock_fn)) => unsafe { unlock_fn(mode, real) },
        _ => 0,
    }
}

/// The checked wait: the caller must hold `lock`; it is released for the
/// program's wait and counted as held again after.
unsafe extern "C" fn debug_cond_wait(cond: *mut c_void, lock: *mut c_void, tv: *const Timeval) -> c_int {
    // SAFETY: C waits with a lock from EVTHREAD_ALLOC_LOCK.
    let l = unsafe { debug_lock(lock) };
    if !is_held(l) {
        lock_misuse("a condition waited on without holding its lock");
    }
    mark_unlocked(l, 0);
    let real = l.real.load(Ordering::Acquire) as *mut c_void;
    let r = match REAL_CONDS.get().wait_condition {
        // SAFETY: the program's wait, with its own lock, which this thread
        // holds.
        Some(wait) => unsafe { wait(cond, real, tv) },
        None => 0,
    };
    mark_locked(l);
    r
}

fn is_held(l: &DebugLock) -> bool {
    if let Some(me) = current_thread_id()
        && l.held_by.load(Ordering::Acquire) != me
    {
        return false;
    }
    l.count.load(Ordering::Acquire) > 0
}

/// `evthread_enable_lock_debugging`: from now on the locks C allocates are
/// checked (see the module's doc). Locks allocated before stay unchecked.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_enable_lock_debugging() {
    if debugging() {
        return;
    }
    REAL_LOCKS.set(evthread_lock_fns_.get());
    evthread_lock_fns_.set(LockCallbacks {
        lock_api_version: API_VERSION,
        supported_locktypes: RECURSIVE,
        alloc: Some(debug_lock_alloc),
        free: Some(debug_lock_free),
        lock: Some(debug_lock_lock),
        unlock: Some(debug_lock_unlock),
    });
    REAL_CONDS.set(evthread_cond_fns_.get());
    evthread_cond_fns_.update(|t| t.wait_condition = Some(debug_cond_wait));
    evthread_lock_debugging_enabled_.store(1, Ordering::Release);
}

/// `evthread_enable_lock_debuging`: the old, misspelled name.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_enable_lock_debuging() {
    evthread_enable_lock_debugging();
}

/// libevent's `evthread_is_debug_lock_held_`: whether the calling thread
/// holds the checked lock `lock`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evthread_is_debug_lock_held_(lock: *mut c_void) -> c_int {
    // SAFETY: C asks about a lock from EVTHREAD_ALLOC_LOCK while lock
    // debugging is on.
    let l = unsafe { debug_lock(lock) };
    c_int::from(is_held(l))
}

/// libevent's `evthread_debug_get_real_lock_`: the program's lock inside
/// the checked lock `lock`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evthread_debug_get_real_lock_(lock: *mut c_void) -> *mut c_void {
    // SAFETY: as `evthread_is_debug_lock_held_`.
    let l = unsafe { debug_lock(lock) };
    l.real.load(Ordering::Acquire) as *mut c_void
}

/// libevent's `evthread_get_lock_callbacks`: the table
/// `evthread_set_lock_callbacks` writes to.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_get_lock_callbacks() -> *mut LockCallbacks {
    lock_target().0.get()
}

/// libevent's `evthread_get_condition_callbacks`.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_get_condition_callbacks() -> *mut CondCallbacks {
    cond_target().0.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The tables are process-wide: one test walks through the states in
    // order rather than several racing on them.
    #[test]
    fn pthreads_debugging_and_conditions() {
        // Debugging before any lock callbacks: checked locks with no real
        // lock inside, held by "thread 1" (no id callback yet).
        evthread_enable_lock_debugging();
        let fns = evthread_lock_fns_.get();
        // SAFETY: the checking callbacks, used as C would.
        unsafe {
            let l = fns.alloc.unwrap()(0);
            assert!(!l.is_null());
            assert_eq!(evthread_debug_get_real_lock_(l), ptr::null_mut());
            assert_eq!(fns.lock.unwrap()(0, l), 0);
            assert_eq!(evthread_is_debug_lock_held_(l), 1);
            assert_eq!(fns.unlock.unwrap()(0, l), 0);
            assert_eq!(evthread_is_debug_lock_held_(l), 0);
            fns.free.unwrap()(l, 0);
        }

        // pthreads behind the checks: a real recursive mutex inside.
        assert_eq!(evthread_use_pthreads(), 0);
        // Installing the same callbacks again is accepted.
        assert_eq!(evthread_use_pthreads(), 0);
        assert!(evthread_lock_fns_.get().lock.is_some());
        assert!(current_thread_id().is_some());
        let fns = evthread_lock_fns_.get();
        let conds = evthread_cond_fns_.get();
        // SAFETY: as above.
        unsafe {
            let l = fns.alloc.unwrap()(RECURSIVE);
            assert!(!evthread_debug_get_real_lock_(l).is_null());
            assert_eq!(fns.lock.unwrap()(0, l), 0);
            assert_eq!(fns.lock.unwrap()(0, l), 0);
            fns.unlock.unwrap()(0, l);
            assert_eq!(evthread_is_debug_lock_held_(l), 1);
            let c = conds.alloc_condition.unwrap()(0);
            assert!(!c.is_null());
            let tv = Timeval {
                tv_sec: 0,
                tv_usec: 20_000,
            };
            // Nobody signals: the timed wait runs out, and the lock is
            // held again after it.
            assert_eq!(conds.wait_condition.unwrap()(c, l, &tv), 1);
            assert_eq!(evthread_is_debug_lock_held_(l), 1);
            fns.unlock.unwrap()(0, l);
            assert_eq!(evthread_is_debug_lock_held_(l), 0);

            // Another thread wakes a waiter.
            struct Shared(*mut c_void, *mut c_void);
            // SAFETY: the lock and condition are thread-safe C objects.
            unsafe impl Send for Shared {}
            let shared = Shared(c, l);
            assert_eq!(fns.lock.unwrap()(0, l), 0);
            let t = std::thread::spawn(move || {
                let s = shared;
                let fns = evthread_lock_fns_.get();
                let conds = evthread_cond_fns_.get();
                fns.lock.unwrap()(0, s.1);
                conds.signal_condition.unwrap()(s.0, 1);
                fns.unlock.unwrap()(0, s.1);
            });
            assert_eq!(conds.wait_condition.unwrap()(c, l, ptr::null()), 0);
            fns.unlock.unwrap()(0, l);
            t.join().unwrap();
            conds.free_condition.unwrap()(c);
            fns.free.unwrap()(l, RECURSIVE);
        }

        // Other callbacks cannot replace the installed ones.
        let other = LockCallbacks {
            supported_locktypes: 0,
            ..REAL_LOCKS.get()
        };
        // SAFETY: a valid table.
        assert_eq!(unsafe { evthread_set_lock_callbacks(&other) }, -1);
        assert_eq!(evthread_make_base_notifiable(ptr::null_mut()), -1);
    }
}
