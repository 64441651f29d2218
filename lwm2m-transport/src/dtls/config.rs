//! Configuration: [`Limits`] of a session table, [`ServerConfig`] (what a DTLS server accepts)
//! and [`ClientConfig`] (how a DTLS client authenticates). Building a configuration builds the
//! DTLS library context once, so bad credentials fail here and not at the first handshake.

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

use super::backend::{ClientBackend, ServerBackend};
use super::credentials::{
    Certificate, CertifiedKey, ClientCredentials, PrivateKey, PskStore, RawPublicKeyStore,
};
use super::error::ConfigError;

/// The DTLS library behind a configuration.
///
/// ```
/// use lwm2m_transport::dtls::Backend;
/// assert_eq!(Backend::Dimpl.to_string(), "dimpl");
/// # #[cfg(feature = "dtls-openssl")]
/// assert_eq!(Backend::default(), Backend::OpenSsl);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The system OpenSSL (feature `dtls-openssl`): PSK, X.509 and session resumption; 50 to
    /// 120 KiB per session.
    OpenSsl,
    /// dimpl (feature `dtls-dimpl`), pure Rust: PSK only, no resumption; a few KiB per session,
    /// the choice for very many sessions.
    Dimpl,
}

impl Default for Backend {
    /// OpenSSL when compiled in, else dimpl.
    fn default() -> Backend {
        if cfg!(feature = "dtls-openssl") {
            Backend::OpenSsl
        } else {
            Backend::Dimpl
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::OpenSsl => "OpenSSL",
            Backend::Dimpl => "dimpl",
        })
    }
}

/// Default path MTU for DTLS datagrams: the IPv6 minimum (1280) less IPv6 and UDP headers.
pub const DEFAULT_MTU: usize = 1232;

/// Caps and timeouts of a [`SessionTable`](crate::dtls::SessionTable).
///
/// ```
/// use core::time::Duration;
/// use lwm2m_transport::dtls::Limits;
/// let mut limits = Limits::default();
/// limits.max_half_open_per_source = 2;
/// limits.handshake_timeout = Duration::from_secs(10);
/// assert_eq!(limits.max_sessions, 10_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Sessions (established and in handshake) the table holds. A handshake from a peer that
    /// already has a session (a rebooted client) is admitted even at the cap, since it replaces
    /// that session.
    pub max_sessions: usize,
    /// Handshakes in progress at once (after a valid cookie).
    pub max_half_open: usize,
    /// Handshakes in progress at once from one source host (all its ports together).
    pub max_half_open_per_source: usize,
    /// A handshake not complete after this long fails with
    /// [`HandshakeFailure::Timeout`](crate::dtls::HandshakeFailure::Timeout).
    pub handshake_timeout: Duration,
    /// An established session without any datagram in either direction for this long is closed
    /// (`close_notify` is sent) and removed.
    pub idle_timeout: Duration,
    /// An established server session without any datagram for this long is evicted: dropped
    /// without `close_notify`, so the client still thinks it holds a session. The server keeps
    /// nothing per evicted session: with OpenSSL the client resumes with its session ticket
    /// (RFC 5077) or, without tickets, from the context's session-ID cache; dimpl has no
    /// resumption, so its clients do a full handshake. The evicted client's next record is answered with an alert
    /// ([`Alert::UNEXPECTED_MESSAGE`](crate::dtls::Alert::UNEXPECTED_MESSAGE) at epoch 0) on
    /// which a client of this crate re-handshakes at once, resuming where the backend can, and
    /// resends its datagrams that had no answer yet. `None` (the default) never evicts for idleness.
    pub evict_idle_after: Option<Duration>,
    /// Established server sessions held live; past it, the least recently active one is evicted
    /// (as with [`evict_idle_after`](Self::evict_idle_after)). Default: no cap.
    pub max_live_sessions: usize,
    /// Longer datagrams are dropped unread.
    pub max_datagram_len: usize,
    /// Plaintext datagrams a client session queues while its handshake runs.
    pub max_queued_plaintext: usize,
    /// How long a cookie secret is used before it rotates (cookies from the previous secret are
    /// still accepted).
    pub cookie_secret_lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_sessions: 10_000,
            max_half_open: 1_000,
            max_half_open_per_source: 8,
            handshake_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(3_600),
            evict_idle_after: None,
            max_live_sessions: usize::MAX,
            max_datagram_len: 16_384 + 2_048 + 13,
            max_queued_plaintext: 32,
            cookie_secret_lifetime: Duration::from_secs(300),
        }
    }
}

/// What a DTLS server accepts: PSK clients (through a [`PskStore`]), certificate clients (with
/// its own certificate and trust anchors for theirs), or both on one socket.
///
/// ```
/// use std::collections::HashMap;
/// use lwm2m_transport::dtls::ServerConfig;
/// let store = HashMap::from([(b"dev-1".to_vec(), b"0123456789abcdef".to_vec())]);
/// let config = ServerConfig::builder().psk_store(store).build()?;
/// # let _ = config;
/// # Ok::<(), lwm2m_transport::dtls::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    pub(crate) backend: Arc<dyn ServerBackend>,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig").finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Starts a configuration.
    pub fn builder() -> ServerConfigBuilder {
        ServerConfigBuilder {
            psk_store: None,
            certificate: None,
            client_anchors: Vec::new(),
            raw_public_keys: None,
            mtu: DEFAULT_MTU,
            backend: Backend::default(),
            session_cache_size: DEFAULT_SESSION_CACHE_SIZE,
        }
    }
}

/// Builds a [`ServerConfig`].
#[must_use]
pub struct ServerConfigBuilder {
    psk_store: Option<Arc<dyn PskStore>>,
    certificate: Option<CertifiedKey>,
    client_anchors: Vec<Certificate>,
    raw_public_keys: Option<(PrivateKey, Arc<dyn RawPublicKeyStore>)>,
    mtu: usize,
    backend: Backend,
    session_cache_size: usize,
}

/// Sessions an OpenSSL server context keeps for resumption by default (see
/// [`ServerConfigBuilder::session_cache_size`]).
pub const DEFAULT_SESSION_CACHE_SIZE: usize = 131_072;

impl fmt::Debug for ServerConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfigBuilder")
            .field("psk_store", &self.psk_store.is_some())
            .field("certificate", &self.certificate)
            .field("client_anchors", &self.client_anchors)
            .field("raw_public_keys", &self.raw_public_keys.is_some())
            .field("mtu", &self.mtu)
            .field("backend", &self.backend)
            .field("session_cache_size", &self.session_cache_size)
            .finish()
    }
}

impl ServerConfigBuilder {
    /// Accepts PSK clients whose identity `store` knows (`TLS_PSK_WITH_AES_128_CCM_8`).
    pub fn psk_store(mut self, store: impl PskStore) -> Self {
        self.psk_store = Some(Arc::new(store));
        self
    }

    /// Accepts certificate clients (`TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8`), presenting `own`.
    /// Needs [`client_trust_anchors`](Self::client_trust_anchors).
    pub fn certificate(mut self, own: CertifiedKey) -> Self {
        self.certificate = Some(own);
        self
    }

    /// The CAs client certificates must chain to.
    pub fn client_trust_anchors(mut self, anchors: Vec<Certificate>) -> Self {
        self.client_anchors = anchors;
        self
    }

    /// Accepts raw-public-key clients (RFC 7250, LwM2M security mode 1,
    /// `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8`) whose key `trusted` accepts, presenting the public
    /// half of `own`. With a [`certificate`](Self::certificate) as well, `own` must be the
    /// certificate's key (OpenSSL holds one P-256 key per context). Needs the `dtls-rpk` feature;
    /// [`build`](Self::build) refuses it otherwise with [`ConfigError::RawPublicKeyUnsupported`].
    pub fn raw_public_keys(mut self, own: PrivateKey, trusted: impl RawPublicKeyStore) -> Self {
        self.raw_public_keys = Some((own, Arc::new(trusted)));
        self
    }

    /// The largest datagram the server sends (default [`DEFAULT_MTU`]).
    pub fn mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }

    /// The DTLS library (default [`Backend::default`]). [`Backend::Dimpl`] refuses a
    /// certificate or raw public keys with [`ConfigError::Unsupported`].
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Sessions the server keeps for resumption, live and evicted (default
    /// [`DEFAULT_SESSION_CACHE_SIZE`]; OpenSSL only, dimpl has no resumption). Past it OpenSSL
    /// drops the oldest; a client whose session is gone does a full handshake instead.
    pub fn session_cache_size(mut self, size: usize) -> Self {
        self.session_cache_size = size;
        self
    }

    /// Builds the DTLS library context.
    pub fn build(self) -> Result<ServerConfig, ConfigError> {
        check_mtu(self.mtu)?;
        if self.psk_store.is_none() && self.certificate.is_none() && self.raw_public_keys.is_none()
        {
            return Err(ConfigError::NoCredentials);
        }
        if self.certificate.is_some() && self.client_anchors.is_empty() {
            return Err(ConfigError::NoClientTrustAnchors);
        }
        let backend: Arc<dyn ServerBackend> = match self.backend {
            #[cfg(feature = "dtls-openssl")]
            Backend::OpenSsl => Arc::new(super::openssl::OpensslServer::new(
                self.psk_store,
                self.certificate.as_ref(),
                &self.client_anchors,
                self.raw_public_keys
                    .as_ref()
                    .map(|(own, trusted)| (own, Arc::clone(trusted))),
                self.mtu,
                self.session_cache_size,
            )?),
            #[cfg(feature = "dtls-dimpl")]
            Backend::Dimpl => {
                if self.certificate.is_some() {
                    return Err(ConfigError::Unsupported {
                        backend: Backend::Dimpl,
                        mode: "certificates",
                    });
                }
                if self.raw_public_keys.is_some() {
                    return Err(ConfigError::Unsupported {
                        backend: Backend::Dimpl,
                        mode: "raw public keys",
                    });
                }
                let store = self.psk_store.ok_or(ConfigError::NoCredentials)?;
                Arc::new(super::dimpl::DimplServer::new(store, self.mtu)?)
            }
            #[allow(unreachable_patterns)]
            other => return Err(ConfigError::BackendNotCompiled(other)),
        };
        Ok(ServerConfig { backend })
    }
}

/// How a DTLS client authenticates to one server.
///
/// ```
/// use lwm2m_transport::dtls::{ClientConfig, ClientCredentials, Psk};
/// let psk = Psk::new(b"dev-1", b"0123456789abcdef")?;
/// let config = ClientConfig::builder(ClientCredentials::Psk(psk)).build()?;
/// # let _ = config;
/// # Ok::<(), lwm2m_transport::dtls::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ClientConfig {
    pub(crate) backend: Arc<dyn ClientBackend>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig").finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Starts a configuration with these credentials.
    pub fn builder(credentials: ClientCredentials) -> ClientConfigBuilder {
        ClientConfigBuilder {
            credentials,
            server_name: None,
            mtu: DEFAULT_MTU,
            backend: Backend::default(),
        }
    }
}

/// Builds a [`ClientConfig`].
#[derive(Debug)]
#[must_use]
pub struct ClientConfigBuilder {
    credentials: ClientCredentials,
    server_name: Option<String>,
    mtu: usize,
    backend: Backend,
}

impl ClientConfigBuilder {
    /// The server's host name, sent as SNI (LwM2M asks clients to set it). IP literals are not
    /// sent (RFC 6066), but may still be checked by [`ServerTrust::Anchors`](crate::dtls::ServerTrust).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// The largest datagram the client sends (default [`DEFAULT_MTU`]).
    pub fn mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }

    /// The DTLS library (default [`Backend::default`]). [`Backend::Dimpl`] refuses certificate
    /// and raw-public-key credentials with [`ConfigError::Unsupported`].
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Builds the DTLS library context.
    pub fn build(self) -> Result<ClientConfig, ConfigError> {
        check_mtu(self.mtu)?;
        if let Some(name) = &self.server_name {
            if name.is_empty() || name.contains('\0') {
                return Err(ConfigError::ServerName(name.clone()));
            }
        }
        let backend: Arc<dyn ClientBackend> = match self.backend {
            #[cfg(feature = "dtls-openssl")]
            Backend::OpenSsl => Arc::new(super::openssl::OpensslClient::new(
                &self.credentials,
                self.server_name,
                self.mtu,
            )?),
            #[cfg(feature = "dtls-dimpl")]
            Backend::Dimpl => match &self.credentials {
                ClientCredentials::Psk(psk) => {
                    Arc::new(super::dimpl::DimplClient::new(psk, self.mtu)?)
                }
                ClientCredentials::Certificate { .. } => {
                    return Err(ConfigError::Unsupported {
                        backend: Backend::Dimpl,
                        mode: "certificates",
                    })
                }
                ClientCredentials::RawPublicKey { .. } => {
                    return Err(ConfigError::Unsupported {
                        backend: Backend::Dimpl,
                        mode: "raw public keys",
                    })
                }
            },
            #[allow(unreachable_patterns)]
            other => return Err(ConfigError::BackendNotCompiled(other)),
        };
        Ok(ClientConfig { backend })
    }
}

fn check_mtu(mtu: usize) -> Result<(), ConfigError> {
    if (256..=16_384).contains(&mtu) {
        Ok(())
    } else {
        Err(ConfigError::Mtu(mtu))
    }
}
