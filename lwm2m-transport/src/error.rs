//! Errors: [`ConfigError`] (a configuration the endpoint refuses), [`EndpointError`] (an API call
//! that cannot be carried out) and [`ExchangeError`] (why an outgoing exchange failed, reported in
//! [`Event::RequestFailed`](crate::Event::RequestFailed)).

use core::time::Duration;

use lwm2m_codec::coap::BuildError;

use crate::event::{IncomingId, RelationId, RequestId};

/// A [`Config`](crate::Config) value the endpoint cannot work with.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `ACK_TIMEOUT` of zero.
    #[error("transmission.ack_timeout must be positive")]
    ZeroAckTimeout,
    /// `ACK_RANDOM_FACTOR` below 1 or not finite.
    #[error("transmission.ack_random_factor {value} must be finite and at least 1.0")]
    AckRandomFactor {
        /// The rejected value.
        value: f64,
    },
    /// `MAX_RETRANSMIT` above 20 (the back-off would exceed a month).
    #[error("transmission.max_retransmit {value} exceeds 20")]
    MaxRetransmit {
        /// The rejected value.
        value: u8,
    },
    /// A block size that is not 16, 32, 64, 128, 256, 512 or 1024.
    #[error("block_size {size} is not a power of two between 16 and 1024")]
    BlockSize {
        /// The rejected size.
        size: u32,
    },
    /// A limit (or NSTART) of zero.
    #[error("{name} must be at least 1")]
    ZeroLimit {
        /// The field's name.
        name: &'static str,
    },
}

/// Which table an [`EndpointError::TableFull`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// [`Limits::max_peers`](crate::Limits::max_peers).
    Peers,
    /// [`Limits::max_outgoing`](crate::Limits::max_outgoing).
    Outgoing,
    /// [`Limits::max_queued_per_peer`](crate::Limits::max_queued_per_peer).
    PeerQueue,
    /// [`Limits::max_observations`](crate::Limits::max_observations).
    Observations,
    /// [`Limits::max_relations`](crate::Limits::max_relations).
    Relations,
}

/// Why an [`Endpoint`](crate::Endpoint) method could not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The configuration was rejected.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The operating system's random source failed while seeding the endpoint.
    #[error("no entropy to seed the endpoint: {0}")]
    Entropy(String),
    /// A table reached its configured cap.
    #[error("the {table:?} table is full ({limit} entries)")]
    TableFull {
        /// The table.
        table: Table,
        /// Its cap.
        limit: usize,
    },
    /// No outgoing exchange or observation has this id (it finished, failed or was cancelled).
    #[error("no outgoing exchange or observation {0}")]
    UnknownRequest(RequestId),
    /// No incoming request with this id awaits a response (already answered, or never existed).
    #[error("no incoming request {0} awaits a response")]
    UnknownIncoming(IncomingId),
    /// No observe relation has this id (it ended).
    #[error("no observe relation {0}")]
    UnknownRelation(RelationId),
    /// `accept_observation` on a request that is not an observe registration (Observe = 0 GET).
    #[error("incoming request {0} is not an observe registration")]
    NotObserveRequest(IncomingId),
    /// `accept_observation` with a response that is not 2.xx: answer with `respond` instead.
    #[error("an observation can only be accepted with a 2.xx response")]
    NotSuccess,
    /// The message could not be encoded.
    #[error("cannot encode the message: {0}")]
    Build(#[from] BuildError),
    /// A body too large to send block-wise (more than 2^20 blocks).
    #[error("body of {size} bytes cannot be sent in at most 2^20 blocks")]
    BodyTooLarge {
        /// Body size in bytes.
        size: usize,
    },
}

/// Why an outgoing exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The Confirmable request was never acknowledged (the peer is gone or unreachable).
    #[error("no acknowledgement after {transmissions} transmissions")]
    Timeout {
        /// Transmissions made (1 + `MAX_RETRANSMIT`).
        transmissions: u8,
    },
    /// The peer answered with RST: it could not process the request.
    #[error("the peer answered with RST")]
    Reset,
    /// No response arrived within `response_timeout` after the empty ACK (or after a
    /// Non-confirmable request).
    #[error("no response within {waited:?}")]
    NoResponse {
        /// How long the endpoint waited.
        waited: Duration,
    },
    /// A block-wise response body exceeds a reassembly cap.
    #[error("response body exceeds the {limit}-byte reassembly limit")]
    BodyTooLarge {
        /// The cap that was hit.
        limit: usize,
    },
    /// The resource changed (different `ETag`) while its blocks were being fetched.
    #[error("ETag changed at block {block} of a block-wise response")]
    EtagChanged {
        /// Number of the block whose `ETag` differed.
        block: u32,
    },
    /// The peer broke the block-wise protocol (e.g. 2.31 without Block1, a block out of order).
    #[error("block-wise transfer failed: {reason}")]
    BlockProtocol {
        /// What went wrong.
        reason: &'static str,
    },
    /// A message of the exchange could not be encoded.
    #[error("cannot encode the message: {0}")]
    Build(BuildError),
}
