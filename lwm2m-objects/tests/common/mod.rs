//! Shared by the behaviour tests: the list of generated types and definition-driven strategies.
#![allow(dead_code)] // each test file uses a different part

use std::collections::BTreeMap;

use lwm2m_model::{DataType, ObjectDefinition, ObjectInstance, ObjectLink, Resource, Value};
use proptest::prelude::*;

/// Calls `$callback! { module: Type, ... }` with every generated object. `every_object_is_listed`
/// (in `definitions.rs`) checks that the list is complete.
macro_rules! for_each_object {
    ($callback:ident) => {
        $callback! {
            security: Security,
            server: Server,
            access_control: AccessControl,
            device: Device,
            connectivity_monitoring: ConnectivityMonitoring,
            firmware_update: FirmwareUpdate,
            location: Location,
            connectivity_statistics: ConnectivityStatistics,
            binary_app_data_container: BinaryAppDataContainer,
            generic_sensor: GenericSensor,
            temperature: Temperature,
            light_control: LightControl,
            on_off_switch: OnOffSwitch,
        }
    };
}

/// A value of the given type; floats are finite so that `PartialEq` compares them.
pub fn value_of(data_type: DataType) -> BoxedStrategy<Value> {
    match data_type {
        DataType::String => any::<String>().prop_map(Value::String).boxed(),
        DataType::Integer => any::<i64>().prop_map(Value::Integer).boxed(),
        DataType::Float => any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Value::Float)
            .boxed(),
        DataType::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        DataType::Opaque => prop::collection::vec(any::<u8>(), 0..16)
            .prop_map(Value::Opaque)
            .boxed(),
        DataType::Time => any::<i64>().prop_map(Value::Time).boxed(),
        DataType::Objlnk => (any::<u16>(), any::<u16>())
            .prop_map(|(o, i)| Value::Objlnk(ObjectLink::new(o, i)))
            .boxed(),
    }
}

/// Any value of any type.
pub fn any_value() -> BoxedStrategy<Value> {
    prop::sample::select(DataType::ALL.to_vec())
        .prop_flat_map(value_of)
        .boxed()
}

/// A valid instance of the object: every mandatory resource, any subset of the optional ones,
/// values of the right types, multiple resources with 0-3 instances; executables absent.
pub fn valid_instance(definition: &'static ObjectDefinition) -> BoxedStrategy<ObjectInstance> {
    let resources: Vec<BoxedStrategy<Option<Resource>>> = definition
        .resources
        .iter()
        .filter_map(|r| {
            let data_type = r.data_type?;
            let id = r.id;
            let resource = if r.is_multiple() {
                prop::collection::btree_map(any::<u16>(), value_of(data_type), 0..4)
                    .prop_map(move |m| Resource::multiple(id, m))
                    .boxed()
            } else {
                value_of(data_type)
                    .prop_map(move |v| Resource::single(id, v))
                    .boxed()
            };
            Some(if r.mandatory {
                resource.prop_map(Some).boxed()
            } else {
                prop::option::of(resource).boxed()
            })
        })
        .collect();
    (any::<u16>(), resources)
        .prop_map(|(id, resources)| {
            ObjectInstance::with_resources(id, resources.into_iter().flatten())
        })
        .boxed()
}

/// Any instance: resource ids the definition knows and others, any values, single or multiple.
pub fn garbage_instance(definition: &'static ObjectDefinition) -> BoxedStrategy<ObjectInstance> {
    let known: Vec<u16> = definition.resources.iter().map(|r| r.id).collect();
    let id = prop_oneof![3 => prop::sample::select(known), 1 => any::<u16>()];
    let resource = (
        id,
        prop_oneof![
            any_value().prop_map(Ok),
            prop::collection::btree_map(any::<u16>(), any_value(), 0..3).prop_map(Err),
        ],
    )
        .prop_map(|(id, content)| match content {
            Ok(v) => Resource::single(id, v),
            Err(m) => Resource::multiple(id, m),
        });
    (any::<u16>(), prop::collection::vec(resource, 0..12))
        .prop_map(|(id, resources)| ObjectInstance::with_resources(id, resources))
        .boxed()
}

/// A simple value of the given type.
pub fn sample_value(data_type: DataType) -> Value {
    match data_type {
        DataType::String => Value::from("s"),
        DataType::Integer => Value::Integer(1),
        DataType::Float => Value::Float(1.5),
        DataType::Boolean => Value::Boolean(true),
        DataType::Opaque => Value::Opaque(vec![1]),
        DataType::Time => Value::Time(2),
        DataType::Objlnk => Value::Objlnk(ObjectLink::new(3, 0)),
    }
}

/// A value that no lossless conversion turns into the given type.
pub fn wrong_value(data_type: DataType) -> Value {
    match data_type {
        DataType::Boolean => Value::Integer(1),
        DataType::Objlnk | DataType::Opaque => Value::from("not a link nor bytes"),
        DataType::String | DataType::Integer | DataType::Float | DataType::Time => {
            Value::Opaque(vec![0])
        }
    }
}

/// The instance with every non-executable resource present (multiple ones with two instances).
pub fn full_instance(definition: &ObjectDefinition, instance_id: u16) -> ObjectInstance {
    ObjectInstance::with_resources(
        instance_id,
        definition.resources.iter().filter_map(|r| {
            let v = sample_value(r.data_type?);
            Some(if r.is_multiple() {
                Resource::multiple(r.id, BTreeMap::from([(0, v.clone()), (1, v)]))
            } else {
                Resource::single(r.id, v)
            })
        }),
    )
}
