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

/// A record header: type byte, 1-2 identifier bytes, 0-3 length bytes.
struct Header {
    bytes: [u8; 6],
    len: usize,
}

impl Header {
    #[inline]
    fn new(kind: Kind, id: u16, length: usize) -> Result<Self, EncodeError> {
        if length > MAX_VALUE_LEN {
            return Err(EncodeError::ValueTooLong { id, length });
        }
        let mut bytes = [0; 6];
        let mut type_byte = kind.type_bits();
        let mut len = 1;
        if let Ok(short) = u8::try_from(id) {
            bytes[1] = short;
            len += 1;
        } else {
            type_byte |= 0x20;
            bytes[1..3].copy_from_slice(&id.to_be_bytes());
            len += 2;
        }
        // Big-endian length, of which the low `size` bytes go on the wire.
        let be = (length as u32).to_be_bytes();
        let size = if length <= 7 {
            type_byte |= length as u8;
            0
        } else if length <= 0xFF {
            1
        } else if length <= 0xFFFF {
            2
        } else {
            3
        };
        type_byte |= (size as u8) << 3;
        bytes[len..len + size].copy_from_slice(&be[4 - size..]);
        bytes[0] = type_byte;
        Ok(Header {
            bytes,
            len: len + size,
        })
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
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

    /// Writes `header` then `value`, or only counts them in a measuring pass.
    #[inline]
    fn emit(&mut self, id: u16, header: &Header, value: &[u8]) -> Result<(), EncodeError> {
        let total = header.len + value.len();
        if let Some(n) = self.measured.as_mut() {
            *n = n.saturating_add(total);
            return Ok(());
        }
        let remaining = self.buf.remaining_mut();
        if remaining < total {
            return Err(EncodeError::BufferFull {
                id,
                needed: total,
                remaining,
            });
        }
        self.buf.put_slice(header.as_slice());
        self.buf.put_slice(value);
        self.written += total;
        Ok(())
    }

    /// Writes one record of any kind with the given value bytes, unchanged. For a container
    /// kind, `value` must already be the encoded children.
    #[inline]
    pub fn record(&mut self, kind: Kind, id: u16, value: &[u8]) -> Result<(), EncodeError> {
        self.check_nesting(kind, id)?;
        let header = Header::new(kind, id, value.len())?;
        self.emit(id, &header, value)
    }

    #[inline]
    fn data(&mut self, id: u16, value: &[u8]) -> Result<(), EncodeError> {
        self.record(self.data_kind(), id, value)
    }

    #[inline]
    fn fixed(&mut self, id: u16, value: ValueBytes) -> Result<(), EncodeError> {
        self.data(id, value.as_slice())
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
        self.emit(id, &header, &[])?;
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
        let h = |kind, id, len| Header::new(kind, id, len).unwrap().as_slice().to_vec();
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
