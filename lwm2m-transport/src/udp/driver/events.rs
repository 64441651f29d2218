//! The endpoint's events, handed to whoever waits: a request's caller, an observation's stream,
//! the incoming-request stream, a notifier.

use std::net::SocketAddr;
use std::sync::Arc;

use lwm2m_codec::coap::Code;
use tokio::sync::mpsc;

use super::Driver;
use crate::event::{Event, IncomingId, RelationId, RequestId};
use crate::message::{IncomingRequest, IncomingResponse, Response};
use crate::time::Instant;
use crate::udp::client::{Feed, Notification};
use crate::udp::command::{ObserveStart, Reply};
use crate::udp::error::{Error, RelationClosed};
use crate::udp::layer::DatagramLayer;
use crate::udp::server::{Responder, ServerRequest};

/// Who waits for the outcome of an outgoing exchange.
pub(super) enum Waiter {
    Request {
        key: u64,
        peer: SocketAddr,
        reply: Reply<IncomingResponse>,
    },
    /// An observe request before its first response.
    Observe {
        key: u64,
        peer: SocketAddr,
        reply: Reply<ObserveStart>,
        feed: Arc<Feed>,
    },
    /// An established observation.
    Observing { key: u64, feed: Arc<Feed> },
    Ping {
        key: u64,
        peer: SocketAddr,
        reply: Reply<()>,
    },
    /// The deregistration of a cancelled observation.
    Deregister {
        reply: Option<Reply<IncomingResponse>>,
    },
}

impl Waiter {
    pub(super) fn key(&self) -> Option<u64> {
        match self {
            Waiter::Request { key, .. }
            | Waiter::Observe { key, .. }
            | Waiter::Observing { key, .. }
            | Waiter::Ping { key, .. } => Some(*key),
            Waiter::Deregister { .. } => None,
        }
    }

    /// The peer of an exchange that has not had its first response yet.
    pub(super) fn pending_peer(&self) -> Option<SocketAddr> {
        match self {
            Waiter::Request { peer, .. }
            | Waiter::Observe { peer, .. }
            | Waiter::Ping { peer, .. } => Some(*peer),
            Waiter::Observing { .. } | Waiter::Deregister { .. } => None,
        }
    }

    /// Tells whoever waits that the outcome is `error`.
    pub(super) fn fail(self, error: Error) {
        match self {
            Waiter::Request { reply, .. } | Waiter::Deregister { reply: Some(reply) } => {
                let _ = reply.send(Err(error));
            }
            Waiter::Observe { reply, feed, .. } => {
                feed.close();
                let _ = reply.send(Err(error));
            }
            Waiter::Observing { feed, .. } => match error {
                Error::Exchange(e) => feed.push(Notification::Failed(e)),
                _ => feed.close(),
            },
            Waiter::Ping { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            Waiter::Deregister { reply: None } => {}
        }
    }
}

impl<L: DatagramLayer> Driver<L> {
    pub(super) fn dispatch_events(&mut self, now: Instant) {
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                Event::Request { id, peer, request } => {
                    self.deliver_request(now, id, peer, request);
                }
                Event::Response { id, response, .. } => self.on_response(now, id, response),
                Event::Notification { id, response, .. } => {
                    if let Some(Waiter::Observing { feed, .. } | Waiter::Observe { feed, .. }) =
                        self.waiters.get(&id)
                    {
                        feed.push(Notification::Value(response));
                    }
                }
                Event::ObservationEnded { id, response, .. } => match self.waiters.remove(&id) {
                    Some(Waiter::Observing { feed, .. }) => {
                        feed.push(Notification::Ended(response));
                    }
                    Some(Waiter::Observe { reply, feed, .. }) => {
                        feed.close();
                        let start = ObserveStart {
                            id,
                            response,
                            established: false,
                        };
                        let _ = reply.send(Ok(start));
                    }
                    Some(other) => {
                        self.waiters.insert(id, other);
                    }
                    None => {}
                },
                Event::RequestFailed { id, error, .. } => {
                    if let Some(waiter) = self.waiters.remove(&id) {
                        waiter.fail(Error::Exchange(error));
                    }
                }
                Event::Pong { id, .. } => {
                    if let Some(Waiter::Ping { reply, .. }) = self.waiters.remove(&id) {
                        let _ = reply.send(Ok(()));
                    }
                }
                Event::RelationEnded {
                    relation, reason, ..
                } => self.relation_closed(relation, RelationClosed::Peer(reason)),
                // Only with `keep_relations_on_timeout`, which the driver does not set.
                Event::NotificationTimedOut { .. } => {}
            }
        }
    }

    fn deliver_request(
        &mut self,
        now: Instant,
        id: IncomingId,
        peer: SocketAddr,
        request: IncomingRequest,
    ) {
        if let Some(sender) = &self.incoming {
            let item = ServerRequest {
                peer,
                request,
                responder: Responder::new(id, self.me.clone()),
            };
            match sender.try_send(item) {
                Ok(()) => return,
                Err(refused) => {
                    if matches!(refused, mpsc::error::TrySendError::Closed(_)) {
                        self.incoming = None;
                    }
                    refused.into_inner().responder.disarm();
                }
            }
        }
        let _ = self
            .endpoint
            .respond(now, id, Response::new(Code::SERVICE_UNAVAILABLE));
    }

    fn on_response(&mut self, now: Instant, id: RequestId, response: IncomingResponse) {
        match self.waiters.remove(&id) {
            Some(Waiter::Request { reply, .. } | Waiter::Deregister { reply: Some(reply) }) => {
                let _ = reply.send(Ok(response));
            }
            Some(Waiter::Observe {
                key, reply, feed, ..
            }) => {
                let established = response.code().is_success() && response.observe().is_some();
                if established {
                    self.waiters.insert(
                        id,
                        Waiter::Observing {
                            key,
                            feed: Arc::clone(&feed),
                        },
                    );
                } else {
                    feed.close();
                }
                let start = ObserveStart {
                    id,
                    response,
                    established,
                };
                if reply.send(Ok(start)).is_err() && established {
                    // Nobody will read the notifications.
                    self.deregister(now, id, None);
                }
            }
            Some(Waiter::Deregister { reply: None }) | None => {}
            Some(other) => {
                self.waiters.insert(id, other);
            }
        }
    }

    pub(super) fn relation_closed(&mut self, relation: RelationId, how: RelationClosed) {
        if let Some(state) = self.relations.remove(&relation) {
            state.send_replace(Some(how));
        }
    }
}
