//! Registration ids: the second Location-Path segment of a Register response (`/rd/{id}`).

use core::fmt;
use core::str::FromStr;

/// The alphabet of generated ids: lower-case Crockford base32 (no `i`, `l`, `o`, `u`).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A registration id: 1 to [`RegistrationId::MAX_LEN`] characters from `[0-9a-z]`.
///
/// The server generates 12 random base32 characters (60 bits from a `ChaCha12` generator), so a
/// third party cannot guess the handle of someone else's registration; an id loaded from a store
/// may be any valid id (the TS example `5a3f` is one). It is `Copy` and 13 bytes big, with no
/// heap.
///
/// ```
/// use lwm2m_server::registration::RegistrationId;
/// let id: RegistrationId = "5a3f".parse()?;
/// assert_eq!(id.as_str(), "5a3f");
/// assert!(RegistrationId::parse("5A3F").is_err());
/// assert!(RegistrationId::parse("").is_err());
/// # Ok::<(), lwm2m_server::registration::InvalidRegistrationId>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationId {
    len: u8,
    bytes: [u8; RegistrationId::MAX_LEN],
}

/// A string is not a registration id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid registration id: expected 1-12 characters from [0-9a-z]")]
pub struct InvalidRegistrationId;

impl RegistrationId {
    /// The longest id.
    pub const MAX_LEN: usize = 12;

    /// Parses an id (as found in an Update or De-register Uri-Path).
    pub fn parse(text: &str) -> Result<RegistrationId, InvalidRegistrationId> {
        let bytes = text.as_bytes();
        if bytes.is_empty()
            || bytes.len() > Self::MAX_LEN
            || !bytes
                .iter()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        {
            return Err(InvalidRegistrationId);
        }
        let mut id = RegistrationId {
            len: bytes.len() as u8,
            bytes: [0; Self::MAX_LEN],
        };
        if let Some(dst) = id.bytes.get_mut(..bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        Ok(id)
    }

    /// A fresh id of 12 random characters taken from `random` (60 bits).
    pub fn from_random(random: u64) -> RegistrationId {
        let mut bytes = [0; Self::MAX_LEN];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let index = (random >> (5 * i)) & 31;
            *byte = ALPHABET.get(index as usize).copied().unwrap_or(b'0');
        }
        RegistrationId {
            len: Self::MAX_LEN as u8,
            bytes,
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        // Only ASCII ever gets in (parse and from_random check it).
        core::str::from_utf8(bytes).unwrap_or_default()
    }
}

impl FromStr for RegistrationId {
    type Err = InvalidRegistrationId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegistrationId::parse(s)
    }
}

impl fmt::Display for RegistrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RegistrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegistrationId({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        for text in ["5a3f", "0", "zzzzzzzzzzzz", "abc123"] {
            let id = RegistrationId::parse(text).unwrap();
            assert_eq!(id.as_str(), text);
            assert_eq!(id.to_string(), text);
            assert_eq!(text.parse::<RegistrationId>(), Ok(id));
        }
        for bad in ["", "zzzzzzzzzzzzz", "5A3F", "a-b", "é", "a b", "rd/1"] {
            assert_eq!(
                RegistrationId::parse(bad),
                Err(InvalidRegistrationId),
                "{bad}"
            );
        }
        assert_eq!(
            format!("{:?}", RegistrationId::parse("5a3f").unwrap()),
            "RegistrationId(5a3f)"
        );
    }

    #[test]
    fn random_ids_use_60_bits_of_the_alphabet() {
        let zero = RegistrationId::from_random(0);
        assert_eq!(zero.as_str(), "000000000000");
        let max = RegistrationId::from_random(u64::MAX);
        assert_eq!(max.as_str(), "zzzzzzzzzzzz");
        let id = RegistrationId::from_random(0x0123_4567_89AB_CDEF);
        assert_eq!(id.as_str().len(), 12);
        assert_eq!(RegistrationId::parse(id.as_str()), Ok(id));
        // The top 4 bits do not matter; every lower bit does.
        assert_eq!(id, RegistrationId::from_random(0xF123_4567_89AB_CDEF));
        assert_ne!(id, RegistrationId::from_random(0x0123_4567_89AB_CDEE));
        assert_eq!(size_of::<RegistrationId>(), 13);
    }
}
