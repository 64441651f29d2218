//! The registration vectors of test-vectors.md §4 (CoAP messages), §6 (Register payloads) and
//! §7 (query strings), fed to the registrar byte for byte.

mod common;

use common::{addr, hex, Harness, Req, START};
use lwm2m_codec::coap::Code;
use lwm2m_model::{BindingMode, RegisterParams, Version};
use lwm2m_server::registration::{
    CompactObjectLinks, Registrar, RegistrarConfig, Registration, RegistrationEvent, RegistrationId,
};
use lwm2m_server::store::{MemoryRegistrationStore, RegistrationChange, RegistrationStore};

const REGISTER: &str = "44 02 12 34 A1 B2 C3 D4 B2 72 64 11 28 38 65 70 3D 6E 6F 64 65 31 06 6C 74 3D 33 30 30 09 6C 77 6D 32 6D 3D 31 2E 30 03 62 3D 55 FF 3C 2F 31 2F 30 3E 2C 3C 2F 33 2F 30 3E";
const REGISTER_RESPONSE: &str = "64 41 12 34 A1 B2 C3 D4 82 72 64 04 35 61 33 66";
const UPDATE: &str = "41 02 12 35 01 B2 72 64 04 35 61 33 66";
const UPDATE_RESPONSE: &str = "61 44 12 35 01";
const DEREGISTER: &str = "41 04 12 36 02 B2 72 64 04 35 61 33 66";
const BOOTSTRAP_REQUEST: &str = "40 02 00 01 B2 62 73 48 65 70 3D 6E 6F 64 65 31";
const LONG_EP: &str = "40 02 03 00 B2 72 64 4D 0E 65 70 3D 75 72 6E 3A 69 6D 65 69 3A 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35";

/// A harness whose store already holds node1's registration under the TS example id `5a3f`
/// (the Update and De-register vectors address it).
fn with_5a3f() -> Harness {
    let store = MemoryRegistrationStore::new();
    let params = RegisterParams::parse(["ep=node1", "lt=300", "lwm2m=1.0", "b=U"]).unwrap();
    let links = CompactObjectLinks::parse(b"</1/0>,</3/0>", 64).unwrap();
    let registration = Registration::new(
        RegistrationId::parse("5a3f").unwrap(),
        params,
        links,
        addr("10.0.0.1:5683"),
        START,
    );
    store
        .clone()
        .apply(&[RegistrationChange::Put(&registration)])
        .unwrap();
    Harness::with(Registrar::builder().store(store))
}

#[test]
fn register_vector_is_created_with_a_location_under_rd() {
    let mut h = Harness::new();
    let answer = h.datagram(addr("10.0.0.1:5683"), &hex(REGISTER));
    assert_eq!(answer.code(), Code::CREATED);
    let id = answer.id();
    assert_eq!(id.as_str().len(), 12);
    let msg = answer.message();
    assert!(msg.location_path().unwrap().eq(["rd", id.as_str()]));
    // The reply is the vector's, with our 12-character id in place of `5a3f`.
    let mut expected = hex(REGISTER_RESPONSE);
    expected.truncate(expected.len() - 5);
    expected.push(0x0C);
    expected.extend_from_slice(id.as_str().as_bytes());
    assert_eq!(answer.bytes, expected);

    let reg = h.registrar.get(id).unwrap();
    assert_eq!(reg.endpoint(), "node1");
    assert_eq!(reg.lifetime(), 300);
    assert_eq!(reg.lwm2m_version(), Version::V1_0);
    assert_eq!(reg.binding(), BindingMode::Udp);
    assert_eq!(reg.peer(), addr("10.0.0.1:5683"));
    let paths: Vec<String> = reg.object_links().paths().map(|p| p.to_string()).collect();
    assert_eq!(paths, ["/1/0", "/3/0"]);
    assert!(matches!(
        h.events().as_slice(),
        [RegistrationEvent::Registered { replaced: None, .. }]
    ));
}

#[test]
fn update_vector_is_changed_byte_for_byte() {
    let mut h = with_5a3f();
    h.advance(100);
    let answer = h.datagram(addr("10.0.0.1:5683"), &hex(UPDATE));
    assert_eq!(answer.bytes, hex(UPDATE_RESPONSE));
    let reg = h
        .registrar
        .get(RegistrationId::parse("5a3f").unwrap())
        .unwrap();
    assert_eq!(reg.last_update(), h.now);
    assert!(matches!(
        h.events().as_slice(),
        [RegistrationEvent::Updated { .. }]
    ));
}

#[test]
fn deregister_vector_is_deleted() {
    let mut h = with_5a3f();
    let answer = h.datagram(addr("10.0.0.1:5683"), &hex(DEREGISTER));
    assert_eq!(answer.bytes, hex("61 42 12 36 02"));
    assert!(h.registrar.registrations().is_empty());
    assert!(matches!(
        h.events().as_slice(),
        [RegistrationEvent::Deregistered { registration }] if registration.endpoint() == "node1"
    ));
    // The same De-register again: the registration is gone.
    let again = h.datagram(addr("10.0.0.1:5683"), &hex(DEREGISTER));
    assert_eq!(again.code(), Code::NOT_FOUND);
}

#[test]
fn bootstrap_request_is_not_found_here() {
    let mut h = Harness::with(Registrar::builder().config(RegistrarConfig {
        diagnostic_payloads: false,
        ..RegistrarConfig::default()
    }));
    let answer = h.datagram(addr("10.0.0.1:5683"), &hex(BOOTSTRAP_REQUEST));
    assert_eq!(answer.bytes, hex("60 84 00 01"));
    assert!(!Registrar::is_registration_request(
        &lwm2m_codec::coap::Message::parse(&hex(BOOTSTRAP_REQUEST)).unwrap()
    ));
    // With diagnostics on (the default), the 4.04 explains itself.
    let mut h = Harness::new();
    let answer = h.datagram(addr("10.0.0.1:5683"), &hex(BOOTSTRAP_REQUEST));
    assert_eq!(answer.code(), Code::NOT_FOUND);
    assert_eq!(
        answer.message().payload(),
        b"no registration resource at this path"
    );
    assert!(h.events().is_empty());
}

#[test]
fn long_endpoint_option_vector() {
    // The vector is POST /rd?ep=urn:imei:...; with object links appended it registers.
    let mut bytes = hex(LONG_EP);
    bytes.push(0xFF);
    bytes.extend_from_slice(b"</1/0>,</3/0>");
    let mut h = Harness::new();
    let answer = h.datagram(addr("10.0.0.1:5683"), &bytes);
    assert_eq!(answer.code(), Code::CREATED);
    let reg = h.registrar.get(answer.id()).unwrap();
    assert_eq!(reg.endpoint(), "urn:imei:123456789012345");
    assert_eq!(reg.lifetime(), 86_400, "lt defaults to 86400");
    assert_eq!(reg.lwm2m_version(), Version::V1_0);
    assert_eq!(reg.binding(), BindingMode::Udp);
    // The vector as it is (no payload) is refused: the object links are mandatory.
    let answer = h.datagram(addr("10.0.0.2:5683"), &hex(LONG_EP));
    assert_eq!(answer.code(), Code::BAD_REQUEST);
}

#[test]
fn reference_message_flow() {
    // digest §17: Register, Update, De-register with the server's own id.
    let mut h = Harness::new();
    let peer = addr("10.0.0.1:5683");
    let id = h.register(peer, "node1", 300);
    h.advance(250);
    assert_eq!(h.update(peer, id, "").code(), Code::CHANGED);
    h.advance(250);
    assert!(
        h.registrar.get(id).is_some(),
        "the Update restarted the lifetime"
    );
    assert_eq!(h.deregister(peer, id).code(), Code::DELETED);
    let kinds: Vec<&str> = h
        .events()
        .iter()
        .map(|e| match e {
            RegistrationEvent::Registered { .. } => "registered",
            RegistrationEvent::Updated { .. } => "updated",
            RegistrationEvent::Deregistered { .. } => "deregistered",
            RegistrationEvent::Expired { .. } => "expired",
        })
        .collect();
    assert_eq!(kinds, ["registered", "updated", "deregistered"]);
}

#[test]
fn register_payloads_of_section_6() {
    let ts = "</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>";
    let json = "</>;ct=11543,</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>";
    let alt = r#"</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/1/1>,</lwm2m/2/0>,</lwm2m/2/1>,</lwm2m/2/2>,</lwm2m/2/3>,</lwm2m/2/4>,</lwm2m/3/0>,</lwm2m/4/0>,</lwm2m/5>"#;
    let ver = r#"</1/0>,</3/0>,</3303>;ver="1.1",</3303/0>"#;
    let mut h = Harness::new();
    let register = |h: &mut Harness, n: u8, payload: &str| {
        let query = format!("ep=client{n}&lt=300&lwm2m=1.0&b=U");
        let answer = h.send(
            addr(&format!("10.0.1.{n}:5683")),
            &Req::register(&query, payload.as_bytes()),
        );
        assert_eq!(answer.code(), Code::CREATED, "{payload}");
        h.registrar.get(answer.id()).unwrap().clone()
    };
    let plain = register(&mut h, 1, ts);
    assert_eq!(plain.object_links().len(), 10);
    assert!(!plain.object_links().supports_json());
    let with_json = register(&mut h, 2, json);
    assert!(with_json.object_links().supports_json());
    assert!(with_json
        .object_links()
        .paths()
        .eq(plain.object_links().paths()));
    let alternate = register(&mut h, 3, alt);
    assert_eq!(alternate.object_links().root_path(), "/lwm2m");
    assert!(alternate
        .object_links()
        .paths()
        .eq(plain.object_links().paths()));
    let versioned = register(&mut h, 4, ver);
    assert_eq!(
        versioned.object_links().object_version(3303),
        Version::new(1, 1)
    );
    assert_eq!(
        versioned.object_links().instances(3303).collect::<Vec<_>>(),
        [0]
    );
}

#[test]
fn query_strings_of_section_7() {
    let mut h = Harness::new();
    let peer = addr("10.0.0.1:5683");
    let answer = h.send(
        peer,
        &Req::register(
            "ep=node1&lt=86400&lwm2m=1.0&b=US&sms=447700900123",
            b"</1/0>,</3/0>",
        ),
    );
    assert_eq!(answer.code(), Code::CREATED);
    let id = answer.id();
    let reg = h.registrar.get(id).unwrap();
    assert_eq!(reg.binding(), BindingMode::UdpSms);
    assert_eq!(reg.sms().unwrap().as_str(), "447700900123");
    assert_eq!(reg.lifetime(), 86_400);

    assert_eq!(h.update(peer, id, "lt=6000").code(), Code::CHANGED);
    let reg = h.registrar.get(id).unwrap();
    assert_eq!(reg.lifetime(), 6000);
    assert_eq!(
        reg.binding(),
        BindingMode::UdpSms,
        "unchanged parameters stay"
    );
    assert_eq!(
        reg.expires_at(),
        h.now + core::time::Duration::from_secs(6000)
    );
}
