//! Stateless `HelloVerifyRequest` cookies (RFC 6347 §4.2.1): HMAC-SHA256 keyed with a secret over
//! the peer address and the `client_random`, so a `ClientHello` from a spoofed source costs one
//! HMAC and one small reply and leaves no state. The secret rotates; a cookie made with the previous secret is still accepted,
//! so a client caught by a rotation between its two `ClientHellos` is not refused.

use core::time::Duration;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::DtlsError;
use crate::time::Instant;

/// Bytes in a cookie.
pub(crate) const COOKIE_LEN: usize = 32;
/// Secret length: SHA-256's block size, the longest HMAC key used without hashing it first.
const SECRET_LEN: usize = 64;

/// The cookie secrets of one table.
pub(crate) struct CookieJar {
    current: [u8; SECRET_LEN],
    previous: Option<[u8; SECRET_LEN]>,
    rotated_at: Instant,
    lifetime: Duration,
}

impl core::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CookieJar")
            .field("rotated_at", &self.rotated_at)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl CookieJar {
    pub(crate) fn new(now: Instant, lifetime: Duration) -> Result<CookieJar, DtlsError> {
        Ok(CookieJar {
            current: fresh_secret()?,
            previous: None,
            rotated_at: now,
            lifetime,
        })
    }

    /// Rotates the secret when it has lived its lifetime. A failing random source keeps the old
    /// secret (cookies stay valid; only their freshness suffers).
    pub(crate) fn rotate(&mut self, now: Instant) {
        if now.saturating_duration_since(self.rotated_at) < self.lifetime {
            return;
        }
        if let Ok(secret) = fresh_secret() {
            self.previous = Some(core::mem::replace(&mut self.current, secret));
            self.rotated_at = now;
        }
    }

    /// The cookie for this peer and `ClientHello` random.
    pub(crate) fn cookie(&self, peer: &[u8], random: &[u8; 32]) -> [u8; COOKIE_LEN] {
        hmac(&self.current, peer, random)
    }

    /// Whether `cookie` was issued to this peer for this random by the current or previous secret.
    pub(crate) fn verify(&self, peer: &[u8], random: &[u8; 32], cookie: &[u8]) -> bool {
        let matches =
            |secret: &[u8; SECRET_LEN]| mac(secret, peer, random).verify_slice(cookie).is_ok();
        matches(&self.current) || self.previous.as_ref().is_some_and(matches)
    }
}

fn fresh_secret() -> Result<[u8; SECRET_LEN], DtlsError> {
    let mut secret = [0; SECRET_LEN];
    rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut secret)
        .map_err(|e| DtlsError::Backend(format!("system random source: {e}")))?;
    Ok(secret)
}

/// HMAC-SHA256 keyed with a secret over `len(peer) || peer || random`, before finalisation.
fn mac(key: &[u8; SECRET_LEN], peer: &[u8], random: &[u8; 32]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new(key.into());
    // The length prefix keeps (peer, random) pairs from colliding across peer-key lengths.
    mac.update(&(peer.len() as u32).to_be_bytes());
    mac.update(peer);
    mac.update(random);
    mac
}

/// The cookie: the HMAC itself.
fn hmac(key: &[u8; SECRET_LEN], peer: &[u8], random: &[u8; 32]) -> [u8; COOKIE_LEN] {
    mac(key, peer, random).finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "dtls-openssl")]
    #[test]
    fn hmac_matches_openssl() {
        use openssl::hash::MessageDigest;
        use openssl::pkey::PKey;
        use openssl::sign::Signer;
        let key = [9u8; SECRET_LEN];
        let mut message = 3u32.to_be_bytes().to_vec();
        message.extend_from_slice(b"abc");
        message.extend_from_slice(&[1; 32]);
        let pkey = PKey::hmac(&key).unwrap();
        let mut signer = Signer::new(MessageDigest::sha256(), &pkey).unwrap();
        signer.update(&message).unwrap();
        assert_eq!(signer.sign_to_vec().unwrap(), hmac(&key, b"abc", &[1; 32]));
    }

    #[test]
    fn cookies_bind_peer_and_random_and_survive_one_rotation() {
        let lifetime = Duration::from_secs(60);
        let mut jar = CookieJar::new(Instant::ZERO, lifetime).unwrap();
        let c = jar.cookie(b"peer-a", &[1; 32]);
        assert!(jar.verify(b"peer-a", &[1; 32], &c));
        assert!(!jar.verify(b"peer-b", &[1; 32], &c));
        assert!(!jar.verify(b"peer-a", &[2; 32], &c));
        assert!(!jar.verify(b"peer-a", &[1; 32], &c[..31]));
        jar.rotate(Instant::from_secs(30));
        assert!(jar.verify(b"peer-a", &[1; 32], &c));
        jar.rotate(Instant::from_secs(60));
        assert!(
            jar.verify(b"peer-a", &[1; 32], &c),
            "previous secret still accepted"
        );
        assert_ne!(jar.cookie(b"peer-a", &[1; 32]), c);
        jar.rotate(Instant::from_secs(120));
        assert!(
            !jar.verify(b"peer-a", &[1; 32], &c),
            "two rotations later it expired"
        );
    }
}
