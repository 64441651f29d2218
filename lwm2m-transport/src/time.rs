//! Time as the endpoint sees it: an [`Instant`] the caller passes in, so the engine never reads a
//! clock itself. Tests drive it with virtual time; a driver converts its monotonic clock with
//! [`Clock`].

use core::fmt;
use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

/// A point in time, in microseconds since an arbitrary origin chosen by the caller.
///
/// Only differences matter: the endpoint compares instants and adds durations to them. Arithmetic
/// saturates instead of overflowing.
///
/// ```
/// use core::time::Duration;
/// use lwm2m_transport::Instant;
/// let start = Instant::from_millis(1_000);
/// let later = start + Duration::from_millis(2_500);
/// assert_eq!(later - start, Duration::from_millis(2_500));
/// assert_eq!(start - later, Duration::ZERO); // saturates
/// assert_eq!(later.to_string(), "3.500000s");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    micros: u64,
}

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant { micros: 0 };

    /// The latest representable instant.
    pub const MAX: Instant = Instant { micros: u64::MAX };

    /// `micros` microseconds after the origin.
    #[inline]
    pub const fn from_micros(micros: u64) -> Instant {
        Instant { micros }
    }

    /// `millis` milliseconds after the origin.
    #[inline]
    pub const fn from_millis(millis: u64) -> Instant {
        Instant {
            micros: millis.saturating_mul(1_000),
        }
    }

    /// `secs` seconds after the origin.
    #[inline]
    pub const fn from_secs(secs: u64) -> Instant {
        Instant {
            micros: secs.saturating_mul(1_000_000),
        }
    }

    /// Microseconds since the origin.
    #[inline]
    pub const fn as_micros(self) -> u64 {
        self.micros
    }

    /// Time elapsed since `earlier`, or zero if `earlier` is later.
    #[inline]
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.micros.saturating_sub(earlier.micros))
    }

    /// `self + duration`, or `None` past [`Instant::MAX`].
    #[inline]
    pub fn checked_add(self, duration: Duration) -> Option<Instant> {
        let micros = u64::try_from(duration.as_micros()).ok()?;
        self.micros.checked_add(micros).map(Instant::from_micros)
    }

    /// `self + duration`, clamped to [`Instant::MAX`].
    #[inline]
    #[must_use]
    pub fn saturating_add(self, duration: Duration) -> Instant {
        self.checked_add(duration).unwrap_or(Instant::MAX)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    #[inline]
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

impl AddAssign<Duration> for Instant {
    #[inline]
    fn add_assign(&mut self, rhs: Duration) {
        *self = self.saturating_add(rhs);
    }
}

impl Sub for Instant {
    type Output = Duration;

    /// The saturating difference, like [`Instant::saturating_duration_since`].
    #[inline]
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.micros / 1_000_000,
            self.micros % 1_000_000
        )
    }
}

/// Maps the operating system's monotonic clock onto endpoint [`Instant`]s, for drivers.
///
/// ```
/// use lwm2m_transport::Clock;
/// let clock = Clock::new();
/// let a = clock.now();
/// let b = clock.now();
/// assert!(b >= a);
/// assert!(clock.to_std(b) >= clock.to_std(a));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: std::time::Instant,
}

impl Clock {
    /// A clock whose origin is the current moment.
    pub fn new() -> Clock {
        Clock {
            origin: std::time::Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> Instant {
        self.from_std(std::time::Instant::now())
    }

    /// The endpoint instant of a `std` instant (instants before the origin map to the origin).
    pub fn from_std(&self, instant: std::time::Instant) -> Instant {
        let micros = instant.saturating_duration_since(self.origin).as_micros();
        Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// The `std` instant of an endpoint instant, e.g. to sleep until [`poll_timeout`].
    ///
    /// [`poll_timeout`]: crate::Endpoint::poll_timeout
    pub fn to_std(&self, instant: Instant) -> std::time::Instant {
        let offset = Duration::from_micros(instant.as_micros());
        self.origin
            .checked_add(offset)
            .unwrap_or(self.origin + Duration::from_secs(86_400 * 365 * 30))
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO.checked_add(Duration::MAX), None);
        let mut t = Instant::from_secs(1);
        t += Duration::from_micros(5);
        assert_eq!(t.as_micros(), 1_000_005);
        assert_eq!(
            Instant::from_millis(3) - Instant::from_millis(1),
            Duration::from_millis(2)
        );
    }

    #[test]
    fn clock_round_trips() {
        let clock = Clock::new();
        let now = std::time::Instant::now();
        let there = clock.from_std(now);
        let back = clock.to_std(there);
        assert!(back <= now && now - back < Duration::from_micros(2));
    }
}
