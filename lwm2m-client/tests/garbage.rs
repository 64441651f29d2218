//! Garbage in: bad paths, methods, payloads and formats get the TS's error codes; random
//! requests and random datagrams never panic the client and never stop it working.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use lwm2m_codec::coap::{Code, MessageBuilder, Type};
use lwm2m_transport::Request;
use proptest::prelude::*;

fn registered() -> Harness {
    let mut h = Harness::with(Setup {
        lights: true,
        ..Setup::default()
    });
    h.register_all();
    h
}

fn raw_path(code: Code, segments: &[&str]) -> Request {
    Request::build(code, |b| {
        for s in segments {
            b.uri_path_segment(s);
        }
    })
    .unwrap()
}

#[test]
fn bad_paths_and_methods() {
    let mut h = registered();
    for (segments, expected) in [
        (&["abc"][..], Code::BAD_REQUEST),
        (&["3", "00"][..], Code::BAD_REQUEST),
        (&["-1"][..], Code::BAD_REQUEST),
        (&["70000"][..], Code::BAD_REQUEST),
        (&["65535"][..], Code::BAD_REQUEST),
        (&["3", "0", "0", "0", "0"][..], Code::BAD_REQUEST),
        (&["3", "", "0"][..], Code::BAD_REQUEST),
        (&["3", "0", "7", "9"][..], Code::NOT_FOUND), // no such resource instance
        (&["3", "0", "7", "00"][..], Code::BAD_REQUEST),
        (&[""][..], Code::METHOD_NOT_ALLOWED),
    ] {
        assert_eq!(
            h.request(0, raw_path(Code::GET, segments)).code(),
            expected,
            "{segments:?}"
        );
    }
    // FETCH, PATCH and iPATCH are not LwM2M 1.0 operations.
    for detail in [5, 6, 7] {
        let method = Code::new(0, detail).unwrap();
        assert_eq!(
            h.request(0, raw_path(method, &["3", "0"])).code(),
            Code::METHOD_NOT_ALLOWED
        );
    }
    // POST to a resource instance, or to the root.
    assert_eq!(
        h.request(0, raw_path(Code::POST, &["3", "0", "7", "1"]))
            .code(),
        Code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        h.request(0, raw_path(Code::POST, &[])).code(),
        Code::METHOD_NOT_ALLOWED
    );
    // Uri-Query on a Read is ignored; a Write-Attributes without a query is a Write without a
    // Content-Format.
    assert_eq!(
        h.request(0, req(Code::GET, "/3/0/0", None, &["x=1"], b""))
            .code(),
        Code::CONTENT
    );
    assert_eq!(
        h.request(0, req(Code::PUT, "/3/0/13", None, &[], b""))
            .code(),
        Code::BAD_REQUEST
    );
}

#[test]
fn requests_from_strangers_are_refused() {
    let mut h = registered();
    let stranger: SocketAddr = "10.0.0.99:5683".parse().unwrap();
    let client = h.state.client.unwrap();
    let client_addr = h.client_addr();
    let mark = h.net.trace().len();
    h.net
        .inject(stranger, client, &hex("41 01 00 02 0B B1 33 01 30 01 30"));
    let reply = h.net.trace()[mark..]
        .iter()
        .find(|t| t.source == client_addr)
        .unwrap();
    assert_eq!(reply.datagram.as_ref(), hex("61 81 00 02 0B"));
}

#[test]
fn malformed_datagrams_change_nothing() {
    let mut h = registered();
    let mut nine = hex("49 01 00 01");
    nine.extend([0; 9]);
    for bytes in [
        nine,
        hex("80 01 00 01"),
        hex("40 01 00 01 F0"),
        hex("40 01 00 01 0F"),
        hex("40 01 00 01 FF"),
        hex("60 00 00 01 00"),
        vec![],
        vec![0x40],
    ] {
        let from = h.net.addr(h.state.servers[0]);
        let client = h.state.client.unwrap();
        h.net.inject(from, client, &bytes);
    }
    h.run_for(Duration::from_secs(1));
    assert!(h.client().is_registered(1));
    assert_eq!(
        text(&h.request(0, get("/3/0/0", None))),
        "Open Mobile Alliance"
    );
}

fn method() -> impl Strategy<Value = Code> {
    prop::sample::select(vec![
        Code::GET,
        Code::PUT,
        Code::POST,
        Code::DELETE,
        Code::new(0, 5).unwrap(),
    ])
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0", "1", "2", "3", "6", "3311", "0", "4", "5", "9", "11", "13", "14", "5850", "99",
            "65535", "x", ""
        ])
        .prop_map(String::from),
        any::<u16>().prop_map(|n| n.to_string()),
    ]
}

fn format() -> impl Strategy<Value = Option<u16>> {
    prop::option::of(prop::sample::select(vec![
        0u16, 40, 42, 11542, 11543, 1542, 1543, 60, 999,
    ]))
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48),
        prop::sample::select(vec![
            hex("C1 0D 05"),
            hex("08 00 04 E1 16 DA 01"),
            hex("C6 0E 2B 30 31 3A 30 30"),
            hex("83 02 41 65 0F"),
            b"1".to_vec(),
            b"7,0='x'".to_vec(),
            br#"{"bn":"/3/0/","e":[{"n":"13","v":1}]}"#.to_vec(),
            br#"{"bn":"/3311/","e":[{"n":"1/5850","bv":true}]}"#.to_vec(),
        ]),
    ]
}

#[derive(Debug, Clone)]
struct RandomRequest {
    code: Code,
    segments: Vec<String>,
    format: Option<u16>,
    accept: Option<u16>,
    observe: Option<u32>,
    query: Vec<String>,
    payload: Vec<u8>,
}

fn random_request() -> impl Strategy<Value = RandomRequest> {
    (
        method(),
        prop::collection::vec(segment(), 0..5),
        format(),
        format(),
        prop::option::of(prop::sample::select(vec![0u32, 1, 7])),
        prop::collection::vec(
            prop::sample::select(vec![
                "pmin=1", "pmax=2", "pmin", "gt=3", "lt=1", "st=0.5", "st=-1", "foo", "lt=x",
            ])
            .prop_map(String::from),
            0..3,
        ),
        payload(),
    )
        .prop_map(
            |(code, segments, format, accept, observe, query, payload)| RandomRequest {
                code,
                segments,
                format,
                accept,
                observe,
                query,
                payload,
            },
        )
}

impl RandomRequest {
    fn build(&self) -> Request {
        let mut b = MessageBuilder::new(Type::Confirmable, self.code, 0);
        for s in &self.segments {
            b.uri_path_segment(s);
        }
        if let Some(o) = self.observe {
            b.observe(o);
        }
        if let Some(f) = self.format {
            b.content_format(f);
        }
        for q in &self.query {
            b.uri_query(q);
        }
        if let Some(a) = self.accept {
            b.accept(a);
        }
        Request::from_builder(&b)
            .unwrap()
            .with_payload(self.payload.clone())
    }
}

const ALLOWED: [Code; 10] = [
    Code::CREATED,
    Code::DELETED,
    Code::CHANGED,
    Code::CONTENT,
    Code::BAD_REQUEST,
    Code::UNAUTHORIZED,
    Code::NOT_FOUND,
    Code::METHOD_NOT_ALLOWED,
    Code::NOT_ACCEPTABLE,
    Code::UNSUPPORTED_CONTENT_FORMAT,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_requests_get_lwm2m_codes_and_the_client_keeps_working(
        requests in prop::collection::vec(random_request(), 1..8)
    ) {
        let mut h = registered();
        for r in &requests {
            let response = h.request(0, r.build());
            prop_assert!(ALLOWED.contains(&response.code()), "{r:?} -> {:?}", response.code());
        }
        h.run_for(Duration::from_secs(400));
        prop_assert!(h.client().is_registered(1));
        let r = h.request(0, get("/3/0/16", None));
        prop_assert_eq!(r.code(), Code::CONTENT);
    }

    #[test]
    fn random_datagrams_never_panic(datagrams in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..16)) {
        let mut h = registered();
        let from = h.net.addr(h.state.servers[0]);
        let client = h.state.client.unwrap();
        for mut d in datagrams {
            // Half of them get a valid CoAP header so that they reach the LwM2M layer.
            if d.len() >= 4 && d[0] & 1 == 0 {
                d[0] = 0x40;
                d[1] &= 0x07;
            }
            h.net.inject(from, client, &d);
        }
        h.run_for(Duration::from_secs(1));
        prop_assert_eq!(h.request(0, get("/3/0/16", None)).code(), Code::CONTENT);
    }
}
