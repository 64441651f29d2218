//! The messages the application exchanges with the endpoint: [`Request`] and [`Response`] going
//! out, [`IncomingRequest`] and [`IncomingResponse`] coming in.
//!
//! An outgoing message is kept pre-encoded (header without token, then the options) next to its
//! payload, so the endpoint stamps type, message id and token onto it with one copy, and re-encodes
//! it through [`MessageBuilder`] only when it adds options of its own (Block1/Block2, Size1/Size2,
//! Observe, `ETag`). Block options and Size1 in an outgoing message are managed by the endpoint and
//! removed from what the application supplies.

use bytes::{BufMut, Bytes};
use lwm2m_codec::coap::{
    option, Block, BuildError, Code, Message, MessageBuilder, MessageError, Token, Type,
};

/// Options the endpoint manages itself; any the application sets are dropped.
const MANAGED: [u16; 3] = [option::BLOCK1, option::BLOCK2, option::SIZE1];

/// A message without type, id and token: the 4-byte header `40 <code> 00 00`, the encoded options,
/// and the payload kept apart.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) head: Bytes,
    pub(crate) payload: Bytes,
}

impl Template {
    fn new(code: Code) -> Template {
        Template {
            head: Bytes::copy_from_slice(&[0x40, code.to_u8(), 0, 0]),
            payload: Bytes::new(),
        }
    }

    /// Encodes `builder` (minus the managed options) and splits it; also returns its type.
    fn from_builder(builder: &MessageBuilder<'_>) -> Result<(Template, Type), BuildError> {
        let mut builder = builder.clone();
        for number in MANAGED {
            builder.remove_option(number);
        }
        builder.token(Token::EMPTY).message_id(0);
        let bytes = builder.to_vec()?;
        let Ok(msg) = Message::parse(&bytes) else {
            // The builder only writes well-formed messages; an Empty code with content is the
            // one thing it refuses, and `to_vec` reported that already.
            return Ok((Template::new(builder_code(&bytes)), Type::Confirmable));
        };
        let ty = msg.ty();
        let payload = Bytes::copy_from_slice(msg.payload());
        let head_len = head_len(&msg);
        let mut head = bytes;
        head.truncate(head_len);
        if let Some(first) = head.first_mut() {
            *first = 0x40;
        }
        Ok((
            Template {
                head: Bytes::from(head),
                payload,
            },
            ty,
        ))
    }

    pub(crate) fn code(&self) -> Code {
        Code::from_u8(self.head.get(1).copied().unwrap_or(0))
    }

    pub(crate) fn message(&self) -> Result<Message<'_>, MessageError> {
        Message::parse(&self.head)
    }
}

impl core::fmt::Debug for Template {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.message() {
            Ok(msg) => f
                .debug_struct("Template")
                .field("code", &msg.code())
                .field("options", &msg.options().collect::<Vec<_>>())
                .field("payload_len", &self.payload.len())
                .finish_non_exhaustive(),
            Err(e) => write!(f, "Template({e})"),
        }
    }
}

fn builder_code(bytes: &[u8]) -> Code {
    Code::from_u8(bytes.get(1).copied().unwrap_or(0))
}

/// Length of header, token and options: everything before the payload marker.
pub(crate) fn head_len(msg: &Message<'_>) -> usize {
    let payload = msg.payload().len();
    msg.len() - payload - usize::from(payload > 0)
}

/// A request the application sends with [`Endpoint::start_request`](crate::Endpoint::start_request).
///
/// The endpoint chooses message id and token, and splits a payload larger than the configured
/// block size into Block1 blocks.
///
/// ```
/// use lwm2m_codec::coap::{option, Code};
/// use lwm2m_transport::Request;
/// let read = Request::build(Code::GET, |b| {
///     b.uri_path("/3/0/9").accept(11542);
/// })?;
/// assert!(read.message()?.uri_path()?.eq(["3", "0", "9"]));
/// let write = Request::build(Code::PUT, |b| {
///     b.uri_path("/1/0/1").content_format(0);
/// })?
/// .with_payload(&b"3600"[..]);
/// assert_eq!(write.payload().as_ref(), b"3600");
/// assert!(write.is_confirmable());
/// let observe = Request::build(Code::GET, |b| {
///     b.uri_path("/3/0/9").observe(0);
/// })?;
/// assert_eq!(observe.observe(), Some(0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub(crate) template: Template,
    pub(crate) confirmable: bool,
    /// Asks for this one Block2 block: the response is delivered as it comes, not fetched whole.
    pub(crate) block2: Option<Block>,
}

impl Request {
    /// A Confirmable request with this method and no options or payload.
    pub fn new(code: Code) -> Request {
        Request {
            template: Template::new(code),
            confirmable: true,
            block2: None,
        }
    }

    /// A Confirmable request with this method, whose options (and payload) `build` sets.
    pub fn build<'a>(
        code: Code,
        build: impl FnOnce(&mut MessageBuilder<'a>),
    ) -> Result<Request, BuildError> {
        let mut builder = MessageBuilder::new(Type::Confirmable, code, 0);
        build(&mut builder);
        Request::from_builder(&builder)
    }

    /// A request with the code, options and payload of `builder`; it is Non-confirmable if the
    /// builder's type is NON. Message id and token are ignored.
    pub fn from_builder(builder: &MessageBuilder<'_>) -> Result<Request, BuildError> {
        let (template, ty) = Template::from_builder(builder)?;
        Ok(Request {
            template,
            confirmable: ty != Type::NonConfirmable,
            block2: None,
        })
    }

    /// Replaces the payload (without copying it when it already is [`Bytes`]).
    #[must_use]
    pub fn with_payload(mut self, payload: impl Into<Bytes>) -> Request {
        self.template.payload = payload.into();
        self
    }

    /// Sends it Confirmable (`true`, the default; LwM2M requires it) or Non-confirmable.
    #[must_use]
    pub fn with_confirmable(mut self, confirmable: bool) -> Request {
        self.confirmable = confirmable;
        self
    }

    /// Asks for exactly this Block2 block (RFC 7959 §2.4) and delivers the response as it comes,
    /// with its Block2 option, instead of fetching the rest of the body: a downloader that
    /// streams a large resource asks for one block after the other and never holds the whole
    /// body.
    ///
    /// ```
    /// use lwm2m_codec::coap::{Block, Code};
    /// use lwm2m_transport::Request;
    /// let get = Request::build(Code::GET, |b| { b.uri_path("/fw.bin"); })?
    ///     .with_block2(Block::new(3, false, 6)?);
    /// assert_eq!(get.block2(), Some(Block::new(3, false, 6)?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_block2(mut self, block: Block) -> Request {
        self.block2 = Some(block);
        self
    }

    /// The Block2 block asked for with [`with_block2`](Self::with_block2).
    pub fn block2(&self) -> Option<Block> {
        self.block2
    }

    /// The method.
    pub fn code(&self) -> Code {
        self.template.code()
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.template.payload
    }

    /// Whether it is sent Confirmable.
    pub fn is_confirmable(&self) -> bool {
        self.confirmable
    }

    /// A view of the code and options (its payload is empty; see [`Request::payload`]). It
    /// always parses: the endpoint encoded it.
    pub fn message(&self) -> Result<Message<'_>, MessageError> {
        self.template.message()
    }

    /// The Observe option (0 registers an observation, 1 cancels one).
    pub fn observe(&self) -> Option<u32> {
        self.message().ok()?.observe().ok().flatten()
    }
}

impl core::fmt::Debug for Request {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Request")
            .field("template", &self.template)
            .field("confirmable", &self.confirmable)
            .field("block2", &self.block2)
            .finish()
    }
}

/// A response (or notification) the application gives the endpoint: with
/// [`respond`](crate::Endpoint::respond), [`accept_observation`](crate::Endpoint::accept_observation)
/// or [`notify`](crate::Endpoint::notify).
///
/// The endpoint adds token, Observe and the Block1/Block2 options; a body larger than the block
/// size is served in Block2 blocks.
///
/// ```
/// use lwm2m_codec::coap::Code;
/// use lwm2m_transport::Response;
/// let content = Response::build(Code::CONTENT, |b| {
///     b.content_format(0);
/// })?
/// .with_payload(&b"100"[..]);
/// assert_eq!(content.code(), Code::CONTENT);
/// assert_eq!(content.message()?.content_format()?, Some(0));
/// assert_eq!(Response::new(Code::NOT_FOUND).payload().len(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub(crate) template: Template,
    pub(crate) confirmable: Option<bool>,
}

impl Response {
    /// A response with this code and no options or payload.
    pub fn new(code: Code) -> Response {
        Response {
            template: Template::new(code),
            confirmable: None,
        }
    }

    /// A response with this code, whose options (and payload) `build` sets.
    pub fn build<'a>(
        code: Code,
        build: impl FnOnce(&mut MessageBuilder<'a>),
    ) -> Result<Response, BuildError> {
        let mut builder = MessageBuilder::new(Type::Acknowledgement, code, 0);
        build(&mut builder);
        Response::from_builder(&builder)
    }

    /// A response with the code, options and payload of `builder`. A builder of type CON or NON
    /// sets [`Response::with_confirmable`]; ACK and RST leave the endpoint's default.
    pub fn from_builder(builder: &MessageBuilder<'_>) -> Result<Response, BuildError> {
        let (template, ty) = Template::from_builder(builder)?;
        let confirmable = match ty {
            Type::Confirmable => Some(true),
            Type::NonConfirmable => Some(false),
            _ => None,
        };
        Ok(Response {
            template,
            confirmable,
        })
    }

    /// Replaces the payload (without copying it when it already is [`Bytes`]).
    #[must_use]
    pub fn with_payload(mut self, payload: impl Into<Bytes>) -> Response {
        self.template.payload = payload.into();
        self
    }

    /// For a notification or a separate response: send it Confirmable (`true`) or
    /// Non-confirmable, instead of the default (notifications: `confirmable_notifications`;
    /// separate responses: Confirmable). A piggy-backed response is always an ACK.
    #[must_use]
    pub fn with_confirmable(mut self, confirmable: bool) -> Response {
        self.confirmable = Some(confirmable);
        self
    }

    /// The response code.
    pub fn code(&self) -> Code {
        self.template.code()
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.template.payload
    }

    /// A view of the code and options (its payload is empty; see [`Response::payload`]).
    pub fn message(&self) -> Result<Message<'_>, MessageError> {
        self.template.message()
    }
}

impl core::fmt::Debug for Response {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Response")
            .field("template", &self.template)
            .field("confirmable", &self.confirmable)
            .finish()
    }
}

/// Splits a received, parsed datagram into its head (header, token, options) and payload, with
/// one copy.
pub(crate) fn split_received(msg: &Message<'_>) -> (Bytes, Bytes) {
    let all = Bytes::copy_from_slice(msg.as_bytes());
    let head = all.slice(..head_len(msg).min(all.len()));
    let body = all.slice(all.len() - msg.payload().len()..);
    (head, body)
}

macro_rules! incoming_accessors {
    () => {
        /// The header, token and options as a parsed view. Its payload is empty: the body is
        /// [`Self::body`]. It always parses (the endpoint validated it).
        pub fn message(&self) -> Result<Message<'_>, MessageError> {
            Message::parse(&self.head)
        }

        /// The code.
        pub fn code(&self) -> Code {
            Code::from_u8(self.head.get(1).copied().unwrap_or(0))
        }

        /// The token.
        pub fn token(&self) -> Token {
            self.message().map_or(Token::EMPTY, |m| m.owned_token())
        }

        /// The Observe option, if present and well-formed.
        pub fn observe(&self) -> Option<u32> {
            self.message().ok()?.observe().ok().flatten()
        }

        /// The Content-Format option, if present and well-formed.
        pub fn content_format(&self) -> Option<u16> {
            self.message().ok()?.content_format().ok().flatten()
        }

        /// The whole body (reassembled when it came in blocks).
        pub fn body(&self) -> &Bytes {
            &self.body
        }

        /// Takes the body.
        pub fn into_body(self) -> Bytes {
            self.body
        }
    };
}

/// A request from a peer, as [`Event::Request`](crate::Event::Request) delivers it.
///
/// For a Block1 upload, the options are those of the last block and the body is the whole
/// reassembled body.
#[derive(Clone, PartialEq, Eq)]
pub struct IncomingRequest {
    pub(crate) head: Bytes,
    pub(crate) body: Bytes,
    pub(crate) confirmable: bool,
}

impl IncomingRequest {
    incoming_accessors!();

    /// Whether it came Confirmable.
    pub fn is_confirmable(&self) -> bool {
        self.confirmable
    }

    /// Whether it asks to register an observation (GET with Observe = 0): answer it with
    /// [`accept_observation`](crate::Endpoint::accept_observation) to create a relation, or with
    /// [`respond`](crate::Endpoint::respond) to refuse.
    pub fn is_observe_registration(&self) -> bool {
        self.code() == Code::GET && self.observe() == Some(0)
    }
}

impl core::fmt::Debug for IncomingRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IncomingRequest")
            .field("message", &self.message())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// A response or notification from a peer, as [`Event::Response`](crate::Event::Response) and
/// [`Event::Notification`](crate::Event::Notification) deliver it.
///
/// For a Block2 download, the options are those of the first block and the body is the whole
/// reassembled body.
#[derive(Clone, PartialEq, Eq)]
pub struct IncomingResponse {
    pub(crate) head: Bytes,
    pub(crate) body: Bytes,
}

impl IncomingResponse {
    incoming_accessors!();
}

impl core::fmt::Debug for IncomingResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IncomingResponse")
            .field("message", &self.message())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Options the endpoint adds to (or strips from) a template when it encodes a message.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extras<'a> {
    pub(crate) observe: Option<u32>,
    pub(crate) block1: Option<Block>,
    pub(crate) block2: Option<Block>,
    pub(crate) size1: Option<u32>,
    pub(crate) size2: Option<u32>,
    pub(crate) etag: Option<&'a [u8]>,
    /// Drop the template's Observe option.
    pub(crate) strip_observe: bool,
}

impl Extras<'_> {
    fn is_empty(&self) -> bool {
        self.observe.is_none()
            && self.block1.is_none()
            && self.block2.is_none()
            && self.size1.is_none()
            && self.size2.is_none()
            && self.etag.is_none()
            && !self.strip_observe
    }
}

/// Encodes `head` (a template head or a received head whose header and token are replaced) as a
/// message of type `ty` with this id, token, extra options and payload.
pub(crate) fn encode(
    head: &[u8],
    ty: Type,
    message_id: u16,
    token: Token,
    extras: &Extras<'_>,
    payload: &[u8],
) -> Result<Bytes, BuildError> {
    if extras.is_empty() {
        // Fast path: the template's options are already encoded; copy them behind a new header.
        let options = head.get(4..).unwrap_or(&[]);
        let marker = usize::from(!payload.is_empty());
        let mut out = Vec::with_capacity(4 + token.len() + options.len() + marker + payload.len());
        out.put_u8(0x40 | (ty.bits() << 4) | token.len() as u8);
        out.put_u8(head.get(1).copied().unwrap_or(0));
        out.put_u16(message_id);
        out.put_slice(token.as_slice());
        out.put_slice(options);
        if !payload.is_empty() {
            out.put_u8(0xFF);
            out.put_slice(payload);
        }
        return Ok(Bytes::from(out));
    }
    let code = Code::from_u8(head.get(1).copied().unwrap_or(0));
    let mut builder = match Message::parse(head) {
        Ok(msg) => msg.to_builder(),
        Err(_) => MessageBuilder::new(ty, code, message_id),
    };
    builder.ty(ty).message_id(message_id).token(token);
    if extras.strip_observe {
        builder.remove_option(option::OBSERVE);
    }
    if let Some(v) = extras.observe {
        builder.observe(v);
    }
    if let Some(b) = extras.block1 {
        builder.block1(b);
    }
    if let Some(b) = extras.block2 {
        builder.block2(b);
    }
    if let Some(v) = extras.size1 {
        builder.size1(v);
    }
    if let Some(v) = extras.size2 {
        builder.size2(v);
    }
    if let Some(etag) = extras.etag {
        builder.remove_option(option::ETAG);
        builder.etag(etag);
    }
    builder.payload(payload);
    builder.to_bytes()
}

/// An Empty message (ACK or RST) for this id.
pub(crate) fn empty(ty: Type, message_id: u16) -> Bytes {
    let [hi, lo] = message_id.to_be_bytes();
    Bytes::copy_from_slice(&[0x40 | (ty.bits() << 4), 0, hi, lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_drop_managed_options_token_and_id() {
        let mut b = MessageBuilder::new(Type::NonConfirmable, Code::PUT, 0x1234);
        b.token(Token::from_u64(0xCAFE))
            .uri_path("/5/0/0")
            .content_format(42)
            .block1(Block::new(3, true, 2).unwrap())
            .size1(99)
            .payload(b"abc");
        let req = Request::from_builder(&b).unwrap();
        assert!(!req.is_confirmable());
        assert_eq!(req.code(), Code::PUT);
        assert_eq!(req.payload().as_ref(), b"abc");
        let msg = req.message().unwrap();
        assert_eq!((msg.message_id(), msg.token().len()), (0, 0));
        assert_eq!(msg.block1(), Ok(None));
        assert_eq!(msg.size1(), Ok(None));
        assert_eq!(msg.content_format(), Ok(Some(42)));
    }

    #[test]
    fn fast_and_slow_encodings_agree_with_the_builder() {
        let req = Request::build(Code::GET, |b| {
            b.uri_path("/3/0/0");
        })
        .unwrap();
        let token = Token::new(&[0x0B]).unwrap();
        let fast = encode(
            &req.template.head,
            Type::Confirmable,
            2,
            token,
            &Extras::default(),
            &[],
        )
        .unwrap();
        // The test vector "Read: CON GET /3/0/0, MID 0x0002, token 0B".
        assert_eq!(
            fast.as_ref(),
            [0x41, 0x01, 0x00, 0x02, 0x0B, 0xB1, 0x33, 0x01, 0x30, 0x01, 0x30]
        );
        let extras = Extras {
            block2: Some(Block::new(1, false, 6).unwrap()),
            ..Extras::default()
        };
        let slow = encode(
            &req.template.head,
            Type::Confirmable,
            2,
            token,
            &extras,
            b"x",
        )
        .unwrap();
        let msg = Message::parse(&slow).unwrap();
        assert_eq!(msg.block2(), Ok(Some(Block::new(1, false, 6).unwrap())));
        assert_eq!(msg.payload(), b"x");
        assert_eq!(msg.token(), &[0x0B]);
    }

    #[test]
    fn split_received_separates_head_and_body() {
        let bytes = [0x61, 0x45, 0x00, 0x02, 0x0B, 0xC0, 0xFF, b'h', b'i'];
        let msg = Message::parse(&bytes).unwrap();
        let (head, body) = split_received(&msg);
        assert_eq!(head.as_ref(), &bytes[..6]);
        assert_eq!(body.as_ref(), b"hi");
        let resp = IncomingResponse { head, body };
        assert_eq!(resp.code(), Code::CONTENT);
        assert_eq!(resp.content_format(), Some(0));
        assert_eq!(resp.token(), Token::new(&[0x0B]).unwrap());
    }

    #[test]
    fn empty_messages_match_the_vectors() {
        assert_eq!(empty(Type::Acknowledgement, 9).as_ref(), [0x60, 0, 0, 9]);
        assert_eq!(empty(Type::Reset, 0x7001).as_ref(), [0x70, 0, 0x70, 0x01]);
    }
}
