//! `major.minor` versions: object versions (`ObjectVersion`, the `ver` attribute) and LwM2M enabler
//! versions (`LWM2MVersion`, the `lwm2m` registration parameter).

use core::fmt;
use core::str::FromStr;

/// A `major.minor` version such as `1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// The major number: a change means an incompatible version.
    pub major: u8,
    /// The minor number: a change means a backward-compatible version.
    pub minor: u8,
}

/// A version string is not `major.minor` with two decimal numbers from 0 to 255.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid version at byte {offset}: expected \"<major>.<minor>\" with numbers 0-255")]
pub struct VersionError {
    /// Byte offset of the first offending character (or of the end of the input).
    pub offset: usize,
}

impl Version {
    /// `1.0`: the default object version and the LwM2M version this crate implements.
    pub const V1_0: Version = Version::new(1, 0);

    /// Builds a version.
    #[inline]
    pub const fn new(major: u8, minor: u8) -> Self {
        Version { major, minor }
    }

    /// Parses `"1.0"`. Surrounding double quotes are *not* accepted here: link-format readers strip
    /// them (`ver="1.1"` and `ver=1.1` are the same value).
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        let Some(dot) = text.find('.') else {
            return Err(VersionError { offset: text.len() });
        };
        let major = parse_u8(&text[..dot]).map_err(|o| VersionError { offset: o })?;
        let minor = parse_u8(&text[dot + 1..]).map_err(|o| VersionError {
            offset: dot + 1 + o,
        })?;
        Ok(Version { major, minor })
    }

    /// Whether a peer at version `self` can be served by an implementation at version `supported`:
    /// same major, and a minor that is not newer (digest §8.1, 4.12 Precondition Failed otherwise).
    #[inline]
    pub const fn is_supported_by(&self, supported: Version) -> bool {
        self.major == supported.major && self.minor <= supported.minor
    }
}

impl Default for Version {
    fn default() -> Self {
        Version::V1_0
    }
}

fn parse_u8(s: &str) -> Result<u8, usize> {
    if s.is_empty() {
        return Err(0);
    }
    let mut value: u16 = 0;
    for (i, b) in s.bytes().enumerate() {
        if !b.is_ascii_digit() {
            return Err(i);
        }
        value = value * 10 + u16::from(b - b'0');
        if value > u16::from(u8::MAX) {
            return Err(i);
        }
    }
    u8::try_from(value).map_err(|_| 0)
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn parse_and_display() {
        assert_eq!(Version::parse("1.0"), Ok(Version::V1_0));
        assert_eq!(Version::parse("2.12"), Ok(Version::new(2, 12)));
        assert_eq!(Version::new(1, 1).to_string(), "1.1");
        assert_eq!(Version::default(), Version::V1_0);
        assert_eq!(Version::parse("1"), Err(VersionError { offset: 1 }));
        assert_eq!(Version::parse(""), Err(VersionError { offset: 0 }));
        assert_eq!(Version::parse(".1"), Err(VersionError { offset: 0 }));
        assert_eq!(Version::parse("1."), Err(VersionError { offset: 2 }));
        assert_eq!(Version::parse("1.0.2"), Err(VersionError { offset: 3 }));
        assert_eq!(Version::parse("\"1.0\""), Err(VersionError { offset: 0 }));
        assert_eq!(Version::parse("256.0"), Err(VersionError { offset: 2 }));
        assert_eq!(Version::parse("1.x"), Err(VersionError { offset: 2 }));
    }

    #[test]
    fn ordering_and_compatibility() {
        assert!(Version::new(1, 0) < Version::new(1, 1));
        assert!(Version::new(1, 9) < Version::new(2, 0));
        assert!(Version::V1_0.is_supported_by(Version::V1_0));
        assert!(Version::V1_0.is_supported_by(Version::new(1, 1)));
        assert!(!Version::new(1, 1).is_supported_by(Version::V1_0));
        assert!(!Version::new(2, 0).is_supported_by(Version::V1_0));
        assert!(!Version::new(0, 9).is_supported_by(Version::V1_0));
    }
}
