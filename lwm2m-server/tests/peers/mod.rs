//! The tests against independent aiocoap peers: the shared peer-process guard and helpers
//! (`lwm2m_test_support::peers`), and the scripts of this directory.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;

#[allow(unused_imports, reason = "each test binary uses a different subset")]
pub use lwm2m_test_support::peers::{code_and_text, hex, payload, Peer};

/// Starts the script `name` of this directory with the venv's Python and `args`.
pub fn spawn(name: &str, args: &[&str]) -> Peer {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name);
    Peer::spawn(&script, args)
}
