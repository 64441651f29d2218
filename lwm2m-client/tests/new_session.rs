//! A new DTLS session with a server (after the server lost the old one, e.g. in a restart)
//! starts a new duplicate-detection scope: the server's message ids in the new session are new
//! messages, even where the old session used the same ids (`Client::new_session`, which the
//! tokio runtime calls when a session connects).

use lwm2m_client::{ClientBuilder, DeviceObject, ServerAccount};
use lwm2m_codec::coap::{Message, Type};
use lwm2m_objects::Device;
use lwm2m_transport::Instant;

/// The hex string as bytes.
fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// The ACKs the client sent (piggy-backed responses), as (message id, token).
fn acks(client: &mut lwm2m_client::Client<&'static str>) -> Vec<(u16, Vec<u8>)> {
    std::iter::from_fn(|| client.poll_transmit())
        .filter_map(|t| {
            let msg = Message::parse(&t.contents).ok()?;
            (msg.ty() == Type::Acknowledgement).then(|| (msg.message_id(), msg.token().to_vec()))
        })
        .collect()
}

#[test]
fn a_new_session_is_not_taken_for_duplicates_of_the_old_one() {
    let device = DeviceObject::new(Device {
        manufacturer: Some("lwm2m-rs".into()),
        supported_binding_and_modes: "U".into(),
        ..Device::default()
    });
    let mut client = ClientBuilder::new("node")
        .server(ServerAccount::new(101, "srv"))
        .object(device)
        .build()
        .unwrap();
    let now = Instant::ZERO;
    client.handle_timeout(now);
    let _ = acks(&mut client);
    // CON GET /3/0/0, message id 2: token 0B in the old session, 0C in the new one.
    let old = hex("41 01 00 02 0B B1 33 01 30 01 30");
    let new = hex("41 01 00 02 0C B1 33 01 30 01 30");
    client.handle_datagram(now, "srv", &old);
    assert_eq!(acks(&mut client), [(2, vec![0x0B])]);
    // The same message id again in the same session: a duplicate, answered with the old reply.
    client.handle_datagram(now, "srv", &new);
    assert_eq!(acks(&mut client), [(2, vec![0x0B])]);

    client.new_session(&"srv");
    client.handle_datagram(now, "srv", &new);
    assert_eq!(
        acks(&mut client),
        [(2, vec![0x0C])],
        "the new session's request is answered as a new request"
    );
}
