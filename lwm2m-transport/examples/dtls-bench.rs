//! CoAP over DTLS (PSK, `TLS_PSK_WITH_AES_128_CCM_8`) on the tokio driver, over loopback:
//!
//! 1. handshakes per second: `HANDSHAKES` client endpoints one after the other, each binding a
//!    socket, handshaking with the server and getting one answer (the handshake dominates);
//! 2. secured requests per second: one client session, 64 requests in flight, for `SECONDS`;
//! 3. server memory per established session: a child process (this program with `--clients`)
//!    opens `SESSIONS` sessions from as many sockets; the server's resident set (from
//!    `/proc/self/statm`) before and after, divided by the number of sessions. It includes the
//!    CoAP endpoint's per-peer state, not only the DTLS session.
//!
//! Each DTLS backend runs in its own process (so one backend's freed memory does not flatter the
//! other's figures): without arguments the program runs itself with `--backend openssl`, then
//! with `--backend dimpl`.
//!
//! ```text
//! cargo run --release -p lwm2m-transport --features dtls-openssl,dtls-dimpl --example dtls-bench
//! ```

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lwm2m_codec::coap::Code;
use lwm2m_transport::dtls::{Backend, ClientConfig, ClientCredentials, Limits, Psk, ServerConfig};
use lwm2m_transport::udp::{DtlsEvent, DtlsEvents, DtlsSettings, UdpEndpoint};
use lwm2m_transport::{Request, Response};

const IDENTITY: &[u8] = b"bench-client";
const KEY: &[u8] = b"0123456789abcdef";
const HANDSHAKES: usize = 300;
const IN_FLIGHT: usize = 64;
const SECONDS: u64 = 3;
const SESSIONS: usize = 2_000;
/// Handshakes the child runs at once (the server's per-source half-open cap is raised above it).
const CHILD_CONCURRENCY: usize = 16;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// Counts and byte sizes here are far below 2^52: the conversion is exact.
#[allow(clippy::cast_precision_loss)]
fn float(n: u64) -> f64 {
    n as f64
}

fn main() -> Result<(), AnyError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("--clients") => {
            let usage = "--clients ADDR COUNT BACKEND";
            let server: SocketAddr = args.next().ok_or(usage)?.parse()?;
            let count: usize = args.next().ok_or(usage)?.parse()?;
            let backend = parse_backend(&args.next().ok_or(usage)?)?;
            runtime.block_on(clients(server, count, backend))
        }
        Some("--backend") => {
            let backend = parse_backend(&args.next().ok_or("--backend openssl|dimpl")?)?;
            println!(
                "dtls-bench: backend {backend} (OpenSSL {} linked), {} worker threads",
                lwm2m_transport::dtls::library_version(),
                std::thread::available_parallelism().map_or(1, usize::from)
            );
            runtime.block_on(bench(backend))
        }
        _ => {
            for backend in ["openssl", "dimpl"] {
                let status = std::process::Command::new(std::env::current_exe()?)
                    .args(["--backend", backend])
                    .status()?;
                if !status.success() {
                    return Err(format!("the {backend} run failed: {status}").into());
                }
            }
            Ok(())
        }
    }
}

fn parse_backend(name: &str) -> Result<Backend, AnyError> {
    match name {
        "openssl" => Ok(Backend::OpenSsl),
        "dimpl" => Ok(Backend::Dimpl),
        other => Err(format!("unknown backend {other:?}: openssl or dimpl").into()),
    }
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::OpenSsl => "openssl",
        Backend::Dimpl => "dimpl",
    }
}

fn client_config(backend: Backend) -> Result<ClientConfig, AnyError> {
    Ok(
        ClientConfig::builder(ClientCredentials::Psk(Psk::new(IDENTITY, KEY)?))
            .backend(backend)
            .build()?,
    )
}

fn get() -> Result<Request, AnyError> {
    Ok(Request::build(Code::GET, |b| {
        b.uri_path("bench");
    })?)
}

async fn bench(backend: Backend) -> Result<(), AnyError> {
    let store = HashMap::from([(IDENTITY.to_vec(), KEY.to_vec())]);
    let mut limits = Limits::default();
    limits.max_half_open_per_source = 2 * CHILD_CONCURRENCY;
    limits.max_sessions = 4 * SESSIONS;
    let config = ServerConfig::builder()
        .psk_store(store)
        .backend(backend)
        .build()?;
    let settings = DtlsSettings::server(config)
        .limits(limits)
        .event_capacity(4 * SESSIONS);
    let (builder, mut events) = UdpEndpoint::builder().dtls(settings);
    let server = builder.bind("127.0.0.1:0".parse()?).await?;
    let to = server.local_addr();
    let mut incoming = server.incoming();
    tokio::spawn(async move {
        while let Some(request) = incoming.next().await {
            let _ = request
                .responder
                .respond(Response::new(Code::CONTENT).with_payload(&b"pong"[..]));
        }
    });

    // 1. Sequential handshakes.
    let started = Instant::now();
    for _ in 0..HANDSHAKES {
        let (builder, _) = UdpEndpoint::builder().dtls_client(client_config(backend)?);
        let client = builder.bind("127.0.0.1:0".parse()?).await?;
        client.handle().request(to, get()?).await?;
        client.close().await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "PSK handshakes (sequential, each with a fresh socket and one GET): {HANDSHAKES} in {elapsed:.2} s = {:.0} /s",
        float(HANDSHAKES as u64) / elapsed
    );
    drain(&mut events);

    // 2. Secured requests, 64 in flight.
    let (builder, _) = UdpEndpoint::builder().dtls_client(client_config(backend)?);
    let client = builder.bind("127.0.0.1:0".parse()?).await?;
    client.handle().request(to, get()?).await?;
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (handle, done, stop, request) = (client.handle(), done.clone(), stop.clone(), get()?);
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if handle.request(to, request.clone()).await.is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    let count = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for task in tasks {
        let _ = task.await;
    }
    println!(
        "secured requests ({IN_FLIGHT} in flight, {SECONDS} s): {count} = {:.0} /s",
        float(count) / elapsed
    );
    client.close().await;
    drain(&mut events);

    // 3. Server memory per session; the clients live in another process.
    memory(backend, to, &mut events).await?;
    server.close().await;
    Ok(())
}

/// Opens `SESSIONS` sessions to the server at `to` from a child process and prints the server's
/// resident-set growth per session.
async fn memory(backend: Backend, to: SocketAddr, events: &mut DtlsEvents) -> Result<(), AnyError> {
    let before = rss_bytes()?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--clients",
            &to.to_string(),
            &SESSIONS.to_string(),
            backend_name(backend),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let started = Instant::now();
    let mut connected = 0;
    while connected < SESSIONS {
        let event = tokio::time::timeout(Duration::from_secs(60), events.next()).await;
        match event {
            Ok(Some(DtlsEvent::Connected { .. })) => connected += 1,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let handshaking = started.elapsed().as_secs_f64();
    // Let the last answers go out, then read the child's report.
    let mut line = String::new();
    if let Some(out) = child.stdout.as_mut() {
        std::io::BufReader::new(out).read_line(&mut line)?;
    }
    let after = rss_bytes()?;
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(b"done\n");
    }
    let _ = child.wait();
    let delta = after.saturating_sub(before);
    println!(
        "{backend} server sessions: {connected} established in {handshaking:.2} s (child: {}); RSS {:.1} MiB -> {:.1} MiB, {:.1} KiB per session",
        line.trim(),
        float(before) / 1_048_576.0,
        float(after) / 1_048_576.0,
        float(delta) / 1024.0 / float(connected.max(1) as u64)
    );
    Ok(())
}

fn drain(events: &mut DtlsEvents) {
    while events.try_next().is_some() {}
}

/// The child: `count` client endpoints, each with one session to `server` and one answered GET;
/// prints a line when all are up and holds them until its standard input says so.
async fn clients(server: SocketAddr, count: usize, backend: Backend) -> Result<(), AnyError> {
    let config = client_config(backend)?;
    let mut endpoints = Vec::with_capacity(count);
    let mut ok = 0;
    for chunk in (0..count).collect::<Vec<_>>().chunks(CHILD_CONCURRENCY) {
        let mut batch = Vec::new();
        for _ in chunk {
            let (builder, _) = UdpEndpoint::builder().dtls_client(config.clone());
            let client = builder.bind("127.0.0.1:0".parse()?).await?;
            let (handle, request) = (client.handle(), get()?);
            batch.push(tokio::spawn(async move {
                handle.request(server, request).await
            }));
            endpoints.push(client);
        }
        for task in batch {
            if matches!(task.await, Ok(Ok(_))) {
                ok += 1;
            }
        }
    }
    println!("{ok} of {count} clients answered");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    for endpoint in endpoints {
        endpoint.close().await;
    }
    Ok(())
}

/// The resident set of this process, from `/proc/self/statm` (pages × 4 KiB).
fn rss_bytes() -> Result<u64, AnyError> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .ok_or("statm has no resident field")?
        .parse()?;
    Ok(pages * 4096)
}
