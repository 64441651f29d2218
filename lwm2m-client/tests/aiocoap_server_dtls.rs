//! Our client against the independent aiocoap LwM2M server of `tests/peers/lwm2m_server.py`
//! over DTLS with a pre-shared key: the peer listens on `coaps://` with aiocoap's
//! `tinydtls_server` transport (`DTLSSocket` 0.2.3, tinydtls 0.8.6, `TLS_PSK_WITH_AES_128_CCM_8`).
//!
//! What this shows today is an incompatibility, pinned down exactly: tinydtls 0.8.6 refuses
//! every DTLS 1.2 `ClientHello` without the RFC 5746 `renegotiation_info` extension (or the
//! `TLS_EMPTY_RENEGOTIATION_INFO_SCSV` suite) with a fatal `handshake_failure` alert, and the
//! `ClientHello` of our DTLS backend (dimpl 0.9.0, `Backend::Dimpl`, the only backend the client
//! runtime uses) carries neither. `tests/peers/dtls_hello_probe.py` sends the same PSK hello
//! with and without the extension to tell the two apart. When the client's hello gains the
//! extension, the assertion on the client's error fails, and this file gets the Read, Write
//! and Observe over DTLS that `aiocoap_server.rs` runs over `NoSec`.
#![cfg(feature = "dtls")]

mod peers;

use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_client::runtime::{ClientTask, RuntimeError};
use lwm2m_client::{ClientBuilder, ServerAccount};
use lwm2m_transport::dtls::{Alert, DtlsError, HandshakeFailure, Limits};
use peers::session::{device, port, LIMIT};
use peers::{hex, Peer};
use serde_json::{json, Value};
use tokio::net::UdpSocket;

const IDENTITY: &str = "aiocoap-dtls-node";
const KEY: &[u8] = b"0123456789abcdef";
/// TLS alert `handshake_failure`.
const HANDSHAKE_FAILURE: u8 = 40;

/// The probe's report of what the DTLS server at `server` answers to a PSK `ClientHello`
/// with or without `renegotiation_info`.
async fn probe(server: SocketAddr, renegotiation_info: bool) -> Value {
    let flag = if renegotiation_info { "1" } else { "0" };
    let mut probe = Peer::spawn("dtls_hello_probe.py", &[&server.port().to_string(), flag]);
    let line = probe.expect("probe", LIMIT).await;
    probe.finish(LIMIT).await;
    line
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_tinydtls_refuses_our_client_hello_which_lacks_renegotiation_info() {
    let config = json!({
        "steps": [],
        "dtls": {"identity": IDENTITY, "key_hex": hex(KEY)},
        // Long enough for the probes and our client; then the peer gives up waiting for a
        // Register and says so.
        "timeout": 8,
    });
    let mut peer = Peer::spawn("lwm2m_server.py", &[&config.to_string()]);
    let listening = peer.expect("listening", LIMIT).await;
    let server = port(&listening, "port");

    // The peer's DTLS server works: a PSK CCM_8 hello with renegotiation_info gets its
    // ServerHello (handshake type 2); the same hello without it gets a fatal (2)
    // handshake_failure.
    let with = probe(server, true).await;
    assert_eq!(
        (
            with["record_type"].as_u64(),
            with["handshake_type"].as_u64()
        ),
        (Some(22), Some(2)),
        "{with}; {}",
        peer.context()
    );
    let without = probe(server, false).await;
    assert_eq!(
        without["alert"],
        json!([2, HANDSHAKE_FAILURE]),
        "{without}; {}",
        peer.context()
    );

    // Our client, with the key the peer knows, is refused the same way before any PSK is
    // used: the task stops with the typed DTLS error naming the peer's alert.
    let client = ClientBuilder::new(IDENTITY)
        .server(
            ServerAccount::new(101, server)
                .uri(format!("coaps://{server}"))
                .lifetime(300)
                .psk(IDENTITY.as_bytes(), KEY),
        )
        .object(device())
        .build()
        .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (task, _handle) = ClientTask::new(client, socket);
    let mut limits = Limits::default();
    limits.handshake_timeout = Duration::from_secs(5);
    let outcome = tokio::time::timeout(LIMIT, task.dtls_limits(limits).run())
        .await
        .expect("the task must stop within the limit");
    match outcome {
        Err(RuntimeError::Dtls { peer: to, source }) => {
            assert_eq!(to, server);
            assert_eq!(
                source,
                DtlsError::Handshake(HandshakeFailure::PeerAlert(Alert(HANDSHAKE_FAILURE)))
            );
        }
        other => panic!("expected a DTLS error, got {other:?}; {}", peer.context()),
    }
    // Nothing reached the LwM2M server: its next report is that it timed out waiting for a
    // Register.
    let last = peer.next(LIMIT).await;
    assert_eq!(
        last,
        json!({"event": "error", "message": "session timed out"}),
        "{}",
        peer.context()
    );
}
