//! [`BootstrapConfigStore`]: what a bootstrap server writes to each client.

use std::collections::HashMap;

use lwm2m_model::{Node, Path, PathError};
use lwm2m_objects::{AccessControl, Security, Server};

use super::StoreError;

/// The key under which the default configuration is stored: the one a bootstrap server uses for
/// an endpoint that has no configuration of its own. It is the empty name, which no client can
/// register or bootstrap with.
pub const DEFAULT_BOOTSTRAP_CONFIG: &str = "";

/// A client's bootstrap configuration: the Bootstrap-Delete paths sent first, then the
/// Bootstrap-Write operations (path and content, e.g. a Security instance `/0/1` and a Server
/// instance `/1/0`).
///
/// The bootstrap server sends the deletes in order, then the writes of the Security object (0),
/// the Server object (1), the Access Control object (2) and any other object, in this order of
/// objects (writes of one object keep their order), each as TLV, then Bootstrap-Finish.
///
/// ```
/// use lwm2m_objects::{Security, Server};
/// use lwm2m_server::store::BootstrapConfig;
///
/// let config = BootstrapConfig::new()
///     .security(1, &Security {
///         lwm2m_server_uri: "coap://192.0.2.1:5683".into(),
///         security_mode: 3,
///         short_server_id: Some(101),
///         ..Security::default()
///     })?
///     .server(0, &Server {
///         short_server_id: 101,
///         lifetime: 300,
///         binding: "U".into(),
///         ..Server::default()
///     })?;
/// assert_eq!(config.delete, [lwm2m_model::Path::ROOT]);
/// assert_eq!(config.writes.len(), 2);
/// assert!(BootstrapConfig::new().server(65535, &Server::default()).is_err());
/// # Ok::<(), lwm2m_model::PathError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BootstrapConfig {
    /// Paths to delete first (`/` deletes everything the client allows). Empty: no delete.
    pub delete: Vec<Path>,
    /// What to write (object, instance or resource level).
    pub writes: Vec<(Path, Node)>,
}

impl BootstrapConfig {
    /// A configuration that deletes `/` and writes nothing yet.
    pub fn new() -> Self {
        BootstrapConfig {
            delete: vec![Path::ROOT],
            writes: Vec::new(),
        }
    }

    /// With these paths deleted first instead (an empty list deletes nothing).
    #[must_use]
    pub fn deletes(mut self, paths: impl IntoIterator<Item = Path>) -> Self {
        self.delete = paths.into_iter().collect();
        self
    }

    /// With a write of `node` to `path` added.
    #[must_use]
    pub fn write(mut self, path: Path, node: Node) -> Self {
        self.writes.push((path, node));
        self
    }

    /// With a write of Security (object 0) instance `/0/{instance_id}` added.
    ///
    /// # Errors
    ///
    /// `instance_id` 65535 is reserved (not an instance id).
    pub fn security(self, instance_id: u16, security: &Security) -> Result<Self, PathError> {
        self.instance(0, instance_id, security.to_instance_node(instance_id))
    }

    /// With a write of Server (object 1) instance `/1/{instance_id}` added.
    ///
    /// # Errors
    ///
    /// `instance_id` 65535 is reserved (not an instance id).
    pub fn server(self, instance_id: u16, server: &Server) -> Result<Self, PathError> {
        self.instance(1, instance_id, server.to_instance_node(instance_id))
    }

    /// With a write of Access Control (object 2) instance `/2/{instance_id}` added.
    ///
    /// # Errors
    ///
    /// `instance_id` 65535 is reserved (not an instance id).
    pub fn access_control(
        self,
        instance_id: u16,
        access: &AccessControl,
    ) -> Result<Self, PathError> {
        self.instance(2, instance_id, access.to_instance_node(instance_id))
    }

    fn instance(self, object: u16, instance: u16, node: Node) -> Result<Self, PathError> {
        Ok(self.write(Path::object_instance(object, instance)?, node))
    }

    /// The instances this configuration writes to object `object_id` at instance level, in
    /// order (e.g. the Security instances for `0`).
    pub fn instances(&self, object_id: u16) -> impl Iterator<Item = (Path, &Node)> + '_ {
        self.writes.iter().filter_map(move |(path, node)| {
            (path.object_id() == Some(object_id) && path.instance_id().is_some())
                .then_some((*path, node))
        })
    }
}

/// Storage of bootstrap configurations by endpoint name; the default configuration is stored
/// under [`DEFAULT_BOOTSTRAP_CONFIG`].
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

    /// The default configuration, for endpoints without one of their own.
    fn default_config(&self) -> Result<Option<BootstrapConfig>, StoreError> {
        self.get(DEFAULT_BOOTSTRAP_CONFIG)
    }

    /// Sets the default configuration and returns the old one.
    fn put_default_config(
        &mut self,
        config: BootstrapConfig,
    ) -> Result<Option<BootstrapConfig>, StoreError> {
        self.put(DEFAULT_BOOTSTRAP_CONFIG, config)
    }

    /// The configuration a bootstrap server uses for `endpoint`: its own, else the default.
    /// The flag says whether it is the default.
    fn config_for(&self, endpoint: &str) -> Result<Option<(BootstrapConfig, bool)>, StoreError> {
        if let Some(config) = self.get(endpoint)? {
            return Ok(Some((config, false)));
        }
        Ok(self.default_config()?.map(|config| (config, true)))
    }
}

impl<S: BootstrapConfigStore + ?Sized> BootstrapConfigStore for Box<S> {
    fn get(&self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        (**self).get(endpoint)
    }

    fn put(
        &mut self,
        endpoint: &str,
        config: BootstrapConfig,
    ) -> Result<Option<BootstrapConfig>, StoreError> {
        (**self).put(endpoint, config)
    }

    fn remove(&mut self, endpoint: &str) -> Result<Option<BootstrapConfig>, StoreError> {
        (**self).remove(endpoint)
    }
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
    use crate::store::RegistrationStore;

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

    #[test]
    fn the_default_applies_to_endpoints_without_their_own() {
        let mut store = MemoryBootstrapConfigStore::default();
        assert_eq!(store.config_for("node1").unwrap(), None);
        let own = BootstrapConfig::new().deletes([Path::parse("/1").unwrap()]);
        let default = BootstrapConfig::new();
        store.put("node1", own.clone()).unwrap();
        assert_eq!(store.config_for("node2").unwrap(), None);
        assert_eq!(store.put_default_config(default.clone()).unwrap(), None);
        assert_eq!(store.default_config().unwrap(), Some(default.clone()));
        assert_eq!(store.config_for("node1").unwrap(), Some((own, false)));
        assert_eq!(store.config_for("node2").unwrap(), Some((default, true)));
    }

    #[test]
    fn typed_instances_land_at_instance_level() {
        let access = AccessControl {
            object_id: 3,
            object_instance_id: 0,
            acl: Some([(101, 1)].into()),
            access_control_owner: 101,
        };
        let config = BootstrapConfig::new()
            .server(0, &Server::default())
            .unwrap()
            .security(2, &Security::default())
            .unwrap()
            .access_control(4, &access)
            .unwrap();
        let paths: Vec<String> = config.writes.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(paths, ["/1/0", "/0/2", "/2/4"]);
        let acl: Vec<_> = config.instances(2).collect();
        assert_eq!(acl.len(), 1);
        assert_eq!(AccessControl::from_instance_node(acl[0].1).unwrap(), access);
        assert_eq!(config.instances(5).count(), 0);
    }

    #[test]
    fn a_shared_store_is_one_store() {
        let shared = crate::store::SharedStore::new(MemoryBootstrapConfigStore::default());
        let mut other = shared.clone();
        other.put("a", BootstrapConfig::new()).unwrap();
        assert_eq!(shared.get("a").unwrap(), Some(BootstrapConfig::new()));
        let mut registrations =
            crate::store::SharedStore::new(crate::store::MemoryRegistrationStore::new());
        assert!(registrations.load().unwrap().registrations.is_empty());
        registrations.apply(&[]).unwrap();
    }
}
