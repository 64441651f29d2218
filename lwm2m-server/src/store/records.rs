//! The stored forms of credentials, observations and bootstrap configurations, in the same
//! shape as registration records ([`super::encode_registration`]): one version byte, then the
//! fields in postcard. Every durable store (redb, Redis, a third-party one) writes these bytes.
//!
//! Decoders return [`StoreError::Record`] naming the key the bytes were read from, so a damaged
//! value is reported with where it is.

use std::collections::BTreeMap;

use lwm2m_codec::coap::Token;
use lwm2m_model::{
    Node, Object, ObjectInstance, ObjectLink, Path, Resource, ResourceInstance, ResourceValue,
    Value,
};
use serde::{Deserialize, Serialize};

use super::{BootstrapConfig, Credential, Observation, RecordError, SecurityInfo, StoreError};
use crate::registration::RegistrationId;
use crate::Timestamp;

/// The current format of credential, observation and bootstrap configuration records.
pub const RECORD_VERSION: u8 = 1;

fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    // Serialising strings, integers, byte slices and vectors into a Vec cannot fail.
    postcard::to_extend(record, vec![RECORD_VERSION]).unwrap_or_else(|_| vec![RECORD_VERSION])
}

/// Checks the version byte and decodes the whole rest of `bytes`.
fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, RecordError> {
    let (&version, body) = bytes.split_first().ok_or(RecordError::Empty)?;
    if version != RECORD_VERSION {
        return Err(RecordError::UnsupportedVersion { version });
    }
    let (record, rest) = postcard::take_from_bytes(body)?;
    if !rest.is_empty() {
        return Err(RecordError::TrailingBytes { count: rest.len() });
    }
    Ok(record)
}

fn at_key(key: &str) -> impl FnOnce(RecordError) -> StoreError + '_ {
    move |source| StoreError::Record {
        key: key.to_owned(),
        source,
    }
}

fn invalid(field: &'static str) -> RecordError {
    RecordError::InvalidField { field }
}

#[derive(Serialize, Deserialize)]
enum CredentialV1<'a> {
    Psk(&'a str, &'a [u8]),
    RawPublicKey(&'a [u8]),
    X509,
}

/// Encodes a credential (the endpoint name is the key, not part of the record).
pub fn encode_credential(credential: &Credential) -> Vec<u8> {
    encode(&match credential {
        Credential::Psk { identity, key } => CredentialV1::Psk(identity, key),
        Credential::RawPublicKey { public_key } => CredentialV1::RawPublicKey(public_key),
        Credential::X509 => CredentialV1::X509,
    })
}

/// Decodes a credential record of `endpoint`, read from `key`.
pub fn decode_credential(
    key: &str,
    endpoint: &str,
    bytes: &[u8],
) -> Result<SecurityInfo, StoreError> {
    let credential = match decode(bytes).map_err(at_key(key))? {
        CredentialV1::Psk(identity, key) => Credential::Psk {
            identity: identity.to_owned(),
            key: key.to_vec(),
        },
        CredentialV1::RawPublicKey(key) => Credential::RawPublicKey {
            public_key: key.to_vec(),
        },
        CredentialV1::X509 => Credential::X509,
    };
    Ok(SecurityInfo {
        endpoint: endpoint.to_owned(),
        credential,
    })
}

#[derive(Serialize, Deserialize)]
struct ObservationV1<'a> {
    registration: &'a str,
    token: &'a [u8],
    path: Vec<u16>,
    content_format: Option<u16>,
    created_at: u64,
}

/// Encodes an observation.
///
/// ```
/// use lwm2m_codec::coap::Token;
/// use lwm2m_server::store::{decode_observation, encode_observation, Observation};
/// use lwm2m_server::Timestamp;
///
/// let observation = Observation {
///     registration: "5a3f".parse()?,
///     token: Token::from_u64(0xCAFE),
///     path: "/3/0/9".parse()?,
///     content_format: Some(11542),
///     created_at: Timestamp::from_unix_secs(1_700_000_000),
/// };
/// let bytes = encode_observation(&observation);
/// assert!(bytes.len() < 24);
/// assert_eq!(decode_observation("obs", &bytes)?, observation);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_observation(observation: &Observation) -> Vec<u8> {
    encode(&ObservationV1 {
        registration: observation.registration.as_str(),
        token: observation.token.as_slice(),
        path: observation.path.ids().to_vec(),
        content_format: observation.content_format,
        created_at: observation.created_at.as_unix_millis(),
    })
}

/// Decodes an observation record read from `key`, checking every field.
pub fn decode_observation(key: &str, bytes: &[u8]) -> Result<Observation, StoreError> {
    let parse = || -> Result<Observation, RecordError> {
        let record: ObservationV1<'_> = decode(bytes)?;
        Ok(Observation {
            registration: RegistrationId::parse(record.registration)
                .map_err(|_| invalid("registration"))?,
            token: Token::new(record.token).map_err(|_| invalid("token"))?,
            path: Path::new(&record.path).map_err(|_| invalid("path"))?,
            content_format: record.content_format,
            created_at: Timestamp::from_unix_millis(record.created_at),
        })
    };
    parse().map_err(at_key(key))
}

#[derive(Serialize, Deserialize)]
enum ValueV1 {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Opaque(Vec<u8>),
    Time(i64),
    Objlnk(u16, u16),
}

#[derive(Serialize, Deserialize)]
enum ResourceV1 {
    Single(ValueV1),
    Multiple(Vec<(u16, ValueV1)>),
}

#[derive(Serialize, Deserialize)]
enum NodeV1 {
    Object(u16, Vec<(u16, Vec<(u16, ResourceV1)>)>),
    ObjectInstance(u16, Vec<(u16, ResourceV1)>),
    Resource(u16, ResourceV1),
    ResourceInstance(u16, ValueV1),
}

#[derive(Serialize, Deserialize)]
struct BootstrapConfigV1 {
    delete: Vec<Vec<u16>>,
    writes: Vec<(Vec<u16>, NodeV1)>,
}

fn value_v1(value: &Value) -> ValueV1 {
    match value {
        Value::String(s) => ValueV1::String(s.clone()),
        Value::Integer(i) => ValueV1::Integer(*i),
        Value::Float(f) => ValueV1::Float(*f),
        Value::Boolean(b) => ValueV1::Boolean(*b),
        Value::Opaque(o) => ValueV1::Opaque(o.clone()),
        Value::Time(t) => ValueV1::Time(*t),
        Value::Objlnk(l) => ValueV1::Objlnk(l.object_id, l.instance_id),
    }
}

fn value_from(value: ValueV1) -> Value {
    match value {
        ValueV1::String(s) => Value::String(s),
        ValueV1::Integer(i) => Value::Integer(i),
        ValueV1::Float(f) => Value::Float(f),
        ValueV1::Boolean(b) => Value::Boolean(b),
        ValueV1::Opaque(o) => Value::Opaque(o),
        ValueV1::Time(t) => Value::Time(t),
        ValueV1::Objlnk(object_id, instance_id) => Value::Objlnk(ObjectLink {
            object_id,
            instance_id,
        }),
    }
}

fn resource_v1(resource: &Resource) -> ResourceV1 {
    match resource.value() {
        ResourceValue::Single(v) => ResourceV1::Single(value_v1(v)),
        ResourceValue::Multiple(m) => {
            ResourceV1::Multiple(m.iter().map(|(k, v)| (*k, value_v1(v))).collect())
        }
    }
}

fn resource_from(id: u16, resource: ResourceV1) -> Resource {
    match resource {
        ResourceV1::Single(v) => Resource::single(id, value_from(v)),
        ResourceV1::Multiple(m) => Resource::multiple(
            id,
            m.into_iter()
                .map(|(k, v)| (k, value_from(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

fn instance_v1(instance: &ObjectInstance) -> Vec<(u16, ResourceV1)> {
    instance
        .resources()
        .map(|r| (r.id(), resource_v1(r)))
        .collect()
}

fn instance_from(id: u16, resources: Vec<(u16, ResourceV1)>) -> ObjectInstance {
    ObjectInstance::with_resources(id, resources.into_iter().map(|(r, v)| resource_from(r, v)))
}

fn node_v1(node: &Node) -> NodeV1 {
    match node {
        Node::Object(o) => NodeV1::Object(
            o.id(),
            o.instances().map(|i| (i.id(), instance_v1(i))).collect(),
        ),
        Node::ObjectInstance(i) => NodeV1::ObjectInstance(i.id(), instance_v1(i)),
        Node::Resource(r) => NodeV1::Resource(r.id(), resource_v1(r)),
        Node::ResourceInstance(ri) => NodeV1::ResourceInstance(ri.id, value_v1(&ri.value)),
    }
}

fn node_from(node: NodeV1) -> Node {
    match node {
        NodeV1::Object(id, instances) => Node::Object(Object::with_instances(
            id,
            instances.into_iter().map(|(i, r)| instance_from(i, r)),
        )),
        NodeV1::ObjectInstance(id, resources) => Node::ObjectInstance(instance_from(id, resources)),
        NodeV1::Resource(id, r) => Node::Resource(resource_from(id, r)),
        NodeV1::ResourceInstance(id, v) => Node::ResourceInstance(ResourceInstance {
            id,
            value: value_from(v),
        }),
    }
}

/// Encodes a bootstrap configuration (the endpoint name is the key, not part of the record).
pub fn encode_bootstrap_config(config: &BootstrapConfig) -> Vec<u8> {
    encode(&BootstrapConfigV1 {
        delete: config.delete.iter().map(|p| p.ids().to_vec()).collect(),
        writes: config
            .writes
            .iter()
            .map(|(p, n)| (p.ids().to_vec(), node_v1(n)))
            .collect(),
    })
}

/// Decodes a bootstrap configuration record read from `key`.
pub fn decode_bootstrap_config(key: &str, bytes: &[u8]) -> Result<BootstrapConfig, StoreError> {
    let parse = || -> Result<BootstrapConfig, RecordError> {
        let record: BootstrapConfigV1 = decode(bytes)?;
        let path = |ids: &[u16]| Path::new(ids).map_err(|_| invalid("path"));
        Ok(BootstrapConfig {
            delete: record
                .delete
                .iter()
                .map(|p| path(p))
                .collect::<Result<_, _>>()?,
            writes: record
                .writes
                .into_iter()
                .map(|(p, n)| Ok((path(&p)?, node_from(n))))
                .collect::<Result<_, RecordError>>()?,
        })
    };
    parse().map_err(at_key(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BootstrapConfig {
        let security = ObjectInstance::with_resources(
            1,
            [
                Resource::single(0, "coaps://lwm2m.example:5684"),
                Resource::single(1, false),
                Resource::single(2, 0),
                Resource::single(3, Value::Opaque(b"id".to_vec())),
                Resource::single(10, 101),
            ],
        );
        let server = ObjectInstance::with_resources(
            0,
            [
                Resource::single(0, 101),
                Resource::single(1, 300),
                Resource::single(7, "U"),
                Resource::multiple(
                    22,
                    [
                        (0, Value::Float(1.5)),
                        (3, Value::Time(-5)),
                        (
                            4,
                            Value::Objlnk(ObjectLink {
                                object_id: 3,
                                instance_id: 0,
                            }),
                        ),
                    ],
                ),
            ],
        );
        BootstrapConfig {
            delete: vec![Path::ROOT, "/0/1".parse().unwrap()],
            writes: vec![
                ("/0/1".parse().unwrap(), Node::from(security)),
                (
                    "/1".parse().unwrap(),
                    Node::Object(Object::with_instances(1, [server])),
                ),
                (
                    "/3/0/1".parse().unwrap(),
                    Node::from(Resource::single(1, "model")),
                ),
                (
                    "/3/0/7/2".parse().unwrap(),
                    Node::from(ResourceInstance {
                        id: 2,
                        value: Value::Integer(3800),
                    }),
                ),
            ],
        }
    }

    #[test]
    fn bootstrap_config_round_trip() {
        let c = config();
        let bytes = encode_bootstrap_config(&c);
        assert_eq!(bytes[0], RECORD_VERSION);
        assert_eq!(decode_bootstrap_config("k", &bytes).unwrap(), c);
    }

    #[test]
    fn credential_round_trip_and_errors_name_the_key() {
        for credential in [
            Credential::Psk {
                identity: "id".into(),
                key: vec![1, 2],
            },
            Credential::RawPublicKey {
                public_key: vec![3; 91],
            },
            Credential::X509,
        ] {
            let bytes = encode_credential(&credential);
            let back = decode_credential("cred:a", "a", &bytes).unwrap();
            assert_eq!(back.credential, credential);
            assert_eq!(back.endpoint, "a");
        }
        let err = decode_credential("cred:a", "a", &[7, 1]).unwrap_err();
        assert!(matches!(
            &err,
            StoreError::Record { key, source: RecordError::UnsupportedVersion { version: 7 } } if key == "cred:a"
        ));
    }

    #[test]
    fn observation_rejections() {
        let bad_reg = encode(&ObservationV1 {
            registration: "UPPER",
            token: &[1],
            path: vec![3],
            content_format: None,
            created_at: 0,
        });
        let long_token = encode(&ObservationV1 {
            registration: "a",
            token: &[0; 9],
            path: vec![3],
            content_format: None,
            created_at: 0,
        });
        let deep_path = encode(&ObservationV1 {
            registration: "a",
            token: &[1],
            path: vec![3, 0, 1, 2, 5],
            content_format: None,
            created_at: 0,
        });
        for (bytes, field) in [
            (bad_reg, "registration"),
            (long_token, "token"),
            (deep_path, "path"),
        ] {
            match decode_observation("obs:x", &bytes) {
                Err(StoreError::Record {
                    key,
                    source: RecordError::InvalidField { field: f },
                }) => {
                    assert_eq!(key, "obs:x");
                    assert_eq!(f, field);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            decode_observation("k", &[]),
            Err(StoreError::Record {
                source: RecordError::Empty,
                ..
            })
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let bytes = encode_bootstrap_config(&config());
        for i in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xFF] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                let _ = decode_bootstrap_config("k", &b);
                let _ = decode_observation("k", &b);
                let _ = decode_credential("k", "e", &b);
            }
            let _ = decode_bootstrap_config("k", &bytes[..i]);
        }
    }
}
