//! The `event_base_*` functions: making and freeing bases, running the
//! loop, stopping it, time, priorities and counters.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::time::Duration;

use evbase_core::{Config, Count, Exit, LoopFlags};

use crate::base::{Access, CBase, CrossOp, RawBase};
use crate::config::RawConfig;
use crate::layout::{Timeval, duration_of, timeval_of};
use crate::{compat, debug, log};

/// libevent's `EVENT_MAX_PRIORITIES`.
const MAX_PRIORITIES: c_int = 256;

/// The base behind a C pointer, or a warning naming the function.
fn cbase<'a>(base: *mut RawBase, what: &str) -> Option<&'a CBase> {
    // SAFETY: C passes NULL or a live base.
    let b = unsafe { CBase::from_raw(base) };
    if b.is_none() {
        log::warn(format_args!("{what}: called with a NULL event_base"));
    }
    b
}

/// Makes a base from a config; NULL (with a warning) when none opens.
pub(crate) fn new_base(config: &Config) -> *mut RawBase {
    debug::base_made();
    match CBase::create(config) {
        Ok(b) => b as *mut RawBase,
        Err(e) => {
            log::warn(format_args!(
                "event_base_new_with_config: no event mechanism available: {e}"
            ));
            std::ptr::null_mut()
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn event_base_new() -> *mut RawBase {
    new_base(&Config::default())
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_new_with_config(cfg: *const RawConfig) -> *mut RawBase {
    // SAFETY: C passes NULL or a config from event_config_new.
    match unsafe { RawConfig::get(cfg) } {
        Some(c) => new_base(c),
        None => new_base(&Config::default()),
    }
}

fn free_base(base: *mut RawBase, finalize: bool) {
    // SAFETY: C passes NULL or a live base.
    let Some(cb) = (unsafe { CBase::from_raw(base) }) else {
        return;
    };
    if cb.on_loop_thread() {
        log::warn(format_args!(
            "event_base_free: called from inside the base's own loop; not freed"
        ));
        return;
    }
    if let Access::Direct(core, _guard) = cb.access() {
        crate::inspect::forget_events(cb, core);
    }
    compat::forget_base(base);
    // SAFETY: a live base that no loop runs; C does not use it again.
    unsafe { CBase::destroy(base as *mut CBase, finalize) };
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_free(base: *mut RawBase) {
    let base = if base.is_null() { compat::current_base() } else { base };
    free_base(base, true);
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_free_nofinalize(base: *mut RawBase) {
    let base = if base.is_null() { compat::current_base() } else { base };
    free_base(base, false);
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_reinit(base: *mut RawBase) -> c_int {
    let Some(cb) = cbase(base, "event_reinit") else {
        return -1;
    };
    match cb.access() {
        Access::Direct(core, _g) => match core.reinit() {
            Ok(()) => 0,
            Err(e) => {
                log::warn(format_args!("event_reinit: {e}"));
                -1
            }
        },
        Access::Cross => -1,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_loop(base: *mut RawBase, flags: c_int) -> c_int {
    let Some(cb) = cbase(base, "event_base_loop") else {
        return -1;
    };
    let flags = LoopFlags::from_bits_truncate(flags as u8);
    match cb.run_loop(flags) {
        Err(()) => {
            log::warn(format_args!(
                "event_base_loop: reentrant invocation.  Only one event_base_loop can run on each event_base at once."
            ));
            -1
        }
        Ok(Ok(Exit::Done)) => 0,
        Ok(Ok(Exit::NoEvents)) => 1,
        Ok(Err(e)) => {
            log::warn(format_args!("event_base_loop: {e}"));
            -1
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_dispatch(base: *mut RawBase) -> c_int {
    // SAFETY: forwarded as given.
    unsafe { event_base_loop(base, 0) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_loopexit(base: *mut RawBase, tv: *const Timeval) -> c_int {
    let Some(cb) = cbase(base, "event_base_loopexit") else {
        return -1;
    };
    // SAFETY: C passes NULL or a timeval.
    let after = unsafe { tv.as_ref() }.map(duration_of);
    match cb.access() {
        Access::Direct(core, _g) => core.loop_exit(after).map_or(-1, |()| 0),
        Access::Cross => {
            match after {
                None => {
                    if cb.remote().loop_exit().is_err() {
                        cb.send_cross(CrossOp::Exit(None));
                    }
                }
                Some(_) => {
                    cb.send_cross(CrossOp::Exit(after));
                }
            }
            0
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_loopbreak(base: *mut RawBase) -> c_int {
    let Some(cb) = cbase(base, "event_base_loopbreak") else {
        return -1;
    };
    match cb.access() {
        Access::Direct(core, _g) => {
            core.loop_break();
            0
        }
        Access::Cross => cb.remote().loop_break().map_or(-1, |_| 0),
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_loopcontinue(base: *mut RawBase) -> c_int {
    let Some(cb) = cbase(base, "event_base_loopcontinue") else {
        return -1;
    };
    match cb.access() {
        Access::Direct(core, _g) => {
            core.loop_continue();
            0
        }
        Access::Cross => -1,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_got_exit(base: *mut RawBase) -> c_int {
    let Some(cb) = cbase(base, "event_base_got_exit") else {
        return 0;
    };
    match cb.access() {
        Access::Direct(core, _g) => core.got_exit() as c_int,
        Access::Cross => 0,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_got_break(base: *mut RawBase) -> c_int {
    let Some(cb) = cbase(base, "event_base_got_break") else {
        return 0;
    };
    match cb.access() {
        Access::Direct(core, _g) => core.got_break() as c_int,
        Access::Cross => 0,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_priority_init(base: *mut RawBase, n: c_int) -> c_int {
    let Some(cb) = cbase(base, "event_base_priority_init") else {
        return -1;
    };
    if !(1..MAX_PRIORITIES).contains(&n) {
        return -1;
    }
    match cb.access() {
        Access::Direct(core, _g) => core.priority_init(n as usize).map_or(-1, |()| 0),
        Access::Cross => -1,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_get_npriorities(base: *mut RawBase) -> c_int {
    let base = if base.is_null() { compat::current_base() } else { base };
    let Some(cb) = cbase(base, "event_base_get_npriorities") else {
        return 0;
    };
    match cb.access() {
        Access::Direct(core, _g) => core.npriorities() as c_int,
        Access::Cross => 0,
    }
}

/// The NUL-terminated name C sees for a method.
pub(crate) fn method_name(name: &str) -> &'static CStr {
    match name {
        "epoll" => c"epoll",
        "epoll (with changelist)" => c"epoll (with changelist)",
        "poll" => c"poll",
        "select" => c"select",
        "io_uring" => c"io_uring",
        "kqueue" => c"kqueue",
        "win32" => c"win32",
        _ => c"unknown",
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_get_method(base: *const RawBase) -> *const c_char {
    let Some(cb) = cbase(base as *mut RawBase, "event_base_get_method") else {
        return std::ptr::null();
    };
    match cb.access() {
        Access::Direct(core, _g) => method_name(core.method().name).as_ptr(),
        Access::Cross => std::ptr::null(),
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_get_features(base: *const RawBase) -> c_int {
    let Some(cb) = cbase(base as *mut RawBase, "event_base_get_features") else {
        return 0;
    };
    match cb.access() {
        Access::Direct(core, _g) => core.features().bits() as c_int,
        Access::Cross => 0,
    }
}

/// `event_get_supported_methods`: every method of this OS, NULL-terminated,
/// in preference order (on Linux io_uring last: it is chosen only when asked
/// for with `EVENT_IO_URING`, and listed even where the kernel refuses it, as
/// libevent lists every method it was built with).
#[unsafe(no_mangle)]
pub extern "C" fn event_get_supported_methods() -> *mut *const c_char {
    struct Names(Vec<*const c_char>);
    // SAFETY: the pointers are to 'static C strings, never written.
    unsafe impl Sync for Names {}
    // SAFETY: as above.
    unsafe impl Send for Names {}
    static NAMES: std::sync::OnceLock<Names> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut v: Vec<*const c_char> = Vec::new();
        for m in evbase_std::supported_methods() {
            let p = method_name(m.name).as_ptr();
            if !v.contains(&p) {
                v.push(p);
            }
        }
        v.push(std::ptr::null());
        Names(v)
    });
    names.0.as_ptr() as *mut *const c_char
}

#[unsafe(no_mangle)]
pub extern "C" fn event_get_version() -> *const c_char {
    c"2.1.12-stable".as_ptr()
}

#[unsafe(no_mangle)]
pub extern "C" fn event_get_version_number() -> u32 {
    0x0201_0c00
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_gettimeofday_cached(base: *mut RawBase, tv: *mut Timeval) -> c_int {
    if tv.is_null() {
        return -1;
    }
    let base = if base.is_null() { compat::current_base() } else { base };
    // SAFETY: C passes NULL or a live base.
    let now = match unsafe { CBase::from_raw(base) }.map(|b| b.access()) {
        Some(Access::Direct(core, _g)) => core.gettimeofday_cached().ok(),
        _ => None,
    };
    let now = now.or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok());
    match now {
        Some(d) => {
            // SAFETY: non-NULL output pointer.
            unsafe { *tv = timeval_of(d) };
            0
        }
        None => -1,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_update_cache_time(base: *mut RawBase) -> c_int {
    let Some(cb) = cbase(base, "event_base_update_cache_time") else {
        return -1;
    };
    match cb.access() {
        Access::Direct(core, _g) => {
            core.update_cache_time();
            0
        }
        Access::Cross => -1,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_gettime_monotonic(base: *mut RawBase, tv: *mut Timeval) -> c_int {
    if tv.is_null() {
        return -1;
    }
    let Some(cb) = cbase(base, "event_gettime_monotonic") else {
        return -1;
    };
    match cb.access() {
        Access::Direct(core, _g) => {
            let now = Duration::from_nanos(core.gettime_monotonic().as_nanos());
            // SAFETY: non-NULL output pointer.
            unsafe { *tv = timeval_of(now) };
            0
        }
        Access::Cross => -1,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_init_common_timeout(
    base: *mut RawBase,
    duration_tv: *const Timeval,
) -> *const Timeval {
    let Some(cb) = cbase(base, "event_base_init_common_timeout") else {
        return std::ptr::null();
    };
    // SAFETY: C passes NULL or a timeval.
    let Some(tv) = (unsafe { duration_tv.as_ref() }) else {
        return std::ptr::null();
    };
    // A common timeout given back (libevent's test does) names itself:
    // its marker bits are dropped and the same entry is found below.
    let d = duration_of(tv);
    let Access::Direct(core, _g) = cb.access() else {
        return std::ptr::null();
    };
    let mut common = cb.common.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((tv, _)) = common.iter().find(|(_, h)| h.duration() == d) {
        return &**tv;
    }
    match core.init_common_timeout(d) {
        Ok(handle) => {
            let tv = Box::new(crate::event::common_timeval(common.len(), d));
            let p: *const Timeval = &*tv;
            common.push((tv, handle));
            p
        }
        Err(e) => {
            log::warn(format_args!("event_base_init_common_timeout: {e}"));
            std::ptr::null()
        }
    }
}

fn counts(flags: c_int) -> Count {
    Count::from_bits_truncate(flags as u8)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_get_num_events(base: *mut RawBase, flags: c_int) -> c_int {
    let Some(cb) = cbase(base, "event_base_get_num_events") else {
        return -1;
    };
    match cb.access() {
        Access::Direct(core, _g) => core.num_events(counts(flags)) as c_int,
        Access::Cross => -1,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_get_max_events(base: *mut RawBase, flags: c_int, clear: c_int) -> c_int {
    let Some(cb) = cbase(base, "event_base_get_max_events") else {
        return -1;
    };
    match cb.access() {
        Access::Direct(core, _g) => core.max_events(counts(flags), clear != 0) as c_int,
        Access::Cross => -1,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_get_running_event(base: *mut RawBase) -> *mut c_void {
    let Some(cb) = cbase(base, "event_base_get_running_event") else {
        return std::ptr::null_mut();
    };
    match cb.access() {
        Access::Direct(core, _g) => core
            .running_event()
            .and_then(|id| core.callback_word(id).ok().flatten())
            .map_or(std::ptr::null_mut(), |w| w as *mut c_void),
        Access::Cross => std::ptr::null_mut(),
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_active_by_fd(base: *mut RawBase, fd: c_int, events: libc::c_short) {
    let Some(cb) = cbase(base, "event_base_active_by_fd") else {
        return;
    };
    if fd < 0 {
        return;
    }
    if let Access::Direct(core, _g) = cb.access() {
        core.active_by_fd(fd as u32, evbase_core::What::from_bits_truncate(events as u8));
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_active_by_signal(base: *mut RawBase, sig: c_int) {
    let Some(cb) = cbase(base, "event_base_active_by_signal") else {
        return;
    };
    if sig < 0 {
        return;
    }
    if let Access::Direct(core, _g) = cb.access() {
        core.active_by_signal(sig as u32);
    }
}

/// `event_base_once`'s callback type.
type OnceFn = Option<unsafe extern "C" fn(c_int, libc::c_short, *mut c_void)>;

#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_once(
    base: *mut RawBase,
    fd: c_int,
    events: libc::c_short,
    callback: OnceFn,
    arg: *mut c_void,
    tv: *const Timeval,
) -> c_int {
    let base = if base.is_null() { compat::current_base() } else { base };
    let Some(cb) = cbase(base, "event_base_once") else {
        return -1;
    };
    use evbase_core::What;
    let what = What::from_bits_truncate(events as u8);
    // libevent's rule: a pure timeout, or READ/WRITE (with CLOSED or
    // TIMEOUT beside); anything else (no flag, SIGNAL, PERSIST, CLOSED
    // alone) is a bad combination.
    let timer = what & (What::TIMEOUT | What::SIGNAL | What::READ | What::WRITE) == What::TIMEOUT;
    let io = what.intersects(What::READ | What::WRITE) && !what.intersects(What::SIGNAL | What::PERSIST);
    if !timer && !io {
        return -1;
    }
    // SAFETY: C passes NULL or a timeval.
    let timeout = unsafe { tv.as_ref() }.map(duration_of);
    let source = if fd >= 0 && what.intersects(evbase_core::What::IO) {
        evbase_core::Source::Fd(fd as u32)
    } else {
        evbase_core::Source::None
    };
    let what = if what.intersects(evbase_core::What::IO) {
        what
    } else {
        evbase_core::What::TIMEOUT
    };
    let Access::Direct(core, _g) = cb.access() else {
        return -1;
    };
    let owner = cb as *const CBase;
    let call = evbase_core::Callback::new(move |core, _id, res| {
        // SAFETY: the base that runs this callback owns it and is alive.
        unsafe { (*owner).enter(core) };
        if let Some(f) = callback {
            // SAFETY: the C function and argument given to event_base_once.
            unsafe { f(fd, res.bits() as libc::c_short, arg) };
        }
    });
    match core.once(source, what, timeout, call) {
        Ok(_) => 0,
        Err(e) => {
            log::warn(format_args!("event_base_once: {e}"));
            -1
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::{c_int, c_short, c_void};

    use super::*;
    use crate::config::{event_config_avoid_method, event_config_free, event_config_new};
    use crate::event_api::{
        event_add, event_assign, event_del, event_free, event_new, event_pending, event_priority_set,
    };
    use crate::layout::Event;

    unsafe extern "C" fn nothing(_fd: c_int, _what: c_short, _arg: *mut c_void) {}

    /// NULL pointers and values libevent refuses get libevent's answer (-1,
    /// NULL or 0, with a warning), never a crash, and leave the base usable.
    #[test]
    fn bad_arguments_get_libevents_answer() {
        // SAFETY: every pointer is NULL or valid; the bad values are the point.
        unsafe {
            assert_eq!(event_add(std::ptr::null_mut(), std::ptr::null()), -1);
            assert_eq!(event_del(std::ptr::null_mut()), -1);
            assert_eq!(event_pending(std::ptr::null(), 0xff, std::ptr::null_mut()), 0);
            assert_eq!(event_base_loop(std::ptr::null_mut(), 0), -1);
            assert_eq!(event_base_loopexit(std::ptr::null_mut(), std::ptr::null()), -1);
            assert_eq!(event_base_loopbreak(std::ptr::null_mut()), -1);
            assert_eq!(event_base_priority_init(std::ptr::null_mut(), 3), -1);
            assert_eq!(event_config_avoid_method(std::ptr::null_mut(), c"epoll".as_ptr()), -1);
            event_config_free(std::ptr::null_mut());
            event_free(std::ptr::null_mut());
            let cfg = event_config_new();
            assert_eq!(event_config_avoid_method(cfg, std::ptr::null()), -1);
            event_config_free(cfg);

            let base = event_base_new();
            assert!(!base.is_null());
            assert_eq!(event_base_priority_init(base, 0), -1, "no priorities");
            assert_eq!(event_base_priority_init(base, 256), -1, "EVENT_MAX_PRIORITIES is 256");
            assert_eq!(event_base_get_npriorities(base), 1, "unchanged");
            let mut storage = Box::new(std::mem::MaybeUninit::<Event>::zeroed());
            let ev = storage.as_mut_ptr();
            assert_eq!(
                event_assign(ev, base, 3, 0x08 | 0x02, Some(nothing), std::ptr::null_mut()),
                -1,
                "SIGNAL with READ"
            );
            let big = event_new(base, 1_000_000, 0x02, Some(nothing), std::ptr::null_mut());
            assert_eq!(event_add(big, std::ptr::null()), -1, "not an open descriptor");
            assert_eq!(event_pending(big, 0x02, std::ptr::null_mut()), 0);
            event_free(big);
            let sig = event_new(base, 65, 0x08, Some(nothing), std::ptr::null_mut());
            assert_eq!(event_add(sig, std::ptr::null()), -1, "no signal 65");
            event_free(sig);
            let timer = event_new(base, -1, 0, Some(nothing), std::ptr::null_mut());
            assert_eq!(event_priority_set(timer, 1), -1, "one priority only");
            assert_eq!(event_priority_set(timer, -1), -1);
            assert_eq!(event_priority_set(timer, 0), 0);
            let tv = crate::layout::Timeval { tv_sec: 0, tv_usec: 1 };
            assert_eq!(event_add(timer, &tv), 0, "the base still works");
            assert_eq!(event_base_loop(base, 0), 1);
            event_free(timer);
            event_base_free(base);
        }
    }
}
