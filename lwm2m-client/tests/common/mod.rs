//! A scripted LwM2M server on a bare transport `Endpoint`, and a harness that runs it with a
//! client on the simulated network (virtual time).
#![allow(dead_code, clippy::missing_panics_doc)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_client::{Client, ClientBuilder, ClientEvent, DeviceObject, ServerAccount, TypedStore};
use lwm2m_codec::coap::{option, Code};
use lwm2m_objects::{AccessControl, Device, LightControl, Location, ResourceInstances};
use lwm2m_transport::sim::{Host, Network, NodeId};
use lwm2m_transport::{
    Config, Endpoint, Event, IncomingRequest, IncomingResponse, Instant, Request, RequestId,
    Response, Transmit,
};

/// A node of the test network: the client under test or a scripted server.
pub enum Node {
    Client(Box<Client<SocketAddr>>),
    Server(Box<Endpoint<SocketAddr>>),
}

/// What a node reports.
#[derive(Debug)]
pub enum NodeEvent {
    Client(ClientEvent),
    Server(Event<SocketAddr>),
}

impl Host for Node {
    type Event = NodeEvent;

    fn handle_datagram(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        match self {
            Node::Client(c) => c.handle_datagram(now, source, datagram),
            Node::Server(s) => s.handle_datagram(now, source, datagram),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self {
            Node::Client(c) => c.handle_timeout(now),
            Node::Server(s) => s.handle_timeout(now),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Node::Client(c) => c.poll_timeout(),
            Node::Server(s) => s.poll_timeout(),
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit<SocketAddr>> {
        match self {
            Node::Client(c) => c.poll_transmit(),
            Node::Server(s) => s.poll_transmit(),
        }
    }

    fn poll_event(&mut self) -> Option<NodeEvent> {
        match self {
            Node::Client(c) => c.poll_event().map(NodeEvent::Client),
            Node::Server(s) => s.poll_event().map(NodeEvent::Server),
        }
    }
}

/// A registration-interface request a scripted server received.
#[derive(Debug, Clone, PartialEq)]
pub struct RdRequest {
    pub at: Instant,
    pub server: usize,
    pub code: Code,
    pub path: Vec<String>,
    pub query: Vec<String>,
    pub content_format: Option<u16>,
    pub payload: Vec<u8>,
}

impl RdRequest {
    pub fn is_register(&self) -> bool {
        self.code == Code::POST && self.path == ["rd"]
    }
    pub fn is_update(&self) -> bool {
        self.code == Code::POST && self.path.len() == 2
    }
    pub fn is_deregister(&self) -> bool {
        self.code == Code::DELETE
    }
}

/// How a scripted server answers its registration interface.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Answer the next Updates with 4.04 (counts down).
    pub updates_not_found: usize,
    /// Answer Registers with this code instead of 2.01 (counts down).
    pub refuse_registers: usize,
}

/// Everything the harness records, outside the network (so the event closure can borrow it).
#[derive(Default)]
pub struct State {
    pub servers: Vec<NodeId>,
    pub client: Option<NodeId>,
    pub rd: Vec<RdRequest>,
    pub policies: Vec<Policy>,
    pub client_events: Vec<(Instant, ClientEvent)>,
    pub responses: HashMap<RequestId, IncomingResponse>,
    pub failures: HashMap<RequestId, String>,
    pub notifications: Vec<(Instant, RequestId, IncomingResponse)>,
    pub ended: Vec<(RequestId, IncomingResponse)>,
    registrations: usize,
}

impl State {
    fn server_index(&self, node: NodeId) -> Option<usize> {
        self.servers.iter().position(|&n| n == node)
    }

    fn on_event(&mut self, net: &mut Network<Node>, node: NodeId, event: NodeEvent) {
        let now = net.now();
        match event {
            NodeEvent::Client(e) => self.client_events.push((now, e)),
            NodeEvent::Server(Event::Request { id, request, .. }) => {
                let index = self.server_index(node).unwrap();
                let response = self.rd_answer(now, index, &request);
                if let Node::Server(ep) = net.host(node) {
                    ep.respond(now, id, response).unwrap();
                }
            }
            NodeEvent::Server(Event::Response { id, response, .. }) => {
                self.responses.insert(id, response);
            }
            NodeEvent::Server(Event::RequestFailed { id, error, .. }) => {
                self.failures.insert(id, error.to_string());
            }
            NodeEvent::Server(Event::Notification { id, response, .. }) => {
                self.notifications.push((now, id, response));
            }
            NodeEvent::Server(Event::ObservationEnded { id, response, .. }) => {
                self.ended.push((id, response));
            }
            NodeEvent::Server(_) => {}
        }
    }

    fn rd_answer(&mut self, now: Instant, server: usize, request: &IncomingRequest) -> Response {
        let msg = request.message().unwrap();
        let rd = RdRequest {
            at: now,
            server,
            code: msg.code(),
            path: msg.uri_path().unwrap().map(String::from).collect(),
            query: msg.uri_query().unwrap().map(String::from).collect(),
            content_format: msg.content_format().unwrap(),
            payload: request.body().to_vec(),
        };
        let policy = &mut self.policies[server];
        let response = if rd.is_register() {
            if policy.refuse_registers > 0 {
                policy.refuse_registers -= 1;
                Response::new(Code::FORBIDDEN)
            } else {
                self.registrations += 1;
                let id = if self.registrations == 1 {
                    "5a3f".to_string()
                } else {
                    format!("r{}", self.registrations)
                };
                Response::build(Code::CREATED, |b| {
                    b.option(option::LOCATION_PATH, b"rd");
                    b.option(option::LOCATION_PATH, id.as_bytes());
                })
                .unwrap()
            }
        } else if rd.is_update() {
            if policy.updates_not_found > 0 {
                policy.updates_not_found -= 1;
                Response::new(Code::NOT_FOUND)
            } else {
                Response::new(Code::CHANGED)
            }
        } else if rd.is_deregister() {
            Response::new(Code::DELETED)
        } else {
            Response::new(Code::NOT_FOUND)
        };
        self.rd.push(rd);
        response
    }
}

/// The client under test with one or more scripted servers.
pub struct Harness {
    pub net: Network<Node>,
    pub state: State,
    pub ssids: Vec<u16>,
}

/// A device like the TS example device (for the TLV and JSON vectors).
pub fn example_device() -> Device {
    Device {
        manufacturer: Some("Open Mobile Alliance".into()),
        model_number: Some("Lightweight M2M Client".into()),
        serial_number: Some("345000123".into()),
        firmware_version: Some("1.0".into()),
        available_power_sources: Some(ResourceInstances::from([(0, 1), (1, 5)])),
        power_source_voltage: Some(ResourceInstances::from([(0, 3800), (1, 5000)])),
        power_source_current: Some(ResourceInstances::from([(0, 125), (1, 900)])),
        battery_level: Some(100),
        memory_free: Some(15),
        error_code: ResourceInstances::from([(0, 0)]),
        current_time: Some(1_367_491_215),
        utc_offset: Some("+02:00".into()),
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    }
}

pub const DEVICE_TLV: &str = "C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65 C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74 C8 02 09 33 34 35 30 30 30 31 32 33 C3 03 31 2E 30 86 06 41 00 01 41 01 05 88 07 08 42 00 0E D8 42 01 13 88 87 08 41 00 7D 42 01 03 84 C1 09 64 C1 0A 0F 83 0B 41 00 00 C4 0D 51 82 42 8F C6 0E 2B 30 32 3A 30 30 C1 10 55";

pub fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// Adds something (an object) to the client being built.
pub type AddObject = Box<dyn FnOnce(ClientBuilder<SocketAddr>) -> ClientBuilder<SocketAddr>>;

/// Options for building the harness.
pub struct Setup {
    pub servers: Vec<ServerAccount<()>>,
    pub device: DeviceObject,
    pub location: bool,
    /// Adds IPSO Light Control (3311), a multiple-instance object, with no instance.
    pub lights: bool,
    /// More object implementations.
    pub extra: Vec<AddObject>,
    pub access: Vec<(u16, AccessControl)>,
    pub timings: lwm2m_client::Timings,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            servers: vec![ServerAccount::new(1, ()).lifetime(300)],
            device: DeviceObject::new(example_device()).with_executables(&[4]),
            location: true,
            lights: false,
            extra: Vec::new(),
            access: Vec::new(),
            timings: lwm2m_client::Timings::default(),
        }
    }
}

impl Harness {
    /// One server (ssid 1, lifetime 300 s) and the example device, not yet registered.
    pub fn new() -> Harness {
        Harness::with(Setup::default())
    }

    pub fn with(setup: Setup) -> Harness {
        let mut net: Network<Node> = Network::with_seed(7);
        let mut state = State::default();
        for _ in &setup.servers {
            let seed = net.seed();
            let ep = Endpoint::new(Config::default(), seed).unwrap();
            state.servers.push(net.add_host(Node::Server(Box::new(ep))));
            state.policies.push(Policy::default());
        }
        let ssids: Vec<u16> = setup.servers.iter().map(|s| s.short_server_id).collect();
        let mut builder = ClientBuilder::new("node1").object(setup.device);
        for (account, &node) in setup.servers.into_iter().zip(&state.servers) {
            let peer = net.addr(node);
            builder = builder.server(ServerAccount {
                short_server_id: account.short_server_id,
                peer,
                uri: format!("coap://{peer}"),
                lifetime: account.lifetime,
                binding: account.binding,
                default_pmin: account.default_pmin,
                default_pmax: account.default_pmax,
                disable_timeout: account.disable_timeout,
                notification_storing: account.notification_storing,
                psk: account.psk,
                public_key: None,
            });
        }
        if setup.location {
            builder = builder.object(TypedStore::<Location>::new());
        }
        if setup.lights {
            builder = builder.object(TypedStore::<LightControl>::new());
        }
        for add in setup.extra {
            builder = add(builder);
        }
        for (id, ac) in setup.access {
            builder = builder.access_control(id, ac);
        }
        let client = builder
            .timings(setup.timings)
            .seed(net.seed())
            .build()
            .unwrap();
        state.client = Some(net.add_host(Node::Client(Box::new(client))));
        Harness { net, state, ssids }
    }

    pub fn client(&mut self) -> &mut Client<SocketAddr> {
        let node = self.state.client.unwrap();
        match self.net.host(node) {
            Node::Client(c) => c,
            Node::Server(_) => unreachable!(),
        }
    }

    pub fn server(&mut self, index: usize) -> &mut Endpoint<SocketAddr> {
        let node = self.state.servers[index];
        match self.net.host(node) {
            Node::Server(s) => s,
            Node::Client(_) => unreachable!(),
        }
    }

    pub fn client_addr(&self) -> SocketAddr {
        self.net.addr(self.state.client.unwrap())
    }

    pub fn now(&self) -> Instant {
        self.net.now()
    }

    /// Runs until `done` holds (checked after every event and step) or `limit`; returns
    /// whether `done` held.
    pub fn run_while(
        &mut self,
        limit: Instant,
        mut done: impl FnMut(&mut Harness) -> bool,
    ) -> bool {
        loop {
            while let Some((node, event)) = self.net.poll_event() {
                self.state.on_event(&mut self.net, node, event);
            }
            if done(self) {
                return true;
            }
            if !self.net.step_until(limit) {
                while let Some((node, event)) = self.net.poll_event() {
                    self.state.on_event(&mut self.net, node, event);
                }
                return done(self);
            }
        }
    }

    /// Runs until `limit`.
    pub fn run_until(&mut self, limit: Instant) {
        self.run_while(limit, |_| false);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let limit = self.now() + d;
        self.run_until(limit);
    }

    /// Runs until every server has registered the client (at most 10 virtual minutes).
    pub fn register_all(&mut self) {
        let limit = self.now() + Duration::from_secs(600);
        let ssids: Vec<u16> = self.ssids.clone();
        let ok = self.run_while(limit, |h| {
            ssids.iter().all(|&s| h.client().is_registered(s))
        });
        assert!(ok, "the client did not register with every server");
    }

    /// Sends `request` from server `index` and runs until its answer (at most 5 virtual minutes).
    pub fn request(&mut self, index: usize, request: Request) -> IncomingResponse {
        let id = self.start(index, request);
        self.wait(id)
    }

    pub fn start(&mut self, index: usize, request: Request) -> RequestId {
        let now = self.now();
        let to = self.client_addr();
        let id = self.server(index).start_request(now, to, request).unwrap();
        self.net.flush();
        id
    }

    pub fn wait(&mut self, id: RequestId) -> IncomingResponse {
        let limit = self.now() + Duration::from_secs(300);
        self.run_while(limit, |h| {
            h.state.responses.contains_key(&id) || h.state.failures.contains_key(&id)
        });
        self.state
            .responses
            .remove(&id)
            .unwrap_or_else(|| panic!("no response to {id}: {:?}", self.state.failures.get(&id)))
    }

    pub fn events(&self) -> impl Iterator<Item = &ClientEvent> + '_ {
        self.state.client_events.iter().map(|(_, e)| e)
    }
}

/// `GET path` with an optional Accept.
pub fn get(path: &str, accept: Option<u16>) -> Request {
    Request::build(Code::GET, |b| {
        b.uri_path(path);
        if let Some(a) = accept {
            b.accept(a);
        }
    })
    .unwrap()
}

/// `GET path` with Observe = `observe` and an optional Accept.
pub fn observe(path: &str, observe: u32, accept: Option<u16>) -> Request {
    Request::build(Code::GET, |b| {
        b.uri_path(path).observe(observe);
        if let Some(a) = accept {
            b.accept(a);
        }
    })
    .unwrap()
}

/// A request with a method, path, optional Content-Format, Uri-Query items and payload.
pub fn req(code: Code, path: &str, format: Option<u16>, query: &[&str], payload: &[u8]) -> Request {
    Request::build(code, |b| {
        b.uri_path(path);
        if let Some(f) = format {
            b.content_format(f);
        }
        for q in query {
            b.uri_query(q);
        }
    })
    .unwrap()
    .with_payload(payload.to_vec())
}

/// `PUT path?query` (Write-Attributes).
pub fn write_attributes(path: &str, query: &[&str]) -> Request {
    req(Code::PUT, path, None, query, b"")
}

pub const TEXT: u16 = 0;
pub const LINK: u16 = 40;
pub const OPAQUE: u16 = 42;
pub const TLV: u16 = 11542;
pub const JSON: u16 = 11543;

/// The body as UTF-8 text.
pub fn text(response: &IncomingResponse) -> String {
    String::from_utf8(response.body().to_vec()).unwrap()
}

/// The Location-Path segments of a response.
pub fn location(response: &IncomingResponse) -> Vec<String> {
    response
        .message()
        .unwrap()
        .location_path()
        .unwrap()
        .map(String::from)
        .collect()
}

impl Harness {
    /// Delivers raw datagram `bytes` to the client as if server `index` sent it, and returns
    /// the client's first datagram in reply (exact bytes, from the network trace).
    pub fn exchange(&mut self, index: usize, bytes: &[u8]) -> Vec<u8> {
        let from = self.net.addr(self.state.servers[index]);
        let client = self.state.client.unwrap();
        let client_addr = self.client_addr();
        let mark = self.net.trace().len();
        self.net.inject(from, client, bytes);
        let reply = self.net.trace()[mark..]
            .iter()
            .find(|t| t.source == client_addr && t.destination == from)
            .map(|t| t.datagram.to_vec())
            .expect("the client answered");
        // Let the network settle (the scripted server resets the unexpected answer).
        self.run_for(Duration::from_millis(100));
        reply
    }
}
