//! Wall-clock time as the server's state machines see it: a [`Timestamp`] the caller passes in.
//!
//! Registrations outlive the process (they are stored), so their times are absolute: milliseconds
//! since the Unix epoch, not the monotonic instants of the CoAP engine. The sans-IO code never
//! reads a clock; a driver calls [`Timestamp::now`], a test uses virtual time.

use core::fmt;
use core::ops::{Add, Sub};
use core::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in wall-clock time: milliseconds since 1970-01-01T00:00:00Z. Arithmetic saturates.
///
/// ```
/// use core::time::Duration;
/// use lwm2m_server::Timestamp;
/// let t = Timestamp::from_unix_secs(1_700_000_000);
/// assert_eq!((t + Duration::from_millis(1_500)).as_unix_millis(), 1_700_000_001_500);
/// assert_eq!(t + Duration::from_secs(1) - t, Duration::from_secs(1));
/// assert_eq!(t - (t + Duration::from_secs(1)), Duration::ZERO);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// The latest representable time.
    pub const MAX: Timestamp = Timestamp(u64::MAX);

    /// `millis` milliseconds after the epoch.
    #[inline]
    pub const fn from_unix_millis(millis: u64) -> Timestamp {
        Timestamp(millis)
    }

    /// `secs` seconds after the epoch.
    #[inline]
    pub const fn from_unix_secs(secs: u64) -> Timestamp {
        Timestamp(secs.saturating_mul(1_000))
    }

    /// Milliseconds since the epoch.
    #[inline]
    pub const fn as_unix_millis(self) -> u64 {
        self.0
    }

    /// The system's wall clock now (the epoch if the clock is set before 1970).
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// `self + duration`, clamped to [`Timestamp::MAX`].
    #[inline]
    #[must_use]
    pub fn saturating_add(self, duration: Duration) -> Timestamp {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(millis))
    }

    /// Time elapsed since `earlier`, or zero if `earlier` is later.
    #[inline]
    pub const fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        let millis = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Timestamp(millis)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    #[inline]
    fn add(self, rhs: Duration) -> Timestamp {
        self.saturating_add(rhs)
    }
}

impl Sub for Timestamp {
    type Output = Duration;

    /// The saturating difference.
    #[inline]
    fn sub(self, rhs: Timestamp) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1_000, self.0 % 1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Timestamp::MAX + Duration::from_secs(1), Timestamp::MAX);
        assert_eq!(Timestamp::UNIX_EPOCH + Duration::MAX, Timestamp::MAX);
        assert_eq!(Timestamp::from_unix_secs(u64::MAX), Timestamp::MAX);
        assert_eq!(Timestamp::from_unix_millis(1_234).to_string(), "1.234s");
    }

    #[test]
    fn system_time() {
        let before_epoch = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(Timestamp::from(before_epoch), Timestamp::UNIX_EPOCH);
        assert_eq!(
            Timestamp::from(UNIX_EPOCH + Duration::from_millis(42)),
            Timestamp::from_unix_millis(42)
        );
        assert!(Timestamp::now() > Timestamp::from_unix_secs(1_600_000_000));
    }
}
