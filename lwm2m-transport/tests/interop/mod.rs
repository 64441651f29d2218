//! Helpers of the interop tests: free loopback ports, peer processes that are always killed,
//! and where the installed peers are (`cargo xtask install` puts them there; a test never skips
//! for a missing tool, it fails and says how to install it).
#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different subset"
)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use lwm2m_transport::udp::Handle;

/// The path of a libcoap command-line tool (Debian `libcoap3-bin`).
pub use lwm2m_test_support::libcoap::tool as libcoap;
/// The Python of the interop venv (`$LWM2M_INTEROP_VENV`, else `<workspace>/target/interop-venv`).
pub use lwm2m_test_support::peers::venv_python;

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    socket.local_addr().expect("local address").port()
}

/// A file of the interop scripts directory.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("interop")
        .join(name)
}

/// A long-running peer process, killed (and reaped) when the guard drops, also when the test
/// panics.
#[derive(Debug)]
pub struct PeerProcess {
    child: Child,
    name: String,
}

impl PeerProcess {
    pub fn start(program: &Path, args: &[&str]) -> PeerProcess {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        PeerProcess {
            child,
            name: program.display().to_string(),
        }
    }

    /// Fails the test if the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early: {status}", self.name);
        }
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a short-lived peer to completion within `limit`, killing it if it takes longer, and
/// returns what it printed. Its exit status is not trusted (libcoap exits 0 on failures).
pub async fn run_peer(program: &Path, args: &[&str], limit: Duration) -> Output {
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let finished = tokio::time::timeout(limit, child.wait_with_output()).await;
    let Ok(output) = finished else {
        panic!(
            "{} {args:?} did not finish within {limit:?}",
            program.display()
        );
    };
    output.expect("collect the peer's output")
}

/// Pings `peer` until it answers (it has bound its socket), for at most 10 s.
pub async fn wait_until_serving(handle: &Handle, peer: SocketAddr, process: &mut PeerProcess) {
    for _ in 0..50 {
        process.assert_running();
        let attempt = tokio::time::timeout(Duration::from_millis(200), handle.ping(peer)).await;
        if matches!(attempt, Ok(Ok(()))) {
            return;
        }
    }
    panic!("{peer} does not answer pings");
}

/// Text output of a peer, for assertions and failure messages.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Body bytes that differ at every offset, so a misplaced block shows.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}
