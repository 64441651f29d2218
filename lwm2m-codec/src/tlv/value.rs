//! The TLV encodings of the LwM2M primitive data types (TS Appendix C).
//!
//! Decoders take the value bytes of one record and accept every form the TS allows (any of
//! 1/2/4/8 bytes for Integer and Time, 4/8 for Float); they are strict about everything else
//! (a Boolean is exactly `00` or `01`). A [`ValueError`] says what is wrong but not where: the
//! accessors on [`Record`](super::Record) wrap it with the value's offset in the payload.
//!
//! Encoders return the shortest form in a small stack buffer ([`ValueBytes`]).
//!
//! **Floats and NaN.** A float is written in 4 bytes exactly when converting it to binary32 and
//! back yields the same bits (so `-0.0` and the infinities take 4 bytes, and so does every value
//! that came from a 4-byte TLV). NaN always takes 8 bytes with its binary64 bit pattern kept as
//! is: the binary32 conversion of a NaN is not guaranteed to preserve its payload, and writing
//! the 8 bytes makes `decode(encode(x))` bit-identical for every `f64`.

use core::fmt;

/// The LwM2M data types that have a wire form (TS Appendix C); used in error messages of the
/// TLV and plain-text codecs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// UTF-8 text.
    String,
    /// Signed 64-bit integer.
    Integer,
    /// IEEE-754 binary32 or binary64.
    Float,
    /// `false` / `true`.
    Boolean,
    /// Raw bytes.
    Opaque,
    /// Signed Unix time in seconds.
    Time,
    /// Object link: (object ID, instance ID).
    Objlnk,
}

impl ValueType {
    /// The TS name of the type.
    pub const fn name(self) -> &'static str {
        match self {
            ValueType::String => "String",
            ValueType::Integer => "Integer",
            ValueType::Float => "Float",
            ValueType::Boolean => "Boolean",
            ValueType::Opaque => "Opaque",
            ValueType::Time => "Time",
            ValueType::Objlnk => "Objlnk",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the bytes of one TLV value do not encode a value of the requested type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The value has a length its type does not allow.
    #[error("{ty} value has {found} bytes, expected {expected}")]
    Length {
        /// The requested type.
        ty: ValueType,
        /// The value's length.
        found: usize,
        /// The lengths the type allows, in words (`"1, 2, 4 or 8"`).
        expected: &'static str,
    },
    /// A one-byte Boolean other than `00` or `01`.
    #[error("Boolean value is {found:#04x}, expected 0x00 or 0x01")]
    Boolean {
        /// The byte found.
        found: u8,
    },
    /// A String that is not UTF-8.
    #[error("String value is not UTF-8 from its byte {valid_up_to} on")]
    Utf8 {
        /// Length of the longest valid UTF-8 prefix (the offset of the bad sequence within the
        /// value).
        valid_up_to: usize,
    },
}

const INTEGER_LENGTHS: &str = "1, 2, 4 or 8";

#[inline]
fn signed(ty: ValueType, bytes: &[u8]) -> Result<i64, ValueError> {
    match *bytes {
        [a] => Ok(i64::from(a as i8)),
        [a, b] => Ok(i64::from(i16::from_be_bytes([a, b]))),
        [a, b, c, d] => Ok(i64::from(i32::from_be_bytes([a, b, c, d]))),
        _ => match <[u8; 8]>::try_from(bytes) {
            Ok(eight) => Ok(i64::from_be_bytes(eight)),
            Err(_) => Err(ValueError::Length {
                ty,
                found: bytes.len(),
                expected: INTEGER_LENGTHS,
            }),
        },
    }
}

/// Decodes an Integer: big-endian two's complement of 1, 2, 4 or 8 bytes.
///
/// ```
/// use lwm2m_codec::tlv::value::decode_integer;
/// assert_eq!(decode_integer(&[0xFD, 0x12]), Ok(-750));
/// assert_eq!(decode_integer(&[0x00, 0x00, 0x00, 0x7F]), Ok(127)); // non-minimal is fine
/// assert!(decode_integer(&[0, 0, 1]).is_err());
/// ```
#[inline]
pub fn decode_integer(bytes: &[u8]) -> Result<i64, ValueError> {
    signed(ValueType::Integer, bytes)
}

/// Decodes a Time (Unix seconds), encoded exactly like an Integer.
#[inline]
pub fn decode_time(bytes: &[u8]) -> Result<i64, ValueError> {
    signed(ValueType::Time, bytes)
}

/// Decodes a Float: big-endian binary32 (widened to `f64`, which is exact) or binary64.
///
/// ```
/// use lwm2m_codec::tlv::value::decode_float;
/// assert_eq!(decode_float(&[0x41, 0xBC, 0x00, 0x00]), Ok(23.5));
/// assert!(decode_float(&[0, 0]).is_err());
/// ```
#[inline]
pub fn decode_float(bytes: &[u8]) -> Result<f64, ValueError> {
    match *bytes {
        [a, b, c, d] => Ok(f64::from(f32::from_be_bytes([a, b, c, d]))),
        _ => match <[u8; 8]>::try_from(bytes) {
            Ok(eight) => Ok(f64::from_be_bytes(eight)),
            Err(_) => Err(ValueError::Length {
                ty: ValueType::Float,
                found: bytes.len(),
                expected: "4 or 8",
            }),
        },
    }
}

/// Decodes a Boolean: exactly one byte, `00` or `01`. Anything else is rejected (Leshan reads
/// other bytes as `false`; a strict decoder must not guess).
#[inline]
pub fn decode_bool(bytes: &[u8]) -> Result<bool, ValueError> {
    match *bytes {
        [0] => Ok(false),
        [1] => Ok(true),
        [found] => Err(ValueError::Boolean { found }),
        _ => Err(ValueError::Length {
            ty: ValueType::Boolean,
            found: bytes.len(),
            expected: "1",
        }),
    }
}

/// Decodes an Objlnk: exactly 4 bytes, object ID then instance ID, both big-endian `u16`.
/// The null link is `(65535, 65535)`.
#[inline]
pub fn decode_objlnk(bytes: &[u8]) -> Result<(u16, u16), ValueError> {
    match *bytes {
        [a, b, c, d] => Ok((u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]))),
        _ => Err(ValueError::Length {
            ty: ValueType::Objlnk,
            found: bytes.len(),
            expected: "4",
        }),
    }
}

/// Decodes a String: the value bytes, which must be UTF-8. Borrows from the payload.
#[inline]
pub fn decode_string(bytes: &[u8]) -> Result<&str, ValueError> {
    core::str::from_utf8(bytes).map_err(|e| ValueError::Utf8 {
        valid_up_to: e.valid_up_to(),
    })
}

/// Decodes an Opaque: the value bytes themselves. Never fails; here for symmetry.
#[inline]
pub const fn decode_opaque(bytes: &[u8]) -> &[u8] {
    bytes
}

/// The encoded bytes of one fixed-size value (at most 8), held on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueBytes {
    /// Right-aligned: the value is `buf[start..]`, so big-endian numbers need no shifting.
    buf: [u8; 8],
    start: u8,
}

impl ValueBytes {
    /// The last `len` (at most 8) bytes of `buf`.
    #[inline]
    const fn tail(buf: [u8; 8], len: usize) -> Self {
        ValueBytes {
            buf,
            start: (8 - len) as u8,
        }
    }

    /// The encoded bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        self.buf.get(usize::from(self.start)..).unwrap_or_default()
    }

    /// Copies a value of at most 8 bytes (`None` if longer).
    #[inline]
    pub(crate) fn from_short(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > 8 {
            return None;
        }
        // Accumulating in a register beats a variable-length memcpy for these sizes.
        let acc = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        Some(ValueBytes::tail(acc.to_be_bytes(), bytes.len()))
    }

    /// The number of encoded bytes (0 to 8).
    #[inline]
    pub const fn len(&self) -> usize {
        8 - self.start as usize
    }

    /// Whether there are no bytes (never the case for the public encoders).
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoded bytes as the low `len()` bytes of a big-endian `u64` (higher bytes zero).
    #[inline]
    pub(crate) const fn low_bytes(&self) -> u64 {
        let all = u64::from_be_bytes(self.buf);
        let bits = 8 * self.len();
        if bits >= 64 {
            all
        } else {
            all & ((1u64 << bits) - 1)
        }
    }
}

impl AsRef<[u8]> for ValueBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// The number of bytes the shortest two's-complement form of `v` takes: 1, 2, 4 or 8.
#[inline]
pub const fn integer_len(v: i64) -> usize {
    if v as i8 as i64 == v {
        1
    } else if v as i16 as i64 == v {
        2
    } else if v as i32 as i64 == v {
        4
    } else {
        8
    }
}

/// Encodes an Integer (or Time) in the shortest of 1, 2, 4 or 8 bytes that holds it.
///
/// ```
/// use lwm2m_codec::tlv::value::encode_integer;
/// assert_eq!(encode_integer(-129).as_slice(), [0xFF, 0x7F]);
/// assert_eq!(encode_integer(32768).as_slice(), [0x00, 0x00, 0x80, 0x00]);
/// ```
#[inline]
pub const fn encode_integer(v: i64) -> ValueBytes {
    ValueBytes::tail(v.to_be_bytes(), integer_len(v))
}

/// Whether `v` survives a round trip through binary32 bit for bit (NaN never does, by choice;
/// see the module documentation).
#[inline]
pub fn fits_f32(v: f64) -> bool {
    !v.is_nan() && f64::from(v as f32).to_bits() == v.to_bits()
}

/// Encodes a Float: 4 bytes (binary32) when [`fits_f32`], else 8 bytes (binary64).
///
/// ```
/// use lwm2m_codec::tlv::value::encode_float;
/// assert_eq!(encode_float(23.5).as_slice(), [0x41, 0xBC, 0x00, 0x00]);
/// assert_eq!(encode_float(22.4).as_slice().len(), 8);
/// ```
#[inline]
pub fn encode_float(v: f64) -> ValueBytes {
    if fits_f32(v) {
        ValueBytes::tail(u64::from((v as f32).to_bits()).to_be_bytes(), 4)
    } else {
        ValueBytes::tail(v.to_be_bytes(), 8)
    }
}

/// Encodes a Boolean as one byte, `00` or `01`.
#[inline]
pub const fn encode_bool(v: bool) -> ValueBytes {
    ValueBytes::tail((v as u64).to_be_bytes(), 1)
}

/// Encodes an Objlnk as 4 bytes: object ID then instance ID, big-endian.
#[inline]
pub const fn encode_objlnk(object: u16, instance: u16) -> ValueBytes {
    ValueBytes::tail((((object as u64) << 16) | instance as u64).to_be_bytes(), 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_lengths_at_the_boundaries() {
        for (v, len) in [
            (0, 1),
            (127, 1),
            (-128, 1),
            (128, 2),
            (-129, 2),
            (32767, 2),
            (-32768, 2),
            (32768, 4),
            (-32769, 4),
            (i64::from(i32::MAX), 4),
            (i64::from(i32::MIN), 4),
            (i64::from(i32::MAX) + 1, 8),
            (i64::from(i32::MIN) - 1, 8),
            (i64::MAX, 8),
            (i64::MIN, 8),
        ] {
            let enc = encode_integer(v);
            assert_eq!(enc.as_slice().len(), len, "{v}");
            assert_eq!(decode_integer(enc.as_slice()), Ok(v));
            assert_eq!(decode_time(enc.as_slice()), Ok(v));
        }
    }

    #[test]
    fn every_bad_integer_length_is_rejected() {
        let bytes = [0u8; 9];
        for len in [0, 3, 5, 6, 7, 9] {
            assert_eq!(
                decode_integer(&bytes[..len]),
                Err(ValueError::Length {
                    ty: ValueType::Integer,
                    found: len,
                    expected: "1, 2, 4 or 8"
                })
            );
            assert!(matches!(
                decode_time(&bytes[..len]),
                Err(ValueError::Length {
                    ty: ValueType::Time,
                    ..
                })
            ));
        }
    }

    #[test]
    fn floats_pick_their_width() {
        assert_eq!(encode_float(0.0).as_slice(), [0, 0, 0, 0]);
        assert_eq!(encode_float(-0.0).as_slice(), [0x80, 0, 0, 0]);
        assert_eq!(encode_float(f64::INFINITY).as_slice(), [0x7F, 0x80, 0, 0]);
        assert_eq!(encode_float(f64::NAN).as_slice(), f64::NAN.to_be_bytes());
        assert_eq!(encode_float(0.1).as_slice(), 0.1f64.to_be_bytes());
        assert_eq!(encode_float(f64::MAX).as_slice().len(), 8);
        // binary32 subnormals are exact in binary64 and come back as 4 bytes.
        let tiny = f64::from(f32::from_bits(1));
        assert_eq!(encode_float(tiny).as_slice(), [0, 0, 0, 1]);
        assert_eq!(decode_float(&[0, 0, 0, 1]), Ok(tiny));
        let nan = decode_float(encode_float(f64::NAN).as_slice()).unwrap();
        assert_eq!(nan.to_bits(), f64::NAN.to_bits());
    }

    #[test]
    fn booleans_are_strict() {
        assert_eq!(decode_bool(&[0]), Ok(false));
        assert_eq!(decode_bool(&[1]), Ok(true));
        assert_eq!(decode_bool(&[2]), Err(ValueError::Boolean { found: 2 }));
        assert_eq!(
            decode_bool(&[]),
            Err(ValueError::Length {
                ty: ValueType::Boolean,
                found: 0,
                expected: "1"
            })
        );
        assert_eq!(encode_bool(true).as_slice(), [1]);
        assert_eq!(encode_bool(false).as_slice(), [0]);
    }

    #[test]
    fn objlnk_and_string() {
        assert_eq!(encode_objlnk(3, 0).as_slice(), [0, 3, 0, 0]);
        assert_eq!(decode_objlnk(&[0xFF; 4]), Ok((65535, 65535)));
        assert!(decode_objlnk(&[0; 5]).is_err());
        assert_eq!(decode_string(b"h\xC3\xA9"), Ok("hé"));
        assert_eq!(
            decode_string(b"ab\xC3"),
            Err(ValueError::Utf8 { valid_up_to: 2 })
        );
        assert_eq!(decode_opaque(&[1, 2]), [1, 2]);
    }
}
