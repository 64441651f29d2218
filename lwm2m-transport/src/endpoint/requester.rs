//! The client role: outgoing exchanges from `start_request` to their single outcome event.
//!
//! An exchange waits in its peer's FIFO queue until one of the peer's NSTART slots is free and
//! holds the slot until it completes. On the way it may send a Block1 upload block by block
//! (honouring a smaller SZX the server asks for, and renumbering), fetch the remaining blocks of a
//! Block2 response, or establish an observation. Notifications of established observations are
//! matched by token, filtered by the freshness rule, and completed block-wise when they carry only
//! their first block (by an internal `Fetch` exchange with a fresh token).

use core::hash::Hash;

use bytes::Bytes;
use lwm2m_codec::coap::{option, Block, BuildError, Code, Message, Token, Type};

use super::reliable::Owner;
use super::{ensure_room, Endpoint, PeerKey, Timer};
use crate::config::Config;
use crate::error::{EndpointError, ExchangeError, Table};
use crate::event::{Event, RequestId};
use crate::message::{self, split_received, Extras, IncomingResponse, Request};
use crate::observe::Observation;
use crate::time::Instant;
use crate::timers::TimerKey;

/// How often a Block1 upload restarts with smaller blocks after 4.13 before the 4.13 is
/// delivered as the response.
const MAX_RESTARTS: u8 = 4;

/// What an outgoing exchange is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A request of the application.
    Normal,
    /// An empty Confirmable message.
    Ping,
    /// A GET with Observe = 0: a 2.xx response with Observe establishes an observation.
    Observe,
    /// The GET with Observe = 1 of `cancel_observation`.
    CancelObserve,
    /// Internal: fetches the remaining blocks of a notification (or of the registration response
    /// when `registration`), delivered under the observation's id.
    Fetch {
        observation: RequestId,
        registration: bool,
    },
}

/// Progress of a Block1 upload: the block in flight starts at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block1Tx {
    offset: usize,
    szx: u8,
}

/// A Block2 download: the head of the first block and the body so far; the next block starts at
/// `body.len()`.
#[derive(Debug)]
struct Block2Rx {
    head: Bytes,
    body: Vec<u8>,
    szx: u8,
    etag: Option<Token>,
}

#[derive(Debug)]
pub(crate) struct Outgoing {
    peer: PeerKey,
    token: Token,
    request: Request,
    kind: Kind,
    /// Waiting in the peer queue for an NSTART slot.
    queued: bool,
    /// The message id of the request message in flight (tracked by the message layer).
    mid: Option<u16>,
    /// The response-wait timer (after an empty ACK, or for a Non-confirmable request).
    wait: Option<TimerKey>,
    block1: Option<Block1Tx>,
    block2: Option<Block2Rx>,
    restarts: u8,
}

/// What a response means for its exchange.
enum Step {
    /// Stale or not for the message in flight: keep waiting.
    Ignore,
    Fail(ExchangeError),
    /// Send this Block1 block next (the flag marks a restart).
    Block1(Block1Tx, bool),
    /// Part of a Block2 download.
    Block2,
    /// The final response.
    Done,
}

impl Outgoing {
    fn new(peer: PeerKey, token: Token, request: Request, kind: Kind) -> Outgoing {
        Outgoing {
            peer,
            token,
            request,
            kind,
            queued: true,
            mid: None,
            wait: None,
            block1: None,
            block2: None,
            restarts: 0,
        }
    }

    /// Whether the application knows this exchange (internal fetches are hidden).
    pub(crate) fn is_public(&self) -> bool {
        !matches!(self.kind, Kind::Fetch { .. })
    }

    /// Encodes the message for the current step with this message id.
    fn encode(&self, mid: u16, config: &Config) -> Result<(Bytes, bool), BuildError> {
        if self.kind == Kind::Ping {
            return Ok((message::empty(Type::Confirmable, mid), true));
        }
        let ty = if self.request.confirmable {
            Type::Confirmable
        } else {
            Type::NonConfirmable
        };
        let body = self.request.payload();
        let mut extras = Extras::default();
        let payload: &[u8] = if let Some(tx) = self.block1 {
            let end = tx.offset.saturating_add(1 << (tx.szx + 4)).min(body.len());
            let more = end < body.len();
            let offset = u32::try_from(tx.offset).unwrap_or(u32::MAX);
            extras.block1 = Block::at_offset(offset, more, tx.szx).ok();
            if tx.offset == 0 {
                extras.size1 = u32::try_from(body.len()).ok();
            }
            body.get(tx.offset..end).unwrap_or(&[])
        } else if let Some(rx) = &self.block2 {
            let num = u32::try_from(rx.body.len() >> (rx.szx + 4)).unwrap_or(u32::MAX);
            extras.block2 = Block::new(num, false, rx.szx).ok();
            extras.strip_observe = true;
            &[]
        } else {
            if self.kind == Kind::CancelObserve {
                extras.observe = Some(1);
            }
            let szx = config.szx();
            if config.early_block2_negotiation
                && szx < Block::MAX_SZX
                && self.request.code() == Code::GET
            {
                extras.block2 = Block::new(0, false, szx).ok();
            }
            body
        };
        let bytes = message::encode(
            &self.request.template.head,
            ty,
            mid,
            self.token,
            &extras,
            payload,
        )?;
        Ok((bytes, ty == Type::Confirmable))
    }

    /// Decides what a response means (RFC 7959 §2.3-2.5 for the Block1 side).
    fn next_step(&self, msg: &Message<'_>) -> Step {
        let code = msg.code();
        let echoed = msg.block1().ok().flatten();
        if let Some(tx) = self.block1 {
            let total = self.request.payload().len();
            let sent_num = (tx.offset >> (tx.szx + 4)) as u32;
            if code == Code::CONTINUE {
                let Some(echo) = echoed else {
                    return Step::Fail(ExchangeError::BlockProtocol {
                        reason: "2.31 Continue without Block1",
                    });
                };
                if echo.num() != sent_num {
                    return Step::Ignore;
                }
                let next = tx.offset.saturating_add(1 << (tx.szx + 4)).min(total);
                if next >= total {
                    return Step::Fail(ExchangeError::BlockProtocol {
                        reason: "2.31 Continue after the last block",
                    });
                }
                // The server may ask for smaller blocks; continue at the byte offset reached.
                let szx = echo.szx().min(tx.szx);
                return Step::Block1(Block1Tx { offset: next, szx }, false);
            }
            if code == Code::REQUEST_ENTITY_TOO_LARGE && self.restarts < MAX_RESTARTS {
                if let Some(echo) = echoed.filter(|e| e.szx() < tx.szx) {
                    let restart = Block1Tx {
                        offset: 0,
                        szx: echo.szx(),
                    };
                    return Step::Block1(restart, true);
                }
            }
            if echoed.is_some_and(|e| e.num() != sent_num) {
                return Step::Ignore;
            }
        } else if code == Code::REQUEST_ENTITY_TOO_LARGE
            && self.block2.is_none()
            && !self.request.payload().is_empty()
            && self.restarts < MAX_RESTARTS
        {
            // 4.13 with a Block1 option hints at a block-wise retry with that size.
            if let Some(echo) = echoed {
                let restart = Block1Tx {
                    offset: 0,
                    szx: echo.szx(),
                };
                return Step::Block1(restart, true);
            }
        }
        let block2 = if code.is_success() {
            msg.block2().ok().flatten()
        } else {
            None
        };
        if self.block2.is_some() || block2.is_some_and(Block::more) {
            Step::Block2
        } else {
            Step::Done
        }
    }
}

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
    fn fresh_token(&mut self, pk: PeerKey) -> Token {
        loop {
            let token = Token::from_u64(rand::Rng::next_u64(&mut self.rng) | (1 << 63));
            if !self.tokens.contains_key(&(pk, token)) {
                return token;
            }
        }
    }

    fn insert_outgoing(&mut self, now: Instant, id: RequestId, exchange: Outgoing) {
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

    /// Records the observation an Observe exchange established (its token stays mapped).
    fn establish(&mut self, now: Instant, id: RequestId, sequence: u32) {
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
    fn spawn_fetch(
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

    fn fail_observation(&mut self, now: Instant, id: RequestId, error: ExchangeError) {
        if let Some(obs) = self.remove_observation(now, id) {
            if let Some(peer) = self.addr(obs.peer) {
                self.events
                    .push_back(Event::RequestFailed { id, peer, error });
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

    /// A notification of an established observation.
    fn on_notification(&mut self, now: Instant, id: RequestId, msg: &Message<'_>) {
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
