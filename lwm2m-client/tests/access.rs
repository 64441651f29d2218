//! Access control with two servers (digest §14): each is refused what its ACLs do not allow.

mod common;

use std::time::Duration;

use common::*;
use lwm2m_client::{DeviceObject, ServerAccount, TypedStore};
use lwm2m_codec::coap::Code;
use lwm2m_codec::tlv;
use lwm2m_objects::{AccessControl, ResourceInstances};

const A: usize = 0; // ssid 101
const B: usize = 1; // ssid 102

fn ac(object: i64, instance: i64, acl: &[(u16, i64)], owner: i64) -> AccessControl {
    AccessControl {
        object_id: object,
        object_instance_id: instance,
        acl: Some(acl.iter().copied().collect::<ResourceInstances<_>>()),
        access_control_owner: owner,
    }
}

fn two_servers() -> Harness {
    let setup = Setup {
        servers: vec![
            ServerAccount::new(101, ()).lifetime(300),
            ServerAccount::new(102, ()).lifetime(300),
        ],
        lights: true,
        access: vec![
            (0, ac(1, 0, &[(101, 15)], 101)),
            (1, ac(1, 1, &[(102, 15)], 102)),
            (2, ac(3, 0, &[(101, 15), (102, 1)], 101)),
            (3, ac(3311, 65535, &[(101, 16)], 65535)),
        ],
        ..Setup::default()
    };
    let mut h = Harness::with(setup);
    h.register_all();
    h
}

fn code(h: &mut Harness, server: usize, request: lwm2m_transport::Request) -> Code {
    h.request(server, request).code()
}

fn instance_ids(body: &[u8]) -> Vec<u16> {
    tlv::records(body).map(|r| r.unwrap().id).collect()
}

#[test]
fn each_server_gets_what_its_acl_allows() {
    let mut h = two_servers();
    // Device: A has everything, B only reads.
    assert_eq!(code(&mut h, B, get("/3/0", None)), Code::CONTENT);
    assert_eq!(
        code(&mut h, B, req(Code::PUT, "/3/0/13", Some(TEXT), &[], b"5")),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        code(&mut h, B, req(Code::POST, "/3/0/4", None, &[], b"")),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        code(&mut h, B, req(Code::DELETE, "/3/0", None, &[], b"")),
        Code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        code(&mut h, A, req(Code::POST, "/3/0/4", None, &[], b"")),
        Code::CHANGED
    );
    assert_eq!(
        code(&mut h, A, req(Code::PUT, "/3/0/13", Some(TEXT), &[], b"5")),
        Code::CHANGED
    );
    // Server instances: each server reads only its own; Discover needs no right.
    let r = h.request(A, get("/1", None));
    assert_eq!(instance_ids(r.body()), [0]);
    let r = h.request(B, get("/1", None));
    assert_eq!(instance_ids(r.body()), [1]);
    assert_eq!(code(&mut h, B, get("/1/0", None)), Code::UNAUTHORIZED);
    assert_eq!(code(&mut h, B, get("/1/0/1", None)), Code::UNAUTHORIZED);
    assert_eq!(code(&mut h, B, get("/1/0", Some(LINK))), Code::CONTENT);
    assert_eq!(
        code(&mut h, B, write_attributes("/1/0", &["pmin=1"])),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        code(&mut h, B, observe_code_request("/1/0/1")),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        code(&mut h, B, req(Code::PUT, "/1/1/1", Some(TEXT), &[], b"400")),
        Code::CHANGED
    );
    // The Security object is invisible to both.
    for server in [A, B] {
        assert_eq!(code(&mut h, server, get("/0", None)), Code::NOT_FOUND);
        assert_eq!(code(&mut h, server, get("/0/0/0", None)), Code::NOT_FOUND);
        assert_eq!(code(&mut h, server, get("/0", Some(LINK))), Code::NOT_FOUND);
    }
}

fn observe_code_request(path: &str) -> lwm2m_transport::Request {
    observe(path, 0, None)
}

#[test]
fn create_rights_ownership_and_access_control_instances() {
    let mut h = two_servers();
    let light = hex("08 00 04 E1 16 DA 01");
    assert_eq!(
        code(&mut h, B, req(Code::POST, "/3311", Some(TLV), &[], &light)),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        code(&mut h, A, req(Code::POST, "/6", Some(TLV), &[], &light)),
        Code::UNAUTHORIZED
    );
    let r = h.request(A, req(Code::POST, "/3311", Some(TLV), &[], &light));
    assert_eq!(
        (r.code(), location(&r)),
        (Code::CREATED, vec!["3311".to_string(), "0".to_string()])
    );
    // The client made an Access Control instance owned by the creator, with full rights.
    let store = h
        .client()
        .object::<TypedStore<AccessControl>>(2)
        .unwrap()
        .clone();
    assert_eq!(store.get(4), Some(&ac(3311, 0, &[(101, 15)], 101)));
    // B cannot touch the new instance; A can.
    assert_eq!(code(&mut h, B, get("/3311/0", None)), Code::UNAUTHORIZED);
    assert_eq!(
        code(&mut h, B, req(Code::DELETE, "/3311/0", None, &[], b"")),
        Code::UNAUTHORIZED
    );
    assert_eq!(code(&mut h, A, get("/3311/0", None)), Code::CONTENT);
    // Any server reads Access Control instances; only the owner writes them; nobody creates
    // or deletes them.
    let r = h.request(B, get("/2/4", None));
    assert_eq!(r.code(), Code::CONTENT);
    assert_eq!(
        r.body().as_ref(),
        hex("C2 00 0C EF C1 01 00 83 02 41 65 0F C1 03 65")
    );
    let grant = hex("83 02 41 66 01"); // ACL[102] = R
    assert_eq!(
        code(&mut h, B, req(Code::POST, "/2/4", Some(TLV), &[], &grant)),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        code(&mut h, B, req(Code::DELETE, "/2/4", None, &[], b"")),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        code(&mut h, A, req(Code::DELETE, "/2/4", None, &[], b"")),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        code(
            &mut h,
            A,
            req(Code::POST, "/2", Some(TLV), &[], &hex("C1 00 03"))
        ),
        Code::UNAUTHORIZED
    );
    assert_eq!(
        code(&mut h, A, req(Code::POST, "/2/4", Some(TLV), &[], &grant)),
        Code::CHANGED
    );
    assert_eq!(code(&mut h, B, get("/3311/0", None)), Code::CONTENT);
    assert_eq!(
        code(&mut h, B, req(Code::POST, "/3311/0/5850", None, &[], b"")),
        Code::UNAUTHORIZED
    );
    // The owner deletes the instance: its Access Control instance goes too.
    assert_eq!(
        code(&mut h, A, req(Code::DELETE, "/3311/0", None, &[], b"")),
        Code::DELETED
    );
    let store = h
        .client()
        .object::<TypedStore<AccessControl>>(2)
        .unwrap()
        .clone();
    assert_eq!(store.len(), 4);
    assert!(store.get(4).is_none());
}

#[test]
fn notifications_stop_when_the_read_right_goes() {
    let mut h = two_servers();
    let id = h.start(B, observe("/3/0/9", 0, None));
    assert_eq!(h.wait(id).code(), Code::CONTENT);
    let now = h.now();
    h.client()
        .update_object::<DeviceObject, _>(now, 3, |d| d.device_mut().battery_level = Some(50))
        .unwrap();
    h.run_for(Duration::from_secs(1));
    let count = |h: &Harness| {
        h.state
            .notifications
            .iter()
            .filter(|(_, n, _)| *n == id)
            .count()
    };
    assert_eq!(count(&h), 1);
    // A (the owner of /2/2) takes B's read right away: replace the ACL with A's entry only.
    let acl = hex("83 02 41 65 0F");
    assert_eq!(
        code(&mut h, A, req(Code::PUT, "/2/2/2", Some(TLV), &[], &acl)),
        Code::CHANGED
    );
    assert_eq!(code(&mut h, B, get("/3/0/9", None)), Code::UNAUTHORIZED);
    let now = h.now();
    h.client()
        .update_object::<DeviceObject, _>(now, 3, |d| d.device_mut().battery_level = Some(40))
        .unwrap();
    h.run_for(Duration::from_secs(100));
    assert_eq!(count(&h), 1);
}
