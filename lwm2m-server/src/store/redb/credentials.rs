//! [`RedbStore`]'s [`CredentialStore`]: credentials under their endpoint name, and the index
//! tables from PSK identity and from raw public key to endpoint, kept in step in each write
//! transaction.

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::{backend, RedbStore, CREDENTIALS, PSK_IDENTITIES, RAW_PUBLIC_KEYS};
use crate::store::credentials::{raw_public_key, raw_public_key_conflict};
use crate::store::records::{decode_credential, encode_credential};
use crate::store::{Credential, CredentialStore, SecurityInfo, StoreError};

impl RedbStore {
    fn read_credential(&self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        let read = || -> Result<Option<Vec<u8>>, redb::Error> {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(CREDENTIALS)?;
            Ok(table.get(endpoint)?.map(|v| v.value().to_vec()))
        };
        match read().map_err(backend("read a credential"))? {
            Some(bytes) => decode_credential(endpoint, endpoint, &bytes).map(Some),
            None => Ok(None),
        }
    }
}

/// Fills [`RAW_PUBLIC_KEYS`] from the credentials of a file written before it existed. Where
/// two endpoints share a key (which the store refuses since), the first keeps it in the index:
/// the handshake then admits the key, and the identity check still tells the endpoints apart.
pub(super) fn index_raw_public_keys(tx: &WriteTransaction) -> Result<(), redb::Error> {
    let credentials = tx.open_table(CREDENTIALS)?;
    let mut index = tx.open_table(RAW_PUBLIC_KEYS)?;
    for item in credentials.iter()? {
        let (endpoint, bytes) = item?;
        let endpoint = endpoint.value();
        // An unreadable credential admits nobody; `get_by_endpoint` reports it.
        let Ok(info) = decode_credential(endpoint, endpoint, bytes.value()) else {
            continue;
        };
        let Some(spki) = raw_public_key(&info) else {
            continue;
        };
        if let Some(owner) = index.get(spki)? {
            tracing::warn!(
                endpoint,
                owner = owner.value(),
                "two endpoints hold one raw public key; indexed for the first"
            );
            continue;
        }
        index.insert(spki, endpoint)?;
    }
    Ok(())
}

/// Removes `spki` from the index if it names `endpoint`: in a file indexed on upgrade, a key
/// two endpoints shared stays with the one it was indexed for.
fn unindex_raw_public_key(
    keys: &mut redb::Table<'_, &'static [u8], &'static str>,
    spki: &[u8],
    endpoint: &str,
) -> Result<(), redb::Error> {
    if keys
        .get(spki)?
        .is_some_and(|owner| owner.value() == endpoint)
    {
        keys.remove(spki)?;
    }
    Ok(())
}

/// The PSK identity of a credential.
fn psk_identity(info: &SecurityInfo) -> Option<&str> {
    match &info.credential {
        Credential::Psk { identity, .. } => Some(identity),
        _ => None,
    }
}

impl CredentialStore for RedbStore {
    fn get_by_endpoint(&self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        self.read_credential(endpoint)
    }

    fn has_credentials(&self) -> Result<bool, StoreError> {
        let read = || -> Result<bool, redb::Error> {
            Ok(!self.db.begin_read()?.open_table(CREDENTIALS)?.is_empty()?)
        };
        read().map_err(backend("count credentials"))
    }

    fn get_by_psk_identity(&self, identity: &str) -> Result<Option<SecurityInfo>, StoreError> {
        let read = || -> Result<Option<String>, redb::Error> {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(PSK_IDENTITIES)?;
            Ok(table.get(identity)?.map(|v| v.value().to_owned()))
        };
        match read().map_err(backend("look up a PSK identity"))? {
            Some(endpoint) => self.read_credential(&endpoint),
            None => Ok(None),
        }
    }

    fn get_by_raw_public_key(&self, spki: &[u8]) -> Result<Option<SecurityInfo>, StoreError> {
        // Index and credential from one snapshot.
        let read = || -> Result<Option<(String, Vec<u8>)>, redb::Error> {
            let tx = self.db.begin_read()?;
            let Some(endpoint) = tx
                .open_table(RAW_PUBLIC_KEYS)?
                .get(spki)?
                .map(|v| v.value().to_owned())
            else {
                return Ok(None);
            };
            let bytes = tx
                .open_table(CREDENTIALS)?
                .get(endpoint.as_str())?
                .map(|v| v.value().to_vec());
            Ok(bytes.map(|bytes| (endpoint, bytes)))
        };
        let Some((endpoint, bytes)) = read().map_err(backend("look up a raw public key"))? else {
            return Ok(None);
        };
        let info = decode_credential(&endpoint, &endpoint, &bytes)?;
        Ok((raw_public_key(&info) == Some(spki)).then_some(info))
    }

    fn put(&mut self, info: SecurityInfo) -> Result<Option<SecurityInfo>, StoreError> {
        let bytes = encode_credential(&info.credential);
        let endpoint = info.endpoint.as_str();
        let outcome = self.write(|tx| {
            let mut identities = tx.open_table(PSK_IDENTITIES)?;
            let mut keys = tx.open_table(RAW_PUBLIC_KEYS)?;
            if let Some(identity) = psk_identity(&info) {
                if let Some(owner) = identities.get(identity)? {
                    if owner.value() != endpoint {
                        return Ok(Err(StoreError::Conflict(format!(
                            "PSK identity {identity:?} belongs to endpoint {:?}",
                            owner.value()
                        ))));
                    }
                }
            }
            if let Some(spki) = raw_public_key(&info) {
                if let Some(owner) = keys.get(spki)? {
                    if owner.value() != endpoint {
                        return Ok(Err(raw_public_key_conflict(spki, owner.value())));
                    }
                }
            }
            let mut credentials = tx.open_table(CREDENTIALS)?;
            let old = credentials
                .insert(endpoint, bytes.as_slice())?
                .map(|v| v.value().to_vec());
            if let Some(Ok(old)) = old
                .as_ref()
                .map(|b| decode_credential(endpoint, endpoint, b))
            {
                if let Some(identity) = psk_identity(&old) {
                    identities.remove(identity)?;
                }
                if let Some(spki) = raw_public_key(&old) {
                    unindex_raw_public_key(&mut keys, spki, endpoint)?;
                }
            }
            if let Some(identity) = psk_identity(&info) {
                identities.insert(identity, endpoint)?;
            }
            if let Some(spki) = raw_public_key(&info) {
                keys.insert(spki, endpoint)?;
            }
            Ok(Ok(old))
        })?;
        outcome?
            .map(|old| decode_credential(endpoint, endpoint, &old))
            .transpose()
    }

    fn remove(&mut self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        let old = self.write(|tx| {
            let mut credentials = tx.open_table(CREDENTIALS)?;
            let old = credentials.remove(endpoint)?.map(|v| v.value().to_vec());
            if let Some(Ok(old)) = old
                .as_ref()
                .map(|b| decode_credential(endpoint, endpoint, b))
            {
                if let Some(identity) = psk_identity(&old) {
                    tx.open_table(PSK_IDENTITIES)?.remove(identity)?;
                }
                if let Some(spki) = raw_public_key(&old) {
                    unindex_raw_public_key(&mut tx.open_table(RAW_PUBLIC_KEYS)?, spki, endpoint)?;
                }
            }
            Ok(old)
        })?;
        old.map(|bytes| decode_credential(endpoint, endpoint, &bytes))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Database, Durability, RedbStore, META, SCHEMA_KEY, SCHEMA_VERSION};
    use super::{
        encode_credential, Credential, CredentialStore, SecurityInfo, StoreError, CREDENTIALS,
        PSK_IDENTITIES,
    };
    use crate::store::credentials::contract::{self, rpk};

    fn psk(endpoint: &str, identity: &str) -> SecurityInfo {
        SecurityInfo {
            endpoint: endpoint.into(),
            credential: Credential::Psk {
                identity: identity.into(),
                key: vec![7; 16],
            },
        }
    }

    #[test]
    fn credentials_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.redb");
        {
            let mut store = RedbStore::open(&path).unwrap();
            store.set_durability(Durability::Eventual);
            assert_eq!(store.put(psk("a", "id-a")).unwrap(), None);
            assert_eq!(
                store
                    .put(SecurityInfo {
                        endpoint: "b".into(),
                        credential: Credential::RawPublicKey {
                            public_key: vec![1, 2, 3],
                        },
                    })
                    .unwrap(),
                None
            );
            assert!(matches!(
                store.put(psk("c", "id-a")),
                Err(StoreError::Conflict(_))
            ));
        }
        let mut store = RedbStore::open(&path).unwrap();
        assert_eq!(
            store.get_by_psk_identity("id-a").unwrap(),
            Some(psk("a", "id-a"))
        );
        assert!(matches!(
            store.get_by_endpoint("b").unwrap().unwrap().credential,
            Credential::RawPublicKey { .. }
        ));
        assert_eq!(store.get_by_endpoint("c").unwrap(), None);
        // Re-keying "a" frees its old identity.
        assert_eq!(
            store.put(psk("a", "id-a2")).unwrap(),
            Some(psk("a", "id-a"))
        );
        assert_eq!(store.get_by_psk_identity("id-a").unwrap(), None);
        assert_eq!(store.put(psk("c", "id-a")).unwrap(), None);
        assert_eq!(store.remove("a").unwrap(), Some(psk("a", "id-a2")));
        assert_eq!(store.get_by_psk_identity("id-a2").unwrap(), None);
        assert_eq!(store.remove("a").unwrap(), None);
    }

    #[test]
    fn raw_public_keys_are_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = RedbStore::open(dir.path().join("rpk.redb")).unwrap();
        store.set_durability(Durability::Eventual);
        contract::raw_public_key_index(&mut store);
    }

    #[test]
    fn the_raw_public_key_index_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rpk-reopen.redb");
        let (k1, k2) = ([0x30, 0x59, 1], [0x30, 0x59, 2]);
        {
            let mut store = RedbStore::open(&path).unwrap();
            assert_eq!(store.put(rpk("a", &k1)).unwrap(), None);
            assert_eq!(store.put(rpk("b", &k2)).unwrap(), None);
        }
        let mut store = RedbStore::open(&path).unwrap();
        assert_eq!(
            store.get_by_raw_public_key(&k1).unwrap(),
            Some(rpk("a", &k1))
        );
        assert_eq!(
            store.get_by_raw_public_key(&k2).unwrap(),
            Some(rpk("b", &k2))
        );
        assert!(matches!(
            store.put(rpk("c", &k1)),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.remove("a").unwrap(), Some(rpk("a", &k1)));
        drop(store);
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.get_by_raw_public_key(&k1).unwrap(), None);
        assert_eq!(
            store.get_by_raw_public_key(&k2).unwrap(),
            Some(rpk("b", &k2))
        );
    }

    /// A version 2 file has RPK credentials but no index: opening it builds one, so its RPK
    /// clients still complete their handshakes after the upgrade.
    #[test]
    fn opening_a_version_2_file_indexes_its_raw_public_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.redb");
        let (k1, k2) = ([0x30, 0x59, 1], [0x30, 0x59, 2]);
        {
            let db = Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META).unwrap().insert(SCHEMA_KEY, 2).unwrap();
            {
                let mut credentials = tx.open_table(CREDENTIALS).unwrap();
                for (endpoint, info) in [
                    ("a", rpk("a", &k1)),
                    ("b", psk("b", "id-b")),
                    // Version 2 did not refuse a shared key.
                    ("c", rpk("c", &k1)),
                    ("d", rpk("d", &k2)),
                ] {
                    let bytes = encode_credential(&info.credential);
                    credentials.insert(endpoint, bytes.as_slice()).unwrap();
                }
                credentials.insert("e", [0xFF, 0xFF].as_slice()).unwrap();
            }
            tx.open_table(PSK_IDENTITIES)
                .unwrap()
                .insert("id-b", "b")
                .unwrap();
            tx.commit().unwrap();
        }
        let mut store = RedbStore::open(&path).unwrap();
        assert_eq!(
            store.get_by_raw_public_key(&k1).unwrap(),
            Some(rpk("a", &k1))
        );
        assert_eq!(
            store.get_by_raw_public_key(&k2).unwrap(),
            Some(rpk("d", &k2))
        );
        assert_eq!(
            store.get_by_psk_identity("id-b").unwrap(),
            Some(psk("b", "id-b"))
        );
        // The index is kept from now on; c, which shared a's key, leaves it to a.
        assert_eq!(store.remove("d").unwrap(), Some(rpk("d", &k2)));
        assert_eq!(store.remove("c").unwrap(), Some(rpk("c", &k1)));
        assert_eq!(
            store.get_by_raw_public_key(&k1).unwrap(),
            Some(rpk("a", &k1))
        );
        assert_eq!(store.get_by_raw_public_key(&k2).unwrap(), None);
        drop(store);
        let db = Database::create(&path).unwrap();
        let tx = db.begin_read().unwrap();
        let version = tx
            .open_table(META)
            .unwrap()
            .get(SCHEMA_KEY)
            .unwrap()
            .unwrap();
        assert_eq!(version.value(), SCHEMA_VERSION);
    }
}
