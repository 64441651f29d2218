//! [`RedbStore`]: the durable embedded store, one redb database file.
//!
//! redb is a pure-Rust, ACID, copy-on-write B-tree store in a single file: no C library, no
//! server process, crash-safe commits (a commit is durable when it returns, with
//! [`Durability::Immediate`]), and a stable file format. Registrations are stored under their id
//! in the compact record format of [`encode_registration`]; credentials under their endpoint
//! name, with a second table from PSK identity to endpoint; observations under registration id
//! and token; bootstrap configurations under their endpoint name (the records of
//! [`super::encode_observation`] and friends).

// redb's error is 160 bytes; it only ever travels from a failed operation straight into a
// boxed `StoreError`, so its size costs nothing on the success path.
#![allow(clippy::result_large_err)]

use std::path::Path;

use lwm2m_codec::coap::Token;
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};

use super::records::{
    decode_bootstrap_config, decode_credential, decode_observation, encode_bootstrap_config,
    encode_credential, encode_observation,
};
use super::{
    decode_registration, encode_registration, BootstrapConfig, BootstrapConfigStore, Credential,
    CredentialStore, LoadedRegistrations, Observation, ObservationStore, RegistrationChange,
    RegistrationStore, SecurityInfo, StoreError,
};
use crate::registration::RegistrationId;

const META: TableDefinition<'static, &str, u32> = TableDefinition::new("meta");
const REGISTRATIONS: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("registrations");
const CREDENTIALS: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("credentials");
const PSK_IDENTITIES: TableDefinition<'static, &str, &str> = TableDefinition::new("psk_identities");
/// Key: registration id, a NUL byte, the token; so one registration's observations are one
/// contiguous range.
const OBSERVATIONS: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("observations");
const BOOTSTRAP_CONFIGS: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("bootstrap_configs");

/// The layout of the tables above; a file with another layout is refused. (Tables added
/// since version 1 are created on open, so a version 1 file stays readable.)
const SCHEMA_VERSION: u32 = 1;
const SCHEMA_KEY: &str = "schema";

/// When a commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is flushed (fsync) before it returns: a registration acknowledged to a
    /// client survives a crash or power loss. The default.
    #[default]
    Immediate,
    /// Commits are written but flushed later: survives a process crash, not a power loss, and
    /// is much faster.
    Eventual,
}

/// A store in one redb database file, for registrations, credentials, observations and
/// bootstrap configurations.
///
/// ```
/// use lwm2m_server::store::{RedbStore, RegistrationStore};
/// let dir = tempfile::tempdir()?;
/// let mut store = RedbStore::open(dir.path().join("lwm2m.redb"))?;
/// assert!(store.load()?.registrations.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedbStore {
    db: Database,
    durability: Durability,
}

impl core::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedbStore")
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

fn backend(operation: &'static str) -> impl FnOnce(redb::Error) -> StoreError {
    move |e| StoreError::backend(operation, e)
}

/// The store's file was written with another table layout.
#[derive(Debug, thiserror::Error)]
#[error("database schema version {found} is not supported (this build uses {SCHEMA_VERSION})")]
struct SchemaMismatch {
    found: u32,
}

impl RedbStore {
    /// Opens the database file, creating it (and its tables) if it does not exist.
    pub fn open(path: impl AsRef<Path>) -> Result<RedbStore, StoreError> {
        let db = Database::create(path)
            .map_err(|e| StoreError::backend("open the database", redb::Error::from(e)))?;
        let store = RedbStore {
            db,
            durability: Durability::Immediate,
        };
        match store.schema_version()? {
            None | Some(SCHEMA_VERSION) => {}
            Some(found) => {
                return Err(StoreError::backend(
                    "check the schema",
                    SchemaMismatch { found },
                ))
            }
        }
        store.write(|tx| {
            tx.open_table(REGISTRATIONS)?;
            tx.open_table(CREDENTIALS)?;
            tx.open_table(PSK_IDENTITIES)?;
            tx.open_table(OBSERVATIONS)?;
            tx.open_table(BOOTSTRAP_CONFIGS)?;
            tx.open_table(META)?.insert(SCHEMA_KEY, SCHEMA_VERSION)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// The schema version recorded in the file (`None` for a new file).
    fn schema_version(&self) -> Result<Option<u32>, StoreError> {
        let read = || -> Result<Option<u32>, redb::Error> {
            let tx = self.db.begin_read()?;
            let meta = match tx.open_table(META) {
                Ok(meta) => meta,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            Ok(meta.get(SCHEMA_KEY)?.map(|v| v.value()))
        };
        read().map_err(backend("read the schema version"))
    }

    /// Sets when commits reach the disk (default [`Durability::Immediate`]).
    pub fn set_durability(&mut self, durability: Durability) {
        self.durability = durability;
    }

    /// How many registrations are stored.
    pub fn registration_count(&self) -> Result<u64, StoreError> {
        let read = || -> Result<u64, redb::Error> {
            let tx = self.db.begin_read()?;
            Ok(tx.open_table(REGISTRATIONS)?.len()?)
        };
        read().map_err(backend("count registrations"))
    }

    /// Runs `f` in a write transaction and commits it (nothing is committed if `f` fails).
    fn write<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let mut tx = self
            .db
            .begin_write()
            .map_err(|e| StoreError::backend("begin a transaction", redb::Error::from(e)))?;
        tx.set_durability(match self.durability {
            Durability::Immediate => redb::Durability::Immediate,
            Durability::Eventual => redb::Durability::Eventual,
        });
        // On error the transaction is dropped, which aborts it.
        let value = f(&tx).map_err(backend("write"))?;
        tx.commit()
            .map_err(|e| StoreError::backend("commit", redb::Error::from(e)))?;
        Ok(value)
    }
}

impl RegistrationStore for RedbStore {
    fn load(&mut self) -> Result<LoadedRegistrations, StoreError> {
        let mut loaded = LoadedRegistrations::default();
        let mut read = || -> Result<(), redb::Error> {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(REGISTRATIONS)?;
            for item in table.iter()? {
                let (key, value) = item?;
                match decode_registration(value.value()) {
                    Ok(registration) => loaded.registrations.push(registration),
                    Err(e) => loaded.unreadable.push((key.value().to_owned(), e)),
                }
            }
            Ok(())
        };
        read().map_err(backend("load registrations"))?;
        Ok(loaded)
    }

    fn apply(&mut self, changes: &[RegistrationChange<'_>]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut table = tx.open_table(REGISTRATIONS)?;
            for change in changes {
                match change {
                    RegistrationChange::Put(r) => {
                        let bytes = encode_registration(r);
                        table.insert(r.id().as_str(), bytes.as_slice())?;
                    }
                    RegistrationChange::Remove(id) => {
                        table.remove(id.as_str())?;
                    }
                }
            }
            Ok(())
        })
    }
}

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

    fn put(&mut self, info: SecurityInfo) -> Result<Option<SecurityInfo>, StoreError> {
        let new_identity = match &info.credential {
            Credential::Psk { identity, .. } => Some(identity.clone()),
            _ => None,
        };
        let bytes = encode_credential(&info.credential);
        let outcome = self.write(|tx| {
            let mut identities = tx.open_table(PSK_IDENTITIES)?;
            if let Some(identity) = &new_identity {
                if let Some(owner) = identities.get(identity.as_str())? {
                    if owner.value() != info.endpoint {
                        return Ok(Err(owner.value().to_owned()));
                    }
                }
            }
            let mut credentials = tx.open_table(CREDENTIALS)?;
            let old = credentials
                .insert(info.endpoint.as_str(), bytes.as_slice())?
                .map(|v| v.value().to_vec());
            if let Some(old) = &old {
                if let Ok(SecurityInfo {
                    credential: Credential::Psk { identity, .. },
                    ..
                }) = decode_credential(&info.endpoint, &info.endpoint, old)
                {
                    identities.remove(identity.as_str())?;
                }
            }
            if let Some(identity) = &new_identity {
                identities.insert(identity.as_str(), info.endpoint.as_str())?;
            }
            Ok(Ok(old))
        })?;
        match outcome {
            Ok(Some(old)) => decode_credential(&info.endpoint, &info.endpoint, &old).map(Some),
            Ok(None) => Ok(None),
            Err(owner) => Err(StoreError::Conflict(format!(
                "PSK identity {:?} belongs to endpoint {owner:?}",
                new_identity.unwrap_or_default()
            ))),
        }
    }

    fn remove(&mut self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        let old = self.write(|tx| {
            let mut credentials = tx.open_table(CREDENTIALS)?;
            let old = credentials.remove(endpoint)?.map(|v| v.value().to_vec());
            if let Some(old) = &old {
                if let Ok(SecurityInfo {
                    credential: Credential::Psk { identity, .. },
                    ..
                }) = decode_credential(endpoint, endpoint, old)
                {
                    tx.open_table(PSK_IDENTITIES)?.remove(identity.as_str())?;
                }
            }
            Ok(old)
        })?;
        old.map(|bytes| decode_credential(endpoint, endpoint, &bytes))
            .transpose()
    }
}

fn observation_key(registration: RegistrationId, token: &Token) -> Vec<u8> {
    let mut key = Vec::with_capacity(RegistrationId::MAX_LEN + 9);
    key.extend_from_slice(registration.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(token.as_slice());
    key
}

/// The key range of one registration's observations: `id\0` up to `id\x01`.
fn observation_range(registration: RegistrationId) -> (Vec<u8>, Vec<u8>) {
    let mut start = registration.as_str().as_bytes().to_vec();
    let mut end = start.clone();
    start.push(0);
    end.push(1);
    (start, end)
}

/// The key of a redb observation record, as [`StoreError::Record`] names it.
fn observation_key_text(registration: RegistrationId, token: &Token) -> String {
    format!("observations/{}/{token}", registration.as_str())
}

impl ObservationStore for RedbStore {
    fn put(&mut self, observation: Observation) -> Result<Option<Observation>, StoreError> {
        let key = observation_key(observation.registration, &observation.token);
        let bytes = encode_observation(&observation);
        let old = self.write(|tx| {
            let mut table = tx.open_table(OBSERVATIONS)?;
            let old = table
                .insert(key.as_slice(), bytes.as_slice())?
                .map(|v| v.value().to_vec());
            Ok(old)
        })?;
        let name = observation_key_text(observation.registration, &observation.token);
        old.map(|b| decode_observation(&name, &b)).transpose()
    }

    fn get(
        &self,
        registration: RegistrationId,
        token: &Token,
    ) -> Result<Option<Observation>, StoreError> {
        let key = observation_key(registration, token);
        let read = || -> Result<Option<Vec<u8>>, redb::Error> {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(OBSERVATIONS)?;
            Ok(table.get(key.as_slice())?.map(|v| v.value().to_vec()))
        };
        let name = observation_key_text(registration, token);
        read()
            .map_err(backend("read an observation"))?
            .map(|b| decode_observation(&name, &b))
            .transpose()
    }

    fn remove(
        &mut self,
        registration: RegistrationId,
        token: &Token,
    ) -> Result<Option<Observation>, StoreError> {
        let key = observation_key(registration, token);
        let old = self.write(|tx| {
            let mut table = tx.open_table(OBSERVATIONS)?;
            let old = table.remove(key.as_slice())?.map(|v| v.value().to_vec());
            Ok(old)
        })?;
        let name = observation_key_text(registration, token);
        old.map(|b| decode_observation(&name, &b)).transpose()
    }

    fn remove_all(&mut self, registration: RegistrationId) -> Result<Vec<Observation>, StoreError> {
        let (start, end) = observation_range(registration);
        let removed = self.write(|tx| {
            let mut table = tx.open_table(OBSERVATIONS)?;
            let mut removed = Vec::new();
            for item in table.extract_from_if(start.as_slice()..end.as_slice(), |_, _| true)? {
                let (key, value) = item?;
                removed.push((key.value().to_vec(), value.value().to_vec()));
            }
            Ok(removed)
        })?;
        decode_observations(&removed)
    }

    fn list(&self, registration: RegistrationId) -> Result<Vec<Observation>, StoreError> {
        let (start, end) = observation_range(registration);
        let read = || -> Result<RawRecords, redb::Error> {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(OBSERVATIONS)?;
            let mut all = Vec::new();
            for item in table.range(start.as_slice()..end.as_slice())? {
                let (key, value) = item?;
                all.push((key.value().to_vec(), value.value().to_vec()));
            }
            Ok(all)
        };
        decode_observations(&read().map_err(backend("list observations"))?)
    }
}

/// (key, value) pairs as read from a table.
type RawRecords = Vec<(Vec<u8>, Vec<u8>)>;

fn decode_observations(records: &[(Vec<u8>, Vec<u8>)]) -> Result<Vec<Observation>, StoreError> {
    records
        .iter()
        .map(|(key, value)| {
            let name = format!("observations/{}", String::from_utf8_lossy(key));
            decode_observation(&name, value)
        })
        .collect()
}

impl RedbStore {
    fn bootstrap_key(endpoint: &str) -> String {
        format!("bootstrap_configs/{endpoint}")
    }
}

impl BootstrapConfigStore for RedbStore {
    fn get(&self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        let read = || -> Result<Option<Vec<u8>>, redb::Error> {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(BOOTSTRAP_CONFIGS)?;
            Ok(table.get(endpoint)?.map(|v| v.value().to_vec()))
        };
        read()
            .map_err(backend("read a bootstrap configuration"))?
            .map(|b| decode_bootstrap_config(&Self::bootstrap_key(endpoint), &b))
            .transpose()
    }

    fn put(
        &mut self,
        endpoint: &str,
        config: BootstrapConfig,
    ) -> Result<Option<BootstrapConfig>, StoreError> {
        let bytes = encode_bootstrap_config(&config);
        let old = self.write(|tx| {
            let mut table = tx.open_table(BOOTSTRAP_CONFIGS)?;
            let old = table
                .insert(endpoint, bytes.as_slice())?
                .map(|v| v.value().to_vec());
            Ok(old)
        })?;
        old.map(|b| decode_bootstrap_config(&Self::bootstrap_key(endpoint), &b))
            .transpose()
    }

    fn remove(&mut self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        let old = self.write(|tx| {
            let mut table = tx.open_table(BOOTSTRAP_CONFIGS)?;
            let old = table.remove(endpoint)?.map(|v| v.value().to_vec());
            Ok(old)
        })?;
        old.map(|b| decode_bootstrap_config(&Self::bootstrap_key(endpoint), &b))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    // Not `super::*`: RedbStore implements four store traits whose `put`/`remove` would clash.
    use super::{
        Credential, CredentialStore, Database, Durability, RedbStore, SecurityInfo, StoreError,
        META, SCHEMA_KEY,
    };

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
    fn a_foreign_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        {
            let db = Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META).unwrap().insert(SCHEMA_KEY, 99).unwrap();
            tx.commit().unwrap();
        }
        let err = RedbStore::open(&path).unwrap_err();
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }
}
