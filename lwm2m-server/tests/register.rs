//! Register, Update and De-register behaviour: validation and codes (digest §8, §11),
//! re-registration, identity checks, methods and a failing store.

mod common;

use common::{addr, Harness, Req};
use lwm2m_codec::coap::{Code, Type};
use lwm2m_server::registration::{
    IdentityVerdict, Refusal, Registrar, RegistrarConfig, RegistrationEvent, RegistrationOperation,
    UnknownParameters,
};
use lwm2m_server::store::MemoryRegistrationStore;

const LINKS: &[u8] = b"</1/0>,</3/0>";

fn register_code(h: &mut Harness, query: &str, payload: &[u8]) -> String {
    h.send(addr("10.0.0.1:5683"), &Req::register(query, payload))
        .code_str()
}

#[test]
fn malformed_registers_get_bad_request() {
    let mut h = Harness::new();
    let cases: &[(&str, &[u8])] = &[
        ("lt=300&lwm2m=1.0&b=U", LINKS),           // missing ep
        ("ep=&lt=300", LINKS),                     // empty ep
        ("ep=a&lt=0", LINKS),                      // lifetime 0
        ("ep=a&lt=abc", LINKS),                    // not a number
        ("ep=a&lt=-1", LINKS),                     // negative
        ("ep=a&lt=4294967296", LINKS),             // past u32
        ("ep=a&lt", LINKS),                        // no value
        ("ep=a&lt=30&lt=60", LINKS),               // duplicate
        ("ep=a&b=X", LINKS),                       // unknown binding
        ("ep=a&b=UQSQ", LINKS),                    // invalid 1.0 binding
        ("ep=a&b=u", LINKS),                       // lower case
        ("ep=a&sms=+447700900123", LINKS),         // MSISDN with '+'
        ("ep=a&lwm2m=one", LINKS),                 // bad version
        ("ep=a", b"</1/0"),                        // unterminated link
        ("ep=a", b"1/0,3/0"),                      // not link-format
        ("ep=a", b"</1>;ver=x,</1/0>"),            // bad ver
        ("ep=a", b"</1/0>,</3/0/1>"),              // a resource link
        ("ep=a", b"</1/0>,</65535>"),              // the reserved id
        ("ep=a", b"</1>;rt=\"oma.lwm2m\",</1/0>"), // numeric alternate root
        ("ep=a", b"\xff\xfe"),                     // not UTF-8
        ("ep=a", b""),                             // no object links
    ];
    for (i, (query, payload)) in cases.iter().enumerate() {
        // One source per case, so the per-source Register rate limit stays out of the way.
        let peer = addr(&format!("10.0.{i}.1:5683"));
        assert_eq!(
            h.send(peer, &Req::register(query, payload)).code_str(),
            "4.00",
            "{query} {:?}",
            String::from_utf8_lossy(payload)
        );
    }
    assert!(h.registrar.registrations().is_empty());
    assert!(h.events().is_empty());
    assert_eq!(h.registrar.stats().refused, cases.len() as u64);
}

#[test]
fn wrong_content_format_is_bad_request_and_a_missing_one_is_link_format() {
    let mut h = Harness::new();
    for cf in [0, 42, 11542, 11543] {
        let req = Req {
            content_format: Some(cf),
            ..Req::register("ep=a&lt=60", LINKS)
        };
        let answer = h.send(addr("10.0.0.1:5683"), &req);
        assert_eq!(answer.code(), Code::BAD_REQUEST, "cf {cf}");
        assert!(matches!(
            answer.response.refusal(),
            Some(Refusal::ContentFormat(c)) if *c == cf
        ));
    }
    let req = Req {
        content_format: None,
        ..Req::register("ep=a&lt=60", LINKS)
    };
    assert_eq!(h.send(addr("10.0.0.1:5683"), &req).code(), Code::CREATED);
}

#[test]
fn unsupported_lwm2m_versions_get_precondition_failed() {
    let mut h = Harness::new();
    assert_eq!(register_code(&mut h, "ep=a&lwm2m=1.1", LINKS), "4.12");
    assert_eq!(register_code(&mut h, "ep=a&lwm2m=2.0", LINKS), "4.12");
    assert_eq!(register_code(&mut h, "ep=a&lwm2m=0.9", LINKS), "4.12");
    assert_eq!(register_code(&mut h, "ep=a&lwm2m=1.0", LINKS), "2.01");
    assert_eq!(
        register_code(&mut h, "ep=b", LINKS),
        "2.01",
        "lwm2m defaults to 1.0"
    );
}

#[test]
fn unknown_parameters_are_kept_or_rejected() {
    let mut h = Harness::new();
    let answer = h.send(
        addr("10.0.0.1:5683"),
        &Req::register("ep=a&lt=60&apn=internet&flag", LINKS),
    );
    assert_eq!(answer.code(), Code::CREATED);
    let reg = h.registrar.get(answer.id()).unwrap();
    assert_eq!(
        reg.additional_parameters().collect::<Vec<_>>(),
        [("apn", Some("internet")), ("flag", None)]
    );
    let many = "ep=b&p1&p2&p3&p4&p5&p6&p7&p8&p9";
    assert_eq!(register_code(&mut h, many, LINKS), "4.00");

    let mut strict = Harness::with(Registrar::builder().config(RegistrarConfig {
        unknown_parameters: UnknownParameters::Reject,
        ..RegistrarConfig::default()
    }));
    assert_eq!(
        register_code(&mut strict, "ep=a&apn=internet", LINKS),
        "4.00"
    );
    assert_eq!(register_code(&mut strict, "ep=a", LINKS), "2.01");
}

#[test]
fn limits_on_names_and_links() {
    let mut h = Harness::with(Registrar::builder().config(RegistrarConfig {
        max_endpoint_len: 8,
        max_object_links: 3,
        ..RegistrarConfig::default()
    }));
    assert_eq!(register_code(&mut h, "ep=123456789", LINKS), "4.00");
    assert_eq!(register_code(&mut h, "ep=12345678", LINKS), "2.01");
    assert_eq!(
        register_code(&mut h, "ep=x", b"</1/0>,</2/0>,</3/0>,</4/0>"),
        "4.00"
    );
    assert_eq!(
        register_code(&mut h, "ep=x", b"</1/0>,</2/0>,</3/0>"),
        "2.01"
    );
}

#[test]
fn non_confirmable_register_and_update_are_refused() {
    let mut h = Harness::new();
    let req = Req {
        ty: Type::NonConfirmable,
        ..Req::register("ep=a", LINKS)
    };
    let answer = h.send(addr("10.0.0.1:5683"), &req);
    assert!(matches!(
        answer.response.refusal(),
        Some(Refusal::NotConfirmable)
    ));
    let peer = addr("10.0.0.1:5683");
    let id = h.register(peer, "a", 60);
    let path = format!("/rd/{id}");
    let update = Req {
        ty: Type::NonConfirmable,
        ..Req::new(Code::POST, &path)
    };
    assert_eq!(h.send(peer, &update).code(), Code::BAD_REQUEST);
    // With the check off, NON is fine.
    let mut lenient = Harness::with(Registrar::builder().config(RegistrarConfig {
        require_confirmable: false,
        ..RegistrarConfig::default()
    }));
    assert_eq!(lenient.send(peer, &req).code(), Code::CREATED);
}

#[test]
fn a_new_register_replaces_the_endpoints_registration_from_another_address() {
    let mut h = Harness::new();
    let first = h.register(addr("10.0.0.1:5683"), "node1", 300);
    h.events();
    h.advance(10);
    let second = h.register(addr("10.0.0.2:40000"), "node1", 600);
    assert_ne!(first, second);
    assert_eq!(h.registrar.registrations().len(), 1);
    assert!(h.registrar.get(first).is_none());
    let reg = h.registrar.by_endpoint("node1").unwrap();
    assert_eq!(reg.id(), second);
    assert_eq!(reg.peer(), addr("10.0.0.2:40000"));
    assert_eq!(reg.lifetime(), 600);
    assert!(h
        .registrar
        .registrations()
        .by_peer(addr("10.0.0.1:5683"))
        .is_none());
    match h.events().as_slice() {
        [RegistrationEvent::Registered {
            registration,
            replaced: Some(old),
        }] => {
            assert_eq!(registration.id(), second);
            assert_eq!(old.id(), first);
            assert_eq!(old.peer(), addr("10.0.0.1:5683"));
        }
        other => panic!("unexpected events {other:?}"),
    }
    // The old location is gone.
    assert_eq!(
        h.update(addr("10.0.0.1:5683"), first, "").code(),
        Code::NOT_FOUND
    );
}

#[test]
fn updates() {
    let mut h = Harness::new();
    let peer = addr("10.0.0.1:5683");
    let id = h.register(peer, "node1", 300);
    h.events();

    // Unknown ids, malformed ids and deeper paths.
    for path in [
        "/rd/zzzzzzzzzzzz",
        "/rd/NOT-AN-ID",
        "/rd/",
        "/rd/toolongtobeanid1",
    ] {
        let answer = h.send(peer, &Req::new(Code::POST, path));
        assert_eq!(answer.code(), Code::NOT_FOUND, "{path}");
    }
    let deep = format!("/rd/{id}/x");
    assert_eq!(
        h.send(peer, &Req::new(Code::POST, &deep)).code(),
        Code::NOT_FOUND
    );

    // Bad parameters.
    for query in ["ep=node1", "lwm2m=1.0", "lt=0", "b=Z", "foo=1", "lt=5&lt=6"] {
        assert_eq!(
            h.update(peer, id, query).code(),
            Code::BAD_REQUEST,
            "{query}"
        );
    }
    // A bad or wrongly typed payload.
    let path = format!("/rd/{id}");
    let bad_links = Req {
        content_format: Some(40),
        payload: b"</1/0",
        ..Req::new(Code::POST, &path)
    };
    assert_eq!(h.send(peer, &bad_links).code(), Code::BAD_REQUEST);
    let wrong_cf = Req {
        content_format: Some(0),
        payload: b"</1/0>",
        ..Req::new(Code::POST, &path)
    };
    assert_eq!(h.send(peer, &wrong_cf).code(), Code::BAD_REQUEST);
    assert!(h.events().is_empty(), "refused Updates change nothing");

    // New parameters, new links, new address.
    h.advance(100);
    let new_peer = addr("10.0.0.7:1234");
    let update = Req {
        queries: vec!["lt=900", "b=UQ", "sms=12345"],
        content_format: Some(40),
        payload: b"</1/0>,</3/0>,</5>,</3303/0>",
        ..Req::new(Code::POST, &path)
    };
    assert_eq!(h.send(new_peer, &update).code(), Code::CHANGED);
    let reg = h.registrar.get(id).unwrap();
    assert_eq!(reg.lifetime(), 900);
    assert!(reg.is_queue_mode());
    assert_eq!(reg.sms().unwrap().as_str(), "12345");
    assert_eq!(reg.peer(), new_peer);
    assert_eq!(reg.object_links().len(), 4);
    assert_eq!(reg.last_update(), h.now);
    assert!(h.registrar.registrations().by_peer(peer).is_none());
    assert_eq!(
        h.registrar.registrations().by_peer(new_peer).unwrap().id(),
        id
    );
    match h.events().as_slice() {
        [RegistrationEvent::Updated { previous, current }] => {
            assert_eq!(previous.lifetime(), 300);
            assert_eq!(previous.peer(), peer);
            assert_eq!(current.lifetime(), 900);
        }
        other => panic!("unexpected events {other:?}"),
    }
    // An Update without payload keeps the links.
    assert_eq!(h.update(new_peer, id, "").code(), Code::CHANGED);
    assert_eq!(h.registrar.get(id).unwrap().object_links().len(), 4);
}

#[test]
fn methods_and_paths() {
    let mut h = Harness::new();
    let peer = addr("10.0.0.1:5683");
    let id = h.register(peer, "node1", 300);
    let path = format!("/rd/{id}");
    for (code, path, expected) in [
        (Code::GET, "/rd", "4.05"),
        (Code::DELETE, "/rd", "4.05"),
        (Code::PUT, "/rd", "4.05"),
        (Code::GET, path.as_str(), "4.05"),
        (Code::PUT, path.as_str(), "4.05"),
        (Code::GET, "/rd/zzzzzzzzzzzz", "4.04"),
        (Code::DELETE, "/rd/zzzzzzzzzzzz", "4.04"),
        (Code::POST, "/bs", "4.04"),
        (Code::POST, "/", "4.04"),
        (Code::GET, "/3/0/0", "4.04"),
    ] {
        assert_eq!(
            h.send(peer, &Req::new(code, path)).code_str(),
            expected,
            "{code:?} {path}"
        );
    }
    assert!(h.registrar.get(id).is_some());
}

#[test]
fn identity_check_guards_every_operation() {
    // Only 10.0.0.1 may act as "node1"; anyone may act as other names.
    let check = |peer: std::net::SocketAddr, endpoint: &str, _op: RegistrationOperation| {
        if endpoint == "node1" && peer.ip().to_string() != "10.0.0.1" {
            IdentityVerdict::Reject
        } else {
            IdentityVerdict::Accept
        }
    };
    let mut h = Harness::with(Registrar::builder().identity_check(check));
    let owner = addr("10.0.0.1:5683");
    let intruder = addr("10.0.0.66:5683");
    let answer = h.send(intruder, &Req::register("ep=node1", LINKS));
    assert_eq!(answer.code(), Code::FORBIDDEN);
    assert!(matches!(
        answer.response.refusal(),
        Some(Refusal::IdentityMismatch)
    ));
    let id = h.register(owner, "node1", 300);
    assert_eq!(h.update(intruder, id, "").code(), Code::FORBIDDEN);
    assert_eq!(h.deregister(intruder, id).code(), Code::FORBIDDEN);
    assert_eq!(h.registrar.get(id).unwrap().peer(), owner);
    assert_eq!(h.update(owner, id, "").code(), Code::CHANGED);
    assert_eq!(h.deregister(owner, id).code(), Code::DELETED);
}

#[test]
fn a_failing_store_refuses_with_internal_server_error_and_changes_nothing() {
    let store = MemoryRegistrationStore::new();
    let mut h = Harness::with(Registrar::builder().store(store.clone()));
    let peer = addr("10.0.0.1:5683");
    let id = h.register(peer, "node1", 300);
    h.events();
    store.fail_writes(true);
    let answer = h.send(peer, &Req::register("ep=node2", LINKS));
    assert_eq!(answer.code(), Code::INTERNAL_SERVER_ERROR);
    assert!(
        answer.message().payload().is_empty(),
        "no diagnostic on 5.xx"
    );
    assert_eq!(
        h.update(peer, id, "lt=5").code(),
        Code::INTERNAL_SERVER_ERROR
    );
    assert_eq!(h.registrar.get(id).unwrap().lifetime(), 300);
    assert_eq!(h.deregister(peer, id).code(), Code::INTERNAL_SERVER_ERROR);
    assert!(h.registrar.get(id).is_some());
    assert_eq!(h.registrar.registrations().len(), 1);
    assert!(h.events().is_empty());
    assert_eq!(h.registrar.stats().store_errors, 3);
    store.fail_writes(false);
    assert_eq!(h.deregister(peer, id).code(), Code::DELETED);
    assert!(store.is_empty());
}

#[test]
fn a_full_server_refuses_new_endpoints_but_not_re_registrations() {
    let mut h = Harness::with(Registrar::builder().config(RegistrarConfig {
        max_registrations: 2,
        ..RegistrarConfig::default()
    }));
    h.register(addr("10.0.0.1:1"), "a", 60);
    h.register(addr("10.0.0.2:1"), "b", 60);
    let answer = h.send(addr("10.0.0.3:1"), &Req::register("ep=c", LINKS));
    assert_eq!(answer.code(), Code::SERVICE_UNAVAILABLE);
    assert_eq!(answer.message().max_age(), Ok(Some(60)));
    h.register(addr("10.0.0.9:1"), "a", 60);
    assert_eq!(h.registrar.registrations().len(), 2);
}

#[test]
fn the_event_queue_is_bounded() {
    let mut h = Harness::with(Registrar::builder().config(RegistrarConfig {
        max_queued_events: 2,
        register_rate_limit: None,
        ..RegistrarConfig::default()
    }));
    for n in 0..5 {
        h.register(addr("10.0.0.1:1"), &format!("ep{n}"), 60);
    }
    let events = h.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].registration().endpoint(), "ep4");
    assert_eq!(h.registrar.stats().events_dropped, 3);
}

#[test]
fn the_registrar_can_move_to_another_thread() {
    fn assert_send<T: Send>(_: &T) {}
    let h = Harness::new();
    assert_send(&h.registrar);
    let moved = std::thread::spawn(move || h.registrar.registrations().len())
        .join()
        .unwrap();
    assert_eq!(moved, 0);
}
