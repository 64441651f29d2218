//! DTLS 1.2 PSK (`TLS_PSK_WITH_AES_128_CCM_8`) per backend, printed one line per figure:
//!
//! 1. handshakes per second, sans-IO: `CONCURRENT` client sessions in this process handshake at
//!    once with a server [`SessionTable`] for `SECONDS` (each completed client closes and a new
//!    one starts from a new address); client and server share one thread, so this is the CPU
//!    cost of both sides of a handshake. The time spent inside the server table's calls alone
//!    gives the server's cost per handshake, i.e. what one core of a server can accept;
//! 2. handshakes per second over loopback: `CONCURRENT` tasks, each binding a client endpoint,
//!    handshaking with the server endpoint, getting one answer and closing, for `SECONDS`;
//! 3. secured requests per second: one client session, 64 requests in flight, for `SECONDS`,
//!    with the slowest and fastest `WINDOW` and the slowest request (a stall shows there);
//! 4. server memory per session, sans-IO: a child process handshakes `SESSIONS` clients (one at a
//!    time, each dropped once connected, so its memory is reused) into one server table, and
//!    prints its resident-set growth (from `/proc/self/statm`) divided by `SESSIONS`: once with
//!    every session live, once with idle sessions evicted (`Limits::evict_idle_after`,
//!    `Limits::max_live_sessions`).
//!
//! Each DTLS backend runs in its own process (so one backend's freed memory does not flatter the
//! other's figures): without arguments the program runs itself with `--backend openssl`, then
//! with `--backend dimpl`.
//!
//! ```text
//! cargo run --release -p lwm2m-transport --example dtls-bench
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lwm2m_codec::coap::Code;
use lwm2m_transport::dtls::{
    Backend, ClientConfig, ClientCredentials, Event, Limits, Psk, ServerConfig, Session,
    SessionEvent, SessionTable,
};
use lwm2m_transport::udp::{DtlsSettings, UdpEndpoint};
use lwm2m_transport::{Clock, Request, Response};

const IDENTITY: &[u8] = b"bench-client";
const KEY: &[u8] = b"0123456789abcdef";
const CONCURRENT: usize = 64;
const IN_FLIGHT: usize = 64;
const SECONDS: u64 = 3;
/// The secured-request phase's rate is also reported per window of this length.
const WINDOW: Duration = Duration::from_millis(250);
const SESSIONS: usize = 10_000;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// Counts and byte sizes here are far below 2^52: the conversion is exact.
#[allow(clippy::cast_precision_loss)]
fn float(n: u64) -> f64 {
    n as f64
}

fn main() -> Result<(), AnyError> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("--memory") => {
            let usage = "--memory BACKEND live|evicted";
            let backend = parse_backend(&args.next().ok_or(usage)?)?;
            let evicted = match args.next().as_deref() {
                Some("live") => false,
                Some("evicted") => true,
                _ => return Err(usage.into()),
            };
            memory(backend, evicted)
        }
        Some("--requests") => {
            let usage = "--requests BACKEND COUNT";
            let backend = parse_backend(&args.next().ok_or(usage)?)?;
            let count = args.next().ok_or(usage)?.parse()?;
            sans_io_requests(backend, count)
        }
        Some("--backend") => {
            let backend = parse_backend(&args.next().ok_or("--backend openssl|dimpl")?)?;
            println!(
                "dtls-bench: backend {backend} (OpenSSL {} linked), {} cores",
                lwm2m_transport::dtls::library_version(),
                std::thread::available_parallelism().map_or(1, usize::from)
            );
            sans_io_handshakes(backend)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(loopback(backend))?;
            for mode in ["live", "evicted"] {
                run_self(&["--memory", backend_name(backend), mode])?;
            }
            Ok(())
        }
        _ => {
            for backend in ["openssl", "dimpl"] {
                run_self(&["--backend", backend])?;
            }
            Ok(())
        }
    }
}

fn run_self(args: &[&str]) -> Result<(), AnyError> {
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(args)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{args:?} failed: {status}").into())
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

fn server_config(backend: Backend) -> Result<ServerConfig, AnyError> {
    let store = HashMap::from([(IDENTITY.to_vec(), KEY.to_vec())]);
    Ok(ServerConfig::builder()
        .psk_store(store)
        .backend(backend)
        .build()?)
}

fn get() -> Result<Request, AnyError> {
    Ok(Request::build(Code::GET, |b| {
        b.uri_path("bench");
    })?)
}

/// Limits for a server that many bench clients reach from 127.0.0.1 or from made-up addresses.
fn bench_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_half_open_per_source = 4 * CONCURRENT;
    limits.max_sessions = 2 * SESSIONS;
    limits
}

/// A made-up client address for the sans-IO runs (10.x.y.z:40000, one per `n`).
fn address(n: u32) -> SocketAddr {
    let [_, a, b, c] = n.to_be_bytes();
    SocketAddr::from(([10, a, b, c], 40_000))
}

/// Sans-IO clients handshaking with `server`, in memory.
struct Clients {
    config: ClientConfig,
    limits: Limits,
    clock: Clock,
    sessions: HashMap<SocketAddr, Session>,
    next: u32,
    /// Time spent inside the server table's `handle_datagram`.
    server_time: Duration,
}

impl Clients {
    fn feed_server(&mut self, server: &mut SessionTable<SocketAddr>, from: SocketAddr, d: &[u8]) {
        let started = Instant::now();
        let _ = server.handle_datagram(self.clock.now(), from, d);
        self.server_time += started.elapsed();
    }

    fn start(&mut self, server: &mut SessionTable<SocketAddr>) -> Result<(), AnyError> {
        self.next += 1;
        let peer = address(self.next);
        let mut session = Session::connect(self.clock.now(), &self.config, &self.limits)?;
        while let Some(datagram) = session.poll_transmit() {
            self.feed_server(server, peer, &datagram);
        }
        self.sessions.insert(peer, session);
        Ok(())
    }

    /// Carries the server's datagrams to the clients and the clients' answers back, until both
    /// sides are quiet; returns the clients that connected (removed from the set).
    fn exchange(&mut self, server: &mut SessionTable<SocketAddr>) -> Vec<(SocketAddr, Session)> {
        let mut connected = Vec::new();
        loop {
            let mut moved = false;
            while let Some(t) = server.poll_transmit() {
                moved = true;
                let Some(session) = self.sessions.get_mut(&t.destination) else {
                    continue;
                };
                let _ = session.handle_datagram(self.clock.now(), &t.contents);
                let mut out = Vec::new();
                while let Some(datagram) = session.poll_transmit() {
                    out.push(datagram);
                }
                let mut done = false;
                while let Some(event) = session.poll_event() {
                    done |= matches!(event, SessionEvent::Connected(_));
                }
                for datagram in out {
                    self.feed_server(server, t.destination, &datagram);
                }
                if done {
                    if let Some(session) = self.sessions.remove(&t.destination) {
                        connected.push((t.destination, session));
                    }
                }
            }
            while server.poll_event().is_some() {}
            if !moved {
                return connected;
            }
        }
    }
}

/// 1. `CONCURRENT` sans-IO handshakes at a time against a server table, on this thread.
fn sans_io_handshakes(backend: Backend) -> Result<(), AnyError> {
    let clock = Clock::new();
    let limits = bench_limits();
    let mut server = SessionTable::new(clock.now(), Some(server_config(backend)?), limits.clone())?;
    let mut clients = Clients {
        config: client_config(backend)?,
        limits,
        clock,
        sessions: HashMap::new(),
        next: 0,
        server_time: Duration::ZERO,
    };
    let started = Instant::now();
    let mut done = 0_u64;
    while started.elapsed() < Duration::from_secs(SECONDS) {
        while clients.sessions.len() < CONCURRENT {
            clients.start(&mut server)?;
        }
        for (peer, mut session) in clients.exchange(&mut server) {
            done += 1;
            // close_notify removes the server's session, so the table stays small.
            session.close(clients.clock.now());
            while let Some(datagram) = session.poll_transmit() {
                clients.feed_server(&mut server, peer, &datagram);
            }
        }
        if server
            .poll_timeout()
            .is_some_and(|at| at <= clients.clock.now())
        {
            server.handle_timeout(clients.clock.now());
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let server_time = clients.server_time.as_secs_f64();
    println!(
        "PSK handshakes, sans-IO ({CONCURRENT} at once, client and server on one thread, {SECONDS} s): {done} = {:.0} /s; server side alone {:.1} µs per handshake = {:.0} /s per core (server sessions left: {})",
        float(done) / elapsed,
        server_time * 1e6 / float(done.max(1)),
        float(done) / server_time.max(1e-9),
        server.stats().sessions
    );
    Ok(())
}

/// Secured round trips through two session tables on one thread, after one handshake, with
/// `IN_FLIGHT` datagrams each way per round: the per-record cost of a backend without sockets or
/// a runtime, for instruction counts (`valgrind --tool=callgrind ... --requests dimpl 20000`).
fn sans_io_requests(backend: Backend, count: usize) -> Result<(), AnyError> {
    let clock = Clock::new();
    let limits = bench_limits();
    let mut server = SessionTable::new(clock.now(), Some(server_config(backend)?), limits.clone())?;
    let mut client = SessionTable::new(clock.now(), None, limits)?;
    let (server_addr, client_addr): (SocketAddr, SocketAddr) =
        ("127.0.0.1:5684".parse()?, "127.0.0.1:40000".parse()?);
    client.connect(clock.now(), server_addr, &client_config(backend)?)?;
    let mut answered = 0_usize;
    let request = [0x42_u8; 24];
    let started = Instant::now();
    while answered < count {
        let now = clock.now();
        if client.handshake(&server_addr).is_some() {
            for _ in 0..IN_FLIGHT.min(count - answered) {
                client.send(now, &server_addr, &request)?;
            }
        }
        let mut moved = true;
        while moved {
            moved = false;
            while let Some(t) = client.poll_transmit() {
                let _ = server.handle_datagram(now, client_addr, &t.contents);
                moved = true;
            }
            while let Some(event) = server.poll_event() {
                if let Event::Data { peer, data } = event {
                    server.send(now, &peer, &data)?;
                }
            }
            while let Some(t) = server.poll_transmit() {
                let _ = client.handle_datagram(now, server_addr, &t.contents);
                moved = true;
            }
            while let Some(event) = client.poll_event() {
                answered += usize::from(matches!(event, Event::Data { .. }));
            }
        }
    }
    println!(
        "secured round trips, sans-IO: {answered} in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// 2. and 3.: the tokio driver over loopback.
async fn loopback(backend: Backend) -> Result<(), AnyError> {
    let settings = DtlsSettings::server(server_config(backend)?)
        .limits(bench_limits())
        .event_capacity(16);
    let (builder, _events) = UdpEndpoint::builder().dtls(settings);
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
    let config = client_config(backend)?;

    // 2. Concurrent handshakes, each from a fresh client endpoint.
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENT {
        let (config, done, failed, stop) =
            (config.clone(), done.clone(), failed.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let (builder, _) = UdpEndpoint::builder().dtls_client(config.clone());
                let Ok(client) = builder.bind("127.0.0.1:0".parse()?).await else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                match client.handle().request(to, get()?).await {
                    Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
                client.close().await;
            }
            Ok::<(), AnyError>(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    let count = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for task in tasks {
        task.await??;
    }
    println!(
        "PSK handshakes, loopback ({CONCURRENT} client endpoints at once, each a fresh socket, handshake + one GET + close, {SECONDS} s): {count} = {:.0} /s ({} failed)",
        float(count) / elapsed,
        failed.load(Ordering::Relaxed)
    );

    secured_requests(config, to).await?;
    server.close().await;
    Ok(())
}

/// 3. Secured requests, `IN_FLIGHT` at once, over one client session with the server at `to`.
async fn secured_requests(config: ClientConfig, to: SocketAddr) -> Result<(), AnyError> {
    // NSTART (default 1, RFC 7252 §4.7) would queue the other 63 behind one outstanding request.
    let mut coap = lwm2m_transport::Config::default();
    coap.transmission.nstart = IN_FLIGHT;
    let (builder, _) = UdpEndpoint::builder().config(coap).dtls_client(config);
    let client = builder.bind("127.0.0.1:0".parse()?).await?;
    client.handle().request(to, get()?).await?;
    let done = Arc::new(AtomicU64::new(0));
    let slowest_micros = Arc::new(AtomicU64::new(0));
    let over_a_second = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (handle, done, stop, request) = (client.handle(), done.clone(), stop.clone(), get()?);
        let (slowest_micros, over_a_second) = (slowest_micros.clone(), over_a_second.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                if handle.request(to, request.clone()).await.is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
                let took = sent.elapsed();
                let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
                slowest_micros.fetch_max(micros, Ordering::Relaxed);
                if took >= Duration::from_secs(1) {
                    over_a_second.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // The rate per `WINDOW`, so a stall shows as a slow window rather than a lower average.
    let mut windows = Vec::new();
    let mut previous = 0;
    for step in 1..=SECONDS * 1000 / WINDOW.as_millis() as u64 {
        let at = started + WINDOW * u32::try_from(step)?;
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        let now = done.load(Ordering::Relaxed);
        windows.push(float(now - previous) / WINDOW.as_secs_f64());
        previous = now;
    }
    stop.store(true, Ordering::Relaxed);
    let count = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for task in tasks {
        let _ = task.await;
    }
    let slowest_window = windows.iter().copied().fold(f64::INFINITY, f64::min);
    let fastest_window = windows.iter().copied().fold(0.0, f64::max);
    println!(
        "secured requests ({IN_FLIGHT} in flight, {SECONDS} s): {count} = {:.0} /s; per {} ms window {:.0}-{:.0} /s; slowest request {:.1} ms, {} took over 1 s",
        float(count) / elapsed,
        WINDOW.as_millis(),
        slowest_window,
        fastest_window,
        float(slowest_micros.load(Ordering::Relaxed)) / 1000.0,
        over_a_second.load(Ordering::Relaxed)
    );
    client.close().await;
    Ok(())
}

/// 4. `SESSIONS` server sessions in a sans-IO table: resident-set growth per session.
fn memory(backend: Backend, evicted: bool) -> Result<(), AnyError> {
    let clock = Clock::new();
    let mut limits = bench_limits();
    limits.max_sessions = 2 * SESSIONS;
    if evicted {
        limits.evict_idle_after = Some(Duration::ZERO);
        limits.max_live_sessions = 0;
    }
    let mut server = SessionTable::new(clock.now(), Some(server_config(backend)?), limits.clone())?;
    let mut clients = Clients {
        config: client_config(backend)?,
        limits,
        clock,
        sessions: HashMap::new(),
        next: 0,
        server_time: Duration::ZERO,
    };
    // A first handshake so the libraries' one-time allocations are in `before`.
    clients.start(&mut server)?;
    let _ = clients.exchange(&mut server);
    let before = rss_bytes()?;
    let mut connected = 0_u64;
    for _ in 0..SESSIONS {
        clients.start(&mut server)?;
        connected += clients.exchange(&mut server).len() as u64;
        server.handle_timeout(clients.clock.now());
        while let Some(event) = server.poll_event() {
            if let Event::Failed { error, .. } = event {
                return Err(format!("a server session failed: {error}").into());
            }
        }
    }
    let after = rss_bytes()?;
    let stats = server.stats();
    let delta = after.saturating_sub(before);
    println!(
        "server memory, sans-IO, {} sessions {}: {connected} handshakes, {} live / {} evicted in the table; RSS {:.1} MiB -> {:.1} MiB, {:.2} KiB per session",
        backend,
        if evicted { "evicted" } else { "live" },
        stats.established,
        stats.evicted,
        float(before) / 1_048_576.0,
        float(after) / 1_048_576.0,
        float(delta) / 1024.0 / float(connected.max(1))
    );
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
