//! The pre-shared key of the DTLS sessions with `lwm2m_server.py`, and the client side of it.

use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_client::ServerAccount;
use lwm2m_transport::dtls::Limits;
use serde_json::{json, Value};

use crate::peers::hex;

/// The PSK identity the peer knows.
pub const IDENTITY: &str = "aiocoap-dtls-node";
/// The PSK the peer knows for [`IDENTITY`].
pub const KEY: &[u8] = b"0123456789abcdef";

/// The peer's configuration `config` with its LwM2M server on `coaps://`, knowing
/// [`IDENTITY`] -> [`KEY`].
pub fn with_dtls(mut config: Value) -> Value {
    config["dtls"] = json!({"identity": IDENTITY, "key_hex": hex(KEY)});
    config
}

/// The `coaps://` account `ssid` at `server` with [`IDENTITY`] and [`KEY`].
pub fn account(ssid: u16, server: SocketAddr) -> ServerAccount<SocketAddr> {
    ServerAccount::new(ssid, server)
        .uri(format!("coaps://{server}"))
        .psk(IDENTITY.as_bytes(), KEY)
}

/// DTLS limits with a handshake timeout short enough for a test.
pub fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.handshake_timeout = Duration::from_secs(5);
    limits
}
