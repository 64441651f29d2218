//! Helpers shared by the behaviour tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_codec::coap::{Code, Message, Type};
use lwm2m_transport::sim::{Fate, LinkConditions, TraceEntry};
use lwm2m_transport::{Config, Instant, Request, Response};

/// Parses a datagram the endpoint produced (it must always be well-formed).
pub fn parse(bytes: &[u8]) -> Message<'_> {
    Message::parse(bytes).expect("the endpoint sent a malformed datagram")
}

/// Decodes a hex string with optional spaces.
pub fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

pub fn get(path: &str) -> Request {
    Request::build(Code::GET, |b| {
        b.uri_path(path);
    })
    .unwrap()
}

pub fn post(path: &str, body: Vec<u8>) -> Request {
    Request::build(Code::POST, |b| {
        b.uri_path(path).content_format(42);
    })
    .unwrap()
    .with_payload(body)
}

pub fn content(body: impl Into<bytes::Bytes>) -> Response {
    Response::build(Code::CONTENT, |b| {
        b.content_format(42);
    })
    .unwrap()
    .with_payload(body)
}

/// 30 % loss each way, 5 % duplication, 5-100 ms delay (re-ordering).
pub fn lossy_link() -> LinkConditions {
    LinkConditions {
        loss: 0.3,
        duplicate: 0.05,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(100),
    }
}

/// RFC defaults but more retransmissions: with 30 % loss each way a round trip succeeds with
/// probability 0.49, so an exchange fails with `0.51^(1 + max_retransmit)`: 3.4 % with the default
/// 4, 1.1e-5 with 16.
pub fn patient_config(nstart: usize) -> Config {
    let mut config = Config::default();
    config.transmission.max_retransmit = 16;
    config.transmission.nstart = nstart;
    config
}

/// Send times of every Confirmable request message `source` sent, by message id.
pub fn con_request_sends(trace: &[TraceEntry], source: SocketAddr) -> HashMap<u16, Vec<Instant>> {
    let mut sends: HashMap<u16, Vec<Instant>> = HashMap::new();
    for entry in trace.iter().filter(|e| e.source == source) {
        let msg = parse(&entry.datagram);
        if msg.ty() == Type::Confirmable && msg.code().is_request() {
            sends.entry(msg.message_id()).or_default().push(entry.sent);
        }
    }
    sends
}

/// Checks RFC 7252 §4.2 back-off on one message's send times: the first timeout in
/// [2 s, 3 s], each next one exactly double, at most `1 + max_retransmit` transmissions.
pub fn assert_backoff(sends: &[Instant], max_retransmit: usize) {
    assert!(
        !sends.is_empty() && sends.len() <= 1 + max_retransmit,
        "{sends:?}"
    );
    let mut previous: Option<Duration> = None;
    for pair in sends.windows(2) {
        let gap = pair[1] - pair[0];
        match previous {
            None => assert!(
                gap >= Duration::from_secs(2) && gap <= Duration::from_secs(3),
                "first timeout {gap:?}"
            ),
            Some(p) => assert_eq!(gap, p * 2, "timeouts must double: {sends:?}"),
        }
        previous = Some(gap);
    }
}

/// Whether a trace entry was lost.
pub fn dropped(entry: &TraceEntry) -> bool {
    entry.fate == Fate::Dropped
}
