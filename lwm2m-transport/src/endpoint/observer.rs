//! The observer side of Observe (RFC 7641): establishing an observation from the response to an
//! Observe = 0 GET, taking notifications by token through the freshness rule, completing
//! block-wise notifications with an internal `Fetch` exchange, and cancelling (reactively with
//! Observe = 1, or passively by forgetting the token so the next notification gets RST).

use core::hash::Hash;

use lwm2m_codec::coap::{option, Block, Message, Token};

use super::exchange::{Block2Rx, Kind, Outgoing};
use super::{ensure_room, Endpoint};
use crate::error::{EndpointError, ExchangeError, Table};
use crate::event::{Event, RequestId};
use crate::message::{split_received, IncomingResponse};
use crate::observe::Observation;
use crate::time::Instant;

impl<P: Clone + Eq + Hash> Endpoint<P> {
    /// Records the observation an Observe exchange established (its token stays mapped).
    pub(super) fn establish(&mut self, now: Instant, id: RequestId, sequence: u32) {
        if self.observations.len() >= self.config.limits.max_observations {
            return;
        }
        let Some(exchange) = self.outgoing.get(&id) else {
            return;
        };
        let observation = Observation {
            peer: exchange.peer,
            token: exchange.token,
            request: exchange.request.clone(),
            last: Some((sequence, now)),
            fetch: None,
            registration_fetch: None,
        };
        self.peers.retain(exchange.peer);
        self.observations.insert(id, observation);
    }

    /// Starts fetching the remaining blocks of a notification whose first block is `msg`.
    pub(super) fn spawn_fetch(
        &mut self,
        now: Instant,
        observation: RequestId,
        registration: bool,
        msg: &Message<'_>,
        block: Block,
    ) {
        let Some(obs) = self.observations.get_mut(&observation) else {
            return;
        };
        let previous = obs.fetch_slot(registration).take();
        let (pk, request) = (obs.peer, obs.request.clone());
        if let Some(previous) = previous {
            self.finish(now, previous);
        }
        let payload = msg.payload();
        let limits = &self.config.limits;
        let refused = if self.outgoing.len() >= limits.max_outgoing {
            Some(ExchangeError::BlockProtocol {
                reason: "no room in the outgoing table to fetch the remaining blocks",
            })
        } else if payload.len() > limits.max_body_size {
            Some(ExchangeError::BodyTooLarge {
                limit: limits.max_body_size,
            })
        } else if !self.budget.try_reserve(payload.len()) {
            Some(ExchangeError::BodyTooLarge {
                limit: limits.max_reassembly_bytes,
            })
        } else {
            None
        };
        if let Some(error) = refused {
            if registration {
                self.fail_observation(now, observation, error);
            }
            return;
        }
        let (head, _) = split_received(msg);
        let token = self.fresh_token(pk);
        let id = RequestId(self.next_id());
        self.tokens.insert((pk, token), id);
        let mut exchange = Outgoing::new(
            pk,
            token,
            request,
            Kind::Fetch {
                observation,
                registration,
            },
        );
        exchange.block2 = Some(Block2Rx {
            head,
            body: payload.to_vec(),
            szx: block.szx(),
            etag: msg.option(option::ETAG).and_then(|e| Token::new(e).ok()),
        });
        if let Some(obs) = self.observations.get_mut(&observation) {
            *obs.fetch_slot(registration) = Some(id);
        }
        self.insert_outgoing(now, id, exchange);
    }

    pub(super) fn fail_observation(&mut self, now: Instant, id: RequestId, error: ExchangeError) {
        if let Some(obs) = self.remove_observation(now, id) {
            if let Some(peer) = self.addr(obs.peer) {
                self.events
                    .push_back(Event::RequestFailed { id, peer, error });
            }
        }
    }

    /// A notification of an established observation.
    pub(super) fn on_notification(&mut self, now: Instant, id: RequestId, msg: &Message<'_>) {
        let sequence = if msg.code().is_success() {
            msg.observe().ok().flatten()
        } else {
            None
        };
        let Some(sequence) = sequence else {
            // A final response (error, or no Observe): the notifier ended the observation.
            let Some(obs) = self.remove_observation(now, id) else {
                return;
            };
            if let Some(peer) = self.addr(obs.peer) {
                let (head, body) = split_received(msg);
                self.events.push_back(Event::ObservationEnded {
                    id,
                    peer,
                    response: IncomingResponse { head, body },
                });
            }
            return;
        };
        let Some(obs) = self.observations.get_mut(&id) else {
            return;
        };
        if !obs.accept(sequence, now) {
            return;
        }
        let pk = obs.peer;
        if let Some(block) = msg
            .block2()
            .ok()
            .flatten()
            .filter(|b| b.more() && b.num() == 0)
        {
            self.spawn_fetch(now, id, false, msg, block);
            return;
        }
        if let Some(stale) = obs.fetch.take() {
            self.finish(now, stale);
        }
        if let Some(peer) = self.addr(pk) {
            let (head, body) = split_received(msg);
            self.events.push_back(Event::Notification {
                id,
                peer,
                response: IncomingResponse { head, body },
            });
        }
    }

    /// Removes an observation (and any fetch in progress); its token stops matching.
    pub(super) fn remove_observation(
        &mut self,
        now: Instant,
        id: RequestId,
    ) -> Option<Observation> {
        let mut obs = self.observations.remove(&id)?;
        let key = (obs.peer, obs.token);
        if self.tokens.get(&key) == Some(&id) {
            self.tokens.remove(&key);
        }
        for fetch in [obs.fetch.take(), obs.registration_fetch.take()]
            .into_iter()
            .flatten()
        {
            self.finish(now, fetch);
        }
        self.peers.release(obs.peer);
        Some(obs)
    }

    /// `cancel_observation`: GET with Observe = 1 and the observation's token.
    pub(super) fn cancel_observation_reactive(
        &mut self,
        now: Instant,
        id: RequestId,
    ) -> Result<RequestId, EndpointError> {
        if !self.observations.contains_key(&id) {
            return Err(EndpointError::UnknownRequest(id));
        }
        let max = self.config.limits.max_outgoing;
        ensure_room(Table::Outgoing, self.outgoing.len(), max)?;
        let Some(obs) = self.remove_observation(now, id) else {
            return Err(EndpointError::UnknownRequest(id));
        };
        let cancel = RequestId(self.next_id());
        self.tokens.insert((obs.peer, obs.token), cancel);
        let exchange = Outgoing::new(obs.peer, obs.token, obs.request, Kind::CancelObserve);
        self.insert_outgoing(now, cancel, exchange);
        Ok(cancel)
    }
}
