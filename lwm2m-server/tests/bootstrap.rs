//! The bootstrap server end to end on loopback UDP: our `lwm2m_client::Client`, holding only a
//! Bootstrap-Server account, bootstraps from our `BootstrapServer`, then registers with our
//! `Server` and is managed by it; scripted peers (bare transport endpoints) check the failure
//! paths and the codes of bad requests.
#![cfg(feature = "redb")]

mod bootstrap_support;

use std::net::SocketAddr;
use std::time::Duration;

use bootstrap_support::{spawn_bootstrapping_client, RunningClient};
use lwm2m_client::ClientEvent;
use lwm2m_codec::coap::Code;
use lwm2m_model::{Node, Path, Value};
use lwm2m_objects::{AccessControl, Security, Server as ServerObject};
use lwm2m_server::bootstrap::{
    BootstrapEvent, BootstrapEvents, BootstrapRefusal, BootstrapServer, BootstrapStatus,
    FailureReason, Operation,
};
use lwm2m_server::registration::{Registrar, RegistrationEvent};
use lwm2m_server::server::{Server, ServerEvent};
use lwm2m_server::store::{BootstrapConfig, RedbStore, SharedStore};
use lwm2m_transport::udp::{IncomingRequests, ServerRequest, UdpEndpoint};
use lwm2m_transport::{Request, Response};
use tokio::net::UdpSocket;
use tokio::sync::broadcast;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(30);

fn path(text: &str) -> Path {
    Path::parse(text).unwrap()
}

/// Security `/0/1` + Server `/1/0` for a management server at `server` (short server id 101),
/// and an ACL instance `/2/0` giving it the Device object.
fn config_for(server: SocketAddr) -> BootstrapConfig {
    BootstrapConfig::new()
        .security(
            1,
            &Security {
                lwm2m_server_uri: format!("coap://{server}").into(),
                security_mode: 3,
                short_server_id: Some(101),
                ..Security::default()
            },
        )
        .unwrap()
        .server(
            0,
            &ServerObject {
                short_server_id: 101,
                lifetime: 300,
                binding: "U".into(),
                notification_storing_when_disabled_or_offline: true,
                ..ServerObject::default()
            },
        )
        .unwrap()
        .access_control(
            0,
            &AccessControl {
                object_id: 3,
                object_instance_id: 0,
                acl: Some([(101, 1)].into()),
                access_control_owner: 101,
            },
        )
        .unwrap()
}

async fn next_event(events: &mut BootstrapEvents) -> BootstrapEvent {
    timeout(WAIT, events.next())
        .await
        .expect("no bootstrap event in time")
        .expect("the bootstrap server stopped")
}

/// Collects events until `endpoint` finishes or fails.
async fn session_of(events: &mut BootstrapEvents, endpoint: &str) -> Vec<BootstrapEvent> {
    let mut seen = Vec::new();
    loop {
        let event = next_event(events).await;
        if event.endpoint() != Some(endpoint) {
            continue;
        }
        let end = matches!(
            event,
            BootstrapEvent::Finished { .. } | BootstrapEvent::Failed { .. }
        );
        seen.push(event);
        if end {
            return seen;
        }
    }
}

async fn registered(events: &mut broadcast::Receiver<ServerEvent>, endpoint: &str) {
    loop {
        let event = timeout(WAIT, events.recv())
            .await
            .expect("no registration in time")
            .unwrap();
        if let ServerEvent::Registration(RegistrationEvent::Registered { registration, .. }) = event
        {
            if registration.endpoint() == endpoint {
                return;
            }
        }
    }
}

async fn client_event(
    client: &mut RunningClient,
    wanted: impl Fn(&ClientEvent) -> bool,
) -> ClientEvent {
    loop {
        let event = timeout(WAIT, client.events.recv())
            .await
            .expect("no client event in time")
            .expect("the client stopped");
        if wanted(&event) {
            return event;
        }
    }
}

fn manufacturer(node: &Node) -> Option<&Value> {
    match node {
        Node::ObjectInstance(instance) => instance.value(0),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_bootstraps_registers_and_is_managed() {
    // One redb file holds the registrations and the bootstrap configurations.
    let dir = tempfile::tempdir().unwrap();
    let store = SharedStore::new(RedbStore::open(dir.path().join("lwm2m.redb")).unwrap());
    let server = Server::builder()
        .registrar(Registrar::builder().store(store.clone()))
        .request_timeout(Duration::from_secs(5))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut server_events = server.events();
    let bs = BootstrapServer::builder()
        .store(store)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut events = bs.events();
    let handle = bs.handle();
    handle
        .set_config("node-bs", config_for(server.local_addr()))
        .unwrap();

    let mut client = spawn_bootstrapping_client("node-bs", bs.local_addr());
    let session = session_of(&mut events, "node-bs").await;
    let BootstrapEvent::Started {
        steps,
        default_config,
        ..
    } = &session[0]
    else {
        panic!("{session:?}")
    };
    assert_eq!((*steps, *default_config), (5, false));
    let done: Vec<String> = session
        .iter()
        .filter_map(|e| match e {
            BootstrapEvent::StepSucceeded {
                step, operation, ..
            } => Some(format!("{step} {operation}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        done,
        [
            "1 Bootstrap-Delete /",
            "2 Bootstrap-Write /0/1",
            "3 Bootstrap-Write /1/0",
            "4 Bootstrap-Write /2/0",
            "5 Bootstrap-Finish"
        ]
    );
    assert!(matches!(
        session.last(),
        Some(BootstrapEvent::Finished { .. })
    ));
    assert!(matches!(
        handle.status("node-bs"),
        Some(BootstrapStatus::Finished { .. })
    ));
    assert!(matches!(
        client_event(&mut client, |e| matches!(e, ClientEvent::BootstrapFinished)).await,
        ClientEvent::BootstrapFinished
    ));

    // The client registers with the server the configuration named, which manages it.
    registered(&mut server_events, "node-bs").await;
    let device = server
        .handle()
        .read("node-bs", path("/3/0"), None)
        .await
        .unwrap();
    assert_eq!(
        manufacturer(&device.node),
        Some(&Value::String("Open Mobile Alliance".into()))
    );
    let registration = server.handle().client("node-bs").unwrap();
    assert_eq!(registration.lifetime(), 300);
    assert_eq!(handle.session_count(), 0);
    drop(client);
    bs.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_endpoints_get_the_default_configuration() {
    let server = Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut server_events = server.events();
    let bs = BootstrapServer::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut events = bs.events();
    bs.handle()
        .set_default_config(config_for(server.local_addr()))
        .unwrap();
    bs.handle()
        .set_config("someone-else", BootstrapConfig::default())
        .unwrap();
    let _client = spawn_bootstrapping_client("stranger", bs.local_addr());
    let session = session_of(&mut events, "stranger").await;
    assert!(matches!(
        &session[0],
        BootstrapEvent::Started {
            default_config: true,
            ..
        }
    ));
    assert!(matches!(
        session.last(),
        Some(BootstrapEvent::Finished { .. })
    ));
    registered(&mut server_events, "stranger").await;
    bs.shutdown().await;
    server.shutdown().await;
}

/// A scripted peer: a bare transport endpoint on loopback.
struct Peer {
    endpoint: UdpEndpoint,
    incoming: tokio::sync::Mutex<IncomingRequests>,
}

impl Peer {
    async fn new() -> Peer {
        let endpoint = UdpEndpoint::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let incoming = tokio::sync::Mutex::new(endpoint.incoming());
        Peer { endpoint, incoming }
    }

    fn addr(&self) -> SocketAddr {
        self.endpoint.local_addr()
    }

    async fn send(&self, to: SocketAddr, request: Request) -> Code {
        timeout(WAIT, self.endpoint.handle().request(to, request))
            .await
            .expect("no answer in time")
            .unwrap()
            .code()
    }

    async fn incoming(&self) -> ServerRequest {
        timeout(WAIT, self.incoming.lock().await.next())
            .await
            .expect("no request in time")
            .unwrap()
    }
}

fn bootstrap_request(queries: &[&str], payload: &[u8]) -> Request {
    let request = Request::build(Code::POST, |b| {
        b.uri_path("/bs");
        for q in queries {
            b.uri_query(q);
        }
    })
    .unwrap();
    request.with_payload(payload.to_vec())
}

fn segments(request: &ServerRequest) -> Vec<String> {
    let message = request.request.message().unwrap();
    message.uri_path().unwrap().map(String::from).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_without_configuration_is_refused() {
    let bs = BootstrapServer::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut events = bs.events();
    let peer = Peer::new().await;
    let code = peer
        .send(bs.local_addr(), bootstrap_request(&["ep=ghost"], b""))
        .await;
    assert_eq!(code, Code::BAD_REQUEST);
    match next_event(&mut events).await {
        BootstrapEvent::Refused {
            peer: from,
            refusal: BootstrapRefusal::UnknownEndpoint { endpoint },
        } => assert_eq!((from, endpoint.as_str()), (peer.addr(), "ghost")),
        other => panic!("{other:?}"),
    }
    assert_eq!(bs.handle().status("ghost"), None);
    bs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_answered_with_an_error_fails_the_session_at_that_step() {
    let bs = BootstrapServer::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut events = bs.events();
    bs.handle()
        .set_config("picky", config_for("127.0.0.1:5683".parse().unwrap()))
        .unwrap();
    let peer = Peer::new().await;
    let code = peer
        .send(bs.local_addr(), bootstrap_request(&["ep=picky"], b""))
        .await;
    assert_eq!(code, Code::CHANGED);
    let delete = peer.incoming().await;
    assert_eq!(delete.request.code(), Code::DELETE);
    assert!(segments(&delete).is_empty());
    delete
        .responder
        .respond(Response::new(Code::DELETED))
        .unwrap();
    let write = peer.incoming().await;
    assert_eq!(write.request.code(), Code::PUT);
    assert_eq!(segments(&write), ["0", "1"]);
    assert_eq!(write.request.content_format(), Some(11542));
    write
        .responder
        .respond(Response::new(Code::UNSUPPORTED_CONTENT_FORMAT))
        .unwrap();

    let session = session_of(&mut events, "picky").await;
    let Some(BootstrapEvent::Failed { failure, .. }) = session.last() else {
        panic!("{session:?}")
    };
    assert_eq!(failure.step, 2);
    assert_eq!(failure.operation, Operation::Write(path("/0/1")));
    assert_eq!(
        failure.reason,
        FailureReason::Rejected(Code::UNSUPPORTED_CONTENT_FORMAT)
    );
    assert_eq!(
        failure.to_string(),
        "step 2 (Bootstrap-Write /0/1) failed: the client answered 4.15 Unsupported Content-Format"
    );
    match bs.handle().status("picky") {
        Some(BootstrapStatus::Failed { failure: f, .. }) => assert_eq!(&f, failure),
        other => panic!("{other:?}"),
    }
    assert_eq!(bs.handle().session_count(), 0);
    bs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_request_restarts_the_session() {
    let bs = BootstrapServer::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut events = bs.events();
    bs.handle()
        .set_config("again", BootstrapConfig::new())
        .unwrap();
    let peer = Peer::new().await;
    let ask = || bootstrap_request(&["ep=again"], b"");
    assert_eq!(peer.send(bs.local_addr(), ask()).await, Code::CHANGED);
    // The first Delete stays unanswered; the client asks again.
    let first = peer.incoming().await;
    assert_eq!(peer.send(bs.local_addr(), ask()).await, Code::CHANGED);
    let restarted = session_of(&mut events, "again").await;
    assert!(matches!(
        restarted.last(),
        Some(BootstrapEvent::Failed { failure, .. }) if failure.reason == FailureReason::Restarted && failure.step == 1
    ));
    // The new session runs from the start: Delete, then Finish.
    let delete = peer.incoming().await;
    assert_eq!(delete.request.code(), Code::DELETE);
    // A late answer to the old session's Delete changes nothing.
    let _ = first.responder.respond(Response::new(Code::DELETED));
    delete
        .responder
        .respond(Response::new(Code::DELETED))
        .unwrap();
    let finish = peer.incoming().await;
    assert_eq!(
        (finish.request.code(), segments(&finish)),
        (Code::POST, vec!["bs".to_string()])
    );
    finish
        .responder
        .respond(Response::new(Code::CHANGED))
        .unwrap();
    let session = session_of(&mut events, "again").await;
    let steps: Vec<usize> = session
        .iter()
        .filter_map(|e| match e {
            BootstrapEvent::StepSucceeded { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(steps, [1, 2]);
    assert!(matches!(
        session.last(),
        Some(BootstrapEvent::Finished { .. })
    ));
    bs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_requests_get_their_codes_and_the_server_keeps_working() {
    let bs = BootstrapServer::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    bs.handle()
        .set_default_config(BootstrapConfig::new())
        .unwrap();
    let peer = Peer::new().await;
    let to = bs.local_addr();
    let cases = [
        (bootstrap_request(&[], b""), Code::BAD_REQUEST),
        (bootstrap_request(&["ep="], b""), Code::BAD_REQUEST),
        (bootstrap_request(&["ep=a", "ep=b"], b""), Code::BAD_REQUEST),
        (
            bootstrap_request(&["ep=a", "lt=60"], b""),
            Code::BAD_REQUEST,
        ),
        (bootstrap_request(&["ep=a"], &[0x5a; 64]), Code::BAD_REQUEST),
        // Oversize: sent block-wise by the transport, refused once whole.
        (
            bootstrap_request(&["ep=a"], &vec![0xa5; 8192]),
            Code::BAD_REQUEST,
        ),
        (
            Request::build(Code::GET, |b| {
                b.uri_path("/bs").uri_query("ep=a");
            })
            .unwrap(),
            Code::METHOD_NOT_ALLOWED,
        ),
        (
            Request::build(Code::DELETE, |b| {
                b.uri_path("/bs");
            })
            .unwrap(),
            Code::METHOD_NOT_ALLOWED,
        ),
        (
            Request::build(Code::POST, |b| {
                b.uri_path("/rd").uri_query("ep=a");
            })
            .unwrap(),
            Code::NOT_FOUND,
        ),
        (
            bootstrap_request(&["ep=a"], b"").with_confirmable(false),
            Code::BAD_REQUEST,
        ),
    ];
    for (i, (request, code)) in cases.into_iter().enumerate() {
        assert_eq!(peer.send(to, request).await, code, "case {i}");
    }
    // Raw datagrams that are not CoAP, or truncated, or huge.
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut x: u32 = 0x9e37_79b9;
    for round in 0..64usize {
        let len = [0, 1, 3, 4, 17, 300, 1400, 8000][round % 8];
        let datagram: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        raw.send_to(&datagram, to).await.unwrap();
    }
    // Nothing broke and no session started.
    assert_eq!(bs.handle().session_count(), 0);
    assert_eq!(
        peer.send(to, bootstrap_request(&["ep=fine"], b"")).await,
        Code::CHANGED
    );
    assert!(matches!(
        bs.handle().status("fine"),
        Some(BootstrapStatus::Running { .. })
    ));
    bs.shutdown().await;
}

/// The Bootstrap-Request vector (CON POST /bs?ep=node1, MID 0x0001, no token) gets exactly
/// ACK 2.04 with that message id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_request_vector_is_acknowledged_with_2_04() {
    let bs = BootstrapServer::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    bs.handle()
        .set_config("node1", BootstrapConfig::new())
        .unwrap();
    let mut events = bs.events();
    let raw = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let vector = [
        0x40, 0x02, 0x00, 0x01, 0xB2, 0x62, 0x73, 0x48, 0x65, 0x70, 0x3D, 0x6E, 0x6F, 0x64, 0x65,
        0x31,
    ];
    raw.send_to(&vector, bs.local_addr()).await.unwrap();
    let mut buf = [0u8; 1500];
    let ack = loop {
        let (len, _) = timeout(WAIT, raw.recv_from(&mut buf))
            .await
            .expect("no answer in time")
            .unwrap();
        // The session's first command (DELETE /) may follow; the ACK is the type-2 message.
        if buf[0] >> 4 == 0x6 {
            break buf[..len].to_vec();
        }
    };
    assert_eq!(ack, [0x60, 0x44, 0x00, 0x01]);
    assert!(matches!(
        next_event(&mut events).await,
        BootstrapEvent::Started { endpoint, steps: 2, .. } if &*endpoint == "node1"
    ));
    bs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configurations_survive_a_restart_on_redb() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bootstrap.redb");
    let config = config_for("127.0.0.1:5683".parse().unwrap());
    {
        let bs = BootstrapServer::builder()
            .store(RedbStore::open(&file).unwrap())
            .bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(
            bs.handle().set_config("kept", config.clone()).unwrap(),
            None
        );
        bs.handle()
            .set_default_config(BootstrapConfig::new())
            .unwrap();
        bs.shutdown().await;
    }
    let bs = BootstrapServer::builder()
        .store(RedbStore::open(&file).unwrap())
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let handle = bs.handle();
    assert_eq!(handle.config("kept").unwrap(), Some(config.clone()));
    assert_eq!(
        handle.default_config().unwrap(),
        Some(BootstrapConfig::new())
    );
    let mut events = bs.events();
    let peer = Peer::new().await;
    assert_eq!(
        peer.send(bs.local_addr(), bootstrap_request(&["ep=kept"], b""))
            .await,
        Code::CHANGED
    );
    assert!(matches!(
        next_event(&mut events).await,
        BootstrapEvent::Started {
            steps: 5,
            default_config: false,
            ..
        }
    ));
    assert_eq!(handle.remove_config("kept").unwrap(), Some(config));
    assert_eq!(handle.config("kept").unwrap(), None);
    bs.shutdown().await;
}
