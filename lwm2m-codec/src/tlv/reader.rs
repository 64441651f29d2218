//! The TLV reader: an iterator of borrowed records over a payload slice.
//!
//! Parsing a record reads its header and checks that the announced value fits in what is left;
//! the value itself is handed out as a sub-slice and only looked at when a typed accessor is
//! called. Nothing allocates.

use super::error::TlvError;
use super::value::{self, ValueError};
use super::Kind;

/// One TLV record, borrowed from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// What the record identifies.
    pub kind: Kind,
    /// The object-instance, resource or resource-instance identifier.
    pub id: u16,
    /// The value bytes: data for [`Kind::Resource`] and [`Kind::ResourceInstance`], nested
    /// records for [`Kind::ObjectInstance`] and [`Kind::MultipleResource`].
    pub value: &'a [u8],
    /// Offset of the record's type byte in the original payload.
    pub offset: usize,
    /// Offset of the first value byte in the original payload.
    pub value_offset: usize,
}

impl<'a> Record<'a> {
    /// The records inside an Object Instance or Multiple Resource, or `None` for a record that
    /// carries data. The nested iterator reports offsets in the original payload and enforces
    /// the nesting rules of [`Kind::may_contain`].
    #[inline]
    pub fn children(&self) -> Option<Records<'a>> {
        if self.kind.is_container() {
            Some(Records {
                rest: self.value,
                offset: self.value_offset,
                parent: Some(self.kind),
            })
        } else {
            None
        }
    }

    /// The value bytes of a data record; the error for a container.
    #[inline]
    fn data(&self) -> Result<&'a [u8], TlvError> {
        if self.kind.is_container() {
            Err(TlvError::NotAValue {
                offset: self.offset,
                kind: self.kind,
            })
        } else {
            Ok(self.value)
        }
    }

    #[inline]
    fn decode<T>(&self, f: impl FnOnce(&'a [u8]) -> Result<T, ValueError>) -> Result<T, TlvError> {
        f(self.data()?).map_err(|source| TlvError::Value {
            offset: self.value_offset,
            source,
        })
    }

    /// The value as an Integer (1, 2, 4 or 8 bytes, see [`value::decode_integer`]).
    #[inline]
    pub fn as_integer(&self) -> Result<i64, TlvError> {
        self.decode(value::decode_integer)
    }

    /// The value as a Time in Unix seconds (encoded like an Integer).
    #[inline]
    pub fn as_time(&self) -> Result<i64, TlvError> {
        self.decode(value::decode_time)
    }

    /// The value as a Float (4 or 8 bytes; binary32 is widened exactly).
    #[inline]
    pub fn as_float(&self) -> Result<f64, TlvError> {
        self.decode(value::decode_float)
    }

    /// The value as a Boolean (exactly `00` or `01`).
    #[inline]
    pub fn as_bool(&self) -> Result<bool, TlvError> {
        self.decode(value::decode_bool)
    }

    /// The value as an Objlnk `(object ID, instance ID)` (exactly 4 bytes).
    #[inline]
    pub fn as_objlnk(&self) -> Result<(u16, u16), TlvError> {
        self.decode(value::decode_objlnk)
    }

    /// The value as a String, borrowed from the payload (must be UTF-8).
    #[inline]
    pub fn as_str(&self) -> Result<&'a str, TlvError> {
        self.decode(value::decode_string)
    }

    /// The value as Opaque bytes, borrowed from the payload.
    #[inline]
    pub fn as_opaque(&self) -> Result<&'a [u8], TlvError> {
        self.data()
    }
}

/// Iterator over the records of a TLV payload or of one container's value.
///
/// Yields `Err` once at the first malformed record (a truncated header or value, a trailing
/// partial record, or a record of a kind not allowed there) and then ends. It does not look
/// inside containers; use [`Record::children`] or [`validate`] for that.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    rest: &'a [u8],
    /// Offset of `rest[0]` in the original payload.
    offset: usize,
    parent: Option<Kind>,
}

/// The TLV reader; another name for [`Records`].
pub type TlvReader<'a> = Records<'a>;

/// Iterates the top-level records of a TLV payload. Same as [`Records::new`].
#[inline]
pub fn records(payload: &[u8]) -> Records<'_> {
    Records::new(payload)
}

impl<'a> Records<'a> {
    /// Iterates the top-level records of `payload`. At the top level, Object Instance, Resource
    /// and Multiple Resource records are allowed; a Resource Instance is an error.
    #[inline]
    pub const fn new(payload: &'a [u8]) -> Self {
        Records {
            rest: payload,
            offset: 0,
            parent: None,
        }
    }

    /// The bytes not yet iterated (empty once the iterator has ended, also after an error).
    #[inline]
    pub const fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    #[allow(
        clippy::inline_always,
        reason = "measured: left out of line, the call costs the typed TLV decode 2 % more instructions"
    )]
    #[inline(always)]
    fn parse(&self) -> Result<(Record<'a>, &'a [u8]), TlvError> {
        let offset = self.offset;
        let rest = self.rest;
        let Some((&type_byte, after_type)) = rest.split_first() else {
            // Callers only parse a non-empty `rest`; an empty one is a truncated header anyway.
            return Err(TlvError::TruncatedHeader {
                offset,
                needed: 1,
                available: 0,
            });
        };
        let kind = Kind::from_type_byte(type_byte);
        if !Kind::may_contain(self.parent, kind) {
            return Err(TlvError::UnexpectedKind {
                offset,
                kind,
                parent: self.parent,
            });
        }
        let wide_id = type_byte & 0x20 != 0;
        let length_size = usize::from((type_byte >> 3) & 0x03);
        let header_len = 2 + usize::from(wide_id) + length_size;
        let truncated = || TlvError::TruncatedHeader {
            offset,
            needed: header_len,
            available: rest.len(),
        };
        let (id, after_id) = if wide_id {
            match after_type {
                [a, b, tail @ ..] => (u16::from_be_bytes([*a, *b]), tail),
                _ => return Err(truncated()),
            }
        } else {
            match after_type {
                [a, tail @ ..] => (u16::from(*a), tail),
                _ => return Err(truncated()),
            }
        };
        let (length, body) = match (length_size, after_id) {
            (0, tail) => (usize::from(type_byte & 0x07), tail),
            (1, [a, tail @ ..]) => (usize::from(*a), tail),
            (2, [a, b, tail @ ..]) => (usize::from(u16::from_be_bytes([*a, *b])), tail),
            (3, [a, b, c, tail @ ..]) => (
                (usize::from(*a) << 16) | (usize::from(*b) << 8) | usize::from(*c),
                tail,
            ),
            _ => return Err(truncated()),
        };
        if body.len() < length {
            return Err(TlvError::TruncatedValue {
                offset,
                length,
                available: body.len(),
            });
        }
        let (value, next) = body.split_at(length);
        Ok((
            Record {
                kind,
                id,
                value,
                offset,
                value_offset: offset + header_len,
            },
            next,
        ))
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, TlvError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match self.parse() {
            Ok((record, next)) => {
                self.offset += self.rest.len() - next.len();
                self.rest = next;
                Some(Ok(record))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Every record takes at least two bytes.
        (0, Some(self.rest.len().div_ceil(2)))
    }
}

impl core::iter::FusedIterator for Records<'_> {}

/// Checks the structure of a whole payload: every record at every level is complete and of a
/// kind allowed where it is. Values are not type-checked (the format carries no types).
///
/// ```
/// use lwm2m_codec::tlv::{validate, TlvError};
/// assert_eq!(validate(&[0x08, 0x00, 0x03, 0xC1, 0x00, 0x01]), Ok(()));
/// assert_eq!(
///     validate(&[0x08, 0x00, 0x03, 0xC1, 0x00]),
///     Err(TlvError::TruncatedValue { offset: 0, length: 3, available: 2 })
/// );
/// ```
pub fn validate(payload: &[u8]) -> Result<(), TlvError> {
    // Nesting is bounded by `Kind::may_contain` (three levels), so plain nested loops suffice.
    for record in records(payload) {
        if let Some(children) = record?.children() {
            for child in children {
                if let Some(grandchildren) = child?.children() {
                    for grandchild in grandchildren {
                        grandchild?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlv::ValueType;

    #[test]
    fn reads_all_header_forms() {
        // inline, 8-bit, 16-bit and 24-bit length fields with 8- and 16-bit ids.
        let payload = [
            0xC1, 0x05, 0x01, // inline, id 5
            0xE9, 0x01, 0x2C, 0x01,
            0x02, // 8-bit length, id 300 (garbage inline bits ignored)
            0xD0, 0x00, 0x00, 0x01, 0x03, // 16-bit length
            0xD8, 0x00, 0x00, 0x00, 0x01, 0x04, // 24-bit length
        ];
        let got: Vec<_> = records(&payload)
            .map(|r| {
                let r = r.unwrap();
                (r.id, r.value.to_vec(), r.offset, r.value_offset)
            })
            .collect();
        assert_eq!(
            got,
            [
                (5, vec![1], 0, 2),
                (300, vec![2], 3, 7),
                (0, vec![3], 8, 12),
                (0, vec![4], 13, 18)
            ]
        );
    }

    #[test]
    fn errors_fuse_the_iterator() {
        let mut it = records(&[0xC1, 0x05, 0x01, 0xC8]);
        assert!(it.next().unwrap().is_ok());
        assert_eq!(
            it.next(),
            Some(Err(TlvError::TruncatedHeader {
                offset: 3,
                needed: 3,
                available: 1
            }))
        );
        assert_eq!(it.next(), None);
        assert!(it.remaining().is_empty());
    }

    #[test]
    fn nested_offsets_are_absolute() {
        // object instance 0 { multiple resource 2 { resource instance 1 = truncated } }
        let payload = [0x08, 0x00, 0x05, 0x83, 0x02, 0x42, 0x01, 0x00];
        let oi = records(&payload).next().unwrap().unwrap();
        let mr = oi.children().unwrap().next().unwrap().unwrap();
        assert_eq!((mr.offset, mr.value_offset), (3, 5));
        let err = mr.children().unwrap().next().unwrap().unwrap_err();
        assert_eq!(
            err,
            TlvError::TruncatedValue {
                offset: 5,
                length: 2,
                available: 1
            }
        );
        assert_eq!(validate(&payload), Err(err));
    }

    #[test]
    fn typed_accessors_report_value_offsets() {
        let payload = [0xC1, 0x00, 0x01, 0xC2, 0x01, 0x00, 0x01];
        let recs: Vec<_> = records(&payload).map(Result::unwrap).collect();
        assert_eq!(recs[0].as_bool(), Ok(true));
        assert_eq!(
            recs[1].as_bool(),
            Err(TlvError::Value {
                offset: 5,
                source: ValueError::Length {
                    ty: ValueType::Boolean,
                    found: 2,
                    expected: "1"
                }
            })
        );
        let container = records(&[0x80, 0x01]).next().unwrap().unwrap();
        assert_eq!(
            container.as_integer(),
            Err(TlvError::NotAValue {
                offset: 0,
                kind: Kind::MultipleResource
            })
        );
        assert!(records(&[0xC1, 0x00, 0x01])
            .next()
            .unwrap()
            .unwrap()
            .children()
            .is_none());
    }

    #[test]
    fn misplaced_kinds_are_rejected() {
        assert_eq!(
            validate(&[0x41, 0x00, 0x01]),
            Err(TlvError::UnexpectedKind {
                offset: 0,
                kind: Kind::ResourceInstance,
                parent: None
            })
        );
        // multiple resource holding a resource
        assert_eq!(
            validate(&[0x83, 0x00, 0xC1, 0x00, 0x01]),
            Err(TlvError::UnexpectedKind {
                offset: 2,
                kind: Kind::Resource,
                parent: Some(Kind::MultipleResource)
            })
        );
        // object instance holding an object instance
        assert_eq!(
            validate(&[0x02, 0x00, 0x00, 0x00]),
            Err(TlvError::UnexpectedKind {
                offset: 2,
                kind: Kind::ObjectInstance,
                parent: Some(Kind::ObjectInstance)
            })
        );
    }
}
