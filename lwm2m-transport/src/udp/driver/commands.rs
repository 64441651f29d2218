//! What the async API asks of the driver: start, cancel and answer exchanges, accept and end
//! observe relations, take forwarded datagrams, listen, close.

use std::net::SocketAddr;

use tokio::sync::watch;

use super::{Driver, Waiter};
use crate::event::{IncomingId, RelationId, RequestId};
use crate::message::{IncomingResponse, Response};
use crate::time::Instant;
use crate::udp::command::{Command, Reply};
use crate::udp::error::{Error, RelationClosed};
use crate::udp::layer::{DatagramLayer, Delivery};

impl<L: DatagramLayer> Driver<L> {
    pub(super) fn command(&mut self, now: Instant, command: Command) {
        match command {
            Command::Request {
                peer,
                request,
                key,
                reply,
            } => {
                self.claim(peer);
                match self.endpoint.start_request(now, peer, request) {
                    Ok(id) => {
                        self.waiters
                            .insert(id, Waiter::Request { key, reply, peer });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(Error::Endpoint(e)));
                    }
                }
            }
            Command::Observe {
                peer,
                request,
                key,
                reply,
                feed,
            } => {
                self.claim(peer);
                match self.endpoint.start_request(now, peer, request) {
                    Ok(id) => {
                        self.waiters.insert(
                            id,
                            Waiter::Observe {
                                key,
                                reply,
                                feed,
                                peer,
                            },
                        );
                    }
                    Err(e) => {
                        feed.close();
                        let _ = reply.send(Err(Error::Endpoint(e)));
                    }
                }
            }
            Command::Ping { peer, key, reply } => {
                self.claim(peer);
                match self.endpoint.ping(now, peer) {
                    Ok(id) => {
                        self.waiters.insert(id, Waiter::Ping { key, reply, peer });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(Error::Endpoint(e)));
                    }
                }
            }
            Command::Cancel { key } => self.cancel(now, key),
            Command::CancelObservation { id, reply } => self.deregister(now, id, reply),
            Command::Respond { id, response } => {
                // An unknown id: the request expired, or the endpoint already answered it.
                let _ = self.endpoint.respond(now, id, response);
            }
            Command::Acknowledge { id } => {
                let _ = self.endpoint.acknowledge(id);
            }
            Command::Accept {
                id,
                response,
                reply,
            } => self.accept(now, id, response, reply),
            Command::Notify { relation, response } => {
                let ends = !response.code().is_success();
                if self.endpoint.notify(now, relation, response).is_err() || ends {
                    self.relation_closed(relation, RelationClosed::Finished);
                }
            }
            Command::CancelRelation { relation } => {
                let _ = self.endpoint.cancel_relation(relation);
                self.relations.remove(&relation);
            }
            Command::Forwarded { from, datagram } => {
                self.claim(from);
                let Driver {
                    endpoint,
                    layer,
                    wire,
                    ..
                } = self;
                layer.receive(
                    now,
                    from,
                    &datagram,
                    &mut |delivery| match delivery {
                        Delivery::Plaintext(plain) => endpoint.handle_datagram(now, from, plain),
                        Delivery::NewSession => endpoint.new_session(&from),
                    },
                    wire,
                );
            }
            Command::Listen { sender } => self.incoming = Some(sender),
            Command::Close { done } => self.close = Some(done),
        }
    }

    /// Several-socket mode: records that this driver owns `peer` (the handle routed it here, or
    /// another socket forwarded its datagram).
    fn claim(&mut self, peer: SocketAddr) {
        if let Some(sharing) = &self.sharing {
            if self.owned.len() < sharing.max_owned {
                self.owned.insert(peer);
            }
        }
    }

    /// A request, observe or ping future was dropped: abandon its exchange.
    fn cancel(&mut self, now: Instant, key: u64) {
        let Some(id) = self
            .waiters
            .iter()
            .find(|(_, waiter)| waiter.key() == Some(key))
            .map(|(id, _)| *id)
        else {
            return;
        };
        if let Some(Waiter::Observing { feed, .. }) = self.waiters.get(&id) {
            feed.close();
            self.deregister(now, id, None);
        } else {
            self.waiters.remove(&id);
            let _ = self.endpoint.cancel_request(now, id);
        }
    }

    /// Cancels an established observation reactively.
    pub(super) fn deregister(
        &mut self,
        now: Instant,
        id: RequestId,
        reply: Option<Reply<IncomingResponse>>,
    ) {
        if let Some(Waiter::Observing { feed, .. } | Waiter::Observe { feed, .. }) =
            self.waiters.remove(&id)
        {
            feed.close();
        }
        match self.endpoint.cancel_observation(now, id) {
            Ok(cancel) => {
                self.waiters.insert(cancel, Waiter::Deregister { reply });
            }
            Err(e) => {
                if let Some(reply) = reply {
                    let _ = reply.send(Err(Error::Endpoint(e)));
                }
            }
        }
    }

    fn accept(
        &mut self,
        now: Instant,
        id: IncomingId,
        response: Response,
        reply: Reply<(RelationId, watch::Receiver<Option<RelationClosed>>)>,
    ) {
        match self.endpoint.accept_observation(now, id, response.clone()) {
            Ok(relation) => {
                let (state, receiver) = watch::channel(None);
                if reply.send(Ok((relation, receiver))).is_ok() {
                    self.relations.insert(relation, state);
                } else {
                    let _ = self.endpoint.cancel_relation(relation);
                }
            }
            Err(e) => {
                // Refused as an observation: the response still answers the request.
                let _ = self.endpoint.respond(now, id, response);
                let _ = reply.send(Err(Error::Endpoint(e)));
            }
        }
    }
}
