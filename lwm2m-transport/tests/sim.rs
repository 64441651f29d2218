//! The simulation harness itself: determinism, link conditions, and hosting a state machine built
//! around an endpoint (as the client and server crates will).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{content, get, lossy_link};
use lwm2m_codec::coap::Code;
use lwm2m_transport::sim::{Fate, Host, LinkConditions, Network};
use lwm2m_transport::{Config, Endpoint, Event, Instant, Transmit};

fn run(seed: u64) -> Vec<(Instant, Vec<u8>, Fate)> {
    let mut net = Network::new(seed);
    net.set_default_link(lossy_link());
    let a = net.add_node(Config::default());
    let b = net.add_node(Config::default());
    let b_addr = net.addr(b);
    for i in 0..20 {
        let now = net.now();
        net.endpoint(a)
            .start_request(now, b_addr, get(&format!("/{i}")))
            .unwrap();
    }
    net.run_until(Instant::from_secs(1000), |net, node, event| {
        if let Event::Request { id, .. } = event {
            let now = net.now();
            net.endpoint(node)
                .respond(now, id, content(&b"x"[..]))
                .unwrap();
        }
    });
    net.trace()
        .iter()
        .map(|e| (e.sent, e.datagram.to_vec(), e.fate))
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let first = run(5);
    assert!(first.len() > 40);
    assert_eq!(first, run(5));
    assert_ne!(first, run(6));
}

#[test]
fn a_link_with_total_loss_and_a_down_node_deliver_nothing() {
    let mut net = Network::new(1);
    let a = net.add_node(Config::default());
    let b = net.add_node(Config::default());
    net.set_link(
        a,
        b,
        LinkConditions {
            loss: 1.0,
            ..LinkConditions::perfect()
        },
    );
    let now = net.now();
    let b_addr = net.addr(b);
    net.endpoint(a).ping(now, b_addr).unwrap();
    net.run_until(Instant::from_secs(200), |_, _, event| {
        assert!(matches!(event, Event::RequestFailed { .. }));
    });
    assert!(net.trace().iter().all(|e| e.fate == Fate::Dropped));
    assert_eq!(net.trace().len(), 5);
    assert_eq!(net.now(), Instant::from_secs(200));
}

/// A host that answers every request itself: what a server crate's state machine looks like to
/// the network.
struct AutoResponder {
    endpoint: Endpoint<SocketAddr>,
    answered: usize,
    events: std::collections::VecDeque<Event<SocketAddr>>,
}

impl Host for AutoResponder {
    type Event = Event<SocketAddr>;

    fn handle_datagram(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        self.endpoint.handle_datagram(now, source, datagram);
        while let Some(event) = self.endpoint.poll_event() {
            if let Event::Request { id, .. } = event {
                self.endpoint
                    .respond(now, id, content(&b"auto"[..]))
                    .unwrap();
                self.answered += 1;
            } else {
                self.events.push_back(event);
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    fn poll_transmit(&mut self) -> Option<Transmit<SocketAddr>> {
        self.endpoint.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<Event<SocketAddr>> {
        self.events
            .pop_front()
            .or_else(|| self.endpoint.poll_event())
    }
}

#[test]
fn custom_hosts_share_the_network() {
    let mut net: Network<AutoResponder> = Network::with_seed(3);
    let host = || AutoResponder {
        endpoint: Endpoint::new(Config::default(), [0; 32]).unwrap(),
        answered: 0,
        events: std::collections::VecDeque::new(),
    };
    let client = net.add_host(host());
    let server = net.add_host(host());
    let server_addr = net.addr(server);
    let now = net.now();
    let id = net
        .host(client)
        .endpoint
        .start_request(now, server_addr, get("/a"))
        .unwrap();
    let answered = std::cell::Cell::new(false);
    let done = net.run_until_done(
        Instant::from_secs(60),
        |_, node, event| {
            assert_eq!(node, client);
            assert!(matches!(event, Event::Response { id: r, ref response, .. }
                if r == id && response.code() == Code::CONTENT));
            answered.set(true);
        },
        |_| answered.get(),
    );
    assert!(done);
    assert_eq!(net.trace().len(), 2);
    assert_eq!(net.host(server).answered, 1);
    assert!(net.now() <= Instant::ZERO + Duration::from_millis(20));
}
