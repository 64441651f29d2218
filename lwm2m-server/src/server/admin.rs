//! Credential and bootstrap-configuration management on a running server.

use super::{lock, ServerHandle};
use crate::store::{BootstrapConfig, SecurityInfo, StoreError};

impl ServerHandle {
    /// The security information of an endpoint.
    pub fn credential(&self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        lock(&self.shared.credentials).get_by_endpoint(endpoint)
    }

    /// Adds or replaces an endpoint's security information; returns the old one. A PSK identity
    /// or raw public key already bound to another endpoint is a [`StoreError::Conflict`] (and
    /// nothing changes).
    pub fn put_credential(&self, info: SecurityInfo) -> Result<Option<SecurityInfo>, StoreError> {
        tracing::info!(endpoint = %info.endpoint, "credentials set");
        lock(&self.shared.credentials).put(info)
    }

    /// Removes an endpoint's security information (it may then register with `NoSec`).
    pub fn remove_credential(&self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        tracing::info!(endpoint, "credentials removed");
        lock(&self.shared.credentials).remove(endpoint)
    }

    /// The bootstrap configuration stored for `endpoint`
    /// ([`DEFAULT_BOOTSTRAP_CONFIG`](crate::store::DEFAULT_BOOTSTRAP_CONFIG) for the default).
    pub fn bootstrap_config(&self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        lock(&self.shared.bootstrap_configs).get(endpoint)
    }

    /// Sets the bootstrap configuration of `endpoint`; returns the old one.
    pub fn put_bootstrap_config(
        &self,
        endpoint: &str,
        config: BootstrapConfig,
    ) -> Result<Option<BootstrapConfig>, StoreError> {
        lock(&self.shared.bootstrap_configs).put(endpoint, config)
    }

    /// Removes the bootstrap configuration of `endpoint`.
    pub fn remove_bootstrap_config(
        &self,
        endpoint: &str,
    ) -> Result<Option<BootstrapConfig>, StoreError> {
        lock(&self.shared.bootstrap_configs).remove(endpoint)
    }
}
