//! `event_enable_debug_mode`: the library remembers every event it was
//! given, and stops the program (as libevent does) on the misuse that
//! would otherwise corrupt a base: using an event that was never assigned
//! or was unassigned, or re-assigning one that is pending.

use std::collections::HashSet;
use std::ffi::c_void;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::layout::{Event, evlist};
use crate::log::{self, ERR_ABORT};

static ON: AtomicBool = AtomicBool::new(false);
/// Set once a base or event exists: debug mode can no longer be turned on.
static TOO_LATE: AtomicBool = AtomicBool::new(false);
/// The addresses of the events assigned and not unassigned since.
static KNOWN: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

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
    *KNOWN.lock().unwrap_or_else(|e| e.into_inner()) = Some(HashSet::new());
}

/// Drops what debug mode remembers (`libevent_global_shutdown`).
pub(crate) fn shutdown() {
    *KNOWN.lock().unwrap_or_else(|e| e.into_inner()) = None;
    ON.store(false, Ordering::Release);
}

fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// A base was made: too late to turn debug mode on.
pub(crate) fn base_made() {
    TOO_LATE.store(true, Ordering::Release);
}

/// Applies `f` to the table of known events, if debug mode keeps one.
fn with_known<R>(f: impl FnOnce(&mut HashSet<usize>) -> R) -> Option<R> {
    KNOWN.lock().unwrap_or_else(|e| e.into_inner()).as_mut().map(f)
}

pub(crate) fn note_assigned(ev: *mut Event) {
    TOO_LATE.store(true, Ordering::Release);
    if enabled() {
        with_known(|k| k.insert(ev as usize));
    }
}

pub(crate) fn note_unassigned(ev: *mut Event) {
    if enabled() {
        with_known(|k| k.remove(&(ev as usize)));
    }
}

fn is_known(ev: *mut Event) -> bool {
    with_known(|k| k.contains(&(ev as usize))).unwrap_or(false)
}

/// Stops the program with libevent's message about `ev`.
fn misuse(ev: *mut Event, what: &str, problem: &str) -> ! {
    // SAFETY: debug mode is only consulted with the caller's struct event.
    let e = unsafe { &*ev };
    log::fatal(
        ERR_ABORT,
        format_args!(
            "{what} called on {problem} {:p} (events: 0x{:x}, fd: {}, flags: 0x{:x})",
            ev as *const c_void, e.events, e.fd, e.cb.flags
        ),
    )
}

/// Stops the program if `ev` was never assigned (or was unassigned).
pub(crate) fn assert_assigned(ev: *mut Event, what: &str) {
    if enabled() && !is_known(ev) {
        misuse(ev, what, "a non-initialized event");
    }
}

/// Stops the program if `ev` is known and pending or active (re-assigning
/// or unassigning it would corrupt the base).
pub(crate) fn assert_not_added(ev: *mut Event, what: &str) {
    if !enabled() || !is_known(ev) {
        return;
    }
    // SAFETY: as in `misuse`.
    let flags = unsafe { (*ev).cb.flags };
    if flags & (evlist::INSERTED | evlist::TIMEOUT | evlist::ACTIVE) != 0 {
        misuse(ev, what, "an already added event");
    }
}
