//! The TLV writer: records into any [`BufMut`], always in the shortest form.
//!
//! A container's header holds the length of its content, which is only known once the content
//! is written, and a `BufMut` cannot be rewound to patch it. So a container takes a closure that
//! writes its children and calls it twice: first in a measuring pass, where the writer only adds
//! up lengths, then (after the header) in the writing pass. Nested containers inside a measuring
//! pass are measured once, so the innermost closure runs at most three times for the deepest
//! payload (object instance ⊃ multiple resource) and nothing is buffered or allocated.

use alloc::vec::Vec;
use bytes::BufMut;

use super::error::EncodeError;
use super::value::{self, ValueBytes};
use super::{Kind, MAX_VALUE_LEN};

/// Writes TLV records into a [`BufMut`].
///
/// Data records written at the top level or inside an object instance are Resources; inside a
/// [`multiple_resource`](Self::multiple_resource) closure they are Resource Instances.
///
/// ```
/// use lwm2m_codec::tlv::TlvWriter;
///
/// let mut out = Vec::new();
/// let mut w = TlvWriter::new(&mut out);
/// w.object_instance(0, |w| {
///     w.integer(0, 1)?; // Short Server ID
///     w.integer(1, 86400)?; // Lifetime
///     w.boolean(6, true)?;
///     w.string(7, "U")
/// })?;
/// assert_eq!(
///     out,
///     [0x08, 0x00, 0x0F, 0xC1, 0x00, 0x01, 0xC4, 0x01, 0x00, 0x01, 0x51, 0x80,
///      0xC1, 0x06, 0x01, 0xC1, 0x07, 0x55]
/// );
/// # Ok::<(), lwm2m_codec::tlv::EncodeError>(())
/// ```
#[derive(Debug)]
pub struct TlvWriter<'b, B: BufMut> {
    buf: &'b mut B,
    /// The container whose closure is running, `None` at the top level.
    parent: Option<Kind>,
    /// `Some(n)` during a measuring pass: `n` bytes would have been written so far.
    measured: Option<usize>,
    /// Bytes put into `buf` by this writer.
    written: usize,
}

/// Encodes a payload into a new `Vec<u8>`.
///
/// ```
/// let payload = lwm2m_codec::tlv::to_vec(|w| w.float(5700, 23.5))?;
/// assert_eq!(payload, [0xE4, 0x16, 0x44, 0x41, 0xBC, 0x00, 0x00]);
/// # Ok::<(), lwm2m_codec::tlv::EncodeError>(())
/// ```
pub fn to_vec<F>(f: F) -> Result<Vec<u8>, EncodeError>
where
    F: FnOnce(&mut TlvWriter<'_, Vec<u8>>) -> Result<(), EncodeError>,
{
    let mut out = Vec::new();
    f(&mut TlvWriter::new(&mut out))?;
    Ok(out)
}

/// Size of the length field for a value of `length` bytes: 0 (inline), 1, 2 or 3.
#[inline]
const fn length_field_size(length: usize) -> usize {
    if length <= 7 {
        0
    } else if length <= 0xFF {
        1
    } else if length <= 0xFFFF {
        2
    } else {
        3
    }
}

/// Size of the shortest header for a record with this identifier and value length.
#[inline]
const fn header_len(id: u16, length: usize) -> usize {
    2 + (id > 0xFF) as usize + length_field_size(length)
}

/// A record header: type byte, 1-2 identifier bytes, 0-3 length bytes.
struct Header {
    /// The header bytes as the low `len` bytes of a big-endian number, built in a register
    /// rather than byte by byte in memory.
    acc: u64,
    len: usize,
}

impl Header {
    /// The shortest header; the error if `length` does not fit the 24-bit length field.
    #[inline]
    fn new(kind: Kind, id: u16, length: usize) -> Result<Self, EncodeError> {
        if length > MAX_VALUE_LEN {
            return Err(EncodeError::ValueTooLong { id, length });
        }
        let size = length_field_size(length);
        let wide = id > 0xFF;
        let mut acc = u64::from(kind.type_bits() | ((size as u8) << 3) | (u8::from(wide) << 5));
        if size == 0 {
            acc |= length as u64;
        }
        acc = if wide {
            (acc << 16) | u64::from(id)
        } else {
            (acc << 8) | u64::from(id)
        };
        acc = (acc << (8 * size)) | if size == 0 { 0 } else { length as u64 };
        Ok(Header {
            acc,
            len: header_len(id, length),
        })
    }

    /// The header bytes, left-aligned in an array; the first `len` are the header.
    #[inline]
    fn bytes(&self) -> [u8; 8] {
        (self.acc << (64 - 8 * self.len)).to_be_bytes()
    }
}

impl<'b, B: BufMut> TlvWriter<'b, B> {
    /// A writer appending top-level records to `buf`.
    #[inline]
    pub fn new(buf: &'b mut B) -> Self {
        TlvWriter {
            buf,
            parent: None,
            measured: None,
            written: 0,
        }
    }

    /// Bytes this writer has put into the buffer so far.
    #[inline]
    pub fn bytes_written(&self) -> usize {
        self.written
    }

    /// The kind data records get here: Resource Instance inside a multiple resource, Resource
    /// elsewhere.
    #[inline]
    fn data_kind(&self) -> Kind {
        if self.parent == Some(Kind::MultipleResource) {
            Kind::ResourceInstance
        } else {
            Kind::Resource
        }
    }

    #[inline]
    fn check_nesting(&self, kind: Kind, id: u16) -> Result<(), EncodeError> {
        if Kind::may_contain(self.parent, kind) {
            Ok(())
        } else {
            Err(EncodeError::InvalidNesting {
                id,
                kind,
                parent: self.parent,
            })
        }
    }

    /// Counts a record in a measuring pass, or writes its header and value.
    #[inline]
    fn emit(&mut self, kind: Kind, id: u16, value: &[u8]) -> Result<(), EncodeError> {
        let length = value.len();
        if let Some(n) = self.measured.as_mut() {
            if length > MAX_VALUE_LEN {
                return Err(EncodeError::ValueTooLong { id, length });
            }
            *n = n.saturating_add(header_len(id, length) + length);
            return Ok(());
        }
        let header = Header::new(kind, id, length)?;
        let bytes = header.bytes();
        self.put(id, bytes.get(..header.len).unwrap_or_default(), value)
    }

    #[inline]
    fn put(&mut self, id: u16, header: &[u8], value: &[u8]) -> Result<(), EncodeError> {
        let total = header.len() + value.len();
        let remaining = self.buf.remaining_mut();
        if remaining < total {
            return Err(EncodeError::BufferFull {
                id,
                needed: total,
                remaining,
            });
        }
        self.buf.put_slice(header);
        self.buf.put_slice(value);
        self.written += total;
        Ok(())
    }

    /// Writes one record of any kind with the given value bytes, unchanged. For a container
    /// kind, `value` must already be the encoded children.
    #[inline]
    pub fn record(&mut self, kind: Kind, id: u16, value: &[u8]) -> Result<(), EncodeError> {
        self.check_nesting(kind, id)?;
        self.emit(kind, id, value)
    }

    #[inline]
    fn data(&mut self, id: u16, value: &[u8]) -> Result<(), EncodeError> {
        // `data_kind` is always allowed in the current container: no nesting check needed.
        match ValueBytes::from_short(value) {
            Some(short) => self.fixed(id, short),
            None => self.emit(self.data_kind(), id, value),
        }
    }

    /// A data record with a value of at most 8 bytes: header and value are joined in one
    /// 128-bit number and written with a single copy (most records of a typical payload).
    /// The shifts stay below 128 bits: `total` is at least 2 (type byte and id).
    #[inline]
    fn fixed(&mut self, id: u16, value: ValueBytes) -> Result<(), EncodeError> {
        let length = value.len();
        if let Some(n) = self.measured.as_mut() {
            *n = n.saturating_add(header_len(id, length) + length);
            return Ok(());
        }
        let header = Header::new(self.data_kind(), id, length)?;
        let total = header.len + length;
        let joined = (u128::from(header.acc) << (8 * length)) | u128::from(value.low_bytes());
        let bytes = (joined << (128 - 8 * total)).to_be_bytes();
        self.put(id, bytes.get(..total).unwrap_or_default(), &[])
    }

    /// Writes an Integer in the shortest of 1, 2, 4 or 8 bytes.
    #[inline]
    pub fn integer(&mut self, id: u16, v: i64) -> Result<(), EncodeError> {
        self.fixed(id, value::encode_integer(v))
    }

    /// Writes a Time (Unix seconds), encoded as an Integer.
    #[inline]
    pub fn time(&mut self, id: u16, unix_seconds: i64) -> Result<(), EncodeError> {
        self.integer(id, unix_seconds)
    }

    /// Writes a Float: 4 bytes if it is exact in binary32, else 8 (NaN: 8 bytes, bits kept; see
    /// [`value`](super::value)).
    #[inline]
    pub fn float(&mut self, id: u16, v: f64) -> Result<(), EncodeError> {
        self.fixed(id, value::encode_float(v))
    }

    /// Writes a Boolean as one byte.
    #[inline]
    pub fn boolean(&mut self, id: u16, v: bool) -> Result<(), EncodeError> {
        self.fixed(id, value::encode_bool(v))
    }

    /// Writes an Objlnk as 4 bytes.
    #[inline]
    pub fn objlnk(&mut self, id: u16, object: u16, instance: u16) -> Result<(), EncodeError> {
        self.fixed(id, value::encode_objlnk(object, instance))
    }

    /// Writes a String as its UTF-8 bytes.
    #[inline]
    pub fn string(&mut self, id: u16, v: &str) -> Result<(), EncodeError> {
        self.data(id, v.as_bytes())
    }

    /// Writes Opaque bytes.
    #[inline]
    pub fn opaque(&mut self, id: u16, v: &[u8]) -> Result<(), EncodeError> {
        self.data(id, v)
    }

    /// Writes an Object Instance whose Resources and Multiple Resources `f` writes.
    ///
    /// `f` runs twice (measuring, then writing) and must write the same records both times.
    #[inline]
    pub fn object_instance<F>(&mut self, id: u16, f: F) -> Result<(), EncodeError>
    where
        F: FnMut(&mut Self) -> Result<(), EncodeError>,
    {
        self.container(Kind::ObjectInstance, id, f)
    }

    /// Writes a Multiple Resource whose Resource Instances `f` writes (with the ordinary data
    /// methods; their `id` is the resource-instance ID). A closure writing nothing gives the
    /// empty multiple resource the TS requires for a resource with no instances.
    ///
    /// `f` runs twice (measuring, then writing) and must write the same records both times.
    #[inline]
    pub fn multiple_resource<F>(&mut self, id: u16, f: F) -> Result<(), EncodeError>
    where
        F: FnMut(&mut Self) -> Result<(), EncodeError>,
    {
        self.container(Kind::MultipleResource, id, f)
    }

    fn container<F>(&mut self, kind: Kind, id: u16, mut f: F) -> Result<(), EncodeError>
    where
        F: FnMut(&mut Self) -> Result<(), EncodeError>,
    {
        self.check_nesting(kind, id)?;
        let outer_parent = self.parent.replace(kind);
        let result = self.container_inner(kind, id, &mut f);
        self.parent = outer_parent;
        result
    }

    fn container_inner<F>(&mut self, kind: Kind, id: u16, f: &mut F) -> Result<(), EncodeError>
    where
        F: FnMut(&mut Self) -> Result<(), EncodeError>,
    {
        let outer_measured = self.measured.replace(0);
        let measured = f(self);
        let content = self.measured.unwrap_or_default();
        self.measured = outer_measured;
        measured?;
        let header = Header::new(kind, id, content)?;
        if let Some(n) = self.measured.as_mut() {
            *n = n.saturating_add(header.len).saturating_add(content);
            return Ok(());
        }
        let bytes = header.bytes();
        self.put(id, bytes.get(..header.len).unwrap_or_default(), &[])?;
        let before = self.written;
        f(self)?;
        let written = self.written - before;
        if written == content {
            Ok(())
        } else {
            Err(EncodeError::ContainerChanged {
                id,
                measured: content,
                written,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_pick_the_smallest_form() {
        let h = |kind, id, len| {
            let header = Header::new(kind, id, len).unwrap();
            header.bytes()[..header.len].to_vec()
        };
        assert_eq!(h(Kind::Resource, 5, 0), [0xC0, 0x05]);
        assert_eq!(h(Kind::Resource, 5, 7), [0xC7, 0x05]);
        assert_eq!(h(Kind::Resource, 5, 8), [0xC8, 0x05, 0x08]);
        assert_eq!(h(Kind::Resource, 0, 300), [0xD0, 0x00, 0x01, 0x2C]);
        assert_eq!(h(Kind::Resource, 0, 70000), [0xD8, 0x00, 0x01, 0x11, 0x70]);
        assert_eq!(
            h(Kind::Resource, 0, MAX_VALUE_LEN),
            [0xD8, 0x00, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(h(Kind::ResourceInstance, 310, 1), [0x61, 0x01, 0x36]);
        assert_eq!(h(Kind::ObjectInstance, 255, 0), [0x00, 0xFF]);
        assert_eq!(h(Kind::ObjectInstance, 256, 0), [0x20, 0x01, 0x00]);
        assert_eq!(
            h(Kind::MultipleResource, 0xFFFF, 0x10000),
            [0xB8, 0xFF, 0xFF, 0x01, 0x00, 0x00]
        );
        assert_eq!(
            Header::new(Kind::Resource, 9, MAX_VALUE_LEN + 1).err(),
            Some(EncodeError::ValueTooLong {
                id: 9,
                length: MAX_VALUE_LEN + 1
            })
        );
    }

    #[test]
    fn full_slice_buffer_is_an_error_not_a_panic() {
        let mut storage = [0u8; 4];
        let mut slice: &mut [u8] = &mut storage;
        let mut w = TlvWriter::new(&mut slice);
        assert_eq!(w.integer(0, 1), Ok(()));
        assert_eq!(
            w.integer(1, 1),
            Err(EncodeError::BufferFull {
                id: 1,
                needed: 3,
                remaining: 1
            })
        );
        assert_eq!(w.bytes_written(), 3);
        assert_eq!(storage[..3], [0xC1, 0x00, 0x01]);
    }

    #[test]
    fn nesting_is_enforced() {
        assert_eq!(
            to_vec(|w| w.multiple_resource(1, |w| w.object_instance(0, |_| Ok(())))),
            Err(EncodeError::InvalidNesting {
                id: 0,
                kind: Kind::ObjectInstance,
                parent: Some(Kind::MultipleResource)
            })
        );
        assert_eq!(
            to_vec(|w| w.record(Kind::ResourceInstance, 0, &[])),
            Err(EncodeError::InvalidNesting {
                id: 0,
                kind: Kind::ResourceInstance,
                parent: None
            })
        );
        // The context is restored after a container, also after a failed one.
        let out = to_vec(|w| {
            let _ = w.object_instance(1, |w| w.object_instance(2, |_| Ok(())));
            w.integer(3, 0)
        })
        .unwrap();
        assert_eq!(out, [0xC1, 0x03, 0x00]);
    }

    #[test]
    fn a_closure_that_changes_between_passes_is_caught() {
        let mut calls = 0;
        let result = to_vec(|w| {
            w.multiple_resource(1, |w| {
                calls += 1;
                if calls == 1 {
                    w.integer(0, 1)
                } else {
                    w.integer(0, 1000)
                }
            })
        });
        assert_eq!(
            result,
            Err(EncodeError::ContainerChanged {
                id: 1,
                measured: 3,
                written: 4
            })
        );
    }

    #[test]
    fn nested_containers_are_sized_in_one_measuring_pass() {
        let mut inner_calls = 0;
        let out = to_vec(|w| {
            w.object_instance(0, |w| {
                w.multiple_resource(6, |w| {
                    inner_calls += 1;
                    w.integer(0, 1)?;
                    w.integer(1, 5)
                })
            })
        })
        .unwrap();
        assert_eq!(
            out,
            [0x08, 0x00, 0x08, 0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05]
        );
        assert_eq!(inner_calls, 3);
    }

    #[test]
    fn oversized_value_is_an_error_in_both_passes() {
        let big = alloc::vec![0u8; MAX_VALUE_LEN + 1];
        let too_long = Err(EncodeError::ValueTooLong {
            id: 4,
            length: MAX_VALUE_LEN + 1,
        });
        assert_eq!(to_vec(|w| w.opaque(4, &big)), too_long);
        assert_eq!(
            to_vec(|w| w.object_instance(0, |w| w.opaque(4, &big))),
            too_long
        );
        let fits = to_vec(|w| w.opaque(4, &big[1..])).unwrap();
        assert_eq!(fits[..5], [0xD8, 0x04, 0xFF, 0xFF, 0xFF]);
    }

    #[test]
    fn oversized_container_is_an_error() {
        let big = alloc::vec![0u8; MAX_VALUE_LEN - 2];
        assert_eq!(
            to_vec(|w| w.object_instance(0, |w| w.opaque(1, &big))),
            Err(EncodeError::ValueTooLong {
                id: 0,
                length: MAX_VALUE_LEN + 3
            })
        );
    }
}
