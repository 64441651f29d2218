//! Raw public keys (RFC 7250) on OpenSSL contexts: the run-time version check, and the
//! certificate types, own key and peer-key checks of server and client contexts. The OpenSSL calls
//! exist from 3.2 on and are compiled only with the `dtls-rpk` feature (see `ffi`).

use std::sync::Arc;

use openssl::ssl::SslContextBuilder;

use crate::dtls::credentials::{CertifiedKey, PrivateKey, RawPublicKeyStore};
use crate::dtls::error::ConfigError;

/// `OPENSSL_VERSION_NUMBER` of OpenSSL 3.2.0, the first with RFC 7250.
pub(super) const RPK_FROM: i64 = 0x3020_0000;

/// `major.minor.patch` of an `OPENSSL_VERSION_NUMBER` (`0xMNN00PP0`).
pub(super) fn version_text(n: i64) -> String {
    format!(
        "{}.{}.{}",
        (n >> 28) & 0xf,
        (n >> 20) & 0xff,
        (n >> 4) & 0xff
    )
}

/// Whether raw public keys can be used with OpenSSL `number` when the RFC 7250 calls are
/// `compiled` in: both are needed.
pub(super) fn check_support(number: i64, compiled: bool) -> Result<(), ConfigError> {
    if compiled && number >= RPK_FROM {
        Ok(())
    } else {
        Err(ConfigError::RawPublicKeyUnsupported {
            linked: version_text(number),
            compiled,
        })
    }
}

/// [`check_support`] for the OpenSSL this process runs with (checked at run time: a shared
/// library can differ from the headers the crate was built against).
pub(super) fn supported() -> Result<(), ConfigError> {
    check_support(openssl::version::number(), cfg!(feature = "dtls-rpk"))
}

/// A key as canonical `SubjectPublicKeyInfo` DER (OpenSSL's encoding of the peer key, which the
/// checks compare with).
#[cfg(feature = "dtls-rpk")]
fn canonical_spki(der: &[u8]) -> Result<Vec<u8>, ConfigError> {
    openssl::pkey::PKey::public_key_from_der(der)
        .and_then(|k| k.public_key_to_der())
        .map_err(|e| ConfigError::PublicKey(e.to_string()))
}

#[cfg(feature = "dtls-rpk")]
fn set_key(b: &mut SslContextBuilder, own: &PrivateKey) -> Result<(), ConfigError> {
    let key = openssl::pkey::PKey::private_key_from_der(own.pkcs8_der())
        .map_err(|e| ConfigError::PrivateKey(e.to_string()))?;
    b.set_private_key(&key)
        .map_err(|e| ConfigError::PrivateKey(e.to_string()))
}

/// Writes a refused key to the `Notes` of the connection being verified.
#[cfg(feature = "dtls-rpk")]
fn note_unknown(store: &openssl::x509::X509StoreContextRef, spki: Vec<u8>) {
    let (Ok(ssl_index), Ok(index)) = (
        openssl::x509::X509StoreContext::ssl_idx(),
        super::context::notes_index(),
    ) else {
        return;
    };
    if let Some(notes) = store.ex_data(ssl_index).and_then(|ssl| ssl.ex_data(index)) {
        if let Ok(mut slot) = notes.unknown_rpk.lock() {
            *slot = Some(spki);
        }
    }
}

/// Server: offers its raw public key and asks clients for theirs, alongside X.509 when the
/// context also has a `certificate` (whose key `own` must then be). Sets the verify callback,
/// which checks raw keys against `trusted` and leaves certificate chains to OpenSSL's verdict.
#[cfg(feature = "dtls-rpk")]
pub(super) fn server(
    b: &mut SslContextBuilder,
    own: &PrivateKey,
    trusted: Arc<dyn RawPublicKeyStore>,
    certificate: Option<&CertifiedKey>,
) -> Result<(), ConfigError> {
    use super::ffi::{cert_type, set_cert_types, store_rpk};
    use openssl::ssl::SslVerifyMode;

    let types: &[u8] = if certificate.is_some() {
        &[cert_type::RAW_PUBLIC_KEY, cert_type::X509]
    } else {
        &[cert_type::RAW_PUBLIC_KEY]
    };
    set_cert_types(b, types, types).map_err(|e| ConfigError::Backend(e.to_string()))?;
    match certificate {
        Some(cert) => {
            // One P-256 key per context: the certificate's key is also the raw public key.
            if cert.key.public_key_der()? != own.public_key_der()? {
                return Err(ConfigError::PrivateKey(
                    "the raw public key differs from the certificate's key".into(),
                ));
            }
        }
        None => set_key(b, own)?,
    }
    b.set_verify_callback(
        SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
        move |chain_ok, store| {
            let Some(spki) = store_rpk(store) else {
                return chain_ok;
            };
            if trusted.is_trusted(&spki) {
                return true;
            }
            note_unknown(store, spki);
            false
        },
    );
    Ok(())
}

/// Without the `dtls-rpk` feature: refused by [`supported`] before this is reached.
#[cfg(not(feature = "dtls-rpk"))]
pub(super) fn server(
    _: &mut SslContextBuilder,
    _: &PrivateKey,
    _: Arc<dyn RawPublicKeyStore>,
    _: Option<&CertifiedKey>,
) -> Result<(), ConfigError> {
    supported()
}

/// Client: presents the raw public key of `own` and accepts only `server_spki` from the server.
#[cfg(feature = "dtls-rpk")]
pub(super) fn client(
    b: &mut SslContextBuilder,
    own: &PrivateKey,
    server_spki: &[u8],
) -> Result<(), ConfigError> {
    use super::ffi::{cert_type, set_cert_types, store_rpk};
    use openssl::ssl::SslVerifyMode;

    let expected = canonical_spki(server_spki)?;
    let types = [cert_type::RAW_PUBLIC_KEY];
    set_cert_types(b, &types, &types).map_err(|e| ConfigError::Backend(e.to_string()))?;
    set_key(b, own)?;
    b.set_verify_callback(SslVerifyMode::PEER, move |_, store| {
        match store_rpk(store) {
            Some(spki) if openssl::memcmp::eq(&spki, &expected) => true,
            Some(spki) => {
                note_unknown(store, spki);
                false
            }
            // A certificate where a raw key was asked for: never the pinned key.
            None => false,
        }
    });
    Ok(())
}

/// Without the `dtls-rpk` feature: refused by [`supported`] before this is reached.
#[cfg(not(feature = "dtls-rpk"))]
pub(super) fn client(
    _: &mut SslContextBuilder,
    _: &PrivateKey,
    _: &[u8],
) -> Result<(), ConfigError> {
    supported()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_check_refuses_openssl_before_3_2_and_a_build_without_the_feature() {
        // Debian 12's library: 3.0.19.
        assert_eq!(
            check_support(0x3000_0130, true),
            Err(ConfigError::RawPublicKeyUnsupported {
                linked: "3.0.19".into(),
                compiled: true
            })
        );
        assert!(check_support(0x3010_0000, true).is_err());
        assert_eq!(check_support(RPK_FROM, true), Ok(()));
        assert_eq!(check_support(0x3060_0030, true), Ok(()));
        assert_eq!(
            check_support(0x3050_0010, false),
            Err(ConfigError::RawPublicKeyUnsupported {
                linked: "3.5.1".into(),
                compiled: false
            })
        );
    }

    #[test]
    fn the_linked_library_is_checked() {
        let linked = openssl::version::number();
        assert_eq!(
            supported().is_ok(),
            cfg!(feature = "dtls-rpk") && linked >= RPK_FROM
        );
    }
}
