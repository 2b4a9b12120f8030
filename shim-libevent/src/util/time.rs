//! Time: the wall clock, libevent's monotonic timer (a caller-owned
//! `struct evutil_monotonic_timer` that picks a clock once and reads it),
//! sleeping, and the HTTP date format.

use core::ffi::{c_char, c_int, c_long, c_void};

use super::sys;
use crate::{log, mm};

type Timeval = libc::timeval;

/// `EV_MONOT_PRECISE`: a clock with better than millisecond resolution.
const MONOT_PRECISE: c_int = 1;
/// `EV_MONOT_FALLBACK`: the ratcheted wall clock, even if a monotonic
/// clock exists (libevent uses it to test the fallback).
const MONOT_FALLBACK: c_int = 2;

/// `struct evutil_monotonic_timer` as libevent 2.1.12 lays it out on a
/// POSIX system with `clock_gettime`: the clock chosen, and the state of
/// the ratchet that keeps the wall-clock fallback from going backwards.
#[repr(C)]
pub struct MonotonicTimer {
    /// The clock read, or -1 for the ratcheted wall clock.
    monotonic_clock: c_int,
    /// How far the wall clock has been pushed forward so far.
    adjust_monotonic_clock: Timeval,
    /// The last time returned.
    last_time: Timeval,
}

/// `evutil_gettimeofday`: the wall clock (the time zone is not filled).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_gettimeofday(tv: *mut Timeval, tz: *mut c_void) -> c_int {
    let _ = tz;
    // SAFETY: the caller passes a writable timeval or null.
    let Some(tv) = (unsafe { tv.as_mut() }) else {
        sys::set_errno(libc::EFAULT);
        return -1;
    };
    match sys::gettimeofday() {
        Ok(now) => {
            *tv = now;
            0
        }
        Err(e) => {
            sys::set_errno(e);
            -1
        }
    }
}

/// `evutil_tv_to_msec_`: a duration in milliseconds, rounded up; -1 if
/// it does not fit in a `long` (or `usec` is out of range).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_tv_to_msec_(tv: *const Timeval) -> c_long {
    // SAFETY: the caller passes a readable timeval or null.
    match unsafe { tv.as_ref() } {
        Some(tv) => tv_to_msec(tv),
        None => -1,
    }
}

fn tv_to_msec(tv: &Timeval) -> c_long {
    if tv.tv_usec > 1_000_000 || tv.tv_sec > (c_long::MAX - 999) / 1000 {
        return -1;
    }
    tv.tv_sec as c_long * 1000 + (tv.tv_usec as c_long + 999) / 1000
}

/// `evutil_usleep_`: sleeps for `tv` (once: a signal may cut it short).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_usleep_(tv: *const Timeval) {
    // SAFETY: the caller passes a readable timeval or null.
    let Some(tv) = (unsafe { tv.as_ref() }) else { return };
    let nanos = (tv.tv_usec as c_long).saturating_mul(1000);
    let ts = libc::timespec {
        tv_sec: tv.tv_sec,
        tv_nsec: nanos as _,
    };
    // An invalid or interrupted sleep simply ends, as in libevent.
    let _ = sys::nanosleep(&ts);
}

const DAYS: [&core::ffi::CStr; 7] = [c"Sun", c"Mon", c"Tue", c"Wed", c"Thu", c"Fri", c"Sat"];
const MONTHS: [&core::ffi::CStr; 12] = [
    c"Jan", c"Feb", c"Mar", c"Apr", c"May", c"Jun", c"Jul", c"Aug", c"Sep", c"Oct", c"Nov", c"Dec",
];

unsafe extern "C" {
    /// `c/util.c`.
    fn evutil_snprintf(buf: *mut c_char, buflen: usize, format: *const c_char, ...) -> c_int;
}

/// `evutil_date_rfc1123`: `tm` (null: now) as an HTTP date,
/// `Sun, 06 Nov 1994 08:49:37 GMT`, with `evutil_snprintf`'s truncation
/// and result. A `tm` whose weekday or month is out of range gives -1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_date_rfc1123(date: *mut c_char, datelen: usize, tm: *const libc::tm) -> c_int {
    // SAFETY: the caller passes a readable tm or null.
    let tm = match unsafe { tm.as_ref() } {
        Some(tm) => *tm,
        None => match sys::gmtime_now() {
            Some(tm) => tm,
            None => return -1,
        },
    };
    let day = usize::try_from(tm.tm_wday).ok().and_then(|d| DAYS.get(d));
    let month = usize::try_from(tm.tm_mon).ok().and_then(|m| MONTHS.get(m));
    let (Some(day), Some(month)) = (day, month) else {
        log::warn(format_args!(
            "evutil_date_rfc1123: weekday {} or month {} out of range",
            tm.tm_wday, tm.tm_mon
        ));
        return -1;
    };
    if date.is_null() && datelen != 0 {
        return -1;
    }
    // SAFETY: `date` is writable for `datelen` bytes (the caller's
    // contract); the format's conversions match the arguments.
    unsafe {
        evutil_snprintf(
            date,
            datelen,
            c"%s, %02d %s %4d %02d:%02d:%02d GMT".as_ptr(),
            day.as_ptr(),
            tm.tm_mday,
            month.as_ptr(),
            tm.tm_year.wrapping_add(1900),
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
        )
    }
}

/// `evutil_monotonic_timer_new`: a zeroed timer from the library's
/// allocator (not yet configured), or null.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_monotonic_timer_new() -> *mut MonotonicTimer {
    mm::calloc(1, core::mem::size_of::<MonotonicTimer>()).cast()
}

/// `evutil_monotonic_timer_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_monotonic_timer_free(timer: *mut MonotonicTimer) {
    // SAFETY: the caller passes null or a timer from
    // `evutil_monotonic_timer_new`, which mm allocated.
    unsafe { mm::free(timer.cast()) };
}

/// `evutil_configure_monotonic_time`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_configure_monotonic_time(timer: *mut MonotonicTimer, flags: c_int) -> c_int {
    // SAFETY: the same contract.
    unsafe { evutil_configure_monotonic_time_(timer, flags) }
}

/// `evutil_gettime_monotonic`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_gettime_monotonic(timer: *mut MonotonicTimer, tp: *mut Timeval) -> c_int {
    // SAFETY: the same contract.
    unsafe { evutil_gettime_monotonic_(timer, tp) }
}

/// `evutil_configure_monotonic_time_`: picks the timer's clock. Without
/// flags, the coarse monotonic clock where there is one (cheap, ~1-4 ms);
/// with `EV_MONOT_PRECISE`, `CLOCK_MONOTONIC`; with `EV_MONOT_FALLBACK`,
/// or when no monotonic clock works, the wall clock made monotonic.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_configure_monotonic_time_(timer: *mut MonotonicTimer, flags: c_int) -> c_int {
    // SAFETY: the caller passes its own timer or null.
    let Some(timer) = (unsafe { timer.as_mut() }) else {
        log::warn(format_args!("evutil_configure_monotonic_time_: null timer"));
        return -1;
    };
    timer.monotonic_clock = choose_clock(flags);
    0
}

fn choose_clock(flags: c_int) -> c_int {
    let works = |clock| sys::clock_gettime(clock).is_ok();
    let fallback = flags & MONOT_FALLBACK != 0;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if flags & MONOT_PRECISE == 0 && !fallback && works(libc::CLOCK_MONOTONIC_COARSE) {
        return libc::CLOCK_MONOTONIC_COARSE;
    }
    if !fallback && works(libc::CLOCK_MONOTONIC) {
        return libc::CLOCK_MONOTONIC;
    }
    -1
}

/// `evutil_gettime_monotonic_`: the timer's clock, as a timeval.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_gettime_monotonic_(timer: *mut MonotonicTimer, tp: *mut Timeval) -> c_int {
    // SAFETY: the caller passes its own timer and timeval, or nulls.
    let (Some(timer), Some(tp)) = (unsafe { timer.as_mut() }, unsafe { tp.as_mut() }) else {
        log::warn(format_args!("evutil_gettime_monotonic_: null argument"));
        return -1;
    };
    let now = if timer.monotonic_clock < 0 {
        sys::gettimeofday().map(|wall| timer.ratchet(wall))
    } else {
        sys::clock_gettime(timer.monotonic_clock).map(|ts| Timeval {
            tv_sec: ts.tv_sec,
            tv_usec: (ts.tv_nsec / 1000) as _,
        })
    };
    match now {
        Ok(now) => {
            *tp = now;
            0
        }
        Err(e) => {
            sys::set_errno(e);
            -1
        }
    }
}

impl MonotonicTimer {
    /// The wall-clock reading `wall`, shifted by the accumulated
    /// adjustment, and never earlier than the last time returned: when
    /// the wall clock steps back, the step is added to the adjustment.
    fn ratchet(&mut self, wall: Timeval) -> Timeval {
        let mut now = tv_add(wall, self.adjust_monotonic_clock);
        if tv_lt(now, self.last_time) {
            let step = tv_sub(self.last_time, now);
            self.adjust_monotonic_clock = tv_add(self.adjust_monotonic_clock, step);
            now = self.last_time;
        }
        self.last_time = now;
        now
    }
}

fn tv_add(a: Timeval, b: Timeval) -> Timeval {
    let mut sum = Timeval {
        tv_sec: a.tv_sec + b.tv_sec,
        tv_usec: a.tv_usec + b.tv_usec,
    };
    if sum.tv_usec >= 1_000_000 {
        sum.tv_sec += 1;
        sum.tv_usec -= 1_000_000;
    }
    sum
}

fn tv_sub(a: Timeval, b: Timeval) -> Timeval {
    let mut diff = Timeval {
        tv_sec: a.tv_sec - b.tv_sec,
        tv_usec: a.tv_usec - b.tv_usec,
    };
    if diff.tv_usec < 0 {
        diff.tv_sec -= 1;
        diff.tv_usec += 1_000_000;
    }
    diff
}

fn tv_lt(a: Timeval, b: Timeval) -> bool {
    (a.tv_sec, a.tv_usec) < (b.tv_sec, b.tv_usec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tv(tv_sec: libc::time_t, tv_usec: libc::suseconds_t) -> Timeval {
        Timeval { tv_sec, tv_usec }
    }

    /// libc's timeval has no `PartialEq`; compare its fields.
    fn parts(t: Timeval) -> (libc::time_t, libc::suseconds_t) {
        (t.tv_sec, t.tv_usec)
    }

    #[test]
    fn layout_is_libevents() {
        // int (padded to 8) and two 16-byte timevals on LP64.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(core::mem::size_of::<MonotonicTimer>(), 40);
        assert_eq!(
            core::mem::offset_of!(MonotonicTimer, adjust_monotonic_clock),
            core::mem::align_of::<Timeval>()
        );
    }

    #[test]
    fn msec_rounds_up_and_refuses_overflow() {
        assert_eq!(tv_to_msec(&tv(2, 1)), 2001);
        assert_eq!(tv_to_msec(&tv(0, 999_000)), 999);
        assert_eq!(tv_to_msec(&tv(0, 1_000_001)), -1);
        assert_eq!(tv_to_msec(&tv(c_long::MAX / 1000, 0)), -1);
        // SAFETY: null is the case under test.
        assert_eq!(unsafe { evutil_tv_to_msec_(core::ptr::null()) }, -1);
    }

    #[test]
    fn usleep_sleeps_at_least_that_long() {
        let start = std::time::Instant::now();
        // SAFETY: a valid timeval.
        unsafe { evutil_usleep_(&tv(0, 20_000)) };
        assert!(start.elapsed() >= std::time::Duration::from_millis(20));
    }

    #[test]
    fn the_ratchet_never_goes_back() {
        // SAFETY: an all-zero timer is what evutil_monotonic_timer_new gives.
        let mut timer: MonotonicTimer = unsafe { core::mem::zeroed() };
        assert_eq!(parts(timer.ratchet(tv(100, 500_000))), (100, 500_000));
        // The wall clock steps back 2.7 s: time stands still...
        assert_eq!(parts(timer.ratchet(tv(97, 800_000))), (100, 500_000));
        // ...then moves on from there, shifted by the step.
        assert_eq!(parts(timer.ratchet(tv(98, 0))), (100, 700_000));
    }

    #[test]
    fn every_flavour_of_clock_is_monotonic() {
        for flags in [0, MONOT_PRECISE, MONOT_FALLBACK] {
            let timer = evutil_monotonic_timer_new();
            assert!(!timer.is_null());
            // SAFETY: a timer from evutil_monotonic_timer_new.
            assert_eq!(unsafe { evutil_configure_monotonic_time(timer, flags) }, 0);
            let mut last = tv(0, 0);
            for _ in 0..100 {
                let mut now = tv(0, 0);
                // SAFETY: a configured timer and a writable timeval.
                assert_eq!(unsafe { evutil_gettime_monotonic(timer, &mut now) }, 0);
                assert!(!tv_lt(now, last));
                last = now;
            }
            // SAFETY: the timer is not used again.
            unsafe { evutil_monotonic_timer_free(timer) };
        }
    }

    #[test]
    fn date_rfc1123_formats_and_truncates() {
        // SAFETY: all-zero is a valid tm.
        let mut tm: libc::tm = unsafe { core::mem::zeroed() };
        (
            tm.tm_sec, tm.tm_min, tm.tm_hour, tm.tm_mday, tm.tm_mon, tm.tm_year, tm.tm_wday,
        ) = (37, 49, 8, 6, 10, 94, 0);
        let mut buf = [0 as c_char; 64];
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { evutil_date_rfc1123(buf.as_mut_ptr(), buf.len(), &tm) };
        // SAFETY: the function NUL-terminates.
        let text = unsafe { core::ffi::CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(text, c"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(n, 29);
        // SAFETY: only 8 bytes of `buf` are offered.
        let n = unsafe { evutil_date_rfc1123(buf.as_mut_ptr(), 8, &tm) };
        // SAFETY: the function NUL-terminates.
        assert_eq!(unsafe { core::ffi::CStr::from_ptr(buf.as_ptr()) }, c"Sun, 06");
        assert_eq!(n, 29);
        tm.tm_mon = 12;
        // SAFETY: `buf` is writable; the month is out of range on purpose.
        assert_eq!(unsafe { evutil_date_rfc1123(buf.as_mut_ptr(), buf.len(), &tm) }, -1);
    }

    #[test]
    fn gettimeofday_is_the_wall_clock() {
        let mut now = tv(0, 0);
        // SAFETY: a writable timeval; a null time zone.
        assert_eq!(unsafe { evutil_gettimeofday(&mut now, core::ptr::null_mut()) }, 0);
        assert!(now.tv_sec > 1_600_000_000);
    }
}
