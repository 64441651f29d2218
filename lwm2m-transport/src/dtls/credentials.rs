//! Credentials and identities, independent of the DTLS library: [`Psk`] and the server-side
//! [`PskStore`], X.509 [`Certificate`]s and [`PrivateKey`]s (kept as validated DER), how a client
//! checks its server ([`ServerTrust`]), and what a completed handshake authenticated
//! ([`PeerIdentity`], [`Handshake`]).

use core::fmt;
use std::collections::HashMap;
use std::sync::Arc;

#[cfg(not(feature = "dtls-openssl"))]
use super::config::Backend;
use super::error::ConfigError;

/// Longest PSK identity accepted (OpenSSL's `PSK_MAX_IDENTITY_LEN`; LwM2M requires 128).
pub const MAX_PSK_IDENTITY_LEN: usize = 256;
/// Longest pre-shared key accepted (LwM2M requires 64).
pub const MAX_PSK_LEN: usize = 256;

/// A PSK identity and key (LwM2M security mode 0: `/0/x/3` and `/0/x/5`).
///
/// ```
/// use lwm2m_transport::dtls::Psk;
/// let psk = Psk::new(b"b313cc22-f969-42ec-ad42", b"\x1c\xa2\x02\x8d\x71\x97\xc7\x78")?;
/// assert_eq!(psk.identity(), b"b313cc22-f969-42ec-ad42");
/// assert!(!format!("{psk:?}").contains("1ca2")); // the key is never printed
/// assert!(Psk::new(b"", b"k").is_err());
/// # Ok::<(), lwm2m_transport::dtls::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Psk {
    identity: Vec<u8>,
    key: Vec<u8>,
}

impl Psk {
    /// Checks the sizes (identity 1..=256 bytes without NUL, key 1..=256 bytes).
    pub fn new(identity: &[u8], key: &[u8]) -> Result<Psk, ConfigError> {
        check_identity(identity)?;
        check_key(key)?;
        Ok(Psk {
            identity: identity.to_vec(),
            key: key.to_vec(),
        })
    }

    /// The identity sent in the clear.
    pub fn identity(&self) -> &[u8] {
        &self.identity
    }

    /// The secret key.
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Psk")
            .field("identity", &String::from_utf8_lossy(&self.identity))
            .field("key", &format_args!("<{} bytes>", self.key.len()))
            .finish()
    }
}

pub(crate) fn check_identity(identity: &[u8]) -> Result<(), ConfigError> {
    if identity.is_empty() || identity.len() > MAX_PSK_IDENTITY_LEN || identity.contains(&0) {
        return Err(ConfigError::PskIdentity {
            len: identity.len(),
        });
    }
    Ok(())
}

pub(crate) fn check_key(key: &[u8]) -> Result<(), ConfigError> {
    if key.is_empty() || key.len() > MAX_PSK_LEN {
        return Err(ConfigError::PskKey { len: key.len() });
    }
    Ok(())
}

/// Where a DTLS server finds the key for a PSK identity a client presents (the LwM2M server's
/// security store). Called during the handshake, so it should answer quickly.
///
/// Closures and maps implement it:
///
/// ```
/// use std::collections::HashMap;
/// use lwm2m_transport::dtls::PskStore;
/// let map = HashMap::from([(b"dev-1".to_vec(), b"secret".to_vec())]);
/// assert_eq!(map.psk(b"dev-1"), Some(b"secret".to_vec()));
/// let closure = |id: &[u8]| (id == b"dev-2").then(|| b"other".to_vec());
/// assert_eq!(closure.psk(b"dev-1"), None);
/// ```
pub trait PskStore: Send + Sync + 'static {
    /// The key for `identity`, or `None` to refuse the client with `unknown_psk_identity`.
    fn psk(&self, identity: &[u8]) -> Option<Vec<u8>>;
}

impl<F> PskStore for F
where
    F: Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
{
    fn psk(&self, identity: &[u8]) -> Option<Vec<u8>> {
        self(identity)
    }
}

impl<S> PskStore for HashMap<Vec<u8>, Vec<u8>, S>
where
    S: core::hash::BuildHasher + Send + Sync + 'static,
{
    fn psk(&self, identity: &[u8]) -> Option<Vec<u8>> {
        self.get(identity).cloned()
    }
}

impl<S: PskStore + ?Sized> PskStore for Arc<S> {
    fn psk(&self, identity: &[u8]) -> Option<Vec<u8>> {
        (**self).psk(identity)
    }
}

/// Which raw public keys (RFC 7250, LwM2M security mode 1) a DTLS server accepts from clients,
/// each given as its `SubjectPublicKeyInfo` DER. Called during the handshake.
///
/// Sets and closures implement it:
///
/// ```
/// use std::collections::HashSet;
/// use lwm2m_transport::dtls::RawPublicKeyStore;
/// let set = HashSet::from([vec![0x30, 0x59]]);
/// assert!(set.is_trusted(&[0x30, 0x59]));
/// let closure = |spki: &[u8]| spki.len() == 91;
/// assert!(!closure.is_trusted(&[0x30, 0x59]));
/// ```
pub trait RawPublicKeyStore: Send + Sync + 'static {
    /// Whether the client holding this key may connect; `false` ends the handshake with an
    /// alert and [`HandshakeFailure::UnknownRawPublicKey`](crate::dtls::HandshakeFailure::UnknownRawPublicKey).
    fn is_trusted(&self, spki: &[u8]) -> bool;
}

impl<F> RawPublicKeyStore for F
where
    F: Fn(&[u8]) -> bool + Send + Sync + 'static,
{
    fn is_trusted(&self, spki: &[u8]) -> bool {
        self(spki)
    }
}

impl<S> RawPublicKeyStore for std::collections::HashSet<Vec<u8>, S>
where
    S: core::hash::BuildHasher + Send + Sync + 'static,
{
    fn is_trusted(&self, spki: &[u8]) -> bool {
        self.contains(spki)
    }
}

impl<S: RawPublicKeyStore + ?Sized> RawPublicKeyStore for Arc<S> {
    fn is_trusted(&self, spki: &[u8]) -> bool {
        (**self).is_trusted(spki)
    }
}

/// An X.509 certificate, validated and kept as DER.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
}

impl Certificate {
    /// A certificate from DER (LwM2M `/0/x/3` and `/0/x/4` in certificate mode).
    /// Needs the `dtls-openssl` feature (the only backend with certificates).
    pub fn from_der(der: &[u8]) -> Result<Certificate, ConfigError> {
        #[cfg(feature = "dtls-openssl")]
        {
            openssl::x509::X509::from_der(der)
                .map_err(|e| ConfigError::Certificate(e.to_string()))?;
            Ok(Certificate { der: der.to_vec() })
        }
        #[cfg(not(feature = "dtls-openssl"))]
        {
            let _ = der;
            Err(ConfigError::BackendNotCompiled(Backend::OpenSsl))
        }
    }

    /// Every certificate of a PEM file, in order (a chain starts with the leaf).
    pub fn chain_from_pem(pem: &[u8]) -> Result<Vec<Certificate>, ConfigError> {
        #[cfg(not(feature = "dtls-openssl"))]
        {
            let _ = pem;
            Err(ConfigError::BackendNotCompiled(Backend::OpenSsl))
        }
        #[cfg(feature = "dtls-openssl")]
        Certificate::openssl_chain_from_pem(pem)
    }

    #[cfg(feature = "dtls-openssl")]
    fn openssl_chain_from_pem(pem: &[u8]) -> Result<Vec<Certificate>, ConfigError> {
        let stack = openssl::x509::X509::stack_from_pem(pem)
            .map_err(|e| ConfigError::Certificate(e.to_string()))?;
        if stack.is_empty() {
            return Err(ConfigError::EmptyChain);
        }
        stack
            .iter()
            .map(|c| {
                c.to_der()
                    .map(|der| Certificate { der })
                    .map_err(|e| ConfigError::Certificate(e.to_string()))
            })
            .collect()
    }

    /// The first certificate of a PEM file.
    pub fn from_pem(pem: &[u8]) -> Result<Certificate, ConfigError> {
        Certificate::chain_from_pem(pem)?
            .into_iter()
            .next()
            .ok_or(ConfigError::EmptyChain)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(feature = "dtls-openssl")]
        let subject = openssl::x509::X509::from_der(&self.der)
            .map(|c| subject_string(c.subject_name()))
            .unwrap_or_default();
        #[cfg(not(feature = "dtls-openssl"))]
        let subject = format!("<{} bytes of DER>", self.der.len());
        f.debug_struct("Certificate")
            .field("subject", &subject)
            .finish_non_exhaustive()
    }
}

/// A private key (EC P-256 for LwM2M), validated and kept as PKCS#8 DER.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    pkcs8: Vec<u8>,
}

impl PrivateKey {
    /// A key from DER: PKCS#8, or the RFC 5915 `ECPrivateKey` of the LwM2M 1.0 examples.
    /// Needs the `dtls-openssl` feature.
    pub fn from_der(der: &[u8]) -> Result<PrivateKey, ConfigError> {
        #[cfg(feature = "dtls-openssl")]
        {
            let key = openssl::pkey::PKey::private_key_from_der(der)
                .map_err(|e| ConfigError::PrivateKey(e.to_string()))?;
            PrivateKey::from_pkey(&key)
        }
        #[cfg(not(feature = "dtls-openssl"))]
        {
            let _ = der;
            Err(ConfigError::BackendNotCompiled(Backend::OpenSsl))
        }
    }

    /// A key from PEM (`PRIVATE KEY` or `EC PRIVATE KEY`). Needs the `dtls-openssl` feature.
    pub fn from_pem(pem: &[u8]) -> Result<PrivateKey, ConfigError> {
        #[cfg(feature = "dtls-openssl")]
        {
            let key = openssl::pkey::PKey::private_key_from_pem(pem)
                .map_err(|e| ConfigError::PrivateKey(e.to_string()))?;
            PrivateKey::from_pkey(&key)
        }
        #[cfg(not(feature = "dtls-openssl"))]
        {
            let _ = pem;
            Err(ConfigError::BackendNotCompiled(Backend::OpenSsl))
        }
    }

    #[cfg(feature = "dtls-openssl")]
    fn from_pkey(
        key: &openssl::pkey::PKeyRef<openssl::pkey::Private>,
    ) -> Result<PrivateKey, ConfigError> {
        let pkcs8 = key
            .private_key_to_pkcs8()
            .map_err(|e| ConfigError::PrivateKey(e.to_string()))?;
        Ok(PrivateKey { pkcs8 })
    }

    /// The PKCS#8 DER encoding.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public half as `SubjectPublicKeyInfo` DER: what a raw-public-key peer is given to
    /// trust (LwM2M `/0/x/4` in mode 1). Needs the `dtls-openssl` feature.
    pub fn public_key_der(&self) -> Result<Vec<u8>, ConfigError> {
        #[cfg(feature = "dtls-openssl")]
        {
            openssl::pkey::PKey::private_key_from_der(&self.pkcs8)
                .and_then(|k| k.public_key_to_der())
                .map_err(|e| ConfigError::PrivateKey(e.to_string()))
        }
        #[cfg(not(feature = "dtls-openssl"))]
        {
            Err(ConfigError::BackendNotCompiled(Backend::OpenSsl))
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

/// An own certificate chain (leaf first) with its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifiedKey {
    pub(crate) chain: Vec<Certificate>,
    pub(crate) key: PrivateKey,
}

impl CertifiedKey {
    /// Pairs a chain (leaf first, trust anchor optional) with the leaf's key. Whether the key
    /// matches the leaf is checked when a configuration is built.
    pub fn new(chain: Vec<Certificate>, key: PrivateKey) -> Result<CertifiedKey, ConfigError> {
        if chain.is_empty() {
            return Err(ConfigError::EmptyChain);
        }
        Ok(CertifiedKey { chain, key })
    }

    /// The leaf certificate.
    pub fn leaf(&self) -> &Certificate {
        &self.chain[0]
    }
}

/// How a DTLS client decides to trust the server's certificate (LwM2M `/0/x/4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerTrust {
    /// Path validation to one of these trust anchors; with `host`, the certificate must also name
    /// it (DNS name in SAN/CN, or an IP address in SAN), as RFC 6125 asks.
    Anchors {
        /// Trust anchors (CA certificates).
        anchors: Vec<Certificate>,
        /// The host of the server URI, or `None` to skip the name check.
        host: Option<String>,
    },
    /// The server must present exactly this certificate ("domain-issued certificate").
    Pinned(Certificate),
}

/// What a DTLS client authenticates with, per connection (bootstrap and management servers have
/// different credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCredentials {
    /// Security mode 0: `TLS_PSK_WITH_AES_128_CCM_8`.
    Psk(Psk),
    /// Security mode 2: `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8` with certificates both ways.
    Certificate {
        /// The client's certificate and key.
        own: CertifiedKey,
        /// How the server's certificate is checked.
        trust: ServerTrust,
    },
    /// Security mode 1 (RFC 7250): `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8` with raw public keys both
    /// ways. Needs the `dtls-rpk` feature (OpenSSL >= 3.2); refused with
    /// [`ConfigError::RawPublicKeyUnsupported`] otherwise.
    RawPublicKey {
        /// The client's private key (its public key is derived from it).
        key: PrivateKey,
        /// The server's `SubjectPublicKeyInfo` (DER).
        server_public_key: Vec<u8>,
    },
}

/// The two cipher suites LwM2M 1.0 mandates in their `CCM_8` form; nothing else is negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// `TLS_PSK_WITH_AES_128_CCM_8` (0xC0A8, RFC 6655).
    PskAes128Ccm8,
    /// `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8` (0xC0AE, RFC 7251).
    EcdheEcdsaAes128Ccm8,
}

impl CipherSuite {
    /// The IANA name.
    pub fn iana_name(self) -> &'static str {
        match self {
            CipherSuite::PskAes128Ccm8 => "TLS_PSK_WITH_AES_128_CCM_8",
            CipherSuite::EcdheEcdsaAes128Ccm8 => "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
        }
    }

    /// The suite with this IANA name.
    pub fn from_iana_name(name: &str) -> Option<CipherSuite> {
        [
            CipherSuite::PskAes128Ccm8,
            CipherSuite::EcdheEcdsaAes128Ccm8,
        ]
        .into_iter()
        .find(|s| s.iana_name() == name)
    }
}

/// Which side of the handshake this session played.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// It sent the `ClientHello`.
    Client,
    /// It answered one.
    Server,
}

/// Who the peer proved to be.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerIdentity {
    /// PSK mode: the identity of the key both sides proved to hold (for a server session the one
    /// the client sent, for a client session its own).
    Psk {
        /// The PSK identity.
        identity: Vec<u8>,
    },
    /// Certificate mode: the peer's verified leaf certificate.
    Certificate {
        /// The subject, e.g. `CN=urn:imei:123, O=ACME`.
        subject: String,
        /// The subject's common name, which LwM2M compares with the endpoint name.
        common_name: Option<String>,
        /// The certificate (DER).
        der: Vec<u8>,
    },
    /// Raw public key mode: the peer's `SubjectPublicKeyInfo` (DER), which the server looks up to
    /// find the endpoint (LwM2M binds mode 1 clients by key).
    RawPublicKey {
        /// The key (`SubjectPublicKeyInfo` DER).
        spki: Vec<u8>,
    },
}

impl PeerIdentity {
    /// The name to compare with an LwM2M endpoint name: the PSK identity as UTF-8 or the
    /// certificate's common name (none for raw public keys).
    pub fn name(&self) -> Option<&str> {
        match self {
            PeerIdentity::Psk { identity } => core::str::from_utf8(identity).ok(),
            PeerIdentity::Certificate { common_name, .. } => common_name.as_deref(),
            PeerIdentity::RawPublicKey { .. } => None,
        }
    }
}

/// A completed handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// This side's role.
    pub role: Role,
    /// The authenticated peer.
    pub identity: PeerIdentity,
    /// The negotiated suite.
    pub cipher_suite: CipherSuite,
    /// Whether an earlier session was resumed (abbreviated handshake).
    pub resumed: bool,
}

/// `CN=a, O=b` from an X.509 name.
#[cfg(feature = "dtls-openssl")]
pub(crate) fn subject_string(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_else(|_| "?".to_owned());
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psk_sizes_are_checked() {
        assert_eq!(
            Psk::new(b"a\0b", b"k"),
            Err(ConfigError::PskIdentity { len: 3 })
        );
        assert_eq!(
            Psk::new(&[b'a'; 257], b"k"),
            Err(ConfigError::PskIdentity { len: 257 })
        );
        assert_eq!(
            Psk::new(b"a", &[1; 257]),
            Err(ConfigError::PskKey { len: 257 })
        );
        assert!(Psk::new(&[b'a'; 128], &[1; 64]).is_ok());
    }

    #[cfg(feature = "dtls-openssl")]
    #[test]
    fn garbage_certificates_and_keys_are_refused() {
        assert!(matches!(
            Certificate::from_der(b"nope"),
            Err(ConfigError::Certificate(_))
        ));
        assert!(Certificate::chain_from_pem(b"").is_err());
        assert!(matches!(
            PrivateKey::from_der(&[0x30, 0x00]),
            Err(ConfigError::PrivateKey(_))
        ));
        assert_eq!(
            CertifiedKey::new(vec![], PrivateKey { pkcs8: vec![] }),
            Err(ConfigError::EmptyChain)
        );
    }

    #[test]
    fn suites_round_trip_their_names() {
        for s in [
            CipherSuite::PskAes128Ccm8,
            CipherSuite::EcdheEcdsaAes128Ccm8,
        ] {
            assert_eq!(CipherSuite::from_iana_name(s.iana_name()), Some(s));
        }
        assert_eq!(CipherSuite::from_iana_name("TLS_RSA_WITH_NULL_MD5"), None);
    }

    #[test]
    fn identity_names() {
        let psk = PeerIdentity::Psk {
            identity: b"ep-1".to_vec(),
        };
        assert_eq!(psk.name(), Some("ep-1"));
        let rpk = PeerIdentity::RawPublicKey { spki: vec![1] };
        assert_eq!(rpk.name(), None);
    }
}
