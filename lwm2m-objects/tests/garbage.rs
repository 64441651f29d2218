//! Nodes that do not fit a typed object give precise errors (which object, instance, resource
//! and what), and arbitrary nodes never panic.

#[macro_use]
mod common;

use std::fmt::Debug;

use lwm2m_model::{
    DataType, Level, Node, Object, ObjectInstance, Resource, ResourceInstance, Value,
};
use lwm2m_objects::*;
use proptest::prelude::*;

use common::{full_instance, garbage_instance, sample_value, wrong_value};

fn expect_error<T: TypedObject + Debug>(
    instance: &ObjectInstance,
    resource: u16,
    kind: ObjectErrorKind,
) {
    let err = T::from_instance(instance).expect_err("the instance must be rejected");
    let name = T::DEFINITION.resource(resource).map(|r| r.name.as_ref());
    assert_eq!(
        err,
        ObjectError {
            object: T::OBJECT_ID,
            instance: Some(instance.id()),
            resource: Some(resource),
            resource_name: name,
            kind,
        }
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("/{}/{}/{resource} (", T::OBJECT_ID, instance.id())),
        "{text}"
    );
}

/// Breaks every resource of a full instance in every way and checks the error.
fn precise_errors<T: TypedObject + Debug + PartialEq>() {
    let full = full_instance(T::DEFINITION, 7);
    let typed = T::from_instance(&full).expect("the full instance is valid");
    assert_eq!(typed.to_instance(7), full);
    for r in T::DEFINITION.resources.iter() {
        let mut broken = full.clone();
        let Some(data_type) = r.data_type else {
            // A value on an executable resource.
            broken.insert(Resource::single(r.id, Value::Boolean(true)));
            expect_error::<T>(&broken, r.id, ObjectErrorKind::ExecutableHasValue);
            continue;
        };
        let found = wrong_value(data_type).data_type();
        if r.is_multiple() {
            broken.insert(Resource::multiple(
                r.id,
                [(0, sample_value(data_type)), (4, wrong_value(data_type))],
            ));
            expect_error::<T>(
                &broken,
                r.id,
                ObjectErrorKind::WrongType {
                    resource_instance: Some(4),
                    expected: data_type,
                    found,
                },
            );
            broken.insert(Resource::single(r.id, sample_value(data_type)));
            expect_error::<T>(&broken, r.id, ObjectErrorKind::ExpectedMultiple);
        } else {
            broken.insert(Resource::single(r.id, wrong_value(data_type)));
            expect_error::<T>(
                &broken,
                r.id,
                ObjectErrorKind::WrongType {
                    resource_instance: None,
                    expected: data_type,
                    found,
                },
            );
            broken.insert(Resource::multiple(r.id, [(0, sample_value(data_type))]));
            expect_error::<T>(&broken, r.id, ObjectErrorKind::ExpectedSingle);
        }
        broken.remove(r.id);
        if r.mandatory {
            expect_error::<T>(&broken, r.id, ObjectErrorKind::MissingMandatory);
        } else {
            assert!(
                T::from_instance(&broken).is_ok(),
                "optional {} may be absent",
                r.id
            );
        }
    }
}

/// Nodes of the wrong level and objects with the wrong id.
fn wrong_nodes<T: TypedObject + Debug>() {
    let not_instances = [
        (Node::from(Object::new(T::OBJECT_ID)), Level::Object),
        (Node::from(Resource::single(0, 1)), Level::Resource),
        (
            Node::from(ResourceInstance {
                id: 0,
                value: Value::Integer(1),
            }),
            Level::ResourceInstance,
        ),
    ];
    for (node, level) in not_instances {
        let err = T::from_instance_node(&node).unwrap_err();
        assert_eq!(
            err,
            ObjectError::object(T::OBJECT_ID, ObjectErrorKind::NotAnInstance(level))
        );
    }
    let other = T::OBJECT_ID.wrapping_add(1);
    let err = T::from_object(&Object::new(other)).unwrap_err();
    assert_eq!(err.kind, ObjectErrorKind::WrongObject(other));
    assert_eq!(T::from_object(&Object::new(T::OBJECT_ID)).unwrap().len(), 0);
}

/// What `from_instance` does with any instance: an error about a resource the object defines,
/// or a value that converts back to an instance it reads again.
fn never_panics<T: TypedObject + Debug + PartialEq>(
    instance: &ObjectInstance,
) -> Result<(), TestCaseError> {
    match T::from_instance(instance) {
        Ok(typed) => {
            let again = T::from_instance(&typed.to_instance(instance.id()));
            prop_assert_eq!(again.as_ref(), Ok(&typed));
        }
        Err(err) => {
            prop_assert_eq!(err.object, T::OBJECT_ID);
            prop_assert_eq!(err.instance, Some(instance.id()));
            let resource = err
                .resource
                .expect("errors inside an instance name the resource");
            prop_assert!(T::DEFINITION.resource(resource).is_some());
            prop_assert!(err.resource_name.is_some());
            prop_assert!(!err.to_string().is_empty());
        }
    }
    Ok(())
}

macro_rules! garbage_tests {
    ($($module:ident: $type:ident,)*) => {
        #[test]
        fn every_broken_resource_gives_a_precise_error() {
            $(precise_errors::<$type>();)*
        }

        #[test]
        fn wrong_levels_and_objects() {
            $(wrong_nodes::<$type>();)*
        }

        mod arbitrary {
            use super::*;

            proptest! {
                $(
                    #[test]
                    fn $module(instance in garbage_instance(&$module::DEFINITION)) {
                        never_panics::<$type>(&instance)?;
                    }
                )*
            }
        }
    };
}

for_each_object!(garbage_tests);

#[test]
fn lossless_conversions_are_accepted() {
    // What decoders without definitions produce: Integer for Time, integral Float for Integer,
    // Integer for Float, "oid:iid" text for an object link.
    let instance = ObjectInstance::with_resources(
        0,
        [
            Resource::single(13, Value::Integer(1_367_491_215)),
            Resource::single(9, Value::Float(100.0)),
            Resource::multiple(11, [(0, 0)]),
            Resource::multiple(22, [(0, Value::from("3:1"))]),
            Resource::single(16, "U"),
        ],
    );
    let device = Device::from_instance(&instance).unwrap();
    assert_eq!(device.current_time, Some(1_367_491_215));
    assert_eq!(device.battery_level, Some(100));
    assert_eq!(
        device.ext_dev_info,
        Some(ResourceInstances::from([(
            0,
            lwm2m_model::ObjectLink::new(3, 1)
        )]))
    );
    let location = ObjectInstance::with_resources(
        0,
        [
            Resource::single(0, Value::Integer(43)),
            Resource::single(1, Value::Float(-1.5)),
            Resource::single(5, Value::Time(0)),
        ],
    );
    let location = Location::from_instance(&location).unwrap();
    assert_eq!(location.latitude.to_bits(), 43.0f64.to_bits());

    let lossy = ObjectInstance::with_resources(
        0,
        [
            Resource::single(9, Value::Float(99.5)),
            Resource::multiple(11, [(0, 0)]),
            Resource::single(16, "U"),
        ],
    );
    assert_eq!(
        Device::from_instance(&lossy).unwrap_err().kind,
        ObjectErrorKind::WrongType {
            resource_instance: None,
            expected: DataType::Integer,
            found: DataType::Float
        }
    );
}

#[test]
fn validate_checks_ranges() {
    let mut device = Device {
        error_code: ResourceInstances::from([(0, 0)]),
        supported_binding_and_modes: "U".into(),
        battery_level: Some(100),
        ..Device::default()
    };
    assert_eq!(device.validate(), Ok(()));
    device.battery_level = Some(101);
    let err = device.validate().unwrap_err();
    assert_eq!(
        (err.resource, err.resource_name, err.kind),
        (
            Some(9),
            Some("Battery Level"),
            ObjectErrorKind::OutOfRange {
                resource_instance: None
            }
        )
    );
    assert_eq!(
        err.to_string(),
        "/3, resource 9 (Battery Level): value is outside the range of the resource"
    );
    device.battery_level = None;
    device.error_code.insert(3, 9);
    assert_eq!(
        device.validate().unwrap_err().kind,
        ObjectErrorKind::OutOfRange {
            resource_instance: Some(3)
        }
    );
    // The ACL is a 16-bit value.
    let acl = AccessControl {
        object_id: 3,
        object_instance_id: 0,
        acl: Some(ResourceInstances::from([(1, 0x1_0000)])),
        access_control_owner: 1,
    };
    assert_eq!(acl.validate().unwrap_err().resource, Some(2));
}
