//! What the endpoint hands back to the application: identifiers of exchanges, relations and
//! incoming requests, and the [`Event`]s of [`Endpoint::poll_event`](crate::Endpoint::poll_event).

use core::fmt;

use crate::error::ExchangeError;
use crate::message::{IncomingRequest, IncomingResponse};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub(crate) u64);

        impl $name {
            /// The raw number (unique within one endpoint).
            pub const fn as_u64(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "#{}"), self.0)
            }
        }
    };
}

id! {
    /// An outgoing exchange (a request this endpoint sent, or a ping); also names the
    /// observation an Observe request creates.
    RequestId, "request"
}
id! {
    /// An incoming request awaiting the application's response.
    IncomingId, "incoming"
}
id! {
    /// An observe relation on the notifier side: a peer observing a resource of this endpoint.
    RelationId, "relation"
}

/// Why a notifier-side observe relation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationEnd {
    /// The observer answered a notification with RST (RFC 7641 §3.6 passive cancel).
    Reset,
    /// A Confirmable notification was never acknowledged.
    Timeout,
    /// The observer sent a GET with Observe = 1 (reactive cancel).
    Deregistered,
    /// The observer registered again with the same token; the new relation replaces this one.
    Replaced,
}

/// Something the application must know about, from [`Endpoint::poll_event`].
///
/// [`Endpoint::poll_event`]: crate::Endpoint::poll_event
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event<P> {
    /// A request arrived (whole: Block1 uploads are reassembled first). Answer it with
    /// [`Endpoint::respond`](crate::Endpoint::respond), or, for an observe registration, with
    /// [`Endpoint::accept_observation`](crate::Endpoint::accept_observation). Duplicates are never
    /// delivered twice.
    Request {
        /// Pass it to `respond`.
        id: IncomingId,
        /// Who sent it.
        peer: P,
        /// The request.
        request: IncomingRequest,
    },
    /// The response to a request (whole: Block2 bodies are fetched and reassembled first). For an
    /// observe registration, a response carrying an Observe option means the observation is
    /// established; notifications follow as [`Event::Notification`] with the same `id`.
    Response {
        /// The id `start_request` returned.
        id: RequestId,
        /// Who answered.
        peer: P,
        /// The response.
        response: IncomingResponse,
    },
    /// A fresh notification of an established observation (stale, re-ordered ones are dropped,
    /// RFC 7641 §3.4).
    Notification {
        /// The id of the observe request.
        id: RequestId,
        /// The notifier.
        peer: P,
        /// The notification.
        response: IncomingResponse,
    },
    /// The notifier ended an observation with a final response (an error code, or a response
    /// without Observe). No more notifications follow.
    ObservationEnded {
        /// The id of the observe request.
        id: RequestId,
        /// The notifier.
        peer: P,
        /// The final response.
        response: IncomingResponse,
    },
    /// An outgoing exchange (or ping) failed.
    RequestFailed {
        /// The id `start_request` or `ping` returned.
        id: RequestId,
        /// The peer.
        peer: P,
        /// Why.
        error: ExchangeError,
    },
    /// A ping was answered (with RST, as RFC 7252 §4.3 prescribes, or with an empty ACK).
    Pong {
        /// The id `ping` returned.
        id: RequestId,
        /// The peer.
        peer: P,
    },
    /// An observe relation of this endpoint ended because of the observer or the network.
    /// (Relations the application ends itself produce no event.)
    RelationEnded {
        /// The relation.
        relation: RelationId,
        /// The observer.
        peer: P,
        /// Why.
        reason: RelationEnd,
    },
    /// A Confirmable notification was never acknowledged and the relation is kept (only with
    /// [`Config::keep_relations_on_timeout`](crate::Config::keep_relations_on_timeout)); the
    /// next notification on it starts a new Confirmable message.
    NotificationTimedOut {
        /// The relation.
        relation: RelationId,
        /// The observer.
        peer: P,
    },
}
