//! The Device instance of the TLV test vector (test-vectors.md §1.1, TS 6.4.3.1) as a typed
//! object.

use std::collections::BTreeMap;

use lwm2m_model::{Node, ObjectInstance, Resource, Value};
use lwm2m_objects::{Device, ResourceInstances, TypedObject};

fn vector_device() -> Device {
    Device {
        manufacturer: Some("Open Mobile Alliance".into()),
        model_number: Some("Lightweight M2M Client".into()),
        serial_number: Some("345000123".into()),
        firmware_version: Some("1.0".into()),
        available_power_sources: Some(ResourceInstances::from([(0, 1), (1, 5)])),
        power_source_voltage: Some(ResourceInstances::from([(0, 3800), (1, 5000)])),
        power_source_current: Some(ResourceInstances::from([(0, 125), (1, 900)])),
        battery_level: Some(100),
        memory_free: Some(15),
        error_code: ResourceInstances::from([(0, 0)]),
        current_time: Some(1_367_491_215),
        utc_offset: Some("+02:00".into()),
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    }
}

/// The instance as a TLV decoder without definitions produces it: Current Time is an Integer.
fn decoded_instance() -> ObjectInstance {
    ObjectInstance::with_resources(
        0,
        [
            Resource::single(0, "Open Mobile Alliance"),
            Resource::single(1, "Lightweight M2M Client"),
            Resource::single(2, "345000123"),
            Resource::single(3, "1.0"),
            Resource::multiple(6, [(0, 1), (1, 5)]),
            Resource::multiple(7, [(0, 3800), (1, 5000)]),
            Resource::multiple(8, [(0, 125), (1, 900)]),
            Resource::single(9, 100),
            Resource::single(10, 15),
            Resource::multiple(11, [(0, 0)]),
            Resource::single(13, Value::Integer(1_367_491_215)),
            Resource::single(14, "+02:00"),
            Resource::single(16, "U"),
        ],
    )
}

#[test]
fn test_vector_device_reads_from_the_decoded_instance() {
    let device = Device::from_instance(&decoded_instance()).unwrap();
    assert_eq!(device, vector_device());
}

#[test]
fn device_to_node_and_back() {
    let device = vector_device();
    let node = device.to_instance_node(0);
    let Node::ObjectInstance(instance) = &node else {
        panic!("expected an object instance, got {node:?}");
    };
    assert_eq!(instance.id(), 0);
    let ids: Vec<u16> = instance.resources().map(Resource::id).collect();
    assert_eq!(ids, [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 13, 14, 16]);
    // Written with the definition's types: Current Time is a Time value.
    assert_eq!(instance.value(13), Some(&Value::Time(1_367_491_215)));
    assert_eq!(
        instance.value(0),
        Some(&Value::from("Open Mobile Alliance"))
    );
    assert_eq!(
        instance.resource(7).and_then(|r| r.instance(1)),
        Some(&Value::Integer(5000))
    );
    // Same content as the decoded instance, apart from the Integer/Time distinction.
    let mut decoded = decoded_instance();
    decoded.insert(Resource::single(13, Value::Time(1_367_491_215)));
    assert_eq!(instance, &decoded);

    assert_eq!(Device::from_instance_node(&node).unwrap(), device);
    assert_eq!(
        <Device as TypedObject>::from_instance_node(&node).unwrap(),
        device
    );
    assert_eq!(device.validate(), Ok(()));
}

#[test]
fn device_as_an_object() {
    let device = vector_device();
    let object = Device::to_object([(0, &device)]);
    assert_eq!(object.id(), 3);
    let back = Device::from_object(&object).unwrap();
    assert_eq!(back, BTreeMap::from([(0, device)]));
}
