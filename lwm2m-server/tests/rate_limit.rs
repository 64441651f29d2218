//! Flood protection: a Register flood from one source is limited (5.03 + Max-Age, or 4.29)
//! while other clients register fine, and the source recovers with time.

mod common;

use core::time::Duration;

use common::{addr, Harness, Req};
use lwm2m_codec::coap::Code;
use lwm2m_server::registration::{
    RateLimit, RateLimitKey, RateLimitResponse, Refusal, Registrar, RegistrarConfig,
};

const LINKS: &[u8] = b"</1/0>,</3/0>";

#[test]
fn a_flood_from_one_address_is_limited_while_others_register() {
    let mut h = Harness::with(Registrar::builder().config(RegistrarConfig {
        register_rate_limit: Some(RateLimit {
            burst: 5,
            interval: Duration::from_secs(2),
            ..RateLimit::default()
        }),
        ..RegistrarConfig::default()
    }));
    let flooder = "10.6.6.6";
    let mut created = 0;
    let mut limited = Vec::new();
    for n in 0..1000 {
        // Every request from another port and endpoint name: the key is the IP address.
        let peer = addr(&format!("{flooder}:{}", 10_000 + n));
        let query = format!("ep=flood{n}");
        let answer = h.send(peer, &Req::register(&query, LINKS));
        match answer.code() {
            Code::CREATED => created += 1,
            Code::SERVICE_UNAVAILABLE => limited.push(answer.message().max_age().unwrap().unwrap()),
            other => panic!("unexpected {other:?}"),
        }
        // Interleaved honest clients from their own addresses are never refused.
        if n % 100 == 0 {
            let honest = addr(&format!("10.0.{}.1:5683", n / 100));
            h.register(honest, &format!("honest{n}"), 300);
        }
    }
    assert_eq!(created, 5, "only the burst got through");
    assert_eq!(limited.len(), 995);
    assert!(limited.iter().all(|&max_age| max_age == 2));
    assert_eq!(h.registrar.stats().rate_limited, 995);
    assert_eq!(h.registrar.registrations().len(), 5 + 10);

    // After one interval, one more Register from the flooder is accepted.
    h.advance(2);
    let answer = h.send(addr("10.6.6.6:1"), &Req::register("ep=later", LINKS));
    assert_eq!(answer.code(), Code::CREATED);
    let answer = h.send(addr("10.6.6.6:1"), &Req::register("ep=later2", LINKS));
    assert_eq!(answer.code(), Code::SERVICE_UNAVAILABLE);
}

#[test]
fn updates_and_deregisters_are_not_limited() {
    let mut h = Harness::with(Registrar::builder().config(RegistrarConfig {
        register_rate_limit: Some(RateLimit {
            burst: 1,
            ..RateLimit::default()
        }),
        ..RegistrarConfig::default()
    }));
    let peer = addr("10.0.0.1:5683");
    let id = h.register(peer, "node1", 300);
    for _ in 0..50 {
        assert_eq!(h.update(peer, id, "").code(), Code::CHANGED);
    }
    assert_eq!(h.deregister(peer, id).code(), Code::DELETED);
}

#[test]
fn too_many_requests_and_per_address_keys() {
    let mut h = Harness::with(Registrar::builder().config(RegistrarConfig {
        register_rate_limit: Some(RateLimit {
            burst: 1,
            interval: Duration::from_millis(10_500),
            key: RateLimitKey::Address,
            response: RateLimitResponse::TooManyRequests,
            ..RateLimit::default()
        }),
        ..RegistrarConfig::default()
    }));
    assert_eq!(
        h.send(addr("10.0.0.1:1"), &Req::register("ep=a", LINKS))
            .code(),
        Code::CREATED
    );
    let answer = h.send(addr("10.0.0.1:1"), &Req::register("ep=b", LINKS));
    assert_eq!(answer.code_str(), "4.29");
    assert_eq!(answer.message().max_age(), Ok(Some(11)), "rounded up");
    assert!(matches!(
        answer.response.refusal(),
        Some(Refusal::RateLimited { .. })
    ));
    // Another port of the same host is another source under this key.
    assert_eq!(
        h.send(addr("10.0.0.1:2"), &Req::register("ep=b", LINKS))
            .code(),
        Code::CREATED
    );
}

#[test]
fn no_limit_when_disabled() {
    let mut h = Harness::with(Registrar::builder().config(RegistrarConfig {
        register_rate_limit: None,
        ..RegistrarConfig::default()
    }));
    for n in 0..200 {
        h.register(addr("10.0.0.1:5683"), &format!("ep{n}"), 60);
    }
    assert_eq!(h.registrar.registrations().len(), 200);
}
