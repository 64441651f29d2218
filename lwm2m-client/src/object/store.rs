//! [`TypedStore`]: the instances of a generated typed object, served as an [`ObjectHandler`].

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

use lwm2m_codec::execute::ExecuteArgs;
use lwm2m_model::{ObjectDefinition, ObjectInstance, Resource, ResourceValue};
use lwm2m_objects::TypedObject;

use super::{instance_path, ObjectHandler, WriteMode};
use crate::error::DmError;

/// The instances of a typed object (`Server`, `AccessControl`, `ConnectivityMonitoring`,
/// `Location`, an IPSO object ...), keyed by instance id.
///
/// Reads convert the struct to resources; writes merge the new resources into the current ones
/// and convert back, so a write that would leave a mandatory resource out, or a value of the
/// wrong type, is refused with 4.00 and changes nothing. Executes of executable resources
/// succeed (the application acts on [`ClientEvent::Executed`](crate::ClientEvent::Executed)).
///
/// ```
/// use lwm2m_client::{ObjectHandler, TypedStore, WriteMode};
/// use lwm2m_model::Resource;
/// use lwm2m_objects::Location;
///
/// let mut store = TypedStore::<Location>::new();
/// store.insert(0, Location { latitude: 48.85, longitude: 2.35, timestamp: 0, ..Location::default() });
/// store.write(0, vec![Resource::single(5, lwm2m_model::Value::Time(1_700_000_000))], WriteMode::Update)?;
/// assert_eq!(store.get(0).map(|l| l.timestamp), Some(1_700_000_000));
/// assert_eq!(store.instances(), [0]);
/// # Ok::<(), lwm2m_client::DmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TypedStore<T> {
    /// Boxed: a map node holds room for 11 entries, and most stores hold one instance.
    instances: BTreeMap<u16, Box<T>>,
}

impl<T> Default for TypedStore<T> {
    fn default() -> Self {
        TypedStore {
            instances: BTreeMap::new(),
        }
    }
}

impl<T: TypedObject> TypedStore<T> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding these instances.
    pub fn with_instances(instances: impl IntoIterator<Item = (u16, T)>) -> Self {
        TypedStore {
            instances: instances
                .into_iter()
                .map(|(id, t)| (id, Box::new(t)))
                .collect(),
        }
    }

    /// Adds or replaces an instance; returns the one it replaced.
    pub fn insert(&mut self, id: u16, instance: T) -> Option<T> {
        self.instances.insert(id, Box::new(instance)).map(|t| *t)
    }

    /// Removes an instance.
    pub fn remove(&mut self, id: u16) -> Option<T> {
        self.instances.remove(&id).map(|t| *t)
    }

    /// An instance.
    pub fn get(&self, id: u16) -> Option<&T> {
        self.instances.get(&id).map(AsRef::as_ref)
    }

    /// An instance, to change it (tell the client with
    /// [`Client::changed`](crate::Client::changed), or use
    /// [`Client::update_object`](crate::Client::update_object), which does it for you).
    pub fn get_mut(&mut self, id: u16) -> Option<&mut T> {
        self.instances.get_mut(&id).map(AsMut::as_mut)
    }

    /// Every instance by id.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &T)> + '_ {
        self.instances.iter().map(|(&id, t)| (id, t.as_ref()))
    }

    /// The number of instances.
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Whether there is no instance.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// The typed instance, checked for types, mandatory resources and ranges (4.00 otherwise).
    fn convert(instance: &ObjectInstance) -> Result<T, DmError> {
        let bad =
            |e| DmError::bad_request(instance_path(T::OBJECT_ID, instance.id()), format!("{e}"));
        let typed = T::from_instance(instance).map_err(bad)?;
        typed.validate().map_err(bad)?;
        Ok(typed)
    }
}

/// Merges `resources` into `current` as `mode` says (the definition tells which resources a
/// replace resets).
pub(crate) fn merge(
    definition: &ObjectDefinition,
    current: &mut ObjectInstance,
    resources: Vec<Resource>,
    mode: WriteMode,
) {
    if mode == WriteMode::ReplaceInstance {
        for r in definition
            .resources
            .iter()
            .filter(|r| r.operations.can_write())
        {
            current.remove(r.id);
        }
    }
    for resource in resources {
        if mode == WriteMode::Update {
            if let (Some(existing), ResourceValue::Multiple(new)) =
                (current.resource_mut(resource.id()), resource.value())
            {
                if let ResourceValue::Multiple(old) = existing.value_mut() {
                    old.extend(new.iter().map(|(&k, v)| (k, v.clone())));
                    continue;
                }
            }
        }
        current.insert(resource);
    }
}

impl<T: TypedObject + Send + 'static> ObjectHandler for TypedStore<T> {
    fn definition(&self) -> &ObjectDefinition {
        T::DEFINITION
    }

    fn instances(&self) -> Vec<u16> {
        self.instances.keys().copied().collect()
    }

    fn read(&self, instance: u16) -> Result<ObjectInstance, DmError> {
        self.instances
            .get(&instance)
            .map(|t| t.to_instance(instance))
            .ok_or_else(|| DmError::NotFound(instance_path(T::OBJECT_ID, instance)))
    }

    fn write(
        &mut self,
        instance: u16,
        resources: Vec<Resource>,
        mode: WriteMode,
    ) -> Result<(), DmError> {
        let mut current = self.read(instance)?;
        merge(T::DEFINITION, &mut current, resources, mode);
        let updated = Self::convert(&current)?;
        self.instances.insert(instance, Box::new(updated));
        Ok(())
    }

    fn execute(
        &mut self,
        instance: u16,
        resource: u16,
        _arguments: &ExecuteArgs<'_>,
    ) -> Result<(), DmError> {
        let path = instance_path(T::OBJECT_ID, instance);
        if !self.instances.contains_key(&instance) {
            return Err(DmError::NotFound(path));
        }
        match T::DEFINITION.resource(resource) {
            Some(r) if r.is_executable() => Ok(()),
            _ => Err(DmError::MethodNotAllowed(path)),
        }
    }

    fn create(&mut self, instance: ObjectInstance) -> Result<(), DmError> {
        let id = instance.id();
        if self.instances.contains_key(&id) {
            return Err(DmError::bad_request(
                instance_path(T::OBJECT_ID, id),
                "the instance already exists",
            ));
        }
        let typed = Self::convert(&instance)?;
        self.instances.insert(id, Box::new(typed));
        Ok(())
    }

    fn delete(&mut self, instance: u16) -> Result<(), DmError> {
        self.instances
            .remove(&instance)
            .map(|_| ())
            .ok_or_else(|| DmError::NotFound(instance_path(T::OBJECT_ID, instance)))
    }
}
