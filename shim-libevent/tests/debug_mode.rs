//! `event_enable_debug_mode` stops a program on the misuse libevent's debug
//! mode catches — an event that was never assigned (or was unassigned, as
//! after `event_free`), and an event re-assigned while pending — and
//! without debug mode the same calls get an answer instead of a crash.
//! Each case runs in a forked child (the misuse aborts it); the binary has
//! no test harness, so the fork happens in a process with one thread.

use std::ffi::{c_int, c_short, c_void};

// Link the library; its C symbols are declared below.
use evbase_libevent as _;

#[repr(C, align(8))]
struct Event([u8; 128]);

type Callback = Option<unsafe extern "C" fn(c_int, c_short, *mut c_void)>;

unsafe extern "C" {
    fn event_enable_debug_mode();
    fn event_base_new() -> *mut c_void;
    fn event_base_free(base: *mut c_void);
    fn event_assign(
        ev: *mut Event,
        base: *mut c_void,
        fd: c_int,
        events: c_short,
        cb: Callback,
        arg: *mut c_void,
    ) -> c_int;
    fn event_add(ev: *mut Event, tv: *const libc::timeval) -> c_int;
    fn event_debug_unassign(ev: *mut Event);
    fn event_set_log_callback(cb: Option<unsafe extern "C" fn(c_int, *const libc::c_char)>);
}

unsafe extern "C" fn nothing(_: c_int, _: c_short, _: *mut c_void) {}
unsafe extern "C" fn quiet(_: c_int, _: *const libc::c_char) {}

const TIMER: c_short = 0;
const ONE_HOUR: libc::timeval = libc::timeval {
    tv_sec: 3600,
    tv_usec: 0,
};

/// A use of the library that is wrong in C.
type Misuse = fn(*mut c_void, *mut Event);

fn never_assigned(base: *mut c_void, ev: *mut Event) {
    // A copy of an assigned event: it names a live base, but the library
    // never assigned this struct. (A zeroed one names no base: libevent
    // and evbase both answer -1 before any debug check.)
    let mut original = Event([0; 128]);
    // SAFETY: valid storage, base and callback; then a plain byte copy.
    unsafe {
        assert_eq!(
            event_assign(&mut original, base, -1, TIMER, Some(nothing), std::ptr::null_mut()),
            0
        );
        std::ptr::copy_nonoverlapping(&original, ev, 1);
        // Without debug mode the copy is taken for an event of its own.
        assert_eq!(event_add(ev, &ONE_HOUR), 0);
    }
}

fn unassigned(base: *mut c_void, ev: *mut Event) {
    // SAFETY: valid storage, base and callback.
    unsafe {
        assert_eq!(
            event_assign(ev, base, -1, TIMER, Some(nothing), std::ptr::null_mut()),
            0
        );
        event_debug_unassign(ev);
        // Without debug mode the struct still names its base: accepted.
        event_add(ev, &ONE_HOUR);
    }
}

fn reassigned_while_pending(base: *mut c_void, ev: *mut Event) {
    // SAFETY: valid storage, base and callback.
    unsafe {
        assert_eq!(
            event_assign(ev, base, -1, TIMER, Some(nothing), std::ptr::null_mut()),
            0
        );
        assert_eq!(event_add(ev, &ONE_HOUR), 0);
        // Without debug mode evbase drops the old registration first.
        assert_eq!(
            event_assign(ev, base, -1, TIMER, Some(nothing), std::ptr::null_mut()),
            0
        );
    }
}

/// Runs `misuse` in a child; returns how the child ended: `Ok(code)` for an
/// exit, `Err(signal)` for a signal.
fn in_child(debug: bool, misuse: Misuse) -> Result<c_int, c_int> {
    // SAFETY: this process has one thread (no test harness).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        // SAFETY: plain library calls in the child; it exits without
        // running the parent's destructors.
        unsafe {
            event_set_log_callback(Some(quiet));
            if debug {
                event_enable_debug_mode();
            }
            let base = event_base_new();
            let mut storage = Event([0; 128]);
            misuse(base, &mut storage);
            event_base_free(base);
            libc::_exit(0);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else {
        Err(libc::WTERMSIG(status))
    }
}

fn main() {
    let cases: [(&str, Misuse); 3] = [
        ("never_assigned", never_assigned),
        ("unassigned", unassigned),
        ("reassigned_while_pending", reassigned_while_pending),
    ];
    let mut failed = 0;
    for (name, misuse) in cases {
        let with = in_child(true, misuse);
        let without = in_child(false, misuse);
        let ok = with == Err(libc::SIGABRT) && without == Ok(0);
        println!(
            "test debug_mode::{name} ... {} (debug mode: {with:?}, without: {without:?})",
            if ok { "ok" } else { "FAILED" }
        );
        failed += usize::from(!ok);
    }
    println!(
        "\ntest result: {}. {} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" },
        cases.len() - failed
    );
    std::process::exit(i32::from(failed > 0));
}
