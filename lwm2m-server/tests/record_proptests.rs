//! Property tests of the credential, observation and bootstrap configuration records:
//! decode(encode(x)) == x, and arbitrary bytes never panic a decoder.

use lwm2m_codec::coap::Token;
use lwm2m_model::{
    Node, Object, ObjectInstance, ObjectLink, Path, Resource, ResourceInstance, Value,
};
use lwm2m_server::registration::RegistrationId;
use lwm2m_server::store::{
    decode_bootstrap_config, decode_credential, decode_observation, encode_bootstrap_config,
    encode_credential, encode_observation, BootstrapConfig, Credential, Observation,
};
use lwm2m_server::Timestamp;
use proptest::prelude::*;

fn path() -> impl Strategy<Value = Path> {
    proptest::collection::vec(0u16..65535, 0..=4).prop_map(|ids| Path::new(&ids).unwrap())
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[ -~]{0,16}".prop_map(Value::String),
        any::<i64>().prop_map(Value::Integer),
        // NaN is not equal to itself; every other float must come back bit for bit.
        any::<f64>()
            .prop_filter("not NaN", |f| !f.is_nan())
            .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Value::Opaque),
        any::<i64>().prop_map(Value::Time),
        (any::<u16>(), any::<u16>()).prop_map(|(o, i)| Value::Objlnk(ObjectLink {
            object_id: o,
            instance_id: i,
        })),
    ]
}

fn resource() -> impl Strategy<Value = Resource> {
    prop_oneof![
        (0u16..100, value()).prop_map(|(id, v)| Resource::single(id, v)),
        (
            0u16..100,
            proptest::collection::vec((0u16..10, value()), 0..4)
        )
            .prop_map(|(id, m)| Resource::multiple(id, m)),
    ]
}

fn instance() -> impl Strategy<Value = ObjectInstance> {
    (0u16..10, proptest::collection::vec(resource(), 0..5))
        .prop_map(|(id, r)| ObjectInstance::with_resources(id, r))
}

fn node() -> impl Strategy<Value = Node> {
    prop_oneof![
        (0u16..100, proptest::collection::vec(instance(), 0..3))
            .prop_map(|(id, i)| Node::Object(Object::with_instances(id, i))),
        instance().prop_map(Node::ObjectInstance),
        resource().prop_map(Node::Resource),
        (0u16..10, value())
            .prop_map(|(id, value)| Node::ResourceInstance(ResourceInstance { id, value })),
    ]
}

proptest! {
    #[test]
    fn observations_round_trip(
        id in "[0-9a-z]{1,12}",
        token in proptest::collection::vec(any::<u8>(), 0..=8),
        path in path(),
        content_format in proptest::option::of(any::<u16>()),
        created_at in any::<u64>(),
    ) {
        let observation = Observation {
            registration: RegistrationId::parse(&id).unwrap(),
            token: Token::new(&token).unwrap(),
            path,
            content_format,
            created_at: Timestamp::from_unix_millis(created_at),
        };
        let bytes = encode_observation(&observation);
        prop_assert_eq!(decode_observation("k", &bytes).unwrap(), observation);
    }

    #[test]
    fn credentials_round_trip(
        kind in 0u8..3,
        identity in "[ -~]{0,32}",
        key in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let credential = match kind {
            0 => Credential::Psk { identity, key },
            1 => Credential::RawPublicKey { public_key: key },
            _ => Credential::X509,
        };
        let bytes = encode_credential(&credential);
        let back = decode_credential("k", "ep", &bytes).unwrap();
        prop_assert_eq!(back.credential, credential);
        prop_assert_eq!(back.endpoint, "ep");
    }

    #[test]
    fn bootstrap_configs_round_trip(
        delete in proptest::collection::vec(path(), 0..4),
        writes in proptest::collection::vec((path(), node()), 0..4),
    ) {
        let config = BootstrapConfig { delete, writes };
        let bytes = encode_bootstrap_config(&config);
        prop_assert_eq!(decode_bootstrap_config("k", &bytes).unwrap(), config);
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = decode_observation("k", &bytes);
        let _ = decode_credential("k", "ep", &bytes);
        let _ = decode_bootstrap_config("k", &bytes);
        let mut versioned = bytes.clone();
        versioned.insert(0, 1);
        let _ = decode_observation("k", &versioned);
        let _ = decode_credential("k", "ep", &versioned);
        let _ = decode_bootstrap_config("k", &versioned);
    }
}
