//! The sans-IO CoAP [`Endpoint`]: datagrams and time in; datagrams, events and the next deadline
//! out (the quinn-proto vocabulary).
//!
//! - [`mod@self`]: the struct, the public API and the dispatch of incoming datagrams;
//! - `peers`: per-peer message ids, NSTART slots and queue, idle eviction;
//! - `reliable`: the message layer (RFC 7252 §4): Confirmable retransmission with back-off,
//!   ACK/RST matching;
//! - `dedup`: duplicate detection with cached replies;
//! - `exchange` and `requester`: outgoing exchanges (client role): NSTART queueing, Block1
//!   upload, Block2 download;
//! - `observer`: observations established by this endpoint, notifications, cancellation;
//! - `responder`: incoming requests (server role): piggy-backed and separate responses, Block1
//!   reassembly, Block2 serving;
//! - `notifier`: observe relations of peers on this endpoint, and their notifications.

mod dedup;
mod exchange;
mod notifier;
mod observer;
mod peers;
mod reliable;
mod requester;
mod responder;

use core::fmt;
use core::hash::Hash;
use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use lwm2m_codec::coap::{Code, Message, Rejection, Token, Type};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::block::{Block2Cache, Budget, Uploads};
use crate::config::Config;
use crate::error::{EndpointError, Table};
use crate::event::{Event, IncomingId, RelationId, RequestId};
use crate::message::{self, Request, Response};
use crate::observe::{Observation, Relations};
use crate::time::Instant;
use crate::timers::{earliest, ExpiryQueue, TimerKey, Timers};

use dedup::{Dedup, DedupKey, MsgKey, Seen};
use exchange::Outgoing;
pub(crate) use peers::PeerKey;
use peers::Peers;
use reliable::Pending;
use responder::Incoming;

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit<P> {
    /// The peer to send it to.
    pub destination: P,
    /// The whole CoAP message.
    pub contents: Bytes,
}

/// Table sizes, for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Peers with state.
    pub peers: usize,
    /// Outgoing exchanges (queued ones included).
    pub outgoing: usize,
    /// Established observations (observer side).
    pub observations: usize,
    /// Incoming requests awaiting the application.
    pub incoming: usize,
    /// Observe relations (notifier side).
    pub relations: usize,
    /// Duplicate-detection entries.
    pub dedup_entries: usize,
    /// Messages awaiting an ACK (or tracked for RST).
    pub pending_messages: usize,
    /// Block1 uploads being reassembled.
    pub uploads: usize,
    /// Bodies in the Block2 cache.
    pub block2_cache_entries: usize,
    /// Bytes in the Block2 cache.
    pub block2_cache_bytes: usize,
    /// Bytes held by reassemblies in both directions.
    pub reassembly_bytes: usize,
    /// Armed timers.
    pub timers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// Retransmit (or give up on) a Confirmable message.
    Retransmit(MsgKey),
    /// An outgoing exchange waited too long for its response.
    ResponseWait(RequestId),
    /// Acknowledge an incoming Confirmable request the application has not answered yet.
    EmptyAck(IncomingId),
}

/// A sans-IO CoAP endpoint (RFC 7252 with Observe, RFC 7641, and Block-wise, RFC 7959) talking to
/// any number of peers, in both the client and the server role.
///
/// `P` identifies a peer: a `SocketAddr` for plain UDP, or whatever the DTLS layer uses to name
/// a session. The endpoint never does IO or reads a clock. A driver loop:
///
/// 1. feeds received datagrams to [`handle_datagram`](Self::handle_datagram);
/// 2. calls [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)'s
///    deadline passes;
/// 3. after either (and after any API call) sends every [`poll_transmit`](Self::poll_transmit)
///    datagram and hands every [`poll_event`](Self::poll_event) to the application.
///
/// ```
/// use lwm2m_codec::coap::Code;
/// use lwm2m_transport::{Config, Endpoint, Event, Instant, Request, Response};
///
/// let mut client = Endpoint::new(Config::default(), [1; 32])?;
/// let mut server = Endpoint::new(Config::default(), [2; 32])?;
/// let now = Instant::ZERO;
/// let read = Request::build(Code::GET, |b| { b.uri_path("/3/0/0"); })?;
/// let id = client.start_request(now, "server", read)?;
///
/// // The "network": move datagrams from one endpoint to the other.
/// let datagram = client.poll_transmit().unwrap();
/// server.handle_datagram(now, "client", &datagram.contents);
/// let Some(Event::Request { id: incoming, request, .. }) = server.poll_event() else { panic!() };
/// assert!(request.message()?.uri_path()?.eq(["3", "0", "0"]));
/// server.respond(now, incoming, Response::new(Code::CONTENT).with_payload(&b"Acme"[..]))?;
///
/// let ack = server.poll_transmit().unwrap();
/// client.handle_datagram(now, "server", &ack.contents);
/// match client.poll_event() {
///     Some(Event::Response { id: done, response, .. }) => {
///         assert_eq!(done, id);
///         assert_eq!(response.code(), Code::CONTENT);
///         assert_eq!(response.body().as_ref(), b"Acme");
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Endpoint<P> {
    config: Config,
    rng: StdRng,
    next_id: u64,
    peers: Peers<P>,
    timers: Timers<Timer>,
    /// Messages this endpoint sent that an ACK or RST may refer to.
    pending: HashMap<MsgKey, Pending>,
    outgoing: HashMap<RequestId, Outgoing>,
    /// Response matching: (peer, token) → exchange or observation.
    tokens: HashMap<(PeerKey, Token), RequestId>,
    observations: HashMap<RequestId, Observation>,
    incoming: HashMap<IncomingId, Incoming>,
    incoming_expiry: ExpiryQueue<IncomingId>,
    dedup: Dedup,
    relations: Relations,
    uploads: Uploads,
    block2_cache: Block2Cache,
    budget: Budget,
    /// Uri-Paths whose Block1 uploads are delivered block by block ([`Endpoint::stream_block1`]).
    block1_streams: Vec<String>,
    transmits: VecDeque<Transmit<P>>,
    events: VecDeque<Event<P>>,
}

impl<P> fmt::Debug for Endpoint<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("outgoing", &self.outgoing.len())
            .field("incoming", &self.incoming.len())
            .field("relations", &self.relations.len())
            .field("observations", &self.observations.len())
            .finish_non_exhaustive()
    }
}

impl<P: Clone + Eq + Hash> Endpoint<P> {
    /// An endpoint whose tokens, message ids and back-off jitter come from a `ChaCha12` generator
    /// seeded with `seed`. Use a fresh random seed in production (or [`Endpoint::with_entropy`]);
    /// a fixed one makes tests deterministic.
    pub fn new(config: Config, seed: [u8; 32]) -> Result<Endpoint<P>, EndpointError> {
        config
            .validate()
            .map_err(|e| EndpointError::Config(e.to_string()))?;
        let t = &config.transmission;
        let lifetime = t.exchange_lifetime();
        let l = &config.limits;
        Ok(Endpoint {
            rng: StdRng::from_seed(seed),
            next_id: 0,
            peers: Peers::new(lifetime, l.max_peers),
            timers: Timers::new(),
            pending: HashMap::new(),
            outgoing: HashMap::new(),
            tokens: HashMap::new(),
            observations: HashMap::new(),
            incoming: HashMap::new(),
            incoming_expiry: ExpiryQueue::new(),
            dedup: Dedup::new(lifetime, l.max_dedup_entries),
            relations: Relations::default(),
            uploads: Uploads::new(),
            block2_cache: Block2Cache::new(
                l.max_block2_cache_entries,
                l.max_block2_cache_bytes,
                lifetime,
            ),
            budget: Budget::new(l.max_reassembly_bytes),
            block1_streams: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            config,
        })
    }

    /// An endpoint seeded from the operating system's random source.
    pub fn with_entropy(config: Config) -> Result<Endpoint<P>, EndpointError> {
        let mut seed = [0u8; 32];
        rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut seed)
            .map_err(|e| EndpointError::Entropy(e.to_string()))?;
        Endpoint::new(config, seed)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Current table sizes.
    pub fn stats(&self) -> Stats {
        Stats {
            peers: self.peers.len(),
            outgoing: self.outgoing.len(),
            observations: self.observations.len(),
            incoming: self.incoming.len(),
            relations: self.relations.len(),
            dedup_entries: self.dedup.len(),
            pending_messages: self.pending.len(),
            uploads: self.uploads.len(),
            block2_cache_entries: self.block2_cache.len(),
            block2_cache_bytes: self.block2_cache.bytes(),
            reassembly_bytes: self.budget.used(),
            timers: self.timers.len(),
        }
    }

    // ----- outputs -------------------------------------------------------------------------

    /// The next datagram to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit<P>> {
        self.transmits.pop_front()
    }

    /// The next event for the application, if any.
    pub fn poll_event(&mut self) -> Option<Event<P>> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next (`None`: nothing is
    /// scheduled). It may be a little early (a cache entry that was refreshed); calling
    /// `handle_timeout` then is harmless.
    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest([
            self.timers.next(),
            self.dedup.next_deadline(),
            self.uploads.next_deadline(),
            self.block2_cache.next_deadline(),
            self.incoming_expiry.next(),
            self.peers.next_deadline(),
        ])
    }

    // ----- inputs --------------------------------------------------------------------------

    /// Runs every timer due at `now`: retransmissions, give-ups, empty ACKs, response waits and
    /// the expiry of cache entries.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(((at, _), timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::Retransmit(key) => self.on_retransmit_timer(now, at, key),
                Timer::ResponseWait(id) => self.on_response_wait_timer(now, id),
                Timer::EmptyAck(id) => self.on_empty_ack_timer(id),
            }
        }
        self.dedup.expire(now);
        self.uploads.expire(now, &mut self.budget);
        self.block2_cache.expire(now);
        self.expire_incoming(now);
        self.peers.expire(now);
    }

    /// A new security association with `peer` begins (a DTLS handshake with it completed): the
    /// message ids it sends from now on are new messages, whatever the previous association
    /// used. Without this, a client reconnecting from the same address and port within
    /// `EXCHANGE_LIFETIME` would see its first requests taken for duplicates of the old
    /// session's: dropped, or answered with the old session's cached reply. Exchanges and
    /// observations with `peer` are kept. The UDP driver calls it when its
    /// [`DatagramLayer`](crate::udp::DatagramLayer) reports [`Delivery::NewSession`](crate::udp::Delivery).
    pub fn new_session(&mut self, peer: &P) {
        self.peers.new_scope(peer);
    }

    /// Processes one datagram received from `peer`.
    ///
    /// Anything is accepted: a malformed Confirmable message is answered with RST and other
    /// malformed datagrams are dropped (RFC 7252 §4.2, §4.3); a Confirmable message with a
    /// reserved code class, and an empty Confirmable message (a ping), get RST; unexpected ACKs
    /// and RSTs are ignored.
    pub fn handle_datagram(&mut self, now: Instant, peer: P, datagram: &[u8]) {
        let Ok(msg) = Message::parse(datagram) else {
            if let Rejection::Reset { message_id } = Rejection::for_malformed(datagram) {
                self.push_transmit(peer, message::empty(Type::Reset, message_id));
            }
            return;
        };
        let code = msg.code();
        match msg.ty() {
            Type::Acknowledgement => {
                if code.is_request() || code.is_reserved() {
                    return;
                }
                if let Some(pk) = self.peers.lookup(&peer) {
                    self.on_ack(now, pk, &msg);
                }
            }
            Type::Reset => {
                if !code.is_empty() {
                    return;
                }
                if let Some(pk) = self.peers.lookup(&peer) {
                    self.on_reset(now, pk, msg.message_id());
                }
            }
            ty @ (Type::Confirmable | Type::NonConfirmable) => {
                let confirmable = ty == Type::Confirmable;
                if code.is_empty() || code.is_reserved() {
                    // A ping, or a message this endpoint cannot process.
                    if confirmable {
                        self.push_transmit(peer, message::empty(Type::Reset, msg.message_id()));
                    }
                    return;
                }
                if code.is_request() {
                    let first_mid = self.random_u16();
                    let Some(pk) = self.peers.get_or_insert(now, &peer, first_mid) else {
                        return;
                    };
                    if self.is_duplicate(now, pk, &msg) {
                        return;
                    }
                    self.on_request(now, pk, &msg, confirmable);
                } else {
                    let Some(pk) = self.peers.lookup(&peer) else {
                        // A response from a stranger matches nothing of ours.
                        self.push_transmit(peer, message::empty(Type::Reset, msg.message_id()));
                        return;
                    };
                    self.peers.touch(now, pk);
                    if self.is_duplicate(now, pk, &msg) {
                        return;
                    }
                    self.on_separate_response(now, pk, &msg, confirmable);
                }
            }
        }
    }

    // ----- client role ---------------------------------------------------------------------

    /// Sends `request` to `peer` (after the requests already queued for it, NSTART permitting)
    /// and returns the id its outcome will carry: one [`Event::Response`] or
    /// [`Event::RequestFailed`]. A GET with Observe = 0 also registers an observation whose
    /// notifications come as [`Event::Notification`] with the same id.
    ///
    /// A payload larger than the block size is sent block-wise (Block1); a block-wise response is
    /// fetched whole (Block2) before it is delivered.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "taking ownership is the contract: the endpoint may keep the value"
    )]
    pub fn start_request(
        &mut self,
        now: Instant,
        peer: P,
        request: Request,
    ) -> Result<RequestId, EndpointError> {
        let kind = if request.code() == Code::GET && request.observe() == Some(0) {
            exchange::Kind::Observe
        } else {
            exchange::Kind::Normal
        };
        self.start(now, &peer, request, kind)
    }

    /// Sends a CoAP ping (an empty Confirmable message); the answer is [`Event::Pong`] or
    /// [`Event::RequestFailed`] with a timeout.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "taking ownership is the contract: the endpoint may keep the value"
    )]
    pub fn ping(&mut self, now: Instant, peer: P) -> Result<RequestId, EndpointError> {
        self.start(now, &peer, Request::new(Code::EMPTY), exchange::Kind::Ping)
    }

    /// Abandons an outgoing exchange: no more retransmissions and no event. A late response
    /// will be rejected with RST.
    pub fn cancel_request(&mut self, now: Instant, id: RequestId) -> Result<(), EndpointError> {
        if !self.outgoing.get(&id).is_some_and(Outgoing::is_public) {
            return Err(EndpointError::UnknownRequest(id));
        }
        self.finish(now, id);
        Ok(())
    }

    /// Cancels an observation reactively: sends the registering GET again with Observe = 1
    /// (RFC 7641 §3.6). No more notifications are delivered for `id`; the deregistration's own
    /// outcome comes as an event for the returned id.
    pub fn cancel_observation(
        &mut self,
        now: Instant,
        id: RequestId,
    ) -> Result<RequestId, EndpointError> {
        self.cancel_observation_reactive(now, id)
    }

    /// Forgets an observation without a message: the next notification is answered with RST,
    /// which ends it on the notifier (RFC 7641 §3.6 passive cancel).
    pub fn forget_observation(&mut self, now: Instant, id: RequestId) -> Result<(), EndpointError> {
        if self.remove_observation(now, id).is_some() {
            Ok(())
        } else {
            Err(EndpointError::UnknownRequest(id))
        }
    }

    // ----- server role ---------------------------------------------------------------------

    /// Answers an incoming request: piggy-backed on the ACK if it was Confirmable and not yet
    /// acknowledged, else as a separate response. A body larger than the block size (or than the
    /// block size the peer asked for) goes out block-wise (Block2).
    #[allow(
        clippy::needless_pass_by_value,
        reason = "taking ownership is the contract: the endpoint may keep the value"
    )]
    pub fn respond(
        &mut self,
        now: Instant,
        id: IncomingId,
        response: Response,
    ) -> Result<(), EndpointError> {
        let incoming = self
            .take_incoming(id)
            .ok_or(EndpointError::UnknownIncoming(id))?;
        self.send_response(now, &incoming, &response, None)?;
        Ok(())
    }

    /// Delivers the Block1 uploads (RFC 7959 §2.5) to `uri_path` (e.g. `"/5/0/0"`) block by
    /// block instead of reassembling them: each block is an [`Event::Request`] whose body is
    /// the block's payload and whose options carry its Block1 option (read it with
    /// `request.message()?.block1()`). The application writes the block where it belongs and
    /// answers a block with M = 1 with 2.31 Continue, the last one with the final code; the
    /// endpoint echoes the Block1 option in the answer (asking for its own block size if the
    /// peer's is larger). A non-final block that is not of its block size is answered 4.00
    /// here. Order and completeness are the application's to check (4.08 Request Entity
    /// Incomplete when a block is missing). Requests to other paths are reassembled as before.
    ///
    /// A firmware image pushed to an LwM2M client this way never sits whole in memory.
    pub fn stream_block1(&mut self, uri_path: &str) {
        let segments: Vec<&str> = uri_path.split('/').filter(|s| !s.is_empty()).collect();
        let path = segments.join("/");
        if !self.block1_streams.contains(&path) {
            self.block1_streams.push(path);
        }
    }

    /// Sends the empty ACK for an incoming Confirmable request now ("the response will take a
    /// while"), instead of waiting for `empty_ack_delay`. Has no effect on a Non-confirmable
    /// request or one already acknowledged.
    pub fn acknowledge(&mut self, id: IncomingId) -> Result<(), EndpointError> {
        if !self.incoming.contains_key(&id) {
            return Err(EndpointError::UnknownIncoming(id));
        }
        self.send_empty_ack(id);
        Ok(())
    }

    /// Accepts an observe registration (a request whose
    /// [`is_observe_registration`](crate::IncomingRequest::is_observe_registration) is true)
    /// with its first response, and returns the relation to [`notify`](Self::notify) through.
    /// A relation with the same peer and token is replaced.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "taking ownership is the contract: the endpoint may keep the value"
    )]
    pub fn accept_observation(
        &mut self,
        now: Instant,
        id: IncomingId,
        response: Response,
    ) -> Result<RelationId, EndpointError> {
        self.accept(now, id, &response)
    }

    /// Sends a notification on a relation, numbered with the next 24-bit sequence number.
    ///
    /// It is Non-confirmable unless `confirmable_notifications`, the response's own
    /// [`with_confirmable`](Response::with_confirmable), the 24-hour rule, or a Confirmable
    /// notification still in flight (which this one replaces, keeping its retransmission state)
    /// make it Confirmable. A non-2.xx response ends the relation (it is sent without Observe).
    #[allow(
        clippy::needless_pass_by_value,
        reason = "taking ownership is the contract: the endpoint may keep the value"
    )]
    pub fn notify(
        &mut self,
        now: Instant,
        relation: RelationId,
        response: Response,
    ) -> Result<(), EndpointError> {
        self.send_notification(now, relation, &response)
    }

    /// Ends a relation without telling the observer (its next notification would have been the
    /// last; a later GET with the same token starts a new one). No event is emitted.
    pub fn cancel_relation(&mut self, relation: RelationId) -> Result<(), EndpointError> {
        if self.end_relation(relation, None) {
            Ok(())
        } else {
            Err(EndpointError::UnknownRelation(relation))
        }
    }

    // ----- shared helpers ------------------------------------------------------------------

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn random_u16(&mut self) -> u16 {
        rand::Rng::next_u32(&mut self.rng) as u16
    }

    fn push_transmit(&mut self, destination: P, contents: Bytes) {
        self.transmits.push_back(Transmit {
            destination,
            contents,
        });
    }

    /// Queues a datagram to a known peer.
    fn transmit(&mut self, pk: PeerKey, contents: Bytes) {
        if let Some(addr) = self.peers.addr(pk) {
            let destination = addr.clone();
            self.push_transmit(destination, contents);
        }
    }

    fn addr(&self, pk: PeerKey) -> Option<P> {
        self.peers.addr(pk).cloned()
    }

    /// Duplicate detection for a CON or NON message; re-sends the cached reply of a duplicate.
    fn is_duplicate(&mut self, now: Instant, pk: PeerKey, msg: &Message<'_>) -> bool {
        match self.dedup.check(now, self.dedup_key(pk, msg.message_id())) {
            Seen::New => false,
            Seen::Duplicate(reply) => {
                if let Some(reply) = reply {
                    self.transmit(pk, reply);
                }
                true
            }
        }
    }

    /// Sends an ACK or RST in reply to a peer's message and caches it for its duplicates.
    fn reply_empty(&mut self, pk: PeerKey, ty: Type, message_id: u16) {
        let bytes = message::empty(ty, message_id);
        self.dedup
            .set_reply(self.dedup_key(pk, message_id), bytes.clone());
        self.transmit(pk, bytes);
    }

    /// The duplicate-detection key of message `mid` from `pk`, in the peer's current scope.
    fn dedup_key(&self, pk: PeerKey, mid: u16) -> DedupKey {
        (pk, self.peers.scope(pk), mid)
    }

    fn cancel_timer(&mut self, key: Option<TimerKey>) {
        if let Some(key) = key {
            self.timers.remove(key);
        }
    }
}

/// `Err(TableFull)` if a table of `len` entries has reached `limit`.
fn ensure_room(table: Table, len: usize, limit: usize) -> Result<(), EndpointError> {
    if len >= limit {
        Err(EndpointError::TableFull { table, limit })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
