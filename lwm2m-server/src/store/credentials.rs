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

/// Storage of security information, by endpoint name, by PSK identity and by raw public key.
///
/// A PSK identity and a raw public key each belong to at most one endpoint, so the DTLS
/// handshake can tell from them alone whether the client is known.
pub trait CredentialStore: Send {
    /// The security information of an endpoint.
    fn get_by_endpoint(&self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError>;

    /// The security information whose PSK identity is `identity` (what a DTLS PSK handshake
    /// looks up).
    fn get_by_psk_identity(&self, identity: &str) -> Result<Option<SecurityInfo>, StoreError>;

    /// The security information whose [`Credential::RawPublicKey`] is `spki` (the client's
    /// `SubjectPublicKeyInfo`, DER, compared byte for byte): what a DTLS raw-public-key
    /// handshake looks up. An index lookup, not a scan.
    fn get_by_raw_public_key(&self, spki: &[u8]) -> Result<Option<SecurityInfo>, StoreError>;

    /// Adds or replaces an endpoint's information and returns the old one. A PSK identity or
    /// raw public key already bound to another endpoint is a [`StoreError::Conflict`] (and
    /// nothing changes).
    fn put(&mut self, info: SecurityInfo) -> Result<Option<SecurityInfo>, StoreError>;

    /// Removes an endpoint's information.
    fn remove(&mut self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError>;

    /// Whether any endpoint has security information (the binary then listens for DTLS). The
    /// default answers `true`: a store that cannot tell cheaply may hold some.
    fn has_credentials(&self) -> Result<bool, StoreError> {
        Ok(true)
    }
}

/// Security information in hash maps: by endpoint, and indexes from PSK identity and from raw
/// public key to the endpoint.
///
/// ```
/// use lwm2m_server::store::{Credential, CredentialStore, MemoryCredentialStore, SecurityInfo};
/// let mut store = MemoryCredentialStore::default();
/// store.put(SecurityInfo {
///     endpoint: "node1".into(),
///     credential: Credential::Psk { identity: "id1".into(), key: vec![1, 2, 3] },
/// })?;
/// assert_eq!(store.get_by_psk_identity("id1")?.map(|i| i.endpoint), Some("node1".into()));
/// store.put(SecurityInfo {
///     endpoint: "node2".into(),
///     credential: Credential::RawPublicKey { public_key: vec![0x30, 0x59] },
/// })?;
/// assert_eq!(store.get_by_raw_public_key(&[0x30, 0x59])?.map(|i| i.endpoint), Some("node2".into()));
/// # Ok::<(), lwm2m_server::store::StoreError>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct MemoryCredentialStore {
    by_endpoint: HashMap<String, SecurityInfo>,
    by_identity: HashMap<String, String>,
    raw_key_owners: HashMap<Vec<u8>, String>,
}

fn psk_identity(info: &SecurityInfo) -> Option<&str> {
    match &info.credential {
        Credential::Psk { identity, .. } => Some(identity),
        _ => None,
    }
}

/// The raw public key of an RPK credential.
pub(super) fn raw_public_key(info: &SecurityInfo) -> Option<&[u8]> {
    match &info.credential {
        Credential::RawPublicKey { public_key } => Some(public_key),
        _ => None,
    }
}

/// The [`StoreError::Conflict`] of a raw public key bound to another endpoint (the key itself
/// is not shown: it identifies a device, and its length is enough to tell keys apart in a log).
pub(super) fn raw_public_key_conflict(spki: &[u8], owner: &str) -> StoreError {
    StoreError::Conflict(format!(
        "raw public key ({} bytes of SubjectPublicKeyInfo) belongs to endpoint {owner:?}",
        spki.len()
    ))
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

    fn get_by_raw_public_key(&self, spki: &[u8]) -> Result<Option<SecurityInfo>, StoreError> {
        Ok(self
            .raw_key_owners
            .get(spki)
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
        if let Some(spki) = raw_public_key(&info) {
            if let Some(owner) = self.raw_key_owners.get(spki) {
                if *owner != info.endpoint {
                    return Err(raw_public_key_conflict(spki, owner));
                }
            }
        }
        let old = self.remove(&info.endpoint)?;
        if let Some(identity) = psk_identity(&info) {
            self.by_identity
                .insert(identity.to_owned(), info.endpoint.clone());
        }
        if let Some(spki) = raw_public_key(&info) {
            self.raw_key_owners
                .insert(spki.to_vec(), info.endpoint.clone());
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
        if let Some(spki) = old.as_ref().and_then(raw_public_key) {
            self.raw_key_owners.remove(spki);
        }
        Ok(old)
    }
}

/// The rules every [`CredentialStore`] keeps for its raw-public-key index, as one scenario the
/// stores' tests run.
#[cfg(test)]
pub(super) mod contract {
    use super::{Credential, CredentialStore, SecurityInfo, StoreError};

    /// An RPK credential.
    pub(in crate::store) fn rpk(endpoint: &str, spki: &[u8]) -> SecurityInfo {
        SecurityInfo {
            endpoint: endpoint.into(),
            credential: Credential::RawPublicKey {
                public_key: spki.to_vec(),
            },
        }
    }

    fn psk(endpoint: &str, identity: &str) -> SecurityInfo {
        SecurityInfo {
            endpoint: endpoint.into(),
            credential: Credential::Psk {
                identity: identity.into(),
                key: vec![0x5A; 16],
            },
        }
    }

    fn owner(store: &dyn CredentialStore, spki: &[u8]) -> Option<String> {
        store
            .get_by_raw_public_key(spki)
            .unwrap()
            .map(|info| info.endpoint)
    }

    /// Put, look up, replace (RPK to another key, to PSK and back), duplicate refused, remove.
    pub(in crate::store) fn raw_public_key_index(store: &mut dyn CredentialStore) {
        let (k1, k2, k3) = ([0x30, 0x59, 1], [0x30, 0x59, 2], [0x30, 0x59, 3]);
        assert_eq!(store.put(rpk("a", &k1)).unwrap(), None);
        assert_eq!(
            store.get_by_raw_public_key(&k1).unwrap(),
            Some(rpk("a", &k1))
        );
        assert_eq!(owner(store, &k2), None);
        assert_eq!(owner(store, &[]), None);

        // Another endpoint may not take a's key; nothing changes.
        match store.put(rpk("b", &k1)) {
            Err(StoreError::Conflict(text)) => assert!(text.contains("\"a\""), "{text}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(store.get_by_endpoint("b").unwrap(), None);
        assert_eq!(owner(store, &k1).as_deref(), Some("a"));
        assert_eq!(store.put(rpk("b", &k2)).unwrap(), None);

        // Putting the same key again for its own endpoint is no conflict.
        assert_eq!(store.put(rpk("a", &k1)).unwrap(), Some(rpk("a", &k1)));
        // Re-keying a frees its old key, which b may then take.
        assert_eq!(store.put(rpk("a", &k3)).unwrap(), Some(rpk("a", &k1)));
        assert_eq!(owner(store, &k1), None);
        assert_eq!(owner(store, &k3).as_deref(), Some("a"));
        assert_eq!(store.put(rpk("b", &k1)).unwrap(), Some(rpk("b", &k2)));
        assert_eq!(owner(store, &k2), None);
        assert_eq!(owner(store, &k1).as_deref(), Some("b"));

        // RPK -> PSK frees the key; PSK -> RPK frees the identity.
        assert_eq!(store.put(psk("a", "id-a")).unwrap(), Some(rpk("a", &k3)));
        assert_eq!(owner(store, &k3), None);
        assert_eq!(store.put(rpk("a", &k3)).unwrap(), Some(psk("a", "id-a")));
        assert_eq!(store.get_by_psk_identity("id-a").unwrap(), None);
        assert_eq!(owner(store, &k3).as_deref(), Some("a"));
        // X.509 holds no key.
        let x509 = SecurityInfo {
            endpoint: "a".into(),
            credential: Credential::X509,
        };
        assert_eq!(store.put(x509.clone()).unwrap(), Some(rpk("a", &k3)));
        assert_eq!(owner(store, &k3), None);
        assert_eq!(store.put(rpk("a", &k3)).unwrap(), Some(x509));

        // Removing frees the key.
        assert_eq!(store.remove("a").unwrap(), Some(rpk("a", &k3)));
        assert_eq!(owner(store, &k3), None);
        assert_eq!(store.put(rpk("c", &k3)).unwrap(), None);
        assert_eq!(owner(store, &k3).as_deref(), Some("c"));
        assert_eq!(store.remove("c").unwrap(), Some(rpk("c", &k3)));
        assert_eq!(store.remove("b").unwrap(), Some(rpk("b", &k1)));
        for key in [&k1, &k2, &k3] {
            assert_eq!(owner(store, key), None);
        }
        assert_eq!(store.remove("b").unwrap(), None);
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
    fn raw_public_keys_are_indexed() {
        contract::raw_public_key_index(&mut MemoryCredentialStore::default());
    }

    #[test]
    fn keys_are_not_printed() {
        let text = format!("{:?}", psk("a", "id"));
        assert!(text.contains("<16 bytes>"));
        assert!(!text.contains("170"));
    }
}
