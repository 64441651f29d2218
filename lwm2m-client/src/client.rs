//! The [`Client`] state machine: owns the CoAP [`Endpoint`], the objects, the registrations and
//! the observations, and is driven like the endpoint (datagrams and time in; datagrams, events
//! and the next deadline out).

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::any::Any;
use core::hash::Hash;

use lwm2m_model::{Path, Registry};
use lwm2m_objects::{AccessControl, Server};
use lwm2m_transport::{Endpoint, Event, Instant, Transmit};

use crate::attributes::AttributeStore;
use crate::bootstrap::Bootstrap;
use crate::config::Timings;
use crate::object::{ObjectHandler, TypedStore};
use crate::observe::Observations;
use crate::queue::QueueState;
use crate::registration::Registration;

/// What the client tells the application, from [`Client::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A Register was accepted.
    Registered {
        /// The server.
        ssid: u16,
        /// The registration location the server returned (e.g. `/rd/5a3f`).
        location: String,
    },
    /// An Update was accepted.
    Updated {
        /// The server.
        ssid: u16,
    },
    /// A Register (or an Update) failed; the client registers again at `retry_at`.
    RegistrationFailed {
        /// The server.
        ssid: u16,
        /// What happened.
        reason: String,
        /// When the next Register goes out.
        retry_at: Instant,
    },
    /// The client de-registered (or gave up doing so at shutdown or on Disable).
    Deregistered {
        /// The server.
        ssid: u16,
    },
    /// A server executed a resource; the 2.04 has been sent. Reboot (`/3/0/4`) and Factory
    /// Reset (`/3/0/5`) are the application's to carry out now.
    Executed {
        /// The server.
        ssid: u16,
        /// The resource.
        path: Path,
        /// The arguments: (digit, optional value).
        arguments: Vec<(u8, Option<String>)>,
    },
    /// A server wrote a value (Write on an instance or resource).
    Written {
        /// The server.
        ssid: u16,
        /// The target of the Write.
        path: Path,
    },
    /// A server created an instance.
    Created {
        /// The server.
        ssid: u16,
        /// The new instance.
        path: Path,
    },
    /// A server deleted an instance.
    Deleted {
        /// The server.
        ssid: u16,
        /// The deleted instance.
        path: Path,
    },
    /// A server started observing a path.
    ObservationStarted {
        /// The server.
        ssid: u16,
        /// The observed path.
        path: Path,
    },
    /// An observation ended (RST, Observe = 1, timeout, new Register).
    ObservationEnded {
        /// The server.
        ssid: u16,
        /// The observed path.
        path: Path,
    },
    /// Queue mode: the awake time after the last exchange is over and nothing is in flight;
    /// the client takes no datagram in until it wakes.
    Sleeping,
    /// Queue mode: the client woke up to send (an Update goes to every server first).
    Awake,
    /// A bootstrap began: a Bootstrap-Request went out, or the Bootstrap-Server started
    /// writing (Server-Initiated).
    BootstrapStarted,
    /// A Bootstrap-Finish was accepted; the client registers with the configured servers.
    BootstrapFinished,
    /// Firmware Update State (`/5/0/3`) or Update Result (`/5/0/5`) changed.
    FirmwareStateChanged {
        /// The new State.
        state: crate::firmware::FirmwareState,
        /// The new Update Result.
        result: crate::firmware::UpdateResult,
    },
    /// A server wrote a Package URI the client does not pull by itself (`http://`,
    /// `https://`): the application (the tokio runtime with the `http` feature) downloads
    /// it and feeds it to [`Client::firmware_data`], then calls
    /// [`Client::firmware_download_finished`] with the same `download` id.
    FirmwareDownloadRequested {
        /// Identifies this download in the calls back.
        download: u32,
        /// The Package URI.
        uri: String,
    },
    /// A bootstrap failed (Bootstrap-Request refused or unanswered, no Finish in time); the
    /// next Bootstrap-Request goes out at `retry_at`.
    BootstrapFailed {
        /// What happened.
        reason: String,
        /// When the next Bootstrap-Request goes out.
        retry_at: Instant,
    },
}

/// A sans-IO LwM2M 1.0 client: registration with every configured server, device management
/// with access control, and information reporting.
///
/// Build one with [`ClientBuilder`](crate::ClientBuilder). A driver then loops like for a
/// transport [`Endpoint`]: feed datagrams to [`handle_datagram`](Self::handle_datagram), call
/// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout), send every
/// [`poll_transmit`](Self::poll_transmit) and handle every [`poll_event`](Self::poll_event).
/// The first Register goes out on the first `handle_timeout` (its deadline is the origin).
pub struct Client<P> {
    pub(crate) endpoint: Endpoint<P>,
    pub(crate) endpoint_name: String,
    pub(crate) objects: BTreeMap<u16, Box<dyn ObjectHandler>>,
    /// The definitions of every object, for the content encoders.
    pub(crate) registry: Registry,
    /// Boxed: a map node holds room for 11 entries, and most clients have one server.
    pub(crate) registrations: BTreeMap<u16, Box<Registration<P>>>,
    pub(crate) attributes: AttributeStore,
    pub(crate) observations: Observations,
    pub(crate) events: VecDeque<ClientEvent>,
    pub(crate) timings: Timings,
    /// Paths changed since the observations last looked.
    pub(crate) changed: Vec<Path>,
    /// The object/instance list changed: every registered server gets an Update.
    pub(crate) objects_changed: bool,
    /// Servers whose Disable was executed; they de-register once the response is out.
    pub(crate) pending_disable: Vec<u16>,
    pub(crate) now: Instant,
    /// The Bootstrap-Server account and bootstrap state, if the client has one.
    pub(crate) bootstrap: Option<Bootstrap<P>>,
    /// Queue mode: asleep or awake, and until when.
    pub(crate) queue: QueueState,
    /// The firmware update process, once the client has a Firmware Update object.
    pub(crate) firmware: Option<Box<crate::firmware::FirmwareTask<P>>>,
}

impl<P> core::fmt::Debug for Client<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint_name", &self.endpoint_name)
            .field("objects", &self.objects.keys().collect::<Vec<_>>())
            .field("servers", &self.registrations.keys().collect::<Vec<_>>())
            .field("observations", &self.observations.len())
            .finish_non_exhaustive()
    }
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// The endpoint client name.
    pub fn endpoint_name(&self) -> &str {
        &self.endpoint_name
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<P>> {
        let transmit = self.endpoint.poll_transmit();
        if transmit.is_some() {
            // Sending while asleep (a De-register at shutdown) means listening for the answer.
            if self.queue.asleep {
                self.queue.asleep = false;
                self.events.push_back(ClientEvent::Awake);
            }
            self.note_exchange();
        }
        transmit
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let registrations = self
            .registrations
            .values()
            .filter_map(|r| r.deadline())
            .min();
        let observations = self.observation_deadline();
        let bootstrap = self.bootstrap.as_ref().and_then(Bootstrap::deadline);
        let firmware = self.firmware.as_ref().and_then(|f| f.deadline());
        [
            self.endpoint.poll_timeout(),
            registrations,
            observations,
            bootstrap,
            self.sleep_deadline(),
            firmware,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Time advanced to `now`: retransmissions, registration refreshes, notifications.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.endpoint.handle_timeout(now);
        self.firmware_timeout(now);
        self.process(now);
    }

    /// A new DTLS session with `peer` is up (a first handshake, or a new one after the server
    /// lost the old session, e.g. in a restart): the message ids `peer` sends from now on are
    /// new messages, even where its previous session used the same ids. The tokio runtime
    /// calls it; a driver of its own calls it when its DTLS session with `peer` connects.
    pub fn new_session(&mut self, peer: &P) {
        self.endpoint.new_session(peer);
    }

    /// A datagram arrived from `peer`. Asleep (queue mode), the client is not listening: the
    /// datagram is dropped.
    pub fn handle_datagram(&mut self, now: Instant, peer: P, datagram: &[u8]) {
        self.now = self.now.max(now);
        if self.queue.asleep {
            return;
        }
        self.note_exchange();
        self.endpoint.handle_datagram(now, peer, datagram);
        self.process(now);
    }

    /// The transport endpoint (for statistics).
    pub fn endpoint(&self) -> &Endpoint<P> {
        &self.endpoint
    }

    /// Whether the client is registered with server `ssid` (a Register was accepted and has not
    /// been replaced, refused or de-registered since).
    pub fn is_registered(&self, ssid: u16) -> bool {
        self.registrations
            .get(&ssid)
            .is_some_and(|r| r.is_registered())
    }

    /// The Short Server IDs of the configured servers, in increasing order.
    pub fn server_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.registrations.keys().copied()
    }

    /// The registration location at server `ssid` (e.g. `/rd/5a3f`), while registered.
    pub fn location(&self, ssid: u16) -> Option<String> {
        self.registrations
            .get(&ssid)
            .filter(|r| r.is_registered())
            .map(|r| r.location_text())
    }

    /// The DTLS pre-shared key (identity, key) for the server at `peer`, from its Security
    /// instance (`/0/x/3`, `/0/x/5`) when its Security Mode (`/0/x/2`) is PSK (0); `None` for
    /// a `NoSec` server or an unknown peer. The runtime uses it to talk DTLS to that server.
    pub fn psk_credentials(&self, peer: &P) -> Option<(Vec<u8>, Vec<u8>)> {
        let ssid = self
            .registrations
            .values()
            .find(|r| &r.peer == peer)
            .map(|r| i64::from(r.ssid))?;
        let security = self.object::<TypedStore<lwm2m_objects::Security>>(0)?;
        security
            .iter()
            .map(|(_, s)| s)
            .find(|s| !s.bootstrap_server && s.short_server_id == Some(ssid))
            .filter(|s| s.security_mode == crate::builder::PSK)
            .map(|s| (s.public_key_or_identity.clone(), s.secret_key.clone()))
    }

    /// The DTLS credentials for the server at `peer`, from its Security instance (mode
    /// `/0/x/2` and `/0/x/3`, `/0/x/4`, `/0/x/5`): PSK (0), raw public keys (1) or
    /// certificates (2); `None` for a `NoSec` server or an unknown peer. The runtime uses them
    /// to talk DTLS to that server.
    pub fn dtls_credentials(&self, peer: &P) -> Option<crate::config::DtlsCredentials> {
        let ssid = self
            .registrations
            .values()
            .find(|r| &r.peer == peer)
            .map(|r| i64::from(r.ssid));
        let bootstrap = ssid.is_none()
            && self
                .bootstrap
                .as_ref()
                .is_some_and(|b| b.is_bootstrap_server(peer));
        if ssid.is_none() && !bootstrap {
            return None;
        }
        let security = self.object::<TypedStore<lwm2m_objects::Security>>(0)?;
        security
            .iter()
            .map(|(_, s)| s)
            .find(|s| {
                if bootstrap {
                    s.bootstrap_server
                } else {
                    !s.bootstrap_server && s.short_server_id == ssid
                }
            })
            .and_then(|s| {
                crate::config::DtlsCredentials::from_security(
                    s.security_mode,
                    &s.public_key_or_identity,
                    &s.server_public_key,
                    &s.secret_key,
                )
            })
    }

    /// The number of active observations, over all servers.
    pub fn observation_count(&self) -> usize {
        self.observations.len()
    }

    /// The implementation of object `object_id`, if the client has it, as its concrete type.
    ///
    /// ```
    /// # use lwm2m_client::{Client, DeviceObject, ClientBuilder, ServerAccount};
    /// # use lwm2m_objects::Device;
    /// # let device = DeviceObject::new(Device { supported_binding_and_modes: "U".into(), ..Device::default() });
    /// # let client: Client<&str> = ClientBuilder::new("node1").server(ServerAccount::new(1, "server")).object(device).build()?;
    /// let device: &DeviceObject = client.object(3).unwrap();
    /// assert_eq!(device.device().supported_binding_and_modes, "U");
    /// # Ok::<(), lwm2m_client::ClientError>(())
    /// ```
    pub fn object<H: ObjectHandler>(&self, object_id: u16) -> Option<&H> {
        let handler: &dyn Any = self.objects.get(&object_id)?.as_ref();
        handler.downcast_ref::<H>()
    }

    /// Changes object `object_id` through its concrete type, then looks for what changed: the
    /// observations of the object are re-evaluated and, if instances appeared or disappeared,
    /// every server gets an Update. Returns `None` if the client has no such object of type `H`.
    pub fn update_object<H: ObjectHandler, R>(
        &mut self,
        now: Instant,
        object_id: u16,
        change: impl FnOnce(&mut H) -> R,
    ) -> Option<R> {
        let handler: &mut dyn Any = self.objects.get_mut(&object_id)?.as_mut();
        let handler = handler.downcast_mut::<H>()?;
        let before = handler.instances();
        let out = change(handler);
        if handler.instances() != before {
            self.objects_changed = true;
        }
        if let Ok(path) = Path::object(object_id) {
            self.changed.push(path);
        }
        self.now = self.now.max(now);
        self.process(now);
        Some(out)
    }

    /// Tells the client that the value at `path` changed (outside a server request), so that
    /// observations of it (or of an ancestor or descendant) are re-evaluated.
    pub fn changed(&mut self, now: Instant, path: Path) {
        self.changed.push(path);
        self.now = self.now.max(now);
        self.process(now);
    }

    /// Asks for an Update to every registered server now (as the Registration Update Trigger
    /// does for one).
    pub fn trigger_update(&mut self, now: Instant) {
        for registration in self.registrations.values_mut() {
            registration.request_update();
        }
        self.process(now);
    }

    /// De-registers from every server (the client stops; it registers again only after
    /// [`restart`](Self::restart)).
    pub fn shutdown(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.deregister_all(now);
        self.process(now);
    }

    /// Registers again with every server after a [`shutdown`](Self::shutdown).
    pub fn restart(&mut self, now: Instant) {
        for registration in self.registrations.values_mut() {
            registration.restart(now);
        }
        self.process(now);
    }

    /// Object `object_id` as its concrete type, for the client's own changes.
    pub(crate) fn object_mut<H: ObjectHandler>(&mut self, object_id: u16) -> Option<&mut H> {
        let handler: &mut dyn Any = self.objects.get_mut(&object_id)?.as_mut();
        handler.downcast_mut::<H>()
    }

    /// The Access Control object store, to change it.
    pub(crate) fn access_store_mut(&mut self) -> Option<&mut TypedStore<AccessControl>> {
        self.object_mut::<TypedStore<AccessControl>>(2)
    }

    /// The Server object store (always present).
    pub(crate) fn server_store(&self) -> Option<&TypedStore<Server>> {
        self.object::<TypedStore<Server>>(1)
    }

    /// The Access Control object store, if the client has one.
    pub(crate) fn access_store(&self) -> Option<&TypedStore<AccessControl>> {
        self.object::<TypedStore<AccessControl>>(2)
    }

    /// Everything that follows an input: the endpoint's events, registration timers, the
    /// observations, until nothing is left.
    pub(crate) fn process(&mut self, now: Instant) {
        // Each round may start requests or notifications whose events the next round handles;
        // the bound only guards against a handler that keeps producing work.
        for _ in 0..64 {
            self.drive_wake(now);
            self.drive_bootstrap(now);
            if !self.queue.asleep {
                self.drive_registrations(now);
            }
            self.drive_firmware(now);
            self.drive_observations(now);
            // A change just made a notification ready while asleep: wake and Update now.
            let mut any = self.drive_wake(now);
            while let Some(event) = self.endpoint.poll_event() {
                any = true;
                self.on_endpoint_event(now, event);
            }
            if !any {
                break;
            }
        }
        self.drive_sleep(now);
    }

    fn on_endpoint_event(&mut self, now: Instant, event: Event<P>) {
        if self.firmware_event(now, &event) {
            return;
        }
        match event {
            Event::Request { id, peer, request } => self.route_request(now, id, &peer, &request),
            Event::Response { id, response, .. } => self.route_response(now, id, Ok(&response)),
            Event::RequestFailed { id, error, .. } => self.route_response(now, id, Err(&error)),
            Event::RelationEnded { relation, .. } => self.on_relation_ended(relation),
            Event::NotificationTimedOut { relation, .. } => {
                self.on_notification_timeout(relation);
            }
            _ => {}
        }
    }
}
