//! Shared by the content tests: hex input, paths, and a registry with the core objects plus the
//! small objects the test vectors use (65, 66, 67 of the TS object-link examples, 72 of the
//! notification example, 1024 of the typed-values example).
#![allow(dead_code)] // each test file uses a different part

use lwm2m_model::{DataType, ObjectDefinition, Operations, Path, Registry, ResourceDefinition};

/// Bytes from space-separated hex ("C8 00 14 ...").
pub fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// A path from its text form.
pub fn path(text: &str) -> Path {
    text.parse().unwrap()
}

static OBJECT_65: [ResourceDefinition; 3] = [
    ResourceDefinition::new(0, "Links", Operations::Read, Some(DataType::Objlnk)).multiple(),
    ResourceDefinition::new(1, "Number", Operations::Read, Some(DataType::String)),
    ResourceDefinition::new(2, "Value", Operations::Read, Some(DataType::Integer)),
];
static OBJECT_66: [ResourceDefinition; 3] = [
    ResourceDefinition::new(0, "Service", Operations::Read, Some(DataType::String)),
    ResourceDefinition::new(1, "Network", Operations::Read, Some(DataType::String)),
    ResourceDefinition::new(2, "Link", Operations::Read, Some(DataType::Objlnk)),
];
static OBJECT_67: [ResourceDefinition; 2] = [
    ResourceDefinition::new(0, "Address", Operations::Read, Some(DataType::String)),
    ResourceDefinition::new(1, "Mask", Operations::Read, Some(DataType::String)),
];
static OBJECT_72: [ResourceDefinition; 1] = [ResourceDefinition::new(
    2,
    "Temperature",
    Operations::Read,
    Some(DataType::Float),
)];
static OBJECT_1024: [ResourceDefinition; 6] = [
    ResourceDefinition::new(0, "Flag", Operations::ReadWrite, Some(DataType::Boolean)),
    ResourceDefinition::new(1, "Level", Operations::ReadWrite, Some(DataType::Float)),
    ResourceDefinition::new(2, "Link", Operations::ReadWrite, Some(DataType::Objlnk)),
    ResourceDefinition::new(3, "Blob", Operations::ReadWrite, Some(DataType::Opaque)),
    ResourceDefinition::new(4, "Since", Operations::ReadWrite, Some(DataType::Time)),
    ResourceDefinition::new(5, "Run", Operations::Execute, None),
];

static TEST_OBJECTS: [ObjectDefinition; 5] = [
    ObjectDefinition::new(65, "Object 65", "urn:oma:lwm2m:oma:65", &OBJECT_65).multiple(),
    ObjectDefinition::new(66, "Object 66", "urn:oma:lwm2m:oma:66", &OBJECT_66).multiple(),
    ObjectDefinition::new(67, "Object 67", "urn:oma:lwm2m:oma:67", &OBJECT_67).multiple(),
    ObjectDefinition::new(72, "Object 72", "urn:oma:lwm2m:oma:72", &OBJECT_72).multiple(),
    ObjectDefinition::new(1024, "Object 1024", "urn:oma:lwm2m:x:1024", &OBJECT_1024).multiple(),
];

/// The core objects of lwm2m-objects and the test objects.
pub fn registry() -> Registry {
    let mut registry = lwm2m_objects::core_registry();
    for definition in &TEST_OBJECTS {
        registry.insert_static(definition).unwrap();
    }
    registry
}

/// Resource 5 of object 9000, of the given type (the single-value vectors of test-vectors §1.2
/// and §2 all use resource 5), plus the 16-bit ids 5700 (Float) and 5850 (Boolean), and resource
/// 2 as a multiple Integer.
pub fn single_value_registry(data_type: DataType) -> Registry {
    let resources = vec![
        ResourceDefinition::new(0, "Blob", Operations::ReadWrite, Some(DataType::Opaque)),
        ResourceDefinition::new(2, "Many", Operations::ReadWrite, Some(DataType::Integer))
            .multiple(),
        ResourceDefinition::new(5, "Value", Operations::ReadWrite, Some(data_type)),
        ResourceDefinition::new(11, "Codes", Operations::Read, Some(DataType::Integer)).multiple(),
        ResourceDefinition::new(13, "Time", Operations::ReadWrite, Some(DataType::Time)),
        ResourceDefinition::new(
            5700,
            "Sensor Value",
            Operations::Read,
            Some(DataType::Float),
        ),
        ResourceDefinition::new(
            5850,
            "On/Off",
            Operations::ReadWrite,
            Some(DataType::Boolean),
        ),
    ];
    let mut definition = ObjectDefinition::new(9000, "Values", "urn:oma:lwm2m:x:9000", &[]);
    definition.resources = resources.into();
    let mut registry = Registry::new();
    registry.insert(definition).unwrap();
    registry
}
