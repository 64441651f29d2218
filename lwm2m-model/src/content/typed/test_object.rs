//! A small hand-written typed object, standing in for generated code in unit tests.

use crate::instances::ResourceInstances;
use alloc::string::String;

use super::*;
use crate::definition::{Operations, ResourceDefinition};

static RESOURCES: [ResourceDefinition; 5] = [
    ResourceDefinition::new(0, "Name", Operations::ReadWrite, Some(DataType::String)).mandatory(),
    ResourceDefinition::new(1, "Count", Operations::ReadWrite, Some(DataType::Integer)),
    ResourceDefinition::new(2, "Reset", Operations::Execute, None),
    ResourceDefinition::new(3, "Samples", Operations::Read, Some(DataType::Float)).multiple(),
    ResourceDefinition::new(4, "Since", Operations::Read, Some(DataType::Time)),
];
pub(crate) static DEFINITION: ObjectDefinition =
    ObjectDefinition::new(40001, "Test", "urn:oma:lwm2m:x:40001", &RESOURCES).multiple();

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Test {
    pub(crate) name: String,
    pub(crate) count: Option<i64>,
    pub(crate) samples: Option<ResourceInstances<f64>>,
    pub(crate) since: Option<i64>,
}

impl TypedInstance for Test {
    fn definition() -> &'static ObjectDefinition {
        &DEFINITION
    }

    fn empty() -> Self {
        Test::default()
    }

    fn set_value(&mut self, resource: u16, value: ValueRef<'_>) -> Result<(), FieldError> {
        match resource {
            0 => store_mandatory(&mut self.name, value),
            1 => store(&mut self.count, value),
            4 => store(&mut self.since, value),
            _ => Err(FieldError::NoField),
        }
    }

    fn set_multiple(&mut self, resource: u16) -> Result<(), FieldError> {
        match resource {
            3 => {
                present(&mut self.samples);
                Ok(())
            }
            _ => Err(FieldError::NoField),
        }
    }

    fn set_instance_value(
        &mut self,
        resource: u16,
        instance: u16,
        value: ValueRef<'_>,
    ) -> Result<(), FieldError> {
        match resource {
            3 => store_instance(present(&mut self.samples), instance, value),
            _ => Err(FieldError::NoField),
        }
    }

    fn write_values<S: ValueSink>(&self, sink: &mut S) -> Result<(), S::Error> {
        write_single(sink, 0, DataType::String, &self.name)?;
        write_optional(sink, 1, DataType::Integer, self.count.as_ref())?;
        write_optional_multiple(sink, 3, DataType::Float, self.samples.as_ref())?;
        write_optional(sink, 4, DataType::Time, self.since.as_ref())
    }
}
