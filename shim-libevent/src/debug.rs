//! `event_enable_debug_mode`: the library remembers every event it was
//! given, and stops the program (as libevent does) on the misuse that
//! would otherwise corrupt a base: using an event that was never assigned
//! or was freed, or re-assigning one that is pending.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::layout::{Event, evlist};
use crate::log;

static ON: AtomicBool = AtomicBool::new(false);
/// Set once a base or event exists: debug mode can no longer be turned on.
static TOO_LATE: AtomicBool = AtomicBool::new(false);
/// Known events and whether each is added (pending) as far as C knows.
static KNOWN: Mutex<Option<HashMap<usize, ()>>> = Mutex::new(None);

/// libevent's `EVENT_ERR_ABORT_`.
const ERR_ABORT: i32 = 0xdeaddead_u32 as i32;

#[unsafe(no_mangle)]
pub extern "C" fn event_enable_debug_mode() {
    if ON.swap(true, Ordering::AcqRel) {
        log::fatal(ERR_ABORT, format_args!("event_enable_debug_mode was called twice!"));
    }
    if TOO_LATE.load(Ordering::Acquire) {
        log::fatal(
            ERR_ABORT,
            format_args!("event_enable_debug_mode must be called *before* creating any events or event_bases"),
        );
    }
    *KNOWN.lock().unwrap_or_else(|e| e.into_inner()) = Some(HashMap::new());
}

/// Drops what debug mode remembers (`libevent_global_shutdown`).
pub(crate) fn shutdown() {
    *KNOWN.lock().unwrap_or_else(|e| e.into_inner()) = None;
    ON.store(false, Ordering::Release);
}

/// Whether debug mode is on.
pub(crate) fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// A base was made: too late to turn debug mode on.
pub(crate) fn base_made() {
    TOO_LATE.store(true, Ordering::Release);
}

pub(crate) fn note_assigned(ev: *mut Event) {
    TOO_LATE.store(true, Ordering::Release);
    if !enabled() {
        return;
    }
    if let Some(map) = KNOWN.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        map.insert(ev as usize, ());
    }
}

pub(crate) fn note_unassigned(ev: *mut Event) {
    if !enabled() {
        return;
    }
    if let Some(map) = KNOWN.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        map.remove(&(ev as usize));
    }
}

fn describe(ev: *mut Event) -> (i16, i32, i16) {
    // SAFETY: a known (assigned) event's memory is the caller's struct.
    let e = unsafe { &*ev };
    (e.events, e.fd, e.cb.flags)
}

/// Stops the program if `ev` was never assigned (or was freed).
pub(crate) fn assert_assigned(ev: *mut Event, what: &str) {
    if !enabled() {
        return;
    }
    let known = KNOWN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|m| m.contains_key(&(ev as usize)));
    if !known {
        log::fatal(
            ERR_ABORT,
            format_args!(
                "{what} called on a non-initialized event {:p} (events: 0x{:x}, fd: {}, flags: 0x{:x})",
                ev as *const c_void, 0, -1, 0
            ),
        );
    }
}

/// Stops the program if `ev` is known and pending (re-assigning or
/// unassigning it would corrupt the base).
pub(crate) fn assert_not_added(ev: *mut Event, what: &str) {
    if !enabled() {
        return;
    }
    let known = KNOWN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|m| m.contains_key(&(ev as usize)));
    if !known {
        return;
    }
    let (events, fd, flags) = describe(ev);
    if flags & (evlist::INSERTED | evlist::TIMEOUT | evlist::ACTIVE) != 0 {
        log::fatal(
            ERR_ABORT,
            format_args!(
                "{what} called on an already added event {:p} (events: 0x{:x}, fd: {}, flags: 0x{:x})",
                ev as *const c_void, events, fd, flags
            ),
        );
    }
}
