//! Durability: registrations, observations and bootstrap configurations survive a restart (drop
//! everything, reopen the same redb file), registrations that expired while the server was down
//! are removed at start-up, and damaged or duplicate records are handled.
#![cfg(feature = "redb")]

mod common;

use core::time::Duration;

use common::{addr, Harness, Req, START};
use lwm2m_codec::coap::Code;
use lwm2m_model::RegisterParams;
use lwm2m_server::registration::{
    CompactObjectLinks, Registrar, RegistrarConfig, Registration, RegistrationEvent, RegistrationId,
};
use lwm2m_server::store::{
    Durability, MemoryRegistrationStore, RedbStore, RegistrationChange, RegistrationStore,
};
use lwm2m_server::Timestamp;

fn config() -> RegistrarConfig {
    RegistrarConfig {
        register_rate_limit: None,
        ..RegistrarConfig::default()
    }
}

fn sorted(registrar: &Registrar) -> Vec<Registration> {
    let mut all: Vec<Registration> = registrar.registrations().iter().cloned().collect();
    all.sort_by(|a, b| a.endpoint().cmp(b.endpoint()));
    all
}

#[test]
fn every_registration_survives_a_restart_on_redb() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.redb");
    let (before, now, gone) = {
        let store = RedbStore::open(&path).unwrap();
        let mut h = Harness::with(Registrar::builder().config(config()).store(store));
        let mut ids = Vec::new();
        for n in 0..60u16 {
            let peer = addr(&format!("10.0.{}.{}:{}", n / 200, n % 200 + 1, 5683 + n));
            let query = format!("ep=urn:dev:{n:04}&lt={}&b=UQ&apn=x{n}", 600 + u32::from(n));
            let payload = format!(r#"</>;ct=11543,</1/0>,</3/0>,</3303>;ver="1.1",</3303/{n}>"#);
            let answer = h.send(peer, &Req::register(&query, payload.as_bytes()));
            assert_eq!(answer.code(), Code::CREATED);
            ids.push((answer.id(), peer));
        }
        h.advance(100);
        // Some Update (new address, parameters and links), some de-register, one re-registers.
        for (id, peer) in &ids[..10] {
            let moved = addr(&format!("[2001:db8::{}]:7000", peer.port()));
            let location = format!("/rd/{id}");
            let req = Req {
                queries: vec!["lt=5000", "sms=4912345"],
                content_format: Some(40),
                payload: b"</1/0>,</3/0>,</5>",
                ..Req::new(Code::POST, &location)
            };
            assert_eq!(h.send(moved, &req).code(), Code::CHANGED);
        }
        let mut gone = Vec::new();
        for (id, peer) in &ids[10..20] {
            assert_eq!(h.deregister(*peer, *id).code(), Code::DELETED);
            gone.push(*id);
        }
        let again = h.register(addr("10.9.9.9:1"), "urn:dev:0020", 900);
        gone.push(ids[20].0);
        assert_ne!(again, ids[20].0);
        (sorted(&h.registrar), h.now, gone)
    }; // registrar and database closed here

    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.registration_count().unwrap(), 50);
    let mut registrar = Registrar::builder()
        .config(config())
        .store(store)
        .seed([9; 32])
        .build(now)
        .unwrap();
    let after = sorted(&registrar);
    assert_eq!(after.len(), 50);
    assert_eq!(after, before, "every field of every registration is back");
    for id in gone {
        assert!(registrar.get(id).is_none());
    }
    assert!(registrar.poll_event().is_none(), "nothing expired");
    assert_eq!(registrar.stats().unreadable_records, 0);

    // The restored registrations work: an Update on an old location, and expiry on time.
    let first = &after[0];
    let path_text = format!("/rd/{}", first.id());
    let bytes = Req::new(Code::POST, &path_text).bytes(7);
    let msg = lwm2m_codec::coap::Message::parse(&bytes).unwrap();
    let answer = registrar.handle_request(now, first.peer(), &msg);
    assert_eq!(answer.code(), Code::CHANGED);
    assert!(registrar.poll_timeout().is_some());
}

#[test]
fn registrations_that_expired_during_downtime_are_removed_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.redb");
    {
        let mut store = RedbStore::open(&path).unwrap();
        store.set_durability(Durability::Eventual);
        let mut h = Harness::with(Registrar::builder().config(config()).store(store));
        h.register(addr("10.0.0.1:1"), "short", 60);
        h.register(addr("10.0.0.2:1"), "long", 86_400);
    }
    // The server comes back an hour later.
    let later = START + Duration::from_secs(3600);
    let mut registrar = Registrar::builder()
        .config(config())
        .store(RedbStore::open(&path).unwrap())
        .seed([1; 32])
        .build(later)
        .unwrap();
    assert!(registrar.by_endpoint("short").is_none());
    assert!(registrar.by_endpoint("long").is_some());
    match registrar.poll_event() {
        Some(RegistrationEvent::Expired { registration }) => {
            assert_eq!(registration.endpoint(), "short");
        }
        other => panic!("unexpected {other:?}"),
    }
    drop(registrar);
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(
        store.registration_count().unwrap(),
        1,
        "the expired record is gone"
    );
}

#[test]
fn memory_store_clones_share_state_like_a_surviving_store() {
    let store = MemoryRegistrationStore::new();
    let id = {
        let mut h = Harness::with(Registrar::builder().store(store.clone()));
        h.register(addr("10.0.0.1:1"), "node1", 300)
    };
    assert_eq!(store.len(), 1);
    assert!(store.record(id.as_str()).is_some());
    let registrar = Registrar::builder()
        .store(store.clone())
        .seed([3; 32])
        .build(START)
        .unwrap();
    assert_eq!(registrar.get(id).unwrap().endpoint(), "node1");
}

fn registration(id: &str, endpoint: &str, at: Timestamp) -> Registration {
    Registration::new(
        RegistrationId::parse(id).unwrap(),
        RegisterParams::new(endpoint).unwrap(),
        CompactObjectLinks::parse(b"</3/0>", 8).unwrap(),
        addr("10.0.0.1:1"),
        at,
    )
}

#[test]
fn unreadable_and_duplicate_records() {
    let store = MemoryRegistrationStore::new();
    let older = registration("old1", "node1", START);
    let newer = registration("new1", "node1", START + Duration::from_secs(5));
    let other = registration("other", "node2", START);
    store
        .clone()
        .apply(&[
            RegistrationChange::Put(&older),
            RegistrationChange::Put(&newer),
            RegistrationChange::Put(&other),
        ])
        .unwrap();
    store.insert_raw("garbage", vec![1, 0xFF, 0xFF]);
    store.insert_raw("future", vec![9, 1, 2, 3]);
    let registrar = Registrar::builder()
        .store(store.clone())
        .seed([3; 32])
        .build(START + Duration::from_secs(10))
        .unwrap();
    assert_eq!(registrar.stats().unreadable_records, 2);
    assert_eq!(registrar.registrations().len(), 2);
    assert_eq!(registrar.by_endpoint("node1").unwrap().id(), newer.id());
    assert!(
        store.record("old1").is_none(),
        "the older duplicate was removed"
    );
    assert!(
        store.record("garbage").is_some(),
        "unreadable records are left alone"
    );
}

fn observation(reg: &str, token: u64, path: &str) -> lwm2m_server::store::Observation {
    lwm2m_server::store::Observation {
        registration: reg.parse().unwrap(),
        token: lwm2m_codec::coap::Token::from_u64(token),
        path: path.parse().unwrap(),
        content_format: token.is_multiple_of(2).then_some(11543),
        created_at: START + Duration::from_millis(token),
    }
}

#[test]
fn observations_and_bootstrap_configs_survive_a_restart_on_redb() {
    use lwm2m_codec::coap::Token;
    use lwm2m_model::{Node, ObjectInstance, Path, Resource};
    use lwm2m_server::store::{BootstrapConfig, BootstrapConfigStore, ObservationStore};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.redb");
    let config = BootstrapConfig {
        delete: vec![Path::ROOT],
        writes: vec![(
            "/1/0".parse().unwrap(),
            Node::from(ObjectInstance::with_resources(
                0,
                [Resource::single(0, 101), Resource::single(1, 300)],
            )),
        )],
    };
    let mut before = Vec::new();
    {
        let mut store = RedbStore::open(&path).unwrap();
        for (reg, count) in [("abc", 20u64), ("abd", 3), ("ab", 2)] {
            for t in 0..count {
                let o = observation(reg, t, &format!("/3/0/{t}"));
                assert_eq!(ObservationStore::put(&mut store, o.clone()).unwrap(), None);
                before.push(o);
            }
        }
        let replaced = observation("abd", 1, "/4/0");
        assert_eq!(
            ObservationStore::put(&mut store, replaced.clone()).unwrap(),
            Some(observation("abd", 1, "/3/0/1"))
        );
        before.retain(|o| !(o.registration.as_str() == "abd" && o.token == Token::from_u64(1)));
        before.push(replaced);
        assert_eq!(
            BootstrapConfigStore::put(&mut store, "node1", config.clone()).unwrap(),
            None
        );
    } // the database is closed here

    let mut store = RedbStore::open(&path).unwrap();
    let mut after = Vec::new();
    for reg in ["abc", "abd", "ab"] {
        after.extend(store.list(reg.parse().unwrap()).unwrap());
    }
    let key = |o: &lwm2m_server::store::Observation| {
        (
            o.registration.as_str().to_owned(),
            o.token.as_slice().to_vec(),
        )
    };
    after.sort_by_key(key);
    before.sort_by_key(key);
    assert_eq!(after, before, "every observation is back, field for field");
    // "ab" is a prefix of "abc" and "abd": ranges must not bleed into each other.
    assert_eq!(store.list("ab".parse().unwrap()).unwrap().len(), 2);
    assert_eq!(
        ObservationStore::get(&store, "abd".parse().unwrap(), &Token::from_u64(1)).unwrap(),
        Some(observation("abd", 1, "/4/0"))
    );
    assert_eq!(
        BootstrapConfigStore::get(&store, "node1").unwrap(),
        Some(config.clone())
    );

    // Removals are durable too.
    assert_eq!(store.remove_all("abc".parse().unwrap()).unwrap().len(), 20);
    assert!(
        ObservationStore::remove(&mut store, "ab".parse().unwrap(), &Token::from_u64(0))
            .unwrap()
            .is_some()
    );
    assert_eq!(
        BootstrapConfigStore::remove(&mut store, "node1").unwrap(),
        Some(config)
    );
    drop(store);
    let store = RedbStore::open(&path).unwrap();
    assert!(store.list("abc".parse().unwrap()).unwrap().is_empty());
    assert_eq!(store.list("ab".parse().unwrap()).unwrap().len(), 1);
    assert_eq!(store.list("abd".parse().unwrap()).unwrap().len(), 3);
    assert_eq!(BootstrapConfigStore::get(&store, "node1").unwrap(), None);
}
