//! DTLS 1.2 (RFC 6347) for CoAP over one UDP socket, sans-IO, in the security modes of LwM2M 1.0
//! (§7.1 of the TS): PSK with `TLS_PSK_WITH_AES_128_CCM_8`, and X.509 certificates or raw public
//! keys with `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8`, all on one server socket.
//!
//! - [`SessionTable`] holds the sessions of a socket by peer address: it does the cookie exchange
//!   statelessly, caps half-open handshakes per source and in total, evicts idle sessions, lets a
//!   rebooted client's new handshake replace its old session, and starts client sessions
//!   ([`SessionTable::connect`]). Idle or surplus server sessions can be evicted
//!   ([`Limits::evict_idle_after`], [`Limits::max_live_sessions`]); a record from a peer the
//!   server holds no session for draws an epoch-0 alert, on which a client table re-handshakes
//!   at once and resends what the server had not answered.
//! - [`Session`] is one connection, usable alone on the client side.
//! - [`ServerConfig`] and [`ClientConfig`] hold the credentials ([`PskStore`], [`Psk`],
//!   [`Certificate`], [`PrivateKey`], [`ServerTrust`], [`RawPublicKeyStore`]); a completed
//!   handshake reports the authenticated [`PeerIdentity`] to bind to the LwM2M endpoint name.
//!
//! Like the CoAP endpoint it does no IO and reads no clock: a driver feeds datagrams and time and
//! sends what comes back. The DTLS library sits behind a crate-internal backend trait, chosen per
//! configuration with [`Backend`]:
//! - OpenSSL (through the `openssl` crate, feature `dtls-openssl`): PSK, X.509, resumption, and
//!   raw public keys with feature `dtls-rpk`;
//! - dimpl (pure Rust, feature `dtls-dimpl`): PSK only, a few KiB per session instead of tens,
//!   for servers holding very many sessions. It needs no OpenSSL at all.
//!
//! The libraries' retransmission timers follow the wall clock; handshake and idle timeouts
//! follow the caller's [`Instant`]s.
//!
//! Raw public keys (RFC 7250, LwM2M security mode 1: [`ClientCredentials::RawPublicKey`],
//! [`ServerConfigBuilder::raw_public_keys`]) need OpenSSL 3.2 or later, which the `dtls-rpk`
//! feature builds from source; without it, or on an older library, they are refused with
//! [`ConfigError::RawPublicKeyUnsupported`].
//!
//! [`Instant`]: crate::Instant

mod backend;
mod config;
mod cookie;
mod credentials;
#[cfg(feature = "dtls-dimpl")]
mod dimpl;
mod error;
mod event;
#[cfg(feature = "dtls-openssl")]
mod openssl;
mod peer;
mod record;
mod session;
mod table;

pub use config::{
    Backend, ClientConfig, ClientConfigBuilder, Limits, ServerConfig, ServerConfigBuilder,
    DEFAULT_MTU, DEFAULT_SESSION_CACHE_SIZE,
};
pub use credentials::{
    Certificate, CertifiedKey, CipherSuite, ClientCredentials, Handshake, PeerIdentity, PrivateKey,
    Psk, PskStore, RawPublicKeyStore, Role, ServerTrust, MAX_PSK_IDENTITY_LEN, MAX_PSK_LEN,
};
pub use error::{Alert, ConfigError, DtlsError, HandshakeFailure, Limit, RecordProblem};
pub use event::{Event, Transmit};
pub use peer::PeerAddress;
pub use session::{CloseReason, Session, SessionEvent, SessionState};
pub use table::{SessionTable, TableStats};

/// The version of the linked OpenSSL, e.g. `"3.0.19"`; without the `dtls-openssl` feature, the
/// dimpl version the crate was built against (`"dimpl 0.9"`).
pub fn library_version() -> String {
    #[cfg(feature = "dtls-openssl")]
    {
        openssl::library_version()
    }
    #[cfg(not(feature = "dtls-openssl"))]
    {
        "dimpl 0.9".to_owned()
    }
}
