//! The Windows monotonic clock (libevent's `evutil_time.c`, Windows part):
//! `QueryPerformanceCounter`, counted from an anchor taken on the tick
//! clock (`GetTickCount64`) and re-anchored whenever the two drift more
//! than a second apart (a counter that jumps, e.g. across processors or a
//! suspend).
//!
//! Not the tick count alone, libevent's default: it moves in 10–16 ms
//! steps on real Windows, and a deadline counted from a "now" that trails
//! real time by up to a step lets a timer fire early. Without a performance
//! counter the tick count is the fallback.
//!
//! Readings go through a ratchet: one earlier than the last one returned
//! grows a correction instead of going backwards, so time stalls briefly and
//! never runs back.

use std::time::{Duration, SystemTime};

use evbase_core::Instant;

use crate::sys;

const NANOS_PER_MS: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Never returns less than it returned before (libevent's `adjust_monotonic_time`).
#[derive(Debug, Default, Clone, Copy)]
struct Ratchet {
    last: u64,
    correction: u64,
}

impl Ratchet {
    fn adjust(&mut self, raw: u64) -> u64 {
        let mut t = raw.saturating_add(self.correction);
        if t < self.last {
            self.correction += self.last - t;
            t = self.last;
        }
        self.last = t;
        t
    }
}

/// The monotonic clock of one platform.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    ratchet: Ratchet,
    /// (counter, nanoseconds on the tick clock) at the last anchoring.
    anchor: Option<(u64, u64)>,
    /// Wall clock minus monotonic clock, in nanoseconds.
    wall_offset: Option<u64>,
}

/// `count` ticks of a `freq` Hz counter, in nanoseconds, without overflow
/// for any realistic uptime.
fn counter_nanos(count: u64, freq: u64) -> u64 {
    let secs = count / freq;
    let rest = count % freq;
    secs.saturating_mul(NANOS_PER_SEC)
        .saturating_add(rest * NANOS_PER_SEC / freq)
}

impl Clock {
    /// Reads the clock: the performance counter (the tick count where there
    /// is none).
    pub(crate) fn now(&mut self) -> Instant {
        let tick = sys::tick_count_ms().saturating_mul(NANOS_PER_MS);
        let Some((count, freq)) = sys::performance_counter() else {
            return Instant::from_nanos(self.ratchet.adjust(tick));
        };
        let raw = match self.anchor {
            Some((c0, t0)) if count >= c0 => {
                let t = t0.saturating_add(counter_nanos(count - c0, freq));
                if t.abs_diff(tick) > NANOS_PER_SEC {
                    None
                } else {
                    Some(t)
                }
            }
            _ => None,
        };
        let raw = raw.unwrap_or_else(|| {
            self.anchor = Some((count, tick));
            tick
        });
        Instant::from_nanos(self.ratchet.adjust(raw))
    }
}

impl Clock {
    /// The wall clock (time since the Unix epoch), kept in step with the
    /// monotonic clock: monotonic time plus an offset
    /// taken from the system time, taken again when the two drift more than
    /// a second apart (the system time was set). So wall time advances with
    /// the monotonic clock's resolution, and a wall time derived from a
    /// cached monotonic time (`gettimeofday_cached`) does not jitter by the
    /// difference in resolution between the two clocks.
    pub(crate) fn wall(&mut self) -> Option<Duration> {
        let system = u64::try_from(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .ok()?
                .as_nanos(),
        )
        .ok()?;
        let mono = self.now().as_nanos();
        let slot = &mut self.wall_offset;
        let wall = match *slot {
            Some(off) if mono.saturating_add(off).abs_diff(system) <= NANOS_PER_SEC => mono.saturating_add(off),
            _ => {
                *slot = Some(system.saturating_sub(mono));
                system
            }
        };
        Some(Duration::from_nanos(wall))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratchet_never_goes_back() {
        let mut r = Ratchet::default();
        assert_eq!(r.adjust(100), 100);
        assert_eq!(r.adjust(90), 100);
        assert_eq!(r.adjust(95), 105);
        assert_eq!(r.adjust(200), 210);
    }

    #[test]
    fn counter_conversion() {
        assert_eq!(counter_nanos(10_000_000, 10_000_000), NANOS_PER_SEC);
        assert_eq!(counter_nanos(15, 10), 1_500_000_000);
        assert_eq!(counter_nanos(u64::MAX, 10_000_000), u64::MAX, "saturates");
        assert_eq!(
            counter_nanos(3_000_000 * 3600 * 24 * 365, 3_000_000),
            3600 * 24 * 365 * NANOS_PER_SEC
        );
    }

    /// The clock advances with `std::time::Instant` (the performance
    /// counter too) and never trails it.
    #[test]
    fn keeps_up_with_std_instant() {
        let mut c = Clock::default();
        let p = c.now();
        let s = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let real = s.elapsed();
        let q = c.now();
        assert!(
            q.saturating_since(p) >= real,
            "{:?} on the clock, {real:?} really",
            q.saturating_since(p)
        );
        let tick = sys::tick_count_ms().saturating_mul(NANOS_PER_MS);
        assert!(q.as_nanos().abs_diff(tick) < NANOS_PER_SEC);
    }

    #[test]
    fn wall_moves_with_the_monotonic_clock() {
        let mut c = Clock::default();
        let (w0, m0) = (c.wall().unwrap(), c.now());
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (w1, m1) = (c.wall().unwrap(), c.now());
        let (dw, dm) = (w1.saturating_sub(w0), m1.saturating_since(m0));
        assert!(
            dw.abs_diff(dm) <= Duration::from_millis(1),
            "wall {dw:?} vs monotonic {dm:?}"
        );
        let system = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap();
        assert!(system.abs_diff(w1) < Duration::from_secs(1));
    }
}
