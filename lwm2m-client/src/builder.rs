//! [`ClientBuilder`]: endpoint name, server accounts, objects and timings → a [`Client`].

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::hash::Hash;
use std::net::{IpAddr, SocketAddr};

use lwm2m_model::{BindingMode, Registry};
use lwm2m_objects::{AccessControl, Security, Server};
use lwm2m_transport::{Endpoint, Instant};

use crate::attributes::AttributeStore;
use crate::bootstrap::{Bootstrap, BootstrapConfig};
use crate::client::Client;
use crate::config::{DtlsCredentials, ServerAccount, Timings};
use crate::error::ClientError;
use crate::object::{ObjectHandler, TypedStore};
use crate::observe::Observations;
use crate::queue::QueueState;
use crate::registration::Registration;

/// Security Mode `NoSec` (`/0/x/2` = 3).
const NO_SEC: i64 = 3;
/// Security Mode (`/0/x/2`) of a pre-shared key.
pub(crate) const PSK: i64 = 0;

/// Builds a [`Client`].
///
/// The client keeps the Security (0), Server (1) and, with several servers or when instances
/// are given, Access Control (2) objects itself, built from the server accounts; every other
/// object is an [`ObjectHandler`] added with [`object`](Self::object). Device (3) is mandatory.
///
/// ```
/// use lwm2m_client::{ClientBuilder, DeviceObject, ServerAccount};
/// use lwm2m_objects::Device;
/// use std::net::SocketAddr;
///
/// let server: SocketAddr = "192.0.2.1:5683".parse().unwrap();
/// let client = ClientBuilder::new("node1")
///     .server(ServerAccount::new(101, server).lifetime(300))
///     .object(DeviceObject::new(Device { supported_binding_and_modes: "U".into(), ..Device::default() }))
///     .seed([7; 32])
///     .build()?;
/// assert_eq!(client.endpoint_name(), "node1");
/// assert!(!client.is_registered(101));
/// # Ok::<(), lwm2m_client::ClientError>(())
/// ```
pub struct ClientBuilder<P> {
    endpoint_name: String,
    servers: Vec<ServerAccount<P>>,
    access: Vec<(u16, AccessControl)>,
    objects: Vec<Box<dyn ObjectHandler>>,
    timings: Timings,
    seed: Option<[u8; 32]>,
    bootstrap: Option<BootstrapConfig<P>>,
    firmware_resolver: Option<crate::bootstrap::Resolver<P>>,
}

impl<P> core::fmt::Debug for ClientBuilder<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint_name", &self.endpoint_name)
            .field("servers", &self.servers.len())
            .field("objects", &self.objects.len())
            .finish_non_exhaustive()
    }
}

impl<P: Clone + Eq + Hash + 'static> ClientBuilder<P> {
    /// A builder for a client with this endpoint client name.
    pub fn new(endpoint_name: impl Into<String>) -> Self {
        ClientBuilder {
            endpoint_name: endpoint_name.into(),
            servers: Vec::new(),
            access: Vec::new(),
            objects: Vec::new(),
            timings: Timings::default(),
            seed: None,
            bootstrap: None,
            firmware_resolver: None,
        }
    }

    /// Adds a server account.
    #[must_use]
    pub fn server(mut self, account: ServerAccount<P>) -> Self {
        self.servers.push(account);
        self
    }

    /// Adds an object implementation (any id but 0, 1 and 2, which the client keeps itself).
    #[must_use]
    pub fn object(mut self, handler: impl ObjectHandler) -> Self {
        self.objects.push(Box::new(handler));
        self
    }

    /// Adds an Access Control instance (as a bootstrap or factory configuration would), e.g.
    /// the Create rights `(o, 65535)` of an object.
    #[must_use]
    pub fn access_control(mut self, instance_id: u16, instance: AccessControl) -> Self {
        self.access.push((instance_id, instance));
        self
    }

    /// Adds a Bootstrap-Server account: the client bootstraps when it has no server account,
    /// when every server's Register budget is used up, or when the Bootstrap-Server starts
    /// writing (see [`BootstrapConfig`]).
    #[must_use]
    pub fn bootstrap_server(mut self, config: BootstrapConfig<P>) -> Self {
        self.bootstrap = Some(config);
        self
    }

    /// How the host of a `coap://` or `coaps://` Package URI becomes a peer for the firmware
    /// pull (e.g. [`firmware::resolve_udp`](crate::firmware::resolve_udp)). A `coaps://` URI
    /// naming a server the client is registered with reuses that server's peer and DTLS
    /// session, so the resolver serves only the other `coaps://` hosts (which still need a
    /// matching Security instance for their credentials). Without it the bootstrap
    /// configuration's resolver is used, and without either such a pull ends with result 7.
    #[must_use]
    pub fn firmware_resolver(mut self, resolve: crate::bootstrap::Resolver<P>) -> Self {
        self.firmware_resolver = Some(resolve);
        self
    }

    /// Uses these timings.
    #[must_use]
    pub fn timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    /// Seeds the transport's random generator (tokens, message ids) for a reproducible run;
    /// without it the operating system's entropy is used.
    #[must_use]
    pub fn seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client<P>, ClientError> {
        if self.endpoint_name.is_empty() {
            return Err(ClientError::EmptyEndpointName);
        }
        if self.servers.is_empty() && self.bootstrap.is_none() {
            return Err(ClientError::NoServer);
        }
        let mut security = TypedStore::<Security>::new();
        let mut server = TypedStore::<Server>::new();
        let mut registrations = BTreeMap::new();
        for (index, account) in self.servers.iter().enumerate() {
            let ssid = check_account(account)?;
            if registrations
                .insert(
                    ssid,
                    Box::new(Registration::new(ssid, account.peer.clone())),
                )
                .is_some()
            {
                return Err(ClientError::DuplicateServer(ssid));
            }
            let instance = u16::try_from(index).map_err(|_| ClientError::DuplicateServer(ssid))?;
            security.insert(instance, security_instance(account, ssid));
            server.insert(
                instance,
                Server {
                    short_server_id: i64::from(ssid),
                    lifetime: i64::from(account.lifetime),
                    default_minimum_period: account.default_pmin.map(i64::from),
                    default_maximum_period: account.default_pmax.map(i64::from),
                    disable_timeout: account.disable_timeout.map(i64::from),
                    notification_storing_when_disabled_or_offline: account.notification_storing,
                    binding: account.binding.to_string().into(),
                },
            );
        }
        let firmware_resolver = self
            .firmware_resolver
            .or_else(|| self.bootstrap.as_ref().map(|b| b.resolve));
        let bootstrap = Bootstrap::install_any(self.bootstrap, &mut security, self.servers.len());
        let mut objects: BTreeMap<u16, Box<dyn ObjectHandler>> = BTreeMap::new();
        objects.insert(0, Box::new(security));
        objects.insert(1, Box::new(server));
        if self.servers.len() > 1 || !self.access.is_empty() {
            objects.insert(2, Box::new(TypedStore::with_instances(self.access)));
        }
        for handler in self.objects {
            let id = handler.definition().id;
            if objects.contains_key(&id) {
                return Err(ClientError::DuplicateObject(id));
            }
            objects.insert(id, handler);
        }
        let mut registry = Registry::new();
        for handler in objects.values() {
            let definition = handler.definition();
            registry
                .insert(definition.clone())
                .map_err(|e| ClientError::InvalidDefinition(definition.id, e.to_string()))?;
        }
        if !objects.contains_key(&3) {
            return Err(ClientError::MissingObject(3));
        }
        let mut config = self.timings.transport.clone();
        // A notification that times out is stored and re-sent on the same relation.
        config.keep_relations_on_timeout = true;
        let mut endpoint = match self.seed {
            Some(seed) => Endpoint::new(config, seed),
            None => Endpoint::with_entropy(config),
        }
        .map_err(|e| ClientError::Transport(e.to_string()))?;
        let firmware =
            crate::firmware::FirmwareTask::for_objects(&objects, firmware_resolver, &mut endpoint);
        Ok(Client {
            endpoint,
            endpoint_name: self.endpoint_name,
            objects,
            registry,
            registrations,
            attributes: AttributeStore::default(),
            observations: Observations::default(),
            events: VecDeque::new(),
            timings: self.timings,
            changed: Vec::new(),
            objects_changed: false,
            pending_disable: Vec::new(),
            now: Instant::ZERO,
            bootstrap,
            queue: QueueState::default(),
            firmware,
        })
    }
}

/// The Security instance of an account: PSK (mode 0, identity and key) or `NoSec` (mode 3).
fn security_instance<P>(account: &ServerAccount<P>, ssid: u16) -> Security {
    let (security_mode, public_key_or_identity, server_public_key, secret_key) =
        match (&account.public_key, &account.psk) {
            (Some(keys), _) => keys.security_fields(),
            (None, Some((identity, key))) => (PSK, identity.clone(), Vec::new(), key.clone()),
            (None, None) => (NO_SEC, Vec::new(), Vec::new(), Vec::new()),
        };
    Security {
        lwm2m_server_uri: account.uri.as_str().into(),
        bootstrap_server: false,
        security_mode,
        public_key_or_identity,
        server_public_key,
        secret_key,
        short_server_id: Some(i64::from(ssid)),
        ..Security::default()
    }
}

/// Checks one server account's settings; returns its short server id.
fn check_account<P>(account: &ServerAccount<P>) -> Result<u16, ClientError> {
    let ssid = account.short_server_id;
    if ssid == 0 || ssid > lwm2m_model::MAX_ID {
        return Err(ClientError::InvalidShortServerId(i64::from(ssid)));
    }
    if account.lifetime == 0 {
        return Err(ClientError::InvalidLifetime { ssid, lifetime: 0 });
    }
    if !matches!(account.binding, BindingMode::Udp | BindingMode::UdpQueue) {
        return Err(ClientError::UnsupportedBinding {
            ssid,
            binding: account.binding.to_string(),
        });
    }
    Ok(ssid)
}

impl ClientBuilder<SocketAddr> {
    /// Adds the server accounts of a factory configuration: Security and Server object
    /// instances, paired by Short Server ID. Bootstrap-Server accounts are skipped (add one with
    /// [`bootstrap_server`](Self::bootstrap_server)); server URIs must be `coap://<ip>[:port]`.
    ///
    /// ```
    /// use lwm2m_client::ClientBuilder;
    /// use lwm2m_objects::{Security, Server};
    ///
    /// let security = Security {
    ///     lwm2m_server_uri: "coap://192.0.2.1:5683".into(),
    ///     security_mode: 3,
    ///     short_server_id: Some(101),
    ///     ..Security::default()
    /// };
    /// let server = Server { short_server_id: 101, lifetime: 300, binding: "U".into(), ..Server::default() };
    /// let builder = ClientBuilder::new("node1").factory_objects([security], [server])?;
    /// # let _ = builder;
    /// # Ok::<(), lwm2m_client::ClientError>(())
    /// ```
    pub fn factory_objects(
        mut self,
        security: impl IntoIterator<Item = Security>,
        server: impl IntoIterator<Item = Server>,
    ) -> Result<Self, ClientError> {
        let mut servers: BTreeMap<i64, Server> =
            server.into_iter().map(|s| (s.short_server_id, s)).collect();
        for account in security.into_iter().filter(|s| !s.bootstrap_server) {
            let ssid_value = account.short_server_id.unwrap_or_default();
            let ssid = u16::try_from(ssid_value)
                .ok()
                .filter(|&s| s != 0 && s <= lwm2m_model::MAX_ID)
                .ok_or(ClientError::InvalidShortServerId(ssid_value))?;
            let s = servers
                .remove(&ssid_value)
                .ok_or(ClientError::UnpairedServer(ssid))?;
            let lifetime = u32::try_from(s.lifetime).ok().filter(|&l| l > 0).ok_or(
                ClientError::InvalidLifetime {
                    ssid,
                    lifetime: s.lifetime,
                },
            )?;
            let binding =
                BindingMode::parse(&s.binding).ok_or_else(|| ClientError::UnsupportedBinding {
                    ssid,
                    binding: s.binding.to_string(),
                })?;
            let peer = parse_coap_uri(&account.lwm2m_server_uri)?;
            let period = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
            self.servers.push(ServerAccount {
                short_server_id: ssid,
                peer,
                uri: account.lwm2m_server_uri.to_string(),
                lifetime,
                binding,
                default_pmin: period(s.default_minimum_period),
                default_pmax: period(s.default_maximum_period),
                disable_timeout: period(s.disable_timeout),
                notification_storing: s.notification_storing_when_disabled_or_offline,
                psk: (account.security_mode == PSK).then(|| {
                    (
                        account.public_key_or_identity.clone(),
                        account.secret_key.clone(),
                    )
                }),
                public_key: DtlsCredentials::from_security(
                    account.security_mode,
                    &account.public_key_or_identity,
                    &account.server_public_key,
                    &account.secret_key,
                )
                .filter(|c| c.security_mode() != PSK),
            });
        }
        if let Some((&ssid, _)) = servers.iter().next() {
            return Err(ClientError::UnpairedServer(
                u16::try_from(ssid).unwrap_or_default(),
            ));
        }
        Ok(self)
    }
}

/// The socket address of a `coap://<ip>[:port][/]` or `coaps://<ip>[:port][/]` URI (default
/// ports 5683 and 5684; no DNS: this is a sans-IO core).
///
/// ```
/// use lwm2m_client::parse_coap_uri;
///
/// assert_eq!(parse_coap_uri("coap://192.0.2.1")?.to_string(), "192.0.2.1:5683");
/// assert_eq!(parse_coap_uri("coap://[2001:db8::1]:5684/")?.to_string(), "[2001:db8::1]:5684");
/// assert_eq!(parse_coap_uri("coaps://192.0.2.1")?.to_string(), "192.0.2.1:5684");
/// assert!(parse_coap_uri("http://192.0.2.1").is_err());
/// assert!(parse_coap_uri("coap://example.com").is_err());
/// # Ok::<(), lwm2m_client::ClientError>(())
/// ```
pub fn parse_coap_uri(uri: &str) -> Result<SocketAddr, ClientError> {
    let invalid = |reason| ClientError::InvalidServerUri {
        uri: uri.to_string(),
        reason,
    };
    let (rest, default_port) = match uri.strip_prefix("coap://") {
        Some(rest) => (rest, 5683),
        None => (
            uri.strip_prefix("coaps://")
                .ok_or_else(|| invalid("only coap:// and coaps:// URIs are supported"))?,
            5684,
        ),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if let Ok(addr) = authority.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let host = authority
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(authority);
    host.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, default_port))
        .map_err(|_| invalid("the host must be an IP address (with an optional port)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::DeviceObject;
    use lwm2m_objects::Device;

    fn device() -> DeviceObject {
        DeviceObject::new(Device {
            supported_binding_and_modes: "U".into(),
            ..Device::default()
        })
    }

    #[test]
    fn refuses_bad_configurations() {
        let b = || ClientBuilder::<u8>::new("ep").seed([1; 32]);
        assert_eq!(
            b().object(device()).build().unwrap_err(),
            ClientError::NoServer
        );
        assert_eq!(
            ClientBuilder::<u8>::new("")
                .server(ServerAccount::new(1, 1))
                .build()
                .unwrap_err(),
            ClientError::EmptyEndpointName
        );
        assert_eq!(
            b().server(ServerAccount::new(1, 1)).build().unwrap_err(),
            ClientError::MissingObject(3)
        );
        assert_eq!(
            b().server(ServerAccount::new(1, 1))
                .server(ServerAccount::new(1, 2))
                .object(device())
                .build()
                .unwrap_err(),
            ClientError::DuplicateServer(1)
        );
        assert_eq!(
            b().server(ServerAccount::new(0, 1))
                .object(device())
                .build()
                .unwrap_err(),
            ClientError::InvalidShortServerId(0)
        );
        assert!(matches!(
            b().server(ServerAccount::new(1, 1).binding(BindingMode::Sms))
                .object(device())
                .build(),
            Err(ClientError::UnsupportedBinding { ssid: 1, .. })
        ));
        assert_eq!(
            b().server(ServerAccount::new(1, 1))
                .object(device())
                .object(device())
                .build()
                .unwrap_err(),
            ClientError::DuplicateObject(3)
        );
    }

    #[test]
    fn factory_objects_pair_security_and_server() {
        let security = |ssid: i64, uri: &str| Security {
            lwm2m_server_uri: uri.into(),
            security_mode: 3,
            short_server_id: Some(ssid),
            ..Security::default()
        };
        let server = |ssid| Server {
            short_server_id: ssid,
            lifetime: 60,
            binding: "U".into(),
            ..Server::default()
        };
        let bootstrap = Security {
            bootstrap_server: true,
            ..security(0, "coap://192.0.2.9")
        };
        let client = ClientBuilder::new("ep")
            .factory_objects(
                [
                    security(1, "coap://192.0.2.1"),
                    security(2, "coap://192.0.2.2:6000"),
                    bootstrap,
                ],
                [server(1), server(2)],
            )
            .unwrap()
            .object(device())
            .seed([1; 32])
            .build()
            .unwrap();
        assert_eq!(client.registrations.len(), 2);
        assert_eq!(
            client.registrations[&2].peer,
            "192.0.2.2:6000".parse().unwrap()
        );
        assert!(
            client.objects.contains_key(&2),
            "several servers need Access Control"
        );
        assert_eq!(
            ClientBuilder::new("ep")
                .factory_objects([security(1, "coap://192.0.2.1")], [])
                .unwrap_err(),
            ClientError::UnpairedServer(1)
        );
        assert_eq!(
            ClientBuilder::new("ep")
                .factory_objects([], [server(5)])
                .unwrap_err(),
            ClientError::UnpairedServer(5)
        );
    }
}
