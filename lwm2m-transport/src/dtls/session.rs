//! [`Session`]: one DTLS connection with one peer, sans-IO. It takes datagrams and time and hands
//! back datagrams to send, [`SessionEvent`]s and its next deadline; the DTLS library behind it
//! never sees a socket or a clock.

use std::collections::VecDeque;

use bytes::Bytes;

use super::backend::{Engine, EngineEvent, Output, Resumption};
use super::config::{ClientConfig, Limits};
use super::credentials::{Handshake, Role};
use super::error::{DtlsError, HandshakeFailure, Limit};
use super::record::{self, Summary};
use crate::time::Instant;

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// The handshake runs.
    Handshaking,
    /// Application data flows.
    Established,
    /// Closed or failed; it only drains its last datagrams and events.
    Closed,
}

/// Why a session closed without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The peer sent `close_notify`.
    PeerClosed,
    /// This side closed it.
    Local,
    /// No datagram for [`Limits::idle_timeout`].
    Idle,
    /// A server session evicted ([`Limits::evict_idle_after`], [`Limits::max_live_sessions`])
    /// without `close_notify`: its client may resume it.
    Evicted,
}

/// What a [`Session`] reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// The handshake completed.
    Connected(Handshake),
    /// A decrypted application datagram.
    Data(Bytes),
    /// The session closed.
    Closed(CloseReason),
    /// The session failed (handshake failure, fatal alert, timeout).
    Failed(DtlsError),
}

/// One DTLS 1.2 connection with one peer.
///
/// A client session comes from [`Session::connect`]; server sessions are created by a
/// [`SessionTable`](crate::dtls::SessionTable), which does the cookie exchange first. Drive it
/// with [`handle_datagram`](Session::handle_datagram) and
/// [`handle_timeout`](Session::handle_timeout), then drain
/// [`poll_transmit`](Session::poll_transmit) and [`poll_event`](Session::poll_event) and sleep
/// until [`poll_timeout`](Session::poll_timeout).
///
/// ```
/// use lwm2m_transport::Instant;
/// use lwm2m_transport::dtls::{ClientConfig, ClientCredentials, Limits, Psk, Session, SessionState};
/// let psk = Psk::new(b"dev-1", b"0123456789abcdef")?;
/// let config = ClientConfig::builder(ClientCredentials::Psk(psk)).build()?;
/// let mut session = Session::connect(Instant::ZERO, &config, &Limits::default())?;
/// let hello = session.poll_transmit().expect("a `ClientHello`");
/// assert_eq!(hello[0], 22); // a handshake record, to be sent to the server
/// assert_eq!(session.state(), SessionState::Handshaking);
/// // Data sent now is queued until the handshake completes.
/// session.send(Instant::ZERO, b"CoAP register")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Session {
    engine: Box<dyn Engine>,
    role: Role,
    state: SessionState,
    handshake: Option<Handshake>,
    started: Instant,
    last_activity: Instant,
    engine_deadline: Option<Instant>,
    limits: Limits,
    transmits: VecDeque<Bytes>,
    events: VecDeque<SessionEvent>,
    queued: VecDeque<Bytes>,
    /// A client's datagrams sent since the server last sent anything: resent through a new
    /// session if the server turns out to have lost this one.
    unanswered: VecDeque<Bytes>,
}

std::thread_local! {
    /// The engines' output buffers, shared by this thread's sessions and reused by every call
    /// (emptied by `absorb`), so a record costs no allocation of its own here and a session
    /// holds none.
    static SCRATCH: core::cell::Cell<Output> = core::cell::Cell::new(Output::default());
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("handshake", &self.handshake)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Starts a client handshake; the `ClientHello` is ready in [`poll_transmit`](Self::poll_transmit).
    pub fn connect(
        now: Instant,
        config: &ClientConfig,
        limits: &Limits,
    ) -> Result<Session, DtlsError> {
        Session::connect_resuming(now, config, limits, None)
    }

    pub(crate) fn connect_resuming(
        now: Instant,
        config: &ClientConfig,
        limits: &Limits,
        resume: Option<&Resumption>,
    ) -> Result<Session, DtlsError> {
        let mut out = Output::default();
        let engine = config.backend.connect(resume, &mut out)?;
        Ok(Session::from_engine(now, engine, Role::Client, limits, out))
    }

    /// A session around a fresh engine and what it produced so far.
    pub(crate) fn from_engine(
        now: Instant,
        engine: Box<dyn Engine>,
        role: Role,
        limits: &Limits,
        out: Output,
    ) -> Session {
        let mut session = Session {
            engine,
            role,
            state: SessionState::Handshaking,
            handshake: None,
            started: now,
            last_activity: now,
            engine_deadline: None,
            limits: limits.clone(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            queued: VecDeque::new(),
            unanswered: VecDeque::new(),
        };
        let mut out = out;
        session.absorb(now, &mut out, Ok(()));
        session
    }

    /// This side's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Where the session is.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The completed handshake (peer identity, suite), once established.
    pub fn handshake(&self) -> Option<&Handshake> {
        self.handshake.as_ref()
    }

    /// The largest plaintext [`send`](Self::send) accepts.
    pub fn max_plaintext(&self) -> usize {
        self.engine.max_plaintext()
    }

    /// Handles a datagram from the peer. `Err` says why it was dropped or what it broke; a
    /// failure also ends the session with [`SessionEvent::Failed`].
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) -> Result<(), DtlsError> {
        if datagram.len() > self.limits.max_datagram_len {
            return Err(DtlsError::DatagramTooLarge {
                len: datagram.len(),
                max: self.limits.max_datagram_len,
            });
        }
        let summary = record::validate(datagram)
            .map_err(|(offset, problem)| DtlsError::Malformed { offset, problem })?;
        self.handle_records(now, datagram, summary)
    }

    /// [`handle_datagram`](Self::handle_datagram) after validation.
    pub(crate) fn handle_records(
        &mut self,
        now: Instant,
        datagram: &[u8],
        summary: Summary,
    ) -> Result<(), DtlsError> {
        if self.state == SessionState::Closed {
            return Err(DtlsError::Closed);
        }
        self.last_activity = now;
        let mut out = SCRATCH.take();
        let result = self.engine.handle_datagram(datagram, summary, &mut out);
        self.absorb(now, &mut out, result.clone());
        SCRATCH.set(out);
        result
    }

    /// Retransmits, or ends a handshake or an idle session, when their time has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            SessionState::Closed => return,
            SessionState::Handshaking => {
                let elapsed = now.saturating_duration_since(self.started);
                if elapsed >= self.limits.handshake_timeout {
                    let mut out = Output::default();
                    self.engine.close(&mut out);
                    let failure = HandshakeFailure::Timeout { after: elapsed };
                    self.absorb(now, &mut out, Err(failure.into()));
                    return;
                }
            }
            SessionState::Established => {
                if now.saturating_duration_since(self.last_activity) >= self.limits.idle_timeout {
                    self.finish(now, CloseReason::Idle);
                    return;
                }
            }
        }
        if self.engine_deadline.is_some_and(|d| d <= now) {
            let mut out = Output::default();
            let result = self.engine.handle_timeout(&mut out).map_err(|e| match e {
                DtlsError::Handshake(HandshakeFailure::Timeout { .. }) => {
                    HandshakeFailure::Timeout {
                        after: now.saturating_duration_since(self.started),
                    }
                    .into()
                }
                other => other,
            });
            self.absorb(now, &mut out, result);
        }
    }

    /// The next datagram to send to the peer.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let limit = match self.state {
            SessionState::Closed => return None,
            SessionState::Handshaking => self.started.saturating_add(self.limits.handshake_timeout),
            SessionState::Established => {
                let idle = self.last_activity.saturating_add(self.limits.idle_timeout);
                match self.evict_after() {
                    Some(after) => idle.min(self.last_activity.saturating_add(after)),
                    None => idle,
                }
            }
        };
        Some(self.engine_deadline.map_or(limit, |d| d.min(limit)))
    }

    /// Encrypts one application datagram. Before the handshake completes it is queued (up to
    /// [`Limits::max_queued_plaintext`]) and sent once connected.
    pub fn send(&mut self, now: Instant, plaintext: &[u8]) -> Result<(), DtlsError> {
        let max = self.engine.max_plaintext();
        if plaintext.len() > max {
            return Err(DtlsError::PlaintextTooLarge {
                len: plaintext.len(),
                max,
            });
        }
        match self.state {
            SessionState::Closed => Err(DtlsError::Closed),
            SessionState::Handshaking => {
                if self.queued.len() >= self.limits.max_queued_plaintext {
                    return Err(DtlsError::Limit(Limit::QueuedPlaintext {
                        limit: self.limits.max_queued_plaintext,
                    }));
                }
                self.queued.push_back(Bytes::copy_from_slice(plaintext));
                Ok(())
            }
            SessionState::Established => {
                self.last_activity = now;
                if self.role == Role::Client && self.limits.max_queued_plaintext > 0 {
                    if self.unanswered.len() >= self.limits.max_queued_plaintext {
                        self.unanswered.pop_front();
                    }
                    self.unanswered.push_back(Bytes::copy_from_slice(plaintext));
                }
                let mut out = SCRATCH.take();
                let result = self.engine.send(plaintext, &mut out);
                self.absorb(now, &mut out, result.clone());
                SCRATCH.set(out);
                result
            }
        }
    }

    /// Sends `close_notify` and closes ([`SessionEvent::Closed`] with [`CloseReason::Local`]).
    pub fn close(&mut self, now: Instant) {
        if self.state != SessionState::Closed {
            self.finish(now, CloseReason::Local);
        }
    }

    pub(crate) fn resumption(&self) -> Option<Resumption> {
        self.engine.resumption()
    }

    /// Drops the session silently, leaving the library's resumable state (see
    /// [`Limits::evict_idle_after`]).
    pub(crate) fn evict(&mut self) {
        self.engine.evict();
        self.state = SessionState::Closed;
        self.queued.clear();
    }

    /// How long an established server session may idle before it is evicted.
    fn evict_after(&self) -> Option<core::time::Duration> {
        self.limits
            .evict_idle_after
            .filter(|_| self.role == Role::Server)
    }

    /// Whether this established server session has idled past [`Limits::evict_idle_after`].
    pub(crate) fn evict_due(&self, now: Instant) -> bool {
        self.state == SessionState::Established
            && self
                .evict_after()
                .is_some_and(|after| now.saturating_duration_since(self.last_activity) >= after)
    }

    /// When this session last sent or received a datagram.
    pub(crate) fn last_activity(&self) -> Instant {
        self.last_activity
    }

    /// The client's datagrams the server has not answered (see `unanswered`), oldest first.
    pub(crate) fn take_unanswered(&mut self) -> VecDeque<Bytes> {
        core::mem::take(&mut self.unanswered)
    }

    fn finish(&mut self, now: Instant, reason: CloseReason) {
        let mut out = Output::default();
        self.engine.close(&mut out);
        self.absorb(now, &mut out, Ok(()));
        self.state = SessionState::Closed;
        self.queued.clear();
        self.events.push_back(SessionEvent::Closed(reason));
    }

    /// Takes in (and empties) what the engine produced, then the outcome of the call.
    fn absorb(&mut self, now: Instant, out: &mut Output, result: Result<(), DtlsError>) {
        self.transmits.extend(out.transmits.drain(..));
        for event in out.events.drain(..) {
            match event {
                EngineEvent::Connected(handshake) => {
                    self.state = SessionState::Established;
                    self.handshake = Some(handshake.clone());
                    self.events.push_back(SessionEvent::Connected(handshake));
                    self.flush_queue(now);
                }
                EngineEvent::Data(data) => {
                    self.unanswered.clear();
                    self.events.push_back(SessionEvent::Data(data));
                }
                EngineEvent::PeerClosed => {
                    self.state = SessionState::Closed;
                    self.queued.clear();
                    self.events
                        .push_back(SessionEvent::Closed(CloseReason::PeerClosed));
                }
            }
        }
        if let Err(error) = result {
            if is_fatal(&error) && self.state != SessionState::Closed {
                self.state = SessionState::Closed;
                self.queued.clear();
                self.events.push_back(SessionEvent::Failed(error));
            }
        }
        self.engine_deadline = self.engine.timeout().map(|left| now.saturating_add(left));
    }

    fn flush_queue(&mut self, now: Instant) {
        while let Some(plaintext) = self.queued.pop_front() {
            let mut out = Output::default();
            let result = self.engine.send(&plaintext, &mut out);
            self.transmits.extend(out.transmits);
            if let Err(error) = result {
                self.absorb(now, &mut Output::default(), Err(error));
                return;
            }
        }
    }
}

/// Errors that end the session (as opposed to refusing one call).
fn is_fatal(error: &DtlsError) -> bool {
    matches!(
        error,
        DtlsError::Handshake(_)
            | DtlsError::PeerAlert(_)
            | DtlsError::Protocol(_)
            | DtlsError::Backend(_)
    )
}
