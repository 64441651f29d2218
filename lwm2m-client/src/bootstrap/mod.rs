//! The Bootstrap interface (digest §7), client side: Client-Initiated bootstrap (`POST /bs?ep=`)
//! when no LwM2M server is configured or none could be registered with, Server-Initiated
//! bootstrap (the Bootstrap-Server writes without a prior request), and the commands of a
//! bootstrap session: Bootstrap-Write, -Delete, -Discover and -Finish ([`interface`]).
//!
//! After a successful Bootstrap-Finish the Security and Server instances become the client's
//! server accounts ([`accounts`]) and the client registers with each of them.

mod accounts;
mod interface;

use alloc::format;
use alloc::string::{String, ToString};
use core::hash::Hash;
use core::time::Duration;
use std::net::SocketAddr;

use lwm2m_codec::coap::Code;
use lwm2m_model::BootstrapParams;
use lwm2m_objects::Security;
use lwm2m_transport::{
    ExchangeError, IncomingId, IncomingRequest, IncomingResponse, Instant, Request, RequestId,
};

use crate::client::{Client, ClientEvent};
use crate::object::TypedStore;
use crate::registration::code_text;

/// Turns a server URI written by the Bootstrap-Server (`/0/x/0`) into a transport peer.
pub type Resolver<P> = fn(&str) -> Option<P>;

/// The Bootstrap-Server account of a client (the Security instance with Bootstrap-Server =
/// true) and the bootstrap timings.
///
/// ```
/// use lwm2m_client::BootstrapConfig;
/// use std::net::SocketAddr;
///
/// let bs: SocketAddr = "192.0.2.9:5683".parse().unwrap();
/// let config = BootstrapConfig::udp(bs).hold_off(5).register_attempts(2);
/// assert_eq!(config.uri, "coap://192.0.2.9:5683");
/// ```
#[derive(Debug, Clone)]
pub struct BootstrapConfig<P> {
    /// Where the Bootstrap-Server is.
    pub peer: P,
    /// Its URI, stored in `/0/x/0` of the Bootstrap-Server account.
    pub uri: String,
    /// Client Hold Off Time (`/0/x/11`): seconds before the first Bootstrap-Request. Default 0.
    pub hold_off: u32,
    /// A bootstrap falls back to Client-Initiated bootstrap once every configured server has
    /// failed this many Register attempts in a row. Default 3.
    pub register_attempts: u32,
    /// A session without Bootstrap-Finish fails this long after the last command. Default
    /// 247 s (`EXCHANGE_LIFETIME`).
    pub session_timeout: Duration,
    /// The wait before the first retry of a failed bootstrap; it doubles with each failure, up
    /// to the registration's `retry_max`. Default 30 s.
    pub retry_initial: Duration,
    /// How a written server URI becomes a peer.
    pub resolve: Resolver<P>,
    /// DTLS credentials for a `coaps://` Bootstrap-Server (stored in its Security instance,
    /// `/0/x/2`..`/0/x/5`); `None`: `NoSec`.
    pub credentials: Option<crate::config::DtlsCredentials>,
}

impl<P> BootstrapConfig<P> {
    /// A Bootstrap-Server at `peer` with URI `uri`; written server URIs become peers through
    /// `resolve`.
    pub fn new(peer: P, uri: impl Into<String>, resolve: Resolver<P>) -> Self {
        BootstrapConfig {
            peer,
            uri: uri.into(),
            hold_off: 0,
            register_attempts: 3,
            session_timeout: Duration::from_secs(247),
            retry_initial: Duration::from_secs(30),
            resolve,
            credentials: None,
        }
    }

    /// With DTLS credentials for a `coaps://` Bootstrap-Server: the runtime talks DTLS to it
    /// with them (PSK, raw public keys or certificates, as for a server account).
    #[must_use]
    pub fn credentials(mut self, credentials: crate::config::DtlsCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// With this Client Hold Off Time in seconds.
    #[must_use]
    pub fn hold_off(mut self, seconds: u32) -> Self {
        self.hold_off = seconds;
        self
    }

    /// With this Register budget before falling back to bootstrap (at least 1).
    #[must_use]
    pub fn register_attempts(mut self, attempts: u32) -> Self {
        self.register_attempts = attempts.max(1);
        self
    }

    /// With this session timeout.
    #[must_use]
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }
}

impl BootstrapConfig<SocketAddr> {
    /// A Bootstrap-Server at a UDP address; written URIs must be `coap://<ip>[:port]`.
    pub fn udp(peer: SocketAddr) -> Self {
        BootstrapConfig::new(peer, format!("coap://{peer}"), |uri| {
            crate::builder::parse_coap_uri(uri).ok()
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not bootstrapping: the configured servers are in charge.
    Idle,
    /// Send a Bootstrap-Request at this time.
    Pending { at: Instant },
    /// The Bootstrap-Request is under way.
    Requesting { request: RequestId },
    /// In a session; it fails at this time unless a command or Finish comes.
    Session { deadline: Instant },
}

/// The bootstrap state of a client.
#[derive(Debug, Clone)]
pub(crate) struct Bootstrap<P> {
    config: BootstrapConfig<P>,
    state: State,
    failures: u32,
}

impl<P> Bootstrap<P> {
    /// Adds the Bootstrap-Server account to the Security store (at the first free instance id)
    /// and starts in the state the configuration calls for: Client-Initiated bootstrap after
    /// the hold-off when there is no server account.
    pub(crate) fn install(
        config: BootstrapConfig<P>,
        security: &mut TypedStore<Security>,
        has_servers: bool,
    ) -> Self {
        if let Some(id) = (0..=lwm2m_model::MAX_ID).find(|&id| security.get(id).is_none()) {
            let (security_mode, public_key_or_identity, server_public_key, secret_key) =
                config.credentials.as_ref().map_or(
                    (3, Vec::new(), Vec::new(), Vec::new()),
                    crate::config::DtlsCredentials::security_fields,
                );
            security.insert(
                id,
                Security {
                    lwm2m_server_uri: config.uri.as_str().into(),
                    bootstrap_server: true,
                    security_mode,
                    public_key_or_identity,
                    server_public_key,
                    secret_key,
                    client_hold_off_time: Some(i64::from(config.hold_off)),
                    ..Security::default()
                },
            );
        }
        let state = if has_servers {
            State::Idle
        } else {
            State::Pending {
                at: Instant::ZERO + Duration::from_secs(u64::from(config.hold_off)),
            }
        };
        Bootstrap {
            config,
            state,
            failures: 0,
        }
    }

    /// Whether `peer` is the Bootstrap-Server.
    pub(crate) fn is_bootstrap_server(&self, peer: &P) -> bool
    where
        P: PartialEq,
    {
        &self.config.peer == peer
    }

    /// [`install`](Self::install) when a configuration is given.
    pub(crate) fn install_any(
        config: Option<BootstrapConfig<P>>,
        security: &mut TypedStore<Security>,
        servers: usize,
    ) -> Option<Self> {
        config.map(|config| Bootstrap::install(config, security, servers > 0))
    }

    /// When the bootstrap needs the client's attention.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Pending { at } => Some(at),
            State::Session { deadline } => Some(deadline),
            State::Idle | State::Requesting { .. } => None,
        }
    }

    /// Whether a bootstrap is under way (requested or in a session).
    pub(crate) fn is_active(&self) -> bool {
        self.state != State::Idle
    }
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// Whether the client is bootstrapping (waiting to send, sending a Bootstrap-Request, or
    /// in a session with the Bootstrap-Server).
    pub fn is_bootstrapping(&self) -> bool {
        self.bootstrap.as_ref().is_some_and(Bootstrap::is_active)
    }

    /// Starts a Client-Initiated bootstrap now (e.g. after a factory reset). Returns `false`
    /// when the client has no Bootstrap-Server account.
    pub fn request_bootstrap(&mut self, now: Instant) -> bool {
        let Some(bs) = self.bootstrap.as_mut() else {
            return false;
        };
        if matches!(bs.state, State::Idle | State::Pending { .. }) {
            bs.state = State::Pending { at: now };
        }
        self.process(now);
        true
    }

    /// Timers and fallback: Bootstrap-Request when due, session timeout, and the switch to
    /// bootstrap when every server has used up its Register budget.
    pub(crate) fn drive_bootstrap(&mut self, now: Instant) {
        let Some(bs) = self.bootstrap.as_ref() else {
            return;
        };
        let hold_off = Duration::from_secs(u64::from(bs.config.hold_off));
        match bs.state {
            State::Idle => {
                let budget = bs.config.register_attempts;
                let all_failed = self
                    .registrations
                    .values()
                    .all(|r| !r.is_registered() && r.failures() >= budget);
                if all_failed && self.has_bootstrap_account() {
                    let ssids: alloc::vec::Vec<u16> = self.registrations.keys().copied().collect();
                    for ssid in ssids {
                        self.deregister(now, ssid, None);
                    }
                    if let Some(bs) = self.bootstrap.as_mut() {
                        bs.state = State::Pending { at: now + hold_off };
                    }
                }
            }
            State::Pending { at } if at <= now => self.send_bootstrap_request(now),
            State::Session { deadline } if deadline <= now => {
                self.bootstrap_failed(now, "no Bootstrap-Finish before the session timeout");
            }
            _ => {}
        }
    }

    /// Whether the Security object still holds a Bootstrap-Server account.
    fn has_bootstrap_account(&self) -> bool {
        self.object::<TypedStore<Security>>(0)
            .is_some_and(|s| s.iter().any(|(_, s)| s.bootstrap_server))
    }

    fn send_bootstrap_request(&mut self, now: Instant) {
        let Some(bs) = self.bootstrap.as_ref() else {
            return;
        };
        let peer = bs.config.peer.clone();
        let started = BootstrapParams::new(&self.endpoint_name)
            .map_err(|e| e.to_string())
            .and_then(|params| {
                let items = params.to_query_items();
                Request::build(Code::POST, |b| {
                    b.uri_path("/bs");
                    for item in &items {
                        b.uri_query(item);
                    }
                })
                .map_err(|e| e.to_string())
            })
            .and_then(|req| {
                self.endpoint
                    .start_request(now, peer, req)
                    .map_err(|e| e.to_string())
            });
        match started {
            Ok(request) => {
                if let Some(bs) = self.bootstrap.as_mut() {
                    bs.state = State::Requesting { request };
                }
                self.events.push_back(ClientEvent::BootstrapStarted);
            }
            Err(reason) => self.bootstrap_failed(now, &reason),
        }
    }

    /// The bootstrap failed: back off, then send a Bootstrap-Request again.
    fn bootstrap_failed(&mut self, now: Instant, reason: &str) {
        let retry_max = self.timings.retry_max;
        let Some(bs) = self.bootstrap.as_mut() else {
            return;
        };
        bs.failures = bs.failures.saturating_add(1);
        let shift = bs.failures.saturating_sub(1).min(31);
        let wait = bs
            .config
            .retry_initial
            .checked_mul(1u32 << shift)
            .unwrap_or(retry_max)
            .min(retry_max);
        let retry_at = now + wait;
        bs.state = State::Pending { at: retry_at };
        self.events.push_back(ClientEvent::BootstrapFailed {
            reason: reason.to_string(),
            retry_at,
        });
    }

    /// An incoming request: a bootstrap command from the Bootstrap-Server, else a DM request.
    pub(crate) fn route_request(
        &mut self,
        now: Instant,
        id: IncomingId,
        peer: &P,
        request: &IncomingRequest,
    ) {
        if !self.on_bootstrap_request(now, id, peer, request) {
            self.on_request(now, id, peer, request);
        }
    }

    /// The outcome of one of the client's requests: the Bootstrap-Request's, else a
    /// registration's.
    pub(crate) fn route_response(
        &mut self,
        now: Instant,
        id: RequestId,
        result: Result<&IncomingResponse, &ExchangeError>,
    ) {
        if !self.on_bootstrap_response(now, id, result) {
            self.on_registration_response(now, id, result);
        }
    }

    /// The outcome of a request the client sent; `false` when it is not the Bootstrap-Request.
    fn on_bootstrap_response(
        &mut self,
        now: Instant,
        id: RequestId,
        result: Result<&IncomingResponse, &ExchangeError>,
    ) -> bool {
        let Some(bs) = self.bootstrap.as_mut() else {
            return false;
        };
        if bs.state != (State::Requesting { request: id }) {
            return false;
        }
        match result {
            Ok(response) if response.code() == Code::CHANGED => {
                bs.state = State::Session {
                    deadline: now + bs.config.session_timeout,
                };
            }
            Ok(response) => {
                let reason = format!("Bootstrap-Request answered {}", code_text(response.code()));
                self.bootstrap_failed(now, &reason);
            }
            Err(e) => {
                let reason = format!("Bootstrap-Request: {e}");
                self.bootstrap_failed(now, &reason);
            }
        }
        true
    }

    /// A command from the Bootstrap-Server opens (Server-Initiated) or extends the session.
    fn touch_session(&mut self, now: Instant) {
        let Some(bs) = self.bootstrap.as_mut() else {
            return;
        };
        let started = matches!(bs.state, State::Idle | State::Pending { .. });
        if let State::Requesting { request } = bs.state {
            // The first command may overtake the 2.04 of the Bootstrap-Request.
            self.endpoint.cancel_request(now, request).ok();
        }
        bs.state = State::Session {
            deadline: now + bs.config.session_timeout,
        };
        if started {
            self.events.push_back(ClientEvent::BootstrapStarted);
        }
    }

    /// Whether a Bootstrap-Finish is acceptable now (a session is open).
    fn in_session(&self) -> bool {
        self.bootstrap
            .as_ref()
            .is_some_and(|b| matches!(b.state, State::Session { .. }))
    }

    /// A valid Bootstrap-Finish: the session ends and the client registers.
    fn bootstrap_succeeded(&mut self) {
        if let Some(bs) = self.bootstrap.as_mut() {
            bs.state = State::Idle;
            bs.failures = 0;
        }
        self.events.push_back(ClientEvent::BootstrapFinished);
    }
}

#[cfg(test)]
mod tests;
