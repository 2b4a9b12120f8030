//! The monotonic clocks: `CLOCK_MONOTONIC_COARSE` by default (cheap, one
//! kernel tick of resolution), `CLOCK_MONOTONIC` when precise, behind a
//! ratchet so that the base's time never goes backwards.
//!
//! A timer's deadline is computed on the coarse clock, which lags real time
//! by up to one tick. A wait of exactly the remaining time could therefore
//! end before the coarse clock reaches the deadline (the loop would then
//! wait again, several times, until the tick). [`Timing::wait`] lengthens a
//! coarse wait by the tick minus the current lag, so that the first wake-up
//! already sees the deadline: timers never fire early on the base's clock
//! and rarely spin.

use core::time::Duration;

use evbase_core::Instant;

use crate::sys;

/// The coarse clock of this OS, if it has one.
#[cfg(any(target_os = "linux", target_os = "android"))]
const COARSE: Option<libc::clockid_t> = Some(libc::CLOCK_MONOTONIC_COARSE);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const COARSE: Option<libc::clockid_t> = None;

/// Waits at least this long skip the lag measurement (see [`Timing::wait`]).
const LONG_WAIT: Duration = Duration::from_secs(1);

/// How a backend turns a timeout computed on the base's clock into a wait.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// The base reads `CLOCK_MONOTONIC`: waits are exact.
    precise: bool,
    /// The clock the base reads when not precise.
    coarse: libc::clockid_t,
    /// The coarse clock's resolution in nanoseconds (0: not coarse).
    tick: u64,
}

impl Timing {
    /// The timing of a base that reads the precise clock if `precise`.
    pub(crate) fn new(precise: bool) -> Timing {
        let (coarse, tick) = coarse_clock();
        Timing { precise, coarse, tick }
    }

    /// The wait that ends no earlier than `timeout` on the base's clock:
    /// unchanged when precise, or lengthened by what the coarse clock may
    /// still have to catch up. A wait of a second or more is lengthened by
    /// a whole tick without reading the clocks (at most one tick late, a
    /// fraction of a percent of the wait; busy loops with long timeouts wait
    /// on every iteration and rarely reach them).
    #[inline]
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Option<Duration> {
        match timeout {
            Some(d) if d >= LONG_WAIT && !self.precise => Some(d.saturating_add(Duration::from_nanos(self.tick))),
            Some(d) if !d.is_zero() && !self.precise && self.tick > 0 => {
                let coarse = sys::clock_gettime(self.coarse).unwrap_or(0);
                let real = sys::clock_gettime(libc::CLOCK_MONOTONIC).unwrap_or(coarse);
                let lag = real.saturating_sub(coarse);
                Some(d.saturating_add(Duration::from_nanos(self.tick.saturating_sub(lag))))
            }
            other => other,
        }
    }
}

/// The coarse clock and its resolution, or `CLOCK_MONOTONIC` and 0 where
/// there is no usable coarse clock.
fn coarse_clock() -> (libc::clockid_t, u64) {
    if let Some(id) = COARSE
        && let Ok(res) = sys::clock_getres(id)
        && sys::clock_gettime(id).is_ok()
    {
        // A "coarse" clock with a fine resolution needs no slack.
        return (id, if res > 1_000 { res } else { 0 });
    }
    (libc::CLOCK_MONOTONIC, 0)
}

/// The resolution of the coarse clock (zero where there is none).
pub(crate) fn coarse_resolution() -> Duration {
    Duration::from_nanos(coarse_clock().1)
}

/// The clock of one platform: coarse or precise reads behind a ratchet.
#[derive(Debug)]
pub(crate) struct Clock {
    coarse: libc::clockid_t,
    /// The latest instant returned: time stalls rather than runs backwards.
    last: u64,
    /// Whether the last read was of the precise clock (the base's mode).
    precise: bool,
    /// `CLOCK_REALTIME - CLOCK_MONOTONIC` in nanoseconds, kept while it
    /// stays within [`WALL_STEP`] of a fresh measurement.
    wall_offset: Option<i128>,
}

/// How far the wall clock may drift from the monotonic one before the
/// offset between them is measured again (a step of the wall clock, or
/// accumulated NTP slewing).
const WALL_STEP: i128 = 1_000_000;

impl Clock {
    /// A clock on this OS's coarse and precise monotonic clocks.
    pub(crate) fn new() -> Clock {
        Clock {
            coarse: coarse_clock().0,
            last: 0,
            precise: false,
            wall_offset: None,
        }
    }

    /// Now, on the precise clock if `precise`, else the coarse one; never
    /// earlier than any instant returned before.
    pub(crate) fn now(&mut self, precise: bool) -> Instant {
        self.precise = precise;
        let id = if precise { libc::CLOCK_MONOTONIC } else { self.coarse };
        let raw = sys::clock_gettime(id).unwrap_or(self.last);
        self.last = self.last.max(raw);
        Instant::from_nanos(self.last)
    }

    /// The wall clock as time since the Unix epoch: the base's monotonic
    /// clock plus a stable offset to `CLOCK_REALTIME`. The offset is kept
    /// until the wall clock moves more than 1 ms away from it, so that the
    /// difference between a wall and a monotonic reading is the same from
    /// one call to the next (a cached time converts to the same wall time
    /// every time, as libevent's `tv_clock_diff`).
    pub(crate) fn wall(&mut self) -> Option<Duration> {
        let real = i128::from(sys::clock_gettime(libc::CLOCK_REALTIME).ok()?);
        let mono = i128::from(sys::clock_gettime(libc::CLOCK_MONOTONIC).ok()?);
        let fresh = real - mono;
        let offset = match self.wall_offset {
            Some(o) if (o - fresh).abs() <= WALL_STEP => o,
            _ => fresh,
        };
        self.wall_offset = Some(offset);
        let now = i128::from(self.now(self.precise).as_nanos());
        u64::try_from(now + offset).ok().map(Duration::from_nanos)
    }
}

/// `d` in whole milliseconds rounded up (never early), at most `cap`.
#[inline]
pub(crate) fn millis_up(d: Duration, cap: u64) -> u64 {
    // In u64 (a u128 division costs a library call): whole seconds in ms,
    // plus the sub-second nanoseconds rounded up.
    let sub = u64::from(d.subsec_nanos()).div_ceil(1_000_000);
    d.as_secs().saturating_mul(1000).saturating_add(sub).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_up() {
        assert_eq!(millis_up(Duration::ZERO, 100), 0);
        assert_eq!(millis_up(Duration::from_nanos(1), 100), 1);
        assert_eq!(millis_up(Duration::from_micros(1500), 100), 2);
        assert_eq!(millis_up(Duration::from_millis(3), 100), 3);
        assert_eq!(millis_up(Duration::from_secs(1000), 100), 100);
    }

    #[test]
    fn ratchet_and_wait() {
        let mut c = Clock::new();
        let mut prev = c.now(false);
        for i in 0..1000 {
            let t = c.now(i % 2 == 0);
            assert!(t >= prev);
            prev = t;
        }
        let t = Timing::new(false);
        let d = Duration::from_millis(5);
        let w = t.wait(Some(d)).unwrap();
        assert!(w >= d && w <= d + Duration::from_nanos(t.tick));
        assert_eq!(t.wait(Some(Duration::ZERO)), Some(Duration::ZERO));
        assert_eq!(t.wait(None), None);
        assert_eq!(Timing::new(true).wait(Some(d)), Some(d));
        let long = Duration::from_secs(10);
        assert_eq!(t.wait(Some(long)), Some(long + Duration::from_nanos(t.tick)));
        assert_eq!(Timing::new(true).wait(Some(long)), Some(long));
    }
}
