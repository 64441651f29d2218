//! Message-layer behaviour (RFC 7252 §4) on the simulated network: retransmission timing under
//! loss, exactly-once delivery, duplicate detection, NSTART, timeouts, separate responses, pings.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{
    assert_backoff, con_request_sends, content, get, hex, lossy_link, parse, patient_config, post,
};
use lwm2m_codec::coap::{Code, Type};
use lwm2m_transport::sim::Network;
use lwm2m_transport::{Config, Endpoint, Event, ExchangeError, Instant, RequestId};

/// Outcome of one exchange, with the time the event arrived.
#[derive(Debug)]
enum Outcome {
    Answered,
    Failed(Instant, ExchangeError),
}

/// Runs `count` POST exchanges (body = index) from a client to an echoing server and returns
/// the network, the outcome per index and how often the server application saw each index.
fn run_exchanges(
    seed: u64,
    config: &Config,
    count: u32,
) -> (Network, HashMap<u32, Outcome>, Vec<u32>) {
    let mut net = Network::new(seed);
    net.set_default_link(lossy_link());
    let client = net.add_node(config.clone());
    let server = net.add_node(config.clone());
    let server_addr = net.addr(server);
    let mut index_of: HashMap<RequestId, u32> = HashMap::new();
    for i in 0..count {
        let now = net.now();
        let id = net
            .endpoint(client)
            .start_request(now, server_addr, post("/echo", i.to_be_bytes().to_vec()))
            .unwrap();
        index_of.insert(id, i);
    }
    let mut seen = vec![0u32; count as usize];
    let mut outcomes = HashMap::new();
    net.run_until(
        Instant::from_secs(10_000_000),
        |net, node, event| match event {
            Event::Request { id, request, .. } => {
                let index = u32::from_be_bytes(request.body()[..].try_into().unwrap());
                seen[index as usize] += 1;
                let now = net.now();
                net.endpoint(node)
                    .respond(now, id, content(request.body().clone()))
                    .unwrap();
            }
            Event::Response { id, response, .. } => {
                let index = index_of[&id];
                assert_eq!(response.code(), Code::CONTENT);
                assert_eq!(&response.body()[..], &index.to_be_bytes());
                let old = outcomes.insert(index, Outcome::Answered);
                assert!(old.is_none(), "two outcomes for exchange {index}");
            }
            Event::RequestFailed { id, error, .. } => {
                let old = outcomes.insert(index_of[&id], Outcome::Failed(net.now(), error));
                assert!(old.is_none());
            }
            other => panic!("unexpected event {other:?}"),
        },
    );
    (net, outcomes, seen)
}

#[test]
fn a_thousand_exchanges_under_30_percent_loss_keep_rfc_back_off_and_at_most_once_delivery() {
    let mut config = Config::default();
    config.transmission.nstart = 8;
    let (mut net, outcomes, seen) = run_exchanges(0x5EED, &config, 1000);
    let client = lwm2m_transport::sim::NodeId(0);
    let client_addr = net.addr(client);
    // Every exchange ended exactly once.
    assert_eq!(outcomes.len(), 1000);
    let mut failures = 0;
    for (index, outcome) in &outcomes {
        match outcome {
            Outcome::Answered => assert_eq!(seen[*index as usize], 1, "exchange {index}"),
            Outcome::Failed(_, error) => {
                failures += 1;
                assert_eq!(*error, ExchangeError::Timeout { transmissions: 5 });
                assert!(seen[*index as usize] <= 1);
            }
        }
    }
    // With RFC defaults an exchange fails when all 5 round trips are lost: 0.51^5 = 3.45 %.
    assert!((10..=70).contains(&failures), "{failures} failures");

    // Timings: every Confirmable request follows the randomised exponential back-off.
    let sends = con_request_sends(net.trace(), client_addr);
    let mut first_send_of: HashMap<u32, (Instant, Duration, usize)> = HashMap::new();
    for times in sends.values() {
        assert_backoff(times, 4);
    }
    for entry in net.trace().iter().filter(|e| e.source == client_addr) {
        let msg = parse(&entry.datagram);
        if let Ok(index) = <[u8; 4]>::try_from(msg.payload()) {
            let times = &sends[&msg.message_id()];
            let first_timeout = if times.len() > 1 {
                times[1] - times[0]
            } else {
                Duration::ZERO
            };
            first_send_of.insert(
                u32::from_be_bytes(index),
                (times[0], first_timeout, times.len()),
            );
        }
    }
    // A failed exchange gave up after 5 transmissions, 31 initial timeouts after the first send,
    // which is within MAX_TRANSMIT_WAIT (93 s).
    for (index, outcome) in &outcomes {
        if let Outcome::Failed(at, _) = outcome {
            let (first, timeout, transmissions) = first_send_of[index];
            assert_eq!(transmissions, 5);
            let waited = *at - first;
            assert_eq!(waited, timeout * 31);
            assert!(waited <= Duration::from_secs(93) && waited >= Duration::from_secs(62));
        }
    }
    assert_eq!(net.endpoint(client).stats().outgoing, 0);
}

#[test]
fn a_thousand_exchanges_under_30_percent_loss_all_complete_exactly_once_with_more_retransmissions()
{
    let config = patient_config(4);
    let (mut net, outcomes, seen) = run_exchanges(42, &config, 1000);
    assert_eq!(outcomes.len(), 1000);
    assert!(outcomes.values().all(|o| matches!(o, Outcome::Answered)));
    assert!(
        seen.iter().all(|&n| n == 1),
        "every request reached the application exactly once"
    );
    let client_addr = net.addr(lwm2m_transport::sim::NodeId(0));
    for times in con_request_sends(net.trace(), client_addr).values() {
        assert_backoff(times, 16);
    }
    // Tables drain once the exchange lifetime has passed.
    let later = net.now() + config.transmission.exchange_lifetime() * 2;
    net.run_until(later, |_, _, e| panic!("{e:?}"));
    for node in [0, 1] {
        let stats = net.endpoint(lwm2m_transport::sim::NodeId(node)).stats();
        assert_eq!(
            (
                stats.outgoing,
                stats.incoming,
                stats.dedup_entries,
                stats.peers
            ),
            (0, 0, 0, 0),
            "{stats:?}"
        );
    }
}

/// A new DTLS session from the same address (a client reconnecting from the same port within
/// `EXCHANGE_LIFETIME`) starts a new duplicate-detection scope: its message ids are new
/// messages, not duplicates of the old session's (which were dropped, or answered with the old
/// session's cached reply). Within a scope, duplicates are still recognised.
#[test]
fn a_new_session_from_the_same_address_is_not_taken_for_duplicates() {
    let mut server: Endpoint<&str> = Endpoint::new(Config::default(), [3; 32]).unwrap();
    let t0 = Instant::from_secs(10);
    // CON GET /3/0/0, MID 0x0002: token 0B from the old session, token 0C from the new one.
    let old = hex("41 01 00 02 0B B1 33 01 30 01 30");
    let new = hex("41 01 00 02 0C B1 33 01 30 01 30");
    server.handle_datagram(t0, "client", &old);
    let Some(Event::Request { id, .. }) = server.poll_event() else {
        panic!("request not delivered")
    };
    server
        .respond(t0, id, lwm2m_transport::Response::new(Code::CONTENT))
        .unwrap();
    let old_reply = server.poll_transmit().unwrap().contents;
    assert_eq!(parse(&old_reply).token(), [0x0B]);

    // Without a new session, the same message id is a duplicate: the old reply again.
    server.handle_datagram(t0 + Duration::from_secs(1), "client", &new);
    assert_eq!(server.poll_transmit().unwrap().contents, old_reply);
    assert_eq!(server.poll_event(), None);

    server.new_session(&"client");
    let t1 = t0 + Duration::from_secs(2);
    server.handle_datagram(t1, "client", &new);
    assert_eq!(
        server.poll_transmit(),
        None,
        "no stale reply crosses sessions"
    );
    let Some(Event::Request { id, request, .. }) = server.poll_event() else {
        panic!("the new session's request was taken for a duplicate")
    };
    assert_eq!(request.message().unwrap().token(), [0x0C]);
    server
        .respond(t1, id, lwm2m_transport::Response::new(Code::CONTENT))
        .unwrap();
    let new_reply = server.poll_transmit().unwrap().contents;
    assert_eq!(parse(&new_reply).token(), [0x0C]);
    // In the new scope, a retransmission is a duplicate again, answered with the new reply.
    server.handle_datagram(t1 + Duration::from_secs(3), "client", &new);
    assert_eq!(server.poll_transmit().unwrap().contents, new_reply);
    assert_eq!(server.poll_event(), None);
    // Another peer's scope is unaffected by this one's new session.
    server.handle_datagram(t1, "other", &old);
    assert!(matches!(server.poll_event(), Some(Event::Request { .. })));
}

#[test]
fn duplicate_con_gets_the_same_reply_and_reaches_the_application_once() {
    let mut server: Endpoint<&str> = Endpoint::new(Config::default(), [3; 32]).unwrap();
    // Test vector "Read: CON GET /3/0/0, MID 0x0002, token 0B".
    let request = hex("41 01 00 02 0B B1 33 01 30 01 30");
    let t0 = Instant::from_secs(10);
    server.handle_datagram(t0, "client", &request);
    let Some(Event::Request {
        id,
        request: incoming,
        ..
    }) = server.poll_event()
    else {
        panic!("request not delivered")
    };
    assert!(incoming
        .message()
        .unwrap()
        .uri_path()
        .unwrap()
        .eq(["3", "0", "0"]));
    // A duplicate before the application answered is ignored.
    server.handle_datagram(t0 + Duration::from_millis(500), "client", &request);
    assert_eq!(server.poll_event(), None);
    assert_eq!(server.poll_transmit(), None);
    let response = lwm2m_transport::Response::build(Code::CONTENT, |b| {
        b.content_format(0);
    })
    .unwrap()
    .with_payload(&b"Open Mobile Alliance"[..]);
    server
        .respond(t0 + Duration::from_millis(600), id, response)
        .unwrap();
    let ack = server.poll_transmit().unwrap();
    // Test vector "Read response: ACK 2.05, CF=0, payload 'Open Mobile Alliance'".
    assert_eq!(
        ack.contents.as_ref(),
        hex("61 45 00 02 0B C0 FF 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65")
    );
    // Later duplicates get the very same bytes, and no event.
    for delay in [3, 100, 246] {
        server.handle_datagram(t0 + Duration::from_secs(delay), "client", &request);
        assert_eq!(server.poll_transmit().unwrap().contents, ack.contents);
        assert_eq!(server.poll_event(), None);
    }
    // After EXCHANGE_LIFETIME the message id may be reused: the same bytes are a new request.
    let later = t0 + Duration::from_secs(248);
    server.handle_timeout(later);
    assert_eq!(server.stats().dedup_entries, 0);
    server.handle_datagram(later, "client", &request);
    assert!(matches!(server.poll_event(), Some(Event::Request { .. })));
}

#[test]
fn nstart_queues_requests_per_peer_in_fifo_order() {
    let mut client: Endpoint<&str> = Endpoint::new(Config::default(), [4; 32]).unwrap();
    let now = Instant::ZERO;
    let ids: Vec<_> = (0..3)
        .map(|i| {
            client
                .start_request(now, "server", get(&format!("/{i}")))
                .unwrap()
        })
        .collect();
    let other = client.start_request(now, "other", get("/x")).unwrap();
    // NSTART 1: one request per peer on the wire.
    let first = client.poll_transmit().unwrap();
    assert_eq!(first.destination, "server");
    assert!(parse(&first.contents).uri_path().unwrap().eq(["0"]));
    let to_other = client.poll_transmit().unwrap();
    assert_eq!(to_other.destination, "other");
    assert_eq!(client.poll_transmit(), None);
    for (i, id) in ids.iter().enumerate() {
        let sent = if i == 0 {
            first.clone()
        } else {
            client.poll_transmit().unwrap()
        };
        let msg = parse(&sent.contents);
        assert!(msg.uri_path().unwrap().eq([i.to_string().as_str()]));
        assert_eq!(
            client.poll_transmit(),
            None,
            "the next request waits for this one"
        );
        let mut ack = lwm2m_codec::coap::MessageBuilder::piggybacked_response(&msg, Code::CONTENT);
        ack.payload(b"ok");
        client.handle_datagram(now, "server", &ack.to_vec().unwrap());
        assert!(
            matches!(client.poll_event(), Some(Event::Response { id: done, .. }) if done == *id)
        );
    }
    assert_eq!(
        client.stats().outgoing,
        1,
        "only the request to the other peer remains"
    );
    client.cancel_request(now, other).unwrap();
    assert_eq!(client.stats().outgoing, 0);

    // With NSTART 2 two go out at once.
    let mut config = Config::default();
    config.transmission.nstart = 2;
    let mut client: Endpoint<&str> = Endpoint::new(config, [5; 32]).unwrap();
    for i in 0..3 {
        client
            .start_request(now, "server", get(&format!("/{i}")))
            .unwrap();
    }
    assert!(client.poll_transmit().is_some() && client.poll_transmit().is_some());
    assert_eq!(client.poll_transmit(), None);
}

#[test]
fn exchange_times_out_within_max_transmit_wait_when_the_peer_is_gone() {
    let mut net = Network::new(9);
    let client = net.add_node(Config::default());
    let server = net.add_node(Config::default());
    net.set_up(server, false);
    let now = net.now();
    let server_addr = net.addr(server);
    let id = net
        .endpoint(client)
        .start_request(now, server_addr, get("/3/0"))
        .unwrap();
    let mut failed = None;
    net.run_until(Instant::from_secs(1000), |net, _, event| match event {
        Event::RequestFailed { id: f, error, .. } => failed = Some((f, error, net.now())),
        other => panic!("{other:?}"),
    });
    let (f, error, at) = failed.expect("no timeout event");
    assert_eq!(
        (f, error),
        (id, ExchangeError::Timeout { transmissions: 5 })
    );
    let sends = con_request_sends(net.trace(), net.addr(client));
    let times = sends.values().next().unwrap();
    assert_eq!(times.len(), 5);
    assert_backoff(times, 4);
    let waited = at - times[0];
    assert!(
        waited >= Duration::from_secs(62) && waited <= Duration::from_secs(93),
        "{waited:?}"
    );
    assert_eq!(waited, (times[1] - times[0]) * 31);
}

#[test]
fn a_slow_application_gets_an_empty_ack_then_a_confirmable_separate_response() {
    let mut net = Network::new(11);
    let client = net.add_node(Config::default());
    let server = net.add_node(Config::default());
    let now = net.now();
    let server_addr = net.addr(server);
    let id = net
        .endpoint(client)
        .start_request(now, server_addr, get("/slow"))
        .unwrap();
    let mut pending = None;
    net.run_until(Instant::from_secs(5), |_, _, event| match event {
        Event::Request { id, .. } => pending = Some(id),
        other => panic!("{other:?}"),
    });
    // The empty ACK left after 1 s; the client did not retransmit.
    let server_sent: Vec<_> = net
        .trace()
        .iter()
        .filter(|e| e.source == server_addr)
        .collect();
    assert_eq!(server_sent.len(), 1);
    assert_eq!(server_sent[0].datagram.len(), 4);
    assert_eq!(server_sent[0].datagram[0], 0x60, "an empty ACK");
    assert_eq!(server_sent[0].sent, Instant::from_millis(1_010));
    assert_eq!(
        con_request_sends(net.trace(), net.addr(client))
            .values()
            .next()
            .unwrap()
            .len(),
        1
    );
    let now = net.now();
    net.endpoint(server)
        .respond(now, pending.unwrap(), content(&b"late"[..]))
        .unwrap();
    let mut response = None;
    net.run_until(Instant::from_secs(100), |_, _, event| match event {
        Event::Response {
            id: done,
            response: r,
            ..
        } => response = Some((done, r)),
        other => panic!("{other:?}"),
    });
    let (done, r) = response.unwrap();
    assert_eq!((done, &r.body()[..]), (id, &b"late"[..]));
    let separate = parse(
        &net.trace()
            .iter()
            .rev()
            .find(|e| e.source == server_addr)
            .unwrap()
            .datagram,
    )
    .ty();
    assert_eq!(separate, Type::Confirmable);
    // The client acknowledged the separate response, so the server stopped retransmitting.
    assert_eq!(net.endpoint(server).stats().pending_messages, 0);
}

#[test]
fn acknowledge_sends_the_empty_ack_at_once_and_a_lost_separate_response_is_retransmitted() {
    let mut server: Endpoint<&str> = Endpoint::new(Config::default(), [6; 32]).unwrap();
    let request = hex("41 01 00 09 0B B1 33");
    server.handle_datagram(Instant::ZERO, "c", &request);
    let Some(Event::Request { id, .. }) = server.poll_event() else {
        panic!()
    };
    server.acknowledge(id).unwrap();
    // Test vector "Empty ACK (separate response will follow) for MID 0x0009".
    assert_eq!(
        server.poll_transmit().unwrap().contents.as_ref(),
        hex("60 00 00 09")
    );
    // A duplicate now gets the empty ACK again.
    server.handle_datagram(Instant::from_secs(2), "c", &request);
    assert_eq!(
        server.poll_transmit().unwrap().contents.as_ref(),
        hex("60 00 00 09")
    );
    server
        .respond(Instant::from_secs(3), id, content(&b"1"[..]))
        .unwrap();
    let separate = server.poll_transmit().unwrap().contents;
    let msg = parse(&separate);
    assert_eq!(
        (msg.ty(), msg.code(), msg.token()),
        (Type::Confirmable, Code::CONTENT, &[0x0B][..])
    );
    // Unacknowledged, it is retransmitted with the same bytes.
    let deadline = server.poll_timeout().unwrap();
    assert!(deadline >= Instant::from_secs(5) && deadline <= Instant::from_secs(6));
    server.handle_timeout(deadline);
    assert_eq!(server.poll_transmit().unwrap().contents, separate);
    let ack = [0x60, 0, separate[2], separate[3]];
    server.handle_datagram(deadline, "c", &ack);
    assert_eq!(server.stats().pending_messages, 0);
    assert_eq!(
        server.acknowledge(id),
        Err(lwm2m_transport::EndpointError::UnknownIncoming(id))
    );
}

#[test]
fn ping_is_answered_with_rst_and_reported_as_pong() {
    let mut net = Network::new(12);
    let a = net.add_node(Config::default());
    let b = net.add_node(Config::default());
    let now = net.now();
    let b_addr = net.addr(b);
    let id = net.endpoint(a).ping(now, b_addr).unwrap();
    let mut pong = None;
    net.run_until(Instant::from_secs(10), |_, node, event| match event {
        Event::Pong { id, .. } => pong = Some((node, id)),
        other => panic!("{other:?}"),
    });
    assert_eq!(pong, Some((a, id)));
    let replies: Vec<_> = net.trace().iter().filter(|e| e.source == b_addr).collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(parse(&replies[0].datagram).ty(), Type::Reset);
    // The vector "CoAP ping: empty CON MID 0x0042" gets "RST 0x0042".
    let mut endpoint: Endpoint<u8> = Endpoint::new(Config::default(), [0; 32]).unwrap();
    endpoint.handle_datagram(Instant::ZERO, 1, &hex("40 00 00 42"));
    assert_eq!(
        endpoint.poll_transmit().unwrap().contents.as_ref(),
        hex("70 00 00 42")
    );
}

#[test]
fn non_confirmable_requests_get_non_responses_and_time_out_without_one() {
    let mut net = Network::new(13);
    let client = net.add_node(Config::default());
    let server = net.add_node(Config::default());
    let now = net.now();
    let server_addr = net.addr(server);
    let id = net
        .endpoint(client)
        .start_request(now, server_addr, get("/n").with_confirmable(false))
        .unwrap();
    let mut got = None;
    net.run_until(Instant::from_secs(10), |net, node, event| match event {
        Event::Request { id, request, .. } => {
            assert!(!request.is_confirmable());
            let now = net.now();
            net.endpoint(node)
                .respond(now, id, content(&b"n"[..]))
                .unwrap();
        }
        Event::Response { id, .. } => got = Some(id),
        other => panic!("{other:?}"),
    });
    assert_eq!(got, Some(id));
    assert!(net
        .trace()
        .iter()
        .all(|e| parse(&e.datagram).ty() == Type::NonConfirmable));

    net.set_up(server, false);
    let now = net.now();
    let id = net
        .endpoint(client)
        .start_request(now, server_addr, get("/n").with_confirmable(false))
        .unwrap();
    let mut failed = None;
    net.run_until(Instant::from_secs(1000), |net, _, event| match event {
        Event::RequestFailed { id, error, .. } => failed = Some((id, error, net.now() - now)),
        other => panic!("{other:?}"),
    });
    assert_eq!(
        failed,
        Some((
            id,
            ExchangeError::NoResponse {
                waited: Duration::from_secs(93)
            },
            Duration::from_secs(93)
        ))
    );
}

#[test]
fn unmatched_responses_get_rst_and_stray_acks_and_rsts_are_ignored() {
    let mut client: Endpoint<&str> = Endpoint::new(Config::default(), [7; 32]).unwrap();
    let now = Instant::ZERO;
    let id = client.start_request(now, "s", get("/a")).unwrap();
    let sent = client.poll_transmit().unwrap().contents;
    let msg = parse(&sent);
    // An ACK with another message id, an RST with another id: ignored.
    client.handle_datagram(now, "s", &[0x60, 0, 0x12, 0x34]);
    client.handle_datagram(now, "s", &[0x70, 0, 0x12, 0x34]);
    assert_eq!((client.poll_transmit(), client.poll_event()), (None, None));
    // A piggy-backed response with the right id but a wrong token is not accepted.
    let mut wrong = lwm2m_codec::coap::MessageBuilder::new(
        Type::Acknowledgement,
        Code::CONTENT,
        msg.message_id(),
    );
    wrong.token(lwm2m_codec::coap::Token::from_u64(1));
    client.handle_datagram(now, "s", &wrong.to_vec().unwrap());
    assert_eq!(client.poll_event(), None);
    // A Confirmable response with an unknown token: RST (RFC 7252 §4.2). Vector: the
    // notification "NON 2.05 Observe=2 token CAFE MID 0x7001" gets "RST 0x7001".
    client.handle_datagram(now, "s", &hex("42 45 70 02 CA FE 61 02 60 FF 38 37"));
    assert_eq!(
        client.poll_transmit().unwrap().contents.as_ref(),
        hex("70 00 70 02")
    );
    client.handle_datagram(now, "s", &hex("52 45 70 01 CA FE 61 02 60 FF 38 37"));
    assert_eq!(
        client.poll_transmit().unwrap().contents.as_ref(),
        hex("70 00 70 01")
    );
    // The real response is still accepted.
    let ack = lwm2m_codec::coap::MessageBuilder::piggybacked_response(&msg, Code::CONTENT)
        .to_vec()
        .unwrap();
    client.handle_datagram(now, "s", &ack);
    assert!(matches!(client.poll_event(), Some(Event::Response { id: done, .. }) if done == id));
    // Its duplicate is now an unexpected ACK: ignored.
    client.handle_datagram(now, "s", &ack);
    assert_eq!((client.poll_transmit(), client.poll_event()), (None, None));
}

#[test]
fn a_separate_response_that_overtakes_the_ack_completes_the_exchange() {
    let mut client: Endpoint<&str> = Endpoint::new(Config::default(), [8; 32]).unwrap();
    let now = Instant::ZERO;
    let id = client.start_request(now, "s", get("/a")).unwrap();
    let msg_bytes = client.poll_transmit().unwrap().contents;
    let msg = parse(&msg_bytes);
    let mut separate =
        lwm2m_codec::coap::MessageBuilder::new(Type::Confirmable, Code::CONTENT, 0x5555);
    separate
        .token(msg.owned_token())
        .content_format(0)
        .payload(b"1");
    let bytes = separate.to_vec().unwrap();
    client.handle_datagram(now, "s", &bytes);
    assert_eq!(
        client.poll_transmit().unwrap().contents.as_ref(),
        hex("60 00 55 55")
    );
    assert!(matches!(client.poll_event(), Some(Event::Response { id: done, .. }) if done == id));
    // No retransmission of the request is pending any more.
    assert_eq!(client.stats().pending_messages, 0);
    // A retransmitted separate response is acknowledged again, not delivered again.
    client.handle_datagram(Instant::from_secs(3), "s", &bytes);
    assert_eq!(
        client.poll_transmit().unwrap().contents.as_ref(),
        hex("60 00 55 55")
    );
    assert_eq!(client.poll_event(), None);
}
