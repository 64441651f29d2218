//! Independent aiocoap peers driven by the interop tests: where the interop venv is (`cargo
//! xtask install` creates it; a test never skips for a missing tool, it fails and says how to
//! install it), and a peer process whose JSON report lines the test reads as they come. The
//! process is killed when the guard drops, also when the test panics.
//!
//! The scripts stay beside the tests of each crate; a crate's `tests/peers/mod.rs` turns a
//! script name into its path and hands it to [`Peer::spawn`].

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// The environment variable that points the tests at an interop venv elsewhere.
pub const VENV_VARIABLE: &str = "LWM2M_INTEROP_VENV";

/// Where `cargo xtask install` creates the interop venv: `<workspace>/target/interop-venv`.
///
/// This crate sits one level below the workspace root, as the crates whose tests use it do, so
/// `<this crate>/../target` is the same workspace target directory their tests used to name.
pub fn default_venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("interop-venv")
}

/// The Python of the interop venv: `$LWM2M_INTEROP_VENV/bin/python`, else
/// [`default_venv`]`/bin/python`.
///
/// # Panics
/// When that file does not exist, with a message saying to run `cargo xtask install`.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os(VENV_VARIABLE)
        .filter(|v| !v.is_empty())
        .map_or_else(default_venv, PathBuf::from);
    let python = venv.join("bin").join("python");
    assert!(
        python.is_file(),
        "{} is missing: run `cargo xtask install` (it creates the venv with aiocoap)",
        python.display()
    );
    python
}

/// A running peer process and the report lines (one JSON object a line, with an `event` field)
/// read so far. The process is killed when this drops.
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
    /// Starts the Python script at `script` with the venv's Python ([`venv_python`]) and `args`.
    ///
    /// Must be called within a tokio runtime (the peer's stderr is drained by a task).
    ///
    /// # Panics
    /// When the venv is missing or the process cannot start.
    pub fn spawn(script: &Path, args: &[&str]) -> Peer {
        let mut command = Command::new(venv_python());
        command.arg(script).args(args);
        Peer::start(command)
    }

    /// Starts `command` with its stdout and stderr piped to this guard and no stdin.
    ///
    /// Must be called within a tokio runtime (the peer's stderr is drained by a task).
    ///
    /// # Panics
    /// When the process cannot start.
    pub fn start(mut command: Command) -> Peer {
        let program = command.as_std().get_program().to_owned();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        // Drained in the background, so a chatty peer never blocks on a full pipe.
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = stderr_pipe.read_to_end(&mut buf).await;
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
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

    /// What the peer printed so far (the report lines read and its stderr), for failure
    /// messages.
    pub fn context(&self) -> String {
        let lines: Vec<String> = self.seen.iter().map(Value::to_string).collect();
        format!(
            "peer stdout:\n{}\npeer stderr:\n{}",
            lines.join("\n"),
            self.stderr.lock().unwrap_or_else(PoisonError::into_inner)
        )
    }

    /// The next report line, waiting at most `limit`.
    ///
    /// # Panics
    /// When no line comes within `limit`, the peer exits first, or the line is not JSON; the
    /// message holds [`context`](Self::context).
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
            .unwrap_or_else(|e| panic!("not a JSON report line ({e}): {line}; {}", self.context()));
        self.seen.push(value.clone());
        value
    }

    /// The first line not yet asked for whose `event` is `event`, reading more lines if needed
    /// (at most `limit` in all); lines of other events stay for later calls.
    ///
    /// # Panics
    /// As [`next`](Self::next), and on a line with event `error`.
    pub async fn expect(&mut self, event: &str, limit: Duration) -> Value {
        if let Some(index) = self.pending.iter().position(|l| l["event"] == event) {
            if let Some(line) = self.pending.remove(index) {
                return line;
            }
        }
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let line = self.next(left).await;
            let kind = line["event"].as_str().unwrap_or_default();
            assert_ne!(
                kind,
                "error",
                "the peer reported an error; {}",
                self.context()
            );
            if kind == event {
                return line;
            }
            self.pending.push_back(line);
        }
    }

    /// The `step` line of the step `name` (the steps come in order; others before it are
    /// kept in [`seen`](Self::seen)), waiting at most 20 s.
    ///
    /// # Panics
    /// As [`expect`](Self::expect), and when the next step is another one.
    pub async fn step(&mut self, name: &str) -> Value {
        let line = self.expect("step", Duration::from_secs(20)).await;
        assert_eq!(line["name"], name, "steps out of order; {}", self.context());
        line
    }

    /// Waits for the peer to exit (at most `limit`) and checks it succeeded.
    ///
    /// # Panics
    /// When the peer does not exit in time or exits with a failure status.
    pub async fn finish(mut self, limit: Duration) {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the peer did not exit in time; {}", self.context()))
            .unwrap_or_else(|e| panic!("cannot wait for the peer: {e}; {}", self.context()));
        // Let the stderr reader finish before a failure shows it.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            status.success(),
            "peer failed: {status}; {}",
            self.context()
        );
    }
}

/// A report line's `payload_hex` as bytes.
///
/// # Panics
/// When the line has no `payload_hex` string or it is not hex.
pub fn payload(line: &Value) -> Vec<u8> {
    let text = line["payload_hex"]
        .as_str()
        .unwrap_or_else(|| panic!("no payload_hex string in {line}"));
    ::hex::decode(text).unwrap_or_else(|e| panic!("payload_hex is not hex ({e}) in {line}"))
}

/// Bytes as lowercase hex (as the peers print them).
pub fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

/// A report line's `code` and its payload as text.
///
/// # Panics
/// When the line has no `code` string, or its payload is missing or not UTF-8.
pub fn code_and_text(line: &Value) -> (String, String) {
    let code = line["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code string in {line}"));
    let text = String::from_utf8(payload(line))
        .unwrap_or_else(|e| panic!("the payload is not UTF-8 text ({e}) in {line}"));
    (code.to_owned(), text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A peer that prints `script`'s lines (shell `printf` format) and exits with `status`.
    fn shell(script: &str) -> Peer {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        Peer::start(command)
    }

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn the_default_venv_is_in_the_workspace_target_directory() {
        let venv = default_venv();
        assert!(venv.ends_with("target/interop-venv"));
        let workspace = venv
            .parent()
            .and_then(Path::parent)
            .expect("a workspace directory");
        let manifest = std::fs::read_to_string(workspace.join("Cargo.toml")).expect("Cargo.toml");
        assert!(manifest.contains("[workspace]"), "{}", workspace.display());
        // The crates whose tests used to name `<crate>/../target` sit beside this one.
        for sibling in ["lwm2m-client", "lwm2m-server", "test-support"] {
            assert!(
                workspace.join(sibling).join("Cargo.toml").is_file(),
                "{sibling}"
            );
        }
    }

    #[test]
    fn hex_and_payload_round_trip() {
        let bytes = [0x00, 0x7f, 0x80, 0xff, 0x0a];
        assert_eq!(hex(&bytes), "007f80ff0a");
        assert_eq!(payload(&json!({ "payload_hex": hex(&bytes) })), bytes);
        assert_eq!(payload(&json!({ "payload_hex": "" })), Vec::<u8>::new());
    }

    #[test]
    #[should_panic(expected = "payload_hex is not hex")]
    fn an_odd_length_payload_fails_with_the_line() {
        let _ = payload(&json!({ "payload_hex": "abc" }));
    }

    #[test]
    #[should_panic(expected = "payload_hex is not hex")]
    fn a_non_ascii_payload_fails_with_the_line() {
        let _ = payload(&json!({ "payload_hex": "é0" }));
    }

    #[test]
    fn code_and_text_reads_both_fields() {
        let line = json!({ "code": "2.05", "payload_hex": hex(b"hello") });
        assert_eq!(
            code_and_text(&line),
            ("2.05".to_owned(), "hello".to_owned())
        );
    }

    #[tokio::test]
    async fn expect_keeps_other_events_for_later() {
        let mut peer = shell(
            r#"printf '%s\n' '{"event":"a","n":1}' '{"event":"b","n":2}' '{"event":"a","n":3}'"#,
        );
        assert_eq!(peer.expect("b", LIMIT).await["n"], 2);
        assert_eq!(peer.expect("a", LIMIT).await["n"], 1);
        assert_eq!(peer.expect("a", LIMIT).await["n"], 3);
        assert_eq!(peer.seen.len(), 3);
        peer.finish(LIMIT).await;
    }

    #[tokio::test]
    async fn steps_come_in_order() {
        let mut peer = shell(
            r#"printf '%s\n' '{"event":"ready"}' '{"event":"step","name":"one"}' '{"event":"step","name":"two"}'"#,
        );
        assert_eq!(peer.step("one").await["name"], "one");
        assert_eq!(peer.step("two").await["name"], "two");
        assert_eq!(peer.expect("ready", LIMIT).await["event"], "ready");
        peer.finish(LIMIT).await;
    }

    #[tokio::test]
    #[should_panic(expected = "steps out of order")]
    async fn a_step_out_of_order_fails() {
        let mut peer = shell(r#"printf '%s\n' '{"event":"step","name":"two"}'"#);
        peer.step("one").await;
    }

    #[tokio::test]
    #[should_panic(expected = "the peer reported an error")]
    async fn an_error_line_fails_the_test() {
        let mut peer = shell(r#"printf '%s\n' '{"event":"error","reason":"boom"}'"#);
        peer.expect("done", LIMIT).await;
    }

    #[tokio::test]
    #[should_panic(expected = "the peer exited early")]
    async fn an_early_exit_fails_with_the_stderr() {
        let mut peer = shell("echo 'it broke' >&2");
        peer.next(LIMIT).await;
    }

    #[tokio::test]
    #[should_panic(expected = "not a JSON report line")]
    async fn a_line_that_is_not_json_fails() {
        let mut peer = shell("echo 'hello'; sleep 5");
        peer.next(LIMIT).await;
    }

    #[tokio::test]
    #[should_panic(expected = "no report from the peer within")]
    async fn a_silent_peer_times_out() {
        let mut peer = shell("sleep 5");
        peer.next(Duration::from_millis(100)).await;
    }

    #[tokio::test]
    async fn the_context_holds_stdout_and_stderr() {
        let mut peer = shell(r#"echo 'warning: x' >&2; printf '%s\n' '{"event":"a"}'"#);
        peer.expect("a", LIMIT).await;
        tokio::time::timeout(LIMIT, peer.child.wait())
            .await
            .expect("the peer exits")
            .expect("wait for the peer");
        // The stderr task may still be appending what it read.
        let deadline = tokio::time::Instant::now() + LIMIT;
        while !peer.context().contains("warning: x") && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let context = peer.context();
        assert!(context.contains(r#"{"event":"a"}"#), "{context}");
        assert!(context.contains("warning: x"), "{context}");
    }

    #[tokio::test]
    #[should_panic(expected = "peer failed")]
    async fn a_failing_exit_status_fails_finish() {
        shell("exit 3").finish(LIMIT).await;
    }
}
