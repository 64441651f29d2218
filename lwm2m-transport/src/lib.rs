//! # lwm2m-transport
//!
//! The CoAP engine of lwm2m-rs: a sans-IO [`Endpoint`] implementing the CoAP message layer
//! (RFC 7252: message ids, tokens, Confirmable retransmission with randomised exponential
//! back-off, duplicate detection, piggy-backed and separate responses, RST, NSTART, ping),
//! block-wise transfer in both roles and directions (RFC 7959) and Observe in both roles
//! (RFC 7641).
//!
//! It does no IO and reads no clock, in the style of quinn-proto: a driver feeds it datagrams
//! ([`Endpoint::handle_datagram`]) and time ([`Endpoint::handle_timeout`]), and takes back
//! datagrams to send ([`Endpoint::poll_transmit`]), application [`Event`]s
//! ([`Endpoint::poll_event`]) and the next deadline ([`Endpoint::poll_timeout`]). Peers are any
//! `Clone + Eq + Hash` type, so a DTLS session layer can sit between the socket and the endpoint.
//! Every table is bounded by [`Limits`].
//!
//! With the `testing` feature, the `sim` module provides a deterministic in-memory network (loss,
//! duplication, delay, re-ordering; virtual time) to test code built on the endpoint.
//!
//! With the `dtls-openssl` feature, the `dtls` module adds DTLS 1.2 sessions (PSK and X.509) demultiplexed
//! by peer, sans-IO like the endpoint, on the system OpenSSL; with `dtls-dimpl` (alone or as well),
//! PSK sessions on the pure-Rust dimpl.
//! With the `tokio` feature (default), [`udp`] runs endpoints on UDP sockets with an async API.
//!
//! See [`Endpoint`] for a complete request/response round trip.

mod block;
mod config;
#[cfg(any(feature = "dtls-openssl", feature = "dtls-dimpl"))]
pub mod dtls;
mod endpoint;
mod error;
mod event;
mod message;
pub mod observe;
#[cfg(feature = "testing")]
pub mod sim;
mod time;
mod timers;
#[cfg(feature = "tokio")]
pub mod udp;

pub use config::{Config, Limits, TransmissionParameters};
pub use endpoint::{Endpoint, Stats, Transmit};
pub use error::{ConfigError, EndpointError, ExchangeError, Table};
pub use event::{Event, IncomingId, RelationEnd, RelationId, RequestId};
pub use message::{IncomingRequest, IncomingResponse, Request, Response};
pub use time::{Clock, Instant};
