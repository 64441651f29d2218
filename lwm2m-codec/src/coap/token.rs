//! [`Token`]: an owned CoAP token of 0-8 bytes, the key a requester uses to match responses and
//! notifications to its requests.

use core::fmt;

use super::error::TokenError;

/// An owned token of at most 8 bytes (RFC 7252 §5.3.1); longer ones cannot be constructed.
///
/// ```
/// use lwm2m_codec::coap::Token;
/// let t = Token::new(&[0xCA, 0xFE]).unwrap();
/// assert_eq!(t.as_slice(), &[0xCA, 0xFE]);
/// assert!(Token::new(&[0; 9]).is_err());
/// assert_eq!(Token::from_u64(0xCAFE).as_slice(), &[0xCA, 0xFE]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Token {
    // Bytes past `len` are always zero, so the derived comparisons and hash only see the token.
    bytes: [u8; 8],
    len: u8,
}

impl Token {
    /// Longest token CoAP allows.
    pub const MAX_LEN: usize = 8;

    /// The empty token.
    pub const EMPTY: Token = Token {
        bytes: [0; 8],
        len: 0,
    };

    /// A copy of `bytes`, which must be at most 8 long.
    pub fn new(bytes: &[u8]) -> Result<Token, TokenError> {
        let mut token = Token::EMPTY;
        let dst = token.bytes.get_mut(..bytes.len()).ok_or(TokenError {
            length: bytes.len(),
        })?;
        dst.copy_from_slice(bytes);
        token.len = bytes.len() as u8;
        Ok(token)
    }

    /// The big-endian bytes of `value` without leading zero bytes (0 gives the empty token), a
    /// convenient way to turn a counter or random number into a token.
    pub fn from_u64(value: u64) -> Token {
        let len = 8 - (value.leading_zeros() / 8) as usize;
        let mut bytes = [0; 8];
        let be = value.to_be_bytes();
        for (dst, src) in bytes.iter_mut().zip(be.iter().skip(8 - len)) {
            *dst = *src;
        }
        Token {
            bytes,
            len: len as u8,
        }
    }

    /// The token bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len as usize).unwrap_or(&[])
    }

    /// All 8 bytes of storage; the bytes past [`Token::len`] are zero.
    #[inline]
    pub(crate) const fn padded(&self) -> &[u8; 8] {
        &self.bytes
    }

    /// Number of bytes (0-8).
    #[inline]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the token is empty.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl TryFrom<&[u8]> for Token {
    type Error = TokenError;

    fn try_from(bytes: &[u8]) -> Result<Token, TokenError> {
        Token::new(bytes)
    }
}

impl AsRef<[u8]> for Token {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({self})")
    }
}

/// Lower-case hex, the way tokens appear in logs.
impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_slice() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloc::format;

    use super::*;

    #[test]
    fn accepts_up_to_eight_bytes() {
        for len in 0..=8 {
            let src = [0xA5; 8];
            let t = Token::new(&src[..len]).unwrap();
            assert_eq!(t.len(), len);
            assert_eq!(t.as_slice(), &src[..len]);
        }
        assert_eq!(Token::new(&[1; 9]), Err(TokenError { length: 9 }));
    }

    #[test]
    fn equality_ignores_unused_bytes() {
        assert_eq!(Token::new(&[1, 2]).unwrap(), Token::from_u64(0x0102));
        assert_ne!(Token::new(&[0, 1]).unwrap(), Token::new(&[1]).unwrap());
    }

    #[test]
    fn from_u64_strips_leading_zeros() {
        assert!(Token::from_u64(0).is_empty());
        assert_eq!(Token::from_u64(1).as_slice(), &[1]);
        assert_eq!(Token::from_u64(u64::MAX).len(), 8);
        assert_eq!(format!("{}", Token::from_u64(0xA1B2_C3D4)), "a1b2c3d4");
    }
}
