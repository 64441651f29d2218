//! The stored form of a [`Registration`]: one version byte, then the fields in postcard
//! (serde's compact binary format: varint integers, length-prefixed strings, no field names).
//!
//! A typical registration (10 object links, a 20-byte endpoint name) takes about 100 bytes. The
//! version byte lets a later release read old records and refuse records it does not know
//! ([`RecordError::UnsupportedVersion`]) instead of misreading them. Every stored store (the
//! embedded redb one, the in-memory one, and any third-party store) can use these functions.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use lwm2m_model::{BindingMode, Msisdn, RegisterParams, Version};
use serde::{Deserialize, Serialize};

use crate::registration::{CompactObjectLinks, Registration, RegistrationId};
use crate::Timestamp;

/// The current record format.
pub const REGISTRATION_RECORD_VERSION: u8 = 1;

/// A stored record cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The record has no bytes at all.
    #[error("empty record")]
    Empty,
    /// The record was written by a format this version does not know.
    #[error("record format version {version} is not supported (this build reads {REGISTRATION_RECORD_VERSION})")]
    UnsupportedVersion {
        /// The record's version byte.
        version: u8,
    },
    /// The bytes after the version byte do not decode.
    #[error("malformed record: {0}")]
    Malformed(#[from] postcard::Error),
    /// The record decodes but has bytes left over.
    #[error("{count} unexpected bytes after the record")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A field holds a value a registration cannot have.
    #[error("invalid {field} in the record")]
    InvalidField {
        /// The field.
        field: &'static str,
    },
}

#[derive(Serialize, Deserialize)]
enum PeerV1 {
    V4([u8; 4], u16),
    V6([u8; 16], u16, u32, u32),
}

#[derive(Serialize, Deserialize)]
struct RegistrationV1<'a> {
    id: &'a str,
    endpoint: &'a str,
    peer: PeerV1,
    lifetime: u32,
    lwm2m: (u8, u8),
    binding: u8,
    sms: Option<&'a str>,
    links: Vec<u32>,
    versions: Vec<(u16, u8, u8)>,
    root: Option<&'a str>,
    content_format: Option<u16>,
    additional: Vec<(&'a str, Option<&'a str>)>,
    registered_at: u64,
    updated_at: u64,
}

/// Encodes a registration in the current record format.
///
/// ```
/// use lwm2m_model::RegisterParams;
/// use lwm2m_server::registration::{CompactObjectLinks, Registration, RegistrationId};
/// use lwm2m_server::store::{decode_registration, encode_registration};
/// use lwm2m_server::Timestamp;
///
/// let reg = Registration::new(
///     "5a3f".parse()?,
///     RegisterParams::parse(["ep=node1", "lt=300"])?,
///     CompactObjectLinks::parse(b"</1/0>,</3/0>", 64)?,
///     "10.0.0.1:5683".parse()?,
///     Timestamp::from_unix_secs(1_700_000_000),
/// );
/// let bytes = encode_registration(&reg);
/// assert_eq!(bytes[0], 1);
/// assert!(bytes.len() < 64);
/// assert_eq!(decode_registration(&bytes)?, reg);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_registration(registration: &Registration) -> Vec<u8> {
    let (entries, versions, root, content_format) = registration.object_links().to_parts();
    let peer = match registration.peer() {
        SocketAddr::V4(a) => PeerV1::V4(a.ip().octets(), a.port()),
        SocketAddr::V6(a) => PeerV1::V6(a.ip().octets(), a.port(), a.flowinfo(), a.scope_id()),
    };
    let version = registration.lwm2m_version();
    let id = registration.id();
    let record = RegistrationV1 {
        id: id.as_str(),
        endpoint: registration.endpoint(),
        peer,
        lifetime: registration.lifetime(),
        lwm2m: (version.major, version.minor),
        binding: binding_index(registration.binding()),
        sms: registration.sms().map(Msisdn::as_str),
        links: entries.to_vec(),
        versions: versions
            .iter()
            .map(|(o, v)| (*o, v.major, v.minor))
            .collect(),
        root,
        content_format,
        additional: registration.additional_parameters().collect(),
        registered_at: registration.registered_at().as_unix_millis(),
        updated_at: registration.last_update().as_unix_millis(),
    };
    let out = vec![REGISTRATION_RECORD_VERSION];
    // Serialising plain strings, integers and vectors into a Vec cannot fail.
    match postcard::to_extend(&record, out) {
        Ok(bytes) => bytes,
        Err(_) => vec![REGISTRATION_RECORD_VERSION],
    }
}

/// Decodes a record written by [`encode_registration`], checking every field.
pub fn decode_registration(bytes: &[u8]) -> Result<Registration, RecordError> {
    let (&version, body) = bytes.split_first().ok_or(RecordError::Empty)?;
    if version != REGISTRATION_RECORD_VERSION {
        return Err(RecordError::UnsupportedVersion { version });
    }
    let (record, rest): (RegistrationV1<'_>, _) = postcard::take_from_bytes(body)?;
    if !rest.is_empty() {
        return Err(RecordError::TrailingBytes { count: rest.len() });
    }
    let invalid = |field| RecordError::InvalidField { field };
    let id = RegistrationId::parse(record.id).map_err(|_| invalid("id"))?;
    let mut params = RegisterParams::new(record.endpoint).map_err(|_| invalid("endpoint"))?;
    if record.lifetime == 0 {
        return Err(invalid("lifetime"));
    }
    params.lifetime = record.lifetime;
    params.lwm2m_version = Version::new(record.lwm2m.0, record.lwm2m.1);
    params.binding = *BindingMode::ALL
        .get(usize::from(record.binding))
        .ok_or(invalid("binding"))?;
    params.sms = record
        .sms
        .map(Msisdn::new)
        .transpose()
        .map_err(|_| invalid("sms"))?;
    params.additional = record
        .additional
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.map(str::to_owned)))
        .collect();
    let peer = match record.peer {
        PeerV1::V4(ip, port) => SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port),
        PeerV1::V6(ip, port, flow, scope) => {
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, flow, scope))
        }
    };
    if record
        .links
        .iter()
        .any(|&e| (e >> 16) == 0 || (e >> 16) == 0xFFFF)
    {
        return Err(invalid("links"));
    }
    if record
        .root
        .is_some_and(|r| !r.starts_with('/') || r.len() < 2)
    {
        return Err(invalid("root"));
    }
    let links = CompactObjectLinks::from_parts(
        record.links,
        record
            .versions
            .into_iter()
            .map(|(o, major, minor)| (o, Version::new(major, minor)))
            .collect(),
        record.root.map(str::to_owned),
        record.content_format,
    );
    let registered_at = Timestamp::from_unix_millis(record.registered_at);
    Ok(
        Registration::new(id, params, links, peer, registered_at).with_times(
            registered_at,
            Timestamp::from_unix_millis(record.updated_at),
        ),
    )
}

fn binding_index(binding: BindingMode) -> u8 {
    BindingMode::ALL
        .iter()
        .position(|b| *b == binding)
        .map_or(0, |i| i as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Registration {
        let mut params = RegisterParams::parse_lenient([
            "ep=urn:imei:123456789012345",
            "lt=86400",
            "b=UQS",
            "sms=447700900123",
            "x-vendor=acme",
            "flag",
        ])
        .unwrap();
        params.lwm2m_version = Version::new(1, 0);
        let links = CompactObjectLinks::parse(
            br#"</lwm2m>;rt="oma.lwm2m";ct=11543,</lwm2m/1/0>,</lwm2m/3/0>,</lwm2m/3303>;ver="1.1",</lwm2m/3303/0>"#,
            64,
        )
        .unwrap();
        Registration::new(
            RegistrationId::parse("abcdefgh1234").unwrap(),
            params,
            links,
            "[fe80::1%3]:40000".parse().unwrap(),
            Timestamp::from_unix_millis(1_700_000_000_123),
        )
        .with_times(
            Timestamp::from_unix_millis(1_700_000_000_123),
            Timestamp::from_unix_millis(1_700_000_100_456),
        )
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let reg = sample();
        let bytes = encode_registration(&reg);
        let back = decode_registration(&bytes).unwrap();
        assert_eq!(back, reg);
        assert_eq!(back.peer().to_string(), "[fe80::1%3]:40000");
        assert_eq!(back.last_update(), reg.last_update());
        assert_eq!(back.object_links().root_path(), "/lwm2m");
        assert_eq!(back.additional_parameters().len(), 2);
    }

    #[test]
    fn rejections() {
        let bytes = encode_registration(&sample());
        assert_eq!(decode_registration(&[]), Err(RecordError::Empty));
        let mut future = bytes.clone();
        future[0] = 2;
        assert_eq!(
            decode_registration(&future),
            Err(RecordError::UnsupportedVersion { version: 2 })
        );
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            decode_registration(&long),
            Err(RecordError::TrailingBytes { count: 1 })
        );
        assert!(matches!(
            decode_registration(&bytes[..bytes.len() - 1]),
            Err(RecordError::Malformed(_))
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let bytes = encode_registration(&sample());
        for i in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xFF] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                let _ = decode_registration(&b);
            }
            let _ = decode_registration(&bytes[..i]);
        }
    }
}
