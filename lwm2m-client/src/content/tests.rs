use super::*;
use lwm2m_model::{Object, ObjectInstance, Resource, Value};
use lwm2m_objects::{Device, ResourceInstances, Server, TypedObject};

fn reg() -> Registry {
    lwm2m_objects::core_registry()
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn p(s: &str) -> Path {
    s.parse().unwrap()
}

fn device() -> Device {
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

const DEVICE_TLV: &str = "C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65 C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74 C8 02 09 33 34 35 30 30 30 31 32 33 C3 03 31 2E 30 86 06 41 00 01 41 01 05 88 07 08 42 00 0E D8 42 01 13 88 87 08 41 00 7D 42 01 03 84 C1 09 64 C1 0A 0F 83 0B 41 00 00 C4 0D 51 82 42 8F C6 0E 2B 30 32 3A 30 30 C1 10 55";

#[test]
fn device_instance_tlv_matches_the_spec_vector() {
    let node = device().to_instance_node(0);
    let bytes = encode(ContentFormat::Tlv, &p("/3/0"), &node, &reg()).unwrap();
    assert_eq!(bytes, hex(DEVICE_TLV));
    let back = decode(ContentFormat::Tlv, &p("/3/0"), &bytes, &reg()).unwrap();
    assert_eq!(back, node);
}

#[test]
fn device_object_tlv_is_wrapped_in_an_instance() {
    let object = Node::Object(Device::to_object([(0, &device())]));
    let bytes = encode(ContentFormat::Tlv, &p("/3"), &object, &reg()).unwrap();
    let mut expected = hex("08 00 79");
    expected.extend(hex(DEVICE_TLV));
    assert_eq!(bytes, expected);
}

#[test]
fn server_object_tlv_matches_the_corrected_vector() {
    let server = Server {
        short_server_id: 1,
        lifetime: 86400,
        notification_storing_when_disabled_or_offline: true,
        binding: "U".into(),
        ..Server::default()
    };
    let bytes = encode(
        ContentFormat::Tlv,
        &p("/1"),
        &Node::Object(Server::to_object([(0, &server)])),
        &reg(),
    )
    .unwrap();
    assert_eq!(
        bytes,
        hex("08 00 0F C1 00 01 C4 01 00 01 51 80 C1 06 01 C1 07 55")
    );
}

#[test]
fn json_single_and_multiple_resources_match_the_vectors() {
    let dev = device().to_instance(0);
    let r0 = Node::Resource(dev.resource(0).unwrap().clone());
    assert_eq!(
        encode(ContentFormat::Json, &p("/3/0/0"), &r0, &reg()).unwrap(),
        br#"{"bn":"/3/0/0","e":[{"sv":"Open Mobile Alliance"}]}"#
    );
    let r7 = Node::Resource(dev.resource(7).unwrap().clone());
    let bytes = encode(ContentFormat::Json, &p("/3/0/7"), &r7, &reg()).unwrap();
    assert_eq!(
        bytes,
        br#"{"bn":"/3/0/7/","e":[{"n":"0","v":3800},{"n":"1","v":5000}]}"#
    );
    assert_eq!(
        decode(ContentFormat::Json, &p("/3/0/7"), &bytes, &reg(),).unwrap(),
        r7
    );
    let whole = Node::ObjectInstance(dev);
    let bytes = encode(ContentFormat::Json, &p("/3/0"), &whole, &reg()).unwrap();
    assert_eq!(
        decode(ContentFormat::Json, &p("/3/0"), &bytes, &reg()).unwrap(),
        whole
    );
}

#[test]
fn text_and_opaque_carry_single_values_only() {
    let dev = device().to_instance(0);
    let r9 = Node::Resource(dev.resource(9).unwrap().clone());
    assert_eq!(
        encode(ContentFormat::Text, &p("/3/0/9"), &r9, &reg()).unwrap(),
        b"100"
    );
    let r7 = Node::Resource(dev.resource(7).unwrap().clone());
    assert_eq!(
        encode(ContentFormat::Text, &p("/3/0/7"), &r7, &reg())
            .unwrap_err()
            .code(),
        lwm2m_codec::coap::Code::NOT_ACCEPTABLE
    );
    assert_eq!(
        encode(ContentFormat::Opaque, &p("/3/0/9"), &r9, &reg())
            .unwrap_err()
            .code(),
        lwm2m_codec::coap::Code::NOT_ACCEPTABLE
    );
    let back = decode(ContentFormat::Text, &p("/3/0/13"), b"1476186613", &reg()).unwrap();
    assert_eq!(
        back,
        Node::Resource(Resource::single(13, Value::Time(1_476_186_613)))
    );
    let err = decode(ContentFormat::Text, &p("/3/0/13"), b"abc", &reg()).unwrap_err();
    assert_eq!(err.code(), lwm2m_codec::coap::Code::BAD_REQUEST);
    let err = decode(ContentFormat::Text, &p("/3/0"), b"1", &reg()).unwrap_err();
    assert_eq!(
        err.code(),
        lwm2m_codec::coap::Code::UNSUPPORTED_CONTENT_FORMAT
    );
}

#[test]
fn tlv_negative_vectors_are_bad_requests() {
    for (vector, path) in [
        ("C5 05 01 02", "/3/0"),
        ("C8 05", "/3/0"),
        ("08 00 03 C1 00", "/3/0"),
        ("86 02 41 7F 07 61 01 36 01", "/2/0"),
        ("C2 0D 00 01 02", "/3/0"),
    ] {
        let err = decode(ContentFormat::Tlv, &p(path), &hex(vector), &reg()).unwrap_err();
        assert_eq!(err.code(), lwm2m_codec::coap::Code::BAD_REQUEST, "{vector}");
    }
    // Boolean of length 2, and value 2, for Server /1/0/6.
    for vector in ["C2 06 00 01", "C1 06 02"] {
        let err = decode(ContentFormat::Tlv, &p("/1/0/6"), &hex(vector), &reg()).unwrap_err();
        assert_eq!(err.code(), lwm2m_codec::coap::Code::BAD_REQUEST, "{vector}");
    }
}

#[test]
fn create_payloads_with_and_without_an_instance_id() {
    let with = hex("08 02 11 C1 00 03 C1 01 00 86 02 41 65 0F 41 00 01 C1 03 65");
    let (id, instance) = decode_create(ContentFormat::Tlv, &p("/2"), &with, &reg()).unwrap();
    assert_eq!(id, Some(2));
    assert_eq!(instance.value(3), Some(&Value::Integer(101)));
    let bare = hex("C1 00 03 C1 01 00 C1 03 65");
    let (id, instance) = decode_create(ContentFormat::Tlv, &p("/2"), &bare, &reg()).unwrap();
    assert_eq!((id, instance.len()), (None, 3));
    let two = hex("08 00 03 C1 00 03 08 01 03 C1 00 03");
    assert!(decode_create(ContentFormat::Tlv, &p("/2"), &two, &reg()).is_err());
    let object = Node::Object(Object::with_instances(2, [ObjectInstance::new(0)]));
    assert_eq!(
        encode(ContentFormat::Tlv, &p("/2"), &object, &reg()).unwrap(),
        hex("00 00")
    );
}
