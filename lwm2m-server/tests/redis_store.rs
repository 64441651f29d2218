//! `RedisStore` against a real Redis: every test starts its own `redis-server` on a free
//! loopback port (killed when the test ends), so tests run in parallel without sharing state.
//! A missing `redis-server` fails the test: `cargo xtask install` installs it.
#![cfg(feature = "redis")]

mod common;
mod redis_server;

use common::{addr, Harness, Req, START};
use lwm2m_codec::coap::{Code, Message, Token};
use lwm2m_model::{Node, ObjectInstance, Path, Resource};
use lwm2m_server::registration::{
    Registrar, RegistrarConfig, Registration, RegistrationEvent, RegistrationId,
};
use lwm2m_server::store::{
    encode_credential, BootstrapConfig, BootstrapConfigStore, Credential, CredentialStore,
    Observation, ObservationStore, RecordError, RedisStore, RegistrationStore, SecurityInfo,
    StoreError,
};
use lwm2m_server::Timestamp;
use redis_server::RedisServer;

impl RedisServer {
    fn store(&self) -> RedisStore {
        RedisStore::open(&self.url()).unwrap()
    }

    /// A raw connection, to write what no store would.
    fn raw(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

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

fn build(store: RedisStore, seed: u8, now: Timestamp) -> Registrar {
    Registrar::builder()
        .config(config())
        .store(store)
        .seed([seed; 32])
        .build(now)
        .unwrap()
}

#[test]
fn registrations_survive_a_server_restart() {
    let redis = RedisServer::start();
    let (before, now, gone, again) = {
        let mut h = Harness::with(Registrar::builder().config(config()).store(redis.store()));
        let mut ids = Vec::new();
        for n in 0..40u16 {
            let peer = addr(&format!("10.0.0.{}:{}", n + 1, 5683 + n));
            let query = format!("ep=urn:dev:{n:04}&lt={}&b=UQ&x{n}=y", 600 + u32::from(n));
            let payload = format!(r#"</>;ct=11543,</1/0>,</3/0>,</3303>;ver="1.1",</3303/{n}>"#);
            let answer = h.send(peer, &Req::register(&query, payload.as_bytes()));
            assert_eq!(answer.code(), Code::CREATED);
            ids.push((answer.id(), peer));
        }
        h.advance(100);
        for (id, peer) in &ids[..10] {
            let moved = addr(&format!("[2001:db8::{}]:7000", peer.port()));
            assert_eq!(
                h.update(moved, *id, "lt=5000&sms=4912345").code(),
                Code::CHANGED
            );
        }
        let mut gone = Vec::new();
        for (id, peer) in &ids[10..15] {
            assert_eq!(h.deregister(*peer, *id).code(), Code::DELETED);
            gone.push(*id);
        }
        // A new Register of an endpoint replaces its registration (Remove + Put in one apply).
        let again = h.register(addr("10.9.9.9:1"), "urn:dev:0015", 900);
        gone.push(ids[15].0);
        (sorted(&h.registrar), h.now, gone, again)
    }; // the registrar and its connection are gone: the "server" stopped

    let mut registrar = build(redis.store(), 9, now);
    let after = sorted(&registrar);
    assert_eq!(after.len(), 35);
    assert_eq!(after, before, "every field of every registration is back");
    assert!(registrar.poll_event().is_none(), "nothing expired");
    assert_eq!(registrar.stats().unreadable_records, 0);
    for (a, b) in after.iter().zip(&before) {
        assert_eq!(a.id(), b.id());
        assert_eq!(a.expires_at(), b.expires_at(), "{}", a.endpoint());
    }
    let grace = config().expiry_grace;
    let first_deadline = after.iter().map(Registration::expires_at).min().unwrap();
    assert_eq!(
        registrar.poll_timeout(),
        Some(first_deadline + grace),
        "the next expiry deadline is the stored one"
    );
    let store = redis.store();
    for id in &gone {
        assert!(registrar.get(*id).is_none());
    }
    // The endpoint index follows every change.
    for r in &after {
        assert_eq!(store.registration_id(r.endpoint()).unwrap(), Some(r.id()));
    }
    assert_eq!(store.registration_id("urn:dev:0015").unwrap(), Some(again));
    assert_eq!(store.registration_id("urn:dev:0010").unwrap(), None);

    // The restored deadlines fire on time.
    registrar.handle_timeout(first_deadline + grace);
    match registrar.poll_event() {
        Some(RegistrationEvent::Expired { registration }) => {
            assert_eq!(registration.expires_at(), first_deadline);
            assert_eq!(
                store.registration_id(registration.endpoint()).unwrap(),
                None,
                "the expiry reached Redis"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn two_registrars_on_one_redis_see_each_others_registrations() {
    let redis = RedisServer::start();
    // Two nodes, each with its own registrar, connection and id generator.
    let mut a = build(redis.store(), 5, START);
    let mut b = build(redis.store(), 6, START);
    let id_a = register(&mut a, "10.0.0.1:1", "node-a");
    let id_b = register(&mut b, "10.0.0.2:1", "node-b");
    assert_ne!(id_a, id_b);
    // Either node, (re)starting, loads both.
    for seed in [1, 2] {
        let registrar = build(redis.store(), seed, START);
        assert_eq!(registrar.by_endpoint("node-a").unwrap().id(), id_a);
        assert_eq!(registrar.by_endpoint("node-b").unwrap().id(), id_b);
    }
    // A de-registration on one node is seen by the next load.
    let location = format!("/rd/{id_b}");
    let bytes = Req::new(Code::DELETE, &location).bytes(2);
    let answer = b.handle_request(START, addr("10.0.0.2:1"), &Message::parse(&bytes).unwrap());
    assert_eq!(answer.code(), Code::DELETED);
    let registrar = build(redis.store(), 3, START);
    assert!(registrar.by_endpoint("node-b").is_none());
    assert_eq!(registrar.registrations().len(), 1);

    // Another key prefix is another deployment: it sees nothing of these.
    let other = build(redis.store().with_prefix("site-b"), 4, START);
    assert_eq!(other.registrations().len(), 0);
}

fn register(registrar: &mut Registrar, peer: &str, endpoint: &str) -> RegistrationId {
    let query = format!("ep={endpoint}&lt=300");
    let bytes = Req::register(&query, b"</1/0>,</3/0>").bytes(1);
    let answer = registrar.handle_request(START, addr(peer), &Message::parse(&bytes).unwrap());
    assert_eq!(answer.code(), Code::CREATED);
    answer.location().unwrap()
}

fn observation(reg: &str, token: u64, path: &str) -> Observation {
    Observation {
        registration: reg.parse().unwrap(),
        token: Token::from_u64(token),
        path: path.parse().unwrap(),
        content_format: Some(11542),
        created_at: Timestamp::from_unix_millis(1_700_000_000_000 + token),
    }
}

#[test]
fn observations_round_trip() {
    let redis = RedisServer::start();
    let mut store = redis.store();
    let reg: RegistrationId = "abc".parse().unwrap();
    let other: RegistrationId = "def".parse().unwrap();
    assert_eq!(
        ObservationStore::put(&mut store, observation("abc", 1, "/3/0/9")).unwrap(),
        None
    );
    assert_eq!(
        ObservationStore::put(&mut store, observation("abc", 2, "/3303/0")).unwrap(),
        None
    );
    assert_eq!(
        ObservationStore::put(&mut store, observation("def", 1, "/4")).unwrap(),
        None
    );
    assert_eq!(
        ObservationStore::put(&mut store, observation("abc", 1, "/3/0/8")).unwrap(),
        Some(observation("abc", 1, "/3/0/9")),
        "a put returns what it replaced"
    );
    // A second node reads what the first wrote.
    let mut node2 = store.try_clone().unwrap();
    assert_eq!(
        ObservationStore::get(&node2, reg, &Token::from_u64(1)).unwrap(),
        Some(observation("abc", 1, "/3/0/8"))
    );
    let mut listed = node2.list(reg).unwrap();
    listed.sort_by_key(|o| o.token.as_slice().to_vec());
    assert_eq!(
        listed,
        vec![
            observation("abc", 1, "/3/0/8"),
            observation("abc", 2, "/3303/0")
        ]
    );
    assert_eq!(
        ObservationStore::remove(&mut node2, other, &Token::from_u64(1)).unwrap(),
        Some(observation("def", 1, "/4"))
    );
    assert_eq!(
        ObservationStore::remove(&mut node2, other, &Token::from_u64(1)).unwrap(),
        None
    );
    assert_eq!(store.remove_all(reg).unwrap().len(), 2);
    assert!(store.list(reg).unwrap().is_empty());
    assert!(store.remove_all(reg).unwrap().is_empty());
}

fn psk(endpoint: &str, identity: &str) -> SecurityInfo {
    SecurityInfo {
        endpoint: endpoint.into(),
        credential: Credential::Psk {
            identity: identity.into(),
            key: vec![0xA5; 16],
        },
    }
}

#[test]
fn credentials_and_bootstrap_configs_round_trip() {
    let redis = RedisServer::start();
    let mut store = redis.store();
    assert_eq!(
        CredentialStore::put(&mut store, psk("a", "id-a")).unwrap(),
        None
    );
    let rpk = SecurityInfo {
        endpoint: "b".into(),
        credential: Credential::RawPublicKey {
            public_key: vec![0x30, 0x59, 0x30, 0x13],
        },
    };
    assert_eq!(CredentialStore::put(&mut store, rpk.clone()).unwrap(), None);
    match CredentialStore::put(&mut store, psk("c", "id-a")) {
        Err(StoreError::Conflict(text)) => assert!(text.contains("\"a\""), "{text}"),
        other => panic!("unexpected {other:?}"),
    }
    let mut node2 = store.try_clone().unwrap();
    assert_eq!(
        node2.get_by_psk_identity("id-a").unwrap(),
        Some(psk("a", "id-a"))
    );
    assert_eq!(node2.get_by_endpoint("b").unwrap(), Some(rpk.clone()));
    assert_eq!(node2.get_by_endpoint("c").unwrap(), None);
    // Re-keying frees the old identity.
    assert_eq!(
        CredentialStore::put(&mut node2, psk("a", "id-a2")).unwrap(),
        Some(psk("a", "id-a"))
    );
    assert_eq!(store.get_by_psk_identity("id-a").unwrap(), None);
    assert_eq!(
        CredentialStore::put(&mut store, psk("c", "id-a")).unwrap(),
        None
    );
    assert_eq!(
        CredentialStore::remove(&mut store, "a").unwrap(),
        Some(psk("a", "id-a2"))
    );
    assert_eq!(store.get_by_psk_identity("id-a2").unwrap(), None);
    assert_eq!(CredentialStore::remove(&mut store, "a").unwrap(), None);
    assert_eq!(CredentialStore::remove(&mut store, "b").unwrap(), Some(rpk));

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
    assert_eq!(
        BootstrapConfigStore::put(&mut store, "node1", config.clone()).unwrap(),
        None
    );
    assert_eq!(
        BootstrapConfigStore::get(&node2, "node1").unwrap(),
        Some(config.clone())
    );
    assert_eq!(
        BootstrapConfigStore::put(&mut node2, "node1", BootstrapConfig::default()).unwrap(),
        Some(config)
    );
    assert_eq!(
        BootstrapConfigStore::remove(&mut store, "node1").unwrap(),
        Some(BootstrapConfig::default())
    );
    assert_eq!(BootstrapConfigStore::get(&store, "node1").unwrap(), None);
}

fn rpk(endpoint: &str, spki: &[u8]) -> SecurityInfo {
    SecurityInfo {
        endpoint: endpoint.into(),
        credential: Credential::RawPublicKey {
            public_key: spki.to_vec(),
        },
    }
}

fn key_owner(store: &RedisStore, spki: &[u8]) -> Option<String> {
    store
        .get_by_raw_public_key(spki)
        .unwrap()
        .map(|info| info.endpoint)
}

/// Put and look up across two nodes, duplicates refused, replacement (to another key, to PSK
/// and back) and removal keep the `rpk` index in step.
#[test]
fn raw_public_keys_are_indexed_across_nodes() {
    let redis = RedisServer::start();
    let mut store = redis.store();
    let mut node2 = store.try_clone().unwrap();
    let (k1, k2, k3) = ([0x30, 0x59, 1], [0x30, 0x59, 2], [0x30, 0x59, 3]);
    assert_eq!(
        CredentialStore::put(&mut store, rpk("a", &k1)).unwrap(),
        None
    );
    assert_eq!(
        node2.get_by_raw_public_key(&k1).unwrap(),
        Some(rpk("a", &k1))
    );
    assert_eq!(key_owner(&node2, &k2), None);
    // The index entry: the key in hex, naming the endpoint.
    let owner: Option<String> = redis::cmd("GET")
        .arg("lwm2m:rpk:305901")
        .query(&mut redis.raw())
        .unwrap();
    assert_eq!(owner.as_deref(), Some("a"));
    assert_eq!(store.raw_public_key_key(&k1), "lwm2m:rpk:305901");

    match CredentialStore::put(&mut node2, rpk("b", &k1)) {
        Err(StoreError::Conflict(text)) => assert!(text.contains("\"a\""), "{text}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(store.get_by_endpoint("b").unwrap(), None);
    assert_eq!(
        CredentialStore::put(&mut node2, rpk("b", &k2)).unwrap(),
        None
    );
    assert_eq!(
        CredentialStore::put(&mut store, rpk("a", &k1)).unwrap(),
        Some(rpk("a", &k1))
    );
    assert_eq!(key_owner(&node2, &k1).as_deref(), Some("a"));

    // Re-keying frees the old key, which another endpoint may then take.
    assert_eq!(
        CredentialStore::put(&mut store, rpk("a", &k3)).unwrap(),
        Some(rpk("a", &k1))
    );
    assert_eq!(key_owner(&node2, &k1), None);
    assert_eq!(
        CredentialStore::put(&mut node2, rpk("b", &k1)).unwrap(),
        Some(rpk("b", &k2))
    );
    assert_eq!(key_owner(&store, &k2), None);
    assert_eq!(key_owner(&store, &k1).as_deref(), Some("b"));

    // RPK -> PSK frees the key, PSK -> RPK the identity.
    assert_eq!(
        CredentialStore::put(&mut store, psk("a", "id-a")).unwrap(),
        Some(rpk("a", &k3))
    );
    assert_eq!(key_owner(&store, &k3), None);
    assert_eq!(
        CredentialStore::put(&mut store, rpk("a", &k3)).unwrap(),
        Some(psk("a", "id-a"))
    );
    assert_eq!(node2.get_by_psk_identity("id-a").unwrap(), None);
    assert_eq!(key_owner(&node2, &k3).as_deref(), Some("a"));

    assert_eq!(
        CredentialStore::remove(&mut node2, "a").unwrap(),
        Some(rpk("a", &k3))
    );
    assert_eq!(key_owner(&store, &k3), None);
    assert_eq!(
        CredentialStore::remove(&mut store, "b").unwrap(),
        Some(rpk("b", &k1))
    );
    assert_eq!(key_owner(&store, &k1), None);
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("lwm2m:rpk:*")
        .query(&mut redis.raw())
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

/// Credentials stored before the index existed are indexed by the first lookup (once, then
/// `rpk-indexed` is set); a stale entry admits nobody and does not block the key.
#[test]
fn older_raw_public_key_credentials_are_indexed_and_stale_entries_ignored() {
    let redis = RedisServer::start();
    let mut raw = redis.raw();
    let (k1, k2, k3) = ([0x30, 0x59, 1], [0x30, 0x59, 2], [0x30, 0x59, 3]);
    for (endpoint, info) in [("old", rpk("old", &k1)), ("psk", psk("psk", "id-psk"))] {
        redis::cmd("SET")
            .arg(format!("site:cred:{endpoint}"))
            .arg(encode_credential(&info.credential))
            .exec(&mut raw)
            .unwrap();
    }
    // An entry for a credential that is gone.
    redis::cmd("SET")
        .arg("site:rpk:305902")
        .arg("gone")
        .exec(&mut raw)
        .unwrap();

    let mut store = redis.store().with_prefix("site");
    assert_eq!(
        store.get_by_raw_public_key(&k1).unwrap(),
        Some(rpk("old", &k1))
    );
    let marker: bool = redis::cmd("EXISTS")
        .arg(store.raw_public_keys_indexed_key())
        .query(&mut raw)
        .unwrap();
    assert!(marker);
    assert_eq!(key_owner(&store, &k2), None);
    assert_eq!(
        CredentialStore::put(&mut store, rpk("new", &k2)).unwrap(),
        None
    );
    assert_eq!(key_owner(&store, &k2).as_deref(), Some("new"));
    // Once indexed, a credential written behind the store's back is not (the index is kept by
    // the stores).
    redis::cmd("SET")
        .arg("site:cred:late")
        .arg(encode_credential(&rpk("late", &k3).credential))
        .exec(&mut raw)
        .unwrap();
    assert_eq!(key_owner(&redis.store().with_prefix("site"), &k3), None);
    // Another prefix is indexed on its own.
    assert_eq!(key_owner(&redis.store(), &k1), None);
}

#[test]
fn garbage_values_are_typed_errors_naming_the_key() {
    let redis = RedisServer::start();
    let mut raw = redis.raw();
    let garbage: &[u8] = &[1, 0xFF, 0xFF, 0xFF];
    let set = |raw: &mut redis::Connection, key: &str, value: &[u8]| {
        redis::cmd("SET").arg(key).arg(value).exec(raw).unwrap();
    };
    set(&mut raw, "lwm2m:reg:garbage", garbage);
    set(&mut raw, "lwm2m:reg:future", &[9, 1, 2]);
    set(&mut raw, "lwm2m:cred:ep1", garbage);
    set(&mut raw, "lwm2m:bs:ep1", &[]);
    redis::cmd("HSET")
        .arg("lwm2m:obs:abc")
        .arg(&[7u8][..])
        .arg(garbage)
        .exec(&mut raw)
        .unwrap();
    // The wrong Redis type under a key.
    redis::cmd("HSET")
        .arg("lwm2m:cred:ep2")
        .arg("f")
        .arg("v")
        .exec(&mut raw)
        .unwrap();

    let mut store = redis.store();
    let mut loaded = store.load().unwrap();
    assert!(loaded.registrations.is_empty());
    loaded.unreadable.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(loaded.unreadable.len(), 2);
    assert_eq!(loaded.unreadable[0].0, "lwm2m:reg:future");
    assert_eq!(
        loaded.unreadable[0].1,
        RecordError::UnsupportedVersion { version: 9 }
    );
    assert_eq!(loaded.unreadable[1].0, "lwm2m:reg:garbage");
    assert!(matches!(loaded.unreadable[1].1, RecordError::Malformed(_)));
    // The registrar counts them and leaves them alone.
    let registrar = build(redis.store(), 1, START);
    assert_eq!(registrar.stats().unreadable_records, 2);
    drop(registrar);
    assert_eq!(store.load().unwrap().unreadable.len(), 2);

    let named = |result: Result<_, StoreError>, expected: &str| match result {
        Err(StoreError::Record { key, .. }) => assert_eq!(key, expected),
        other => panic!("unexpected {other:?}"),
    };
    named(store.get_by_endpoint("ep1").map(drop), "lwm2m:cred:ep1");
    named(
        BootstrapConfigStore::get(&store, "ep1").map(drop),
        "lwm2m:bs:ep1",
    );
    let reg: RegistrationId = "abc".parse().unwrap();
    named(
        ObservationStore::get(&store, reg, &Token::new(&[7]).unwrap()).map(drop),
        "lwm2m:obs:abc",
    );
    named(store.list(reg).map(drop), "lwm2m:obs:abc");
    match store.get_by_endpoint("ep2") {
        Err(e @ StoreError::Backend { .. }) => {
            assert!(e.to_string().contains("read a credential"), "{e}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_redis_that_is_gone_is_a_backend_error() {
    let redis = RedisServer::start();
    let mut store = redis.store();
    drop(redis);
    match store.load() {
        Err(e @ StoreError::Backend { .. }) => {
            assert!(e.to_string().contains("scan registrations"), "{e}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

fn shared_registration(id: &str, at: Timestamp) -> Registration {
    Registration::new(
        RegistrationId::parse(id).unwrap(),
        lwm2m_model::RegisterParams::new("shared").unwrap(),
        lwm2m_server::registration::CompactObjectLinks::parse(b"</3/0>", 8).unwrap(),
        addr("10.0.0.1:1"),
        at,
    )
}

#[test]
fn a_concurrent_removal_never_unindexes_another_nodes_registration() {
    use std::sync::{Arc, Barrier};

    use lwm2m_server::store::RegistrationChange;

    const ROUNDS: u32 = 200;
    let redis = RedisServer::start();
    // Each round: node "a" holds the endpoint's registration and removes it (an expiry) while
    // node "b" registers the endpoint anew. Unindexing is "read the index, delete it if it
    // still names the removed id"; unless that read is watched, "a" can delete the entry "b"
    // just wrote. Whatever the interleaving, the index must end naming b's registration.
    let barrier = Arc::new(Barrier::new(2));
    let node_a = {
        let mut store = redis.store();
        let barrier = Arc::clone(&barrier);
        // No panics between the barriers (the other thread would wait forever): every
        // outcome is collected and checked after the join.
        std::thread::spawn(move || {
            let mut outcomes = Vec::new();
            for n in 0..ROUNDS {
                let mine = shared_registration(&format!("a{n}"), START);
                let put = store.apply(&[RegistrationChange::Put(&mine)]);
                barrier.wait();
                let removed = store.apply(&[RegistrationChange::Remove(mine.id())]);
                barrier.wait();
                let indexed = store.registration_id("shared");
                outcomes.push(format!("round {n}: {put:?} {removed:?} {indexed:?}"));
                barrier.wait();
            }
            outcomes
        })
    };
    let mut store = redis.store();
    let mut previous: Option<Registration> = None;
    for n in 0..ROUNDS {
        let mine = shared_registration(&format!("b{n}"), START);
        let mut changes = Vec::new();
        if let Some(p) = &previous {
            changes.push(RegistrationChange::Remove(p.id()));
        }
        changes.push(RegistrationChange::Put(&mine));
        barrier.wait();
        let applied = store.apply(&changes);
        barrier.wait();
        barrier.wait();
        applied.unwrap();
        previous = Some(mine);
    }
    let outcomes = node_a.join().unwrap();
    for (n, outcome) in outcomes.iter().enumerate() {
        assert_eq!(
            *outcome,
            format!("round {n}: Ok(()) Ok(()) Ok(Some(RegistrationId(b{n})))"),
            "the index names b's registration after every round"
        );
    }
    let loaded = store.load().unwrap();
    let ids: Vec<String> = loaded
        .registrations
        .iter()
        .map(|r| r.id().as_str().to_owned())
        .collect();
    assert_eq!(ids, [format!("b{}", ROUNDS - 1)]);
}
