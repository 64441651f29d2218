//! The fixed 4-byte CoAP header (RFC 7252 §3): message [`Type`], [`Code`] and the [`Header`] a
//! transport can read even from a message whose body is malformed.

use core::fmt;

use super::error::MessageError;

/// The message type (the 2-bit T field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// Confirmable (0): must be acknowledged with ACK or RST.
    Confirmable,
    /// Non-confirmable (1).
    NonConfirmable,
    /// Acknowledgement (2): echoes the message id of a Confirmable message.
    Acknowledgement,
    /// Reset (3): the receiver could not process a message.
    Reset,
}

impl Type {
    /// Every type, in wire order.
    pub const ALL: [Type; 4] = [
        Type::Confirmable,
        Type::NonConfirmable,
        Type::Acknowledgement,
        Type::Reset,
    ];

    /// The type in the low two bits of `bits` (higher bits are ignored).
    #[inline]
    pub const fn from_bits(bits: u8) -> Type {
        match bits & 0b11 {
            0 => Type::Confirmable,
            1 => Type::NonConfirmable,
            2 => Type::Acknowledgement,
            _ => Type::Reset,
        }
    }

    /// The 2-bit wire value.
    #[inline]
    pub const fn bits(self) -> u8 {
        self as u8
    }

    /// The customary abbreviation: `CON`, `NON`, `ACK` or `RST`.
    pub const fn abbreviation(self) -> &'static str {
        match self {
            Type::Confirmable => "CON",
            Type::NonConfirmable => "NON",
            Type::Acknowledgement => "ACK",
            Type::Reset => "RST",
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abbreviation())
    }
}

/// A CoAP code: a request method or a response code, `class.detail` packed in one byte.
///
/// Every byte is a code, so the type holds any `u8`; the consts name the ones LwM2M uses.
///
/// ```
/// use lwm2m_codec::coap::Code;
/// assert_eq!(Code::CONTENT.class(), 2);
/// assert_eq!(Code::CONTENT.detail(), 5);
/// assert_eq!(Code::new(4, 4), Some(Code::NOT_FOUND));
/// assert_eq!(Code::CONTINUE.to_string(), "2.31 Continue");
/// assert!(Code::GET.is_request());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(u8);

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $value:path;)*) => {
        impl Code {
            $($(#[$doc])* pub const $name: Code = Code($value);)*
        }
    };
}

codes! {
    /// 0.00 Empty: ACK, RST and ping messages.
    EMPTY = coap_numbers::code::EMPTY;
    /// 0.01 GET: Read, Discover, Observe.
    GET = coap_numbers::code::GET;
    /// 0.02 POST: Register, Update, Execute, Create, partial Write.
    POST = coap_numbers::code::POST;
    /// 0.03 PUT: Write (replace), Write-Attributes.
    PUT = coap_numbers::code::PUT;
    /// 0.04 DELETE: De-register, Delete.
    DELETE = coap_numbers::code::DELETE;
    /// 2.01 Created.
    CREATED = coap_numbers::code::CREATED;
    /// 2.02 Deleted.
    DELETED = coap_numbers::code::DELETED;
    /// 2.03 Valid.
    VALID = coap_numbers::code::VALID;
    /// 2.04 Changed.
    CHANGED = coap_numbers::code::CHANGED;
    /// 2.05 Content.
    CONTENT = coap_numbers::code::CONTENT;
    /// 2.31 Continue (RFC 7959): a non-final Block1 block was received.
    CONTINUE = coap_numbers::code::CONTINUE;
    /// 4.00 Bad Request.
    BAD_REQUEST = coap_numbers::code::BAD_REQUEST;
    /// 4.01 Unauthorized.
    UNAUTHORIZED = coap_numbers::code::UNAUTHORIZED;
    /// 4.02 Bad Option: an unrecognised critical option.
    BAD_OPTION = coap_numbers::code::BAD_OPTION;
    /// 4.03 Forbidden.
    FORBIDDEN = coap_numbers::code::FORBIDDEN;
    /// 4.04 Not Found.
    NOT_FOUND = coap_numbers::code::NOT_FOUND;
    /// 4.05 Method Not Allowed.
    METHOD_NOT_ALLOWED = coap_numbers::code::METHOD_NOT_ALLOWED;
    /// 4.06 Not Acceptable.
    NOT_ACCEPTABLE = coap_numbers::code::NOT_ACCEPTABLE;
    /// 4.08 Request Entity Incomplete (RFC 7959): a Block1 block is missing.
    REQUEST_ENTITY_INCOMPLETE = coap_numbers::code::REQUEST_ENTITY_INCOMPLETE;
    /// 4.09 Conflict.
    CONFLICT = coap_numbers::code::CONFLICT;
    /// 4.12 Precondition Failed.
    PRECONDITION_FAILED = coap_numbers::code::PRECONDITION_FAILED;
    /// 4.13 Request Entity Too Large.
    REQUEST_ENTITY_TOO_LARGE = coap_numbers::code::REQUEST_ENTITY_TOO_LARGE;
    /// 4.15 Unsupported Content-Format.
    UNSUPPORTED_CONTENT_FORMAT = coap_numbers::code::UNSUPPORTED_CONTENT_FORMAT;
    /// 5.00 Internal Server Error.
    INTERNAL_SERVER_ERROR = coap_numbers::code::INTERNAL_SERVER_ERROR;
    /// 5.01 Not Implemented.
    NOT_IMPLEMENTED = coap_numbers::code::NOT_IMPLEMENTED;
    /// 5.02 Bad Gateway.
    BAD_GATEWAY = coap_numbers::code::BAD_GATEWAY;
    /// 5.03 Service Unavailable.
    SERVICE_UNAVAILABLE = coap_numbers::code::SERVICE_UNAVAILABLE;
    /// 5.04 Gateway Timeout.
    GATEWAY_TIMEOUT = coap_numbers::code::GATEWAY_TIMEOUT;
    /// 5.05 Proxying Not Supported.
    PROXYING_NOT_SUPPORTED = coap_numbers::code::PROXYING_NOT_SUPPORTED;
}

impl Code {
    /// The code `class.detail`, or `None` when class exceeds 7 or detail exceeds 31.
    pub const fn new(class: u8, detail: u8) -> Option<Code> {
        if class > 7 || detail > 31 {
            None
        } else {
            Some(Code((class << 5) | detail))
        }
    }

    /// The code with this wire byte.
    #[inline]
    pub const fn from_u8(byte: u8) -> Code {
        Code(byte)
    }

    /// The wire byte.
    #[inline]
    pub const fn to_u8(self) -> u8 {
        self.0
    }

    /// The class (the `c` of `c.dd`), 0-7.
    #[inline]
    pub const fn class(self) -> u8 {
        self.0 >> 5
    }

    /// The detail (the `dd` of `c.dd`), 0-31.
    #[inline]
    pub const fn detail(self) -> u8 {
        self.0 & 0x1F
    }

    /// 0.00, the code of ACK-only, RST and ping messages.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// A request method (0.01-0.31).
    #[inline]
    pub const fn is_request(self) -> bool {
        self.class() == 0 && self.0 != 0
    }

    /// A response (class 2, 4 or 5).
    #[inline]
    pub const fn is_response(self) -> bool {
        matches!(self.class(), 2 | 4 | 5)
    }

    /// A success response (class 2).
    #[inline]
    pub const fn is_success(self) -> bool {
        self.class() == 2
    }

    /// A client error response (class 4).
    #[inline]
    pub const fn is_client_error(self) -> bool {
        self.class() == 4
    }

    /// A server error response (class 5).
    #[inline]
    pub const fn is_server_error(self) -> bool {
        self.class() == 5
    }

    /// Class 1, 6 or 7: reserved in CoAP over UDP. A Confirmable message with such a code is
    /// answered with RST.
    #[inline]
    pub const fn is_reserved(self) -> bool {
        matches!(self.class(), 1 | 6 | 7)
    }

    /// The registered name (`"Content"`, `"GET"`, ...), if the code is registered.
    pub fn name(self) -> Option<&'static str> {
        coap_numbers::code::to_name(self.0)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.class(), self.detail())?;
        if let Some(name) = self.name() {
            write!(f, " {name}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({self})")
    }
}

impl From<u8> for Code {
    #[inline]
    fn from(byte: u8) -> Code {
        Code(byte)
    }
}

impl From<Code> for u8 {
    #[inline]
    fn from(code: Code) -> u8 {
        code.0
    }
}

/// The fixed header of a version-1 datagram, readable even when the rest is malformed.
///
/// A transport uses it to answer a malformed Confirmable message with RST (RFC 7252 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Message type.
    pub ty: Type,
    /// The raw 4-bit TKL field (0-15; 9-15 make the message malformed).
    pub token_length: u8,
    /// Request method or response code.
    pub code: Code,
    /// Message id.
    pub message_id: u16,
}

impl Header {
    /// Reads the four header bytes. Fails only when there are fewer than four bytes or the
    /// version is not 1 (RFC 7252 §3: such a message is silently ignored).
    #[inline]
    pub fn peek(datagram: &[u8]) -> Result<Header, MessageError> {
        let [b0, code, mid_hi, mid_lo, ..] = *datagram else {
            return Err(MessageError::TooShort {
                length: datagram.len(),
            });
        };
        let version = b0 >> 6;
        if version != 1 {
            return Err(MessageError::UnsupportedVersion { version });
        }
        Ok(Header {
            ty: Type::from_bits(b0 >> 4),
            token_length: b0 & 0x0F,
            code: Code(code),
            message_id: u16::from_be_bytes([mid_hi, mid_lo]),
        })
    }
}

/// What a receiver does with a datagram that failed to parse (RFC 7252 §4.2, §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// Answer with an RST echoing this message id (the datagram was Confirmable).
    Reset {
        /// Message id of the rejected message.
        message_id: u16,
    },
    /// Drop silently (not Confirmable, wrong version, or too short to read).
    Ignore,
}

impl Rejection {
    /// The reaction to a malformed datagram: RST for a readable Confirmable header, silence for
    /// anything else.
    ///
    /// ```
    /// use lwm2m_codec::coap::{Message, Rejection};
    /// let con_with_tkl_9 = [0x49, 0x01, 0x00, 0x01];
    /// assert!(Message::parse(&con_with_tkl_9).is_err());
    /// assert_eq!(Rejection::for_malformed(&con_with_tkl_9), Rejection::Reset { message_id: 1 });
    /// assert_eq!(Rejection::for_malformed(&[0x80, 0x01, 0x00, 0x01]), Rejection::Ignore);
    /// ```
    pub fn for_malformed(datagram: &[u8]) -> Rejection {
        match Header::peek(datagram) {
            Ok(Header {
                ty: Type::Confirmable,
                message_id,
                ..
            }) => Rejection::Reset { message_id },
            _ => Rejection::Ignore,
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    #[test]
    fn code_bytes_match_rfc_7252_and_7959() {
        let table = [
            (Code::EMPTY, 0x00),
            (Code::GET, 0x01),
            (Code::POST, 0x02),
            (Code::PUT, 0x03),
            (Code::DELETE, 0x04),
            (Code::CREATED, 0x41),
            (Code::DELETED, 0x42),
            (Code::VALID, 0x43),
            (Code::CHANGED, 0x44),
            (Code::CONTENT, 0x45),
            (Code::CONTINUE, 0x5F),
            (Code::BAD_REQUEST, 0x80),
            (Code::UNAUTHORIZED, 0x81),
            (Code::BAD_OPTION, 0x82),
            (Code::FORBIDDEN, 0x83),
            (Code::NOT_FOUND, 0x84),
            (Code::METHOD_NOT_ALLOWED, 0x85),
            (Code::NOT_ACCEPTABLE, 0x86),
            (Code::REQUEST_ENTITY_INCOMPLETE, 0x88),
            (Code::CONFLICT, 0x89),
            (Code::PRECONDITION_FAILED, 0x8C),
            (Code::REQUEST_ENTITY_TOO_LARGE, 0x8D),
            (Code::UNSUPPORTED_CONTENT_FORMAT, 0x8F),
            (Code::INTERNAL_SERVER_ERROR, 0xA0),
            (Code::NOT_IMPLEMENTED, 0xA1),
            (Code::BAD_GATEWAY, 0xA2),
            (Code::SERVICE_UNAVAILABLE, 0xA3),
            (Code::GATEWAY_TIMEOUT, 0xA4),
            (Code::PROXYING_NOT_SUPPORTED, 0xA5),
        ];
        for (code, byte) in table {
            assert_eq!(code.to_u8(), byte, "{code}");
            assert_eq!(Code::new(code.class(), code.detail()), Some(code));
            assert!(code.name().is_some());
        }
    }

    #[test]
    fn code_classification() {
        assert!(Code::EMPTY.is_empty() && !Code::EMPTY.is_request());
        assert!(Code::DELETE.is_request() && !Code::DELETE.is_response());
        assert!(Code::CONTINUE.is_success() && Code::CONTINUE.is_response());
        assert!(Code::REQUEST_ENTITY_TOO_LARGE.is_client_error());
        assert!(Code::GATEWAY_TIMEOUT.is_server_error());
        for class in [1, 6, 7] {
            assert!(Code::new(class, 3).is_some_and(Code::is_reserved));
        }
        assert_eq!(Code::new(8, 0), None);
        assert_eq!(Code::new(2, 32), None);
        assert_eq!(Code::from_u8(0x3F).to_string(), "1.31");
        assert_eq!(
            Code::METHOD_NOT_ALLOWED.to_string(),
            "4.05 Method Not Allowed"
        );
    }

    #[test]
    fn type_round_trips_its_bits() {
        for ty in Type::ALL {
            assert_eq!(Type::from_bits(ty.bits()), ty);
        }
        assert_eq!(Type::Reset.to_string(), "RST");
    }

    #[test]
    fn peek_reads_header_of_version_1_only() {
        assert_eq!(
            Header::peek(&[0x44, 0x02, 0x12, 0x34]),
            Ok(Header {
                ty: Type::Confirmable,
                token_length: 4,
                code: Code::POST,
                message_id: 0x1234
            })
        );
        assert_eq!(
            Header::peek(&[0x80, 0x01, 0x00, 0x01]),
            Err(MessageError::UnsupportedVersion { version: 2 })
        );
        assert_eq!(
            Header::peek(&[0x40, 0x01, 0x00]),
            Err(MessageError::TooShort { length: 3 })
        );
    }

    #[test]
    fn rejection_resets_only_confirmable() {
        assert_eq!(
            Rejection::for_malformed(&[0x40, 0x01, 0x00, 0x01, 0xFF]),
            Rejection::Reset { message_id: 1 }
        );
        assert_eq!(
            Rejection::for_malformed(&[0x60, 0x00, 0x00, 0x01, 0x00]),
            Rejection::Ignore
        );
        assert_eq!(Rejection::for_malformed(&[0x40]), Rejection::Ignore);
    }
}
