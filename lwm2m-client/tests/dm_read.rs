//! Read, Discover and Write-Attributes at every level, with exact bytes where the test vectors
//! give them.

mod common;

use std::time::Duration;

use common::*;
use lwm2m_client::DeviceObject;
use lwm2m_codec::coap::Code;
use lwm2m_objects::{Device, ResourceInstances};

fn registered() -> Harness {
    let mut h = Harness::new();
    h.register_all();
    h
}

fn code(h: &mut Harness, request: lwm2m_transport::Request) -> Code {
    h.request(0, request).code()
}

#[test]
fn message_vectors_of_section_4() {
    let mut h = registered();
    // Read /3/0/0 without Accept: text.
    let reply = h.exchange(0, &hex("41 01 00 02 0B B1 33 01 30 01 30"));
    assert_eq!(
        reply,
        hex("61 45 00 02 0B C0 FF 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65")
    );
    // Read /3/0 with Accept TLV: the TS Device instance, 121 bytes.
    let reply = h.exchange(0, &hex("41 01 00 03 0C B1 33 01 30 62 2D 16"));
    let mut expected = hex("61 45 00 03 0C C2 2D 16 FF");
    expected.extend(hex(DEVICE_TLV));
    assert_eq!(reply, expected);
    // Write-Attributes /3/0/9?pmin=10&pmax=60.
    let reply = h.exchange(
        0,
        &hex("41 03 00 05 0E B1 33 01 30 01 39 47 70 6D 69 6E 3D 31 30 07 70 6D 61 78 3D 36 30"),
    );
    assert_eq!(reply, hex("61 44 00 05 0E"));
    // Write (replace) /1/0/1 = 3600 as text.
    let reply = h.exchange(
        0,
        &hex("41 03 00 06 0F B1 31 01 30 01 31 10 FF 33 36 30 30"),
    );
    assert_eq!(reply, hex("61 44 00 06 0F"));
    // Execute /3/0/4.
    let reply = h.exchange(0, &hex("41 02 00 07 10 B1 33 01 30 01 34"));
    assert_eq!(reply, hex("61 44 00 07 10"));
    // Observe /3/0/9: 2.05, Observe 1, text "100".
    let reply = h.exchange(0, &hex("42 01 00 08 CA FE 60 51 33 01 30 01 39"));
    assert_eq!(reply, hex("62 45 00 08 CA FE 61 01 60 FF 31 30 30"));
    // Discover /3/0: 2.05 with Content-Format 40.
    let reply = h.exchange(0, &hex("41 01 00 04 0D B1 33 01 30 61 28"));
    assert_eq!(&reply[..7], hex("61 45 00 04 0D C1 28"));
    // A resource that does not exist: 4.04.
    // (Fresh message ids: a repeated one would get the cached answer.)
    let reply = h.exchange(0, &hex("41 01 00 09 0B B1 33 01 30 02 39 39"));
    assert_eq!(reply, hex("61 84 00 09 0B"));
    // A resource that is not readable (Reboot): 4.05.
    let reply = h.exchange(0, &hex("41 01 00 0A 0B B1 33 01 30 01 34"));
    assert_eq!(reply, hex("61 85 00 0A 0B"));
}

#[test]
fn read_at_every_level_and_format() {
    let mut h = registered();
    let r = h.request(0, get("/3", None));
    assert_eq!((r.code(), r.content_format()), (Code::CONTENT, Some(TLV)));
    let mut expected = hex("08 00 79");
    expected.extend(hex(DEVICE_TLV));
    assert_eq!(r.body().as_ref(), expected);
    // JSON of the instance: the compact vector of test-vectors.md §3.
    let r = h.request(0, get("/3/0", Some(JSON)));
    assert_eq!(r.content_format(), Some(JSON));
    assert_eq!(
        text(&r),
        r#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},{"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]}"#
    );
    let r = h.request(0, get("/3/0/0", Some(JSON)));
    assert_eq!(
        text(&r),
        r#"{"bn":"/3/0/0","e":[{"sv":"Open Mobile Alliance"}]}"#
    );
    let r = h.request(0, get("/3/0/7", None));
    assert_eq!((r.code(), r.content_format()), (Code::CONTENT, Some(TLV)));
    assert_eq!(r.body().as_ref(), hex("88 07 08 42 00 0E D8 42 01 13 88"));
    let r = h.request(0, get("/3/0/7", Some(JSON)));
    assert_eq!(
        text(&r),
        r#"{"bn":"/3/0/7/","e":[{"n":"0","v":3800},{"n":"1","v":5000}]}"#
    );
    let r = h.request(0, get("/3/0/9", Some(TLV)));
    assert_eq!(r.body().as_ref(), hex("C1 09 64"));
    // The Server object, one instance (test-vectors §1.1, corrected).
    let mut setup = Setup::default();
    setup.servers[0] = setup.servers[0].clone().lifetime(86400);
    let mut h2 = Harness::with(setup);
    h2.register_all();
    let r = h2.request(0, get("/1", None));
    assert_eq!(
        r.body().as_ref(),
        hex("08 00 0F C1 00 01 C4 01 00 01 51 80 C1 06 01 C1 07 55")
    );
    // An object without instances: 2.05 with an empty TLV payload.
    let r = h.request(0, get("/6", None));
    assert_eq!((r.code(), r.body().len()), (Code::CONTENT, 0));
}

#[test]
fn read_errors() {
    let mut h = registered();
    for (path, accept, expected) in [
        ("/", None, Code::METHOD_NOT_ALLOWED),
        ("/0", None, Code::NOT_FOUND),
        ("/0/0", None, Code::NOT_FOUND),
        ("/0/0/0", None, Code::NOT_FOUND),
        ("/99", None, Code::NOT_FOUND),
        ("/3/1", None, Code::NOT_FOUND),
        ("/3/0/5", None, Code::METHOD_NOT_ALLOWED), // executable: never readable
        ("/3/0/15", None, Code::NOT_FOUND),         // Timezone has no value
        ("/3/0/4", None, Code::METHOD_NOT_ALLOWED),
        ("/3/0", Some(TEXT), Code::NOT_ACCEPTABLE),
        ("/3/0/7", Some(TEXT), Code::NOT_ACCEPTABLE),
        ("/3/0/9", Some(OPAQUE), Code::NOT_ACCEPTABLE),
        ("/3/0/9", Some(9999), Code::NOT_ACCEPTABLE),
        ("/3/0/1/0", None, Code::NOT_FOUND), // a single resource has no instances
    ] {
        assert_eq!(
            code(&mut h, get(path, accept)),
            expected,
            "GET {path} {accept:?}"
        );
    }
}

/// The TS discover example device: resources 1-3, 6-8 with eight instances each, 11 and 16.
fn discover_device() -> DeviceObject {
    let eight = |base: i64| {
        Some(
            (0..8)
                .map(|i| (i, base + i64::from(i)))
                .collect::<ResourceInstances<i64>>(),
        )
    };
    DeviceObject::new(Device {
        model_number: Some("m".into()),
        serial_number: Some("s".into()),
        firmware_version: Some("f".into()),
        available_power_sources: eight(0),
        power_source_voltage: eight(3000),
        power_source_current: eight(100),
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    })
    .with_executables(&[4])
}

#[test]
fn discover_and_write_attributes_match_the_ts_example() {
    let mut h = Harness::with(Setup {
        device: discover_device(),
        ..Setup::default()
    });
    h.register_all();
    assert_eq!(
        code(&mut h, write_attributes("/3", &["pmin=10"])),
        Code::CHANGED
    );
    assert_eq!(
        code(&mut h, write_attributes("/3/0", &["pmax=60"])),
        Code::CHANGED
    );
    assert_eq!(
        code(&mut h, write_attributes("/3/0/7", &["gt=50", "lt=42.2"])),
        Code::CHANGED
    );
    let r = h.request(0, get("/3", Some(LINK)));
    assert_eq!((r.code(), r.content_format()), (Code::CONTENT, Some(LINK)));
    assert_eq!(
        text(&r),
        "</3>;pmin=10,</3/0>,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/6>,</3/0/7>,</3/0/8>,</3/0/11>,</3/0/16>"
    );
    // The TS example omits dim on </3/0/11>; Error Code is a multiple resource with one
    // instance here, so it carries dim=1.
    assert_eq!(
        text(&h.request(0, get("/3/0", Some(LINK)))),
        "</3/0>;pmax=60,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2,</3/0/8>;dim=8,</3/0/11>;dim=1,</3/0/16>"
    );
    assert_eq!(
        text(&h.request(0, get("/3/0/7", Some(LINK)))),
        "</3/0/7>;dim=8;pmin=10;pmax=60;gt=50;lt=42.2"
    );
    // Unset at object level: inheritance changes at once.
    assert_eq!(
        code(&mut h, write_attributes("/3", &["pmin"])),
        Code::CHANGED
    );
    assert_eq!(
        text(&h.request(0, get("/3/0/7", Some(LINK)))),
        "</3/0/7>;dim=8;pmax=60;gt=50;lt=42.2"
    );
    // Discover errors; the Security object is never listed.
    for (path, expected) in [
        ("/", Code::METHOD_NOT_ALLOWED),
        ("/0", Code::NOT_FOUND),
        ("/3/1", Code::NOT_FOUND),
        ("/3/0/5", Code::NOT_FOUND),
        ("/3/0/99", Code::NOT_FOUND),
        ("/99", Code::NOT_FOUND),
    ] {
        assert_eq!(
            code(&mut h, get(path, Some(LINK))),
            expected,
            "Discover {path}"
        );
    }
    assert_eq!(
        text(&h.request(0, get("/1", Some(LINK)))),
        "</1>,</1/0>,</1/0/0>,</1/0/1>,</1/0/6>,</1/0/7>,</1/0/8>"
    );
}

#[test]
fn write_attributes_validation_vectors() {
    let mut h = registered();
    for (path, query, expected) in [
        ("/3/0/9", &["gt=50", "lt=42.2"][..], Code::CHANGED),
        ("/3/0/9", &["gt=10", "lt=20"][..], Code::BAD_REQUEST),
        ("/3/0/9", &["gt=50", "lt=40", "st=5"][..], Code::BAD_REQUEST),
        ("/3/0/9", &["gt=50", "lt=40", "st=4"][..], Code::CHANGED),
        ("/3/0/9", &["st=-1"][..], Code::BAD_REQUEST),
        ("/3/0/9", &["pmin=-5"][..], Code::BAD_REQUEST),
        ("/3/0/9", &["pmin=abc"][..], Code::BAD_REQUEST),
        ("/3/0/9", &["foo=1"][..], Code::BAD_REQUEST),
        ("/3/0/9", &["pmin=1", "pmin=2"][..], Code::BAD_REQUEST),
        ("/3/0/9", &["dim=3"][..], Code::BAD_REQUEST),
        ("/3/0/9", &["pmin=70", "pmax=60"][..], Code::BAD_REQUEST),
        ("/3/0", &["gt=5"][..], Code::BAD_REQUEST),
        ("/3", &["st=1"][..], Code::BAD_REQUEST),
        ("/3/0/0", &["gt=5"][..], Code::BAD_REQUEST), // a String resource
        ("/3/0/9", &["pmin"][..], Code::CHANGED),
        ("/3/0/99", &["pmin=1"][..], Code::NOT_FOUND),
        ("/3/9", &["pmin=1"][..], Code::NOT_FOUND),
        ("/99", &["pmin=1"][..], Code::NOT_FOUND),
        ("/0/0", &["pmin=1"][..], Code::NOT_FOUND),
        ("/", &["pmin=1"][..], Code::METHOD_NOT_ALLOWED),
        ("/3/0/7/1", &["pmin=1"][..], Code::CHANGED), // a resource instance
        ("/3/0/7/9", &["pmin=1"][..], Code::NOT_FOUND),
    ] {
        assert_eq!(
            code(&mut h, write_attributes(path, query)),
            expected,
            "{path}?{query:?}"
        );
    }
    assert_eq!(
        text(&h.request(0, get("/3/0/9", Some(LINK)))),
        "</3/0/9>;gt=50;lt=40;st=4"
    );
    h.run_for(Duration::from_secs(1));
}
