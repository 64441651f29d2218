//! The TLV decode and encode errors. Every decode error names the byte offset in the original
//! payload; every encode error names the record identifier it was writing.

use super::value::ValueError;
use super::Kind;

/// Why a TLV payload (or one value in it) could not be decoded. A server answers any of these
/// with 4.00 Bad Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// The payload ends inside a record header (type byte, identifier or length field).
    #[error(
        "TLV record at byte {offset}: its header needs {needed} bytes but only {available} remain"
    )]
    TruncatedHeader {
        /// Offset of the record's type byte.
        offset: usize,
        /// Header size announced by the type byte (1 + identifier size + length-field size).
        needed: usize,
        /// Bytes left in the enclosing payload or container.
        available: usize,
    },
    /// The record announces a value longer than what is left of its payload or container.
    #[error(
        "TLV record at byte {offset}: value of {length} bytes announced but only {available} remain"
    )]
    TruncatedValue {
        /// Offset of the record's type byte.
        offset: usize,
        /// The announced value length.
        length: usize,
        /// Bytes left after the header in the enclosing payload or container.
        available: usize,
    },
    /// A record of a kind that may not appear where it was found, e.g. a Resource Instance
    /// outside a Multiple Resource, or an Object Instance inside another one.
    #[error("TLV record at byte {offset}: {kind} records may not appear {}", where_(.parent.as_ref()))]
    UnexpectedKind {
        /// Offset of the record's type byte.
        offset: usize,
        /// The record's kind.
        kind: Kind,
        /// The enclosing record's kind, `None` at the top level.
        parent: Option<Kind>,
    },
    /// A typed accessor was called on a container record, whose value is records, not data.
    #[error("TLV record at byte {offset} is a container ({kind}): it holds records, not a value")]
    NotAValue {
        /// Offset of the record's type byte.
        offset: usize,
        /// The record's (container) kind.
        kind: Kind,
    },
    /// A value does not have the shape its data type requires (see [`ValueError`]).
    #[error("TLV value at byte {offset}: {source}")]
    Value {
        /// Offset of the first value byte in the payload.
        offset: usize,
        /// What is wrong with the value.
        source: ValueError,
    },
}

impl TlvError {
    /// The byte offset in the original payload where the problem was found.
    pub const fn offset(&self) -> usize {
        match *self {
            TlvError::TruncatedHeader { offset, .. }
            | TlvError::TruncatedValue { offset, .. }
            | TlvError::UnexpectedKind { offset, .. }
            | TlvError::NotAValue { offset, .. }
            | TlvError::Value { offset, .. } => offset,
        }
    }
}

fn where_(parent: Option<&Kind>) -> &'static str {
    match parent {
        None => "at the top level",
        Some(Kind::ObjectInstance) => "inside an object instance",
        Some(Kind::MultipleResource) => "inside a multiple resource",
        Some(Kind::Resource) => "inside a resource",
        Some(Kind::ResourceInstance) => "inside a resource instance",
    }
}

/// Why the [`TlvWriter`](super::TlvWriter) could not write a record. On error the output holds
/// whatever was written before it; callers discard it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A value (or a container's content) is longer than the 24-bit length field can express.
    #[error("TLV record {id}: {length} bytes exceed the TLV maximum of 16777215")]
    ValueTooLong {
        /// Identifier of the record being written.
        id: u16,
        /// Length of its value or content.
        length: usize,
    },
    /// The output buffer has no room for the record.
    #[error("TLV record {id}: needs {needed} bytes but the output has room for {remaining}")]
    BufferFull {
        /// Identifier of the record being written.
        id: u16,
        /// Bytes the record (or its header, for a container) needs.
        needed: usize,
        /// What the output buffer can still take.
        remaining: usize,
    },
    /// A record of a kind that may not be written where it was, e.g. an Object Instance inside
    /// a Multiple Resource (see [`Kind::may_contain`]).
    #[error("TLV record {id}: {kind} records may not be written {}", where_(.parent.as_ref()))]
    InvalidNesting {
        /// Identifier of the record being written.
        id: u16,
        /// Its kind.
        kind: Kind,
        /// The container being written, `None` at the top level.
        parent: Option<Kind>,
    },
    /// A container closure wrote a different number of bytes in its writing pass than in its
    /// measuring pass; the closure must produce the same records every time it is called.
    #[error("TLV container {id}: measured {measured} content bytes but {written} were written")]
    ContainerChanged {
        /// Identifier of the container.
        id: u16,
        /// Content length found by the measuring pass (and written in the header).
        measured: usize,
        /// Content length actually written.
        written: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlv::ValueType;
    use alloc::string::ToString;

    #[test]
    fn messages_name_the_place() {
        let e = TlvError::UnexpectedKind {
            offset: 7,
            kind: Kind::ResourceInstance,
            parent: None,
        };
        assert_eq!(
            e.to_string(),
            "TLV record at byte 7: resource instance records may not appear at the top level"
        );
        let e = TlvError::Value {
            offset: 2,
            source: ValueError::Length {
                ty: ValueType::Boolean,
                found: 2,
                expected: "1",
            },
        };
        assert_eq!(e.offset(), 2);
        assert_eq!(
            e.to_string(),
            "TLV value at byte 2: Boolean value has 2 bytes, expected 1"
        );
        let e = EncodeError::InvalidNesting {
            id: 1,
            kind: Kind::ObjectInstance,
            parent: Some(Kind::MultipleResource),
        };
        assert_eq!(
            e.to_string(),
            "TLV record 1: object instance records may not be written inside a multiple resource"
        );
    }
}
