//! Plain text and opaque payloads ↔ single values: every vector of test-vectors §2, the
//! single-value rule, the Opaque-only rule, link-format, and the CoAP codes of each refusal.

mod common;

use common::{path, registry, single_value_registry};
use lwm2m_codec::coap::Code;
use lwm2m_model::content::{self, ContentError, ContentFormat, FormatRule};
use lwm2m_model::{DataType, Node, ObjectInstance, ObjectLink, Resource, ResourceInstance, Value};

fn text_vectors() -> Vec<(DataType, Value, &'static str)> {
    vec![
        (
            DataType::String,
            Value::from("Open Mobile Alliance"),
            "Open Mobile Alliance",
        ),
        (DataType::Integer, Value::Integer(-750), "-750"),
        (DataType::Integer, Value::Integer(86400), "86400"),
        (DataType::Float, Value::Float(23.5), "23.5"),
        (DataType::Float, Value::Float(6.667e-11), "0.00000000006667"),
        (DataType::Boolean, Value::Boolean(true), "1"),
        (DataType::Boolean, Value::Boolean(false), "0"),
        (DataType::Time, Value::Time(1_476_186_613), "1476186613"),
        (
            DataType::Opaque,
            Value::Opaque(vec![1, 2, 3, 4, 5]),
            "AQIDBAU=",
        ),
        (
            DataType::Opaque,
            Value::Opaque(vec![0xAB, 0xCD, 0xEF]),
            "q83v",
        ),
        (
            DataType::Opaque,
            Value::Opaque((0..16).collect()),
            "AAECAwQFBgcICQoLDA0ODw==",
        ),
        (DataType::Opaque, Value::Opaque(vec![]), ""),
        (
            DataType::Objlnk,
            Value::Objlnk(ObjectLink::new(3, 0)),
            "3:0",
        ),
        (
            DataType::Objlnk,
            Value::Objlnk(ObjectLink::NULL),
            "65535:65535",
        ),
    ]
}

#[test]
fn plain_text_vectors() {
    for (data_type, value, text) in text_vectors() {
        let registry = single_value_registry(data_type);
        let target = path("/9000/0/5");
        let content =
            content::decode(ContentFormat::Text, &target, text.as_bytes(), &registry).unwrap();
        assert_eq!(
            content.node,
            Node::Resource(Resource::single(5, value.clone())),
            "{text}"
        );
        let encoded = content::encode(ContentFormat::Text, &target, &content.node, &registry);
        assert_eq!(encoded.unwrap(), text.as_bytes(), "{value:?}");
    }
    // The exponent form is read too.
    let registry = single_value_registry(DataType::Float);
    let content = content::decode(
        ContentFormat::Text,
        &path("/9000/0/5"),
        b"6.667e-11",
        &registry,
    )
    .unwrap();
    assert_eq!(content.node, Node::Resource(Resource::single(5, 6.667e-11)));
}

#[test]
fn plain_text_rejections() {
    for (data_type, text) in [
        (DataType::Integer, "abc"),
        (DataType::Integer, "1.5"),
        (DataType::Boolean, "2"),
        (DataType::Objlnk, "3:"),
        (DataType::Objlnk, "70000:0"),
    ] {
        let registry = single_value_registry(data_type);
        let err = content::decode(
            ContentFormat::Text,
            &path("/9000/0/5"),
            text.as_bytes(),
            &registry,
        )
        .unwrap_err();
        assert!(matches!(err, ContentError::Text { .. }), "{text}: {err}");
        assert_eq!(err.code(), Code::BAD_REQUEST);
    }
}

#[test]
fn text_carries_one_value_only() {
    let registry = registry();
    // Decoding (a Write): 4.00. Encoding (a Read with Accept: 0): 4.06.
    for target in ["/3", "/3/0", "/3/0/7"] {
        let err = content::decode(ContentFormat::Text, &path(target), b"1", &registry).unwrap_err();
        assert_eq!(
            err,
            ContentError::FormatNotForTarget {
                format: ContentFormat::Text,
                target: path(target),
                rule: FormatRule::SingleValueOnly
            }
        );
        assert_eq!(err.code(), Code::BAD_REQUEST);
    }
    let instance = Node::ObjectInstance(ObjectInstance::with_resources(
        0,
        [Resource::single(9, 100)],
    ));
    let err =
        content::encode(ContentFormat::Text, &path("/3/0"), &instance, &registry).unwrap_err();
    assert_eq!(err.code(), Code::NOT_ACCEPTABLE);
    let voltages = Node::Resource(Resource::multiple(7, [(0, 3800)]));
    let err =
        content::encode(ContentFormat::Text, &path("/3/0/7"), &voltages, &registry).unwrap_err();
    assert_eq!(err.code(), Code::NOT_ACCEPTABLE);
    // One resource instance is one value.
    let content =
        content::decode(ContentFormat::Text, &path("/3/0/7/1"), b"5000", &registry).unwrap();
    let one = Node::ResourceInstance(ResourceInstance {
        id: 1,
        value: Value::Integer(5000),
    });
    assert_eq!(content.node, one);
    assert_eq!(
        content::encode(ContentFormat::Text, &path("/3/0/7/1"), &one, &registry).unwrap(),
        b"5000"
    );
    // An instance of a single resource does not exist.
    let err = content::decode(ContentFormat::Text, &path("/3/0/9/0"), b"1", &registry).unwrap_err();
    assert!(matches!(err, ContentError::Multiplicity { .. }), "{err}");
}

#[test]
fn opaque_format_carries_opaque_resources_only() {
    let registry = registry();
    // Firmware Update /5/0/0 Package is Opaque.
    let image = [0u8, 1, 2, 0xFF];
    let content =
        content::decode(ContentFormat::Opaque, &path("/5/0/0"), &image, &registry).unwrap();
    let package = Node::Resource(Resource::single(0, image.to_vec()));
    assert_eq!(content.node, package);
    assert_eq!(
        content::encode(ContentFormat::Opaque, &path("/5/0/0"), &package, &registry).unwrap(),
        image
    );
    // The Battery Level is an Integer.
    let err =
        content::decode(ContentFormat::Opaque, &path("/3/0/9"), &[100], &registry).unwrap_err();
    assert_eq!(
        err,
        ContentError::FormatNotForTarget {
            format: ContentFormat::Opaque,
            target: path("/3/0/9"),
            rule: FormatRule::OpaqueOnly
        }
    );
    let battery = Node::Resource(Resource::single(9, 100));
    let err =
        content::encode(ContentFormat::Opaque, &path("/3/0/9"), &battery, &registry).unwrap_err();
    assert_eq!(err.code(), Code::NOT_ACCEPTABLE);
    // A resource nobody defined keeps the bytes.
    let content = content::decode(
        ContentFormat::Opaque,
        &path("/3/0/30000"),
        &image,
        &registry,
    )
    .unwrap();
    assert_eq!(content.untyped, [path("/3/0/30000")]);
    let content =
        content::decode(ContentFormat::Text, &path("/3/0/30000"), b"abc", &registry).unwrap();
    assert_eq!(
        content.node,
        Node::Resource(Resource::single(30000, b"abc".to_vec()))
    );
}

#[test]
fn link_format_is_not_a_value_format() {
    let registry = registry();
    let err = content::decode(
        ContentFormat::LinkFormat,
        &path("/3/0"),
        b"</3/0>",
        &registry,
    )
    .unwrap_err();
    assert_eq!(err.code(), Code::UNSUPPORTED_CONTENT_FORMAT);
    let node = Node::ObjectInstance(ObjectInstance::new(0));
    let err =
        content::encode(ContentFormat::LinkFormat, &path("/3/0"), &node, &registry).unwrap_err();
    assert_eq!(err.code(), Code::NOT_ACCEPTABLE);
}

#[test]
fn text_encoding_of_each_type_reads_back() {
    let registry = registry();
    // Single resources of the Device and of object 1024 through text and back.
    for (target, value) in [
        ("/3/0/0", Value::from("Open Mobile Alliance")),
        ("/3/0/9", Value::Integer(100)),
        ("/3/0/13", Value::Time(1_367_491_215)),
        ("/1024/0/0", Value::Boolean(true)),
        ("/1024/0/1", Value::Float(-1.25)),
        ("/1024/0/2", Value::Objlnk(ObjectLink::new(3, 0))),
        ("/1024/0/3", Value::Opaque(vec![1, 2, 3])),
    ] {
        let target = path(target);
        let node = Node::Resource(Resource::single(target.resource_id().unwrap(), value));
        let text = content::encode(ContentFormat::Text, &target, &node, &registry).unwrap();
        let back = content::decode(ContentFormat::Text, &target, &text, &registry).unwrap();
        assert_eq!(back.node, node);
    }
    // NaN has no text form.
    let node = Node::Resource(Resource::single(1, f64::NAN));
    let err =
        content::encode(ContentFormat::Text, &path("/1024/0/1"), &node, &registry).unwrap_err();
    assert_eq!(err.code(), Code::INTERNAL_SERVER_ERROR);
}
