//! Helpers shared by the behaviour tests: request builders and a registrar harness on virtual
//! time.
#![allow(dead_code)]

use std::net::SocketAddr;

use lwm2m_codec::coap::{Code, Message, MessageBuilder, Token, Type};
use lwm2m_server::registration::{
    Registrar, RegistrarBuilder, RegistrationEvent, RegistrationId, RegistrationResponse,
};
use lwm2m_server::Timestamp;

/// Hex such as `44 02 12 34` to bytes.
pub fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

pub fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// A request's parts.
#[derive(Clone, Debug)]
pub struct Req<'a> {
    pub ty: Type,
    pub code: Code,
    pub path: &'a str,
    pub queries: Vec<&'a str>,
    pub content_format: Option<u16>,
    pub payload: &'a [u8],
}

impl<'a> Req<'a> {
    pub fn new(code: Code, path: &'a str) -> Req<'a> {
        Req {
            ty: Type::Confirmable,
            code,
            path,
            queries: Vec::new(),
            content_format: None,
            payload: b"",
        }
    }

    /// `POST /rd?{query}` with CF 40 and `payload`.
    pub fn register(query: &'a str, payload: &'a [u8]) -> Req<'a> {
        Req {
            queries: query.split('&').filter(|q| !q.is_empty()).collect(),
            content_format: Some(40),
            payload,
            ..Req::new(Code::POST, "/rd")
        }
    }

    pub fn bytes(&self, message_id: u16) -> Vec<u8> {
        let mut b = MessageBuilder::new(self.ty, self.code, message_id);
        b.token(Token::from_u64(u64::from(message_id) + 1));
        b.uri_path(self.path);
        for q in &self.queries {
            b.uri_query(q);
        }
        if let Some(cf) = self.content_format {
            b.content_format(cf);
        }
        b.payload(self.payload);
        b.to_vec().unwrap()
    }
}

/// A registrar driven on virtual time, with the answers as parsed values and as bytes.
pub struct Harness {
    pub registrar: Registrar,
    pub now: Timestamp,
    next_mid: u16,
}

/// What the registrar answered.
pub struct Answer {
    pub response: RegistrationResponse,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn code(&self) -> Code {
        self.response.code()
    }

    pub fn code_str(&self) -> String {
        let c = self.code();
        format!("{}.{:02}", c.class(), c.detail())
    }

    pub fn id(&self) -> RegistrationId {
        self.response
            .location()
            .unwrap_or_else(|| panic!("no location in a {} answer", self.code_str()))
    }

    pub fn message(&self) -> Message<'_> {
        Message::parse(&self.bytes).unwrap()
    }
}

pub const START: Timestamp = Timestamp::from_unix_secs(1_700_000_000);

impl Harness {
    pub fn new() -> Harness {
        Harness::with(Registrar::builder())
    }

    pub fn with(builder: RegistrarBuilder) -> Harness {
        Harness {
            registrar: builder.seed([42; 32]).build(START).unwrap(),
            now: START,
            next_mid: 1,
        }
    }

    pub fn advance(&mut self, secs: u64) {
        self.now = self.now + core::time::Duration::from_secs(secs);
        self.registrar.handle_timeout(self.now);
    }

    /// Feeds raw datagram bytes.
    pub fn datagram(&mut self, peer: SocketAddr, bytes: &[u8]) -> Answer {
        let request = Message::parse(bytes).unwrap();
        let response = self.registrar.handle_request(self.now, peer, &request);
        let bytes = response.write_piggybacked(&request).unwrap();
        Answer { response, bytes }
    }

    pub fn send(&mut self, peer: SocketAddr, req: &Req<'_>) -> Answer {
        let mid = self.next_mid;
        self.next_mid = self.next_mid.wrapping_add(1);
        let bytes = req.bytes(mid);
        self.datagram(peer, &bytes)
    }

    /// Registers `ep` with lifetime `lt` and the usual two objects; returns the id.
    pub fn register(&mut self, peer: SocketAddr, ep: &str, lt: u32) -> RegistrationId {
        let query = format!("ep={ep}&lt={lt}&lwm2m=1.0&b=U");
        let answer = self.send(peer, &Req::register(&query, b"</1/0>,</3/0>"));
        assert_eq!(answer.code(), Code::CREATED, "{:?}", answer.response);
        answer.id()
    }

    pub fn update(&mut self, peer: SocketAddr, id: RegistrationId, query: &str) -> Answer {
        let path = format!("/rd/{id}");
        let req = Req {
            queries: query.split('&').filter(|q| !q.is_empty()).collect(),
            ..Req::new(Code::POST, &path)
        };
        self.send(peer, &req)
    }

    pub fn deregister(&mut self, peer: SocketAddr, id: RegistrationId) -> Answer {
        let path = format!("/rd/{id}");
        self.send(peer, &Req::new(Code::DELETE, &path))
    }

    pub fn events(&mut self) -> Vec<RegistrationEvent> {
        std::iter::from_fn(|| self.registrar.poll_event()).collect()
    }
}
