//! Resource-instance paths (`/o/i/r/ri`): Read, Write (replace of one instance), Discover,
//! Observe and Write-Attributes on one instance of a multiple resource, and the codes for
//! instances that do not exist (4.04) and operations that do not apply (4.05).

mod common;

use lwm2m_objects::ResourceInstances;
use std::time::Duration;

use common::*;
use lwm2m_client::{DeviceObject, ServerAccount};
use lwm2m_codec::coap::Code;
use lwm2m_objects::AccessControl;

fn ac(object: i64, instance: i64, acl: &[(u16, i64)], owner: i64) -> AccessControl {
    AccessControl {
        object_id: object,
        object_instance_id: instance,
        acl: Some(acl.iter().copied().collect::<ResourceInstances<_>>()),
        access_control_owner: owner,
    }
}

/// One server (ssid 1) and an Access Control instance `/2/0` whose ACL (`/2/0/2`, a writable
/// multiple resource) has instances 1 and 7.
fn registered() -> Harness {
    let setup = Setup {
        access: vec![(0, ac(3, 0, &[(1, 15), (7, 1)], 1))],
        ..Setup::default()
    };
    let mut h = Harness::with(setup);
    h.register_all();
    h
}

fn code(h: &mut Harness, request: lwm2m_transport::Request) -> Code {
    h.request(0, request).code()
}

#[test]
fn read_one_instance_in_every_format() {
    let mut h = registered();
    // Available Power Sources /3/0/6 = {0: 1, 1: 5}: plain text by default.
    let r = h.request(0, get("/3/0/6/1", None));
    assert_eq!(
        (r.code(), r.content_format(), text(&r)),
        (Code::CONTENT, Some(TEXT), "5".into())
    );
    // TLV: the Multiple-Resource TLV 6 around the Resource-Instance TLV 1.
    let r = h.request(0, get("/3/0/6/1", Some(TLV)));
    assert_eq!(r.content_format(), Some(TLV));
    assert_eq!(r.body().as_ref(), hex("83 06 41 01 05"));
    // JSON: the instance is the base name.
    let r = h.request(0, get("/3/0/7/0", Some(JSON)));
    assert_eq!(text(&r), r#"{"bn":"/3/0/7/0","e":[{"v":3800}]}"#);
    // Opaque cannot carry an Integer.
    assert_eq!(
        code(&mut h, get("/3/0/6/1", Some(OPAQUE))),
        Code::NOT_ACCEPTABLE
    );
}

#[test]
fn missing_instances_are_not_found() {
    let mut h = registered();
    for path in [
        "/3/0/6/9",  // no such resource instance
        "/3/0/9/0",  // Battery Level is a single resource: it has no instances
        "/3/0/15/0", // Timezone: single, and without a value
        "/3/1/6/0",  // no such object instance
        "/3/0/99/0", // no such resource
        "/0/0/0/0",  // the Security object is invisible
        "/42/0/0/0", // no such object
    ] {
        assert_eq!(
            code(&mut h, get(path, None)),
            Code::NOT_FOUND,
            "Read {path}"
        );
        assert_eq!(
            code(&mut h, get(path, Some(LINK))),
            Code::NOT_FOUND,
            "Discover {path}"
        );
        assert_eq!(
            code(&mut h, observe(path, 0, None)),
            Code::NOT_FOUND,
            "Observe {path}"
        );
        assert_eq!(
            code(&mut h, write_attributes(path, &["pmin=5"])),
            Code::NOT_FOUND,
            "Write-Attributes {path}"
        );
    }
    assert_eq!(
        code(&mut h, req(Code::PUT, "/2/0/2/9", Some(TEXT), &[], b"1")),
        Code::NOT_FOUND
    );
}

#[test]
fn write_replaces_one_instance_and_keeps_the_others() {
    let mut h = registered();
    assert_eq!(
        code(&mut h, req(Code::PUT, "/2/0/2/7", Some(TEXT), &[], b"3")),
        Code::CHANGED
    );
    assert_eq!(text(&h.request(0, get("/2/0/2/7", None))), "3");
    let whole = h.request(0, get("/2/0/2", Some(JSON)));
    assert_eq!(
        text(&whole),
        r#"{"bn":"/2/0/2/","e":[{"n":"1","v":15},{"n":"7","v":3}]}"#
    );
    // TLV and JSON payloads name the instance.
    assert_eq!(
        code(
            &mut h,
            req(
                Code::PUT,
                "/2/0/2/1",
                Some(TLV),
                &[],
                &hex("83 02 41 01 05")
            )
        ),
        Code::CHANGED
    );
    assert_eq!(
        code(
            &mut h,
            req(
                Code::PUT,
                "/2/0/2/7",
                Some(JSON),
                &[],
                br#"{"bn":"/2/0/2/7","e":[{"v":1}]}"#
            )
        ),
        Code::CHANGED
    );
    let whole = h.request(0, get("/2/0/2", Some(JSON)));
    assert_eq!(
        text(&whole),
        r#"{"bn":"/2/0/2/","e":[{"n":"1","v":5},{"n":"7","v":1}]}"#
    );
    assert!(h.events().any(|e| matches!(
        e,
        lwm2m_client::ClientEvent::Written { path, .. } if path.to_string() == "/2/0/2/7"
    )));
}

#[test]
fn operations_that_do_not_apply_are_refused() {
    let mut h = registered();
    // Available Power Sources is read-only.
    assert_eq!(
        code(&mut h, req(Code::PUT, "/3/0/6/1", Some(TEXT), &[], b"2")),
        Code::METHOD_NOT_ALLOWED
    );
    // No partial update, Execute, Create or Delete on a resource instance.
    assert_eq!(
        code(&mut h, req(Code::POST, "/2/0/2/1", Some(TEXT), &[], b"2")),
        Code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        code(&mut h, req(Code::DELETE, "/2/0/2/1", None, &[], b"")),
        Code::METHOD_NOT_ALLOWED
    );
    // A payload of the wrong type, or one that names another instance.
    assert_eq!(
        code(&mut h, req(Code::PUT, "/2/0/2/1", Some(TEXT), &[], b"abc")),
        Code::BAD_REQUEST
    );
    assert_eq!(
        code(
            &mut h,
            req(
                Code::PUT,
                "/2/0/2/1",
                Some(TLV),
                &[],
                &hex("83 02 41 07 05")
            )
        ),
        Code::BAD_REQUEST
    );
    // Opaque is for Opaque resources; link format is no value format.
    assert_eq!(
        code(
            &mut h,
            req(Code::PUT, "/2/0/2/1", Some(OPAQUE), &[], b"\x01")
        ),
        Code::UNSUPPORTED_CONTENT_FORMAT
    );
    assert_eq!(
        code(&mut h, req(Code::PUT, "/2/0/2/1", Some(LINK), &[], b"</1>")),
        Code::UNSUPPORTED_CONTENT_FORMAT
    );
    // Nothing changed.
    assert_eq!(text(&h.request(0, get("/2/0/2/1", None))), "15");
}

#[test]
fn discover_and_write_attributes_inherit_down_to_the_instance() {
    let mut h = registered();
    let r = h.request(0, get("/3/0/7/1", Some(LINK)));
    assert_eq!((r.code(), text(&r)), (Code::CONTENT, "</3/0/7/1>".into()));
    assert_eq!(
        code(&mut h, write_attributes("/3/0/7", &["pmin=5", "gt=4000"])),
        Code::CHANGED
    );
    assert_eq!(
        code(
            &mut h,
            write_attributes("/3/0/7/1", &["pmax=20", "gt=4500"])
        ),
        Code::CHANGED
    );
    assert_eq!(
        text(&h.request(0, get("/3/0/7/1", Some(LINK)))),
        "</3/0/7/1>;pmin=5;pmax=20;gt=4500"
    );
    // The other instance only inherits.
    assert_eq!(
        text(&h.request(0, get("/3/0/7/0", Some(LINK)))),
        "</3/0/7/0>;pmin=5;gt=4000"
    );
    // The resource-level rules apply: gt/lt/st need a number, and lt < gt.
    assert_eq!(
        code(&mut h, write_attributes("/3/0/7/1", &["lt=5000"])),
        Code::BAD_REQUEST
    );
    assert_eq!(
        code(&mut h, write_attributes("/1/0/7/0", &["pmin=1"])),
        Code::NOT_FOUND
    );
}

#[test]
fn observe_one_instance() {
    let mut h = registered();
    assert_eq!(
        code(&mut h, write_attributes("/3/0/7/1", &["st=100"])),
        Code::CHANGED
    );
    let id = h.start(0, observe("/3/0/7/1", 0, None));
    let first = h.wait(id);
    assert_eq!(
        (first.code(), first.observe(), text(&first)),
        (Code::CONTENT, Some(1), "5000".into())
    );
    let set = |h: &mut Harness, v0: i64, v1: i64| {
        let now = h.now();
        h.client()
            .update_object::<DeviceObject, _>(now, 3, |d| {
                d.device_mut().power_source_voltage =
                    Some(ResourceInstances::from([(0, v0), (1, v1)]));
            })
            .unwrap();
        h.run_for(Duration::from_secs(1));
    };
    // Another instance changes: nothing. A step below st: nothing. A step of st: notified.
    set(&mut h, 3000, 5000);
    set(&mut h, 3000, 5050);
    set(&mut h, 3000, 5150);
    let payloads: Vec<String> = h
        .state
        .notifications
        .iter()
        .filter(|(_, n, _)| *n == id)
        .map(|(_, _, r)| text(r))
        .collect();
    assert_eq!(payloads, ["5150"]);
    // The instance disappears: the observation ends with 4.04.
    set(&mut h, 3000, 5150);
    let now = h.now();
    h.client()
        .update_object::<DeviceObject, _>(now, 3, |d| {
            d.device_mut().power_source_voltage = Some(ResourceInstances::from([(0, 3000)]));
        })
        .unwrap();
    h.run_for(Duration::from_secs(1));
    assert!(h
        .state
        .ended
        .iter()
        .any(|(n, r)| *n == id && r.code() == Code::NOT_FOUND));
}

#[test]
fn access_rights_apply_to_resource_instances() {
    let setup = Setup {
        servers: vec![
            ServerAccount::new(101, ()).lifetime(300),
            ServerAccount::new(102, ()).lifetime(300),
        ],
        access: vec![
            (0, ac(3, 0, &[(101, 15)], 101)),
            (1, ac(1, 0, &[(101, 15)], 101)),
            (2, ac(1, 1, &[(102, 15)], 102)),
        ],
        ..Setup::default()
    };
    let mut h = Harness::with(setup);
    h.register_all();
    // 102 has no right on /3/0.
    assert_eq!(
        h.request(1, get("/3/0/6/1", None)).code(),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        h.request(1, observe("/3/0/6/1", 0, None)).code(),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        h.request(1, write_attributes("/3/0/6/1", &["pmin=1"]))
            .code(),
        Code::UNAUTHORIZED
    );
    // Discover needs no right.
    assert_eq!(
        h.request(1, get("/3/0/6/1", Some(LINK))).code(),
        Code::CONTENT
    );
    // Only the owner writes an Access Control instance: 102 may not change /2/0's ACL.
    assert_eq!(
        h.request(1, req(Code::PUT, "/2/0/2/101", Some(TEXT), &[], b"0"))
            .code(),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        h.request(0, req(Code::PUT, "/2/0/2/101", Some(TEXT), &[], b"1"))
            .code(),
        Code::CHANGED
    );
    assert_eq!(h.request(0, get("/2/0/2/101", None)).code(), Code::CONTENT);
    assert_eq!(text(&h.request(1, get("/2/0/2/101", None))), "1");
}
