//! What C may read of an event without changing it: `event_get_*`,
//! `event_initialized`, the struct's size, and `event_debug_unassign`.

use std::ffi::{c_int, c_short, c_void};

use crate::base::{RawBase, self_cbarg};
use crate::debug;
use crate::layout::{Event, EventCallbackFn, evlist};

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_initialized(ev: *const Event) -> c_int {
    // SAFETY: C passes NULL or an event.
    match unsafe { ev.as_ref() } {
        Some(e) => (e.cb.flags & evlist::INIT != 0) as c_int,
        None => 0,
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn event_get_struct_event_size() -> usize {
    std::mem::size_of::<Event>()
}

#[unsafe(no_mangle)]
pub extern "C" fn event_self_cbarg() -> *mut c_void {
    self_cbarg()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_fd(ev: *const Event) -> c_int {
    // SAFETY: C passes an event.
    unsafe { ev.as_ref() }.map_or(-1, |e| e.fd)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_base(ev: *const Event) -> *mut RawBase {
    // SAFETY: C passes an event.
    unsafe { ev.as_ref() }.map_or(std::ptr::null_mut(), |e| e.base as *mut RawBase)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_events(ev: *const Event) -> c_short {
    // SAFETY: C passes an event.
    unsafe { ev.as_ref() }.map_or(0, |e| e.events)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_callback(ev: *const Event) -> EventCallbackFn {
    // SAFETY: C passes an event.
    unsafe { ev.as_ref() }.and_then(|e| e.callback())
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_callback_arg(ev: *const Event) -> *mut c_void {
    // SAFETY: C passes an event.
    unsafe { ev.as_ref() }.map_or(std::ptr::null_mut(), |e| e.cb.arg)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_priority(ev: *const Event) -> c_int {
    // SAFETY: C passes an event.
    unsafe { ev.as_ref() }.map_or(-1, |e| e.cb.pri as c_int)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_assignment(
    ev: *const Event,
    base_out: *mut *mut RawBase,
    fd_out: *mut c_int,
    events_out: *mut c_short,
    callback_out: *mut EventCallbackFn,
    arg_out: *mut *mut c_void,
) {
    // SAFETY: C passes an event.
    let Some(e) = (unsafe { ev.as_ref() }) else { return };
    // SAFETY: each output pointer is NULL or writable, as libevent documents.
    unsafe {
        if let Some(p) = base_out.as_mut() {
            *p = e.base as *mut RawBase;
        }
        if let Some(p) = fd_out.as_mut() {
            *p = e.fd;
        }
        if let Some(p) = events_out.as_mut() {
            *p = e.events;
        }
        if let Some(p) = callback_out.as_mut() {
            *p = e.callback();
        }
        if let Some(p) = arg_out.as_mut() {
            *p = e.cb.arg;
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_debug_unassign(ev: *mut Event) {
    if ev.is_null() {
        return;
    }
    debug::assert_not_added(ev, "event_debug_unassign");
    debug::note_unassigned(ev);
    // SAFETY: an event handed to us.
    unsafe { (*ev).cb.flags &= !evlist::INIT };
}
