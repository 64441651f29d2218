//! Where the server's state lives: store traits, in-memory implementations, and the durable
//! embedded default on redb.
//!
//! | trait | what | implementations |
//! |---|---|---|
//! | [`RegistrationStore`] | registrations, written through on every change and loaded at start | [`NoStore`], [`MemoryRegistrationStore`], `RedbStore` (feature `redb`), `RedisStore` (feature `redis`) |
//! | [`ObservationStore`] | observations by registration and token | [`MemoryObservationStore`], `RedbStore`, `RedisStore` |
//! | [`CredentialStore`] | security information (PSK, RPK, X.509) by endpoint, PSK identity and raw public key | [`MemoryCredentialStore`], `RedbStore`, `RedisStore` |
//! | [`BootstrapConfigStore`] | bootstrap configurations by endpoint | [`MemoryBootstrapConfigStore`], `RedbStore`, `RedisStore` |
//!
//! [`SharedStore`] puts one store behind a mutex so it can serve all four traits at once (one
//! database file for everything).
//!
//! The traits are synchronous: the sans-IO registrar calls them inline, before it answers, so a
//! client is never told it is registered unless the registration is stored. A driver that wants
//! to keep slow storage off its event loop runs the registrar on a blocking thread.
//!
//! Registrations are stored in a compact, versioned record format ([`encode_registration`]);
//! credentials, observations and bootstrap configurations likewise ([`encode_observation`] and
//! friends).

mod bootstrap;
mod credentials;
mod error;
mod memory;
mod observations;
mod record;
mod records;
#[cfg(feature = "redb")]
mod redb;
#[cfg(feature = "redis")]
mod redis;
mod shared;

#[cfg(feature = "redb")]
pub use self::redb::{Durability, RedbStore};
#[cfg(feature = "redis")]
pub use self::redis::{RedisStore, DEFAULT_KEY_PREFIX};
pub use bootstrap::{
    BootstrapConfig, BootstrapConfigStore, MemoryBootstrapConfigStore, DEFAULT_BOOTSTRAP_CONFIG,
};
pub use credentials::{Credential, CredentialStore, MemoryCredentialStore, SecurityInfo};
pub use error::StoreError;
pub use memory::{MemoryRegistrationStore, NoStore};
pub use observations::{MemoryObservationStore, Observation, ObservationStore};
pub use record::{
    decode_registration, encode_registration, RecordError, REGISTRATION_RECORD_VERSION,
};
pub use records::{
    decode_bootstrap_config, decode_credential, decode_observation, encode_bootstrap_config,
    encode_credential, encode_observation, RECORD_VERSION,
};
pub use shared::SharedStore;

use crate::registration::{Registration, RegistrationId};

/// One change to the stored registrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationChange<'a> {
    /// Insert or overwrite the registration with this id.
    Put(&'a Registration),
    /// Remove the registration with this id (nothing happens if there is none).
    Remove(RegistrationId),
}

/// What [`RegistrationStore::load`] found.
#[derive(Debug, Default)]
pub struct LoadedRegistrations {
    /// Every registration that could be read.
    pub registrations: Vec<Registration>,
    /// Records that could not be read: their key and why. They stay in the store untouched.
    pub unreadable: Vec<(String, RecordError)>,
}

/// Durable (or not) storage of registrations.
///
/// The registrar calls [`apply`](Self::apply) before it answers a Register, Update or
/// De-register, with every change of that request in one call (a Register that replaces an old
/// registration removes it and puts the new one); an implementation applies them atomically.
/// Expired registrations are removed in batches.
pub trait RegistrationStore: Send {
    /// Reads every stored registration (at start-up).
    fn load(&mut self) -> Result<LoadedRegistrations, StoreError>;

    /// Applies the changes, all or none.
    fn apply(&mut self, changes: &[RegistrationChange<'_>]) -> Result<(), StoreError>;
}

impl<S: RegistrationStore + ?Sized> RegistrationStore for Box<S> {
    fn load(&mut self) -> Result<LoadedRegistrations, StoreError> {
        (**self).load()
    }

    fn apply(&mut self, changes: &[RegistrationChange<'_>]) -> Result<(), StoreError> {
        (**self).apply(changes)
    }
}
