use super::*;
use crate::path::Path;
use alloc::string::ToString;
use alloc::vec;

static SENSOR_RESOURCES: [ResourceDefinition; 2] = [
    ResourceDefinition::new(
        5605,
        "Reset Min and Max Measured Values",
        Operations::Execute,
        None,
    ),
    ResourceDefinition::new(
        5700,
        "Sensor Value",
        Operations::Read,
        Some(DataType::Float),
    )
    .mandatory(),
];

static STATIC_SENSOR: ObjectDefinition = ObjectDefinition::new(
    3300,
    "Generic Sensor",
    "urn:oma:lwm2m:ext:3300",
    &SENSOR_RESOURCES,
)
.multiple();

/// A small owned Device definition: resources 0 (String), 4 (Reboot, E), 9 (Battery Level).
fn device() -> ObjectDefinition {
    ObjectDefinition {
        resources: Cow::Owned(vec![
            ResourceDefinition::new(0, "Manufacturer", Operations::Read, Some(DataType::String)),
            ResourceDefinition::new(4, "Reboot", Operations::Execute, None).mandatory(),
            ResourceDefinition {
                range: Some(Range::Integer { min: 0, max: 100 }),
                units: Some(Cow::Borrowed("%")),
                ..ResourceDefinition::new(
                    9,
                    "Battery Level",
                    Operations::Read,
                    Some(DataType::Integer),
                )
            },
        ]),
        ..ObjectDefinition::new(3, "Device", "urn:oma:lwm2m:oma:3", &[]).mandatory()
    }
}

#[test]
fn operations_parse_and_flags() {
    let cases = [
        ("", Operations::None, false, false, false),
        ("R", Operations::Read, true, false, false),
        ("W", Operations::Write, false, true, false),
        ("RW", Operations::ReadWrite, true, true, false),
        ("E", Operations::Execute, false, false, true),
    ];
    for (text, ops, r, w, e) in cases {
        assert_eq!(Operations::parse(text), Some(ops));
        assert_eq!(ops.as_str(), text);
        assert_eq!(
            (ops.can_read(), ops.can_write(), ops.can_execute()),
            (r, w, e)
        );
        assert_eq!(ops.is_none(), text.is_empty());
    }
    for bad in ["WR", "RWE", "r", " R", "X"] {
        assert_eq!(Operations::parse(bad), None, "{bad}");
    }
    assert_eq!(Operations::None.to_string(), "none");
    assert_eq!(Operations::ReadWrite.to_string(), "RW");
}

#[test]
fn multiplicity_parse() {
    assert_eq!(Multiplicity::parse("Single"), Some(Multiplicity::Single));
    assert_eq!(
        Multiplicity::parse("Multiple"),
        Some(Multiplicity::Multiple)
    );
    assert_eq!(Multiplicity::parse("multiple"), None);
    assert_eq!(Multiplicity::Multiple.as_str(), "Multiple");
}

const CONST_RESOURCE: ResourceDefinition = ResourceDefinition::new(
    6,
    "Available Power Sources",
    Operations::Read,
    Some(DataType::Integer),
)
.multiple()
.mandatory();

const CONST_OBJECT: ObjectDefinition =
    ObjectDefinition::new(3, "Device", "urn:oma:lwm2m:oma:3", &[])
        .multiple()
        .mandatory()
        .with_version(Version::new(1, 1));

#[test]
fn const_helpers() {
    let r = CONST_RESOURCE;
    assert!(r.is_multiple());
    assert!(r.mandatory);
    assert!(!r.is_executable());
    let o = CONST_OBJECT;
    assert!(o.is_multiple());
    assert!(o.mandatory);
    assert_eq!(o.version, Version::new(1, 1));
    assert_eq!(o.validate(), Ok(()));
}

#[test]
fn validation_names_object_and_resource() {
    let mut def = device();
    assert_eq!(def.validate(), Ok(()));

    def.resources.to_mut()[1].data_type = Some(DataType::Integer); // Reboot (E)
    let err = def.validate().unwrap_err();
    assert_eq!(
        err,
        DefinitionError::resource(
            3,
            4,
            DefinitionErrorKind::ExecutableWithType(DataType::Integer)
        )
    );
    assert_eq!(
        err.to_string(),
        "object 3, resource 4: executable resource has type Integer (executable resources have no type)"
    );

    let mut def = device();
    def.resources.to_mut()[0].data_type = None;
    assert_eq!(
        def.validate(),
        Err(DefinitionError::resource(
            3,
            0,
            DefinitionErrorKind::MissingType
        ))
    );

    let mut def = device();
    def.resources.to_mut()[2].id = 4;
    assert_eq!(
        def.validate(),
        Err(DefinitionError::resource(
            3,
            4,
            DefinitionErrorKind::DuplicateResource
        ))
    );

    let mut def = device();
    def.resources.to_mut().swap(0, 2);
    assert_eq!(
        def.validate(),
        Err(DefinitionError::resource(
            3,
            4,
            DefinitionErrorKind::ResourcesNotSorted
        ))
    );

    let mut def = device();
    def.resources.to_mut()[2].range = Some(Range::Integer { min: 100, max: 0 });
    assert_eq!(
        def.validate(),
        Err(DefinitionError::resource(
            3,
            9,
            DefinitionErrorKind::BadRange {
                text: "100..0".into(),
                reason: RangeError::MinAboveMax
            }
        ))
    );

    let mut def = device();
    def.resources.to_mut()[2].id = 65535;
    assert_eq!(
        def.validate(),
        Err(DefinitionError::resource(
            3,
            65535,
            DefinitionErrorKind::InvalidId("65535".into())
        ))
    );

    let mut def = device();
    def.id = 65535;
    assert_eq!(
        def.validate().unwrap_err().to_string(),
        "object 65535: invalid id \"65535\" (expected 0-65534)"
    );
}

#[test]
fn security_resources_without_operations_are_valid() {
    let def = ObjectDefinition {
        resources: Cow::Owned(vec![ResourceDefinition::new(
            0,
            "LWM2M Server URI",
            Operations::None,
            Some(DataType::String),
        )]),
        ..ObjectDefinition::new(0, "LWM2M Security", "urn:oma:lwm2m:oma:0", &[])
    };
    assert_eq!(def.validate(), Ok(()));
    assert!(def.resources[0].operations.is_none());
}

#[test]
fn lookups() {
    let def = device();
    assert_eq!(
        def.resource(9).map(|r| r.name.as_ref()),
        Some("Battery Level")
    );
    assert!(def.resource(5).is_none());
    let mandatory: alloc::vec::Vec<u16> = def.mandatory_resources().map(|r| r.id).collect();
    assert_eq!(mandatory, [4]);

    let battery = def.resource(9).unwrap();
    assert!(battery.accepts(&Value::Integer(50)));
    assert!(!battery.accepts(&Value::Integer(101)));
    assert!(!battery.accepts(&Value::Float(50.0)));
    assert!(!def.resource(4).unwrap().accepts(&Value::Integer(0)));
    assert!(def.resource(0).unwrap().accepts(&Value::from("OMA")));
}

#[test]
fn registry_insert_get_replace() {
    let mut reg = Registry::new();
    assert!(reg.is_empty());
    assert_eq!(reg.insert(device()).unwrap(), None);
    assert_eq!(reg.insert_static(&STATIC_SENSOR).unwrap(), None);
    assert_eq!(reg.len(), 2);
    assert!(reg.contains(3));
    assert_eq!(
        reg.get(3300).map(|d| d.name.as_ref()),
        Some("Generic Sensor")
    );
    assert_eq!(
        reg.resource_at(&Path::resource_instance(3, 0, 9, 1).unwrap())
            .map(|r| r.id),
        Some(9)
    );
    assert!(reg.resource_at(&Path::object(3).unwrap()).is_none());
    assert_eq!(
        reg.objects().map(|d| d.id).collect::<alloc::vec::Vec<_>>(),
        [3, 3300]
    );
    let replaced = reg.insert(device()).unwrap();
    assert_eq!(replaced.map(|d| d.id), Some(3));
    assert_eq!(reg.len(), 2);
    assert!(reg.remove(3).is_some());
    assert!(reg.get(3).is_none());

    let mut bad = device();
    bad.resources.to_mut()[0].data_type = None;
    assert!(reg.insert(bad).is_err());
    assert!(reg.get(3).is_none(), "an invalid definition is not stored");
}

static BAD_RESOURCES: [ResourceDefinition; 2] = [
    ResourceDefinition::new(2, "b", Operations::Read, Some(DataType::String)),
    ResourceDefinition::new(1, "a", Operations::Read, Some(DataType::String)),
];
static BAD: ObjectDefinition = ObjectDefinition::new(9, "Bad", "urn:x", &BAD_RESOURCES);

#[test]
fn registry_from_static() {
    let reg = Registry::from_static(&[&STATIC_SENSOR]).unwrap();
    assert_eq!(reg.len(), 1);
    assert!(reg.resource(3300, 5605).unwrap().is_executable());
    assert_eq!(
        Registry::from_static(&[&STATIC_SENSOR, &BAD]).unwrap_err(),
        DefinitionError::resource(9, 1, DefinitionErrorKind::ResourcesNotSorted)
    );
}
