//! Pipelined group commit: the server handles the next requests while a batch is written, and
//! answers a request only once its batch is stored. What was acknowledged survives a crash (the
//! server task killed mid-flight, no shutdown), and a batch the store refuses takes the requests
//! handled on top of it down with it.

#![cfg(feature = "redb")]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lwm2m_codec::coap::{Code, Message, MessageBuilder, Type};
use lwm2m_server::registration::{
    RateLimit, Registrar, RegistrarConfig, RegistrationEvent, RegistrationResponse,
};
use lwm2m_server::server::Server;
use lwm2m_server::store::{MemoryRegistrationStore, RedbStore, RegistrationStore};
use lwm2m_server::Timestamp;
use lwm2m_transport::udp::UdpEndpoint;
use lwm2m_transport::{Config, Request};

const LINKS: &[u8] = b"</1/0>,</3/0>,</3303/0>";
const NOW: Timestamp = Timestamp::from_unix_secs(1_700_000_000);

fn register(endpoint: &str, lifetime: u32, mid: u16) -> Vec<u8> {
    let query = format!("ep={endpoint}&lt={lifetime}");
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, mid);
    b.uri_path("/rd")
        .uri_queries(&query)
        .content_format(40)
        .payload(LINKS);
    b.to_vec().unwrap()
}

fn codes(answers: &[RegistrationResponse]) -> Vec<Code> {
    answers.iter().map(RegistrationResponse::code).collect()
}

#[test]
fn a_failed_staged_batch_undoes_the_open_batch_built_on_it() {
    let store = MemoryRegistrationStore::new();
    let mut registrar = Registrar::builder()
        .config(RegistrarConfig {
            register_rate_limit: None,
            ..RegistrarConfig::default()
        })
        .store(store.clone())
        .seed([9; 32])
        .build(NOW)
        .unwrap();
    let peer = "10.0.0.1:5683".parse().unwrap();
    let first = register("a", 300, 1);
    let mut staged_answers =
        registrar.handle_request_open(NOW, [(peer, &Message::parse(&first).unwrap())]);
    let (staged, write) = registrar.stage();
    assert_eq!(write.len(), 1);

    // While the write runs, the next requests build on the staged state.
    let id = staged_answers[0].location().unwrap();
    let mut update = MessageBuilder::new(Type::Confirmable, Code::POST, 2);
    update
        .uri_path_segment("rd")
        .uri_path_segment(id.as_str())
        .uri_queries("lt=77");
    let update = update.to_vec().unwrap();
    let second = register("b", 300, 3);
    let mut later = registrar.handle_request_open(
        NOW,
        [
            (peer, &Message::parse(&update).unwrap()),
            (peer, &Message::parse(&second).unwrap()),
        ],
    );
    assert_eq!(codes(&later), [Code::CHANGED, Code::CREATED]);
    assert!(registrar.has_open_changes());

    store.fail_writes(true);
    let outcome = write.run();
    assert!(outcome.is_err());
    registrar.complete(staged, outcome, &mut staged_answers, &mut later);
    assert_eq!(codes(&staged_answers), [Code::INTERNAL_SERVER_ERROR]);
    assert_eq!(
        codes(&later),
        [Code::INTERNAL_SERVER_ERROR, Code::INTERNAL_SERVER_ERROR]
    );
    assert!(registrar.registrations().is_empty(), "both batches undone");
    assert!(!registrar.has_open_changes());
    assert!(
        registrar.poll_event().is_none(),
        "no event for an unstored change"
    );
    assert_eq!(registrar.stats().registered, 0);

    // The store is back: a staged batch's events and counters appear on completion only.
    store.fail_writes(false);
    let mut answers =
        registrar.handle_request_open(NOW, [(peer, &Message::parse(&first).unwrap())]);
    let (staged, write) = registrar.stage();
    assert!(registrar.poll_event().is_none());
    registrar.complete(staged, write.run(), &mut answers, &mut []);
    assert_eq!(codes(&answers), [Code::CREATED]);
    assert!(matches!(
        registrar.poll_event(),
        Some(RegistrationEvent::Registered { .. })
    ));
    assert_eq!(registrar.stats().registered, 1);
    assert_eq!(store.clone().load().unwrap().registrations.len(), 1);
}

/// Opens the file once the killed server's last handle on it is gone.
fn reopen(path: &std::path::Path) -> RedbStore {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match RedbStore::open(path) {
            Ok(store) => return store,
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("the store cannot be reopened: {error}"),
        }
    }
}

#[test]
fn what_was_acknowledged_survives_killing_the_server_without_shutdown() {
    const CLIENTS: usize = 400;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registrations.redb");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (server, acknowledged) = runtime.block_on(async {
        let config = RegistrarConfig {
            register_rate_limit: Some(RateLimit {
                burst: 10_000,
                ..RateLimit::default()
            }),
            ..RegistrarConfig::default()
        };
        let server = Server::builder()
            // The registrar first: `store` gives it the shared store.
            .registrar(Registrar::builder().config(config))
            .store(RedbStore::open(&path).unwrap())
            .bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let to = server.local_addr();
        let mut transport = Config::default();
        transport.transmission.nstart = CLIENTS;
        let client = UdpEndpoint::builder()
            .config(transport)
            .bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|n| {
                let handle = client.handle();
                tokio::spawn(async move {
                    let query = format!("ep=crash{n:04}&lt=3600");
                    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 0);
                    b.uri_path("/rd")
                        .uri_queries(&query)
                        .content_format(40)
                        .payload(LINKS);
                    let request = Request::from_builder(&b).unwrap();
                    let response = handle.request(to, request).await.unwrap();
                    assert_eq!(response.code(), Code::CREATED);
                    let message = response.message().unwrap();
                    let id = message.location_path().unwrap().nth(1).unwrap().to_owned();
                    (format!("crash{n:04}"), id)
                })
            })
            .collect();
        let mut acknowledged = BTreeMap::new();
        for task in tasks {
            let (endpoint, id) = tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("every Register is answered within 60 s")
                .unwrap();
            acknowledged.insert(endpoint, id);
        }
        // More Registers that are still in flight when the server dies: they may or may not
        // be stored, but none of them may damage what was acknowledged.
        for n in 0..50u16 {
            let handle = client.handle();
            tokio::spawn(async move {
                let query = format!("ep=late{n}&lt=3600");
                let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 0);
                b.uri_path("/rd")
                    .uri_queries(&query)
                    .content_format(40)
                    .payload(LINKS);
                let request = Request::from_builder(&b).unwrap();
                let _ = handle.request(to, request).await;
            });
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        (server, acknowledged)
    });
    assert_eq!(acknowledged.len(), CLIENTS);
    // A crash: every task is dropped where it stands, nothing is drained or flushed.
    runtime.shutdown_background();
    drop(server);

    let mut store = reopen(&path);
    let stored: BTreeMap<String, String> = store
        .load()
        .unwrap()
        .registrations
        .iter()
        .map(|r| (r.endpoint().to_owned(), r.id().as_str().to_owned()))
        .collect();
    for (endpoint, id) in &acknowledged {
        assert_eq!(
            stored.get(endpoint),
            Some(id),
            "{endpoint} was acknowledged with /rd/{id}"
        );
    }
}
