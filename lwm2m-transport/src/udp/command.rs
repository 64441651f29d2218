//! What the async API asks a driver task to do. Every command goes through the driver's
//! unbounded channel; answers come back on a oneshot channel or a [`Feed`].

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use super::client::Feed;
use super::error::{Error, RelationClosed};
use super::server::ServerRequest;
use crate::event::{IncomingId, RelationId, RequestId};
use crate::message::{IncomingResponse, Request, Response};

/// The first response to an observe request.
#[derive(Debug)]
pub(crate) struct ObserveStart {
    pub(crate) id: RequestId,
    pub(crate) response: IncomingResponse,
    pub(crate) established: bool,
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, Error>>;

pub(crate) enum Command {
    /// `Handle::request`; `key` names it for `Cancel`.
    Request {
        peer: SocketAddr,
        request: Request,
        key: u64,
        reply: Reply<IncomingResponse>,
    },
    /// `Handle::observe`: notifications go to `feed`.
    Observe {
        peer: SocketAddr,
        request: Request,
        key: u64,
        reply: Reply<ObserveStart>,
        feed: Arc<Feed>,
    },
    /// `Handle::ping`.
    Ping {
        peer: SocketAddr,
        key: u64,
        reply: Reply<()>,
    },
    /// The future of a request, observe or ping was dropped before its outcome.
    Cancel {
        key: u64,
    },
    /// Reactive cancel of an established observation (`reply: None` when it was dropped).
    CancelObservation {
        id: RequestId,
        reply: Option<Reply<IncomingResponse>>,
    },
    Respond {
        id: IncomingId,
        response: Response,
    },
    Acknowledge {
        id: IncomingId,
    },
    Accept {
        id: IncomingId,
        response: Response,
        reply: Reply<(RelationId, watch::Receiver<Option<RelationClosed>>)>,
    },
    Notify {
        relation: RelationId,
        response: Response,
    },
    CancelRelation {
        relation: RelationId,
    },
    /// Several-socket mode: a datagram of a peer this driver owns, received by another socket.
    Forwarded {
        from: SocketAddr,
        datagram: Bytes,
    },
    /// `UdpEndpoint::incoming`: deliver incoming requests here (replacing any earlier stream).
    Listen {
        sender: mpsc::Sender<ServerRequest>,
    },
    Close {
        done: oneshot::Sender<()>,
    },
}
