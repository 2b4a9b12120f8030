//! `event2/watch.h` (libevent 2.2): prepare and check watchers over the
//! core's (`evbase_core::EventBase::new_prepare`), whose rules apply.
//!
//! A `struct evwatch` is memory from the user's allocator, as libevent's
//! is: what C gets back and passes to its callback. The core's watcher owns
//! it (through the closure that calls C), so `evwatch_free` and
//! `event_base_free` release it by freeing the core's watcher.

use std::ffi::c_void;

use evbase_core::{Phase, WatchCallback, WatchId};
use evbase_std::CoreBase;

use crate::base::{Access, CBase, CrossOp, RawBase};
use crate::layout::{Timeval, timeval_of};
use crate::{log, mm};

/// `struct evwatch_prepare_cb_info`: opaque to C.
pub struct PrepareInfo {
    timeout: Option<Timeval>,
}

/// `struct evwatch_check_cb_info`: opaque to C, and empty (as libevent's).
pub struct CheckInfo {
    _none: u8,
}

type PrepareCb = Option<unsafe extern "C" fn(*mut CWatch, *const PrepareInfo, *mut c_void)>;
type CheckCb = Option<unsafe extern "C" fn(*mut CWatch, *const CheckInfo, *mut c_void)>;

#[derive(Clone, Copy)]
enum CCallback {
    Prepare(unsafe extern "C" fn(*mut CWatch, *const PrepareInfo, *mut c_void)),
    Check(unsafe extern "C" fn(*mut CWatch, *const CheckInfo, *mut c_void)),
}

/// `struct evwatch`: opaque to C.
pub struct CWatch {
    base: *mut RawBase,
    id: Option<WatchId>,
    callback: CCallback,
    arg: *mut c_void,
}

/// The `struct evwatch` a core watcher owns: freed with it.
struct Owned(*mut CWatch);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: memory from mm::malloc that only this owner frees.
        unsafe { mm::free(self.0 as *mut c_void) };
    }
}

/// Makes a watcher; NULL with a warning for a NULL base or callback, when
/// the allocator fails, or when the base's loop runs on another thread.
fn new_watch(base: *mut RawBase, callback: Option<CCallback>, arg: *mut c_void, what: &str) -> *mut CWatch {
    // SAFETY: C passes NULL or a live base.
    let Some(cbase) = (unsafe { CBase::from_raw(base) }) else {
        log::warn(format_args!("{what}: called with a NULL event_base"));
        return std::ptr::null_mut();
    };
    let Some(callback) = callback else {
        log::warn(format_args!("{what}: called with a NULL callback"));
        return std::ptr::null_mut();
    };
    let Access::Direct(core, _guard) = cbase.access() else {
        log::warn(format_args!(
            "{what}: the base's loop runs on another thread; add watchers from its thread"
        ));
        return std::ptr::null_mut();
    };
    let w = mm::malloc(std::mem::size_of::<CWatch>()) as *mut CWatch;
    if w.is_null() {
        return w;
    }
    // SAFETY: fresh memory of CWatch's size from malloc, which aligns for
    // any type.
    unsafe {
        w.write(CWatch {
            base,
            id: None,
            callback,
            arg,
        })
    };
    let owned = Owned(w);
    let run = WatchCallback::new(move |core: &mut CoreBase, _, phase| {
        // The whole owner is captured (not just its pointer): it is freed
        // with the closure.
        let owned = &owned;
        call(core, owned.0, phase);
    });
    let made = match callback {
        CCallback::Prepare(_) => core.new_prepare(run),
        CCallback::Check(_) => core.new_check(run),
    };
    match made {
        Ok(id) => {
            // SAFETY: the live watcher just written.
            unsafe { (*w).id = Some(id) };
            w
        }
        Err(e) => {
            // The callback (and with it the memory) was dropped.
            log::warn(format_args!("{what}: {e}"));
            std::ptr::null_mut()
        }
    }
}

/// Calls a C watcher's callback from the loop.
fn call(core: &mut CoreBase, w: *mut CWatch, phase: Phase) {
    // SAFETY: the core watcher that owns `w` is running, so `w` is alive;
    // its base runs this loop.
    let (callback, arg) = unsafe {
        (*((*w).base as *const CBase)).enter(core);
        ((*w).callback, (*w).arg)
    };
    match (callback, phase) {
        (CCallback::Prepare(f), Phase::Prepare { timeout }) => {
            let info = PrepareInfo {
                timeout: timeout.map(timeval_of),
            };
            // SAFETY: a C function of evwatch_prepare_cb's type; `w` stays
            // valid until the watcher is freed, which C may do in it.
            unsafe { f(w, &info, arg) };
        }
        (CCallback::Check(f), Phase::Check) => {
            // SAFETY: as above, for evwatch_check_cb.
            unsafe { f(w, &CheckInfo { _none: 0 }, arg) };
        }
        _ => {}
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn evwatch_prepare_new(base: *mut RawBase, callback: PrepareCb, arg: *mut c_void) -> *mut CWatch {
    new_watch(base, callback.map(CCallback::Prepare), arg, "evwatch_prepare_new")
}

#[unsafe(no_mangle)]
pub extern "C" fn evwatch_check_new(base: *mut RawBase, callback: CheckCb, arg: *mut c_void) -> *mut CWatch {
    new_watch(base, callback.map(CCallback::Check), arg, "evwatch_check_new")
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn evwatch_base(watcher: *mut CWatch) -> *mut RawBase {
    // SAFETY: C passes NULL or a live watcher.
    match unsafe { watcher.as_ref() } {
        Some(w) => w.base,
        None => {
            log::warn(format_args!("evwatch_base: called with a NULL watcher"));
            std::ptr::null_mut()
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn evwatch_free(watcher: *mut CWatch) {
    // SAFETY: C passes NULL or a live watcher.
    let Some(&CWatch { base, id: Some(id), .. }) = (unsafe { watcher.as_ref() }) else {
        log::warn(format_args!("evwatch_free: called with a NULL watcher"));
        return;
    };
    // SAFETY: a live watcher's base is live (libevent's rule).
    let Some(cbase) = (unsafe { CBase::from_raw(base) }) else {
        return;
    };
    match cbase.access() {
        // Frees the memory too; from its own callback as well (the core
        // drops a running closure once it returns).
        Access::Direct(core, _guard) => {
            let _ = core.free_watcher(id);
        }
        Access::Cross => {
            cbase.send_cross(CrossOp::FreeWatcher(id));
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn evwatch_prepare_get_timeout(info: *const PrepareInfo, timeout: *mut Timeval) -> i32 {
    // SAFETY: C passes NULL or the info its prepare callback was handed.
    let Some(info) = (unsafe { info.as_ref() }) else {
        log::warn(format_args!("evwatch_prepare_get_timeout: called with a NULL info"));
        return 0;
    };
    match info.timeout {
        Some(tv) if !timeout.is_null() => {
            // SAFETY: C's timeval to write.
            unsafe { timeout.write(tv) };
            1
        }
        Some(_) => {
            log::warn(format_args!("evwatch_prepare_get_timeout: called with a NULL timeval"));
            0
        }
        None => 0,
    }
}
