//! The generated objects through the content formats: the Device vectors of test-vectors §1.1
//! and §3 decode into `Device` and encode back byte for byte (TLV, JSON) or to an equivalent
//! payload (plain text, per single resource); for every generated object, random valid instances
//! survive struct → Node → encode → decode → Node → struct in TLV and JSON, the typed fast path
//! agrees with the Node path byte for byte, and garbage never panics.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::fmt::Debug;

use lwm2m_model::content::{self, ContentError, ContentFormat, TypedInstance};
use lwm2m_model::{Node, ObjectInstance, Path, ResourceValue};
use lwm2m_objects::*;
use proptest::prelude::*;

use common::valid_instance;

const DEVICE_TLV: &str = "C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65 C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74 C8 02 09 33 34 35 30 30 30 31 32 33 C3 03 31 2E 30 86 06 41 00 01 41 01 05 88 07 08 42 00 0E D8 42 01 13 88 87 08 41 00 7D 42 01 03 84 C1 09 64 C1 0A 0F 83 0B 41 00 00 C4 0D 51 82 42 8F C6 0E 2B 30 32 3A 30 30 C1 10 55";
const DEVICE_JSON: &str = r#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},{"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]}"#;

fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

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

#[test]
fn device_vectors_decode_into_the_struct() {
    let registry = core_registry();
    let instance_path = Path::parse("/3/0").unwrap();
    let object_path = Path::parse("/3").unwrap();
    let tlv = hex(DEVICE_TLV);
    let wrapped = hex(&format!("08 00 79 {DEVICE_TLV}"));
    let expected = vector_device();

    // Typed fast path: 121 bytes, the 124-byte wrapped form, 390 bytes of JSON.
    let typed = |format, payload: &[u8]| -> Device {
        content::decode_typed(format, &instance_path, payload).unwrap()
    };
    assert_eq!(typed(ContentFormat::Tlv, &tlv), expected);
    assert_eq!(typed(ContentFormat::Tlv, &wrapped), expected);
    assert_eq!(typed(ContentFormat::Json, DEVICE_JSON.as_bytes()), expected);

    // Through the Node tree.
    let node = content::decode(ContentFormat::Tlv, &instance_path, &tlv, &registry).unwrap();
    assert_eq!(Device::from_instance_node(&node.node).unwrap(), expected);
    let object = content::decode(ContentFormat::Tlv, &object_path, &wrapped, &registry).unwrap();
    let Node::Object(object) = object.node else {
        panic!("not an object")
    };
    assert_eq!(
        Device::from_object(&object).unwrap(),
        BTreeMap::from([(0, expected.clone())])
    );
    let json = content::decode(
        ContentFormat::Json,
        &instance_path,
        DEVICE_JSON.as_bytes(),
        &registry,
    )
    .unwrap();
    assert_eq!(Device::from_instance_node(&json.node).unwrap(), expected);
}

#[test]
fn device_encodes_back_byte_for_byte() {
    let registry = core_registry();
    let instance_path = Path::parse("/3/0").unwrap();
    let device = vector_device();
    let tlv = hex(DEVICE_TLV);
    assert_eq!(
        content::encode_typed(ContentFormat::Tlv, &instance_path, &device).unwrap(),
        tlv
    );
    assert_eq!(
        content::encode_typed(ContentFormat::Json, &instance_path, &device).unwrap(),
        DEVICE_JSON.as_bytes()
    );
    let node = device.to_instance_node(0);
    assert_eq!(
        content::encode(ContentFormat::Tlv, &instance_path, &node, &registry).unwrap(),
        tlv
    );
    assert_eq!(
        content::encode(ContentFormat::Json, &instance_path, &node, &registry).unwrap(),
        DEVICE_JSON.as_bytes()
    );
    let object = Node::Object(Device::to_object([(0, &device)]));
    assert_eq!(
        content::encode(
            ContentFormat::Tlv,
            &Path::parse("/3").unwrap(),
            &object,
            &registry
        )
        .unwrap(),
        hex(&format!("08 00 79 {DEVICE_TLV}"))
    );
}

#[test]
fn device_single_resources_through_plain_text() {
    let registry = core_registry();
    let Node::ObjectInstance(instance) = vector_device().to_instance_node(0) else {
        panic!()
    };
    let mut texts = Vec::new();
    for resource in instance.resources() {
        let target = Path::resource(3, 0, resource.id()).unwrap();
        let node = Node::Resource(resource.clone());
        let text = content::encode(ContentFormat::Text, &target, &node, &registry);
        if resource.is_multiple() {
            // A multiple resource is not one value: 4.06 for a Read with Accept: 0.
            assert!(matches!(text, Err(ContentError::NotAcceptable { .. })));
            continue;
        }
        let text = text.unwrap();
        // The text decodes to the value the TLV vector holds.
        let back = content::decode(ContentFormat::Text, &target, &text, &registry).unwrap();
        assert_eq!(back.node, node);
        texts.push((resource.id(), String::from_utf8(text).unwrap()));
    }
    assert_eq!(
        texts,
        [
            (0, "Open Mobile Alliance".to_string()),
            (1, "Lightweight M2M Client".into()),
            (2, "345000123".into()),
            (3, "1.0".into()),
            (9, "100".into()),
            (10, "15".into()),
            (13, "1367491215".into()),
            (14, "+02:00".into()),
            (16, "U".into()),
        ]
    );
}

#[test]
fn typed_decode_reports_what_from_instance_reports() {
    let instance_path = Path::parse("/3/0").unwrap();
    // Without the mandatory Supported Binding and Modes.
    let err =
        content::decode_typed::<Device>(ContentFormat::Tlv, &instance_path, &hex("C1 09 64 80 0B"))
            .unwrap_err();
    assert_eq!(
        err,
        ContentError::MissingMandatory {
            path: Path::parse("/3/0/16").unwrap()
        }
    );
    // A value for Reboot.
    let err = content::decode_typed::<Device>(ContentFormat::Tlv, &instance_path, &hex("C1 04 01"))
        .unwrap_err();
    assert!(matches!(err, ContentError::ExecutableValue { .. }), "{err}");
    // At a path that is not a Device instance.
    let err =
        content::decode_typed::<Device>(ContentFormat::Tlv, &Path::parse("/4/0").unwrap(), &[])
            .unwrap_err();
    assert!(
        matches!(err, ContentError::TypedTarget { object: 3, .. }),
        "{err}"
    );
    // Plain text carries no instance.
    let err =
        content::decode_typed::<Device>(ContentFormat::Text, &instance_path, b"U").unwrap_err();
    assert!(
        matches!(err, ContentError::FormatNotForTarget { .. }),
        "{err}"
    );
    // Unknown resources are skipped, as `from_instance` skips them.
    let mut payload = hex(DEVICE_TLV);
    payload.extend(hex("E1 75 30 07"));
    let device: Device =
        content::decode_typed(ContentFormat::Tlv, &instance_path, &payload).unwrap();
    assert_eq!(device, vector_device());
}

/// What JSON can carry of an instance: multiple resources without instances have no entry.
fn without_empty_multiples(instance: &ObjectInstance) -> ObjectInstance {
    ObjectInstance::with_resources(
        instance.id(),
        instance
            .resources()
            .filter(|r| !matches!(r.value(), ResourceValue::Multiple(m) if m.is_empty()))
            .cloned(),
    )
}

fn has_reserved_id(instance: &ObjectInstance) -> bool {
    instance.id() == u16::MAX
        || instance
            .resources()
            .any(|r| r.instances().is_some_and(|m| m.contains_key(&u16::MAX)))
}

fn check<T>(instance: &ObjectInstance) -> Result<(), TestCaseError>
where
    T: TypedObject + TypedInstance + PartialEq + Debug,
{
    if has_reserved_id(instance) {
        return Ok(());
    }
    let registry = core_registry();
    let typed = T::from_instance(instance).unwrap();
    let node = typed.to_instance_node(instance.id());
    let target = Path::object_instance(<T as TypedObject>::OBJECT_ID, instance.id()).unwrap();

    // TLV: struct → Node → bytes → Node → struct, and the typed path gives the same bytes.
    let tlv = content::encode(ContentFormat::Tlv, &target, &node, &registry).unwrap();
    prop_assert_eq!(
        &content::encode_typed(ContentFormat::Tlv, &target, &typed).unwrap(),
        &tlv
    );
    let decoded = content::decode(ContentFormat::Tlv, &target, &tlv, &registry).unwrap();
    prop_assert_eq!(&decoded.node, &node);
    prop_assert_eq!(&T::from_instance_node(&decoded.node).unwrap(), &typed);
    prop_assert_eq!(
        &content::decode_typed::<T>(ContentFormat::Tlv, &target, &tlv).unwrap(),
        &typed
    );

    // JSON: the same, up to multiple resources without instances, which JSON cannot carry.
    let json = content::encode(ContentFormat::Json, &target, &node, &registry).unwrap();
    prop_assert_eq!(
        &content::encode_typed(ContentFormat::Json, &target, &typed).unwrap(),
        &json
    );
    let decoded = content::decode(ContentFormat::Json, &target, &json, &registry).unwrap();
    let Node::ObjectInstance(original) = &node else {
        unreachable!()
    };
    let carried = without_empty_multiples(original);
    prop_assert_eq!(&decoded.node, &Node::ObjectInstance(carried.clone()));
    let typed_json = content::decode_typed::<T>(ContentFormat::Json, &target, &json);
    if let Ok(expected) = T::from_instance(&carried) {
        prop_assert_eq!(&T::from_instance_node(&decoded.node).unwrap(), &expected);
        prop_assert_eq!(&typed_json.unwrap(), &expected);
    } else {
        // A mandatory multiple resource that was empty: missing on both paths.
        let missing = matches!(typed_json, Err(ContentError::MissingMandatory { .. }));
        prop_assert!(missing, "{:?}", typed_json);
    }
    Ok(())
}

fn garbage<T: TypedInstance + Debug>(payload: &[u8]) {
    let target = Path::object_instance(T::definition().id, 0).unwrap();
    for format in [
        ContentFormat::Tlv,
        ContentFormat::Json,
        ContentFormat::Text,
        ContentFormat::Opaque,
        ContentFormat::LinkFormat,
    ] {
        let _ = content::decode_typed::<T>(format, &target, payload);
    }
}

macro_rules! content_tests {
    ($($module:ident: $type:ident,)*) => {
        mod round_trip {
            use super::*;
            proptest! {
                $(
                    #[test]
                    fn $module(instance in valid_instance(&$module::DEFINITION)) {
                        check::<$type>(&instance)?;
                    }
                )*
            }
        }

        proptest! {
            #[test]
            fn garbage_never_panics_in_typed_decoders(payload in prop::collection::vec(any::<u8>(), 0..80)) {
                $( garbage::<$type>(&payload); )*
            }
        }
    };
}

for_each_object!(content_tests);

#[test]
fn every_object_has_a_typed_instance() {
    macro_rules! definitions {
        ($($module:ident: $type:ident,)*) => {
            [$( <$type as TypedInstance>::definition().id ),*]
        };
    }
    let ids = for_each_object!(definitions);
    let registry = core_registry();
    let known: Vec<u16> = registry.objects().map(|d| d.id).collect();
    assert_eq!(ids.to_vec(), known);
}
