//! The server role of the async API: the [`IncomingRequests`] stream, the [`Responder`] that
//! answers one request, and the [`Notifier`] of an accepted observation.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use lwm2m_codec::coap::Code;
use tokio::sync::{mpsc, oneshot, watch};

use super::command::Command;
use super::error::{Error, RelationClosed};
use crate::event::{IncomingId, RelationId};
use crate::message::{IncomingRequest, Response};

/// The requests peers send to this endpoint, from
/// [`UdpEndpoint::incoming`](super::UdpEndpoint::incoming).
///
/// While no stream is open (before the first `incoming()`, or after the stream was dropped), and
/// while [`Builder::incoming_capacity`](super::Builder::incoming_capacity) requests wait unread,
/// the driver answers new requests 5.03 Service Unavailable itself. The stream ends when the
/// endpoint closes, or when `incoming()` is called again (the new stream replaces it).
#[derive(Debug)]
pub struct IncomingRequests {
    pub(crate) receiver: mpsc::Receiver<ServerRequest>,
}

impl IncomingRequests {
    /// The next request, or `None` once the endpoint is closed.
    pub async fn next(&mut self) -> Option<ServerRequest> {
        self.receiver.recv().await
    }

    /// The next request if one is waiting (`Ok(None)`: none yet; `Err`: the endpoint closed).
    pub fn try_next(&mut self) -> Result<Option<ServerRequest>, Error> {
        match self.receiver.try_recv() {
            Ok(request) => Ok(Some(request)),
            Err(mpsc::error::TryRecvError::Empty) => Ok(None),
            Err(mpsc::error::TryRecvError::Disconnected) => Err(Error::Closed),
        }
    }
}

impl Stream for IncomingRequests {
    type Item = ServerRequest;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ServerRequest>> {
        self.receiver.poll_recv(cx)
    }
}

/// A request from a peer, with the [`Responder`] that answers it.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerRequest {
    /// Who sent it.
    pub peer: SocketAddr,
    /// The request (a Block1 upload arrives whole).
    pub request: IncomingRequest,
    /// Answers it, once.
    pub responder: Responder,
}

/// Answers one incoming request: with [`respond`](Self::respond), or, for an observe
/// registration, with [`accept_observation`](Self::accept_observation).
///
/// Dropping it unanswered answers 5.00 Internal Server Error, so a peer never waits for a
/// response that will not come. A response that takes longer than the endpoint's
/// `empty_ack_delay` goes out as a separate response after an empty ACK; after
/// `EXCHANGE_LIFETIME` the endpoint forgets the request and a late answer is dropped.
#[derive(Debug)]
pub struct Responder {
    id: IncomingId,
    driver: mpsc::UnboundedSender<Command>,
    armed: bool,
}

impl Responder {
    pub(crate) fn new(id: IncomingId, driver: mpsc::UnboundedSender<Command>) -> Responder {
        Responder {
            id,
            driver,
            armed: true,
        }
    }

    /// Drops it without answering (the driver answers itself).
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }

    /// The endpoint's id of the request.
    pub fn id(&self) -> IncomingId {
        self.id
    }

    /// Sends the response (piggy-backed when it comes quickly; Block2 if the body is larger
    /// than the block size). `Err` only if the endpoint is closed.
    pub fn respond(mut self, response: Response) -> Result<(), Error> {
        self.armed = false;
        self.driver
            .send(Command::Respond {
                id: self.id,
                response,
            })
            .map_err(|_| Error::Closed)
    }

    /// Sends the empty ACK now: the response will take a while and follows separately.
    pub fn acknowledge(&self) -> Result<(), Error> {
        self.driver
            .send(Command::Acknowledge { id: self.id })
            .map_err(|_| Error::Closed)
    }

    /// Accepts an observe registration (a request whose
    /// [`is_observe_registration`](IncomingRequest::is_observe_registration) is true) with its
    /// first response, a 2.xx; returns the [`Notifier`] to send notifications through.
    ///
    /// If the endpoint refuses (not a registration, not a 2.xx response, too many relations),
    /// `response` is sent as a plain response instead and the error says why.
    pub async fn accept_observation(mut self, response: Response) -> Result<Notifier, Error> {
        self.armed = false;
        let (reply, answer) = oneshot::channel();
        self.driver
            .send(Command::Accept {
                id: self.id,
                response,
                reply,
            })
            .map_err(|_| Error::Closed)?;
        let (relation, state) = answer.await.unwrap_or(Err(Error::Closed))?;
        Ok(Notifier {
            relation,
            driver: self.driver.clone(),
            state,
        })
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.driver.send(Command::Respond {
                id: self.id,
                response: Response::new(Code::INTERNAL_SERVER_ERROR),
            });
        }
    }
}

/// Sends the notifications of one observe relation (notifier side).
///
/// Dropping it ends the relation silently (the observer hears nothing more; a new registration
/// starts a new relation). To end it explicitly, notify with a non-2.xx response.
#[derive(Debug)]
pub struct Notifier {
    relation: RelationId,
    driver: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<Option<RelationClosed>>,
}

impl Notifier {
    /// The endpoint's id of the relation.
    pub fn id(&self) -> RelationId {
        self.relation
    }

    /// Sends a notification with the next sequence number (Confirmable or not as the
    /// endpoint's configuration and `response` say). A non-2.xx response ends the relation.
    ///
    /// `Err(RelationEnded)` if the relation has ended (the observer cancelled, a Confirmable
    /// notification was never acknowledged, ...).
    pub fn notify(&self, response: Response) -> Result<(), Error> {
        if let Some(end) = *self.state.borrow() {
            return Err(Error::RelationEnded(end));
        }
        self.driver
            .send(Command::Notify {
                relation: self.relation,
                response,
            })
            .map_err(|_| Error::Closed)
    }

    /// How the relation ended, if it has.
    pub fn end(&self) -> Option<RelationClosed> {
        *self.state.borrow()
    }

    /// Waits until the relation ends and says how.
    pub async fn closed(&mut self) -> RelationClosed {
        loop {
            if let Some(end) = *self.state.borrow_and_update() {
                return end;
            }
            if self.state.changed().await.is_err() {
                // The driver is gone without saying more: the endpoint closed.
                return self
                    .state
                    .borrow()
                    .unwrap_or(RelationClosed::EndpointClosed);
            }
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        if self.state.borrow().is_none() {
            let _ = self.driver.send(Command::CancelRelation {
                relation: self.relation,
            });
        }
    }
}
