use super::*;
use crate::builder::ClientBuilder;
use crate::config::ServerAccount;
use crate::object::DeviceObject;
use lwm2m_model::Path;
use lwm2m_objects::{Device, Server};

/// Peers are small numbers; a server URI is `peer:<n>`.
fn resolve(uri: &str) -> Option<u8> {
    uri.strip_prefix("peer:")?.parse().ok()
}

fn client(servers: &[u16]) -> Client<u8> {
    let device = DeviceObject::new(Device {
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    });
    let mut builder = ClientBuilder::new("ep")
        .object(device)
        .bootstrap_server(BootstrapConfig::new(9, "peer:9", resolve).hold_off(4))
        .seed([3; 32]);
    for &ssid in servers {
        builder = builder.server(ServerAccount::new(ssid, ssid as u8).uri(format!("peer:{ssid}")));
    }
    builder.build().unwrap()
}

fn security(c: &mut Client<u8>) -> &mut TypedStore<Security> {
    c.object_mut::<TypedStore<Security>>(0).unwrap()
}

fn server(c: &mut Client<u8>) -> &mut TypedStore<Server> {
    c.object_mut::<TypedStore<Server>>(1).unwrap()
}

#[test]
fn without_servers_the_first_bootstrap_request_waits_for_the_hold_off() {
    let mut c = client(&[]);
    assert!(c.is_bootstrapping());
    assert_eq!(c.poll_timeout(), Some(Instant::from_secs(4)));
    c.handle_timeout(Instant::from_secs(4));
    let sent = c.poll_transmit().unwrap();
    assert_eq!(sent.destination, 9);
    let msg = lwm2m_codec::coap::Message::parse(&sent.contents).unwrap();
    assert!(msg.uri_path().unwrap().eq(["bs"]));
    assert!(msg.uri_query().unwrap().eq(["ep=ep"]));
    assert_eq!(c.poll_event(), Some(ClientEvent::BootstrapStarted));
    // The Bootstrap-Server account is a Security instance without ssid.
    let bs = security(&mut c).get(0).cloned().unwrap();
    assert!(bs.bootstrap_server);
    assert_eq!(bs.client_hold_off_time, Some(4));
}

#[test]
fn with_servers_the_client_registers_first() {
    let c = client(&[1]);
    assert!(!c.is_bootstrapping());
    // The factory account is /0/0, the Bootstrap-Server's /0/1.
    let discover = c.bootstrap_discover(&Path::object(0).unwrap()).unwrap();
    assert_eq!(discover, r#"lwm2m="1.0",</0/0>;ssid=1,</0/1>"#);
    assert_eq!(
        c.bootstrap_discover(&Path::object(1).unwrap()).unwrap(),
        r#"lwm2m="1.0",</1/0>;ssid=1"#
    );
    assert!(c.bootstrap_discover(&Path::object(42).unwrap()).is_err());
}

#[test]
fn finish_checks_the_configuration() {
    let mut c = client(&[1, 2]);
    assert_eq!(c.configured_accounts().unwrap(), [(1, 1), (2, 2)]);
    // A Server instance without its Security instance.
    security(&mut c).remove(1);
    let e = c.configured_accounts().unwrap_err();
    assert!(e.contains("ssid 2"), "{e}");
    // A Security instance without ssid.
    let mut no_ssid = security(&mut c).get(0).cloned().unwrap();
    no_ssid.short_server_id = None;
    security(&mut c).insert(1, no_ssid);
    assert!(c.configured_accounts().unwrap_err().starts_with("/0/1"));
    // An unusable URI.
    let mut bad_uri = security(&mut c).get(0).cloned().unwrap();
    bad_uri.short_server_id = Some(2);
    bad_uri.lwm2m_server_uri = "coaps://x".into();
    security(&mut c).insert(1, bad_uri);
    assert!(c.configured_accounts().unwrap_err().contains("URI"));
    // An unsupported binding.
    security(&mut c).remove(1);
    server(&mut c).remove(1);
    server(&mut c).get_mut(0).unwrap().binding = "S".into();
    assert!(c.configured_accounts().unwrap_err().contains("binding"));
    // Nothing left.
    security(&mut c).remove(0);
    server(&mut c).remove(0);
    assert_eq!(
        c.configured_accounts().unwrap_err(),
        "no LwM2M server account"
    );
}
