//! Malformed and hostile input: every datagram is answered or ignored as RFC 7252 §4.2/§4.3 says,
//! and nothing panics (a property test feeds random bytes, mutated valid messages and random
//! well-formed messages to endpoints in every state).

mod common;

use common::{content, get, hex, parse, post};
use lwm2m_codec::coap::{option, Block, Code, MessageBuilder, Token, Type};
use lwm2m_transport::{Config, Endpoint, Event, Instant, Request};
use proptest::prelude::*;

fn endpoint() -> Endpoint<u8> {
    Endpoint::new(Config::default(), [0x42; 32]).unwrap()
}

/// Feeds one datagram and returns what came out.
fn feed(endpoint: &mut Endpoint<u8>, datagram: &[u8]) -> (Vec<bytes::Bytes>, usize) {
    endpoint.handle_datagram(Instant::ZERO, 1, datagram);
    let mut sent = Vec::new();
    while let Some(t) = endpoint.poll_transmit() {
        sent.push(t.contents);
    }
    let mut events = 0;
    while endpoint.poll_event().is_some() {
        events += 1;
    }
    (sent, events)
}

#[test]
fn malformed_datagrams_get_rst_if_confirmable_and_silence_otherwise() {
    let mut nine_byte_token = hex("49 01 00 01");
    nine_byte_token.extend([0; 9]);
    let cases: Vec<(Vec<u8>, Option<u16>)> = vec![
        (nine_byte_token, Some(1)),
        (hex("80 01 00 01"), None),       // version 2: silently ignored
        (hex("40 01 00 01 F0"), Some(1)), // delta nibble 15
        (hex("40 01 00 01 0F"), Some(1)), // length nibble 15
        (hex("40 01 00 01 FF"), Some(1)), // payload marker without payload
        (hex("60 00 00 01 00"), None),    // empty ACK with a trailing byte
        (hex("50 01 00 02 F0"), None),    // NON with a bad option: dropped
        (hex("40 01"), None),             // truncated header
        (vec![], None),
        (hex("42 01 00 07 CA"), Some(7)), // token runs past the end
        (hex("40 00 00 08 01"), Some(8)), // empty CON with content
        (hex("41 00 00 09 AA"), Some(9)), // empty CON with a token
    ];
    for (datagram, reset) in cases {
        let mut ep = endpoint();
        let (sent, events) = feed(&mut ep, &datagram);
        assert_eq!(events, 0, "{datagram:02X?}");
        match reset {
            Some(mid) => {
                let [hi, lo] = mid.to_be_bytes();
                assert_eq!(
                    sent,
                    [bytes::Bytes::from(vec![0x70, 0, hi, lo])],
                    "{datagram:02X?}"
                );
            }
            None => assert!(sent.is_empty(), "{datagram:02X?} got {sent:02X?}"),
        }
    }
    for tkl in 9..=15u8 {
        let mut datagram = vec![0x40 | tkl, 0x01, 0x12, 0x34];
        datagram.extend(vec![0; usize::from(tkl)]);
        assert_eq!(
            feed(&mut endpoint(), &datagram).0,
            [bytes::Bytes::from(hex("70 00 12 34"))]
        );
        datagram[0] = 0x50 | tkl;
        assert!(feed(&mut endpoint(), &datagram).0.is_empty());
    }
}

#[test]
fn reserved_classes_and_misplaced_codes() {
    for class in [1u8, 6, 7] {
        let code = class << 5 | 3;
        assert_eq!(
            feed(&mut endpoint(), &[0x40, code, 0, 5]).0,
            [bytes::Bytes::from(hex("70 00 00 05"))]
        );
        assert!(feed(&mut endpoint(), &[0x50, code, 0, 5]).0.is_empty());
        assert!(feed(&mut endpoint(), &[0x60, code, 0, 5]).0.is_empty());
    }
    // An ACK carrying a request code, an RST carrying a code, a NON empty message: ignored.
    for datagram in [hex("60 01 00 05"), hex("70 45 00 05"), hex("50 00 00 05")] {
        let (sent, events) = feed(&mut endpoint(), &datagram);
        assert!(sent.is_empty() && events == 0, "{datagram:02X?}");
    }
}

#[test]
fn unknown_critical_options_get_402_in_con_and_silence_in_non() {
    // "CON GET with Uri-Path a and the unknown critical option 2001".
    let (sent, events) = feed(&mut endpoint(), &hex("40 01 00 01 B1 61 E0 06 B9"));
    assert_eq!(events, 0);
    let reply = parse(&sent[0]);
    assert_eq!(
        (reply.ty(), reply.code(), reply.message_id()),
        (Type::Acknowledgement, Code::BAD_OPTION, 1)
    );
    let (sent, events) = feed(&mut endpoint(), &hex("50 01 00 01 B1 61 E0 06 B9"));
    assert!(sent.is_empty() && events == 0);
    // An unknown elective option is ignored: the request is delivered.
    let (sent, events) = feed(&mut endpoint(), &hex("40 01 00 01 B1 61 E0 06 B8"));
    assert!(sent.is_empty() && events == 1);
    // A repeated Block2 (non-repeatable critical) is unrecognised: 4.02.
    let (sent, _) = feed(&mut endpoint(), &hex("40 01 00 01 B1 61 C1 16 01 16"));
    assert_eq!(parse(&sent[0]).code(), Code::BAD_OPTION);
}

/// An endpoint in a busy state: an outgoing exchange, an observation being set up, an upload
/// being reassembled, a relation, and requests awaiting the application.
fn busy_endpoint() -> Endpoint<u8> {
    let mut ep = endpoint();
    let now = Instant::ZERO;
    ep.start_request(now, 1, get("/a")).unwrap();
    ep.start_request(now, 2, post("/big", vec![7; 5000]))
        .unwrap();
    let observe = Request::build(Code::GET, |b| {
        b.uri_path("/o").observe(0);
    })
    .unwrap();
    ep.start_request(now, 3, observe).unwrap();
    ep.ping(now, 4).unwrap();
    let mut register = MessageBuilder::new(Type::Confirmable, Code::GET, 100);
    register
        .token(Token::from_u64(0xCAFE))
        .uri_path("/3/0/9")
        .observe(0);
    ep.handle_datagram(now, 1, &register.to_vec().unwrap());
    let mut upload = MessageBuilder::new(Type::Confirmable, Code::PUT, 101);
    upload
        .uri_path("/5/0/0")
        .block1(Block::new(0, true, 4).unwrap())
        .payload(&[1; 256]);
    ep.handle_datagram(now, 1, &upload.to_vec().unwrap());
    ep.handle_datagram(now, 1, &hex("41 01 00 66 0B B1 33"));
    while let Some(event) = ep.poll_event() {
        if let Event::Request { id, request, .. } = event {
            if request.is_observe_registration() {
                let relation = ep.accept_observation(now, id, content(&b"1"[..])).unwrap();
                ep.notify(now, relation, content(vec![9; 3000])).unwrap();
            }
        }
    }
    while ep.poll_transmit().is_some() {}
    ep
}

/// Checks the endpoint still works and only ever emits well-formed datagrams.
fn drain_and_check(ep: &mut Endpoint<u8>) {
    while let Some(t) = ep.poll_transmit() {
        assert!(
            lwm2m_codec::coap::Message::parse(&t.contents).is_ok(),
            "{:02X?}",
            t.contents
        );
    }
    while ep.poll_event().is_some() {}
}

fn interesting_message() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..4,
        prop_oneof![
            Just(0u8),
            1u8..5,
            0x40u8..0x46,
            Just(0x5F),
            0x80u8..0xA6,
            any::<u8>()
        ],
        any::<u16>(),
        prop_oneof![Just(0xCAFEu64), any::<u64>(), Just(0)],
        proptest::option::of(any::<u32>()),
        proptest::option::of(0u32..0x00FF_FFFF),
        proptest::option::of(0u32..0x00FF_FFFF),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(ty, code, mid, token, observe, block1, block2, payload)| {
            let code = Code::from_u8(code);
            let mut b = MessageBuilder::new(Type::from_bits(ty), code, mid);
            if code.is_empty() {
                return b.to_vec().unwrap();
            }
            b.token(Token::from_u64(token)).uri_path("/5/0/0");
            if let Some(v) = observe {
                b.uint_option(option::OBSERVE, v);
            }
            if let Some(v) = block1 {
                b.uint_option(option::BLOCK1, v);
            }
            if let Some(v) = block2 {
                b.uint_option(option::BLOCK2, v);
            }
            b.payload(&payload);
            b.to_vec().unwrap()
        })
}

proptest! {
    #[test]
    fn random_bytes_never_panic(datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..20)) {
        let mut ep = busy_endpoint();
        for (i, d) in datagrams.iter().enumerate() {
            ep.handle_datagram(Instant::from_millis(i as u64 * 700), (i % 4) as u8 + 1, d);
            drain_and_check(&mut ep);
        }
        ep.handle_timeout(Instant::from_secs(1000));
        drain_and_check(&mut ep);
    }

    #[test]
    fn mutated_valid_messages_never_panic(
        base in prop_oneof![
            Just(hex("42 01 00 08 CA FE 60 51 33 01 30 01 39")),
            Just(hex("62 45 00 08 CA FE 61 01 60 FF 31 30 30")),
            Just(hex("52 45 70 01 CA FE 61 02 60 FF 38 37")),
            Just(hex("41 03 01 00 20 B1 35 01 30 01 30 11 2A D1 02 0A FF AA AA AA AA")),
            Just(hex("61 44 03 80 20 D2 0E 27 F3")),
            Just(hex("40 03 03 01 C1 2A D3 23 01 40 00")),
        ],
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut datagram = base;
        for (at, byte, kind) in edits {
            let at = at % (datagram.len() + 1);
            match kind {
                0 if at < datagram.len() => datagram[at] = byte,
                1 => datagram.insert(at, byte),
                _ => datagram.truncate(at),
            }
        }
        let mut ep = busy_endpoint();
        ep.handle_datagram(Instant::from_millis(5), 1, &datagram);
        drain_and_check(&mut ep);
        ep.handle_timeout(Instant::from_secs(300));
        drain_and_check(&mut ep);
    }

    #[test]
    fn random_well_formed_messages_never_panic_and_tables_stay_bounded(
        messages in proptest::collection::vec((1u8..5, interesting_message()), 1..40),
    ) {
        let mut ep = busy_endpoint();
        for (i, (peer, m)) in messages.iter().enumerate() {
            ep.handle_datagram(Instant::from_millis(i as u64 * 300), *peer, m);
            drain_and_check(&mut ep);
        }
        let stats = ep.stats();
        prop_assert!(stats.incoming <= messages.len() + 2);
        ep.handle_timeout(Instant::from_secs(100_000));
        drain_and_check(&mut ep);
        let stats = ep.stats();
        prop_assert_eq!((stats.incoming, stats.dedup_entries, stats.uploads, stats.block2_cache_entries, stats.reassembly_bytes), (0, 0, 0, 0, 0));
    }
}
