//! Bootstrap interface behaviour on virtual time: a scripted Bootstrap-Server and scripted
//! management servers (bare transport endpoints) on the simulated network.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use common::{get, hex, req, Node, NodeEvent, JSON, LINK, TEXT, TLV};
use lwm2m_client::{
    BootstrapConfig, Client, ClientBuilder, ClientEvent, DeviceObject, ServerAccount, TypedStore,
};
use lwm2m_codec::coap::{option, Code, Message};
use lwm2m_codec::ContentFormat;
use lwm2m_model::{Node as Content, Object, Path, Registry};
use lwm2m_objects::{
    ConnectivityMonitoring, Device, FirmwareUpdate, Security, Server, TypedObject,
};
use lwm2m_transport::sim::{Network, NodeId};
use lwm2m_transport::{
    Config, Endpoint, Event, IncomingRequest, IncomingResponse, Instant, Request, RequestId,
    Response,
};

/// A request one of the scripted servers received.
#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    node: NodeId,
    code: Code,
    path: Vec<String>,
    query: Vec<String>,
}

struct Bench {
    net: Network<Node>,
    client: NodeId,
    bs: NodeId,
    mgmt: Vec<NodeId>,
    received: Vec<Received>,
    events: Vec<(Instant, ClientEvent)>,
    responses: HashMap<RequestId, IncomingResponse>,
    failures: HashMap<RequestId, String>,
}

/// `factory`: management server accounts (index into the management hosts, ssid) the client
/// starts with.
fn bench(mgmt_hosts: usize, factory: &[(usize, u16)], attempts: u32) -> Bench {
    bench_with(mgmt_hosts, factory, attempts, |b| b)
}

fn bench_with(
    mgmt_hosts: usize,
    factory: &[(usize, u16)],
    attempts: u32,
    more: impl FnOnce(ClientBuilder<SocketAddr>) -> ClientBuilder<SocketAddr>,
) -> Bench {
    let mut net: Network<Node> = Network::with_seed(11);
    let add = |net: &mut Network<Node>| {
        let ep = Endpoint::new(Config::default(), net.seed()).unwrap();
        net.add_host(Node::Server(Box::new(ep)))
    };
    let bs = add(&mut net);
    let mgmt: Vec<NodeId> = (0..mgmt_hosts).map(|_| add(&mut net)).collect();
    let device = DeviceObject::new(Device {
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    });
    let mut builder = ClientBuilder::new("node1")
        .object(device)
        .bootstrap_server(BootstrapConfig::udp(net.addr(bs)).register_attempts(attempts));
    for &(index, ssid) in factory {
        let peer = net.addr(mgmt[index]);
        builder = builder.server(
            ServerAccount::new(ssid, peer)
                .lifetime(300)
                .uri(format!("coap://{peer}")),
        );
    }
    let client = more(builder).seed(net.seed()).build().unwrap();
    let client = net.add_host(Node::Client(Box::new(client)));
    Bench {
        net,
        client,
        bs,
        mgmt,
        received: Vec::new(),
        events: Vec::new(),
        responses: HashMap::new(),
        failures: HashMap::new(),
    }
}

impl Bench {
    fn client(&mut self) -> &mut Client<SocketAddr> {
        match self.net.host(self.client) {
            Node::Client(c) => c,
            Node::Server(_) => unreachable!(),
        }
    }

    fn now(&self) -> Instant {
        self.net.now()
    }

    /// The scripted servers: the Bootstrap-Server accepts Bootstrap-Requests, management
    /// servers accept Register and Update.
    fn on_event(&mut self, node: NodeId, event: NodeEvent) {
        let now = self.now();
        match event {
            NodeEvent::Client(e) => self.events.push((now, e)),
            NodeEvent::Server(Event::Request { id, request, .. }) => {
                let response = self.answer(now, node, &request);
                if let Node::Server(ep) = self.net.host(node) {
                    ep.respond(now, id, response).unwrap();
                }
            }
            NodeEvent::Server(Event::Response { id, response, .. }) => {
                self.responses.insert(id, response);
            }
            NodeEvent::Server(Event::RequestFailed { id, error, .. }) => {
                self.failures.insert(id, error.to_string());
            }
            NodeEvent::Server(_) => {}
        }
    }

    fn answer(&mut self, now: Instant, node: NodeId, request: &IncomingRequest) -> Response {
        let msg = request.message().unwrap();
        let r = Received {
            at: now,
            node,
            code: msg.code(),
            path: msg.uri_path().unwrap().map(String::from).collect(),
            query: msg.uri_query().unwrap().map(String::from).collect(),
        };
        let response = match (node == self.bs, r.code, r.path.len()) {
            (true, Code::POST, 1) if r.path == ["bs"] => Response::new(Code::CHANGED),
            (false, Code::POST, 1) if r.path == ["rd"] => Response::build(Code::CREATED, |b| {
                b.option(option::LOCATION_PATH, b"rd");
                b.option(option::LOCATION_PATH, b"x1");
            })
            .unwrap(),
            (false, Code::POST, 2) => Response::new(Code::CHANGED),
            (false, Code::DELETE, 2) => Response::new(Code::DELETED),
            _ => Response::new(Code::NOT_FOUND),
        };
        self.received.push(r);
        response
    }

    fn run_while(&mut self, limit: Instant, mut done: impl FnMut(&mut Bench) -> bool) -> bool {
        loop {
            while let Some((node, event)) = self.net.poll_event() {
                self.on_event(node, event);
            }
            if done(self) {
                return true;
            }
            if !self.net.step_until(limit) {
                while let Some((node, event)) = self.net.poll_event() {
                    self.on_event(node, event);
                }
                return done(self);
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        let limit = self.now() + d;
        self.run_while(limit, |_| false);
    }

    /// Runs until `done` holds, at most `secs` virtual seconds.
    fn run_until(&mut self, secs: u64, done: impl FnMut(&mut Bench) -> bool) {
        let limit = self.now() + Duration::from_secs(secs);
        assert!(self.run_while(limit, done), "condition not reached");
    }

    fn bootstrap_requests(&self) -> Vec<&Received> {
        self.received
            .iter()
            .filter(|r| r.node == self.bs && r.path == ["bs"])
            .collect()
    }

    fn registers_at(&self, index: usize) -> Vec<&Received> {
        let node = self.mgmt[index];
        self.received
            .iter()
            .filter(|r| r.node == node && r.path == ["rd"])
            .collect()
    }

    /// Sends `request` from host `from` to the client and waits for the answer.
    fn request_from(&mut self, from: NodeId, request: Request) -> IncomingResponse {
        let now = self.now();
        let to = self.net.addr(self.client);
        let id = match self.net.host(from) {
            Node::Server(ep) => ep.start_request(now, to, request).unwrap(),
            Node::Client(_) => unreachable!(),
        };
        self.net.flush();
        self.run_until(300, |b| {
            b.responses.contains_key(&id) || b.failures.contains_key(&id)
        });
        self.responses
            .remove(&id)
            .unwrap_or_else(|| panic!("no answer: {:?}", self.failures.get(&id)))
    }

    fn bs_request(&mut self, request: Request) -> IncomingResponse {
        self.request_from(self.bs, request)
    }

    /// Delivers raw bytes to the client as the Bootstrap-Server and returns the client's
    /// first datagram back (exact bytes, from the trace).
    fn bs_exchange(&mut self, bytes: &[u8]) -> Vec<u8> {
        let from = self.net.addr(self.bs);
        let client_addr = self.net.addr(self.client);
        let mark = self.net.trace().len();
        self.net.inject(from, self.client, bytes);
        self.net.flush();
        let reply = self.net.trace()[mark..]
            .iter()
            .find(|t| t.source == client_addr && t.destination == from)
            .map(|t| t.datagram.to_vec())
            .expect("the client answered");
        self.run_for(Duration::from_millis(100));
        reply
    }

    fn security(&mut self) -> Vec<(u16, Security)> {
        let store: &TypedStore<Security> = self.client().object(0).unwrap();
        store.iter().map(|(i, s)| (i, s.clone())).collect()
    }

    fn count(&self, f: impl Fn(&ClientEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| f(e)).count()
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.insert_static(Security::DEFINITION).unwrap();
    r.insert_static(Server::DEFINITION).unwrap();
    r
}

fn security_tlv(instance: u16, uri: &str, ssid: i64) -> Vec<u8> {
    let security = Security {
        lwm2m_server_uri: uri.into(),
        security_mode: 3,
        short_server_id: Some(ssid),
        ..Security::default()
    };
    let path = Path::object_instance(0, instance).unwrap();
    lwm2m_model::content::encode(
        ContentFormat::Tlv,
        &path,
        &security.to_instance_node(instance),
        &registry(),
    )
    .unwrap()
}

fn server_tlv(instance: u16, ssid: i64, lifetime: i64) -> Vec<u8> {
    let server = Server {
        short_server_id: ssid,
        lifetime,
        binding: "U".into(),
        notification_storing_when_disabled_or_offline: true,
        ..Server::default()
    };
    let path = Path::object_instance(1, instance).unwrap();
    lwm2m_model::content::encode(
        ContentFormat::Tlv,
        &path,
        &server.to_instance_node(instance),
        &registry(),
    )
    .unwrap()
}

fn put(path: &str, format: Option<u16>, payload: &[u8]) -> Request {
    req(Code::PUT, path, format, &[], payload)
}

fn delete(path: &str) -> Request {
    req(Code::DELETE, path, None, &[], b"")
}

fn finish() -> Request {
    req(Code::POST, "/bs", None, &[], b"")
}

fn body(r: &IncomingResponse) -> String {
    String::from_utf8(r.body().to_vec()).unwrap()
}

#[test]
fn client_initiated_bootstrap_then_register_with_the_configured_server() {
    let mut b = bench(1, &[], 3);
    b.run_until(10, |b| !b.bootstrap_requests().is_empty());
    // The exact Bootstrap-Request of the vector, with this exchange's message id and token.
    let bs_addr = b.net.addr(b.bs);
    let sent = b
        .net
        .trace()
        .iter()
        .find(|t| t.destination == bs_addr)
        .unwrap()
        .datagram
        .to_vec();
    let msg = Message::parse(&sent).unwrap();
    let mut expected = hex("40 02 00 01 B2 62 73 48 65 70 3D 6E 6F 64 65 31");
    expected[0] |= msg.token().len() as u8;
    expected[2..4].copy_from_slice(&msg.message_id().to_be_bytes());
    for (i, byte) in msg.token().iter().enumerate() {
        expected.insert(4 + i, *byte);
    }
    assert_eq!(sent, expected);
    assert_eq!(b.bootstrap_requests()[0].query, ["ep=node1"]);
    assert!(b.client().is_bootstrapping());

    assert_eq!(b.bs_request(delete("/")).code(), Code::DELETED);
    let mgmt = b.net.addr(b.mgmt[0]);
    let uri = format!("coap://{mgmt}");
    let written = b.bs_request(put("/0/1", Some(TLV), &security_tlv(1, &uri, 101)));
    assert_eq!(written.code(), Code::CHANGED);
    let written = b.bs_request(put("/1/0", Some(TLV), &server_tlv(0, 101, 300)));
    assert_eq!(written.code(), Code::CHANGED);

    let discovered = b.bs_request(get("/", Some(LINK)));
    assert_eq!(discovered.code(), Code::CONTENT);
    assert_eq!(
        body(&discovered),
        r#"lwm2m="1.0",</0/0>,</0/1>;ssid=101,</1/0>;ssid=101,</3/0>"#
    );

    // The Bootstrap-Finish vector; the client's piggy-backed 2.04 echoes MID 0x0100, token 10.
    let reply = b.bs_exchange(&hex("41 02 01 00 10 B2 62 73"));
    assert_eq!(reply, hex("61 44 01 00 10"));

    b.run_until(60, |b| b.client().is_registered(101));
    let register = &b.registers_at(0)[0];
    assert!(register.query.contains(&"lt=300".to_string()));
    assert!(!b.client().is_bootstrapping());
    let kinds: Vec<&ClientEvent> = b.events.iter().map(|(_, e)| e).collect();
    let started = kinds
        .iter()
        .position(|e| matches!(e, ClientEvent::BootstrapStarted));
    let finished = kinds
        .iter()
        .position(|e| matches!(e, ClientEvent::BootstrapFinished));
    let registered = kinds
        .iter()
        .position(|e| matches!(e, ClientEvent::Registered { ssid: 101, .. }));
    assert!(started < finished && finished < registered, "{kinds:?}");
    assert!(started.is_some());
    // The Bootstrap-Server's account survived `DELETE /`.
    let security = b.security();
    assert!(security[0].1.bootstrap_server);
    assert_eq!(security[1].1.short_server_id, Some(101));
}

#[test]
fn finish_without_a_server_is_refused_and_bootstrap_is_retried() {
    let mut b = bench(1, &[], 3);
    b.run_until(10, |b| !b.bootstrap_requests().is_empty());
    assert_eq!(b.bs_request(delete("/")).code(), Code::DELETED);
    assert_eq!(b.bs_request(finish()).code(), Code::NOT_ACCEPTABLE);
    // A Security instance without its Server instance is not enough either.
    let mgmt = b.net.addr(b.mgmt[0]);
    let tlv = security_tlv(1, &format!("coap://{mgmt}"), 101);
    assert_eq!(
        b.bs_request(put("/0/1", Some(TLV), &tlv)).code(),
        Code::CHANGED
    );
    assert_eq!(b.bs_request(finish()).code(), Code::NOT_ACCEPTABLE);
    let refused_at = b.now();
    // The Bootstrap-Server goes quiet: the session times out and the client asks again.
    b.run_until(600, |b| b.bootstrap_requests().len() == 2);
    let failed: Vec<_> = b
        .events
        .iter()
        .filter_map(|(at, e)| match e {
            ClientEvent::BootstrapFailed { retry_at, .. } => Some((*at, *retry_at)),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1);
    let (at, retry_at) = failed[0];
    assert!(
        at - refused_at >= Duration::from_secs(246),
        "{:?}",
        at - refused_at
    );
    assert_eq!(retry_at - at, Duration::from_secs(30));
    assert!(b.bootstrap_requests()[1].at >= retry_at);
    assert!(b.registers_at(0).is_empty());
}

#[test]
fn unreachable_server_falls_back_to_bootstrap_after_the_register_budget() {
    let mut b = bench(2, &[(0, 101)], 2);
    let dead = b.mgmt[0];
    b.net.set_up(dead, false);
    b.run_until(1200, |b| !b.bootstrap_requests().is_empty());
    let failures = b.count(|e| matches!(e, ClientEvent::RegistrationFailed { ssid: 101, .. }));
    assert_eq!(failures, 2);
    // The Bootstrap-Server moves the client to the second management server.
    assert_eq!(b.bs_request(delete("/0/0")).code(), Code::DELETED);
    assert_eq!(b.bs_request(delete("/1/0")).code(), Code::DELETED);
    let other = b.net.addr(b.mgmt[1]);
    let tlv = security_tlv(0, &format!("coap://{other}"), 102);
    assert_eq!(
        b.bs_request(put("/0/0", Some(TLV), &tlv)).code(),
        Code::CHANGED
    );
    let tlv = server_tlv(0, 102, 120);
    assert_eq!(
        b.bs_request(put("/1/0", Some(TLV), &tlv)).code(),
        Code::CHANGED
    );
    assert_eq!(b.bs_request(finish()).code(), Code::CHANGED);
    b.run_until(60, |b| b.client().is_registered(102));
    assert!(!b.client().is_registered(101));
    assert_eq!(b.registers_at(1).len(), 1);
}

#[test]
fn server_initiated_bootstrap_adds_a_server_and_discover_matches_the_vector() {
    let mut b = bench(2, &[(0, 101)], 3);
    b.run_until(60, |b| b.client().is_registered(101));
    assert!(b.bootstrap_requests().is_empty());
    // The factory account is /0/0, the Bootstrap-Server's /0/1; the BS adds server 102.
    let other = b.net.addr(b.mgmt[1]);
    let tlv = security_tlv(2, &format!("coap://{other}"), 102);
    assert_eq!(
        b.bs_request(put("/0/2", Some(TLV), &tlv)).code(),
        Code::CHANGED
    );
    assert!(b.client().is_bootstrapping());
    let tlv = server_tlv(1, 102, 300);
    assert_eq!(
        b.bs_request(put("/1/1", Some(TLV), &tlv)).code(),
        Code::CHANGED
    );
    let discovered = b.bs_request(get("/0", Some(LINK)));
    assert_eq!(
        body(&discovered),
        r#"lwm2m="1.0",</0/0>;ssid=101,</0/1>,</0/2>;ssid=102"#
    );
    assert_eq!(
        discovered.message().unwrap().content_format().unwrap(),
        Some(LINK)
    );
    assert_eq!(b.bs_request(finish()).code(), Code::CHANGED);
    b.run_until(60, |b| b.client().is_registered(102));
    // Server 101 kept its registration: one Register only.
    assert!(b.client().is_registered(101));
    assert_eq!(b.registers_at(0).len(), 1);
    assert_eq!(b.count(|e| matches!(e, ClientEvent::BootstrapStarted)), 1);
    assert_eq!(b.count(|e| matches!(e, ClientEvent::BootstrapFinished)), 1);
    // Finish outside a session is a bad request.
    assert_eq!(b.bs_request(finish()).code(), Code::BAD_REQUEST);
}

#[test]
fn a_management_server_cannot_bootstrap() {
    let mut b = bench(1, &[(0, 101)], 3);
    b.run_until(60, |b| b.client().is_registered(101));
    let before = b.security();
    let mgmt = b.mgmt[0];
    let tlv = security_tlv(0, "coap://192.0.2.66", 101);
    let attempts = [
        (put("/0/0", Some(TLV), &tlv), Code::NOT_FOUND),
        (put("/0", Some(TLV), &tlv), Code::METHOD_NOT_ALLOWED),
        (delete("/"), Code::METHOD_NOT_ALLOWED),
        (delete("/0/0"), Code::NOT_FOUND),
        (get("/", Some(LINK)), Code::METHOD_NOT_ALLOWED),
        (
            put("/1", Some(TLV), &server_tlv(0, 5, 60)),
            Code::METHOD_NOT_ALLOWED,
        ),
        (put("/1/0/0", Some(TEXT), b"5"), Code::METHOD_NOT_ALLOWED),
    ];
    for (i, (request, code)) in attempts.into_iter().enumerate() {
        assert_eq!(b.request_from(mgmt, request).code(), code, "attempt {i}");
    }
    assert!(b.request_from(mgmt, finish()).code().class() >= 4);
    assert_eq!(b.security(), before);
    assert!(!b.client().is_bootstrapping());
    assert_eq!(b.count(|e| matches!(e, ClientEvent::BootstrapStarted)), 0);
}

#[test]
fn bootstrap_write_levels_and_formats() {
    let mut b = bench(1, &[], 3);
    b.run_until(10, |b| !b.bootstrap_requests().is_empty());
    // Object level: two Object Instance TLVs in one message.
    let server = |ssid| Server {
        short_server_id: ssid,
        lifetime: 300,
        binding: "U".into(),
        ..Server::default()
    };
    let object =
        Object::with_instances(1, [server(101).to_instance(0), server(102).to_instance(1)]);
    let both = lwm2m_model::content::encode(
        ContentFormat::Tlv,
        &Path::object(1).unwrap(),
        &Content::Object(object),
        &registry(),
    )
    .unwrap();
    assert_eq!(both[0] >> 6, 0, "Object Instance TLVs");
    let written = b.bs_request(put("/1", Some(TLV), &both));
    assert_eq!(written.code(), Code::CHANGED);
    // Resource level in plain text, on the SSID that servers cannot write.
    assert_eq!(
        b.bs_request(put("/1/1/0", Some(TEXT), b"103")).code(),
        Code::CHANGED
    );
    // JSON on an instance of the Security object.
    let json = br#"{"bn":"/0/1/","e":[{"n":"0","sv":"coap://192.0.2.5"},{"n":"1","bv":false},{"n":"2","v":3},{"n":"3","sv":""},{"n":"4","sv":""},{"n":"5","sv":""},{"n":"10","v":103}]}"#;
    let written = b.bs_request(put("/0/1", Some(JSON), json));
    assert_eq!(written.code(), Code::CHANGED);
    let store: &TypedStore<Server> = b.client().object(1).unwrap();
    let ssids: Vec<i64> = store.iter().map(|(_, s)| s.short_server_id).collect();
    assert_eq!(ssids, [101, 103]);
    let security = b.security();
    assert_eq!(security[1].1.lwm2m_server_uri, "coap://192.0.2.5");
    assert_eq!(security[1].1.short_server_id, Some(103));
}

#[test]
fn garbage_from_the_bootstrap_server_is_refused_without_panic() {
    let mut b = bench(1, &[], 3);
    b.run_until(10, |b| !b.bootstrap_requests().is_empty());
    let cases = [
        (
            put("/0/1", Some(TLV), &hex("C8 00 FF 41")),
            Code::BAD_REQUEST,
        ),
        (put("/1/0", Some(JSON), b"{\"e\":[{"), Code::BAD_REQUEST),
        (
            put("/1/0/1", Some(TEXT), b"not a number"),
            Code::BAD_REQUEST,
        ),
        (put("/1/0", None, &server_tlv(0, 1, 60)), Code::BAD_REQUEST),
        (
            put("/1/0", Some(9999), b"x"),
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
        (put("/1/0", Some(TLV), &hex("C1 00 05")), Code::BAD_REQUEST),
        (put("/", Some(TLV), b""), Code::BAD_REQUEST),
        (put("/77/0", Some(TLV), b""), Code::BAD_REQUEST),
        (delete("/3/0"), Code::BAD_REQUEST),
        (delete("/1/0/1"), Code::BAD_REQUEST),
        (delete("/1/9"), Code::BAD_REQUEST),
        (get("/1/0", Some(LINK)), Code::BAD_REQUEST),
        (get("/77", Some(LINK)), Code::NOT_FOUND),
        (get("/1/0", None), Code::BAD_REQUEST),
    ];
    for (request, code) in cases {
        let answer = b.bs_request(request);
        assert_eq!(answer.code(), code);
    }
    // Deterministic pseudo-random payloads in every format and at every level.
    let mut x: u32 = 0x1234_5678;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for round in 0..120 {
        let len = (next() % 24) as usize;
        let payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let format = [TLV, JSON, TEXT, 42][round % 4];
        let path = ["/0", "/1/0", "/1/0/1", "/0/0/0", "/3/0"][round % 5];
        let answer = b.bs_request(put(path, Some(format), &payload));
        assert!(
            [
                Code::CHANGED,
                Code::BAD_REQUEST,
                Code::UNSUPPORTED_CONTENT_FORMAT
            ]
            .contains(&answer.code()),
            "{path} {format}: {:?}",
            answer.code()
        );
    }
    // Nothing was configured: the Finish is refused and the client still works.
    assert_eq!(b.bs_request(finish()).code(), Code::NOT_ACCEPTABLE);
    assert!(b.security().iter().any(|(_, s)| s.bootstrap_server));
}

#[test]
fn bootstrap_discover_of_the_root_lists_every_object_like_the_vector() {
    let mut b = bench_with(1, &[(0, 101)], 3, |builder| {
        builder
            .object(TypedStore::<FirmwareUpdate>::new())
            .object(TypedStore::<ConnectivityMonitoring>::new())
    });
    b.run_until(60, |b| b.client().is_registered(101));
    let discovered = body(&b.bs_request(get("/", Some(LINK))));
    // The vector lists `</5>,</4>` (TS order); this client lists objects in ascending order.
    let vector = r#"lwm2m="1.0",</0/0>;ssid=101,</0/1>,</1/0>;ssid=101,</3/0>,</5>,</4>"#;
    let mut expected: Vec<&str> = vector.split(',').collect();
    let mut got: Vec<&str> = discovered.split(',').collect();
    assert_eq!(got[0], r#"lwm2m="1.0""#);
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected);
    assert_eq!(
        discovered,
        r#"lwm2m="1.0",</0/0>;ssid=101,</0/1>,</1/0>;ssid=101,</3/0>,</4>,</5>"#
    );
    // Discover opened a Server-Initiated session; without Finish it times out.
    b.run_until(300, |b| {
        b.count(|e| matches!(e, ClientEvent::BootstrapFailed { .. })) == 1
    });
}
