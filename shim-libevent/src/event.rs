//! A C `struct event` and its core event: when the core event is made and
//! freed, the flags C reads, the trampoline that calls C callbacks, and the
//! operations as the loop's side applies them (`*_direct`).
//!
//! A core event exists only while the C event is pending or active: `add`
//! or `active` makes one (its user word is the `struct event *`), and it
//! is freed as soon as it is neither — after `del`, or after the callback
//! of a non-persistent event returns without adding it again. A program may
//! then free or reuse the struct without telling the library, as libevent
//! allows, and nothing leaks or dangles. The id kept in the struct goes
//! stale; a stale id is simply "no core event".

use std::ffi::c_short;
use std::time::Duration;

use evbase_core::{Callback, Error, EventId, Source, What};
use evbase_std::CoreBase;

use crate::base::CBase;
use crate::layout::{
    COMMON_IDX_MASK, COMMON_IDX_SHIFT, COMMON_MAGIC, COMMON_MASK, Event, MICROSECONDS_MASK, Timeval, duration_of,
    evlist, timeval_of,
};

/// The core id of a C event, if it has a live one on `core`.
pub(crate) fn live_id(core: &CoreBase, ev: &Event) -> Option<EventId> {
    let id = ev.core_id()?;
    core.priority(id).is_ok().then_some(id)
}

/// What the core should watch for a C event.
fn source_of(ev: &Event) -> Source {
    let events = ev.events as u8;
    if events & What::SIGNAL.bits() != 0 {
        Source::Signal(ev.fd as u32)
    } else if ev.fd >= 0 && events & What::IO.bits() != 0 {
        Source::Fd(ev.fd as u32)
    } else {
        Source::None
    }
}

/// The flags the core understands of a C event's `ev_events`.
pub(crate) fn what_of(events: c_short) -> What {
    What::from_bits_truncate(events as u8) & !What::FINALIZE
}

/// The C event's core id, making a core event for it if it has none.
fn ensure_id(core: &mut CoreBase, ev: *mut Event) -> Result<EventId, Error> {
    // SAFETY: `ev` is an assigned event the caller handed us.
    let e = unsafe { &mut *ev };
    if let Some(id) = live_id(core, e) {
        return Ok(id);
    }
    let id = core.new_event(
        source_of(e),
        what_of(e.events),
        Callback::from_fn(trampoline, ev as usize),
    )?;
    let npri = core.npriorities();
    let pri = (e.cb.pri as usize).min(npri - 1);
    let _ = core.set_priority(id, pri);
    e.set_core_id(Some(id));
    Ok(id)
}

/// Frees the core event behind `id` if it is neither pending nor active.
fn release_if_idle(core: &mut CoreBase, id: EventId) {
    if core.status(id).is_ok_and(|s| s.is_idle()) {
        let _ = core.free(id);
    }
}

/// Sets the `ev_flags` that C may read from the core's view of `id`.
fn mirror_flags(core: &CoreBase, ev: &mut Event, id: Option<EventId>) {
    let mut flags = ev.cb.flags & (evlist::INIT | evlist::INTERNAL | evlist::FINALIZING);
    if let Some(status) = id.and_then(|id| core.status(id).ok()) {
        if status.inserted {
            flags |= evlist::INSERTED;
        }
        if status.timer {
            flags |= evlist::TIMEOUT;
        }
        if status.active {
            flags |= evlist::ACTIVE;
        }
        if status.active_later {
            flags |= evlist::ACTIVE_LATER;
        }
    }
    ev.cb.flags = flags;
}

/// Calls a C event's callback (the core's plain callback for every C event).
pub(crate) fn trampoline(core: &mut CoreBase, id: EventId, what: What, word: usize) {
    let ev = word as *mut Event;
    let (callback, fd, arg, persist) = {
        // SAFETY: the event is pending or active, so its storage is alive
        // (libevent's rule: a program frees only events that are neither).
        let e = unsafe { &mut *ev };
        // SAFETY: an event's base outlives its pending events.
        unsafe { (*(e.base as *const CBase)).enter(core) };
        e.res = what.bits() as c_short;
        let persist = e.events & What::PERSIST.bits() as c_short != 0;
        let keep = if persist { evlist::INSERTED | evlist::TIMEOUT } else { 0 };
        e.cb.flags &=
            !evlist::ACTIVE & !evlist::ACTIVE_LATER & (keep | evlist::INIT | evlist::INTERNAL | evlist::FINALIZING);
        (e.callback(), e.fd, e.cb.arg, persist)
    };
    if let Some(callback) = callback {
        // SAFETY: a C function of libevent's callback type, stored by
        // event_assign; the arguments are the event's own.
        unsafe { callback(fd, what.bits() as c_short, arg) };
    }
    // The callback may have freed or reused the struct: only the id is used now.
    if !persist && !what.contains(What::SIGNAL) {
        release_if_idle(core, id);
    }
}

/// The timeout of `event_add`: `None` for NULL, or a common timeout.
pub(crate) enum Timeout {
    None,
    After(Duration),
    Common(evbase_core::CommonTimeout),
}

/// The `tv_usec` that names common timeout `idx` of `duration`.
pub(crate) fn common_timeval(idx: usize, duration: Duration) -> Timeval {
    Timeval {
        tv_sec: duration.as_secs() as libc::time_t,
        tv_usec: (duration.subsec_micros() as libc::suseconds_t & MICROSECONDS_MASK)
            | COMMON_MAGIC
            | ((idx as libc::suseconds_t) << COMMON_IDX_SHIFT),
    }
}

pub(crate) fn timeout_of(cbase: &CBase, tv: *const Timeval) -> Timeout {
    // SAFETY: C passes NULL or a timeval.
    let Some(tv) = (unsafe { tv.as_ref() }) else {
        return Timeout::None;
    };
    if tv.tv_usec & COMMON_MASK == COMMON_MAGIC {
        let idx = ((tv.tv_usec & COMMON_IDX_MASK) >> COMMON_IDX_SHIFT) as usize;
        let common = cbase.common.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, handle)) = common.get(idx) {
            return Timeout::Common(*handle);
        }
    }
    Timeout::After(duration_of(tv))
}

/// `event_add` on the loop's side.
pub(crate) fn add_direct(core: &mut CoreBase, ev: *mut Event, timeout: Option<Duration>) -> Result<(), Error> {
    add_timeout(
        core,
        ev,
        match timeout {
            Some(d) => Timeout::After(d),
            None => Timeout::None,
        },
    )
}

pub(crate) fn add_timeout(core: &mut CoreBase, ev: *mut Event, timeout: Timeout) -> Result<(), Error> {
    // SAFETY: an assigned event the caller handed us.
    let live = live_id(core, unsafe { &*ev });
    let id = match live {
        Some(id) => id,
        None => ensure_id(core, ev)?,
    };
    let r = match timeout {
        Timeout::None => core.add(id, None),
        Timeout::After(d) => core.add(id, Some(d)),
        Timeout::Common(c) => core.add_common(id, c),
    };
    // SAFETY: as above.
    let e = unsafe { &mut *ev };
    if let Timeout::After(d) = timeout
        && e.events & What::PERSIST.bits() as c_short != 0
    {
        e.io_timeout = timeval_of(d);
    }
    if r.is_err() && live.is_none() {
        let _ = core.free(id);
        e.set_core_id(None);
        mirror_flags(core, e, None);
        return r;
    }
    mirror_flags(core, e, Some(id));
    r
}

/// `event_del` on the loop's side.
pub(crate) fn del_direct(core: &mut CoreBase, ev: *mut Event) -> Result<(), Error> {
    // SAFETY: an assigned event the caller handed us.
    let e = unsafe { &mut *ev };
    let Some(id) = live_id(core, e) else {
        e.cb.flags &= evlist::INIT | evlist::INTERNAL | evlist::FINALIZING;
        return Ok(());
    };
    let r = core.del(id);
    if r.is_ok() && core.running_event() != Some(id) {
        release_if_idle(core, id);
    }
    mirror_flags(core, e, Some(id));
    r
}

/// `event_active` on the loop's side.
pub(crate) fn active_direct(core: &mut CoreBase, ev: *mut Event, res: i16, ncalls: i16) {
    let Ok(id) = ensure_id(core, ev) else { return };
    let what = What::from_bits_truncate(res as u8);
    let _ = core.active(id, what, ncalls.max(0) as u16);
    // SAFETY: as in ensure_id.
    mirror_flags(core, unsafe { &mut *ev }, Some(id));
}

/// libevent's internal `event_active_later_` on the loop's side: the
/// callback runs on the next iteration, after the next poll.
pub(crate) fn active_later_direct(core: &mut CoreBase, ev: *mut Event, res: i16) {
    let Ok(id) = ensure_id(core, ev) else { return };
    let _ = core.active_later(id, What::from_bits_truncate(res as u8));
    // SAFETY: as in ensure_id.
    mirror_flags(core, unsafe { &mut *ev }, Some(id));
}

/// `event_remove_timer` on the loop's side.
pub(crate) fn remove_timer_direct(core: &mut CoreBase, ev: *mut Event) -> Result<(), Error> {
    // SAFETY: an assigned event the caller handed us.
    let e = unsafe { &mut *ev };
    if let Some(id) = live_id(core, e) {
        core.remove_timer(id)?;
        if core.running_event() != Some(id) {
            release_if_idle(core, id);
        }
    }
    e.cb.flags &= !evlist::TIMEOUT;
    Ok(())
}
