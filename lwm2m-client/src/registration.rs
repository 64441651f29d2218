//! Registration with each server (digest §8): Register, Update before the lifetime ends or when
//! something changed, re-Register on 4.04, De-register, back-off after failures.
//!
//! [`Registration`] is the state of one server account; the `Client` methods here drive every
//! account from the timers and the transport events.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::hash::Hash;

use lwm2m_codec::coap::Code;
use lwm2m_codec::ContentFormat;
use lwm2m_model::registration::{RegisteredObject, RootLink};
use lwm2m_model::{BindingMode, ObjectLinks, RegisterParams, UpdateParams, Version};
use lwm2m_transport::{ExchangeError, IncomingResponse, Instant, Request, RequestId};

use crate::client::{Client, ClientEvent};

/// The parameters the server holds for this client (what the last Register/Update carried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Announced {
    lifetime: u32,
    binding: BindingMode,
    links: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Register at this time.
    Idle {
        at: Instant,
    },
    Registering {
        request: RequestId,
        params: Announced,
    },
    Registered {
        update_at: Instant,
    },
    Updating {
        request: RequestId,
        params: Announced,
    },
    Deregistering {
        request: RequestId,
    },
    /// Disabled by `/1/x/4` until this time.
    Disabled {
        until: Instant,
    },
    Stopped,
}

/// The registration state of one server account.
#[derive(Debug, Clone)]
pub(crate) struct Registration<P> {
    pub(crate) ssid: u16,
    pub(crate) peer: P,
    state: State,
    location: Vec<String>,
    announced: Option<Announced>,
    failures: u32,
    update_requested: bool,
    /// The server is unreachable (a notification or an Update to it timed out) while the
    /// registration is still valid there: notifications wait, Updates are retried.
    pub(crate) offline: bool,
    /// When the registration expires at the server (the last accepted Register or Update
    /// plus the lifetime).
    valid_until: Option<Instant>,
}

impl<P> Registration<P> {
    pub(crate) fn new(ssid: u16, peer: P) -> Self {
        Registration {
            ssid,
            peer,
            state: State::Idle { at: Instant::ZERO },
            location: Vec::new(),
            announced: None,
            failures: 0,
            update_requested: false,
            offline: false,
            valid_until: None,
        }
    }

    /// An account that registers at `at` (a server configured by a bootstrap).
    pub(crate) fn new_at(ssid: u16, peer: P, at: Instant) -> Self {
        Registration {
            state: State::Idle { at },
            ..Registration::new(ssid, peer)
        }
    }

    /// Failed Register (or Update) attempts in a row.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// When this account needs the client's attention.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Idle { at } => Some(at),
            State::Registered { update_at } => Some(update_at),
            State::Disabled { until } => Some(until),
            _ => None,
        }
    }

    /// Whether a Register was accepted and is in force (an Update may be under way).
    pub(crate) fn is_registered(&self) -> bool {
        matches!(
            self.state,
            State::Registered { .. } | State::Updating { .. }
        )
    }

    /// Whether the server may send DM requests (registered, or de-registering).
    pub(crate) fn accepts_requests(&self) -> bool {
        self.is_registered()
    }

    pub(crate) fn location_text(&self) -> String {
        let mut out = String::new();
        for segment in &self.location {
            out.push('/');
            out.push_str(segment);
        }
        out
    }

    pub(crate) fn request_update(&mut self) {
        self.update_requested = true;
    }

    /// Whether a Register or Update is waiting for its answer.
    pub(crate) fn in_flight(&self) -> bool {
        matches!(
            self.state,
            State::Registering { .. } | State::Updating { .. } | State::Deregistering { .. }
        )
    }

    /// Whether notifications may go to this server now: registered, no Update under way (after
    /// a wake-up or a recovery the Update goes first), reachable.
    pub(crate) fn ready_for_notifications(&self) -> bool {
        matches!(self.state, State::Registered { .. }) && !self.offline
    }

    /// Whether this account wants to send something at `now` (a Register, an Update).
    pub(crate) fn wants_to_send(&self, now: Instant) -> bool {
        self.update_requested || self.deadline().is_some_and(|at| at <= now)
    }

    /// The server stopped answering (a notification timed out): probe it with an Update now.
    pub(crate) fn went_offline(&mut self) {
        if self.is_registered() {
            self.offline = true;
            self.update_requested = true;
        }
    }

    pub(crate) fn restart(&mut self, now: Instant) {
        if matches!(self.state, State::Stopped | State::Disabled { .. }) {
            self.failures = 0;
            self.state = State::Idle { at: now };
        }
    }
}

fn failure_text(result: Result<&IncomingResponse, &ExchangeError>) -> String {
    match result {
        Ok(response) => format!("answered {}", code_text(response.code())),
        Err(e) => e.to_string(),
    }
}

fn lifetime(seconds: u32) -> core::time::Duration {
    core::time::Duration::from_secs(u64::from(seconds))
}

/// `4.04`-style text of a code.
pub(crate) fn code_text(code: Code) -> String {
    format!("{}.{:02}", code.class(), code.detail())
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// The Register payload: `</>;rt="oma.lwm2m";ct=11543` and every object and instance except
    /// the Security object (`</o>;ver=".."` for a version other than 1.0, `</o>` for an object
    /// without instances).
    pub(crate) fn object_links(&self) -> String {
        let mut links = ObjectLinks {
            root: Some(RootLink {
                path: String::from("/"),
                resource_type: true,
                content_format: Some(ContentFormat::JSON),
            }),
            objects: BTreeMap::new(),
        };
        for (&id, handler) in self.objects.iter().filter(|(&id, _)| id != 0) {
            let version = handler.definition().version;
            links.objects.insert(
                id,
                RegisteredObject {
                    version: (version != Version::V1_0).then_some(version),
                    instances: handler.instances().into_iter().collect(),
                },
            );
        }
        // Ids are at most 65534 and `ver` is `major.minor`: the writer has nothing to refuse.
        links
            .to_vec()
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_default()
    }

    /// What the client would announce to server `ssid` now (from its Server instance).
    fn current_params(&self, ssid: u16) -> Announced {
        let server = self
            .server_store()
            .and_then(|s| s.iter().find(|(_, s)| s.short_server_id == i64::from(ssid)))
            .map(|(_, s)| s);
        Announced {
            lifetime: server
                .and_then(|s| u32::try_from(s.lifetime).ok())
                .filter(|&l| l > 0)
                .unwrap_or(lwm2m_model::DEFAULT_LIFETIME),
            binding: server
                .and_then(|s| BindingMode::parse(&s.binding))
                .unwrap_or_default(),
            links: self.object_links(),
        }
    }

    pub(crate) fn drive_registrations(&mut self, now: Instant) {
        if core::mem::take(&mut self.objects_changed) {
            for r in self.registrations.values_mut() {
                r.request_update();
            }
        }
        let ssids: Vec<u16> = self.registrations.keys().copied().collect();
        for ssid in ssids {
            let Some(r) = self.registrations.get(&ssid) else {
                continue;
            };
            match r.state {
                State::Idle { at } if at <= now => self.send_register(now, ssid),
                State::Disabled { until } if until <= now => self.send_register(now, ssid),
                State::Registered { .. }
                    if r.offline && r.valid_until.is_some_and(|until| until <= now) =>
                {
                    // The registration expired while the server was away: a new one is needed
                    // (and voids the observations with their stored notifications); its
                    // back-off starts afresh.
                    if let Some(r) = self.registrations.get_mut(&ssid) {
                        r.failures = 0;
                    }
                    self.send_register(now, ssid);
                }
                State::Registered { update_at } => {
                    let params = self.current_params(ssid);
                    let changed = r.announced.as_ref() != Some(&params);
                    if r.update_requested || changed || update_at <= now {
                        self.send_update(now, ssid, params);
                    }
                }
                _ => {}
            }
        }
    }

    fn send_register(&mut self, now: Instant, ssid: u16) {
        let params = self.current_params(ssid);
        // A new Register voids the server's observations (digest §10.1).
        self.end_observations_of(ssid);
        let Some(r) = self.registrations.get(&ssid) else {
            return;
        };
        let peer = r.peer.clone();
        let Ok(mut query) = RegisterParams::new(&self.endpoint_name) else {
            return;
        };
        query.lifetime = params.lifetime;
        query.binding = params.binding;
        let items = query.to_query_items();
        let request = Request::build(Code::POST, |b| {
            b.uri_path("/rd").content_format(ContentFormat::LINK_FORMAT);
            for item in &items {
                b.uri_query(item);
            }
        })
        .map(|r| r.with_payload(params.links.clone().into_bytes()));
        let started = request.map_err(|e| e.to_string()).and_then(|req| {
            self.endpoint
                .start_request(now, peer, req)
                .map_err(|e| e.to_string())
        });
        let Some(r) = self.registrations.get_mut(&ssid) else {
            return;
        };
        r.update_requested = false;
        match started {
            Ok(request) => r.state = State::Registering { request, params },
            Err(reason) => self.fail(now, ssid, reason),
        }
    }

    fn send_update(&mut self, now: Instant, ssid: u16, params: Announced) {
        let Some(r) = self.registrations.get_mut(&ssid) else {
            return;
        };
        let previous = r.announced.clone();
        let update = UpdateParams {
            lifetime: (previous.as_ref().map(|p| p.lifetime) != Some(params.lifetime))
                .then_some(params.lifetime),
            binding: (previous.as_ref().map(|p| p.binding) != Some(params.binding))
                .then_some(params.binding),
            sms: None,
        };
        let links_changed = previous.as_ref().map(|p| &p.links) != Some(&params.links);
        let items = update.to_query_items();
        let location = r.location.clone();
        let peer = r.peer.clone();
        r.update_requested = false;
        let request = Request::build(Code::POST, |b| {
            for segment in &location {
                b.uri_path_segment(segment);
            }
            for item in &items {
                b.uri_query(item);
            }
            if links_changed {
                b.content_format(ContentFormat::LINK_FORMAT);
            }
        })
        .map(|r| {
            if links_changed {
                r.with_payload(params.links.clone().into_bytes())
            } else {
                r
            }
        });
        let started = request.map_err(|e| e.to_string()).and_then(|req| {
            self.endpoint
                .start_request(now, peer, req)
                .map_err(|e| e.to_string())
        });
        let Some(r) = self.registrations.get_mut(&ssid) else {
            return;
        };
        match started {
            Ok(request) => r.state = State::Updating { request, params },
            Err(reason) => self.fail(now, ssid, reason),
        }
    }

    /// A Register or Update failed: back off, then Register.
    fn fail(&mut self, now: Instant, ssid: u16, reason: String) {
        let Some(r) = self.registrations.get_mut(&ssid) else {
            return;
        };
        r.failures = r.failures.saturating_add(1);
        let retry_at = now + self.timings.retry_after(r.failures);
        r.state = State::Idle { at: retry_at };
        r.announced = None;
        r.offline = false;
        r.valid_until = None;
        r.location.clear();
        self.end_observations_of(ssid);
        self.events.push_back(ClientEvent::RegistrationFailed {
            ssid,
            reason,
            retry_at,
        });
    }

    /// The outcome of one of the client's own requests.
    pub(crate) fn on_registration_response(
        &mut self,
        now: Instant,
        id: RequestId,
        result: Result<&IncomingResponse, &ExchangeError>,
    ) {
        let Some((&ssid, r)) = self.registrations.iter_mut().find(|(_, r)| {
            matches!(r.state,
                State::Registering { request, .. }
                | State::Updating { request, .. }
                | State::Deregistering { request } if request == id)
        }) else {
            return;
        };
        let code = result.ok().map(IncomingResponse::code);
        match core::mem::replace(&mut r.state, State::Stopped) {
            State::Registering { params, .. } if code == Some(Code::CREATED) => {
                r.location = result
                    .ok()
                    .and_then(|resp| {
                        let msg = resp.message().ok()?;
                        let path = msg.location_path().ok()?;
                        Some(path.map(String::from).collect())
                    })
                    .unwrap_or_default();
                r.failures = 0;
                r.offline = false;
                r.valid_until = Some(now + lifetime(params.lifetime));
                r.state = State::Registered {
                    update_at: now + self.timings.update_after(params.lifetime),
                };
                r.announced = Some(params);
                let location = r.location_text();
                self.events
                    .push_back(ClientEvent::Registered { ssid, location });
            }
            State::Updating { params, .. } if code == Some(Code::CHANGED) => {
                r.failures = 0;
                r.offline = false;
                r.valid_until = Some(now + lifetime(params.lifetime));
                r.state = State::Registered {
                    update_at: now + self.timings.update_after(params.lifetime),
                };
                r.announced = Some(params);
                self.events.push_back(ClientEvent::Updated { ssid });
            }
            State::Updating { .. } if code == Some(Code::NOT_FOUND) => {
                // The server lost the registration: Register again at once.
                r.announced = None;
                r.offline = false;
                r.valid_until = None;
                r.location.clear();
                r.state = State::Idle { at: now };
            }
            State::Updating { .. }
                if result.is_err() && r.valid_until.is_some_and(|until| now < until) =>
            {
                // Unreachable, but the registration still holds at the server: keep the
                // observations (their notifications are stored) and retry the Update.
                r.failures = r.failures.saturating_add(1);
                r.offline = true;
                let retry_at = r.valid_until.map_or(now, |until| {
                    until.min(now + self.timings.retry_after(r.failures))
                });
                r.state = State::Registered {
                    update_at: retry_at,
                };
                let reason = failure_text(result);
                self.events.push_back(ClientEvent::RegistrationFailed {
                    ssid,
                    reason,
                    retry_at,
                });
            }
            State::Registering { .. } | State::Updating { .. } => {
                let reason = failure_text(result);
                self.fail(now, ssid, reason);
            }
            State::Deregistering { .. } => {
                r.location.clear();
                r.announced = None;
                self.events.push_back(ClientEvent::Deregistered { ssid });
            }
            other => r.state = other,
        }
    }

    /// De-registers from one server; it stays silent until `until` (`None`: until a restart).
    pub(crate) fn deregister(&mut self, now: Instant, ssid: u16, until: Option<Instant>) {
        self.end_observations_of(ssid);
        let Some(r) = self.registrations.get_mut(&ssid) else {
            return;
        };
        let registered = r.is_registered();
        if let State::Registering { request, .. } | State::Updating { request, .. } = r.state {
            // The answer no longer matters.
            self.endpoint.cancel_request(now, request).ok();
        }
        let location = r.location.clone();
        let peer = r.peer.clone();
        r.state = until.map_or(State::Stopped, |until| State::Disabled { until });
        r.announced = None;
        r.offline = false;
        r.valid_until = None;
        if !registered {
            return;
        }
        let request = Request::build(Code::DELETE, |b| {
            for segment in &location {
                b.uri_path_segment(segment);
            }
        });
        let started = request
            .ok()
            .and_then(|req| self.endpoint.start_request(now, peer, req).ok());
        let Some(r) = self.registrations.get_mut(&ssid) else {
            return;
        };
        match started {
            Some(request) if until.is_none() => r.state = State::Deregistering { request },
            _ => self.events.push_back(ClientEvent::Deregistered { ssid }),
        }
    }

    pub(crate) fn deregister_all(&mut self, now: Instant) {
        let ssids: Vec<u16> = self.registrations.keys().copied().collect();
        for ssid in ssids {
            self.deregister(now, ssid, None);
        }
    }

    /// The server account a request from `peer` belongs to, if it may send requests.
    pub(crate) fn server_of(&self, peer: &P) -> Option<u16> {
        self.registrations
            .values()
            .find(|r| &r.peer == peer && r.accepts_requests())
            .map(|r| r.ssid)
    }
}
