//! [`SessionTable`]: the DTLS sessions of one UDP socket, keyed by peer address, sans-IO.
//!
//! On the server side it answers every `ClientHello` without a valid cookie with a stateless
//! `HelloVerifyRequest`, so a spoofed source costs one HMAC and leaves no state; only a `ClientHello`
//! that returns the cookie (proving the source receives what is sent to it) creates a session,
//! within the half-open caps of [`Limits`]. A new handshake from a peer that already has a
//! session (a rebooted client, RFC 6347 §4.2.8) runs beside the old session, which keeps working
//! until the new one completes and replaces it. The same table makes client sessions
//! ([`SessionTable::connect`]), so one socket can play both roles.

mod slot;

use std::collections::{BTreeSet, HashMap, VecDeque};

use slot::{ClientState, Entry, HalfOpen, Slot, Timers, Which};

use super::backend::Output;
use super::config::{ClientConfig, Limits, ServerConfig};
use super::cookie::{CookieJar, COOKIE_LEN};
use super::credentials::{Handshake, Role};
use super::error::{Alert, DtlsError, Limit};
use super::event::{Event, Transmit};
use super::peer::PeerAddress;
use super::record::{self, ClientHello, Summary};
use super::session::{CloseReason, Session, SessionEvent, SessionState};
use crate::time::Instant;

/// Established sessions compared when the live cap evicts one.
const LRU_CANDIDATES: usize = 32;

/// Counters and sizes, for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableStats {
    /// Sessions held (established and in handshake).
    pub sessions: usize,
    /// Established sessions.
    pub established: usize,
    /// Server handshakes in progress (counted against the half-open caps).
    pub half_open: usize,
    /// `HelloVerifyRequests` sent.
    pub hello_verify_requests: u64,
    /// Handshakes completed.
    pub handshakes_completed: u64,
    /// Handshakes and sessions that failed.
    pub failures: u64,
    /// Datagrams dropped (malformed, unknown peer, refused by a cap).
    pub dropped: u64,
    /// Server sessions evicted so far ([`Limits::evict_idle_after`],
    /// [`Limits::max_live_sessions`]).
    pub evicted: u64,
    /// Client re-handshakes started because the server answered with an alert at epoch 0 (it had
    /// lost or evicted the session).
    pub rehandshakes: u64,
}

/// The DTLS sessions of one socket, keyed by peer `P` (normally a
/// [`SocketAddr`](std::net::SocketAddr)).
///
/// Feed it every datagram ([`handle_datagram`](Self::handle_datagram)) and the time
/// ([`handle_timeout`](Self::handle_timeout)); send what
/// [`poll_transmit`](Self::poll_transmit) returns, act on [`poll_event`](Self::poll_event)
/// (decrypted CoAP messages arrive as [`Event::Data`]) and sleep until
/// [`poll_timeout`](Self::poll_timeout).
///
/// ```
/// use std::collections::HashMap;
/// use std::net::SocketAddr;
/// use lwm2m_transport::Instant;
/// use lwm2m_transport::dtls::*;
///
/// let store = HashMap::from([(b"dev-1".to_vec(), b"0123456789abcdef".to_vec())]);
/// let server_config = ServerConfig::builder().psk_store(store).build()?;
/// let mut server = SessionTable::new(Instant::ZERO, Some(server_config), Limits::default())?;
/// let mut client = SessionTable::new(Instant::ZERO, None, Limits::default())?;
/// let (server_addr, client_addr): (SocketAddr, SocketAddr) =
///     ("10.0.0.1:5684".parse()?, "10.0.0.2:40000".parse()?);
///
/// let psk = Psk::new(b"dev-1", b"0123456789abcdef")?;
/// let config = ClientConfig::builder(ClientCredentials::Psk(psk)).build()?;
/// client.connect(Instant::ZERO, server_addr, &config)?;
/// client.send(Instant::ZERO, &server_addr, b"hello")?; // queued until connected
///
/// // Carry datagrams both ways until both sides are quiet.
/// loop {
///     let mut moved = false;
///     while let Some(t) = client.poll_transmit() {
///         server.handle_datagram(Instant::ZERO, client_addr, &t.contents)?;
///         moved = true;
///     }
///     while let Some(t) = server.poll_transmit() {
///         client.handle_datagram(Instant::ZERO, server_addr, &t.contents)?;
///         moved = true;
///     }
///     if !moved { break; }
/// }
/// let events: Vec<_> = std::iter::from_fn(|| server.poll_event()).collect();
/// assert!(matches!(&events[0], Event::Connected { handshake, .. }
///     if handshake.identity.name() == Some("dev-1")));
/// assert!(matches!(&events[1], Event::Data { data, .. } if &data[..] == b"hello"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SessionTable<P: PeerAddress> {
    server: Option<ServerConfig>,
    cookies: CookieJar,
    limits: Limits,
    slots: HashMap<P, Slot>,
    clients: HashMap<P, ClientState>,
    half_open: HalfOpen<P::Source>,
    entries: usize,
    /// Established sessions (each slot's `current`).
    live: usize,
    timers: Timers<P>,
    transmits: VecDeque<Transmit<P>>,
    events: VecDeque<Event<P>>,
    stats: TableStats,
    next_id: u64,
}

impl<P: PeerAddress> core::fmt::Debug for SessionTable<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionTable")
            .field("accepting", &self.server.is_some())
            .field("limits", &self.limits)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<P: PeerAddress> SessionTable<P> {
    /// A table; with `server`, it accepts DTLS clients. `now` starts the cookie secret's life.
    pub fn new(
        now: Instant,
        server: Option<ServerConfig>,
        limits: Limits,
    ) -> Result<SessionTable<P>, DtlsError> {
        Ok(SessionTable {
            server,
            cookies: CookieJar::new(now, limits.cookie_secret_lifetime)?,
            limits,
            slots: HashMap::new(),
            clients: HashMap::new(),
            half_open: HalfOpen {
                total: 0,
                by_source: HashMap::new(),
            },
            entries: 0,
            live: 0,
            timers: Timers {
                set: BTreeSet::new(),
                peers: HashMap::new(),
            },
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: TableStats::default(),
            next_id: 0,
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Counters and sizes.
    pub fn stats(&self) -> TableStats {
        let established = self
            .slots
            .values()
            .filter(|s| {
                s.current
                    .as_ref()
                    .is_some_and(|e| e.session.state() == SessionState::Established)
            })
            .count();
        TableStats {
            sessions: self.entries,
            established,
            half_open: self.half_open.total,
            ..self.stats
        }
    }

    /// The handshake of the established session with `peer` (who it is, which suite).
    pub fn handshake(&self, peer: &P) -> Option<&Handshake> {
        self.slots.get(peer)?.current.as_ref()?.session.handshake()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<P>> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event<P>> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.set.first().map(|&(at, _)| at)
    }

    /// Handles a datagram from `peer`. Never panics; `Err` says why the datagram was dropped or
    /// what it broke (a broken session is also reported as [`Event::Failed`]).
    // By value like `Endpoint::handle_datagram`: peers are small, usually `Copy`, addresses.
    #[allow(clippy::needless_pass_by_value)]
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        peer: P,
        datagram: &[u8],
    ) -> Result<(), DtlsError> {
        let result = self.route(now, &peer, datagram);
        if matches!(
            result,
            Err(DtlsError::Malformed { .. }
                | DtlsError::DatagramTooLarge { .. }
                | DtlsError::NoSession
                | DtlsError::NotAccepting
                | DtlsError::Limit(_)
                | DtlsError::Closed)
        ) {
            self.stats.dropped += 1;
        }
        result
    }

    fn route(&mut self, now: Instant, peer: &P, datagram: &[u8]) -> Result<(), DtlsError> {
        if datagram.len() > self.limits.max_datagram_len {
            return Err(DtlsError::DatagramTooLarge {
                len: datagram.len(),
                max: self.limits.max_datagram_len,
            });
        }
        let malformed = |(offset, problem)| DtlsError::Malformed { offset, problem };
        let summary = record::validate(datagram).map_err(malformed)?;
        if let Some(hello) = record::client_hello(datagram).map_err(malformed)? {
            return self.client_hello(now, peer, datagram, summary, &hello);
        }
        let Some(slot) = self.slots.get_mut(peer) else {
            if self.server.is_some() && summary.encrypted {
                // A record of a session this server does not hold (evicted, or lost in a
                // restart): an unauthenticated epoch-0 alert, smaller than the record, tells the
                // client to handshake again. Libraries that ignore it retry on their own timers.
                self.transmits.push_back(Transmit {
                    destination: peer.clone(),
                    contents: record::fatal_alert(0, Alert::UNEXPECTED_MESSAGE.0),
                });
            }
            return Err(DtlsError::NoSession);
        };
        if summary.plaintext_alert && record::is_lost_session_alert(datagram) {
            let current = slot.current.as_ref().filter(|e| {
                e.session.role() == Role::Client && e.session.state() == SessionState::Established
            });
            match current {
                // The server has no session for us; the alert is unauthenticated, so the old
                // session stays until the new handshake completes.
                Some(_) if slot.pending.is_none() => return self.rehandshake_lost(now, peer),
                // Further answers to records sent before the re-handshake started.
                Some(e) if e.stale => return Ok(()),
                _ => {}
            }
        }
        // Plaintext and handshake records belong to a handshake in progress; encrypted
        // application data and alerts to the established session (a replacing handshake only
        // carries application data once it is complete, and then it is the established one).
        let which = match (&slot.current, &slot.pending) {
            (Some(_), Some(_)) if summary.plaintext || summary.handshake => Which::Pending,
            (Some(_), _) => Which::Current,
            (None, Some(_)) => Which::Pending,
            (None, None) => return Err(DtlsError::NoSession),
        };
        let has_current = slot.current.is_some();
        let entry = slot.get_mut(which).ok_or(DtlsError::NoSession)?;
        let result = entry.session.handle_records(now, datagram, summary);
        let settled = collect(
            Sinks {
                transmits: &mut self.transmits,
                events: &mut self.events,
                stats: &mut self.stats,
                timers: &mut self.timers,
            },
            peer,
            which,
            has_current,
            entry,
        );
        self.finish_settle(peer, which, settled);
        result
    }

    fn feed(
        &mut self,
        now: Instant,
        peer: &P,
        which: Which,
        datagram: &[u8],
        summary: Summary,
    ) -> Result<(), DtlsError> {
        let entry = self
            .slots
            .get_mut(peer)
            .and_then(|s| s.get_mut(which))
            .ok_or(DtlsError::NoSession)?;
        let result = entry.session.handle_records(now, datagram, summary);
        self.settle(peer, which);
        result
    }

    fn client_hello(
        &mut self,
        now: Instant,
        peer: &P,
        datagram: &[u8],
        summary: Summary,
        hello: &ClientHello<'_>,
    ) -> Result<(), DtlsError> {
        let Some(server) = self.server.clone() else {
            return Err(DtlsError::NotAccepting);
        };
        self.cookies.rotate(now);
        let address = peer.cookie_bytes();
        if !self
            .cookies
            .verify(address.as_ref(), hello.random, hello.cookie)
        {
            let cookie = self.cookies.cookie(address.as_ref(), hello.random);
            self.transmits.push_back(Transmit {
                destination: peer.clone(),
                contents: record::hello_verify_request(hello, &cookie),
            });
            self.stats.hello_verify_requests += 1;
            return Ok(());
        }
        let slot = self.slots.get(peer);
        let same_cookie = |e: &Option<Box<Entry>>| {
            e.as_ref()
                .and_then(|e| e.cookie)
                .is_some_and(|c| c[..] == *hello.cookie)
        };
        if slot.is_some_and(|s| same_cookie(&s.pending)) {
            // A retransmitted ClientHello: the handshake's own business.
            return self.feed(now, peer, Which::Pending, datagram, summary);
        }
        if slot.is_some_and(|s| same_cookie(&s.current)) {
            // A late duplicate of the ClientHello that started the established session.
            return Ok(());
        }
        let replacing = slot.is_some_and(|s| s.current.is_some());
        let superseded = slot.and_then(|s| s.pending.as_ref()).map(|e| e.counted);
        // A pending handshake from this peer is superseded by this one, so it frees its place.
        let held_counted = usize::from(superseded == Some(true));
        if !replacing && superseded.is_none() && self.entries >= self.limits.max_sessions {
            return Err(DtlsError::Limit(Limit::Sessions {
                limit: self.limits.max_sessions,
            }));
        }
        if self.half_open.total - held_counted >= self.limits.max_half_open {
            return Err(DtlsError::Limit(Limit::HalfOpen {
                limit: self.limits.max_half_open,
            }));
        }
        let source = peer.source();
        let from_source = self.half_open.by_source.get(&source).copied().unwrap_or(0);
        if from_source - held_counted.min(from_source) >= self.limits.max_half_open_per_source {
            return Err(DtlsError::Limit(Limit::HalfOpenPerSource {
                limit: self.limits.max_half_open_per_source,
            }));
        }
        self.remove(peer, Which::Pending);
        let mut out = Output::default();
        let mut cookie = [0; COOKIE_LEN];
        cookie.copy_from_slice(hello.cookie);
        let engine = match server
            .backend
            .accept(hello, datagram, summary, &cookie, &mut out)
        {
            Ok(engine) => engine,
            Err(error) => {
                // The handshake failed on its first message (no shared cipher, ...): the alert
                // still goes out.
                for contents in out.transmits {
                    self.transmits.push_back(Transmit {
                        destination: peer.clone(),
                        contents,
                    });
                }
                self.stats.failures += 1;
                self.events.push_back(Event::Failed {
                    peer: peer.clone(),
                    error: error.clone(),
                });
                return Err(error);
            }
        };
        let session = Session::from_engine(now, engine, Role::Server, &self.limits, out);
        self.half_open.add(source);
        self.insert_pending(peer, session, Some(cookie), true);
        Ok(())
    }

    fn insert_pending(
        &mut self,
        peer: &P,
        session: Session,
        cookie: Option<[u8; COOKIE_LEN]>,
        counted: bool,
    ) {
        self.next_id += 1;
        let entry = Entry {
            id: self.next_id,
            session,
            deadline: None,
            cookie,
            counted,
            stale: false,
        };
        self.slots.entry(peer.clone()).or_default().pending = Some(Box::new(entry));
        self.entries += 1;
        self.timers.peers.insert(self.next_id, peer.clone());
        self.settle(peer, Which::Pending);
    }

    /// Starts a client handshake with `peer` using `config` (its `ClientHello` is ready in
    /// [`poll_transmit`](Self::poll_transmit)). An established session with `peer` keeps working
    /// until the new one completes.
    #[allow(clippy::needless_pass_by_value)]
    pub fn connect(
        &mut self,
        now: Instant,
        peer: P,
        config: &ClientConfig,
    ) -> Result<(), DtlsError> {
        self.clients.insert(
            peer.clone(),
            ClientState {
                config: config.clone(),
                resumption: None,
            },
        );
        self.start_client(now, &peer)
    }

    /// Starts a new client handshake with `peer` with the configuration of the last
    /// [`connect`](Self::connect), resuming the last session if the server still knows it (an
    /// abbreviated handshake). For queue-mode wake-ups or a suspected NAT rebinding.
    pub fn rehandshake(&mut self, now: Instant, peer: &P) -> Result<(), DtlsError> {
        self.start_client(now, peer)
    }

    /// The server answered a client session with an epoch-0 alert: it no longer holds it. A new
    /// handshake (resuming where the backend can) takes over, carrying the datagrams the server
    /// had not answered and those sent until it completes.
    fn rehandshake_lost(&mut self, now: Instant, peer: &P) -> Result<(), DtlsError> {
        let unanswered = match self.slots.get_mut(peer).and_then(|s| s.current.as_mut()) {
            Some(entry) => {
                entry.stale = true;
                entry.session.take_unanswered()
            }
            None => return Err(DtlsError::NoSession),
        };
        self.start_client(now, peer)?;
        self.stats.rehandshakes += 1;
        if let Some(entry) = self.slots.get_mut(peer).and_then(|s| s.pending.as_mut()) {
            for datagram in unanswered {
                // The queue's cap is the unanswered list's cap: nothing is refused here.
                let _ = entry.session.send(now, &datagram);
            }
        }
        self.settle(peer, Which::Pending);
        Ok(())
    }

    fn start_client(&mut self, now: Instant, peer: &P) -> Result<(), DtlsError> {
        let state = self.clients.get(peer).ok_or(DtlsError::NoSession)?;
        let slot = self.slots.get(peer);
        let present = slot.is_some_and(|s| !s.is_empty());
        if !present && self.entries >= self.limits.max_sessions {
            return Err(DtlsError::Limit(Limit::Sessions {
                limit: self.limits.max_sessions,
            }));
        }
        let session =
            Session::connect_resuming(now, &state.config, &self.limits, state.resumption.as_ref())?;
        self.remove(peer, Which::Pending);
        self.insert_pending(peer, session, None, false);
        Ok(())
    }

    /// Encrypts one application datagram for `peer`: through the established session, or queued
    /// in a client handshake in progress.
    pub fn send(&mut self, now: Instant, peer: &P, plaintext: &[u8]) -> Result<(), DtlsError> {
        let slot = self.slots.get_mut(peer).ok_or(DtlsError::NoSession)?;
        let (established, stale) = slot.current.as_ref().map_or((false, false), |e| {
            (e.session.state() == SessionState::Established, e.stale)
        });
        let pending_client = slot
            .pending
            .as_ref()
            .is_some_and(|e| e.session.role() == Role::Client);
        let which = match (pending_client, established) {
            (true, true) if stale => Which::Pending,
            (_, true) => Which::Current,
            (true, false) => Which::Pending,
            (false, false) => return Err(DtlsError::NoSession),
        };
        let has_current = slot.current.is_some();
        let entry = slot.get_mut(which).ok_or(DtlsError::NoSession)?;
        let result = entry.session.send(now, plaintext);
        let settled = collect(
            Sinks {
                transmits: &mut self.transmits,
                events: &mut self.events,
                stats: &mut self.stats,
                timers: &mut self.timers,
            },
            peer,
            which,
            has_current,
            entry,
        );
        self.finish_settle(peer, which, settled);
        result
    }

    /// Closes the sessions with `peer` (`close_notify`), reporting [`Event::Closed`].
    pub fn close(&mut self, now: Instant, peer: &P) {
        for which in [Which::Pending, Which::Current] {
            if let Some(entry) = self.slots.get_mut(peer).and_then(|s| s.get_mut(which)) {
                entry.session.close(now);
                self.settle(peer, which);
            }
        }
    }

    /// Closes every session (`close_notify` to each peer), for a socket that shuts down.
    pub fn close_all(&mut self, now: Instant) {
        let peers: Vec<P> = self.slots.keys().cloned().collect();
        for peer in peers {
            self.close(now, &peer);
        }
    }

    /// Retransmits, fails handshakes that ran out of time, evicts idle sessions, rotates the
    /// cookie secret.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.cookies.rotate(now);
        // Collect first: each session is visited once per call even if it re-arms for `now`.
        let mut due = Vec::new();
        while let Some(&(at, id)) = self.timers.set.first() {
            if at > now {
                break;
            }
            self.timers.set.pop_first();
            due.push(id);
        }
        for id in due {
            let Some(peer) = self.timers.peers.get(&id).cloned() else {
                continue;
            };
            let Some(slot) = self.slots.get_mut(&peer) else {
                continue;
            };
            let which = if slot.current.as_ref().is_some_and(|e| e.id == id) {
                Which::Current
            } else if slot.pending.as_ref().is_some_and(|e| e.id == id) {
                Which::Pending
            } else {
                continue;
            };
            if let Some(entry) = slot.get_mut(which) {
                entry.deadline = None;
                if which == Which::Current && entry.session.evict_due(now) {
                    self.evict(&peer);
                    continue;
                }
                entry.session.handle_timeout(now);
            }
            self.settle(&peer, which);
        }
    }

    /// Moves a session's output to the table, promotes a completed handshake, removes a closed
    /// session and re-arms the timer.
    fn settle(&mut self, peer: &P, which: Which) {
        let Some(slot) = self.slots.get_mut(peer) else {
            return;
        };
        let has_current = slot.current.is_some();
        let Some(entry) = slot.get_mut(which) else {
            return;
        };
        let settled = collect(
            Sinks {
                transmits: &mut self.transmits,
                events: &mut self.events,
                stats: &mut self.stats,
                timers: &mut self.timers,
            },
            peer,
            which,
            has_current,
            entry,
        );
        self.finish_settle(peer, which, settled);
    }

    /// What [`collect`] leaves to the whole table: removing a closed session, promoting a
    /// completed handshake.
    fn finish_settle(&mut self, peer: &P, which: Which, settled: Settled) {
        if settled.closed {
            self.remove(peer, which);
            // A re-handshake after the server said it lost the session failed: the stale
            // session cannot carry anything either.
            let stale = self
                .slots
                .get(peer)
                .and_then(|s| s.current.as_ref())
                .is_some_and(|e| e.stale);
            if which == Which::Pending && stale {
                self.remove(peer, Which::Current);
            }
            return;
        }
        if settled.completed && which == Which::Pending {
            self.promote(peer);
        }
    }

    /// A completed handshake becomes the peer's session; the one it replaces is dropped without
    /// `close_notify` (its peer is gone: the address now belongs to the new handshake).
    fn promote(&mut self, peer: &P) {
        self.remove(peer, Which::Current);
        let Some(slot) = self.slots.get_mut(peer) else {
            return;
        };
        let Some(mut entry) = slot.pending.take() else {
            return;
        };
        if entry.counted {
            entry.counted = false;
            self.half_open.remove(&peer.source());
        }
        if entry.session.role() == Role::Client {
            if let Some(state) = self.clients.get_mut(peer) {
                state.resumption = entry.session.resumption();
            }
        }
        slot.current = Some(entry);
        self.live += 1;
        while self.live > self.limits.max_live_sessions {
            let Some(peer) = self.least_recently_active() else {
                break;
            };
            self.evict(&peer);
        }
    }

    /// The established server session that was active least recently, near enough: of the
    /// first [`LRU_CANDIDATES`] established server sessions in deadline order (a deadline is the
    /// last activity plus a fixed idle time, or an earlier retransmission), the one with the
    /// oldest activity. Exact LRU would cost an ordered index updated on every datagram.
    fn least_recently_active(&self) -> Option<P> {
        self.timers
            .set
            .iter()
            .filter_map(|(_, id)| {
                let peer = self.timers.peers.get(id)?;
                let entry = self.slots.get(peer)?.current.as_ref()?;
                (entry.id == *id
                    && entry.session.role() == Role::Server
                    && entry.session.state() == SessionState::Established)
                    .then(|| (entry.session.last_activity(), peer))
            })
            .take(LRU_CANDIDATES)
            .min_by_key(|(last, _)| *last)
            .map(|(_, peer)| peer.clone())
    }

    /// Drops an established server session without `close_notify` (its client may resume it).
    fn evict(&mut self, peer: &P) {
        if let Some(entry) = self.slots.get_mut(peer).and_then(|s| s.current.as_mut()) {
            entry.session.evict();
        }
        self.remove(peer, Which::Current);
        self.stats.evicted += 1;
        self.events.push_back(Event::Closed {
            peer: peer.clone(),
            reason: CloseReason::Evicted,
        });
    }

    fn remove(&mut self, peer: &P, which: Which) {
        let Some(slot) = self.slots.get_mut(peer) else {
            return;
        };
        let Some(entry) = slot.take(which) else {
            return;
        };
        if which == Which::Current {
            self.live = self.live.saturating_sub(1);
        }
        if slot.is_empty() {
            self.slots.remove(peer);
        }
        self.entries = self.entries.saturating_sub(1);
        if let Some(at) = entry.deadline {
            self.timers.set.remove(&(at, entry.id));
        }
        self.timers.peers.remove(&entry.id);
        if entry.counted {
            self.half_open.remove(&peer.source());
        }
    }
}

/// The table's queues and timers, borrowed beside one of its slots.
struct Sinks<'a, P: PeerAddress> {
    transmits: &'a mut VecDeque<Transmit<P>>,
    events: &'a mut VecDeque<Event<P>>,
    stats: &'a mut TableStats,
    timers: &'a mut Timers<P>,
}

/// What a session's output asks of the table.
#[derive(Clone, Copy)]
struct Settled {
    closed: bool,
    completed: bool,
}

/// Moves a session's datagrams and events to the table and re-arms its timer, with the entry
/// already in hand: the peer's slot is looked up once per datagram, not once per step.
// `Sinks` is a bundle of borrows, built for this one call.
#[allow(clippy::needless_pass_by_value)]
fn collect<P: PeerAddress>(
    sinks: Sinks<'_, P>,
    peer: &P,
    which: Which,
    has_current: bool,
    entry: &mut Entry,
) -> Settled {
    while let Some(contents) = entry.session.poll_transmit() {
        sinks.transmits.push_back(Transmit {
            destination: peer.clone(),
            contents,
        });
    }
    let mut completed = false;
    while let Some(event) = entry.session.poll_event() {
        let peer = peer.clone();
        sinks.events.push_back(match event {
            SessionEvent::Connected(handshake) => {
                completed = true;
                sinks.stats.handshakes_completed += 1;
                Event::Connected {
                    peer,
                    handshake,
                    replaced: which == Which::Pending && has_current,
                }
            }
            SessionEvent::Data(data) => Event::Data { peer, data },
            SessionEvent::Closed(reason) => Event::Closed { peer, reason },
            SessionEvent::Failed(error) => {
                sinks.stats.failures += 1;
                Event::Failed { peer, error }
            }
        });
    }
    let closed = entry.session.state() == SessionState::Closed;
    if !closed {
        let deadline = entry.session.poll_timeout();
        if entry.deadline != deadline {
            if let Some(old) = entry.deadline {
                sinks.timers.set.remove(&(old, entry.id));
            }
            if let Some(at) = deadline {
                sinks.timers.set.insert((at, entry.id));
            }
            entry.deadline = deadline;
        }
    }
    Settled { closed, completed }
}
