//! A deterministic in-memory network for testing code built on [`Endpoint`]s (feature
//! `testing`).
//!
//! [`Network`] owns several hosts, each with a socket address, and carries their datagrams
//! over links that lose, duplicate, delay and (through random delays) re-order them, all decided
//! by one seeded random generator, on virtual time. The same seed gives the same run. Every
//! datagram sent is recorded in a [`TraceEntry`], so tests can check retransmission timings.
//!
//! ```
//! use lwm2m_codec::coap::Code;
//! use lwm2m_transport::sim::{LinkConditions, Network};
//! use lwm2m_transport::{Config, Event, Instant, Request, Response};
//!
//! let mut net = Network::new(1);
//! net.set_default_link(LinkConditions::lossy(0.2));
//! let client = net.add_node(Config::default());
//! let server = net.add_node(Config::default());
//! let server_addr = net.addr(server);
//! let now = net.now();
//! let id = net
//!     .endpoint(client)
//!     .start_request(now, server_addr, Request::new(Code::GET))?;
//! let mut answered = false;
//! net.run_until(Instant::from_secs(100), |net, node, event| match event {
//!     Event::Request { id, .. } => {
//!         let now = net.now();
//!         net.endpoint(node).respond(now, id, Response::new(Code::CONTENT)).unwrap();
//!     }
//!     Event::Response { id: done, .. } => answered = done == id,
//!     _ => {}
//! });
//! assert!(answered);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::cmp::Ordering;
use core::time::Duration;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::{Config, Endpoint, Event, Instant, Transmit};

/// A sans-IO state machine the network can host: an [`Endpoint`], or anything built around one
/// (a client or server state machine) that exposes the same driver interface.
pub trait Host {
    /// What the host reports to the test.
    type Event;

    /// A datagram arrived from `source`.
    fn handle_datagram(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]);
    /// Time advanced to `now`.
    fn handle_timeout(&mut self, now: Instant);
    /// When `handle_timeout` should be called next.
    fn poll_timeout(&self) -> Option<Instant>;
    /// The next datagram to send.
    fn poll_transmit(&mut self) -> Option<Transmit<SocketAddr>>;
    /// The next event.
    fn poll_event(&mut self) -> Option<Self::Event>;
}

impl Host for Endpoint<SocketAddr> {
    type Event = Event<SocketAddr>;

    fn handle_datagram(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        Endpoint::handle_datagram(self, now, source, datagram);
    }

    fn handle_timeout(&mut self, now: Instant) {
        Endpoint::handle_timeout(self, now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Endpoint::poll_timeout(self)
    }

    fn poll_transmit(&mut self) -> Option<Transmit<SocketAddr>> {
        Endpoint::poll_transmit(self)
    }

    fn poll_event(&mut self) -> Option<Event<SocketAddr>> {
        Endpoint::poll_event(self)
    }
}

/// Index of a node in a [`Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

/// How a one-way link treats datagrams.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConditions {
    /// Probability that a datagram is lost (0.0-1.0).
    pub loss: f64,
    /// Probability that a delivered datagram arrives twice (0.0-1.0).
    pub duplicate: f64,
    /// Shortest one-way delay.
    pub min_delay: Duration,
    /// Longest one-way delay; each copy's delay is uniform in between, so a spread re-orders.
    pub max_delay: Duration,
}

impl LinkConditions {
    /// No loss, no duplication, a fixed 10 ms delay.
    pub const fn perfect() -> LinkConditions {
        LinkConditions {
            loss: 0.0,
            duplicate: 0.0,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
        }
    }

    /// `loss` probability of loss, 5 % duplication, 5-100 ms delay (so some re-ordering).
    pub const fn lossy(loss: f64) -> LinkConditions {
        LinkConditions {
            loss,
            duplicate: 0.05,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(100),
        }
    }
}

impl Default for LinkConditions {
    fn default() -> LinkConditions {
        LinkConditions::perfect()
    }
}

/// What happened to a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Lost (by chance, or because an end was down or unknown).
    Dropped,
    /// Delivered once, at this time.
    Delivered(Instant),
    /// Delivered twice.
    Duplicated(Instant, Instant),
}

/// One datagram sent through the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// When it was sent.
    pub sent: Instant,
    /// Sender.
    pub source: SocketAddr,
    /// Addressee.
    pub destination: SocketAddr,
    /// The datagram.
    pub datagram: Bytes,
    /// What became of it.
    pub fate: Fate,
}

/// A datagram on its way.
#[derive(Debug)]
struct Flight {
    at: Instant,
    seq: u64,
    to: usize,
    from: SocketAddr,
    datagram: Bytes,
}

impl PartialEq for Flight {
    fn eq(&self, other: &Flight) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Flight {}

impl PartialOrd for Flight {
    fn partial_cmp(&self, other: &Flight) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Flight {
    /// Reversed, so the max-heap pops the earliest flight.
    fn cmp(&self, other: &Flight) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

struct Node<H> {
    addr: SocketAddr,
    host: H,
    up: bool,
}

/// Hosts (by default [`Endpoint`]s) joined by simulated links, on virtual time.
pub struct Network<H: Host = Endpoint<SocketAddr>> {
    now: Instant,
    rng: SmallRng,
    nodes: Vec<Node<H>>,
    by_addr: HashMap<SocketAddr, usize>,
    flights: BinaryHeap<Flight>,
    seq: u64,
    default_link: LinkConditions,
    links: HashMap<(usize, usize), LinkConditions>,
    trace: Vec<TraceEntry>,
    recording: bool,
    events: VecDeque<(NodeId, H::Event)>,
}

impl<H: Host> core::fmt::Debug for Network<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Network")
            .field("now", &self.now)
            .field("nodes", &self.nodes.len())
            .field("in_flight", &self.flights.len())
            .finish_non_exhaustive()
    }
}

impl Network<Endpoint<SocketAddr>> {
    /// An empty network of [`Endpoint`]s at time zero whose randomness comes from `seed`.
    pub fn new(seed: u64) -> Network<Endpoint<SocketAddr>> {
        Network::with_seed(seed)
    }

    /// Adds an endpoint with this configuration (seeded from the network's generator) at the
    /// next address.
    ///
    /// # Panics
    ///
    /// If `config` is invalid (this is test support).
    pub fn add_node(&mut self, config: Config) -> NodeId {
        let seed = self.seed();
        match Endpoint::new(config, seed) {
            Ok(endpoint) => self.add_host(endpoint),
            Err(e) => panic!("invalid simulation node configuration: {e}"),
        }
    }

    /// A node's endpoint, to call its API (datagrams it queues are sent on the next step).
    ///
    /// # Panics
    ///
    /// If the node does not exist.
    pub fn endpoint(&mut self, node: NodeId) -> &mut Endpoint<SocketAddr> {
        self.host(node)
    }
}

impl<H: Host> Network<H> {
    /// An empty network of hosts of type `H` at time zero whose randomness comes from `seed`.
    pub fn with_seed(seed: u64) -> Network<H> {
        Network {
            now: Instant::ZERO,
            rng: SmallRng::seed_from_u64(seed),
            nodes: Vec::new(),
            by_addr: HashMap::new(),
            flights: BinaryHeap::new(),
            seq: 0,
            default_link: LinkConditions::perfect(),
            links: HashMap::new(),
            trace: Vec::new(),
            recording: true,
            events: VecDeque::new(),
        }
    }

    /// 32 bytes from the network's generator, to seed a host deterministically.
    pub fn seed(&mut self) -> [u8; 32] {
        let mut seed = [0u8; 32];
        rand::Rng::fill_bytes(&mut self.rng, &mut seed);
        seed
    }

    /// Adds a host at the address `10.0.0.<n>:5683` (n = 1, 2, ... in order of addition).
    pub fn add_host(&mut self, host: H) -> NodeId {
        let index = self.nodes.len();
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let addr = SocketAddr::from((Ipv4Addr::from(0x0A00_0000 | number), 5683));
        self.nodes.push(Node {
            addr,
            host,
            up: true,
        });
        self.by_addr.insert(addr, index);
        NodeId(index)
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// A node's address.
    ///
    /// # Panics
    ///
    /// If the node does not exist.
    pub fn addr(&self, node: NodeId) -> SocketAddr {
        self.nodes[node.0].addr
    }

    /// A node's host, to call its API (datagrams it queues are sent on the next step).
    ///
    /// # Panics
    ///
    /// If the node does not exist.
    pub fn host(&mut self, node: NodeId) -> &mut H {
        &mut self.nodes[node.0].host
    }
    /// The conditions of links without their own.
    pub fn set_default_link(&mut self, conditions: LinkConditions) {
        self.default_link = conditions;
    }

    /// The conditions of the one-way link `from → to`.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, conditions: LinkConditions) {
        self.links.insert((from.0, to.0), conditions);
    }

    /// Takes a node off the network (`false`: every datagram to or from it is lost) or back.
    pub fn set_up(&mut self, node: NodeId, up: bool) {
        if let Some(n) = self.nodes.get_mut(node.0) {
            n.up = up;
        }
    }

    /// Whether datagrams are recorded in the trace (default `true`).
    pub fn set_recording(&mut self, recording: bool) {
        self.recording = recording;
    }

    /// Every datagram sent so far.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// Delivers `datagram` from `source` (any address) to `node` at the current time, bypassing
    /// the links.
    pub fn inject(&mut self, source: SocketAddr, node: NodeId, datagram: &[u8]) {
        let now = self.now;
        if let Some(n) = self.nodes.get_mut(node.0) {
            n.host.handle_datagram(now, source, datagram);
        }
        self.collect(node.0);
    }

    /// The next event any node produced, with the node.
    pub fn poll_event(&mut self) -> Option<(NodeId, H::Event)> {
        self.events.pop_front()
    }

    /// Moves every queued datagram and event out of the endpoints (call after using the API
    /// directly; the stepping functions do it themselves).
    pub fn flush(&mut self) {
        for index in 0..self.nodes.len() {
            self.collect(index);
        }
    }

    /// Advances to the next delivery or timer, if it is not later than `limit`, and processes
    /// everything due then. Returns `false` (with the clock at `limit`) if nothing was due.
    pub fn step_until(&mut self, limit: Instant) -> bool {
        self.flush();
        let next_flight = self.flights.peek().map(|f| f.at);
        let next_timer = self
            .nodes
            .iter()
            .filter_map(|n| n.host.poll_timeout())
            .min();
        let Some(next) = [next_flight, next_timer].into_iter().flatten().min() else {
            self.now = self.now.max(limit);
            return false;
        };
        if next > limit {
            self.now = self.now.max(limit);
            return false;
        }
        self.now = self.now.max(next);
        let now = self.now;
        while self.flights.peek().is_some_and(|f| f.at <= now) {
            let Some(flight) = self.flights.pop() else {
                break;
            };
            if let Some(node) = self.nodes.get_mut(flight.to) {
                if node.up {
                    node.host
                        .handle_datagram(now, flight.from, &flight.datagram);
                }
            }
            self.collect(flight.to);
        }
        for index in 0..self.nodes.len() {
            let node = &mut self.nodes[index];
            if node.host.poll_timeout().is_some_and(|t| t <= now) {
                node.host.handle_timeout(now);
                self.collect(index);
            }
        }
        true
    }

    /// Runs until `limit`, or until nothing is left to do, handing every event to `on_event`
    /// (which may use the network, e.g. to respond).
    pub fn run_until(
        &mut self,
        limit: Instant,
        mut on_event: impl FnMut(&mut Network<H>, NodeId, H::Event),
    ) {
        loop {
            while let Some((node, event)) = self.events.pop_front() {
                on_event(self, node, event);
            }
            if !self.step_until(limit) && self.events.is_empty() {
                return;
            }
        }
    }

    /// Like [`Network::run_until`], but stops as soon as `done` returns `true` (checked after
    /// every event and step). Returns whether it did.
    pub fn run_until_done(
        &mut self,
        limit: Instant,
        mut on_event: impl FnMut(&mut Network<H>, NodeId, H::Event),
        mut done: impl FnMut(&Network<H>) -> bool,
    ) -> bool {
        loop {
            while let Some((node, event)) = self.events.pop_front() {
                on_event(self, node, event);
                if done(self) {
                    return true;
                }
            }
            if done(self) {
                return true;
            }
            if !self.step_until(limit) && self.events.is_empty() {
                return done(self);
            }
        }
    }

    /// Moves a node's transmits onto the links and its events into the queue.
    fn collect(&mut self, index: usize) {
        let Some(node) = self.nodes.get_mut(index) else {
            return;
        };
        let from = node.addr;
        let mut outgoing = Vec::new();
        while let Some(t) = node.host.poll_transmit() {
            outgoing.push(t);
        }
        while let Some(event) = node.host.poll_event() {
            self.events.push_back((NodeId(index), event));
        }
        for t in outgoing {
            self.send(index, from, t.destination, t.contents);
        }
    }

    fn send(&mut self, from_index: usize, from: SocketAddr, to: SocketAddr, datagram: Bytes) {
        let now = self.now;
        let target = self.by_addr.get(&to).copied();
        let fate = match target {
            Some(to_index) if self.nodes[from_index].up && self.nodes[to_index].up => {
                let link = self
                    .links
                    .get(&(from_index, to_index))
                    .copied()
                    .unwrap_or(self.default_link);
                if self.rng.random_bool(link.loss.clamp(0.0, 1.0)) {
                    Fate::Dropped
                } else {
                    let first = self.schedule(&link, to_index, from, &datagram);
                    if self.rng.random_bool(link.duplicate.clamp(0.0, 1.0)) {
                        let second = self.schedule(&link, to_index, from, &datagram);
                        Fate::Duplicated(first, second)
                    } else {
                        Fate::Delivered(first)
                    }
                }
            }
            _ => Fate::Dropped,
        };
        if self.recording {
            self.trace.push(TraceEntry {
                sent: now,
                source: from,
                destination: to,
                datagram,
                fate,
            });
        }
    }

    fn schedule(
        &mut self,
        link: &LinkConditions,
        to: usize,
        from: SocketAddr,
        datagram: &Bytes,
    ) -> Instant {
        let min = u64::try_from(link.min_delay.as_micros()).unwrap_or(u64::MAX);
        let max = u64::try_from(link.max_delay.as_micros())
            .unwrap_or(u64::MAX)
            .max(min);
        let delay = self.rng.random_range(min..=max);
        let at = self.now + Duration::from_micros(delay);
        self.seq += 1;
        self.flights.push(Flight {
            at,
            seq: self.seq,
            to,
            from,
            datagram: datagram.clone(),
        });
        at
    }
}
