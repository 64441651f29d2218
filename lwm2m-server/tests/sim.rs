//! The registrar behind a real CoAP endpoint on the transport's simulated network: scripted
//! clients built on `Endpoint` register, update and de-register over lossy links, go silent and
//! expire, move to another address, and flood the server.

mod common;

use std::net::SocketAddr;

use bytes::Bytes;
use lwm2m_codec::coap::Code;
use lwm2m_server::registration::{Registrar, RegistrarConfig, RegistrationEvent, RegistrationId};
use lwm2m_server::Timestamp;
use lwm2m_transport::sim::{Host, LinkConditions, Network, NodeId};
use lwm2m_transport::{Config, Endpoint, Event, Instant, Request, RequestId, Transmit};

/// Virtual wall-clock time of simulation instant zero.
const EPOCH: Timestamp = common::START;

fn wall(now: Instant) -> Timestamp {
    Timestamp::from_unix_millis(EPOCH.as_unix_millis() + now.as_micros() / 1_000)
}

fn instant(t: Timestamp) -> Instant {
    Instant::from_millis(t.as_unix_millis().saturating_sub(EPOCH.as_unix_millis()))
}

/// A CoAP endpoint whose requests on `/rd` go to a registrar.
struct Server {
    endpoint: Endpoint<SocketAddr>,
    registrar: Registrar,
}

impl Server {
    fn serve(&mut self, now: Instant) {
        while let Some(event) = self.endpoint.poll_event() {
            if let Event::Request { id, peer, request } = event {
                let answer = self.registrar.handle_incoming(wall(now), peer, &request);
                self.endpoint
                    .respond(now, id, answer.to_response())
                    .unwrap();
            }
        }
    }
}

enum Node {
    Server(Box<Server>),
    Client(Box<Endpoint<SocketAddr>>),
}

#[derive(Debug)]
enum SimEvent {
    Registrar(RegistrationEvent),
    Client(Event<SocketAddr>),
}

impl Host for Node {
    type Event = SimEvent;

    fn handle_datagram(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        match self {
            Node::Server(s) => {
                s.endpoint.handle_datagram(now, source, datagram);
                s.serve(now);
            }
            Node::Client(c) => c.handle_datagram(now, source, datagram),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self {
            Node::Server(s) => {
                s.endpoint.handle_timeout(now);
                s.registrar.handle_timeout(wall(now));
                s.serve(now);
            }
            Node::Client(c) => c.handle_timeout(now),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Node::Server(s) => [
                s.endpoint.poll_timeout(),
                s.registrar.poll_timeout().map(instant),
            ]
            .into_iter()
            .flatten()
            .min(),
            Node::Client(c) => c.poll_timeout(),
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit<SocketAddr>> {
        match self {
            Node::Server(s) => s.endpoint.poll_transmit(),
            Node::Client(c) => c.poll_transmit(),
        }
    }

    fn poll_event(&mut self) -> Option<SimEvent> {
        match self {
            Node::Server(s) => s.registrar.poll_event().map(SimEvent::Registrar),
            Node::Client(c) => c.poll_event().map(SimEvent::Client),
        }
    }
}

struct Sim {
    net: Network<Node>,
    server: NodeId,
}

/// What a client's request ended with.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Answer {
        code: Code,
        location: Vec<String>,
        max_age: Option<u32>,
    },
    Failed,
}

impl Sim {
    fn new(seed: u64, config: RegistrarConfig) -> Sim {
        let mut net: Network<Node> = Network::with_seed(seed);
        let endpoint = Endpoint::new(Config::default(), net.seed()).unwrap();
        let registrar = Registrar::builder()
            .config(config)
            .seed(net.seed())
            .build(EPOCH)
            .unwrap();
        let server = net.add_host(Node::Server(Box::new(Server {
            endpoint,
            registrar,
        })));
        Sim { net, server }
    }

    fn add_client(&mut self) -> NodeId {
        let endpoint = Endpoint::new(Config::default(), self.net.seed()).unwrap();
        self.net.add_host(Node::Client(Box::new(endpoint)))
    }

    fn registrar(&mut self) -> &mut Registrar {
        match self.net.host(self.server) {
            Node::Server(s) => &mut s.registrar,
            Node::Client(_) => unreachable!(),
        }
    }

    fn start(&mut self, client: NodeId, request: Request) -> RequestId {
        let now = self.net.now();
        let server = self.net.addr(self.server);
        match self.net.host(client) {
            Node::Client(c) => c.start_request(now, server, request).unwrap(),
            Node::Server(_) => unreachable!(),
        }
    }

    /// Runs for `secs` seconds of virtual time (or until `until` returns `true` after an
    /// event), collecting the clients' outcomes and the registrar's events.
    fn run_while(
        &mut self,
        secs: u64,
        outcomes: &mut Vec<(RequestId, Outcome)>,
        events: &mut Vec<RegistrationEvent>,
        until: Option<RequestId>,
    ) {
        let limit = self.net.now() + core::time::Duration::from_secs(secs);
        let finished = core::cell::Cell::new(false);
        self.net.run_until_done(
            limit,
            |_, _, event| match event {
                SimEvent::Registrar(e) => events.push(e),
                SimEvent::Client(Event::Response { id, response, .. }) => {
                    let msg = response.message().unwrap();
                    finished.set(finished.get() || Some(id) == until);
                    outcomes.push((
                        id,
                        Outcome::Answer {
                            code: response.code(),
                            location: msg.location_path().unwrap().map(str::to_owned).collect(),
                            max_age: msg.max_age().unwrap(),
                        },
                    ));
                }
                SimEvent::Client(Event::RequestFailed { id, .. }) => {
                    finished.set(finished.get() || Some(id) == until);
                    outcomes.push((id, Outcome::Failed));
                }
                SimEvent::Client(_) => {}
            },
            |_| finished.get(),
        );
    }

    fn run(
        &mut self,
        secs: u64,
        outcomes: &mut Vec<(RequestId, Outcome)>,
        events: &mut Vec<RegistrationEvent>,
    ) {
        self.run_while(secs, outcomes, events, None);
    }

    /// Sends one request and runs until its outcome.
    fn exchange(
        &mut self,
        client: NodeId,
        request: Request,
        events: &mut Vec<RegistrationEvent>,
    ) -> Outcome {
        let id = self.start(client, request);
        let mut outcomes = Vec::new();
        self.run_while(300, &mut outcomes, events, Some(id));
        outcomes
            .into_iter()
            .find(|(done, _)| *done == id)
            .map(|(_, o)| o)
            .expect("the request ended")
    }
}

fn register(ep: &str, lt: u32) -> Request {
    let query = format!("ep={ep}&lt={lt}&lwm2m=1.0&b=U");
    Request::build(Code::POST, |b| {
        b.uri_path("/rd").uri_queries(&query).content_format(40);
    })
    .unwrap()
    .with_payload(Bytes::from_static(b"</1/0>,</3/0>,</4/0>,</5>"))
}

fn update(location: &[String]) -> Request {
    Request::build(Code::POST, |b| {
        for segment in location {
            b.uri_path_segment(segment);
        }
    })
    .unwrap()
}

fn deregister(location: &[String]) -> Request {
    Request::build(Code::DELETE, |b| {
        for segment in location {
            b.uri_path_segment(segment);
        }
    })
    .unwrap()
}

fn answer(outcome: &Outcome) -> (Code, Vec<String>) {
    match outcome {
        Outcome::Answer { code, location, .. } => (*code, location.clone()),
        Outcome::Failed => panic!("the exchange failed"),
    }
}

#[test]
fn register_update_deregister_over_a_lossy_network() {
    let mut sim = Sim::new(7, RegistrarConfig::default());
    sim.net.set_default_link(LinkConditions::lossy(0.3));
    let clients: Vec<NodeId> = (0..8).map(|_| sim.add_client()).collect();
    let mut events = Vec::new();
    let mut locations = Vec::new();
    for (n, &client) in clients.iter().enumerate() {
        let (code, location) =
            answer(&sim.exchange(client, register(&format!("dev{n}"), 120), &mut events));
        assert_eq!(code, Code::CREATED);
        assert_eq!(location.len(), 2);
        assert_eq!(location[0], "rd");
        locations.push(location);
    }
    // Retransmitted and duplicated Registers were answered from the dedup cache: one
    // registration per client.
    let registered = events
        .iter()
        .filter(|e| matches!(e, RegistrationEvent::Registered { replaced: None, .. }))
        .count();
    assert_eq!(registered, clients.len());
    assert_eq!(sim.registrar().registrations().len(), clients.len());
    for (n, &client) in clients.iter().enumerate() {
        let reg = sim
            .registrar()
            .by_endpoint(&format!("dev{n}"))
            .unwrap()
            .clone();
        assert_eq!(reg.peer(), sim.net.addr(client));
        assert_eq!(reg.location(), format!("/{}", locations[n].join("/")));
    }

    // Updates keep everyone registered across several lifetimes.
    for _ in 0..3 {
        sim.run(100, &mut Vec::new(), &mut events);
        for (n, &client) in clients.iter().enumerate() {
            let (code, _) = answer(&sim.exchange(client, update(&locations[n]), &mut events));
            assert_eq!(code, Code::CHANGED);
        }
    }
    assert_eq!(sim.registrar().registrations().len(), clients.len());
    assert!(!events
        .iter()
        .any(|e| matches!(e, RegistrationEvent::Expired { .. })));

    for (n, &client) in clients.iter().enumerate() {
        let (code, _) = answer(&sim.exchange(client, deregister(&locations[n]), &mut events));
        assert_eq!(code, Code::DELETED);
    }
    assert!(sim.registrar().registrations().is_empty());
    let deregistered = events
        .iter()
        .filter(|e| matches!(e, RegistrationEvent::Deregistered { .. }))
        .count();
    assert_eq!(deregistered, clients.len());
}

#[test]
fn a_silent_client_expires_and_must_register_again() {
    let mut sim = Sim::new(11, RegistrarConfig::default());
    let client = sim.add_client();
    let mut events = Vec::new();
    let (_, location) = answer(&sim.exchange(client, register("sleepy", 60), &mut events));
    let id = RegistrationId::parse(&location[1]).unwrap();
    sim.net.set_up(client, false);
    // The server's own timer expires it: 60 s lifetime + 93 s grace after the Register.
    sim.run(200, &mut Vec::new(), &mut events);
    assert!(sim.registrar().get(id).is_none());
    let expired_at = events.iter().find_map(|e| match e {
        RegistrationEvent::Expired { registration } => Some(registration.expires_at()),
        _ => None,
    });
    assert!(expired_at.is_some(), "{events:?}");
    sim.net.set_up(client, true);
    let (code, _) = answer(&sim.exchange(client, update(&location), &mut events));
    assert_eq!(code, Code::NOT_FOUND);
    let (code, again) = answer(&sim.exchange(client, register("sleepy", 60), &mut events));
    assert_eq!(code, Code::CREATED);
    assert_ne!(again, location);
}

#[test]
fn re_registration_from_another_address() {
    let mut sim = Sim::new(13, RegistrarConfig::default());
    let old = sim.add_client();
    let new = sim.add_client();
    let mut events = Vec::new();
    let (_, first) = answer(&sim.exchange(old, register("node1", 300), &mut events));
    let (_, second) = answer(&sim.exchange(new, register("node1", 300), &mut events));
    assert_ne!(first, second);
    let reg = sim.registrar().by_endpoint("node1").unwrap().clone();
    assert_eq!(reg.peer(), sim.net.addr(new));
    assert_eq!(sim.registrar().registrations().len(), 1);
    assert!(events.iter().any(|e| matches!(
        e,
        RegistrationEvent::Registered { replaced: Some(old), .. } if old.location() == format!("/{}", first.join("/"))
    )));
    // The old location answers 4.04 to the old address.
    let (code, _) = answer(&sim.exchange(old, update(&first), &mut events));
    assert_eq!(code, Code::NOT_FOUND);
}

#[test]
fn a_register_flood_is_limited_while_other_clients_register() {
    let mut sim = Sim::new(17, RegistrarConfig::default());
    let flooder = sim.add_client();
    let honest: Vec<NodeId> = (0..5).map(|_| sim.add_client()).collect();
    let mut flood = Vec::new();
    for n in 0..100 {
        flood.push(sim.start(flooder, register(&format!("flood{n}"), 86_400)));
    }
    let honest_ids: Vec<RequestId> = honest
        .iter()
        .enumerate()
        .map(|(n, &c)| sim.start(c, register(&format!("honest{n}"), 86_400)))
        .collect();
    let mut outcomes = Vec::new();
    let mut events = Vec::new();
    sim.run(600, &mut outcomes, &mut events);
    let outcome = |id: &RequestId| {
        outcomes
            .iter()
            .find(|(done, _)| done == id)
            .map(|(_, o)| o.clone())
            .unwrap()
    };
    for id in &honest_ids {
        assert_eq!(answer(&outcome(id)).0, Code::CREATED);
    }
    let mut created = 0;
    let mut limited = 0;
    for id in &flood {
        match outcome(id) {
            Outcome::Answer {
                code: Code::CREATED,
                ..
            } => created += 1,
            Outcome::Answer {
                code: Code::SERVICE_UNAVAILABLE,
                max_age: Some(max_age),
                ..
            } => {
                assert!(max_age >= 1);
                limited += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The default budget is a burst of 10 then one per second; NSTART = 1 spaces the flood's
    // requests by a round trip, so a few more than 10 get through.
    assert!((10..30).contains(&created), "{created} created");
    assert_eq!(created + limited, 100);
    assert_eq!(
        sim.registrar().registrations().len(),
        created + honest.len()
    );
}
