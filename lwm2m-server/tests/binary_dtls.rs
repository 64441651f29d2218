//! The `lwm2m-server` binary with `--dtls-addr`: credentials set over the HTTP API, then
//! libcoap's `coap-client-openssl` registers over `coaps://` with them; the wrong endpoint name
//! gets 4.03.
#![cfg(all(feature = "dtls", feature = "redb"))]

mod binary_support;
mod support;

use binary_support::{free_tcp, free_udp, wait_for, Binary};
use serde_json::json;
use support::http::call;
use support::libcoap::register;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_registers_a_psk_client_over_dtls() {
    let dir = tempfile::tempdir().unwrap();
    let (coap, dtls, api) = (free_udp(), free_udp(), free_tcp());
    let binary = Binary::start(&[
        "--coap-addr".into(),
        coap.to_string(),
        "--dtls-addr".into(),
        dtls.to_string(),
        "--http-addr".into(),
        api.to_string(),
        "--data-dir".into(),
        dir.path().join("data").display().to_string(),
    ]);
    wait_for(api, "/api/clients", "[").await;
    let psk = json!({"mode": "psk", "identity": "bin-psk", "key": hex::encode("bin-secret-key")});
    let (status, body) = call(api, "PUT", "/api/credentials/bin-dtls", &psk.to_string()).await;
    assert_eq!(status, 204, "{body}");

    let output = register(dtls, "bin-dtls", "bin-psk", "bin-secret-key").await;
    assert!(output.contains("2.01"), "no 2.01 Created: {output}");
    let client = wait_for(api, "/api/clients/bin-dtls", "bin-dtls").await;
    assert!(output.contains(client["id"].as_str().unwrap()), "{output}");
    let output = register(dtls, "not-bin-dtls", "bin-psk", "bin-secret-key").await;
    assert!(output.contains("4.03"), "no 4.03 Forbidden: {output}");
    assert_eq!(
        call(api, "GET", "/api/clients/not-bin-dtls", "").await.0,
        404
    );
    binary.terminate();
}
