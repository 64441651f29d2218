//! The tokio UDP driver end to end on loopback: our client against our server, both roles,
//! concurrency, block-wise bodies, observe and cancel, several sockets, errors and shutdown.
#![cfg(feature = "tokio")]

use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_codec::coap::Code;
use lwm2m_transport::udp::{
    Error, IncomingRequests, Notification, RelationClosed, ServerRequest, UdpEndpoint,
};
use lwm2m_transport::{Config, ExchangeError, RelationEnd, Request, Response};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn config(nstart: usize) -> Config {
    let mut config = Config::default();
    config.transmission.nstart = nstart;
    config
}

fn get(path: &str) -> Request {
    Request::build(Code::GET, |b| {
        b.uri_path(path);
    })
    .unwrap()
}

fn path_of(request: &ServerRequest) -> String {
    let message = request.request.message().unwrap();
    message.uri_path().unwrap().collect::<Vec<_>>().join("/")
}

/// Body bytes that differ at every offset, so a misplaced block shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Serves: `echo/...` answers its path; `big` a 50 KiB body; `upload` the size of the body it
/// got (checking it against `pattern`); `drop` drops the responder; `obs` accepts an observation
/// and notifies `1`, `2`, `3`, ... every 50 ms until it ends, reporting how it ended.
fn serve(mut incoming: IncomingRequests, ends: tokio::sync::mpsc::UnboundedSender<RelationClosed>) {
    tokio::spawn(async move {
        while let Some(request) = incoming.next().await {
            let path = path_of(&request);
            let ServerRequest {
                request: body,
                responder,
                ..
            } = request;
            match path.as_str() {
                "big" => {
                    let reply = Response::new(Code::CONTENT).with_payload(pattern(50 * 1024));
                    responder.respond(reply).unwrap();
                }
                "upload" => {
                    let ok = body.body().as_ref() == pattern(body.body().len()).as_slice();
                    let code = if ok { Code::CHANGED } else { Code::BAD_REQUEST };
                    let reply = Response::new(code).with_payload(body.body().len().to_string());
                    responder.respond(reply).unwrap();
                }
                "drop" => drop(responder),
                "obs" => {
                    let first = Response::new(Code::CONTENT).with_payload(&b"0"[..]);
                    let mut notifier = responder.accept_observation(first).await.unwrap();
                    let ends = ends.clone();
                    tokio::spawn(async move {
                        for n in 1.. {
                            tokio::select! {
                                end = notifier.closed() => {
                                    let _ = ends.send(end);
                                    return;
                                }
                                () = tokio::time::sleep(Duration::from_millis(50)) => {}
                            }
                            let value = Response::new(Code::CONTENT).with_payload(n.to_string());
                            if notifier.notify(value).is_err() {
                                let _ = ends.send(notifier.end().unwrap());
                                return;
                            }
                        }
                    });
                }
                _ => {
                    let reply = Response::new(Code::CONTENT).with_payload(path);
                    responder.respond(reply).unwrap();
                }
            }
        }
    });
}

async fn start_server() -> (
    UdpEndpoint,
    tokio::sync::mpsc::UnboundedReceiver<RelationClosed>,
) {
    let server = UdpEndpoint::builder()
        .config(config(64))
        .bind(loopback())
        .await
        .unwrap();
    let (ends, ended) = tokio::sync::mpsc::unbounded_channel();
    serve(server.incoming(), ends);
    (server, ended)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_get_their_own_responses() {
    let (server, _) = start_server().await;
    let client = UdpEndpoint::builder()
        .config(config(16))
        .bind(loopback())
        .await
        .unwrap();
    let to = server.local_addr();
    let mut tasks = Vec::new();
    for task in 0..8 {
        let handle = client.handle();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let path = format!("echo/{task}-{i}");
                let response = handle.request(to, get(&path)).await.unwrap();
                assert_eq!(response.code(), Code::CONTENT);
                assert_eq!(response.body().as_ref(), path.as_bytes());
            }
        }));
    }
    for task in tasks {
        timeout(LIMIT, task).await.unwrap().unwrap();
    }
    client.close().await;
    server.close().await;
}

#[tokio::test]
async fn block_wise_bodies_travel_whole_in_both_directions() {
    let (server, _) = start_server().await;
    let client = UdpEndpoint::bind(loopback()).await.unwrap();
    let handle = client.handle();
    let big = timeout(LIMIT, handle.request(server.local_addr(), get("big")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(big.body().as_ref(), pattern(50 * 1024).as_slice());
    let put = Request::build(Code::PUT, |b| {
        b.uri_path("upload").content_format(42);
    })
    .unwrap()
    .with_payload(pattern(40_000));
    let uploaded = timeout(LIMIT, handle.request(server.local_addr(), put))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(uploaded.code(), Code::CHANGED);
    assert_eq!(uploaded.body().as_ref(), b"40000");
    client.close().await;
    server.close().await;
}

#[tokio::test]
async fn an_observation_streams_notifications_and_dropping_it_ends_the_relation() {
    let (server, mut ended) = start_server().await;
    let client = UdpEndpoint::bind(loopback()).await.unwrap();
    let mut observation = timeout(
        LIMIT,
        client.handle().observe(server.local_addr(), get("obs")),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(observation.is_established());
    assert_eq!(observation.response().body().as_ref(), b"0");
    let mut values = Vec::new();
    while values.len() < 3 {
        match timeout(LIMIT, observation.next()).await.unwrap() {
            Some(Notification::Value(v)) => {
                let n: u32 = std::str::from_utf8(v.body()).unwrap().parse().unwrap();
                values.push(n);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
    drop(observation);
    let end = timeout(LIMIT, ended.recv()).await.unwrap().unwrap();
    assert_eq!(end, RelationClosed::Peer(RelationEnd::Deregistered));
    client.close().await;
    server.close().await;
}

#[tokio::test]
async fn cancelling_an_observation_returns_the_deregistration_response() {
    let (server, mut ended) = start_server().await;
    let client = UdpEndpoint::bind(loopback()).await.unwrap();
    let mut observation = client
        .handle()
        .observe(server.local_addr(), get("obs"))
        .await
        .unwrap();
    assert!(matches!(
        timeout(LIMIT, observation.next()).await.unwrap(),
        Some(Notification::Value(_))
    ));
    // The server answers the deregistering GET like any other request, and the relation ends.
    let last = timeout(LIMIT, observation.cancel()).await.unwrap().unwrap();
    assert_eq!(last.code(), Code::CONTENT);
    let end = timeout(LIMIT, ended.recv()).await.unwrap().unwrap();
    assert_eq!(end, RelationClosed::Peer(RelationEnd::Deregistered));
    client.close().await;
    server.close().await;
}

#[tokio::test]
async fn a_dropped_responder_answers_5_00_and_no_listener_means_5_03() {
    let (server, _) = start_server().await;
    let client = UdpEndpoint::bind(loopback()).await.unwrap();
    let handle = client.handle();
    let dropped = handle.request(server.local_addr(), get("drop")).await;
    assert_eq!(dropped.unwrap().code(), Code::INTERNAL_SERVER_ERROR);
    // `client` never called `incoming()`: it refuses requests itself.
    let server_handle = server.handle();
    let refused = server_handle.request(client.local_addr(), get("x")).await;
    assert_eq!(refused.unwrap().code(), Code::SERVICE_UNAVAILABLE);
    client.close().await;
    server.close().await;
}

#[tokio::test]
async fn an_observe_refused_by_the_notifier_is_not_established() {
    let (server, _) = start_server().await;
    let client = UdpEndpoint::bind(loopback()).await.unwrap();
    // `echo` answers an observe registration with a plain response.
    let mut observation = client
        .handle()
        .observe(server.local_addr(), get("echo"))
        .await
        .unwrap();
    assert!(!observation.is_established());
    assert_eq!(observation.response().body().as_ref(), b"echo");
    assert_eq!(timeout(LIMIT, observation.next()).await.unwrap(), None);
    client.close().await;
    server.close().await;
}

#[tokio::test]
async fn a_silent_peer_times_out_and_ping_gets_an_answer() {
    let silent = std::net::UdpSocket::bind(loopback()).unwrap();
    let mut quick = Config::default();
    quick.transmission.ack_timeout = Duration::from_millis(20);
    quick.transmission.max_retransmit = 2;
    let client = UdpEndpoint::builder()
        .config(quick)
        .bind(loopback())
        .await
        .unwrap();
    let handle = client.handle();
    let to = silent.local_addr().unwrap();
    let failed = timeout(LIMIT, handle.request(to, get("x"))).await.unwrap();
    assert_eq!(
        failed.unwrap_err(),
        Error::Exchange(ExchangeError::Timeout { transmissions: 3 })
    );
    let (server, _) = start_server().await;
    timeout(LIMIT, handle.ping(server.local_addr()))
        .await
        .unwrap()
        .unwrap();
    client.close().await;
    server.close().await;
}

#[tokio::test]
async fn closing_fails_pending_requests_and_later_calls() {
    let silent = tokio::net::UdpSocket::bind(loopback()).await.unwrap();
    let client = UdpEndpoint::bind(loopback()).await.unwrap();
    let handle = client.handle();
    let to = silent.local_addr().unwrap();
    let pending = tokio::spawn({
        let handle = handle.clone();
        async move { handle.request(to, get("x")).await }
    });
    // Let the request reach the peer, then close.
    let mut probe = [0u8; 64];
    let len = timeout(LIMIT, silent.recv(&mut probe))
        .await
        .unwrap()
        .unwrap();
    assert!(len > 4);
    client.close().await;
    assert_eq!(pending.await.unwrap(), Err(Error::Closed));
    assert_eq!(handle.request(to, get("x")).await, Err(Error::Closed));
}

#[tokio::test]
async fn ipv6_loopback_works() {
    let server = UdpEndpoint::bind("[::1]:0".parse().unwrap()).await.unwrap();
    let (ends, _) = tokio::sync::mpsc::unbounded_channel();
    serve(server.incoming(), ends);
    let client = UdpEndpoint::bind("[::]:0".parse().unwrap()).await.unwrap();
    let response = timeout(
        LIMIT,
        client.handle().request(server.local_addr(), get("echo/v6")),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(response.body().as_ref(), b"echo/v6");
    // A dual-stack socket reaches an IPv4 peer too.
    let (v4, _) = start_server().await;
    let response = timeout(
        LIMIT,
        client.handle().request(v4.local_addr(), get("echo/4")),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(response.body().as_ref(), b"echo/4");
    client.close().await;
    server.close().await;
    v4.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_sockets_share_a_port_and_serve_both_roles() {
    let server = UdpEndpoint::builder()
        .sockets(3)
        .config(config(8))
        .bind(loopback())
        .await
        .unwrap();
    let (ends, _) = tokio::sync::mpsc::unbounded_channel();
    serve(server.incoming(), ends);
    let mut clients = Vec::new();
    for _ in 0..8 {
        let client = UdpEndpoint::bind(loopback()).await.unwrap();
        let (ends, _) = tokio::sync::mpsc::unbounded_channel();
        serve(client.incoming(), ends);
        clients.push(client);
    }
    let to = server.local_addr();
    for (n, client) in clients.iter().enumerate() {
        for i in 0..5 {
            let path = format!("echo/{n}/{i}");
            let response = timeout(LIMIT, client.handle().request(to, get(&path)))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(response.body().as_ref(), path.as_bytes());
        }
    }
    // The server now sends requests to each client, from whichever socket owns it.
    let server_handle = server.handle();
    for (n, client) in clients.iter().enumerate() {
        let path = format!("echo/back/{n}");
        let response = timeout(
            LIMIT,
            server_handle.request(client.local_addr(), get(&path)),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(response.body().as_ref(), path.as_bytes());
    }
    // And to peers it has never heard from: the reply may land on another socket, which
    // forwards it to the owner.
    for n in 0..6 {
        let fresh = UdpEndpoint::bind(loopback()).await.unwrap();
        let (ends, _) = tokio::sync::mpsc::unbounded_channel();
        serve(fresh.incoming(), ends);
        let path = format!("echo/fresh/{n}");
        let response = timeout(LIMIT, server_handle.request(fresh.local_addr(), get(&path)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.body().as_ref(), path.as_bytes());
        fresh.close().await;
    }
    for client in clients {
        client.close().await;
    }
    server.close().await;
}

#[tokio::test]
async fn dropping_a_request_future_abandons_the_exchange() {
    use lwm2m_codec::coap::Message;
    let peer = std::net::UdpSocket::bind(loopback()).unwrap();
    peer.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let client = UdpEndpoint::bind(loopback()).await.unwrap();
    let to = peer.local_addr().unwrap();
    let mut buffer = [0u8; 1500];
    let handle = client.handle();
    let abandoned = timeout(Duration::from_millis(100), handle.request(to, get("x")));
    assert!(abandoned.await.is_err(), "the peer has not answered");
    let (len, _) = peer.recv_from(&mut buffer).unwrap();
    let first_token = Message::parse(&buffer[..len]).unwrap().token().to_vec();
    // With NSTART 1 this request would wait behind the first until it timed out (93 s); it
    // goes out at once, before the first one's retransmission (after 2-3 s).
    let second = tokio::spawn({
        let handle = client.handle();
        async move { handle.request(to, get("y")).await }
    });
    let (len, from) = tokio::task::spawn_blocking(move || {
        let got = peer.recv_from(&mut buffer).unwrap();
        (buffer, got, peer)
    })
    .await
    .map(|(buffer, (len, from), peer)| {
        let message = Message::parse(&buffer[..len]).unwrap();
        assert_ne!(message.token(), first_token.as_slice());
        assert!(message.uri_path().unwrap().eq(["y"]));
        // A piggy-backed 2.05 "done".
        let token = message.token();
        let mut ack = vec![0x60 | token.len() as u8, 0x45];
        ack.extend_from_slice(&message.message_id().to_be_bytes());
        ack.extend_from_slice(token);
        ack.extend_from_slice(b"\xffdone");
        peer.send_to(&ack, from).unwrap();
        (len, from)
    })
    .unwrap();
    assert!(len > 4 && from == client.local_addr());
    let response = timeout(LIMIT, second).await.unwrap().unwrap().unwrap();
    assert_eq!(response.body().as_ref(), b"done");
    client.close().await;
}
