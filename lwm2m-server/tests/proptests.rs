//! Property tests: random requests never panic the registrar and keep its indexes consistent;
//! stored records and object links round-trip; arbitrary bytes never panic a decoder.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use common::{Harness, Req};
use lwm2m_codec::coap::{Code, Message, Type};
use lwm2m_model::{BindingMode, Msisdn, RegisterParams, Version};
use lwm2m_server::registration::{
    CompactObjectLinks, Registrar, RegistrarConfig, Registration, RegistrationId,
};
use lwm2m_server::store::{decode_registration, encode_registration};
use lwm2m_server::Timestamp;
use proptest::prelude::*;

fn query_item() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("ep".to_owned()),
        Just("lt".to_owned()),
        Just("lwm2m".to_owned()),
        Just("b".to_owned()),
        Just("sms".to_owned()),
        "[a-z]{0,6}",
    ];
    let value = prop_oneof![
        "[0-9]{0,12}",
        "[A-Z]{0,4}",
        "[ -~]{0,20}",
        Just("1.0".to_owned()),
        Just("1.1".to_owned()),
        Just("UQS".to_owned()),
    ];
    (key, proptest::option::of(value)).prop_map(|(k, v)| match v {
        Some(v) => format!("{k}={v}"),
        None => k,
    })
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        "[</>0-9a-z;=\",. ]{0,80}".prop_map(String::into_bytes),
        proptest::collection::vec((1u16..70, proptest::option::of(0u16..5)), 0..12).prop_map(
            |links| {
                links
                    .iter()
                    .map(|(o, i)| match i {
                        Some(i) => format!("</{o}/{i}>"),
                        None => format!("</{o}>"),
                    })
                    .collect::<Vec<_>>()
                    .join(",")
                    .into_bytes()
            }
        ),
    ]
}

fn code() -> impl Strategy<Value = Code> {
    prop_oneof![
        4 => Just(Code::POST),
        1 => Just(Code::DELETE),
        1 => Just(Code::GET),
        1 => Just(Code::PUT),
    ]
}

/// One registrar operation with random content.
#[derive(Debug, Clone)]
enum Op {
    Request {
        code: Code,
        target: u8,
        queries: Vec<String>,
        content_format: Option<u16>,
        payload: Vec<u8>,
        confirmable: bool,
        source: u8,
    },
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (
            code(),
            any::<u8>(),
            proptest::collection::vec(query_item(), 0..6),
            proptest::option::of(prop_oneof![Just(40u16), any::<u16>()]),
            payload(),
            proptest::bool::weighted(0.9),
            0u8..4,
        )
            .prop_map(|(code, target, queries, content_format, payload, confirmable, source)| {
                Op::Request { code, target, queries, content_format, payload, confirmable, source }
            }),
        1 => any::<u16>().prop_map(Op::Advance),
    ]
}

fn check_indexes(registrar: &Registrar) {
    let table = registrar.registrations();
    for reg in table.iter() {
        assert_eq!(table.get(reg.id()).map(Registration::id), Some(reg.id()));
        assert_eq!(
            table.by_endpoint(reg.endpoint()).map(Registration::id),
            Some(reg.id())
        );
        assert!(table.deadline_of(reg) >= table.next_deadline().unwrap());
    }
    assert_eq!(table.next_deadline().is_some(), !table.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_requests_never_panic_and_keep_the_table_consistent(ops in proptest::collection::vec(op(), 1..40)) {
        let mut h = Harness::with(Registrar::builder().config(RegistrarConfig {
            max_registrations: 50,
            ..RegistrarConfig::default()
        }));
        let allowed = ["2.01", "2.02", "2.04", "4.00", "4.03", "4.04", "4.05", "4.12", "5.03"];
        for op in ops {
            match op {
                Op::Advance(secs) => h.advance(u64::from(secs)),
                Op::Request { code, target, queries, content_format, payload, confirmable, source } => {
                    // Targets: /rd, an existing registration, an unknown id, other paths.
                    let ids: Vec<RegistrationId> = h.registrar.registrations().iter().map(Registration::id).collect();
                    let path = match target % 4 {
                        0 | 1 => "/rd".to_owned(),
                        2 if !ids.is_empty() => format!("/rd/{}", ids[usize::from(target) % ids.len()]),
                        2 => "/rd/zzzz".to_owned(),
                        _ => ["/bs", "/", "/rd/a/b", "/3/0"][usize::from(target / 4) % 4].to_owned(),
                    };
                    let req = Req {
                        ty: if confirmable { Type::Confirmable } else { Type::NonConfirmable },
                        code,
                        path: &path,
                        queries: queries.iter().map(String::as_str).collect(),
                        content_format,
                        payload: &payload,
                    };
                    let peer = SocketAddr::from(([10, 0, 0, source], 5683));
                    let answer = h.send(peer, &req);
                    prop_assert!(allowed.contains(&answer.code_str().as_str()), "{}", answer.code_str());
                    prop_assert_eq!(answer.response.location().is_some(), answer.code() == Code::CREATED);
                }
            }
            check_indexes(&h.registrar);
            let _ = h.events();
        }
    }

    #[test]
    fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let mut registrar = Registrar::builder().seed([0; 32]).build(Timestamp::UNIX_EPOCH).unwrap();
        if let Ok(msg) = Message::parse(&bytes) {
            let answer = registrar.handle_request(Timestamp::UNIX_EPOCH, "10.0.0.1:1".parse().unwrap(), &msg);
            let _ = answer.to_response();
            let _ = answer.write_piggybacked(&msg);
        }
    }

    #[test]
    fn arbitrary_link_payloads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128), text in "[</>0-9a-z;=\",. ]{0,80}") {
        let _ = CompactObjectLinks::parse(&bytes, 16);
        if let Ok(links) = CompactObjectLinks::parse(text.as_bytes(), 1024) {
            // Whatever was accepted prints as a payload that reads back the same.
            prop_assert_eq!(CompactObjectLinks::parse(links.to_string().as_bytes(), 1024).unwrap(), links);
        }
    }

    #[test]
    fn arbitrary_records_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        let _ = decode_registration(&bytes);
        let mut versioned = vec![1u8];
        versioned.extend_from_slice(&bytes);
        let _ = decode_registration(&versioned);
    }

    #[test]
    fn records_round_trip(reg in registration()) {
        let bytes = encode_registration(&reg);
        prop_assert_eq!(decode_registration(&bytes).unwrap(), reg);
    }

    #[test]
    fn object_links_round_trip_through_text(links in object_links()) {
        let text = links.to_string();
        prop_assert_eq!(CompactObjectLinks::parse(text.as_bytes(), 4096).unwrap(), links);
    }
}

fn object_links() -> impl Strategy<Value = CompactObjectLinks> {
    (
        proptest::collection::vec((1u16..=65534, proptest::option::of(0u16..=65534)), 0..20),
        proptest::collection::vec((1u16..=65534, 0u8..4, 0u8..10), 0..3),
        proptest::option::of("/[a-z]{1,8}(/[a-z]{1,4})?"),
        proptest::option::of(any::<u16>()),
    )
        .prop_map(|(entries, versions, root, ct)| {
            let root_text = root.clone().unwrap_or_default();
            let mut text = Vec::new();
            if root.is_some() || ct.is_some() {
                let mut link = format!(
                    "<{}>",
                    if root_text.is_empty() {
                        "/"
                    } else {
                        &root_text
                    }
                );
                if root.is_some() {
                    link.push_str(";rt=\"oma.lwm2m\"");
                }
                if let Some(ct) = ct {
                    link = format!("{link};ct={ct}");
                }
                text.push(link);
            }
            for (o, i) in entries {
                text.push(match i {
                    Some(i) => format!("<{root_text}/{o}/{i}>"),
                    None => format!("<{root_text}/{o}>"),
                });
            }
            for (o, major, minor) in versions {
                text.push(format!("<{root_text}/{o}>;ver=\"{major}.{minor}\""));
            }
            CompactObjectLinks::parse(text.join(",").as_bytes(), 4096).unwrap()
        })
}

fn peer() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<u32>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<u128>(), any::<u16>(), any::<u32>()).prop_map(|(ip, port, scope)| {
            SocketAddr::V6(std::net::SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                0,
                scope,
            ))
        }),
    ]
}

fn registration() -> impl Strategy<Value = Registration> {
    (
        "[0-9a-z]{1,12}",
        "[ -~]{1,40}",
        1u32..,
        (any::<u8>(), any::<u8>()),
        0usize..6,
        proptest::option::of("[0-9]{1,15}"),
        proptest::collection::vec(("[a-z]{1,8}", proptest::option::of("[ -~]{0,10}")), 0..3),
        object_links(),
        peer(),
        (any::<u64>(), any::<u64>()),
    )
        .prop_map(
            |(
                id,
                endpoint,
                lifetime,
                (major, minor),
                binding,
                sms,
                additional,
                links,
                peer,
                (t0, t1),
            )| {
                let mut params = RegisterParams::new(&endpoint).unwrap();
                params.lifetime = lifetime;
                params.lwm2m_version = Version::new(major, minor);
                params.binding = BindingMode::ALL[binding];
                params.sms = sms.map(|s| Msisdn::new(&s).unwrap());
                params.additional = additional;
                Registration::new(
                    RegistrationId::parse(&id).unwrap(),
                    params,
                    links,
                    peer,
                    Timestamp::from_unix_millis(t0),
                )
                .with_times(
                    Timestamp::from_unix_millis(t0),
                    Timestamp::from_unix_millis(t1),
                )
            },
        )
}
