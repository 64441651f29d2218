//! Security (digest §13): the identity a request arrived with, the check that binds it to the
//! endpoint name through the credential store, and the DTLS endpoint (feature `dtls`).
//!
//! - Over plain UDP, only endpoints without security information may register, update or
//!   de-register.
//! - Over DTLS, the identity the handshake proved must be the one stored for the endpoint: the
//!   PSK identity of its PSK credential, the common name of its certificate (X.509 mode, where
//!   the CN is the endpoint name), or its raw public key. Anything else gets 4.03 and a log line.
//! - A PSK handshake looks the identity up in the credential store, and a raw-public-key
//!   handshake the client's key: an unknown identity or key never completes a handshake (nor
//!   does any key while the store cannot be read). A known one still has to be the one stored
//!   for the endpoint that registers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::registration::{IdentityCheck, IdentityVerdict, RegistrationOperation};
use crate::store::{Credential, CredentialStore};

use super::lock;

/// How the request being handled arrived.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(
    not(feature = "dtls"),
    allow(dead_code, reason = "only the DTLS endpoint makes the secure origins")
)]
pub(super) enum Origin {
    /// Plain CoAP over UDP (`NoSec`).
    #[default]
    Plain,
    /// DTLS with a pre-shared key: its identity.
    Psk(Vec<u8>),
    /// DTLS with a certificate: its subject's common name.
    Certificate(Option<String>),
    /// DTLS with a raw public key (`SubjectPublicKeyInfo` DER).
    RawPublicKey(Vec<u8>),
    /// DTLS, but the session's identity is not known (yet): refused.
    UnknownSession,
}

/// The shared credential store.
pub(super) type Credentials = Arc<Mutex<Box<dyn CredentialStore>>>;

/// The server's [`IdentityCheck`]: the registrar asks it while the server holds the registrar
/// lock, with [`Origin`] set for the request being handled.
pub(super) struct CredentialCheck {
    pub(super) origin: Arc<Mutex<Origin>>,
    pub(super) credentials: Credentials,
}

impl IdentityCheck for CredentialCheck {
    fn check(
        &self,
        peer: SocketAddr,
        endpoint: &str,
        operation: RegistrationOperation,
    ) -> IdentityVerdict {
        let origin = lock(&self.origin).clone();
        let stored = match lock(&self.credentials).get_by_endpoint(endpoint) {
            Ok(stored) => stored,
            Err(error) => {
                tracing::warn!(endpoint, %error, "cannot read the credentials; request refused");
                return IdentityVerdict::Reject;
            }
        };
        let allowed = match (&origin, stored.as_ref().map(|info| &info.credential)) {
            (Origin::Plain, None) => true,
            (Origin::Psk(identity), Some(Credential::Psk { identity: own, .. })) => {
                identity.as_slice() == own.as_bytes()
            }
            (Origin::Certificate(Some(name)), Some(Credential::X509)) => name == endpoint,
            (Origin::RawPublicKey(key), Some(Credential::RawPublicKey { public_key })) => {
                key == public_key
            }
            _ => false,
        };
        if allowed {
            IdentityVerdict::Accept
        } else {
            tracing::warn!(
                %peer,
                endpoint,
                ?operation,
                origin = %describe(&origin),
                secured = stored.is_some(),
                "identity does not match the endpoint; refused with 4.03"
            );
            IdentityVerdict::Reject
        }
    }
}

fn describe(origin: &Origin) -> String {
    match origin {
        Origin::Plain => "plain UDP".into(),
        Origin::Psk(identity) => format!("PSK identity {:?}", String::from_utf8_lossy(identity)),
        Origin::Certificate(name) => format!("certificate CN {name:?}"),
        Origin::RawPublicKey(_) => "raw public key".into(),
        Origin::UnknownSession => "DTLS session without identity".into(),
    }
}

#[cfg(feature = "dtls")]
pub use dtls::DtlsOptions;
#[cfg(feature = "dtls")]
pub(super) use dtls::SecureEndpoint;

#[cfg(not(feature = "dtls"))]
pub(super) use no_dtls::SecureEndpoint;

#[cfg(not(feature = "dtls"))]
mod no_dtls {
    use super::super::Shared;

    /// Without the `dtls` feature there is no secure endpoint.
    #[derive(Debug)]
    pub(in crate::server) enum SecureEndpoint {}

    #[allow(clippy::unused_async, reason = "the same signatures as with DTLS")]
    impl SecureEndpoint {
        pub(in crate::server) async fn next(&mut self, _: &Shared) -> bool {
            match *self {}
        }

        pub(in crate::server) async fn close(self) {
            match self {}
        }
    }
}

#[cfg(feature = "dtls")]
pub(super) mod dtls {
    use std::net::SocketAddr;

    use lwm2m_transport::dtls::{
        Certificate, CertifiedKey, PeerIdentity, PrivateKey, ServerConfig,
    };
    use lwm2m_transport::udp::{DtlsEvent, DtlsEvents, IncomingRequests, UdpEndpoint};

    use super::super::{lock, Shared, StartError};
    use super::{Credentials, Origin};
    use crate::store::Credential;

    /// The DTLS listener of a [`Server`](super::super::Server): where, the server's own
    /// certificate for X.509 clients and its own key for raw-public-key clients (PSK needs
    /// nothing: keys come from the credential store).
    #[derive(Debug, Clone)]
    pub struct DtlsOptions {
        /// The UDP address (`coaps`, usually port 5684).
        pub addr: SocketAddr,
        /// The server's certificate and the CAs client certificates must chain to, for X.509.
        pub certificate: Option<(CertifiedKey, Vec<Certificate>)>,
        /// The server's own key for raw public keys (RFC 7250, security mode 1). Needs the
        /// `dtls-rpk` feature; without it, binding is [`StartError::RawPublicKeyUnsupported`].
        pub raw_public_key: Option<PrivateKey>,
    }

    impl DtlsOptions {
        /// PSK only, on `addr`.
        pub fn psk(addr: SocketAddr) -> DtlsOptions {
            DtlsOptions {
                addr,
                certificate: None,
                raw_public_key: None,
            }
        }

        /// With the server's certificate and the CAs client certificates must chain to.
        #[must_use]
        pub fn with_certificate(mut self, own: CertifiedKey, anchors: Vec<Certificate>) -> Self {
            self.certificate = Some((own, anchors));
            self
        }

        /// With the server's own raw public key (its private key): clients presenting a raw
        /// public key may then handshake, and register as the endpoint whose
        /// [`Credential::RawPublicKey`] holds that key.
        #[must_use]
        pub fn with_raw_public_key(mut self, own: PrivateKey) -> Self {
            self.raw_public_key = Some(own);
            self
        }
    }

    /// The DTLS endpoint, its requests and its session events.
    #[derive(Debug)]
    pub(in crate::server) struct SecureEndpoint {
        pub(in crate::server) endpoint: UdpEndpoint,
        incoming: IncomingRequests,
        events: DtlsEvents,
    }

    fn origin(identity: &PeerIdentity) -> Origin {
        match identity {
            PeerIdentity::Psk { identity } => Origin::Psk(identity.clone()),
            PeerIdentity::Certificate { common_name, .. } => {
                Origin::Certificate(common_name.clone())
            }
            PeerIdentity::RawPublicKey { spki } => Origin::RawPublicKey(spki.clone()),
            _ => Origin::UnknownSession,
        }
    }

    /// Whether `spki` is the raw public key of a stored [`Credential::RawPublicKey`]. A store
    /// that cannot be read admits nobody.
    fn known_key(credentials: &Credentials, spki: &[u8]) -> bool {
        match lock(credentials).get_by_raw_public_key(spki) {
            Ok(Some(info)) => matches!(
                &info.credential,
                Credential::RawPublicKey { public_key } if public_key.as_slice() == spki
            ),
            Ok(None) => {
                tracing::debug!(
                    spki_len = spki.len(),
                    "raw public key of no endpoint; handshake refused"
                );
                false
            }
            Err(error) => {
                tracing::warn!(%error, "cannot look up a raw public key; handshake refused");
                false
            }
        }
    }

    impl SecureEndpoint {
        /// Binds the DTLS endpoint; PSK identities and raw public keys are looked up in
        /// `credentials`.
        pub(in crate::server) async fn bind(
            options: DtlsOptions,
            credentials: Credentials,
        ) -> Result<SecureEndpoint, StartError> {
            let keys = credentials.clone();
            let lookup = move |identity: &[u8]| {
                let identity = std::str::from_utf8(identity).ok()?;
                let info = lock(&credentials).get_by_psk_identity(identity).ok()??;
                match info.credential {
                    Credential::Psk { key, .. } => Some(key),
                    _ => None,
                }
            };
            let mut config = ServerConfig::builder().psk_store(lookup);
            if let Some((own, anchors)) = options.certificate {
                config = config.certificate(own).client_trust_anchors(anchors);
            }
            if let Some(own) = options.raw_public_key {
                if !cfg!(feature = "dtls-rpk") {
                    return Err(StartError::RawPublicKeyUnsupported);
                }
                // Only a key some endpoint holds completes the handshake; the identity check
                // then binds it to the endpoint that registers (another's key gets 4.03).
                config = config.raw_public_keys(own, move |spki: &[u8]| known_key(&keys, spki));
            }
            let config = config
                .build()
                .map_err(|e| StartError::Dtls(e.to_string()))?;
            let (builder, events) = UdpEndpoint::builder().dtls_server(config);
            let endpoint = builder.bind(options.addr).await?;
            let incoming = endpoint.incoming();
            Ok(SecureEndpoint {
                endpoint,
                incoming,
                events,
            })
        }

        fn apply(shared: &Shared, event: DtlsEvent) {
            match event {
                DtlsEvent::Connected {
                    peer, handshake, ..
                } => {
                    tracing::debug!(%peer, identity = ?handshake.identity.name(), "DTLS session up");
                    lock(&shared.dtls_peers).insert(peer, origin(&handshake.identity));
                }
                DtlsEvent::Failed { peer, error } => {
                    tracing::info!(%peer, %error, "DTLS handshake or session failed");
                    lock(&shared.dtls_peers).remove(&peer);
                }
                other => {
                    lock(&shared.dtls_peers).remove(&other.peer());
                }
            }
        }

        /// Handles the next request or session event; false once the endpoint is closed.
        pub(in crate::server) async fn next(&mut self, shared: &Shared) -> bool {
            tokio::select! {
                request = self.incoming.next() => match request {
                    Some(request) => {
                        // The session's Connected event is queued before its first request.
                        while let Some(event) = self.events.try_next() {
                            Self::apply(shared, event);
                        }
                        let origin = lock(&shared.dtls_peers)
                            .get(&request.peer)
                            .cloned()
                            .unwrap_or(Origin::UnknownSession);
                        shared.handle_request(request, origin);
                        true
                    }
                    None => false,
                },
                event = self.events.next() => match event {
                    Some(event) => {
                        Self::apply(shared, event);
                        true
                    }
                    None => false,
                },
            }
        }

        pub(in crate::server) async fn close(self) {
            self.endpoint.close().await;
        }
    }
}

#[cfg(all(test, feature = "dtls", not(feature = "dtls-rpk")))]
mod tests {
    use lwm2m_transport::dtls::PrivateKey;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;

    use super::super::{Server, StartError};
    use super::DtlsOptions;

    #[tokio::test]
    async fn without_dtls_rpk_a_raw_key_is_a_typed_start_error() {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let ec = EcKey::generate(&group).unwrap();
        let key = PrivateKey::from_der(&ec.private_key_to_der().unwrap()).unwrap();
        let options = DtlsOptions::psk("127.0.0.1:0".parse().unwrap()).with_raw_public_key(key);
        let outcome = Server::builder()
            .dtls(options)
            .bind("127.0.0.1:0".parse().unwrap())
            .await;
        assert!(matches!(outcome, Err(StartError::RawPublicKeyUnsupported)));
    }
}
