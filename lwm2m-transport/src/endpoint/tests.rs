use core::time::Duration;

use lwm2m_codec::coap::{Code, MessageBuilder, Type};

use super::*;
use crate::message::Response;

fn endpoint(config: Config) -> Endpoint<u8> {
    Endpoint::new(config, [7; 32]).unwrap()
}

#[test]
fn invalid_configuration_is_refused() {
    let config = Config {
        block_size: 3,
        ..Config::default()
    };
    assert!(matches!(
        Endpoint::<u8>::new(config, [0; 32]),
        Err(EndpointError::Config(_))
    ));
    assert!(Endpoint::<u8>::with_entropy(Config::default()).is_ok());
}

#[test]
fn first_timeouts_are_spread_over_the_random_interval() {
    let mut ep = endpoint(Config::default());
    let timeouts: Vec<Duration> = (0..200).map(|_| ep.initial_timeout()).collect();
    assert!(timeouts
        .iter()
        .all(|t| *t >= Duration::from_secs(2) && *t <= Duration::from_secs(3)));
    let low = timeouts
        .iter()
        .filter(|t| **t < Duration::from_millis(2500))
        .count();
    assert!((60..=140).contains(&low), "{low} of 200 below the middle");
}

#[test]
fn tokens_are_eight_random_bytes_and_message_ids_count_up() {
    let mut ep = endpoint(Config {
        transmission: crate::TransmissionParameters {
            nstart: 4,
            ..crate::TransmissionParameters::default()
        },
        ..Config::default()
    });
    for _ in 0..3 {
        ep.start_request(Instant::ZERO, 1, Request::new(Code::GET))
            .unwrap();
    }
    let sent: Vec<_> = core::iter::from_fn(|| ep.poll_transmit()).collect();
    let msgs: Vec<_> = sent
        .iter()
        .map(|t| Message::parse(&t.contents).unwrap())
        .collect();
    assert!(msgs.iter().all(|m| m.token().len() == 8));
    assert_ne!(msgs[0].token(), msgs[1].token());
    assert_eq!(msgs[1].message_id(), msgs[0].message_id().wrapping_add(1));
    assert_eq!(msgs[2].message_id(), msgs[1].message_id().wrapping_add(1));
}

#[test]
fn full_tables_refuse_new_entries() {
    let config = Config {
        limits: crate::Limits {
            max_outgoing: 2,
            max_incoming: 1,
            max_peers: 2,
            ..crate::Limits::default()
        },
        ..Config::default()
    };
    let mut ep = endpoint(config);
    ep.start_request(Instant::ZERO, 1, Request::new(Code::GET))
        .unwrap();
    ep.start_request(Instant::ZERO, 2, Request::new(Code::GET))
        .unwrap();
    assert_eq!(
        ep.start_request(Instant::ZERO, 1, Request::new(Code::GET)),
        Err(EndpointError::TableFull {
            table: Table::Outgoing,
            limit: 2
        })
    );
    while ep.poll_transmit().is_some() {}
    // Both peers are busy: a third peer's request is dropped without state.
    ep.handle_datagram(Instant::ZERO, 3, &[0x40, 0x01, 0, 1]);
    assert_eq!((ep.poll_transmit(), ep.poll_event()), (None, None));
    assert_eq!(ep.stats().peers, 2);
    // One incoming request fills the table; the next gets 5.03.
    ep.handle_datagram(Instant::ZERO, 1, &[0x40, 0x01, 0, 1]);
    assert!(ep.poll_event().is_some());
    ep.handle_datagram(Instant::ZERO, 1, &[0x40, 0x01, 0, 2]);
    let reply = ep.poll_transmit().unwrap();
    assert_eq!(
        Message::parse(&reply.contents).unwrap().code(),
        Code::SERVICE_UNAVAILABLE
    );
}

#[test]
fn unanswered_requests_are_forgotten_after_the_exchange_lifetime() {
    let mut ep = endpoint(Config {
        empty_ack_delay: None,
        ..Config::default()
    });
    ep.handle_datagram(Instant::ZERO, 1, &[0x40, 0x01, 0, 1]);
    let Some(Event::Request { id, .. }) = ep.poll_event() else {
        panic!()
    };
    assert_eq!(ep.poll_timeout(), Some(Instant::from_secs(247)));
    ep.handle_timeout(Instant::from_secs(247));
    assert_eq!(ep.stats().incoming, 0);
    assert_eq!(
        ep.respond(Instant::from_secs(248), id, Response::new(Code::CONTENT)),
        Err(EndpointError::UnknownIncoming(id))
    );
}

#[test]
fn an_empty_ack_delay_of_zero_acknowledges_at_once() {
    let mut ep = endpoint(Config {
        empty_ack_delay: Some(Duration::ZERO),
        ..Config::default()
    });
    ep.handle_datagram(Instant::ZERO, 1, &[0x40, 0x01, 0, 9]);
    assert_eq!(
        ep.poll_transmit().map(|t| t.contents.to_vec()),
        Some(vec![0x60, 0, 0, 9])
    );
    assert!(ep.poll_event().is_some());
}

#[test]
fn cancelled_and_unknown_ids_are_reported() {
    let mut ep = endpoint(Config::default());
    let id = ep
        .start_request(Instant::ZERO, 1, Request::new(Code::GET))
        .unwrap();
    ep.cancel_request(Instant::ZERO, id).unwrap();
    assert_eq!(
        ep.cancel_request(Instant::ZERO, id),
        Err(EndpointError::UnknownRequest(id))
    );
    assert_eq!(
        ep.cancel_observation(Instant::ZERO, id),
        Err(EndpointError::UnknownRequest(id))
    );
    assert_eq!(
        ep.forget_observation(Instant::ZERO, id),
        Err(EndpointError::UnknownRequest(id))
    );
    assert_eq!(
        ep.cancel_relation(RelationId(99)),
        Err(EndpointError::UnknownRelation(RelationId(99)))
    );
    assert_eq!(ep.stats().timers, 0);
    assert_eq!(ep.stats().pending_messages, 0);
    // The late response is now unknown: RST.
    let sent = ep.poll_transmit().unwrap();
    let msg = Message::parse(&sent.contents).unwrap();
    let mut late = MessageBuilder::new(Type::Confirmable, Code::CONTENT, 0x99);
    late.token(msg.owned_token());
    ep.handle_datagram(Instant::ZERO, 1, &late.to_vec().unwrap());
    assert_eq!(
        ep.poll_transmit().map(|t| t.contents.to_vec()),
        Some(vec![0x70, 0, 0, 0x99])
    );
}
