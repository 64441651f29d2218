//! [`Registrar`]: the sans-IO state machine of the registration interface, and its builder.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lwm2m_codec::coap::{Message, Type};
use lwm2m_transport::IncomingRequest;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::batch::{Batch, SharedRegistrationStore};
use super::rate_limit::RateLimiter;
use super::{
    AcceptAll, IdentityCheck, Refusal, RegistrarConfig, Registration, RegistrationEvent,
    RegistrationId, RegistrationResponse, RegistrationTable,
};
use crate::store::{NoStore, RegistrationChange, RegistrationStore, StoreError};
use crate::Timestamp;

/// Counters of what the registrar did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegistrarStats {
    /// Successful Registers.
    pub registered: u64,
    /// Successful Updates.
    pub updated: u64,
    /// Successful De-registers.
    pub deregistered: u64,
    /// Registrations removed by expiry.
    pub expired: u64,
    /// Requests refused (any 4.xx or 5.xx answer), rate-limited ones included.
    pub refused: u64,
    /// Registers refused by the rate limit.
    pub rate_limited: u64,
    /// Store writes that failed.
    pub store_errors: u64,
    /// Records the store could not read at start-up (left in the store).
    pub unreadable_records: u64,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
}

/// Building a [`Registrar`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistrarError {
    /// The store could not be read.
    #[error("loading the registrations failed: {0}")]
    Store(#[from] StoreError),
    /// No seed was given and the operating system's random source failed.
    #[error("the operating system's random source failed")]
    Entropy,
}

/// Builds a [`Registrar`]: configuration, store, identity check, random seed.
///
/// ```
/// use lwm2m_server::registration::{Registrar, RegistrarConfig};
/// use lwm2m_server::store::MemoryRegistrationStore;
/// use lwm2m_server::Timestamp;
///
/// let registrar = Registrar::builder()
///     .config(RegistrarConfig::default())
///     .store(MemoryRegistrationStore::new())
///     .seed([7; 32])
///     .build(Timestamp::now())?;
/// assert!(registrar.registrations().is_empty());
/// # Ok::<(), lwm2m_server::registration::RegistrarError>(())
/// ```
#[must_use]
pub struct RegistrarBuilder {
    config: RegistrarConfig,
    store: Box<dyn RegistrationStore>,
    identity: Box<dyn IdentityCheck>,
    seed: Option<[u8; 32]>,
}

impl core::fmt::Debug for RegistrarBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RegistrarBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RegistrarBuilder {
    /// The settings (default: [`RegistrarConfig::default`]).
    pub fn config(mut self, config: RegistrarConfig) -> Self {
        self.config = config;
        self
    }

    /// Where registrations are written through and loaded from (default: [`NoStore`]).
    pub fn store(mut self, store: impl RegistrationStore + 'static) -> Self {
        self.store = Box::new(store);
        self
    }

    /// Who may register as which endpoint (default: [`AcceptAll`], for `NoSec`).
    pub fn identity_check(mut self, check: impl IdentityCheck + 'static) -> Self {
        self.identity = Box::new(check);
        self
    }

    /// Seeds the id generator (default: the operating system's random source). Tests pass a
    /// fixed seed for reproducible ids.
    pub fn seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Loads the stored registrations as of `now` and returns the registrar. Registrations
    /// whose lifetime and grace period ran out while the server was down are removed (from
    /// the store too) and reported as [`RegistrationEvent::Expired`]; if two stored records
    /// name the same endpoint, the most recently updated one is kept.
    pub fn build(mut self, now: Timestamp) -> Result<Registrar, RegistrarError> {
        let seed = if let Some(seed) = self.seed {
            seed
        } else {
            let mut seed = [0u8; 32];
            rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut seed)
                .map_err(|_| RegistrarError::Entropy)?;
            seed
        };
        let loaded = self.store.load()?;
        let store: SharedRegistrationStore = Arc::new(Mutex::new(self.store));
        let mut registrar = Registrar {
            table: RegistrationTable::new(self.config.expiry_grace),
            limiter: self.config.register_rate_limit.map(RateLimiter::new),
            config: self.config,
            store,
            identity: self.identity,
            rng: StdRng::from_seed(seed),
            events: VecDeque::new(),
            batch: Batch::default(),
            stats: RegistrarStats {
                unreadable_records: loaded.unreadable.len() as u64,
                ..RegistrarStats::default()
            },
        };
        let mut registrations = loaded.registrations;
        registrations.sort_by_key(Registration::last_update);
        let mut stale = Vec::new();
        for registration in registrations {
            match registrar.table.insert(registration) {
                Ok(Some(older)) => stale.push(older.id()),
                Ok(None) => {}
                Err(clash) => stale.push(clash.0.id()),
            }
        }
        if !stale.is_empty() {
            let changes: Vec<_> = stale.into_iter().map(RegistrationChange::Remove).collect();
            let written = lock_store(&registrar.store).apply(&changes);
            if written.is_err() {
                registrar.stats.store_errors += 1;
            }
        }
        registrar.expire(now);
        // A failed removal is counted; the records are expired again at the next start.
        let _ = registrar.commit();
        Ok(registrar)
    }
}

/// The registration interface of an LwM2M server, sans-IO: it takes requests on `/rd` and time,
/// and hands back responses, [`RegistrationEvent`]s and its next deadline.
///
/// - `POST /rd?ep=..&lt=..&lwm2m=..&b=..&sms=..` with link-format object links: Register →
///   2.01 with Location-Path `rd`, `{id}` (a new Register of a registered endpoint replaces
///   its registration);
/// - `POST /rd/{id}?lt=..&b=..&sms=..` with optional links: Update → 2.04 (the peer address is
///   updated to the request's source);
/// - `DELETE /rd/{id}`: De-register → 2.02;
/// - a registration whose lifetime plus [`expiry_grace`](RegistrarConfig::expiry_grace) passes
///   without an Update expires.
///
/// Every change is written through to the [`RegistrationStore`] before the answer; when the
/// store fails the change is not made and the client gets 5.00. A driver under load hands over
/// every request that is waiting at once ([`handle_incoming_batch`](Self::handle_incoming_batch)):
/// their changes are written in one store transaction (group commit). Errors get the codes of digest
/// §8/§11 (see [`Refusal`](super::Refusal)). Registers are rate-limited per source.
///
/// The registrar reads no clock: every call takes `now`. Call [`handle_timeout`](Self::handle_timeout)
/// at [`poll_timeout`](Self::poll_timeout) and drain [`poll_event`](Self::poll_event) after each call.
///
/// ```
/// use lwm2m_codec::coap::{Code, Message, MessageBuilder, Type};
/// use lwm2m_server::registration::{Registrar, RegistrationEvent};
/// use lwm2m_server::Timestamp;
///
/// let mut registrar = Registrar::builder().seed([1; 32]).build(Timestamp::UNIX_EPOCH)?;
/// let mut register = MessageBuilder::new(Type::Confirmable, Code::POST, 0x1234);
/// register
///     .uri_path("/rd")
///     .uri_queries("ep=node1&lt=300&lwm2m=1.0&b=U")
///     .content_format(40)
///     .payload(b"</1/0>,</3/0>");
/// let bytes = register.to_vec()?;
/// let request = Message::parse(&bytes)?;
///
/// let now = Timestamp::from_unix_secs(1_000);
/// let response = registrar.handle_request(now, "10.0.0.1:5683".parse()?, &request);
/// assert_eq!(response.code(), Code::CREATED);
/// let id = response.location().unwrap();
/// assert!(matches!(registrar.poll_event(), Some(RegistrationEvent::Registered { .. })));
/// assert_eq!(registrar.registrations().get(id).unwrap().endpoint(), "node1");
///
/// // Without an Update, the registration expires after 300 s plus the 93 s grace period.
/// assert_eq!(registrar.poll_timeout(), Some(Timestamp::from_unix_secs(1_393)));
/// registrar.handle_timeout(Timestamp::from_unix_secs(1_393));
/// assert!(matches!(registrar.poll_event(), Some(RegistrationEvent::Expired { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Registrar {
    pub(super) config: RegistrarConfig,
    pub(super) table: RegistrationTable,
    pub(super) store: SharedRegistrationStore,
    pub(super) identity: Box<dyn IdentityCheck>,
    pub(super) limiter: Option<RateLimiter>,
    pub(super) rng: StdRng,
    events: VecDeque<RegistrationEvent>,
    /// Changes made since the last commit.
    pub(super) batch: Batch,
    pub(super) stats: RegistrarStats,
}

impl core::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Registrar")
            .field("registrations", &self.table.len())
            .field("queued_events", &self.events.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A request as the handlers see it: code and options, the (whole) payload, and its type.
pub(super) struct RequestView<'a> {
    pub(super) message: Message<'a>,
    pub(super) payload: &'a [u8],
    pub(super) confirmable: bool,
}

impl Registrar {
    /// A builder with the defaults.
    pub fn builder() -> RegistrarBuilder {
        RegistrarBuilder {
            config: RegistrarConfig::default(),
            store: Box::new(NoStore),
            identity: Box::new(AcceptAll),
            seed: None,
        }
    }

    /// Whether a request is addressed to the registration interface (its first Uri-Path segment
    /// is `rd`), for a server that routes `/bs` elsewhere.
    pub fn is_registration_request(request: &Message<'_>) -> bool {
        request
            .uri_path()
            .is_ok_and(|mut path| path.next() == Some("rd"))
    }

    /// Handles a request received from `peer` as a parsed datagram (payload included).
    pub fn handle_request(
        &mut self,
        now: Timestamp,
        peer: SocketAddr,
        request: &Message<'_>,
    ) -> RegistrationResponse {
        let view = RequestView {
            message: *request,
            payload: request.payload(),
            confirmable: request.ty() == Type::Confirmable,
        };
        let mut answer = [self.handle(now, peer, &view)];
        self.finish(&mut answer);
        let [answer] = answer;
        answer
    }

    /// Handles a request delivered by the transport's endpoint (a Block1 body arrives whole).
    /// Answer it with `endpoint.respond(id, response.to_response())`.
    pub fn handle_incoming(
        &mut self,
        now: Timestamp,
        peer: SocketAddr,
        request: &IncomingRequest,
    ) -> RegistrationResponse {
        let mut answer = [self.handle_incoming_unstored(now, peer, request)];
        self.finish(&mut answer);
        let [answer] = answer;
        answer
    }

    /// Handles a transport request, leaving its changes in the open batch.
    pub(super) fn handle_incoming_unstored(
        &mut self,
        now: Timestamp,
        peer: SocketAddr,
        request: &IncomingRequest,
    ) -> RegistrationResponse {
        match request.message() {
            Ok(message) => {
                let view = RequestView {
                    message,
                    payload: request.body(),
                    confirmable: request.is_confirmable(),
                };
                self.handle(now, peer, &view)
            }
            Err(e) => self.refuse(Refusal::MalformedMessage(e)),
        }
    }

    pub(super) fn refuse(&mut self, refusal: Refusal) -> RegistrationResponse {
        self.stats.refused += 1;
        match refusal {
            Refusal::RateLimited { .. } => self.stats.rate_limited += 1,
            Refusal::Store(_) => self.stats.store_errors += 1,
            _ => {}
        }
        RegistrationResponse::refused(refusal, self.config.diagnostic_payloads)
    }

    /// Handles one request, leaving its changes in the open batch.
    pub(super) fn handle(
        &mut self,
        now: Timestamp,
        peer: SocketAddr,
        request: &RequestView<'_>,
    ) -> RegistrationResponse {
        // Anything past its deadline is gone before the request is looked at: an Update that
        // arrives after the grace period gets 4.04 even if no timer fired yet.
        self.expire(now);
        match self.dispatch(now, peer, request) {
            Ok(response) => response,
            Err(refusal) => self.refuse(refusal),
        }
    }

    /// Removes every registration whose deadline is at or before `now` (reported as
    /// [`RegistrationEvent::Expired`]).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.expire(now);
        // A failed removal is counted in the stats and harmless (see `expire`).
        let _ = self.commit();
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next: the earliest
    /// registration deadline.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.table.next_deadline()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RegistrationEvent> {
        self.events.pop_front()
    }

    /// The registrations.
    pub fn registrations(&self) -> &RegistrationTable {
        &self.table
    }

    /// The registration with this id.
    pub fn get(&self, id: RegistrationId) -> Option<&Registration> {
        self.table.get(id)
    }

    /// The registration of this endpoint.
    pub fn by_endpoint(&self, endpoint: &str) -> Option<&Registration> {
        self.table.by_endpoint(endpoint)
    }

    /// The settings.
    pub fn config(&self) -> &RegistrarConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> RegistrarStats {
        self.stats
    }

    pub(super) fn push_event(&mut self, event: RegistrationEvent) {
        if self.config.max_queued_events == 0 {
            self.stats.events_dropped += 1;
            return;
        }
        while self.events.len() >= self.config.max_queued_events {
            self.events.pop_front();
            self.stats.events_dropped += 1;
        }
        self.events.push_back(event);
    }

    /// Removes the registrations past their deadline; their removal from the store goes with
    /// the open batch. It stands even if that write fails: the stored record is past its
    /// deadline, so the next start-up expires it again.
    pub(super) fn expire(&mut self, now: Timestamp) {
        while let Some(registration) = self.table.pop_expired(now) {
            self.batch.expired(registration.id());
            self.stats.expired += 1;
            self.push_event(RegistrationEvent::Expired { registration });
        }
    }
}

fn lock_store(store: &SharedRegistrationStore) -> MutexGuard<'_, Box<dyn RegistrationStore>> {
    // A store call is a whole operation (all or none): a panic inside one leaves it usable.
    store.lock().unwrap_or_else(PoisonError::into_inner)
}
