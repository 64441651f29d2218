//! [`RedbStore`]: the durable embedded store, one redb database file.
//!
//! redb is a pure-Rust, ACID, copy-on-write B-tree store in a single file: no C library, no
//! server process, crash-safe commits (a commit is durable when it returns, with
//! [`Durability::Immediate`]), and a stable file format. Registrations are stored under their id
//! in the compact record format of [`encode_registration`]; credentials under their endpoint
//! name, with index tables from PSK identity and from raw public key (`SubjectPublicKeyInfo`
//! DER) to endpoint; observations under registration id
//! and token; bootstrap configurations under their endpoint name (the records of
//! [`super::encode_observation`] and friends).
//!
//! ## Registration writes: a log, folded into the table
//!
//! A busy server changes registrations at random ids; written straight into the B-tree, every
//! change of a batch dirties its own 4 KiB leaf page, and the flush of those pages is what
//! limits a durable server. So [`RegistrationStore::apply`] appends each batch of changes as one
//! entry of a log table (sequential: a few pages per commit, whatever the number of clients),
//! and the log is folded into the registrations table, in order, in one transaction, once it
//! holds as many changes as the table has registrations (at least 65 536), and whenever the
//! store is opened. Every change is durable when `apply` returns; reads see the table after the
//! fold.

// redb's error is 160 bytes; it only ever travels from a failed operation straight into a
// boxed `StoreError`, so its size costs nothing on the success path.
#![allow(clippy::result_large_err)]

mod credentials;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use lwm2m_codec::coap::Token;
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};

use super::records::{
    decode_bootstrap_config, decode_observation, encode_bootstrap_config, encode_observation,
};
use super::{
    decode_registration, encode_registration, BootstrapConfig, BootstrapConfigStore,
    LoadedRegistrations, Observation, ObservationStore, RecordError, RegistrationChange,
    RegistrationStore, StoreError,
};
use crate::registration::RegistrationId;

const META: TableDefinition<'static, &str, u32> = TableDefinition::new("meta");
const REGISTRATIONS: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("registrations");
const CREDENTIALS: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("credentials");
const PSK_IDENTITIES: TableDefinition<'static, &str, &str> = TableDefinition::new("psk_identities");
/// Raw public key (`SubjectPublicKeyInfo` DER) → the endpoint whose RPK credential it is.
const RAW_PUBLIC_KEYS: TableDefinition<'static, &[u8], &str> =
    TableDefinition::new("raw_public_keys");
/// Key: registration id, a NUL byte, the token; so one registration's observations are one
/// contiguous range.
const OBSERVATIONS: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("observations");
const BOOTSTRAP_CONFIGS: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("bootstrap_configs");
/// Registration changes not yet folded into [`REGISTRATIONS`], by sequence number: each value is
/// the changes of one `apply` (see [`LogEntry`]).
const REGISTRATION_LOG: TableDefinition<'static, u64, &[u8]> =
    TableDefinition::new("registration_log");

/// The log is folded once it holds this many changes, or as many as the table has registrations
/// if that is more (so folding costs at most a rewrite of the table per table's worth of changes).
const FOLD_AFTER: u64 = 65_536;

/// The layout of the tables above; a file with another layout is refused. (Tables added
/// since version 1 are created on open, so a version 1 file stays readable; version 2 added the
/// registration log, which a version 1 build would ignore, so such a build refuses the file;
/// version 3 added the raw-public-key index, which a version 2 build would not keep up to date,
/// so it refuses the file too, and which opening an older file builds from its credentials.)
const SCHEMA_VERSION: u32 = 3;
/// The first version with [`RAW_PUBLIC_KEYS`].
const RAW_PUBLIC_KEYS_SINCE: u32 = 3;
const OLDEST_READABLE_SCHEMA: u32 = 1;
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
    /// The log's next sequence number and how many changes it holds.
    log_next: u64,
    log_changes: u64,
    /// Registrations in the table at the last fold.
    folded_len: u64,
    /// The fold threshold's floor ([`FOLD_AFTER`]; lowered by tests).
    fold_after: u64,
    /// Log entries that could not be read when the store was opened.
    damaged: Vec<String>,
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
        let mut store = RedbStore {
            db,
            durability: Durability::Immediate,
            log_next: 0,
            log_changes: 0,
            folded_len: 0,
            fold_after: FOLD_AFTER,
            damaged: Vec::new(),
        };
        let found = store.schema_version()?;
        match found {
            None => {}
            Some(v) if (OLDEST_READABLE_SCHEMA..=SCHEMA_VERSION).contains(&v) => {}
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
            tx.open_table(RAW_PUBLIC_KEYS)?;
            if found.is_some_and(|v| v < RAW_PUBLIC_KEYS_SINCE) {
                credentials::index_raw_public_keys(tx)?;
            }
            tx.open_table(OBSERVATIONS)?;
            tx.open_table(BOOTSTRAP_CONFIGS)?;
            tx.open_table(REGISTRATION_LOG)?;
            tx.open_table(META)?.insert(SCHEMA_KEY, SCHEMA_VERSION)?;
            Ok(())
        })?;
        // A log left by the last run (a crash, or no fold before it stopped) is folded now;
        // damaged entries are reported by the first `load`.
        store.damaged = store.fold(&[])?;
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

    /// How many registrations are stored (the table's, as the log's changes leave it).
    pub fn registration_count(&self) -> Result<u64, StoreError> {
        let read = || -> Result<u64, redb::Error> {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(REGISTRATIONS)?;
            let mut present: HashMap<String, (bool, bool)> = HashMap::new();
            for item in tx.open_table(REGISTRATION_LOG)?.iter()? {
                let (_, entry) = item?;
                for op in LogEntry::read(entry.value()) {
                    let (id, now) = match op {
                        LogOp::Put(id, _) => (id, true),
                        LogOp::Remove(id) => (id, false),
                    };
                    if let Some(state) = present.get_mut(id) {
                        state.1 = now;
                    } else {
                        let before = table.get(id)?.is_some();
                        present.insert(id.to_owned(), (before, now));
                    }
                }
            }
            let added = present.values().filter(|(b, n)| !b && *n).count() as u64;
            let removed = present.values().filter(|(b, n)| *b && !n).count() as u64;
            Ok(table.len()? + added - removed)
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

impl RedbStore {
    /// Folds the log and then `changes` into the registrations table, in one transaction, and
    /// empties the log. Returns the keys of log entries that could not be read (dropped).
    fn fold(&mut self, changes: &[RegistrationChange<'_>]) -> Result<Vec<String>, StoreError> {
        let (damaged, len) = self.write(|tx| {
            let mut damaged = Vec::new();
            {
                let mut table = tx.open_table(REGISTRATIONS)?;
                let log = tx.open_table(REGISTRATION_LOG)?;
                let mut entries = Vec::new();
                for item in log.iter()? {
                    entries.push(item?);
                }
                // Only the last change of each id counts; applied in key order, each leaf
                // page of the table is visited once.
                let mut last: BTreeMap<&str, Option<&[u8]>> = BTreeMap::new();
                for (seq, entry) in &entries {
                    let mut ops = LogEntry::read(entry.value());
                    // An entry damaged half-way still has its good part, which is what the
                    // commit that wrote it had.
                    for op in ops.by_ref() {
                        match op {
                            LogOp::Put(id, record) => last.insert(id, Some(record)),
                            LogOp::Remove(id) => last.insert(id, None),
                        };
                    }
                    if ops.damaged {
                        damaged.push(format!("registration_log/{}", seq.value()));
                    }
                }
                for (id, record) in last {
                    match record {
                        Some(record) => {
                            table.insert(id, record)?;
                        }
                        None => {
                            table.remove(id)?;
                        }
                    }
                }
                drop(entries);
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
            }
            tx.delete_table(REGISTRATION_LOG)?;
            tx.open_table(REGISTRATION_LOG)?;
            let len = tx.open_table(REGISTRATIONS)?.len()?;
            Ok((damaged, len))
        })?;
        self.log_next = 0;
        self.log_changes = 0;
        self.folded_len = len;
        Ok(damaged)
    }
}

impl RegistrationStore for RedbStore {
    fn load(&mut self) -> Result<LoadedRegistrations, StoreError> {
        let mut loaded = LoadedRegistrations::default();
        let mut damaged = core::mem::take(&mut self.damaged);
        if self.log_changes > 0 {
            damaged.extend(self.fold(&[])?);
        }
        for key in damaged {
            loaded
                .unreadable
                .push((key, RecordError::InvalidField { field: "log entry" }));
        }
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
        let count = changes.len() as u64;
        if self.log_changes + count >= self.fold_after.max(self.folded_len) {
            for key in self.fold(changes)? {
                tracing::warn!(key, "a damaged registration log entry was dropped");
            }
            return Ok(());
        }
        let entry = LogEntry::write(changes);
        let seq = self.log_next;
        self.write(|tx| {
            tx.open_table(REGISTRATION_LOG)?
                .insert(seq, entry.as_slice())?;
            Ok(())
        })?;
        self.log_next += 1;
        self.log_changes += count;
        Ok(())
    }
}

/// One log entry: the changes of one `apply`, each a tag byte (`P`ut or `R`emove), the id's
/// length (one byte) and bytes, and for a put the record's length (u32, little-endian) and bytes.
struct LogEntry;

const LOG_PUT: u8 = b'P';
const LOG_REMOVE: u8 = b'R';

impl LogEntry {
    fn write(changes: &[RegistrationChange<'_>]) -> Vec<u8> {
        let mut out = Vec::with_capacity(changes.len() * 128);
        for change in changes {
            match change {
                RegistrationChange::Put(r) => {
                    let record = encode_registration(r);
                    out.push(LOG_PUT);
                    push_id(&mut out, r.id());
                    // A record is a few hundred bytes; `max_object_links` keeps it far below 4 GiB.
                    out.extend_from_slice(
                        &u32::try_from(record.len())
                            .unwrap_or(u32::MAX)
                            .to_le_bytes(),
                    );
                    out.extend_from_slice(&record);
                }
                RegistrationChange::Remove(id) => {
                    out.push(LOG_REMOVE);
                    push_id(&mut out, *id);
                }
            }
        }
        out
    }

    fn read(bytes: &[u8]) -> LogOps<'_> {
        LogOps {
            rest: bytes,
            damaged: false,
        }
    }
}

fn push_id(out: &mut Vec<u8>, id: RegistrationId) {
    let id = id.as_str().as_bytes();
    // Ids are at most `RegistrationId::MAX_LEN` (12) bytes.
    out.push(id.len() as u8);
    out.extend_from_slice(id);
}

/// One change read back from a log entry.
enum LogOp<'a> {
    Put(&'a str, &'a [u8]),
    Remove(&'a str),
}

/// The changes of a log entry, in order; stops (setting `damaged`) at bytes that do not parse.
struct LogOps<'a> {
    rest: &'a [u8],
    damaged: bool,
}

impl<'a> LogOps<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn op(&mut self) -> Option<LogOp<'a>> {
        let tag = *self.take(1)?.first()?;
        let id_len = usize::from(*self.take(1)?.first()?);
        let id = std::str::from_utf8(self.take(id_len)?).ok()?;
        match tag {
            LOG_PUT => {
                let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
                let record = self.take(usize::try_from(len).ok()?)?;
                Some(LogOp::Put(id, record))
            }
            LOG_REMOVE => Some(LogOp::Remove(id)),
            _ => None,
        }
    }
}

impl<'a> Iterator for LogOps<'a> {
    type Item = LogOp<'a>;

    fn next(&mut self) -> Option<LogOp<'a>> {
        if self.rest.is_empty() || self.damaged {
            return None;
        }
        let op = self.op();
        if op.is_none() {
            self.damaged = true;
        }
        op
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
    use super::{Database, Durability, RedbStore, META, REGISTRATION_LOG, SCHEMA_KEY};
    use crate::registration::{CompactObjectLinks, Registration};
    use crate::store::{RegistrationChange, RegistrationStore};
    use crate::Timestamp;
    use lwm2m_model::RegisterParams;

    fn registration(id: &str, endpoint: &str, lifetime: u32) -> Registration {
        let mut params = RegisterParams::new(endpoint).unwrap();
        params.lifetime = lifetime;
        Registration::new(
            id.parse().unwrap(),
            params,
            CompactObjectLinks::parse(b"</3/0>", 8).unwrap(),
            "10.0.0.1:5683".parse().unwrap(),
            Timestamp::from_unix_secs(1_000),
        )
    }

    fn stored(store: &mut RedbStore) -> Vec<(String, u32)> {
        let mut all: Vec<(String, u32)> = store
            .load()
            .unwrap()
            .registrations
            .iter()
            .map(|r| (r.endpoint().to_owned(), r.lifetime()))
            .collect();
        all.sort();
        all
    }

    fn log_len(store: &RedbStore) -> u64 {
        use redb::ReadableTableMetadata;
        let tx = store.db.begin_read().unwrap();
        tx.open_table(REGISTRATION_LOG).unwrap().len().unwrap()
    }

    #[test]
    fn the_log_is_replayed_in_order_counted_and_folded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.redb");
        let (a, b, c) = (
            registration("aaaa", "a", 10),
            registration("bbbb", "b", 20),
            registration("cccc", "c", 30),
        );
        {
            let mut store = RedbStore::open(&path).unwrap();
            store.set_durability(Durability::Eventual);
            store.fold_after = 6;
            store
                .apply(&[RegistrationChange::Put(&a), RegistrationChange::Put(&b)])
                .unwrap();
            let a2 = registration("aaaa", "a", 11);
            store
                .apply(&[
                    RegistrationChange::Put(&a2),
                    RegistrationChange::Remove(b.id()),
                ])
                .unwrap();
            assert_eq!(log_len(&store), 2, "two batches, two log entries");
            assert_eq!(store.registration_count().unwrap(), 1);
            // The sixth change reaches the threshold: everything is folded into the table.
            store
                .apply(&[RegistrationChange::Put(&c), RegistrationChange::Put(&b)])
                .unwrap();
            assert_eq!(log_len(&store), 0);
            assert_eq!(store.registration_count().unwrap(), 3);
            store.apply(&[RegistrationChange::Remove(c.id())]).unwrap();
            assert_eq!(log_len(&store), 1);
            assert_eq!(store.registration_count().unwrap(), 2);
        } // closed with one entry in the log
        let mut store = RedbStore::open(&path).unwrap();
        assert_eq!(log_len(&store), 0, "folded at open");
        assert_eq!(
            stored(&mut store),
            [("a".to_owned(), 11), ("b".to_owned(), 20)]
        );
    }

    #[test]
    fn a_damaged_log_entry_keeps_its_readable_part_and_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("damaged.redb");
        {
            let mut store = RedbStore::open(&path).unwrap();
            store
                .apply(&[RegistrationChange::Put(&registration("aaaa", "a", 10))])
                .unwrap();
        }
        {
            // A valid removal of "aaaa" followed by garbage, as entry 7.
            let db = Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            let mut entry = vec![b'R', 4];
            entry.extend_from_slice(b"aaaa");
            entry.extend_from_slice(&[b'P', 200, 1, 2]);
            tx.open_table(REGISTRATION_LOG)
                .unwrap()
                .insert(7, entry.as_slice())
                .unwrap();
            tx.commit().unwrap();
        }
        let mut store = RedbStore::open(&path).unwrap();
        let loaded = store.load().unwrap();
        assert!(
            loaded.registrations.is_empty(),
            "the readable removal applied"
        );
        assert_eq!(loaded.unreadable.len(), 1);
        assert_eq!(loaded.unreadable[0].0, "registration_log/7");
        assert_eq!(store.registration_count().unwrap(), 0);
    }

    #[test]
    fn a_version_1_file_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.redb");
        {
            let db = Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META).unwrap().insert(SCHEMA_KEY, 1).unwrap();
            tx.commit().unwrap();
        }
        let mut store = RedbStore::open(&path).unwrap();
        assert!(stored(&mut store).is_empty());
        drop(store);
        let db = Database::create(&path).unwrap();
        let tx = db.begin_read().unwrap();
        let version = tx
            .open_table(META)
            .unwrap()
            .get(SCHEMA_KEY)
            .unwrap()
            .unwrap()
            .value();
        assert_eq!(version, super::SCHEMA_VERSION);
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
