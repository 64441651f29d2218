//! A set of object definitions, looked up by object id.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;

use super::{DefinitionError, ObjectDefinition, ResourceDefinition};
use crate::path::Path;

/// Object definitions by object id, holding `'static` definitions by reference and loaded ones by
/// value.
///
/// Every definition is validated when it is inserted, so lookups can trust it (sorted resources,
/// consistent types). A later insertion for the same object id replaces the earlier one.
///
/// ```
/// use lwm2m_model::{DataType, ObjectDefinition, Operations, Registry, ResourceDefinition};
///
/// static RESOURCES: [ResourceDefinition; 1] = [
///     ResourceDefinition::new(5700, "Sensor Value", Operations::Read, Some(DataType::Float)).mandatory(),
/// ];
/// static SENSOR: ObjectDefinition =
///     ObjectDefinition::new(3300, "Generic Sensor", "urn:oma:lwm2m:ext:3300", &RESOURCES).multiple();
///
/// let mut registry = Registry::new();
/// registry.insert_static(&SENSOR)?;
/// assert_eq!(registry.resource(3300, 5700).unwrap().data_type, Some(DataType::Float));
/// assert!(registry.resource(3300, 1).is_none());
/// # Ok::<(), lwm2m_model::DefinitionError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Registry {
    objects: BTreeMap<u16, Cow<'static, ObjectDefinition>>,
}

impl Registry {
    /// An empty registry.
    pub const fn new() -> Self {
        Registry {
            objects: BTreeMap::new(),
        }
    }

    /// Validates and adds an owned definition; returns the one it replaced.
    pub fn insert(
        &mut self,
        definition: ObjectDefinition,
    ) -> Result<Option<Cow<'static, ObjectDefinition>>, DefinitionError> {
        definition.validate()?;
        Ok(self.objects.insert(definition.id, Cow::Owned(definition)))
    }

    /// Validates and adds a `'static` definition without copying it; returns the one it replaced.
    pub fn insert_static(
        &mut self,
        definition: &'static ObjectDefinition,
    ) -> Result<Option<Cow<'static, ObjectDefinition>>, DefinitionError> {
        definition.validate()?;
        Ok(self
            .objects
            .insert(definition.id, Cow::Borrowed(definition)))
    }

    /// A registry of `'static` definitions, such as the generated core objects; validates each.
    pub fn from_static(definitions: &[&'static ObjectDefinition]) -> Result<Self, DefinitionError> {
        let mut registry = Registry::new();
        for definition in definitions {
            registry.insert_static(definition)?;
        }
        Ok(registry)
    }

    /// Removes a definition.
    pub fn remove(&mut self, object_id: u16) -> Option<Cow<'static, ObjectDefinition>> {
        self.objects.remove(&object_id)
    }

    /// An object definition by id.
    #[inline]
    pub fn get(&self, object_id: u16) -> Option<&ObjectDefinition> {
        self.objects.get(&object_id).map(AsRef::as_ref)
    }

    /// Whether the registry knows the object.
    #[inline]
    pub fn contains(&self, object_id: u16) -> bool {
        self.objects.contains_key(&object_id)
    }

    /// A resource definition by (object id, resource id).
    #[inline]
    pub fn resource(&self, object_id: u16, resource_id: u16) -> Option<&ResourceDefinition> {
        self.get(object_id)?.resource(resource_id)
    }

    /// The definition of the resource a resource or resource-instance path points into.
    #[inline]
    pub fn resource_at(&self, path: &Path) -> Option<&ResourceDefinition> {
        self.resource(path.object_id()?, path.resource_id()?)
    }

    /// The definitions in object id order.
    pub fn objects(&self) -> impl Iterator<Item = &ObjectDefinition> + '_ {
        self.objects.values().map(AsRef::as_ref)
    }

    /// The number of definitions.
    #[inline]
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the registry is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}
