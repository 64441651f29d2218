//! Block-wise transfer (RFC 7959) in both roles and directions: large uploads and downloads over a
//! lossy network, size negotiation, the 2.31/4.08/4.13/5.03 answers, the Block2 cache and the
//! test vectors.

mod common;

use std::time::Duration;

use common::{content, get, hex, lossy_link, parse, patient_config, post};
use lwm2m_codec::coap::{option, Block, Code, MessageBuilder, Token, Type};
use lwm2m_transport::sim::{Network, NodeId};
use lwm2m_transport::{Config, Endpoint, Event, ExchangeError, Instant, Response};

/// A deterministic pseudo-random body.
fn body(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

fn pair(seed: u64, client: Config, server: Config) -> (Network, NodeId, NodeId) {
    let mut net = Network::new(seed);
    let c = net.add_node(client);
    let s = net.add_node(server);
    (net, c, s)
}

#[test]
fn a_200_kib_block1_upload_survives_30_percent_loss_byte_exact_and_once() {
    let upload = body(200 * 1024, 1);
    let (mut net, client, server) = pair(21, patient_config(1), patient_config(1));
    net.set_default_link(lossy_link());
    let now = net.now();
    let server_addr = net.addr(server);
    let id = net
        .endpoint(client)
        .start_request(now, server_addr, post("/5/0/0", upload.clone()))
        .unwrap();
    let mut deliveries = 0;
    let mut response = None;
    net.run_until(
        Instant::from_secs(10_000_000),
        |net, node, event| match event {
            Event::Request { id, request, .. } => {
                deliveries += 1;
                assert_eq!(request.body().len(), upload.len());
                assert!(request.body()[..] == upload[..], "upload corrupted");
                assert_eq!(request.content_format(), Some(42));
                let now = net.now();
                net.endpoint(node)
                    .respond(now, id, Response::new(Code::CHANGED))
                    .unwrap();
            }
            Event::Response {
                id: done,
                response: r,
                ..
            } => response = Some((done, r.code())),
            other => panic!("{other:?}"),
        },
    );
    assert_eq!(deliveries, 1);
    assert_eq!(response, Some((id, Code::CHANGED)));
    // 200 blocks of 1024 bytes went out (plus retransmissions), the first with Size1.
    let client_addr = net.addr(client);
    let first = net
        .trace()
        .iter()
        .map(|e| parse(&e.datagram))
        .find(|m| m.block1() == Ok(Some(Block::new(0, true, 6).unwrap())))
        .unwrap()
        .size1();
    assert_eq!(first, Ok(Some(200 * 1024)));
    let nums: std::collections::BTreeSet<u32> = net
        .trace()
        .iter()
        .filter(|e| e.source == client_addr)
        .filter_map(|e| parse(&e.datagram).block1().ok().flatten())
        .map(Block::num)
        .collect();
    assert_eq!(nums.len(), 200);
    for times in common::con_request_sends(net.trace(), client_addr).values() {
        common::assert_backoff(times, 16);
    }
    for node in [client, server] {
        assert_eq!(net.endpoint(node).stats().reassembly_bytes, 0);
    }
}

#[test]
fn a_200_kib_block2_download_survives_30_percent_loss_byte_exact() {
    let resource = body(200 * 1024, 2);
    let (mut net, client, server) = pair(22, patient_config(1), patient_config(1));
    net.set_default_link(lossy_link());
    let now = net.now();
    let server_addr = net.addr(server);
    let id = net
        .endpoint(client)
        .start_request(now, server_addr, get("/fw"))
        .unwrap();
    let mut asked = 0;
    let mut got = None;
    net.run_until(
        Instant::from_secs(10_000_000),
        |net, node, event| match event {
            Event::Request { id, .. } => {
                asked += 1;
                let now = net.now();
                net.endpoint(node)
                    .respond(now, id, content(resource.clone()))
                    .unwrap();
            }
            Event::Response {
                id: done, response, ..
            } => got = Some((done, response)),
            other => panic!("{other:?}"),
        },
    );
    let (done, response) = got.expect("no response");
    assert_eq!(done, id);
    assert!(response.body()[..] == resource[..], "download corrupted");
    assert_eq!(response.content_format(), Some(42));
    assert_eq!(
        asked, 1,
        "later blocks come from the cache, not the application"
    );
    let server_addr = net.addr(server);
    let first = net
        .trace()
        .iter()
        .filter(|e| e.source == server_addr)
        .map(|e| parse(&e.datagram))
        .find(|m| m.block2().ok().flatten().is_some_and(|b| b.num() == 0))
        .unwrap()
        .size2();
    assert_eq!(first, Ok(Some(200 * 1024)));
    assert_eq!(net.endpoint(client).stats().reassembly_bytes, 0);
    let client_addr = net.addr(client);
    let sends = common::con_request_sends(net.trace(), client_addr);
    assert_eq!(sends.len(), 200, "one GET per block");
    for times in sends.values() {
        common::assert_backoff(times, 16);
    }
}

#[test]
fn a_server_asking_for_smaller_blocks_makes_the_client_renumber() {
    let upload = body(5000, 3);
    let small = Config {
        block_size: 128,
        ..Config::default()
    };
    let (mut net, client, server) = pair(23, Config::default(), small);
    let now = net.now();
    let server_addr = net.addr(server);
    net.endpoint(client)
        .start_request(now, server_addr, post("/big", upload.clone()))
        .unwrap();
    let mut received = None;
    net.run_until(Instant::from_secs(1000), |net, node, event| match event {
        Event::Request { id, request, .. } => {
            received = Some(request.body().clone());
            let now = net.now();
            net.endpoint(node)
                .respond(now, id, Response::new(Code::CHANGED))
                .unwrap();
        }
        Event::Response { response, .. } => assert_eq!(response.code(), Code::CHANGED),
        other => panic!("{other:?}"),
    });
    assert!(received.unwrap()[..] == upload[..]);
    let client_addr = net.addr(client);
    let blocks: Vec<Block> = net
        .trace()
        .iter()
        .filter(|e| e.source == client_addr)
        .filter_map(|e| parse(&e.datagram).block1().ok().flatten())
        .collect();
    // 1024 bytes at first, then 128-byte blocks numbered from 1024 / 128 = 8.
    assert_eq!(blocks[0], Block::new(0, true, 6).unwrap());
    assert_eq!(blocks[1], Block::new(8, true, 3).unwrap());
    let last = blocks.last().unwrap();
    assert_eq!(
        (last.num(), last.more(), last.szx()),
        (5000 / 128, false, 3)
    );
    assert_eq!(blocks.len(), 1 + (5000usize - 1024).div_ceil(128));
}

#[test]
fn early_negotiation_asks_for_small_blocks_in_the_first_get() {
    let resource = body(1000, 4);
    let small = Config {
        block_size: 64,
        ..Config::default()
    };
    let (mut net, client, server) = pair(24, small, Config::default());
    let now = net.now();
    let server_addr = net.addr(server);
    net.endpoint(client)
        .start_request(now, server_addr, get("/r"))
        .unwrap();
    let mut got = None;
    net.run_until(Instant::from_secs(1000), |net, node, event| match event {
        Event::Request { id, .. } => {
            let now = net.now();
            net.endpoint(node)
                .respond(now, id, content(resource.clone()))
                .unwrap();
        }
        Event::Response { response, .. } => got = Some(response),
        other => panic!("{other:?}"),
    });
    assert!(got.unwrap().body()[..] == resource[..]);
    let first_request = parse(&net.trace()[0].datagram);
    assert_eq!(
        first_request.block2(),
        Ok(Some(Block::new(0, false, 2).unwrap()))
    );
    let server_addr = net.addr(server);
    let sizes: Vec<usize> = net
        .trace()
        .iter()
        .filter(|e| e.source == server_addr)
        .map(|e| parse(&e.datagram).payload().len())
        .collect();
    assert_eq!(sizes.len(), 1000usize.div_ceil(64));
    assert!(sizes[..sizes.len() - 1].iter().all(|&s| s == 64));
}

#[test]
fn block1_and_block2_in_one_exchange() {
    let upload = body(3000, 5);
    let answer = body(4000, 6);
    let (mut net, client, server) = pair(25, Config::default(), Config::default());
    let now = net.now();
    let server_addr = net.addr(server);
    let id = net
        .endpoint(client)
        .start_request(now, server_addr, post("/rpc", upload.clone()))
        .unwrap();
    let mut got = None;
    net.run_until(Instant::from_secs(1000), |net, node, event| match event {
        Event::Request { id, request, .. } => {
            assert!(request.body()[..] == upload[..]);
            let now = net.now();
            net.endpoint(node)
                .respond(now, id, content(answer.clone()))
                .unwrap();
        }
        Event::Response { id, response, .. } => got = Some((id, response)),
        other => panic!("{other:?}"),
    });
    let (done, response) = got.unwrap();
    assert_eq!(done, id);
    assert!(response.body()[..] == answer[..]);
    // The final Block1 response carried Block1 (M=0) and the first Block2 block; the
    // continuation requests carry Block2 and no Block1 or payload.
    let server_addr = net.addr(server);
    let final_block1 = net
        .trace()
        .iter()
        .filter(|e| e.source == server_addr)
        .map(|e| parse(&e.datagram))
        .find(|m| m.code() == Code::CONTENT)
        .unwrap();
    assert_eq!(
        final_block1.block1(),
        Ok(Some(Block::new(2, false, 6).unwrap()))
    );
    assert_eq!(
        final_block1.block2(),
        Ok(Some(Block::new(0, true, 6).unwrap()))
    );
    let continuation = net
        .trace()
        .iter()
        .map(|e| parse(&e.datagram))
        .find(|m| m.code() == Code::POST && m.block2().ok().flatten().is_some())
        .unwrap();
    assert_eq!(continuation.block1(), Ok(None));
    assert!(continuation.payload().is_empty());
}

fn block1_put(mid: u16, num: u32, more: bool, szx: u8, format: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, mid);
    b.token(Token::new(&[0x20]).unwrap())
        .uri_path("/5/0/0")
        .content_format(format)
        .block1(Block::new(num, more, szx).unwrap())
        .payload(payload);
    b.to_vec().unwrap()
}

#[test]
fn block1_test_vectors_and_a_640_block_upload() {
    let mut server: Endpoint<&str> = Endpoint::new(Config::default(), [9; 32]).unwrap();
    let first = block1_put(0x0100, 0, true, 2, 42, &[0xAA; 64]);
    let mut expected = hex("41 03 01 00 20 B1 35 01 30 01 30 11 2A D1 02 0A FF");
    expected.extend([0xAA; 64]);
    assert_eq!(first, expected, "the vector's request");
    server.handle_datagram(Instant::ZERO, "c", &first);
    // "Block1 continue: ACK 2.31 Block1 NUM=0 M=1 SZX=2".
    assert_eq!(
        server.poll_transmit().unwrap().contents.as_ref(),
        hex("61 5F 01 00 20 D1 0E 0A")
    );
    assert_eq!(server.poll_event(), None);

    // 640 blocks of 128 bytes (the TS's 81 920-byte image), the last with MID 0x0380.
    let image = body(81_920, 7);
    let mut server: Endpoint<&str> = Endpoint::new(Config::default(), [9; 32]).unwrap();
    for num in 0..640u32 {
        let more = num < 639;
        let chunk = &image[num as usize * 128..(num as usize + 1) * 128];
        let mid = 0x0380 - 639 + num as u16;
        server.handle_datagram(
            Instant::ZERO,
            "c",
            &block1_put(mid, num, more, 3, 42, chunk),
        );
        if more {
            let reply = server.poll_transmit().unwrap().contents;
            let msg = parse(&reply);
            assert_eq!((msg.code(), msg.message_id()), (Code::CONTINUE, mid));
            assert_eq!(msg.block1(), Ok(Some(Block::new(num, true, 3).unwrap())));
        }
    }
    let Some(Event::Request { id, request, .. }) = server.poll_event() else {
        panic!()
    };
    assert!(request.body()[..] == image[..]);
    assert_eq!(server.poll_event(), None, "delivered once");
    server
        .respond(Instant::ZERO, id, Response::new(Code::CHANGED))
        .unwrap();
    // "Block1 last of 640 x 128B: ACK 2.04 Block1 NUM=639 M=0 SZX=3".
    assert_eq!(
        server.poll_transmit().unwrap().contents.as_ref(),
        hex("61 44 03 80 20 D2 0E 27 F3")
    );
}

#[test]
fn block1_errors_are_answered_408_413_400_and_503() {
    let config = Config {
        limits: lwm2m_transport::Limits {
            max_body_size: 1000,
            max_reassembly_bytes: 1500,
            ..lwm2m_transport::Limits::default()
        },
        ..Config::default()
    };
    let mut server: Endpoint<&str> = Endpoint::new(config, [10; 32]).unwrap();
    let now = Instant::ZERO;
    let answer = |server: &mut Endpoint<&str>, peer: &'static str, datagram: Vec<u8>| {
        server.handle_datagram(now, peer, &datagram);
        let reply = server.poll_transmit().unwrap().contents;
        let msg = parse(&reply);
        (msg.code(), msg.size1().unwrap())
    };
    // A block that does not follow (no block 0 first): 4.08.
    assert_eq!(
        answer(&mut server, "a", block1_put(1, 3, true, 4, 42, &[1; 256])).0,
        Code::REQUEST_ENTITY_INCOMPLETE
    );
    // Block 0, then block 2 (block 1 missing): 4.08.
    assert_eq!(
        answer(&mut server, "a", block1_put(2, 0, true, 4, 42, &[1; 256])).0,
        Code::CONTINUE
    );
    assert_eq!(
        answer(&mut server, "a", block1_put(3, 2, true, 4, 42, &[1; 256])).0,
        Code::REQUEST_ENTITY_INCOMPLETE
    );
    // Content-Format changing between blocks: 4.08.
    assert_eq!(
        answer(&mut server, "a", block1_put(4, 0, true, 4, 42, &[1; 256])).0,
        Code::CONTINUE
    );
    assert_eq!(
        answer(&mut server, "a", block1_put(5, 1, true, 4, 0, &[1; 256])).0,
        Code::REQUEST_ENTITY_INCOMPLETE
    );
    // A non-final block shorter than its size: 4.00.
    assert_eq!(
        answer(&mut server, "a", block1_put(6, 0, true, 4, 42, &[1; 100])).0,
        Code::BAD_REQUEST
    );
    // Growing past the per-exchange cap: 4.13 with Size1 = the cap.
    for (mid, num) in [(7, 0), (8, 1), (9, 2)] {
        assert_eq!(
            answer(
                &mut server,
                "a",
                block1_put(mid, num, true, 4, 42, &[1; 256])
            )
            .0,
            Code::CONTINUE
        );
    }
    assert_eq!(
        answer(&mut server, "a", block1_put(10, 3, true, 4, 42, &[1; 256])),
        (Code::REQUEST_ENTITY_TOO_LARGE, Some(1000))
    );
    // Announcing a too large body in Size1: 4.13 at once.
    let mut announced = MessageBuilder::new(Type::Confirmable, Code::PUT, 11);
    announced
        .uri_path("/5/0/0")
        .block1(Block::new(0, true, 4).unwrap())
        .size1(5000)
        .payload(&[1; 256]);
    assert_eq!(
        answer(&mut server, "a", announced.to_vec().unwrap()),
        (Code::REQUEST_ENTITY_TOO_LARGE, Some(1000))
    );
    // The global cap: two uploads of 768 bytes do not fit in 1500 together: 5.03.
    for (mid, num) in [(12, 0), (13, 1), (14, 2)] {
        assert_eq!(
            answer(
                &mut server,
                "a",
                block1_put(mid, num, true, 4, 42, &[1; 256])
            )
            .0,
            Code::CONTINUE
        );
    }
    for (mid, num) in [(1, 0), (2, 1)] {
        assert_eq!(
            answer(
                &mut server,
                "b",
                block1_put(mid, num, true, 4, 42, &[1; 256])
            )
            .0,
            Code::CONTINUE
        );
    }
    assert_eq!(
        answer(&mut server, "b", block1_put(3, 2, true, 4, 42, &[1; 256])).0,
        Code::SERVICE_UNAVAILABLE
    );
    assert_eq!(server.stats().reassembly_bytes, 768);
    // SZX 7 is answered 4.00 (RFC 7959 §2.2).
    let mut reserved = hex("40 03 00 63 B1 61 D1 03 0F FF");
    reserved.push(0);
    assert_eq!(answer(&mut server, "c", reserved).0, Code::BAD_REQUEST);
    // Partial uploads expire after EXCHANGE_LIFETIME.
    server.handle_timeout(now + Duration::from_secs(248));
    assert_eq!(
        (server.stats().uploads, server.stats().reassembly_bytes),
        (0, 0)
    );
}

#[test]
fn a_413_reply_to_a_large_body_is_delivered_to_the_client() {
    let limited = Config {
        limits: lwm2m_transport::Limits {
            max_body_size: 1000,
            ..lwm2m_transport::Limits::default()
        },
        ..Config::default()
    };
    let (mut net, client, server) = pair(26, Config::default(), limited);
    let now = net.now();
    let server_addr = net.addr(server);
    let id = net
        .endpoint(client)
        .start_request(now, server_addr, post("/big", body(5000, 8)))
        .unwrap();
    let mut got = None;
    net.run_until(Instant::from_secs(1000), |_, _, event| match event {
        Event::Response { id, response, .. } => got = Some((id, response)),
        other => panic!("{other:?}"),
    });
    let (done, response) = got.unwrap();
    assert_eq!(
        (done, response.code()),
        (id, Code::REQUEST_ENTITY_TOO_LARGE)
    );
    assert_eq!(response.message().unwrap().size1(), Ok(Some(1000)));
}

#[test]
fn later_blocks_come_from_the_cache_and_the_application_refills_it_with_the_same_etag() {
    let resource = body(3000, 9);
    let mut server: Endpoint<&str> = Endpoint::new(Config::default(), [11; 32]).unwrap();
    let now = Instant::ZERO;
    let request = |mid: u16, num: u32| {
        let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, mid);
        b.token(Token::new(&[mid as u8]).unwrap()).uri_path("/fw");
        if num > 0 {
            b.block2(Block::new(num, false, 6).unwrap());
        }
        b.to_vec().unwrap()
    };
    server.handle_datagram(now, "c", &request(1, 0));
    let Some(Event::Request { id, .. }) = server.poll_event() else {
        panic!()
    };
    server.respond(now, id, content(resource.clone())).unwrap();
    let first = server.poll_transmit().unwrap().contents;
    let first = parse(&first);
    assert_eq!(first.block2(), Ok(Some(Block::new(0, true, 6).unwrap())));
    let etag = first.option(option::ETAG).unwrap().to_vec();
    server.handle_datagram(now, "c", &request(2, 1));
    assert_eq!(server.poll_event(), None, "served from the cache");
    let second = server.poll_transmit().unwrap().contents;
    let second = parse(&second);
    assert_eq!(second.block2(), Ok(Some(Block::new(1, true, 6).unwrap())));
    assert_eq!(second.option(option::ETAG), Some(&etag[..]));
    assert!(second.payload() == &resource[1024..2048]);
    // A block past the end: 4.02.
    server.handle_datagram(now, "c", &request(3, 3));
    assert_eq!(
        parse(&server.poll_transmit().unwrap().contents).code(),
        Code::BAD_OPTION
    );
    // After the cache entry expired the request reaches the application, and the same body
    // gets the same ETag.
    let later = now + Duration::from_secs(300);
    server.handle_timeout(later);
    assert_eq!(server.stats().block2_cache_entries, 0);
    server.handle_datagram(later, "c", &request(4, 2));
    let Some(Event::Request { id, .. }) = server.poll_event() else {
        panic!()
    };
    server
        .respond(later, id, content(resource.clone()))
        .unwrap();
    let third = server.poll_transmit().unwrap().contents;
    let third = parse(&third);
    assert_eq!(third.block2(), Ok(Some(Block::new(2, false, 6).unwrap())));
    assert_eq!(third.option(option::ETAG), Some(&etag[..]));
    assert!(third.payload() == &resource[2048..]);
}

#[test]
fn a_changed_etag_or_a_too_large_body_fails_the_download() {
    for (case, limit) in [("etag", 8 << 20), ("size", 1500)] {
        let config = Config {
            limits: lwm2m_transport::Limits {
                max_body_size: limit,
                ..lwm2m_transport::Limits::default()
            },
            ..Config::default()
        };
        let mut client: Endpoint<&str> = Endpoint::new(config, [12; 32]).unwrap();
        let now = Instant::ZERO;
        let id = client.start_request(now, "s", get("/fw")).unwrap();
        let mut etag = 1u8;
        for num in 0..3u32 {
            let sent = client.poll_transmit().unwrap().contents;
            let msg = parse(&sent);
            let mut reply = MessageBuilder::piggybacked_response(&msg, Code::CONTENT);
            let tag = [etag];
            reply
                .block2(Block::new(num, true, 6).unwrap())
                .etag(&tag)
                .payload(&[0; 1024]);
            client.handle_datagram(now, "s", &reply.to_vec().unwrap());
            if case == "etag" {
                etag += 1;
            }
            if let Some(event) = client.poll_event() {
                let expected = if case == "etag" {
                    ExchangeError::EtagChanged { block: 1 }
                } else {
                    ExchangeError::BodyTooLarge { limit: 1500 }
                };
                assert_eq!(
                    event,
                    Event::RequestFailed {
                        id,
                        peer: "s",
                        error: expected
                    }
                );
                assert_eq!(num, 1);
                assert_eq!(client.stats().reassembly_bytes, 0);
                break;
            }
        }
        assert_eq!(client.stats().outgoing, 0, "{case}");
    }
}
