//! The errors of the CoAP codec: a malformed datagram ([`MessageError`]), a malformed option value
//! ([`OptionError`]), an unencodable message ([`BuildError`]), a bad Block value ([`BlockError`])
//! and an over-long token ([`TokenError`]).
//!
//! Every decoder error names the byte offset (from the start of the datagram) where the fault was
//! found, so a log line is enough to locate it in a packet capture.

use core::fmt;

use super::option;

/// Prints an option number with its registered name, e.g. `Uri-Path (11)` or `option 2000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionName(pub u16);

impl fmt::Display for OptionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match option::name(self.0) {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "option {}", self.0),
        }
    }
}

/// Why a datagram is not a well-formed CoAP message (RFC 7252 §3).
///
/// A receiver answers a malformed Confirmable message with RST and drops anything else
/// (RFC 7252 §4.2, §4.3); [`Rejection::for_malformed`](super::Rejection::for_malformed) makes
/// that decision from the raw datagram. [`MessageError::header_readable`] says whether the type and
/// message id could be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// Fewer than the four bytes of the fixed header.
    #[error("message of {length} bytes is shorter than the 4-byte CoAP header")]
    TooShort {
        /// Length of the datagram.
        length: usize,
    },
    /// The version field is not 1; such a message is silently ignored (RFC 7252 §3).
    #[error("CoAP version {version} at byte 0 is not 1")]
    UnsupportedVersion {
        /// The 2-bit version that was found.
        version: u8,
    },
    /// TKL 9-15: reserved token lengths.
    #[error("token length {length} at byte 0 exceeds 8")]
    TokenLengthReserved {
        /// The 4-bit TKL field.
        length: u8,
    },
    /// The token announced by TKL runs past the end of the datagram.
    #[error(
        "token of {length} bytes at byte 4 runs past the end of the {message_length}-byte message"
    )]
    TokenTruncated {
        /// The announced token length.
        length: u8,
        /// Length of the datagram.
        message_length: usize,
    },
    /// An Empty message (code 0.00) with a non-zero token length.
    #[error("empty message (code 0.00) declares a token of {length} bytes at byte 0")]
    EmptyMessageWithToken {
        /// The TKL field.
        length: u8,
    },
    /// An Empty message (code 0.00) with bytes after the message id.
    #[error("empty message (code 0.00) has {trailing} bytes after the message id at byte 4")]
    EmptyMessageNotEmpty {
        /// Number of bytes after the header.
        trailing: usize,
    },
    /// Option delta nibble 15 in a byte that is not the 0xFF payload marker.
    #[error("option delta nibble 15 at byte {offset}")]
    OptionDeltaReserved {
        /// Offset of the option header byte.
        offset: usize,
    },
    /// Option length nibble 15 (reserved).
    #[error("option length nibble 15 at byte {offset}")]
    OptionLengthReserved {
        /// Offset of the option header byte.
        offset: usize,
    },
    /// The extended delta or length bytes of an option run past the end of the datagram.
    #[error("option header at byte {offset} needs {needed} extended bytes but the message ends")]
    OptionHeaderTruncated {
        /// Offset of the option header byte.
        offset: usize,
        /// Number of extended delta/length bytes the header announces.
        needed: usize,
    },
    /// The option value runs past the end of the datagram.
    #[error(
        "option value of {length} bytes at byte {offset} runs past the end ({available} bytes left)"
    )]
    OptionValueTruncated {
        /// Offset of the first value byte.
        offset: usize,
        /// Announced value length.
        length: usize,
        /// Bytes left in the datagram.
        available: usize,
    },
    /// The running sum of option deltas exceeds 65535.
    #[error("option number {number} reached at byte {offset} exceeds 65535")]
    OptionNumberOverflow {
        /// Offset of the option header byte.
        offset: usize,
        /// The number the deltas add up to.
        number: u32,
    },
    /// A payload marker that is the last byte of the datagram.
    #[error("payload marker at byte {offset} with no payload")]
    EmptyPayload {
        /// Offset of the 0xFF marker.
        offset: usize,
    },
}

impl MessageError {
    /// Whether version, type and message id were readable, i.e. the datagram has at least four
    /// bytes and version 1. Only then may the receiver answer (with RST, if it was Confirmable);
    /// otherwise it must drop the datagram silently.
    pub const fn header_readable(&self) -> bool {
        !matches!(
            self,
            MessageError::TooShort { .. } | MessageError::UnsupportedVersion { .. }
        )
    }

    /// Byte offset of the fault within the datagram.
    pub const fn offset(&self) -> usize {
        match *self {
            MessageError::TooShort { length } => length,
            MessageError::UnsupportedVersion { .. }
            | MessageError::TokenLengthReserved { .. }
            | MessageError::EmptyMessageWithToken { .. } => 0,
            MessageError::TokenTruncated { .. } | MessageError::EmptyMessageNotEmpty { .. } => 4,
            MessageError::OptionDeltaReserved { offset }
            | MessageError::OptionLengthReserved { offset }
            | MessageError::OptionHeaderTruncated { offset, .. }
            | MessageError::OptionValueTruncated { offset, .. }
            | MessageError::OptionNumberOverflow { offset, .. }
            | MessageError::EmptyPayload { offset } => offset,
        }
    }
}

/// A Block1/Block2 value that is not valid (RFC 7959 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// SZX 7 is reserved.
    #[error("block size exponent SZX 7 is reserved")]
    ReservedSzx,
    /// SZX outside 0-7.
    #[error("block size exponent SZX {szx} is out of range 0-6")]
    SzxOutOfRange {
        /// The offending exponent.
        szx: u8,
    },
    /// A block size other than 16, 32, 64, 128, 256, 512 or 1024.
    #[error("block size {size} is not a power of two between 16 and 1024")]
    InvalidSize {
        /// The offending size.
        size: u32,
    },
    /// NUM does not fit in 20 bits.
    #[error("block number {num} does not fit in 20 bits")]
    NumTooLarge {
        /// The offending block number.
        num: u32,
    },
    /// An option value wider than the 24 bits a Block option can carry.
    #[error("block option value {value:#x} does not fit in 24 bits")]
    ValueTooLarge {
        /// The offending value.
        value: u32,
    },
}

/// A token longer than 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("token of {length} bytes exceeds 8")]
pub struct TokenError {
    /// The rejected length.
    pub length: usize,
}

/// An option whose value does not fit its format (RFC 7252 §5.4, §3.2), found by a typed
/// accessor of [`Message`](super::Message).
///
/// RFC 7252 §5.4.3 treats such an option as unrecognised: a critical one (odd number) in a
/// request earns 4.02 Bad Option, an elective one is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    /// A string option whose value is not UTF-8.
    #[error("{} value at byte {offset} is not UTF-8 (invalid byte at value index {valid_up_to})", OptionName(*.number))]
    NotUtf8 {
        /// Option number.
        number: u16,
        /// Offset of the value within the message.
        offset: usize,
        /// Length of the valid UTF-8 prefix of the value.
        valid_up_to: usize,
    },
    /// A value whose length is outside the option's allowed range.
    #[error("{} value at byte {offset} is {length} bytes long; allowed is {min}-{max}", OptionName(*.number))]
    BadLength {
        /// Option number.
        number: u16,
        /// Offset of the value within the message.
        offset: usize,
        /// The value's length.
        length: usize,
        /// Smallest allowed length.
        min: u16,
        /// Largest allowed length.
        max: u16,
    },
    /// A non-repeatable option that occurs more than once.
    #[error("{} repeated at byte {offset} but is not repeatable", OptionName(*.number))]
    Repeated {
        /// Option number.
        number: u16,
        /// Offset of the second occurrence's value.
        offset: usize,
    },
    /// A Block1/Block2 value that is not valid.
    #[error("{} value at byte {offset}: {error}", OptionName(*.number))]
    Block {
        /// Option number (Block1 or Block2).
        number: u16,
        /// Offset of the value within the message.
        offset: usize,
        /// What is wrong with the value.
        error: BlockError,
    },
}

impl OptionError {
    /// The option number the error is about.
    pub const fn number(&self) -> u16 {
        match *self {
            OptionError::NotUtf8 { number, .. }
            | OptionError::BadLength { number, .. }
            | OptionError::Repeated { number, .. }
            | OptionError::Block { number, .. } => number,
        }
    }

    /// Byte offset (within the message) of the offending value.
    pub const fn offset(&self) -> usize {
        match *self {
            OptionError::NotUtf8 { offset, .. }
            | OptionError::BadLength { offset, .. }
            | OptionError::Repeated { offset, .. }
            | OptionError::Block { offset, .. } => offset,
        }
    }
}

/// Why a [`MessageBuilder`](super::MessageBuilder) cannot encode its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An option value longer than the 65804 bytes the extended length can express.
    #[error("{} value of {length} bytes exceeds the encodable 65804", OptionName(*.number))]
    OptionTooLong {
        /// Option number.
        number: u16,
        /// Value length.
        length: usize,
    },
    /// An Empty message (code 0.00) must have no token, options or payload.
    #[error("empty message (code 0.00) cannot carry a token, options or a payload")]
    EmptyMessageNotEmpty,
    /// The output buffer cannot hold the message.
    #[error("message needs {needed} bytes but the buffer has room for {available}")]
    BufferTooSmall {
        /// Encoded length of the message.
        needed: usize,
        /// Room left in the buffer.
        available: usize,
    },
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    #[test]
    fn messages_name_the_fault_and_the_byte() {
        assert_eq!(
            MessageError::TokenLengthReserved { length: 9 }.to_string(),
            "token length 9 at byte 0 exceeds 8"
        );
        assert_eq!(
            MessageError::OptionDeltaReserved { offset: 4 }.to_string(),
            "option delta nibble 15 at byte 4"
        );
        assert_eq!(
            MessageError::EmptyPayload { offset: 12 }.to_string(),
            "payload marker at byte 12 with no payload"
        );
        assert_eq!(
            OptionError::Repeated {
                number: 12,
                offset: 9
            }
            .to_string(),
            "Content-Format (12) repeated at byte 9 but is not repeatable"
        );
        assert_eq!(OptionName(2000).to_string(), "option 2000");
    }

    #[test]
    fn header_readable_only_past_version_check() {
        assert!(!MessageError::TooShort { length: 3 }.header_readable());
        assert!(!MessageError::UnsupportedVersion { version: 2 }.header_readable());
        assert!(MessageError::TokenLengthReserved { length: 9 }.header_readable());
        assert!(MessageError::EmptyPayload { offset: 4 }.header_readable());
    }
}
