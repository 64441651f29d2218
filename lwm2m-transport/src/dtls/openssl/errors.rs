//! Turning OpenSSL's error queue into a [`HandshakeFailure`] a caller can match on.

use openssl::ssl::SslRef;

use super::context::Notes;
use crate::dtls::error::{Alert, HandshakeFailure};

/// `ERR_LIB_SSL`.
const LIB_SSL: libc::c_int = 20;
// Reason codes from `sslerr.h` (stable across OpenSSL 3.x).
const NO_SHARED_CIPHER: libc::c_int = 193;
const NO_CIPHERS_AVAILABLE: libc::c_int = 181;
const WRONG_CIPHER_RETURNED: libc::c_int = 261;
const NO_SHARED_GROUPS: libc::c_int = 410;
const PSK_IDENTITY_NOT_FOUND: libc::c_int = 223;
const CERTIFICATE_VERIFY_FAILED: libc::c_int = 134;
const PEER_DID_NOT_RETURN_A_CERTIFICATE: libc::c_int = 199;
const READ_TIMEOUT_EXPIRED: libc::c_int = 312;
const DECRYPTION_FAILED_OR_BAD_RECORD_MAC: libc::c_int = 281;
/// `SSL_AD_REASON_OFFSET`: reason = 1000 + alert description for a received alert.
const ALERT_OFFSET: libc::c_int = 1000;

/// Classifies a failed OpenSSL call on `ssl`.
pub(super) fn classify(
    error: &openssl::ssl::Error,
    ssl: &SslRef,
    notes: Option<&Notes>,
) -> HandshakeFailure {
    if let Some(identity) = notes.and_then(|n| n.unknown_identity.clone()) {
        return HandshakeFailure::UnknownPskIdentity { identity };
    }
    let unknown_rpk = notes.and_then(|n| n.unknown_rpk.lock().ok().and_then(|mut k| k.take()));
    if let Some(spki) = unknown_rpk {
        return HandshakeFailure::UnknownRawPublicKey { spki };
    }
    let reasons = error
        .ssl_error()
        .into_iter()
        .flat_map(openssl::error::ErrorStack::errors)
        .filter(|e| e.library_code() == LIB_SSL)
        .map(openssl::error::Error::reason_code);
    for reason in reasons {
        match reason {
            NO_SHARED_CIPHER | NO_CIPHERS_AVAILABLE | WRONG_CIPHER_RETURNED | NO_SHARED_GROUPS => {
                return HandshakeFailure::NoSharedCipher;
            }
            PSK_IDENTITY_NOT_FOUND => {
                return HandshakeFailure::UnknownPskIdentity {
                    identity: ssl.psk_identity().unwrap_or_default().to_vec(),
                }
            }
            CERTIFICATE_VERIFY_FAILED => {
                return HandshakeFailure::UntrustedCertificate {
                    reason: ssl.verify_result().error_string().to_owned(),
                }
            }
            PEER_DID_NOT_RETURN_A_CERTIFICATE => return HandshakeFailure::NoCertificate,
            DECRYPTION_FAILED_OR_BAD_RECORD_MAC => return HandshakeFailure::BadKey,
            READ_TIMEOUT_EXPIRED => {
                return HandshakeFailure::Timeout {
                    after: core::time::Duration::ZERO,
                }
            }
            r if (ALERT_OFFSET..ALERT_OFFSET + 256).contains(&r) => {
                return HandshakeFailure::PeerAlert(Alert((r - ALERT_OFFSET) as u8));
            }
            _ => {}
        }
    }
    HandshakeFailure::Protocol {
        reason: error.to_string(),
    }
}
