//! TLV payloads ↔ nodes: every vector of test-vectors §1 (objects and instances, single values,
//! decoder negatives), the shape rules per request path, and unknown objects and resources.

mod common;

use common::{hex, path, registry, single_value_registry};
use lwm2m_codec::coap::Code;
use lwm2m_model::content::{self, Content, ContentError, ContentFormat};
use lwm2m_model::{DataType, Node, Object, ObjectInstance, ObjectLink, Path, Resource, Value};

const DEVICE: &str = "C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65 C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74 C8 02 09 33 34 35 30 30 30 31 32 33 C3 03 31 2E 30 86 06 41 00 01 41 01 05 88 07 08 42 00 0E D8 42 01 13 88 87 08 41 00 7D 42 01 03 84 C1 09 64 C1 0A 0F 83 0B 41 00 00 C4 0D 51 82 42 8F C6 0E 2B 30 32 3A 30 30 C1 10 55";

fn decode(target: &str, payload: &[u8]) -> Result<Content, ContentError> {
    content::decode(ContentFormat::Tlv, &path(target), payload, &registry())
}

fn encode(target: &str, node: &Node) -> Vec<u8> {
    content::encode(ContentFormat::Tlv, &path(target), node, &registry()).unwrap()
}

/// The Device instance as the definitions type it.
fn device_instance() -> ObjectInstance {
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
            Resource::single(13, Value::Time(1_367_491_215)),
            Resource::single(14, "+02:00"),
            Resource::single(16, "U"),
        ],
    )
}

#[test]
fn device_instance_121_bytes() {
    let payload = hex(DEVICE);
    assert_eq!(payload.len(), 121);
    let content = decode("/3/0", &payload).unwrap();
    assert_eq!(content.node, Node::ObjectInstance(device_instance()));
    assert!(content.untyped.is_empty());
    assert_eq!(content.time, None);
    assert_eq!(encode("/3/0", &content.node), payload);
}

#[test]
fn device_object_124_bytes() {
    let payload = hex(&format!("08 00 79 {DEVICE}"));
    assert_eq!(payload.len(), 124);
    let content = decode("/3", &payload).unwrap();
    let object = Object::with_instances(3, [device_instance()]);
    assert_eq!(content.node, Node::Object(object));
    assert_eq!(encode("/3", &content.node), payload);
    // An instance payload may also come wrapped in its Object-Instance TLV.
    let wrapped = decode("/3/0", &payload).unwrap();
    assert_eq!(wrapped.node, Node::ObjectInstance(device_instance()));
    // ... but only with the instance's own id.
    let err = decode("/3/1", &payload).unwrap_err();
    assert!(matches!(err, ContentError::NotUnderTarget { .. }), "{err}");
}

#[test]
fn access_control_two_instances() {
    let payload = hex("08 00 0E C1 00 01 C1 01 00 83 02 41 7F 07 C1 03 7F 08 02 12 C1 00 03 C1 01 00 87 02 41 7F 07 61 01 36 01 C1 03 7F");
    let content = decode("/2", &payload).unwrap();
    let expected = Object::with_instances(
        2,
        [
            ObjectInstance::with_resources(
                0,
                [
                    Resource::single(0, 1),
                    Resource::single(1, 0),
                    Resource::multiple(2, [(127, 7)]),
                    Resource::single(3, 127),
                ],
            ),
            ObjectInstance::with_resources(
                2,
                [
                    Resource::single(0, 3),
                    Resource::single(1, 0),
                    Resource::multiple(2, [(127, 7), (310, 1)]),
                    Resource::single(3, 127),
                ],
            ),
        ],
    );
    assert_eq!(content.node, Node::Object(expected));
    assert_eq!(encode("/2", &content.node), payload);
}

#[test]
fn server_one_instance() {
    let payload = hex("08 00 0F C1 00 01 C4 01 00 01 51 80 C1 06 01 C1 07 55");
    let content = decode("/1", &payload).unwrap();
    let expected = Object::with_instances(
        1,
        [ObjectInstance::with_resources(
            0,
            [
                Resource::single(0, 1),
                Resource::single(1, 86400),
                Resource::single(6, true),
                Resource::single(7, "U"),
            ],
        )],
    );
    assert_eq!(content.node, Node::Object(expected));
    assert_eq!(encode("/1", &content.node), payload);
}

#[test]
fn object_65_with_objlnk_multiple_resource() {
    let payload = hex("88 00 0C 44 00 00 42 00 00 44 01 00 42 00 01 C8 01 0D 38 36 31 33 38 30 30 37 35 35 35 30 30 C4 02 12 34 56 78");
    let content = decode("/65/0", &payload).unwrap();
    let expected = ObjectInstance::with_resources(
        0,
        [
            Resource::multiple(
                0,
                [(0, ObjectLink::new(66, 0)), (1, ObjectLink::new(66, 1))],
            ),
            Resource::single(1, "8613800755500"),
            Resource::single(2, 0x1234_5678),
        ],
    );
    assert_eq!(content.node, Node::ObjectInstance(expected));
    assert_eq!(encode("/65/0", &content.node), payload);
}

#[test]
fn object_66_two_instances_with_null_link() {
    let payload = hex("08 00 26 C8 00 0B 6D 79 53 65 72 76 69 63 65 20 31 C8 01 0F 49 6E 74 65 72 6E 65 74 2E 31 35 2E 32 33 34 C4 02 00 43 00 00 08 01 26 C8 00 0B 6D 79 53 65 72 76 69 63 65 20 32 C8 01 0F 49 6E 74 65 72 6E 65 74 2E 31 35 2E 32 33 35 C4 02 FF FF FF FF");
    let content = decode("/66", &payload).unwrap();
    let Node::Object(object) = &content.node else {
        panic!("not an object: {:?}", content.node)
    };
    assert_eq!(object.len(), 2);
    let first = object.instance(0).unwrap();
    assert_eq!(first.value(0), Some(&Value::from("myService 1")));
    assert_eq!(first.value(1), Some(&Value::from("Internet.15.234")));
    assert_eq!(first.value(2), Some(&Value::Objlnk(ObjectLink::new(67, 0))));
    let second = object.instance(1).unwrap();
    assert_eq!(second.value(0), Some(&Value::from("myService 2")));
    assert_eq!(second.value(2), Some(&Value::Objlnk(ObjectLink::NULL)));
    assert_eq!(encode("/66", &content.node), payload);
}

/// test-vectors §1.2: (type, value, resource path, bytes).
fn single_values() -> Vec<(DataType, Value, &'static str, &'static str)> {
    use DataType::{Boolean, Float, Integer, Objlnk, Opaque, String, Time};
    let int = |v: i64| Value::Integer(v);
    vec![
        (Integer, int(0), "/9000/0/5", "C1 05 00"),
        (Integer, int(1), "/9000/0/5", "C1 05 01"),
        (Integer, int(127), "/9000/0/5", "C1 05 7F"),
        (Integer, int(128), "/9000/0/5", "C2 05 00 80"),
        (Integer, int(-1), "/9000/0/5", "C1 05 FF"),
        (Integer, int(-128), "/9000/0/5", "C1 05 80"),
        (Integer, int(-129), "/9000/0/5", "C2 05 FF 7F"),
        (Integer, int(32767), "/9000/0/5", "C2 05 7F FF"),
        (Integer, int(32768), "/9000/0/5", "C4 05 00 00 80 00"),
        (Integer, int(-750), "/9000/0/5", "C2 05 FD 12"),
        (Integer, int(86400), "/9000/0/5", "C4 05 00 01 51 80"),
        (
            Integer,
            int(2_147_483_647),
            "/9000/0/5",
            "C4 05 7F FF FF FF",
        ),
        (
            Integer,
            int(2_147_483_648),
            "/9000/0/5",
            "C8 05 08 00 00 00 00 80 00 00 00",
        ),
        (
            Integer,
            int(i64::MIN),
            "/9000/0/5",
            "C8 05 08 80 00 00 00 00 00 00 00",
        ),
        (Float, Value::Float(23.5), "/9000/0/5", "C4 05 41 BC 00 00"),
        (Float, Value::Float(-1.25), "/9000/0/5", "C4 05 BF A0 00 00"),
        (Float, Value::Float(0.0), "/9000/0/5", "C4 05 00 00 00 00"),
        (
            Float,
            Value::Float(22.4),
            "/9000/0/5",
            "C8 05 08 40 36 66 66 66 66 66 66",
        ),
        (
            Float,
            Value::Float(43.918_998),
            "/9000/0/5",
            "C8 05 08 40 45 F5 A1 B9 F9 8B 72",
        ),
        (Boolean, Value::Boolean(true), "/9000/0/5", "C1 05 01"),
        (Boolean, Value::Boolean(false), "/9000/0/5", "C1 05 00"),
        (String, Value::from(""), "/9000/0/5", "C0 05"),
        (String, Value::from("U"), "/9000/0/5", "C1 05 55"),
        (
            String,
            Value::from("héllo"),
            "/9000/0/5",
            "C6 05 68 C3 A9 6C 6C 6F",
        ),
        (
            Opaque,
            Value::Opaque(vec![1, 2, 3, 4, 5]),
            "/9000/0/5",
            "C5 05 01 02 03 04 05",
        ),
        (Opaque, Value::Opaque(vec![]), "/9000/0/5", "C0 05"),
        (
            Time,
            Value::Time(1_367_491_215),
            "/9000/0/13",
            "C4 0D 51 82 42 8F",
        ),
        (
            Objlnk,
            Value::Objlnk(ObjectLink::new(3, 0)),
            "/9000/0/5",
            "C4 05 00 03 00 00",
        ),
        (
            Objlnk,
            Value::Objlnk(ObjectLink::NULL),
            "/9000/0/5",
            "C4 05 FF FF FF FF",
        ),
        (
            Integer,
            Value::Float(23.5),
            "/9000/0/5700",
            "E4 16 44 41 BC 00 00",
        ),
        (Integer, Value::Boolean(true), "/9000/0/5850", "E1 16 DA 01"),
    ]
}

#[test]
fn single_value_vectors() {
    for (data_type, value, target, bytes) in single_values() {
        let registry = single_value_registry(data_type);
        let target = path(target);
        let payload = hex(bytes);
        let content = content::decode(ContentFormat::Tlv, &target, &payload, &registry).unwrap();
        let id = target.resource_id().unwrap();
        assert_eq!(
            content.node,
            Node::Resource(Resource::single(id, value.clone())),
            "{bytes}"
        );
        assert_eq!(
            content::encode(ContentFormat::Tlv, &target, &content.node, &registry).unwrap(),
            payload,
            "{value:?}"
        );
    }
}

#[test]
fn container_vectors() {
    let registry = single_value_registry(DataType::Integer);
    let check = |target: &str, bytes: &str, node: Node| {
        let target = path(target);
        let payload = hex(bytes);
        let content = content::decode(ContentFormat::Tlv, &target, &payload, &registry).unwrap();
        assert_eq!(content.node, node, "{bytes}");
        let encoded = content::encode(ContentFormat::Tlv, &target, &node, &registry).unwrap();
        assert_eq!(encoded, payload, "{bytes}");
    };
    // Resource instance 310 (16-bit id) inside multiple resource 2.
    check(
        "/9000/0/2",
        "84 02 61 01 36 01",
        Node::Resource(Resource::multiple(2, [(310, 1)])),
    );
    // The same value read as a resource instance.
    check(
        "/9000/0/2/310",
        "84 02 61 01 36 01",
        Node::ResourceInstance(lwm2m_model::ResourceInstance {
            id: 310,
            value: Value::Integer(1),
        }),
    );
    // An empty multiple resource.
    check(
        "/9000/0/11",
        "80 0B",
        Node::Resource(Resource::multiple(11, Vec::<(u16, i64)>::new())),
    );
    // An object instance with no resources, and one with a 16-bit id.
    check(
        "/9000",
        "00 00",
        Node::Object(Object::with_instances(9000, [ObjectInstance::new(0)])),
    );
    check(
        "/9000",
        "23 01 2C C1 00 01",
        Node::Object(Object::with_instances(
            9000,
            [ObjectInstance::with_resources(
                300,
                [Resource::single(0, Value::Opaque(vec![1]))],
            )],
        )),
    );
    // A bare Resource-Instance TLV is accepted for a resource-instance path.
    let bare = content::decode(
        ContentFormat::Tlv,
        &path("/9000/0/2/310"),
        &hex("61 01 36 01"),
        &registry,
    )
    .unwrap();
    assert_eq!(
        bare.node,
        Node::ResourceInstance(lwm2m_model::ResourceInstance {
            id: 310,
            value: Value::Integer(1)
        })
    );
}

#[test]
fn long_opaque_values_use_16_and_24_bit_lengths() {
    let registry = single_value_registry(DataType::Opaque);
    for (len, header) in [(300usize, "D0 00 01 2C"), (70_000, "D8 00 01 11 70")] {
        let value: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut payload = hex(header);
        payload.extend_from_slice(&value);
        let target = path("/9000/0/0");
        let content = content::decode(ContentFormat::Tlv, &target, &payload, &registry).unwrap();
        assert_eq!(
            content.node,
            Node::Resource(Resource::single(0, Value::Opaque(value)))
        );
        let encoded = content::encode(ContentFormat::Tlv, &target, &content.node, &registry);
        assert_eq!(encoded.unwrap(), payload);
    }
}

#[test]
fn decoder_negative_vectors() {
    let cases = [
        (DataType::Integer, "/9000/0/5", "C5 05 01 02"),
        (DataType::Integer, "/9000/0/5", "C8 05"),
        (DataType::Integer, "/9000/0/5", "C3 05 00 00 01"),
        (DataType::Boolean, "/9000/0/5", "C2 05 00 01"),
        (DataType::Boolean, "/9000/0/5", "C1 05 02"),
        (DataType::Objlnk, "/9000/0/5", "C3 05 00 00 00"),
        (DataType::Float, "/9000/0/5", "C2 05 00 00"),
        (DataType::Integer, "/9000", "08 00 03 C1 00"),
        (DataType::Integer, "/9000/0/2", "86 02 41 7F 07 61 01 36 01"),
    ];
    for (data_type, target, bytes) in cases {
        let registry = single_value_registry(data_type);
        let err =
            content::decode(ContentFormat::Tlv, &path(target), &hex(bytes), &registry).unwrap_err();
        assert!(matches!(err, ContentError::Tlv { .. }), "{bytes}: {err}");
        assert_eq!(err.code(), Code::BAD_REQUEST, "{bytes}");
    }
    // The Access Control example as the TS prints it (the `86 02` typo) is refused too.
    let typo = hex("08 00 0E C1 00 01 C1 01 00 83 02 41 7F 07 C1 03 7F 08 02 12 C1 00 03 C1 01 00 86 02 41 7F 07 61 01 36 01 C1 03 7F");
    assert_eq!(decode("/2", &typo).unwrap_err().code(), Code::BAD_REQUEST);
}

#[test]
fn shape_rules_per_request_path() {
    let payload = hex(DEVICE);
    // Resource records where an object needs Object-Instance records.
    let err = decode("/3", &payload).unwrap_err();
    assert!(
        matches!(err, ContentError::UnexpectedRecord { offset: 0, .. }),
        "{err}"
    );
    // A resource payload with the wrong id, or with two records.
    let err = decode("/3/0/1", &hex("C1 09 64")).unwrap_err();
    assert!(matches!(err, ContentError::NotUnderTarget { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "byte 0 names /3/0/9, which is not a resource or resource instance under /3/0/1"
    );
    let err = decode("/3/0/9", &hex("C1 09 64 C1 09 65")).unwrap_err();
    assert!(matches!(err, ContentError::Duplicate { .. }), "{err}");
    // No value at all.
    let err = decode("/3/0/9", &[]).unwrap_err();
    assert_eq!(
        err,
        ContentError::MissingValue {
            target: path("/3/0/9")
        }
    );
    // A single resource sent as a multiple one and the reverse.
    let err = decode("/3/0/9", &hex("83 09 41 00 64")).unwrap_err();
    assert!(
        matches!(
            err,
            ContentError::Multiplicity {
                expected_multiple: false,
                ..
            }
        ),
        "{err}"
    );
    let err = decode("/3/0", &hex("C1 0B 00")).unwrap_err();
    assert!(
        matches!(
            err,
            ContentError::Multiplicity {
                expected_multiple: true,
                ..
            }
        ),
        "{err}"
    );
    // Duplicates in an instance and in an object.
    let err = decode("/3/0", &hex("C1 09 64 C1 09 64")).unwrap_err();
    assert_eq!(
        err,
        ContentError::Duplicate {
            path: path("/3/0/9"),
            location: lwm2m_model::content::Location::Byte(3)
        }
    );
    assert!(matches!(
        decode("/3", &hex("00 00 00 00")),
        Err(ContentError::Duplicate { .. })
    ));
    // The reserved id 65535.
    let err = decode("/3", &hex("20 FF FF 00")).unwrap_err();
    assert!(matches!(err, ContentError::ReservedId { .. }), "{err}");
    // The root path carries no content.
    assert_eq!(
        content::decode(ContentFormat::Tlv, &Path::ROOT, &[], &registry()),
        Err(ContentError::RootTarget)
    );
    // An object with no instances is an empty payload.
    assert_eq!(
        decode("/3", &[]).unwrap().node,
        Node::Object(Object::new(3))
    );
}

#[test]
fn unknown_resources_and_objects_keep_their_bytes() {
    // Resource 30000 of the Device is not in the definition.
    let content = decode("/3/0", &hex("C1 09 64 E1 75 30 07")).unwrap();
    let Node::ObjectInstance(instance) = &content.node else {
        panic!()
    };
    assert_eq!(instance.value(9), Some(&Value::Integer(100)));
    assert_eq!(instance.value(30000), Some(&Value::Opaque(vec![7])));
    assert_eq!(content.untyped, [path("/3/0/30000")]);
    // Object 30000 is not in the registry at all: every value stays raw.
    let content = decode("/30000", &hex("08 00 08 C1 00 01 83 01 41 02 09")).unwrap();
    let expected = Object::with_instances(
        30000,
        [ObjectInstance::with_resources(
            0,
            [
                Resource::single(0, Value::Opaque(vec![1])),
                Resource::multiple(1, [(2, Value::Opaque(vec![9]))]),
            ],
        )],
    );
    assert_eq!(content.node, Node::Object(expected));
    assert_eq!(content.untyped, [path("/30000/0/0"), path("/30000/0/1")]);
    // Raw values encode back to the same bytes.
    assert_eq!(
        encode("/30000", &content.node),
        hex("08 00 08 C1 00 01 83 01 41 02 09")
    );
    // Executable resources have no type either: a value for Reboot stays raw.
    let content = decode("/3/0/4", &hex("C1 04 01")).unwrap();
    assert_eq!(content.untyped, [path("/3/0/4")]);
}

#[test]
fn encoding_converts_values_to_the_resource_type_and_checks_the_node() {
    let registry = registry();
    // An Integer for the Time resource 13 and for the Float of object 1024 resource 1.
    let node = Node::Resource(Resource::single(13, 1_367_491_215));
    let tlv = content::encode(ContentFormat::Tlv, &path("/3/0/13"), &node, &registry).unwrap();
    assert_eq!(tlv, hex("C4 0D 51 82 42 8F"));
    let node = Node::Resource(Resource::single(1, 2));
    let tlv = content::encode(ContentFormat::Tlv, &path("/1024/0/1"), &node, &registry).unwrap();
    assert_eq!(tlv, hex("C4 01 40 00 00 00"));
    // Values that do not convert, nodes at the wrong place, executables: 5.00.
    let bad = [
        ("/3/0/9", Node::Resource(Resource::single(9, "full"))),
        ("/3/0/9", Node::Resource(Resource::single(8, 1))),
        ("/3/0/9", Node::Resource(Resource::multiple(9, [(0, 1)]))),
        ("/3/0/6", Node::Resource(Resource::single(6, 1))),
        ("/3/0/4", Node::Resource(Resource::single(4, 1))),
        ("/3", Node::ObjectInstance(ObjectInstance::new(0))),
        (
            "/3/0/6",
            Node::Resource(Resource::multiple(6, [(u16::MAX, 1)])),
        ),
    ];
    for (target, node) in bad {
        let err = content::encode(ContentFormat::Tlv, &path(target), &node, &registry).unwrap_err();
        assert!(
            matches!(err, ContentError::InvalidNode { .. }),
            "{target}: {err}"
        );
        assert_eq!(err.code(), Code::INTERNAL_SERVER_ERROR);
    }
    // Into a fixed buffer that is too small: an error, not a panic.
    let mut storage = [0u8; 8];
    let mut out: &mut [u8] = &mut storage;
    let node = Node::ObjectInstance(device_instance());
    let err = content::encode_into(
        ContentFormat::Tlv,
        &path("/3/0"),
        &node,
        &registry,
        &mut out,
    )
    .unwrap_err();
    assert!(matches!(err, ContentError::TlvWrite { .. }), "{err}");
}
