//! # lwm2m-codec
//!
//! The syntax layer of lwm2m-rs: bytes in, borrowed records out, and back. It knows the wire formats
//! an OMA LwM2M 1.0 device and server exchange, and nothing of LwM2M semantics (it never needs an
//! object definition; `lwm2m-model` turns these records into typed data).
//!
//! | module | format |
//! |---|---|
//! | [`coap`] | CoAP messages (RFC 7252) with Observe, Block1/Block2, Size1/Size2 options |
//! | [`tlv`] | OMA TLV, content format 11542 (and legacy 1542) |
//! | [`json`] | LwM2M 1.0 JSON, content format 11543 (and legacy 1543) |
//! | [`text`] | plain text (0) and opaque (42) primitives, base64 |
//! | [`link`] | CoRE link-format (RFC 6690), content format 40 |
//! | [`execute`] | Execute arguments (`0,1='value'`), parsed with `nom` |
//! | [`content_format`] | the content-format numbers LwM2M uses |
//!
//! Decoding CoAP, TLV and link-format never allocates: the readers are views over the input slice
//! that validate once and then hand out sub-slices. Every decoder reports a typed error naming what
//! is wrong and the byte offset where it was found.
//!
//! The crate is `no_std` (with `alloc` for writers and JSON); the default `std` feature only adds
//! `std::error::Error` implementations.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod coap;
pub mod content_format;
pub mod execute;
pub mod json;
pub mod link;
pub mod text;
pub mod tlv;

pub use content_format::ContentFormat;
