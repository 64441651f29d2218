//! Group commit: the requests of a batch are written to the store in one transaction before any
//! is answered, so everything acknowledged survives a restart, and a failed write changes and
//! acknowledges nothing.

#![cfg(feature = "redb")]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_codec::coap::{Code, Message, MessageBuilder, Type};
use lwm2m_server::registration::{
    RateLimit, Registrar, RegistrarConfig, RegistrationEvent, RegistrationId, RegistrationResponse,
};
use lwm2m_server::server::Server;
use lwm2m_server::store::{MemoryRegistrationStore, RedbStore, RegistrationStore};
use lwm2m_server::Timestamp;
use lwm2m_transport::udp::UdpEndpoint;
use lwm2m_transport::{Config, Request};

const LINKS: &[u8] = b"</1/0>,</3/0>,</3303/0>";
const NOW: Timestamp = Timestamp::from_unix_secs(1_700_000_000);

fn register(endpoint: &str, lifetime: u32, mid: u16) -> Vec<u8> {
    let query = format!("ep={endpoint}&lt={lifetime}&lwm2m=1.0&b=U");
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, mid);
    b.uri_path("/rd")
        .uri_queries(&query)
        .content_format(40)
        .payload(LINKS);
    b.to_vec().unwrap()
}

fn update(id: RegistrationId, lifetime: u32, mid: u16) -> Vec<u8> {
    let query = format!("lt={lifetime}");
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, mid);
    b.uri_path_segment("rd")
        .uri_path_segment(id.as_str())
        .uri_queries(&query);
    b.to_vec().unwrap()
}

fn peer(n: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 5000 + n))
}

/// No per-source Register limit: every test client has the same IP address.
fn unlimited() -> RegistrarConfig {
    RegistrarConfig {
        register_rate_limit: None,
        ..RegistrarConfig::default()
    }
}

/// Endpoint name → (id, lifetime) of every registration the registrar holds.
fn contents(registrar: &Registrar) -> BTreeMap<String, (RegistrationId, u32)> {
    registrar
        .registrations()
        .iter()
        .map(|r| (r.endpoint().to_owned(), (r.id(), r.lifetime())))
        .collect()
}

#[test]
fn what_a_batch_acknowledged_is_in_the_store_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registrations.redb");
    let mut acknowledged = BTreeMap::new();
    {
        let mut registrar = Registrar::builder()
            .config(unlimited())
            .store(RedbStore::open(&path).unwrap())
            .seed([3; 32])
            .build(NOW)
            .unwrap();
        // 40 Registers in one batch, 3 of them re-registrations of an endpoint earlier in it.
        let bytes: Vec<Vec<u8>> = (0..40u16)
            .map(|n| register(&format!("node{}", n % 37), 600, n))
            .collect();
        let messages: Vec<Message<'_>> = bytes.iter().map(|b| Message::parse(b).unwrap()).collect();
        let answers = registrar.handle_request_batch(
            NOW,
            messages
                .iter()
                .enumerate()
                .map(|(n, m)| (peer(n as u16), m)),
        );
        assert_eq!(answers.len(), 40);
        for (n, answer) in answers.iter().enumerate() {
            assert_eq!(answer.code(), Code::CREATED, "request {n}");
            acknowledged.insert(format!("node{}", n % 37), (answer.location().unwrap(), 600));
        }
        assert_eq!(contents(&registrar), acknowledged);

        // A second batch: Updates of ten of them (new lifetime) and an unknown location.
        let later = NOW + Duration::from_secs(5);
        let targets: Vec<(String, RegistrationId)> = acknowledged
            .iter()
            .take(10)
            .map(|(ep, (id, _))| (ep.clone(), *id))
            .collect();
        let mut bytes: Vec<Vec<u8>> = targets
            .iter()
            .enumerate()
            .map(|(n, (_, id))| update(*id, 900, 100 + n as u16))
            .collect();
        bytes.push(update("zzzzzzzz".parse().unwrap(), 900, 200));
        let messages: Vec<Message<'_>> = bytes.iter().map(|b| Message::parse(b).unwrap()).collect();
        let answers = registrar.handle_request_batch(later, messages.iter().map(|m| (peer(1), m)));
        let codes: Vec<Code> = answers.iter().map(RegistrationResponse::code).collect();
        assert_eq!(&codes[..10], &[Code::CHANGED; 10]);
        assert_eq!(codes[10], Code::NOT_FOUND);
        for (ep, _) in &targets {
            acknowledged.get_mut(ep).unwrap().1 = 900;
        }
        // Every acknowledged change produced its event once the batch was stored.
        let mut registered = 0;
        let mut updated = 0;
        while let Some(event) = registrar.poll_event() {
            match event {
                RegistrationEvent::Registered { .. } => registered += 1,
                RegistrationEvent::Updated { .. } => updated += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((registered, updated), (40, 10));
    } // the server stops without any shutdown step

    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.registration_count().unwrap(), 37);
    let registrar = Registrar::builder().store(store).build(NOW).unwrap();
    assert_eq!(contents(&registrar), acknowledged);
}

#[test]
fn a_batch_the_store_refuses_changes_nothing_and_acknowledges_nothing() {
    let store = MemoryRegistrationStore::new();
    let mut registrar = Registrar::builder()
        .config(unlimited())
        .store(store.clone())
        .seed([4; 32])
        .build(NOW)
        .unwrap();
    let first = register("keeper", 300, 1);
    let answer = registrar.handle_request(NOW, peer(0), &Message::parse(&first).unwrap());
    let id = answer.location().unwrap();
    while registrar.poll_event().is_some() {}
    let before = contents(&registrar);

    store.fail_writes(true);
    let bytes = [
        register("a", 300, 2),
        update(id, 77, 3),
        register("keeper", 60, 4), // would replace the stored registration
        register("b", 300, 5),
        // Refused on its own merits (no links): stays a 4.00, not a 5.00.
        {
            let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, 6);
            b.uri_path("/rd").uri_queries("ep=c");
            b.to_vec().unwrap()
        },
    ];
    let messages: Vec<Message<'_>> = bytes.iter().map(|b| Message::parse(b).unwrap()).collect();
    let answers = registrar.handle_request_batch(NOW, messages.iter().map(|m| (peer(1), m)));
    let codes: Vec<Code> = answers.iter().map(RegistrationResponse::code).collect();
    assert_eq!(
        codes,
        [
            Code::INTERNAL_SERVER_ERROR,
            Code::INTERNAL_SERVER_ERROR,
            Code::INTERNAL_SERVER_ERROR,
            Code::INTERNAL_SERVER_ERROR,
            Code::BAD_REQUEST
        ]
    );
    assert!(answers[..4].iter().all(|a| a.refusal().is_some()));
    assert_eq!(
        contents(&registrar),
        before,
        "the table is as before the batch"
    );
    assert_eq!(
        registrar
            .registrations()
            .by_endpoint("keeper")
            .unwrap()
            .peer(),
        peer(0)
    );
    assert!(
        registrar.poll_event().is_none(),
        "no event for an unstored change"
    );
    let stats = registrar.stats();
    assert_eq!((stats.registered, stats.updated), (1, 0));
    assert_eq!(stats.store_errors, 4);

    // The store is back: the same batch now goes through, in one write.
    store.fail_writes(false);
    let answers = registrar.handle_request_batch(NOW, messages.iter().map(|m| (peer(1), m)));
    let codes: Vec<Code> = answers.iter().map(RegistrationResponse::code).collect();
    assert_eq!(
        codes,
        [
            Code::CREATED,
            Code::CHANGED,
            Code::CREATED,
            Code::CREATED,
            Code::BAD_REQUEST
        ]
    );
    let mut reloaded = store.clone();
    let stored = reloaded.load().unwrap().registrations;
    assert_eq!(
        stored.len(),
        3,
        "a, b and the new keeper; the replaced one is gone"
    );
    assert!(stored.iter().all(|r| r.id() != id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations_over_udp_are_all_persisted() {
    const CLIENTS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registrations.redb");
    let config = RegistrarConfig {
        // Every client shares 127.0.0.1: the per-source limit is raised as behind a NAT.
        register_rate_limit: Some(RateLimit {
            burst: 1_000,
            ..RateLimit::default()
        }),
        ..RegistrarConfig::default()
    };
    let server = Server::builder()
        .registrar(
            Registrar::builder()
                .config(config)
                .store(RedbStore::open(&path).unwrap()),
        )
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
                let query = format!("ep=fleet{n:04}&lt=3600");
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
                (format!("fleet{n:04}"), id)
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
    assert_eq!(acknowledged.len(), CLIENTS);
    client.close().await;
    server.shutdown().await;

    // Another process opening the file would see exactly what was acknowledged.
    let mut store = RedbStore::open(&path).unwrap();
    let stored: BTreeMap<String, String> = store
        .load()
        .unwrap()
        .registrations
        .iter()
        .map(|r| (r.endpoint().to_owned(), r.id().as_str().to_owned()))
        .collect();
    assert_eq!(stored, acknowledged);
}
