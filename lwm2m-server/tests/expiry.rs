//! Expiry on virtual time: lifetime plus grace period, Updates restarting the lifetime,
//! deadlines in order, and Updates arriving after the deadline.

mod common;

use core::time::Duration;

use common::{addr, Harness};
use lwm2m_codec::coap::Code;
use lwm2m_server::registration::{Registrar, RegistrarConfig, RegistrationEvent};

fn expired(h: &mut Harness) -> Vec<String> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            RegistrationEvent::Expired { registration } => Some(registration.endpoint().to_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_registration_expires_after_lifetime_plus_grace() {
    let mut h = Harness::new();
    let grace = h.registrar.config().expiry_grace;
    assert_eq!(grace, Duration::from_secs(93));
    let id = h.register(addr("10.0.0.1:5683"), "node1", 300);
    h.events();
    let deadline = h.now + Duration::from_secs(300) + grace;
    assert_eq!(h.registrar.poll_timeout(), Some(deadline));

    h.advance(300 + 92);
    assert!(
        h.registrar.get(id).is_some(),
        "still within the grace period"
    );
    assert!(expired(&mut h).is_empty());
    h.advance(1);
    assert_eq!(h.now, deadline);
    assert!(h.registrar.get(id).is_none());
    assert_eq!(expired(&mut h), ["node1"]);
    assert_eq!(h.registrar.poll_timeout(), None);
    assert_eq!(h.registrar.stats().expired, 1);
}

#[test]
fn updates_restart_the_lifetime() {
    let mut h = Harness::new();
    let peer = addr("10.0.0.1:5683");
    let id = h.register(peer, "node1", 60);
    for _ in 0..10 {
        h.advance(50);
        assert_eq!(h.update(peer, id, "").code(), Code::CHANGED);
    }
    assert!(h.registrar.get(id).is_some());
    // A longer lifetime takes effect at once.
    assert_eq!(h.update(peer, id, "lt=1000").code(), Code::CHANGED);
    h.advance(1000);
    assert!(h.registrar.get(id).is_some());
    h.advance(93);
    assert!(h.registrar.get(id).is_none());
    assert_eq!(expired(&mut h), ["node1"]);
}

#[test]
fn an_update_after_the_deadline_finds_nothing_even_without_a_timer() {
    let mut h = Harness::new();
    let peer = addr("10.0.0.1:5683");
    let id = h.register(peer, "node1", 60);
    h.events();
    // Time passes but the driver never calls handle_timeout.
    h.now = h.now + Duration::from_secs(60 + 93);
    let answer = h.update(peer, id, "");
    assert_eq!(answer.code(), Code::NOT_FOUND);
    assert_eq!(expired(&mut h), ["node1"]);
    // The client registers again, as it must after 4.04.
    let again = h.register(peer, "node1", 60);
    assert_ne!(again, id);
}

#[test]
fn many_registrations_expire_in_deadline_order() {
    let mut h = Harness::with(Registrar::builder().config(RegistrarConfig {
        expiry_grace: Duration::ZERO,
        register_rate_limit: None,
        ..RegistrarConfig::default()
    }));
    // Lifetimes 1000, 999, ..., 901 s, registered at the same instant.
    for n in 0..100u32 {
        h.register(addr("10.0.0.1:5683"), &format!("ep{n:03}"), 1000 - n);
    }
    h.events();
    h.advance(950);
    let first: Vec<String> = expired(&mut h);
    assert_eq!(first.len(), 50);
    let expected: Vec<String> = (51..100).rev().map(|n| format!("ep{n:03}")).collect();
    assert_eq!(first[..49], expected[..], "earliest deadline first");
    assert_eq!(h.registrar.registrations().len(), 50);
    h.advance(50);
    assert_eq!(expired(&mut h).len(), 50);
    assert!(h.registrar.registrations().is_empty());
}

#[test]
fn zero_grace_and_custom_grace() {
    for grace in [0, 5, 600] {
        let mut h = Harness::with(Registrar::builder().config(RegistrarConfig {
            expiry_grace: Duration::from_secs(grace),
            ..RegistrarConfig::default()
        }));
        let id = h.register(addr("10.0.0.1:5683"), "node1", 30);
        h.advance(30 + grace - 1);
        assert!(h.registrar.get(id).is_some(), "grace {grace}");
        h.advance(1);
        assert!(h.registrar.get(id).is_none(), "grace {grace}");
    }
}
