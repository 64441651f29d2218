//! [`SharedStore`]: one store behind a mutex, usable as several trait objects at once.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lwm2m_codec::coap::Token;

use super::{
    BootstrapConfig, BootstrapConfigStore, CredentialStore, LoadedRegistrations, Observation,
    ObservationStore, RegistrationChange, RegistrationStore, SecurityInfo, StoreError,
};
use crate::registration::RegistrationId;

/// A store shared by clones of this handle, so that one database (a `RedbStore` file, a
/// `RedisStore` connection) serves the registrar, the observations, the credentials and the
/// bootstrap configurations at once. Each call locks the store for its duration.
///
/// ```
/// use lwm2m_server::store::{CredentialStore, MemoryCredentialStore, SharedStore};
/// let shared = SharedStore::new(MemoryCredentialStore::default());
/// let mut one = shared.clone();
/// one.put(lwm2m_server::store::SecurityInfo {
///     endpoint: "node1".into(),
///     credential: lwm2m_server::store::Credential::X509,
/// })?;
/// assert!(shared.get_by_endpoint("node1")?.is_some());
/// # Ok::<(), lwm2m_server::store::StoreError>(())
/// ```
#[derive(Debug, Default)]
pub struct SharedStore<S> {
    inner: Arc<Mutex<S>>,
}

impl<S> Clone for SharedStore<S> {
    fn clone(&self) -> Self {
        SharedStore {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> SharedStore<S> {
    /// Wraps `store`.
    pub fn new(store: S) -> SharedStore<S> {
        SharedStore {
            inner: Arc::new(Mutex::new(store)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, S> {
        // Every store call is a whole operation: a panic inside one leaves the store usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S: RegistrationStore> RegistrationStore for SharedStore<S> {
    fn load(&mut self) -> Result<LoadedRegistrations, StoreError> {
        self.lock().load()
    }

    fn apply(&mut self, changes: &[RegistrationChange<'_>]) -> Result<(), StoreError> {
        self.lock().apply(changes)
    }
}

impl<S: ObservationStore> ObservationStore for SharedStore<S> {
    fn put(&mut self, observation: Observation) -> Result<Option<Observation>, StoreError> {
        self.lock().put(observation)
    }

    fn get(
        &self,
        registration: RegistrationId,
        token: &Token,
    ) -> Result<Option<Observation>, StoreError> {
        self.lock().get(registration, token)
    }

    fn remove(
        &mut self,
        registration: RegistrationId,
        token: &Token,
    ) -> Result<Option<Observation>, StoreError> {
        self.lock().remove(registration, token)
    }

    fn remove_all(&mut self, registration: RegistrationId) -> Result<Vec<Observation>, StoreError> {
        self.lock().remove_all(registration)
    }

    fn list(&self, registration: RegistrationId) -> Result<Vec<Observation>, StoreError> {
        self.lock().list(registration)
    }
}

impl<S: CredentialStore> CredentialStore for SharedStore<S> {
    fn get_by_endpoint(&self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        self.lock().get_by_endpoint(endpoint)
    }

    fn get_by_psk_identity(&self, identity: &str) -> Result<Option<SecurityInfo>, StoreError> {
        self.lock().get_by_psk_identity(identity)
    }

    fn get_by_raw_public_key(&self, spki: &[u8]) -> Result<Option<SecurityInfo>, StoreError> {
        self.lock().get_by_raw_public_key(spki)
    }

    fn put(&mut self, info: SecurityInfo) -> Result<Option<SecurityInfo>, StoreError> {
        self.lock().put(info)
    }

    fn remove(&mut self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        self.lock().remove(endpoint)
    }

    fn has_credentials(&self) -> Result<bool, StoreError> {
        self.lock().has_credentials()
    }
}

impl<S: BootstrapConfigStore> BootstrapConfigStore for SharedStore<S> {
    fn get(&self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        self.lock().get(endpoint)
    }

    fn put(
        &mut self,
        endpoint: &str,
        config: BootstrapConfig,
    ) -> Result<Option<BootstrapConfig>, StoreError> {
        self.lock().put(endpoint, config)
    }

    fn remove(&mut self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        self.lock().remove(endpoint)
    }
}
