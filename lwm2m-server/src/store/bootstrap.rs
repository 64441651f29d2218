//! [`BootstrapConfigStore`]: what a bootstrap server writes to each client.

use std::collections::HashMap;

use lwm2m_model::{Node, Path};

use super::StoreError;

/// A client's bootstrap configuration: the Bootstrap-Delete paths sent first, then the
/// Bootstrap-Write operations (path and content, e.g. a Security instance `/0/1` and a Server
/// instance `/1/0`), in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BootstrapConfig {
    /// Paths to delete first (`/` deletes everything the client allows).
    pub delete: Vec<Path>,
    /// What to write, in order.
    pub writes: Vec<(Path, Node)>,
}

/// The key of the default configuration, for endpoints that have none of their own (an empty
/// endpoint name, which no client can register with).
pub const DEFAULT_BOOTSTRAP_CONFIG: &str = "";

/// Storage of bootstrap configurations by endpoint name.
pub trait BootstrapConfigStore: Send {
    /// The configuration for an endpoint.
    fn get(&self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError>;

    /// Sets an endpoint's configuration and returns the old one.
    fn put(
        &mut self,
        endpoint: &str,
        config: BootstrapConfig,
    ) -> Result<Option<BootstrapConfig>, StoreError>;

    /// Removes an endpoint's configuration.
    fn remove(&mut self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError>;
}

/// Bootstrap configurations in a hash map.
#[derive(Debug, Default, Clone)]
pub struct MemoryBootstrapConfigStore {
    configs: HashMap<String, BootstrapConfig>,
}

impl BootstrapConfigStore for MemoryBootstrapConfigStore {
    fn get(&self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        Ok(self.configs.get(endpoint).cloned())
    }

    fn put(
        &mut self,
        endpoint: &str,
        config: BootstrapConfig,
    ) -> Result<Option<BootstrapConfig>, StoreError> {
        Ok(self.configs.insert(endpoint.to_owned(), config))
    }

    fn remove(&mut self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        Ok(self.configs.remove(endpoint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_remove() {
        let mut store = MemoryBootstrapConfigStore::default();
        let config = BootstrapConfig {
            delete: vec![Path::ROOT],
            writes: Vec::new(),
        };
        assert_eq!(store.put("node1", config.clone()).unwrap(), None);
        assert_eq!(store.get("node1").unwrap(), Some(config.clone()));
        assert_eq!(store.get("node2").unwrap(), None);
        assert_eq!(store.remove("node1").unwrap(), Some(config));
        assert_eq!(store.get("node1").unwrap(), None);
    }
}
