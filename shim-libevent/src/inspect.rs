//! Walking a base's events from C: `event_base_foreach_event` and
//! `event_base_dump_events` (in libevent's format, which test programs
//! parse), and the finalizers that run once an event is surely idle.

use std::ffi::{CString, c_int, c_uint, c_void};
use std::fmt::Write as _;
use std::ops::ControlFlow;

use evbase_core::{Callback, EventId, What};
use evbase_std::CoreBase;

use crate::base::{Access, CBase, RawBase};
use crate::layout::{Event, FinalizeCallbackFn, evlist};
use crate::log;

/// The C events of a base that are pending or active, with the core's view.
fn c_events(cbase: &CBase, core: &CoreBase) -> Vec<(*mut Event, evbase_core::EventInfo)> {
    let mut out = Vec::new();
    let _ = core.foreach_event(|info| {
        if info.internal || info.id == cbase.drain_id() {
            return ControlFlow::<()>::Continue(());
        }
        if let Ok(Some(word)) = core.callback_word(info.id)
            && word != 0
        {
            out.push((word as *mut Event, *info));
        }
        ControlFlow::Continue(())
    });
    out
}

/// Leaves every C event of a base that is about to be freed as libevent's
/// `event_base_free` does: deleted (flags back to `EVLIST_INIT`), so that
/// the program may assign or free them afterwards, debug mode included.
pub(crate) fn forget_events(cbase: &CBase, core: &CoreBase) {
    for (ev, _) in c_events(cbase, core) {
        // SAFETY: a pending or active event's struct is alive.
        let e = unsafe { &mut *ev };
        e.cb.flags &= evlist::INIT | evlist::INTERNAL;
        e.set_core_id(None);
    }
}

type ForeachFn = Option<unsafe extern "C" fn(*const RawBase, *const Event, *mut c_void) -> c_int>;

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_foreach_event(base: *mut RawBase, f: ForeachFn, arg: *mut c_void) -> c_int {
    // SAFETY: C passes NULL or a live base.
    let (Some(cbase), Some(f)) = (unsafe { CBase::from_raw(base) }, f) else {
        return -1;
    };
    let Access::Direct(core, _guard) = cbase.access() else {
        return -1;
    };
    for (ev, _) in c_events(cbase, core) {
        // SAFETY: a pending or active event's struct is alive; `f` is the
        // caller's function (which must not change the base, as in libevent).
        let r = unsafe { f(base, ev, arg) };
        if r != 0 {
            return r;
        }
    }
    0
}

fn flag_words(out: &mut String, bits: i16, names: &[(i16, &str)]) {
    for (bit, name) in names {
        if bits & bit != 0 {
            out.push_str(name);
        }
    }
}

/// libevent's dump: "Inserted events:" then "Active events:", one line per event.
fn dump(cbase: &CBase, core: &mut CoreBase) -> String {
    let events = c_events(cbase, core);
    let mut out = String::from("Inserted events:\n");
    for (ev, info) in &events {
        if !info.inserted && info.deadline.is_none() {
            continue;
        }
        // SAFETY: a pending event's struct is alive.
        let e = unsafe { &**ev };
        let gloss = if e.events & What::SIGNAL.bits() as i16 != 0 {
            "sig"
        } else {
            "fd "
        };
        let _ = write!(out, "  {:p} [{} {}]", *ev, gloss, e.fd);
        flag_words(
            &mut out,
            e.events,
            &[
                (What::READ.bits() as i16, " Read"),
                (What::WRITE.bits() as i16, " Write"),
                (What::CLOSED.bits() as i16, " EOF"),
                (What::SIGNAL.bits() as i16, " Signal"),
                (What::PERSIST.bits() as i16, " Persist"),
                (What::ET.bits() as i16, " ET"),
            ],
        );
        if info.deadline.is_some()
            && let Ok(p) = core.pending(info.id, What::TIMEOUT)
            && let Some(wall) = p.wall_deadline
        {
            let _ = write!(out, " Timeout={}.{:06}", wall.as_secs(), wall.subsec_micros());
        }
        out.push('\n');
    }
    out.push_str("Active events:\n");
    for (ev, info) in &events {
        let Some(res) = info.active else { continue };
        // SAFETY: an active event's struct is alive.
        let e = unsafe { &**ev };
        let gloss = if e.events & What::SIGNAL.bits() as i16 != 0 {
            "sig"
        } else {
            "fd "
        };
        let _ = write!(out, "  {:p} [{} {}, priority={}]", *ev, gloss, e.fd, info.priority);
        flag_words(
            &mut out,
            res.bits() as i16,
            &[
                (What::READ.bits() as i16, " Read"),
                (What::WRITE.bits() as i16, " Write"),
                (What::CLOSED.bits() as i16, " EOF"),
                (What::SIGNAL.bits() as i16, " Signal"),
                (What::TIMEOUT.bits() as i16, " Timeout"),
            ],
        );
        out.push_str(" active");
        if info.active_later {
            out.push_str(" [NextTime]");
        }
        out.push('\n');
    }
    out
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_dump_events(base: *mut RawBase, output: *mut libc::FILE) {
    // SAFETY: C passes NULL or a live base.
    let Some(cbase) = (unsafe { CBase::from_raw(base) }) else {
        return;
    };
    if output.is_null() {
        return;
    }
    let Access::Direct(core, _guard) = cbase.access() else {
        return;
    };
    let text = dump(cbase, core);
    let Ok(text) = CString::new(text) else { return };
    // SAFETY: a C string and the caller's open FILE.
    unsafe { libc::fputs(text.as_ptr(), output) };
}

/// Shared by `event_finalize` and `event_free_finalize`.
fn finalize(ev: *mut Event, callback: FinalizeCallbackFn, free_struct: bool) -> c_int {
    // SAFETY: C passes NULL or an assigned event.
    let Some(e) = (unsafe { ev.as_mut() }) else { return -1 };
    // SAFETY: an assigned event's base is live.
    let Some(cbase) = (unsafe { CBase::from_raw(e.base as *mut RawBase) }) else {
        log::warn(format_args!("event_finalize: event has no event_base set."));
        return -1;
    };
    let Access::Direct(core, _guard) = cbase.access() else {
        log::warn(format_args!(
            "event_finalize: not supported from another thread while the loop runs"
        ));
        return -1;
    };
    let id: EventId = match crate::event::live_id(core, e) {
        Some(id) => id,
        None => match core.new_event(
            evbase_core::Source::None,
            What::empty(),
            Callback::from_fn(crate::event::trampoline, ev as usize),
        ) {
            Ok(id) => id,
            Err(_) => return -1,
        },
    };
    e.cb.flags |= evlist::FINALIZING;
    e.cb.flags &= !(evlist::INSERTED | evlist::TIMEOUT | evlist::ACTIVE);
    let arg = e.cb.arg;
    let owner = cbase as *const CBase;
    let finalizer = Callback::new(move |core: &mut CoreBase, _id, _what| {
        // SAFETY: the base that runs this finalizer owns it and is alive.
        unsafe { (*owner).enter(core) };
        if let Some(f) = callback {
            // SAFETY: the caller's finalizer, with the struct it named.
            unsafe { f(ev, arg) };
        }
        if free_struct {
            crate::debug::note_unassigned(ev);
            // SAFETY: event_free_finalize takes events from event_new.
            unsafe { crate::mm::free(ev as *mut c_void) };
        }
    });
    match core.free_finalize(id, finalizer) {
        Ok(()) => {
            e.set_core_id(None);
            0
        }
        Err(err) => {
            log::warn(format_args!("event_finalize: {err}"));
            -1
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_finalize(_flags: c_uint, ev: *mut Event, callback: FinalizeCallbackFn) -> c_int {
    finalize(ev, callback, false)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_free_finalize(_flags: c_uint, ev: *mut Event, callback: FinalizeCallbackFn) -> c_int {
    finalize(ev, callback, true)
}
