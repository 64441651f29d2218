//! [`RedisStore`]: state shared by several server nodes through one Redis (feature `redis`).
//!
//! Every value is a record of this crate's versioned compact format, under these keys (`P` is
//! the key prefix, [`DEFAULT_KEY_PREFIX`] unless [`RedisStore::with_prefix`] sets another, so
//! several deployments can share one Redis):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:reg:{id}` | string | a registration ([`super::encode_registration`]) |
//! | `P:reg-ep:{endpoint}` | string | the id of the endpoint's registration |
//! | `P:obs:{id}` | hash | token bytes → observation ([`super::encode_observation`]) |
//! | `P:cred:{endpoint}` | string | a credential ([`super::encode_credential`]) |
//! | `P:psk:{identity}` | string | the endpoint whose PSK identity it is |
//! | `P:rpk:{hex}` | string | the endpoint whose raw public key (`SubjectPublicKeyInfo` DER, in lower-case hex) it is |
//! | `P:rpk-indexed` | string | present once the credentials stored before the `rpk` index existed are indexed |
//! | `P:bs:{endpoint}` | string | a bootstrap configuration ([`super::encode_bootstrap_config`]) |
//!
//! Changes that touch several keys run in MULTI/EXEC; where they depend on what is stored (which
//! endpoint a removed registration had, who owns a PSK identity or raw public key) the keys read
//! are watched first and the transaction is retried if another node changed them in between.
//!
//! A Redis written by a build without the `rpk` index is indexed by the first store that looks
//! up or stores a raw public key (a SCAN of the credentials, once: `P:rpk-indexed` records it).
//! An index entry whose endpoint no longer holds the key (left by such a build) admits nobody
//! and does not block another endpoint from taking the key.

mod credentials;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use lwm2m_codec::coap::Token;
use redis::{Connection, RedisError};

use super::records::{
    decode_bootstrap_config, decode_observation, encode_bootstrap_config, encode_observation,
};
use super::{
    decode_registration, encode_registration, BootstrapConfig, BootstrapConfigStore,
    LoadedRegistrations, Observation, ObservationStore, RegistrationChange, RegistrationStore,
    StoreError,
};
use crate::registration::RegistrationId;

/// The key prefix of [`RedisStore::open`].
pub const DEFAULT_KEY_PREFIX: &str = "lwm2m";

/// How long connecting, and each command, may take before the store reports a backend error
/// (instead of holding the registrar forever on a Redis that stopped answering).
const TIMEOUT: Duration = Duration::from_secs(5);

/// How often a watched transaction is retried when other nodes keep changing its keys.
const MAX_ATTEMPTS: usize = 32;

/// How many keys one SCAN step asks for, and one MGET reads.
const SCAN_BATCH: usize = 512;

/// Every attempt of a watched transaction was spoiled by concurrent changes.
#[derive(Debug, thiserror::Error)]
#[error("the keys kept changing under {MAX_ATTEMPTS} attempts")]
struct Contended;

/// A store on one Redis connection, implementing every store trait; several nodes (each with
/// its own `RedisStore`) share the state.
///
/// ```no_run
/// use lwm2m_server::store::{RedisStore, RegistrationStore};
/// let mut store = RedisStore::open("redis://127.0.0.1:6379/")?.with_prefix("site-a");
/// let loaded = store.load()?;
/// println!("{} registrations", loaded.registrations.len());
/// # Ok::<(), lwm2m_server::store::StoreError>(())
/// ```
pub struct RedisStore {
    client: redis::Client,
    // The traits' readers take `&self`; a connection needs `&mut`.
    connection: Mutex<Connection>,
    prefix: String,
    /// Whether this store saw `P:rpk-indexed` (or wrote it).
    raw_public_keys_indexed: AtomicBool,
}

impl core::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn backend(operation: &'static str) -> impl FnOnce(RedisError) -> StoreError {
    move |e| StoreError::backend(operation, e)
}

/// Escapes the glob characters of SCAN's MATCH pattern.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn connect(client: &redis::Client) -> Result<Connection, StoreError> {
    let connection = client
        .get_connection_with_timeout(TIMEOUT)
        .map_err(backend("connect"))?;
    connection
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| connection.set_write_timeout(Some(TIMEOUT)))
        .map_err(backend("set the connection timeouts"))?;
    Ok(connection)
}

/// Ends a WATCH that will not reach EXEC. Best effort: if it fails the connection is broken
/// anyway and the next command reports that.
fn unwatch(connection: &mut Connection) {
    let _ = redis::cmd("UNWATCH").exec(connection);
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://host:port/db`, `redis+unix:///path`) with the
    /// key prefix [`DEFAULT_KEY_PREFIX`].
    pub fn open(url: &str) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url).map_err(backend("parse the Redis URL"))?;
        let connection = connect(&client)?;
        Ok(RedisStore {
            client,
            connection: Mutex::new(connection),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            raw_public_keys_indexed: AtomicBool::new(false),
        })
    }

    /// Sets the key prefix (keys are `{prefix}:reg:{id}` and so on).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> RedisStore {
        self.prefix = prefix.into();
        self.raw_public_keys_indexed = AtomicBool::new(false);
        self
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Another store on a new connection to the same Redis, with the same prefix (e.g. one for
    /// the registrar and one for the observations).
    pub fn try_clone(&self) -> Result<RedisStore, StoreError> {
        Ok(RedisStore {
            client: self.client.clone(),
            connection: Mutex::new(connect(&self.client)?),
            prefix: self.prefix.clone(),
            raw_public_keys_indexed: AtomicBool::new(
                self.raw_public_keys_indexed.load(Ordering::Relaxed),
            ),
        })
    }

    /// The id of the endpoint's stored registration (the `reg-ep` index).
    pub fn registration_id(&self, endpoint: &str) -> Result<Option<RegistrationId>, StoreError> {
        let key = self.endpoint_key(endpoint);
        let id: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query(&mut *self.lock()?)
            .map_err(backend("read the endpoint index"))?;
        id.map(|id| {
            RegistrationId::parse(&id).map_err(|_| StoreError::Record {
                key,
                source: super::RecordError::InvalidField { field: "id" },
            })
        })
        .transpose()
    }

    /// The key of a registration record.
    pub fn registration_key(&self, id: RegistrationId) -> String {
        format!("{}:reg:{}", self.prefix, id.as_str())
    }

    /// The key of the endpoint index entry.
    pub fn endpoint_key(&self, endpoint: &str) -> String {
        format!("{}:reg-ep:{endpoint}", self.prefix)
    }

    /// The key of a registration's observation hash.
    pub fn observations_key(&self, registration: RegistrationId) -> String {
        format!("{}:obs:{}", self.prefix, registration.as_str())
    }

    /// The key of an endpoint's credential.
    pub fn credential_key(&self, endpoint: &str) -> String {
        format!("{}:cred:{endpoint}", self.prefix)
    }

    /// The key of a PSK identity's owner.
    pub fn psk_identity_key(&self, identity: &str) -> String {
        format!("{}:psk:{identity}", self.prefix)
    }

    /// The key of a raw public key's owner (`spki` is the `SubjectPublicKeyInfo` DER; the key
    /// holds it in lower-case hex).
    pub fn raw_public_key_key(&self, spki: &[u8]) -> String {
        format!("{}:rpk:{}", self.prefix, hex::encode(spki))
    }

    /// The key whose presence says the raw public keys of every stored credential are indexed.
    pub fn raw_public_keys_indexed_key(&self) -> String {
        format!("{}:rpk-indexed", self.prefix)
    }

    /// The key of an endpoint's bootstrap configuration.
    pub fn bootstrap_config_key(&self, endpoint: &str) -> String {
        format!("{}:bs:{endpoint}", self.prefix)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.connection.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Every key of `pattern`, by SCAN (never KEYS, which blocks Redis for the whole key space).
    fn scan(connection: &mut Connection, pattern: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut keys = Vec::new();
        let mut seen = HashSet::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .cursor_arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(SCAN_BATCH)
                .query(connection)
                .map_err(backend("scan registrations"))?;
            // SCAN may return a key more than once.
            keys.extend(batch.into_iter().filter(|k| seen.insert(k.clone())));
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    /// Runs one attempt of `apply`: WATCH and read what the index update depends on, then
    /// MULTI/EXEC. `None` when a watched key changed.
    fn try_apply(
        &self,
        connection: &mut Connection,
        changes: &[RegistrationChange<'_>],
    ) -> Result<Option<()>, StoreError> {
        let removed: Vec<RegistrationId> = changes
            .iter()
            .filter_map(|c| match c {
                RegistrationChange::Remove(id) => Some(*id),
                RegistrationChange::Put(_) => None,
            })
            .collect();
        // endpoint → the id its index entry names, as it will be after each change in order.
        let mut index: HashMap<String, Option<String>> = HashMap::new();
        let mut endpoint_of: HashMap<RegistrationId, String> = HashMap::new();
        if !removed.is_empty() {
            let keys: Vec<String> = removed
                .iter()
                .map(|id| self.registration_key(*id))
                .collect();
            redis::cmd("WATCH")
                .arg(&keys)
                .exec(connection)
                .map_err(backend("watch registrations"))?;
            let records: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(&keys)
                .query(connection)
                .map_err(backend("read registrations"))?;
            for (id, record) in removed.iter().zip(records) {
                // An unreadable record has no endpoint to unindex; it is deleted all the same.
                if let Some(reg) = record.and_then(|r| decode_registration(&r).ok()) {
                    endpoint_of.insert(*id, reg.endpoint().to_owned());
                }
            }
            let endpoints: Vec<&String> = endpoint_of.values().collect();
            if !endpoints.is_empty() {
                let index_keys: Vec<String> =
                    endpoints.iter().map(|e| self.endpoint_key(e)).collect();
                redis::cmd("WATCH")
                    .arg(&index_keys)
                    .exec(connection)
                    .map_err(backend("watch the endpoint index"))?;
                let ids: Vec<Option<String>> = redis::cmd("MGET")
                    .arg(&index_keys)
                    .query(connection)
                    .map_err(backend("read the endpoint index"))?;
                for (endpoint, id) in endpoints.into_iter().zip(ids) {
                    index.insert(endpoint.clone(), id);
                }
            }
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for change in changes {
            match change {
                RegistrationChange::Put(r) => {
                    let id = r.id();
                    pipe.set(self.registration_key(id), encode_registration(r))
                        .ignore()
                        .set(self.endpoint_key(r.endpoint()), id.as_str())
                        .ignore();
                    index.insert(r.endpoint().to_owned(), Some(id.as_str().to_owned()));
                }
                RegistrationChange::Remove(id) => {
                    pipe.del(self.registration_key(*id)).ignore();
                    if let Some(endpoint) = endpoint_of.get(id) {
                        let entry = index.entry(endpoint.clone()).or_default();
                        // Another registration of the endpoint keeps its index entry.
                        if entry.as_deref() == Some(id.as_str()) {
                            pipe.del(self.endpoint_key(endpoint)).ignore();
                            *entry = None;
                        }
                    }
                }
            }
        }
        let result: Option<()> = pipe
            .query(connection)
            .map_err(backend("apply registration changes"))?;
        Ok(result)
    }

    /// Runs `attempt` until it is not spoiled by a concurrent change (`None`), at most
    /// [`MAX_ATTEMPTS`] times; a failed attempt ends any WATCH it left.
    fn retry<T>(
        &self,
        operation: &'static str,
        mut attempt: impl FnMut(&mut Connection) -> Result<Option<T>, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.lock()?;
        for _ in 0..MAX_ATTEMPTS {
            match attempt(&mut connection) {
                Ok(Some(value)) => return Ok(value),
                Ok(None) => {}
                Err(e) => {
                    unwatch(&mut connection);
                    return Err(e);
                }
            }
        }
        Err(StoreError::backend(operation, Contended))
    }
}

impl RegistrationStore for RedisStore {
    fn load(&mut self) -> Result<LoadedRegistrations, StoreError> {
        let pattern = format!("{}:reg:*", glob_escape(&self.prefix));
        let connection = &mut *self.lock()?;
        let keys = Self::scan(connection, &pattern)?;
        let mut loaded = LoadedRegistrations::default();
        for batch in keys.chunks(SCAN_BATCH) {
            let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(batch)
                .query(connection)
                .map_err(backend("read registrations"))?;
            for (key, value) in batch.iter().zip(values) {
                // Gone since the scan (another node removed it), or not a string.
                let Some(value) = value else { continue };
                match decode_registration(&value) {
                    Ok(registration) => loaded.registrations.push(registration),
                    Err(e) => loaded
                        .unreadable
                        .push((String::from_utf8_lossy(key).into_owned(), e)),
                }
            }
        }
        Ok(loaded)
    }

    fn apply(&mut self, changes: &[RegistrationChange<'_>]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.retry("apply registration changes", |connection| {
            self.try_apply(connection, changes)
        })
    }
}

impl ObservationStore for RedisStore {
    fn put(&mut self, observation: Observation) -> Result<Option<Observation>, StoreError> {
        let key = self.observations_key(observation.registration);
        let token = observation.token.as_slice().to_vec();
        let (old, _): (Option<Vec<u8>>, i64) = redis::pipe()
            .atomic()
            .hget(&key, &token)
            .hset(&key, &token, encode_observation(&observation))
            .query(&mut *self.lock()?)
            .map_err(backend("store an observation"))?;
        old.map(|b| decode_observation(&key, &b)).transpose()
    }

    fn get(
        &self,
        registration: RegistrationId,
        token: &Token,
    ) -> Result<Option<Observation>, StoreError> {
        let key = self.observations_key(registration);
        let value: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(&key)
            .arg(token.as_slice())
            .query(&mut *self.lock()?)
            .map_err(backend("read an observation"))?;
        value.map(|b| decode_observation(&key, &b)).transpose()
    }

    fn remove(
        &mut self,
        registration: RegistrationId,
        token: &Token,
    ) -> Result<Option<Observation>, StoreError> {
        let key = self.observations_key(registration);
        let (old, _): (Option<Vec<u8>>, i64) = redis::pipe()
            .atomic()
            .hget(&key, token.as_slice())
            .hdel(&key, token.as_slice())
            .query(&mut *self.lock()?)
            .map_err(backend("remove an observation"))?;
        old.map(|b| decode_observation(&key, &b)).transpose()
    }

    fn remove_all(&mut self, registration: RegistrationId) -> Result<Vec<Observation>, StoreError> {
        let key = self.observations_key(registration);
        let (values, _): (Vec<Vec<u8>>, i64) = redis::pipe()
            .atomic()
            .hvals(&key)
            .del(&key)
            .query(&mut *self.lock()?)
            .map_err(backend("remove observations"))?;
        values.iter().map(|b| decode_observation(&key, b)).collect()
    }

    fn list(&self, registration: RegistrationId) -> Result<Vec<Observation>, StoreError> {
        let key = self.observations_key(registration);
        let values: Vec<Vec<u8>> = redis::cmd("HVALS")
            .arg(&key)
            .query(&mut *self.lock()?)
            .map_err(backend("list observations"))?;
        values.iter().map(|b| decode_observation(&key, b)).collect()
    }
}

impl BootstrapConfigStore for RedisStore {
    fn get(&self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        let key = self.bootstrap_config_key(endpoint);
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query(&mut *self.lock()?)
            .map_err(backend("read a bootstrap configuration"))?;
        value.map(|b| decode_bootstrap_config(&key, &b)).transpose()
    }

    fn put(
        &mut self,
        endpoint: &str,
        config: BootstrapConfig,
    ) -> Result<Option<BootstrapConfig>, StoreError> {
        let key = self.bootstrap_config_key(endpoint);
        let old: Option<Vec<u8>> = redis::cmd("SET")
            .arg(&key)
            .arg(encode_bootstrap_config(&config))
            .arg("GET")
            .query(&mut *self.lock()?)
            .map_err(backend("store a bootstrap configuration"))?;
        old.map(|b| decode_bootstrap_config(&key, &b)).transpose()
    }

    fn remove(&mut self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        let key = self.bootstrap_config_key(endpoint);
        let old: Option<Vec<u8>> = redis::cmd("GETDEL")
            .arg(&key)
            .query(&mut *self.lock()?)
            .map_err(backend("remove a bootstrap configuration"))?;
        old.map(|b| decode_bootstrap_config(&key, &b)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_of_the_prefix_are_escaped() {
        assert_eq!(glob_escape("site-a"), "site-a");
        assert_eq!(glob_escape(r"a*b?[c]\"), r"a\*b\?\[c\]\\");
    }

    #[test]
    fn a_bad_url_is_a_backend_error() {
        let err = RedisStore::open("not a url").unwrap_err();
        assert!(err.to_string().contains("parse the Redis URL"), "{err}");
    }
}
