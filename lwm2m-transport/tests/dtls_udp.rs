//! CoAP over DTLS end to end on the tokio driver: our client `UdpEndpoint` with a DTLS client
//! layer against our server `UdpEndpoint` with a DTLS server layer over loopback (PSK, X.509,
//! a wrong key, a rebooted client), and the same drivers against independent peers: libcoap's
//! `coap-client-openssl` / `coap-client-gnutls` and aiocoap (tinydtls) against our server, our
//! client against `coap-server-openssl`.
#![cfg(all(feature = "dtls-openssl", feature = "tokio"))]

mod dtls_support;
mod interop;

use std::net::SocketAddr;
use std::time::Duration;

use dtls_support::{
    backend, backends, cert_client, psk_client, psk_store, set_backend, Pki, IDENTITY, KEY,
};
use interop::{free_port, libcoap, run_peer, text, venv_python, PeerProcess};
use lwm2m_codec::coap::Code;
use lwm2m_transport::dtls::{
    Alert, ClientConfig, CloseReason, DtlsError, HandshakeFailure, Limits, PeerIdentity,
    ServerConfig, ServerTrust, Session, SessionState,
};
use lwm2m_transport::udp::{
    DtlsEvent, DtlsEvents, DtlsSettings, Error, IncomingRequests, Notification, ServerRequest,
    UdpEndpoint,
};
use lwm2m_transport::{Request, Response};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);
const ANSWER: &str = "hello from the lwm2m-rs DTLS driver";

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn get(path: &str) -> Request {
    Request::build(Code::GET, |b| {
        b.uri_path(path);
    })
    .unwrap()
}

fn path_of(request: &ServerRequest) -> String {
    let message = request.request.message().unwrap();
    let segments: Vec<String> = message
        .uri_path()
        .map(|p| p.map(str::to_owned).collect())
        .unwrap_or_default();
    segments.join("/")
}

/// Serves: `big` a 20 KiB body, `obs` an observation notifying `1`, `2`, ... every 50 ms,
/// anything else (also a deregistering GET of `obs`) `ANSWER`.
fn serve(mut incoming: IncomingRequests) {
    tokio::spawn(async move {
        while let Some(request) = incoming.next().await {
            let path = path_of(&request);
            let registration = request.request.is_observe_registration();
            let responder = request.responder;
            match path.as_str() {
                "big" => {
                    let reply = Response::new(Code::CONTENT).with_payload(body(20 * 1024));
                    responder.respond(reply).unwrap();
                }
                "obs" if registration => {
                    let first = Response::new(Code::CONTENT).with_payload(&b"0"[..]);
                    let notifier = responder.accept_observation(first).await.unwrap();
                    tokio::spawn(async move {
                        for n in 1..=20 {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            let value = Response::new(Code::CONTENT).with_payload(n.to_string());
                            if notifier.notify(value).is_err() {
                                return;
                            }
                        }
                    });
                }
                _ => {
                    let reply = Response::new(Code::CONTENT).with_payload(ANSWER);
                    responder.respond(reply).unwrap();
                }
            }
        }
    });
}

fn psk_server_config() -> ServerConfig {
    ServerConfig::builder()
        .psk_store(psk_store())
        .backend(backend())
        .build()
        .unwrap()
}

async fn start_server(config: ServerConfig, addr: &str) -> (UdpEndpoint, DtlsEvents) {
    let (builder, events) = UdpEndpoint::builder().dtls_server(config);
    let server = builder.bind(addr.parse().unwrap()).await.unwrap();
    serve(server.incoming());
    (server, events)
}

async fn start_client(config: ClientConfig, addr: &str) -> (UdpEndpoint, DtlsEvents) {
    let mut limits = Limits::default();
    limits.handshake_timeout = Duration::from_secs(5);
    let (builder, events) =
        UdpEndpoint::builder().dtls(DtlsSettings::client(config).limits(limits));
    (builder.bind(addr.parse().unwrap()).await.unwrap(), events)
}

/// A sans-IO client session over a bare socket: handshakes with `to`, then drops everything
/// without a word. Returns the address it used.
async fn vanishing_client(to: SocketAddr) -> SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let clock = lwm2m_transport::Clock::new();
    let limits = Limits::default();
    let mut session = Session::connect(clock.now(), &psk_client(IDENTITY, KEY), &limits).unwrap();
    let mut buf = vec![0; 2048];
    for _ in 0..100 {
        while let Some(datagram) = session.poll_transmit() {
            socket.send_to(&datagram, to).await.unwrap();
        }
        if session.state() == SessionState::Established {
            return socket.local_addr().unwrap();
        }
        match timeout(Duration::from_millis(200), socket.recv_from(&mut buf)).await {
            Ok(Ok((len, _))) => session.handle_datagram(clock.now(), &buf[..len]).unwrap(),
            _ => session.handle_timeout(clock.now()),
        }
    }
    panic!("the vanishing client did not connect");
}

/// The next `Closed` event (skipping others), within `LIMIT`.
async fn closed(events: &mut DtlsEvents) -> (SocketAddr, CloseReason) {
    loop {
        match timeout(LIMIT, events.next()).await.unwrap() {
            Some(DtlsEvent::Closed { peer, reason }) => return (peer, reason),
            Some(_) => {}
            None => panic!("the events channel closed"),
        }
    }
}

#[tokio::test]
async fn closing_an_endpoint_sends_close_notify_to_its_peers() {
    for b in backends() {
        set_backend(b);
        let (server, mut server_events) = start_server(psk_server_config(), "127.0.0.1:0").await;
        let to = server.local_addr();
        let (client, mut client_events) =
            start_client(psk_client(IDENTITY, KEY), "127.0.0.1:0").await;
        let local = client.local_addr();
        let response = timeout(LIMIT, client.handle().request(to, get("x")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.body().as_ref(), ANSWER.as_bytes());
        connected(&mut server_events).await;
        connected(&mut client_events).await;

        // The client closes: the server hears close_notify and drops the session.
        client.close().await;
        assert_eq!(
            closed(&mut server_events).await,
            (local, CloseReason::PeerClosed)
        );
        assert_eq!(closed(&mut client_events).await, (to, CloseReason::Local));

        // A new client; then the server closes: the client hears close_notify, and its next
        // request handshakes with the server that took the port over.
        let (client, mut client_events) =
            start_client(psk_client(IDENTITY, KEY), "127.0.0.1:0").await;
        let local = client.local_addr();
        timeout(LIMIT, client.handle().request(to, get("x")))
            .await
            .unwrap()
            .unwrap();
        connected(&mut client_events).await;
        server.close().await;
        assert_eq!(
            closed(&mut client_events).await,
            (to, CloseReason::PeerClosed)
        );
        assert_eq!(
            closed(&mut server_events).await,
            (local, CloseReason::Local)
        );
        let (server, mut server_events) = start_server(psk_server_config(), &to.to_string()).await;
        let response = timeout(LIMIT, client.handle().request(to, get("x")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.body().as_ref(), ANSWER.as_bytes());
        let (peer, _, replaced) = connected(&mut server_events).await;
        assert_eq!((peer, replaced), (local, false));
        client.close().await;
        server.close().await;
    }
}

/// The next `Connected` event (skipping others), within `LIMIT`.
async fn connected(events: &mut DtlsEvents) -> (SocketAddr, PeerIdentity, bool) {
    loop {
        match timeout(LIMIT, events.next()).await.unwrap() {
            Some(DtlsEvent::Connected {
                peer,
                handshake,
                replaced,
            }) => return (peer, handshake.identity, replaced),
            Some(_) => {}
            None => panic!("the events channel closed"),
        }
    }
}

#[tokio::test]
async fn psk_get_block2_and_observe_between_our_drivers() {
    for b in backends() {
        set_backend(b);
        let (server, mut server_events) = start_server(psk_server_config(), "127.0.0.1:0").await;
        let (client, mut client_events) =
            start_client(psk_client(IDENTITY, KEY), "127.0.0.1:0").await;
        let handle = client.handle();
        let to = server.local_addr();

        let response = timeout(LIMIT, handle.request(to, get("x")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.code(), Code::CONTENT);
        assert_eq!(response.body().as_ref(), ANSWER.as_bytes());

        let (peer, identity, replaced) = connected(&mut server_events).await;
        assert_eq!(peer, client.local_addr());
        assert_eq!(identity.name(), Some("lwm2m-client-1"));
        assert!(!replaced);
        let (peer, identity, _) = connected(&mut client_events).await;
        assert_eq!(peer, to);
        assert_eq!(identity.name(), Some("lwm2m-client-1"));

        let big = timeout(LIMIT, handle.request(to, get("big")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(big.code(), Code::CONTENT);
        assert_eq!(big.body().as_ref(), body(20 * 1024).as_slice());

        let mut observation = timeout(LIMIT, handle.observe(to, get("obs")))
            .await
            .unwrap()
            .unwrap();
        assert!(observation.is_established());
        assert_eq!(observation.response().body().as_ref(), b"0");
        let mut seen = Vec::new();
        while seen.len() < 2 {
            match timeout(LIMIT, observation.next()).await.unwrap() {
                Some(Notification::Value(v)) => {
                    seen.push(String::from_utf8(v.body().to_vec()).unwrap());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(seen, ["1", "2"]);
        let last = timeout(LIMIT, observation.cancel()).await.unwrap().unwrap();
        assert_eq!(last.body().as_ref(), ANSWER.as_bytes());

        // One handshake carried everything.
        assert!(server_events.try_next().is_none());
        client.close().await;
        server.close().await;
    }
}

#[tokio::test]
async fn x509_mutual_authentication_between_our_drivers() {
    let pki = Pki::new();
    let (server, mut server_events) = start_server(pki.server_config(), "127.0.0.1:0").await;
    let trust = ServerTrust::Anchors {
        anchors: vec![pki.ca.clone()],
        host: Some("127.0.0.1".into()),
    };
    let (client, mut client_events) =
        start_client(cert_client(&pki.client, trust), "127.0.0.1:0").await;
    let response = timeout(
        LIMIT,
        client.handle().request(server.local_addr(), get("x")),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(response.body().as_ref(), ANSWER.as_bytes());

    let (peer, identity, _) = connected(&mut server_events).await;
    assert_eq!(peer, client.local_addr());
    assert!(
        matches!(&identity, PeerIdentity::Certificate { common_name: Some(cn), .. } if cn == "urn:dev:client-1"),
        "{identity:?}"
    );
    let (_, identity, _) = connected(&mut client_events).await;
    assert_eq!(identity.name(), Some("lwm2m-server"));
    client.close().await;
    server.close().await;
}

#[tokio::test]
async fn a_wrong_psk_fails_the_request_and_the_server_keeps_serving() {
    for b in backends() {
        set_backend(b);
        let (server, mut server_events) = start_server(psk_server_config(), "127.0.0.1:0").await;
        let to = server.local_addr();
        let (bad, mut bad_events) =
            start_client(psk_client(IDENTITY, b"fedcba9876543210"), "127.0.0.1:0").await;
        let started = std::time::Instant::now();
        let outcome = timeout(LIMIT, bad.handle().request(to, get("x")))
            .await
            .expect("the request must fail within the limit, not hang");
        let elapsed = started.elapsed();
        match outcome {
            Err(Error::Dtls { peer, error }) => {
                assert_eq!(peer, to);
                // The server's Finished check fails and it says so: decrypt_error (51).
                assert_eq!(
                    error,
                    DtlsError::Handshake(HandshakeFailure::PeerAlert(Alert(51)))
                );
            }
            other => panic!("expected a DTLS error, got {other:?}"),
        }
        // Within the client's handshake timeout (5 s) plus slack, far below the CoAP timeout.
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
        assert!(matches!(
            timeout(LIMIT, bad_events.next()).await.unwrap(),
            Some(DtlsEvent::Failed { .. })
        ));

        let (good, _) = start_client(psk_client(IDENTITY, KEY), "127.0.0.1:0").await;
        let response = timeout(LIMIT, good.handle().request(to, get("x")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.body().as_ref(), ANSWER.as_bytes());
        let (peer, identity, _) = connected(&mut server_events).await;
        assert_eq!(peer, good.local_addr());
        assert_eq!(identity.name(), Some("lwm2m-client-1"));
        bad.close().await;
        good.close().await;
        server.close().await;
    }
}

#[tokio::test]
async fn a_rebooted_client_on_the_same_port_handshakes_again() {
    for b in backends() {
        set_backend(b);
        let (server, mut server_events) = start_server(psk_server_config(), "127.0.0.1:0").await;
        let to = server.local_addr();
        // The first client handshakes and vanishes without close_notify (an endpoint's close
        // would send one), like a device that reboots.
        let local = vanishing_client(to).await;
        let (peer, _, replaced) = connected(&mut server_events).await;
        assert_eq!((peer, replaced), (local, false));

        let (second, _) = start_client(psk_client(IDENTITY, KEY), &local.to_string()).await;
        assert_eq!(second.local_addr(), local);
        let started = std::time::Instant::now();
        let response = timeout(LIMIT, second.handle().request(to, get("x")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.body().as_ref(), ANSWER.as_bytes());
        // At once: no CoAP retransmission (the first one comes after at least 2 s).
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let (peer, _, replaced) = connected(&mut server_events).await;
        assert_eq!((peer, replaced), (local, true));
        second.close().await;
        server.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_two_reuseport_sockets_serves_every_client_once() {
    let (builder, mut events) = UdpEndpoint::builder()
        .sockets(2)
        .dtls_server(psk_server_config());
    let server = builder.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    serve(server.incoming());
    let mut clients = Vec::new();
    for _ in 0..6 {
        clients.push(
            start_client(psk_client(IDENTITY, KEY), "127.0.0.1:0")
                .await
                .0,
        );
    }
    for client in &clients {
        let response = timeout(
            LIMIT,
            client.handle().request(server.local_addr(), get("x")),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(response.body().as_ref(), ANSWER.as_bytes());
    }
    let mut peers = Vec::new();
    for _ in &clients {
        peers.push(connected(&mut events).await.0);
    }
    peers.sort();
    let mut expected: Vec<SocketAddr> = clients.iter().map(UdpEndpoint::local_addr).collect();
    expected.sort();
    assert_eq!(peers, expected, "one handshake per client");
    for client in clients {
        client.close().await;
    }
    server.close().await;
}

#[tokio::test]
async fn libcoap_clients_get_from_our_server_driver() {
    let (server, mut events) = start_server(psk_server_config(), "127.0.0.1:0").await;
    let uri = format!("coaps://127.0.0.1:{}/x", server.local_addr().port());
    for tool in ["coap-client-openssl", "coap-client-gnutls"] {
        let output = run_peer(
            &libcoap(tool),
            &[
                "-B",
                "15",
                "-u",
                "lwm2m-client-1",
                "-k",
                "0123456789abcdef",
                &uri,
            ],
            LIMIT,
        )
        .await;
        let (stdout, stderr) = text(&output);
        assert!(
            stdout.contains(ANSWER),
            "{tool} printed {stdout:?}, stderr {stderr:?}"
        );
        let (_, identity, _) = connected(&mut events).await;
        assert_eq!(identity.name(), Some("lwm2m-client-1"), "{tool}");
    }
    server.close().await;
}

#[tokio::test]
async fn aiocoap_with_tinydtls_gets_from_our_server_driver() {
    let (server, mut events) = start_server(psk_server_config(), "127.0.0.1:0").await;
    let port = server.local_addr().port();
    let dir = std::env::temp_dir().join(format!("lwm2m-dtls-udp-aiocoap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let credentials = dir.join("psk.json");
    let json = format!(
        r#"{{"coaps://127.0.0.1:{port}/*": {{"dtls": {{"psk": {{"ascii": "0123456789abcdef"}}, "client-identity": {{"ascii": "lwm2m-client-1"}}}}}}}}"#
    );
    std::fs::write(&credentials, json).unwrap();
    let client = venv_python().with_file_name("aiocoap-client");
    let uri = format!("coaps://127.0.0.1:{port}/x");
    let output = run_peer(
        &client,
        &["--credentials", credentials.to_str().unwrap(), &uri],
        LIMIT,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let (stdout, stderr) = text(&output);
    assert!(
        stdout.contains(ANSWER),
        "aiocoap-client printed {stdout:?}, stderr {stderr:?}"
    );
    let (_, identity, _) = connected(&mut events).await;
    assert_eq!(identity.name(), Some("lwm2m-client-1"));
    server.close().await;
}

#[tokio::test]
async fn our_client_driver_gets_from_libcoap_server() {
    // `-p N` is plain CoAP; with `-k` the server also listens for DTLS on N + 1.
    let (port, secure) = loop {
        let port = free_port();
        if port < u16::MAX && std::net::UdpSocket::bind(("127.0.0.1", port + 1)).is_ok() {
            break (port, port + 1);
        }
    };
    let mut process = PeerProcess::start(
        &libcoap("coap-server-openssl"),
        &[
            "-A",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-k",
            "secretPSK",
        ],
    );
    let to = SocketAddr::from(([127, 0, 0, 1], secure));
    let (client, mut events) =
        start_client(psk_client(b"any-identity", b"secretPSK"), "127.0.0.1:0").await;
    let handle = client.handle();
    // The server may not have bound yet: a first handshake can fail, so retry a few times.
    let mut answer = None;
    for _ in 0..10 {
        process.assert_running();
        if let Ok(Ok(response)) = timeout(Duration::from_secs(6), handle.request(to, get(""))).await
        {
            answer = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let response = answer.expect("coap-server-openssl answers over DTLS");
    assert_eq!(response.code(), Code::CONTENT);
    let text = String::from_utf8_lossy(response.body()).into_owned();
    assert!(
        text.contains("This is a test server made with libcoap"),
        "{text}"
    );
    let (peer, identity, _) = connected(&mut events).await;
    assert_eq!(peer, to);
    assert_eq!(identity.name(), Some("any-identity"));
    client.close().await;
}

#[tokio::test]
async fn an_evicted_client_gets_its_answer_without_a_coap_retransmission() {
    for b in backends() {
        set_backend(b);
        let mut limits = Limits::default();
        limits.evict_idle_after = Some(Duration::from_millis(200));
        let (builder, mut server_events) =
            UdpEndpoint::builder().dtls(DtlsSettings::server(psk_server_config()).limits(limits));
        let server = builder.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        serve(server.incoming());
        let to = server.local_addr();
        let (client, mut client_events) =
            start_client(psk_client(IDENTITY, KEY), "127.0.0.1:0").await;
        let local = client.local_addr();
        let response = timeout(LIMIT, client.handle().request(to, get("x")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.body().as_ref(), ANSWER.as_bytes());
        connected(&mut server_events).await;
        connected(&mut client_events).await;
        assert_eq!(
            closed(&mut server_events).await,
            (local, CloseReason::Evicted)
        );

        // The client still holds its session; its request draws the server's alert, a
        // re-handshake, and a resend of the request through the new session.
        let started = std::time::Instant::now();
        let response = timeout(LIMIT, client.handle().request(to, get("again")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.body().as_ref(), ANSWER.as_bytes());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "no CoAP retransmission (the first comes after 2 s): {:?}",
            started.elapsed()
        );
        let (peer, _, replaced) = connected(&mut server_events).await;
        assert_eq!((peer, replaced), (local, false));
        let (peer, _, replaced) = connected(&mut client_events).await;
        assert_eq!((peer, replaced), (to, true));
        client.close().await;
        server.close().await;
    }
}
