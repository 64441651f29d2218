//! Write, Execute, Create and Delete at every level, with exact bytes where the test vectors
//! give them.

// Table-driven tests: one row per request, long by nature.
#![allow(clippy::too_many_lines)]

mod common;

use common::*;
use lwm2m_client::TypedStore;
use lwm2m_client::{ClientEvent, DeviceObject};
use lwm2m_codec::coap::Code;
use lwm2m_objects::LightControl;

fn registered() -> Harness {
    let mut h = Harness::new();
    h.register_all();
    h
}

fn code(h: &mut Harness, request: lwm2m_transport::Request) -> Code {
    h.request(0, request).code()
}

#[test]
fn writes_replace_and_update() {
    let mut h = registered();
    // Time as TLV, then as JSON, read back as text.
    assert_eq!(
        code(
            &mut h,
            req(
                Code::PUT,
                "/3/0/13",
                Some(TLV),
                &[],
                &hex("C4 0D 51 82 42 90")
            )
        ),
        Code::CHANGED
    );
    assert_eq!(text(&h.request(0, get("/3/0/13", None))), "1367491216");
    let json = br#"{"bn":"/3/0/13","e":[{"v":1476186613}]}"#;
    assert_eq!(
        code(&mut h, req(Code::PUT, "/3/0/13", Some(JSON), &[], json)),
        Code::CHANGED
    );
    assert_eq!(text(&h.request(0, get("/3/0/13", None))), "1476186613");
    // Partial update of the instance: Timezone added, the rest kept.
    let tz = b"Europe/Paris";
    let mut payload = vec![0xC8, 15, tz.len() as u8];
    payload.extend(tz);
    assert_eq!(
        code(&mut h, req(Code::POST, "/3/0", Some(TLV), &[], &payload)),
        Code::CHANGED
    );
    assert_eq!(text(&h.request(0, get("/3/0/15", None))), "Europe/Paris");
    assert_eq!(text(&h.request(0, get("/3/0/14", None))), "+02:00");
    // Replace of the instance: UTC Offset only, so Timezone and Current Time go.
    assert_eq!(
        code(
            &mut h,
            req(
                Code::PUT,
                "/3/0",
                Some(TLV),
                &[],
                &hex("C6 0E 2B 30 31 3A 30 30")
            )
        ),
        Code::CHANGED
    );
    assert_eq!(text(&h.request(0, get("/3/0/14", None))), "+01:00");
    assert_eq!(code(&mut h, get("/3/0/15", None)), Code::NOT_FOUND);
    assert_eq!(code(&mut h, get("/3/0/13", None)), Code::NOT_FOUND);
    // A payload with a read-only resource is refused whole.
    let mixed = hex("C6 0E 2B 30 33 3A 30 30 C1 09 32");
    assert_eq!(
        code(&mut h, req(Code::POST, "/3/0", Some(TLV), &[], &mixed)),
        Code::METHOD_NOT_ALLOWED
    );
    assert_eq!(text(&h.request(0, get("/3/0/14", None))), "+01:00");
    let written = h
        .events()
        .filter(|e| matches!(e, ClientEvent::Written { .. }))
        .count();
    assert_eq!(written, 4);
}

#[test]
fn write_errors() {
    let mut h = registered();
    for (method, path, format, payload, expected) in [
        (
            Code::PUT,
            "/3/0/9",
            Some(TEXT),
            &b"50"[..],
            Code::METHOD_NOT_ALLOWED,
        ),
        (
            Code::PUT,
            "/3",
            Some(TLV),
            &hex("C1 09 32")[..],
            Code::METHOD_NOT_ALLOWED,
        ),
        (Code::PUT, "/3/0/13", None, &b"1"[..], Code::BAD_REQUEST),
        (
            Code::PUT,
            "/3/0/13",
            Some(LINK),
            &b"</1>"[..],
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
        (
            Code::PUT,
            "/3/0/13",
            Some(9999),
            &b"1"[..],
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
        (
            Code::PUT,
            "/3/0",
            Some(TEXT),
            &b"1"[..],
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
        (
            Code::PUT,
            "/3/0/13",
            Some(TEXT),
            &b"abc"[..],
            Code::BAD_REQUEST,
        ),
        (
            Code::PUT,
            "/3/0/13",
            Some(TLV),
            &hex("C5 0D 01 02")[..],
            Code::BAD_REQUEST,
        ),
        (
            Code::PUT,
            "/3/0/13",
            Some(TLV),
            &hex("C3 0D 00 00 01")[..],
            Code::BAD_REQUEST,
        ),
        (
            Code::PUT,
            "/3/0/13",
            Some(TLV),
            &hex("C1 0E 01")[..],
            Code::BAD_REQUEST,
        ),
        (
            Code::PUT,
            "/3/0/13",
            Some(JSON),
            &br#"{"bn":"/3/0/13"}"#[..],
            Code::BAD_REQUEST,
        ),
        (
            Code::PUT,
            "/3/0/13",
            Some(JSON),
            &br#"{"e":[{"n":"/3/0/14","sv":"x"}]}"#[..],
            Code::BAD_REQUEST,
        ),
        (
            Code::PUT,
            "/3/0/14",
            Some(JSON),
            &br#"{"bn":"/3/0/14","e":[{"v":1}]}"#[..],
            Code::BAD_REQUEST,
        ),
        (
            Code::PUT,
            "/3/0",
            Some(TLV),
            &hex("C1 63 01")[..],
            Code::NOT_FOUND,
        ),
        (Code::PUT, "/3/0/99", Some(TEXT), &b"1"[..], Code::NOT_FOUND),
        (Code::PUT, "/3/7/13", Some(TEXT), &b"1"[..], Code::NOT_FOUND),
        (
            Code::PUT,
            "/0/0/0",
            Some(TEXT),
            &b"coap://x"[..],
            Code::NOT_FOUND,
        ),
        // Current Time is a single resource: it has no resource instance 0.
        (
            Code::PUT,
            "/3/0/13/0",
            Some(TEXT),
            &b"1"[..],
            Code::NOT_FOUND,
        ),
        (
            Code::PUT,
            "/1/0/0",
            Some(TEXT),
            &b"5"[..],
            Code::METHOD_NOT_ALLOWED,
        ),
        (
            Code::PUT,
            "/1/0/1",
            Some(TEXT),
            &b"0"[..],
            Code::BAD_REQUEST,
        ),
        (
            Code::PUT,
            "/1/0/1",
            Some(TEXT),
            &b"-5"[..],
            Code::BAD_REQUEST,
        ),
        (
            Code::PUT,
            "/1/0/7",
            Some(TEXT),
            &b"S"[..],
            Code::BAD_REQUEST,
        ),
        (
            Code::PUT,
            "/1/0/7",
            Some(TEXT),
            &b"XYZ"[..],
            Code::BAD_REQUEST,
        ),
        (
            Code::PUT,
            "/1/0/7",
            Some(OPAQUE),
            &b"U"[..],
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
    ] {
        assert_eq!(
            code(&mut h, req(method, path, format, &[], payload)),
            expected,
            "{method:?} {path} {format:?}"
        );
    }
    // Nothing changed.
    assert_eq!(text(&h.request(0, get("/3/0/13", None))), "1367491215");
}

#[test]
fn execute_with_arguments() {
    let mut h = registered();
    assert_eq!(
        code(&mut h, req(Code::POST, "/3/0/4", None, &[], b"")),
        Code::CHANGED
    );
    let args = b"7,0='https://www.oma.org'";
    assert_eq!(
        code(&mut h, req(Code::POST, "/3/0/4", Some(TEXT), &[], args)),
        Code::CHANGED
    );
    let executed: Vec<_> = h
        .events()
        .filter_map(|e| match e {
            ClientEvent::Executed {
                path, arguments, ..
            } => Some((path.to_string(), arguments.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(executed[0], ("/3/0/4".to_string(), vec![]));
    assert_eq!(
        executed[1],
        (
            "/3/0/4".to_string(),
            vec![(7, None), (0, Some("https://www.oma.org".to_string()))]
        )
    );
    for (path, format, payload, expected) in [
        ("/3/0/4", None, &b"10"[..], Code::BAD_REQUEST),
        ("/3/0/4", None, &b"1='a b'"[..], Code::BAD_REQUEST),
        ("/3/0/4", None, &b"1=abc"[..], Code::BAD_REQUEST),
        (
            "/3/0/4",
            Some(TLV),
            &b""[..],
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
        ("/3/0/0", None, &b""[..], Code::METHOD_NOT_ALLOWED),
        ("/3/0/5", None, &b""[..], Code::NOT_FOUND),
        ("/3/0/99", None, &b""[..], Code::NOT_FOUND),
        ("/3/1/4", None, &b""[..], Code::NOT_FOUND),
        ("/", None, &b""[..], Code::METHOD_NOT_ALLOWED),
        ("/0/0/1", None, &b""[..], Code::NOT_FOUND),
    ] {
        assert_eq!(
            code(&mut h, req(Code::POST, path, format, &[], payload)),
            expected,
            "POST {path}"
        );
    }
    // Reset Error Code on a device that supports it.
    let mut setup = Setup::default();
    let mut device = DeviceObject::new(example_device());
    device.set_error(1);
    setup.device = device;
    let mut h = Harness::with(setup);
    h.register_all();
    assert_eq!(
        h.request(0, get("/3/0/11", None)).body().as_ref(),
        hex("83 0B 41 00 01")
    );
    assert_eq!(
        code(&mut h, req(Code::POST, "/3/0/12", None, &[], b"")),
        Code::CHANGED
    );
    assert_eq!(
        h.request(0, get("/3/0/11", None)).body().as_ref(),
        hex("83 0B 41 00 00")
    );
}

#[test]
fn create_and_delete() {
    let mut h = Harness::with(Setup {
        lights: true,
        ..Setup::default()
    });
    h.register_all();
    // One Object-Instance TLV with id 3: On/Off true, Dimmer 50 (16-bit resource ids).
    let payload = hex("08 03 08 E1 16 DA 01 E1 16 DB 32");
    let r = h.request(0, req(Code::POST, "/3311", Some(TLV), &[], &payload));
    assert_eq!(r.code(), Code::CREATED);
    assert_eq!(location(&r), ["3311", "3"]);
    let light = h
        .client()
        .object::<TypedStore<LightControl>>(3311)
        .unwrap()
        .get(3)
        .unwrap()
        .clone();
    assert_eq!((light.on_off, light.dimmer), (true, Some(50)));
    // Bare resources: the client picks the lowest free id.
    let r = h.request(
        0,
        req(Code::POST, "/3311", Some(TLV), &[], &hex("E1 16 DA 00")),
    );
    assert_eq!(
        (r.code(), location(&r)),
        (Code::CREATED, vec!["3311".to_string(), "0".to_string()])
    );
    // JSON with the instance in the names.
    let json = br#"{"bn":"/3311/","e":[{"n":"7/5850","bv":true},{"n":"7/5851","v":20}]}"#;
    let r = h.request(0, req(Code::POST, "/3311", Some(JSON), &[], json));
    assert_eq!(
        (r.code(), location(&r)),
        (Code::CREATED, vec!["3311".to_string(), "7".to_string()])
    );
    assert_eq!(text(&h.request(0, get("/3311/7/5851", None))), "20");
    // A single-instance object: only instance 0, once.
    let fix = hex("08 00 12 C4 00 42 42 00 00 C4 01 40 10 00 00 C4 05 00 00 00 01");
    let r = h.request(0, req(Code::POST, "/6", Some(TLV), &[], &fix));
    assert_eq!(
        (r.code(), location(&r)),
        (Code::CREATED, vec!["6".to_string(), "0".to_string()])
    );
    for (path, format, payload, expected) in [
        ("/3311", Some(TLV), payload.clone(), Code::BAD_REQUEST), // instance 3 exists
        (
            "/3311",
            Some(TLV),
            hex("08 04 04 E1 16 DB 32"),
            Code::BAD_REQUEST,
        ), // On/Off missing
        ("/3311", None, payload.clone(), Code::BAD_REQUEST),
        (
            "/3311",
            Some(TEXT),
            b"1".to_vec(),
            Code::UNSUPPORTED_CONTENT_FORMAT,
        ),
        ("/3311", Some(TLV), hex("08 04 03 C1"), Code::BAD_REQUEST),
        (
            "/3311",
            Some(TLV),
            hex("08 04 03 E1 16 DA 05"),
            Code::BAD_REQUEST,
        ), // Boolean 5
        (
            "/3311",
            Some(TLV),
            hex("08 04 09 E1 16 DA 01 E2 16 DB 00 96"),
            Code::BAD_REQUEST,
        ), // Dimmer 150 is outside 0-100
        ("/6", Some(TLV), fix.clone(), Code::BAD_REQUEST), // instance 0 exists
        ("/3", Some(TLV), hex("08 01 04 C1 10 55"), Code::BAD_REQUEST), // single instance
        ("/99", Some(TLV), payload.clone(), Code::NOT_FOUND),
        ("/0", Some(TLV), payload.clone(), Code::NOT_FOUND),
    ] {
        assert_eq!(
            code(&mut h, req(Code::POST, path, format, &[], &payload)),
            expected,
            "POST {path}"
        );
    }
    assert_eq!(
        code(&mut h, req(Code::DELETE, "/3311/3", None, &[], b"")),
        Code::DELETED
    );
    assert_eq!(code(&mut h, get("/3311/3", None)), Code::NOT_FOUND);
    for (path, expected) in [
        ("/3311/3", Code::NOT_FOUND),
        ("/3/0", Code::METHOD_NOT_ALLOWED),
        ("/3311", Code::METHOD_NOT_ALLOWED),
        ("/3311/0/5850", Code::METHOD_NOT_ALLOWED),
        ("/", Code::METHOD_NOT_ALLOWED),
        ("/0/0", Code::NOT_FOUND),
    ] {
        assert_eq!(
            code(&mut h, req(Code::DELETE, path, None, &[], b"")),
            expected,
            "DELETE {path}"
        );
    }
    let created = h
        .events()
        .filter(|e| matches!(e, ClientEvent::Created { .. }))
        .count();
    let deleted = h
        .events()
        .filter(|e| matches!(e, ClientEvent::Deleted { .. }))
        .count();
    assert_eq!((created, deleted), (4, 1));
    // Read of the object: Object-Instance TLVs 0 (inline length) and 7.
    let r = h.request(0, get("/3311", None));
    assert_eq!(
        r.body().as_ref(),
        hex("04 00 E1 16 DA 00 08 07 08 E1 16 DA 01 E1 16 DB 14")
    );
}
