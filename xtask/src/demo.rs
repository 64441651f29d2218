//! `cargo xtask demo`: the project's main job. Builds the `lwm2m-server` and `lwm2m-client`
//! binaries, starts the server with its embedded defaults (CoAP on 127.0.0.1:5683, HTTP API on
//! 127.0.0.1:8080, registrations in `target/demo-data`), then one simulated device against it, and
//! shows what the server sees through its HTTP API. Runs until Ctrl-C, or for `--seconds N`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};
use std::thread::sleep;
use std::time::{Duration, Instant};

const COAP_ADDR: &str = "127.0.0.1:5683";
const HTTP_ADDR: &str = "127.0.0.1:8080";
const ENDPOINT: &str = "demo-device-1";

/// Kills the child process when dropped, so no server or client outlives the demo.
struct Guard(Child, &'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        // SIGTERM first: the server shuts down gracefully and the client de-registers.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            sleep(Duration::from_millis(100));
        }
        eprintln!("demo: {} did not stop in 5 s, killing it", self.1);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the demo; `seconds` bounds it (None: until Ctrl-C).
pub fn demo(root: &Path, seconds: Option<u64>) -> Result<(), String> {
    let status = Command::new("cargo")
        .args([
            "build",
            "--release",
            "-p",
            "lwm2m-server",
            "-p",
            "lwm2m-client",
            "--bins",
        ])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the binaries failed ({status})"));
    }
    let release = root.join("target").join("release");
    let data_dir = root.join("target").join("demo-data");

    let server = Guard(
        Command::new(release.join("lwm2m-server"))
            .args(["--coap-addr", COAP_ADDR, "--http-addr", HTTP_ADDR])
            .arg("--data-dir")
            .arg(&data_dir)
            .spawn()
            .map_err(|e| format!("cannot start lwm2m-server: {e}"))?,
        "lwm2m-server",
    );
    wait_for_http(Duration::from_secs(10))?;

    let client = Guard(
        Command::new(release.join("lwm2m-client"))
            .args(["--endpoint", ENDPOINT, "--server"])
            .arg(format!("coap://{COAP_ADDR}"))
            .spawn()
            .map_err(|e| format!("cannot start lwm2m-client: {e}"))?,
        "lwm2m-client",
    );

    // Let the device register, then show what the server knows about it.
    sleep(Duration::from_secs(3));
    println!("\n== GET /api/clients");
    println!("{}", http_get("/api/clients")?);
    println!("\n== GET /api/clients/{ENDPOINT}/3/0 (the device's Device object, read over CoAP)");
    println!("{}", http_get(&format!("/api/clients/{ENDPOINT}/3/0"))?);
    println!(
        "\nThe server's HTTP API is on http://{HTTP_ADDR}/api/clients; {}",
        if seconds.is_some() {
            "the demo stops by itself."
        } else {
            "press Ctrl-C to stop."
        }
    );

    let started = Instant::now();
    loop {
        if seconds.is_some_and(|s| started.elapsed() >= Duration::from_secs(s)) {
            break;
        }
        sleep(Duration::from_millis(200));
    }
    drop(client);
    drop(server);
    Ok(())
}

fn wait_for_http(limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect(HTTP_ADDR).is_ok() {
            return Ok(());
        }
        sleep(Duration::from_millis(100));
    }
    Err(format!(
        "the server's HTTP API did not come up on {HTTP_ADDR}"
    ))
}

/// A minimal HTTP/1.1 GET (the xtask has no HTTP client dependency); returns status line and body.
fn http_get(path: &str) -> Result<String, String> {
    let mut stream =
        TcpStream::connect(HTTP_ADDR).map_err(|e| format!("cannot reach {HTTP_ADDR}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(35)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {HTTP_ADDR}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("cannot read the response: {e}"))?;
    let status = response.lines().next().unwrap_or_default().to_owned();
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    Ok(format!("{status}\n{body}"))
}
