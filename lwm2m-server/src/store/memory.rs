//! Registration stores that keep nothing on disk: [`NoStore`] and [`MemoryRegistrationStore`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{
    decode_registration, encode_registration, LoadedRegistrations, RegistrationChange,
    RegistrationStore, StoreError,
};

/// Stores nothing: registrations live only in the registrar's memory and a restart loses them.
/// The registrar's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoStore;

impl RegistrationStore for NoStore {
    fn load(&mut self) -> Result<LoadedRegistrations, StoreError> {
        Ok(LoadedRegistrations::default())
    }

    fn apply(&mut self, _: &[RegistrationChange<'_>]) -> Result<(), StoreError> {
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Shared {
    records: BTreeMap<String, Vec<u8>>,
    fail_writes: bool,
}

/// Keeps encoded registration records in memory, shared by every clone of the handle: a
/// registrar built again on a clone sees what the previous one stored, as after a restart of a
/// process whose store survived. For tests and single-process setups that need no durability.
///
/// ```
/// use lwm2m_server::store::{MemoryRegistrationStore, RegistrationStore};
/// let store = MemoryRegistrationStore::new();
/// let mut handle = store.clone();
/// assert!(handle.load()?.registrations.is_empty());
/// assert_eq!(store.len(), 0);
/// # Ok::<(), lwm2m_server::store::StoreError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryRegistrationStore {
    shared: Arc<Mutex<Shared>>,
}

impl MemoryRegistrationStore {
    /// An empty store.
    pub fn new() -> MemoryRegistrationStore {
        MemoryRegistrationStore::default()
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.lock().map_or(0, |s| s.records.len())
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw record stored under a registration id, if any.
    pub fn record(&self, id: &str) -> Option<Vec<u8>> {
        self.lock().ok()?.records.get(id).cloned()
    }

    /// Stores raw bytes under a key (to test how readers treat damaged records).
    pub fn insert_raw(&self, key: &str, bytes: Vec<u8>) {
        if let Ok(mut shared) = self.lock() {
            shared.records.insert(key.to_owned(), bytes);
        }
    }

    /// Makes every later [`apply`](RegistrationStore::apply) fail (`true`) or succeed again, to
    /// test how callers handle a failing store.
    pub fn fail_writes(&self, fail: bool) {
        if let Ok(mut shared) = self.lock() {
            shared.fail_writes = fail;
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Shared>, StoreError> {
        self.shared.lock().map_err(|_| StoreError::Poisoned)
    }
}

/// The error of a store told to fail.
#[derive(Debug, thiserror::Error)]
#[error("writes are disabled on this in-memory store")]
struct WritesDisabled;

impl RegistrationStore for MemoryRegistrationStore {
    fn load(&mut self) -> Result<LoadedRegistrations, StoreError> {
        let shared = self.lock()?;
        let mut loaded = LoadedRegistrations::default();
        for (key, bytes) in &shared.records {
            match decode_registration(bytes) {
                Ok(registration) => loaded.registrations.push(registration),
                Err(e) => loaded.unreadable.push((key.clone(), e)),
            }
        }
        Ok(loaded)
    }

    fn apply(&mut self, changes: &[RegistrationChange<'_>]) -> Result<(), StoreError> {
        let mut shared = self.lock()?;
        if shared.fail_writes {
            return Err(StoreError::backend("apply changes", WritesDisabled));
        }
        for change in changes {
            match change {
                RegistrationChange::Put(r) => {
                    shared
                        .records
                        .insert(r.id().as_str().to_owned(), encode_registration(r));
                }
                RegistrationChange::Remove(id) => {
                    shared.records.remove(id.as_str());
                }
            }
        }
        Ok(())
    }
}
