//! LwM2M JSON payloads ↔ nodes: every vector of test-vectors §3 and its negative tests, names
//! outside the request path, times, the object-link hierarchy and untyped values.

mod common;

use common::{hex, path, registry};
use lwm2m_codec::coap::Code;
use lwm2m_model::content::{self, Content, ContentError, ContentFormat, Location};
use lwm2m_model::{Node, Object, ObjectInstance, ObjectLink, Resource, ResourceInstance, Value};

const DEVICE_JSON: &str = r#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},{"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]}"#;
const DEVICE_TLV: &str = "C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65 C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74 C8 02 09 33 34 35 30 30 30 31 32 33 C3 03 31 2E 30 86 06 41 00 01 41 01 05 88 07 08 42 00 0E D8 42 01 13 88 87 08 41 00 7D 42 01 03 84 C1 09 64 C1 0A 0F 83 0B 41 00 00 C4 0D 51 82 42 8F C6 0E 2B 30 32 3A 30 30 C1 10 55";

fn decode(target: &str, payload: &str) -> Result<Content, ContentError> {
    content::decode(
        ContentFormat::Json,
        &path(target),
        payload.as_bytes(),
        &registry(),
    )
}

fn encode(target: &str, node: &Node) -> String {
    let bytes = content::encode(ContentFormat::Json, &path(target), node, &registry()).unwrap();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn device_instance_390_bytes() {
    assert_eq!(DEVICE_JSON.len(), 390);
    let content = decode("/3/0", DEVICE_JSON).unwrap();
    let from_tlv = content::decode(
        ContentFormat::Tlv,
        &path("/3/0"),
        &hex(DEVICE_TLV),
        &registry(),
    )
    .unwrap();
    assert_eq!(content.node, from_tlv.node);
    assert!(content.untyped.is_empty() && content.linked.is_empty());
    assert_eq!(content.time, None);
    assert_eq!(encode("/3/0", &content.node), DEVICE_JSON);
    // The same instance inside a Read of /3.
    let as_read_of_3 = DEVICE_JSON
        .replace(r#""bn":"/3/0/""#, r#""bn":"/3/""#)
        .replace(r#""n":""#, r#""n":"0/"#);
    let object = decode("/3", &as_read_of_3).unwrap();
    let Node::Object(object) = object.node else {
        panic!()
    };
    assert_eq!(
        Some(&Node::ObjectInstance(object.instance(0).unwrap().clone())),
        Some(&from_tlv.node)
    );
    let as_object = encode("/3", &Node::Object(object));
    assert!(
        as_object.starts_with(r#"{"bn":"/3/","e":[{"n":"0/0","sv":"Open Mobile Alliance"}"#),
        "{as_object}"
    );
}

#[test]
fn single_resource_both_forms() {
    let expected = Node::Resource(Resource::single(0, "Open Mobile Alliance"));
    let ts_form = r#"{"bn":"/3/0/0","e":[{"sv":"Open Mobile Alliance"}]}"#;
    let wakaama_form = r#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"}]}"#;
    assert_eq!(decode("/3/0/0", ts_form).unwrap().node, expected);
    assert_eq!(decode("/3/0/0", wakaama_form).unwrap().node, expected);
    assert_eq!(encode("/3/0/0", &expected), ts_form);
}

#[test]
fn multiple_resource() {
    let payload = r#"{"bn":"/3/0/7/","e":[{"n":"0","v":3800},{"n":"1","v":5000}]}"#;
    let content = decode("/3/0/7", payload).unwrap();
    assert_eq!(
        content.node,
        Node::Resource(Resource::multiple(7, [(0, 3800), (1, 5000)]))
    );
    assert_eq!(encode("/3/0/7", &content.node), payload);
    // One instance of it, and an empty multiple resource (JSON has no entry for it).
    let one = decode("/3/0/7/1", r#"{"bn":"/3/0/7/","e":[{"n":"1","v":5000}]}"#).unwrap();
    // The other instance is outside /3/0/7/1.
    assert!(decode("/3/0/7/1", payload).is_err());
    assert_eq!(
        one.node,
        Node::ResourceInstance(ResourceInstance {
            id: 1,
            value: Value::Integer(5000)
        })
    );
    assert_eq!(
        encode("/3/0/7/1", &one.node),
        r#"{"bn":"/3/0/7/1","e":[{"v":5000}]}"#
    );
    let empty = decode("/3/0/7", r#"{"e":[]}"#).unwrap();
    assert_eq!(
        empty.node,
        Node::Resource(Resource::multiple(7, Vec::<(u16, i64)>::new()))
    );
}

#[test]
fn typed_values() {
    let payload = r#"{"bn":"/1024/0/","e":[{"n":"0","bv":true},{"n":"1","v":-1.25},{"n":"2","ov":"3:0"},{"n":"3","sv":"AQIDBAU="},{"n":"4","v":1476186613}]}"#;
    assert_eq!(payload.len(), 135);
    let content = decode("/1024/0", payload).unwrap();
    let expected = ObjectInstance::with_resources(
        0,
        [
            Resource::single(0, true),
            Resource::single(1, -1.25),
            Resource::single(2, ObjectLink::new(3, 0)),
            Resource::single(3, vec![1u8, 2, 3, 4, 5]),
            Resource::single(4, Value::Time(1_476_186_613)),
        ],
    );
    assert_eq!(content.node, Node::ObjectInstance(expected));
    assert_eq!(encode("/1024/0", &content.node), payload);
    // Leshan writes object links in "sv"; an integral "v" reads as a Float or Time.
    let lenient = decode(
        "/1024/0",
        r#"{"bn":"/1024/0/","e":[{"n":"2","sv":"66:1"},{"n":"1","v":2},{"n":"4","v":5.0}]}"#,
    )
    .unwrap();
    let Node::ObjectInstance(instance) = lenient.node else {
        panic!()
    };
    assert_eq!(
        instance.value(2),
        Some(&Value::Objlnk(ObjectLink::new(66, 1)))
    );
    assert_eq!(instance.value(1), Some(&Value::Float(2.0)));
    assert_eq!(instance.value(4), Some(&Value::Time(5)));
}

#[test]
fn notification_with_stored_values() {
    let payload = r#"{"bn":"/72/","bt":25462634,"e":[{"n":"1/2","v":22.4,"t":-5},{"n":"1/2","v":22.9,"t":-30},{"n":"1/2","v":24.1,"t":-50}]}"#;
    let samples = content::decode_timestamped(
        ContentFormat::Json,
        &path("/72"),
        payload.as_bytes(),
        &registry(),
    )
    .unwrap();
    let got: Vec<(Option<i64>, Node)> = samples.into_iter().map(|c| (c.time, c.node)).collect();
    let sample = |v: f64| {
        Node::Object(Object::with_instances(
            72,
            [ObjectInstance::with_resources(1, [Resource::single(2, v)])],
        ))
    };
    assert_eq!(
        got,
        [
            (Some(25_462_629), sample(22.4)),
            (Some(25_462_604), sample(22.9)),
            (Some(25_462_584), sample(24.1)),
        ]
    );
    // `decode` keeps the newest value and its time.
    let merged = decode("/72", payload).unwrap();
    assert_eq!((merged.time, merged.node), (Some(25_462_629), sample(22.4)));
    // A time that is not whole seconds.
    let err = decode("/72", r#"{"e":[{"n":"/72/1/2","v":1.0,"t":0.5}]}"#).unwrap_err();
    assert_eq!(
        err,
        ContentError::InvalidTime {
            location: Location::Entry(0)
        }
    );
}

#[test]
fn object_link_hierarchy() {
    let payload = r#"{"bn":"/","e":[{"n":"65/0/0/0","ov":"66:0"},{"n":"65/0/0/1","ov":"66:1"},{"n":"65/0/1","sv":"8613800755500"},{"n":"65/0/2","v":1},{"n":"66/0/0","sv":"myService1"},{"n":"66/0/1","sv":"Internet.15.234"},{"n":"66/0/2","ov":"67:0"},{"n":"66/1/0","sv":"myService2"},{"n":"66/1/1","sv":"Internet.15.235"},{"n":"66/1/2","ov":"FFFF:FFFF"},{"n":"67/0/0","sv":"85.76.76.84"},{"n":"67/0/1","sv":"85.76.255.255"}]}"#;
    let content = decode("/65/0", payload).unwrap();
    let expected = ObjectInstance::with_resources(
        0,
        [
            Resource::multiple(
                0,
                [(0, ObjectLink::new(66, 0)), (1, ObjectLink::new(66, 1))],
            ),
            Resource::single(1, "8613800755500"),
            Resource::single(2, 1),
        ],
    );
    assert_eq!(content.node, Node::ObjectInstance(expected));
    let service = |id: u16, name: &str, network: &str, link: ObjectLink| {
        ObjectInstance::with_resources(
            id,
            [
                Resource::single(0, name),
                Resource::single(1, network),
                Resource::single(2, link),
            ],
        )
    };
    assert_eq!(
        content.linked,
        [
            Object::with_instances(
                66,
                [
                    service(0, "myService1", "Internet.15.234", ObjectLink::new(67, 0)),
                    service(1, "myService2", "Internet.15.235", ObjectLink::NULL),
                ]
            ),
            Object::with_instances(
                67,
                [ObjectInstance::with_resources(
                    0,
                    [
                        Resource::single(0, "85.76.76.84"),
                        Resource::single(1, "85.76.255.255")
                    ]
                )]
            ),
        ]
    );
    // An instance nothing links to is not part of the answer.
    let stray = payload.replace(
        r#"{"n":"67/0/1","sv":"85.76.255.255"}"#,
        r#"{"n":"68/0/1","sv":"x"}"#,
    );
    let err = decode("/65/0", &stray).unwrap_err();
    assert!(
        matches!(
            err,
            ContentError::NotUnderTarget {
                location: Location::Entry(11),
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn negative_vectors() {
    let cases = [
        // Missing "e".
        r#"{"bn":"/3/0/"}"#,
        // Two value keys in one entry.
        r#"{"bn":"/3/0/","e":[{"n":"9","v":1,"sv":"1"}]}"#,
        // A name outside the request path.
        r#"{"bn":"/3/1/","e":[{"n":"9","v":1}]}"#,
        // A name that is not a resource: the instance itself.
        r#"{"bn":"/3/0","e":[{"v":1}]}"#,
        // Not a path at all.
        r#"{"bn":"/3/0/","e":[{"n":"x","v":1}]}"#,
        // A type that does not fit the resource.
        r#"{"bn":"/3/0/","e":[{"n":"9","sv":"100"}]}"#,
        r#"{"bn":"/3/0/","e":[{"n":"9","v":1.5}]}"#,
        r#"{"bn":"/3/0/","e":[{"n":"0","v":1}]}"#,
        // Bad base64 for an Opaque resource.
        r#"{"bn":"/1024/0/","e":[{"n":"3","sv":"AQI"}]}"#,
        // A single resource written as an instance, and the reverse.
        r#"{"bn":"/3/0/","e":[{"n":"9/0","v":1}]}"#,
        r#"{"bn":"/3/0/","e":[{"n":"7","v":1}]}"#,
        // The same value twice, and the reserved id.
        r#"{"bn":"/3/0/","e":[{"n":"9","v":1},{"n":"9","v":2}]}"#,
        r#"{"bn":"/3/0/","e":[{"n":"7/65535","v":1}]}"#,
        // Not JSON.
        "{",
    ];
    for payload in cases {
        let target = if payload.contains("1024") {
            "/1024/0"
        } else {
            "/3/0"
        };
        let err = decode(target, payload).unwrap_err();
        assert_eq!(err.code(), Code::BAD_REQUEST, "{payload}: {err}");
    }
    let err = decode("/3/0", r#"{"bn":"/3/1/","e":[{"n":"9","v":1}]}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry 0 names /3/1/9, which is not a resource or resource instance under /3/0"
    );
}

#[test]
fn untyped_values_keep_their_json_type() {
    let payload = r#"{"bn":"/3/0/","e":[{"n":"30000","v":7},{"n":"30001/0","v":0.5},{"n":"30002","bv":false},{"n":"30003","ov":"1:2"}]}"#;
    let content = decode("/3/0", payload).unwrap();
    let expected = ObjectInstance::with_resources(
        0,
        [
            Resource::single(30000, 7),
            Resource::multiple(30001, [(0, 0.5)]),
            Resource::single(30002, false),
            Resource::single(30003, ObjectLink::new(1, 2)),
        ],
    );
    assert_eq!(content.node, Node::ObjectInstance(expected));
    assert_eq!(content.untyped.len(), 4);
    assert_eq!(encode("/3/0", &content.node), payload);
}

#[test]
fn non_finite_floats_cannot_be_written() {
    let node = Node::Resource(Resource::single(1, f64::NAN));
    let err =
        content::encode(ContentFormat::Json, &path("/1024/0/1"), &node, &registry()).unwrap_err();
    assert!(matches!(err, ContentError::JsonWrite { .. }), "{err}");
    assert_eq!(err.code(), Code::INTERNAL_SERVER_ERROR);
}
