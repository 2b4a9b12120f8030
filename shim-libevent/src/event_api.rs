//! The `event_*` functions of `event2/event.h` that change or ask about
//! one event: assign, new, free, add, del, active, pending, priority.

use std::ffi::{c_int, c_short, c_void};

use evbase_core::What;

use crate::base::{Access, CBase, CrossOp, RawBase, self_cbarg};
use crate::event::{
    Timeout, active_direct, active_later_direct, add_timeout, del_direct, live_id, remove_timer_direct, timeout_of,
    what_of,
};
use crate::layout::{Event, EventCallbackFn, Timeval, evlist, timeval_of};
use crate::{debug, log};

/// The base of an assigned event, or a warning and `None`.
fn base_of<'a>(ev: *mut Event, what: &str) -> Option<&'a CBase> {
    // SAFETY: C passes NULL or an event.
    let Some(e) = (unsafe { ev.as_ref() }) else {
        log::warn(format_args!("{what}: called with a NULL event"));
        return None;
    };
    // SAFETY: an assigned event's base is a live base (libevent's rule).
    let base = unsafe { CBase::from_raw(e.base as *mut RawBase) };
    if base.is_none() {
        log::warn(format_args!("{what}: event has no event_base set."));
    }
    base
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_assign(
    ev: *mut Event,
    base: *mut RawBase,
    fd: c_int,
    events: c_short,
    callback: EventCallbackFn,
    arg: *mut c_void,
) -> c_int {
    if ev.is_null() {
        log::warn(format_args!("event_assign: called with a NULL event"));
        return -1;
    }
    let base = if base.is_null() {
        crate::compat::current_base()
    } else {
        base
    };
    // SAFETY: C passes NULL or a live base.
    let Some(cbase) = (unsafe { CBase::from_raw(base) }) else {
        log::warn(format_args!("event_assign: no event_base given and no current base"));
        return -1;
    };
    let what = events as u8;
    if what & What::SIGNAL.bits() != 0 && what & What::IO.bits() != 0 {
        log::warn(format_args!(
            "event_assign: EV_SIGNAL is not compatible with EV_READ, EV_WRITE or EV_CLOSED"
        ));
        return -1;
    }
    debug::assert_not_added(ev, "event_assign");
    let npriorities = match cbase.access() {
        Access::Direct(core, _guard) => {
            // A struct re-assigned while it still has a core event (a
            // misuse libevent leaves undefined): drop the old one.
            // SAFETY: `ev` is non-NULL; the struct is the caller's.
            if let Some(id) = live_id(core, unsafe { &*ev }) {
                let _ = core.free(id);
            }
            core.npriorities()
        }
        Access::Cross => 1,
    };
    let arg = if arg == self_cbarg() { ev as *mut c_void } else { arg };
    // SAFETY: `ev` points to caller memory of `struct event`'s size.
    let e = unsafe { &mut *ev };
    e.set_core_id(None);
    e.timeout_pos = [0; 2];
    e.private = [0; 2];
    e.io_timeout = Timeval { tv_sec: 0, tv_usec: 0 };
    e.timeout = Timeval { tv_sec: 0, tv_usec: 0 };
    e.fd = fd;
    e.base = base as *mut c_void;
    e.events = events;
    e.res = 0;
    e.cb.flags = evlist::INIT;
    e.cb.pri = (npriorities / 2) as u8;
    e.cb.closure = if what & What::SIGNAL.bits() != 0 {
        1
    } else if what & What::PERSIST.bits() != 0 {
        2
    } else {
        0
    };
    e.cb.callback = callback.map_or(std::ptr::null_mut(), |f| f as *mut c_void);
    e.cb.arg = arg;
    debug::note_assigned(ev);
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_new(
    base: *mut RawBase,
    fd: c_int,
    events: c_short,
    callback: EventCallbackFn,
    arg: *mut c_void,
) -> *mut Event {
    let ev = crate::mm::malloc(std::mem::size_of::<Event>()) as *mut Event;
    if ev.is_null() {
        return ev;
    }
    // SAFETY: fresh memory of the right size; zeroed so that no stale magic is seen.
    unsafe { std::ptr::write_bytes(ev, 0, 1) };
    let arg = if arg == self_cbarg() { ev as *mut c_void } else { arg };
    // SAFETY: as above.
    if unsafe { event_assign(ev, base, fd, events, callback, arg) } != 0 {
        // SAFETY: memory from mm::malloc, not handed out.
        unsafe { crate::mm::free(ev as *mut c_void) };
        return std::ptr::null_mut();
    }
    ev
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_free(ev: *mut Event) {
    if ev.is_null() {
        return;
    }
    debug::assert_assigned(ev, "event_free");
    // SAFETY: a live event handed to us.
    unsafe { event_del(ev) };
    debug::note_unassigned(ev);
    // SAFETY: event_free takes events from event_new (mm::malloc).
    unsafe { crate::mm::free(ev as *mut c_void) };
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_add(ev: *mut Event, tv: *const Timeval) -> c_int {
    let Some(cbase) = base_of(ev, "event_add") else {
        return -1;
    };
    debug::assert_assigned(ev, "event_add");
    let timeout = timeout_of(cbase, tv);
    match cbase.access() {
        Access::Direct(core, _guard) => match add_timeout(core, ev, timeout) {
            Ok(()) => 0,
            Err(e) => {
                log::warn(format_args!("event_add: {e}"));
                -1
            }
        },
        Access::Cross => {
            let d = match timeout {
                Timeout::None => None,
                Timeout::After(d) => Some(d),
                Timeout::Common(c) => Some(c.duration()),
            };
            cbase.send_cross(CrossOp::Add(ev, d));
            0
        }
    }
}

/// How `event_del` treats a callback running on another thread.
#[derive(Clone, Copy, PartialEq)]
enum Block {
    Auto,
    Always,
    Never,
}

fn del(ev: *mut Event, block: Block) -> c_int {
    let Some(cbase) = base_of(ev, "event_del") else {
        return -1;
    };
    match cbase.access() {
        Access::Direct(core, _guard) => match del_direct(core, ev) {
            Ok(()) => 0,
            Err(e) => {
                log::warn(format_args!("event_del: {e}"));
                -1
            }
        },
        Access::Cross => {
            let seq = cbase.send_cross(CrossOp::Del(ev));
            // SAFETY: a live event handed to us.
            let finalize = unsafe { (*ev).events } & What::FINALIZE.bits() as c_short != 0;
            // On the loop's own thread (a finalizer run while the base is
            // freed) waiting could never end.
            if !cbase.on_loop_thread() && (block == Block::Always || (block == Block::Auto && !finalize)) {
                cbase.wait_cross(seq);
            }
            0
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_del(ev: *mut Event) -> c_int {
    del(ev, Block::Auto)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_del_block(ev: *mut Event) -> c_int {
    del(ev, Block::Always)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_del_noblock(ev: *mut Event) -> c_int {
    del(ev, Block::Never)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_remove_timer(ev: *mut Event) -> c_int {
    let Some(cbase) = base_of(ev, "event_remove_timer") else {
        return -1;
    };
    match cbase.access() {
        Access::Direct(core, _guard) => remove_timer_direct(core, ev).map_or(-1, |()| 0),
        Access::Cross => {
            cbase.send_cross(CrossOp::RemoveTimer(ev));
            0
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_active(ev: *mut Event, res: c_int, ncalls: c_short) {
    let Some(cbase) = base_of(ev, "event_active") else {
        return;
    };
    debug::assert_assigned(ev, "event_active");
    match cbase.access() {
        Access::Direct(core, _guard) => active_direct(core, ev, res as i16, ncalls),
        Access::Cross => {
            cbase.send_cross(CrossOp::Active(ev, res as i16, ncalls));
        }
    }
}

/// libevent's internal `event_active_later_` (its regression suite calls it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_active_later_(ev: *mut Event, res: c_int) {
    let Some(cbase) = base_of(ev, "event_active_later_") else {
        return;
    };
    match cbase.access() {
        Access::Direct(core, _guard) => active_later_direct(core, ev, res as i16),
        Access::Cross => {
            cbase.send_cross(CrossOp::ActiveLater(ev, res as i16));
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_pending(ev: *const Event, events: c_short, tv: *mut Timeval) -> c_int {
    let Some(cbase) = base_of(ev as *mut Event, "event_pending") else {
        return 0;
    };
    debug::assert_assigned(ev as *mut Event, "event_pending");
    let asked = What::from_bits_truncate(events as u8);
    let (what, wall) = match cbase.access() {
        Access::Direct(core, _guard) => {
            // SAFETY: an assigned event handed to us.
            let e = unsafe { &*ev };
            match live_id(core, e).map(|id| core.pending(id, asked)) {
                Some(Ok(p)) => (p.what, p.wall_deadline),
                _ => (What::empty(), None),
            }
        }
        Access::Cross => {
            // The loop runs elsewhere: answer from the flags it last set.
            // SAFETY: as above.
            let e = unsafe { &*ev };
            let mut w = What::empty();
            if e.cb.flags & evlist::INSERTED != 0 {
                w |= what_of(e.events) & (What::IO | What::SIGNAL);
            }
            if e.cb.flags & evlist::TIMEOUT != 0 {
                w |= What::TIMEOUT;
            }
            if e.cb.flags & evlist::ACTIVE != 0 {
                w |= What::from_bits_truncate(e.res as u8);
            }
            (w & asked, None)
        }
    };
    if let (Some(wall), false) = (wall, tv.is_null())
        && what.contains(What::TIMEOUT)
    {
        // SAFETY: non-NULL output pointer from C.
        unsafe { *tv = timeval_of(wall) };
    }
    what.bits() as c_int
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_priority_set(ev: *mut Event, pri: c_int) -> c_int {
    let Some(cbase) = base_of(ev, "event_priority_set") else {
        return -1;
    };
    debug::assert_assigned(ev, "event_priority_set");
    let Access::Direct(core, _guard) = cbase.access() else {
        return -1;
    };
    if pri < 0 || pri as usize >= core.npriorities() {
        return -1;
    }
    // SAFETY: an assigned event handed to us.
    let e = unsafe { &mut *ev };
    if e.cb.flags & evlist::ACTIVE != 0 {
        return -1;
    }
    if let Some(id) = live_id(core, e)
        && core.set_priority(id, pri as usize).is_err()
    {
        return -1;
    }
    e.cb.pri = pri as u8;
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_set(base: *mut RawBase, ev: *mut Event) -> c_int {
    // SAFETY: C passes NULL or a live base.
    let Some(cbase) = (unsafe { CBase::from_raw(base) }) else {
        return -1;
    };
    if ev.is_null() {
        return -1;
    }
    debug::assert_assigned(ev, "event_base_set");
    // SAFETY: an assigned event handed to us.
    let e = unsafe { &mut *ev };
    if e.cb.flags & !(evlist::INIT) != 0 {
        return -1;
    }
    let Access::Direct(core, _guard) = cbase.access() else {
        return -1;
    };
    e.base = base as *mut c_void;
    e.cb.pri = (core.npriorities() / 2) as u8;
    0
}

#[cfg(test)]
mod tests {
    use std::ffi::{c_int, c_short, c_void};

    use super::*;
    use crate::accessors::event_initialized;
    use crate::base::with_core;
    use crate::loop_api::{event_base_free, event_base_loop, event_base_new};

    /// Core events of a base, the internal drain event included.
    fn core_events(base: *mut RawBase) -> usize {
        with_core(base, |c| c.memory().events).unwrap()
    }

    unsafe extern "C" fn count(_fd: c_int, _what: c_short, arg: *mut c_void) {
        // SAFETY: the tests pass a `*mut u32`.
        unsafe { *(arg as *mut u32) += 1 };
    }

    fn socketpair() -> [c_int; 2] {
        let mut sv = [0; 2];
        // SAFETY: a valid output array of two descriptors.
        let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) };
        assert_eq!(r, 0);
        sv
    }

    /// Fresh zeroed storage holding an event assigned to read `fd` and
    /// count its callbacks in `fired`.
    fn counting_reader(base: *mut RawBase, fd: c_int, fired: &mut u32) -> Box<std::mem::MaybeUninit<Event>> {
        let mut storage = Box::new(std::mem::MaybeUninit::<Event>::zeroed());
        let arg = fired as *mut u32 as *mut c_void;
        // SAFETY: struct event storage, a live base, a valid callback.
        let r = unsafe {
            event_assign(
                storage.as_mut_ptr(),
                base,
                fd,
                What::READ.bits() as c_short,
                Some(count),
                arg,
            )
        };
        assert_eq!(r, 0);
        storage
    }

    #[test]
    fn storage_of_an_idle_event_can_be_freed_without_telling() {
        let base = event_base_new();
        let idle = core_events(base);
        let sv = socketpair();
        let mut fired = 0u32;
        let mut storage = counting_reader(base, sv[0], &mut fired);
        // SAFETY: an assigned event.
        assert_eq!(unsafe { event_add(storage.as_mut_ptr(), std::ptr::null()) }, 0);
        assert_eq!(core_events(base), idle + 1, "pending: one core event");
        // SAFETY: writing one byte to our own socket.
        assert_eq!(unsafe { libc::write(sv[1], b"x".as_ptr() as *const c_void, 1) }, 1);
        // SAFETY: a live base.
        assert_eq!(unsafe { event_base_loop(base, 1) }, 0);
        assert_eq!(fired, 1);
        assert_eq!(
            core_events(base),
            idle,
            "a fired one-shot event keeps nothing in the core"
        );
        drop(storage);
        // The same works again with fresh storage, and after a del.
        let mut storage = counting_reader(base, sv[0], &mut fired);
        let ev = storage.as_mut_ptr();
        let read_or_timeout = (What::READ | What::TIMEOUT).bits();
        // SAFETY: an assigned event.
        unsafe {
            let tv = Timeval { tv_sec: 10, tv_usec: 0 };
            assert_eq!(event_add(ev, &tv), 0);
            assert_eq!(
                event_pending(ev, read_or_timeout as c_short, std::ptr::null_mut()),
                read_or_timeout as c_int
            );
            assert_eq!(event_del(ev), 0);
            assert_eq!(
                event_pending(ev, What::all().bits() as c_short, std::ptr::null_mut()),
                0
            );
        }
        assert_eq!(core_events(base), idle, "a deleted event keeps nothing in the core");
        drop(storage);
        // SAFETY: a live base, freed once; our sockets.
        unsafe {
            event_base_free(base);
            libc::close(sv[0]);
            libc::close(sv[1]);
        }
    }

    #[test]
    fn flags_mirror_the_core_at_libevents_offsets() {
        let base = event_base_new();
        let mut storage: Box<std::mem::MaybeUninit<Event>> = Box::new(std::mem::MaybeUninit::zeroed());
        let ev = storage.as_mut_ptr();
        let mut fired = 0u32;
        // SAFETY: struct event storage and valid arguments.
        unsafe {
            assert_eq!(event_initialized(ev), 0, "zeroed memory is not an event");
            event_assign(ev, base, -1, 0, Some(count), &mut fired as *mut u32 as *mut c_void);
            assert_eq!((*ev).cb.flags, evlist::INIT);
            let tv = Timeval { tv_sec: 5, tv_usec: 0 };
            event_add(ev, &tv);
            assert_eq!((*ev).cb.flags, evlist::INIT | evlist::TIMEOUT);
            event_active(ev, What::WRITE.bits() as c_int, 1);
            assert_eq!((*ev).cb.flags, evlist::INIT | evlist::TIMEOUT | evlist::ACTIVE);
            assert_eq!(event_base_loop(base, 3), 0, "ONCE | NONBLOCK runs the active callback");
            assert_eq!(fired, 1);
            assert_eq!((*ev).res, What::WRITE.bits() as c_short);
            assert_eq!(
                (*ev).cb.flags,
                evlist::INIT,
                "a non-persistent event is not pending after its callback"
            );
            event_base_free(base);
        }
        drop(storage);
    }
}
