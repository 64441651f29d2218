//! [`Registration`]: what the server knows about one registered client.

use std::net::SocketAddr;
use std::sync::Arc;

use core::time::Duration;

use lwm2m_model::{BindingMode, Msisdn, RegisterParams, UpdateParams, Version};

use super::{CompactObjectLinks, RegistrationId};
use crate::Timestamp;

/// An unknown Register parameter kept on the registration: name and optional value.
type Parameter = (Box<str>, Option<Box<str>>);

/// One registered client: its endpoint name, registration id, transport address, Register
/// parameters, object links and times.
///
/// A `Registration` cannot exist without an endpoint name: the only constructor takes
/// [`RegisterParams`], whose endpoint is never empty. It is compact (about 190 bytes inline plus
/// the endpoint name and 4 bytes per object link on the heap) and cheap to clone (the endpoint
/// name is shared).
///
/// ```
/// use lwm2m_model::RegisterParams;
/// use lwm2m_server::registration::{CompactObjectLinks, Registration, RegistrationId};
/// use lwm2m_server::Timestamp;
///
/// let params = RegisterParams::parse(["ep=node1", "lt=300", "lwm2m=1.0", "b=U"])?;
/// let links = CompactObjectLinks::parse(b"</1/0>,</3/0>", 64)?;
/// let id: RegistrationId = "5a3f".parse()?;
/// let now = Timestamp::from_unix_secs(1_000);
/// let reg = Registration::new(id, params, links, "10.0.0.1:5683".parse()?, now);
/// assert_eq!(reg.endpoint(), "node1");
/// assert_eq!(reg.expires_at(), Timestamp::from_unix_secs(1_300));
/// assert_eq!(reg.location(), "/rd/5a3f");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    id: RegistrationId,
    endpoint: Arc<str>,
    peer: SocketAddr,
    lifetime: u32,
    lwm2m_version: Version,
    binding: BindingMode,
    sms: Option<Msisdn>,
    links: CompactObjectLinks,
    additional: Box<[Parameter]>,
    registered_at: Timestamp,
    updated_at: Timestamp,
}

impl Registration {
    /// A registration made at `now` from `peer` with these Register parameters and links.
    pub fn new(
        id: RegistrationId,
        params: RegisterParams,
        links: CompactObjectLinks,
        peer: SocketAddr,
        now: Timestamp,
    ) -> Registration {
        let endpoint = Arc::from(params.endpoint());
        let additional = params
            .additional
            .into_iter()
            .map(|(name, value)| (name.into_boxed_str(), value.map(String::into_boxed_str)))
            .collect();
        Registration {
            id,
            endpoint,
            peer,
            lifetime: params.lifetime,
            lwm2m_version: params.lwm2m_version,
            binding: params.binding,
            sms: params.sms,
            links,
            additional,
            registered_at: now,
            updated_at: now,
        }
    }

    /// The registration id (the `{id}` of `/rd/{id}`).
    pub fn id(&self) -> RegistrationId {
        self.id
    }

    /// The location the client uses for Update and De-register: `/rd/{id}`.
    pub fn location(&self) -> String {
        format!("/rd/{}", self.id)
    }

    /// The endpoint client name (never empty).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The endpoint name as a shared string (no copy).
    pub fn endpoint_arc(&self) -> &Arc<str> {
        &self.endpoint
    }

    /// The transport address of the client's last Register or Update: downlink requests go here.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The lifetime in seconds (`lt`).
    pub fn lifetime(&self) -> u32 {
        self.lifetime
    }

    /// The client's LwM2M version (`lwm2m`).
    pub fn lwm2m_version(&self) -> Version {
        self.lwm2m_version
    }

    /// The binding mode (`b`).
    pub fn binding(&self) -> BindingMode {
        self.binding
    }

    /// Whether the client is in queue mode (`UQ`, `SQ`, `UQS`).
    pub fn is_queue_mode(&self) -> bool {
        self.binding.is_queue_mode()
    }

    /// The client's MSISDN (`sms`), if it sent one.
    pub fn sms(&self) -> Option<&Msisdn> {
        self.sms.as_ref()
    }

    /// The objects and object instances the client registered.
    pub fn object_links(&self) -> &CompactObjectLinks {
        &self.links
    }

    /// Register parameters LwM2M 1.0 does not define, kept when the registrar is lenient.
    pub fn additional_parameters(&self) -> impl ExactSizeIterator<Item = (&str, Option<&str>)> {
        self.additional
            .iter()
            .map(|(name, value)| (&**name, value.as_deref()))
    }

    /// When the client registered.
    pub fn registered_at(&self) -> Timestamp {
        self.registered_at
    }

    /// When the client last registered or updated.
    pub fn last_update(&self) -> Timestamp {
        self.updated_at
    }

    /// When the lifetime runs out: the last Register/Update plus the lifetime. (The registrar
    /// removes the registration a grace period later; see `RegistrarConfig::expiry_grace`.)
    pub fn expires_at(&self) -> Timestamp {
        self.updated_at + Duration::from_secs(u64::from(self.lifetime))
    }

    /// Heap bytes this registration owns (endpoint name, links, MSISDN, extra parameters), for
    /// memory accounting. The endpoint name is counted once although the table's index shares it.
    pub fn heap_size(&self) -> usize {
        // An `Arc<str>` allocation holds two reference counts before the bytes.
        let endpoint = 2 * size_of::<usize>() + self.endpoint.len();
        let sms = self.sms.as_ref().map_or(0, |s| s.as_str().len());
        let additional = self.additional.len() * size_of::<Parameter>()
            + self
                .additional
                .iter()
                .map(|(n, v)| n.len() + v.as_ref().map_or(0, |v| v.len()))
                .sum::<usize>();
        endpoint + sms + self.links.heap_size() + additional
    }

    /// Applies an Update received at `now` from `peer`: new parameters, new links when the
    /// payload had them, the new address, and a fresh lifetime.
    pub(crate) fn apply_update(
        &mut self,
        update: &UpdateParams,
        links: Option<CompactObjectLinks>,
        peer: SocketAddr,
        now: Timestamp,
    ) {
        if let Some(lt) = update.lifetime {
            self.lifetime = lt;
        }
        if let Some(b) = update.binding {
            self.binding = b;
        }
        if let Some(sms) = &update.sms {
            self.sms = Some(sms.clone());
        }
        if let Some(links) = links {
            self.links = links;
        }
        self.peer = peer;
        self.updated_at = now;
    }

    /// The same registration with other times: `registered_at` and the last Register/Update
    /// (for stores and tools that restore a registration; the expiry follows `last_update`).
    #[must_use]
    pub fn with_times(mut self, registered_at: Timestamp, last_update: Timestamp) -> Registration {
        self.registered_at = registered_at;
        self.updated_at = last_update;
        self
    }
}
