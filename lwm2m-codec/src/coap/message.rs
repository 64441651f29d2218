//! [`Message`]: a borrowed, validated view of one CoAP datagram.
//!
//! [`Message::parse`] walks header, token, options and payload marker once and records where each
//! part starts; every accessor afterwards is infallible and hands out sub-slices of the datagram.
//! Typed option accessors (`uri_path`, `content_format`, `block2`, ...) check the option's value
//! format and report an [`OptionError`] that names the option and byte.

use core::fmt;

use super::block::Block;
use super::error::{MessageError, OptionError};
use super::header::{Code, Header, Type};
use super::option;
use super::options::{decode_uint, read_head, HeadError, OptionValues, Options, StrOptions};
use super::token::Token;

/// A validated CoAP message borrowed from a datagram.
///
/// ```
/// use lwm2m_codec::coap::{Code, Message, Type};
/// // CON GET /3/0/0, MID 0x0002, token 0B
/// let bytes = [0x41, 0x01, 0x00, 0x02, 0x0B, 0xB1, 0x33, 0x01, 0x30, 0x01, 0x30];
/// let msg = Message::parse(&bytes)?;
/// assert_eq!((msg.ty(), msg.code(), msg.message_id()), (Type::Confirmable, Code::GET, 2));
/// assert_eq!(msg.token(), &[0x0B]);
/// assert!(msg.uri_path()?.eq(["3", "0", "0"]));
/// assert!(msg.payload().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Message<'a> {
    bytes: &'a [u8],
    /// Offset of the first option byte (4 + token length).
    options_start: usize,
    /// Offset just past the last option (the payload marker or the end).
    options_end: usize,
    /// Offset of the first payload byte (the datagram length when there is no payload).
    payload_start: usize,
}

impl<'a> Message<'a> {
    /// Validates `datagram` as one CoAP message (RFC 7252 §3) in a single pass.
    ///
    /// Rejected: fewer than 4 bytes, version ≠ 1, TKL 9-15, a truncated token, an Empty (0.00)
    /// message with a token or any byte after the message id, option nibble 15 outside the
    /// payload marker, truncated extended option bytes or values, option numbers past 65535, and
    /// a payload marker with nothing after it. Option *values* are not interpreted here; the
    /// typed accessors do that.
    pub fn parse(datagram: &'a [u8]) -> Result<Message<'a>, MessageError> {
        let header = Header::peek(datagram)?;
        let token_length = header.token_length;
        if token_length > 8 {
            return Err(MessageError::TokenLengthReserved {
                length: token_length,
            });
        }
        if header.code.is_empty() {
            if token_length != 0 {
                return Err(MessageError::EmptyMessageWithToken {
                    length: token_length,
                });
            }
            if datagram.len() > 4 {
                return Err(MessageError::EmptyMessageNotEmpty {
                    trailing: datagram.len() - 4,
                });
            }
            return Ok(Message {
                bytes: datagram,
                options_start: 4,
                options_end: 4,
                payload_start: 4,
            });
        }
        let options_start = 4 + usize::from(token_length);
        if datagram.len() < options_start {
            return Err(MessageError::TokenTruncated {
                length: token_length,
                message_length: datagram.len(),
            });
        }
        let (options_end, payload_start) = validate_options(datagram, options_start)?;
        Ok(Message {
            bytes: datagram,
            options_start,
            options_end,
            payload_start,
        })
    }

    /// The protocol version: always 1 for a parsed message.
    #[inline]
    pub fn version(&self) -> u8 {
        self.first_byte() >> 6
    }

    /// Message type.
    #[inline]
    pub fn ty(&self) -> Type {
        Type::from_bits(self.first_byte() >> 4)
    }

    /// Request method or response code.
    #[inline]
    pub fn code(&self) -> Code {
        Code::from_u8(self.bytes.get(1).copied().unwrap_or(0))
    }

    /// Message id.
    #[inline]
    pub fn message_id(&self) -> u16 {
        match self.bytes {
            [_, _, hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
            _ => 0,
        }
    }

    /// The fixed header fields.
    #[inline]
    pub fn header(&self) -> Header {
        Header {
            ty: self.ty(),
            token_length: (self.options_start - 4) as u8,
            code: self.code(),
            message_id: self.message_id(),
        }
    }

    /// Token bytes (0-8).
    #[inline]
    pub fn token(&self) -> &'a [u8] {
        self.bytes.get(4..self.options_start).unwrap_or(&[])
    }

    /// The token as an owned [`Token`], e.g. to key a table of outstanding requests.
    #[inline]
    pub fn owned_token(&self) -> Token {
        Token::new(self.token()).unwrap_or(Token::EMPTY)
    }

    /// Every option in wire (ascending number) order; lazy and allocation-free.
    #[inline]
    pub fn options(&self) -> Options<'a> {
        let area = self
            .bytes
            .get(self.options_start..self.options_end)
            .unwrap_or(&[]);
        Options::new(area, self.options_start)
    }

    /// Payload bytes (empty when the message has no payload marker).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(self.payload_start..).unwrap_or(&[])
    }

    /// The whole datagram.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Length of the datagram in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false`: a message has at least its 4-byte header. (Present for API symmetry with
    /// [`Message::len`].)
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Value of the first option with this number, without interpreting it.
    #[inline]
    pub fn option(&self, number: u16) -> Option<&'a [u8]> {
        self.options_of(number).next()
    }

    /// Values of every option with this number, in wire order.
    #[inline]
    pub fn options_of(&self, number: u16) -> OptionValues<'a> {
        OptionValues::new(self.options(), number)
    }

    /// Whether an option with this number is present.
    #[inline]
    pub fn has_option(&self, number: u16) -> bool {
        self.option(number).is_some()
    }

    /// The Uri-Path segments (one option each), checked for UTF-8 and the 0-255 byte length.
    ///
    /// `/` is zero segments. LwM2M paths look like `["3", "0", "1"]`; registration paths like
    /// `["rd", "5a3f"]`.
    pub fn uri_path(&self) -> Result<StrOptions<'a>, OptionError> {
        self.strings(option::URI_PATH)
    }

    /// The Uri-Query items (one `key=value` or bare `key` per option), checked like
    /// [`Message::uri_path`].
    pub fn uri_query(&self) -> Result<StrOptions<'a>, OptionError> {
        self.strings(option::URI_QUERY)
    }

    /// The Location-Path segments (the registration handle in a Register response, the new
    /// instance in a Create response).
    pub fn location_path(&self) -> Result<StrOptions<'a>, OptionError> {
        self.strings(option::LOCATION_PATH)
    }

    /// The Location-Query items.
    pub fn location_query(&self) -> Result<StrOptions<'a>, OptionError> {
        self.strings(option::LOCATION_QUERY)
    }

    /// Content-Format (a 0-2 byte uint), if present.
    pub fn content_format(&self) -> Result<Option<u16>, OptionError> {
        Ok(self.uint(option::CONTENT_FORMAT, 2)?.map(|v| v as u16))
    }

    /// Accept (a 0-2 byte uint), if present.
    pub fn accept(&self) -> Result<Option<u16>, OptionError> {
        Ok(self.uint(option::ACCEPT, 2)?.map(|v| v as u16))
    }

    /// Observe (a 0-3 byte uint, so at most 2^24 − 1): 0 registers, 1 deregisters in a request;
    /// a sequence number in a notification.
    pub fn observe(&self) -> Result<Option<u32>, OptionError> {
        self.uint(option::OBSERVE, 3)
    }

    /// Block1 (request payload block), if present.
    pub fn block1(&self) -> Result<Option<Block>, OptionError> {
        self.block(option::BLOCK1)
    }

    /// Block2 (response payload block), if present.
    pub fn block2(&self) -> Result<Option<Block>, OptionError> {
        self.block(option::BLOCK2)
    }

    /// Size1 (a 0-4 byte uint), if present.
    pub fn size1(&self) -> Result<Option<u32>, OptionError> {
        self.uint(option::SIZE1, 4)
    }

    /// Size2 (a 0-4 byte uint), if present.
    pub fn size2(&self) -> Result<Option<u32>, OptionError> {
        self.uint(option::SIZE2, 4)
    }

    /// Max-Age in seconds (a 0-4 byte uint), if present. Absent means 60 s (RFC 7252 §5.10.5).
    pub fn max_age(&self) -> Result<Option<u32>, OptionError> {
        self.uint(option::MAX_AGE, 4)
    }

    /// Any non-repeatable `uint` option of 0-4 bytes, if present.
    pub fn uint_option(&self, number: u16) -> Result<Option<u32>, OptionError> {
        self.uint(number, 4)
    }

    /// The first critical (odd-numbered) option that `known` does not recognise: an endpoint
    /// answers such a Confirmable request with 4.02 Bad Option and rejects such a response
    /// (RFC 7252 §5.4.1).
    ///
    /// ```
    /// use lwm2m_codec::coap::{option, Message};
    /// // CON GET with Uri-Path "a" and the unknown critical option 2001.
    /// let bytes = [0x40, 0x01, 0x00, 0x01, 0xB1, b'a', 0xE0, 0x06, 0xB9];
    /// let msg = Message::parse(&bytes).unwrap();
    /// assert_eq!(msg.first_unknown_critical(option::is_known), Some(2001));
    /// ```
    pub fn first_unknown_critical(&self, known: impl Fn(u16) -> bool) -> Option<u16> {
        self.options()
            .map(|opt| opt.number)
            .find(|&number| option::is_critical(number) && !known(number))
    }

    /// A builder holding this message's fields (values borrowed), to re-encode it or derive a
    /// variant. Re-encoding an unchanged builder gives back the datagram byte for byte.
    pub fn to_builder(&self) -> super::MessageBuilder<'a> {
        let mut builder = super::MessageBuilder::new(self.ty(), self.code(), self.message_id());
        builder.token(self.owned_token());
        for opt in self.options() {
            builder.option(opt.number, opt.value);
        }
        builder.payload(self.payload());
        builder
    }

    #[inline]
    fn first_byte(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(0)
    }

    /// The single occurrence of a non-repeatable option, with its value offset.
    fn single(&self, number: u16) -> Result<Option<(&'a [u8], usize)>, OptionError> {
        let mut values = self.options_of(number);
        let Some(first) = values.next_with_offset() else {
            return Ok(None);
        };
        if let Some((_, offset)) = values.next_with_offset() {
            return Err(OptionError::Repeated { number, offset });
        }
        Ok(Some(first))
    }

    fn uint(&self, number: u16, max_len: u16) -> Result<Option<u32>, OptionError> {
        let Some((value, offset)) = self.single(number)? else {
            return Ok(None);
        };
        match decode_uint(value) {
            Some(v) if value.len() <= usize::from(max_len) => Ok(Some(v)),
            _ => Err(OptionError::BadLength {
                number,
                offset,
                length: value.len(),
                min: 0,
                max: max_len,
            }),
        }
    }

    fn block(&self, number: u16) -> Result<Option<Block>, OptionError> {
        let Some(value) = self.uint(number, 3)? else {
            return Ok(None);
        };
        Block::from_value(value).map(Some).map_err(|error| {
            let offset = self
                .options_of(number)
                .next_with_offset()
                .map_or(0, |v| v.1);
            OptionError::Block {
                number,
                offset,
                error,
            }
        })
    }

    fn strings(&self, number: u16) -> Result<StrOptions<'a>, OptionError> {
        let (min, max) = option::info(number).map_or((0, u16::MAX), |i| (i.min_len, i.max_len));
        let mut values = self.options_of(number);
        while let Some((value, offset)) = values.next_with_offset() {
            if value.len() < usize::from(min) || value.len() > usize::from(max) {
                return Err(OptionError::BadLength {
                    number,
                    offset,
                    length: value.len(),
                    min,
                    max,
                });
            }
            if let Err(e) = core::str::from_utf8(value) {
                return Err(OptionError::NotUtf8 {
                    number,
                    offset,
                    valid_up_to: e.valid_up_to(),
                });
            }
        }
        Ok(StrOptions::new(self.options_of(number)))
    }
}

/// Walks the option area from `start` and returns (end of options, start of payload).
#[inline]
fn validate_options(datagram: &[u8], start: usize) -> Result<(usize, usize), MessageError> {
    let mut pos = start;
    let mut number: u32 = 0;
    loop {
        let Some(rest) = datagram.get(pos..) else {
            return Ok((datagram.len(), datagram.len()));
        };
        match rest {
            [] => return Ok((pos, pos)),
            [0xFF] => return Err(MessageError::EmptyPayload { offset: pos }),
            [0xFF, ..] => return Ok((pos, pos + 1)),
            _ => {}
        }
        let head = read_head(rest).map_err(|e| match e {
            HeadError::DeltaReserved => MessageError::OptionDeltaReserved { offset: pos },
            HeadError::LengthReserved => MessageError::OptionLengthReserved { offset: pos },
            HeadError::Truncated { needed } => MessageError::OptionHeaderTruncated {
                offset: pos,
                needed,
            },
        })?;
        number += head.delta;
        if number > u32::from(u16::MAX) {
            return Err(MessageError::OptionNumberOverflow {
                offset: pos,
                number,
            });
        }
        let value_start = pos + head.header_len;
        let available = datagram.len() - value_start;
        if head.len > available {
            return Err(MessageError::OptionValueTruncated {
                offset: value_start,
                length: head.len,
                available,
            });
        }
        pos = value_start + head.len;
    }
}

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct OptionList<'m>(Options<'m>);
        impl fmt::Debug for OptionList<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.clone()).finish()
            }
        }
        f.debug_struct("Message")
            .field("ty", &self.ty())
            .field("code", &self.code())
            .field("message_id", &self.message_id())
            .field("token", &self.owned_token())
            .field("options", &OptionList(self.options()))
            .field("payload", &self.payload())
            .finish()
    }
}

impl<'a> TryFrom<&'a [u8]> for Message<'a> {
    type Error = MessageError;

    fn try_from(datagram: &'a [u8]) -> Result<Message<'a>, MessageError> {
        Message::parse(datagram)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;
    use crate::coap::error::BlockError;

    #[test]
    fn parses_header_token_options_payload() {
        // ACK 2.05 Observe=1 CF=0 payload '100', token CAFE
        let bytes = [
            0x62, 0x45, 0x00, 0x08, 0xCA, 0xFE, 0x61, 0x01, 0x60, 0xFF, 0x31, 0x30, 0x30,
        ];
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(msg.version(), 1);
        assert_eq!(msg.ty(), Type::Acknowledgement);
        assert_eq!(msg.code(), Code::CONTENT);
        assert_eq!(msg.message_id(), 8);
        assert_eq!(msg.token(), &[0xCA, 0xFE]);
        assert_eq!(msg.observe(), Ok(Some(1)));
        assert_eq!(msg.content_format(), Ok(Some(0)));
        assert_eq!(msg.payload(), b"100");
        assert_eq!(msg.options().count(), 2);
        assert_eq!(msg.header().token_length, 2);
        assert_eq!(msg.as_bytes(), &bytes);
    }

    #[test]
    fn repeated_non_repeatable_option_is_an_error() {
        // Two Content-Format options.
        let bytes = [0x40, 0x02, 0x00, 0x01, 0xC1, 0x28, 0x01, 0x2A];
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(
            msg.content_format(),
            Err(OptionError::Repeated {
                number: 12,
                offset: 7
            })
        );
        assert_eq!(msg.option(12), Some(&[0x28][..]));
        assert_eq!(msg.options_of(12).count(), 2);
    }

    #[test]
    fn uint_options_longer_than_their_range_are_errors() {
        // Content-Format of 3 bytes.
        let bytes = [0x40, 0x02, 0x00, 0x01, 0xC3, 0x00, 0x00, 0x28];
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(
            msg.content_format(),
            Err(OptionError::BadLength {
                number: 12,
                offset: 5,
                length: 3,
                min: 0,
                max: 2
            })
        );
        assert_eq!(msg.uint_option(12), Ok(Some(40)));
    }

    #[test]
    fn block_with_reserved_szx_is_an_error() {
        // Block2 (23) value 0x0F: SZX 7.
        let bytes = [0x40, 0x01, 0x00, 0x01, 0xD1, 0x0A, 0x0F];
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(
            msg.block2(),
            Err(OptionError::Block {
                number: 23,
                offset: 6,
                error: BlockError::ReservedSzx
            })
        );
        assert_eq!(msg.block1(), Ok(None));
    }

    #[test]
    fn invalid_utf8_path_is_reported_with_offset() {
        let bytes = [0x40, 0x01, 0x00, 0x01, 0xB1, b'3', 0x02, b'a', 0xFF];
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(
            msg.uri_path().err(),
            Some(OptionError::NotUtf8 {
                number: 11,
                offset: 7,
                valid_up_to: 1
            })
        );
    }

    #[test]
    fn helpers_on_a_message_without_options() {
        let bytes = [0x60, 0x00, 0x00, 0x09];
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(msg.uri_path().unwrap().count(), 0);
        assert_eq!(msg.content_format(), Ok(None));
        assert_eq!(msg.block1(), Ok(None));
        assert_eq!(msg.first_unknown_critical(|_| false), None);
        assert!(msg.token().is_empty() && msg.payload().is_empty());
    }

    #[test]
    fn to_builder_round_trips() {
        let bytes = [
            0x42, 0x45, 0x70, 0x02, 0xCA, 0xFE, 0x63, 0x01, 0x11, 0x70, 0x62, 0x2D, 0x16, 0xFF,
            0xC1, 0x09, 0x57,
        ];
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(msg.to_builder().to_vec().unwrap(), bytes.to_vec());
    }

    #[test]
    fn truncations_are_reported_with_their_offset() {
        let cases: [(&[u8], MessageError); 5] = [
            (
                &[0x42, 0x01, 0x00, 0x01, 0xAA],
                MessageError::TokenTruncated {
                    length: 2,
                    message_length: 5,
                },
            ),
            (
                &[0x40, 0x01, 0x00, 0x01, 0xD0],
                MessageError::OptionHeaderTruncated {
                    offset: 4,
                    needed: 1,
                },
            ),
            (
                &[0x40, 0x01, 0x00, 0x01, 0xB3, b'a'],
                MessageError::OptionValueTruncated {
                    offset: 5,
                    length: 3,
                    available: 1,
                },
            ),
            (
                &[0x40, 0x01, 0x00, 0x01, 0xE0, 0xFE, 0xF2, 0x10],
                MessageError::OptionNumberOverflow {
                    offset: 7,
                    number: 65536,
                },
            ),
            (
                &[0x40, 0x01, 0x00, 0x01, 0xB1, b'a', 0xFF],
                MessageError::EmptyPayload { offset: 6 },
            ),
        ];
        for (bytes, err) in cases {
            assert_eq!(Message::parse(bytes), Err(err), "{bytes:02X?}");
        }
    }

    #[test]
    fn debug_shows_decoded_fields() {
        let bytes = [0x41, 0x01, 0x00, 0x02, 0x0B, 0xB1, 0x33];
        let text = alloc::format!("{:?}", Message::parse(&bytes).unwrap());
        assert!(text.contains("Confirmable") && text.contains("0.01 GET"));
        assert!(text.contains("number: 11"));
        let collected: Vec<_> = Message::parse(&bytes).unwrap().options().collect();
        assert_eq!(collected.len(), 1);
    }
}
