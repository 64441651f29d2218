//! The client role: outgoing exchanges from `start_request` to their single outcome event.
//!
//! An exchange waits in its peer's FIFO queue until one of the peer's NSTART slots is free and
//! holds the slot until it completes. On the way it may send a Block1 upload block by block
//! (honouring a smaller SZX the server asks for, and renumbering), fetch the remaining blocks of a
//! Block2 response, or establish an observation (whose notifications `observer` handles).

use core::hash::Hash;

use bytes::Bytes;
use lwm2m_codec::coap::{option, Block, Message, Token, Type};

use super::exchange::{Block1Tx, Block2Rx, Kind, Outgoing, Step};
use super::reliable::Owner;
use super::{ensure_room, Endpoint, PeerKey, Timer};
use crate::error::{EndpointError, ExchangeError, Table};
use crate::event::{Event, RequestId};
use crate::message::{split_received, IncomingResponse, Request};
use crate::time::Instant;

/// Outcome of one Block2 block.
enum Block2Step {
    Ignore,
    Fail(ExchangeError),
    /// Ask for the next block.
    Next,
    /// The body is complete.
    Done(IncomingResponse),
    /// The first block of an observe registration response.
    Establish(u32, Block),
    /// A block-wise response starting past block 0: delivered as it is.
    AsIs,
}

impl<P: Clone + Eq + Hash> Endpoint<P> {
    /// Creates an exchange and queues it behind the peer's NSTART.
    pub(super) fn start(
        &mut self,
        now: Instant,
        peer: &P,
        request: Request,
        kind: Kind,
    ) -> Result<RequestId, EndpointError> {
        let limits = &self.config.limits;
        let (max_outgoing, max_observations, max_queue, max_peers) = (
            limits.max_outgoing,
            limits.max_observations,
            limits.max_queued_per_peer,
            limits.max_peers,
        );
        ensure_room(Table::Outgoing, self.outgoing.len(), max_outgoing)?;
        if kind == Kind::Observe {
            ensure_room(
                Table::Observations,
                self.observations.len(),
                max_observations,
            )?;
        }
        let size = self.config.block_size as usize;
        let length = request.payload().len();
        let block1 = if length > size && kind != Kind::Ping {
            if length > (Block::MAX_NUM as usize + 1).saturating_mul(size) {
                return Err(EndpointError::BodyTooLarge { size: length });
            }
            Some(Block1Tx {
                offset: 0,
                szx: self.config.szx(),
            })
        } else {
            None
        };
        let first_mid = self.random_u16();
        let pk =
            self.peers
                .get_or_insert(now, peer, first_mid)
                .ok_or(EndpointError::TableFull {
                    table: Table::Peers,
                    limit: max_peers,
                })?;
        let queued = self.peers.get(pk).map_or(0, |s| s.queue.len());
        ensure_room(Table::PeerQueue, queued, max_queue)?;
        let token = if kind == Kind::Ping {
            Token::EMPTY
        } else {
            self.fresh_token(pk)
        };
        let id = RequestId(self.next_id());
        if kind != Kind::Ping {
            self.tokens.insert((pk, token), id);
        }
        let mut exchange = Outgoing::new(pk, token, request, kind);
        exchange.block1 = block1;
        self.insert_outgoing(now, id, exchange);
        Ok(id)
    }

    /// A random 8-byte token not in use with this peer (RFC 7252 §5.3.1: unguessable).
    pub(super) fn fresh_token(&mut self, pk: PeerKey) -> Token {
        loop {
            let token = Token::from_u64(rand::Rng::next_u64(&mut self.rng) | (1 << 63));
            if !self.tokens.contains_key(&(pk, token)) {
                return token;
            }
        }
    }

    pub(super) fn insert_outgoing(&mut self, now: Instant, id: RequestId, exchange: Outgoing) {
        let pk = exchange.peer;
        self.outgoing.insert(id, exchange);
        self.peers.retain(pk);
        if let Some(state) = self.peers.get_mut(pk) {
            state.queue.push_back(id);
        }
        self.pump(now, pk);
    }

    /// Starts queued exchanges while the peer has free NSTART slots.
    fn pump(&mut self, now: Instant, pk: PeerKey) {
        let nstart = self.config.transmission.nstart;
        loop {
            let Some(state) = self.peers.get_mut(pk) else {
                return;
            };
            if state.active >= nstart {
                return;
            }
            let Some(id) = state.queue.pop_front() else {
                return;
            };
            let Some(exchange) = self.outgoing.get_mut(&id) else {
                continue;
            };
            exchange.queued = false;
            state.active += 1;
            self.send_step(now, id);
        }
    }

    /// Sends the exchange's current message (first request, next block, ...) with a new id.
    fn send_step(&mut self, now: Instant, id: RequestId) {
        let Some(exchange) = self.outgoing.get(&id) else {
            return;
        };
        let pk = exchange.peer;
        if let Some(old) = exchange.mid {
            self.untrack_owned((pk, old), Owner::Request(id));
        }
        let mid = self.peers.next_mid(now, pk);
        let Some(exchange) = self.outgoing.get_mut(&id) else {
            return;
        };
        let (bytes, confirmable) = match exchange.encode(mid, &self.config) {
            Ok(encoded) => encoded,
            Err(e) => {
                exchange.mid = None;
                self.fail(now, id, ExchangeError::Build(e));
                return;
            }
        };
        exchange.mid = Some(mid);
        if let Some(wait) = exchange.wait.take() {
            self.timers.remove(wait);
        }
        self.send_tracked(now, pk, mid, bytes, confirmable, Owner::Request(id));
        if !confirmable {
            self.arm_wait(now, id);
        }
    }

    fn arm_wait(&mut self, now: Instant, id: RequestId) {
        let deadline = now + self.config.response_timeout;
        let Some(exchange) = self.outgoing.get_mut(&id) else {
            return;
        };
        if let Some(old) = exchange.wait.take() {
            self.timers.remove(old);
        }
        exchange.wait = Some(self.timers.insert(deadline, Timer::ResponseWait(id)));
    }

    /// After ignoring a response: make sure something will still end the exchange.
    fn keep_waiting(&mut self, now: Instant, id: RequestId) {
        if self
            .outgoing
            .get(&id)
            .is_some_and(|e| e.mid.is_none() && e.wait.is_none())
        {
            self.arm_wait(now, id);
        }
    }

    pub(super) fn token_matches(&self, id: RequestId, msg: &Message<'_>) -> bool {
        self.outgoing
            .get(&id)
            .is_some_and(|e| e.token.as_slice() == msg.token())
    }

    /// An empty ACK: a ping is answered; a request's response will come separately.
    pub(super) fn on_empty_ack(&mut self, now: Instant, id: RequestId) {
        let Some(exchange) = self.outgoing.get_mut(&id) else {
            return;
        };
        exchange.mid = None;
        if exchange.kind == Kind::Ping {
            self.complete(now, id, None);
        } else {
            self.arm_wait(now, id);
        }
    }

    pub(super) fn on_request_reset(&mut self, now: Instant, id: RequestId) {
        let Some(exchange) = self.outgoing.get_mut(&id) else {
            return;
        };
        exchange.mid = None;
        if exchange.kind == Kind::Ping {
            self.complete(now, id, None);
        } else {
            self.fail(now, id, ExchangeError::Reset);
        }
    }

    pub(super) fn on_response_wait_timer(&mut self, now: Instant, id: RequestId) {
        let Some(exchange) = self.outgoing.get_mut(&id) else {
            return;
        };
        exchange.wait = None;
        let waited = self.config.response_timeout;
        self.fail(now, id, ExchangeError::NoResponse { waited });
    }

    /// A Confirmable or Non-confirmable response (separate response or notification).
    pub(super) fn on_separate_response(
        &mut self,
        now: Instant,
        pk: PeerKey,
        msg: &Message<'_>,
        confirmable: bool,
    ) {
        let mid = msg.message_id();
        let acceptable = msg.first_unknown_critical(option::is_known).is_none();
        let target = self.tokens.get(&(pk, msg.owned_token())).copied();
        let Some(id) = target.filter(|_| acceptable) else {
            // Nothing of ours, or unacceptable: reject it (RFC 7252 §4.2/§4.3). For a
            // notification this is the passive cancel of RFC 7641 §3.6.
            self.reply_empty(pk, Type::Reset, mid);
            return;
        };
        if confirmable {
            self.reply_empty(pk, Type::Acknowledgement, mid);
        }
        if !self.outgoing.contains_key(&id) {
            if self.observations.contains_key(&id) {
                self.on_notification(now, id, msg);
            }
            return;
        }
        self.on_response(now, id, msg);
    }

    /// A response to the exchange's request (piggy-backed or separate).
    pub(super) fn on_response(&mut self, now: Instant, id: RequestId, msg: &Message<'_>) {
        let Some(exchange) = self.outgoing.get(&id) else {
            return;
        };
        let notification_race = exchange.kind == Kind::CancelObserve
            && msg.ty() != Type::Acknowledgement
            && msg.observe().ok().flatten().is_some();
        if exchange.kind == Kind::Ping || notification_race {
            return;
        }
        let step = exchange.next_step(msg);
        if !matches!(step, Step::Ignore) {
            // Accepted: it also acknowledges a request still being retransmitted.
            let pk = exchange.peer;
            let (mid, wait) = match self.outgoing.get_mut(&id) {
                Some(exchange) => (exchange.mid.take(), exchange.wait.take()),
                None => (None, None),
            };
            if let Some(old) = mid {
                self.untrack_owned((pk, old), Owner::Request(id));
            }
            self.cancel_timer(wait);
        }
        match step {
            Step::Ignore => self.keep_waiting(now, id),
            Step::Fail(error) => self.fail(now, id, error),
            Step::Block1(tx, restart) => {
                if let Some(exchange) = self.outgoing.get_mut(&id) {
                    exchange.block1 = Some(tx);
                    if restart {
                        exchange.restarts += 1;
                    }
                }
                self.send_step(now, id);
            }
            Step::Block2 => self.on_block2(now, id, msg),
            Step::Done => {
                let (head, body) = split_received(msg);
                self.complete(now, id, Some(IncomingResponse { head, body }));
            }
        }
    }

    /// One block of a Block2 response (RFC 7959 §2.4): check, append, ask for the next.
    fn on_block2(&mut self, now: Instant, id: RequestId, msg: &Message<'_>) {
        let max_body = self.config.limits.max_body_size;
        let max_total = self.config.limits.max_reassembly_bytes;
        let Some(exchange) = self.outgoing.get_mut(&id) else {
            return;
        };
        exchange.block1 = None;
        let block = msg.block2().ok().flatten();
        let etag = msg.option(option::ETAG).and_then(|e| Token::new(e).ok());
        let payload = msg.payload();
        let step = match block {
            None => Block2Step::Fail(ExchangeError::BlockProtocol {
                reason: "a block-wise response continued without Block2",
            }),
            Some(b) if b.more() && payload.len() != b.size() as usize => {
                Block2Step::Fail(ExchangeError::BlockProtocol {
                    reason: "a non-final block is not of its block size",
                })
            }
            Some(b) => match &mut exchange.block2 {
                None if b.num() != 0 => Block2Step::AsIs,
                None if exchange.kind == Kind::Observe => match msg.observe() {
                    Ok(Some(sequence)) => Block2Step::Establish(sequence, b),
                    _ => Block2Step::AsIs,
                },
                None => {
                    let size2 = msg.size2().ok().flatten().map(|s| s as usize);
                    if size2.is_some_and(|s| s > max_body) || payload.len() > max_body {
                        Block2Step::Fail(ExchangeError::BodyTooLarge { limit: max_body })
                    } else if !self.budget.try_reserve(payload.len()) {
                        Block2Step::Fail(ExchangeError::BodyTooLarge { limit: max_total })
                    } else {
                        let mut body = Vec::with_capacity(size2.unwrap_or(0).min(max_body));
                        body.extend_from_slice(payload);
                        let (head, _) = split_received(msg);
                        exchange.block2 = Some(Block2Rx {
                            head,
                            body,
                            szx: b.szx(),
                            etag,
                        });
                        Block2Step::Next
                    }
                }
                Some(rx) => {
                    let offset = b.offset() as usize;
                    if offset < rx.body.len() {
                        Block2Step::Ignore
                    } else if offset > rx.body.len() {
                        Block2Step::Fail(ExchangeError::BlockProtocol {
                            reason: "a block-wise response skipped a block",
                        })
                    } else if etag != rx.etag {
                        Block2Step::Fail(ExchangeError::EtagChanged { block: b.num() })
                    } else if rx.body.len() + payload.len() > max_body {
                        Block2Step::Fail(ExchangeError::BodyTooLarge { limit: max_body })
                    } else if !self.budget.try_reserve(payload.len()) {
                        Block2Step::Fail(ExchangeError::BodyTooLarge { limit: max_total })
                    } else {
                        rx.body.extend_from_slice(payload);
                        rx.szx = b.szx();
                        if b.more() {
                            Block2Step::Next
                        } else {
                            let rx = exchange.block2.take();
                            match rx {
                                Some(rx) => {
                                    self.budget.release(rx.body.len());
                                    Block2Step::Done(IncomingResponse {
                                        head: rx.head,
                                        body: Bytes::from(rx.body),
                                    })
                                }
                                None => Block2Step::Ignore,
                            }
                        }
                    }
                }
            },
        };
        match step {
            Block2Step::Ignore => self.keep_waiting(now, id),
            Block2Step::Fail(error) => self.fail(now, id, error),
            Block2Step::Next => self.send_step(now, id),
            Block2Step::Done(response) => self.complete(now, id, Some(response)),
            Block2Step::AsIs => {
                let (head, body) = split_received(msg);
                self.complete(now, id, Some(IncomingResponse { head, body }));
            }
            Block2Step::Establish(sequence, block) => {
                self.establish(now, id, sequence);
                self.finish(now, id);
                self.spawn_fetch(now, id, true, msg, block);
            }
        }
    }

    /// Delivers an exchange's outcome (`None`: a ping's answer) and removes it.
    fn complete(&mut self, now: Instant, id: RequestId, response: Option<IncomingResponse>) {
        let Some(exchange) = self.outgoing.get(&id) else {
            return;
        };
        let (kind, pk) = (exchange.kind, exchange.peer);
        if kind == Kind::Observe {
            if let Some(sequence) = response
                .as_ref()
                .filter(|r| r.code().is_success())
                .and_then(IncomingResponse::observe)
            {
                self.establish(now, id, sequence);
            }
        }
        self.finish(now, id);
        let Some(peer) = self.addr(pk) else {
            return;
        };
        let event = match (kind, response) {
            (Kind::Ping, _) => Event::Pong { id, peer },
            (
                Kind::Fetch {
                    observation,
                    registration,
                },
                Some(response),
            ) => {
                let Some(obs) = self.observations.get_mut(&observation) else {
                    return;
                };
                let slot = obs.fetch_slot(registration);
                if *slot != Some(id) {
                    return;
                }
                *slot = None;
                if registration {
                    Event::Response {
                        id: observation,
                        peer,
                        response,
                    }
                } else {
                    Event::Notification {
                        id: observation,
                        peer,
                        response,
                    }
                }
            }
            (_, Some(response)) => Event::Response { id, peer, response },
            (_, None) => return,
        };
        self.events.push_back(event);
    }

    /// Ends an exchange with an error event.
    pub(super) fn fail(&mut self, now: Instant, id: RequestId, error: ExchangeError) {
        let Some(exchange) = self.finish(now, id) else {
            return;
        };
        match exchange.kind {
            Kind::Fetch {
                observation,
                registration,
            } => {
                let Some(obs) = self.observations.get_mut(&observation) else {
                    return;
                };
                let slot = obs.fetch_slot(registration);
                if *slot != Some(id) {
                    return;
                }
                *slot = None;
                if registration {
                    self.fail_observation(now, observation, error);
                }
            }
            _ => {
                if let Some(peer) = self.addr(exchange.peer) {
                    self.events
                        .push_back(Event::RequestFailed { id, peer, error });
                }
            }
        }
    }

    /// Removes an exchange from every table and frees its NSTART slot. No event.
    pub(super) fn finish(&mut self, now: Instant, id: RequestId) -> Option<Outgoing> {
        let exchange = self.outgoing.remove(&id)?;
        let pk = exchange.peer;
        if let Some(mid) = exchange.mid {
            self.untrack_owned((pk, mid), Owner::Request(id));
        }
        self.cancel_timer(exchange.wait);
        if let Some(rx) = &exchange.block2 {
            self.budget.release(rx.body.len());
        }
        let key = (pk, exchange.token);
        if !self.observations.contains_key(&id) && self.tokens.get(&key) == Some(&id) {
            self.tokens.remove(&key);
        }
        if let Some(state) = self.peers.get_mut(pk) {
            if exchange.queued {
                state.queue.retain(|queued| *queued != id);
            } else {
                state.active = state.active.saturating_sub(1);
            }
        }
        self.peers.release(pk);
        if !exchange.queued {
            self.pump(now, pk);
        }
        Some(exchange)
    }
}
