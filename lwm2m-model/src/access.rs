//! Access rights: the value of one ACL entry of the Access Control object (`/2/x/2/{ssid}`; digest
//! §14, test-vectors §9).
//!
//! Deciding a request (which AC instance, owner, default entry) is the client's job; this module
//! only gives the bits a name.

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

/// A set of access rights, as stored in one ACL resource instance.
///
/// Bits 5-15 are reserved: they are ignored when reading an ACL value and never written.
///
/// ```
/// use lwm2m_model::AccessRights;
///
/// let rights = AccessRights::from_acl_value(15)?;
/// assert_eq!(rights, AccessRights::FULL);
/// assert!(rights.contains(AccessRights::READ | AccessRights::DELETE));
/// assert!(!rights.contains(AccessRights::CREATE));
/// assert_eq!(rights.to_string(), "RWED");
/// # Ok::<(), lwm2m_model::AccessError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct AccessRights(u8);

/// An ACL value is outside the 16-bit range of the ACL resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ACL value {0} is out of range (expected 0-65535)")]
pub struct AccessError(pub i64);

impl AccessRights {
    /// No right.
    pub const NONE: AccessRights = AccessRights(0);
    /// Bit 0 (1): Read, Observe, Discover, Write-Attributes.
    pub const READ: AccessRights = AccessRights(1);
    /// Bit 1 (2): Write.
    pub const WRITE: AccessRights = AccessRights(2);
    /// Bit 2 (4): Execute.
    pub const EXECUTE: AccessRights = AccessRights(4);
    /// Bit 3 (8): Delete.
    pub const DELETE: AccessRights = AccessRights(8);
    /// Bit 4 (16): Create; meaningful only in an AC instance whose Object Instance ID is 65535.
    pub const CREATE: AccessRights = AccessRights(16);
    /// R + W + E + D (15): what the creating server gets on a new instance, and what the Access
    /// Control Owner has when the ACL has no entry for it.
    pub const FULL: AccessRights = AccessRights(15);

    const KNOWN_BITS: u8 = 0x1F;

    /// The rights from the bits of an ACL value, ignoring the reserved bits 5-15.
    #[inline]
    pub const fn from_bits_truncate(bits: u16) -> AccessRights {
        AccessRights((bits & Self::KNOWN_BITS as u16) as u8)
    }

    /// The rights from an ACL resource value (an Integer): values outside 0-65535 are an error,
    /// reserved bits are ignored.
    pub fn from_acl_value(value: i64) -> Result<AccessRights, AccessError> {
        u16::try_from(value)
            .map(AccessRights::from_bits_truncate)
            .map_err(|_| AccessError(value))
    }

    /// The bits (0-31).
    #[inline]
    pub const fn bits(self) -> u16 {
        self.0 as u16
    }

    /// The value to store in the ACL resource.
    #[inline]
    pub const fn to_acl_value(self) -> i64 {
        self.0 as i64
    }

    /// Whether every right of `other` is in `self`.
    #[inline]
    pub const fn contains(self, other: AccessRights) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no right is set.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The union of both sets.
    #[inline]
    #[must_use]
    pub const fn union(self, other: AccessRights) -> AccessRights {
        AccessRights(self.0 | other.0)
    }

    /// The rights in both sets.
    #[inline]
    #[must_use]
    pub const fn intersection(self, other: AccessRights) -> AccessRights {
        AccessRights(self.0 & other.0)
    }

    /// `self` without the rights in `other`.
    #[inline]
    #[must_use]
    pub const fn difference(self, other: AccessRights) -> AccessRights {
        AccessRights(self.0 & !other.0)
    }
}

impl BitOr for AccessRights {
    type Output = AccessRights;

    fn bitor(self, rhs: AccessRights) -> AccessRights {
        self.union(rhs)
    }
}

impl BitOrAssign for AccessRights {
    fn bitor_assign(&mut self, rhs: AccessRights) {
        *self = self.union(rhs);
    }
}

impl BitAnd for AccessRights {
    type Output = AccessRights;

    fn bitand(self, rhs: AccessRights) -> AccessRights {
        self.intersection(rhs)
    }
}

impl fmt::Display for AccessRights {
    /// The letters of the rights held, in bit order (`R`, `W`, `E`, `D`, `C`), or `-` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        for (right, letter) in [
            (AccessRights::READ, "R"),
            (AccessRights::WRITE, "W"),
            (AccessRights::EXECUTE, "E"),
            (AccessRights::DELETE, "D"),
            (AccessRights::CREATE, "C"),
        ] {
            if self.contains(right) {
                f.write_str(letter)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn vector_bits() {
        // test-vectors §9: Read 1, Write 2, Execute 4, Delete 8, Create 16, R+W+E+D 15, R+W+E 7.
        assert_eq!(AccessRights::READ.bits(), 1);
        assert_eq!(AccessRights::WRITE.bits(), 2);
        assert_eq!(AccessRights::EXECUTE.bits(), 4);
        assert_eq!(AccessRights::DELETE.bits(), 8);
        assert_eq!(AccessRights::CREATE.bits(), 16);
        assert_eq!(
            AccessRights::READ | AccessRights::WRITE | AccessRights::EXECUTE | AccessRights::DELETE,
            AccessRights::FULL
        );
        assert_eq!(AccessRights::FULL.to_acl_value(), 15);
        assert_eq!(
            (AccessRights::READ | AccessRights::WRITE | AccessRights::EXECUTE).to_acl_value(),
            7
        );
    }

    #[test]
    fn ts_example_acls() {
        // Appendix F: [101] = 0b1111, [102] = 0b0001, [101] = 0b10000 on (5, 65535).
        assert_eq!(AccessRights::from_acl_value(0b1111), Ok(AccessRights::FULL));
        assert_eq!(AccessRights::from_acl_value(0b0001), Ok(AccessRights::READ));
        let create = AccessRights::from_acl_value(0b10000).unwrap();
        assert!(create.contains(AccessRights::CREATE));
        assert!(!create.contains(AccessRights::READ));
    }

    #[test]
    fn range_and_reserved_bits() {
        assert_eq!(AccessRights::from_acl_value(-1), Err(AccessError(-1)));
        assert_eq!(AccessRights::from_acl_value(65536), Err(AccessError(65536)));
        assert_eq!(AccessRights::from_acl_value(0xFFFF).unwrap().bits(), 0x1F);
        assert_eq!(AccessRights::from_acl_value(0x20), Ok(AccessRights::NONE));
        assert_eq!(
            AccessError(70000).to_string(),
            "ACL value 70000 is out of range (expected 0-65535)"
        );
    }

    #[test]
    fn set_operations_and_display() {
        let mut r = AccessRights::READ;
        r |= AccessRights::DELETE;
        assert_eq!(r.to_string(), "RD");
        assert_eq!((r & AccessRights::FULL), r);
        assert_eq!(r.difference(AccessRights::READ), AccessRights::DELETE);
        assert_eq!(r.intersection(AccessRights::WRITE), AccessRights::NONE);
        assert!(AccessRights::NONE.is_empty());
        assert!(r.contains(AccessRights::NONE));
        assert_eq!(AccessRights::NONE.to_string(), "-");
        assert_eq!(AccessRights::from_bits_truncate(31).to_string(), "RWEDC");
    }
}
