//! Properties of the content codecs: nodes survive encode → decode in TLV and JSON at every
//! level, and no payload in any format at any level makes a decoder panic; every refusal is a
//! typed error with a 4.xx code.

mod common;

use common::{path, registry};
use lwm2m_codec::coap::Code;
use lwm2m_model::content::{self, ContentFormat};
use lwm2m_model::{Node, Object, ObjectInstance, ObjectLink, Path, Resource, Value};
use proptest::prelude::*;
use std::fmt::Write as _;

const FORMATS: [ContentFormat; 5] = [
    ContentFormat::Text,
    ContentFormat::LinkFormat,
    ContentFormat::Opaque,
    ContentFormat::Tlv,
    ContentFormat::Json,
];

const TARGETS: [&str; 9] = [
    "/3",
    "/3/0",
    "/3/0/0",
    "/3/0/7",
    "/3/0/7/1",
    "/65/0",
    "/30000/1",
    "/1024/0/3",
    "/5/0/0",
];

/// An instance of object 1024 (Boolean, Float, Objlnk, Opaque, Time) with values of the right
/// types, plus resources no definition knows: raw bytes (TLV keeps them as Opaque) or JSON-typed
/// values (`json` chooses).
fn instance_1024(json: bool) -> impl Strategy<Value = ObjectInstance> {
    let unknown_value = if json {
        prop_oneof![
            any::<i64>().prop_map(Value::Integer),
            (-1e6f64..1e6).prop_map(Value::Float),
            any::<String>().prop_map(Value::String),
            any::<bool>().prop_map(Value::Boolean),
            (any::<u16>(), any::<u16>()).prop_map(|(o, i)| Value::Objlnk(ObjectLink::new(o, i))),
        ]
        .boxed()
    } else {
        prop::collection::vec(any::<u8>(), 0..10)
            .prop_map(Value::Opaque)
            .boxed()
    };
    (
        0u16..=65534,
        prop::option::of(any::<bool>()),
        prop::option::of(any::<f64>().prop_filter("finite", |f| f.is_finite())),
        prop::option::of((any::<u16>(), any::<u16>())),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..20)),
        prop::option::of(any::<i64>()),
        prop::collection::btree_map(100u16..200, unknown_value, 0..3),
    )
        .prop_map(|(id, flag, level, link, blob, since, unknown)| {
            let mut resources = Vec::new();
            resources.extend(flag.map(|v| Resource::single(0, v)));
            resources.extend(level.map(|v| Resource::single(1, v)));
            resources.extend(link.map(|(o, i)| Resource::single(2, ObjectLink::new(o, i))));
            resources.extend(blob.map(|v| Resource::single(3, v)));
            resources.extend(since.map(|v| Resource::single(4, Value::Time(v))));
            resources.extend(unknown.into_iter().map(|(r, v)| Resource::single(r, v)));
            ObjectInstance::with_resources(id, resources)
        })
}

fn round_trip(format: ContentFormat, target: &Path, node: &Node) -> Result<(), TestCaseError> {
    let registry = registry();
    let bytes = content::encode(format, target, node, &registry);
    prop_assert!(bytes.is_ok(), "{:?}", bytes.err());
    let decoded = content::decode(format, target, &bytes.unwrap(), &registry);
    prop_assert!(decoded.is_ok(), "{:?}", decoded.err());
    prop_assert_eq!(&decoded.unwrap().node, node);
    Ok(())
}

proptest! {
    #[test]
    fn tlv_round_trips_at_every_level(instance in instance_1024(false)) {
        let object_path = path("/1024");
        let instance_path = object_path.child(instance.id()).unwrap();
        round_trip(ContentFormat::Tlv, &object_path, &Node::Object(Object::with_instances(1024, [instance.clone()])))?;
        round_trip(ContentFormat::Tlv, &instance_path, &Node::ObjectInstance(instance.clone()))?;
        for resource in instance.resources() {
            let resource_path = instance_path.child(resource.id()).unwrap();
            round_trip(ContentFormat::Tlv, &resource_path, &Node::Resource(resource.clone()))?;
            // Text of a resource without a definition decodes to its raw bytes, not to the
            // Opaque value whose base64 was written: only defined resources round-trip.
            if resource.id() < 100 {
                round_trip(ContentFormat::Text, &resource_path, &Node::Resource(resource.clone()))?;
            }
        }
    }

    #[test]
    fn json_round_trips_at_every_level(instance in instance_1024(true)) {
        let object_path = path("/1024");
        let instance_path = object_path.child(instance.id()).unwrap();
        // An instance without resources has no entry in JSON: it reads back absent.
        if !instance.is_empty() {
            round_trip(ContentFormat::Json, &object_path, &Node::Object(Object::with_instances(1024, [instance.clone()])))?;
        }
        round_trip(ContentFormat::Json, &instance_path, &Node::ObjectInstance(instance.clone()))?;
        for resource in instance.resources() {
            let resource_path = instance_path.child(resource.id()).unwrap();
            round_trip(ContentFormat::Json, &resource_path, &Node::Resource(resource.clone()))?;
        }
    }

    #[test]
    fn multiple_resources_round_trip(values in prop::collection::btree_map(0u16..=65534, any::<i64>(), 0..5)) {
        let node = Node::Resource(Resource::multiple(7, values.clone()));
        round_trip(ContentFormat::Tlv, &path("/3/0/7"), &node)?;
        round_trip(ContentFormat::Json, &path("/3/0/7"), &node)?;
        for (&ri, &v) in &values {
            let target = path("/3/0/7").child(ri).unwrap();
            let one = Node::ResourceInstance(lwm2m_model::ResourceInstance { id: ri, value: Value::Integer(v) });
            round_trip(ContentFormat::Tlv, &target, &one)?;
            round_trip(ContentFormat::Json, &target, &one)?;
            round_trip(ContentFormat::Text, &target, &one)?;
        }
    }

    #[test]
    fn arbitrary_bytes_give_typed_errors(payload in prop::collection::vec(any::<u8>(), 0..96)) {
        let registry = registry();
        for format in FORMATS {
            for target in TARGETS {
                let target = path(target);
                if let Err(e) = content::decode(format, &target, &payload, &registry) {
                    prop_assert!(
                        [Code::BAD_REQUEST, Code::UNSUPPORTED_CONTENT_FORMAT].contains(&e.code()),
                        "{e}"
                    );
                }
                let _ = content::decode_timestamped(format, &target, &payload, &registry);
            }
        }
    }

    #[test]
    fn tlv_shaped_garbage_never_panics(payload in prop::collection::vec(
        prop_oneof![Just(0x08u8), Just(0x00), Just(0x88), Just(0x86), Just(0xC1), Just(0x41), Just(0x61), Just(0xE1), Just(0xFF), any::<u8>()],
        0..64,
    )) {
        let registry = registry();
        for target in TARGETS {
            let _ = content::decode(ContentFormat::Tlv, &path(target), &payload, &registry);
        }
    }

    #[test]
    fn json_shaped_garbage_never_panics(
        bn in prop::option::of(r"/[0-9/]{0,12}"),
        entries in prop::collection::vec((r"[0-9/]{0,8}", r#"("v":-?[0-9.e]{1,6}|"sv":"[A-Za-z0-9+/=:]{0,8}"|"bv":(true|false)|"ov":"[0-9F]{1,5}:[0-9F]{1,5}")"#, prop::option::of(-50i32..50)), 0..6),
        bt in prop::option::of(any::<i32>()),
    ) {
        let mut text = String::from("{");
        if let Some(bn) = &bn { let _ = write!(text, r#""bn":"{bn}","#); }
        if let Some(bt) = bt { let _ = write!(text, r#""bt":{bt},"#); }
        text.push_str(r#""e":["#);
        let body: Vec<String> = entries.iter().map(|(n, v, t)| match t {
            Some(t) => format!(r#"{{"n":"{n}",{v},"t":{t}}}"#),
            None => format!(r#"{{"n":"{n}",{v}}}"#),
        }).collect();
        text.push_str(&body.join(","));
        text.push_str("]}");
        let registry = registry();
        for target in TARGETS {
            let target = path(target);
            if let Ok(content) = content::decode(ContentFormat::Json, &target, text.as_bytes(), &registry) {
                // Whatever decodes, encodes (unless a value is a non-finite float).
                let _ = content::encode(ContentFormat::Json, &target, &content.node, &registry);
            }
        }
    }
}
