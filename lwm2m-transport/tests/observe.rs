//! Observe (RFC 7641) in both roles: registration, notifications through a re-ordering network,
//! reactive and passive cancellation, Confirmable notification rules, block-wise notifications.

mod common;

use std::time::Duration;

use common::{content, hex, parse};
use lwm2m_codec::coap::{Code, MessageBuilder, Type};
use lwm2m_transport::sim::{LinkConditions, Network, NodeId};
use lwm2m_transport::{
    Config, Endpoint, EndpointError, Event, Instant, RelationEnd, RelationId, Request, RequestId,
    Response,
};

fn observe(path: &str) -> Request {
    Request::build(Code::GET, |b| {
        b.uri_path(path).observe(0);
    })
    .unwrap()
}

/// A network with an observer (node 0) and a notifier (node 1), and an established observation.
fn observed(
    seed: u64,
    observer: Config,
    notifier: Config,
    first: &Response,
) -> (Network, RequestId, RelationId) {
    let mut net = Network::new(seed);
    let o = net.add_node(observer);
    let n = net.add_node(notifier);
    let now = net.now();
    let n_addr = net.addr(n);
    let id = net
        .endpoint(o)
        .start_request(now, n_addr, observe("/3/0/9"))
        .unwrap();
    let mut relation = None;
    let mut established = false;
    net.run_until(Instant::from_secs(100), |net, node, event| match event {
        Event::Request { id, request, .. } => {
            assert!(request.is_observe_registration());
            let now = net.now();
            relation = Some(
                net.endpoint(node)
                    .accept_observation(now, id, first.clone())
                    .unwrap(),
            );
        }
        Event::Response {
            id: done, response, ..
        } => {
            assert_eq!(done, id);
            assert_eq!(response.observe(), Some(1));
            assert!(response.body()[..] == first.payload()[..]);
            established = true;
        }
        other => panic!("{other:?}"),
    });
    assert!(established);
    assert_eq!(net.endpoint(o).stats().observations, 1);
    (net, id, relation.unwrap())
}

const OBSERVER: NodeId = NodeId(0);
const NOTIFIER: NodeId = NodeId(1);

#[test]
fn registration_notification_and_rst_follow_the_test_vectors() {
    let mut notifier: Endpoint<&str> = Endpoint::new(Config::default(), [1; 32]).unwrap();
    let now = Instant::ZERO;
    // "Observe: CON GET /3/0/9 Observe=0, token CAFE".
    notifier.handle_datagram(now, "o", &hex("42 01 00 08 CA FE 60 51 33 01 30 01 39"));
    let Some(Event::Request { id, request, .. }) = notifier.poll_event() else {
        panic!()
    };
    assert!(request.is_observe_registration());
    let first = Response::build(Code::CONTENT, |b| {
        b.content_format(0);
    })
    .unwrap()
    .with_payload(&b"100"[..]);
    let relation = notifier.accept_observation(now, id, first).unwrap();
    // "Observe response: ACK 2.05 Observe=1 CF=0 payload '100'".
    assert_eq!(
        notifier.poll_transmit().unwrap().contents.as_ref(),
        hex("62 45 00 08 CA FE 61 01 60 FF 31 30 30")
    );
    let update = Response::build(Code::CONTENT, |b| {
        b.content_format(0);
    })
    .unwrap()
    .with_payload(&b"87"[..]);
    notifier.notify(now, relation, update).unwrap();
    // "Notification: NON 2.05 Observe=2 CF=0 payload '87'" (the MID is the notifier's own).
    let sent = notifier.poll_transmit().unwrap().contents;
    assert_eq!(sent[..2], hex("52 45")[..]);
    assert_eq!(sent[4..], hex("CA FE 61 02 60 FF 38 37")[..]);
    // RST to it: the observer is no longer interested.
    notifier.handle_datagram(now, "o", &[0x70, 0x00, sent[2], sent[3]]);
    assert_eq!(
        notifier.poll_event(),
        Some(Event::RelationEnded {
            relation,
            peer: "o",
            reason: RelationEnd::Reset
        })
    );
    assert_eq!(
        notifier.notify(now, relation, Response::new(Code::CONTENT)),
        Err(EndpointError::UnknownRelation(relation))
    );
    assert_eq!(notifier.stats().relations, 0);
}

#[test]
fn reordered_notifications_are_delivered_fresh_and_in_order() {
    let (mut net, id, relation) = observed(
        31,
        Config::default(),
        Config::default(),
        &content(0u32.to_be_bytes().to_vec()),
    );
    // Heavy re-ordering: delays spread over 0-400 ms while notifications leave every 20 ms.
    net.set_default_link(LinkConditions {
        loss: 0.1,
        duplicate: 0.1,
        min_delay: Duration::ZERO,
        max_delay: Duration::from_millis(400),
    });
    let mut delivered: Vec<u32> = Vec::new();
    for i in 1..=300u32 {
        let now = net.now();
        net.endpoint(NOTIFIER)
            .notify(now, relation, content(i.to_be_bytes().to_vec()))
            .unwrap();
        let until = now + Duration::from_millis(20);
        net.run_until(until, |_, _, event| match event {
            Event::Notification {
                id: n, response, ..
            } => {
                assert_eq!(n, id);
                delivered.push(u32::from_be_bytes(response.body()[..].try_into().unwrap()));
            }
            other => panic!("{other:?}"),
        });
    }
    net.run_until(
        net.now() + Duration::from_secs(5),
        |_, _, event| match event {
            Event::Notification { response, .. } => {
                delivered.push(u32::from_be_bytes(response.body()[..].try_into().unwrap()));
            }
            other => panic!("{other:?}"),
        },
    );
    assert!(
        delivered.windows(2).all(|w| w[0] < w[1]),
        "delivered out of order: {delivered:?}"
    );
    // Count what arrived at the observer: every arrival is either delivered or dropped as stale
    // (or a duplicate).
    let notifier_addr = net.addr(NOTIFIER);
    let arrived: std::collections::BTreeSet<u32> = net
        .trace()
        .iter()
        .filter(|e| e.source == notifier_addr && !common::dropped(e))
        .map(|e| parse(&e.datagram))
        .filter(|m| m.observe().ok().flatten().is_some_and(|s| s >= 2))
        .map(|m| u32::from_be_bytes(m.payload().try_into().unwrap()))
        .collect();
    let stale = arrived.len() - delivered.len();
    assert!(
        stale > 10,
        "the network should have re-ordered some: {stale} stale"
    );
    assert!(delivered.len() > 50, "{} delivered", delivered.len());
    assert!(delivered.iter().all(|d| arrived.contains(d)));
}

#[test]
fn reactive_cancel_sends_observe_1_and_deregisters() {
    let (mut net, id, relation) = observed(
        32,
        Config::default(),
        Config::default(),
        &content(&b"a"[..]),
    );
    let now = net.now();
    let cancel = net.endpoint(OBSERVER).cancel_observation(now, id).unwrap();
    assert_ne!(cancel, id);
    let mut events = Vec::new();
    net.run_until(Instant::from_secs(200), |net, node, event| {
        if let Event::Request { id, request, .. } = &event {
            assert_eq!(request.observe(), Some(1));
            assert_eq!(request.code(), Code::GET);
            let now = net.now();
            net.endpoint(node)
                .respond(now, *id, content(&b"last"[..]))
                .unwrap();
        }
        events.push((node, event));
    });
    assert!(events.iter().any(|(node, e)| *node == NOTIFIER
        && *e
            == Event::RelationEnded {
                relation,
                peer: net.addr(OBSERVER),
                reason: RelationEnd::Deregistered
            }));
    assert!(events.iter().any(|(node, e)| *node == OBSERVER
        && matches!(e, Event::Response { id, response, .. } if *id == cancel && response.observe().is_none())));
    assert_eq!(net.endpoint(NOTIFIER).stats().relations, 0);
    assert_eq!(net.endpoint(OBSERVER).stats().observations, 0);
    let now = net.now();
    assert!(net
        .endpoint(NOTIFIER)
        .notify(now, relation, content(&b"x"[..]))
        .is_err());
}

#[test]
fn passive_cancel_resets_the_next_notification() {
    let (mut net, id, relation) = observed(
        33,
        Config::default(),
        Config::default(),
        &content(&b"a"[..]),
    );
    let now = net.now();
    net.endpoint(OBSERVER).forget_observation(now, id).unwrap();
    net.endpoint(NOTIFIER)
        .notify(now, relation, content(&b"b"[..]))
        .unwrap();
    let mut ended = None;
    net.run_until(Instant::from_secs(200), |_, node, event| match event {
        Event::RelationEnded {
            relation: r,
            reason,
            ..
        } => ended = Some((node, r, reason)),
        other => panic!("{other:?}"),
    });
    assert_eq!(ended, Some((NOTIFIER, relation, RelationEnd::Reset)));
}

#[test]
fn an_unacknowledged_confirmable_notification_ends_the_relation() {
    let (mut net, _, relation) = observed(
        34,
        Config::default(),
        Config::default(),
        &content(&b"a"[..]),
    );
    net.set_up(OBSERVER, false);
    let start = net.now();
    net.endpoint(NOTIFIER)
        .notify(start, relation, content(&b"b"[..]).with_confirmable(true))
        .unwrap();
    let mut ended = None;
    net.run_until(Instant::from_secs(1000), |net, _, event| match event {
        Event::RelationEnded {
            relation: r,
            reason,
            ..
        } => ended = Some((r, reason, net.now() - start)),
        other => panic!("{other:?}"),
    });
    let (r, reason, after) = ended.unwrap();
    assert_eq!((r, reason), (relation, RelationEnd::Timeout));
    assert!(after >= Duration::from_secs(62) && after <= Duration::from_secs(93));
}

#[test]
fn with_keep_relations_on_timeout_the_relation_survives_an_unacknowledged_notification() {
    let notifier = Config {
        keep_relations_on_timeout: true,
        ..Config::default()
    };
    let (mut net, id, relation) = observed(36, Config::default(), notifier, &content(&b"a"[..]));
    net.set_up(OBSERVER, false);
    let start = net.now();
    net.endpoint(NOTIFIER)
        .notify(start, relation, content(&b"b"[..]).with_confirmable(true))
        .unwrap();
    let mut timed_out = None;
    net.run_until(Instant::from_secs(1000), |net, _, event| match event {
        Event::NotificationTimedOut { relation: r, .. } => timed_out = Some((r, net.now() - start)),
        other => panic!("{other:?}"),
    });
    let (r, after) = timed_out.unwrap();
    assert_eq!(r, relation);
    assert!(after >= Duration::from_secs(62) && after <= Duration::from_secs(93));
    // The observer is back: the next notification goes out on the same relation.
    net.set_up(OBSERVER, true);
    let now = net.now();
    net.endpoint(NOTIFIER)
        .notify(now, relation, content(&b"c"[..]).with_confirmable(true))
        .unwrap();
    let mut seen = Vec::new();
    net.run_until(Instant::from_secs(2000), |_, _, event| match event {
        Event::Notification {
            id: n, response, ..
        } => {
            assert_eq!(n, id);
            seen.push((response.observe(), response.body().to_vec()));
        }
        other => panic!("{other:?}"),
    });
    assert_eq!(seen, [(Some(3), b"c".to_vec())]);
}

#[test]
fn a_newer_notification_replaces_the_confirmable_one_in_flight() {
    let (mut net, id, relation) = observed(
        35,
        Config::default(),
        Config::default(),
        &content(&b"0"[..]),
    );
    net.set_up(OBSERVER, false);
    let now = net.now();
    net.endpoint(NOTIFIER)
        .notify(now, relation, content(&b"1"[..]).with_confirmable(true))
        .unwrap();
    net.run_until(now + Duration::from_secs(5), |_, _, e| panic!("{e:?}"));
    // The second notification is sent Confirmable even though NON was the default, and replaces
    // the first: one message in flight.
    let now = net.now();
    net.endpoint(NOTIFIER)
        .notify(now, relation, content(&b"2"[..]))
        .unwrap();
    assert_eq!(net.endpoint(NOTIFIER).stats().pending_messages, 1);
    net.set_up(OBSERVER, true);
    let mut delivered = Vec::new();
    net.run_until(now + Duration::from_secs(120), |_, _, event| match event {
        Event::Notification {
            id: n, response, ..
        } => {
            assert_eq!(n, id);
            delivered.push(response.body().clone());
        }
        other => panic!("{other:?}"),
    });
    assert_eq!(delivered, [bytes::Bytes::from_static(b"2")]);
    let notifier_addr = net.addr(NOTIFIER);
    let after_replacement: Vec<_> = net
        .trace()
        .iter()
        .filter(|e| e.source == notifier_addr && e.sent >= now)
        .map(|e| parse(&e.datagram))
        .filter(|m| m.ty() == Type::Confirmable)
        .collect();
    assert!(
        after_replacement.iter().all(|m| m.payload() == b"2"),
        "the old notification is no longer retransmitted"
    );
    assert_eq!(net.endpoint(NOTIFIER).stats().pending_messages, 0);
}

#[test]
fn a_confirmable_notification_is_sent_at_least_every_24_hours() {
    let (mut net, _, relation) = observed(
        36,
        Config::default(),
        Config::default(),
        &content(&b"0"[..]),
    );
    let notifier_addr = net.addr(NOTIFIER);
    let last_type = |net: &mut Network| {
        parse(
            &net.trace()
                .iter()
                .rev()
                .find(|e| e.source == notifier_addr)
                .unwrap()
                .datagram,
        )
        .ty()
    };
    let now = net.now();
    net.endpoint(NOTIFIER)
        .notify(now, relation, content(&b"1"[..]))
        .unwrap();
    net.run_until(now + Duration::from_secs(1), |_, _, _| {});
    assert_eq!(last_type(&mut net), Type::NonConfirmable);
    net.run_until(now + Duration::from_secs(24 * 3600), |_, _, _| {});
    let now = net.now();
    net.endpoint(NOTIFIER)
        .notify(now, relation, content(&b"2"[..]))
        .unwrap();
    net.run_until(now + Duration::from_secs(1), |_, _, _| {});
    assert_eq!(last_type(&mut net), Type::Confirmable);
    let now = net.now();
    net.endpoint(NOTIFIER)
        .notify(now, relation, content(&b"3"[..]))
        .unwrap();
    net.run_until(now + Duration::from_secs(1), |_, _, _| {});
    assert_eq!(last_type(&mut net), Type::NonConfirmable);
}

#[test]
fn large_notifications_are_fetched_block_wise_and_delivered_whole() {
    let big = |n: u8| -> Vec<u8> { (0..3000u32).map(|i| (i as u8) ^ n).collect() };
    let (mut net, id, relation) =
        observed(37, Config::default(), Config::default(), &content(big(0)));
    for n in 1..=3u8 {
        let now = net.now();
        net.endpoint(NOTIFIER)
            .notify(now, relation, content(big(n)))
            .unwrap();
        let mut got = None;
        net.run_until(now + Duration::from_secs(10), |_, _, event| match event {
            Event::Notification {
                id: i, response, ..
            } => {
                assert_eq!(i, id);
                got = Some(response);
            }
            other => panic!("{other:?}"),
        });
        let got = got.expect("notification not delivered");
        assert!(got.body()[..] == big(n)[..]);
        assert_eq!(got.observe(), Some(u32::from(n) + 1));
    }
    // The follow-up GETs carried no Observe option.
    let observer_addr = net.addr(OBSERVER);
    let follow_ups = net
        .trace()
        .iter()
        .filter(|e| e.source == observer_addr)
        .map(|e| parse(&e.datagram))
        .filter(|m| m.code() == Code::GET && m.block2().ok().flatten().is_some_and(|b| b.num() > 0))
        .inspect(|m| assert_eq!(m.observe(), Ok(None)))
        .count();
    assert_eq!(follow_ups, 4 * 2);
}

#[test]
fn an_error_notification_ends_the_observation() {
    let (mut net, id, relation) = observed(
        38,
        Config::default(),
        Config::default(),
        &content(&b"0"[..]),
    );
    let now = net.now();
    net.endpoint(NOTIFIER)
        .notify(now, relation, Response::new(Code::NOT_FOUND))
        .unwrap();
    let mut ended = None;
    net.run_until(now + Duration::from_secs(10), |_, _, event| match event {
        Event::ObservationEnded {
            id: i, response, ..
        } => ended = Some((i, response.code())),
        other => panic!("{other:?}"),
    });
    assert_eq!(ended, Some((id, Code::NOT_FOUND)));
    assert_eq!(net.endpoint(NOTIFIER).stats().relations, 0);
    assert_eq!(net.endpoint(OBSERVER).stats().observations, 0);
}

#[test]
fn re_registering_with_the_same_token_replaces_the_relation() {
    let mut notifier: Endpoint<&str> = Endpoint::new(Config::default(), [2; 32]).unwrap();
    let now = Instant::ZERO;
    let register = |mid: u16| {
        let mut b = MessageBuilder::new(Type::Confirmable, Code::GET, mid);
        b.token(lwm2m_codec::coap::Token::from_u64(0xCAFE))
            .uri_path("/3/0/9")
            .observe(0);
        b.to_vec().unwrap()
    };
    notifier.handle_datagram(now, "o", &register(1));
    let Some(Event::Request { id, .. }) = notifier.poll_event() else {
        panic!()
    };
    let first = notifier
        .accept_observation(now, id, content(&b"1"[..]))
        .unwrap();
    notifier.handle_datagram(now, "o", &register(2));
    let Some(Event::Request { id, .. }) = notifier.poll_event() else {
        panic!()
    };
    let second = notifier
        .accept_observation(now, id, content(&b"2"[..]))
        .unwrap();
    assert_eq!(
        notifier.poll_event(),
        Some(Event::RelationEnded {
            relation: first,
            peer: "o",
            reason: RelationEnd::Replaced
        })
    );
    assert_eq!(notifier.stats().relations, 1);
    notifier.notify(now, second, content(&b"3"[..])).unwrap();
    // accept_observation refuses non-registrations and error codes.
    notifier.handle_datagram(now, "o", &hex("41 01 00 03 0B B1 33"));
    let Some(Event::Request { id, .. }) = notifier.poll_event() else {
        panic!()
    };
    assert_eq!(
        notifier.accept_observation(now, id, content(&b""[..])),
        Err(EndpointError::NotObserveRequest(id))
    );
    notifier.handle_datagram(now, "o", &register(4));
    let Some(Event::Request { id, .. }) = notifier.poll_event() else {
        panic!()
    };
    assert_eq!(
        notifier.accept_observation(now, id, Response::new(Code::NOT_FOUND)),
        Err(EndpointError::NotSuccess)
    );
    notifier
        .respond(now, id, Response::new(Code::NOT_FOUND))
        .unwrap();
}

#[test]
fn a_notification_during_the_registration_fetch_does_not_cancel_it() {
    let big: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    let mut net = Network::new(39);
    let o = net.add_node(Config::default());
    let n = net.add_node(Config::default());
    let now = net.now();
    let n_addr = net.addr(n);
    let id = net
        .endpoint(o)
        .start_request(now, n_addr, observe("/5/0"))
        .unwrap();
    let mut response = None;
    let mut notifications = Vec::new();
    net.run_until(Instant::from_secs(100), |net, node, event| match event {
        Event::Request { id, request, .. } if request.is_observe_registration() => {
            let now = net.now();
            let ep = net.endpoint(node);
            let relation = ep
                .accept_observation(now, id, content(big.clone()))
                .unwrap();
            ep.notify(now, relation, content(&b"small"[..])).unwrap();
        }
        Event::Request { .. } => panic!("follow-up blocks come from the cache"),
        Event::Response {
            id: r,
            response: body,
            ..
        } => response = Some((r, body)),
        Event::Notification {
            id: r,
            response: body,
            ..
        } => {
            assert_eq!(r, id);
            notifications.push(body.body().clone());
        }
        other => panic!("{other:?}"),
    });
    let (r, body) = response.expect("the registration response was not delivered");
    assert_eq!(r, id);
    assert!(body.body()[..] == big[..]);
    assert_eq!(notifications, [bytes::Bytes::from_static(b"small")]);
}
