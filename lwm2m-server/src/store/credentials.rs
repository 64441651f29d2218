//! [`CredentialStore`]: the security information the server checks DTLS peers against.

use std::collections::HashMap;
use std::fmt;

use super::StoreError;

/// How a client authenticates (LwM2M Security modes, digest §13).
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Pre-shared key: the PSK identity the client presents and the key.
    Psk {
        /// The PSK identity (often, but not necessarily, the endpoint name).
        identity: String,
        /// The key bytes.
        key: Vec<u8>,
    },
    /// Raw public key: the client's public key (`SubjectPublicKeyInfo`, DER).
    RawPublicKey {
        /// The DER bytes.
        public_key: Vec<u8>,
    },
    /// X.509: the client presents a certificate from a trusted CA whose subject CN is the
    /// endpoint name.
    X509,
}

impl fmt::Debug for Credential {
    /// Keys are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Psk { identity, key } => f
                .debug_struct("Psk")
                .field("identity", identity)
                .field("key", &format_args!("<{} bytes>", key.len()))
                .finish(),
            Credential::RawPublicKey { public_key } => f
                .debug_struct("RawPublicKey")
                .field("public_key", &format_args!("<{} bytes>", public_key.len()))
                .finish(),
            Credential::X509 => f.write_str("X509"),
        }
    }
}

/// The security information of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityInfo {
    /// The endpoint client name.
    pub endpoint: String,
    /// How it authenticates.
    pub credential: Credential,
}

/// Storage of security information, by endpoint name and by PSK identity.
pub trait CredentialStore: Send {
    /// The security information of an endpoint.
    fn get_by_endpoint(&self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError>;

    /// The security information whose PSK identity is `identity` (what a DTLS PSK handshake
    /// looks up).
    fn get_by_psk_identity(&self, identity: &str) -> Result<Option<SecurityInfo>, StoreError>;

    /// Adds or replaces an endpoint's information and returns the old one. A PSK identity
    /// already bound to another endpoint is a [`StoreError::Conflict`].
    fn put(&mut self, info: SecurityInfo) -> Result<Option<SecurityInfo>, StoreError>;

    /// Removes an endpoint's information.
    fn remove(&mut self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError>;

    /// Whether any endpoint has security information (the binary then listens for DTLS). The
    /// default answers `true`: a store that cannot tell cheaply may hold some.
    fn has_credentials(&self) -> Result<bool, StoreError> {
        Ok(true)
    }
}

/// Security information in two hash maps.
///
/// ```
/// use lwm2m_server::store::{Credential, CredentialStore, MemoryCredentialStore, SecurityInfo};
/// let mut store = MemoryCredentialStore::default();
/// store.put(SecurityInfo {
///     endpoint: "node1".into(),
///     credential: Credential::Psk { identity: "id1".into(), key: vec![1, 2, 3] },
/// })?;
/// assert_eq!(store.get_by_psk_identity("id1")?.map(|i| i.endpoint), Some("node1".into()));
/// # Ok::<(), lwm2m_server::store::StoreError>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct MemoryCredentialStore {
    by_endpoint: HashMap<String, SecurityInfo>,
    by_identity: HashMap<String, String>,
}

fn psk_identity(info: &SecurityInfo) -> Option<&str> {
    match &info.credential {
        Credential::Psk { identity, .. } => Some(identity),
        _ => None,
    }
}

impl CredentialStore for MemoryCredentialStore {
    fn get_by_endpoint(&self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        Ok(self.by_endpoint.get(endpoint).cloned())
    }

    fn get_by_psk_identity(&self, identity: &str) -> Result<Option<SecurityInfo>, StoreError> {
        Ok(self
            .by_identity
            .get(identity)
            .and_then(|ep| self.by_endpoint.get(ep))
            .cloned())
    }

    fn put(&mut self, info: SecurityInfo) -> Result<Option<SecurityInfo>, StoreError> {
        if let Some(identity) = psk_identity(&info) {
            if let Some(owner) = self.by_identity.get(identity) {
                if *owner != info.endpoint {
                    return Err(StoreError::Conflict(format!(
                        "PSK identity {identity:?} belongs to endpoint {owner:?}"
                    )));
                }
            }
        }
        let old = self.remove(&info.endpoint)?;
        if let Some(identity) = psk_identity(&info) {
            self.by_identity
                .insert(identity.to_owned(), info.endpoint.clone());
        }
        self.by_endpoint.insert(info.endpoint.clone(), info);
        Ok(old)
    }

    fn has_credentials(&self) -> Result<bool, StoreError> {
        Ok(!self.by_endpoint.is_empty())
    }

    fn remove(&mut self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        let old = self.by_endpoint.remove(endpoint);
        if let Some(identity) = old.as_ref().and_then(psk_identity) {
            self.by_identity.remove(identity);
        }
        Ok(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn psk(endpoint: &str, identity: &str) -> SecurityInfo {
        SecurityInfo {
            endpoint: endpoint.into(),
            credential: Credential::Psk {
                identity: identity.into(),
                key: vec![0xAA; 16],
            },
        }
    }

    #[test]
    fn identities_are_unique_and_follow_replacement() {
        let mut store = MemoryCredentialStore::default();
        assert_eq!(store.put(psk("a", "id-a")).unwrap(), None);
        assert!(matches!(
            store.put(psk("b", "id-a")),
            Err(StoreError::Conflict(_))
        ));
        // Replacing a's credential frees its old identity.
        let old = store.put(psk("a", "id-a2")).unwrap().unwrap();
        assert_eq!(old, psk("a", "id-a"));
        assert_eq!(store.get_by_psk_identity("id-a").unwrap(), None);
        assert_eq!(store.put(psk("b", "id-a")).unwrap(), None);
        store
            .put(SecurityInfo {
                endpoint: "a".into(),
                credential: Credential::X509,
            })
            .unwrap();
        assert_eq!(store.get_by_psk_identity("id-a2").unwrap(), None);
        assert_eq!(
            store.get_by_endpoint("a").unwrap().unwrap().credential,
            Credential::X509
        );
        assert!(store.remove("b").unwrap().is_some());
        assert_eq!(store.get_by_psk_identity("id-a").unwrap(), None);
        assert!(store.has_credentials().unwrap());
        store.remove("a").unwrap();
        assert!(!store.has_credentials().unwrap());
    }

    #[test]
    fn keys_are_not_printed() {
        let text = format!("{:?}", psk("a", "id"));
        assert!(text.contains("<16 bytes>"));
        assert!(!text.contains("170"));
    }
}
