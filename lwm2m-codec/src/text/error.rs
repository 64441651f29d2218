//! The plain-text codec error.

use crate::tlv::ValueType;

/// Why a plain-text value could not be parsed or formatted. Parse errors carry the byte offset
/// in the payload; a server answers them with 4.00 Bad Request.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum TextError {
    /// The payload is empty but the type needs at least one character.
    #[error("{ty} text is empty")]
    Empty {
        /// The type being parsed.
        ty: ValueType,
    },
    /// A byte that does not belong where it is.
    #[error("{ty} text: unexpected byte {byte:#04x} at offset {offset}, expected {expected}")]
    UnexpectedByte {
        /// The type being parsed.
        ty: ValueType,
        /// Offset of the byte.
        offset: usize,
        /// The byte found.
        byte: u8,
        /// What would have been valid there.
        expected: &'static str,
    },
    /// The text ends before the value is complete (`-`, `3:`, `1e`).
    #[error("{ty} text ends at offset {offset}, expected {expected}")]
    UnexpectedEnd {
        /// The type being parsed.
        ty: ValueType,
        /// The text length, where more was expected.
        offset: usize,
        /// What was expected.
        expected: &'static str,
    },
    /// A well-formed number that does not fit the type (`70000` as an object ID, an Integer
    /// beyond `i64`, a Float beyond `f64::MAX`).
    #[error("{ty} text: the number at offset {offset} is out of range ({range})")]
    OutOfRange {
        /// The type being parsed.
        ty: ValueType,
        /// Offset of the number's first character.
        offset: usize,
        /// The valid range, in words.
        range: &'static str,
    },
    /// The payload is not UTF-8.
    #[error("text is not UTF-8 from offset {offset}")]
    InvalidUtf8 {
        /// Length of the longest valid prefix.
        offset: usize,
    },
    /// A byte that is not a base64 symbol, or padding (`=`) before the end.
    #[error("Opaque text: byte {byte:#04x} at offset {offset} is not valid base64 there")]
    Base64Byte {
        /// Offset of the byte.
        offset: usize,
        /// The byte found.
        byte: u8,
    },
    /// The number of base64 symbols cannot encode whole bytes (a final group of one symbol).
    #[error("Opaque text: {symbols} base64 symbols cannot encode whole bytes")]
    Base64Length {
        /// Number of symbols (without padding).
        symbols: usize,
    },
    /// The last symbol carries bits beyond the encoded bytes (not the canonical encoding).
    #[error("Opaque text: last base64 symbol {byte:#04x} at offset {offset} has stray bits")]
    Base64LastSymbol {
        /// Offset of the symbol.
        offset: usize,
        /// The symbol.
        byte: u8,
    },
    /// The `=` padding is missing or wrong; RFC 4648 padding is required.
    #[error("Opaque text: missing or wrong base64 padding at the end (offset {offset})")]
    Base64Padding {
        /// The text length.
        offset: usize,
    },
    /// The output slice given to [`parse_opaque_into`](super::parse_opaque_into) is too small.
    #[error("Opaque text decodes to more than the {capacity} bytes of the output slice")]
    OutputTooSmall {
        /// Size of the output slice.
        capacity: usize,
    },
    /// NaN and the infinities have no plain-text form (the parser rejects `nan` and `inf`).
    #[error("the Float {value} has no plain-text form: only finite values do")]
    NotFinite {
        /// The value.
        value: f64,
    },
    /// The [`core::fmt::Write`] sink refused the text (e.g. a full [`BufMutWriter`](super::BufMutWriter)).
    #[error("the output refused the formatted text")]
    Write,
}

impl From<core::fmt::Error> for TextError {
    fn from(_: core::fmt::Error) -> Self {
        TextError::Write
    }
}
