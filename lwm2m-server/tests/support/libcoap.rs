//! libcoap's `coap-client-openssl` as an independent DTLS client.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use lwm2m_test_support::libcoap;

/// Runs `coap-client-openssl` (killed if it outlives 30 s); returns stdout + stderr.
pub async fn coap_client(args: &[&str]) -> String {
    let child = tokio::process::Command::new(libcoap::tool("coap-client-openssl"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start coap-client-openssl");
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("coap-client-openssl did not finish within 30 s")
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `POST /rd?ep={ep}&lt=300` with `</3/0>` over coaps with the PSK `identity`/`key`.
pub async fn register(dtls: SocketAddr, ep: &str, identity: &str, key: &str) -> String {
    let uri = format!("coaps://127.0.0.1:{}/rd?ep={ep}&lt=300", dtls.port());
    coap_client(&[
        "-v", "7", "-B", "10", "-m", "post", "-t", "40", "-e", "</3/0>", "-u", identity, "-k", key,
        &uri,
    ])
    .await
}
