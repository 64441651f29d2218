//! Block-wise transfer driven by the application, block by block, so that a large body never
//! sits whole in memory: `Endpoint::stream_block1` on the server side (each Block1 block is a
//! request; the application answers 2.31 Continue) and `Request::with_block2` on the client side
//! (one Block2 block per request, delivered as it comes).

mod common;

use std::time::Duration;

use common::{content, get, lossy_link, parse, patient_config, post};
use lwm2m_codec::coap::{Block, Code, MessageBuilder, Type};
use lwm2m_transport::sim::{Network, NodeId};
use lwm2m_transport::{Config, Event, Instant, Response};

fn body(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

fn pair(seed: u64, client: Config, server: Config) -> (Network, NodeId, NodeId) {
    let mut net = Network::new(seed);
    let c = net.add_node(client);
    let s = net.add_node(server);
    (net, c, s)
}

#[test]
fn streamed_block1_upload_arrives_block_by_block_over_a_lossy_link() {
    let upload = body(100 * 1024 + 300, 3);
    let (mut net, client, server) = pair(5, patient_config(1), patient_config(1));
    net.set_default_link(lossy_link());
    net.endpoint(server).stream_block1("/5/0/0");
    let server_addr = net.addr(server);
    let now = net.now();
    let id = net
        .endpoint(client)
        .start_request(now, server_addr, post("/5/0/0", upload.clone()))
        .unwrap();
    let mut received = Vec::new();
    let mut deliveries = 0;
    let mut response = None;
    net.run_until(
        Instant::from_secs(10_000_000),
        |net, node, event| match event {
            Event::Request { id, request, .. } => {
                deliveries += 1;
                let block = request.message().unwrap().block1().unwrap().unwrap();
                assert_eq!(
                    block.offset() as usize,
                    received.len(),
                    "in order, once each"
                );
                received.extend_from_slice(request.body());
                let code = if block.more() {
                    Code::CONTINUE
                } else {
                    Code::CHANGED
                };
                let now = net.now();
                net.endpoint(node)
                    .respond(now, id, Response::new(code))
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
    assert_eq!(response, Some((id, Code::CHANGED)));
    assert_eq!(deliveries, 101, "one request event per block");
    assert!(received == upload, "the blocks reassemble to the upload");
    assert_eq!(net.endpoint(server).stats().uploads, 0);
    assert_eq!(net.endpoint(server).stats().reassembly_bytes, 0);
}

#[test]
fn streamed_block1_answers_echo_the_block_and_ask_for_our_size() {
    let server_config = Config {
        block_size: 256,
        ..Config::default()
    };
    let (mut net, client, server) = pair(6, Config::default(), server_config);
    net.endpoint(server).stream_block1("5/0/0");
    let client_addr = net.addr(client);
    let now = net.now();
    // A raw 1024-byte block 0 with M=1, as a peer with larger blocks sends it.
    let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, 0x1234);
    b.uri_path("/5/0/0")
        .content_format(42)
        .block1(Block::new(0, true, 6).unwrap());
    let payload = vec![7u8; 1024];
    b.payload(&payload);
    let bytes = b.to_vec().unwrap();
    net.endpoint(server)
        .handle_datagram(now, client_addr, &bytes);
    let Some(Event::Request { id, request, .. }) = net.endpoint(server).poll_event() else {
        panic!("the block is delivered")
    };
    assert_eq!(request.body().len(), 1024);
    net.endpoint(server)
        .respond(now, id, Response::new(Code::CONTINUE))
        .unwrap();
    let reply = net.endpoint(server).poll_transmit().unwrap();
    let msg = parse(&reply.contents);
    assert_eq!(msg.code(), Code::CONTINUE);
    assert_eq!(msg.block1(), Ok(Some(Block::new(0, true, 4).unwrap())));

    // A short non-final block is refused before the application sees it.
    let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, 0x1235);
    b.uri_path("/5/0/0")
        .content_format(42)
        .block1(Block::new(4, true, 4).unwrap());
    b.payload(&[1, 2, 3]);
    net.endpoint(server)
        .handle_datagram(now, client_addr, &b.to_vec().unwrap());
    assert!(net.endpoint(server).poll_event().is_none());
    let reply = net.endpoint(server).poll_transmit().unwrap();
    assert_eq!(parse(&reply.contents).code(), Code::BAD_REQUEST);

    // Other paths are still reassembled: block 0 of /3/0/0 is answered 2.31 by the endpoint.
    let mut b = MessageBuilder::new(Type::Confirmable, Code::PUT, 0x1236);
    b.uri_path("/3/0/0")
        .content_format(42)
        .block1(Block::new(0, true, 4).unwrap());
    b.payload(&[9u8; 256]);
    net.endpoint(server)
        .handle_datagram(now, client_addr, &b.to_vec().unwrap());
    assert!(net.endpoint(server).poll_event().is_none());
    let reply = net.endpoint(server).poll_transmit().unwrap();
    assert_eq!(parse(&reply.contents).code(), Code::CONTINUE);
    assert_eq!(net.endpoint(server).stats().uploads, 1);
}

#[test]
fn with_block2_fetches_one_block_and_delivers_it_as_it_comes() {
    let resource = body(5000, 9);
    let (mut net, client, server) = pair(7, patient_config(1), patient_config(1));
    net.set_default_link(lossy_link());
    let server_addr = net.addr(server);
    let mut downloaded = Vec::new();
    let mut num = 0;
    let mut served = 0;
    loop {
        let now = net.now();
        let request = get("/fw.bin").with_block2(Block::new(num, false, 6).unwrap());
        let id = net
            .endpoint(client)
            .start_request(now, server_addr, request)
            .unwrap();
        net.flush();
        let mut answer = None;
        let limit = now + Duration::from_secs(3600);
        net.run_until(limit, |net, node, event| match event {
            Event::Request { id, .. } => {
                served += 1;
                let now = net.now();
                net.endpoint(node)
                    .respond(now, id, content(resource.clone()))
                    .unwrap();
            }
            Event::Response {
                id: done, response, ..
            } => {
                assert_eq!(done, id);
                answer = Some(response);
            }
            other => panic!("{other:?}"),
        });
        let response = answer.unwrap_or_else(|| panic!("block {num} is not answered"));
        let block = response.message().unwrap().block2().unwrap().unwrap();
        assert_eq!(block.num(), num);
        assert_eq!(block.offset() as usize, downloaded.len());
        downloaded.extend_from_slice(response.body());
        if !block.more() {
            break;
        }
        num += 1;
    }
    assert!(downloaded == resource);
    assert_eq!(num, 4, "5000 bytes are 5 blocks of 1024");
    // The server application produced the body once; the rest came from its Block2 cache.
    assert_eq!(served, 1);
    assert_eq!(net.endpoint(client).stats().reassembly_bytes, 0);
}
