//! Errors of the DTLS layer: [`DtlsError`] (what went wrong with a datagram, a session or a call),
//! [`HandshakeFailure`] (why a handshake did not complete), [`RecordProblem`] (why a datagram is
//! not DTLS), [`Limit`] (which cap refused a new handshake) and [`ConfigError`] (credentials or
//! settings the backend refuses).

use core::fmt;
use core::time::Duration;

use super::config::Backend;

/// Anything the DTLS layer reports: returned by calls, and carried by
/// [`Event::Failed`](crate::dtls::Event::Failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DtlsError {
    /// A handshake failed; the session is gone.
    #[error("DTLS handshake failed: {0}")]
    Handshake(#[from] HandshakeFailure),
    /// The datagram is not a well-formed sequence of DTLS 1.2 records; it was dropped.
    #[error("malformed DTLS datagram at byte {offset}: {problem}")]
    Malformed {
        /// Offset in the datagram of the record or field at fault.
        offset: usize,
        /// What is wrong there.
        problem: RecordProblem,
    },
    /// The datagram is larger than [`Limits::max_datagram_len`](crate::dtls::Limits::max_datagram_len).
    #[error("datagram of {len} bytes exceeds the limit of {max} bytes")]
    DatagramTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A cap refused a new handshake or a queued datagram.
    #[error("limit reached: {0}")]
    Limit(Limit),
    /// The datagram came from a peer without a session and is not a `ClientHello`; it was dropped.
    #[error("no DTLS session with this peer (and the datagram is not a ClientHello)")]
    NoSession,
    /// A `ClientHello` arrived but the table has no server configuration.
    #[error("this table does not accept DTLS clients: it has no server configuration")]
    NotAccepting,
    /// An established session received a fatal alert and is gone.
    #[error("the peer sent the fatal alert {0}")]
    PeerAlert(Alert),
    /// An established session hit a protocol error and is gone.
    #[error("DTLS protocol error: {0}")]
    Protocol(String),
    /// The session was closed (`close_notify`, idle eviction or a failure) and cannot carry data.
    #[error("the DTLS session is closed")]
    Closed,
    /// The plaintext does not fit in one DTLS record of the path MTU.
    #[error("plaintext of {len} bytes does not fit one record (at most {max} bytes)")]
    PlaintextTooLarge {
        /// Its length.
        len: usize,
        /// The largest plaintext this session can send in one datagram.
        max: usize,
    },
    /// The credentials or settings were refused.
    #[error("DTLS configuration: {0}")]
    Config(#[from] ConfigError),
    /// The DTLS library failed in a way that is not the peer's fault (out of memory, ...).
    #[error("DTLS library error: {0}")]
    Backend(String),
}

/// Why a handshake did not complete. The side that detects the fault sends the matching alert, so
/// the peer usually sees [`HandshakeFailure::PeerAlert`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeFailure {
    /// The peer's Finished message did not decrypt: the two sides derived different keys, which
    /// for PSK means the pre-shared keys differ.
    #[error("the peer's Finished did not decrypt: the keys differ (wrong PSK?)")]
    BadKey,
    /// The server's credential store has no key for the PSK identity the client sent.
    #[error("unknown PSK identity {}", Printable(identity))]
    UnknownPskIdentity {
        /// The identity the client sent.
        identity: Vec<u8>,
    },
    /// The peer's certificate did not verify against the trust anchors (or the pinned
    /// certificate, or the expected host name).
    #[error("untrusted peer certificate: {reason}")]
    UntrustedCertificate {
        /// OpenSSL's verification result, e.g. "unable to get local issuer certificate".
        reason: String,
    },
    /// The peer authenticated with a raw public key (RFC 7250) this side does not trust: on a
    /// server one its [`RawPublicKeyStore`](crate::dtls::RawPublicKeyStore) refused, on a client
    /// one other than the expected server key.
    #[error("unknown raw public key ({} bytes of SubjectPublicKeyInfo)", spki.len())]
    UnknownRawPublicKey {
        /// The peer's key (`SubjectPublicKeyInfo` DER).
        spki: Vec<u8>,
    },
    /// A certificate was required and the peer sent none.
    #[error("the peer sent no certificate")]
    NoCertificate,
    /// The client offered no cipher suite this side accepts (only `TLS_PSK_WITH_AES_128_CCM_8` and
    /// `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8` are).
    #[error("no shared cipher suite")]
    NoSharedCipher,
    /// The peer aborted the handshake with a fatal alert.
    #[error("the peer sent the fatal alert {0}")]
    PeerAlert(Alert),
    /// The handshake did not complete in time
    /// ([`Limits::handshake_timeout`](crate::dtls::Limits::handshake_timeout), or the DTLS
    /// library's own retransmission limit).
    #[error("the handshake did not complete within {after:?}")]
    Timeout {
        /// How long it ran.
        after: Duration,
    },
    /// Any other protocol violation, with the DTLS library's reason.
    #[error("protocol error: {reason}")]
    Protocol {
        /// The library's description.
        reason: String,
    },
}

/// A TLS alert description (RFC 5246 §7.2), e.g. 40 `handshake_failure`, 51 `decrypt_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alert(pub u8);

impl Alert {
    /// `close_notify` (0).
    pub const CLOSE_NOTIFY: Alert = Alert(0);
    /// `unexpected_message` (10); a server sends it at epoch 0 for a record of a session it does
    /// not hold (evicted, or lost in a restart).
    pub const UNEXPECTED_MESSAGE: Alert = Alert(10);
    /// `handshake_failure` (40).
    pub const HANDSHAKE_FAILURE: Alert = Alert(40);
    /// `bad_certificate` (42).
    pub const BAD_CERTIFICATE: Alert = Alert(42);
    /// `unknown_ca` (48).
    pub const UNKNOWN_CA: Alert = Alert(48);
    /// `decrypt_error` (51).
    pub const DECRYPT_ERROR: Alert = Alert(51);
    /// `unknown_psk_identity` (115, RFC 4279).
    pub const UNKNOWN_PSK_IDENTITY: Alert = Alert(115);

    /// The RFC name of the alert, or `None` for an unassigned number.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "close_notify",
            10 => "unexpected_message",
            20 => "bad_record_mac",
            22 => "record_overflow",
            40 => "handshake_failure",
            42 => "bad_certificate",
            43 => "unsupported_certificate",
            44 => "certificate_revoked",
            45 => "certificate_expired",
            46 => "certificate_unknown",
            47 => "illegal_parameter",
            48 => "unknown_ca",
            49 => "access_denied",
            50 => "decode_error",
            51 => "decrypt_error",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            90 => "user_canceled",
            100 => "no_renegotiation",
            110 => "unsupported_extension",
            112 => "unrecognized_name",
            115 => "unknown_psk_identity",
            _ => return None,
        })
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "#{}", self.0),
        }
    }
}

/// Why a datagram is not a well-formed sequence of DTLS 1.2 records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordProblem {
    /// The datagram is empty.
    #[error("empty datagram")]
    Empty,
    /// Fewer than the 13 bytes of a record header remain.
    #[error("truncated record header ({available} of 13 bytes)")]
    TruncatedHeader {
        /// Bytes left.
        available: usize,
    },
    /// The record's length field points past the end of the datagram.
    #[error("record length {length} exceeds the {available} bytes left")]
    TruncatedRecord {
        /// The length field.
        length: usize,
        /// Bytes left after the header.
        available: usize,
    },
    /// A content type other than `change_cipher_spec`, alert, handshake or `application_data`.
    #[error("unknown content type {0}")]
    ContentType(u8),
    /// A record version other than DTLS 1.0 (0xFEFF) or 1.2 (0xFEFD).
    #[error("unsupported record version {0:#06x}")]
    Version(u16),
    /// A record longer than 2^14 + 2048 bytes (RFC 6347 §4.1).
    #[error("record length {0} exceeds 18432")]
    Oversized(usize),
    /// An `application_data` record in epoch 0: application data is never sent in the clear, and
    /// OpenSSL would abort a handshake over it, so it is dropped here.
    #[error("application data in epoch 0")]
    PlaintextApplicationData,
    /// An encrypted record shorter than the 16 bytes of `CCM_8`'s explicit nonce and tag. OpenSSL
    /// 3.0 treats such a record as a fatal internal error (and would end the session over one
    /// forged datagram), so it is dropped here.
    #[error("encrypted record of {0} bytes is shorter than nonce and tag")]
    ShortCiphertext(usize),
    /// A `ClientHello` split over several fragments; this layer only admits whole `ClientHellos`.
    #[error("fragmented ClientHello")]
    FragmentedClientHello,
    /// A `ClientHello` whose body ends inside a field.
    #[error("truncated ClientHello body")]
    TruncatedClientHello,
}

/// Which cap refused a new handshake (see [`Limits`](crate::dtls::Limits)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_sessions`](crate::dtls::Limits::max_sessions).
    #[error("{limit} sessions")]
    Sessions {
        /// The cap.
        limit: usize,
    },
    /// [`Limits::max_half_open`](crate::dtls::Limits::max_half_open).
    #[error("{limit} handshakes in progress")]
    HalfOpen {
        /// The cap.
        limit: usize,
    },
    /// [`Limits::max_half_open_per_source`](crate::dtls::Limits::max_half_open_per_source).
    #[error("{limit} handshakes in progress from one source address")]
    HalfOpenPerSource {
        /// The cap.
        limit: usize,
    },
    /// [`Limits::max_queued_plaintext`](crate::dtls::Limits::max_queued_plaintext).
    #[error("{limit} datagrams queued while the handshake runs")]
    QueuedPlaintext {
        /// The cap.
        limit: usize,
    },
}

/// Credentials or settings the DTLS layer refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A PSK identity that is empty, longer than 256 bytes, or contains a NUL byte (OpenSSL
    /// passes identities as C strings).
    #[error("PSK identity of {len} bytes: must be 1 to 256 bytes without NUL")]
    PskIdentity {
        /// Its length.
        len: usize,
    },
    /// A pre-shared key that is empty or longer than 256 bytes.
    #[error("pre-shared key of {len} bytes: must be 1 to 256 bytes")]
    PskKey {
        /// Its length.
        len: usize,
    },
    /// A certificate that does not parse.
    #[error("certificate: {0}")]
    Certificate(String),
    /// A public key (`SubjectPublicKeyInfo` DER) that does not parse.
    #[error("public key: {0}")]
    PublicKey(String),
    /// A private key that does not parse, or does not match the certificate.
    #[error("private key: {0}")]
    PrivateKey(String),
    /// A certificate chain without a leaf.
    #[error("empty certificate chain")]
    EmptyChain,
    /// A server configuration with no PSK store, no certificate and no raw public key.
    #[error("no credentials: configure a PSK store, a certificate or raw public keys")]
    NoCredentials,
    /// A server certificate without trust anchors for client certificates (LwM2M
    /// authentication is mutual).
    #[error("a server certificate needs trust anchors to verify client certificates")]
    NoClientTrustAnchors,
    /// Raw public keys (RFC 7250) were configured, but the linked OpenSSL predates 3.2 or the
    /// crate was built without the `dtls-rpk` feature (which builds OpenSSL 3.x from source).
    #[error(
        "raw public keys (RFC 7250) need OpenSSL >= 3.2 and the `dtls-rpk` feature; linked: OpenSSL {linked}{}",
        if *compiled { "" } else { ", feature off" }
    )]
    RawPublicKeyUnsupported {
        /// The linked library version, e.g. "3.0.19".
        linked: String,
        /// Whether the `dtls-rpk` feature (the RFC 7250 calls) was compiled in.
        compiled: bool,
    },
    /// An MTU outside 256..=16384.
    #[error("MTU {0} outside 256..=16384")]
    Mtu(usize),
    /// A host name that is not valid for SNI / certificate name checks.
    #[error("invalid server name {0:?}")]
    ServerName(String),
    /// The DTLS library refused the settings.
    #[error("DTLS library: {0}")]
    Backend(String),
    /// The chosen backend cannot do this security mode (dimpl has PSK only: no certificates and
    /// no raw public keys).
    #[error("the {backend} DTLS backend does not support {mode}")]
    Unsupported {
        /// The backend asked.
        backend: Backend,
        /// What it was asked for, e.g. "certificates".
        mode: &'static str,
    },
    /// The chosen backend is not compiled in (its cargo feature is off).
    #[error("the {0} DTLS backend is not compiled in (enable its cargo feature)")]
    BackendNotCompiled(Backend),
}

/// Shows an identity as text when it is printable ASCII, else as hex.
struct Printable<'a>(&'a [u8]);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.iter().all(|b| (0x20..0x7f).contains(b)) {
            write!(f, "\"{}\"", String::from_utf8_lossy(self.0))
        } else {
            f.write_str("0x")?;
            self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_fault() {
        let e = DtlsError::from(HandshakeFailure::UnknownPskIdentity {
            identity: b"dev-1".to_vec(),
        });
        assert_eq!(
            e.to_string(),
            "DTLS handshake failed: unknown PSK identity \"dev-1\""
        );
        let e = HandshakeFailure::UnknownPskIdentity {
            identity: vec![0, 0xff],
        };
        assert_eq!(e.to_string(), "unknown PSK identity 0x00ff");
        assert_eq!(
            HandshakeFailure::PeerAlert(Alert::DECRYPT_ERROR).to_string(),
            "the peer sent the fatal alert decrypt_error (51)"
        );
        assert_eq!(Alert(200).to_string(), "#200");
        assert_eq!(
            ConfigError::RawPublicKeyUnsupported {
                linked: "3.0.19".into(),
                compiled: true,
            }
            .to_string(),
            "raw public keys (RFC 7250) need OpenSSL >= 3.2 and the `dtls-rpk` feature; linked: OpenSSL 3.0.19"
        );
        assert!(ConfigError::RawPublicKeyUnsupported {
            linked: "3.5.1".into(),
            compiled: false,
        }
        .to_string()
        .ends_with("linked: OpenSSL 3.5.1, feature off"));
        assert_eq!(
            DtlsError::Malformed {
                offset: 13,
                problem: RecordProblem::ContentType(99)
            }
            .to_string(),
            "malformed DTLS datagram at byte 13: unknown content type 99"
        );
    }
}
