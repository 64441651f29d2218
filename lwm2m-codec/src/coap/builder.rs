//! [`MessageBuilder`]: assembles a CoAP message and writes it into any [`bytes::BufMut`].
//!
//! Options may be added in any order; they are kept sorted by number as they arrive (an insertion
//! after every option with the same or a lower number), so repeatable options keep the order they
//! were added in and the encoder writes them in one pass. The builder borrows option values and the
//! payload instead of copying them, and keeps up to 16 options in an inline array: building a
//! message allocates nothing beyond the output buffer unless it carries more than 16 options, in
//! which case the list moves to the heap once.

use alloc::vec::Vec;

use bytes::{BufMut, Bytes};

use super::block::Block;
use super::error::BuildError;
use super::header::{Code, Type};
use super::message::Message;
use super::option;
use super::option_list::{Entry, OptionList, Value, MAX_OPTION_LEN};
use super::options::CoapOption;
use super::token::Token;

/// Builds a CoAP message.
///
/// ```
/// use lwm2m_codec::coap::{Code, Message, MessageBuilder, Token, Type};
/// let mut builder = MessageBuilder::new(Type::Confirmable, Code::GET, 0x0002);
/// builder.token(Token::new(&[0x0B])?).uri_path("/3/0/0");
/// let bytes = builder.to_vec()?;
/// assert_eq!(bytes, [0x41, 0x01, 0x00, 0x02, 0x0B, 0xB1, 0x33, 0x01, 0x30, 0x01, 0x30]);
/// assert!(Message::parse(&bytes)?.uri_path()?.eq(["3", "0", "0"]));
///
/// // Any `BufMut` works, including a fixed slice on a device without a heap.
/// let mut buf = [0u8; 64];
/// let mut out = &mut buf[..];
/// let written = builder.write_to(&mut out)?;
/// assert_eq!(&buf[..written], &bytes[..]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Setters for non-repeatable options (`content_format`, `accept`, `observe`, `block1`, `block2`,
/// `size1`, `size2`, `max_age`) replace an earlier value; the others add one more option.
#[derive(Debug, Clone)]
pub struct MessageBuilder<'v> {
    ty: Type,
    code: Code,
    message_id: u16,
    token: Token,
    options: OptionList<'v>,
    payload: &'v [u8],
}

impl<'v> MessageBuilder<'v> {
    /// A message with this type, code and message id, and no token, options or payload.
    pub const fn new(ty: Type, code: Code, message_id: u16) -> MessageBuilder<'v> {
        MessageBuilder {
            ty,
            code,
            message_id,
            token: Token::EMPTY,
            options: OptionList::new(),
            payload: &[],
        }
    }

    /// An empty ACK: "request received, a separate response follows" (RFC 7252 §5.2.2).
    pub const fn empty_ack(message_id: u16) -> MessageBuilder<'v> {
        Self::new(Type::Acknowledgement, Code::EMPTY, message_id)
    }

    /// An RST rejecting message `message_id` (also how LwM2M cancels an observation).
    pub const fn reset(message_id: u16) -> MessageBuilder<'v> {
        Self::new(Type::Reset, Code::EMPTY, message_id)
    }

    /// A CoAP ping: an empty Confirmable message, answered with RST.
    pub const fn ping(message_id: u16) -> MessageBuilder<'v> {
        Self::new(Type::Confirmable, Code::EMPTY, message_id)
    }

    /// A piggy-backed response to `request`: ACK with the request's message id and token.
    pub fn piggybacked_response(request: &Message<'_>, code: Code) -> MessageBuilder<'v> {
        let mut builder = Self::new(Type::Acknowledgement, code, request.message_id());
        builder.token = request.owned_token();
        builder
    }

    /// Sets the message type.
    pub fn ty(&mut self, ty: Type) -> &mut Self {
        self.ty = ty;
        self
    }

    /// Sets the code.
    pub fn code(&mut self, code: Code) -> &mut Self {
        self.code = code;
        self
    }

    /// Sets the message id.
    pub fn message_id(&mut self, message_id: u16) -> &mut Self {
        self.message_id = message_id;
        self
    }

    /// Sets the token ([`Token`] holds at most 8 bytes).
    pub fn token(&mut self, token: Token) -> &mut Self {
        self.token = token;
        self
    }

    /// Adds an option with a raw value (after any options with the same number).
    #[inline]
    pub fn option(&mut self, number: u16, value: &'v [u8]) -> &mut Self {
        self.options.insert(Entry {
            number,
            value: Value::Borrowed(value),
        });
        self
    }

    /// Adds a `uint` option, encoded in the fewest bytes (0 is zero-length).
    #[inline]
    pub fn uint_option(&mut self, number: u16, value: u32) -> &mut Self {
        self.options.insert(Entry {
            number,
            value: Value::uint(value),
        });
        self
    }

    /// Replaces every option with this number by one `uint` option.
    #[inline]
    pub fn set_uint_option(&mut self, number: u16, value: u32) -> &mut Self {
        self.options.remove(number);
        self.uint_option(number, value)
    }

    /// Removes every option with this number.
    pub fn remove_option(&mut self, number: u16) -> &mut Self {
        self.options.remove(number);
        self
    }

    /// Adds one Uri-Path option per segment of `path` (`"/3/0/1"` → `3`, `0`, `1`; `"/"` and
    /// `""` → none), following RFC 7252 §6.4.
    pub fn uri_path(&mut self, path: &'v str) -> &mut Self {
        self.split_path(option::URI_PATH, path)
    }

    /// Adds one Uri-Path option holding `segment` as it is (it may contain `/`).
    pub fn uri_path_segment(&mut self, segment: &'v str) -> &mut Self {
        self.option(option::URI_PATH, segment.as_bytes())
    }

    /// Adds one Uri-Query option holding `item` (`"ep=node1"`, or a bare `"pmin"`).
    pub fn uri_query(&mut self, item: &'v str) -> &mut Self {
        self.option(option::URI_QUERY, item.as_bytes())
    }

    /// Adds one Uri-Query option per `&`-separated item of `query` (a leading `?` is skipped;
    /// an empty string adds none).
    pub fn uri_queries(&mut self, query: &'v str) -> &mut Self {
        let query = query.strip_prefix('?').unwrap_or(query);
        if !query.is_empty() {
            self.add_parts(option::URI_QUERY, query, b'&');
        }
        self
    }

    /// Adds one Location-Path option per segment of `path`, split like [`Self::uri_path`].
    pub fn location_path(&mut self, path: &'v str) -> &mut Self {
        self.split_path(option::LOCATION_PATH, path)
    }

    /// Adds one Location-Query option.
    pub fn location_query(&mut self, item: &'v str) -> &mut Self {
        self.option(option::LOCATION_QUERY, item.as_bytes())
    }

    /// Sets Content-Format.
    pub fn content_format(&mut self, format: u16) -> &mut Self {
        self.set_uint_option(option::CONTENT_FORMAT, u32::from(format))
    }

    /// Sets Accept.
    pub fn accept(&mut self, format: u16) -> &mut Self {
        self.set_uint_option(option::ACCEPT, u32::from(format))
    }

    /// Sets Observe; only the low 24 bits are sent, as sequence numbers wrap modulo 2^24
    /// (RFC 7641 §4.4).
    pub fn observe(&mut self, value: u32) -> &mut Self {
        self.set_uint_option(option::OBSERVE, value & 0x00FF_FFFF)
    }

    /// Sets Block1.
    pub fn block1(&mut self, block: Block) -> &mut Self {
        self.set_uint_option(option::BLOCK1, block.value())
    }

    /// Sets Block2.
    pub fn block2(&mut self, block: Block) -> &mut Self {
        self.set_uint_option(option::BLOCK2, block.value())
    }

    /// Sets Size1.
    pub fn size1(&mut self, size: u32) -> &mut Self {
        self.set_uint_option(option::SIZE1, size)
    }

    /// Sets Size2.
    pub fn size2(&mut self, size: u32) -> &mut Self {
        self.set_uint_option(option::SIZE2, size)
    }

    /// Sets Max-Age in seconds.
    pub fn max_age(&mut self, seconds: u32) -> &mut Self {
        self.set_uint_option(option::MAX_AGE, seconds)
    }

    /// Adds an `ETag` option.
    pub fn etag(&mut self, etag: &'v [u8]) -> &mut Self {
        self.option(option::ETAG, etag)
    }

    /// Sets the payload; an empty payload is sent without the 0xFF marker.
    pub fn payload(&mut self, payload: &'v [u8]) -> &mut Self {
        self.payload = payload;
        self
    }

    /// The options as they will be written: sorted by number, repeated ones in insertion order.
    pub fn options(&self) -> impl Iterator<Item = CoapOption<'_>> + '_ {
        self.options.as_slice().iter().map(|e| CoapOption {
            number: e.number,
            value: e.value.as_slice(),
        })
    }

    /// Size of the encoded message in bytes.
    pub fn encoded_len(&self) -> Result<usize, BuildError> {
        let has_content = !self.token.is_empty()
            || !self.options.as_slice().is_empty()
            || !self.payload.is_empty();
        if self.code.is_empty() && has_content {
            return Err(BuildError::EmptyMessageNotEmpty);
        }
        let mut len = 4 + self.token.len();
        let mut previous = 0;
        for entry in self.options.as_slice() {
            let value = entry.value.as_slice();
            if value.len() > MAX_OPTION_LEN {
                return Err(BuildError::OptionTooLong {
                    number: entry.number,
                    length: value.len(),
                });
            }
            let delta = usize::from(entry.number.saturating_sub(previous));
            len = len
                .saturating_add(1 + extended_len(delta) + extended_len(value.len()))
                .saturating_add(value.len());
            previous = entry.number;
        }
        if !self.payload.is_empty() {
            len = len.saturating_add(1).saturating_add(self.payload.len());
        }
        Ok(len)
    }

    /// Writes the message into `buf` and returns the number of bytes written. Nothing is written
    /// when it fails (the room is checked first).
    pub fn write_to<B: BufMut + ?Sized>(&self, buf: &mut B) -> Result<usize, BuildError> {
        let needed = self.encoded_len()?;
        let available = buf.remaining_mut();
        if needed > available {
            return Err(BuildError::BufferTooSmall { needed, available });
        }
        // Header and token in one write: each `put_*` call on a `Vec` re-checks capacity.
        let mut head = [0u8; 12];
        let [first, code, mid_hi, mid_lo, token @ ..] = &mut head;
        *first = 0x40 | (self.ty.bits() << 4) | self.token.len() as u8;
        *code = self.code.to_u8();
        [*mid_hi, *mid_lo] = self.message_id.to_be_bytes();
        *token = *self.token.padded();
        buf.put_slice(head.get(..4 + self.token.len()).unwrap_or(&[]));
        let mut previous = 0;
        for entry in self.options.as_slice() {
            let value = entry.value.as_slice();
            put_option_header(
                buf,
                usize::from(entry.number.saturating_sub(previous)),
                value.len(),
            );
            buf.put_slice(value);
            previous = entry.number;
        }
        if !self.payload.is_empty() {
            buf.put_u8(0xFF);
            buf.put_slice(self.payload);
        }
        Ok(needed)
    }

    /// The encoded message in a new vector of exactly its size.
    pub fn to_vec(&self) -> Result<Vec<u8>, BuildError> {
        let needed = self.encoded_len()?;
        let mut out = Vec::new();
        out.try_reserve_exact(needed)
            .map_err(|_| BuildError::BufferTooSmall {
                needed,
                available: out.capacity(),
            })?;
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// The encoded message as [`Bytes`].
    pub fn to_bytes(&self) -> Result<Bytes, BuildError> {
        self.to_vec().map(Bytes::from)
    }

    fn split_path(&mut self, number: u16, path: &'v str) -> &mut Self {
        let path = path.strip_prefix('/').unwrap_or(path);
        if !path.is_empty() {
            self.add_parts(number, path, b'/');
        }
        self
    }

    /// Adds one option per `separator`-delimited part of `text` (empty parts included).
    ///
    /// A byte loop rather than `str::split`: for the handful of short parts in a CoAP URI the
    /// generic pattern machinery costs more than the search.
    fn add_parts(&mut self, number: u16, text: &'v str, separator: u8) {
        let mut rest = text.as_bytes();
        while let Some(at) = rest.iter().position(|&b| b == separator) {
            let (part, tail) = rest.split_at(at);
            self.option(number, part);
            rest = tail.get(1..).unwrap_or(&[]);
        }
        self.option(number, rest);
    }
}

/// Extra bytes needed to write a delta or length of `n`.
#[inline]
const fn extended_len(n: usize) -> usize {
    if n < 13 {
        0
    } else if n < 269 {
        1
    } else {
        2
    }
}

/// The 4-bit nibble that announces a delta or length of `n`.
#[inline]
const fn nibble(n: usize) -> u8 {
    match extended_len(n) {
        0 => n as u8,
        1 => 13,
        _ => 14,
    }
}

/// Appends the extended bytes of a delta or length of `n` to `out` at `at`; returns the new end.
#[inline]
fn push_extended(out: &mut [u8; 5], at: usize, n: usize) -> usize {
    let bytes = match extended_len(n) {
        0 => return at,
        1 => [(n - 13) as u8, 0],
        _ => ((n - 269) as u16).to_be_bytes(),
    };
    let len = extended_len(n);
    if let (Some(dst), Some(src)) = (out.get_mut(at..at + len), bytes.get(..len)) {
        dst.copy_from_slice(src);
    }
    at + len
}

/// Writes an option header (nibble byte plus extended delta and length) in one `put_slice`.
#[inline]
fn put_option_header<B: BufMut + ?Sized>(buf: &mut B, delta: usize, len: usize) {
    let first = (nibble(delta) << 4) | nibble(len);
    if delta < 13 && len < 13 {
        // The common case; a one-byte `put_u8` beats a `put_slice` (a `memcpy` call on `Vec`).
        buf.put_u8(first);
        return;
    }
    let mut header = [first, 0, 0, 0, 0];
    let end = push_extended(&mut header, 1, delta);
    let end = push_extended(&mut header, end, len);
    buf.put_slice(header.get(..end).unwrap_or(&[]));
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    #[test]
    fn options_are_sorted_stably() {
        let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 1);
        b.uri_query("b")
            .content_format(40)
            .uri_path("/rd")
            .uri_query("a")
            .uri_path_segment("x");
        let got: Vec<(u16, &[u8])> = b.options().map(|o| (o.number, o.value)).collect();
        assert_eq!(
            got,
            vec![
                (11, &b"rd"[..]),
                (11, b"x"),
                (12, &[40][..]),
                (15, b"b"),
                (15, b"a"),
            ]
        );
    }

    #[test]
    fn paths_and_queries_split_like_rfc_7252_section_6_4() {
        let parts = |f: &dyn Fn(&mut MessageBuilder<'static>)| {
            let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, 1);
            f(&mut b);
            b.options().map(|o| o.value.to_vec()).collect::<Vec<_>>()
        };
        let empty: Vec<Vec<u8>> = vec![];
        assert_eq!(
            parts(&|b| {
                b.uri_path("/");
            }),
            empty
        );
        assert_eq!(
            parts(&|b| {
                b.uri_path("");
            }),
            empty
        );
        assert_eq!(
            parts(&|b| {
                b.uri_path("/a//b/");
            }),
            [&b"a"[..], b"", b"b", b""]
        );
        assert_eq!(
            parts(&|b| {
                b.uri_path("3/0");
            }),
            [b"3", b"0"]
        );
        assert_eq!(
            parts(&|b| {
                b.uri_queries("?");
            }),
            empty
        );
        assert_eq!(
            parts(&|b| {
                b.uri_queries("?a=1&&pmin");
            }),
            [&b"a=1"[..], b"", b"pmin"]
        );
    }

    #[test]
    fn non_repeatable_setters_replace() {
        let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, 1);
        b.accept(40)
            .uri_path("/3")
            .accept(11542)
            .observe(0)
            .observe(0x0123_4567);
        let got: Vec<(u16, &[u8])> = b.options().map(|o| (o.number, o.value)).collect();
        assert_eq!(
            got,
            vec![
                (6, &[0x23, 0x45, 0x67][..]),
                (11, b"3"),
                (17, &[0x2D, 0x16][..])
            ]
        );
    }

    #[test]
    fn more_than_sixteen_options_spill_and_stay_sorted() {
        let numbers: Vec<u16> = (0..40u32).map(|i| ((i * 7919) % 101) as u16).collect();
        let mut b = MessageBuilder::new(Type::NonConfirmable, Code::PUT, 9);
        for &n in &numbers {
            b.uint_option(n, u32::from(n));
        }
        let got: Vec<u16> = b.options().map(|o| o.number).collect();
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        assert_eq!(got, sorted);
        let bytes = b.to_vec().unwrap();
        let parsed: Vec<u16> = Message::parse(&bytes)
            .unwrap()
            .options()
            .map(|o| o.number)
            .collect();
        assert_eq!(parsed, sorted);
        b.remove_option(sorted[0]);
        assert_eq!(b.options().count(), 39);
    }

    #[test]
    fn remove_inline() {
        let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, 1);
        b.uri_path("/a/b").content_format(0).uri_query("q");
        b.remove_option(option::URI_PATH);
        let got: Vec<u16> = b.options().map(|o| o.number).collect();
        assert_eq!(got, vec![12, 15]);
        b.remove_option(99);
        assert_eq!(b.options().count(), 2);
    }

    #[test]
    fn extended_deltas_and_lengths() {
        let long = [0x61u8; 300];
        let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, 7);
        b.option(13, &long[..13])
            .option(300, &long[..269])
            .option(65535, &long[..12]);
        let bytes = b.to_vec().unwrap();
        assert_eq!(&bytes[4..6], &[0xDD, 0x00]);
        let msg = Message::parse(&bytes).unwrap();
        let got: Vec<(u16, usize)> = msg.options().map(|o| (o.number, o.value.len())).collect();
        assert_eq!(got, vec![(13, 13), (300, 269), (65535, 12)]);
    }

    #[test]
    fn errors() {
        let mut b = MessageBuilder::reset(1);
        b.payload(b"x");
        assert_eq!(b.to_vec(), Err(BuildError::EmptyMessageNotEmpty));
        let mut b = MessageBuilder::empty_ack(1);
        b.token(Token::from_u64(5));
        assert_eq!(b.encoded_len(), Err(BuildError::EmptyMessageNotEmpty));

        let huge = vec![0u8; MAX_OPTION_LEN + 1];
        let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, 1);
        b.option(1, &huge);
        assert_eq!(
            b.to_vec(),
            Err(BuildError::OptionTooLong {
                number: 1,
                length: MAX_OPTION_LEN + 1
            })
        );

        let mut small = [0u8; 4];
        let mut out = &mut small[..];
        let b = MessageBuilder::new(Type::Confirmable, Code::GET, 1);
        let mut b2 = b.clone();
        b2.payload(b"abc");
        assert_eq!(
            b2.write_to(&mut out),
            Err(BuildError::BufferTooSmall {
                needed: 8,
                available: 4
            })
        );
        assert_eq!(b.write_to(&mut out), Ok(4));
    }

    #[test]
    fn empty_messages_and_piggybacked_response() {
        assert_eq!(
            MessageBuilder::ping(0x42).to_vec().unwrap(),
            [0x40, 0, 0, 0x42]
        );
        assert_eq!(
            MessageBuilder::empty_ack(9).to_vec().unwrap(),
            [0x60, 0, 0, 9]
        );
        assert_eq!(
            MessageBuilder::reset(0x7001).to_vec().unwrap(),
            [0x70, 0, 0x70, 0x01]
        );
        let request = [0x41, 0x01, 0x00, 0x02, 0x0B, 0xB1, 0x33];
        let request = Message::parse(&request).unwrap();
        let response = MessageBuilder::piggybacked_response(&request, Code::NOT_FOUND)
            .to_bytes()
            .unwrap();
        assert_eq!(&response[..], &[0x61, 0x84, 0x00, 0x02, 0x0B]);
    }
}
