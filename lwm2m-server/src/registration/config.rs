//! [`RegistrarConfig`] and the rate-limit settings.

use core::time::Duration;

use lwm2m_model::Version;

/// How the registrar treats Register parameters LwM2M 1.0 does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownParameters {
    /// Keep them on the registration (as Leshan does), up to
    /// [`RegistrarConfig::max_additional_parameters`].
    #[default]
    Keep,
    /// Refuse the Register with 4.00 Bad Request, as the TS says.
    Reject,
}

/// What a rate-limited Register is answered with. Both carry Max-Age: the seconds after which
/// the client may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateLimitResponse {
    /// 5.03 Service Unavailable with Max-Age (RFC 7252 §5.9.3.4): what a 1.0 client knows.
    #[default]
    ServiceUnavailable,
    /// 4.29 Too Many Requests with Max-Age (RFC 8516), for clients that know it.
    TooManyRequests,
}

/// What identifies the source of a Register for rate limiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateLimitKey {
    /// The IP address: one budget per host, whatever the port (a flooder cannot escape by
    /// changing ports). Clients behind one NAT share it.
    #[default]
    Ip,
    /// The IP address and port.
    Address,
}

/// A per-source rate limit on Register requests: a burst of `burst` Registers, then one more
/// every `interval` (a token bucket, kept as one timestamp per source).
///
/// At most `max_sources` sources are tracked; sources seen while the table is full share one
/// overflow budget, so a flood from many addresses cannot grow memory and is still limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Registers a source may send at once.
    pub burst: u32,
    /// Time to earn one more Register.
    pub interval: Duration,
    /// What a source is.
    pub key: RateLimitKey,
    /// How many sources are tracked individually.
    pub max_sources: usize,
    /// The answer to a limited Register.
    pub response: RateLimitResponse,
}

impl Default for RateLimit {
    /// A burst of 10 Registers, then one per second, per IP address; 65 536 sources; 5.03.
    fn default() -> RateLimit {
        RateLimit {
            burst: 10,
            interval: Duration::from_secs(1),
            key: RateLimitKey::Ip,
            max_sources: 65_536,
            response: RateLimitResponse::ServiceUnavailable,
        }
    }
}

/// The registrar's settings. Every field has a sensible default.
///
/// ```
/// use core::time::Duration;
/// use lwm2m_server::registration::{RateLimit, RegistrarConfig, UnknownParameters};
/// let config = RegistrarConfig {
///     expiry_grace: Duration::from_secs(30),
///     unknown_parameters: UnknownParameters::Reject,
///     register_rate_limit: Some(RateLimit { burst: 3, ..RateLimit::default() }),
///     ..RegistrarConfig::default()
/// };
/// assert_eq!(config.max_object_links, 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Time a registration survives past its lifetime before it expires. The default, 93 s, is
    /// `MAX_TRANSMIT_WAIT`: a Confirmable Update sent just before the lifetime ends may take that
    /// long to get through its retransmissions, and must still find the registration.
    pub expiry_grace: Duration,
    /// The LwM2M version the server implements; a client's `lwm2m` must have the same major and
    /// a minor that is not newer, or the Register gets 4.12 Precondition Failed.
    pub supported_version: Version,
    /// What to do with Register parameters LwM2M 1.0 does not define.
    pub unknown_parameters: UnknownParameters,
    /// Refuse Non-confirmable Register and Update requests with 4.00 (LwM2M requires CON;
    /// Leshan refuses NON too).
    pub require_confirmable: bool,
    /// Longest endpoint client name accepted (bytes).
    pub max_endpoint_len: usize,
    /// Most object and instance links accepted in one payload.
    pub max_object_links: usize,
    /// Most unknown parameters kept on one registration (more gets 4.00).
    pub max_additional_parameters: usize,
    /// Most registrations held; a Register of a new endpoint beyond it gets 5.03.
    pub max_registrations: usize,
    /// The per-source limit on Register requests (`None`: unlimited).
    pub register_rate_limit: Option<RateLimit>,
    /// Most events queued for [`poll_event`](super::Registrar::poll_event); beyond it the oldest
    /// are dropped and counted in the stats.
    pub max_queued_events: usize,
    /// Put a short diagnostic text (RFC 7252 §5.5.2) in 4.xx answers.
    pub diagnostic_payloads: bool,
}

impl Default for RegistrarConfig {
    fn default() -> RegistrarConfig {
        RegistrarConfig {
            expiry_grace: Duration::from_secs(93),
            supported_version: Version::V1_0,
            unknown_parameters: UnknownParameters::Keep,
            require_confirmable: true,
            max_endpoint_len: 255,
            max_object_links: 1024,
            max_additional_parameters: 8,
            max_registrations: 1_000_000,
            register_rate_limit: Some(RateLimit::default()),
            max_queued_events: 65_536,
            diagnostic_payloads: true,
        }
    }
}
