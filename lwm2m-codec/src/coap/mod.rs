//! CoAP message wire format (RFC 7252 §3) with the options LwM2M uses: Observe (RFC 7641),
//! Block1/Block2 and Size1/Size2 (RFC 7959).
//!
//! - [`Message`] is a borrowed view of a datagram: [`Message::parse`] validates it once, then every
//!   accessor (type, code, token, the lazy [`Options`] iterator, payload, typed option helpers)
//!   reads the slice without allocating.
//! - [`MessageBuilder`] writes a message into any [`bytes::BufMut`], sorting options as they are
//!   added.
//! - [`Block`] packs and unpacks Block1/Block2 values; [`Token`] is an owned 0-8 byte token;
//!   [`option`] lists option numbers and their formats.
//! - A datagram that fails to parse is answered as [`Rejection::for_malformed`] says: RST for a
//!   Confirmable one whose header is readable, silence otherwise.
//! - [`Message`] implements [`coap_message::ReadableMessage`].
//!
//! ```
//! use lwm2m_codec::coap::{Code, Message, MessageBuilder, Token, Type};
//! use lwm2m_codec::ContentFormat;
//!
//! // A client registers ...
//! let mut register = MessageBuilder::new(Type::Confirmable, Code::POST, 0x1234);
//! register
//!     .token(Token::new(&[0xA1, 0xB2, 0xC3, 0xD4])?)
//!     .uri_path("/rd")
//!     .uri_queries("ep=node1&lt=300&lwm2m=1.0&b=U")
//!     .content_format(ContentFormat::LINK_FORMAT)
//!     .payload(b"</1/0>,</3/0>");
//! let datagram = register.to_vec()?;
//!
//! // ... and the server reads the request.
//! let request = Message::parse(&datagram)?;
//! assert!(request.uri_path()?.eq(["rd"]));
//! assert_eq!(request.uri_query()?.next(), Some("ep=node1"));
//! assert_eq!(request.content_format()?, Some(40));
//!
//! let mut created = MessageBuilder::piggybacked_response(&request, Code::CREATED);
//! created.location_path("/rd/5a3f");
//! let reply = created.to_vec()?;
//! assert_eq!(Message::parse(&reply)?.token(), request.token());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod block;
mod builder;
mod error;
mod header;
mod message;
pub mod option;
mod option_list;
mod options;
mod readable;
mod token;

pub use block::Block;
pub use builder::MessageBuilder;
pub use error::{BlockError, BuildError, MessageError, OptionError, OptionName, TokenError};
pub use header::{Code, Header, Rejection, Type};
pub use message::Message;
pub use options::{CoapOption, OptionValues, Options, StrOptions};
pub use token::Token;
