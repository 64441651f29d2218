//! The run-time half of generated code: reading typed fields out of an [`ObjectInstance`] and
//! writing them into one.
//!
//! Generated modules (in this crate, and in crates that run `lwm2m_model::codegen` from a build
//! script) call these instead of repeating the same matching code per field, so a generated
//! conversion is one line per resource. The generator passes each resource's id and
//! [`DataType`] as constants, which keeps the look-ups infallible.

use alloc::string::String;
use alloc::vec::Vec;

use lwm2m_model::{
    CompactString, DataType, ObjectDefinition, ObjectInstance, ObjectLink, Resource,
    ResourceInstances, ResourceValue, Value,
};

use crate::error::{ObjectError, ObjectErrorKind};

/// A Rust type that holds the values of resources of some data type.
///
/// | Data type | Rust type |
/// |---|---|
/// | String | [`CompactString`] (generated structs) or [`String`] |
/// | Integer, Time | [`i64`] |
/// | Float | [`f64`] |
/// | Boolean | [`bool`] |
/// | Opaque | [`Vec<u8>`] |
/// | Objlnk | [`ObjectLink`] |
pub trait ResourceType: Sized {
    /// Takes the value if it has exactly the Rust type's data type, else `None`.
    fn from_exact(value: &Value) -> Option<Self>;

    /// The value of a resource of type `data_type`.
    fn to_value(&self, data_type: DataType) -> Value;

    /// Reads a value for a resource of type `data_type`, accepting the lossless conversions of
    /// [`Value::convert`] (an Integer for a Time resource, an integral Float for an Integer, an
    /// `"oid:iid"` String for an Objlnk), since a decoder without the definition at hand (TLV, or
    /// JSON numbers) cannot always tell them apart.
    fn from_value(value: &Value, data_type: DataType) -> Option<Self> {
        if value.data_type() == data_type {
            Self::from_exact(value)
        } else {
            Self::from_exact(&value.clone().convert(data_type).ok()?)
        }
    }
}

impl ResourceType for String {
    fn from_exact(value: &Value) -> Option<Self> {
        value.as_str().map(String::from)
    }

    fn to_value(&self, _: DataType) -> Value {
        Value::String(self.clone())
    }
}

impl ResourceType for CompactString {
    fn from_exact(value: &Value) -> Option<Self> {
        value.as_str().map(CompactString::new)
    }

    fn to_value(&self, _: DataType) -> Value {
        Value::String(String::from(self.as_str()))
    }
}

impl ResourceType for i64 {
    fn from_exact(value: &Value) -> Option<Self> {
        value.as_integer().or_else(|| value.as_time())
    }

    fn to_value(&self, data_type: DataType) -> Value {
        if data_type == DataType::Time {
            Value::Time(*self)
        } else {
            Value::Integer(*self)
        }
    }
}

impl ResourceType for f64 {
    fn from_exact(value: &Value) -> Option<Self> {
        value.as_float()
    }

    fn to_value(&self, _: DataType) -> Value {
        Value::Float(*self)
    }
}

impl ResourceType for bool {
    fn from_exact(value: &Value) -> Option<Self> {
        value.as_bool()
    }

    fn to_value(&self, _: DataType) -> Value {
        Value::Boolean(*self)
    }
}

impl ResourceType for Vec<u8> {
    fn from_exact(value: &Value) -> Option<Self> {
        value.as_opaque().map(<[u8]>::to_vec)
    }

    fn to_value(&self, _: DataType) -> Value {
        Value::Opaque(self.clone())
    }
}

impl ResourceType for ObjectLink {
    fn from_exact(value: &Value) -> Option<Self> {
        value.as_objlnk()
    }

    fn to_value(&self, _: DataType) -> Value {
        Value::Objlnk(*self)
    }
}

/// Reads the resources of one object instance into typed fields, reporting the first problem
/// with the object, instance and resource it concerns.
///
/// Resources the definition does not know are not looked at: a newer minor version of an object
/// may add optional resources, and a typed view of version 1.0 must still read such an instance.
#[derive(Debug, Clone, Copy)]
pub struct InstanceReader<'a> {
    definition: &'static ObjectDefinition,
    instance: &'a ObjectInstance,
}

impl<'a> InstanceReader<'a> {
    /// A reader of `instance`, an instance of the object `definition` describes.
    pub const fn new(definition: &'static ObjectDefinition, instance: &'a ObjectInstance) -> Self {
        InstanceReader {
            definition,
            instance,
        }
    }

    /// An error about `resource` of this instance.
    pub fn error(&self, resource: u16, kind: ObjectErrorKind) -> ObjectError {
        let definition: &'static ObjectDefinition = self.definition;
        ObjectError {
            object: definition.id,
            instance: Some(self.instance.id()),
            resource: Some(resource),
            resource_name: definition.resource(resource).map(|r| r.name.as_ref()),
            kind,
        }
    }

    fn convert<T: ResourceType>(
        &self,
        id: u16,
        resource_instance: Option<u16>,
        value: &Value,
        data_type: DataType,
    ) -> Result<T, ObjectError> {
        T::from_value(value, data_type).ok_or_else(|| {
            self.error(
                id,
                ObjectErrorKind::WrongType {
                    resource_instance,
                    expected: data_type,
                    found: value.data_type(),
                },
            )
        })
    }

    fn single<T: ResourceType>(
        &self,
        resource: &Resource,
        data_type: DataType,
    ) -> Result<T, ObjectError> {
        match resource.value() {
            ResourceValue::Single(value) => self.convert(resource.id(), None, value, data_type),
            ResourceValue::Multiple(_) => {
                Err(self.error(resource.id(), ObjectErrorKind::ExpectedSingle))
            }
        }
    }

    fn multiple<T: ResourceType>(
        &self,
        resource: &Resource,
        data_type: DataType,
    ) -> Result<ResourceInstances<T>, ObjectError> {
        match resource.value() {
            ResourceValue::Multiple(instances) => instances
                .iter()
                .map(|(&ri, value)| {
                    Ok((ri, self.convert(resource.id(), Some(ri), value, data_type)?))
                })
                .collect(),
            ResourceValue::Single(_) => {
                Err(self.error(resource.id(), ObjectErrorKind::ExpectedMultiple))
            }
        }
    }

    /// A mandatory single-instance resource.
    pub fn mandatory<T: ResourceType>(
        &self,
        id: u16,
        data_type: DataType,
    ) -> Result<T, ObjectError> {
        match self.instance.resource(id) {
            Some(resource) => self.single(resource, data_type),
            None => Err(self.error(id, ObjectErrorKind::MissingMandatory)),
        }
    }

    /// An optional single-instance resource.
    pub fn optional<T: ResourceType>(
        &self,
        id: u16,
        data_type: DataType,
    ) -> Result<Option<T>, ObjectError> {
        self.instance
            .resource(id)
            .map(|resource| self.single(resource, data_type))
            .transpose()
    }

    /// A mandatory multiple-instance resource (resource instance id → value; may be empty).
    pub fn mandatory_multiple<T: ResourceType>(
        &self,
        id: u16,
        data_type: DataType,
    ) -> Result<ResourceInstances<T>, ObjectError> {
        match self.instance.resource(id) {
            Some(resource) => self.multiple(resource, data_type),
            None => Err(self.error(id, ObjectErrorKind::MissingMandatory)),
        }
    }

    /// An optional multiple-instance resource: `None` when absent, which is not the same as
    /// present with no instances.
    pub fn optional_multiple<T: ResourceType>(
        &self,
        id: u16,
        data_type: DataType,
    ) -> Result<Option<ResourceInstances<T>>, ObjectError> {
        self.instance
            .resource(id)
            .map(|resource| self.multiple(resource, data_type))
            .transpose()
    }

    /// Checks that none of the given executable resources holds a value.
    pub fn executables(&self, ids: &[u16]) -> Result<(), ObjectError> {
        match ids.iter().find(|&&id| self.instance.resource(id).is_some()) {
            Some(&id) => Err(self.error(id, ObjectErrorKind::ExecutableHasValue)),
            None => Ok(()),
        }
    }
}

/// Builds an [`ObjectInstance`] from typed fields; the inverse of [`InstanceReader`].
#[derive(Debug, Clone, PartialEq)]
#[must_use = "call `finish` to get the instance"]
pub struct InstanceWriter {
    instance: ObjectInstance,
}

impl InstanceWriter {
    /// An empty instance with the given id.
    pub const fn new(instance_id: u16) -> Self {
        InstanceWriter {
            instance: ObjectInstance::new(instance_id),
        }
    }

    /// Adds a single-instance resource.
    pub fn single<T: ResourceType>(mut self, id: u16, data_type: DataType, value: &T) -> Self {
        self.instance
            .insert(Resource::single(id, value.to_value(data_type)));
        self
    }

    /// Adds a single-instance resource if it has a value.
    pub fn optional<T: ResourceType>(
        self,
        id: u16,
        data_type: DataType,
        value: Option<&T>,
    ) -> Self {
        match value {
            Some(value) => self.single(id, data_type, value),
            None => self,
        }
    }

    /// Adds a multiple-instance resource (even with no instances).
    pub fn multiple<T: ResourceType>(
        mut self,
        id: u16,
        data_type: DataType,
        values: &ResourceInstances<T>,
    ) -> Self {
        self.instance.insert(Resource::multiple(
            id,
            values.iter().map(|(&ri, v)| (ri, v.to_value(data_type))),
        ));
        self
    }

    /// Adds a multiple-instance resource if it is present.
    pub fn optional_multiple<T: ResourceType>(
        self,
        id: u16,
        data_type: DataType,
        values: Option<&ResourceInstances<T>>,
    ) -> Self {
        match values {
            Some(values) => self.multiple(id, data_type, values),
            None => self,
        }
    }

    /// The finished instance.
    pub fn finish(self) -> ObjectInstance {
        self.instance
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use lwm2m_model::{Operations, ResourceDefinition};

    static RESOURCES: [ResourceDefinition; 3] = [
        ResourceDefinition::new(0, "Go", Operations::Execute, None),
        ResourceDefinition::new(1, "When", Operations::Read, Some(DataType::Time)).mandatory(),
        ResourceDefinition::new(2, "Links", Operations::Read, Some(DataType::Objlnk)).multiple(),
    ];
    static TEST_OBJECT: ObjectDefinition =
        ObjectDefinition::new(40000, "Test", "urn:oma:lwm2m:x:40000", &RESOURCES);

    #[test]
    fn lossless_conversions_are_accepted() {
        assert_eq!(i64::from_value(&Value::Integer(5), DataType::Time), Some(5));
        assert_eq!(
            i64::from_value(&Value::Float(5.0), DataType::Integer),
            Some(5)
        );
        assert_eq!(i64::from_value(&Value::Float(5.5), DataType::Integer), None);
        assert_eq!(
            f64::from_value(&Value::Integer(-3), DataType::Float),
            Some(-3.0)
        );
        assert_eq!(
            ObjectLink::from_value(&Value::from("3:0"), DataType::Objlnk),
            Some(ObjectLink::new(3, 0))
        );
        assert_eq!(
            String::from_value(&Value::Integer(1), DataType::String),
            None
        );
        assert_eq!(
            bool::from_value(&Value::Integer(1), DataType::Boolean),
            None
        );
        assert_eq!(
            Vec::<u8>::from_value(&Value::from("a"), DataType::Opaque),
            None
        );
        assert_eq!(5i64.to_value(DataType::Time), Value::Time(5));
        assert_eq!(5i64.to_value(DataType::Integer), Value::Integer(5));
    }

    #[test]
    fn reader_reports_resource_and_instance() {
        let instance = ObjectInstance::with_resources(
            7,
            [
                Resource::single(1, Value::Integer(10)),
                Resource::multiple(2, [(0, Value::from("3:0")), (4, Value::from(true))]),
            ],
        );
        let reader = InstanceReader::new(&TEST_OBJECT, &instance);
        assert_eq!(reader.mandatory::<i64>(1, DataType::Time), Ok(10));
        let err = reader
            .optional_multiple::<ObjectLink>(2, DataType::Objlnk)
            .unwrap_err();
        assert_eq!(
            err,
            ObjectError {
                object: 40000,
                instance: Some(7),
                resource: Some(2),
                resource_name: Some("Links"),
                kind: ObjectErrorKind::WrongType {
                    resource_instance: Some(4),
                    expected: DataType::Objlnk,
                    found: DataType::Boolean
                }
            }
        );
        assert_eq!(
            err.to_string(),
            "/40000/7/2 (Links): expected Objlnk, found Boolean in resource instance 4"
        );
        assert_eq!(
            reader.mandatory::<i64>(2, DataType::Time).unwrap_err().kind,
            ObjectErrorKind::ExpectedSingle
        );
        assert_eq!(
            reader
                .mandatory_multiple::<i64>(1, DataType::Time)
                .unwrap_err()
                .kind,
            ObjectErrorKind::ExpectedMultiple
        );
        let missing = reader.mandatory::<i64>(9, DataType::Integer).unwrap_err();
        assert_eq!(missing.kind, ObjectErrorKind::MissingMandatory);
        assert_eq!(missing.resource_name, None);
        assert_eq!(reader.optional::<i64>(9, DataType::Integer), Ok(None));
        assert_eq!(reader.executables(&[0]), Ok(()));
        assert_eq!(reader.executables(&[0, 1]).unwrap_err().resource, Some(1));
    }

    #[test]
    fn writer_is_the_inverse_of_the_reader() {
        let links = ResourceInstances::from([(0, ObjectLink::new(3, 0)), (9, ObjectLink::NULL)]);
        let instance = InstanceWriter::new(1)
            .single(1, DataType::Time, &99i64)
            .optional::<String>(3, DataType::String, None)
            .optional_multiple(2, DataType::Objlnk, Some(&links))
            .multiple::<bool>(4, DataType::Boolean, &ResourceInstances::new())
            .finish();
        assert_eq!(instance.value(1), Some(&Value::Time(99)));
        assert!(instance.resource(3).is_none());
        assert_eq!(
            instance.resource(4).and_then(Resource::instances),
            Some(&alloc::collections::BTreeMap::new())
        );
        let reader = InstanceReader::new(&TEST_OBJECT, &instance);
        assert_eq!(reader.mandatory_multiple(2, DataType::Objlnk), Ok(links));
        assert_eq!(
            reader.optional_multiple::<bool>(4, DataType::Boolean),
            Ok(Some(ResourceInstances::new()))
        );
    }
}
