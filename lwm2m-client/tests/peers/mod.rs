//! Helpers of the tests against independent aiocoap peers: where the interop venv is (`cargo
//! xtask install` creates it; a test never skips for a missing tool, it fails and says how to
//! install it), and a peer process whose JSON report lines the test reads as they come. The
//! process is killed when the guard drops, also when the test panics.
#![allow(dead_code, reason = "each test binary uses a different subset")]

#[cfg(feature = "tokio")]
pub mod session;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// The Python of the interop venv: `$LWM2M_INTEROP_VENV/bin/python`, else
/// `<workspace>/target/interop-venv/bin/python`, as `cargo xtask install` creates it.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("LWM2M_INTEROP_VENV")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("..")
                    .join("target")
                    .join("interop-venv")
            },
            PathBuf::from,
        );
    let python = venv.join("bin").join("python");
    assert!(
        python.is_file(),
        "{} is missing: run `cargo xtask install` (it creates the venv with aiocoap)",
        python.display()
    );
    python
}

/// A script of this directory.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("peers")
        .join(name)
}

/// A running peer script and the report lines read so far.
pub struct Peer {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<String>>,
    /// Every line read so far, for failure messages.
    pub seen: Vec<Value>,
    /// Lines read while looking for another event, not yet asked for.
    pending: VecDeque<Value>,
}

impl Peer {
    /// Starts `script` of `tests/peers` with the venv's Python and `args`.
    pub fn spawn(script_name: &str, args: &[&str]) -> Peer {
        let python = venv_python();
        let mut child = Command::new(&python)
            .arg(script(script_name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        // Drained in the background, so a chatty peer never blocks on a full pipe.
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = stderr_pipe.read_to_end(&mut buf).await;
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf));
        });
        Peer {
            child,
            lines: BufReader::new(stdout).lines(),
            stderr,
            seen: Vec::new(),
            pending: VecDeque::new(),
        }
    }

    /// What the peer printed so far, for failure messages.
    pub fn context(&self) -> String {
        let lines: Vec<String> = self.seen.iter().map(Value::to_string).collect();
        format!(
            "peer stdout:\n{}\npeer stderr:\n{}",
            lines.join("\n"),
            self.stderr.lock().unwrap()
        )
    }

    /// The next report line, waiting at most `limit`.
    pub async fn next(&mut self, limit: Duration) -> Value {
        let line = match tokio::time::timeout(limit, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => {
                // Let the stderr reader finish before showing it.
                let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                panic!("the peer exited early; {}", self.context())
            }
            Ok(Err(e)) => panic!("cannot read the peer's output: {e}; {}", self.context()),
            Err(elapsed) => panic!(
                "{elapsed}: no report from the peer within {limit:?}; {}",
                self.context()
            ),
        };
        let value: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON report line ({e}): {line}"));
        self.seen.push(value.clone());
        value
    }

    /// The first line not yet asked for whose `event` is `event`, reading more lines if needed
    /// (at most `limit` in all); lines of other events stay for later calls. A line with event
    /// `error` fails the test.
    pub async fn expect(&mut self, event: &str, limit: Duration) -> Value {
        if let Some(index) = self.pending.iter().position(|l| l["event"] == event) {
            return self.pending.remove(index).expect("a pending line");
        }
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let line = self.next(left).await;
            let kind = line["event"].as_str().unwrap_or_default();
            assert_ne!(kind, "error", "{}", self.context());
            if kind == event {
                return line;
            }
            self.pending.push_back(line);
        }
    }

    /// The `step` line of the step `name` (the steps come in order; others before it are
    /// kept in [`seen`](Self::seen)).
    pub async fn step(&mut self, name: &str) -> Value {
        let line = self.expect("step", Duration::from_secs(20)).await;
        assert_eq!(line["name"], name, "steps out of order; {}", self.context());
        line
    }

    /// Waits for the peer to exit (at most `limit`) and checks it succeeded.
    pub async fn finish(mut self, limit: Duration) {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the peer did not exit in time; {}", self.context()))
            .expect("wait for the peer");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            status.success(),
            "peer failed: {status}; {}",
            self.context()
        );
    }
}

/// A report line's `payload_hex` as bytes.
pub fn payload(line: &Value) -> Vec<u8> {
    let text = line["payload_hex"].as_str().expect("a payload_hex field");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Bytes as lowercase hex (as the peers print them).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A report line's code and payload text.
pub fn code_and_text(line: &Value) -> (String, String) {
    (
        line["code"].as_str().expect("a code field").to_owned(),
        String::from_utf8(payload(line)).expect("a text payload"),
    )
}
