//! Points on a base's monotonic clock.

use core::time::Duration;

/// A point on a monotonic clock, in nanoseconds from an origin the
/// platform chooses. Arithmetic saturates: a deadline never wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The origin of the clock.
    pub const ZERO: Instant = Instant(0);
    /// The farthest representable point ("never").
    pub const MAX: Instant = Instant(u64::MAX);

    /// The instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// The instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`Instant::MAX`].
    #[inline]
    pub fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_nanos(d)))
    }

    /// `self + nanos` nanoseconds, saturating at [`Instant::MAX`].
    #[inline]
    pub(crate) fn saturating_add_nanos(self, nanos: u64) -> Instant {
        Instant(self.0.saturating_add(nanos))
    }

    /// How long after `earlier` this instant is (zero if it is not later).
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// A duration in whole nanoseconds, saturating at `u64::MAX` (584 years).
#[inline]
pub fn duration_nanos(d: Duration) -> u64 {
    // In u64 (no u128 product): overflow of either step saturates.
    d.as_secs()
        .checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(u64::from(d.subsec_nanos())))
        .unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturates() {
        assert_eq!(Instant::MAX.saturating_add(Duration::from_secs(1)), Instant::MAX);
        assert_eq!(Instant::ZERO.saturating_since(Instant::from_millis(5)), Duration::ZERO);
        assert_eq!(
            Instant::from_millis(7).saturating_since(Instant::from_millis(5)),
            Duration::from_millis(2)
        );
        assert_eq!(duration_nanos(Duration::MAX), u64::MAX);
    }
}
