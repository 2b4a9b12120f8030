//! libevent 1.x's interface (`event_compat.h`): one global "current base"
//! that `event_init` makes and the base-less functions use.

use std::ffi::{c_char, c_int, c_short, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::base::RawBase;
use crate::layout::{Event, EventCallbackFn, Timeval};

/// libevent's `event_global_current_base_`: the base `event_init` made. A
/// data symbol, as libevent's internal headers declare it.
#[unsafe(no_mangle)]
pub static event_global_current_base_: AtomicPtr<RawBase> = AtomicPtr::new(std::ptr::null_mut());

/// The current base, or NULL.
pub(crate) fn current_base() -> *mut RawBase {
    event_global_current_base_.load(Ordering::Acquire)
}

/// Forgets `base` as the current base when it is freed.
pub(crate) fn forget_base(base: *mut RawBase) {
    let _ =
        event_global_current_base_.compare_exchange(base, std::ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire);
}

#[unsafe(no_mangle)]
pub extern "C" fn event_init() -> *mut RawBase {
    let base = crate::loop_api::event_base_new();
    if !base.is_null() {
        event_global_current_base_.store(base, Ordering::Release);
    }
    base
}

#[unsafe(no_mangle)]
pub extern "C" fn event_dispatch() -> c_int {
    // SAFETY: the current base is NULL or live.
    unsafe { crate::loop_api::event_base_loop(current_base(), 0) }
}

#[unsafe(no_mangle)]
pub extern "C" fn event_loop(flags: c_int) -> c_int {
    // SAFETY: as above.
    unsafe { crate::loop_api::event_base_loop(current_base(), flags) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_loopexit(tv: *const Timeval) -> c_int {
    // SAFETY: as above; `tv` is forwarded.
    unsafe { crate::loop_api::event_base_loopexit(current_base(), tv) }
}

#[unsafe(no_mangle)]
pub extern "C" fn event_loopbreak() -> c_int {
    // SAFETY: as above.
    unsafe { crate::loop_api::event_base_loopbreak(current_base()) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_once(
    fd: c_int,
    events: c_short,
    callback: Option<unsafe extern "C" fn(c_int, c_short, *mut c_void)>,
    arg: *mut c_void,
    tv: *const Timeval,
) -> c_int {
    // SAFETY: as above; the rest is forwarded.
    unsafe { crate::loop_api::event_base_once(current_base(), fd, events, callback, arg, tv) }
}

#[unsafe(no_mangle)]
pub extern "C" fn event_get_method() -> *const c_char {
    // SAFETY: as above.
    unsafe { crate::loop_api::event_base_get_method(current_base()) }
}

#[unsafe(no_mangle)]
pub extern "C" fn event_priority_init(n: c_int) -> c_int {
    // SAFETY: as above.
    unsafe { crate::loop_api::event_base_priority_init(current_base(), n) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_set(
    ev: *mut Event,
    fd: c_int,
    events: c_short,
    callback: EventCallbackFn,
    arg: *mut c_void,
) {
    // SAFETY: forwarded; a NULL base means the current one.
    unsafe { crate::event_api::event_assign(ev, current_base(), fd, events, callback, arg) };
}

/// `libevent_global_shutdown`: forgets the library's global state (the
/// debug-mode table). Bases and events are the program's to free first.
#[unsafe(no_mangle)]
pub extern "C" fn libevent_global_shutdown() {
    crate::debug::shutdown();
}
