//! Reading the option area of a message: the delta/length header decoder shared by the validating
//! parser and the iterators, [`CoapOption`], and the lazy iterators [`Options`], [`OptionValues`]
//! and [`StrOptions`] that re-read the validated slice without allocating.

use core::iter::FusedIterator;

use super::option;

/// One option of a message: its number and raw value, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoapOption<'a> {
    /// Option number (the running sum of the deltas).
    pub number: u16,
    /// Raw value bytes.
    pub value: &'a [u8],
}

impl<'a> CoapOption<'a> {
    /// The value as UTF-8 text, or `None` if it is not UTF-8.
    #[inline]
    pub fn as_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.value).ok()
    }

    /// The value as a `uint` (RFC 7252 §3.2) of at most 4 bytes, or `None` if it is longer.
    #[inline]
    pub fn as_uint(&self) -> Option<u32> {
        decode_uint(self.value)
    }

    /// Whether the option is critical (odd number).
    #[inline]
    pub const fn is_critical(&self) -> bool {
        option::is_critical(self.number)
    }
}

/// Decodes a big-endian `uint` of 0-4 bytes (leading zeros allowed, empty means 0).
#[inline]
pub(crate) fn decode_uint(value: &[u8]) -> Option<u32> {
    if value.len() > 4 {
        return None;
    }
    Some(value.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
}

/// A decoded option header: the delta, the value length and how many bytes the header takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OptionHead {
    pub(crate) delta: u32,
    pub(crate) len: usize,
    pub(crate) header_len: usize,
}

/// Why an option header could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadError {
    DeltaReserved,
    LengthReserved,
    Truncated { needed: usize },
}

/// Number of extended bytes a delta or length nibble announces (nibble 15 excluded by caller).
#[inline]
const fn ext_len(nibble: u8) -> usize {
    match nibble {
        13 => 1,
        14 => 2,
        _ => 0,
    }
}

/// Reads an extended delta or length value: the nibble itself, or 13 + one byte, or 269 + two.
#[inline]
fn ext_value(nibble: u8, ext: &[u8]) -> u32 {
    match (nibble, ext) {
        (13, [b]) => u32::from(*b) + 13,
        (14, [hi, lo]) => u32::from(u16::from_be_bytes([*hi, *lo])) + 269,
        _ => u32::from(nibble),
    }
}

/// Decodes the option header at the start of `rest`, whose first byte is not the 0xFF marker.
#[inline]
pub(crate) fn read_head(rest: &[u8]) -> Result<OptionHead, HeadError> {
    let Some((&first, after)) = rest.split_first() else {
        return Err(HeadError::Truncated { needed: 1 });
    };
    let delta_nibble = first >> 4;
    let len_nibble = first & 0x0F;
    if delta_nibble == 15 {
        return Err(HeadError::DeltaReserved);
    }
    if len_nibble == 15 {
        return Err(HeadError::LengthReserved);
    }
    if first < 0xD0 && len_nibble < 13 {
        // The common case: no extended bytes.
        return Ok(OptionHead {
            delta: u32::from(delta_nibble),
            len: usize::from(len_nibble),
            header_len: 1,
        });
    }
    let delta_ext = ext_len(delta_nibble);
    let len_ext = ext_len(len_nibble);
    let needed = delta_ext + len_ext;
    let Some(ext) = after.get(..needed) else {
        return Err(HeadError::Truncated { needed });
    };
    let (delta_bytes, len_bytes) = ext.split_at(delta_ext);
    Ok(OptionHead {
        delta: ext_value(delta_nibble, delta_bytes),
        len: ext_value(len_nibble, len_bytes) as usize,
        header_len: 1 + needed,
    })
}

/// Iterator over every option of a [`Message`](super::Message), in wire (ascending number) order.
///
/// It re-reads the slice the parser already validated, so it never fails and never allocates.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// The not yet visited part of the option area (ends before the payload marker).
    rest: &'a [u8],
    /// Offset of `rest` within the message.
    offset: usize,
    /// Number of the previous option.
    number: u16,
}

impl<'a> Options<'a> {
    /// Iterator over `area`, an option area the parser validated that starts at `offset`.
    #[inline]
    pub(crate) const fn new(area: &'a [u8], offset: usize) -> Options<'a> {
        Options {
            rest: area,
            offset,
            number: 0,
        }
    }

    /// The next option and the offset of its value within the message.
    #[inline]
    pub(crate) fn next_with_offset(&mut self) -> Option<(CoapOption<'a>, usize)> {
        let item = self.step();
        if item.is_none() {
            // Only reachable at the end of a validated area; fuse anyway.
            self.rest = &[];
        }
        item
    }

    #[inline]
    fn step(&mut self) -> Option<(CoapOption<'a>, usize)> {
        if self.rest.first().is_none_or(|&b| b == 0xFF) {
            return None;
        }
        let head = read_head(self.rest).ok()?;
        let number = u16::try_from(u32::from(self.number) + head.delta).ok()?;
        let value_end = head.header_len.checked_add(head.len)?;
        let value = self.rest.get(head.header_len..value_end)?;
        let value_offset = self.offset + head.header_len;
        self.rest = self.rest.get(value_end..)?;
        self.offset += value_end;
        self.number = number;
        Some((CoapOption { number, value }, value_offset))
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = CoapOption<'a>;

    #[inline]
    fn next(&mut self) -> Option<CoapOption<'a>> {
        self.next_with_offset().map(|(opt, _)| opt)
    }
}

impl FusedIterator for Options<'_> {}

/// Iterator over the values of the options with one number, in the order they appear.
///
/// Options are sorted on the wire, so it stops as soon as it passes that number.
#[derive(Debug, Clone)]
pub struct OptionValues<'a> {
    inner: Options<'a>,
    number: u16,
}

impl<'a> OptionValues<'a> {
    #[inline]
    pub(crate) const fn new(inner: Options<'a>, number: u16) -> OptionValues<'a> {
        OptionValues { inner, number }
    }

    /// The next value and its offset within the message.
    #[inline]
    pub(crate) fn next_with_offset(&mut self) -> Option<(&'a [u8], usize)> {
        loop {
            let (opt, offset) = self.inner.next_with_offset()?;
            if opt.number == self.number {
                return Some((opt.value, offset));
            }
            if opt.number > self.number {
                self.inner.rest = &[];
                return None;
            }
        }
    }
}

impl<'a> Iterator for OptionValues<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        self.next_with_offset().map(|(value, _)| value)
    }
}

impl FusedIterator for OptionValues<'_> {}

/// Iterator over the values of a string option (Uri-Path, Uri-Query, Location-Path, ...) as
/// `&str`.
///
/// It comes from an accessor such as [`Message::uri_path`](super::Message::uri_path) that has
/// already checked every value is UTF-8 and within the option's length range.
#[derive(Debug, Clone)]
pub struct StrOptions<'a> {
    inner: OptionValues<'a>,
}

impl<'a> StrOptions<'a> {
    #[inline]
    pub(crate) const fn new(inner: OptionValues<'a>) -> StrOptions<'a> {
        StrOptions { inner }
    }
}

impl<'a> Iterator for StrOptions<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        // The constructor's caller validated every value, so `ok()` never drops one.
        self.inner
            .next()
            .and_then(|value| core::str::from_utf8(value).ok())
    }
}

impl FusedIterator for StrOptions<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_decodes_every_nibble_form() {
        assert_eq!(
            read_head(&[0xB2]),
            Ok(OptionHead {
                delta: 11,
                len: 2,
                header_len: 1
            })
        );
        assert_eq!(
            read_head(&[0xD3, 0x23]),
            Ok(OptionHead {
                delta: 48,
                len: 3,
                header_len: 2
            })
        );
        assert_eq!(
            read_head(&[0x4D, 0x0E]),
            Ok(OptionHead {
                delta: 4,
                len: 27,
                header_len: 2
            })
        );
        assert_eq!(
            read_head(&[0xEE, 0xFF, 0xFF, 0x00, 0x01]),
            Ok(OptionHead {
                delta: 65535 + 269,
                len: 270,
                header_len: 5
            })
        );
        assert_eq!(read_head(&[0xF0]), Err(HeadError::DeltaReserved));
        assert_eq!(read_head(&[0x0F]), Err(HeadError::LengthReserved));
        assert_eq!(
            read_head(&[0xDE, 0x01, 0x02]),
            Err(HeadError::Truncated { needed: 3 })
        );
    }

    #[test]
    fn uint_accepts_leading_zeros_and_refuses_five_bytes() {
        assert_eq!(decode_uint(&[]), Some(0));
        assert_eq!(decode_uint(&[0, 0, 0x28]), Some(40));
        assert_eq!(decode_uint(&[1, 2, 3, 4]), Some(0x0102_0304));
        assert_eq!(decode_uint(&[0, 0, 0, 0, 1]), None);
    }

    #[test]
    fn iterator_tracks_numbers_and_offsets() {
        // Uri-Path "a", Uri-Path "bc", Content-Format 40, at offset 10 in some message.
        let area = [0xB1, b'a', 0x02, b'b', b'c', 0x11, 0x28];
        let mut it = Options::new(&area, 10);
        assert_eq!(
            it.next_with_offset(),
            Some((
                CoapOption {
                    number: 11,
                    value: b"a"
                },
                11
            ))
        );
        assert_eq!(
            it.next_with_offset(),
            Some((
                CoapOption {
                    number: 11,
                    value: b"bc"
                },
                13
            ))
        );
        let cf = it.next().unwrap();
        assert_eq!((cf.number, cf.as_uint()), (12, Some(40)));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);

        let paths: alloc::vec::Vec<_> =
            StrOptions::new(OptionValues::new(Options::new(&area, 0), 11)).collect();
        assert_eq!(paths, ["a", "bc"]);
    }
}
