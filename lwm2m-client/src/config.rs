//! Client settings: the server accounts ([`ServerAccount`]) and the timings ([`Timings`]).

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use lwm2m_model::BindingMode;
use lwm2m_transport::Config;

/// One LwM2M server the client registers with (a Security and a Server object instance).
///
/// ```
/// use lwm2m_client::ServerAccount;
/// use std::net::SocketAddr;
///
/// let peer: SocketAddr = "192.0.2.1:5683".parse().unwrap();
/// let account = ServerAccount::new(101, peer).lifetime(300).default_periods(Some(10), Some(60));
/// assert_eq!((account.short_server_id, account.lifetime), (101, 300));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAccount<P> {
    /// Short Server ID (`/1/x/0`, `/0/x/10`), 1-65534.
    pub short_server_id: u16,
    /// Where the server is (the transport peer).
    pub peer: P,
    /// The server URI stored in `/0/x/0` (informative for the client; `peer` is what it uses).
    pub uri: String,
    /// Registration lifetime in seconds (`/1/x/1`). Default 86400.
    pub lifetime: u32,
    /// Binding (`/1/x/7`): `U` (default) or `UQ`.
    pub binding: BindingMode,
    /// Default Minimum Period (`/1/x/2`).
    pub default_pmin: Option<u32>,
    /// Default Maximum Period (`/1/x/3`).
    pub default_pmax: Option<u32>,
    /// Disable Timeout (`/1/x/5`) in seconds (absent: the default of 86400 applies).
    pub disable_timeout: Option<u32>,
    /// Notification Storing When Disabled or Offline (`/1/x/6`). Default `true`.
    pub notification_storing: bool,
    /// DTLS pre-shared key: (identity, key), stored in the Security instance (`/0/x/3`,
    /// `/0/x/5`, mode `/0/x/2` = 0). `None`: `NoSec` (mode 3).
    pub psk: Option<(Vec<u8>, Vec<u8>)>,
    /// DTLS with public keys (security mode 1 or 2); takes precedence over [`psk`](Self::psk).
    pub public_key: Option<DtlsCredentials>,
}

/// The DTLS credentials of a server's Security instance, as stored in it (DER bytes; the
/// runtime checks them when it first talks to the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtlsCredentials {
    /// Security mode 0: `/0/x/3` identity, `/0/x/5` key.
    Psk {
        /// PSK identity.
        identity: Vec<u8>,
        /// Pre-shared key.
        key: Vec<u8>,
    },
    /// Security mode 1 (RFC 7250 raw public keys): `/0/x/3`, `/0/x/4`, `/0/x/5`.
    RawPublicKey {
        /// The client's `SubjectPublicKeyInfo` (DER).
        public_key: Vec<u8>,
        /// The server's `SubjectPublicKeyInfo` (DER).
        server_public_key: Vec<u8>,
        /// The client's private key (DER: PKCS#8 or SEC1).
        secret_key: Vec<u8>,
    },
    /// Security mode 2 (X.509): `/0/x/3`, `/0/x/4`, `/0/x/5`.
    Certificate {
        /// The client's certificate (DER).
        certificate: Vec<u8>,
        /// The server's certificate, or a CA certificate to trust (DER).
        server_certificate: Vec<u8>,
        /// The client's private key (DER: PKCS#8 or SEC1).
        secret_key: Vec<u8>,
    },
}

impl DtlsCredentials {
    /// The Security Mode (`/0/x/2`) these credentials belong to: 0, 1 or 2.
    #[must_use]
    pub fn security_mode(&self) -> i64 {
        match self {
            DtlsCredentials::Psk { .. } => 0,
            DtlsCredentials::RawPublicKey { .. } => 1,
            DtlsCredentials::Certificate { .. } => 2,
        }
    }

    /// The Security instance's mode (`/0/x/2`) and resources `/0/x/3`, `/0/x/4`, `/0/x/5` that
    /// hold these credentials (the inverse of [`from_security`](Self::from_security)).
    #[must_use]
    pub fn security_fields(&self) -> (i64, Vec<u8>, Vec<u8>, Vec<u8>) {
        match self {
            DtlsCredentials::Psk { identity, key } => {
                (0, identity.clone(), Vec::new(), key.clone())
            }
            DtlsCredentials::RawPublicKey {
                public_key: own,
                server_public_key: server,
                secret_key,
            }
            | DtlsCredentials::Certificate {
                certificate: own,
                server_certificate: server,
                secret_key,
            } => (
                self.security_mode(),
                own.clone(),
                server.clone(),
                secret_key.clone(),
            ),
        }
    }

    /// The credentials of a Security instance's mode and resources `/0/x/3`, `/0/x/4`,
    /// `/0/x/5`; `None` for `NoSec` (3) or an unknown mode.
    #[must_use]
    pub fn from_security(mode: i64, own: &[u8], server: &[u8], secret: &[u8]) -> Option<Self> {
        match mode {
            0 => Some(DtlsCredentials::Psk {
                identity: own.to_vec(),
                key: secret.to_vec(),
            }),
            1 => Some(DtlsCredentials::RawPublicKey {
                public_key: own.to_vec(),
                server_public_key: server.to_vec(),
                secret_key: secret.to_vec(),
            }),
            2 => Some(DtlsCredentials::Certificate {
                certificate: own.to_vec(),
                server_certificate: server.to_vec(),
                secret_key: secret.to_vec(),
            }),
            _ => None,
        }
    }
}

impl<P> ServerAccount<P> {
    /// An account with the defaults: lifetime 86400 s, binding `U`, no default periods.
    pub fn new(short_server_id: u16, peer: P) -> Self {
        ServerAccount {
            short_server_id,
            peer,
            uri: String::new(),
            lifetime: lwm2m_model::DEFAULT_LIFETIME,
            binding: BindingMode::Udp,
            default_pmin: None,
            default_pmax: None,
            disable_timeout: None,
            notification_storing: true,
            psk: None,
            public_key: None,
        }
    }

    /// With this lifetime in seconds.
    #[must_use]
    pub fn lifetime(mut self, seconds: u32) -> Self {
        self.lifetime = seconds;
        self
    }

    /// With this binding.
    #[must_use]
    pub fn binding(mut self, binding: BindingMode) -> Self {
        self.binding = binding;
        self
    }

    /// With these default minimum and maximum periods.
    #[must_use]
    pub fn default_periods(mut self, pmin: Option<u32>, pmax: Option<u32>) -> Self {
        self.default_pmin = pmin;
        self.default_pmax = pmax;
        self
    }

    /// With a DTLS pre-shared key (security mode PSK): the runtime talks DTLS to this server.
    #[must_use]
    pub fn psk(mut self, identity: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.psk = Some((identity.into(), key.into()));
        self.public_key = None;
        self
    }

    /// With DTLS certificates (security mode 2): the client's certificate and private key (DER;
    /// PKCS#8 or SEC1), and the server's certificate or a CA certificate to trust (DER). The
    /// runtime needs the OpenSSL backend (feature `dtls-openssl`) for it.
    #[must_use]
    pub fn certificate(
        mut self,
        certificate: impl Into<Vec<u8>>,
        secret_key: impl Into<Vec<u8>>,
        server_certificate: impl Into<Vec<u8>>,
    ) -> Self {
        self.psk = None;
        self.public_key = Some(DtlsCredentials::Certificate {
            certificate: certificate.into(),
            server_certificate: server_certificate.into(),
            secret_key: secret_key.into(),
        });
        self
    }

    /// With DTLS raw public keys (security mode 1): the client's `SubjectPublicKeyInfo` and
    /// private key (DER), and the server's `SubjectPublicKeyInfo`. The runtime needs
    /// lwm2m-transport's `dtls-rpk` (OpenSSL >= 3.2) for it.
    #[must_use]
    pub fn raw_public_key(
        mut self,
        public_key: impl Into<Vec<u8>>,
        secret_key: impl Into<Vec<u8>>,
        server_public_key: impl Into<Vec<u8>>,
    ) -> Self {
        self.psk = None;
        self.public_key = Some(DtlsCredentials::RawPublicKey {
            public_key: public_key.into(),
            server_public_key: server_public_key.into(),
            secret_key: secret_key.into(),
        });
        self
    }

    /// With this server URI (stored in the Security object).
    #[must_use]
    pub fn uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = uri.into();
        self
    }
}

/// Timings of the registration state machine and the transport configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Timings {
    /// An Update goes out `min(lifetime / 2, update_margin)` before the registration expires.
    /// Default 93 s (`MAX_TRANSMIT_WAIT`, so even a fully retransmitted Update arrives in time).
    pub update_margin: Duration,
    /// The wait before the first retry of a failed Register; it doubles with each failure.
    /// Default 30 s.
    pub retry_initial: Duration,
    /// The longest wait between two Register attempts. Default 1 hour.
    pub retry_max: Duration,
    /// Queue mode (`UQ`): how long the client stays reachable after its last exchange before
    /// it sleeps. Default 93 s (`MAX_TRANSMIT_WAIT`, the TS minimum).
    pub awake_time: Duration,
    /// The CoAP endpoint configuration.
    pub transport: Config,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            update_margin: Duration::from_secs(93),
            retry_initial: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            awake_time: Duration::from_secs(93),
            transport: Config::default(),
        }
    }
}

impl Timings {
    /// When, after a successful Register or Update, the next Update is due.
    ///
    /// ```
    /// use core::time::Duration;
    /// use lwm2m_client::Timings;
    ///
    /// let t = Timings::default();
    /// assert_eq!(t.update_after(300), Duration::from_secs(207)); // 300 - 93
    /// assert_eq!(t.update_after(60), Duration::from_secs(30)); // 60 - 60/2
    /// ```
    pub fn update_after(&self, lifetime: u32) -> Duration {
        let lifetime = Duration::from_secs(u64::from(lifetime));
        lifetime.saturating_sub(self.update_margin.min(lifetime / 2))
    }

    /// The wait before Register attempt number `failures + 1` after `failures` failures in a
    /// row: `retry_initial · 2^(failures-1)`, at most `retry_max`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use lwm2m_client::Timings;
    ///
    /// let t = Timings::default();
    /// assert_eq!(t.retry_after(1), Duration::from_secs(30));
    /// assert_eq!(t.retry_after(3), Duration::from_secs(120));
    /// assert_eq!(t.retry_after(40), Duration::from_secs(3600));
    /// ```
    pub fn retry_after(&self, failures: u32) -> Duration {
        let shift = failures.saturating_sub(1).min(31);
        self.retry_initial
            .checked_mul(1u32 << shift)
            .unwrap_or(self.retry_max)
            .min(self.retry_max)
    }
}
